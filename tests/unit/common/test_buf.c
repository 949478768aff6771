/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pack/unpack round trips, bounds checks and malformed input of fw_buf.
 */
#include "common/buf.h"
#include "fw_test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void
test_roundtrip(void)
{
    fw_buf_t b;
    fw_rbuf_t r;
    char *s;
    const void *blob;
    size_t n = 0;

    fw_buf_init(&b);
    fw_buf_put_u8(&b, 0xab);
    fw_buf_put_u16(&b, 0x1234);
    fw_buf_put_u32(&b, 0xdeadbeef);
    fw_buf_put_u64(&b, 0x0102030405060708ull);
    fw_buf_put_str(&b, "hello");
    fw_buf_put_blob(&b, "\0\1\2", 3);
    is(fw_buf_status(&b), FW_SUCCESS, "packing succeeds");
    is(b.len, 1 + 2 + 4 + 8 + 9 + 7, "packed length");
    is(b.data[1], 0x12, "u16 is big-endian");

    fw_rbuf_init(&r, b.data, b.len);
    is(fw_rbuf_get_u8(&r), 0xab, "u8");
    is(fw_rbuf_get_u16(&r), 0x1234, "u16");
    is(fw_rbuf_get_u32(&r), 0xdeadbeef, "u32");
    ok(fw_rbuf_get_u64(&r) == 0x0102030405060708ull, "u64");
    s = fw_rbuf_get_str(&r, 64);
    is_str(s, "hello", "string");
    free(s);
    blob = fw_rbuf_get_blob(&r, 16, &n);
    ok(blob != NULL && n == 3 && memcmp(blob, "\0\1\2", 3) == 0, "blob");
    is(fw_rbuf_status(&r), FW_SUCCESS, "reader in bounds");
    is(fw_rbuf_get_u8(&r), 0, "reading past the end gives zero");
    is(fw_rbuf_status(&r), FW_ERR_PROTO, "and sets the error");
    fw_buf_cleanup(&b);
}

static void
test_malformed(void)
{
    uint8_t bad[] = {0, 0, 0, 9, 'a', 'b'};
    uint8_t nul[] = {0, 0, 0, 3, 'a', 0, 'b'};
    fw_rbuf_t r;

    fw_rbuf_init(&r, bad, sizeof(bad));
    ok(fw_rbuf_get_str(&r, 64) == NULL, "truncated string rejected");
    is(fw_rbuf_status(&r), FW_ERR_PROTO, "truncated string sets error");
    fw_rbuf_init(&r, bad, sizeof(bad));
    ok(fw_rbuf_get_str(&r, 4) == NULL, "over-long string rejected");
    fw_rbuf_init(&r, nul, sizeof(nul));
    ok(fw_rbuf_get_str(&r, 64) == NULL, "string with NUL rejected");
    fw_rbuf_init(&r, NULL, 10);
    is(fw_rbuf_get_u32(&r), 0, "NULL data reads as empty");
    is(fw_rbuf_status(&r), FW_ERR_PROTO, "NULL data is an error");
}

int
main(void)
{
    test_roundtrip();
    test_malformed();
    return fw_test_done();
}
