/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Memory registration under every mr_mode bit fabwire accepts (local,
 * virt_addr, allocated, prov_key, endpoint, raw), the remote key a peer
 * needs and its wire format, and local descriptors for FI_MR_LOCAL
 * (caller's regions, a bounce buffer, or temporary registrations).
 */
#include "fabric/fab_internal.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>

/****************/
/* Local Macros */
/****************/

/* Attempts at a fabwire-chosen key the provider reports in use. */
#define FW_FAB_MR_KEY_TRIES 8

/* Access bits of buffers used locally (read target, send, recv). */
#define FW_FAB_MR_FI_LOCAL (FI_READ | FI_WRITE | FI_SEND | FI_RECV)

/* Wire flags of a packed rkey. */
#define FW_FAB_RKEY_FLAG_RAW 0x01u

/********************/
/* Local Prototypes */
/********************/

static void fw_fab_mr_destroy(fw_fab_mr_t *mr);

/*---------------------------------------------------------------------------*/
/* Next key for providers without FI_MR_PROV_KEY: unique in the domain
 * and within mr_key_size bytes. */
static uint64_t
fw_fab_mr_key_next(fw_fab_t *fab)
{
    uint64_t key = fab->next_key++ & fab->key_mask;

    if (key == 0)
        key = fab->next_key++ & fab->key_mask;
    return key;
}

/*---------------------------------------------------------------------------*/
static int
fw_fab_mr_fi_reg(fw_fab_t *fab, fw_fab_mr_t *mr)
{
    uint64_t key = 0;
    int ret = -FI_ENOKEY, i;

    for (i = 0; i < FW_FAB_MR_KEY_TRIES && ret == -FI_ENOKEY; i++) {
        if ((fab->mr_mode & FI_MR_PROV_KEY) == 0)
            key = fw_fab_mr_key_next(fab);
        ret = fi_mr_reg(fab->domain, mr->buf, mr->len, mr->fi_access, 0, key,
                        0, &mr->mr, NULL);
        if ((fab->mr_mode & FI_MR_PROV_KEY) != 0)
            break;
    }
    return ret;
}

/*---------------------------------------------------------------------------*/
/* Fill mr->rkey: address by FI_MR_VIRT_ADDR, key by FI_MR_RAW or
 * fi_mr_key() (the provider's under FI_MR_PROV_KEY, else ours). */
static fw_status_t
fw_fab_mr_rkey_fill(fw_fab_t *fab, fw_fab_mr_t *mr)
{
    fw_fab_rkey_t *rk = &mr->rkey;
    size_t size = sizeof(rk->raw);
    uint64_t base = 0;
    int ret;

    memset(rk, 0, sizeof(*rk));
    rk->addr = (fab->mr_mode & FI_MR_VIRT_ADDR) != 0 ? (uintptr_t)mr->buf : 0;
    rk->len = mr->len;
    if ((fab->mr_mode & FI_MR_RAW) != 0) {
        ret = fi_mr_raw_attr(mr->mr, &base, rk->raw, &size, 0);
        if (ret == -FI_ETOOSMALL) {
            FW_LOG_ERR("fab.mr", "mr: raw key of %zu bytes exceeds %d",
                       size, FW_FAB_RKEY_RAW_MAX);
            return FW_ERR_TOO_BIG;
        }
        if (ret != 0) {
            FW_LOG_ERR("fab.mr", "mr: fi_mr_raw_attr failed: %s",
                       fi_strerror(-ret));
            return FW_ERR_FABRIC;
        }
        rk->raw_len = (uint16_t)size;
        rk->raw_base = base;
        return FW_SUCCESS;
    }
    rk->key = fi_mr_key(mr->mr);
    if (rk->key == FI_KEY_NOTAVAIL) {
        FW_LOG_ERR("fab.mr", "mr: provider gave no key");
        return FW_ERR_FABRIC;
    }
    return FW_SUCCESS;
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_mr_create(fw_fab_t *fab, void *buf, size_t len, uint64_t fi_access,
                 int internal, fw_fab_mr_t **mr_p)
{
    fw_status_t status;
    fw_fab_mr_t *mr;
    int ret;

    mr = calloc(1, sizeof(*mr));
    if (mr == NULL)
        return FW_ERR_NO_MEM;
    mr->fab = fab;
    mr->buf = buf;
    mr->len = len;
    mr->fi_access = fi_access;
    mr->internal = internal;
    ret = fw_fab_mr_fi_reg(fab, mr);
    if (ret != 0) {
        FW_LOG_ERR("fab.mr", "mr: fi_mr_reg of %zu bytes failed: %s", len,
                   fi_strerror(-ret));
        status = fw_fab_status_from_fi(ret);
        goto err_free_mr;
    }
    if ((fab->mr_mode & FI_MR_ENDPOINT) != 0) {
        ret = fi_mr_bind(mr->mr, &fab->ep->fid, 0);
        if (ret == 0)
            ret = fi_mr_enable(mr->mr);
        if (ret != 0) {
            FW_LOG_ERR("fab.mr", "mr: binding to the endpoint failed: %s",
                       fi_strerror(-ret));
            status = fw_fab_status_from_fi(ret);
            goto err_close_mr;
        }
    }
    mr->desc = fi_mr_desc(mr->mr);
    mr->remote = (fi_access & FI_REMOTE_READ) != 0;
    if (mr->remote) {
        status = fw_fab_mr_rkey_fill(fab, mr);
        if (status != FW_SUCCESS)
            goto err_close_mr;
    }
    mr->next = fab->mrs;
    if (fab->mrs != NULL)
        fab->mrs->prev = mr;
    fab->mrs = mr;
    FW_LOG_TRACE("fab.mr", "mr: registered %p+%zu access 0x%llx", buf, len,
                 (unsigned long long)fi_access);
    *mr_p = mr;
    return FW_SUCCESS;

err_close_mr:
    ret = fi_close(&mr->mr->fid);
    if (ret != 0)
        FW_LOG_WARN("fab.mr", "mr: close after failure: %s",
                    fi_strerror(-ret));
err_free_mr:
    free(mr);
    return status;
}

/*---------------------------------------------------------------------------*/
static void
fw_fab_mr_destroy(fw_fab_mr_t *mr)
{
    fw_fab_t *fab = mr->fab;
    int ret;

    if (mr->prev != NULL)
        mr->prev->next = mr->next;
    else
        fab->mrs = mr->next;
    if (mr->next != NULL)
        mr->next->prev = mr->prev;
    ret = fi_close(&mr->mr->fid);
    if (ret != 0)
        FW_LOG_WARN("fab.mr", "mr: deregistering %p+%zu failed: %s", mr->buf,
                    mr->len, fi_strerror(-ret));
    free(mr);
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_mr_reg(fw_fab_t *fab, void *buf, size_t len, unsigned access_flags,
              fw_fab_mr_t **mr_p)
{
    const unsigned known = FW_FAB_MR_LOCAL | FW_FAB_MR_REMOTE_READ;
    uint64_t fi_access = 0;

    if (fab == NULL || buf == NULL || len == 0 || mr_p == NULL ||
        access_flags == 0 || (access_flags & ~known) != 0)
        return FW_ERR_BAD_PARAM;
    if ((access_flags & FW_FAB_MR_LOCAL) != 0)
        fi_access |= FW_FAB_MR_FI_LOCAL;
    if ((access_flags & FW_FAB_MR_REMOTE_READ) != 0)
        fi_access |= FI_REMOTE_READ;
    return fw_fab_mr_create(fab, buf, len, fi_access, 0, mr_p);
}

/*---------------------------------------------------------------------------*/
void
fw_fab_mr_dereg(fw_fab_mr_t *mr)
{
    if (mr == NULL)
        return;
    fw_fab_mr_destroy(mr);
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_mr_desc_get(const fw_fab_mr_t *mr, fw_fab_rkey_t *rkey_p)
{
    if (mr == NULL || rkey_p == NULL || !mr->remote)
        return FW_ERR_BAD_PARAM;
    *rkey_p = mr->rkey;
    return FW_SUCCESS;
}

/*****************************************************************************/
/* Wire format                                                               */
/*****************************************************************************/

/*
 * version u8 | flags u8 | raw_len u16 | addr u64 | len u64 | key u64 |
 * raw_base u64 | raw key bytes (raw_len). Big-endian (fw_buf).
 */

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_rkey_pack(const fw_fab_rkey_t *rkey, fw_buf_t *buf)
{
    if (rkey == NULL || buf == NULL || rkey->raw_len > FW_FAB_RKEY_RAW_MAX)
        return FW_ERR_BAD_PARAM;
    fw_buf_put_u8(buf, FW_FAB_RKEY_VERSION);
    fw_buf_put_u8(buf, rkey->raw_len > 0 ? FW_FAB_RKEY_FLAG_RAW : 0);
    fw_buf_put_u16(buf, rkey->raw_len);
    fw_buf_put_u64(buf, rkey->addr);
    fw_buf_put_u64(buf, rkey->len);
    fw_buf_put_u64(buf, rkey->key);
    fw_buf_put_u64(buf, rkey->raw_base);
    fw_buf_put_bytes(buf, rkey->raw, rkey->raw_len);
    return fw_buf_status(buf);
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_rkey_unpack(fw_rbuf_t *r, fw_fab_rkey_t *rkey_p)
{
    fw_fab_rkey_t rk;
    uint8_t version, flags;

    if (r == NULL || rkey_p == NULL)
        return FW_ERR_BAD_PARAM;
    memset(&rk, 0, sizeof(rk));
    version = fw_rbuf_get_u8(r);
    flags = fw_rbuf_get_u8(r);
    rk.raw_len = fw_rbuf_get_u16(r);
    if (fw_rbuf_status(r) != FW_SUCCESS || version != FW_FAB_RKEY_VERSION ||
        (flags & ~FW_FAB_RKEY_FLAG_RAW) != 0 ||
        rk.raw_len > FW_FAB_RKEY_RAW_MAX ||
        ((flags & FW_FAB_RKEY_FLAG_RAW) != 0) != (rk.raw_len > 0))
        return FW_ERR_PROTO;
    rk.addr = fw_rbuf_get_u64(r);
    rk.len = fw_rbuf_get_u64(r);
    rk.key = fw_rbuf_get_u64(r);
    rk.raw_base = fw_rbuf_get_u64(r);
    fw_rbuf_get_bytes(r, rk.raw, rk.raw_len);
    if (fw_rbuf_status(r) != FW_SUCCESS || rk.len == 0 ||
        rk.addr > UINT64_MAX - rk.len)
        return FW_ERR_PROTO;
    *rkey_p = rk;
    return FW_SUCCESS;
}

/*****************************************************************************/
/* Local buffers under FI_MR_LOCAL                                           */
/*****************************************************************************/

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_mr_bounce_open(fw_fab_t *fab)
{
    fw_status_t status;

    if ((fab->mr_mode & FI_MR_LOCAL) == 0)
        return FW_SUCCESS;
    fab->bounce_size = fw_fab_info_bounce_size();
    /* calloc touches nothing, but FI_MR_ALLOCATED wants backed pages */
    fab->bounce = malloc(fab->bounce_size);
    if (fab->bounce == NULL)
        return FW_ERR_NO_MEM;
    memset(fab->bounce, 0, fab->bounce_size);
    status = fw_fab_mr_create(fab, fab->bounce, fab->bounce_size,
                              FW_FAB_MR_FI_LOCAL, 1, &fab->bounce_mr);
    if (status != FW_SUCCESS) {
        free(fab->bounce);
        fab->bounce = NULL;
    }
    return status;
}

/*---------------------------------------------------------------------------*/
/* A caller's region registered for local use that covers [buf, buf+len). */
static fw_fab_mr_t *
fw_fab_mr_find_local(fw_fab_t *fab, const void *buf, size_t len)
{
    uintptr_t b = (uintptr_t)buf;
    fw_fab_mr_t *mr;

    for (mr = fab->mrs; mr != NULL; mr = mr->next) {
        uintptr_t m = (uintptr_t)mr->buf;

        if (!mr->internal && (mr->fi_access & FI_RECV) != 0 && b >= m &&
            len <= mr->len && b - m <= mr->len - len)
            return mr;
    }
    return NULL;
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_mr_local_prepare(fw_fab_t *fab, fw_fab_op_t *op, int to_peer)
{
    fw_fab_mr_t *mr;
    fw_status_t status;

    op->buf = op->user_buf;
    op->desc = NULL;
    if ((fab->mr_mode & FI_MR_LOCAL) == 0 || op->len == 0)
        return FW_SUCCESS;
    mr = fw_fab_mr_find_local(fab, op->user_buf, op->len);
    if (mr != NULL) {
        op->desc = mr->desc;
        return FW_SUCCESS;
    }
    if (!fab->bounce_busy && op->len <= fab->bounce_size) {
        fab->bounce_busy = 1;
        op->use_bounce = 1;
        op->buf = fab->bounce;
        op->desc = fab->bounce_mr->desc;
        if (to_peer)
            memcpy(fab->bounce, op->user_buf, op->len);
        return FW_SUCCESS;
    }
    status = fw_fab_mr_create(fab, op->user_buf, op->len, FW_FAB_MR_FI_LOCAL,
                              1, &op->tmp_mr);
    if (status != FW_SUCCESS)
        return status;
    op->desc = op->tmp_mr->desc;
    return FW_SUCCESS;
}

/*---------------------------------------------------------------------------*/
void
fw_fab_mr_local_release(fw_fab_t *fab, fw_fab_op_t *op, size_t copy_len)
{
    if (op->use_bounce) {
        if (copy_len > 0 && op->type != FW_FAB_OP_TSEND)
            memcpy(op->user_buf, fab->bounce, copy_len);
        fab->bounce_busy = 0;
        op->use_bounce = 0;
    }
    if (op->tmp_mr != NULL) {
        fw_fab_mr_destroy(op->tmp_mr);
        op->tmp_mr = NULL;
    }
}

/*---------------------------------------------------------------------------*/
void
fw_fab_mr_close_all(fw_fab_t *fab)
{
    size_t leaked = 0;

    while (fab->mrs != NULL) {
        if (!fab->mrs->internal)
            leaked++;
        fw_fab_mr_destroy(fab->mrs);
    }
    if (leaked > 0)
        FW_LOG_WARN("fab.mr", "mr: %zu region(s) still registered at "
                    "close, deregistered", leaked);
    fab->bounce_mr = NULL;
    free(fab->bounce);
    fab->bounce = NULL;
}
