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

static uint64_t
fw_launch_job_slots(const fw_launch_job_t *job)
{
    uint64_t total = 0;
    uint32_t i;

    for (i = 0; i < job->nhosts; i++)
        total += job->hosts[i].slots;
    return total;
}

/* Next host with a free slot, starting at *cursor; -1 if none. */
static int
fw_launch_next_free(const fw_launch_job_t *job, uint32_t *cursor)
{
    uint32_t k, i;

    for (k = 0; k < job->nhosts; k++) {
        i = (*cursor + k) % job->nhosts;
        if (job->hosts[i].nprocs < job->hosts[i].slots) {
            *cursor = i;
            return (int)i;
        }
    }
    return -1;
}

fw_status_t
fw_launch_job_map(fw_launch_job_t *job, fw_error_t *err)
{
    uint64_t slots = fw_launch_job_slots(job);
    uint32_t r, cursor = 0, *map;
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
    if (map == NULL)
        return FW_ERR_NO_MEM;
    for (h = 0; h < (int)job->nhosts; h++)
        job->hosts[h].nprocs = 0;
    for (r = 0; r < job->nprocs; r++) {
        h = fw_launch_next_free(job, &cursor);
        if (h < 0) {
            /* oversubscribed: keep going round robin over all hosts */
            h = (int)(cursor % job->nhosts);
            cursor++;
        } else if (job->map_by == FW_LAUNCH_MAP_NODE) {
            cursor = (uint32_t)(h + 1) % job->nhosts;
        }
        map[r] = (uint32_t)h;
        job->hosts[h].nprocs++;
    }
    free(job->rank_node);
    job->rank_node = map;
    return FW_SUCCESS;
}
