/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port names: round trip, size limit, and strict refusal of malformed,
 * truncated, foreign and over-long names.
 */
#include "dpm/dpm.h"
#include "fw_test.h"

#include <string.h>

int
main(void)
{
    fw_dpm_port_desc_t d, got;
    char name[FW_DPM_PORT_MAX], bad[FW_DPM_PORT_MAX + 8];
    static const char *const malformed[] = {
        "", "fw1", "fw2:tcp:00:0000000000000001:j", "fw1:tcp:0:0000000000000001:j",
        "fw1:tcp:zz:0000000000000001:j", "fw1:tcp:00:1:j", "fw1:tcp:00:0000000000000001:",
        "fw1::00:0000000000000001:j", "mpi-port-0.1:1234", "fw1:tcp:00:000000000000000g:j",
        "fw1:tcp:00:0000000000000001:j j"};
    size_t i;

    memset(&d, 0, sizeof(d));
    snprintf(d.provider, sizeof(d.provider), "tcp;ofi_rxm");
    d.addr_len = 16;
    for (i = 0; i < d.addr_len; i++)
        d.addr[i] = (uint8_t)(i * 17);
    d.nonce = 0x9f86d081884c7d65ull;
    snprintf(d.jobid, sizeof(d.jobid), "fw1234.ab12");
    is(fw_dpm_port_format(&d, name), FW_SUCCESS, "format a port name");
    diag("%s", name);
    ok(strlen(name) < FW_DPM_PORT_MAX, "fits MPI_MAX_PORT_NAME");
    is(fw_dpm_port_parse(name, &got), FW_SUCCESS, "parse it back");
    ok(got.addr_len == d.addr_len && memcmp(got.addr, d.addr, d.addr_len) == 0 &&
           got.nonce == d.nonce && strcmp(got.jobid, d.jobid) == 0 &&
           strcmp(got.provider, d.provider) == 0,
       "every field survives");
    for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
        is(fw_dpm_port_parse(malformed[i], &got), FW_ERR_PORT,
           "refused: '%s'", malformed[i]);
    for (i = 1; i < strlen(name); i += 7) {
        memcpy(bad, name, i);
        bad[i] = '\0';
        if (fw_dpm_port_parse(bad, &got) != FW_ERR_PORT && i < strlen(name) - 1)
            break;
    }
    ok(i >= strlen(name) || strchr(name + i, ':') == NULL,
       "truncated names are refused (checked every 7th length)");
    memset(bad, 'a', sizeof(bad) - 1);
    bad[sizeof(bad) - 1] = '\0';
    is(fw_dpm_port_parse(bad, &got), FW_ERR_PORT, "an over-long name is refused");
    is(fw_dpm_port_parse(NULL, &got), FW_ERR_PORT, "NULL is refused");
    d.addr_len = FW_DPM_ADDR_MAX;
    memset(d.jobid, 'j', sizeof(d.jobid) - 1);
    d.jobid[sizeof(d.jobid) - 1] = '\0';
    is(fw_dpm_port_format(&d, name), FW_ERR_TOO_BIG,
       "a name longer than FW_DPM_PORT_MAX is refused");
    d.addr_len = 16;
    snprintf(d.jobid, sizeof(d.jobid), "a:b");
    is(fw_dpm_port_format(&d, name), FW_ERR_BAD_PARAM, "':' in a field is refused");
    return fw_test_done();
}
