/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fwd: the per-host daemon. Connects to its parent in the daemon tree
 * (fwrun or another fwd), starts its own child daemons through the launch
 * agent, reports in, then runs the ranks mapped to its host and relays
 * their output and exit status. It never outlives its parent: when the
 * parent connection drops, it kills its ranks and exits.
 *
 * Usage (started by fwrun, not by hand):
 *   fwd --id N --parent URI --jobid J   (secret in FW_JOB_SECRET or stdin)
 */
#define _GNU_SOURCE
#include "launcher/fwd.h"
#include "dpm/dpm.h"
#include "launcher/spawn.h"
#include "common/log.h"
#include "common/param.h"
#include "common/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void fwd_parent_msg(fw_oob_conn_t *c, const fw_oob_hdr_t *h,
                           const void *p, void *arg);
static void fwd_parent_closed(fw_oob_conn_t *c, fw_status_t why, void *arg);
static void fwd_child_opened(fw_oob_conn_t *c, void *arg);
static void fwd_child_msg(fw_oob_conn_t *c, const fw_oob_hdr_t *h,
                          const void *p, void *arg);
static void fwd_child_closed(fw_oob_conn_t *c, fw_status_t why, void *arg);
static void fwd_proc_opened(fw_oob_conn_t *c, void *arg);
static void fwd_proc_msg(fw_oob_conn_t *c, const fw_oob_hdr_t *h,
                         const void *p, void *arg);
static void fwd_proc_closed(fw_oob_conn_t *c, fw_status_t why, void *arg);

static const struct fw_oob_conn_ops fwd_parent_ops = {
    NULL, fwd_parent_msg, fwd_parent_closed};
static const struct fw_oob_conn_ops fwd_child_ops = {
    fwd_child_opened, fwd_child_msg, fwd_child_closed};
static const struct fw_oob_conn_ops fwd_proc_ops = {
    fwd_proc_opened, fwd_proc_msg, fwd_proc_closed};

/****************/
/* Helpers      */
/****************/

void
fwd_send_fail(fwd_t *d, uint32_t id, uint32_t what, const char *text)
{
    fw_buf_t b;

    fw_buf_init(&b);
    fw_buf_put_u32(&b, id);
    fw_buf_put_u32(&b, what);
    fw_buf_put_str(&b, text);
    if (fw_buf_status(&b) != FW_SUCCESS ||
        fw_launch_tree_send(&d->tree, FW_LAUNCH_MSG_FAIL, FW_OOB_ID_ROOT,
                            b.data, b.len) != FW_SUCCESS)
        fprintf(stderr, "fwd: %s\n", text); /* no route: say it here */
    fw_buf_cleanup(&b);
}

static void
fwd_exit_cb(evutil_socket_t fd, short what, void *arg)
{
    fwd_t *d = arg;

    event_base_loopexit(d->base, NULL);
}

void
fwd_maybe_exit(fwd_t *d)
{
    struct timeval now = {0, 0}, cap = {3, 0};

    if (!d->shutting_down)
        return;
    if (d->exit_timer == NULL) {
        d->exit_timer = evtimer_new(d->base, fwd_exit_cb, d);
        if (d->exit_timer == NULL) {
            event_base_loopexit(d->base, NULL);
            return;
        }
        /* never linger: children that do not go in time are abandoned */
        evtimer_add(d->exit_timer, &cap);
    }
    if (d->nlive == 0 && fw_launch_tree_children_open(&d->tree) == 0)
        evtimer_add(d->exit_timer, &now);
}

/* The job is over for this daemon: stop its ranks and leave. */
static void
fwd_shutdown(fwd_t *d, int sig)
{
    if (!d->shutting_down) {
        FW_LOG_DEBUG("launch", "daemon %u: shutting down", d->id);
        /* our subtree goes with us, now, not one timeout per level */
        fw_launch_tree_send(&d->tree, FW_LAUNCH_MSG_SHUTDOWN,
                            FW_OOB_ID_BCAST, NULL, 0);
    }
    d->shutting_down = 1;
    fwd_procs_kill(d, sig);
    fwd_maybe_exit(d);
}

/****************/
/* Tree setup   */
/****************/

