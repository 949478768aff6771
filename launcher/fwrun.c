/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fwrun: start the daemon tree (this host's daemon directly, the others
 * through the launch agent, as a tree), wait for every daemon to report,
 * broadcast the job, forward output/stdin/signals, collect exit statuses
 * and tear everything down so that nothing survives fwrun.
 *
 *   STARTING --all reported--> RUNNING --all exited--> SHUTDOWN --> exit
 *       \                          \--failure/signal/timeout--> TEARDOWN
 *        \--daemon failure/launch timeout-------------------> SHUTDOWN
 */
#define _GNU_SOURCE
#include "launcher/fwrun.h"
#include "fabric/fab.h"
#include "launcher/fwrun_dpm.h"
#include "launcher/fwrun_standby.h"
#include "dpm/dpm.h"
#include "launcher/spawn.h"
#include "common/log.h"
#include "common/param.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void fwrun_child_opened(fw_oob_conn_t *c, void *arg);
static void fwrun_child_msg(fw_oob_conn_t *c, const fw_oob_hdr_t *h,
                            const void *p, void *arg);
static void fwrun_child_closed(fw_oob_conn_t *c, fw_status_t why, void *arg);

static const struct fw_oob_conn_ops fwrun_child_ops = {
    fwrun_child_opened, fwrun_child_msg, fwrun_child_closed};

/* stdin bytes in flight to rank 0 before fwrun stops reading */
#define FWRUN_STDIN_WINDOW (1u << 20)

static const char *const fwrun_state_names[] = {"starting", "running",
                                                "teardown", "shutdown"};

/****************/
/* Small pieces */
/****************/

static void
fwrun_transition(fwrun_t *r, fwrun_state_t next)
{
    FW_LOG_DEBUG("launch", "fwrun: %s -> %s", fwrun_state_names[r->state],
                 fwrun_state_names[next]);
    r->state = next;
}


/* Record the job's exit status once: the first failure wins. */
static void
fwrun_fail(fwrun_t *r, int code)
{
    if (r->failed)
        return;
    r->failed = 1;
    r->exit_code = code;
}

static void
fwrun_bcast_u32(fwrun_t *r, uint8_t type, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};

    fw_launch_tree_send(&r->tree, type, FW_OOB_ID_BCAST, b, sizeof(b));
}

static void
fwrun_exit_cb(evutil_socket_t fd, short what, void *arg)
{
    fwrun_t *r = arg;

    /* child jobs outlive a parent that ended normally: wait for them
     * (their end re-runs fwrun_shutdown through the reaper) */
    if (fwrun_spawn_alive(r) > 0 && !r->failed)
        return;
    event_base_loopexit(r->base, NULL);
}

static uint32_t
fwrun_children_alive(const fwrun_t *r)
{
    uint32_t i, k = 0;

    /* a daemon whose agent left already (ssh -f) is alive while its
     * tree connection is */
    for (i = 0; i < r->tree.nchildren; i++)
        if (r->child_pids[i] > 0 || r->tree.children[i] != NULL)
            k++;
    return k;
}

/* SHUTDOWN: tell the daemons, leave once our direct children are gone. */
static void
fwrun_shutdown(fwrun_t *r)
{
    struct timeval now = {0, 0}, cap = {3, 0};
    uint32_t i;

    if (r->state != FWRUN_SHUTDOWN) {
        fwrun_transition(r, FWRUN_SHUTDOWN);
        fwrun_standby_stop(r, 0);
        fw_launch_tree_send(&r->tree, FW_LAUNCH_MSG_SHUTDOWN, FW_OOB_ID_BCAST,
                            NULL, 0);
        /* a child with no connection (not up yet, or lost) cannot be
         * told: stop it now rather than wait out the cap */
        for (i = 0; i < r->tree.nchildren; i++)
            if (r->child_pids[i] > 0 && r->tree.children[i] == NULL)
                fw_launch_daemon_kill(r->child_pids[i], SIGTERM);
        if (r->exit_timer == NULL)
            r->exit_timer = evtimer_new(r->base, fwrun_exit_cb, r);
        if (r->exit_timer == NULL) {
            event_base_loopexit(r->base, NULL);
            return;
        }
        evtimer_add(r->exit_timer, &cap);
    }
    if (fwrun_children_alive(r) == 0 && fwrun_spawn_alive(r) == 0)
        evtimer_add(r->exit_timer, &now);
}

static void
fwrun_kill_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    fwrun_shutdown(arg);
}

/* TEARDOWN: kill every rank (TERM, then KILL), then shut down. */
static void
fwrun_teardown(fwrun_t *r)
{
    long ms = fw_param_get_long("FW_KILL_GRACE_MS", 0, 600000) + 1500;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (r->state == FWRUN_STARTING) {
        fwrun_shutdown(r);
        return;
    }
    if (r->state != FWRUN_RUNNING)
        return;
    fwrun_transition(r, FWRUN_TEARDOWN);
    fwrun_bcast_u32(r, FW_LAUNCH_MSG_KILL, 0);
    fwrun_spawn_kill(r, SIGTERM); /* a killed parent takes its children */
    /* a daemon that cannot kill its ranks must not hold us forever */
    r->kill_timer = evtimer_new(r->base, fwrun_kill_timer_cb, r);
    if (r->kill_timer == NULL || evtimer_add(r->kill_timer, &tv) != 0)
        fwrun_shutdown(r);
}

