/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Event-driven and blocking OOB connections on loopback TCP and abstract
 * Unix sockets: handshake, message exchange both ways, refusal of a wrong
 * secret (TCP) or of a process of another uid (Unix: the kernel's peer
 * credentials, checked in a child that drops to nobody when we are root),
 * TCP keepalive on both ends of a TCP connection (FW_OOB_KEEPALIVE_S) and
 * none on Unix sockets, callback counts and clean shutdown.
 */
#include "oob/oob_internal.h"
#include "common/util.h"
#include "fw_test.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <signal.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static uint8_t secret_g[FW_OOB_SECRET_LEN];
static int srv_opened, srv_msgs, srv_closed, cli_opened, cli_msgs, cli_closed;
static fw_status_t cli_close_reason;
static struct event_base *base_g;
static fw_oob_conn_t *srv_conn;

static void
srv_open_cb(fw_oob_conn_t *c, void *arg)
{
    srv_opened++;
    srv_conn = c;
}

static void
srv_msg_cb(fw_oob_conn_t *c, const fw_oob_hdr_t *h, const void *p, void *arg)
{
    srv_msgs++;
    /* echo with type + 1 */
    fw_oob_send(c, (uint8_t)(h->type + 1), 0, h->src, p, h->len);
}

static void
srv_close_cb(fw_oob_conn_t *c, fw_status_t why, void *arg)
{
    srv_closed++;
    srv_conn = NULL;
}

static void
cli_open_cb(fw_oob_conn_t *c, void *arg)
{
    cli_opened++;
    fw_oob_send(c, 20, 5, 0, "ping", 4);
}

static void
cli_msg_cb(fw_oob_conn_t *c, const fw_oob_hdr_t *h, const void *p, void *arg)
{
    cli_msgs++;
    if (h->type == 21 && h->len == 4 && memcmp(p, "ping", 4) == 0)
        event_base_loopbreak(base_g);
}

static void
cli_close_cb(fw_oob_conn_t *c, fw_status_t why, void *arg)
{
    cli_closed++;
    cli_close_reason = why;
    event_base_loopbreak(base_g);
}

static const struct fw_oob_conn_ops srv_ops = {srv_open_cb, srv_msg_cb,
                                               srv_close_cb};
static const struct fw_oob_conn_ops cli_ops = {cli_open_cb, cli_msg_cb,
                                               cli_close_cb};

static void
run_loop(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    event_base_loopexit(base_g, &tv);
    event_base_dispatch(base_g);
}

static int
is_unix(const char *uri)
{
    return strncmp(uri, "unix:", 5) == 0;
}

static void
reset_counts(void)
{
    srv_opened = srv_msgs = srv_closed = 0;
    cli_opened = cli_msgs = cli_closed = 0;
    cli_close_reason = FW_SUCCESS;
}

