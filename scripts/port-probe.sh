#!/usr/bin/env bash
# The vector pipes of this core, measured: the clock (a chain of dependent
# adds) and the throughput of every instruction the mc kernels use, per
# cycle. docs/performance.md ("Port limits, measured") turns them into each
# kernel's limit. Needs gcc; x86-64 only.
#
#   scripts/port-probe.sh [CPU]     # pinned to CPU (default 0)
set -euo pipefail
cd "$(dirname "$0")/.."
cpu=${1:-0}
bin=$(mktemp)
trap 'rm -f "$bin"' EXIT
gcc -O2 -o "$bin" benches/c/port_probe.c
grep -m1 'model name' /proc/cpuinfo | sed 's/^model name\s*: /cpu: /'
echo "pinned to CPU $cpu"
taskset -c "$cpu" "$bin"
