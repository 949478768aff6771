/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Spawn: fwrun starts each child job with a child fwrun of its own
 * (jobid <parent>.<n>), which maps the children on the parent's hosts or
 * the ones named by the info keys, starts its daemons and ranks with the
 * same agent, provider and options, and passes the parent's port to the
 * ranks (FW_PARENT_PORT). The child fwrun dies with this one
 * (PDEATHSIG), so a parent job killed takes its children along; when the
 * parent's ranks finish normally, fwrun waits for its child jobs.
 * Without --oversubscribe a child job holds the slots of the job's hosts
 * it is placed on until its fwrun ends (job_slots.c); a spawn that does
 * not fit while child jobs hold slots waits for them, up to
 * FW_SPAWN_WAIT_MS, so that a spawn right after a disconnect finds the
 * slots its predecessor's children are giving back.
 * The request itself (SPAWN body, info keys, the child fwrun's command
 * line) is in fwrun_spawn_req.c; the child fwrun started ahead of the
 * next spawn in fwrun_standby.c.
 */
#define _GNU_SOURCE
#include "launcher/fwrun_dpm.h"
#include "launcher/fwrun_spawn_req.h"
#include "launcher/fwrun_standby.h"
#include "launcher/job.h"
#include "common/log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct fwrun_spawn {
    struct fwrun_spawn *next;
    uint64_t id;
    pid_t pid;
    uint32_t daemon, rank, reqid, nprocs;
    int done;                  /* the parent root has its answer */
    int stopped;               /* we killed it: its end is no failure */
    uint32_t *held;            /* per job host: slots its ranks take */
    char *cwd;                 /* the request's, for the next standby */
    int relay;
};

/* A request not started yet: it waits for child jobs to free slots. */
struct fwrun_spawn_wait {
    struct fwrun_spawn_wait *next;
    fwrun_spawn_req_t q;
    uint32_t daemon, rank, reqid, nprocs;
    uint64_t deadline_ms, wait_ms;
    fw_error_t why;            /* why it does not fit */
};

/* A code per child: everything failed the same way. */
static void
fwrun_spawn_fail(fwrun_t *r, uint32_t daemon, uint32_t rank, uint32_t reqid,
                 uint32_t n, fw_status_t st)
{
    fw_buf_t b;

    fw_buf_init(&b);
    fw_buf_put_u32(&b, n);
    for (uint32_t i = 0; i < n; i++)
        fw_buf_put_u32(&b, (uint32_t)-(int32_t)st);
    fwrun_dpm_reply(r, daemon, rank, reqid, st, &b);
    fw_buf_cleanup(&b);
}

/* Slots the running child jobs hold on each of the job's hosts. */
static fw_status_t
fwrun_spawn_held(fwrun_t *r, uint32_t **held_p, uint64_t *total_p)
{
    uint32_t *held = calloc(r->job.nhosts + 1, sizeof(*held));
    uint64_t total = 0;

    if (held == NULL)
        return FW_ERR_NO_MEM;
    for (fwrun_spawn_t *sp = *fwrun_dpm_spawns(r); sp != NULL; sp = sp->next)
        for (uint32_t i = 0; sp->held != NULL && i < r->job.nhosts; i++) {
            held[i] += sp->held[i];
            total += sp->held[i];
        }
    *held_p = held;
    *total_p = total;
    return FW_SUCCESS;
}

/* Map w's child job as its child fwrun will (each app with the hosts
 * of its segment): *take_p gets the slots it holds on the job's hosts. */
