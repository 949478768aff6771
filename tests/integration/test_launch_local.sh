#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# fwrun on this host: rank identity (1 to 64 ranks, MPMD with per-app
# hosts, several local daemons as "hosts" mapped by slot and by node),
# -x (per app), --wdir, binding,
# this host under several names as one node, stdout/stderr forwarding
# line by line and --tag-output, and stdin to rank 0 (pipe, regular
# file, /dev/null, --stdin none). After every job,
# no rank and no daemon may be left. No root needed.
set -u
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
trap fw_lib_cleanup EXIT
trap 'exit 1' INT TERM HUP
fw_lib_check_build
fw_lib_budget 90

# want file: ranks FIRST..LAST-1 on node 0 of a single host of N ranks
want_local() {
    local n=$1 app=${2:-0} arg=${3:--} r

    for ((r = 0; r < n; r++)); do
        echo "$r 0 $r $n $app $arg"
    done >"$T/want"
}

# --- identity ---------------------------------------------------------------
fw_run "default -n" -- "$T/ident.sh"
slots=$(grep -c '^id ' "$R_OUT")
[ "$R_RC" -eq 0 ] && [ "$slots" -ge 1 ]
t_ok $? "no -n: one rank per slot of this host ($slots)"
[ "$slots" -ge 1 ] || slots=1

for n in 1 2 16 64; do
    over=()
    [ "$n" -gt "$slots" ] && over=(--oversubscribe)
    fw_run "$n ranks" -- "${over[@]}" -n "$n" "$T/ident.sh"
    want_local "$n"
    errs=$(fw_check_ident "$T/want" "$n" 1 "$slots")
    [ "$R_RC" -eq 0 ] && [ -z "$errs" ]
    t_ok $? "$n ranks: FW_RANK, FW_SIZE, FW_LOCAL_*, FW_NODE_ID," \
        "FW_NUM_NODES, FW_JOBID, FW_UNIVERSE_SIZE, FW_APPNUM"
    [ -n "$errs" ] && diag "$errs"
    [ "$R_RC" -ne 0 ] && t_diag_job
done

# MPMD: -n 2 A : -n 3 B
fw_run "mpmd" -- --oversubscribe -n 2 "$T/ident.sh" A : -n 3 "$T/ident.sh" B
for r in 0 1 2 3 4; do
    if [ "$r" -lt 2 ]; then
        echo "$r 0 $r 5 0 A"
    else
        echo "$r 0 $r 5 1 B"
    fi
done >"$T/want"
errs=$(fw_check_ident "$T/want" 5 1 "$slots")
[ "$R_RC" -eq 0 ] && [ -z "$errs" ]
t_ok $? "MPMD -n 2 A : -n 3 B: ranks 0-1 run A (app 0), 2-4 run B (app 1)"
[ -n "$errs" ] && diag "$errs"

# issue: the last --host was the job's for every app. Each app's ranks
# go on its own hosts (here two daemons of this host), the same --map-by
# in both contexts is fine
fw_run "mpmd --host per app" -- -n 2 --host localhost:2 "$T/ident.sh" A : \
    --map-by slot -n 1 --host 127.0.0.2:2 "$T/ident.sh" B
printf '%s\n' "0 0 0 2 0 A" "1 0 1 2 0 A" "2 1 0 1 1 B" >"$T/want"
errs=$(fw_check_ident "$T/want" 3 2 4)
[ "$R_RC" -eq 0 ] && [ -z "$errs" ]
t_ok $? "MPMD -n 2 --host localhost:2 A : -n 1 --host 127.0.0.2:2 B: A on" \
    "node 0, B on node 1"
[ -n "$errs" ] && diag "$errs"

# a host in both apps is one host: its 2 slots shared, the third app
# (no --host) on the union
fw_run "mpmd shared host" -- -n 1 --host localhost:2 "$T/ident.sh" A : \
    -n 1 --host 127.0.0.1:2,127.0.0.2:1 "$T/ident.sh" B : -n 1 "$T/ident.sh" C
printf '%s\n' "0 0 0 2 0 A" "1 0 1 2 1 B" "2 1 0 1 2 C" >"$T/want"
errs=$(fw_check_ident "$T/want" 3 2 3)
[ "$R_RC" -eq 0 ] && [ -z "$errs" ]
t_ok $? "MPMD: a host named by two apps shares its slots; an app without" \
    "--host goes where slots are left"
