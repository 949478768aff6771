/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fw-server: the standalone name server (as Open MPI's ompi-server or
 * hydra_nameserver). Jobs started with fwrun --server publish and look
 * up services here across jobs. Each connection sends NS_REQ frames and
 * gets NS_REPLY frames (none for DROP); the entries a connection
 * published are removed when it closes, as the job that owned them ended.
 *
 *   fw-server [--report-uri FILE|-] [--listen ADDR] [--port N] [-v]
 */
#define _GNU_SOURCE
#include "dpm/ns.h"
#include "dpm/ns_wire.h"
#include "oob/oob.h"
#include "common/log.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/****************/
/* Local Macros */
/****************/

#ifndef FW_VERSION_STRING
#define FW_VERSION_STRING "unknown"
#endif

#define FWS_EXIT_ERROR 1
#define FWS_EXIT_USAGE 2
/* Jobs one connection may publish for (a fwrun publishes for its job
 * and the jobs it spawned). */
#define FWS_MAX_OWNERS 1024u

/****************/
/* Local Types  */
/****************/

/* One client connection and the owners (jobids) it published for. */
typedef struct fws_conn {
    fw_oob_conn_t *oob;
    char (*owners)[FW_JOBID_MAX];
    size_t nowners;
    size_t cap;
    struct fws_conn *prev, *next;
} fws_conn_t;

typedef struct fws_opts {
    const char *report; /* FILE, "-" or NULL (stdout) */
    const char *addr;
    long port;
    int verbose;
} fws_opts_t;

typedef struct fws {
    fws_opts_t opt;
    struct event_base *base;
    struct event *sig_ev[3];
    struct event *timer;
    fw_oob_listener_t *listener;
    fw_ns_t *ns;
    fws_conn_t *conns;
    uint8_t secret[FW_OOB_SECRET_LEN];
    char contact[FW_NS_CONTACT_MAX];
    int report_written; /* remove opt.report at exit, if still ours */
    struct stat report_st;
} fws_t;

/********************/
/* Local Prototypes */
/********************/

static void fws_conn_opened(fw_oob_conn_t *c, void *arg);
static void fws_conn_msg(fw_oob_conn_t *c, const fw_oob_hdr_t *h,
                         const void *p, void *arg);
static void fws_conn_closed(fw_oob_conn_t *c, fw_status_t why, void *arg);
static void fws_ns_reply(void *arg, const fw_ns_cookie_t *cookie,
                         fw_status_t status, const char *port);

/********************/
/* Local Variables  */
/********************/

static const struct fw_oob_conn_ops fws_conn_ops = {
    fws_conn_opened, fws_conn_msg, fws_conn_closed};
static const struct fw_ns_ops fws_ns_ops = {fws_ns_reply};

static const char fws_usage[] =
    "usage: fw-server [options]\n"
    "\n"
    "Name server shared by jobs: ranks of jobs started with\n"
    "'fwrun --server CONTACT' publish and look up services here\n"
    "(fw_publish, fw_lookup, fw_unpublish across jobs). The entries of a\n"
    "job are removed when its fwrun disconnects.\n"
    "\n"
    "options:\n"
    "  --report-uri FILE|-   write the contact string to FILE (mode 0600,\n"
    "                        replaced atomically, removed at exit) or to\n"
    "                        stdout ('-', the default)\n"
    "  --listen ADDR         IP address to listen on (default 127.0.0.1)\n"
    "  --port N              TCP port (default 0: any free port)\n"
    "  -v, --verbose         log requests on stderr (twice: debug)\n"
    "  -V, --version         print the version and exit\n"
    "  -h, --help            print this help and exit\n"
    "\n"
    "contact string: <64 hex digits of secret>@tcp://ADDR:PORT; pass it,\n"
    "or file:FILE, to fwrun --server. Ends on SIGTERM, SIGINT or SIGHUP.\n"
    "exit status: 0 after a signal, 1 for a runtime failure (cannot\n"
    "listen or write the report), 2 for a bad command line.\n";

/****************/
/* Helpers      */
/****************/

static uint64_t
fws_now_ms(void)
{
    return fw_time_ns() / 1000000u;
}

/* Arm the timer for the earliest waiting lookup (or disarm it). */
static void
fws_timer_arm(fws_t *s)
{
    uint64_t next = fw_ns_next_deadline(s->ns), now = fws_now_ms();
    uint64_t ms = next > now ? next - now : 0;
    struct timeval tv;

    if (next == 0) {
        evtimer_del(s->timer);
        return;
    }
    if (ms > 86400000u)
        ms = 86400000u; /* re-armed when it fires */
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    if (evtimer_add(s->timer, &tv) != 0)
        FW_LOG_ERR("dpm.ns", "fw-server: cannot arm the lookup timer");
}

