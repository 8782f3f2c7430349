//! Runs another program to the end: in a process group of its own, with a
//! deadline, stopped by Ctrl-C, the end of its stdout and stderr kept.
//!
//! Used for command kernels (`[[command]]`) and for the MPI launcher
//! (`mpirun`, `srun`). The process group is what makes a kill complete:
//! the program's own children (Python workers, MPI ranks) are in it too.
//! Ctrl-C at the terminal therefore reaches piscale but not the program;
//! piscale's cancel flag ([`piscale_kernels::cancel`]) stops it instead.
//!
//! Whatever the program leaves behind is killed when it ends, on every
//! path: the rest of its process group, and every process carrying its
//! [`Tag`] (a child that left the group with `setsid`). A process of its
//! tree that is stopped by a signal ends the run, naming it, instead of
//! hanging it.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use piscale_kernels::cancel;

use super::tree::{StopWatch, Stopped, Tag};
use super::MeasureError;

/// When a running program's tree is first looked at for a stopped process
/// (then less and less often, see [`StopWatch`]); a run shorter than this is
/// never looked at.
const FIRST_STOP_CHECK: Duration = Duration::from_millis(250);

/// A program that ran to the end.
#[derive(Debug)]
pub struct Finished {
    /// How it ended.
    pub status: ExitStatus,
    /// Seconds from the spawn to seeing it exit.
    pub wall_s: f64,
    /// The end of what it wrote to stdout (lossy UTF-8), at most
    /// [`Stop::keep`] bytes, from the start of a line when cut.
    pub stdout: String,
    /// The end of what it wrote to stderr, as for `stdout`.
    pub stderr: String,
}

/// How to stop a program that has to go.
#[derive(Debug, Clone, Copy)]
pub struct Stop {
    /// Give up after this long, counting from the spawn until its output is
    /// closed; `None` waits for ever (or until Ctrl-C).
    pub timeout: Option<Duration>,
    /// Time between SIGTERM to the program and SIGKILL to its whole group:
    /// `mpirun` uses it to tear down the ranks it started on other hosts.
    /// Zero kills at once.
    pub grace: Duration,
    /// Bytes kept of the end of each of stdout and stderr; the rest is
    /// discarded as it is read, so that a program that prints without end
    /// costs neither memory nor time (what piscale reads, the estimate or a
    /// result line, is printed last).
    pub keep: usize,
}

/// Makes the program die when piscale does, even by SIGKILL, so that it
/// never computes on for minutes holding the caller's terminal: SIGTERM for
/// one given a grace (`mpirun`, which then stops its ranks on every host),
/// SIGKILL otherwise. The signal comes when the thread that spawned the
/// program ends; piscale spawns programs from its main thread.
fn die_with_piscale(cmd: &mut Command, grace: Duration) {
    let signal = if grace.is_zero() {
        libc::SIGKILL
    } else {
        libc::SIGTERM
    };
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the child between fork and exec, where
    // only async-signal-safe calls are allowed: `prctl` and `getppid` are
    // plain system calls, and the closure allocates nothing and takes no
    // lock. It returns an error (and the spawn fails) only if `prctl` does.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Piscale may have died before the call: then act on it now.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Spawns `cmd` (stdin closed, stdout and stderr captured, a new process
/// group) and waits for it and its output. `name` starts every error.
///
/// Errors: it cannot start, it ran past the timeout, or piscale was asked to
/// stop; in the last two cases its whole process group is killed and the
/// program reaped before returning.
pub fn run_to_end(name: &str, cmd: &mut Command, stop: Stop) -> Result<Finished, MeasureError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(cmd, 0);
    die_with_piscale(cmd, stop.grace);
    let tag = Tag::new();
    tag.apply(cmd);
    super::watchdog::ensure_started();
    let start = Instant::now();
    let deadline = stop.timeout.and_then(|t| start.checked_add(t));
    let mut child = cmd.spawn().map_err(|e| {
        MeasureError::Failed(format!(
            "{name}: cannot start `{}`: {e}",
            cmd.get_program().to_string_lossy()
        ))
    })?;
    let readers = match Readers::start(&mut child, stop.keep) {
        Ok(readers) => readers,
        Err(e) => {
            kill_group(&mut child, Duration::ZERO);
            tag.kill_all();
            return Err(MeasureError::Failed(format!(
                "{name}: cannot start a thread to read its output: {e}"
            )));
        }
    };
    let mut watch = StopWatch::new(child.id(), FIRST_STOP_CHECK);
    let waited = wait(&mut child, deadline, &mut watch);
    let wall_s = start.elapsed().as_secs_f64();
    let timed_out = || {
        MeasureError::Timeout(format!(
            "{name}: timed out after {} s and was killed",
            stop.timeout.unwrap_or_default().as_secs_f64()
        ))
    };
    let status = match waited {
        Ok(status) => status,
        Err(why) => {
            let grace = match why {
                Waited::Timeout | Waited::Cancelled => stop.grace,
                Waited::Stopped(_) | Waited::Failed(_) => Duration::ZERO,
            };
            kill_group(&mut child, grace);
            tag.kill_all();
            return Err(match why {
                Waited::Timeout => timed_out(),
                Waited::Cancelled => MeasureError::Cancelled,
                Waited::Stopped(s) => MeasureError::Failed(format!(
                    "{name}: {} was stopped by a signal, so the run could never end; \
                     it was killed",
                    s.describe()
                )),
                Waited::Failed(e) => {
                    MeasureError::Failed(format!("{name}: cannot wait for the process: {e}"))
                }
            });
        }
    };
    // The program is done: what it started and left running goes too, so
    // that nothing computes on beside the next run or holds its pipes open.
    end_leftovers(&child);
    tag.kill_all();
    let Some([stdout, stderr]) = readers.collect(deadline) else {
        return Err(timed_out());
    };
    Ok(Finished {
        status,
        wall_s,
        stdout,
        stderr,
    })
}

