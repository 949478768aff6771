/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The local rail's pure parts (dpm/rail.h): rail addresses, the host
 * key, message headers, and the receive engine matching inline and BIG
 * messages oldest first, with truncation as the providers do it.
 */
#include "dpm/rail.h"
#include "dpm/relay.h"
#include "fw_test.h"

#include <stdlib.h>
#include <string.h>

/* Take in one inline message (tag, data, len). */
static fw_status_t
feed(fw_dpm_rail_rx_t *rx, uint64_t tag, const void *d, size_t len)
{
    static uint8_t f[FW_DPM_RAIL_FRAG];

    fw_dpm_rail_hdr_pack(f, len, 0, tag);
    memcpy(f + FW_DPM_RAIL_HDR, d, len);
    return fw_dpm_rail_rx_frag(rx, f, FW_DPM_RAIL_HDR + len);
}

/* Take in the header of a BIG message. */
static fw_status_t
feed_big(fw_dpm_rail_rx_t *rx, uint64_t tag, uint64_t big, uint64_t len)
{
    uint8_t f[FW_DPM_RAIL_HDR];

    fw_dpm_rail_hdr_pack(f, len, big, tag);
    return fw_dpm_rail_rx_frag(rx, f, sizeof(f));
}

static void
test_addr(void)
{
    static const uint8_t sin[16] = {2, 0, 0x1f, 0x90, 127, 0, 0, 1};
    static const char shm[] = "fi_shm://1234";
    uint8_t key[FW_DPM_RAIL_KEY_LEN], key2[FW_DPM_RAIL_KEY_LEN], a[128];
    const uint8_t *p;
    size_t len = sizeof(a), plen = 0;
    fw_dpm_rail_addr_t ra;
    uint32_t id;

    is(fw_dpm_rail_host_key(key), FW_SUCCESS, "this host has a key");
    is(fw_dpm_rail_host_key(key2), FW_SUCCESS, "asked again");
    ok(memcmp(key, key2, sizeof(key)) == 0, "the same key both times");
    is(fw_dpm_rail_addr_make(sin, sizeof(sin), key, shm, sizeof(shm), a,
                             &len),
       FW_SUCCESS, "make a rail address");
    ok(fw_dpm_rail_addr_parse(a, len, &ra) && ra.primary_len == sizeof(sin) &&
           memcmp(ra.primary, sin, sizeof(sin)) == 0 &&
           memcmp(ra.key, key, sizeof(key)) == 0 &&
           ra.shm_len == sizeof(shm) && memcmp(ra.shm, shm, sizeof(shm)) == 0,
       "parse it back: primary address, host key, shm address");
    fw_dpm_rail_addr_primary(a, len, &p, &plen);
    ok(plen == sizeof(sin) && memcmp(p, sin, plen) == 0,
       "its primary part is the provider's address");
    fw_dpm_rail_addr_primary(sin, sizeof(sin), &p, &plen);
    ok(p == sin && plen == sizeof(sin), "a plain address is its own primary");
    ok(!fw_dpm_rail_addr_parse(sin, sizeof(sin), &ra),
       "a sockaddr_in is not a rail address");
    ok(!fw_dpm_rail_addr_parse(shm, sizeof(shm), &ra),
       "an shm address is not a rail address");
    ok(!fw_dpm_rail_addr_parse(a, len - 1, &ra),
       "a truncated rail address is refused");
    a[2] = FW_DPM_RAIL_ADDR_VERSION + 1;
    ok(!fw_dpm_rail_addr_parse(a, len, &ra), "another version is refused");
    a[2] = FW_DPM_RAIL_ADDR_VERSION;
    ok(!fw_dpm_relay_addr_parse(a, len, &id, &p, &plen),
       "a rail address is not a relay address");
    len = 10;
    is(fw_dpm_rail_addr_make(sin, sizeof(sin), key, shm, sizeof(shm), a,
                             &len),
       FW_ERR_TOO_BIG, "too small a buffer: FW_ERR_TOO_BIG");
    is(len, 4 + sizeof(sin) + FW_DPM_RAIL_KEY_LEN + 1 + sizeof(shm),
       "... with the size needed");
    is(fw_dpm_rail_addr_make(sin, 0, key, shm, sizeof(shm), a, &len),
       FW_ERR_BAD_PARAM, "an empty primary address is refused");
}

