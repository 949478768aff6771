/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Launcher job description without processes: host lists and hostfiles
 * (good lines, comments, slots, errors with file:line), the rank mapper
 * (by slot, by node, oversubscribed) and the launch message round trip,
 * where truncated or malformed input must give FW_ERR_PROTO and never a
 * crash.
 */
#include "launcher/job.h"
#include "launcher/launch_wire.h"
#include "fw_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/****************/
/* Helpers      */
/****************/

static char fw_t_dir_g[] = "/tmp/fw-test-hosts-XXXXXX";
static int fw_t_nfiles_g;

/* Write text to a new file in the test directory; returns its path. */
static const char *
fw_t_file(const char *text)
{
    static char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/hostfile.%d", fw_t_dir_g,
             ++fw_t_nfiles_g);
    f = fopen(path, "w");
    if (f == NULL)
        return "/nonexistent/hostfile";
    fputs(text, f);
    fclose(f);
    return path;
}

static void
fw_t_rmdir(void)
{
    char path[128];
    int i;

    for (i = 1; i <= fw_t_nfiles_g; i++) {
        snprintf(path, sizeof(path), "%s/hostfile.%d", fw_t_dir_g, i);
        unlink(path);
    }
    rmdir(fw_t_dir_g);
}

static int
fw_t_host_is(const fw_launch_job_t *job, uint32_t i, const char *name,
             uint32_t slots, int given)
{
    if (i >= job->nhosts) {
        diag("host %u: only %u hosts", i, job->nhosts);
        return 0;
    }
    if (strcmp(job->hosts[i].name, name) != 0 ||
        job->hosts[i].slots != slots || job->hosts[i].slots_given != given) {
        diag("host %u: got '%s' slots %u given %d, expected '%s' %u %d", i,
             job->hosts[i].name, job->hosts[i].slots,
             job->hosts[i].slots_given, name, slots, given);
        return 0;
    }
    return 1;
}

/* Parse a hostfile text; the status, the job and the error are kept. */
static fw_status_t
fw_t_parse_text(fw_launch_job_t *job, const char *text, fw_error_t *err,
                const char **path_p)
{
    const char *path = fw_t_file(text);

    memset(job, 0, sizeof(*job));
    memset(err, 0, sizeof(*err));
    if (path_p != NULL)
        *path_p = path;
    return fw_launch_hosts_parse_file(job, path, err);
}

/* err->text starts with "path:line: " and contains what. */
static int
fw_t_err_at(const fw_error_t *err, const char *path, unsigned line,
            const char *what)
{
    char want[160];

    snprintf(want, sizeof(want), "%s:%u: ", path, line);
    if (strncmp(err->text, want, strlen(want)) != 0 ||
        strstr(err->text, what) == NULL) {
        diag("error text '%s', expected '%s...%s...'", err->text, want, what);
        return 0;
    }
    return 1;
}

/* "self*" names and "me" stand for this machine. */
static int
fw_t_self(const char *name, void *arg)
{
    int *calls = arg;

    ++*calls;
    return strncmp(name, "self", 4) == 0 || strcmp(name, "me") == 0;
}

/****************/
/* Host lists   */
/****************/

static void
test_list_good(void)
{
    fw_launch_job_t job;
    fw_error_t err;

    memset(&job, 0, sizeof(job));
    is(fw_launch_hosts_parse_list(&job, "a,b:3,c.example_1-x", &err),
       FW_SUCCESS, "list: a,b:3,c.example_1-x parses");
    is(job.nhosts, 3, "list: three hosts");
    ok(fw_t_host_is(&job, 0, "a", 1, 0), "list: a has 1 slot by default");
    ok(fw_t_host_is(&job, 1, "b", 3, 1), "list: b:3 has 3 given slots");
    ok(fw_t_host_is(&job, 2, "c.example_1-x", 1, 0),
       "list: dots, dashes and underscores are valid in names");
    fw_launch_job_cleanup(&job);

    memset(&job, 0, sizeof(job));
    is(fw_launch_hosts_parse_list(&job, "a:2,b,a:3,b", &err), FW_SUCCESS,
       "list: repeated hosts parse");
    is(job.nhosts, 2, "list: a repeated host is one host");
    ok(fw_t_host_is(&job, 0, "a", 5, 1) && fw_t_host_is(&job, 1, "b", 2, 0),
       "list: a repeated host adds its slots (a 2+3, b 1+1)");
    fw_launch_job_cleanup(&job);

    memset(&job, 0, sizeof(job));
    is(fw_launch_hosts_parse_list(&job, "198.18.0.2:4", &err), FW_SUCCESS,
       "list: an address with slots parses");
    ok(fw_t_host_is(&job, 0, "198.18.0.2", 4, 1), "list: address and slots");
    fw_launch_job_cleanup(&job);
}

/* issue: localhost:1,127.0.0.1:1 were two hosts (two daemons on one
 * machine, both ranks local rank 0, bound to the same core) */
