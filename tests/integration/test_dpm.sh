#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Dynamic processes on this host, driven by tests/progs/dpm_check (one
# subcommand per case, "FAIL: ..." on stderr for every check that does
# not hold). One group of cases per run:
#   test_dpm.sh world     send/recv on world and self, ports, no parent
#   test_dpm.sh connect   two fwrun jobs (2 and 3 ranks) through a port
#                         file, N accept/connect cycles with merges;
#                         name service in one job and across jobs with
#                         fw-server
#   test_dpm.sh spawn     spawn from 2 parents, spawn_multiple, info keys
#   test_dpm.sh failures  dead and closed ports, failing spawns
#   test_dpm.sh cycles N  N spawn/disconnect cycles: no fd or memory leak
# After every job, no rank, daemon or child may be left. No root needed.
set -u
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

case_=${1:-world}
ncycles=${2:-100}
server_pid=""

# fw-server's report file lives outside $T: fw_finish counts every
# process whose command line holds $T as a leftover of the job
NSD=$(mktemp -d /tmp/fwdpm-ns.XXXXXXXX)
dpm_cleanup() {
    [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null
    fw_lib_cleanup
    rm -rf "$NSD"
}
trap dpm_cleanup EXIT
trap 'exit 1' INT TERM HUP
fw_lib_check_build
case $case_ in
cycles) fw_lib_budget $((ncycles * 2 / 3 + 60)) ;;
*) fw_lib_budget 150 ;;
esac

DPM_BIN=$FW_BLD/tests/progs/dpm_check
SERVER=$FW_BLD/launcher/fw-server
if [ ! -x "$DPM_BIN" ]; then
    echo "not ok 1 - dpm_check is built ($DPM_BIN)"
    echo "0 passed, 1 failed"
    exit 1
fi
# ranks and children run as $T/dpm_check: fw_finish finds any leftover
ln -s "$DPM_BIN" "$T/dpm_check"
P=$T/dpm_check
# a blocking step of dpm_check gives up (exit 3) after this long
export FW_T_DPM_ALARM=${FW_T_DPM_ALARM:-40}

# dpm_ok DESC...: the job exited 0, every rank said "all checks passed"
# and nobody printed FAIL; otherwise show why
dpm_ok() {
    local n_ok

    n_ok=$(grep -c 'all checks passed$' "$R_OUT")
    [ "$R_RC" -eq 0 ] && [ "$n_ok" -ge "$DPM_NRANKS" ] &&
        ! grep -q '^FAIL' "$R_ERR"
    dpm_report $? "$@"
}

dpm_report() {
    local st=$1

    shift
    t_ok "$st" "$(echo "$*" | tr -s "\n" " ") ($R_MS ms)"
    if [ "$st" -ne 0 ]; then
        diag "fwrun rc $R_RC; stderr:"
        diag "$(grep -v '^fabwire\[' "$R_ERR" | head -n 12)"
    fi
    return "$st"
}

# dpm_run LABEL NRANKS SECS -- FWRUN-ARGS: run a job, check, report
dpm_run() {
    local label=$1 secs=$3

    DPM_NRANKS=$2
    shift 4
    fw_start "$label" -- "$@" || return 1
    fw_finish "$secs"
}

# Nothing of this build may be left (also what is not under $T).
dpm_no_strays() {
    local left

    sleep 0.2
    # dpm_check only: other tests of this build may run beside us (ctest
    # -j); each job's own fwrun and daemons are checked by fw_finish
    left=$(pgrep -a -f -- "$FW_BLD/tests/progs/dpm_check" | grep -v "^$$ ")
    [ -z "$left" ]
    t_ok $? "no dpm_check process of $FW_BLD left"
    [ -n "$left" ] && diag "$left"
}

# wait_for SECS CMD...: poll CMD until it succeeds
wait_for() {
    local secs=$1 t0

    shift
    t0=$(t_now_ms)
    until "$@"; do
        [ $(($(t_now_ms) - t0)) -ge $((secs * 1000)) ] && return 1
        sleep 0.02
    done
}

start_server() {
    rm -f "$NSD/ns.uri"
    "$SERVER" --report-uri "$NSD/ns.uri" >"$NSD/server.out" 2>"$NSD/server.err" &
    server_pid=$!
    wait_for 10 test -s "$NSD/ns.uri"
}

stop_server() {
    [ -z "$server_pid" ] && return 0
    kill -TERM "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=""
}

# Two jobs at once: fw_finish checks that nothing of $T is left, so both
# must have ended first. dpm_save SLOT / dpm_restore SLOT keep a job's
# fw_start state; dpm_wait_both SECS waits (bounded) for both fwruns.
declare -A dpm_st
dpm_save() {
    local v

    for v in R_PID R_OUT R_ERR R_SUB R_LABEL R_T0 r_n; do
        dpm_st[$1.$v]=${!v}
    done
}

