/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The OOB network: authenticated, framed connections over TCP or Unix
 * sockets. Two flavours:
 *  - event-driven connections on a libevent base (fwrun, daemons,
 *    fw-server): fw_oob_listen / fw_oob_connect / fw_oob_send;
 *  - blocking connections for the client library, which has no event
 *    loop of its own: fw_oob_sconn_*.
 * Both speak the same frames and handshake (oob_wire.h). URIs are
 * "tcp://ADDR:PORT" or "unix:@NAME" (Linux abstract socket: nothing is
 * left in the file system when a process dies).
 */
#ifndef FW_OOB_H
#define FW_OOB_H

#include <fabwire/types.h>
#include <fabwire/status.h>
#include "common/error.h"
#include "oob/oob_wire.h"
#include "oob/oob_route.h"

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FW_OOB_URI_MAX 128

struct event_base;
typedef struct fw_oob_conn fw_oob_conn_t;
typedef struct fw_oob_listener fw_oob_listener_t;
typedef struct fw_oob_sconn fw_oob_sconn_t;

/*
 * Callbacks of an event-driven connection; all run from the event loop,
 * never inside the call that started the operation.
 *  opened:  the handshake completed; the peer's kind and id are known.
 *  message: one frame (payload borrowed for the duration of the call).
 *  closed:  the connection is gone (reason FW_ERR_CONN_CLOSED, _AUTH,
 *           _PROTO, _CONN_REFUSED...); the handle is freed after it
 *           returns. Not called after fw_oob_conn_close(). A client
 *           whose peer closes after our RESPONSE, before ACCEPT, gets
 *           FW_ERR_AUTH: that is how a server refuses a wrong secret.
 */
struct fw_oob_conn_ops {
    void (*opened)(fw_oob_conn_t *conn, void *arg);
    void (*message)(fw_oob_conn_t *conn, const fw_oob_hdr_t *hdr,
                    const void *payload, void *arg);
    void (*closed)(fw_oob_conn_t *conn, fw_status_t reason, void *arg);
};

/*
 * Listen on uri ("tcp://ADDR:0" picks a port; "unix:@NAME"). Accepted
 * connections must prove knowledge of secret; those that do not are
 * refused and logged. ops/arg apply to every accepted connection.
 * The caller owns *listener_p (fw_oob_listener_destroy). Non-blocking.
 * Returns FW_SUCCESS, FW_ERR_BAD_PARAM (bad uri), FW_ERR_SYSTEM, _NO_MEM.
 */
fw_status_t fw_oob_listen(struct event_base *base, const char *uri,
                          const uint8_t secret[FW_OOB_SECRET_LEN],
                          const struct fw_oob_conn_ops *ops, void *arg,
                          fw_oob_listener_t **listener_p, fw_error_t *err);

/* The URI peers connect to (port filled in). Borrowed, valid until
 * destroy. */
const char *fw_oob_listener_uri(const fw_oob_listener_t *l);

/* Stop listening; accepted connections stay open. Accepts NULL. */
void fw_oob_listener_destroy(fw_oob_listener_t *l);

/*
 * Connect to uri and authenticate as (kind, id). Non-blocking: opened or
 * closed is called later. The caller owns *conn_p until closed() runs or
 * it calls fw_oob_conn_close(). Returns FW_SUCCESS, FW_ERR_BAD_PARAM,
 * FW_ERR_SYSTEM, FW_ERR_NO_MEM.
 */
fw_status_t fw_oob_connect(struct event_base *base, const char *uri,
                           const uint8_t secret[FW_OOB_SECRET_LEN],
                           uint32_t kind, uint32_t id,
                           const struct fw_oob_conn_ops *ops, void *arg,
                           fw_oob_conn_t **conn_p, fw_error_t *err);

/*
 * Queue one frame. The payload is copied. Returns FW_SUCCESS,
 * FW_ERR_CONN_CLOSED (not open), FW_ERR_TOO_BIG, FW_ERR_NO_MEM.
 */
fw_status_t fw_oob_send(fw_oob_conn_t *conn, uint8_t type, uint32_t src,
                        uint32_t dst, const void *payload, size_t len);

/*
 * Write what is queued now, as far as the socket takes it without
 * blocking, instead of at the event loop's next turn (latency-critical
 * answers); the rest is written by the loop as usual. Accepts NULL.
 */
void fw_oob_conn_flush(fw_oob_conn_t *conn);

/* Close now and free; queued output is dropped. Accepts NULL. */
void fw_oob_conn_close(fw_oob_conn_t *conn);

