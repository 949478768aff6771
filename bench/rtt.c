/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fw-bench-rtt: the provider round trip, the floor of connect/accept and
 * of a fence. Two processes open one endpoint each (fw_fab_open: the
 * provider from FW_PROVIDER) and warm it up (a first contact with a
 * second endpoint of their own: a fabwire process has had connections
 * before its first connect, and over tcp;ofi_rxm the first one of a
 * process costs ~0.6 ms more) before anything is timed. Then the client:
 *   - first contact: inserts the server's address, sends it its own
 *     address, and the server inserts it and answers; then one more round
 *     trip. That is the least a first connect + round trip can cost
 *     (fw_bench_connect's first_ms): the peer is new to both sides. With
 *     --known the first contact is not timed and first_ms is a later
 *     cycle: the floor of peers that have met before (two ranks of one
 *     job, which know each other from the job's start).
 *   - C - 1 times, two round trips (later_ms: a later connect + round trip
 *     with both addresses known), and their sum with the first (total_ms);
 *   - K single round trips (rtt_ms);
 *   - K times, one word sent (word_ms): the least a disconnect costs, a
 *     barrier of two whose other side's word is here already.
 *   - with --idle-reads R, R reads of --read-bytes B (default 4096, the
 *     modex's FW_MODEX_READ_HINT) from a window of the server's, each
 *     after 3 ms in which the server has gone to sleep on its wait fd, as
 *     an idle daemon does (idle_read_ms): the least a remote fw_get costs
 *     where the provider needs the target's CPU to serve a read
 *     (tcp;ofi_rxm): one read plus waking the target. On a NIC that
 *     serves reads itself it is one read.
 * Messages are 8-byte tagged sends with exact tags (injected), receives
 * posted ahead, completions busy-polled (fw_fab_progress): the
 * provider's own latency, with none of the naps a blocking fabwire call
 * takes while it waits.
 *
 *   fw-bench-rtt [--cycles C] [--count K] [--known] [--idle-reads R]
 *                [--read-bytes B]                  (a forked server)
 *   fw-bench-rtt --listen FILE                 (server: address to FILE)
 *   fw-bench-rtt --connect FILE [client options as above]
 * The client prints JSON lines (bench/README.md): {"sample":0,"first_ms"},
 * {"sample":k,"later_ms"}, {"sample":k,"rtt_ms","word_ms"},
 * {"sample":k,"idle_read_ms"}, {"cycles":C,"total_ms"}, each line
 * flushed. Exit 0, 1 with the reason on
 * stderr, 2 for bad arguments.
 */
#include "fabric/fab.h"
#include "common/buf.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { TAG_HELLO = 1, TAG_PING = 2, TAG_PONG = 3 };
enum { WAIT_S = 10, FIRST_S = 30 };
/* ping words; WINDOW: answer with the window's rkey, then wait idly */
enum { BYE = 0, ANSWER = 1, QUIET = 2, WINDOW = 3 };
/* the server's window; the pause before each idle read */
enum { WIN_BYTES = 1 << 20, IDLE_GAP_US = 3000, IDLE_READS_MAX = 100000 };
/* the server's idle wait for the word after the reads: this per read */
#define IDLE_READ_S 0.1

typedef struct rtt_op {
    int done;
    fw_status_t status;
    size_t len;
} rtt_op_t;

/* While set (the warm-up), every wait progresses both endpoints: one
 * thread plays both sides. */
static fw_fab_t *rtt_pair_g[2];

typedef struct rtt_opts {
    int cycles;
    int count;
    int known;
    int idle_reads;
    int read_bytes;
    const char *listen;
    const char *connect;
} rtt_opts_t;

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static fw_status_t
progress(fw_fab_t *fab)
{
    fw_status_t rc = fw_fab_progress(fab, NULL);
    int i;

    for (i = 0; i < 2 && rc == FW_SUCCESS; i++)
        if (rtt_pair_g[i] != NULL && rtt_pair_g[i] != fab)
            rc = fw_fab_progress(rtt_pair_g[i], NULL);
    return rc;
}

static void
op_done(const fw_fab_cmpl_t *cmpl, void *arg)
{
    rtt_op_t *op = arg;

    op->status = cmpl->status;
    op->len = cmpl->len;
    op->done = 1;
}

/* Sleep as an idle daemon does until the CQ may have work: on the wait
 * fd (up to 100 ms), or a nap without one. */
static int
idle_sleep(fw_fab_t *fab, uint64_t *nap)
{
    struct pollfd pfd = {fw_fab_wait_fd(fab), POLLIN, 0};

    if (pfd.fd < 0)
        fw_fab_nap(nap, 1000000);
    else if (fw_fab_trywait(fab) == FW_SUCCESS &&
             poll(&pfd, 1, 100) < 0 && errno != EINTR) {
        fprintf(stderr, "fw-bench-rtt: poll: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* Progress until op completes or wait_s pass: busy (a floor has no
 * naps), or with idle set asleep between progress calls, which serve
 * the peer's reads, as an idle daemon waits. */
static int
op_wait_as(fw_fab_t *fab, rtt_op_t *op, const char *what, double wait_s,
           int idle)
{
    double deadline = now_ms() + wait_s * 1e3;
    uint64_t nap = 5000;

    while (!op->done) {
        if (progress(fab) != FW_SUCCESS) {
            fprintf(stderr, "fw-bench-rtt: progress failed (%s)\n", what);
            return -1;
        }
        if (op->done)
            break;
        if (now_ms() > deadline) {
            fprintf(stderr, "fw-bench-rtt: no %s within %.0f s\n", what,
                    wait_s);
            return -1;
        }
        if (idle && idle_sleep(fab, &nap) != 0)
            return -1;
    }
    if (op->status != FW_SUCCESS) {
        fprintf(stderr, "fw-bench-rtt: %s failed: %s\n", what,
                fw_strerror(op->status));
        return -1;
    }
    return 0;
}

static int
op_wait(fw_fab_t *fab, rtt_op_t *op, const char *what, int wait_s)
{
    return op_wait_as(fab, op, what, wait_s, 0);
}

static int
post_recv(fw_fab_t *fab, uint64_t tag, void *buf, size_t cap, rtt_op_t *op)
{
    op->done = 0;
    if (fw_fab_trecv_nb(fab, tag, 0, buf, cap, op_done, op) != FW_SUCCESS) {
        fputs("fw-bench-rtt: cannot post a receive\n", stderr);
        return -1;
    }
    return 0;
}

/* Sends are small and injected (no completion), attempts spun on as
 * receives are: a fi_tsend with a completion waits ~14 ms longer for a
 * new tcp;ofi_rxm connection (libfabric 1.17), and fw_fab_tsend() naps
 * between attempts. */
static int
send_wait(fw_fab_t *fab, uint64_t peer, uint64_t tag, const void *buf,
          size_t len)
{
    double deadline = now_ms() + WAIT_S * 1e3;
    fw_status_t rc;

    while ((rc = fw_fab_tinject_try(fab, peer, tag, buf, len)) ==
               FW_ERR_WOULD_BLOCK &&
           now_ms() < deadline)
        (void)progress(fab);
    if (rc == FW_ERR_WOULD_BLOCK) {
        fprintf(stderr, "fw-bench-rtt: the peer took no message within %d s "
                "(gone?)\n", WAIT_S);
        return -1;
    }
    if (rc != FW_SUCCESS) {
        fprintf(stderr, "fw-bench-rtt: send failed: %s\n", fw_strerror(rc));
        return -1;
    }
    return 0;
}

/* One round trip from the client: pong receive posted, ping, pong. */
static int
round_trip(fw_fab_t *fab, uint64_t peer, uint64_t value)
{
    uint64_t pong = 0;
    rtt_op_t op;

    if (post_recv(fab, TAG_PONG, &pong, sizeof(pong), &op) != 0 ||
        send_wait(fab, peer, TAG_PING, &value, sizeof(value)) != 0 ||
        op_wait(fab, &op, "answer", WAIT_S) != 0)
        return -1;
    return 0;
}

/* Byte i of the window: a read at a wrong offset brings other bytes. */
static unsigned char
win_byte(size_t i)
{
    return (unsigned char)(i * 31u + 7u + i / 251u);
}

/* The server's window, registered at the first WINDOW word. */
typedef struct rtt_win {
    unsigned char *buf;
    fw_fab_mr_t *mr;
} rtt_win_t;

/* WINDOW: register the window (once) and send its rkey. */
static int
window_answer(fw_fab_t *fab, uint64_t peer, rtt_win_t *w)
{
    fw_fab_rkey_t rkey;
    fw_buf_t b;
    size_t i;
    int rc = -1;

    fw_buf_init(&b);
    if (w->buf == NULL) {
        w->buf = malloc(WIN_BYTES);
        if (w->buf == NULL)
            goto out;
        for (i = 0; i < WIN_BYTES; i++)
            w->buf[i] = win_byte(i);
        if (fw_fab_mr_reg(fab, w->buf, WIN_BYTES, FW_FAB_MR_REMOTE_READ,
                          &w->mr) != FW_SUCCESS)
            goto out;
    }
    if (fw_fab_mr_desc_get(w->mr, &rkey) != FW_SUCCESS ||
        fw_fab_rkey_pack(&rkey, &b) != FW_SUCCESS ||
        fw_fab_tsend(fab, peer, TAG_PONG, b.data, b.len, WAIT_S * 1000) !=
            FW_SUCCESS)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        fputs("fw-bench-rtt: cannot offer a window\n", stderr);
    fw_buf_cleanup(&b);
    return rc;
}

/* Answer pings until BYE (not QUIET words). After WINDOW | R << 32,
 * wait idly, the next word within WAIT_S + R x IDLE_READ_S. */
static int
serve_pings(fw_fab_t *fab, uint64_t peer, rtt_win_t *w)
{
    uint64_t ping = ANSWER, pong = 1;
    double idle_s = 0;
    rtt_op_t op;

    while (ping != BYE) {
        int answer = ping == ANSWER;

        if ((ping & 0xffffffffu) == WINDOW) {
            if (window_answer(fab, peer, w) != 0)
                return -1;
            idle_s = WAIT_S + (double)(ping >> 32) * IDLE_READ_S;
        }
        if (post_recv(fab, TAG_PING, &ping, sizeof(ping), &op) != 0 ||
            (answer && send_wait(fab, peer, TAG_PONG, &pong, sizeof(pong)) !=
                           0) ||
            op_wait_as(fab, &op, "ping", idle_s > 0 ? idle_s : WAIT_S,
                       idle_s > 0) != 0)
            return -1;
    }
    return 0;
}

/* The server: take the client's address, then serve_pings(). */
static int
serve(fw_fab_t *fab)
{
    unsigned char addr[FW_FAB_ADDR_MAX];
    rtt_win_t w = {NULL, NULL};
    uint64_t peer;
    rtt_op_t op;
    int rc;

    if (post_recv(fab, TAG_HELLO, addr, sizeof(addr), &op) != 0 ||
        op_wait(fab, &op, "first contact", FIRST_S) != 0)
        return -1;
    if (fw_fab_av_insert(fab, addr, op.len, &peer) != FW_SUCCESS) {
        fputs("fw-bench-rtt: cannot insert the client's address\n", stderr);
        return -1;
    }
    rc = serve_pings(fab, peer, &w);
    fw_fab_mr_dereg(w.mr);
    free(w.buf);
    return rc;
}

/* The client's first contact: insert, hello with our address, answer,
 * one more round trip. [out] peer_p. */
static int
first_contact(fw_fab_t *fab, const void *srv, size_t srv_len,
              uint64_t *peer_p)
{
    unsigned char addr[FW_FAB_ADDR_MAX];
    size_t len = sizeof(addr);
    uint64_t pong = 0;
    rtt_op_t op;

    if (fw_fab_addr_get(fab, addr, &len) != FW_SUCCESS ||
        fw_fab_av_insert(fab, srv, srv_len, peer_p) != FW_SUCCESS) {
        fputs("fw-bench-rtt: cannot insert the server's address\n", stderr);
        return -1;
    }
    if (post_recv(fab, TAG_PONG, &pong, sizeof(pong), &op) != 0 ||
        send_wait(fab, *peer_p, TAG_HELLO, addr, len) != 0 ||
        op_wait(fab, &op, "answer to the first contact", WAIT_S) != 0)
        return -1;
    return round_trip(fab, *peer_p, ANSWER);
}

/* A disconnect's floor: our word sent, the peer's (a QUIET one, not
 * answered) taken already by an earlier wait. [out] ms_p. */
static int
word(fw_fab_t *fab, uint64_t peer, double *ms_p)
{
    uint64_t quiet = QUIET;
    double t0 = now_ms();

    if (send_wait(fab, peer, TAG_PING, &quiet, sizeof(quiet)) != 0)
        return -1;
    *ms_p = now_ms() - t0;
    return 0;
}

/* One read of len bytes at offset of the window, busy-polled. */
static int
read_once(fw_fab_t *fab, uint64_t peer, const fw_fab_rkey_t *rkey,
          size_t offset, unsigned char *buf, size_t len, double *ms_p)
{
    rtt_op_t op = {0};
    double t0 = now_ms();

    if (fw_fab_read_nb(fab, peer, buf, len, rkey, offset, op_done, &op) !=
        FW_SUCCESS) {
        fputs("fw-bench-rtt: cannot post a read\n", stderr);
        return -1;
    }
    if (op_wait(fab, &op, "read", WAIT_S) != 0)
        return -1;
    *ms_p = now_ms() - t0;
    return 0;
}

/* The bytes a read brought are the window's at offset. */
static int
read_check(const unsigned char *buf, size_t offset, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (buf[i] != win_byte(offset + i)) {
            fprintf(stderr, "fw-bench-rtt: a read brought wrong bytes "
                    "(byte %zu of %zu at offset %zu)\n", i, len, offset);
            return -1;
        }
    return 0;
}

/* The idle reads: the window's rkey, one read untimed, then R reads each
 * after IDLE_GAP_US, at offsets that move through the window. On
 * failure buf is left allocated: a read still posted may write into it
 * until the endpoint closes. */
static int
idle_reads(fw_fab_t *fab, uint64_t peer, const rtt_opts_t *o)
{
    const struct timespec gap = {0, IDLE_GAP_US * 1000L};
    unsigned char packed[FW_FAB_RKEY_PACKED_MAX], *buf;
    uint64_t word = WINDOW | (uint64_t)o->idle_reads << 32;
    size_t len = (size_t)o->read_bytes, off = 0;
    fw_fab_rkey_t rkey;
    fw_rbuf_t r;
    rtt_op_t op;
    double ms;
    int k;

    if (post_recv(fab, TAG_PONG, packed, sizeof(packed), &op) != 0 ||
        send_wait(fab, peer, TAG_PING, &word, sizeof(word)) != 0 ||
        op_wait(fab, &op, "window", WAIT_S) != 0)
        return -1;
    fw_rbuf_init(&r, packed, op.len);
    if (fw_fab_rkey_unpack(&r, &rkey) != FW_SUCCESS) {
        fputs("fw-bench-rtt: the server's window key is malformed\n", stderr);
        return -1;
    }
    buf = malloc(len);
    if (buf == NULL) {
        fputs("fw-bench-rtt: out of memory\n", stderr);
        return -1;
    }
    if (read_once(fab, peer, &rkey, 0, buf, len, &ms) != 0 ||
        read_check(buf, 0, len) != 0)
        return -1;
    for (k = 0; k < o->idle_reads; k++) {
        off = (off + 4099) % (WIN_BYTES - len + 1);
        (void)nanosleep(&gap, NULL);
        if (read_once(fab, peer, &rkey, off, buf, len, &ms) != 0 ||
            read_check(buf, off, len) != 0)
            return -1;
        printf("{\"sample\":%d,\"idle_read_ms\":%.6f}\n", k, ms);
        fflush(stdout);
    }
    free(buf);
    return 0;
}

/* The client: every measurement, printed as JSON lines. */
static int
measure(fw_fab_t *fab, const void *srv, size_t srv_len, const rtt_opts_t *o)
{
    uint64_t peer;
    double t0, t, total, a;
    int k;

    t0 = now_ms();
    if (first_contact(fab, srv, srv_len, &peer) != 0)
        return -1;
    if (o->known) { /* met before: the first cycle is a later one */
        t0 = now_ms();
        if (round_trip(fab, peer, ANSWER) != 0 ||
            round_trip(fab, peer, ANSWER) != 0)
            return -1;
    }
    total = now_ms() - t0;
    printf("{\"sample\":0,\"first_ms\":%.4f}\n", total);
    fflush(stdout);
    for (k = 1; k < o->cycles; k++) {
        t0 = now_ms();
        if (round_trip(fab, peer, ANSWER) != 0 ||
            round_trip(fab, peer, ANSWER) != 0)
            return -1;
        t = now_ms() - t0;
        total += t;
        printf("{\"sample\":%d,\"later_ms\":%.6f}\n", k, t);
        fflush(stdout);
    }
    for (k = 0; k < o->count; k++) {
        t0 = now_ms();
        if (round_trip(fab, peer, ANSWER) != 0)
            return -1;
        t = now_ms() - t0;
        if (word(fab, peer, &a) != 0)
            return -1;
        printf("{\"sample\":%d,\"rtt_ms\":%.6f,\"word_ms\":%.6f}\n",
               k, t, a);
        fflush(stdout);
    }
    if (o->idle_reads > 0 && idle_reads(fab, peer, o) != 0)
        return -1;
    printf("{\"cycles\":%d,\"total_ms\":%.4f}\n", o->cycles, total);
    fflush(stdout);
    return send_wait(fab, peer, TAG_PING, &(uint64_t){BYE}, sizeof(uint64_t));
}

/* Our address as one hex line. */
static int
addr_put(FILE *f, fw_fab_t *fab)
{
    unsigned char addr[FW_FAB_ADDR_MAX];
    size_t len = sizeof(addr), i;

    if (fw_fab_addr_get(fab, addr, &len) != FW_SUCCESS)
        return -1;
    for (i = 0; i < len; i++)
        if (fprintf(f, "%02x", addr[i]) < 0)
            return -1;
    if (fputc('\n', f) == EOF || fflush(f) != 0)
        return -1;
    return 0;
}

/* A peer's address from a hex line. [out] addr, len_p. */
static int
addr_get(FILE *f, unsigned char *addr, size_t *len_p)
{
    char line[2 * FW_FAB_ADDR_MAX + 2];
    size_t n, i;
    unsigned v;

    if (fgets(line, sizeof(line), f) == NULL)
        return -1;
    n = strcspn(line, "\n");
    if (n == 0 || n % 2 != 0 || n / 2 > FW_FAB_ADDR_MAX)
        return -1;
    for (i = 0; i < n / 2; i++) {
        if (sscanf(line + 2 * i, "%2x", &v) != 1)
            return -1;
        addr[i] = (unsigned char)v;
    }
    *len_p = n / 2;
    return 0;
}

static fw_fab_t *
open_ep(void)
{
    fw_fab_t *fab = NULL;
    fw_error_t err;

    if (fw_fab_open(NULL, &fab, &err) != FW_SUCCESS) {
        fprintf(stderr, "fw-bench-rtt: %s\n", err.text);
        return NULL;
    }
    return fab;
}

/* Warm the provider up: a first contact from a second endpoint of ours,
 * warm, to fab. Another peer than the one measured: nothing of it is
 * mapped or connected for the measured first contact. */
static int
warm_up(fw_fab_t *fab, fw_fab_t *warm)
{
    unsigned char a[FW_FAB_ADDR_MAX], b[FW_FAB_ADDR_MAX];
    size_t alen = sizeof(a), blen = sizeof(b);
    uint64_t to_fab, to_warm, word = 1, got = 0;
    rtt_op_t op;
    int rc = -1;

    rtt_pair_g[0] = fab;
    rtt_pair_g[1] = warm;
    if (fw_fab_addr_get(fab, a, &alen) != FW_SUCCESS ||
        fw_fab_addr_get(warm, b, &blen) != FW_SUCCESS ||
        fw_fab_av_insert(warm, a, alen, &to_fab) != FW_SUCCESS)
        goto out;
    if (post_recv(fab, TAG_HELLO, a, sizeof(a), &op) != 0 ||
        send_wait(warm, to_fab, TAG_HELLO, b, blen) != 0 ||
        op_wait(fab, &op, "warm-up contact", WAIT_S) != 0 ||
        fw_fab_av_insert(fab, a, op.len, &to_warm) != FW_SUCCESS)
        goto out;
    if (post_recv(warm, TAG_PONG, &got, sizeof(got), &op) != 0 ||
        send_wait(fab, to_warm, TAG_PONG, &word, sizeof(word)) != 0 ||
        op_wait(warm, &op, "warm-up answer", WAIT_S) != 0)
        goto out;
    rc = 0;
out:
    rtt_pair_g[0] = rtt_pair_g[1] = NULL;
    if (rc != 0)
        fputs("fw-bench-rtt: the warm-up failed\n", stderr);
    return rc;
}

/* Our endpoint, warmed up with a second one kept open until the end.
 * [out] fab_p, warm_p: both, or neither. */
static int
open_side(fw_fab_t **fab_p, fw_fab_t **warm_p)
{
    fw_fab_t *fab = open_ep(), *warm = fab != NULL ? open_ep() : NULL;

    if (warm == NULL || warm_up(fab, warm) != 0) {
        if (warm != NULL)
            fw_fab_close(warm);
        if (fab != NULL)
            fw_fab_close(fab);
        return -1;
    }
    *fab_p = fab;
    *warm_p = warm;
    return 0;
}

/* --listen FILE: the address goes to FILE.tmp, renamed to FILE. */
static int
run_listen(const char *path)
{
    fw_fab_t *fab = NULL, *warm = NULL;
    char tmp[4096];
    FILE *f = NULL;
    int rc = 1;

    if (open_side(&fab, &warm) != 0)
        return 1;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) ||
        (f = fopen(tmp, "w")) == NULL || addr_put(f, fab) != 0 ||
        fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "fw-bench-rtt: cannot write %s: %s\n", path,
                strerror(errno));
        goto out;
    }
    rc = serve(fab) == 0 ? 0 : 1;
    unlink(path);
out:
    fw_fab_close(warm);
    fw_fab_close(fab);
    return rc;
}

/* --connect FILE: wait for the listener's address, then measure. */
static int
run_connect(const char *path, const rtt_opts_t *o)
{
    unsigned char srv[FW_FAB_ADDR_MAX];
    double deadline = now_ms() + FIRST_S * 1e3;
    fw_fab_t *fab = NULL, *warm = NULL;
    size_t len = 0;
    FILE *f = NULL;
    int rc = 1;

    if (open_side(&fab, &warm) != 0)
        return 1;
    while ((f = fopen(path, "r")) == NULL && now_ms() < deadline)
        usleep(2000);
    if (f == NULL) {
        fprintf(stderr, "fw-bench-rtt: no file %s within %d s\n", path,
                FIRST_S);
        goto out;
    }
    if (addr_get(f, srv, &len) != 0) {
        fprintf(stderr, "fw-bench-rtt: %s holds no address\n", path);
        goto out;
    }
    rc = measure(fab, srv, len, o) == 0 ? 0 : 1;
out:
    if (f != NULL)
        fclose(f);
    fw_fab_close(warm);
    fw_fab_close(fab);
    return rc;
}

/* The forked server: its address up the pipe, then serve. */
static int
child_main(int fd)
{
    fw_fab_t *fab = NULL, *warm = NULL;
    FILE *f;
    int rc = 1;

    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
        return 1;
    f = fdopen(fd, "w");
    if (f != NULL && open_side(&fab, &warm) == 0) {
        if (addr_put(f, fab) == 0)
            rc = serve(fab) == 0 ? 0 : 1;
        fw_fab_close(warm);
        fw_fab_close(fab);
    }
    if (f != NULL)
        fclose(f);
    return rc;
}

/* Reap the forked server within WAIT_S (killed past it). 0 if it ended
 * with 0. */
static int
reap(pid_t pid)
{
    double deadline = now_ms() + WAIT_S * 1e3;
    int status;
    pid_t r;

    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < deadline)
        usleep(1000);
    if (r == 0) {
        kill(pid, SIGKILL);
        r = waitpid(pid, &status, 0);
    }
    return r == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0
                                                                    : -1;
}

static int
run_forked(const rtt_opts_t *o)
{
    unsigned char srv[FW_FAB_ADDR_MAX];
    fw_fab_t *fab = NULL, *warm = NULL;
    size_t len = 0;
    FILE *f = NULL;
    int fds[2], rc = 1;
    pid_t pid;

    /* a server that never sends its address ends us (and it, by its
     * parent-death signal) through SIGALRM's default action */
    alarm(FIRST_S + WAIT_S * (2 + (o->cycles + o->count) / 1000) +
          (unsigned)o->idle_reads / 100);
    /* fork before any endpoint exists: a child must not inherit one */
    if (pipe(fds) != 0 || fflush(stdout) != 0 || (pid = fork()) < 0) {
        fprintf(stderr, "fw-bench-rtt: cannot fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        close(fds[0]);
        _exit(child_main(fds[1]));
    }
    close(fds[1]);
    f = fdopen(fds[0], "r");
    if (f == NULL || open_side(&fab, &warm) != 0)
        fputs("fw-bench-rtt: no endpoint\n", stderr);
    else if (addr_get(f, srv, &len) != 0)
        fputs("fw-bench-rtt: the forked server sent no address\n", stderr);
    else
        rc = measure(fab, srv, len, o) == 0 ? 0 : 1;
    if (rc != 0)
        kill(pid, SIGKILL);
    if (reap(pid) != 0 && rc == 0) {
        fputs("fw-bench-rtt: the forked server failed\n", stderr);
        rc = 1;
    }
    if (f != NULL)
        fclose(f);
    else
        close(fds[0]);
    if (warm != NULL)
        fw_fab_close(warm);
    if (fab != NULL)
        fw_fab_close(fab);
    return rc;
}

static int
parse(int argc, char **argv, rtt_opts_t *o)
{
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        long n = 0;

        if (!strcmp(a, "--known")) {
            o->known = 1;
            continue;
        }
        if (v == NULL)
            return -1;
        if (!strcmp(a, "--listen")) {
            o->listen = v;
        } else if (!strcmp(a, "--connect")) {
            o->connect = v;
        } else if (!strcmp(a, "--cycles") || !strcmp(a, "--count") ||
                   !strcmp(a, "--idle-reads")) {
            errno = 0;
            n = strtol(v, &end, 10);
            if (errno || *end || end == v || n < 1 || n > 1000000 ||
                (!strcmp(a, "--idle-reads") && n > IDLE_READS_MAX))
                return -1;
            *(!strcmp(a, "--cycles")  ? &o->cycles
              : !strcmp(a, "--count") ? &o->count
                                      : &o->idle_reads) = (int)n;
        } else if (!strcmp(a, "--read-bytes")) {
            errno = 0;
            n = strtol(v, &end, 10);
            if (errno || *end || end == v || n < 1 || n > WIN_BYTES)
                return -1;
            o->read_bytes = (int)n;
        } else {
            return -1;
        }
        i++;
    }
    return o->listen != NULL && o->connect != NULL ? -1 : 0;
}

int
main(int argc, char **argv)
{
    rtt_opts_t o = {20, 100, 0, 0, 4096, NULL, NULL};

    if (parse(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: fw-bench-rtt [--cycles C] [--count K] "
                "[--known] [--idle-reads R (<= %d)] [--read-bytes B "
                "(<= %d)] [--listen FILE | --connect FILE]\n"
                "(provider from FW_PROVIDER)\n", IDLE_READS_MAX, WIN_BYTES);
        return 2;
    }
    if (o.listen != NULL)
        return run_listen(o.listen);
    if (o.connect != NULL)
        return run_connect(o.connect, &o);
    return run_forked(&o);
}
