/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Spawn requests: the SPAWN body decoded (per-app info keys host,
 * hostfile, add-host, add-hostfile, wdir, path, env; job-wide map_by,
 * npernode, which apps must not set differently) and turned into the
 * child fwrun's command line (one application context per app, with its
 * own hosts and -x), which is then forked with the
 * contact of this fwrun's name service (FW_NS_UPSTREAM) and the child
 * job's id (FW_SPAWN_JOBID), or handed to the standby child fwrun
 * started ahead of it (fwrun_standby.c).
 *
 * SPAWN body (dpm/dpm_spawn.c): u32 napps, napps x (str cmd, strv argv,
 * u32 maxprocs, u32 ninfo, ninfo x (str key, str value)), str port,
 * u8 relay (0: the children open endpoints of their own, as the spawning
 * rank runs with FW_DPM_RELAY=0), str cwd (the spawning rank's working
 * directory: the child fwrun starts there when this host has it).
 */
#define _GNU_SOURCE
#include "launcher/fwrun_spawn_req.h"
#include "launcher/fwrun_dpm.h"
#include "launcher/fwrun_standby.h"
#include "launcher/launch_wire.h"
#include "launcher/spawn.h"
#include "dpm/dpm.h"
#include "dpm/ns_wire.h"
#include "dpm/relay.h"
#include "common/util.h"
#include "common/log.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

typedef struct fwrun_argv {
    char **v;
    size_t n, cap;
    int oom;
} fwrun_argv_t;

/* What a child fwrun is started with besides its command line. */
typedef struct fwrun_spawn_env {
    char contact[FW_NS_CONTACT_MAX];
    char jobid[FW_JOBID_MAX + 16];
    char relay_uri[FW_OOB_URI_MAX];
    char relay_hex[2 * FW_OOB_SECRET_LEN + 1];
    const char *cwd;
    int relay;
} fwrun_spawn_env_t;

static void
fwrun_argv_add(fwrun_argv_t *a, const char *s)
{
    char **v;

    if (a->oom)
        return;
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? 2 * a->cap : 32;
        v = realloc(a->v, a->cap * sizeof(*v));
        if (v == NULL) {
            a->oom = 1;
            return;
        }
        a->v = v;
    }
    if ((a->v[a->n] = strdup(s)) == NULL) {
        a->oom = 1;
        return;
    }
    a->v[++a->n] = NULL;
}

static void
fwrun_argv_free(fwrun_argv_t *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
}

static int
fwrun_spawn_env_ok(const char *env)
{
    const char *line = env;

    while (*line != '\0') {
        const char *nl = strchr(line, '\n'), *eq = strchr(line, '=');
        size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);

        if (len > 0 && (eq == NULL || eq >= line + len || eq == line))
            return 0;
        line += len + (nl != NULL);
    }
    return 1;
}

void
fwrun_spawn_req_free(fwrun_spawn_req_t *q)
{
    for (uint32_t i = 0; q->apps != NULL && i < q->napps; i++) {
        free(q->apps[i].cmd);
        fw_launch_strv_free(q->apps[i].argv);
        free(q->apps[i].wdir);
        free(q->apps[i].path);
        free(q->apps[i].env);
        free(q->apps[i].host);
        free(q->apps[i].hostfile);
        free(q->apps[i].add_host);
        free(q->apps[i].add_hostfile);
        free(q->apps[i].list);
    }
    free(q->apps);
    free(q->map_by);
    free(q->npernode);
    free(q->port);
    free(q->cwd);
}

/* Keep value in *slot (first one wins); value is taken. */
static void
fwrun_spawn_keep(char **slot, char *value)
{
    if (*slot == NULL)
        *slot = value;
    else
        free(value);
}

/* A job-wide key (map_by, npernode): every app that sets it must give
 * the same value, as the child fwrun has one. value is taken. */
static fw_status_t
fwrun_spawn_job_key(char **slot, const char *key, char *value)
{
    if (*slot == NULL) {
        *slot = value;
        return FW_SUCCESS;
    }
    if (strcmp(*slot, value) != 0) {
        fprintf(stderr, "fwrun: spawn: info %s differs between applications "
                "(\"%s\", \"%s\"); it applies to the whole child job\n",
                key, *slot, value);
        free(value);
        return FW_ERR_BAD_PARAM;
    }
    free(value);
    return FW_SUCCESS;
}

