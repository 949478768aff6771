/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fwrun command line: one or more application contexts separated by ':'
 * (MPMD), as with mpirun:
 *   fwrun [options] -n 2 --host h1:2 ./a : -n 3 -x V=1 ./b
 * -n, --host, --hostfile, -x and --wdir belong to the context they are
 * given in (its program only); the other options are job-wide, valid in
 * any context, and may be repeated only with the same value.
 */
#define _GNU_SOURCE
#include "launcher/fwrun.h"
#include "fabric/fab.h"
#include "common/param.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FWRUN_VERSION "0.1.0"

static const char fwrun_usage[] =
    "usage: fwrun [options] [-n N] PROGRAM [ARGS...] [: [options] [-n N] "
    "PROGRAM ...]\n"
    "\n"
    "Start N copies of PROGRAM on this host or on the hosts given, each with\n"
    "its identity in FW_RANK, FW_SIZE, FW_LOCAL_RANK, FW_LOCAL_SIZE,\n"
    "FW_NODE_ID, FW_NUM_NODES, FW_JOBID, FW_UNIVERSE_SIZE and FW_APPNUM.\n"
    "Several programs separated by ':' (application contexts) make one job.\n"
    "\n"
    "options of an application context (they apply to its program only;\n"
    "the first context is everything before the first ':'):\n"
    "  -n, -np, --np N         number of ranks (default: all slots; needed\n"
    "                          with several programs)\n"
    "  -H, --host LIST         hosts: h1[:slots],h2,... (no slots: 1); a\n"
    "                          host named twice, or this host under two\n"
    "                          names (localhost, 127.0.0.1, its name or\n"
    "                          addresses), is one host: slots add up\n"
    "  --hostfile, --machinefile F\n"
    "                          'host [slots=N]' lines, '#' comments\n"
    "                          (no slots: 1)\n"
    "  -x VAR[=value]          export VAR to the ranks of this program\n"
    "  --wdir DIR              working directory of its ranks\n"
    "  The job's hosts are those of every context; a context without\n"
    "  --host/--hostfile runs on all of them, and with none at all the job\n"
    "  runs on this host with one slot per core. A host named in several\n"
    "  contexts is one host whose slots (the largest count given) they\n"
    "  share. Ranks are placed in order, each on a host of its program.\n"
    "\n"
    "job-wide options (any context; given twice, the values must agree):\n"
    "  --map-by slot|node      fill hosts in order (slot) or round robin\n"
    "  --bind-to none|core|package\n"
    "                          bind each rank to a core or package (hwloc)\n"
    "  --report-bindings       print each rank's binding on stderr\n"
    "  --oversubscribe         allow more ranks than slots\n"
    "  --tag-output            prefix output lines with [jobid,rank]\n"
    "  --stdin rank0|none      where fwrun's stdin goes (default rank0)\n"
    "  --timeout SEC           end the job after SEC seconds (exit 124)\n"
    "  --launch-agent CMD      start remote daemons with 'CMD host fwd ...'\n"
    "                          (default: ssh)\n"
    "  --fanout N              daemon tree fan-out (default FW_OOB_FANOUT)\n"
    "  --provider NAME         fabric provider for the job (FW_PROVIDER)\n"
    "  --server URI|file:PATH  name server for publish/lookup across jobs\n"
    "                          (fw-server's contact; default FW_SERVER)\n"
    "  --npernode N            N ranks per host (slots = N on every host)\n"
    "  -v, --verbose           report daemon wireup time\n"
    "  -V, --version           print the version and exit\n"
    "  -h, --help              print this help and exit\n"
    "\n"
    "exit status: 0 if every rank exited 0; otherwise the first non-zero\n"
    "status of a rank (128+N for a rank killed by signal N); 124 when\n"
    "--timeout expired; 127 when a program could not be started; 1 for a\n"
    "launcher or daemon failure; 2 for a bad command line; 128+N when fwrun\n"
    "itself got signal N.\n";

/* One application context as given (strings point into argv). */
typedef struct fwrun_cli_app {
    long np;                /* -1: not given */
    const char *wdir;
    const char *host;       /* --host */
    const char *hostfile;   /* --hostfile */
    char **env;             /* -x, "VAR=value" each (owned) */
    size_t nenv;
    int argc;
    char **argv;
} fwrun_cli_app_t;