dpm_restore() {
    local v

    for v in R_PID R_OUT R_ERR R_SUB R_LABEL R_T0 r_n; do
        printf -v "$v" '%s' "${dpm_st[$1.$v]}"
    done
}

dpm_wait_both() {
    local secs=$1 t0

    t0=$(t_now_ms)
    until fw_exited "${dpm_st[a.R_PID]}" && fw_exited "${dpm_st[b.R_PID]}"
    do
        [ $(($(t_now_ms) - t0)) -ge $((secs * 1000)) ] && return 1
        sleep 0.05
    done
}

# dpm_finish_both SECS DESC-A DESC-B: finish and check both jobs (the
# expected passing rank counts in DPM_NA and DPM_NB); r_n stays the
# highest job number
dpm_finish_both() {
    local secs=$1 desc_a=$2 desc_b=$3 top=$r_n

    dpm_wait_both "$secs" || diag "the two jobs did not end within $secs s"
    dpm_restore a
    DPM_NRANKS=$DPM_NA
    fw_finish 5
    dpm_ok "$desc_a"
    dpm_restore b
    DPM_NRANKS=$DPM_NB
    fw_finish 5
    dpm_ok "$desc_b"
    r_n=$top
}

# --- world, ports, no parent ---------------------------------------------------
case_world() {
    local n

    for n in 1 2 5; do
        dpm_run "world -n $n" "$n" 30 -- --oversubscribe -n "$n" "$P" world
        dpm_ok "world, $n ranks: ring with 4 tags, ANY_SOURCE/ANY_TAG," \
            "wildcards against waiting messages in order, zero-length, truncation, large messages (128 KiB to 4 MiB, in order), bad dest/tag, self, peer_addr," \
            "provider, rank/size of world/self/NULL"
    done
    # shm before libfabric 1.19 (FW_FAB_EXACT_TAGS=auto) and the same
    # envelope matching forced over tcp
    dpm_run "world shm" 3 30 -- --provider shm --oversubscribe -n 3 "$P" \
        world
    dpm_ok "world, 3 ranks over shm: wildcard receives of messages that" \
        "arrived first, order per sender"
    FW_FAB_EXACT_TAGS=1 dpm_run "world exact tags" 3 30 -- \
        -x FW_FAB_EXACT_TAGS --oversubscribe -n 3 "$P" world
    dpm_ok "world, 3 ranks, wildcards matched through envelopes over tcp" \
        "(FW_FAB_EXACT_TAGS=1)"
    # endpoints that skip their priming message to themselves
    FW_DPM_PRIME=0 dpm_run "world unprimed" 2 30 -- -n 2 "$P" world
    dpm_ok "world, 2 ranks, endpoints not primed (FW_DPM_PRIME=0)"
    dpm_run "ports" 2 30 -- -n 2 "$P" ports
    dpm_ok "ports: printable names < FW_MAX_PORT_NAME, malformed/" \
        "truncated/foreign names and addresses -> FW_ERR_PORT at once," \
        "close twice, accept on a closed port"
    dpm_run "ports shm" 2 30 -- --provider shm -n 2 "$P" ports
    dpm_ok "ports over shm: region names that are not plain names" \
        "(../x, empty) -> FW_ERR_PORT, world traffic still works"
    dpm_run "noparent" 2 20 -- -n 2 "$P" noparent
    dpm_ok "fw_comm_get_parent gives NULL in a job not spawned"
    dpm_no_strays
}

# --- connect / accept, name service -------------------------------------------------
# pair_inserts PROVIDER N [dead]: a job of 2 connecting N times (dpm_check
# pair);
# R_INS: the AV inserts its processes logged
pair_inserts() {
    R_INS=''
    FW_LOG_LEVEL=trace FW_LOG_SUBSYS=fab dpm_run "pair $1 $2" 2 30 -- \
        --provider "$1" -n 2 "$P" pair "$2" ${3:-}
    dpm_ok "$1: a pair job, $2 connect/disconnect cycles${3:+, then rank 1
 connects to rank 0 after it ended (its address kept in the AV): an error
 (shm: at once)}" || return 1
    R_INS=$(grep -c 'av: inserted peer' "$R_ERR" || true)
}

# rail_lines LABEL: R_RAIL, R_PRIM: peers inserted via the shm rail, via
# the job's provider (dpm debug lines of the last job)
rail_lines() {
    R_RAIL=$(grep -c 'a peer on this host, via the shm rail: success' \
        "$R_ERR" || true)
    R_PRIM=$(grep -c 'a peer via tcp;ofi_rxm' "$R_ERR" || true)
}

