/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The local rail: peers on the same host exchange dpm messages over a
 * second endpoint, libfabric's shm provider, beside the job's provider
 * (tcp;ofi_rxm, verbs, ...), as MPI libraries do with their shared-memory
 * transport. Shared by libfabwire (dpm_rail.c, dpm_tp.c) and fwd
 * (launcher/fwd_relay.c, which only ever uses the first part). See
 * dpm/README.md.
 *
 * Rail address (what peers see as a process's fabric address when it
 * has a rail):
 *   0xFE 'L', u8 version, u8 n, primary address (n bytes),
 *   host key (8 bytes), u8 m, shm address (m bytes)
 * A peer whose own rail is open and whose host key is the same sends
 * over shm; every other peer uses the primary address. Providers'
 * addresses never start with 0xFE 'L' (see relay.h for 0xFE 'R').
 *
 * Host key: the first 8 bytes of SHA-256 over the boot id, the
 * effective uid, the network, pid and IPC namespaces and the device and
 * inode of /dev/shm: two processes with the same key can map each
 * other's shm regions (mode 0600) and reach each other with
 * process_vm_readv. Network namespaces count, so that the test hosts
 * (one namespace each) keep talking over the primary provider as real
 * hosts would.
 *
 * Messages on the rail, a header of FW_DPM_RAIL_HDR bytes first:
 *   u8 version, u8 kind, 6 bytes 0, u64 length, u64 big tag, u64 dpm tag
 * kind INLINE: the message follows (length bytes, at most
 *   FW_DPM_RAIL_INLINE), under libfabric tag FW_DPM_RAIL_TAG; big tag 0.
 * kind BIG: nothing follows; the sender then sends the message itself
 *   (length bytes) under the big tag (FW_DPM_RAIL_BIG | 63 random bits),
 *   from its own buffer. The receiver, when a receive matches the
 *   header, posts one exact receive of the big tag into the caller's
 *   buffer: shm copies it with process_vm_readv, with no second copy.
 * Every libfabric receive on the rail is exact (shm before libfabric
 * 1.19 mismatches wildcard receives). A sender's headers arrive in
 * order (shm is FI_ORDER_SAS); the receiver matches dpm tags itself
 * (fw_dpm_rail_rx_t, below), oldest first, so each sender's messages
 * keep their order whatever their size.
 */
#ifndef FW_DPM_RAIL_H
#define FW_DPM_RAIL_H

#include <fabwire/status.h>
#include <fabwire/types.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FW_DPM_RAIL_ADDR_VERSION 1
#define FW_DPM_RAIL_KEY_LEN 8
#define FW_DPM_RAIL_VERSION 1
#define FW_DPM_RAIL_TAG 0u
#define FW_DPM_RAIL_BIG (1ull << 63)
#define FW_DPM_RAIL_HDR 32u
/* Largest message sent inline; longer ones are BIG. As tcp;ofi_rxm's
 * SAR limit (128 KiB): what the job's provider takes eagerly, without
 * the receiver, the rail does too, and the same sizes wait for it. */
#define FW_DPM_RAIL_INLINE (128u * 1024u)
/* A receive buffer of the rail: header and inline message. */
#define FW_DPM_RAIL_FRAG (FW_DPM_RAIL_INLINE + FW_DPM_RAIL_HDR)

typedef enum fw_dpm_rail_kind {
    FW_DPM_RAIL_KIND_INLINE = 0,
    FW_DPM_RAIL_KIND_BIG = 1
} fw_dpm_rail_kind_t;

/* The parts of a rail address (pointers into it). */
typedef struct fw_dpm_rail_addr {
    const uint8_t *primary;
    size_t primary_len;
    const uint8_t *key; /* FW_DPM_RAIL_KEY_LEN bytes */
    const uint8_t *shm;
    size_t shm_len;
} fw_dpm_rail_addr_t;

/*
 * Write the rail address of (primary, key, shm) to out (*len_p: its
 * room, then the length). FW_ERR_BAD_PARAM for an empty part or one over
 * 255 bytes, FW_ERR_TOO_BIG (with *len_p the size needed) if out is too
 * small.
 */
fw_status_t fw_dpm_rail_addr_make(const void *primary, size_t plen,
                                  const uint8_t key[FW_DPM_RAIL_KEY_LEN],
                                  const void *shm, size_t slen, void *out,
                                  size_t *len_p);

/* 1 and *a filled if addr is a well-formed rail address; else 0. */
int fw_dpm_rail_addr_parse(const void *addr, size_t len,
                           fw_dpm_rail_addr_t *a);

/* The address to give the primary provider: the first part of a rail
 * address, or addr itself. */
void fw_dpm_rail_addr_primary(const uint8_t *addr, size_t len,
                              const uint8_t **p_p, size_t *plen_p);

/* This host's key (computed once; FW_ERR_SYSTEM if a part is missing). */
fw_status_t fw_dpm_rail_host_key(uint8_t key[FW_DPM_RAIL_KEY_LEN]);

/* Header of a message: inline (big 0) or BIG (big has FW_DPM_RAIL_BIG). */
void fw_dpm_rail_hdr_pack(uint8_t hdr[FW_DPM_RAIL_HDR], uint64_t len,
                          uint64_t big, uint64_t tag);

/* Receive side: headers in, messages matched (no fabric). */
typedef struct fw_dpm_rail_rx fw_dpm_rail_rx_t;
typedef struct fw_dpm_rail_msg fw_dpm_rail_msg_t;

fw_status_t fw_dpm_rail_rx_new(fw_dpm_rail_rx_t **rx_p);
void fw_dpm_rail_rx_free(fw_dpm_rail_rx_t *rx);

/*
 * Take in one received buffer (header, and the message if inline).
 * FW_ERR_PROTO (nothing kept) for a bad header, an inline length that is
 * not what came, or a BIG one with bytes after it; FW_ERR_NO_MEM.
 */
fw_status_t fw_dpm_rail_rx_frag(fw_dpm_rail_rx_t *rx, const void *frag,
                                size_t len);

/* The oldest whole message whose tag matches tag outside ignore's bits,
 * or NULL. */
fw_dpm_rail_msg_t *fw_dpm_rail_rx_match(fw_dpm_rail_rx_t *rx, uint64_t tag,
                                        uint64_t ignore);

/*
 * Deliver inline message m (from fw_dpm_rail_rx_match) into buf and
 * forget it: FW_SUCCESS with *len_p, *tag_p (either may be NULL), or
 * FW_ERR_TRUNCATE if it is longer than cap (its first cap bytes in buf;
 * the message is gone either way, as with a truncated fabric receive).
 * FW_ERR_BAD_PARAM for a BIG one (fw_dpm_rail_rx_big).
 */
fw_status_t fw_dpm_rail_rx_take(fw_dpm_rail_rx_t *rx, fw_dpm_rail_msg_t *m,
                                void *buf, size_t cap, size_t *len_p,
                                uint64_t *tag_p);

/* m is BIG: 1 and its big tag, length and dpm tag, and m is forgotten
 * (the caller receives the message itself); 0 (nothing done) if not. */
int fw_dpm_rail_rx_big(fw_dpm_rail_rx_t *rx, fw_dpm_rail_msg_t *m,
                       uint64_t *big_p, uint64_t *len_p, uint64_t *tag_p);

/* Messages waiting (for tests and debug logs). */
size_t fw_dpm_rail_rx_count(const fw_dpm_rail_rx_t *rx);

#ifdef __cplusplus
}
#endif

#endif /* FW_DPM_RAIL_H */
