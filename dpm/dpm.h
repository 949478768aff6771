/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpm: dynamic processes (ports, name service, connect/accept, spawn).
 * Shared definitions: the port name codec and the OOB message types of
 * the dpm range (96-127). See dpm/README.md.
 */
#ifndef FW_DPM_H
#define FW_DPM_H

#include <fabwire/types.h>
#include <fabwire/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * OOB frame types (range 96-127).
 *  DPM_REQ    rank -> its daemon -> fwrun. Rank's body: u32 reqid, u8 op,
 *             op fields. On the daemon tree the daemon prefixes u32 rank.
 *  DPM_REPLY  fwrun -> daemon -> rank. On the tree: u32 rank, then the
 *             rank's body: u32 reqid, u32 status (-fw_status_t), fields.
 *  NS_REQ     fwrun -> fw-server (or a spawned job's fwrun -> its parent
 *             fwrun): u32 reqid, u8 op, str owner jobid, str service,
 *             str port (PUBLISH, else ""), u32 timeout_ms (LOOKUP).
 *  NS_REPLY   u32 reqid, u32 status (-fw_status_t), str port (LOOKUP).
 */
typedef enum fw_dpm_msg_type {
    FW_DPM_MSG_REQ = 96,
    FW_DPM_MSG_REPLY = 97,
    FW_DPM_MSG_NS_REQ = 100,
    FW_DPM_MSG_NS_REPLY = 101
} fw_dpm_msg_type_t;

/* Operations of DPM_REQ and NS_REQ. */
typedef enum fw_dpm_op {
    FW_DPM_OP_PUBLISH = 1,   /* str service, str port -> status */
    FW_DPM_OP_LOOKUP = 2,    /* str service, u32 timeout_ms -> status, port */
    FW_DPM_OP_UNPUBLISH = 3, /* str service -> status */
    FW_DPM_OP_DROP = 4,      /* NS only: forget entries of owner; no reply */
    FW_DPM_OP_EP_REG = 16,   /* blob fabric address; no reply */
    FW_DPM_OP_EP_QUERY = 17, /* u32 rank, u32 timeout_ms -> status,
                                u32 n, n x (u32 rank, blob address) */
    FW_DPM_OP_SPAWN = 18,    /* spawn request -> status, u32 n, n x u32 code */
    FW_DPM_OP_SPAWN_DONE = 19, /* u64 spawn id: children connected; no reply */
    FW_DPM_OP_SPAWN_CANCEL = 20, /* u32 reqid of a SPAWN whose answer the
                                    root stopped waiting for; no reply */
    FW_DPM_OP_WARM = 21      /* to the daemon only: open your endpoint
                                now (we are opening ours); no reply */
} fw_dpm_op_t;

/* Room MPI gives a port name, NUL included (MPI_MAX_PORT_NAME). */
#define FW_DPM_PORT_MAX 256
#define FW_DPM_PORT_VERSION 1
#define FW_DPM_ADDR_MAX 96 /* fabric address bytes a port can carry */

/* What a port name says: enough for a remote root to reach the port. */
typedef struct fw_dpm_port_desc {
    char provider[32];
    uint8_t addr[FW_DPM_ADDR_MAX];
    size_t addr_len;
    uint64_t nonce; /* port identity; also the tag the acceptor listens on */
    char jobid[FW_JOBID_MAX];
} fw_dpm_port_desc_t;

/*
 * Format d as "fw1:<provider>:<hex addr>:<hex nonce>:<jobid>" into out
 * (FW_DPM_PORT_MAX bytes). FW_ERR_TOO_BIG if it would not fit,
 * FW_ERR_BAD_PARAM for fields with ':' or empty ones.
 */
fw_status_t fw_dpm_port_format(const fw_dpm_port_desc_t *d,
                               char out[FW_DPM_PORT_MAX]);

/*
 * Strictly parse a port name. *d written only on success; anything
 * malformed, truncated, of another version or too long is FW_ERR_PORT.
 */
fw_status_t fw_dpm_port_parse(const char *name, fw_dpm_port_desc_t *d);

#ifdef __cplusplus
}
#endif

#endif /* FW_DPM_H */