static void
fws_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    fws_t *s = arg;

    fw_ns_expire(s->ns, fws_now_ms());
    fws_timer_arm(s);
}

static void
fws_send_reply(fws_conn_t *fc, uint32_t reqid, fw_status_t status,
               const char *port)
{
    fw_ns_reply_t rep;
    fw_buf_t b;
    fw_status_t rc;

    memset(&rep, 0, sizeof(rep));
    rep.reqid = reqid;
    rep.status = status;
    if (status == FW_SUCCESS && port != NULL)
        snprintf(rep.port, sizeof(rep.port), "%s", port);
    fw_buf_init(&b);
    rc = fw_ns_reply_pack(&rep, &b);
    if (rc == FW_SUCCESS)
        rc = fw_oob_send(fc->oob, FW_DPM_MSG_NS_REPLY, 0,
                         fw_oob_conn_peer_id(fc->oob), b.data, b.len);
    if (rc != FW_SUCCESS)
        FW_LOG_WARN("dpm.ns", "conn %s: reply %u not sent: %s",
                    fw_oob_conn_peer_name(fc->oob), reqid, fw_strerror(rc));
    fw_buf_cleanup(&b);
}

static void
fws_ns_reply(void *arg, const fw_ns_cookie_t *cookie, fw_status_t status,
             const char *port)
{
    fws_send_reply(cookie->requester, (uint32_t)cookie->tag, status, port);
}

/****************/
/* Connections  */
/****************/

static int
fws_conn_has_owner(const fws_conn_t *fc, const char *owner)
{
    size_t i;

    for (i = 0; i < fc->nowners; i++)
        if (strcmp(fc->owners[i], owner) == 0)
            return 1;
    return 0;
}

/* Room to remember one more owner, before publishing for it. */
static fw_status_t
fws_conn_owner_room(fws_conn_t *fc, const char *owner)
{
    char (*no)[FW_JOBID_MAX];
    size_t cap;

    if (fws_conn_has_owner(fc, owner) || fc->nowners < fc->cap)
        return FW_SUCCESS;
    if (fc->cap >= FWS_MAX_OWNERS)
        return FW_ERR_TOO_BIG;
    cap = fc->cap != 0 ? 2 * fc->cap : 4;
    no = realloc(fc->owners, cap * sizeof(*no));
    if (no == NULL)
        return FW_ERR_NO_MEM;
    fc->owners = no;
    fc->cap = cap;
    return FW_SUCCESS;
}

static void
fws_conn_owner_add(fws_conn_t *fc, const char *owner)
{
    if (fws_conn_has_owner(fc, owner))
        return;
    snprintf(fc->owners[fc->nowners], FW_JOBID_MAX, "%s", owner);
    fc->nowners++;
}

/* The connection is gone: its jobs' entries and lookups go with it. */
static void
fws_conn_gone(fws_t *s, fws_conn_t *fc)
{
    size_t i, n = 0, nl;

    for (i = 0; i < fc->nowners; i++)
        n += fw_ns_drop_owner(s->ns, fc->owners[i]);
    nl = fw_ns_cancel(s->ns, fc);
    FW_LOG_INFO("dpm.ns", "conn %s closed: %zu entries, %zu lookups dropped",
                fw_oob_conn_peer_name(fc->oob), n, nl);
    if (fc->prev != NULL)
        fc->prev->next = fc->next;
    else
        s->conns = fc->next;
    if (fc->next != NULL)
        fc->next->prev = fc->prev;
    free(fc->owners);
    free(fc);
    fws_timer_arm(s);
}

static void
fws_conn_opened(fw_oob_conn_t *c, void *arg)
{
    fws_t *s = arg;
    fws_conn_t *fc = calloc(1, sizeof(*fc));

    if (fc == NULL) {
        FW_LOG_WARN("dpm.ns", "conn %s: out of memory, closing",
                    fw_oob_conn_peer_name(c));
        fw_oob_conn_close(c);
        return;
    }
    fc->oob = c;
    fc->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = fc;
    s->conns = fc;
    fw_oob_conn_set_ctx(c, fc);
    FW_LOG_INFO("dpm.ns", "conn %s opened (kind %u, id %u)",
                fw_oob_conn_peer_name(c), fw_oob_conn_peer_kind(c),
                fw_oob_conn_peer_id(c));
}

static void
fws_conn_closed(fw_oob_conn_t *c, fw_status_t why, void *arg)
{
    fws_conn_t *fc = fw_oob_conn_get_ctx(c);

    if (fc != NULL)
        fws_conn_gone(arg, fc);
}

