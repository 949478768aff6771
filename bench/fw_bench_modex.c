/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Modex benchmark under fwrun (contract in bench/README.md): after
 * fw_init, I rounds of put(B bytes) + commit + fence + get of that key
 * from every peer. Rank 0 prints one JSON line per round, then the job's
 * init and wireup times. A round's get_remote_ms is the first get of a
 * card on another host (one RMA read of that host's window); get_ms is
 * the time to get every peer's card; barrier_ms is a second fence right
 * after (no commit before it: the fence's own cost, without the daemon
 * taking in 64 cards first; not with --no-wireup, where it is -1).
 * On several hosts, Q quiet rounds follow: put + commit + fence, then
 * the others wait 5 ms before the next fence while rank 0 waits 2 ms
 * and alone gets one card of the first rank on the next host
 * (quiet_get_ms: a get's latency, not its throughput among 64 ranks
 * getting at once, nor queued behind the others' fence messages, nor
 * behind the others' waking from the fence on the same cores); then
 * rank 0 and that
 * rank time an 8-byte tagged ping-pong through fw_comm_send/recv
 * (rtt_ms: the provider's round trip between the two hosts, this run);
 * then Q more quiet rounds (quiet_get_ep_ms): rank 0's endpoint is now
 * open, so under FW_MODEX_REMOTE=auto it reads the window itself
 * instead of asking its daemon (quiet_get_ms).
 *   fwrun -n N fw_bench_modex [--iters I] [--bytes B] [--quiet Q]
 *                             [--no-wireup]
 * --no-wireup skips the extra round that collects wireup_ms and the quiet
 * rounds: then the program is exactly init + I x (put, commit, fence,
 * get all) + finalize.
 */
#include <fabwire.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
get_all(const fw_job_info_t *ji, const char *key, double *remote_ms)
{
    uint32_t p;
    void *v = NULL;
    size_t len = 0;
    double t;
    int seen_remote = 0;

    *remote_ms = -1;
    for (p = 0; p < ji->size; p++) {
        /* peers are visited starting after our own node's block */
        uint32_t peer = (ji->rank + ji->local_size + p) % ji->size;

        t = now_ms();
        if (fw_get(peer, key, &v, &len) != FW_SUCCESS)
            return -1;
        t = now_ms() - t;
        free(v);
        if (!seen_remote && ji->num_nodes > 1 &&
            (peer / ji->local_size) != (ji->rank / ji->local_size)) {
            *remote_ms = t;
            seen_remote = 1;
        }
    }
    return 0;
}

/* Rank 0: one remote get per round with the job otherwise idle. */
static int
quiet_gets(const fw_job_info_t *ji, uint32_t peer, int rounds,
           const char *metric)
{
    const struct timespec settle = {0, 5 * 1000 * 1000};
    const struct timespec lull = {0, 2 * 1000 * 1000};
    char key[16];
    void *v = NULL;
    size_t len = 0;
    double t;
    int r;

    for (r = 0; r < rounds; r++) {
        snprintf(key, sizeof(key), "q%d", r);
        if (fw_put(key, &r, sizeof(r)) != FW_SUCCESS ||
            fw_commit() != FW_SUCCESS || fw_fence() != FW_SUCCESS)
            return -1;
        if (ji->rank != 0) {
            /* stay out of the daemons' way while rank 0 gets: no fence
             * message queues in front of the get */
            nanosleep(&settle, NULL);
        } else {
            /* the fence released every rank at once: with many ranks
             * per core their waking and going to sleep would be timed
             * with the get; wait until they sleep. The daemons are idle
             * by then, as the floor's (an idle read) is. */
            nanosleep(&lull, NULL);
            t = now_ms();
            if (fw_get(peer, key, &v, &len) != FW_SUCCESS ||
                len != sizeof(r) || memcmp(v, &r, sizeof(r)) != 0)
                return -1;
            t = now_ms() - t;
            free(v);
            printf("{\"sample\":%d,\"%s\":%.4f}\n", r, metric, t);
        }
    }
    return fw_fence() == FW_SUCCESS ? 0 : -1;
}

/* Rank 0 <-> peer: 8-byte ping-pong over the world communicator. */
static int
pingpong(const fw_job_info_t *ji, uint32_t peer, int rounds)
{
    fw_comm_t *w = fw_comm_world();
    uint64_t msg = 0;
    size_t len;
    double t;
    int r, warm = 5;

    if (ji->rank != 0 && ji->rank != peer)
        return 0;
    for (r = -warm; r < rounds; r++) {
        t = now_ms();
        if (ji->rank == 0) {
            if (fw_comm_send(w, (int)peer, 1, &msg, sizeof(msg)) !=
                    FW_SUCCESS ||
                fw_comm_recv(w, (int)peer, 2, &msg, sizeof(msg), &len) !=
                    FW_SUCCESS)
                return -1;
        } else if (fw_comm_recv(w, 0, 1, &msg, sizeof(msg), &len) !=
                       FW_SUCCESS ||
                   fw_comm_send(w, 0, 2, &msg, sizeof(msg)) != FW_SUCCESS)
            return -1;
        t = now_ms() - t;
        msg++;
        if (ji->rank == 0 && r >= 0)
            printf("{\"sample\":%d,\"rtt_ms\":%.4f}\n", r, t);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    double t_main = now_ms(), t0, t1, t2, t3, t4, t5, rem, init_ms, wire;
    int iters = 10, bytes = 64, wireup = 1, quiet = 10, i;
    fw_job_info_t ji;
    char *buf, key[16];
    void *v;
    size_t len;
    uint32_t p;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-wireup") == 0)
            wireup = 0;
        else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
            iters = atoi(argv[++i]);
        else if (strcmp(argv[i], "--bytes") == 0 && i + 1 < argc)
            bytes = atoi(argv[++i]);
        else if (strcmp(argv[i], "--quiet") == 0 && i + 1 < argc)
            quiet = atoi(argv[++i]);
    }
    if (iters < 1 || bytes < 0 || bytes > FW_MAX_VALUE || quiet < 0)
        return 2;
    buf = calloc(1, (size_t)bytes + 1);
    if (buf == NULL || fw_init(&argc, &argv) != FW_SUCCESS ||
        fw_job_info(&ji) != FW_SUCCESS)
        return 1;
    init_ms = now_ms() - t_main;
    for (i = 0; i < iters; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        memset(buf, 'a' + (int)(ji.rank % 26), (size_t)bytes);
        t0 = now_ms();
        if (fw_put(key, buf, (size_t)bytes) != FW_SUCCESS)
            return 1;
        t1 = now_ms();
        if (fw_commit() != FW_SUCCESS)
            return 1;
        t2 = now_ms();
        if (fw_fence() != FW_SUCCESS)
            return 1;
        t3 = now_ms();
        if (get_all(&ji, key, &rem) != 0)
            return 1;
        t4 = now_ms();
        /* the barrier fence is a measure of its own, not part of the
         * program --no-wireup times */
        if (wireup && fw_fence() != FW_SUCCESS)
            return 1;
        t5 = now_ms();
        if (i == 0 && wireup) {
            /* wireup: main() to the end of round 0, slowest rank */
            wire = t4 - t_main;
            if (fw_put("wireup", &wire, sizeof(wire)) != FW_SUCCESS)
                return 1;
        }
        if (ji.rank == 0)
            printf("{\"sample\":%d,\"n\":%u,\"put_ms\":%.4f,\"commit_ms\":%.4f,"
                   "\"fence_ms\":%.4f,\"get_ms\":%.4f,\"get_remote_ms\":%.4f,"
                   "\"barrier_ms\":%.4f,\"round_ms\":%.4f}\n",
                   i, ji.size, t1 - t0, t2 - t1, t3 - t2, t4 - t3, rem,
                   wireup ? t5 - t4 : -1.0, t4 - t0);
        fflush(stdout);
    }
    /* untimed round: collect the slowest wireup */
    if (wireup && (fw_commit() != FW_SUCCESS || fw_fence() != FW_SUCCESS))
        return 1;
    if (wireup && ji.rank == 0) {
        double slowest = 0;

        for (p = 0; p < ji.size; p++) {
            if (fw_get(p, "wireup", &v, &len) != FW_SUCCESS ||
                len != sizeof(double))
                return 1;
            memcpy(&wire, v, sizeof(wire));
            free(v);
            if (wire > slowest)
                slowest = wire;
        }
        printf("{\"init_ms\":%.4f,\"wireup_ms\":%.4f}\n", init_ms, slowest);
    }
    fflush(stdout);
    /* the first rank of the next host (ranks are placed host by host) */
    if (wireup && quiet > 0 && ji.num_nodes > 1 &&
        (quiet_gets(&ji, ji.local_size, quiet, "quiet_get_ms") != 0 ||
         pingpong(&ji, ji.local_size, quiet * 5) != 0 ||
         quiet_gets(&ji, ji.local_size, quiet, "quiet_get_ep_ms") != 0))
        return 1;
    free(buf);
    return fw_finalize() == FW_SUCCESS ? 0 : 1;
}
