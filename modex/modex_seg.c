/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The daemon's shared segment (a memfd, so nothing is left in the file
 * system if the daemon dies): local ranks map it read-only through
 * /proc/<daemon>/fd/<n>; the window halves are also registered with the
 * fabric so ranks on other hosts read them with one RMA read.
 *
 *   page 0     header (magic, version, sizes, offsets, provider)
 *   rank map   nprocs x u32 node
 *   table      nnodes x fw_modex_peer_t (valid flag first)
 *   halves     2 x half_cap, page aligned; half e % 2 holds epoch e
 *
 * Window half (big-endian): u64 epoch, u32 nrecs, u32 used, u32 csum,
 * u32 reserved, nrecs x {u32 rank, u32 off, u32 len}, cards. csum is
 * FNV-1a over bytes [24, used): a torn read fails the check.
 */
#define _GNU_SOURCE
#include "modex/modex.h"
#include "common/log.h"
#include "fabwire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <unistd.h>

#define FW_MODEX_SEG_MAGIC 0x46575347u /* "FWSG" */
#define FW_MODEX_SEG_VERSION 1
#define FW_MODEX_PAGE 4096
#define FW_MODEX_WIN_HDR 24

typedef struct fw_modex_seg_hdr {
    uint32_t magic, version;
    uint32_t nprocs, nnodes, self, nlocal;
    uint64_t map_off, table_off, halves_off, half_cap, total;
    char provider[FW_MODEX_PROV_MAX];
    char src_addr[64];
    uint32_t mode;
} fw_modex_seg_hdr_t;

typedef struct fw_modex_seg_row {
    uint32_t valid;
    fw_modex_peer_t peer;
} fw_modex_seg_row_t;

struct fw_modex_seg {
    int fd;
    uint8_t *base;
    size_t size;
    int owner; /* daemon side: writable */
    fw_modex_seg_hdr_t *hdr;
};

static size_t
fw_modex_round(size_t n)
{
    return (n + FW_MODEX_PAGE - 1) & ~(size_t)(FW_MODEX_PAGE - 1);
}

static void
fw_modex_seg_layout(fw_modex_seg_hdr_t *h)
{
    h->map_off = FW_MODEX_PAGE;
    h->table_off = fw_modex_round(h->map_off + (size_t)h->nprocs * 4);
    h->halves_off = fw_modex_round(h->table_off + (size_t)h->nnodes *
                                                      sizeof(fw_modex_seg_row_t));
    h->half_cap = fw_modex_round(FW_MODEX_WIN_HDR +
                                 (size_t)h->nlocal * (12 + FW_MAX_CARD));
    h->total = h->halves_off + 2 * h->half_cap;
}

fw_status_t
fw_modex_seg_create(uint32_t nprocs, uint32_t nnodes, uint32_t self,
                    uint32_t nlocal, const uint32_t *rank_node,
                    fw_modex_seg_t **seg_p)
{
    fw_modex_seg_hdr_t h;
    fw_modex_seg_t *s;

    memset(&h, 0, sizeof(h));
    h.magic = FW_MODEX_SEG_MAGIC;
    h.version = FW_MODEX_SEG_VERSION;
    h.nprocs = nprocs;
    h.nnodes = nnodes;
    h.self = self;
    h.nlocal = nlocal;
    fw_modex_seg_layout(&h);
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return FW_ERR_NO_MEM;
    s->owner = 1;
    s->size = h.total;
    s->fd = memfd_create("fabwire-modex", MFD_CLOEXEC);
    if (s->fd < 0 || ftruncate(s->fd, (off_t)s->size) != 0) {
        FW_LOG_ERR("modex", "segment: memfd of %zu bytes: %m", s->size);
        goto err_close;
    }
    s->base = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd,
                   0);
    if (s->base == MAP_FAILED) {
        FW_LOG_ERR("modex", "segment: mmap: %m");
        s->base = NULL;
        goto err_close;
    }
    s->hdr = (fw_modex_seg_hdr_t *)s->base;
    memcpy(s->hdr, &h, sizeof(h));
    memcpy(s->base + h.map_off, rank_node, (size_t)nprocs * 4);
    *seg_p = s;
    return FW_SUCCESS;

err_close:
    if (s->fd >= 0)
        close(s->fd);
    free(s);
    return FW_ERR_SYSTEM;
}

