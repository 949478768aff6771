/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port names: printable, at most FW_DPM_PORT_MAX bytes with the NUL, and
 * strictly parsed (see dpm.h). Example:
 *   fw1:tcp;ofi_rxm:0200a3d27f000001...:9f86d081884c7d65:fw1234.ab12
 */
#include "dpm/dpm.h"
#include "common/param.h"
#include "common/util.h"

#include <stdio.h>
#include <string.h>

/* Tunables of the dpm layer (read by libfabwire; listed by fw-info). */
FW_PARAM_TABLE(dpm,
    {"FW_DPM_CONNECT_MS", "3000",
     "how long fw_connect waits for the port's answer (closed or dead "
     "port: FW_ERR_TIMEOUT)"},
    {"FW_DPM_ACCEPT_MS", "0",
     "how long fw_accept waits for a connect (0 = forever)"},
    {"FW_DPM_SPAWN_MS", "60000",
     "how long fw_spawn waits for the children to start and connect back"},
    {"FW_DPM_WIREUP_MS", "60000",
     "how long a rank waits for another rank of its job to open its "
     "endpoint (first message to it, or a collective over the world)"},
    {"FW_DPM_RELAY", "auto",
     "auto: a spawned process whose host runs a daemon of its parent job "
     "has that daemon carry its messages (it loads no libfabric for them); "
     "1: always relay (through the rank's own daemon if no other); 0: "
     "every process opens its own endpoint"},
    {"FW_DPM_ADDR_MS", "30000",
     "how long fw_comm_peer_addr waits for a relayed process to open its "
     "own endpoint and report its address (it does when it next calls "
     "the library, or asks for an address itself)"},
    {"FW_DPM_AV_KEEP", "16",
     "peer addresses no communicator uses any more that stay in the "
     "fabric's address vector, most recent first, so that connecting to "
     "the same peer again inserts nothing (shm maps the peer's 16 MiB "
     "region at every insert; verbs and efa make an address handle); 0 = "
     "remove at once; at most 1048576"},
    {"FW_DPM_SHM", "auto",
     "auto: a process whose endpoint is not shm opens a second one, shm, "
     "for peers on the same host (same boot, network, pid and IPC "
     "namespaces), as MPI libraries do; 1: the same, and failing to open "
     "it is an error; 0: one endpoint, every peer over the job's "
     "provider"},
    {"FW_DPM_SHM_DRAIN_MS", "60000",
     "how long fw_finalize waits for messages sent over the shm rail "
     "that their receivers (alive) have not taken yet; shm copies a "
     "message over 4 KiB only when its receiver calls the library"},
    {"FW_DPM_PRIME", "1",
     "1: when the endpoint opens, send one message to ourselves so the "
     "provider allocates its buffer pools then, not inside the first "
     "connect/accept (tcp;ofi_rxm: ~30 ms); 0: don't"})

static int
fw_dpm_port_field_ok(const char *s, size_t max)
{
    size_t n = strnlen(s, max);

    if (n == 0 || n >= max || strchr(s, ':') != NULL)
        return 0;
    for (; *s != '\0'; s++)
        if (*s <= ' ' || *s > '~')
            return 0;
    return 1;
}

fw_status_t
fw_dpm_port_format(const fw_dpm_port_desc_t *d, char out[FW_DPM_PORT_MAX])
{
    char hex[2 * FW_DPM_ADDR_MAX + 1], tmp[FW_DPM_PORT_MAX + 64];
    int n;

    if (d == NULL || out == NULL || d->addr_len == 0 ||
        d->addr_len > FW_DPM_ADDR_MAX ||
        !fw_dpm_port_field_ok(d->provider, sizeof(d->provider)) ||
        !fw_dpm_port_field_ok(d->jobid, sizeof(d->jobid)))
        return FW_ERR_BAD_PARAM;
    fw_hex_encode(d->addr, d->addr_len, hex);
    n = snprintf(tmp, sizeof(tmp), "fw%d:%s:%s:%016llx:%s",
                 FW_DPM_PORT_VERSION, d->provider, hex,
                 (unsigned long long)d->nonce, d->jobid);
    if (n < 0 || n >= FW_DPM_PORT_MAX)
        return FW_ERR_TOO_BIG;
    memcpy(out, tmp, (size_t)n + 1);
    return FW_SUCCESS;
}

/* Copy the next ':'-terminated field (or the rest) of *p into out. */
static int
fw_dpm_port_next(const char **p, char *out, size_t max, int last)
{
    const char *end = last ? *p + strlen(*p) : strchr(*p, ':');
    size_t n;

    if (end == NULL)
        return -1;
    n = (size_t)(end - *p);
    if (n == 0 || n >= max)
        return -1;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p = last ? end : end + 1;
    return 0;
}

fw_status_t
fw_dpm_port_parse(const char *name, fw_dpm_port_desc_t *d)
{
    char ver[8], hex[2 * FW_DPM_ADDR_MAX + 1], nonce[17];
    fw_dpm_port_desc_t tmp;
    const char *p = name;
    size_t hl;

    if (name == NULL || d == NULL ||
        strnlen(name, FW_DPM_PORT_MAX) >= FW_DPM_PORT_MAX)
        return FW_ERR_PORT;
    memset(&tmp, 0, sizeof(tmp));
    if (fw_dpm_port_next(&p, ver, sizeof(ver), 0) != 0 ||
        strcmp(ver, "fw1") != 0 ||
        fw_dpm_port_next(&p, tmp.provider, sizeof(tmp.provider), 0) != 0 ||
        fw_dpm_port_next(&p, hex, sizeof(hex), 0) != 0 ||
        fw_dpm_port_next(&p, nonce, sizeof(nonce), 0) != 0 ||
        fw_dpm_port_next(&p, tmp.jobid, sizeof(tmp.jobid), 1) != 0)
        return FW_ERR_PORT;
    hl = strlen(hex);
    if (hl % 2 != 0 || strlen(nonce) != 16 ||
        !fw_dpm_port_field_ok(tmp.jobid, sizeof(tmp.jobid)) ||
        !fw_dpm_port_field_ok(tmp.provider, sizeof(tmp.provider)) ||
        fw_hex_decode(hex, tmp.addr, hl / 2) != FW_SUCCESS)
        return FW_ERR_PORT;
    tmp.addr_len = hl / 2;
    {
        uint8_t nb[8];
        int i;

        if (fw_hex_decode(nonce, nb, 8) != FW_SUCCESS)
            return FW_ERR_PORT;
        for (i = 0; i < 8; i++)
            tmp.nonce = (tmp.nonce << 8) | nb[i];
    }
    *d = tmp;
    return FW_SUCCESS;
}
