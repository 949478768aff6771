/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Communicators: world and self, point-to-point messages as tagged
 * fabric messages, peer addresses. The endpoint opens at the first call
 * that needs it; the process then registers its address with fwrun,
 * which answers other ranks' queries for the world's addresses.
 */
#include "dpm/dpm_int.h"
#include "dpm/rail.h"
#include "dpm/relay.h"
#include "modex/modex_client.h"
#include "common/log.h"
#include "common/param.h"

#include <stdlib.h>
#include <string.h>

fw_dpm_state_t fw_dpm_g;

int
fw_dpm_timeout_ms(const char *param, int zero_is_forever)
{
    long ms = fw_param_get_long(param, zero_is_forever ? 0 : 1, 86400000);

    return ms == 0 ? FW_DPM_FOREVER_MS : (int)ms;
}

uint64_t
fw_dpm_tag(uint64_t cls, uint32_t cid, uint32_t src, uint32_t t)
{
    return (cls << 62) |
           ((uint64_t)(cid & ((1u << FW_DPM_CID_BITS) - 1)) << 38) |
           ((uint64_t)(src & (FW_DPM_MAX_RANKS - 1)) << 16) | (t & 0xffffu);
}

fw_status_t
fw_dpm_init(void)
{
    fw_client_t *c = &fw_client_g;
    fw_dpm_state_t *s = &fw_dpm_g;

    memset(s, 0, sizeof(*s));
    if (c->info.size > FW_DPM_MAX_RANKS)
        return FW_ERR_TOO_BIG;
    s->world_g.m = calloc(c->info.size, sizeof(*s->world_g.m));
    s->self_g.m = calloc(1, sizeof(*s->self_g.m));
    if (s->world_g.m == NULL || s->self_g.m == NULL) {
        free(s->world_g.m);
        free(s->self_g.m);
        return FW_ERR_NO_MEM;
    }
    s->world_g.n = c->info.size;
    s->self_g.n = 1;
    memcpy(s->world_g.jobid, c->info.jobid, sizeof(s->world_g.jobid));
    s->world_g.jobid[sizeof(s->world_g.jobid) - 1] = '\0';
    memcpy(s->self_g.jobid, s->world_g.jobid, sizeof(s->self_g.jobid));
    for (uint32_t i = 0; i < c->info.size; i++)
        s->world_g.m[i].rank = i;
    s->self_g.m[0].rank = c->info.rank;
    s->world = (fw_comm_t){FW_DPM_WORLD, FW_DPM_CID_WORLD, c->info.rank,
                           &s->world_g, NULL, 0, NULL};
    s->self = (fw_comm_t){FW_DPM_SELF, FW_DPM_CID_SELF, 0, &s->self_g, NULL,
                          0, NULL};
    s->up = 1;
    return FW_SUCCESS;
}

static void
fw_dpm_group_release(fw_dpm_group_t *g)
{
    for (uint32_t i = 0; i < g->n; i++)
        if (g->m[i].have_peer)
            fw_dpm_av_put(g->m[i].peer);
    free(g->m);
    memset(g, 0, sizeof(*g));
}

/* Keep the buffer of a receive that could not be cancelled for sure
 * until the endpoint is closed (fw_finalize); if even that list cannot
 * grow, leak it rather than risk a late write into freed memory. */
void
fw_dpm_graveyard_add(void *buf)
{
    fw_dpm_state_t *s = &fw_dpm_g;
    void **g;

    if (buf == NULL)
        return;
    g = realloc(s->graveyard, (s->ngraveyard + 1) * sizeof(*g));
    if (g == NULL)
        return;
    s->graveyard = g;
    g[s->ngraveyard++] = buf;
}

/* After the endpoint closed. */
void
fw_dpm_graveyard_free(void *graveyard, size_t n)
{
    void **g = graveyard;

    for (size_t i = 0; i < n; i++)
        free(g[i]);
    free(g);
}

/* Before the endpoint closes: free every communicator and port. The
 * graveyard is handed to fw_finalize (freed after the close). */
void
fw_dpm_fini(void)
{
    fw_dpm_state_t *s = &fw_dpm_g;

    if (!s->up)
        return;
    while (s->comms != NULL)
        fw_dpm_comm_free(s->comms);
    while (s->ports != NULL)
        fw_dpm_port_drop(s->ports);
    fw_dpm_env_drop(0, 1);
    fw_dpm_group_release(&s->world_g);
    fw_dpm_group_release(&s->self_g);
    fw_dpm_av_fini();
    fw_dpm_tp_close();
    memset(s, 0, sizeof(*s));
}

