/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Blocking OOB connection for the client library: the same frames and
 * handshakes as oob_conn.c over a plain socket with poll() timeouts.
 */
#include "oob/oob_internal.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct fw_oob_sconn {
    int fd;
    const fw_oob_idle_t *idle; /* other work while waiting, or NULL */
    uint8_t *rbuf; /* last received frame, owned */
    size_t rcap;
};

/* Until fd is ready for ev or deadline (0: none); the idle hook's fds
 * and time slices run it meanwhile. */
static int
fw_oob_sconn_wait(int fd, short ev, uint64_t deadline,
                  const fw_oob_idle_t *idle)
{
    struct pollfd pfd[1 + FW_OOB_IDLE_FDS];
    int ms = -1, rc, i, slice, extra[FW_OOB_IDLE_FDS];

    for (;;) {
        slice = -1;
        for (i = 0; i < FW_OOB_IDLE_FDS; i++)
            extra[i] = -1;
        if (idle != NULL)
            idle->prepare(idle->arg, extra, &slice);
        if (deadline != 0) {
            uint64_t now = fw_time_ns();

            ms = now >= deadline ? 0 : (int)((deadline - now) / 1000000 + 1);
        }
        pfd[0] = (struct pollfd){fd, ev, 0};
        for (i = 0; i < FW_OOB_IDLE_FDS; i++)
            pfd[1 + i] = (struct pollfd){extra[i], POLLIN, 0};
        rc = poll(pfd, 1 + FW_OOB_IDLE_FDS,
                  slice >= 0 && (ms < 0 || slice < ms) ? slice : ms);
        if (rc < 0 && errno != EINTR)
            return -errno;
        if (rc > 0 && pfd[0].revents != 0)
            return 0;
        if (idle != NULL && (rc > 0 || slice >= 0))
            idle->run(idle->arg);
        /* whatever woke us: a hook fd that stays ready must not hold us
         * past the deadline */
        if (deadline != 0 && fw_time_ns() >= deadline)
            return -ETIMEDOUT;
    }
}

static fw_status_t
fw_oob_sconn_io(fw_oob_sconn_t *s, void *buf, size_t len, int writing,
                uint64_t deadline)
{
    uint8_t *p = buf;
    ssize_t n;
    int rc;

    while (len > 0) {
        if (writing)
            n = send(s->fd, p, len, MSG_NOSIGNAL);
        else
            n = recv(s->fd, p, len, 0);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n == 0)
            return FW_ERR_CONN_CLOSED;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return errno == EPIPE || errno == ECONNRESET ? FW_ERR_CONN_CLOSED
                                                         : FW_ERR_SYSTEM;
        rc = fw_oob_sconn_wait(s->fd, writing ? POLLOUT : POLLIN, deadline,
                               s->idle);
        if (rc == -ETIMEDOUT)
            return FW_ERR_TIMEOUT;
        if (rc != 0)
            return FW_ERR_SYSTEM;
    }
    return FW_SUCCESS;
}

static uint64_t
fw_oob_deadline(int timeout_ms)
{
    return timeout_ms < 0 ? 0 : fw_time_ns() + (uint64_t)timeout_ms * 1000000;
}

static fw_status_t
fw_oob_sconn_send_dl(fw_oob_sconn_t *s, uint8_t type, uint32_t src,
                     uint32_t dst, const void *payload, size_t len,
                     uint64_t deadline)
{
    fw_oob_hdr_t h = {FW_OOB_WIRE_VERSION, type, 0, (uint32_t)len, src, dst};
    uint8_t hdr[FW_OOB_HDR_LEN], frame[FW_OOB_HDR_LEN + 512];
    fw_status_t rc;

    if (len > FW_OOB_MAX_PAYLOAD)
        return FW_ERR_TOO_BIG;
    fw_oob_hdr_pack(&h, hdr);
    if (len <= sizeof(frame) - sizeof(hdr)) {
        /* small frame in one write: the daemon reads it whole, one
         * wakeup instead of two */
        memcpy(frame, hdr, sizeof(hdr));
        if (len > 0)
            memcpy(frame + sizeof(hdr), payload, len);
        return fw_oob_sconn_io(s, frame, sizeof(hdr) + len, 1, deadline);
    }
    rc = fw_oob_sconn_io(s, hdr, sizeof(hdr), 1, deadline);
    if (rc == FW_SUCCESS && len > 0)
        rc = fw_oob_sconn_io(s, (void *)payload, len, 1, deadline);
    return rc;
}

