#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Bad input to fw-bench: a message naming the problem and a non-zero exit,
# never a Python traceback. Needs nothing but the build (no job is run).
B=(python3 "$FW_BUILD_DIR/bench/fw-bench")
d=$(mktemp -d) || exit 1
trap 'rm -rf "$d"' EXIT
printf '\000\377x\n' >"$d/bin"
echo '{"a": 1}' >"$d/a"
: >"$d/empty"
mkdir "$d/dir"
bad=0 n=0
while IFS='|' read -r why args; do
    n=$((n + 1))
    read -r -a argv <<<"${args//@D@/$d}"
    timeout 30 "${B[@]}" "${argv[@]}" >"$d/out" 2>"$d/err"
    rc=$?
    if [ "$rc" -eq 0 ] || grep -q Traceback "$d/err" ||
        ! grep -q '^fw-bench' "$d/err"; then
        echo "not ok $n - $why: rc $rc: $(head -c 300 "$d/err")"
        bad=1
    else
        echo "ok $n - $why: $(tail -n 1 "$d/err")"
    fi
done <<'CASES'
plot of a missing file|plot @D@/missing.jsonl
plot of a directory|plot @D@/dir
plot of a binary file|plot @D@/bin
plot of JSON that is not a result|plot @D@/a
plot of an empty file|plot @D@/empty
unknown provider|launch --provider nosuch -n 1
--fwrun that does not exist|launch --fwrun @D@/none -n 1
empty size in a list|launch -n 1,,2
negative timeout|launch --timeout -1 -n 1
output directory that cannot be made|launch -o /proc/nope/x -n 1
CASES
echo "1..$n"
exit "$bad"
