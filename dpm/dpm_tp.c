/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The transport under the dpm layer: this process's own fabric endpoint,
 * or, for a relayed process (relay.h), a daemon that carries its
 * messages. Chosen when the first call needs it (fw_dpm_ep):
 *   FW_DPM_RELAY=auto  relayed when the launcher named a relaying daemon
 *                      (FW_RELAY_URI: a spawned child whose host runs a
 *                      daemon of its parent job) and it answers
 *   FW_DPM_RELAY=1     always (the rank's own daemon if none is named)
 *   FW_DPM_RELAY=0     never
 * A relayed process loads no libfabric for its messages: that is what a
 * spawned child would otherwise pay before it can talk to its parent.
 * Peers are entries of the address cache (dpm_group.c), whose address
 * may itself be a relay address: then, from an endpoint, messages go to
 * that daemon in fragments (fw_dpm_relay_fab_send).
 */
#include "dpm/dpm_int.h"
#include "dpm/rail.h"
#include "dpm/relay.h"
#include "modex/modex_client.h"
#include "common/log.h"
#include "common/param.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Prime a new endpoint with one message to ourselves (comm self, its own
 * step tag). Providers allocate some resources at the first message, not
 * at fi_enable: libfabric's rxm creates its two buffer pools (1024 x
 * 16 KiB each, ~15 ms of page faults apiece here) when the first
 * connection comes up. Without this, that cost lands inside the first
 * connect/accept or spawn connect-back, on both roots in turn.
 */
static fw_status_t
fw_dpm_ep_prime(fw_dpm_state_t *s)
{
    uint8_t in[FW_DPM_TOKEN_LEN];
    uint64_t peer, tag;
    size_t len = 0;
    fw_status_t rc;

    if (s->relay != NULL || fw_param_get_long("FW_DPM_PRIME", 0, 1) == 0)
        return FW_SUCCESS;
    rc = fw_dpm_member_peer(&s->self_g, 0, &peer);
    if (rc != FW_SUCCESS)
        return rc;
    tag = fw_dpm_tag(FW_DPM_CLASS_COLL, FW_DPM_CID_SELF, 0, FW_DPM_STEP_PRIME);
    rc = fw_dpm_tp_send(peer, tag, fw_dpm_token, FW_DPM_TOKEN_LEN,
                        fw_dpm_timeout_ms("FW_DPM_WIREUP_MS", 0));
    if (rc == FW_SUCCESS)
        rc = fw_dpm_tp_recv(tag, 0, in, sizeof(in), &len, NULL,
                            fw_dpm_timeout_ms("FW_DPM_WIREUP_MS", 0), NULL,
                            NULL);
    if (rc == FW_SUCCESS && len != FW_DPM_TOKEN_LEN)
        rc = FW_ERR_PROTO;
    return rc;
}

/* The relaying daemon to use, if any: its uri and secret. */
static int
fw_dpm_relay_target(char uri[FW_OOB_URI_MAX],
                    uint8_t secret[FW_OOB_SECRET_LEN])
{
    const char *mode = fw_param_get_str("FW_DPM_RELAY");
    const char *env = getenv("FW_RELAY_URI");
    const char *hex = getenv("FW_RELAY_SECRET");
    uint8_t job[FW_OOB_SECRET_LEN];

    if (mode != NULL && strcmp(mode, "auto") != 0 && strcmp(mode, "0") != 0 &&
        strcmp(mode, "1") != 0) {
        FW_LOG_WARN("dpm", "FW_DPM_RELAY: invalid value '%s' (expected "
                    "auto, 0 or 1), using auto", mode);
        mode = "auto";
    }
    if (mode != NULL && strcmp(mode, "0") == 0)
        return 0;
    if (env != NULL && env[0] != '\0' && strlen(env) < FW_OOB_URI_MAX &&
        hex != NULL &&
        fw_hex_decode(hex, secret, FW_OOB_SECRET_LEN) == FW_SUCCESS) {
        snprintf(uri, FW_OOB_URI_MAX, "%s", env);
        return 1;
    }
    if (mode == NULL || strcmp(mode, "1") != 0 ||
        fw_oob_secret_from_env(job) != FW_SUCCESS ||
        fw_dpm_relay_uri(fw_client_g.info.jobid, uri, FW_OOB_URI_MAX) !=
            FW_SUCCESS)
        return 0;
    fw_dpm_relay_secret(job, secret); /* our own daemon */
    memset(job, 0, sizeof(job));
    return 1;
}

