/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fork/exec of daemons (directly or through the launch agent) and vfork
 * of ranks with their process group, parent-death signal, binding and
 * stdio (see spawn.h).
 */
#define _GNU_SOURCE
#include "launcher/spawn.h"
#include "common/log.h"

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

extern char **environ;

static void
fw_launch_child_reset_signals(void)
{
    sigset_t none;
    int s;

    /* handlers are reset by exec, ignored signals are not */
    for (s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

pid_t
fw_launch_fork(void)
{
    sigset_t all, old;
    pid_t pid;

    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid = fork();
    if (pid == 0) {
        fw_launch_child_reset_signals();
        return 0;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    return pid;
}

static char **
fw_launch_daemon_argv(const fw_launch_daemon_spec_t *spec, char *idbuf)
{
    size_t n = 0, i = 0;
    char **argv;

    while (!spec->local && spec->agent[n] != NULL)
        n++;
    argv = calloc(n + 10, sizeof(*argv));
    if (argv == NULL)
        return NULL;
    for (; i < n; i++)
        argv[i] = spec->agent[i];
    if (!spec->local)
        argv[i++] = (char *)spec->host;
    argv[i++] = (char *)spec->fwd_path;
    argv[i++] = "--id";
    argv[i++] = idbuf;
    argv[i++] = "--parent";
    argv[i++] = (char *)spec->parent_uri;
    argv[i++] = "--jobid";
    argv[i++] = (char *)spec->jobid;
    argv[i] = NULL;
    return argv;
}

fw_status_t
fw_launch_daemon_start(const fw_launch_daemon_spec_t *spec, pid_t *pid_p,
                       fw_error_t *err)
{
    char idbuf[16], line[80];
    int fds[2] = {-1, -1};
    char **argv;
    pid_t pid;
    ssize_t w;

    snprintf(idbuf, sizeof(idbuf), "%u", spec->id);
    argv = fw_launch_daemon_argv(spec, idbuf);
    if (argv == NULL) {
        fw_errprintf(err, "out of memory");
        return FW_ERR_NO_MEM;
    }
    if (pipe2(fds, O_CLOEXEC) != 0) {
        fw_errprintf(err, "pipe: %s", strerror(errno));
        free(argv);
        return FW_ERR_SYSTEM;
    }
    pid = fw_launch_fork();
    if (pid < 0) {
        fw_errprintf(err, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        free(argv);
        return FW_ERR_SYSTEM;
    }
    if (pid == 0) {
        /* its own process group: what the agent starts (a shell's
         * children, ssh's helpers) is signalled with it */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        /* the daemon reads the secret from stdin (agents) or env (local) */
        dup2(fds[0], 0);
        if (spec->local)
            setenv("FW_JOB_SECRET", spec->secret_hex, 1);
        else
            unsetenv("FW_JOB_SECRET");
        execvp(argv[0], argv);
        fprintf(stderr, "fwrun: cannot execute '%s': %s\n", argv[0],
                strerror(errno));
        _exit(127);
    }
    /* also here, against the race with an early fw_launch_daemon_kill */
    if (setpgid(pid, pid) != 0 && errno != EACCES && errno != ESRCH)
        FW_LOG_DEBUG("launch", "daemon %u: setpgid: %m", spec->id);
    close(fds[0]);
    snprintf(line, sizeof(line), "%s\n", spec->local ? "" : spec->secret_hex);
    w = write(fds[1], line, strlen(line));
    if (w < 0)
        FW_LOG_DEBUG("launch", "daemon %u: cannot pass the secret: %m",
                     spec->id);
    close(fds[1]);
    free(argv);
    *pid_p = pid;
    return FW_SUCCESS;
}

void
fw_launch_daemon_kill(pid_t pid, int sig)
{
    if (pid <= 0)
        return;
    /* the group may be gone while its leader is still unreaped */
    if (kill(-pid, sig) != 0 && kill(pid, sig) != 0 && errno != ESRCH)
        FW_LOG_DEBUG("launch", "kill %d: %m", (int)pid);
}

/* In the vfork child: only system calls, then exec or _exit. */
static void
fw_launch_proc_child(const fw_launch_proc_spec_t *spec, int errfd)
{
    int e;

    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (spec->wdir != NULL && chdir(spec->wdir) != 0)
        goto fail;
    if (spec->cpus != NULL &&
        sched_setaffinity(0, sizeof(*spec->cpus), spec->cpus) != 0)
        goto fail;
    if (dup2(spec->stdin_fd, 0) < 0 || dup2(spec->stdout_fd, 1) < 0 ||
        dup2(spec->stderr_fd, 2) < 0)
        goto fail;
    fw_launch_child_reset_signals();
    execve(spec->path, spec->argv, spec->envp);
fail:
    e = errno;
    if (write(errfd, &e, sizeof(e)) < 0)
        _exit(126);
    _exit(127);
}

fw_status_t
fw_launch_proc_start(const fw_launch_proc_spec_t *spec, pid_t *pid_p,
                     int *errno_p)
{
    sigset_t all, old;
    int fds[2], e = 0;
    ssize_t n;
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) != 0)
        return FW_ERR_SYSTEM;
    /* no handler of ours may run in the child before exec */
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid = vfork();
    if (pid == 0)
        fw_launch_proc_child(spec, fds[1]);
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return FW_ERR_SYSTEM;
    }
    /* the child has exec'd or exited by now: the pipe is final */
    n = read(fds[0], &e, sizeof(e));
    close(fds[0]);
    if (n == (ssize_t)sizeof(e)) {
        waitpid(pid, NULL, 0);
        *errno_p = e;
        return FW_ERR_SPAWN;
    }
    /* the rank's own group, also set here against the race with kill */
    setpgid(pid, pid);
    *pid_p = pid;
    return FW_SUCCESS;
}

static fw_status_t
fw_launch_check_exec(const char *path, const char *prog, fw_error_t *err)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        fw_errprintf(err, "'%s': %s", prog, strerror(errno));
        return FW_ERR_NOT_FOUND;
    }
    if (!S_ISREG(st.st_mode) || access(path, X_OK) != 0) {
        fw_errprintf(err, "'%s': not an executable file", prog);
        return FW_ERR_PERM;
    }
    return FW_SUCCESS;
}

