/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MPI_Comm_spawn baseline, the equivalent of bench/fw_bench_spawn:
 * P parent ranks (the job's size) collectively spawn K children of this
 * same program, S times. Per spawn, the parent root prints the time from
 * just before MPI_Comm_spawn until a 4-byte round trip with child 0
 * (first_ms) and until a round trip with every child (all_ms: the pings
 * to children 1..K-1 all go out before their answers are read).
 *
 *   spawn [--children K] [--spawns S]
 */
#include <mpi.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FW_BENCH_TAG_PING 1
#define FW_BENCH_TAG_PONG 2

static double
fw_bench_mpi_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A spawned child: answer the root's ping, then leave. */
static int
fw_bench_spawn_child(MPI_Comm parent)
{
    char buf[4];

    MPI_Recv(buf, 4, MPI_CHAR, 0, FW_BENCH_TAG_PING, parent,
             MPI_STATUS_IGNORE);
    MPI_Send(buf, 4, MPI_CHAR, 0, FW_BENCH_TAG_PONG, parent);
    MPI_Comm_disconnect(&parent);
    MPI_Finalize();
    return 0;
}

static void
fw_bench_spawn_pingpong(MPI_Comm inter, int child)
{
    char buf[4] = {'p', 'i', 'n', 'g'};

    MPI_Send(buf, 4, MPI_CHAR, child, FW_BENCH_TAG_PING, inter);
    MPI_Recv(buf, 4, MPI_CHAR, child, FW_BENCH_TAG_PONG, inter,
             MPI_STATUS_IGNORE);
}

/* Round trips with children 1..K-1, overlapped as in fw_bench_spawn: every
 * ping sent (eager, 4 bytes) before the first answer is read. */
static void
fw_bench_spawn_pingpong_rest(MPI_Comm inter, int k)
{
    char buf[4] = {'p', 'i', 'n', 'g'};
    int c;

    for (c = 1; c < k; c++)
        MPI_Send(buf, 4, MPI_CHAR, c, FW_BENCH_TAG_PING, inter);
    for (c = 1; c < k; c++)
        MPI_Recv(buf, 4, MPI_CHAR, c, FW_BENCH_TAG_PONG, inter,
                 MPI_STATUS_IGNORE);
}

int
main(int argc, char **argv)
{
    int k = 1, spawns = 5, rank, size, s, i;
    char self[PATH_MAX];
    MPI_Comm parent, inter;
    double t0, t1, t2;
    ssize_t len;

    MPI_Init(&argc, &argv);
    MPI_Comm_get_parent(&parent);
    if (parent != MPI_COMM_NULL)
        return fw_bench_spawn_child(parent);
    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--children") == 0)
            k = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--spawns") == 0)
            spawns = atoi(argv[i + 1]);
    }
    if (k < 1 || spawns < 1) {
        fprintf(stderr, "usage: spawn [--children K] [--spawns S]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (len <= 0) {
        perror("spawn: readlink /proc/self/exe");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    self[len] = '\0';
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (s = 0; s < spawns; s++) {
        MPI_Barrier(MPI_COMM_WORLD);
        t0 = fw_bench_mpi_now_ms();
        MPI_Comm_spawn(self, MPI_ARGV_NULL, k, MPI_INFO_NULL, 0,
                       MPI_COMM_WORLD, &inter, MPI_ERRCODES_IGNORE);
        if (rank == 0) {
            fw_bench_spawn_pingpong(inter, 0);
            t1 = fw_bench_mpi_now_ms();
            fw_bench_spawn_pingpong_rest(inter, k);
            t2 = fw_bench_mpi_now_ms();
            printf("{\"sample\":%d,\"parents\":%d,\"children\":%d,"
                   "\"first_ms\":%.4f,\"all_ms\":%.4f}\n",
                   s, size, k, t1 - t0, t2 - t0);
            fflush(stdout);
        }
        MPI_Comm_disconnect(&inter);
    }
    MPI_Finalize();
    return 0;
}
