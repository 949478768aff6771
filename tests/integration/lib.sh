# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Shared by the launcher's bash tests (source it): TAP output, fwrun jobs
# run in the background with a bounded wait, and the check that after
# each job no rank and no daemon survives, here or on any test host.
#
#   t_ok STATUS DESC...  ok/not ok line (STATUS 0 = pass)
#   t_skip DESC WHY      ok ... # SKIP
#   fw_start LABEL [--in FILE|--pipe FILE] [--out FILE] -- FWRUN-ARGS
#                        start fwrun (stdin from FILE, or from cat FILE |,
#                        or --pipe zero:N: N zero bytes from a pipe);
#                        sets R_PID, R_OUT, R_ERR
#   fw_finish [SECS]     wait (bounded, then SIGKILL), set R_RC, R_MS (run
#                        time) and R_END (t_now_ms when fwrun ended),
#                        and emit one "LABEL: nothing left running" check
#   fw_run ...           fw_start + fw_finish
#   fw_wait_lines PATTERN N [SECS]  wait until R_OUT has N matching lines
#   t_done               the summary line and the exit status
#   fw_lib_budget SECS   SIGTERM the script after SECS (FW_T_BUDGET)
#   fw_lib_cleanup       for the EXIT trap: kill what is left, remove $T
#
# Every rank of every job runs from $T (scripts, and $T/sleep, a link to
# sleep), so that "a process whose command line holds $T" is exactly "a
# rank or something it started"; daemons are found by their job id,
# fw<fwrun pid>.xxxx. Scripts may set FW_T_NETNS to namespace names whose
# every process counts as a leftover, then call fw_netns_watch.
set -u

