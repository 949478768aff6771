/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Name service engine without sockets: publish/lookup/unpublish results,
 * waiting lookups answered by a publish or expired by the clock,
 * drop_owner, cancel (also from inside the reply callback), bad
 * parameters and the caps; then the NS_REQ/NS_REPLY codec (round trips,
 * every truncation, strictness) and the contact string.
 */
#include "dpm/ns.h"
#include "dpm/ns_wire.h"
#include "fw_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/****************/
/* Engine       */
/****************/

typedef struct got {
    void *requester;
    uint64_t tag;
    fw_status_t status;
    char port[FW_MAX_PORT_NAME];
} got_t;

static int r1, r2, r3; /* requesters */
static got_t replies[64];
static int nreplies;
/* what the callback does besides recording: cancel the other of two
 * requesters, or unpublish */
static int cb_cancel_other;
static const char *cb_unpublish;
static fw_ns_t *cb_ns;

static void
on_reply(void *arg, const fw_ns_cookie_t *cookie, fw_status_t status,
         const char *port)
{
    got_t *g;

    if (nreplies < 64) {
        g = &replies[nreplies];
        g->requester = cookie->requester;
        g->tag = cookie->tag;
        g->status = status;
        snprintf(g->port, sizeof(g->port), "%s", port != NULL ? port : "(null)");
    }
    nreplies++;
    if (cb_cancel_other)
        fw_ns_cancel(cb_ns, cookie->requester == (void *)&r1 ? (void *)&r2
                                                             : (void *)&r1);
    if (cb_unpublish != NULL)
        fw_ns_unpublish(cb_ns, "A", cb_unpublish);
}

static const struct fw_ns_ops ops = {on_reply};
static const struct fw_ns_ops no_ops = {NULL};

static fw_ns_t *
mk(void)
{
    fw_ns_t *ns = NULL;

    if (fw_ns_create(&ops, NULL, &ns) != FW_SUCCESS)
        abort();
    nreplies = 0;
    cb_cancel_other = 0;
    cb_unpublish = NULL;
    cb_ns = ns;
    return ns;
}

static void
test_basic(void)
{
    fw_ns_t *ns = mk(), *x = (fw_ns_t *)&r1;
    fw_ns_cookie_t ck = {&r1, 7};
    char port[FW_MAX_PORT_NAME];

    is(fw_ns_create(NULL, NULL, &x), FW_ERR_BAD_PARAM, "create(NULL ops)");
    is(fw_ns_create(&no_ops, NULL, &x), FW_ERR_BAD_PARAM,
       "create(ops without reply)");
    is(fw_ns_create(&ops, NULL, NULL), FW_ERR_BAD_PARAM, "create(ns_p NULL)");
    ok(x == (fw_ns_t *)&r1, "ns_p untouched on failure");
    fw_ns_destroy(NULL);
    is(fw_ns_publish(ns, "A", "svc", "port-a"), FW_SUCCESS, "publish");
    is(fw_ns_lookup(ns, "svc", 0, 0, &ck, port), FW_SUCCESS, "lookup hit");
    is_str(port, "port-a", "lookup returns the port");
    is(fw_ns_publish(ns, "B", "svc", "port-b"), FW_ERR_EXISTS,
       "publish by another owner: EXISTS");
    is(fw_ns_publish(ns, "A", "svc", "port-c"), FW_ERR_EXISTS,
       "publish again by the owner: EXISTS");
    is(fw_ns_lookup(ns, "svc", 1000, 0, &ck, port), FW_SUCCESS,
       "hit with a timeout answers now");
    is_str(port, "port-a", "the first publish stays");
    is(fw_ns_unpublish(ns, "B", "svc"), FW_ERR_PERM, "unpublish by B: PERM");
    is(fw_ns_unpublish(ns, "A", "nope"), FW_ERR_NOT_FOUND,
       "unpublish unknown: NOT_FOUND");
    is(fw_ns_count(ns), 1, "one entry");
    is(fw_ns_unpublish(ns, "A", "svc"), FW_SUCCESS, "unpublish by owner");
    strcpy(port, "untouched");
    is(fw_ns_lookup(ns, "svc", 0, 0, &ck, port), FW_ERR_NOT_FOUND,
       "lookup after unpublish, timeout 0: NOT_FOUND");
    is_str(port, "untouched", "port_out untouched on a miss");
    is(fw_ns_unpublish(ns, "A", "svc"), FW_ERR_NOT_FOUND,
       "second unpublish: NOT_FOUND");
    is(fw_ns_publish(ns, "B", "svc", "port-b"), FW_SUCCESS,
       "the service can be published again");
    is(nreplies, 0, "no callback for immediate answers");
    fw_ns_destroy(ns);
}