static void
test_evented(const char *uri)
{
    fw_oob_listener_t *l = NULL;
    fw_oob_conn_t *c = NULL;
    uint8_t wrong[FW_OOB_SECRET_LEN];
    fw_error_t err;

    reset_counts();
    is(fw_oob_listen(base_g, uri, secret_g, &srv_ops, NULL, &l, &err),
       FW_SUCCESS, "%s: listen", uri);
    diag("listening on %s", fw_oob_listener_uri(l));
    is(fw_oob_connect(base_g, fw_oob_listener_uri(l), secret_g,
                      FW_OOB_PEER_DAEMON, 5, &cli_ops, NULL, &c, &err),
       FW_SUCCESS, "%s: connect", uri);
    run_loop(5000);
    is(srv_opened, 1, "%s: server saw one authenticated connection", uri);
    is(cli_opened, 1, "%s: client opened once", uri);
    is(srv_msgs, 1, "%s: server got the ping", uri);
    is(cli_msgs, 1, "%s: client got the echo", uri);
    ok(srv_conn != NULL && fw_oob_conn_peer_id(srv_conn) == 5 &&
           fw_oob_conn_peer_kind(srv_conn) == FW_OOB_PEER_DAEMON,
       "%s: server knows the proved peer identity", uri);
    fw_oob_conn_close(c);
    run_loop(200);
    is(srv_closed, 1, "%s: server noticed the close", uri);
    is(cli_closed, 0, "%s: no closed callback after an explicit close", uri);

    /* wrong secret: refused by the server, client learns it is closed;
     * a Unix socket goes by the kernel's credentials and opens */
    reset_counts();
    memset(wrong, 0x55, sizeof(wrong));
    is(fw_oob_connect(base_g, fw_oob_listener_uri(l), wrong,
                      FW_OOB_PEER_DAEMON, 6, &cli_ops, NULL, &c, &err),
       FW_SUCCESS, "%s: connect with a wrong secret starts", uri);
    run_loop(5000);
    if (is_unix(uri)) {
        ok(cli_opened == 1 && srv_opened == 1 && srv_msgs == 1,
           "%s: same uid opens whatever the secret", uri);
        ok(srv_conn != NULL && fw_oob_conn_peer_id(srv_conn) == 6,
           "%s: with the identity it claimed", uri);
        fw_oob_conn_close(c);
        run_loop(200);
    } else {
        is(cli_opened, 0, "%s: wrong secret never opens", uri);
        is(srv_opened, 0, "%s: server never accepts it", uri);
        is(cli_closed, 1, "%s: the client is told", uri);
        is(cli_close_reason, FW_ERR_AUTH,
           "%s: that authentication failed", uri);
        is(srv_closed, 0, "%s: owner never hears of a refused connection",
           uri);
    }
    fw_oob_listener_destroy(l);
}

/* A burst sent in one callback: many small messages, some of 64 KiB and
 * one of 4 MiB (more than the socket takes at once), then the client
 * closes "flushed". The server must get all of it, in order, then see
 * the close. */
#define BURST_N 3000
#define BURST_BIG (4u << 20)
static int burst_next, burst_bad, burst_closed;

static size_t
burst_len(int i)
{
    return i == BURST_N / 2 ? BURST_BIG : i % 100 == 7 ? 65536 : (size_t)(i % 61);
}

static void
burst_srv_open(fw_oob_conn_t *c, void *arg)
{
    (void)c;
    (void)arg;
}

static void
burst_srv_msg(fw_oob_conn_t *c, const fw_oob_hdr_t *h, const void *p,
              void *arg)
{
    const uint8_t *b = p;
    size_t i;

    (void)c;
    (void)arg;
    if (h->type != 30 || h->src != (uint32_t)burst_next ||
        h->len != burst_len(burst_next))
        burst_bad++;
    for (i = 0; i < h->len && !burst_bad; i++)
        if (b[i] != (uint8_t)(burst_next + i))
            burst_bad++;
    burst_next++;
}

static void
burst_srv_close(fw_oob_conn_t *c, fw_status_t why, void *arg)
{
    (void)c;
    (void)why;
    (void)arg;
    burst_closed = 1;
    event_base_loopbreak(base_g);
}

static void
burst_cli_open(fw_oob_conn_t *c, void *arg)
{
    uint8_t *buf = malloc(BURST_BIG);
    size_t j;
    int i;

    (void)arg;
    for (i = 0; i < BURST_N && buf != NULL; i++) {
        for (j = 0; j < burst_len(i); j++)
            buf[j] = (uint8_t)(i + j);
        if (fw_oob_send(c, 30, (uint32_t)i, 0, buf, burst_len(i)) !=
            FW_SUCCESS)
            burst_bad++;
    }
    free(buf);
    fw_oob_conn_close_flushed(c);
}

static void
test_burst(const char *uri)
{
    static const struct fw_oob_conn_ops s_ops = {burst_srv_open,
                                                 burst_srv_msg,
                                                 burst_srv_close};
    static const struct fw_oob_conn_ops c_ops = {burst_cli_open, NULL, NULL};
    fw_oob_listener_t *l = NULL;
    fw_oob_conn_t *c = NULL;
    fw_error_t err;

    burst_next = burst_bad = burst_closed = 0;
    is(fw_oob_listen(base_g, uri, secret_g, &s_ops, NULL, &l, &err),
       FW_SUCCESS, "%s: listen (burst)", uri);
    is(fw_oob_connect(base_g, fw_oob_listener_uri(l), secret_g,
                      FW_OOB_PEER_DAEMON, 7, &c_ops, NULL, &c, &err),
       FW_SUCCESS, "%s: connect (burst)", uri);
    run_loop(20000);
    is(burst_next, BURST_N, "%s: a burst of %d messages sent in one "
       "callback (one of 4 MiB) all arrive", uri, BURST_N);
    is(burst_bad, 0, "%s: in order, each intact", uri);
    ok(burst_closed, "%s: then the close, after the last of them", uri);
    fw_oob_listener_destroy(l);
}

