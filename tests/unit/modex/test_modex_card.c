/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Business card encoding and the window layout: limits, replace, find,
 * malformed and torn input, without any daemon.
 */
#include "modex/modex.h"
#include "fabwire.h"
#include "fw_test.h"

#include <stdlib.h>
#include <string.h>

static void
test_card(void)
{
    fw_modex_card_t *c = NULL;
    char key[FW_MAX_KEY + 1];
    uint8_t *big = calloc(1, FW_MAX_VALUE + 1);
    const void *v;
    size_t len = 0;
    fw_buf_t b;
    int i, n;

    is(fw_modex_card_create(&c), FW_SUCCESS, "create a card");
    is(fw_modex_card_put(c, "a", "xyz", 3), FW_SUCCESS, "put a");
    is(fw_modex_card_put(c, "empty", NULL, 0), FW_SUCCESS, "put an empty value");
    is(fw_modex_card_put(c, "a", "0123456789", 10), FW_SUCCESS, "replace a");
    is(fw_modex_card_put(c, "max", big, FW_MAX_VALUE), FW_SUCCESS,
       "put a value of FW_MAX_VALUE bytes");
    is(fw_modex_card_put(c, "over", big, FW_MAX_VALUE + 1), FW_ERR_TOO_BIG,
       "a value over FW_MAX_VALUE is too big");
    memset(key, 'k', sizeof(key));
    key[FW_MAX_KEY] = '\0';
    is(fw_modex_card_put(c, key, "x", 1), FW_ERR_TOO_BIG,
       "a key of FW_MAX_KEY characters is too big");
    key[FW_MAX_KEY - 1] = '\0';
    is(fw_modex_card_put(c, key, "x", 1), FW_SUCCESS,
       "a key of FW_MAX_KEY-1 bytes fits");
    is(fw_modex_card_put(c, "", "x", 1), FW_ERR_BAD_PARAM, "empty key refused");
    is(fw_modex_card_put(c, NULL, "x", 1), FW_ERR_BAD_PARAM, "NULL key refused");
    is(fw_modex_card_put(c, "n", NULL, 1), FW_ERR_BAD_PARAM,
       "NULL value with a length refused");
    /* fill up to the card limit: three more max values cannot all fit */
    for (i = 0, n = 0; i < 4; i++) {
        char k2[8];

        snprintf(k2, sizeof(k2), "m%d", i);
        if (fw_modex_card_put(c, k2, big, FW_MAX_VALUE) == FW_ERR_TOO_BIG)
            n++;
    }
    ok(n >= 1 && fw_modex_card_encoded_len(c) <= FW_MAX_CARD,
       "the card never grows past FW_MAX_CARD (%zu)",
       fw_modex_card_encoded_len(c));
    fw_buf_init(&b);
    fw_modex_card_encode(c, &b);
    is(b.len, fw_modex_card_encoded_len(c), "encoded length is as predicted");
    is(fw_modex_card_validate(b.data, b.len), FW_SUCCESS, "card validates");
    ok(fw_modex_card_find(b.data, b.len, "a", &v, &len) == FW_SUCCESS &&
           len == 10 && memcmp(v, "0123456789", 10) == 0,
       "the replaced value is found");
    ok(fw_modex_card_find(b.data, b.len, "empty", &v, &len) == FW_SUCCESS &&
           len == 0, "the empty value is found");
    is(fw_modex_card_find(b.data, b.len, "nope", &v, &len), FW_ERR_NOT_FOUND,
       "missing key");
    is(fw_modex_card_validate(b.data, b.len - 1), FW_ERR_PROTO,
       "truncated card is malformed");
    b.data[0] = 9;
    is(fw_modex_card_validate(b.data, b.len), FW_ERR_PROTO,
       "unknown card version is malformed");
    fw_buf_cleanup(&b);
    fw_modex_card_destroy(c);
    fw_modex_card_destroy(NULL);
    free(big);
}

