/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The local rail's pure parts (rail.h): rail addresses, the host key,
 * message headers, and the receive engine that keeps what came in
 * order and matches it. No fabric and no sockets: unit-tested as is.
 */
#include "dpm/rail.h"
#include "common/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t fw_dpm_rail_magic[2] = {0xFE, 'L'};

struct fw_dpm_rail_msg {
    struct fw_dpm_rail_msg *next;
    uint64_t tag, len;
    uint64_t big;  /* BIG: the message's own libfabric tag; else 0 */
    uint8_t *data; /* inline: the message */
};

struct fw_dpm_rail_rx {
    fw_dpm_rail_msg_t *head, *tail; /* oldest first */
    size_t count;
};

/*---------------------------------------------------------------------------*/
fw_status_t
fw_dpm_rail_addr_make(const void *primary, size_t plen,
                      const uint8_t key[FW_DPM_RAIL_KEY_LEN], const void *shm,
                      size_t slen, void *out, size_t *len_p)
{
    size_t need = 4 + plen + FW_DPM_RAIL_KEY_LEN + 1 + slen;
    uint8_t *o = out;

    if (primary == NULL || plen == 0 || plen > 255 || key == NULL ||
        shm == NULL || slen == 0 || slen > 255 || out == NULL ||
        len_p == NULL)
        return FW_ERR_BAD_PARAM;
    if (need > *len_p) {
        *len_p = need;
        return FW_ERR_TOO_BIG;
    }
    memcpy(o, fw_dpm_rail_magic, 2);
    o[2] = FW_DPM_RAIL_ADDR_VERSION;
    o[3] = (uint8_t)plen;
    memcpy(o + 4, primary, plen);
    memcpy(o + 4 + plen, key, FW_DPM_RAIL_KEY_LEN);
    o[4 + plen + FW_DPM_RAIL_KEY_LEN] = (uint8_t)slen;
    memcpy(o + 5 + plen + FW_DPM_RAIL_KEY_LEN, shm, slen);
    *len_p = need;
    return FW_SUCCESS;
}

/*---------------------------------------------------------------------------*/
int
fw_dpm_rail_addr_parse(const void *addr, size_t len, fw_dpm_rail_addr_t *a)
{
    const uint8_t *p = addr;
    size_t plen, slen;

    if (p == NULL || len < 4 || memcmp(p, fw_dpm_rail_magic, 2) != 0 ||
        p[2] != FW_DPM_RAIL_ADDR_VERSION)
        return 0;
    plen = p[3];
    if (plen == 0 || len < 5 + plen + FW_DPM_RAIL_KEY_LEN)
        return 0;
    slen = p[4 + plen + FW_DPM_RAIL_KEY_LEN];
    if (slen == 0 || len != 5 + plen + FW_DPM_RAIL_KEY_LEN + slen)
        return 0;
    if (a != NULL) {
        a->primary = p + 4;
        a->primary_len = plen;
        a->key = p + 4 + plen;
        a->shm = p + 5 + plen + FW_DPM_RAIL_KEY_LEN;
        a->shm_len = slen;
    }
    return 1;
}

/*---------------------------------------------------------------------------*/
void
fw_dpm_rail_addr_primary(const uint8_t *addr, size_t len,
                         const uint8_t **p_p, size_t *plen_p)
{
    fw_dpm_rail_addr_t a;

    if (fw_dpm_rail_addr_parse(addr, len, &a)) {
        *p_p = a.primary;
        *plen_p = a.primary_len;
        return;
    }
    *p_p = addr;
    *plen_p = len;
}