# The shm rail (FW_DPM_SHM, dpm/rail.h): ranks of one host reach each
# other over shm beside tcp;ofi_rxm; not with FW_DPM_SHM=0; and a job
# with the rail connects to a job without it (plain address)
dpm_rail_checks() {
    local nwarn

    FW_LOG_LEVEL=debug FW_LOG_SUBSYS=dpm dpm_run "pair, rail" 2 30 -- \
        --provider 'tcp;ofi_rxm' -n 2 "$P" pair 4
    rail_lines
    [ "$R_RC" -eq 0 ] && [ "$(grep -c 'all checks passed$' "$R_OUT")" -ge 2 ] &&
        [ "$(grep -c 'shm rail open beside tcp;ofi_rxm' "$R_ERR")" -eq 2 ] &&
        [ "$R_RAIL" -ge 2 ] && [ "$R_PRIM" -eq 0 ]
    dpm_report $? "tcp;ofi_rxm: both ranks open the shm rail, and reach" \
        "each other over it ($R_RAIL peers), not over tcp ($R_PRIM)"
    FW_DPM_SHM=0 FW_LOG_LEVEL=debug FW_LOG_SUBSYS=dpm \
        dpm_run "pair, no rail" 2 30 -- --provider 'tcp;ofi_rxm' -n 2 "$P" \
        pair 4
    rail_lines
    [ "$R_RC" -eq 0 ] && [ "$(grep -c 'all checks passed$' "$R_OUT")" -ge 2 ] &&
        ! grep -q 'shm rail open' "$R_ERR" && [ "$R_RAIL" -eq 0 ] &&
        [ "$R_PRIM" -ge 2 ]
    dpm_report $? "FW_DPM_SHM=0: no rail, every peer over tcp ($R_PRIM)"
    FW_DPM_SHM=abc dpm_run "pair, bad FW_DPM_SHM" 2 30 -- \
        --provider 'tcp;ofi_rxm' -n 2 "$P" pair 2
    nwarn=$(grep -c "FW_DPM_SHM: invalid value 'abc'" "$R_ERR" || true)
    [ "$R_RC" -eq 0 ] && [ "$(grep -c 'all checks passed$' "$R_OUT")" -ge 2 ] &&
        [ "$nwarn" -ge 1 ] && [ "$nwarn" -le 2 ]
    dpm_report $? "FW_DPM_SHM=abc: a warning per process ($nwarn), auto"

    # a job without the rail and one with it: connect, messages, merge
    rm -f "$T/port"
    FW_DPM_SHM=0 FW_LOG_LEVEL=debug FW_LOG_SUBSYS=dpm fw_start \
        "acceptor, no rail" -- --provider 'tcp;ofi_rxm' -n 2 "$P" acceptor \
        "$T/port" 2
    dpm_save a
    FW_LOG_LEVEL=debug FW_LOG_SUBSYS=dpm fw_start "connector, rail" -- \
        --provider 'tcp;ofi_rxm' --oversubscribe -n 2 "$P" connector \
        "$T/port" 2
    dpm_save b
    DPM_NA=2 DPM_NB=2
    dpm_finish_both 60 "acceptor job without the rail (FW_DPM_SHM=0): 2
 accepts" "connector job with it: 2 connects, messages, merges"
    rail_lines
    local crail=$R_RAIL cprim=$R_PRIM
    R_ERR=${dpm_st[a.R_ERR]} rail_lines
    [ "$crail" -ge 2 ] && [ "$cprim" -ge 2 ] && [ "$R_RAIL" -eq 0 ] &&
        [ "$R_PRIM" -ge 4 ]
    t_ok $? "... the connector's ranks reach each other over the rail" \
        "($crail) and the acceptor's ranks over tcp ($cprim); the" \
        "acceptor's ranks reach everyone over tcp ($R_PRIM, rail $R_RAIL)"
    dpm_no_strays
}

