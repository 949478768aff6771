/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A spawn request as fwrun received it (fwrun_spawn_req.c): the SPAWN
 * body decoded, with its info keys checked, and the child fwrun started
 * from it. Placement and the child job's life are in fwrun_spawn.c.
 */
#ifndef FW_FWRUN_SPAWN_REQ_H
#define FW_FWRUN_SPAWN_REQ_H

#include "launcher/fwrun.h"
#include "common/buf.h"

#include <sys/types.h>

/* One application of a request and its info keys. host, hostfile,
 * add-host and add-hostfile are the app's own: they go to its segment of
 * the child fwrun's command line. */
typedef struct fwrun_spawn_app {
    char *cmd;
    char **argv;
    uint32_t np;
    char *wdir, *path, *env;
    char *host, *hostfile, *add_host, *add_hostfile;
    char *list;     /* its --host when it goes on the job's hosts (no
                     * host/hostfile key): their free slots, add-host */
} fwrun_spawn_app_t;

/* map_by and npernode are job-wide in the child fwrun: apps that set
 * them must agree (else FW_ERR_BAD_PARAM). */
typedef struct fwrun_spawn_req {
    uint32_t napps;
    fwrun_spawn_app_t *apps;
    char *map_by, *npernode;
    char *port;
    int relay;      /* our daemons may relay the children */
    char *cwd;      /* the spawning rank's ("": unknown) */
} fwrun_spawn_req_t;

/* 1 if app goes on the job's hosts (no host or hostfile key). */
int fwrun_spawn_app_on_job(const fwrun_spawn_app_t *app);

/* The --host and --hostfile of app's segment in the child fwrun (its
 * host/hostfile keys, else app->list and its add-hostfile); borrowed
 * from app. */
void fwrun_spawn_app_hosts(const fwrun_spawn_app_t *app,
                           fw_launch_app_hosts_t *h);

/* Free what q holds (not q itself). */
void fwrun_spawn_req_free(fwrun_spawn_req_t *q);

/* Decode a SPAWN body into q (zeroed by the caller; freed by it with
 * fwrun_spawn_req_free() whatever the result). FW_ERR_PROTO for a bad
 * body, FW_ERR_BAD_PARAM for an unknown info key or a bad value. */
fw_status_t fwrun_spawn_parse(fw_rbuf_t *rb, fwrun_spawn_req_t *q);

/* Start the child fwrun of q: hand its command line to the standby if
 * there is one that fits, else fork one. Its id (jobid <ours>.<id>) in
 * *id_p, its pid in *pid_p. */
fw_status_t fwrun_spawn_start(fwrun_t *r, const fwrun_spawn_req_t *q,
                              uint64_t *id_p, pid_t *pid_p);

/* Fork a child fwrun with argv (argv[0]: this fwrun) for child job id,
 * in directory cwd ("" or NULL: ours) and with the spawn environment
 * (name service contact, job id, relay unless relay is 0); its stdin is
 * stdin_fd (-1: /dev/null). */
fw_status_t fwrun_spawn_fork(fwrun_t *r, uint64_t id, const char *cwd,
                             int relay, int stdin_fd, char **argv,
                             pid_t *pid_p);

#endif /* FW_FWRUN_SPAWN_REQ_H */