struct sthread {
    char uri[FW_OOB_URI_MAX];
    fw_status_t open_rc, bad_rc, rt_rc, idle_rc, slice_rc;
    double idle_ms, slice_ms;
    long idle_runs, slice_runs;
    int done;
};

/* Idle hooks: one with an fd that stays readable (nobody drains it),
 * one with a 5 ms slice only. */
static int idle_pipe_g[2] = {-1, -1};
static long idle_runs_g;

static void
idle_prepare_fd(void *arg, int fds[FW_OOB_IDLE_FDS], int *max_ms)
{
    (void)arg;
    (void)max_ms;
    fds[0] = idle_pipe_g[0];
}

static void
idle_prepare_slice(void *arg, int fds[FW_OOB_IDLE_FDS], int *max_ms)
{
    (void)arg;
    (void)fds;
    *max_ms = 5;
}

static void
idle_run(void *arg)
{
    (void)arg;
    idle_runs_g++;
}

/* A 200 ms receive nobody answers, with hook idle: its result, time and
 * how often the hook ran. */
static fw_status_t
sconn_idle_recv(fw_oob_sconn_t *s, const fw_oob_idle_t *idle, double *ms_p,
                long *runs_p)
{
    struct timespec a, b;
    const void *p;
    fw_oob_hdr_t h;
    fw_status_t rc;

    idle_runs_g = 0;
    fw_oob_sconn_set_idle(s, idle);
    clock_gettime(CLOCK_MONOTONIC, &a);
    rc = fw_oob_sconn_recv(s, 200, &h, &p);
    clock_gettime(CLOCK_MONOTONIC, &b);
    fw_oob_sconn_set_idle(s, NULL);
    *ms_p = (double)(b.tv_sec - a.tv_sec) * 1e3 +
            (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    *runs_p = idle_runs_g;
    return rc;
}

static void *
sconn_thread(void *arg)
{
    struct sthread *t = arg;
    uint8_t wrong[FW_OOB_SECRET_LEN] = {9};
    fw_oob_sconn_t *s = NULL;
    const void *p;
    fw_oob_hdr_t h;
    fw_error_t err;

    t->bad_rc = fw_oob_sconn_open(t->uri, wrong, FW_OOB_PEER_PROC, 1, 3000,
                                  &s, &err);
    if (t->bad_rc == FW_SUCCESS)
        fw_oob_sconn_close(s); /* Unix: the secret is not consulted */
    t->open_rc = fw_oob_sconn_open(t->uri, secret_g, FW_OOB_PEER_PROC, 3,
                                   3000, &s, &err);
    if (t->open_rc != FW_SUCCESS)
        return NULL;
    t->rt_rc = fw_oob_sconn_send(s, 30, 3, 0, "abc", 3);
    if (t->rt_rc == FW_SUCCESS)
        t->rt_rc = fw_oob_sconn_recv(s, 3000, &h, &p);
    if (t->rt_rc == FW_SUCCESS && (h.type != 31 || h.len != 3 ||
                                   memcmp(p, "abc", 3) != 0))
        t->rt_rc = FW_ERR_PROTO;
    {
        static const fw_oob_idle_t fd_hook = {idle_prepare_fd, idle_run,
                                              NULL};
        static const fw_oob_idle_t slice_hook = {idle_prepare_slice,
                                                 idle_run, NULL};

        t->idle_rc = sconn_idle_recv(s, &fd_hook, &t->idle_ms,
                                     &t->idle_runs);
        t->slice_rc = sconn_idle_recv(s, &slice_hook, &t->slice_ms,
                                      &t->slice_runs);
    }
    fw_oob_sconn_close(s);
    __atomic_store_n(&t->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void
test_blocking(const char *uri)
{
    fw_oob_listener_t *l = NULL;
    struct sthread t;
    pthread_t th;
    int i;
    fw_error_t err;

    reset_counts();
    memset(&t, 0, sizeof(t));
    is(fw_oob_listen(base_g, uri, secret_g, &srv_ops, NULL, &l, &err),
       FW_SUCCESS, "%s: listen for a blocking client", uri);
    snprintf(t.uri, sizeof(t.uri), "%s", fw_oob_listener_uri(l));
    pthread_create(&th, NULL, sconn_thread, &t);
    /* the thread cannot wake the loop: run it in short slices */
    for (i = 0; i < 160 && !__atomic_load_n(&t.done, __ATOMIC_SEQ_CST); i++)
        run_loop(50);
    pthread_join(th, NULL);
    is(t.bad_rc, is_unix(uri) ? FW_SUCCESS : FW_ERR_AUTH,
       "%s: blocking open with a wrong secret", uri);
    is(t.open_rc, FW_SUCCESS, "%s: blocking open", uri);
    is(t.rt_rc, FW_SUCCESS, "%s: blocking round trip", uri);
    ok(t.idle_rc == FW_ERR_TIMEOUT && t.idle_ms < 1000 && t.idle_runs > 0,
       "%s: a 200 ms receive whose idle hook fd stays ready: %s after "
       "%.0f ms, hook ran %ld times", uri, fw_strerror(t.idle_rc),
       t.idle_ms, t.idle_runs);
    ok(t.slice_rc == FW_ERR_TIMEOUT && t.slice_ms < 1000 &&
           t.slice_runs >= 10 && t.slice_runs <= 60,
       "%s: the same with a 5 ms slice: %s after %.0f ms, hook ran %ld "
       "times", uri, fw_strerror(t.slice_rc), t.slice_ms, t.slice_runs);
    run_loop(100);
    is(srv_opened, is_unix(uri) ? 2 : 1, "%s: authenticated blocking clients",
       uri);
    is(srv_closed, is_unix(uri) ? 2 : 1, "%s: their close was seen", uri);
    fw_oob_listener_destroy(l);
}

/* In a child running as nobody: bit 0 = the blocking client accepted a
 * listener of another uid, bit 1 = the listener kept a raw CRED open. */
static int
other_uid_child(const char *uri)
{
    fw_oob_sockaddr_t sa;
    uint8_t frame[FW_OOB_HDR_LEN + FW_OOB_CRED_LEN], c;
    fw_oob_hdr_t h = {FW_OOB_WIRE_VERSION, FW_OOB_MSG_CRED, 0,
                      FW_OOB_CRED_LEN, 4, 0};
    struct pollfd pfd;
    fw_oob_sconn_t *s = NULL;
    fw_error_t err;
    int bad = 0, fd;

    if (setgid(65534) != 0 || setuid(65534) != 0)
        return 4;
    if (fw_oob_sconn_open(uri, secret_g, FW_OOB_PEER_PROC, 4, 2000, &s,
                          &err) != FW_ERR_AUTH ||
        strstr(err.text, "belongs to uid 0") == NULL)
        bad |= 1;
    if (fw_oob_uri_parse(uri, &sa, &err) != FW_SUCCESS)
        return bad | 8;
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa.ss, sa.len) != 0)
        return bad | 8;
    fw_oob_hdr_pack(&h, frame);
    fw_oob_cred_pack(FW_OOB_PEER_PROC, 4, frame + FW_OOB_HDR_LEN);
    pfd = (struct pollfd){fd, POLLIN, 0};
    /* dropped: the write fails (EPIPE) or the read sees the close */
    if (send(fd, frame, sizeof(frame), MSG_NOSIGNAL) ==
            (ssize_t)sizeof(frame) &&
        (poll(&pfd, 1, 3000) != 1 || read(fd, &c, 1) > 0))
        bad |= 2;
    close(fd);
    return bad;
}

static void
test_unix_other_uid(const char *uri)
{
    fw_oob_listener_t *l = NULL;
    int status = -1, i;
    fw_error_t err;
    pid_t pid;

    if (geteuid() != 0) {
        diag("skip: a process of another uid needs root to make");
        return;
    }
    reset_counts();
    is(fw_oob_listen(base_g, uri, secret_g, &srv_ops, NULL, &l, &err),
       FW_SUCCESS, "%s: listen (other uid)", uri);
    pid = fork();
    if (pid == 0)
        _exit(other_uid_child(fw_oob_listener_uri(l)));
    for (i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; i++)
        run_loop(50);
    if (i == 100) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    ok(WIFEXITED(status) && !(WEXITSTATUS(status) & 1),
       "%s: a client refuses a listener of another uid (%d)", uri, status);
    ok(WIFEXITED(status) && !(WEXITSTATUS(status) & ~1),
       "%s: the listener drops a peer of another uid (%d)", uri, status);
    is(srv_opened, 0, "%s: and never reports it", uri);
    fw_oob_listener_destroy(l);
}

/* The socket options that make a silent dead peer noticed. */
typedef struct ka_opts {
    int keepalive, idle, intvl, cnt;
    unsigned user_ms;
} ka_opts_t;

static int
ka_get(int fd, ka_opts_t *o)
{
    socklen_t l = sizeof(int);
    int rc;

    memset(o, 0, sizeof(*o));
    rc = getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &o->keepalive, &l);
    if (rc != 0 || o->keepalive == 0)
        return rc;
    rc |= getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &o->idle, &l);
    rc |= getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &o->intvl, &l);
    rc |= getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &o->cnt, &l);
    l = sizeof(o->user_ms);
    rc |= getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &o->user_ms, &l);
    return rc;
}