[ -n "$errs" ] && diag "$errs"

# several daemons on this host stand for hosts: localhost:2,127.0.0.2:2
fw_run "map-by slot" -- --host localhost:2,127.0.0.2:2 --map-by slot \
    -n 4 "$T/ident.sh"
printf '%s\n' "0 0 0 2 0 -" "1 0 1 2 0 -" "2 1 0 2 0 -" "3 1 1 2 0 -" \
    >"$T/want"
errs=$(fw_check_ident "$T/want" 4 2 4)
[ "$R_RC" -eq 0 ] && [ -z "$errs" ]
t_ok $? "--map-by slot over 2 hosts with 2 slots: ranks 0,1 | 2,3"
[ -n "$errs" ] && diag "$errs"

fw_run "map-by node" -- --host localhost:2,127.0.0.2:2 --map-by node \
    -n 3 "$T/ident.sh"
printf '%s\n' "0 0 0 2 0 -" "1 1 0 1 0 -" "2 0 1 2 0 -" >"$T/want"
errs=$(fw_check_ident "$T/want" 3 2 4)
[ "$R_RC" -eq 0 ] && [ -z "$errs" ]
t_ok $? "--map-by node over 2 hosts with 2 slots: ranks 0,2 | 1"
[ -n "$errs" ] && diag "$errs"

printf '%s\n' "# two local hosts" "localhost slots=1" "" \
    "127.0.0.3 slots=2 # second" >"$T/hostfile"
fw_run "hostfile" -- --hostfile "$T/hostfile" "$T/ident.sh"
printf '%s\n' "0 0 0 1 0 -" "1 1 0 2 0 -" "2 1 1 2 0 -" >"$T/want"
errs=$(fw_check_ident "$T/want" 3 2 3)
[ "$R_RC" -eq 0 ] && [ -z "$errs" ]
t_ok $? "--hostfile with comments and slots=: all 3 slots used, by slot"
[ -n "$errs" ] && diag "$errs"

# --- environment and working directory --------------------------------------
t_script env.sh <<'EOS'
#!/bin/sh
echo "rank=$FW_RANK a=${FW_T_A-unset} b=${FW_T_B-unset} c=${FW_T_C-unset}"
EOS
FW_T_B="from env" fw_run "-x" -- -n 2 \
    -x FW_T_A=1 -x FW_T_B -x "FW_T_C=x=y z" "$T/env.sh"
want="a=1 b=from env c=x=y z"
[ "$R_RC" -eq 0 ] && [ "$(grep -c "$want" "$R_OUT")" -eq 2 ]
t_ok $? "-x VAR=val and -x VAR reach every rank (values with = and spaces)"
[ "$R_RC" -ne 0 ] && t_diag_job

# -x wins over what fwrun inherited, and a job's own variables (a rank
# that runs fwrun itself) do not reach the inner job: each name once in
# a rank's environment (the rank is cat, not a shell, which would dedup)
FW_T_A=outer FW_RANK=99 FW_PARENT_PORT=bogus FW_RELAY_URI=tcp://127.0.0.1:1 \
    FW_RELAY_SECRET=00 fw_run "-x over inherited" -- -n 2 -x FW_T_A=first \
    -x FW_T_A=inner cat /proc/self/environ
envs=$(tr '\0' '\n' <"$R_OUT" |
    grep -E '^(FW_T_A|FW_RANK|FW_PARENT_PORT|FW_RELAY_URI|FW_RELAY_SECRET)=' |
    sort | tr '\n' ' ')
[ "$R_RC" -eq 0 ] &&
    [ "$envs" = "FW_RANK=0 FW_RANK=1 FW_T_A=inner FW_T_A=inner " ]
t_ok $? "-x FW_T_A=first -x FW_T_A=inner over an inherited FW_T_A=outer:" \
    "the last -x, once; an inherited FW_RANK=99, FW_PARENT_PORT and" \
    "FW_RELAY_* (a spawned rank running fwrun) do not reach the ranks" \
    "($envs)"
fw_run "-x FW_RANK" -- -n 1 -x FW_RANK=5 /bin/true
[ "$R_RC" -eq 2 ] &&
    grep -q -- '-x FW_RANK: set by fwrun for each rank' "$R_ERR"
