/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Daemon tree arithmetic: ids 0..n-1, 0 is fwrun, a k-ary tree in
 * breadth-first order. Pure functions.
 */
#ifndef FW_OOB_ROUTE_H
#define FW_OOB_ROUTE_H

#include <fabwire/types.h>
#include <fabwire/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Parent of id (id > 0). */
uint32_t fw_oob_route_parent(uint32_t id, uint32_t fanout);

/* Number of children of id in a tree of n nodes; first child in *first_p. */
uint32_t fw_oob_route_children(uint32_t id, uint32_t fanout, uint32_t n,
                               uint32_t *first_p);

/*
 * Next hop from `self` toward `dst`: a child of self whose subtree holds
 * dst, or self's parent when dst is outside self's subtree. Returns self
 * when dst == self.
 */
uint32_t fw_oob_route_next_hop(uint32_t self, uint32_t dst, uint32_t fanout);

/* Depth of id in the tree (root 0): the hop count from fwrun. */
uint32_t fw_oob_route_depth(uint32_t id, uint32_t fanout);

#ifdef __cplusplus
}
#endif

#endif /* FW_OOB_ROUTE_H */
