#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Install fabwire's build and test dependencies on Debian 12, as root.
# Idempotent: packages already installed are skipped, and when nothing is
# missing apt is not touched at all (no apt-get update).
#   --baselines   also install Open MPI and MPICH for the comparison benches
set -euo pipefail

usage() {
    echo "usage: $0 [--baselines]" >&2
    exit 2
}

# Build deps, plus what scripts/fw-netns and the tests run: iproute2 (ip),
# util-linux (flock, nsenter), iputils-ping, procps/psmisc (pkill, fuser).
pkgs=(build-essential cmake pkg-config libevent-dev libfabric-dev
      libfabric-bin libhwloc-dev hwloc-nox libibverbs-dev ibverbs-utils
      iproute2 util-linux iputils-ping python3 gnuplot-nox procps psmisc)
baseline_pkgs=(openmpi-bin libopenmpi-dev mpich libmpich-dev)

for arg in "$@"; do
    case "$arg" in
    --baselines) pkgs+=("${baseline_pkgs[@]}") ;;
    -h | --help) usage ;;
    *) echo "$0: unknown option '$arg'" >&2; usage ;;
    esac
done

if [ "$(id -u)" -ne 0 ]; then
    echo "$0: must run as root (apt-get install)" >&2
    exit 1
fi

missing=()
for p in "${pkgs[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    if [ "$status" != "installed" ]; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps: all ${#pkgs[@]} packages already installed"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
