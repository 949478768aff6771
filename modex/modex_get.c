/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fw_get: a card of this host comes from the daemon's segment mapped
 * read-only; a card of another host from that host's window, fetched
 * with one RMA read of FW_MODEX_READ_HINT bytes (a second read only if
 * the window is larger) and kept for the rest of the epoch.
 */
#include "modex/modex_client.h"
#include "common/log.h"
#include "common/param.h"
#include "fabwire.h"

#include <stdlib.h>
#include <string.h>

struct fw_client_remote {
    uint64_t epoch; /* epoch of buf, 0 = none */
    void *buf;
    size_t cap;
    size_t len;
    uint64_t peer;
    int have_peer;
    fw_fab_rkey_t rkey;
};

fw_status_t
fw_client_fab(fw_client_t *c, fw_fab_t **fab_p)
{
    fw_fab_params_t params;
    fw_error_t err;
    fw_status_t rc;

    if (c->fab == NULL && c->fab_rc != FW_SUCCESS)
        return c->fab_rc; /* reported at the first try */
    if (c->fab == NULL) {
        memset(&params, 0, sizeof(params));
        params.provider = fw_modex_seg_provider(c->seg);
        params.src_node = fw_modex_seg_src_addr(c->seg);
        if (params.provider[0] == '\0')
            params.provider = NULL;
        if (params.src_node[0] == '\0')
            params.src_node = NULL;
        params.field_mask = FW_FAB_PARAMS_FIELD_PROVIDER |
                            FW_FAB_PARAMS_FIELD_SRC_NODE;
        rc = fw_fab_open(&params, &c->fab, &err);
        if (rc != FW_SUCCESS) {
            FW_LOG_ERR("modex", "rank %u: %s", c->info.rank, err.text);
            c->fab_rc = rc;
            return rc;
        }
    }
    *fab_p = c->fab;
    return FW_SUCCESS;
}

static fw_status_t
fw_client_remote_peer(fw_client_t *c, uint32_t node, fw_client_remote_t *rm)
{
    fw_modex_peer_t peer;
    fw_fab_t *fab;
    fw_rbuf_t r;
    fw_status_t rc;

    if (rm->have_peer)
        return FW_SUCCESS;
    rc = fw_modex_seg_peer_get(c->seg, node, &peer);
    if (rc != FW_SUCCESS) {
        FW_LOG_ERR("modex", "rank %u: no fabric address for node %u",
                   c->info.rank, node);
        return FW_ERR_UNREACHABLE;
    }
    fw_rbuf_init(&r, peer.rkey, peer.rkey_len);
    rc = fw_fab_rkey_unpack(&r, &rm->rkey);
    if (rc == FW_SUCCESS)
        rc = fw_client_fab(c, &fab);
    if (rc == FW_SUCCESS)
        rc = fw_fab_av_insert(fab, peer.addr, peer.addr_len, &rm->peer);
    if (rc != FW_SUCCESS)
        return rc;
    rm->have_peer = 1;
    return FW_SUCCESS;
}

/* Allgather mode: the daemon already holds every window of the epoch. */
static fw_status_t
fw_client_remote_ask(fw_client_t *c, uint32_t node, fw_client_remote_t *rm)
{
    uint8_t req[4] = {(uint8_t)(node >> 24), (uint8_t)(node >> 16),
                      (uint8_t)(node >> 8), (uint8_t)node};
    const void *reply, *w;
    size_t len = 0, wl = 0;
    fw_rbuf_t r;
    uint32_t st;
    fw_status_t rc;
    void *nb;

    rc = fw_client_call(FW_MODEX_MSG_WINDOW_REQ, req, sizeof(req),
                        FW_MODEX_MSG_WINDOW, &reply, &len);
    if (rc != FW_SUCCESS)
        return rc;
    fw_rbuf_init(&r, reply, len);
    st = fw_rbuf_get_u32(&r);
    w = fw_rbuf_get_blob(&r, len, &wl);
    if (r.err)
        return FW_ERR_PROTO;
    if (st != 0)
        return (fw_status_t) - (int)st;
    if (rm->cap < wl) {
        nb = realloc(rm->buf, wl);
        if (nb == NULL)
            return FW_ERR_NO_MEM;
        rm->buf = nb;
        rm->cap = wl;
    }
    memcpy(rm->buf, w, wl);
    rm->len = wl;
    return FW_SUCCESS;
}


static int
fw_client_remote_by_daemon(const fw_client_t *c)
{
    static int warned;
    const char *v = fw_param_get_str("FW_MODEX_REMOTE");

    if (v != NULL && strcmp(v, "auto") != 0 && strcmp(v, "daemon") != 0 &&
        strcmp(v, "direct") != 0 && !warned) {
        warned = 1;
        FW_LOG_WARN("modex", "FW_MODEX_REMOTE '%s' unknown (auto, daemon "
                    "or direct); using auto", v);
    }
    return fw_modex_remote_by_daemon(v, c->fab != NULL);
}

