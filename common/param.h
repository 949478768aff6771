/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Environment tunables. Each module declares one table of FW_* variables
 * with default and help text (FW_PARAM_TABLE); fw-info --env lists them
 * all. Lookups of a name that no table declares are a programming error.
 */
#ifndef FW_COMMON_PARAM_H
#define FW_COMMON_PARAM_H

#include <fabwire/types.h>
#include <fabwire/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fw_param {
    const char *name;   /* FW_... */
    const char *defval; /* default as text; NULL = unset */
    const char *help;   /* one line */
} fw_param_t;

typedef struct fw_param_table {
    const char *module;
    const fw_param_t *params;
    size_t count;
    struct fw_param_table *next; /* registry link, owned by param.c */
} fw_param_table_t;

/* Add a table to the registry (done by FW_PARAM_TABLE at load time). */
void fw_param_table_register(fw_param_table_t *table);

/* First registered table; walk with ->next. Borrowed, static. */
const fw_param_table_t *fw_param_tables(void);

/*
 * Value of a tunable: the environment if set, else its default. Borrowed:
 * valid until the environment variable changes. NULL if unset without a
 * default.
 */
const char *fw_param_get_str(const char *name);

/*
 * Integer value of a tunable. A value that does not parse or is outside
 * [min, max] is reported (a warning naming the variable) and the
 * default is used.
 */
long fw_param_get_long(const char *name, long min, long max);

/* Declare a module's table; registered before main() runs. */
#define FW_PARAM_TABLE(mod, ...)                                              \
    static const fw_param_t fw_param_list_##mod[] = {__VA_ARGS__};            \
    static fw_param_table_t fw_param_table_##mod = {                          \
        #mod, fw_param_list_##mod,                                            \
        sizeof(fw_param_list_##mod) / sizeof(fw_param_list_##mod[0]), NULL};  \
    __attribute__((constructor)) static void fw_param_register_##mod(void)    \
    {                                                                         \
        fw_param_table_register(&fw_param_table_##mod);                       \
    }

#ifdef __cplusplus
}
#endif

#endif /* FW_COMMON_PARAM_H */