static fw_status_t
fwrun_spawn_info(fwrun_spawn_req_t *q, fwrun_spawn_app_t *a, char *key,
                 char *val)
{
    fw_status_t rc = FW_SUCCESS;
    char *end = NULL;

    if (strcmp(key, "host") == 0)
        fwrun_spawn_keep(&a->host, val);
    else if (strcmp(key, "hostfile") == 0)
        fwrun_spawn_keep(&a->hostfile, val);
    else if (strcmp(key, "add-host") == 0)
        fwrun_spawn_keep(&a->add_host, val);
    else if (strcmp(key, "add-hostfile") == 0)
        fwrun_spawn_keep(&a->add_hostfile, val);
    else if (strcmp(key, "map_by") == 0 &&
             (strcmp(val, "slot") == 0 || strcmp(val, "node") == 0))
        rc = fwrun_spawn_job_key(&q->map_by, key, val);
    else if (strcmp(key, "npernode") == 0 &&
             strtol(val, &end, 10) > 0 && *end == '\0')
        rc = fwrun_spawn_job_key(&q->npernode, key, val);
    else if (strcmp(key, "wdir") == 0)
        fwrun_spawn_keep(&a->wdir, val);
    else if (strcmp(key, "path") == 0)
        fwrun_spawn_keep(&a->path, val);
    else if (strcmp(key, "env") == 0 && fwrun_spawn_env_ok(val))
        fwrun_spawn_keep(&a->env, val);
    else {
        fprintf(stderr, "fwrun: spawn: bad info %s=\"%s\"\n", key, val);
        free(val);
        rc = FW_ERR_BAD_PARAM;
    }
    free(key);
    return rc;
}

/* A relative hostfile is the spawning rank's: make it absolute (the
 * slot prediction reads it here, the child fwrun in the rank's cwd). */
static fw_status_t
fwrun_spawn_abs(char **path, const char *cwd)
{
    char *abs = NULL;

    if (*path == NULL || (*path)[0] == '/' || cwd[0] == '\0')
        return FW_SUCCESS;
    if (asprintf(&abs, "%s/%s", cwd, *path) < 0)
        return FW_ERR_NO_MEM;
    free(*path);
    *path = abs;
    return FW_SUCCESS;
}

static fw_status_t
fwrun_spawn_req_paths(fwrun_spawn_req_t *q)
{
    fw_status_t rc = FW_SUCCESS;

    for (uint32_t i = 0; i < q->napps && rc == FW_SUCCESS; i++) {
        rc = fwrun_spawn_abs(&q->apps[i].hostfile, q->cwd);
        if (rc == FW_SUCCESS)
            rc = fwrun_spawn_abs(&q->apps[i].add_hostfile, q->cwd);
    }
    return rc;
}

fw_status_t
fwrun_spawn_parse(fw_rbuf_t *rb, fwrun_spawn_req_t *q)
{
    fw_status_t rc = FW_SUCCESS;

    q->napps = fw_rbuf_get_u32(rb);
    if (fw_rbuf_status(rb) != FW_SUCCESS || q->napps == 0 || q->napps > 64)
        return FW_ERR_PROTO;
    q->apps = calloc(q->napps, sizeof(*q->apps));
    if (q->apps == NULL)
        return FW_ERR_NO_MEM;
    for (uint32_t i = 0; i < q->napps && rc == FW_SUCCESS; i++) {
        fwrun_spawn_app_t *a = &q->apps[i];
        uint32_t ninfo;

        a->cmd = fw_rbuf_get_str(rb, 4096);
        a->argv = fw_launch_strv_unpack(rb);
        a->np = fw_rbuf_get_u32(rb);
        ninfo = fw_rbuf_get_u32(rb);
        if (a->cmd == NULL || a->argv == NULL || a->np == 0 || ninfo > 64 ||
            fw_rbuf_status(rb) != FW_SUCCESS)
            return FW_ERR_PROTO;
        for (uint32_t k = 0; k < ninfo && rc == FW_SUCCESS; k++) {
            char *key = fw_rbuf_get_str(rb, 256);
            char *val = fw_rbuf_get_str(rb, 65537);

            if (key == NULL || val == NULL) {
                free(key);
                free(val);
                return FW_ERR_PROTO;
            }
            rc = fwrun_spawn_info(q, a, key, val);
        }
    }
    q->port = fw_rbuf_get_str(rb, FW_DPM_PORT_MAX);
    q->relay = fw_rbuf_get_u8(rb);
    q->cwd = fw_rbuf_get_str(rb, 4096);
    if (rc == FW_SUCCESS && (q->port == NULL || q->cwd == NULL ||
                             fw_rbuf_status(rb) != FW_SUCCESS))
        rc = FW_ERR_PROTO;
    if (rc == FW_SUCCESS)
        rc = fwrun_spawn_req_paths(q);
    return rc;
}

