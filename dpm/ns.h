/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Name service engine (fw_publish / fw_lookup / fw_unpublish): a table
 * service -> (owner jobid, port name) and the lookups waiting for a
 * publish. No sockets and no clock: the caller passes the time in and
 * gets answers to waiting lookups through an ops struct, so fwrun (job
 * scope) and fw-server (across jobs) share it and tests run it alone.
 *
 *   lookup miss, timeout > 0 --> PENDING --publish--> reply(SUCCESS, port)
 *                                   |------expire---> reply(NOT_FOUND)
 *                                   `------cancel---> (no reply)
 *
 * Not thread-safe: one thread (the owner's event loop) drives an engine.
 * Every call is non-blocking.
 */
#ifndef FW_DPM_NS_H
#define FW_DPM_NS_H

#include <fabwire/types.h>
#include <fabwire/status.h>
#include <fabwire/dpm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Hard caps (and defaults of fw_ns_set_limits): published services and
 * lookups waiting at once. Beyond them requests fail with FW_ERR_TOO_BIG
 * instead of growing the server without bound. */
#define FW_NS_MAX_ENTRIES 65536u
#define FW_NS_MAX_PENDING 65536u

typedef struct fw_ns fw_ns_t;

/*
 * Who waits for a lookup: requester is what fw_ns_cancel() matches (a
 * connection, a rank...), tag is the caller's own (a request id). Both
 * are opaque to the engine and handed back unchanged.
 */
typedef struct fw_ns_cookie {
    void *requester;
    uint64_t tag;
} fw_ns_cookie_t;

struct fw_ns_ops {
    /*
     * The answer to a lookup that returned FW_INPROGRESS: FW_SUCCESS with
     * port (borrowed for the call), or FW_ERR_NOT_FOUND with port NULL
     * when its deadline passed. Runs from fw_ns_publish() or
     * fw_ns_expire(). It may call any fw_ns_* function on the same engine
     * except fw_ns_destroy(); lookups cancelled from inside it are not
     * answered.
     */
    void (*reply)(void *arg, const fw_ns_cookie_t *cookie,
                  fw_status_t status, const char *port);
};

/*
 * Create an empty engine. ops is borrowed and must outlive the engine.
 * The caller owns *ns_p (fw_ns_destroy). Returns FW_SUCCESS,
 * FW_ERR_BAD_PARAM (NULL ops, ops->reply or ns_p), FW_ERR_NO_MEM.
 */
fw_status_t fw_ns_create(const struct fw_ns_ops *ops, void *arg,
                         fw_ns_t **ns_p);

/* Free the engine; waiting lookups are dropped without a reply.
 * Accepts NULL. */
void fw_ns_destroy(fw_ns_t *ns);

/*
 * Lower the caps (1 .. FW_NS_MAX_*). Entries and lookups already held
 * stay. FW_SUCCESS or FW_ERR_BAD_PARAM.
 */
fw_status_t fw_ns_set_limits(fw_ns_t *ns, size_t max_entries,
                             size_t max_pending);

/*
 * Publish service -> port for owner (a jobid, 1 .. FW_JOBID_MAX-1
 * chars). Every lookup waiting for service is answered (reply callback,
 * FW_SUCCESS) before this returns.
 * Returns FW_SUCCESS, FW_ERR_EXISTS (published already, by anyone),
 * FW_ERR_BAD_PARAM (empty or too long owner, service (>= FW_MAX_SERVICE
 * with the NUL) or port (>= FW_MAX_PORT_NAME)), FW_ERR_TOO_BIG (table
 * full), FW_ERR_NO_MEM. Nothing changes on failure.
 */
fw_status_t fw_ns_publish(fw_ns_t *ns, const char *owner, const char *service,
                          const char *port);

/*
 * Look service up. Published: FW_SUCCESS and port_out written. Not
 * published and timeout_ms 0: FW_ERR_NOT_FOUND. Otherwise the lookup
 * waits until now_ms + timeout_ms and FW_INPROGRESS is returned: the
 * answer comes through the reply callback with a copy of *cookie.
 * Returns also FW_ERR_BAD_PARAM (bad service, NULL cookie or port_out),
 * FW_ERR_TOO_BIG (too many waiting lookups), FW_ERR_NO_MEM.
 */
fw_status_t fw_ns_lookup(fw_ns_t *ns, const char *service,
                         uint32_t timeout_ms, uint64_t now_ms,
                         const fw_ns_cookie_t *cookie,
                         char port_out[FW_MAX_PORT_NAME]);

/*
 * Remove service if owner published it. Returns FW_SUCCESS,
 * FW_ERR_NOT_FOUND, FW_ERR_PERM (published by another owner),
 * FW_ERR_BAD_PARAM.
 */
fw_status_t fw_ns_unpublish(fw_ns_t *ns, const char *owner,
                            const char *service);

/* Answer FW_ERR_NOT_FOUND to every lookup whose deadline is <= now_ms. */
void fw_ns_expire(fw_ns_t *ns, uint64_t now_ms);

/* Earliest deadline of a waiting lookup (ms, the caller's clock), or 0
 * when none waits. */
uint64_t fw_ns_next_deadline(const fw_ns_t *ns);

/* Remove every entry published by owner (a job that ended). Returns the
 * number removed. */
size_t fw_ns_drop_owner(fw_ns_t *ns, const char *owner);

/* Forget the waiting lookups of requester (gone away), without reply.
 * Returns the number forgotten. */
size_t fw_ns_cancel(fw_ns_t *ns, const void *requester);

/* Published services and waiting lookups, for logs and tests. */
size_t fw_ns_count(const fw_ns_t *ns);
size_t fw_ns_pending(const fw_ns_t *ns);

#ifdef __cplusplus
}
#endif

#endif /* FW_DPM_NS_H */
