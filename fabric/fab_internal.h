/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private structures of the fabric module: the provider table entry,
 * the fw_fab_t handle, memory regions and in-flight operations, and the
 * prototypes shared between fab_*.c files.
 */
#ifndef FW_FAB_INTERNAL_H
#define FW_FAB_INTERNAL_H

#include "fabric/fab.h"

#include <rdma/fabric.h>
#include <rdma/fi_domain.h>

#ifdef __cplusplus
extern "C" {
#endif

/*****************/
/* libfabric, loaded at first use (fab_dl.c) */
/*****************/

typedef struct fw_fab_dl {
    void *handle;
    int (*getinfo)(uint32_t, const char *, const char *, uint64_t,
                   const struct fi_info *, struct fi_info **);
    void (*freeinfo)(struct fi_info *);
    struct fi_info *(*dupinfo)(const struct fi_info *);
    int (*fabric)(struct fi_fabric_attr *, struct fid_fabric **, void *);
    const char *(*strerror)(int);
    uint32_t (*version)(void);
} fw_fab_dl_t;

extern fw_fab_dl_t fw_fab_dl_g;

/* dlopen libfabric.so.1 once; FW_ERR_FABRIC with err set if missing. */
fw_status_t fw_fab_dl_load(fw_error_t *err);
const char *fw_fab_dl_strerror(int errnum);

/* The six real libfabric symbols go through the loaded table; every
 * other call is an inline through the objects' ops. */
#define fi_getinfo(...) fw_fab_dl_g.getinfo(__VA_ARGS__)
#define fi_freeinfo(info) fw_fab_dl_g.freeinfo(info)
#define fi_dupinfo(info) fw_fab_dl_g.dupinfo(info)
#define fi_allocinfo() fw_fab_dl_g.dupinfo(NULL)
#define fi_fabric(...) fw_fab_dl_g.fabric(__VA_ARGS__)
#define fi_strerror(e) fw_fab_dl_strerror(e)

/*****************/
/* Private Macros */
/*****************/

/* libfabric API version requested by fabwire. */
#define FW_FAB_FI_VERSION FI_VERSION(1, 14)

/* mr_mode bits fabwire knows how to obey (requested in the hints). */
#define FW_FAB_MR_MODE_SUPPORTED                                              \
    (FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY |       \
     FI_MR_ENDPOINT | FI_MR_RAW)

/* mode bits fabwire supports: every operation carries a fi_context2. */
#define FW_FAB_MODE_SUPPORTED (FI_CONTEXT | FI_CONTEXT2)

/* Capabilities every fabwire endpoint needs. */
#define FW_FAB_CAPS_BASE                                                      \
    (FI_MSG | FI_TAGGED | FI_RMA | FI_READ | FI_REMOTE_READ | FI_SEND |       \
     FI_RECV)

/* Quirk flags of a provider table entry. */
typedef enum fw_fab_quirk_flags {
    FW_FAB_QUIRK_SRC_ADDR = 1u << 0,   /* IP-addressed: bind to a src node */
    FW_FAB_QUIRK_EXPLICIT = 1u << 1,   /* never chosen automatically */
    FW_FAB_QUIRK_TGT_PROGRESS = 1u << 2, /* RMA target must progress */
    FW_FAB_QUIRK_NO_WAIT_FD = 1u << 3, /* CQ has no FI_WAIT_FD */
    FW_FAB_QUIRK_NO_NIC = 1u << 4,     /* no NIC: FW_NIC does not apply */
    FW_FAB_QUIRK_UNEXP_MASK = 1u << 5, /* before libfabric 1.19: a tagged
                                          receive's ignore mask is not used
                                          against its unexpected queue */
    FW_FAB_QUIRK_RXM_SAR = 1u << 6     /* ofi_rxm 1.17: a message sent by
                                          segments (eager size < len <=
                                          SAR limit) into a smaller receive
                                          crashes fi_cq_read */
} fw_fab_quirk_flags_t;

/*
 * The provider table, in priority order of the automatic choice:
 * X(id, name, alias, addr_format, data_progress, caps, quirks).
 * name is libfabric's prov_name (layered names included); alias is
 * what users may also write (FI_PROVIDER=tcp must mean tcp;ofi_rxm for
 * RDM, pmodels/mpich#4188). data_progress is what the provider is known
 * to use; the live value comes from fi_info.
 */
#define FW_FAB_PROV_TYPES(X)                                                  \
    X(CXI, "cxi", NULL, FI_ADDR_CXI, FI_PROGRESS_AUTO, FW_FAB_CAPS_BASE, 0)   \
    X(EFA, "efa", NULL, FI_ADDR_EFA, FI_PROGRESS_MANUAL, FW_FAB_CAPS_BASE,    \
      FW_FAB_QUIRK_TGT_PROGRESS)                                              \
    X(VERBS, "verbs;ofi_rxm", "verbs", FI_SOCKADDR_IN, FI_PROGRESS_MANUAL,    \
      FW_FAB_CAPS_BASE, FW_FAB_QUIRK_RXM_SAR)                                 \
    X(PSM3, "psm3", NULL, FI_ADDR_PSMX3, FI_PROGRESS_MANUAL,                  \
      FW_FAB_CAPS_BASE, FW_FAB_QUIRK_TGT_PROGRESS)                            \
    X(TCP, "tcp;ofi_rxm", "tcp", FI_SOCKADDR_IN, FI_PROGRESS_MANUAL,          \
      FW_FAB_CAPS_BASE, FW_FAB_QUIRK_SRC_ADDR | FW_FAB_QUIRK_TGT_PROGRESS |   \
          FW_FAB_QUIRK_RXM_SAR)                                               \
    X(SHM, "shm", NULL, FI_ADDR_STR, FI_PROGRESS_MANUAL, FW_FAB_CAPS_BASE,    \
      FW_FAB_QUIRK_EXPLICIT | FW_FAB_QUIRK_NO_WAIT_FD |                       \
          FW_FAB_QUIRK_TGT_PROGRESS | FW_FAB_QUIRK_NO_NIC |                   \
          FW_FAB_QUIRK_UNEXP_MASK)

/****************/
/* Private Types */
/****************/

typedef enum fw_fab_prov_id {
#define FW_FAB_PROV_ENUM_(id, name, alias, af, prog, caps, quirks)            \
    FW_FAB_PROV_##id,
    FW_FAB_PROV_TYPES(FW_FAB_PROV_ENUM_)
#undef FW_FAB_PROV_ENUM_
    FW_FAB_PROV_COUNT
} fw_fab_prov_id_t;

typedef struct fw_fab_prov {
    fw_fab_prov_id_t id;
    const char *name;
    const char *alias;
    uint32_t addr_format;
    enum fi_progress data_progress;
    uint64_t caps;
    unsigned quirks; /* fw_fab_quirk_flags_t */
} fw_fab_prov_t;

/* What an operation is; selects the fi_* call in fw_fab_op_post(). */
typedef enum fw_fab_op_type {
    FW_FAB_OP_READ,
    FW_FAB_OP_TSEND,
    FW_FAB_OP_TRECV
} fw_fab_op_type_t;

/* Where an operation is in its life. */
typedef enum fw_fab_op_state {
    FW_FAB_OP_QUEUED, /* provider said -FI_EAGAIN, retried by progress */
    FW_FAB_OP_POSTED, /* handed to the provider */
    FW_FAB_OP_DONE    /* completion read, callback pending */
} fw_fab_op_state_t;

typedef struct fw_fab_op fw_fab_op_t;

struct fw_fab_op {
    struct fi_context2 ctx; /* must remain first: FI_CONTEXT(2) memory,
                               and the op_context the CQ hands back */
    fw_fab_op_t *prev, *next; /* fab->ops list (any state) */
    fw_fab_op_t *qnext;       /* retry or done queue */
    fw_fab_t *fab;
    fw_fab_op_type_t type;
    fw_fab_op_state_t state;
    fw_fab_cb_t cb; /* NULL once orphaned by a timed-out blocking call */
    void *arg;
    fw_fab_cmpl_t cmpl;
    /* transfer */
    uint64_t peer;
    uint64_t tag, ignore;
    uint64_t data;  /* remote CQ data to send (with_data) */
    int with_data;
    uint64_t deadline_ns; /* non-blocking op with a time limit, else 0 */
    int cancelled;        /* fi_cancel asked once it passed */
    void *user_buf; /* caller's buffer */
    size_t len;
    void *buf;  /* buffer given to the provider (user_buf or bounce) */
    void *desc; /* its descriptor under FI_MR_LOCAL, else NULL */
    uint64_t raddr, rkey;
    int rkey_mapped; /* rkey came from fi_mr_map_raw(): unmap at end */
    int use_bounce;
    fw_fab_mr_t *tmp_mr; /* temporary local registration */
    void *rx_big;        /* receive posted with fab->rx_floor bytes */
};

struct fw_fab_mr {
    fw_fab_mr_t *prev, *next; /* fab->mrs list */
    fw_fab_t *fab;
    struct fid_mr *mr;
    void *buf;
    size_t len;
    void *desc;
    uint64_t fi_access;
    int internal; /* bounce or temporary registration */
    int remote;   /* rkey is valid */
    fw_fab_rkey_t rkey;
};

struct fw_fab {
    const fw_fab_prov_t *prov;
    struct fi_info *info; /* the chosen entry (owned, fi_dupinfo) */
    struct fid_fabric *fabric;
    struct fid_domain *domain;
    struct fid_ep *ep;
    struct fid_av *av;
    struct fid_cq *cq;
    int wait_fd;
    uint64_t mr_mode;
    uint64_t next_key;
    uint64_t key_mask;
    char nic[FW_FAB_NAME_MAX];
    uint8_t addr[FW_FAB_ADDR_MAX];
    size_t addr_len;
    fw_fab_mr_t *mrs;
    fw_fab_op_t *ops;
    fw_fab_op_t *retry_head, *retry_tail;
    fw_fab_op_t *done_head, *done_tail;
    void *bounce;
    size_t bounce_size;
    fw_fab_mr_t *bounce_mr;
    int bounce_busy;
    int in_progress; /* > 0 while completion callbacks run */
    struct fw_fab *buddy; /* fw_fab_pair(): progressed by our waits */
    long spin_us;
    size_t inject_max; /* blocking sends up to this size inject (0: none) */
    int exact_tags;  /* fw_fab_exact_tags() */
    size_t rx_floor; /* smallest buffer given to a tagged receive */
    void *rx_spare;  /* one rx_floor buffer kept for the next */
};

/* State of a blocking call, filled by fw_fab_op_wait_cb(). */
typedef struct fw_fab_waiter {
    int done;
    fw_fab_cmpl_t cmpl;
} fw_fab_waiter_t;

/* A selection: provider entry + chosen fi_info (owned). */
typedef struct fw_fab_sel {
    const fw_fab_prov_t *prov;
    struct fi_info *info;
    char nic[FW_FAB_NAME_MAX];
} fw_fab_sel_t;

/**********************/
/* Private Prototypes */
/**********************/

/* fab_info.c */

/*
 * Resolve params + tunables to one provider and fi_info (see
 * fw_fab_select()). [out] sel_p written only on success; the caller
 * frees sel_p->info with fi_freeinfo().
 */
fw_status_t fw_fab_info_select(const fw_fab_params_t *params,
                               fw_fab_sel_t *sel_p, fw_error_t *err);

/* Default timeout of blocking calls (FW_FAB_TIMEOUT_MS). */
int fw_fab_info_timeout_ms(void);

/*
 * mr_mode bits to obey on top of the provider's (FW_FAB_MR_MODE_EXTRA,
 * a test knob: "local" exercises the FI_MR_LOCAL paths on any provider;
 * FI_MR_RAW would too, but tcp and shm lack fi_mr_raw_attr).
 */
uint64_t fw_fab_info_mr_mode_extra(void);

/* Bounce buffer size (FW_FAB_BOUNCE_SIZE) and spin time (FW_FAB_SPIN_US). */
size_t fw_fab_info_bounce_size(void);
long fw_fab_info_spin_us(void);
int fw_fab_info_inject(void);
/* FW_FAB_EXACT_TAGS for this provider and libfabric (fw_fab_exact_tags). */
int fw_fab_info_exact_tags(const fw_fab_prov_t *prov);
/* Smallest receive buffer to give this provider (fab->rx_floor). */
size_t fw_fab_info_rx_floor(const fw_fab_prov_t *prov, uint64_t mr_mode);

/* fab_domain.c */

/*
 * Among the entries of list (one provider), pick one domain: by nic
 * name if nic != NULL (FW_ERR_FABRIC on no match, listing the domains),
 * else the NIC nearest this process's CPU binding, else the first. [out]
 * pick_p: borrowed pointer into list; nic_p: NIC name (size
 * FW_FAB_NAME_MAX). Written only on success.
 */
fw_status_t fw_fab_domain_pick(struct fi_info *list, const char *nic,
                               struct fi_info **pick_p, char *nic_p,
                               fw_error_t *err);

/* Open fabric and domain of fab->info into fab. */
fw_status_t fw_fab_domain_open(fw_fab_t *fab, fw_error_t *err);

/* Close what fw_fab_domain_open() opened (NULL-safe fields). */
void fw_fab_domain_close(fw_fab_t *fab);

/* fab_mr.c */

/*
 * Register with libfabric access bits (internal == 1: bounce or
 * temporary, not a caller's region). [out] mr_p on success only.
 */
fw_status_t fw_fab_mr_create(fw_fab_t *fab, void *buf, size_t len,
                             uint64_t fi_access, int internal,
                             fw_fab_mr_t **mr_p);

/*
 * Give op a local buffer the provider can use under FI_MR_LOCAL (a
 * caller's registered region, the bounce buffer or a temporary
 * registration). Sets op->buf and op->desc. to_peer: data goes out
 * (copied into the bounce buffer now).
 */
fw_status_t fw_fab_mr_local_prepare(fw_fab_t *fab, fw_fab_op_t *op,
                                    int to_peer);

/* Undo fw_fab_mr_local_prepare(); copy_out: bounce -> user buffer. */
void fw_fab_mr_local_release(fw_fab_t *fab, fw_fab_op_t *op, size_t copy_len);

/* Close every remaining region at fab close; warns about caller ones. */
void fw_fab_mr_close_all(fw_fab_t *fab);

/* Allocate and register the bounce buffer when FI_MR_LOCAL is set. */
fw_status_t fw_fab_mr_bounce_open(fw_fab_t *fab);

/* fab_ep.c */

/* Allocate an op linked into fab->ops. NULL if out of memory. */
fw_fab_op_t *fw_fab_op_alloc(fw_fab_t *fab, fw_fab_op_type_t type,
                             fw_fab_cb_t cb, void *arg);

/* Unlink and free an op, releasing its local buffer and mapped key. */
void fw_fab_op_free(fw_fab_op_t *op);

/*
 * Post op to the provider; -FI_EAGAIN queues it for retry by progress.
 * On error the op is freed.
 */
fw_status_t fw_fab_op_submit(fw_fab_op_t *op);

/* Completion callback of blocking calls: arg is a fw_fab_waiter_t. */
void fw_fab_op_wait_cb(const fw_fab_cmpl_t *cmpl, void *arg);

/*
 * Progress until w->done (FW_SUCCESS; the result is w->cmpl) or
 * timeout_ms (< 0: FW_FAB_TIMEOUT_MS) passes: then op is abandoned and
 * FW_ERR_TIMEOUT returned. op was submitted with fw_fab_op_wait_cb(w).
 */
fw_status_t fw_fab_op_wait(fw_fab_t *fab, fw_fab_op_t *op,
                           fw_fab_waiter_t *w, int timeout_ms);
/* fw_fab_op_wait, also giving up when stop(stop_arg) returns an error
 * (returned as is). */
fw_status_t fw_fab_op_wait_stop(fw_fab_t *fab, fw_fab_op_t *op,
                                fw_fab_waiter_t *w, int timeout_ms,
                                fw_fab_stop_fn stop, void *stop_arg);
/* fw_fab_op_wait_stop; with race set, sleeps are naps (5 us doubling to
 * 1 ms) so that stop is asked soon after its source has something, and
 * a stopped op is cancelled and awaited up to its deadline: FW_SUCCESS
 * (w->cmpl) if it had taken its message, else stop's error (or
 * FW_ERR_TIMEOUT: the deadline passed first). */
fw_status_t fw_fab_op_wait_race(fw_fab_t *fab, fw_fab_op_t *op,
                                fw_fab_waiter_t *w, int timeout_ms,
                                fw_fab_stop_fn stop, void *stop_arg,
                                int race);

/* fab_rma.c, fab_msg.c: the fi_* call of one op. */
ssize_t fw_fab_rma_post(fw_fab_op_t *op);
ssize_t fw_fab_msg_post(fw_fab_op_t *op);

/* libfabric return code (negative) to fabwire status. */
fw_status_t fw_fab_status_from_fi(int fi_ret);

#ifdef __cplusplus
}
#endif

#endif /* FW_FAB_INTERNAL_H */
