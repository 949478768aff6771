/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Relay addresses and fragments (see relay.h): the codec, and the
 * blocking fragment sender used by processes with an endpoint.
 */
#include "dpm/relay.h"
#include "common/util.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

static const uint8_t fw_dpm_relay_magic[2] = {0xfe, 'R'};

void
fw_dpm_relay_secret(const uint8_t job[FW_OOB_SECRET_LEN],
                    uint8_t out[FW_OOB_SECRET_LEN])
{
    static const char what[] = "fabwire relay 1";
    uint8_t mac[FW_SHA256_LEN];

    fw_hmac_sha256(job, FW_OOB_SECRET_LEN, what, sizeof(what) - 1, mac);
    memcpy(out, mac, FW_OOB_SECRET_LEN);
}

fw_status_t
fw_dpm_relay_uri(const char *jobid, char *out, size_t size)
{
    int n = snprintf(out, size, "unix:@fabwire-relay-%s", jobid);

    return n < 0 || (size_t)n >= size ? FW_ERR_TOO_BIG : FW_SUCCESS;
}

fw_status_t
fw_dpm_relay_addr_make(uint32_t id, const void *inner, size_t inner_len,
                       uint8_t *out, size_t *len_p)
{
    size_t need = FW_DPM_RELAY_ADDR_HDR + inner_len;

    if (inner == NULL || inner_len == 0 || out == NULL || len_p == NULL ||
        id == 0 || id > FW_DPM_RELAY_ID_MAX)
        return FW_ERR_BAD_PARAM;
    if (need > *len_p) {
        *len_p = need;
        return FW_ERR_TOO_BIG;
    }
    memcpy(out, fw_dpm_relay_magic, 2);
    out[2] = (uint8_t)(id >> 24);
    out[3] = (uint8_t)(id >> 16);
    out[4] = (uint8_t)(id >> 8);
    out[5] = (uint8_t)id;
    memcpy(out + FW_DPM_RELAY_ADDR_HDR, inner, inner_len);
    *len_p = need;
    return FW_SUCCESS;
}

int
fw_dpm_relay_addr_parse(const uint8_t *addr, size_t len, uint32_t *id_p,
                        const uint8_t **inner_p, size_t *inner_len_p)
{
    uint32_t id;

    if (addr == NULL || len <= FW_DPM_RELAY_ADDR_HDR ||
        memcmp(addr, fw_dpm_relay_magic, 2) != 0)
        return 0;
    id = (uint32_t)addr[2] << 24 | (uint32_t)addr[3] << 16 |
         (uint32_t)addr[4] << 8 | addr[5];
    if (id == 0 || id > FW_DPM_RELAY_ID_MAX)
        return 0;
    *id_p = id;
    *inner_p = addr + FW_DPM_RELAY_ADDR_HDR;
    *inner_len_p = len - FW_DPM_RELAY_ADDR_HDR;
    return 1;
}

void
fw_dpm_relay_frag_hdr(uint8_t hdr[FW_DPM_RELAY_HDR], uint64_t tag,
                      uint64_t msgid)
{
    for (int i = 0; i < 8; i++) {
        hdr[i] = (uint8_t)(tag >> (56 - 8 * i));
        hdr[8 + i] = (uint8_t)(msgid >> (56 - 8 * i));
    }
}

fw_status_t
fw_dpm_relay_frag_parse(const void *frag, size_t len, uint64_t *tag_p,
                        uint64_t *msgid_p, const uint8_t **data_p,
                        size_t *data_len_p)
{
    const uint8_t *p = frag;
    uint64_t tag = 0, msgid = 0;

    if (frag == NULL || len < FW_DPM_RELAY_HDR)
        return FW_ERR_PROTO;
    for (int i = 0; i < 8; i++) {
        tag = tag << 8 | p[i];
        msgid = msgid << 8 | p[8 + i];
    }
    *tag_p = tag;
    *msgid_p = msgid;
    *data_p = p + FW_DPM_RELAY_HDR;
    *data_len_p = len - FW_DPM_RELAY_HDR;
    return FW_SUCCESS;
}

fw_status_t
fw_dpm_relay_fab_send(fw_fab_t *fab, uint64_t peer, uint32_t id, uint64_t tag,
                      uint64_t msgid, const void *buf, size_t len,
                      int timeout_ms)
{
    const size_t room = FW_DPM_RELAY_FRAG - FW_DPM_RELAY_HDR;
    uint8_t *frag = malloc(FW_DPM_RELAY_FRAG);
    const uint8_t *p = buf;
    fw_status_t rc = FW_SUCCESS;
    size_t off = 0;

    if (frag == NULL)
        return FW_ERR_NO_MEM;
    fw_dpm_relay_frag_hdr(frag, tag, msgid);
    do {
        size_t n = len - off < room ? len - off : room;
        uint64_t data = id | (off + n < len ? FW_DPM_RELAY_MORE : 0);

        if (n > 0)
            memcpy(frag + FW_DPM_RELAY_HDR, p + off, n);
        rc = fw_fab_tsenddata(fab, peer, FW_DPM_RELAY_TAG, data, frag,
                              FW_DPM_RELAY_HDR + n, timeout_ms);
        off += n;
    } while (rc == FW_SUCCESS && off < len);
    free(frag);
    return rc;
}