int
fwrun_spawn_app_on_job(const fwrun_spawn_app_t *app)
{
    return app->host == NULL && app->hostfile == NULL;
}

void
fwrun_spawn_app_hosts(const fwrun_spawn_app_t *app, fw_launch_app_hosts_t *h)
{
    if (fwrun_spawn_app_on_job(app)) {
        h->list = app->list;
        h->file = app->add_hostfile;
    } else {
        h->list = app->host;
        h->file = app->hostfile;
    }
}

/* The hosts of app's segment (fwrun_spawn_app_hosts). */
static void
fwrun_spawn_hosts_args(const fwrun_spawn_app_t *app, fwrun_argv_t *a)
{
    fw_launch_app_hosts_t h;

    fwrun_spawn_app_hosts(app, &h);
    if (h.list != NULL) {
        fwrun_argv_add(a, "--host");
        fwrun_argv_add(a, h.list);
    }
    if (h.file != NULL) {
        fwrun_argv_add(a, "--hostfile");
        fwrun_argv_add(a, h.file);
    }
}

static void
fwrun_spawn_app_args(const fwrun_spawn_app_t *app, fwrun_argv_t *a)
{
    char num[16], *cmd = NULL;
    const char *line;

    snprintf(num, sizeof(num), "%u", app->np);
    fwrun_argv_add(a, "-n");
    fwrun_argv_add(a, num);
    if (app->wdir != NULL) {
        fwrun_argv_add(a, "--wdir");
        fwrun_argv_add(a, app->wdir);
    }
    for (line = app->env; line != NULL && *line != '\0';) {
        const char *nl = strchr(line, '\n');
        size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
        char *one = strndup(line, len);

        if (one == NULL) {
            a->oom = 1;
            return;
        }
        if (len > 0) {
            fwrun_argv_add(a, "-x");
            fwrun_argv_add(a, one);
        }
        free(one);
        line += len + (nl != NULL);
    }
    if (app->path != NULL && strchr(app->cmd, '/') == NULL &&
        asprintf(&cmd, "%s/%s", app->path, app->cmd) < 0) {
        a->oom = 1;
        return;
    }
    fwrun_argv_add(a, cmd != NULL ? cmd : app->cmd);
    free(cmd);
    for (char **v = app->argv; *v != NULL; v++)
        fwrun_argv_add(a, *v);
}

/* The child fwrun's command line. */
static fw_status_t
fwrun_spawn_argv(const fwrun_t *r, const fwrun_spawn_req_t *q,
                 const char *self, fwrun_argv_t *a)
{
    char *agent = NULL, *env = NULL;
    size_t alen = 1;

    fwrun_argv_add(a, self);
    fwrun_argv_add(a, "--stdin");
    fwrun_argv_add(a, "none");
    if (r->job.flags & FW_LAUNCH_F_OVERSUBSCRIBE)
        fwrun_argv_add(a, "--oversubscribe");
    if (r->opt.verbose)
        fwrun_argv_add(a, "-v");
    if (r->opt.provider != NULL) {
        fwrun_argv_add(a, "--provider");
        fwrun_argv_add(a, r->opt.provider);
    }
    for (char **v = r->opt.agent; v != NULL && *v != NULL; v++)
        alen += strlen(*v) + 1;
    agent = calloc(1, alen);
    if (agent == NULL)
        a->oom = 1;
    for (char **v = r->opt.agent; agent != NULL && v != NULL && *v != NULL;
         v++) {
        strcat(agent, *v);
        if (v[1] != NULL)
            strcat(agent, " ");
    }
    if (agent != NULL && agent[0] != '\0') {
        fwrun_argv_add(a, "--launch-agent");
        fwrun_argv_add(a, agent);
    }
    free(agent);
    if (q->map_by != NULL) {
        fwrun_argv_add(a, "--map-by");
        fwrun_argv_add(a, q->map_by);
    }
    if (q->npernode != NULL) {
        fwrun_argv_add(a, "--npernode");
        fwrun_argv_add(a, q->npernode);
    }
    if (asprintf(&env, "FW_PARENT_PORT=%s", q->port) < 0)
        return FW_ERR_NO_MEM;
    /* hosts and -x belong to an application context: each gets them */
    for (uint32_t i = 0; i < q->napps; i++) {
        if (i > 0)
            fwrun_argv_add(a, ":");
        fwrun_spawn_hosts_args(&q->apps[i], a);
        fwrun_argv_add(a, "-x");
        fwrun_argv_add(a, env);
        fwrun_spawn_app_args(&q->apps[i], a);
    }
    free(env);
    return a->oom ? FW_ERR_NO_MEM : FW_SUCCESS;
}

