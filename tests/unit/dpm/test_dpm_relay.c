/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Relay addresses, fragment headers, the relay listener's name and
 * secret (dpm/relay.h): round trips, and providers' own addresses never
 * taken for relay addresses.
 */
#include "dpm/relay.h"
#include "fw_test.h"

#include <string.h>

int
main(void)
{
    static const uint8_t inner[16] = {2, 0, 0x1f, 0x90, 127, 0, 0, 1};
    static const char shm_name[] = "fabwire-123_abcd";
    uint8_t a[64], hdr[FW_DPM_RELAY_HDR + 3], job[FW_OOB_SECRET_LEN];
    uint8_t s1[FW_OOB_SECRET_LEN], s2[FW_OOB_SECRET_LEN];
    const uint8_t *in = NULL, *data = NULL;
    size_t len = sizeof(a), ilen = 0, dlen = 0;
    uint64_t tag = 0, msgid = 0;
    uint32_t id = 0;
    char uri[128];

    is(fw_dpm_relay_addr_make(42, inner, sizeof(inner), a, &len), FW_SUCCESS,
       "make a relay address");
    is(len, FW_DPM_RELAY_ADDR_HDR + sizeof(inner), "its length");
    ok(fw_dpm_relay_addr_parse(a, len, &id, &in, &ilen) && id == 42 &&
           ilen == sizeof(inner) && memcmp(in, inner, ilen) == 0,
       "parse it back: id 42 and the daemon's address");
    ok(!fw_dpm_relay_addr_parse(inner, sizeof(inner), &id, &in, &ilen),
       "a sockaddr_in is not a relay address");
    ok(!fw_dpm_relay_addr_parse((const uint8_t *)shm_name, sizeof(shm_name),
                                &id, &in, &ilen),
       "an shm region name is not a relay address");
    ok(!fw_dpm_relay_addr_parse(a, FW_DPM_RELAY_ADDR_HDR, &id, &in, &ilen),
       "a relay address without a daemon address is refused");
    len = 8;
    is(fw_dpm_relay_addr_make(1, inner, sizeof(inner), a, &len),
       FW_ERR_TOO_BIG, "too small a buffer: FW_ERR_TOO_BIG");
    is(len, FW_DPM_RELAY_ADDR_HDR + sizeof(inner), "... with the size needed");
    len = sizeof(a);
    is(fw_dpm_relay_addr_make(0, inner, sizeof(inner), a, &len),
       FW_ERR_BAD_PARAM, "id 0 is refused");
    is(fw_dpm_relay_addr_make(FW_DPM_RELAY_ID_MAX + 1, inner, sizeof(inner), a,
                              &len),
       FW_ERR_BAD_PARAM, "an id with the 'more' bit is refused");

    fw_dpm_relay_frag_hdr(hdr, 0x4000000000000005ull, 0x1122334455667788ull);
    memcpy(hdr + FW_DPM_RELAY_HDR, "abc", 3);
    ok(fw_dpm_relay_frag_parse(hdr, sizeof(hdr), &tag, &msgid, &data,
                               &dlen) == FW_SUCCESS &&
           tag == 0x4000000000000005ull && msgid == 0x1122334455667788ull &&
           dlen == 3 && memcmp(data, "abc", 3) == 0,
       "fragment header round trip");
    is(fw_dpm_relay_frag_parse(hdr, FW_DPM_RELAY_HDR - 1, &tag, &msgid, &data,
                               &dlen),
       FW_ERR_PROTO, "a fragment shorter than its header is refused");

    memset(job, 7, sizeof(job));
    fw_dpm_relay_secret(job, s1);
    fw_dpm_relay_secret(job, s2);
    ok(memcmp(s1, s2, sizeof(s1)) == 0 && memcmp(s1, job, sizeof(s1)) != 0,
       "the relay secret is derived (same each time, not the job's)");
    is(fw_dpm_relay_uri("fw12.ab", uri, sizeof(uri)), FW_SUCCESS, "uri");
    is_str(uri, "unix:@fabwire-relay-fw12.ab", "the relay listener's name");
    is(fw_dpm_relay_uri("fw12.ab", uri, 10), FW_ERR_TOO_BIG,
       "a name that does not fit is refused");
    return fw_test_done();
}
