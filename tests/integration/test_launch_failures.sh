#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# fwrun on this host when things go wrong: exit statuses (first failure,
# 128+signal), a failed rank ends the job within a second, SIGINT,
# SIGTERM and SIGUSR1 sent to fwrun, --timeout, programs that cannot
# start, bad command lines and host files, daemons that die or never
# report, kill -9 of a rank, of the daemon and of fwrun itself. Each
# case must end with a clear message, the right status, no hang, and
# nothing left running. No root needed.
set -u
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
trap fw_lib_cleanup EXIT
trap 'exit 1' INT TERM HUP
fw_lib_check_build
fw_lib_budget 90

# stderr of the job has every fixed string given
err_has() {
    local s

    for s in "$@"; do
        if ! grep -qF -- "$s" "$R_ERR"; then
            diag "stderr lacks '$s'"
            return 1
        fi
    done
}

# A rank that says it is ready, then sleeps (its pid in $T/pid.RANK).
t_script ready.sh <<EOS
#!/bin/sh
echo \$\$ >"$T/pid.\$FW_RANK"
echo "ready \$FW_RANK"
exec "$T/sleep" 30
EOS

# --- exit statuses ------------------------------------------------------------
t_script exit3.sh <<EOS
#!/bin/sh
[ "\$FW_RANK" = 1 ] && exit 3
exec "$T/sleep" 30
EOS
fw_run "rank 1 exits 3" -- -n 4 --oversubscribe "$T/exit3.sh"
[ "$R_RC" -eq 3 ] && err_has "rank 1 on host" "exited with status 3"
t_ok $? "rank 1 exits 3: fwrun exits 3 and says which rank"
[ "$R_MS" -lt 1500 ]
t_ok $? "rank 1 exits 3 while 3 ranks sleep 30: job over in $R_MS ms" \
    "(< 1500)"

t_script first.sh <<EOS
#!/bin/sh
case \$FW_RANK in
1) exit 5 ;;
0) "$T/sleep" 0.4; exit 7 ;;
esac
exec "$T/sleep" 30
EOS
fw_run "first failure" -- -n 3 --oversubscribe "$T/first.sh"
[ "$R_RC" -eq 5 ]
t_ok $? "the first non-zero status wins (5, not 7 or 143): got $R_RC"

t_script killself.sh <<EOS
#!/bin/sh
[ "\$FW_RANK" = 1 ] && kill -USR2 \$\$
exec "$T/sleep" 30
EOS
fw_run "rank killed by a signal" -- -n 2 "$T/killself.sh"
[ "$R_RC" -eq 140 ] && err_has "rank 1 on host" "killed by signal 12"
t_ok $? "a rank killed by SIGUSR2: fwrun exits 128+12 = 140 (got $R_RC)"

t_script noterm.sh <<EOS
#!/bin/sh
trap '' TERM
[ "\$FW_RANK" = 1 ] && exit 4
"$T/sleep" 30
EOS
fw_run "ranks ignore SIGTERM" -- -n 3 --oversubscribe "$T/noterm.sh"
[ "$R_RC" -eq 4 ] && [ "$R_MS" -lt 2500 ]
t_ok $? "ranks that ignore SIGTERM are killed after the grace time" \
    "(rc $R_RC, $R_MS ms)"

fw_start "kill -9 of a rank" -- -n 2 "$T/ready.sh"
fw_wait_lines '^ready' 2 && kill -KILL "$(cat "$T/pid.1")"
fw_finish
[ "$R_RC" -eq 137 ] && err_has "rank 1 on host" "killed by signal 9"
t_ok $? "kill -9 of a rank: fwrun exits 137 (got $R_RC)"

# --- signals to fwrun -----------------------------------------------------------
for sig in INT TERM; do
    want=$((128 + $(kill -l "$sig")))
    fw_start "SIG$sig to fwrun" -- -n 2 "$T/ready.sh"
    t0=$(t_now_ms)
    if fw_wait_lines '^ready' 2; then
        t0=$(t_now_ms)
        kill "-$sig" "$R_PID"
    fi
    fw_finish
    [ "$R_RC" -eq "$want" ] && err_has "terminating the job" &&
        [ $((R_END - t0)) -lt 1500 ]
    t_ok $? "SIG$sig to fwrun: job torn down, exit $want (got $R_RC)"
