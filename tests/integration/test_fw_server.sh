#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# fw-server, the name server shared by jobs, driven by ns_client over
# 127.0.0.1: contact string and report file, publish / lookup /
# unpublish results, a lookup that waits for a later publish or times
# out, entries removed with the connection that published them (closed
# or killed), DROP, a wrong secret and a malformed request refused, what
# fwrun --server says for a wrong secret and for a contact file that is
# missing, a directory, empty or unreadable, bad command lines, and a
# clean exit on SIGTERM and SIGINT that removes the report file. Every wait is bounded; whatever the script starts is
# killed on exit.
set -u
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

SERVER=$FW_BLD/launcher/fw-server
NSC=$FW_BLD/tests/progs/ns_client
bg_pids=()

ns_cleanup() {
    local p

    for p in "${bg_pids[@]}"; do
        kill -KILL "$p" 2>/dev/null
    done
    fw_lib_cleanup
}
trap ns_cleanup EXIT
trap 'exit 1' INT TERM HUP
fw_lib_budget 60

if [ ! -x "$SERVER" ] || [ ! -x "$NSC" ]; then
    echo "not ok 1 - fw-server and ns_client are built ($SERVER, $NSC)"
    echo "0 passed, 1 failed"
    exit 1
fi

# ns ARGS...: run ns_client (bounded); NS_OUT, NS_RC, NS_MS
ns() {
    local t0

    t0=$(t_now_ms)
    NS_OUT=$(timeout -s KILL 20 "$NSC" "$@" 2>"$T/ns.err")
    NS_RC=$?
    NS_MS=$(($(t_now_ms) - t0))
}

# ns_is WANT-OUT WANT-RC DESC... : the last ns call printed and exited so
ns_is() {
    local want=$1 rc=$2

    shift 2
    [ "$NS_OUT" = "$want" ] && [ "$NS_RC" -eq "$rc" ]
    t_ok $? "$* (got '$NS_OUT', exit $NS_RC)"
}

# wait_for SECS CMD...: poll CMD every 20 ms until it succeeds
wait_for() {
    local secs=$1 t0

    shift
    t0=$(t_now_ms)
    until "$@"; do
        [ $(($(t_now_ms) - t0)) -ge $((secs * 1000)) ] && return 1
        sleep 0.02
    done
}

# hold NAME OWNER SERVICE PORT SECS: publish on a connection kept open;
# waits (bounded) until the publish is answered; the pid in HOLD_PID
hold() {
    local name=$1

    shift
    "$NSC" "file:$URI" hold "$@" >"$T/$name.out" 2>"$T/$name.err" &
    HOLD_PID=$!
    disown "$HOLD_PID" # killed by the script: no "Killed" notices
    bg_pids+=("$HOLD_PID")
    wait_for 10 grep -q . "$T/$name.out"
}

# reap PID SECS: wait for our child PID; 0 if it ended in time (WAIT_RC,
# meaningful for children not disowned)
reap() {
    local pid=$1 secs=$2

    wait_for "$secs" fw_exited "$pid" || return 1
    wait "$pid" 2>/dev/null
    WAIT_RC=$?
}

# lookup_gone SERVICE: lookup returns NOT_FOUND (the server may take a
# moment to see a connection close)
lookup_gone() {
    ns "file:$URI" lookup probe "$1" 0
    [ "$NS_OUT" = FW_ERR_NOT_FOUND ]
}

