/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MPI_Comm_connect/MPI_Comm_accept baseline, the equivalent of
 * bench/fw_bench_connect. C cycles of connect + 4-byte round trip +
 * disconnect, each side on MPI_COMM_SELF. The connecting side prints one
 * sample line per cycle and a total line (see bench/README.md).
 *
 *   connect --accept  (--port-file F | --service NAME) [--cycles C]
 *   connect --connect (--port-file F | --service NAME) [--cycles C]
 *   connect --pair [--cycles C]      one job of 2 ranks: 0 accepts, 1 connects
 *
 * Two separate Open MPI jobs need ompi-server named on both command lines.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FW_BENCH_TAG 7
#define FW_BENCH_WAIT_MS 60000.0

enum fw_bench_connect_role { ROLE_NONE, ROLE_ACCEPT, ROLE_CONNECT, ROLE_PAIR };

static double
fw_bench_mpi_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
fw_bench_mpi_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static void
fw_bench_connect_die(const char *what)
{
    fprintf(stderr, "connect: %s\n", what);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* Errors return (set in main): any failure ends the run with its text. */
static void
fw_bench_connect_check(int rc, const char *call)
{
    char text[MPI_MAX_ERROR_STRING + 128];
    int len = 0, off;

    if (rc == MPI_SUCCESS)
        return;
    off = snprintf(text, sizeof(text), "%s failed: ", call);
    MPI_Error_string(rc, text + off, &len);
    fw_bench_connect_die(text);
}

/* Publish the port: write FILE.tmp then rename, so readers never see a
 * partial name; or MPI_Publish_name. */
static void
fw_bench_connect_publish(const char *file, const char *service,
                         const char *port)
{
    char tmp[4096];
    FILE *f;

    if (service != NULL) {
        fw_bench_connect_check(MPI_Publish_name(service, MPI_INFO_NULL,
                                                port),
                               "MPI_Publish_name");
        return;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", file);
    f = fopen(tmp, "w");
    if (f == NULL || fputs(port, f) < 0 || fclose(f) != 0 ||
        rename(tmp, file) != 0)
        fw_bench_connect_die("cannot write the port file");
}

/* Wait for the accepting side's port name (not timed). */
static void
fw_bench_connect_lookup(const char *file, const char *service, char *port)
{
    double t0 = fw_bench_mpi_now_ms();
    FILE *f;
    size_t n;

    while (fw_bench_mpi_now_ms() - t0 < FW_BENCH_WAIT_MS) {
        if (service != NULL) {
            if (MPI_Lookup_name(service, MPI_INFO_NULL, port) == MPI_SUCCESS)
                return;
        } else if ((f = fopen(file, "r")) != NULL) {
            n = fread(port, 1, MPI_MAX_PORT_NAME - 1, f);
            fclose(f);
            port[n] = '\0';
            if (n > 0)
                return;
        }
        fw_bench_mpi_sleep_ms(5);
    }
    fw_bench_connect_die("timed out waiting for the port name");
}

static void
fw_bench_connect_accept_loop(const char *port, int cycles)
{
    char buf[4];
    MPI_Comm inter;
    int k;

    for (k = 0; k < cycles; k++) {
        fw_bench_connect_check(MPI_Comm_accept(port, MPI_INFO_NULL, 0,
                                               MPI_COMM_SELF, &inter),
                               "MPI_Comm_accept");
        fw_bench_connect_check(MPI_Recv(buf, 4, MPI_CHAR, 0, FW_BENCH_TAG,
                                        inter, MPI_STATUS_IGNORE),
                               "MPI_Recv");
        fw_bench_connect_check(MPI_Send(buf, 4, MPI_CHAR, 0, FW_BENCH_TAG,
                                        inter),
                               "MPI_Send");
        fw_bench_connect_check(MPI_Comm_disconnect(&inter),
                               "MPI_Comm_disconnect");
    }
}

static void
fw_bench_connect_connect_loop(const char *port, int cycles)
{
    char buf[4] = {'p', 'i', 'n', 'g'};
    double t0, t1, t2, t3, start;
    MPI_Comm inter;
    int k;

    start = fw_bench_mpi_now_ms();
    for (k = 0; k < cycles; k++) {
        t0 = fw_bench_mpi_now_ms();
        fw_bench_connect_check(MPI_Comm_connect(port, MPI_INFO_NULL, 0,
                                                MPI_COMM_SELF, &inter),
                               "MPI_Comm_connect");
        t1 = fw_bench_mpi_now_ms();
        fw_bench_connect_check(MPI_Send(buf, 4, MPI_CHAR, 0, FW_BENCH_TAG,
                                        inter),
                               "MPI_Send");
        fw_bench_connect_check(MPI_Recv(buf, 4, MPI_CHAR, 0, FW_BENCH_TAG,
                                        inter, MPI_STATUS_IGNORE),
                               "MPI_Recv");
        t2 = fw_bench_mpi_now_ms();
        fw_bench_connect_check(MPI_Comm_disconnect(&inter),
                               "MPI_Comm_disconnect");
        t3 = fw_bench_mpi_now_ms();
        printf("{\"sample\":%d,\"connect_ms\":%.4f,\"rtt_ms\":%.4f,"
               "\"disconnect_ms\":%.4f,\"cycle_ms\":%.4f}\n",
               k, t1 - t0, t2 - t1, t3 - t2, t3 - t0);
        fflush(stdout);
    }
    printf("{\"cycles\":%d,\"total_ms\":%.4f}\n", cycles,
           fw_bench_mpi_now_ms() - start);
}

int
main(int argc, char **argv)
{
    enum fw_bench_connect_role role = ROLE_NONE;
    const char *file = NULL, *service = NULL;
    char port[MPI_MAX_PORT_NAME];
    int cycles = 20, rank = 0, i;

    MPI_Init(&argc, &argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--accept") == 0)
            role = ROLE_ACCEPT;
        else if (strcmp(argv[i], "--connect") == 0)
            role = ROLE_CONNECT;
        else if (strcmp(argv[i], "--pair") == 0)
            role = ROLE_PAIR;
        else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--service") == 0 && i + 1 < argc)
            service = argv[++i];
        else if (strcmp(argv[i], "--cycles") == 0 && i + 1 < argc)
            cycles = atoi(argv[++i]);
    }
    if (role == ROLE_NONE || cycles < 1 ||
        (role != ROLE_PAIR && (file == NULL) == (service == NULL)))
        fw_bench_connect_die("usage: connect --accept|--connect "
                             "--port-file F|--service NAME [--cycles C], "
                             "or connect --pair [--cycles C]");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (role == ROLE_PAIR) {
        /* rank 0 accepts, rank 1 connects; the port goes over WORLD */
        if (rank == 0) {
            fw_bench_connect_check(MPI_Open_port(MPI_INFO_NULL, port),
                                   "MPI_Open_port");
            MPI_Send(port, MPI_MAX_PORT_NAME, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
            fw_bench_connect_accept_loop(port, cycles);
            MPI_Close_port(port);
        } else if (rank == 1) {
            MPI_Recv(port, MPI_MAX_PORT_NAME, MPI_CHAR, 0, 0, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            fw_bench_connect_connect_loop(port, cycles);
        }
    } else if (role == ROLE_ACCEPT) {
        fw_bench_connect_check(MPI_Open_port(MPI_INFO_NULL, port),
                               "MPI_Open_port");
        fw_bench_connect_publish(file, service, port);
        fw_bench_connect_accept_loop(port, cycles);
        if (service != NULL)
            MPI_Unpublish_name(service, MPI_INFO_NULL, port);
        MPI_Close_port(port);
    } else {
        fw_bench_connect_lookup(file, service, port);
        fw_bench_connect_connect_loop(port, cycles);
    }
    MPI_Finalize();
    return 0;
}
