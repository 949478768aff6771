#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The floors of fw-bench's connect and modex rows (issue 5): fw-bench-rtt,
# the provider round trip between two processes, run by itself (forked
# server, --listen/--connect, bad input), then through fw-bench, whose
# results must put a floor record beside every fabwire row and a
# fabwire/floor ratio in summary.csv.
#   test_fw_bench_floor.sh local   this host (the link is the shm rail,
#                                  or the provider with FW_DPM_SHM=0)
#   test_fw_bench_floor.sh netns   2 namespace hosts fw-bench creates and
#                                  removes (root; the provider's link)
set -u
mode=${1:-local}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
RTT=$FW_BLD/bench/fw-bench-rtt
BENCH=(python3 "$FW_BLD/bench/fw-bench")
T=$(mktemp -d /tmp/fw-bench-floor.XXXXXX) || exit 1
trap 'pkill -KILL -f "^$RTT" 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
unset FW_PROVIDER FI_PROVIDER FW_DPM_SHM

# check_rtt FILE C K: fw-bench-rtt's lines are complete and consistent
check_rtt() {
    python3 - "$@" <<'EOF'
import json, statistics, sys
path, c, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
v, totals = {}, []
for line in open(path):
    o = json.loads(line)
    if "sample" not in o:
        totals.append(o)
    for key, x in o.items():
        if key.endswith("_ms"):
            v.setdefault(key, []).append(x)
want = {"first_ms": 1, "later_ms": c - 1, "rtt_ms": k, "word_ms": k,
        "total_ms": 1}
for key, n in want.items():
    assert len(v.get(key, [])) == n, (key, len(v.get(key, [])), n)
assert all(x > 0 for key in want for x in v[key] if key != "word_ms"), v
assert totals == [{"cycles": c, "total_ms": v["total_ms"][0]}], totals
# the total is the first cycle and the later ones (printed to 0.1 us)
s = v["first_ms"][0] + sum(v["later_ms"])
assert abs(v["total_ms"][0] - s) <= 1e-4 * c, (v["total_ms"], s)
rtt = statistics.median(v["rtt_ms"])
# a first contact inserts on both sides and makes two round trips; a
# later cycle makes two round trips; a word is sent without waiting
assert v["first_ms"][0] > rtt, (v["first_ms"], rtt)
assert statistics.median(v["later_ms"]) > rtt, (v["later_ms"], rtt)
assert statistics.median(v["word_ms"]) < rtt, (v["word_ms"], rtt)
EOF
}

# check_floor DIR BENCHMARK LABEL: a floor beside every fabwire record
check_floor() {
    python3 - "$@" <<'EOF'
import csv, json, re, sys
d, bench, label = sys.argv[1:4]
below = sys.argv[4:] == ["below"]  # every floor under fabwire's median
recs = [json.loads(l) for l in open(d + "/results.jsonl")]
recs = [r for r in recs if r["benchmark"] == bench]
floors = {}
for r in recs:
    if r["stack"] == "floor":
        assert r["status"] == "ok", r
        p = r["params"]
        floors[(r["n"], p.get("variant"), r["metric"], r["provider"],
                p.get("with"))] = r
need = {"connect": ("first_ms", "later_ms", "total_ms", "disconnect_ms"),
        "modex": ("wireup_ms", "fence_ms", "round_ms", "barrier_ms",
                  "job_wall_ms")}[bench]
seen = 0
for r in recs:
    if r["stack"] != "fabwire" or r["metric"] not in need:
        continue
    assert r["status"] == "ok", r
    p = r["params"]
    with_ = None if r["metric"] == "job_wall_ms" else "rtt"
    f = floors.get((r["n"], p.get("variant"), r["metric"],
                    r["provider"] if with_ else None, with_))
    if bench == "modex" and with_ and r["n"] == 1:
        assert f is None, ("a round-trip floor without a peer", f)
        continue
    assert f is not None, ("no floor beside", r["metric"], r["n"], p)
    assert f["median"] > 0 or r["metric"] == "disconnect_ms", f
    if with_:
        assert f["stack_label"] == label, (f["stack_label"], label)
    if below:
        assert f["median"] <= r["median"], ("a floor above fabwire",
                                            r["metric"], p, f["median"],
                                            r["median"])
    seen += 1
assert seen >= len(need), seen
rows = [row for row in csv.DictReader(open(d + "/summary.csv"))
        if row["benchmark"] == bench and row["stack"] == "fabwire"
        and row["metric"] in need and row["status"] == "ok"]
with_ratio = [row for row in rows if row["fabwire_over_floor"]]
assert len(with_ratio) == seen, (len(with_ratio), seen)
text = open(d + "/report.txt").read()
assert re.search(r"fabwire(\[[^]]*\])?/floor ", text) and label in text, \
    "no ratio to the floor, or no column %s, in report.txt" % label
print("%d fabwire rows with their floor" % seen)
EOF
}

