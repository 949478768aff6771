/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tunables: FW_PARAM_TABLE registration as seen through fw_param_tables(),
 * environment overrides and defaults, and fw_param_get_long falling back
 * to the default with a warning on a bad or out-of-range value.
 */
#include "common/param.h"
#include "fw_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

FW_PARAM_TABLE(test,
    {"FW_TEST_STR", "dflt", "a string tunable"},
    {"FW_TEST_LONG", "42", "an integer tunable"},
    {"FW_TEST_NODEF", NULL, "a tunable without default"})

static const fw_param_t test_late_params[] = {
    {"FW_TEST_LATE", "7", "registered at run time"}};
static fw_param_table_t test_late_table = {"late", test_late_params, 1, NULL};

/* stderr capture, to see the warnings fw_param_get_long prints */
static FILE *test_cap_file;
static int test_cap_saved_fd = -1;
static char test_cap_text[4096];

static void
test_capture_start(void)
{
    fflush(stderr);
    test_cap_file = tmpfile();
    test_cap_saved_fd = dup(STDERR_FILENO);
    if (test_cap_file == NULL || test_cap_saved_fd < 0 ||
        dup2(fileno(test_cap_file), STDERR_FILENO) < 0) {
        perror("test_capture_start");
        exit(1);
    }
}

static const char *
test_capture_end(void)
{
    size_t n;

    fflush(stderr);
    dup2(test_cap_saved_fd, STDERR_FILENO);
    close(test_cap_saved_fd);
    rewind(test_cap_file);
    n = fread(test_cap_text, 1, sizeof(test_cap_text) - 1, test_cap_file);
    test_cap_text[n] = '\0';
    fclose(test_cap_file);
    if (n > 0)
        diag("stderr: %.*s", (int)strcspn(test_cap_text, "\n"),
             test_cap_text);
    return test_cap_text;
}

static const fw_param_table_t *
test_find_table(const char *module, int *count_p)
{
    const fw_param_table_t *t, *found = NULL;
    int count = 0;

    for (t = fw_param_tables(); t != NULL; t = t->next) {
        if (strcmp(t->module, module) == 0) {
            found = t;
            count++;
        }
    }
    *count_p = count;
    return found;
}

static void
test_registry(void)
{
    const fw_param_table_t *t, *common, *mine;
    int count, ntables = 0, good = 1;
    size_t i;

    ok(fw_param_tables() != NULL, "registry is not empty before main");
    common = test_find_table("common", &count);
    is(count, 1, "the common table is registered once");
    ok(common != NULL && common->count >= 2 &&
           strcmp(common->params[0].name, "FW_LOG_LEVEL") == 0,
       "common declares FW_LOG_LEVEL");
    mine = test_find_table("test", &count);
    is(count, 1, "FW_PARAM_TABLE(test, ...) is registered once");
    ok(mine == &fw_param_table_test, "it is this file's table");
    is(mine != NULL ? mine->count : 0, 3, "with its 3 entries");

    for (t = fw_param_tables(); t != NULL && ntables < 1000; t = t->next) {
        ntables++;
        for (i = 0; i < t->count; i++) {
            if (strncmp(t->params[i].name, "FW_", 3) != 0 ||
                t->params[i].help == NULL || t->params[i].help[0] == '\0')
                good = 0;
        }
    }
    ok(good, "every tunable is named FW_* and has help text");

    fw_param_table_register(&test_late_table);
    fw_param_table_register(&test_late_table);
    fw_param_table_register(&fw_param_table_test);
    test_find_table("late", &count);
    is(count, 1, "registering a table twice keeps one entry");
    test_find_table("test", &count);
    is(count, 1, "re-registering a constructor table keeps one entry");
    for (t = fw_param_tables(), i = 0; t != NULL && i < 1000; t = t->next)
        i++;
    is(i, ntables + 1, "the list has one more table and no cycle");
    for (t = fw_param_tables(); t != NULL && t->next != NULL; t = t->next)
        ;
    ok(t == &test_late_table, "a late table is appended at the end");
    is_str(fw_param_get_str("FW_TEST_LATE"), "7", "late table is searched");
}