case_connect() {
    local pa pc ra rc_ ok_a ok_c rca

    # acceptor job of 2, connector job of 3, 4 cycles (every merge
    # high combination), started independently; the port goes by file
    rm -f "$T/port"
    fw_start "acceptor -n 2" -- -n 2 "$P" acceptor "$T/port" 4
    dpm_save a
    fw_start "connector -n 3" -- --oversubscribe -n 3 "$P" connector \
        "$T/port" 4
    dpm_save b
    DPM_NA=2 DPM_NB=3
    dpm_finish_both 90 \
        "acceptor job (2 ranks): 4 accepts on one port from a file" \
        "connector job (3 ranks, root going round): 4 connects, messages
 both ways between every pair, remote_size, merges in every high order,
 disconnect"
    dpm_no_strays

    # a peer connected to again is not inserted into the AV again (kept
    # by FW_DPM_AV_KEEP): as many inserts for 8 cycles as for 2, and 6
    # more with FW_DPM_AV_KEEP=0
    # (relayed processes, FW_DPM_RELAY=1, open no endpoint of their own)
    local prov i2 i8 z8 provs="tcp;ofi_rxm shm"
    [ "${FW_DPM_RELAY:-}" = 1 ] && provs=''
    for prov in $provs; do
        i2='' i8='' z8=''
        pair_inserts "$prov" 2 && i2=$R_INS &&
            pair_inserts "$prov" 8 dead && i8=$R_INS &&
            FW_DPM_AV_KEEP=0 pair_inserts "$prov" 8 && z8=$R_INS
        [ -n "$i2" ] && [ -n "$i8" ] && [ -n "$z8" ] && [ "$i8" -eq "$i2" ] &&
            [ "$z8" -ge $((i8 + 6)) ]
        t_ok $? "$prov: 8 connect/disconnect cycles of a pair insert no" \
            "more AV entries than 2 ($i8, $i2); $z8 with FW_DPM_AV_KEEP=0"
    done
    # a bad value: the default, and one warning per process, not one per
    # disconnect
    local nwarn
    FW_DPM_AV_KEEP=abc dpm_run "pair, bad FW_DPM_AV_KEEP" 2 30 -- \
        -n 2 "$P" pair 6
    nwarn=$(grep -c "FW_DPM_AV_KEEP: invalid value 'abc'" "$R_ERR" || true)
    [ "$R_RC" -eq 0 ] && [ "$(grep -c 'all checks passed$' "$R_OUT")" -ge 2 ] &&
        [ "$nwarn" -ge 1 ] && [ "$nwarn" -le 2 ]
    dpm_report $? "FW_DPM_AV_KEEP=abc: 6 cycles pass, $nwarn warning(s)," \
        "at most one per process"
    dpm_no_strays

    [ "${FW_DPM_RELAY:-}" = 1 ] || dpm_rail_checks

    # over shm, then once more to the port after the acceptor's job ended
    # (libfabric 1.17's shm crashed sending to the gone peer)
    rm -f "$T/port"
    fw_start "acceptor shm" -- --provider shm -n 1 "$P" acceptor "$T/port" 1
    dpm_save a
    FW_T_RECONNECT_DEAD=1 fw_start "connector shm" -- -x FW_T_RECONNECT_DEAD \
        --provider shm -n 1 "$P" connector "$T/port" 1
    dpm_save b
    DPM_NA=1 DPM_NB=1
    dpm_finish_both 60 "shm: acceptor job, 1 accept" \
        "shm: connector job, 1 connect, then a connect to the ended
 acceptor fails without a crash"
    dpm_no_strays

    # name service inside one job (fwrun serves it)
    dpm_run "ns_job" 2 30 -- -n 2 "$P" ns_job svc-job
    dpm_ok "job-scope name service: a lookup waits for a later publish," \
        "duplicate -> FW_ERR_EXISTS, unknown -> FW_ERR_NOT_FOUND at once" \
        "or after its timeout, unpublish"
    dpm_run "nsquery other job" 1 20 -- -n 1 "$P" nsquery svc-job none
    dpm_ok "another job (no server) does not see svc-job"

    # across jobs through fw-server
    if ! start_server; then
        t_ok 1 "fw-server starts ($SERVER)"
        return
    fi
    fw_start "lookup job" -- --server "file:$NSD/ns.uri" -n 2 "$P" lookup \
        svc-x
    dpm_save b
    fw_wait_lines '^looking up' 1 20
    sleep 0.5
    fw_start "publish job" -- --server "file:$NSD/ns.uri" -n 2 "$P" publish \
        svc-x
    dpm_save a
    DPM_NA=2 DPM_NB=2
    dpm_finish_both 60 \
        "publisher job with fw-server: publish, duplicate -> FW_ERR_EXISTS,
 unknown lookups, accept the other job, unpublish" \
        "lookup job with fw-server: lookup waits for the later publish,
 unpublish by another job -> FW_ERR_PERM, publish -> FW_ERR_EXISTS, connect"
    grep -q '^lookup waited' "$R_OUT" &&
        diag "$(grep '^lookup waited' "$R_OUT")"

    # entries of a job go when it ends
    fw_start "publish and leave" -- --server "file:$NSD/ns.uri" -n 1 "$P" \
        ns_job svc-gone
    fw_finish 30
    dpm_run "nsquery after publisher left" 1 20 -- \
        --server "file:$NSD/ns.uri" -n 1 "$P" nsquery svc-x none
    dpm_ok "after both jobs ended, svc-x is not found through fw-server"
    stop_server
    dpm_no_strays
}

