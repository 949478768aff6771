/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Relaying (dpm/relay.h): fwd carries the dpm messages of processes that
 * have no endpoint of their own, mostly the children its job spawned on
 * this host (they would otherwise load libfabric before they can talk to
 * their parent). They connect to our relay listener
 * (fw_dpm_relay_uri(jobid), secret fw_dpm_relay_secret(job secret)).
 *
 *   client: OPENING --fabric ready--> OPEN (id, RELAY_OPEN_ACK)
 *           OPENING --fabric failed--> RELAY_OPEN_ACK(error)
 *   RELAY_SEND frames are joined, then sent whole from our endpoint (to a
 *   relay address: in fragments with the id as CQ data; to a process we
 *   relay: handed over directly); RELAY_SENT when the sends completed.
 *   Fragments for our ids arrive on FWD_RELAY_NRX posted receives of tag
 *   FW_DPM_RELAY_TAG and go to their process as RELAY_MSG.
 */
#define _GNU_SOURCE
#include "launcher/fwd.h"
#include "dpm/rail.h"
#include "dpm/relay.h"
#include "fabwire.h"
#include "common/log.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

#define FWD_RELAY_NRX 8
/* Bytes queued toward one process above which we stop taking fragments
 * for it: its receive buffer waits (held) and the senders' fabric
 * backpressure does the rest, as when a process is slow to receive. */
#define FWD_RELAY_BACKLOG (4u << 20)

static const struct timeval fwd_relay_1ms = {0, 1000};

typedef struct fwd_rclient {
    struct fwd_rclient *next;
    uint32_t id;
    fw_oob_conn_t *conn;
    int open;          /* RELAY_OPEN_ACK sent with success */
    int waiting;       /* RELAY_OPEN received, fabric not ready */
    /* the message being joined from RELAY_SEND frames */
    int joining;
    uint32_t seq;
    int ms;
    uint64_t tag;
    uint8_t dest[FW_MAX_ADDR];
    size_t dlen;
    fw_buf_t msg;
    /* its own endpoint's address (RELAY_ADDR), and who waits for it */
    int own_known, asked;
    fw_status_t own_st;
    uint8_t own[FW_MAX_ADDR];
    size_t own_len;
    struct fwd_rask *asks;
    unsigned nasks;
} fwd_rclient_t;

typedef struct fwd_rask {      /* an address query waiting for RELAY_ADDR */
    struct fwd_rask *next;
    uint64_t tag;              /* the asker's reply tag */
    uint8_t addr[FW_MAX_ADDR]; /* the asker's address */
    size_t len;
} fwd_rask_t;

/* Queries kept per process at most (the rest are answered NO_MEM). */
#define FWD_RELAY_MAX_ASKS 4096

typedef struct fwd_rpeer {
    struct fwd_rpeer *next;
    uint8_t addr[FW_MAX_ADDR];
    size_t len;
    uint64_t peer;
} fwd_rpeer_t;

typedef struct fwd_rsend {     /* sends of one message in flight */
    fwd_t *d;
    uint32_t id, seq;
    int ms;                    /* the sender's time limit */
    int pending;
    fw_status_t st;
    uint8_t *buf;
} fwd_rsend_t;

typedef struct fwd_rrx {
    fwd_t *d;
    uint8_t *buf;
    uint32_t held;   /* id whose backlog is too long: not posted again */
} fwd_rrx_t;

typedef struct fwd_relay fwd_relay_t;

struct fwd_relay {
    fwd_rclient_t *clients;
    uint32_t next_id;
    fwd_rpeer_t *peers;
    fwd_rrx_t rx[FWD_RELAY_NRX];
    int posted;
    uint8_t addr[FW_MAX_ADDR]; /* our endpoint's */
    size_t addr_len;
    struct event *held_ev;     /* looks at held receives every 1 ms */
};

static fwd_rclient_t *
fwd_relay_client(fwd_t *d, uint32_t id)
{
    fwd_rclient_t *c;

    for (c = d->relay != NULL ? d->relay->clients : NULL; c != NULL;
         c = c->next)
        if (c->id == id && c->open)
            return c;
    return NULL;
}

