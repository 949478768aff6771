/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Connect/accept benchmark under fwrun (contract in bench/README.md), the
 * fabwire twin of bench/mpi/connect.c: C cycles of connect + 4-byte round
 * trip + disconnect, each side on fw_comm_self(). The connecting side
 * prints one sample line per cycle and a total line.
 *   fw_bench_connect --accept  (--port-file F | --service NAME) [--cycles C]
 *   fw_bench_connect --connect (--port-file F | --service NAME) [--cycles C]
 *   fwrun -n 2 fw_bench_connect --pair [--cycles C]   (0 accepts, 1 connects)
 * Two jobs with --service need a common name service: run both fwrun with
 * --server (fw-server). Exit 77 when there is no name service.
 */
#define _GNU_SOURCE

#include <fabwire.h>

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/****************/
/* Local Macros */
/****************/

#define FW_BENCH_CONNECT_TAG 7
#define FW_BENCH_CONNECT_TAG_PORT 8
/* Bound of the wait for the port name (file or name service), ms */
#define FW_BENCH_CONNECT_LOOKUP_MS 30000
/* Bound of every other blocking step (the first accept waits for the
 * connecting job to start), s */
#define FW_BENCH_CONNECT_WAIT_S 60
#define FW_BENCH_CONNECT_SKIP 77

/****************/
/* Local Types  */
/****************/

enum fw_bench_connect_role {
    FW_BENCH_CONNECT_NONE,
    FW_BENCH_CONNECT_ACCEPT,
    FW_BENCH_CONNECT_CONNECT,
    FW_BENCH_CONNECT_PAIR,
};

struct fw_bench_connect_opts {
    enum fw_bench_connect_role role;
    const char *file;
    const char *service;
    int cycles;
};

/*******************/
/* Local Variables */
/*******************/

static const char fw_bench_connect_usage[] =
    "usage: fw_bench_connect --accept|--connect (--port-file F | --service "
    "NAME) [--cycles C]\n"
    "       fwrun -n 2 fw_bench_connect --pair [--cycles C]\n";

/* The blocking call in progress (printed when the watchdog fires). */
static const char *volatile fw_bench_connect_waiting = "?";

static double
fw_bench_connect_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
fw_bench_connect_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Report a failed call; returns the exit status (1). */
static int
fw_bench_connect_fail(const char *call, fw_status_t st)
{
    fprintf(stderr, "fw_bench_connect: %s failed: %s (%d)\n", call,
            fw_strerror(st), (int)st);
    return 1;
}

static void
fw_bench_connect_on_alarm(int sig)
{
    static const char pre[] = "fw_bench_connect: timed out in ";
    const char *what = fw_bench_connect_waiting;
    ssize_t rc;

    (void)sig;
    rc = write(STDERR_FILENO, pre, sizeof(pre) - 1);
    rc = write(STDERR_FILENO, what, strlen(what));
    rc = write(STDERR_FILENO, "\n", 1);
    (void)rc; /* nothing left to do if stderr is gone */
    _exit(1);
}

/* Arm (sec > 0) or disarm (0) the watchdog that bounds blocking calls
 * without a timeout of their own (fw_accept, fw_comm_recv). */
static void
fw_bench_connect_watchdog(unsigned int sec)
{
    alarm(sec);
}

static int
fw_bench_connect_parse(int argc, char **argv, struct fw_bench_connect_opts *o)
{
    int i;

    o->role = FW_BENCH_CONNECT_NONE;
    o->file = NULL;
    o->service = NULL;
    o->cycles = 20;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--accept") == 0)
            o->role = FW_BENCH_CONNECT_ACCEPT;
        else if (strcmp(argv[i], "--connect") == 0)
            o->role = FW_BENCH_CONNECT_CONNECT;
        else if (strcmp(argv[i], "--pair") == 0)
            o->role = FW_BENCH_CONNECT_PAIR;
        else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc)
            o->file = argv[++i];
        else if (strcmp(argv[i], "--service") == 0 && i + 1 < argc)
            o->service = argv[++i];
        else if (strcmp(argv[i], "--cycles") == 0 && i + 1 < argc)
            o->cycles = atoi(argv[++i]);
        else
            break;
    }
    if (i < argc || o->role == FW_BENCH_CONNECT_NONE || o->cycles < 1 ||
        (o->role != FW_BENCH_CONNECT_PAIR &&
         (o->file == NULL) == (o->service == NULL)) ||
        (o->service != NULL && strlen(o->service) >= FW_MAX_SERVICE)) {
        fputs(fw_bench_connect_usage, stderr);
        return -1;
    }
    return 0;
}

