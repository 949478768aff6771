/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host lists (--host h1:2,h2) and hostfiles ("host slots=N" lines) and
 * the rank mapper (--map-by slot|node, --oversubscribe).
 */
#include "launcher/job.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FW_LAUNCH_SLOTS_MAX 1000000u

fw_status_t
fw_launch_job_add_host(fw_launch_job_t *job, const char *name, uint32_t slots,
                       int slots_given)
{
    fw_launch_host_t *h;
    uint32_t i;

    for (i = 0; i < job->nhosts; i++) {
        if (strcmp(job->hosts[i].name, name) == 0) {
            /* repeated host: slots add up, as with mpirun */
            job->hosts[i].slots += slots;
            job->hosts[i].slots_given |= slots_given;
            return FW_SUCCESS;
        }
    }
    h = realloc(job->hosts, (job->nhosts + 1) * sizeof(*h));
    if (h == NULL)
        return FW_ERR_NO_MEM;
    job->hosts = h;
    h = &job->hosts[job->nhosts];
    memset(h, 0, sizeof(*h));
    h->name = strdup(name);
    if (h->name == NULL)
        return FW_ERR_NO_MEM;
    h->slots = slots;
    h->slots_given = slots_given;
    job->nhosts++;
    return FW_SUCCESS;
}

static int
fw_launch_host_name_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n >= FW_LAUNCH_HOST_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!isalnum(c) && c != '-' && c != '.' && c != '_')
            return 0;
    }
    return 1;
}

static int
fw_launch_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end = NULL;
    unsigned long v;

    if (s == NULL || !isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

fw_status_t
fw_launch_hosts_parse_list(fw_launch_job_t *job, const char *list,
                           fw_error_t *err)
{
    char *copy, *item, *save = NULL, *colon;
    fw_status_t rc = FW_SUCCESS;
    uint32_t slots;

    if (list == NULL || list[0] == '\0') {
        fw_errprintf(err, "empty host list");
        return FW_ERR_PARSE;
    }
    if (list[0] == ',' || list[strlen(list) - 1] == ',' ||
        strstr(list, ",,") != NULL) {
        fw_errprintf(err, "empty host name in '%s'", list);
        return FW_ERR_PARSE;
    }
    copy = strdup(list);
    if (copy == NULL)
        return FW_ERR_NO_MEM;
    for (item = strtok_r(copy, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save)) {
        slots = 1;
        colon = strchr(item, ':');
        if (colon != NULL) {
            *colon = '\0';
            if (fw_launch_parse_u32(colon + 1, 1, FW_LAUNCH_SLOTS_MAX,
                                    &slots) != 0) {
                fw_errprintf(err, "host '%s': bad slot count '%s'", item,
                             colon + 1);
                rc = FW_ERR_PARSE;
                break;
            }
        }
        if (!fw_launch_host_name_ok(item, strlen(item))) {
            fw_errprintf(err, "bad host name '%s'", item);
            rc = FW_ERR_PARSE;
            break;
        }
        rc = fw_launch_job_add_host(job, item, slots, colon != NULL);
        if (rc != FW_SUCCESS)
            break;
    }
    free(copy);
    return rc;
}

/* One hostfile line, comments already stripped. */
static fw_status_t
fw_launch_hostfile_line(fw_launch_job_t *job, char *line, fw_error_t *err)
{
    char *tok, *save = NULL, *name = NULL;
    uint32_t slots = 1, v;
    int given = 0;

    for (tok = strtok_r(line, " \t\r\n", &save); tok != NULL;
         tok = strtok_r(NULL, " \t\r\n", &save)) {
        if (name == NULL) {
            if (!fw_launch_host_name_ok(tok, strlen(tok))) {
                fw_errprintf(err, "bad host name '%s'", tok);
                return FW_ERR_PARSE;
            }
            name = tok;
        } else if (strncmp(tok, "slots=", 6) == 0) {
            if (fw_launch_parse_u32(tok + 6, 1, FW_LAUNCH_SLOTS_MAX, &v)) {
                fw_errprintf(err, "bad slot count '%s'", tok + 6);
                return FW_ERR_PARSE;
            }
            slots = v;
            given = 1;
        } else if (strncmp(tok, "max_slots=", 10) == 0) {
            if (fw_launch_parse_u32(tok + 10, 1, FW_LAUNCH_SLOTS_MAX, &v)) {
                fw_errprintf(err, "bad max_slots '%s'", tok + 10);
                return FW_ERR_PARSE;
            }
        } else {
            fw_errprintf(err, "unknown field '%s' (expected slots=N)", tok);
            return FW_ERR_PARSE;
        }
    }
    if (name == NULL)
        return FW_SUCCESS; /* blank line */
    return fw_launch_job_add_host(job, name, slots, given);
}

fw_status_t
fw_launch_hosts_parse_file(fw_launch_job_t *job, const char *path,
                           fw_error_t *err)
{
    char line[1024], *hash;
    fw_status_t rc = FW_SUCCESS;
    unsigned lineno = 0;
    FILE *f;

    f = fopen(path, "r");
    if (f == NULL) {
        fw_errprintf(err, "hostfile %s: %s", path, strerror(errno));
        return FW_ERR_NOT_FOUND;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            fw_errprintf(err, "%s:%u: line too long", path, lineno);
            rc = FW_ERR_PARSE;
            break;
        }
        hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        rc = fw_launch_hostfile_line(job, line, err);
        if (rc != FW_SUCCESS) {
            fw_errprepend(err, "%s:%u", path, lineno);
            break;
        }
    }
    if (rc == FW_SUCCESS && ferror(f)) {
        fw_errprintf(err, "hostfile %s: read error", path);
        rc = FW_ERR_SYSTEM;
    }
    fclose(f);
    if (rc == FW_SUCCESS && job->nhosts == 0) {
        fw_errprintf(err, "hostfile %s: no hosts", path);
        rc = FW_ERR_PARSE;
    }
    return rc;
}

