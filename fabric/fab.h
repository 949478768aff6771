/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fabric module interface: one libfabric RDM endpoint per fw_fab_t
 * (fabric + domain + endpoint + address vector + completion queue),
 * memory registration with wire-serialisable remote keys, blocking and
 * non-blocking RMA read and tagged messages, and progress that fits in
 * a poll()/libevent loop through the completion queue's wait fd.
 *
 * Threading: a fw_fab_t and everything obtained from it is used by one
 * thread at a time (the caller serialises). Different fw_fab_t handles
 * are independent.
 */
#ifndef FW_FAB_H
#define FW_FAB_H

#include <fabwire/types.h>
#include <sys/types.h>
#include <fabwire/status.h>

#include "common/buf.h"
#include "common/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*****************/
/* Public Macros */
/*****************/

/* Longest provider, domain or NIC name kept (with NUL). */
#define FW_FAB_NAME_MAX 64
/* Prefix of the shm provider's region names (/dev/shm/<prefix><pid>_*) */
#define FW_FAB_SHM_PREFIX "fabwire-"
/* Longest endpoint address accepted by fw_fab_av_insert(). */
#define FW_FAB_ADDR_MAX 256
/* Longest FI_MR_RAW key carried by an fw_fab_rkey_t. */
#define FW_FAB_RKEY_RAW_MAX 64
/* Wire version written by fw_fab_rkey_pack(). */
#define FW_FAB_RKEY_VERSION 1
/* Largest packed fw_fab_rkey_t: 36-byte header + raw key. */
#define FW_FAB_RKEY_PACKED_MAX (36 + FW_FAB_RKEY_RAW_MAX)

/****************/
/* Public Types */
/****************/

/* One open endpoint and its resources (opaque). */
typedef struct fw_fab fw_fab_t;

/* One registered memory region (opaque). */
typedef struct fw_fab_mr fw_fab_mr_t;

/* Bits of fw_fab_params_t.field_mask: which fields are set. */
typedef enum fw_fab_params_field_flags {
    FW_FAB_PARAMS_FIELD_PROVIDER = 1u << 0,
    FW_FAB_PARAMS_FIELD_SRC_NODE = 1u << 1,
    FW_FAB_PARAMS_FIELD_NIC = 1u << 2
} fw_fab_params_field_flags_t;

/*
 * How to open an endpoint. Fields not named in field_mask are ignored
 * and take their default. Strings are borrowed for the call only.
 */
typedef struct fw_fab_params {
    uint64_t field_mask;  /* fw_fab_params_field_flags_t bits */
    const char *provider; /* "tcp", "tcp;ofi_rxm", "shm", "verbs", ...
                             default: FW_PROVIDER, then FI_PROVIDER, then
                             automatic choice by priority */
    const char *src_node; /* IP address to bind to (IP providers only);
                             default FW_FAB_IFACE_ADDR (127.0.0.1) */
    const char *nic;      /* domain or interface name; default FW_NIC,
                             then the NIC nearest this process's CPUs;
                             ignored by shm (no NIC) */
} fw_fab_params_t;

/* Result of the provider/domain/NIC choice (fw_fab_select()). */
typedef struct fw_fab_choice {
    char provider[FW_FAB_NAME_MAX]; /* e.g. "tcp;ofi_rxm" */
    char domain[FW_FAB_NAME_MAX];   /* libfabric domain, e.g. "lo" */
    char nic[FW_FAB_NAME_MAX];      /* NIC device, or the domain name */
} fw_fab_choice_t;

/* One usable (provider, domain) pair, for fw-info and error messages. */
typedef struct fw_fab_prov_info {
    struct fw_fab_prov_info *next;
    char name[FW_FAB_NAME_MAX];     /* provider, e.g. "tcp;ofi_rxm" */
    char fabric[FW_FAB_NAME_MAX];   /* fabric name, e.g. "127.0.0.1/32" */
    char domain[FW_FAB_NAME_MAX];   /* domain name, e.g. "lo" */
    char nic[FW_FAB_NAME_MAX];      /* NIC device name or "" */
    char addr_format[32];           /* e.g. "sockaddr_in", "str" */
    char data_progress[16];         /* "auto", "manual" or "unspec" */
    char control_progress[16];      /* "auto", "manual" or "unspec" */
    char caps[160];                 /* e.g. "msg|tagged|rma|read|..." */
    char mr_mode[128];              /* e.g. "virt_addr|prov_key" or "none" */
    int auto_select; /* 1 if the automatic choice may pick it */
    int target_progress; /* 1 if RMA targets must call fw_fab_progress */
} fw_fab_prov_info_t;

