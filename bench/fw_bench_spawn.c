/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Spawn benchmark under fwrun (contract in bench/README.md), the fabwire
 * twin of bench/mpi/spawn.c: P parents (the job) collectively fw_spawn K
 * children of this same program, S times. Per spawn, rank 0 prints the
 * time from just before fw_spawn until a 4-byte round trip with child 0
 * (first_ms) and until a round trip with every child (all_ms: the pings
 * to children 1..K-1 all go out before their answers are read).
 *   fwrun --oversubscribe -n P fw_bench_spawn [--children K] [--spawns S]
 *         [--info KEY=VALUE]...
 * --info (repeatable) is set on the spawn's fw_info (host, map_by, ...).
 * Children are started with --child; they answer rank 0 and leave.
 */
#define _GNU_SOURCE

#include <fabwire.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/****************/
/* Local Macros */
/****************/

#define FW_BENCH_SPAWN_TAG_PING 1
#define FW_BENCH_SPAWN_TAG_PONG 2
/* Bound of a child's wait for rank 0's ping (s): a lost parent must not
 * leave children behind that fwrun would wait for. */
#define FW_BENCH_SPAWN_CHILD_WAIT_S 120
#define FW_BENCH_SPAWN_MAX_INFO 32
#define FW_BENCH_SPAWN_MAX_KEY 64

/****************/
/* Local Types  */
/****************/

struct fw_bench_spawn_opts {
    int children;
    int spawns;
    int child;
    int ninfo;
    char *info[FW_BENCH_SPAWN_MAX_INFO]; /* KEY=VALUE, from argv */
};

/*******************/
/* Local Variables */
/*******************/

static const char fw_bench_spawn_usage[] =
    "usage: fwrun -n P fw_bench_spawn [--children K] [--spawns S] "
    "[--info KEY=VALUE]...\n";

/* What a bounded wait is waiting for (printed when it expires). */
static const char *volatile fw_bench_spawn_waiting = "?";

static double
fw_bench_spawn_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Report a failed call; returns the exit status (1). */
static int
fw_bench_spawn_fail(const char *call, fw_status_t st)
{
    fprintf(stderr, "fw_bench_spawn: %s failed: %s (%d)\n", call,
            fw_strerror(st), (int)st);
    return 1;
}

static void
fw_bench_spawn_on_alarm(int sig)
{
    static const char pre[] = "fw_bench_spawn: timed out in ";
    const char *what = fw_bench_spawn_waiting;
    ssize_t rc;

    (void)sig;
    rc = write(STDERR_FILENO, pre, sizeof(pre) - 1);
    rc = write(STDERR_FILENO, what, strlen(what));
    rc = write(STDERR_FILENO, "\n", 1);
    (void)rc; /* nothing left to do if stderr is gone */
    _exit(1);
}

/* Arm (sec > 0) or disarm (sec == 0) the watchdog of a blocking call. */
static void
fw_bench_spawn_watchdog(const char *call, unsigned int sec)
{
    fw_bench_spawn_waiting = call;
    alarm(sec);
}

static int
fw_bench_spawn_parse(int argc, char **argv, struct fw_bench_spawn_opts *o)
{
    int i;

    o->children = 1;
    o->spawns = 5;
    o->child = 0;
    o->ninfo = 0;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--child") == 0) {
            o->child = 1;
        } else if (strcmp(argv[i], "--children") == 0 && i + 1 < argc) {
            o->children = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--spawns") == 0 && i + 1 < argc) {
            o->spawns = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--info") == 0 && i + 1 < argc) {
            i++;
            if (o->ninfo == FW_BENCH_SPAWN_MAX_INFO ||
                strchr(argv[i], '=') == NULL || argv[i][0] == '=') {
                fprintf(stderr, "fw_bench_spawn: bad --info '%s' "
                        "(KEY=VALUE, at most %d)\n", argv[i],
                        FW_BENCH_SPAWN_MAX_INFO);
                return -1;
            }
            o->info[o->ninfo++] = argv[i];
        } else {
            fprintf(stderr, "fw_bench_spawn: unknown argument '%s'\n%s",
                    argv[i], fw_bench_spawn_usage);
            return -1;
        }
    }
    if (o->children < 1 || o->spawns < 1) {
        fputs(fw_bench_spawn_usage, stderr);
        return -1;
    }
    return 0;
}

