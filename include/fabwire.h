/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fabwire client library (libfabwire): job identity and modex
 * (put/commit/fence/get) for processes started by fwrun.
 *
 * Threading: every call may be made from any one application thread at a
 * time (the library is not yet thread-safe; serialise calls yourself).
 */
#ifndef FW_FABWIRE_H
#define FW_FABWIRE_H

#include <fabwire/types.h>
#include <fabwire/status.h>
#include <fabwire/dpm.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FW_VERSION_MAJOR 0
#define FW_VERSION_MINOR 1
#define FW_VERSION_PATCH 0

/* Largest key accepted by fw_put(), including its terminating NUL. */
#define FW_MAX_KEY 64
/* Largest single value accepted by fw_put(). */
#define FW_MAX_VALUE (16 * 1024)
/* Largest committed card (all keys and values of one rank, encoded). */
#define FW_MAX_CARD (64 * 1024)

/*
 * Initialise the library: connect to the local fwrun daemon named in the
 * environment and authenticate. argc/argv may be NULL; they are not
 * modified. Blocking.
 * Returns FW_SUCCESS, FW_ERR_NOT_FOUND (not started by fwrun),
 * FW_ERR_UNREACHABLE, FW_ERR_AUTH, FW_ERR_NO_MEM, FW_ERR_PROTO.
 * Calling it twice is FW_SUCCESS and does nothing; calling it after
 * fw_finalize() is FW_ERR_UNSUPPORTED (a process joins its job once, as
 * with MPI_Init).
 */
fw_status_t fw_init(int *argc, char ***argv);

/*
 * Release everything fw_init() acquired. Afterwards every call but
 * fw_init() (FW_ERR_UNSUPPORTED) and fw_strerror() returns
 * FW_ERR_NOT_INITIALIZED. Blocking.
 */
fw_status_t fw_finalize(void);

/*
 * Fill *info with this process's identity. *info is written only on
 * success. Returns FW_SUCCESS, FW_ERR_BAD_PARAM, FW_ERR_NOT_INITIALIZED.
 */
fw_status_t fw_job_info(fw_job_info_t *info);

/*
 * Add key=value to this process's card (a later put of the same key
 * replaces the value). The data is copied. Not visible to others before
 * fw_commit() and the next fw_fence(). Non-blocking, local. The card
 * lives on across epochs: keys are added or replaced, never removed, and
 * a rank that commits nothing before a fence keeps its previous card.
 * Returns FW_SUCCESS, FW_ERR_BAD_PARAM (NULL or empty key, value NULL
 * with len > 0), FW_ERR_TOO_BIG (key >= FW_MAX_KEY, len > FW_MAX_VALUE,
 * or the card would exceed FW_MAX_CARD), FW_ERR_NO_MEM,
 * FW_ERR_NOT_INITIALIZED.
 */
fw_status_t fw_put(const char *key, const void *value, size_t len);

/*
 * Hand the current card to the local daemon for the next fence. Returns
 * once it is sent (the daemon answers nothing; a card it refuses makes
 * the next fw_fence() fail with FW_ERR_PROTO). Returns FW_SUCCESS,
 * FW_ERR_NOT_INITIALIZED, FW_ERR_UNREACHABLE, FW_ERR_NO_MEM.
 */
fw_status_t fw_commit(void);

/*
 * Barrier over every rank of the job; after it, every card committed
 * before it can be read with fw_get(). Moves no card data. Blocking.
 * Returns FW_SUCCESS, FW_ERR_NOT_INITIALIZED, FW_ERR_PROTO (the daemon
 * refused this rank's last commit; the fence still completed),
 * FW_ERR_UNREACHABLE (the daemon is gone, or a rank of the job finalized
 * or exited without entering this fence: it fails at once, as does every
 * later fence; fw_get() still reads the cards of the last completed
 * one), FW_ERR_JOB_ABORTED, FW_ERR_TIMEOUT (after FW_MODEX_TIMEOUT_MS,
 * 600 s by default; the rank's daemon link is then unusable).
 */
fw_status_t fw_fence(void);

/*
 * Read key of rank's card as of the last completed fence. On success
 * *value is a malloc()ed copy that the caller frees with free(), and *len
 * its length; nothing is written on failure. Blocking (one RMA read of the
 * peer host's window at most; later gets of that host come from cache).
 * Returns FW_SUCCESS, FW_ERR_BAD_PARAM, FW_ERR_NOT_INITIALIZED,
 * FW_ERR_NOT_READY (no fence yet), FW_ERR_NOT_FOUND (no such rank or key),
 * FW_ERR_TOO_BIG (key >= FW_MAX_KEY), FW_ERR_FABRIC, FW_ERR_UNREACHABLE,
 * FW_ERR_TIMEOUT, FW_ERR_NO_MEM.
 */
fw_status_t fw_get(uint32_t rank, const char *key, void **value, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* FW_FABWIRE_H */
