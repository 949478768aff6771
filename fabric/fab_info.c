/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Provider table and selection: the fabric module's tunables, the one
 * X-macro list of supported providers, fi_getinfo() with the hints
 * fabwire can obey, the provider/domain choice behind fw_fab_open(), and
 * the listing of usable providers for fw-info and error messages.
 */
#include "fabric/fab_internal.h"
#include "common/log.h"
#include "common/param.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rdma/fi_errno.h>

/****************/
/* Local Macros */
/****************/

#define FW_FAB_LIST_TEXT_MAX 256

/****************/
/* Local Types */
/****************/

typedef struct fw_fab_bitname {
    uint64_t bit;
    const char *name;
} fw_fab_bitname_t;

/********************/
/* Local Prototypes */
/********************/

static const fw_fab_prov_t *fw_fab_prov_find(const char *name);
static fw_status_t fw_fab_info_src_node(const fw_fab_params_t *params,
                                        const fw_fab_prov_t *prov,
                                        const char **node_p,
                                        fw_error_t *err);
static int fw_fab_info_getinfo(const fw_fab_prov_t *prov, const char *node,
                               struct fi_info **list_p);
static void fw_fab_info_usable_text(const fw_fab_params_t *params,
                                    char *out, size_t size);

/*******************/
/* Local Variables */
/*******************/

FW_PARAM_TABLE(fab,
    {"FW_PROVIDER", NULL,
     "libfabric provider (tcp, tcp;ofi_rxm, shm, verbs, cxi, efa, psm3); "
     "overrides FI_PROVIDER; automatic choice if unset"},
    {"FW_NIC", NULL,
     "domain or interface name of the NIC to use (e.g. mlx5_0, ib0, lo); "
     "default: the NIC nearest the process's CPU binding"},
    {"FW_FAB_IFACE_ADDR", "127.0.0.1",
     "IP address IP-based providers (tcp) bind to when the caller gives none"},
    {"FW_FAB_TIMEOUT_MS", "10000",
     "default timeout of blocking fabric reads and messages, milliseconds"},
    {"FW_FAB_BOUNCE_SIZE", "65536",
     "size of the registered bounce buffer used under FI_MR_LOCAL, bytes"},
    {"FW_FAB_SPIN_US", "50",
     "how long blocking fabric calls poll the CQ before sleeping, "
     "microseconds"},
    {"FW_FAB_INJECT", "1",
     "1: blocking sends of at most the provider's inject size (tcp;ofi_rxm "
     "64 bytes, shm 4 KiB) are injected, returning without waiting for a "
     "completion (a 4-byte send: ~15 us less over tcp;ofi_rxm); 0: every "
     "send waits for its completion"},
    {"FW_FAB_RXM_CM_US", "200",
     "ofi_rxm: how often an endpoint with no connection of its own in "
     "progress handles incoming connection requests, microseconds; set "
     "as FI_OFI_RXM_CM_PROGRESS_INTERVAL unless that is set (libfabric's "
     "default, 10000, delays the first message between two processes by "
     "up to 10 ms); -1: leave libfabric's default"},
    {"FW_FAB_RXM_RX_SIZE", "128",
     "ofi_rxm: receive buffers (16 KiB each) posted per message endpoint; "
     "set as FI_OFI_RXM_MSG_RX_SIZE unless that is set. Over tcp rxm "
     "shares one receive context and posts 4096 by default (~70 MB of "
     "page faults per process at its first connection); 128 is what it "
     "posts per connection without a shared context (verbs), so only the "
     "tcp case changes; -1: leave libfabric's default"},
    {"FW_FAB_EXACT_TAGS", "auto",
     "post only exact-tag receives, wildcard receives being matched "
     "through envelopes by the dpm layer: auto = where the provider needs "
     "it (shm before libfabric 1.19 matches messages that arrived before "
     "their receive with a stale mask: wildcard receives hang, exact ones "
     "may take the wrong message); 1 = always (testing); 0 = never"},
    {"FW_FAB_MR_MODE_EXTRA", NULL,
     "testing: obey FI_MR_LOCAL although the provider did not ask "
     "(value: local)"})

