/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fwd, the per-host daemon: private state shared by its files.
 *   fwd.c        main, tree connections, message dispatch, shutdown
 *   fwd_procs.c  starting ranks, their output, exits and kills
 *   fwd_modex.c  segment, fabric window, fence engine, rank connections
 *   fwd_window.c remote windows read for the local ranks
 *   fwd_fabric.c the endpoint (window, relaying), opened ahead of need
 *   fwd_relay.c  messages of relayed processes (dpm/relay.h)
 */
#ifndef FW_LAUNCH_FWD_H
#define FW_LAUNCH_FWD_H

#include "launcher/job.h"
#include "launcher/tree.h"
#include "launcher/launch_wire.h"
#include "modex/modex_server.h"
#include "fabric/fab.h"

#include <event2/event.h>
#include <sys/types.h>

typedef struct fwd_proc {
    uint32_t rank;
    pid_t pid;          /* 0 once reaped */
    int out_fd, err_fd; /* our read ends, -1 when closed */
    struct event *out_ev, *err_ev;
    char *obuf[3];      /* partial line per stream (1 out, 2 err) */
    size_t olen[3];
    struct fwd *d;
    fw_oob_conn_t *conn; /* the rank's client library, after HELLO */
    int hello;           /* it used libfabwire (may own shm regions) */
    int unfinalized;     /* disconnected without fw_finalize */
    pid_t started_pid;   /* pid, kept after the rank is reaped */
    pid_t lib_pid;       /* the process that said HELLO (a wrapper's child
                            may differ from started_pid), 0 if none */
} fwd_proc_t;

typedef struct fwd_win fwd_win_t;

typedef struct fwd {
    struct event_base *base;
    uint32_t id;
    char jobid[FW_JOBID_MAX];
    uint8_t secret[FW_OOB_SECRET_LEN];
    char secret_hex[2 * FW_OOB_SECRET_LEN + 1];
    const char *self_path;
    char hostname[256];
    fw_launch_tree_t tree;
    fw_oob_listener_t *tcp_l;    /* for child daemons */
    fw_oob_listener_t *proc_l;   /* for local ranks */
    /* from CONFIG */
    int configured;
    uint32_t flags;
    char **agent;
    char *fwd_path;
    char **hosts;                /* by daemon id, [0] unused */
    char *provider;              /* "" = fabric default */
    pid_t *child_pids;           /* agents of our child daemons */
    /* from LAUNCH */
    fw_launch_job_t job;
    int launched;
    fwd_proc_t *procs;
    uint32_t nprocs;
    uint32_t nlive;
    int stdin_fd;                /* rank 0's stdin, -1 if not here */
    struct evbuffer *stdin_buf;  /* input not yet taken by rank 0 */
    struct event *stdin_ev;
    int stdin_eof;
    struct event *sigchld_ev, *sigterm_ev, *sigint_ev, *kill_timer;
    struct event *exit_timer;
    struct event *iof_timer; /* output paused: checks the backlog (10 ms) */
    int iof_paused;
    int shutting_down;
    /* modex (fwd_modex.c) */
    fw_modex_seg_t *seg;
    fw_modex_server_t *modex;
    fw_fab_t *fab;               /* fwd_fabric.c: window and relaying */
    fw_status_t fab_rc;          /* why it could not open */
    char fab_err[512];
    struct fwd_warm *warm;       /* opening in a thread */
    fw_fab_mr_t *fab_mr;
    struct event *fab_ev;
    fwd_win_t *wins;             /* remote windows read for our ranks */
    /* relaying (fwd_relay.c) */
    struct fwd_relay *relay;
    fw_oob_listener_t *relay_l;  /* processes of other jobs we relay */
} fwd_t;

/* fwd_procs.c */
fw_status_t fwd_procs_launch(fwd_t *d);
void fwd_procs_reap(fwd_t *d);
void fwd_procs_kill(fwd_t *d, int sig);
void fwd_procs_teardown(fwd_t *d);
void fwd_procs_stdin(fwd_t *d, const void *data, size_t len);
void fwd_procs_cleanup(fwd_t *d);

/* fwd_modex.c */
fw_status_t fwd_modex_setup(fwd_t *d, int node);
void fwd_modex_proc_msg(fwd_t *d, fw_oob_conn_t *c, const fw_oob_hdr_t *h,
                        const void *p);
void fwd_modex_proc_closed(fwd_t *d, fw_oob_conn_t *c);
void fwd_modex_tree_msg(fwd_t *d, const fw_oob_hdr_t *h, const void *p);
void fwd_modex_rank_gone(fwd_t *d, uint32_t rank);

/* fwd_fabric.c: the endpoint, opened at need or ahead of it */
fw_status_t fwd_fabric_open(fwd_t *d);
void fwd_fabric_warm(fwd_t *d);
void fwd_fabric_cleanup(fwd_t *d);

/* fwd_relay.c: messages of relayed processes (dpm/relay.h) */
fw_status_t fwd_relay_setup(fwd_t *d);
void fwd_relay_opened(fwd_t *d, fw_oob_conn_t *c);
void fwd_relay_msg(fwd_t *d, fw_oob_conn_t *c, const fw_oob_hdr_t *h,
                   const void *p);
void fwd_relay_closed(fwd_t *d, fw_oob_conn_t *c);
void fwd_relay_fabric_ready(fwd_t *d);
void fwd_relay_stop(fwd_t *d);
void fwd_relay_free(fwd_t *d);
void fwd_modex_cleanup(fwd_t *d);
void fwd_dpm_down(fwd_t *d, const fw_oob_hdr_t *h, const void *p);
fwd_proc_t *fwd_modex_find(fwd_t *d, uint32_t rank);
/* fwd_window.c */
fw_status_t fwd_window_setup(fwd_t *d);
void fwd_window_req(fwd_t *d, uint32_t rank, const void *p, size_t len);
void fwd_window_cleanup(fwd_t *d);

/* fwd.c */
void fwd_send_fail(fwd_t *d, uint32_t id, uint32_t what, const char *text);
void fwd_maybe_exit(fwd_t *d);

#endif /* FW_LAUNCH_FWD_H */
