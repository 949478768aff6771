/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fw_publish, fw_lookup, fw_unpublish: requests to fwrun, which serves
 * them itself (job scope, shared with the jobs it spawned) or passes
 * them to fw-server (--server / FW_SERVER).
 */
#include "dpm/dpm_int.h"
#include "modex/modex_client.h"

#include <stdlib.h>
#include <string.h>

static fw_status_t
fw_dpm_ns_check(const char *service)
{
    if (!fw_client_g.initialized || !fw_dpm_g.up)
        return FW_ERR_NOT_INITIALIZED;
    if (service == NULL || service[0] == '\0' ||
        strlen(service) >= FW_MAX_SERVICE)
        return FW_ERR_BAD_PARAM;
    return FW_SUCCESS;
}

static fw_status_t
fw_dpm_ns_call(uint8_t op, fw_buf_t *b, int timeout_ms, void **reply_p,
               size_t *len_p)
{
    void *reply = NULL;
    size_t len = 0;
    fw_status_t rc = fw_buf_status(b);

    if (rc == FW_SUCCESS)
        rc = fw_dpm_call(op, b, NULL, timeout_ms, &reply, &len);
    fw_buf_cleanup(b);
    if (reply_p != NULL) {
        *reply_p = reply;
        *len_p = len;
    } else {
        free(reply);
    }
    return rc;
}

fw_status_t
fw_publish(const char *service, const char *port_name)
{
    fw_buf_t b;
    fw_status_t rc = fw_dpm_ns_check(service);

    if (rc != FW_SUCCESS)
        return rc;
    if (port_name == NULL || port_name[0] == '\0' ||
        strlen(port_name) >= FW_MAX_PORT_NAME)
        return FW_ERR_BAD_PARAM;
    fw_buf_init(&b);
    fw_buf_put_str(&b, service);
    fw_buf_put_str(&b, port_name);
    return fw_dpm_ns_call(FW_DPM_OP_PUBLISH, &b, 30000, NULL, NULL);
}

fw_status_t
fw_lookup(const char *service, int timeout_ms,
          char port_name[FW_MAX_PORT_NAME])
{
    void *reply = NULL;
    size_t len = 0;
    fw_rbuf_t r;
    fw_buf_t b;
    char *port;
    fw_status_t rc = fw_dpm_ns_check(service);

    if (rc != FW_SUCCESS)
        return rc;
    if (port_name == NULL || timeout_ms < 0)
        return FW_ERR_BAD_PARAM;
    fw_buf_init(&b);
    fw_buf_put_str(&b, service);
    fw_buf_put_u32(&b, (uint32_t)timeout_ms);
    rc = fw_dpm_ns_call(FW_DPM_OP_LOOKUP, &b, timeout_ms + 30000, &reply,
                        &len);
    if (rc == FW_SUCCESS) {
        fw_rbuf_init(&r, reply, len);
        port = fw_rbuf_get_str(&r, FW_MAX_PORT_NAME);
        if (port == NULL) {
            rc = FW_ERR_PROTO;
        } else {
            memcpy(port_name, port, strlen(port) + 1);
            free(port);
        }
    }
    free(reply);
    return rc;
}

fw_status_t
fw_unpublish(const char *service)
{
    fw_buf_t b;
    fw_status_t rc = fw_dpm_ns_check(service);

    if (rc != FW_SUCCESS)
        return rc;
    fw_buf_init(&b);
    fw_buf_put_str(&b, service);
    return fw_dpm_ns_call(FW_DPM_OP_UNPUBLISH, &b, 30000, NULL, NULL);
}
