/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Spawn, parent and info objects.
 *
 * The spawn root opens a private port and sends SPAWN to fwrun:
 *   u32 napps, napps x (str cmd, strv argv, u32 maxprocs,
 *   u32 ninfo, ninfo x (str key, str value)), str port, u8 relay, str cwd
 * fwrun answers once the child job is on its way (u64 spawn id) or with
 * an error and a code per child (u32 n, n x u32 -status). The root then
 * accepts the children's connect on the port, while watching for a second
 * answer to the same request: the child job failed before connecting.
 * SPAWN_DONE (u64 id, u32 kill) tells fwrun the outcome. Children find
 * the port in FW_PARENT_PORT and connect back over their world inside
 * fw_init(), as MPI_Init does.
 */
#include "dpm/dpm_int.h"
#include "modex/modex_client.h"
#include "common/log.h"
#include "common/param.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/****************/
/* Info objects */
/****************/

typedef struct fw_info_kv {
    struct fw_info_kv *next;
    char *key, *value;
} fw_info_kv_t;

struct fw_info {
    fw_info_kv_t *head;
    uint32_t n;
};

static const char *const fw_dpm_info_keys[] = {
    "host", "hostfile", "add-host", "add-hostfile", "wdir", "path", "env",
    "map_by", "npernode", NULL};

fw_info_t *
fw_info_create(void)
{
    return calloc(1, sizeof(fw_info_t));
}

fw_status_t
fw_info_set(fw_info_t *info, const char *key, const char *value)
{
    fw_info_kv_t *kv;
    char *v;

    if (info == NULL || key == NULL || value == NULL || key[0] == '\0' ||
        strlen(key) > 255 || strlen(value) > 65536)
        return FW_ERR_BAD_PARAM;
    v = strdup(value);
    if (v == NULL)
        return FW_ERR_NO_MEM;
    for (kv = info->head; kv != NULL; kv = kv->next) {
        if (strcmp(kv->key, key) == 0) {
            free(kv->value);
            kv->value = v;
            return FW_SUCCESS;
        }
    }
    kv = calloc(1, sizeof(*kv));
    if (kv == NULL || (kv->key = strdup(key)) == NULL) {
        free(kv);
        free(v);
        return FW_ERR_NO_MEM;
    }
    kv->value = v;
    kv->next = info->head;
    info->head = kv;
    info->n++;
    return FW_SUCCESS;
}

void
fw_info_free(fw_info_t *info)
{
    fw_info_kv_t *kv;

    if (info == NULL)
        return;
    while ((kv = info->head) != NULL) {
        info->head = kv->next;
        free(kv->key);
        free(kv->value);
        free(kv);
    }
    free(info);
}

/* Known keys only; host lists and files are not empty. fwrun checks the
 * values themselves. */
static fw_status_t
fw_dpm_info_check(const fw_info_t *info)
{
    const fw_info_kv_t *kv;
    int k;

    for (kv = info != NULL ? info->head : NULL; kv != NULL; kv = kv->next) {
        for (k = 0; fw_dpm_info_keys[k] != NULL; k++)
            if (strcmp(kv->key, fw_dpm_info_keys[k]) == 0)
                break;
        if (fw_dpm_info_keys[k] == NULL) {
            FW_LOG_ERR("dpm", "spawn: unknown info key \"%s\"", kv->key);
            return FW_ERR_BAD_PARAM;
        }
        if (kv->value[0] == '\0' && k < 4) { /* host .. add-hostfile */
            FW_LOG_ERR("dpm", "spawn: info key \"%s\" is empty", kv->key);
            return FW_ERR_BAD_PARAM;
        }
    }
    return FW_SUCCESS;
}

static void
fw_dpm_info_pack(const fw_info_t *info, fw_buf_t *b)
{
    const fw_info_kv_t *kv;

    fw_buf_put_u32(b, info != NULL ? info->n : 0);
    for (kv = info != NULL ? info->head : NULL; kv != NULL; kv = kv->next) {
        fw_buf_put_str(b, kv->key);
        fw_buf_put_str(b, kv->value);
    }
}