static void
test_merge_self(void)
{
    fw_launch_job_t job;
    fw_error_t err;
    int calls = 0;

    memset(&job, 0, sizeof(job));
    is(fw_launch_hosts_parse_list(&job, "a,self1:1,b:2,me,self2:3,a", &err),
       FW_SUCCESS, "merge: list with 3 names of this machine parses");
    is(job.nhosts, 5, "merge: parsed as 5 hosts (a repeated)");
    is(fw_launch_hosts_merge_self(&job, fw_t_self, &calls), FW_SUCCESS,
       "merge: fw_launch_hosts_merge_self");
    is(calls, 5, "merge: every host asked once");
    is(job.nhosts, 3, "merge: the names of this machine are one host");
    ok(fw_t_host_is(&job, 0, "a", 2, 0) && fw_t_host_is(&job, 1, "self1", 5, 1)
       && fw_t_host_is(&job, 2, "b", 2, 1),
       "merge: first spelling and place kept, slots add up (1+1+3)");
    ok(job.hosts[1].is_self && !job.hosts[0].is_self && !job.hosts[2].is_self,
       "merge: only the merged host is marked is_self");
    job.nprocs = 7;
    is(fw_launch_job_map(&job, &err), FW_SUCCESS, "merge: 7 ranks map");
    is(job.hosts[1].nprocs, 5, "merge: this machine takes its 5 slots");
    fw_launch_job_cleanup(&job);

    memset(&job, 0, sizeof(job));
    is(fw_launch_hosts_parse_list(&job, "self,x", &err), FW_SUCCESS,
       "merge: one name of this machine");
    is(fw_launch_hosts_merge_self(&job, NULL, NULL), FW_SUCCESS,
       "merge: no callback");
    ok(job.nhosts == 2 && !job.hosts[0].is_self,
       "merge: no callback, nothing is this machine");
    fw_launch_job_cleanup(&job);
}

static void
test_list_bad(void)
{
    static const struct {
        const char *list, *what;
    } bad[] = {
        {"", "empty host list"},
        {"a:0", "bad slot count '0'"},
        {"a:x", "bad slot count 'x'"},
        {"a:", "bad slot count ''"},
        {"a:-1", "bad slot count '-1'"},
        {"a:2x", "bad slot count '2x'"},
        {"a:99999999999", "bad slot count"},
        {"b,bad host", "bad host name 'bad host'"},
        {"a,b!c:2", "bad host name 'b!c'"},
        {":3", "bad host name ''"},
        {",", "empty host name in ','"},
        {"a,,b", "empty host name in 'a,,b'"},
        {"a,", "empty host name in 'a,'"},
    };
    char longname[FW_LAUNCH_HOST_MAX + 8];
    fw_launch_job_t job;
    fw_error_t err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&job, 0, sizeof(job));
        memset(&err, 0, sizeof(err));
        is(fw_launch_hosts_parse_list(&job, bad[i].list, &err), FW_ERR_PARSE,
           "list: '%s' is a parse error", bad[i].list);
        ok(strstr(err.text, bad[i].what) != NULL,
           "list: '%s' says \"%s\" (got \"%s\")", bad[i].list, bad[i].what,
           err.text);
        fw_launch_job_cleanup(&job);
    }
    memset(&job, 0, sizeof(job));
    is(fw_launch_hosts_parse_list(&job, NULL, &err), FW_ERR_PARSE,
       "list: NULL is a parse error");
    memset(longname, 'h', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    is(fw_launch_hosts_parse_list(&job, longname, &err), FW_ERR_PARSE,
       "list: a %zu-byte host name is refused", strlen(longname));
    fw_launch_job_cleanup(&job);
}

/****************/
/* Hostfiles    */
/****************/

static void
test_file_good(void)
{
    fw_launch_job_t job;
    fw_error_t err;
    fw_status_t rc;

    rc = fw_t_parse_text(&job,
                         "# a comment line\n"
                         "\n"
                         "   \t  \n"
                         "node1 slots=4   # trailing comment\n"
                         "node2\n"
                         "\tnode3\tslots=2\tmax_slots=8\n"
                         "node4 max_slots=3\n"
                         "node1 slots=2\n"
                         "node5 slots=1\r\n"
                         "#node6 slots=9\n"
                         "node7",
                         &err, NULL);
    is(rc, FW_SUCCESS, "file: good lines parse (%s)", err.text);
    is(job.nhosts, 6, "file: six hosts (comments and blanks skipped)");
    ok(fw_t_host_is(&job, 0, "node1", 6, 1),
       "file: node1 slots=4 and again slots=2 adds up to 6");
    ok(fw_t_host_is(&job, 1, "node2", 1, 0), "file: no slots= is 1 slot");
    ok(fw_t_host_is(&job, 2, "node3", 2, 1),
       "file: tabs separate fields, max_slots does not change slots");
    ok(fw_t_host_is(&job, 3, "node4", 1, 0), "file: max_slots alone: 1 slot");
    ok(fw_t_host_is(&job, 4, "node5", 1, 1), "file: CRLF line ends");
    ok(fw_t_host_is(&job, 5, "node7", 1, 0),
       "file: last line without newline");
    fw_launch_job_cleanup(&job);

    /* a hostfile then a list: both add to the same job */
    rc = fw_t_parse_text(&job, "x slots=2\n", &err, NULL);
    ok(rc == FW_SUCCESS &&
           fw_launch_hosts_parse_list(&job, "x:1,y", &err) == FW_SUCCESS &&
           job.nhosts == 2 && fw_t_host_is(&job, 0, "x", 3, 1),
       "file then list: the same host adds slots");
    fw_launch_job_cleanup(&job);
}