/****************/
/* Requests     */
/****************/

static fw_status_t
fws_publish(fws_t *s, fws_conn_t *fc, const fw_ns_req_t *req)
{
    fw_status_t rc = fws_conn_owner_room(fc, req->owner);

    if (rc == FW_SUCCESS)
        rc = fw_ns_publish(s->ns, req->owner, req->service, req->port);
    if (rc == FW_SUCCESS)
        fws_conn_owner_add(fc, req->owner);
    return rc;
}

static void
fws_request(fws_t *s, fws_conn_t *fc, const fw_ns_req_t *req)
{
    fw_ns_cookie_t cookie = {fc, req->reqid};
    char port[FW_MAX_PORT_NAME] = "";
    fw_status_t rc;
    size_t n;

    switch (req->op) {
    case FW_DPM_OP_PUBLISH:
        rc = fws_publish(s, fc, req);
        break;
    case FW_DPM_OP_LOOKUP:
        rc = fw_ns_lookup(s->ns, req->service, req->timeout_ms, fws_now_ms(),
                          &cookie, port);
        break;
    case FW_DPM_OP_UNPUBLISH:
        rc = fw_ns_unpublish(s->ns, req->owner, req->service);
        break;
    default: /* FW_DPM_OP_DROP */
        n = fw_ns_drop_owner(s->ns, req->owner);
        FW_LOG_INFO("dpm.ns", "owner %s: %zu entries dropped", req->owner, n);
        return;
    }
    FW_LOG_INFO("dpm.ns", "conn %s: op %u owner %s service '%s': %s",
                fw_oob_conn_peer_name(fc->oob), req->op, req->owner,
                req->service, fw_strerror(rc));
    if (rc == FW_INPROGRESS)
        fws_timer_arm(s);
    else
        fws_send_reply(fc, req->reqid, rc, port);
}

static void
fws_conn_msg(fw_oob_conn_t *c, const fw_oob_hdr_t *h, const void *p,
             void *arg)
{
    fws_conn_t *fc = fw_oob_conn_get_ctx(c);
    fw_ns_req_t req;

    if (fc == NULL)
        return;
    if (h->type == FW_DPM_MSG_NS_REQ &&
        fw_ns_req_unpack(p, h->len, &req) == FW_SUCCESS) {
        fws_request(arg, fc, &req);
        return;
    }
    /* a peer that does not speak the protocol: hang up on it */
    FW_LOG_WARN("dpm.ns", "conn %s: bad message (type %u, %u bytes), "
                "closing", fw_oob_conn_peer_name(c), h->type, h->len);
    fw_oob_conn_set_ctx(c, NULL);
    fws_conn_gone(arg, fc);
    fw_oob_conn_close(c);
}

/****************/
/* Report file  */
/****************/


/* Write "contact\n" to path through path.tmp and rename(2), so that a
 * reader never sees half a line. */
static fw_status_t
fws_report_file(const char *path, const char *line)
{
    char *tmp = NULL;
    fw_status_t status = FW_SUCCESS;
    int fd;

    if (asprintf(&tmp, "%s.tmp", path) < 0) {
        fprintf(stderr, "fw-server: out of memory\n");
        return FW_ERR_NO_MEM;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "fw-server: cannot create %s: %s\n", tmp,
                strerror(errno));
        status = FW_ERR_SYSTEM;
        goto out_free;
    }
    if (fw_write_all(fd, line, strlen(line)) != 0) {
        fprintf(stderr, "fw-server: cannot write %s: %s\n", tmp,
                strerror(errno));
        status = FW_ERR_SYSTEM;
    }
    if (close(fd) != 0 && status == FW_SUCCESS) {
        fprintf(stderr, "fw-server: cannot write %s: %s\n", tmp,
                strerror(errno));
        status = FW_ERR_SYSTEM;
    }
    if (status == FW_SUCCESS && rename(tmp, path) != 0) {
        fprintf(stderr, "fw-server: cannot rename %s to %s: %s\n", tmp,
                path, strerror(errno));
        status = FW_ERR_SYSTEM;
    }
    if (status != FW_SUCCESS && unlink(tmp) != 0 && errno != ENOENT)
        fprintf(stderr, "fw-server: cannot remove %s: %s\n", tmp,
                strerror(errno));
out_free:
    free(tmp);
    return status;
}

