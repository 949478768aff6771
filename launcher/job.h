/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The job description fwrun builds and broadcasts to every daemon:
 * hosts, applications (MPMD), the rank -> host map and job options, with
 * its wire encoding. Also the host-list parsers and the mapper.
 */
#ifndef FW_LAUNCH_JOB_H
#define FW_LAUNCH_JOB_H

#include <fabwire/types.h>
#include <fabwire/status.h>
#include "common/buf.h"
#include "common/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FW_LAUNCH_HOST_MAX 256 /* host name bytes */

typedef enum fw_launch_bind {
    FW_LAUNCH_BIND_NONE = 0,
    FW_LAUNCH_BIND_CORE = 1,
    FW_LAUNCH_BIND_PACKAGE = 2
} fw_launch_bind_t;

typedef enum fw_launch_map {
    FW_LAUNCH_MAP_SLOT = 0,
    FW_LAUNCH_MAP_NODE = 1
} fw_launch_map_t;

typedef enum fw_launch_job_flags {
    FW_LAUNCH_F_TAG_OUTPUT = 1u << 0,
    FW_LAUNCH_F_REPORT_BINDINGS = 1u << 1,
    FW_LAUNCH_F_OVERSUBSCRIBE = 1u << 2,
    FW_LAUNCH_F_STDIN_NONE = 1u << 3
} fw_launch_job_flags_t;

typedef struct fw_launch_host {
    char *name;
    uint32_t slots;      /* 0 = unknown yet (the daemon's core count) */
    int slots_given;     /* slots came from the user */
    int is_local;        /* this machine: started without an agent */
    uint32_t daemon_id;  /* id in the daemon tree (1-based, 0 = fwrun) */
    uint32_t nprocs;     /* ranks mapped here */
    int is_self;         /* this machine under one of its names (fwrun
                          * only, not on the wire) */
} fw_launch_host_t;

typedef struct fw_launch_app {
    char **argv;      /* NULL-terminated, argv[0] = program */
    char **env;       /* NULL-terminated "VAR=value" (-x) */
    char *wdir;       /* NULL = daemon's cwd */
    uint32_t np;      /* ranks of this app */
    uint32_t first;   /* first rank */
    uint32_t nhosts;  /* 0: any host of the job; else its ranks go only */
    uint32_t *hosts;  /* on these job->hosts indices (fwrun only, not on
                       * the wire: the rank map is) */
} fw_launch_app_t;

/* The hosts an application context names (--hostfile, --host). */
typedef struct fw_launch_app_hosts {
    const char *list;  /* "h1[:slots],...", or NULL */
    const char *file;  /* hostfile path, or NULL */
} fw_launch_app_hosts_t;

typedef struct fw_launch_job {
    char jobid[FW_JOBID_MAX];
    uint32_t flags;   /* fw_launch_job_flags_t */
    uint32_t bind;    /* fw_launch_bind_t */
    uint32_t map_by;  /* fw_launch_map_t */
    uint32_t nprocs;
    uint32_t universe_size;
    uint32_t nhosts;
    fw_launch_host_t *hosts;
    uint32_t napps;
    fw_launch_app_t *apps;
    uint32_t *rank_node; /* nprocs entries: host index of each rank */
} fw_launch_job_t;

/*
 * Is name this machine (fwrun_host_is_self)? arg is the caller's. Used
 * to merge the names of this machine into one host (job_hosts.c).
 */
typedef int (*fw_launch_self_cb_t)(const char *name, void *arg);

/* Free everything a job owns (not the struct itself). Accepts NULL. */
void fw_launch_job_cleanup(fw_launch_job_t *job);

/* Append a host (name copied). */
fw_status_t fw_launch_job_add_host(fw_launch_job_t *job, const char *name,
                                   uint32_t slots, int slots_given);

/*
 * Parse "h1[:slots],h2,..." into job->hosts. A repeated host adds its
 * slots. FW_ERR_PARSE with err naming the bad item.
 */
fw_status_t fw_launch_hosts_parse_list(fw_launch_job_t *job,
                                       const char *list, fw_error_t *err);

/*
 * Parse a hostfile: "host [slots=N] [max_slots=N]" per line, '#'
 * comments, blank lines. FW_ERR_PARSE with "file:line: what" in err,
 * FW_ERR_NOT_FOUND if the file cannot be opened.
 */
fw_status_t fw_launch_hosts_parse_file(fw_launch_job_t *job,
                                       const char *path, fw_error_t *err);

