/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Job description lifetime and wire encoding (launch message body).
 * Layout (big-endian): u8 version, jobid, u32 flags, bind, map_by,
 * nprocs, universe_size; hosts; apps; rank -> host map.
 */
#include "launcher/job.h"
#include "launcher/launch_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FW_LAUNCH_JOB_WIRE_VERSION 1
#define FW_LAUNCH_STR_MAX 65536
#define FW_LAUNCH_ARGS_MAX 65536
#define FW_LAUNCH_PROCS_MAX (1u << 24)

void
fw_launch_job_cleanup(fw_launch_job_t *job)
{
    uint32_t i;

    if (job == NULL)
        return;
    for (i = 0; i < job->nhosts; i++)
        free(job->hosts[i].name);
    free(job->hosts);
    for (i = 0; i < job->napps; i++) {
        fw_launch_strv_free(job->apps[i].argv);
        fw_launch_strv_free(job->apps[i].env);
        free(job->apps[i].wdir);
        free(job->apps[i].hosts);
    }
    free(job->apps);
    free(job->rank_node);
    memset(job, 0, sizeof(*job));
}

void
fw_launch_job_pack(const fw_launch_job_t *job, fw_buf_t *b)
{
    uint32_t i;

    fw_buf_put_u8(b, FW_LAUNCH_JOB_WIRE_VERSION);
    fw_buf_put_str(b, job->jobid);
    fw_buf_put_u32(b, job->flags);
    fw_buf_put_u32(b, job->bind);
    fw_buf_put_u32(b, job->map_by);
    fw_buf_put_u32(b, job->nprocs);
    fw_buf_put_u32(b, job->universe_size);
    fw_buf_put_u32(b, job->nhosts);
    for (i = 0; i < job->nhosts; i++) {
        fw_buf_put_str(b, job->hosts[i].name);
        fw_buf_put_u32(b, job->hosts[i].slots);
        fw_buf_put_u32(b, job->hosts[i].daemon_id);
        fw_buf_put_u32(b, job->hosts[i].nprocs);
    }
    fw_buf_put_u32(b, job->napps);
    for (i = 0; i < job->napps; i++) {
        fw_launch_strv_pack(b, job->apps[i].argv);
        fw_launch_strv_pack(b, job->apps[i].env);
        fw_buf_put_str(b, job->apps[i].wdir != NULL ? job->apps[i].wdir : "");
        fw_buf_put_u32(b, job->apps[i].np);
        fw_buf_put_u32(b, job->apps[i].first);
    }
    for (i = 0; i < job->nprocs; i++)
        fw_buf_put_u32(b, job->rank_node[i]);
}

static fw_status_t
fw_launch_job_unpack_hosts(fw_rbuf_t *r, fw_launch_job_t *job)
{
    uint32_t i, n = fw_rbuf_get_u32(r);

    if (r->err || n == 0 || n > FW_LAUNCH_PROCS_MAX || n > r->len - r->pos)
        return FW_ERR_PROTO;
    job->hosts = calloc(n, sizeof(*job->hosts));
    if (job->hosts == NULL)
        return FW_ERR_NO_MEM;
    job->nhosts = n;
    for (i = 0; i < n && !r->err; i++) {
        job->hosts[i].name = fw_rbuf_get_str(r, FW_LAUNCH_HOST_MAX);
        job->hosts[i].slots = fw_rbuf_get_u32(r);
        job->hosts[i].daemon_id = fw_rbuf_get_u32(r);
        job->hosts[i].nprocs = fw_rbuf_get_u32(r);
    }
    return fw_rbuf_status(r);
}

static fw_status_t
fw_launch_job_unpack_apps(fw_rbuf_t *r, fw_launch_job_t *job)
{
    uint32_t i, n = fw_rbuf_get_u32(r);
    fw_launch_app_t *a;

    if (r->err || n == 0 || n > FW_LAUNCH_ARGS_MAX || n > r->len - r->pos)
        return FW_ERR_PROTO;
    job->apps = calloc(n, sizeof(*job->apps));
    if (job->apps == NULL)
        return FW_ERR_NO_MEM;
    job->napps = n;
    for (i = 0; i < n && !r->err; i++) {
        a = &job->apps[i];
        a->argv = fw_launch_strv_unpack(r);
        a->env = fw_launch_strv_unpack(r);
        a->wdir = fw_rbuf_get_str(r, FW_LAUNCH_STR_MAX);
        a->np = fw_rbuf_get_u32(r);
        a->first = fw_rbuf_get_u32(r);
        if (a->argv == NULL || a->argv[0] == NULL || a->env == NULL)
            r->err = 1;
        if (a->wdir != NULL && a->wdir[0] == '\0') {
            free(a->wdir);
            a->wdir = NULL;
        }
    }
    return fw_rbuf_status(r);
}