static void
test_file_bad(void)
{
    static const struct {
        const char *text, *what;
        unsigned line;
    } bad[] = {
        {"good\nnode1 bogus=1\n", "unknown field 'bogus=1'", 2},
        {"# c\n\nnode1 slots=0\n", "bad slot count '0'", 3},
        {"node1 slots=abc\n", "bad slot count 'abc'", 1},
        {"node1 slots=\n", "bad slot count ''", 1},
        {"a\nb\nc\nnode1 max_slots=-2\n", "bad max_slots '-2'", 4},
        {"bad!host slots=1\n", "bad host name 'bad!host'", 1},
        {"slots=2\n", "bad host name 'slots=2'", 1},
        {"node1 slots=2 extra\n", "unknown field 'extra'", 1},
    };
    char longline[2100];
    const char *path;
    fw_launch_job_t job;
    fw_error_t err;
    fw_status_t rc;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rc = fw_t_parse_text(&job, bad[i].text, &err, &path);
        is(rc, FW_ERR_PARSE, "file: bad line %zu is a parse error", i + 1);
        ok(fw_t_err_at(&err, path, bad[i].line, bad[i].what),
           "file: bad line %zu: message has file:%u and \"%s\"", i + 1,
           bad[i].line, bad[i].what);
        fw_launch_job_cleanup(&job);
    }

    memset(longline, 'a', sizeof(longline));
    memcpy(longline, "ok\n", 3);
    longline[sizeof(longline) - 2] = '\n';
    longline[sizeof(longline) - 1] = '\0';
    rc = fw_t_parse_text(&job, longline, &err, &path);
    ok(rc == FW_ERR_PARSE && fw_t_err_at(&err, path, 2, "line too long"),
       "file: a 2 KB line is refused with file:line");
    fw_launch_job_cleanup(&job);

    rc = fw_t_parse_text(&job, "# only comments\n\n  # here\n", &err, &path);
    ok(rc == FW_ERR_PARSE && strstr(err.text, path) != NULL &&
           strstr(err.text, "no hosts") != NULL,
       "file: only comments is an error naming the file (%s)", err.text);
    fw_launch_job_cleanup(&job);

    rc = fw_t_parse_text(&job, "", &err, &path);
    is(rc, FW_ERR_PARSE, "file: an empty file is an error");
    fw_launch_job_cleanup(&job);

    memset(&job, 0, sizeof(job));
    memset(&err, 0, sizeof(err));
    rc = fw_launch_hosts_parse_file(&job, "/nonexistent/fw-hostfile", &err);
    is(rc, FW_ERR_NOT_FOUND, "file: a missing file is FW_ERR_NOT_FOUND");
    ok(strstr(err.text, "/nonexistent/fw-hostfile") != NULL &&
           strstr(err.text, "No such file") != NULL,
       "file: the message names the missing file (%s)", err.text);
    is(job.nhosts, 0, "file: a missing file adds no host");
    fw_launch_job_cleanup(&job);
}

/****************/
/* Mapping      */
/****************/

/* A job over "list" with nprocs ranks in one app. */
static fw_status_t
fw_t_job(fw_launch_job_t *job, const char *list, uint32_t nprocs,
         uint32_t map_by, uint32_t flags)
{
    fw_error_t err;
    fw_status_t rc;

    memset(job, 0, sizeof(*job));
    rc = fw_launch_hosts_parse_list(job, list, &err);
    if (rc != FW_SUCCESS)
        return rc;
    job->nprocs = nprocs;
    job->map_by = map_by;
    job->flags = flags;
    return FW_SUCCESS;
}

static int
fw_t_map_is(const fw_launch_job_t *job, const uint32_t *want, uint32_t n)
{
    uint32_t r, h, count;

    if (job->rank_node == NULL)
        return 0;
    for (r = 0; r < n; r++) {
        if (job->rank_node[r] != want[r]) {
            diag("rank %u on host %u, expected %u", r, job->rank_node[r],
                 want[r]);
            return 0;
        }
    }
    for (h = 0; h < job->nhosts; h++) {
        for (count = 0, r = 0; r < n; r++)
            count += job->rank_node[r] == h;
        if (job->hosts[h].nprocs != count) {
            diag("host %u: nprocs %u, %u ranks mapped", h,
                 job->hosts[h].nprocs, count);
            return 0;
        }
    }
    return 1;
}

