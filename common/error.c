/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fw_strerror() from the status X-macro list, and the fw_error_t helpers.
 */
#include "common/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *
fw_strerror(fw_status_t status)
{
    switch (status) {
#define FW_STATUS_CASE_(name, value, text)                                    \
    case name:                                                                \
        return text;
        FW_STATUS_LIST(FW_STATUS_CASE_)
#undef FW_STATUS_CASE_
    }
    return "unknown status";
}

void
fw_errprintf(fw_error_t *err, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
    errno = saved;
}

void
fw_errprepend(fw_error_t *err, const char *fmt, ...)
{
    int saved = errno;
    char out[sizeof(err->text)];
    size_t n, m;
    va_list ap;
    int r;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    r = vsnprintf(out, sizeof(out), fmt, ap);
    va_end(ap);
    n = r < 0 ? 0 : strlen(out);
    if (n + 2 < sizeof(out)) {
        memcpy(out + n, ": ", 2);
        n += 2;
        m = strnlen(err->text, sizeof(err->text));
        if (m > sizeof(out) - 1 - n)
            m = sizeof(out) - 1 - n;
        memcpy(out + n, err->text, m);
        n += m;
    }
    out[n] = '\0';
    memcpy(err->text, out, n + 1);
    errno = saved;
}
