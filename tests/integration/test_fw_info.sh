#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# fw-info: the usable providers with caps, progress model, mr_mode; NICs;
# RDMA devices; the choice for this process (following FW_PROVIDER);
# --env lists every tunable declared in the sources with its default;
# bad options: a message and exit 2.
set -u
BLD=${FW_BUILD_DIR:?}
SRC=${FW_SOURCE_DIR:?}
INFO=$BLD/launcher/fw-info
unset FW_PROVIDER FI_PROVIDER FW_NIC FW_FAB_IFACE_ADDR
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
n=0
fail=0
ok() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        fail=$((fail + 1))
        echo "not ok $n - $2"
        sed 's/^/# /' "$out" "$err" | head -20
    fi
}

"$INFO" >"$out" 2>"$err"
rc=$?
[ "$rc" -eq 0 ]
ok $? "fw-info exits 0 (got $rc)"
for want in "providers (usable here" "tcp;ofi_rxm  domain" "shm  domain" \
    "NICs" "RDMA devices" "selected: provider tcp;ofi_rxm"; do
    grep -qF -- "$want" "$out"
    ok $? "fw-info prints '$want'"
done
for field in caps progress mr_mode address; do
    [ "$(grep -c "^    $field " "$out")" -ge 2 ]
    ok $? "each provider has its $field line"
done

FW_PROVIDER=shm "$INFO" >"$out" 2>"$err"
grep -q "^selected: provider shm" "$out"
ok $? "FW_PROVIDER=shm: the choice follows it"
FW_PROVIDER=no-such-prov "$INFO" >"$out" 2>"$err"
grep -q "^selected: none .*'no-such-prov' is unknown.*usable providers" "$out"
ok $? "FW_PROVIDER unknown: the choice says so and lists the usable ones"

FW_FAB_IFACE_ADDR=198.18.99.99 "$INFO" >"$out" 2>"$err"
grep -q "^selected: none .*source address 198.18.99.99 is not configured" "$out"
ok $? "FW_FAB_IFACE_ADDR not on this host: the choice says why"
FW_NIC=no-such-nic "$INFO" >"$out" 2>"$err"
grep -q "^selected: none .*nic 'no-such-nic' not found (domains usable here" "$out"
ok $? "FW_NIC unknown: the choice names the usable domains"

"$INFO" --env >"$out" 2>"$err"
rc=$?
[ "$rc" -eq 0 ]
ok $? "fw-info --env exits 0 (got $rc)"
missing=""
# entries of the FW_PARAM_TABLEs: a line that starts with {"FW_...
for name in $(grep -hoE '^[[:space:]]*\{"FW_[A-Z0-9_]*"' "$SRC"/common/*.c \
    "$SRC"/oob/*.c "$SRC"/fabric/*.c "$SRC"/modex/*.c "$SRC"/dpm/*.c \
    "$SRC"/launcher/*.c | tr -d '{" \t' | sort -u); do
    grep -q "^  $name (default: " "$out" || missing+=" $name"
done
[ -z "$missing" ]
ok $? "--env lists every tunable of the sources with its default${missing:+ (missing:$missing)}"
[ "$(grep -c '^  FW_' "$out")" -ge 25 ]
ok $? "--env lists at least 25 tunables ($(grep -c '^  FW_' "$out"))"

for bad in --env=1 --bogus -z extra; do
    "$INFO" "$bad" >"$out" 2>"$err"
    rc=$?
    [ "$rc" -eq 2 ] && grep -qF -- "${bad#-}" "$err" && grep -q "fw-info --help" "$err"
    ok $? "fw-info $bad: exit 2 and a message naming it (got $rc)"
done
echo "1..$n"
[ "$fail" -eq 0 ]