static void
fwrun_rank_done(fwrun_t *r, uint32_t rank)
{
    if (rank >= r->job.nprocs || r->rank_done[rank])
        return;
    r->rank_done[rank] = 1;
    r->nexited++;
    if (r->nexited == r->job.nprocs) {
        fwrun_standby_stop(r, 0); /* no spawn can come any more */
        fwrun_dpm_job_ended(r);
        /* our daemons relay the child jobs' processes on their hosts:
         * they stay until those end (fwrun_reap then shuts down) */
        if (fwrun_spawn_alive(r) == 0 || r->failed)
            fwrun_shutdown(r);
    }
}

/* A daemon and its whole subtree are gone: so are their ranks. */
static void
fwrun_daemon_lost(fwrun_t *r, uint32_t id)
{
    uint32_t i, rank, d;

    for (i = 0; i < r->job.nhosts; i++) {
        for (d = r->job.hosts[i].daemon_id; d != 0 && d != id;)
            d = fw_oob_route_parent(d, r->tree.fanout);
        if (d != id)
            continue;
        r->lost[r->job.hosts[i].daemon_id] = 1;
        for (rank = 0; rank < r->job.nprocs; rank++)
            if (r->job.rank_node[rank] == i)
                fwrun_spawn_rank_ended(r, rank);
        fwrun_rank_done(r, rank);
    }
}

/****************/
/* Messages     */
/****************/

static fw_status_t
fwrun_modex_to_all(void *arg, uint8_t type, const void *p, size_t len)
{
    fwrun_t *r = arg;

    return fw_launch_tree_send(&r->tree, type, FW_OOB_ID_BCAST, p, len);
}

static fw_status_t
fwrun_modex_none(void *arg, uint32_t rank, uint8_t type, const void *p,
                 size_t len)
{
    return FW_ERR_UNREACHABLE;
}

static const struct fw_modex_server_ops fwrun_modex_ops = {
    fwrun_modex_none, NULL, fwrun_modex_to_all};

/* With one daemon, it is the fence root itself; otherwise fwrun is. */
static fw_status_t
fwrun_modex_setup(fwrun_t *r)
{
    fw_modex_server_params_t sp;

    if (r->ndaemons <= 2)
        return FW_SUCCESS;
    memset(&sp, 0, sizeof(sp));
    sp.nchildren = r->tree.nchildren;
    sp.is_root = 1;
    sp.mode = getenv("FW_MODEX_MODE") != NULL &&
                      strcmp(getenv("FW_MODEX_MODE"), "allgather") == 0
                  ? FW_MODEX_MODE_ALLGATHER : FW_MODEX_MODE_ONESIDED;
    return fw_modex_server_create(&sp, &fwrun_modex_ops, r, &r->modex);
}

static void
fwrun_launch(fwrun_t *r)
{
    fw_buf_t b;
    double ms = (double)(fw_time_ns() - r->t_start) / 1e6;
    struct timeval tv = {r->opt.timeout_s, 0};

    if (r->opt.verbose)
        fprintf(stderr, "fwrun: %u daemon%s reported in %.2f ms (fan-out %u, "
                "tree depth %u)\n", r->ndaemons - 1,
                r->ndaemons == 2 ? "" : "s", ms, r->tree.fanout,
                fw_oob_route_depth(r->ndaemons - 1, r->tree.fanout));
    if (r->launch_timer != NULL)
        evtimer_del(r->launch_timer);
    fw_buf_init(&b);
    fw_launch_job_pack(&r->job, &b);
    if (fw_buf_status(&b) != FW_SUCCESS) {
        fprintf(stderr, "fwrun: out of memory building the launch message\n");
        fwrun_fail(r, FWRUN_EXIT_ERROR);
        fw_buf_cleanup(&b);
        fwrun_shutdown(r);
        return;
    }
    if (fwrun_modex_setup(r) != FW_SUCCESS) {
        fprintf(stderr, "fwrun: out of memory setting up the modex\n");
        fwrun_fail(r, FWRUN_EXIT_ERROR);
        fw_buf_cleanup(&b);
        fwrun_shutdown(r);
        return;
    }
    fwrun_transition(r, FWRUN_RUNNING);
    fw_launch_tree_send(&r->tree, FW_LAUNCH_MSG_LAUNCH, FW_OOB_ID_BCAST,
                        b.data, b.len);
    fw_buf_cleanup(&b);
    if (r->stdin_ev != NULL && r->stdin_file)
        event_active(r->stdin_ev, EV_READ, 0);
    else if (r->stdin_ev != NULL)
        event_add(r->stdin_ev, NULL);
    if (r->opt.timeout_s > 0 && r->job_timer != NULL)
        evtimer_add(r->job_timer, &tv);
}

static void
fwrun_on_report(fwrun_t *r, const void *p, size_t len)
{
    fw_rbuf_t rb;
    uint32_t id;

    fw_rbuf_init(&rb, p, len);
    id = fw_rbuf_get_u32(&rb);
    if (id == 0 || id >= r->ndaemons || r->reported[id])
        return;
    r->reported[id] = 1;
    r->nreported++;
    FW_LOG_DEBUG("launch", "daemon %u on %s reported", id, r->dhosts[id]);
    if (r->nreported == r->ndaemons - 1 && r->state == FWRUN_STARTING)
        fwrun_launch(r);
}

