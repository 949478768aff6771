/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fwd's fabric endpoint, shared by the modex window (fwd_modex.c) and
 * relaying (fwd_relay.c). It opens at the first need, or ahead of it in
 * a thread (fwd_fabric_warm): loading libfabric costs ~0.4 s here, which
 * a relayed child or a first fence should not wait for. The thread only
 * runs fw_fab_open(); the endpoint is used by the event loop alone, once
 * the thread has handed it over through a pipe.
 */
#define _GNU_SOURCE
#include "launcher/fwd.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fwd_warm {
    pthread_t thr;
    int pipe[2];
    struct event *ev;
    fw_fab_params_t params;
    char provider[FW_FAB_NAME_MAX];
    char src_node[64];
    fw_fab_t *fab;       /* the thread's result */
    fw_status_t rc;
    fw_error_t err;
};

/* Drive the provider (manual progress: peers' reads need us to). */
static void
fwd_fab_cb(evutil_socket_t fd, short what, void *arg)
{
    fwd_t *d = arg;
    size_t n = 0;
    int rounds = 0;

    struct timeval ms = {0, 1000};

    do {
        if (fw_fab_progress(d->fab, &n) != FW_SUCCESS)
            break;
    } while (n > 0 && ++rounds < 64);
    /* without a wait fd the 1 ms timer polls; with one, sleep only when
     * the provider agrees nothing is pending. When it does not agree but
     * nothing moved (a send the provider keeps refusing, to a peer that
     * is gone), poll every 1 ms: going round at once would starve the
     * daemon's connections. */
    if (fw_fab_wait_fd(d->fab) < 0)
        return;
    if (fw_fab_trywait(d->fab) == FW_SUCCESS)
        event_add(d->fab_ev, NULL);
    else if (rounds >= 64)
        event_active(d->fab_ev, EV_TIMEOUT, 0);
    else
        event_add(d->fab_ev, &ms);
}

static void
fwd_fabric_params(fwd_t *d, fw_fab_params_t *params, char *prov,
                  size_t prov_len, char *node, size_t node_len)
{
    const char *src = fw_oob_conn_local_addr(d->tree.parent);

    memset(params, 0, sizeof(*params));
    params->field_mask = FW_FAB_PARAMS_FIELD_PROVIDER |
                         FW_FAB_PARAMS_FIELD_SRC_NODE;
    snprintf(prov, prov_len, "%s", d->provider != NULL ? d->provider : "");
    snprintf(node, node_len, "%s", src != NULL ? src : "");
    params->provider = prov[0] != '\0' ? prov : NULL;
    params->src_node = node[0] != '\0' ? node : NULL;
}

/* Take an opened endpoint into the event loop. */
static fw_status_t
fwd_fabric_adopt(fwd_t *d, fw_fab_t *fab)
{
    struct timeval ms = {0, 1000};
    int wfd = fw_fab_wait_fd(fab);

    d->fab = fab;
    d->fab_ev = wfd >= 0 ? event_new(d->base, wfd, EV_READ | EV_PERSIST,
                                     fwd_fab_cb, d)
                         : event_new(d->base, -1, EV_PERSIST, fwd_fab_cb, d);
    if (d->fab_ev == NULL ||
        event_add(d->fab_ev, wfd >= 0 ? NULL : &ms) != 0)
        return FW_ERR_NO_MEM;
    return FW_SUCCESS;
}

/* Wait for the thread and take its result (once). */
static fw_status_t
fwd_fabric_join(fwd_t *d)
{
    struct fwd_warm *w = d->warm;
    fw_status_t rc;

    if (w == NULL)
        return FW_ERR_NOT_FOUND;
    pthread_join(w->thr, NULL);
    if (w->ev != NULL)
        event_free(w->ev);
    close(w->pipe[0]);
    close(w->pipe[1]);
    rc = w->rc;
    if (rc == FW_SUCCESS)
        rc = fwd_fabric_adopt(d, w->fab);
    else
        snprintf(d->fab_err, sizeof(d->fab_err), "%s", w->err.text);
    d->fab_rc = rc;
    free(w);
    d->warm = NULL;
    return rc;
}

fw_status_t
fwd_fabric_open(fwd_t *d)
{
    char prov[FW_FAB_NAME_MAX], node[64];
    fw_fab_params_t params;
    fw_fab_t *fab = NULL;
    fw_error_t err;
    fw_status_t rc;

    if (d->fab != NULL)
        return FW_SUCCESS;
    if (d->warm != NULL) {
        rc = fwd_fabric_join(d);
        fwd_relay_fabric_ready(d);
        return rc;
    }
    if (d->fab_rc != FW_SUCCESS)
        return d->fab_rc;
    fwd_fabric_params(d, &params, prov, sizeof(prov), node, sizeof(node));
    rc = fw_fab_open(&params, &fab, &err);
    if (rc == FW_SUCCESS)
        rc = fwd_fabric_adopt(d, fab);
    else
        snprintf(d->fab_err, sizeof(d->fab_err), "%s", err.text);
    d->fab_rc = rc;
    fwd_relay_fabric_ready(d);
    return rc;
}

static void *
fwd_warm_main(void *arg)
{
    struct fwd_warm *w = arg;
    char one = 1;

    w->rc = fw_fab_open(&w->params, &w->fab, &w->err);
    while (write(w->pipe[1], &one, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

static void
fwd_warm_done(evutil_socket_t fd, short what, void *arg)
{
    fwd_t *d = arg;

    if (d->warm == NULL)
        return;
    (void)fwd_fabric_join(d);
    fwd_relay_fabric_ready(d);
}

void
fwd_fabric_warm(fwd_t *d)
{
    struct fwd_warm *w;

    if (d->fab != NULL || d->warm != NULL || d->fab_rc != FW_SUCCESS ||
        d->shutting_down || !d->configured)
        return;
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return;
    fwd_fabric_params(d, &w->params, w->provider, sizeof(w->provider),
                      w->src_node, sizeof(w->src_node));
    if (pipe2(w->pipe, O_CLOEXEC) != 0) {
        free(w);
        return;
    }
    w->ev = event_new(d->base, w->pipe[0], EV_READ, fwd_warm_done, d);
    if (w->ev == NULL || event_add(w->ev, NULL) != 0 ||
        pthread_create(&w->thr, NULL, fwd_warm_main, w) != 0) {
        if (w->ev != NULL)
            event_free(w->ev);
        close(w->pipe[0]);
        close(w->pipe[1]);
        free(w);
        return;
    }
    d->warm = w;
    FW_LOG_DEBUG("launch", "daemon %u: opening the fabric ahead of need",
                 d->id);
}

void
fwd_fabric_cleanup(fwd_t *d)
{
    if (d->warm != NULL)
        (void)fwd_fabric_join(d); /* never exit inside the loader */
    if (d->fab_ev != NULL)
        event_free(d->fab_ev);
    d->fab_ev = NULL;
    fw_fab_close(d->fab);
    d->fab = NULL;
}
