/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fwrun's view of the hosts: which are this machine (no agent needed),
 * name resolution of the others, the address daemons reach fwrun on, the
 * daemon tree order (this host first) and the rank map.
 */
#define _GNU_SOURCE
#include "launcher/fwrun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <hwloc.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int
fwrun_addr_is_local(const struct sockaddr *sa)
{
    struct ifaddrs *ifs = NULL, *i;
    int found = 0;

    if (sa->sa_family == AF_INET &&
        (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127)
        return 1;
    if (getifaddrs(&ifs) != 0)
        return 0;
    for (i = ifs; i != NULL && !found; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != sa->sa_family)
            continue;
        if (sa->sa_family == AF_INET)
            found = ((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
                    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
        else if (sa->sa_family == AF_INET6)
            found = memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
                           &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
                           sizeof(struct in6_addr)) == 0;
    }
    freeifaddrs(ifs);
    return found;
}

static struct addrinfo *
fwrun_resolve(const char *name, int *gai_p)
{
    struct addrinfo hints, *res = NULL;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    *gai_p = getaddrinfo(name, NULL, &hints, &res);
    return *gai_p == 0 ? res : NULL;
}

int
fwrun_host_is_local(const char *name)
{
    char me[256] = "";
    struct addrinfo *res;
    int gai, local;

    if (strcmp(name, "localhost") == 0)
        return 1;
    if (gethostname(me, sizeof(me) - 1) == 0 && strcmp(me, name) == 0)
        return 1;
    res = fwrun_resolve(name, &gai);
    if (res == NULL)
        return 0;
    local = fwrun_addr_is_local(res->ai_addr);
    freeaddrinfo(res);
    return local;
}

/* One of this machine's interface addresses (exactly: 127.0.0.2 is not
 * 127.0.0.1's), or one its host name resolves to. */
static int
fwrun_addr_is_self(const struct sockaddr_in *sa)
{
    struct ifaddrs *ifs = NULL, *i;
    struct addrinfo *res, *k;
    char me[256] = "";
    int found = 0, gai;

    if (getifaddrs(&ifs) == 0) {
        for (i = ifs; i != NULL && !found; i = i->ifa_next)
            found = i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET &&
                    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
                        sa->sin_addr.s_addr;
        freeifaddrs(ifs);
    }
    if (found || gethostname(me, sizeof(me) - 1) != 0 ||
        (res = fwrun_resolve(me, &gai)) == NULL)
        return found;
    for (k = res; k != NULL && !found; k = k->ai_next)
        found = ((struct sockaddr_in *)k->ai_addr)->sin_addr.s_addr ==
                sa->sin_addr.s_addr;
    freeaddrinfo(res);
    return found;
}

int
fwrun_host_is_self(const char *name)
{
    char me[256] = "";
    struct addrinfo *res, *k;
    int gai, self = 0;

    if (strcmp(name, "localhost") == 0 || strcmp(name, "127.0.0.1") == 0)
        return 1;
    if (gethostname(me, sizeof(me) - 1) == 0 && strcmp(me, name) == 0)
        return 1;
    res = fwrun_resolve(name, &gai);
    for (k = res; k != NULL && !self; k = k->ai_next)
        self = fwrun_addr_is_self((const struct sockaddr_in *)k->ai_addr);
    if (res != NULL)
        freeaddrinfo(res);
    return self;
}

int
fwrun_hosts_self_cb(const char *name, void *arg)
{
    (void)arg;
    return fwrun_host_is_self(name);
}

/* The local address the kernel would use to reach host (no packet is
 * sent: connect() on a UDP socket only picks a route). */
static fw_status_t
fwrun_source_addr(const char *host, char *out, size_t outlen, fw_error_t *err)
{
    struct sockaddr_in src;
    socklen_t len = sizeof(src);
    struct addrinfo *res;
    int fd, gai;

    res = fwrun_resolve(host, &gai);
    if (res == NULL) {
        fw_errprintf(err, "unknown host '%s': %s", host, gai_strerror(gai));
        return FW_ERR_NOT_FOUND;
    }
    ((struct sockaddr_in *)res->ai_addr)->sin_port = htons(9);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0 ||
        getsockname(fd, (struct sockaddr *)&src, &len) != 0) {
        fw_errprintf(err, "host '%s': no route: %s", host, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return FW_ERR_UNREACHABLE;
    }
    close(fd);
    freeaddrinfo(res);
    inet_ntop(AF_INET, &src.sin_addr, out, (socklen_t)outlen);
    return FW_SUCCESS;
}

/* Cores (not hardware threads) from sysfs: distinct package/core id
 * pairs. Much cheaper than a topology load on fwrun's critical path;
 * 0 if sysfs does not say. */
static uint32_t
fwrun_sysfs_cores(void)
{
    static uint64_t seen[4096];
    char path[128];
    long cpus = sysconf(_SC_NPROCESSORS_CONF), i;
    uint32_t n = 0, k;
    unsigned pkg, core;
    FILE *f;

    for (i = 0; i < cpus && i < 4096; i++) {
        snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%ld/online",
                 i);
        f = fopen(path, "r");
        if (f != NULL) {
            int on = fgetc(f);

            fclose(f);
            if (on == '0')
                continue;
        }
        snprintf(path, sizeof(path),
                 "/sys/devices/system/cpu/cpu%ld/topology/core_id", i);
        f = fopen(path, "r");
        if (f == NULL || fscanf(f, "%u", &core) != 1) {
            if (f != NULL)
                fclose(f);
            return 0;
        }
        fclose(f);
        snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%ld/"
                 "topology/physical_package_id", i);
        f = fopen(path, "r");
        if (f == NULL || fscanf(f, "%u", &pkg) != 1) {
            if (f != NULL)
                fclose(f);
            return 0;
        }
        fclose(f);
        for (k = 0; k < n; k++)
            if (seen[k] == (((uint64_t)pkg << 32) | core))
                break;
        if (k == n)
            seen[n++] = ((uint64_t)pkg << 32) | core;
    }
    return n;
}

