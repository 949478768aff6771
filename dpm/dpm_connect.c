/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ports and connect/accept. Only the two roots meet through the port:
 *
 *   connect root -> port (class 2, port nonce)
 *       CONNECT  u8 version, u64 connect nonce, u32 root's index in the
 *                group, group description
 *   accept root  -> connect root (class 3, connect nonce)
 *       ANSWER   u8 version, u32 status, group description (if 0)
 *
 * Both derive the context id from the two nonces (no third party), then
 * each root broadcasts {status, cid, remote group} over its own
 * communicator. The connect root waits FW_DPM_CONNECT_MS for the answer:
 * a closed port or a dead process ends in FW_ERR_TIMEOUT (or
 * FW_ERR_FABRIC if the provider reports the peer unreachable).
 */
#include "dpm/dpm_int.h"
#include "modex/modex_client.h"
#include "common/log.h"
#include "common/param.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

#define FW_DPM_PROTO_VERSION 1

/****************/
/* Ports        */
/****************/

fw_status_t
fw_dpm_port_new(int internal, fw_dpm_port_t **port_p)
{
    fw_dpm_port_desc_t d;
    fw_dpm_port_t *p;
    size_t len = sizeof(d.addr);
    fw_status_t rc = fw_dpm_ep();

    if (rc != FW_SUCCESS)
        return rc;
    memset(&d, 0, sizeof(d));
    rc = fw_dpm_tp_addr(d.addr, &len);
    if (rc == FW_ERR_TOO_BIG) { /* with the rail: the primary part only */
        len = sizeof(d.addr);
        rc = fw_dpm_tp_primary_addr(d.addr, &len);
    }
    if (rc != FW_SUCCESS)
        return rc == FW_ERR_TOO_BIG ? FW_ERR_UNSUPPORTED : rc;
    d.addr_len = len;
    snprintf(d.provider, sizeof(d.provider), "%s", fw_dpm_tp_provider());
    snprintf(d.jobid, sizeof(d.jobid), "%s", fw_client_g.info.jobid);
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return FW_ERR_NO_MEM;
    rc = fw_random_bytes(&d.nonce, sizeof(d.nonce));
    d.nonce &= FW_DPM_NONCE_MASK;
    if (rc == FW_SUCCESS)
        rc = fw_dpm_port_format(&d, p->name);
    if (rc != FW_SUCCESS) {
        free(p);
        return rc;
    }
    p->nonce = d.nonce;
    p->internal = internal;
    p->next = fw_dpm_g.ports;
    fw_dpm_g.ports = p;
    *port_p = p;
    return FW_SUCCESS;
}

void
fw_dpm_port_drop(fw_dpm_port_t *port)
{
    fw_dpm_port_t **pp;

    for (pp = &fw_dpm_g.ports; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == port) {
            *pp = port->next;
            free(port);
            return;
        }
    }
}

static fw_dpm_port_t *
fw_dpm_port_find(const char *name)
{
    fw_dpm_port_t *p;

    for (p = fw_dpm_g.ports; p != NULL; p = p->next)
        if (!p->internal && strncmp(p->name, name, FW_MAX_PORT_NAME) == 0)
            return p;
    return NULL;
}

fw_status_t
fw_port_open(char port_name[FW_MAX_PORT_NAME])
{
    fw_dpm_port_t *p;
    fw_status_t rc = fw_dpm_comm_check(&fw_dpm_g.self);

    if (rc != FW_SUCCESS)
        return rc;
    if (port_name == NULL)
        return FW_ERR_BAD_PARAM;
    rc = fw_dpm_port_new(0, &p);
    if (rc == FW_SUCCESS)
        memcpy(port_name, p->name, strlen(p->name) + 1);
    return rc;
}

fw_status_t
fw_port_close(const char *port_name)
{
    fw_dpm_port_t *p;
    fw_status_t rc = fw_dpm_comm_check(&fw_dpm_g.self);

    if (rc != FW_SUCCESS)
        return rc;
    if (port_name == NULL)
        return FW_ERR_BAD_PARAM;
    p = fw_dpm_port_find(port_name);
    if (p == NULL)
        return FW_ERR_PORT;
    /* an accept in progress (another thread) notices and frees it */
    if (p->closed == 1)
        return FW_ERR_PORT;
    p->closed = 1;
    return FW_SUCCESS;
}

/****************/
/* Shared steps */
/****************/

