/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Spawn standby: the child fwrun of the next spawn, started ahead of it.
 *
 * A spawn's latency starts with a new fwrun (fork, exec) and its local
 * daemon (fork, exec, connect, handshake): ~5 ms here before the first
 * child is forked. Once a spawn's children have connected (SPAWN_DONE),
 * the spawning job's fwrun (P) starts `fwrun --standby` (S) for the next
 * spawn, with what a child fwrun gets (environment, directory, job id
 * <jobid>.<n>, also on its command line: `fwrun --standby --jobid ID`),
 * and stdin a pipe. S listens, starts its local daemon
 * (id 1) at once and waits. The next spawn request from the same
 * directory (the same one still: device and inode) with the same relay
 * setting hands S the child fwrun's
 * command line instead of forking one: S goes on as any child fwrun
 * (cli, hosts, CONFIG), its daemon connected already. A job that is not
 * on this host alone (a remote host: the daemons must reach another
 * address) makes S drop its daemon and listener and start afresh.
 *
 *   P: none --SPAWN_DONE--> running --request--> handed over (a child
 *      fwrun like any other from then on)
 *                           running --stop/no fit--> stopping --reaped-->
 *   S: waiting (daemon starting, then connected) --command line-->
 *      adopted (or dropped) --> child fwrun
 *      waiting --SIGTERM / EOF without command line--> exit 0
 *      (its daemon dying meanwhile only costs the job its head start)
 *
 * P stops S (SIGTERM) when the job's ranks are done, at teardown and at
 * exit (reaping it, bounded); S dies with P (PDEATHSIG) and its daemon
 * with S (parent connection). FW_SPAWN_STANDBY=0: no standby.
 *
 * Pipe (P -> S), version 1: u32 FWRUN_STANDBY_MAGIC, u32 argc, argc
 * NUL-terminated strings (the command line without argv[0]), then EOF.
 */
#define _GNU_SOURCE
#include "launcher/fwrun_standby.h"
#include "launcher/fwrun_dpm.h"
#include "launcher/fwrun_spawn_req.h"
#include "launcher/spawn.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/param.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/****************/
/* Local Macros */
/****************/

#define FWRUN_STANDBY_MAGIC 0x46575331u /* "FWS1": pipe version 1 */
/* the largest command line handed over: what an empty pipe takes */
#define FWRUN_STANDBY_MAX (60u << 10)
#define FWRUN_STANDBY_ARGS_MAX 16384
/* how long P waits for a stopped standby at exit, then SIGKILL */
#define FWRUN_STANDBY_REAP_MS 2000

/****************/
/* Local Types  */
/****************/

struct fwrun_standby { /* P: the one kept for the next spawn */
    pid_t pid;
    int wfd;           /* its stdin; -1 once stopped */
    uint64_t id;       /* its child job id, reserved */
    char *cwd;         /* the directory it runs in */
    struct stat cwd_st; /* that directory then (st_ino 0: none here) */
    int relay;
    int stopping;
};

struct fwrun_waiting { /* S */
    pid_t fwd_pid;        /* its local daemon, until adopted */
    fw_oob_conn_t *conn;  /* the daemon's connection, until adopted */
    struct event *in_ev, *sig_ev[4];
    fw_buf_t in;          /* the command line as it comes */
    char **argv;          /* into in.data */
    int adopted;          /* fwrun_standby_adopt ran */
    int lost;             /* its connection closed: not to be adopted */
    fw_status_t status;   /* FW_INPROGRESS while waiting */
    fw_error_t *err;
};

/****************/
/* P side       */
/****************/

static void
fwrun_standby_free(fwrun_t *r)
{
    fwrun_standby_t *sb = r->standby;

    if (sb->wfd >= 0)
        close(sb->wfd);
    free(sb->cwd);
    free(sb);
    r->standby = NULL;
}