/// Why [`wait`] gave up.
enum Waited {
    Timeout,
    Cancelled,
    Stopped(Stopped),
    Failed(std::io::Error),
}

/// Time left until `deadline` (an hour when there is none).
fn left(deadline: Option<Instant>) -> Duration {
    deadline.map_or(Duration::from_secs(3600), |d| {
        d.saturating_duration_since(Instant::now())
    })
}

/// Waits for the program to exit, polling rather than blocking in
/// `wait()` so that it can still be killed; the pause grows to at most
/// 1 ms, which bounds the timing error.
fn wait(
    child: &mut Child,
    deadline: Option<Instant>,
    watch: &mut StopWatch,
) -> Result<ExitStatus, Waited> {
    let mut pause = Duration::from_micros(20);
    loop {
        if let Some(status) = child.try_wait().map_err(Waited::Failed)? {
            return Ok(status);
        }
        if cancel::requested() {
            return Err(Waited::Cancelled);
        }
        let left = left(deadline);
        if left.is_zero() {
            return Err(Waited::Timeout);
        }
        if let Some(stopped) = watch.check() {
            return Err(Waited::Stopped(stopped));
        }
        thread::sleep(
            pause
                .min(left)
                .min(watch.until_next().max(Duration::from_micros(20))),
        );
        pause = (pause * 2).min(Duration::from_millis(1));
    }
}

/// Threads reading the program's stdout and stderr, so that a chatty
/// program never blocks on a full pipe while we wait for it.
struct Readers {
    threads: Vec<thread::JoinHandle<()>>,
    output: mpsc::Receiver<(usize, Vec<u8>)>,
}

