/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Registry of the per-module tunables tables and typed lookups.
 * The common module's own tunables (logging) are declared here.
 */
#include "common/param.h"
#include "common/log.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static fw_param_table_t *fw_param_head_g;

FW_PARAM_TABLE(common,
    {"FW_LOG_LEVEL", "warn",
     "log level: err, warn, info, debug or trace"},
    {"FW_LOG_SUBSYS", NULL,
     "comma list of subsystems to log (oob,fab,modex,dpm,launch); all if unset"})

void
fw_param_table_register(fw_param_table_t *table)
{
    fw_param_table_t **pp = &fw_param_head_g;

    /* keep registration order stable for fw-info: append */
    while (*pp != NULL) {
        if (*pp == table)
            return;
        pp = &(*pp)->next;
    }
    table->next = NULL;
    *pp = table;
}

const fw_param_table_t *
fw_param_tables(void)
{
    return fw_param_head_g;
}

static const fw_param_t *
fw_param_find(const char *name)
{
    const fw_param_table_t *t;
    size_t i;

    for (t = fw_param_head_g; t != NULL; t = t->next) {
        for (i = 0; i < t->count; i++) {
            if (strcmp(t->params[i].name, name) == 0)
                return &t->params[i];
        }
    }
    return NULL;
}

const char *
fw_param_get_str(const char *name)
{
    const fw_param_t *p = fw_param_find(name);
    const char *v;

    assert(p != NULL && "tunable not declared in any FW_PARAM_TABLE");
    if (p == NULL)
        FW_LOG_ERR("common", "%s: tunable not declared (bug)", name);
    v = getenv(name);
    if (v != NULL)
        return v;
    return p != NULL ? p->defval : NULL;
}

static int
fw_param_parse_long(const char *s, long min, long max, long *out_p)
{
    char *end = NULL;
    long v;

    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    v = strtol(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out_p = v;
    return 0;
}

/*
 * Has this bad value of p been reported already? (Once per tunable and
 * value: a tunable read at every connect must not warn every time.)
 * Remembers it if not; past FW_PARAM_WARNED_MAX of them, warns again.
 */
#define FW_PARAM_WARNED_MAX 32

static int
fw_param_warned(const fw_param_t *p, const char *v)
{
    static struct {
        const fw_param_t *p;
        char v[64];
    } seen[FW_PARAM_WARNED_MAX];
    static size_t nseen;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    size_t i;
    int found = 0;

    if (strlen(v) >= sizeof(seen[0].v) || pthread_mutex_lock(&lock) != 0)
        return 0;
    for (i = 0; i < nseen && !found; i++)
        found = seen[i].p == p && strcmp(seen[i].v, v) == 0;
    if (!found && nseen < FW_PARAM_WARNED_MAX) {
        seen[nseen].p = p;
        memcpy(seen[nseen].v, v, strlen(v) + 1);
        nseen++;
    }
    pthread_mutex_unlock(&lock);
    return found;
}

long
fw_param_get_long(const char *name, long min, long max)
{
    const fw_param_t *p = fw_param_find(name);
    const char *v = getenv(name);
    long out = 0;

    assert(p != NULL && "tunable not declared in any FW_PARAM_TABLE");
    if (p == NULL)
        FW_LOG_ERR("common", "%s: tunable not declared (bug)", name);
    if (v != NULL && fw_param_parse_long(v, min, max, &out) == 0)
        return out;
    if (v != NULL && !fw_param_warned(p, v))
        FW_LOG_WARN("common", "%s: invalid value '%s' (expected %ld..%ld), "
                    "using default %s", name, v, min, max,
                    p != NULL && p->defval != NULL ? p->defval : "0");
    if (p != NULL && fw_param_parse_long(p->defval, min, max, &out) == 0)
        return out;
    return 0;
}