/* Access rights of fw_fab_mr_reg(); combine with |. */
typedef enum fw_fab_mr_access_flags {
    FW_FAB_MR_LOCAL = 1u << 0,      /* local buffer of reads, send, recv */
    FW_FAB_MR_REMOTE_READ = 1u << 1 /* peers may fw_fab_read() from it */
} fw_fab_mr_access_flags_t;

/*
 * What a peer needs to read a registered region. Fixed size; send it
 * with fw_fab_rkey_pack()/fw_fab_rkey_unpack(), never as raw bytes.
 */
typedef struct fw_fab_rkey {
    uint64_t addr;     /* target address of byte 0: virtual address under
                          FI_MR_VIRT_ADDR, else 0 (offset-based) */
    uint64_t len;      /* length of the region in bytes */
    uint64_t key;      /* protection key (unused when raw_len > 0) */
    uint64_t raw_base; /* base address for fi_mr_map_raw() (raw only) */
    uint16_t raw_len;  /* > 0: FI_MR_RAW key bytes in raw[] */
    uint8_t raw[FW_FAB_RKEY_RAW_MAX];
} fw_fab_rkey_t;

/* Completion of a non-blocking operation, passed to its callback. */
typedef struct fw_fab_cmpl {
    fw_status_t status; /* FW_SUCCESS, FW_ERR_FABRIC, FW_ERR_TRUNCATE,
                           FW_ERR_TIMEOUT (cancelled) */
    size_t len;         /* bytes transferred; for a truncated receive the
                           message length if the provider reports it,
                           else 0 (tcp;ofi_rxm and shm 1.17 report 0) */
    uint64_t tag;       /* tag of a received message, else 0 */
    uint64_t data;      /* remote CQ data of a received message sent with
                           fw_fab_tsenddata(), else 0 */
} fw_fab_cmpl_t;

/*
 * Completion callback. Runs only from fw_fab_progress() (or from a
 * blocking fw_fab_* call, which progresses internally), never inside the
 * call that posted the operation. cmpl is borrowed for the call. It may
 * post new operations; blocking calls made from it return
 * FW_ERR_WOULD_BLOCK.
 */
typedef void (*fw_fab_cb_t)(const fw_fab_cmpl_t *cmpl, void *arg);

/*********************/
/* Public Prototypes */
/*********************/

/*
 * Choose provider, domain and NIC exactly as fw_fab_open() would, without
 * opening anything (for fw-info). params may be NULL (all defaults).
 * [out] choice_p written only on success.
 * Returns FW_SUCCESS, FW_ERR_BAD_PARAM (choice_p NULL, src_node not a
 * numeric IP address), FW_ERR_FABRIC (no usable provider, unknown
 * provider or NIC, src_node on no local interface; err says which and
 * lists what is usable), FW_ERR_NO_MEM. Blocking (fi_getinfo, hwloc).
 * Any thread.
 */
fw_status_t fw_fab_select(const fw_fab_params_t *params,
                          fw_fab_choice_t *choice_p, fw_error_t *err);

/*
 * List every usable (provider, domain) pair of fabwire's provider table
 * on this machine, in priority order. IP providers are listed for the
 * source address that fw_fab_open() would use. params may be NULL.
 * [out] list_p: NULL-terminated list (NULL if none is usable), written
 * only on success; the caller frees it with fw_fab_prov_list_free().
 * Returns FW_SUCCESS, FW_ERR_BAD_PARAM, FW_ERR_NO_MEM. Blocking. Any
 * thread.
 */
fw_status_t fw_fab_prov_list(const fw_fab_params_t *params,
                             fw_fab_prov_info_t **list_p, fw_error_t *err);

/* Free a list from fw_fab_prov_list(). Accepts NULL. */
void fw_fab_prov_list_free(fw_fab_prov_info_t *list);

