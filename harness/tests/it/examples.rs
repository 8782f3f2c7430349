//! The shipped examples of your own code under piscale: an OpenMP program
//! (`configs/openmp.toml`) and an MPI one (`configs/mpi-command.toml`),
//! compiled here and swept through their configs, made small.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::piscale;

fn root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .canonicalize()
        .unwrap()
}

/// Compiles `source` (from the repository root) with `compiler` and `flags`
/// into `dir`; returns the program's path.
fn compile(compiler: &str, flags: &[&str], source: &str, dir: &Path) -> PathBuf {
    let program = dir.join(Path::new(source).file_stem().unwrap());
    let status = Command::new(compiler)
        .args(flags)
        .arg("-o")
        .arg(&program)
        .arg(root().join(source))
        .status()
        .unwrap_or_else(|e| panic!("{compiler} cannot run: {e}"));
    assert!(status.success(), "{compiler} {source}: {status}");
    program
}

/// The shipped `config` with its program at `program`, small: N = 2^24,
/// 1 and 2 workers, 1 repetition, no warm-up, no capacity.
fn small_config(config: &str, built: &str, program: &Path, dir: &Path) -> PathBuf {
    let mut text = std::fs::read_to_string(root().join(config)).unwrap();
    for (from, to) in [
        (built.to_string(), program.display().to_string()),
        ("samples = \"2^30\"".into(), "samples = \"2^24\"".into()),
        (
            "workers = \"auto\"".into(),
            "workers = [1, 2]\ncapacity_s = 0".into(),
        ),
        ("reps = 5".into(), "reps = 1".into()),
        ("warmup = 1".into(), "warmup = 0".into()),
    ] {
        assert!(text.contains(&from), "{config} has no {from}");
        text = text.replace(&from, &to);
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Sweeps `config` and checks every row of `name`: ok, its estimate read
/// through its pattern, its own compute time split from its start-up.
fn sweep_and_check(config: &Path, name: &str, dir: &Path) {
    let out = dir.join("out");
    piscale()
        .args(["sweep", "--config"])
        .arg(config)
        .arg("--out")
        .arg(&out)
        // mpirun refuses to run as root without these (CI containers).
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .assert()
        .success();
    let mut reader = csv::Reader::from_path(out.join("raw.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    let mut rows = 0;
    for row in reader.records() {
        let row = row.unwrap();
        assert_eq!(&row[col("status")], "ok", "{row:?}");
        if &row[col("backend")] != name {
            continue;
        }
        rows += 1;
        let estimate: f64 = row[col("estimate")].parse().unwrap();
        assert!((estimate - std::f64::consts::PI).abs() < 1e-9, "{row:?}");
        let compute: f64 = row[col("compute_s")].parse().unwrap();
        assert!(compute > 0.0, "{row:?}");
    }
    assert_eq!(rows, 2, "{name} at 1 and 2 workers");
}

#[test]
fn the_openmp_example_sweeps_through_its_config() {
    let dir = tempfile::tempdir().unwrap();
    let program = compile(
        "gcc",
        &["-O2", "-fopenmp"],
        "examples/openmp/pi_omp.c",
        dir.path(),
    );
    let config = small_config("configs/openmp.toml", "target/pi_omp", &program, dir.path());
    sweep_and_check(&config, "pi_omp", dir.path());
}

/// With Open MPI installed: `cargo test -p piscale --features mpi`.
#[cfg(feature = "mpi")]
#[test]
fn the_mpi_example_sweeps_through_its_config() {
    let dir = tempfile::tempdir().unwrap();
    let program = compile("mpicc", &["-O2"], "examples/mpi/pi_mpi.c", dir.path());
    let config = small_config(
        "configs/mpi-command.toml",
        "target/pi_mpi",
        &program,
        dir.path(),
    );
    sweep_and_check(&config, "pi_mpi", dir.path());
}