done

# SIGINT twice: the second one kills without waiting out the grace time
t_script stubborn.sh <<EOS
#!/bin/sh
trap '' TERM INT
echo "ready \$FW_RANK"
"$T/sleep" 30
EOS
FW_KILL_GRACE_MS=20000 fw_start "SIGINT twice" -- -n 2 "$T/stubborn.sh"
alive=1
t0=$(t_now_ms)
if fw_wait_lines '^ready' 2; then
    kill -INT "$R_PID"
    sleep 0.3
    fw_exited "$R_PID" && alive=0
    t0=$(t_now_ms)
    kill -INT "$R_PID"
fi
fw_finish
[ "$alive" -eq 1 ] && [ "$R_RC" -eq 130 ] && [ $((R_END - t0)) -lt 1500 ]
t_ok $? "SIGINT: ranks that ignore SIGTERM get the grace time; a second" \
    "SIGINT kills them at once (exit $R_RC)"

t_script usr1.sh <<EOS
#!/bin/sh
trap 'echo "usr1 \$FW_RANK"; exit 0' USR1
echo "ready \$FW_RANK"
"$T/sleep" 30 &
wait \$!
echo "no USR1 \$FW_RANK"
EOS
fw_start "SIGUSR1 to fwrun" -- -n 2 "$T/usr1.sh"
fw_wait_lines '^ready' 2 && kill -USR1 "$R_PID"
fw_finish 10
[ "$R_RC" -eq 0 ] && grep -qx 'usr1 0' "$R_OUT" && grep -qx 'usr1 1' "$R_OUT"
t_ok $? "SIGUSR1 to fwrun reaches every rank (rc $R_RC)"

fw_run "--timeout" -- --timeout 1 -n 2 "$T/ready.sh"
[ "$R_RC" -eq 124 ] && err_has "timed out after 1 s" &&
    [ "$R_MS" -ge 1000 ] && [ "$R_MS" -lt 2500 ]
t_ok $? "--timeout 1: message and exit 124 after $R_MS ms (got $R_RC)"

# --- a fence the job can never complete -----------------------------------------
# An MPMD app that exits 0 without fw_init: the other ranks' fence fails at
# once (FW_ERR_UNREACHABLE) instead of waiting FW_MODEX_TIMEOUT_MS for it.
FW_MODEX_TIMEOUT_MS=20000 fw_run "fence with a rank gone" -- --oversubscribe \
    -n 1 /bin/true : -n 2 "$FW_BUILD_DIR/tests/progs/modex_check" 1
[ "$R_RC" -eq 1 ] && err_has "exited with status 1"
t_ok $? "MPMD with an app that never fences: the fence fails, exit 1" \
    "(got $R_RC)"
[ "$R_MS" -lt 15000 ]
t_ok $? "... at once, not after FW_MODEX_TIMEOUT_MS=20000 ($R_MS ms)"

# --- programs that cannot start ---------------------------------------------------
fw_run "missing program" -- -n 2 fw-no-such-program
[ "$R_RC" -eq 127 ] && err_has "'fw-no-such-program'" "command not found"
t_ok $? "a missing program: exit 127, the message names it (got $R_RC)"
[ "$R_MS" -lt 5000 ]
t_ok $? "a missing program: no hang ($R_MS ms)"

echo "echo never" >"$T/noexec"
chmod 644 "$T/noexec"
fw_run "not executable" -- -n 1 "$T/noexec"
[ "$R_RC" -eq 127 ] && err_has "$T/noexec" "not an executable file"
t_ok $? "a file without x permission: exit 127 and says so (got $R_RC)"

fw_run "a directory" -- -n 1 "$T"
[ "$R_RC" -eq 127 ] && err_has "not an executable file"
t_ok $? "a directory as program: exit 127 (got $R_RC)"

fw_run "MPMD, second program missing" -- --oversubscribe \
    -n 2 "$T/ready.sh" : -n 1 fw-no-such-program
[ "$R_RC" -eq 127 ] && err_has "fw-no-such-program"
t_ok $? "MPMD with the second program missing: exit 127, the first" \
    "program's ranks are stopped (got $R_RC)"