static fw_status_t
fws_report(fws_t *s)
{
    char line[FW_NS_CONTACT_MAX + 1];
    fw_status_t rc;

    rc = fw_ns_contact_format(s->secret, fw_oob_listener_uri(s->listener),
                              s->contact);
    if (rc != FW_SUCCESS) {
        fprintf(stderr, "fw-server: cannot format the contact string\n");
        return rc;
    }
    snprintf(line, sizeof(line), "%s\n", s->contact);
    if (s->opt.report == NULL || strcmp(s->opt.report, "-") == 0) {
        if (fputs(line, stdout) == EOF || fflush(stdout) != 0) {
            fprintf(stderr, "fw-server: cannot write to stdout: %s\n",
                    strerror(errno));
            return FW_ERR_SYSTEM;
        }
        return FW_SUCCESS;
    }
    rc = fws_report_file(s->opt.report, line);
    s->report_written = rc == FW_SUCCESS;
    if (rc == FW_SUCCESS && stat(s->opt.report, &s->report_st) != 0)
        memset(&s->report_st, 0, sizeof(s->report_st));
    return rc;
}

/****************/
/* Command line */
/****************/

/* "--opt value" or "--opt=value": the value, advancing *i; NULL if none */
static const char *
fws_opt_value(int argc, char **argv, int *i, const char *name)
{
    const char *a = argv[*i];
    size_t n = strlen(name);

    if (strncmp(a, name, n) == 0 && a[n] == '=')
        return a + n + 1;
    if (strcmp(a, name) != 0 || *i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static int
fws_is_opt(const char *a, const char *name)
{
    size_t n = strlen(name);

    return strncmp(a, name, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

/* A numeric, specified (not wildcard) IPv4 or IPv6 address. */
static int
fws_addr_ok(const char *addr)
{
    struct in6_addr a6;
    struct in_addr a4;

    if (inet_pton(AF_INET, addr, &a4) == 1)
        return a4.s_addr != htonl(INADDR_ANY);
    if (inet_pton(AF_INET6, addr, &a6) == 1)
        return !IN6_IS_ADDR_UNSPECIFIED(&a6);
    return 0;
}

static int
fws_parse_port(const char *v, long *port_p)
{
    char *end = NULL;
    long port;

    if (v == NULL || v[0] < '0' || v[0] > '9')
        return -1;
    errno = 0;
    port = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || port < 0 || port > 65535)
        return -1;
    *port_p = port;
    return 0;
}

/* One option at argv[*i]: 0 ok, 1 done (help/version), -1 usage error */
static int
fws_parse_one(fws_opts_t *o, int argc, char **argv, int *i,
              fw_error_t *err)
{
    const char *a = argv[*i], *v;

    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
        fputs(fws_usage, stdout);
        return 1;
    }
    if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
        printf("fw-server (fabwire) %s\n", FW_VERSION_STRING);
        return 1;
    }
    if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
        o->verbose++;
        return 0;
    }
    if (fws_is_opt(a, "--report-uri")) {
        v = fws_opt_value(argc, argv, i, "--report-uri");
        if (v == NULL || v[0] == '\0')
            goto missing;
        o->report = v;
    } else if (fws_is_opt(a, "--listen")) {
        v = fws_opt_value(argc, argv, i, "--listen");
        if (v == NULL || v[0] == '\0')
            goto missing;
        if (!fws_addr_ok(v)) {
            fw_errprintf(err, "--listen %s: expected the numeric IP address "
                         "clients connect to (not a wildcard)", v);
            return -1;
        }
        o->addr = v;
    } else if (fws_is_opt(a, "--port")) {
        v = fws_opt_value(argc, argv, i, "--port");
        if (fws_parse_port(v, &o->port) != 0) {
            fw_errprintf(err, "--port: expected a number 0..65535, got '%s'",
                         v != NULL ? v : "");
            return -1;
        }
    } else {
        fw_errprintf(err, "unknown option or argument '%s'", a);
        return -1;
    }
    return 0;

missing:
    fw_errprintf(err, "%.*s needs a value", (int)strcspn(a, "="), a);
    return -1;
}

