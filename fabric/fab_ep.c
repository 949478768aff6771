/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fw_fab_t handle: opening and closing the endpoint with its CQ and
 * AV, the endpoint address, and progress. Operations are posted through
 * fw_fab_op_submit(), completed by reading the CQ, queued, and their
 * callbacks run only from fw_fab_progress(); blocking calls wait here.
 */
#define _GNU_SOURCE /* ppoll */
#include "fabric/fab_internal.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <glob.h>
#include <poll.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <rdma/fi_cm.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>

/****************/
/* Local Macros */
/****************/

/* CQ entries read per fi_cq_read() and batches per progress call. */
#define FW_FAB_CQ_BATCH 16
#define FW_FAB_CQ_MAX_BATCHES 64

/* Longest single sleep of a blocking call (it re-checks its deadline). */
#define FW_FAB_WAIT_SLICE_MS 100
/* Sleep of a blocking call when the CQ has no wait fd. */
/* Providers without a wait fd (shm): sleeps between CQ polls start
 * short and double up to the cap, so a quick answer is seen quickly and
 * a long wait costs little CPU. */
#define FW_FAB_NOFD_SLEEP_MIN_NS 5000
#define FW_FAB_NOFD_SLEEP_NS 1000000

/********************/
/* Local Prototypes */
/********************/

static fw_status_t fw_fab_ep_open(fw_fab_t *fab, fw_error_t *err);
static void fw_fab_ep_close_fid(struct fid *fid, const char *what);
static void fw_fab_op_cancel(fw_fab_t *fab, fw_fab_op_t *op);
static const char *fw_fab_op_name(const fw_fab_op_t *op);
static void fw_fab_op_complete(fw_fab_op_t *op, fw_status_t status,
                               size_t len, uint64_t tag, uint64_t data);

/*---------------------------------------------------------------------------*/
static fw_status_t
fw_fab_ep_cq_open(fw_fab_t *fab, fw_error_t *err)
{
    struct fi_cq_attr attr;
    int ret = -FI_ENOSYS;

    memset(&attr, 0, sizeof(attr));
    attr.format = FI_CQ_FORMAT_TAGGED;
    if ((fab->prov->quirks & FW_FAB_QUIRK_NO_WAIT_FD) == 0) {
        attr.wait_obj = FI_WAIT_FD;
        ret = fi_cq_open(fab->domain, &attr, &fab->cq, NULL);
        if (ret != 0)
            FW_LOG_DEBUG("fab", "ep: cq with wait fd not available: %s",
                         fi_strerror(-ret));
    }
    if (ret != 0) {
        attr.wait_obj = FI_WAIT_NONE;
        ret = fi_cq_open(fab->domain, &attr, &fab->cq, NULL);
    }
    if (ret != 0) {
        FW_LOG_ERR("fab", "ep: fi_cq_open failed: %s", fi_strerror(-ret));
        fw_errprintf(err, "fi_cq_open: %s", fi_strerror(-ret));
        return fw_fab_status_from_fi(ret);
    }
    fab->wait_fd = -1;
    if (attr.wait_obj == FI_WAIT_FD) {
        ret = fi_control(&fab->cq->fid, FI_GETWAIT, &fab->wait_fd);
        if (ret != 0) {
            FW_LOG_DEBUG("fab", "ep: cq FI_GETWAIT failed: %s",
                         fi_strerror(-ret));
            fab->wait_fd = -1;
        }
    }
    return FW_SUCCESS;
}

/*---------------------------------------------------------------------------*/
static fw_status_t
fw_fab_ep_av_open(fw_fab_t *fab, fw_error_t *err)
{
    struct fi_av_attr attr;
    int ret;

    memset(&attr, 0, sizeof(attr));
    attr.type = fab->info->domain_attr->av_type;
    ret = fi_av_open(fab->domain, &attr, &fab->av, NULL);
    if (ret != 0) {
        FW_LOG_ERR("fab", "ep: fi_av_open failed: %s", fi_strerror(-ret));
        fw_errprintf(err, "fi_av_open: %s", fi_strerror(-ret));
        return fw_fab_status_from_fi(ret);
    }
    return FW_SUCCESS;
}

/*---------------------------------------------------------------------------*/
/*
 * shm names its region "<pid>:<domain>:<ep>" by default; a region left in
 * /dev/shm by a SIGKILLed process whose pid came back makes fi_enable
 * fail with EBUSY (libfabric 1.17). Give string-addressed endpoints a
 * name of their own: FW_FAB_SHM_PREFIX<pid>_<random>, which also lets the
 * daemon remove what its killed ranks left.
 */
