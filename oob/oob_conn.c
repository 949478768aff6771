/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Event-driven OOB connections on libevent bufferevents: framing,
 * the challenge/response handshake with the job secret (TCP) or the
 * kernel's peer credentials (Unix sockets), and an explicit
 * per-connection state machine.
 *
 *   TCP client:  CONNECTING -> WAIT_CHALLENGE -> WAIT_ACCEPT -> OPEN -> CLOSED
 *   TCP server:                WAIT_RESPONSE  ---------------> OPEN -> CLOSED
 *   Unix client: CONNECTING --(listener's uid is ours, CRED)--> OPEN -> CLOSED
 *   Unix server: WAIT_CRED  --(CRED; peer's uid checked at accept)--> OPEN
 *
 * Writes of an open connection: messages sent during one turn of the
 * event loop go out together in one write at the end of it (a per-
 * connection event made active, no system call), not through the
 * bufferevent's write event: that one costs two epoll_ctl and a loop
 * turn per message. Only output the socket does not take at once
 * enables the bufferevent's writing until it drains.
 */
#define _GNU_SOURCE /* struct ucred */
#include "oob/oob_internal.h"
#include "common/log.h"
#include "common/param.h"
#include "common/util.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/****************/
/* Local Types  */
/****************/

typedef enum fw_oob_conn_state {
    FW_OOB_CONN_CONNECTING,
    FW_OOB_CONN_WAIT_CHALLENGE,
    FW_OOB_CONN_WAIT_RESPONSE,
    FW_OOB_CONN_WAIT_ACCEPT,
    FW_OOB_CONN_WAIT_CRED,
    FW_OOB_CONN_OPEN,
    FW_OOB_CONN_CLOSED
} fw_oob_conn_state_t;

struct fw_oob_conn {
    struct bufferevent *bev;
    fw_oob_conn_state_t state;
    uint8_t secret[FW_OOB_SECRET_LEN];
    uint8_t nonce[FW_OOB_NONCE_LEN];
    uint32_t my_kind, my_id;
    uint32_t peer_kind, peer_id;
    const struct fw_oob_conn_ops *ops;
    void *arg;
    void *ctx;
    char peer_name[64];
    char local_addr[64];
    int server;
    int unix_sock; /* authenticated by SO_PEERCRED, not the secret */
    int close_flushed;
    int in_cb;
    int dead;
    struct event *flush_ev; /* open: writes what this loop turn queued */
};

struct fw_oob_listener {
    struct evconnlistener *evl;
    struct event_base *base;
    uint8_t secret[FW_OOB_SECRET_LEN];
    const struct fw_oob_conn_ops *ops;
    void *arg;
    char uri[FW_OOB_URI_MAX];
};

static const char *const fw_oob_state_names[] = {
    "connecting", "wait-challenge", "wait-response", "wait-accept",
    "wait-cred", "open", "closed"};

FW_PARAM_TABLE(oob,
    {"FW_OOB_HANDSHAKE_MS", "10000",
     "time allowed for a new OOB connection to authenticate"},
    {"FW_OOB_FANOUT", "32",
     "fan-out of the daemon tree used for launch, barrier and output"},
    {"FW_OOB_KEEPALIVE_S", "30",
     "a TCP peer gone without closing (partition, power loss) is dropped "
     "after about this many seconds of silence; 0 = no keepalive"})

/********************/
/* Local Functions  */
/********************/

static void
fw_oob_conn_transition(fw_oob_conn_t *c, fw_oob_conn_state_t next)
{
    FW_LOG_DEBUG("oob.conn", "conn %s: %s -> %s", c->peer_name,
                 fw_oob_state_names[c->state], fw_oob_state_names[next]);
    c->state = next;
}

static void
fw_oob_conn_free(fw_oob_conn_t *c)
{
    if (c->flush_ev != NULL)
        event_free(c->flush_ev);
    if (c->bev != NULL)
        bufferevent_free(c->bev);
    memset(c->secret, 0, sizeof(c->secret));
    free(c);
}

/* Tear down after a failure and tell the owner (from the event loop). */
static void
fw_oob_conn_fail(fw_oob_conn_t *c, fw_status_t why)
{
    /* an accepted connection is unknown to its owner until opened */
    int notify = c->state != FW_OOB_CONN_CLOSED && !c->dead &&
                 (!c->server || c->state == FW_OOB_CONN_OPEN);

    fw_oob_conn_transition(c, FW_OOB_CONN_CLOSED);
    if (c->bev != NULL) {
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
        bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
    }
    if (notify && c->ops->closed != NULL) {
        c->in_cb++;
        c->ops->closed(c, why, c->arg);
        c->in_cb--;
    }
    if (c->in_cb > 0)
        c->dead = 1;
    else
        fw_oob_conn_free(c);
}

static fw_status_t
fw_oob_conn_write(fw_oob_conn_t *c, uint8_t type, uint32_t src, uint32_t dst,
                  const void *payload, size_t len)
{
    fw_oob_hdr_t h = {FW_OOB_WIRE_VERSION, type, 0, (uint32_t)len, src, dst};
    uint8_t hdr[FW_OOB_HDR_LEN];
    struct evbuffer *out = bufferevent_get_output(c->bev);

    if (len > FW_OOB_MAX_PAYLOAD)
        return FW_ERR_TOO_BIG;
    fw_oob_hdr_pack(&h, hdr);
    if (evbuffer_add(out, hdr, sizeof(hdr)) != 0 ||
        (len > 0 && evbuffer_add(out, payload, len) != 0))
        return FW_ERR_NO_MEM;
    /* open: written at the end of this loop turn, unless the bufferevent
     * writes already (output the socket did not take) */
    if (c->flush_ev != NULL &&
        !(bufferevent_get_enabled(c->bev) & EV_WRITE))
        event_active(c->flush_ev, EV_WRITE, 0);
    return FW_SUCCESS;
}

/* Write what the socket takes of bev's output now. A bufferevent keeps
 * its output's head frozen (only its own write drains it): thawed for
 * the write. Errors (EAGAIN included) are left to its own writing. */
static void
fw_oob_conn_write_now(struct bufferevent *bev)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    evutil_socket_t fd = bufferevent_getfd(bev);

    if (fd < 0 || evbuffer_get_length(out) == 0)
        return;
    evbuffer_unfreeze(out, 1);
    (void)evbuffer_write(out, fd);
    evbuffer_freeze(out, 1);
}

/* End of a loop turn: write what it queued. What the socket does not
 * take (or an error, which the bufferevent then reports) is left to the
 * bufferevent's writing, until the output drains (write_cb). */
static void
fw_oob_conn_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    fw_oob_conn_t *c = arg;
    struct evbuffer *out = bufferevent_get_output(c->bev);

    (void)fd;
    (void)what;
    if (c->dead || c->state != FW_OOB_CONN_OPEN ||
        (bufferevent_get_enabled(c->bev) & EV_WRITE) ||
        evbuffer_get_length(out) == 0)
        return;
    fw_oob_conn_write_now(c->bev);
    if (evbuffer_get_length(out) > 0)
        bufferevent_enable(c->bev, EV_WRITE);
}

