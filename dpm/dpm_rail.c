/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The local rail (rail.h) on the fabric: a second endpoint, shm, for
 * peers on this host (FW_DPM_SHM). Paired with the primary endpoint, so
 * that a blocking call on either progresses both. Its receives are
 * FW_DPM_RAIL_SLOTS buffers of FW_DPM_RAIL_FRAG bytes, always posted
 * with the one rail tag; the headers (and inline messages) they take
 * are matched by the engine in rail.c, and a receive of the dpm layer
 * races the primary endpoint's receive against it (fw_fab_trecv_or). A
 * BIG message is then received by its own tag straight into the
 * caller's buffer.
 */
#include "dpm/dpm_int.h"
#include "dpm/rail.h"
#include "common/log.h"
#include "common/param.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

#define FW_DPM_RAIL_SLOTS 8
/* Inline messages sent but not yet taken by their receivers: above
 * this, a send waits for older ones. */
#define FW_DPM_RAIL_OUT_MAX (64u << 20)

/* An inline message over the inject size: shm 1.17 completes it only
 * when the receiver progresses, so it is sent from a copy of its own
 * and the call returns, as over tcp;ofi_rxm (which buffers up to its
 * SAR limit). */
typedef struct fw_dpm_rail_out {
    struct fw_dpm_rail *rail;
    struct fw_dpm_rail_out *prev, *next;
    uint8_t shm[FW_MAX_ADDR]; /* the receiver's shm address, */
    size_t shm_len;           /* to see that it is gone */
    size_t len;
    uint8_t data[];
} fw_dpm_rail_out_t;

typedef struct fw_dpm_rail_slot {
    struct fw_dpm_rail *rail;
    uint8_t *buf;
    int posted;
} fw_dpm_rail_slot_t;

struct fw_dpm_rail {
    fw_fab_t *fab;               /* shm */
    fw_dpm_rail_rx_t *rx;
    uint8_t key[FW_DPM_RAIL_KEY_LEN];
    uint8_t *sbuf;               /* one header (and inline message) sent */
    fw_dpm_rail_out_t *out;      /* inline messages not taken yet */
    size_t out_bytes;
    fw_dpm_rail_slot_t slot[FW_DPM_RAIL_SLOTS];
};

static fw_status_t fw_dpm_rail_post(fw_dpm_rail_slot_t *sl);

/* A rail receive completed: take the message in, post the buffer
 * again (not after a cancel: the rail is closing). */
static void
fw_dpm_rail_cb(const fw_fab_cmpl_t *cmpl, void *arg)
{
    fw_dpm_rail_slot_t *sl = arg;
    fw_status_t rc = cmpl->status;

    sl->posted = 0;
    if (rc == FW_ERR_TIMEOUT)
        return;
    if (rc == FW_SUCCESS)
        rc = fw_dpm_rail_rx_frag(sl->rail->rx, sl->buf, cmpl->len);
    if (rc != FW_SUCCESS)
        FW_LOG_WARN("dpm", "shm rail: a message of %zu bytes dropped: %s",
                    cmpl->len, fw_strerror(rc));
    rc = fw_dpm_rail_post(sl);
    if (rc != FW_SUCCESS)
        FW_LOG_ERR("dpm", "shm rail: receive buffer not posted again: %s",
                   fw_strerror(rc));
}

static fw_status_t
fw_dpm_rail_post(fw_dpm_rail_slot_t *sl)
{
    fw_status_t rc = fw_fab_trecv_nb(sl->rail->fab, FW_DPM_RAIL_TAG, 0,
                                     sl->buf, FW_DPM_RAIL_FRAG,
                                     fw_dpm_rail_cb, sl);

    if (rc == FW_SUCCESS)
        sl->posted = 1;
    return rc;
}

static void
fw_dpm_rail_out_unlink(fw_dpm_rail_out_t *o)
{
    fw_dpm_rail_t *r = o->rail;

    if (o->prev != NULL)
        o->prev->next = o->next;
    else
        r->out = o->next;
    if (o->next != NULL)
        o->next->prev = o->prev;
    r->out_bytes -= o->len;
}

