/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the fabric unit tests: provider argument and skip
 * rule, opening a fab, length-prefixed blobs over pipes between a forked
 * peer and the test, and a bounded wait for the peer's exit.
 */
#ifndef FW_FAB_TEST_H
#define FW_FAB_TEST_H

#include "fabric/fab.h"
#include "common/util.h"
#include "fw_test.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Every test process dies by SIGALRM rather than hang ctest. */
#define FAB_TEST_ALARM_S 25

/* SIGALRM: a hung test removes its shm regions (which a signal's default
 * action would leave in /dev/shm) and then dies by the signal. Not
 * async-signal-safe (glob), acceptable for a process already stuck. */
static void
fab_test_alarm_cb(int sig)
{
    fw_fab_shm_sweep(getpid());
    signal(sig, SIG_DFL);
    raise(sig);
}

static inline void
fab_test_alarm(void)
{
    signal(SIGALRM, fab_test_alarm_cb);
    alarm(FAB_TEST_ALARM_S);
}

/* Provider named on the command line ("tcp", "shm", ...). */
static inline const char *
fab_test_provider(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s <provider>\n", argv[0]);
        exit(2);
    }
    return argv[1];
}

/* Exit 77 unless the provider is usable here (a real skip, not a fail). */
static inline void
fab_test_require(const char *prov)
{
    fw_fab_params_t params = {0};
    fw_fab_choice_t choice;
    fw_error_t err = {{0}};

    params.field_mask = FW_FAB_PARAMS_FIELD_PROVIDER;
    params.provider = prov;
    if (fw_fab_select(&params, &choice, &err) != FW_SUCCESS) {
        char why[600];

        snprintf(why, sizeof(why), "provider %s not available: %s", prov,
                 err.text);
        skip_all(why);
    }
}

/* Open a fab on prov; NULL (and a failed check) on error. */
static inline fw_fab_t *
fab_test_open(const char *prov)
{
    fw_fab_params_t params = {0};
    fw_error_t err = {{0}};
    fw_fab_t *fab = NULL;
    fw_status_t st;

    params.field_mask = FW_FAB_PARAMS_FIELD_PROVIDER;
    params.provider = prov;
    st = fw_fab_open(&params, &fab, &err);
    if (st != FW_SUCCESS)
        diag("fw_fab_open(%s): %s: %s", prov, fw_strerror(st), err.text);
    return st == FW_SUCCESS ? fab : NULL;
}

/* Read exactly len bytes within timeout_ms. */
static inline int
fab_test_read_all(int fd, void *buf, size_t len, int timeout_ms)
{
    uint8_t *p = buf;
    struct pollfd pfd = {fd, POLLIN, 0};
    ssize_t n;

    while (len > 0) {
        if (poll(&pfd, 1, timeout_ms) <= 0)
            return -1;
        n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* u32 length (host order: same machine) + bytes. */
static inline int
fab_test_send_blob(int fd, const void *buf, size_t len)
{
    uint32_t n = (uint32_t)len;

    if (fw_write_all(fd, &n, sizeof(n)) != 0)
        return -1;
    return fw_write_all(fd, buf, len);
}

/* Receive a blob of at most cap bytes; returns its length or -1. */
static inline long
fab_test_recv_blob(int fd, void *buf, size_t cap, int timeout_ms)
{
    uint32_t n;

    if (fab_test_read_all(fd, &n, sizeof(n), timeout_ms) != 0 || n > cap)
        return -1;
    if (fab_test_read_all(fd, buf, n, timeout_ms) != 0)
        return -1;
    return (long)n;
}

/* Send this fab's address. */
static inline int
fab_test_send_addr(int fd, fw_fab_t *fab)
{
    uint8_t addr[FW_FAB_ADDR_MAX];
    size_t len = sizeof(addr);

    if (fw_fab_addr_get(fab, addr, &len) != FW_SUCCESS)
        return -1;
    return fab_test_send_blob(fd, addr, len);
}

/* Receive a peer's address and insert it. */
static inline int
fab_test_recv_peer(int fd, fw_fab_t *fab, uint64_t *peer_p)
{
    uint8_t addr[FW_FAB_ADDR_MAX];
    long len = fab_test_recv_blob(fd, addr, sizeof(addr), 10000);

    if (len <= 0)
        return -1;
    return fw_fab_av_insert(fab, addr, (size_t)len, peer_p) == FW_SUCCESS
               ? 0
               : -1;
}

/* Wait up to timeout_ms for pid; its exit code, or -1 (then killed). */
static inline int
fab_test_reap(pid_t pid, int timeout_ms)
{
    int status, waited = 0;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (r < 0 || waited >= timeout_ms)
            break;
        usleep(10000);
        waited += 10;
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static inline double
fab_test_elapsed_ms(uint64_t start_ns)
{
    return (double)(fw_time_ns() - start_ns) / 1e6;
}

#endif /* FW_FAB_TEST_H */
