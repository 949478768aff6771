/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Groups (members and their fabric addresses), their wire description,
 * context id derivation, and the address-vector cache shared by every
 * communicator (one AV entry per peer address, reference counted, so
 * repeated connect/disconnect cycles do not grow the AV). An entry no
 * communicator uses stays, up to FW_DPM_AV_KEEP of them (least recently
 * released goes first), so that the next connect to that peer inserts
 * nothing into the AV.
 *
 * Group description (version 1, big-endian):
 *   u8 version, str jobid, u32 n, n x (u32 rank, blob address)
 */
#include "dpm/dpm_int.h"
#include "modex/modex_client.h"
#include "common/param.h"

#include <stdlib.h>
#include <string.h>

#define FW_DPM_GROUP_VERSION 1

fw_dpm_group_t *
fw_dpm_group_new(uint32_t n, const char *jobid)
{
    fw_dpm_group_t *g = calloc(1, sizeof(*g));

    if (g == NULL)
        return NULL;
    g->m = calloc(n > 0 ? n : 1, sizeof(*g->m));
    if (g->m == NULL) {
        free(g);
        return NULL;
    }
    g->n = n;
    snprintf(g->jobid, sizeof(g->jobid), "%s", jobid != NULL ? jobid : "");
    return g;
}

void
fw_dpm_group_free(fw_dpm_group_t *g)
{
    uint32_t i;

    if (g == NULL)
        return;
    for (i = 0; i < g->n; i++)
        if (g->m[i].have_peer)
            fw_dpm_av_put(g->m[i].peer);
    free(g->m);
    free(g);
}

void
fw_dpm_group_pack(const fw_dpm_group_t *g, fw_buf_t *b)
{
    uint32_t i;

    fw_buf_put_u8(b, FW_DPM_GROUP_VERSION);
    fw_buf_put_str(b, g->jobid);
    fw_buf_put_u32(b, g->n);
    for (i = 0; i < g->n; i++) {
        fw_buf_put_u32(b, g->m[i].rank);
        fw_buf_put_blob(b, g->m[i].addr, g->m[i].addr_len);
    }
}

fw_status_t
fw_dpm_group_unpack(fw_rbuf_t *r, fw_dpm_group_t **g_p)
{
    fw_dpm_group_t *g = NULL;
    char *jobid = NULL;
    uint32_t n, i;
    fw_status_t rc = FW_ERR_PROTO;

    if (fw_rbuf_get_u8(r) != FW_DPM_GROUP_VERSION)
        goto out;
    jobid = fw_rbuf_get_str(r, FW_JOBID_MAX);
    n = fw_rbuf_get_u32(r);
    if (jobid == NULL || fw_rbuf_status(r) != FW_SUCCESS || n == 0 ||
        n > FW_DPM_MAX_RANKS || n > r->len - r->pos)
        goto out;
    g = fw_dpm_group_new(n, jobid);
    if (g == NULL) {
        rc = FW_ERR_NO_MEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        size_t len = 0;
        const void *a;

        g->m[i].rank = fw_rbuf_get_u32(r);
        a = fw_rbuf_get_blob(r, FW_MAX_ADDR, &len);
        if (a == NULL || len == 0)
            goto out;
        memcpy(g->m[i].addr, a, len);
        g->m[i].addr_len = (uint16_t)len;
    }
    if (fw_rbuf_status(r) != FW_SUCCESS)
        goto out;
    *g_p = g;
    g = NULL;
    rc = FW_SUCCESS;
out:
    fw_dpm_group_free(g);
    free(jobid);
    return rc;
}

/* Both sides derive the same id from the two nonces (splitmix64 mix);
 * 0 and 1 are world and self. */