fw_run "bad --wdir" -- -n 1 --wdir "$T/no-such-dir" pwd
[ "$R_RC" -eq 127 ] && err_has "cannot start rank 0"
t_ok $? "--wdir to a missing directory: exit 127 (got $R_RC)"
touch "$T/a-file"
fw_run "--wdir a file" -- -n 1 --wdir "$T/a-file" pwd
[ "$R_RC" -eq 127 ] && err_has "Not a directory"
t_ok $? "--wdir to a file: exit 127, 'Not a directory' (got $R_RC)"

# --- bad command lines and host files ----------------------------------------------
printf '%s\n' "# hosts" "localhost slots=2" "localhost slotz=2" >"$T/hf.bad"
fw_run "bad hostfile line" -- --hostfile "$T/hf.bad" -n 1 true
[ "$R_RC" -eq 2 ] && err_has "$T/hf.bad:3:" "slotz=2"
t_ok $? "a bad hostfile line: exit 2, message has file:line (got $R_RC)"

fw_run "missing hostfile" -- --hostfile "$T/hf.none" -n 1 true
[ "$R_RC" -eq 2 ] && err_has "$T/hf.none"
t_ok $? "a missing hostfile: exit 2, message names it (got $R_RC)"

fw_run "more ranks than slots" -- --host localhost:2 -n 3 "$T/ready.sh"
[ "$R_RC" -eq 2 ] && err_has "3 ranks" "2 slots" "--oversubscribe"
t_ok $? "3 ranks on 2 slots without --oversubscribe: exit 2 and how to" \
    "fix it (got $R_RC)"

bad=0
while IFS='|' read -r why want args; do
    read -r -a argv <<<"$args"
    timeout 10 "$FWRUN" "${argv[@]}" </dev/null >"$T/cli.out" 2>"$T/cli.err"
    rc=$?
    if [ "$rc" -ne 2 ] || ! grep -qF -- "$want" "$T/cli.err"; then
        diag "$why: fwrun $args: rc $rc, stderr: $(cat "$T/cli.err")"
        bad=1
    fi
done <<'EOF'
unknown option|unknown option '--bogus'|--bogus -n 1 true
unknown option in an app|unknown option '--bogus'|-n 1 true : --bogus -n 1 true
no program|no program given|-n 2
nothing at all|no program given|
program missing after :|no program after ':'|-n 1 true :
count 0|invalid count '0'|-n 0 true
count not a number|invalid count 'x'|-n x true
--timeout 0|invalid value '0'|--timeout 0 -n 1 true
bad --map-by|invalid value 'diagonal'|--map-by diagonal -n 1 true
bad --bind-to|invalid value 'socket2'|--bind-to socket2 -n 1 true
bad --stdin|invalid value 'all'|--stdin all -n 1 true
bad --fanout|invalid value '0'|--fanout 0 -n 1 true
--map-by last, no value|'--map-by' needs a value|--map-by
--timeout last, no value|'--timeout' needs a value|-n 1 --timeout
--fanout last, no value|'--fanout' needs a value|--fanout
-x unset|-x FW_T_NOT_SET: not set|-x FW_T_NOT_SET -n 1 true
bad host name|bad host name 'a!b'|--host a!b -n 1 true
bad slot count|bad slot count '0'|--host localhost:0 -n 1 true
MPMD without -n|-n is required|true : true
unknown provider|provider 'bogus' is unknown to fabwire|--provider bogus -n 1 true
empty host item|empty host name in 'localhost,,x'|--host localhost,,x -n 1 true
only a comma|empty host name in ','|--host , -n 1 true
bad --server|not a contact string|--server garbage -n 1 true
missing --server file|/nonexistent/ns: No such file or directory|--server file:/nonexistent/ns -n 1 true
job-wide option, 2 values|'--map-by' given twice with different values ('node', 'slot')|--map-by node -n 1 true : --map-by slot -n 1 true
job-wide option, 2 values, 1 app|'--bind-to' given twice with different values|--bind-to core --bind-to none -n 1 true
app option twice in a context|'--host' given twice in one application context|--host localhost --host 127.0.0.2 -n 1 true
-n twice in a context|'-n' given twice in one application context|-n 1 -n 2 true
app short of its hosts' slots|application 2 (true): 2 ranks requested but only 1 slot left on its 2 hosts|-n 1 --host localhost:1 true : -n 2 --host localhost:1,127.0.0.2:1 true : -n 1 --host 127.0.0.3:4 true
bad host list of app 2|application 2: host 'b': bad slot count '0'|-n 1 true : -n 1 --host b:0 true
EOF
t_ok "$bad" "bad command lines: exit 2 with a message naming the problem," \
    "never a crash"
