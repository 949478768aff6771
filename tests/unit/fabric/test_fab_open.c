/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Open/close of one provider: accessors, the two-call address query,
 * the source address of IP providers (loopback, never eth0), wait fd
 * and trywait, empty progress, AV insert/remove and bad parameters.
 * Usage: test_fab_open <provider>
 */
#include "fab_test.h"

#include <arpa/inet.h>
#include <signal.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

/*---------------------------------------------------------------------------*/
static void
open_test_addr(fw_fab_t *fab, const char *prov)
{
    uint8_t addr[FW_FAB_ADDR_MAX];
    const struct sockaddr_in *sin;
    size_t len = 0, need;
    char ip[INET_ADDRSTRLEN];

    is(fw_fab_addr_get(fab, NULL, &len), FW_ERR_TOO_BIG,
       "addr_get with no buffer asks for one");
    need = len;
    ok(need > 0 && need <= FW_FAB_ADDR_MAX, "address size %zu is sane", need);
    len = need - 1;
    is(fw_fab_addr_get(fab, addr, &len), FW_ERR_TOO_BIG,
       "addr_get with a short buffer fails");
    is(len, need, "and reports the size needed");
    len = sizeof(addr);
    is(fw_fab_addr_get(fab, addr, &len), FW_SUCCESS, "addr_get succeeds");
    is(len, need, "address length is as announced");
    is(fw_fab_addr_get(fab, addr, NULL), FW_ERR_BAD_PARAM,
       "addr_get without len_p fails");
    is(fw_fab_addr_get(NULL, addr, &len), FW_ERR_BAD_PARAM,
       "addr_get on NULL fab fails");
    if (strcmp(prov, "tcp") != 0)
        return;
    sin = (const struct sockaddr_in *)(const void *)addr;
    ok(len >= sizeof(*sin) && sin->sin_family == AF_INET,
       "tcp address is IPv4");
    inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
    is_str(ip, "127.0.0.1", "tcp endpoint is bound to loopback by default");
    ok(ntohs(sin->sin_port) != 0, "tcp endpoint has a port (%u)",
       (unsigned)ntohs(sin->sin_port));
}

/*---------------------------------------------------------------------------*/
static void
open_test_progress(fw_fab_t *fab)
{
    size_t count = 99;
    int fd = fw_fab_wait_fd(fab);
    fw_status_t st;

    is(fw_fab_progress(fab, &count), FW_SUCCESS, "progress with no work");
    is(count, 0, "no callbacks ran");
    is(fw_fab_progress(NULL, NULL), FW_ERR_BAD_PARAM, "progress(NULL) fails");
    diag("wait fd %d", fd);
    st = fw_fab_trywait(fab);
    if (fd >= 0)
        ok(st == FW_SUCCESS || st == FW_ERR_WOULD_BLOCK,
           "trywait answers (%s)", fw_strerror(st));
    else
        is(st, FW_ERR_UNSUPPORTED, "trywait without a wait fd");
    is(fw_fab_trywait(NULL), FW_ERR_BAD_PARAM, "trywait(NULL) fails");
    is(fw_fab_wait_fd(NULL), -1, "wait_fd(NULL) is -1");
}

/*---------------------------------------------------------------------------*/
static void
open_test_av(fw_fab_t *a, fw_fab_t *b)
{
    uint8_t addr[FW_FAB_ADDR_MAX], other[FW_FAB_ADDR_MAX];
    size_t len = sizeof(addr), olen = sizeof(other);
    uint64_t peer = 12345, peer2 = 12345;

    fw_fab_addr_get(a, addr, &len);
    fw_fab_addr_get(b, other, &olen);
    ok(len != olen || memcmp(addr, other, len) != 0,
       "two endpoints have different addresses");
    is(fw_fab_av_insert(a, other, olen, &peer), FW_SUCCESS,
       "insert the other endpoint's address");
    is(fw_fab_av_insert(a, addr, len, &peer2), FW_SUCCESS,
       "insert our own address");
    ok(peer != peer2, "distinct peers get distinct handles");
    is(fw_fab_av_remove(a, peer2), FW_SUCCESS, "remove a peer");
    is(fw_fab_av_insert(a, NULL, len, &peer), FW_ERR_BAD_PARAM,
       "insert NULL address fails");
    is(fw_fab_av_insert(a, addr, 0, &peer), FW_ERR_BAD_PARAM,
       "insert empty address fails");
    is(fw_fab_av_insert(a, addr, FW_FAB_ADDR_MAX + 1, &peer),
       FW_ERR_BAD_PARAM, "insert over-long address fails");
    is(fw_fab_av_insert(a, addr, len, NULL), FW_ERR_BAD_PARAM,
       "insert without peer_p fails");
    is(fw_fab_av_insert(NULL, addr, len, &peer), FW_ERR_BAD_PARAM,
       "insert on NULL fab fails");
}

/*---------------------------------------------------------------------------*/
int
main(int argc, char **argv)
{
    const char *prov = fab_test_provider(argc, argv);
    fw_fab_t *fab, *fab2;
    const char *expect;

    struct sigaction term0, segv0, term1, segv1;

    /* loading libfabric must leave the process's signal handling alone
     * (Debian's libinfinipath installs handlers in its constructor) */
    sigaction(SIGTERM, NULL, &term0);
    sigaction(SIGSEGV, NULL, &segv0);
    fab_test_alarm();
    fab_test_require(prov);
    fab = fab_test_open(prov);
    ok(fab != NULL, "open %s", prov);
    if (fab == NULL)
        return fw_test_done();
    sigaction(SIGTERM, NULL, &term1);
    sigaction(SIGSEGV, NULL, &segv1);
    /* shm installs its own at open, which unlink its regions and then
     * re-raise with the previous action: only the load is checked */
    if (strcmp(prov, "shm") != 0)
        ok(term1.sa_handler == term0.sa_handler &&
               segv1.sa_handler == segv0.sa_handler,
           "SIGTERM and SIGSEGV handlers unchanged by libfabric's load");
    expect = strcmp(prov, "tcp") == 0 ? "tcp;ofi_rxm" : prov;
    is_str(fw_fab_provider(fab), expect, "provider name");
    ok(fw_fab_domain(fab) != NULL && fw_fab_domain(fab)[0] != '\0',
       "domain name '%s'", fw_fab_domain(fab));
    ok(fw_fab_nic(fab) != NULL && fw_fab_nic(fab)[0] != '\0',
       "nic name '%s'", fw_fab_nic(fab));
    if (strcmp(prov, "tcp") == 0)
        is_str(fw_fab_domain(fab), "lo", "tcp uses the loopback domain");
    ok(fw_fab_provider(NULL) == NULL, "provider(NULL) is NULL");
    open_test_addr(fab, prov);
    open_test_progress(fab);

    fab2 = fab_test_open(prov);
    ok(fab2 != NULL, "a second endpoint opens in the same process");
    if (fab2 != NULL)
        open_test_av(fab, fab2);
    fw_fab_close(fab2);

    errno = 4242;
    fw_fab_close(fab);
    is(errno, 4242, "close preserves errno");
    fw_fab_close(NULL);
    ok(1, "close(NULL) is harmless");
    return fw_test_done();
}
