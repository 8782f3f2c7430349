//! A sweep's output folder: every file name it holds, defined once; the
//! lock one sweep holds on it while it writes; and the atomic write that
//! replaces a file without a reader ever seeing half of it.

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg};

/// The output folder of one sweep (`results/<date>-<host>-<time>/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutDir(pub PathBuf);

impl OutDir {
    /// One row per measured repetition; the source of truth.
    pub const RAW: &'static str = "raw.csv";
    /// One row per point, derived from the raw rows.
    pub const SUMMARY: &'static str = "summary.csv";
    /// The machine, the build and the command line.
    pub const MACHINE: &'static str = "machine.json";
    /// The fully resolved configuration, so `--resume` can reuse it.
    pub const CONFIG: &'static str = "config.toml";
    /// The report as GitHub-flavoured markdown.
    pub const REPORT_MD: &'static str = "report.md";
    /// The report as one self-contained HTML file.
    pub const REPORT_HTML: &'static str = "report.html";
    /// The folder of the plots.
    pub const PLOTS: &'static str = "plots";
    /// The lock a sweep holds while it writes (see [`OutDir::lock`]).
    pub const LOCK: &'static str = ".piscale.lock";

    /// Every name a sweep writes in its folder.
    pub const NAMES: [&'static str; 8] = [
        Self::RAW,
        Self::SUMMARY,
        Self::MACHINE,
        Self::CONFIG,
        Self::REPORT_MD,
        Self::REPORT_HTML,
        Self::PLOTS,
        Self::LOCK,
    ];

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `raw.csv`.
    pub fn raw(&self) -> PathBuf {
        self.0.join(Self::RAW)
    }

    /// `summary.csv`.
    pub fn summary(&self) -> PathBuf {
        self.0.join(Self::SUMMARY)
    }

    /// `machine.json`.
    pub fn machine(&self) -> PathBuf {
        self.0.join(Self::MACHINE)
    }

    /// `config.toml`.
    pub fn config(&self) -> PathBuf {
        self.0.join(Self::CONFIG)
    }

    /// `report.md`.
    pub fn report_md(&self) -> PathBuf {
        self.0.join(Self::REPORT_MD)
    }

    /// `report.html`.
    pub fn report_html(&self) -> PathBuf {
        self.0.join(Self::REPORT_HTML)
    }

    /// `plots/`.
    pub fn plots(&self) -> PathBuf {
        self.0.join(Self::PLOTS)
    }

