/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fwd: start the ranks mapped to this host, forward their output line
 * by line, feed rank 0's stdin, report exits (batched) and kill them.
 */
#define _GNU_SOURCE
#include "launcher/fwd.h"
#include "launcher/spawn.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/param.h"

#include <event2/buffer.h>

#include <errno.h>
#include <fcntl.h>
#include <hwloc.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FWD_IOF_CHUNK 65536
/* Unsent output to fwrun above which ranks' output waits (see below). */
#define FWD_IOF_BACKLOG (8u << 20)
/* Lines up to this long reach fwrun whole; longer ones go in pieces. */
#define FWD_LINE_MAX (1u << 20)

extern char **environ;


/****************/
/* Output       */
/****************/

static void
fwd_iof_send(fwd_proc_t *p, int stream, const char *data, size_t len)
{
    fw_buf_t b;

    if (len == 0)
        return;
    fw_buf_init(&b);
    fw_buf_put_u32(&b, p->rank);
    fw_buf_put_u8(&b, (uint8_t)stream);
    fw_buf_put_blob(&b, data, len);
    if (fw_buf_status(&b) == FW_SUCCESS)
        fw_launch_tree_send(&p->d->tree, FW_LAUNCH_MSG_IOF, FW_OOB_ID_ROOT,
                            b.data, b.len);
    fw_buf_cleanup(&b);
}

/* Forward whole lines from buf; keep a trailing partial line. */
static void
fwd_iof_feed(fwd_proc_t *p, int stream, const char *data, size_t len)
{
    char *nb;
    size_t keep, total = p->olen[stream] + len;
    const char *last;

    nb = realloc(p->obuf[stream], total + 1);
    if (nb == NULL) {
        fwd_iof_send(p, stream, data, len); /* no memory: pass through */
        return;
    }
    memcpy(nb + p->olen[stream], data, len);
    p->obuf[stream] = nb;
    last = memrchr(nb, '\n', total);
    keep = last != NULL ? total - (size_t)(last + 1 - nb) : total;
    if (keep > FWD_LINE_MAX)
        keep = 0; /* an endless line: flush what we have */
    fwd_iof_send(p, stream, nb, total - keep);
    memmove(nb, nb + (total - keep), keep);
    p->olen[stream] = keep;
}

static void
fwd_iof_flush(fwd_proc_t *p, int stream)
{
    fwd_iof_send(p, stream, p->obuf[stream], p->olen[stream]);
    p->olen[stream] = 0;
}

/*
 * Back-pressure: while the link up (to fwrun, or a parent daemon) holds
 * more than FWD_IOF_BACKLOG unsent, for instance because fwrun waits for
 * a slow reader of its stdout, no rank's output is read: their pipes
 * fill and their writes block, as on a slow terminal. A 10 ms timer
 * resumes reading once the backlog is down to half.
 */
static int
fwd_iof_backlogged(const fwd_t *d, size_t limit)
{
    return d->tree.parent != NULL &&
           fw_oob_conn_pending(d->tree.parent) > limit;
}

static void
fwd_iof_events(fwd_t *d, int on)
{
    uint32_t i;

    for (i = 0; i < d->nprocs; i++) {
        fwd_proc_t *p = &d->procs[i];

        if (p->out_ev != NULL)
            on ? event_add(p->out_ev, NULL) : event_del(p->out_ev);
        if (p->err_ev != NULL)
            on ? event_add(p->err_ev, NULL) : event_del(p->err_ev);
    }
}

static void
fwd_iof_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    const struct timeval tick = {0, 10 * 1000};
    fwd_t *d = arg;

    (void)fd;
    (void)what;
    if (fwd_iof_backlogged(d, FWD_IOF_BACKLOG / 2)) {
        evtimer_add(d->iof_timer, &tick);
        return;
    }
    d->iof_paused = 0;
    fwd_iof_events(d, 1);
}