static void
test_pending(void)
{
    fw_ns_t *ns = mk();
    fw_ns_cookie_t c1 = {&r1, 11}, c2 = {&r2, 22}, c3 = {&r3, 33};
    char port[FW_MAX_PORT_NAME] = "untouched";

    is(fw_ns_lookup(ns, "svc", 500, 1000, &c1, port), FW_INPROGRESS,
       "miss with timeout: INPROGRESS");
    is_str(port, "untouched", "port_out untouched while pending");
    is(fw_ns_lookup(ns, "svc", 800, 1000, &c2, port), FW_INPROGRESS,
       "a second waiter");
    is(fw_ns_lookup(ns, "other", 300, 1000, &c3, port), FW_INPROGRESS,
       "a waiter for another service");
    is(fw_ns_pending(ns), 3, "three pending");
    is(fw_ns_next_deadline(ns), 1300, "next deadline is the earliest");
    is(nreplies, 0, "no reply yet");
    is(fw_ns_publish(ns, "A", "svc", "P"), FW_SUCCESS, "publish svc");
    is(nreplies, 2, "both waiters of svc answered by the publish");
    ok(nreplies == 2 && replies[0].status == FW_SUCCESS &&
           replies[1].status == FW_SUCCESS &&
           strcmp(replies[0].port, "P") == 0 &&
           strcmp(replies[1].port, "P") == 0,
       "with FW_SUCCESS and the port");
    ok(nreplies == 2 && replies[0].tag + replies[1].tag == 33 &&
           replies[0].requester != replies[1].requester,
       "with their own cookies");
    is(fw_ns_pending(ns), 1, "the other waiter still pending");
    fw_ns_expire(ns, 1299);
    is(nreplies, 2, "expire before the deadline: nothing");
    fw_ns_expire(ns, 1300);
    is(nreplies, 3, "expire at the deadline answers");
    ok(replies[2].status == FW_ERR_NOT_FOUND && replies[2].tag == 33 &&
           strcmp(replies[2].port, "(null)") == 0,
       "with NOT_FOUND, its cookie and no port");
    is(fw_ns_next_deadline(ns), 0, "no deadline left");
    is(fw_ns_pending(ns), 0, "nothing pending");
    fw_ns_destroy(ns);
}

static void
test_expire_order(void)
{
    fw_ns_t *ns = mk();
    fw_ns_cookie_t c = {&r1, 0};
    char port[FW_MAX_PORT_NAME];
    uint32_t t[8] = {50, 10, 40, 20, 70, 30, 60, 10};
    int i, sorted = 1;

    for (i = 0; i < 8; i++) {
        c.tag = (uint64_t)i;
        fw_ns_lookup(ns, "s", t[i], 0, &c, port);
    }
    fw_ns_expire(ns, 35);
    is(nreplies, 4, "expire(35) answers the four lookups due by 35");
    for (i = 1; i < nreplies; i++)
        if (t[replies[i].tag] < t[replies[i - 1].tag] ||
            (t[replies[i].tag] == t[replies[i - 1].tag] &&
             replies[i].tag < replies[i - 1].tag))
            sorted = 0;
    ok(sorted && replies[0].tag == 1 && replies[1].tag == 7,
       "in deadline order, ties by arrival");
    is(fw_ns_next_deadline(ns), 40, "next deadline 40");
    fw_ns_expire(ns, 1000);
    is(nreplies, 8, "the rest expire");
    c.tag = 99;
    is(fw_ns_lookup(ns, "s", 100, UINT64_MAX - 5, &c, port), FW_INPROGRESS,
       "a deadline past the clock's end");
    ok(fw_ns_next_deadline(ns) == UINT64_MAX, "is clamped, never 0");
    fw_ns_destroy(ns);
}

