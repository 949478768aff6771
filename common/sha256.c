/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), used only to
 * authenticate OOB connections with the per-job secret, so fabwire needs
 * no crypto library. Not tuned for speed: a few hundred bytes per
 * connection.
 */
#include "common/util.h"

#include <string.h>

typedef struct fw_sha256_ctx {
    uint32_t h[8];
    uint8_t block[64];
    size_t fill;
    uint64_t total;
} fw_sha256_ctx_t;

static const uint32_t fw_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define FW_ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void
fw_sha256_block(fw_sha256_ctx_t *c, const uint8_t *p)
{
    uint32_t w[64], s[8], t1, t2;
    int i;

    for (i = 0; i < 16; i++)
        w[i] = ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16) |
               ((uint32_t)p[4 * i + 2] << 8) | (uint32_t)p[4 * i + 3];
    for (i = 16; i < 64; i++)
        w[i] = w[i - 16] + w[i - 7] +
               (FW_ROR(w[i - 15], 7) ^ FW_ROR(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
               (FW_ROR(w[i - 2], 17) ^ FW_ROR(w[i - 2], 19) ^ (w[i - 2] >> 10));
    memcpy(s, c->h, sizeof(s));
    for (i = 0; i < 64; i++) {
        t1 = s[7] + (FW_ROR(s[4], 6) ^ FW_ROR(s[4], 11) ^ FW_ROR(s[4], 25)) +
             ((s[4] & s[5]) ^ (~s[4] & s[6])) + fw_sha256_k[i] + w[i];
        t2 = (FW_ROR(s[0], 2) ^ FW_ROR(s[0], 13) ^ FW_ROR(s[0], 22)) +
             ((s[0] & s[1]) ^ (s[0] & s[2]) ^ (s[1] & s[2]));
        memmove(s + 1, s, 7 * sizeof(s[0]));
        s[4] += t1;
        s[0] = t1 + t2;
    }
    for (i = 0; i < 8; i++)
        c->h[i] += s[i];
}

static void
fw_sha256_init(fw_sha256_ctx_t *c)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                   0xa54ff53a, 0x510e527f, 0x9b05688c,
                                   0x1f83d9ab, 0x5be0cd19};

    memcpy(c->h, iv, sizeof(iv));
    c->fill = 0;
    c->total = 0;
}

static void
fw_sha256_update(fw_sha256_ctx_t *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t n;

    c->total += len;
    while (len > 0) {
        n = 64 - c->fill;
        if (n > len)
            n = len;
        memcpy(c->block + c->fill, p, n);
        c->fill += n;
        p += n;
        len -= n;
        if (c->fill == 64) {
            fw_sha256_block(c, c->block);
            c->fill = 0;
        }
    }
}

static void
fw_sha256_final(fw_sha256_ctx_t *c, uint8_t out[FW_SHA256_LEN])
{
    uint64_t bits = c->total * 8;
    uint8_t pad = 0x80, zero = 0, len[8];
    int i;

    fw_sha256_update(c, &pad, 1);
    while (c->fill != 56)
        fw_sha256_update(c, &zero, 1);
    for (i = 0; i < 8; i++)
        len[i] = (uint8_t)(bits >> (56 - 8 * i));
    fw_sha256_update(c, len, 8);
    for (i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->h[i];
    }
}

void
fw_sha256(const void *data, size_t len, uint8_t out[FW_SHA256_LEN])
{
    fw_sha256_ctx_t c;

    fw_sha256_init(&c);
    fw_sha256_update(&c, data, len);
    fw_sha256_final(&c, out);
}

void
fw_hmac_sha256(const void *key, size_t keylen, const void *msg,
               size_t msglen, uint8_t out[FW_SHA256_LEN])
{
    uint8_t k[64] = {0}, ipad[64], opad[64], inner[FW_SHA256_LEN];
    fw_sha256_ctx_t c;
    int i;

    if (keylen > 64)
        fw_sha256(key, keylen, k);
    else if (keylen > 0)
        memcpy(k, key, keylen);
    for (i = 0; i < 64; i++) {
        ipad[i] = k[i] ^ 0x36;
        opad[i] = k[i] ^ 0x5c;
    }
    fw_sha256_init(&c);
    fw_sha256_update(&c, ipad, sizeof(ipad));
    fw_sha256_update(&c, msg, msglen);
    fw_sha256_final(&c, inner);
    fw_sha256_init(&c);
    fw_sha256_update(&c, opad, sizeof(opad));
    fw_sha256_update(&c, inner, sizeof(inner));
    fw_sha256_final(&c, out);
}