/* Close once queued output has been written (closed() is not called;
 * no message is passed on after it, also when called from a callback of
 * the connection's). */
void fw_oob_conn_close_flushed(fw_oob_conn_t *conn);

/* Peer identity proved by the handshake. */
uint32_t fw_oob_conn_peer_kind(const fw_oob_conn_t *conn);
uint32_t fw_oob_conn_peer_id(const fw_oob_conn_t *conn);
/* "ADDR:PORT" of the peer, or "local" for Unix sockets. Borrowed. */
const char *fw_oob_conn_peer_name(const fw_oob_conn_t *conn);
/* The peer process on a Unix socket (SO_PEERCRED), else 0. */
pid_t fw_oob_conn_peer_pid(const fw_oob_conn_t *conn);
/* Local IP address of a TCP connection ("" for Unix). Borrowed. */
const char *fw_oob_conn_local_addr(const fw_oob_conn_t *conn);
/* Bytes queued but not yet written. */
size_t fw_oob_conn_pending(const fw_oob_conn_t *conn);

/* Owner's context pointer. */
void fw_oob_conn_set_ctx(fw_oob_conn_t *conn, void *ctx);
void *fw_oob_conn_get_ctx(const fw_oob_conn_t *conn);

/*
 * Blocking connection (client library). Connects and authenticates
 * within timeout_ms. The caller owns *sconn_p (fw_oob_sconn_close).
 * Returns FW_SUCCESS, FW_ERR_BAD_PARAM, FW_ERR_UNREACHABLE, FW_ERR_AUTH,
 * FW_ERR_TIMEOUT, FW_ERR_PROTO, FW_ERR_NO_MEM.
 */
fw_status_t fw_oob_sconn_open(const char *uri,
                              const uint8_t secret[FW_OOB_SECRET_LEN],
                              uint32_t kind, uint32_t id, int timeout_ms,
                              fw_oob_sconn_t **sconn_p, fw_error_t *err);

/* A frame to send (fw_oob_sconn_open_send). Borrowed. */
typedef struct fw_oob_frame {
    uint8_t type;
    const void *payload;
    size_t len;
} fw_oob_frame_t;

/*
 * fw_oob_sconn_open, sending `first` (may be NULL) right behind the
 * handshake response instead of after the server's answer: the reply to
 * it can be awaited with fw_oob_sconn_recv as soon as this returns.
 */
fw_status_t fw_oob_sconn_open_send(const char *uri,
                                   const uint8_t secret[FW_OOB_SECRET_LEN],
                                   uint32_t kind, uint32_t id, int timeout_ms,
                                   const fw_oob_frame_t *first,
                                   fw_oob_sconn_t **sconn_p, fw_error_t *err);

/* Write one whole frame. FW_ERR_CONN_CLOSED if the peer is gone. */
fw_status_t fw_oob_sconn_send(fw_oob_sconn_t *s, uint8_t type, uint32_t src,
                              uint32_t dst, const void *payload, size_t len);

/*
 * Wait up to timeout_ms (-1 = forever) for one frame. On success *hdr_p
 * is set and *payload_p points to a buffer owned by s, valid until the
 * next call on s. FW_ERR_TIMEOUT, FW_ERR_CONN_CLOSED, FW_ERR_PROTO.
 */
fw_status_t fw_oob_sconn_recv(fw_oob_sconn_t *s, int timeout_ms,
                              fw_oob_hdr_t *hdr_p, const void **payload_p);

/* The socket, for poll() by callers that multiplex. */
int fw_oob_sconn_fd(const fw_oob_sconn_t *s);

/*
 * Other work while s waits for its socket (a relayed process answering
 * its relay, progressing an endpoint): before each poll, prepare(arg,
 * fds, &max_ms) names up to FW_OOB_IDLE_FDS more fds to wait for
 * (readable; -1: none) and the longest wait (-1: no limit); when one is
 * ready or max_ms passed, run(arg), and the wait goes on. run must not
 * use s. NULL hook: none.
 */
#define FW_OOB_IDLE_FDS 2
typedef struct fw_oob_idle {
    void (*prepare)(void *arg, int fds[FW_OOB_IDLE_FDS], int *max_ms);
    void (*run)(void *arg);
    void *arg;
} fw_oob_idle_t;
void fw_oob_sconn_set_idle(fw_oob_sconn_t *s, const fw_oob_idle_t *idle);

/* Close and free. Accepts NULL. */
void fw_oob_sconn_close(fw_oob_sconn_t *s);

#ifdef __cplusplus
}
#endif

#endif /* FW_OOB_H */