/* An inline message taken by its receiver (or failed). */
static void
fw_dpm_rail_out_cb(const fw_fab_cmpl_t *cmpl, void *arg)
{
    fw_dpm_rail_out_t *o = arg;

    if (cmpl->status != FW_SUCCESS)
        FW_LOG_WARN("dpm", "shm rail: a message of %zu bytes not delivered: "
                    "%s", o->len, fw_strerror(cmpl->status));
    fw_dpm_rail_out_unlink(o);
    free(o);
}

/* Wait, progressing the rail, until at most `left` bytes are waiting
 * for receivers, end passes (FW_ERR_TIMEOUT), or every receiver still
 * owing us is gone (its messages are dropped, logged). */
static fw_status_t
fw_dpm_rail_out_wait(fw_dpm_rail_t *r, size_t left, uint64_t end)
{
    uint64_t nap = 5000, now, next_check = 0;
    fw_dpm_rail_out_t *o;
    size_t n = 0;
    int live;

    while (r->out_bytes > left) {
        if (fw_fab_progress(r->fab, &n) == FW_SUCCESS && n > 0)
            nap = 5000;
        now = fw_time_ns();
        if (r->out_bytes <= left)
            break;
        if (now >= end)
            return FW_ERR_TIMEOUT;
        if (now >= next_check) { /* receivers that ended take nothing */
            next_check = now + 10000000u;
            for (live = 0, o = r->out; o != NULL; o = o->next)
                live |= !fw_fab_av_gone(r->fab, o->shm, o->shm_len);
            if (!live)
                return FW_ERR_UNREACHABLE;
        }
        fw_fab_nap(&nap, end - now);
    }
    return FW_SUCCESS;
}

void
fw_dpm_rail_close(fw_dpm_rail_t *r)
{
    int ms = (int)fw_param_get_long("FW_DPM_SHM_DRAIN_MS", 0, 86400000L);
    fw_status_t rc;
    size_t i;

    if (r == NULL)
        return;
    if (r->out != NULL && r->fab != NULL) {
        rc = fw_dpm_rail_out_wait(r, 0,
                                  fw_time_ns() + (uint64_t)ms * 1000000u);
        if (rc != FW_SUCCESS)
            FW_LOG_WARN("dpm", "shm rail: %zu bytes sent were not taken by "
                        "their receivers at close (%s)", r->out_bytes,
                        rc == FW_ERR_TIMEOUT ? "FW_DPM_SHM_DRAIN_MS passed"
                                             : "they are gone");
    }
    fw_fab_close(r->fab); /* cancels the posted receives first */
    while (r->out != NULL) { /* what close cancelled */
        fw_dpm_rail_out_t *o = r->out;

        fw_dpm_rail_out_unlink(o);
        free(o);
    }
    for (i = 0; i < FW_DPM_RAIL_SLOTS; i++)
        free(r->slot[i].buf);
    free(r->sbuf);
    fw_dpm_rail_rx_free(r->rx);
    free(r);
}

/* The rail's parts other than its endpoint. */
static fw_status_t
fw_dpm_rail_alloc(fw_dpm_rail_t **r_p)
{
    fw_dpm_rail_t *r = calloc(1, sizeof(*r));
    fw_status_t rc = r == NULL ? FW_ERR_NO_MEM : fw_dpm_rail_host_key(r->key);
    size_t i;

    if (rc == FW_SUCCESS)
        rc = fw_dpm_rail_rx_new(&r->rx);
    if (rc == FW_SUCCESS && (r->sbuf = malloc(FW_DPM_RAIL_FRAG)) == NULL)
        rc = FW_ERR_NO_MEM;
    for (i = 0; i < FW_DPM_RAIL_SLOTS && rc == FW_SUCCESS; i++) {
        r->slot[i].rail = r;
        if ((r->slot[i].buf = malloc(FW_DPM_RAIL_FRAG)) == NULL)
            rc = FW_ERR_NO_MEM;
    }
    if (rc != FW_SUCCESS) {
        fw_dpm_rail_close(r);
        return rc;
    }
    *r_p = r;
    return FW_SUCCESS;
}