    /// Whether the folder holds only what a sweep writes (and some of it):
    /// the only kind of folder `--force` may empty. A missing or empty
    /// folder counts too. Returns the first foreign entry otherwise.
    pub fn foreign_entry(&self) -> Result<Option<String>> {
        let entries = match fs::read_dir(&self.0) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", self.0.display())),
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot read {}", self.0.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = Self::NAMES.contains(&name.as_str())
                || (name.starts_with('.') && name.ends_with(".tmp"));
            if !ours {
                return Ok(Some(name));
            }
        }
        Ok(None)
    }

    /// Removes what a sweep wrote in the folder, all but the lock (held by
    /// the caller): `--force`. Refuse first, with [`foreign_entry`], a
    /// folder that holds anything else.
    ///
    /// [`foreign_entry`]: Self::foreign_entry
    pub fn clear(&self) -> Result<()> {
        for name in Self::NAMES.iter().filter(|n| **n != Self::LOCK) {
            let path = self.0.join(name);
            let removed = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            match removed {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("cannot replace {}", path.display()))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Takes the folder's lock, for as long as the returned guard lives: one
    /// sweep at a time writes a folder. `Err(Busy(pid))` when another
    /// process holds it (its pid, as the kernel tells it).
    ///
    /// The lock is a POSIX record lock (`fcntl(F_SETLK)`), which belongs to
    /// the process that took it: a forked worker does not inherit it (as it
    /// would a `flock`), so a killed sweep's lock is free at once, not when
    /// the last of its dying workers is gone. The kernel drops it when the
    /// sweep exits, however it exits.
    pub fn lock(&self) -> Result<DirLock, LockError> {
        let path = self.0.join(Self::LOCK);
        // Another sweep may remove the lock file as it ends, between our
        // open and our lock: then ours is a lock on a file nobody sees, so
        // try again on the new one.
        for _ in 0..3 {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| LockError::Io(path.clone(), e))?;
            match fcntl(&file, FcntlArg::F_SETLK(&whole_file(libc::F_WRLCK))) {
                Ok(_) => {}
                Err(Errno::EAGAIN | Errno::EACCES) => return Err(LockError::Busy(holder(&file))),
                Err(errno) => return Err(LockError::Io(path, errno.into())),
            }
            if !same_file(&file, &path) {
                continue;
            }
            // For a person who looks: the kernel knows the holder anyway.
            let written = file
                .set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| write!(file, "{}", std::process::id()));
            written.map_err(|e| LockError::Io(path.clone(), e))?;
            return Ok(DirLock { path, _file: file });
        }
        Err(LockError::Busy(None))
    }

    /// The sweep's id in its rows: the folder's name.
    pub fn run_id(&self) -> String {
        self.0
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// A record lock of `kind` over the whole file.
fn whole_file(kind: libc::c_int) -> libc::flock {
    libc::flock {
        l_type: kind as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        // 0: to the end of the file, however long it grows.
        l_len: 0,
        l_pid: 0,
    }
}

/// The pid of the process holding a lock on `file`, if any.
fn holder(file: &File) -> Option<u32> {
    let mut probe = whole_file(libc::F_WRLCK);
    fcntl(file, FcntlArg::F_GETLK(&mut probe)).ok()?;
    (probe.l_type != libc::F_UNLCK as libc::c_short)
        .then(|| u32::try_from(probe.l_pid).ok())
        .flatten()
}

/// Whether the open `file` is still the file at `path`.
fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// A sweep's hold on its output folder; dropping it removes the lock file
/// (while still holding the lock) and releases it (closing the file).
#[derive(Debug)]
pub struct DirLock {
    path: PathBuf,
    _file: File,
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Why [`OutDir::lock`] failed.
#[derive(Debug)]
pub enum LockError {
    /// Another piscale (this pid, when known) holds the folder.
    Busy(Option<u32>),
    /// The lock file cannot be made.
    Io(PathBuf, std::io::Error),
}

/// Writes `bytes` to a temporary file next to `path`, syncs it and renames
/// it over `path`: readers see the old file or the new one, never half of
/// one. The temporary file is removed if anything fails.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sweep_at_a_time_holds_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutDir(dir.path().to_path_buf());
        let held = out.lock().unwrap();
        drop(held);
        assert!(
            !dir.path().join(OutDir::LOCK).exists(),
            "the lock file goes"
        );
        // Another process holds it (a POSIX lock, as Python's lockf takes):
        // busy, naming that process.
        let lock = dir.path().join(OutDir::LOCK);
        let mut other = std::process::Command::new("python3")
            .args([
                "-c",
                "import fcntl, sys, time\n\
                 f = open(sys.argv[1], 'a')\n\
                 fcntl.lockf(f, fcntl.LOCK_EX)\n\
                 print('locked', flush=True)\n\
                 time.sleep(30)",
            ])
            .arg(&lock)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(other.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line, "locked\n");
        let busy = out.lock();
        let _ = other.kill();
        let _ = other.wait();
        match busy {
            Err(LockError::Busy(pid)) => assert_eq!(pid, Some(other.id())),
            other => panic!("{other:?}"),
        }
        // Its holder gone, the lock is free.
        let again = out.lock().unwrap();
        drop(again);
    }

    #[test]
    fn only_a_sweep_folder_may_be_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutDir(dir.path().join("sweep"));
        assert_eq!(out.foreign_entry().unwrap(), None, "missing is fine");
        fs::create_dir(out.path()).unwrap();
        for name in [OutDir::RAW, OutDir::SUMMARY, ".raw.csv.12.tmp"] {
            fs::write(out.path().join(name), "x").unwrap();
        }
        fs::create_dir(out.plots()).unwrap();
        assert_eq!(out.foreign_entry().unwrap(), None);
        out.clear().unwrap();
        assert!(!out.raw().exists() && !out.plots().exists());
        fs::write(out.path().join("thesis.tex"), "x").unwrap();
        assert_eq!(out.foreign_entry().unwrap().as_deref(), Some("thesis.tex"));
    }

    #[test]
    fn atomic_writes_leave_only_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.csv");
        write_atomic(&path, b"a").unwrap();
        write_atomic(&path, b"b").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "b");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["summary.csv"]);
        let out = OutDir(dir.path().join("2025-01-01-host-120000"));
        assert_eq!(out.run_id(), "2025-01-01-host-120000");
        assert!(out.raw().ends_with("2025-01-01-host-120000/raw.csv"));
    }
}
