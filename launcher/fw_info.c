/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fw-info: what fabwire sees on this host. Default output lists usable
 * libfabric providers, NICs with their NUMA locality (hwloc), RDMA
 * devices (libibverbs) and the provider/domain/NIC fw_fab_open() would
 * choose for this process; --env lists every FW_* tunable.
 */
#include "fabric/fab.h"
#include "common/log.h"
#include "common/param.h"

#include <fabwire.h>

#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hwloc.h>
#ifdef FW_HAVE_IBVERBS
#include <infiniband/verbs.h>
#endif

/****************/
/* Local Macros */
/****************/

#define FW_INFO_EXIT_USAGE 2

/********************/
/* Local Prototypes */
/********************/

static void fw_info_usage(FILE *out);
static int fw_info_providers(void);
static void fw_info_nics(void);
static void fw_info_rdma(void);
static int fw_info_selected(void);
static void fw_info_env(void);

/*******************/
/* Local Variables */
/*******************/

static const struct option fw_info_options_g[] = {
    {"env", no_argument, NULL, 'e'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/*---------------------------------------------------------------------------*/
static void
fw_info_usage(FILE *out)
{
    fprintf(out,
            "Usage: fw-info [OPTION]\n"
            "Show the fabrics fabwire can use on this host.\n"
            "\n"
            "  (no option)    usable providers, NICs with NUMA locality,\n"
            "                 RDMA devices, and the provider/domain/NIC this\n"
            "                 process would select (honours FW_PROVIDER,\n"
            "                 FI_PROVIDER, FW_NIC, FW_FAB_IFACE_ADDR; inside\n"
            "                 a job, ranks bind to the address their host\n"
            "                 uses toward fwrun instead of\n"
            "                 FW_FAB_IFACE_ADDR)\n"
            "  -e, --env      list every FW_* tunable with default and help\n"
            "  -h, --help     show this help\n"
            "  -V, --version  show the fabwire version\n");
}

/*---------------------------------------------------------------------------*/
static int
fw_info_providers(void)
{
    fw_fab_prov_info_t *list = NULL, *p;
    fw_error_t err = {{0}};
    fw_status_t st;

    printf("providers (usable here, in priority order):\n");
    st = fw_fab_prov_list(NULL, &list, &err);
    if (st != FW_SUCCESS) {
        printf("  cannot list providers: %s: %s\n", fw_strerror(st),
               err.text);
        return -1;
    }
    if (list == NULL)
        printf("  none\n");
    for (p = list; p != NULL; p = p->next) {
        printf("  %s  domain %s  fabric %s%s%s\n", p->name, p->domain,
               p->fabric, p->nic[0] != '\0' ? "  nic " : "", p->nic);
        printf("    caps      %s\n", p->caps);
        printf("    progress  data %s, control %s%s\n", p->data_progress,
               p->control_progress,
               p->target_progress ? " (RMA targets must progress)" : "");
        printf("    mr_mode   %s\n", p->mr_mode);
        printf("    address   %s\n", p->addr_format);
        printf("    selection %s\n",
               p->auto_select ? "automatic" : "only when asked (single host)");
    }
    fw_fab_prov_list_free(list);
    return 0;
}

/*---------------------------------------------------------------------------*/
/* "numa 0, cpus 0-7" of the non-I/O ancestor of an I/O object. */
static void
fw_info_locality(hwloc_topology_t topo, hwloc_obj_t obj)
{
    hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(topo, obj);
    char *nodes = NULL, *cpus = NULL;

    if (anc == NULL) {
        printf("locality unknown");
        return;
    }
    if (anc->nodeset != NULL)
        hwloc_bitmap_list_asprintf(&nodes, anc->nodeset);
    if (anc->cpuset != NULL)
        hwloc_bitmap_list_asprintf(&cpus, anc->cpuset);
    printf("numa %s, cpus %s", nodes != NULL ? nodes : "?",
           cpus != NULL ? cpus : "?");
    free(nodes);
    free(cpus);
}

/*---------------------------------------------------------------------------*/
static void
fw_info_osdev(hwloc_topology_t topo, hwloc_obj_t obj)
{
    const char *kind =
        obj->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS ? "rdma" : "net";
    hwloc_obj_t p;

    printf("  %-10s %-4s ", obj->name, kind);
    for (p = obj->parent; p != NULL; p = p->parent) {
        if (p->type == HWLOC_OBJ_PCI_DEVICE)
            break;
    }
    if (p != NULL)
        printf("pci %04x:%02x:%02x.%x  ", p->attr->pcidev.domain,
               p->attr->pcidev.bus, p->attr->pcidev.dev, p->attr->pcidev.func);
    else
        printf("(no PCI parent)  ");
    fw_info_locality(topo, obj);
    printf("\n");
}

/*---------------------------------------------------------------------------*/
/* 1 if hwloc has an OS device of that name. */
static int
fw_info_hwloc_has(hwloc_topology_t topo, const char *name)
{
    hwloc_obj_t obj = NULL;

    while (topo != NULL && (obj = hwloc_get_next_osdev(topo, obj)) != NULL) {
        if (obj->name != NULL && strcmp(obj->name, name) == 0)
            return 1;
    }
    return 0;
}

/*---------------------------------------------------------------------------*/
/* Interfaces hwloc does not show (lo, virtual ones), with addresses. */
static void
fw_info_ifaces(hwloc_topology_t topo)
{
    struct ifaddrs *ifa, *i;
    char host[NI_MAXHOST];

    if (getifaddrs(&ifa) != 0) {
        printf("  (getifaddrs failed: %s)\n", strerror(errno));
        return;
    }
    for (i = ifa; i != NULL; i = i->ifa_next) {
        if (i->ifa_addr == NULL || (i->ifa_addr->sa_family != AF_INET &&
                                    i->ifa_addr->sa_family != AF_INET6))
            continue;
        if (getnameinfo(i->ifa_addr,
                        i->ifa_addr->sa_family == AF_INET
                            ? sizeof(struct sockaddr_in)
                            : sizeof(struct sockaddr_in6),
                        host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
            continue;
        printf("  %-10s addr %-28s %s%s\n", i->ifa_name, host,
               (i->ifa_flags & IFF_UP) != 0 ? "up" : "down",
               fw_info_hwloc_has(topo, i->ifa_name)
                   ? ""
                   : ", virtual (no PCI locality)");
    }
    freeifaddrs(ifa);
}

/*---------------------------------------------------------------------------*/
static void
fw_info_topo_blacklist(hwloc_topology_t topo)
{
    static const char *const skip[] = {"pci", "opencl", "gl"};
    size_t i;

    for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
        if (hwloc_topology_set_components(
                topo, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, skip[i]) != 0)
            FW_LOG_DEBUG("launch", "topology: cannot skip hwloc component "
                         "%s: %m", skip[i]);
    }
}

/*---------------------------------------------------------------------------*/
static hwloc_topology_t
fw_info_topo_open(void)
{
    hwloc_topology_t topo;

    if (hwloc_topology_init(&topo) != 0)
        return NULL;
    /* Linux sysfs gives the PCI tree; the libpciaccess-based "pci"
     * component leaks on every load, and GPU components are not needed */
    fw_info_topo_blacklist(topo);
    if (hwloc_topology_set_io_types_filter(topo,
                                           HWLOC_TYPE_FILTER_KEEP_IMPORTANT) !=
            0 ||
        hwloc_topology_load(topo) != 0) {
        hwloc_topology_destroy(topo);
        return NULL;
    }
    return topo;
}

/*---------------------------------------------------------------------------*/
static void
fw_info_nics(void)
{
    hwloc_topology_t topo = fw_info_topo_open();
    hwloc_bitmap_t bind;
    hwloc_obj_t obj = NULL;
    char *cpus = NULL;
    int n = 0;

    printf("\nNICs (hwloc network and RDMA devices):\n");
    if (topo == NULL)
        printf("  (hwloc topology unavailable: %s)\n", strerror(errno));
    while (topo != NULL && (obj = hwloc_get_next_osdev(topo, obj)) != NULL) {
        if (obj->attr->osdev.type != HWLOC_OBJ_OSDEV_NETWORK &&
            obj->attr->osdev.type != HWLOC_OBJ_OSDEV_OPENFABRICS)
            continue;
        fw_info_osdev(topo, obj);
        n++;
    }
    if (topo != NULL && n == 0)
        printf("  none with a PCI location\n");
    printf("interfaces:\n");
    fw_info_ifaces(topo);
    bind = hwloc_bitmap_alloc();
    if (topo != NULL && bind != NULL &&
        hwloc_get_cpubind(topo, bind, 0) == 0 &&
        hwloc_bitmap_list_asprintf(&cpus, bind) >= 0)
        printf("this process is bound to cpus %s\n", cpus);
    free(cpus);
    hwloc_bitmap_free(bind);
    if (topo != NULL)
        hwloc_topology_destroy(topo);
}

#ifdef FW_HAVE_IBVERBS
/*---------------------------------------------------------------------------*/
static const char *
fw_info_link_layer(uint8_t ll)
{
    switch (ll) {
    case IBV_LINK_LAYER_INFINIBAND:
        return "infiniband";
    case IBV_LINK_LAYER_ETHERNET:
        return "ethernet";
    default:
        return "unspecified";
    }
}

/*---------------------------------------------------------------------------*/
static void
fw_info_rdma_device(struct ibv_device *dev)
{
    struct ibv_context *ctx = ibv_open_device(dev);
    struct ibv_device_attr attr;
    struct ibv_port_attr port;
    uint8_t p;

    if (ctx == NULL) {
        printf("  %s: cannot open: %s\n", ibv_get_device_name(dev),
               strerror(errno));
        return;
    }
    if (ibv_query_device(ctx, &attr) != 0) {
        printf("  %s: query failed\n", ibv_get_device_name(dev));
        ibv_close_device(ctx);
        return;
    }
    for (p = 1; p <= attr.phys_port_cnt; p++) {
        if (ibv_query_port(ctx, p, &port) != 0) {
            printf("  %s port %u: query failed\n", ibv_get_device_name(dev),
                   (unsigned)p);
            continue;
        }
        printf("  %s port %u: %s, link layer %s\n", ibv_get_device_name(dev),
               (unsigned)p, ibv_port_state_str(port.state),
               fw_info_link_layer(port.link_layer));
    }
    ibv_close_device(ctx);
}
#endif

/*---------------------------------------------------------------------------*/
static void
fw_info_rdma(void)
{
    printf("\nRDMA devices (libibverbs):\n");
#ifdef FW_HAVE_IBVERBS
    struct ibv_device **list;
    int n = 0, i;

    list = ibv_get_device_list(&n);
    if (list == NULL || n == 0) {
        printf("  no RDMA devices\n");
        if (list != NULL)
            ibv_free_device_list(list);
        return;
    }
    for (i = 0; i < n; i++)
        fw_info_rdma_device(list[i]);
    ibv_free_device_list(list);
#else
    printf("  (fw-info built without libibverbs)\n");
#endif
}

/*---------------------------------------------------------------------------*/
static int
fw_info_selected(void)
{
    fw_error_t err = {{0}};
    fw_fab_choice_t choice;
    fw_status_t st;

    st = fw_fab_select(NULL, &choice, &err);
    if (st != FW_SUCCESS) {
        printf("\nselected: none (%s: %s)\n", fw_strerror(st), err.text);
        return -1;
    }
    printf("\nselected: provider %s, domain %s, nic %s\n", choice.provider,
           choice.domain, choice.nic);
    return 0;
}

/*---------------------------------------------------------------------------*/
static void
fw_info_env(void)
{
    const fw_param_table_t *t;
    const char *cur;
    size_t i;

    for (t = fw_param_tables(); t != NULL; t = t->next) {
        printf("%s:\n", t->module);
        for (i = 0; i < t->count; i++) {
            const fw_param_t *p = &t->params[i];

            printf("  %s (default: %s)\n", p->name,
                   p->defval != NULL ? p->defval : "unset");
            printf("      %s\n", p->help);
            cur = getenv(p->name);
            if (cur != NULL)
                printf("      current value: %s\n", cur);
        }
    }
}

/*---------------------------------------------------------------------------*/
int
main(int argc, char **argv)
{
    int opt, env = 0, rc = 0;

    fw_log_set_progname("fw-info");
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "ehV", fw_info_options_g, NULL)) !=
           -1) {
        switch (opt) {
        case 'e':
            env = 1;
            break;
        case 'h':
            fw_info_usage(stdout);
            return 0;
        case 'V':
            printf("fw-info (fabwire) %d.%d.%d\n", FW_VERSION_MAJOR,
                   FW_VERSION_MINOR, FW_VERSION_PATCH);
            return 0;
        default:
            if (strncmp(argv[optind - 1], "--", 2) == 0)
                fprintf(stderr, "fw-info: bad option '%s' (unknown, or it "
                        "takes no value)\n", argv[optind - 1]);
            else
                fprintf(stderr, "fw-info: unknown option '-%c'\n", optopt);
            fprintf(stderr, "Try 'fw-info --help'.\n");
            return FW_INFO_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fw-info: unexpected argument '%s'\n", argv[optind]);
        fprintf(stderr, "Try 'fw-info --help'.\n");
        return FW_INFO_EXIT_USAGE;
    }
    if (env) {
        fw_info_env();
        return 0;
    }
    if (fw_info_providers() != 0)
        rc = 1;
    fw_info_nics();
    fw_info_rdma();
    if (fw_info_selected() != 0)
        rc = 1;
    return rc;
}