fw_status_t
fw_dpm_rail_open(fw_fab_t *primary, fw_dpm_rail_t **r_p)
{
    const char *mode = fw_param_get_str("FW_DPM_SHM");
    int must = mode != NULL && strcmp(mode, "1") == 0;
    fw_fab_params_t params;
    fw_dpm_rail_t *r = NULL;
    fw_error_t err = {0};
    fw_status_t rc;
    size_t i;

    *r_p = NULL;
    if (mode != NULL && strcmp(mode, "0") == 0)
        return FW_SUCCESS;
    if (!must && mode != NULL && mode[0] != '\0' &&
        strcmp(mode, "auto") != 0)
        FW_LOG_WARN("dpm", "FW_DPM_SHM: invalid value '%s' (expected auto, "
                    "0 or 1), using auto", mode);
    if (strcmp(fw_fab_provider(primary), "shm") == 0)
        return FW_SUCCESS; /* every peer it reaches is local already */
    rc = fw_dpm_rail_alloc(&r);
    if (rc == FW_SUCCESS) {
        memset(&params, 0, sizeof(params));
        params.provider = "shm";
        params.field_mask = FW_FAB_PARAMS_FIELD_PROVIDER;
        rc = fw_fab_open(&params, &r->fab, &err);
    }
    for (i = 0; i < FW_DPM_RAIL_SLOTS && rc == FW_SUCCESS; i++)
        rc = fw_dpm_rail_post(&r->slot[i]);
    if (rc != FW_SUCCESS) {
        if (must)
            FW_LOG_ERR("dpm", "shm rail (FW_DPM_SHM=1): %s",
                       err.text[0] != '\0' ? err.text : fw_strerror(rc));
        else
            FW_LOG_DEBUG("dpm", "no shm rail: %s",
                         err.text[0] != '\0' ? err.text : fw_strerror(rc));
        fw_dpm_rail_close(r);
        return must ? rc : FW_SUCCESS;
    }
    fw_fab_pair(primary, r->fab);
    *r_p = r;
    return FW_SUCCESS;
}

fw_status_t
fw_dpm_rail_addr(fw_dpm_rail_t *r, const void *primary, size_t plen,
                 void *out, size_t *len_p)
{
    uint8_t shm[FW_MAX_ADDR];
    size_t slen = sizeof(shm);
    fw_status_t rc = fw_fab_addr_get(r->fab, shm, &slen);

    if (rc != FW_SUCCESS)
        return rc;
    return fw_dpm_rail_addr_make(primary, plen, r->key, shm, slen, out,
                                 len_p);
}

int
fw_dpm_rail_local(const fw_dpm_rail_t *r, const uint8_t *addr, size_t len,
                  const uint8_t **shm_p, size_t *slen_p)
{
    fw_dpm_rail_addr_t a;

    if (r == NULL || !fw_dpm_rail_addr_parse(addr, len, &a) ||
        memcmp(a.key, r->key, FW_DPM_RAIL_KEY_LEN) != 0)
        return 0;
    *shm_p = a.shm;
    *slen_p = a.shm_len;
    return 1;
}

fw_fab_t *
fw_dpm_rail_fab(const fw_dpm_rail_t *r)
{
    return r == NULL ? NULL : r->fab;
}

/* Milliseconds left until end, 1 at least. */
static int
fw_dpm_rail_left_ms(uint64_t end)
{
    uint64_t now = fw_time_ns();

    return now + 1000000u >= end ? 1 : (int)((end - now) / 1000000u);
}

/* Send an inline message (header packed at o->data) from its copy,
 * not waiting for the receiver; at most FW_DPM_RAIL_OUT_MAX bytes wait
 * so. */