static fw_status_t
fwd_start_children(fwd_t *d)
{
    fw_launch_daemon_spec_t spec;
    fw_error_t err;
    uint32_t i, id;
    char text[600];

    if (d->tree.nchildren == 0)
        return FW_SUCCESS;
    d->child_pids = calloc(d->tree.nchildren, sizeof(*d->child_pids));
    if (d->child_pids == NULL)
        return FW_ERR_NO_MEM;
    for (i = 0; i < d->tree.nchildren; i++) {
        id = d->tree.first_child + i;
        memset(&spec, 0, sizeof(spec));
        spec.agent = d->agent;
        spec.host = d->hosts[id];
        spec.fwd_path = d->fwd_path;
        spec.parent_uri = fw_oob_listener_uri(d->tcp_l);
        spec.jobid = d->jobid;
        spec.id = id;
        spec.secret_hex = d->secret_hex;
        if (fw_launch_daemon_start(&spec, &d->child_pids[i], &err) !=
            FW_SUCCESS) {
            snprintf(text, sizeof(text), "cannot start daemon on host %s: %s",
                     d->hosts[id], err.text);
            fwd_send_fail(d, id, FW_LAUNCH_FAIL_DAEMON, text);
        }
    }
    return FW_SUCCESS;
}

static void
fwd_send_report(fwd_t *d)
{
    fw_buf_t b;

    fw_buf_init(&b);
    fw_buf_put_u32(&b, d->id);
    fw_buf_put_str(&b, d->hostname);
    fw_buf_put_u32(&b, (uint32_t)sysconf(_SC_NPROCESSORS_ONLN));
    fw_buf_put_str(&b, fw_oob_conn_local_addr(d->tree.parent));
    fw_buf_put_blob(&b, NULL, 0);
    if (fw_buf_status(&b) == FW_SUCCESS)
        fw_launch_tree_send(&d->tree, FW_LAUNCH_MSG_REPORT, FW_OOB_ID_ROOT,
                            b.data, b.len);
    fw_buf_cleanup(&b);
}

static fw_status_t
fwd_on_config(fwd_t *d, fw_oob_conn_t *parent, const void *p, size_t len)
{
    fw_launch_config_t cfg;
    fw_rbuf_t r;
    fw_error_t err;
    char uri[FW_OOB_URI_MAX];
    fw_status_t rc;

    fw_rbuf_init(&r, p, len);
    if (d->configured || fw_launch_config_unpack(&r, &cfg) != FW_SUCCESS ||
        d->id >= cfg.ndaemons)
        return FW_ERR_PROTO;
    d->configured = 1;
    d->flags = cfg.flags;
    /* the user's name for this host (namespaces share one uname) */
    snprintf(d->hostname, sizeof(d->hostname), "%s", cfg.hosts[d->id]);
    d->agent = cfg.agent;
    d->fwd_path = cfg.fwd_path;
    d->hosts = cfg.hosts;
    d->provider = cfg.provider;
    free(cfg.jobid);
    rc = fw_launch_tree_init(&d->tree, d->id, cfg.fanout, cfg.ndaemons);
    if (rc != FW_SUCCESS)
        return rc;
    d->tree.parent = parent;
    if (d->tree.nchildren > 0) {
        /* children reach us on the address we reach our parent from */
        snprintf(uri, sizeof(uri), "tcp://%s:0",
                 fw_oob_conn_local_addr(parent));
        rc = fw_oob_listen(d->base, uri, d->secret, &fwd_child_ops, d,
                           &d->tcp_l, &err);
        if (rc != FW_SUCCESS) {
            fwd_send_fail(d, d->id, FW_LAUNCH_FAIL_DAEMON, err.text);
            return rc;
        }
    }
    rc = fwd_start_children(d);
    fwd_send_report(d);
    return rc;
}

static void
fwd_on_launch(fwd_t *d, const void *p, size_t len)
{
    fw_rbuf_t r;
    char text[384];

    fw_rbuf_init(&r, p, len);
    if (d->launched || fw_launch_job_unpack(&r, &d->job) != FW_SUCCESS) {
        snprintf(text, sizeof(text), "daemon on host %s: bad launch message",
                 d->hostname);
        fwd_send_fail(d, d->id, FW_LAUNCH_FAIL_DAEMON, text);
        return;
    }
    d->launched = 1;
    if (fwd_procs_launch(d) != FW_SUCCESS)
        FW_LOG_DEBUG("launch", "daemon %u: launch incomplete", d->id);
    /* exits that happened during the launch loop */
    fwd_procs_reap(d);
}

/****************/
/* Dispatch     */
/****************/

