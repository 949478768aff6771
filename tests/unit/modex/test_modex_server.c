/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The daemon fence engine without sockets: three engines wired as a tree
 * (root with two children, ranks spread over them) pass their messages
 * through in-memory queues; fences complete only when every rank and
 * every child has entered, the table of fabric entries spreads at the
 * first fence, and bad messages are refused. A rank gone (finalized or
 * exited) fails the open fence at once for the whole job, and every
 * later one.
 */
#include "modex/modex_server.h"
#include "fw_test.h"

#include <stdlib.h>
#include <string.h>

typedef struct msg {
    int to;           /* engine index */
    uint8_t type;
    uint8_t data[512];
    size_t len;
} msg_t;

static msg_t q[256];
static int qn;
static int done_count[8];  /* FENCE_DONE per rank */
static uint32_t done_st[8]; /* status of the last FENCE_DONE per rank */
static fw_modex_server_t *srv[3];

typedef struct node_ctx {
    int idx;
} node_ctx_t;

static node_ctx_t ctx[3] = {{0}, {1}, {2}};

static fw_status_t
to_rank(void *arg, uint32_t rank, uint8_t type, const void *p, size_t len)
{
    const uint8_t *b = p;

    if (type == FW_MODEX_MSG_FENCE_DONE && len == 8) {
        done_count[rank]++;
        done_st[rank] = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 |
                        (uint32_t)b[6] << 8 | b[7];
    }
    return FW_SUCCESS;
}

static fw_status_t
to_parent(void *arg, uint8_t type, const void *p, size_t len)
{
    msg_t *m = &q[qn++];

    m->to = 0;
    m->type = type;
    memcpy(m->data, p, len);
    m->len = len;
    return FW_SUCCESS;
}

static fw_status_t
to_all(void *arg, uint8_t type, const void *p, size_t len)
{
    int i;

    for (i = 1; i < 3; i++) {
        msg_t *m = &q[qn++];

        m->to = i;
        m->type = type;
        memcpy(m->data, p, len);
        m->len = len;
    }
    return FW_SUCCESS;
}

static const struct fw_modex_server_ops ops = {to_rank, to_parent, to_all};

static int
deliver(void)
{
    int i, n = qn, bad = 0;

    for (i = 0; i < n; i++)
        if (fw_modex_server_tree_msg(srv[q[i].to], q[i].type, q[i].data,
                                     q[i].len) != FW_SUCCESS)
            bad++;
    memmove(q, q + n, (size_t)(qn - n) * sizeof(q[0]));
    qn -= n;
    return bad;
}

static fw_status_t
fence(int node, uint32_t rank, uint32_t epoch)
{
    uint8_t e[4] = {0, 0, 0, (uint8_t)epoch};

    return fw_modex_server_rank_msg(srv[node], rank, FW_MODEX_MSG_FENCE, e, 4);
}

/* Three engines as in main(): root (no ranks), node 0 {0,1}, node 1 {2,3}. */
static void
make_tree(fw_modex_seg_t **seg)
{
    static const uint32_t r1[2] = {0, 1}, r2[2] = {2, 3};
    fw_modex_server_params_t p;

    memset(&p, 0, sizeof(p));
    p.nchildren = 2;
    p.is_root = 1;
    fw_modex_server_create(&p, &ops, &ctx[0], &srv[0]);
    p.nchildren = 0;
    p.is_root = 0;
    p.nlocal = 2;
    p.local_ranks = r1;
    p.seg = seg[1];
    fw_modex_server_create(&p, &ops, &ctx[1], &srv[1]);
    p.local_ranks = r2;
    p.seg = seg[2];
    p.self_node = 1;
    fw_modex_server_create(&p, &ops, &ctx[2], &srv[2]);
    memset(done_count, 0, sizeof(done_count));
    qn = 0;
}

static void
free_tree(void)
{
    int i;

    for (i = 0; i < 3; i++)
        fw_modex_server_destroy(srv[i]);
}