/*
 * Mark the hosts that self_cb says are this machine (is_self) and merge
 * them into the first of them, as a repeated host merges: slots add up,
 * slots_given is or'ed, the first spelling and place stay. So
 * "localhost:1,127.0.0.1:1" is one host with 2 slots (one daemon), not
 * two. Call before mapping. self_cb NULL: nothing is this machine.
 * FW_SUCCESS always (nothing is allocated).
 */
fw_status_t fw_launch_hosts_merge_self(fw_launch_job_t *job,
                                       fw_launch_self_cb_t self_cb,
                                       void *arg);

/*
 * Build job->hosts from each application's hosts (ah: job->napps
 * entries): an app's hostfile, then its list, are parsed and this
 * machine's names merged (fw_launch_hosts_merge_self) as for a single
 * list; then the job's hosts are the union in order of first mention,
 * and apps[k].hosts their indices. A host named by several apps is one
 * host with the largest slot count they give: its slots are shared, not
 * added (slots_given is or'ed). Apps naming no host get nhosts 0 (any
 * host of the job); when no app names one, job->nhosts stays 0.
 * FW_ERR_PARSE / FW_ERR_NOT_FOUND as the parsers (err prefixed with
 * "application K" when there are several), FW_ERR_NO_MEM.
 */
fw_status_t fw_launch_job_hosts_build(fw_launch_job_t *job,
                                      const fw_launch_app_hosts_t *ah,
                                      fw_launch_self_cb_t self_cb,
                                      void *arg, fw_error_t *err);

/*
 * Place job->nprocs ranks on job->hosts (by slot: fill each host in
 * order; by node: round robin), filling rank_node and hosts[].nprocs.
 * Ranks are placed in order, as one pass over the hosts, each on a host
 * of its application (apps[].hosts, when given): apps on a common host
 * share its slots. Without FW_LAUNCH_F_OVERSUBSCRIBE, more ranks than
 * slots, or than an application's hosts have left, is FW_ERR_TOO_BIG
 * with an explanation in err.
 */
fw_status_t fw_launch_job_map(fw_launch_job_t *job, fw_error_t *err);

/* Wire encoding of the whole job (launch message body). */
void fw_launch_job_pack(const fw_launch_job_t *job, fw_buf_t *b);

/*
 * Decode a job; on success *job is filled and owned by the caller
 * (fw_launch_job_cleanup). FW_ERR_PROTO on malformed input.
 */
fw_status_t fw_launch_job_unpack(fw_rbuf_t *r, fw_launch_job_t *job);

/* Local rank of `rank` on its host and the number of ranks there. */
void fw_launch_job_local(const fw_launch_job_t *job, uint32_t rank,
                         uint32_t *local_rank_p, uint32_t *local_size_p);

/* Application index of a rank. */
uint32_t fw_launch_job_app_of(const fw_launch_job_t *job, uint32_t rank);

/* Spawn placement (job_slots.c): a child fwrun's arguments. */
typedef struct fw_launch_slots_args {
    uint32_t napps;
    const fw_launch_app_hosts_t *hosts; /* napps: each app's --host and
                                         * --hostfile in the child fwrun */
    const uint32_t *np;     /* napps: ranks of each app */
    uint32_t npernode;      /* 0: the hosts' slots */
    int by_node;            /* --map-by node */
    fw_launch_self_cb_t self_cb; /* names of this machine, or NULL */
    void *self_arg;
} fw_launch_slots_args_t;

/*
 * "name:slots,..." of job's hosts with the slots that its ranks and
 * held[] (one entry per job host: slots of running child jobs) leave
 * free, then extra (add-host) if not NULL; with --oversubscribe every
 * host keeps its slots. FW_ERR_TOO_BIG when the list would be empty.
 */
fw_status_t fw_launch_slots_free_list(const fw_launch_job_t *job,
                                      const uint32_t *held,
                                      const char *extra, char **list_p);

/*
 * Map a child job as a child fwrun started with a's arguments (and job's
 * --oversubscribe) will, with fw_launch_job_hosts_build and
 * fw_launch_job_map (each app on its own hosts): *held_p (calloc'd, one entry per host of job)
 * gets the ranks it places on each of job's hosts (matched by name, or
 * both being this machine: job's hosts carry is_self).
 * FW_ERR_TOO_BIG (err says why) when they do not fit; FW_ERR_PARSE or
 * FW_ERR_NOT_FOUND for a bad list or hostfile.
 */
fw_status_t fw_launch_slots_predict(const fw_launch_job_t *job,
                                    const fw_launch_slots_args_t *a,
                                    uint32_t **held_p, fw_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* FW_LAUNCH_JOB_H */