/* Connected sockets whose one end is the listener at l_sa: both ends of
 * each connection to it live in this process. Up to max fds in fds. */
static int
ka_find(const struct sockaddr_storage *l_sa, socklen_t l_len, int *fds,
        int max)
{
    struct sockaddr_storage a, b;
    socklen_t al, bl;
    int fd, n = 0, port = 0;

    if (l_sa->ss_family == AF_INET)
        port = ((const struct sockaddr_in *)l_sa)->sin_port;
    for (fd = 3; fd < 1024 && n < max; fd++) {
        al = bl = sizeof(a);
        if (getsockname(fd, (struct sockaddr *)&a, &al) != 0 ||
            getpeername(fd, (struct sockaddr *)&b, &bl) != 0 ||
            a.ss_family != l_sa->ss_family)
            continue;
        if (port != 0 && (((struct sockaddr_in *)&a)->sin_port == port ||
                          ((struct sockaddr_in *)&b)->sin_port == port))
            fds[n++] = fd;
        else if (port == 0 && ((al == l_len && memcmp(&a, l_sa, al) == 0) ||
                               (bl == l_len && memcmp(&b, l_sa, bl) == 0)))
            fds[n++] = fd;
    }
    return n;
}

/* One connection to uri with FW_OOB_KEEPALIVE_S = env (NULL: unset);
 * both ends must have want (keepalive 0: none at all). */