static void
fwd_relay_sent(fwd_t *d, uint32_t id, uint32_t seq, fw_status_t st)
{
    fwd_rclient_t *c = fwd_relay_client(d, id);
    uint8_t b[8];

    if (c == NULL)
        return;
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(seq >> (24 - 8 * i));
        b[4 + i] = (uint8_t)((uint32_t)-st >> (24 - 8 * i));
    }
    (void)fw_oob_send(c->conn, FW_DPM_MSG_RELAY_SENT, 0, 0, b, sizeof(b));
}

/* One RELAY_MSG frame to process c. */
static fw_status_t
fwd_relay_to_client(fwd_rclient_t *c, uint64_t msgid, int more, uint64_t tag,
                    const void *p, size_t n)
{
    fw_status_t rc;
    fw_buf_t b;

    fw_buf_init(&b);
    fw_buf_put_u64(&b, msgid);
    fw_buf_put_u8(&b, (uint8_t)more);
    fw_buf_put_u64(&b, tag);
    fw_buf_put_bytes(&b, p, n);
    rc = fw_buf_status(&b);
    if (rc == FW_SUCCESS)
        rc = fw_oob_send(c->conn, FW_DPM_MSG_RELAY_MSG, 0, 0, b.data, b.len);
    fw_buf_cleanup(&b);
    return rc;
}

/*****************/
/* Receive side  */
/*****************/

static void fwd_relay_rx_cb(const fw_fab_cmpl_t *cmpl, void *arg);
static void fwd_relay_ask(fwd_t *d, uint32_t id, const uint8_t *p,
                          size_t len);

static fw_status_t
fwd_relay_post(fwd_rrx_t *x)
{
    return fw_fab_trecv_nb(x->d->fab, FW_DPM_RELAY_TAG, 0, x->buf,
                           FW_DPM_RELAY_FRAG, fwd_relay_rx_cb, x);
}

/* A fragment for one of our ids: on to its process, then post again. */
static void
fwd_relay_rx_cb(const fw_fab_cmpl_t *cmpl, void *arg)
{
    fwd_rrx_t *x = arg;
    fwd_rclient_t *c;
    const uint8_t *data;
    uint64_t tag, msgid;
    size_t n;

    if (cmpl->status == FW_ERR_TIMEOUT)
        return; /* cancelled: the endpoint is closing */
    if (cmpl->status != FW_SUCCESS ||
        fw_dpm_relay_frag_parse(x->buf, cmpl->len, &tag, &msgid, &data,
                                &n) != FW_SUCCESS) {
        FW_LOG_WARN("dpm", "daemon %u: relay: bad fragment (%s)", x->d->id,
                    fw_strerror(cmpl->status));
    } else if (tag == FW_DPM_RELAY_TAG) {
        fwd_relay_ask(x->d, (uint32_t)(cmpl->data & FW_DPM_RELAY_ID_MAX),
                      data, n);
    } else if ((c = fwd_relay_client(x->d, (uint32_t)(cmpl->data &
                                                      FW_DPM_RELAY_ID_MAX)))
               != NULL) {
        (void)fwd_relay_to_client(c, msgid,
                                  (cmpl->data & FW_DPM_RELAY_MORE) != 0, tag,
                                  data, n);
        if (fw_oob_conn_pending(c->conn) > FWD_RELAY_BACKLOG) {
            x->held = c->id; /* posted again when it has drained */
            evtimer_add(x->d->relay->held_ev, &fwd_relay_1ms);
            return;
        }
    } else {
        FW_LOG_DEBUG("dpm", "daemon %u: relay: fragment for id %llu, gone",
                     x->d->id, (unsigned long long)cmpl->data);
    }
    if (fwd_relay_post(x) != FW_SUCCESS)
        FW_LOG_ERR("dpm", "daemon %u: relay: cannot post a receive",
                   x->d->id);
}