/* A new intercommunicator over comm's group and remote (taken). */
fw_status_t
fw_dpm_inter_new(fw_comm_t *comm, uint32_t cid, fw_dpm_group_t *remote,
                 int acceptor, fw_comm_t **inter)
{
    fw_comm_t *c = calloc(1, sizeof(*c));
    fw_dpm_group_t *local = fw_dpm_group_new(comm->local->n,
                                             comm->local->jobid);
    uint32_t i;

    if (c == NULL || local == NULL) {
        free(c);
        fw_dpm_group_free(local);
        fw_dpm_group_free(remote);
        return FW_ERR_NO_MEM;
    }
    for (i = 0; i < local->n; i++) {
        local->m[i] = comm->local->m[i];
        local->m[i].have_peer = 0; /* this copy takes its own references */
    }
    c->kind = FW_DPM_INTER;
    c->cid = cid;
    c->rank = comm->rank;
    c->local = local;
    c->remote = remote;
    c->acceptor = acceptor;
    fw_dpm_comm_link(c);
    *inter = c;
    return FW_SUCCESS;
}

/* Decode a result message; the root keeps its own *remote_p. */
static fw_status_t
fw_dpm_result_decode(const void *data, size_t len, int is_root,
                     uint32_t *cid_p, fw_dpm_group_t **remote_p,
                     void **extra_p, size_t *extra_len)
{
    fw_dpm_group_t *g = NULL;
    fw_rbuf_t r;
    fw_status_t rc, drc = FW_SUCCESS;

    fw_rbuf_init(&r, data, len);
    rc = (fw_status_t)-(int32_t)fw_rbuf_get_u32(&r);
    *cid_p = fw_rbuf_get_u32(&r);
    if (fw_rbuf_status(&r) != FW_SUCCESS)
        return FW_ERR_PROTO;
    if (rc == FW_SUCCESS)
        drc = fw_dpm_group_unpack(&r, &g);
    if (drc == FW_SUCCESS && extra_p != NULL) {
        size_t el = 0;
        const void *e = fw_rbuf_get_blob(&r, FW_DPM_MSG_MAX, &el);

        *extra_p = e != NULL ? malloc(el + 1) : NULL;
        if (*extra_p == NULL)
            drc = FW_ERR_PROTO;
        else {
            memcpy(*extra_p, e, el);
            *extra_len = el;
        }
    }
    if (drc == FW_SUCCESS && rc == FW_SUCCESS && !is_root) {
        *remote_p = g;
        g = NULL;
    }
    fw_dpm_group_free(g);
    return drc != FW_SUCCESS ? drc : rc;
}

/*
 * Root: broadcast {status, cid, remote group, extra} over comm; others:
 * receive it. On return every member has the same status; on success
 * *cid_p, *remote_p (and the extra blob, if asked for) are set.
 */
fw_status_t
fw_dpm_result_bcast(fw_comm_t *comm, int root, fw_status_t rc,
                    uint32_t *cid_p, fw_dpm_group_t **remote_p,
                    fw_buf_t *extra, void **extra_p, size_t *extra_len)
{
    fw_buf_t b;
    void *data = NULL;
    size_t len = 0;
    fw_status_t brc;

    fw_buf_init(&b);
    if (comm->rank == (uint32_t)root) {
        fw_buf_put_u32(&b, (uint32_t)-(int32_t)rc);
        fw_buf_put_u32(&b, *cid_p);
        if (rc == FW_SUCCESS)
            fw_dpm_group_pack(*remote_p, &b);
        if (extra != NULL)
            fw_buf_put_blob(&b, extra->data, extra->len);
        if (fw_buf_status(&b) != FW_SUCCESS) {
            /* cannot tell the others anything but "no memory" */
            fw_buf_cleanup(&b);
            fw_buf_init(&b);
            fw_buf_put_u32(&b, (uint32_t)-(int32_t)FW_ERR_NO_MEM);
            fw_buf_put_u32(&b, 0);
        }
    }
    brc = comm->local->n == 1 && comm->rank == (uint32_t)root
              ? FW_SUCCESS
              : fw_dpm_bcast(comm, (uint32_t)root, &b, &data, &len);
    if (brc != FW_SUCCESS) {
        fw_buf_cleanup(&b);
        return brc;
    }
    if (data == NULL) { /* alone: nothing to decode */
        data = malloc(b.len + 1);
        if (data == NULL)
            return FW_ERR_NO_MEM;
        memcpy(data, b.data, b.len);
        len = b.len;
    }
    fw_buf_cleanup(&b);
    rc = fw_dpm_result_decode(data, len, comm->rank == (uint32_t)root, cid_p,
                              remote_p, extra_p, extra_len);
    free(data);
    return rc;
}