# --- the child fwrun started ahead of the next spawn -----------------------------
# (launcher/fwrun_standby.c; dpm debug lines name it)
standby_of_job() {
    pgrep -f -- "fwrun --standby --jobid fw$R_PID\\."
}

# standby_kill LABEL SUBSYS daemon|standby: spawn_pause 1500 2 with the
# debug lines of SUBSYS; before the second spawn, SIGKILL the standby's
# daemon or the standby itself (pkill's status in KILLED)
standby_kill() {
    FW_LOG_LEVEL=debug FW_LOG_SUBSYS=$2 fw_start "$1" -- --oversubscribe \
        -n 1 "$P" spawn_pause 1500 2
    DPM_NRANKS=3
    fw_wait_lines '^pause 1$' 1 20 && wait_for 5 standby_of_job
    if [ "$3" = daemon ]; then
        pkill -KILL -f -- "fwd --id 1 .*--jobid fw$R_PID\\.[0-9a-f]*\\.[0-9]+\$"
    else
        pkill -KILL -f -- "fwrun --standby --jobid fw$R_PID\\."
    fi
    KILLED=$?
    fw_finish 60
}

case_standby() {
    local n

    mkdir -p "$T/wdir2" "$T/wdir3"
    FW_LOG_LEVEL=debug FW_LOG_SUBSYS=dpm dpm_run "standby, 3 directories" \
        4 60 -- --host localhost:2 -n 1 "$P" spawn_cwd "$T/wdir" \
        "$T/wdir2" "$T/wdir2"
    dpm_ok "spawns from $T/wdir, then twice from wdir2: each child starts" \
        "in its parent's directory"
    # (the third spawn gets a standby unless the stopped one had not
    # exited yet when the second spawn's children connected)
    n=$(grep -c 'goes to standby fwrun' "$R_ERR")
    [ "$n" -le 1 ] &&
        [ "$(grep -c 'made for another directory' "$R_ERR")" -eq 1 ]
    dpm_report $? "the child fwrun started ahead in wdir is not used from" \
        "wdir2 (stopped, a fresh one starts); the next one, started in" \
        "wdir2, may be ($n handed over)"
    # the directory replaced under the same name: not the standby's
    FW_LOG_LEVEL=debug FW_LOG_SUBSYS=dpm dpm_run "standby, directory" \
        3 60 -- --host localhost:2 -n 1 "$P" spawn_recreate "$T/wdir3"
    # (fwrun may see the new directory already when it starts the
    # standby: then handing it over is right; the child's cwd is the
    # check)
    dpm_ok "a spawn from a directory removed and made again since the" \
        "previous one: the child starts in the new one"
    # the standby's daemon killed before the spawn: the standby still
    # takes it, and starts a daemon as any child fwrun does
    standby_kill "standby daemon killed" dpm,launch daemon
    n=$KILLED
    dpm_ok "a spawn after the standby's daemon was killed (pkill status" \
        "$n) succeeds"
    [ "$n" -eq 0 ] && grep -q 'goes to standby' "$R_ERR" &&
        grep -q 'the standby daemon does not fit the job .* or is gone' \
            "$R_ERR" && ! grep -q '^fwrun: standby' "$R_ERR"
    dpm_report $? "... through the standby, which started a daemon afresh" \
        "and printed no error"
    # a standby that dies is not used: the next spawn starts afresh
    standby_kill "standby killed" dpm standby
    n=$KILLED
    dpm_ok "a spawn after its standby was killed (pkill status $n) starts" \
        "a child fwrun of its own"
    [ "$n" -eq 0 ] && grep -q 'standby fwrun [0-9]* ended (signal 9)' \
        "$R_ERR" && ! grep -q 'goes to standby' "$R_ERR"
    dpm_report $? "fwrun saw its standby die and did not hand it the spawn"
    # FW_SPAWN_STANDBY=0: none
    FW_SPAWN_STANDBY=0 FW_LOG_LEVEL=debug FW_LOG_SUBSYS=dpm fw_start \
        "no standby" -- --oversubscribe -n 1 "$P" spawn_pause 500 2
    DPM_NRANKS=3
    fw_wait_lines '^pause 1$' 1 20
    ! standby_of_job >/dev/null
    n=$?
    fw_finish 60
    dpm_ok "FW_SPAWN_STANDBY=0: two spawns"
    [ "$n" -eq 0 ] && ! grep -q 'standby' "$R_ERR"
    dpm_report $? "FW_SPAWN_STANDBY=0: no child fwrun started ahead"
}

