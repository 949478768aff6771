/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fwrun's side of dynamic processes (dpm/dpm.h for the messages):
 *  - the job's address registry: ranks register their fabric address
 *    when they open their endpoint (EP_REG); EP_QUERY is answered once
 *    the asked rank (or every rank) has registered, or its time is up;
 *  - the name service: served here with the dpm/ns.c engine, or passed
 *    upstream to fw-server (--server, FW_SERVER) or, for a spawned job,
 *    to the parent job's fwrun (FW_NS_UPSTREAM), which serves spawned
 *    jobs' fwruns like fw-server does (NS_REQ/NS_REPLY on its listener);
 *  - spawn: a child job is run by a child fwrun (fwrun_spawn.c).
 */
#define _GNU_SOURCE
#include "launcher/fwrun.h"
#include "launcher/fwrun_dpm.h"
#include "dpm/dpm.h"
#include "dpm/ns.h"
#include "dpm/ns_wire.h"
#include "common/log.h"
#include "common/param.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FWRUN_DPM_TICK_MS 20

typedef struct fwrun_ep_wait {
    struct fwrun_ep_wait *next;
    uint32_t daemon, rank, reqid, want; /* want UINT32_MAX: every rank */
    uint64_t deadline_ms;
} fwrun_ep_wait_t;

/* A name-service request passed upstream, waiting for its answer. */
typedef struct fwrun_ns_fwd {
    struct fwrun_ns_fwd *next;
    uint32_t up_reqid;
    fw_oob_conn_t *tool;        /* from a child fwrun, or NULL: a rank */
    uint32_t daemon, rank, reqid;
    uint8_t op;
} fwrun_ns_fwd_t;

typedef struct fwrun_ns_tool {
    struct fwrun_ns_tool *next;
    fw_oob_conn_t *conn;
    char **owners;              /* jobids it published for */
    uint32_t nowners;
} fwrun_ns_tool_t;

typedef struct fwrun_ns_who fwrun_ns_who_t;

typedef struct fwrun_queued {
    struct fwrun_queued *next;
    fw_buf_t b;
} fwrun_queued_t;

struct fwrun_dpm {
    fwrun_t *r;
    fw_ns_t *ns;                /* NULL when there is an upstream */
    fw_oob_conn_t *up;
    int up_open, up_dead;
    fwrun_queued_t *up_queue;
    uint32_t up_reqid;
    fwrun_ns_fwd_t *fwds;
    fwrun_ns_tool_t *tools;
    fwrun_ns_who_t *whos;       /* lookups held by the local engine */
    uint8_t **ep_addr;
    uint16_t *ep_len;
    uint32_t nreg;
    fwrun_ep_wait_t *waits;
    struct event *tick;
    fwrun_spawn_t *spawns;      /* fwrun_spawn.c */
    fwrun_spawn_wait_t *spawn_waits; /* spawns waiting for slots */
    uint64_t spawn_wait_ms;     /* FW_SPAWN_WAIT_MS, read at start */
    uint32_t nspawned;
};

uint64_t
fwrun_dpm_now_ms(void)
{
    return fw_time_ns() / 1000000ull;
}

/* Answer a rank: DPM_REPLY {rank, reqid, status, fields}. */
void
fwrun_dpm_reply(fwrun_t *r, uint32_t daemon, uint32_t rank, uint32_t reqid,
                fw_status_t st, const fw_buf_t *fields)
{
    fw_buf_t b;

    fw_buf_init(&b);
    fw_buf_put_u32(&b, rank);
    fw_buf_put_u32(&b, reqid);
    fw_buf_put_u32(&b, (uint32_t)-(int32_t)st);
    if (fields != NULL)
        fw_buf_put_bytes(&b, fields->data, fields->len);
    if (fw_buf_status(&b) != FW_SUCCESS ||
        fw_launch_tree_send(&r->tree, FW_DPM_MSG_REPLY, daemon, b.data,
                            b.len) != FW_SUCCESS)
        FW_LOG_WARN("dpm", "fwrun: cannot answer rank %u", rank);
    fw_buf_cleanup(&b);
}