/* Every member: the root's result, then the intercommunicator. */
static fw_status_t
fw_dpm_finish(fw_comm_t *comm, int root, fw_status_t rc, uint32_t cid,
              fw_dpm_group_t *remote, int acceptor, fw_comm_t **inter)
{
    rc = fw_dpm_result_bcast(comm, root, rc, &cid, &remote, NULL, NULL, NULL);
    if (rc != FW_SUCCESS) {
        fw_dpm_group_free(remote);
        return rc;
    }
    return fw_dpm_inter_new(comm, cid, remote, acceptor, inter);
}

/****************/
/* Accept       */
/****************/

/*
 * Receive one CONNECT or ANSWER (tag) into *buf_p (FW_DPM_MSG_MAX bytes)
 * and check its version; r reads what follows. A receive that failed is
 * cancelled, but a provider that cannot cancel may still write into the
 * buffer: it then lives until the endpoint closes (graveyard).
 */
static fw_status_t
fw_dpm_proto_recv(uint64_t tag, int timeout_ms, fw_fab_stop_fn stop,
                  void *stop_arg, uint8_t **buf_p, fw_rbuf_t *r)
{
    size_t len = 0;
    fw_status_t rc = fw_dpm_tp_recv(tag, 0, *buf_p, FW_DPM_MSG_MAX, &len,
                                    NULL, timeout_ms, stop, stop_arg);

    if (rc != FW_SUCCESS) {
        fw_dpm_graveyard_add(*buf_p);
        *buf_p = NULL;
        return rc;
    }
    fw_rbuf_init(r, *buf_p, len);
    return fw_rbuf_get_u8(r) == FW_DPM_PROTO_VERSION ? FW_SUCCESS
                                                      : FW_ERR_PROTO;
}

/* The whole local group must be addressable before it is described. */
fw_status_t
fw_dpm_local_ready(fw_comm_t *comm)
{
    fw_status_t rc = fw_dpm_ep();

    if (rc == FW_SUCCESS && comm->local == &fw_dpm_g.world_g)
        rc = fw_dpm_world_resolve_all();
    return rc;
}

typedef struct fw_dpm_stop {
    fw_dpm_port_t *port;
    fw_dpm_abort_fn abort_fn;
    void *abort_arg;
} fw_dpm_stop_t;

static fw_status_t
fw_dpm_accept_stop(void *arg)
{
    fw_dpm_stop_t *st = arg;

    if (st->port->closed)
        return FW_ERR_PORT;
    if (st->abort_fn != NULL)
        return (fw_status_t)st->abort_fn(st->abort_arg);
    return FW_SUCCESS;
}

/* Root: receive one CONNECT on port and answer it. */
fw_status_t
fw_dpm_accept_root(fw_dpm_port_t *port, fw_comm_t *comm,
                   fw_dpm_abort_fn abort_fn, void *abort_arg, int timeout_ms,
                   fw_dpm_group_t **remote_p, uint32_t *cid_p)
{
    fw_dpm_stop_t stop = {port, abort_fn, abort_arg}, *st = &stop;
    fw_dpm_group_t *remote = NULL;
    uint8_t *buf = malloc(FW_DPM_MSG_MAX);
    uint64_t cnonce = 0, peer = 0;
    uint32_t croot;
    int have_peer = 0;
    fw_rbuf_t r;
    fw_buf_t b;
    fw_status_t rc;

    fw_buf_init(&b);
    rc = buf == NULL ? FW_ERR_NO_MEM : fw_dpm_local_ready(comm);
    if (rc == FW_SUCCESS)
        rc = fw_dpm_proto_recv(fw_dpm_tag(FW_DPM_CLASS_PORT, 0, 0, 0) |
                                   port->nonce,
                               timeout_ms, fw_dpm_accept_stop, st, &buf, &r);
    if (rc != FW_SUCCESS)
        goto out;
    cnonce = fw_rbuf_get_u64(&r) & FW_DPM_NONCE_MASK;
    croot = fw_rbuf_get_u32(&r);
    rc = fw_dpm_group_unpack(&r, &remote);
    if (rc == FW_SUCCESS && cnonce == FW_DPM_NONCE_MASK)
        rc = FW_ERR_PROTO; /* its answer's tag would be FW_DPM_RELAY_TAG */
    if (rc == FW_SUCCESS && croot >= remote->n)
        rc = FW_ERR_PROTO;
    if (rc == FW_SUCCESS) /* answer the connecting root, wherever it is */
        rc = fw_dpm_av_get(remote->m[croot].addr, remote->m[croot].addr_len,
                           &peer);
    if (rc != FW_SUCCESS)
        goto out;
    have_peer = 1;
    fw_buf_put_u8(&b, FW_DPM_PROTO_VERSION);
    fw_buf_put_u32(&b, 0);
    fw_dpm_group_pack(comm->local, &b);
    rc = fw_buf_status(&b);
    if (rc == FW_SUCCESS)
        rc = fw_dpm_tp_send(peer,
                            fw_dpm_tag(FW_DPM_CLASS_REPLY, 0, 0, 0) | cnonce,
                            b.data, b.len, -1);
    if (rc == FW_SUCCESS) {
        *cid_p = fw_dpm_cid_derive(port->nonce, cnonce);
        *remote_p = remote;
        remote = NULL;
    }
out:
    if (have_peer)
        fw_dpm_av_put(peer);
    fw_dpm_group_free(remote);
    fw_buf_cleanup(&b);
    free(buf);
    return rc;
}

