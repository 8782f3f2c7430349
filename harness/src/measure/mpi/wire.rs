//! What the ranks exchange, and what rank 0 tells the launcher.
//!
//! The exact partial is a `u128` (hits, or the midpoint's 64.64 fixed-point
//! sum) and MPI has no 128-bit integer sum. Cutting it into four 32-bit limbs
//! held in `u64`s makes `MPI_SUM` over `MPI_UINT64_T` exact: each limb sum
//! stays below 2^32 · ranks < 2^64 for any number of ranks up to 2^32, and
//! [`join_limbs`] carries them back together. So the reduction is a plain
//! MPI reduction, and the answer is bit-identical to `serial`'s.

// What only the ranks use (`worker`, with the `mpi` feature) is compiled
// with that feature, and for the tests.

use serde::{Deserialize, Serialize};

/// Rank 0's result line on stdout starts with this, so that anything else
/// the launcher or MPI prints cannot be mistaken for it.
pub const MARKER: &str = "piscale-mpi-result ";

#[cfg(any(feature = "mpi", test))]
/// Words of a host name in a rank's [`RankRecord`] (64 bytes).
const HOST_WORDS: usize = 8;

#[cfg(any(feature = "mpi", test))]
/// Words of a rank's fixed-size record, gathered to rank 0.
pub const RECORD_WORDS: usize = 2 + HOST_WORDS;

#[cfg(any(feature = "mpi", test))]
/// `partial` as four 32-bit limbs, least significant first.
pub fn split_limbs(partial: u128) -> [u64; 4] {
    std::array::from_fn(|i| ((partial >> (32 * i)) as u64) & 0xffff_ffff)
}

#[cfg(any(feature = "mpi", test))]
/// The sum of the partials whose limbs were summed into `limbs`.
pub fn join_limbs(limbs: [u64; 4]) -> u128 {
    limbs.iter().enumerate().fold(0u128, |acc, (i, &l)| {
        acc.wrapping_add(u128::from(l) << (32 * i))
    })
}

#[cfg(any(feature = "mpi", test))]
/// What one rank reports about itself, in a fixed-size form for `MPI_Gather`.
#[derive(Debug, Clone, PartialEq)]
pub struct RankRecord {
    /// Nanoseconds it spent computing its share.
    pub busy_ns: u64,
    /// The CPU it ran on, if known.
    pub cpu: Option<usize>,
    /// Its host (at most 64 bytes of it).
    pub host: String,
}

#[cfg(any(feature = "mpi", test))]
impl RankRecord {
    /// The record as words.
    pub fn to_words(&self) -> [u64; RECORD_WORDS] {
        let mut words = [0u64; RECORD_WORDS];
        words[0] = self.busy_ns;
        words[1] = self.cpu.map_or(u64::MAX, |c| c as u64);
        let mut bytes = [0u8; HOST_WORDS * 8];
        let host = truncate_utf8(&self.host, bytes.len());
        bytes[..host.len()].copy_from_slice(host.as_bytes());
        for (w, chunk) in words[2..].iter_mut().zip(bytes.chunks_exact(8)) {
            *w = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        }
        words
    }

