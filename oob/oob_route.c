/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * k-ary tree routing for launcher-to-daemon traffic (see oob_route.h):
 * launch and barrier messages take O(log_k hosts) hops.
 */
#include "oob/oob_route.h"

uint32_t
fw_oob_route_parent(uint32_t id, uint32_t fanout)
{
    return id == 0 ? 0 : (id - 1) / fanout;
}

uint32_t
fw_oob_route_children(uint32_t id, uint32_t fanout, uint32_t n,
                      uint32_t *first_p)
{
    uint64_t first = (uint64_t)id * fanout + 1;
    uint64_t last = first + fanout; /* exclusive */

    *first_p = (uint32_t)first;
    if (first >= n)
        return 0;
    if (last > n)
        last = n;
    return (uint32_t)(last - first);
}

uint32_t
fw_oob_route_next_hop(uint32_t self, uint32_t dst, uint32_t fanout)
{
    uint32_t cur = dst;

    if (dst == self)
        return self;
    /* walk up from dst: if we meet self, the step before is the child */
    while (cur != 0) {
        uint32_t up = fw_oob_route_parent(cur, fanout);

        if (up == self)
            return cur;
        cur = up;
    }
    return fw_oob_route_parent(self, fanout);
}

uint32_t
fw_oob_route_depth(uint32_t id, uint32_t fanout)
{
    uint32_t d = 0;

    while (id != 0) {
        id = fw_oob_route_parent(id, fanout);
        d++;
    }
    return d;
}