# --- spawn ------------------------------------------------------------------------
case_spawn() {
    mkdir -p "$T/wdir"
    dpm_run "spawn 3 from 2" 5 60 -- --oversubscribe -n 2 "$P" spawn 3
    dpm_ok "spawn of 3 from 2 parents: errcodes 0, remote_size 3, round" \
        "trip between every parent and child, merges (tie: parents" \
        "first; children low: children first), disconnect"
    # explicit slots here and below: a parent of 1 rank leaves 1 free
    # whatever the core count
    FW_LOG_LEVEL=debug FW_LOG_SUBSYS=dpm dpm_run "spawn 1 from 1" 2 60 -- \
        --host localhost:2 -n 1 "$P" spawn 1
    dpm_ok "spawn of 1 from 1 parent, same checks"
    # who carries the child's messages (FW_DPM_RELAY, dpm/relay.h)
    n=$(grep -c "relayed by the daemon at unix:@fabwire-relay-fw$R_PID\." \
        "$R_ERR")
    case ${FW_DPM_RELAY:-auto} in
    auto) [ "$n" -eq 1 ]
          dpm_report $? "the child is relayed by its parent's daemon ($n)"
          # FW_DPM_RELAY=0 given to the parent's ranks only: the same
          FW_LOG_LEVEL=debug FW_LOG_SUBSYS=dpm dpm_run "spawn, -x relay 0" \
              2 60 -- --host localhost:2 -x FW_DPM_RELAY=0 -n 1 "$P" spawn 1
          dpm_ok "spawn from a rank with FW_DPM_RELAY=0 (fwrun -x)"
          ! grep -q "relayed by the daemon" "$R_ERR"
          dpm_report $? "... its child opens its own endpoint" ;;
    0) [ "$n" -eq 0 ]
       dpm_report $? "FW_DPM_RELAY=0: the child opens its own endpoint" ;;
    esac
    # an MPI library wiring up its children: their fabric addresses
    dpm_run "spawn_addr" 5 60 -- --oversubscribe -n 1 "$P" spawn_addr 4 0
    dpm_ok "fw_comm_peer_addr of 4 spawned children: the parent, each" \
        "child and a sibling see one address, not a relay address (a" \
        "relayed child opens its own endpoint when it asks or is asked);" \
        "the parent's own libfabric endpoint sends to each"
    if [ "${FW_DPM_RELAY:-auto}" != 0 ]; then # relayed children only
        dpm_run "spawn_addr, children away" 3 60 -- --oversubscribe \
            -x FW_DPM_ADDR_MS=300 -n 1 "$P" spawn_addr 2 1500
        dpm_ok "relayed children away from the library for 1.5 s:" \
            "peer_addr is FW_ERR_TIMEOUT after FW_DPM_ADDR_MS=300, then" \
            "the address"
        dpm_run "spawn_addr, child in a fence" 3 60 -- --oversubscribe \
            -n 1 "$P" spawn_addr 2 -1500
        dpm_ok "a relayed child waiting in fw_fence (for a sibling 1.5 s" \
            "late) answers peer_addr at once"
    fi
    dpm_run "spawn_multiple" 5 60 -- --oversubscribe -n 2 "$P" \
        spawn_multiple
    dpm_ok "spawn_multiple: 2 x child + 1 x child2 in one job, ranks in" \
        "order"
    dpm_run "spawn_cwd" 2 60 -- --host localhost:2 -n 1 --wdir "$T/wdir" \
        "$P" spawn_cwd
    dpm_ok "without a wdir key the child starts in the spawning rank's" \
        "directory (not fwrun's)"
    case_standby
    dpm_run "spawn_info" 4 60 -- --oversubscribe -n 2 "$P" spawn_info \
        "$T/wdir" localhost 2
    dpm_ok "spawn info: wdir, env A=1/B=2, map_by slot, npernode 2, host" \
        "localhost reach the children"
    # regression: 2 parents x 10 spawn/disconnect cycles over shm (an
    # any-source fan-in once missed a message there and hung)
    dpm_run "2-parent cycles over shm" 2 60 -- --provider shm \
        --oversubscribe -n 2 "$P" cycles 10
    dpm_ok "2 parents, 10 spawn/disconnect cycles over shm"
    # a parent that ends normally: its child outlives it, fwrun waits
    dpm_run "spawn_linger" 1 60 -- --host localhost:2 -n 1 "$P" \
        spawn_linger 2 0
    [ "$R_RC" -eq 0 ] && grep -q '^child lingered 2 s$' "$R_OUT" &&
        grep -q '^parent done$' "$R_OUT" && [ "$R_MS" -ge 2000 ]
    dpm_report $? "a child outlives its parent that exited normally: fwrun" \
        "waits for it (status 0, the child's output after 2 s)"
    # a parent job that fails takes its children along
    dpm_run "spawn_linger killed" 1 60 -- --host localhost:2 -n 1 "$P" \
        spawn_linger 30 3
    [ "$R_RC" -ne 0 ] && ! grep -q '^child lingered' "$R_OUT" &&
        [ "$R_MS" -lt 15000 ]
    dpm_report $? "a failing parent job (rank exits 3 without finalize)" \
        "takes its lingering child along: fwrun status $R_RC, no child output"
    dpm_no_strays
}

