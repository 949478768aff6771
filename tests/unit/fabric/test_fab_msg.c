/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tagged messages on one provider: non-blocking send/recv between two
 * endpoints of this process (callback counts, tag matching, truncation,
 * blocking calls refused inside callbacks), then blocking send/recv with
 * a forked echo peer (small, large, truncation seen by the peer, and
 * ping-pong latency).
 * Usage: test_fab_msg <provider>
 */
#include "fab_test.h"

#include <stdlib.h>

/* requests to the echo peer: one exact tag (some fabrics take no
 * wildcards, see fw_fab_exact_tags()), the first byte says what */
#define TAG_REQ 0x10
#define REQ_ECHO 'E'
#define REQ_TRUNC_ARM 'A'
#define REQ_QUIT 'Q'
#define TAG_ECHO_REPLY 0x11
#define TAG_TRUNC 0x21
#define TAG_TRUNC_RESULT 0x22
#define MSG_BIG (256 * 1024)
#define MSG_LAT_ITERS 1000

typedef struct msg_cb_state {
    int count;
    fw_fab_cmpl_t cmpl;
    fw_fab_t *fab;
    fw_status_t nested; /* what a blocking call inside the callback got */
} msg_cb_state_t;

static void
msg_cb(const fw_fab_cmpl_t *cmpl, void *arg)
{
    msg_cb_state_t *s = arg;
    char c = 0;

    s->count++;
    s->cmpl = *cmpl;
    if (s->fab != NULL)
        s->nested = fw_fab_trecv(s->fab, 0, 0, &c, 1, NULL, NULL, 10);
}

/* Progress both until both states saw a callback or 5 s pass. */
static void
msg_progress2(fw_fab_t *a, fw_fab_t *b, msg_cb_state_t *sa,
              msg_cb_state_t *sb)
{
    uint64_t start = fw_time_ns();

    while ((sa->count == 0 || sb->count == 0) &&
           fab_test_elapsed_ms(start) < 5000) {
        fw_fab_progress(a, NULL);
        fw_fab_progress(b, NULL);
    }
}

/*---------------------------------------------------------------------------*/
/* fw_fab_tinject_try: one attempt, spun on with progress until taken. */
static void
msg_test_inject_try(fw_fab_t *a, fw_fab_t *b, uint64_t peer)
{
    size_t max = fw_fab_inject_size(a);
    msg_cb_state_t rs = {0};
    uint64_t start = fw_time_ns();
    char rbuf[16] = {0};
    fw_status_t rc;
    char *big;

    is(fw_fab_tinject_try(NULL, peer, 13, "x", 1), FW_ERR_BAD_PARAM,
       "tinject_try: no fab refused");
    is(fw_fab_tinject_try(a, peer, 13, NULL, 1), FW_ERR_BAD_PARAM,
       "tinject_try: no buffer for 1 byte refused");
    fw_fab_trecv_nb(b, 13, 0, rbuf, sizeof(rbuf), msg_cb, &rs);
    while ((rc = fw_fab_tinject_try(a, peer, 13, "spin", 5)) ==
               FW_ERR_WOULD_BLOCK &&
           fab_test_elapsed_ms(start) < 5000) {
        fw_fab_progress(a, NULL);
        fw_fab_progress(b, NULL);
    }
    is(rc, FW_SUCCESS, "tinject_try: taken by the provider");
    while (rs.count == 0 && fab_test_elapsed_ms(start) < 5000) {
        fw_fab_progress(a, NULL);
        fw_fab_progress(b, NULL);
    }
    ok(rs.count == 1 && rs.cmpl.status == FW_SUCCESS && rs.cmpl.len == 5 &&
           strcmp(rbuf, "spin") == 0,
       "tinject_try: the message arrives, with no completion at the sender");
    if (max > 0 && (big = calloc(1, max + 1)) != NULL) {
        is(fw_fab_tinject_try(a, peer, 13, big, max + 1), FW_ERR_UNSUPPORTED,
           "tinject_try: over the inject size (%zu) refused", max);
        free(big);
    }
}