static void
fw_oob_conn_opened(fw_oob_conn_t *c)
{
    fw_oob_conn_transition(c, FW_OOB_CONN_OPEN);
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    /* from now on writes go through flush_ev (the handshake's went
     * through the bufferevent; what is left of them drains first) */
    c->flush_ev = event_new(bufferevent_get_base(c->bev), -1, 0,
                            fw_oob_conn_flush_cb, c);
    if (c->flush_ev != NULL &&
        evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        bufferevent_disable(c->bev, EV_WRITE);
    if (c->ops->opened != NULL)
        c->ops->opened(c, c->arg);
}

/* Server side: check the client's RESPONSE, answer with ACCEPT. */
static fw_status_t
fw_oob_conn_on_response(fw_oob_conn_t *c, const uint8_t *p, size_t len)
{
    uint8_t mac[FW_OOB_MAC_LEN], reply[FW_OOB_MAC_LEN];
    uint32_t kind, id;

    if (len != 8 + FW_OOB_NONCE_LEN + FW_OOB_MAC_LEN ||
        fw_oob_cred_unpack(p, FW_OOB_CRED_LEN, &kind, &id) != FW_SUCCESS)
        return FW_ERR_AUTH;
    fw_oob_auth_mac(c->secret, 0, c->nonce, kind, id, mac);
    if (fw_memcmp_ct(mac, p + 8 + FW_OOB_NONCE_LEN, FW_OOB_MAC_LEN) != 0)
        return FW_ERR_AUTH;
    c->peer_kind = kind;
    c->peer_id = id;
    /* prove we know the secret too, over the client's nonce */
    fw_oob_auth_mac(c->secret, 1, p + 8, kind, id, reply);
    if (fw_oob_conn_write(c, FW_OOB_MSG_ACCEPT, 0, id, reply,
                          sizeof(reply)) != FW_SUCCESS)
        return FW_ERR_NO_MEM;
    fw_oob_conn_opened(c);
    return FW_SUCCESS;
}

/* Client side: answer the CHALLENGE with our identity and a MAC. */
static fw_status_t
fw_oob_conn_on_challenge(fw_oob_conn_t *c, const uint8_t *p, size_t len)
{
    uint8_t resp[8 + FW_OOB_NONCE_LEN + FW_OOB_MAC_LEN];

    if (len != FW_OOB_NONCE_LEN)
        return FW_ERR_PROTO;
    fw_oob_cred_pack(c->my_kind, c->my_id, resp);
    if (fw_random_bytes(c->nonce, sizeof(c->nonce)) != FW_SUCCESS)
        return FW_ERR_SYSTEM;
    memcpy(resp + 8, c->nonce, FW_OOB_NONCE_LEN);
    fw_oob_auth_mac(c->secret, 0, p, c->my_kind, c->my_id,
                    resp + 8 + FW_OOB_NONCE_LEN);
    if (fw_oob_conn_write(c, FW_OOB_MSG_RESPONSE, c->my_id, 0, resp,
                          sizeof(resp)) != FW_SUCCESS)
        return FW_ERR_NO_MEM;
    fw_oob_conn_transition(c, FW_OOB_CONN_WAIT_ACCEPT);
    return FW_SUCCESS;
}

static fw_status_t
fw_oob_conn_on_accept(fw_oob_conn_t *c, const uint8_t *p, size_t len)
{
    uint8_t mac[FW_OOB_MAC_LEN];

    fw_oob_auth_mac(c->secret, 1, c->nonce, c->my_kind, c->my_id, mac);
    if (len != FW_OOB_MAC_LEN || fw_memcmp_ct(mac, p, len) != 0)
        return FW_ERR_AUTH;
    fw_oob_conn_opened(c);
    return FW_SUCCESS;
}

/* Server side, Unix socket: the peer's uid was checked at accept. */
static fw_status_t
fw_oob_conn_on_cred(fw_oob_conn_t *c, const uint8_t *p, size_t len)
{
    uint32_t kind, id;

    if (fw_oob_cred_unpack(p, len, &kind, &id) != FW_SUCCESS)
        return FW_ERR_AUTH;
    c->peer_kind = kind;
    c->peer_id = id;
    fw_oob_conn_opened(c);
    return FW_SUCCESS;
}

/* Client side, Unix socket: the listener must be ours; say who we are. */
static fw_status_t
fw_oob_conn_send_cred(fw_oob_conn_t *c)
{
    uint8_t cred[FW_OOB_CRED_LEN];
    unsigned uid = 0;
    fw_status_t rc;

    rc = fw_oob_sock_peer_check(bufferevent_getfd(c->bev), &uid);
    if (rc != FW_SUCCESS) {
        FW_LOG_WARN("oob", "%s: the socket belongs to uid %u, not to us",
                    c->peer_name, uid);
        return FW_ERR_AUTH;
    }
    fw_oob_cred_pack(c->my_kind, c->my_id, cred);
    if (fw_oob_conn_write(c, FW_OOB_MSG_CRED, c->my_id, 0, cred,
                          sizeof(cred)) != FW_SUCCESS)
        return FW_ERR_NO_MEM;
    fw_oob_conn_opened(c);
    return FW_SUCCESS;
}

/* One frame, by state. */
static fw_status_t
fw_oob_conn_dispatch(fw_oob_conn_t *c, const fw_oob_hdr_t *h,
                     const uint8_t *payload)
{
    if (c->state == FW_OOB_CONN_CONNECTING && !c->unix_sock) {
        /* data can be read before libevent reports the connect */
        fw_oob_conn_transition(c, FW_OOB_CONN_WAIT_CHALLENGE);
    }
    switch (c->state) {
    case FW_OOB_CONN_WAIT_RESPONSE:
        if (h->type != FW_OOB_MSG_RESPONSE)
            return FW_ERR_AUTH;
        return fw_oob_conn_on_response(c, payload, h->len);
    case FW_OOB_CONN_WAIT_CHALLENGE:
        if (h->type != FW_OOB_MSG_CHALLENGE)
            return FW_ERR_PROTO;
        return fw_oob_conn_on_challenge(c, payload, h->len);
    case FW_OOB_CONN_WAIT_ACCEPT:
        if (h->type != FW_OOB_MSG_ACCEPT)
            return FW_ERR_AUTH;
        return fw_oob_conn_on_accept(c, payload, h->len);
    case FW_OOB_CONN_WAIT_CRED:
        if (h->type != FW_OOB_MSG_CRED)
            return FW_ERR_AUTH;
        return fw_oob_conn_on_cred(c, payload, h->len);
    case FW_OOB_CONN_OPEN:
        if (h->type < FW_OOB_MSG_USER_MIN)
            return FW_ERR_PROTO;
        if (c->ops->message != NULL)
            c->ops->message(c, h, payload, c->arg);
        return FW_SUCCESS;
    default:
        return FW_ERR_PROTO;
    }
}

static void
fw_oob_conn_read_cb(struct bufferevent *bev, void *arg)
{
    fw_oob_conn_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    fw_status_t rc = FW_SUCCESS;
    fw_oob_hdr_t h;
    size_t flen;
    uint8_t *data;

    c->in_cb++;
    while (!c->dead && !c->close_flushed && c->state != FW_OOB_CONN_CLOSED) {
        size_t avail = evbuffer_get_length(in);

        if (avail < FW_OOB_HDR_LEN)
            break;
        data = evbuffer_pullup(in, FW_OOB_HDR_LEN);
        rc = data != NULL ? fw_oob_hdr_unpack(data, FW_OOB_MAX_PAYLOAD, &h)
                          : FW_ERR_NO_MEM;
        if (rc != FW_SUCCESS)
            break;
        flen = FW_OOB_HDR_LEN + (size_t)h.len;
        if (avail < flen)
            break;
        data = evbuffer_pullup(in, (ssize_t)flen);
        if (data == NULL) {
            rc = FW_ERR_NO_MEM;
            break;
        }
        rc = fw_oob_conn_dispatch(c, &h, data + FW_OOB_HDR_LEN);
        evbuffer_drain(in, flen);
        if (rc != FW_SUCCESS)
            break;
    }
    c->in_cb--;
    if (c->dead && c->in_cb == 0) {
        fw_oob_conn_free(c);
        return;
    }
    if (rc != FW_SUCCESS && rc != FW_INPROGRESS && !c->dead) {
        if (rc == FW_ERR_AUTH)
            FW_LOG_WARN("oob", "connection from %s refused: bad credentials",
                        c->peer_name);
        else
            FW_LOG_WARN("oob", "conn %s: closing: %s", c->peer_name,
                        fw_strerror(rc));
        fw_oob_conn_fail(c, rc);
    }
}

static void
fw_oob_conn_write_cb(struct bufferevent *bev, void *arg)
{
    fw_oob_conn_t *c = arg;

    if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
        return;
    if (c->close_flushed)
        fw_oob_conn_free(c);
    else if (c->flush_ev != NULL && c->state == FW_OOB_CONN_OPEN)
        bufferevent_disable(bev, EV_WRITE); /* drained: back to flush_ev */
}

static void
fw_oob_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    fw_oob_conn_t *c = arg;
    int fd = bufferevent_getfd(bev);

    if (what & BEV_EVENT_CONNECTED) {
        fw_oob_sock_nodelay(fd);
        if (c->state != FW_OOB_CONN_CONNECTING)
            return;
        if (!c->unix_sock)
            fw_oob_conn_transition(c, FW_OOB_CONN_WAIT_CHALLENGE);
        else if (fw_oob_conn_send_cred(c) != FW_SUCCESS)
            fw_oob_conn_fail(c, FW_ERR_AUTH);
        return;
    }
    if (c->close_flushed) {
        fw_oob_conn_free(c);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        FW_LOG_WARN("oob", "conn %s: handshake timed out", c->peer_name);
        fw_oob_conn_fail(c, FW_ERR_TIMEOUT);
    } else if (c->state == FW_OOB_CONN_WAIT_ACCEPT) {
        /* the server drops a RESPONSE whose MAC is wrong without a word:
         * a close right after ours means it refused our credentials */
        FW_LOG_DEBUG("oob", "conn %s: closed after our response",
                     c->peer_name);
        fw_oob_conn_fail(c, FW_ERR_AUTH);
    } else if (c->state == FW_OOB_CONN_CONNECTING) {
        FW_LOG_DEBUG("oob", "conn %s: connect failed: %s", c->peer_name,
                     strerror(EVUTIL_SOCKET_ERROR()));
        fw_oob_conn_fail(c, FW_ERR_CONN_REFUSED);
    } else {
        fw_oob_conn_fail(c, FW_ERR_CONN_CLOSED);
    }
}

