#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# `cmake --install` into a prefix of its own: the installed programs
# that link libfabwire find it there (fw-bench's fw_bench_* in
# libexec/fabwire did not: "libfabwire.so.0 => not found"), no installed
# file keeps a RUNPATH into the build tree, and no RUNPATH, installed or
# in the build tree, has an empty entry (the loader reads one as the
# current directory).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
CMAKE=${CMAKE_COMMAND:-cmake}
P=$T/p
# the installed fwrun must run the installed fwd, and nothing else of ours
while IFS= read -r v; do
    unset "$v"
done < <(compgen -e | grep '^FW_')
# cmake --install rewrites the build tree's manifest: keep the user's
MANIFEST=$FW_BLD/install_manifest.txt
[ -f "$MANIFEST" ] && cp -p "$MANIFEST" "$T/manifest.keep"
restore_manifest() {
    if [ -f "$T/manifest.keep" ]; then
        cp -p "$T/manifest.keep" "$MANIFEST"
    else
        rm -f "$MANIFEST"
    fi
}
trap 'restore_manifest; pkill -KILL -f "$P/" 2>/dev/null; fw_lib_cleanup' \
    EXIT

# ok_or STATUS DIAG DESC...: t_ok, with DIAG as diagnostics on failure
ok_or() {
    local st=$1 d=$2

    shift 2
    t_ok "$st" "$@"
    [ "$st" -eq 0 ] || diag "$d"
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

# bad_runpaths [DIR]: lines with an empty entry, or a path under DIR
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

"$CMAKE" --install "$FW_BLD" --prefix "$P" >"$T/log" 2>&1
ok_or $? "$(tail -n 5 "$T/log")" "cmake --install into $P"

runpaths "$P"/bin/* "$P"/libexec/fabwire/* "$P"/lib*/*.so* \
    "$P"/lib*/*/*.so* >"$T/installed" 2>/dev/null
bad_runpaths "$FW_BLD" <"$T/installed" >"$T/bad"
[ ! -s "$T/bad" ] && [ -s "$T/installed" ]
ok_or $? "$(cat "$T/bad")" "installed RUNPATHs: no empty entry, none" \
    "into the build tree ($(wc -l <"$T/installed") files with one)"

runpaths "$FW_BLD"/bench/fw_bench_* "$FW_BLD"/launcher/* >"$T/built"
bad_runpaths <"$T/built" >"$T/bad"
[ ! -s "$T/bad" ] && [ -s "$T/built" ]
ok_or $? "$(cat "$T/bad")" "build-tree RUNPATHs of fw_bench_* and the" \
    "launcher: no empty entry"

prog=$P/libexec/fabwire/fw_bench_modex
ldd "$prog" >"$T/log" 2>&1 && ! grep -q 'not found' "$T/log" &&
    grep -q "libfabwire.so.0 => $P/" "$T/log"
ok_or $? "$(cat "$T/log")" "installed fw_bench_modex loads the installed" \
    "libfabwire"

(cd "$T" && timeout -s KILL 60 "$P/bin/fwrun" --oversubscribe -n 2 \
    "$prog" --iters 1 --no-wireup >"$T/out" 2>"$T/log")
rc=$?
[ "$rc" -eq 0 ] && [ "$(grep -c '"sample":0' "$T/out")" -eq 1 ]
ok_or $? "$(tail -n 5 "$T/log")" "installed fwrun runs the installed modex" \
    "program (exit $rc)"

# the daemon and ranks may still be going away: up to 5 s
for _ in $(seq 50); do
    pgrep -f "$P/" >/dev/null || break
    sleep 0.1
done
! pgrep -f "$P/" >/dev/null
t_ok $? "nothing of the installed tree left running"

t_done