/*---------------------------------------------------------------------------*/
static void
msg_test_local(const char *prov, fw_fab_t *a, fw_fab_t *b)
{
    msg_cb_state_t ss = {0}, rs = {0};
    uint8_t addr[FW_FAB_ADDR_MAX];
    size_t alen = sizeof(addr);
    char rbuf[64] = {0}, small[4];
    char big[100];
    uint64_t peer;

    fw_fab_addr_get(b, addr, &alen);
    is(fw_fab_av_insert(a, addr, alen, &peer), FW_SUCCESS, "a knows b");
    rs.fab = b;
    is(fw_fab_trecv_nb(b, 7, 0, rbuf, sizeof(rbuf), msg_cb, &rs), FW_SUCCESS,
       "trecv_nb posts");
    is(fw_fab_tsend_nb(a, peer, 7, "hello", 6, msg_cb, &ss), FW_SUCCESS,
       "tsend_nb posts");
    ok(ss.count == 0 && rs.count == 0, "no callback inside the posting calls");
    msg_progress2(a, b, &ss, &rs);
    ok(ss.count == 1 && rs.count == 1, "each callback ran exactly once");
    is(ss.cmpl.status, FW_SUCCESS, "send completed");
    is(rs.cmpl.status, FW_SUCCESS, "receive completed");
    ok(rs.cmpl.len == 6 && rs.cmpl.tag == 7 && strcmp(rbuf, "hello") == 0,
       "received 'hello' with tag 7");
    is(rs.nested, FW_ERR_WOULD_BLOCK,
       "a blocking call inside a callback returns FW_ERR_WOULD_BLOCK");
    msg_test_inject_try(a, b, peer);

    memset(&ss, 0, sizeof(ss));
    memset(&rs, 0, sizeof(rs));
    if (fw_fab_exact_tags(b)) {
        /* shm before libfabric 1.19 (FW_FAB_EXACT_TAGS=auto) */
        is(fw_fab_trecv_nb(b, 0x100, 0xff, rbuf, sizeof(rbuf), msg_cb, &rs),
           FW_ERR_UNSUPPORTED, "exact tags only: ignore bits refused");
    } else {
        is(fw_fab_trecv_nb(b, 0x100, 0xff, rbuf, sizeof(rbuf), msg_cb, &rs),
           FW_SUCCESS, "trecv_nb with ignore bits");
        fw_fab_tsend_nb(a, peer, 0x142, "x", 1, msg_cb, &ss);
        msg_progress2(a, b, &ss, &rs);
        ok(rs.count == 1 && rs.cmpl.tag == 0x142,
           "ignore bits match tag 0x142");
    }
    diag("%s: exact tags only: %d", prov, fw_fab_exact_tags(b));

    memset(&ss, 0, sizeof(ss));
    memset(&rs, 0, sizeof(rs));
    memset(big, 'B', sizeof(big));
    fw_fab_trecv_nb(b, 9, 0, small, sizeof(small), msg_cb, &rs);
    fw_fab_tsend_nb(a, peer, 9, big, sizeof(big), msg_cb, &ss);
    msg_progress2(a, b, &ss, &rs);
    is(rs.cmpl.status, FW_ERR_TRUNCATE, "oversized message truncates");
    diag("truncated receive reports len %zu", rs.cmpl.len);

    /* remote CQ data (relayed processes' daemons route by it) */
    memset(&ss, 0, sizeof(ss));
    memset(&rs, 0, sizeof(rs));
    memset(rbuf, 0, sizeof(rbuf));
    ok(fw_fab_cq_data_size(b) >= 4, "%s carries >= 4 bytes of CQ data (%zu)",
       prov, fw_fab_cq_data_size(b));
    fw_fab_trecv_nb(b, 11, 0, rbuf, sizeof(rbuf), msg_cb, &rs);
    is(fw_fab_tsenddata_nb(a, peer, 11, 0x8000abcdull, "data", 5, 5000,
                           msg_cb, &ss), FW_SUCCESS, "tsenddata_nb posts");
    msg_progress2(a, b, &ss, &rs);
    ok(rs.cmpl.status == FW_SUCCESS && rs.cmpl.data == 0x8000abcdull &&
           rs.cmpl.len == 5 && strcmp(rbuf, "data") == 0,
       "the receiver gets the message and its data 0x%llx",
       (unsigned long long)rs.cmpl.data);
    memset(&ss, 0, sizeof(ss));
    memset(&rs, 0, sizeof(rs));
    fw_fab_trecv_nb(b, 12, 0, rbuf, sizeof(rbuf), msg_cb, &rs);
    fw_fab_tsend_nb(a, peer, 12, "x", 2, msg_cb, &ss);
    msg_progress2(a, b, &ss, &rs);
    ok(rs.cmpl.status == FW_SUCCESS && rs.cmpl.data == 0,
       "a message sent without data completes with data 0");
    if (fw_fab_cq_data_size(b) < 8)
        is(fw_fab_tsenddata_nb(a, peer, 1, 1ull << 40, "x", 1, -1, msg_cb,
                               &ss),
           FW_ERR_UNSUPPORTED, "data wider than cq_data_size is refused");

    is(fw_fab_tsend_nb(a, peer, 1, NULL, 5, msg_cb, &ss), FW_ERR_BAD_PARAM,
       "tsend_nb of NULL with a length fails");
    is(fw_fab_tsend_nb(a, peer, 1, "x", 1, NULL, NULL), FW_ERR_BAD_PARAM,
       "tsend_nb without callback fails");
    is(fw_fab_trecv_nb(NULL, 1, 0, rbuf, 1, msg_cb, &rs), FW_ERR_BAD_PARAM,
       "trecv_nb on NULL fab fails");
}

