//! Builds the C start-up baseline (`c/fork_baseline.c`) when a C compiler
//! is present, and tells the bench so (`cfg(c_baseline)`); without one the
//! bench simply has no C entry.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(c_baseline)");
    println!("cargo::rerun-if-changed=c/fork_baseline.c");
    let built = cc::Build::new()
        .file("c/fork_baseline.c")
        .opt_level(2)
        .cargo_warnings(false)
        .try_compile("fork_baseline");
    match built {
        Ok(()) => println!("cargo::rustc-cfg=c_baseline"),
        Err(e) => println!("cargo::warning=no C start-up baseline (no C compiler?): {e}"),
    }
}