/* Cross-field checks so that later indexing cannot go out of bounds. */
static fw_status_t
fw_launch_job_check(const fw_launch_job_t *job)
{
    uint32_t i, next = 0, *count;
    fw_status_t rc = FW_SUCCESS;

    for (i = 0; i < job->napps; i++) {
        if (job->apps[i].first != next || job->apps[i].np == 0)
            return FW_ERR_PROTO;
        next += job->apps[i].np;
    }
    if (next != job->nprocs)
        return FW_ERR_PROTO;
    for (i = 0; i < job->nprocs; i++)
        if (job->rank_node[i] >= job->nhosts)
            return FW_ERR_PROTO;
    /* fwd sizes its process table by hosts[].nprocs and fills it from
     * the rank map: the two must agree */
    count = calloc(job->nhosts, sizeof(*count));
    if (count == NULL)
        return FW_ERR_NO_MEM;
    for (i = 0; i < job->nprocs; i++)
        count[job->rank_node[i]]++;
    for (i = 0; i < job->nhosts && rc == FW_SUCCESS; i++)
        if (count[i] != job->hosts[i].nprocs)
            rc = FW_ERR_PROTO;
    free(count);
    return rc;
}

fw_status_t
fw_launch_job_unpack(fw_rbuf_t *r, fw_launch_job_t *job)
{
    fw_launch_job_t tmp;
    fw_status_t rc;
    char *jobid;
    uint32_t i;

    memset(&tmp, 0, sizeof(tmp));
    if (fw_rbuf_get_u8(r) != FW_LAUNCH_JOB_WIRE_VERSION)
        return FW_ERR_PROTO;
    jobid = fw_rbuf_get_str(r, FW_JOBID_MAX - 1);
    if (jobid == NULL)
        return FW_ERR_PROTO;
    snprintf(tmp.jobid, sizeof(tmp.jobid), "%s", jobid);
    free(jobid);
    tmp.flags = fw_rbuf_get_u32(r);
    tmp.bind = fw_rbuf_get_u32(r);
    tmp.map_by = fw_rbuf_get_u32(r);
    tmp.nprocs = fw_rbuf_get_u32(r);
    tmp.universe_size = fw_rbuf_get_u32(r);
    if (r->err || tmp.nprocs == 0 || tmp.nprocs > FW_LAUNCH_PROCS_MAX)
        return FW_ERR_PROTO;
    rc = fw_launch_job_unpack_hosts(r, &tmp);
    if (rc == FW_SUCCESS)
        rc = fw_launch_job_unpack_apps(r, &tmp);
    if (rc == FW_SUCCESS && (size_t)tmp.nprocs * 4 > r->len - r->pos)
        rc = FW_ERR_PROTO;
    if (rc == FW_SUCCESS) {
        tmp.rank_node = calloc(tmp.nprocs, sizeof(*tmp.rank_node));
        rc = tmp.rank_node != NULL ? FW_SUCCESS : FW_ERR_NO_MEM;
    }
    for (i = 0; rc == FW_SUCCESS && i < tmp.nprocs; i++)
        tmp.rank_node[i] = fw_rbuf_get_u32(r);
    if (rc == FW_SUCCESS)
        rc = fw_rbuf_status(r);
    if (rc == FW_SUCCESS)
        rc = fw_launch_job_check(&tmp);
    if (rc != FW_SUCCESS) {
        fw_launch_job_cleanup(&tmp);
        return rc;
    }
    *job = tmp;
    return FW_SUCCESS;
}

void
fw_launch_job_local(const fw_launch_job_t *job, uint32_t rank,
                    uint32_t *local_rank_p, uint32_t *local_size_p)
{
    uint32_t node = job->rank_node[rank], i, lr = 0;

    for (i = 0; i < rank; i++)
        if (job->rank_node[i] == node)
            lr++;
    *local_rank_p = lr;
    *local_size_p = job->hosts[node].nprocs;
}

uint32_t
fw_launch_job_app_of(const fw_launch_job_t *job, uint32_t rank)
{
    uint32_t i;

    for (i = 0; i + 1 < job->napps; i++)
        if (rank < job->apps[i + 1].first)
            return i;
    return job->napps - 1;
}
