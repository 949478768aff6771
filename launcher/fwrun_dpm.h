/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fwrun's dynamic-process services (fwrun_dpm.c: address registry and
 * name service; fwrun_spawn.c: child jobs).
 */
#ifndef FW_LAUNCH_FWRUN_DPM_H
#define FW_LAUNCH_FWRUN_DPM_H

#include "launcher/fwrun.h"
#include "common/buf.h"
#include "oob/oob.h"

typedef struct fwrun_spawn fwrun_spawn_t;
typedef struct fwrun_spawn_wait fwrun_spawn_wait_t;

/* fwrun_dpm.c */
fw_status_t fwrun_dpm_setup(fwrun_t *r, fw_error_t *err);
void fwrun_dpm_cleanup(fwrun_t *r);
void fwrun_dpm_msg(fwrun_t *r, const fw_oob_hdr_t *h, const void *p);
void fwrun_dpm_tool_opened(fwrun_t *r, fw_oob_conn_t *c);
void fwrun_dpm_tool_msg(fwrun_t *r, fw_oob_conn_t *c, const fw_oob_hdr_t *h,
                        const void *p);
void fwrun_dpm_tool_closed(fwrun_t *r, fw_oob_conn_t *c);
void fwrun_dpm_job_ended(fwrun_t *r);
void fwrun_dpm_reply(fwrun_t *r, uint32_t daemon, uint32_t rank,
                     uint32_t reqid, fw_status_t st, const fw_buf_t *fields);
fwrun_spawn_t **fwrun_dpm_spawns(fwrun_t *r);
fwrun_spawn_wait_t **fwrun_dpm_spawn_waits(fwrun_t *r);
uint64_t fwrun_dpm_spawn_wait_ms(fwrun_t *r);
uint32_t fwrun_dpm_next_spawn(fwrun_t *r);
/* Monotonic milliseconds, the clock of the dpm deadlines. */
uint64_t fwrun_dpm_now_ms(void);
/* Run fwrun_spawn_tick() in FWRUN_DPM_TICK_MS. */
void fwrun_dpm_wake(fwrun_t *r);

/* fwrun_spawn.c */
fw_status_t fwrun_spawn_request(fwrun_t *r, uint32_t daemon, uint32_t rank,
                                uint32_t reqid, fw_rbuf_t *rb);
fw_status_t fwrun_spawn_done(fwrun_t *r, fw_rbuf_t *rb);
/* The root gave up on a SPAWN: not started yet, it never will be;
 * started, its child job is stopped. */
fw_status_t fwrun_spawn_cancel(fwrun_t *r, uint32_t daemon, uint32_t rank,
                               fw_rbuf_t *rb);
/* A rank ended: spawns it was waiting for are dropped. */
void fwrun_spawn_rank_ended(fwrun_t *r, uint32_t rank);
/* 1 if pid was a child job's fwrun (then handled); *failed_p: non-zero
 * exit code of a child job that failed after connecting (the parent job
 * must end), else 0. */
int fwrun_spawn_reaped(fwrun_t *r, pid_t pid, int status, int *failed_p);
uint32_t fwrun_spawn_alive(fwrun_t *r);
void fwrun_spawn_kill(fwrun_t *r, int sig);
void fwrun_spawn_cleanup(fwrun_t *r);
/* Spawns waiting for slots whose time is up fail; 1 if some still wait. */
int fwrun_spawn_tick(fwrun_t *r, uint64_t now_ms);


#endif /* FW_LAUNCH_FWRUN_DPM_H */
