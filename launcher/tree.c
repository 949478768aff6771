/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Daemon tree routing shared by fwrun and fwd (see tree.h).
 */
#include "launcher/tree.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

fw_status_t
fw_launch_tree_init(fw_launch_tree_t *t, uint32_t self, uint32_t fanout,
                    uint32_t n)
{
    memset(t, 0, sizeof(*t));
    t->self = self;
    t->fanout = fanout;
    t->n = n;
    t->nchildren = fw_oob_route_children(self, fanout, n, &t->first_child);
    if (t->nchildren > 0) {
        t->children = calloc(t->nchildren, sizeof(*t->children));
        if (t->children == NULL)
            return FW_ERR_NO_MEM;
    }
    return FW_SUCCESS;
}

void
fw_launch_tree_cleanup(fw_launch_tree_t *t)
{
    uint32_t i;

    for (i = 0; i < t->nchildren; i++)
        fw_oob_conn_close(t->children[i]);
    free(t->children);
    fw_oob_conn_close(t->parent);
    memset(t, 0, sizeof(*t));
}

fw_oob_conn_t **
fw_launch_tree_child_slot(fw_launch_tree_t *t, uint32_t id)
{
    if (id < t->first_child || id >= t->first_child + t->nchildren)
        return NULL;
    return &t->children[id - t->first_child];
}

static fw_oob_conn_t *
fw_launch_tree_hop(fw_launch_tree_t *t, uint32_t dst)
{
    uint32_t hop = fw_oob_route_next_hop(t->self, dst, t->fanout);
    fw_oob_conn_t **slot;

    if (hop == fw_oob_route_parent(t->self, t->fanout) && t->self != 0)
        return t->parent;
    slot = fw_launch_tree_child_slot(t, hop);
    return slot != NULL ? *slot : NULL;
}

static fw_status_t
fw_launch_tree_forward(fw_launch_tree_t *t, uint8_t type, uint32_t src,
                       uint32_t dst, const void *payload, size_t len)
{
    fw_status_t rc = FW_SUCCESS, one;
    fw_oob_conn_t *c;
    uint32_t i;

    if (dst == FW_OOB_ID_BCAST) {
        for (i = 0; i < t->nchildren; i++) {
            if (t->children[i] == NULL)
                continue;
            one = fw_oob_send(t->children[i], type, src, dst, payload, len);
            if (one != FW_SUCCESS)
                rc = one;
        }
        return rc;
    }
    c = fw_launch_tree_hop(t, dst);
    if (c == NULL) {
        FW_LOG_DEBUG("launch", "node %u: no route to %u (type %u)", t->self,
                     dst, type);
        return FW_ERR_UNREACHABLE;
    }
    return fw_oob_send(c, type, src, dst, payload, len);
}

fw_status_t
fw_launch_tree_send(fw_launch_tree_t *t, uint8_t type, uint32_t dst,
                    const void *payload, size_t len)
{
    return fw_launch_tree_forward(t, type, t->self, dst, payload, len);
}

int
fw_launch_tree_route(fw_launch_tree_t *t, const fw_oob_hdr_t *hdr,
                     const void *payload)
{
    if (hdr->dst == t->self)
        return 1;
    if (fw_launch_tree_forward(t, hdr->type, hdr->src, hdr->dst, payload,
                               hdr->len) != FW_SUCCESS)
        FW_LOG_DEBUG("launch", "node %u: dropped frame %u from %u to %u",
                     t->self, hdr->type, hdr->src, hdr->dst);
    return hdr->dst == FW_OOB_ID_BCAST;
}

uint32_t
fw_launch_tree_children_open(const fw_launch_tree_t *t)
{
    uint32_t i, k = 0;

    for (i = 0; i < t->nchildren; i++)
        if (t->children[i] != NULL)
            k++;
    return k;
}
