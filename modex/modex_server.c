/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Daemon-side fence engine (see modex_server.h).
 *   FENCE_UP, FENCE_DOWN: u32 epoch, u32 status, u32 n,
 *                         n x {u32 node, blob addr, blob rkey}
 * Table entries travel only with epoch 1; later fences carry n = 0.
 * In allgather mode both messages end with u32 m, m x {u32 node, blob
 * window}: the windows of the subtree going up, of everyone coming down.
 * A non-zero status going up fails the epoch at once: its message carries
 * n = 0 (and m = 0), and the root sends it down as it is.
 */
#include "modex/modex_server.h"
#include "common/log.h"
#include "fabwire.h"

#include <stdlib.h>
#include <string.h>

typedef struct fw_modex_entry {
    uint32_t node;
    fw_modex_peer_t peer;
} fw_modex_entry_t;

struct fw_modex_server {
    struct fw_modex_server_ops ops;
    void *arg;
    uint32_t nlocal;
    uint32_t *ranks;
    void **cards;
    size_t *lens;
    uint8_t *entered;
    uint8_t *finalized;
    uint8_t *gone;             /* finalized or exited: never fences again */
    uint32_t *commit_err;      /* per rank: -status of a refused card */
    uint32_t nentered;
    uint32_t nchildren;
    uint32_t nup;
    int is_root;
    fw_modex_seg_t *seg;
    uint64_t epoch;            /* last completed */
    int up_sent;
    uint32_t up_st;            /* FW_MODEX_FENCE_GONE: failed, go up now */
    uint32_t child_st;         /* -status a child sent up with the epoch */
    uint32_t broken;           /* FW_MODEX_FENCE_GONE once released so */
    fw_modex_entry_t *table;   /* gathered during epoch 1 */
    uint32_t ntable, table_cap;
    fw_modex_mode_t mode;
    uint32_t self_node;
    fw_buf_t gathered;         /* allgather: windows of the subtree */
    uint32_t ngathered;
    uint8_t *all;              /* allgather: every window of the epoch */
    size_t all_len;
};

static fw_status_t fw_modex_server_progress(fw_modex_server_t *s);
static fw_status_t fw_modex_server_window_req(fw_modex_server_t *s,
                                              uint32_t rank, const void *p,
                                              size_t len);