static int
fw_fab_ep_name_shm(fw_fab_t *fab)
{
    char name[64];
    uint32_t rnd = 0;

    if (fab->info->addr_format != FI_ADDR_STR)
        return 0;
    if (fw_random_bytes(&rnd, sizeof(rnd)) != FW_SUCCESS)
        return -FI_EIO;
    snprintf(name, sizeof(name), "%s%d_%08x", FW_FAB_SHM_PREFIX,
             (int)getpid(), rnd);
    return fi_setname(&fab->ep->fid, name, strlen(name) + 1);
}

/*---------------------------------------------------------------------------*/
void
fw_fab_shm_sweep(pid_t pid)
{
    char pattern[128];
    glob_t g;

    snprintf(pattern, sizeof(pattern), "/dev/shm/%s%d_*", FW_FAB_SHM_PREFIX,
             (int)pid);
    if (glob(pattern, 0, NULL, &g) != 0)
        return;
    for (size_t i = 0; i < g.gl_pathc; i++)
        if (unlink(g.gl_pathv[i]) != 0)
            FW_LOG_DEBUG("fab", "%s: unlink: %m", g.gl_pathv[i]);
    globfree(&g);
}

/*---------------------------------------------------------------------------*/
void
fw_fab_shm_sweep_dead(void)
{
    char pattern[64];
    const char *name;
    glob_t g;
    long pid;
    char *end;

    snprintf(pattern, sizeof(pattern), "/dev/shm/%s*_*", FW_FAB_SHM_PREFIX);
    if (glob(pattern, 0, NULL, &g) != 0)
        return;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        name = g.gl_pathv[i] + strlen("/dev/shm/" FW_FAB_SHM_PREFIX);
        errno = 0;
        pid = strtol(name, &end, 10);
        if (errno != 0 || end == name || *end != '_' || pid <= 0 ||
            pid > INT32_MAX || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* not ours, alive, or not ours to tell (EPERM) */
        if (unlink(g.gl_pathv[i]) == 0)
            FW_LOG_DEBUG("fab", "%s: removed (process %ld is gone)",
                         g.gl_pathv[i], pid);
    }
    globfree(&g);
}

/*---------------------------------------------------------------------------*/
/* Endpoint: create, bind AV and CQ, enable, read back its address. */
static fw_status_t
fw_fab_ep_open(fw_fab_t *fab, fw_error_t *err)
{
    const char *what;
    size_t len;
    int ret;

    what = "fi_endpoint";
    ret = fi_endpoint(fab->domain, fab->info, &fab->ep, NULL);
    if (ret != 0)
        goto err;
    what = "fi_ep_bind av";
    ret = fi_ep_bind(fab->ep, &fab->av->fid, 0);
    if (ret != 0)
        goto err_close_ep;
    what = "fi_ep_bind cq";
    ret = fi_ep_bind(fab->ep, &fab->cq->fid, FI_TRANSMIT | FI_RECV);
    if (ret != 0)
        goto err_close_ep;
    what = "fi_setname";
    ret = fw_fab_ep_name_shm(fab);
    if (ret != 0)
        goto err_close_ep;
    what = "fi_enable";
    ret = fi_enable(fab->ep);
    if (ret != 0)
        goto err_close_ep;
    what = "fi_getname";
    len = sizeof(fab->addr);
    ret = fi_getname(&fab->ep->fid, fab->addr, &len);
    if (ret != 0)
        goto err_close_ep;
    fab->addr_len = len;
    return FW_SUCCESS;

err_close_ep:
    fw_fab_ep_close_fid(&fab->ep->fid, "endpoint");
    fab->ep = NULL;
err:
    FW_LOG_ERR("fab", "ep: %s failed: %s", what, fi_strerror(-ret));
    fw_errprintf(err, "%s: %s", what, fi_strerror(-ret));
    return fw_fab_status_from_fi(ret);
}