FW_SRC=${FW_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
FW_BLD=${FW_BUILD_DIR:-$FW_SRC/build}
FWRUN=$FW_BLD/launcher/fwrun
FWD=$FW_BLD/launcher/fwd
# Leftovers have this long to disappear after fwrun has exited.
FW_T_GONE_MS=${FW_T_GONE_MS:-2000}
FW_T_NETNS=()

t_n=0
t_pass=0
t_fail=0
t_skip=0
r_n=0          # jobs started
t_started=()   # every fwrun pid we started, for the exit trap

# Start time of pid $1 (clock ticks since boot), to tell a reused pid.
fw_pid_start() {
    local stat

    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    # shellcheck disable=SC2086 # fields
    set -- $stat
    echo "${20}"
}

# Remove what runs killed outright (SIGKILL, ctest timeout) left: the
# processes of a /tmp/fwt.* directory whose owner is gone, then the
# directory. Ours have an "owner" file with "pid start".
fw_lib_gc() {
    local d owner start pids

    for d in /tmp/fwt.*; do
        [ -f "$d/owner" ] || continue
        read -r owner start <"$d/owner"
        [ "$(fw_pid_start "$owner")" = "$start" ] && continue
        pids=$(pgrep -f -- "$d/")
        # shellcheck disable=SC2086 # one pid per word
        [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
        rm -rf "$d"
    done
}
fw_lib_gc

T=$(mktemp -d /tmp/fwt.XXXXXXXX)
chmod 755 "$T"
echo "$$ $(fw_pid_start $$)" >"$T/owner"
ln -s "$(command -v sleep)" "$T/sleep"

t_ok() {
    local st=$1

    shift
    t_n=$((t_n + 1))
    if [ "$st" -eq 0 ]; then
        t_pass=$((t_pass + 1))
        echo "ok $t_n - $*"
    else
        t_fail=$((t_fail + 1))
        echo "not ok $t_n - $*"
    fi
}

t_skip() {
    t_n=$((t_n + 1))
    t_skip=$((t_skip + 1))
    echo "ok $t_n - $1 # SKIP $2"
}

diag() {
    local line

    while IFS= read -r line; do
        echo "# $line"
    done <<<"$*"
}

# Print the last lines of the job's stderr as diagnostics.
t_diag_job() {
    diag "fwrun rc $R_RC after $R_MS ms; stderr:"
    [ -s "$R_ERR" ] && diag "$(tail -n 8 "$R_ERR")"
}

t_done() {
    echo "1..$t_n"
    if [ "$t_skip" -gt 0 ]; then
        echo "$t_pass passed, $t_fail failed, $t_skip skipped"
    else
        echo "$t_pass passed, $t_fail failed"
    fi
    [ "$t_fail" -eq 0 ]
}

t_now_ms() {
    local t=${EPOCHREALTIME/./}

    echo $((t / 1000))
}

# Write an executable script $T/NAME from stdin.
t_script() {
    cat >"$T/$1"
    chmod 755 "$T/$1"
}

# Network namespace inodes of FW_T_NETNS (call after setting it).
fw_netns_watch() {
    local ns

    FW_T_NETNS_INO=""
    for ns in "${FW_T_NETNS[@]}"; do
        FW_T_NETNS_INO+=" $(stat -L -c %i "/run/netns/$ns" 2>/dev/null)"
    done
}
FW_T_NETNS_INO=""

# Pids of processes in the watched namespaces: one pass over /proc (as
# 'ip netns pids' does, but for all namespaces at once).
fw_netns_pids() {
    [ -z "$FW_T_NETNS_INO" ] && return 0
    # shellcheck disable=SC2012 # ls -l shows the link targets
    ls -l /proc/[0-9]*/ns/net 2>/dev/null |
        awk -v inos="$FW_T_NETNS_INO" '
            BEGIN { n = split(inos, a, " "); for (i = 1; i <= n; i++)
                        want["net:[" a[i] "]"] = 1 }
            $NF in want { split($(NF - 2), p, "/"); print p[3] }'
}

# The processes we count as leftovers, one "pid cmdline" per line.
fw_leftovers() {
    local jobpat=$1 pid

    {
        pgrep -a -f -- "$T/" || true
        [ -n "$jobpat" ] && { pgrep -a -f -- "$jobpat" || true; }
        for pid in $(fw_netns_pids); do
            echo "$pid (in a test host) $(tr '\0' ' ' <"/proc/$pid/cmdline" \
                                          2>/dev/null)"
        done
    } | awk '!seen[$1]++'
}

# Poll until nothing is left (up to $1 ms); the rest goes in R_LEFT.
fw_gone() {
    local ms=$1 jobpat=$2 t0

    t0=$(t_now_ms)
    while :; do
        R_LEFT=$(fw_leftovers "$jobpat")
        [ -z "$R_LEFT" ] && return 0
        [ $(($(t_now_ms) - t0)) -ge "$ms" ] && return 1
        sleep 0.05
    done
}

# SIGKILL what fw_leftovers lists (by pid) and wait for it, so that the
# next case starts clean.
fw_reap_leftovers() {
    local jobpat=$1 pids t0

    t0=$(t_now_ms)
    while :; do
        pids=$(fw_leftovers "$jobpat" | awk '{print $1}')
        [ -z "$pids" ] && return 0
        # shellcheck disable=SC2086 # one pid per word
        kill -KILL $pids 2>/dev/null
        [ $(($(t_now_ms) - t0)) -ge 3000 ] && break
        sleep 0.05
    done
    diag "could not kill: $pids"
}

# 0 once pid $1 (our child) has exited, i.e. is a zombie or gone.
fw_exited() {
    local st

    st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 0
    [ "$st" = Z ] || [ -z "$st" ]
}

fw_start() {
    local label=$1 in=/dev/null pipe="" out="" i

    shift
    while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
        case $1 in
        --in) in=$2; shift 2 ;;
        --pipe) pipe=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "fw_start: bad argument $1" >&2; return 1 ;;
        esac
    done
    shift
    r_n=$((r_n + 1))
    R_LABEL=$label
    R_OUT="$T/out.$r_n"
    R_ERR="$T/err.$r_n"
    [ -n "$out" ] && R_OUT=$out
    R_T0=$(t_now_ms)
    # fwrun runs in a subshell that records its pid and status, so that
    # this shell does not report "Killed" when a case kills it
    (
        if [[ "$pipe" == zero:* ]]; then
            head -c "${pipe#zero:}" /dev/zero |
                "$FWRUN" "$@" >"$R_OUT" 2>"$R_ERR" &
        elif [ -n "$pipe" ]; then
            # a pipe, not the file: $! of a background pipeline is its
            # last command, fwrun
            # shellcheck disable=SC2002
            cat "$pipe" | "$FWRUN" "$@" >"$R_OUT" 2>"$R_ERR" &
        else
            "$FWRUN" "$@" <"$in" >"$R_OUT" 2>"$R_ERR" &
        fi
        echo "$!" >"$T/job.$r_n.tmp"
        mv "$T/job.$r_n.tmp" "$T/job.$r_n.pid"
        wait "$!"
        echo "$?" >"$T/job.$r_n.rc"
    ) 2>/dev/null &
    R_SUB=$!
    R_PID=""
    for ((i = 0; i < 1000; i++)); do
        if [ -e "$T/job.$r_n.pid" ]; then
            R_PID=$(cat "$T/job.$r_n.pid")
            break
        fi
        sleep 0.005
    done
    if [ -z "$R_PID" ]; then
        diag "$label: fwrun did not start"
        R_PID=0
        return 1
    fi
    t_started+=("$R_PID")
}