# --- start, contact string, report file --------------------------------------
URI=$T/ns.uri
"$SERVER" --report-uri "$URI" >"$T/server.out" 2>"$T/server.err" &
SPID=$!
bg_pids+=("$SPID")
wait_for 10 test -s "$URI"
t_ok $? "fw-server writes its report file"
CONTACT=$(head -n 1 "$URI")
[[ "$CONTACT" =~ ^[0-9a-f]{64}@tcp://127\.0\.0\.1:[0-9]+$ ]]
t_ok $? "contact string is <64 hex>@tcp://127.0.0.1:PORT ($CONTACT)"
[ "$(stat -c %a "$URI")" = 600 ] && [ ! -e "$URI.tmp" ] &&
    [ "$(wc -l <"$URI")" -eq 1 ]
t_ok $? "report file: one line, mode 600, no temporary file left"

# --- publish, lookup, duplicate, permission ----------------------------------
hold h1 jobA svc1 port-a 30
t_ok $? "publish svc1 for jobA (connection kept open)"
[ "$(cat "$T/h1.out")" = FW_SUCCESS ]
t_ok $? "the publish succeeded ($(cat "$T/h1.out"))"
ns "$CONTACT" lookup jobB svc1 0
ns_is "FW_SUCCESS port-a" 0 "lookup svc1 with the contact string"
ns "file:$URI" lookup jobB svc1 0
ns_is "FW_SUCCESS port-a" 0 "lookup svc1 with file:PATH"
ns "file:$URI" publish jobB svc1 port-b
ns_is FW_ERR_EXISTS 1 "publish svc1 again by jobB"
ns "file:$URI" publish jobA svc1 port-c
ns_is FW_ERR_EXISTS 1 "publish svc1 again by its owner"
ns "file:$URI" unpublish jobB svc1
ns_is FW_ERR_PERM 1 "unpublish svc1 by another owner"
ns "file:$URI" unpublish jobB nosuch
ns_is FW_ERR_NOT_FOUND 1 "unpublish an unknown service"
ns "file:$URI" lookup jobB svc1 0
ns_is "FW_SUCCESS port-a" 0 "svc1 survived the failed requests"
ns "file:$URI" lookup jobB nosuch 0
ns_is FW_ERR_NOT_FOUND 1 "lookup of an unknown service, timeout 0"
[ "$NS_MS" -lt 2000 ]
t_ok $? "... answered at once ($NS_MS ms)"

hold h2 jobC svc2 port-c 30
ns "file:$URI" unpublish jobC svc2
ns_is FW_SUCCESS 0 "unpublish by the owner (from another connection)"
ns "file:$URI" lookup jobB svc2 0
ns_is FW_ERR_NOT_FOUND 1 "svc2 is gone after its unpublish"

# --- lookups that wait ---------------------------------------------------------
"$NSC" "file:$URI" lookup jobB late 8000 >"$T/late.out" 2>"$T/late.err" &
LPID=$!
bg_pids+=("$LPID")
sleep 0.3
t0=$(t_now_ms)
hold h3 jobD late port-late 30
reap "$LPID" 5
t_ok $? "a waiting lookup ends after the publish"
ms=$(($(t_now_ms) - t0))
[ "$(cat "$T/late.out")" = "FW_SUCCESS port-late" ] && [ "$WAIT_RC" -eq 0 ] &&
    [ "$ms" -lt 5000 ]
t_ok $? "it returns the port published meanwhile ('$(cat "$T/late.out")'," \
    "$ms ms after the publish, timeout 8000)"

ns "file:$URI" lookup jobB never 800
ns_is FW_ERR_NOT_FOUND 1 "a lookup with timeout 800 ms and no publish"
[ "$NS_MS" -ge 700 ] && [ "$NS_MS" -lt 3000 ]
t_ok $? "it ends after about its timeout ($NS_MS ms, want 700..3000)"

# --- entries go with their connection -----------------------------------------
hold h4 jobE svc4 port-e 1
reap "$HOLD_PID" 10
t_ok $? "a holder that closes its connection after 1 s exits"
wait_for 3 lookup_gone svc4
t_ok $? "its entry is gone once its connection closed"

hold h5 jobF svc5 port-f 30
kill -KILL "$HOLD_PID"
wait_for 3 lookup_gone svc5
t_ok $? "the entry of a killed holder is gone too"

ns "file:$URI" publish jobG svc6 port-g
ns_is FW_SUCCESS 0 "a one-shot publish succeeds"
wait_for 3 lookup_gone svc6
t_ok $? "... and its entry leaves with its connection"

hold h7 jobH svc7 port-h 30
hold h8 jobH svc8 port-h 30
ns "file:$URI" drop jobH
ns_is FW_SUCCESS 0 "DROP jobH"
ns "file:$URI" lookup probe svc7 0
ns_is FW_ERR_NOT_FOUND 1 "DROP removed jobH's first entry"
ns "file:$URI" lookup probe svc8 0
ns_is FW_ERR_NOT_FOUND 1 "and its second"
ns "file:$URI" lookup probe svc1 0
ns_is "FW_SUCCESS port-a" 0 "and not jobA's"

# --- wrong secret --------------------------------------------------------------
BAD="$(printf '%064d' 0)@${CONTACT#*@}"
ns "$BAD" lookup jobB svc1 0
ns_is FW_ERR_AUTH 1 "a client with a wrong secret is refused"
grep -q "refused: bad credentials" "$T/server.err"
t_ok $? "the server logs the refusal"
ns "file:$URI" lookup jobB svc1 0
ns_is "FW_SUCCESS port-a" 0 "the server serves on"

# fwrun with a wrong secret: the server's close during the handshake is
# an authentication failure, not a "connection closed by peer"
MANGLED="$(printf '%s' "${CONTACT:0:63}" | tr '0-9a-f' '1-9a-f0')${CONTACT:63}"
[ "${MANGLED#*@}" = "${CONTACT#*@}" ] && [ "${MANGLED%%@*}" != "${CONTACT%%@*}" ]
t_ok $? "a contact string with a mangled secret (same address)"
# (not fw_run: its leftover check would take the server and holders,
# which run from $T, for the job's)
timeout -s KILL 20 "$FWRUN" --server "$MANGLED" -n 1 "$T/sleep" 1 \
    >/dev/null 2>"$T/fwrun-bad.err"
rc=$?
[ "$rc" -eq 0 ] &&
    grep -qF "cannot use the name server: authentication failed (wrong secret?)" \
    "$T/fwrun-bad.err" && ! grep -qF "connection closed" "$T/fwrun-bad.err"
st=$?
t_ok "$st" "fwrun --server with a wrong secret says 'authentication failed" \
    "(wrong secret?)'; the job itself runs (rc $rc)"
[ "$st" -ne 0 ] && diag "$(cat "$T/fwrun-bad.err")"

ns "file:$URI" garbage jobB
ns_is FW_ERR_CONN_CLOSED 1 "a malformed request: the server hangs up"
grep -q "bad message" "$T/server.err"
t_ok $? "and logs it"
ns "file:$URI" lookup jobB svc1 0
ns_is "FW_SUCCESS port-a" 0 "other connections are served on"

# --- fwrun with a contact file it cannot use: exit 2, and why -----------------
# fwrun_contact_case WANT [ENV=VAL] -- FWRUN-ARGS
fwrun_contact_case() {
    local want=$1 rc env=()

    shift
    while [ "$1" != -- ]; do
        env+=("$1")
        shift
    done
    shift
    env "${env[@]}" timeout -s KILL 20 "$FWRUN" "$@" -n 1 true \
        >/dev/null 2>"$T/fc.err"
    rc=$?
    [ "$rc" -eq 2 ] && grep -qF -- "$want" "$T/fc.err"
    t_ok $? "fwrun ${env[*]} $*: exit 2 (got $rc), says '$want'"
    [ "$rc" -ne 2 ] || ! grep -qF -- "$want" "$T/fc.err" &&
        diag "$(cat "$T/fc.err")"
}
fwrun_contact_case "$T/missing: No such file or directory" \
    FW_SERVER="file:$T/missing" --
fwrun_contact_case "$T/missing: No such file or directory" \
    -- --server "file:$T/missing"
mkdir "$T/adir"
fwrun_contact_case "$T/adir: Is a directory" -- --server "file:$T/adir"
: >"$T/empty.uri"
fwrun_contact_case "$T/empty.uri: the file is empty" \
    -- --server "file:$T/empty.uri"
echo "hello" >"$T/other.uri"
fwrun_contact_case "$T/other.uri: the first line is not a contact string" \
    -- --server "file:$T/other.uri"
cp "$URI" "$T/secret.uri"
chmod 600 "$T/secret.uri"
if [ "$(id -u)" -eq 0 ]; then
    if command -v setpriv >/dev/null; then
        # as nobody: root reads any file. A copy of fwrun nobody can run:
        # the build tree may be where nobody cannot go (a fresh clone in
        # a mode-700 directory)
        nb=$(mktemp -d)
        chmod 755 "$nb"
        cp "$FWRUN" "$nb/fwrun"
        cp "$(dirname "$FWRUN")/fwd" "$nb/fwd"
        chmod 755 "$nb/fwrun" "$nb/fwd"
        setpriv --reuid 65534 --regid 65534 --clear-groups \
            timeout -s KILL 20 "$nb/fwrun" --server "file:$T/secret.uri" \
            -n 1 true >/dev/null 2>"$T/fc.err"
        rc=$?
        rm -rf "$nb"
        [ "$rc" -eq 2 ] &&
            grep -qF "$T/secret.uri: Permission denied" "$T/fc.err"
        t_ok $? "fwrun --server file:PATH that is not readable: exit 2" \
            "(got $rc), says 'Permission denied'"
    else
        t_skip "fwrun --server with an unreadable file" "no setpriv"
    fi
else
    chmod 000 "$T/secret.uri"
    fwrun_contact_case "$T/secret.uri: Permission denied" \
        -- --server "file:$T/secret.uri"
fi

# --- bad command lines and runtime failures ------------------------------------
usage_case() {
    local want=$1 rc

    shift
    timeout -s KILL 10 "$SERVER" "$@" >"$T/u.out" 2>"$T/u.err"
    rc=$?
    [ "$rc" -eq 2 ] && grep -qF -- "$want" "$T/u.err" &&
        grep -qF -- "--help" "$T/u.err"
    t_ok $? "fw-server $*: exit 2 (got $rc), says '$want'"
}
usage_case "unknown option or argument '--bogus'" --bogus
usage_case "unknown option or argument 'extra'" extra
usage_case "--port: expected a number 0..65535" --port abc
usage_case "--port: expected a number 0..65535" --port 70000
usage_case "--report-uri needs a value" --report-uri
usage_case "not a wildcard" --listen 0.0.0.0
usage_case "expected the numeric IP address" --listen localhost

PORT=${CONTACT##*:}
timeout -s KILL 10 "$SERVER" --port "$PORT" --report-uri "$T/dup.uri" \
    >/dev/null 2>"$T/dup.err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "cannot listen" "$T/dup.err" && [ ! -e "$T/dup.uri" ]
t_ok $? "a port in use: exit 1 (got $rc), 'cannot listen', no report file"
timeout -s KILL 10 "$SERVER" --report-uri "$T/nodir/x.uri" \
    >/dev/null 2>"$T/nodir.err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "cannot create" "$T/nodir.err"
t_ok $? "an unwritable report file: exit 1 (got $rc), says so"
timeout -s KILL 10 "$SERVER" --help >"$T/help.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] && grep -q -- "--report-uri" "$T/help.out"
t_ok $? "--help: exit 0 and the options"
timeout -s KILL 10 "$SERVER" --version >"$T/ver.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] && grep -q "^fw-server" "$T/ver.out"
t_ok $? "--version: exit 0 ($(cat "$T/ver.out"))"

# --- signals ---------------------------------------------------------------------
kill -TERM "$SPID"
reap "$SPID" 5
t_ok $? "fw-server exits within 5 s of SIGTERM"
[ "${WAIT_RC:-1}" -eq 0 ] && [ ! -e "$URI" ] && [ ! -e "$URI.tmp" ]
t_ok $? "exit status 0 (got ${WAIT_RC:-?}), report file removed"
! kill -0 "$SPID" 2>/dev/null
t_ok $? "no fw-server process left (not even a zombie)"
for p in "${bg_pids[@]}"; do
    kill -KILL "$p" 2>/dev/null
done

"$SERVER" --report-uri - >"$T/stdout.uri" 2>"$T/s2.err" &
S2=$!
bg_pids+=("$S2")
wait_for 10 grep -q @ "$T/stdout.uri"
[[ "$(head -n 1 "$T/stdout.uri")" =~ ^[0-9a-f]{64}@tcp://127\.0\.0\.1:[0-9]+$ ]]
t_ok $? "--report-uri - prints the contact string on stdout"
ns "$(head -n 1 "$T/stdout.uri")" lookup jobB svc1 0
ns_is FW_ERR_NOT_FOUND 1 "a new server starts empty"
kill -INT "$S2"
reap "$S2" 5 && [ "$WAIT_RC" -eq 0 ]
t_ok $? "SIGINT: clean exit, status 0"

t_done