static void
fwrun_dpm_arm(fwrun_dpm_t *m)
{
    struct timeval tv = {0, FWRUN_DPM_TICK_MS * 1000};

    if (m->tick != NULL && !evtimer_pending(m->tick, NULL))
        evtimer_add(m->tick, &tv);
}

/****************/
/* Registry     */
/****************/

static int
fwrun_ep_ready(const fwrun_dpm_t *m, uint32_t want)
{
    return want == UINT32_MAX ? m->nreg == m->r->job.nprocs
                              : m->ep_len[want] > 0;
}

static void
fwrun_ep_answer(fwrun_dpm_t *m, const fwrun_ep_wait_t *w, fw_status_t st)
{
    fw_buf_t b;
    uint32_t i, n = 0;

    fw_buf_init(&b);
    for (i = 0; i < m->r->job.nprocs; i++)
        n += m->ep_len[i] > 0;
    fw_buf_put_u32(&b, st == FW_SUCCESS ? n : 0);
    for (i = 0; st == FW_SUCCESS && i < m->r->job.nprocs; i++) {
        if (m->ep_len[i] == 0)
            continue;
        fw_buf_put_u32(&b, i);
        fw_buf_put_blob(&b, m->ep_addr[i], m->ep_len[i]);
    }
    fwrun_dpm_reply(m->r, w->daemon, w->rank, w->reqid,
                    fw_buf_status(&b) == FW_SUCCESS ? st : FW_ERR_NO_MEM, &b);
    fw_buf_cleanup(&b);
}

/* Answer every wait that is satisfied (or expired, when now_ms > 0). */
static void
fwrun_ep_check(fwrun_dpm_t *m, uint64_t now_ms)
{
    fwrun_ep_wait_t **pp = &m->waits, *w;

    while ((w = *pp) != NULL) {
        int ready = fwrun_ep_ready(m, w->want);

        if (!ready && (now_ms == 0 || now_ms < w->deadline_ms)) {
            pp = &w->next;
            continue;
        }
        fwrun_ep_answer(m, w, ready ? FW_SUCCESS : FW_ERR_TIMEOUT);
        *pp = w->next;
        free(w);
    }
}

static fw_status_t
fwrun_ep_reg(fwrun_dpm_t *m, uint32_t rank, fw_rbuf_t *rb)
{
    size_t len = 0;
    const void *a = fw_rbuf_get_blob(rb, FW_MAX_ADDR, &len);

    if (a == NULL || len == 0 || rank >= m->r->job.nprocs)
        return FW_ERR_PROTO;
    if (m->ep_len[rank] == 0) {
        m->ep_addr[rank] = malloc(len);
        if (m->ep_addr[rank] == NULL)
            return FW_ERR_NO_MEM;
        m->nreg++;
    }
    memcpy(m->ep_addr[rank], a, len);
    m->ep_len[rank] = (uint16_t)len;
    fwrun_ep_check(m, 0);
    return FW_SUCCESS;
}

static fw_status_t
fwrun_ep_query(fwrun_dpm_t *m, uint32_t daemon, uint32_t rank, uint32_t reqid,
               fw_rbuf_t *rb)
{
    fwrun_ep_wait_t *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return FW_ERR_NO_MEM;
    w->daemon = daemon;
    w->rank = rank;
    w->reqid = reqid;
    w->want = fw_rbuf_get_u32(rb);
    w->deadline_ms = fwrun_dpm_now_ms() + fw_rbuf_get_u32(rb);
    if (fw_rbuf_status(rb) != FW_SUCCESS ||
        (w->want != UINT32_MAX && w->want >= m->r->job.nprocs)) {
        free(w);
        return FW_ERR_PROTO;
    }
    w->next = m->waits;
    m->waits = w;
    fwrun_ep_check(m, 0);
    fwrun_dpm_arm(m);
    return FW_SUCCESS;
}

/****************/
/* Name service */
/****************/

static void
fwrun_up_flush(fwrun_dpm_t *m)
{
    fwrun_queued_t *q;

    while (m->up_open && (q = m->up_queue) != NULL) {
        m->up_queue = q->next;
        (void)fw_oob_send(m->up, FW_DPM_MSG_NS_REQ, 0, 0, q->b.data,
                          q->b.len);
        fw_buf_cleanup(&q->b);
        free(q);
    }
}