/* FW_ERR_UNSUPPORTED / FW_ERR_UNREACHABLE from the name service: there is
 * none here (no fw-server); the run is a skip, not an error. */
static int
fw_bench_connect_no_service(const char *call, fw_status_t st)
{
    if (st != FW_ERR_UNSUPPORTED && st != FW_ERR_UNREACHABLE)
        return fw_bench_connect_fail(call, st);
    fprintf(stderr, "fw_bench_connect: %s: no name service here (%s); "
            "two jobs need a running fw-server named by fwrun --server\n",
            call, fw_strerror(st));
    return FW_BENCH_CONNECT_SKIP;
}

/* Make the port known: F.tmp renamed to F, so that a reader never sees a
 * partial name; or fw_publish. */
static int
fw_bench_connect_publish(const struct fw_bench_connect_opts *o,
                         const char *port)
{
    char tmp[4096];
    fw_status_t st;
    FILE *f;

    if (o->service != NULL) {
        st = fw_publish(o->service, port);
        if (st != FW_SUCCESS)
            return fw_bench_connect_no_service("fw_publish", st);
        return 0;
    }
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", o->file) >=
        sizeof(tmp)) {
        fprintf(stderr, "fw_bench_connect: port file name too long\n");
        return 1;
    }
    f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, "fw_bench_connect: port file %s: %s\n", tmp,
                strerror(errno));
        return 1;
    }
    if (fputs(port, f) < 0) {
        fprintf(stderr, "fw_bench_connect: port file %s: %s\n", tmp,
                strerror(errno));
        fclose(f);
        return 1;
    }
    if (fclose(f) != 0 || rename(tmp, o->file) != 0) {
        fprintf(stderr, "fw_bench_connect: port file %s: %s\n", o->file,
                strerror(errno));
        return 1;
    }
    return 0;
}

/* Read the port name from F once: 1 if found, 0 if not yet, -1 on error */
static int
fw_bench_connect_read_file(const char *file, char *port)
{
    FILE *f;
    size_t n;

    f = fopen(file, "r");
    if (f == NULL) {
        if (errno == ENOENT)
            return 0;
        fprintf(stderr, "fw_bench_connect: port file %s: %s\n", file,
                strerror(errno));
        return -1;
    }
    n = fread(port, 1, FW_MAX_PORT_NAME - 1, f);
    fclose(f);
    while (n > 0 && isspace((unsigned char)port[n - 1]))
        n--;
    port[n] = '\0';
    return n > 0 ? 1 : 0;
}

/* Wait for the accepting side's port name (not timed), bounded. */
static int
fw_bench_connect_lookup(const struct fw_bench_connect_opts *o, char *port)
{
    double t0 = fw_bench_connect_now_ms();
    fw_status_t st;
    int found;

    if (o->service != NULL) {
        st = fw_lookup(o->service, FW_BENCH_CONNECT_LOOKUP_MS, port);
        if (st != FW_SUCCESS)
            return fw_bench_connect_no_service("fw_lookup", st);
        return 0;
    }
    while (fw_bench_connect_now_ms() - t0 < FW_BENCH_CONNECT_LOOKUP_MS) {
        found = fw_bench_connect_read_file(o->file, port);
        if (found < 0)
            return 1;
        if (found > 0)
            return 0;
        fw_bench_connect_sleep_ms(5);
    }
    fprintf(stderr, "fw_bench_connect: no port file %s after %d ms\n",
            o->file, FW_BENCH_CONNECT_LOOKUP_MS);
    return 1;
}

/* One accept cycle: accept, echo 4 bytes, disconnect. */
static int
fw_bench_connect_accept_one(const char *port)
{
    fw_comm_t *inter = NULL;
    fw_status_t st;
    size_t len = 0;
    char buf[4];

    fw_bench_connect_waiting = "fw_accept";
    st = fw_accept(port, fw_comm_self(), 0, &inter);
    if (st != FW_SUCCESS)
        return fw_bench_connect_fail("fw_accept", st);
    fw_bench_connect_waiting = "fw_comm_recv (acceptor)";
    st = fw_comm_recv(inter, 0, FW_BENCH_CONNECT_TAG, buf, sizeof(buf), &len);
    if (st != FW_SUCCESS) {
        fw_bench_connect_fail("fw_comm_recv (acceptor)", st);
        goto err_disconnect;
    }
    if (len != sizeof(buf)) {
        fprintf(stderr, "fw_bench_connect: acceptor got %zu bytes, not 4\n",
                len);
        goto err_disconnect;
    }
    fw_bench_connect_waiting = "fw_comm_send (acceptor)";
    st = fw_comm_send(inter, 0, FW_BENCH_CONNECT_TAG, buf, sizeof(buf));
    if (st != FW_SUCCESS) {
        fw_bench_connect_fail("fw_comm_send (acceptor)", st);
        goto err_disconnect;
    }
    fw_bench_connect_waiting = "fw_comm_disconnect (acceptor)";
    st = fw_comm_disconnect(&inter);
    if (st != FW_SUCCESS)
        return fw_bench_connect_fail("fw_comm_disconnect (acceptor)", st);
    return 0;

err_disconnect:
    st = fw_comm_disconnect(&inter);
    if (st != FW_SUCCESS)
        fw_bench_connect_fail("fw_comm_disconnect (after an error)", st);
    return 1;
}

