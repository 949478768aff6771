/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Name service wire codec (NS_REQ, NS_REPLY) and the fw-server contact
 * string (see ns_wire.h). Strings are copied into the fixed fields of
 * the structs, so unpacking allocates nothing.
 */
#include "dpm/ns_wire.h"
#include "common/log.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/****************/
/* Local Macros */
/****************/

#define FW_NS_TCP_PREFIX "tcp://"

/********************/
/* Local Functions  */
/********************/

/* Read a string of at most cap-1 bytes, without NUL, into out. */
static void
fw_ns_wire_get_str(fw_rbuf_t *r, char *out, size_t cap)
{
    size_t n = 0;
    const char *p = fw_rbuf_get_blob(r, cap - 1, &n);

    if (p == NULL || r->err || (n > 0 && memchr(p, '\0', n) != NULL)) {
        r->err = 1;
        return;
    }
    if (n > 0)
        memcpy(out, p, n);
    out[n] = '\0';
}

/* 1 if s is NUL-terminated within cap bytes */
static int
fw_ns_wire_str_fits(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static int
fw_ns_status_known(uint32_t wire)
{
    switch (-(int64_t)wire) {
#define FW_NS_STATUS_CASE_(name, value, text) case value:
        FW_STATUS_LIST(FW_NS_STATUS_CASE_)
#undef FW_NS_STATUS_CASE_
        return 1; /* FW_INPROGRESS (1) cannot match a negated u32 */
    default:
        return 0;
    }
}

/*********************/
/* Public Functions  */
/*********************/

int
fw_ns_op_valid(uint8_t op)
{
    return op == FW_DPM_OP_PUBLISH || op == FW_DPM_OP_LOOKUP ||
           op == FW_DPM_OP_UNPUBLISH || op == FW_DPM_OP_DROP;
}

void
fw_ns_fields_pack(const fw_ns_req_t *req, fw_buf_t *b)
{
    fw_buf_put_str(b, req->service);
    fw_buf_put_str(b, req->op == FW_DPM_OP_PUBLISH ? req->port : "");
    fw_buf_put_u32(b, req->op == FW_DPM_OP_LOOKUP ? req->timeout_ms : 0);
}

void
fw_ns_fields_unpack(fw_rbuf_t *r, uint8_t op, fw_ns_req_t *req)
{
    char service[FW_MAX_SERVICE], port[FW_MAX_PORT_NAME];
    uint32_t timeout;

    fw_ns_wire_get_str(r, service, sizeof(service));
    fw_ns_wire_get_str(r, port, sizeof(port));
    timeout = fw_rbuf_get_u32(r);
    if (r->err)
        return;
    if ((op != FW_DPM_OP_PUBLISH && port[0] != '\0') ||
        (op != FW_DPM_OP_LOOKUP && timeout != 0)) {
        r->err = 1;
        return;
    }
    memcpy(req->service, service, sizeof(service));
    memcpy(req->port, port, sizeof(port));
    req->timeout_ms = timeout;
}

fw_status_t
fw_ns_req_pack(const fw_ns_req_t *req, fw_buf_t *b)
{
    if (req == NULL || b == NULL || !fw_ns_op_valid(req->op) ||
        !fw_ns_wire_str_fits(req->owner, sizeof(req->owner)) ||
        !fw_ns_wire_str_fits(req->service, sizeof(req->service)) ||
        !fw_ns_wire_str_fits(req->port, sizeof(req->port)))
        return FW_ERR_BAD_PARAM;
    fw_buf_put_u32(b, req->reqid);
    fw_buf_put_u8(b, req->op);
    fw_buf_put_str(b, req->owner);
    fw_ns_fields_pack(req, b);
    return fw_buf_status(b);
}

fw_status_t
fw_ns_req_unpack(const void *p, size_t len, fw_ns_req_t *req_p)
{
    fw_ns_req_t req;
    fw_rbuf_t r;

    if (req_p == NULL)
        return FW_ERR_BAD_PARAM;
    memset(&req, 0, sizeof(req));
    fw_rbuf_init(&r, p, len);
    req.reqid = fw_rbuf_get_u32(&r);
    req.op = fw_rbuf_get_u8(&r);
    if (!r.err && !fw_ns_op_valid(req.op))
        r.err = 1;
    fw_ns_wire_get_str(&r, req.owner, sizeof(req.owner));
    if (!r.err)
        fw_ns_fields_unpack(&r, req.op, &req);
    if (r.err || r.pos != r.len)
        return FW_ERR_PROTO;
    *req_p = req;
    return FW_SUCCESS;
}

fw_status_t
fw_ns_reply_pack(const fw_ns_reply_t *rep, fw_buf_t *b)
{
    if (rep == NULL || b == NULL || rep->status > 0 ||
        !fw_ns_wire_str_fits(rep->port, sizeof(rep->port)) ||
        (rep->status != FW_SUCCESS && rep->port[0] != '\0'))
        return FW_ERR_BAD_PARAM;
    fw_buf_put_u32(b, rep->reqid);
    fw_buf_put_u32(b, (uint32_t)-(int32_t)rep->status);
    fw_buf_put_str(b, rep->port);
    return fw_buf_status(b);
}

fw_status_t
fw_ns_reply_unpack(const void *p, size_t len, fw_ns_reply_t *rep_p)
{
    fw_ns_reply_t rep;
    uint32_t wire;
    fw_rbuf_t r;

    if (rep_p == NULL)
        return FW_ERR_BAD_PARAM;
    memset(&rep, 0, sizeof(rep));
    fw_rbuf_init(&r, p, len);
    rep.reqid = fw_rbuf_get_u32(&r);
    wire = fw_rbuf_get_u32(&r);
    fw_ns_wire_get_str(&r, rep.port, sizeof(rep.port));
    if (r.err || r.pos != r.len || !fw_ns_status_known(wire))
        return FW_ERR_PROTO;
    rep.status = (fw_status_t)-(int32_t)wire;
    if (rep.status != FW_SUCCESS && rep.port[0] != '\0')
        return FW_ERR_PROTO;
    *rep_p = rep;
    return FW_SUCCESS;
}

fw_status_t
fw_ns_contact_format(const uint8_t secret[FW_OOB_SECRET_LEN], const char *uri,
                     char out[FW_NS_CONTACT_MAX])
{
    char hex[2 * FW_OOB_SECRET_LEN + 1];
    int n;

    if (secret == NULL || uri == NULL || out == NULL)
        return FW_ERR_BAD_PARAM;
    if (strnlen(uri, FW_OOB_URI_MAX) >= FW_OOB_URI_MAX)
        return FW_ERR_TOO_BIG;
    fw_hex_encode(secret, FW_OOB_SECRET_LEN, hex);
    n = snprintf(out, FW_NS_CONTACT_MAX, "%s@%s", hex, uri);
    memset(hex, 0, sizeof(hex));
    return n > 0 && n < FW_NS_CONTACT_MAX ? FW_SUCCESS : FW_ERR_TOO_BIG;
}

/* "1".."65535", no sign, no leading zero */
static int
fw_ns_contact_port_ok(const char *s)
{
    unsigned long v = 0;
    size_t n = strlen(s), i;

    if (n == 0 || n > 5 || s[0] == '0')
        return 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    return v <= 65535;
}

/* "tcp://A.B.C.D:PORT" or "tcp://[v6]:PORT" */
static int
fw_ns_contact_uri_ok(const char *uri)
{
    const char *hp = uri + strlen(FW_NS_TCP_PREFIX), *colon;
    char host[64];
    struct in6_addr a6;
    size_t hl;
    int v6;

    if (strncmp(uri, FW_NS_TCP_PREFIX, strlen(FW_NS_TCP_PREFIX)) != 0)
        return 0;
    colon = strrchr(hp, ':');
    if (colon == NULL || !fw_ns_contact_port_ok(colon + 1))
        return 0;
    hl = (size_t)(colon - hp);
    v6 = hl >= 2 && hp[0] == '[' && hp[hl - 1] == ']';
    if (v6) {
        hp++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof(host))
        return 0;
    memcpy(host, hp, hl);
    host[hl] = '\0';
    return inet_pton(v6 ? AF_INET6 : AF_INET, host, &a6) == 1;
}

static fw_status_t
fw_ns_contact_parse_str(const char *s, uint8_t secret[FW_OOB_SECRET_LEN],
                        char uri[FW_OOB_URI_MAX])
{
    char hex[2 * FW_OOB_SECRET_LEN + 1];
    uint8_t key[FW_OOB_SECRET_LEN];
    const char *u = s + 2 * FW_OOB_SECRET_LEN + 1;
    size_t n = strnlen(s, FW_NS_CONTACT_MAX);

    if (n >= FW_NS_CONTACT_MAX || n <= 2 * FW_OOB_SECRET_LEN ||
        s[2 * FW_OOB_SECRET_LEN] != '@' || strlen(u) >= FW_OOB_URI_MAX ||
        !fw_ns_contact_uri_ok(u))
        return FW_ERR_PARSE;
    memcpy(hex, s, 2 * FW_OOB_SECRET_LEN);
    hex[2 * FW_OOB_SECRET_LEN] = '\0';
    if (fw_hex_decode(hex, key, sizeof(key)) != FW_SUCCESS)
        return FW_ERR_PARSE;
    memcpy(secret, key, sizeof(key));
    memcpy(uri, u, strlen(u) + 1);
    memset(key, 0, sizeof(key));
    memset(hex, 0, sizeof(hex));
    return FW_SUCCESS;
}

/* First line of path, without its "\n", into line (cap bytes); err says
 * what is wrong with the file (errno text, a directory, empty). */
static fw_status_t
fw_ns_contact_read_line(const char *path, char *line, size_t cap,
                        fw_error_t *err)
{
    fw_status_t status = FW_SUCCESS;
    struct stat st;
    FILE *f;
    size_t n;

    f = fopen(path, "re");
    if (f == NULL) {
        fw_errprintf(err, "%s: %s", path, strerror(errno));
        return FW_ERR_PARSE;
    }
    /* fopen opens a directory for reading; only the read fails */
    if (fstat(fileno(f), &st) != 0) {
        fw_errprintf(err, "%s: %s", path, strerror(errno));
        status = FW_ERR_PARSE;
        goto out_close;
    }
    if (S_ISDIR(st.st_mode)) {
        fw_errprintf(err, "%s: %s", path, strerror(EISDIR));
        status = FW_ERR_PARSE;
        goto out_close;
    }
    if (fgets(line, (int)cap, f) == NULL) {
        if (ferror(f))
            fw_errprintf(err, "%s: %s", path, strerror(errno));
        else
            fw_errprintf(err, "%s: the file is empty", path);
        line[0] = '\0';
        status = FW_ERR_PARSE;
        goto out_close;
    }
    n = strlen(line);
    if (n > 0 && line[n - 1] == '\n') {
        line[--n] = '\0';
    } else if (n + 1 >= cap) {
        fw_errprintf(err, "%s: the first line is longer than any contact "
                     "string", path);
        status = FW_ERR_PARSE;
    }

out_close:
    fclose(f);
    return status;
}

fw_status_t
fw_ns_contact_parse(const char *s, uint8_t secret[FW_OOB_SECRET_LEN],
                    char uri[FW_OOB_URI_MAX], fw_error_t *err)
{
    char line[FW_NS_CONTACT_MAX + 2];
    fw_status_t status;

    if (s == NULL || secret == NULL || uri == NULL) {
        fw_errprintf(err, "no contact string");
        return FW_ERR_PARSE;
    }
    if (strncmp(s, "file:", 5) != 0) {
        status = fw_ns_contact_parse_str(s, secret, uri);
        if (status != FW_SUCCESS)
            fw_errprintf(err, "not a contact string (SECRET@tcp://ADDR:PORT) "
                         "or file:PATH");
        return status;
    }
    if (s[5] == '\0') {
        fw_errprintf(err, "file: without a PATH");
        return FW_ERR_PARSE;
    }
    status = fw_ns_contact_read_line(s + 5, line, sizeof(line), err);
    if (status == FW_SUCCESS) {
        status = fw_ns_contact_parse_str(line, secret, uri);
        if (status != FW_SUCCESS)
            fw_errprintf(err, "%s: the first line is not a contact string "
                         "(SECRET@tcp://ADDR:PORT)", s + 5);
    }
    memset(line, 0, sizeof(line));
    return status;
}
