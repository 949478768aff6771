/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libfabwire's job and modex calls: fw_client_init/fw_client_finalize
 * (under fw_init/fw_finalize, dpm/dpm_init.c), fw_job_info, fw_put,
 * fw_commit, fw_fence, fw_get. A process talks to its daemon
 * over one blocking OOB connection; cards of ranks on this host are read
 * from the daemon's segment mapped read-only, cards of other hosts with
 * one fabric RMA read of that host's window (cached per epoch).
 */
#include "modex/modex_client.h"
#include "modex/modex.h"
#include "oob/oob.h"
#include "fabric/fab.h"
#include "common/log.h"
#include "common/param.h"
#include "fabwire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The process-wide client state (one job per process). */
fw_client_t fw_client_g;

static fw_status_t
fw_client_env_u32(const char *name, uint32_t *out)
{
    const char *v = getenv(name);
    char *end = NULL;
    unsigned long x;

    if (v == NULL)
        return FW_ERR_NOT_FOUND;
    errno = 0;
    x = strtoul(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || x > UINT32_MAX)
        return FW_ERR_PARSE;
    *out = (uint32_t)x;
    return FW_SUCCESS;
}

static fw_status_t
fw_client_read_env(fw_job_info_t *info)
{
    const char *jobid = getenv("FW_JOBID");
    fw_status_t rc = FW_SUCCESS;

    memset(info, 0, sizeof(*info));
    if (jobid == NULL || strlen(jobid) >= sizeof(info->jobid))
        return FW_ERR_NOT_FOUND;
    snprintf(info->jobid, sizeof(info->jobid), "%s", jobid);
    if (rc == FW_SUCCESS)
        rc = fw_client_env_u32("FW_RANK", &info->rank);
    if (rc == FW_SUCCESS)
        rc = fw_client_env_u32("FW_SIZE", &info->size);
    if (rc == FW_SUCCESS)
        rc = fw_client_env_u32("FW_LOCAL_RANK", &info->local_rank);
    if (rc == FW_SUCCESS)
        rc = fw_client_env_u32("FW_LOCAL_SIZE", &info->local_size);
    if (rc == FW_SUCCESS)
        rc = fw_client_env_u32("FW_NODE_ID", &info->node_id);
    if (rc == FW_SUCCESS)
        rc = fw_client_env_u32("FW_NUM_NODES", &info->num_nodes);
    if (rc == FW_SUCCESS)
        rc = fw_client_env_u32("FW_UNIVERSE_SIZE", &info->universe_size);
    return rc == FW_ERR_PARSE ? FW_ERR_NOT_FOUND : rc;
}

/* Wait for the daemon's message of reply_type (others are skipped). */
static fw_status_t
fw_client_wait(uint8_t reply_type, const void **reply_p, size_t *reply_len_p)
{
    fw_client_t *c = &fw_client_g;
    int ms = (int)fw_param_get_long("FW_MODEX_TIMEOUT_MS", 1, 86400000);
    const void *payload;
    fw_oob_hdr_t h;
    fw_status_t rc = FW_SUCCESS;

    while (rc == FW_SUCCESS) {
        rc = fw_oob_sconn_recv(c->conn, ms, &h, &payload);
        if (rc != FW_SUCCESS)
            break;
        if (h.type == reply_type) {
            if (reply_p != NULL) {
                *reply_p = payload;
                *reply_len_p = h.len;
            }
            return FW_SUCCESS;
        }
        FW_LOG_DEBUG("modex", "rank %u: unexpected message %u", c->info.rank,
                     h.type);
    }
    if (rc == FW_ERR_CONN_CLOSED)
        return FW_ERR_UNREACHABLE;
    return rc;
}

/* Send one request and wait for the reply of the given type. */
fw_status_t
fw_client_call(uint8_t type, const void *p, size_t len, uint8_t reply_type,
               const void **reply_p, size_t *reply_len_p)
{
    fw_client_t *c = &fw_client_g;
    fw_status_t rc;

    rc = fw_oob_sconn_send(c->conn, type, c->info.rank, 0, p, len);
    if (rc == FW_ERR_CONN_CLOSED)
        return FW_ERR_UNREACHABLE;
    if (rc != FW_SUCCESS)
        return rc;
    return fw_client_wait(reply_type, reply_p, reply_len_p);
}

static uint32_t
fw_client_u32(const void *p, size_t len, size_t off)
{
    const uint8_t *b = p;

    if (len < off + 4)
        return UINT32_MAX;
    return ((uint32_t)b[off] << 24) | ((uint32_t)b[off + 1] << 16) |
           ((uint32_t)b[off + 2] << 8) | b[off + 3];
}

/* HELLO went out with the handshake; take the daemon's answer. */
static fw_status_t
fw_client_hello(fw_client_t *c)
{
    const void *reply;
    size_t len = 0;
    uint32_t st;
    fw_status_t rc;

    rc = fw_client_wait(FW_MODEX_MSG_HELLO_ACK, &reply, &len);
    if (rc != FW_SUCCESS)
        return rc;
    st = fw_client_u32(reply, len, 0);
    if (st != 0)
        return st == UINT32_MAX ? FW_ERR_PROTO : (fw_status_t)-(int)st;
    return fw_modex_seg_attach((int)fw_client_u32(reply, len, 4),
                               (int)fw_client_u32(reply, len, 8), &c->seg);
}