/****************/
/* Spawn        */
/****************/

typedef struct fw_dpm_spawn_req {
    int count;
    const char *const *cmds;
    char *const *const *argvs;
    const int *maxprocs;
    const fw_info_t *const *infos;
    uint32_t total;
} fw_dpm_spawn_req_t;

static fw_status_t
fw_dpm_spawn_pack(const fw_dpm_spawn_req_t *q, const char *port, fw_buf_t *b)
{
    char cwd[4096];

    fw_buf_put_u32(b, (uint32_t)q->count);
    for (int i = 0; i < q->count; i++) {
        char *const *av = q->argvs != NULL ? q->argvs[i] : NULL;
        uint32_t n = 0;

        fw_buf_put_str(b, q->cmds[i]);
        while (av != NULL && av[n] != NULL)
            n++;
        fw_buf_put_u32(b, n);
        for (uint32_t k = 0; k < n; k++)
            fw_buf_put_str(b, av[k]);
        fw_buf_put_u32(b, (uint32_t)q->maxprocs[i]);
        fw_dpm_info_pack(q->infos != NULL ? q->infos[i] : NULL, b);
    }
    fw_buf_put_str(b, port);
    /* FW_DPM_RELAY=0 here: the children open endpoints of their own */
    fw_buf_put_u8(b, strcmp(fw_param_get_str("FW_DPM_RELAY"), "0") != 0);
    /* relative paths are ours, as mpirun resolves them for MPI_Comm_spawn:
     * the children start in our working directory (or their wdir) */
    fw_buf_put_str(b, getcwd(cwd, sizeof(cwd)) != NULL ? cwd : "");
    return fw_buf_status(b);
}

/* Codes of a failure answer into the extra blob (u32 n, n x u32). */
static void
fw_dpm_codes_from(const void *reply, size_t len, uint32_t total,
                  fw_status_t rc, fw_buf_t *codes)
{
    fw_rbuf_t r;
    uint32_t n, i;

    fw_rbuf_init(&r, reply, len);
    n = reply != NULL ? fw_rbuf_get_u32(&r) : 0;
    fw_buf_put_u32(codes, total);
    for (i = 0; i < total; i++) {
        /* no code from fwrun: the call's own error (a refused argument,
         * a timeout reported as FW_ERR_SPAWN, ...) */
        uint32_t c = (uint32_t)-(int32_t)rc;

        if (i < n && fw_rbuf_status(&r) == FW_SUCCESS)
            c = fw_rbuf_get_u32(&r);
        if (rc == FW_SUCCESS)
            c = 0;
        fw_buf_put_u32(codes, c);
    }
}

typedef struct fw_dpm_spawn_watch {
    uint32_t reqid;
    void *reply;
    size_t len;
} fw_dpm_spawn_watch_t;

/* Abort hook of the root's accept: has fwrun reported a failure? */
static int
fw_dpm_spawn_failed(void *arg)
{
    fw_dpm_spawn_watch_t *w = arg;
    fw_status_t rc = fw_dpm_poll_reply(w->reqid, 0, &w->reply, &w->len);

    if (rc == FW_ERR_TIMEOUT)
        return FW_SUCCESS;
    return rc == FW_SUCCESS ? FW_ERR_SPAWN : rc;
}

static void
fw_dpm_spawn_done(uint64_t id, int kill)
{
    fw_buf_t b;

    fw_buf_init(&b);
    fw_buf_put_u64(&b, id);
    fw_buf_put_u32(&b, (uint32_t)kill);
    if (fw_buf_status(&b) == FW_SUCCESS)
        (void)fw_dpm_send_req(FW_DPM_OP_SPAWN_DONE, &b, NULL);
    fw_buf_cleanup(&b);
}

static void
fw_dpm_spawn_cancel(uint32_t reqid)
{
    fw_buf_t b;

    fw_buf_init(&b);
    fw_buf_put_u32(&b, reqid);
    if (fw_buf_status(&b) == FW_SUCCESS)
        (void)fw_dpm_send_req(FW_DPM_OP_SPAWN_CANCEL, &b, NULL);
    fw_buf_cleanup(&b);
}

