/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One logging API for every module: FW_LOG_<LEVEL>(subsys, fmt, ...).
 * Level and subsystems are chosen at run time with FW_LOG_LEVEL
 * (err|warn|info|debug|trace, default warn) and FW_LOG_SUBSYS (comma list
 * of prefixes, default all). Messages go to stderr, prefixed with the
 * program name, pid and subsystem.
 */
#ifndef FW_COMMON_LOG_H
#define FW_COMMON_LOG_H

#include <fabwire/types.h>
#include <fabwire/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fw_log_level {
    FW_LOG_LEVEL_ERR = 0,
    FW_LOG_LEVEL_WARN,
    FW_LOG_LEVEL_INFO,
    FW_LOG_LEVEL_DEBUG,
    FW_LOG_LEVEL_TRACE
} fw_log_level_t;

/* True if a message of this level and subsystem would be printed. */
int fw_log_enabled(fw_log_level_t level, const char *subsys);

/* Print one message (use the macros). Preserves errno. */
void fw_log_emit(fw_log_level_t level, const char *subsys, const char *file,
                 int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Name printed before each message ("fwrun", "fwd", ...). Borrowed. */
void fw_log_set_progname(const char *name);

#define FW_LOG_(lvl, subsys, ...)                                             \
    do {                                                                      \
        if (fw_log_enabled((lvl), (subsys)))                                  \
            fw_log_emit((lvl), (subsys), __FILE__, __LINE__, __VA_ARGS__);    \
    } while (0)

#define FW_LOG_ERR(subsys, ...) FW_LOG_(FW_LOG_LEVEL_ERR, subsys, __VA_ARGS__)
#define FW_LOG_WARN(subsys, ...) FW_LOG_(FW_LOG_LEVEL_WARN, subsys, __VA_ARGS__)
#define FW_LOG_INFO(subsys, ...) FW_LOG_(FW_LOG_LEVEL_INFO, subsys, __VA_ARGS__)
#define FW_LOG_DEBUG(subsys, ...)                                             \
    FW_LOG_(FW_LOG_LEVEL_DEBUG, subsys, __VA_ARGS__)
#define FW_LOG_TRACE(subsys, ...)                                             \
    FW_LOG_(FW_LOG_LEVEL_TRACE, subsys, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* FW_COMMON_LOG_H */