fw_gone "$FW_T_GONE_MS" ""
t_ok $? "bad command lines: nothing started"

# --- daemons that fail ---------------------------------------------------------------
t_script fwd-exit1.sh <<EOS
#!/bin/sh
"$T/sleep" 0.2
exit 1
EOS
FW_FWD_PATH=$T/fwd-exit1.sh fw_run "daemon exits 1 at start" -- \
    -n 2 "$T/ready.sh"
[ "$R_RC" -eq 1 ] && err_has "cannot start the daemon on host" \
    "exited with status 1"
t_ok $? "the daemon exits 1 before it reports: exit 1 and says so (got" \
    "$R_RC)"

t_script fwd-kill.sh <<EOS
#!/bin/sh
"$T/sleep" 0.2
kill -KILL \$\$
EOS
FW_FWD_PATH=$T/fwd-kill.sh fw_run "daemon killed at start" -- \
    -n 2 "$T/ready.sh"
[ "$R_RC" -eq 1 ] && err_has "cannot start the daemon on host" "signal 9"
t_ok $? "the daemon is killed before it reports: exit 1 (got $R_RC)"

t_script fwd-hang.sh <<EOS
#!/bin/sh
exec "$T/sleep" 30
EOS
FW_LAUNCH_TIMEOUT_MS=500 FW_FWD_PATH=$T/fwd-hang.sh fw_run \
    "daemon never reports" -- -n 1 "$T/ready.sh"
[ "$R_RC" -eq 1 ] && err_has "did not report within 500 ms" &&
    [ "$R_MS" -lt 2500 ]
t_ok $? "a daemon that never reports: exit 1 after FW_LAUNCH_TIMEOUT_MS" \
    "($R_MS ms, rc $R_RC)"

# fwd started, then killed while its ranks run (as a crash would)
t_script fwd-crash.sh <<EOS
#!/bin/sh
"$FWD" "\$@" &
fwd=\$!
while [ ! -e "$T/pid.1" ]; do "$T/sleep" 0.02; done
kill -KILL \$fwd
wait \$fwd
EOS
rm -f "$T/pid.1"
FW_FWD_PATH=$T/fwd-crash.sh fw_start "daemon killed during the job" -- \
    -n 2 "$T/ready.sh"
fw_finish 10
[ "$R_RC" -ne 0 ] && [ "$R_MS" -lt 3000 ] && err_has "daemon on host"
t_ok $? "the daemon dies while ranks run: fwrun says so, exits non-zero" \
    "(rc $R_RC, $R_MS ms)"

fw_start "kill -9 of the daemon" -- -n 2 "$T/ready.sh"
if fw_wait_lines '^ready' 2; then
    d=$(fw_daemon_pid 1)
    [ -n "$d" ] && kill -KILL "$d"
fi
fw_finish
[ "$R_RC" -eq 1 ] && err_has "daemon on host"
t_ok $? "kill -9 of fwd: fwrun reports it and exits 1 (got $R_RC)"

# what processes killed outright left in /dev/shm (shm provider regions,
# fabwire-<pid>_<random>) goes when a daemon ends: a dead pid's region
# only, not a live process's, nor a name that is not ours
sh -c ':' &
dead=$!
wait "$dead"
shm_dead=/dev/shm/fabwire-${dead}_0000beef
shm_live=/dev/shm/fabwire-$$_0000cafe
shm_other=/dev/shm/fabwire-x_0000f00d
if kill -0 "$dead" 2>/dev/null; then
    t_ok 0 "shm leftovers: pid $dead came back at once, nothing to check"
else
    : >"$shm_dead" && : >"$shm_live" && : >"$shm_other"
    fw_run "a job after leftovers" -- -n 1 /bin/true
    [ "$R_RC" -eq 0 ] && [ ! -e "$shm_dead" ] && [ -e "$shm_live" ] &&
        [ -e "$shm_other" ]
    t_ok $? "a daemon's end removes the shm region of a gone pid, keeps a" \
        "live process's and a name that is not fabwire-<pid>_*"