/*
 * Open an RDM endpoint (caps msg, tagged, rma read) on the chosen
 * provider/domain, with its AV and CQ. params may be NULL.
 * [out] fab_p written only on success; close with fw_fab_close().
 * Returns FW_SUCCESS, FW_ERR_BAD_PARAM (fab_p NULL, unknown field_mask
 * bits, bad src_node), FW_ERR_FABRIC (see fw_fab_select(), or a
 * libfabric call failed; err has the text), FW_ERR_NO_MEM. Blocking.
 * Any thread.
 */
fw_status_t fw_fab_open(const fw_fab_params_t *params, fw_fab_t **fab_p,
                        fw_error_t *err);

/*
 * Close the endpoint and release everything it holds: outstanding
 * operations are cancelled without running their callbacks, and memory
 * regions still registered are deregistered (their handles become
 * invalid; a warning is logged). Accepts NULL, preserves errno, never
 * fails. Blocking. Not from a completion callback of this fab.
 */
void fw_fab_close(fw_fab_t *fab);

/*
 * Remove the shm regions a dead process pid left in /dev/shm (its shm
 * endpoints are named FW_FAB_SHM_PREFIX<pid>_*; a SIGKILLed process never
 * unlinks them). Only for processes known to be gone. Never fails.
 */
void fw_fab_shm_sweep(pid_t pid);

/*
 * Remove every FW_FAB_SHM_PREFIX<pid>_* region in /dev/shm whose process
 * no longer exists (kill(pid, 0): ESRCH), whoever left it: ranks and
 * daemons killed outright leave theirs, and nobody reaps them. Assumes
 * the processes sharing /dev/shm share our pid namespace. Never fails.
 */
void fw_fab_shm_sweep_dead(void);

/*
 * Whether a provider name (NULL: the one FW_PROVIDER or FI_PROVIDER asks
 * for, if any) is one fabwire knows, without loading libfabric, so that
 * a launcher can refuse a typo before it starts anything. Whether a known
 * provider is usable here shows only at fw_fab_open(). FW_ERR_NOT_FOUND
 * with err naming the known ones.
 */
fw_status_t fw_fab_provider_check(const char *name, fw_error_t *err);

/*
 * 1 if tagged receives on fab must use exact tags (ignore 0), from
 * FW_FAB_EXACT_TAGS: libfabric's shm before 1.19 matches a receive
 * against messages that arrived before it with the mask of some earlier,
 * recycled receive instead of its own, so a wildcard receive misses them
 * and, once one was posted, an exact receive may take a message that is
 * not its own. Callers then match wildcards themselves.
 */
int fw_fab_exact_tags(const fw_fab_t *fab);

/* Provider name, e.g. "tcp;ofi_rxm". Borrowed, valid until close. */
const char *fw_fab_provider(const fw_fab_t *fab);

/* Domain name, e.g. "lo", "mlx5_0", "shm". Borrowed, valid until close. */
const char *fw_fab_domain(const fw_fab_t *fab);

/*
 * NIC device name if libfabric reports one, else the domain name.
 * Borrowed, valid until close.
 */
const char *fw_fab_nic(const fw_fab_t *fab);

/*
 * Copy this endpoint's address (an opaque blob for peers'
 * fw_fab_av_insert()). Two-call size query: with buf NULL or *len_p too
 * small, sets *len_p to the size needed and returns FW_ERR_TOO_BIG.
 * [in,out] len_p: capacity of buf in, address length out.
 * Returns FW_SUCCESS, FW_ERR_BAD_PARAM (fab or len_p NULL),
 * FW_ERR_TOO_BIG. Non-blocking.
 */
fw_status_t fw_fab_addr_get(const fw_fab_t *fab, void *buf, size_t *len_p);

/*
 * Add a peer's address (from its fw_fab_addr_get()) to the address
 * vector. [out] peer_p: handle for fw_fab_read()/fw_fab_tsend(), written
 * only on success; release with fw_fab_av_remove() or fw_fab_close().
 * Returns FW_SUCCESS, FW_ERR_BAD_PARAM (NULL, len 0 or > FW_FAB_ADDR_MAX,
 * or not an address of this provider's format: wrong length, sockaddr
 * family, or a string that is not a plain name), FW_ERR_UNREACHABLE (an
 * shm peer whose region is gone), FW_ERR_FABRIC (address rejected by the
 * provider). Non-blocking (no connection is made).
 */