/* A spawned child: answer rank 0's ping, then leave. */
static int
fw_bench_spawn_child(void)
{
    fw_comm_t *parent = NULL;
    fw_status_t st;
    char buf[4];
    size_t len = 0;

    st = fw_comm_get_parent(&parent);
    if (st != FW_SUCCESS)
        return fw_bench_spawn_fail("fw_comm_get_parent", st);
    if (parent == NULL) {
        fprintf(stderr, "fw_bench_spawn: --child but fw_comm_get_parent "
                "gave no parent\n");
        return 1;
    }
    fw_bench_spawn_watchdog("fw_comm_recv from parent rank 0",
                            FW_BENCH_SPAWN_CHILD_WAIT_S);
    st = fw_comm_recv(parent, 0, FW_BENCH_SPAWN_TAG_PING, buf, sizeof(buf),
                      &len);
    fw_bench_spawn_watchdog("", 0);
    if (st != FW_SUCCESS)
        return fw_bench_spawn_fail("fw_comm_recv (child)", st);
    if (len != sizeof(buf)) {
        fprintf(stderr, "fw_bench_spawn: child got %zu bytes, not 4\n", len);
        return 1;
    }
    st = fw_comm_send(parent, 0, FW_BENCH_SPAWN_TAG_PONG, buf, sizeof(buf));
    if (st != FW_SUCCESS)
        return fw_bench_spawn_fail("fw_comm_send (child)", st);
    st = fw_comm_disconnect(&parent);
    if (st != FW_SUCCESS)
        return fw_bench_spawn_fail("fw_comm_disconnect (child)", st);
    return 0;
}

/* Rank 0: the ping of a 4-byte round trip with one child. */
static int
fw_bench_spawn_ping(fw_comm_t *inter, int child)
{
    char buf[4] = {'p', 'i', 'n', 'g'};
    fw_status_t st;

    st = fw_comm_send(inter, child, FW_BENCH_SPAWN_TAG_PING, buf,
                      sizeof(buf));
    if (st != FW_SUCCESS)
        return fw_bench_spawn_fail("fw_comm_send (to a child)", st);
    return 0;
}

/* Rank 0: the child's answer to its ping. */
static int
fw_bench_spawn_pong(fw_comm_t *inter, int child)
{
    fw_status_t st;
    size_t len = 0;
    char buf[4];

    st = fw_comm_recv(inter, child, FW_BENCH_SPAWN_TAG_PONG, buf,
                      sizeof(buf), &len);
    if (st != FW_SUCCESS)
        return fw_bench_spawn_fail("fw_comm_recv (from a child)", st);
    if (len != sizeof(buf)) {
        fprintf(stderr, "fw_bench_spawn: child %d answered %zu bytes, not "
                "4\n", child, len);
        return 1;
    }
    return 0;
}

/* Rank 0: a round trip with child 0, then with children 1..K-1, their
 * pings all sent before the first answer is read (as an MPI program
 * would post them), so the round trips overlap. */
static int
fw_bench_spawn_round_trips(fw_comm_t *inter, int k, double *t1_p)
{
    int c;

    if (fw_bench_spawn_ping(inter, 0) != 0 ||
        fw_bench_spawn_pong(inter, 0) != 0)
        return 1;
    *t1_p = fw_bench_spawn_now_ms();
    for (c = 1; c < k; c++)
        if (fw_bench_spawn_ping(inter, c) != 0)
            return 1;
    for (c = 1; c < k; c++)
        if (fw_bench_spawn_pong(inter, c) != 0)
            return 1;
    return 0;
}

/* The info of every spawn, from --info; NULL when there is none. */
static int
fw_bench_spawn_info_create(const struct fw_bench_spawn_opts *o,
                           fw_info_t **info_p)
{
    char key[FW_BENCH_SPAWN_MAX_KEY];
    fw_info_t *info;
    fw_status_t st;
    const char *eq;
    int i;

    *info_p = NULL;
    if (o->ninfo == 0)
        return 0;
    info = fw_info_create();
    if (info == NULL) {
        fprintf(stderr, "fw_bench_spawn: fw_info_create failed: out of "
                "memory\n");
        return 1;
    }
    for (i = 0; i < o->ninfo; i++) {
        eq = strchr(o->info[i], '=');
        if ((size_t)(eq - o->info[i]) >= sizeof(key)) {
            fprintf(stderr, "fw_bench_spawn: --info key too long\n");
            fw_info_free(info);
            return 1;
        }
        memcpy(key, o->info[i], (size_t)(eq - o->info[i]));
        key[eq - o->info[i]] = '\0';
        st = fw_info_set(info, key, eq + 1);
        if (st != FW_SUCCESS) {
            fprintf(stderr, "fw_bench_spawn: fw_info_set(%s) failed: %s\n",
                    key, fw_strerror(st));
            fw_info_free(info);
            return 1;
        }
    }
    *info_p = info;
    return 0;
}

