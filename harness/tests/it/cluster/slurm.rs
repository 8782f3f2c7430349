//! The `mpi` backend under a real Slurm (22.05, `slurm-wlm`) with Open MPI
//! and PMIx: inside `salloc`, the launcher `auto` is `srun --mpi=pmix`.
//!
//! Every test takes its own allocation named after it (`salloc -J`), so it
//! can check that its job is gone at the end; on a small node the
//! allocations queue, which only serialises the tests.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::mpi::{assert_no_rank_left, rank_once_all_run, KillOnDrop};

/// Serial's hits for 1e8 darts, seed 3 (the MPI tests' reference value).
const SERIAL_HITS: u64 = 78_540_512;

fn piscale_bin() -> &'static str {
    env!("CARGO_BIN_EXE_piscale")
}

/// Panics with the way to start the cluster when `sinfo` cannot reach one.
fn require_cluster() {
    let up = Command::new("sinfo")
        .args(["--noheader", "--format=%t"])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    assert!(
        up,
        "no Slurm cluster answers `sinfo`: run `scripts/slurm-local.sh start` and \
         `eval \"$(scripts/slurm-local.sh env)\"` first"
    );
}

/// `salloc -n RANKS -J NAME --time=10 ARGS…`: runs `args` inside a fresh
/// allocation and returns its output; afterwards the job is gone.
fn in_allocation(name: &str, ranks: usize, args: &[&str]) -> Output {
    require_cluster();
    let out = Command::new("salloc")
        .args(["-n", &ranks.to_string(), "-J", name, "--time=10"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("salloc runs");
    assert_job_gone(name);
    out
}

/// Waits until Slurm lists no job named `name`, at most 20 s.
fn assert_job_gone(name: &str) {
    let start = Instant::now();
    loop {
        let listed = Command::new("squeue")
            .args(["--noheader", &format!("--name={name}"), "--format=%i %T"])
            .output()
            .expect("squeue runs");
        let text = String::from_utf8_lossy(&listed.stdout).trim().to_owned();
        if listed.status.success() && text.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "job {name} is still listed: {text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `piscale run --format json ARGS` inside an allocation of `ranks`.
fn run_json_in_allocation(name: &str, ranks: usize, args: &[&str]) -> Value {
    let out = in_allocation(
        name,
        ranks,
        &[&[piscale_bin(), "run", "--format", "json"], args].concat(),
    );
    assert!(
        out.status.success(),
        "piscale run {args:?} failed: {}",
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn numbers(v: &Value, key: &str) -> Vec<u64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect()
}

/// The launch line starts with srun, asks for PMIx and binds as `bind`.
fn assert_srun_line(launch: &str, ranks: usize, bind: &str) {
    let words = shell_words::split(launch).unwrap();
    assert!(
        Path::new(&words[0]).file_name() == Some("srun".as_ref()),
        "{launch}"
    );
    assert_eq!(
        words[1..3],
        ["-n".to_string(), ranks.to_string()],
        "{launch}"
    );
    assert!(words.contains(&"--mpi=pmix".to_string()), "{launch}");
    assert!(words.contains(&format!("--cpu-bind={bind}")), "{launch}");
}

#[test]
#[ignore = "needs a Slurm cluster: run by .ci/run (scripts/slurm-local.sh start)"]
fn srun_ranks_give_serials_hits_and_the_row_says_srun_started_them() {
    let job = ["--method", "mc", "--samples", "1e8", "--seed", "3"];
    let v = run_json_in_allocation(
        "piscale-test-hits",
        2,
        &[&job[..], &["--backend", "mpi", "--workers", "2"]].concat(),
    );
    assert_eq!(v["hits"].as_u64(), Some(SERIAL_HITS), "{v}");
    assert_srun_line(v["launch"].as_str().unwrap(), 2, "none");
    let host = sysinfo_host();
    assert_eq!(v["hosts"], serde_json::json!([host, host]), "{v}");
    // Midpoint: bit-identical to serial's, at 2 ranks under srun.
    let mid = ["--method", "midpoint", "--samples", "3e7", "--block", "1e5"];
    let serial = crate::common::run_json(&[&mid[..], &["--backend", "serial"]].concat());
    let v = run_json_in_allocation(
        "piscale-test-midpoint",
        2,
        &[&mid[..], &["--backend", "mpi", "--workers", "2"]].concat(),
    );
    assert_eq!(v["estimate"], serial["estimate"], "{v}");
}

/// This host's name as the ranks report it.
fn sysinfo_host() -> String {
    let out = Command::new("hostname").output().unwrap();
    text(&out.stdout).trim().to_owned()
}

#[test]
#[ignore = "needs a Slurm cluster: run by .ci/run (scripts/slurm-local.sh start)"]
fn ranks_are_bound_by_srun_or_pin_themselves_as_asked() {
    let cpus_here: Vec<u64> = piscale_kernels::CpuList::usable()
        .unwrap()
        .0
        .iter()
        .map(|&c| c as u64)
        .collect();
    let ranks = cpus_here.len().min(2);
    // srun binds: --bind-to core is srun --cpu-bind=cores, one core per rank.
    let bound = run_json_in_allocation(
        "piscale-test-bind",
        ranks,
        &[
            "--backend",
            "mpi",
            "--workers",
            &ranks.to_string(),
            "--samples",
            "2^24",
            "--bind-to",
            "core",
        ],
    );
    assert_srun_line(bound["launch"].as_str().unwrap(), ranks, "cores");
    assert!(
        !bound["launch"].as_str().unwrap().contains("--cpus"),
        "{bound}"
    );
    let mut cpus = numbers(&bound, "cpus");
    cpus.sort_unstable();
    assert_eq!(
        cpus,
        cpus_here[..ranks],
        "each rank on a core of its own: {bound}"
    );
    // The ranks pin themselves: srun must not bind, rank r on the r-th CPU.
    let own = run_json_in_allocation(
        "piscale-test-pin",
        ranks,
        &[
            "--backend",
            "mpi",
            "--workers",
            &ranks.to_string(),
            "--samples",
            "2^24",
            "--pin",
            "compact",
        ],
    );
    assert_srun_line(own["launch"].as_str().unwrap(), ranks, "none");
    assert_eq!(numbers(&own, "cpus"), cpus_here[..ranks], "{own}");
}

#[test]
#[ignore = "needs a Slurm cluster: run by .ci/run (scripts/slurm-local.sh start)"]
fn a_sweep_in_an_allocation_launches_every_mpi_row_with_srun() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let done = in_allocation(
        "piscale-test-sweep",
        2,
        &[
            piscale_bin(),
            "sweep",
            "--backends",
            "serial,mpi",
            "--methods",
            "mc",
            "--modes",
            "strong",
            "--workers",
            "1,2",
            "--samples",
            "2^24",
            "--reps",
            "2",
            "--warmup",
            "0",
            "--capacity",
            "0",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(done.status.success(), "{}", text(&done.stderr));
    let mut rows = csv::Reader::from_path(out.join("raw.csv")).unwrap();
    let header = rows.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut serial = None;
    let mut mpi = Vec::new();
    for row in rows.records() {
        let row = row.unwrap();
        let estimate = row[col("estimate")].to_string();
        match &row[col("backend")] {
            "serial" => serial = Some(estimate),
            "mpi" => mpi.push((
                row[col("workers")].parse::<usize>().unwrap(),
                estimate,
                row[col("launch")].to_string(),
                row[col("hosts")].to_string(),
                row[col("cpus")].to_string(),
            )),
            other => panic!("unexpected backend {other}"),
        }
    }
    assert_eq!(mpi.len(), 4, "two reps at 1 and 2 ranks: {mpi:?}");
    // What the note quotes: each row's ranks, hosts, CPUs and launcher.
    for (workers, estimate, launch, hosts, cpus) in &mpi {
        eprintln!("mpi {workers} ranks: hosts {hosts}, cpus {cpus}, estimate {estimate}, {launch}");
        assert_eq!(Some(estimate), serial.as_ref(), "bit-identical to serial");
        assert_srun_line(launch, *workers, "none");
        assert_eq!(hosts.split(';').count(), *workers);
    }
}

#[test]
#[ignore = "needs a Slurm cluster: run by .ci/run (scripts/slurm-local.sh start)"]
fn a_rank_killed_under_srun_fails_the_run_naming_it_and_nothing_is_left() {
    require_cluster();
    let seed = 9_190_001;
    let name = "piscale-test-kill";
    let child = Command::new("salloc")
        .args(["-n", "2", "-J", name, "--time=10", piscale_bin(), "run"])
        .args(["--backend", "mpi", "--workers", "2", "--samples", "2^42"])
        .args(["--seed", &seed.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let child = KillOnDrop(Some(child));
    // The allocation may wait for another test's.
    let victim = rank_once_all_run(seed, 2, 1, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(victim),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let out = child.wait_with_output();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let host = sysinfo_host();
    assert!(
        stderr.contains(&format!("mpi: rank 1 (on {host}) failed: Killed")),
        "{stderr}"
    );
    assert_no_rank_left(seed);
    assert_job_gone(name);
}

/// Runs the shell line `run` (a piscale run of ranks with `seed` that
/// fails) in an allocation named `name`, then lists the job's steps at
/// once ("steps: …" on stdout): piscale waits until its step is gone before
/// it exits (a cancelled step lingers for seconds otherwise). Checks that
/// piscale failed saying `error`, and no step and no rank was left.
fn fails_leaving_no_step(name: &str, seed: u64, run: &str, error: &str) {
    let script = format!(
        "{run}; rc=$?; echo steps: $(squeue --steps --noheader --jobs=$SLURM_JOB_ID); exit $rc"
    );
    let out = in_allocation(name, 2, &["sh", "-c", &script]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(error), "wanted {error:?} in {stderr}");
    assert_eq!(text(&out.stdout).trim(), "steps:", "{stderr}");
    assert_no_rank_left(seed);
}

#[test]
#[ignore = "needs a Slurm cluster: run by .ci/run (scripts/slurm-local.sh start)"]
fn a_timeout_under_srun_takes_the_step_down_and_leaves_nothing() {
    let seed = 9_190_002;
    let run = format!(
        "{} run --backend mpi --workers 2 --samples 2^42 --seed {seed} --timeout 1",
        piscale_bin()
    );
    let error = "mpi: timed out after 1 s and was killed";
    fails_leaving_no_step("piscale-test-timeout", seed, &run, error);
}

#[test]
#[ignore = "needs a Slurm cluster: run by .ci/run (scripts/slurm-local.sh start)"]
fn a_step_whose_srun_was_killed_is_cancelled_before_piscale_exits() {
    let seed = 9_190_003;
    // srun killed hard cannot take its step down (its ranks here go with
    // piscale's tag, but the step stays listed for seconds, and on other
    // nodes the ranks would compute on): piscale must scancel it.
    let srun = format!("'^[^ ]*srun .*--seed {seed} '");
    let run = format!(
        "{bin} run --backend mpi --workers 2 --samples 2^42 --seed {seed} & \
         for i in $(seq 300); do pgrep -f {srun} >/dev/null && break; sleep 0.1; done; \
         sleep 1; pkill -KILL -f {srun}; wait $!",
        bin = piscale_bin()
    );
    let error = "mpi: the launcher failed (signal: 9 (SIGKILL))";
    fails_leaving_no_step("piscale-test-srun-killed", seed, &run, error);
}

#[test]
#[ignore = "needs a Slurm cluster: run by .ci/run (scripts/slurm-local.sh start)"]
fn without_pmix_the_ranks_death_in_mpi_init_is_explained() {
    let out = in_allocation(
        "piscale-test-nopmix",
        2,
        &[
            piscale_bin(),
            "run",
            "--backend",
            "mpi",
            "--workers",
            "2",
            "--samples",
            "2^20",
            "--srun-mpi",
            "none",
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let error: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("Error: "))
        .collect();
    assert_eq!(error.len(), 1, "{stderr}");
    assert!(
        error[0].starts_with(
            "Error: mpi: the ranks died in MPI_Init under srun: srun ran them with --mpi=none, \
             which gives Open MPI no PMIx server; use --srun-mpi pmix"
        ),
        "{stderr}"
    );
}

#[test]
#[ignore = "needs a Slurm cluster: run by .ci/run (scripts/slurm-local.sh start)"]
fn the_readmes_batch_script_runs_through_sbatch_and_leaves_its_results() {
    require_cluster();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("small.toml");
    // configs/cluster.toml's shape (mpi only, srun binding cores), small.
    std::fs::write(
        &config,
        "methods = [\"mc\"]\nbackends = [\"mpi\"]\nmodes = [\"strong\"]\nworkers = [1, 2]\n\
         samples = \"2^24\"\nreps = 2\nwarmup = 0\npin = \"none\"\ncapacity_s = 0\n\
         [mpi]\nlauncher = \"srun\"\nbind_to = \"core\"\n",
    )
    .unwrap();
    let out = dir.path().join("results");
    let log = dir.path().join("job.out");
    let name = "piscale-test-sbatch";
    let submitted = Command::new("sbatch")
        .args([
            "--wait",
            "-J",
            name,
            "--nodes=1",
            "--ntasks=2",
            "--ntasks-per-node=2",
        ])
        .arg(format!("--output={}", log.display()))
        .arg(format!(
            "--export=ALL,PISCALE={},PISCALE_CONFIG={},PISCALE_OUT={}",
            piscale_bin(),
            config.display(),
            out.display()
        ))
        .arg(root.join("examples/slurm/piscale.sbatch"))
        .current_dir(&root)
        .output()
        .expect("sbatch runs");
    let job_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        submitted.status.success(),
        "sbatch failed: {}\n{job_log}",
        text(&submitted.stderr)
    );
    // The script's `srun --version`: "slurm-wlm 22.05.8" on Debian.
    assert!(job_log.contains("slurm"), "{job_log}");
    for file in [
        "raw.csv",
        "summary.csv",
        "config.toml",
        "machine.json",
        "report.md",
    ] {
        assert!(
            out.join(file).is_file(),
            "no {file} in {}: {job_log}",
            out.display()
        );
    }
    let raw = std::fs::read_to_string(out.join("raw.csv")).unwrap();
    let launched: Vec<&str> = raw
        .lines()
        .skip(1)
        .filter(|l| l.contains("--cpu-bind=cores"))
        .collect();
    assert_eq!(
        launched.len(),
        4,
        "every mpi row launched by srun binding cores: {raw}"
    );
    assert_job_gone(name);
}