/* TCP only: a dead peer must not keep a daemon waiting forever. */
static void
fw_oob_conn_keepalive(int fd, const char *who)
{
    long secs = fw_param_get_long("FW_OOB_KEEPALIVE_S", 0, 86400);

    if (fw_oob_sock_keepalive(fd, secs) != FW_SUCCESS)
        FW_LOG_WARN("oob", "conn %s: cannot set TCP keepalive: %m", who);
}

static fw_oob_conn_t *
fw_oob_conn_new(struct event_base *base, int fd,
                const uint8_t secret[FW_OOB_SECRET_LEN],
                const struct fw_oob_conn_ops *ops, void *arg)
{
    fw_oob_conn_t *c = calloc(1, sizeof(*c));
    struct timeval tv;
    long ms = fw_param_get_long("FW_OOB_HANDSHAKE_MS", 1, 3600000);

    if (c == NULL)
        return NULL;
    c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        free(c);
        return NULL;
    }
    memcpy(c->secret, secret, FW_OOB_SECRET_LEN);
    c->ops = ops;
    c->arg = arg;
    snprintf(c->peer_name, sizeof(c->peer_name), "?");
    bufferevent_setcb(c->bev, fw_oob_conn_read_cb, fw_oob_conn_write_cb,
                      fw_oob_conn_event_cb, c);
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    bufferevent_set_timeouts(c->bev, &tv, NULL);
    return c;
}