fi
rm -f "$shm_dead" "$shm_live" "$shm_other"

for sig in TERM HUP; do
    fw_start "kill -$sig of the daemon" -- -n 2 "$T/ready.sh"
    if fw_wait_lines '^ready' 2; then
        d=$(fw_daemon_pid 1)
        [ -n "$d" ] && kill -"$sig" "$d"
    fi
    fw_finish
    [ "$R_RC" -eq 1 ] && err_has "the daemon on host" " got " &&
        ! err_has "was killed by signal"
    t_ok $? "kill -$sig of fwd: fwrun names the daemon's signal, not its" \
        "ranks' end, and exits 1 (got $R_RC)"
done

# SIGTERM before CONFIG: the daemon does not know the job's name for its
# host yet, and must not use gethostname() (namespace hosts and
# containers share one): it names itself by id and job. Its parent here
# is a listener that accepts and says nothing.
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
s.settimeout(15)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
time.sleep(15)
' >"$T/silent.port" &
silent=$!
i=0
while [ ! -s "$T/silent.port" ] && [ "$i" -lt 250 ]; do
    sleep 0.02
    i=$((i + 1))
done
FW_JOB_SECRET=$(printf '%064d' 7) timeout -s KILL 10 "$FWD" --id 2 \
    --parent "tcp://127.0.0.1:$(cat "$T/silent.port")" --jobid "fw$$.wo" \
    2>"$T/preconf.err" &
fwd=$!
sleep 0.5
kill -TERM "$fwd"
wait "$fwd"
rc=$?
kill "$silent" 2>/dev/null
wait "$silent" 2>/dev/null
grep -qF "daemon 2 of job fw$$.wo got Terminated before its configuration" \
    "$T/preconf.err" && ! grep -qF "on host $(uname -n)" "$T/preconf.err"
st=$?
t_ok "$st" "SIGTERM to fwd before its CONFIG: named by id and job, not by" \
    "'$(uname -n)' (rc $rc)"
[ "$st" -ne 0 ] && diag "$(cat "$T/preconf.err")"

# --- kill -9 of fwrun -------------------------------------------------------------------
fw_start "kill -9 of fwrun" -- -n 4 --oversubscribe "$T/ready.sh"
fw_wait_lines '^ready' 4 && kill -KILL "$R_PID"
fw_finish
[ "$R_RC" -eq 137 ]
t_ok $? "kill -9 of fwrun: daemon and ranks follow it (checked above)"

# --- output that nobody reads --------------------------------------------------------
t_script yes.sh <<EOS
#!/bin/sh
exec yes "$T"
EOS
mkfifo "$T/head.fifo"
head -n 1 <"$T/head.fifo" >"$T/head.out" &
head_pid=$!
fw_start "stdout closed" --out "$T/head.fifo" -- -n 1 "$T/yes.sh"
fw_finish 10
wait "$head_pid"
[ "$R_RC" -eq 141 ] && [ "$R_MS" -lt 3000 ]
t_ok $? "fwrun ... | head -1: the job ends as a pipeline would, 141 (got" \
    "$R_RC after $R_MS ms)"

# --- stdin that rank 0 does not read ------------------------------------------------------
# 256 MB offered on stdin to a rank that sleeps: fwrun and fwd must not
# buffer it all (flow control), 64 MB each is plenty.
t_script nosip.sh <<EOS
#!/bin/sh
echo "ready \$FW_RANK"
exec "$T/sleep" 2
EOS
fw_start "stdin not read" --pipe zero:268435456 -- -n 1 "$T/nosip.sh"
rss_run=0
rss_fwd=0
if fw_wait_lines '^ready' 1; then
    sleep 1
    d=$(fw_daemon_pid 1)
    rss_run=$(awk '/^VmRSS/ {print $2}' "/proc/$R_PID/status" 2>/dev/null)
    [ -n "$d" ] && rss_fwd=$(awk '/^VmRSS/ {print $2}' "/proc/$d/status")
fi
fw_finish 20
[ "${rss_run:-0}" -lt 65536 ] && [ "${rss_fwd:-0}" -lt 65536 ]
t_ok $? "stdin not read by rank 0: fwrun and fwd stay under 64 MB" \
    "(fwrun ${rss_run:-?} kB, fwd ${rss_fwd:-?} kB)"

t_done
