/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Wildcard receives on fabrics that take exact tags only
 * (fw_fab_exact_tags(): shm before libfabric 1.19, or FW_FAB_EXACT_TAGS=1).
 * There every user message is preceded, to the same peer, by an envelope
 * {u8 version 2, u32 src, u32 tag, u64 len} on the communicator's
 * envelope tag (class COLL, step ENV, src 0: any sender matches it
 * exactly). A receive takes the oldest envelope that fits its source and
 * tag (wildcards included), from those already read or reading more,
 * then posts the exact tag it names, with a buffer the message fits in
 * (shm 1.17 hangs when a message over 4 KiB is truncated by a smaller
 * receive). Every received message consumes the oldest envelope of its
 * (src, tag), so per sender messages keep their order (MPI's
 * non-overtaking rule).
 */
#include "dpm/dpm_int.h"
#include "common/log.h"

#include <stdlib.h>

#define FW_DPM_ENV_V2 2
#define FW_DPM_ENV_LEN 17

struct fw_dpm_env {
    struct fw_dpm_env *next;
    uint32_t cid, src, tag;
    uint64_t len;
};

static uint64_t
fw_dpm_env_tag(const fw_comm_t *comm)
{
    return fw_dpm_tag(FW_DPM_CLASS_COLL, comm->cid, 0, FW_DPM_STEP_ENV);
}

fw_status_t
fw_dpm_env_send(uint64_t peer, const fw_comm_t *comm, uint32_t tag,
                size_t len)
{
    fw_buf_t b;
    fw_status_t rc;

    fw_buf_init(&b);
    fw_buf_put_u8(&b, FW_DPM_ENV_V2);
    fw_buf_put_u32(&b, comm->rank);
    fw_buf_put_u32(&b, tag);
    fw_buf_put_u64(&b, (uint64_t)len);
    rc = fw_buf_status(&b);
    if (rc == FW_SUCCESS)
        rc = fw_dpm_tp_send(peer, fw_dpm_env_tag(comm), b.data, b.len,
                            FW_DPM_FOREVER_MS);
    fw_buf_cleanup(&b);
    return rc;
}

/* Read the next envelope of comm (waiting up to ms) onto the list. */
static fw_status_t
fw_dpm_env_read(const fw_comm_t *comm, int ms)
{
    uint8_t in[FW_DPM_ENV_LEN];
    fw_dpm_env_t *e, **pp;
    size_t len = 0;
    fw_rbuf_t r;
    fw_status_t rc;

    rc = fw_dpm_tp_recv(fw_dpm_env_tag(comm), 0, in, sizeof(in), &len, NULL,
                        ms, NULL, NULL);
    if (rc != FW_SUCCESS)
        return rc;
    fw_rbuf_init(&r, in, len);
    if (fw_rbuf_get_u8(&r) != FW_DPM_ENV_V2 || len != FW_DPM_ENV_LEN)
        return FW_ERR_PROTO;
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return FW_ERR_NO_MEM;
    e->cid = comm->cid;
    e->src = fw_rbuf_get_u32(&r);
    e->tag = fw_rbuf_get_u32(&r);
    e->len = fw_rbuf_get_u64(&r);
    for (pp = &fw_dpm_g.envs; *pp != NULL; pp = &(*pp)->next)
        ;
    *pp = e;
    return FW_SUCCESS;
}

/* The oldest envelope of comm matching src/tag (wildcards -1), or NULL. */
static fw_dpm_env_t **
fw_dpm_env_find(const fw_comm_t *comm, int src, int tag)
{
    fw_dpm_env_t **pp;

    for (pp = &fw_dpm_g.envs; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->cid == comm->cid &&
            (src < 0 || (*pp)->src == (uint32_t)src) &&
            (tag < 0 || (*pp)->tag == (uint32_t)tag))
            return pp;
    return NULL;
}

fw_status_t
fw_dpm_env_pick(const fw_comm_t *comm, int src, int tag, uint32_t *src_p,
                uint32_t *tag_p, uint64_t *len_p)
{
    fw_dpm_env_t **pp;
    fw_status_t rc = FW_SUCCESS;

    while (rc == FW_SUCCESS && (pp = fw_dpm_env_find(comm, src, tag)) == NULL)
        rc = fw_dpm_env_read(comm, FW_DPM_FOREVER_MS);
    if (rc == FW_SUCCESS) {
        *src_p = (*pp)->src;
        *tag_p = (*pp)->tag;
        *len_p = (*pp)->len;
    }
    return rc;
}

void
fw_dpm_env_consume(const fw_comm_t *comm, uint32_t src, uint32_t tag)
{
    fw_dpm_env_t **pp = fw_dpm_env_find(comm, (int)src, (int)tag), *e;

    if (pp == NULL) /* fw_dpm_env_pick() read it before the receive */
        return;
    e = *pp;
    *pp = e->next;
    free(e);
}

void
fw_dpm_env_drop(uint32_t cid, int all)
{
    fw_dpm_env_t **pp = &fw_dpm_g.envs, *e;

    while ((e = *pp) != NULL) {
        if (all || e->cid == cid) {
            *pp = e->next;
            free(e);
        } else {
            pp = &e->next;
        }
    }
}