/* A rank that finalized or exited fails the fence of the others at once. */
static void
test_gone(fw_modex_seg_t **seg)
{
    static const uint32_t one[2] = {0, 1};
    fw_modex_server_params_t p;
    int i;

    make_tree(seg);
    for (i = 0; i < 4; i++)
        fence(i < 2 ? 1 : 2, (uint32_t)i, 1);
    deliver();
    deliver();
    is(done_count[3], 1, "gone: epoch 1 completes");
    is(fence(2, 2, 2), FW_SUCCESS, "gone: rank 2 enters epoch 2");
    is(qn, 0, "gone: nothing goes up yet");
    is(fw_modex_server_rank_msg(srv[1], 0, FW_MODEX_MSG_FINALIZE, NULL, 0),
       FW_SUCCESS, "gone: rank 0 finalizes outside epoch 2");
    is(qn, 1, "gone: node 0 fails epoch 2 at once, without rank 1");
    is(deliver(), 0, "gone: the root takes the failure");
    is(deliver(), 0, "gone: every daemon takes it");
    ok(done_count[2] == 2 && done_st[2] == FW_MODEX_FENCE_GONE,
       "gone: rank 2, waiting in epoch 2, gets FW_ERR_UNREACHABLE");
    is(fence(2, 3, 2), FW_SUCCESS, "gone: rank 3 enters epoch 2 later");
    ok(done_count[3] == 2 && done_st[3] == FW_MODEX_FENCE_GONE && qn == 0,
       "gone: ... and is answered at once by its daemon");
    is(fence(1, 1, 2), FW_SUCCESS, "gone: rank 1 enters epoch 2");
    ok(done_count[1] == 2 && done_st[1] == FW_MODEX_FENCE_GONE,
       "gone: ... and fails too");
    is(fence(2, 2, 2), FW_SUCCESS, "gone: a fence again fails again");
    ok(done_count[2] == 3 && done_st[2] == FW_MODEX_FENCE_GONE,
       "gone: ... with the same status");
    is(fw_modex_server_epoch(srv[2]), 1,
       "gone: the last completed epoch (and its windows) stays 1");
    is(fence(1, 0, 2), FW_ERR_PROTO, "gone: a gone rank cannot fence");
    is(fw_modex_server_tree_msg(srv[0], FW_MODEX_MSG_FENCE_UP,
                                "\0\0\0\2\0\0\0\0\0\0\0\0", 12),
       FW_SUCCESS, "gone: a late FENCE_UP of the failed epoch is ignored");
    is(fw_modex_server_rank_gone(srv[1], 7), FW_ERR_PROTO,
       "gone: a rank of another node is refused");
    free_tree();

    /* one daemon, which is the root: a rank that exited before fw_init
     * (an MPMD /bin/true) makes the other's first fence fail at once */
    memset(&p, 0, sizeof(p));
    p.is_root = 1;
    p.nlocal = 2;
    p.local_ranks = one;
    p.seg = seg[1];
    fw_modex_server_create(&p, &ops, &ctx[0], &srv[0]);
    memset(done_count, 0, sizeof(done_count));
    is(fence(0, 0, 1), FW_SUCCESS, "root gone: rank 0 enters epoch 1");
    is(fw_modex_server_rank_gone(srv[0], 1), FW_SUCCESS,
       "root gone: rank 1 exits");
    ok(done_count[0] == 1 && done_st[0] == FW_MODEX_FENCE_GONE,
       "root gone: rank 0 fails at once");
    fw_modex_server_destroy(srv[0]);

    /* a rank that entered and then went does not fail that epoch */
    fw_modex_server_create(&p, &ops, &ctx[0], &srv[0]);
    memset(done_count, 0, sizeof(done_count));
    fence(0, 0, 1);
    is(fw_modex_server_rank_gone(srv[0], 0), FW_SUCCESS,
       "entered gone: rank 0 goes inside epoch 1");
    is(done_count[0], 0, "entered gone: epoch 1 still waits for rank 1");
    fence(0, 1, 1);
    ok(done_count[1] == 1 && done_st[1] == 0,
       "entered gone: epoch 1 completes");
    fence(0, 1, 2);
    ok(done_count[1] == 2 && done_st[1] == FW_MODEX_FENCE_GONE,
       "entered gone: epoch 2 fails");
    fw_modex_server_destroy(srv[0]);
}