    /// Reads [`to_words`](Self::to_words).
    pub fn from_words(words: &[u64]) -> RankRecord {
        let word = |i: usize| words.get(i).copied().unwrap_or_default();
        let bytes: Vec<u8> = (2..RECORD_WORDS)
            .flat_map(|i| word(i).to_le_bytes())
            .take_while(|&b| b != 0)
            .collect();
        RankRecord {
            busy_ns: word(0),
            cpu: (word(1) != u64::MAX).then_some(word(1) as usize),
            host: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

#[cfg(any(feature = "mpi", test))]
fn truncate_utf8(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// One rank, as rank 0 reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankInfo {
    /// Its rank in `MPI_COMM_WORLD`.
    pub rank: usize,
    /// The host it ran on (`MPI_Get_processor_name`).
    pub host: String,
    /// The CPU it ran on, if known.
    pub cpu: Option<usize>,
    /// Seconds it spent computing its share.
    pub compute_s: f64,
}

/// Which clock measured the launch: the launcher's `CLOCK_MONOTONIC` when
/// rank 0 runs on the launcher's host, the (NTP-synchronised) wall clock
/// otherwise, as a monotonic clock is not comparable across machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpawnClock {
    /// Same host: exact.
    Monotonic,
    /// Another host: as good as the hosts' clock synchronisation.
    Realtime,
}

/// Rank 0's result: one JSON line after [`MARKER`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MpiResult {
    /// Exact combined partial, as a decimal string (JSON numbers lose `u128`s).
    pub partial: String,
    /// The kernels' instruction set on rank 0.
    pub isa: String,
    /// Launcher start until every rank passed the first barrier.
    pub spawn_s: f64,
    /// The slowest rank's compute time.
    pub compute_s: f64,
    /// The rest of rank 0's `MPI_Wtime` interval around compute + reduce.
    pub reduce_s: f64,
    /// Which clock measured `spawn_s`.
    pub spawn_clock: SpawnClock,
    /// Every rank, in rank order.
    pub ranks: Vec<RankInfo>,
}

impl MpiResult {
    /// The line rank 0 prints.
    #[cfg(any(feature = "mpi", test))]
    pub fn to_line(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_else(|_| "{}".into());
        format!("{MARKER}{json}")
    }

    /// The exact partial.
    pub fn partial(&self) -> Result<u128, String> {
        self.partial
            .parse()
            .map_err(|_| format!("the ranks reported a bad partial '{}'", self.partial))
    }
}

/// Finds and parses rank 0's result line in the launcher's stdout.
pub fn parse(stdout: &str) -> Result<MpiResult, String> {
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.trim_start().strip_prefix(MARKER))
        .ok_or("rank 0 printed no result line")?;
    serde_json::from_str(line).map_err(|e| format!("rank 0's result line is malformed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limb_sums_are_exact() {
        let parts: [u128; 4] = [u128::MAX / 3, (1 << 100) + 12345, u64::MAX as u128, 7];
        let mut limbs = [0u64; 4];
        for p in parts {
            for (l, x) in limbs.iter_mut().zip(split_limbs(p)) {
                *l += x;
            }
        }
        let want = parts.iter().fold(0u128, |a, &p| a.wrapping_add(p));
        assert_eq!(join_limbs(limbs), want);
        assert_eq!(join_limbs(split_limbs(u128::MAX)), u128::MAX);
    }

    #[test]
    fn records_round_trip() {
        let r = RankRecord {
            busy_ns: 123,
            cpu: Some(5),
            host: "node-017.cluster".into(),
        };
        assert_eq!(RankRecord::from_words(&r.to_words()), r);
        let unknown = RankRecord {
            cpu: None,
            host: "é".repeat(40),
            ..r
        };
        let back = RankRecord::from_words(&unknown.to_words());
        assert_eq!(back.cpu, None);
        assert_eq!(back.host, "é".repeat(32));
    }

    #[test]
    fn the_result_line_is_found_among_other_output() {
        let result = MpiResult {
            partial: (u128::MAX - 1).to_string(),
            isa: "avx2".into(),
            spawn_s: 0.1,
            compute_s: 0.2,
            reduce_s: 0.001,
            spawn_clock: SpawnClock::Monotonic,
            ranks: vec![RankInfo {
                rank: 0,
                host: "h".into(),
                cpu: Some(1),
                compute_s: 0.2,
            }],
        };
        let stdout = format!("warning: something\n{}\nbye\n", result.to_line());
        let back = parse(&stdout).unwrap();
        assert_eq!(back, result);
        assert_eq!(back.partial().unwrap(), u128::MAX - 1);
        assert!(parse("nothing here").is_err());
        assert!(parse(&format!("{MARKER}{{"))
            .unwrap_err()
            .contains("malformed"));
    }
}
