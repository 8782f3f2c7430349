//! A sweep's output folder: every file name it holds, defined once, and the
//! atomic write that replaces a file without a reader ever seeing half of it.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

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

    /// The sweep's id in its rows: the folder's name.
    pub fn run_id(&self) -> String {
        self.0
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
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