/* Held receives whose process drained (or left) are posted again. */
static void
fwd_relay_held_cb(evutil_socket_t fd, short what, void *arg)
{
    fwd_t *d = arg;
    fwd_rclient_t *c;
    int waiting = 0;

    for (int i = 0; i < FWD_RELAY_NRX && d->fab != NULL; i++) {
        fwd_rrx_t *x = &d->relay->rx[i];

        if (x->held == 0)
            continue;
        c = fwd_relay_client(d, x->held);
        if (c != NULL && fw_oob_conn_pending(c->conn) > FWD_RELAY_BACKLOG / 2) {
            waiting = 1;
            continue;
        }
        x->held = 0;
        if (fwd_relay_post(x) != FW_SUCCESS)
            FW_LOG_ERR("dpm", "daemon %u: relay: cannot post a receive",
                       d->id);
    }
    if (waiting)
        evtimer_add(d->relay->held_ev, &fwd_relay_1ms);
}

/******************/
/* Send side      */
/******************/

static void
fwd_relay_send_cb(const fw_fab_cmpl_t *cmpl, void *arg)
{
    fwd_rsend_t *s = arg;

    if (cmpl->status != FW_SUCCESS && s->st == FW_SUCCESS)
        s->st = cmpl->status;
    if (--s->pending > 0)
        return;
    fwd_relay_sent(s->d, s->id, s->seq, s->st);
    free(s->buf);
    free(s);
}

/* Our AV handle of addr (cached). */
static fw_status_t
fwd_relay_peer(fwd_t *d, const uint8_t *addr, size_t len, uint64_t *peer_p)
{
    const uint8_t *inner;
    size_t ilen = 0;
    fwd_rpeer_t *p;
    fw_status_t rc;

    for (p = d->relay->peers; p != NULL; p = p->next)
        if (p->len == len && memcmp(p->addr, addr, len) == 0)
            break;
    if (p == NULL) {
        if (len > sizeof(p->addr))
            return FW_ERR_BAD_PARAM;
        p = calloc(1, sizeof(*p));
        if (p == NULL)
            return FW_ERR_NO_MEM;
        /* a rail address (dpm/rail.h): the daemon's provider's part */
        fw_dpm_rail_addr_primary(addr, len, &inner, &ilen);
        rc = fw_fab_av_insert(d->fab, inner, ilen, &p->peer);
        if (rc != FW_SUCCESS) {
            free(p);
            return rc;
        }
        memcpy(p->addr, addr, len);
        p->len = len;
        p->next = d->relay->peers;
        d->relay->peers = p;
    }
    *peer_p = p->peer;
    return FW_SUCCESS;
}

/* Fragments of s->buf (len bytes of message) to relay id at peer. */
static fw_status_t
fwd_relay_send_frags(fwd_t *d, fwd_rsend_t *s, uint64_t peer, uint32_t id,
                     uint64_t tag, const uint8_t *msg, size_t len)
{
    const size_t room = FW_DPM_RELAY_FRAG - FW_DPM_RELAY_HDR;
    size_t nfrag = len == 0 ? 1 : (len + room - 1) / room, off = 0;
    uint64_t msgid = 0;
    fw_status_t rc = fw_random_bytes(&msgid, sizeof(msgid));

    s->buf = malloc(nfrag * FW_DPM_RELAY_FRAG);
    if (s->buf == NULL)
        return FW_ERR_NO_MEM;
    for (size_t i = 0; i < nfrag && rc == FW_SUCCESS; i++) {
        uint8_t *f = s->buf + i * FW_DPM_RELAY_FRAG;
        size_t n = len - off < room ? len - off : room;

        fw_dpm_relay_frag_hdr(f, tag, msgid);
        if (n > 0)
            memcpy(f + FW_DPM_RELAY_HDR, msg + off, n);
        off += n;
        s->pending++;
        rc = fw_fab_tsenddata_nb(d->fab, peer, FW_DPM_RELAY_TAG,
                                 id | (i + 1 < nfrag ? FW_DPM_RELAY_MORE : 0),
                                 f, FW_DPM_RELAY_HDR + n, s->ms,
                                 fwd_relay_send_cb, s);
        if (rc != FW_SUCCESS)
            s->pending--;
    }
    return rc;
}

/* To a process we relay ourselves: straight to its connection (an
 * address query for it: to us). */
