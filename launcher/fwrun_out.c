/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fwrun's writes of the ranks' output to its own stdout and stderr.
 *
 * Output is never dropped: a descriptor that does not take it (a pipe to
 * a slow reader) is waited for, whether it is non-blocking or not. But
 * the wait must not keep fwrun from a SIGINT/SIGTERM/SIGHUP/SIGQUIT (the
 * user stopping a job whose reader is stuck): the wait polls in slices
 * with those signals held back, and one that comes ends the write (the
 * rest of it is dropped) and reaches the event loop, which tears the job
 * down. No write() may block meanwhile: on a blocking descriptor a write
 * takes what the descriptor has room for (a pipe: its free space; a
 * socket: MSG_DONTWAIT; anything else: PIPE_BUF after POLLOUT).
 */
#define _GNU_SOURCE
#include "launcher/fwrun.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long one poll slice is (ms): the latency of a stop signal. */
#define FWRUN_OUT_SLICE_MS 100

/* 1 if a stop signal is pending (held back by our mask). */
static int
fwrun_out_stopped(const sigset_t *stop)
{
    sigset_t pend;
    int i;

    if (sigpending(&pend) != 0)
        return 0;
    for (i = 1; i < NSIG; i++)
        if (sigismember(stop, i) == 1 && sigismember(&pend, i) == 1)
            return 1;
    return 0;
}

/* What a descriptor is, looked at once (fwrun writes to 1 and 2). */
typedef struct fwrun_out_fd {
    int known, nonblock, kind, cap; /* kind: 0 file, 1 socket, 2 fifo, 3
                                     * other */
} fwrun_out_fd_t;

static fwrun_out_fd_t fwrun_out_fds[3];

/* A stop signal came while a write waited: from then on nothing waits
 * (the job is being torn down; what a stuck reader cannot take goes). */
static int fwrun_out_stop_seen;

static const fwrun_out_fd_t *
fwrun_out_kind(int fd)
{
    static fwrun_out_fd_t other = {1, 0, 3, 0};
    fwrun_out_fd_t *f;
    struct stat st;
    int fl;

    if (fd < 0 || fd > 2)
        return &other;
    f = &fwrun_out_fds[fd];
    if (f->known)
        return f;
    f->known = 1;
    fl = fcntl(fd, F_GETFL);
    f->nonblock = fl >= 0 && (fl & O_NONBLOCK);
    f->kind = 3;
    if (fstat(fd, &st) == 0) {
        if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
            f->kind = 0;
        else if (S_ISSOCK(st.st_mode))
            f->kind = 1;
        else if (S_ISFIFO(st.st_mode) &&
                 (f->cap = fcntl(fd, F_GETPIPE_SZ)) > 0)
            f->kind = 2;
    }
    return f;
}

/* One write of at most n bytes that cannot block: >= 0 written, -1 with
 * errno (EAGAIN: no room now). */
static ssize_t
fwrun_out_once(int fd, const char *p, size_t n)
{
    const fwrun_out_fd_t *f = fwrun_out_kind(fd);
    int inq = 0;

    if (f->nonblock || f->kind == 0)
        return write(fd, p, n);
    if (f->kind == 1)
        return send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (f->kind == 2) {
        if (ioctl(fd, FIONREAD, &inq) != 0 || inq >= f->cap) {
            errno = EAGAIN;
            return -1;
        }
        return write(fd, p, n < (size_t)(f->cap - inq)
                                ? n
                                : (size_t)(f->cap - inq));
    }
    /* a terminal or the like: PIPE_BUF when poll says it takes some */
    {
        struct pollfd pfd = {fd, POLLOUT, 0};

        if (poll(&pfd, 1, 0) != 1) {
            errno = EAGAIN;
            return -1;
        }
    }
    return write(fd, p, n < PIPE_BUF ? n : PIPE_BUF);
}

int
fwrun_out_write(int fd, const void *buf, size_t n)
{
    static const int stops[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    const char *p = buf;
    sigset_t stop, old;
    int rc = 0, saved;
    ssize_t w;
    size_t i;

    sigemptyset(&stop);
    for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
        sigaddset(&stop, stops[i]);
    sigprocmask(SIG_BLOCK, &stop, &old);
    while (n > 0) {
        struct pollfd pfd = {fd, POLLOUT, 0};

        w = fwrun_out_once(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w == 0 ||
            (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
            rc = -1;
            break;
        }
        /* no room: wait a slice, unless a stop signal came */
        if (!fwrun_out_stop_seen &&
            poll(&pfd, 1, FWRUN_OUT_SLICE_MS) < 0 && errno != EINTR) {
            rc = -1;
            break;
        }
        if (fwrun_out_stop_seen || fwrun_out_stopped(&stop)) {
            fwrun_out_stop_seen = 1;
            errno = EINTR; /* given up: the loop takes the signal */
            rc = -1;
            break;
        }
    }
    saved = errno;
    sigprocmask(SIG_SETMASK, &old, NULL); /* a held signal arrives now */
    errno = saved;
    return rc;
}