static fw_status_t
fwrun_spawn_predict(fwrun_t *r, fwrun_spawn_wait_t *w, uint32_t **take_p)
{
    const fwrun_spawn_req_t *q = &w->q;
    fw_launch_app_hosts_t hosts[64];
    uint32_t np[64];
    fw_launch_slots_args_t a;

    if (q->napps > 64) /* fwrun_spawn_parse refuses more */
        return FW_ERR_PROTO;
    memset(&a, 0, sizeof(a));
    for (uint32_t k = 0; k < q->napps; k++) {
        fwrun_spawn_app_hosts(&q->apps[k], &hosts[k]);
        np[k] = q->apps[k].np;
    }
    a.napps = q->napps;
    a.hosts = hosts;
    a.np = np;
    a.by_node = q->map_by != NULL && strcmp(q->map_by, "node") == 0;
    if (q->npernode != NULL)
        a.npernode = (uint32_t)strtoul(q->npernode, NULL, 10);
    a.self_cb = fwrun_hosts_self_cb;
    return fw_launch_slots_predict(&r->job, &a, take_p, &w->why);
}

/* Each app of w that goes on the job's hosts gets its list: those hosts
 * with the slots their ranks and held[] leave, then its add-host (NULL:
 * its add-hostfile alone). FW_ERR_TOO_BIG, w->why saying why, when
 * nothing is left for one. */
static fw_status_t
fwrun_spawn_lists(fwrun_t *r, fwrun_spawn_wait_t *w, const uint32_t *held,
                  int busy)
{
    fw_status_t rc = FW_SUCCESS;

    for (uint32_t k = 0; k < w->q.napps && rc == FW_SUCCESS; k++) {
        fwrun_spawn_app_t *app = &w->q.apps[k];

        free(app->list);
        app->list = NULL;
        if (!fwrun_spawn_app_on_job(app))
            continue;
        rc = fw_launch_slots_free_list(&r->job, held, app->add_host,
                                       &app->list);
        if (rc == FW_ERR_TOO_BIG && app->add_hostfile != NULL)
            rc = FW_SUCCESS;
    }
    if (rc == FW_ERR_TOO_BIG)
        fw_errprintf(&w->why, "the job's ranks%s use every slot of its "
                     "hosts; use --oversubscribe, or the host or add-host "
                     "info keys", busy ? " and its running child jobs" : "");
    return rc;
}

/* Would w's children fit once every child job has ended? If not, w->why
 * says why. (Leaves the apps' lists for no child job: fwrun_spawn_place
 * makes them again.) */
static int
fwrun_spawn_fits_ever(fwrun_t *r, fwrun_spawn_wait_t *w)
{
    uint32_t *none = calloc(r->job.nhosts + 1, sizeof(*none)), *take = NULL;
    fw_status_t rc = none != NULL ? FW_SUCCESS : FW_ERR_NO_MEM;

    if (rc == FW_SUCCESS)
        rc = fwrun_spawn_lists(r, w, none, 0);
    if (rc == FW_SUCCESS)
        rc = fwrun_spawn_predict(r, w, &take);
    free(take);
    free(none);
    return rc != FW_ERR_TOO_BIG;
}

/*
 * Where w's children go: the lists of its apps that go on the job's
 * hosts, and the slots they will hold there (*take_p). FW_ERR_TOO_BIG
 * (w->why says why) when they do not fit; *busy_p: slots held by running
 * child jobs that waiting could get back (0 if the children would not
 * fit anyway).
 */
static fw_status_t
fwrun_spawn_place(fwrun_t *r, fwrun_spawn_wait_t *w, uint32_t **take_p,
                  uint64_t *busy_p)
{
    uint32_t *held = NULL;
    fw_status_t rc;

    *busy_p = 0;
    rc = fwrun_spawn_held(r, &held, busy_p);
    if (rc == FW_SUCCESS)
        rc = fwrun_spawn_lists(r, w, held, *busy_p > 0);
    if (rc == FW_SUCCESS)
        rc = fwrun_spawn_predict(r, w, take_p);
    if (rc == FW_ERR_TOO_BIG && *busy_p > 0 && !fwrun_spawn_fits_ever(r, w))
        *busy_p = 0; /* waiting for child jobs would not help */
    free(held);
    return rc;
}

/* Keep w (last in line) until a child job ends or its time is up. */
static void
fwrun_spawn_park(fwrun_t *r, fwrun_spawn_wait_t *w)
{
    fwrun_spawn_wait_t **pp = fwrun_dpm_spawn_waits(r);

    while (*pp != NULL)
        pp = &(*pp)->next;
    w->next = NULL;
    *pp = w;
    fwrun_dpm_wake(r);
    FW_LOG_DEBUG("dpm", "fwrun: spawn of %u waits for slots: %s",
                 w->nprocs, w->why.text);
}

