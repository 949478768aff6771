/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * User-facing error text buffer (flux_error_t style): filled where a
 * failure is detected, each layer above may prepend its context.
 */
#ifndef FW_COMMON_ERROR_H
#define FW_COMMON_ERROR_H

#include <fabwire/types.h>
#include <fabwire/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fw_error {
    char text[512];
} fw_error_t;

/* Replace err->text (err may be NULL). Preserves errno. */
void fw_errprintf(fw_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepend "context: " to err->text (err may be NULL). Preserves errno. */
void fw_errprepend(fw_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif /* FW_COMMON_ERROR_H */