static const fw_fab_prov_t fw_fab_prov_table_g[] = {
#define FW_FAB_PROV_ENTRY_(id, name, alias, af, prog, caps, quirks)           \
    {FW_FAB_PROV_##id, name, alias, af, prog, caps, quirks},
    FW_FAB_PROV_TYPES(FW_FAB_PROV_ENTRY_)
#undef FW_FAB_PROV_ENTRY_
};

static const fw_fab_bitname_t fw_fab_caps_names_g[] = {
    {FI_MSG, "msg"},
    {FI_TAGGED, "tagged"},
    {FI_RMA, "rma"},
    {FI_ATOMIC, "atomic"},
    {FI_READ, "read"},
    {FI_WRITE, "write"},
    {FI_REMOTE_READ, "remote_read"},
    {FI_REMOTE_WRITE, "remote_write"},
    {FI_MULTI_RECV, "multi_recv"},
    {FI_DIRECTED_RECV, "directed_recv"},
    {FI_SOURCE, "source"},
    {FI_HMEM, "hmem"},
    {FI_LOCAL_COMM, "local_comm"},
    {FI_REMOTE_COMM, "remote_comm"},
};

static const fw_fab_bitname_t fw_fab_mr_mode_names_g[] = {
    {FI_MR_LOCAL, "local"},
    {FI_MR_RAW, "raw"},
    {FI_MR_VIRT_ADDR, "virt_addr"},
    {FI_MR_ALLOCATED, "allocated"},
    {FI_MR_PROV_KEY, "prov_key"},
    {FI_MR_MMU_NOTIFY, "mmu_notify"},
    {FI_MR_RMA_EVENT, "rma_event"},
    {FI_MR_ENDPOINT, "endpoint"},
    {FI_MR_HMEM, "hmem"},
};

/*---------------------------------------------------------------------------*/
static void
fw_fab_bits_text(uint64_t bits, const fw_fab_bitname_t *names, size_t n,
                 char *out, size_t size)
{
    size_t i, used = 0;
    int w;

    out[0] = '\0';
    for (i = 0; i < n; i++) {
        if ((bits & names[i].bit) == 0)
            continue;
        w = snprintf(out + used, size - used, "%s%s", used > 0 ? "|" : "",
                     names[i].name);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
    }
    if (used == 0)
        snprintf(out, size, "none");
}

/*---------------------------------------------------------------------------*/
static const char *
fw_fab_progress_text(enum fi_progress p)
{
    switch (p) {
    case FI_PROGRESS_AUTO:
        return "auto";
    case FI_PROGRESS_MANUAL:
        return "manual";
    default:
        return "unspec";
    }
}

/*---------------------------------------------------------------------------*/
static const char *
fw_fab_addr_format_text(uint32_t af)
{
    switch (af) {
    case FI_SOCKADDR:
        return "sockaddr";
    case FI_SOCKADDR_IN:
        return "sockaddr_in";
    case FI_SOCKADDR_IN6:
        return "sockaddr_in6";
    case FI_SOCKADDR_IB:
        return "sockaddr_ib";
    case FI_ADDR_STR:
        return "str";
    case FI_ADDR_PSMX2:
        return "psmx2";
    case FI_ADDR_PSMX3:
        return "psmx3";
    case FI_ADDR_EFA:
        return "efa";
    case FI_ADDR_CXI:
        return "cxi";
    default:
        return "other";
    }
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_status_from_fi(int fi_ret)
{
    switch (fi_ret) {
    case 0:
        return FW_SUCCESS;
    case -FI_ENOMEM:
        return FW_ERR_NO_MEM;
    case -FI_ETIMEDOUT:
        return FW_ERR_TIMEOUT;
    case -FI_ETRUNC:
        return FW_ERR_TRUNCATE;
    default:
        return FW_ERR_FABRIC;
    }
}

/*---------------------------------------------------------------------------*/
int
fw_fab_info_timeout_ms(void)
{
    return (int)fw_param_get_long("FW_FAB_TIMEOUT_MS", 0, 3600L * 1000);
}

/*---------------------------------------------------------------------------*/
size_t
fw_fab_info_bounce_size(void)
{
    return (size_t)fw_param_get_long("FW_FAB_BOUNCE_SIZE", 4096,
                                     64L * 1024 * 1024);
}

/*---------------------------------------------------------------------------*/
int
fw_fab_info_inject(void)
{
    return (int)fw_param_get_long("FW_FAB_INJECT", 0, 1);
}

long
fw_fab_info_spin_us(void)
{
    return fw_param_get_long("FW_FAB_SPIN_US", 0, 1000000);
}

/*---------------------------------------------------------------------------*/
int
fw_fab_info_exact_tags(const fw_fab_prov_t *prov)
{
    const char *s = fw_param_get_str("FW_FAB_EXACT_TAGS");

    if (s != NULL && strcmp(s, "1") == 0)
        return 1;
    if (s != NULL && strcmp(s, "0") == 0)
        return 0;
    if (s != NULL && strcmp(s, "auto") != 0)
        FW_LOG_WARN("fab", "FW_FAB_EXACT_TAGS=%s: not auto, 0 or 1; using "
                    "auto", s);
    return (prov->quirks & FW_FAB_QUIRK_UNEXP_MASK) != 0 &&
           fw_fab_dl_g.version() < FI_VERSION(1, 19);
}

/*---------------------------------------------------------------------------*/
size_t
fw_fab_info_rx_floor(const fw_fab_prov_t *prov, uint64_t mr_mode)
{
    const char *s = getenv("FI_OFI_RXM_SAR_LIMIT");
    long v = s != NULL ? strtol(s, NULL, 10) : 0;

    /* under FI_MR_LOCAL a bigger buffer would need registering: not done */
    if ((prov->quirks & FW_FAB_QUIRK_RXM_SAR) == 0 ||
        (mr_mode & FI_MR_LOCAL) != 0)
        return 0;
    return v > 0 && v <= 64L * 1024 * 1024 ? (size_t)v : 128 * 1024;
}

/*---------------------------------------------------------------------------*/
uint64_t
fw_fab_info_mr_mode_extra(void)
{
    const char *s = fw_param_get_str("FW_FAB_MR_MODE_EXTRA");
    uint64_t bits = 0;
    size_t n;

    while (s != NULL && *s != '\0') {
        n = strcspn(s, ",");
        if (n == 5 && strncmp(s, "local", n) == 0)
            bits |= FI_MR_LOCAL;
        else if (n > 0)
            FW_LOG_WARN("fab", "info: FW_FAB_MR_MODE_EXTRA: ignoring '%.*s'",
                        (int)n, s);
        s += n;
        if (*s == ',')
            s++;
    }
    return bits;
}

/*---------------------------------------------------------------------------*/
static const fw_fab_prov_t *
fw_fab_prov_find(const char *name)
{
    size_t i;

    for (i = 0; i < FW_FAB_PROV_COUNT; i++) {
        const fw_fab_prov_t *p = &fw_fab_prov_table_g[i];

        if (strcasecmp(name, p->name) == 0 ||
            (p->alias != NULL && strcasecmp(name, p->alias) == 0))
            return p;
    }
    return NULL;
}

/*---------------------------------------------------------------------------*/
/* Provider the caller asked for: params, FW_PROVIDER, then FI_PROVIDER.
 * NULL means automatic choice. An FI_PROVIDER filter list ("a,b", "^x")
 * is left to libfabric, which applies it to every fi_getinfo(). */
static const char *
fw_fab_info_requested(const fw_fab_params_t *params)
{
    const char *name = NULL;

    if (params != NULL &&
        (params->field_mask & FW_FAB_PARAMS_FIELD_PROVIDER) != 0)
        name = params->provider;
    if (name == NULL || name[0] == '\0')
        name = fw_param_get_str("FW_PROVIDER");
    if (name == NULL || name[0] == '\0') {
        name = getenv("FI_PROVIDER");
        if (name != NULL && strpbrk(name, ",^") != NULL) {
            FW_LOG_DEBUG("fab", "info: FI_PROVIDER '%s' is a filter list, "
                         "choosing automatically within it", name);
            name = NULL;
        }
    }
    if (name != NULL && name[0] == '\0')
        name = NULL;
    return name;
}

/*---------------------------------------------------------------------------*/
/* 1 if the numeric address node is configured on a local interface. */
static int
fw_fab_info_addr_local(const char *node)
{
    struct in6_addr a6;
    struct in_addr a4;
    struct ifaddrs *ifa, *i;
    int v4 = inet_pton(AF_INET, node, &a4) == 1, found = 0;

    if (!v4 && inet_pton(AF_INET6, node, &a6) != 1)
        return 0;
    if (getifaddrs(&ifa) != 0) {
        FW_LOG_WARN("fab", "info: getifaddrs failed: %m");
        return 1; /* cannot tell: let the provider decide */
    }
    for (i = ifa; i != NULL && !found; i = i->ifa_next) {
        if (i->ifa_addr == NULL)
            continue;
        if (v4 && i->ifa_addr->sa_family == AF_INET)
            found = memcmp(&((struct sockaddr_in *)(void *)i->ifa_addr)
                                ->sin_addr,
                           &a4, sizeof(a4)) == 0;
        else if (!v4 && i->ifa_addr->sa_family == AF_INET6)
            found = memcmp(&((struct sockaddr_in6 *)(void *)i->ifa_addr)
                                ->sin6_addr,
                           &a6, sizeof(a6)) == 0;
    }
    freeifaddrs(ifa);
    return found;
}

/*---------------------------------------------------------------------------*/
/* Source node for fi_getinfo(FI_SOURCE): the IP address to bind to for
 * IP-addressed providers (never left to the provider's default, which
 * would be the first interface, e.g. eth0), an explicit one for verbs,
 * else NULL. FW_ERR_BAD_PARAM if it is not a numeric address,
 * FW_ERR_FABRIC if no local interface has it. */
static fw_status_t
fw_fab_info_src_node(const fw_fab_params_t *params, const fw_fab_prov_t *prov,
                     const char **node_p, fw_error_t *err)
{
    const char *node = NULL;
    unsigned char sa[sizeof(struct in6_addr)];

    if (params != NULL &&
        (params->field_mask & FW_FAB_PARAMS_FIELD_SRC_NODE) != 0)
        node = params->src_node;
    if (node != NULL && node[0] == '\0')
        node = NULL;
    if ((prov->quirks & FW_FAB_QUIRK_SRC_ADDR) != 0 && node == NULL)
        node = fw_param_get_str("FW_FAB_IFACE_ADDR");
    if ((prov->quirks & FW_FAB_QUIRK_SRC_ADDR) == 0 &&
        prov->id != FW_FAB_PROV_VERBS)
        node = NULL;
    if (node != NULL && inet_pton(AF_INET, node, sa) != 1 &&
        inet_pton(AF_INET6, node, sa) != 1) {
        fw_errprintf(err, "source address '%s' is not a numeric IP address",
                     node);
        return FW_ERR_BAD_PARAM;
    }
    if (node != NULL && !fw_fab_info_addr_local(node)) {
        fw_errprintf(err, "provider %s: source address %s is not configured "
                     "on any local interface", prov->name, node);
        return FW_ERR_FABRIC;
    }
    *node_p = node;
    return FW_SUCCESS;
}

/*---------------------------------------------------------------------------*/
static struct fi_info *
fw_fab_info_hints(const fw_fab_prov_t *prov)
{
    struct fi_info *hints = fi_allocinfo();

    if (hints == NULL)
        return NULL;
    hints->ep_attr->type = FI_EP_RDM;
    hints->caps = prov->caps;
    hints->mode = FW_FAB_MODE_SUPPORTED;
    hints->domain_attr->mr_mode = FW_FAB_MR_MODE_SUPPORTED;
    hints->domain_attr->threading = FI_THREAD_DOMAIN;
    hints->domain_attr->av_type = FI_AV_UNSPEC;
    hints->fabric_attr->prov_name = strdup(prov->name);
    if (hints->fabric_attr->prov_name == NULL) {
        fi_freeinfo(hints);
        return NULL;
    }
    return hints;
}

/*---------------------------------------------------------------------------*/
/* Keep only entries of exactly this provider whose mode and mr_mode bits
 * are all ones fabwire obeys. */
static struct fi_info *
fw_fab_info_filter(const fw_fab_prov_t *prov, struct fi_info *list)
{
    struct fi_info *keep = NULL, **tail = &keep, *next;

    for (; list != NULL; list = next) {
        next = list->next;
        list->next = NULL;
        if (list->fabric_attr->prov_name != NULL &&
            strcasecmp(list->fabric_attr->prov_name, prov->name) == 0 &&
            (list->mode & ~(uint64_t)FW_FAB_MODE_SUPPORTED) == 0 &&
            (list->domain_attr->mr_mode &
             ~(uint64_t)FW_FAB_MR_MODE_SUPPORTED) == 0) {
            *tail = list;
            tail = &list->next;
        } else {
            fi_freeinfo(list);
        }
    }
    return keep;
}

/*---------------------------------------------------------------------------*/
static int
fw_fab_info_getinfo(const fw_fab_prov_t *prov, const char *node,
                    struct fi_info **list_p)
{
    struct fi_info *hints, *list = NULL;
    int ret;

    hints = fw_fab_info_hints(prov);
    if (hints == NULL)
        return -FI_ENOMEM;
    ret = fi_getinfo(FW_FAB_FI_VERSION, node, NULL,
                     node != NULL ? FI_SOURCE : 0, hints, &list);
    fi_freeinfo(hints);
    if (ret != 0) {
        FW_LOG_DEBUG("fab", "info: fi_getinfo %s (node %s) failed: %s",
                     prov->name, node != NULL ? node : "none",
                     fi_strerror(-ret));
        return ret;
    }
    list = fw_fab_info_filter(prov, list);
    if (list == NULL)
        return -FI_ENODATA;
    *list_p = list;
    return 0;
}

/*---------------------------------------------------------------------------*/
/* "a, b, c" of usable provider names (for error messages). */
static void
fw_fab_info_usable_text(const fw_fab_params_t *params, char *out, size_t size)
{
    size_t i, used = 0;
    int w;

    out[0] = '\0';
    for (i = 0; i < FW_FAB_PROV_COUNT; i++) {
        const fw_fab_prov_t *prov = &fw_fab_prov_table_g[i];
        struct fi_info *list = NULL;
        const char *node = NULL;

        if (fw_fab_info_src_node(params, prov, &node, NULL) != FW_SUCCESS ||
            fw_fab_info_getinfo(prov, node, &list) != 0)
            continue;
        fi_freeinfo(list);
        w = snprintf(out + used, size - used, "%s%s", used > 0 ? ", " : "",
                     prov->name);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
    }
    if (used == 0)
        snprintf(out, size, "none");
}

/*---------------------------------------------------------------------------*/
static fw_status_t
fw_fab_info_try(const fw_fab_params_t *params, const fw_fab_prov_t *prov,
                struct fi_info **list_p, fw_error_t *err)
{
    const char *node = NULL;
    fw_status_t status;
    int ret;

    status = fw_fab_info_src_node(params, prov, &node, err);
    if (status != FW_SUCCESS)
        return status;
    ret = fw_fab_info_getinfo(prov, node, list_p);
    if (ret != 0) {
        fw_errprintf(err, "provider %s%s%s is not usable here: %s",
                     prov->name, node != NULL ? " on " : "",
                     node != NULL ? node : "", fi_strerror(-ret));
        return ret == -FI_ENOMEM ? FW_ERR_NO_MEM : FW_ERR_FABRIC;
    }
    return FW_SUCCESS;
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_provider_check(const char *name, fw_error_t *err)
{
    fw_fab_params_t params;
    char known[256];
    size_t i, off = 0;

    memset(&params, 0, sizeof(params));
    params.field_mask = FW_FAB_PARAMS_FIELD_PROVIDER;
    params.provider = name;
    name = fw_fab_info_requested(&params);
    if (name == NULL || fw_fab_prov_find(name) != NULL)
        return FW_SUCCESS;
    known[0] = '\0';
    for (i = 0; i < FW_FAB_PROV_COUNT && off < sizeof(known); i++)
        off += (size_t)snprintf(known + off, sizeof(known) - off, "%s%s",
                                i > 0 ? ", " : "",
                                fw_fab_prov_table_g[i].name);
    fw_errprintf(err, "provider '%s' is unknown to fabwire (known: %s; "
                 "fw-info lists the usable ones)", name, known);
    return FW_ERR_NOT_FOUND;
}

/*---------------------------------------------------------------------------*/
/* Explicit request or the first usable table entry by priority. */
static fw_status_t
fw_fab_info_choose_prov(const fw_fab_params_t *params,
                        const fw_fab_prov_t **prov_p,
                        struct fi_info **list_p, fw_error_t *err)
{
    const char *want = fw_fab_info_requested(params);
    const fw_fab_prov_t *prov;
    fw_error_t one, why;
    fw_status_t status;
    size_t i;

    if (want != NULL) {
        prov = fw_fab_prov_find(want);
        if (prov == NULL) {
            fw_errprintf(err, "provider '%s' is unknown to fabwire", want);
            return FW_ERR_FABRIC;
        }
        status = fw_fab_info_try(params, prov, list_p, err);
        if (status == FW_SUCCESS)
            *prov_p = prov;
        return status;
    }
    /* the last refusal that names a cause (a source address that is not
     * local, ...) goes with the answer */
    why.text[0] = '\0';
    for (i = 0; i < FW_FAB_PROV_COUNT; i++) {
        prov = &fw_fab_prov_table_g[i];
        if ((prov->quirks & FW_FAB_QUIRK_EXPLICIT) != 0)
            continue;
        one.text[0] = '\0';
        status = fw_fab_info_try(params, prov, list_p, &one);
        if (status == FW_ERR_BAD_PARAM)
            return fw_fab_info_try(params, prov, list_p, err);
        if (status == FW_SUCCESS) {
            *prov_p = prov;
            return FW_SUCCESS;
        }
        if (strstr(one.text, "source address") != NULL)
            why = one;
    }
    fw_errprintf(err, "no provider of fabwire's table is usable here%s%s%s",
                 why.text[0] != '\0' ? " (" : "", why.text,
                 why.text[0] != '\0' ? ")" : "");
    return FW_ERR_FABRIC;
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_info_select(const fw_fab_params_t *params, fw_fab_sel_t *sel_p,
                   fw_error_t *err)
{
    const fw_fab_prov_t *prov = NULL;
    struct fi_info *list = NULL, *pick = NULL, *dup;
    char usable[FW_FAB_LIST_TEXT_MAX];
    char nic_name[FW_FAB_NAME_MAX];
    const char *nic = NULL;
    fw_status_t status;

    status = fw_fab_dl_load(err);
    if (status != FW_SUCCESS)
        return status;
    status = fw_fab_info_choose_prov(params, &prov, &list, err);
    if (status == FW_ERR_FABRIC) {
        fw_fab_info_usable_text(params, usable, sizeof(usable));
        FW_LOG_DEBUG("fab", "info: no provider chosen, usable: %s", usable);
        if (err != NULL) {
            size_t n = strnlen(err->text, sizeof(err->text));

            snprintf(err->text + n, sizeof(err->text) - n,
                     " (usable providers: %s)", usable);
        }
    }
    if (status != FW_SUCCESS)
        goto out;

    if (params != NULL && (params->field_mask & FW_FAB_PARAMS_FIELD_NIC) != 0)
        nic = params->nic;
    if (nic == NULL || nic[0] == '\0')
        nic = fw_param_get_str("FW_NIC");
    if (nic != NULL && nic[0] == '\0')
        nic = NULL;
    if (nic != NULL && (prov->quirks & FW_FAB_QUIRK_NO_NIC) != 0) {
        FW_LOG_DEBUG("fab", "info: %s has no NIC, ignoring nic %s",
                     prov->name, nic);
        nic = NULL;
    }
    status = fw_fab_domain_pick(list, nic, &pick, nic_name, err);
    if (status != FW_SUCCESS) {
        fw_errprepend(err, "provider %s", prov->name);
        goto out_free_list;
    }
    dup = fi_dupinfo(pick);
    if (dup == NULL) {
        fw_errprintf(err, "provider %s: out of memory", prov->name);
        status = FW_ERR_NO_MEM;
        goto out_free_list;
    }
    FW_LOG_INFO("fab", "info: selected provider %s, domain %s, nic %s",
                prov->name, dup->domain_attr->name, nic_name);
    sel_p->prov = prov;
    sel_p->info = dup;
    snprintf(sel_p->nic, sizeof(sel_p->nic), "%s", nic_name);

out_free_list:
    fi_freeinfo(list);
out:
    return status;
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_select(const fw_fab_params_t *params, fw_fab_choice_t *choice_p,
              fw_error_t *err)
{
    fw_fab_sel_t sel;
    fw_status_t status;

    if (choice_p == NULL) {
        fw_errprintf(err, "fabric select: no output given");
        return FW_ERR_BAD_PARAM;
    }
    status = fw_fab_info_select(params, &sel, err);
    if (status != FW_SUCCESS)
        return status;
    snprintf(choice_p->provider, sizeof(choice_p->provider), "%s",
             sel.prov->name);
    snprintf(choice_p->domain, sizeof(choice_p->domain), "%s",
             sel.info->domain_attr->name);
    snprintf(choice_p->nic, sizeof(choice_p->nic), "%s", sel.nic);
    fi_freeinfo(sel.info);
    return FW_SUCCESS;
}

/*---------------------------------------------------------------------------*/
static fw_fab_prov_info_t *
fw_fab_prov_info_new(const fw_fab_prov_t *prov, const struct fi_info *fi)
{
    fw_fab_prov_info_t *pi = calloc(1, sizeof(*pi));

    if (pi == NULL)
        return NULL;
    snprintf(pi->name, sizeof(pi->name), "%s", prov->name);
    snprintf(pi->fabric, sizeof(pi->fabric), "%s", fi->fabric_attr->name);
    snprintf(pi->domain, sizeof(pi->domain), "%s", fi->domain_attr->name);
    if (fi->nic != NULL && fi->nic->device_attr != NULL &&
        fi->nic->device_attr->name != NULL)
        snprintf(pi->nic, sizeof(pi->nic), "%s", fi->nic->device_attr->name);
    snprintf(pi->addr_format, sizeof(pi->addr_format), "%s",
             fw_fab_addr_format_text(fi->addr_format));
    snprintf(pi->data_progress, sizeof(pi->data_progress), "%s",
             fw_fab_progress_text(fi->domain_attr->data_progress));
    snprintf(pi->control_progress, sizeof(pi->control_progress), "%s",
             fw_fab_progress_text(fi->domain_attr->control_progress));
    fw_fab_bits_text(fi->caps, fw_fab_caps_names_g,
                     sizeof(fw_fab_caps_names_g) /
                         sizeof(fw_fab_caps_names_g[0]),
                     pi->caps, sizeof(pi->caps));
    fw_fab_bits_text((uint64_t)fi->domain_attr->mr_mode,
                     fw_fab_mr_mode_names_g,
                     sizeof(fw_fab_mr_mode_names_g) /
                         sizeof(fw_fab_mr_mode_names_g[0]),
                     pi->mr_mode, sizeof(pi->mr_mode));
    pi->auto_select = (prov->quirks & FW_FAB_QUIRK_EXPLICIT) == 0;
    pi->target_progress =
        fi->domain_attr->data_progress == FI_PROGRESS_MANUAL ||
        (prov->quirks & FW_FAB_QUIRK_TGT_PROGRESS) != 0;
    return pi;
}

/*---------------------------------------------------------------------------*/
/* Append one entry per distinct domain of list to *tail_p. */
static fw_status_t
fw_fab_prov_list_add(const fw_fab_prov_t *prov, const struct fi_info *list,
                     fw_fab_prov_info_t *const *head_p,
                     fw_fab_prov_info_t ***tail_p)
{
    const struct fi_info *fi;
    fw_fab_prov_info_t *pi;

    for (fi = list; fi != NULL; fi = fi->next) {
        for (pi = *head_p; pi != NULL; pi = pi->next) {
            if (strcmp(pi->name, prov->name) == 0 &&
                strcmp(pi->domain, fi->domain_attr->name) == 0 &&
                strcmp(pi->fabric, fi->fabric_attr->name) == 0)
                break;
        }
        if (pi != NULL)
            continue;
        pi = fw_fab_prov_info_new(prov, fi);
        if (pi == NULL)
            return FW_ERR_NO_MEM;
        **tail_p = pi;
        *tail_p = &pi->next;
    }
    return FW_SUCCESS;
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_prov_list(const fw_fab_params_t *params, fw_fab_prov_info_t **list_p,
                 fw_error_t *err)
{
    fw_fab_prov_info_t *head = NULL, **tail = &head;
    fw_status_t status = FW_SUCCESS;
    size_t i;

    if (list_p == NULL) {
        fw_errprintf(err, "provider list: no output given");
        return FW_ERR_BAD_PARAM;
    }
    status = fw_fab_dl_load(err);
    if (status != FW_SUCCESS)
        return status;
    for (i = 0; i < FW_FAB_PROV_COUNT; i++) {
        const fw_fab_prov_t *prov = &fw_fab_prov_table_g[i];
        struct fi_info *list = NULL;
        const char *node = NULL;

        status = fw_fab_info_src_node(params, prov, &node, err);
        if (status == FW_ERR_BAD_PARAM)
            goto err_free;
        if (status != FW_SUCCESS || fw_fab_info_getinfo(prov, node, &list))
            continue;
        status = fw_fab_prov_list_add(prov, list, &head, &tail);
        fi_freeinfo(list);
        if (status != FW_SUCCESS) {
            fw_errprintf(err, "provider list: out of memory");
            goto err_free;
        }
    }
    *list_p = head;
    return FW_SUCCESS;

err_free:
    fw_fab_prov_list_free(head);
    return status;
}

/*---------------------------------------------------------------------------*/
void
fw_fab_prov_list_free(fw_fab_prov_info_t *list)
{
    fw_fab_prov_info_t *next;

    for (; list != NULL; list = next) {
        next = list->next;
        free(list);
    }
}