/* In the forked child: the child fwrun's environment, directory and
 * stdin (stdin_fd, or /dev/null if -1), then exec. */
static void
fwrun_spawn_child(const fwrun_spawn_env_t *e, int stdin_fd, char **argv,
                  pid_t parent)
{
    int fd;

    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(1);
    fd = stdin_fd >= 0 ? stdin_fd : open("/dev/null", O_RDONLY);
    if (fd >= 0 && fd != 0) {
        dup2(fd, 0);
        close(fd);
    }
    /* the spawning rank's directory, if this host has it: relative
     * programs, wdir and hostfiles are its (else fwrun's) */
    if (e->cwd[0] != '\0' && chdir(e->cwd) != 0) {
        /* not on this host: fwrun's, as before */
    }
    setenv("FW_NS_UPSTREAM", e->contact, 1);
    setenv("FW_SPAWN_JOBID", e->jobid, 1);
    /* our daemons relay the children on their hosts (dpm/relay.h),
     * unless the spawning rank runs with FW_DPM_RELAY=0 */
    if (e->relay) {
        setenv("FW_RELAY_URI", e->relay_uri, 1);
        setenv("FW_RELAY_SECRET", e->relay_hex, 1);
    } else {
        unsetenv("FW_RELAY_URI");
        unsetenv("FW_RELAY_SECRET");
        setenv("FW_DPM_RELAY", "0", 1);
    }
    unsetenv("FW_SERVER");
    execv(argv[0], argv);
    fprintf(stderr, "fwrun: cannot run %s for a spawn: %m\n", argv[0]);
    _exit(127);
}

fw_status_t
fwrun_spawn_fork(fwrun_t *r, uint64_t id, const char *cwd, int relay,
                 int stdin_fd, char **argv, pid_t *pid_p)
{
    uint8_t relay_secret[FW_OOB_SECRET_LEN];
    fwrun_spawn_env_t e;
    pid_t parent = getpid(), pid;

    memset(&e, 0, sizeof(e));
    if (fw_ns_contact_format(r->secret, fw_oob_listener_uri(r->listener),
                             e.contact) != FW_SUCCESS ||
        fw_dpm_relay_uri(r->job.jobid, e.relay_uri, sizeof(e.relay_uri)) !=
            FW_SUCCESS)
        return FW_ERR_NO_MEM;
    fw_dpm_relay_secret(r->secret, relay_secret);
    fw_hex_encode(relay_secret, sizeof(relay_secret), e.relay_hex);
    snprintf(e.jobid, sizeof(e.jobid), "%s.%llu", r->job.jobid,
             (unsigned long long)id);
    e.cwd = cwd != NULL ? cwd : "";
    e.relay = relay;
    pid = fw_launch_fork(); /* none of our handlers may run in it */
    if (pid < 0)
        return FW_ERR_SYSTEM;
    if (pid == 0)
        fwrun_spawn_child(&e, stdin_fd, argv, parent);
    FW_LOG_DEBUG("dpm", "fwrun: spawn %llu: child fwrun %d started",
                 (unsigned long long)id, (int)pid);
    *pid_p = pid;
    return FW_SUCCESS;
}

fw_status_t
fwrun_spawn_start(fwrun_t *r, const fwrun_spawn_req_t *q, uint64_t *id_p,
                  pid_t *pid_p)
{
    fwrun_argv_t a = {0};
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    fw_status_t rc;

    if (n <= 0)
        return FW_ERR_SYSTEM;
    self[n] = '\0';
    rc = fwrun_spawn_argv(r, q, self, &a);
    if (rc == FW_SUCCESS &&
        !fwrun_standby_take(r, q->cwd, q->relay, a.v, id_p, pid_p)) {
        *id_p = fwrun_dpm_next_spawn(r);
        rc = fwrun_spawn_fork(r, *id_p, q->cwd, q->relay, -1, a.v, pid_p);
    }
    if (rc == FW_SUCCESS && r->opt.verbose) {
        fprintf(stderr, "fwrun: spawn %llu:", (unsigned long long)*id_p);
        for (size_t i = 0; i < a.n; i++)
            fprintf(stderr, " %s", a.v[i]);
        fputc('\n', stderr);
    }
    fwrun_argv_free(&a);
    return rc;
}

