/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A relayed process's side of relaying (relay.h): one connection to the
 * daemon that carries our dpm messages. Sends wait for the daemon's
 * RELAY_SENT; messages for us arrive as RELAY_MSG fragments, are joined
 * by msgid and kept in arrival order (of their last fragment) until a
 * receive matches them. Matching is ours, so wildcards need no provider
 * support.
 */
#include "dpm/dpm_int.h"
#include "dpm/relay.h"
#include "oob/oob.h"
#include "common/log.h"
#include "common/util.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

typedef struct fw_dpm_rmsg {
    struct fw_dpm_rmsg *next;
    uint64_t msgid, tag;
    uint8_t *data;
    size_t len, cap;
} fw_dpm_rmsg_t;

struct fw_dpm_relay {
    fw_oob_sconn_t *conn;
    uint32_t id;
    char provider[64];
    int exact_tags;
    uint8_t addr[FW_MAX_ADDR]; /* our relay address */
    size_t addr_len;
    uint32_t seq;
    fw_dpm_rmsg_t *partial;          /* fragments being joined */
    fw_dpm_rmsg_t *head, *tail;      /* whole messages, oldest first */
    int asked;                       /* a peer wants our own address */
    int broken;                      /* a read failed: not polled again */
    void (*ask_fn)(void *);
    void *ask_arg;
};

static fw_status_t fw_dpm_relay_read(fw_dpm_relay_t *r, int timeout_ms,
                                     uint32_t seq, int *sent_p,
                                     fw_status_t *st_p);

static void
fw_dpm_rmsg_free(fw_dpm_rmsg_t *m)
{
    if (m != NULL)
        free(m->data);
    free(m);
}

static fw_status_t
fw_dpm_relay_ack(fw_dpm_relay_t *r, const void *p, size_t len)
{
    const void *a;
    char *prov;
    size_t al = 0;
    fw_rbuf_t rb;
    uint32_t st;
    fw_status_t rc;

    fw_rbuf_init(&rb, p, len);
    st = fw_rbuf_get_u32(&rb);
    r->id = fw_rbuf_get_u32(&rb);
    prov = fw_rbuf_get_str(&rb, sizeof(r->provider));
    r->exact_tags = fw_rbuf_get_u8(&rb);
    a = fw_rbuf_get_blob(&rb, FW_MAX_ADDR, &al);
    rc = fw_rbuf_status(&rb) != FW_SUCCESS || prov == NULL || a == NULL
             ? FW_ERR_PROTO
             : (fw_status_t)-(int32_t)st;
    if (rc == FW_SUCCESS) {
        snprintf(r->provider, sizeof(r->provider), "%s", prov);
        r->addr_len = sizeof(r->addr);
        rc = fw_dpm_relay_addr_make(r->id, a, al, r->addr, &r->addr_len);
    }
    free(prov);
    return rc;
}

fw_status_t
fw_dpm_relay_open(const char *uri, const uint8_t secret[FW_OOB_SECRET_LEN],
                  uint32_t rank, int timeout_ms, fw_dpm_relay_t **r_p)
{
    uint8_t v = FW_DPM_RELAY_VERSION;
    fw_oob_frame_t first = {FW_DPM_MSG_RELAY_OPEN, &v, 1};
    fw_dpm_relay_t *r = calloc(1, sizeof(*r));
    const void *p = NULL;
    fw_oob_hdr_t h;
    fw_error_t err;
    fw_status_t rc;

    if (r == NULL)
        return FW_ERR_NO_MEM;
    rc = fw_oob_sconn_open_send(uri, secret, FW_OOB_PEER_TOOL, rank,
                                timeout_ms, &first, &r->conn, &err);
    if (rc != FW_SUCCESS)
        FW_LOG_DEBUG("dpm", "relay %s: %s", uri, err.text);
    if (rc == FW_SUCCESS)
        rc = fw_oob_sconn_recv(r->conn, timeout_ms, &h, &p);
    if (rc == FW_SUCCESS)
        rc = h.type == FW_DPM_MSG_RELAY_OPEN_ACK ? fw_dpm_relay_ack(r, p, h.len)
                                                 : FW_ERR_PROTO;
    if (rc != FW_SUCCESS) {
        fw_dpm_relay_close(r);
        return rc == FW_ERR_CONN_CLOSED ? FW_ERR_UNREACHABLE : rc;
    }
    *r_p = r;
    return FW_SUCCESS;
}

