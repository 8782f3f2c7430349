#!/usr/bin/env bash
# Verifies the kernels' instruction-set paths on this machine and says plainly
# which were checked.
#
#   scripts/verify-isa.sh            # flags, ISA tests, per-ISA benches, piscale run per ISA
#   scripts/verify-isa.sh --quick    # flags and ISA tests only (no benches)
#
# 1. Prints the CPU model and the SIMD flags the kernels care about.
# 2. Runs the kernels' ISA tests (every supported path against scalar, bit for bit).
# 3. Runs the per-ISA criterion benches (`block/<method>/<isa>`,
#    `per-core-stream/mc/<isa>`) and `piscale run --isa X` on one pinned core.
# 4. Ends with one line per path: checked (tests passed, with its speed) or
#    not checked (the CPU lacks it).
#
# Run it on every machine with AVX-512 you get: the development machines vary.
set -euo pipefail

cd "$(dirname "$0")/.."

quick=false
if [ "${1:-}" = "--quick" ]; then quick=true; fi

flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|bmi2|avx512[a-z]*)$' | sort -u | tr '\n' ' ')
model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "== CPU: ${model:-unknown} ($(nproc) usable CPUs)"
echo "== SIMD flags: ${flags:-none}"

has() { case " $flags " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
paths=(scalar)
has avx2 && paths+=(avx2)
has avx512f && has avx2 && paths+=(avx512)
echo "== paths this CPU supports: ${paths[*]}"

echo "== ISA tests (every supported path against scalar)"
tests_ok=true
if ! cargo test --release -p piscale-kernels --test it -- isa_paths --nocapture; then
    tests_ok=false
fi
if ! cargo test --release -p piscale-kernels --lib -- isa mc midpoint; then
    tests_ok=false
fi

declare -A rate
if ! $quick; then
    echo "== per-ISA benches"
    cargo bench -p piscale-benches --bench kernels -- 'block/|per-core-stream/' 2>&1 |
        grep -E '^(block|per-core-stream)/|time:|thrpt:' || true
    cargo build --release -q
    pin=$(taskset -pc $$ 2>/dev/null | awk -F': ' '{print $2}' | cut -d, -f1 | cut -d- -f1)
    pin=${pin:-0}
    echo "== piscale run on CPU $pin, N = 2e9 (samples or steps per ns, best of 3)"
    for isa in "${paths[@]}"; do
        for method in mc midpoint; do
            best=0
            for _ in 1 2 3; do
                r=$(target/release/piscale run --method "$method" --backend serial --pin "$pin" \
                    --samples 2e9 --isa "$isa" --format json |
                    python3 -c 'import json,sys; print(json.load(sys.stdin)["samples_per_ns"])')
                best=$(python3 -c "print(max($best, $r))")
            done
            rate[$isa/$method]=$(printf '%.3f' "$best")
            printf '   %-7s %-9s %.3f per ns\n' "$isa" "$method" "$best"
        done
    done
fi

echo "== summary"
for isa in scalar avx2 avx512; do
    supported=false
    for p in "${paths[@]}"; do [ "$p" = "$isa" ] && supported=true; done
    if ! $supported; then
        echo "   $isa: NOT CHECKED (this CPU lacks it)"
    elif $tests_ok; then
        speed=""
        if ! $quick; then
            speed=" (mc ${rate[$isa/mc]}, midpoint ${rate[$isa/midpoint]} per ns on one core)"
        fi
        echo "   $isa: checked, bit-identical to scalar$speed"
    else
        echo "   $isa: TESTS FAILED"
    fi
done
$tests_ok