/* Why the job ends: a rank's failure (named as a spawned job's, if so). */
static void
fwrun_say_rank_end(const fwrun_t *r, uint32_t rank, uint32_t st, int code)
{
    const char *host = r->job.hosts[r->job.rank_node[rank]].name;
    char who[FW_JOBID_MAX + 16] = "";

    if (r->spawned) /* not the user's own job */
        snprintf(who, sizeof(who), "spawned job %s: ", r->job.jobid);
    if (st >= FW_LAUNCH_STATUS_SIGNALED)
        fprintf(stderr, "fwrun: %srank %u on host %s was killed by signal "
                "%u (%s); terminating the job\n", who, rank, host,
                st - FW_LAUNCH_STATUS_SIGNALED,
                strsignal((int)(st - FW_LAUNCH_STATUS_SIGNALED)));
    else
        fprintf(stderr, "fwrun: %srank %u on host %s exited with status %d; "
                "terminating the job\n", who, rank, host, code);
}

static void
fwrun_on_exits(fwrun_t *r, const void *p, size_t len)
{
    uint32_t n, i, rank, st;
    fw_rbuf_t rb;
    int code;

    fw_rbuf_init(&rb, p, len);
    n = fw_rbuf_get_u32(&rb);
    for (i = 0; i < n && !rb.err; i++) {
        rank = fw_rbuf_get_u32(&rb);
        st = fw_rbuf_get_u32(&rb);
        if (rb.err || rank >= r->job.nprocs)
            break;
        if (r->rank_done[rank])
            continue;
        code = st >= FW_LAUNCH_STATUS_SIGNALED
                   ? 128 + (int)(st - FW_LAUNCH_STATUS_SIGNALED) : (int)st;
        if (code != 0 && r->state == FWRUN_RUNNING && !r->failed) {
            fwrun_say_rank_end(r, rank, st, code);
            fwrun_fail(r, code);
            fwrun_teardown(r);
        }
        fwrun_rank_done(r, rank);
    }
}

static void
fwrun_on_fail(fwrun_t *r, const void *p, size_t len)
{
    fw_rbuf_t rb;
    uint32_t id, what;
    char *text;

    fw_rbuf_init(&rb, p, len);
    id = fw_rbuf_get_u32(&rb);
    what = fw_rbuf_get_u32(&rb);
    text = fw_rbuf_get_str(&rb, 4096);
    if (r->state != FWRUN_SHUTDOWN || what == FW_LAUNCH_FAIL_ABORT)
        fprintf(stderr, "fwrun: %s\n", text != NULL ? text : "failure");
    free(text);
    if (what == FW_LAUNCH_FAIL_EXEC) {
        fwrun_fail(r, FWRUN_EXIT_NOEXEC);
        fwrun_rank_done(r, id);
    } else {
        fwrun_fail(r, FWRUN_EXIT_ERROR);
        if (id < r->ndaemons)
            fwrun_daemon_lost(r, id);
    }
    fwrun_teardown(r);
}

/* Our stdout or stderr is gone (EPIPE, as in 'fwrun ... | head'): end
 * the job quietly with 128+SIGPIPE, as a pipeline's writer would end,
 * instead of running on with nowhere to write. */
static void
fwrun_iof_broken(fwrun_t *r)
{
    if (errno != EPIPE || r->failed)
        return; /* other errors: nothing sensible to do */
    fwrun_fail(r, 128 + SIGPIPE);
    fwrun_teardown(r);
}

static void
fwrun_on_iof(fwrun_t *r, const void *p, size_t len)
{
    const char *data, *nl, *end;
    char tag[96];
    size_t n = 0;
    fw_rbuf_t rb;
    uint32_t rank;
    int stream;

    fw_rbuf_init(&rb, p, len);
    rank = fw_rbuf_get_u32(&rb);
    stream = fw_rbuf_get_u8(&rb) == 2 ? 2 : 1;
    data = fw_rbuf_get_blob(&rb, len, &n);
    if (data == NULL || n == 0)
        return;
    if (!(r->job.flags & FW_LAUNCH_F_TAG_OUTPUT)) {
        if (fwrun_out_write(stream, data, n) != 0)
            fwrun_iof_broken(r);
        return;
    }
    snprintf(tag, sizeof(tag), "[%s,%u]<%s>: ", r->job.jobid, rank,
             stream == 1 ? "stdout" : "stderr");
    for (end = data + n; data < end; data = nl) {
        nl = memchr(data, '\n', (size_t)(end - data));
        nl = nl != NULL ? nl + 1 : end;
        /* a last line without newline (the rank exited) still ends
         * here, so that the next tag starts a line */
        if (fwrun_out_write(stream, tag, strlen(tag)) != 0 ||
            fwrun_out_write(stream, data, (size_t)(nl - data)) != 0 ||
            (nl[-1] != '\n' && fwrun_out_write(stream, "\n", 1) != 0)) {
            fwrun_iof_broken(r);
            return;
        }
    }
}