void
fwrun_standby_start(fwrun_t *r, const char *cwd, int relay)
{
    static char flag[] = "--standby", jflag[] = "--jobid";
    char self[4096], jobid[FW_JOBID_MAX + 24];
    char *argv[] = {self, flag, jflag, jobid, NULL};
    fwrun_standby_t *sb;
    int fds[2] = {-1, -1};
    ssize_t n;

    /* a standby stopped earlier (it did not fit) that has exited is
     * reaped here, so that the next one can start */
    if (r->standby != NULL && r->standby->stopping &&
        waitpid(r->standby->pid, NULL, WNOHANG) == r->standby->pid)
        fwrun_standby_free(r);
    if (r->standby != NULL || r->state != FWRUN_RUNNING ||
        r->nexited == r->job.nprocs ||
        fw_param_get_long("FW_SPAWN_STANDBY", 0, 1) == 0)
        return;
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    sb = calloc(1, sizeof(*sb));
    if (n <= 0 || sb == NULL || (sb->cwd = strdup(cwd)) == NULL ||
        pipe2(fds, O_CLOEXEC) != 0)
        goto fail;
    self[n] = '\0';
    if (stat(cwd, &sb->cwd_st) != 0)
        sb->cwd_st.st_ino = 0;
    sb->wfd = fds[1];
    sb->relay = relay;
    sb->id = fwrun_dpm_next_spawn(r);
    /* for ps and leftover checks: the job id it will run (FW_SPAWN_JOBID
     * is what it uses) */
    snprintf(jobid, sizeof(jobid), "%s.%llu", r->job.jobid,
             (unsigned long long)sb->id);
    if (fcntl(fds[1], F_SETFL, O_NONBLOCK) != 0 ||
        fwrun_spawn_fork(r, sb->id, cwd, relay, fds[0], argv, &sb->pid) !=
            FW_SUCCESS)
        goto fail;
    close(fds[0]);
    r->standby = sb;
    FW_LOG_DEBUG("dpm", "fwrun: standby fwrun %d for the next spawn (%llu)",
                 (int)sb->pid, (unsigned long long)sb->id);
    return;
fail:
    FW_LOG_DEBUG("dpm", "fwrun: no standby for the next spawn: %m");
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    if (sb != NULL)
        free(sb->cwd);
    free(sb);
}

/* A spawn from cwd with relay can go to sb: same relay setting, and the
 * same directory, by name and still the same one (not removed or
 * replaced since sb went there). */
static int
fwrun_standby_fits(const fwrun_standby_t *sb, const char *cwd, int relay)
{
    struct stat st;

    if (strcmp(sb->cwd, cwd) != 0 || sb->relay != relay)
        return 0;
    if (stat(cwd, &st) != 0)
        st.st_ino = 0;
    return st.st_ino == sb->cwd_st.st_ino &&
           (st.st_ino == 0 || st.st_dev == sb->cwd_st.st_dev);
}

/* The command line as the pipe carries it; FW_ERR_TOO_BIG past
 * FWRUN_STANDBY_MAX. */
static fw_status_t
fwrun_standby_pack(char **argv, fw_buf_t *b)
{
    uint32_t argc = 0;

    while (argv[argc + 1] != NULL)
        argc++;
    fw_buf_put_u32(b, FWRUN_STANDBY_MAGIC);
    fw_buf_put_u32(b, argc);
    for (uint32_t i = 1; i <= argc; i++)
        fw_buf_put_bytes(b, argv[i], strlen(argv[i]) + 1);
    if (fw_buf_status(b) != FW_SUCCESS)
        return fw_buf_status(b);
    return b->len > FWRUN_STANDBY_MAX || argc > FWRUN_STANDBY_ARGS_MAX
               ? FW_ERR_TOO_BIG
               : FW_SUCCESS;
}

