//! CPU lists, pinning and placement.
//!
//! Worker `i` pins itself to `cpus[i % cpus.len()]` as its first act and then
//! records the CPU it actually runs on, so a result always says where it ran.
//! `sched_setaffinity` and `sched_getcpu` are plain system calls and safe to
//! use in a forked child.

use std::fmt;
use std::str::FromStr;

use nix::sched::{sched_getaffinity, sched_getcpu, sched_setaffinity, CpuSet};
use nix::unistd::Pid;

use crate::error::{Error, OsContext, Result};

/// An ordered list of CPU ids, as in `0,2,4-7`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuList(pub Vec<usize>);

impl CpuList {
    /// The CPUs this process may run on (`sched_getaffinity`), in order.
    pub fn usable() -> Result<CpuList> {
        let set = sched_getaffinity(Pid::from_raw(0)).os("sched_getaffinity")?;
        Ok(CpuList(
            (0..CpuSet::count())
                .filter(|&c| set.is_set(c).unwrap_or(false))
                .collect(),
        ))
    }

    /// The distinct CPUs of the list, ascending: where workers pinned by it
    /// can run (`0,0` is one CPU).
    pub fn distinct(&self) -> Vec<usize> {
        let mut cpus = self.0.clone();
        cpus.sort_unstable();
        cpus.dedup();
        cpus
    }

    /// The CPU worker `worker` pins to.
    pub fn for_worker(&self, worker: usize) -> Option<usize> {
        (!self.0.is_empty()).then(|| self.0[worker % self.0.len()])
    }

    /// Checks that every CPU is one this process may use.
    pub fn check_usable(&self) -> Result<()> {
        let usable = CpuList::usable()?;
        match self.0.iter().find(|c| !usable.0.contains(c)) {
            Some(c) => Err(Error::Invalid(format!(
                "CPU {c} is not usable by this process (usable: {usable})"
            ))),
            None => Ok(()),
        }
    }
}

impl fmt::Display for CpuList {
    /// Compact form: `0-3,6,8-9`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut i = 0;
        let v = &self.0;
        while i < v.len() {
            let mut j = i;
            while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
                j += 1;
            }
            if i > 0 {
                f.write_str(",")?;
            }
            if j > i {
                write!(f, "{}-{}", v[i], v[j])?;
            } else {
                write!(f, "{}", v[i])?;
            }
            i = j + 1;
        }
        Ok(())
    }
}

impl FromStr for CpuList {
    type Err = Error;

    /// Parses `0,2,4-7`; rejects empty lists, empty items, reversed ranges and
    /// ids beyond the kernel's CPU set size.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::Invalid(format!("malformed CPU list '{s}': {why}"));
        let max = CpuSet::count();
        let id = |t: &str| -> Result<usize> {
            let v: usize = t
                .trim()
                .parse()
                .map_err(|_| bad(&format!("'{}' is not a CPU id", t.trim())))?;
            if v >= max {
                return Err(bad(&format!(
                    "CPU {v} is beyond the largest id {}",
                    max - 1
                )));
            }
            Ok(v)
        };
        if s.trim().is_empty() {
            return Err(bad("it is empty"));
        }
        let mut cpus = Vec::new();
        for item in s.split(',') {
            match item.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (id(a)?, id(b)?);
                    if a > b {
                        return Err(bad(&format!("range {a}-{b} is reversed")));
                    }
                    cpus.extend(a..=b);
                }
                None => cpus.push(id(item)?),
            }
        }
        Ok(CpuList(cpus))
    }
}

/// Pins the calling thread to `cpu`. Async-signal-safe (no allocation).
pub fn pin_current_thread(cpu: usize) -> nix::Result<()> {
    let mut set = CpuSet::new();
    set.set(cpu)?;
    sched_setaffinity(Pid::from_raw(0), &set)
}

/// The CPU the calling thread runs on now, if the kernel says.
pub fn current_cpu() -> Option<usize> {
    sched_getcpu().ok()
}

/// Pins the calling worker to its CPU (if a list is given) and returns the
/// CPU it runs on. Pinning errors are not fatal: the recorded CPU shows them.
pub fn pin_worker(cpus: Option<&CpuList>, worker: usize) -> Option<usize> {
    if let Some(cpu) = cpus.and_then(|c| c.for_worker(worker)) {
        let _ = pin_current_thread(cpu);
    }
    current_cpu()
}

/// Restores the calling thread's affinity when dropped (for `serial`, which
/// runs on the caller's thread).
#[derive(Debug)]
pub(crate) struct AffinityGuard(Option<CpuSet>);

impl AffinityGuard {
    pub(crate) fn pin(cpus: Option<&CpuList>) -> (AffinityGuard, Option<usize>) {
        let saved = cpus.and_then(|_| sched_getaffinity(Pid::from_raw(0)).ok());
        (AffinityGuard(saved), pin_worker(cpus, 0))
    }
}

impl Drop for AffinityGuard {
    fn drop(&mut self) {
        if let Some(set) = &self.0 {
            let _ = sched_setaffinity(Pid::from_raw(0), set);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_ranges() {
        assert_eq!(
            "0,2,4-7".parse::<CpuList>().unwrap().0,
            vec![0, 2, 4, 5, 6, 7]
        );
        assert_eq!(" 3 ".parse::<CpuList>().unwrap().0, vec![3]);
        for bad in ["", "1,", "a", "3-1", "1-", "-1", "99999"] {
            assert!(bad.parse::<CpuList>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn displays_compactly() {
        assert_eq!(CpuList(vec![0, 1, 2, 3, 6, 8, 9]).to_string(), "0-3,6,8-9");
    }

    #[test]
    fn usable_cpus_include_the_current_one() {
        let usable = CpuList::usable().unwrap();
        assert!(!usable.0.is_empty());
        assert!(usable.0.contains(&current_cpu().unwrap()));
    }
}