static void
test_drop_cancel(void)
{
    fw_ns_t *ns = mk();
    fw_ns_cookie_t c1 = {&r1, 1}, c2 = {&r2, 2};
    char port[FW_MAX_PORT_NAME];

    fw_ns_publish(ns, "A", "a1", "p");
    fw_ns_publish(ns, "A", "a2", "p");
    fw_ns_publish(ns, "B", "b1", "p");
    fw_ns_publish(ns, "AA", "aa", "p");
    is(fw_ns_drop_owner(ns, "A"), 2, "drop_owner(A) removes A's 2 entries");
    is(fw_ns_count(ns), 2, "two left");
    is(fw_ns_lookup(ns, "a1", 0, 0, &c1, port), FW_ERR_NOT_FOUND, "a1 gone");
    is(fw_ns_lookup(ns, "b1", 0, 0, &c1, port), FW_SUCCESS, "b1 stays");
    is(fw_ns_lookup(ns, "aa", 0, 0, &c1, port), FW_SUCCESS,
       "owner AA is not A");
    is(fw_ns_drop_owner(ns, "nobody"), 0, "drop of an unknown owner: 0");
    fw_ns_lookup(ns, "x", 100, 0, &c1, port);
    fw_ns_lookup(ns, "y", 100, 0, &c1, port);
    fw_ns_lookup(ns, "x", 100, 0, &c2, port);
    is(fw_ns_cancel(ns, &r1), 2, "cancel(r1) forgets its two lookups");
    is(fw_ns_pending(ns), 1, "r2's stays");
    fw_ns_publish(ns, "B", "x", "px");
    ok(nreplies == 1 && replies[0].requester == &r2,
       "publish answers r2 only");
    fw_ns_lookup(ns, "y", 100, 0, &c2, port);
    is(fw_ns_cancel(ns, &r2), 1, "cancel(r2)");
    fw_ns_expire(ns, 1000);
    is(nreplies, 1, "a cancelled lookup never gets a reply");
    fw_ns_destroy(ns);
}

static void
test_reentrant(void)
{
    fw_ns_t *ns = mk();
    fw_ns_cookie_t c1 = {&r1, 1}, c2 = {&r2, 2};
    char port[FW_MAX_PORT_NAME];

    fw_ns_lookup(ns, "s", 100, 0, &c1, port);
    fw_ns_lookup(ns, "s", 100, 0, &c2, port);
    cb_cancel_other = 1;
    cb_unpublish = "s";
    fw_ns_publish(ns, "A", "s", "P");
    is(nreplies, 1, "a lookup cancelled from the callback is not answered");
    is(fw_ns_count(ns), 0, "unpublish from the callback worked");
    ok(strcmp(replies[0].port, "P") == 0, "the port stayed valid");
    fw_ns_lookup(ns, "t", 10, 0, &c1, port);
    fw_ns_lookup(ns, "t", 10, 0, &c2, port);
    cb_unpublish = NULL;
    fw_ns_expire(ns, 10);
    is(nreplies, 2, "the same while expiring");
    is(fw_ns_pending(ns), 0, "nothing left pending");
    /* destroying with lookups pending frees them (checked under ASan) */
    fw_ns_lookup(ns, "u", 10, 0, &c1, port);
    fw_ns_destroy(ns);
}

static void
test_badparam(void)
{
    fw_ns_t *ns = mk();
    fw_ns_cookie_t c = {&r1, 1};
    char port[FW_MAX_PORT_NAME], svc[FW_MAX_SERVICE + 1];
    char big[FW_MAX_PORT_NAME + 1], owner[FW_JOBID_MAX + 1];

    memset(svc, 's', sizeof(svc));
    svc[FW_MAX_SERVICE - 1] = '\0';
    memset(big, 'p', sizeof(big));
    big[FW_MAX_PORT_NAME - 1] = '\0';
    memset(owner, 'o', sizeof(owner));
    owner[FW_JOBID_MAX - 1] = '\0';
    is(fw_ns_publish(ns, owner, svc, big), FW_SUCCESS,
       "longest owner, service and port are accepted");
    is(fw_ns_lookup(ns, svc, 0, 0, &c, port), FW_SUCCESS, "and found");
    ok(strcmp(port, big) == 0, "whole port returned");
    svc[FW_MAX_SERVICE - 1] = 's';
    svc[FW_MAX_SERVICE] = '\0';
    big[FW_MAX_PORT_NAME - 1] = 'p';
    big[FW_MAX_PORT_NAME] = '\0';
    owner[FW_JOBID_MAX - 1] = 'o';
    owner[FW_JOBID_MAX] = '\0';
    is(fw_ns_publish(ns, "A", svc, "p"), FW_ERR_BAD_PARAM,
       "service of FW_MAX_SERVICE chars");
    is(fw_ns_publish(ns, "A", "s", big), FW_ERR_BAD_PARAM,
       "port of FW_MAX_PORT_NAME chars");
    is(fw_ns_publish(ns, owner, "s", "p"), FW_ERR_BAD_PARAM,
       "owner of FW_JOBID_MAX chars");
    is(fw_ns_publish(ns, "", "s", "p"), FW_ERR_BAD_PARAM, "empty owner");
    is(fw_ns_publish(ns, "A", "", "p"), FW_ERR_BAD_PARAM, "empty service");
    is(fw_ns_publish(ns, "A", "s", ""), FW_ERR_BAD_PARAM, "empty port");
    is(fw_ns_publish(ns, NULL, "s", "p"), FW_ERR_BAD_PARAM, "NULL owner");
    is(fw_ns_publish(NULL, "A", "s", "p"), FW_ERR_BAD_PARAM, "NULL ns");
    is(fw_ns_lookup(ns, "", 0, 0, &c, port), FW_ERR_BAD_PARAM,
       "lookup of an empty service");
    is(fw_ns_lookup(ns, svc, 0, 0, &c, port), FW_ERR_BAD_PARAM,
       "lookup of a too long service");
    is(fw_ns_lookup(ns, "s", 10, 0, NULL, port), FW_ERR_BAD_PARAM,
       "lookup without cookie");
    is(fw_ns_lookup(ns, "s", 10, 0, &c, NULL), FW_ERR_BAD_PARAM,
       "lookup without port_out");
    is(fw_ns_unpublish(ns, "", "s"), FW_ERR_BAD_PARAM, "unpublish, no owner");
    is(fw_ns_unpublish(ns, "A", NULL), FW_ERR_BAD_PARAM,
       "unpublish, no service");
    is(fw_ns_set_limits(ns, 0, 1), FW_ERR_BAD_PARAM, "limits: 0 entries");
    is(fw_ns_set_limits(ns, 1, FW_NS_MAX_PENDING + 1), FW_ERR_BAD_PARAM,
       "limits: above the hard cap");
    is(fw_ns_count(ns), 1, "failed calls changed nothing");
    is(fw_ns_pending(ns), 0, "and queued nothing");
    is(fw_ns_drop_owner(NULL, "A"), 0, "drop_owner(NULL)");
    is(fw_ns_cancel(NULL, &r1), 0, "cancel(NULL)");
    fw_ns_expire(NULL, 0);
    is(fw_ns_next_deadline(NULL), 0, "next_deadline(NULL)");
    fw_ns_destroy(ns);
}

