/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The spawn standby (fwrun_standby.c): a child fwrun started ahead of the
 * next spawn, with its local daemon up, waiting for its command line.
 * The spawning job's fwrun (P) keeps at most one; the standby itself (S)
 * runs `fwrun --standby`.
 */
#ifndef FW_FWRUN_STANDBY_H
#define FW_FWRUN_STANDBY_H

#include "launcher/fwrun.h"
#include "oob/oob.h"

#include <sys/types.h>

/****************/
/* P side       */
/****************/

/* After a spawn from directory cwd (relay: its relay setting) connected:
 * start the standby for the next one, unless FW_SPAWN_STANDBY=0, one is
 * there already or the job's ranks are done. Failures only cost the
 * next spawn its head start (logged at debug level). */
void fwrun_standby_start(fwrun_t *r, const char *cwd, int relay);

/* A spawn from cwd with relay and child fwrun command line argv: 1 if
 * the standby took it (its child job id in *id_p, its pid in *pid_p; it
 * is a child fwrun like any other from now on), 0 if there is none or it
 * does not fit (a standby for another directory or relay setting is
 * stopped: the next one will fit). */
int fwrun_standby_take(fwrun_t *r, const char *cwd, int relay, char **argv,
                       uint64_t *id_p, pid_t *pid_p);

/* 1 if pid was the standby (now gone). */
int fwrun_standby_reaped(fwrun_t *r, pid_t pid, int status);

/* Stop the standby (SIGTERM); with wait, also reap it (at exit). */
void fwrun_standby_stop(fwrun_t *r, int wait);

/****************/
/* S side       */
/****************/

/* `fwrun --standby`: with r's base, listener and identity set up, start
 * the local daemon (id 1) and run the loop until the command line comes
 * on stdin. FW_SUCCESS: *argc_p and *argv_p hold it (argv[0] "fwrun"; freed
 * by fwrun_standby_cleanup) and stdin is /dev/null again;
 * FW_ERR_CONN_CLOSED: stopped (signal, or P closed the pipe without a
 * job): exit quietly; other errors with err set. */
fw_status_t fwrun_standby_wait(fwrun_t *r, int *argc_p, char ***argv_p,
                               fw_error_t *err);

/* A connection opened to r's listener while S waits or before its
 * daemon is adopted: 1 if it is the standby daemon's (kept for
 * fwrun_standby_adopt), else 0. */
int fwrun_standby_conn_opened(fwrun_t *r, fw_oob_conn_t *c);

/* 1 if c was the standby daemon's connection, not adopted yet (that
 * daemon is then not adopted: the job starts its own). */
int fwrun_standby_conn_closed(fwrun_t *r, fw_oob_conn_t *c);

/* 1 if c is the standby daemon's connection, not adopted yet: its
 * messages are not for the tree (it sends none before CONFIG). */
int fwrun_standby_owns(const fwrun_t *r, const fw_oob_conn_t *c);

/* In fwrun_setup, with the job known and the tree set up: the standby
 * daemon becomes daemon 1 if the job's daemon 1 is on this host and
 * every daemon is local (r->adv_addr 127.0.0.1); its pid goes to
 * child_pids[0] and *conn_p gets its connection if it is open (NULL: it
 * will connect as any daemon does). Otherwise the daemon is stopped and
 * the listener dropped (the job listens on its own address). 1 if
 * adopted. */
int fwrun_standby_adopt(fwrun_t *r, fw_oob_conn_t **conn_p);

/* At exit: the standby daemon if never adopted, what S held. */
void fwrun_standby_cleanup(fwrun_t *r);

#endif /* FW_FWRUN_STANDBY_H */