static fw_status_t
fwrun_up_send(fwrun_dpm_t *m, const fw_ns_req_t *req)
{
    fwrun_queued_t *q;

    if (m->up_dead)
        return FW_ERR_UNREACHABLE;
    q = calloc(1, sizeof(*q));
    if (q == NULL)
        return FW_ERR_NO_MEM;
    fw_buf_init(&q->b);
    if (fw_ns_req_pack(req, &q->b) != FW_SUCCESS) {
        fw_buf_cleanup(&q->b);
        free(q);
        return FW_ERR_NO_MEM;
    }
    q->next = m->up_queue; /* order between requests does not matter */
    m->up_queue = q;
    fwrun_up_flush(m);
    return FW_SUCCESS;
}

/* Answer whoever asked (a rank through its daemon, or a child fwrun). */
static void
fwrun_ns_answer(fwrun_dpm_t *m, fw_oob_conn_t *tool, uint32_t daemon,
                uint32_t rank, uint32_t reqid, uint8_t op, fw_status_t st,
                const char *port)
{
    fw_buf_t b;

    fw_buf_init(&b);
    if (tool != NULL) {
        fw_ns_reply_t rep;

        memset(&rep, 0, sizeof(rep));
        rep.reqid = reqid;
        rep.status = st;
        snprintf(rep.port, sizeof(rep.port), "%s", port != NULL ? port : "");
        if (fw_ns_reply_pack(&rep, &b) == FW_SUCCESS)
            (void)fw_oob_send(tool, FW_DPM_MSG_NS_REPLY, 0, 0, b.data, b.len);
    } else {
        if (op == FW_DPM_OP_LOOKUP && st == FW_SUCCESS)
            fw_buf_put_str(&b, port);
        fwrun_dpm_reply(m->r, daemon, rank, reqid, st, &b);
    }
    fw_buf_cleanup(&b);
}

/* Who waits for a lookup held by the local engine (cookie tag). */
struct fwrun_ns_who {
    fwrun_ns_who_t *next, *prev; /* fwrun_dpm_t.whos */
    fw_oob_conn_t *tool;
    uint32_t daemon, rank, reqid;
};

static void
fwrun_ns_who_free(fwrun_dpm_t *m, fwrun_ns_who_t *who)
{
    if (who->prev != NULL)
        who->prev->next = who->next;
    else
        m->whos = who->next;
    if (who->next != NULL)
        who->next->prev = who->prev;
    free(who);
}

static fwrun_ns_who_t *
fwrun_ns_who_new(fwrun_dpm_t *m, fw_oob_conn_t *tool, uint32_t daemon,
                 uint32_t rank, uint32_t reqid)
{
    fwrun_ns_who_t *who = calloc(1, sizeof(*who));

    if (who == NULL)
        return NULL;
    *who = (fwrun_ns_who_t){m->whos, NULL, tool, daemon, rank, reqid};
    if (m->whos != NULL)
        m->whos->prev = who;
    m->whos = who;
    return who;
}

static void
fwrun_ns_engine_reply(void *arg, const fw_ns_cookie_t *cookie,
                      fw_status_t st, const char *port)
{
    fwrun_dpm_t *m = arg;
    fwrun_ns_who_t *who = (fwrun_ns_who_t *)(uintptr_t)cookie->tag;

    fwrun_ns_answer(m, who->tool, who->daemon, who->rank, who->reqid,
                    FW_DPM_OP_LOOKUP, st, port);
    fwrun_ns_who_free(m, who);
}

static const struct fw_ns_ops fwrun_ns_ops = {fwrun_ns_engine_reply};