static fw_status_t
fwd_relay_local(fwd_t *d, uint32_t id, uint64_t tag, const uint8_t *msg,
                size_t len)
{
    fwd_rclient_t *c = fwd_relay_client(d, id);
    uint64_t msgid = 0;
    fw_status_t rc = fw_random_bytes(&msgid, sizeof(msgid));
    size_t off = 0;

    if (tag == FW_DPM_RELAY_TAG) {
        fwd_relay_ask(d, id, msg, len);
        return FW_SUCCESS;
    }
    if (c == NULL)
        return FW_ERR_UNREACHABLE;
    do {
        size_t n = len - off < FW_DPM_RELAY_CHUNK ? len - off
                                                  : FW_DPM_RELAY_CHUNK;

        if (rc == FW_SUCCESS)
            rc = fwd_relay_to_client(c, msgid, off + n < len, tag, msg + off,
                                     n);
        off += n;
    } while (rc == FW_SUCCESS && off < len);
    return rc;
}

/*
 * A message from us to dest; RELAY_SENT to process from (0: none, our
 * own message) follows its completion. msg's buffer may be taken.
 */
static void
fwd_relay_out(fwd_t *d, uint32_t from, uint32_t seq, int ms,
              const uint8_t *dest, size_t dlen, uint64_t tag, fw_buf_t *msg)
{
    const uint8_t *inner = dest;
    size_t ilen = dlen;
    uint32_t id = 0;
    uint64_t peer;
    fwd_rsend_t *s;
    fw_status_t rc;
    int relay = fw_dpm_relay_addr_parse(dest, dlen, &id, &inner, &ilen);

    if (relay && ilen == d->relay->addr_len &&
        memcmp(inner, d->relay->addr, ilen) == 0) {
        rc = fwd_relay_local(d, id, tag, msg->data, msg->len);
        fwd_relay_sent(d, from, seq, rc);
        return;
    }
    s = calloc(1, sizeof(*s));
    rc = s == NULL ? FW_ERR_NO_MEM : FW_SUCCESS;
    if (rc == FW_SUCCESS)
        rc = fwd_relay_peer(d, inner, ilen, &peer);
    if (rc == FW_SUCCESS) {
        *s = (fwd_rsend_t){d, from, seq, ms, 0, FW_SUCCESS, NULL};
        if (relay) {
            rc = fwd_relay_send_frags(d, s, peer, id, tag, msg->data,
                                      msg->len);
        } else {
            /* the message's buffer goes with the send */
            s->buf = msg->data;
            msg->data = NULL;
            s->pending = 1;
            /* data 0 (no relay id): a time limit needs the data form */
            rc = fw_fab_tsenddata_nb(d->fab, peer, tag, 0, s->buf, msg->len,
                                     s->ms, fwd_relay_send_cb, s);
            if (rc != FW_SUCCESS)
                s->pending = 0;
        }
        if (rc != FW_SUCCESS && s->st == FW_SUCCESS)
            s->st = rc;
        if (s->pending > 0)
            return; /* the last completion answers */
        rc = s->st;
        free(s->buf);
    }
    free(s);
    fwd_relay_sent(d, from, seq, rc);
}

/******************/
/* Address queries */
/******************/

/* The answer to one query: u32 -status, blob address. */
static void
fwd_relay_answer(fwd_t *d, fwd_rclient_t *c, uint64_t tag,
                 const uint8_t *to, size_t tolen, fw_status_t st)
{
    fw_buf_t b;

    if (c != NULL && st == FW_SUCCESS)
        st = c->own_st;
    fw_buf_init(&b);
    fw_buf_put_u32(&b, (uint32_t)-st);
    fw_buf_put_blob(&b, c != NULL ? c->own : NULL,
                    st == FW_SUCCESS ? c->own_len : 0);
    if (fw_buf_status(&b) == FW_SUCCESS)
        fwd_relay_out(d, 0, 0, 10000, to, tolen, tag, &b);
    fw_buf_cleanup(&b);
}

/* Answer every query waiting for c (st: why it cannot be, if not 0). */
static void
fwd_relay_answer_all(fwd_t *d, fwd_rclient_t *c, fw_status_t st)
{
    fwd_rask_t *a;

    while ((a = c->asks) != NULL) {
        c->asks = a->next;
        fwd_relay_answer(d, st == FW_SUCCESS ? c : NULL, a->tag, a->addr,
                         a->len, st);
        free(a);
    }
    c->nasks = 0;
}