static int
fws_parse_args(fws_opts_t *o, int argc, char **argv, fw_error_t *err)
{
    int i, rc;

    o->addr = "127.0.0.1";
    for (i = 1; i < argc; i++) {
        rc = fws_parse_one(o, argc, argv, &i, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/****************/
/* Main         */
/****************/

static void
fws_sig_cb(evutil_socket_t sig, short what, void *arg)
{
    fws_t *s = arg;

    FW_LOG_INFO("dpm.ns", "fw-server: signal %d, exiting", (int)sig);
    event_base_loopexit(s->base, NULL);
}

static fw_status_t
fws_events(fws_t *s)
{
    static const int sigs[3] = {SIGTERM, SIGINT, SIGHUP};
    int i;

    for (i = 0; i < 3; i++) {
        s->sig_ev[i] = evsignal_new(s->base, sigs[i], fws_sig_cb, s);
        if (s->sig_ev[i] == NULL || evsignal_add(s->sig_ev[i], NULL) != 0)
            return FW_ERR_SYSTEM;
    }
    s->timer = evtimer_new(s->base, fws_timer_cb, s);
    return s->timer != NULL ? FW_SUCCESS : FW_ERR_NO_MEM;
}

static fw_status_t
fws_setup(fws_t *s)
{
    char uri[FW_OOB_URI_MAX];
    fw_error_t err;
    fw_status_t rc;

    s->base = event_base_new();
    if (s->base == NULL || fws_events(s) != FW_SUCCESS) {
        fprintf(stderr, "fw-server: cannot set up the event loop\n");
        return FW_ERR_SYSTEM;
    }
    rc = fw_ns_create(&fws_ns_ops, s, &s->ns);
    if (rc == FW_SUCCESS)
        rc = fw_random_bytes(s->secret, sizeof(s->secret));
    if (rc != FW_SUCCESS) {
        fprintf(stderr, "fw-server: %s\n", fw_strerror(rc));
        return rc;
    }
    snprintf(uri, sizeof(uri), strchr(s->opt.addr, ':') != NULL
                                   ? "tcp://[%s]:%ld" : "tcp://%s:%ld",
             s->opt.addr, s->opt.port);
    memset(&err, 0, sizeof(err));
    rc = fw_oob_listen(s->base, uri, s->secret, &fws_conn_ops, s,
                       &s->listener, &err);
    if (rc != FW_SUCCESS) {
        fprintf(stderr, "fw-server: cannot listen: %s\n", err.text);
        return rc;
    }
    FW_LOG_INFO("dpm.ns", "fw-server: listening on %s",
                fw_oob_listener_uri(s->listener));
    return fws_report(s);
}

/* Remove the report file unless another server has replaced it since. */
static void
fws_report_remove(fws_t *s)
{
    struct stat st;

    if (!s->report_written || stat(s->opt.report, &st) != 0)
        return;
    /* st_ino 0: not known (stat failed after the rename): remove it */
    if (s->report_st.st_ino != 0 && (st.st_ino != s->report_st.st_ino ||
                                     st.st_dev != s->report_st.st_dev)) {
        FW_LOG_WARN("dpm.ns", "fw-server: %s was replaced, leaving it",
                    s->opt.report);
        return;
    }
    if (unlink(s->opt.report) != 0)
        fprintf(stderr, "fw-server: cannot remove %s: %s\n", s->opt.report,
                strerror(errno));
}

static void
fws_cleanup(fws_t *s)
{
    fws_conn_t *fc;
    int i;

    while ((fc = s->conns) != NULL) {
        s->conns = fc->next;
        fw_oob_conn_close(fc->oob);
        free(fc->owners);
        free(fc);
    }
    fw_oob_listener_destroy(s->listener);
    fw_ns_destroy(s->ns);
    fws_report_remove(s);
    for (i = 0; i < 3; i++)
        if (s->sig_ev[i] != NULL)
            event_free(s->sig_ev[i]);
    if (s->timer != NULL)
        event_free(s->timer);
    if (s->base != NULL)
        event_base_free(s->base);
    memset(s->secret, 0, sizeof(s->secret));
    memset(s->contact, 0, sizeof(s->contact));
}

int
main(int argc, char **argv)
{
    fw_error_t err;
    fws_t s;
    int rc;

    memset(&s, 0, sizeof(s));
    memset(&err, 0, sizeof(err));
    fw_log_set_progname("fw-server");
    rc = fws_parse_args(&s.opt, argc, argv, &err);
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "fw-server: %s\nTry 'fw-server --help'.\n",
                    err.text);
        return rc < 0 ? FWS_EXIT_USAGE : 0;
    }
    if (s.opt.verbose > 0 &&
        setenv("FW_LOG_LEVEL", s.opt.verbose > 1 ? "debug" : "info", 1) != 0)
        fprintf(stderr, "fw-server: cannot raise the log level\n");
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        fprintf(stderr, "fw-server: cannot ignore SIGPIPE: %s\n",
                strerror(errno));
    rc = 0;
    if (fws_setup(&s) != FW_SUCCESS)
        rc = FWS_EXIT_ERROR;
    else if (event_base_dispatch(s.base) < 0)
        rc = FWS_EXIT_ERROR;
    fws_cleanup(&s);
    return rc;
}
