/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Big-endian pack/unpack buffer (see buf.h).
 */
#include "common/buf.h"

#include <stdlib.h>
#include <string.h>

void
fw_buf_init(fw_buf_t *b)
{
    memset(b, 0, sizeof(*b));
}

void
fw_buf_cleanup(fw_buf_t *b)
{
    if (b == NULL)
        return;
    free(b->data);
    memset(b, 0, sizeof(*b));
}

static int
fw_buf_reserve(fw_buf_t *b, size_t n)
{
    size_t cap;
    uint8_t *p;

    if (b->oom)
        return -1;
    if (n > SIZE_MAX - b->len) {
        b->oom = 1;
        return -1;
    }
    if (b->len + n <= b->cap)
        return 0;
    cap = b->cap != 0 ? b->cap : 64;
    while (cap < b->len + n)
        cap *= 2;
    p = realloc(b->data, cap);
    if (p == NULL) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void
fw_buf_put_bytes(fw_buf_t *b, const void *p, size_t n)
{
    if (n == 0 || fw_buf_reserve(b, n) != 0)
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void
fw_buf_put_u8(fw_buf_t *b, uint8_t v)
{
    fw_buf_put_bytes(b, &v, 1);
}

void
fw_buf_put_u16(fw_buf_t *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};

    fw_buf_put_bytes(b, x, sizeof(x));
}

void
fw_buf_put_u32(fw_buf_t *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};

    fw_buf_put_bytes(b, x, sizeof(x));
}

void
fw_buf_put_u64(fw_buf_t *b, uint64_t v)
{
    fw_buf_put_u32(b, (uint32_t)(v >> 32));
    fw_buf_put_u32(b, (uint32_t)v);
}

void
fw_buf_put_blob(fw_buf_t *b, const void *p, size_t n)
{
    if (n > UINT32_MAX) {
        b->oom = 1;
        return;
    }
    fw_buf_put_u32(b, (uint32_t)n);
    fw_buf_put_bytes(b, p, n);
}

void
fw_buf_put_str(fw_buf_t *b, const char *s)
{
    fw_buf_put_blob(b, s, s != NULL ? strlen(s) : 0);
}

fw_status_t
fw_buf_status(const fw_buf_t *b)
{
    return b->oom ? FW_ERR_NO_MEM : FW_SUCCESS;
}

void
fw_rbuf_init(fw_rbuf_t *r, const void *data, size_t len)
{
    r->data = data;
    r->len = data != NULL ? len : 0;
    r->pos = 0;
    r->err = 0;
}

static const uint8_t *
fw_rbuf_take(fw_rbuf_t *r, size_t n)
{
    const uint8_t *p;

    if (r->err || n > r->len - r->pos) {
        r->err = 1;
        return NULL;
    }
    p = r->data + r->pos;
    r->pos += n;
    return p;
}

uint8_t
fw_rbuf_get_u8(fw_rbuf_t *r)
{
    const uint8_t *p = fw_rbuf_take(r, 1);

    return p != NULL ? p[0] : 0;
}

uint16_t
fw_rbuf_get_u16(fw_rbuf_t *r)
{
    const uint8_t *p = fw_rbuf_take(r, 2);

    return p != NULL ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

uint32_t
fw_rbuf_get_u32(fw_rbuf_t *r)
{
    const uint8_t *p = fw_rbuf_take(r, 4);

    if (p == NULL)
        return 0;
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

uint64_t
fw_rbuf_get_u64(fw_rbuf_t *r)
{
    uint64_t hi = fw_rbuf_get_u32(r);

    return (hi << 32) | fw_rbuf_get_u32(r);
}

void
fw_rbuf_get_bytes(fw_rbuf_t *r, void *out, size_t n)
{
    const uint8_t *p = fw_rbuf_take(r, n);

    if (p != NULL)
        memcpy(out, p, n);
    else
        memset(out, 0, n);
}

const void *
fw_rbuf_get_blob(fw_rbuf_t *r, size_t max, size_t *len_p)
{
    uint32_t n = fw_rbuf_get_u32(r);
    const uint8_t *p;

    if (r->err || n > max) {
        r->err = 1;
        return NULL;
    }
    p = fw_rbuf_take(r, n);
    if (p == NULL)
        return NULL;
    *len_p = n;
    return p;
}

char *
fw_rbuf_get_str(fw_rbuf_t *r, size_t max)
{
    size_t n = 0;
    const char *p = fw_rbuf_get_blob(r, max, &n);
    char *s;

    if (p == NULL && r->err)
        return NULL;
    if (n > 0 && memchr(p, '\0', n) != NULL) {
        r->err = 1;
        return NULL;
    }
    s = malloc(n + 1);
    if (s == NULL) {
        r->err = 1;
        return NULL;
    }
    if (n > 0)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

fw_status_t
fw_rbuf_status(const fw_rbuf_t *r)
{
    return r->err ? FW_ERR_PROTO : FW_SUCCESS;
}