fw_status_t
fw_modex_seg_attach(int pid, int fd, fw_modex_seg_t **seg_p)
{
    fw_modex_seg_hdr_t h;
    char path[64];
    fw_modex_seg_t *s;
    ssize_t n;

    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return FW_ERR_NO_MEM;
    snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) {
        FW_LOG_ERR("modex", "segment %s: open: %m", path);
        free(s);
        return FW_ERR_UNREACHABLE;
    }
    n = pread(s->fd, &h, sizeof(h), 0);
    if (n != (ssize_t)sizeof(h) || h.magic != FW_MODEX_SEG_MAGIC ||
        h.version != FW_MODEX_SEG_VERSION) {
        FW_LOG_ERR("modex", "segment %s: bad header", path);
        goto err_close;
    }
    s->size = h.total;
    s->base = mmap(NULL, s->size, PROT_READ, MAP_SHARED, s->fd, 0);
    if (s->base == MAP_FAILED) {
        FW_LOG_ERR("modex", "segment %s: mmap: %m", path);
        s->base = NULL;
        goto err_close;
    }
    s->hdr = (fw_modex_seg_hdr_t *)s->base;
    *seg_p = s;
    return FW_SUCCESS;

err_close:
    close(s->fd);
    free(s);
    return FW_ERR_PROTO;
}

void
fw_modex_seg_destroy(fw_modex_seg_t *seg)
{
    int saved = errno;

    if (seg == NULL)
        return;
    if (seg->base != NULL)
        munmap(seg->base, seg->size);
    if (seg->fd >= 0)
        close(seg->fd);
    free(seg);
    errno = saved;
}

int
fw_modex_seg_fd(const fw_modex_seg_t *seg)
{
    return seg->fd;
}

void *
fw_modex_seg_halves(const fw_modex_seg_t *seg, size_t *len_p)
{
    *len_p = 2 * seg->hdr->half_cap;
    return seg->base + seg->hdr->halves_off;
}

size_t
fw_modex_seg_half_cap(const fw_modex_seg_t *seg)
{
    return seg->hdr->half_cap;
}

uint32_t
fw_modex_seg_nprocs(const fw_modex_seg_t *seg)
{
    return seg->hdr->nprocs;
}

uint32_t
fw_modex_seg_nnodes(const fw_modex_seg_t *seg)
{
    return seg->hdr->nnodes;
}

uint32_t
fw_modex_seg_self(const fw_modex_seg_t *seg)
{
    return seg->hdr->self;
}

uint32_t
fw_modex_seg_node_of(const fw_modex_seg_t *seg, uint32_t rank)
{
    const uint32_t *map = (const uint32_t *)(seg->base + seg->hdr->map_off);

    return rank < seg->hdr->nprocs ? map[rank] : UINT32_MAX;
}

const void *
fw_modex_seg_half(const fw_modex_seg_t *seg, uint64_t epoch)
{
    return seg->base + seg->hdr->halves_off + (epoch % 2) * seg->hdr->half_cap;
}

/***************/
/* Window half */
/***************/

static void
fw_modex_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t
fw_modex_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