static uint32_t
fwd_u32(const void *p, size_t len)
{
    fw_rbuf_t r;

    fw_rbuf_init(&r, p, len);
    return fw_rbuf_get_u32(&r);
}

static void
fwd_handle(fwd_t *d, const fw_oob_hdr_t *h, const void *p)
{
    switch (h->type) {
    case FW_LAUNCH_MSG_LAUNCH:
        fwd_on_launch(d, p, h->len);
        break;
    case FW_LAUNCH_MSG_KILL:
        if (fwd_u32(p, h->len) == 0)
            fwd_procs_teardown(d);
        else
            fwd_procs_kill(d, (int)fwd_u32(p, h->len));
        break;
    case FW_LAUNCH_MSG_SIGNAL:
        fwd_procs_kill(d, (int)fwd_u32(p, h->len));
        break;
    case FW_LAUNCH_MSG_STDIN:
        fwd_procs_stdin(d, (const uint8_t *)p + 4, h->len >= 4 ? h->len - 4
                                                                : 0);
        break;
    case FW_LAUNCH_MSG_SHUTDOWN:
        fwd_shutdown(d, SIGKILL);
        break;
    case FW_MODEX_MSG_FENCE_UP:
    case FW_MODEX_MSG_FENCE_DOWN:
        fwd_modex_tree_msg(d, h, p);
        break;
    case FW_DPM_MSG_REPLY:
        fwd_dpm_down(d, h, p);
        break;
    default:
        FW_LOG_DEBUG("launch", "daemon %u: ignoring message type %u", d->id,
                     h->type);
    }
}

static void
fwd_parent_msg(fw_oob_conn_t *c, const fw_oob_hdr_t *h, const void *p,
               void *arg)
{
    fwd_t *d = arg;

    if (h->type == FW_LAUNCH_MSG_CONFIG) {
        if (fwd_on_config(d, c, p, h->len) != FW_SUCCESS) {
            FW_LOG_ERR("launch", "daemon %u: bad configuration from parent",
                       d->id);
            fwd_shutdown(d, SIGKILL);
        }
        return;
    }
    if (!d->configured)
        return;
    if (h->type == FW_LAUNCH_MSG_LAUNCH) {
        /* set up our fence engine before the children can talk to it */
        fwd_handle(d, h, p);
        fw_launch_tree_route(&d->tree, h, p);
        return;
    }
    if (fw_launch_tree_route(&d->tree, h, p))
        fwd_handle(d, h, p);
}

static void
fwd_parent_closed(fw_oob_conn_t *c, fw_status_t why, void *arg)
{
    fwd_t *d = arg;

    d->tree.parent = NULL;
    FW_LOG_DEBUG("launch", "daemon %u: parent gone (%s)", d->id,
                 fw_strerror(why));
    if (!d->configured)
        fprintf(stderr, "fwd: cannot reach fwrun at its address: %s\n",
                fw_strerror(why));
    fwd_shutdown(d, SIGKILL);
}

static void
fwd_child_opened(fw_oob_conn_t *c, void *arg)
{
    fwd_t *d = arg;
    uint32_t id = fw_oob_conn_peer_id(c);
    fw_oob_conn_t **slot = fw_launch_tree_child_slot(&d->tree, id);
    fw_launch_config_t cfg;
    fw_buf_t b;

    if (fw_oob_conn_peer_kind(c) != FW_OOB_PEER_DAEMON || slot == NULL ||
        *slot != NULL || d->shutting_down) {
        FW_LOG_WARN("launch", "daemon %u: unexpected peer %u from %s",
                    d->id, id, fw_oob_conn_peer_name(c));
        fw_oob_conn_close(c);
        return;
    }
    *slot = c;
    memset(&cfg, 0, sizeof(cfg));
    cfg.ndaemons = d->tree.n;
    cfg.fanout = d->tree.fanout;
    cfg.jobid = d->jobid;
    cfg.agent = d->agent;
    cfg.fwd_path = d->fwd_path;
    cfg.flags = d->flags;
    cfg.hosts = d->hosts;
    cfg.provider = d->provider;
    fw_buf_init(&b);
    fw_launch_config_pack(&cfg, &b);
    if (fw_buf_status(&b) != FW_SUCCESS ||
        fw_oob_send(c, FW_LAUNCH_MSG_CONFIG, d->id, id, b.data, b.len) !=
            FW_SUCCESS)
        FW_LOG_WARN("launch", "daemon %u: cannot configure child %u", d->id,
                    id);
    fw_buf_cleanup(&b);
}