static void
test_keepalive_case(const char *uri, const char *env, const ka_opts_t *want)
{
    fw_oob_listener_t *l = NULL;
    fw_oob_conn_t *c = NULL;
    fw_oob_sockaddr_t sa;
    int fds[4], n, i, good = 0;
    ka_opts_t got;
    fw_error_t err;

    if (env != NULL)
        setenv("FW_OOB_KEEPALIVE_S", env, 1);
    else
        unsetenv("FW_OOB_KEEPALIVE_S");
    reset_counts();
    is(fw_oob_listen(base_g, uri, secret_g, &srv_ops, NULL, &l, &err),
       FW_SUCCESS, "keepalive %s: listen", uri);
    is(fw_oob_connect(base_g, fw_oob_listener_uri(l), secret_g,
                      FW_OOB_PEER_DAEMON, 7, &cli_ops, NULL, &c, &err),
       FW_SUCCESS, "keepalive %s: connect", uri);
    run_loop(2000);
    is(cli_msgs, 1, "keepalive %s: the connection works", uri);
    if (fw_oob_uri_parse(fw_oob_listener_uri(l), &sa, &err) != FW_SUCCESS)
        sa.len = 0;
    n = ka_find(&sa.ss, sa.len, fds, 4);
    is(n, 2, "keepalive %s: both ends found", uri);
    for (i = 0; i < n; i++) {
        if (ka_get(fds[i], &got) != 0) {
            diag("fd %d: getsockopt: %s", fds[i], strerror(errno));
            continue;
        }
        diag("fd %d: keepalive %d idle %d intvl %d cnt %d user timeout %u",
             fds[i], got.keepalive, got.idle, got.intvl, got.cnt,
             got.user_ms);
        good += (got.keepalive != 0) == (want->keepalive != 0) &&
                (want->keepalive == 0 ||
                 (got.idle == want->idle && got.intvl == want->intvl &&
                  got.cnt == want->cnt && got.user_ms == want->user_ms));
    }
    is(good, 2, "keepalive %s, FW_OOB_KEEPALIVE_S=%s: both ends %s", uri,
       env != NULL ? env : "(default)",
       want->keepalive ? "probe a silent peer" : "have no keepalive");
    fw_oob_conn_close(c);
    run_loop(100);
    fw_oob_listener_destroy(l);
    unsetenv("FW_OOB_KEEPALIVE_S");
}

