/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ns_client: one name service request to fw-server over a blocking OOB
 * connection (peer kind TOOL), for the fw-server tests.
 *
 *   ns_client CONTACT publish OWNER SERVICE PORT
 *   ns_client CONTACT lookup OWNER SERVICE TIMEOUT_MS
 *   ns_client CONTACT unpublish OWNER SERVICE
 *   ns_client CONTACT drop OWNER
 *   ns_client CONTACT hold OWNER SERVICE PORT SECONDS
 *   ns_client CONTACT garbage OWNER   (a malformed NS_REQ: the server
 *                                      should hang up, FW_ERR_CONN_CLOSED)
 *
 * CONTACT is the contact string or file:PATH. Prints the status name
 * (and the port of a successful lookup) on stdout; exits 0 on
 * FW_SUCCESS, 1 otherwise, 2 for a bad command line. hold publishes,
 * prints the status, then keeps the connection open SECONDS.
 */
#include "dpm/ns_wire.h"
#include "oob/oob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NS_CLIENT_CONNECT_MS 5000

typedef struct ns_client_cmd {
    const char *name;
    uint8_t op;
    int nargs; /* after the op name */
} ns_client_cmd_t;

static const ns_client_cmd_t ns_client_cmds[] = {
    {"publish", FW_DPM_OP_PUBLISH, 3},   {"lookup", FW_DPM_OP_LOOKUP, 3},
    {"unpublish", FW_DPM_OP_UNPUBLISH, 2}, {"drop", FW_DPM_OP_DROP, 1},
    {"hold", FW_DPM_OP_PUBLISH, 4},      {"garbage", 0, 1}};

static const char *
ns_client_status_name(fw_status_t st)
{
    switch (st) {
#define NS_CLIENT_NAME_(name, value, text)                                    \
    case name:                                                                \
        return #name;
        FW_STATUS_LIST(NS_CLIENT_NAME_)
#undef NS_CLIENT_NAME_
    default:
        return "FW_UNKNOWN_STATUS";
    }
}