# fw_finish [SECS]: wait for fwrun, then check that nothing survives.
fw_finish() {
    local secs=${1:-20} t0 hung=0 left=0 i

    t0=$(t_now_ms)
    while [ "$R_PID" -gt 0 ] && ! fw_exited "$R_PID"; do
        if [ $(($(t_now_ms) - t0)) -ge $((secs * 1000)) ]; then
            diag "$R_LABEL: fwrun still running after $secs s; SIGKILL"
            kill -KILL "$R_PID" 2>/dev/null
            hung=1
            break
        fi
        sleep 0.02
    done
    R_END=$(t_now_ms)
    wait "$R_SUB" 2>/dev/null
    R_RC=$(cat "$T/job.$r_n.rc" 2>/dev/null || echo 998)
    for i in "${!t_started[@]}"; do
        [ "${t_started[i]}" = "$R_PID" ] && unset 't_started[i]'
    done
    R_MS=$((R_END - R_T0))
    [ "$hung" -eq 1 ] && R_RC=999
    if ! fw_gone "$FW_T_GONE_MS" "--jobid fw$R_PID\\."; then
        left=1
        diag "$R_LABEL: still running ${FW_T_GONE_MS} ms after fwrun exited:"
        diag "$R_LEFT"
        fw_reap_leftovers "--jobid fw$R_PID\\."
    fi
    t_ok "$left" "$R_LABEL: no rank and no daemon left (job $R_MS ms)"
}

fw_run() {
    local label=$1

    shift
    fw_start "$label" "$@" || return 1
    fw_finish 20
}

# Wait until R_OUT has at least N lines matching PATTERN (bounded).
fw_wait_lines() {
    local pat=$1 n=$2 secs=${3:-10} t0

    t0=$(t_now_ms)
    while [ "$(grep -c -- "$pat" "$R_OUT" 2>/dev/null)" -lt "$n" ]; do
        if fw_exited "$R_PID" ||
            [ $(($(t_now_ms) - t0)) -ge $((secs * 1000)) ]; then
            diag "$R_LABEL: waited for $n lines '$pat', got" \
                "$(grep -c -- "$pat" "$R_OUT" 2>/dev/null)"
            return 1
        fi
        sleep 0.02
    done
}