if [ "$mode" = local ]; then
    for prov in 'tcp;ofi_rxm' shm; do
        FW_PROVIDER=$prov timeout 60 "$RTT" --cycles 5 --count 20 \
            --idle-reads 4 --read-bytes 100000 \
            >"$T/rtt.out" 2>"$T/rtt.err"
        rc=$?
        t_ok "$rc" "fw-bench-rtt over $prov, forked server: exit 0"
        check_rtt "$T/rtt.out" 5 20 >"$T/check" 2>&1
        t_ok $? "over $prov: first contact, later cycles, round trips," \
            "words and the total, consistent"
        [ -s "$T/check" ] && diag "$(tail -n 3 "$T/check")"
        # the reads check every byte they bring (fw-bench-rtt fails if
        # not); an idle server that only woke at its 100 ms poll timeout,
        # not at the request, would make the median ~100 ms
        python3 - "$T/rtt.out" >"$T/check" 2>&1 <<'EOF'
import json, statistics, sys
v = [json.loads(l)["idle_read_ms"] for l in open(sys.argv[1])
     if "idle_read_ms" in l]
assert len(v) == 4 and min(v) > 0, v
assert statistics.median(v) < 50, ("the idle server woke late", v)
print("median %.3g ms" % statistics.median(v))
EOF
        t_ok $? "over $prov: 4 reads of 100000 bytes from the idle server" \
            "($(tail -n 1 "$T/check"))"
    done

    FW_PROVIDER=shm timeout 60 "$RTT" --listen "$T/addr" 2>"$T/l.err" &
    lpid=$!
    FW_PROVIDER=shm timeout 60 "$RTT" --connect "$T/addr" --cycles 2 \
        --count 3 --idle-reads 2 --read-bytes 64 >"$T/c.out" 2>"$T/c.err"
    crc=$?
    wait "$lpid"
    lrc=$?
    [ "$crc" -eq 0 ] && [ "$lrc" -eq 0 ] && check_rtt "$T/c.out" 2 3 &&
        [ "$(grep -c '"idle_read_ms"' "$T/c.out")" -eq 2 ]
    t_ok $? "--listen/--connect: both sides exit 0, results complete" \
        "(2 idle reads)"
    [ ! -e "$T/addr" ] && [ ! -e "$T/addr.tmp" ]
    t_ok $? "the listener removed its address file"

    "$RTT" --cycles 0 >/dev/null 2>"$T/e"
    [ $? -eq 2 ] && grep -q usage "$T/e"
    t_ok $? "--cycles 0: usage, exit 2"
    for bad in "--idle-reads 0" "--idle-reads 100001" "--read-bytes 0" \
        "--read-bytes 1048577"; do
        # shellcheck disable=SC2086
        "$RTT" $bad >/dev/null 2>"$T/e"
        [ $? -eq 2 ] && grep -q usage "$T/e"
        t_ok $? "$bad: usage, exit 2"
    done
    "$RTT" --listen a --connect b >/dev/null 2>"$T/e"
    [ $? -eq 2 ]
    t_ok $? "--listen with --connect: exit 2"
    FW_PROVIDER=nosuch timeout 30 "$RTT" >/dev/null 2>"$T/e"
    [ $? -eq 1 ] && grep -q "nosuch" "$T/e"
    t_ok $? "unknown provider: exit 1, named ($(head -n 1 "$T/e"))"
    FW_PROVIDER=shm "$RTT" --listen "$T/stale" 2>/dev/null &
    lpid=$!
    for _ in $(seq 100); do [ -e "$T/stale" ] && break; sleep 0.1; done
    kill -KILL "$lpid"
    wait "$lpid" 2>/dev/null
    FW_PROVIDER=shm timeout 60 "$RTT" --connect "$T/stale" >/dev/null \
        2>"$T/e"
    rc=$?
    rm -f /dev/shm/fabwire-"$lpid"_*
    [ "$rc" -eq 1 ] && grep -q "took no message" "$T/e"
    t_ok $? "the address of a killed listener: exit 1, said" \
        "($(tail -n 1 "$T/e"))"
    echo garbage >"$T/bad"
    timeout 30 "$RTT" --connect "$T/bad" >/dev/null 2>"$T/e"
    [ $? -eq 1 ] && grep -q "holds no address" "$T/e"
    t_ok $? "an address file that holds no address: exit 1, said"

    "${BENCH[@]}" connect --stacks floor,fabwire --variants file,pair \
        --provider 'tcp;ofi_rxm,shm' --cycles 3 --jobs 2 --strict \
        --no-progress --no-plot -o "$T/c" >"$T/b.out" 2>&1
    t_ok $? "fw-bench connect with the floor, two providers: exit 0"
    check_floor "$T/c" connect "floor (shm round trip)" below \
        >"$T/check" 2>&1
    t_ok $? "connect: the shm round trip beside every fabwire row of" \
        "both providers, under it, with its ratio ($(tail -n 1 "$T/check"))"
    [ "$(grep -c '^ *floor (shm round trip) ' "$T/c/report.txt")" -eq 4 ]
    t_ok $? "one floor column per table: the providers share the shm link"
    python3 - "$T/c/results.jsonl" >"$T/check" 2>&1 <<'EOF'
