/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * OOB frame header codec and handshake MAC (see oob_wire.h).
 */
#include "oob/oob_wire.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

void
fw_oob_hdr_pack(const fw_oob_hdr_t *h, uint8_t out[FW_OOB_HDR_LEN])
{
    out[0] = h->version;
    out[1] = h->type;
    out[2] = (uint8_t)(h->flags >> 8);
    out[3] = (uint8_t)h->flags;
    out[4] = (uint8_t)(h->len >> 24);
    out[5] = (uint8_t)(h->len >> 16);
    out[6] = (uint8_t)(h->len >> 8);
    out[7] = (uint8_t)h->len;
    out[8] = (uint8_t)(h->src >> 24);
    out[9] = (uint8_t)(h->src >> 16);
    out[10] = (uint8_t)(h->src >> 8);
    out[11] = (uint8_t)h->src;
    out[12] = (uint8_t)(h->dst >> 24);
    out[13] = (uint8_t)(h->dst >> 16);
    out[14] = (uint8_t)(h->dst >> 8);
    out[15] = (uint8_t)h->dst;
}

static uint32_t
fw_oob_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

fw_status_t
fw_oob_hdr_unpack(const uint8_t data[FW_OOB_HDR_LEN], size_t max_payload,
                  fw_oob_hdr_t *h)
{
    fw_oob_hdr_t tmp;

    tmp.version = data[0];
    tmp.type = data[1];
    tmp.flags = (uint16_t)((data[2] << 8) | data[3]);
    tmp.len = fw_oob_get32(data + 4);
    tmp.src = fw_oob_get32(data + 8);
    tmp.dst = fw_oob_get32(data + 12);
    if (tmp.version != FW_OOB_WIRE_VERSION || tmp.len > max_payload)
        return FW_ERR_PROTO;
    *h = tmp;
    return FW_SUCCESS;
}

fw_status_t
fw_oob_frame_parse(const uint8_t *data, size_t avail, size_t max_payload,
                   fw_oob_hdr_t *h, size_t *frame_len_p)
{
    fw_oob_hdr_t tmp;
    fw_status_t rc;

    if (avail < FW_OOB_HDR_LEN)
        return FW_INPROGRESS;
    rc = fw_oob_hdr_unpack(data, max_payload, &tmp);
    if (rc != FW_SUCCESS)
        return rc;
    if (avail < FW_OOB_HDR_LEN + (size_t)tmp.len)
        return FW_INPROGRESS;
    *h = tmp;
    *frame_len_p = FW_OOB_HDR_LEN + (size_t)tmp.len;
    return FW_SUCCESS;
}

void
fw_oob_cred_pack(uint32_t kind, uint32_t id, uint8_t out[FW_OOB_CRED_LEN])
{
    for (int i = 0; i < 4; i++) {
        out[i] = (uint8_t)(kind >> (24 - 8 * i));
        out[4 + i] = (uint8_t)(id >> (24 - 8 * i));
    }
}

fw_status_t
fw_oob_cred_unpack(const uint8_t *p, size_t len, uint32_t *kind_p,
                   uint32_t *id_p)
{
    if (p == NULL || len != FW_OOB_CRED_LEN)
        return FW_ERR_PROTO;
    *kind_p = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
              ((uint32_t)p[2] << 8) | p[3];
    *id_p = ((uint32_t)p[4] << 24) | ((uint32_t)p[5] << 16) |
            ((uint32_t)p[6] << 8) | p[7];
    return FW_SUCCESS;
}

void
fw_oob_auth_mac(const uint8_t secret[FW_OOB_SECRET_LEN], int server,
                const uint8_t nonce[FW_OOB_NONCE_LEN], uint32_t kind,
                uint32_t id, uint8_t mac[FW_OOB_MAC_LEN])
{
    static const char label_c[16] = "fabwire-oob-c1\0";
    static const char label_s[16] = "fabwire-oob-s1\0";
    uint8_t msg[16 + FW_OOB_NONCE_LEN + 8];
    size_t off = 0;
    int i;

    memcpy(msg, server ? label_s : label_c, 16);
    off = 16;
    memcpy(msg + off, nonce, FW_OOB_NONCE_LEN);
    off += FW_OOB_NONCE_LEN;
    for (i = 3; i >= 0; i--)
        msg[off++] = (uint8_t)(kind >> (8 * i));
    for (i = 3; i >= 0; i--)
        msg[off++] = (uint8_t)(id >> (8 * i));
    fw_hmac_sha256(secret, FW_OOB_SECRET_LEN, msg, off, mac);
}

fw_status_t
fw_oob_secret_from_env(uint8_t out[FW_OOB_SECRET_LEN])
{
    const char *hex = getenv("FW_JOB_SECRET");

    if (hex == NULL)
        return FW_ERR_NOT_FOUND;
    return fw_hex_decode(hex, out, FW_OOB_SECRET_LEN);
}