static uint32_t
fwrun_local_cores(void)
{
    hwloc_topology_t topo;
    int n = (int)fwrun_sysfs_cores();

    if (n > 0)
        return (uint32_t)n;
    if (hwloc_topology_init(&topo) == 0) {
        hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE);
        hwloc_topology_set_cache_types_filter(topo,
                                              HWLOC_TYPE_FILTER_KEEP_NONE);
        if (hwloc_topology_load(topo) == 0)
            n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
        hwloc_topology_destroy(topo);
    }
    if (n <= 0)
        n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (uint32_t)n : 1;
}

static fw_status_t
fwrun_hosts_read(fwrun_t *r, fw_error_t *err)
{
    char me[256] = "localhost";
    fw_status_t rc = FW_SUCCESS;

    /* each app's hosts, this machine's names merged; the job's: all */
    if (r->opt.app_hosts != NULL)
        rc = fw_launch_job_hosts_build(&r->job, r->opt.app_hosts,
                                       fwrun_hosts_self_cb, NULL, err);
    if (rc != FW_SUCCESS || r->job.nhosts > 0)
        return rc;
    if (gethostname(me, sizeof(me) - 1) != 0)
        snprintf(me, sizeof(me), "localhost");
    rc = fw_launch_job_add_host(&r->job, me, fwrun_local_cores(), 1);
    if (rc == FW_SUCCESS)
        r->job.hosts[0].is_self = 1;
    return rc;
}

/* Daemon ids: this host's daemons first (started without an agent). */
static fw_status_t
fwrun_hosts_order(fwrun_t *r)
{
    uint32_t i, id = 1, pass;

    r->ndaemons = r->job.nhosts + 1;
    r->dhosts = calloc(r->ndaemons + 1, sizeof(*r->dhosts));
    if (r->dhosts == NULL)
        return FW_ERR_NO_MEM;
    r->dhosts[0] = strdup("fwrun");
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < r->job.nhosts; i++) {
            fw_launch_host_t *h = &r->job.hosts[i];

            if ((pass == 0) != (h->is_local != 0))
                continue;
            h->daemon_id = id;
            r->dhosts[id++] = strdup(h->name);
        }
    }
    for (i = 0; i < r->ndaemons; i++)
        if (r->dhosts[i] == NULL)
            return FW_ERR_NO_MEM;
    return FW_SUCCESS;
}

static uint32_t
fwrun_total_slots(const fw_launch_job_t *job)
{
    uint64_t t = 0;
    uint32_t i;

    for (i = 0; i < job->nhosts; i++)
        t += job->hosts[i].slots;
    return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

fw_status_t
fwrun_hosts_prepare(fwrun_t *r, fw_error_t *err)
{
    fw_status_t rc;
    uint32_t i;

    rc = fwrun_hosts_read(r, err);
    if (rc != FW_SUCCESS)
        return rc;
    snprintf(r->adv_addr, sizeof(r->adv_addr), "127.0.0.1");
    for (i = 0; i < r->job.nhosts; i++) {
        fw_launch_host_t *h = &r->job.hosts[i];
        char src[64];

        h->is_local = fwrun_host_is_local(h->name);
        if (h->is_local)
            continue;
        rc = fwrun_source_addr(h->name, src, sizeof(src), err);
        if (rc != FW_SUCCESS)
            return rc;
        if (strcmp(r->adv_addr, "127.0.0.1") == 0)
            snprintf(r->adv_addr, sizeof(r->adv_addr), "%s", src);
    }
    rc = fwrun_hosts_order(r);
    if (rc != FW_SUCCESS)
        return rc;
    for (i = 0; r->opt.npernode > 0 && i < r->job.nhosts; i++)
        r->job.hosts[i].slots = r->opt.npernode; /* N ranks per host */
    r->job.universe_size = fwrun_total_slots(&r->job);
    if (r->job.napps == 1 && r->job.apps[0].np == 0) {
        r->job.apps[0].np = r->job.universe_size;
        r->job.nprocs = r->job.universe_size;
    }
    return fw_launch_job_map(&r->job, err);
}
