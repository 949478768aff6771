/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * OOB frame format and the connection handshake messages. Every frame is
 * a 16-byte header in network byte order followed by `len` payload bytes.
 * Pure functions: no sockets, testable on byte arrays.
 */
#ifndef FW_OOB_WIRE_H
#define FW_OOB_WIRE_H

#include <fabwire/types.h>
#include <fabwire/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 2: FENCE_UP carries a status (a rank gone fails the fence at once) */
#define FW_OOB_WIRE_VERSION 2
#define FW_OOB_HDR_LEN 16
/* Largest payload accepted on any connection (a launch message of a big
 * job is the largest frame: a few bytes per rank). */
#define FW_OOB_MAX_PAYLOAD (64u << 20)

#define FW_OOB_NONCE_LEN 32
#define FW_OOB_MAC_LEN 32
/* Per-job secret length in bytes (hex-encoded in FW_JOB_SECRET). */
#define FW_OOB_SECRET_LEN 32

/* Destination ids with a meaning of their own. */
#define FW_OOB_ID_ROOT 0u          /* fwrun, root of the daemon tree */
#define FW_OOB_ID_BCAST 0xffffffffu /* every daemon, down the tree */

/*
 * Frame types. 0-15 belong to the OOB layer itself; the layers above own
 * their ranges: launcher 16-63, modex 64-95, dpm 96-127.
 */
typedef enum fw_oob_msg_type {
    FW_OOB_MSG_CHALLENGE = 1, /* server -> client: nonce */
    FW_OOB_MSG_RESPONSE = 2,  /* client -> server: kind, id, cnonce, mac */
    FW_OOB_MSG_ACCEPT = 3,    /* server -> client: mac over cnonce */
    FW_OOB_MSG_CRED = 4,      /* client -> server, Unix sockets: kind, id */
    FW_OOB_MSG_USER_MIN = 16
} fw_oob_msg_type_t;

/* What the connecting side is (bound into the handshake MAC). */
typedef enum fw_oob_peer_kind {
    FW_OOB_PEER_DAEMON = 1, /* a daemon (or fwrun) in the job's tree */
    FW_OOB_PEER_PROC = 2,   /* an application process (client library) */
    FW_OOB_PEER_TOOL = 3    /* an outside tool or another job */
} fw_oob_peer_kind_t;

typedef struct fw_oob_hdr {
    uint8_t version;
    uint8_t type;
    uint16_t flags;
    uint32_t len; /* payload bytes after the header */
    uint32_t src; /* originating id */
    uint32_t dst; /* destination id, FW_OOB_ID_BCAST for all */
} fw_oob_hdr_t;

/* Encode h into 16 bytes. */
void fw_oob_hdr_pack(const fw_oob_hdr_t *h, uint8_t out[FW_OOB_HDR_LEN]);

/*
 * Decode a 16-byte header. FW_ERR_PROTO for a wrong version or a payload
 * over max_payload; *h written only on success.
 */
fw_status_t fw_oob_hdr_unpack(const uint8_t in[FW_OOB_HDR_LEN],
                              size_t max_payload, fw_oob_hdr_t *h);

/*
 * Look at the first avail bytes of a stream. Returns FW_SUCCESS with *h
 * and *frame_len_p set when a whole frame is there, FW_INPROGRESS when
 * more bytes are needed (outputs untouched), FW_ERR_PROTO for a wrong
 * version or a payload over max_payload.
 */
fw_status_t fw_oob_frame_parse(const uint8_t *data, size_t avail,
                               size_t max_payload, fw_oob_hdr_t *h,
                               size_t *frame_len_p);

/*
 * Handshake MAC: HMAC-SHA-256 under the job secret of a domain-separation
 * label, the nonce, and for the client the kind and id it claims.
 */
void fw_oob_auth_mac(const uint8_t secret[FW_OOB_SECRET_LEN], int server,
                     const uint8_t nonce[FW_OOB_NONCE_LEN], uint32_t kind,
                     uint32_t id, uint8_t mac[FW_OOB_MAC_LEN]);

/* Length of a CRED payload: u32 kind, u32 id. */
#define FW_OOB_CRED_LEN 8

/* Encode the identity a client claims (CRED and RESPONSE start with it). */
void fw_oob_cred_pack(uint32_t kind, uint32_t id, uint8_t out[FW_OOB_CRED_LEN]);

/* Decode it; *kind_p and *id_p written only on success (len == 8). */
fw_status_t fw_oob_cred_unpack(const uint8_t *p, size_t len, uint32_t *kind_p,
                               uint32_t *id_p);

/*
 * Read the job secret from the environment variable FW_JOB_SECRET (64 hex
 * digits). out is written only on success. FW_ERR_NOT_FOUND if unset,
 * FW_ERR_PARSE if malformed.
 */
fw_status_t fw_oob_secret_from_env(uint8_t out[FW_OOB_SECRET_LEN]);

#ifdef __cplusplus
}
#endif

#endif /* FW_OOB_WIRE_H */
