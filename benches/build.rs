//! Builds the C baselines when a C compiler is present and tells the bench
//! so: the start-up baseline (`c/fork_baseline.c`, `cfg(c_baseline)`) and
//! the kernels' references (`c/kernels_ref.c`, `cfg(c_kernels)`, at the
//! compiler's best: -O3 -march=native -ffast-math), and on x86-64 the
//! clock probe (`c/clock.c`, `cfg(c_clock)`: a chain of dependent adds).
//! Without a compiler the benches simply have no C entries.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(c_baseline)");
    println!("cargo::rustc-check-cfg=cfg(c_kernels)");
    println!("cargo::rustc-check-cfg=cfg(c_clock)");
    println!("cargo::rerun-if-changed=c/clock.c");
    println!("cargo::rerun-if-changed=c/fork_baseline.c");
    println!("cargo::rerun-if-changed=c/kernels_ref.c");
    let built = cc::Build::new()
        .file("c/fork_baseline.c")
        .opt_level(2)
        .cargo_warnings(false)
        .try_compile("fork_baseline");
    match built {
        Ok(()) => println!("cargo::rustc-cfg=c_baseline"),
        Err(e) => println!("cargo::warning=no C start-up baseline (no C compiler?): {e}"),
    }
    let kernels = cc::Build::new()
        .file("c/kernels_ref.c")
        .opt_level(3)
        .flag_if_supported("-march=native")
        .flag_if_supported("-ffast-math")
        .flag_if_supported("-fopenmp-simd")
        .cargo_warnings(false)
        .try_compile("kernels_ref");
    match kernels {
        Ok(()) => println!("cargo::rustc-cfg=c_kernels"),
        Err(e) => println!("cargo::warning=no C kernel references (no C compiler?): {e}"),
    }
    // The clock is an x86-64 `add` chain in inline assembly.
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86_64") {
        let clock = cc::Build::new()
            .file("c/clock.c")
            .opt_level(2)
            .cargo_warnings(false)
            .try_compile("clock");
        match clock {
            Ok(()) => println!("cargo::rustc-cfg=c_clock"),
            Err(e) => println!("cargo::warning=no clock probe (no C compiler?): {e}"),
        }
    }
}
