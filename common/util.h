/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Small helpers shared by every module: clocks, randomness, hex,
 * fd flags and SHA-256/HMAC for authenticating OOB connections.
 */
#ifndef FW_COMMON_UTIL_H
#define FW_COMMON_UTIL_H

#include <fabwire/types.h>
#include <fabwire/status.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FW_SHA256_LEN 32

/* Monotonic clock in nanoseconds. */
uint64_t fw_time_ns(void);

/* Fill buf with n bytes from the kernel CSPRNG. FW_ERR_SYSTEM on failure. */
fw_status_t fw_random_bytes(void *buf, size_t n);

/* Write 2n lowercase hex digits plus NUL to out (size >= 2n+1). */
void fw_hex_encode(const void *in, size_t n, char *out);

/*
 * Decode exactly n bytes from a 2n-digit hex string into out. Returns
 * FW_ERR_PARSE on a wrong length or digit; out is written only on success.
 */
fw_status_t fw_hex_decode(const char *hex, void *out, size_t n);

/* Set O_NONBLOCK and FD_CLOEXEC. FW_ERR_SYSTEM on failure. */
fw_status_t fw_fd_set_nonblock_cloexec(int fd);

/* Write all n bytes (retrying short writes and EINTR): 0, or -1 with
 * errno set when fd cannot take the data. */
int fw_write_all(int fd, const void *p, size_t n);

/* SHA-256 of a buffer. */
void fw_sha256(const void *data, size_t len, uint8_t out[FW_SHA256_LEN]);

/* HMAC-SHA-256 (RFC 2104) of msg under key. */
void fw_hmac_sha256(const void *key, size_t keylen, const void *msg,
                    size_t msglen, uint8_t out[FW_SHA256_LEN]);

/* Constant-time comparison; 0 if equal. */
int fw_memcmp_ct(const void *a, const void *b, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* FW_COMMON_UTIL_H */