fw_status_t
fw_client_init(void)
{
    fw_client_t *c = &fw_client_g;
    uint8_t secret[FW_OOB_SECRET_LEN], hello[4];
    const char *uri = getenv("FW_DAEMON_URI");
    fw_oob_frame_t first = {FW_MODEX_MSG_HELLO, hello, sizeof(hello)};
    fw_error_t err;
    fw_status_t rc;

    if (c->initialized)
        return FW_SUCCESS;
    memset(c, 0, sizeof(*c));
    /* read once: fw_get runs it N times a fence */
    c->local_fabric = strcmp(fw_param_get_str("FW_MODEX_LOCAL"), "fabric") ==
                      0;
    rc = fw_client_read_env(&c->info);
    if (rc != FW_SUCCESS || uri == NULL) {
        FW_LOG_ERR("modex", "not started by fwrun (FW_* environment missing)");
        return FW_ERR_NOT_FOUND;
    }
    if (fw_oob_secret_from_env(secret) != FW_SUCCESS)
        return FW_ERR_NOT_FOUND;
    hello[0] = (uint8_t)(c->info.rank >> 24);
    hello[1] = (uint8_t)(c->info.rank >> 16);
    hello[2] = (uint8_t)(c->info.rank >> 8);
    hello[3] = (uint8_t)c->info.rank;
    rc = fw_oob_sconn_open_send(uri, secret, FW_OOB_PEER_PROC, c->info.rank,
                                10000, &first, &c->conn, &err);
    memset(secret, 0, sizeof(secret));
    if (rc != FW_SUCCESS) {
        FW_LOG_ERR("modex", "rank %u: %s", c->info.rank, err.text);
        return rc == FW_ERR_AUTH ? FW_ERR_AUTH : FW_ERR_UNREACHABLE;
    }
    rc = fw_modex_card_create(&c->card);
    if (rc == FW_SUCCESS)
        rc = fw_client_hello(c);
    if (rc == FW_SUCCESS)
        rc = fw_client_remote_alloc(c);
    if (rc != FW_SUCCESS) {
        FW_LOG_ERR("modex", "rank %u: daemon handshake: %s", c->info.rank,
                   fw_strerror(rc));
        fw_client_cleanup(c);
        return rc;
    }
    c->initialized = 1;
    return FW_SUCCESS;
}

void
fw_client_cleanup(fw_client_t *c)
{
    fw_client_remote_free(c);
    fw_fab_close(c->fab);
    fw_modex_seg_destroy(c->seg);
    fw_modex_card_destroy(c->card);
    fw_oob_sconn_close(c->conn);
    memset(c, 0, sizeof(*c));
}

fw_status_t
fw_client_finalize(void)
{
    fw_client_t *c = &fw_client_g;
    fw_status_t rc;

    if (!c->initialized)
        return FW_ERR_NOT_INITIALIZED;
    /* no answer needed: the daemon reads FINALIZE before our close */
    rc = fw_oob_sconn_send(c->conn, FW_MODEX_MSG_FINALIZE, c->info.rank, 0,
                           NULL, 0);
    fw_client_cleanup(c);
    if (rc == FW_ERR_CONN_CLOSED)
        rc = FW_ERR_UNREACHABLE;
    return rc;
}

fw_status_t
fw_job_info(fw_job_info_t *info)
{
    if (info == NULL)
        return FW_ERR_BAD_PARAM;
    if (!fw_client_g.initialized)
        return FW_ERR_NOT_INITIALIZED;
    *info = fw_client_g.info;
    return FW_SUCCESS;
}

fw_status_t
fw_put(const char *key, const void *value, size_t len)
{
    if (!fw_client_g.initialized)
        return FW_ERR_NOT_INITIALIZED;
    return fw_modex_card_put(fw_client_g.card, key, value, len);
}

fw_status_t
fw_commit(void)
{
    fw_client_t *c = &fw_client_g;
    fw_status_t rc;
    fw_buf_t b;

    if (!c->initialized)
        return FW_ERR_NOT_INITIALIZED;
    fw_buf_init(&b);
    fw_modex_card_encode(c->card, &b);
    rc = fw_buf_status(&b);
    /* no answer: the stream is ordered, so the daemon holds the card
     * before it sees our next fence; a card it refuses fails that fence */
    if (rc == FW_SUCCESS)
        rc = fw_oob_sconn_send(c->conn, FW_MODEX_MSG_COMMIT, c->info.rank, 0,
                               b.data, b.len);
    fw_buf_cleanup(&b);
    return rc == FW_ERR_CONN_CLOSED ? FW_ERR_UNREACHABLE : rc;
}

fw_status_t
fw_fence(void)
{
    fw_client_t *c = &fw_client_g;
    uint32_t e = (uint32_t)(c->epoch + 1), st;
    uint8_t msg[4] = {(uint8_t)(e >> 24), (uint8_t)(e >> 16),
                      (uint8_t)(e >> 8), (uint8_t)e};
    const void *reply;
    size_t len = 0;
    fw_status_t rc;

    if (!c->initialized)
        return FW_ERR_NOT_INITIALIZED;
    rc = fw_client_call(FW_MODEX_MSG_FENCE, msg, sizeof(msg),
                        FW_MODEX_MSG_FENCE_DONE, &reply, &len);
    if (rc != FW_SUCCESS)
        return rc;
    st = fw_client_u32(reply, len, 4);
    if (fw_client_u32(reply, len, 0) != e)
        return FW_ERR_PROTO;
    if (st == FW_MODEX_FENCE_GONE)
        return FW_ERR_UNREACHABLE; /* a rank is gone: cards stay as they were */
    if (st != 0) {
        /* our last card was refused (we still moved to the new epoch) or
         * the fence failed for the job */
        c->epoch = e;
        return st == UINT32_MAX ? FW_ERR_PROTO : (fw_status_t)-(int)st;
    }
    c->epoch = e;
    return FW_SUCCESS;
}
