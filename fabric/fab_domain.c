/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Domain choice and opening: picks one domain/NIC among a provider's
 * fi_info entries (FW_NIC by domain or interface name, else the NIC
 * nearest this process's CPU binding using hwloc PCI locality), and
 * opens the fabric and domain objects.
 */
#include "fabric/fab_internal.h"
#include "common/log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fabric/fab_hwloc.h"
#include <rdma/fi_errno.h>

/****************/
/* Local Types */
/****************/

typedef struct fw_fab_pci {
    unsigned domain, bus, dev, func;
} fw_fab_pci_t;

/********************/
/* Local Prototypes */
/********************/

static int fw_fab_domain_pci(const struct fi_info *fi, fw_fab_pci_t *pci_p);
static hwloc_topology_t fw_fab_domain_topo_open(void);

/*---------------------------------------------------------------------------*/
static void
fw_fab_domain_nic_name(const struct fi_info *fi, char *out)
{
    if (fi->nic != NULL && fi->nic->device_attr != NULL &&
        fi->nic->device_attr->name != NULL)
        snprintf(out, FW_FAB_NAME_MAX, "%s", fi->nic->device_attr->name);
    else
        snprintf(out, FW_FAB_NAME_MAX, "%s", fi->domain_attr->name);
}

/*---------------------------------------------------------------------------*/
/* PCI address of the entry's NIC, if libfabric reports one. */
static int
fw_fab_domain_pci(const struct fi_info *fi, fw_fab_pci_t *pci_p)
{
    const struct fi_bus_attr *bus;

    if (fi->nic == NULL || fi->nic->bus_attr == NULL)
        return 0;
    bus = fi->nic->bus_attr;
    if (bus->bus_type != FI_BUS_PCI)
        return 0;
    pci_p->domain = bus->attr.pci.domain_id;
    pci_p->bus = bus->attr.pci.bus_id;
    pci_p->dev = bus->attr.pci.device_id;
    pci_p->func = bus->attr.pci.function_id;
    return 1;
}

/*---------------------------------------------------------------------------*/
static void
fw_fab_domain_topo_blacklist(hwloc_topology_t topo)
{
    static const char *const skip[] = {"pci", "opencl", "gl"};
    size_t i;

    for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
        if (hwloc_topology_set_components(
                topo, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, skip[i]) != 0)
            FW_LOG_DEBUG("fab", "topology: cannot skip hwloc component "
                         "%s: %m", skip[i]);
    }
}

/*---------------------------------------------------------------------------*/
static hwloc_topology_t
fw_fab_domain_topo_open(void)
{
    hwloc_topology_t topo;

    if (hwloc_topology_init(&topo) != 0) {
        FW_LOG_WARN("fab", "domain: hwloc_topology_init failed: %m");
        return NULL;
    }
    /* Linux sysfs gives the PCI tree; the libpciaccess-based "pci"
     * component leaks on every load, and GPU components are not needed */
    fw_fab_domain_topo_blacklist(topo);
    if (hwloc_topology_set_io_types_filter(topo,
                                           HWLOC_TYPE_FILTER_KEEP_IMPORTANT) !=
            0 ||
        hwloc_topology_load(topo) != 0) {
        FW_LOG_WARN("fab", "domain: hwloc topology load failed: %m");
        hwloc_topology_destroy(topo);
        return NULL;
    }
    return topo;
}

/*---------------------------------------------------------------------------*/
/* PCI address of the hwloc OS device (e.g. "ib0", "mlx5_0") named name. */
static int
fw_fab_domain_osdev_pci(hwloc_topology_t topo, const char *name,
                        fw_fab_pci_t *pci_p)
{
    hwloc_obj_t obj = NULL, p;

    while ((obj = hwloc_get_next_osdev(topo, obj)) != NULL) {
        if (obj->name == NULL || strcmp(obj->name, name) != 0)
            continue;
        for (p = obj->parent; p != NULL; p = p->parent) {
            if (p->type != HWLOC_OBJ_PCI_DEVICE)
                continue;
            pci_p->domain = p->attr->pcidev.domain;
            pci_p->bus = p->attr->pcidev.bus;
            pci_p->dev = p->attr->pcidev.dev;
            pci_p->func = p->attr->pcidev.func;
            return 1;
        }
    }
    return 0;
}

/*---------------------------------------------------------------------------*/
/* Entry whose domain or NIC device is name, or whose PCI device carries
 * the OS interface name (ib0 -> mlx5_0). */
static struct fi_info *
fw_fab_domain_by_name(struct fi_info *list, const char *name)
{
    struct fi_info *fi;
    char nic[FW_FAB_NAME_MAX];
    fw_fab_pci_t want, have;
    hwloc_topology_t topo;
    int found;

    for (fi = list; fi != NULL; fi = fi->next) {
        fw_fab_domain_nic_name(fi, nic);
        if (strcasecmp(fi->domain_attr->name, name) == 0 ||
            strcasecmp(nic, name) == 0)
            return fi;
    }
    topo = fw_fab_domain_topo_open();
    if (topo == NULL)
        return NULL;
    found = fw_fab_domain_osdev_pci(topo, name, &want);
    hwloc_topology_destroy(topo);
    for (fi = list; found && fi != NULL; fi = fi->next) {
        if (fw_fab_domain_pci(fi, &have) && have.domain == want.domain &&
            have.bus == want.bus && have.dev == want.dev &&
            have.func == want.func)
            return fi;
    }
    return NULL;
}