static void
test_bounds(void)
{
    fw_ns_t *ns = mk();
    fw_ns_cookie_t c = {&r1, 1};
    char port[FW_MAX_PORT_NAME], svc[32];
    unsigned i, fails = 0;

    is(fw_ns_set_limits(ns, 2, 2), FW_SUCCESS, "limits 2/2");
    fw_ns_publish(ns, "A", "s1", "p");
    fw_ns_publish(ns, "A", "s2", "p");
    is(fw_ns_publish(ns, "A", "s3", "p"), FW_ERR_TOO_BIG,
       "third entry: TOO_BIG");
    is(fw_ns_publish(ns, "A", "s1", "p"), FW_ERR_EXISTS,
       "a duplicate is still EXISTS when full");
    fw_ns_lookup(ns, "w1", 10, 0, &c, port);
    fw_ns_lookup(ns, "w2", 10, 0, &c, port);
    is(fw_ns_lookup(ns, "w3", 10, 0, &c, port), FW_ERR_TOO_BIG,
       "third waiter: TOO_BIG");
    is(fw_ns_lookup(ns, "s1", 10, 0, &c, port), FW_SUCCESS,
       "hits still answer when the queue is full");
    fw_ns_unpublish(ns, "A", "s1");
    is(fw_ns_publish(ns, "A", "s3", "p"), FW_SUCCESS,
       "room again after an unpublish");
    fw_ns_destroy(ns);

    ns = mk();
    for (i = 0; i < FW_NS_MAX_ENTRIES; i++) {
        snprintf(svc, sizeof(svc), "svc-%u", i);
        if (fw_ns_publish(ns, i % 2 ? "odd" : "even", svc, "p") != FW_SUCCESS)
            fails++;
    }
    is(fails, 0, "FW_NS_MAX_ENTRIES (%u) entries by default",
       FW_NS_MAX_ENTRIES);
    is(fw_ns_publish(ns, "A", "one-more", "p"), FW_ERR_TOO_BIG,
       "one more: TOO_BIG");
    is(fw_ns_drop_owner(ns, "odd"), FW_NS_MAX_ENTRIES / 2,
       "drop_owner over a full table");
    is(fw_ns_lookup(ns, "svc-4", 0, 0, &c, port), FW_SUCCESS,
       "the other owner's entries stay");
    fw_ns_destroy(ns);
}

/* Many waiters with random deadlines and cancels: all are answered once,
 * in deadline order, none after being cancelled. */