static void fwrun_on_stdin_ack(fwrun_t *r, const void *p, size_t len);

static void
fwrun_handle(fwrun_t *r, const fw_oob_hdr_t *h, const void *p)
{
    switch (h->type) {
    case FW_LAUNCH_MSG_REPORT:
        fwrun_on_report(r, p, h->len);
        break;
    case FW_LAUNCH_MSG_EXITS:
        fwrun_on_exits(r, p, h->len);
        break;
    case FW_LAUNCH_MSG_FAIL:
        fwrun_on_fail(r, p, h->len);
        break;
    case FW_LAUNCH_MSG_IOF:
        fwrun_on_iof(r, p, h->len);
        break;
    case FW_LAUNCH_MSG_STDIN_ACK:
        fwrun_on_stdin_ack(r, p, h->len);
        break;
    case FW_DPM_MSG_REQ:
        fwrun_dpm_msg(r, h, p);
        break;
    case FW_MODEX_MSG_FENCE_UP:
        if (r->modex == NULL ||
            fw_modex_server_tree_msg(r->modex, h->type, p, h->len) !=
                FW_SUCCESS) {
            fprintf(stderr, "fwrun: bad fence message from daemon %u\n",
                    h->src);
            fwrun_fail(r, FWRUN_EXIT_ERROR);
            fwrun_teardown(r);
        }
        break;
    default:
        FW_LOG_DEBUG("launch", "fwrun: ignoring message %u from %u", h->type,
                     h->src);
    }
}

/****************/
/* Connections  */
/****************/

/* A daemon connected (c, in its tree slot): send it CONFIG. */
static void
fwrun_daemon_opened(fwrun_t *r, fw_oob_conn_t *c)
{
    uint32_t id = fw_oob_conn_peer_id(c);
    fw_launch_config_t cfg;
    fw_buf_t b;

    memset(&cfg, 0, sizeof(cfg));
    cfg.ndaemons = r->ndaemons;
    cfg.fanout = r->tree.fanout;
    cfg.jobid = r->job.jobid;
    cfg.agent = r->opt.agent;
    cfg.fwd_path = r->fwd_path;
    cfg.flags = r->opt.verbose ? FW_LAUNCH_CFG_VERBOSE : 0;
    cfg.hosts = r->dhosts;
    cfg.provider = (char *)r->opt.provider;
    fw_buf_init(&b);
    fw_launch_config_pack(&cfg, &b);
    if (fw_buf_status(&b) != FW_SUCCESS ||
        fw_oob_send(c, FW_LAUNCH_MSG_CONFIG, 0, id, b.data, b.len) !=
            FW_SUCCESS) {
        fprintf(stderr, "fwrun: cannot configure the daemon on %s\n",
                r->dhosts[id]);
        fwrun_fail(r, FWRUN_EXIT_ERROR);
        fwrun_teardown(r);
    }
    fw_buf_cleanup(&b);
}

static void
fwrun_child_opened(fw_oob_conn_t *c, void *arg)
{
    fwrun_t *r = arg;
    uint32_t id = fw_oob_conn_peer_id(c);
    fw_oob_conn_t **slot;

    if (fwrun_standby_conn_opened(r, c))
        return; /* we are a standby: our daemon, for later */
    if (fw_oob_conn_peer_kind(c) == FW_OOB_PEER_TOOL && r->dpm != NULL) {
        fwrun_dpm_tool_opened(r, c); /* a child job's fwrun */
        return;
    }
    slot = fw_launch_tree_child_slot(&r->tree, id);
    if (fw_oob_conn_peer_kind(c) != FW_OOB_PEER_DAEMON || slot == NULL ||
        *slot != NULL || r->state == FWRUN_SHUTDOWN) {
        FW_LOG_WARN("launch", "fwrun: unexpected peer %u from %s", id,
                    fw_oob_conn_peer_name(c));
        fw_oob_conn_close(c);
        return;
    }
    *slot = c;
    fwrun_daemon_opened(r, c);
}

static void
fwrun_child_msg(fw_oob_conn_t *c, const fw_oob_hdr_t *h, const void *p,
                void *arg)
{
    fwrun_t *r = arg;

    if (fwrun_standby_owns(r, c))
        return;
    if (fw_oob_conn_peer_kind(c) == FW_OOB_PEER_TOOL) {
        fwrun_dpm_tool_msg(r, c, h, p);
        return;
    }
    if (fw_launch_tree_route(&r->tree, h, p))
        fwrun_handle(r, h, p);
}

static void
fwrun_child_closed(fw_oob_conn_t *c, fw_status_t why, void *arg)
{
    fwrun_t *r = arg;
    uint32_t id = fw_oob_conn_peer_id(c);
    fw_oob_conn_t **slot;

    if (fwrun_standby_conn_closed(r, c))
        return;
    slot = fw_launch_tree_child_slot(&r->tree, id);
    if (fw_oob_conn_peer_kind(c) == FW_OOB_PEER_TOOL) {
        if (r->dpm != NULL)
            fwrun_dpm_tool_closed(r, c);
        return;
    }
    if (slot == NULL || *slot != c)
        return;
    *slot = NULL;
    if (r->state == FWRUN_SHUTDOWN) {
        fwrun_shutdown(r); /* maybe the last daemon we waited for */
        return;
    }
    fprintf(stderr, "fwrun: lost connection to the daemon on host %s\n",
            r->dhosts[id]);
    fwrun_fail(r, FWRUN_EXIT_ERROR);
    fwrun_daemon_lost(r, id);
    fwrun_teardown(r);
}