static void
fwd_iof_pause(fwd_t *d)
{
    const struct timeval tick = {0, 10 * 1000};

    if (d->iof_paused)
        return;
    if (d->iof_timer == NULL)
        d->iof_timer = evtimer_new(d->base, fwd_iof_resume_cb, d);
    if (d->iof_timer == NULL || evtimer_add(d->iof_timer, &tick) != 0)
        return; /* no timer: keep reading (unbounded, as before) */
    d->iof_paused = 1;
    fwd_iof_events(d, 0);
}

/* Read what is there now; returns 1 at EOF or error. bounded: stop (and
 * pause every rank's output) when the link up is backlogged; the exit
 * path reads to the end, so that output goes before the exit. */
static int
fwd_iof_drain(fwd_proc_t *p, int stream, int bounded)
{
    int fd = stream == 1 ? p->out_fd : p->err_fd;
    char buf[FWD_IOF_CHUNK];
    ssize_t n;

    for (;;) {
        if (bounded && fwd_iof_backlogged(p->d, FWD_IOF_BACKLOG)) {
            fwd_iof_pause(p->d);
            return 0;
        }
        n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            fwd_iof_feed(p, stream, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return 1;
    }
}

static void
fwd_iof_close(fwd_proc_t *p, int stream)
{
    struct event **ev = stream == 1 ? &p->out_ev : &p->err_ev;
    int *fd = stream == 1 ? &p->out_fd : &p->err_fd;

    fwd_iof_flush(p, stream);
    if (*ev != NULL)
        event_free(*ev);
    *ev = NULL;
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void
fwd_iof_cb(evutil_socket_t fd, short what, void *arg)
{
    fwd_proc_t *p = arg;
    int stream = fd == p->out_fd ? 1 : 2;

    (void)what;
    if (fwd_iof_drain(p, stream, 1))
        fwd_iof_close(p, stream);
}

/****************/
/* Environment  */
/****************/

/* Where a rank stands in its job: set by its own launch only (a rank
 * that runs fwrun itself must not pass its own on to the inner job's
 * ranks, whose getenv() would find it first). */
static const char *const fwd_env_job_names[] = {
    "FW_JOB_SECRET", "FW_JOBID", "FW_SIZE", "FW_NUM_NODES",
    "FW_UNIVERSE_SIZE", "FW_NODE_ID", "FW_LOCAL_SIZE", "FW_APPNUM",
    "FW_DAEMON_URI", "FW_RANK", "FW_LOCAL_RANK", "FW_PARENT_PORT",
    "FW_RELAY_URI", "FW_RELAY_SECRET", NULL};

/* 1 if "NAME=value" entry e names name. */
static int
fwd_env_is(const char *e, const char *name)
{
    size_t n = strlen(name);

    return strncmp(e, name, n) == 0 && e[n] == '=';
}

/* An inherited entry the rank gets: not a job variable, and not set by
 * the app (-x, spawn's env key), whose value wins. */
static int
fwd_env_keep(const char *e, const fw_launch_app_t *app)
{
    const char *eq = strchr(e, '=');
    size_t i;

    for (i = 0; fwd_env_job_names[i] != NULL; i++)
        if (fwd_env_is(e, fwd_env_job_names[i]))
            return 0;
    for (i = 0; eq != NULL && app->env[i] != NULL; i++)
        if (strncmp(app->env[i], e, (size_t)(eq - e) + 1) == 0)
            return 0;
    return 1;
}

/* 1 if app entry i is the last of its name (-x FOO=1 -x FOO=2: 2 wins,
 * as with mpirun). */
static int
fwd_env_last(char *const *env, size_t i)
{
    size_t n = strcspn(env[i], "=") + 1;

    for (size_t j = i + 1; env[j] != NULL; j++)
        if (strncmp(env[j], env[i], n) == 0)
            return 0;
    return 1;
}

/* Every env string a rank gets except FW_RANK/FW_LOCAL_RANK: ours, then
 * the app's, then the job's (each name once). */
static char **
fwd_env_base(fwd_t *d, const fw_launch_app_t *app, uint32_t node,
             uint32_t appnum, const char *uri)
{
    size_t ne = 0, na = 0, i, k = 0;
    char **env;

    while (environ[ne] != NULL)
        ne++;
    while (app->env[na] != NULL)
        na++;
    env = calloc(ne + na + 16, sizeof(*env));
    if (env == NULL)
        return NULL;
    for (i = 0; i < ne; i++)
        if (fwd_env_keep(environ[i], app))
            env[k++] = strdup(environ[i]);
    for (i = 0; i < na; i++)
        if (fwd_env_last(app->env, i))
            env[k++] = strdup(app->env[i]);
    if (asprintf(&env[k++], "FW_JOBID=%s", d->job.jobid) < 0 ||
        asprintf(&env[k++], "FW_SIZE=%u", d->job.nprocs) < 0 ||
        asprintf(&env[k++], "FW_NUM_NODES=%u", d->job.nhosts) < 0 ||
        asprintf(&env[k++], "FW_UNIVERSE_SIZE=%u", d->job.universe_size) < 0 ||
        asprintf(&env[k++], "FW_NODE_ID=%u", node) < 0 ||
        asprintf(&env[k++], "FW_LOCAL_SIZE=%u", d->job.hosts[node].nprocs) < 0 ||
        asprintf(&env[k++], "FW_APPNUM=%u", appnum) < 0 ||
        asprintf(&env[k++], "FW_DAEMON_URI=%s", uri) < 0 ||
        asprintf(&env[k++], "FW_JOB_SECRET=%s", d->secret_hex) < 0)
        env[k - 1] = NULL;
    for (i = 0; i < k; i++) {
        if (env[i] == NULL) {
            for (i = 0; i < k; i++)
                free(env[i]);
            free(env);
            return NULL;
        }
    }
    return env;
}

static void
fwd_env_free(char **env)
{
    size_t i;

    for (i = 0; env != NULL && env[i] != NULL; i++)
        free(env[i]);
    free(env);
}

/****************/
/* Binding      */
/****************/

typedef struct fwd_bind {
    hwloc_topology_t topo;
    int nobj;
    hwloc_obj_type_t type;
} fwd_bind_t;

static int
fwd_bind_setup(fwd_t *d, fwd_bind_t *b)
{
    memset(b, 0, sizeof(*b));
    if (d->job.bind == FW_LAUNCH_BIND_NONE)
        return 0;
    b->type = d->job.bind == FW_LAUNCH_BIND_CORE ? HWLOC_OBJ_CORE
                                                 : HWLOC_OBJ_PACKAGE;
    if (hwloc_topology_init(&b->topo) != 0)
        return -1;
    hwloc_topology_set_io_types_filter(b->topo, HWLOC_TYPE_FILTER_KEEP_NONE);
    hwloc_topology_set_cache_types_filter(b->topo,
                                          HWLOC_TYPE_FILTER_KEEP_NONE);
    if (hwloc_topology_load(b->topo) != 0) {
        hwloc_topology_destroy(b->topo);
        b->topo = NULL;
        return -1;
    }
    b->nobj = hwloc_get_nbobjs_by_type(b->topo, b->type);
    return b->nobj > 0 ? 0 : -1;
}

static void
fwd_bind_cpus(fwd_t *d, fwd_bind_t *b, uint32_t rank, uint32_t local_rank,
              cpu_set_t *set)
{
    hwloc_obj_t obj;
    char text[256] = "";
    int i;

    CPU_ZERO(set);
    obj = hwloc_get_obj_by_type(b->topo, b->type,
                                (unsigned)(local_rank % (uint32_t)b->nobj));
    if (obj == NULL || obj->cpuset == NULL)
        return;
    hwloc_bitmap_foreach_begin(i, obj->cpuset)
        if (i < CPU_SETSIZE)
            CPU_SET(i, set);
    hwloc_bitmap_foreach_end();
    if (d->job.flags & FW_LAUNCH_F_REPORT_BINDINGS) {
        hwloc_bitmap_list_snprintf(text, sizeof(text), obj->cpuset);
        fprintf(stderr, "[%s:%u] rank %u bound to %s %u: cpus %s\n",
                d->hostname, rank, rank,
                b->type == HWLOC_OBJ_CORE ? "core" : "package",
                obj->logical_index, text);
    }
}

/****************/
/* Launch       */
/****************/

static fw_status_t
fwd_proc_pipes(fwd_proc_t *p, int *out_w, int *err_w)
{
    int o[2], e[2];

    if (pipe2(o, O_CLOEXEC) != 0)
        return FW_ERR_SYSTEM;
    if (pipe2(e, O_CLOEXEC) != 0) {
        close(o[0]);
        close(o[1]);
        return FW_ERR_SYSTEM;
    }
    p->out_fd = o[0];
    p->err_fd = e[0];
    *out_w = o[1];
    *err_w = e[1];
    return FW_SUCCESS;
}

static void
fwd_fd_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        FW_LOG_WARN("launch", "fd %d: cannot make non-blocking: %m", fd);
}

static fw_status_t
fwd_proc_watch(fwd_t *d, fwd_proc_t *p)
{
    fwd_fd_nonblock(p->out_fd);
    fwd_fd_nonblock(p->err_fd);
    p->out_ev = event_new(d->base, p->out_fd, EV_READ | EV_PERSIST,
                          fwd_iof_cb, p);
    p->err_ev = event_new(d->base, p->err_fd, EV_READ | EV_PERSIST,
                          fwd_iof_cb, p);
    if (p->out_ev == NULL || p->err_ev == NULL ||
        event_add(p->out_ev, NULL) != 0 || event_add(p->err_ev, NULL) != 0)
        return FW_ERR_NO_MEM;
    return FW_SUCCESS;
}

/* Start one rank; on failure report it and return the error. */
static fw_status_t
fwd_proc_start_one(fwd_t *d, fwd_proc_t *p, fw_launch_proc_spec_t *spec,
                   const char *prog)
{
    int out_w = -1, err_w = -1, in_fds[2] = {-1, -1}, e = 0;
    char text[512];
    fw_status_t rc;

    rc = fwd_proc_pipes(p, &out_w, &err_w);
    if (rc == FW_SUCCESS && p->rank == 0 && d->stdin_fd == -2) {
        if (pipe2(in_fds, O_CLOEXEC) != 0)
            rc = FW_ERR_SYSTEM;
        else
            spec->stdin_fd = in_fds[0];
    }
    if (rc != FW_SUCCESS) {
        snprintf(text, sizeof(text), "host %s: rank %u: pipe: %s",
                 d->hostname, p->rank, strerror(errno));
        fwd_send_fail(d, p->rank, FW_LAUNCH_FAIL_EXEC, text);
        return rc;
    }
    spec->stdout_fd = out_w;
    spec->stderr_fd = err_w;
    rc = fw_launch_proc_start(spec, &p->pid, &e);
    close(out_w);
    close(err_w);
    if (in_fds[0] >= 0) {
        close(in_fds[0]);
        d->stdin_fd = in_fds[1];
        fwd_fd_nonblock(d->stdin_fd);
    }
    if (rc != FW_SUCCESS) {
        snprintf(text, sizeof(text), "cannot start rank %u on host %s: "
                 "'%s': %s", p->rank, d->hostname, prog,
                 strerror(rc == FW_ERR_SPAWN ? e : errno));
        fwd_send_fail(d, p->rank, FW_LAUNCH_FAIL_EXEC, text);
        return rc;
    }
    d->nlive++;
    p->started_pid = p->pid;
    return fwd_proc_watch(d, p);
}

static int
fwd_my_node(const fwd_t *d)
{
    uint32_t i;

    for (i = 0; i < d->job.nhosts; i++)
        if (d->job.hosts[i].daemon_id == d->id)
            return (int)i;
    return -1;
}

/* 0 if dir is a directory we may enter; else -1 with errno (ENOTDIR for
 * a file, not the EACCES that access() gives there). */
static int
fwd_wdir_check(const char *dir)
{
    struct stat st;

    if (stat(dir, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return access(dir, X_OK);
}

/* Resolve every app's program once; report the first failure. */
static fw_status_t
fwd_resolve_apps(fwd_t *d, int node, char (*paths)[PATH_MAX])
{
    fw_error_t err;
    char text[1024];
    uint32_t a, r;

    for (a = 0; a < d->job.napps; a++) {
        fw_launch_app_t *app = &d->job.apps[a];

        for (r = app->first; r < app->first + app->np; r++)
            if (d->job.rank_node[r] == (uint32_t)node)
                break;
        if (r == app->first + app->np)
            continue; /* no rank of this app here */
        if (app->wdir != NULL && fwd_wdir_check(app->wdir) != 0) {
            snprintf(text, sizeof(text), "cannot start rank %u on host %s: "
                     "working directory '%s': %s", r, d->hostname, app->wdir,
                     strerror(errno));
            fwd_send_fail(d, r, FW_LAUNCH_FAIL_EXEC, text);
            return FW_ERR_NOT_FOUND;
        }
        if (fw_launch_resolve(app->argv[0], app->wdir, paths[a], &err) !=
            FW_SUCCESS) {
            snprintf(text, sizeof(text), "cannot start rank %u on host %s: "
                     "%s", r, d->hostname, err.text);
            fwd_send_fail(d, r, FW_LAUNCH_FAIL_EXEC, text);
            return FW_ERR_NOT_FOUND;
        }
    }
    return FW_SUCCESS;
}

static fw_status_t
fwd_start_ranks(fwd_t *d, int node, char (*paths)[PATH_MAX], fwd_bind_t *b)
{
    fw_launch_proc_spec_t spec;
    uint32_t r, a = UINT32_MAX, lr = 0, k = 0;
    char **env = NULL, rank_s[32], lrank_s[32];
    size_t nenv = 0;
    cpu_set_t cpus;
    fw_status_t rc = FW_SUCCESS;
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

    if (devnull < 0)
        return FW_ERR_SYSTEM;
    for (r = 0; r < d->job.nprocs && rc == FW_SUCCESS; r++) {
        if (d->job.rank_node[r] != (uint32_t)node)
            continue;
        if (fw_launch_job_app_of(&d->job, r) != a) {
            a = fw_launch_job_app_of(&d->job, r);
            fwd_env_free(env);
            env = fwd_env_base(d, &d->job.apps[a], (uint32_t)node, a,
                               fw_oob_listener_uri(d->proc_l));
            if (env == NULL) {
                rc = FW_ERR_NO_MEM;
                break;
            }
            for (nenv = 0; env[nenv] != NULL; nenv++)
                ;
        }
        snprintf(rank_s, sizeof(rank_s), "FW_RANK=%u", r);
        snprintf(lrank_s, sizeof(lrank_s), "FW_LOCAL_RANK=%u", lr);
        env[nenv] = rank_s;
        env[nenv + 1] = lrank_s;
        env[nenv + 2] = NULL;
        memset(&spec, 0, sizeof(spec));
        spec.path = paths[a];
        spec.argv = d->job.apps[a].argv;
        spec.envp = env;
        spec.wdir = d->job.apps[a].wdir;
        spec.stdin_fd = devnull;
        if (b->topo != NULL) {
            fwd_bind_cpus(d, b, r, lr, &cpus);
            spec.cpus = &cpus;
        }
        d->procs[k].d = d;
        rc = fwd_proc_start_one(d, &d->procs[k], &spec,
                                d->job.apps[a].argv[0]);
        env[nenv] = NULL;
        k++;
        lr++;
    }
    fwd_env_free(env);
    close(devnull);
    return rc;
}

/* Send an EXITS body (u32 count placeholder, then n pairs) and free it. */
static void
fwd_exits_send(fwd_t *d, fw_buf_t *b, uint32_t n)
{
    if (n > 0 && fw_buf_status(b) == FW_SUCCESS) {
        b->data[0] = (uint8_t)(n >> 24);
        b->data[1] = (uint8_t)(n >> 16);
        b->data[2] = (uint8_t)(n >> 8);
        b->data[3] = (uint8_t)n;
        fw_launch_tree_send(&d->tree, FW_LAUNCH_MSG_EXITS, FW_OOB_ID_ROOT,
                            b->data, b->len);
    }
    fw_buf_cleanup(b);
}

/* After a failed launch: ranks never started are done, status 127. */
static void
fwd_report_unstarted(fwd_t *d)
{
    uint32_t i, n = 0;
    fw_buf_t b;

    fw_buf_init(&b);
    fw_buf_put_u32(&b, 0);
    for (i = 0; i < d->nprocs; i++) {
        if (d->procs[i].started_pid != 0)
            continue;
        fw_buf_put_u32(&b, d->procs[i].rank);
        fw_buf_put_u32(&b, 127);
        n++;
    }
    fwd_exits_send(d, &b, n);
}

fw_status_t
fwd_procs_launch(fwd_t *d)
{
    char (*paths)[PATH_MAX] = NULL;
    fwd_bind_t b;
    fw_status_t rc;
    int node = fwd_my_node(d);
    uint32_t i;

    if (node < 0)
        return FW_SUCCESS;
    if (d->job.hosts[node].nprocs == 0) /* still takes part in fences */
        return fwd_modex_setup(d, node);
    d->nprocs = d->job.hosts[node].nprocs;
    d->procs = calloc(d->nprocs, sizeof(*d->procs));
    paths = calloc(d->job.napps, sizeof(*paths));
    if (d->procs == NULL || paths == NULL) {
        free(paths);
        return FW_ERR_NO_MEM;
    }
    for (i = 0; i < d->job.nprocs; i++)
        if (d->job.rank_node[i] == (uint32_t)node)
            d->procs[d->nlive++].rank = i; /* ascending: binary search */
    d->nlive = 0;
    for (i = 0; i < d->nprocs; i++)
        d->procs[i].out_fd = d->procs[i].err_fd = -1;
    /* -2: rank 0 is here and wants a stdin pipe */
    d->stdin_fd = (d->job.rank_node[0] == (uint32_t)node &&
                   !(d->job.flags & FW_LAUNCH_F_STDIN_NONE)) ? -2 : -1;
    rc = fwd_resolve_apps(d, node, paths);
    if (rc == FW_SUCCESS && fwd_modex_setup(d, node) != FW_SUCCESS) {
        fwd_send_fail(d, d->procs[0].rank, FW_LAUNCH_FAIL_EXEC,
                      "cannot set up the modex segment");
        rc = FW_ERR_SYSTEM;
    }
    if (rc == FW_SUCCESS && fwd_bind_setup(d, &b) != 0) {
        fwd_send_fail(d, d->job.apps[0].first, FW_LAUNCH_FAIL_EXEC,
                      "cannot read the hardware topology for --bind-to");
        rc = FW_ERR_SYSTEM;
    }
    FW_LOG_DEBUG("launch", "daemon: starting %u local ranks", d->nprocs);
    if (rc == FW_SUCCESS) {
        rc = fwd_start_ranks(d, node, paths, &b);
        FW_LOG_DEBUG("launch", "daemon: local ranks started (%s)",
                     fw_strerror(rc));
        if (b.topo != NULL)
            hwloc_topology_destroy(b.topo);
    }
    free(paths);
    if (d->stdin_fd == -2)
        d->stdin_fd = -1;
    if (rc != FW_SUCCESS)
        fwd_report_unstarted(d);
    return rc;
}

/****************/
/* Stdin        */
/****************/

/* Credit for fwrun's stdin reader: bytes taken by rank 0, or dropped. */
static void
fwd_stdin_ack(fwd_t *d, uint32_t n)
{
    uint8_t b[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
                    (uint8_t)n};

    fw_launch_tree_send(&d->tree, FW_LAUNCH_MSG_STDIN_ACK, FW_OOB_ID_ROOT, b,
                        sizeof(b));
}

static void
fwd_stdin_close(fwd_t *d)
{
    if (d->stdin_ev != NULL)
        event_free(d->stdin_ev);
    d->stdin_ev = NULL;
    if (d->stdin_buf != NULL) {
        if (evbuffer_get_length(d->stdin_buf) > 0)
            fwd_stdin_ack(d, (uint32_t)evbuffer_get_length(d->stdin_buf));
        evbuffer_free(d->stdin_buf);
    }
    d->stdin_buf = NULL;
    if (d->stdin_fd >= 0)
        close(d->stdin_fd);
    d->stdin_fd = -1;
}

static void
fwd_stdin_cb(evutil_socket_t fd, short what, void *arg)
{
    fwd_t *d = arg;
    int n = evbuffer_write(d->stdin_buf, fd);

    if (n > 0)
        fwd_stdin_ack(d, (uint32_t)n);

    if (n < 0 && errno != EAGAIN && errno != EINTR) {
        /* rank 0 closed its stdin: drop the rest, as a shell pipe would */
        fwd_stdin_close(d);
        return;
    }
    if (evbuffer_get_length(d->stdin_buf) > 0)
        event_add(d->stdin_ev, NULL);
    else if (d->stdin_eof)
        fwd_stdin_close(d);
}

void
fwd_procs_stdin(fwd_t *d, const void *data, size_t len)
{
    if (d->stdin_fd < 0) {
        if (len > 0)
            fwd_stdin_ack(d, (uint32_t)len); /* dropped: rank 0 is gone */
        return;
    }
    if (d->stdin_buf == NULL) {
        d->stdin_buf = evbuffer_new();
        d->stdin_ev = event_new(d->base, d->stdin_fd, EV_WRITE, fwd_stdin_cb,
                                d);
        if (d->stdin_buf == NULL || d->stdin_ev == NULL) {
            FW_LOG_WARN("launch", "rank 0 stdin: out of memory");
            fwd_stdin_close(d);
            return;
        }
    }
    if (len == 0)
        d->stdin_eof = 1;
    else if (evbuffer_add(d->stdin_buf, data, len) != 0)
        FW_LOG_WARN("launch", "rank 0 stdin: out of memory, input lost");
    event_add(d->stdin_ev, NULL);
}

/****************/
/* Exits, kills */
/****************/

static uint32_t
fwd_status_encode(int st)
{
    if (WIFSIGNALED(st))
        return FW_LAUNCH_STATUS_SIGNALED + (uint32_t)WTERMSIG(st);
    return (uint32_t)WEXITSTATUS(st);
}

static fwd_proc_t *
fwd_proc_by_pid(fwd_t *d, pid_t pid)
{
    uint32_t i;

    for (i = 0; i < d->nprocs; i++)
        if (d->procs[i].pid == pid)
            return &d->procs[i];
    return NULL;
}

static void
fwd_child_daemon_exit(fwd_t *d, pid_t pid, int st)
{
    uint32_t i, id;
    char text[300];

    for (i = 0; i < d->tree.nchildren; i++) {
        if (d->child_pids == NULL || d->child_pids[i] != pid)
            continue;
        d->child_pids[i] = 0;
        id = d->tree.first_child + i;
        if (d->shutting_down || (WIFEXITED(st) && WEXITSTATUS(st) == 0))
            return;
        snprintf(text, sizeof(text), "daemon on host %s exited with %s %d",
                 d->hosts[id], WIFSIGNALED(st) ? "signal" : "status",
                 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        fwd_send_fail(d, id, FW_LAUNCH_FAIL_DAEMON, text);
        return;
    }
}

/* Remove shm provider regions a dead rank could not (SIGKILL). Only
 * after our own endpoint is closed: libfabric 1.17's shm may look a
 * peer's region up again by name and crashes if it is gone. */
/* As with MPI: exiting 0 without fw_finalize aborts the job. */
static void
fwd_abort_unfinalized(fwd_t *d, fwd_proc_t *p)
{
    char text[384];

    snprintf(text, sizeof(text), "rank %u on host %s exited without "
             "calling fw_finalize; aborting the job", p->rank, d->hostname);
    fwd_send_fail(d, p->rank, FW_LAUNCH_FAIL_ABORT, text);
}

void
fwd_procs_reap(fwd_t *d)
{
    fw_buf_t b;
    uint32_t n = 0;
    fwd_proc_t *p;
    pid_t pid;
    int st;

    fw_buf_init(&b);
    fw_buf_put_u32(&b, 0); /* count, patched below */
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        p = fwd_proc_by_pid(d, pid);
        if (p == NULL) {
            fwd_child_daemon_exit(d, pid, st);
            continue;
        }
        /* output written before the exit goes first */
        if (p->out_fd >= 0 && fwd_iof_drain(p, 1, 0))
            fwd_iof_close(p, 1);
        if (p->err_fd >= 0 && fwd_iof_drain(p, 2, 0))
            fwd_iof_close(p, 2);
        fwd_iof_flush(p, 1);
        fwd_iof_flush(p, 2);
        if (p->unfinalized && st == 0 && !d->shutting_down)
            fwd_abort_unfinalized(d, p);
        fwd_modex_rank_gone(d, p->rank);
        p->pid = 0;
        d->nlive--;
        fw_buf_put_u32(&b, p->rank);
        fw_buf_put_u32(&b, fwd_status_encode(st));
        n++;
    }
    fwd_exits_send(d, &b, n);
    if (d->nlive == 0)
        fwd_maybe_exit(d);
}

void
fwd_procs_kill(fwd_t *d, int sig)
{
    uint32_t i;

    for (i = 0; i < d->nprocs; i++) {
        if (d->procs[i].pid <= 0)
            continue;
        /* the whole process group: the rank and what it started */
        if (kill(-d->procs[i].pid, sig) != 0)
            kill(d->procs[i].pid, sig);
    }
}

static void
fwd_kill_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    fwd_procs_kill(arg, SIGKILL);
}

void
fwd_procs_teardown(fwd_t *d)
{
    long ms = fw_param_get_long("FW_KILL_GRACE_MS", 0, 600000);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    fwd_procs_kill(d, SIGTERM);
    if (d->kill_timer == NULL)
        d->kill_timer = evtimer_new(d->base, fwd_kill_timer_cb, d);
    if (d->kill_timer != NULL)
        evtimer_add(d->kill_timer, &tv);
    else
        fwd_procs_kill(d, SIGKILL);
}

void
fwd_procs_cleanup(fwd_t *d)
{
    uint32_t i;

    for (i = 0; i < d->nprocs; i++) {
        fwd_proc_t *p = &d->procs[i];

        if (p->hello)
            fw_fab_shm_sweep(p->started_pid);
        if (p->hello && p->lib_pid > 0 && p->lib_pid != p->started_pid &&
            kill(p->lib_pid, 0) != 0 && errno == ESRCH)
            fw_fab_shm_sweep(p->lib_pid); /* started through a wrapper */
        if (p->out_ev != NULL)
            event_free(p->out_ev);
        if (p->err_ev != NULL)
            event_free(p->err_ev);
        if (p->out_fd >= 0)
            close(p->out_fd);
        if (p->err_fd >= 0)
            close(p->err_fd);
        free(p->obuf[1]);
        free(p->obuf[2]);
    }
    free(d->procs);
    d->procs = NULL;
    d->nprocs = 0;
    fwd_stdin_close(d);
}
