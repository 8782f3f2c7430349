#!/usr/bin/env python3
"""Monte Carlo estimate of pi with a pool of worker processes (course style).

    python3 scripts/pi1.py --workers 4 --samples 1000000 [--seed 0] [--start spawn]

Throw N darts at the unit square; the fraction that lands inside the quarter
circle x^2 + y^2 < 1 tends to pi/4. The darts are split into one share per
worker, each worker counts the hits of its share with its own seeded
random.Random, and Pool.map collects the counts.

It prints its own compute time, measured with time.perf_counter around the
parallel part only (starting the pool, Pool.map and the sum; not the
interpreter's start-up, the imports or the pool's shutdown), as
`compute time: 0.812345 s`, and then the estimate on the last line, as
`pi = 3.1415926536`. `piscale sweep` finds the estimate either way: with the
command's `estimate` pattern, or as the last number with a decimal point on
stdout; the `time` pattern reads the compute time. `--start` picks the
multiprocessing start method (fork, spawn or forkserver; default: this
Python's). Standard library only.
"""

import argparse
import random
import time
import multiprocessing


def count_hits(task):
    """Throw `samples` darts with the given seed; return how many hit."""
    seed, samples = task
    rng = random.Random(seed)
    hits = 0
    for _ in range(samples):
        x = rng.random()
        y = rng.random()
        if x * x + y * y < 1.0:
            hits += 1
    return hits


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--samples", type=int, default=1_000_000, help="darts in total")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random streams")
    parser.add_argument(
        "--start",
        choices=multiprocessing.get_all_start_methods(),
        default=None,
        help="multiprocessing start method (default: this Python's)",
    )
    args = parser.parse_args()
    if args.workers < 1 or args.samples < 1:
        parser.error("--workers and --samples must be at least 1")

    # Share the darts as evenly as possible; each worker gets its own seed.
    base, extra = divmod(args.samples, args.workers)
    tasks = [
        (f"{args.seed}/{worker}", base + (1 if worker < extra else 0))
        for worker in range(args.workers)
    ]

    start = time.perf_counter()
    context = multiprocessing.get_context(args.start)
    with context.Pool(args.workers) as pool:
        hits = sum(pool.map(count_hits, tasks))
        seconds = time.perf_counter() - start

    print(f"samples={args.samples} workers={args.workers} seed={args.seed}")
    print(f"compute time: {seconds:.6f} s")
    print(f"pi = {4 * hits / args.samples:.10f}")


if __name__ == "__main__":
    main()