static fw_status_t
fw_oob_sconn_recv_dl(fw_oob_sconn_t *s, uint64_t deadline, fw_oob_hdr_t *h,
                     const void **payload_p)
{
    uint8_t hdr[FW_OOB_HDR_LEN];
    fw_oob_hdr_t tmp;
    fw_status_t rc;
    uint8_t *nb;

    rc = fw_oob_sconn_io(s, hdr, sizeof(hdr), 0, deadline);
    if (rc != FW_SUCCESS)
        return rc;
    rc = fw_oob_hdr_unpack(hdr, FW_OOB_MAX_PAYLOAD, &tmp);
    if (rc != FW_SUCCESS)
        return rc;
    if (tmp.len + 1 > s->rcap) {
        nb = realloc(s->rbuf, (size_t)tmp.len + 1);
        if (nb == NULL)
            return FW_ERR_NO_MEM;
        s->rbuf = nb;
        s->rcap = (size_t)tmp.len + 1;
    }
    rc = fw_oob_sconn_io(s, s->rbuf, tmp.len, 0, deadline);
    if (rc != FW_SUCCESS)
        return rc;
    *h = tmp;
    *payload_p = s->rbuf;
    return FW_SUCCESS;
}

static fw_status_t
fw_oob_sconn_handshake(fw_oob_sconn_t *s, const uint8_t *secret,
                       uint32_t kind, uint32_t id, const fw_oob_frame_t *first,
                       uint64_t deadline)
{
    uint8_t resp[8 + FW_OOB_NONCE_LEN + FW_OOB_MAC_LEN], mac[FW_OOB_MAC_LEN];
    const void *payload;
    fw_oob_hdr_t h;
    fw_status_t rc;

    rc = fw_oob_sconn_recv_dl(s, deadline, &h, &payload);
    if (rc != FW_SUCCESS)
        return rc;
    if (h.type != FW_OOB_MSG_CHALLENGE || h.len != FW_OOB_NONCE_LEN)
        return FW_ERR_PROTO;
    fw_oob_cred_pack(kind, id, resp);
    if (fw_random_bytes(resp + 8, FW_OOB_NONCE_LEN) != FW_SUCCESS)
        return FW_ERR_SYSTEM;
    fw_oob_auth_mac(secret, 0, payload, kind, id,
                    resp + 8 + FW_OOB_NONCE_LEN);
    rc = fw_oob_sconn_send_dl(s, FW_OOB_MSG_RESPONSE, id, 0, resp,
                              sizeof(resp), deadline);
    /* the caller's first frame rides right behind: one round trip less */
    if (rc == FW_SUCCESS && first != NULL)
        rc = fw_oob_sconn_send_dl(s, first->type, id, 0, first->payload,
                                  first->len, deadline);
    if (rc != FW_SUCCESS)
        return rc;
    rc = fw_oob_sconn_recv_dl(s, deadline, &h, &payload);
    if (rc == FW_ERR_CONN_CLOSED)
        return FW_ERR_AUTH; /* the server drops bad credentials */
    if (rc != FW_SUCCESS)
        return rc;
    fw_oob_auth_mac(secret, 1, resp + 8, kind, id, mac);
    if (h.type != FW_OOB_MSG_ACCEPT || h.len != FW_OOB_MAC_LEN ||
        fw_memcmp_ct(mac, payload, FW_OOB_MAC_LEN) != 0)
        return FW_ERR_AUTH;
    return FW_SUCCESS;
}

/*
 * Unix socket: the kernel vouches for both ends (SO_PEERCRED), so no
 * challenge: check that the listener is ours, then say who we are with the
 * caller's first frame right behind, in one write. The server drops a
 * peer of another uid; the next read then sees the close.
 */
static fw_status_t
fw_oob_sconn_cred(fw_oob_sconn_t *s, uint32_t kind, uint32_t id,
                  const fw_oob_frame_t *first, uint64_t deadline,
                  unsigned *uid_p)
{
    uint8_t buf[2 * FW_OOB_HDR_LEN + FW_OOB_CRED_LEN + 512];
    fw_oob_hdr_t h = {FW_OOB_WIRE_VERSION, FW_OOB_MSG_CRED, 0,
                      FW_OOB_CRED_LEN, id, 0};
    size_t n = FW_OOB_HDR_LEN + FW_OOB_CRED_LEN;
    fw_status_t rc;

    rc = fw_oob_sock_peer_check(s->fd, uid_p);
    if (rc != FW_SUCCESS)
        return rc;
    fw_oob_hdr_pack(&h, buf);
    fw_oob_cred_pack(kind, id, buf + FW_OOB_HDR_LEN);
    if (first != NULL && first->len <= sizeof(buf) - n - FW_OOB_HDR_LEN) {
        h = (fw_oob_hdr_t){FW_OOB_WIRE_VERSION, first->type, 0,
                           (uint32_t)first->len, id, 0};
        fw_oob_hdr_pack(&h, buf + n);
        if (first->len > 0)
            memcpy(buf + n + FW_OOB_HDR_LEN, first->payload, first->len);
        n += FW_OOB_HDR_LEN + first->len;
        first = NULL;
    }
    rc = fw_oob_sconn_io(s, buf, n, 1, deadline);
    if (rc == FW_SUCCESS && first != NULL)
        rc = fw_oob_sconn_send_dl(s, first->type, id, 0, first->payload,
                                  first->len, deadline);
    return rc;
}