import json, sys
f = {r["params"]["variant"]: r["median"] for r in map(json.loads,
     open(sys.argv[1])) if r["stack"] == "floor" and r["metric"] ==
     "first_ms"}
# the pair has met at its job's start: no first contact in its floor
assert f["pair"] < f["file"], f
print(f)
EOF
    t_ok $? "the pair's first-cycle floor has no first contact" \
        "($(tail -n 1 "$T/check"))"

    FW_DPM_SHM=0 "${BENCH[@]}" connect --stacks floor,fabwire \
        --variants pair --provider 'tcp;ofi_rxm' --cycles 2 --jobs 1 \
        --strict --no-progress --no-plot -o "$T/c0" >"$T/b.out" 2>&1 &&
        check_floor "$T/c0" connect "floor (tcp;ofi_rxm round trip)" \
            >"$T/check" 2>&1
    t_ok $? "FW_DPM_SHM=0: the floor is the provider's round trip" \
        "($(tail -n 1 "$T/check"))"

    "${BENCH[@]}" modex -n 1,2 --stacks floor,fabwire --modex-modes \
        onesided --jobs 1 --wall-pairs 2 --strict --no-progress --no-plot \
        -o "$T/m" >"$T/b.out" 2>&1
    t_ok $? "fw-bench modex with the floors: exit 0"
    check_floor "$T/m" modex "floor (shm round trip)" >"$T/check" 2>&1
    t_ok $? "modex: fork/exec and round-trip floors beside every row" \
        "($(tail -n 1 "$T/check"))"
    python3 - "$T/m" >"$T/check" 2>&1 <<'EOF'
import csv, json, re, sys
d = sys.argv[1]
recs = [json.loads(l) for l in open(d + "/results.jsonl")]
walls = {(r["n"], r["metric"]): r for r in recs if r["stack"] == "fabwire"
         and r["metric"] in ("job_wall_ms", "true_wall_ms")}
for n in (1, 2):
    for m in ("job_wall_ms", "true_wall_ms"):
        r = walls[(n, m)]
        assert r["status"] == "ok" and r["count"] == 2, (n, m, r["count"])
text = open(d + "/report.txt").read()
for n in (1, 2):
    pat = (r"local n=%d: modex program \S+ ms = \S+x fwrun /bin/true "
           r"\S+ ms, target 1\.5x: (met|MISSED)" % n)
    assert re.search(pat, text), ("no verdict for n=%d" % n)
