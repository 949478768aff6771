/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fw-bench-floor: the fork/exec floor of a launch. Start N copies of a
 * program (default /bin/true) the way a launcher does - all N forked and
 * exec'd first, then all N waited for - and time it; repeat R times.
 * Prints one JSON object per repetition and one summary object (see
 * bench/README.md, "sample lines").
 *
 *   fw-bench-floor [-n N] [-r R] [-m fork|vfork] [-- PROGRAM [ARGS...]]
 */
#define _GNU_SOURCE

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/****************/
/* Local Macros */
/****************/

#define FW_BENCH_FLOOR_MAX_N (1 << 16)
#define FW_BENCH_FLOOR_MAX_R 100000

/****************/
/* Local Types  */
/****************/

enum fw_bench_floor_method {
    FW_BENCH_FLOOR_FORK,
    FW_BENCH_FLOOR_VFORK,
};

struct fw_bench_floor_opts {
    long n;
    long reps;
    enum fw_bench_floor_method method;
    char **argv; /* program and arguments, NULL-terminated */
};

/*******************/
/* Local Variables */
/*******************/

static char *fw_bench_floor_default_argv[] = {"/bin/true", NULL};

static const char fw_bench_floor_usage[] =
    "usage: fw-bench-floor [-n N] [-r R] [-m fork|vfork] [-- PROGRAM ARGS]\n"
    "  -n N   processes per repetition (default 1)\n"
    "  -r R   repetitions (default 5)\n"
    "  -m M   fork (default) or vfork before exec\n"
    "  PROGRAM defaults to /bin/true; it must exit 0\n"
    "Prints {\"sample\":i,\"n\":N,\"wall_ms\":t} per repetition, then a\n"
    "summary object, as JSON lines on stdout.\n";

/*******************/
/* Local Functions */
/*******************/

static double
fw_bench_floor_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
fw_bench_floor_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static int
fw_bench_floor_long(const char *s, long min, long max, long *out_p)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (s[0] == '\0' || errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out_p = v;
    return 0;
}

static int
fw_bench_floor_parse(int argc, char **argv, struct fw_bench_floor_opts *o)
{
    int c;

    o->n = 1;
    o->reps = 5;
    o->method = FW_BENCH_FLOOR_FORK;
    o->argv = fw_bench_floor_default_argv;
    while ((c = getopt(argc, argv, "+n:r:m:h")) != -1) {
        switch (c) {
        case 'n':
            if (fw_bench_floor_long(optarg, 1, FW_BENCH_FLOOR_MAX_N,
                                    &o->n) != 0)
                goto bad;
            break;
        case 'r':
            if (fw_bench_floor_long(optarg, 1, FW_BENCH_FLOOR_MAX_R,
                                    &o->reps) != 0)
                goto bad;
            break;
        case 'm':
            if (strcmp(optarg, "fork") == 0)
                o->method = FW_BENCH_FLOOR_FORK;
            else if (strcmp(optarg, "vfork") == 0)
                o->method = FW_BENCH_FLOOR_VFORK;
            else
                goto bad;
            break;
        case 'h':
            fputs(fw_bench_floor_usage, stdout);
            return 1;
        default:
            goto usage;
        }
    }
    if (optind < argc)
        o->argv = argv + optind;
    return 0;
bad:
    fprintf(stderr, "fw-bench-floor: option -%c: invalid value '%s'\n", c,
            optarg);
usage:
    fputs(fw_bench_floor_usage, stderr);
    return -1;
}

/* Start one copy. The vfork child only calls execv/_exit, and does it in
 * this function, which keeps the caller's locals out of its reach. */
static pid_t
fw_bench_floor_start(const struct fw_bench_floor_opts *o)
{
    pid_t pid = o->method == FW_BENCH_FLOOR_VFORK ? vfork() : fork();

    if (pid == 0) {
        execv(o->argv[0], o->argv);
        _exit(127);
    }
    return pid;
}

/* One repetition: start n children, then wait for all of them. On a
 * fork failure the children already started are killed and reaped. */
static int
fw_bench_floor_once(const struct fw_bench_floor_opts *o, pid_t *pids,
                    double *ms_p)
{
    double t0, t1;
    long i, started = 0, bad = 0;
    int st, rc = 0;
    pid_t pid;

    t0 = fw_bench_floor_now_ms();
    for (i = 0; i < o->n; i++) {
        pid = fw_bench_floor_start(o);
        if (pid < 0) {
            fprintf(stderr, "fw-bench-floor: fork %ld of %ld: %s\n", i + 1,
                    o->n, strerror(errno));
            rc = -1;
            break;
        }
        pids[started++] = pid;
    }
    if (rc != 0)
        for (i = 0; i < started; i++)
            kill(pids[i], SIGKILL);
    for (i = 0; i < started; i++) {
        while (waitpid(pids[i], &st, 0) < 0) {
            if (errno != EINTR) {
                fprintf(stderr, "fw-bench-floor: waitpid: %s\n",
                        strerror(errno));
                return -1;
            }
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad++;
    }
    t1 = fw_bench_floor_now_ms();
    if (rc == 0 && bad > 0) {
        fprintf(stderr, "fw-bench-floor: %ld of %ld copies of %s failed "
                "(127: cannot execute)\n", bad, o->n, o->argv[0]);
        rc = -1;
    }
    if (rc == 0)
        *ms_p = t1 - t0;
    return rc;
}

static void
fw_bench_floor_json_str(const char *s)
{
    putchar('"');
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", (unsigned char)*s);
        else
            putchar(*s);
    }
    putchar('"');
}

int
main(int argc, char **argv)
{
    struct fw_bench_floor_opts o;
    double *ms = NULL, *sorted = NULL, med;
    pid_t *pids = NULL;
    int rc = 1;
    long r;

    switch (fw_bench_floor_parse(argc, argv, &o)) {
    case 0:
        break;
    case 1:
        return 0;
    default:
        return 2;
    }
    pids = calloc((size_t)o.n, sizeof(*pids));
    ms = calloc((size_t)o.reps, sizeof(*ms));
    sorted = calloc((size_t)o.reps, sizeof(*sorted));
    if (pids == NULL || ms == NULL || sorted == NULL) {
        fprintf(stderr, "fw-bench-floor: out of memory\n");
        goto out;
    }
    for (r = 0; r < o.reps; r++) {
        if (fw_bench_floor_once(&o, pids, &ms[r]) != 0)
            goto out;
        printf("{\"sample\":%ld,\"n\":%ld,\"wall_ms\":%.4f}\n", r, o.n, ms[r]);
        fflush(stdout);
    }
    memcpy(sorted, ms, (size_t)o.reps * sizeof(*ms));
    qsort(sorted, (size_t)o.reps, sizeof(*sorted), fw_bench_floor_cmp);
    med = o.reps % 2 ? sorted[o.reps / 2]
                     : (sorted[o.reps / 2 - 1] + sorted[o.reps / 2]) / 2;
    printf("{\"n\":%ld,\"reps\":%ld,\"method\":\"%s\",\"program\":", o.n,
           o.reps, o.method == FW_BENCH_FLOOR_VFORK ? "vfork" : "fork");
    fw_bench_floor_json_str(o.argv[0]);
    printf(",\"median_ms\":%.4f,\"min_ms\":%.4f,\"max_ms\":%.4f}\n", med,
           sorted[0], sorted[o.reps - 1]);
    rc = 0;
out:
    free(pids);
    free(ms);
    free(sorted);
    return rc;
}
