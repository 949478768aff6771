/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Address vector: peers' endpoint addresses (opaque blobs from their
 * fw_fab_addr_get()) in and out of the AV, whatever its type (table or
 * map, as the provider prefers).
 */
#include "fabric/fab_internal.h"
#include "common/log.h"

#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rdma/fi_domain.h>
#include <rdma/fi_errno.h>

/*---------------------------------------------------------------------------*/
/*
 * An shm peer whose region (/dev/shm/<name>; ours are named
 * FW_FAB_SHM_PREFIX<pid>_<random>) is not there: its endpoint closed, its
 * process ended, or the name is wrong. libfabric 1.17's shm crashes in
 * fi_tsend to such a peer instead of failing.
 */
static int
fw_fab_av_shm_gone(const fw_fab_t *fab, const char *name)
{
    char path[FW_FAB_ADDR_MAX + 16];

    if (fab->info->addr_format != FI_ADDR_STR)
        return 0; /* fw_fab_av_addr_ok() made sure it is a plain name */
    snprintf(path, sizeof(path), "/dev/shm/%s", name);
    return access(path, F_OK) != 0;
}

/*---------------------------------------------------------------------------*/
/*
 * Is addr (len bytes, NUL after them) an address of our provider's
 * format? Providers do not all check: libfabric 1.17's rxm takes a
 * sockaddr of family 0 and then refuses every later insert, and its shm
 * gives a rejected name's slot to the next peer. So a malformed address
 * (from a garbled port name or group description) is refused here: the
 * length of our own address for fixed-size formats, the family for
 * sockaddrs, a plain region name for strings.
 */
static int
fw_fab_av_addr_ok(const fw_fab_t *fab, const uint8_t *addr, size_t len)
{
    sa_family_t family = 0;
    size_t i;

    switch (fab->info->addr_format) {
    case FI_ADDR_STR:
        if (len > 0 && addr[len - 1] == '\0')
            len--;
        for (i = 0; i < len; i++)
            if (!isgraph(addr[i]) || addr[i] == '/')
                return 0;
        return len > 0;
    case FI_SOCKADDR:
    case FI_SOCKADDR_IN:
    case FI_SOCKADDR_IN6:
        if (len < sizeof(family))
            return 0;
        memcpy(&family, addr, sizeof(family));
        if (family == AF_INET)
            return len == sizeof(struct sockaddr_in) &&
                   fab->info->addr_format != FI_SOCKADDR_IN6;
        if (family == AF_INET6)
            return len == sizeof(struct sockaddr_in6) &&
                   fab->info->addr_format != FI_SOCKADDR_IN;
        return 0;
    default:
        return len == fab->addr_len;
    }
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_av_insert(fw_fab_t *fab, const void *addr, size_t len,
                 uint64_t *peer_p)
{
    /* one spare byte: FI_ADDR_STR names are read as C strings */
    uint8_t copy[FW_FAB_ADDR_MAX + 1];
    fi_addr_t fi_addr = FI_ADDR_NOTAVAIL;
    int ret;

    if (fab == NULL || addr == NULL || len == 0 || len > FW_FAB_ADDR_MAX ||
        peer_p == NULL)
        return FW_ERR_BAD_PARAM;
    memcpy(copy, addr, len);
    copy[len] = '\0';
    if (!fw_fab_av_addr_ok(fab, copy, len)) {
        FW_LOG_WARN("fab", "av: a %zu-byte address that is not a %s "
                    "address: refused", len, fw_fab_provider(fab));
        return FW_ERR_BAD_PARAM;
    }
    if (fw_fab_av_shm_gone(fab, (const char *)copy)) {
        FW_LOG_DEBUG("fab", "av: shm peer %s is gone", (const char *)copy);
        return FW_ERR_UNREACHABLE;
    }
    ret = fi_av_insert(fab->av, copy, 1, &fi_addr, 0, NULL);
    if (ret != 1 || fi_addr == FI_ADDR_NOTAVAIL) {
        FW_LOG_WARN("fab", "av: inserting a %zu-byte address failed: %s", len,
                    ret < 0 ? fi_strerror(-ret) : "address rejected");
        return ret < 0 ? fw_fab_status_from_fi(ret) : FW_ERR_FABRIC;
    }
    FW_LOG_TRACE("fab", "av: inserted peer 0x%llx",
                 (unsigned long long)fi_addr);
    *peer_p = fi_addr;
    return FW_SUCCESS;
}

/*---------------------------------------------------------------------------*/
int
fw_fab_av_gone(const fw_fab_t *fab, const void *addr, size_t len)
{
    uint8_t copy[FW_FAB_ADDR_MAX + 1];

    if (fab == NULL || addr == NULL || len == 0 || len > FW_FAB_ADDR_MAX)
        return 0;
    memcpy(copy, addr, len);
    copy[len] = '\0';
    return fw_fab_av_addr_ok(fab, copy, len) &&
           fw_fab_av_shm_gone(fab, (const char *)copy);
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_av_remove(fw_fab_t *fab, uint64_t peer)
{
    fi_addr_t fi_addr = peer;
    int ret;

    if (fab == NULL || peer == FI_ADDR_NOTAVAIL)
        return FW_ERR_BAD_PARAM;
    ret = fi_av_remove(fab->av, &fi_addr, 1, 0);
    if (ret != 0) {
        FW_LOG_WARN("fab", "av: removing peer 0x%llx failed: %s",
                    (unsigned long long)peer, fi_strerror(-ret));
        return fw_fab_status_from_fi(ret);
    }
    return FW_SUCCESS;
}
