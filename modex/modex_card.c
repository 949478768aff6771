/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Business cards: a rank's key/value record. Encoding (big-endian):
 *   u8 version (1), u32 nkeys, nkeys x { u32 keylen, key, u32 vlen, value }
 * Keys are unique, 1..FW_MAX_KEY-1 bytes without NUL; values are at most
 * FW_MAX_VALUE bytes; the encoded card is at most FW_MAX_CARD bytes.
 */
#include "modex/modex.h"
#include "fabwire.h"

#include "common/param.h"

#include <stdlib.h>
#include <string.h>

FW_PARAM_TABLE(modex,
    {"FW_MODEX_READ_HINT", "4096",
     "bytes of a remote window read at once (a larger window needs a "
     "second read)"},
    {"FW_MODEX_TIMEOUT_MS", "600000",
     "how long fw_fence and fw_commit wait for the daemon"},
    {"FW_MODEX_LOCAL", "shm",
     "how ranks read cards of their own host: shm (the daemon's mapped "
     "segment) or fabric (RMA reads like remote hosts; for testing "
     "providers on one host)"},
    {"FW_MODEX_MODE", "onesided",
     "onesided: a fence is a barrier and remote cards are read with RMA; "
     "allgather: every fence gathers all cards to every daemon"},
    {"FW_MODEX_REMOTE", "auto",
     "onesided mode, who reads another host's window: daemon (the rank's "
     "daemon reads it once per epoch for all its ranks; ranks never load "
     "libfabric for the modex), direct (each rank reads it with its own "
     "endpoint: one hop less per get) or auto (direct in a rank whose "
     "endpoint is open already, daemon otherwise)"},
    {"FW_MODEX_DAEMON_SPIN_US", "200",
     "how long a daemon polls the fabric for a remote window it just "
     "asked for before it goes back to sleep, microseconds"})

int
fw_modex_remote_by_daemon(const char *mode, int have_ep)
{
    if (mode != NULL && strcmp(mode, "direct") == 0)
        return 0;
    if (mode != NULL && strcmp(mode, "daemon") == 0)
        return 1;
    return !have_ep; /* auto */
}

typedef struct fw_modex_kv {
    char *key;
    void *value;
    size_t len;
} fw_modex_kv_t;

struct fw_modex_card {
    fw_modex_kv_t *kv;
    size_t n, cap;
    size_t enc_len;
};

#define FW_MODEX_CARD_HDR 5

fw_status_t
fw_modex_card_create(fw_modex_card_t **card_p)
{
    fw_modex_card_t *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return FW_ERR_NO_MEM;
    c->enc_len = FW_MODEX_CARD_HDR;
    *card_p = c;
    return FW_SUCCESS;
}

void
fw_modex_card_destroy(fw_modex_card_t *card)
{
    size_t i;

    if (card == NULL)
        return;
    for (i = 0; i < card->n; i++) {
        free(card->kv[i].key);
        free(card->kv[i].value);
    }
    free(card->kv);
    free(card);
}

static fw_modex_kv_t *
fw_modex_card_slot(fw_modex_card_t *card, const char *key)
{
    size_t i;

    for (i = 0; i < card->n; i++)
        if (strcmp(card->kv[i].key, key) == 0)
            return &card->kv[i];
    return NULL;
}

fw_status_t
fw_modex_card_put(fw_modex_card_t *card, const char *key, const void *value,
                  size_t len)
{
    size_t klen, newlen;
    fw_modex_kv_t *kv, *nkv;
    void *copy = NULL;

    if (card == NULL || key == NULL || key[0] == '\0' ||
        (value == NULL && len > 0))
        return FW_ERR_BAD_PARAM;
    klen = strnlen(key, FW_MAX_KEY);
    if (klen >= FW_MAX_KEY || len > FW_MAX_VALUE)
        return FW_ERR_TOO_BIG;
    kv = fw_modex_card_slot(card, key);
    newlen = card->enc_len + len - (kv != NULL ? kv->len : 0) +
             (kv != NULL ? 0 : 8 + klen);
    if (newlen > FW_MAX_CARD)
        return FW_ERR_TOO_BIG;
    if (len > 0) {
        copy = malloc(len);
        if (copy == NULL)
            return FW_ERR_NO_MEM;
        memcpy(copy, value, len);
    }
    if (kv == NULL) {
        if (card->n == card->cap) {
            nkv = realloc(card->kv, (card->cap * 2 + 4) * sizeof(*nkv));
            if (nkv == NULL)
                goto err_free_copy;
            card->kv = nkv;
            card->cap = card->cap * 2 + 4;
        }
        kv = &card->kv[card->n];
        kv->key = strdup(key);
        if (kv->key == NULL)
            goto err_free_copy;
        card->n++;
    } else {
        free(kv->value);
    }
    kv->value = copy;
    kv->len = len;
    card->enc_len = newlen;
    return FW_SUCCESS;

err_free_copy:
    free(copy);
    return FW_ERR_NO_MEM;
}

size_t
fw_modex_card_encoded_len(const fw_modex_card_t *card)
{
    return card->enc_len;
}

void
fw_modex_card_encode(const fw_modex_card_t *card, fw_buf_t *b)
{
    size_t i;

    fw_buf_put_u8(b, FW_MODEX_CARD_VERSION);
    fw_buf_put_u32(b, (uint32_t)card->n);
    for (i = 0; i < card->n; i++) {
        fw_buf_put_str(b, card->kv[i].key);
        fw_buf_put_blob(b, card->kv[i].value, card->kv[i].len);
    }
}

/* Walk the card; stop at key when given. */
static fw_status_t
fw_modex_card_walk(const void *data, size_t len, const char *key,
                   const void **value_p, size_t *len_p)
{
    size_t klen = key != NULL ? strlen(key) : 0, kl = 0, vl = 0;
    const void *k, *v;
    uint32_t n, i;
    fw_rbuf_t r;

    if (len > FW_MAX_CARD)
        return FW_ERR_PROTO;
    fw_rbuf_init(&r, data, len);
    if (fw_rbuf_get_u8(&r) != FW_MODEX_CARD_VERSION)
        return FW_ERR_PROTO;
    n = fw_rbuf_get_u32(&r);
    for (i = 0; i < n && !r.err; i++) {
        k = fw_rbuf_get_blob(&r, FW_MAX_KEY - 1, &kl);
        v = fw_rbuf_get_blob(&r, FW_MAX_VALUE, &vl);
        if (r.err || kl == 0)
            return FW_ERR_PROTO;
        if (key != NULL && kl == klen && memcmp(k, key, klen) == 0) {
            *value_p = v;
            *len_p = vl;
            return FW_SUCCESS;
        }
    }
    if (r.err || (key == NULL && r.pos != len))
        return FW_ERR_PROTO;
    return key != NULL ? FW_ERR_NOT_FOUND : FW_SUCCESS;
}

fw_status_t
fw_modex_card_find(const void *data, size_t len, const char *key,
                   const void **value_p, size_t *len_p)
{
    if (data == NULL || key == NULL || value_p == NULL || len_p == NULL)
        return FW_ERR_BAD_PARAM;
    return fw_modex_card_walk(data, len, key, value_p, len_p);
}

fw_status_t
fw_modex_card_validate(const void *data, size_t len)
{
    return fw_modex_card_walk(data, len, NULL, NULL, NULL);
}