/* TCP: send the challenge. Unix: refuse another uid, wait for CRED. */
static fw_status_t
fw_oob_conn_start_server(fw_oob_conn_t *c, const char *uri)
{
    unsigned uid = 0;
    fw_status_t rc;

    if (c->unix_sock) {
        rc = fw_oob_sock_peer_check(bufferevent_getfd(c->bev), &uid);
        if (rc != FW_SUCCESS) {
            FW_LOG_WARN("oob", "listener %s: connection refused: %s%u",
                        uri, rc == FW_ERR_AUTH ? "peer runs as uid "
                                               : "no peer credentials, uid ",
                        uid);
            return FW_ERR_AUTH;
        }
        c->state = FW_OOB_CONN_WAIT_CRED;
    } else {
        c->state = FW_OOB_CONN_WAIT_RESPONSE;
        if (fw_random_bytes(c->nonce, sizeof(c->nonce)) != FW_SUCCESS ||
            fw_oob_conn_write(c, FW_OOB_MSG_CHALLENGE, 0, 0, c->nonce,
                              sizeof(c->nonce)) != FW_SUCCESS)
            goto err_start;
    }
    if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0)
        goto err_start;
    return FW_SUCCESS;

err_start:
    FW_LOG_WARN("oob", "listener %s: cannot start handshake", uri);
    return FW_ERR_SYSTEM;
}

