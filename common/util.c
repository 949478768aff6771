/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Clocks, randomness, hex and fd helpers (see util.h).
 */
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

uint64_t
fw_time_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

fw_status_t
fw_random_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;
    ssize_t got;

    while (n > 0) {
        got = getrandom(p, n, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return FW_ERR_SYSTEM;
        p += got;
        n -= (size_t)got;
    }
    return FW_SUCCESS;
}

void
fw_hex_encode(const void *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = in;
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0xf];
    }
    out[2 * n] = '\0';
}

static int
fw_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

fw_status_t
fw_hex_decode(const char *hex, void *out, size_t n)
{
    uint8_t tmp[256];
    size_t i;
    int hi, lo;

    if (hex == NULL || n > sizeof(tmp))
        return FW_ERR_BAD_PARAM;
    for (i = 0; i < n; i++) {
        if (hex[2 * i] == '\0' || hex[2 * i + 1] == '\0')
            return FW_ERR_PARSE;
        hi = fw_hex_digit(hex[2 * i]);
        lo = fw_hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return FW_ERR_PARSE;
        tmp[i] = (uint8_t)((hi << 4) | lo);
    }
    if (hex[2 * n] != '\0')
        return FW_ERR_PARSE;
    for (i = 0; i < n; i++)
        ((uint8_t *)out)[i] = tmp[i];
    return FW_SUCCESS;
}

fw_status_t
fw_fd_set_nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return FW_ERR_SYSTEM;
    fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
        return FW_ERR_SYSTEM;
    return FW_SUCCESS;
}

int
fw_memcmp_ct(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    uint8_t d = 0;
    size_t i;

    for (i = 0; i < n; i++)
        d |= (uint8_t)(x[i] ^ y[i]);
    return d;
}

int
fw_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    ssize_t w;

    while (n > 0) {
        w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}
