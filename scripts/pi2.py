#!/usr/bin/env python3
"""Midpoint-rule estimate of pi with a pool of worker processes (course bonus).

    python3 scripts/pi2.py --workers 4 --samples 10000000 [--ranges-per-worker 1]

pi is the integral of 4 / (1 + x^2) from 0 to 1. Cut [0, 1] into N steps of
width h = 1/N and add up the function at the middle of each step, times h.
The steps are split into contiguous ranges (one per worker by default, or a
few per worker with --ranges-per-worker), each worker sums its ranges, and
Pool.map collects the partial sums. Unlike pi1.py's darts the result is
deterministic: the same N gives the same estimate at any worker count, up to
the rounding of the partial sums.

It prints its own compute time, measured with time.perf_counter around the
parallel part only (starting the pool, Pool.map and the sum; not the
interpreter's start-up, the imports or the pool's shutdown), as
`compute time: 0.812345 s`, and then the estimate on the last line, as
`pi = 3.141592653589793`. `piscale sweep` finds the estimate either way: with
the command's `estimate` pattern, or as the last number with a decimal point
on stdout; the `time` pattern reads the compute time. Standard library only.
"""

import argparse
import time
from multiprocessing import Pool


def partial_sum(task):
    """Sum 4 / (1 + x^2) at the midpoints of steps start..stop-1 of n."""
    start, stop, n = task
    h = 1.0 / n
    total = 0.0
    for i in range(start, stop):
        x = (i + 0.5) * h
        total += 4.0 / (1.0 + x * x)
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--samples", type=int, default=10_000_000, help="steps in total")
    parser.add_argument(
        "--ranges-per-worker",
        type=int,
        default=1,
        help="contiguous ranges of steps per worker (more: better balance, more messages)",
    )
    args = parser.parse_args()
    if args.workers < 1 or args.samples < 1 or args.ranges_per_worker < 1:
        parser.error("--workers, --samples and --ranges-per-worker must be at least 1")

    # Cut the steps into contiguous ranges as evenly as possible.
    n = args.samples
    ranges = args.workers * args.ranges_per_worker
    base, extra = divmod(n, ranges)
    tasks = []
    start = 0
    for r in range(ranges):
        stop = start + base + (1 if r < extra else 0)
        tasks.append((start, stop, n))
        start = stop

    begin = time.perf_counter()
    with Pool(args.workers) as pool:
        # chunksize=1: a worker that finishes a range takes the next one left
        total = sum(pool.map(partial_sum, tasks, chunksize=1))
        seconds = time.perf_counter() - begin

    print(f"samples={n} workers={args.workers} ranges={ranges}")
    print(f"compute time: {seconds:.6f} s")
    print(f"pi = {total / n:.15f}")


if __name__ == "__main__":
    main()
