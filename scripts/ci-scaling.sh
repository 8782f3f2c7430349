#!/usr/bin/env bash
# CI scaling check: run the quick sweep, publish its report, and — given a
# baseline sweep folder — fail when a point got slower.
#
#   scripts/ci-scaling.sh [BASELINE]
#
# BASELINE (or $PISCALE_BASELINE): the output folder of an earlier sweep of
#   configs/quick.toml (its raw.csv, machine.json). Without one, only the
#   sweep and the report run.
# OUT (default target/ci-scaling): where this sweep goes; replaced each run.
# PISCALE_THRESHOLD: percent slow-down a point may show before it counts as
#   a regression (default: piscale compare's own).
# GITHUB_STEP_SUMMARY: when set (GitHub Actions), report.md and the
#   comparison are appended to it.
#
# Exit status: that of `piscale compare` when a baseline is given (0 no
# regression, 1 regression, 2 unusable input); otherwise that of the sweep
# (1 when some repetitions failed). A sweep that could not run at all (exit
# 2, or interrupted) stops the script with its status.
set -euo pipefail

cd "$(dirname "$0")/.."

OUT="${OUT:-target/ci-scaling}"
BASELINE="${1:-${PISCALE_BASELINE:-}}"

if [[ -n "$BASELINE" && ! -d "$BASELINE" ]]; then
    echo "ci-scaling: baseline folder $BASELINE does not exist" >&2
    exit 2
fi
if [[ -n "$BASELINE" && "$(realpath -m "$BASELINE")" == "$(realpath -m "$OUT")" ]]; then
    echo "ci-scaling: the baseline $BASELINE is the output folder; set OUT elsewhere" >&2
    exit 2
fi

# Build once, quietly, so the sweep's own timing is not mixed with compiling.
cargo build --release --quiet

# --force: OUT is this script's scratch folder, replaced on every run.
sweep_status=0
cargo run --release --quiet -- sweep --config configs/quick.toml --out "$OUT" --force ||
    sweep_status=$?
# 1 = some repetitions failed: the folder and its report still say which.
if [[ $sweep_status -ne 0 && $sweep_status -ne 1 ]]; then
    echo "ci-scaling: the sweep did not finish (exit status $sweep_status)" >&2
    exit "$sweep_status"
fi

if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
    if [[ -f "$OUT/report.md" ]]; then
        cat "$OUT/report.md" >>"$GITHUB_STEP_SUMMARY"
    else
        # shellcheck disable=SC2016 # the backticks are markdown, not a command
        printf '# piscale scaling report\n\nThe sweep wrote no report.md in `%s`.\n' \
            "$OUT" >>"$GITHUB_STEP_SUMMARY"
    fi
fi

if [[ -z "$BASELINE" ]]; then
    exit "$sweep_status"
fi

threshold=()
if [[ -n "${PISCALE_THRESHOLD:-}" ]]; then
    threshold=(--threshold "$PISCALE_THRESHOLD")
fi
compare_out="$(mktemp)"
trap 'rm -f "$compare_out"' EXIT
compare_status=0
cargo run --release --quiet -- compare "$BASELINE" "$OUT" ${threshold[@]+"${threshold[@]}"} >"$compare_out" ||
    compare_status=$?
cat "$compare_out"
if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
    { echo; cat "$compare_out"; } >>"$GITHUB_STEP_SUMMARY"
fi
exit "$compare_status"
