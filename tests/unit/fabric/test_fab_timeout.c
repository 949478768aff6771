/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bounded failures on one provider: a read from a peer that has exited,
 * a read from a peer that is stopped (SIGSTOP, never progresses), a
 * receive nobody sends to; each must return within its timeout, and the
 * endpoint must still work afterwards (a read of our own region).
 * Usage: test_fab_timeout <provider>
 */
#include "fab_test.h"

#include <stdlib.h>

#define TMO_REGION 4096

typedef struct tmo_peer {
    pid_t pid;
    uint8_t addr[FW_FAB_ADDR_MAX];
    size_t addr_len;
    fw_fab_rkey_t rkey;
} tmo_peer_t;

/*---------------------------------------------------------------------------*/
/* Child: publish address and rkey, then exit or stop. */
static int
tmo_child(const char *prov, int out_fd, int stop)
{
    static uint8_t region[TMO_REGION];
    fw_fab_mr_t *mr = NULL;
    fw_fab_rkey_t rk;
    fw_fab_t *fab;
    fw_buf_t b;
    int rc = 1;

    fab = fab_test_open(prov);
    if (fab == NULL ||
        fw_fab_mr_reg(fab, region, sizeof(region), FW_FAB_MR_REMOTE_READ,
                      &mr) != FW_SUCCESS ||
        fw_fab_mr_desc_get(mr, &rk) != FW_SUCCESS)
        goto out;
    fw_buf_init(&b);
    fw_fab_rkey_pack(&rk, &b);
    if (fab_test_send_addr(out_fd, fab) == 0 &&
        fab_test_send_blob(out_fd, b.data, b.len) == 0)
        rc = 0;
    fw_buf_cleanup(&b);
    if (stop && rc == 0)
        raise(SIGSTOP);
out:
    fw_fab_mr_dereg(mr);
    fw_fab_close(fab);
    return rc;
}

/*---------------------------------------------------------------------------*/
static int
tmo_spawn(const char *prov, int stop, tmo_peer_t *p)
{
    uint8_t packed[FW_FAB_RKEY_PACKED_MAX];
    fw_rbuf_t r;
    int fds[2];
    long n;

    if (pipe(fds) != 0)
        return -1;
    fflush(stdout);
    p->pid = fork();
    if (p->pid == 0)
        _exit(tmo_child(prov, fds[1], stop));
    close(fds[1]);
    n = fab_test_recv_blob(fds[0], p->addr, sizeof(p->addr), 10000);
    p->addr_len = n > 0 ? (size_t)n : 0;
    n = n > 0 ? fab_test_recv_blob(fds[0], packed, sizeof(packed), 10000)
              : -1;
    close(fds[0]);
    fw_rbuf_init(&r, packed, n > 0 ? (size_t)n : 0);
    if (p->pid < 0 || n <= 0 || fw_fab_rkey_unpack(&r, &p->rkey) != FW_SUCCESS)
        return -1;
    return 0;
}

/*---------------------------------------------------------------------------*/
static void
tmo_test_gone(fw_fab_t *fab, tmo_peer_t *p)
{
    uint8_t buf[64];
    uint64_t peer, start;
    fw_status_t st;

    start = fw_time_ns();
    st = fw_fab_av_insert(fab, p->addr, p->addr_len, &peer);
    if (st == FW_SUCCESS)
        st = fw_fab_read(fab, peer, buf, sizeof(buf), &p->rkey, 0, 2000);
    diag("read from an exited peer: %s after %.0f ms", fw_strerror(st),
         fab_test_elapsed_ms(start));
    ok(st != FW_SUCCESS, "read from an exited peer fails");
    ok(fab_test_elapsed_ms(start) < 4000, "and returns within the timeout");
}

