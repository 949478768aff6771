/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * OOB frame codec, handshake MAC and tree routing, without sockets.
 */
#include "oob/oob.h"
#include "fw_test.h"

#include <string.h>

static void
test_frames(void)
{
    fw_oob_hdr_t h = {FW_OOB_WIRE_VERSION, 42, 7, 5, 3, 9}, out;
    uint8_t buf[FW_OOB_HDR_LEN + 5];
    size_t flen = 0;

    fw_oob_hdr_pack(&h, buf);
    memcpy(buf + FW_OOB_HDR_LEN, "hello", 5);
    is(fw_oob_frame_parse(buf, 3, 100, &out, &flen), FW_INPROGRESS,
       "short header needs more bytes");
    is(fw_oob_frame_parse(buf, FW_OOB_HDR_LEN + 4, 100, &out, &flen),
       FW_INPROGRESS, "short payload needs more bytes");
    is(flen, 0, "frame length untouched when incomplete");
    is(fw_oob_frame_parse(buf, sizeof(buf), 100, &out, &flen), FW_SUCCESS,
       "whole frame parses");
    is(flen, sizeof(buf), "frame length");
    ok(out.type == 42 && out.flags == 7 && out.len == 5 && out.src == 3 &&
           out.dst == 9,
       "header fields survive the round trip");
    is(buf[7], 5, "length is big-endian");
    is(fw_oob_frame_parse(buf, sizeof(buf), 4, &out, &flen), FW_ERR_PROTO,
       "payload over the limit is a protocol error");
    buf[0] = 99;
    is(fw_oob_frame_parse(buf, sizeof(buf), 100, &out, &flen), FW_ERR_PROTO,
       "unknown version is a protocol error");
}

static void
test_mac(void)
{
    uint8_t s1[FW_OOB_SECRET_LEN] = {1}, s2[FW_OOB_SECRET_LEN] = {2};
    uint8_t nonce[FW_OOB_NONCE_LEN] = {7};
    uint8_t a[32], b[32];

    fw_oob_auth_mac(s1, 0, nonce, 1, 5, a);
    fw_oob_auth_mac(s1, 0, nonce, 1, 5, b);
    ok(memcmp(a, b, 32) == 0, "mac is deterministic");
    fw_oob_auth_mac(s2, 0, nonce, 1, 5, b);
    ok(memcmp(a, b, 32) != 0, "mac depends on the secret");
    fw_oob_auth_mac(s1, 0, nonce, 1, 6, b);
    ok(memcmp(a, b, 32) != 0, "mac binds the claimed id");
    fw_oob_auth_mac(s1, 0, nonce, 2, 5, b);
    ok(memcmp(a, b, 32) != 0, "mac binds the claimed kind");
    fw_oob_auth_mac(s1, 1, nonce, 1, 5, b);
    ok(memcmp(a, b, 32) != 0, "server and client macs differ");
}

static void
test_cred(void)
{
    uint8_t b[FW_OOB_CRED_LEN];
    uint32_t kind = 0, id = 0;

    fw_oob_cred_pack(2, 0x01020304u, b);
    ok(b[3] == 2 && b[4] == 1 && b[7] == 4, "cred is big-endian kind, id");
    is(fw_oob_cred_unpack(b, sizeof(b), &kind, &id), FW_SUCCESS,
       "cred decodes");
    ok(kind == 2 && id == 0x01020304u, "cred round trip");
    kind = id = 77;
    is(fw_oob_cred_unpack(b, sizeof(b) - 1, &kind, &id), FW_ERR_PROTO,
       "short cred refused");
    is(fw_oob_cred_unpack(NULL, 8, &kind, &id), FW_ERR_PROTO,
       "NULL cred refused");
    ok(kind == 77 && id == 77, "outputs untouched on failure");
}

static void
test_route(void)
{
    uint32_t fanout, n = 300, id, dst, first, hops, cur, bad = 0, total;

    for (fanout = 1; fanout <= 8; fanout++) {
        total = 1; /* the root */
        for (id = 0; id < n; id++) {
            uint32_t k = fw_oob_route_children(id, fanout, n, &first), c;

            for (c = first; c < first + k; c++)
                if (fw_oob_route_parent(c, fanout) != id)
                    bad++;
            total += k;
        }
        if (total != n)
            bad++;
        for (id = 0; id < n; id += 7) {
            for (dst = 0; dst < n; dst += 5) {
                cur = id;
                for (hops = 0; cur != dst && hops < 2 * n; hops++)
                    cur = fw_oob_route_next_hop(cur, dst, fanout);
                if (cur != dst)
                    bad++;
                if (fanout > 1 &&
                    hops > fw_oob_route_depth(id, fanout) +
                               fw_oob_route_depth(dst, fanout))
                    bad++;
            }
        }
    }
    is(bad, 0, "every node is reached from every node within depth hops");
    is(fw_oob_route_depth(1000, 32), 2, "1000 daemons: depth 2 at fan-out 32");
    is(fw_oob_route_children(0, 4, 1, &first), 0, "a lone root has no children");
}

int
main(void)
{
    test_frames();
    test_mac();
    test_cred();
    test_route();
    return fw_test_done();
}
