/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A node of the daemon tree (fwrun is node 0, fwd daemons 1..n-1): its
 * parent and child connections and message routing. Frames for this
 * node, and broadcasts, are handed to the owner's deliver callback;
 * everything else goes one hop toward its destination.
 */
#ifndef FW_LAUNCH_TREE_H
#define FW_LAUNCH_TREE_H

#include "oob/oob.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fw_launch_tree {
    uint32_t self;
    uint32_t fanout;
    uint32_t n;               /* nodes in the tree, fwrun included */
    fw_oob_conn_t *parent;    /* NULL at the root */
    uint32_t first_child;
    uint32_t nchildren;
    fw_oob_conn_t **children; /* nchildren slots, NULL until connected */
} fw_launch_tree_t;

/* Set up routing state for node self of n; children slots allocated. */
fw_status_t fw_launch_tree_init(fw_launch_tree_t *t, uint32_t self,
                                uint32_t fanout, uint32_t n);

/* Close every connection and free the slots. */
void fw_launch_tree_cleanup(fw_launch_tree_t *t);

/* Connection slot for child id, or NULL if id is not a child of self. */
fw_oob_conn_t **fw_launch_tree_child_slot(fw_launch_tree_t *t, uint32_t id);

/*
 * Send a frame that originates here (src = self) toward dst, or to every
 * node below for FW_OOB_ID_BCAST. FW_ERR_UNREACHABLE if the next hop has
 * no connection.
 */
fw_status_t fw_launch_tree_send(fw_launch_tree_t *t, uint8_t type,
                                uint32_t dst, const void *payload,
                                size_t len);

/*
 * Route a received frame: forward it if it is for someone else; forward
 * a broadcast to the children. Returns 1 if this node must also handle
 * it, 0 otherwise.
 */
int fw_launch_tree_route(fw_launch_tree_t *t, const fw_oob_hdr_t *hdr,
                         const void *payload);

/* Number of child connections still open. */
uint32_t fw_launch_tree_children_open(const fw_launch_tree_t *t);

#ifdef __cplusplus
}
#endif

#endif /* FW_LAUNCH_TREE_H */