/*---------------------------------------------------------------------------*/
/* Append what identifies a namespace or file (st_dev, st_ino) of path. */
static int
fw_dpm_rail_key_stat(const char *path, char *s, size_t size, size_t *at)
{
    struct stat st;
    int n;

    if (stat(path, &st) != 0)
        return -1;
    n = snprintf(s + *at, size - *at, "%s %llu %llu\n", path,
                 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
    if (n < 0 || (size_t)n >= size - *at)
        return -1;
    *at += (size_t)n;
    return 0;
}

static uint8_t fw_dpm_rail_key[FW_DPM_RAIL_KEY_LEN];
static fw_status_t fw_dpm_rail_key_rc = FW_ERR_SYSTEM;
static pthread_once_t fw_dpm_rail_key_once = PTHREAD_ONCE_INIT;

static void
fw_dpm_rail_key_init(void)
{
    static const char *const parts[] = {"/proc/self/ns/net",
                                        "/proc/self/ns/pid",
                                        "/proc/self/ns/ipc", "/dev/shm"};
    uint8_t sum[FW_SHA256_LEN];
    char s[512];
    size_t at = 0, i;
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

    if (f == NULL)
        return;
    if (fgets(s, 64, f) == NULL) {
        fclose(f);
        return;
    }
    fclose(f);
    at = strlen(s);
    at += (size_t)snprintf(s + at, sizeof(s) - at, "euid %lu\n",
                           (unsigned long)geteuid());
    for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (fw_dpm_rail_key_stat(parts[i], s, sizeof(s), &at) != 0)
            return;
    }
    fw_sha256(s, at, sum);
    memcpy(fw_dpm_rail_key, sum, FW_DPM_RAIL_KEY_LEN);
    fw_dpm_rail_key_rc = FW_SUCCESS;
}

fw_status_t
fw_dpm_rail_host_key(uint8_t key[FW_DPM_RAIL_KEY_LEN])
{
    if (pthread_once(&fw_dpm_rail_key_once, fw_dpm_rail_key_init) != 0)
        return FW_ERR_SYSTEM;
    if (fw_dpm_rail_key_rc == FW_SUCCESS)
        memcpy(key, fw_dpm_rail_key, FW_DPM_RAIL_KEY_LEN);
    return fw_dpm_rail_key_rc;
}

/*---------------------------------------------------------------------------*/
static void
fw_dpm_rail_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t
fw_dpm_rail_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static void
fw_dpm_rail_put64(uint8_t *p, uint64_t v)
{
    fw_dpm_rail_put32(p, (uint32_t)(v >> 32));
    fw_dpm_rail_put32(p + 4, (uint32_t)v);
}

static uint64_t
fw_dpm_rail_get64(const uint8_t *p)
{
    return (uint64_t)fw_dpm_rail_get32(p) << 32 | fw_dpm_rail_get32(p + 4);
}

void
fw_dpm_rail_hdr_pack(uint8_t hdr[FW_DPM_RAIL_HDR], uint64_t len,
                     uint64_t big, uint64_t tag)
{
    memset(hdr, 0, FW_DPM_RAIL_HDR);
    hdr[0] = FW_DPM_RAIL_VERSION;
    hdr[1] = big != 0 ? FW_DPM_RAIL_KIND_BIG : FW_DPM_RAIL_KIND_INLINE;
    fw_dpm_rail_put64(hdr + 8, len);
    fw_dpm_rail_put64(hdr + 16, big);
    fw_dpm_rail_put64(hdr + 24, tag);
}

/*****************************************************************************/
/* Receive engine                                                            */
/*****************************************************************************/

fw_status_t
fw_dpm_rail_rx_new(fw_dpm_rail_rx_t **rx_p)
{
    fw_dpm_rail_rx_t *rx = calloc(1, sizeof(*rx));

    if (rx == NULL)
        return FW_ERR_NO_MEM;
    *rx_p = rx;
    return FW_SUCCESS;
}

static void
fw_dpm_rail_msg_free(fw_dpm_rail_msg_t *m)
{
    if (m == NULL)
        return;
    free(m->data);
    free(m);
}

void
fw_dpm_rail_rx_free(fw_dpm_rail_rx_t *rx)
{
    fw_dpm_rail_msg_t *m, *next;

    if (rx == NULL)
        return;
    for (m = rx->head; m != NULL; m = next) {
        next = m->next;
        fw_dpm_rail_msg_free(m);
    }
    free(rx);
}