/*---------------------------------------------------------------------------*/
/* Number of CPUs of bind that are local to the entry's NIC; -1 unknown. */
static int
fw_fab_domain_locality(hwloc_topology_t topo, hwloc_const_cpuset_t bind,
                       const struct fi_info *fi)
{
    hwloc_bitmap_t both;
    fw_fab_pci_t pci;
    hwloc_obj_t obj;
    int weight;

    if (!fw_fab_domain_pci(fi, &pci))
        return -1;
    obj = hwloc_get_pcidev_by_busid(topo, pci.domain, pci.bus, pci.dev,
                                    pci.func);
    if (obj == NULL)
        return -1;
    obj = hwloc_get_non_io_ancestor_obj(topo, obj);
    if (obj == NULL || obj->cpuset == NULL)
        return -1;
    both = hwloc_bitmap_alloc();
    if (both == NULL)
        return -1;
    hwloc_bitmap_and(both, obj->cpuset, bind);
    weight = hwloc_bitmap_weight(both);
    hwloc_bitmap_free(both);
    return weight;
}

/*---------------------------------------------------------------------------*/
/* The entry whose NIC shares most CPUs with our binding; the first on a
 * tie or when nothing is known (software providers: the src node already
 * chose the domain). */
static struct fi_info *
fw_fab_domain_nearest(struct fi_info *list)
{
    struct fi_info *fi, *best = list;
    hwloc_topology_t topo;
    hwloc_bitmap_t bind;
    int score, best_score = -1;
    fw_fab_pci_t pci;

    for (fi = list; fi != NULL; fi = fi->next) {
        if (fw_fab_domain_pci(fi, &pci))
            break;
    }
    if (fi == NULL || list->next == NULL)
        return list;
    topo = fw_fab_domain_topo_open();
    if (topo == NULL)
        return list;
    bind = hwloc_bitmap_alloc();
    if (bind == NULL || hwloc_get_cpubind(topo, bind, 0) != 0) {
        FW_LOG_DEBUG("fab", "domain: cpu binding unknown, taking the first");
        goto out;
    }
    for (fi = list; fi != NULL; fi = fi->next) {
        score = fw_fab_domain_locality(topo, bind, fi);
        FW_LOG_DEBUG("fab", "domain: %s shares %d cpus with our binding",
                     fi->domain_attr->name, score);
        if (score > best_score) {
            best_score = score;
            best = fi;
        }
    }
out:
    hwloc_bitmap_free(bind);
    hwloc_topology_destroy(topo);
    return best;
}

/*---------------------------------------------------------------------------*/
static void
fw_fab_domain_names(const struct fi_info *list, char *out, size_t size)
{
    const struct fi_info *fi, *prev;
    size_t used = 0;
    int w, dup;

    out[0] = '\0';
    for (fi = list; fi != NULL; fi = fi->next) {
        dup = 0;
        for (prev = list; prev != fi; prev = prev->next)
            dup |= strcmp(prev->domain_attr->name, fi->domain_attr->name) == 0;
        if (dup)
            continue;
        w = snprintf(out + used, size - used, "%s%s", used > 0 ? ", " : "",
                     fi->domain_attr->name);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
    }
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_domain_pick(struct fi_info *list, const char *nic,
                   struct fi_info **pick_p, char *nic_p, fw_error_t *err)
{
    struct fi_info *pick;
    char names[160];

    if (nic != NULL) {
        pick = fw_fab_domain_by_name(list, nic);
        if (pick == NULL) {
            fw_fab_domain_names(list, names, sizeof(names));
            fw_errprintf(err, "nic '%s' not found (domains usable here: %s;"
                         " IP providers use the interface of their source "
                         "address, FW_FAB_IFACE_ADDR outside a job)", nic,
                         names);
            return FW_ERR_FABRIC;
        }
    } else {
        pick = fw_fab_domain_nearest(list);
    }
    *pick_p = pick;
    fw_fab_domain_nic_name(pick, nic_p);
    return FW_SUCCESS;
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_domain_open(fw_fab_t *fab, fw_error_t *err)
{
    fw_status_t status;
    int ret;

    ret = fi_fabric(fab->info->fabric_attr, &fab->fabric, NULL);
    if (ret != 0) {
        FW_LOG_ERR("fab", "domain: fi_fabric %s failed: %s",
                   fab->info->fabric_attr->name, fi_strerror(-ret));
        fw_errprintf(err, "fi_fabric %s: %s", fab->info->fabric_attr->name,
                     fi_strerror(-ret));
        status = fw_fab_status_from_fi(ret);
        goto err;
    }
    ret = fi_domain(fab->fabric, fab->info, &fab->domain, NULL);
    if (ret != 0) {
        FW_LOG_ERR("fab", "domain %s: fi_domain failed: %s",
                   fab->info->domain_attr->name, fi_strerror(-ret));
        fw_errprintf(err, "fi_domain %s: %s", fab->info->domain_attr->name,
                     fi_strerror(-ret));
        status = fw_fab_status_from_fi(ret);
        goto err_close_fabric;
    }
    return FW_SUCCESS;

err_close_fabric:
    ret = fi_close(&fab->fabric->fid);
    if (ret != 0)
        FW_LOG_WARN("fab", "fabric: close failed: %s", fi_strerror(-ret));
    fab->fabric = NULL;
err:
    return status;
}

/*---------------------------------------------------------------------------*/
void
fw_fab_domain_close(fw_fab_t *fab)
{
    int ret;

    if (fab->domain != NULL) {
        ret = fi_close(&fab->domain->fid);
        if (ret != 0)
            FW_LOG_WARN("fab", "domain %s: close failed: %s",
                        fab->info->domain_attr->name, fi_strerror(-ret));
        fab->domain = NULL;
    }
    if (fab->fabric != NULL) {
        ret = fi_close(&fab->fabric->fid);
        if (ret != 0)
            FW_LOG_WARN("fab", "fabric: close failed: %s", fi_strerror(-ret));
        fab->fabric = NULL;
    }
}
