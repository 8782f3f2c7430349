#!/usr/bin/env bash
# Does the harness distort what it measures? Compares fork-pipe's spawn phase
# at 2 workers (mc, 2^22 darts, pinned compact) measured three ways:
#   run          standalone `piscale run`s, back to back;
#   sweep-alone  a sweep of fork-pipe alone;
#   sweep-mixed  a sweep that interleaves threads, rayon, per-core and
#                pool-map points with fork-pipe's.
# and prints the median and quartiles of each.
#
#   scripts/spawn-in-sweep.sh [PISCALE [ROUNDS [REPS]]]
#
# Defaults: target/release/piscale, 3 rounds of 41 repetitions each.
set -euo pipefail

bin=${1:-target/release/piscale}
rounds=${2:-3}
reps=${3:-41}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for _ in $(seq "$rounds"); do
    for _ in $(seq "$reps"); do
        "$bin" run --method mc --backend fork-pipe --workers 2 --samples 2^22 --seed 5 \
            --pin compact --format json >> "$tmp/runs.json"
    done
    for kind in alone mixed; do
        backends=fork-pipe
        [ "$kind" = mixed ] && backends=threads,rayon,per-core,pool-map,fork-pipe
        rm -rf "$tmp/sweep"
        "$bin" sweep --methods mc --backends "$backends" --workers 1,2 --samples 2^22 \
            --reps "$reps" --warmup 1 --pin compact --seed 5 --out "$tmp/sweep" >/dev/null 2>&1
        cat "$tmp/sweep/raw.csv" >> "$tmp/sweep-$kind.csv"
    done
done

python3 - "$tmp" <<'PY'
import csv, json, statistics, sys
tmp = sys.argv[1]
series = {"run": [json.loads(l)["spawn_s"] for l in open(f"{tmp}/runs.json")]}
for kind in ("alone", "mixed"):
    series[f"sweep-{kind}"] = [
        float(r["spawn_s"])
        for r in csv.DictReader(open(f"{tmp}/sweep-{kind}.csv"))
        if r.get("backend") == "fork-pipe" and r.get("workers") == "2" and r.get("status") == "ok"
    ]
for name, values in series.items():
    us = sorted(v * 1e6 for v in values)
    q = statistics.quantiles(us, n=4)
    print(f"{name:12} n={len(us):4}  median {statistics.median(us):6.0f} us   quartiles {q[0]:.0f}-{q[2]:.0f} us")
PY
