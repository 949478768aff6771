/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Memory registration on one provider: bad parameters, remote keys,
 * rkey pack/unpack round trip and wire layout, malformed input, many
 * registrations, and a region left registered at close.
 * Usage: test_fab_mr <provider>
 */
#include "fab_test.h"

#include <stdlib.h>

/*---------------------------------------------------------------------------*/
static void
mr_test_badparam(fw_fab_t *fab)
{
    char buf[64];
    fw_fab_mr_t *mr = NULL;
    fw_fab_rkey_t rk;

    is(fw_fab_mr_reg(NULL, buf, 64, FW_FAB_MR_REMOTE_READ, &mr),
       FW_ERR_BAD_PARAM, "reg on NULL fab fails");
    is(fw_fab_mr_reg(fab, NULL, 64, FW_FAB_MR_REMOTE_READ, &mr),
       FW_ERR_BAD_PARAM, "reg of NULL buffer fails");
    is(fw_fab_mr_reg(fab, buf, 0, FW_FAB_MR_REMOTE_READ, &mr),
       FW_ERR_BAD_PARAM, "reg of 0 bytes fails");
    is(fw_fab_mr_reg(fab, buf, 64, 0, &mr), FW_ERR_BAD_PARAM,
       "reg without access fails");
    is(fw_fab_mr_reg(fab, buf, 64, 0x100, &mr), FW_ERR_BAD_PARAM,
       "reg with unknown access bit fails");
    is(fw_fab_mr_reg(fab, buf, 64, FW_FAB_MR_LOCAL, NULL), FW_ERR_BAD_PARAM,
       "reg without mr_p fails");
    ok(mr == NULL, "mr_p untouched by failures");
    is(fw_fab_mr_desc_get(NULL, &rk), FW_ERR_BAD_PARAM, "desc_get(NULL)");
    fw_fab_mr_dereg(NULL);
    ok(1, "dereg(NULL) is harmless");
}

/*---------------------------------------------------------------------------*/
static void
mr_test_keys(fw_fab_t *fab, uint8_t *buf, size_t len)
{
    fw_fab_mr_t *a = NULL, *b = NULL, *l = NULL;
    fw_fab_rkey_t ka, kb, kl;

    is(fw_fab_mr_reg(fab, buf, len / 2, FW_FAB_MR_REMOTE_READ, &a),
       FW_SUCCESS, "register a remote-readable region");
    is(fw_fab_mr_reg(fab, buf + len / 2, len / 2,
                     FW_FAB_MR_REMOTE_READ | FW_FAB_MR_LOCAL, &b),
       FW_SUCCESS, "register a second, local and remote region");
    is(fw_fab_mr_desc_get(a, &ka), FW_SUCCESS, "desc_get of the first");
    is(fw_fab_mr_desc_get(b, &kb), FW_SUCCESS, "desc_get of the second");
    is(ka.len, len / 2, "rkey length");
    ok(ka.addr == 0 || ka.addr == (uintptr_t)buf,
       "rkey address is 0 or the virtual address");
    ok(ka.raw_len > 0 || kb.raw_len > 0 || ka.key != kb.key,
       "the two regions have distinct keys");
    is(fw_fab_mr_reg(fab, buf, len, FW_FAB_MR_LOCAL, &l), FW_SUCCESS,
       "register a local-only region overlapping both");
    is(fw_fab_mr_desc_get(l, &kl), FW_ERR_BAD_PARAM,
       "desc_get of a local-only region fails");
    fw_fab_mr_dereg(l);
    fw_fab_mr_dereg(b);
    fw_fab_mr_dereg(a);
}

/*---------------------------------------------------------------------------*/
static void
mr_test_pack(fw_fab_t *fab, uint8_t *buf, size_t len)
{
    fw_fab_rkey_t rk, out;
    fw_fab_mr_t *mr = NULL;
    fw_rbuf_t r;
    fw_buf_t b;

    if (fw_fab_mr_reg(fab, buf, len, FW_FAB_MR_REMOTE_READ, &mr) !=
        FW_SUCCESS) {
        ok(0, "register for pack test");
        return;
    }
    fw_fab_mr_desc_get(mr, &rk);
    fw_buf_init(&b);
    fw_buf_put_u32(&b, 0xcafef00d);
    is(fw_fab_rkey_pack(&rk, &b), FW_SUCCESS, "pack an rkey after a field");
    is(b.len, 4 + 36 + rk.raw_len, "packed size is 36 + raw key");
    ok(b.len - 4 <= FW_FAB_RKEY_PACKED_MAX, "within FW_FAB_RKEY_PACKED_MAX");
    is(b.data[4], FW_FAB_RKEY_VERSION, "first byte is the version");
    is(b.data[4 + 12 + 5], 0x01, "len (0x10000) is big-endian at offset 12");
    fw_rbuf_init(&r, b.data, b.len);
    is(fw_rbuf_get_u32(&r), 0xcafef00d, "leading field");
    memset(&out, 0xab, sizeof(out));
    is(fw_fab_rkey_unpack(&r, &out), FW_SUCCESS, "unpack");
    ok(out.addr == rk.addr && out.len == rk.len && out.key == rk.key &&
           out.raw_len == rk.raw_len && out.raw_base == rk.raw_base &&
           memcmp(out.raw, rk.raw, rk.raw_len) == 0,
       "round trip preserves every field");
    is(r.pos, b.len, "unpack consumed exactly the packed bytes");
    rk.raw_len = FW_FAB_RKEY_RAW_MAX + 1;
    is(fw_fab_rkey_pack(&rk, &b), FW_ERR_BAD_PARAM, "pack of bad raw_len");
    is(fw_fab_rkey_pack(NULL, &b), FW_ERR_BAD_PARAM, "pack(NULL)");
    fw_buf_cleanup(&b);
    fw_fab_mr_dereg(mr);
}

