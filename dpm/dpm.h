/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpm: dynamic processes (ports, name service, connect/accept, spawn).
 * Work in progress (issue 4): so far the port name codec, which the
 * rest builds on. See docs/dpm-design.md.
 */
#ifndef FW_DPM_H
#define FW_DPM_H

#include <fabwire/types.h>
#include <fabwire/status.h>

#ifdef __cplusplus
extern "C" {
#endif

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