/* Root: have fwrun start the job, then accept its connect. */
static fw_status_t
fw_dpm_spawn_root(const fw_dpm_spawn_req_t *q, fw_comm_t *comm,
                  fw_dpm_group_t **remote_p, uint32_t *cid_p, fw_buf_t *codes)
{
    fw_dpm_spawn_watch_t w = {0};
    int ms = fw_dpm_timeout_ms("FW_DPM_SPAWN_MS", 0);
    fw_dpm_port_t *port = NULL;
    void *reply = NULL;
    size_t len = 0;
    uint64_t id = 0;
    fw_rbuf_t r;
    fw_buf_t b;
    fw_status_t rc;

    fw_buf_init(&b);
    rc = fw_dpm_port_new(1, &port);
    if (rc == FW_SUCCESS)
        rc = fw_dpm_spawn_pack(q, port->name, &b);
    FW_LOG_DEBUG("dpm", "spawn: asking fwrun for %u processes", q->total);
    if (rc == FW_SUCCESS)
        rc = fw_dpm_call(FW_DPM_OP_SPAWN, &b, &w.reqid, ms, &reply, &len);
    FW_LOG_DEBUG("dpm", "spawn: fwrun answered (%s)", fw_strerror(rc));
    fw_buf_cleanup(&b);
    if (rc == FW_ERR_TIMEOUT) /* fwrun may still start it: it must not */
        fw_dpm_spawn_cancel(w.reqid);
    if (rc == FW_SUCCESS) {
        fw_rbuf_init(&r, reply, len);
        id = fw_rbuf_get_u64(&r);
        rc = fw_dpm_accept_root(port, comm, fw_dpm_spawn_failed, &w, ms,
                                remote_p, cid_p);
        FW_LOG_DEBUG("dpm", "spawn: the children connected (%s)",
                     fw_strerror(rc));
        fw_dpm_spawn_done(id, rc != FW_SUCCESS);
        free(reply);
        reply = NULL;
        len = 0;
    }
    if (rc != FW_SUCCESS)
        FW_LOG_ERR("dpm", "spawn of %s failed: %s", q->cmds[0],
                   fw_strerror(rc));
    if (rc == FW_ERR_TIMEOUT || rc == FW_ERR_PORT)
        rc = FW_ERR_SPAWN;
    fw_dpm_codes_from(w.reply != NULL ? w.reply : reply,
                      w.reply != NULL ? w.len : len, q->total, rc, codes);
    fw_dpm_port_drop(port);
    free(w.reply);
    free(reply);
    return rc;
}

static fw_status_t
fw_dpm_spawn_check(const fw_dpm_spawn_req_t *q, uint32_t *total_p)
{
    uint64_t total = 0;

    fw_status_t rc = FW_SUCCESS;

    if (q->count <= 0 || q->cmds == NULL || q->maxprocs == NULL)
        return FW_ERR_BAD_PARAM;
    for (int i = 0; i < q->count; i++) {
        if (q->maxprocs[i] <= 0)
            return FW_ERR_BAD_PARAM;
        total += (uint64_t)q->maxprocs[i];
    }
    if (total > FW_DPM_MAX_RANKS)
        return FW_ERR_BAD_PARAM;
    *total_p = (uint32_t)total; /* the number of codes, even on errors */
    for (int i = 0; i < q->count && rc == FW_SUCCESS; i++) {
        if (q->cmds[i] == NULL || q->cmds[i][0] == '\0')
            rc = FW_ERR_BAD_PARAM;
        else if (q->infos != NULL)
            rc = fw_dpm_info_check(q->infos[i]);
    }
    return rc;
}

static void
fw_dpm_codes_out(const void *extra, size_t len, int errcodes[])
{
    fw_rbuf_t r;
    uint32_t n;

    if (errcodes == NULL || extra == NULL)
        return;
    fw_rbuf_init(&r, extra, len);
    n = fw_rbuf_get_u32(&r);
    for (uint32_t i = 0; i < n && fw_rbuf_status(&r) == FW_SUCCESS; i++) {
        uint32_t c = fw_rbuf_get_u32(&r);

        if (fw_rbuf_status(&r) == FW_SUCCESS)
            errcodes[i] = -(int32_t)c;
    }
}

