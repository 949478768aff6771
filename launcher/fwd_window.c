/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Remote windows read by the daemon for its ranks (FW_MODEX_REMOTE =
 * daemon, the default, in onesided mode): a rank's fw_get of a card on
 * another host asks its daemon (WINDOW_REQ u32 node); the daemon reads
 * that host's window of the current epoch with one fi_read (two if it is
 * larger than FW_MODEX_READ_HINT), keeps it for the epoch, and answers
 * every rank that asked (WINDOW u32 -status, blob window). So ranks never
 * load libfabric for the modex, and a host reads each remote window at
 * most once per epoch however many of its ranks need it.
 *
 * Per node: IDLE (buf holds epoch `epoch`, or nothing) -> READING (want)
 * -> IDLE; ranks asking meanwhile wait on the node's list.
 */
#include "launcher/fwd.h"
#include "common/log.h"
#include "common/param.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

typedef struct fwd_win_waiter {
    struct fwd_win_waiter *next;
    uint32_t rank;
    uint64_t epoch;
} fwd_win_waiter_t;

struct fwd_win {
    fwd_t *d;
    uint32_t node;
    uint64_t epoch;            /* of buf; 0: nothing */
    uint64_t want;             /* being read; 0: idle */
    int stage;                 /* 1: first read, 2: the rest */
    uint8_t *buf;
    size_t cap, len, first;
    int have_peer;
    uint64_t peer;
    fw_fab_rkey_t rkey;
    fwd_win_waiter_t *waiters;
};

static void fwd_window_read(fwd_win_t *w);

static void
fwd_window_reply(fwd_t *d, uint32_t rank, fw_status_t st, const void *win,
                 size_t len)
{
    fwd_proc_t *pr = fwd_modex_find(d, rank);
    fw_buf_t b;

    fw_buf_init(&b);
    fw_buf_put_u32(&b, (uint32_t)-(int32_t)st);
    fw_buf_put_blob(&b, win, st == FW_SUCCESS ? len : 0);
    if (fw_buf_status(&b) != FW_SUCCESS || pr == NULL || pr->conn == NULL ||
        fw_oob_send(pr->conn, FW_MODEX_MSG_WINDOW, 0, rank, b.data, b.len) !=
            FW_SUCCESS)
        FW_LOG_DEBUG("modex", "daemon %u: window answer for rank %u lost",
                     d->id, rank);
    else
        fw_oob_conn_flush(pr->conn); /* the rank is waiting for it */
    fw_buf_cleanup(&b);
}

/* Answer the waiters of w->epoch (or all, with st); others stay. */
static void
fwd_window_answer(fwd_win_t *w, fw_status_t st)
{
    fwd_win_waiter_t **pp = &w->waiters, *x;

    while ((x = *pp) != NULL) {
        if (st == FW_SUCCESS && x->epoch != w->epoch) {
            pp = &x->next;
            continue;
        }
        fwd_window_reply(w->d, x->rank, st, w->buf, w->len);
        *pp = x->next;
        free(x);
    }
    if (w->waiters != NULL) /* a newer epoch was asked for meanwhile */
        fwd_window_read(w);
}

static void
fwd_window_cb(const fw_fab_cmpl_t *cmpl, void *arg)
{
    fwd_win_t *w = arg;
    size_t half = w->rkey.len / 2, used;
    fw_status_t st = cmpl->status;

    if (st == FW_SUCCESS && w->stage == 1) {
        used = fw_modex_window_used(w->buf, w->first);
        if (used > half) {
            st = FW_ERR_PROTO;
        } else if (used > w->first) {
            w->stage = 2;
            w->len = used;
            st = fw_fab_read_nb(w->d->fab, w->peer, w->buf + w->first,
                                used - w->first, &w->rkey,
                                (w->want % 2) * half + w->first,
                                fwd_window_cb, w);
            if (st == FW_SUCCESS)
                return;
        } else {
            w->len = w->first;
        }
    }
    if (st == FW_SUCCESS &&
        fw_modex_window_check(w->buf, w->len, w->want) != FW_SUCCESS)
        st = FW_ERR_PROTO; /* torn or from another epoch */
    if (st != FW_SUCCESS)
        FW_LOG_ERR("modex", "daemon %u: reading the window of node %u: %s",
                   w->d->id, w->node, fw_strerror(st));
    w->epoch = st == FW_SUCCESS ? w->want : 0;
    w->want = 0;
    fwd_window_answer(w, st);
}

