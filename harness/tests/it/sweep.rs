//! `piscale sweep` end to end: the files and their columns, bad input,
//! interruption and resume, and a command kernel.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{children_of, piscale};

/// The header of `raw.csv`, shared by the tests that count its columns.
pub(crate) const RAW_COLUMNS: &str = "run_id,timestamp,method,backend,mode,workers,samples,samples_per_worker,block,chunksize,pin,seed,rep,wall_s,spawn_s,compute_s,reduce_s,estimate,abs_error,std_error,cpus,placement_ok,oversubscribed,status,error,isa,hosts,steal_s,stall_s,runnable,disturbed,attempts,core_kinds,busy_s,work,rates,start,launch";
const SUMMARY_COLUMNS: &str = "method,backend,mode,workers,samples,reps,failed,median_s,min_s,max_s,ci_low_s,ci_high_s,ci_coverage,cv,speedup,speedup_low,speedup_high,speedup_coverage,speedup_vs_serial,efficiency,efficiency_low,efficiency_high,karp_flatt,samples_per_ns_per_core,noisy,disturbed,capacity,capacity_low,capacity_high,of_capacity,load_balance,overhead_efficiency,computation_scalability,machine_scalability,code_scalability,wrong,start";

/// The library's backends, as `piscale list` names them (mpi aside).
fn library_backends() -> Vec<String> {
    let out = piscale().arg("list").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .skip_while(|l| !l.starts_with("Backends"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "mpi")
        .map(str::to_owned)
        .collect()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The sweep's answer lines are its tables' entries: for each line
/// `speed-up on this system at P workers: X× [L–H] (backend, method)`,
/// the table of that method has, in the row of that backend and the column
/// p=P, a cell starting with `X× [L–H]`.
#[test]
fn the_answer_is_the_table_entry_of_the_backend_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("answer");
    let assert = piscale()
        .args([
            "sweep",
            "--methods",
            "mc,midpoint",
            "--backends",
            "serial,threads,rayon,fork-pipe",
            "--workers",
            "1,2",
            "--samples",
            "2^22",
            "--reps",
            "3",
            "--warmup",
            "0",
            "--pin",
            "none",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    // The cell of `backend` at p workers in `method`'s strong-scaling table.
    let cell = |method: &str, backend: &str, p: usize| -> String {
        let title = format!("{method}, strong scaling");
        let table: Vec<&str> = stdout
            .lines()
            .skip_while(|l| !l.starts_with(&title))
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            .collect();
        let header: Vec<&str> = table[0].split_whitespace().collect();
        let column = header.iter().position(|h| *h == format!("p={p}")).unwrap();
        let row = table
            .iter()
            .find(|l| l.split_whitespace().next() == Some(backend))
            .unwrap_or_else(|| panic!("no row {backend} in {table:?}"));
        // Cells hold spaces (`1.95× [1.90–2.01] (98%)`): split on the
        // columns' two-space gaps.
        let cells: Vec<&str> = row
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        cells[column].to_string()
    };
    let answers: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("speed-up on this system at "))
        .collect();
    assert_eq!(answers.len(), 2, "one answer per method: {stdout}");
    for answer in answers {
        let (head, rest) = answer.split_once(": ").unwrap();
        let p: usize = head
            .trim_start_matches("speed-up on this system at ")
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let (figure, named) = rest.split_once(" (").unwrap();
        let named = named.split(')').next().unwrap();
        let (backend, method) = named.split_once(", ").unwrap();
        let entry = cell(method, backend, p);
        assert!(
            entry.starts_with(figure),
            "answer {figure:?} but the table says {entry:?}\n{stdout}"
        );
    }
    // The live lines (one per finished point, stderr not being a terminal)
    // say the table's speed-up, or that theirs is only so far.
    let mut checked = 0;
    for line in stderr.lines().filter(|l| l.contains(", speed-up ")) {
        let (label, rest) = line.split_once(": median ").unwrap();
        let words: Vec<&str> = label.split_whitespace().collect();
        let [method, backend, "strong", p] = words[..] else {
            panic!("{line}")
        };
        let p: usize = p.trim_start_matches("p=").parse().unwrap();
        let speedup = rest.split(", speed-up ").nth(1).unwrap();
        if speedup.starts_with("so far ") {
            continue;
        }
        let speedup = speedup.split([' ', ',']).next().unwrap();
        let entry = cell(method, backend, p);
        assert!(
            entry.starts_with(speedup),
            "live {line:?} but the table says {entry:?}"
        );
        checked += 1;
    }
    assert!(checked > 0, "{stderr}");
}

#[test]
fn a_quick_sweep_writes_every_file_with_every_column() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("quick");
    let assert = piscale()
        .args([
            "sweep",
            "--config",
            "../configs/quick.toml",
            "--samples",
            "2^20",
            "--reps",
            "2",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.contains("speed-up on this system at 2 workers:"),
        "{stdout}"
    );

    let raw = lines(&out.join("raw.csv"));
    assert_eq!(raw[0], RAW_COLUMNS);
    // Every backend of the library (as `piscale list` names them, but mpi).
    let backends = library_backends();
    assert!(backends.len() >= 7, "{backends:?}");
    // 2 methods × (serial@1 + the capacity and every other backend × 2
    // worker counts) × 2 reps.
    let points = 2 * (1 + backends.len() * 2);
    assert_eq!(raw.len() - 1, points * 2);
    assert!(raw[1..].iter().all(|r| r.contains(",ok,")), "{raw:?}");
    for backend in &backends {
        assert!(
            raw.iter()
                .any(|r| r.contains(&format!(",{backend},strong,"))),
            "{backend} missing"
        );
    }
    let summary = lines(&out.join("summary.csv"));
    assert_eq!(summary[0], SUMMARY_COLUMNS);
    assert_eq!(summary.len() - 1, points);
    // On real data, every backend's factors multiply back to its
    // efficiency and to its fraction of the capacity.
    let column = |name: &str| SUMMARY_COLUMNS.split(',').position(|c| c == name).unwrap();
    let mut explained = 0;
    for line in &summary[1..] {
        let cells: Vec<&str> = line.split(',').collect();
        let get = |name: &str| cells[column(name)].parse::<f64>().ok();
        let factors = [
            "load_balance",
            "overhead_efficiency",
            "machine_scalability",
            "code_scalability",
        ]
        .map(get);
        if cells[column("backend")] == "capacity" || factors.iter().any(Option::is_none) {
            continue;
        }
        let [lb, oe, machine, code] = factors.map(Option::unwrap);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
        assert!(
            close(lb * oe * machine * code, get("efficiency").unwrap()),
            "{line}"
        );
        assert!(close(lb * oe * code, get("of_capacity").unwrap()), "{line}");
        explained += 1;
    }
    // Every backend but serial at 2 workers, and at 1, for both methods.
    assert!(explained >= 2 * 2 * (backends.len() - 1), "{summary:?}");

    let machine: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("machine.json")).unwrap()).unwrap();
    for key in [
        "cpu_model",
        "logical_cpus",
        "usable_cpus",
        "hostname",
        "config",
        "command_line",
        "load_average",
    ] {
        assert!(
            machine.get(key).is_some(),
            "machine.json lacks {key}: {machine}"
        );
    }
    assert!(out.join("config.toml").is_file());
}

