/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hwloc for the NIC choice, loaded with dlopen at first use (see
 * fab_hwloc.c): include this instead of <hwloc.h>. The object-like macros
 * rename the hwloc entry points fabric/ uses, in hwloc's own prototypes
 * and inline helpers too, to fabwire wrappers that call through the
 * loaded table, so libfabwire does not link libhwloc (nor libudev).
 */
#ifndef FW_FAB_HWLOC_H
#define FW_FAB_HWLOC_H

#define hwloc_bitmap_alloc fw_fab_hwloc_bitmap_alloc
#define hwloc_bitmap_and fw_fab_hwloc_bitmap_and
#define hwloc_bitmap_free fw_fab_hwloc_bitmap_free
#define hwloc_bitmap_weight fw_fab_hwloc_bitmap_weight
#define hwloc_get_cpubind fw_fab_hwloc_get_cpubind
#define hwloc_get_obj_by_depth fw_fab_hwloc_get_obj_by_depth
#define hwloc_get_type_depth fw_fab_hwloc_get_type_depth
#define hwloc_topology_destroy fw_fab_hwloc_topology_destroy
#define hwloc_topology_init fw_fab_hwloc_topology_init
#define hwloc_topology_load fw_fab_hwloc_topology_load
#define hwloc_topology_set_components fw_fab_hwloc_topology_set_components
#define hwloc_topology_set_io_types_filter                                    \
    fw_fab_hwloc_topology_set_io_types_filter

#include <hwloc.h>

/* 0 when libhwloc.so.15 is loaded (once); -1 if it cannot be. */
int fw_fab_hwloc_load(void);

#endif /* FW_FAB_HWLOC_H */