static void
test_heap_stress(void)
{
    fw_ns_t *ns = mk();
    static int reqs[4];
    fw_ns_cookie_t c;
    char port[FW_MAX_PORT_NAME];
    uint64_t now, added = 0, cancelled;
    unsigned i, seed = 12345;

    for (i = 0; i < 2000; i++) {
        seed = seed * 1103515245u + 12345u;
        c.requester = &reqs[i % 4];
        c.tag = i;
        if (fw_ns_lookup(ns, (seed >> 8) % 3 ? "a" : "b", 1 + (seed >> 16) % 1000,
                         0, &c, port) == FW_INPROGRESS)
            added++;
    }
    cancelled = fw_ns_cancel(ns, &reqs[3]);
    is(cancelled, 500, "cancel one requester of four");
    nreplies = 0;
    for (now = 0; now <= 1007; now += 7) {
        fw_ns_expire(ns, now);
        if (fw_ns_next_deadline(ns) != 0 && fw_ns_next_deadline(ns) <= now)
            break;
    }
    is(fw_ns_pending(ns), 0, "every waiter expired");
    is(nreplies, (int)(added - cancelled), "each once (%d)", nreplies);
    fw_ns_destroy(ns);
}

/****************/
/* Wire         */
/****************/

static void
mk_req(fw_ns_req_t *r, uint8_t op)
{
    memset(r, 0, sizeof(*r));
    r->reqid = 0x01020304;
    r->op = op;
    strcpy(r->owner, "fw123.abcd");
    strcpy(r->service, "ocean");
    if (op == FW_DPM_OP_PUBLISH)
        strcpy(r->port, "fw1:tcp:00:0000000000000001:fw123.abcd");
    if (op == FW_DPM_OP_LOOKUP)
        r->timeout_ms = 2500;
}

/* Every proper prefix of b is refused by unpack. */
static int
all_prefixes_refused(const fw_buf_t *b, int reply)
{
    fw_ns_req_t req;
    fw_ns_reply_t rep;
    size_t n;

    for (n = 0; n < b->len; n++) {
        fw_status_t rc = reply ? fw_ns_reply_unpack(b->data, n, &rep)
                               : fw_ns_req_unpack(b->data, n, &req);
        if (rc != FW_ERR_PROTO)
            return 0;
    }
    return 1;
}

static void
test_wire_req(void)
{
    static const uint8_t opsv[4] = {FW_DPM_OP_PUBLISH, FW_DPM_OP_LOOKUP,
                                    FW_DPM_OP_UNPUBLISH, FW_DPM_OP_DROP};
    fw_ns_req_t in, out;
    fw_buf_t b;
    int i;

    for (i = 0; i < 4; i++) {
        mk_req(&in, opsv[i]);
        fw_buf_init(&b);
        is(fw_ns_req_pack(&in, &b), FW_SUCCESS, "pack op %u", opsv[i]);
        memset(&out, 0xaa, sizeof(out));
        is(fw_ns_req_unpack(b.data, b.len, &out), FW_SUCCESS,
           "unpack op %u", opsv[i]);
        ok(out.reqid == in.reqid && out.op == in.op &&
               strcmp(out.owner, in.owner) == 0 &&
               strcmp(out.service, in.service) == 0 &&
               strcmp(out.port, in.port) == 0 &&
               out.timeout_ms == in.timeout_ms,
           "op %u: every field survives", opsv[i]);
        ok(all_prefixes_refused(&b, 0), "op %u: all %zu truncations refused",
           opsv[i], b.len);
        fw_buf_put_u8(&b, 0);
        memset(&out, 0xaa, sizeof(out));
        is(fw_ns_req_unpack(b.data, b.len, &out), FW_ERR_PROTO,
           "op %u: a trailing byte is refused", opsv[i]);
        ok(out.reqid == 0xaaaaaaaau, "output untouched on failure");
        fw_buf_cleanup(&b);
    }
    /* the port goes out for PUBLISH only, the timeout for LOOKUP only */
    mk_req(&in, FW_DPM_OP_UNPUBLISH);
    strcpy(in.port, "stray");
    in.timeout_ms = 5;
    fw_buf_init(&b);
    fw_ns_req_pack(&in, &b);
    is(fw_ns_req_unpack(b.data, b.len, &out), FW_SUCCESS,
       "pack drops fields the op does not carry");
    ok(out.port[0] == '\0' && out.timeout_ms == 0, "as \"\" and 0");
    fw_buf_cleanup(&b);
    in.op = 9;
    fw_buf_init(&b);
    is(fw_ns_req_pack(&in, &b), FW_ERR_BAD_PARAM, "pack of an unknown op");
    is(fw_ns_req_pack(NULL, &b), FW_ERR_BAD_PARAM, "pack(NULL)");
    memset(in.owner, 'x', sizeof(in.owner));
    in.op = FW_DPM_OP_DROP;
    is(fw_ns_req_pack(&in, &b), FW_ERR_BAD_PARAM,
       "pack of an unterminated owner");
    fw_buf_cleanup(&b);
}

