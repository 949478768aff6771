/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Spawn placement without processes (launcher/job_slots.c): the host
 * list of free slots a child fwrun gets (the job's ranks and running
 * child jobs subtracted, --oversubscribe keeping every slot, add-host
 * appended) and the prediction of which job hosts a child job takes
 * (by slot, by node, npernode, named hosts, a hostfile, too many ranks).
 */
#include "launcher/job.h"
#include "fw_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A running job: hosts a:4, b:2, c:2 with 3, 1 and 0 of its ranks. */
static void
fw_t_job(fw_launch_job_t *job, int over)
{
    memset(job, 0, sizeof(*job));
    if (fw_launch_hosts_parse_list(job, "a:4,b:2,c:2", NULL) != FW_SUCCESS)
        return;
    job->hosts[0].nprocs = 3;
    job->hosts[1].nprocs = 1;
    job->flags = over ? FW_LAUNCH_F_OVERSUBSCRIBE : 0;
}

static void
test_free_list(void)
{
    fw_launch_job_t job;
    uint32_t none[3] = {0, 0, 0}, held[3] = {1, 1, 0}, full[3] = {1, 1, 2};
    char *list = NULL;

    fw_t_job(&job, 0);
    is(job.nhosts, 3, "job of 3 hosts");
    is(fw_launch_slots_free_list(&job, none, NULL, &list), FW_SUCCESS,
       "free list, no child job");
    is_str(list, "a:1,b:1,c:2", "the job's ranks are subtracted");
    free(list);
    list = NULL;
    is(fw_launch_slots_free_list(&job, held, "x:3", &list), FW_SUCCESS,
       "free list with child jobs on a and b, add-host x:3");
    is_str(list, "c:2,x:3", "full hosts left out, add-host appended");
    free(list);
    list = NULL;
    is(fw_launch_slots_free_list(&job, full, NULL, &list), FW_ERR_TOO_BIG,
       "every slot held: FW_ERR_TOO_BIG");
    ok(list == NULL, "no list written on failure");
    is(fw_launch_slots_free_list(&job, full, "x", &list), FW_SUCCESS,
       "every slot held but an add-host");
    is_str(list, "x", "only the add-host is offered");
    free(list);
    list = NULL;
    fw_launch_job_cleanup(&job);

    fw_t_job(&job, 1);
    is(fw_launch_slots_free_list(&job, full, NULL, &list), FW_SUCCESS,
       "--oversubscribe: every host keeps its slots");
    is_str(list, "a:4,b:2,c:2", "the job's slots, in order");
    free(list);
    fw_launch_job_cleanup(&job);
}

/* Predict nprocs on list; returns the status, held[] copied to out. */
static fw_status_t
fw_t_predict(const fw_launch_job_t *job, const char *list,
             const char *hostfile, uint32_t nprocs, int by_node,
             uint32_t npernode, uint32_t out[3], fw_error_t *err)
{
    fw_launch_app_hosts_t hosts = {list, hostfile};
    fw_launch_slots_args_t a = {1, &hosts, &nprocs, npernode, by_node, NULL,
                                NULL};
    uint32_t *held = NULL;
    fw_status_t rc;

    memset(out, 0xff, 3 * sizeof(*out));
    rc = fw_launch_slots_predict(job, &a, &held, err);
    if (rc == FW_SUCCESS)
        memcpy(out, held, 3 * sizeof(*out));
    free(held);
    return rc;
}

static void
test_predict(void)
{
    fw_launch_job_t job;
    fw_error_t err = {{0}};
    uint32_t h[3];
    char path[] = "/tmp/fw-test-slots-XXXXXX";
    int fd;

    fw_t_job(&job, 0);
    is(fw_t_predict(&job, "a:1,b:1,c:2", NULL, 3, 0, 0, h, &err),
       FW_SUCCESS, "3 children by slot on a:1,b:1,c:2");
    ok(h[0] == 1 && h[1] == 1 && h[2] == 1, "by slot: a 1, b 1, c 1 "
       "(got %u %u %u)", h[0], h[1], h[2]);
    is(fw_t_predict(&job, "c:2,x:4", NULL, 4, 0, 0, h, &err), FW_SUCCESS,
       "4 children on c:2 and add-host x:4");
    ok(h[0] == 0 && h[1] == 0 && h[2] == 2,
       "c takes 2, x is not a job host (got %u %u %u)", h[0], h[1], h[2]);
    is(fw_t_predict(&job, "a:1,c:2", NULL, 2, 1, 0, h, &err), FW_SUCCESS,
       "2 children by node on a:1,c:2");
    ok(h[0] == 1 && h[1] == 0 && h[2] == 1, "by node: a 1, c 1 (got %u %u "
       "%u)", h[0], h[1], h[2]);
    is(fw_t_predict(&job, "a:1,c:1", NULL, 4, 0, 2, h, &err), FW_SUCCESS,
       "npernode 2 overrides the free slots");
    ok(h[0] == 2 && h[2] == 2, "npernode 2: a 2, c 2 (got %u %u %u)", h[0],
       h[1], h[2]);
    is(fw_t_predict(&job, "b", NULL, 1, 0, 0, h, &err), FW_SUCCESS,
       "host key naming a job host");
    ok(h[1] == 1 && h[0] == 0 && h[2] == 0, "named host b holds 1");
    is(fw_t_predict(&job, "a:1,b:1", NULL, 3, 0, 0, h, &err),
       FW_ERR_TOO_BIG, "3 children on 2 free slots: FW_ERR_TOO_BIG");
    ok(strstr(err.text, "3 ranks requested") != NULL, "and err says so: %s",
       err.text);
    is(fw_t_predict(&job, "a:1,b:1", "/nonexistent/hostfile", 1, 0, 0, h,
                    &err), FW_ERR_NOT_FOUND, "missing hostfile");
    is(fw_t_predict(&job, "a:x", NULL, 1, 0, 0, h, &err), FW_ERR_PARSE,
       "bad list: FW_ERR_PARSE");

    fd = mkstemp(path);
    ok(fd >= 0, "temporary hostfile");
    if (fd >= 0) {
        ok(write(fd, "c slots=1\n", 10) == 10, "hostfile written");
        close(fd);
        /* the child fwrun reads its hostfile before the list */
        is(fw_t_predict(&job, "a:1", path, 2, 0, 0, h, &err), FW_SUCCESS,
           "add-hostfile c:1 with list a:1");
        ok(h[0] == 1 && h[2] == 1, "a 1, c 1 (got %u %u %u)", h[0], h[1],
           h[2]);
        unlink(path);
    }
    fw_launch_job_cleanup(&job);

    fw_t_job(&job, 1);
    is(fw_t_predict(&job, "a:4", NULL, 6, 0, 0, h, &err), FW_SUCCESS,
       "--oversubscribe: 6 children on a:4 fit");
    is(h[0], 6, "a takes all 6");
    fw_launch_job_cleanup(&job);
}