static fw_status_t
fw_dpm_rail_send_out(fw_dpm_rail_t *r, uint64_t peer, fw_dpm_rail_out_t *o,
                     uint64_t end)
{
    fw_status_t rc = FW_SUCCESS;

    if (r->out_bytes + o->len > FW_DPM_RAIL_OUT_MAX)
        rc = fw_dpm_rail_out_wait(r, FW_DPM_RAIL_OUT_MAX - o->len, end);
    if (rc == FW_SUCCESS)
        rc = fw_fab_tsend_nb(r->fab, peer, FW_DPM_RAIL_TAG, o->data, o->len,
                             fw_dpm_rail_out_cb, o);
    if (rc != FW_SUCCESS) {
        free(o);
        return rc;
    }
    o->rail = r;
    o->next = r->out;
    if (r->out != NULL)
        r->out->prev = o;
    r->out = o;
    r->out_bytes += o->len;
    (void)fw_fab_progress(r->fab, NULL); /* on its way now */
    return FW_SUCCESS;
}

fw_status_t
fw_dpm_rail_send(fw_dpm_rail_t *r, uint64_t peer, const uint8_t *shm,
                 size_t slen, uint64_t tag, const void *buf, size_t len,
                 int timeout_ms)
{
    uint64_t end = fw_time_ns() + (uint64_t)timeout_ms * 1000000u, big = 0;
    size_t n = len <= FW_DPM_RAIL_INLINE ? len : 0;
    fw_dpm_rail_out_t *o;
    fw_status_t rc = FW_SUCCESS;

    if (FW_DPM_RAIL_HDR + n > fw_fab_inject_size(r->fab)) {
        if (slen > sizeof(o->shm))
            return FW_ERR_BAD_PARAM;
        o = calloc(1, sizeof(*o) + FW_DPM_RAIL_HDR + n);
        if (o == NULL)
            return FW_ERR_NO_MEM;
        memcpy(o->shm, shm, slen);
        o->shm_len = slen;
        o->len = FW_DPM_RAIL_HDR + n;
        fw_dpm_rail_hdr_pack(o->data, len, 0, tag);
        memcpy(o->data + FW_DPM_RAIL_HDR, buf, n);
        if (len <= FW_DPM_RAIL_INLINE)
            return fw_dpm_rail_send_out(r, peer, o, end);
        free(o); /* BIG: its header is injected below */
    }
    if (len > FW_DPM_RAIL_INLINE) { /* the header, then the message */
        rc = fw_random_bytes(&big, sizeof(big));
        big |= FW_DPM_RAIL_BIG;
    }
    if (rc == FW_SUCCESS && r->sbuf == NULL &&
        (r->sbuf = malloc(FW_DPM_RAIL_FRAG)) == NULL)
        rc = FW_ERR_NO_MEM;
    if (rc != FW_SUCCESS)
        return rc;
    fw_dpm_rail_hdr_pack(r->sbuf, len, big, tag);
    if (n > 0)
        memcpy(r->sbuf + FW_DPM_RAIL_HDR, buf, n);
    rc = fw_fab_tsend(r->fab, peer, FW_DPM_RAIL_TAG, r->sbuf,
                      FW_DPM_RAIL_HDR + n, fw_dpm_rail_left_ms(end));
    if (rc == FW_ERR_TIMEOUT) { /* the provider may read it still */
        fw_dpm_graveyard_add(r->sbuf);
        r->sbuf = NULL;
    }
    if (rc == FW_SUCCESS && big != 0)
        rc = fw_fab_tsend(r->fab, peer, big, buf, len,
                          fw_dpm_rail_left_ms(end));
    return rc;
}

/* A BIG message matched: receive it (its own tag) into buf, or into a
 * buffer of its size to truncate it (shm 1.17 hangs when a message
 * over 4 KiB meets a smaller receive). */