/* Collective accept on port (significant at root). */
fw_status_t
fw_dpm_accept(fw_dpm_port_t *port, fw_comm_t *comm, int root,
              fw_dpm_abort_fn abort_fn, void *abort_arg, int timeout_ms,
              fw_comm_t **inter)
{
    fw_dpm_group_t *remote = NULL;
    uint32_t cid = 0;
    fw_status_t rc = FW_SUCCESS;

    if (comm->rank == (uint32_t)root)
        rc = fw_dpm_accept_root(port, comm, abort_fn, abort_arg, timeout_ms,
                                &remote, &cid);
    return fw_dpm_finish(comm, root, rc, cid, remote, 1, inter);
}

/* Arguments of a collective that makes an intercommunicator. */
fw_status_t
fw_dpm_coll_args(fw_comm_t *comm, int root, fw_comm_t **inter)
{
    fw_status_t rc = fw_dpm_comm_check(comm);

    if (rc != FW_SUCCESS)
        return rc;
    if (inter == NULL || root < 0 || (uint32_t)root >= comm->local->n ||
        comm->remote != NULL)
        return FW_ERR_BAD_PARAM;
    return FW_SUCCESS;
}

fw_status_t
fw_accept(const char *port_name, fw_comm_t *comm, int root,
          fw_comm_t **inter)
{
    fw_dpm_port_t *port = NULL;
    fw_status_t rc = fw_dpm_coll_args(comm, root, inter);
    int ms = fw_dpm_timeout_ms("FW_DPM_ACCEPT_MS", 1);

    if (rc != FW_SUCCESS)
        return rc;
    if (comm->rank == (uint32_t)root) {
        port = port_name != NULL ? fw_dpm_port_find(port_name) : NULL;
        if (port == NULL || port->closed) {
            FW_LOG_ERR("dpm", "accept: port %s is not open in this process",
                       port_name != NULL ? port_name : "(null)");
            /* the others still wait for the root's word */
            return fw_dpm_result_bcast(comm, root, FW_ERR_PORT, &(uint32_t){0},
                                       NULL, NULL, NULL, NULL);
        }
    }
    rc = fw_dpm_accept(port, comm, root, NULL, NULL, ms, inter);
    if (port != NULL && port->closed && rc == FW_ERR_PORT)
        fw_dpm_port_drop(port); /* closed while we waited */
    return rc;
}

/****************/
/* Connect      */
/****************/