static void
fw_oob_listener_accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
                          struct sockaddr *sa, int salen, void *arg)
{
    fw_oob_listener_t *l = arg;
    fw_oob_conn_t *c;

    if (fw_fd_set_nonblock_cloexec(fd) != FW_SUCCESS) {
        FW_LOG_WARN("oob", "listener %s: accept: fcntl: %m", l->uri);
        close(fd);
        return;
    }
    c = fw_oob_conn_new(l->base, fd, l->secret, l->ops, l->arg);
    if (c == NULL) {
        FW_LOG_WARN("oob", "listener %s: accept: out of memory", l->uri);
        close(fd);
        return;
    }
    fw_oob_sock_nodelay(fd);
    fw_oob_sock_name(fd, 1, c->peer_name, sizeof(c->peer_name), NULL, 0);
    fw_oob_sock_name(fd, 0, NULL, 0, c->local_addr, sizeof(c->local_addr));
    c->server = 1;
    c->unix_sock = sa != NULL && salen >= (int)sizeof(sa_family_t) &&
                   sa->sa_family == AF_UNIX;
    if (!c->unix_sock)
        fw_oob_conn_keepalive(fd, c->peer_name);
    if (fw_oob_conn_start_server(c, l->uri) != FW_SUCCESS)
        fw_oob_conn_free(c);
}

