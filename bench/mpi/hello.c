/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MPI launch baseline: MPI_Init + MPI_Finalize, nothing else. With
 * --report-init, rank 0 also prints the slowest rank's MPI_Init time
 * (main() entry to MPI_Init return) as a fw-bench sample line.
 * Built by fw-bench with mpicc (Open MPI) or mpicc.mpich at run time.
 */
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double
fw_bench_mpi_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
    double t0 = fw_bench_mpi_now_ms(), init_ms, max_ms = 0;
    int rank = 0, size = 1;

    MPI_Init(&argc, &argv);
    init_ms = fw_bench_mpi_now_ms() - t0;
    if (argc > 1 && strcmp(argv[1], "--report-init") == 0) {
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        MPI_Reduce(&init_ms, &max_ms, 1, MPI_DOUBLE, MPI_MAX, 0,
                   MPI_COMM_WORLD);
        if (rank == 0)
            printf("{\"sample\":0,\"n\":%d,\"init_ms\":%.4f}\n", size, max_ms);
    }
    MPI_Finalize();
    return 0;
}