/* Inline and BIG messages of one tag keep their order. */
static void
test_rx_order(fw_dpm_rail_rx_t *rx, const uint8_t *big, size_t blen)
{
    uint8_t *out = malloc(blen);
    uint64_t tag = 0, bt = 0, bl = 0;
    size_t len = 0;
    fw_dpm_rail_msg_t *m;

    if (out == NULL)
        return;
    is(feed(rx, 7, "first", 6), FW_SUCCESS, "an inline message, tag 7");
    is(feed_big(rx, 7, FW_DPM_RAIL_BIG | 42, 1u << 20), FW_SUCCESS,
       "then a BIG one, tag 7");
    is(feed(rx, 7, big, FW_DPM_RAIL_INLINE), FW_SUCCESS,
       "then the largest inline one, tag 7");
    is(fw_dpm_rail_rx_count(rx), 3, "three waiting");
    m = fw_dpm_rail_rx_match(rx, 7, 0);
    is(fw_dpm_rail_rx_big(rx, m, &bt, &bl, &tag), 0,
       "the oldest is not BIG ...");
    is(fw_dpm_rail_rx_take(rx, m, out, blen, &len, &tag), FW_SUCCESS,
       "... it is taken");
    ok(len == 6 && strcmp((char *)out, "first") == 0 && tag == 7,
       "... 'first'");
    m = fw_dpm_rail_rx_match(rx, 7, 0);
    is(fw_dpm_rail_rx_take(rx, m, out, blen, &len, &tag), FW_ERR_BAD_PARAM,
       "the next is BIG: not taken as inline");
    ok(fw_dpm_rail_rx_big(rx, m, &bt, &bl, &tag) && bt == (FW_DPM_RAIL_BIG | 42)
           && bl == (1u << 20) && tag == 7,
       "its big tag, length and tag; forgotten");
    is(fw_dpm_rail_rx_take(rx, fw_dpm_rail_rx_match(rx, 7, 0), out, blen,
                           &len, &tag),
       FW_SUCCESS, "then the largest inline one");
    ok(len == FW_DPM_RAIL_INLINE && memcmp(out, big, len) == 0, "intact");
    is(fw_dpm_rail_rx_count(rx), 0, "none left");
    free(out);
}

static void
test_rx_match(fw_dpm_rail_rx_t *rx)
{
    char out[16];
    size_t len = 0;
    uint64_t tag = 0;

    is(feed(rx, 0x100 | 1, "one", 4), FW_SUCCESS, "tag 0x101");
    is(feed(rx, 0x200 | 2, "two", 4), FW_SUCCESS, "tag 0x202");
    is(feed(rx, 0x100 | 3, "three", 6), FW_SUCCESS, "tag 0x103");
    is(feed(rx, 0x300, "", 0), FW_SUCCESS, "an empty message, tag 0x300");
    ok(fw_dpm_rail_rx_match(rx, 0x400, 0) == NULL, "no message of tag 0x400");
    is(fw_dpm_rail_rx_take(rx, fw_dpm_rail_rx_match(rx, 0x103, 0), out,
                           sizeof(out), &len, &tag),
       FW_SUCCESS, "an exact tag skips older messages of other tags");
    ok(strcmp(out, "three") == 0 && tag == 0x103, "... 'three'");
    is(fw_dpm_rail_rx_take(rx, fw_dpm_rail_rx_match(rx, 0x200, 0xff), out,
                           sizeof(out), &len, &tag),
       FW_SUCCESS, "ignore bits: 0x2xx");
    ok(strcmp(out, "two") == 0 && tag == 0x202, "... 'two', its tag told");
    is(fw_dpm_rail_rx_take(rx, fw_dpm_rail_rx_match(rx, 0, ~0ull), out, 2,
                           &len, &tag),
       FW_ERR_TRUNCATE, "any tag into 2 bytes: truncated");
    ok(memcmp(out, "on", 2) == 0, "... its first 2 bytes are there");
    len = 99;
    is(fw_dpm_rail_rx_take(rx, fw_dpm_rail_rx_match(rx, 0x300, 0), out,
                           sizeof(out), &len, NULL),
       FW_SUCCESS, "the empty message");
    is(len, 0, "... of length 0");
    is(fw_dpm_rail_rx_count(rx), 0, "nothing left");
}