/*********************/
/* Public Functions  */
/*********************/

fw_status_t
fw_oob_listen(struct event_base *base, const char *uri,
              const uint8_t secret[FW_OOB_SECRET_LEN],
              const struct fw_oob_conn_ops *ops, void *arg,
              fw_oob_listener_t **listener_p, fw_error_t *err)
{
    fw_oob_listener_t *l;
    fw_oob_sockaddr_t sa;
    fw_status_t status;
    int fd;

    if (base == NULL || secret == NULL || ops == NULL || listener_p == NULL) {
        fw_errprintf(err, "listen: invalid parameter");
        return FW_ERR_BAD_PARAM;
    }
    status = fw_oob_uri_parse(uri, &sa, err);
    if (status != FW_SUCCESS)
        return status;
    l = calloc(1, sizeof(*l));
    if (l == NULL) {
        fw_errprintf(err, "listen: out of memory");
        return FW_ERR_NO_MEM;
    }
    l->base = base;
    memcpy(l->secret, secret, FW_OOB_SECRET_LEN);
    l->ops = ops;
    l->arg = arg;
    l->evl = evconnlistener_new_bind(base, fw_oob_listener_accept_cb, l,
                                     LEV_OPT_CLOSE_ON_FREE |
                                         LEV_OPT_CLOSE_ON_EXEC |
                                         LEV_OPT_REUSEABLE,
                                     1024, (struct sockaddr *)&sa.ss,
                                     (int)sa.len);
    if (l->evl == NULL) {
        fw_errprintf(err, "listen on %s: %s", uri, strerror(errno));
        status = FW_ERR_SYSTEM;
        goto err_free_listener;
    }
    fd = evconnlistener_get_fd(l->evl);
    sa.len = sizeof(sa.ss);
    if (getsockname(fd, (struct sockaddr *)&sa.ss, &sa.len) != 0) {
        fw_errprintf(err, "listen on %s: getsockname: %s", uri,
                     strerror(errno));
        status = FW_ERR_SYSTEM;
        goto err_free_evl;
    }
    fw_oob_uri_format(&sa, l->uri);
    FW_LOG_DEBUG("oob", "listening on %s", l->uri);
    *listener_p = l;
    return FW_SUCCESS;

err_free_evl:
    evconnlistener_free(l->evl);
err_free_listener:
    free(l);
    return status;
}

const char *
fw_oob_listener_uri(const fw_oob_listener_t *l)
{
    return l->uri;
}

void
fw_oob_listener_destroy(fw_oob_listener_t *l)
{
    if (l == NULL)
        return;
    evconnlistener_free(l->evl);
    memset(l->secret, 0, sizeof(l->secret));
    free(l);
}

fw_status_t
fw_oob_connect(struct event_base *base, const char *uri,
               const uint8_t secret[FW_OOB_SECRET_LEN], uint32_t kind,
               uint32_t id, const struct fw_oob_conn_ops *ops, void *arg,
               fw_oob_conn_t **conn_p, fw_error_t *err)
{
    fw_oob_sockaddr_t sa;
    fw_oob_conn_t *c;
    fw_status_t status;
    int fd;

    if (base == NULL || secret == NULL || ops == NULL || conn_p == NULL) {
        fw_errprintf(err, "connect: invalid parameter");
        return FW_ERR_BAD_PARAM;
    }
    status = fw_oob_uri_parse(uri, &sa, err);
    if (status != FW_SUCCESS)
        return status;
    /* our own socket, so that it is close-on-exec in forked ranks */
    fd = socket(sa.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                0);
    if (fd < 0) {
        fw_errprintf(err, "connect to %s: socket: %s", uri, strerror(errno));
        return FW_ERR_SYSTEM;
    }
    c = fw_oob_conn_new(base, fd, secret, ops, arg);
    if (c == NULL) {
        close(fd);
        fw_errprintf(err, "connect: out of memory");
        return FW_ERR_NO_MEM;
    }
    c->my_kind = kind;
    c->my_id = id;
    c->state = FW_OOB_CONN_CONNECTING;
    c->unix_sock = sa.ss.ss_family == AF_UNIX;
    snprintf(c->peer_name, sizeof(c->peer_name), "%s", uri);
    if (!c->unix_sock)
        fw_oob_conn_keepalive(fd, c->peer_name);
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&sa.ss,
                                   (int)sa.len) != 0) {
        fw_errprintf(err, "connect to %s: %s", uri, strerror(errno));
        fw_oob_conn_free(c);
        return FW_ERR_UNREACHABLE;
    }
    /* the kernel has bound the local end already (connect in progress) */
    fw_oob_sock_name(fd, 0, NULL, 0, c->local_addr, sizeof(c->local_addr));
    if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0) {
        fw_errprintf(err, "connect to %s: cannot enable events", uri);
        fw_oob_conn_free(c);
        return FW_ERR_SYSTEM;
    }
    *conn_p = c;
    return FW_SUCCESS;
}

