/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Two endpoints of one process, tcp;ofi_rxm and shm, as the dpm layer's
 * shm rail uses them (fw_fab_pair, fw_fab_trecv_or):
 *  - a blocking receive on tcp sees a message arriving on shm (its
 *    callback runs from the tcp wait) within milliseconds, not at the
 *    end of a 100 ms wait slice; unpaired, it does not run at all;
 *  - a raced receive that is stopped is cancelled cleanly: the next
 *    message of its tag goes to the next receive, not into the old one;
 *  - a raced receive whose message is already there returns it, even if
 *    stop fails at once;
 *  - closing either endpoint ends the pairing.
 */
#include "fab_test.h"

typedef struct flag {
    int done;
    fw_fab_cmpl_t cmpl;
} flag_t;

static void
flag_cb(const fw_fab_cmpl_t *cmpl, void *arg)
{
    flag_t *f = arg;

    f->done = 1;
    f->cmpl = *cmpl;
}

static fw_status_t
stop_on_flag(void *arg)
{
    return ((flag_t *)arg)->done ? FW_ERR_NOT_READY : FW_SUCCESS;
}

static fw_status_t
stop_now(void *arg)
{
    (void)arg;
    return FW_ERR_NOT_READY;
}

/* b sends "ping" (tag 5) to itself while a waits on a receive of tag 9:
 * with the pair, the shm callback stops a's wait. */
static void
pair_test_wait(fw_fab_t *t, fw_fab_t *s, uint64_t s_self, int paired)
{
    flag_t f = {0}, sent = {0};
    char buf[8] = {0};
    uint64_t t0;
    fw_status_t st;

    fw_fab_pair(t, paired ? s : NULL);
    is(fw_fab_trecv_nb(s, 5, 0, buf, sizeof(buf), flag_cb, &f), FW_SUCCESS,
       "shm: a receive of tag 5 posted");
    /* posted, not waited for: only a progress of s can complete it */
    is(fw_fab_tsend_nb(s, s_self, 5, "ping", 5, flag_cb, &sent), FW_SUCCESS,
       "shm: 'ping' posted to ourselves");
    t0 = fw_time_ns();
    st = fw_fab_trecv_or(t, 9, 0, buf, sizeof(buf), NULL, NULL,
                         paired ? 2000 : 300, stop_on_flag, &f);
    if (paired) {
        is(st, FW_ERR_NOT_READY, "paired: the tcp wait is stopped by the "
           "shm callback");
        ok(f.done && strcmp(buf, "ping") == 0, "... which got 'ping'");
        ok(fab_test_elapsed_ms(t0) < 50, "... within 50 ms (%.1f ms)",
           (double)(fw_time_ns() - t0) / 1e6);
    } else {
        is(st, FW_ERR_TIMEOUT, "unpaired: the tcp wait never sees shm");
        ok(!f.done, "... whose callback did not run");
        while (!f.done && fab_test_elapsed_ms(t0) < 3000)
            fw_fab_progress(s, NULL);
        ok(f.done, "... until shm itself is progressed");
    }
    while (!sent.done && fab_test_elapsed_ms(t0) < 3000)
        fw_fab_progress(s, NULL);
    ok(sent.done && sent.cmpl.status == FW_SUCCESS, "the send completed");
}

/* A stopped race leaves no receive behind; a waiting message wins. */
static void
pair_test_race(fw_fab_t *t, uint64_t t_self)
{
    char buf[16] = {0};
    size_t len = 0;
    uint64_t tag = 0;

    is(fw_fab_trecv_or(t, 11, 0, buf, sizeof(buf), &len, &tag, 2000,
                       stop_now, NULL),
       FW_ERR_NOT_READY, "a raced receive stopped at once: stop's error");
    is(fw_fab_tsend(t, t_self, 11, "first", 6, 1000), FW_SUCCESS,
       "then a message of its tag");
    memset(buf, 0, sizeof(buf));
    is(fw_fab_trecv(t, 11, 0, buf, sizeof(buf), &len, NULL, 2000),
       FW_SUCCESS, "a new receive gets it ...");
    ok(len == 6 && strcmp(buf, "first") == 0,
       "... whole: the cancelled receive took nothing");
    is(fw_fab_tsend(t, t_self, 12, "waiting", 8, 1000), FW_SUCCESS,
       "a message of tag 12 sent before its receive");
    memset(buf, 0, sizeof(buf));
    is(fw_fab_trecv_or(t, 12, 0, buf, sizeof(buf), &len, &tag, 2000,
                       stop_now, NULL),
       FW_SUCCESS, "a raced receive whose message is there returns it");
    ok(len == 8 && tag == 12 && strcmp(buf, "waiting") == 0,
       "... 'waiting', tag 12");
}

static int
self_peer(fw_fab_t *f, uint64_t *peer)
{
    uint8_t a[FW_FAB_ADDR_MAX];
    size_t alen = sizeof(a);

    return fw_fab_addr_get(f, a, &alen) == FW_SUCCESS &&
                   fw_fab_av_insert(f, a, alen, peer) == FW_SUCCESS
               ? 0
               : -1;
}

int
main(void)
{
    fw_fab_t *t, *s;
    uint64_t t_self = 0, s_self = 0;

    fab_test_alarm();
    fab_test_require("tcp");
    fab_test_require("shm");
    t = fab_test_open("tcp");
    s = fab_test_open("shm");
    ok(t != NULL && s != NULL, "a tcp and an shm endpoint");
    if (t == NULL || s == NULL || self_peer(t, &t_self) != 0 ||
        self_peer(s, &s_self) != 0)
        return fw_test_done();
    pair_test_wait(t, s, s_self, 0);
    pair_test_wait(t, s, s_self, 1);
    pair_test_race(t, t_self);
    fw_fab_close(s); /* ends the pairing: t must not touch s any more */
    is(fw_fab_tsend(t, t_self, 13, "x", 2, 1000), FW_SUCCESS,
       "after shm closed, tcp alone ...");
    is(fw_fab_trecv(t, 13, 0, (char[4]){0}, 4, NULL, NULL, 2000), FW_SUCCESS,
       "... sends and receives (no use of the closed endpoint)");
    fw_fab_close(t);
    return fw_test_done();
}