fw_status_t
fw_launch_hosts_merge_self(fw_launch_job_t *job, fw_launch_self_cb_t self_cb,
                           void *arg)
{
    uint32_t i, n = 0;
    int first = -1;

    for (i = 0; i < job->nhosts; i++) {
        fw_launch_host_t *h = &job->hosts[i];

        h->is_self = self_cb != NULL && self_cb(h->name, arg) != 0;
        if (h->is_self && first >= 0) {
            /* this machine again under another name: as a repeated
             * host, its slots add up */
            job->hosts[first].slots += h->slots;
            job->hosts[first].slots_given |= h->slots_given;
            free(h->name);
            continue;
        }
        if (h->is_self)
            first = (int)n;
        job->hosts[n++] = *h;
    }
    job->nhosts = n;
    return FW_SUCCESS;
}

/* Index of h's host in job (same name, or both this machine); -1. */
static int
fw_launch_job_find(const fw_launch_job_t *job, const fw_launch_host_t *h)
{
    for (uint32_t i = 0; i < job->nhosts; i++)
        if (strcmp(job->hosts[i].name, h->name) == 0 ||
            (h->is_self && job->hosts[i].is_self))
            return (int)i;
    return -1;
}

/* Add app k's own hosts (t) to the job's and record their indices. */
static fw_status_t
fw_launch_job_hosts_union(fw_launch_job_t *job, uint32_t k,
                          const fw_launch_job_t *t)
{
    fw_launch_app_t *app = &job->apps[k];
    fw_status_t rc;

    app->hosts = calloc(t->nhosts, sizeof(*app->hosts));
    if (app->hosts == NULL)
        return FW_ERR_NO_MEM;
    for (uint32_t i = 0; i < t->nhosts; i++) {
        const fw_launch_host_t *h = &t->hosts[i];
        int at = fw_launch_job_find(job, h);

        if (at < 0) {
            rc = fw_launch_job_add_host(job, h->name, h->slots,
                                        h->slots_given);
            if (rc != FW_SUCCESS)
                return rc;
            at = (int)job->nhosts - 1;
            job->hosts[at].is_self = h->is_self;
        } else {
            /* one host, its slots shared by the apps that name it */
            fw_launch_host_t *o = &job->hosts[at];

            if (h->slots > o->slots)
                o->slots = h->slots;
            o->slots_given |= h->slots_given;
        }
        app->hosts[app->nhosts++] = (uint32_t)at;
    }
    return FW_SUCCESS;
}

fw_status_t
fw_launch_job_hosts_build(fw_launch_job_t *job,
                          const fw_launch_app_hosts_t *ah,
                          fw_launch_self_cb_t self_cb, void *arg,
                          fw_error_t *err)
{
    fw_status_t rc = FW_SUCCESS;

    for (uint32_t k = 0; k < job->napps && rc == FW_SUCCESS; k++) {
        fw_launch_job_t t;

        if (ah[k].list == NULL && ah[k].file == NULL)
            continue;
        memset(&t, 0, sizeof(t));
        if (ah[k].file != NULL)
            rc = fw_launch_hosts_parse_file(&t, ah[k].file, err);
        if (rc == FW_SUCCESS && ah[k].list != NULL)
            rc = fw_launch_hosts_parse_list(&t, ah[k].list, err);
        if (rc == FW_SUCCESS)
            rc = fw_launch_hosts_merge_self(&t, self_cb, arg);
        if (rc != FW_SUCCESS && rc != FW_ERR_NO_MEM && job->napps > 1)
            fw_errprepend(err, "application %u", k + 1);
        if (rc == FW_SUCCESS)
            rc = fw_launch_job_hosts_union(job, k, &t);
        fw_launch_job_cleanup(&t);
    }
    return rc;
}

static uint64_t
fw_launch_job_slots(const fw_launch_job_t *job)
{
    uint64_t total = 0;
    uint32_t i;

    for (i = 0; i < job->nhosts; i++)
        total += job->hosts[i].slots;
    return total;
}

/* Next host of mask (NULL: any) with a free slot, starting at *cursor;
 * -1 if none. */
