/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fabwire dynamic processes (MPI-2 style): communicators, ports, name
 * service, connect/accept, spawn, parent, merge, disconnect.
 * Included by <fabwire.h>; see docs/dpm.md for the semantics.
 *
 * Messages of fw_comm_send/recv and every collective below travel as
 * tagged messages over the process's libfabric endpoint (opened at the
 * first call that needs it, with the job's provider). Collectives
 * (accept, connect, spawn, merge, disconnect) are called by every member
 * of the local group, with the same root.
 */
#ifndef FW_DPM_PUBLIC_H
#define FW_DPM_PUBLIC_H

#include <fabwire/types.h>
#include <fabwire/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Room for a port name, NUL included (as MPI_MAX_PORT_NAME). */
#define FW_MAX_PORT_NAME 256
/* Longest service name for fw_publish(), NUL included. */
#define FW_MAX_SERVICE 128
/* fw_comm_recv() from any source / with any tag. */
#define FW_ANY_SOURCE (-1)
#define FW_ANY_TAG (-1)
/* Largest user tag (as MPI_TAG_UB). */
#define FW_TAG_UB 65535
/* Largest fabric address fw_comm_peer_addr() returns. */
#define FW_MAX_ADDR 256

/* A communicator (opaque). */
typedef struct fw_comm fw_comm_t;
/* Info keys for spawn (opaque). */
typedef struct fw_info fw_info_t;

/*
 * The job's communicator (all ranks, rank = fw_job_info().rank) and this
 * process alone. Owned by the library: never disconnect them. NULL
 * before fw_init() and after fw_finalize().
 */
fw_comm_t *fw_comm_world(void);
fw_comm_t *fw_comm_self(void);

/* Rank in the local group, size of the local group, size of the remote
 * group (0 for an intracommunicator); -1 for a NULL comm. */
int fw_comm_rank(const fw_comm_t *comm);
int fw_comm_size(const fw_comm_t *comm);
int fw_comm_remote_size(const fw_comm_t *comm);

/*
 * Send len bytes to dest (a rank of the remote group on an
 * intercommunicator, of the group otherwise) with tag 0..FW_TAG_UB.
 * Returns once buf may be reused. Blocking.
 * Returns FW_SUCCESS, FW_ERR_BAD_PARAM, FW_ERR_NOT_INITIALIZED,
 * FW_ERR_FABRIC, FW_ERR_UNREACHABLE, FW_ERR_TIMEOUT, FW_ERR_NO_MEM.
 */
fw_status_t fw_comm_send(fw_comm_t *comm, int dest, int tag, const void *buf,
                         size_t len);

/*
 * Receive a message from src (or FW_ANY_SOURCE) with tag (or FW_ANY_TAG)
 * into buf; *len (may be NULL) gets its size. A message longer than cap
 * is consumed and FW_ERR_TRUNCATE returned (*len not written). Blocking
 * (no timeout).
 */
fw_status_t fw_comm_recv(fw_comm_t *comm, int src, int tag, void *buf,
                         size_t cap, size_t *len);

/*
 * The fabric address of remote_rank (of the remote group on an
 * intercommunicator, of the group otherwise), for an MPI library's own
 * address vector; fw_fabric_provider() names its provider. Two-call size
 * query: buf NULL or *len too small sets *len and returns FW_ERR_TOO_BIG.
 * A process relayed by a daemon (a spawned child, by default:
 * FW_DPM_RELAY) has no endpoint until an address is wanted: asking for
 * its address makes it open one (libfabric loads, ~0.4 s) at once if it
 * waits in the library, else when it next calls it; asking for any
 * address opens the caller's own. That endpoint is progressed whenever
 * its process waits in the library (fabwire's own messages still go
 * through the daemon). Waits FW_DPM_ADDR_MS (30 s): FW_ERR_TIMEOUT; the
 * process is gone: FW_ERR_UNREACHABLE; FW_ERR_NO_MEM when 4096 queries
 * for one process wait already.
 */
fw_status_t fw_comm_peer_addr(const fw_comm_t *comm, int remote_rank,
                              void *buf, size_t *len);

/* Provider of this process's endpoint ("tcp;ofi_rxm", "shm", "verbs;
 * ofi_rxm", ...), or of the daemon's that relays it, opening the
 * endpoint if needed; NULL if it cannot. */
const char *fw_fabric_provider(void);

/*
 * Open a port: a printable name (at most FW_MAX_PORT_NAME bytes with the
 * NUL) carrying what a remote root needs to reach this process over the
 * fabric. Returns FW_SUCCESS, FW_ERR_NOT_INITIALIZED, FW_ERR_BAD_PARAM,
 * FW_ERR_FABRIC, FW_ERR_NO_MEM.
 */
fw_status_t fw_port_open(char port_name[FW_MAX_PORT_NAME]);

