//! A sweep's output folder: every file name it holds, defined once; the
//! lock one sweep holds on it while it writes; and the atomic write that
//! replaces a file without a reader ever seeing half of it.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg};
use piscale_kernels::{Method, Named};
use strum::VariantArray;

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
    /// The folder of the plots, which holds only [`PlotName`]s.
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

    /// `plots/KIND-METHOD.FORMAT`.
    pub fn plot(&self, name: PlotName) -> PathBuf {
        self.plots().join(name.file_name())
    }

    /// Whether the folder holds only what a sweep writes (and some of it):
    /// the only kind of folder `--force` may empty. A missing or empty
    /// folder counts too. Returns the first foreign entry otherwise, by
    /// name, as `thesis.tex` or `plots/notes.txt`.
    ///
    /// A sweep's files are [`NAMES`](Self::NAMES) (plain files, but `plots`,
    /// a folder holding only [`PlotName`]s) and the temporary files of
    /// [`write_atomic`]. Anything else, a subfolder of `plots/` too, is the
    /// user's.
    pub fn foreign_entry(&self) -> Result<Option<String>> {
        let Some(top) = entries(&self.0)? else {
            return Ok(None);
        };
        for (name, is_dir) in top {
            let ours = match name.to_str() {
                Some(Self::PLOTS) => is_dir,
                Some(name) => !is_dir && is_ours(name, |n| Self::NAMES.contains(&n)),
                None => false,
            };
            if !ours {
                return Ok(Some(name.to_string_lossy().into_owned()));
            }
        }
        let Some(plots) = entries(&self.plots())? else {
            return Ok(None);
        };
        Ok(plots
            .into_iter()
            .find(|(name, is_dir)| *is_dir || !is_plot(name))
            .map(|(name, _)| format!("{}/{}", Self::PLOTS, name.to_string_lossy())))
    }

    /// Removes what a sweep wrote in the folder, all but the lock (held by
    /// the caller): `--force`. Refuse first, with [`foreign_entry`], a
    /// folder that holds anything else. Only a sweep's own files go;
    /// `plots/` goes only if nothing else is left in it.
    ///
    /// [`foreign_entry`]: Self::foreign_entry
    pub fn clear(&self) -> Result<()> {
        let plots = self.plots();
        for (name, is_dir) in entries(&plots)?.unwrap_or_default() {
            if !is_dir && is_plot(&name) {
                remove_file(&plots.join(name))?;
            }
        }
        match fs::remove_dir(&plots) {
            Err(e) if !matches!(e.kind(), ErrorKind::NotFound | ErrorKind::DirectoryNotEmpty) => {
                return Err(e).with_context(|| format!("cannot replace {}", plots.display()))
            }
            _ => {}
        }
        for (name, is_dir) in entries(&self.0)?.unwrap_or_default() {
            let ours = name.to_str().is_some_and(|name| {
                name != Self::LOCK
                    && name != Self::PLOTS
                    && is_ours(name, |n| Self::NAMES.contains(&n))
            });
            if !is_dir && ours {
                remove_file(&self.0.join(name))?;
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

/// What a plot shows: the first part of its file name in `plots/`. The
/// names are kebab-case: `speedup`, `efficiency`, `time`, `phases`, `weak`,
/// `breakdown` (what each draws: `present::plots`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "kebab-case")]
pub enum PlotKind {
    /// Speed-up against workers.
    Speedup,
    /// Parallel efficiency against workers.
    Efficiency,
    /// Wall time against workers.
    Time,
    /// Spawn, compute and reduce times.
    Phases,
    /// Weak-scaling efficiency.
    Weak,
    /// Where the speed-up went: ideal, capacity, then each loss.
    Breakdown,
}

impl PlotKind {
    /// `speedup`.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The kind named exactly `name`.
    pub fn from_name(name: &str) -> Option<PlotKind> {
        Self::VARIANTS.iter().copied().find(|k| k.name() == name)
    }
}

/// The formats each plot is written in, as its file name ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "lowercase")]
pub enum PlotFormat {
    /// `.svg`, which the HTML report inlines.
    Svg,
    /// `.png`.
    Png,
}

impl PlotFormat {
    /// `svg`.
    pub fn extension(self) -> &'static str {
        self.into()
    }
}

/// The file of one plot in `plots/`, `KIND-METHOD.FORMAT` (`speedup-mc.svg`):
/// the one definition of the only files a sweep writes there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlotName {
    /// What it shows.
    pub kind: PlotKind,
    /// The method whose points it shows.
    pub method: Method,
    /// Its format.
    pub format: PlotFormat,
}

impl PlotName {
    /// `speedup-mc.svg`.
    pub fn file_name(self) -> String {
        format!(
            "{}-{}.{}",
            self.kind.name(),
            self.method.name(),
            self.format.extension()
        )
    }

    /// The plot whose file is named exactly `file_name`, if any.
    pub fn parse(file_name: &str) -> Option<PlotName> {
        let (stem, extension) = file_name.rsplit_once('.')?;
        let format = PlotFormat::VARIANTS
            .iter()
            .copied()
            .find(|f| f.extension() == extension)?;
        let (kind, method) = stem.split_once('-')?;
        Some(PlotName {
            kind: PlotKind::from_name(kind)?,
            method: Method::VARIANTS
                .iter()
                .copied()
                .find(|m| m.name() == method)?,
            format,
        })
    }
}

/// The entries of folder `dir` by name, sorted (so that the first foreign
/// one is always the same), each with whether it is a folder (a symbolic
/// link is not); `None` if there is no such folder.
fn entries(dir: &Path) -> Result<Option<Vec<(OsString, bool)>>> {
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut entries = Vec::new();
    for entry in read {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let file_type = entry
            .file_type()
            .with_context(|| format!("cannot read {}", entry.path().display()))?;
        entries.push((entry.file_name(), file_type.is_dir()));
    }
    entries.sort();
    Ok(Some(entries))
}

/// Whether `name` is a file `named` accepts, or the temporary file
/// [`write_atomic`] writes for one.
fn is_ours(name: &str, named: impl Fn(&str) -> bool) -> bool {
    named(name) || temporary_of(name).is_some_and(named)
}

/// Whether `name`, in `plots/`, is a plot or a plot's temporary file.
fn is_plot(name: &OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| is_ours(n, |n| PlotName::parse(n).is_some()))
}

