/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hex encode/decode (including rejected input leaving the output
 * untouched), fw_random_bytes and fw_memcmp_ct.
 */
#include "common/util.h"
#include "fw_test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void
test_hex_encode(void)
{
    const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
    char out[2 * sizeof(in) + 2];

    memset(out, 'X', sizeof(out));
    fw_hex_encode(in, sizeof(in), out);
    is_str(out, "00017f80abcdefff", "encode gives lowercase digits");
    is(out[2 * sizeof(in) + 1], 'X', "encode writes exactly 2n+1 bytes");

    memset(out, 'X', sizeof(out));
    fw_hex_encode(in, 0, out);
    is_str(out, "", "encode of 0 bytes is the empty string");
}

static void
test_hex_decode(void)
{
    uint8_t out[8], sentinel[8];
    uint8_t big[300];
    char hex[2 * sizeof(big) + 1];
    size_t i;

    is(fw_hex_decode("00017f80abcdefff", out, 8), FW_SUCCESS,
       "decode of 16 lowercase digits");
    ok(memcmp(out, "\x00\x01\x7f\x80\xab\xcd\xef\xff", 8) == 0,
       "decoded bytes are right");
    is(fw_hex_decode("DEADbeef", out, 4), FW_SUCCESS,
       "decode accepts mixed case");
    ok(memcmp(out, "\xde\xad\xbe\xef", 4) == 0, "mixed case decodes right");
    is(fw_hex_decode("", out, 0), FW_SUCCESS, "empty string is 0 bytes");

    memset(sentinel, 0x5a, sizeof(sentinel));
    memcpy(out, sentinel, sizeof(out));
    is(fw_hex_decode("0011223g", out, 4), FW_ERR_PARSE,
       "bad digit in the last place is FW_ERR_PARSE");
    ok(memcmp(out, sentinel, sizeof(out)) == 0, "and out is untouched");
    is(fw_hex_decode("x0112233", out, 4), FW_ERR_PARSE,
       "bad digit in the first place is FW_ERR_PARSE");
    is(fw_hex_decode("00 11223", out, 4), FW_ERR_PARSE, "space is rejected");
    is(fw_hex_decode("0x112233", out, 4), FW_ERR_PARSE, "0x is rejected");
    is(fw_hex_decode("00112\xc3\xa9", out, 4), FW_ERR_PARSE,
       "non-ASCII byte is rejected");
    ok(memcmp(out, sentinel, sizeof(out)) == 0, "out still untouched");

    is(fw_hex_decode("001122", out, 4), FW_ERR_PARSE,
       "too few digits is FW_ERR_PARSE");
    is(fw_hex_decode("0011223", out, 4), FW_ERR_PARSE,
       "odd number of digits is FW_ERR_PARSE");
    is(fw_hex_decode("0011223344", out, 4), FW_ERR_PARSE,
       "too many digits is FW_ERR_PARSE");
    is(fw_hex_decode("", out, 1), FW_ERR_PARSE, "empty string for 1 byte");
    ok(memcmp(out, sentinel, sizeof(out)) == 0, "out untouched after all");
    is(fw_hex_decode(NULL, out, 4), FW_ERR_BAD_PARAM, "NULL hex is rejected");

    /* round trip */
    for (i = 0; i < 256; i++)
        big[i] = (uint8_t)i;
    fw_hex_encode(big, 256, hex);
    memset(big, 0, sizeof(big));
    is(fw_hex_decode(hex, big, 256), FW_SUCCESS, "decode of 256 bytes");
    for (i = 0; i < 256 && big[i] == (uint8_t)i; i++)
        ;
    is(i, 256, "256-byte round trip");

    /* the decoder stages output in a 256-byte buffer: larger is refused */
    fw_hex_encode(big, 257, hex);
    is(fw_hex_decode(hex, big, 257), FW_ERR_BAD_PARAM,
       "more than 256 bytes is refused, not overflowed");
}

static void
test_random(void)
{
    uint8_t a[64], b[64], zero[64] = {0};
    size_t big_n = 1 << 20, i, same;
    uint8_t *big;

    is(fw_random_bytes(a, 0), FW_SUCCESS, "0 random bytes");
    is(fw_random_bytes(a, sizeof(a)), FW_SUCCESS, "64 random bytes");
    is(fw_random_bytes(b, sizeof(b)), FW_SUCCESS, "another 64 random bytes");
    ok(memcmp(a, b, sizeof(a)) != 0, "two draws differ");
    ok(memcmp(a, zero, sizeof(a)) != 0, "a draw is not all zero");

    big = calloc(1, big_n);
    if (big == NULL) {
        ok(0, "calloc of 1 MiB");
        return;
    }
    is(fw_random_bytes(big, big_n), FW_SUCCESS, "1 MiB of random bytes");
    /* every byte written: a run of equal bytes this long is ~impossible */
    for (same = 0, i = 1; i < big_n; i++)
        same = big[i] == big[i - 1] ? same + 1 : 0;
    ok(big[big_n - 1] != 0 || big[big_n - 2] != 0 || big[big_n - 3] != 0,
       "the tail of a 1 MiB draw is filled");
    ok(same < 16, "no long runs of equal bytes");
    free(big);
}

static void
test_memcmp_ct(void)
{
    uint8_t a[32], b[32];

    memset(a, 0x42, sizeof(a));
    memcpy(b, a, sizeof(b));
    is(fw_memcmp_ct(a, b, sizeof(a)), 0, "equal buffers compare 0");
    is(fw_memcmp_ct(a, b, 0), 0, "0 bytes compare 0");
    is(fw_memcmp_ct(NULL, NULL, 0), 0, "NULL with 0 bytes compares 0");
    b[0] ^= 0x01;
    ok(fw_memcmp_ct(a, b, sizeof(a)) != 0, "first byte differs");
    b[0] = a[0];
    b[31] ^= 0x80;
    ok(fw_memcmp_ct(a, b, sizeof(a)) != 0, "last byte differs (high bit)");
    is(fw_memcmp_ct(a, b, 31), 0, "difference past n is ignored");
    b[31] = a[31];
    b[15] = (uint8_t)~a[15];
    ok(fw_memcmp_ct(a, b, sizeof(a)) != 0, "middle byte differs");
}

int
main(void)
{
    test_hex_encode();
    test_hex_decode();
    test_random();
    test_memcmp_ct();
    return fw_test_done();
}