/* A query for process id's own address (relay.h): answered, or kept
 * until it tells us (it is asked once). */
static void
fwd_relay_ask(fwd_t *d, uint32_t id, const uint8_t *p, size_t len)
{
    fwd_rclient_t *c = fwd_relay_client(d, id);
    const void *to;
    size_t tolen = 0;
    uint64_t tag;
    fwd_rask_t *a;
    fw_rbuf_t rb;

    fw_rbuf_init(&rb, p, len);
    tag = fw_rbuf_get_u64(&rb);
    to = fw_rbuf_get_blob(&rb, FW_MAX_ADDR, &tolen);
    if (fw_rbuf_status(&rb) != FW_SUCCESS || to == NULL || tolen == 0) {
        FW_LOG_WARN("dpm", "daemon %u: relay: bad address query", d->id);
        return;
    }
    if (c == NULL || c->own_known) {
        fwd_relay_answer(d, c, tag, to, tolen,
                         c == NULL ? FW_ERR_UNREACHABLE : FW_SUCCESS);
        return;
    }
    a = c->nasks < FWD_RELAY_MAX_ASKS ? calloc(1, sizeof(*a)) : NULL;
    if (a == NULL) {
        fwd_relay_answer(d, NULL, tag, to, tolen, FW_ERR_NO_MEM);
        return;
    }
    a->tag = tag;
    memcpy(a->addr, to, tolen);
    a->len = tolen;
    a->next = c->asks;
    c->asks = a;
    c->nasks++;
    if (!c->asked &&
        fwd_relay_to_client(c, 0, 0, FW_DPM_RELAY_TAG, NULL, 0) == FW_SUCCESS)
        c->asked = 1;
}

/* RELAY_ADDR: process c's own endpoint opened (or could not). */
static void
fwd_relay_own(fwd_t *d, fwd_rclient_t *c, const void *p, size_t len)
{
    const void *a;
    size_t alen = 0;
    fw_rbuf_t rb;
    fw_status_t st;

    fw_rbuf_init(&rb, p, len);
    st = (fw_status_t)-(int32_t)fw_rbuf_get_u32(&rb);
    a = fw_rbuf_get_blob(&rb, FW_MAX_ADDR, &alen);
    if (!c->open || c->own_known || fw_rbuf_status(&rb) != FW_SUCCESS ||
        st > 0 || (st == FW_SUCCESS && (a == NULL || alen == 0))) {
        fw_oob_conn_close(c->conn);
        return;
    }
    c->own_known = 1;
    c->own_st = st;
    if (st == FW_SUCCESS)
        memcpy(c->own, a, alen);
    c->own_len = st == FW_SUCCESS ? alen : 0;
    fwd_relay_answer_all(d, c, FW_SUCCESS);
}

/******************/
/* Connections    */
/******************/

static void
fwd_relay_ack(fwd_t *d, fwd_rclient_t *c)
{
    fw_status_t st = d->fab == NULL ? (d->fab_rc != FW_SUCCESS ? d->fab_rc
                                                               : FW_ERR_FABRIC)
                     : fw_fab_cq_data_size(d->fab) < 4 ? FW_ERR_UNSUPPORTED
                     : !d->relay->posted ? FW_ERR_FABRIC
                                         : FW_SUCCESS;
    fw_buf_t b;

    c->waiting = 0;
    c->open = st == FW_SUCCESS;
    fw_buf_init(&b);
    fw_buf_put_u32(&b, (uint32_t)-st);
    fw_buf_put_u32(&b, c->id);
    fw_buf_put_str(&b, st == FW_SUCCESS ? fw_fab_provider(d->fab) : "");
    fw_buf_put_u8(&b, st == FW_SUCCESS && fw_fab_exact_tags(d->fab));
    fw_buf_put_blob(&b, d->relay->addr, st == FW_SUCCESS
                                            ? d->relay->addr_len : 0);
    if (fw_buf_status(&b) != FW_SUCCESS ||
        fw_oob_send(c->conn, FW_DPM_MSG_RELAY_OPEN_ACK, 0, 0, b.data,
                    b.len) != FW_SUCCESS)
        fw_oob_conn_close(c->conn);
    fw_buf_cleanup(&b);
}

