/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The modex: business cards of every rank, published by the daemons in
 * one window per host and read one-sidedly.
 *
 *  - card:   a rank's key/value record (versioned encoding, bounded keys
 *            and values), built by fw_put and handed over by fw_commit;
 *  - seg:    the daemon's shared segment (memfd): job header, rank -> node
 *            map, the table of every daemon's fabric address and window
 *            key, and two window halves (double-buffered by epoch);
 *  - server: the daemon-side fence engine (bytes in, bytes out through an
 *            ops struct: testable without sockets);
 *  - client: libfabwire's fw_init/fw_put/fw_commit/fw_fence/fw_get.
 */
#ifndef FW_MODEX_H
#define FW_MODEX_H

#include <fabwire/types.h>
#include <fabwire/status.h>
#include "common/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Message types in the OOB frame range 64-95 (see README.md). */
typedef enum fw_modex_msg_type {
    FW_MODEX_MSG_HELLO = 64,      /* rank -> daemon: u32 rank */
    FW_MODEX_MSG_HELLO_ACK = 65,  /* daemon -> rank: see modex_client.c */
    FW_MODEX_MSG_COMMIT = 66,     /* rank -> daemon: blob card */
    FW_MODEX_MSG_COMMIT_ACK = 67, /* reserved (commits are not answered) */
    FW_MODEX_MSG_FENCE = 68,      /* rank -> daemon: u32 epoch */
    FW_MODEX_MSG_FENCE_DONE = 69, /* daemon -> rank: u32 epoch, u32 status */
    FW_MODEX_MSG_FENCE_UP = 70,   /* daemon -> parent: u32 epoch, u32
                                     status, u32 n, table entries (first
                                     fence), [windows] */
    FW_MODEX_MSG_FENCE_DOWN = 71, /* root -> all: same as FENCE_UP */
    FW_MODEX_MSG_FINALIZE = 72,   /* rank -> daemon: (empty) */
    FW_MODEX_MSG_FINALIZE_ACK = 73, /* reserved (not answered) */
    FW_MODEX_MSG_WINDOW_REQ = 74, /* rank -> daemon: u32 node (allgather) */
    FW_MODEX_MSG_WINDOW = 75      /* daemon -> rank: u32 status, blob */
} fw_modex_msg_type_t;

/* Status of a fence that failed because a rank of the job finalized or
 * exited outside it (-FW_ERR_UNREACHABLE on the wire). */
#define FW_MODEX_FENCE_GONE ((uint32_t)-FW_ERR_UNREACHABLE)

/* How remote cards travel (FW_MODEX_MODE). */
typedef enum fw_modex_mode {
    FW_MODEX_MODE_ONESIDED = 0, /* fence is a barrier, gets are RMA reads */
    FW_MODEX_MODE_ALLGATHER = 1 /* fence gathers every window to all */
} fw_modex_mode_t;

/*********/
/* Cards */
/*********/

#define FW_MODEX_CARD_VERSION 1

typedef struct fw_modex_card fw_modex_card_t;

/* An empty card. Caller frees with fw_modex_card_destroy. */
fw_status_t fw_modex_card_create(fw_modex_card_t **card_p);
void fw_modex_card_destroy(fw_modex_card_t *card);

/* Add or replace key. FW_ERR_BAD_PARAM, FW_ERR_TOO_BIG, FW_ERR_NO_MEM. */
fw_status_t fw_modex_card_put(fw_modex_card_t *card, const char *key,
                              const void *value, size_t len);

/* Encoded size of the card (for the FW_MAX_CARD check). */
size_t fw_modex_card_encoded_len(const fw_modex_card_t *card);

/* Encode into b (appends). */
void fw_modex_card_encode(const fw_modex_card_t *card, fw_buf_t *b);

/*
 * Find key in an encoded card, validating the encoding as it goes.
 * On success *value_p points into data (borrowed). FW_ERR_NOT_FOUND,
 * FW_ERR_PROTO for a malformed card.
 */
fw_status_t fw_modex_card_find(const void *data, size_t len, const char *key,
                               const void **value_p, size_t *len_p);

/* Check a whole encoded card. FW_SUCCESS or FW_ERR_PROTO. */
fw_status_t fw_modex_card_validate(const void *data, size_t len);

/***********/
/* Segment */
/***********/

typedef struct fw_modex_seg fw_modex_seg_t;

#define FW_MODEX_ADDR_MAX 256
#define FW_MODEX_RKEY_MAX 160
#define FW_MODEX_PROV_MAX 64

/* One row of the daemon table: where node's window can be read. */
typedef struct fw_modex_peer {
    uint32_t addr_len;
    uint8_t addr[FW_MODEX_ADDR_MAX];
    uint32_t rkey_len;              /* packed fw_fab_rkey_t */
    uint8_t rkey[FW_MODEX_RKEY_MAX];
} fw_modex_peer_t;