static void
test_window(void)
{
    uint32_t map[4] = {0, 0, 1, 0}, ranks[3] = {0, 1, 3};
    void *cards[3] = {"card0", NULL, "card-three"};
    size_t lens[3] = {5, 0, 10}, len = 0, cap;
    fw_modex_seg_t *seg = NULL;
    const void *half, *card;
    uint8_t *copy;

    is(fw_modex_seg_create(4, 2, 0, 3, map, &seg), FW_SUCCESS,
       "create a segment");
    is(fw_modex_seg_node_of(seg, 2), 1, "rank map is kept");
    is(fw_modex_seg_node_of(seg, 4), UINT32_MAX, "rank out of range");
    is(fw_modex_seg_publish(seg, 1, 3, ranks, cards, lens), FW_SUCCESS,
       "publish epoch 1");
    half = fw_modex_seg_half(seg, 1);
    cap = fw_modex_seg_half_cap(seg);
    is(fw_modex_window_check(half, cap, 1), FW_SUCCESS, "epoch 1 checks");
    is(fw_modex_window_check(half, cap, 3), FW_ERR_NOT_READY,
       "epoch 3 is not there yet (same half)");
    ok(fw_modex_window_find(half, cap, 3, &card, &len) == FW_SUCCESS &&
           len == 10 && memcmp(card, "card-three", 10) == 0,
       "rank 3's card is found");
    is(fw_modex_window_find(half, cap, 1, &card, &len), FW_ERR_NOT_FOUND,
       "rank 1 committed nothing");
    is(fw_modex_window_find(half, cap, 2, &card, &len), FW_ERR_NOT_FOUND,
       "rank 2 is on another node");
    copy = malloc(cap);
    memcpy(copy, half, cap);
    copy[40] ^= 1;
    is(fw_modex_window_check(copy, cap, 1), FW_ERR_PROTO,
       "a flipped byte fails the checksum");
    is(fw_modex_window_check(copy, 10, 1), FW_ERR_PROTO,
       "a short read is refused");
    /* this host's own window: epoch and bounds, no checksum pass */
    is(fw_modex_window_check_local(copy, cap, 1), FW_SUCCESS,
       "local check: a flipped card byte passes (no checksum)");
    is(fw_modex_window_check_local(copy, cap, 3), FW_ERR_NOT_READY,
       "local check: another epoch is not ready");
    is(fw_modex_window_check_local(copy, 10, 1), FW_ERR_PROTO,
       "local check: a short window is refused");
    memcpy(copy, half, cap);
    copy[12] = 0xff; /* used: past the window */
    is(fw_modex_window_check_local(copy, cap, 1), FW_ERR_PROTO,
       "local check: a used size past the window is refused");
    memcpy(copy, half, cap);
    copy[8] = 0x7f; /* n: an index past the used bytes */
    is(fw_modex_window_check_local(copy, cap, 1), FW_ERR_PROTO,
       "local check: an index past the used bytes is refused");
    is(fw_modex_window_check(fw_modex_seg_half(seg, 2), cap, 2),
       FW_ERR_NOT_READY, "the other half has no epoch 2 yet");
    free(copy);
    fw_modex_seg_destroy(seg);
}

static void
test_remote_choice(void)
{
    is(fw_modex_remote_by_daemon(NULL, 0), 1, "auto, no endpoint: daemon");
    is(fw_modex_remote_by_daemon(NULL, 1), 0, "auto, endpoint open: direct");
    is(fw_modex_remote_by_daemon("auto", 1), 0, "auto by name");
    is(fw_modex_remote_by_daemon("daemon", 1), 1, "daemon even with one");
    is(fw_modex_remote_by_daemon("direct", 0), 0, "direct even without");
    is(fw_modex_remote_by_daemon("bogus", 0), 1, "unknown: as auto");
}

int
main(void)
{
    test_card();
    test_window();
    test_remote_choice();
    return fw_test_done();
}
