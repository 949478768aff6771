/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libfabric is loaded with dlopen() the first time a fabric is needed,
 * not linked. Debian's libfabric.so.1 pulls in libpsm2 and
 * libinfinipath, whose load-time constructors each calibrate a clock by
 * sleeping in 125 us steps for at least 100 ms: ~200 ms per process
 * (measured 205 ms on an idle machine), more under load. Linking it would
 * charge that to fwrun, every fwd and every rank, although single-host
 * jobs never touch the fabric.
 * Only six libfabric entry points are real symbols; the rest of the API
 * is inline calls through the objects' ops tables.
 */
#include "fabric/fab_internal.h"
#include "common/log.h"
#include "common/param.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fw_fab_dl_t fw_fab_dl_g;

static pthread_mutex_t fw_fab_dl_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Provider settings made before libfabric reads its parameters (at the
 * first fi_getinfo of the process), never over the user's environment:
 * - FI_OFI_RXM_ENABLE_DYN_RBUF=0 (needed): with dynamic receive buffers
 *   rxm places a message directly in the posted buffer; when that is too
 *   small the tcp connection is torn down ("Transport endpoint is not
 *   connected" on the next send, libfabric 1.17), so a truncated
 *   fw_fab_trecv() would cut the peer off. With rxm's bounce buffers
 *   truncation is reported cleanly.
 * - FI_OFI_RXM_CM_PROGRESS_INTERVAL (FW_FAB_RXM_CM_US; -1 leaves
 *   libfabric's default): an rxm endpoint that is not itself connecting
 *   handles connection requests at most every 10000 us by default, so
 *   the accepting side of every new connection answered 5-10 ms late,
 *   most of a first connect/accept over tcp;ofi_rxm.
 * - FI_OFI_RXM_MSG_RX_SIZE (FW_FAB_RXM_RX_SIZE): over tcp, rxm shares one
 *   receive context and posts 4096 16 KiB buffers to it at the first
 *   connection by default: 4 pool chunks, ~70 MB of page faults (~60 ms
 *   of CPU) in every process, most of a spawned child's cost after
 *   libfabric's own load. 128 fit in one chunk and are rxm's own default
 *   per connection without a shared context (verbs), which this leaves
 *   as it was. Unexpected messages never wait for a buffer (rxm replaces
 *   the buffer it parks one in).
 * setenv() runs once, under the load lock, before any fabric thread.
 */
static const struct fw_fab_dl_env {
    const char *fi;
    const char *fixed; /* value, or NULL: from the tunable fw */
    const char *fw;
    long max;
} fw_fab_dl_env_g[] = {
    {"FI_OFI_RXM_ENABLE_DYN_RBUF", "0", NULL, 0},
    {"FI_OFI_RXM_CM_PROGRESS_INTERVAL", NULL, "FW_FAB_RXM_CM_US", 1000000},
    {"FI_OFI_RXM_MSG_RX_SIZE", NULL, "FW_FAB_RXM_RX_SIZE", 65536},
};

static void
fw_fab_dl_env(void)
{
    const struct fw_fab_dl_env *e;
    char val[32];
    long v;

    for (size_t i = 0; i < sizeof(fw_fab_dl_env_g) / sizeof(*e); i++) {
        e = &fw_fab_dl_env_g[i];
        if (getenv(e->fi) != NULL)
            continue;
        if (e->fixed != NULL) {
            snprintf(val, sizeof(val), "%s", e->fixed);
        } else {
            v = fw_param_get_long(e->fw, -1, e->max);
            if (v < 0)
                continue;
            snprintf(val, sizeof(val), "%ld", v);
        }
        if (setenv(e->fi, val, 0) != 0)
            FW_LOG_WARN("fab", "setenv %s: %m", e->fi);
    }
}

/*
 * Signals whose disposition is the process's own business. Debian's
 * libinfinipath (loaded with libfabric.so.1) installs handlers for INT,
 * ILL, ABRT, BUS, SEGV and TERM in its constructor: a rank then exited
 * with status 1 on SIGTERM instead of dying by it, a crash left no core,
 * and a daemon's libevent handlers were replaced. They are put back.
 */
static const int fw_fab_dl_sigs_g[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGILL,
                                       SIGABRT, SIGBUS,  SIGFPE,  SIGSEGV,
                                       SIGPIPE, SIGTERM, SIGUSR1, SIGUSR2};
#define FW_FAB_DL_NSIGS (sizeof(fw_fab_dl_sigs_g) / sizeof(int))

static void
fw_fab_dl_sigs_save(struct sigaction *old)
{
    for (size_t i = 0; i < FW_FAB_DL_NSIGS; i++)
        if (sigaction(fw_fab_dl_sigs_g[i], NULL, &old[i]) != 0)
            old[i].sa_handler = SIG_ERR; /* unknown: left alone */
}

static void
fw_fab_dl_sigs_restore(const struct sigaction *old)
{
    struct sigaction now;

    for (size_t i = 0; i < FW_FAB_DL_NSIGS; i++) {
        if (old[i].sa_handler == SIG_ERR ||
            sigaction(fw_fab_dl_sigs_g[i], NULL, &now) != 0 ||
            now.sa_handler == old[i].sa_handler)
            continue;
        if (sigaction(fw_fab_dl_sigs_g[i], &old[i], NULL) != 0)
            FW_LOG_WARN("fab", "cannot restore the handler of signal %d: %m",
                        fw_fab_dl_sigs_g[i]);
        else
            FW_LOG_DEBUG("fab", "libfabric's load replaced the handler of "
                         "signal %d: put back", fw_fab_dl_sigs_g[i]);
    }
}

static int
fw_fab_dl_sym(void *h, const char *name, void **fn_p, fw_error_t *err)
{
    *fn_p = dlsym(h, name);
    if (*fn_p == NULL) {
        fw_errprintf(err, "libfabric: no symbol %s: %s", name, dlerror());
        return -1;
    }
    return 0;
}

fw_status_t
fw_fab_dl_load(fw_error_t *err)
{
    struct sigaction sigs[FW_FAB_DL_NSIGS];
    fw_fab_dl_t dl;
    fw_status_t status = FW_SUCCESS;
    void *h;

    pthread_mutex_lock(&fw_fab_dl_lock);
    if (fw_fab_dl_g.handle != NULL)
        goto out_unlock;
    memset(&dl, 0, sizeof(dl));
    fw_fab_dl_env();
    fw_fab_dl_sigs_save(sigs);
    h = dlopen("libfabric.so.1", RTLD_NOW | RTLD_LOCAL);
    fw_fab_dl_sigs_restore(sigs);
    if (h == NULL) {
        fw_errprintf(err, "cannot load libfabric.so.1: %s", dlerror());
        status = FW_ERR_FABRIC;
        goto out_unlock;
    }
    if (fw_fab_dl_sym(h, "fi_getinfo", (void **)&dl.getinfo, err) != 0 ||
        fw_fab_dl_sym(h, "fi_freeinfo", (void **)&dl.freeinfo, err) != 0 ||
        fw_fab_dl_sym(h, "fi_dupinfo", (void **)&dl.dupinfo, err) != 0 ||
        fw_fab_dl_sym(h, "fi_fabric", (void **)&dl.fabric, err) != 0 ||
        fw_fab_dl_sym(h, "fi_strerror", (void **)&dl.strerror, err) != 0 ||
        fw_fab_dl_sym(h, "fi_version", (void **)&dl.version, err) != 0) {
        dlclose(h);
        status = FW_ERR_FABRIC;
        goto out_unlock;
    }
    dl.handle = h;
    fw_fab_dl_g = dl;
    FW_LOG_DEBUG("fab", "libfabric loaded");
out_unlock:
    pthread_mutex_unlock(&fw_fab_dl_lock);
    return status;
}

const char *
fw_fab_dl_strerror(int errnum)
{
    /* before the load there is no fabric error to describe */
    return fw_fab_dl_g.strerror != NULL ? fw_fab_dl_g.strerror(errnum)
                                        : "libfabric not loaded";
}