/* Collective: the root spawns; everyone gets the result and the codes. */
static fw_status_t
fw_dpm_spawn(fw_dpm_spawn_req_t *q, int root, fw_comm_t *comm,
             fw_comm_t **inter, int errcodes[])
{
    fw_dpm_group_t *remote = NULL;
    uint32_t cid = 0;
    void *extra = NULL;
    size_t elen = 0;
    fw_buf_t codes;
    fw_status_t rc = fw_dpm_coll_args(comm, root, inter);

    if (rc != FW_SUCCESS)
        return rc;
    fw_buf_init(&codes);
    if (comm->rank == (uint32_t)root) {
        /* arguments first: a refused spawn opens no endpoint */
        rc = fw_dpm_spawn_check(q, &q->total);
        if (rc == FW_SUCCESS)
            rc = fw_dpm_local_ready(comm);
        if (rc == FW_SUCCESS)
            rc = fw_dpm_spawn_root(q, comm, &remote, &cid, &codes);
        else
            fw_dpm_codes_from(NULL, 0, q->total, rc, &codes);
    }
    rc = fw_dpm_result_bcast(comm, root, rc, &cid, &remote, &codes, &extra,
                             &elen);
    fw_buf_cleanup(&codes);
    fw_dpm_codes_out(extra, elen, errcodes);
    free(extra);
    if (rc != FW_SUCCESS) {
        fw_dpm_group_free(remote);
        return rc;
    }
    return fw_dpm_inter_new(comm, cid, remote, 1, inter);
}

fw_status_t
fw_spawn(const char *cmd, char *const argv[], int maxprocs,
         const fw_info_t *info, int root, fw_comm_t *comm, fw_comm_t **inter,
         int errcodes[])
{
    fw_dpm_spawn_req_t q = {1, &cmd, &argv, &maxprocs, &info, 0};

    return fw_dpm_spawn(&q, root, comm, inter, errcodes);
}

fw_status_t
fw_spawn_multiple(int count, const char *cmds[], char *const *argvs[],
                  const int maxprocs[], const fw_info_t *infos[], int root,
                  fw_comm_t *comm, fw_comm_t **inter, int errcodes[])
{
    fw_dpm_spawn_req_t q = {count, cmds, (char *const *const *)argvs,
                            maxprocs, infos, 0};

    return fw_dpm_spawn(&q, root, comm, inter, errcodes);
}

/****************/
/* Parent       */
/****************/

/* In fw_init of a spawned job: connect back to the parent's port. */
fw_status_t
fw_dpm_parent_connect(void)
{
    const char *port = getenv("FW_PARENT_PORT");
    fw_comm_t *inter = NULL;
    fw_status_t rc;

    if (port == NULL || port[0] == '\0')
        return FW_SUCCESS;
    FW_LOG_DEBUG("dpm", "rank %u: connecting to the parent job",
                 fw_client_g.info.rank);
    rc = fw_dpm_connect_to(port, &fw_dpm_g.world, 0, &inter);
    FW_LOG_DEBUG("dpm", "rank %u: connect to the parent job: %s",
                 fw_client_g.info.rank, fw_strerror(rc));
    if (rc != FW_SUCCESS) {
        FW_LOG_ERR("dpm", "rank %u: cannot connect to the parent job: %s",
                   fw_client_g.info.rank, fw_strerror(rc));
        return rc;
    }
    fw_dpm_g.parent = inter;
    return FW_SUCCESS;
}

fw_status_t
fw_comm_get_parent(fw_comm_t **parent)
{
    if (!fw_client_g.initialized || !fw_dpm_g.up)
        return FW_ERR_NOT_INITIALIZED;
    if (parent == NULL)
        return FW_ERR_BAD_PARAM;
    *parent = fw_dpm_g.parent;
    return FW_SUCCESS;
}