static void
fwd_child_msg(fw_oob_conn_t *c, const fw_oob_hdr_t *h, const void *p,
              void *arg)
{
    fwd_t *d = arg;

    if (fw_launch_tree_route(&d->tree, h, p))
        fwd_handle(d, h, p);
}

static void
fwd_child_closed(fw_oob_conn_t *c, fw_status_t why, void *arg)
{
    fwd_t *d = arg;
    uint32_t id = fw_oob_conn_peer_id(c);
    fw_oob_conn_t **slot = fw_launch_tree_child_slot(&d->tree, id);
    char text[300];

    if (slot != NULL && *slot == c)
        *slot = NULL;
    if (!d->shutting_down) {
        snprintf(text, sizeof(text), "lost connection to the daemon on "
                 "host %s", slot != NULL ? d->hosts[id] : "?");
        fwd_send_fail(d, id, FW_LAUNCH_FAIL_DAEMON, text);
    }
    fwd_maybe_exit(d);
}

/* Local ranks: the client library (modex, dpm) talks to us here. */
static void
fwd_proc_opened(fw_oob_conn_t *c, void *arg)
{
    FW_LOG_DEBUG("launch", "rank %u connected", fw_oob_conn_peer_id(c));
}

static void
fwd_proc_msg(fw_oob_conn_t *c, const fw_oob_hdr_t *h, const void *p,
             void *arg)
{
    fwd_modex_proc_msg(arg, c, h, p);
}

static void
fwd_proc_closed(fw_oob_conn_t *c, fw_status_t why, void *arg)
{
    fwd_modex_proc_closed(arg, c);
}

/****************/
/* Main         */
/****************/

static void
fwd_sig_cb(evutil_socket_t sig, short what, void *arg)
{
    fwd_t *d = arg;
    char text[FW_LAUNCH_HOST_MAX + FW_JOBID_MAX + 96];

    if (sig == SIGCHLD) {
        fwd_procs_reap(d);
        return;
    }
    /* fwrun hears it before its ranks' ends. Before CONFIG we have
     * neither our host's name (the job's, not gethostname(), which
     * namespace hosts share) nor a route: name us by id and job. */
    if (!d->shutting_down && d->configured)
        snprintf(text, sizeof(text), "the daemon on host %s got %s; "
                 "terminating the job", d->hostname, strsignal((int)sig));
    else if (!d->shutting_down)
        snprintf(text, sizeof(text), "daemon %u of job %s got %s before "
                 "its configuration; exiting", d->id, d->jobid,
                 strsignal((int)sig));
    if (!d->shutting_down)
        fwd_send_fail(d, d->id, FW_LAUNCH_FAIL_DAEMON, text);
    fwd_shutdown(d, SIGKILL);
}

static int
fwd_read_secret(fwd_t *d)
{
    const char *env = getenv("FW_JOB_SECRET");
    char line[256];
    size_t n;

    if (env != NULL && env[0] != '\0') {
        snprintf(line, sizeof(line), "%s", env);
    } else if (fgets(line, sizeof(line), stdin) == NULL) {
        return -1;
    }
    n = strcspn(line, "\r\n");
    line[n] = '\0';
    if (fw_hex_decode(line, d->secret, sizeof(d->secret)) != FW_SUCCESS)
        return -1;
    fw_hex_encode(d->secret, sizeof(d->secret), d->secret_hex);
    unsetenv("FW_JOB_SECRET");
    return 0;
}

static int
fwd_parse_args(fwd_t *d, int argc, char **argv, const char **parent_p)
{
    int i;

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--id") == 0)
            d->id = (uint32_t)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--parent") == 0)
            *parent_p = argv[i + 1];
        else if (strcmp(argv[i], "--jobid") == 0)
            snprintf(d->jobid, sizeof(d->jobid), "%s", argv[i + 1]);
        else
            return -1;
    }
    return i == argc && d->id > 0 && *parent_p != NULL && d->jobid[0] != '\0'
               ? 0 : -1;
}

