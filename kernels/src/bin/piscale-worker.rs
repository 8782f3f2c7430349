//! The program a spawned worker runs (`--start spawn`) when the process
//! that spawns it cannot serve as one itself — the kernels' own test
//! binaries, which point [`piscale_kernels::start::set_worker_program`]
//! here. `piscale` serves its spawned workers itself.

fn main() {
    piscale_kernels::start::serve_if_worker();
    eprintln!(
        "piscale-worker: run by a process backend started with --start spawn, \
         with {} first",
        piscale_kernels::start::WORKER_ARG
    );
    std::process::exit(2);
}