int
main(void)
{
    uint32_t r1[2] = {0, 1}, r2[2] = {2, 3};
    uint32_t map[4] = {0, 0, 1, 1};
    fw_modex_server_params_t p;
    fw_modex_seg_t *seg[3] = {NULL, NULL, NULL};
    fw_modex_peer_t peer1, peer2, got;
    int i, e;

    memset(&peer1, 0, sizeof(peer1));
    peer1.addr_len = 3;
    memcpy(peer1.addr, "AAA", 3);
    peer1.rkey_len = 2;
    peer2 = peer1;
    memcpy(peer2.addr, "BBB", 3);
    fw_modex_seg_create(4, 2, 0, 2, map, &seg[1]);
    fw_modex_seg_create(4, 2, 1, 2, map, &seg[2]);
    memset(&p, 0, sizeof(p));
    p.nchildren = 2;
    p.is_root = 1;
    is(fw_modex_server_create(&p, &ops, &ctx[0], &srv[0]), FW_SUCCESS,
       "root engine (fwrun: no ranks)");
    p.nchildren = 0;
    p.is_root = 0;
    p.nlocal = 2;
    p.local_ranks = r1;
    p.seg = seg[1];
    p.self_node = 0;
    p.self_peer = &peer1;
    is(fw_modex_server_create(&p, &ops, &ctx[1], &srv[1]), FW_SUCCESS,
       "daemon of node 0");
    p.local_ranks = r2;
    p.seg = seg[2];
    p.self_node = 1;
    p.self_peer = &peer2;
    is(fw_modex_server_create(&p, &ops, &ctx[2], &srv[2]), FW_SUCCESS,
       "daemon of node 1");

    for (e = 1; e <= 3; e++) {
        is(fence(1, 0, (uint32_t)e), FW_SUCCESS, "epoch %d: rank 0 enters", e);
        is(fence(2, 2, (uint32_t)e), FW_SUCCESS, "epoch %d: rank 2 enters", e);
        is(fence(2, 3, (uint32_t)e), FW_SUCCESS, "epoch %d: rank 3 enters", e);
        is(qn, 1, "epoch %d: only node 1 went up", e);
        is(deliver(), 0, "epoch %d: delivered", e);
        is(done_count[0] + done_count[2], 2 * (e - 1),
           "epoch %d: nobody released before the last rank", e);
        is(fence(1, 1, (uint32_t)e), FW_SUCCESS, "epoch %d: rank 1 enters", e);
        is(deliver(), 0, "epoch %d: up messages", e);
        is(deliver(), 0, "epoch %d: down messages", e);
        for (i = 0; i < 4; i++)
            is(done_count[i], e, "epoch %d: rank %d released once", e, i);
        is(fw_modex_server_epoch(srv[2]), (uint64_t)e,
           "epoch %d: completed everywhere", e);
    }
    ok(fw_modex_seg_peer_get(seg[1], 1, &got) == FW_SUCCESS &&
           memcmp(got.addr, "BBB", 3) == 0,
       "node 0's daemon learned node 1's fabric entry at the first fence");
    is(fence(1, 0, 3), FW_ERR_PROTO, "a stale epoch is refused");
    is(fence(1, 7, 4), FW_ERR_PROTO, "a rank of another node is refused");
    is(fence(1, 0, 4), FW_SUCCESS, "epoch 4: rank 0 enters");
    is(fence(1, 0, 4), FW_ERR_PROTO, "entering twice is refused");
    is(fw_modex_server_rank_msg(srv[1], 0, FW_MODEX_MSG_COMMIT, "\x09", 1),
       FW_SUCCESS, "a malformed card is answered (with an error ack)");
    is(fw_modex_server_rank_msg(srv[1], 0, 99, NULL, 0), FW_ERR_PROTO,
       "an unknown message is refused");
    is(fw_modex_server_tree_msg(srv[0], FW_MODEX_MSG_FENCE_DOWN, "\0\0\0\4", 4),
       FW_ERR_PROTO, "the root refuses a FENCE_DOWN");
    ok(!fw_modex_server_finalized(srv[1], 0), "rank 0 not finalized");
    fw_modex_server_rank_msg(srv[1], 0, FW_MODEX_MSG_FINALIZE, NULL, 0);
    ok(fw_modex_server_finalized(srv[1], 0), "rank 0 finalized");
    free_tree();
    test_gone(seg);
    for (i = 0; i < 3; i++)
        fw_modex_seg_destroy(seg[i]);
    return fw_test_done();
}