void
fw_dpm_relay_close(fw_dpm_relay_t *r)
{
    fw_dpm_rmsg_t *m;

    if (r == NULL)
        return;
    while ((m = r->head) != NULL) {
        r->head = m->next;
        fw_dpm_rmsg_free(m);
    }
    while ((m = r->partial) != NULL) {
        r->partial = m->next;
        fw_dpm_rmsg_free(m);
    }
    fw_oob_sconn_close(r->conn);
    free(r);
}

const char *
fw_dpm_relay_provider(const fw_dpm_relay_t *r)
{
    return r->provider;
}

int
fw_dpm_relay_exact_tags(const fw_dpm_relay_t *r)
{
    return r->exact_tags;
}

fw_status_t
fw_dpm_relay_addr(const fw_dpm_relay_t *r, void *buf, size_t *len_p)
{
    if (buf == NULL || *len_p < r->addr_len) {
        *len_p = r->addr_len;
        return FW_ERR_TOO_BIG;
    }
    memcpy(buf, r->addr, r->addr_len);
    *len_p = r->addr_len;
    return FW_SUCCESS;
}

int
fw_dpm_relay_fd(const fw_dpm_relay_t *r)
{
    return r->broken ? -1 : fw_oob_sconn_fd(r->conn);
}

void
fw_dpm_relay_set_idle(fw_dpm_relay_t *r, const fw_oob_idle_t *idle)
{
    fw_oob_sconn_set_idle(r->conn, idle);
}

/* One frame, if one has come (while we wait for something else). */
void
fw_dpm_relay_pump(fw_dpm_relay_t *r)
{
    struct pollfd pfd = {fw_oob_sconn_fd(r->conn), POLLIN, 0};

    if (r->broken || poll(&pfd, 1, 0) <= 0)
        return;
    /* the daemon writes whole frames: the rest of this one is coming */
    if (fw_dpm_relay_read(r, 10000, 0, NULL, NULL) != FW_SUCCESS)
        r->broken = 1; /* the next relay call reports it */
}

void
fw_dpm_relay_on_ask(fw_dpm_relay_t *r, void (*fn)(void *), void *arg)
{
    r->ask_fn = fn;
    r->ask_arg = arg;
}

fw_status_t
fw_dpm_relay_post_addr(fw_dpm_relay_t *r, fw_status_t st, const void *addr,
                       size_t len)
{
    fw_status_t rc;
    fw_buf_t b;

    r->asked = 2;
    fw_buf_init(&b);
    fw_buf_put_u32(&b, (uint32_t)-st);
    fw_buf_put_blob(&b, addr, st == FW_SUCCESS ? len : 0);
    rc = fw_buf_status(&b);
    if (rc == FW_SUCCESS)
        rc = fw_oob_sconn_send(r->conn, FW_DPM_MSG_RELAY_ADDR, 0, 0, b.data,
                               b.len);
    fw_buf_cleanup(&b);
    return rc;
}

/* Append a RELAY_MSG fragment to its message; a whole one joins the
 * inbox. */