static int
fw_launch_next_free(const fw_launch_job_t *job, const uint8_t *mask,
                    uint32_t *cursor)
{
    uint32_t k, i;

    for (k = 0; k < job->nhosts; k++) {
        i = (*cursor + k) % job->nhosts;
        if ((mask == NULL || mask[i]) &&
            job->hosts[i].nprocs < job->hosts[i].slots) {
            *cursor = i;
            return (int)i;
        }
    }
    return -1;
}

/* Next host of mask (NULL: any) from cursor, full or not. */
static uint32_t
fw_launch_next_host(const fw_launch_job_t *job, const uint8_t *mask,
                    uint32_t cursor)
{
    uint32_t k, i = cursor % job->nhosts;

    for (k = 0; k < job->nhosts; k++) {
        i = (cursor + k) % job->nhosts;
        if (mask == NULL || mask[i])
            break;
    }
    return i;
}

/*
 * Start of app k: *mask_p (NULL: any host) gets its hosts; without
 * --oversubscribe, FW_ERR_TOO_BIG if they have fewer slots left than it
 * has ranks.
 */
static fw_status_t
fw_launch_map_app(const fw_launch_job_t *job, uint32_t k, uint8_t *mask,
                  uint8_t **mask_p, fw_error_t *err)
{
    const fw_launch_app_t *app = &job->apps[k];
    uint64_t left = 0;

    *mask_p = NULL;
    if (app->nhosts == 0)
        return FW_SUCCESS;
    memset(mask, 0, job->nhosts);
    for (uint32_t i = 0; i < app->nhosts; i++)
        if (app->hosts[i] < job->nhosts)
            mask[app->hosts[i]] = 1;
    for (uint32_t i = 0; i < job->nhosts; i++)
        if (mask[i] && job->hosts[i].slots > job->hosts[i].nprocs)
            left += job->hosts[i].slots - job->hosts[i].nprocs;
    *mask_p = mask;
    if (app->np <= left || (job->flags & FW_LAUNCH_F_OVERSUBSCRIBE))
        return FW_SUCCESS;
    fw_errprintf(err, "application %u (%s): %u ranks requested but only "
                 "%llu slot%s left on its %u host%s; use --oversubscribe "
                 "or add hosts", k + 1,
                 app->argv != NULL && app->argv[0] != NULL ? app->argv[0]
                                                           : "?",
                 app->np, (unsigned long long)left, left == 1 ? "" : "s",
                 app->nhosts, app->nhosts == 1 ? "" : "s");
    return FW_ERR_TOO_BIG;
}

fw_status_t
fw_launch_job_map(fw_launch_job_t *job, fw_error_t *err)
{
    uint64_t slots = fw_launch_job_slots(job);
    uint32_t r, k = 0, cursor = 0, *map;
    uint8_t *mask = NULL, *allowed = NULL;
    fw_status_t rc = FW_SUCCESS;
    int h;

    if (job->nhosts == 0 || job->nprocs == 0) {
        fw_errprintf(err, "nothing to map");
        return FW_ERR_BAD_PARAM;
    }
    if (job->nprocs > slots && !(job->flags & FW_LAUNCH_F_OVERSUBSCRIBE)) {
        fw_errprintf(err, "%u ranks requested but only %llu slot%s available "
                     "on %u host%s; use --oversubscribe or add hosts",
                     job->nprocs, (unsigned long long)slots,
                     slots == 1 ? "" : "s", job->nhosts,
                     job->nhosts == 1 ? "" : "s");
        return FW_ERR_TOO_BIG;
    }
    map = calloc(job->nprocs, sizeof(*map));
    mask = calloc(job->nhosts, 1);
    if (map == NULL || mask == NULL) {
        free(map);
        free(mask);
        return FW_ERR_NO_MEM;
    }
    for (h = 0; h < (int)job->nhosts; h++)
        job->hosts[h].nprocs = 0;
    for (r = 0; r < job->nprocs && rc == FW_SUCCESS; r++) {
        if (k < job->napps && r == job->apps[k].first) {
            rc = fw_launch_map_app(job, k++, mask, &allowed, err);
            if (rc != FW_SUCCESS)
                break;
        }
        h = fw_launch_next_free(job, allowed, &cursor);
        if (h < 0) {
            /* oversubscribed: keep going round robin over the hosts */
            h = (int)fw_launch_next_host(job, allowed, cursor);
            cursor = (uint32_t)(h + 1) % job->nhosts;
        } else if (job->map_by == FW_LAUNCH_MAP_NODE) {
            cursor = (uint32_t)(h + 1) % job->nhosts;
        }
        map[r] = (uint32_t)h;
        job->hosts[h].nprocs++;
    }
    free(mask);
    if (rc != FW_SUCCESS) {
        for (h = 0; h < (int)job->nhosts; h++)
            job->hosts[h].nprocs = 0;
        free(map);
        return rc;
    }
    free(job->rank_node);
    job->rank_node = map;
    return FW_SUCCESS;
}