fw_status_t fw_fab_av_insert(fw_fab_t *fab, const void *addr, size_t len,
                             uint64_t *peer_p);

/*
 * Remove a peer added by fw_fab_av_insert(). Operations to it must have
 * completed. Returns FW_SUCCESS, FW_ERR_BAD_PARAM, FW_ERR_FABRIC.
 */
fw_status_t fw_fab_av_remove(fw_fab_t *fab, uint64_t peer);

/*
 * 1 if the provider can tell that the peer at addr (as for
 * fw_fab_av_insert()) is gone: shm, whose peer's region is not in
 * /dev/shm any more. 0 otherwise (alive, or no way to know without
 * sending to it).
 */
int fw_fab_av_gone(const fw_fab_t *fab, const void *addr, size_t len);

/*
 * Register [buf, buf+len) with the given fw_fab_mr_access_flags_t rights.
 * The memory must stay allocated (and, for FI_MR_ALLOCATED providers,
 * touched) until fw_fab_mr_dereg(). Handles FI_MR_PROV_KEY (else assigns
 * a unique key), FI_MR_ENDPOINT (binds and enables) and FI_MR_RAW.
 * [out] mr_p written only on success; release with fw_fab_mr_dereg()
 * before fw_fab_close().
 * Returns FW_SUCCESS, FW_ERR_BAD_PARAM (NULL, len 0, no or unknown access
 * bit), FW_ERR_FABRIC, FW_ERR_TOO_BIG (raw key > FW_FAB_RKEY_RAW_MAX),
 * FW_ERR_NO_MEM. Blocking (pins memory).
 */
fw_status_t fw_fab_mr_reg(fw_fab_t *fab, void *buf, size_t len,
                          unsigned access_flags, fw_fab_mr_t **mr_p);

/*
 * Deregister. Operations using the region must have completed.
 * Accepts NULL, preserves errno, warns instead of failing.
 */
void fw_fab_mr_dereg(fw_fab_mr_t *mr);

/*
 * Describe a region registered with FW_FAB_MR_REMOTE_READ for a peer.
 * [out] rkey_p written only on success (plain copy, no cleanup).
 * Returns FW_SUCCESS, FW_ERR_BAD_PARAM (NULL, region not remote).
 */
fw_status_t fw_fab_mr_desc_get(const fw_fab_mr_t *mr, fw_fab_rkey_t *rkey_p);

/*
 * Append rkey to buf in wire format (version byte, big-endian fields; at
 * most FW_FAB_RKEY_PACKED_MAX bytes). Returns FW_SUCCESS,
 * FW_ERR_BAD_PARAM (NULL, raw_len too big), FW_ERR_NO_MEM.
 */
fw_status_t fw_fab_rkey_pack(const fw_fab_rkey_t *rkey, fw_buf_t *buf);

/*
 * Read one packed rkey from r. [out] rkey_p written only on success.
 * Returns FW_SUCCESS, FW_ERR_BAD_PARAM (NULL), FW_ERR_PROTO (short input,
 * unknown version or flags, bad raw key length).
 */
fw_status_t fw_fab_rkey_unpack(fw_rbuf_t *r, fw_fab_rkey_t *rkey_p);

/*
 * Post a read of len bytes at offset of the peer's region rkey into
 * local. Without FI_MR_LOCAL any local memory works; with it, local is
 * used directly if it lies in a region registered with FW_FAB_MR_LOCAL,
 * else through an internal bounce buffer or a temporary registration.
 * cb(arg) runs from fw_fab_progress() once; local must stay valid until
 * then. rkey is copied. Returns FW_SUCCESS (posted; an operation the
 * provider cannot take now is queued and retried by progress),
 * FW_ERR_BAD_PARAM (NULL, len 0, range outside the region),
 * FW_ERR_FABRIC, FW_ERR_NO_MEM. Non-blocking.
 */
fw_status_t fw_fab_read_nb(fw_fab_t *fab, uint64_t peer, void *local,
                           size_t len, const fw_fab_rkey_t *rkey,
                           uint64_t offset, fw_fab_cb_t cb, void *arg);