t_ok $? "-x FW_RANK=5: refused, exit 2, the variable named"

# issue: every app got every -x. -x belongs to its app context
fw_run "-x per app" -- --oversubscribe -n 1 -x FW_T_A=a0 "$T/env.sh" : \
    -n 2 -x FW_T_B=b1 -x FW_T_C=c1 "$T/env.sh"
[ "$R_RC" -eq 0 ] && grep -qx "rank=0 a=a0 b=unset c=unset" "$R_OUT" &&
    grep -qx "rank=1 a=unset b=b1 c=c1" "$R_OUT" &&
    grep -qx "rank=2 a=unset b=b1 c=c1" "$R_OUT"
t_ok $? "MPMD -x A : -x B -x C: rank 0 gets A only, ranks 1-2 B and C only"
[ "$R_RC" -ne 0 ] && t_diag_job
[ "$R_RC" -eq 0 ] || diag "$(cat "$R_OUT")"

mkdir -p "$T/wd/sub"
t_script wd/sub/where.sh <<'EOS'
#!/bin/sh
echo "pwd=$(pwd)"
EOS
fw_run "--wdir" -- -n 2 --wdir "$T/wd/sub" "$T/wd/sub/where.sh"
[ "$R_RC" -eq 0 ] && [ "$(grep -cx "pwd=$T/wd/sub" "$R_OUT")" -eq 2 ]
t_ok $? "--wdir: every rank starts in the directory"

fw_run "--wdir relative program" -- -n 1 --wdir "$T/wd" ./sub/where.sh
[ "$R_RC" -eq 0 ] && grep -qx "pwd=$T/wd" "$R_OUT"
t_ok $? "--wdir: a relative program path is found from the directory"
[ "$R_RC" -ne 0 ] && t_diag_job

# a relative --wdir is fwrun's (as with mpirun), and the relative program
# is found inside it once, not inside wd/wd
mkdir -p "$T/wd/wd/sub"
printf '#!/bin/sh\necho wrong\n' >"$T/wd/wd/sub/where.sh"
chmod 755 "$T/wd/wd/sub/where.sh"
pushd "$T" >/dev/null || exit 1
fw_run "relative --wdir and program" -- -n 1 --wdir wd ./sub/where.sh
popd >/dev/null || exit 1
[ "$R_RC" -eq 0 ] && grep -qx "pwd=$T/wd" "$R_OUT" && ! grep -q wrong "$R_OUT"
t_ok $? "--wdir relative to fwrun's directory, program relative to it" \
    "(got $R_RC)"
[ "$R_RC" -ne 0 ] && t_diag_job

# --- binding ----------------------------------------------------------------
t_script cpus.sh <<'EOS'
#!/bin/sh
echo "cpus $FW_RANK $(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status)"
EOS
fw_run "--bind-to core" -- --host localhost:2 --bind-to core \
    --report-bindings -n 2 "$T/cpus.sh"
bad=0
for r in 0 1; do
    rep=$(sed -n "s/^\[[^]]*:$r\] rank $r bound to core [0-9]*: cpus //p" \
        "$R_ERR")
    got=$(awk -v r="$r" '$1 == "cpus" && $2 == r {print $3}' "$R_OUT")
    if [ -z "$rep" ] || [ "$rep" != "$got" ]; then
        diag "rank $r: reported '$rep', allowed '$got'"
        bad=1
    fi
done
ncores=$(awk '/^core id/ {print $4}' /proc/cpuinfo | sort -u | wc -l)
if [ "$bad" -eq 0 ] && [ "$ncores" -ge 2 ] &&
    [ "$(awk '$1 == "cpus" {print $3}' "$R_OUT" | sort -u | wc -l)" -ne 2 ]; then
    diag "two ranks on $ncores cores share their cpus"
    bad=1
fi
[ "$R_RC" -eq 0 ] && [ "$bad" -eq 0 ]
t_ok $? "--bind-to core --report-bindings: each rank runs on the reported cpus"

# issue: this host under several names (localhost, 127.0.0.1, its host
# name) was one node per name: a daemon each, every rank local rank 0 and
# all bound to core 0. They are one node, whose slots add up.
me=$(hostname)
fw_run "one host, three names" -- --host "localhost:1,127.0.0.1:1,$me:1" \
    -n 3 "$T/ident.sh"