/*---------------------------------------------------------------------------*/
static void
tmo_test_stopped(fw_fab_t *fab, tmo_peer_t *p, const char *prov)
{
    uint8_t buf[64];
    uint64_t peer, start;
    fw_status_t st;

    start = fw_time_ns();
    st = fw_fab_av_insert(fab, p->addr, p->addr_len, &peer);
    if (st == FW_SUCCESS)
        st = fw_fab_read(fab, peer, buf, sizeof(buf), &p->rkey, 0, 1000);
    diag("read from a stopped peer: %s after %.0f ms", fw_strerror(st),
         fab_test_elapsed_ms(start));
    if (strcmp(prov, "tcp") == 0)
        is(st, FW_ERR_TIMEOUT, "tcp read from a stopped peer times out");
    else
        ok(st == FW_SUCCESS || st == FW_ERR_TIMEOUT,
           "read from a stopped peer succeeds one-sidedly or times out");
    ok(fab_test_elapsed_ms(start) < 3000, "and returns within the timeout");
    kill(p->pid, SIGKILL);
    fab_test_reap(p->pid, 2000);
    fw_fab_shm_sweep(p->pid); /* a SIGKILLed peer leaves its shm region */
}

/*---------------------------------------------------------------------------*/
static void
tmo_test_self(fw_fab_t *fab)
{
    static uint8_t region[TMO_REGION];
    uint8_t addr[FW_FAB_ADDR_MAX], buf[32];
    size_t len = sizeof(addr), i;
    uint64_t self, start;
    fw_fab_mr_t *mr = NULL;
    fw_fab_rkey_t rk;
    char c;

    start = fw_time_ns();
    is(fw_fab_trecv(fab, 0xdead, 0, &c, 1, NULL, NULL, 200), FW_ERR_TIMEOUT,
       "trecv with no sender times out");
    ok(fab_test_elapsed_ms(start) >= 150 && fab_test_elapsed_ms(start) < 3000,
       "after about 200 ms (%.0f)", fab_test_elapsed_ms(start));
    for (i = 0; i < sizeof(region); i++)
        region[i] = (uint8_t)i;
    fw_fab_addr_get(fab, addr, &len);
    ok(fw_fab_av_insert(fab, addr, len, &self) == FW_SUCCESS &&
           fw_fab_mr_reg(fab, region, sizeof(region), FW_FAB_MR_REMOTE_READ,
                         &mr) == FW_SUCCESS &&
           fw_fab_mr_desc_get(mr, &rk) == FW_SUCCESS,
       "register our own region");
    is(fw_fab_read(fab, self, buf, sizeof(buf), &rk, 100, 5000), FW_SUCCESS,
       "the endpoint still reads after the timeouts");
    is(buf[0], 100, "self read data");
    fw_fab_mr_dereg(mr);
}

/*---------------------------------------------------------------------------*/
int
main(int argc, char **argv)
{
    const char *prov = fab_test_provider(argc, argv);
    tmo_peer_t gone = {0}, stopped = {0};
    int gone_ok, stopped_ok;
    fw_fab_t *fab;

    fab_test_alarm();
    fab_test_require(prov);
    /* children first: none may inherit an endpoint */
    gone_ok = tmo_spawn(prov, 0, &gone) == 0;
    ok(gone_ok, "first peer published its region");
    ok(gone.pid > 0 && fab_test_reap(gone.pid, 5000) == 0,
       "first peer exited");
    stopped_ok = tmo_spawn(prov, 1, &stopped) == 0;
    ok(stopped_ok, "second peer published its region and stops");

    fab = fab_test_open(prov);
    ok(fab != NULL, "open %s", prov);
    if (fab != NULL && gone_ok)
        tmo_test_gone(fab, &gone);
    if (fab != NULL && stopped_ok)
        tmo_test_stopped(fab, &stopped, prov);
    else if (stopped.pid > 0) {
        kill(stopped.pid, SIGKILL);
        fab_test_reap(stopped.pid, 2000);
        fw_fab_shm_sweep(stopped.pid);
    }
    if (fab != NULL)
        tmo_test_self(fab);
    fw_fab_close(fab);
    return fw_test_done();
}
