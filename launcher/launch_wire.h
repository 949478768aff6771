/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Launcher messages between fwrun (daemon id 0) and the fwd daemons, in
 * the OOB frame type range 16-63. Bodies are big-endian fw_buf fields;
 * each starts with nothing but the fields listed (the OOB header carries
 * version, type, source and destination).
 *
 *  CONFIG    parent -> new child  u32 ndaemons, u32 fanout, str jobid,
 *                                 strv agent, str fwd path, u32 flags,
 *                                 strv hosts (by daemon id), str provider
 *  REPORT    daemon -> root       u32 id, str hostname, u32 ncores,
 *                                 str oob address, blob fabric card
 *  LAUNCH    root -> all (bcast)  job (job.h encoding)
 *  EXITS     daemon -> root       u32 n, n x (u32 rank, u32 status)
 *  FAIL      daemon -> root       u32 rank or daemon id, u32 what, str text
 *  IOF       daemon -> root       u32 rank, u8 stream (1 out, 2 err), blob
 *  STDIN     root -> daemon       blob (empty = end of input)
 *  KILL      root -> all (bcast)  u32 signal (0 = TERM, then KILL later)
 *  SIGNAL    root -> all (bcast)  u32 signal to forward to every rank
 *  SHUTDOWN  root -> all (bcast)  (empty): exit once children are gone
 *  STDIN_ACK daemon -> root       u32 bytes of STDIN written (or dropped):
 *                                 fwrun keeps at most 1 MiB unacknowledged
 *
 * A rank's status is encoded as exit code (0-255) or 256 + signal number.
 */
#ifndef FW_LAUNCH_WIRE_H
#define FW_LAUNCH_WIRE_H

#include <fabwire/types.h>
#include <fabwire/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fw_launch_msg_type {
    FW_LAUNCH_MSG_CONFIG = 16,
    FW_LAUNCH_MSG_REPORT = 17,
    FW_LAUNCH_MSG_LAUNCH = 18,
    FW_LAUNCH_MSG_EXITS = 19,
    FW_LAUNCH_MSG_FAIL = 20,
    FW_LAUNCH_MSG_IOF = 21,
    FW_LAUNCH_MSG_STDIN = 22,
    FW_LAUNCH_MSG_KILL = 23,
    FW_LAUNCH_MSG_SIGNAL = 24,
    FW_LAUNCH_MSG_SHUTDOWN = 25,
    FW_LAUNCH_MSG_STDIN_ACK = 26
} fw_launch_msg_type_t;

/* FAIL: what failed */
typedef enum fw_launch_fail {
    FW_LAUNCH_FAIL_EXEC = 1,   /* a rank could not be started (id = rank) */
    FW_LAUNCH_FAIL_DAEMON = 2, /* a daemon could not start or died (id) */
    FW_LAUNCH_FAIL_ABORT = 3   /* a rank asked to abort the job */
} fw_launch_fail_t;

/* CONFIG flags */
#define FW_LAUNCH_CFG_VERBOSE 1u

#define FW_LAUNCH_STATUS_SIGNALED 256u

#ifdef __cplusplus
}
#endif

#endif /* FW_LAUNCH_WIRE_H */

#ifndef FW_LAUNCH_WIRE_CONFIG_H
#define FW_LAUNCH_WIRE_CONFIG_H
#include "common/buf.h"

/* CONFIG body: what a daemon needs to start its own subtree. */
typedef struct fw_launch_config {
    uint32_t ndaemons; /* tree size, fwrun included */
    uint32_t fanout;
    char *jobid;
    char **agent;      /* NULL-terminated */
    char *fwd_path;
    uint32_t flags;
    char **hosts;      /* ndaemons entries + NULL; [0] is fwrun's host */
    char *provider;    /* fabric provider for the daemons ("" = default) */
} fw_launch_config_t;

void fw_launch_config_pack(const fw_launch_config_t *c, fw_buf_t *b);
/* On success *c owns its strings (fw_launch_config_cleanup). */
fw_status_t fw_launch_config_unpack(fw_rbuf_t *r, fw_launch_config_t *c);
void fw_launch_config_cleanup(fw_launch_config_t *c);

/* NULL-terminated string vectors on the wire: u32 count + strings. */
void fw_launch_strv_pack(fw_buf_t *b, char *const *v);
char **fw_launch_strv_unpack(fw_rbuf_t *r);
void fw_launch_strv_free(char **v);
#endif