static int
fw_bench_connect_accept_loop(const char *port, int cycles)
{
    int k, rc = 0;

    for (k = 0; k < cycles && rc == 0; k++) {
        fw_bench_connect_watchdog(FW_BENCH_CONNECT_WAIT_S);
        rc = fw_bench_connect_accept_one(port);
        fw_bench_connect_watchdog(0);
    }
    return rc;
}

/* C cycles, timed: connect, 4-byte round trip, disconnect. */
static int
fw_bench_connect_connect_loop(const char *port, int cycles)
{
    char buf[4] = {'p', 'i', 'n', 'g'};
    double t0, t1, t2, t3, start;
    fw_comm_t *inter = NULL;
    fw_status_t st;
    size_t len = 0;
    int k;

    /* MPI opens its transports in MPI_Init, before the baseline's timed
     * loop; fabwire opens the endpoint at the first call that needs it:
     * open it here, untimed, and report what it cost */
    t0 = fw_bench_connect_now_ms();
    if (fw_fabric_provider() == NULL) {
        fprintf(stderr, "fw_bench_connect: fw_fabric_provider failed: "
                "cannot open the fabric endpoint\n");
        return 1;
    }
    printf("{\"ep_open_ms\":%.4f}\n", fw_bench_connect_now_ms() - t0);
    fflush(stdout);
    start = fw_bench_connect_now_ms();
    for (k = 0; k < cycles; k++) {
        fw_bench_connect_watchdog(FW_BENCH_CONNECT_WAIT_S);
        fw_bench_connect_waiting = "fw_connect";
        t0 = fw_bench_connect_now_ms();
        st = fw_connect(port, fw_comm_self(), 0, &inter);
        if (st != FW_SUCCESS)
            return fw_bench_connect_fail("fw_connect", st);
        t1 = fw_bench_connect_now_ms();
        fw_bench_connect_waiting = "fw_comm_send (connector)";
        st = fw_comm_send(inter, 0, FW_BENCH_CONNECT_TAG, buf, sizeof(buf));
        if (st != FW_SUCCESS) {
            fw_bench_connect_fail("fw_comm_send (connector)", st);
            goto err_disconnect;
        }
        fw_bench_connect_waiting = "fw_comm_recv (connector)";
        st = fw_comm_recv(inter, 0, FW_BENCH_CONNECT_TAG, buf, sizeof(buf),
                          &len);
        if (st != FW_SUCCESS) {
            fw_bench_connect_fail("fw_comm_recv (connector)", st);
            goto err_disconnect;
        }
        t2 = fw_bench_connect_now_ms();
        if (len != sizeof(buf)) {
            fprintf(stderr, "fw_bench_connect: connector got %zu bytes, "
                    "not 4\n", len);
            goto err_disconnect;
        }
        fw_bench_connect_waiting = "fw_comm_disconnect (connector)";
        st = fw_comm_disconnect(&inter);
        if (st != FW_SUCCESS)
            return fw_bench_connect_fail("fw_comm_disconnect (connector)",
                                         st);
        t3 = fw_bench_connect_now_ms();
        fw_bench_connect_watchdog(0);
        printf("{\"sample\":%d,\"connect_ms\":%.4f,\"rtt_ms\":%.4f,"
               "\"disconnect_ms\":%.4f,\"cycle_ms\":%.4f}\n",
               k, t1 - t0, t2 - t1, t3 - t2, t3 - t0);
        fflush(stdout);
    }
    printf("{\"cycles\":%d,\"total_ms\":%.4f}\n", cycles,
           fw_bench_connect_now_ms() - start);
    fflush(stdout);
    return 0;

err_disconnect:
    st = fw_comm_disconnect(&inter);
    if (st != FW_SUCCESS)
        fw_bench_connect_fail("fw_comm_disconnect (after an error)", st);
    return 1;
}