/* One request, from a rank (tool NULL) or a child fwrun. */
static void
fwrun_ns_request(fwrun_dpm_t *m, fw_oob_conn_t *tool, uint32_t daemon,
                 uint32_t rank, const fw_ns_req_t *req)
{
    char port[FW_MAX_PORT_NAME] = "";
    fw_status_t st;

    if (m->ns == NULL) { /* pass it on */
        fwrun_ns_fwd_t *f = calloc(1, sizeof(*f));
        fw_ns_req_t up = *req;

        if (f == NULL) {
            fwrun_ns_answer(m, tool, daemon, rank, req->reqid, req->op,
                            FW_ERR_NO_MEM, NULL);
            return;
        }
        up.reqid = ++m->up_reqid;
        *f = (fwrun_ns_fwd_t){m->fwds, up.reqid, tool, daemon, rank,
                              req->reqid, req->op};
        st = fwrun_up_send(m, &up);
        if (st != FW_SUCCESS || req->op == FW_DPM_OP_DROP) {
            free(f);
            if (req->op != FW_DPM_OP_DROP)
                fwrun_ns_answer(m, tool, daemon, rank, req->reqid, req->op,
                                st, NULL);
            return;
        }
        m->fwds = f;
        return;
    }
    switch (req->op) {
    case FW_DPM_OP_PUBLISH:
        st = fw_ns_publish(m->ns, req->owner, req->service, req->port);
        break;
    case FW_DPM_OP_UNPUBLISH:
        st = fw_ns_unpublish(m->ns, req->owner, req->service);
        break;
    case FW_DPM_OP_DROP:
        fw_ns_drop_owner(m->ns, req->owner);
        return;
    default: {
        fwrun_ns_who_t *who = fwrun_ns_who_new(m, tool, daemon, rank,
                                               req->reqid);
        fw_ns_cookie_t ck = {tool != NULL ? (void *)tool : (void *)m,
                             (uint64_t)(uintptr_t)who};

        if (who == NULL) {
            st = FW_ERR_NO_MEM;
            break;
        }
        st = fw_ns_lookup(m->ns, req->service, req->timeout_ms,
                          fwrun_dpm_now_ms(), &ck, port);
        if (st == FW_INPROGRESS) {
            fwrun_dpm_arm(m);
            return;
        }
        fwrun_ns_who_free(m, who);
    }
    }
    fwrun_ns_answer(m, tool, daemon, rank, req->reqid, req->op, st, port);
}

/* A rank's publish/lookup/unpublish: fields after reqid and op. */
static fw_status_t
fwrun_ns_from_rank(fwrun_dpm_t *m, uint32_t daemon, uint32_t rank,
                   uint32_t reqid, uint8_t op, fw_rbuf_t *rb)
{
    fw_ns_req_t req;
    char *svc, *port = NULL;

    memset(&req, 0, sizeof(req));
    req.reqid = reqid;
    req.op = op;
    snprintf(req.owner, sizeof(req.owner), "%s", m->r->job.jobid);
    svc = fw_rbuf_get_str(rb, FW_MAX_SERVICE);
    if (op == FW_DPM_OP_PUBLISH)
        port = fw_rbuf_get_str(rb, FW_MAX_PORT_NAME);
    if (op == FW_DPM_OP_LOOKUP)
        req.timeout_ms = fw_rbuf_get_u32(rb);
    if (svc == NULL || (op == FW_DPM_OP_PUBLISH && port == NULL) ||
        fw_rbuf_status(rb) != FW_SUCCESS) {
        free(svc);
        free(port);
        return FW_ERR_PROTO;
    }
    snprintf(req.service, sizeof(req.service), "%s", svc);
    snprintf(req.port, sizeof(req.port), "%s", port != NULL ? port : "");
    free(svc);
    free(port);
    fwrun_ns_request(m, NULL, daemon, rank, &req);
    return FW_SUCCESS;
}

/* Upstream's answer: route it back. */
static void
fwrun_up_msg(fw_oob_conn_t *c, const fw_oob_hdr_t *h, const void *p,
             void *arg)
{
    fwrun_dpm_t *m = arg;
    fwrun_ns_fwd_t **pp, *f;
    fw_ns_reply_t rep;

    if (h->type != FW_DPM_MSG_NS_REPLY ||
        fw_ns_reply_unpack(p, h->len, &rep) != FW_SUCCESS)
        return;
    for (pp = &m->fwds; (f = *pp) != NULL; pp = &f->next) {
        if (f->up_reqid != rep.reqid)
            continue;
        *pp = f->next;
        fwrun_ns_answer(m, f->tool, f->daemon, f->rank, f->reqid, f->op,
                        rep.status, rep.port);
        free(f);
        return;
    }
}