static int
fw_bench_spawn_first_error(const int *errcodes, int k)
{
    int c;

    for (c = 0; c < k; c++)
        if (errcodes[c] != FW_SUCCESS)
            return c;
    return -1;
}

/* The parents: S x (fence, spawn, round trips at rank 0, disconnect). */
static int
fw_bench_spawn_parents(const struct fw_bench_spawn_opts *o)
{
    static char child_flag[] = "--child";
    char *child_argv[] = {child_flag, NULL};
    char self[PATH_MAX];
    fw_comm_t *world, *inter = NULL;
    fw_info_t *info = NULL;
    int *errcodes = NULL;
    int rank, size, s, bad, rc = 1;
    double t0, t1, t2;
    fw_status_t st;
    ssize_t len;

    len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (len <= 0) {
        perror("fw_bench_spawn: readlink /proc/self/exe");
        return 1;
    }
    self[len] = '\0';
    world = fw_comm_world();
    rank = fw_comm_rank(world);
    size = fw_comm_size(world);
    if (world == NULL || rank < 0 || size < 1) {
        fprintf(stderr, "fw_bench_spawn: fw_comm_world gave no world\n");
        return 1;
    }
    errcodes = calloc((size_t)o->children, sizeof(*errcodes));
    if (errcodes == NULL) {
        perror("fw_bench_spawn: calloc");
        return 1;
    }
    if (fw_bench_spawn_info_create(o, &info) != 0)
        goto out_free;
    /* MPI parents open their transports in MPI_Init, before the
     * baseline's timed loop; fabwire opens the endpoint at the first call
     * that needs it: open it here, untimed, and report what it cost */
    t0 = fw_bench_spawn_now_ms();
    if (fw_fabric_provider() == NULL) {
        fprintf(stderr, "fw_bench_spawn: fw_fabric_provider failed: "
                "cannot open the fabric endpoint\n");
        goto out_free_info;
    }
    if (rank == 0) {
        printf("{\"parents\":%d,\"ep_open_ms\":%.4f}\n", size,
               fw_bench_spawn_now_ms() - t0);
        fflush(stdout);
    }
    for (s = 0; s < o->spawns; s++) {
        st = fw_fence();
        if (st != FW_SUCCESS) {
            rc = fw_bench_spawn_fail("fw_fence", st);
            goto out_free_info;
        }
        t0 = fw_bench_spawn_now_ms();
        st = fw_spawn(self, child_argv, o->children, info, 0, world, &inter,
                      errcodes);
        if (st != FW_SUCCESS) {
            rc = fw_bench_spawn_fail("fw_spawn", st);
            bad = fw_bench_spawn_first_error(errcodes, o->children);
            if (bad >= 0)
                fprintf(stderr, "fw_bench_spawn: child %d: %s\n", bad,
                        fw_strerror((fw_status_t)errcodes[bad]));
            if (st == FW_ERR_UNSUPPORTED)
                rc = 77;
            goto out_free_info;
        }
        if (rank == 0) {
            if (fw_bench_spawn_round_trips(inter, o->children, &t1) != 0)
                goto out_disconnect;
            t2 = fw_bench_spawn_now_ms();
            printf("{\"sample\":%d,\"parents\":%d,\"children\":%d,"
                   "\"first_ms\":%.4f,\"all_ms\":%.4f}\n",
                   s, size, o->children, t1 - t0, t2 - t0);
            fflush(stdout);
        }
        st = fw_comm_disconnect(&inter);
        if (st != FW_SUCCESS) {
            rc = fw_bench_spawn_fail("fw_comm_disconnect", st);
            goto out_free_info;
        }
    }
    rc = 0;
    goto out_free_info;

out_disconnect:
    st = fw_comm_disconnect(&inter);
    if (st != FW_SUCCESS)
        fw_bench_spawn_fail("fw_comm_disconnect (after an error)", st);
out_free_info:
    if (info != NULL)
        fw_info_free(info);
out_free:
    free(errcodes);
    return rc;
}

int
main(int argc, char **argv)
{
    struct fw_bench_spawn_opts o;
    struct sigaction sa;
    fw_status_t st;
    int rc;

    if (fw_bench_spawn_parse(argc, argv, &o) != 0)
        return 2;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fw_bench_spawn_on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    st = fw_init(&argc, &argv);
    if (st != FW_SUCCESS)
        return fw_bench_spawn_fail("fw_init", st);
    rc = o.child ? fw_bench_spawn_child() : fw_bench_spawn_parents(&o);
    st = fw_finalize();
    if (st != FW_SUCCESS) {
        fw_bench_spawn_fail("fw_finalize", st);
        return 1;
    }
    return rc;
}
