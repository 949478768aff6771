/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NIC choice on synthetic fi_info lists (no endpoint is opened): the
 * entry whose PCI NIC hwloc places near our CPUs wins over one hwloc
 * does not know, an OS interface name (e.g. eth0) finds the entry of its
 * PCI device, a domain name matches directly, and an unknown name is an
 * error listing the domains. Uses the first PCI network device hwloc
 * reports; skipped if there is none.
 */
#include "fabric/fab_internal.h"
#include "fab_test.h"

#include <hwloc.h>
#include <stdlib.h>

typedef struct nic_fake {
    struct fid_nic nic;
    struct fi_device_attr dev;
    struct fi_bus_attr bus;
} nic_fake_t;

/*---------------------------------------------------------------------------*/
/* First hwloc network OS device with a PCI parent: name and bus id. */
static int
nic_find_pci(char *name, size_t size, struct fi_pci_attr *pci)
{
    hwloc_topology_t topo;
    hwloc_obj_t obj = NULL, p;
    int found = 0;

    if (hwloc_topology_init(&topo) != 0)
        return 0;
    if (hwloc_topology_set_io_types_filter(
            topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT) != 0 ||
        hwloc_topology_load(topo) != 0) {
        hwloc_topology_destroy(topo);
        return 0;
    }
    while (!found && (obj = hwloc_get_next_osdev(topo, obj)) != NULL) {
        if (obj->attr->osdev.type != HWLOC_OBJ_OSDEV_NETWORK)
            continue;
        for (p = obj->parent; p != NULL; p = p->parent) {
            if (p->type != HWLOC_OBJ_PCI_DEVICE)
                continue;
            snprintf(name, size, "%s", obj->name);
            pci->domain_id = (uint16_t)p->attr->pcidev.domain;
            pci->bus_id = p->attr->pcidev.bus;
            pci->device_id = p->attr->pcidev.dev;
            pci->function_id = p->attr->pcidev.func;
            found = 1;
            break;
        }
    }
    hwloc_topology_destroy(topo);
    return found;
}

/*---------------------------------------------------------------------------*/
static struct fi_info *
nic_entry(const char *domain, nic_fake_t *fake, const struct fi_pci_attr *pci)
{
    struct fi_info *fi = fi_allocinfo();

    if (fi == NULL)
        return NULL;
    fi->domain_attr->name = strdup(domain);
    memset(fake, 0, sizeof(*fake));
    fake->dev.name = (char *)domain;
    fake->bus.bus_type = FI_BUS_PCI;
    fake->bus.attr.pci = *pci;
    fake->nic.device_attr = &fake->dev;
    fake->nic.bus_attr = &fake->bus;
    fi->nic = &fake->nic;
    return fi;
}

/*---------------------------------------------------------------------------*/
static void
nic_free(struct fi_info *list)
{
    struct fi_info *fi;

    for (fi = list; fi != NULL; fi = fi->next)
        fi->nic = NULL; /* ours, not libfabric's */
    fi_freeinfo(list);
}

/*---------------------------------------------------------------------------*/
int
main(void)
{
    struct fi_pci_attr near, far = {0x7777, 0x77, 0x1f, 7};
    nic_fake_t fake_far, fake_near;
    struct fi_info *list, *pick = NULL;
    char ifname[64], nic[FW_FAB_NAME_MAX];
    fw_error_t err = {{0}};

    fab_test_alarm();
    if (fw_fab_dl_load(&err) != FW_SUCCESS)
        skip_all("libfabric.so.1 cannot be loaded");
    if (!nic_find_pci(ifname, sizeof(ifname), &near))
        skip_all("no PCI network device known to hwloc");
    diag("using %s at pci %04x:%02x:%02x.%x", ifname, near.domain_id,
         near.bus_id, near.device_id, near.function_id);
    list = nic_entry("fake_far0", &fake_far, &far);
    if (list == NULL)
        return 1;
    list->next = nic_entry("fake_near0", &fake_near, &near);
    if (list->next == NULL)
        return 1;

    is(fw_fab_domain_pick(list, NULL, &pick, nic, &err), FW_SUCCESS,
       "pick without a name");
    ok(pick == list->next, "the NIC hwloc places near our CPUs wins");
    is_str(nic, "fake_near0", "its NIC name is reported");
    is(fw_fab_domain_pick(list, ifname, &pick, nic, &err), FW_SUCCESS,
       "pick by OS interface name %s", ifname);
    ok(pick == list->next, "the interface name maps to its PCI NIC");
    is(fw_fab_domain_pick(list, "fake_far0", &pick, nic, &err), FW_SUCCESS,
       "pick by domain name");
    ok(pick == list, "the named domain is chosen even if farther");
    pick = NULL;
    is(fw_fab_domain_pick(list, "nosuch9", &pick, nic, &err), FW_ERR_FABRIC,
       "an unknown name fails");
    ok(pick == NULL, "pick_p untouched on failure");
    diag("error: %s", err.text);
    ok(strstr(err.text, "fake_far0, fake_near0") != NULL,
       "the error lists the domains");
    nic_free(list);
    return fw_test_done();
}
