/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What an MPI library does with fw_comm_peer_addr: open a libfabric
 * endpoint of its own with the same provider, insert the peer's address
 * and send it one tagged message (tag 0x5eed, left unreceived there).
 *   fab_send PROVIDER HEXADDR
 * Exit 0 when the send completed within 5 s, 1 otherwise (reason on
 * stderr), 2 on bad usage. Run by dpm_check spawn_addr, which does not
 * link libfabric itself (its spawned copies would load it too).
 */
#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_tagged.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FAB_SEND_MAX_ADDR 256

static double
fab_send_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t
fab_send_unhex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = strlen(hex) / 2, i;
    unsigned int v;

    if (strlen(hex) % 2 != 0 || n == 0 || n > cap)
        return 0;
    for (i = 0; i < n; i++) {
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return 0;
        out[i] = (unsigned char)v;
    }
    return n;
}

struct fab_send_ep {
    struct fi_info *info;
    struct fid_fabric *fab;
    struct fid_domain *dom;
    struct fid_av *av;
    struct fid_cq *cq;
    struct fid_ep *ep;
};

static int
fab_send_open(const char *prov, struct fab_send_ep *e)
{
    struct fi_info *hints = fi_allocinfo();
    struct fi_av_attr ava = {.type = FI_AV_TABLE};
    struct fi_cq_attr cqa = {.format = FI_CQ_FORMAT_TAGGED};
    int rc = -FI_ENOMEM;

    if (hints != NULL) {
        hints->caps = FI_TAGGED;
        hints->ep_attr->type = FI_EP_RDM;
        hints->fabric_attr->prov_name = strdup(prov);
        hints->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_ALLOCATED |
                                      FI_MR_PROV_KEY | FI_MR_VIRT_ADDR;
        rc = fi_getinfo(FI_VERSION(1, 9), NULL, NULL, 0, hints, &e->info);
        fi_freeinfo(hints);
    }
    if (rc == 0)
        rc = fi_fabric(e->info->fabric_attr, &e->fab, NULL);
    if (rc == 0)
        rc = fi_domain(e->fab, e->info, &e->dom, NULL);
    if (rc == 0)
        rc = fi_av_open(e->dom, &ava, &e->av, NULL);
    if (rc == 0)
        rc = fi_cq_open(e->dom, &cqa, &e->cq, NULL);
    if (rc == 0)
        rc = fi_endpoint(e->dom, e->info, &e->ep, NULL);
    if (rc == 0)
        rc = fi_ep_bind(e->ep, &e->av->fid, 0);
    if (rc == 0)
        rc = fi_ep_bind(e->ep, &e->cq->fid, FI_TRANSMIT | FI_RECV);
    if (rc == 0)
        rc = fi_enable(e->ep);
    if (rc != 0)
        fprintf(stderr, "fab_send: %s endpoint: %s\n", prov,
                fi_strerror(-rc));
    return rc;
}

static void
fab_send_close(struct fab_send_ep *e)
{
    if (e->ep != NULL)
        fi_close(&e->ep->fid);
    if (e->av != NULL)
        fi_close(&e->av->fid);
    if (e->cq != NULL)
        fi_close(&e->cq->fid);
    if (e->dom != NULL)
        fi_close(&e->dom->fid);
    if (e->fab != NULL)
        fi_close(&e->fab->fid);
    if (e->info != NULL)
        fi_freeinfo(e->info);
}

int
main(int argc, char **argv)
{
    unsigned char addr[FAB_SEND_MAX_ADDR];
    struct fab_send_ep e = {0};
    struct fi_cq_tagged_entry ent;
    char msg[16] = "from an MPI lib";
    fi_addr_t fa = FI_ADDR_UNSPEC;
    ssize_t n = -FI_EAGAIN;
    size_t alen;
    double t0;
    int done = 0;

    if (argc != 3 || argv[1][0] == '\0' ||
        (alen = fab_send_unhex(argv[2], addr, sizeof(addr))) == 0) {
        fputs("usage: fab_send PROVIDER HEXADDR\n", stderr);
        return 2;
    }
    if (fab_send_open(argv[1], &e) != 0) {
        fab_send_close(&e);
        return 1;
    }
    if (fi_av_insert(e.av, addr, 1, &fa, 0, NULL) != 1) {
        fprintf(stderr, "fab_send: fi_av_insert of the address failed\n");
        fab_send_close(&e);
        return 1;
    }
    t0 = fab_send_now_ms();
    while (!done && fab_send_now_ms() - t0 < 5000) {
        if (n == -FI_EAGAIN)
            n = fi_tsend(e.ep, msg, sizeof(msg), NULL, fa, 0x5eed, NULL);
        if (n != 0 && n != -FI_EAGAIN)
            break;
        done = n == 0 && fi_cq_read(e.cq, &ent, 1) == 1;
        if (n == -FI_EAGAIN)
            (void)fi_cq_read(e.cq, &ent, 1);
        if (!done)
            usleep(100);
    }
    if (!done)
        fprintf(stderr, "fab_send: %s send to the address: %s, not "
                "complete after %.0f ms\n", argv[1],
                n == 0 ? "posted" : fi_strerror((int)-n),
                fab_send_now_ms() - t0);
    fab_send_close(&e);
    return done ? 0 : 1;
}