/****************/
/* Events       */
/****************/

/* Started without an agent (hosts[0] need not be daemon 1). */
static int
fwrun_daemon_is_local(const fwrun_t *r, uint32_t id)
{
    uint32_t h;

    for (h = 0; h < r->job.nhosts; h++)
        if (r->job.hosts[h].daemon_id == id)
            return r->job.hosts[h].is_local;
    return 0;
}

/*
 * The launch agent of daemon id exited after its daemon reported (ssh -f,
 * an agent that backgrounds the daemon): not the daemon's death, which
 * its tree connection tells. 1 if so; 0 if the exit is the daemon's
 * (this host's fwd, exec'd without an agent) or came before its REPORT.
 */
static int
fwrun_agent_gone(const fwrun_t *r, uint32_t id, int st)
{
    if (fwrun_daemon_is_local(r, id))
        return 0;
    /* before REPORT only a clean exit is no failure (ssh -f leaves as
     * soon as the daemon runs): the launch timeout covers a daemon that
     * never reports */
    if (!r->reported[id] && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        return 0;
    FW_LOG_DEBUG("launch", "the launch agent of the daemon on %s exited "
                 "with %s %d; its tree connection %s", r->dhosts[id],
                 WIFSIGNALED(st) ? "signal" : "status",
                 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
                 r->tree.children[id - r->tree.first_child] != NULL
                     ? "stays open" : "is gone");
    return 1;
}

static void
fwrun_reap(fwrun_t *r)
{
    uint32_t i, id;
    pid_t pid;
    int st, failed;

    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        if (fwrun_spawn_reaped(r, pid, st, &failed)) {
            if (failed != 0) {
                fwrun_fail(r, failed);
                fwrun_teardown(r);
            }
            continue;
        }
        for (i = 0; i < r->tree.nchildren; i++) {
            if (r->child_pids[i] != pid)
                continue;
            r->child_pids[i] = 0;
            id = r->tree.first_child + i;
            /* a daemon killed outright leaves its shm provider region */
            if (WIFSIGNALED(st) && fwrun_daemon_is_local(r, id))
                fw_fab_shm_sweep(pid);
            if (r->state == FWRUN_SHUTDOWN || r->lost[id])
                break;
            if (fwrun_agent_gone(r, id, st))
                break;
            if (!r->reported[id])
                fprintf(stderr, "fwrun: cannot start the daemon on host %s: "
                        "%s exited with %s %d\n", r->dhosts[id],
                        fwrun_daemon_is_local(r, id) ? "fwd"
                                                     : "launch agent",
                        WIFSIGNALED(st) ? "signal" : "status",
                        WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
            else
                fprintf(stderr, "fwrun: the daemon on host %s died\n",
                        r->dhosts[id]);
            fwrun_fail(r, FWRUN_EXIT_ERROR);
            fwrun_daemon_lost(r, id);
            fwrun_teardown(r);
            break;
        }
    }
    if (r->state == FWRUN_SHUTDOWN)
        fwrun_shutdown(r);
    else if (r->state == FWRUN_RUNNING && r->nexited == r->job.nprocs &&
             fwrun_spawn_alive(r) == 0)
        fwrun_shutdown(r); /* the last child job that kept us up ended */
}

static void
fwrun_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    fwrun_t *r = arg;

    switch (sig) {
    case SIGCHLD:
        fwrun_reap(r);
        return;
    case SIGUSR1:
    case SIGUSR2:
        if (r->state == FWRUN_RUNNING)
            fwrun_bcast_u32(r, FW_LAUNCH_MSG_SIGNAL, (uint32_t)sig);
        return;
    default:
        break;
    }
    if (++r->nsignals == 1) {
        if (r->spawned && sig == SIGTERM) /* PDEATHSIG, or the parent's
                                             teardown */
            fprintf(stderr, "fwrun: spawned job %s: got SIGTERM, as when "
                    "its parent job stops; terminating it\n", r->job.jobid);
        else if (r->spawned) /* e.g. Ctrl-C reaches the whole group */
            fprintf(stderr, "fwrun: spawned job %s: caught %s; terminating "
                    "it\n", r->job.jobid, strsignal((int)sig));
        else
            fprintf(stderr, "fwrun: caught %s; terminating the job\n",
                    strsignal((int)sig));
        fwrun_fail(r, 128 + (int)sig);
        fwrun_teardown(r);
    } else {
        /* second signal: no more grace */
        fwrun_bcast_u32(r, FW_LAUNCH_MSG_KILL, SIGKILL);
        fwrun_shutdown(r);
    }
}

