/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Provider and NIC selection without a provider argument: bad
 * parameters, unknown provider (error lists the usable ones), bogus
 * FW_NIC, FW_PROVIDER/FI_PROVIDER precedence and the tcp alias, shm
 * never chosen automatically, source address rules (loopback default,
 * eth0 never used), the usable-provider listing, and the provider
 * defaults set before libfabric loads (FW_FAB_RXM_CM_US), never over the
 * user's own FI_* setting.
 */
#include "fab_test.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int tcp_usable_g, shm_usable_g;

/*---------------------------------------------------------------------------*/
static void
params_test_list(void)
{
    fw_fab_prov_info_t *list = NULL, *p;
    int n = 0, eth0 = 0;

    is(fw_fab_prov_list(NULL, &list, NULL), FW_SUCCESS, "list providers");
    for (p = list; p != NULL; p = p->next) {
        diag("usable: %s domain %s fabric %s caps %s mr_mode %s progress "
             "%s/%s addr %s%s",
             p->name, p->domain, p->fabric, p->caps, p->mr_mode,
             p->data_progress, p->control_progress, p->addr_format,
             p->auto_select ? "" : " (explicit only)");
        n++;
        eth0 |= strcmp(p->domain, "eth0") == 0;
        if (strcmp(p->name, "tcp;ofi_rxm") == 0)
            tcp_usable_g = 1;
        if (strcmp(p->name, "shm") == 0) {
            shm_usable_g = 1;
            is(p->auto_select, 0, "shm is never chosen automatically");
        }
    }
    ok(n > 0, "at least one usable provider (%d)", n);
    ok(!eth0, "no listed provider uses eth0");
    fw_fab_prov_list_free(list);
    fw_fab_prov_list_free(NULL);
    is(fw_fab_prov_list(NULL, NULL, NULL), FW_ERR_BAD_PARAM,
       "list without output fails");
}

/*---------------------------------------------------------------------------*/
static void
params_test_bad(void)
{
    fw_fab_params_t params = {0};
    fw_error_t err = {{0}};
    fw_fab_t *fab = (fw_fab_t *)&params;
    fw_fab_choice_t choice;

    is(fw_fab_open(NULL, NULL, &err), FW_ERR_BAD_PARAM, "open(NULL, NULL)");
    params.field_mask = 1u << 31;
    is(fw_fab_open(&params, &fab, &err), FW_ERR_BAD_PARAM,
       "unknown field_mask bit is rejected");
    ok(fab == (fw_fab_t *)&params, "fab_p untouched on failure");
    is(fw_fab_select(NULL, NULL, NULL), FW_ERR_BAD_PARAM, "select(NULL)");

    params.field_mask = FW_FAB_PARAMS_FIELD_PROVIDER;
    params.provider = "bogus";
    is(fw_fab_open(&params, &fab, &err), FW_ERR_FABRIC,
       "unknown provider fails with FW_ERR_FABRIC");
    diag("error: %s", err.text);
    ok(strstr(err.text, "bogus") != NULL, "error names the provider");
    ok(strstr(err.text, "usable providers") != NULL,
       "error lists the usable providers");
    if (tcp_usable_g)
        ok(strstr(err.text, "tcp;ofi_rxm") != NULL,
           "the list includes tcp;ofi_rxm");
    ok(fab == (fw_fab_t *)&params, "fab_p untouched on failure");
    params.provider = "efa";
    is(fw_fab_select(&params, &choice, &err), FW_ERR_FABRIC,
       "absent provider efa is not usable");
    diag("error: %s", err.text);
    ok(strstr(err.text, "usable providers") != NULL,
       "its error lists the usable providers too");
}

