/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * URI parsing, socket naming and peer credentials for OOB connections.
 */
#define _GNU_SOURCE /* struct ucred */
#include "oob/oob_internal.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

static fw_status_t
fw_oob_uri_parse_unix(const char *name, fw_oob_sockaddr_t *sa_p,
                      fw_error_t *err)
{
    struct sockaddr_un *un = (struct sockaddr_un *)&sa_p->ss;
    size_t n = strlen(name);

    if (name[0] != '@' || n < 2 || n > sizeof(un->sun_path) - 1) {
        fw_errprintf(err, "unix uri '%s': expected unix:@NAME", name);
        return FW_ERR_BAD_PARAM;
    }
    memset(sa_p, 0, sizeof(*sa_p));
    un->sun_family = AF_UNIX;
    /* abstract namespace: leading NUL, no file system entry */
    memcpy(un->sun_path + 1, name + 1, n - 1);
    sa_p->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    return FW_SUCCESS;
}

static fw_status_t
fw_oob_uri_parse_tcp(const char *hostport, fw_oob_sockaddr_t *sa_p,
                     fw_error_t *err)
{
    char host[64];
    const char *colon = strrchr(hostport, ':');
    struct addrinfo hints, *res = NULL;
    size_t hl;
    int rc;

    if (colon == NULL || colon == hostport || colon[1] == '\0') {
        fw_errprintf(err, "tcp uri '%s': expected tcp://ADDR:PORT", hostport);
        return FW_ERR_BAD_PARAM;
    }
    hl = (size_t)(colon - hostport);
    if (hostport[0] == '[' && hl >= 2 && hostport[hl - 1] == ']') {
        hostport++;
        hl -= 2;
    }
    if (hl >= sizeof(host)) {
        fw_errprintf(err, "tcp uri: address too long");
        return FW_ERR_BAD_PARAM;
    }
    memcpy(host, hostport, hl);
    host[hl] = '\0';
    memset(&hints, 0, sizeof(hints));
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc != 0 || res == NULL) {
        fw_errprintf(err, "tcp uri '%s': %s", hostport, gai_strerror(rc));
        return FW_ERR_BAD_PARAM;
    }
    memset(sa_p, 0, sizeof(*sa_p));
    memcpy(&sa_p->ss, res->ai_addr, res->ai_addrlen);
    sa_p->len = res->ai_addrlen;
    freeaddrinfo(res);
    return FW_SUCCESS;
}

fw_status_t
fw_oob_uri_parse(const char *uri, fw_oob_sockaddr_t *sa_p, fw_error_t *err)
{
    if (uri == NULL) {
        fw_errprintf(err, "no uri");
        return FW_ERR_BAD_PARAM;
    }
    if (strncmp(uri, "unix:", 5) == 0)
        return fw_oob_uri_parse_unix(uri + 5, sa_p, err);
    if (strncmp(uri, "tcp://", 6) == 0)
        return fw_oob_uri_parse_tcp(uri + 6, sa_p, err);
    fw_errprintf(err, "uri '%s': unknown scheme (expected tcp:// or unix:@)",
                 uri);
    return FW_ERR_BAD_PARAM;
}

static void
fw_oob_addr_text(const struct sockaddr_storage *ss, char *host,
                 size_t hostlen, unsigned *port_p)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

        inet_ntop(AF_INET, &in->sin_addr, host, (socklen_t)hostlen);
        *port_p = ntohs(in->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

        inet_ntop(AF_INET6, &in6->sin6_addr, host, (socklen_t)hostlen);
        *port_p = ntohs(in6->sin6_port);
    } else {
        snprintf(host, hostlen, "local");
        *port_p = 0;
    }
}

void
fw_oob_uri_format(const fw_oob_sockaddr_t *sa, char *out)
{
    char host[INET6_ADDRSTRLEN + 2] = "";
    unsigned port = 0;

    if (sa->ss.ss_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)&sa->ss;
        size_t n = sa->len - offsetof(struct sockaddr_un, sun_path);

        if (n > FW_OOB_URI_MAX - 7)
            n = FW_OOB_URI_MAX - 7;
        snprintf(out, FW_OOB_URI_MAX, "unix:@%.*s", (int)(n - 1),
                 un->sun_path + 1);
        return;
    }
    fw_oob_addr_text(&sa->ss, host, sizeof(host), &port);
    if (sa->ss.ss_family == AF_INET6)
        snprintf(out, FW_OOB_URI_MAX, "tcp://[%s]:%u", host, port);
    else
        snprintf(out, FW_OOB_URI_MAX, "tcp://%s:%u", host, port);
}

void
fw_oob_sock_name(int fd, int peer, char *out, size_t outlen, char *addr_only,
                 size_t addrlen)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    int rc;

    rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &len)
              : getsockname(fd, (struct sockaddr *)&ss, &len);
    if (rc == 0)
        fw_oob_addr_text(&ss, host, sizeof(host), &port);
    if (out != NULL) {
        if (rc == 0 && ss.ss_family != AF_UNIX)
            snprintf(out, outlen, "%s:%u", host, port);
        else
            snprintf(out, outlen, "local");
    }
    if (addr_only != NULL)
        snprintf(addr_only, addrlen, "%s",
                 rc == 0 && ss.ss_family != AF_UNIX ? host : "");
}

void
fw_oob_sock_nodelay(int fd)
{
    int one = 1;

    /* fails harmlessly (ENOTSUP/EOPNOTSUPP) on Unix sockets */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
        FW_LOG_TRACE("oob", "fd %d: TCP_NODELAY not set: %m", fd);
}

fw_status_t
fw_oob_sock_keepalive(int fd, long secs)
{
    int one = 1, zero = 0, idle, intvl, cnt = 3;
    unsigned user_ms;

    /* off means off: libevent's listeners turn SO_KEEPALIVE on (the
     * system's 2-hour probes), and accepted sockets inherit it */
    if (secs <= 0)
        return setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &zero,
                          sizeof(zero)) == 0 ? FW_SUCCESS : FW_ERR_SYSTEM;
    /* idle half the time, then cnt probes over the other half; the user
     * timeout bounds unacknowledged data too (no probes while data is
     * in flight), and cuts the probes short at secs */
    idle = secs / 2 > 0 ? (int)(secs / 2) : 1;
    intvl = (secs - idle) / cnt > 0 ? (int)((secs - idle) / cnt) : 1;
    user_ms = (unsigned)secs * 1000u;
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
                   sizeof(intvl)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms,
                   sizeof(user_ms)) != 0)
        return FW_ERR_SYSTEM;
    return FW_SUCCESS;
}

fw_status_t
fw_oob_sock_peer_check(int fd, unsigned *uid_p)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        len != sizeof(cred))
        return FW_ERR_SYSTEM;
    *uid_p = (unsigned)cred.uid;
    return cred.uid == geteuid() ? FW_SUCCESS : FW_ERR_AUTH;
}