want_local 3
errs=$(fw_check_ident "$T/want" 3 1 3)
[ "$R_RC" -eq 0 ] && [ -z "$errs" ]
t_ok $? "--host localhost:1,127.0.0.1:1,$me:1: one node of 3 slots," \
    "local ranks 0-2"
[ -n "$errs" ] && diag "$errs"

fw_run "aliases, --bind-to core" -- --host localhost:1,127.0.0.1:1 \
    --bind-to core -n 2 "$T/cpus.sh"
ncpu=$(awk '$1 == "cpus" {print $3}' "$R_OUT" | sort -u | wc -l)
[ "$R_RC" -eq 0 ] && [ "$(grep -c '^cpus ' "$R_OUT")" -eq 2 ] &&
    { [ "$ncores" -lt 2 ] || [ "$ncpu" -eq 2 ]; }
t_ok $? "--host localhost:1,127.0.0.1:1 --bind-to core: the 2 ranks get" \
    "different cores ($ncpu distinct cpu sets)"
[ "$R_RC" -ne 0 ] && t_diag_job

# --- output -----------------------------------------------------------------
t_script io.sh <<'EOS'
#!/bin/sh
echo "out $FW_RANK"
echo "err $FW_RANK" >&2
EOS
fw_run "stdout/stderr" -- -n 3 --oversubscribe "$T/io.sh"
[ "$R_RC" -eq 0 ] && [ "$(grep -c '^out [0-2]$' "$R_OUT")" -eq 3 ] &&
    [ "$(wc -l <"$R_OUT")" -eq 3 ] &&
    [ "$(grep -c '^err [0-2]$' "$R_ERR")" -eq 3 ] &&
    [ "$(wc -l <"$R_ERR")" -eq 3 ]
t_ok $? "stdout goes to stdout and stderr to stderr"

# 4 ranks writing 3000 lines of 300 bytes at once: lines never mix
t_script lines.sh <<'EOS'
#!/bin/sh
pad=$(printf '%0280d' 0)
i=0
while [ "$i" -lt 3000 ]; do
    echo "L$FW_RANK $i $pad end"
    i=$((i + 1))
