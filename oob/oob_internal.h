/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to oob/: socket address helpers shared by the event-driven and
 * the blocking connections.
 */
#ifndef FW_OOB_INTERNAL_H
#define FW_OOB_INTERNAL_H

#include "oob/oob.h"

#include <sys/socket.h>

typedef struct fw_oob_sockaddr {
    struct sockaddr_storage ss;
    socklen_t len;
} fw_oob_sockaddr_t;

/* Parse "tcp://ADDR:PORT" or "unix:@NAME". *sa_p written on success. */
fw_status_t fw_oob_uri_parse(const char *uri, fw_oob_sockaddr_t *sa_p,
                             fw_error_t *err);

/* Format sa as a URI into out (FW_OOB_URI_MAX bytes). */
void fw_oob_uri_format(const fw_oob_sockaddr_t *sa, char *out);

/* "ADDR:PORT" / "local" of a connected socket's peer or local end. */
void fw_oob_sock_name(int fd, int peer, char *out, size_t outlen,
                      char *addr_only, size_t addrlen);

/* Set TCP_NODELAY on TCP sockets (ignored for Unix sockets). */
void fw_oob_sock_nodelay(int fd);

/*
 * TCP keepalive, so that a peer gone without a FIN (network partition,
 * host powered off) is noticed within about secs seconds whether the
 * connection is idle (SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT) or has data
 * in flight (TCP_USER_TIMEOUT). secs <= 0: SO_KEEPALIVE off. TCP sockets
 * only. FW_SUCCESS, or FW_ERR_SYSTEM with errno set.
 */
fw_status_t fw_oob_sock_keepalive(int fd, long secs);

/*
 * Unix sockets authenticate by the kernel's word (SO_PEERCRED) instead of
 * the secret: FW_SUCCESS if the process at the other end of fd runs under
 * our effective uid, FW_ERR_AUTH if not (*uid_p = its uid), FW_ERR_SYSTEM
 * if the kernel cannot say.
 */
fw_status_t fw_oob_sock_peer_check(int fd, unsigned *uid_p);

#endif /* FW_OOB_INTERNAL_H */
