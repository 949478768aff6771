#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Dynamic processes over 3 network-namespace hosts (scripts/fw-netns,
# 198.18.0.0/15, fw-netns-agent as the launch agent), driven by
# tests/progs/dpm_check: children spawned onto the other hosts (info host,
# map_by node, add-host, per-app host and env of spawn_multiple) run
# there and talk to their parents; two jobs on
# different hosts connect through a port file. After every job no
# process may be left in any host. Needs root; exit 77 (skip) otherwise.
set -u

if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP needs root (network namespaces)"
    [ "${FW_TEST_STRICT:-0}" = 1 ] && exit 1
    exit 77
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
fwnetns="$FW_SRC/scripts/fw-netns"
agent="$FW_SRC/scripts/fw-netns-agent"

# A prefix unique among live processes: base 36 of our pid.
b36() {
    local v=$1 d=0123456789abcdefghijklmnopqrstuvwxyz s=""

    while [ "$v" -gt 0 ]; do
        s="${d:v % 36:1}$s"
        v=$((v / 36))
    done
    echo "${s:-0}"
}
# FW_T_NETNS_PREFIX (default fw) starts the prefix, so that runs of other
# checkouts on one machine can be told apart
prefix="${FW_T_NETNS_PREFIX:-fw}d$(b36 $$)"

