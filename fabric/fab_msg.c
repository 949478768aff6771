/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tagged messages: fi_tsend()/fi_trecv() posts, their non-blocking entry
 * points and the blocking wrappers (a larger message than the receive
 * buffer completes with FW_ERR_TRUNCATE).
 */
#include "fabric/fab_internal.h"
#include "common/log.h"
#include "common/util.h"

#include <stdlib.h>

#include <rdma/fi_errno.h>
#include <rdma/fi_tagged.h>

/*---------------------------------------------------------------------------*/
/* A receive smaller than fab->rx_floor goes to a floor-sized buffer (see
 * FW_FAB_QUIRK_RXM_SAR); the release copies what fits into the caller's. */
static fw_status_t
fw_fab_msg_rx_floor(fw_fab_t *fab, fw_fab_op_t *op)
{
    op->rx_big = fab->rx_spare != NULL ? fab->rx_spare : malloc(fab->rx_floor);
    fab->rx_spare = NULL;
    if (op->rx_big == NULL)
        return FW_ERR_NO_MEM;
    op->buf = op->rx_big;
    return FW_SUCCESS;
}

/*---------------------------------------------------------------------------*/
/* Build and submit a tagged op (a send with *data if data is not NULL).
 * [out] op_p: valid until its callback. */
static fw_status_t
fw_fab_msg_start_data(fw_fab_t *fab, fw_fab_op_type_t type, uint64_t peer,
                      uint64_t tag, uint64_t ignore, const uint64_t *data,
                      void *buf, size_t len, fw_fab_cb_t cb, void *arg,
                      fw_fab_op_t **op_p)
{
    fw_status_t status;
    fw_fab_op_t *op;
    size_t dsize = fw_fab_cq_data_size(fab);

    if (fab == NULL || (buf == NULL && len > 0) || cb == NULL)
        return FW_ERR_BAD_PARAM;
    if (ignore != 0 && fab->exact_tags)
        return FW_ERR_UNSUPPORTED; /* see fw_fab_exact_tags() */
    if (data != NULL &&
        (dsize == 0 || (dsize < 8 && (*data >> (8 * dsize)) != 0)))
        return FW_ERR_UNSUPPORTED;
    op = fw_fab_op_alloc(fab, type, cb, arg);
    if (op == NULL)
        return FW_ERR_NO_MEM;
    op->peer = peer;
    op->tag = tag;
    op->ignore = ignore;
    op->with_data = data != NULL;
    op->data = data != NULL ? *data : 0;
    op->user_buf = buf;
    op->len = len;
    status = fw_fab_mr_local_prepare(fab, op, type == FW_FAB_OP_TSEND);
    if (status == FW_SUCCESS && type == FW_FAB_OP_TRECV && len < fab->rx_floor)
        status = fw_fab_msg_rx_floor(fab, op);
    if (status != FW_SUCCESS) {
        fw_fab_op_free(op);
        return status;
    }
    status = fw_fab_op_submit(op);
    if (status != FW_SUCCESS)
        return status; /* submit freed op */
    *op_p = op;
    return FW_SUCCESS;
}

/*---------------------------------------------------------------------------*/
/* Build and submit a tagged op. [out] op_p: valid until its callback. */
static fw_status_t
fw_fab_msg_start(fw_fab_t *fab, fw_fab_op_type_t type, uint64_t peer,
                 uint64_t tag, uint64_t ignore, void *buf, size_t len,
                 fw_fab_cb_t cb, void *arg, fw_fab_op_t **op_p)
{
    return fw_fab_msg_start_data(fab, type, peer, tag, ignore, NULL, buf, len,
                                 cb, arg, op_p);
}

/*---------------------------------------------------------------------------*/
size_t
fw_fab_inject_size(const fw_fab_t *fab)
{
    return fab == NULL ? 0 : fab->inject_max;
}