static void
fwrun_up_opened(fw_oob_conn_t *c, void *arg)
{
    fwrun_dpm_t *m = arg;

    m->up_open = 1;
    fwrun_up_flush(m);
}

static void
fwrun_up_closed(fw_oob_conn_t *c, fw_status_t why, void *arg)
{
    fwrun_dpm_t *m = arg;
    fwrun_ns_fwd_t *f;
    int was_open = m->up_open;

    m->up = NULL;
    m->up_open = 0;
    m->up_dead = 1;
    if (!was_open) /* refused, unreachable, or wrong secret */
        fprintf(stderr, "fwrun: cannot use the name server: %s%s; publish "
                "and lookup will fail\n", fw_strerror(why),
                why == FW_ERR_AUTH ? " (wrong secret?)" : "");
    else if (m->r->state == FWRUN_RUNNING)
        fprintf(stderr, "fwrun: lost the name server (%s)\n",
                fw_strerror(why));
    while ((f = m->fwds) != NULL) {
        m->fwds = f->next;
        fwrun_ns_answer(m, f->tool, f->daemon, f->rank, f->reqid, f->op,
                        FW_ERR_UNREACHABLE, NULL);
        free(f);
    }
}

static const struct fw_oob_conn_ops fwrun_up_ops = {
    fwrun_up_opened, fwrun_up_msg, fwrun_up_closed};

/****************/
/* Child fwruns */
/****************/

static fwrun_ns_tool_t *
fwrun_tool_of(fwrun_dpm_t *m, fw_oob_conn_t *c)
{
    fwrun_ns_tool_t *t;

    for (t = m->tools; t != NULL; t = t->next)
        if (t->conn == c)
            return t;
    return NULL;
}

void
fwrun_dpm_tool_opened(fwrun_t *r, fw_oob_conn_t *c)
{
    fwrun_ns_tool_t *t = calloc(1, sizeof(*t));

    if (t == NULL) {
        fw_oob_conn_close(c);
        return;
    }
    t->conn = c;
    t->next = r->dpm->tools;
    r->dpm->tools = t;
}

static void
fwrun_tool_owner(fwrun_ns_tool_t *t, const char *owner)
{
    char **v;

    for (uint32_t i = 0; i < t->nowners; i++)
        if (strcmp(t->owners[i], owner) == 0)
            return;
    v = realloc(t->owners, (t->nowners + 1) * sizeof(*v));
    if (v == NULL)
        return;
    t->owners = v;
    if ((v[t->nowners] = strdup(owner)) != NULL)
        t->nowners++;
}

void
fwrun_dpm_tool_msg(fwrun_t *r, fw_oob_conn_t *c, const fw_oob_hdr_t *h,
                   const void *p)
{
    fwrun_ns_tool_t *t = fwrun_tool_of(r->dpm, c);
    fw_ns_req_t req;

    if (t == NULL || h->type != FW_DPM_MSG_NS_REQ ||
        fw_ns_req_unpack(p, h->len, &req) != FW_SUCCESS) {
        FW_LOG_WARN("dpm", "fwrun: bad name-service request from %s",
                    fw_oob_conn_peer_name(c));
        return;
    }
    if (req.op == FW_DPM_OP_PUBLISH)
        fwrun_tool_owner(t, req.owner);
    fwrun_ns_request(r->dpm, c, 0, 0, &req);
}