/* Close the port (and unpublish first); rc is the run's status so far. */
static int
fw_bench_connect_port_close(const struct fw_bench_connect_opts *o,
                            const char *port, int rc)
{
    fw_status_t st;

    if (o->service != NULL && rc != FW_BENCH_CONNECT_SKIP) {
        st = fw_unpublish(o->service);
        if (st != FW_SUCCESS && rc == 0)
            rc = fw_bench_connect_fail("fw_unpublish", st);
    }
    st = fw_port_close(port);
    if (st != FW_SUCCESS && rc == 0)
        rc = fw_bench_connect_fail("fw_port_close", st);
    /* the name is stale now: a later run with the same file must wait for
     * its own acceptor */
    if (o->file != NULL && unlink(o->file) != 0 && errno != ENOENT)
        fprintf(stderr, "fw_bench_connect: port file %s: %s\n", o->file,
                strerror(errno));
    return rc;
}

static int
fw_bench_connect_acceptor(const struct fw_bench_connect_opts *o)
{
    char port[FW_MAX_PORT_NAME];
    fw_status_t st;
    int rc;

    st = fw_port_open(port);
    if (st != FW_SUCCESS)
        return fw_bench_connect_fail("fw_port_open", st);
    rc = fw_bench_connect_publish(o, port);
    if (rc != 0) {
        st = fw_port_close(port);
        if (st != FW_SUCCESS)
            fw_bench_connect_fail("fw_port_close", st);
        return rc;
    }
    rc = fw_bench_connect_accept_loop(port, o->cycles);
    return fw_bench_connect_port_close(o, port, rc);
}

static int
fw_bench_connect_connector(const struct fw_bench_connect_opts *o)
{
    char port[FW_MAX_PORT_NAME];
    int rc;

    rc = fw_bench_connect_lookup(o, port);
    if (rc != 0)
        return rc;
    return fw_bench_connect_connect_loop(port, o->cycles);
}

/* One job of two ranks: rank 0 opens a port and sends its name to rank 1
 * over the world, then accepts; rank 1 connects. */
static int
fw_bench_connect_pair(const struct fw_bench_connect_opts *o)
{
    fw_comm_t *world = fw_comm_world();
    char port[FW_MAX_PORT_NAME];
    fw_status_t st;
    size_t len = 0;
    int rank, rc;

    rank = fw_comm_rank(world);
    if (world == NULL || fw_comm_size(world) != 2) {
        fprintf(stderr, "fw_bench_connect: --pair needs a job of 2 ranks "
                "(fwrun -n 2)\n");
        return 2;
    }
    if (rank == 0) {
        st = fw_port_open(port);
        if (st != FW_SUCCESS)
            return fw_bench_connect_fail("fw_port_open", st);
        st = fw_comm_send(world, 1, FW_BENCH_CONNECT_TAG_PORT, port,
                          strlen(port) + 1);
        if (st != FW_SUCCESS) {
            rc = fw_bench_connect_fail("fw_comm_send (port name)", st);
            return fw_bench_connect_port_close(o, port, rc);
        }
        rc = fw_bench_connect_accept_loop(port, o->cycles);
        return fw_bench_connect_port_close(o, port, rc);
    }
    fw_bench_connect_waiting = "fw_comm_recv (port name)";
    fw_bench_connect_watchdog(FW_BENCH_CONNECT_WAIT_S);
    st = fw_comm_recv(world, 0, FW_BENCH_CONNECT_TAG_PORT, port,
                      sizeof(port), &len);
    fw_bench_connect_watchdog(0);
    if (st != FW_SUCCESS)
        return fw_bench_connect_fail("fw_comm_recv (port name)", st);
    if (len == 0 || port[len - 1] != '\0') {
        fprintf(stderr, "fw_bench_connect: bad port name from rank 0\n");
        return 1;
    }
    return fw_bench_connect_connect_loop(port, o->cycles);
}

int
main(int argc, char **argv)
{
    struct fw_bench_connect_opts o;
    struct sigaction sa;
    fw_status_t st;
    int rc;

    if (fw_bench_connect_parse(argc, argv, &o) != 0)
        return 2;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fw_bench_connect_on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    st = fw_init(&argc, &argv);
    if (st != FW_SUCCESS)
        return fw_bench_connect_fail("fw_init", st);
    if (o.role == FW_BENCH_CONNECT_PAIR)
        rc = fw_bench_connect_pair(&o);
    else if (o.role == FW_BENCH_CONNECT_ACCEPT)
        rc = fw_bench_connect_acceptor(&o);
    else
        rc = fw_bench_connect_connector(&o);
    st = fw_finalize();
    if (st != FW_SUCCESS) {
        fw_bench_connect_fail("fw_finalize", st);
        return rc == 0 ? 1 : rc;
    }
    return rc;
}