/* Root: send CONNECT to the port, wait for the answer. */
static fw_status_t
fw_dpm_connect_root(const char *port_name, fw_comm_t *comm,
                    fw_dpm_group_t **remote_p, uint32_t *cid_p)
{
    int ms = fw_dpm_timeout_ms("FW_DPM_CONNECT_MS", 0);
    uint64_t deadline, now;
    fw_dpm_port_desc_t d;
    fw_dpm_group_t *remote = NULL;
    uint8_t *ans = malloc(FW_DPM_MSG_MAX);
    uint64_t cnonce = 0, peer = 0;
    int have_peer = 0;
    fw_rbuf_t r;
    fw_buf_t b;
    fw_status_t rc;

    fw_buf_init(&b);
    rc = ans == NULL ? FW_ERR_NO_MEM : fw_dpm_port_parse(port_name, &d);
    if (rc == FW_SUCCESS)
        rc = fw_dpm_local_ready(comm);
    if (rc == FW_SUCCESS && strcmp(d.provider, fw_dpm_tp_provider()) != 0) {
        FW_LOG_ERR("dpm", "connect: port is on provider %s, this process "
                   "uses %s", d.provider, fw_dpm_tp_provider());
        rc = FW_ERR_PORT;
    }
    if (rc == FW_SUCCESS) {
        rc = fw_dpm_av_get(d.addr, d.addr_len, &peer);
        /* not an address of our provider, or (shm) one whose region is
         * gone: a malformed or stale port */
        if (rc == FW_ERR_BAD_PARAM || rc == FW_ERR_UNREACHABLE)
            rc = FW_ERR_PORT;
    }
    if (rc != FW_SUCCESS)
        goto out;
    have_peer = 1;
    /* the time limit covers the meeting, not our own group's start-up */
    deadline = fw_time_ns() + (uint64_t)ms * 1000000ull;
    rc = fw_random_bytes(&cnonce, sizeof(cnonce));
    cnonce &= FW_DPM_NONCE_MASK;
    if (cnonce == FW_DPM_NONCE_MASK) /* the answer's tag would be */
        cnonce--;                    /* FW_DPM_RELAY_TAG */
    fw_buf_put_u8(&b, FW_DPM_PROTO_VERSION);
    fw_buf_put_u64(&b, cnonce);
    fw_buf_put_u32(&b, comm->rank); /* where in the group to answer */
    fw_dpm_group_pack(comm->local, &b);
    if (rc == FW_SUCCESS)
        rc = fw_buf_status(&b);
    if (rc == FW_SUCCESS) {
        rc = fw_dpm_tp_send(peer,
                            fw_dpm_tag(FW_DPM_CLASS_PORT, 0, 0, 0) | d.nonce,
                            b.data, b.len, ms);
        /* an address the relaying daemon refused, or (shm) whose region
         * is gone: as for our own endpoint above */
        if (rc == FW_ERR_BAD_PARAM || rc == FW_ERR_UNREACHABLE)
            rc = FW_ERR_PORT;
    }
    now = fw_time_ns();
    if (rc == FW_SUCCESS)
        rc = now >= deadline
                 ? FW_ERR_TIMEOUT
                 : fw_dpm_proto_recv(fw_dpm_tag(FW_DPM_CLASS_REPLY, 0, 0, 0) |
                                         cnonce,
                                     (int)((deadline - now) / 1000000ull) + 1,
                                     NULL, NULL, &ans, &r);
    if (rc != FW_SUCCESS)
        goto out;
    rc = (fw_status_t)-(int32_t)fw_rbuf_get_u32(&r);
    if (rc == FW_SUCCESS)
        rc = fw_dpm_group_unpack(&r, &remote);
    if (rc == FW_SUCCESS) {
        *cid_p = fw_dpm_cid_derive(d.nonce, cnonce);
        *remote_p = remote;
        remote = NULL;
    }
out:
    if (rc == FW_ERR_TIMEOUT)
        FW_LOG_ERR("dpm", "connect: no answer from the port within %d ms "
                   "(closed port or dead process?)", ms);
    if (have_peer)
        fw_dpm_av_put(peer);
    fw_dpm_group_free(remote);
    fw_buf_cleanup(&b);
    free(ans);
    return rc;
}

/* Collective connect (port significant at root). */
fw_status_t
fw_dpm_connect_to(const char *port_name, fw_comm_t *comm, int root,
                  fw_comm_t **inter)
{
    fw_dpm_group_t *remote = NULL;
    uint32_t cid = 0;
    fw_status_t rc = FW_SUCCESS;

    if (comm->rank == (uint32_t)root)
        rc = port_name == NULL
                 ? FW_ERR_PORT
                 : fw_dpm_connect_root(port_name, comm, &remote, &cid);
    return fw_dpm_finish(comm, root, rc, cid, remote, 0, inter);
}

fw_status_t
fw_connect(const char *port_name, fw_comm_t *comm, int root,
           fw_comm_t **inter)
{
    fw_status_t rc = fw_dpm_coll_args(comm, root, inter);

    if (rc != FW_SUCCESS)
        return rc;
    return fw_dpm_connect_to(port_name, comm, root, inter);
}
