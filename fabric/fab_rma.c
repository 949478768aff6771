/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One-sided RMA read from a peer's registered region: argument and
 * bounds checks, raw key mapping (FI_MR_RAW), the fi_read() post, and
 * the blocking wrapper over the non-blocking call.
 */
#include "fabric/fab_internal.h"
#include "common/log.h"

#include <string.h>

#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>

/*---------------------------------------------------------------------------*/
/* The key to put in fi_read(): the rkey's, or a mapped raw key. */
static fw_status_t
fw_fab_rma_key(fw_fab_t *fab, const fw_fab_rkey_t *rkey, fw_fab_op_t *op)
{
    uint8_t raw[FW_FAB_RKEY_RAW_MAX];
    int ret;

    if (rkey->raw_len == 0) {
        op->rkey = rkey->key;
        return FW_SUCCESS;
    }
    memcpy(raw, rkey->raw, rkey->raw_len);
    ret = fi_mr_map_raw(fab->domain, rkey->raw_base, raw, rkey->raw_len,
                        &op->rkey, 0);
    if (ret != 0) {
        FW_LOG_ERR("fab.mr", "mr: fi_mr_map_raw of a %u-byte key failed: %s",
                   (unsigned)rkey->raw_len, fi_strerror(-ret));
        return fw_fab_status_from_fi(ret);
    }
    op->rkey_mapped = 1;
    return FW_SUCCESS;
}

/*---------------------------------------------------------------------------*/
/* Build and submit a read op. [out] op_p: valid until its callback. */
static fw_status_t
fw_fab_rma_start(fw_fab_t *fab, uint64_t peer, void *local, size_t len,
                 const fw_fab_rkey_t *rkey, uint64_t offset, fw_fab_cb_t cb,
                 void *arg, fw_fab_op_t **op_p)
{
    fw_status_t status;
    fw_fab_op_t *op;

    if (fab == NULL || local == NULL || len == 0 || rkey == NULL ||
        cb == NULL || rkey->raw_len > FW_FAB_RKEY_RAW_MAX ||
        offset > rkey->len || len > rkey->len - offset)
        return FW_ERR_BAD_PARAM;
    op = fw_fab_op_alloc(fab, FW_FAB_OP_READ, cb, arg);
    if (op == NULL)
        return FW_ERR_NO_MEM;
    op->peer = peer;
    op->user_buf = local;
    op->len = len;
    op->raddr = rkey->addr + offset;
    status = fw_fab_rma_key(fab, rkey, op);
    if (status != FW_SUCCESS)
        goto err_free_op;
    status = fw_fab_mr_local_prepare(fab, op, 0);
    if (status != FW_SUCCESS)
        goto err_free_op;
    status = fw_fab_op_submit(op);
    if (status != FW_SUCCESS)
        return status; /* submit freed op */
    *op_p = op;
    return FW_SUCCESS;

err_free_op:
    fw_fab_op_free(op);
    return status;
}

/*---------------------------------------------------------------------------*/
ssize_t
fw_fab_rma_post(fw_fab_op_t *op)
{
    return fi_read(op->fab->ep, op->buf, op->len, op->desc, op->peer,
                   op->raddr, op->rkey, &op->ctx);
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_read_nb(fw_fab_t *fab, uint64_t peer, void *local, size_t len,
               const fw_fab_rkey_t *rkey, uint64_t offset, fw_fab_cb_t cb,
               void *arg)
{
    fw_fab_op_t *op;

    return fw_fab_rma_start(fab, peer, local, len, rkey, offset, cb, arg, &op);
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_read(fw_fab_t *fab, uint64_t peer, void *local, size_t len,
            const fw_fab_rkey_t *rkey, uint64_t offset, int timeout_ms)
{
    fw_fab_waiter_t w = {0};
    fw_fab_op_t *op = NULL;
    fw_status_t status;

    if (fab != NULL && fab->in_progress > 0)
        return FW_ERR_WOULD_BLOCK;
    status = fw_fab_rma_start(fab, peer, local, len, rkey, offset,
                              fw_fab_op_wait_cb, &w, &op);
    if (status != FW_SUCCESS)
        return status;
    status = fw_fab_op_wait(fab, op, &w, timeout_ms);
    return status == FW_SUCCESS ? w.cmpl.status : status;
}
