//! Builds the C baselines when a C compiler is present and tells the bench
//! so: the start-up baseline (`c/fork_baseline.c`, `cfg(c_baseline)`) and
//! the kernels' references (`c/kernels_ref.c`, `cfg(c_kernels)`, at the
//! compiler's best: -O3 -march=native -ffast-math), and on x86-64 the
//! clock probe (`c/clock.c`, `cfg(c_clock)`: a chain of dependent adds).
//! Without a compiler the benches simply have no C entries.

/// Compiles `c/<name>.c` at `opt` with `flags` (those the compiler
/// takes) and, when that works, sets `cfg(<cfg>)` for the benches; when it
/// does not, says what is missing.
fn build(name: &str, opt: u32, flags: &[&str], cfg: &str, what: &str) {
    println!("cargo::rustc-check-cfg=cfg({cfg})");
    println!("cargo::rerun-if-changed=c/{name}.c");
    let mut build = cc::Build::new();
    build
        .file(format!("c/{name}.c"))
        .opt_level(opt)
        .cargo_warnings(false);
    for flag in flags {
        build.flag_if_supported(flag);
    }
    match build.try_compile(name) {
        Ok(()) => println!("cargo::rustc-cfg={cfg}"),
        Err(e) => println!("cargo::warning=no {what} (no C compiler?): {e}"),
    }
}

fn main() {
    build("fork_baseline", 2, &[], "c_baseline", "C start-up baseline");
    let best = ["-march=native", "-ffast-math", "-fopenmp-simd"];
    build("kernels_ref", 3, &best, "c_kernels", "C kernel references");
    // The clock is an x86-64 `add` chain in inline assembly.
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86_64") {
        build("clock", 2, &[], "c_clock", "clock probe");
    } else {
        println!("cargo::rustc-check-cfg=cfg(c_clock)");
    }
}
