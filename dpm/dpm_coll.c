/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal collective steps over a communicator's local group (class 1
 * tags): point-to-point steps, a binomial-tree broadcast, and a
 * fan-in/fan-out barrier. They wait without a time limit, like the MPI
 * calls they serve; every root always sends a result, error or not.
 */
#include "dpm/dpm_int.h"

#include <stdlib.h>
#include <string.h>

const uint8_t fw_dpm_token[FW_DPM_TOKEN_LEN] = {'f', 'w', 'd', '1'};

fw_status_t
fw_dpm_send(fw_comm_t *comm, fw_dpm_group_t *g, uint32_t dst, uint64_t cls,
            uint32_t t, const void *p, size_t len)
{
    uint64_t peer;
    fw_status_t rc = fw_dpm_ep();

    if (rc == FW_SUCCESS)
        rc = fw_dpm_member_peer(g, dst, &peer);
    if (rc == FW_SUCCESS)
        rc = fw_dpm_tp_send(peer, fw_dpm_tag(cls, comm->cid, comm->rank, t),
                            p, len, FW_DPM_FOREVER_MS);
    return rc;
}

/* From member src exactly: internal steps never post wildcards (see
 * fw_fab_exact_tags()). */
fw_status_t
fw_dpm_recv(fw_comm_t *comm, uint32_t src, uint64_t cls, uint32_t t,
            void *buf, size_t cap, size_t *len_p)
{
    fw_status_t rc = fw_dpm_ep();

    if (rc == FW_SUCCESS)
        rc = fw_dpm_tp_recv(fw_dpm_tag(cls, comm->cid, src, t), 0, buf, cap,
                            len_p, NULL, FW_DPM_FOREVER_MS, NULL, NULL);
    return rc;
}

/*
 * Broadcast b (significant at root) over comm's local group. Everyone
 * gets a malloc()ed copy in *out_p (root included).
 */
fw_status_t
fw_dpm_bcast(fw_comm_t *comm, uint32_t root, fw_buf_t *b, void **out_p,
             size_t *len_p)
{
    uint32_t n = comm->local->n, rel = (comm->rank + n - root) % n, mask;
    void *data = NULL;
    size_t len = 0;
    fw_status_t rc = FW_SUCCESS;

    if (rel == 0) {
        data = malloc(b->len + 1);
        if (data == NULL)
            return FW_ERR_NO_MEM;
        memcpy(data, b->data, b->len);
        len = b->len;
    }
    for (mask = 1; mask < n && rel != 0; mask <<= 1) {
        if (rel & mask) {
            data = malloc(FW_DPM_MSG_MAX);
            if (data == NULL)
                return FW_ERR_NO_MEM;
            rc = fw_dpm_recv(comm, (rel - mask + root) % n, FW_DPM_CLASS_COLL,
                             FW_DPM_STEP_BCAST, data, FW_DPM_MSG_MAX, &len);
            break;
        }
    }
    if (rel == 0)
        for (mask = 1; mask < n; mask <<= 1)
            ;
    for (mask >>= 1; mask > 0 && rc == FW_SUCCESS; mask >>= 1)
        if (rel + mask < n)
            rc = fw_dpm_send(comm, comm->local, (rel + mask + root) % n,
                             FW_DPM_CLASS_COLL, FW_DPM_STEP_BCAST, data, len);
    if (rc != FW_SUCCESS) {
        free(data);
        return rc;
    }
    *out_p = data;
    *len_p = len;
    return FW_SUCCESS;
}

/* Every member reaches it before any leaves (fan-in to 0, fan-out). */
fw_status_t
fw_dpm_barrier(fw_comm_t *comm)
{
    uint32_t n = comm->local->n, i;
    uint8_t tok[FW_DPM_TOKEN_LEN];
    fw_status_t rc = FW_SUCCESS;

    if (n == 1)
        return FW_SUCCESS;
    if (comm->rank != 0) {
        rc = fw_dpm_send(comm, comm->local, 0, FW_DPM_CLASS_COLL,
                         FW_DPM_STEP_FANIN, fw_dpm_token, sizeof(tok));
        if (rc == FW_SUCCESS)
            rc = fw_dpm_recv(comm, 0, FW_DPM_CLASS_COLL, FW_DPM_STEP_FANOUT,
                             tok, sizeof(tok), NULL);
        return rc;
    }
    for (i = 1; i < n && rc == FW_SUCCESS; i++)
        rc = fw_dpm_recv(comm, i, FW_DPM_CLASS_COLL, FW_DPM_STEP_FANIN,
                         tok, sizeof(tok), NULL);
    for (i = 1; i < n && rc == FW_SUCCESS; i++)
        rc = fw_dpm_send(comm, comm->local, i, FW_DPM_CLASS_COLL,
                         FW_DPM_STEP_FANOUT, fw_dpm_token, sizeof(tok));
    return rc;
}