/*
 * Daemon: create the segment for a job of nprocs ranks on nnodes hosts,
 * this host being node `self` with nlocal ranks. rank_node: nprocs
 * entries (copied). Caller destroys it.
 */
fw_status_t fw_modex_seg_create(uint32_t nprocs, uint32_t nnodes,
                                uint32_t self, uint32_t nlocal,
                                const uint32_t *rank_node,
                                fw_modex_seg_t **seg_p);

/* Client: map the daemon's segment read-only from /proc/pid/fd/fd. */
fw_status_t fw_modex_seg_attach(int pid, int fd, fw_modex_seg_t **seg_p);

void fw_modex_seg_destroy(fw_modex_seg_t *seg);

/* The memfd (daemon side) for clients to attach to. */
int fw_modex_seg_fd(const fw_modex_seg_t *seg);

/* The window halves: what the daemon registers for remote reads. */
void *fw_modex_seg_halves(const fw_modex_seg_t *seg, size_t *len_p);
size_t fw_modex_seg_half_cap(const fw_modex_seg_t *seg);

uint32_t fw_modex_seg_nprocs(const fw_modex_seg_t *seg);
uint32_t fw_modex_seg_nnodes(const fw_modex_seg_t *seg);
uint32_t fw_modex_seg_self(const fw_modex_seg_t *seg);
/* Node of rank, or UINT32_MAX if out of range. */
uint32_t fw_modex_seg_node_of(const fw_modex_seg_t *seg, uint32_t rank);

/*
 * Daemon: write the window of `epoch` into half epoch % 2 from the local
 * cards (cards[i] / lens[i] for ranks[i], NULL = no card yet).
 */
fw_status_t fw_modex_seg_publish(fw_modex_seg_t *seg, uint64_t epoch,
                                 uint32_t n, const uint32_t *ranks,
                                 void *const *cards, const size_t *lens);

/*
 * Check a window half image (local mapping or a copy read from a peer):
 * epoch, bounds and checksum. FW_ERR_PROTO (torn or corrupt),
 * FW_ERR_NOT_READY (another epoch).
 */
fw_status_t fw_modex_window_check(const void *half, size_t len,
                                  uint64_t epoch);

/*
 * fw_modex_window_check without the checksum, for this host's own shared
 * window: the daemon writes a half before it publishes its epoch
 * (release), and no half is rewritten while a rank can still read it (a
 * rank cannot enter fence e+1 before every rank left fence e), so a rank
 * that sees the epoch (acquire) cannot see a torn half. The checksum
 * costs a pass over every card, per rank and epoch: N^2 bytes a host.
 */
fw_status_t fw_modex_window_check_local(const void *half, size_t len,
                                        uint64_t epoch);

/*
 * Find rank's card in a window that passed fw_modex_window_check (bounds
 * are checked again, the checksum is not). *card_p borrowed.
 * FW_ERR_NOT_FOUND (rank has no card here), FW_ERR_PROTO.
 */
fw_status_t fw_modex_window_find(const void *half, size_t len, uint32_t rank,
                                 const void **card_p, size_t *len_p);

/* Bytes a window image claims to use (after a partial read). */
size_t fw_modex_window_used(const void *half, size_t len);

/* Local half of epoch (borrowed mapping). */
const void *fw_modex_seg_half(const fw_modex_seg_t *seg, uint64_t epoch);

/* Daemon table rows and the provider name they were made with. */
fw_status_t fw_modex_seg_peer_set(fw_modex_seg_t *seg, uint32_t node,
                                  const fw_modex_peer_t *peer);
/* FW_ERR_NOT_FOUND if node has no fabric entry. */
fw_status_t fw_modex_seg_peer_get(const fw_modex_seg_t *seg, uint32_t node,
                                  fw_modex_peer_t *peer_p);
void fw_modex_seg_mode_set(fw_modex_seg_t *seg, fw_modex_mode_t mode);
fw_modex_mode_t fw_modex_seg_mode(const fw_modex_seg_t *seg);
void fw_modex_seg_provider_set(fw_modex_seg_t *seg, const char *prov,
                               const char *src_addr);
const char *fw_modex_seg_provider(const fw_modex_seg_t *seg);
const char *fw_modex_seg_src_addr(const fw_modex_seg_t *seg);

/*
 * Who reads another host's window for a rank, by FW_MODEX_REMOTE (NULL =
 * the default, auto): 1 = its daemon, 0 = the rank itself. auto reads
 * directly only when the rank's endpoint is open already (have_ep), so no
 * rank loads libfabric for the modex alone.
 */
int fw_modex_remote_by_daemon(const char *mode, int have_ep);

#ifdef __cplusplus
}
#endif

#endif /* FW_MODEX_H */