int
fwrun_standby_take(fwrun_t *r, const char *cwd, int relay, char **argv,
                   uint64_t *id_p, pid_t *pid_p)
{
    fwrun_standby_t *sb = r->standby;
    fw_status_t rc;
    fw_buf_t b;
    ssize_t w = -1;

    if (sb == NULL || sb->stopping)
        return 0;
    if (!fwrun_standby_fits(sb, cwd != NULL ? cwd : "", relay)) {
        FW_LOG_DEBUG("dpm", "fwrun: the standby was made for another "
                     "directory (or one since replaced) or relay setting: "
                     "stopping it");
        fwrun_standby_stop(r, 0);
        return 0;
    }
    fw_buf_init(&b);
    rc = fwrun_standby_pack(argv, &b);
    if (rc == FW_SUCCESS)
        w = write(sb->wfd, b.data, b.len);
    if (rc == FW_SUCCESS && w != (ssize_t)b.len)
        rc = FW_ERR_SYSTEM; /* gone (EPIPE), or the pipe was not empty */
    fw_buf_cleanup(&b);
    if (rc != FW_SUCCESS) {
        FW_LOG_DEBUG("dpm", "fwrun: cannot hand the spawn to the standby "
                     "(%s): starting a child fwrun", fw_strerror(rc));
        fwrun_standby_stop(r, 0);
        return 0;
    }
    FW_LOG_DEBUG("dpm", "fwrun: spawn %llu goes to standby fwrun %d",
                 (unsigned long long)sb->id, (int)sb->pid);
    *id_p = sb->id;
    *pid_p = sb->pid;
    fwrun_standby_free(r); /* closing the pipe ends the command line */
    return 1;
}

int
fwrun_standby_reaped(fwrun_t *r, pid_t pid, int status)
{
    if (r->standby == NULL || r->standby->pid != pid)
        return 0;
    FW_LOG_DEBUG("dpm", "fwrun: standby fwrun %d ended (%s %d)", (int)pid,
                 WIFSIGNALED(status) ? "signal" : "status",
                 WIFSIGNALED(status) ? WTERMSIG(status)
                                     : WEXITSTATUS(status));
    fwrun_standby_free(r);
    return 1;
}