/*---------------------------------------------------------------------------*/
static void
fw_fab_ep_setup(fw_fab_t *fab)
{
    size_t key_size = fab->info->domain_attr->mr_key_size;

    fab->mr_mode = (uint64_t)fab->info->domain_attr->mr_mode |
                   fw_fab_info_mr_mode_extra();
    fab->key_mask = key_size == 0 || key_size >= 8
                        ? UINT64_MAX
                        : (UINT64_C(1) << (8 * key_size)) - 1;
    fab->next_key = 1;
    fab->spin_us = fw_fab_info_spin_us();
    fab->inject_max = fw_fab_info_inject() && fab->info->tx_attr != NULL
                          ? fab->info->tx_attr->inject_size
                          : 0;
    fab->exact_tags = fw_fab_info_exact_tags(fab->prov);
    fab->rx_floor = fw_fab_info_rx_floor(fab->prov, fab->mr_mode);
    fab->wait_fd = -1;
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_open(const fw_fab_params_t *params, fw_fab_t **fab_p, fw_error_t *err)
{
    const uint64_t known = FW_FAB_PARAMS_FIELD_PROVIDER |
                           FW_FAB_PARAMS_FIELD_SRC_NODE |
                           FW_FAB_PARAMS_FIELD_NIC;
    fw_fab_sel_t sel;
    fw_fab_t *fab;
    fw_status_t status;

    if (fab_p == NULL || (params != NULL && (params->field_mask & ~known))) {
        fw_errprintf(err, "fabric open: invalid parameters");
        return FW_ERR_BAD_PARAM;
    }
    fab = calloc(1, sizeof(*fab));
    if (fab == NULL) {
        fw_errprintf(err, "fabric open: out of memory");
        return FW_ERR_NO_MEM;
    }
    status = fw_fab_info_select(params, &sel, err);
    if (status != FW_SUCCESS)
        goto err_free_fab;
    fab->prov = sel.prov;
    fab->info = sel.info;
    memcpy(fab->nic, sel.nic, sizeof(fab->nic));
    fw_fab_ep_setup(fab);

    status = fw_fab_domain_open(fab, err);
    if (status != FW_SUCCESS)
        goto err_free_info;
    status = fw_fab_ep_cq_open(fab, err);
    if (status != FW_SUCCESS)
        goto err_close_domain;
    status = fw_fab_ep_av_open(fab, err);
    if (status != FW_SUCCESS)
        goto err_close_cq;
    status = fw_fab_ep_open(fab, err);
    if (status != FW_SUCCESS)
        goto err_close_av;
    status = fw_fab_mr_bounce_open(fab);
    if (status != FW_SUCCESS) {
        fw_errprintf(err, "bounce buffer registration: %s",
                     fw_strerror(status));
        goto err_close_ep;
    }
    FW_LOG_DEBUG("fab", "ep: open on %s domain %s, wait fd %d, mr_mode 0x%llx",
                 fab->prov->name, fab->info->domain_attr->name, fab->wait_fd,
                 (unsigned long long)fab->mr_mode);
    *fab_p = fab;
    return FW_SUCCESS;

err_close_ep:
    fw_fab_ep_close_fid(&fab->ep->fid, "endpoint");
err_close_av:
    fw_fab_ep_close_fid(&fab->av->fid, "av");
err_close_cq:
    fw_fab_ep_close_fid(&fab->cq->fid, "cq");
err_close_domain:
    fw_fab_domain_close(fab);
err_free_info:
    fi_freeinfo(fab->info);
err_free_fab:
    fw_errprepend(err, "fabric open");
    free(fab);
    return status;
}

/*---------------------------------------------------------------------------*/
static void
fw_fab_ep_close_fid(struct fid *fid, const char *what)
{
    int ret;

    if (fid == NULL)
        return;
    ret = fi_close(fid);
    if (ret != 0)
        FW_LOG_WARN("fab", "ep: closing %s failed: %s", what,
                    fi_strerror(-ret));
}

/*---------------------------------------------------------------------------*/
/* Best effort: providers may not cancel reads or sends (-FI_ENOENT). */
static void
fw_fab_op_cancel(fw_fab_t *fab, fw_fab_op_t *op)
{
    ssize_t ret = fi_cancel(&fab->ep->fid, &op->ctx);

    if (ret != 0)
        FW_LOG_DEBUG("fab", "ep: cancelling %s: %s", fw_fab_op_name(op),
                     fi_strerror((int)-ret));
}

/*---------------------------------------------------------------------------*/
static void
fw_fab_ep_free_ops(fw_fab_t *fab)
{
    while (fab->ops != NULL)
        fw_fab_op_free(fab->ops);
    fab->retry_head = fab->retry_tail = NULL;
    fab->done_head = fab->done_tail = NULL;
}

/*---------------------------------------------------------------------------*/
void
fw_fab_pair(fw_fab_t *a, fw_fab_t *b)
{
    if (a == NULL || a == b)
        return;
    if (a->buddy != NULL)
        a->buddy->buddy = NULL;
    a->buddy = b;
    if (b != NULL) {
        if (b->buddy != NULL)
            b->buddy->buddy = NULL;
        b->buddy = a;
    }
}

/*---------------------------------------------------------------------------*/
void
fw_fab_close(fw_fab_t *fab)
{
    int saved = errno;
    fw_fab_op_t *op;
    int ret;

    if (fab == NULL)
        return;
    fw_fab_pair(fab, NULL);
    for (op = fab->ops; op != NULL; op = op->next) {
        if (op->state == FW_FAB_OP_POSTED)
            fw_fab_op_cancel(fab, op);
    }
    /* the endpoint first: after it, no provider touches op contexts */
    ret = fi_close(&fab->ep->fid);
    if (ret == -FI_EBUSY) {
        /* FI_MR_ENDPOINT providers may refuse while regions are bound */
        fw_fab_ep_free_ops(fab);
        fw_fab_mr_close_all(fab);
        ret = fi_close(&fab->ep->fid);
    }
    if (ret != 0)
        FW_LOG_WARN("fab", "ep: close failed: %s", fi_strerror(-ret));
    fw_fab_ep_free_ops(fab);
    fw_fab_mr_close_all(fab);
    fw_fab_ep_close_fid(&fab->av->fid, "av");
    fw_fab_ep_close_fid(&fab->cq->fid, "cq");
    fw_fab_domain_close(fab);
    fi_freeinfo(fab->info);
    free(fab->rx_spare);
    free(fab);
    errno = saved;
}

/*---------------------------------------------------------------------------*/
int
fw_fab_exact_tags(const fw_fab_t *fab)
{
    return fab != NULL && fab->exact_tags;
}

/*---------------------------------------------------------------------------*/
const char *
fw_fab_provider(const fw_fab_t *fab)
{
    return fab != NULL ? fab->prov->name : NULL;
}

/*---------------------------------------------------------------------------*/
const char *
fw_fab_domain(const fw_fab_t *fab)
{
    return fab != NULL ? fab->info->domain_attr->name : NULL;
}

/*---------------------------------------------------------------------------*/
const char *
fw_fab_nic(const fw_fab_t *fab)
{
    return fab != NULL ? fab->nic : NULL;
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_addr_get(const fw_fab_t *fab, void *buf, size_t *len_p)
{
    if (fab == NULL || len_p == NULL)
        return FW_ERR_BAD_PARAM;
    if (buf == NULL || *len_p < fab->addr_len) {
        *len_p = fab->addr_len;
        return FW_ERR_TOO_BIG;
    }
    memcpy(buf, fab->addr, fab->addr_len);
    *len_p = fab->addr_len;
    return FW_SUCCESS;
}

/*---------------------------------------------------------------------------*/
int
fw_fab_wait_fd(const fw_fab_t *fab)
{
    return fab != NULL ? fab->wait_fd : -1;
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_trywait(fw_fab_t *fab)
{
    struct fid *fid;
    int ret;

    if (fab == NULL)
        return FW_ERR_BAD_PARAM;
    if (fab->wait_fd < 0)
        return FW_ERR_UNSUPPORTED;
    if (fab->done_head != NULL || fab->retry_head != NULL)
        return FW_ERR_WOULD_BLOCK;
    fid = &fab->cq->fid;
    ret = fi_trywait(fab->fabric, &fid, 1);
    if (ret == 0)
        return FW_SUCCESS;
    if (ret != -FI_EAGAIN)
        FW_LOG_DEBUG("fab", "ep: fi_trywait failed: %s", fi_strerror(-ret));
    return FW_ERR_WOULD_BLOCK;
}

/*****************************************************************************/
/* Operations                                                                */
/*****************************************************************************/

/*---------------------------------------------------------------------------*/
fw_fab_op_t *
fw_fab_op_alloc(fw_fab_t *fab, fw_fab_op_type_t type, fw_fab_cb_t cb,
                void *arg)
{
    fw_fab_op_t *op = calloc(1, sizeof(*op));

    if (op == NULL)
        return NULL;
    op->fab = fab;
    op->type = type;
    op->cb = cb;
    op->arg = arg;
    op->state = FW_FAB_OP_QUEUED;
    op->next = fab->ops;
    if (fab->ops != NULL)
        fab->ops->prev = op;
    fab->ops = op;
    return op;
}

/*---------------------------------------------------------------------------*/
/* Give back what the transfer held: bounce/temporary registration and a
 * mapped raw key. copy_len bytes of a bounce buffer go to the caller. */
static void
fw_fab_op_release(fw_fab_op_t *op, size_t copy_len)
{
    int ret;

    fw_fab_mr_local_release(op->fab, op, copy_len);
    if (op->rx_big != NULL) {
        if (copy_len > 0)
            memcpy(op->user_buf, op->rx_big, copy_len);
        if (op->fab->rx_spare == NULL)
            op->fab->rx_spare = op->rx_big;
        else
            free(op->rx_big);
        op->rx_big = NULL;
    }
    if (op->rkey_mapped) {
        ret = fi_mr_unmap_key(op->fab->domain, op->rkey);
        if (ret != 0)
            FW_LOG_WARN("fab.mr", "mr: unmapping raw key failed: %s",
                        fi_strerror(-ret));
        op->rkey_mapped = 0;
    }
}

/*---------------------------------------------------------------------------*/
void
fw_fab_op_free(fw_fab_op_t *op)
{
    fw_fab_t *fab = op->fab;

    fw_fab_op_release(op, 0);
    if (op->prev != NULL)
        op->prev->next = op->next;
    else
        fab->ops = op->next;
    if (op->next != NULL)
        op->next->prev = op->prev;
    free(op);
}

/*---------------------------------------------------------------------------*/
static ssize_t
fw_fab_op_post(fw_fab_op_t *op)
{
    if (op->type == FW_FAB_OP_READ)
        return fw_fab_rma_post(op);
    return fw_fab_msg_post(op);
}

/*---------------------------------------------------------------------------*/
static void
fw_fab_op_enqueue(fw_fab_op_t **head, fw_fab_op_t **tail, fw_fab_op_t *op)
{
    op->qnext = NULL;
    if (*tail != NULL)
        (*tail)->qnext = op;
    else
        *head = op;
    *tail = op;
}

/*---------------------------------------------------------------------------*/
static const char *
fw_fab_op_name(const fw_fab_op_t *op)
{
    if (op == NULL)
        return "operation";
    switch (op->type) {
    case FW_FAB_OP_READ:
        return "read";
    case FW_FAB_OP_TSEND:
        return "tsend";
    default:
        return "trecv";
    }
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_op_submit(fw_fab_op_t *op)
{
    fw_fab_t *fab = op->fab;
    ssize_t ret;

    /* keep posting order: nothing overtakes an op waiting for resources */
    if (fab->retry_head != NULL) {
        fw_fab_op_enqueue(&fab->retry_head, &fab->retry_tail, op);
        return FW_SUCCESS;
    }
    ret = fw_fab_op_post(op);
    if (ret == 0) {
        op->state = FW_FAB_OP_POSTED;
        return FW_SUCCESS;
    }
    if (ret == -FI_EAGAIN) {
        op->state = FW_FAB_OP_QUEUED;
        fw_fab_op_enqueue(&fab->retry_head, &fab->retry_tail, op);
        return FW_SUCCESS;
    }
    FW_LOG_ERR("fab", "ep %s: posting %s failed: %s",
               fab->info->domain_attr->name, fw_fab_op_name(op),
               fi_strerror((int)-ret));
    fw_fab_op_free(op);
    return fw_fab_status_from_fi((int)ret);
}

/*---------------------------------------------------------------------------*/
/* Take a queued op off the retry queue. */
static void
fw_fab_op_unqueue(fw_fab_t *fab, fw_fab_op_t *op)
{
    fw_fab_op_t **pp;

    for (pp = &fab->retry_head; *pp != NULL; pp = &(*pp)->qnext) {
        if (*pp != op)
            continue;
        *pp = op->qnext;
        break;
    }
    fab->retry_tail = NULL;
    for (pp = &fab->retry_head; *pp != NULL; pp = &(*pp)->qnext)
        fab->retry_tail = *pp;
    op->qnext = NULL;
}

/*---------------------------------------------------------------------------*/
/* Non-blocking ops past their time limit: a queued one completes with
 * FW_ERR_TIMEOUT (the provider never had it: a send to a dead peer can be
 * refused with -FI_EAGAIN forever), a posted one is cancelled (its
 * completion says FW_ERR_TIMEOUT). */
static void
fw_fab_op_expire(fw_fab_t *fab)
{
    uint64_t now = 0;
    fw_fab_op_t *op, *next;

    for (op = fab->ops; op != NULL; op = next) {
        next = op->next;
        if (op->deadline_ns == 0 || op->cancelled)
            continue;
        if (now == 0)
            now = fw_time_ns();
        if (now < op->deadline_ns)
            continue;
        op->cancelled = 1;
        if (op->state == FW_FAB_OP_QUEUED) {
            fw_fab_op_unqueue(fab, op);
            fw_fab_op_complete(op, FW_ERR_TIMEOUT, 0, 0, 0);
        } else if (op->state == FW_FAB_OP_POSTED) {
            fw_fab_op_cancel(fab, op);
        }
    }
}

/*---------------------------------------------------------------------------*/
/* Post queued ops in order until the provider pushes back again. */
static void
fw_fab_op_retry(fw_fab_t *fab)
{
    fw_fab_op_t *op;
    ssize_t ret;

    while ((op = fab->retry_head) != NULL) {
        ret = fw_fab_op_post(op);
        if (ret == -FI_EAGAIN)
            return;
        fab->retry_head = op->qnext;
        if (fab->retry_head == NULL)
            fab->retry_tail = NULL;
        op->state = FW_FAB_OP_POSTED;
        if (ret != 0) {
            FW_LOG_WARN("fab", "ep: posting a queued operation failed: %s",
                        fi_strerror((int)-ret));
            fw_fab_op_complete(op, fw_fab_status_from_fi((int)ret), 0, 0, 0);
        }
    }
}

/*---------------------------------------------------------------------------*/
/* The provider is done with op: release its buffers and queue its
 * callback (orphans of timed-out blocking calls are just freed). */
static void
fw_fab_op_complete(fw_fab_op_t *op, fw_status_t status, size_t len,
                   uint64_t tag, uint64_t data)
{
    fw_fab_t *fab = op->fab;

    if (op->type != FW_FAB_OP_TRECV)
        len = status == FW_SUCCESS ? op->len : 0;
    if (op->rx_big != NULL && status == FW_SUCCESS && len > op->len)
        status = FW_ERR_TRUNCATE; /* fit the floor, not the caller's cap */
    fw_fab_op_release(op, status == FW_SUCCESS || status == FW_ERR_TRUNCATE
                              ? (len < op->len ? len : op->len)
                              : 0);
    if (op->cb == NULL) {
        fw_fab_op_free(op);
        return;
    }
    op->state = FW_FAB_OP_DONE;
    op->cmpl.status = status;
    op->cmpl.len = len;
    op->cmpl.tag = op->type == FW_FAB_OP_TRECV ? tag : 0;
    op->cmpl.data = op->type == FW_FAB_OP_TRECV ? data : 0;
    fw_fab_op_enqueue(&fab->done_head, &fab->done_tail, op);
}

/*****************************************************************************/
/* Progress                                                                  */
/*****************************************************************************/

/*---------------------------------------------------------------------------*/
static fw_status_t
fw_fab_cq_readerr(fw_fab_t *fab)
{
    struct fi_cq_err_entry e;
    fw_status_t status;
    fw_fab_op_t *op;
    ssize_t ret;
    int err;

    memset(&e, 0, sizeof(e));
    ret = fi_cq_readerr(fab->cq, &e, 0);
    if (ret == -FI_EAGAIN)
        return FW_SUCCESS;
    if (ret < 0) {
        FW_LOG_ERR("fab", "cq: fi_cq_readerr failed: %s",
                   fi_strerror((int)-ret));
        return FW_ERR_FABRIC;
    }
    op = e.op_context;
    /* shm 1.17 reports err negated (-FI_ETRUNC): accept both signs */
    err = e.err < 0 ? -e.err : e.err;
    status = err == FI_ECANCELED ? FW_ERR_TIMEOUT : fw_fab_status_from_fi(-err);
    /* op NULL: an injected send (fw_fab_tsend), which nothing waits for;
     * its peer's failure shows in what waits for the peer */
    if (err == FI_ECANCELED || err == FI_ETRUNC || op == NULL ||
        op->cb == NULL)
        FW_LOG_DEBUG("fab", "cq: %s completed: %s", fw_fab_op_name(op),
                     fi_strerror(err));
    else
        FW_LOG_WARN("fab", "cq: %s failed: %s (%s)", fw_fab_op_name(op),
                    fi_strerror(err),
                    fi_cq_strerror(fab->cq, e.prov_errno, e.err_data, NULL,
                                   0));
    if (op == NULL)
        return FW_SUCCESS; /* an injected send's: nothing waits for it */
    fw_fab_op_complete(op, status, e.len + e.olen, e.tag,
                       (e.flags & FI_REMOTE_CQ_DATA) != 0 ? e.data : 0);
    return FW_SUCCESS;
}

/*---------------------------------------------------------------------------*/
/* Read the CQ until empty (bounded); completions go to the done queue. */
static fw_status_t
fw_fab_cq_drain(fw_fab_t *fab)
{
    struct fi_cq_tagged_entry ent[FW_FAB_CQ_BATCH];
    fw_status_t status = FW_SUCCESS;
    ssize_t n, i;
    int batch;

    for (batch = 0; batch < FW_FAB_CQ_MAX_BATCHES; batch++) {
        n = fi_cq_read(fab->cq, ent, FW_FAB_CQ_BATCH);
        if (n == -FI_EAGAIN)
            break;
        if (n == -FI_EAVAIL) {
            if (fw_fab_cq_readerr(fab) != FW_SUCCESS)
                status = FW_ERR_FABRIC;
            continue;
        }
        if (n < 0) {
            FW_LOG_ERR("fab", "cq: fi_cq_read failed: %s",
                       fi_strerror((int)-n));
            return FW_ERR_FABRIC;
        }
        for (i = 0; i < n; i++) {
            if (ent[i].op_context == NULL) {
                FW_LOG_WARN("fab", "cq: completion without context ignored");
                continue;
            }
            fw_fab_op_complete(ent[i].op_context, FW_SUCCESS, ent[i].len,
                               ent[i].tag,
                               (ent[i].flags & FI_REMOTE_CQ_DATA) != 0
                                   ? ent[i].data : 0);
        }
    }
    return status;
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_progress(fw_fab_t *fab, size_t *count_p)
{
    fw_status_t status;
    fw_fab_cmpl_t cmpl;
    fw_fab_op_t *op;
    fw_fab_cb_t cb;
    size_t count = 0;
    void *arg;

    if (fab == NULL)
        return FW_ERR_BAD_PARAM;
    if (fab->in_progress > 0)
        return FW_ERR_WOULD_BLOCK;
    status = fw_fab_cq_drain(fab);
    fw_fab_op_retry(fab);
    fw_fab_op_expire(fab);
    fab->in_progress++;
    while ((op = fab->done_head) != NULL) {
        fab->done_head = op->qnext;
        if (fab->done_head == NULL)
            fab->done_tail = NULL;
        cb = op->cb;
        arg = op->arg;
        cmpl = op->cmpl;
        fw_fab_op_free(op);
        cb(&cmpl, arg);
        count++;
    }
    fab->in_progress--;
    if (count_p != NULL && status == FW_SUCCESS)
        *count_p = count;
    return status;
}

/*****************************************************************************/
/* Blocking calls                                                            */
/*****************************************************************************/

/*---------------------------------------------------------------------------*/
void
fw_fab_op_wait_cb(const fw_fab_cmpl_t *cmpl, void *arg)
{
    fw_fab_waiter_t *w = arg;

    w->cmpl = *cmpl;
    w->done = 1;
}

/*---------------------------------------------------------------------------*/
/* Sleep until the CQ may have work or remaining_ns pass. Without a wait
 * fd, or while sends wait to be retried (the provider said EAGAIN: a
 * peer not reachable yet, or gone), naps growing from 5 us to 1 ms. */
void
fw_fab_nap(uint64_t *nap_ns, uint64_t remaining_ns)
{
    struct timespec ts = {0, (long)*nap_ns};

    if (remaining_ns < (uint64_t)ts.tv_nsec)
        ts.tv_nsec = (long)remaining_ns;
    nanosleep(&ts, NULL);
    *nap_ns = *nap_ns * 2 > FW_FAB_NOFD_SLEEP_NS ? FW_FAB_NOFD_SLEEP_NS
                                                 : *nap_ns * 2;
}

static void
fw_fab_wait_sleep(fw_fab_t *fab, uint64_t remaining_ns, uint64_t *nofd_ns,
                  int race)
{
    struct pollfd pfd;
    struct timespec ts;
    uint64_t ns;

    if (fab->wait_fd < 0 || fab->retry_head != NULL) {
        fw_fab_nap(nofd_ns, remaining_ns);
        return;
    }
    if (fw_fab_trywait(fab) != FW_SUCCESS)
        return;
    ns = (uint64_t)FW_FAB_WAIT_SLICE_MS * 1000000u;
    if (race) { /* the other source is asked after a nap, not a slice */
        ns = *nofd_ns;
        *nofd_ns = *nofd_ns * 2 > FW_FAB_NOFD_SLEEP_NS ? FW_FAB_NOFD_SLEEP_NS
                                                       : *nofd_ns * 2;
    }
    if (ns > remaining_ns)
        ns = remaining_ns;
    ts.tv_sec = (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    pfd.fd = fab->wait_fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (ppoll(&pfd, 1, &ts, NULL) < 0 && errno != EINTR)
        FW_LOG_WARN("fab", "ep: poll on wait fd %d failed: %m", fab->wait_fd);
}

/*---------------------------------------------------------------------------*/
/* A blocking call gave up on op: drop it from the retry queue, or cancel
 * it and let a late completion free it. */
static void
fw_fab_op_abandon(fw_fab_t *fab, fw_fab_op_t *op)
{
    if (op->state == FW_FAB_OP_QUEUED) {
        fw_fab_op_unqueue(fab, op);
        fw_fab_op_free(op);
        return;
    }
    op->cb = NULL;
    op->arg = NULL;
    fw_fab_op_cancel(fab, op);
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_op_wait(fw_fab_t *fab, fw_fab_op_t *op, fw_fab_waiter_t *w,
               int timeout_ms)
{
    return fw_fab_op_wait_stop(fab, op, w, timeout_ms, NULL, NULL);
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_op_wait_stop(fw_fab_t *fab, fw_fab_op_t *op, fw_fab_waiter_t *w,
                    int timeout_ms, fw_fab_stop_fn stop, void *stop_arg)
{
    return fw_fab_op_wait_race(fab, op, w, timeout_ms, stop, stop_arg, 0);
}

/*---------------------------------------------------------------------------*/
/* Progress fab and its buddy: callbacks run, summed. */
static size_t
fw_fab_progress_both(fw_fab_t *fab)
{
    size_t n = 0, m = 0;

    /* errors not tied to an op were logged; keep waiting for ours */
    fw_fab_progress(fab, &n);
    if (fab->buddy != NULL)
        fw_fab_progress(fab->buddy, &m);
    return n + m;
}

/*---------------------------------------------------------------------------*/
/* A stopped op of a race: cancel it and await its completion, which says
 * whether it was cancelled or had already taken its message (then kept
 * in w, however long the rest of it takes: the provider writes into its
 * buffer until then). Only the op's own deadline abandons it. */
static void
fw_fab_op_settle(fw_fab_t *fab, fw_fab_op_t *op, fw_fab_waiter_t *w,
                 uint64_t deadline)
{
    uint64_t nap = FW_FAB_NOFD_SLEEP_MIN_NS, now;

    if (op->state == FW_FAB_OP_QUEUED) {
        fw_fab_op_unqueue(fab, op);
        fw_fab_op_free(op);
        return;
    }
    fw_fab_op_cancel(fab, op);
    for (;;) {
        if (fw_fab_progress_both(fab) > 0)
            nap = FW_FAB_NOFD_SLEEP_MIN_NS;
        if (w->done)
            return;
        now = fw_time_ns();
        if (now >= deadline)
            break;
        fw_fab_nap(&nap, deadline - now);
    }
    FW_LOG_WARN("fab", "ep: %s neither cancelled nor completed by its "
                "deadline", fw_fab_op_name(op));
    op->cb = NULL;
    op->arg = NULL;
}

/*---------------------------------------------------------------------------*/
fw_status_t
fw_fab_op_wait_race(fw_fab_t *fab, fw_fab_op_t *op, fw_fab_waiter_t *w,
                    int timeout_ms, fw_fab_stop_fn stop, void *stop_arg,
                    int race)
{
    uint64_t start = fw_time_ns(), now, deadline, spin_end;
    uint64_t nofd_ns = FW_FAB_NOFD_SLEEP_MIN_NS;
    fw_status_t why = FW_ERR_TIMEOUT;
    int settle = race;

    if (timeout_ms < 0)
        timeout_ms = fw_fab_info_timeout_ms();
    deadline = start + (uint64_t)timeout_ms * 1000000u;
    spin_end = start + (uint64_t)fab->spin_us * 1000u;
    race |= fab->buddy != NULL; /* its messages are seen after a nap */
    for (;;) {
        if (fw_fab_progress_both(fab) > 0) /* busy: look again soon */
            nofd_ns = FW_FAB_NOFD_SLEEP_MIN_NS;
        if (w->done)
            return FW_SUCCESS;
        if (stop != NULL && (why = stop(stop_arg)) != FW_SUCCESS)
            break;
        why = FW_ERR_TIMEOUT;
        now = fw_time_ns();
        if (now >= deadline)
            break;
        if (now >= spin_end)
            fw_fab_wait_sleep(fab, deadline - now, &nofd_ns, race);
    }
    if (!settle) { /* a race's stop is its normal end: not logged */
        FW_LOG_DEBUG("fab", "ep: operation stopped (%s) after at most %d ms",
                     fw_strerror(why), timeout_ms);
        fw_fab_op_abandon(fab, op);
        return why;
    }
    fw_fab_op_settle(fab, op, w, deadline);
    if (!w->done)
        return FW_ERR_TIMEOUT;
    return w->cmpl.status != FW_ERR_TIMEOUT ? FW_SUCCESS : why;
}
