#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# scripts/fw-netns and scripts/fw-netns-agent: four test hosts reach each
# other and the bridge (ICMP and TCP), the agent runs commands in the
# right namespace with argv, stdin and exit status intact, gc and down
# remove everything. Needs root; exit 77 (skip) otherwise.
set -u

src=${FW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
fwnetns="$src/scripts/fw-netns"
agent="$src/scripts/fw-netns-agent"
port=5417

if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP needs root (network namespaces)"
    [ "${FW_TEST_STRICT:-0}" = 1 ] && exit 1
    exit 77
fi

n_pass=0
n_fail=0
n_skip=0
n=0

t_ok() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        n_pass=$((n_pass + 1))
        echo "ok $n - $2"
    else
        n_fail=$((n_fail + 1))
        echo "not ok $n - $2"
    fi
}

t_skip() {
    n=$((n + 1))
    n_skip=$((n_skip + 1))
    echo "ok $n - $1 # SKIP $2"
}

diag() {
    echo "# $*"
}

# Prefixes unique among live processes: base 36 of our pid fits 8 chars.
b36() {
    local v=$1 d=0123456789abcdefghijklmnopqrstuvwxyz s=""

    while [ "$v" -gt 0 ]; do
        s="${d:v % 36:1}$s"
        v=$((v / 36))
    done
    echo "${s:-0}"
}
prefix="${FW_T_NETNS_PREFIX:-fw}t$(b36 $$)"
gcprefix="${FW_T_NETNS_PREFIX:-fw}g$(b36 $$)"
tmp=$(mktemp -d)
bg_pids=()

