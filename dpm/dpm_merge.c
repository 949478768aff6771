/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fw_intercomm_merge and fw_comm_disconnect.
 *
 * Merge: the roots swap their `high` flags (XCHG step on the
 * intercommunicator), each root broadcasts the remote flag locally, and
 * every member builds the same ordered group: the low group first; on a
 * tie the accepting (spawning) side first. The new context id is derived
 * from the intercommunicator's, so no one else is asked.
 * Disconnect: fan-in to the local root, the roots swap a word, fan-out:
 * when it returns, both groups have finished their traffic on it.
 */
#include "dpm/dpm_int.h"

#include <stdlib.h>
#include <string.h>

static fw_status_t
fw_dpm_root_xchg(fw_comm_t *inter, uint32_t mine, uint32_t *theirs_p)
{
    uint8_t out[4] = {(uint8_t)(mine >> 24), (uint8_t)(mine >> 16),
                      (uint8_t)(mine >> 8), (uint8_t)mine};
    uint8_t in[4] = {0};
    size_t len = 0;
    fw_status_t rc;

    /* both roots send first: eager 4-byte messages do not deadlock */
    rc = fw_dpm_send(inter, inter->remote, 0, FW_DPM_CLASS_COLL,
                     FW_DPM_STEP_XCHG, out, sizeof(out));
    if (rc == FW_SUCCESS)
        rc = fw_dpm_recv(inter, 0, FW_DPM_CLASS_COLL, FW_DPM_STEP_XCHG, in,
                         sizeof(in), &len);
    if (rc == FW_SUCCESS && len != sizeof(in))
        rc = FW_ERR_PROTO;
    if (rc == FW_SUCCESS)
        *theirs_p = ((uint32_t)in[0] << 24) | ((uint32_t)in[1] << 16) |
                    ((uint32_t)in[2] << 8) | in[3];
    return rc;
}

/* Broadcast a status and a word from the local root. */
static fw_status_t
fw_dpm_bcast_word(fw_comm_t *comm, fw_status_t rc, uint32_t *word)
{
    fw_buf_t b;
    void *data = NULL;
    size_t len = 0;
    fw_rbuf_t r;
    fw_status_t brc;

    if (comm->local->n == 1)
        return rc;
    fw_buf_init(&b);
    fw_buf_put_u32(&b, (uint32_t)-(int32_t)rc);
    fw_buf_put_u32(&b, *word);
    brc = fw_buf_status(&b);
    if (brc == FW_SUCCESS)
        brc = fw_dpm_bcast(comm, 0, &b, &data, &len);
    fw_buf_cleanup(&b);
    if (brc != FW_SUCCESS)
        return brc;
    fw_rbuf_init(&r, data, len);
    rc = (fw_status_t)-(int32_t)fw_rbuf_get_u32(&r);
    *word = fw_rbuf_get_u32(&r);
    if (fw_rbuf_status(&r) != FW_SUCCESS)
        rc = FW_ERR_PROTO;
    free(data);
    return rc;
}

static fw_status_t
fw_dpm_merged(fw_comm_t *inter, int local_first, fw_comm_t **intra)
{
    fw_dpm_group_t *a = local_first ? inter->local : inter->remote;
    fw_dpm_group_t *z = local_first ? inter->remote : inter->local;
    fw_dpm_group_t *g = fw_dpm_group_new(a->n + z->n, "");
    fw_comm_t *c = calloc(1, sizeof(*c));
    uint32_t i;

    if (g == NULL || c == NULL) {
        fw_dpm_group_free(g);
        free(c);
        return FW_ERR_NO_MEM;
    }
    /* copies of our world may lack addresses the registry knows */
    if (fw_dpm_fill_group(inter->local) != FW_SUCCESS) {
        fw_dpm_group_free(g);
        free(c);
        return FW_ERR_UNREACHABLE;
    }
    for (i = 0; i < a->n; i++)
        g->m[i] = a->m[i];
    for (i = 0; i < z->n; i++)
        g->m[a->n + i] = z->m[i];
    for (i = 0; i < g->n; i++)
        g->m[i].have_peer = 0;
    c->kind = FW_DPM_INTRA;
    c->cid = fw_dpm_cid_derive(inter->cid, 0x6d65726765ull /* "merge" */);
    c->rank = local_first ? inter->rank : inter->remote->n + inter->rank;
    c->local = g;
    fw_dpm_comm_link(c);
    *intra = c;
    return FW_SUCCESS;
}

fw_status_t
fw_intercomm_merge(fw_comm_t *inter, int high, fw_comm_t **intra)
{
    uint32_t theirs = 0;
    int local_first;
    fw_status_t rc = fw_dpm_comm_check(inter);

    if (rc != FW_SUCCESS)
        return rc;
    if (intra == NULL || inter->kind != FW_DPM_INTER)
        return FW_ERR_BAD_PARAM;
    if (inter->rank == 0)
        rc = fw_dpm_root_xchg(inter, high != 0, &theirs);
    rc = fw_dpm_bcast_word(inter, rc, &theirs);
    if (rc != FW_SUCCESS)
        return rc;
    if ((high != 0) != (theirs != 0))
        local_first = high == 0;
    else
        local_first = inter->acceptor;
    return fw_dpm_merged(inter, local_first, intra);
}

fw_status_t
fw_comm_disconnect(fw_comm_t **comm)
{
    fw_comm_t *c;
    uint32_t word = 0;
    fw_status_t rc;

    if (comm == NULL)
        return FW_ERR_BAD_PARAM;
    c = *comm;
    rc = fw_dpm_comm_check(c);
    if (rc != FW_SUCCESS)
        return rc;
    if (c->kind == FW_DPM_WORLD || c->kind == FW_DPM_SELF)
        return FW_ERR_BAD_PARAM;
    if (c->kind == FW_DPM_INTRA) {
        rc = fw_dpm_barrier(c);
    } else {
        /* fan-in, roots swap, fan-out: a barrier over both groups */
        uint8_t tok[FW_DPM_TOKEN_LEN];

        if (c->rank != 0)
            rc = fw_dpm_send(c, c->local, 0, FW_DPM_CLASS_COLL,
                             FW_DPM_STEP_FANIN, fw_dpm_token, sizeof(tok));
        for (uint32_t i = 1; c->rank == 0 && i < c->local->n &&
                             rc == FW_SUCCESS; i++)
            rc = fw_dpm_recv(c, i, FW_DPM_CLASS_COLL, FW_DPM_STEP_FANIN,
                             tok, sizeof(tok), NULL);
        if (c->rank == 0 && rc == FW_SUCCESS)
            rc = fw_dpm_root_xchg(c, 0, &word);
        if (rc == FW_SUCCESS || c->rank == 0)
            rc = fw_dpm_bcast_word(c, rc, &word);
    }
    /* freed whatever happened: the handle is unusable either way */
    fw_dpm_comm_free(c);
    *comm = NULL;
    return rc;
}