/*---------------------------------------------------------------------------*/
static void
params_test_tcp(void)
{
    fw_fab_params_t params = {0};
    fw_error_t err = {{0}};
    fw_fab_choice_t choice;

    params.field_mask = FW_FAB_PARAMS_FIELD_PROVIDER;
    params.provider = "tcp";
    is(fw_fab_select(&params, &choice, &err), FW_SUCCESS, "select tcp");
    is_str(choice.provider, "tcp;ofi_rxm", "tcp means tcp;ofi_rxm");
    is_str(choice.domain, "lo", "on the loopback domain");
    params.provider = "tcp;ofi_rxm";
    is(fw_fab_select(&params, &choice, &err), FW_SUCCESS,
       "select the layered name");

    setenv("FW_NIC", "bogus0", 1);
    is(fw_fab_select(&params, &choice, &err), FW_ERR_FABRIC,
       "FW_NIC naming no NIC fails");
    diag("error: %s", err.text);
    ok(strstr(err.text, "bogus0") != NULL && strstr(err.text, "lo") != NULL,
       "error names the NIC and the usable domains");
    setenv("FW_NIC", "eth0", 1);
    is(fw_fab_select(&params, &choice, &err), FW_ERR_FABRIC,
       "FW_NIC=eth0 does not pull tcp off the loopback address");
    setenv("FW_NIC", "lo", 1);
    is(fw_fab_select(&params, &choice, &err), FW_SUCCESS, "FW_NIC=lo works");
    unsetenv("FW_NIC");
    params.field_mask |= FW_FAB_PARAMS_FIELD_NIC;
    params.nic = "nosuchnic";
    is(fw_fab_select(&params, &choice, &err), FW_ERR_FABRIC,
       "params.nic naming no NIC fails");
    params.field_mask = FW_FAB_PARAMS_FIELD_PROVIDER |
                        FW_FAB_PARAMS_FIELD_SRC_NODE;
    params.src_node = "not-an-ip";
    is(fw_fab_select(&params, &choice, &err), FW_ERR_BAD_PARAM,
       "a src_node that is not an IP address is rejected");
    params.src_node = "127.0.0.1";
    is(fw_fab_select(&params, &choice, &err), FW_SUCCESS,
       "src_node 127.0.0.1 works");
    params.src_node = "203.0.113.9";
    is(fw_fab_select(&params, &choice, &err), FW_ERR_FABRIC,
       "a src_node no interface has fails");
    diag("error: %s", err.text);
}

/*---------------------------------------------------------------------------*/
static void
params_test_env(void)
{
    fw_error_t err = {{0}};
    fw_fab_choice_t choice;

    is(fw_fab_select(NULL, &choice, &err), FW_SUCCESS, "automatic choice");
    diag("automatic: %s on %s", choice.provider, choice.domain);
    ok(strcmp(choice.provider, "shm") != 0, "automatic choice is not shm");
    ok(strcmp(choice.domain, "eth0") != 0, "automatic choice avoids eth0");
    if (shm_usable_g) {
        setenv("FI_PROVIDER", "shm", 1);
        is(fw_fab_select(NULL, &choice, &err), FW_SUCCESS,
           "FI_PROVIDER=shm is honoured");
        is_str(choice.provider, "shm", "shm chosen by FI_PROVIDER");
        if (tcp_usable_g) {
            setenv("FW_PROVIDER", "tcp", 1);
            fw_fab_select(NULL, &choice, &err);
            is_str(choice.provider, "tcp;ofi_rxm",
                   "FW_PROVIDER overrides FI_PROVIDER");
            unsetenv("FW_PROVIDER");
        }
        unsetenv("FI_PROVIDER");
    }
    setenv("FW_PROVIDER", "nope", 1);
    is(fw_fab_select(NULL, &choice, &err), FW_ERR_FABRIC,
       "FW_PROVIDER=nope fails");
    unsetenv("FW_PROVIDER");
}

/*---------------------------------------------------------------------------*/
/* In a child (libfabric loads once per process): load it with FW_VAR=fw
 * and FI_VAR=fi (NULL: unset) and compare FI_VAR afterwards with want. */
