/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Slots of a spawn (job.h). Without --oversubscribe, children placed on
 * the job's own hosts (no host/hostfile info key) get the slots that
 * neither the job's ranks nor its running child jobs hold, as mpirun
 * counts every job against one allocation. To know which of its hosts a
 * child job takes, fwrun maps it here with the parser and mapper the
 * child fwrun will run on the same arguments (each app on the hosts of
 * its own segment, fw_launch_job_hosts_build); the child job holds those
 * slots until its fwrun ends (fwrun_spawn.c). No sockets, no clock.
 */
#include "launcher/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fw_status_t
fw_launch_slots_free_list(const fw_launch_job_t *job, const uint32_t *held,
                          const char *extra, char **list_p)
{
    int over = (job->flags & FW_LAUNCH_F_OVERSUBSCRIBE) != 0;
    size_t cap = 64 + (extra != NULL ? strlen(extra) : 0), off = 0;
    uint32_t n = 0;
    char *s;

    for (uint32_t i = 0; i < job->nhosts; i++)
        cap += strlen(job->hosts[i].name) + 16;
    s = malloc(cap);
    if (s == NULL)
        return FW_ERR_NO_MEM;
    s[0] = '\0';
    for (uint32_t i = 0; i < job->nhosts; i++) {
        const fw_launch_host_t *h = &job->hosts[i];
        uint64_t used = (uint64_t)h->nprocs + held[i];
        uint32_t slots = over ? h->slots
                         : h->slots > used ? (uint32_t)(h->slots - used) : 0;

        if (slots == 0)
            continue;
        off += (size_t)snprintf(s + off, cap - off, "%s%s:%u",
                                n++ > 0 ? "," : "", h->name, slots);
    }
    if (extra != NULL)
        off += (size_t)snprintf(s + off, cap - off, "%s%s",
                                n > 0 ? "," : "", extra);
    if (off == 0) {
        free(s);
        return FW_ERR_TOO_BIG;
    }
    *list_p = s;
    return FW_SUCCESS;
}

/* The child fwrun's job: its apps, their hosts, npernode. */
static fw_status_t
fw_launch_slots_job(fw_launch_job_t *j, const fw_launch_slots_args_t *a,
                    fw_error_t *err)
{
    fw_status_t rc;

    j->apps = calloc(a->napps, sizeof(*j->apps));
    if (j->apps == NULL)
        return FW_ERR_NO_MEM;
    j->napps = a->napps;
    for (uint32_t k = 0; k < a->napps; k++) {
        j->apps[k].np = a->np[k];
        j->apps[k].first = j->nprocs;
        j->nprocs += a->np[k];
    }
    rc = fw_launch_job_hosts_build(j, a->hosts, a->self_cb, a->self_arg, err);
    if (rc == FW_SUCCESS && j->nhosts == 0) {
        fw_errprintf(err, "no hosts");
        rc = FW_ERR_PARSE;
    }
    for (uint32_t i = 0; rc == FW_SUCCESS && a->npernode > 0 &&
                         i < j->nhosts; i++)
        j->hosts[i].slots = a->npernode;
    return rc;
}

/* The same host: the same name, or this machine under two names. */
static int
fw_launch_slots_same(const fw_launch_host_t *a, const fw_launch_host_t *b)
{
    return strcmp(a->name, b->name) == 0 || (a->is_self && b->is_self);
}

fw_status_t
fw_launch_slots_predict(const fw_launch_job_t *job,
                        const fw_launch_slots_args_t *a, uint32_t **held_p,
                        fw_error_t *err)
{
    fw_launch_job_t j;
    uint32_t *held = NULL;
    fw_status_t rc;

    memset(&j, 0, sizeof(j));
    j.map_by = a->by_node ? FW_LAUNCH_MAP_NODE : FW_LAUNCH_MAP_SLOT;
    j.flags = job->flags & FW_LAUNCH_F_OVERSUBSCRIBE;
    rc = fw_launch_slots_job(&j, a, err);
    if (rc == FW_SUCCESS)
        rc = fw_launch_job_map(&j, err);
    if (rc == FW_SUCCESS &&
        (held = calloc(job->nhosts + 1, sizeof(*held))) == NULL)
        rc = FW_ERR_NO_MEM;
    for (uint32_t k = 0; rc == FW_SUCCESS && k < j.nhosts; k++)
        for (uint32_t i = 0; i < job->nhosts; i++)
            if (fw_launch_slots_same(&j.hosts[k], &job->hosts[i]))
                held[i] += j.hosts[k].nprocs;
    if (rc == FW_SUCCESS) {
        *held_p = held;
        held = NULL;
    }
    free(held);
    fw_launch_job_cleanup(&j);
    return rc;
}