/* Start the child job and give its id to the parent root. */
static fw_status_t
fwrun_spawn_launch(fwrun_t *r, fwrun_spawn_wait_t *w, uint32_t **take)
{
    fwrun_spawn_t *sp = calloc(1, sizeof(*sp));
    fw_status_t rc;
    fw_buf_t b;

    if (sp == NULL)
        return FW_ERR_NO_MEM;
    *sp = (fwrun_spawn_t){NULL, 0, 0, w->daemon, w->rank, w->reqid,
                          w->nprocs, 0, 0, *take, NULL, w->q.relay};
    sp->cwd = strdup(w->q.cwd != NULL ? w->q.cwd : "");
    rc = sp->cwd == NULL ? FW_ERR_NO_MEM
                         : fwrun_spawn_start(r, &w->q, &sp->id, &sp->pid);
    if (rc != FW_SUCCESS) {
        free(sp->cwd);
        free(sp);
        return rc;
    }
    *take = NULL;
    sp->next = *fwrun_dpm_spawns(r);
    *fwrun_dpm_spawns(r) = sp;
    fw_buf_init(&b);
    fw_buf_put_u64(&b, sp->id);
    fwrun_dpm_reply(r, w->daemon, w->rank, w->reqid, FW_SUCCESS, &b);
    fw_buf_cleanup(&b);
    return FW_SUCCESS;
}

/* Start w's child job, keep it waiting for slots, or answer its failure
 * (rc: how the request went so far). Takes w. */
static void
fwrun_spawn_try(fwrun_t *r, fwrun_spawn_wait_t *w, fw_status_t rc,
                uint64_t now_ms)
{
    uint32_t *take = NULL;
    uint64_t busy = 0;

    if (rc == FW_SUCCESS && r->state != FWRUN_RUNNING)
        rc = FW_ERR_SPAWN;
    if (rc == FW_SUCCESS)
        rc = fwrun_spawn_place(r, w, &take, &busy);
    if (rc == FW_ERR_TOO_BIG && busy > 0 && now_ms < w->deadline_ms) {
        fwrun_spawn_park(r, w);
        return;
    }
    if (rc == FW_ERR_TOO_BIG || rc == FW_ERR_PARSE || rc == FW_ERR_NOT_FOUND) {
        if (busy > 0)
            fprintf(stderr, "fwrun: spawn: %s (running child jobs hold "
                    "slots; waited FW_SPAWN_WAIT_MS=%llu ms for them)\n",
                    w->why.text, (unsigned long long)w->wait_ms);
        else
            fprintf(stderr, "fwrun: spawn: %s\n", w->why.text);
        rc = FW_ERR_SPAWN;
    }
    if (rc == FW_SUCCESS)
        rc = fwrun_spawn_launch(r, w, &take);
    if (rc != FW_SUCCESS)
        fwrun_spawn_fail(r, w->daemon, w->rank, w->reqid, w->nprocs,
                         rc == FW_ERR_PROTO ? FW_ERR_PROTO
                         : rc == FW_ERR_BAD_PARAM ? FW_ERR_BAD_PARAM
                                                  : FW_ERR_SPAWN);
    free(take);
    fwrun_spawn_req_free(&w->q);
    free(w);
}

/* Requests waiting for slots try again: a child job ended, or time. */
static void
fwrun_spawn_retry(fwrun_t *r, uint64_t now_ms, int all)
{
    fwrun_spawn_wait_t *w, *line = *fwrun_dpm_spawn_waits(r);

    *fwrun_dpm_spawn_waits(r) = NULL;
    while ((w = line) != NULL) {
        line = w->next;
        if (r->state != FWRUN_RUNNING) { /* its rank is being stopped */
            fwrun_spawn_req_free(&w->q);
            free(w);
        } else if (all || now_ms >= w->deadline_ms) {
            fwrun_spawn_try(r, w, FW_SUCCESS, now_ms);
        } else {
            fwrun_spawn_park(r, w);
        }
    }
}