/* The endpoint opened (or could not): post our receives, answer the
 * processes waiting for it. */
void
fwd_relay_fabric_ready(fwd_t *d)
{
    fwd_relay_t *r = d->relay;
    fwd_rclient_t *c;
    int i;

    if (r == NULL)
        return;
    if (d->fab != NULL && !r->posted) {
        r->addr_len = sizeof(r->addr);
        if (fw_fab_addr_get(d->fab, r->addr, &r->addr_len) != FW_SUCCESS)
            r->addr_len = 0;
        for (i = 0; i < FWD_RELAY_NRX; i++) {
            r->rx[i].d = d;
            r->rx[i].buf = r->rx[i].buf != NULL ? r->rx[i].buf
                                                : malloc(FW_DPM_RELAY_FRAG);
            if (r->rx[i].buf == NULL || fwd_relay_post(&r->rx[i]) !=
                                            FW_SUCCESS)
                break;
        }
        r->posted = i == FWD_RELAY_NRX && r->addr_len > 0;
    }
    for (c = r->clients; c != NULL; c = c->next)
        if (c->waiting)
            fwd_relay_ack(d, c);
}

static void
fwd_relay_open(fwd_t *d, fwd_rclient_t *c, const uint8_t *p, size_t len)
{
    if (len < 1 || p[0] != FW_DPM_RELAY_VERSION || c->open || c->waiting) {
        fw_oob_conn_close(c->conn);
        return;
    }
    c->waiting = 1;
    if (d->fab != NULL || d->fab_rc != FW_SUCCESS) {
        fwd_relay_ack(d, c);
        return;
    }
    fwd_fabric_warm(d); /* answered by fwd_relay_fabric_ready */
    if (d->warm == NULL && d->fab == NULL)
        (void)fwd_fabric_open(d); /* no thread: open here */
}

/* One RELAY_SEND frame: joined, and sent when it is the last. */
static void
fwd_relay_send(fwd_t *d, fwd_rclient_t *c, const void *p, size_t len)
{
    fw_rbuf_t rb;
    uint32_t seq;
    uint64_t tag;
    const void *dest;
    size_t dlen = 0;
    int more, ms;

    fw_rbuf_init(&rb, p, len);
    seq = fw_rbuf_get_u32(&rb);
    more = fw_rbuf_get_u8(&rb);
    ms = (int)(fw_rbuf_get_u32(&rb) & 0x7fffffffu);
    tag = fw_rbuf_get_u64(&rb);
    dest = fw_rbuf_get_blob(&rb, FW_MAX_ADDR, &dlen);
    if (!c->open || dest == NULL || fw_rbuf_status(&rb) != FW_SUCCESS ||
        (c->joining && c->seq != seq)) {
        fw_oob_conn_close(c->conn);
        return;
    }
    if (!c->joining) {
        c->joining = 1;
        c->seq = seq;
        c->ms = ms;
        c->tag = tag;
        memcpy(c->dest, dest, dlen);
        c->dlen = dlen;
        fw_buf_init(&c->msg);
    }
    fw_buf_put_bytes(&c->msg, (const uint8_t *)p + rb.pos, len - rb.pos);
    if (more)
        return;
    c->joining = 0;
    if (fw_buf_status(&c->msg) != FW_SUCCESS)
        fwd_relay_sent(d, c->id, c->seq, FW_ERR_NO_MEM);
    else
        fwd_relay_out(d, c->id, c->seq, c->ms, c->dest, c->dlen, c->tag,
                      &c->msg);
    fw_buf_cleanup(&c->msg);
}

void
fwd_relay_opened(fwd_t *d, fw_oob_conn_t *conn)
{
    fwd_rclient_t *c;

    if (fw_oob_conn_peer_kind(conn) != FW_OOB_PEER_TOOL || d->relay == NULL ||
        d->shutting_down || (c = calloc(1, sizeof(*c))) == NULL) {
        fw_oob_conn_close(conn);
        return;
    }
    c->conn = conn;
    c->id = ++d->relay->next_id;
    c->next = d->relay->clients;
    d->relay->clients = c;
    fw_oob_conn_set_ctx(conn, c);
}