fw_status_t
fw_oob_send(fw_oob_conn_t *conn, uint8_t type, uint32_t src, uint32_t dst,
            const void *payload, size_t len)
{
    if (conn == NULL || conn->state != FW_OOB_CONN_OPEN || conn->dead ||
        conn->close_flushed)
        return FW_ERR_CONN_CLOSED;
    return fw_oob_conn_write(conn, type, src, dst, payload, len);
}

void
fw_oob_conn_flush(fw_oob_conn_t *conn)
{
    struct evbuffer *out;

    if (conn == NULL || conn->bev == NULL || conn->state != FW_OOB_CONN_OPEN ||
        conn->dead)
        return;
    out = bufferevent_get_output(conn->bev);
    fw_oob_conn_write_now(conn->bev);
    if (evbuffer_get_length(out) > 0)
        bufferevent_enable(conn->bev, EV_WRITE);
}

void
fw_oob_conn_close(fw_oob_conn_t *conn)
{
    if (conn == NULL)
        return;
    if (conn->bev != NULL) {
        bufferevent_disable(conn->bev, EV_READ | EV_WRITE);
        bufferevent_setcb(conn->bev, NULL, NULL, NULL, NULL);
    }
    conn->state = FW_OOB_CONN_CLOSED;
    if (conn->in_cb > 0)
        conn->dead = 1;
    else
        fw_oob_conn_free(conn);
}

void
fw_oob_conn_close_flushed(fw_oob_conn_t *conn)
{
    if (conn == NULL)
        return;
    if (conn->state != FW_OOB_CONN_OPEN || conn->dead ||
        evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0) {
        fw_oob_conn_close(conn);
        return;
    }
    /* also from inside one of its callbacks: no more input is passed on,
     * the output drains, then write_cb (or event_cb, on an error) frees
     * it, outside any callback of ours */
    conn->close_flushed = 1;
    bufferevent_disable(conn->bev, EV_READ);
    bufferevent_enable(conn->bev, EV_WRITE);
}

uint32_t
fw_oob_conn_peer_kind(const fw_oob_conn_t *conn)
{
    return conn->peer_kind;
}

uint32_t
fw_oob_conn_peer_id(const fw_oob_conn_t *conn)
{
    return conn->peer_id;
}

const char *
fw_oob_conn_peer_name(const fw_oob_conn_t *conn)
{
    return conn->peer_name;
}

pid_t
fw_oob_conn_peer_pid(const fw_oob_conn_t *conn)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    evutil_socket_t fd;

    if (!conn->unix_sock || conn->bev == NULL ||
        (fd = bufferevent_getfd(conn->bev)) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        len != sizeof(cred))
        return 0;
    return cred.pid;
}

const char *
fw_oob_conn_local_addr(const fw_oob_conn_t *conn)
{
    return conn->local_addr;
}

size_t
fw_oob_conn_pending(const fw_oob_conn_t *conn)
{
    return evbuffer_get_length(bufferevent_get_output(conn->bev));
}

void
fw_oob_conn_set_ctx(fw_oob_conn_t *conn, void *ctx)
{
    conn->ctx = ctx;
}

void *
fw_oob_conn_get_ctx(const fw_oob_conn_t *conn)
{
    return conn->ctx;
}
