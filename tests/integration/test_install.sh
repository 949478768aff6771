#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# `cmake --install` into a prefix of its own: the installed programs
# that link libfabwire find it there (fw-bench's fw_bench_* in
# libexec/fabwire did not: "libfabwire.so.0 => not found"), no installed
# file keeps a RUNPATH into the build tree, and no RUNPATH, installed or
# in the build tree, has an empty entry (the loader reads one as the
# current directory).
set -u
BLD=${FW_BUILD_DIR:?}
T=$(mktemp -d /tmp/fw-install.XXXXXX)
trap 'pkill -KILL -f "$T/p/" 2>/dev/null; rm -rf "$T"' EXIT
n=0
fail=0
ok() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        shift
        echo "ok $n - $*"
    else
        shift
        fail=$((fail + 1))
        echo "not ok $n - $*"
        [ -s "$T/log" ] && sed 's/^/# /' "$T/log" | head -20
    fi
}

# runpaths FILE...: "file: runpath" for each ELF file with one
runpaths() {
    local f rp
    for f in "$@"; do
        if [ ! -f "$f" ] || [ -L "$f" ]; then
            continue
        fi
        head -c 4 "$f" | grep -q 'ELF' || continue
        rp=$(readelf -d "$f" 2>/dev/null |
            sed -n 's/.*(R[UN]*PATH).*\[\(.*\)\]$/\1/p')
        [ -n "$rp" ] && echo "$f: $rp"
    done
}

# bad_runpaths: lines with an empty entry, or (with $1) a path under $1
bad_runpaths() {
    local line rp
    while IFS= read -r line; do
        rp=${line#*: }
        case ":$rp:" in
        *::*) echo "empty entry: $line" ;;
        esac
        if [ -n "${1:-}" ] && [[ "$rp" == *"$1"* ]]; then
            echo "into the build tree: $line"
        fi
    done
}

cmake --install "$BLD" --prefix "$T/p" >"$T/log" 2>&1
ok $? "cmake --install into $T/p"

runpaths "$T"/p/bin/* "$T"/p/libexec/fabwire/* "$T"/p/lib*/*.so* \
    "$T"/p/lib*/*/*.so* 2>/dev/null >"$T/installed"
bad_runpaths "$BLD" <"$T/installed" >"$T/log"
[ ! -s "$T/log" ]
ok $? "installed RUNPATHs: no empty entry, none into the build tree" \
    "($(wc -l <"$T/installed") files with one)"

runpaths "$BLD"/bench/fw_bench_* "$BLD"/launcher/* >"$T/built"
bad_runpaths <"$T/built" >"$T/log"
[ ! -s "$T/log" ] && [ -s "$T/built" ]
ok $? "build-tree RUNPATHs of fw_bench_* and the launcher: no empty entry"

prog=$T/p/libexec/fabwire/fw_bench_modex
ldd "$prog" >"$T/log" 2>&1 && ! grep -q 'not found' "$T/log" &&
    grep -q "libfabwire.so.0 => $T/p/" "$T/log"
ok $? "installed fw_bench_modex loads the installed libfabwire"

(cd "$T" && timeout -s KILL 60 "$T/p/bin/fwrun" --oversubscribe -n 2 \
    "$prog" --iters 1 --no-wireup >"$T/out" 2>"$T/log")
rc=$?
[ "$rc" -eq 0 ] && [ "$(grep -c '"sample":0' "$T/out")" -eq 1 ]
ok $? "installed fwrun runs the installed modex program (exit $rc)"

sleep 0.5
! pgrep -f "$T/p/" >/dev/null
ok $? "nothing of the installed tree left running"

echo "1..$n"
[ "$fail" -eq 0 ]