/* Read node's window of the current epoch into rm->buf. */
static fw_status_t
fw_client_remote_fetch(fw_client_t *c, uint32_t node, fw_client_remote_t *rm)
{
    size_t hint = (size_t)fw_param_get_long("FW_MODEX_READ_HINT", 64,
                                            1L << 30);
    size_t half, first, used;
    uint64_t base;
    fw_status_t rc;
    void *nb;

    if (fw_modex_seg_mode(c->seg) == FW_MODEX_MODE_ALLGATHER ||
        fw_client_remote_by_daemon(c)) {
        FW_LOG_DEBUG("modex", "rank %u: window of node %u from the daemon",
                     c->info.rank, node);
        rm->epoch = 0;
        rc = fw_client_remote_ask(c, node, rm);
        if (rc == FW_SUCCESS)
            rc = fw_modex_window_check(rm->buf, rm->len, c->epoch);
        if (rc == FW_SUCCESS)
            rm->epoch = c->epoch;
        return rc == FW_ERR_NOT_READY ? FW_ERR_PROTO : rc;
    }
    FW_LOG_DEBUG("modex", "rank %u: window of node %u read directly",
                 c->info.rank, node);
    rc = fw_client_remote_peer(c, node, rm);
    if (rc != FW_SUCCESS)
        return rc;
    half = rm->rkey.len / 2;
    base = (c->epoch % 2) * half;
    first = hint < half ? hint : half;
    if (rm->cap < half) {
        nb = realloc(rm->buf, half);
        if (nb == NULL)
            return FW_ERR_NO_MEM;
        rm->buf = nb;
        rm->cap = half;
    }
    rm->epoch = 0;
    rc = fw_fab_read(c->fab, rm->peer, rm->buf, first, &rm->rkey, base, -1);
    if (rc != FW_SUCCESS)
        return rc;
    used = fw_modex_window_used(rm->buf, first);
    if (used > half)
        return FW_ERR_PROTO;
    if (used > first) {
        rc = fw_fab_read(c->fab, rm->peer, (uint8_t *)rm->buf + first,
                         used - first, &rm->rkey, base + first, -1);
        if (rc != FW_SUCCESS)
            return rc;
    }
    rm->len = used > first ? used : first;
    rc = fw_modex_window_check(rm->buf, rm->len, c->epoch);
    if (rc != FW_SUCCESS) {
        FW_LOG_ERR("modex", "rank %u: window of node %u is %s",
                   c->info.rank, node,
                   rc == FW_ERR_NOT_READY ? "from another epoch" : "corrupt");
        return FW_ERR_PROTO;
    }
    rm->epoch = c->epoch;
    return FW_SUCCESS;
}


static fw_status_t
fw_client_window(fw_client_t *c, uint32_t node, const void **win_p,
                 size_t *len_p)
{
    fw_client_remote_t *rm;
    fw_status_t rc;

    rm = &c->remote[node];
    if (node == fw_modex_seg_self(c->seg) && !c->local_fabric) {
        *win_p = fw_modex_seg_half(c->seg, c->epoch);
        *len_p = fw_modex_seg_half_cap(c->seg);
        /* check the shared window once per epoch */
        if (rm->epoch != c->epoch) {
            rc = fw_modex_window_check_local(*win_p, *len_p, c->epoch);
            if (rc != FW_SUCCESS)
                return FW_ERR_PROTO;
            rm->epoch = c->epoch;
        }
        return FW_SUCCESS;
    }
    if (rm->epoch != c->epoch) {
        rc = fw_client_remote_fetch(c, node, rm);
        if (rc != FW_SUCCESS)
            return rc;
    }
    *win_p = rm->buf;
    *len_p = rm->len;
    return FW_SUCCESS;
}

fw_status_t
fw_get(uint32_t rank, const char *key, void **value, size_t *len)
{
    fw_client_t *c = &fw_client_g;
    const void *win, *card, *val;
    size_t wlen = 0, clen = 0, vlen = 0;
    uint32_t node;
    fw_status_t rc;
    void *copy;

    if (!c->initialized)
        return FW_ERR_NOT_INITIALIZED;
    if (key == NULL || key[0] == '\0' || value == NULL || len == NULL)
        return FW_ERR_BAD_PARAM;
    if (strnlen(key, FW_MAX_KEY) >= FW_MAX_KEY)
        return FW_ERR_TOO_BIG;
    if (c->epoch == 0)
        return FW_ERR_NOT_READY;
    node = fw_modex_seg_node_of(c->seg, rank);
    if (node == UINT32_MAX)
        return FW_ERR_NOT_FOUND;
    rc = fw_client_window(c, node, &win, &wlen);
    if (rc == FW_SUCCESS)
        rc = fw_modex_window_find(win, wlen, rank, &card, &clen);
    if (rc == FW_SUCCESS)
        rc = fw_modex_card_find(card, clen, key, &val, &vlen);
    if (rc != FW_SUCCESS)
        return rc;
    copy = malloc(vlen > 0 ? vlen : 1);
    if (copy == NULL)
        return FW_ERR_NO_MEM;
    memcpy(copy, val, vlen);
    *value = copy;
    *len = vlen;
    return FW_SUCCESS;
}

void
fw_client_remote_free(fw_client_t *c)
{
    uint32_t i;

    for (i = 0; c->remote != NULL && c->seg != NULL &&
                i < fw_modex_seg_nnodes(c->seg);
         i++)
        free(c->remote[i].buf);
    free(c->remote);
    c->remote = NULL;
}

fw_status_t
fw_client_remote_alloc(fw_client_t *c)
{
    c->remote = calloc(fw_modex_seg_nnodes(c->seg), sizeof(*c->remote));
    return c->remote != NULL ? FW_SUCCESS : FW_ERR_NO_MEM;
}