static fw_status_t
fw_dpm_relay_take(fw_dpm_relay_t *r, const void *p, size_t len)
{
    fw_dpm_rmsg_t **pp, *m;
    uint64_t msgid, tag;
    fw_rbuf_t rb;
    size_t n;
    int more;

    fw_rbuf_init(&rb, p, len);
    msgid = fw_rbuf_get_u64(&rb);
    more = fw_rbuf_get_u8(&rb);
    tag = fw_rbuf_get_u64(&rb);
    if (fw_rbuf_status(&rb) != FW_SUCCESS)
        return FW_ERR_PROTO;
    n = len - rb.pos;
    for (pp = &r->partial; (m = *pp) != NULL; pp = &m->next)
        if (m->msgid == msgid && m->tag == tag)
            break;
    if (m == NULL) {
        m = calloc(1, sizeof(*m));
        if (m == NULL)
            return FW_ERR_NO_MEM;
        m->msgid = msgid;
        m->tag = tag;
        m->next = r->partial;
        r->partial = m;
        pp = &r->partial;
    }
    if (m->len + n > m->cap) {
        size_t cap = m->len + n > 2 * m->cap ? m->len + n : 2 * m->cap;
        uint8_t *d = realloc(m->data, cap > 0 ? cap : 1);

        if (d == NULL)
            return FW_ERR_NO_MEM;
        m->data = d;
        m->cap = cap;
    }
    if (n > 0)
        memcpy(m->data + m->len, (const uint8_t *)p + rb.pos, n);
    m->len += n;
    if (more)
        return FW_SUCCESS;
    *pp = m->next;
    m->next = NULL;
    if (tag == FW_DPM_RELAY_TAG) { /* an address query (relay.h) */
        fw_dpm_rmsg_free(m);
        if (r->asked == 0)
            r->asked = 1;
        return FW_SUCCESS;
    }
    if (r->tail != NULL)
        r->tail->next = m;
    else
        r->head = m;
    r->tail = m;
    return FW_SUCCESS;
}

/*
 * Read one frame within timeout_ms: a RELAY_MSG goes to the inbox, a
 * RELAY_SENT for seq sets *sent_p (its status in *st_p).
 */
static fw_status_t
fw_dpm_relay_read(fw_dpm_relay_t *r, int timeout_ms, uint32_t seq,
                  int *sent_p, fw_status_t *st_p)
{
    const void *p = NULL;
    fw_oob_hdr_t h;
    fw_rbuf_t rb;
    uint32_t s, st;
    fw_status_t rc;

    if (r->broken) /* a pump gave up inside a frame: out of step */
        return FW_ERR_UNREACHABLE;
    rc = fw_oob_sconn_recv(r->conn, timeout_ms, &h, &p);
    if (rc == FW_ERR_CONN_CLOSED)
        return FW_ERR_UNREACHABLE;
    if (rc != FW_SUCCESS)
        return rc;
    if (h.type == FW_DPM_MSG_RELAY_MSG) {
        rc = fw_dpm_relay_take(r, p, h.len);
        if (r->asked == 1 && r->ask_fn != NULL) {
            r->asked = 2; /* answered once, whatever the outcome */
            r->ask_fn(r->ask_arg);
        }
        return rc;
    }
    if (h.type != FW_DPM_MSG_RELAY_SENT)
        return FW_ERR_PROTO;
    fw_rbuf_init(&rb, p, h.len);
    s = fw_rbuf_get_u32(&rb);
    st = fw_rbuf_get_u32(&rb);
    if (fw_rbuf_status(&rb) != FW_SUCCESS)
        return FW_ERR_PROTO;
    if (sent_p != NULL && s == seq) {
        *sent_p = 1;
        *st_p = (fw_status_t)-(int32_t)st;
    }
    return FW_SUCCESS;
}

/* Milliseconds left until end_ns (-1: no end). */
static int
fw_dpm_relay_left(uint64_t end_ns)
{
    uint64_t now = fw_time_ns();

    if (end_ns == UINT64_MAX)
        return -1;
    return now >= end_ns ? 0 : (int)((end_ns - now) / 1000000ull) + 1;
}

static uint64_t
fw_dpm_relay_end(int timeout_ms)
{
    return timeout_ms < 0 ? UINT64_MAX
                          : fw_time_ns() + (uint64_t)timeout_ms * 1000000ull;
}