# --- failures -------------------------------------------------------------------------
case_failures() {
    local s

    rm -f "$T/deadport"
    dpm_run "portonly" 1 20 -- -n 1 "$P" portonly "$T/deadport"
    dpm_ok "a job opens a port, writes it and exits"
    FW_DPM_CONNECT_MS=1000 FW_DPM_ACCEPT_MS=500 dpm_run "dead" 2 30 -- \
        -x FW_DPM_CONNECT_MS -x FW_DPM_ACCEPT_MS -n 2 "$P" dead \
        "$T/deadport"
    s=$(sed -n 's/^dead port: //p; s/^closed port: //p' "$R_OUT" |
        tr '\n' ';')
    dpm_ok "connect to the port of an exited job and to a closed port:" \
        "error within FW_DPM_CONNECT_MS=1000 (< 5 s; $s); accept with" \
        "FW_DPM_ACCEPT_MS=500 -> FW_ERR_TIMEOUT"
    # the same over shm, whose 1.17 provider crashed sending to a gone peer
    rm -f "$T/deadport"
    dpm_run "portonly shm" 1 20 -- --provider shm -n 1 "$P" portonly \
        "$T/deadport"
    FW_DPM_CONNECT_MS=1000 dpm_run "dead shm" 2 30 -- -x FW_DPM_CONNECT_MS \
        --provider shm -n 2 "$P" dead "$T/deadport"
    s=$(sed -n 's/^dead port: //p' "$R_OUT" | tr '\n' ';')
    dpm_ok "over shm: connect to the port of an exited job fails, no crash" \
        "($s)"
    # kill -9 of a daemon whose endpoint is an shm region: fwrun removes it
    rm -f "$T/kport"
    fw_start "shm daemon killed" -- --provider shm -n 1 "$P" acceptor \
        "$T/kport" 1
    fwdpid=""
    for _ in $(seq 100); do
        [ -s "$T/kport" ] && fwdpid=$(fw_daemon_pid 1)
        [ -n "$fwdpid" ] && ls /dev/shm/fabwire-"$fwdpid"_* >/dev/null 2>&1 &&
            break
        sleep 0.05
    done
    had=$(ls /dev/shm/fabwire-"$fwdpid"_* 2>/dev/null | wc -l)
    rankpid=$(pgrep -P "$fwdpid" | head -n 1) # the daemon's rank
    [ -n "$fwdpid" ] && kill -KILL "$fwdpid"
    fw_finish 10
    left=$(ls /dev/shm/fabwire-"$fwdpid"_* 2>/dev/null | wc -l)
    # the rank died of PDEATHSIG with its own region, which nobody sweeps
    # once its daemon is gone (a known limit): remove it here
    [ -n "$rankpid" ] && rm -f /dev/shm/fabwire-"$rankpid"_*
    [ "$had" -ge 1 ] && [ "$left" -eq 0 ] && [ "$R_RC" -ne 0 ]
    dpm_report $? "kill -9 of a daemon with an shm endpoint: its region" \
        "goes (had $had, left $left, fwrun exit $R_RC)"
    dpm_run "spawn_fail" 2 60 -- --oversubscribe -n 1 "$P" spawn_fail
    s=$(sed -n 's/^missing program: //p' "$R_OUT")
    grep -q "ended before its ranks connected back" "$R_ERR"
    dpm_report $? "spawn of /bin/true: fwrun says its ranks never connected" \
        "back"
    dpm_ok "failing spawns: missing program -> FW_ERR_SPAWN ($s), every" \
        "errcode set; /bin/true -> FW_ERR_SPAWN at once; spawn_multiple" \
        "with one missing: no child left;" \
        "bad arguments and info keys -> FW_ERR_BAD_PARAM; then a spawn" \
        "works"
    dpm_run "spawn_fail from 2" 3 60 -- --oversubscribe -n 2 "$P" spawn_fail
    dpm_ok "failing spawns from 2 parents"
    # slots: without --oversubscribe the parent's ranks count against them
    dpm_run "spawn_noslot full" 2 60 -- --host localhost:2 -n 2 "$P" \
        spawn_noslot 1
    dpm_ok "a job filling its 2 slots cannot spawn onto them:" \
        "$(sed -n 's/^no slot: //p' "$R_OUT")"
    grep -q 'ranks use every slot' "$R_ERR"
    t_ok $? "fwrun says why (every slot taken; --oversubscribe, host," \
        "add-host)"
    dpm_run "spawn_noslot over" 1 60 -- --host localhost:2 -n 1 "$P" \
        spawn_noslot 2
    dpm_ok "a job of 1 rank on 2 slots cannot spawn 2 children:" \
        "$(sed -n 's/^no slot: //p' "$R_OUT")"
    # running child jobs hold their slots: a child lingering 2 s after
    # its disconnect keeps the only free slot until its job ends
    dpm_run "spawn_held wait" 3 60 -- --host localhost:2 -n 1 "$P" \
        spawn_held 2 wait
    dpm_ok "the next spawn waits for the lingering child's job to end," \
        "then takes its slot: $(sed -n 's/^held: //p' "$R_OUT")"
    FW_SPAWN_WAIT_MS=300 dpm_run "spawn_held fail" 2 60 -- \
        --host localhost:2 -n 1 "$P" spawn_held 3 fail
    dpm_ok "with FW_SPAWN_WAIT_MS=300 it fails instead, before the child" \
        "ends: $(sed -n 's/^held: //p' "$R_OUT")"
    grep -q 'running child jobs use every slot.*hold slots' "$R_ERR"
    t_ok $? "fwrun says the running child jobs hold the slots"
    dpm_run "spawn_held never" 2 60 -- --host localhost:2 -n 1 "$P" \
        spawn_held 4 never
    dpm_ok "3 children that would not fit even after the child job ends" \
        "fail at once: $(sed -n 's/^held: //p' "$R_OUT")"
    grep -q '3 ranks requested but only 1 slot' "$R_ERR"
    t_ok $? "fwrun gives the counts, not the child jobs, as the reason"
    dpm_run "spawn_held cancel" 3 60 -- --host localhost:2 -n 1 "$P" \
        spawn_held 3 cancel
    dpm_ok "a spawn its root gave up on (FW_DPM_SPAWN_MS=500) is not" \
        "started later; the next spawn gets the slot:" \
        "$(sed -n 's/^held: //p' "$R_OUT")"
    ! grep -q 'cannot connect to the parent' "$R_ERR"
    t_ok $? "no child job started for the abandoned request"
    # a rank SIGKILLed with shm regions open, started through a wrapper
    # (its pid is not the one fwd started): fwd still removes them
    fw_start "die under a wrapper" -- --provider shm -n 1 sh -c \
        "\"$P\" die; exit \$?"
    fw_finish 30
    s=$(sed -n 's/^pid //p' "$R_OUT")
    [ "$R_RC" -eq 137 ] && [ -n "$s" ] &&
        ! ls /dev/shm/fabwire-"$s"_* >/dev/null 2>&1
    t_ok $? "a killed rank's shm regions are removed although a wrapper" \
        "started it (rank pid ${s:-?}, fwrun rc $R_RC)"
    # a child job failing after connecting ends the parent job (mpirun
    # does the same), which otherwise waited forever in disconnect
    fw_start "spawn_childfail" -- --oversubscribe -n 1 "$P" spawn_childfail
    fw_finish 30
    [ "$R_RC" -eq 3 ] && [ "$R_MS" -lt 15000 ] &&
        grep -q '^spawned$' "$R_OUT" &&
        grep -q 'spawned job .* failed (exit status 3)' "$R_ERR"
    t_ok $? "a spawned job that fails once connected ends its parent job:" \
        "fwrun rc $R_RC after $R_MS ms"
    dpm_run "closeport" 1 30 -- -n 1 "$P" closeport
    dpm_ok "fw_port_close from another thread ends a pending accept:" \
        "$(sed -n 's/^closed port: //p' "$R_OUT")"
    # a host that cannot be used: the job's launch agent fails (no traffic)
    dpm_run "spawn_badhost" 2 60 -- --launch-agent /bin/false \
        --oversubscribe -n 2 "$P" spawn_badhost 198.18.99.99
    dpm_ok "spawn on a host the agent cannot reach -> FW_ERR_SPAWN:" \
        "$(sed -n 's/^bad host: //p' "$R_OUT")"
    dpm_no_strays
}

# --- cycles ---------------------------------------------------------------------------
case_cycles() {
    dpm_run "cycles $ncycles" 1 $((ncycles + 60)) -- --host localhost:2 \
        -n 1 "$P" cycles "$ncycles"
    dpm_ok "$ncycles spawn/disconnect cycles: $(sed -n 's/^cycles //p' \
        "$R_OUT")"
    dpm_no_strays
}

case $case_ in
world) case_world ;;
connect) case_connect ;;
spawn) case_spawn ;;
failures) case_failures ;;
cycles) case_cycles ;;
*) echo "usage: test_dpm.sh world|connect|spawn|failures|cycles [N]" >&2
   exit 2 ;;
esac
t_done
