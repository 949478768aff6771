/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Name service messages (dpm.h: FW_DPM_MSG_NS_REQ / NS_REPLY) as fixed
 * structs with pack/unpack, and the fw-server contact string. Pure
 * functions: no sockets, no libevent.
 *
 *   NS_REQ    u32 reqid, u8 op, str owner, str service,
 *             str port (PUBLISH, else ""), u32 timeout_ms (LOOKUP, else 0)
 *   NS_REPLY  u32 reqid, u32 -status, str port (successful LOOKUP, else "")
 *
 * The op fields (service, port, timeout_ms) pack and unpack on their own
 * too, for bodies that carry them after other fields (rank DPM_REQ).
 */
#ifndef FW_DPM_NS_WIRE_H
#define FW_DPM_NS_WIRE_H

#include <fabwire/types.h>
#include <fabwire/status.h>
#include <fabwire/dpm.h>
#include "common/buf.h"
#include "dpm/dpm.h"
#include "oob/oob.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A name service request; strings are NUL-terminated. */
typedef struct fw_ns_req {
    uint32_t reqid;
    uint8_t op; /* FW_DPM_OP_PUBLISH, _LOOKUP, _UNPUBLISH, _DROP */
    char owner[FW_JOBID_MAX];
    char service[FW_MAX_SERVICE];
    char port[FW_MAX_PORT_NAME];
    uint32_t timeout_ms;
} fw_ns_req_t;

typedef struct fw_ns_reply {
    uint32_t reqid;
    fw_status_t status; /* FW_SUCCESS or an error, never FW_INPROGRESS */
    char port[FW_MAX_PORT_NAME];
} fw_ns_reply_t;

/*
 * Append str service, str port, u32 timeout_ms of req to b, for req->op:
 * the port goes out for PUBLISH only and the timeout for LOOKUP only
 * ("" and 0 otherwise). Errors (out of memory) show in fw_buf_status(b).
 */
void fw_ns_fields_pack(const fw_ns_req_t *req, fw_buf_t *b);

/*
 * Read those fields for op into req->service, ->port, ->timeout_ms.
 * Malformed input (short, a string too long for its field or holding a
 * NUL, a port outside PUBLISH, a timeout outside LOOKUP) sets r's error
 * flag (fw_rbuf_status() is then FW_ERR_PROTO); req is written only when
 * the fields are well formed.
 */
void fw_ns_fields_unpack(fw_rbuf_t *r, uint8_t op, fw_ns_req_t *req);

/* 1 for the four ops of NS_REQ, else 0. */
int fw_ns_op_valid(uint8_t op);

/*
 * Body of NS_REQ into b (appended; the caller owns b and frees it with
 * fw_buf_cleanup). FW_SUCCESS, FW_ERR_BAD_PARAM (NULL, unknown op,
 * strings not NUL-terminated in their fields), FW_ERR_NO_MEM.
 */
fw_status_t fw_ns_req_pack(const fw_ns_req_t *req, fw_buf_t *b);

/*
 * Parse a whole NS_REQ body. FW_ERR_PROTO if it is short, has trailing
 * bytes, an unknown op, an over-long string or a misplaced field;
 * *req_p written only on success.
 */
fw_status_t fw_ns_req_unpack(const void *p, size_t len, fw_ns_req_t *req_p);

/* Body of NS_REPLY into b, as fw_ns_req_pack(). FW_ERR_BAD_PARAM also
 * for FW_INPROGRESS or a port with an error status. */
fw_status_t fw_ns_reply_pack(const fw_ns_reply_t *rep, fw_buf_t *b);

/*
 * Parse a whole NS_REPLY body. FW_ERR_PROTO if it is short, has
 * trailing bytes, a status this build does not know (or FW_INPROGRESS),
 * an over-long port or a port with an error status. *rep_p written only
 * on success.
 */
fw_status_t fw_ns_reply_unpack(const void *p, size_t len,
                               fw_ns_reply_t *rep_p);

/* Longest contact string, NUL included: 64 hex digits, '@', a URI. */
#define FW_NS_CONTACT_MAX (2 * FW_OOB_SECRET_LEN + 1 + FW_OOB_URI_MAX)

/*
 * Format fw-server's contact string "<64 hex secret>@<uri>" into out.
 * FW_ERR_BAD_PARAM for NULL, FW_ERR_TOO_BIG if uri is too long.
 */
fw_status_t fw_ns_contact_format(const uint8_t secret[FW_OOB_SECRET_LEN],
                                 const char *uri,
                                 char out[FW_NS_CONTACT_MAX]);

/*
 * Parse a contact string, or "file:PATH" naming a file whose first line
 * is one (as fw-server --report-uri writes it). Strict: exactly 64 hex
 * digits, '@', "tcp://" a numeric IPv4 address or [IPv6] address, ':'
 * and a port 1..65535, nothing else (a file's line may end in "\n").
 * Returns FW_SUCCESS, or FW_ERR_PARSE (malformed, or the file cannot be
 * read) with secret and uri untouched and err (may be NULL) saying what
 * is wrong: the file's PATH and strerror (No such file or directory, Is a
 * directory, Permission denied...), "the file is empty", or that the
 * text is not a contact string. Blocking (reads the file).
 */
fw_status_t fw_ns_contact_parse(const char *s,
                                uint8_t secret[FW_OOB_SECRET_LEN],
                                char uri[FW_OOB_URI_MAX], fw_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* FW_DPM_NS_WIRE_H */
