/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hwloc loaded at first use: the NIC choice is the only user in the
 * client library, and only when a rank opens the fabric. Linking it
 * would make every rank load libhwloc and libudev at exec (~0.6 ms each,
 * 20 ms for 64 ranks on two cores) for nothing.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

#include <hwloc.h> /* the real names, for types only */

typedef struct fw_fab_hwloc_tab {
    void *h;
    __typeof__(&hwloc_bitmap_alloc) bitmap_alloc;
    __typeof__(&hwloc_bitmap_and) bitmap_and;
    __typeof__(&hwloc_bitmap_free) bitmap_free;
    __typeof__(&hwloc_bitmap_weight) bitmap_weight;
    __typeof__(&hwloc_get_cpubind) get_cpubind;
    __typeof__(&hwloc_get_obj_by_depth) get_obj_by_depth;
    __typeof__(&hwloc_get_type_depth) get_type_depth;
    __typeof__(&hwloc_topology_destroy) topology_destroy;
    __typeof__(&hwloc_topology_init) topology_init;
    __typeof__(&hwloc_topology_load) topology_load;
    __typeof__(&hwloc_topology_set_components) topology_set_components;
    __typeof__(&hwloc_topology_set_io_types_filter) set_io_types_filter;
} fw_fab_hwloc_tab_t;

static fw_fab_hwloc_tab_t fw_fab_hwloc_g;
static pthread_mutex_t fw_fab_hwloc_lock = PTHREAD_MUTEX_INITIALIZER;

int fw_fab_hwloc_load(void);

#define FW_FAB_HWLOC_SYM(field, name)                                         \
    (t.field = (__typeof__(t.field))dlsym(h, name)) == NULL

int
fw_fab_hwloc_load(void)
{
    fw_fab_hwloc_tab_t t = {0};
    int rc = 0;
    void *h;

    pthread_mutex_lock(&fw_fab_hwloc_lock);
    if (fw_fab_hwloc_g.h != NULL)
        goto out_unlock;
    h = dlopen("libhwloc.so.15", RTLD_NOW | RTLD_LOCAL);
    if (h == NULL ||
        FW_FAB_HWLOC_SYM(bitmap_alloc, "hwloc_bitmap_alloc") ||
        FW_FAB_HWLOC_SYM(bitmap_and, "hwloc_bitmap_and") ||
        FW_FAB_HWLOC_SYM(bitmap_free, "hwloc_bitmap_free") ||
        FW_FAB_HWLOC_SYM(bitmap_weight, "hwloc_bitmap_weight") ||
        FW_FAB_HWLOC_SYM(get_cpubind, "hwloc_get_cpubind") ||
        FW_FAB_HWLOC_SYM(get_obj_by_depth, "hwloc_get_obj_by_depth") ||
        FW_FAB_HWLOC_SYM(get_type_depth, "hwloc_get_type_depth") ||
        FW_FAB_HWLOC_SYM(topology_destroy, "hwloc_topology_destroy") ||
        FW_FAB_HWLOC_SYM(topology_init, "hwloc_topology_init") ||
        FW_FAB_HWLOC_SYM(topology_load, "hwloc_topology_load") ||
        FW_FAB_HWLOC_SYM(topology_set_components,
                         "hwloc_topology_set_components") ||
        FW_FAB_HWLOC_SYM(set_io_types_filter,
                         "hwloc_topology_set_io_types_filter")) {
        if (h != NULL)
            dlclose(h);
        rc = -1;
        goto out_unlock;
    }
    t.h = h;
    fw_fab_hwloc_g = t;
out_unlock:
    pthread_mutex_unlock(&fw_fab_hwloc_lock);
    return rc;
}

/* The wrappers named by fab_hwloc.h; only reached after a load. */
hwloc_bitmap_t fw_fab_hwloc_bitmap_alloc(void);
int fw_fab_hwloc_bitmap_and(hwloc_bitmap_t r, hwloc_const_bitmap_t a,
                            hwloc_const_bitmap_t b);
void fw_fab_hwloc_bitmap_free(hwloc_bitmap_t b);
int fw_fab_hwloc_bitmap_weight(hwloc_const_bitmap_t b);
int fw_fab_hwloc_get_cpubind(hwloc_topology_t t, hwloc_cpuset_t s, int f);
hwloc_obj_t fw_fab_hwloc_get_obj_by_depth(hwloc_topology_t t, int d,
                                          unsigned i);
int fw_fab_hwloc_get_type_depth(hwloc_topology_t t, hwloc_obj_type_t y);
void fw_fab_hwloc_topology_destroy(hwloc_topology_t t);
int fw_fab_hwloc_topology_init(hwloc_topology_t *t);
int fw_fab_hwloc_topology_load(hwloc_topology_t t);
int fw_fab_hwloc_topology_set_components(hwloc_topology_t t,
                                         unsigned long f, const char *n);
int fw_fab_hwloc_topology_set_io_types_filter(hwloc_topology_t t,
                                              enum hwloc_type_filter_e f);

hwloc_bitmap_t
fw_fab_hwloc_bitmap_alloc(void)
{
    return fw_fab_hwloc_g.bitmap_alloc();
}

int
fw_fab_hwloc_bitmap_and(hwloc_bitmap_t r, hwloc_const_bitmap_t a,
                        hwloc_const_bitmap_t b)
{
    return fw_fab_hwloc_g.bitmap_and(r, a, b);
}

void
fw_fab_hwloc_bitmap_free(hwloc_bitmap_t b)
{
    fw_fab_hwloc_g.bitmap_free(b);
}

int
fw_fab_hwloc_bitmap_weight(hwloc_const_bitmap_t b)
{
    return fw_fab_hwloc_g.bitmap_weight(b);
}

int
fw_fab_hwloc_get_cpubind(hwloc_topology_t t, hwloc_cpuset_t s, int f)
{
    return fw_fab_hwloc_g.get_cpubind(t, s, f);
}

hwloc_obj_t
fw_fab_hwloc_get_obj_by_depth(hwloc_topology_t t, int d, unsigned i)
{
    return fw_fab_hwloc_g.get_obj_by_depth(t, d, i);
}

int
fw_fab_hwloc_get_type_depth(hwloc_topology_t t, hwloc_obj_type_t y)
{
    return fw_fab_hwloc_g.get_type_depth(t, y);
}

void
fw_fab_hwloc_topology_destroy(hwloc_topology_t t)
{
    fw_fab_hwloc_g.topology_destroy(t);
}

int
fw_fab_hwloc_topology_init(hwloc_topology_t *t)
{
    /* the entry point of every use: load on demand */
    if (fw_fab_hwloc_load() != 0)
        return -1;
    return fw_fab_hwloc_g.topology_init(t);
}

int
fw_fab_hwloc_topology_load(hwloc_topology_t t)
{
    return fw_fab_hwloc_g.topology_load(t);
}

int
fw_fab_hwloc_topology_set_components(hwloc_topology_t t, unsigned long f,
                                     const char *n)
{
    return fw_fab_hwloc_g.topology_set_components(t, f, n);
}

int
fw_fab_hwloc_topology_set_io_types_filter(hwloc_topology_t t,
                                          enum hwloc_type_filter_e f)
{
    return fw_fab_hwloc_g.set_io_types_filter(t, f);
}