/*---------------------------------------------------------------------------*/
size_t
fw_fab_cq_data_size(const fw_fab_t *fab)
{
    size_t n;

    if (fab == NULL || fab->info->domain_attr == NULL)
        return 0;
    n = fab->info->domain_attr->cq_data_size;
    return n > 8 ? 8 : n;
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_tsenddata_nb(fw_fab_t *fab, uint64_t peer, uint64_t tag, uint64_t data,
                    const void *buf, size_t len, int timeout_ms,
                    fw_fab_cb_t cb, void *arg)
{
    fw_fab_op_t *op = NULL;
    uint64_t deadline = timeout_ms < 0
                            ? 0
                            : fw_time_ns() + (uint64_t)timeout_ms * 1000000u;
    fw_status_t status;

    status = fw_fab_msg_start_data(fab, FW_FAB_OP_TSEND, peer, tag, 0, &data,
                                   (void *)buf, len, cb, arg, &op);
    if (status == FW_SUCCESS)
        op->deadline_ns = deadline; /* still ours: callbacks come later */
    return status;
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_tsenddata(fw_fab_t *fab, uint64_t peer, uint64_t tag, uint64_t data,
                 const void *buf, size_t len, int timeout_ms)
{
    fw_fab_waiter_t w = {0};
    fw_fab_op_t *op = NULL;
    fw_status_t status;

    if (fab != NULL && fab->in_progress > 0)
        return FW_ERR_WOULD_BLOCK;
    status = fw_fab_msg_start_data(fab, FW_FAB_OP_TSEND, peer, tag, 0, &data,
                                   (void *)buf, len, fw_fab_op_wait_cb, &w,
                                   &op);
    if (status != FW_SUCCESS)
        return status;
    status = fw_fab_op_wait(fab, op, &w, timeout_ms);
    return status == FW_SUCCESS ? w.cmpl.status : status;
}

/*---------------------------------------------------------------------------*/
ssize_t
fw_fab_msg_post(fw_fab_op_t *op)
{
    if (op->type == FW_FAB_OP_TSEND && op->with_data)
        return fi_tsenddata(op->fab->ep, op->buf, op->len, op->desc,
                            op->data, op->peer, op->tag, &op->ctx);
    if (op->type == FW_FAB_OP_TSEND)
        return fi_tsend(op->fab->ep, op->buf, op->len, op->desc, op->peer,
                        op->tag, &op->ctx);
    return fi_trecv(op->fab->ep, op->buf,
                    op->rx_big != NULL ? op->fab->rx_floor : op->len, op->desc,
                    FI_ADDR_UNSPEC,
                    op->tag, op->ignore, &op->ctx);
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_tsend_nb(fw_fab_t *fab, uint64_t peer, uint64_t tag, const void *buf,
                size_t len, fw_fab_cb_t cb, void *arg)
{
    fw_fab_op_t *op;

    /* buf is only read: the op keeps it non-const for the shared fields */
    return fw_fab_msg_start(fab, FW_FAB_OP_TSEND, peer, tag, 0, (void *)buf,
                            len, cb, arg, &op);
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_trecv_nb(fw_fab_t *fab, uint64_t tag, uint64_t ignore, void *buf,
                size_t cap, fw_fab_cb_t cb, void *arg)
{
    fw_fab_op_t *op;

    return fw_fab_msg_start(fab, FW_FAB_OP_TRECV, FI_ADDR_UNSPEC, tag, ignore,
                            buf, cap, cb, arg, &op);
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_tinject_try(fw_fab_t *fab, uint64_t peer, uint64_t tag,
                   const void *buf, size_t len)
{
    ssize_t ret;

    if (fab == NULL || (buf == NULL && len > 0))
        return FW_ERR_BAD_PARAM;
    if (len > fab->inject_max)
        return FW_ERR_UNSUPPORTED;
    if (fab->retry_head != NULL) /* queued sends go first */
        return FW_ERR_WOULD_BLOCK;
    ret = fi_tinject(fab->ep, buf, len, peer, tag);
    if (ret == -FI_EAGAIN)
        return FW_ERR_WOULD_BLOCK;
    if (ret == -FI_ENOSYS || ret == -FI_EOPNOTSUPP || ret == -FI_EMSGSIZE) {
        fab->inject_max = 0; /* not this provider: complete sends */
        return FW_ERR_UNSUPPORTED;
    }
    if (ret != 0) {
        FW_LOG_DEBUG("fab", "ep: fi_tinject failed: %s",
                     fi_strerror((int)-ret));
        return fw_fab_status_from_fi((int)ret);
    }
    return FW_SUCCESS;
}

/*---------------------------------------------------------------------------*/
/*
 * A small send injected: the provider copies it and there is no
 * completion to wait for (over tcp;ofi_rxm, a 4-byte send waits ~15 us
 * for its completion otherwise). Not while sends wait for a retry: they
 * go first. FW_ERR_WOULD_BLOCK when the provider cannot inject it.
 */
static fw_status_t
fw_fab_tinject(fw_fab_t *fab, uint64_t peer, uint64_t tag, const void *buf,
               size_t len, int timeout_ms)
{
    uint64_t end, now, nap = 5000;
    fw_status_t rc;

    if (len > fab->inject_max || fab->retry_head != NULL)
        return FW_ERR_WOULD_BLOCK;
    if (timeout_ms < 0)
        timeout_ms = fw_fab_info_timeout_ms();
    end = fw_time_ns() + (uint64_t)timeout_ms * 1000000u;
    while ((rc = fw_fab_tinject_try(fab, peer, tag, buf, len)) ==
           FW_ERR_WOULD_BLOCK) {
        fw_fab_progress(fab, NULL);
        now = fw_time_ns();
        if (now >= end)
            return FW_ERR_TIMEOUT;
        /* a peer that does not take it (gone?): naps of 5 us to 1 ms,
         * no spinning meanwhile */
        fw_fab_nap(&nap, end - now);
    }
    if (rc == FW_ERR_UNSUPPORTED)
        return FW_ERR_WOULD_BLOCK;
    if (rc == FW_SUCCESS)
        (void)fw_fab_progress(fab, NULL); /* out now, not at our next wait */
    return rc;
}

fw_status_t
fw_fab_tsend(fw_fab_t *fab, uint64_t peer, uint64_t tag, const void *buf,
             size_t len, int timeout_ms)
{
    fw_fab_waiter_t w = {0};
    fw_fab_op_t *op = NULL;
    fw_status_t status;

    if (fab != NULL && fab->in_progress > 0)
        return FW_ERR_WOULD_BLOCK;
    if (fab != NULL && (buf != NULL || len == 0)) {
        status = fw_fab_tinject(fab, peer, tag, buf, len, timeout_ms);
        if (status != FW_ERR_WOULD_BLOCK)
            return status;
    }
    status = fw_fab_msg_start(fab, FW_FAB_OP_TSEND, peer, tag, 0, (void *)buf,
                              len, fw_fab_op_wait_cb, &w, &op);
    if (status != FW_SUCCESS)
        return status;
    status = fw_fab_op_wait(fab, op, &w, timeout_ms);
    return status == FW_SUCCESS ? w.cmpl.status : status;
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_trecv(fw_fab_t *fab, uint64_t tag, uint64_t ignore, void *buf,
             size_t cap, size_t *len_p, uint64_t *tag_p, int timeout_ms)
{
    return fw_fab_trecv_stop(fab, tag, ignore, buf, cap, len_p, tag_p,
                             timeout_ms, NULL, NULL);
}

/*---------------------------------------------------------------------------*/
static fw_status_t
fw_fab_trecv_race(fw_fab_t *fab, uint64_t tag, uint64_t ignore, void *buf,
                  size_t cap, size_t *len_p, uint64_t *tag_p, int timeout_ms,
                  fw_fab_stop_fn stop, void *stop_arg, int race)
{
    fw_fab_waiter_t w = {0};
    fw_fab_op_t *op = NULL;
    fw_status_t status;

    if (fab != NULL && fab->in_progress > 0)
        return FW_ERR_WOULD_BLOCK;
    status = fw_fab_msg_start(fab, FW_FAB_OP_TRECV, FI_ADDR_UNSPEC, tag,
                              ignore, buf, cap, fw_fab_op_wait_cb, &w, &op);
    if (status != FW_SUCCESS)
        return status;
    status = fw_fab_op_wait_race(fab, op, &w, timeout_ms, stop, stop_arg,
                                 race);
    if (status != FW_SUCCESS)
        return status;
    if (w.cmpl.status != FW_SUCCESS)
        return w.cmpl.status;
    if (len_p != NULL)
        *len_p = w.cmpl.len;
    if (tag_p != NULL)
        *tag_p = w.cmpl.tag;
    return FW_SUCCESS;
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_trecv_stop(fw_fab_t *fab, uint64_t tag, uint64_t ignore, void *buf,
                  size_t cap, size_t *len_p, uint64_t *tag_p, int timeout_ms,
                  fw_fab_stop_fn stop, void *stop_arg)
{
    return fw_fab_trecv_race(fab, tag, ignore, buf, cap, len_p, tag_p,
                             timeout_ms, stop, stop_arg, 0);
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_trecv_or(fw_fab_t *fab, uint64_t tag, uint64_t ignore, void *buf,
                size_t cap, size_t *len_p, uint64_t *tag_p, int timeout_ms,
                fw_fab_stop_fn stop, void *stop_arg)
{
    return fw_fab_trecv_race(fab, tag, ignore, buf, cap, len_p, tag_p,
                             timeout_ms, stop, stop_arg, 1);
}