static fw_status_t
fwd_setup(fwd_t *d, const char *parent_uri)
{
    fw_oob_conn_t *parent = NULL;
    char uri[FW_OOB_URI_MAX];
    fw_error_t err;
    fw_status_t rc;

    d->base = event_base_new();
    if (d->base == NULL)
        return FW_ERR_NO_MEM;
    d->sigchld_ev = evsignal_new(d->base, SIGCHLD, fwd_sig_cb, d);
    d->sigterm_ev = evsignal_new(d->base, SIGTERM, fwd_sig_cb, d);
    d->sigint_ev = evsignal_new(d->base, SIGHUP, fwd_sig_cb, d);
    if (d->sigchld_ev == NULL || d->sigterm_ev == NULL ||
        d->sigint_ev == NULL || evsignal_add(d->sigchld_ev, NULL) != 0 ||
        evsignal_add(d->sigterm_ev, NULL) != 0 ||
        evsignal_add(d->sigint_ev, NULL) != 0)
        return FW_ERR_SYSTEM;
    snprintf(uri, sizeof(uri), "unix:@fabwire-%s-%u-%d", d->jobid, d->id,
             (int)getpid());
    rc = fw_oob_listen(d->base, uri, d->secret, &fwd_proc_ops, d, &d->proc_l,
                       &err);
    if (rc != FW_SUCCESS) {
        fprintf(stderr, "fwd: %s\n", err.text);
        return rc;
    }
    rc = fwd_relay_setup(d);
    if (rc != FW_SUCCESS)
        return rc;
    rc = fw_oob_connect(d->base, parent_uri, d->secret, FW_OOB_PEER_DAEMON,
                        d->id, &fwd_parent_ops, d, &parent, &err);
    if (rc != FW_SUCCESS) {
        fprintf(stderr, "fwd: %s\n", err.text);
        return rc;
    }
    d->tree.parent = parent;
    return FW_SUCCESS;
}

static void
fwd_cleanup(fwd_t *d)
{
    uint32_t i;

    fwd_procs_kill(d, SIGKILL);
    fwd_modex_cleanup(d); /* closes the fabric before the shm sweep */
    fwd_procs_cleanup(d);
    /* and what earlier jobs' processes killed outright left (a rank
     * whose daemon was SIGKILLed dies without anyone to sweep after it) */
    fw_fab_shm_sweep_dead();
    /* the agents of our child daemons, before the tree (and its count of
     * children) is cleared */
    for (i = 0; d->child_pids != NULL && i < d->tree.nchildren; i++)
        if (d->child_pids[i] > 0)
            fw_launch_daemon_kill(d->child_pids[i], SIGTERM);
    fw_launch_tree_cleanup(&d->tree);
    free(d->child_pids);
    fw_oob_listener_destroy(d->tcp_l);
    fw_oob_listener_destroy(d->proc_l);
    if (d->sigchld_ev != NULL)
        event_free(d->sigchld_ev);
    if (d->sigterm_ev != NULL)
        event_free(d->sigterm_ev);
    if (d->sigint_ev != NULL)
        event_free(d->sigint_ev);
    if (d->kill_timer != NULL)
        event_free(d->kill_timer);
    if (d->exit_timer != NULL)
        event_free(d->exit_timer);
    if (d->iof_timer != NULL)
        event_free(d->iof_timer);
    fw_launch_job_cleanup(&d->job);
    fw_launch_strv_free(d->agent);
    fw_launch_strv_free(d->hosts);
    free(d->fwd_path);
    free(d->provider);
    if (d->base != NULL)
        event_base_free(d->base);
}

int
main(int argc, char **argv)
{
    const char *parent_uri = NULL;
    fwd_t d;
    int rc = 0;

    memset(&d, 0, sizeof(d));
    d.stdin_fd = -1;
    fw_log_set_progname("fwd");
    FW_LOG_DEBUG("launch", "fwd: started");
    if (fwd_parse_args(&d, argc, argv, &parent_uri) != 0) {
        fprintf(stderr, "fwd: usage: fwd --id N --parent URI --jobid J "
                "(started by fwrun)\n");
        return 2;
    }
    if (fwd_read_secret(&d) != 0) {
        fprintf(stderr, "fwd: no job secret (FW_JOB_SECRET or stdin)\n");
        return 2;
    }
    /* terminal signals go to fwrun, which decides; not to us */
    setpgid(0, 0);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    /* d.hostname is the job's name for this host, from CONFIG: not
     * gethostname(), which namespace hosts (containers) share */
    if (fwd_setup(&d, parent_uri) != FW_SUCCESS)
        rc = 1;
    else
        event_base_dispatch(d.base);
    fwd_cleanup(&d);
    return rc;
}