/* A child fwrun left: its job's entries go, its waiting lookups too. */
void
fwrun_dpm_tool_closed(fwrun_t *r, fw_oob_conn_t *c)
{
    fwrun_dpm_t *m = r->dpm;
    fwrun_ns_tool_t **pp, *t;
    fwrun_ns_fwd_t **fp, *f;

    for (pp = &m->tools; (t = *pp) != NULL; pp = &t->next)
        if (t->conn == c)
            break;
    if (t == NULL)
        return;
    *pp = t->next;
    for (uint32_t i = 0; i < t->nowners; i++) {
        fw_ns_req_t drop;

        memset(&drop, 0, sizeof(drop));
        drop.op = FW_DPM_OP_DROP;
        snprintf(drop.owner, sizeof(drop.owner), "%s", t->owners[i]);
        fwrun_ns_request(m, NULL, 0, 0, &drop);
        free(t->owners[i]);
    }
    if (m->ns != NULL)
        fw_ns_cancel(m->ns, c); /* not answered: free who waited */
    for (fwrun_ns_who_t *w = m->whos, *nx; w != NULL; w = nx) {
        nx = w->next;
        if (w->tool == c)
            fwrun_ns_who_free(m, w);
    }
    for (fp = &m->fwds; (f = *fp) != NULL;) {
        if (f->tool == c) {
            *fp = f->next;
            free(f);
        } else {
            fp = &f->next;
        }
    }
    free(t->owners);
    free(t);
}

/****************/
/* Dispatch     */
/****************/

/* DPM_REQ from a rank: u32 rank, u32 reqid, u8 op, fields. */
void
fwrun_dpm_msg(fwrun_t *r, const fw_oob_hdr_t *h, const void *p)
{
    fwrun_dpm_t *m = r->dpm;
    uint32_t rank, reqid;
    fw_rbuf_t rb;
    uint8_t op;
    fw_status_t st = FW_ERR_PROTO;

    fw_rbuf_init(&rb, p, h->len);
    rank = fw_rbuf_get_u32(&rb);
    reqid = fw_rbuf_get_u32(&rb);
    op = fw_rbuf_get_u8(&rb);
    if (fw_rbuf_status(&rb) != FW_SUCCESS || m == NULL)
        goto bad;
    switch (op) {
    case FW_DPM_OP_EP_REG:
        st = fwrun_ep_reg(m, rank, &rb);
        break;
    case FW_DPM_OP_EP_QUERY:
        st = fwrun_ep_query(m, h->src, rank, reqid, &rb);
        break;
    case FW_DPM_OP_PUBLISH:
    case FW_DPM_OP_LOOKUP:
    case FW_DPM_OP_UNPUBLISH:
        st = fwrun_ns_from_rank(m, h->src, rank, reqid, op, &rb);
        break;
    case FW_DPM_OP_SPAWN:
        st = fwrun_spawn_request(r, h->src, rank, reqid, &rb);
        break;
    case FW_DPM_OP_SPAWN_DONE:
        st = fwrun_spawn_done(r, &rb);
        break;
    case FW_DPM_OP_SPAWN_CANCEL:
        st = fwrun_spawn_cancel(r, h->src, rank, &rb);
        break;
    default:
        break;
    }
    if (st == FW_SUCCESS)
        return;
bad:
    FW_LOG_WARN("dpm", "fwrun: request %u from rank %u refused: %s", op,
                rank, fw_strerror(st));
    if (op != FW_DPM_OP_EP_REG && op != FW_DPM_OP_SPAWN_DONE &&
        op != FW_DPM_OP_SPAWN_CANCEL)
        fwrun_dpm_reply(r, h->src, rank, reqid, st, NULL);
}

static void
fwrun_dpm_tick(evutil_socket_t fd, short what, void *arg)
{
    fwrun_dpm_t *m = arg;
    uint64_t now = fwrun_dpm_now_ms();

    fwrun_ep_check(m, now);
    if (m->ns != NULL)
        fw_ns_expire(m->ns, now);
    if (fwrun_spawn_tick(m->r, now) || m->waits != NULL ||
        (m->ns != NULL && fw_ns_next_deadline(m->ns)))
        fwrun_dpm_arm(m);
}

/****************/
/* Life cycle   */
/****************/

/* Where the name service is: --server, FW_SERVER, FW_NS_UPSTREAM. */
static fw_status_t
fwrun_dpm_upstream(fwrun_dpm_t *m, fw_error_t *err)
{
    const char *s = m->r->opt.server;
    uint8_t secret[FW_OOB_SECRET_LEN];
    char uri[FW_OOB_URI_MAX];
    fw_status_t rc;

    if (s == NULL)
        s = getenv("FW_NS_UPSTREAM");
    if (s == NULL || s[0] == '\0')
        s = getenv("FW_SERVER");
    if (s == NULL || s[0] == '\0')
        return fw_ns_create(&fwrun_ns_ops, m, &m->ns);
    rc = fw_ns_contact_parse(s, secret, uri, err);
    if (rc != FW_SUCCESS) {
        fw_errprepend(err, "name server '%s'", s);
        return FW_ERR_PARSE;
    }
    rc = fw_oob_connect(m->r->base, uri, secret, FW_OOB_PEER_TOOL, 0,
                        &fwrun_up_ops, m, &m->up, err);
    memset(secret, 0, sizeof(secret));
    return rc;
}

