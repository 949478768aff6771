/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Minimal TAP-style test harness: ok()/is()/diag()/skip_all(), and
 * fw_test_done() which returns the process exit code (0 pass, 1 fail,
 * 77 skip). FW_TEST_STRICT=1 turns a skip into a failure.
 */
#ifndef FW_TEST_H
#define FW_TEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fw_test_n_g, fw_test_failed_g;

#define FW_TEST_SKIP 77

static inline void
fw_test_ok(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fw_test_n_g++;
    if (!cond)
        fw_test_failed_g++;
    printf("%s %d - ", cond ? "ok" : "not ok", fw_test_n_g);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (!cond)
        printf("  (%s:%d)", file, line);
    printf("\n");
    fflush(stdout);
}

#define ok(cond, ...) fw_test_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is(a, b, ...)                                                         \
    do {                                                                      \
        long long fw_a_ = (long long)(a), fw_b_ = (long long)(b);             \
        fw_test_ok(fw_a_ == fw_b_, __FILE__, __LINE__, __VA_ARGS__);          \
        if (fw_a_ != fw_b_)                                                   \
            printf("#   got %lld, expected %lld\n", fw_a_, fw_b_);            \
    } while (0)
#define is_str(a, b, ...)                                                     \
    do {                                                                      \
        const char *fw_a_ = (a), *fw_b_ = (b);                                \
        int fw_eq_ = fw_a_ != NULL && fw_b_ != NULL && strcmp(fw_a_, fw_b_) == 0; \
        fw_test_ok(fw_eq_, __FILE__, __LINE__, __VA_ARGS__);                  \
        if (!fw_eq_)                                                          \
            printf("#   got '%s', expected '%s'\n", fw_a_ ? fw_a_ : "(null)",  \
                   fw_b_ ? fw_b_ : "(null)");                                 \
    } while (0)

static inline void
diag(const char *fmt, ...)
{
    va_list ap;

    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* Skip the whole test (exit 77), or fail under FW_TEST_STRICT=1. */
static inline void
skip_all(const char *why)
{
    const char *strict = getenv("FW_TEST_STRICT");

    printf("1..0 # SKIP %s\n", why);
    fflush(stdout);
    exit(strict != NULL && strcmp(strict, "1") == 0 ? 1 : FW_TEST_SKIP);
}

static inline int
fw_test_done(void)
{
    printf("1..%d\n", fw_test_n_g);
    if (fw_test_failed_g > 0)
        printf("# %d of %d checks failed\n", fw_test_failed_g, fw_test_n_g);
    fflush(stdout);
    return fw_test_failed_g > 0 || fw_test_n_g == 0 ? 1 : 0;
}

#endif /* FW_TEST_H */
