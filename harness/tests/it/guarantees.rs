//! The fault campaign, kept: each test reproduces one way a hostile user or
//! a flaky machine lost data or left a mess, and asserts the promise — a
//! clear error naming what failed, the right exit status, every finished
//! row intact, no process left behind.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{assert_usage_error, piscale, piscale_process};

/// A small, fast sweep into `out` (mc, serial and threads at 1 and 2
/// workers, 2 reps): `extra` flags go last.
fn small_sweep(out: &Path, extra: &[&str]) -> Command {
    sweep_with_reps(out, 2, extra)
}

/// [`small_sweep`] with `reps` repetitions per point.
fn sweep_with_reps(out: &Path, reps: u32, extra: &[&str]) -> Command {
    let mut cmd = piscale_process();
    cmd.args([
        "sweep",
        "--methods",
        "mc",
        "--backends",
        "serial,threads",
        "--workers",
        "1,2",
        "--samples",
        "2^20",
        "--reps",
        &reps.to_string(),
        "--warmup",
        "0",
        "--pin",
        "none",
        "--seed",
        "3",
        "--capacity",
        "0",
        "--out",
    ])
    .arg(out)
    .args(extra);
    cmd
}

/// Data rows of a raw.csv.
fn rows(out: &Path) -> Vec<String> {
    fs::read_to_string(out.join("raw.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_second_sweep_cannot_write_a_folder_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("busy");
    // A command kernel that takes a while keeps the first sweep writing.
    let config = dir.path().join("slow.toml");
    fs::write(
        &config,
        "methods = [\"mc\"]\nbackends = [\"serial\"]\nworkers = [1]\nsamples = 1000\nreps = 2\ncapacity_s = 0\n\
         warmup = 0\npin = \"none\"\n[[command]]\nname = \"slow\"\n\
         run = \"python3 -c 'import time; time.sleep(1.5); print(3.14)'\"\n",
    )
    .unwrap();
    let mut first = piscale_process();
    let mut first = first
        .args(["sweep", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !out.join("raw.csv").exists() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = first.id().to_string();
    for args in [vec!["--resume"], vec!["--force"]] {
        let mut cmd: Vec<&str> = vec!["sweep", "--out", out.to_str().unwrap()];
        cmd.extend(args);
        let line = assert_usage_error(&cmd, "--out");
        assert!(line.contains("in use by another piscale sweep"), "{line}");
        assert!(line.contains(&pid), "{line}");
    }
    assert!(first.wait().unwrap().success());
    // The first sweep's rows are all there: 2 points × 2 reps.
    assert_eq!(rows(&out).len(), 4, "{:?}", rows(&out));
    assert!(!out.join(".piscale.lock").exists(), "the lock file goes");
}

#[test]
fn force_replaces_only_a_sweep_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("thesis");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("thesis.tex"), "years of work").unwrap();
    let line = assert_usage_error(
        &["sweep", "--out", out.to_str().unwrap(), "--force"],
        "--force",
    );
    assert!(line.contains("thesis.tex"), "{line}");
    assert_eq!(
        fs::read_to_string(out.join("thesis.tex")).unwrap(),
        "years of work"
    );
    // A sweep's own folder is replaced.
    let sweep = dir.path().join("sweep");
    assert!(small_sweep(&sweep, &[]).status().unwrap().success());
    fs::write(sweep.join("raw.csv"), "garbage").unwrap();
    assert!(small_sweep(&sweep, &["--force"])
        .status()
        .unwrap()
        .success());
    assert_eq!(rows(&sweep).len(), 6);
}

#[test]
fn a_row_cut_short_neither_blocks_plot_nor_resume() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("torn");
    assert!(small_sweep(&out, &[]).status().unwrap().success());
    // Lose the last whole row and leave half of it, as a crash mid-write
    // (or a full disk) does.
    let text = fs::read_to_string(out.join("raw.csv")).unwrap();
    let body = text.trim_end_matches('\n');
    let last = body.rfind('\n').unwrap() + 1;
    let torn = format!("{}{}", &body[..last], &body[last..last + 30]);
    fs::write(out.join("raw.csv"), torn).unwrap();
    piscale().arg("plot").arg(&out).assert().success();
    let resumed = small_sweep(&out, &["--resume"]).output().unwrap();
    assert!(resumed.status.success(), "{resumed:?}");
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(stderr.contains("cut short"), "{stderr}");
    // The lost repetition ran again; nothing is duplicated.
    let all = rows(&out);
    assert_eq!(all.len(), 6, "{all:?}");
}

#[test]
fn a_resume_with_other_settings_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("resume");
    assert!(small_sweep(&out, &[]).status().unwrap().success());
    let before = fs::read_to_string(out.join("raw.csv")).unwrap();
    for (flag, value, key) in [
        ("--seed", "4", "seed"),
        ("--block", "2^16", "block"),
        ("--samples", "2^21", "samples"),
    ] {
        let out_arg = out.to_str().unwrap();
        let args = ["sweep", "--resume", "--out", out_arg, flag, value];
        let line = assert_usage_error(&args, "--resume");
        assert!(line.contains(key), "{line}");
    }
    // The same changes made by editing the folder's config.toml: the rows
    // already measured are the record, and they disagree.
    let config = out.join("config.toml");
    let recorded = fs::read_to_string(&config).unwrap();
    for (key, value) in [
        ("seed", "4"),
        ("block", "65536"),
        ("samples", "2097152"),
        ("pin", "\"scatter\""),
        ("isa", "\"scalar\""),
    ] {
        let edited: String = recorded
            .lines()
            .map(|l| {
                if l.starts_with(&format!("{key} = ")) {
                    format!("{key} = {value}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        assert_ne!(edited, recorded, "{key} is in config.toml");
        fs::write(&config, edited).unwrap();
        let args = ["sweep", "--resume", "--out", out.to_str().unwrap()];
        let line = assert_usage_error(&args, "--resume");
        assert!(line.contains(key), "{line}");
        fs::write(&config, &recorded).unwrap();
    }
    assert_eq!(fs::read_to_string(out.join("raw.csv")).unwrap(), before);
}

#[test]
fn failed_repetitions_run_again_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flaky");
    let marker = dir.path().join("second-time");
    // Fails at its first run, succeeds ever after.
    let script = dir.path().join("flaky.py");
    fs::write(
        &script,
        format!(
            "import os, sys\nm = {:?}\nif not os.path.exists(m):\n    open(m, 'w').close()\n    sys.exit(3)\nprint(3.14)\n",
            marker.display().to_string()
        ),
    )
    .unwrap();
    let config = dir.path().join("flaky.toml");
    fs::write(
        &config,
        format!(
            "methods = [\"mc\"]\nbackends = [\"serial\"]\nworkers = [1]\nsamples = 1000\nreps = 2\ncapacity_s = 0\n\
             warmup = 0\npin = \"none\"\n[[command]]\nname = \"flaky\"\nrun = \"python3 {}\"\n",
            script.display()
        ),
    )
    .unwrap();
    let sweep = |resume: bool| {
        let mut cmd = piscale_process();
        cmd.args(["sweep", "--config"])
            .arg(&config)
            .arg("--out")
            .arg(&out);
        if resume {
            cmd.arg("--resume");
        }
        cmd.output().unwrap()
    };
    let first = sweep(false);
    assert_eq!(first.status.code(), Some(1), "{first:?}");
    let resumed = sweep(true);
    assert_eq!(resumed.status.code(), Some(0), "{resumed:?}");
    let summary = fs::read_to_string(out.join("summary.csv")).unwrap();
    let flaky = summary.lines().find(|l| l.contains(",flaky,")).unwrap();
    let fields: Vec<&str> = flaky.split(',').collect();
    assert_eq!((fields[5], fields[6]), ("2", "0"), "{flaky}");
}

#[test]
fn a_closed_stdout_or_stderr_loses_no_row() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pipe");
    // `piscale sweep 2>&1 | head -1`: the reader goes away at once.
    let mut child = small_sweep(&out, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(rows(&out).len(), 6);
    assert!(out.join("summary.csv").is_file() && out.join("report.md").is_file());
}

#[test]
fn an_output_folder_that_cannot_be_made_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    fs::write(&file, "x").unwrap();
    let under = file.join("sweep");
    let line = assert_usage_error(&["sweep", "--out", under.to_str().unwrap()], "--out");
    assert!(line.contains("cannot create"), "{line}");
}

#[test]
fn plot_of_a_missing_or_corrupt_file_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p");
    assert!(small_sweep(&out, &[]).status().unwrap().success());
    let mut raw = fs::OpenOptions::new()
        .append(true)
        .open(out.join("raw.csv"))
        .unwrap();
    raw.write_all(b"not,a,row\n").unwrap();
    drop(raw);
    assert_usage_error(&["plot", out.to_str().unwrap()], "raw.csv");
    fs::remove_file(out.join("raw.csv")).unwrap();
    assert_usage_error(&["plot", out.to_str().unwrap()], "raw.csv");
    // A negative median in the first point's line.
    let text = fs::read_to_string(out.join("summary.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut fields: Vec<String> = lines[1].split(',').map(str::to_owned).collect();
    fields[7] = format!("-{}", fields[7]);
    lines[1] = fields.join(",");
    fs::write(out.join("summary.csv"), lines.join("\n") + "\n").unwrap();
    assert_usage_error(&["plot", out.to_str().unwrap()], "summary.csv");
}

#[test]
fn killing_only_the_parent_leaves_no_worker_and_frees_its_stdout() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    use std::io::Read;
    for (backend, signal) in [
        ("fork-pipe", Signal::SIGKILL),
        ("shm-reduce", Signal::SIGINT),
        ("pool-map", Signal::SIGTERM),
    ] {
        // `(piscale run … | cat) & kill -INT <piscale>`: cat must see EOF.
        let mut child = piscale_process()
            .args([
                "run",
                "--backend",
                backend,
                "--workers",
                "2",
                "--samples",
                "2^40",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let parent = child.id();
        let started = Instant::now();
        let mut workers = Vec::new();
        while workers.len() < 2 && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
            workers = crate::common::children_of(parent);
        }
        assert_eq!(workers.len(), 2, "{backend}: workers did not start");
        kill(Pid::from_raw(parent as i32), signal).unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stdout.read_to_end(&mut sink);
            let _ = tx.send(());
        });
        assert!(
            rx.recv_timeout(Duration::from_secs(5)).is_ok(),
            "{backend}: the parent's stdout stayed open after {signal}"
        );
        let _ = child.wait();
        // A worker closes its files as it starts to exit: give it the moment
        // it takes to become a zombie (or be reaped by init).
        let gone = |pid: i32| {
            !Path::new(&format!("/proc/{pid}")).exists()
                || fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                    s.rsplit(')')
                        .next()
                        .is_some_and(|r| r.trim_start().starts_with('Z'))
                })
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !workers.iter().all(|&pid| gone(pid)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        for &pid in &workers {
            assert!(
                gone(pid),
                "{backend}: worker {pid} outlived its parent after {signal}"
            );
        }
    }
}

/// Processes (a sweep or its forked workers, which share its command
/// line) whose command line names `dir`.
fn processes_naming(dir: &Path) -> Vec<i32> {
    let needle = dir.to_string_lossy().into_owned();
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let zombie = fs::read_to_string(entry.path().join("stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        });
        if !zombie && String::from_utf8_lossy(&cmdline).contains(&needle) {
            pids.push(pid);
        }
    }
    pids
}

/// Waits (up to `within`) until no process names `marker`, and returns
/// those still naming it (empty: none left). A process in the middle of an
/// `exec` shows an empty command line for a moment — a `python3` that is a
/// pyenv shim execs three times before Python runs, for long under load —
/// so only five empty looks in a row, 20 ms apart, count as none.
fn left_naming(marker: &str, within: Duration) -> Vec<i32> {
    let deadline = Instant::now() + within;
    let mut empty_looks = 0;
    loop {
        let left = processes_naming(Path::new(marker));
        empty_looks = if left.is_empty() { empty_looks + 1 } else { 0 };
        if empty_looks == 5 || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn kills_at_random_moments_lose_no_row_and_leave_no_process() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("killed");
    let sweep = || {
        let mut cmd = piscale_process();
        cmd.args([
            "sweep",
            "--methods",
            "mc",
            "--backends",
            "serial,threads,fork-pipe,pool-map",
            "--workers",
            "1,2",
            "--samples",
            "2^28",
            "--reps",
            "3",
            "--warmup",
            "0",
            "--pin",
            "none",
            "--capacity",
            "0",
            "--out",
        ])
        .arg(&out);
        if out.join("raw.csv").exists() {
            cmd.arg("--resume");
        }
        cmd
    };
    // Kill times from a fixed xorshift sequence: reproducible, spread over
    // the sweep's life (start-up, measuring, writing the reports).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut kills = 0;
    for round in 0..12 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let delay = Duration::from_millis(20 + x % 250);
        let mut child = sweep()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        match child.try_wait().unwrap() {
            Some(status) if status.success() && round > 0 => break,
            Some(_) => {}
            None => {
                kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
                kills += 1;
                let _ = child.wait();
            }
        }
    }
    assert!(kills >= 3, "only {kills} kills landed");
    eprintln!("random SIGKILLs of a sweep: {kills} landed");
    // Whatever state the kills left, a resume (or a fresh start) finishes.
    let last = sweep().output().unwrap();
    assert!(last.status.success(), "{last:?}");
    // Every (point, rep) once, every line whole: 2 worker counts × 3
    // backends + serial = 7 points, 3 reps.
    let all = rows(&out);
    assert!(
        all.iter()
            .all(|r| r.split(',').count() == crate::sweep::RAW_COLUMNS.split(',').count()),
        "{all:?}"
    );
    let mut keys: Vec<String> = all
        .iter()
        .map(|r| {
            let f: Vec<&str> = r.split(',').collect();
            format!("{}/{}/{}/{}", f[3], f[5], f[6], f[12])
        })
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 7 * 3, "{keys:?}");
    assert_eq!(all.len(), 7 * 3, "a repetition was recorded twice: {all:?}");
    // No sweep and no worker of one is left.
    assert_eq!(
        left_naming(&out.to_string_lossy(), Duration::from_secs(5)),
        Vec::<i32>::new()
    );
}

/// A small tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    /// `None` (and a note) where this machine does not let the test mount.
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(Stdio::null())
            .status();
        if status.is_ok_and(|s| s.success()) {
            Some(Tmpfs(at.to_path_buf()))
        } else {
            eprintln!("skipped: cannot mount a tmpfs here (needs root)");
            None
        }
    }

    /// Fills the file system but for `pages` pages of 4 KiB.
    fn fill_but(&self, pages: u64) {
        let _ = fs::remove_file(self.0.join("filler"));
        let stat = nix::sys::statvfs::statvfs(&self.0).unwrap();
        let free = stat.blocks_available() * stat.fragment_size();
        let keep = pages * 4096;
        let filler = vec![0u8; free.saturating_sub(keep) as usize];
        fs::write(self.0.join("filler"), filler).unwrap();
    }

    fn free(&self) {
        let _ = fs::remove_file(self.0.join("filler"));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_loses_no_row_and_leaves_nothing_half_made() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&dir.path().join("disk"), "4m") else {
        return;
    };
    let out = disk.0.join("sweep");
    let sweep = |resume: bool| {
        let mut cmd = sweep_with_reps(&out, 10, &[]);
        if resume {
            cmd.arg("--resume");
        }
        cmd.output().unwrap()
    };
    // Full at the start: bad environment, and no folder is left behind.
    disk.fill_but(0);
    let full = sweep(false);
    assert_eq!(full.status.code(), Some(2), "{full:?}");
    assert!(!out.exists(), "a half-made folder was left");
    // Full in the middle of raw.csv: the run fails, the rows so far stay.
    disk.fill_but(4);
    let cut = sweep(false);
    assert_eq!(cut.status.code(), Some(1), "{cut:?}");
    let stderr = String::from_utf8_lossy(&cut.stderr);
    assert!(stderr.contains("raw.csv"), "{stderr}");
    let before = rows(&out).len();
    assert!(before > 0, "no row reached the disk");
    // Space again: the resume repairs the file and finishes the sweep.
    disk.free();
    let resumed = sweep(true);
    assert!(resumed.status.success(), "{resumed:?}");
    let all = rows(&out);
    assert_eq!(all.len(), 3 * 10, "{all:?}");
    assert!(all
        .iter()
        .all(|r| r.split(',').count() == crate::sweep::RAW_COLUMNS.split(',').count()));
}