/*
 * A relayed process waiting for its daemon's OOB answer (fence, lookup,
 * spawn, ...) still answers address queries from its relay; and once it
 * has its own endpoint, that endpoint is progressed whenever we wait
 * (peers connecting to it need us to: rxm accepts connections, shm maps
 * peers, in our progress calls).
 */
static void
fw_dpm_tp_idle_prepare(void *arg, int fds[FW_OOB_IDLE_FDS], int *max_ms)
{
    fw_dpm_state_t *s = &fw_dpm_g;
    int wfd;

    if (arg == NULL && s->relay != NULL) /* the daemon link's hook */
        fds[0] = fw_dpm_relay_fd(s->relay);
    if (s->own_len == 0 || s->fab == NULL)
        return;
    wfd = fw_fab_wait_fd(s->fab);
    if (wfd < 0) /* no wait fd (shm): progress every 1-8 ms */
        *max_ms = s->idle_ms = s->idle_ms == 0 ? 1
                             : s->idle_ms < 8  ? 2 * s->idle_ms
                                               : 8;
    else if (fw_fab_trywait(s->fab) == FW_SUCCESS)
        fds[1] = wfd;
    else
        *max_ms = 1; /* something pending: progress again soon, no spin */
}

static void
fw_dpm_tp_idle_run(void *arg)
{
    fw_dpm_state_t *s = &fw_dpm_g;

    size_t n = 0;

    if (s->own_len > 0 && s->fab != NULL &&
        fw_fab_progress(s->fab, &n) == FW_SUCCESS && n > 0)
        s->idle_ms = 0; /* something moved: soon again */
    if (arg == NULL && s->relay != NULL)
        fw_dpm_relay_pump(s->relay);
}

static const fw_oob_idle_t fw_dpm_tp_idle_daemon = {
    fw_dpm_tp_idle_prepare, fw_dpm_tp_idle_run, NULL};
static const fw_oob_idle_t fw_dpm_tp_idle_relay = {
    fw_dpm_tp_idle_prepare, fw_dpm_tp_idle_run, (void *)&fw_dpm_g};

/* A peer asked our daemon for our own endpoint's address. */
static void
fw_dpm_tp_asked(void *arg)
{
    const uint8_t *a;
    size_t len;

    (void)arg;
    (void)fw_dpm_tp_own(&a, &len);
}

/* Open our transport: relayed if a daemon takes us, else an endpoint
 * (our daemon is told first, so that it opens its own meanwhile: our
 * children may soon want it to relay them). */