/* Fill world addresses from fwrun: rank's (or all, rank = UINT32_MAX). */
static fw_status_t
fw_dpm_world_query(uint32_t rank)
{
    fw_dpm_group_t *g = &fw_dpm_g.world_g;
    void *reply = NULL;
    size_t len = 0;
    fw_rbuf_t r;
    fw_buf_t b;
    uint32_t n;
    fw_status_t rc;

    rc = fw_dpm_ep(); /* register first, or an all-query waits forever */
    if (rc != FW_SUCCESS)
        return rc;
    fw_buf_init(&b);
    fw_buf_put_u32(&b, rank);
    fw_buf_put_u32(&b, (uint32_t)fw_dpm_timeout_ms("FW_DPM_WIREUP_MS",
                                                   0));
    rc = fw_buf_status(&b);
    if (rc == FW_SUCCESS)
        rc = fw_dpm_call(FW_DPM_OP_EP_QUERY, &b, NULL, -1, &reply, &len);
    fw_buf_cleanup(&b);
    if (rc != FW_SUCCESS)
        goto out;
    fw_rbuf_init(&r, reply, len);
    n = fw_rbuf_get_u32(&r);
    for (uint32_t i = 0; i < n && fw_rbuf_status(&r) == FW_SUCCESS; i++) {
        uint32_t rk = fw_rbuf_get_u32(&r);
        size_t al = 0;
        const void *a = fw_rbuf_get_blob(&r, FW_MAX_ADDR, &al);

        if (a == NULL || rk >= g->n || al == 0)
            break;
        if (g->m[rk].addr_len == 0) {
            memcpy(g->m[rk].addr, a, al);
            g->m[rk].addr_len = (uint16_t)al;
        }
    }
    rc = fw_rbuf_status(&r) == FW_SUCCESS ? FW_SUCCESS : FW_ERR_PROTO;
out:
    free(reply);
    if (rc != FW_SUCCESS)
        FW_LOG_ERR("dpm", "rank %u: cannot learn the world's addresses: %s",
                   fw_client_g.info.rank, fw_strerror(rc));
    return rc;
}

fw_status_t
fw_dpm_world_resolve_all(void)
{
    fw_dpm_group_t *g = &fw_dpm_g.world_g;

    for (uint32_t i = 0; i < g->n; i++)
        if (g->m[i].addr_len == 0)
            return fw_dpm_world_query(UINT32_MAX);
    return FW_SUCCESS;
}

fw_status_t
fw_dpm_member_peer(fw_dpm_group_t *g, uint32_t i, uint64_t *peer_p)
{
    fw_dpm_member_t *m = &g->m[i];
    fw_status_t rc;

    if (!m->have_peer) {
        fw_dpm_group_t *w = &fw_dpm_g.world_g;

        /* a member of our own job (in world or a copy of it) is found
         * through the registry */
        if (m->addr_len == 0 && m->rank < w->n &&
            strcmp(g->jobid, w->jobid) == 0) {
            if (w->m[m->rank].addr_len == 0) {
                rc = fw_dpm_world_query(m->rank);
                if (rc != FW_SUCCESS)
                    return rc;
            }
            memcpy(m->addr, w->m[m->rank].addr, w->m[m->rank].addr_len);
            m->addr_len = w->m[m->rank].addr_len;
        }
        if (m->addr_len == 0)
            return FW_ERR_UNREACHABLE;
        rc = fw_dpm_av_get(m->addr, m->addr_len, &m->peer);
        if (rc != FW_SUCCESS)
            return rc;
        m->have_peer = 1;
    }
    *peer_p = m->peer;
    return FW_SUCCESS;
}

/* Give every member of a group of our job its address (from fwrun). */
fw_status_t
fw_dpm_fill_group(fw_dpm_group_t *g)
{
    fw_dpm_group_t *w = &fw_dpm_g.world_g;
    fw_status_t rc = FW_SUCCESS;

    if (strcmp(g->jobid, w->jobid) != 0)
        return FW_SUCCESS;
    for (uint32_t i = 0; i < g->n && rc == FW_SUCCESS; i++) {
        fw_dpm_member_t *m = &g->m[i];

        if (m->addr_len != 0 || m->rank >= w->n)
            continue;
        if (w->m[m->rank].addr_len == 0)
            rc = fw_dpm_world_resolve_all();
        if (rc == FW_SUCCESS) {
            memcpy(m->addr, w->m[m->rank].addr, w->m[m->rank].addr_len);
            m->addr_len = w->m[m->rank].addr_len;
        }
    }
    return rc;
}

