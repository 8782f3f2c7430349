//! Your own program under the same microscope: `piscale sweep --command`.

use std::path::Path;

use crate::common::{assert_usage_error, piscale};

/// The repository root, where the course's scripts are.
fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn one_line_sweeps_a_script_alone_beside_serial() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pi1");
    let assert = piscale()
        .current_dir(root())
        .args([
            "sweep",
            "--command",
            "python3 scripts/pi1.py --workers {workers} --samples {samples}",
            "--samples",
            "1e5",
            "--workers",
            "1,2",
            "--reps",
            "2",
            "--warmup",
            "0",
            "--capacity",
            "0.01",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("sweeping pi1.py alone, beside piscale's serial kernel"),
        "{stderr}"
    );
    let mut reader = csv::Reader::from_path(out.join("raw.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let mut kernels = std::collections::BTreeSet::new();
    for row in reader.records() {
        let row = row.unwrap();
        assert_eq!(&row[col("status")], "ok", "{row:?}");
        assert_eq!(&row[col("method")], "mc", "only the command's method");
        kernels.insert(row[col("backend")].to_string());
        if &row[col("backend")] == "pi1.py" {
            let estimate: f64 = row[col("estimate")].parse().unwrap();
            assert!((estimate - std::f64::consts::PI).abs() < 0.05, "{row:?}");
            assert_eq!(&row[col("samples")], "100000");
        }
    }
    let kernels: Vec<String> = kernels.into_iter().collect();
    assert_eq!(kernels, ["capacity", "pi1.py", "serial"]);
}

#[test]
fn a_config_s_command_reads_its_own_estimate_and_time_and_runs_in_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pi2.toml");
    std::fs::write(
        &config,
        format!(
            "workers = [1, 2]\nreps = 2\nwarmup = 0\ncapacity_s = 0\n\n[[command]]\n\
             name = \"pi2.py\"\nrun = \"python3 scripts/pi2.py --workers {{workers}} --samples {{samples}}\"\n\
             method = \"midpoint\"\nsamples = \"2e5\"\ncwd = {:?}\n\
             estimate = 'pi = (?P<estimate>[-+0-9.eE]+)'\ntime = 'compute time: (?P<seconds>[0-9.eE+-]+) s'\n",
            root().canonicalize().unwrap()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    piscale()
        .current_dir(dir.path())
        .args(["sweep", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let mut reader = csv::Reader::from_path(out.join("raw.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let mut seen = 0;
    for row in reader.records() {
        let row = row.unwrap();
        assert_eq!(&row[col("status")], "ok", "{row:?}");
        if &row[col("backend")] != "pi2.py" {
            // serial, at the sweep's N (the command has its own).
            assert_eq!(&row[col("samples")], "10000000", "{row:?}");
            continue;
        }
        seen += 1;
        assert_eq!(&row[col("samples")], "200000");
        let estimate: f64 = row[col("estimate")].parse().unwrap();
        assert!((estimate - std::f64::consts::PI).abs() < 1e-9, "{row:?}");
        // Its own compute time splits its wall time into phases.
        let spawn: f64 = row[col("spawn_s")].parse().unwrap();
        let compute: f64 = row[col("compute_s")].parse().unwrap();
        let wall: f64 = row[col("wall_s")].parse().unwrap();
        assert!(spawn > 0.0 && compute > 0.0, "{row:?}");
        assert!((spawn + compute - wall).abs() < 1e-9, "{row:?}");
        // Pinned compactly: its affinity is the first CPUs.
        assert!(!row[col("cpus")].is_empty(), "{row:?}");
    }
    assert_eq!(seen, 4);
}

#[test]
fn a_command_that_cannot_run_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let out_arg = out.to_str().unwrap();
    let line = assert_usage_error(
        &[
            "sweep",
            "--command",
            "piscale-no-such-program {workers}",
            "--out",
            out_arg,
        ],
        "--command",
    );
    assert!(line.contains("not a program on PATH"), "{line}");
    let line = assert_usage_error(
        &["sweep", "--command", "echo {procs}", "--out", out_arg],
        "--command",
    );
    assert!(line.contains("unknown placeholder {procs}"), "{line}");
    let line = assert_usage_error(
        &["sweep", "--command", "echo 'unclosed", "--out", out_arg],
        "--command",
    );
    assert!(line.contains("cannot split"), "{line}");
    assert!(!out.exists());
    assert_usage_error(&["sweep", "--name", "x", "--out", out_arg], "--name");
}