/* A hand-made NS_REQ body. */
static fw_status_t
raw_req(uint8_t op, const char *owner, const char *svc, size_t svc_len,
        const char *port, uint32_t timeout)
{
    fw_ns_req_t out;
    fw_buf_t b;
    fw_status_t rc;

    fw_buf_init(&b);
    fw_buf_put_u32(&b, 1);
    fw_buf_put_u8(&b, op);
    fw_buf_put_str(&b, owner);
    fw_buf_put_blob(&b, svc, svc_len);
    fw_buf_put_str(&b, port);
    fw_buf_put_u32(&b, timeout);
    rc = fw_ns_req_unpack(b.data, b.len, &out);
    fw_buf_cleanup(&b);
    return rc;
}

static void
test_wire_strict(void)
{
    char big[FW_MAX_PORT_NAME + 1];
    static const uint8_t bad_ops[] = {0, 5, 16, 96, 255};
    size_t i;

    memset(big, 'x', sizeof(big));
    big[sizeof(big) - 1] = '\0';
    is(raw_req(FW_DPM_OP_LOOKUP, "o", "s", 1, "", 5), FW_SUCCESS,
       "a hand-made request parses");
    for (i = 0; i < sizeof(bad_ops); i++)
        is(raw_req(bad_ops[i], "o", "s", 1, "", 0), FW_ERR_PROTO,
           "unknown op %u refused", bad_ops[i]);
    is(raw_req(FW_DPM_OP_LOOKUP, "o", big, FW_MAX_SERVICE - 1, "", 0),
       FW_SUCCESS, "service of FW_MAX_SERVICE-1 bytes accepted");
    is(raw_req(FW_DPM_OP_LOOKUP, "o", big, FW_MAX_SERVICE, "", 0),
       FW_ERR_PROTO, "service of FW_MAX_SERVICE bytes refused");
    is(raw_req(FW_DPM_OP_PUBLISH, "o", "s", 1, big + 1, 0), FW_SUCCESS,
       "port of FW_MAX_PORT_NAME-1 bytes accepted");
    is(raw_req(FW_DPM_OP_PUBLISH, "o", "s", 1, big, 0), FW_ERR_PROTO,
       "port of FW_MAX_PORT_NAME bytes refused");
    big[FW_JOBID_MAX] = '\0';
    is(raw_req(FW_DPM_OP_DROP, big, "s", 1, "", 0), FW_ERR_PROTO,
       "owner of FW_JOBID_MAX bytes refused");
    is(raw_req(FW_DPM_OP_LOOKUP, "o", "a\0b", 3, "", 0), FW_ERR_PROTO,
       "a NUL inside a string refused");
    is(raw_req(FW_DPM_OP_LOOKUP, "o", "s", 1, "p", 0), FW_ERR_PROTO,
       "a port in a LOOKUP refused");
    is(raw_req(FW_DPM_OP_PUBLISH, "o", "s", 1, "p", 5), FW_ERR_PROTO,
       "a timeout in a PUBLISH refused");
    is(fw_ns_req_unpack(NULL, 0, NULL), FW_ERR_BAD_PARAM, "unpack(NULL out)");
}

static fw_status_t
raw_reply(uint32_t wire_status, const char *port)
{
    fw_ns_reply_t out;
    fw_buf_t b;
    fw_status_t rc;

    fw_buf_init(&b);
    fw_buf_put_u32(&b, 1);
    fw_buf_put_u32(&b, wire_status);
    fw_buf_put_str(&b, port);
    rc = fw_ns_reply_unpack(b.data, b.len, &out);
    fw_buf_cleanup(&b);
    return rc;
}