static fw_status_t
fw_dpm_tp_open(fw_dpm_state_t *s)
{
    uint8_t secret[FW_OOB_SECRET_LEN];
    char uri[FW_OOB_URI_MAX];
    fw_status_t rc;

    if (fw_dpm_relay_target(uri, secret)) {
        rc = fw_dpm_relay_open(uri, secret, fw_client_g.info.rank,
                               fw_dpm_timeout_ms("FW_DPM_WIREUP_MS", 0),
                               &s->relay);
        memset(secret, 0, sizeof(secret));
        if (rc == FW_SUCCESS) {
            FW_LOG_DEBUG("dpm", "rank %u: relayed by the daemon at %s",
                         fw_client_g.info.rank, uri);
            fw_dpm_relay_on_ask(s->relay, fw_dpm_tp_asked, NULL);
            fw_dpm_relay_set_idle(s->relay, &fw_dpm_tp_idle_relay);
            fw_oob_sconn_set_idle(fw_client_g.conn, &fw_dpm_tp_idle_daemon);
            return FW_SUCCESS;
        }
        if (strcmp(fw_param_get_str("FW_DPM_RELAY"), "1") == 0) {
            FW_LOG_ERR("dpm", "rank %u: relaying daemon %s: %s "
                       "(FW_DPM_RELAY=1)", fw_client_g.info.rank, uri,
                       fw_strerror(rc));
            return rc;
        }
        FW_LOG_DEBUG("dpm", "rank %u: relaying daemon %s: %s; opening our "
                     "own endpoint", fw_client_g.info.rank, uri,
                     fw_strerror(rc));
    }
    (void)fw_dpm_send_req(FW_DPM_OP_WARM, NULL, NULL);
    rc = fw_client_fab(&fw_client_g, &s->fab);
    if (rc == FW_SUCCESS)
        rc = fw_dpm_rail_open(s->fab, &s->rail);
    if (rc == FW_SUCCESS && s->rail != NULL) {
        uint8_t key[FW_DPM_RAIL_KEY_LEN];
        char hex[2 * FW_DPM_RAIL_KEY_LEN + 1] = "";

        if (fw_dpm_rail_host_key(key) == FW_SUCCESS)
            fw_hex_encode(key, sizeof(key), hex);
        FW_LOG_DEBUG("dpm", "rank %u: shm rail open beside %s, host key %s",
                     fw_client_g.info.rank, fw_fab_provider(s->fab), hex);
    }
    if (rc != FW_SUCCESS)
        s->fab = NULL; /* fw_client_g's; tried again at the next call */
    return rc;
}

/* Our transport, opened if need be (not registered yet). */
fw_status_t
fw_dpm_tp_ready(void)
{
    fw_dpm_state_t *s = &fw_dpm_g;

    if (s->fab != NULL || s->relay != NULL)
        return FW_SUCCESS;
    return fw_dpm_tp_open(s);
}

/* Our transport; at the first call, open it and register our address. */
fw_status_t
fw_dpm_ep(void)
{
    fw_client_t *c = &fw_client_g;
    fw_dpm_state_t *s = &fw_dpm_g;
    fw_dpm_member_t *me;
    size_t len = FW_MAX_ADDR;
    fw_buf_t b;
    fw_status_t rc;

    if (s->registered)
        return FW_SUCCESS;
    rc = fw_dpm_tp_ready();
    if (rc != FW_SUCCESS)
        return rc;
    me = &s->world_g.m[c->info.rank];
    rc = fw_dpm_tp_addr(me->addr, &len);
    if (rc != FW_SUCCESS)
        return rc;
    me->addr_len = (uint16_t)len;
    s->self_g.m[0] = *me;
    rc = fw_dpm_ep_prime(s);
    if (rc != FW_SUCCESS)
        return rc; /* retried next time */
    fw_buf_init(&b);
    fw_buf_put_blob(&b, me->addr, len);
    rc = fw_buf_status(&b);
    if (rc == FW_SUCCESS)
        rc = fw_dpm_send_req(FW_DPM_OP_EP_REG, &b, NULL);
    fw_buf_cleanup(&b);
    if (rc == FW_SUCCESS)
        s->registered = 1;
    return rc;
}

void
fw_dpm_tp_close(void)
{
    if (fw_dpm_g.relay != NULL)
        fw_oob_sconn_set_idle(fw_client_g.conn, NULL);
    fw_dpm_relay_close(fw_dpm_g.relay);
    fw_dpm_g.relay = NULL;
    fw_dpm_rail_close(fw_dpm_g.rail);
    fw_dpm_g.rail = NULL;
    fw_dpm_g.fab = NULL; /* fw_client_g's, closed by fw_finalize */
}

int
fw_dpm_tp_relayed(void)
{
    return fw_dpm_g.relay != NULL;
}

int
fw_dpm_tp_exact_tags(void)
{
    return fw_dpm_g.relay != NULL ? fw_dpm_relay_exact_tags(fw_dpm_g.relay)
                                  : fw_fab_exact_tags(fw_dpm_g.fab);
}

const char *
fw_dpm_tp_provider(void)
{
    return fw_dpm_g.relay != NULL ? fw_dpm_relay_provider(fw_dpm_g.relay)
                                  : fw_fab_provider(fw_dpm_g.fab);
}

