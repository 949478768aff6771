/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Run-time selectable logging to stderr (see log.h). The level and the
 * subsystem filter are read once from the tunables table.
 */
#include "common/log.h"
#include "common/param.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/****************/
/* Local Variables */
/****************/

static int fw_log_level_g = -1;
static const char *fw_log_subsys_g;
static const char *fw_log_progname_g = "fabwire";

static const char *const fw_log_level_names[] = {"err", "warn", "info",
                                                 "debug", "trace"};

static void
fw_log_setup(void)
{
    const char *lvl = fw_param_get_str("FW_LOG_LEVEL");
    int i;

    fw_log_level_g = FW_LOG_LEVEL_WARN;
    for (i = 0; i <= FW_LOG_LEVEL_TRACE; i++) {
        if (lvl != NULL && strcasecmp(lvl, fw_log_level_names[i]) == 0)
            fw_log_level_g = i;
    }
    fw_log_subsys_g = fw_param_get_str("FW_LOG_SUBSYS");
    if (fw_log_subsys_g != NULL && fw_log_subsys_g[0] == '\0')
        fw_log_subsys_g = NULL;
}

static int
fw_log_subsys_match(const char *subsys)
{
    const char *p = fw_log_subsys_g;
    size_t n;

    while (p != NULL && *p != '\0') {
        n = strcspn(p, ",");
        if (n > 0 && strncmp(subsys, p, n) == 0 &&
            (subsys[n] == '\0' || subsys[n] == '.'))
            return 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

int
fw_log_enabled(fw_log_level_t level, const char *subsys)
{
    if (fw_log_level_g < 0)
        fw_log_setup();
    if ((int)level > fw_log_level_g)
        return 0;
    /* errors are always shown, whatever the subsystem filter */
    if (level == FW_LOG_LEVEL_ERR || fw_log_subsys_g == NULL)
        return 1;
    return fw_log_subsys_match(subsys);
}

void
fw_log_set_progname(const char *name)
{
    if (name != NULL)
        fw_log_progname_g = name;
}

void
fw_log_emit(fw_log_level_t level, const char *subsys, const char *file,
            int line, const char *fmt, ...)
{
    int saved = errno;
    struct timespec ts;
    char buf[1024];
    va_list ap;
    int n;

    n = snprintf(buf, sizeof(buf), "%s[%d] %s %s: ", fw_log_progname_g,
                 (int)getpid(), fw_log_level_names[level], subsys);
    if (n < 0 || (size_t)n >= sizeof(buf))
        n = 0;
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
    va_end(ap);
    /* debug lines carry a monotonic time stamp (s), comparable between
     * the processes of a host: where a launch or a spawn spends its time */
    if (level >= FW_LOG_LEVEL_DEBUG) {
        if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
            ts.tv_sec = ts.tv_nsec = 0;
        fprintf(stderr, "%s (%s:%d, t=%lld.%06ld)\n", buf, file, line,
                (long long)ts.tv_sec, ts.tv_nsec / 1000);
    } else {
        fprintf(stderr, "%s\n", buf);
    }
    errno = saved;
}