static void
test_get_str(void)
{
    unsetenv("FW_TEST_STR");
    is_str(fw_param_get_str("FW_TEST_STR"), "dflt", "default when unset");
    setenv("FW_TEST_STR", "from-env", 1);
    is_str(fw_param_get_str("FW_TEST_STR"), "from-env", "environment wins");
    setenv("FW_TEST_STR", "", 1);
    is_str(fw_param_get_str("FW_TEST_STR"), "", "set but empty is empty");
    unsetenv("FW_TEST_STR");
    is_str(fw_param_get_str("FW_TEST_STR"), "dflt", "default again");

    unsetenv("FW_TEST_NODEF");
    ok(fw_param_get_str("FW_TEST_NODEF") == NULL, "no default gives NULL");
    setenv("FW_TEST_NODEF", "x", 1);
    is_str(fw_param_get_str("FW_TEST_NODEF"), "x", "unless set");
    unsetenv("FW_TEST_NODEF");

    is_str(fw_param_get_str("FW_LOG_LEVEL"), "warn",
           "common's FW_LOG_LEVEL is visible");
}

/* Set FW_TEST_LONG to val (NULL: unset), read it in [min, max]. */
static long
test_long(const char *val, long min, long max, const char **err_p)
{
    long v;

    if (val != NULL)
        setenv("FW_TEST_LONG", val, 1);
    else
        unsetenv("FW_TEST_LONG");
    test_capture_start();
    v = fw_param_get_long("FW_TEST_LONG", min, max);
    *err_p = test_capture_end();
    return v;
}

static void
test_get_long(void)
{
    const char *err;

    is(test_long(NULL, 0, 100, &err), 42, "unset gives the default");
    is_str(err, "", "without a warning");
    is(test_long("7", 0, 100, &err), 7, "environment value");
    is_str(err, "", "without a warning");
    is(test_long("0x10", 0, 100, &err), 16, "hex value");
    is(test_long("-5", -10, 100, &err), -5, "negative value");
    is(test_long("100", 0, 100, &err), 100, "max is inclusive");
    is(test_long("0", 0, 100, &err), 0, "min is inclusive");
    is_str(err, "", "without a warning");

    is(test_long("101", 0, 100, &err), 42, "above max falls back to default");
    ok(strstr(err, "warn") != NULL && strstr(err, "FW_TEST_LONG") != NULL &&
           strstr(err, "'101'") != NULL && strstr(err, "default 42") != NULL,
       "with a warning naming the variable, value and default");
    is(test_long("-1", 0, 100, &err), 42, "below min falls back to default");
    ok(strstr(err, "FW_TEST_LONG") != NULL, "with a warning");
    is(test_long("12abc", 0, 100, &err), 42, "trailing junk: default");
    ok(strstr(err, "FW_TEST_LONG") != NULL, "with a warning");
    is(test_long("abc", 0, 100, &err), 42, "not a number: default");
    ok(strstr(err, "FW_TEST_LONG") != NULL, "with a warning");
    is(test_long("", 0, 100, &err), 42, "empty: default");
    ok(strstr(err, "FW_TEST_LONG") != NULL, "with a warning");
    is(test_long("99999999999999999999999", 0, 100, &err), 42,
       "overflow: default");
    ok(strstr(err, "FW_TEST_LONG") != NULL, "with a warning");
    /* read at every connect: one warning per bad value, not per read */
    is(test_long("abc", 0, 100, &err), 42, "the same bad value again");
    is_str(err, "", "without a second warning");
    is(test_long("abd", 0, 100, &err), 42, "another bad value");
    ok(strstr(err, "'abd'") != NULL, "warns once more");
    unsetenv("FW_TEST_LONG");
}

int
main(void)
{
    /* the warnings are checked: make sure they are printed */
    setenv("FW_LOG_LEVEL", "warn", 1);
    unsetenv("FW_LOG_SUBSYS");
    unsetenv("FW_TEST_STR");
    unsetenv("FW_TEST_LONG");
    unsetenv("FW_TEST_NODEF");

    test_registry();
    test_get_str();
    test_get_long();
    return fw_test_done();
}