fw_status_t
fw_dpm_comm_check(const fw_comm_t *comm)
{
    const fw_comm_t *c;

    if (!fw_client_g.initialized || !fw_dpm_g.up)
        return FW_ERR_NOT_INITIALIZED;
    if (comm == NULL)
        return FW_ERR_BAD_PARAM;
    if (comm == &fw_dpm_g.world || comm == &fw_dpm_g.self)
        return FW_SUCCESS;
    for (c = fw_dpm_g.comms; c != NULL; c = c->next)
        if (c == comm)
            return FW_SUCCESS;
    return FW_ERR_BAD_PARAM; /* freed or foreign handle */
}

void
fw_dpm_comm_link(fw_comm_t *comm)
{
    comm->next = fw_dpm_g.comms;
    fw_dpm_g.comms = comm;
}

void
fw_dpm_comm_free(fw_comm_t *comm)
{
    fw_comm_t **pp;

    for (pp = &fw_dpm_g.comms; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == comm) {
            *pp = comm->next;
            break;
        }
    }
    if (fw_dpm_g.parent == comm)
        fw_dpm_g.parent = NULL;
    fw_dpm_env_drop(comm->cid, 0);
    fw_dpm_group_free(comm->local);
    fw_dpm_group_free(comm->remote);
    free(comm);
}

/****************/
/* Public calls */
/****************/

fw_comm_t *
fw_comm_world(void)
{
    return fw_dpm_g.up ? &fw_dpm_g.world : NULL;
}

fw_comm_t *
fw_comm_self(void)
{
    return fw_dpm_g.up ? &fw_dpm_g.self : NULL;
}

int
fw_comm_rank(const fw_comm_t *comm)
{
    return fw_dpm_comm_check(comm) == FW_SUCCESS ? (int)comm->rank : -1;
}

int
fw_comm_size(const fw_comm_t *comm)
{
    return fw_dpm_comm_check(comm) == FW_SUCCESS ? (int)comm->local->n : -1;
}

int
fw_comm_remote_size(const fw_comm_t *comm)
{
    if (fw_dpm_comm_check(comm) != FW_SUCCESS)
        return -1;
    return comm->remote != NULL ? (int)comm->remote->n : 0;
}

static fw_dpm_group_t *
fw_dpm_peers(const fw_comm_t *comm)
{
    return comm->remote != NULL ? comm->remote : comm->local;
}

fw_status_t
fw_comm_send(fw_comm_t *comm, int dest, int tag, const void *buf, size_t len)
{
    fw_dpm_group_t *g;
    uint64_t peer;
    fw_status_t rc = fw_dpm_comm_check(comm);

    if (rc != FW_SUCCESS)
        return rc;
    g = fw_dpm_peers(comm);
    if (dest < 0 || (uint32_t)dest >= g->n || tag < 0 || tag > FW_TAG_UB ||
        (buf == NULL && len > 0))
        return FW_ERR_BAD_PARAM;
    rc = fw_dpm_ep();
    if (rc == FW_SUCCESS)
        rc = fw_dpm_member_peer(g, (uint32_t)dest, &peer);
    if (rc == FW_SUCCESS && fw_dpm_tp_exact_tags())
        rc = fw_dpm_env_send(peer, comm, (uint32_t)tag, len);
    if (rc == FW_SUCCESS)
        rc = fw_dpm_tp_send(peer,
                            fw_dpm_tag(FW_DPM_CLASS_USER, comm->cid,
                                       comm->rank, (uint32_t)tag),
                            buf, len, FW_DPM_FOREVER_MS);
    return rc;
}

/* fw_comm_recv on an exact-tag fabric: the envelope first (wildcards,
 * length), then the exact tag into a buffer the message fits in. */
static fw_status_t
fw_dpm_recv_exact(fw_comm_t *comm, int src, int tag, void *buf, size_t cap,
                  size_t *got_p)
{
    uint32_t s = 0, t = 0;
    uint64_t mlen = 0;
    void *whole = NULL;
    fw_status_t rc;

    rc = fw_dpm_env_pick(comm, src, tag, &s, &t, &mlen);
    if (rc == FW_SUCCESS && mlen > cap && mlen <= SIZE_MAX)
        whole = malloc((size_t)mlen); /* else the provider truncates */
    if (rc == FW_SUCCESS)
        rc = fw_dpm_tp_recv(fw_dpm_tag(FW_DPM_CLASS_USER, comm->cid, s, t), 0,
                            whole != NULL ? whole : buf,
                            whole != NULL ? (size_t)mlen : cap, got_p, NULL,
                            FW_DPM_FOREVER_MS, NULL, NULL);
    if (rc == FW_SUCCESS && whole != NULL) {
        if (cap > 0)
            memcpy(buf, whole, cap);
        rc = FW_ERR_TRUNCATE;
    }
    free(whole);
    if (rc == FW_SUCCESS || rc == FW_ERR_TRUNCATE)
        fw_dpm_env_consume(comm, s, t);
    return rc;
}