cleanup() {
    fw_lib_cleanup
    "$fwnetns" down "$prefix" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
fw_lib_check_build
fw_lib_budget 130

DPM_BIN=$FW_BLD/tests/progs/dpm_check
if [ ! -x "$DPM_BIN" ]; then
    echo "not ok 1 - dpm_check is built ($DPM_BIN)"
    echo "0 passed, 1 failed"
    exit 1
fi
ln -s "$DPM_BIN" "$T/dpm_check"
P=$T/dpm_check
export FW_T_DPM_ALARM=${FW_T_DPM_ALARM:-40}

"$fwnetns" gc 2>/dev/null
if ! "$fwnetns" up "$prefix" 3 >"$T/addrs" 2>"$T/up.err"; then
    echo "not ok 1 - fw-netns up $prefix 3"
    diag "$(cat "$T/up.err")"
    echo "0 passed, 1 failed"
    exit 1
fi
mapfile -t A <"$T/addrs"
for ((i = 1; i <= 3; i++)); do
    FW_T_NETNS+=("$prefix-h$i")
done
fw_netns_watch
t_ok $(( ${#A[@]} != 3 )) "3 namespace hosts up: ${A[*]}"

# dpm_ok NRANKS DESC...: exit 0, NRANKS "all checks passed", no FAIL
dpm_ok() {
    local n=$1 st

    shift
    [ "$R_RC" -eq 0 ] &&
        [ "$(grep -c 'all checks passed$' "$R_OUT")" -ge "$n" ] &&
        ! grep -q '^FAIL' "$R_ERR"
    st=$?
    t_ok "$st" "$* ($R_MS ms)"
    if [ "$st" -ne 0 ]; then
        diag "fwrun rc $R_RC; stderr:"
        diag "$(grep -v '^fabwire\[' "$R_ERR" | head -n 12)"
    fi
}

# children_on HOST...: every "child J addr A" line names one of HOSTS,
# and each HOST got at least one child
children_on() {
    local h bad=0 got

    got=$(sed -n 's/^child [0-9]* addr //p' "$R_OUT" | sort -u)
    for h in $got; do
        [[ " $* " == *" $h "* ]] || { diag "a child on $h"; bad=1; }
    done
    for h in "$@"; do
        grep -qx "$h" <<<"$got" || { diag "no child on $h"; bad=1; }
    done
    [ -n "$got" ] && [ "$bad" -eq 0 ]
}

ag=(--launch-agent "$agent" -x FW_T_DPM_ALARM)

# --- spawn onto other hosts -----------------------------------------------------
# twice: the child fwrun started ahead for the second spawn (its daemon
# on this machine) does not fit children on other hosts: it starts afresh
FW_T_SPAWN_REPEAT=2 FW_LOG_LEVEL=debug FW_LOG_SUBSYS=launch \
    fw_run "spawn, info host" -- "${ag[@]}" -x FW_T_SPAWN_REPEAT \
    --host "${A[0]}:2,${A[1]}:1,${A[2]}:1" -n 2 \
    "$P" spawn_where 2 host "${A[1]},${A[2]}"
dpm_ok 6 "2 parents on ${A[0]} spawn 2 children with host=${A[1]},${A[2]}," \
    "twice"
children_on "${A[1]}" "${A[2]}"
t_ok $? "the children run on ${A[1]} and ${A[2]}" \
    "($(sed -n 's/^child //p' "$R_OUT" | tr '\n' ' '))"
grep -q 'the standby daemon does not fit the job' "$R_ERR"
t_ok $? "the second spawn's child fwrun, started ahead, drops its local" \
    "daemon for the remote hosts"

fw_run "spawn, map_by node" -- "${ag[@]}" --oversubscribe \
    --host "${A[0]}:1,${A[1]}:1,${A[2]}:1" -n 1 \
    "$P" spawn_where 3 map_by node
dpm_ok 4 "1 parent spawns 3 children with map_by node over 3 hosts"
children_on "${A[0]}" "${A[1]}" "${A[2]}"
t_ok $? "one child on each host" \
    "($(sed -n 's/^child //p' "$R_OUT" | tr '\n' ' '))"

fw_run "spawn, add-host" -- "${ag[@]}" --host "${A[0]}:2" -n 2 \
    "$P" spawn_where 2 add-host "${A[1]}:1,${A[2]}:1" host \
    "${A[1]},${A[2]}"
dpm_ok 4 "2 parents on ${A[0]} alone spawn 2 children on hosts added" \
    "with add-host (new daemons)"
children_on "${A[1]}" "${A[2]}"
t_ok $? "the children run on the added hosts" \
    "($(sed -n 's/^child //p' "$R_OUT" | tr '\n' ' '))"

# issue: with spawn_multiple the first app's host key placed every app
# and each app's env reached all. Each app now has its own: app 1's
# child on ${A[1]}, app 2's two on ${A[2]}, each with its env only
fw_run "spawn_multiple, host and env per app" -- "${ag[@]}" \
    --host "${A[0]}:1" -n 1 "$P" spawn_multi_where "${A[1]}:1" "${A[2]}:2"
dpm_ok 4 "spawn_multiple: app 1 with host=${A[1]}:1, app 2 with" \
    "host=${A[2]}:2, an env each (children check theirs)"
got=$(sed -n 's/^child \([0-9]*\) addr /\1 /p' "$R_OUT" | sort | tr '\n' ' ')
[ "$got" = "0 ${A[1]} 1 ${A[2]} 2 ${A[2]} " ]
t_ok $? "child 0 (app 1) runs on ${A[1]}, children 1-2 (app 2) on ${A[2]}" \
    "(got $got)"

fw_run "spawn 2+1 across hosts, full checks" -- "${ag[@]}" --map-by node \
    --host "${A[0]}:2,${A[1]}:2,${A[2]}:2" -n 2 "$P" spawn 3
dpm_ok 5 "2 parents on 2 hosts spawn 3 children: round trips, merges," \
    "disconnect"

FW_LOG_LEVEL=debug FW_LOG_SUBSYS=dpm \
    fw_run "spawn_addr across hosts" -- "${ag[@]}" --map-by node \
    --host "${A[0]}:2,${A[1]}:2,${A[2]}:2" -n 2 "$P" spawn_addr 3 0
dpm_ok 5 "2 parents on 2 hosts: fw_comm_peer_addr of 3 children, each" \
    "child's and a sibling's view agree, no relay address"
n=$(grep -c "relayed by the daemon" "$R_ERR")
m=$(grep -c "relayed, own endpoint: success" "$R_ERR")
[ "$n" -eq 3 ] && [ "$m" -eq 3 ]
t_ok $? "... the 3 children were relayed by their hosts' daemons ($n)" \
    "and opened their own endpoints, asking or asked ($m)"

# --- connect / accept between hosts ------------------------------------------------
# (with the shm rail open in every rank: only the acceptor's two ranks,
# on one host, use it; every other pair is on two hosts)
rm -f "$T/port"
export FW_LOG_LEVEL=debug FW_LOG_SUBSYS=dpm
fw_start "acceptor on ${A[0]}" -- "${ag[@]}" --host "${A[0]}:2" -n 2 \
    "$P" acceptor "$T/port" 2
pa=$R_PID na=$r_n a_out=$R_OUT a_err=$R_ERR a_sub=$R_SUB a_t0=$R_T0
fw_start "connector on ${A[1]},${A[2]}" -- "${ag[@]}" \
    --host "${A[1]}:1,${A[2]}:1" -n 2 "$P" connector "$T/port" 2
c_err=$R_ERR
unset FW_LOG_LEVEL FW_LOG_SUBSYS
t0=$(t_now_ms)
until fw_exited "$pa" && fw_exited "$R_PID"; do
    [ $(($(t_now_ms) - t0)) -ge 60000 ] && break
    sleep 0.05
done
fw_finish 5
dpm_ok 2 "connector job on ${A[1]} and ${A[2]}: 2 connects to a port on" \
    "${A[0]}, messages between every pair, merges, disconnect"
top=$r_n
R_PID=$pa r_n=$na R_OUT=$a_out R_ERR=$a_err R_SUB=$a_sub R_T0=$a_t0
R_LABEL="acceptor on ${A[0]}"
fw_finish 5
r_n=$top
dpm_ok 2 "acceptor job on ${A[0]}: 2 accepts from the other hosts"
open_n=$(cat "$a_err" "$c_err" | grep -c 'shm rail open beside tcp;ofi_rxm')
a_rail=$(grep -c 'a peer on this host, via the shm rail: success' "$a_err")
c_rail=$(grep -c 'a peer on this host, via the shm rail: success' "$c_err")
c_tcp=$(grep -c 'a peer via tcp;ofi_rxm' "$c_err")
[ "$open_n" -eq 4 ] && [ "$a_rail" -ge 1 ] && [ "$c_rail" -eq 0 ] &&
    [ "$c_tcp" -ge 2 ]
st=$?
[ "$st" -ne 0 ] &&
    diag "$(cat "$a_err" "$c_err" | grep -E 'shm rail|a peer|ourselves')"
t_ok $st "the shm rail: open in all 4 ranks ($open_n), used between the" \
    "acceptor's ranks on ${A[0]} ($a_rail), never by the connector's on" \
    "two hosts ($c_rail; over tcp: $c_tcp)"

# --- down ------------------------------------------------------------------------------
"$fwnetns" down "$prefix" 2>"$T/down.err"
t_ok $? "fw-netns down $prefix"
FW_T_NETNS=()
fw_netns_watch

t_done