static void
fwrun_launch_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    fwrun_t *r = arg;
    char missing[512] = "";
    size_t off = 0;
    uint32_t id;

    if (r->state != FWRUN_STARTING)
        return;
    for (id = 1; id < r->ndaemons && off < sizeof(missing) - 64; id++)
        if (!r->reported[id])
            off += (size_t)snprintf(missing + off, sizeof(missing) - off,
                                    "%s%s", off ? ", " : "", r->dhosts[id]);
    fprintf(stderr, "fwrun: daemons on %s did not report within %ld ms\n",
            missing, fw_param_get_long("FW_LAUNCH_TIMEOUT_MS", 1, 86400000));
    fwrun_fail(r, FWRUN_EXIT_ERROR);
    fwrun_shutdown(r);
}

static void
fwrun_job_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    fwrun_t *r = arg;

    fprintf(stderr, "fwrun: job timed out after %d s; terminating it\n",
            r->opt.timeout_s);
    fwrun_fail(r, FWRUN_EXIT_TIMEOUT);
    fwrun_teardown(r);
}

static void
fwrun_stdin_cb(evutil_socket_t fd, short what, void *arg)
{
    fwrun_t *r = arg;
    uint8_t buf[4 + 16384];
    ssize_t n;

    n = read(0, buf + 4, sizeof(buf) - 4);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n < 0)
        n = 0;
    memset(buf, 0, 4);
    fw_launch_tree_send(&r->tree, FW_LAUNCH_MSG_STDIN,
                        r->job.hosts[r->job.rank_node[0]].daemon_id, buf,
                        (size_t)n + 4);
    r->stdin_unacked += (uint64_t)n;
    if (n == 0) {
        r->stdin_eof = 1;
        event_del(r->stdin_ev);
    } else if (r->stdin_unacked >= FWRUN_STDIN_WINDOW) {
        /* rank 0 is not keeping up: stop reading until it does */
        r->stdin_paused = 1;
        event_del(r->stdin_ev);
    } else if (r->stdin_file) {
        event_active(r->stdin_ev, EV_READ, 0); /* files are always ready */
    }
}

static void
fwrun_on_stdin_ack(fwrun_t *r, const void *p, size_t len)
{
    fw_rbuf_t rb;
    uint32_t n;

    fw_rbuf_init(&rb, p, len);
    n = fw_rbuf_get_u32(&rb);
    if (rb.err)
        return;
    r->stdin_unacked = n > r->stdin_unacked ? 0 : r->stdin_unacked - n;
    if (r->stdin_paused && !r->stdin_eof &&
        r->stdin_unacked < FWRUN_STDIN_WINDOW / 2) {
        r->stdin_paused = 0;
        if (r->stdin_file)
            event_active(r->stdin_ev, EV_READ, 0);
        else
            event_add(r->stdin_ev, NULL);
    }
}

/****************/
/* Setup        */
/****************/

static fw_status_t
fwrun_events(fwrun_t *r)
{
    static const int sigs[7] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP,
                                SIGUSR1, SIGUSR2, SIGQUIT};
    long ms = fw_param_get_long("FW_LAUNCH_TIMEOUT_MS", 1, 86400000);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    int i;

    for (i = 0; i < 7; i++) {
        r->sig_ev[i] = evsignal_new(r->base, sigs[i], fwrun_signal_cb, r);
        if (r->sig_ev[i] == NULL || evsignal_add(r->sig_ev[i], NULL) != 0)
            return FW_ERR_SYSTEM;
    }
    r->launch_timer = evtimer_new(r->base, fwrun_launch_timeout_cb, r);
    r->job_timer = evtimer_new(r->base, fwrun_job_timeout_cb, r);
    if (r->launch_timer == NULL || r->job_timer == NULL ||
        evtimer_add(r->launch_timer, &tv) != 0)
        return FW_ERR_SYSTEM;
    if (!(r->job.flags & FW_LAUNCH_F_STDIN_NONE)) {
        struct stat st;

        /* epoll refuses regular files and /dev/null: read those on our
         * own, one chunk per loop turn */
        r->stdin_file = fstat(0, &st) == 0 &&
                        (S_ISREG(st.st_mode) ||
                         (S_ISCHR(st.st_mode) && !isatty(0)));
        r->stdin_ev = r->stdin_file
                          ? event_new(r->base, -1, 0, fwrun_stdin_cb, r)
                          : event_new(r->base, 0, EV_READ | EV_PERSIST,
                                      fwrun_stdin_cb, r);
        if (r->stdin_ev == NULL)
            return FW_ERR_NO_MEM;
    }
    return FW_SUCCESS;
}

static fw_status_t
fwrun_start_daemons(fwrun_t *r, fw_error_t *err)
{
    fw_launch_daemon_spec_t spec;
    uint32_t i, id, h;
    fw_status_t rc;

    for (i = 0; i < r->tree.nchildren; i++) {
        id = r->tree.first_child + i;
        if (r->child_pids[i] > 0)
            continue; /* the standby's daemon, adopted */
        for (h = 0; h < r->job.nhosts; h++)
            if (r->job.hosts[h].daemon_id == id)
                break;
        memset(&spec, 0, sizeof(spec));
        spec.agent = r->opt.agent;
        spec.host = r->dhosts[id];
        spec.local = r->job.hosts[h].is_local;
        spec.fwd_path = r->fwd_path;
        spec.parent_uri = fw_oob_listener_uri(r->listener);
        spec.jobid = r->job.jobid;
        spec.id = id;
        spec.secret_hex = r->secret_hex;
        rc = fw_launch_daemon_start(&spec, &r->child_pids[i], err);
        if (rc != FW_SUCCESS) {
            fw_errprepend(err, "cannot start the daemon on host %s",
                          r->dhosts[id]);
            return rc;
        }
    }
    return FW_SUCCESS;
}

