/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fw_init and fw_finalize: the modex client (daemon connection, segment)
 * below, the dpm layer above. A spawned process connects back to its
 * parent inside fw_init, as MPI_Init does.
 */
#include "dpm/dpm_int.h"
#include "modex/modex_client.h"
#include "common/log.h"

/* fw_finalize() ran: a process joins its job once, as with MPI_Init. */
static int fw_finalized_g;

fw_status_t
fw_init(int *argc, char ***argv)
{
    fw_status_t rc;

    (void)argc;
    (void)argv;
    if (fw_client_g.initialized)
        return FW_SUCCESS;
    if (fw_finalized_g)
        return FW_ERR_UNSUPPORTED; /* the daemon has let this rank go */
    FW_LOG_DEBUG("dpm", "fw_init: joining the job");
    rc = fw_client_init();
    if (rc != FW_SUCCESS)
        return rc;
    rc = fw_dpm_init();
    if (rc == FW_SUCCESS)
        rc = fw_dpm_parent_connect();
    if (rc != FW_SUCCESS) {
        void *graveyard = fw_dpm_g.graveyard;
        size_t n = fw_dpm_g.ngraveyard;

        fw_dpm_fini();
        (void)fw_client_finalize();
        fw_dpm_graveyard_free(graveyard, n);
    }
    return rc;
}

fw_status_t
fw_finalize(void)
{
    void *graveyard = fw_dpm_g.graveyard;
    size_t n = fw_dpm_g.ngraveyard;
    fw_status_t rc;

    if (!fw_client_g.initialized)
        return FW_ERR_NOT_INITIALIZED;
    fw_dpm_fini();
    rc = fw_client_finalize(); /* closes the endpoint */
    fw_dpm_graveyard_free(graveyard, n);
    fw_finalized_g = 1;
    return rc;
}