static fw_status_t
fwd_window_peer(fwd_win_t *w)
{
    fw_modex_peer_t peer;
    fw_rbuf_t r;
    fw_status_t rc;

    if (w->have_peer)
        return FW_SUCCESS;
    rc = fw_modex_seg_peer_get(w->d->seg, w->node, &peer);
    if (rc != FW_SUCCESS)
        return FW_ERR_UNREACHABLE;
    fw_rbuf_init(&r, peer.rkey, peer.rkey_len);
    rc = fw_fab_rkey_unpack(&r, &w->rkey);
    if (rc == FW_SUCCESS)
        rc = fw_fab_av_insert(w->d->fab, peer.addr, peer.addr_len, &w->peer);
    if (rc == FW_SUCCESS)
        w->have_peer = 1;
    return rc;
}

/* Start reading the newest epoch a waiter wants. */
static void
fwd_window_read(fwd_win_t *w)
{
    size_t hint = (size_t)fw_param_get_long("FW_MODEX_READ_HINT", 64,
                                            1L << 30);
    uint64_t e = 0;
    size_t half;
    uint8_t *nb;
    fw_status_t rc;

    for (fwd_win_waiter_t *x = w->waiters; x != NULL; x = x->next)
        e = x->epoch > e ? x->epoch : e;
    rc = w->d->fab != NULL ? fwd_window_peer(w) : FW_ERR_UNREACHABLE;
    half = w->rkey.len / 2;
    if (rc == FW_SUCCESS && w->cap < half) {
        nb = realloc(w->buf, half);
        if (nb == NULL)
            rc = FW_ERR_NO_MEM;
        else {
            w->buf = nb;
            w->cap = half;
        }
    }
    if (rc == FW_SUCCESS) {
        w->want = e;
        w->stage = 1;
        w->first = hint < half ? hint : half;
        w->epoch = 0;
        rc = fw_fab_read_nb(w->d->fab, w->peer, w->buf, w->first, &w->rkey,
                            (e % 2) * half, fwd_window_cb, w);
    }
    if (rc != FW_SUCCESS) {
        w->want = 0;
        fwd_window_answer(w, rc);
    }
}

/*
 * The window is one fabric round trip away: poll for it a little
 * (FW_MODEX_DAEMON_SPIN_US) instead of going back to the event loop,
 * whose wakeup costs about as much as the round trip itself. Bounded,
 * and only once per remote host and epoch.
 */
static void
fwd_window_spin(fwd_win_t *w)
{
    long us = fw_param_get_long("FW_MODEX_DAEMON_SPIN_US", 0, 100000);
    uint64_t end = fw_time_ns() + (uint64_t)us * 1000;
    size_t n;

    while (w->want != 0 && fw_time_ns() < end)
        if (fw_fab_progress(w->d->fab, &n) != FW_SUCCESS)
            break;
}

/* WINDOW_REQ from a local rank. */
void
fwd_window_req(fwd_t *d, uint32_t rank, const void *p, size_t len)
{
    uint64_t e = d->modex != NULL ? fw_modex_server_epoch(d->modex) : 0;
    fwd_win_waiter_t *x;
    fwd_win_t *w;
    fw_rbuf_t r;
    uint32_t node;

    fw_rbuf_init(&r, p, len);
    node = fw_rbuf_get_u32(&r);
    if (fw_rbuf_status(&r) != FW_SUCCESS || d->wins == NULL ||
        node >= fw_modex_seg_nnodes(d->seg) || e == 0) {
        fwd_window_reply(d, rank, e == 0 ? FW_ERR_NOT_READY : FW_ERR_NOT_FOUND,
                         NULL, 0);
        return;
    }
    w = &d->wins[node];
    if (w->epoch == e) {
        fwd_window_reply(d, rank, FW_SUCCESS, w->buf, w->len);
        return;
    }
    x = calloc(1, sizeof(*x));
    if (x == NULL) {
        fwd_window_reply(d, rank, FW_ERR_NO_MEM, NULL, 0);
        return;
    }
    x->rank = rank;
    x->epoch = e;
    x->next = w->waiters;
    w->waiters = x;
    if (w->want == 0) {
        fwd_window_read(w);
        fwd_window_spin(w);
    }
}

fw_status_t
fwd_window_setup(fwd_t *d)
{
    uint32_t n = fw_modex_seg_nnodes(d->seg);

    d->wins = calloc(n, sizeof(*d->wins));
    if (d->wins == NULL)
        return FW_ERR_NO_MEM;
    for (uint32_t i = 0; i < n; i++) {
        d->wins[i].d = d;
        d->wins[i].node = i;
    }
    return FW_SUCCESS;
}

/* After the endpoint is closed (reads in flight are gone with it). */
void
fwd_window_cleanup(fwd_t *d)
{
    fwd_win_waiter_t *x;

    for (uint32_t i = 0; d->wins != NULL && d->seg != NULL &&
                         i < fw_modex_seg_nnodes(d->seg);
         i++) {
        while ((x = d->wins[i].waiters) != NULL) {
            d->wins[i].waiters = x->next;
            free(x);
        }
        free(d->wins[i].buf);
    }
    free(d->wins);
    d->wins = NULL;
}