print("2 pairs per size, verdicts in the report")
EOF
    t_ok $? "modex: --wall-pairs 2 times /bin/true and the program twice" \
        "($(tail -n 1 "$T/check"))"
else
    if [ "$(id -u)" -ne 0 ]; then
        t_skip "fw-bench over namespace hosts" "needs root"
        t_done
        exit
    fi
    before=$(ip netns list | grep -c "^fb")
    "${BENCH[@]}" connect --hosts netns:2 --provider 'tcp;ofi_rxm' \
        --stacks floor,fabwire --variants file --cycles 3 --jobs 1 \
        --strict --no-progress --no-plot -o "$T/n" >"$T/b.out" 2>&1
    rc=$?
    t_ok "$rc" "fw-bench connect over 2 namespace hosts: exit 0"
    [ "$rc" -eq 0 ] || diag "$(tail -n 8 "$T/b.out")"
    check_floor "$T/n" connect "floor (tcp;ofi_rxm round trip)" \
        >"$T/check" 2>&1
    t_ok $? "netns: tcp;ofi_rxm's round trip between the hosts beside" \
        "every row ($(tail -n 1 "$T/check"))"
    grep -q '"hosts": "netns2"' "$T/n/results.jsonl"
    t_ok $? "the records are of the namespace layout"
    "${BENCH[@]}" modex -n 2 --hosts netns:2 --provider 'tcp;ofi_rxm' \
        --stacks floor,fabwire --jobs 1 \
        --wall-pairs 1 --strict --no-progress --no-plot -o "$T/m" \
        >"$T/m.out" 2>&1
    rc=$?
    t_ok "$rc" "fw-bench modex over 2 namespace hosts: exit 0"
    [ "$rc" -eq 0 ] || diag "$(tail -n 8 "$T/m.out")"
    python3 - "$T/m" >"$T/check" 2>&1 <<'EOF'
import csv, json, re, sys
d = sys.argv[1]
recs = [json.loads(l) for l in open(d + "/results.jsonl")]
idle = [r for r in recs if r["benchmark"] == "modex" and
        r["stack"] == "floor" and r["metric"] == "quiet_get_ep_ms"]
assert len(idle) == 1, idle
r = idle[0]
assert r["status"] == "ok" and r["count"] == 30 and r["median"] > 0, r
assert r["params"].get("with") == "rtt", r["params"]
assert r["stack_label"] == "floor (tcp;ofi_rxm read from an idle peer)", \
    r["stack_label"]
# an allgather get reads its daemon's copy: no ratio to a read
rows = [row for row in csv.DictReader(open(d + "/summary.csv"))
        if row["stack"] == "fabwire" and row["metric"].startswith("quiet")]
gathered = [row for row in rows if "allgather" in row["params"]]
assert len(rows) == 4 and len(gathered) == 2, rows
assert all(row["fabwire_over_floor"] for row in rows
           if row not in gathered), rows
assert not any(row["fabwire_over_floor"] for row in gathered), gathered
text = open(d + "/report.txt").read()
assert "floor (tcp;ofi_rxm read from an idle peer)" in text, "no column"
pat = (r"netns2 n=2 \[tcp;ofi_rxm\]: remote get direct \(rank with its "
       r"endpoint open\) \S+ ms = \S+x the provider round trip \S+ ms, "
       r"target 3x: (met|MISSED) \(a provider read from an idle peer: "
       r"\S+ ms = \S+x the round trip; the get = \S+x that read\)")
assert re.search(pat, text), "no verdict with the idle read"
print("30 idle reads, median %.3g ms, in the verdict" % r["median"])
EOF
    t_ok $? "netns: the floor of a remote get, a read from an idle peer," \
        "beside it and in its verdict ($(tail -n 1 "$T/check"))"
    [ "$(ip netns list | grep -c "^fb")" -eq "$before" ]
    t_ok $? "fw-bench removed its namespace hosts"
fi
! pgrep -f "^$RTT" >/dev/null
t_ok $? "no fw-bench-rtt left running"
t_done