/* "--opt value", "--opt=value": the value, advancing *i; NULL if none */
static const char *
fwrun_cli_value(int argc, char **argv, int *i, const char *arg)
{
    const char *eq = strchr(arg, '=');

    if (arg[0] == '-' && arg[1] == '-' && eq != NULL)
        return eq + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static int
fwrun_cli_is(const char *arg, const char *a, const char *b, const char *c)
{
    size_t n = strcspn(arg, "=");
    const char *names[3] = {a, b, c};
    int k;

    for (k = 0; k < 3; k++) {
        if (names[k] == NULL)
            continue;
        if (strncmp(arg, "--", 2) == 0 && strlen(names[k]) == n &&
            strncmp(arg, names[k], n) == 0)
            return 1;
        if (strcmp(arg, names[k]) == 0)
            return 1;
    }
    return 0;
}

static int
fwrun_cli_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    long v;

    if (s == NULL || s[0] == '\0')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static char **
fwrun_cli_split(const char *cmd)
{
    char *copy = strdup(cmd), *tok, *save = NULL;
    char **v = calloc(strlen(cmd) / 2 + 2, sizeof(*v));
    size_t n = 0;

    if (copy == NULL || v == NULL) {
        free(copy);
        free(v);
        return NULL;
    }
    for (tok = strtok_r(copy, " \t", &save); tok != NULL;
         tok = strtok_r(NULL, " \t", &save))
        v[n++] = strdup(tok);
    free(copy);
    return v;
}

/* A variable fwd sets for each rank (its place in the job): -x of it
 * would give the rank a wrong one. */
static int
fwrun_cli_job_var(const char *spec)
{
    static const char *const names[] = {
        "FW_RANK", "FW_LOCAL_RANK", "FW_SIZE", "FW_LOCAL_SIZE", "FW_JOBID",
        "FW_NODE_ID", "FW_NUM_NODES", "FW_UNIVERSE_SIZE", "FW_APPNUM",
        "FW_DAEMON_URI", "FW_JOB_SECRET", NULL};
    size_t n = strcspn(spec, "=");

    for (int i = 0; names[i] != NULL; i++)
        if (strlen(names[i]) == n && strncmp(spec, names[i], n) == 0)
            return 1;
    return 0;
}

static int
fwrun_cli_add_env(char ***env, size_t *nenv, const char *spec,
                  fw_error_t *err)
{
    char *item, **nv;
    const char *val;

    if (spec == NULL || spec[0] == '\0' || spec[0] == '=') {
        fw_errprintf(err, "-x needs VAR or VAR=value");
        return -1;
    }
    if (fwrun_cli_job_var(spec)) {
        fw_errprintf(err, "-x %.*s: set by fwrun for each rank, not by -x",
                     (int)strcspn(spec, "="), spec);
        return -1;
    }
    if (strchr(spec, '=') != NULL) {
        item = strdup(spec);
    } else {
        val = getenv(spec);
        if (val == NULL) {
            fw_errprintf(err, "-x %s: not set in the environment", spec);
            return -1;
        }
        if (asprintf(&item, "%s=%s", spec, val) < 0)
            item = NULL;
    }
    if (item == NULL) {
        fw_errprintf(err, "out of memory");
        return -1;
    }
    nv = realloc(*env, (*nenv + 2) * sizeof(*nv));
    if (nv == NULL) {
        free(item);
        fw_errprintf(err, "out of memory");
        return -1;
    }
    *env = nv;
    nv[(*nenv)++] = item;
    nv[*nenv] = NULL;
    return 0;
}

typedef struct fwrun_cli {
    fwrun_cli_app_t apps[64];
    int napps;
    const char *provider;
    struct {
        const char *name, *value;
    } once[16];             /* job-wide options given so far */
    int nonce;
} fwrun_cli_t;

/* A job-wide option given again (another context, or the same): the
 * same value, or an error rather than one silently winning. */
static int
fwrun_cli_once(fwrun_cli_t *c, const char *name, const char *value,
               fw_error_t *err)
{
    int k;

    for (k = 0; k < c->nonce; k++) {
        if (strcmp(c->once[k].name, name) != 0)
            continue;
        if (strcmp(c->once[k].value, value) == 0)
            return 0;
        fw_errprintf(err, "option '%s' given twice with different values "
                     "('%s', '%s'); it applies to the whole job", name,
                     c->once[k].value, value);
        return -1;
    }
    if (c->nonce == (int)(sizeof(c->once) / sizeof(c->once[0])))
        return 0; /* cannot happen: fewer job-wide options than entries */
    c->once[c->nonce].name = name;
    c->once[c->nonce++].value = value;
    return 0;
}

/* An option of an application context given twice in it. */
static int
fwrun_cli_app_once(const char *name, const char *old, const char *value,
                   fw_error_t *err)
{
    if (old == NULL || strcmp(old, value) == 0)
        return 0;
    fw_errprintf(err, "option '%s' given twice in one application context "
                 "('%s', '%s')", name, old, value);
    return -1;
}

/* Job-wide options: valid in any context, for the whole job. */
static int
fwrun_cli_global(fwrun_t *r, fwrun_cli_t *c, int argc, char **argv, int *i,
                 fw_error_t *err)
{
    const char *a = argv[*i], *v, *name;
    long n;

    if (fwrun_cli_is(a, "--map-by", "-map-by", NULL)) {
        name = "--map-by";
        v = fwrun_cli_value(argc, argv, i, a);
        if (v != NULL && strcmp(v, "slot") == 0)
            r->job.map_by = FW_LAUNCH_MAP_SLOT;
        else if (v != NULL && strcmp(v, "node") == 0)
            r->job.map_by = FW_LAUNCH_MAP_NODE;
        else
            goto bad;
    } else if (fwrun_cli_is(a, "--bind-to", "-bind-to", NULL)) {
        name = "--bind-to";
        v = fwrun_cli_value(argc, argv, i, a);
        if (v != NULL && strcmp(v, "none") == 0)
            r->job.bind = FW_LAUNCH_BIND_NONE;
        else if (v != NULL && strcmp(v, "core") == 0)
            r->job.bind = FW_LAUNCH_BIND_CORE;
        else if (v != NULL && strcmp(v, "package") == 0)
            r->job.bind = FW_LAUNCH_BIND_PACKAGE;
        else
            goto bad;
    } else if (fwrun_cli_is(a, "--stdin", NULL, NULL)) {
        name = "--stdin";
        v = fwrun_cli_value(argc, argv, i, a);
        if (v != NULL && strcmp(v, "none") == 0)
            r->job.flags |= FW_LAUNCH_F_STDIN_NONE;
        else if (v == NULL || (strcmp(v, "rank0") != 0 && strcmp(v, "0")))
            goto bad;
        else
            v = "rank0";
    } else if (fwrun_cli_is(a, "--timeout", "-timeout", NULL)) {
        name = "--timeout";
        v = fwrun_cli_value(argc, argv, i, a);
        if (fwrun_cli_long(v, 1, 86400 * 365, &n) != 0)
            goto bad;
        r->opt.timeout_s = (int)n;
    } else if (fwrun_cli_is(a, "--fanout", NULL, NULL)) {
        name = "--fanout";
        v = fwrun_cli_value(argc, argv, i, a);
        if (fwrun_cli_long(v, 1, 1024, &n) != 0)
            goto bad;
        r->opt.fanout = (uint32_t)n;
    } else if (fwrun_cli_is(a, "--launch-agent", "-launch-agent", NULL)) {
        name = "--launch-agent";
        v = fwrun_cli_value(argc, argv, i, a);
        if (v == NULL || v[0] == '\0')
            goto missing;
        fw_launch_strv_free(r->opt.agent);
        r->opt.agent = fwrun_cli_split(v);
        if (r->opt.agent == NULL || r->opt.agent[0] == NULL)
            goto bad;
    } else if (fwrun_cli_is(a, "--provider", NULL, NULL)) {
        name = "--provider";
        v = c->provider = fwrun_cli_value(argc, argv, i, a);
        if (c->provider == NULL || c->provider[0] == '\0')
            goto missing;
        r->opt.provider = c->provider;
    } else if (fwrun_cli_is(a, "--server", "-ompi-server", NULL)) {
        name = "--server";
        v = r->opt.server = fwrun_cli_value(argc, argv, i, a);
        if (r->opt.server == NULL || r->opt.server[0] == '\0')
            goto missing;
    } else if (fwrun_cli_is(a, "--npernode", "-npernode", NULL)) {
        name = "--npernode";
        v = fwrun_cli_value(argc, argv, i, a);
        if (fwrun_cli_long(v, 1, 1 << 20, &n) != 0)
            goto bad;
        r->opt.npernode = (uint32_t)n;
    } else {
        if (fwrun_cli_is(a, "--tag-output", "-tag-output", NULL)) {
            r->job.flags |= FW_LAUNCH_F_TAG_OUTPUT;
        } else if (fwrun_cli_is(a, "--report-bindings", "-report-bindings",
                                NULL)) {
            r->job.flags |= FW_LAUNCH_F_REPORT_BINDINGS;
        } else if (fwrun_cli_is(a, "--oversubscribe", "-oversubscribe",
                                NULL)) {
            r->job.flags |= FW_LAUNCH_F_OVERSUBSCRIBE;
        } else if (fwrun_cli_is(a, "--verbose", "-v", NULL)) {
            r->opt.verbose = 1;
        } else {
            fw_errprintf(err, "unknown option '%s' (see fwrun --help)", a);
            return -1;
        }
        return 0;
    }
    return fwrun_cli_once(c, name, v, err);
missing:
    fw_errprintf(err, "option '%s' needs a value", a);
    return -1;
bad:
    /* no "=value" and nothing after the option: say so, do not crash */
    if (argv[*i] == a && strchr(a, '=') == NULL)
        goto missing;
    fw_errprintf(err, "option '%s': invalid value '%s'", a,
                 argv[*i] != a ? argv[*i] : strchr(a, '=') + 1);
    return -1;
}

/* An option of the application context app; 1 if a is not one. */
static int
fwrun_cli_app_opt(fwrun_cli_app_t *app, int argc, char **argv, int *i,
                  fw_error_t *err)
{
    const char *a = argv[*i], *v, **slot;
    const char *name;
    long n;

    if (fwrun_cli_is(a, "-n", "-np", "--np") ||
        fwrun_cli_is(a, "-c", "--n", NULL)) {
        v = fwrun_cli_value(argc, argv, i, a);
        if (fwrun_cli_long(v, 1, 1 << 24, &n) != 0) {
            fw_errprintf(err, "option '%s': invalid count '%s'", a,
                         v != NULL ? v : "");
            return -1;
        }
        if (app->np >= 0 && app->np != n) {
            fw_errprintf(err, "option '%s' given twice in one application "
                         "context ('%ld', '%ld')", a, app->np, n);
            return -1;
        }
        app->np = n;
        return 0;
    }
    if (fwrun_cli_is(a, "-x", NULL, NULL)) {
        v = fwrun_cli_value(argc, argv, i, a);
        return fwrun_cli_add_env(&app->env, &app->nenv, v, err);
    }
    if (fwrun_cli_is(a, "--wdir", "-wdir", "--wd")) {
        name = "--wdir";
        slot = &app->wdir;
    } else if (fwrun_cli_is(a, "--host", "-H", "-host")) {
        name = "--host";
        slot = &app->host;
    } else if (fwrun_cli_is(a, "--hostfile", "--machinefile", "-hostfile")) {
        name = "--hostfile";
        slot = &app->hostfile;
    } else {
        return 1;
    }
    v = fwrun_cli_value(argc, argv, i, a);
    if (v == NULL) {
        fw_errprintf(err, "option '%s' needs a value", a);
        return -1;
    }
    if (fwrun_cli_app_once(name, *slot, v, err) != 0)
        return -1;
    *slot = v;
    return 0;
}

/* One application context: [options] PROG ARGS */
static int
fwrun_cli_context(fwrun_t *r, fwrun_cli_t *c, int argc, char **argv, int *i,
                  fw_error_t *err)
{
    fwrun_cli_app_t *app = &c->apps[c->napps];
    const char *a;
    int rc;

    if (c->napps == (int)(sizeof(c->apps) / sizeof(c->apps[0]))) {
        fw_errprintf(err, "too many application contexts");
        return -1;
    }
    app->np = -1;
    c->napps++; /* its env is freed with the others even on error */
    for (; *i < argc; ++*i) {
        a = argv[*i];
        if (a[0] != '-' || strcmp(a, "-") == 0)
            break;
        rc = fwrun_cli_app_opt(app, argc, argv, i, err);
        if (rc == 1)
            rc = fwrun_cli_global(r, c, argc, argv, i, err);
        if (rc != 0)
            return -1;
    }
    if (*i >= argc || strcmp(argv[*i], ":") == 0) {
        fw_errprintf(err, "no program given (see fwrun --help)");
        return -1;
    }
    app->argv = argv + *i;
    while (*i < argc && strcmp(argv[*i], ":") != 0) {
        ++*i;
        app->argc++;
    }
    return 0;
}

/* App k's environment: its own -x, then the job's FW_PROVIDER, then (a
 * spawned job: FW_SPAWN_JOBID, or a standby that read it already) where
 * its parent's daemons relay it (FW_RELAY_*, set by the parent's fwrun:
 * dpm/relay.h); a fwrun run by a spawned rank passes on none. */
static int
fwrun_cli_app_env(const fwrun_cli_t *c, const fwrun_cli_app_t *ca,
                  fw_launch_app_t *app, int spawned)
{
    static const char *const relay[] = {"FW_RELAY_URI", "FW_RELAY_SECRET"};
    size_t n = 0;

    app->env = calloc(ca->nenv + 4, sizeof(char *));
    if (app->env == NULL)
        return -1;
    for (size_t j = 0; j < ca->nenv; j++)
        if ((app->env[n++] = strdup(ca->env[j])) == NULL)
            return -1;
    if (c->provider != NULL &&
        asprintf(&app->env[n++], "FW_PROVIDER=%s", c->provider) < 0) {
        app->env[n - 1] = NULL;
        return -1;
    }
    for (size_t j = 0; j < 2 && spawned; j++) {
        const char *v = getenv(relay[j]);

        if (v != NULL && asprintf(&app->env[n++], "%s=%s", relay[j], v) < 0) {
            app->env[n - 1] = NULL;
            return -1;
        }
    }
    return 0;
}

/* A relative --wdir is fwrun's, as with mpirun: made absolute here (the
 * daemons resolve a relative program inside it). NULL: out of memory. */
static char *
fwrun_cli_abs(const char *dir)
{
    char cwd[4096], *abs = NULL;

    if (dir[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
        return strdup(dir);
    if (asprintf(&abs, "%s/%s", cwd, dir) < 0)
        return NULL;
    return abs;
}

static int
fwrun_cli_build(fwrun_t *r, fwrun_cli_t *c, fw_error_t *err)
{
    fw_launch_job_t *job = &r->job;
    uint32_t k, first = 0;
    int j;

    job->apps = calloc((size_t)c->napps, sizeof(*job->apps));
    r->opt.app_hosts = calloc((size_t)c->napps, sizeof(*r->opt.app_hosts));
    if (job->apps == NULL || r->opt.app_hosts == NULL)
        goto oom;
    job->napps = (uint32_t)c->napps;
    for (k = 0; k < job->napps; k++) {
        fw_launch_app_t *app = &job->apps[k];
        fwrun_cli_app_t *ca = &c->apps[k];

        if (ca->np < 0 && c->napps > 1) {
            fw_errprintf(err, "application %u (%s): -n is required with "
                         "several programs", k + 1, ca->argv[0]);
            return -1;
        }
        app->np = ca->np < 0 ? 0 : (uint32_t)ca->np; /* 0: all slots */
        app->first = first;
        first += app->np;
        app->argv = calloc((size_t)ca->argc + 1, sizeof(char *));
        if (app->argv == NULL ||
            fwrun_cli_app_env(c, ca, app,
                              r->spawned || getenv("FW_SPAWN_JOBID") != NULL)
                != 0)
            goto oom;
        for (j = 0; j < ca->argc; j++)
            if ((app->argv[j] = strdup(ca->argv[j])) == NULL)
                goto oom;
        if (ca->wdir != NULL && (app->wdir = fwrun_cli_abs(ca->wdir)) == NULL)
            goto oom;
        r->opt.app_hosts[k].list = ca->host;
        r->opt.app_hosts[k].file = ca->hostfile;
    }
    job->nprocs = first;
    return 0;
oom:
    fw_errprintf(err, "out of memory");
    return -1;
}

int
fwrun_cli_parse(fwrun_t *r, int argc, char **argv, fw_error_t *err)
{
    fwrun_cli_t c;
    int i = 1, rc = -1;
    size_t k;

    memset(&c, 0, sizeof(c));
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 ||
                     strcmp(argv[1], "--help") == 0)) {
        fputs(fwrun_usage, stdout);
        return 1;
    }
    if (argc > 1 && (strcmp(argv[1], "-V") == 0 ||
                     strcmp(argv[1], "--version") == 0)) {
        printf("fwrun (fabwire) %s\n", FWRUN_VERSION);
        return 1;
    }
    while (i < argc) {
        if (fwrun_cli_context(r, &c, argc, argv, &i, err) != 0)
            goto out;
        if (i < argc && strcmp(argv[i], ":") == 0)
            i++;
        if (i == argc && strcmp(argv[argc - 1], ":") == 0) {
            fw_errprintf(err, "no program after ':'");
            goto out;
        }
    }
    if (c.napps == 0) {
        fw_errprintf(err, "no program given (see fwrun --help)");
        goto out;
    }
    /* a name no rank could open is refused before anything starts */
    if (fw_fab_provider_check(r->opt.provider, err) != FW_SUCCESS)
        goto out;
    rc = fwrun_cli_build(r, &c, err);
out:
    for (int a = 0; a < c.napps; a++) {
        for (k = 0; k < c.apps[a].nenv; k++)
            free(c.apps[a].env[k]);
        free(c.apps[a].env);
    }
    return rc;
}