/*
 * Close a port opened by this process. A pending fw_accept() on it
 * (in another thread) returns FW_ERR_PORT; later connects to it fail
 * with FW_ERR_TIMEOUT or FW_ERR_PORT. FW_ERR_PORT if it is not open here.
 */
fw_status_t fw_port_close(const char *port_name);

/*
 * Name service: job scope (served by fwrun, shared with the jobs it
 * spawned), or across jobs through fw-server when fwrun was given
 * --server or FW_SERVER. fw_publish: FW_ERR_EXISTS if the service is
 * published already. fw_lookup waits up to timeout_ms (0 = do not wait)
 * for a publish, then FW_ERR_NOT_FOUND. fw_unpublish: FW_ERR_NOT_FOUND,
 * FW_ERR_PERM if another job published it. Entries of a job are removed
 * when it ends.
 */
fw_status_t fw_publish(const char *service, const char *port_name);
fw_status_t fw_lookup(const char *service, int timeout_ms,
                      char port_name[FW_MAX_PORT_NAME]);
fw_status_t fw_unpublish(const char *service);

/*
 * Collective over comm: the root accepts one connect on port_name (a
 * port it opened), the others wait for the result; *inter is the new
 * intercommunicator (local group = comm's group). port_name matters at
 * the root only. Waits FW_DPM_ACCEPT_MS at most (default: forever).
 * Returns FW_SUCCESS, FW_ERR_PORT (not open here, closed meanwhile),
 * FW_ERR_TIMEOUT, FW_ERR_BAD_PARAM, FW_ERR_FABRIC, FW_ERR_NO_MEM.
 */
fw_status_t fw_accept(const char *port_name, fw_comm_t *comm, int root,
                      fw_comm_t **inter);

/*
 * Collective over comm: the root connects to port_name, the others wait
 * for the result. Fails within FW_DPM_CONNECT_MS (default 3000) when
 * the port is closed or its process is gone: FW_ERR_TIMEOUT; a malformed,
 * foreign or stale name: FW_ERR_PORT.
 */
fw_status_t fw_connect(const char *port_name, fw_comm_t *comm, int root,
                       fw_comm_t **inter);

/*
 * Start maxprocs copies of cmd (argv NULL-terminated, without argv[0];
 * may be NULL) as a new job; collective over comm, arguments significant
 * at root only. *inter connects comm's group (local) with the children
 * (remote, ranks 0..maxprocs-1). errcodes (may be NULL; size maxprocs
 * at every member) gets FW_SUCCESS or an error per child; when the call
 * fails before children start (bad arguments, no slots), each code is
 * the call's result.
 * Info keys: host, hostfile, add-host, add-hostfile, wdir, path, env
 * (newline-separated VAR=value), map_by (slot|node), npernode.
 * Returns FW_SUCCESS, FW_ERR_SPAWN (a child could not start: no child
 * is left running), FW_ERR_BAD_PARAM (unknown info key or bad value),
 * FW_ERR_TIMEOUT, FW_ERR_NOT_INITIALIZED, FW_ERR_NO_MEM.
 */
fw_status_t fw_spawn(const char *cmd, char *const argv[], int maxprocs,
                     const fw_info_t *info, int root, fw_comm_t *comm,
                     fw_comm_t **inter, int errcodes[]);

/* As fw_spawn() with count programs in one job (ranks in order);
 * errcodes has sum(maxprocs) entries; infos may be NULL. */
fw_status_t fw_spawn_multiple(int count, const char *cmds[],
                              char *const *argvs[], const int maxprocs[],
                              const fw_info_t *infos[], int root,
                              fw_comm_t *comm, fw_comm_t **inter,
                              int errcodes[]);

/* *parent = the intercommunicator to the spawning group, or NULL if this
 * job was not spawned. Owned by the library until disconnected. */
fw_status_t fw_comm_get_parent(fw_comm_t **parent);

/*
 * Collective over both groups of inter: *intra holds both groups, the
 * group that passed high = 0 first (when both pass the same value, the
 * group of the accepting / spawning side goes first).
 */
fw_status_t fw_intercomm_merge(fw_comm_t *inter, int high, fw_comm_t **intra);

/*
 * Collective over comm's local group: complete pending traffic, free the
 * communicator and set *comm to NULL. Not for world or self.
 */
fw_status_t fw_comm_disconnect(fw_comm_t **comm);

/* Info objects: key/value strings; fw_info_set replaces a key.
 * fw_info_create returns NULL when out of memory. */
fw_info_t *fw_info_create(void);
fw_status_t fw_info_set(fw_info_t *info, const char *key, const char *value);
void fw_info_free(fw_info_t *info);

#ifdef __cplusplus
}
#endif

#endif /* FW_DPM_PUBLIC_H */
