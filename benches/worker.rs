//! The program the benchmarks' spawned workers run (`--start spawn`): a
//! bench binary cannot serve as one itself.

fn main() {
    piscale_kernels::start::serve_if_worker();
    eprintln!("piscale-bench-worker: only a process backend's spawned worker runs this");
    std::process::exit(2);
}