fw_status_t
fw_launch_resolve(const char *prog, const char *wdir, char *out,
                  fw_error_t *err)
{
    const char *path = getenv("PATH"), *p, *colon;
    char cand[PATH_MAX];
    size_t dl;

    if (prog == NULL || prog[0] == '\0') {
        fw_errprintf(err, "empty program name");
        return FW_ERR_NOT_FOUND;
    }
    if (strchr(prog, '/') != NULL) {
        if (prog[0] != '/' && wdir != NULL)
            snprintf(cand, sizeof(cand), "%s/%s", wdir, prog);
        else
            snprintf(cand, sizeof(cand), "%s", prog);
        if (fw_launch_check_exec(cand, prog, err) != FW_SUCCESS)
            return FW_ERR_NOT_FOUND;
        snprintf(out, PATH_MAX, "%s", cand);
        return FW_SUCCESS;
    }
    for (p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0';) {
        colon = strchr(p, ':');
        dl = colon != NULL ? (size_t)(colon - p) : strlen(p);
        snprintf(cand, sizeof(cand), "%.*s/%s", (int)dl, dl ? p : ".", prog);
        if (access(cand, X_OK) == 0 &&
            fw_launch_check_exec(cand, prog, NULL) == FW_SUCCESS) {
            snprintf(out, PATH_MAX, "%s", cand);
            return FW_SUCCESS;
        }
        p += dl;
        if (*p == ':')
            p++;
    }
    fw_errprintf(err, "'%s': command not found", prog);
    return FW_ERR_NOT_FOUND;
}