static void
params_test_dl_env_case(const char *fw_var, const char *fi_var,
                        const char *fw, const char *fi, const char *want,
                        const char *what)
{
    int fds[2], status = -1;
    char got[64] = "";
    ssize_t n;
    pid_t pid;

    if (pipe(fds) != 0 || (pid = fork()) < 0) {
        ok(0, "%s: pipe/fork: %s", what, strerror(errno));
        return;
    }
    if (pid == 0) {
        fw_fab_prov_info_t *list = NULL;
        const char *v;

        close(fds[0]);
        if (fw != NULL)
            setenv(fw_var, fw, 1);
        if (fi != NULL)
            setenv(fi_var, fi, 1);
        if (fw_fab_prov_list(NULL, &list, NULL) != FW_SUCCESS)
            _exit(2);
        fw_fab_prov_list_free(list);
        v = getenv(fi_var);
        v = v != NULL ? v : "(unset)";
        _exit(write(fds[1], v, strlen(v)) == (ssize_t)strlen(v) ? 0 : 3);
    }
    close(fds[1]);
    n = read(fds[0], got, sizeof(got) - 1);
    got[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    waitpid(pid, &status, 0);
    is(status, 0, "%s: child loaded libfabric", what);
    is_str(got, want, "%s", what);
}

static void
params_test_dl_env(void)
{
    static const struct {
        const char *fw_var, *fi_var, *fw, *fi, *want, *what;
    } cases[] = {
        {"FW_FAB_RXM_CM_US", "FI_OFI_RXM_CM_PROGRESS_INTERVAL", NULL, NULL,
         "200", "rxm CM interval defaults to 200 us"},
        {"FW_FAB_RXM_CM_US", "FI_OFI_RXM_CM_PROGRESS_INTERVAL", NULL, "5000",
         "5000", "the user's FI_OFI_RXM_CM_PROGRESS_INTERVAL wins"},
        {"FW_FAB_RXM_CM_US", "FI_OFI_RXM_CM_PROGRESS_INTERVAL", "1000", NULL,
         "1000", "FW_FAB_RXM_CM_US sets the interval"},
        {"FW_FAB_RXM_CM_US", "FI_OFI_RXM_CM_PROGRESS_INTERVAL", "-1", NULL,
         "(unset)", "FW_FAB_RXM_CM_US=-1 leaves libfabric alone"},
        {"FW_FAB_RXM_CM_US", "FI_OFI_RXM_ENABLE_DYN_RBUF", NULL, NULL, "0",
         "rxm dynamic receive buffers are turned off"},
        {"FW_FAB_RXM_CM_US", "FI_OFI_RXM_ENABLE_DYN_RBUF", NULL, "1", "1",
         "the user's FI_OFI_RXM_ENABLE_DYN_RBUF wins"},
        {"FW_FAB_RXM_RX_SIZE", "FI_OFI_RXM_MSG_RX_SIZE", NULL, NULL, "128",
         "rxm receive buffers default to 128"},
        {"FW_FAB_RXM_RX_SIZE", "FI_OFI_RXM_MSG_RX_SIZE", NULL, "4096", "4096",
         "the user's FI_OFI_RXM_MSG_RX_SIZE wins"},
        {"FW_FAB_RXM_RX_SIZE", "FI_OFI_RXM_MSG_RX_SIZE", "-1", NULL,
         "(unset)", "FW_FAB_RXM_RX_SIZE=-1 leaves libfabric alone"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsetenv(cases[i].fw_var);
        unsetenv(cases[i].fi_var);
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        params_test_dl_env_case(cases[i].fw_var, cases[i].fi_var,
                                cases[i].fw, cases[i].fi, cases[i].want,
                                cases[i].what);
}

/*---------------------------------------------------------------------------*/
int
main(void)
{
    fab_test_alarm();
    unsetenv("FW_PROVIDER");
    unsetenv("FW_NIC");
    unsetenv("FW_FAB_IFACE_ADDR");
    unsetenv("FI_PROVIDER");
    params_test_dl_env(); /* first: before this process loads libfabric */
    params_test_list();
    params_test_bad();
    if (tcp_usable_g)
        params_test_tcp();
    params_test_env();
    return fw_test_done();
}
