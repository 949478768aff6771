/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fw_strerror over the whole status list, and the fw_error_t helpers
 * fw_errprintf/fw_errprepend: layering, NULL err, errno and truncation.
 */
#include "common/error.h"
#include "fw_test.h"

#include <errno.h>
#include <string.h>

static const fw_status_t test_codes[] = {
#define TEST_CODE_(name, value, text) name,
    FW_STATUS_LIST(TEST_CODE_)
#undef TEST_CODE_
};
static const char *const test_names[] = {
#define TEST_NAME_(name, value, text) #name,
    FW_STATUS_LIST(TEST_NAME_)
#undef TEST_NAME_
};
#define TEST_NCODES (sizeof(test_codes) / sizeof(test_codes[0]))

static void
test_strerror(void)
{
    const char *s, *t;
    int good = 1, distinct = 1;
    size_t i, j;

    for (i = 0; i < TEST_NCODES; i++) {
        s = fw_strerror(test_codes[i]);
        if (s == NULL || s[0] == '\0' || strcmp(s, "unknown status") == 0) {
            diag("%s has no text", test_names[i]);
            good = 0;
        }
        for (j = 0; s != NULL && j < i; j++) {
            t = fw_strerror(test_codes[j]);
            if (t != NULL && strcmp(s, t) == 0) {
                diag("%s and %s share '%s'", test_names[i], test_names[j], s);
                distinct = 0;
            }
        }
    }
    ok(good, "fw_strerror has text for all %zu codes", TEST_NCODES);
    ok(distinct, "and the texts are distinct");
    is_str(fw_strerror(FW_SUCCESS), "success", "FW_SUCCESS text");
    is_str(fw_strerror(FW_ERR_TIMEOUT), "timed out", "FW_ERR_TIMEOUT text");
    is_str(fw_strerror(FW_ERR_CONN_CLOSED), "connection closed by peer",
           "FW_ERR_CONN_CLOSED text");
    is_str(fw_strerror((fw_status_t)-1000), "unknown status",
           "an unknown code is not NULL");
    is_str(fw_strerror((fw_status_t)2), "unknown status",
           "nor is an unused positive code");
}

static void
test_errprintf(void)
{
    fw_error_t err;
    char big[1000];

    memset(&err, 'X', sizeof(err));
    fw_errprintf(&err, "port %s: %d", "p0", 7);
    is_str(err.text, "port p0: 7", "errprintf formats");
    fw_errprintf(&err, "second");
    is_str(err.text, "second", "errprintf replaces");

    errno = EADDRINUSE;
    fw_errprintf(&err, "x");
    is(errno, EADDRINUSE, "errprintf preserves errno");
    fw_errprintf(NULL, "nothing %d", 1);
    is(errno, EADDRINUSE, "errprintf(NULL) is a no-op");

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    fw_errprintf(&err, "%s", big);
    is(strlen(err.text), sizeof(err.text) - 1, "errprintf truncates to 511");
    ok(memcmp(err.text, big, sizeof(err.text) - 1) == 0,
       "keeping the start of the message");
}

static void
test_errprepend(void)
{
    fw_error_t err;
    char big[1000];
    size_t n;

    fw_errprintf(&err, "connection refused");
    fw_errprepend(&err, "host %s", "n1");
    is_str(err.text, "host n1: connection refused", "errprepend adds context");
    fw_errprepend(&err, "spawn");
    is_str(err.text, "spawn: host n1: connection refused",
           "each layer prepends its own");
    fw_errprepend(&err, "%s", err.text);
    is_str(err.text,
           "spawn: host n1: connection refused: "
           "spawn: host n1: connection refused",
           "err->text may be an argument");

    fw_errprintf(&err, "%s", "");
    fw_errprepend(&err, "ctx");
    is_str(err.text, "ctx: ", "prepend to empty text");

    errno = ENOENT;
    fw_errprepend(&err, "y");
    is(errno, ENOENT, "errprepend preserves errno");
    fw_errprepend(NULL, "nothing %d", 1);
    is(errno, ENOENT, "errprepend(NULL) is a no-op");

    /* long text: the context survives, the tail of the text is cut */
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    fw_errprintf(&err, "%s", big);
    fw_errprepend(&err, "ctx");
    n = strlen(err.text);
    is(n, sizeof(err.text) - 1, "prepend to full text stays at 511");
    ok(strncmp(err.text, "ctx: bbb", 8) == 0 && err.text[n - 1] == 'b',
       "context first, then the start of the old text");

    /* long context: it alone fills the buffer, still terminated */
    fw_errprintf(&err, "old");
    fw_errprepend(&err, "%s", big);
    n = strlen(err.text);
    is(n, sizeof(err.text) - 1, "an over-long context is truncated");
    ok(strspn(err.text, "b") == n, "to the context alone");

    /* text without a terminator (a caller's raw buffer) is bounded */
    memset(err.text, 'c', sizeof(err.text));
    fw_errprepend(&err, "ctx");
    n = strnlen(err.text, sizeof(err.text));
    ok(n == sizeof(err.text) - 1 && strncmp(err.text, "ctx: ccc", 8) == 0,
       "unterminated old text is bounded and terminated");
}

int
main(void)
{
    test_strerror();
    test_errprintf();
    test_errprepend();
    return fw_test_done();
}
