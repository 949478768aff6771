/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Address vector: peers' endpoint addresses (opaque blobs from their
 * fw_fab_addr_get()) in and out of the AV, whatever its type (table or
 * map, as the provider prefers).
 */
#include "fabric/fab_internal.h"
#include "common/log.h"

#include <stdio.h>
#include <string.h>
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

    if (fab->info->addr_format != FI_ADDR_STR || name[0] == '\0' ||
        strchr(name, '/') != NULL)
        return 0; /* not a plain region name: the provider decides */
    snprintf(path, sizeof(path), "/dev/shm/%s", name);
    return access(path, F_OK) != 0;
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
