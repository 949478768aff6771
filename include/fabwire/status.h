/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fabwire status codes: one enum for every layer, generated with
 * fw_strerror() from the single X-macro list below.
 * FW_SUCCESS (0) is the only success code; errors are negative.
 */
#ifndef FW_STATUS_H
#define FW_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Ranges by blast radius:
 *   -1 .. -49    caller error or local condition, nothing else is affected
 *   -50 .. -79   FW_ERR_CONN_*: one connection or peer is dead
 *   -80 .. -99   FW_ERR_JOB_*: the job cannot go on
 * Values are part of the ABI: never renumber, only append.
 */
#define FW_STATUS_LIST(X)                                                     \
    X(FW_SUCCESS, 0, "success")                                               \
    X(FW_INPROGRESS, 1, "operation in progress")                              \
    X(FW_ERR_BAD_PARAM, -1, "invalid parameter")                              \
    X(FW_ERR_NO_MEM, -2, "out of memory")                                     \
    X(FW_ERR_NOT_INITIALIZED, -3, "fabwire not initialized")                  \
    X(FW_ERR_NOT_FOUND, -4, "not found")                                      \
    X(FW_ERR_TOO_BIG, -5, "too big")                                          \
    X(FW_ERR_TIMEOUT, -6, "timed out")                                        \
    X(FW_ERR_FABRIC, -7, "fabric error")                                      \
    X(FW_ERR_UNREACHABLE, -8, "peer unreachable")                             \
    X(FW_ERR_SYSTEM, -9, "system call failed")                                \
    X(FW_ERR_PROTO, -10, "protocol error")                                    \
    X(FW_ERR_AUTH, -11, "authentication failed")                              \
    X(FW_ERR_EXISTS, -12, "already exists")                                   \
    X(FW_ERR_WOULD_BLOCK, -13, "would block (called from progress context)")  \
    X(FW_ERR_NOT_READY, -14, "not ready (no fence completed)")                \
    X(FW_ERR_TRUNCATE, -15, "message truncated")                              \
    X(FW_ERR_PORT, -16, "invalid or stale port name")                         \
    X(FW_ERR_SPAWN, -17, "spawn failed")                                      \
    X(FW_ERR_UNSUPPORTED, -18, "not supported")                               \
    X(FW_ERR_PERM, -19, "permission denied")                                  \
    X(FW_ERR_PARSE, -20, "parse error")                                       \
    X(FW_ERR_CONN_CLOSED, -50, "connection closed by peer")                   \
    X(FW_ERR_CONN_REFUSED, -51, "connection refused")                         \
    X(FW_ERR_JOB_ABORTED, -80, "job aborted")

typedef enum fw_status {
#define FW_STATUS_ENUM_(name, value, text) name = value,
    FW_STATUS_LIST(FW_STATUS_ENUM_)
#undef FW_STATUS_ENUM_
} fw_status_t;

/* Human-readable text of a status; never NULL, static storage. */
const char *fw_strerror(fw_status_t status);

#ifdef __cplusplus
}
#endif

#endif /* FW_STATUS_H */