static fw_status_t
fw_dpm_rail_recv_big(fw_dpm_rail_t *r, uint64_t big, uint64_t len,
                     uint64_t tag, void *buf, size_t cap, size_t *len_p,
                     uint64_t *tag_p, int timeout_ms)
{
    void *into = len <= cap ? buf : malloc(len);
    size_t got = 0;
    fw_status_t rc;

    if (into == NULL)
        return len > SIZE_MAX ? FW_ERR_TOO_BIG : FW_ERR_NO_MEM;
    rc = fw_fab_trecv(r->fab, big, 0, into, len, &got, NULL, timeout_ms);
    if (into != buf) {
        if (rc == FW_SUCCESS) {
            memcpy(buf, into, cap);
            rc = FW_ERR_TRUNCATE;
        }
        if (rc == FW_ERR_TIMEOUT) /* the provider may write it still */
            fw_dpm_graveyard_add(into);
        else
            free(into);
    }
    if (rc == FW_SUCCESS && got != len)
        rc = FW_ERR_PROTO;
    if (rc == FW_SUCCESS && len_p != NULL)
        *len_p = got;
    if (rc == FW_SUCCESS && tag_p != NULL)
        *tag_p = tag;
    return rc;
}

/* Deliver rail message m, inline or BIG. */
static fw_status_t
fw_dpm_rail_deliver(fw_dpm_rail_t *r, fw_dpm_rail_msg_t *m, void *buf,
                    size_t cap, size_t *len_p, uint64_t *tag_p,
                    int timeout_ms)
{
    uint64_t big, len, tag;

    if (fw_dpm_rail_rx_big(r->rx, m, &big, &len, &tag))
        return fw_dpm_rail_recv_big(r, big, len, tag, buf, cap, len_p, tag_p,
                                    timeout_ms);
    return fw_dpm_rail_rx_take(r->rx, m, buf, cap, len_p, tag_p);
}

typedef struct fw_dpm_rail_race {
    fw_dpm_rail_t *r;
    uint64_t tag, ignore;
    fw_fab_stop_fn stop;
    void *stop_arg;
    int hit;
} fw_dpm_rail_race_t;

/* Asked by the primary receive after each progress round (which
 * progressed the rail too): the caller's own stop, then a rail match. */
static fw_status_t
fw_dpm_rail_race_stop(void *arg)
{
    fw_dpm_rail_race_t *x = arg;
    fw_status_t rc = x->stop != NULL ? x->stop(x->stop_arg) : FW_SUCCESS;

    if (rc != FW_SUCCESS)
        return rc;
    if (fw_dpm_rail_rx_match(x->r->rx, x->tag, x->ignore) == NULL)
        return FW_SUCCESS;
    x->hit = 1;
    return FW_ERR_WOULD_BLOCK; /* not returned: the rail has our message */
}

fw_status_t
fw_dpm_rail_recv(fw_dpm_rail_t *r, fw_fab_t *primary, uint64_t tag,
                 uint64_t ignore, void *buf, size_t cap, size_t *len_p,
                 uint64_t *tag_p, int timeout_ms, fw_fab_stop_fn stop,
                 void *stop_arg)
{
    fw_dpm_rail_race_t x = {r, tag, ignore, stop, stop_arg, 0};
    fw_dpm_rail_msg_t *m;
    fw_status_t rc;

    (void)fw_fab_progress(r->fab, NULL);
    m = fw_dpm_rail_rx_match(r->rx, tag, ignore);
    if (m != NULL)
        return fw_dpm_rail_deliver(r, m, buf, cap, len_p, tag_p, timeout_ms);
    rc = fw_fab_trecv_or(primary, tag, ignore, buf, cap, len_p, tag_p,
                         timeout_ms, fw_dpm_rail_race_stop, &x);
    if (rc != FW_ERR_WOULD_BLOCK || !x.hit)
        return rc; /* a rail match, if any, stays for the next receive */
    m = fw_dpm_rail_rx_match(r->rx, tag, ignore);
    return fw_dpm_rail_deliver(r, m, buf, cap, len_p, tag_p, timeout_ms);
}