fw_status_t
fw_dpm_rail_rx_frag(fw_dpm_rail_rx_t *rx, const void *frag, size_t len)
{
    const uint8_t *h = frag;
    fw_dpm_rail_msg_t *m;
    uint64_t mlen, big;
    size_t i;

    if (len < FW_DPM_RAIL_HDR || h[0] != FW_DPM_RAIL_VERSION)
        return FW_ERR_PROTO;
    for (i = 2; i < 8; i++)
        if (h[i] != 0)
            return FW_ERR_PROTO;
    mlen = fw_dpm_rail_get64(h + 8);
    big = fw_dpm_rail_get64(h + 16);
    if (h[1] == FW_DPM_RAIL_KIND_INLINE
            ? big != 0 || mlen != len - FW_DPM_RAIL_HDR
            : h[1] != FW_DPM_RAIL_KIND_BIG || len != FW_DPM_RAIL_HDR ||
                  (big & FW_DPM_RAIL_BIG) == 0)
        return FW_ERR_PROTO;
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return FW_ERR_NO_MEM;
    m->len = mlen;
    m->big = big;
    m->tag = fw_dpm_rail_get64(h + 24);
    if (big == 0 && (m->data = malloc(mlen > 0 ? mlen : 1)) == NULL) {
        free(m);
        return FW_ERR_NO_MEM;
    }
    if (big == 0 && mlen > 0)
        memcpy(m->data, h + FW_DPM_RAIL_HDR, mlen);
    if (rx->tail != NULL)
        rx->tail->next = m;
    else
        rx->head = m;
    rx->tail = m;
    rx->count++;
    return FW_SUCCESS;
}

fw_dpm_rail_msg_t *
fw_dpm_rail_rx_match(fw_dpm_rail_rx_t *rx, uint64_t tag, uint64_t ignore)
{
    fw_dpm_rail_msg_t *m;

    for (m = rx->head; m != NULL; m = m->next) {
        if (((m->tag ^ tag) & ~ignore) == 0)
            return m;
    }
    return NULL;
}

/* Unlink m from the list (0 if it is not there). */
static int
fw_dpm_rail_unlink(fw_dpm_rail_rx_t *rx, fw_dpm_rail_msg_t *m)
{
    fw_dpm_rail_msg_t **pp, *prev = NULL;

    for (pp = &rx->head; *pp != NULL && *pp != m; pp = &(*pp)->next)
        prev = *pp;
    if (*pp == NULL)
        return 0;
    *pp = m->next;
    if (rx->tail == m)
        rx->tail = prev;
    rx->count--;
    return 1;
}

fw_status_t
fw_dpm_rail_rx_take(fw_dpm_rail_rx_t *rx, fw_dpm_rail_msg_t *m, void *buf,
                    size_t cap, size_t *len_p, uint64_t *tag_p)
{
    fw_status_t rc = FW_SUCCESS;

    if (m == NULL || m->big != 0 || !fw_dpm_rail_unlink(rx, m))
        return FW_ERR_BAD_PARAM;
    if (m->len > cap) { /* as the providers do: the first cap bytes */
        if (cap > 0)
            memcpy(buf, m->data, cap);
        rc = FW_ERR_TRUNCATE;
    } else {
        if (m->len > 0)
            memcpy(buf, m->data, m->len);
        if (len_p != NULL)
            *len_p = m->len;
        if (tag_p != NULL)
            *tag_p = m->tag;
    }
    fw_dpm_rail_msg_free(m);
    return rc;
}

int
fw_dpm_rail_rx_big(fw_dpm_rail_rx_t *rx, fw_dpm_rail_msg_t *m,
                   uint64_t *big_p, uint64_t *len_p, uint64_t *tag_p)
{
    if (m == NULL || m->big == 0 || !fw_dpm_rail_unlink(rx, m))
        return 0;
    *big_p = m->big;
    *len_p = m->len;
    *tag_p = m->tag;
    fw_dpm_rail_msg_free(m);
    return 1;
}

size_t
fw_dpm_rail_rx_count(const fw_dpm_rail_rx_t *rx)
{
    return rx == NULL ? 0 : rx->count;
}