/*---------------------------------------------------------------------------*/
/* A valid packed rkey (no raw key) to corrupt. */
static size_t
mr_good_packed(uint8_t *out)
{
    fw_fab_rkey_t rk;
    fw_buf_t b;
    size_t n;

    memset(&rk, 0, sizeof(rk));
    rk.addr = 0x1000;
    rk.len = 4096;
    rk.key = 77;
    fw_buf_init(&b);
    fw_fab_rkey_pack(&rk, &b);
    n = b.len;
    memcpy(out, b.data, n);
    fw_buf_cleanup(&b);
    return n;
}

/*---------------------------------------------------------------------------*/
static int
mr_unpack_fails(const uint8_t *p, size_t n)
{
    fw_fab_rkey_t out, sentinel;
    fw_rbuf_t r;

    memset(&out, 0x5a, sizeof(out));
    memset(&sentinel, 0x5a, sizeof(sentinel));
    fw_rbuf_init(&r, p, n);
    return fw_fab_rkey_unpack(&r, &out) == FW_ERR_PROTO &&
           memcmp(&out, &sentinel, sizeof(out)) == 0;
}

/*---------------------------------------------------------------------------*/
static void
mr_test_malformed(void)
{
    uint8_t good[128], bad[128];
    size_t n = mr_good_packed(good), i;
    int all = 1;
    fw_fab_rkey_t out;
    fw_rbuf_t r;

    for (i = 0; i < n; i++)
        all &= mr_unpack_fails(good, i);
    ok(all, "every truncation of a packed rkey is rejected, output untouched");
    memcpy(bad, good, n);
    bad[0] = 2;
    ok(mr_unpack_fails(bad, n), "unknown version is rejected");
    memcpy(bad, good, n);
    bad[1] = 0x80;
    ok(mr_unpack_fails(bad, n), "unknown flag is rejected");
    memcpy(bad, good, n);
    bad[1] = 0x01;
    ok(mr_unpack_fails(bad, n), "raw flag without raw key is rejected");
    memcpy(bad, good, n);
    bad[2] = 0;
    bad[3] = FW_FAB_RKEY_RAW_MAX + 1;
    bad[1] = 0x01;
    ok(mr_unpack_fails(bad, sizeof(bad)), "over-long raw key is rejected");
    memcpy(bad, good, n);
    memset(bad + 12, 0, 8);
    ok(mr_unpack_fails(bad, n), "zero-length region is rejected");
    memcpy(bad, good, n);
    memset(bad + 4, 0xff, 8);
    ok(mr_unpack_fails(bad, n), "address + length overflow is rejected");
    fw_rbuf_init(&r, good, n);
    is(fw_fab_rkey_unpack(&r, NULL), FW_ERR_BAD_PARAM, "unpack to NULL");
    is(fw_fab_rkey_unpack(NULL, &out), FW_ERR_BAD_PARAM, "unpack from NULL");
}

/*---------------------------------------------------------------------------*/
static void
mr_test_many(fw_fab_t *fab, uint8_t *buf)
{
    fw_fab_mr_t *mr[100];
    int i, fails = 0;

    for (i = 0; i < 100; i++)
        fails += fw_fab_mr_reg(fab, buf + i * 64, 64, FW_FAB_MR_REMOTE_READ,
                               &mr[i]) != FW_SUCCESS;
    is(fails, 0, "100 registrations succeed");
    for (i = 0; i < 100 && fails == 0; i++)
        fw_fab_mr_dereg(mr[i]);
}

/*---------------------------------------------------------------------------*/
int
main(int argc, char **argv)
{
    const char *prov = fab_test_provider(argc, argv);
    size_t len = 1 << 16;
    uint8_t *buf = calloc(1, len);
    fw_fab_mr_t *leak = NULL;
    fw_fab_t *fab;

    fab_test_alarm();
    fab_test_require(prov);
    fab = fab_test_open(prov);
    ok(fab != NULL && buf != NULL, "open %s", prov);
    if (fab == NULL || buf == NULL)
        return fw_test_done();
    mr_test_badparam(fab);
    mr_test_keys(fab, buf, len);
    mr_test_pack(fab, buf, len);
    mr_test_malformed();
    mr_test_many(fab, buf);
    is(fw_fab_mr_reg(fab, buf, 128, FW_FAB_MR_LOCAL, &leak), FW_SUCCESS,
       "register a region and leave it for close");
    fw_fab_close(fab);
    ok(1, "close deregisters a leftover region");
    free(buf);
    return fw_test_done();
}