void
fwd_relay_msg(fwd_t *d, fw_oob_conn_t *conn, const fw_oob_hdr_t *h,
              const void *p)
{
    fwd_rclient_t *c = fw_oob_conn_get_ctx(conn);

    if (c == NULL)
        return;
    if (h->type == FW_DPM_MSG_RELAY_OPEN)
        fwd_relay_open(d, c, p, h->len);
    else if (h->type == FW_DPM_MSG_RELAY_SEND)
        fwd_relay_send(d, c, p, h->len);
    else if (h->type == FW_DPM_MSG_RELAY_ADDR)
        fwd_relay_own(d, c, p, h->len);
    else
        fw_oob_conn_close(conn);
}

void
fwd_relay_closed(fwd_t *d, fw_oob_conn_t *conn)
{
    fwd_rclient_t **pp, *c = fw_oob_conn_get_ctx(conn);

    for (pp = d->relay != NULL ? &d->relay->clients : NULL;
         pp != NULL && *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            fwd_relay_answer_all(d, c, FW_ERR_UNREACHABLE);
            fw_buf_cleanup(&c->msg);
            free(c);
            return;
        }
    }
}

/******************/
/* Life           */
/******************/

static void
fwd_relay_opened_cb(fw_oob_conn_t *c, void *arg)
{
    fwd_relay_opened(arg, c);
}

static void
fwd_relay_msg_cb(fw_oob_conn_t *c, const fw_oob_hdr_t *h, const void *p,
                 void *arg)
{
    fwd_relay_msg(arg, c, h, p);
}

static void
fwd_relay_closed_cb(fw_oob_conn_t *c, fw_status_t why, void *arg)
{
    fwd_relay_closed(arg, c);
}

static const struct fw_oob_conn_ops fwd_relay_ops = {
    fwd_relay_opened_cb, fwd_relay_msg_cb, fwd_relay_closed_cb};

fw_status_t
fwd_relay_setup(fwd_t *d)
{
    uint8_t secret[FW_OOB_SECRET_LEN];
    char uri[FW_OOB_URI_MAX];
    fw_error_t err;
    fw_status_t rc;

    d->relay = calloc(1, sizeof(*d->relay));
    if (d->relay == NULL)
        return FW_ERR_NO_MEM;
    d->relay->held_ev = evtimer_new(d->base, fwd_relay_held_cb, d);
    if (d->relay->held_ev == NULL)
        return FW_ERR_NO_MEM;
    fw_dpm_relay_secret(d->secret, secret);
    rc = fw_dpm_relay_uri(d->jobid, uri, sizeof(uri));
    if (rc == FW_SUCCESS)
        rc = fw_oob_listen(d->base, uri, secret, &fwd_relay_ops, d,
                           &d->relay_l, &err);
    memset(secret, 0, sizeof(secret));
    if (rc != FW_SUCCESS) /* a second daemon of the job on this host */
        FW_LOG_DEBUG("dpm", "daemon %u: no relay listener: %s", d->id,
                     rc == FW_ERR_TOO_BIG ? "job id too long" : err.text);
    return FW_SUCCESS;
}

/* Before the endpoint closes: no more processes. */
void
fwd_relay_stop(fwd_t *d)
{
    fwd_rclient_t *c;

    fw_oob_listener_destroy(d->relay_l);
    d->relay_l = NULL;
    while (d->relay != NULL && (c = d->relay->clients) != NULL) {
        d->relay->clients = c->next;
        fw_oob_conn_set_ctx(c->conn, NULL);
        fw_oob_conn_close(c->conn);
        fwd_relay_answer_all(d, c, FW_ERR_UNREACHABLE);
        fw_buf_cleanup(&c->msg);
        free(c);
    }
}

/* After the endpoint closed (posted receives are gone with it). */
void
fwd_relay_free(fwd_t *d)
{
    fwd_rpeer_t *p;

    if (d->relay == NULL)
        return;
    if (d->relay->held_ev != NULL)
        event_free(d->relay->held_ev);
    for (int i = 0; i < FWD_RELAY_NRX; i++)
        free(d->relay->rx[i].buf);
    while ((p = d->relay->peers) != NULL) {
        d->relay->peers = p->next;
        free(p);
    }
    free(d->relay);
    d->relay = NULL;
}
