/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fw_sha256 against the FIPS 180-2 examples plus messages around the
 * 55/56/64-byte padding edges, and fw_hmac_sha256 against RFC 4231
 * test cases 1-4, 6 and 7 plus keys at the 64-byte block boundary.
 */
#include "common/util.h"
#include "fw_test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *
test_sha256_hex(const void *data, size_t len)
{
    static char hex[2 * FW_SHA256_LEN + 1];
    uint8_t md[FW_SHA256_LEN];

    fw_sha256(data, len, md);
    fw_hex_encode(md, sizeof(md), hex);
    return hex;
}

static const char *
test_hmac_hex(const void *key, size_t keylen, const void *msg, size_t msglen)
{
    static char hex[2 * FW_SHA256_LEN + 1];
    uint8_t md[FW_SHA256_LEN];

    fw_hmac_sha256(key, keylen, msg, msglen, md);
    fw_hex_encode(md, sizeof(md), hex);
    return hex;
}

static void
test_sha256_fips(void)
{
    const char *m448 =
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    size_t million = 1000000;
    char *a;

    is_str(test_sha256_hex("abc", 3),
           "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
           "sha256(\"abc\")");
    is_str(test_sha256_hex("", 0),
           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
           "sha256(\"\")");
    is_str(test_sha256_hex(NULL, 0),
           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
           "sha256(NULL, 0) is the empty message");
    is_str(test_sha256_hex(m448, strlen(m448)),
           "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
           "sha256 of the 448-bit message");

    a = malloc(million);
    if (a == NULL) {
        ok(0, "malloc of 1,000,000 bytes");
        return;
    }
    memset(a, 'a', million);
    is_str(test_sha256_hex(a, million),
           "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
           "sha256 of 1,000,000 'a'");
    free(a);
}

/* Lengths where the length field does or does not fit the last block. */
static void
test_sha256_padding(void)
{
    static const struct {
        size_t len;
        const char *hex;
    } v[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {57, "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
        {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
        {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
        {128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"},
    };
    char a[128];
    size_t i;

    memset(a, 'a', sizeof(a));
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        is_str(test_sha256_hex(a, v[i].len), v[i].hex, "sha256 of %zu 'a'",
               v[i].len);
}

static void
test_hmac_rfc4231(void)
{
    const char *tc6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    const char *tc7 =
        "This is a test using a larger than block-size key and a larger "
        "than block-size data. The key needs to be hashed before being "
        "used by the HMAC algorithm.";
    const char *tc2 = "what do ya want for nothing?";
    uint8_t key[131], data[50];
    size_t i;

    memset(key, 0x0b, 20);
    is_str(test_hmac_hex(key, 20, "Hi There", 8),
           "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
           "RFC 4231 test case 1");

    is_str(test_hmac_hex("Jefe", 4, tc2, strlen(tc2)),
           "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
           "RFC 4231 test case 2 (key shorter than the digest)");

    memset(key, 0xaa, 20);
    memset(data, 0xdd, 50);
    is_str(test_hmac_hex(key, 20, data, 50),
           "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
           "RFC 4231 test case 3");

    for (i = 0; i < 25; i++)
        key[i] = (uint8_t)(i + 1);
    memset(data, 0xcd, 50);
    is_str(test_hmac_hex(key, 25, data, 50),
           "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
           "RFC 4231 test case 4");

    memset(key, 0xaa, 131);
    is_str(test_hmac_hex(key, 131, tc6, strlen(tc6)),
           "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
           "RFC 4231 test case 6 (131-byte key is hashed first)");
    is_str(test_hmac_hex(key, 131, tc7, strlen(tc7)),
           "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
           "RFC 4231 test case 7 (long key and long data)");
}

/* A 64-byte key is used as is, a 65-byte key is hashed. */
static void
test_hmac_block_keys(void)
{
    const char *m64 = "key of exactly one block";
    const char *m65 = "key of one block plus one";
    uint8_t key[65];

    memset(key, 0x11, sizeof(key));
    is_str(test_hmac_hex(key, 64, m64, strlen(m64)),
           "1d7837eba4d09bae8822742b3a80629a418ee5e7196e4777849486a75e85228a",
           "HMAC with a 64-byte key");
    is_str(test_hmac_hex(key, 65, m65, strlen(m65)),
           "6e1540edb5a5176356753f6bbbde16507653b1e81b301e29d953f9fe52af7f35",
           "HMAC with a 65-byte key");
    is_str(test_hmac_hex(NULL, 0, NULL, 0),
           "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad",
           "HMAC with empty key and message");
}

int
main(void)
{
    test_sha256_fips();
    test_sha256_padding();
    test_hmac_rfc4231();
    test_hmac_block_keys();
    return fw_test_done();
}