int
fwrun_spawn_tick(fwrun_t *r, uint64_t now_ms)
{
    fwrun_spawn_retry(r, now_ms, 0);
    return *fwrun_dpm_spawn_waits(r) != NULL;
}

fw_status_t
fwrun_spawn_request(fwrun_t *r, uint32_t daemon, uint32_t rank,
                    uint32_t reqid, fw_rbuf_t *rb)
{
    fwrun_spawn_wait_t *w = calloc(1, sizeof(*w));
    uint64_t now = fwrun_dpm_now_ms();
    fw_status_t rc;

    if (w == NULL) {
        fwrun_spawn_fail(r, daemon, rank, reqid, 0, FW_ERR_NO_MEM);
        return FW_SUCCESS;
    }
    rc = fwrun_spawn_parse(rb, &w->q);
    for (uint32_t i = 0; w->q.apps != NULL && i < w->q.napps; i++)
        w->nprocs += w->q.apps[i].np;
    w->daemon = daemon;
    w->rank = rank;
    w->reqid = reqid;
    w->wait_ms = fwrun_dpm_spawn_wait_ms(r);
    w->deadline_ms = now + w->wait_ms;
    fwrun_spawn_try(r, w, rc, now);
    return FW_SUCCESS; /* answered, or waiting */
}

fw_status_t
fwrun_spawn_done(fwrun_t *r, fw_rbuf_t *rb)
{
    uint64_t id = fw_rbuf_get_u64(rb);
    uint32_t kill_it = fw_rbuf_get_u32(rb);
    fwrun_spawn_t *sp;

    if (fw_rbuf_status(rb) != FW_SUCCESS)
        return FW_ERR_PROTO;
    for (sp = *fwrun_dpm_spawns(r); sp != NULL; sp = sp->next) {
        if (sp->id != id)
            continue;
        sp->done = 1;
        if (kill_it && sp->pid > 0) {
            sp->stopped = 1;
            kill(sp->pid, SIGTERM);
        } else if (!kill_it) {
            /* its children are up: start the next spawn's fwrun now */
            fwrun_standby_start(r, sp->cwd, sp->relay);
        }
    }
    return FW_SUCCESS;
}

/* Drop the waiting requests of (daemon, rank[, reqid]); 1 if any. */
static int
fwrun_spawn_unpark(fwrun_t *r, uint32_t daemon, uint32_t rank,
                   const uint32_t *reqid)
{
    fwrun_spawn_wait_t **pp = fwrun_dpm_spawn_waits(r), *w;
    int found = 0;

    while ((w = *pp) != NULL) {
        if ((daemon == UINT32_MAX || w->daemon == daemon) && w->rank == rank &&
            (reqid == NULL || w->reqid == *reqid)) {
            *pp = w->next;
            fwrun_spawn_req_free(&w->q);
            free(w);
            found = 1;
        } else {
            pp = &w->next;
        }
    }
    return found;
}

fw_status_t
fwrun_spawn_cancel(fwrun_t *r, uint32_t daemon, uint32_t rank,
                   fw_rbuf_t *rb)
{
    uint32_t reqid = fw_rbuf_get_u32(rb);

    if (fw_rbuf_status(rb) != FW_SUCCESS)
        return FW_ERR_PROTO;
    if (fwrun_spawn_unpark(r, daemon, rank, &reqid))
        return FW_SUCCESS;
    for (fwrun_spawn_t *sp = *fwrun_dpm_spawns(r); sp != NULL; sp = sp->next)
        if (sp->daemon == daemon && sp->rank == rank && sp->reqid == reqid &&
            !sp->done) {
            sp->done = 1; /* nobody to answer */
            sp->stopped = 1;
            if (sp->pid > 0)
                kill(sp->pid, SIGTERM);
        }
    return FW_SUCCESS;
}