static void
test_wire_reply(void)
{
    fw_ns_reply_t in, out;
    fw_buf_t b;

    memset(&in, 0, sizeof(in));
    in.reqid = 77;
    in.status = FW_SUCCESS;
    strcpy(in.port, "fw1:shm:00:0000000000000002:j");
    fw_buf_init(&b);
    is(fw_ns_reply_pack(&in, &b), FW_SUCCESS, "pack a reply with a port");
    is(fw_ns_reply_unpack(b.data, b.len, &out), FW_SUCCESS, "unpack it");
    ok(out.reqid == 77 && out.status == FW_SUCCESS &&
           strcmp(out.port, in.port) == 0,
       "every field survives");
    ok(all_prefixes_refused(&b, 1), "all %zu truncations refused", b.len);
    fw_buf_cleanup(&b);
    in.status = FW_ERR_PERM;
    in.port[0] = '\0';
    fw_buf_init(&b);
    is(fw_ns_reply_pack(&in, &b), FW_SUCCESS, "pack an error reply");
    is(fw_ns_reply_unpack(b.data, b.len, &out), FW_SUCCESS, "unpack it");
    is(out.status, FW_ERR_PERM, "status survives");
    ok(b.len >= 8 && b.data[7] == 19, "on the wire as -status (19)");
    ok(all_prefixes_refused(&b, 1), "all truncations refused");
    fw_buf_cleanup(&b);
    fw_buf_init(&b);
    strcpy(in.port, "p");
    is(fw_ns_reply_pack(&in, &b), FW_ERR_BAD_PARAM,
       "pack: a port with an error status");
    in.status = FW_INPROGRESS;
    in.port[0] = '\0';
    is(fw_ns_reply_pack(&in, &b), FW_ERR_BAD_PARAM, "pack: FW_INPROGRESS");
    fw_buf_cleanup(&b);
    is(raw_reply(4, ""), FW_SUCCESS, "NOT_FOUND by hand");
    is(raw_reply(4, "p"), FW_ERR_PROTO, "an error with a port refused");
    is(raw_reply(1000, ""), FW_ERR_PROTO, "an unknown status refused");
    is(raw_reply(0xffffffffu, ""), FW_ERR_PROTO,
       "FW_INPROGRESS on the wire refused");
}

static void
test_fields(void)
{
    fw_ns_req_t in, out;
    fw_rbuf_t r;
    fw_buf_t b;

    mk_req(&in, FW_DPM_OP_PUBLISH);
    fw_buf_init(&b);
    fw_buf_put_u32(&b, 5); /* a prefix of the caller's own */
    fw_ns_fields_pack(&in, &b);
    fw_rbuf_init(&r, b.data, b.len);
    is(fw_rbuf_get_u32(&r), 5, "fields after a caller's prefix");
    memset(&out, 0, sizeof(out));
    fw_ns_fields_unpack(&r, FW_DPM_OP_PUBLISH, &out);
    ok(fw_rbuf_status(&r) == FW_SUCCESS && r.pos == r.len &&
           strcmp(out.service, in.service) == 0 &&
           strcmp(out.port, in.port) == 0,
       "fields round trip on their own");
    fw_rbuf_init(&r, b.data + 4, b.len - 4);
    memset(&out, 0, sizeof(out));
    fw_ns_fields_unpack(&r, FW_DPM_OP_LOOKUP, &out);
    ok(fw_rbuf_status(&r) == FW_ERR_PROTO && out.service[0] == '\0',
       "a port read as LOOKUP fields: error, req untouched");
    fw_buf_cleanup(&b);
}

/****************/
/* Contact      */
/****************/