impl Readers {
    /// Starts both readers; fails if the system refuses a thread.
    fn start(child: &mut Child, keep: usize) -> std::io::Result<Readers> {
        let (tx, output) = mpsc::channel();
        let pipes: [Option<Box<dyn Read + Send>>; 2] = [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ];
        let threads = pipes
            .into_iter()
            .enumerate()
            .map(|(i, pipe)| {
                let tx = tx.clone();
                thread::Builder::new().spawn(move || {
                    let mut tail = Tail::new(keep);
                    if let Some(mut pipe) = pipe {
                        tail.read_all(&mut pipe);
                    }
                    let _ = tx.send((i, tail.into_bytes()));
                })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Readers { threads, output })
    }

    /// Stdout and stderr, once both pipes are closed; `None` if that does
    /// not happen before `deadline`.
    fn collect(self, deadline: Option<Instant>) -> Option<[String; 2]> {
        let mut output = [Vec::new(), Vec::new()];
        for _ in 0..2 {
            let (i, buf) = self.output.recv_timeout(left(deadline)).ok()?;
            output[i] = buf;
        }
        // Both readers have sent: join them, so that no thread of ours is
        // left running when a process backend forks next.
        for reader in self.threads {
            let _ = reader.join();
        }
        Some(output.map(|b| String::from_utf8_lossy(&b).into_owned()))
    }
}

/// The last `keep` bytes of a stream, read without ever holding much more:
/// the buffer is cut back to `keep` whenever it reaches twice that.
struct Tail {
    keep: usize,
    buf: Vec<u8>,
    cut: bool,
}

impl Tail {
    fn new(keep: usize) -> Tail {
        Tail {
            keep,
            buf: Vec::new(),
            cut: false,
        }
    }

    /// Appends `bytes`, dropping the oldest when over the bound.
    fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= 2 * self.keep.max(1) {
            self.trim();
        }
    }

    fn trim(&mut self) {
        if self.buf.len() > self.keep {
            self.buf.drain(..self.buf.len() - self.keep);
            self.cut = true;
        }
    }

    /// Reads `pipe` to its end (or its first error).
    fn read_all(&mut self, pipe: &mut dyn Read) {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => self.push(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }

    /// The kept bytes; when some were dropped, from the first whole line on,
    /// so that no line is quoted cut — unless the tail is all one line (its
    /// end: where a program prints its estimate), or its first line break
    /// ends it (the last line, longer than the tail: its end is kept).
    fn into_bytes(mut self) -> Vec<u8> {
        self.trim();
        if self.cut {
            let body = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf);
            if let Some(nl) = body.iter().position(|&b| b == b'\n') {
                self.buf.drain(..=nl);
            }
        }
        self.buf
    }
}