static void
test_map(void)
{
    static const uint32_t by_slot[] = {0, 0, 1, 1, 2};
    static const uint32_t by_node[] = {0, 1, 2, 0, 1};
    static const uint32_t by_node_uneven[] = {0, 1, 0, 0};
    static const uint32_t over_slot[] = {0, 0, 0, 1, 1, 0};
    static const uint32_t over_node[] = {0, 1, 2, 0, 1};
    fw_launch_job_t job;
    fw_error_t err;
    uint32_t lr, ls;

    fw_t_job(&job, "a:2,b:2,c:1", 5, FW_LAUNCH_MAP_SLOT, 0);
    is(fw_launch_job_map(&job, &err), FW_SUCCESS, "map by slot: 5 on 2+2+1");
    ok(fw_t_map_is(&job, by_slot, 5), "map by slot fills hosts in order");
    fw_launch_job_local(&job, 3, &lr, &ls);
    ok(lr == 1 && ls == 2, "rank 3: local rank 1 of 2");
    fw_launch_job_local(&job, 4, &lr, &ls);
    ok(lr == 0 && ls == 1, "rank 4: local rank 0 of 1");
    /* mapping again starts over */
    job.map_by = FW_LAUNCH_MAP_NODE;
    is(fw_launch_job_map(&job, &err), FW_SUCCESS, "map by node: 5 on 2+2+1");
    ok(fw_t_map_is(&job, by_node, 5), "map by node goes round robin");
    fw_launch_job_local(&job, 3, &lr, &ls);
    ok(lr == 1 && ls == 2, "by node, rank 3: local rank 1 of 2");
    fw_launch_job_cleanup(&job);

    fw_t_job(&job, "a:3,b:1", 4, FW_LAUNCH_MAP_NODE, 0);
    is(fw_launch_job_map(&job, &err), FW_SUCCESS, "map by node: 4 on 3+1");
    ok(fw_t_map_is(&job, by_node_uneven, 4),
       "map by node skips a full host");
    fw_launch_job_cleanup(&job);

    fw_t_job(&job, "a:3,b:1", 5, FW_LAUNCH_MAP_SLOT, 0);
    memset(&err, 0, sizeof(err));
    is(fw_launch_job_map(&job, &err), FW_ERR_TOO_BIG,
       "5 ranks on 4 slots without --oversubscribe: FW_ERR_TOO_BIG");
    ok(strstr(err.text, "5 ranks") != NULL &&
           strstr(err.text, "4 slots") != NULL &&
           strstr(err.text, "--oversubscribe") != NULL,
       "the message gives ranks, slots and the way out (%s)", err.text);
    ok(job.rank_node == NULL, "a refused map leaves no rank map");
    fw_launch_job_cleanup(&job);

    fw_t_job(&job, "a:3,b:1", 6, FW_LAUNCH_MAP_SLOT,
             FW_LAUNCH_F_OVERSUBSCRIBE);
    is(fw_launch_job_map(&job, &err), FW_SUCCESS,
       "6 ranks on 4 slots with --oversubscribe");
    ok(fw_t_map_is(&job, over_slot, 6),
       "oversubscribed by slot: fill, then one more each");
    fw_launch_job_cleanup(&job);

    fw_t_job(&job, "a,b,c", 5, FW_LAUNCH_MAP_NODE, FW_LAUNCH_F_OVERSUBSCRIBE);
    is(fw_launch_job_map(&job, &err), FW_SUCCESS,
       "5 ranks on 3 slots by node with --oversubscribe");
    ok(fw_t_map_is(&job, over_node, 5), "oversubscribed by node: round robin");
    fw_launch_job_cleanup(&job);

    fw_t_job(&job, "a:2", 64, FW_LAUNCH_MAP_SLOT, FW_LAUNCH_F_OVERSUBSCRIBE);
    is(fw_launch_job_map(&job, &err), FW_SUCCESS, "64 ranks on one 2-slot host");
    fw_launch_job_local(&job, 63, &lr, &ls);
    ok(job.hosts[0].nprocs == 64 && lr == 63 && ls == 64,
       "64 ranks on one host: rank 63 is local rank 63 of 64");
    fw_launch_job_cleanup(&job);

    fw_t_job(&job, "a", 0, FW_LAUNCH_MAP_SLOT, 0);
    is(fw_launch_job_map(&job, &err), FW_ERR_BAD_PARAM,
       "no ranks: FW_ERR_BAD_PARAM");
    fw_launch_job_cleanup(&job);
    memset(&job, 0, sizeof(job));
    job.nprocs = 1;
    is(fw_launch_job_map(&job, &err), FW_ERR_BAD_PARAM,
       "no hosts: FW_ERR_BAD_PARAM");
}

/****************/
/* Wire         */
/****************/

static char **
fw_t_strv(const char *a, const char *b, const char *c)
{
    char **v = calloc(4, sizeof(*v));
    const char *s[3] = {a, b, c};
    int i, n = 0;

    for (i = 0; v != NULL && i < 3; i++)
        if (s[i] != NULL)
            v[n++] = strdup(s[i]);
    return v;
}

/* A job of napps apps with np[k] ranks each and their hosts ah[k]. */
static fw_status_t
fw_t_job_apps(fw_launch_job_t *job, uint32_t napps, const uint32_t *np,
              const fw_launch_app_hosts_t *ah, uint32_t map_by,
              fw_error_t *err)
{
    int calls = 0;

    memset(job, 0, sizeof(*job));
    job->apps = calloc(napps, sizeof(*job->apps));
    if (job->apps == NULL)
        return FW_ERR_NO_MEM;
    job->napps = napps;
    for (uint32_t k = 0; k < napps; k++) {
        job->apps[k].np = np[k];
        job->apps[k].first = job->nprocs;
        job->nprocs += np[k];
    }
    job->map_by = map_by;
    return fw_launch_job_hosts_build(job, ah, fw_t_self, &calls, err);
}

