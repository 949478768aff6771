/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fwrun, the job launcher: private state shared by its files.
 *   fwrun_cli.c  command line -> job description and options
 *   fwrun.c      daemon tree start-up, launch, I/O, exits, teardown
 *   fwrun_hosts.c which hosts are this one, addresses to advertise
 *   fwrun_standby.c the next spawn's fwrun, started ahead (--standby)
 *   fwrun_out.c   the ranks' output to our stdout/stderr
 */
#ifndef FW_LAUNCH_FWRUN_H
#define FW_LAUNCH_FWRUN_H

#include "launcher/job.h"
#include "launcher/tree.h"
#include "launcher/launch_wire.h"
#include "modex/modex_server.h"

#include <event2/event.h>
#include <sys/types.h>

/* fwrun's exit statuses besides the ranks' own */
#define FWRUN_EXIT_ERROR 1    /* launcher or daemon failure */
#define FWRUN_EXIT_USAGE 2    /* bad command line or host list */
#define FWRUN_EXIT_TIMEOUT 124 /* --timeout expired */
#define FWRUN_EXIT_NOEXEC 127 /* a program could not be started */

typedef struct fwrun_opts {
    int verbose;
    int timeout_s;        /* 0 = none */
    char **agent;         /* launch agent argv prefix */
    fw_launch_app_hosts_t *app_hosts; /* per app (job.napps): --host,
                                       * --hostfile (strings in argv) */
    uint32_t fanout;
    const char *provider; /* --provider, NULL = default */
    const char *server;   /* --server URI|file:PATH, NULL = FW_SERVER */
    uint32_t npernode;    /* --npernode, 0 = slots decide */
} fwrun_opts_t;

typedef enum fwrun_state {
    FWRUN_STARTING,   /* daemons are being started */
    FWRUN_RUNNING,    /* LAUNCH sent */
    FWRUN_TEARDOWN,   /* killing the job */
    FWRUN_SHUTDOWN    /* waiting for the daemons to leave */
} fwrun_state_t;

typedef struct fwrun_dpm fwrun_dpm_t;
typedef struct fwrun_standby fwrun_standby_t;
typedef struct fwrun_waiting fwrun_waiting_t;

typedef struct fwrun {
    fwrun_opts_t opt;
    fw_launch_job_t job;
    fwrun_state_t state;
    struct event_base *base;
    uint8_t secret[FW_OOB_SECRET_LEN];
    char secret_hex[2 * FW_OOB_SECRET_LEN + 1];
    char fwd_path[4096];
    char adv_addr[64];
    fw_oob_listener_t *listener;
    fw_launch_tree_t tree;
    char **dhosts;             /* host name by daemon id ([0] = fwrun) */
    uint32_t ndaemons;         /* tree size, fwrun included */
    uint32_t nreported;
    uint8_t *reported;         /* by daemon id */
    uint8_t *lost;             /* by daemon id */
    int spawned;               /* a child job of another fwrun's */
    pid_t *child_pids;         /* direct children (local fwd, agents) */
    uint8_t *rank_done;
    uint32_t nexited;
    int exit_code;
    int failed;                /* exit_code is final */
    int nsignals;
    uint64_t t_start;
    struct event *sig_ev[7];
    struct event *launch_timer, *job_timer, *kill_timer, *exit_timer;
    struct event *stdin_ev;
    fw_modex_server_t *modex;  /* fence root when there are 2+ daemons */
    int stdin_file;            /* stdin cannot be polled */
    uint64_t stdin_unacked;    /* sent to rank 0's daemon, not yet taken */
    int stdin_paused;
    int stdin_eof;
    fwrun_dpm_t *dpm;          /* registry, names, spawns (fwrun_dpm.c) */
    fwrun_standby_t *standby;  /* the next spawn's fwrun, started ahead */
    fwrun_waiting_t *waiting;  /* we are a standby (fwrun_standby.c) */
} fwrun_t;

/* fwrun_cli.c: FW_SUCCESS, or FW_ERR_PARSE with err set; 1 = help/version
 * printed (exit 0). */
int fwrun_cli_parse(fwrun_t *r, int argc, char **argv, fw_error_t *err);

/* fwrun_hosts.c */
/* Reachable without a launch agent: any loopback address counts. */
int fwrun_host_is_local(const char *name);
/*
 * This very machine: "localhost", 127.0.0.1, its host name, or a name
 * resolving to one of its interface addresses or to an address of its
 * host name. Other loopback addresses (127.0.0.2, ...) are not, as with
 * Open MPI: they are local hosts of their own (a daemon each), which
 * tests use to stand for several hosts.
 */
int fwrun_host_is_self(const char *name);
/* fwrun_host_is_self as a fw_launch_self_cb_t (arg unused). */
int fwrun_hosts_self_cb(const char *name, void *arg);
fw_status_t fwrun_hosts_prepare(fwrun_t *r, fw_error_t *err);

/* fwrun_out.c: write all of buf to our stdout or stderr, waiting for a
 * slow reader; 0, or -1 with errno (EPIPE: the reader is gone; EINTR: a
 * stop signal came while waiting, the rest is dropped). */
int fwrun_out_write(int fd, const void *buf, size_t n);

#endif /* FW_LAUNCH_FWRUN_H */
