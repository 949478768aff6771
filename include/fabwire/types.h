/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Basic public types shared by every fabwire header.
 */
#ifndef FW_TYPES_H
#define FW_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FW_JOBID_MAX 64

/* Identity of the calling process in its job (fw_job_info()). */
typedef struct fw_job_info {
    uint32_t rank;          /* rank in the job, 0 .. size-1 */
    uint32_t size;          /* number of ranks in the job */
    uint32_t local_rank;    /* rank among the job's ranks on this host */
    uint32_t local_size;    /* number of the job's ranks on this host */
    uint32_t node_id;       /* index of this host in the job's host list */
    uint32_t num_nodes;     /* number of hosts that run ranks of the job */
    uint32_t universe_size; /* total slots available (MPI_UNIVERSE_SIZE) */
    char jobid[FW_JOBID_MAX];
} fw_job_info_t;

#ifdef __cplusplus
}
#endif

#endif /* FW_TYPES_H */
