/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fw-bench-ep: open one fabric endpoint the way a fabwire process does
 * (fw_fab_open: libfabric loaded, provider chosen by FW_PROVIDER, domain,
 * endpoint, address vector, queues) and read its address, then exit 0.
 * Run K at once by fw-bench-floor, it is the floor of a spawn whose K
 * children must each open an endpoint to reach their parent: what the
 * provider costs, before anything of fabwire's own.
 *   fw-bench-ep        (exit 0, or 1 with the reason on stderr)
 */
#include "fabric/fab.h"

#include <stdio.h>

int
main(int argc, char **argv)
{
    unsigned char addr[FW_FAB_ADDR_MAX];
    size_t len = sizeof(addr);
    fw_fab_t *fab = NULL;
    fw_error_t err;
    fw_status_t rc;

    (void)argv;
    if (argc != 1) {
        fputs("usage: fw-bench-ep (provider from FW_PROVIDER)\n", stderr);
        return 2;
    }
    rc = fw_fab_open(NULL, &fab, &err);
    if (rc != FW_SUCCESS) {
        fprintf(stderr, "fw-bench-ep: %s\n", err.text);
        return 1;
    }
    rc = fw_fab_addr_get(fab, addr, &len);
    fw_fab_close(fab);
    if (rc != FW_SUCCESS) {
        fprintf(stderr, "fw-bench-ep: cannot read the endpoint address\n");
        return 1;
    }
    return 0;
}