# The rank identity lines ("id key=value ...", from the ident script
# below) against $1, a file of "rank node lrank lsize app arg" lines, and
# SIZE NNODES USIZE. Prints what differs; status 0 if nothing does.
fw_check_ident() {
    local want=$1 size=$2 nnodes=$3 usize=$4

    awk -v size="$size" -v nnodes="$nnodes" -v usize="$usize" \
        -v jobpre="fw$R_PID." -v wantf="$want" '
    BEGIN {
        while ((getline l < wantf) > 0) {
            split(l, w, " ")
            node[w[1]] = w[2]; lrank[w[1]] = w[3]; lsize[w[1]] = w[4]
            app[w[1]] = w[5]; arg[w[1]] = w[6]
        }
    }
    function bad(msg) { if (nbad++ < 5) print msg; }
    /^id / {
        delete f
        for (i = 2; i <= NF; i++) {
            k = $i; sub(/=.*/, "", k); v = $i; sub(/^[^=]*=/, "", v)
            f[k] = v
        }
        r = f["rank"]; n++
        if (!(r in node)) { bad("unexpected rank " r); next }
        if (r in seen) bad("rank " r " twice")
        seen[r] = 1
        if (jobid == "") jobid = f["jobid"]
        if (f["jobid"] != jobid || index(f["jobid"], jobpre) != 1 ||
            f["jobid"] !~ /^fw[0-9]+\.[0-9a-f]+$/)
            bad("rank " r ": FW_JOBID " f["jobid"] " (fwrun pid prefix " \
                jobpre ", first " jobid ")")
        if (f["size"] != size) bad("rank " r ": FW_SIZE " f["size"])
        if (f["nnodes"] != nnodes) bad("rank " r ": FW_NUM_NODES " f["nnodes"])
        if (f["usize"] != usize)
            bad("rank " r ": FW_UNIVERSE_SIZE " f["usize"] ", want " usize)
        if (f["node"] != node[r] || f["lrank"] != lrank[r] ||
            f["lsize"] != lsize[r] || f["app"] != app[r] ||
            f["arg"] != arg[r])
            bad("rank " r ": node/lrank/lsize/app/arg " f["node"] "/" \
                f["lrank"] "/" f["lsize"] "/" f["app"] "/" f["arg"] \
                ", want " node[r] "/" lrank[r] "/" lsize[r] "/" app[r] \
                "/" arg[r])
    }
    END {
        if (n != size) bad(n " identity lines for " size " ranks")
        exit nbad > 0
    }' "$R_OUT"
}

# Rank script printing its identity on one line (argument 1 as arg=).
t_script ident.sh <<'EOS'
#!/bin/sh
echo "id rank=$FW_RANK size=$FW_SIZE lrank=$FW_LOCAL_RANK" \
    "lsize=$FW_LOCAL_SIZE node=$FW_NODE_ID nnodes=$FW_NUM_NODES" \
    "jobid=$FW_JOBID usize=$FW_UNIVERSE_SIZE app=$FW_APPNUM arg=${1:--}"
EOS

# The pid of daemon ID of the running job (empty if none).
fw_daemon_pid() {
    pgrep -f -- "fwd --id $1 --parent .* --jobid fw$R_PID\\." | head -n 1
}

# Stop the whole script (SIGTERM: its traps clean up) after SECS, so
# that it ends before ctest's TIMEOUT would kill it outright.
fw_lib_budget() {
    local secs=${FW_T_BUDGET:-$1} self=$$

    (
        trap 'exit 0' TERM
        sleep "$secs" &
        wait $!
        # the sleep may die first in the script's own cleanup: not a timeout
        [ "$SECONDS" -ge "$secs" ] || exit 0
        echo "not ok - time budget of $secs s used up; stopping"
        kill -TERM "$self"
    ) &
    FW_T_WATCHDOG=$!
}
FW_T_WATCHDOG=""

# Exit trap: stop what is still running, remove $T. Scripts that create
# more (namespaces) call this from their own trap.
fw_lib_cleanup() {
    local p

    if [ -n "$FW_T_WATCHDOG" ]; then
        p=$(pgrep -P "$FW_T_WATCHDOG")
        # shellcheck disable=SC2086 # one pid per word
        kill $p "$FW_T_WATCHDOG" 2>/dev/null
    fi

    for p in "${t_started[@]}"; do
        kill -KILL "$p" 2>/dev/null
    done
    # daemons of the jobs still running, ranks, anything in a test host
    p=""
    [ "${#t_started[@]}" -gt 0 ] &&
        p=$(printf -- '--jobid fw%s\\.|' "${t_started[@]}")
    fw_reap_leftovers "${p%|}" >/dev/null
    rm -rf "$T"
}

# Both binaries are needed; without them every case would fail alike.
fw_lib_check_build() {
    if [ ! -x "$FWRUN" ] || [ ! -x "$FWD" ]; then
        echo "not ok 1 - fwrun and fwd are built ($FWRUN, $FWD)"
        echo "0 passed, 1 failed"
        exit 1
    fi
}
