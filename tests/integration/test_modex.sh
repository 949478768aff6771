#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# put/commit/fence/get end to end: N ranks under fwrun each check every
# value of every peer over several epochs (tests/progs/modex_check.c).
#   test_modex.sh N [PROVIDER] [HOSTS] [MODE] [MODEX_CHECK_OPTION]
# PROVIDER: fabric provider ("-" = default); HOSTS: number of fw-netns
# test hosts (0 = this host only; then reads go through the fabric only
# if FW_MODEX_LOCAL=fabric); MODE: onesided or allgather;
# MODEX_CHECK_OPTION: e.g. --open-endpoint.
# With FW_EXPECT_READ=direct|daemon in the environment, the ranks' debug
# log must show every remote window read that way, and never the other;
# with FW_EXPECT_LIBFABRIC=no, no process may load libfabric.
set -u
N=$1
PROV=${2:--}
HOSTS=${3:-0}
MODE=${4:-onesided}
OPT=${5:-}
BLD=${FW_BUILD_DIR:?}
SRC=${FW_SOURCE_DIR:?}
case "$N$HOSTS" in
*[!0-9]*) echo "usage: test_modex.sh N [PROVIDER] [HOSTS] [MODE]" >&2; exit 2 ;;
esac
PFX=${FW_T_NETNS_PREFIX:-fw}m$$
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

if [ -n "${FW_EXPECT_READ:-}${FW_EXPECT_LIBFABRIC:-}" ]; then
    export FW_LOG_LEVEL=debug FW_LOG_SUBSYS=modex,fab
fi
FW_MODEX_MODE=$MODE timeout 120 "$BLD/launcher/fwrun" "${args[@]}" \
    "$BLD/tests/progs/modex_check" 3 $OPT >"$out" 2>&1
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
if [ -n "${FW_EXPECT_READ:-}" ]; then
    direct=$(grep -c 'read directly' "$out")
    daemon=$(grep -c 'from the daemon' "$out")
    if [ "$FW_EXPECT_READ" = direct ]; then
        [ "$direct" -gt 0 ] && [ "$daemon" -eq 0 ]
    else
        [ "$daemon" -gt 0 ] && [ "$direct" -eq 0 ]
    fi
    check $? "remote windows read $FW_EXPECT_READ (direct $direct, daemon $daemon)"
fi
if [ "${FW_EXPECT_LIBFABRIC:-}" = no ]; then
    loads=$(grep -c 'libfabric loaded' "$out")
    [ "$loads" -eq 0 ]; check $? "no process loaded libfabric ($loads)"
fi
[ "$fail" -gt 0 ] && sed 's/^/# /' "$out" | tail -20
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