static fw_status_t
fw_oob_sconn_dial(fw_oob_sconn_t *s, const fw_oob_sockaddr_t *sa,
                  uint64_t deadline)
{
    socklen_t len = sizeof(int);
    int soerr = 0;

    s->fd = socket(sa->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
                                         SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        return FW_ERR_SYSTEM;
    if (connect(s->fd, (const struct sockaddr *)&sa->ss, sa->len) == 0)
        return FW_SUCCESS;
    if (errno != EINPROGRESS)
        return FW_ERR_UNREACHABLE;
    if (fw_oob_sconn_wait(s->fd, POLLOUT, deadline, NULL) != 0)
        return FW_ERR_TIMEOUT;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 ||
        soerr != 0) {
        errno = soerr;
        return FW_ERR_UNREACHABLE;
    }
    return FW_SUCCESS;
}

fw_status_t
fw_oob_sconn_open(const char *uri, const uint8_t secret[FW_OOB_SECRET_LEN],
                  uint32_t kind, uint32_t id, int timeout_ms,
                  fw_oob_sconn_t **sconn_p, fw_error_t *err)
{
    return fw_oob_sconn_open_send(uri, secret, kind, id, timeout_ms, NULL,
                                  sconn_p, err);
}

fw_status_t
fw_oob_sconn_open_send(const char *uri,
                       const uint8_t secret[FW_OOB_SECRET_LEN], uint32_t kind,
                       uint32_t id, int timeout_ms, const fw_oob_frame_t *first,
                       fw_oob_sconn_t **sconn_p, fw_error_t *err)
{
    uint64_t deadline = fw_oob_deadline(timeout_ms);
    fw_oob_sockaddr_t sa;
    fw_oob_sconn_t *s;
    unsigned uid = 0;
    fw_status_t rc;

    if (secret == NULL || sconn_p == NULL) {
        fw_errprintf(err, "connect: invalid parameter");
        return FW_ERR_BAD_PARAM;
    }
    rc = fw_oob_uri_parse(uri, &sa, err);
    if (rc != FW_SUCCESS)
        return rc;
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        fw_errprintf(err, "connect: out of memory");
        return FW_ERR_NO_MEM;
    }
    s->fd = -1;
    rc = fw_oob_sconn_dial(s, &sa, deadline);
    if (rc != FW_SUCCESS) {
        fw_errprintf(err, "connect to %s: %s", uri, strerror(errno));
        goto err_close;
    }
    fw_oob_sock_nodelay(s->fd);
    if (sa.ss.ss_family == AF_UNIX)
        rc = fw_oob_sconn_cred(s, kind, id, first, deadline, &uid);
    else
        rc = fw_oob_sconn_handshake(s, secret, kind, id, first, deadline);
    if (rc == FW_ERR_AUTH && sa.ss.ss_family == AF_UNIX) {
        fw_errprintf(err, "connect to %s: the socket belongs to uid %u, "
                     "not to us (uid %u)", uri, uid, (unsigned)geteuid());
        goto err_close;
    }
    if (rc != FW_SUCCESS) {
        fw_errprintf(err, "connect to %s: handshake: %s", uri,
                     fw_strerror(rc));
        goto err_close;
    }
    *sconn_p = s;
    return FW_SUCCESS;

err_close:
    fw_oob_sconn_close(s);
    return rc;
}

fw_status_t
fw_oob_sconn_send(fw_oob_sconn_t *s, uint8_t type, uint32_t src, uint32_t dst,
                  const void *payload, size_t len)
{
    if (s == NULL || (payload == NULL && len > 0))
        return FW_ERR_BAD_PARAM;
    return fw_oob_sconn_send_dl(s, type, src, dst, payload, len, 0);
}

fw_status_t
fw_oob_sconn_recv(fw_oob_sconn_t *s, int timeout_ms, fw_oob_hdr_t *hdr_p,
                  const void **payload_p)
{
    if (s == NULL || hdr_p == NULL || payload_p == NULL)
        return FW_ERR_BAD_PARAM;
    return fw_oob_sconn_recv_dl(s, fw_oob_deadline(timeout_ms), hdr_p,
                                payload_p);
}

void
fw_oob_sconn_set_idle(fw_oob_sconn_t *s, const fw_oob_idle_t *idle)
{
    if (s != NULL)
        s->idle = idle;
}

int
fw_oob_sconn_fd(const fw_oob_sconn_t *s)
{
    return s->fd;
}

void
fw_oob_sconn_close(fw_oob_sconn_t *s)
{
    int saved = errno;

    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->rbuf);
    free(s);
    errno = saved;
}