#[test]
fn an_existing_out_dir_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
    let line = crate::common::assert_usage_error(
        &["sweep", "--out", dir.path().to_str().unwrap()],
        "--out",
    );
    assert!(
        line.contains("--force") && line.contains("--resume"),
        "{line}"
    );
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1, "the folder was written to");
}

#[test]
fn bad_configs_exit_2_naming_file_line_and_key_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "unknown-key.toml",
            "methods = [\"mc\"]\nbakends = [\"threads\"]\n",
            "bakends",
        ),
        ("wrong-type.toml", "reps = \"many\"\n", "reps"),
        ("zero-reps.toml", "reps = 0\n", "reps"),
        ("unknown-backend.toml", "backends = [\"gpu\"]\n", "gpu"),
        ("malformed.toml", "methods = [\"mc\"\n", "malformed.toml"),
        ("negative.toml", "samples = -5\n", "samples"),
    ];
    for (name, text, key) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        let out = dir.path().join(format!("{name}.out"));
        let line = crate::common::assert_usage_error(
            &[
                "sweep",
                "--config",
                file.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            key,
        );
        assert!(line.contains(name), "{name}: {line}");
        assert!(!out.exists(), "{name}: the out dir was created");
    }
    let line = crate::common::assert_usage_error(
        &["sweep", "--config", "/no/such/file.toml"],
        "/no/such/file.toml",
    );
    assert!(!line.is_empty());
}

#[test]
fn sigint_keeps_finished_rows_and_resume_completes_the_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("interrupted");
    let args = [
        "sweep",
        "--methods",
        "mc",
        "--backends",
        "fork-pipe,pool-map,threads",
        "--workers",
        "1,2",
        "--samples",
        "2^26",
        "--reps",
        "3",
        "--warmup",
        "0",
        "--pin",
        "none",
        "--capacity",
        "0",
        "--out",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_piscale"))
        .args(args)
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let start = Instant::now();
    let raw = out.join("raw.csv");
    // Wait for a few rows, then interrupt while a process backend may be running.
    while !raw.exists() || lines(&raw).len() < 4 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no rows appeared"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let stopped = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if stopped.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("piscale did not stop within 10 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(130));
    assert!(children_of(pid).is_empty(), "workers outlived piscale");
    let partial = lines(&raw).len() - 1;
    // serial@1 + 3 backends × 2 worker counts, 3 reps each.
    let total = 7 * 3;
    assert!(
        partial < total,
        "the sweep finished before the interrupt ({partial} rows)"
    );
    assert!(out.join("summary.csv").is_file());

    piscale()
        .args(["sweep", "--resume", "--out"])
        .arg(&out)
        .assert()
        .success();
    let rows = lines(&raw);
    assert_eq!(rows.len() - 1, total);
    let mut keys: Vec<String> = rows[1..]
        .iter()
        .map(|r| {
            let f: Vec<&str> = r.split(',').collect();
            // method, backend, mode, workers, samples, rep
            format!("{} {} {} {} {} {}", f[2], f[3], f[4], f[5], f[6], f[12])
        })
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(
        keys.len(),
        total,
        "duplicate (point, rep) rows after --resume"
    );
}

