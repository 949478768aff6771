/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Encoding of the CONFIG message and of string vectors (launch_wire.h).
 */
#include "launcher/launch_wire.h"
#include "common/param.h"

#include <stdlib.h>
#include <string.h>

#define FW_LAUNCH_STR_MAX 65536
#define FW_LAUNCH_ARGS_MAX 65536
#define FW_LAUNCH_DAEMONS_MAX (1u << 20)

FW_PARAM_TABLE(launch,
    {"FW_KILL_GRACE_MS", "500",
     "time between SIGTERM and SIGKILL when a job is torn down"},
    {"FW_LAUNCH_TIMEOUT_MS", "30000",
     "time allowed for every daemon to start and report in"},
    {"FW_FWD_PATH", NULL,
     "path of the fwd daemon (default: next to fwrun)"},
    {"FW_SERVER", NULL,
     "fw-server contact (SECRET@tcp://ADDR:PORT or file:PATH) for "
     "publish/lookup across jobs; fwrun --server overrides it"},
    {"FW_SPAWN_WAIT_MS", "5000",
     "without --oversubscribe, how long a spawn that does not fit waits "
     "for running child jobs to give their slots back"},
    {"FW_SPAWN_STANDBY", "1",
     "1: once a spawn's children connected, start the next spawn's child "
     "fwrun and its local daemon ahead, so that the next spawn on this "
     "host skips their start-up (~5 ms); 0: start them at each spawn"})

void
fw_launch_strv_free(char **v)
{
    size_t i;

    if (v == NULL)
        return;
    for (i = 0; v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

void
fw_launch_strv_pack(fw_buf_t *b, char *const *v)
{
    uint32_t n = 0;

    while (v != NULL && v[n] != NULL)
        n++;
    fw_buf_put_u32(b, n);
    for (n = 0; v != NULL && v[n] != NULL; n++)
        fw_buf_put_str(b, v[n]);
}

char **
fw_launch_strv_unpack(fw_rbuf_t *r)
{
    uint32_t n = fw_rbuf_get_u32(r), i;
    char **v;

    /* each string takes at least 4 bytes: bounds n by what is left */
    if (r->err || n > FW_LAUNCH_DAEMONS_MAX || n > (r->len - r->pos) / 4) {
        r->err = 1;
        return NULL;
    }
    v = calloc((size_t)n + 1, sizeof(*v));
    if (v == NULL) {
        r->err = 1;
        return NULL;
    }
    for (i = 0; i < n; i++) {
        v[i] = fw_rbuf_get_str(r, FW_LAUNCH_STR_MAX);
        if (v[i] == NULL) {
            fw_launch_strv_free(v);
            return NULL;
        }
    }
    return v;
}

void
fw_launch_config_pack(const fw_launch_config_t *c, fw_buf_t *b)
{
    fw_buf_put_u32(b, c->ndaemons);
    fw_buf_put_u32(b, c->fanout);
    fw_buf_put_str(b, c->jobid);
    fw_launch_strv_pack(b, c->agent);
    fw_buf_put_str(b, c->fwd_path);
    fw_buf_put_u32(b, c->flags);
    fw_launch_strv_pack(b, c->hosts);
    fw_buf_put_str(b, c->provider != NULL ? c->provider : "");
}

void
fw_launch_config_cleanup(fw_launch_config_t *c)
{
    if (c == NULL)
        return;
    free(c->jobid);
    fw_launch_strv_free(c->agent);
    free(c->fwd_path);
    fw_launch_strv_free(c->hosts);
    free(c->provider);
    memset(c, 0, sizeof(*c));
}

fw_status_t
fw_launch_config_unpack(fw_rbuf_t *r, fw_launch_config_t *c)
{
    fw_launch_config_t tmp;
    uint32_t n = 0;

    memset(&tmp, 0, sizeof(tmp));
    tmp.ndaemons = fw_rbuf_get_u32(r);
    tmp.fanout = fw_rbuf_get_u32(r);
    tmp.jobid = fw_rbuf_get_str(r, FW_JOBID_MAX - 1);
    tmp.agent = fw_launch_strv_unpack(r);
    tmp.fwd_path = fw_rbuf_get_str(r, FW_LAUNCH_STR_MAX);
    tmp.flags = fw_rbuf_get_u32(r);
    tmp.hosts = fw_launch_strv_unpack(r);
    tmp.provider = fw_rbuf_get_str(r, 256);
    while (tmp.hosts != NULL && tmp.hosts[n] != NULL)
        n++;
    if (r->err || tmp.jobid == NULL || tmp.agent == NULL ||
        tmp.fwd_path == NULL || tmp.hosts == NULL || tmp.provider == NULL ||
        tmp.fanout == 0 ||
        tmp.ndaemons < 2 || n != tmp.ndaemons) {
        fw_launch_config_cleanup(&tmp);
        return FW_ERR_PROTO;
    }
    *c = tmp;
    return FW_SUCCESS;
}