static int
fw_modex_server_index(const fw_modex_server_t *s, uint32_t rank)
{
    uint32_t lo = 0, hi = s->nlocal;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (s->ranks[mid] == rank)
            return (int)mid;
        if (s->ranks[mid] < rank)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static fw_status_t
fw_modex_server_table_add(fw_modex_server_t *s, uint32_t node,
                          const fw_modex_peer_t *peer)
{
    fw_modex_entry_t *t;

    if (s->ntable == s->table_cap) {
        t = realloc(s->table, (s->table_cap * 2 + 4) * sizeof(*t));
        if (t == NULL)
            return FW_ERR_NO_MEM;
        s->table = t;
        s->table_cap = s->table_cap * 2 + 4;
    }
    s->table[s->ntable].node = node;
    s->table[s->ntable].peer = *peer;
    s->ntable++;
    return FW_SUCCESS;
}

fw_status_t
fw_modex_server_create(const fw_modex_server_params_t *params,
                       const struct fw_modex_server_ops *ops, void *arg,
                       fw_modex_server_t **srv_p)
{
    fw_modex_server_t *s;
    size_t n = params->nlocal;

    if (params == NULL || ops == NULL || srv_p == NULL ||
        (n > 0 && params->local_ranks == NULL))
        return FW_ERR_BAD_PARAM;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return FW_ERR_NO_MEM;
    s->ops = *ops;
    s->arg = arg;
    s->nlocal = params->nlocal;
    s->nchildren = params->nchildren;
    s->is_root = params->is_root;
    s->seg = params->seg;
    s->mode = params->mode;
    s->self_node = params->self_node;
    fw_buf_init(&s->gathered);
    s->ranks = calloc(n + 1, sizeof(*s->ranks));
    s->cards = calloc(n + 1, sizeof(*s->cards));
    s->lens = calloc(n + 1, sizeof(*s->lens));
    s->entered = calloc(n + 1, 1);
    s->finalized = calloc(n + 1, 1);
    s->gone = calloc(n + 1, 1);
    s->commit_err = calloc(n + 1, sizeof(*s->commit_err));
    if (s->ranks == NULL || s->cards == NULL || s->lens == NULL ||
        s->entered == NULL || s->finalized == NULL || s->gone == NULL ||
        s->commit_err == NULL)
        goto err_free;
    if (n > 0)
        memcpy(s->ranks, params->local_ranks, n * sizeof(*s->ranks));
    if (params->self_peer != NULL &&
        fw_modex_server_table_add(s, params->self_node, params->self_peer) !=
            FW_SUCCESS)
        goto err_free;
    /* without ranks and children, epoch 1 can go up right away */
    if (!s->is_root && fw_modex_server_progress(s) != FW_SUCCESS)
        goto err_free;
    *srv_p = s;
    return FW_SUCCESS;

err_free:
    fw_modex_server_destroy(s);
    return FW_ERR_NO_MEM;
}

void
fw_modex_server_destroy(fw_modex_server_t *s)
{
    uint32_t i;

    if (s == NULL)
        return;
    for (i = 0; s->cards != NULL && i < s->nlocal; i++)
        free(s->cards[i]);
    free(s->cards);
    free(s->lens);
    free(s->ranks);
    free(s->entered);
    free(s->finalized);
    free(s->gone);
    free(s->commit_err);
    free(s->table);
    fw_buf_cleanup(&s->gathered);
    free(s->all);
    free(s);
}

static void
fw_modex_server_pack_table(const fw_modex_server_t *s, uint64_t epoch,
                           fw_buf_t *b)
{
    uint32_t i, n = epoch == 1 ? s->ntable : 0;

    fw_buf_put_u32(b, n);
    for (i = 0; i < n; i++) {
        fw_buf_put_u32(b, s->table[i].node);
        fw_buf_put_blob(b, s->table[i].peer.addr, s->table[i].peer.addr_len);
        fw_buf_put_blob(b, s->table[i].peer.rkey, s->table[i].peer.rkey_len);
    }
}

static fw_status_t
fw_modex_server_unpack_table(fw_modex_server_t *s, fw_rbuf_t *r, int store)
{
    fw_modex_peer_t peer;
    const void *a, *k;
    size_t al = 0, kl = 0;
    uint32_t n = fw_rbuf_get_u32(r), i, node;
    fw_status_t rc = FW_SUCCESS;

    for (i = 0; i < n && rc == FW_SUCCESS; i++) {
        node = fw_rbuf_get_u32(r);
        a = fw_rbuf_get_blob(r, FW_MODEX_ADDR_MAX, &al);
        k = fw_rbuf_get_blob(r, FW_MODEX_RKEY_MAX, &kl);
        if (r->err)
            return FW_ERR_PROTO;
        memset(&peer, 0, sizeof(peer));
        peer.addr_len = (uint32_t)al;
        memcpy(peer.addr, a, al);
        peer.rkey_len = (uint32_t)kl;
        memcpy(peer.rkey, k, kl);
        if (store && s->seg != NULL)
            rc = fw_modex_seg_peer_set(s->seg, node, &peer);
        else if (!store)
            rc = fw_modex_server_table_add(s, node, &peer);
    }
    return rc != FW_SUCCESS ? rc : fw_rbuf_status(r);
}

/* Allgather: keep the windows part of FENCE_DOWN for WINDOW_REQ. */
static fw_status_t
fw_modex_server_keep_all(fw_modex_server_t *s, fw_rbuf_t *r)
{
    size_t n = r->len - r->pos;
    uint8_t *copy = malloc(n > 0 ? n : 1);

    if (copy == NULL)
        return FW_ERR_NO_MEM;
    memcpy(copy, r->data + r->pos, n);
    free(s->all);
    s->all = copy;
    s->all_len = n;
    return FW_SUCCESS;
}

/* Allgather: add our own window to what goes up. */
static fw_status_t
fw_modex_server_gather_self(fw_modex_server_t *s, uint64_t epoch)
{
    const void *half;
    size_t used;

    if (s->seg == NULL)
        return FW_SUCCESS;
    half = fw_modex_seg_half(s->seg, epoch);
    used = fw_modex_window_used(half, fw_modex_seg_half_cap(s->seg));
    fw_buf_put_u32(&s->gathered, s->self_node);
    fw_buf_put_blob(&s->gathered, half, used);
    s->ngathered++;
    return fw_buf_status(&s->gathered);
}

/* FENCE_DONE(epoch, st) to one local rank. */
static void
fw_modex_server_done(fw_modex_server_t *s, uint32_t rank, uint32_t epoch,
                     uint32_t st)
{
    uint8_t reply[8];
    uint32_t j;

    for (j = 0; j < 4; j++) {
        reply[j] = (uint8_t)(epoch >> (24 - 8 * j));
        reply[4 + j] = (uint8_t)(st >> (24 - 8 * j));
    }
    s->ops.to_rank(s->arg, rank, FW_MODEX_MSG_FENCE_DONE, reply,
                   sizeof(reply));
}

/* A local rank that is gone has not entered the open epoch. */
static int
fw_modex_server_doomed(const fw_modex_server_t *s)
{
    uint32_t i;

    for (i = 0; i < s->nlocal; i++)
        if (s->gone[i] && !s->entered[i])
            return 1;
    return 0;
}

/*
 * FENCE_DOWN(epoch) reached this daemon: release the local ranks that
 * entered (all of them, unless the epoch failed early). An epoch failed
 * because a rank is gone does not complete: the last completed epoch (and
 * its windows) stays, and every later fence fails at once.
 */
static fw_status_t
fw_modex_server_release(fw_modex_server_t *s, uint64_t epoch, uint32_t st,
                        fw_rbuf_t *table)
{
    fw_status_t rc = FW_SUCCESS;
    uint32_t i;

    if (epoch != s->epoch + 1)
        return FW_ERR_PROTO;
    if (st == FW_MODEX_FENCE_GONE)
        s->broken = st;
    else if (table != NULL)
        rc = fw_modex_server_unpack_table(s, table, 1);
    if (rc == FW_SUCCESS && s->mode == FW_MODEX_MODE_ALLGATHER && !s->broken)
        rc = fw_modex_server_keep_all(s, table);
    if (!s->broken)
        s->epoch = epoch;
    for (i = 0; i < s->nlocal; i++) {
        /* a rank whose card was refused learns it here */
        if (!s->entered[i])
            continue;
        fw_modex_server_done(s, s->ranks[i], (uint32_t)epoch,
                             st != 0 ? st : s->commit_err[i]);
        s->commit_err[i] = 0;
    }
    s->nentered = 0;
    s->nup = 0;
    s->up_sent = 0;
    s->up_st = 0;
    s->child_st = 0;
    memset(s->entered, 0, s->nlocal);
    /* a daemon without ranks (or children) is ready for the next epoch
     * at once, and one with a rank gone fails it at once: nothing else
     * would make it go up */
    if (rc == FW_SUCCESS && (!s->is_root || fw_modex_server_doomed(s)))
        rc = fw_modex_server_progress(s);
    return rc;
}

/* Send the epoch's message up (or, at the root, down and release). */
static fw_status_t
fw_modex_server_send(fw_modex_server_t *s, uint64_t epoch, fw_buf_t *b,
                     uint32_t st)
{
    fw_status_t rc;
    fw_rbuf_t r;

    if (fw_buf_status(b) != FW_SUCCESS)
        return FW_ERR_NO_MEM;
    s->up_sent = 1;
    if (!s->is_root)
        return s->ops.to_parent(s->arg, FW_MODEX_MSG_FENCE_UP, b->data,
                                b->len);
    if (s->ops.to_all != NULL)
        s->ops.to_all(s->arg, FW_MODEX_MSG_FENCE_DOWN, b->data, b->len);
    fw_rbuf_init(&r, b->data + 8, b->len - 8);
    rc = fw_modex_server_release(s, epoch, st, &r);
    return rc;
}

/* The epoch cannot complete: say so up the tree at once. */
static fw_status_t
fw_modex_server_fail_up(fw_modex_server_t *s, uint64_t epoch)
{
    fw_status_t rc;
    fw_buf_t b;

    fw_buf_init(&b);
    fw_buf_put_u32(&b, (uint32_t)epoch);
    fw_buf_put_u32(&b, s->up_st);
    fw_buf_put_u32(&b, 0); /* no table entries */
    if (s->mode == FW_MODEX_MODE_ALLGATHER)
        fw_buf_put_u32(&b, 0); /* no windows */
    fw_buf_cleanup(&s->gathered);
    s->ngathered = 0;
    rc = fw_modex_server_send(s, epoch, &b, s->up_st);
    fw_buf_cleanup(&b);
    return rc;
}

/* Local part and children done: publish, then go up (or release). */
static fw_status_t
fw_modex_server_progress(fw_modex_server_t *s)
{
    uint64_t epoch = s->epoch + 1;
    fw_status_t rc = FW_SUCCESS;
    uint32_t st;
    fw_buf_t b;

    if (s->broken || s->up_sent)
        return FW_SUCCESS;
    if (s->up_st == 0 && fw_modex_server_doomed(s))
        s->up_st = FW_MODEX_FENCE_GONE;
    if (s->up_st != 0)
        return fw_modex_server_fail_up(s, epoch);
    if (s->nentered < s->nlocal || s->nup < s->nchildren)
        return FW_SUCCESS;
    if (s->seg != NULL)
        rc = fw_modex_seg_publish(s->seg, epoch, s->nlocal, s->ranks,
                                  s->cards, s->lens);
    if (rc != FW_SUCCESS)
        FW_LOG_ERR("modex", "epoch %llu: cannot publish the window: %s",
                   (unsigned long long)epoch, fw_strerror(rc));
    if (rc == FW_SUCCESS && s->mode == FW_MODEX_MODE_ALLGATHER)
        rc = fw_modex_server_gather_self(s, epoch);
    fw_buf_init(&b);
    fw_buf_put_u32(&b, (uint32_t)epoch);
    st = rc == FW_SUCCESS ? s->child_st : (uint32_t)-rc;
    fw_buf_put_u32(&b, st);
    fw_modex_server_pack_table(s, epoch, &b);
    if (s->mode == FW_MODEX_MODE_ALLGATHER) {
        fw_buf_put_u32(&b, s->ngathered);
        fw_buf_put_bytes(&b, s->gathered.data, s->gathered.len);
        fw_buf_cleanup(&s->gathered);
        s->ngathered = 0;
    }
    rc = fw_modex_server_send(s, epoch, &b, st);
    fw_buf_cleanup(&b);
    return rc;
}

/* Keep a rank's card; a refused one is reported by the next fence. */
static fw_status_t
fw_modex_server_commit(fw_modex_server_t *s, int idx, const void *p,
                       size_t len)
{
    void *copy;

    if (len > FW_MAX_CARD) {
        s->commit_err[idx] = (uint32_t)-FW_ERR_TOO_BIG;
        return FW_SUCCESS;
    }
    if (fw_modex_card_validate(p, len) != FW_SUCCESS) {
        s->commit_err[idx] = (uint32_t)-FW_ERR_PROTO;
        return FW_SUCCESS;
    }
    copy = malloc(len > 0 ? len : 1);
    if (copy == NULL) {
        s->commit_err[idx] = (uint32_t)-FW_ERR_NO_MEM;
        return FW_SUCCESS;
    }
    memcpy(copy, p, len);
    free(s->cards[idx]);
    s->cards[idx] = copy;
    s->lens[idx] = len;
    return FW_SUCCESS;
}

fw_status_t
fw_modex_server_rank_msg(fw_modex_server_t *s, uint32_t rank, uint8_t type,
                         const void *p, size_t len)
{
    int idx = fw_modex_server_index(s, rank);
    fw_rbuf_t r;
    uint32_t e;

    if (idx < 0)
        return FW_ERR_PROTO;
    switch (type) {
    case FW_MODEX_MSG_COMMIT:
        return fw_modex_server_commit(s, idx, p, len);
    case FW_MODEX_MSG_FENCE:
        fw_rbuf_init(&r, p, len);
        e = fw_rbuf_get_u32(&r);
        if (r.err || s->gone[idx])
            return FW_ERR_PROTO;
        if (s->broken) {
            fw_modex_server_done(s, rank, e, s->broken);
            return FW_SUCCESS;
        }
        if (e != (uint32_t)(s->epoch + 1) || s->entered[idx])
            return FW_ERR_PROTO;
        s->entered[idx] = 1;
        s->nentered++;
        return fw_modex_server_progress(s);
    case FW_MODEX_MSG_WINDOW_REQ:
        return fw_modex_server_window_req(s, rank, p, len);
    case FW_MODEX_MSG_FINALIZE:
        s->finalized[idx] = 1; /* no answer: the rank closes right after */
        return fw_modex_server_rank_gone(s, rank);
    default:
        return FW_ERR_PROTO;
    }
}

/* Allgather: append a child's windows (validated) to ours. */
static fw_status_t
fw_modex_server_gather_child(fw_modex_server_t *s, fw_rbuf_t *r)
{
    uint32_t n = fw_rbuf_get_u32(r), i, node;
    const void *w;
    size_t wl = 0;

    for (i = 0; i < n && !r->err; i++) {
        node = fw_rbuf_get_u32(r);
        w = fw_rbuf_get_blob(r, r->len, &wl);
        if (w == NULL)
            break;
        fw_buf_put_u32(&s->gathered, node);
        fw_buf_put_blob(&s->gathered, w, wl);
        s->ngathered++;
    }
    if (r->err)
        return FW_ERR_PROTO;
    return fw_buf_status(&s->gathered);
}

/* Allgather: answer a rank's request for node's window. */
static fw_status_t
fw_modex_server_window_req(fw_modex_server_t *s, uint32_t rank,
                           const void *p, size_t len)
{
    uint32_t want, n, i, node;
    const void *w = NULL;
    size_t wl = 0;
    fw_rbuf_t r;
    fw_buf_t b;
    fw_status_t rc;

    fw_rbuf_init(&r, p, len);
    want = fw_rbuf_get_u32(&r);
    if (r.err)
        return FW_ERR_PROTO;
    fw_rbuf_init(&r, s->all, s->all_len);
    n = fw_rbuf_get_u32(&r);
    for (i = 0; i < n && !r.err; i++) {
        node = fw_rbuf_get_u32(&r);
        w = fw_rbuf_get_blob(&r, r.len, &wl);
        if (node == want)
            break;
        w = NULL;
    }
    fw_buf_init(&b);
    fw_buf_put_u32(&b, w != NULL ? 0 : (uint32_t)-FW_ERR_NOT_FOUND);
    fw_buf_put_blob(&b, w, w != NULL ? wl : 0);
    rc = fw_buf_status(&b);
    if (rc == FW_SUCCESS)
        rc = s->ops.to_rank(s->arg, rank, FW_MODEX_MSG_WINDOW, b.data, b.len);
    fw_buf_cleanup(&b);
    return rc;
}

fw_status_t
fw_modex_server_tree_msg(fw_modex_server_t *s, uint8_t type, const void *p,
                         size_t len)
{
    fw_rbuf_t r;
    uint32_t e, st;
    fw_status_t rc = FW_SUCCESS;

    if (s->broken)
        return FW_SUCCESS; /* late messages of the failed epoch */
    fw_rbuf_init(&r, p, len);
    e = fw_rbuf_get_u32(&r);
    st = fw_rbuf_get_u32(&r);
    if (r.err || e != (uint32_t)(s->epoch + 1))
        return FW_ERR_PROTO;
    if (type == FW_MODEX_MSG_FENCE_DOWN && !s->is_root)
        return fw_modex_server_release(s, e, st, &r);
    if (type != FW_MODEX_MSG_FENCE_UP || s->nup >= s->nchildren)
        return FW_ERR_PROTO;
    if (st == FW_MODEX_FENCE_GONE) {
        s->up_st = st;
    } else {
        if (st != 0)
            s->child_st = st;
        rc = fw_modex_server_unpack_table(s, &r, 0);
        if (rc == FW_SUCCESS && s->mode == FW_MODEX_MODE_ALLGATHER)
            rc = fw_modex_server_gather_child(s, &r);
    }
    if (rc != FW_SUCCESS)
        return rc;
    s->nup++;
    return fw_modex_server_progress(s);
}

fw_status_t
fw_modex_server_rank_gone(fw_modex_server_t *s, uint32_t rank)
{
    int idx = fw_modex_server_index(s, rank);

    if (idx < 0)
        return FW_ERR_PROTO;
    if (s->gone[idx])
        return FW_SUCCESS;
    s->gone[idx] = 1;
    return fw_modex_server_progress(s);
}

fw_status_t
fw_modex_server_set_peer(fw_modex_server_t *s, uint32_t node,
                         const fw_modex_peer_t *peer)
{
    if (s->epoch > 0 || s->up_sent)
        return FW_ERR_PROTO;
    return fw_modex_server_table_add(s, node, peer);
}

int
fw_modex_server_finalized(const fw_modex_server_t *s, uint32_t rank)
{
    int idx = fw_modex_server_index(s, rank);

    return idx >= 0 && s->finalized[idx];
}

uint64_t
fw_modex_server_epoch(const fw_modex_server_t *s)
{
    return s->epoch;
}