#[test]
fn a_command_kernel_sweeps_the_course_script() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("course.toml");
    std::fs::write(
        &config,
        "methods = [\"mc\"]\nbackends = [\"serial\"]\nworkers = [1, 2]\nsamples = 20000\nreps = 1\nwarmup = 0\n\
         [[command]]\nname = \"pi1.py\"\nrun = \"python3 ../scripts/pi1.py --workers {workers} --samples {samples}\"\n",
    )
    .unwrap();
    let out = dir.path().join("course");
    piscale()
        .args(["sweep", "--config", config.to_str().unwrap(), "--out"])
        .arg(&out)
        .assert()
        .success();
    let rows = lines(&out.join("raw.csv"));
    let pi1: Vec<&String> = rows.iter().filter(|r| r.contains(",pi1.py,")).collect();
    assert_eq!(pi1.len(), 2, "{rows:?}");
    for row in pi1 {
        let f: Vec<&str> = row.split(',').collect();
        let estimate: f64 = f[17].parse().unwrap();
        assert!((estimate - std::f64::consts::PI).abs() < 0.1, "{row}");
        assert_eq!(f[23], "ok", "{row}");
    }
}

#[test]
fn every_committed_results_folder_still_plots_and_compares() {
    // Written by earlier versions of piscale (some before the `isa` and
    // `hosts` columns).
    let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results");
    let mut seen = 0;
    for entry in std::fs::read_dir(&results).unwrap() {
        let folder = entry.unwrap().path();
        if !folder.join("raw.csv").is_file() {
            continue;
        }
        seen += 1;
        let dir = tempfile::tempdir().unwrap();
        for file in ["raw.csv", "summary.csv", "machine.json", "config.toml"] {
            std::fs::copy(folder.join(file), dir.path().join(file)).unwrap();
        }
        piscale().arg("plot").arg(dir.path()).assert().success();
        assert!(dir.path().join("report.html").is_file(), "{folder:?}");
        assert!(
            dir.path().join("plots/speedup-mc.png").is_file(),
            "{folder:?}"
        );
        piscale()
            .arg("compare")
            .arg(&folder)
            .arg(dir.path())
            .assert()
            .success()
            .stdout(predicates::str::contains("**No regression**"));
    }
    assert!(seen >= 2, "only {seen} committed results folders");
}

/// Workers pinned to fewer CPUs than there are workers share a CPU: the
/// rows say they were oversubscribed, whatever the machine's CPU count.
#[test]
fn workers_pinned_to_one_cpu_are_recorded_oversubscribed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pinned");
    piscale()
        .args([
            "sweep",
            "--methods",
            "mc",
            "--backends",
            "threads",
            "--workers",
            "2",
            "--pin",
            "0",
            "--oversubscribe",
            "--reps",
            "1",
            "--warmup",
            "0",
            "--samples",
            "2^20",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let raw = lines(&out.join("raw.csv"));
    let header: Vec<&str> = raw[0].split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let threads = raw
        .iter()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f[col("backend")] == "threads")
        .unwrap();
    assert_eq!(threads[col("cpus")], "0;0");
    assert_eq!(threads[col("oversubscribed")], "true");
}

/// The GitHub Actions recipe the README points to parses, saves the
/// baseline on main only, restores it on pull requests only, and runs the
/// script that exists.
#[test]
fn the_ci_recipe_saves_the_baseline_on_main_and_restores_it_on_pull_requests() {
    use yaml_rust2::YamlLoader;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("scripts/github-actions-scaling.yml")).unwrap();
    let docs = YamlLoader::load_from_str(&text).expect("the recipe is YAML");
    let steps = docs[0]["jobs"]["scaling"]["steps"]
        .as_vec()
        .expect("a scaling job with steps");
    let step = |action: &str| {
        steps
            .iter()
            .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
            .unwrap_or_else(|| panic!("no {action} step"))
    };
    let restore = step("actions/cache/restore@");
    let save = step("actions/cache/save@");
    assert!(restore["if"].as_str().unwrap().contains("pull_request"));
    assert!(save["if"].as_str().unwrap().contains("refs/heads/main"));
    let key = |s: &yaml_rust2::Yaml| s["with"]["key"].as_str().unwrap().to_owned();
    let prefix = restore["with"]["restore-keys"].as_str().unwrap();
    assert!(key(save).starts_with(prefix) && key(restore).starts_with(prefix));
    assert_eq!(
        restore["with"]["path"].as_str(),
        save["with"]["path"].as_str()
    );
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(runs.iter().any(|r| r.contains("scripts/ci-scaling.sh")));
    assert!(root.join("scripts/ci-scaling.sh").is_file());
}