static void
test_rx_bad(fw_dpm_rail_rx_t *rx)
{
    uint8_t f[FW_DPM_RAIL_HDR + 4];

    fw_dpm_rail_hdr_pack(f, 4, 0, 3);
    f[0] = FW_DPM_RAIL_VERSION + 1;
    is(fw_dpm_rail_rx_frag(rx, f, sizeof(f)), FW_ERR_PROTO,
       "another header version is refused");
    fw_dpm_rail_hdr_pack(f, 2, 0, 3);
    is(fw_dpm_rail_rx_frag(rx, f, sizeof(f)), FW_ERR_PROTO,
       "inline: more bytes than its length is refused");
    fw_dpm_rail_hdr_pack(f, 8, 0, 3);
    is(fw_dpm_rail_rx_frag(rx, f, sizeof(f)), FW_ERR_PROTO,
       "inline: fewer bytes than its length is refused");
    is(fw_dpm_rail_rx_frag(rx, f, FW_DPM_RAIL_HDR - 1), FW_ERR_PROTO,
       "less than a header is refused");
    fw_dpm_rail_hdr_pack(f, 1ull << 40, FW_DPM_RAIL_BIG | 1, 3);
    is(fw_dpm_rail_rx_frag(rx, f, sizeof(f)), FW_ERR_PROTO,
       "BIG: bytes after the header are refused");
    fw_dpm_rail_hdr_pack(f, 1ull << 40, 5, 3);
    f[1] = FW_DPM_RAIL_KIND_BIG;
    is(fw_dpm_rail_rx_frag(rx, f, FW_DPM_RAIL_HDR), FW_ERR_PROTO,
       "BIG: a big tag without its high bit is refused");
    f[1] = 9;
    is(fw_dpm_rail_rx_frag(rx, f, FW_DPM_RAIL_HDR), FW_ERR_PROTO,
       "an unknown kind is refused");
    is(fw_dpm_rail_rx_count(rx), 0, "nothing kept of them");
    is(feed_big(rx, 1, FW_DPM_RAIL_BIG | 1, 1ull << 40), FW_SUCCESS,
       "a BIG header of 1 TiB costs no memory");
    is(fw_dpm_rail_rx_count(rx), 1, "one waiting (freed with the engine)");
}

int
main(void)
{
    size_t blen = FW_DPM_RAIL_INLINE, i;
    uint8_t *big = malloc(blen);
    fw_dpm_rail_rx_t *rx = NULL;

    if (big == NULL)
        return 1;
    for (i = 0; i < blen; i++)
        big[i] = (uint8_t)(i * 7 + i / 251);
    test_addr();
    is(fw_dpm_rail_rx_new(&rx), FW_SUCCESS, "a receive engine");
    if (rx != NULL) {
        test_rx_order(rx, big, blen);
        test_rx_match(rx);
        test_rx_bad(rx);
        fw_dpm_rail_rx_free(rx); /* with a message in it: valgrind-clean */
    }
    free(big);
    return fw_test_done();
}