static int
fw_t_self(const char *name, void *arg)
{
    (void)arg;
    return strcmp(name, "localhost") == 0 || strcmp(name, "127.0.0.1") == 0;
}

/* A child job on this machine under another name holds the job's
 * this-machine host, as the child fwrun merges the names too. */
static void
test_predict_self(void)
{
    fw_launch_job_t job;
    fw_launch_app_hosts_t hosts = {"127.0.0.1:1,localhost:1,b", NULL};
    uint32_t np = 3;
    fw_launch_slots_args_t a = {1, &hosts, &np, 0, 0, fw_t_self, NULL};
    fw_error_t err = {{0}};
    uint32_t *held = NULL;

    memset(&job, 0, sizeof(job));
    if (fw_launch_hosts_parse_list(&job, "localhost:4,b:2", NULL) !=
        FW_SUCCESS)
        return;
    job.hosts[0].is_self = 1;
    is(fw_launch_slots_predict(&job, &a, &held, &err), FW_SUCCESS,
       "3 children on 127.0.0.1:1,localhost:1,b");
    ok(held != NULL && held[0] == 2 && held[1] == 1,
       "127.0.0.1 and localhost are the job's localhost: it holds 2, b 1 "
       "(got %u %u)", held ? held[0] : 0, held ? held[1] : 0);
    free(held);
    fw_launch_job_cleanup(&job);
}

/* issue: spawn_multiple's host keys were the first app's for every app.
 * Each app's segment now has its own hosts: the prediction maps each
 * app on them, as the child fwrun does. */
static void
test_predict_apps(void)
{
    fw_launch_job_t job;
    fw_launch_app_hosts_t hosts[2] = {{"a:1,c:2", NULL}, {"b:1", NULL}};
    uint32_t np[2] = {2, 1}, *held = NULL;
    fw_launch_slots_args_t a = {2, hosts, np, 0, 0, NULL, NULL};
    fw_error_t err = {{0}};

    fw_t_job(&job, 0);
    is(fw_launch_slots_predict(&job, &a, &held, &err), FW_SUCCESS,
       "2 apps: 2 children on a:1,c:2, 1 on b:1");
    ok(held != NULL && held[0] == 1 && held[1] == 1 && held[2] == 1,
       "each app on its hosts: a 1, b 1, c 1 (got %u %u %u)",
       held ? held[0] : 0, held ? held[1] : 0, held ? held[2] : 0);
    free(held);
    held = NULL;

    /* the app on b alone: 2 ranks on its 1 slot do not fit, though the
     * job has slots left elsewhere */
    np[1] = 2;
    is(fw_launch_slots_predict(&job, &a, &held, &err), FW_ERR_TOO_BIG,
       "2 apps: 2 children on b:1 do not fit");
    ok(strstr(err.text, "application 2") != NULL, "and err names the app: "
       "%s", err.text);
    ok(held == NULL, "no prediction on failure");

    /* a shared free list (what fwrun gives apps without host keys) is
     * shared, not doubled */
    hosts[0].list = "a:1,c:2";
    hosts[1].list = "a:1,c:2";
    np[0] = 2;
    np[1] = 2;
    is(fw_launch_slots_predict(&job, &a, &held, &err), FW_ERR_TOO_BIG,
       "2 apps of 2 on the same free list a:1,c:2: 4 ranks, 3 slots");
    np[1] = 1;
    is(fw_launch_slots_predict(&job, &a, &held, &err), FW_SUCCESS,
       "2 apps of 2 and 1 on the same free list a:1,c:2");
    ok(held != NULL && held[0] == 1 && held[2] == 2, "a 1, c 2 (got %u %u "
       "%u)", held ? held[0] : 0, held ? held[1] : 0, held ? held[2] : 0);
    free(held);
    fw_launch_job_cleanup(&job);
}

int
main(void)
{
    test_free_list();
    test_predict();
    test_predict_self();
    test_predict_apps();
    return fw_test_done();
}