void
fwrun_spawn_rank_ended(fwrun_t *r, uint32_t rank)
{
    if (r->dpm != NULL)
        (void)fwrun_spawn_unpark(r, UINT32_MAX, rank, NULL);
}

/*
 * A child job that failed after its children connected (not stopped by
 * us): as with mpirun, the parent job goes down with it, rather than
 * wait forever for peers that are gone. Returns its exit code, else 0.
 */
static int
fwrun_spawn_failed_code(const fwrun_t *r, const fwrun_spawn_t *sp,
                        int status)
{
    int code = WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                   : WEXITSTATUS(status);

    if (!sp->done || sp->stopped || code == 0 || r->state != FWRUN_RUNNING)
        return 0;
    fprintf(stderr, "fwrun: spawned job %s.%llu failed (exit status %d); "
            "terminating the job\n", r->job.jobid,
            (unsigned long long)sp->id, code);
    return code;
}

int
fwrun_spawn_reaped(fwrun_t *r, pid_t pid, int status, int *failed_p)
{
    fwrun_spawn_t **pp, *sp;

    *failed_p = 0;
    if (r->dpm == NULL)
        return 0;
    if (fwrun_standby_reaped(r, pid, status))
        return 1;
    for (pp = fwrun_dpm_spawns(r); (sp = *pp) != NULL; pp = &sp->next) {
        if (sp->pid != pid)
            continue;
        *pp = sp->next;
        if (!sp->done) { /* ended before its children connected */
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
                !sp->stopped)
                fprintf(stderr, "fwrun: spawned job %s.%llu ended before "
                        "its ranks connected back (they must call "
                        "fw_init)\n", r->job.jobid,
                        (unsigned long long)sp->id);
            fwrun_spawn_fail(r, sp->daemon, sp->rank, sp->reqid, sp->nprocs,
                             FW_ERR_SPAWN);
        }
        *failed_p = fwrun_spawn_failed_code(r, sp, status);
        FW_LOG_DEBUG("dpm", "fwrun: child job %llu ended (%s %d)",
                     (unsigned long long)sp->id,
                     WIFSIGNALED(status) ? "signal" : "status",
                     WIFSIGNALED(status) ? WTERMSIG(status)
                                         : WEXITSTATUS(status));
        free(sp->held);
        free(sp->cwd);
        free(sp);
        fwrun_spawn_retry(r, fwrun_dpm_now_ms(), 1); /* slots came back */
        return 1;
    }
    return 0;
}

uint32_t
fwrun_spawn_alive(fwrun_t *r)
{
    uint32_t n = 0;

    for (fwrun_spawn_t *sp = r->dpm != NULL ? *fwrun_dpm_spawns(r) : NULL;
         sp != NULL; sp = sp->next)
        n++;
    return n;
}

void
fwrun_spawn_kill(fwrun_t *r, int sig)
{
    fwrun_standby_stop(r, 0);
    for (fwrun_spawn_t *sp = r->dpm != NULL ? *fwrun_dpm_spawns(r) : NULL;
         sp != NULL; sp = sp->next)
        if (sp->pid > 0) {
            sp->stopped = 1;
            kill(sp->pid, sig);
        }
}

/* At exit: child jobs still running are stopped (and reaped). */
void
fwrun_spawn_cleanup(fwrun_t *r)
{
    fwrun_spawn_wait_t *w;
    fwrun_spawn_t *sp;

    while ((w = *fwrun_dpm_spawn_waits(r)) != NULL) {
        *fwrun_dpm_spawn_waits(r) = w->next; /* its rank is gone */
        fwrun_spawn_req_free(&w->q);
        free(w);
    }
    while ((sp = *fwrun_dpm_spawns(r)) != NULL) {
        *fwrun_dpm_spawns(r) = sp->next;
        if (sp->pid > 0) {
            kill(sp->pid, SIGTERM);
            waitpid(sp->pid, NULL, 0);
        }
        free(sp->held);
        free(sp->cwd);
        free(sp);
    }
    fwrun_standby_stop(r, 1);
}