/* issue: with "-n 1 --host H1:2 a : -n 1 --host H2:2 b" the last --host
 * was the job's and both ranks went to H2; each app's ranks now go on
 * its own hosts, apps on a common host share its slots. */
static void
test_map_apps(void)
{
    static const fw_launch_app_hosts_t two[] = {{"h1:2", NULL},
                                                {"h2:2", NULL}};
    static const fw_launch_app_hosts_t three[] = {{"a:2,b:2", NULL},
                                                  {"c:1,b:2", NULL},
                                                  {NULL, NULL}};
    static const fw_launch_app_hosts_t selfs[] = {{"self:1,x", NULL},
                                                  {"me:2", NULL}};
    static const fw_launch_app_hosts_t bad[] = {{"a", NULL}, {"b:0", NULL}};
    static const uint32_t one_each[] = {1, 1}, np3[] = {2, 2, 1};
    static const fw_launch_app_hosts_t short_[] = {{"a:2,b:2", NULL},
                                                   {"c:1,b:2", NULL},
                                                   {"d:3", NULL}};
    static const uint32_t np_big[] = {4, 2, 1}, np_self[] = {1, 2};
    static const uint32_t want_two[] = {0, 1};
    static const uint32_t want_slot[] = {0, 0, 1, 1, 2};
    static const uint32_t want_node[] = {0, 1, 2, 1, 0};
    static const uint32_t want_over[] = {0, 0, 1, 1, 2, 2, 0, 1};
    static const uint32_t np_over[] = {2, 4, 2};
    fw_launch_job_t job;
    fw_error_t err;

    is(fw_t_job_apps(&job, 2, one_each, two, FW_LAUNCH_MAP_SLOT, &err),
       FW_SUCCESS, "apps: -n 1 --host h1:2 : -n 1 --host h2:2");
    ok(job.nhosts == 2 && fw_t_host_is(&job, 0, "h1", 2, 1) &&
       fw_t_host_is(&job, 1, "h2", 2, 1), "apps: the job's hosts: h1, h2");
    is(fw_launch_job_map(&job, &err), FW_SUCCESS, "apps: map");
    ok(fw_t_map_is(&job, want_two, 2), "apps: rank 0 on h1, rank 1 on h2");
    fw_launch_job_cleanup(&job);

    is(fw_t_job_apps(&job, 3, np3, three, FW_LAUNCH_MAP_SLOT, &err),
       FW_SUCCESS, "apps: a:2,b:2 | c:1,b:2 | (none)");
    ok(job.nhosts == 3 && fw_t_host_is(&job, 0, "a", 2, 1) &&
       fw_t_host_is(&job, 1, "b", 2, 1) && fw_t_host_is(&job, 2, "c", 1, 1),
       "apps: union a, b, c; b named twice keeps 2 slots (shared)");
    ok(job.apps[0].nhosts == 2 && job.apps[1].nhosts == 2 &&
       job.apps[1].hosts[0] == 2 && job.apps[1].hosts[1] == 1 &&
       job.apps[2].nhosts == 0, "apps: each app's host indices");
    is(fw_launch_job_map(&job, &err), FW_SUCCESS, "apps: map by slot");
    ok(fw_t_map_is(&job, want_slot, 5), "apps by slot: a a | b b | c "
       "(app 1 not on a, app 2 on what is left)");
    job.map_by = FW_LAUNCH_MAP_NODE;
    is(fw_launch_job_map(&job, &err), FW_SUCCESS, "apps: map by node");
    ok(fw_t_map_is(&job, want_node, 5), "apps by node: a b | c b | a");
    fw_launch_job_cleanup(&job);

    memset(&err, 0, sizeof(err));
    is(fw_t_job_apps(&job, 3, np_big, short_, FW_LAUNCH_MAP_SLOT, &err),
       FW_SUCCESS, "apps: 4 on a:2,b:2 | 2 on c:1,b:2 | 1 on d:3");
    is(fw_launch_job_map(&job, &err), FW_ERR_TOO_BIG,
       "apps: 7 ranks on 8 slots, but app 1 filled b: FW_ERR_TOO_BIG");
    ok(strstr(err.text, "application 2") != NULL &&
       strstr(err.text, "2 ranks requested but only 1 slot left on its "
              "2 hosts") != NULL, "apps: err names the app: %s", err.text);
    ok(job.rank_node == NULL, "apps: a refused map leaves no rank map");
    fw_launch_job_cleanup(&job);

    is(fw_t_job_apps(&job, 3, np_over, three, FW_LAUNCH_MAP_SLOT, &err),
       FW_SUCCESS, "apps: 2 | 4 | 2 ranks, --oversubscribe");
    job.flags = FW_LAUNCH_F_OVERSUBSCRIBE;
    is(fw_launch_job_map(&job, &err), FW_SUCCESS, "apps: oversubscribed");
    ok(fw_t_map_is(&job, want_over, 8), "apps oversubscribed: a a | b b c c "
       "| a b (over the slots: round robin on each app's hosts)");
    fw_launch_job_cleanup(&job);

    is(fw_t_job_apps(&job, 2, np_self, selfs, FW_LAUNCH_MAP_SLOT, &err),
       FW_SUCCESS, "apps: self:1,x | me:2");
    ok(job.nhosts == 2 && fw_t_host_is(&job, 0, "self", 2, 1) &&
       job.hosts[0].is_self && job.apps[1].hosts[0] == 0,
       "apps: this machine under two names in two apps is one host");
    fw_launch_job_cleanup(&job);

    memset(&err, 0, sizeof(err));
    is(fw_t_job_apps(&job, 2, one_each, bad, FW_LAUNCH_MAP_SLOT, &err),
       FW_ERR_PARSE, "apps: a bad list in app 2");
    ok(strncmp(err.text, "application 2: ", 15) == 0 &&
       strstr(err.text, "bad slot count '0'") != NULL,
       "apps: err says which app: %s", err.text);
    fw_launch_job_cleanup(&job);
}