fw_status_t
fw_dpm_tp_primary_addr(void *buf, size_t *len_p)
{
    if (fw_dpm_g.relay != NULL)
        return fw_dpm_relay_addr(fw_dpm_g.relay, buf, len_p);
    return fw_fab_addr_get(fw_dpm_g.fab, buf, len_p);
}

/* Ours: with a rail, the rail address around the primary one. */
fw_status_t
fw_dpm_tp_addr(void *buf, size_t *len_p)
{
    uint8_t a[FW_MAX_ADDR];
    size_t alen = sizeof(a);
    fw_status_t rc;

    if (fw_dpm_g.rail == NULL)
        return fw_dpm_tp_primary_addr(buf, len_p);
    rc = fw_dpm_tp_primary_addr(a, &alen);
    if (rc == FW_SUCCESS)
        rc = fw_dpm_rail_addr(fw_dpm_g.rail, a, alen, buf, len_p);
    return rc;
}

/*
 * Our own endpoint's address. A relayed process opens its endpoint now
 * (libfabric loads: ~0.4 s here) and tells its daemon, which answers
 * the peers that ask (fw_dpm_tp_own_of); its messages still go through
 * the daemon. Once: a failure is kept.
 */
fw_status_t
fw_dpm_tp_own(const uint8_t **addr_p, size_t *len_p)
{
    fw_dpm_state_t *s = &fw_dpm_g;
    size_t len = sizeof(s->own);
    fw_status_t rc;

    if (s->relay == NULL) {
        rc = fw_dpm_ep();
        if (rc != FW_SUCCESS)
            return rc;
        *addr_p = s->world_g.m[fw_client_g.info.rank].addr;
        *len_p = s->world_g.m[fw_client_g.info.rank].addr_len;
        return FW_SUCCESS;
    }
    if (s->own_len == 0 && s->own_rc == FW_SUCCESS) {
        rc = fw_client_fab(&fw_client_g, &s->fab);
        if (rc == FW_SUCCESS)
            rc = fw_fab_addr_get(s->fab, s->own, &len);
        if (rc == FW_SUCCESS)
            s->own_len = (uint16_t)len;
        else
            s->own_rc = rc;
        FW_LOG_DEBUG("dpm", "rank %u: relayed, own endpoint: %s",
                     fw_client_g.info.rank, fw_strerror(rc));
        (void)fw_dpm_relay_post_addr(s->relay, rc, s->own, len);
    }
    if (s->own_len == 0)
        return s->own_rc;
    *addr_p = s->own;
    *len_p = s->own_len;
    return FW_SUCCESS;
}

/* Ask the daemon behind relay address e for its process's own address,
 * within FW_DPM_ADDR_MS. */
static fw_status_t
fw_dpm_tp_ask(fw_dpm_av_ent_t *e, uint8_t *out, size_t *len_p)
{
    const fw_dpm_member_t *me = &fw_dpm_g.world_g.m[fw_client_g.info.rank];
    int ms = fw_dpm_timeout_ms("FW_DPM_ADDR_MS", 0);
    uint64_t nonce = 0, tag, end = fw_time_ns() + (uint64_t)ms * 1000000u;
    uint8_t in[8 + FW_MAX_ADDR];
    const void *a;
    size_t got = 0, alen = 0;
    fw_rbuf_t rb;
    fw_buf_t b;
    fw_status_t rc = fw_random_bytes(&nonce, sizeof(nonce));

    nonce &= FW_DPM_NONCE_MASK;
    if (nonce == FW_DPM_NONCE_MASK)
        nonce = 0;
    tag = fw_dpm_tag(FW_DPM_CLASS_REPLY, 0, 0, 0) | nonce;
    fw_buf_init(&b);
    fw_buf_put_u64(&b, tag);
    fw_buf_put_blob(&b, me->addr, me->addr_len);
    if (rc == FW_SUCCESS)
        rc = fw_buf_status(&b);
    if (rc == FW_SUCCESS)
        rc = fw_dpm_tp_send((uint64_t)(uintptr_t)e, FW_DPM_RELAY_TAG, b.data,
                            b.len, ms);
    fw_buf_cleanup(&b);
    if (rc == FW_SUCCESS) {
        uint64_t now = fw_time_ns();

        rc = fw_dpm_tp_recv(tag, 0, in, sizeof(in), &got, NULL,
                            now >= end ? 0 : (int)((end - now) / 1000000u),
                            NULL, NULL);
    }
    if (rc != FW_SUCCESS)
        return rc;
    fw_rbuf_init(&rb, in, got);
    rc = (fw_status_t)-(int32_t)fw_rbuf_get_u32(&rb);
    a = fw_rbuf_get_blob(&rb, FW_MAX_ADDR, &alen);
    if (fw_rbuf_status(&rb) != FW_SUCCESS || rc > 0 ||
        (rc == FW_SUCCESS && (a == NULL || alen == 0)))
        return FW_ERR_PROTO;
    if (rc == FW_SUCCESS) {
        memcpy(out, a, alen);
        *len_p = alen;
    }
    return rc;
}

