/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Growable byte buffer with big-endian pack/unpack of fixed-width fields,
 * strings and byte blobs. Used by every wire format; no type tags.
 * Unpack never reads past the end: a short buffer sets the reader's error
 * flag and later reads return zeros.
 */
#ifndef FW_COMMON_BUF_H
#define FW_COMMON_BUF_H

#include <fabwire/types.h>
#include <fabwire/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writer: owns data (free with fw_buf_cleanup). */
typedef struct fw_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    int oom; /* an append failed: the buffer content is incomplete */
} fw_buf_t;

/* Reader over borrowed bytes. */
typedef struct fw_rbuf {
    const uint8_t *data;
    size_t len;
    size_t pos;
    int err; /* a read went past the end or a field was malformed */
} fw_rbuf_t;

void fw_buf_init(fw_buf_t *b);
void fw_buf_cleanup(fw_buf_t *b);
void fw_buf_put_u8(fw_buf_t *b, uint8_t v);
void fw_buf_put_u16(fw_buf_t *b, uint16_t v);
void fw_buf_put_u32(fw_buf_t *b, uint32_t v);
void fw_buf_put_u64(fw_buf_t *b, uint64_t v);
void fw_buf_put_bytes(fw_buf_t *b, const void *p, size_t n);
/* u32 length + bytes */
void fw_buf_put_blob(fw_buf_t *b, const void *p, size_t n);
/* u32 length + bytes, no NUL on the wire; NULL is sent as empty */
void fw_buf_put_str(fw_buf_t *b, const char *s);
/* FW_SUCCESS or FW_ERR_NO_MEM if any append failed */
fw_status_t fw_buf_status(const fw_buf_t *b);

void fw_rbuf_init(fw_rbuf_t *r, const void *data, size_t len);
uint8_t fw_rbuf_get_u8(fw_rbuf_t *r);
uint16_t fw_rbuf_get_u16(fw_rbuf_t *r);
uint32_t fw_rbuf_get_u32(fw_rbuf_t *r);
uint64_t fw_rbuf_get_u64(fw_rbuf_t *r);
/* copy n bytes out */
void fw_rbuf_get_bytes(fw_rbuf_t *r, void *out, size_t n);
/* borrow a u32-length blob: pointer into the reader's data, or NULL */
const void *fw_rbuf_get_blob(fw_rbuf_t *r, size_t max, size_t *len_p);
/*
 * Read a string into a malloc()ed NUL-terminated copy (caller frees with
 * free()); NULL on error (r->err set) or out of memory (r->err set).
 * Strings with embedded NULs or longer than max are malformed.
 */
char *fw_rbuf_get_str(fw_rbuf_t *r, size_t max);
/* FW_SUCCESS if everything read was in bounds, else FW_ERR_PROTO */
fw_status_t fw_rbuf_status(const fw_rbuf_t *r);

#ifdef __cplusplus
}
#endif

#endif /* FW_COMMON_BUF_H */