/// Asks the program to stop (SIGTERM) and, after `grace`, kills its whole
/// process group; then reaps it.
fn kill_group(child: &mut Child, grace: Duration) {
    let Ok(pid) = i32::try_from(child.id()) else {
        let _ = child.kill();
        let _ = child.wait();
        return;
    };
    if !grace.is_zero() {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGTERM);
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if matches!(child.try_wait(), Ok(Some(_))) {
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
    // The leader may be gone already; its group can still hold processes.
    let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    let _ = child.kill();
    let _ = child.wait();
}

/// Kills what is left of the process group of a program that has exited
/// (and been reaped). Its pid cannot have been reused while the group
/// still has members, so the signal reaches only them.
fn end_leftovers(child: &Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// The last `n` non-blank lines of `text`.
pub fn last_lines(text: &str, n: usize) -> Vec<&str> {
    let mut lines: Vec<&str> = text
        .lines()
        .rev()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .take(n)
        .collect();
    lines.reverse();
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stop(ms: u64) -> Stop {
        Stop {
            timeout: Some(Duration::from_millis(ms)),
            grace: Duration::ZERO,
            keep: 1 << 16,
        }
    }

    #[test]
    fn collects_both_streams_and_the_status() {
        let f = run_to_end(
            "t",
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            stop(20_000),
        )
        .unwrap();
        assert_eq!((f.stdout.as_str(), f.stderr.as_str()), ("out\n", "err\n"));
        assert_eq!(f.status.code(), Some(3));
    }

    #[test]
    fn a_program_ignoring_sigterm_is_killed_after_the_grace() {
        let start = Instant::now();
        let err = run_to_end(
            "t",
            Command::new("sh").args(["-c", "trap '' TERM; sleep 10"]),
            Stop {
                timeout: Some(Duration::from_millis(200)),
                grace: Duration::from_millis(300),
                keep: 1 << 16,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("timed out after 0.2 s"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn only_the_end_of_a_long_output_is_kept() {
        let f = run_to_end(
            "t",
            Command::new("sh").args(["-c", "yes 0123456789 | head -c 3000000; echo; echo end"]),
            stop(20_000),
        )
        .unwrap();
        assert!(f.stdout.len() <= 1 << 16, "{}", f.stdout.len());
        assert!(
            f.stdout.ends_with("\nend\n"),
            "{}",
            &f.stdout[f.stdout.len() - 20..]
        );
        // Cut at a line break: the first line kept is whole.
        assert!(f.stdout.starts_with("0123456789\n"));
    }

    #[test]
    fn a_tail_never_holds_much_more_than_it_keeps() {
        let mut tail = Tail::new(100);
        for i in 0..10_000u32 {
            tail.push(format!("line {i}\n").as_bytes());
            assert!(tail.buf.len() < 2 * 100 + 16);
        }
        let text = String::from_utf8(tail.into_bytes()).unwrap();
        assert!(text.len() <= 100 && text.ends_with("line 9999\n"), "{text}");
        assert!(text.starts_with("line "), "{text}");
        // One line longer than the tail: its end is kept, with or without
        // its line break.
        for end in ["", "\n"] {
            let mut long = Tail::new(100);
            long.push(format!("{} pi = 3.14159{end}", "x".repeat(1000)).as_bytes());
            let text = String::from_utf8(long.into_bytes()).unwrap();
            assert!(text.ends_with(&format!("pi = 3.14159{end}")), "{text:?}");
            assert!(text.len() <= 100);
        }
        // Nothing dropped: everything kept, first line included.
        let mut short = Tail::new(100);
        short.push(b"a\nb");
        assert_eq!(short.into_bytes(), b"a\nb");
    }

    fn alive(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| !r.trim_start().starts_with('Z'))
        })
    }

    fn no_timeout() -> Stop {
        Stop {
            timeout: None,
            grace: Duration::ZERO,
            keep: 1 << 16,
        }
    }

    #[test]
    fn a_stopped_process_of_the_tree_ends_the_run_naming_it() {
        // The program itself, and a child of a child.
        for script in [
            "kill -STOP $$",
            "sh -c 'sleep 30 & kill -STOP $!; wait' ; wait",
        ] {
            let start = Instant::now();
            let err = run_to_end("t", Command::new("sh").args(["-c", script]), no_timeout())
                .unwrap_err()
                .to_string();
            assert!(err.contains("was stopped by a signal"), "{script}: {err}");
            assert!(err.starts_with("t: pid "), "{err}");
            assert!(start.elapsed() < Duration::from_secs(10), "{script}");
        }
    }

    #[test]
    fn what_a_program_leaves_running_is_killed_when_it_ends() {
        // A background child in its group, and one in a session of its own
        // (the program waits until it is detached): neither keeps the run
        // waiting on its pipes, neither survives it.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pid");
        let script = format!(
            "sleep 30 & echo $!; setsid sh -c 'echo $$ > {f}; exec sleep 30' & \
             while [ ! -s {f} ]; do sleep 0.01; done; cat {f}",
            f = file.display()
        );
        let start = Instant::now();
        let f = run_to_end("t", Command::new("sh").args(["-c", &script]), no_timeout()).unwrap();
        assert!(start.elapsed() < Duration::from_secs(10));
        let pids: Vec<i32> = f.stdout.lines().map(|l| l.parse().unwrap()).collect();
        assert_eq!(pids.len(), 2, "{}", f.stdout);
        let deadline = Instant::now() + Duration::from_secs(5);
        while pids.iter().any(|&p| alive(p)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        assert!(pids.iter().all(|&p| !alive(p)), "left running: {pids:?}");
    }

    #[test]
    fn a_detached_child_dies_with_a_timed_out_program() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pid");
        let script = format!(
            "setsid sh -c 'echo $$ > {}; exec sleep 30' & sleep 30",
            file.display()
        );
        let err = run_to_end("t", Command::new("sh").args(["-c", &script]), stop(500))
            .unwrap_err()
            .to_string();
        assert!(err.contains("timed out"), "{err}");
        let pid: i32 = std::fs::read_to_string(&file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        assert!(!alive(pid), "the detached child {pid} outlived the run");
    }

    #[test]
    fn last_lines_skips_blank_ones() {
        assert_eq!(last_lines("a\n\nb\n  \nc\n", 2), ["b", "c"]);
        assert!(last_lines("", 3).is_empty());
    }
}