fw_status_t
fw_dpm_relay_send(fw_dpm_relay_t *r, const uint8_t *dest, size_t dlen,
                  uint64_t tag, const void *buf, size_t len, int timeout_ms)
{
    uint64_t end = fw_dpm_relay_end(timeout_ms);
    fw_status_t rc = FW_SUCCESS, st = FW_SUCCESS;
    uint32_t seq = ++r->seq;
    size_t off = 0;
    int sent = 0;

    do {
        size_t n = len - off < FW_DPM_RELAY_CHUNK ? len - off
                                                  : FW_DPM_RELAY_CHUNK;
        fw_buf_t b;

        fw_buf_init(&b);
        fw_buf_put_u32(&b, seq);
        fw_buf_put_u8(&b, off + n < len);
        fw_buf_put_u32(&b, (uint32_t)(timeout_ms < 0 ? FW_DPM_FOREVER_MS
                                                     : timeout_ms));
        fw_buf_put_u64(&b, tag);
        fw_buf_put_blob(&b, dest, dlen);
        fw_buf_put_bytes(&b, (const uint8_t *)buf + off, n);
        rc = fw_buf_status(&b);
        if (rc == FW_SUCCESS)
            rc = fw_oob_sconn_send(r->conn, FW_DPM_MSG_RELAY_SEND, 0, 0,
                                   b.data, b.len);
        fw_buf_cleanup(&b);
        off += n;
    } while (rc == FW_SUCCESS && off < len);
    while (rc == FW_SUCCESS && !sent) {
        int left = fw_dpm_relay_left(end);

        rc = left == 0 ? FW_ERR_TIMEOUT
                       : fw_dpm_relay_read(r, left, seq, &sent, &st);
    }
    if (rc == FW_ERR_CONN_CLOSED)
        rc = FW_ERR_UNREACHABLE;
    return rc != FW_SUCCESS ? rc : st;
}

/* The oldest whole message matching (tag, ignore), unlinked; or NULL. */
static fw_dpm_rmsg_t *
fw_dpm_relay_match(fw_dpm_relay_t *r, uint64_t tag, uint64_t ignore)
{
    fw_dpm_rmsg_t **pp, *m, *prev = NULL;

    for (pp = &r->head; (m = *pp) != NULL; prev = m, pp = &m->next) {
        if (((m->tag ^ tag) & ~ignore) != 0)
            continue;
        *pp = m->next;
        if (r->tail == m)
            r->tail = prev;
        m->next = NULL;
        return m;
    }
    return NULL;
}

fw_status_t
fw_dpm_relay_recv(fw_dpm_relay_t *r, uint64_t tag, uint64_t ignore,
                  void *buf, size_t cap, size_t *len_p, uint64_t *tag_p,
                  int timeout_ms, fw_fab_stop_fn stop, void *stop_arg)
{
    uint64_t end = fw_dpm_relay_end(timeout_ms);
    fw_dpm_rmsg_t *m;
    fw_status_t rc = FW_SUCCESS;

    while ((m = fw_dpm_relay_match(r, tag, ignore)) == NULL) {
        int left = fw_dpm_relay_left(end);

        if (left == 0)
            return FW_ERR_TIMEOUT;
        /* stop is asked at least every 10 ms, as fw_fab_trecv_stop does */
        rc = fw_dpm_relay_read(r, stop != NULL && (left < 0 || left > 10)
                                      ? 10 : left,
                               0, NULL, NULL);
        if (rc == FW_ERR_TIMEOUT)
            rc = FW_SUCCESS;
        if (rc == FW_SUCCESS && stop != NULL)
            rc = stop(stop_arg);
        if (rc != FW_SUCCESS)
            return rc;
    }
    if (m->len > 0 && buf != NULL)
        memcpy(buf, m->data, m->len < cap ? m->len : cap);
    rc = m->len > cap ? FW_ERR_TRUNCATE : FW_SUCCESS;
    if (rc == FW_SUCCESS && len_p != NULL)
        *len_p = m->len;
    if (rc == FW_SUCCESS && tag_p != NULL)
        *tag_p = m->tag;
    fw_dpm_rmsg_free(m);
    return rc;
}
