/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Requests from a rank to fwrun (name service, address registry, spawn),
 * carried by the daemon connection: DPM_REQ out, DPM_REPLY back with the
 * same request id (see dpm.h). Replies of other requests that arrive
 * meanwhile (a late spawn failure notice) are dropped.
 */
#include "dpm/dpm_int.h"
#include "modex/modex_client.h"
#include "common/log.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

fw_status_t
fw_dpm_send_req(uint8_t op, const fw_buf_t *body, uint32_t *reqid_p)
{
    fw_client_t *c = &fw_client_g;
    uint32_t id = ++fw_dpm_g.reqid;
    fw_buf_t b;
    fw_status_t rc;

    fw_buf_init(&b);
    fw_buf_put_u32(&b, id);
    fw_buf_put_u8(&b, op);
    if (body != NULL)
        fw_buf_put_bytes(&b, body->data, body->len);
    rc = fw_buf_status(&b);
    if (rc == FW_SUCCESS)
        rc = fw_oob_sconn_send(c->conn, FW_DPM_MSG_REQ, c->info.rank, 0,
                               b.data, b.len);
    fw_buf_cleanup(&b);
    if (rc == FW_ERR_CONN_CLOSED)
        rc = FW_ERR_UNREACHABLE;
    if (rc == FW_SUCCESS && reqid_p != NULL)
        *reqid_p = id;
    return rc;
}

/*
 * Wait up to timeout_ms (0: just look, < 0: forever) for the reply to
 * reqid. On success *reply_p is a malloc()ed copy of the fields after
 * the status (may be empty), and the return value is the reply's status.
 */
fw_status_t
fw_dpm_poll_reply(uint32_t reqid, int timeout_ms, void **reply_p,
                  size_t *len_p)
{
    fw_client_t *c = &fw_client_g;
    uint64_t end = fw_time_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) *
                                      1000000ull;
    const void *p;
    fw_oob_hdr_t h;
    fw_status_t rc;

    for (;;) {
        int left = timeout_ms < 0 ? -1 : 0;
        fw_rbuf_t r;
        uint32_t id, st;
        void *copy;

        if (timeout_ms > 0) {
            uint64_t now = fw_time_ns();
            left = now >= end ? 0 : (int)((end - now) / 1000000ull) + 1;
        }
        rc = fw_oob_sconn_recv(c->conn, left, &h, &p);
        if (rc == FW_ERR_CONN_CLOSED)
            return FW_ERR_UNREACHABLE;
        if (rc != FW_SUCCESS)
            return rc;
        if (h.type != FW_DPM_MSG_REPLY) {
            FW_LOG_DEBUG("dpm", "rank %u: dropping message %u", c->info.rank,
                         h.type);
            continue;
        }
        fw_rbuf_init(&r, p, h.len);
        id = fw_rbuf_get_u32(&r);
        st = fw_rbuf_get_u32(&r);
        if (fw_rbuf_status(&r) != FW_SUCCESS)
            return FW_ERR_PROTO;
        if (id != reqid) {
            FW_LOG_DEBUG("dpm", "rank %u: dropping reply %u", c->info.rank,
                         id);
            continue;
        }
        copy = malloc(h.len - 8 + 1);
        if (copy == NULL)
            return FW_ERR_NO_MEM;
        memcpy(copy, (const uint8_t *)p + 8, h.len - 8);
        *reply_p = copy;
        *len_p = h.len - 8;
        return (fw_status_t)-(int32_t)st;
    }
}

/* One request and its reply; see fw_dpm_poll_reply for the result. */
fw_status_t
fw_dpm_call(uint8_t op, const fw_buf_t *body, uint32_t *reqid_p,
            int timeout_ms, void **reply_p, size_t *len_p)
{
    uint32_t id;
    fw_status_t rc = fw_dpm_send_req(op, body, &id);

    if (rc != FW_SUCCESS)
        return rc;
    if (reqid_p != NULL)
        *reqid_p = id;
    return fw_dpm_poll_reply(id, timeout_ms, reply_p, len_p);
}