#[test]
fn a_command_dies_with_a_killed_piscale() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmd");
    let marker = format!("piscale-test-marker-{}", std::process::id());
    let config = dir.path().join("c.toml");
    fs::write(
        &config,
        format!(
            "methods = [\"mc\"]\nbackends = [\"serial\"]\nworkers = [1]\nsamples = 1000\n\
             reps = 1\nwarmup = 0\npin = \"none\"\ncapacity_s = 0\n[[command]]\nname = \"sleeper\"\n\
             run = \"python3 -c 'import time; time.sleep(60); print(3.14)' {marker}\"\n"
        ),
    )
    .unwrap();
    let stderr = dir.path().join("stderr.txt");
    let mut sweep = piscale_process()
        .args(["sweep", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // What was seen decides, not a second look: a second look can fall on
    // a process in the middle of an exec (see `left_naming`).
    let mut seen = false;
    while !seen && started.elapsed() < Duration::from_secs(30) {
        seen = !processes_naming(Path::new(&marker)).is_empty();
        // A sweep that ended before its command started says why.
        if let Some(status) = sweep.try_wait().unwrap() {
            panic!(
                "the sweep ended ({status}) before its command started: {}",
                fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        seen,
        "the command did not start in 30 s; the sweep said: {}",
        fs::read_to_string(&stderr).unwrap_or_default()
    );
    kill(Pid::from_raw(sweep.id() as i32), Signal::SIGKILL).unwrap();
    let _ = sweep.wait();
    assert_eq!(
        left_naming(&marker, Duration::from_secs(5)),
        Vec::<i32>::new(),
        "the command outlived piscale"
    );
}

/// A sweep stopped by `signal` while a command kernel runs: neither the
/// command's background child (in its process group) nor a child it
/// detached with `setsid` outlives the sweep.
fn command_children_die_with_a_sweep_stopped_by(signal: nix::sys::signal::Signal) {
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmd");
    let marker = format!("piscale-detached-marker-{}-{signal}", std::process::id());
    let config = dir.path().join("c.toml");
    // The command starts a child in its group and one in a session of its
    // own, which says when it is detached, then computes for a minute. The
    // children run `sleep` under a name that marks them.
    let detached = dir.path().join("detached");
    let sleeper = dir.path().join(&marker);
    std::os::unix::fs::symlink(which::which("sleep").unwrap(), &sleeper).unwrap();
    let run = format!(
        "sh -c '{s} 60 & setsid sh -c \"touch {}; exec {s} 60\" & sleep 60; echo 3.14'",
        detached.display(),
        s = sleeper.display()
    );
    fs::write(
        &config,
        format!(
            "methods = [\"mc\"]\nbackends = [\"serial\"]\nworkers = [1]\nsamples = 1000\n\
             reps = 1\nwarmup = 0\npin = \"none\"\n[[command]]\nname = \"detacher\"\n\
             run = {}\n",
            toml::Value::String(run)
        ),
    )
    .unwrap();
    let mut sweep = piscale_process()
        .args(["sweep", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let marked = || processes_naming(Path::new(&marker));
    let started = Instant::now();
    while !detached.exists() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        marked().len() >= 2,
        "the command did not start: {:?}",
        marked()
    );
    kill(Pid::from_raw(sweep.id() as i32), signal).unwrap();
    let _ = sweep.wait().unwrap();
    assert_eq!(
        left_naming(&marker, Duration::from_secs(5)),
        Vec::<i32>::new(),
        "a child of the command outlived the sweep ({signal})"
    );
}

#[test]
fn a_stopped_sweep_leaves_no_process_its_command_started() {
    command_children_die_with_a_sweep_stopped_by(nix::sys::signal::Signal::SIGINT);
}

#[test]
fn a_killed_sweep_leaves_no_process_its_command_started() {
    command_children_die_with_a_sweep_stopped_by(nix::sys::signal::Signal::SIGKILL);
}

#[test]
fn ctrl_c_or_sigterm_stops_a_run_of_any_backend_with_status_130() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    for backend in [
        "threads",
        "rayon",
        "per-core",
        "fork-pipe",
        "shm-reduce",
        "pool-map",
    ] {
        for signal in [Signal::SIGINT, Signal::SIGTERM] {
            let child = piscale_process()
                .args(["run", "--backend", backend, "--workers", "2"])
                .args(["--samples", "2^40"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            // Let it start computing.
            std::thread::sleep(Duration::from_millis(300));
            let sent = Instant::now();
            kill(Pid::from_raw(child.id() as i32), signal).unwrap();
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(130), "{backend} {signal}: {stderr}");
            assert_eq!(stderr, "interrupted\n", "{backend} {signal}");
            assert!(out.stdout.is_empty(), "{backend} {signal}");
            assert!(
                sent.elapsed() < Duration::from_secs(3),
                "{backend} {signal}: took {:?}",
                sent.elapsed()
            );
        }
    }
}

/// Checks that `cmd` was refused as bad input: exit 2, nothing on stdout,
/// one line on stderr, which it returns.
fn refused(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{cmd:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{cmd:?} printed on stdout");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    stderr
}

#[test]
fn force_keeps_what_the_user_put_in_plots() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("base");
    assert!(small_sweep(&out, &[]).status().unwrap().success());
    let plots = out.join("plots");
    fs::write(plots.join("mine.txt"), "mine").unwrap();
    fs::create_dir(plots.join("sub")).unwrap();
    fs::write(plots.join("sub/z"), "y").unwrap();
    let before = rows(&out);
    let line = refused(&mut small_sweep(&out, &["--force"]));
    assert_eq!(
        line,
        format!(
            "error: --force: {} holds plots/mine.txt, which is not a sweep's file; \
             refusing to replace it\n",
            out.display()
        )
    );
    fs::remove_file(plots.join("mine.txt")).unwrap();
    let line = refused(&mut small_sweep(&out, &["--force"]));
    assert!(line.contains(" holds plots/sub, "), "{line}");
    assert_eq!(fs::read_to_string(plots.join("sub/z")).unwrap(), "y");
    assert_eq!(rows(&out), before, "nothing was replaced");
    // Without the user's folder, the sweep's own files are replaced.
    fs::remove_dir_all(plots.join("sub")).unwrap();
    fs::write(plots.join("weak-mc.svg"), "an older sweep's plot").unwrap();
    assert!(small_sweep(&out, &["--force"]).status().unwrap().success());
    assert!(!plots.join("weak-mc.svg").exists());
    assert!(plots.join("speedup-mc.svg").is_file());
}

#[test]
fn an_out_path_that_is_a_file_is_bad_input_whatever_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("afile");
    fs::write(&file, "x").unwrap();
    for extra in [&[][..], &["--force"], &["--resume"]] {
        let line = refused(&mut small_sweep(&file, extra));
        // No hint at --force, which could not help.
        assert_eq!(
            line,
            format!("error: --out: {} is a file, not a folder\n", file.display()),
            "{extra:?}"
        );
    }
    assert_eq!(fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn a_sweep_whose_reports_were_not_written_says_where_the_rows_are() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    assert!(small_sweep(&out, &[]).status().unwrap().success());
    // report.html cannot be replaced: a folder is in its place.
    fs::remove_file(out.join("report.html")).unwrap();
    fs::create_dir_all(out.join("report.html/x")).unwrap();
    let resumed = small_sweep(&out, &["--resume"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert_eq!(resumed.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: the plots and reports were not written: "),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().last().unwrap(),
        format!(
            "rows in {} (raw.csv, summary.csv); the reports were not written",
            out.display()
        )
    );
    assert_eq!(rows(&out).len(), 6);
}

#[test]
fn an_out_or_config_path_that_is_not_utf8_is_taken_as_a_path() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    // Accepted as the folder's name; the recorded command line is lossy.
    let out = dir.path().join(OsStr::from_bytes(b"o\xff\xfe"));
    let done = small_sweep(&out, &[]).output().unwrap();
    assert!(done.status.success(), "{done:?}");
    assert_eq!(rows(&out).len(), 6);
    let machine: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("machine.json")).unwrap()).unwrap();
    let command: Vec<&str> = machine["command_line"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        command.iter().any(|a| a.ends_with("/o\u{fffd}\u{fffd}")),
        "{command:?}"
    );
    // A config file that is not there is named, not a panic; as
    // `--out=VALUE` too.
    let config = dir.path().join(OsStr::from_bytes(b"\xff\xfe.toml"));
    let mut joined = std::ffi::OsString::from("--out=");
    joined.push(dir.path().join(OsStr::from_bytes(b"x\xff\xfe")));
    let line = refused(
        piscale_process()
            .args([OsStr::new("sweep"), joined.as_os_str()])
            .arg("--config")
            .arg(&config),
    );
    assert!(
        line.ends_with("/\u{fffd}\u{fffd}.toml: no such config file\n"),
        "{line}"
    );
}

#[test]
fn escape_sequences_from_a_path_or_a_program_never_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("esc.py");
    fs::write(
        &script,
        "import sys\n\
         if sys.argv[1] == 'fail':\n    \
             sys.stderr.write('\\x1b]0;pwned\\x07\\x1b[31mRED\\n')\n    \
             sys.exit(1)\n\
         print('\\x1b[2J\\x1b]0;t\\x07not a number')\n",
    )
    .unwrap();
    let config = dir.path().join("esc.toml");
    let command = |name: &str, mode: &str| {
        format!(
            "[[command]]\nname = \"{name}\"\nrun = \"python3 '{}' {mode}\"\n",
            script.display()
        )
    };
    fs::write(
        &config,
        format!(
            "methods = [\"mc\"]\nbackends = [\"serial\"]\nworkers = [1]\nsamples = 1000\n\
             reps = 1\nwarmup = 0\npin = \"none\"\n{}{}",
            command("escerr", "fail"),
            command("escout", "noest")
        ),
    )
    .unwrap();
    let out = dir
        .path()
        .join("o\u{1b}]0;pwned\u{7}\u{1b}[31m\u{9b}2J\u{202e}");
    let ran = piscale_process()
        .arg("sweep")
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8(ran.stderr).unwrap();
    assert_eq!(ran.status.code(), Some(1), "{stderr}");
    let hidden = |text: &str| {
        text.chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}')
    };
    for (what, text) in [
        ("stderr", stderr.clone()),
        ("stdout", String::from_utf8(ran.stdout).unwrap()),
        (
            "report.md",
            fs::read_to_string(out.join("report.md")).unwrap(),
        ),
        (
            "report.html",
            fs::read_to_string(out.join("report.html")).unwrap(),
        ),
    ] {
        assert!(
            !hidden(&text),
            "{what} holds a raw control character: {text:?}"
        );
    }
    // Shown escaped: the program's stderr tail, its last stdout line and
    // the folder's name.
    assert!(
        stderr.contains("\n    \\u{1b}]0;pwned\\u{7}\\u{1b}[31mRED)\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("its last line was `\\u{1b}[2J\\u{1b}]0;t\\u{7}not a number`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("o\\u{1b}]0;pwned\\u{7}\\u{1b}[31m\\u{9b}2J\\u{202e} (report.html"),
        "{stderr}"
    );
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("o\\u{1b}]0;pwned\\u{7}\\u{1b}[31m"), "{md}");
    // raw.csv keeps the data as it was.
    let mut raw = csv::Reader::from_path(out.join("raw.csv")).unwrap();
    let records: Vec<csv::StringRecord> = raw.records().map(Result::unwrap).collect();
    let name = out.file_name().unwrap().to_str().unwrap();
    assert!(records.iter().all(|r| &r[0] == name), "{records:?}");
    let error = raw
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "error")
        .unwrap();
    assert!(
        records
            .iter()
            .any(|r| r[error].ends_with("\n    \u{1b}]0;pwned\u{7}\u{1b}[31mRED")),
        "{records:?}"
    );
}

#[test]
fn a_folder_named_like_a_formula_does_not_make_raw_csv_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("=HYPERLINK(\"x\")");
    assert!(small_sweep(&out, &[]).status().unwrap().success());
    let mut reader = csv::Reader::from_path(out.join("raw.csv")).unwrap();
    for record in reader.records() {
        assert_eq!(&record.unwrap()[0], "'=HYPERLINK(\"x\")");
    }
}