/* At exit: wait for the standby, SIGKILL after FWRUN_STANDBY_REAP_MS. */
static void
fwrun_standby_reap(pid_t pid)
{
    struct timespec nap = {0, 5 * 1000 * 1000};
    int i;

    for (i = 0; i < FWRUN_STANDBY_REAP_MS / 5; i++) {
        if (waitpid(pid, NULL, WNOHANG) != 0)
            return; /* reaped, or not ours any more */
        nanosleep(&nap, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

void
fwrun_standby_stop(fwrun_t *r, int wait)
{
    fwrun_standby_t *sb = r->standby;

    if (sb == NULL)
        return;
    if (!sb->stopping) {
        sb->stopping = 1;
        kill(sb->pid, SIGTERM);
        close(sb->wfd);
        sb->wfd = -1;
    }
    if (wait) {
        fwrun_standby_reap(sb->pid);
        fwrun_standby_free(r);
    }
}

/****************/
/* S side       */
/****************/

static void
fwrun_standby_end(fwrun_t *r, fw_status_t st)
{
    if (r->waiting->status == FW_INPROGRESS)
        r->waiting->status = st;
    event_base_loopbreak(r->base);
}

/* The whole pipe: magic, argc, exactly argc strings. */
static fw_status_t
fwrun_standby_unpack(fwrun_waiting_t *w)
{
    const char *p, *end;
    fw_rbuf_t rb;
    uint32_t argc, i;

    fw_rbuf_init(&rb, w->in.data, w->in.len);
    if (fw_rbuf_get_u32(&rb) != FWRUN_STANDBY_MAGIC)
        return FW_ERR_PROTO;
    argc = fw_rbuf_get_u32(&rb);
    if (fw_rbuf_status(&rb) != FW_SUCCESS || argc > FWRUN_STANDBY_ARGS_MAX)
        return FW_ERR_PROTO;
    w->argv = calloc(argc + 2, sizeof(*w->argv));
    if (w->argv == NULL)
        return FW_ERR_NO_MEM;
    w->argv[0] = (char *)"fwrun";
    p = (const char *)w->in.data + 8;
    end = (const char *)w->in.data + w->in.len;
    for (i = 1; i <= argc; i++) {
        const char *nul = memchr(p, '\0', (size_t)(end - p));

        if (nul == NULL)
            return FW_ERR_PROTO;
        w->argv[i] = (char *)p;
        p = nul + 1;
    }
    return p == end ? FW_SUCCESS : FW_ERR_PROTO;
}

static void
fwrun_standby_in_cb(evutil_socket_t fd, short what, void *arg)
{
    fwrun_t *r = arg;
    fwrun_waiting_t *w = r->waiting;
    uint8_t chunk[4096];
    ssize_t n = read(fd, chunk, sizeof(chunk));

    (void)what;
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n > 0) {
        fw_buf_put_bytes(&w->in, chunk, (size_t)n);
        if (w->in.len > FWRUN_STANDBY_MAX ||
            fw_buf_status(&w->in) != FW_SUCCESS) {
            fw_errprintf(w->err, "command line from fwrun too long");
            fwrun_standby_end(r, FW_ERR_TOO_BIG);
        }
        return;
    }
    /* EOF: the command line is complete, or P let us go without one */
    if (n < 0 || w->in.len == 0) {
        fwrun_standby_end(r, FW_ERR_CONN_CLOSED);
        return;
    }
    if (fwrun_standby_unpack(w) != FW_SUCCESS) {
        fw_errprintf(w->err, "malformed command line from fwrun");
        fwrun_standby_end(r, FW_ERR_PROTO);
        return;
    }
    fwrun_standby_end(r, FW_SUCCESS);
}

static void
fwrun_standby_sig_cb(evutil_socket_t sig, short what, void *arg)
{
    fwrun_t *r = arg;
    fwrun_waiting_t *w = r->waiting;

    (void)what;
    if (sig != SIGCHLD) {
        fwrun_standby_end(r, FW_ERR_CONN_CLOSED);
        return;
    }
    /* without its daemon the standby still takes its job, which then
     * starts one as any child fwrun does (fwrun_standby_adopt) */
    if (w->fwd_pid > 0 && waitpid(w->fwd_pid, NULL, WNOHANG) == w->fwd_pid) {
        w->fwd_pid = 0;
        FW_LOG_DEBUG("launch", "fwrun: the standby daemon exited");
    }
}

static fw_status_t
fwrun_standby_events(fwrun_t *r, fwrun_waiting_t *w)
{
    static const int sigs[4] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD};
    int i;

    if (fcntl(0, F_SETFL, O_NONBLOCK) != 0)
        return FW_ERR_SYSTEM;
    w->in_ev = event_new(r->base, 0, EV_READ | EV_PERSIST,
                         fwrun_standby_in_cb, r);
    if (w->in_ev == NULL || event_add(w->in_ev, NULL) != 0)
        return FW_ERR_NO_MEM;
    for (i = 0; i < 4; i++) {
        w->sig_ev[i] = evsignal_new(r->base, sigs[i], fwrun_standby_sig_cb,
                                    r);
        if (w->sig_ev[i] == NULL || evsignal_add(w->sig_ev[i], NULL) != 0)
            return FW_ERR_NO_MEM;
    }
    return FW_SUCCESS;
}

static void
fwrun_standby_events_free(fwrun_waiting_t *w)
{
    int i;

    if (w->in_ev != NULL)
        event_free(w->in_ev);
    w->in_ev = NULL;
    for (i = 0; i < 4; i++) {
        if (w->sig_ev[i] != NULL)
            event_free(w->sig_ev[i]);
        w->sig_ev[i] = NULL;
    }
}

/* stdin is the spent pipe: /dev/null from now on, as in any child fwrun */
static fw_status_t
fwrun_standby_stdin(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return FW_ERR_SYSTEM;
    if (dup2(fd, 0) != 0) {
        close(fd);
        return FW_ERR_SYSTEM;
    }
    close(fd);
    return FW_SUCCESS;
}

fw_status_t
fwrun_standby_wait(fwrun_t *r, int *argc_p, char ***argv_p, fw_error_t *err)
{
    fw_launch_daemon_spec_t spec;
    fwrun_waiting_t *w = calloc(1, sizeof(*w));
    fw_status_t rc;
    int argc = 0;

    if (w == NULL)
        return FW_ERR_NO_MEM;
    r->waiting = w;
    fw_buf_init(&w->in);
    w->status = FW_INPROGRESS;
    w->err = err;
    rc = fwrun_standby_events(r, w);
    if (rc != FW_SUCCESS) {
        fw_errprintf(err, "cannot set up the standby's events");
        goto out;
    }
    memset(&spec, 0, sizeof(spec));
    spec.host = "localhost";
    spec.local = 1;
    spec.fwd_path = r->fwd_path;
    spec.parent_uri = fw_oob_listener_uri(r->listener);
    spec.jobid = r->job.jobid;
    spec.id = 1;
    spec.secret_hex = r->secret_hex;
    rc = fw_launch_daemon_start(&spec, &w->fwd_pid, err);
    if (rc != FW_SUCCESS)
        goto out;
    event_base_dispatch(r->base);
    rc = w->status == FW_INPROGRESS ? FW_ERR_SYSTEM : w->status;
    if (rc == FW_SUCCESS)
        rc = fwrun_standby_stdin();
out:
    fwrun_standby_events_free(w);
    w->err = NULL; /* the caller's, gone after this */
    if (rc == FW_SUCCESS) {
        while (w->argv[argc] != NULL)
            argc++;
        *argc_p = argc;
        *argv_p = w->argv;
    }
    return rc;
}

int
fwrun_standby_conn_opened(fwrun_t *r, fw_oob_conn_t *c)
{
    fwrun_waiting_t *w = r->waiting;

    if (w == NULL || w->adopted || w->conn != NULL ||
        fw_oob_conn_peer_kind(c) != FW_OOB_PEER_DAEMON ||
        fw_oob_conn_peer_id(c) != 1)
        return 0;
    w->conn = c;
    FW_LOG_DEBUG("launch", "fwrun: standby daemon connected");
    return 1;
}

int
fwrun_standby_conn_closed(fwrun_t *r, fw_oob_conn_t *c)
{
    fwrun_waiting_t *w = r->waiting;

    if (w == NULL || w->adopted || c != w->conn)
        return 0;
    w->conn = NULL; /* the daemon is dropped at adoption (its exit tells
                     * the SIGCHLD handler) */
    w->lost = 1;
    FW_LOG_DEBUG("launch", "fwrun: lost the standby daemon's connection");
    return 1;
}

int
fwrun_standby_owns(const fwrun_t *r, const fw_oob_conn_t *c)
{
    const fwrun_waiting_t *w = r->waiting;

    return w != NULL && !w->adopted && c == w->conn;
}

/* The standby daemon is not used: stop it (with its connection). */
static void
fwrun_standby_drop(fwrun_waiting_t *w)
{
    if (w->conn != NULL)
        fw_oob_conn_close(w->conn);
    w->conn = NULL;
    if (w->fwd_pid > 0) {
        fw_launch_daemon_kill(w->fwd_pid, SIGKILL);
        waitpid(w->fwd_pid, NULL, 0);
    }
    w->fwd_pid = 0;
}

int
fwrun_standby_adopt(fwrun_t *r, fw_oob_conn_t **conn_p)
{
    fwrun_waiting_t *w = r->waiting;
    int local1 = 0;
    uint32_t h;

    *conn_p = NULL;
    if (w == NULL || w->adopted)
        return 0;
    w->adopted = 1;
    for (h = 0; h < r->job.nhosts; h++)
        if (r->job.hosts[h].daemon_id == 1 && r->job.hosts[h].is_local)
            local1 = 1;
    /* a daemon that exited (not reaped yet) or lost its connection is
     * no use either */
    if (w->fwd_pid > 0 && waitpid(w->fwd_pid, NULL, WNOHANG) == w->fwd_pid)
        w->fwd_pid = 0;
    if (local1 && w->fwd_pid > 0 && !w->lost &&
        strcmp(r->adv_addr, "127.0.0.1") == 0 && r->tree.nchildren > 0 &&
        r->tree.first_child == 1) {
        r->child_pids[0] = w->fwd_pid;
        w->fwd_pid = 0;
        *conn_p = w->conn;
        w->conn = NULL;
        FW_LOG_DEBUG("launch", "fwrun: the standby daemon is daemon 1");
        return 1;
    }
    FW_LOG_DEBUG("launch", "fwrun: the standby daemon does not fit the job "
                 "(a remote host) or is gone: starting afresh");
    fwrun_standby_drop(w);
    fw_oob_listener_destroy(r->listener);
    r->listener = NULL;
    return 0;
}

void
fwrun_standby_cleanup(fwrun_t *r)
{
    fwrun_waiting_t *w = r->waiting;

    if (w == NULL)
        return;
    fwrun_standby_events_free(w);
    fwrun_standby_drop(w);
    fw_buf_cleanup(&w->in);
    free(w->argv);
    free(w);
    r->waiting = NULL;
}
