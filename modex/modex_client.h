/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private state of libfabwire's client side, shared by modex_client.c
 * (init, put, commit, fence) and modex_get.c (get, remote windows); the
 * dpm layer extends it through the accessors.
 */
#ifndef FW_MODEX_CLIENT_H
#define FW_MODEX_CLIENT_H

#include "modex/modex.h"
#include "oob/oob.h"
#include "fabric/fab.h"

typedef struct fw_client_remote fw_client_remote_t;

typedef struct fw_client {
    int initialized;
    fw_job_info_t info;
    fw_oob_sconn_t *conn;    /* to the local daemon */
    fw_modex_seg_t *seg;     /* the daemon's segment, read-only */
    fw_modex_card_t *card;   /* this rank's card under construction */
    uint64_t epoch;          /* completed fences */
    fw_fab_t *fab;           /* opened at the first remote read */
    fw_status_t fab_rc;      /* why it could not be opened (said once) */
    fw_client_remote_t *remote; /* by node: cached window, peer */
    int local_fabric;        /* FW_MODEX_LOCAL=fabric, read at init */
} fw_client_t;

extern fw_client_t fw_client_g;

/* One request to the daemon and its reply (payload borrowed until the
 * next call). */
fw_status_t fw_client_call(uint8_t type, const void *p, size_t len,
                           uint8_t reply_type, const void **reply_p,
                           size_t *reply_len_p);

void fw_client_cleanup(fw_client_t *c);

/* Connect to the daemon (fw_init's first half) and leave (fw_finalize's
 * last half); the dpm layer wraps them. */
fw_status_t fw_client_init(void);
fw_status_t fw_client_finalize(void);

/* Per-node remote window cache (modex_get.c). */
fw_status_t fw_client_remote_alloc(fw_client_t *c);
void fw_client_remote_free(fw_client_t *c);

/* The process's fabric endpoint, opened on first use with the daemons'
 * provider and address. */
fw_status_t fw_client_fab(fw_client_t *c, fw_fab_t **fab_p);

#endif /* FW_MODEX_CLIENT_H */
