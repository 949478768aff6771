/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Relaying: a process without an endpoint of its own (a spawned child
 * that would otherwise load libfabric first) has a daemon carry its dpm
 * messages. Shared by libfabwire (dpm_relay.c, dpm_tp.c) and fwd
 * (launcher/fwd_relay.c); see dpm/README.md.
 *
 * Relay address of process ID at a daemon (what peers see as its fabric
 * address): 0xFE 'R', u32 ID (big-endian), the daemon's fabric address.
 * Providers' addresses never start so for the same length, and the port
 * name codec carries it as any other address.
 *
 * To a relay address, a message goes to the daemon in fragments of at
 * most FW_DPM_RELAY_FRAG bytes (1 MiB of message), each tagged FW_DPM_RELAY_TAG (never a dpm
 * tag) with remote CQ data ID | FW_DPM_RELAY_MORE (not the last one):
 *   u64 tag (the dpm tag), u64 msgid (sender's, per message), bytes
 * The daemon hands each fragment on (RELAY_MSG); the process joins them.
 *
 * Address query (fw_comm_peer_addr of a relayed process): a message with
 * dpm tag FW_DPM_RELAY_TAG to its relay address, never handed on as is:
 *   u64 reply tag, blob the asker's address
 * The daemon answers from what the process told it (RELAY_ADDR) with a
 * message of the reply tag to the asker: u32 -status, blob the address
 * of the process's own endpoint. Until it knows, it keeps the query and
 * hands the process an empty message of tag FW_DPM_RELAY_TAG: the process
 * opens its own endpoint (libfabric) when it next reads, and answers.
 *
 * OOB frames between the process and the daemon (dpm range):
 *   RELAY_OPEN     u8 version
 *   RELAY_OPEN_ACK u32 -status, u32 id, str provider, u8 exact_tags,
 *                  blob daemon address
 *   RELAY_SEND     u32 seq, u8 more, u32 timeout_ms, u64 tag, blob
 *                  destination, bytes
 *                  (a message of more than one frame: same seq, more = 1
 *                  but in the last; the daemon sends it whole)
 *   RELAY_SENT     u32 seq, u32 -status (after the last frame)
 *   RELAY_MSG      u64 msgid, u8 more, u64 tag, bytes
 *   RELAY_ADDR     u32 -status, blob own endpoint address (process ->
 *                  daemon, once: its own endpoint opened, or could not)
 */
#ifndef FW_DPM_RELAY_H
#define FW_DPM_RELAY_H

#include "fabric/fab.h"
#include "common/buf.h"
#include "oob/oob_wire.h"

#include <fabwire/types.h>
#include <fabwire/status.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FW_DPM_RELAY_VERSION 2
#define FW_DPM_RELAY_TAG UINT64_MAX
#define FW_DPM_RELAY_MORE (1u << 31)
#define FW_DPM_RELAY_ID_MAX (FW_DPM_RELAY_MORE - 1)
#define FW_DPM_RELAY_HDR 16u
/* A fragment (header included). Above the SAR limit of rxm (128 KiB), so
 * a fragment the daemon is not ready for waits at its sender (rendezvous)
 * instead of in the daemon's memory. */
#define FW_DPM_RELAY_FRAG ((1u << 20) + FW_DPM_RELAY_HDR)
/* Bytes of a message per RELAY_SEND / RELAY_MSG frame. */
#define FW_DPM_RELAY_CHUNK (1u << 20)
/* Relay address overhead: magic and id. */
#define FW_DPM_RELAY_ADDR_HDR 6u

typedef enum fw_dpm_relay_msg_type {
    FW_DPM_MSG_RELAY_OPEN = 102,
    FW_DPM_MSG_RELAY_OPEN_ACK = 103,
    FW_DPM_MSG_RELAY_SEND = 104,
    FW_DPM_MSG_RELAY_SENT = 105,
    FW_DPM_MSG_RELAY_MSG = 106,
    FW_DPM_MSG_RELAY_ADDR = 107
} fw_dpm_relay_msg_type_t;

/* The secret of a job's relay listeners: HMAC-SHA256(job secret,
 * "fabwire relay 1"), handed to the job's child jobs instead of the job
 * secret itself. The listener is a Unix socket, which the OOB layer
 * authenticates by the peer's uid (SO_PEERCRED, as a daemon's rank
 * socket), not by this secret: any process of the same user may be
 * relayed; the secret would matter on a TCP listener. */
void fw_dpm_relay_secret(const uint8_t job[FW_OOB_SECRET_LEN],
                         uint8_t out[FW_OOB_SECRET_LEN]);

/* The relay listener of job jobid's daemon on this host:
 * "unix:@fabwire-relay-<jobid>". FW_ERR_TOO_BIG if it does not fit. */
fw_status_t fw_dpm_relay_uri(const char *jobid, char *out, size_t size);

/* Write the relay address of id at a daemon whose address is inner.
 * FW_ERR_TOO_BIG if it exceeds *len_p (which gets its length). */
fw_status_t fw_dpm_relay_addr_make(uint32_t id, const void *inner,
                                   size_t inner_len, uint8_t *out,
                                   size_t *len_p);

/* 1 if addr is a relay address: *id_p, *inner_p (inside addr), its
 * length. 0 otherwise (outputs untouched). */
int fw_dpm_relay_addr_parse(const uint8_t *addr, size_t len, uint32_t *id_p,
                            const uint8_t **inner_p, size_t *inner_len_p);

/*
 * Send (tag, buf, len) to relayed process id behind the daemon at peer,
 * fragment by fragment (blocking; each fragment within timeout_ms).
 * msgid tells this message's fragments apart from others to id.
 */
fw_status_t fw_dpm_relay_fab_send(fw_fab_t *fab, uint64_t peer, uint32_t id,
                                  uint64_t tag, uint64_t msgid,
                                  const void *buf, size_t len,
                                  int timeout_ms);

/* Fragment header (FW_DPM_RELAY_HDR bytes) into hdr. */
void fw_dpm_relay_frag_hdr(uint8_t hdr[FW_DPM_RELAY_HDR], uint64_t tag,
                           uint64_t msgid);

/* Split a received fragment: its dpm tag, msgid and payload. */
fw_status_t fw_dpm_relay_frag_parse(const void *frag, size_t len,
                                    uint64_t *tag_p, uint64_t *msgid_p,
                                    const uint8_t **data_p,
                                    size_t *data_len_p);

#ifdef __cplusplus
}
#endif

#endif /* FW_DPM_RELAY_H */