static int
ns_client_copy(char *out, size_t cap, const char *s)
{
    if (strlen(s) >= cap)
        return -1;
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

/* argv[2..] into req; the command, or NULL for a bad command line */
static const ns_client_cmd_t *
ns_client_parse(int argc, char **argv, fw_ns_req_t *req)
{
    const ns_client_cmd_t *cmd = NULL;
    size_t i;

    for (i = 0; argc >= 4 && i < sizeof(ns_client_cmds) /
                                     sizeof(ns_client_cmds[0]); i++)
        if (strcmp(argv[2], ns_client_cmds[i].name) == 0)
            cmd = &ns_client_cmds[i];
    if (cmd == NULL || argc != 3 + cmd->nargs)
        return NULL;
    memset(req, 0, sizeof(*req));
    req->reqid = (uint32_t)getpid();
    req->op = cmd->op;
    if (ns_client_copy(req->owner, sizeof(req->owner), argv[3]) != 0 ||
        (cmd->nargs > 1 &&
         ns_client_copy(req->service, sizeof(req->service), argv[4]) != 0))
        return NULL;
    if (cmd->op == FW_DPM_OP_PUBLISH &&
        ns_client_copy(req->port, sizeof(req->port), argv[5]) != 0)
        return NULL;
    if (cmd->op == FW_DPM_OP_LOOKUP)
        req->timeout_ms = (uint32_t)strtoul(argv[5], NULL, 10);
    return cmd;
}

static fw_status_t ns_client_call(fw_oob_sconn_t *s, const fw_ns_req_t *req,
                                  fw_ns_reply_t *rep);

/* DROP has no reply: a lookup behind it on the same connection tells
 * when the server has handled it. */
static fw_status_t
ns_client_barrier(fw_oob_sconn_t *s, const fw_ns_req_t *drop)
{
    fw_ns_req_t req;
    fw_ns_reply_t rep;

    memset(&req, 0, sizeof(req));
    req.reqid = drop->reqid + 1;
    req.op = FW_DPM_OP_LOOKUP;
    memcpy(req.owner, drop->owner, sizeof(req.owner));
    snprintf(req.service, sizeof(req.service), "ns_client.barrier");
    return ns_client_call(s, &req, &rep);
}

/* A request with an unknown op (0), then wait for the server's answer. */
static fw_status_t
ns_client_garbage(fw_oob_sconn_t *s)
{
    static const uint8_t body[] = {0, 0, 0, 1, 0, 0, 0, 0, 0};
    fw_oob_hdr_t h;
    const void *p;
    fw_status_t rc;

    rc = fw_oob_sconn_send(s, FW_DPM_MSG_NS_REQ, 0, 0, body, sizeof(body));
    if (rc == FW_SUCCESS)
        rc = fw_oob_sconn_recv(s, 10000, &h, &p);
    return rc == FW_SUCCESS ? FW_ERR_PROTO : rc;
}

/* Send req and wait for its reply. */
static fw_status_t
ns_client_call(fw_oob_sconn_t *s, const fw_ns_req_t *req, fw_ns_reply_t *rep)
{
    fw_oob_hdr_t h;
    const void *p;
    fw_buf_t b;
    fw_status_t rc;

    if (req->op == 0)
        return ns_client_garbage(s);
    fw_buf_init(&b);
    rc = fw_ns_req_pack(req, &b);
    if (rc == FW_SUCCESS)
        rc = fw_oob_sconn_send(s, FW_DPM_MSG_NS_REQ, req->reqid, 0, b.data,
                               b.len);
    fw_buf_cleanup(&b);
    if (rc != FW_SUCCESS)
        return rc;
    if (req->op == FW_DPM_OP_DROP)
        return ns_client_barrier(s, req);
    for (;;) {
        rc = fw_oob_sconn_recv(s, (int)req->timeout_ms + 10000, &h, &p);
        if (rc != FW_SUCCESS)
            return rc;
        if (h.type != FW_DPM_MSG_NS_REPLY)
            continue;
        rc = fw_ns_reply_unpack(p, h.len, rep);
        if (rc != FW_SUCCESS || rep->reqid == req->reqid)
            return rc;
    }
}

int
main(int argc, char **argv)
{
    uint8_t secret[FW_OOB_SECRET_LEN];
    char uri[FW_OOB_URI_MAX];
    const ns_client_cmd_t *cmd;
    fw_oob_sconn_t *s = NULL;
    fw_ns_req_t req;
    fw_ns_reply_t rep;
    fw_error_t err;
    fw_status_t rc;

    memset(&err, 0, sizeof(err));
    memset(&rep, 0, sizeof(rep));
    cmd = ns_client_parse(argc, argv, &req);
    if (cmd == NULL) {
        fprintf(stderr, "usage: ns_client CONTACT publish|lookup|unpublish|"
                "drop|hold OWNER [SERVICE [PORT|TIMEOUT_MS [SECONDS]]]\n");
        return 2;
    }
    if (fw_ns_contact_parse(argv[1], secret, uri, &err) != FW_SUCCESS) {
        fprintf(stderr, "ns_client: bad contact '%s': %s\n", argv[1],
                err.text);
        printf("%s\n", ns_client_status_name(FW_ERR_PARSE));
        return 1;
    }
    rc = fw_oob_sconn_open(uri, secret, FW_OOB_PEER_TOOL, (uint32_t)getpid(),
                           NS_CLIENT_CONNECT_MS, &s, &err);
    if (rc != FW_SUCCESS)
        fprintf(stderr, "ns_client: %s\n", err.text);
    else
        rc = ns_client_call(s, &req, &rep);
    if (rc == FW_SUCCESS && cmd->op != FW_DPM_OP_DROP && cmd->op != 0)
        rc = rep.status;
    if (rc == FW_SUCCESS && cmd->op == FW_DPM_OP_LOOKUP)
        printf("%s %s\n", ns_client_status_name(rc), rep.port);
    else
        printf("%s\n", ns_client_status_name(rc));
    fflush(stdout);
    if (rc == FW_SUCCESS && strcmp(cmd->name, "hold") == 0)
        sleep((unsigned)strtoul(argv[6], NULL, 10));
    fw_oob_sconn_close(s);
    return rc == FW_SUCCESS ? 0 : 1;
}