done
EOS
fw_run "line by line" -- -n 4 --oversubscribe "$T/lines.sh"
bad=$(awk '!/^L[0-3] [0-9]+ 0+ end$/ || length($3) != 280 {bad++; next}
           { r = substr($1, 2); if ($2 != next_[r] + 0) order++
             next_[r] = $2 + 1 }
           END { for (r = 0; r < 4; r++) if (next_[r] != 3000) short++
                 print bad + order + short }' "$R_OUT")
[ "$R_RC" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$(wc -l <"$R_OUT")" -eq 12000 ]
t_ok $? "12000 lines of 300 bytes from 4 ranks: whole lines, in order per rank"
[ "$bad" -ne 0 ] && diag "$bad bad, missing or out-of-order lines"

# 4 ranks writing 300 kB lines at once (longer than a pipe buffer and than
# fwd's old 16 KiB line limit): each line still arrives whole
t_script longlines.sh <<'EOS'
#!/bin/sh
c=$(printf "\\$(printf '%03o' $((97 + FW_RANK)))")
for i in 1 2 3; do
    head -c 300000 /dev/zero | tr '\0' "$c"
    echo
done
EOS
fw_run "long lines" -- -n 4 --oversubscribe "$T/longlines.sh"
bad=$(awk '{ c = substr($0, 1, 1)
             if (length($0) != 300000 || $0 !~ ("^" c "+$")) bad++ }
           END { print bad + 0 }' "$R_OUT")
[ "$R_RC" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$(wc -l <"$R_OUT")" -eq 12 ]
t_ok $? "12 lines of 300 kB from 4 ranks at once: none mixed ($bad bad)"

t_script partial.sh <<'EOS'
#!/bin/sh
printf 'first\nno newline'
printf 'e1\ne2' >&2
EOS
fw_run "partial line" -- -n 1 "$T/partial.sh"
[ "$R_RC" -eq 0 ] && [ "$(cat "$R_OUT")" = "$(printf 'first\nno newline')" ]
t_ok $? "a last line without newline is forwarded as is"

# late_reader.py FWRUN DELAY_S NONBLOCK CMD: fwrun -n 1 sh -c CMD with its
# stdout on a pipe (non-blocking if NONBLOCK is 1) read DELAY_S late;
# prints fwrun's exit code, the bytes read, and its fwd's VmRSS (KiB)
# just before reading
t_script late_reader.py <<'EOP'
#!/usr/bin/env python3
import fcntl, os, subprocess, sys, time
fwrun, delay, nonblock, cmd = sys.argv[1:5]
r, w = os.pipe()
if nonblock == "1":
    fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
p = subprocess.Popen([fwrun, "-n", "1", "sh", "-c", cmd], stdout=w)
os.close(w)
time.sleep(float(delay))
rss = -1
for pid in os.listdir("/proc"):
    try:
        with open("/proc/%s/stat" % pid) as f:
            st = f.read()
        if st.split(") ")[1].split()[1] == str(p.pid) and "(fwd)" in st:
            with open("/proc/%s/status" % pid) as f:
                rss = [int(l.split()[1]) for l in f
                       if l.startswith("VmRSS:")][0]
    except (OSError, IndexError, ValueError):
        pass
n = 0
while True:
    b = os.read(r, 1 << 20)
    if not b:
        break
    n += len(b)
try:
    rc = p.wait(timeout=60)
except subprocess.TimeoutExpired:
    p.kill()
    rc = "hung"
print(rc, n, rss)
EOP

# a stdout left non-blocking by whoever started fwrun, read 1 s late:
# fwrun waits for the reader, it drops nothing
timeout -k 5 90 "$T/late_reader.py" "$FWRUN" 1 1 "yes | head -c 4000000" \
    >"$T/nb.out" 2>&1
read -r nb_rc nb_n _ <"$T/nb.out"
[ "$nb_rc" = 0 ] && [ "$nb_n" = 4000000 ]
t_ok $? "stdout non-blocking, its reader 1 s late: all 4 MB arrive, exit 0" \
    "($(cat "$T/nb.out"))"

# a rank writing 64 MiB to a reader 2.5 s late: the daemon stops reading
# the rank's output while fwrun's link holds 8 MiB unsent (back-pressure),
# so its memory stays small; nothing is lost
timeout -k 5 90 "$T/late_reader.py" "$FWRUN" 2.5 0 \
    "yes 0123456789012345678901234567890123456789 | head -c 67108864" \
    >"$T/bp.out" 2>&1
read -r bp_rc bp_n bp_rss <"$T/bp.out"
[ "$bp_rc" = 0 ] && [ "$bp_n" = 67108864 ] && [ "$bp_rss" -gt 0 ] &&
    [ "$bp_rss" -lt 40960 ]
t_ok $? "64 MiB to a reader 2.5 s late: all of it arrives, exit 0, and" \
    "the daemon holds under 40 MiB meanwhile ($(cat "$T/bp.out"): rc," \
    "bytes, fwd VmRSS KiB)"

# a reader that never reads: SIGTERM still ends the job at once, with a
# blocking and with a non-blocking stdout (fwrun waits for room in
# slices, a stop signal ends the wait)
t_script stuck.sh <<'EOS'
#!/bin/sh
yes | head -c 20000000
exec sleep 30
EOS
for mode in block nb; do
    timeout -k 5 60 python3 - "$FWRUN" "$mode" "$T/stuck.sh" \
        >"$T/stuck.$mode" 2>&1 <<'EOP'
import fcntl, os, signal, subprocess, sys, time
r, w = os.pipe()
if sys.argv[2] == "nb":
    fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
p = subprocess.Popen([sys.argv[1], "-n", "1", sys.argv[3]], stdout=w,
                     stderr=subprocess.DEVNULL)
os.close(w)
time.sleep(2)
p.send_signal(signal.SIGTERM)
t0 = time.time()
try:
    rc = p.wait(timeout=20)
except subprocess.TimeoutExpired:
    p.kill()
    p.wait()
    rc = "hung"
print(rc, "%.0f" % (time.time() - t0))
EOP
    read -r st secs <"$T/stuck.$mode"
    sleep 0.3
    [ "$st" = 143 ] && [ "${secs:-99}" -le 5 ] &&
        ! pgrep -f -- "$T/stuck.sh" >/dev/null
    t_ok $? "stdout ($mode) that nobody reads: SIGTERM ends fwrun in" \
        "${secs:-?} s, status ${st:-?} (143), no rank left"
    pkill -KILL -f -- "$T/stuck.sh" 2>/dev/null
done

fw_run "--tag-output" -- -n 2 --tag-output "$T/partial.sh"
jid=$(sed -n 's/^\[\(fw[0-9]*\.[0-9a-f]*\),0\]<stdout>: first$/\1/p' "$R_OUT")
bad=0
for r in 0 1; do
    for l in "<stdout>: first" "<stdout>: no newline"; do
        grep -qxF "[$jid,$r]$l" "$R_OUT" || bad=1
    done
    for l in "<stderr>: e1" "<stderr>: e2"; do
        grep -qxF "[$jid,$r]$l" "$R_ERR" || bad=1
    done
done
[ "$R_RC" -eq 0 ] && [ -n "$jid" ] && [[ "$jid" == "fw$R_PID."* ]] &&
    [ "$bad" -eq 0 ] && [ "$(wc -l <"$R_OUT")" -eq 4 ] &&
    [ "$(wc -l <"$R_ERR")" -eq 4 ]
t_ok $? "--tag-output: every line, even a last partial one, is one" \
    "'[jobid,rank]<stdout|stderr>: ' line"
[ "$bad" -ne 0 ] && diag "stdout:" "$(cat "$R_OUT")" "stderr:" \
    "$(cat "$R_ERR")"

# --- stdin --------------------------------------------------------------------
head -c 3145728 /dev/urandom >"$T/big"
big_md5=$(md5sum <"$T/big" | cut -d' ' -f1)
t_script stdin.sh <<'EOS'
#!/bin/sh
echo "in $FW_RANK $(md5sum | cut -d' ' -f1)"
EOS
empty_md5=$(md5sum </dev/null | cut -d' ' -f1)
check_stdin() {
    local want0=$1 n=$2 r bad=0 got

    for ((r = 0; r < n; r++)); do
        got=$(awk -v r="$r" '$1 == "in" && $2 == r {print $3}' "$R_OUT")
        if [ "$r" -eq 0 ] && [ "$got" != "$want0" ]; then
            diag "rank 0 read md5 '$got', expected $want0"
            bad=1
        elif [ "$r" -ne 0 ] && [ "$got" != "$empty_md5" ]; then
            diag "rank $r read md5 '$got', expected nothing"
            bad=1
        fi
    done
    [ "$R_RC" -eq 0 ] && [ "$bad" -eq 0 ]
}

fw_run "stdin pipe" --pipe "$T/big" -- -n 3 --oversubscribe "$T/stdin.sh"
check_stdin "$big_md5" 3
t_ok $? "stdin from a pipe: rank 0 reads 3 MB intact, others read nothing"

fw_run "stdin file" --in "$T/big" -- -n 3 --oversubscribe "$T/stdin.sh"
check_stdin "$big_md5" 3
t_ok $? "stdin from a regular file: rank 0 reads 3 MB intact"

fw_run "stdin /dev/null" --in /dev/null -- -n 2 "$T/stdin.sh"
check_stdin "$empty_md5" 2
t_ok $? "stdin from /dev/null: rank 0 reads end of file at once"

fw_run "--stdin none" --in "$T/big" -- -n 2 --stdin none "$T/stdin.sh"
check_stdin "$empty_md5" 2
t_ok $? "--stdin none: rank 0 reads nothing"

# a pipe that never ends must not keep fwrun once the job is done
mkfifo "$T/fifo"
exec {fifo_fd}<>"$T/fifo"
fw_start "open stdin" --in "$T/fifo" -- -n 1 "$T/ident.sh"
fw_finish 10
exec {fifo_fd}>&-
[ "$R_RC" -eq 0 ] && [ "$R_MS" -lt 3000 ]
t_ok $? "stdin still open: fwrun ends with the job ($R_MS ms)"

# --- version, help ------------------------------------------------------------
"$FWRUN" --version >"$T/v.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] && grep -q '^fwrun (fabwire) ' "$T/v.out"
t_ok $? "--version exits 0"
"$FWRUN" --help >"$T/h.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] && grep -q -- '--oversubscribe' "$T/h.out" &&
    grep -q 'exit status' "$T/h.out"
t_ok $? "--help exits 0 and documents options and exit statuses"

t_done