/* Two apps (MPMD) over three hosts, mapped by node. */
static void
fw_t_job_full(fw_launch_job_t *job)
{
    fw_error_t err;
    uint32_t i;

    fw_t_job(job, "h1:2,h2:2,h3:2", 5, FW_LAUNCH_MAP_NODE,
             FW_LAUNCH_F_TAG_OUTPUT | FW_LAUNCH_F_REPORT_BINDINGS);
    snprintf(job->jobid, sizeof(job->jobid), "fw1234.abcd");
    job->bind = FW_LAUNCH_BIND_CORE;
    job->universe_size = 6;
    job->napps = 2;
    job->apps = calloc(2, sizeof(*job->apps));
    job->apps[0].argv = fw_t_strv("./a.out", "--x", "a b");
    job->apps[0].env = fw_t_strv("FOO=bar", "EMPTY=", NULL);
    job->apps[0].wdir = strdup("/tmp");
    job->apps[0].np = 2;
    job->apps[0].first = 0;
    job->apps[1].argv = fw_t_strv("b", NULL, NULL);
    job->apps[1].env = fw_t_strv(NULL, NULL, NULL);
    job->apps[1].np = 3;
    job->apps[1].first = 2;
    fw_launch_job_map(job, &err);
    for (i = 0; i < job->nhosts; i++)
        job->hosts[i].daemon_id = i + 1;
}

static int
fw_t_strv_eq(char **a, char **b)
{
    size_t i;

    for (i = 0; a[i] != NULL || b[i] != NULL; i++)
        if (a[i] == NULL || b[i] == NULL || strcmp(a[i], b[i]) != 0)
            return 0;
    return 1;
}

static int
fw_t_job_eq(const fw_launch_job_t *a, const fw_launch_job_t *b)
{
    uint32_t i;

    if (strcmp(a->jobid, b->jobid) != 0 || a->flags != b->flags ||
        a->bind != b->bind || a->map_by != b->map_by ||
        a->nprocs != b->nprocs || a->universe_size != b->universe_size ||
        a->nhosts != b->nhosts || a->napps != b->napps)
        return 0;
    for (i = 0; i < a->nhosts; i++)
        if (strcmp(a->hosts[i].name, b->hosts[i].name) != 0 ||
            a->hosts[i].slots != b->hosts[i].slots ||
            a->hosts[i].daemon_id != b->hosts[i].daemon_id ||
            a->hosts[i].nprocs != b->hosts[i].nprocs)
            return 0;
    for (i = 0; i < a->napps; i++)
        if (!fw_t_strv_eq(a->apps[i].argv, b->apps[i].argv) ||
            !fw_t_strv_eq(a->apps[i].env, b->apps[i].env) ||
            (a->apps[i].wdir == NULL) != (b->apps[i].wdir == NULL) ||
            (a->apps[i].wdir != NULL &&
             strcmp(a->apps[i].wdir, b->apps[i].wdir) != 0) ||
            a->apps[i].np != b->apps[i].np ||
            a->apps[i].first != b->apps[i].first)
            return 0;
    for (i = 0; i < a->nprocs; i++)
        if (a->rank_node[i] != b->rank_node[i])
            return 0;
    return 1;
}

static fw_status_t
fw_t_unpack(const void *p, size_t len, fw_launch_job_t *out)
{
    fw_rbuf_t r;

    memset(out, 0, sizeof(*out));
    fw_rbuf_init(&r, p, len);
    return fw_launch_job_unpack(&r, out);
}