/// `.raw.csv.1234.tmp`: the temporary file [`write_atomic`] writes first
/// for `raw.csv`, in process 1234.
fn temporary_name(name: &OsStr) -> OsString {
    let mut tmp = OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".{}.tmp", std::process::id()));
    tmp
}

/// The file name whose [`temporary_name`] `name` is, if it is one.
fn temporary_of(name: &str) -> Option<&str> {
    let (of, pid) = name
        .strip_prefix('.')?
        .strip_suffix(".tmp")?
        .rsplit_once('.')?;
    (!pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())).then_some(of)
}

/// Removes the file at `path`; one already gone is no error.
fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot replace {}", path.display()))
        }
        _ => Ok(()),
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
    let tmp = path.with_file_name(temporary_name(name));
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
        for name in ["speedup-mc.svg", "weak-midpoint.png", ".time-mc.png.77.tmp"] {
            fs::write(out.plots().join(name), "x").unwrap();
        }
        assert_eq!(out.foreign_entry().unwrap(), None);
        out.clear().unwrap();
        let left: Vec<_> = fs::read_dir(out.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
        fs::write(out.path().join("thesis.tex"), "x").unwrap();
        assert_eq!(out.foreign_entry().unwrap().as_deref(), Some("thesis.tex"));
        // A temporary file of ours is `.NAME.PID.tmp`, nothing else.
        fs::remove_file(out.path().join("thesis.tex")).unwrap();
        fs::write(out.path().join(".notes.tmp"), "x").unwrap();
        assert_eq!(out.foreign_entry().unwrap().as_deref(), Some(".notes.tmp"));
    }

    #[test]
    fn force_keeps_what_the_user_put_in_plots() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutDir(dir.path().to_path_buf());
        fs::write(out.raw(), "x").unwrap();
        fs::create_dir(out.plots()).unwrap();
        fs::write(out.plots().join("speedup-mc.svg"), "x").unwrap();
        fs::write(out.plots().join("mine.txt"), "mine").unwrap();
        assert_eq!(
            out.foreign_entry().unwrap().as_deref(),
            Some("plots/mine.txt")
        );
        fs::remove_file(out.plots().join("mine.txt")).unwrap();
        fs::create_dir(out.plots().join("sub")).unwrap();
        fs::write(out.plots().join("sub/z"), "y").unwrap();
        assert_eq!(out.foreign_entry().unwrap().as_deref(), Some("plots/sub"));
        // A folder named like a plot is not one either.
        fs::create_dir(out.plots().join("time-mc.png")).unwrap();
        assert_eq!(
            out.foreign_entry().unwrap().as_deref(),
            Some("plots/sub"),
            "the first by name"
        );
        // Cleared anyway, only the plots go, and plots/ stays for the rest.
        out.clear().unwrap();
        assert!(!out.raw().exists() && !out.plots().join("speedup-mc.svg").exists());
        assert_eq!(fs::read_to_string(out.plots().join("sub/z")).unwrap(), "y");
        assert!(out.plots().join("time-mc.png").is_dir());
        // `plots` that is a file, or a link to a folder elsewhere, is not ours.
        fs::remove_dir_all(out.plots()).unwrap();
        fs::write(out.plots(), "x").unwrap();
        assert_eq!(out.foreign_entry().unwrap().as_deref(), Some("plots"));
        fs::remove_file(out.plots()).unwrap();
        std::os::unix::fs::symlink(dir.path(), out.plots()).unwrap();
        assert_eq!(out.foreign_entry().unwrap().as_deref(), Some("plots"));
    }

    #[test]
    fn plot_names_are_kind_method_format() {
        let name = PlotName {
            kind: PlotKind::Speedup,
            method: Method::Midpoint,
            format: PlotFormat::Png,
        };
        assert_eq!(name.file_name(), "speedup-midpoint.png");
        for kind in PlotKind::VARIANTS {
            for method in Method::VARIANTS {
                for format in PlotFormat::VARIANTS {
                    let name = PlotName {
                        kind: *kind,
                        method: *method,
                        format: *format,
                    };
                    assert_eq!(PlotName::parse(&name.file_name()), Some(name));
                }
            }
        }
        for other in [
            "speedup-mc.pdf",
            "speedup-pi.svg",
            "speed-mc.svg",
            "speedup-mc-2.svg",
            "mc.svg",
            "",
        ] {
            assert_eq!(PlotName::parse(other), None, "{other}");
        }
        let out = OutDir(PathBuf::from("d"));
        assert_eq!(out.plot(name), Path::new("d/plots/speedup-midpoint.png"));
        assert_eq!(
            temporary_of(".speedup-mc.svg.12.tmp"),
            Some("speedup-mc.svg")
        );
        assert_eq!(temporary_of(".speedup-mc.svg.tmp"), None);
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