fw_status_t
fwrun_dpm_setup(fwrun_t *r, fw_error_t *err)
{
    fwrun_dpm_t *m = calloc(1, sizeof(*m));
    fw_status_t rc;

    if (m == NULL)
        return FW_ERR_NO_MEM;
    r->dpm = m;
    m->r = r;
    m->ep_addr = calloc(r->job.nprocs, sizeof(*m->ep_addr));
    m->ep_len = calloc(r->job.nprocs, sizeof(*m->ep_len));
    m->tick = evtimer_new(r->base, fwrun_dpm_tick, m);
    m->spawn_wait_ms = (uint64_t)fw_param_get_long("FW_SPAWN_WAIT_MS", 0,
                                                   3600000);
    if (m->ep_addr == NULL || m->ep_len == NULL || m->tick == NULL)
        return FW_ERR_NO_MEM;
    rc = fwrun_dpm_upstream(m, err);
    /* FW_NS_UPSTREAM/FW_SERVER are ours: the ranks must not see them */
    unsetenv("FW_NS_UPSTREAM");
    return rc;
}

void
fwrun_dpm_cleanup(fwrun_t *r)
{
    fwrun_dpm_t *m = r->dpm;
    fwrun_queued_t *q;
    fwrun_ep_wait_t *w;
    fwrun_ns_fwd_t *f;

    if (m == NULL)
        return;
    fwrun_spawn_cleanup(r);
    while (m->tools != NULL)
        fwrun_dpm_tool_closed(r, m->tools->conn);
    while ((w = m->waits) != NULL) {
        m->waits = w->next;
        free(w);
    }
    while ((f = m->fwds) != NULL) {
        m->fwds = f->next;
        free(f);
    }
    while ((q = m->up_queue) != NULL) {
        m->up_queue = q->next;
        fw_buf_cleanup(&q->b);
        free(q);
    }
    if (m->up != NULL)
        fw_oob_conn_close(m->up);
    fw_ns_destroy(m->ns); /* pending lookups are not answered */
    while (m->whos != NULL)
        fwrun_ns_who_free(m, m->whos);
    for (uint32_t i = 0; m->ep_addr != NULL && i < r->job.nprocs; i++)
        free(m->ep_addr[i]);
    free(m->ep_addr);
    free(m->ep_len);
    if (m->tick != NULL)
        event_free(m->tick);
    free(m);
    r->dpm = NULL;
}

/* The job is over: its published names go (fw-server is told). */
void
fwrun_dpm_job_ended(fwrun_t *r)
{
    fw_ns_req_t drop;

    if (r->dpm == NULL)
        return;
    memset(&drop, 0, sizeof(drop));
    drop.op = FW_DPM_OP_DROP;
    snprintf(drop.owner, sizeof(drop.owner), "%s", r->job.jobid);
    fwrun_ns_request(r->dpm, NULL, 0, 0, &drop);
}

fwrun_spawn_t **
fwrun_dpm_spawns(fwrun_t *r)
{
    return &r->dpm->spawns;
}

fwrun_spawn_wait_t **
fwrun_dpm_spawn_waits(fwrun_t *r)
{
    return &r->dpm->spawn_waits;
}

uint64_t
fwrun_dpm_spawn_wait_ms(fwrun_t *r)
{
    return r->dpm->spawn_wait_ms;
}

uint32_t
fwrun_dpm_next_spawn(fwrun_t *r)
{
    return ++r->dpm->nspawned;
}

void
fwrun_dpm_wake(fwrun_t *r)
{
    if (r->dpm != NULL)
        fwrun_dpm_arm(r->dpm);
}