/*
 * Blocking fw_fab_read_nb(): progresses until the read completes or
 * timeout_ms passes (< 0: FW_FAB_TIMEOUT_MS). Completion callbacks of
 * other operations may run meanwhile.
 * Returns FW_SUCCESS, the errors of fw_fab_read_nb(), FW_ERR_TIMEOUT (the
 * read is cancelled; if the provider cannot cancel it, a late completion
 * may still write local until the peer is removed or the fab is closed),
 * FW_ERR_FABRIC (CQ error, text logged), FW_ERR_WOULD_BLOCK (called from
 * a completion callback).
 */
fw_status_t fw_fab_read(fw_fab_t *fab, uint64_t peer, void *local,
                        size_t len, const fw_fab_rkey_t *rkey,
                        uint64_t offset, int timeout_ms);

/*
 * Post a tagged send of [buf, buf+len) to peer. buf must stay valid
 * until cb runs (from fw_fab_progress()). Same local-buffer rules and
 * return codes as fw_fab_read_nb(). Non-blocking.
 */
fw_status_t fw_fab_tsend_nb(fw_fab_t *fab, uint64_t peer, uint64_t tag,
                            const void *buf, size_t len, fw_fab_cb_t cb,
                            void *arg);

/*
 * Post a tagged receive from any peer of a message whose tag matches
 * tag outside the ignore bits. The callback gets the length and tag; a
 * larger message than cap completes with FW_ERR_TRUNCATE. Same rules
 * and return codes as fw_fab_tsend_nb(), plus FW_ERR_UNSUPPORTED for
 * ignore bits where fw_fab_exact_tags() holds. Non-blocking.
 */
fw_status_t fw_fab_trecv_nb(fw_fab_t *fab, uint64_t tag, uint64_t ignore,
                            void *buf, size_t cap, fw_fab_cb_t cb,
                            void *arg);

/*
 * Blocking fw_fab_tsend_nb() (timeout_ms < 0: FW_FAB_TIMEOUT_MS).
 * Returns as fw_fab_read().
 */
/*
 * Largest message a blocking fw_fab_tsend() injects (returns without
 * waiting for the receiver; FW_FAB_INJECT), 0 if none.
 */
size_t fw_fab_inject_size(const fw_fab_t *fab);

/*
 * One attempt to inject a small tagged send (the provider copies buf;
 * there is no completion). For callers that spin on fw_fab_progress()
 * (fw-bench-rtt); fw_fab_tsend() naps between attempts. Returns
 * FW_SUCCESS, FW_ERR_WOULD_BLOCK (not now: progress and try again; also
 * while earlier sends wait for a retry), FW_ERR_UNSUPPORTED (len over
 * fw_fab_inject_size(), or no inject on this endpoint), FW_ERR_BAD_PARAM,
 * FW_ERR_FABRIC. Non-blocking.
 */
fw_status_t fw_fab_tinject_try(fw_fab_t *fab, uint64_t peer, uint64_t tag,
                               const void *buf, size_t len);

/*
 * Bytes of remote CQ data a message may carry on this endpoint
 * (fi_tsenddata(); cq_data_size of the domain, 0 if none, at most 8).
 */
size_t fw_fab_cq_data_size(const fw_fab_t *fab);

/*
 * fw_fab_tsend() whose message also carries data (at most
 * fw_fab_cq_data_size() bytes of it), handed to the receiver's
 * completion (fw_fab_cmpl_t.data). FW_ERR_UNSUPPORTED when the endpoint
 * carries no CQ data or data does not fit. The non-blocking form takes a
 * time limit (< 0: none): past it, progress completes the send with
 * FW_ERR_TIMEOUT (a peer that is gone may never take it).
 */
fw_status_t fw_fab_tsenddata_nb(fw_fab_t *fab, uint64_t peer, uint64_t tag,
                                uint64_t data, const void *buf, size_t len,
                                int timeout_ms, fw_fab_cb_t cb, void *arg);
fw_status_t fw_fab_tsenddata(fw_fab_t *fab, uint64_t peer, uint64_t tag,
                             uint64_t data, const void *buf, size_t len,
                             int timeout_ms);

