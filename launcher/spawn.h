/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Starting processes: a daemon on a host (directly for this host, through
 * the launch agent for others), and a rank under a daemon.
 */
#ifndef FW_LAUNCH_SPAWN_H
#define FW_LAUNCH_SPAWN_H

#include <fabwire/types.h>
#include <fabwire/status.h>
#include "common/error.h"

#include <sched.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fw_launch_daemon_spec {
    char *const *agent;   /* launch agent argv prefix, e.g. {"ssh", NULL} */
    const char *host;     /* passed to the agent */
    int local;            /* 1: exec fwd here, no agent */
    const char *fwd_path; /* daemon executable */
    const char *parent_uri;
    const char *jobid;
    uint32_t id;
    const char *secret_hex; /* env for local, stdin line for agents */
} fw_launch_daemon_spec_t;

/*
 * Start a daemon. The child gets PR_SET_PDEATHSIG(SIGTERM) so it does not
 * outlive its parent, and its own process group (pgid = pid), so that
 * whatever an agent starts on this host goes with it. On success *pid_p
 * is the local child's pid (the agent's, for remote hosts). The secret
 * never appears in an argv.
 */
fw_status_t fw_launch_daemon_start(const fw_launch_daemon_spec_t *spec,
                                   pid_t *pid_p, fw_error_t *err);

/*
 * fork() for a child that will exec: signals are blocked across the fork
 * and the child starts with every handler reset and nothing blocked, so
 * that no handler of the parent's runs in it (libevent's would tell the
 * parent's event loop of a signal sent to the child). -1 with errno on
 * failure, 0 in the child, its pid in the parent.
 */
pid_t fw_launch_fork(void);

/*
 * Send sig to the process group of a child started by
 * fw_launch_daemon_start (the agent and what it started here), or to
 * pid alone if the group is gone. Call only while pid is not reaped
 * (else the group id may be another's). pid <= 0: nothing.
 */
void fw_launch_daemon_kill(pid_t pid, int sig);

typedef struct fw_launch_proc_spec {
    const char *path;  /* resolved executable */
    char *const *argv;
    char *const *envp;
    const char *wdir;  /* NULL = inherit */
    const cpu_set_t *cpus; /* NULL = no binding */
    int stdin_fd;      /* fd to dup onto 0 (-1 = /dev/null) */
    int stdout_fd;     /* write ends to dup onto 1 and 2 */
    int stderr_fd;
} fw_launch_proc_spec_t;

/*
 * Start one rank: own process group, PR_SET_PDEATHSIG(SIGKILL), default
 * signal dispositions and mask, stdio from the given fds. On an exec
 * failure *errno_p gets the child's errno and FW_ERR_SPAWN is returned
 * (the child is reaped). Uses vfork: cheap even in a big daemon.
 */
fw_status_t fw_launch_proc_start(const fw_launch_proc_spec_t *spec,
                                 pid_t *pid_p, int *errno_p);

/*
 * Resolve prog the way execvp would, relative to wdir when given and
 * prog has a '/': writes the path to out (PATH_MAX). FW_ERR_NOT_FOUND or
 * FW_ERR_PERM with err naming the program.
 */
fw_status_t fw_launch_resolve(const char *prog, const char *wdir, char *out,
                              fw_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* FW_LAUNCH_SPAWN_H */