uint32_t
fw_dpm_cid_derive(uint64_t a, uint64_t b)
{
    uint64_t z = a ^ (b * 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return 2u + (uint32_t)(z % ((1u << FW_DPM_CID_BITS) - 2u));
}

/****************/
/* AV cache     */
/****************/

#define FW_DPM_AV_BUCKETS 256

typedef struct fw_dpm_av {
    fw_dpm_av_ent_t *b[FW_DPM_AV_BUCKETS];
    fw_dpm_av_ent_t *idle_head, *idle_tail; /* refs == 0, newest first */
    uint32_t nidle;
    uint32_t keep; /* FW_DPM_AV_KEEP, read once */
} fw_dpm_av_t;

static unsigned
fw_dpm_av_hash(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;

    while (n-- > 0)
        h = (h ^ *p++) * 16777619u;
    return h % FW_DPM_AV_BUCKETS;
}

static void
fw_dpm_av_idle_unlink(fw_dpm_av_t *av, fw_dpm_av_ent_t *e)
{
    if (e->idle_prev != NULL)
        e->idle_prev->idle_next = e->idle_next;
    else
        av->idle_head = e->idle_next;
    if (e->idle_next != NULL)
        e->idle_next->idle_prev = e->idle_prev;
    else
        av->idle_tail = e->idle_prev;
    e->idle_prev = e->idle_next = NULL;
    av->nidle--;
}

/* Out of the hash and the AV (its daemon's entry released, if relayed). */
static void
fw_dpm_av_drop(fw_dpm_av_t *av, fw_dpm_av_ent_t *e)
{
    fw_dpm_av_ent_t **pp;

    for (pp = &av->b[fw_dpm_av_hash(e->addr, e->len)]; *pp != NULL;
         pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    }
    fw_dpm_tp_peer_close(e);
    free(e);
}

/* A kept entry whose peer (or, relayed, whose daemon) the provider knows
 * is gone (shm: its region): sending to it would crash libfabric 1.17's
 * shm. */
static int
fw_dpm_av_gone(const fw_dpm_av_ent_t *e)
{
    return fw_dpm_tp_peer_gone(e);
}

fw_status_t
fw_dpm_av_get(const uint8_t *addr, size_t len, uint64_t *peer_p)
{
    fw_dpm_av_t *av = fw_dpm_g.av;
    fw_dpm_av_ent_t *e;
    unsigned h;
    fw_status_t rc;

    if (len == 0 || len > FW_MAX_ADDR)
        return FW_ERR_UNREACHABLE;
    rc = fw_dpm_tp_ready();
    if (rc != FW_SUCCESS)
        return rc;
    if (av == NULL) {
        av = calloc(1, sizeof(*av));
        if (av == NULL)
            return FW_ERR_NO_MEM;
        av->keep = (uint32_t)fw_param_get_long("FW_DPM_AV_KEEP", 0, 1L << 20);
        fw_dpm_g.av = av;
    }
    h = fw_dpm_av_hash(addr, len);
    for (e = av->b[h]; e != NULL; e = e->next)
        if (e->len == len && memcmp(e->addr, addr, len) == 0)
            break;
    if (e != NULL && e->refs == 0) {
        fw_dpm_av_idle_unlink(av, e);
        if (fw_dpm_av_gone(e)) { /* inserted afresh: the insert says so */
            fw_dpm_av_drop(av, e);
            e = NULL;
        }
    }
    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        if (e == NULL)
            return FW_ERR_NO_MEM;
        memcpy(e->addr, addr, len);
        e->len = (uint16_t)len;
        rc = fw_dpm_tp_peer_open(e);
        if (rc != FW_SUCCESS) {
            free(e);
            return rc;
        }
        e->next = av->b[h];
        av->b[h] = e;
    }
    e->refs++;
    *peer_p = (uint64_t)(uintptr_t)e;
    return FW_SUCCESS;
}

void
fw_dpm_av_put(uint64_t peer)
{
    fw_dpm_av_t *av = fw_dpm_g.av;
    fw_dpm_av_ent_t *e = (fw_dpm_av_ent_t *)(uintptr_t)peer;

    if (av == NULL || e == NULL || e->refs == 0 || --e->refs > 0)
        return;
    free(e->own); /* a relayed process's own address: asked again */
    e->own = NULL;
    e->idle_prev = NULL;
    e->idle_next = av->idle_head;
    if (av->idle_head != NULL)
        av->idle_head->idle_prev = e;
    else
        av->idle_tail = e;
    av->idle_head = e;
    av->nidle++;
    /* dropping a relayed entry may release its daemon's: one at a time */
    while (av->nidle > av->keep && (e = av->idle_tail) != NULL) {
        fw_dpm_av_idle_unlink(av, e);
        fw_dpm_av_drop(av, e);
    }
}

/* At finalize, before the endpoint closes (which frees the AV itself). */
void
fw_dpm_av_fini(void)
{
    fw_dpm_av_t *av = fw_dpm_g.av;
    fw_dpm_av_ent_t *e;
    unsigned h;

    if (av == NULL)
        return;
    for (h = 0; h < FW_DPM_AV_BUCKETS; h++) {
        while ((e = av->b[h]) != NULL) {
            av->b[h] = e->next;
            free(e->own);
            free(e);
        }
    }
    free(av);
    fw_dpm_g.av = NULL;
}
