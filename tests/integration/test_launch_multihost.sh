#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# fwrun over network-namespace hosts (scripts/fw-netns, 198.18.0.0/15,
# fw-netns-agent as the launch agent): ranks on 4 hosts see their host's
# address and identity, by slot, by node and from a hostfile, MPMD with
# --host and -x per app, stdin
# reaches rank 0 on its host; 16 hosts as a daemon tree of fan-out 2
# (depth 4); failures: a rank, a leaf or inner daemon killed, kill -9 of
# fwrun, launch agents that fail, hang or leave early once their daemon
# runs (ssh -f), daemons that die before reporting, an unknown host, a
# host cut off by a network partition (keepalive). After every job no
# process may be left in any host.
# Needs root; exit 77 (skip) otherwise.
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
prefix="${FW_T_NETNS_PREFIX:-fw}l$(b36 $$)"

cleanup() {
    fw_lib_cleanup
    "$fwnetns" down "$prefix" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
fw_lib_check_build
fw_lib_budget 90

# instances of runs killed outright (their owner is gone) go first
"$fwnetns" gc 2>/dev/null
if ! "$fwnetns" up "$prefix" 16 >"$T/addrs" 2>"$T/up.err"; then
    echo "not ok 1 - fw-netns up $prefix 16"
    diag "$(cat "$T/up.err")"
    echo "0 passed, 1 failed"
    exit 1
fi
mapfile -t A <"$T/addrs"
for ((i = 1; i <= 16; i++)); do
    FW_T_NETNS+=("$prefix-h$i")
done
fw_netns_watch
t_ok $(( ${#A[@]} != 16 )) "16 namespace hosts up: ${A[0]} .. ${A[15]}"
H4="${A[0]},${A[1]},${A[2]},${A[3]}"
H16=$(IFS=,; echo "${A[*]}")

# identity plus the address of the rank's host
t_script ident-addr.sh <<'EOS'
#!/bin/sh
addr=$(ip -4 -o addr show dev eth0 | awk '{print $4}')
echo "id rank=$FW_RANK size=$FW_SIZE lrank=$FW_LOCAL_RANK" \
    "lsize=$FW_LOCAL_SIZE node=$FW_NODE_ID nnodes=$FW_NUM_NODES" \
    "jobid=$FW_JOBID usize=$FW_UNIVERSE_SIZE app=$FW_APPNUM arg=${1:--}" \
    "addr=$addr"
EOS

# every rank's addr= is the address of host FW_NODE_ID
check_addrs() {
    local bad=0 r node addr

    while read -r r node addr; do
        if [ "$addr" != "${A[node]}/24" ]; then
            diag "rank $r on node $node sees '$addr', not ${A[node]}/24"
            bad=1
        fi
    done < <(sed -n 's/^id rank=\([0-9]*\) .* node=\([0-9]*\) .* addr=\(.*\)$/\1 \2 \3/p' \
                 "$R_OUT")
    return "$bad"
}

# hosts with at least one rank, from the identity lines
hosts_used() {
    sed -n 's/^id .* node=\([0-9]*\) .*/\1/p' "$R_OUT" | sort -u | wc -l
}

# --- 4 hosts ------------------------------------------------------------------
fw_run "4 hosts by slot" -- --launch-agent "$agent" \
    --host "${A[0]}:2,${A[1]}:2,${A[2]}:2,${A[3]}:2" -n 8 "$T/ident-addr.sh"
for ((r = 0; r < 8; r++)); do
    echo "$r $((r / 2)) $((r % 2)) 2 0 -"
done >"$T/want"
errs=$(fw_check_ident "$T/want" 8 4 8)
[ "$R_RC" -eq 0 ] && [ -z "$errs" ] && check_addrs && [ "$(hosts_used)" -eq 4 ]
t_ok $? "4 hosts, 2 slots each, by slot: identity, and each rank runs on" \
    "its host's address"
[ -n "$errs" ] && diag "$errs"
[ "$R_RC" -ne 0 ] && t_diag_job

fw_run "4 hosts by node" -- --launch-agent "$agent" --map-by node \
    --host "${A[0]}:2,${A[1]}:2,${A[2]}:2,${A[3]}:2" -n 6 "$T/ident-addr.sh"
printf '%s\n' "0 0 0 2 0 -" "1 1 0 2 0 -" "2 2 0 1 0 -" "3 3 0 1 0 -" \
    "4 0 1 2 0 -" "5 1 1 2 0 -" >"$T/want"
errs=$(fw_check_ident "$T/want" 6 4 8)
[ "$R_RC" -eq 0 ] && [ -z "$errs" ] && check_addrs
t_ok $? "4 hosts by node: ranks round robin over the hosts"
[ -n "$errs" ] && diag "$errs"

{
    echo "# four namespace hosts"
    echo "${A[0]} slots=2"
    echo
    echo "${A[1]} slots=2   # second"
    printf '%s\tslots=2\n' "${A[2]}"
    echo "${A[3]} slots=1 max_slots=4"
} >"$T/hostfile"
fw_run "4 hosts from a hostfile" -- --launch-agent "$agent" \
    --hostfile "$T/hostfile" "$T/ident-addr.sh"
printf '%s\n' "0 0 0 2 0 -" "1 0 1 2 0 -" "2 1 0 2 0 -" "3 1 1 2 0 -" \
    "4 2 0 2 0 -" "5 2 1 2 0 -" "6 3 0 1 0 -" >"$T/want"
errs=$(fw_check_ident "$T/want" 7 4 7)
[ "$R_RC" -eq 0 ] && [ -z "$errs" ] && check_addrs
t_ok $? "4 hosts from a hostfile: all 7 slots used, by slot"
[ -n "$errs" ] && diag "$errs"

# issue: options inside an app context applied to every app (the last
# --host won for all, every -x reached every app). Each app's --host and
# -x are its own: A on ${A[0]} with X, B on ${A[1]} with Y
t_script ident-env.sh <<'EOS'
#!/bin/sh
echo "env rank=$FW_RANK x=${FW_T_X-unset} y=${FW_T_Y-unset}"
exec "${0%/*}/ident-addr.sh" "$@"
EOS
fw_run "MPMD, --host and -x per app" -- --launch-agent "$agent" \
    -n 2 --host "${A[0]}:2" -x FW_T_X=x0 "$T/ident-env.sh" A : \
    -n 1 --host "${A[1]}:2" -x FW_T_Y=y1 "$T/ident-env.sh" B
printf '%s\n' "0 0 0 2 0 A" "1 0 1 2 0 A" "2 1 0 1 1 B" >"$T/want"
errs=$(fw_check_ident "$T/want" 3 2 4)
[ "$R_RC" -eq 0 ] && [ -z "$errs" ] && check_addrs &&
    grep -qx "env rank=0 x=x0 y=unset" "$R_OUT" &&
    grep -qx "env rank=1 x=x0 y=unset" "$R_OUT" &&
    grep -qx "env rank=2 x=unset y=y1" "$R_OUT"
t_ok $? "MPMD -n 2 --host ${A[0]}:2 -x X A : -n 1 --host ${A[1]}:2 -x Y B:" \
    "A's ranks on ${A[0]} with X only, B's on ${A[1]} with Y only"
[ -n "$errs" ] && diag "$errs"
[ "$R_RC" -eq 0 ] || t_diag_job
grep -q '^env ' "$R_OUT" && ! grep -qx "env rank=2 x=unset y=y1" "$R_OUT" &&
    diag "$(grep -E '^(env|id) ' "$R_OUT")"

head -c 3145728 /dev/urandom >"$T/big"
big_md5=$(md5sum <"$T/big" | cut -d' ' -f1)
empty_md5=$(md5sum </dev/null | cut -d' ' -f1)
t_script stdin.sh <<'EOS'
#!/bin/sh
echo "in $FW_RANK $(md5sum | cut -d' ' -f1)"
EOS
fw_run "stdin on 4 hosts" --pipe "$T/big" -- --launch-agent "$agent" \
    --host "$H4" "$T/stdin.sh"
bad=0
for r in 0 1 2 3; do
    got=$(awk -v r="$r" '$1 == "in" && $2 == r {print $3}' "$R_OUT")
    want=$empty_md5
    [ "$r" -eq 0 ] && want=$big_md5
    [ "$got" = "$want" ] || { diag "rank $r: md5 '$got'"; bad=1; }
done
[ "$R_RC" -eq 0 ] && [ "$bad" -eq 0 ]
t_ok $? "stdin: rank 0 on ${A[0]} reads 3 MB intact, ranks on the other" \
    "hosts read nothing"

# --- 16 hosts, fan-out 2 ----------------------------------------------------------
fw_run "16 hosts, fan-out 2" -- --launch-agent "$agent" --fanout 2 -v \
    --host "$H16" "$T/ident-addr.sh"
for ((r = 0; r < 16; r++)); do
    echo "$r $r 0 1 0 -"
done >"$T/want"
errs=$(fw_check_ident "$T/want" 16 16 16)
depth=$(sed -n 's/.*16 daemons reported.*tree depth \([0-9]*\).*/\1/p' "$R_ERR")
[ "$R_RC" -eq 0 ] && [ -z "$errs" ] && check_addrs &&
    [ "$(hosts_used)" -eq 16 ] && [ "${depth:-0}" -ge 3 ]
t_ok $? "16 hosts, --fanout 2: a rank on every host with its address," \
    "daemon tree depth ${depth:-?} (>= 3)"
[ -n "$errs" ] && diag "$errs"
[ "$R_RC" -ne 0 ] && t_diag_job

t_script ready.sh <<EOS
#!/bin/sh
echo "ready \$FW_RANK"
exec "$T/sleep" 30
EOS
t_script exit3.sh <<EOS
#!/bin/sh
if [ "\$FW_RANK" = 13 ]; then
    date +%s%3N >"$T/t.exit3"
    exit 3
fi
exec "$T/sleep" 30
EOS
rm -f "$T/t.exit3"
fw_run "16 hosts, rank 13 exits 3" -- --launch-agent "$agent" --fanout 2 \
    --host "$H16" "$T/exit3.sh"
ms=$((R_END - $(cat "$T/t.exit3" 2>/dev/null || echo 0)))
[ "$R_RC" -eq 3 ] && [ "$ms" -lt 1500 ] &&
    grep -qF "rank 13 on host ${A[13]} exited with status 3" "$R_ERR"
t_ok $? "16 hosts: rank 13 (depth 4) exits 3, the job is over $ms ms later" \
    "(< 1500, rc $R_RC)"

# USR1 is forwarded and the job goes on; then TERM ends it
t_script usr1.sh <<EOS
#!/bin/sh
trap 'echo "usr1 \$FW_RANK"' USR1
echo "ready \$FW_RANK"
while :; do
    "$T/sleep" 30 &
    wait \$!
done
EOS
fw_start "16 hosts, SIGUSR1 then SIGTERM" -- --launch-agent "$agent" \
    --fanout 2 --host "$H16" "$T/usr1.sh"
usr1=0
if fw_wait_lines '^ready' 16; then
    kill -USR1 "$R_PID"
    fw_wait_lines '^usr1' 16 && usr1=1
    kill -TERM "$R_PID"
fi
fw_finish
[ "$usr1" -eq 1 ]
t_ok $? "16 hosts: SIGUSR1 to fwrun reaches all 16 ranks, the job goes on"
[ "$R_RC" -eq 143 ]
t_ok $? "16 hosts: then SIGTERM to fwrun tears the job down, exit 143" \
    "(got $R_RC)"

# --- daemons killed during the job -------------------------------------------------
fw_start "kill -9 of a leaf fwd" -- --launch-agent "$agent" --host "$H4" \
    "$T/ready.sh"
if fw_wait_lines '^ready' 4; then
    d=$(fw_daemon_pid 3)
    [ -n "$d" ] && kill -KILL "$d"
fi
fw_finish
[ "$R_RC" -eq 1 ] && grep -qF "daemon on host ${A[2]}" "$R_ERR"
t_ok $? "kill -9 of the fwd on ${A[2]}: fwrun names the host, exits 1" \
    "(got $R_RC)"

# daemon 1 is the parent of 3 and 4, grandparent of 7-10, ... of 15-16
fw_start "kill -9 of an inner fwd" -- --launch-agent "$agent" --fanout 2 \
    --host "$H16" "$T/ready.sh"
if fw_wait_lines '^ready' 16; then
    d=$(fw_daemon_pid 1)
    [ -n "$d" ] && kill -KILL "$d"
fi
fw_finish
[ "$R_RC" -eq 1 ] && grep -qF "daemon on host ${A[0]}" "$R_ERR"
t_ok $? "kill -9 of the fwd on ${A[0]} (8 daemons below it): fwrun names" \
    "the host, exits 1 (got $R_RC)"

# a daemon that gets SIGTERM names its host as the host list does, not by
# its uname (which every namespace host shares with this one)
fw_start "kill -TERM of a fwd" -- --launch-agent "$agent" --host "$H4" \
    "$T/ready.sh"
if fw_wait_lines '^ready' 4; then
    d=$(fw_daemon_pid 3)
    [ -n "$d" ] && kill -TERM "$d"
fi
fw_finish
[ "$R_RC" -eq 1 ] &&
    grep -qF "the daemon on host ${A[2]} got Terminated" "$R_ERR" &&
    ! grep -qF "on host $(uname -n) " "$R_ERR"
st=$?
t_ok "$st" "kill -TERM of the fwd on ${A[2]}: its message names ${A[2]}," \
    "not '$(uname -n)' (rc $R_RC)"
[ "$st" -ne 0 ] && t_diag_job

# --- kill -9 of fwrun ----------------------------------------------------------------
fw_start "kill -9 of fwrun, 4 hosts" -- --launch-agent "$agent" \
    --host "$H4" "$T/ready.sh"
fw_wait_lines '^ready' 4 && kill -KILL "$R_PID"
fw_finish
[ "$R_RC" -eq 137 ]
t_ok $? "kill -9 of fwrun over 4 hosts (survivors checked above)"

fw_start "kill -9 of fwrun, 16 hosts" -- --launch-agent "$agent" \
    --fanout 2 --host "$H16" "$T/ready.sh"
fw_wait_lines '^ready' 16 && kill -KILL "$R_PID"
fw_finish
[ "$R_RC" -eq 137 ]
t_ok $? "kill -9 of fwrun over a 16-host tree (survivors checked above)"

# --- launch agents that fail -----------------------------------------------------------
fw_run "--launch-agent false" -- --launch-agent false --host "$H4" \
    "$T/ready.sh"
[ "$R_RC" -eq 1 ] && grep -qF "cannot start the daemon on host" "$R_ERR" &&
    grep -qF "launch agent exited with status 1" "$R_ERR"
t_ok $? "--launch-agent false: 'cannot start the daemon on host', exit 1" \
    "(got $R_RC)"

# not in any fw-netns map: the real agent exits 255, as ssh would
fw_run "agent exits 255" -- --launch-agent "$agent" \
    --host "${A[0]},198.18.255.254" "$T/ready.sh"
[ "$R_RC" -eq 1 ] &&
    grep -qF "cannot start the daemon on host 198.18.255.254" "$R_ERR" &&
    grep -qF "status 255" "$R_ERR"
t_ok $? "an agent that exits 255 for one host: the host is named, exit 1" \
    "(got $R_RC)"

t_script agent-fail.sh <<EOS
#!/bin/sh
[ "\$1" = "${A[9]}" ] && exit 255
exec "$agent" "\$@"
EOS
fw_run "agent fails deep in the tree" -- --launch-agent "$T/agent-fail.sh" \
    --fanout 2 --host "$H16" "$T/ready.sh"
[ "$R_RC" -eq 1 ] && grep -qF "${A[9]}" "$R_ERR"
t_ok $? "the agent fails for ${A[9]} (daemon 10, started by daemon 4):" \
    "the host is named, exit 1 (got $R_RC)"

# an agent that hangs (a shell whose child never ends, as ssh waiting on a
# host that does not answer): after the launch timeout nothing of it may
# be left, its children included (fwrun signals the agent's process group)
t_script agent-hang.sh <<EOS
#!/bin/sh
"$T/sleep" 100
EOS
FW_LAUNCH_TIMEOUT_MS=1000 fw_run "agent hangs" -- --launch-agent \
    "$T/agent-hang.sh" --host "${A[0]}" "$T/ready.sh"
[ "$R_RC" -eq 1 ] &&
    grep -qF "daemons on ${A[0]} did not report within 1000 ms" "$R_ERR"
t_ok $? "an agent that hangs: the launch times out naming ${A[0]}, exit 1" \
    "(got $R_RC), and the agent's sleep is gone too (checked above)"

# the same for a daemon started by a daemon (--fanout 1: ${A[2]}'s agent
# is run by the daemon on ${A[1]}), which must signal its agents' groups
# before it forgets its children
t_script agent-hang-deep.sh <<EOS
#!/bin/sh
if [ "\$1" = "${A[2]}" ]; then
    "$T/sleep" 100
    exit 1
fi
exec "$agent" "\$@"
EOS
FW_LAUNCH_TIMEOUT_MS=2000 fw_run "agent hangs deep" -- --launch-agent \
    "$T/agent-hang-deep.sh" --fanout 1 --host "${A[0]},${A[1]},${A[2]}" \
    "$T/ready.sh"
[ "$R_RC" -eq 1 ] && grep -qF "${A[2]}" "$R_ERR"
t_ok $? "an agent run by a daemon hangs: launch timeout naming ${A[2]}," \
    "exit 1 (got $R_RC), and its sleep is gone too (checked above)"

# an agent that leaves once its daemon runs (as ssh -f, or an agent that
# backgrounds the daemon): it exits 0 after the REPORT (it waits for a
# rank to start, which is after every daemon reported), the daemon in
# its own session with the secret still on its stdin. Not a daemon's
# death: the job runs to its end and exits 0, nothing left.
t_script agent-bg.sh <<EOS
#!/bin/sh
# dash gives an async command /dev/null for stdin unless redirected
# from another fd: the secret is on ours
exec 3<&0
setsid "$agent" "\$@" <&3 3<&- >/dev/null 2>&1 &
i=0
until [ -e "$T/go.0" ] || [ -e "$T/go.1" ] || [ \$i -ge 200 ]; do
    "$T/sleep" 0.05
    i=\$((i + 1))
done
exit 0
EOS
t_script bg-rank.sh <<EOS
#!/bin/sh
: >"$T/go.\$FW_RANK"
"$T/sleep" 1.5
echo "done \$FW_RANK"
EOS
rm -f "$T"/go.*
fw_run "agent backgrounds its daemon" -- --launch-agent "$T/agent-bg.sh" \
    --host "${A[0]},${A[1]}" "$T/bg-rank.sh"
[ "$R_RC" -eq 0 ] && [ "$(grep -c '^done' "$R_OUT")" -eq 2 ] &&
    [ -e "$T/go.0" ] && ! grep -q "died" "$R_ERR"
st=$?
t_ok "$st" "an agent that exits 0 after its daemon reported: the job runs" \
    "to completion, exit 0 (got $R_RC)"
[ "$st" -ne 0 ] && t_diag_job

# the same agent leaving at once, before its daemon reported (a real
# ssh -f exits as soon as the remote command runs): no failure either,
# the launch timeout covers a daemon that never reports
t_script agent-bg0.sh <<EOS
#!/bin/sh
exec 3<&0
setsid "$agent" "\$@" <&3 3<&- >/dev/null 2>&1 &
exit 0
EOS
fw_run "agent leaves at once" -- --launch-agent "$T/agent-bg0.sh" \
    --host "${A[0]},${A[1]}" "$T/bg-rank.sh"
[ "$R_RC" -eq 0 ] && [ "$(grep -c '^done' "$R_OUT")" -eq 2 ]
st=$?
t_ok "$st" "an agent that exits 0 before its daemon reported (ssh -f):" \
    "the job runs to completion, exit 0 (got $R_RC)"
[ "$st" -ne 0 ] && t_diag_job

# --- daemons that die before they report --------------------------------------------------
t_script fwd-die.sh <<EOS
#!/bin/sh
# fwd --id N ...: daemon FW_T_DIE_ID dies before it reports
if [ "\$2" = "\$FW_T_DIE_ID" ]; then
    "$T/sleep" 0.1
    kill -KILL \$\$
fi
exec "$FWD" "\$@"
EOS
FW_FWD_PATH=$T/fwd-die.sh FW_T_DIE_ID=3 fw_run "daemon 3 dies at start" -- \
    --launch-agent "$agent" --host "$H4" "$T/ready.sh"
[ "$R_RC" -eq 1 ] &&
    grep -qF "cannot start the daemon on host ${A[2]}" "$R_ERR"
t_ok $? "the fwd on ${A[2]} dies before it reports: host named, exit 1" \
    "(got $R_RC)"

FW_FWD_PATH=$T/fwd-die.sh FW_T_DIE_ID=7 fw_run "daemon 7 dies at start" -- \
    --launch-agent "$agent" --fanout 2 --host "$H16" "$T/ready.sh"
[ "$R_RC" -eq 1 ] && grep -qF "daemon on host ${A[6]}" "$R_ERR"
t_ok $? "the fwd on ${A[6]} (daemon 7, below daemon 3) dies before it" \
    "reports: host named, exit 1 (got $R_RC)"

# this host listed second: its daemon (started without an agent) is
# daemon 1 all the same
fw_run "this host and 2 others" -- --launch-agent "$agent" \
    --host "${A[0]},localhost:2,${A[1]}" "$T/ident.sh"
printf '%s\n' "0 0 0 1 0 -" "1 1 0 2 0 -" "2 1 1 2 0 -" "3 2 0 1 0 -" \
    >"$T/want"
errs=$(fw_check_ident "$T/want" 4 3 4)
[ "$R_RC" -eq 0 ] && [ -z "$errs" ]
t_ok $? "this host between two namespace hosts: one job over all three"
[ -n "$errs" ] && diag "$errs"

FW_FWD_PATH=$T/fwd-die.sh FW_T_DIE_ID=1 fw_run "local fwd dies at start" \
    -- --launch-agent "$agent" --host "${A[0]},localhost" "$T/ready.sh"
[ "$R_RC" -eq 1 ] && grep -qF "cannot start the daemon on host localhost:" \
    "$R_ERR" && grep -qF "fwd exited with signal 9" "$R_ERR"
st=$?
t_ok "$st" "this host's fwd, listed second, dies before it reports: the" \
    "message says fwd, not launch agent (got $R_RC)"
[ "$st" -ne 0 ] && t_diag_job

# --- unknown host --------------------------------------------------------------------
# inside a test host, so that the name lookup cannot leave the machine
timeout 20 ip netns exec "$prefix-h1" "$FWRUN" \
    --host fw-no-such-host.invalid -n 1 true >"$T/unk.out" 2>"$T/unk.err"
rc=$?
[ "$rc" -eq 2 ] &&
    grep -qF "unknown host 'fw-no-such-host.invalid'" "$T/unk.err"
t_ok $? "an unknown host name: exit 2 and the name in the message (got $rc)"
[ "$rc" -ne 2 ] && diag "$(cat "$T/unk.err")"

# --- a network partition ------------------------------------------------------------
# The link of one host goes down mid-job: no FIN, no RST, the connections
# just go silent. TCP keepalive (FW_OOB_KEEPALIVE_S) must end the job on
# fwrun's side and, on the lost host, the daemon and its ranks, within
# seconds. The agent runs fwd as its child (not exec'd, as ssh would), so
# that fwrun's signals to its agent cannot reach the daemon: only the
# daemon's own keepalive can end it.
t_script agent-child.sh <<EOS
#!/bin/sh
"$agent" "\$@"
EOS
export FW_OOB_KEEPALIVE_S=3 # read by fwrun and by the daemons it starts
fw_start "partition" -- --launch-agent "$T/agent-child.sh" \
    --host "${A[14]},${A[15]}" "$T/ready.sh"
part=1
if fw_wait_lines '^ready' 2; then
    ip netns exec "$prefix-h16" ip link set dev eth0 down && part=0
    t0=$(t_now_ms)
fi
FW_T_GONE_MS=8000 fw_finish 15
unset FW_OOB_KEEPALIVE_S
ip netns exec "$prefix-h16" ip link set dev eth0 up
ms=$((R_END - ${t0:-0}))
[ "$part" -eq 0 ] && [ "$R_RC" -eq 1 ] && [ "$ms" -lt 9000 ] &&
    grep -qF "daemon on host ${A[15]}" "$R_ERR"
st=$?
t_ok "$st" "partition of ${A[15]}, FW_OOB_KEEPALIVE_S=3: fwrun names the host" \
    "and exits 1 after $ms ms (< 9000, rc $R_RC); the daemon there and" \
    "its rank end too (checked above)"
[ "$st" -ne 0 ] && t_diag_job

# --- down ------------------------------------------------------------------------------
"$fwnetns" down "$prefix" 2>"$T/down.err"
t_ok $? "fw-netns down $prefix"
FW_T_NETNS=()
fw_netns_watch

t_done
