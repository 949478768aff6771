/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Run under fwrun: every rank puts keys of varied sizes (empty and
 * FW_MAX_VALUE included), commits, fences, then reads every key of every
 * peer and checks each byte; repeated for several epochs, with bad-input
 * checks. Prints one summary line per rank; exit 0 only if all is right.
 *   modex_check [EPOCHS] [--open-endpoint | --gone RANK]
 * --open-endpoint: open the rank's fabric endpoint first (it asks for its
 * own address), so that FW_MODEX_REMOTE=auto reads remote windows with it.
 * --gone RANK: after the epochs, RANK finalizes and exits 0; every other
 * rank then fences twice and must get FW_ERR_UNREACHABLE at once (no
 * wait for a rank that is gone) while the last epoch's cards stay
 * readable.
 */
#include <fabwire.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS 5

static size_t
val_len(uint32_t rank, int k, int epoch)
{
    static const size_t sizes[NKEYS] = {0, 1, 100, 1000, FW_MAX_VALUE};

    return k == 2 ? (rank * 7 + (uint32_t)epoch) % 200 : sizes[k];
}

static void
val_fill(uint8_t *buf, size_t len, uint32_t rank, int k, int epoch)
{
    size_t i;

    for (i = 0; i < len; i++)
        buf[i] = (uint8_t)(rank * 31 + (uint32_t)k * 7 + (uint32_t)epoch + i);
}

static int
check_peer(uint32_t peer, int epoch, uint8_t *expect)
{
    char key[32];
    void *v = NULL;
    size_t len = 0;
    int k, bad = 0;

    for (k = 0; k < NKEYS; k++) {
        snprintf(key, sizeof(key), "key%d", k);
        if (fw_get(peer, key, &v, &len) != FW_SUCCESS) {
            fprintf(stderr, "get %u/%s failed\n", peer, key);
            bad++;
            continue;
        }
        val_fill(expect, val_len(peer, k, epoch), peer, k, epoch);
        if (len != val_len(peer, k, epoch) || memcmp(v, expect, len) != 0) {
            fprintf(stderr, "get %u/%s: wrong value (len %zu)\n", peer, key,
                    len);
            bad++;
        }
        free(v);
    }
    return bad;
}

static int
bad_input(const fw_job_info_t *ji)
{
    char big[FW_MAX_KEY + 1];
    void *v = NULL;
    size_t len = 0;
    int bad = 0;

    memset(big, 'k', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    bad += fw_get(ji->size, "key0", &v, &len) != FW_ERR_NOT_FOUND;
    bad += fw_get(0, "no-such-key", &v, &len) != FW_ERR_NOT_FOUND;
    bad += fw_get(0, NULL, &v, &len) != FW_ERR_BAD_PARAM;
    bad += fw_get(0, big, &v, &len) != FW_ERR_TOO_BIG;
    bad += fw_put(big, "x", 1) != FW_ERR_TOO_BIG;
    bad += fw_put("huge", big, FW_MAX_VALUE + 1) != FW_ERR_TOO_BIG;
    bad += fw_put("", "x", 1) != FW_ERR_BAD_PARAM;
    bad += fw_put("nullval", NULL, 3) != FW_ERR_BAD_PARAM;
    bad += fw_job_info(NULL) != FW_ERR_BAD_PARAM;
    return bad;
}

int
main(int argc, char **argv)
{
    int epochs = argc > 1 ? atoi(argv[1]) : 2, e, k, bad = 0;
    uint8_t *buf = malloc(FW_MAX_VALUE);
    fw_job_info_t ji;
    char key[32];
    void *v = NULL;
    size_t len = 0;
    uint32_t p;

    if (buf == NULL)
        return 2;
    bad += fw_put("a", "b", 1) != FW_ERR_NOT_INITIALIZED;
    bad += fw_fence() != FW_ERR_NOT_INITIALIZED;
    if (fw_init(&argc, &argv) != FW_SUCCESS || fw_job_info(&ji) != FW_SUCCESS)
        return 2;
    if (argc > 2 && strcmp(argv[2], "--open-endpoint") == 0) {
        uint8_t addr[256];
        size_t alen = sizeof(addr);

        bad += fw_comm_peer_addr(fw_comm_world(), (int)ji.rank, addr,
                                 &alen) != FW_SUCCESS;
    }
    bad += fw_get(0, "key0", &v, &len) != FW_ERR_NOT_READY;
    for (e = 1; e <= epochs; e++) {
        for (k = 0; k < NKEYS; k++) {
            snprintf(key, sizeof(key), "key%d", k);
            val_fill(buf, val_len(ji.rank, k, e), ji.rank, k, e);
            bad += fw_put(key, buf, val_len(ji.rank, k, e)) != FW_SUCCESS;
        }
        bad += fw_commit() != FW_SUCCESS;
        bad += fw_fence() != FW_SUCCESS;
        for (p = 0; p < ji.size; p++)
            bad += check_peer(p, e, buf);
    }
    bad += bad_input(&ji);
    if (argc > 3 && strcmp(argv[2], "--gone") == 0 &&
        ji.rank != (uint32_t)atoi(argv[3])) {
        for (k = 0; k < 2; k++) {
            fw_status_t rc = fw_fence();

            if (rc != FW_ERR_UNREACHABLE) {
                fprintf(stderr, "rank %u: fence after a rank left: %s\n",
                        ji.rank, fw_strerror(rc));
                bad++;
            }
        }
        for (p = 0; p < ji.size; p++)
            bad += check_peer(p, epochs, buf);
    }
    printf("rank %u/%u node %u: %d epochs, %s\n", ji.rank, ji.size,
           ji.node_id, epochs, bad ? "FAILED" : "all values correct");
    free(buf);
    if (fw_finalize() != FW_SUCCESS)
        bad++;
    bad += fw_fence() != FW_ERR_NOT_INITIALIZED;
    /* a process joins its job once */
    bad += fw_init(NULL, NULL) != FW_ERR_UNSUPPORTED;
    bad += fw_fence() != FW_ERR_NOT_INITIALIZED;
    return bad ? 1 : 0;
}