/*---------------------------------------------------------------------------*/
/* Echo peer; returns its exit code. */
static int
msg_echo(const char *prov, int in_fd, int out_fd)
{
    uint8_t *buf = malloc(MSG_BIG + 1);
    uint64_t peer;
    size_t len = 0;
    int32_t res;
    fw_fab_t *fab = fab_test_open(prov);
    int rc = 1;

    if (fab == NULL || buf == NULL || fab_test_send_addr(out_fd, fab) != 0 ||
        fab_test_recv_peer(in_fd, fab, &peer) != 0)
        goto out;
    for (;;) {
        if (fw_fab_trecv(fab, TAG_REQ, 0, buf, MSG_BIG + 1, &len, NULL,
                         10000) != FW_SUCCESS || len == 0)
            goto out;
        if (buf[0] == REQ_QUIT)
            break;
        if (buf[0] == REQ_ECHO &&
            fw_fab_tsend(fab, peer, TAG_ECHO_REPLY, buf + 1, len - 1, 5000) !=
                FW_SUCCESS)
            goto out;
        if (buf[0] != REQ_TRUNC_ARM)
            continue;
        res = fw_fab_trecv(fab, TAG_TRUNC, 0, buf, 10, &len, NULL, 5000);
        if (fw_fab_tsend(fab, peer, TAG_TRUNC_RESULT, &res, sizeof(res),
                         5000) != FW_SUCCESS)
            goto out;
    }
    rc = 0;
out:
    fw_fab_close(fab);
    free(buf);
    return rc;
}

/*---------------------------------------------------------------------------*/
static int
msg_roundtrip(fw_fab_t *fab, uint64_t peer, const void *out, void *in,
              size_t len)
{
    uint8_t *req = malloc(len + 1); /* REQ_ECHO, then the payload */
    size_t got = 0;
    uint64_t tag = 0;
    int rc = -1;

    if (req == NULL)
        return -1;
    req[0] = REQ_ECHO;
    memcpy(req + 1, out, len);
    if (fw_fab_tsend(fab, peer, TAG_REQ, req, len + 1, 5000) == FW_SUCCESS &&
        fw_fab_trecv(fab, TAG_ECHO_REPLY, 0, in, len, &got, &tag, 5000) ==
            FW_SUCCESS &&
        got == len && tag == TAG_ECHO_REPLY)
        rc = 0;
    free(req);
    return rc;
}