static void
test_contact(void)
{
    uint8_t secret[FW_OOB_SECRET_LEN], got[FW_OOB_SECRET_LEN];
    char contact[FW_NS_CONTACT_MAX], uri[FW_OOB_URI_MAX], s[512];
    char path[64], file[80];
    fw_error_t err;
    static const char *const bad_uris[] = {
        "", "tcp://", "tcp://127.0.0.1", "tcp://127.0.0.1:", "tcp://127.0.0.1:0",
        "tcp://127.0.0.1:65536", "tcp://127.0.0.1:080", "tcp://127.0.0.1:+80",
        "tcp://localhost:80", "tcp://127.0.0.1:80 ", "udp://127.0.0.1:80",
        "unix:@x", "tcp://::1:80", "tcp://[127.0.0.1]:80", "tcp://1.2.3:80",
        "tcp://127.0.0.1:80\t"};
    const char *hex = "000102030405060708090a0b0c0d0e0f"
                      "101112131415161718191a1b1c1d1e1f";
    FILE *f;
    size_t i;
    int n;

    for (i = 0; i < sizeof(secret); i++)
        secret[i] = (uint8_t)i;
    is(fw_ns_contact_format(secret, "tcp://127.0.0.1:4242", contact),
       FW_SUCCESS, "format a contact");
    snprintf(s, sizeof(s), "%s@tcp://127.0.0.1:4242", hex);
    is_str(contact, s, "as <hex>@<uri>");
    is(fw_ns_contact_parse(contact, got, uri, &err), FW_SUCCESS,
       "parse it");
    ok(memcmp(got, secret, sizeof(got)) == 0, "secret survives");
    is_str(uri, "tcp://127.0.0.1:4242", "uri survives");
    snprintf(s, sizeof(s), "%s@tcp://[::1]:65535", hex);
    is(fw_ns_contact_parse(s, got, uri, &err), FW_SUCCESS, "IPv6 accepted");
    snprintf(path, sizeof(path), "/tmp/test_dpm_ns.%d", (int)getpid());
    f = fopen(path, "w");
    ok(f != NULL, "temp file");
    if (f != NULL) {
        fprintf(f, "%s\nsecond line ignored\n", contact);
        fclose(f);
    }
    snprintf(file, sizeof(file), "file:%s", path);
    memset(got, 0, sizeof(got));
    is(fw_ns_contact_parse(file, got, uri, &err), FW_SUCCESS,
       "file:PATH parsed");
    ok(memcmp(got, secret, sizeof(got)) == 0, "its secret");
    f = fopen(path, "w");
    if (f != NULL) {
        fprintf(f, "%s", contact);
        fclose(f);
    }
    is(fw_ns_contact_parse(file, got, uri, &err), FW_SUCCESS,
       "a file without the final newline");
    f = fopen(path, "w");
    if (f != NULL)
        fclose(f);
    strcpy(uri, "untouched");
    is(fw_ns_contact_parse(file, got, uri, &err), FW_ERR_PARSE,
       "an empty file");
    ok(strstr(err.text, path) != NULL && strstr(err.text, "empty") != NULL,
       "... named, and said to be empty: %s", err.text);
    f = fopen(path, "w");
    if (f != NULL) {
        for (i = 0; i < 600; i++)
            fputc('a', f);
        fclose(f);
    }
    is(fw_ns_contact_parse(file, got, uri, &err), FW_ERR_PARSE,
       "a long line");
    ok(strstr(err.text, "longer") != NULL, "... said so: %s", err.text);
    f = fopen(path, "w");
    if (f != NULL) {
        fprintf(f, "not a contact\n");
        fclose(f);
    }
    is(fw_ns_contact_parse(file, got, uri, &err), FW_ERR_PARSE,
       "a file of something else");
    ok(strstr(err.text, "not a contact string") != NULL, "... said so: %s",
       err.text);
    unlink(path);
    is(fw_ns_contact_parse(file, got, uri, &err), FW_ERR_PARSE,
       "a missing file");
    ok(strstr(err.text, path) != NULL &&
           strstr(err.text, strerror(ENOENT)) != NULL,
       "... named, with strerror: %s", err.text);
    is(fw_ns_contact_parse("file:/tmp", got, uri, &err), FW_ERR_PARSE,
       "a directory");
    ok(strstr(err.text, strerror(EISDIR)) != NULL, "... said so: %s",
       err.text);
    is(fw_ns_contact_parse("file:", got, uri, &err), FW_ERR_PARSE,
       "file: alone");
    ok(strstr(err.text, "PATH") != NULL, "... said so: %s", err.text);
    for (i = 0; i < sizeof(bad_uris) / sizeof(bad_uris[0]); i++) {
        snprintf(s, sizeof(s), "%s@%s", hex, bad_uris[i]);
        is(fw_ns_contact_parse(s, got, uri, &err), FW_ERR_PARSE, "refused: '%s'",
           bad_uris[i]);
    }
    snprintf(s, sizeof(s), "%s@tcp://127.0.0.1:1\n", hex);
    is(fw_ns_contact_parse(s, got, uri, &err), FW_ERR_PARSE,
       "a newline after a contact given as a string");
    n = snprintf(s, sizeof(s), "%s@tcp://127.0.0.1:1", hex);
    s[3] = 'g';
    is(fw_ns_contact_parse(s, got, uri, &err), FW_ERR_PARSE, "a non-hex digit");
    is(fw_ns_contact_parse(s + 1, got, uri, &err), FW_ERR_PARSE, "63 digits");
    snprintf(s, sizeof(s), "0%s@tcp://127.0.0.1:1", hex);
    is(fw_ns_contact_parse(s, got, uri, &err), FW_ERR_PARSE, "65 digits");
    snprintf(s, sizeof(s), "%s tcp://127.0.0.1:1", hex);
    is(fw_ns_contact_parse(s, got, uri, &err), FW_ERR_PARSE, "no '@'");
    is(fw_ns_contact_parse(NULL, got, uri, NULL), FW_ERR_PARSE,
       "NULL (and no error buffer)");
    is_str(uri, "untouched", "uri untouched by every failure");
    ok(n > 0 && got[0] == 0 && got[31] == 31, "secret untouched too");
}

int
main(void)
{
    test_basic();
    test_pending();
    test_expire_order();
    test_drop_cancel();
    test_reentrant();
    test_badparam();
    test_bounds();
    test_heap_stress();
    test_wire_req();
    test_wire_strict();
    test_wire_reply();
    test_fields();
    test_contact();
    return fw_test_done();
}
