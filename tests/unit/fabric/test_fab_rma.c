/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RMA read between two processes: a forked target that only sleeps in
 * poll() on its wait fd (10 ms fallback without one) and calls
 * fw_fab_progress() when woken, and an initiator that reads its
 * registered buffer (blocking and non-blocking). Also checks the target
 * does not spin while idle, and reports read latency.
 * Usage: test_fab_rma <provider>
 */
#include "fab_test.h"

#include <stdlib.h>

#define RMA_REGION (1024 * 1024)
#define RMA_LAT_ITERS 1000

/* pattern byte of the target region at offset i */
static uint8_t
rma_pattern(size_t i)
{
    return (uint8_t)((i * 131u) ^ (i >> 8));
}

/*---------------------------------------------------------------------------*/
/* Target side: serve reads from an event loop; answer 's' with the loop
 * count, quit on 'q'. Returns the exit code. */
static int
rma_target_loop(fw_fab_t *fab, int cmd_fd, int reply_fd)
{
    struct pollfd pfd[2];
    uint64_t loops = 0;
    int fd = fw_fab_wait_fd(fab), timeout, n;
    char cmd;

    for (;;) {
        if (fw_fab_progress(fab, NULL) != FW_SUCCESS)
            return 3;
        timeout = fd < 0 ? 10 : -1;
        if (fd >= 0 && fw_fab_trywait(fab) != FW_SUCCESS)
            timeout = 0;
        pfd[0].fd = cmd_fd;
        pfd[0].events = POLLIN;
        pfd[1].fd = fd;
        pfd[1].events = POLLIN;
        n = poll(pfd, fd >= 0 ? 2 : 1, timeout);
        loops++;
        if (n < 0 && errno != EINTR)
            return 4;
        if (n <= 0 || (pfd[0].revents & (POLLIN | POLLHUP)) == 0)
            continue;
        if (read(cmd_fd, &cmd, 1) != 1 || cmd == 'q')
            return 0;
        if (cmd == 's' && fw_write_all(reply_fd, &loops, 8) != 0)
            return 5;
    }
}

/*---------------------------------------------------------------------------*/
static int
rma_target(const char *prov, int cmd_fd, int reply_fd)
{
    uint8_t *region = malloc(RMA_REGION);
    fw_fab_rkey_t rkey;
    fw_fab_mr_t *mr = NULL;
    fw_fab_t *fab;
    fw_buf_t b;
    size_t i;
    int rc = 1;

    fab = fab_test_open(prov);
    if (fab == NULL || region == NULL)
        goto out;
    for (i = 0; i < RMA_REGION; i++)
        region[i] = rma_pattern(i);
    if (fw_fab_mr_reg(fab, region, RMA_REGION, FW_FAB_MR_REMOTE_READ, &mr) !=
            FW_SUCCESS ||
        fw_fab_mr_desc_get(mr, &rkey) != FW_SUCCESS)
        goto out;
    fw_buf_init(&b);
    if (fw_fab_rkey_pack(&rkey, &b) != FW_SUCCESS ||
        fab_test_send_addr(reply_fd, fab) != 0 ||
        fab_test_send_blob(reply_fd, b.data, b.len) != 0) {
        fw_buf_cleanup(&b);
        goto out;
    }
    fw_buf_cleanup(&b);
    rc = rma_target_loop(fab, cmd_fd, reply_fd);
out:
    fw_fab_mr_dereg(mr);
    fw_fab_close(fab);
    free(region);
    return rc;
}

/*---------------------------------------------------------------------------*/
static int
rma_check(const uint8_t *buf, size_t off, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (buf[i] != rma_pattern(off + i))
            return 0;
    }
    return 1;
}

static int rma_cb_count;
static fw_fab_cmpl_t rma_cb_cmpl;

static void
rma_cb(const fw_fab_cmpl_t *cmpl, void *arg)
{
    rma_cb_count++;
    rma_cb_cmpl = *cmpl;
    *(int *)arg = 1;
}

/*---------------------------------------------------------------------------*/
static void
rma_test_nb(fw_fab_t *fab, uint64_t peer, const fw_fab_rkey_t *rkey)
{
    uint8_t buf[256];
    uint64_t start = fw_time_ns();
    int done = 0;

    rma_cb_count = 0;
    is(fw_fab_read_nb(fab, peer, buf, sizeof(buf), rkey, 1000, rma_cb, &done),
       FW_SUCCESS, "read_nb posts");
    is(rma_cb_count, 0, "read_nb callback does not run inside the post");
    while (!done && fab_test_elapsed_ms(start) < 5000)
        fw_fab_progress(fab, NULL);
    is(rma_cb_count, 1, "read_nb callback ran exactly once from progress");
    is(rma_cb_cmpl.status, FW_SUCCESS, "read_nb completed successfully");
    is(rma_cb_cmpl.len, sizeof(buf), "read_nb length");
    ok(rma_check(buf, 1000, sizeof(buf)), "read_nb data matches");
    is(fw_fab_read_nb(fab, peer, buf, sizeof(buf), rkey, 0, NULL, NULL),
       FW_ERR_BAD_PARAM, "read_nb without callback is rejected");
}