fw_status_t fw_fab_tsend(fw_fab_t *fab, uint64_t peer, uint64_t tag,
                         const void *buf, size_t len, int timeout_ms);

/*
 * Blocking fw_fab_trecv_nb(). [out] len_p, tag_p (each may be NULL)
 * written only on success. Returns as fw_fab_read(), plus
 * FW_ERR_TRUNCATE (message longer than cap: it is consumed and dropped,
 * the content of buf is undefined, nothing else is written).
 */
fw_status_t fw_fab_trecv(fw_fab_t *fab, uint64_t tag, uint64_t ignore,
                         void *buf, size_t cap, size_t *len_p,
                         uint64_t *tag_p, int timeout_ms);

/* Asked while a blocking call waits: FW_SUCCESS to go on, an error to
 * give up (the call cancels its operation and returns that error). */
typedef fw_status_t (*fw_fab_stop_fn)(void *arg);

/*
 * fw_fab_trecv() that also calls stop(stop_arg) (may be NULL) after each
 * progress round (at least every few ms) and gives up when it fails.
 */
fw_status_t fw_fab_trecv_stop(fw_fab_t *fab, uint64_t tag, uint64_t ignore,
                              void *buf, size_t cap, size_t *len_p,
                              uint64_t *tag_p, int timeout_ms,
                              fw_fab_stop_fn stop, void *stop_arg);

/*
 * Pair two endpoints of one process (b NULL: unpair a): a blocking call
 * on either also progresses the other, and sleeps in naps (5 us doubling
 * to 1 ms) rather than on its wait fd alone, so that neither starves
 * while the process waits on the other (its peers may need our progress
 * to complete their sends). A pairing ends when either is closed.
 */
void fw_fab_pair(fw_fab_t *a, fw_fab_t *b);

/* Sleep *nap_ns (at most remaining_ns), then double it up to 1 ms: the
 * naps of a wait without a wait fd (start at 5000). */
void fw_fab_nap(uint64_t *nap_ns, uint64_t remaining_ns);

/*
 * fw_fab_trecv_stop() for a receive that races another source of
 * messages (stop() looks at it): sleeps are naps of 5 us doubling to
 * 1 ms, so stop is asked soon after the other source has something; and
 * when stop fails, the receive is cancelled and its completion awaited,
 * up to its own timeout: if it had already taken a message (a large one
 * may still be arriving), that message is returned (FW_SUCCESS, or its
 * own error such as FW_ERR_TRUNCATE), never lost or written after we
 * return; else stop's error. FW_ERR_TIMEOUT when the timeout passes.
 */
fw_status_t fw_fab_trecv_or(fw_fab_t *fab, uint64_t tag, uint64_t ignore,
                            void *buf, size_t cap, size_t *len_p,
                            uint64_t *tag_p, int timeout_ms,
                            fw_fab_stop_fn stop, void *stop_arg);

/*
 * Read the CQ (which drives the provider's manual progress, e.g. serving
 * peers' reads on tcp;ofi_rxm), retry queued posts, and run the callbacks
 * of completed operations. [out] count_p (may be NULL): callbacks run.
 * Returns FW_SUCCESS, FW_ERR_BAD_PARAM, FW_ERR_FABRIC (an error
 * completion not tied to an operation), FW_ERR_WOULD_BLOCK (called from
 * a completion callback). Non-blocking.
 */
fw_status_t fw_fab_progress(fw_fab_t *fab, size_t *count_p);

/*
 * The CQ's wait fd for poll()/libevent (readable when fw_fab_progress()
 * has work), or -1 if the provider has none: then progress at least
 * every few milliseconds. Borrowed: do not close or read it.
 */
int fw_fab_wait_fd(const fw_fab_t *fab);

/*
 * Call before sleeping on fw_fab_wait_fd(). Returns FW_SUCCESS if it is
 * safe to sleep; FW_ERR_WOULD_BLOCK if fw_fab_progress() must be called
 * again first; FW_ERR_UNSUPPORTED if there is no wait fd;
 * FW_ERR_BAD_PARAM. Non-blocking.
 */
fw_status_t fw_fab_trywait(fw_fab_t *fab);

#ifdef __cplusplus
}
#endif

#endif /* FW_FAB_H */
