#!/usr/bin/env bash
# How often does `piscale compare` cry wolf, and does it still catch a real
# slow-down? Runs PAIRS pairs of identical quick sweeps back to back on this
# machine (the same binary, seconds apart), and for each pair:
#   - compares them: any regression is a false alarm;
#   - plants a 2x slow-down of one backend in a copy of the second sweep
#     (its wall times doubled in raw.csv) and compares again: no regression
#     is a miss.
#
#   scripts/gate-check.sh [PAIRS] [BACKEND] [-- COMPARE_ARGS...]
#
# PAIRS (default 20); BACKEND (default threads): the backend slowed down;
# COMPARE_ARGS: passed to `piscale compare` (e.g. --threshold 10).
# KEEP (environment): a folder where each false alarm's comparison is kept.
# Prints one line per pair and the two rates; exit status 0.
set -euo pipefail

cd "$(dirname "$0")/.."

pairs="${1:-20}"
backend="${2:-threads}"
shift $(( $# > 2 ? 2 : $# ))
[[ "${1:-}" == "--" ]] && shift
compare_args=("$@")

cargo build --release --quiet
piscale=${PISCALE:-target/release/piscale}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Doubles the wall, spawn, compute and reduce times of BACKEND's rows.
plant() {
    awk -F, -v OFS=, -v b="$backend" 'NR == 1 || $4 != b { print; next }
        { for (i = 14; i <= 17; i++) if ($i != "") $i = $i * 2; print }' "$1/raw.csv" >"$2/raw.csv.new"
    mv "$2/raw.csv.new" "$2/raw.csv"
}

alarms=0
misses=0
for i in $(seq 1 "$pairs"); do
    for side in a b; do
        "$piscale" sweep --config configs/quick.toml --out "$work/$side" --force >/dev/null 2>&1
    done
    status=0
    "$piscale" compare "$work/a" "$work/b" ${compare_args[@]+"${compare_args[@]}"} >"$work/same.md" || status=$?
    rm -rf "$work/slow" && cp -r "$work/b" "$work/slow" && plant "$work/b" "$work/slow"
    planted=0
    "$piscale" compare "$work/a" "$work/slow" ${compare_args[@]+"${compare_args[@]}"} >"$work/slow.md" || planted=$?
    if [[ $status -eq 1 ]]; then
        alarms=$((alarms + 1))
        if [[ -n "${KEEP:-}" ]]; then cp "$work/same.md" "$KEEP/alarm-$i.md"; fi
    fi
    [[ $planted -ne 1 ]] && misses=$((misses + 1))
    drift="$(grep -o 'took [0-9.]*× the base' "$work/same.md" | head -n 1 | grep -o '[0-9.]*×' || true)"
    echo "pair $i: identical -> exit $status (drift ${drift:-n/a}); $backend x2 -> exit $planted"
done
echo "false alarms: $alarms of $pairs identical pairs"
echo "missed: $misses of $pairs planted 2x slow-downs of $backend"