fw_status_t
fw_comm_recv(fw_comm_t *comm, int src, int tag, void *buf, size_t cap,
             size_t *len)
{
    uint64_t ignore = 0;
    size_t got = 0;
    fw_status_t rc = fw_dpm_comm_check(comm);

    if (rc != FW_SUCCESS)
        return rc;
    if ((src != FW_ANY_SOURCE &&
         (src < 0 || (uint32_t)src >= fw_dpm_peers(comm)->n)) ||
        (tag != FW_ANY_TAG && (tag < 0 || tag > FW_TAG_UB)) ||
        (buf == NULL && cap > 0))
        return FW_ERR_BAD_PARAM;
    if (src == FW_ANY_SOURCE)
        ignore |= (uint64_t)(FW_DPM_MAX_RANKS - 1) << 16;
    if (tag == FW_ANY_TAG)
        ignore |= 0xffffu;
    rc = fw_dpm_ep();
    if (rc == FW_SUCCESS && fw_dpm_tp_exact_tags())
        rc = fw_dpm_recv_exact(comm, src, tag, buf, cap, &got);
    else if (rc == FW_SUCCESS)
        rc = fw_dpm_tp_recv(fw_dpm_tag(FW_DPM_CLASS_USER, comm->cid,
                                       src < 0 ? 0 : (uint32_t)src,
                                       tag < 0 ? 0 : (uint32_t)tag),
                            ignore, buf, cap, &got, NULL, FW_DPM_FOREVER_MS,
                            NULL, NULL);
    if (rc == FW_SUCCESS && len != NULL)
        *len = got;
    return rc;
}

fw_status_t
fw_comm_peer_addr(const fw_comm_t *comm, int remote_rank, void *buf,
                  size_t *len)
{
    fw_dpm_group_t *g;
    fw_dpm_member_t *m;
    const uint8_t *inner, *a;
    size_t ilen, alen;
    uint32_t id;
    uint64_t peer;
    fw_status_t rc = fw_dpm_comm_check(comm);

    if (rc != FW_SUCCESS)
        return rc;
    g = fw_dpm_peers(comm);
    if (len == NULL || remote_rank < 0 || (uint32_t)remote_rank >= g->n)
        return FW_ERR_BAD_PARAM;
    rc = fw_dpm_ep();
    m = &g->m[remote_rank];
    if (rc == FW_SUCCESS && m->addr_len == 0 && g == &fw_dpm_g.world_g)
        rc = fw_dpm_world_query((uint32_t)remote_rank);
    if (rc != FW_SUCCESS)
        return rc;
    if (m->addr_len == 0)
        return FW_ERR_UNREACHABLE;
    a = m->addr;
    alen = m->addr_len;
    /* who asks for addresses will soon be asked for its own: a relayed
     * process opens its endpoint now (its failure is its askers') */
    if (fw_dpm_tp_relayed())
        (void)fw_dpm_tp_own(&inner, &ilen);
    /* a relayed process: the address of its own endpoint, opened when
     * first asked for (ours, when it is us) */
    if (fw_dpm_relay_addr_parse(m->addr, m->addr_len, &id, &inner, &ilen)) {
        const fw_dpm_member_t *me = &fw_dpm_g.world_g.m[fw_client_g.info.rank];

        if (me->addr_len == alen && memcmp(me->addr, a, alen) == 0)
            rc = fw_dpm_tp_own(&a, &alen);
        else if ((rc = fw_dpm_member_peer(g, (uint32_t)remote_rank, &peer)) ==
                 FW_SUCCESS)
            rc = fw_dpm_tp_own_of(peer, &a, &alen);
        if (rc != FW_SUCCESS)
            return rc;
    }
    fw_dpm_rail_addr_primary(a, alen, &a, &alen); /* the provider's own */
    if (buf == NULL || *len < alen) {
        *len = alen;
        return FW_ERR_TOO_BIG;
    }
    memcpy(buf, a, alen);
    *len = alen;
    return FW_SUCCESS;
}

const char *
fw_fabric_provider(void)
{
    if (!fw_client_g.initialized || fw_dpm_ep() != FW_SUCCESS)
        return NULL;
    return fw_dpm_tp_provider();
}