static void
fw_t_put_u32_at(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void
test_wire_round_trip(void)
{
    fw_launch_job_t job, out;
    fw_buf_t b;
    uint32_t lr, ls;

    fw_t_job_full(&job);
    fw_buf_init(&b);
    fw_launch_job_pack(&job, &b);
    is(fw_buf_status(&b), FW_SUCCESS, "pack: a 5-rank MPMD job");
    is(fw_t_unpack(b.data, b.len, &out), FW_SUCCESS, "unpack: it comes back");
    ok(fw_t_job_eq(&job, &out), "unpack: every field is equal");
    ok(out.apps[1].wdir == NULL, "unpack: no wdir stays NULL");
    is(fw_launch_job_app_of(&out, 1), 0, "rank 1 is in app 0");
    is(fw_launch_job_app_of(&out, 2), 1, "rank 2 is in app 1");
    is(fw_launch_job_app_of(&out, 4), 1, "rank 4 is in app 1");
    fw_launch_job_local(&out, 4, &lr, &ls);
    ok(out.rank_node[4] == 1 && lr == 1 && ls == 2,
       "rank 4 by node: host 1, local rank 1 of 2");
    fw_launch_job_cleanup(&out);
    ok(out.hosts == NULL && out.apps == NULL && out.rank_node == NULL,
       "cleanup clears the job");
    fw_launch_job_cleanup(NULL);
    fw_buf_cleanup(&b);
    fw_launch_job_cleanup(&job);
}

static void
test_wire_truncated(void)
{
    fw_launch_job_t job, out;
    size_t cut, bad = 0;
    fw_buf_t b;
    uint8_t *copy;

    fw_t_job_full(&job);
    fw_buf_init(&b);
    fw_launch_job_pack(&job, &b);
    /* a private copy of each prefix, so that reading past it would be
     * caught by valgrind or ASan */
    for (cut = 0; cut < b.len; cut++) {
        copy = malloc(cut > 0 ? cut : 1);
        if (copy == NULL)
            break;
        memcpy(copy, b.data, cut);
        if (fw_t_unpack(copy, cut, &out) != FW_ERR_PROTO) {
            if (bad++ == 0)
                diag("prefix of %zu of %zu bytes was not FW_ERR_PROTO", cut,
                     b.len);
            fw_launch_job_cleanup(&out);
        }
        free(copy);
    }
    is(bad, 0, "every truncation (0..%zu bytes) is FW_ERR_PROTO", b.len - 1);
    fw_buf_cleanup(&b);
    fw_launch_job_cleanup(&job);
}

/* Offsets of the packed fields of fw_t_job_full's job, found by packing
 * the pieces the same way job.c does (no wire knowledge duplicated). */
typedef struct fw_t_offsets {
    size_t nprocs, nhosts, host0_nprocs, napps, app0_argc, app0_np,
        app1_first, map;
} fw_t_offsets_t;

static void
fw_t_find_offsets(const fw_launch_job_t *job, fw_t_offsets_t *o)
{
    fw_buf_t b;
    uint32_t i;

    memset(o, 0, sizeof(*o));
    fw_buf_init(&b);
    fw_buf_put_u8(&b, 1);
    fw_buf_put_str(&b, job->jobid);
    fw_buf_put_u32(&b, job->flags);
    fw_buf_put_u32(&b, job->bind);
    fw_buf_put_u32(&b, job->map_by);
    o->nprocs = b.len;
    fw_buf_put_u32(&b, job->nprocs);
    fw_buf_put_u32(&b, job->universe_size);
    o->nhosts = b.len;
    fw_buf_put_u32(&b, job->nhosts);
    for (i = 0; i < job->nhosts; i++) {
        fw_buf_put_str(&b, job->hosts[i].name);
        fw_buf_put_u32(&b, job->hosts[i].slots);
        fw_buf_put_u32(&b, job->hosts[i].daemon_id);
        if (i == 0)
            o->host0_nprocs = b.len;
        fw_buf_put_u32(&b, job->hosts[i].nprocs);
    }
    o->napps = b.len;
    fw_buf_put_u32(&b, job->napps);
    for (i = 0; i < job->napps; i++) {
        if (i == 0)
            o->app0_argc = b.len;
        fw_launch_strv_pack(&b, job->apps[i].argv);
        fw_launch_strv_pack(&b, job->apps[i].env);
        fw_buf_put_str(&b, job->apps[i].wdir != NULL ? job->apps[i].wdir
                                                      : "");
        if (i == 0)
            o->app0_np = b.len;
        fw_buf_put_u32(&b, job->apps[i].np);
        if (i == 1)
            o->app1_first = b.len;
        fw_buf_put_u32(&b, job->apps[i].first);
    }
    o->map = b.len;
    fw_buf_cleanup(&b);
}

static void
test_wire_malformed(void)
{
    static const struct {
        int field; /* index into the offsets, -1: byte 0 */
        uint32_t value;
        const char *what;
    } cases[] = {
        {-1, 0, "unknown version"},
        {0, 0, "nprocs 0"},
        {0, 0xffffffffu, "nprocs 2^32-1"},
        {0, 4, "nprocs one less than the apps and map hold"},
        {1, 0, "nhosts 0"},
        {1, 0xffffffffu, "nhosts 2^32-1 (no huge allocation)"},
        {1, 2, "nhosts one less"},
        {2, 7, "host 0 claims 7 ranks, 2 are mapped to it"},
        {2, 0, "host 0 claims 0 ranks, 2 are mapped to it"},
        {3, 0, "napps 0"},
        {3, 0xffffffffu, "napps 2^32-1"},
        {4, 0, "app 0 with an empty argv"},
        {4, 0x7fffffffu, "app 0 argv count 2^31-1"},
        {5, 0, "app 0 with 0 ranks"},
        {5, 3, "app ranks overlap"},
        {6, 3, "app 1 does not start after app 0"},
        {7, 3, "rank 0 on host 3 of 3"},
        {7, 0xffffffffu, "rank 0 on host 2^32-1"},
    };
    fw_launch_job_t job, out;
    fw_t_offsets_t o;
    size_t offs[8], i, pos, bad_app;
    fw_buf_t b;
    uint8_t *copy;
    fw_status_t rc;

    fw_t_job_full(&job);
    fw_t_find_offsets(&job, &o);
    offs[0] = o.nprocs;
    offs[1] = o.nhosts;
    offs[2] = o.host0_nprocs;
    offs[3] = o.napps;
    offs[4] = o.app0_argc;
    offs[5] = o.app0_np;
    offs[6] = o.app1_first;
    offs[7] = o.map;
    fw_buf_init(&b);
    fw_launch_job_pack(&job, &b);
    ok(o.map + 4 * job.nprocs == b.len, "field offsets match the encoding");
    copy = malloc(b.len);
    for (i = 0; copy != NULL && i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(copy, b.data, b.len);
        if (cases[i].field < 0) {
            copy[0] = (uint8_t)cases[i].value;
        } else {
            pos = offs[cases[i].field];
            fw_t_put_u32_at(copy + pos, cases[i].value);
        }
        rc = fw_t_unpack(copy, b.len, &out);
        is(rc, FW_ERR_PROTO, "malformed: %s is FW_ERR_PROTO", cases[i].what);
        if (rc == FW_SUCCESS)
            fw_launch_job_cleanup(&out);
    }

    /* a NUL inside the jobid string */
    memcpy(copy, b.data, b.len);
    copy[1 + 4 + 2] = '\0';
    is(fw_t_unpack(copy, b.len, &out), FW_ERR_PROTO,
       "malformed: a NUL inside a string is FW_ERR_PROTO");

    /* every byte changed in turn: any answer but a crash or a leak */
    for (pos = 0, bad_app = 0; copy != NULL && pos < b.len; pos++) {
        static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
        size_t k;

        for (k = 0; k < sizeof(vals); k++) {
            memcpy(copy, b.data, b.len);
            copy[pos] = vals[k];
            rc = fw_t_unpack(copy, b.len, &out);
            if (rc == FW_SUCCESS) {
                uint32_t r, lr, ls;

                /* whatever was accepted must be safe to use */
                for (r = 0; r < out.nprocs; r++) {
                    fw_launch_job_local(&out, r, &lr, &ls);
                    if (fw_launch_job_app_of(&out, r) >= out.napps ||
                        lr >= ls)
                        bad_app++;
                }
                fw_launch_job_cleanup(&out);
            }
        }
    }
    is(bad_app, 0, "every byte set to 00/01/7f/80/ff: no crash, and what "
       "is accepted is consistent");
    free(copy);
    fw_buf_cleanup(&b);
    fw_launch_job_cleanup(&job);
}

static void
test_config_wire(void)
{
    fw_launch_config_t c, out;
    fw_buf_t b;
    fw_rbuf_t r;
    size_t cut, bad = 0;
    char *agent[] = {"ssh", "-x", NULL};
    char *hosts[] = {"fwrun", "h1", "h2", NULL};

    memset(&c, 0, sizeof(c));
    c.ndaemons = 3;
    c.fanout = 2;
    c.jobid = "fw1.0001";
    c.agent = agent;
    c.fwd_path = "/usr/bin/fwd";
    c.flags = FW_LAUNCH_CFG_VERBOSE;
    c.hosts = hosts;
    fw_buf_init(&b);
    fw_launch_config_pack(&c, &b);
    fw_rbuf_init(&r, b.data, b.len);
    is(fw_launch_config_unpack(&r, &out), FW_SUCCESS, "config: round trip");
    ok(out.ndaemons == 3 && out.fanout == 2 &&
           strcmp(out.jobid, c.jobid) == 0 && fw_t_strv_eq(out.agent, agent) &&
           strcmp(out.fwd_path, c.fwd_path) == 0 && out.flags == c.flags &&
           fw_t_strv_eq(out.hosts, hosts),
       "config: every field is equal");
    fw_launch_config_cleanup(&out);
    for (cut = 0; cut < b.len; cut++) {
        fw_rbuf_init(&r, b.data, cut);
        if (fw_launch_config_unpack(&r, &out) != FW_ERR_PROTO) {
            bad++;
            fw_launch_config_cleanup(&out);
        }
    }
    is(bad, 0, "config: every truncation is FW_ERR_PROTO");
    fw_buf_cleanup(&b);

    c.ndaemons = 4; /* 3 host names for 4 daemons */
    fw_buf_init(&b);
    fw_launch_config_pack(&c, &b);
    fw_rbuf_init(&r, b.data, b.len);
    is(fw_launch_config_unpack(&r, &out), FW_ERR_PROTO,
       "config: host count not matching ndaemons is FW_ERR_PROTO");
    fw_buf_cleanup(&b);
}

int
main(void)
{
    if (mkdtemp(fw_t_dir_g) == NULL)
        skip_all("cannot create a temporary directory");
    test_list_good();
    test_merge_self();
    test_list_bad();
    test_file_good();
    test_file_bad();
    test_map();
    test_map_apps();
    test_wire_round_trip();
    test_wire_truncated();
    test_wire_malformed();
    test_config_wire();
    fw_t_rmdir();
    return fw_test_done();
}