fw_status_t
fw_dpm_tp_own_of(uint64_t peer, const uint8_t **addr_p, size_t *len_p)
{
    fw_dpm_av_ent_t *e = (fw_dpm_av_ent_t *)(uintptr_t)peer;
    uint8_t a[FW_MAX_ADDR];
    size_t len = 0;
    fw_status_t rc = FW_SUCCESS;

    if (e->own == NULL) {
        rc = fw_dpm_tp_ask(e, a, &len);
        if (rc == FW_SUCCESS && (e->own = malloc(len)) == NULL)
            rc = FW_ERR_NO_MEM;
        if (rc != FW_SUCCESS)
            return rc;
        memcpy(e->own, a, len);
        e->own_len = (uint16_t)len;
    }
    *addr_p = e->own;
    *len_p = e->own_len;
    return FW_SUCCESS;
}

/* e is our own address. */
static int
fw_dpm_tp_is_us(const fw_dpm_av_ent_t *e)
{
    const fw_dpm_member_t *me = &fw_dpm_g.world_g.m[fw_client_g.info.rank];

    return me->addr_len == e->len && memcmp(me->addr, e->addr, e->len) == 0;
}

/* A new cache entry's fabric side: its address in our AV, or, a relay
 * address, its daemon's (entry e->via). Nothing when we are relayed. */
fw_status_t
fw_dpm_tp_peer_open(fw_dpm_av_ent_t *e)
{
    const uint8_t *inner;
    size_t ilen = 0;
    uint64_t via;
    fw_status_t rc;

    if (fw_dpm_g.relay != NULL)
        return FW_SUCCESS;
    /* not ourselves: the primer's message to us primes the primary */
    if (fw_dpm_rail_local(fw_dpm_g.rail, e->addr, e->len, &inner, &ilen) &&
        !fw_dpm_tp_is_us(e)) {
        fw_fab_t *shm = fw_dpm_rail_fab(fw_dpm_g.rail);

        rc = fw_fab_av_insert(shm, inner, ilen, &e->fi_peer);
        if (rc == FW_SUCCESS || fw_fab_av_gone(shm, inner, ilen)) {
            e->rail = rc == FW_SUCCESS;
            FW_LOG_DEBUG("dpm", "rank %u: a peer on this host, via the shm "
                         "rail: %s", fw_client_g.info.rank, fw_strerror(rc));
            return rc; /* a peer gone fails at once */
        }
        FW_LOG_WARN("dpm", "rank %u: a peer on this host: shm rail: %s; "
                    "using %s", fw_client_g.info.rank, fw_strerror(rc),
                    fw_fab_provider(fw_dpm_g.fab));
    }
    if (!fw_dpm_relay_addr_parse(e->addr, e->len, &e->relay_id, &inner,
                                 &ilen)) {
        FW_LOG_DEBUG("dpm", "rank %u: %s via %s", fw_client_g.info.rank,
                     fw_dpm_tp_is_us(e) ? "ourselves" : "a peer",
                     fw_fab_provider(fw_dpm_g.fab));
        fw_dpm_rail_addr_primary(e->addr, e->len, &inner, &ilen);
        return fw_fab_av_insert(fw_dpm_g.fab, inner, ilen, &e->fi_peer);
    }
    if (fw_fab_cq_data_size(fw_dpm_g.fab) < 4)
        return FW_ERR_UNSUPPORTED;
    rc = fw_dpm_av_get(inner, ilen, &via);
    if (rc == FW_SUCCESS)
        e->via = (fw_dpm_av_ent_t *)(uintptr_t)via;
    return rc;
}

