/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Daemon-side modex engine: takes the local ranks' COMMIT/FENCE/FINALIZE
 * messages and the tree's FENCE_UP/FENCE_DOWN messages as bytes and emits
 * replies through an ops struct, so it runs without sockets in tests.
 *
 * Fence of epoch e, per daemon: every local rank has entered and every
 * child daemon has sent FENCE_UP(e) -> publish window e in the segment ->
 * FENCE_UP(e) to the parent (or, at the root, FENCE_DOWN(e) to all) ->
 * on FENCE_DOWN(e): FENCE_DONE(e) to every local rank. The first fence
 * also gathers and spreads the table of daemon fabric addresses/keys.
 * A local rank gone (finalized or exited) fails epoch e at once:
 * FENCE_UP(e, FW_MODEX_FENCE_GONE) goes up without waiting, the root sends
 * it down, and from then on every daemon answers each FENCE at once with
 * that status (the job's fences can never complete again).
 * In allgather mode every window travels up and down with the fence and
 * ranks fetch other hosts' windows from their daemon (WINDOW_REQ).
 */
#ifndef FW_MODEX_SERVER_H
#define FW_MODEX_SERVER_H

#include "modex/modex.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fw_modex_server fw_modex_server_t;

struct fw_modex_server_ops {
    /* a reply to a local rank */
    fw_status_t (*to_rank)(void *arg, uint32_t rank, uint8_t type,
                           const void *p, size_t len);
    /* FENCE_UP toward the root (not called at the root) */
    fw_status_t (*to_parent)(void *arg, uint8_t type, const void *p,
                             size_t len);
    /* FENCE_DOWN to every other daemon (called at the root only) */
    fw_status_t (*to_all)(void *arg, uint8_t type, const void *p, size_t len);
};

typedef struct fw_modex_server_params {
    uint32_t nlocal;
    const uint32_t *local_ranks;   /* ascending, copied */
    uint32_t nchildren;            /* child daemons that send FENCE_UP */
    int is_root;
    fw_modex_seg_t *seg;           /* borrowed; NULL for fwrun */
    uint32_t self_node;
    const fw_modex_peer_t *self_peer; /* NULL: no fabric on this daemon */
    fw_modex_mode_t mode;          /* same on every daemon of the job */
} fw_modex_server_params_t;

fw_status_t fw_modex_server_create(const fw_modex_server_params_t *params,
                                   const struct fw_modex_server_ops *ops,
                                   void *arg, fw_modex_server_t **srv_p);
void fw_modex_server_destroy(fw_modex_server_t *srv);

/* A message from local rank `rank`. FW_ERR_PROTO for a bad message. */
fw_status_t fw_modex_server_rank_msg(fw_modex_server_t *srv, uint32_t rank,
                                     uint8_t type, const void *p,
                                     size_t len);

/* FENCE_UP from a child daemon or FENCE_DOWN from the root. */
fw_status_t fw_modex_server_tree_msg(fw_modex_server_t *srv, uint8_t type,
                                     const void *p, size_t len);

/*
 * Add this daemon's own fabric entry later than create (the daemon opens
 * its fabric at the first fence). FW_ERR_PROTO once epoch 1 has gone up.
 */
fw_status_t fw_modex_server_set_peer(fw_modex_server_t *srv, uint32_t node,
                                     const fw_modex_peer_t *peer);

/*
 * Local rank finalized or exited: it will never enter a fence again, so
 * the open epoch fails at once for the whole job (FW_ERR_UNREACHABLE at
 * every rank in it), as does every later fence. FINALIZE from the rank
 * calls it too; calling it again does nothing. FW_ERR_PROTO for a rank
 * that is not local.
 */
fw_status_t fw_modex_server_rank_gone(fw_modex_server_t *srv, uint32_t rank);

/* Did local rank call fw_finalize? */
int fw_modex_server_finalized(const fw_modex_server_t *srv, uint32_t rank);

/* Last completed epoch. */
uint64_t fw_modex_server_epoch(const fw_modex_server_t *srv);

#ifdef __cplusplus
}
#endif

#endif /* FW_MODEX_SERVER_H */