/*---------------------------------------------------------------------------*/
static void
msg_test_remote(fw_fab_t *fab, uint64_t peer, const char *prov)
{
    uint8_t *out = malloc(MSG_BIG), *in = malloc(MSG_BIG);
    uint8_t trunc[100];
    int32_t res = 0;
    uint64_t start;
    size_t i;
    int fails = 0;

    for (i = 0; out != NULL && i < MSG_BIG; i++)
        out[i] = (uint8_t)(i * 7);
    ok(out != NULL && in != NULL &&
           msg_roundtrip(fab, peer, out, in, 16) == 0 &&
           memcmp(out, in, 16) == 0,
       "blocking 16-byte echo");
    ok(out != NULL && in != NULL &&
           msg_roundtrip(fab, peer, out, in, MSG_BIG) == 0 &&
           memcmp(out, in, MSG_BIG) == 0,
       "blocking 256 KiB echo");
    /* bounded in time too: a loaded host must not turn this into minutes */
    start = fw_time_ns();
    for (i = 0; out != NULL && in != NULL && i < MSG_LAT_ITERS &&
                fab_test_elapsed_ms(start) < 2000;
         i++)
        fails += msg_roundtrip(fab, peer, out, in, 8) != 0;
    is(fails, 0, "%zu ping-pongs succeed", i);
    diag("latency: %s 8-byte tagged ping-pong round trip %.2f us over %zu",
         prov, fab_test_elapsed_ms(start) * 1000.0 / (double)(i ? i : 1), i);

    memset(trunc, 'T', sizeof(trunc));
    is(fw_fab_tsend(fab, peer, TAG_REQ, "A", 1, 5000), FW_SUCCESS,
       "arm the peer's truncating receive");
    is(fw_fab_tsend(fab, peer, TAG_TRUNC, trunc, sizeof(trunc), 5000),
       FW_SUCCESS, "send 100 bytes to a 10-byte receive");
    is(fw_fab_trecv(fab, TAG_TRUNC_RESULT, 0, &res, sizeof(res), NULL, NULL,
                    5000),
       FW_SUCCESS, "peer reports its result");
    is(res, FW_ERR_TRUNCATE, "peer's blocking trecv got FW_ERR_TRUNCATE");
    ok(out != NULL && in != NULL && msg_roundtrip(fab, peer, out, in, 0) == 0,
       "empty message echoed");
    is(fw_fab_tsend(fab, peer, TAG_REQ, "Q", 1, 5000), FW_SUCCESS,
       "tell the peer to quit");
    free(out);
    free(in);
}

/*---------------------------------------------------------------------------*/
int
main(int argc, char **argv)
{
    const char *prov = fab_test_provider(argc, argv);
    int to_child[2], from_child[2];
    fw_fab_t *a, *b;
    uint64_t peer;
    pid_t pid;

    fab_test_alarm();
    fab_test_require(prov);
    /* fork before any endpoint exists: a child must not inherit one */
    if (pipe(to_child) != 0 || pipe(from_child) != 0)
        return 1;
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        _exit(msg_echo(prov, to_child[0], from_child[1]));
    ok(pid > 0, "forked echo peer");
    a = fab_test_open(prov);
    b = fab_test_open(prov);
    ok(a != NULL && b != NULL, "two %s endpoints open", prov);
    if (a != NULL && b != NULL)
        msg_test_local(prov, a, b);
    fw_fab_close(b);
    ok(a != NULL && fab_test_send_addr(to_child[1], a) == 0 &&
           fab_test_recv_peer(from_child[0], a, &peer) == 0,
       "addresses exchanged with the echo peer");
    if (a != NULL)
        msg_test_remote(a, peer, prov);
    is(fab_test_reap(pid, 5000), 0, "echo peer exits cleanly");
    fw_fab_close(a);
    return fw_test_done();
}