static void
test_keepalive(void)
{
    char uri[64];
    /* idle half the time, 3 probes over the other half, user timeout */
    const ka_opts_t dflt = {1, 15, 5, 3, 30000}, short_ = {1, 3, 1, 3, 6000},
                    none = {0, 0, 0, 0, 0};

    test_keepalive_case("tcp://127.0.0.1:0", NULL, &dflt);
    test_keepalive_case("tcp://127.0.0.1:0", "6", &short_);
    test_keepalive_case("tcp://127.0.0.1:0", "0", &none);
    snprintf(uri, sizeof(uri), "unix:@fabwire-testk-%d", (int)getpid());
    test_keepalive_case(uri, "6", &none);
}

static void
test_bad_params(void)
{
    fw_oob_listener_t *l = NULL;
    fw_oob_sconn_t *s = NULL;
    fw_error_t err;

    is(fw_oob_listen(base_g, "http://x", secret_g, &srv_ops, NULL, &l, &err),
       FW_ERR_BAD_PARAM, "unknown uri scheme refused");
    ok(strstr(err.text, "unknown scheme") != NULL, "and named: %s", err.text);
    is(fw_oob_listen(base_g, "tcp://127.0.0.1", secret_g, &srv_ops, NULL, &l,
                     &err),
       FW_ERR_BAD_PARAM, "tcp uri without port refused");
    is(fw_oob_listen(NULL, "tcp://127.0.0.1:0", secret_g, &srv_ops, NULL, &l,
                     &err),
       FW_ERR_BAD_PARAM, "NULL base refused");
    is(fw_oob_sconn_open("unix:@fabwire-test-nobody-listens", secret_g, 1, 1,
                         1000, &s, &err),
       FW_ERR_UNREACHABLE, "blocking connect to nothing is unreachable");
    ok(l == NULL && s == NULL, "no output written on failure");
}

int
main(void)
{
    char uri[64];

    fw_random_bytes(secret_g, sizeof(secret_g));
    if (pipe(idle_pipe_g) != 0 || write(idle_pipe_g[1], "x", 1) != 1)
        return 1;
    base_g = event_base_new();
    test_evented("tcp://127.0.0.1:0");
    snprintf(uri, sizeof(uri), "unix:@fabwire-test-%d", (int)getpid());
    test_evented(uri);
    test_burst("tcp://127.0.0.1:0");
    snprintf(uri, sizeof(uri), "unix:@fabwire-testf-%d", (int)getpid());
    test_burst(uri);
    test_blocking("tcp://127.0.0.1:0");
    snprintf(uri, sizeof(uri), "unix:@fabwire-testb-%d", (int)getpid());
    test_blocking(uri);
    snprintf(uri, sizeof(uri), "unix:@fabwire-testu-%d", (int)getpid());
    test_unix_other_uid(uri);
    test_keepalive();
    test_bad_params();
    event_base_free(base_g);
    return fw_test_done();
}