void
fw_dpm_tp_peer_close(fw_dpm_av_ent_t *e)
{
    free(e->own);
    e->own = NULL;
    if (e->via != NULL)
        fw_dpm_av_put((uint64_t)(uintptr_t)e->via);
    else if (e->rail && fw_dpm_g.rail != NULL)
        (void)fw_fab_av_remove(fw_dpm_rail_fab(fw_dpm_g.rail), e->fi_peer);
    else if (fw_dpm_g.fab != NULL && fw_dpm_g.relay == NULL && !e->rail)
        (void)fw_fab_av_remove(fw_dpm_g.fab, e->fi_peer);
}

int
fw_dpm_tp_peer_gone(const fw_dpm_av_ent_t *e)
{
    const fw_dpm_av_ent_t *d = e->via != NULL ? e->via : e;
    const uint8_t *a;
    size_t alen = 0;

    if (fw_dpm_g.relay != NULL || fw_dpm_g.fab == NULL)
        return 0;
    if (d->rail)
        return fw_dpm_rail_local(fw_dpm_g.rail, d->addr, d->len, &a, &alen) &&
               fw_fab_av_gone(fw_dpm_rail_fab(fw_dpm_g.rail), a, alen);
    fw_dpm_rail_addr_primary(d->addr, d->len, &a, &alen);
    return fw_fab_av_gone(fw_dpm_g.fab, a, alen);
}

fw_status_t
fw_dpm_tp_send(uint64_t peer, uint64_t tag, const void *buf, size_t len,
               int timeout_ms)
{
    fw_dpm_av_ent_t *e = (fw_dpm_av_ent_t *)(uintptr_t)peer;
    uint64_t msgid = 0;

    if (fw_dpm_g.relay != NULL)
        return fw_dpm_relay_send(fw_dpm_g.relay, e->addr, e->len, tag, buf,
                                 len, timeout_ms);
    if (e->rail) {
        const uint8_t *shm = NULL;
        size_t slen = 0;

        (void)fw_dpm_rail_local(fw_dpm_g.rail, e->addr, e->len, &shm, &slen);
        return fw_dpm_rail_send(fw_dpm_g.rail, e->fi_peer, shm, slen, tag,
                                buf, len, timeout_ms);
    }
    if (e->via == NULL)
        return fw_fab_tsend(fw_dpm_g.fab, e->fi_peer, tag, buf, len,
                            timeout_ms);
    if (fw_random_bytes(&msgid, sizeof(msgid)) != FW_SUCCESS)
        return FW_ERR_SYSTEM;
    return fw_dpm_relay_fab_send(fw_dpm_g.fab, e->via->fi_peer, e->relay_id,
                                 tag, msgid, buf, len, timeout_ms);
}

fw_status_t
fw_dpm_tp_recv(uint64_t tag, uint64_t ignore, void *buf, size_t cap,
               size_t *len_p, uint64_t *tag_p, int timeout_ms,
               fw_fab_stop_fn stop, void *stop_arg)
{
    if (fw_dpm_g.relay != NULL)
        return fw_dpm_relay_recv(fw_dpm_g.relay, tag, ignore, buf, cap, len_p,
                                 tag_p, timeout_ms, stop, stop_arg);
    if (fw_dpm_g.rail != NULL)
        return fw_dpm_rail_recv(fw_dpm_g.rail, fw_dpm_g.fab, tag, ignore, buf,
                                cap, len_p, tag_p, timeout_ms, stop,
                                stop_arg);
    return fw_fab_trecv_stop(fw_dpm_g.fab, tag, ignore, buf, cap, len_p,
                             tag_p, timeout_ms, stop, stop_arg);
}
