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

/* Per-app and global info keys of a request. */
typedef struct fwrun_spawn_info {
    char *host, *hostfile, *add_host, *add_hostfile, *map_by, *npernode;
} fwrun_spawn_info_t;

typedef struct fwrun_spawn_app {
    char *cmd;
    char **argv;
    uint32_t np;
    char *wdir, *path, *env;
} fwrun_spawn_app_t;

typedef struct fwrun_spawn_req {
    uint32_t napps;
    fwrun_spawn_app_t *apps;
    fwrun_spawn_info_t g;
    char *port;
    char *list;                /* --host of the child fwrun, if ours */
} fwrun_spawn_req_t;

/* Free what q holds (not q itself). */
void fwrun_spawn_req_free(fwrun_spawn_req_t *q);

/* Decode a SPAWN body into q (zeroed by the caller; freed by it with
 * fwrun_spawn_req_free() whatever the result). FW_ERR_PROTO for a bad
 * body, FW_ERR_BAD_PARAM for an unknown info key or a bad value. */
fw_status_t fwrun_spawn_parse(fw_rbuf_t *rb, fwrun_spawn_req_t *q);

/* Fork the child fwrun of q (jobid <ours>.<id>); its pid in *pid_p. */
fw_status_t fwrun_spawn_start(fwrun_t *r, const fwrun_spawn_req_t *q,
                              uint64_t id, pid_t *pid_p);

#endif /* FW_FWRUN_SPAWN_REQ_H */