static uint32_t
fw_modex_fnv(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

fw_status_t
fw_modex_seg_publish(fw_modex_seg_t *seg, uint64_t epoch, uint32_t n,
                     const uint32_t *ranks, void *const *cards,
                     const size_t *lens)
{
    uint8_t *half = (uint8_t *)fw_modex_seg_half(seg, epoch);
    size_t off = FW_MODEX_WIN_HDR + (size_t)n * 12;
    uint32_t i;

    if (!seg->owner || off > seg->hdr->half_cap)
        return FW_ERR_BAD_PARAM;
    for (i = 0; i < n; i++) {
        size_t len = cards[i] != NULL ? lens[i] : 0;

        if (off + len > seg->hdr->half_cap)
            return FW_ERR_TOO_BIG;
        fw_modex_put32(half + FW_MODEX_WIN_HDR + 12 * i, ranks[i]);
        fw_modex_put32(half + FW_MODEX_WIN_HDR + 12 * i + 4, (uint32_t)off);
        fw_modex_put32(half + FW_MODEX_WIN_HDR + 12 * i + 8, (uint32_t)len);
        if (len > 0)
            memcpy(half + off, cards[i], len);
        off += len;
    }
    fw_modex_put32(half + 8, n);
    fw_modex_put32(half + 12, (uint32_t)off);
    fw_modex_put32(half + 16, fw_modex_fnv(half + FW_MODEX_WIN_HDR,
                                           off - FW_MODEX_WIN_HDR));
    fw_modex_put32(half + 20, 0);
    /* the epoch last: a reader that sees it sees the rest */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    fw_modex_put32(half, (uint32_t)(epoch >> 32));
    fw_modex_put32(half + 4, (uint32_t)epoch);
    return FW_SUCCESS;
}

size_t
fw_modex_window_used(const void *half, size_t len)
{
    return len < FW_MODEX_WIN_HDR ? FW_MODEX_WIN_HDR
                                  : fw_modex_get32((const uint8_t *)half + 12);
}

fw_status_t
fw_modex_window_check_local(const void *half, size_t len, uint64_t epoch)
{
    const uint8_t *h = half;
    uint32_t n, used;
    uint64_t e;

    if (len < FW_MODEX_WIN_HDR)
        return FW_ERR_PROTO;
    e = ((uint64_t)fw_modex_get32(h) << 32) | fw_modex_get32(h + 4);
    if (e != epoch)
        return FW_ERR_NOT_READY;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    n = fw_modex_get32(h + 8);
    used = fw_modex_get32(h + 12);
    if (used > len || used < FW_MODEX_WIN_HDR ||
        (size_t)n * 12 > used - FW_MODEX_WIN_HDR)
        return FW_ERR_PROTO;
    return FW_SUCCESS;
}

fw_status_t
fw_modex_window_check(const void *half, size_t len, uint64_t epoch)
{
    const uint8_t *h = half;
    fw_status_t rc = fw_modex_window_check_local(half, len, epoch);

    if (rc != FW_SUCCESS)
        return rc;
    if (fw_modex_fnv(h + FW_MODEX_WIN_HDR,
                     fw_modex_get32(h + 12) - FW_MODEX_WIN_HDR) !=
        fw_modex_get32(h + 16))
        return FW_ERR_PROTO;
    return FW_SUCCESS;
}

fw_status_t
fw_modex_window_find(const void *half, size_t len, uint32_t rank,
                     const void **card_p, size_t *len_p)
{
    const uint8_t *h = half;
    uint32_t n, used, i, off, clen, lo, hi;

    n = fw_modex_get32(h + 8);
    used = fw_modex_get32(h + 12);
    if (used > len || (size_t)n * 12 > used - FW_MODEX_WIN_HDR)
        return FW_ERR_PROTO;
    /* the index is in ascending rank order */
    for (lo = 0, hi = n; lo < hi;) {
        i = lo + (hi - lo) / 2;
        if (fw_modex_get32(h + FW_MODEX_WIN_HDR + 12 * i) < rank) {
            lo = i + 1;
            continue;
        }
        if (fw_modex_get32(h + FW_MODEX_WIN_HDR + 12 * i) > rank) {
            hi = i;
            continue;
        }
        off = fw_modex_get32(h + FW_MODEX_WIN_HDR + 12 * i + 4);
        clen = fw_modex_get32(h + FW_MODEX_WIN_HDR + 12 * i + 8);
        if (off > used || clen > used - off)
            return FW_ERR_PROTO;
        if (clen == 0)
            return FW_ERR_NOT_FOUND;
        *card_p = h + off;
        *len_p = clen;
        return FW_SUCCESS;
    }
    return FW_ERR_NOT_FOUND;
}

/*********/
/* Table */
/*********/

static fw_modex_seg_row_t *
fw_modex_seg_row(const fw_modex_seg_t *seg, uint32_t node)
{
    return (fw_modex_seg_row_t *)(seg->base + seg->hdr->table_off) + node;
}

fw_status_t
fw_modex_seg_peer_set(fw_modex_seg_t *seg, uint32_t node,
                      const fw_modex_peer_t *peer)
{
    fw_modex_seg_row_t *row;

    if (!seg->owner || node >= seg->hdr->nnodes ||
        peer->addr_len > FW_MODEX_ADDR_MAX ||
        peer->rkey_len > FW_MODEX_RKEY_MAX)
        return FW_ERR_BAD_PARAM;
    row = fw_modex_seg_row(seg, node);
    row->peer = *peer;
    __atomic_store_n(&row->valid, 1, __ATOMIC_RELEASE);
    return FW_SUCCESS;
}

fw_status_t
fw_modex_seg_peer_get(const fw_modex_seg_t *seg, uint32_t node,
                      fw_modex_peer_t *peer_p)
{
    fw_modex_seg_row_t *row;

    if (node >= seg->hdr->nnodes)
        return FW_ERR_BAD_PARAM;
    row = fw_modex_seg_row(seg, node);
    if (!__atomic_load_n(&row->valid, __ATOMIC_ACQUIRE))
        return FW_ERR_NOT_FOUND;
    *peer_p = row->peer;
    return FW_SUCCESS;
}

void
fw_modex_seg_provider_set(fw_modex_seg_t *seg, const char *prov,
                          const char *src_addr)
{
    snprintf(seg->hdr->provider, sizeof(seg->hdr->provider), "%s",
             prov != NULL ? prov : "");
    snprintf(seg->hdr->src_addr, sizeof(seg->hdr->src_addr), "%s",
             src_addr != NULL ? src_addr : "");
}

const char *
fw_modex_seg_provider(const fw_modex_seg_t *seg)
{
    return seg->hdr->provider;
}

const char *
fw_modex_seg_src_addr(const fw_modex_seg_t *seg)
{
    return seg->hdr->src_addr;
}

void
fw_modex_seg_mode_set(fw_modex_seg_t *seg, fw_modex_mode_t mode)
{
    seg->hdr->mode = (uint32_t)mode;
}

fw_modex_mode_t
fw_modex_seg_mode(const fw_modex_seg_t *seg)
{
    return seg->hdr->mode == FW_MODEX_MODE_ALLGATHER ? FW_MODEX_MODE_ALLGATHER
                                                      : FW_MODEX_MODE_ONESIDED;
}
