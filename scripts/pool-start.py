#!/usr/bin/env python3
"""How long Python's multiprocessing takes to start a Pool, per start method.

    python3 scripts/pool-start.py [--workers 1,2] [--repeat 30]

For each start method this Python has (fork, spawn, forkserver) and each
worker count, it times --repeat times: create a Pool, map a trivial function
over one task per worker, close and join it — the cost a course's Pool.map
pays before any pi is computed — and prints the median and the interquartile
range in microseconds, one line per case, e.g.

    fork        1 workers: median 7123 us (IQR 6890-7410), 30 runs

Compare with `cargo bench -p piscale-benches --bench kernels -- start/`
(piscale's fork and spawn). Standard library only.
"""

import argparse
import multiprocessing as mp
import statistics
import time


def trivial(x):
    """A task that does nothing: the start-up is all there is."""
    return x


def once(ctx, workers):
    start = time.perf_counter()
    with ctx.Pool(workers) as pool:
        pool.map(trivial, range(workers))
        pool.close()
        pool.join()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="worker counts, e.g. 1,2")
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per case")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    if args.repeat < 1 or any(w < 1 for w in counts):
        parser.error("--workers and --repeat must be at least 1")
    for method in ("fork", "spawn", "forkserver"):
        if method not in mp.get_all_start_methods():
            print(f"{method:10}  not available here")
            continue
        ctx = mp.get_context(method)
        for workers in counts:
            once(ctx, workers)  # warm-up: the forkserver starts on first use
            runs = sorted(once(ctx, workers) for _ in range(args.repeat))
            q = statistics.quantiles(runs, n=4) if len(runs) > 1 else [runs[0]] * 3
            print(
                f"{method:10} {workers:2} workers: median {statistics.median(runs) * 1e6:.0f} us "
                f"(IQR {q[0] * 1e6:.0f}-{q[2] * 1e6:.0f}), {len(runs)} runs"
            )


if __name__ == "__main__":
    main()
