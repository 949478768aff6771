/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fwd's side of the modex: the shared segment the local ranks map, the
 * fabric endpoint and registered window other hosts read, the fence
 * engine, and the connections of the local ranks' client libraries.
 */
#define _GNU_SOURCE
#include "launcher/fwd.h"
#include "dpm/dpm.h"
#include "common/log.h"
#include "common/param.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static fwd_proc_t *
fwd_modex_proc(fwd_t *d, uint32_t rank)
{
    uint32_t lo = 0, hi = d->nprocs;

    /* procs are in ascending rank order */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (d->procs[mid].rank == rank)
            return &d->procs[mid];
        if (d->procs[mid].rank < rank)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void fwd_dpm_up(fwd_t *d, uint32_t rank, const void *p, size_t len);

fwd_proc_t *
fwd_modex_find(fwd_t *d, uint32_t rank)
{
    return fwd_modex_proc(d, rank);
}

static fw_status_t
fwd_modex_to_rank(void *arg, uint32_t rank, uint8_t type, const void *p,
                  size_t len)
{
    fwd_proc_t *pr = fwd_modex_proc(arg, rank);

    if (pr == NULL || pr->conn == NULL)
        return FW_ERR_UNREACHABLE;
    return fw_oob_send(pr->conn, type, 0, rank, p, len);
}

static fw_status_t
fwd_modex_to_parent(void *arg, uint8_t type, const void *p, size_t len)
{
    fwd_t *d = arg;

    return fw_launch_tree_send(&d->tree, type,
                               fw_oob_route_parent(d->id, d->tree.fanout), p,
                               len);
}

static fw_status_t
fwd_modex_to_all(void *arg, uint8_t type, const void *p, size_t len)
{
    fwd_t *d = arg;

    return fw_launch_tree_send(&d->tree, type, FW_OOB_ID_BCAST, p, len);
}

static const struct fw_modex_server_ops fwd_modex_ops = {
    fwd_modex_to_rank, fwd_modex_to_parent, fwd_modex_to_all};

/* Our window registered on the endpoint, and our entry of the table. */
static fw_status_t
fwd_modex_fabric(fwd_t *d, fw_modex_peer_t *peer)
{
    fw_fab_rkey_t rkey;
    fw_buf_t b;
    size_t len = sizeof(peer->addr), hlen;
    void *halves = fw_modex_seg_halves(d->seg, &hlen);
    fw_status_t rc = fwd_fabric_open(d);

    if (rc != FW_SUCCESS) {
        fwd_send_fail(d, d->id, FW_LAUNCH_FAIL_DAEMON, d->fab_err);
        return rc;
    }
    rc = fw_fab_addr_get(d->fab, peer->addr, &len);
    if (rc == FW_SUCCESS)
        rc = fw_fab_mr_reg(d->fab, halves, hlen, FW_FAB_MR_REMOTE_READ,
                           &d->fab_mr);
    if (rc == FW_SUCCESS)
        rc = fw_fab_mr_desc_get(d->fab_mr, &rkey);
    fw_buf_init(&b);
    if (rc == FW_SUCCESS)
        rc = fw_fab_rkey_pack(&rkey, &b);
    if (rc == FW_SUCCESS && b.len > sizeof(peer->rkey))
        rc = FW_ERR_TOO_BIG;
    if (rc == FW_SUCCESS) {
        peer->addr_len = (uint32_t)len;
        peer->rkey_len = (uint32_t)b.len;
        memcpy(peer->rkey, b.data, b.len);
    }
    fw_buf_cleanup(&b);
    if (rc != FW_SUCCESS)
        return rc;
    fw_modex_seg_provider_set(d->seg, fw_fab_provider(d->fab),
                              fw_oob_conn_local_addr(d->tree.parent));
    return FW_SUCCESS;
}

static fw_modex_mode_t
fwd_modex_mode(void)
{
    const char *m = fw_param_get_str("FW_MODEX_MODE");

    if (m != NULL && strcmp(m, "allgather") == 0)
        return FW_MODEX_MODE_ALLGATHER;
    if (m != NULL && strcmp(m, "onesided") != 0)
        FW_LOG_WARN("modex", "FW_MODEX_MODE '%s' unknown; using onesided",
                    m);
    return FW_MODEX_MODE_ONESIDED;
}

/* The fabric is opened at the first fence a local rank enters: jobs
 * that never fence, single-host jobs and allgather mode (windows travel
 * with the fence over the OOB tree) never pay for libfabric. */
static int
fwd_modex_needs_fabric(const fwd_t *d)
{
    if (strcmp(fw_param_get_str("FW_MODEX_LOCAL"), "fabric") == 0)
        return 1;
    return d->job.nhosts > 1 &&
           fw_modex_seg_mode(d->seg) == FW_MODEX_MODE_ONESIDED;
}

static fw_status_t
fwd_modex_fabric_start(fwd_t *d)
{
    fw_modex_peer_t peer;
    fw_status_t rc;

    memset(&peer, 0, sizeof(peer));
    rc = fwd_modex_fabric(d, &peer);
    if (rc == FW_SUCCESS)
        rc = fw_modex_server_set_peer(d->modex, fw_modex_seg_self(d->seg),
                                      &peer);
    return rc;
}

fw_status_t
fwd_modex_setup(fwd_t *d, int node)
{
    fw_modex_server_params_t sp;
    uint32_t i, nlocal = d->job.hosts[node].nprocs, *ranks;
    fw_status_t rc;

    rc = fw_modex_seg_create(d->job.nprocs, d->job.nhosts, (uint32_t)node,
                             nlocal, d->job.rank_node, &d->seg);
    if (rc != FW_SUCCESS)
        return rc;
    ranks = calloc(nlocal + 1, sizeof(*ranks));
    if (ranks == NULL)
        return FW_ERR_NO_MEM;
    memset(&sp, 0, sizeof(sp));
    for (i = 0; i < d->job.nprocs; i++)
        if (d->job.rank_node[i] == (uint32_t)node)
            ranks[sp.nlocal++] = i;
    sp.local_ranks = ranks;
    sp.nchildren = d->tree.nchildren;
    sp.is_root = d->tree.n == 2; /* the only daemon: no one above */
    sp.seg = d->seg;
    sp.self_node = (uint32_t)node;
    sp.mode = fwd_modex_mode();
    fw_modex_seg_mode_set(d->seg, sp.mode);
    /* the ranks' endpoints bind to the address this host uses toward
     * fwrun (loopback on one host), so ports and cards are reachable
     * from the other hosts before our own fabric opens */
    if (d->tree.parent != NULL)
        fw_modex_seg_provider_set(d->seg,
                                  d->provider != NULL ? d->provider : "",
                                  fw_oob_conn_local_addr(d->tree.parent));
    rc = fw_modex_server_create(&sp, &fwd_modex_ops, d, &d->modex);
    free(ranks);
    if (rc == FW_SUCCESS)
        rc = fwd_window_setup(d);
    return rc;
}

static void
fwd_modex_hello(fwd_t *d, fw_oob_conn_t *c, const void *p, size_t len)
{
    uint32_t rank = fw_oob_conn_peer_id(c);
    fwd_proc_t *pr = fwd_modex_proc(d, rank);
    uint8_t reply[12];
    uint32_t v[3], i;

    v[0] = 0;
    v[1] = (uint32_t)getpid();
    v[2] = d->seg != NULL ? (uint32_t)fw_modex_seg_fd(d->seg) : 0;
    if (pr == NULL || pr->conn != NULL || d->seg == NULL)
        v[0] = (uint32_t)-FW_ERR_PROTO;
    else
        pr->conn = c;
    if (pr != NULL) {
        pr->hello = 1;
        pr->lib_pid = fw_oob_conn_peer_pid(c);
    }
    for (i = 0; i < 12; i++)
        reply[i] = (uint8_t)(v[i / 4] >> (24 - 8 * (i % 4)));
    if (fw_oob_send(c, FW_MODEX_MSG_HELLO_ACK, 0, rank, reply,
                    sizeof(reply)) != FW_SUCCESS || v[0] != 0)
        fw_oob_conn_close_flushed(c);
}

void
fwd_modex_proc_msg(fwd_t *d, fw_oob_conn_t *c, const fw_oob_hdr_t *h,
                   const void *p)
{
    uint32_t rank = fw_oob_conn_peer_id(c);
    fwd_proc_t *pr;

    if (h->type == FW_MODEX_MSG_HELLO) {
        fwd_modex_hello(d, c, p, h->len);
        return;
    }
    pr = fwd_modex_proc(d, rank);
    if (h->type == FW_DPM_MSG_REQ && pr != NULL && pr->conn == c) {
        fwd_dpm_up(d, rank, p, h->len);
        return;
    }
    if (h->type == FW_MODEX_MSG_WINDOW_REQ && pr != NULL && pr->conn == c &&
        fw_modex_seg_mode(d->seg) == FW_MODEX_MODE_ONESIDED) {
        fwd_window_req(d, rank, p, h->len); /* we read it for the rank */
        return;
    }
    if (h->type == FW_MODEX_MSG_FENCE && d->fab_mr == NULL &&
        d->modex != NULL && fw_modex_server_epoch(d->modex) == 0 &&
        fwd_modex_needs_fabric(d) &&
        fwd_modex_fabric_start(d) != FW_SUCCESS) {
        FW_LOG_ERR("modex", "daemon %u: no fabric for the first fence",
                   d->id);
        /* the fence goes on; remote reads of this host will fail */
    }
    if (pr == NULL || pr->conn != c || d->modex == NULL ||
        fw_modex_server_rank_msg(d->modex, rank, h->type, p, h->len) !=
            FW_SUCCESS) {
        FW_LOG_WARN("modex", "rank %u: bad request %u; disconnecting it",
                    rank, h->type);
        if (pr != NULL && pr->conn == c)
            pr->conn = NULL;
        fw_oob_conn_close(c);
    }
}

/* dpm requests go to fwrun with the rank in front (dpm/dpm.h). */
static void
fwd_dpm_up(fwd_t *d, uint32_t rank, const void *p, size_t len)
{
    fw_buf_t b;

    if (len >= 5 && ((const uint8_t *)p)[4] == FW_DPM_OP_WARM) {
        fwd_fabric_warm(d); /* for us: children may soon need relaying */
        return;
    }

    fw_buf_init(&b);
    fw_buf_put_u32(&b, rank);
    fw_buf_put_bytes(&b, p, len);
    if (fw_buf_status(&b) != FW_SUCCESS ||
        fw_launch_tree_send(&d->tree, FW_DPM_MSG_REQ, FW_OOB_ID_ROOT, b.data,
                            b.len) != FW_SUCCESS)
        FW_LOG_WARN("dpm", "daemon %u: cannot pass rank %u's request to "
                    "fwrun", d->id, rank);
    fw_buf_cleanup(&b);
}

/* fwrun's answer to one of our ranks. */
void
fwd_dpm_down(fwd_t *d, const fw_oob_hdr_t *h, const void *p)
{
    fw_rbuf_t r;
    uint32_t rank;

    fw_rbuf_init(&r, p, h->len);
    rank = fw_rbuf_get_u32(&r);
    if (fw_rbuf_status(&r) != FW_SUCCESS ||
        fwd_modex_to_rank(d, rank, FW_DPM_MSG_REPLY, (const uint8_t *)p + 4,
                          h->len - 4) != FW_SUCCESS)
        FW_LOG_DEBUG("dpm", "daemon %u: answer for rank %u dropped", d->id,
                     rank);
}

void
fwd_modex_proc_closed(fwd_t *d, fw_oob_conn_t *c)
{
    uint32_t rank = fw_oob_conn_peer_id(c);
    fwd_proc_t *pr = fwd_modex_proc(d, rank);

    if (pr == NULL || pr->conn != c)
        return;
    pr->conn = NULL;
    /* judged when the rank exits: a crash reports its own status */
    if (!fw_modex_server_finalized(d->modex, rank))
        pr->unfinalized = 1;
}

/* A rank exited: a fence it will never enter fails for the job now. */
void
fwd_modex_rank_gone(fwd_t *d, uint32_t rank)
{
    if (d->modex != NULL &&
        fw_modex_server_rank_gone(d->modex, rank) != FW_SUCCESS)
        FW_LOG_WARN("modex", "daemon %u: cannot fail the fence rank %u "
                    "left", d->id, rank);
}

void
fwd_modex_tree_msg(fwd_t *d, const fw_oob_hdr_t *h, const void *p)
{
    char text[400];

    if (d->modex == NULL ||
        fw_modex_server_tree_msg(d->modex, h->type, p, h->len) !=
            FW_SUCCESS) {
        snprintf(text, sizeof(text), "daemon on host %s: bad fence message "
                 "%u from %u", d->hostname, h->type, h->src);
        fwd_send_fail(d, d->id, FW_LAUNCH_FAIL_DAEMON, text);
    }
}

void
fwd_modex_cleanup(fwd_t *d)
{
    fw_modex_server_destroy(d->modex);
    d->modex = NULL;
    fw_fab_mr_dereg(d->fab_mr);
    d->fab_mr = NULL;
    fwd_relay_stop(d);
    fwd_fabric_cleanup(d);
    fwd_relay_free(d);
    fwd_window_cleanup(d);
    fw_modex_seg_destroy(d->seg);
    d->seg = NULL;
}
