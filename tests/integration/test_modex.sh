#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# put/commit/fence/get end to end: N ranks under fwrun each check every
# value of every peer over several epochs (tests/progs/modex_check.c).
#   test_modex.sh N [PROVIDER] [HOSTS] [MODE]
# PROVIDER: fabric provider ("-" = default); HOSTS: number of fw-netns
# test hosts (0 = this host only; then reads go through the fabric only
# if FW_MODEX_LOCAL=fabric); MODE: onesided or allgather.
set -u
N=$1
PROV=${2:--}
HOSTS=${3:-0}
MODE=${4:-onesided}
BLD=${FW_BUILD_DIR:?}
SRC=${FW_SOURCE_DIR:?}
case "$N$HOSTS" in
*[!0-9]*) echo "usage: test_modex.sh N [PROVIDER] [HOSTS] [MODE]" >&2; exit 2 ;;
esac
PFX=fwm$$
PFX=${PFX:0:8}
out=$(mktemp)
args=(--oversubscribe -n "$N")
[ "$PROV" != - ] && args+=(--provider "$PROV")

cleanup() {
    [ "$HOSTS" -gt 0 ] && "$SRC/scripts/fw-netns" down "$PFX" >/dev/null 2>&1
    rm -f "$out"
}
trap cleanup EXIT

if [ "$HOSTS" -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "1..0 # SKIP namespace hosts need root"
        exit 77
    fi
    hosts=$("$SRC/scripts/fw-netns" up "$PFX" "$HOSTS" | paste -sd,) || exit 1
    args+=(--host "$hosts" --launch-agent "$SRC/scripts/fw-netns-agent")
fi

FW_MODEX_MODE=$MODE timeout 120 "$BLD/launcher/fwrun" "${args[@]}" \
    "$BLD/tests/progs/modex_check" 3 >"$out" 2>&1
rc=$?
good=$(grep -c 'all values correct' "$out")
nodes=$(grep 'all values correct' "$out" | awk '{print $4}' | sort -u | wc -l)
pass=0
fail=0
check() {
    if [ "$1" -eq 0 ]; then
        pass=$((pass + 1)); echo "ok - $2"
    else
        fail=$((fail + 1)); echo "not ok - $2"
    fi
}
check "$rc" "fwrun exit status 0 (got $rc)"
[ "$good" -eq "$N" ]; check $? "$N of $N ranks read every value of every peer ($good)"
if [ "$HOSTS" -gt 0 ]; then
    want=$((HOSTS < N ? HOSTS : N))
    [ "$nodes" -eq "$want" ]; check $? "ranks ran on $want hosts ($nodes)"
fi
[ "$fail" -gt 0 ] && sed 's/^/# /' "$out" | tail -20
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