/*---------------------------------------------------------------------------*/
static void
rma_test_reads(fw_fab_t *fab, uint64_t peer, const fw_fab_rkey_t *rkey)
{
    uint8_t *big = malloc(RMA_REGION);
    uint8_t small[8], mid[4096];
    fw_fab_mr_t *lmr = NULL;

    is(fw_fab_read(fab, peer, small, sizeof(small), rkey, 0, 5000),
       FW_SUCCESS, "blocking read of 8 bytes");
    ok(rma_check(small, 0, sizeof(small)), "8-byte read data matches");
    is(fw_fab_read(fab, peer, mid, sizeof(mid), rkey, 12345, 5000),
       FW_SUCCESS, "blocking read of 4 KiB at an offset");
    ok(rma_check(mid, 12345, sizeof(mid)), "offset read data matches");
    ok(big != NULL, "allocated 1 MiB");
    if (big != NULL) {
        is(fw_fab_read(fab, peer, big, RMA_REGION, rkey, 0, 10000),
           FW_SUCCESS, "blocking read of the whole 1 MiB region");
        ok(rma_check(big, 0, RMA_REGION), "1 MiB read data matches");
        memset(big, 0, 65536);
        is(fw_fab_mr_reg(fab, big, 65536, FW_FAB_MR_LOCAL, &lmr), FW_SUCCESS,
           "register a local destination buffer");
        is(fw_fab_read(fab, peer, big + 100, 5000, rkey, 777, 5000),
           FW_SUCCESS, "read into a registered local buffer");
        ok(rma_check(big + 100, 777, 5000), "registered-buffer read matches");
        fw_fab_mr_dereg(lmr);
    }
    is(fw_fab_read(fab, peer, small, sizeof(small), rkey, RMA_REGION - 4,
                   1000),
       FW_ERR_BAD_PARAM, "read past the end of the region is rejected");
    is(fw_fab_read(fab, peer, small, 0, rkey, 0, 1000), FW_ERR_BAD_PARAM,
       "zero-length read is rejected");
    is(fw_fab_read(NULL, peer, small, 8, rkey, 0, 1000), FW_ERR_BAD_PARAM,
       "read on NULL fab is rejected");
    free(big);
}

/*---------------------------------------------------------------------------*/
static void
rma_test_latency(fw_fab_t *fab, uint64_t peer, const fw_fab_rkey_t *rkey,
                 const char *prov)
{
    uint8_t buf[8];
    uint64_t start;
    int i, fails = 0;

    /* bounded in time too: a loaded host must not turn this into minutes */
    start = fw_time_ns();
    for (i = 0; i < RMA_LAT_ITERS && fab_test_elapsed_ms(start) < 2000; i++)
        fails += fw_fab_read(fab, peer, buf, sizeof(buf), rkey, 64, 5000) !=
                 FW_SUCCESS;
    is(fails, 0, "%d reads of 8 bytes all succeed", i);
    diag("latency: %s 8-byte fw_fab_read round trip %.2f us over %d reads "
         "(target idle in poll)",
         prov, fab_test_elapsed_ms(start) * 1000.0 / (i > 0 ? i : 1), i);
}

/*---------------------------------------------------------------------------*/
static uint64_t
rma_target_loops(int cmd_fd, int reply_fd)
{
    uint64_t loops = UINT64_MAX;

    if (fw_write_all(cmd_fd, "s", 1) != 0 ||
        fab_test_read_all(reply_fd, &loops, 8, 5000) != 0)
        return UINT64_MAX;
    return loops;
}

/*---------------------------------------------------------------------------*/
static void
rma_initiator(const char *prov, int cmd_fd, int reply_fd)
{
    uint8_t packed[FW_FAB_RKEY_PACKED_MAX];
    uint64_t peer = 0, before, after;
    fw_fab_rkey_t rkey;
    fw_fab_t *fab;
    fw_rbuf_t r;
    long n;

    fab = fab_test_open(prov);
    ok(fab != NULL, "initiator opens %s", prov);
    if (fab == NULL)
        return;
    ok(fab_test_recv_peer(reply_fd, fab, &peer) == 0,
       "target address received and inserted");
    n = fab_test_recv_blob(reply_fd, packed, sizeof(packed), 10000);
    ok(n > 0, "packed rkey received");
    fw_rbuf_init(&r, packed, n > 0 ? (size_t)n : 0);
    is(fw_fab_rkey_unpack(&r, &rkey), FW_SUCCESS, "rkey unpacks");
    if (n > 0) {
        rma_test_reads(fab, peer, &rkey);
        rma_test_nb(fab, peer, &rkey);
        rma_test_latency(fab, peer, &rkey, prov);
    }
    before = rma_target_loops(cmd_fd, reply_fd);
    usleep(300000);
    after = rma_target_loops(cmd_fd, reply_fd);
    diag("target loop iterations: %llu after the reads, %llu while idle "
         "300 ms",
         (unsigned long long)before, (unsigned long long)(after - before));
    ok(after != UINT64_MAX && after - before <= 45,
       "idle target sleeps instead of spinning");
    fw_fab_close(fab);
}

/*---------------------------------------------------------------------------*/
int
main(int argc, char **argv)
{
    const char *prov = fab_test_provider(argc, argv);
    int cmd[2], reply[2], rc;
    pid_t pid;

    fab_test_alarm();
    fab_test_require(prov);
    if (pipe(cmd) != 0 || pipe(reply) != 0)
        return 1;
    fflush(stdout);
    pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        close(cmd[1]);
        close(reply[0]);
        _exit(rma_target(prov, cmd[0], reply[1]));
    }
    close(cmd[0]);
    close(reply[1]);
    rma_initiator(prov, cmd[1], reply[0]);
    if (fw_write_all(cmd[1], "q", 1) != 0)
        diag("target gone before quit");
    rc = fab_test_reap(pid, 5000);
    is(rc, 0, "target exits cleanly");
    return fw_test_done();
}