/* fwd lives next to fwrun (build tree or install prefix). */
static int
fwrun_find_fwd(fwrun_t *r)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    const char *env = getenv("FW_FWD_PATH");
    char *slash;

    if (env != NULL && env[0] != '\0') {
        snprintf(r->fwd_path, sizeof(r->fwd_path), "%s", env);
        return 0;
    }
    if (n <= 0)
        return -1;
    self[n] = '\0';
    slash = strrchr(self, '/');
    if (slash == NULL || (size_t)(slash - self) + 5 > sizeof(r->fwd_path))
        return -1;
    memcpy(r->fwd_path, self, (size_t)(slash - self));
    memcpy(r->fwd_path + (slash - self), "/fwd", 5);
    return access(r->fwd_path, X_OK);
}

static fw_status_t
fwrun_setup(fwrun_t *r, fw_error_t *err)
{
    char uri[FW_OOB_URI_MAX];
    uint32_t fanout = r->opt.fanout;
    fw_oob_conn_t *conn = NULL;
    fw_status_t rc;

    if (fanout == 0)
        fanout = (uint32_t)fw_param_get_long("FW_OOB_FANOUT", 1, 1024);
    if (r->base == NULL) /* a standby has its own already */
        r->base = event_base_new();
    r->reported = calloc(r->ndaemons, 1);
    r->lost = calloc(r->ndaemons, 1);
    r->rank_done = calloc(r->job.nprocs, 1);
    if (r->base == NULL || r->reported == NULL || r->lost == NULL ||
        r->rank_done == NULL)
        return FW_ERR_NO_MEM;
    rc = fw_launch_tree_init(&r->tree, 0, fanout, r->ndaemons);
    if (rc != FW_SUCCESS)
        return rc;
    r->child_pids = calloc(r->tree.nchildren, sizeof(*r->child_pids));
    if (r->child_pids == NULL)
        return FW_ERR_NO_MEM;
    rc = fwrun_events(r);
    if (rc != FW_SUCCESS) {
        fw_errprintf(err, "cannot set up signal handling");
        return rc;
    }
    (void)fwrun_standby_adopt(r, &conn);
    snprintf(uri, sizeof(uri), "tcp://%s:0", r->adv_addr);
    rc = r->listener != NULL ? FW_SUCCESS
                             : fw_oob_listen(r->base, uri, r->secret,
                                             &fwrun_child_ops, r,
                                             &r->listener, err);
    if (rc == FW_SUCCESS)
        rc = fwrun_dpm_setup(r, err);
    if (rc != FW_SUCCESS)
        return rc;
    if (conn != NULL) { /* the standby's daemon, connected already */
        *fw_launch_tree_child_slot(&r->tree, 1) = conn;
        fwrun_daemon_opened(r, conn);
    }
    return fwrun_start_daemons(r, err);
}

static void
fwrun_cleanup(fwrun_t *r)
{
    uint32_t i;
    int k;

    fwrun_standby_cleanup(r);
    for (i = 0; r->child_pids != NULL && i < r->tree.nchildren; i++) {
        if (r->child_pids[i] > 0) {
            fw_launch_daemon_kill(r->child_pids[i], SIGKILL);
            waitpid(r->child_pids[i], NULL, 0);
        }
    }
    fwrun_dpm_cleanup(r);
    fw_modex_server_destroy(r->modex);
    fw_launch_tree_cleanup(&r->tree);
    fw_oob_listener_destroy(r->listener);
    for (k = 0; k < 7; k++)
        if (r->sig_ev[k] != NULL)
            event_free(r->sig_ev[k]);
    if (r->launch_timer != NULL)
        event_free(r->launch_timer);
    if (r->job_timer != NULL)
        event_free(r->job_timer);
    if (r->kill_timer != NULL)
        event_free(r->kill_timer);
    if (r->exit_timer != NULL)
        event_free(r->exit_timer);
    if (r->stdin_ev != NULL)
        event_free(r->stdin_ev);
    if (r->base != NULL)
        event_base_free(r->base);
    free(r->child_pids);
    free(r->reported);
    free(r->lost);
    free(r->rank_done);
    fw_launch_strv_free(r->dhosts);
    fw_launch_strv_free(r->opt.agent);
    free(r->opt.app_hosts);
    fw_launch_job_cleanup(&r->job);
}

/* Keep fds 0-2 valid so pipes and sockets never land on them. */
static void
fwrun_std_fds(void)
{
    int fd;

    while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0 && fd <= 2)
        fcntl(fd, F_SETFD, 0);
    if (fd > 2)
        close(fd);
}