cleanup() {
    local p

    for p in "${bg_pids[@]}"; do
        kill "$p" 2>/dev/null
    done
    "$fwnetns" down "$prefix" >/dev/null 2>&1
    "$fwnetns" down "$gcprefix" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Start a TCP listener at $2 in namespace $1 ("" = root namespace) that
# answers each connection with "$3 <peer address>"; wait until it listens.
listen() {
    local ns=$1 addr=$2 name=$3 out="$tmp/listen.$3" i
    local py='
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
print("ready", flush=True)
while True:
    c, a = s.accept()
    c.sendall(("%s %s\n" % (sys.argv[3], a[0])).encode())
    c.close()
'
    if [ -n "$ns" ]; then
        # killed by fw-netns down: disown, so bash does not report it
        ip netns exec "$ns" python3 -c "$py" "$addr" "$port" "$name" \
            >"$out" 2>&1 &
        disown $!
    else
        python3 -c "$py" "$addr" "$port" "$name" >"$out" 2>&1 &
    fi
    bg_pids+=($!)
    for ((i = 0; i < 100; i++)); do
        grep -q ready "$out" 2>/dev/null && return 0
        sleep 0.05
    done
    diag "listener $name at $addr: $(cat "$out")"
    return 1
}

# Connect from namespace $1 to $2 and print the listener's answer.
connect() {
    # shellcheck disable=SC2016 # $1 and $2 expand in the inner bash
    timeout 5 "$fwnetns" exec "$1" bash -c \
        'exec 3<>"/dev/tcp/$1/$2" && read -r line <&3 && echo "$line"' \
        _ "$2" "$port" 2>&1
}

# --- up ------------------------------------------------------------------
"$fwnetns" up "$prefix" 4 >"$tmp/up.out" 2>"$tmp/up.err"
rc=$?
t_ok "$rc" "fw-netns up $prefix 4"
if [ "$rc" -ne 0 ]; then
    diag "$(cat "$tmp/up.err")"
    echo "$n_pass passed, $((n_fail + 1)) failed"
    exit 1
fi
mapfile -t addrs <"$tmp/up.out"
bridge_addr="${addrs[0]%.*}.1"
bad=0
[ "${#addrs[@]}" -eq 4 ] || bad=1
for a in "${addrs[@]}"; do
    [[ "$a" =~ ^198\.1[89]\.[0-9]+\.[0-9]+$ ]] || bad=1
done
t_ok "$bad" "up prints only 4 addresses in 198.18.0.0/15: ${addrs[*]}"

map="/run/fabwire-netns/$prefix.hosts"
bad=0
for i in 1 2 3 4; do
    grep -qx "${addrs[i - 1]} $prefix-h$i $prefix-h$i" "$map" || bad=1
    [ -e "/run/netns/$prefix-h$i" ] || bad=1
done
t_ok "$bad" "map file and namespaces $prefix-h1..4 exist"

"$fwnetns" list | grep -qx "$prefix"
t_ok $? "list shows $prefix"

"$fwnetns" up "$prefix" 2 >/dev/null 2>&1
rc=$?
[ "$rc" -ne 0 ] && [ -e "$map" ] && [ -e "/run/netns/$prefix-h4" ]
t_ok $? "up of a live prefix fails and leaves it intact"

"$fwnetns" up fw_toolong 1 >/dev/null 2>"$tmp/long.err"
rc=$?
[ "$rc" -ne 0 ] && grep -q "invalid PREFIX" "$tmp/long.err" &&
    [ ! -e /run/fabwire-netns/fw_toolong.hosts ]
t_ok $? "a 10-character prefix is rejected with a clear error"

# no route out of a host but its own subnet
routes=$(ip -n "$prefix-h1" -4 route show | grep -vc "^${addrs[0]%.*}\.0/24 ")
t_ok "$routes" "hosts have only their /24 route"

# --- connectivity ----------------------------------------------------------
if command -v ping >/dev/null 2>&1; then
    for i in 1 2 3 4; do
        bad=0
        for a in "$bridge_addr" "${addrs[@]}"; do
            if ! "$fwnetns" exec "$prefix-h$i" ping -n -q -c1 -W1 "$a" \
                >/dev/null 2>&1; then
                diag "ping from $prefix-h$i to $a failed"
                bad=1
            fi
        done
        t_ok "$bad" "$prefix-h$i pings the bridge and every host"
    done
else
    t_skip "ping between hosts" "ping not installed (scripts/install-deps.sh)"
fi

bad=0
listen "" "$bridge_addr" root || bad=1
for i in 1 2 3 4; do
    listen "$prefix-h$i" "${addrs[i - 1]}" "h$i" || bad=1
done
t_ok "$bad" "TCP listeners up on the bridge address and in each host"

for i in 1 2 3 4; do
    bad=0
    src_addr=${addrs[i - 1]}
    got=$(connect "$prefix-h$i" "$bridge_addr")
    if [ "$got" != "root $src_addr" ]; then
        diag "h$i -> bridge: got '$got'"
        bad=1
    fi
    for j in 1 2 3 4; do
        got=$(connect "$prefix-h$i" "${addrs[j - 1]}")
        if [ "$got" != "h$j $src_addr" ]; then
            diag "h$i -> h$j: got '$got'"
            bad=1
        fi
    done
    t_ok "$bad" "$prefix-h$i connects over TCP to the bridge and every host"
done

# --- agent -----------------------------------------------------------------
out=$("$agent" "${addrs[1]}" ip -4 -o addr show dev eth0 2>&1)
[[ "$out" == *" ${addrs[1]}/24 "* ]]
t_ok $? "agent by address runs in $prefix-h2"

out=$("$agent" "$prefix-h3" ip -4 -o addr show dev eth0 2>&1)
[[ "$out" == *" ${addrs[2]}/24 "* ]]
t_ok $? "agent by host name runs in $prefix-h3"

"$agent" "${addrs[0]}" sh -c 'exit 42'
t_ok $(($? != 42)) "agent propagates exit status 42"

"$agent" "${addrs[0]}" false
t_ok $(($? != 1)) "agent propagates exit status 1"

out=$(printf 'one\ntwo\n' | "$agent" "${addrs[0]}" cat)
[ "$out" = "$(printf 'one\ntwo')" ]
t_ok $? "agent passes stdin through"

# shellcheck disable=SC2016 # the literal $HOME must reach printf as is
out=$("$agent" "${addrs[0]}" printf '%s|' 'a b' '$HOME' '*' ';' '')
# shellcheck disable=SC2016
[ "$out" = 'a b|$HOME|*|;||' ]
t_ok $? "agent passes argv without shell parsing"

"$agent" "${addrs[0]}" sh -c 'echo err >&2' 2>"$tmp/agent.err" >/dev/null
grep -qx err "$tmp/agent.err"
t_ok $? "agent passes stderr through"

"$agent" 198.18.255.254 true 2>"$tmp/unknown.err"
rc=$?
[ "$rc" -eq 255 ] &&
    grep -qx "fw-netns-agent: unknown host '198.18.255.254'" "$tmp/unknown.err"
t_ok $? "unknown host exits 255 with a message (rc $rc)"

out=$("$fwnetns" exec "$prefix-h1" "$agent" "${addrs[3]}" \
    ip -4 -o addr show dev eth0 2>&1)
[[ "$out" == *" ${addrs[3]}/24 "* ]]
t_ok $? "agent invoked inside $prefix-h1 runs in $prefix-h4"

# --- gc --------------------------------------------------------------------
sleep 60 &
owner=$!
FW_NETNS_OWNER_PID=$owner "$fwnetns" up "$gcprefix" 2 >/dev/null 2>"$tmp/gc.err"
rc=$?
kill "$owner"
wait "$owner" 2>/dev/null
if [ "$rc" -eq 0 ]; then
    "$fwnetns" gc 2>>"$tmp/gc.err"
    [ ! -e "/run/fabwire-netns/$gcprefix.hosts" ] &&
        ! ip netns list | grep -q "^$gcprefix-h" &&
        [ -e "$map" ] && [ -e "/run/netns/$prefix-h1" ]
    rc=$?
fi
[ "$rc" -ne 0 ] && diag "$(cat "$tmp/gc.err")"
t_ok "$rc" "gc removes an instance whose owner died and keeps ours"

# --- down --------------------------------------------------------------------
# the root-namespace listener is ours to stop; down must kill the others
kill "${bg_pids[0]}"
wait "${bg_pids[0]}" 2>/dev/null
ip netns exec "$prefix-h4" sleep 300 &
disown $!
bg_pids+=($!)
sleep 0.1
"$fwnetns" down "$prefix" 2>"$tmp/down.err"
rc=$?
[ "$rc" -ne 0 ] && diag "$(cat "$tmp/down.err")"
t_ok "$rc" "fw-netns down $prefix"

left=$( (ip netns list; ip -o link show; ip -4 -o addr show
          if command -v iptables >/dev/null; then iptables -w 5 -S; fi) |
    grep -c -e "$prefix-" -e " ${addrs[0]%.*}\." -e "fabwire-netns:$prefix")
t_ok "$left" "no namespace, veth, bridge, address or iptables rule of $prefix is left"

[ ! -e "$map" ] && ! "$fwnetns" list | grep -qx "$prefix"
t_ok $? "map file removed and list no longer shows $prefix"

alive=0
for p in "${bg_pids[@]:1}"; do
    for ((i = 0; i < 40; i++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$p" 2>/dev/null && alive=$((alive + 1))
done
t_ok "$alive" "processes left in the hosts were killed by down"

"$fwnetns" down "$prefix" 2>/dev/null
t_ok $? "down is idempotent"

echo "1..$n"
echo "$n_pass passed, $n_fail failed, $n_skip skipped"
[ "$n_fail" -eq 0 ]