static fw_status_t
fwrun_identity(fwrun_t *r)
{
    uint16_t rnd = 0;

    if (fw_random_bytes(r->secret, sizeof(r->secret)) != FW_SUCCESS ||
        fw_random_bytes(&rnd, sizeof(rnd)) != FW_SUCCESS)
        return FW_ERR_SYSTEM;
    fw_hex_encode(r->secret, sizeof(r->secret), r->secret_hex);
    snprintf(r->job.jobid, sizeof(r->job.jobid), "fw%d.%04x", (int)getpid(),
             rnd);
    /* a spawned job: <parent jobid>.<n>, given by the parent's fwrun */
    if (getenv("FW_SPAWN_JOBID") != NULL &&
        strlen(getenv("FW_SPAWN_JOBID")) < sizeof(r->job.jobid) &&
        strchr(getenv("FW_SPAWN_JOBID"), ':') == NULL) {
        snprintf(r->job.jobid, sizeof(r->job.jobid), "%s",
                 getenv("FW_SPAWN_JOBID"));
        r->spawned = 1;
    }
    unsetenv("FW_SPAWN_JOBID");
    return FW_SUCCESS;
}

/*
 * fwrun --standby (fwrun_standby.c): listen, start the local daemon and
 * wait for the command line. -1: it came (*argc_p, *argv_p), go on as a
 * child fwrun; else the exit code.
 */
static int
fwrun_standby_phase(fwrun_t *r, int *argc_p, char ***argv_p)
{
    fw_error_t err;
    fw_status_t st;
    char *up;

    memset(&err, 0, sizeof(err));
    if (fwrun_find_fwd(r) != 0 || fwrun_identity(r) != FW_SUCCESS) {
        fprintf(stderr, "fwrun: cannot find the fwd daemon next to fwrun\n");
        return FWRUN_EXIT_ERROR;
    }
    /* the name service contact is ours alone: kept from the daemon
     * started now, given back for fwrun_dpm_setup (which drops it) */
    up = getenv("FW_NS_UPSTREAM") != NULL ? strdup(getenv("FW_NS_UPSTREAM"))
                                          : NULL;
    if (getenv("FW_NS_UPSTREAM") != NULL && up == NULL)
        return FWRUN_EXIT_ERROR;
    unsetenv("FW_NS_UPSTREAM");
    r->base = event_base_new();
    st = r->base == NULL ? FW_ERR_NO_MEM
                         : fw_oob_listen(r->base, "tcp://127.0.0.1:0",
                                         r->secret, &fwrun_child_ops, r,
                                         &r->listener, &err);
    if (st == FW_SUCCESS)
        st = fwrun_standby_wait(r, argc_p, argv_p, &err);
    if (st == FW_SUCCESS && up != NULL &&
        setenv("FW_NS_UPSTREAM", up, 1) != 0)
        st = FW_ERR_NO_MEM;
    free(up);
    if (st == FW_SUCCESS)
        return -1;
    if (st == FW_ERR_CONN_CLOSED)
        return 0; /* not needed after all */
    fprintf(stderr, "fwrun: standby: %s\n", err.text);
    return FWRUN_EXIT_ERROR;
}

int
main(int argc, char **argv)
{
    fwrun_t r;
    fw_error_t err;
    fw_status_t st;
    int rc, standby = argc == 4 && strcmp(argv[1], "--standby") == 0 &&
                      getenv("FW_SPAWN_JOBID") != NULL;

    memset(&r, 0, sizeof(r));
    memset(&err, 0, sizeof(err));
    fw_log_set_progname("fwrun");
    FW_LOG_DEBUG("launch", "fwrun: started");
    fwrun_std_fds();
    signal(SIGPIPE, SIG_IGN);
    if (standby && (rc = fwrun_standby_phase(&r, &argc, &argv)) >= 0) {
        fwrun_cleanup(&r);
        return rc;
    }
    r.t_start = fw_time_ns();
    rc = fwrun_cli_parse(&r, argc, argv, &err);
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "fwrun: %s\n", err.text);
        fwrun_cleanup(&r);
        return rc < 0 ? FWRUN_EXIT_USAGE : 0;
    }
    if (r.opt.agent == NULL) {
        r.opt.agent = calloc(2, sizeof(char *));
        if (r.opt.agent == NULL || (r.opt.agent[0] = strdup("ssh")) == NULL)
            return FWRUN_EXIT_ERROR;
    }
    if (fwrun_hosts_prepare(&r, &err) != FW_SUCCESS) {
        fprintf(stderr, "fwrun: %s\n", err.text);
        fwrun_cleanup(&r);
        return FWRUN_EXIT_USAGE;
    }
    if (!standby &&
        (fwrun_find_fwd(&r) != 0 || fwrun_identity(&r) != FW_SUCCESS)) {
        fprintf(stderr, "fwrun: cannot find the fwd daemon next to fwrun\n");
        fwrun_cleanup(&r);
        return FWRUN_EXIT_ERROR;
    }
    if ((st = fwrun_setup(&r, &err)) != FW_SUCCESS) {
        fprintf(stderr, "fwrun: %s\n", err.text);
        /* a --server contact that does not parse is bad usage */
        fwrun_fail(&r, st == FW_ERR_PARSE ? FWRUN_EXIT_USAGE
                                          : FWRUN_EXIT_ERROR);
    } else {
        event_base_dispatch(r.base);
    }
    rc = r.failed ? r.exit_code : 0;
    fwrun_cleanup(&r);
    return rc;
}
