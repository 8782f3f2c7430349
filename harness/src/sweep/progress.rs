//! How far a sweep got: a progress bar on a terminal, one line per finished
//! point otherwise, each with the point's median and speed-up — the
//! statistics of the final table, over every repetition measured so far
//! (a resumed sweep's earlier ones too), and said to be "so far" while the
//! 1-worker run it is over still has repetitions to come.

use std::collections::HashMap;
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::plan::Point;
use crate::analyse::stats;
use crate::present::format::times;
use crate::present::note;
use crate::results::{Mode, PointId, RawRow, Status};

/// Progress of the repetitions still to measure.
pub(super) struct Progress<'a> {
    bar: Option<ProgressBar>,
    points: &'a [Point],
    /// Wall times of the ok repetitions measured so far, by point index.
    times: HashMap<usize, Vec<f64>>,
    /// Repetitions each point still has to run.
    reps_left: Vec<u32>,
    /// Index of each point's id.
    index: HashMap<&'a PointId, usize>,
}

impl<'a> Progress<'a> {
    /// Progress over `todo`, the (point index, rep) pairs to measure, after
    /// the `earlier` rows of a resumed sweep (each (point, rep) once).
    pub(super) fn new(
        points: &'a [Point],
        todo: &[(usize, u32)],
        earlier: &[RawRow],
    ) -> Progress<'a> {
        let mut reps_left = vec![0; points.len()];
        for (i, _) in todo {
            reps_left[*i] += 1;
        }
        let index: HashMap<&PointId, usize> =
            points.iter().enumerate().map(|(i, p)| (&p.id, i)).collect();
        let mut times: HashMap<usize, Vec<f64>> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for row in earlier {
            let id = row.id();
            if let (Some(&i), Some(t)) = (index.get(&id), row.ok_wall_s()) {
                if seen.insert((i, row.rep)) {
                    times.entry(i).or_default().push(t);
                }
            }
        }
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(todo.len() as u64),
                ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} ETA {eta} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Progress {
            bar,
            points,
            times,
            reps_left,
            index,
        }
    }

    /// Point `i` measured `row`.
    pub(super) fn step(&mut self, i: usize, row: &RawRow) {
        if let Some(t) = row.ok_wall_s() {
            self.times.entry(i).or_default().push(t);
        }
        self.reps_left[i] -= 1;
        let id = &self.points[i].id;
        let mut shown = self.speedup(id).map_or_else(String::new, |(s, so_far)| {
            format!(
                ", speed-up {}{}",
                if so_far { "so far " } else { "" },
                times(s)
            )
        });
        // Its answer too: a program that prints something else shows here.
        if let Some(estimate) = row.estimate {
            shown.push_str(&format!(", pi ≈ {estimate:.6}"));
        }
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{} rep {}{shown}", label(id), row.rep));
                bar.inc(1);
            }
            None if self.reps_left[i] == 0 => {
                let median = self.median(i).unwrap_or(f64::NAN);
                let status = match row.status {
                    Status::Ok => String::new(),
                    Status::Failed => format!(" (failed: {})", row.error),
                    Status::Wrong => format!(" (wrong on purpose: {})", row.error),
                };
                note(format_args!(
                    "{}: median {median:.4} s{shown}{status}",
                    label(id)
                ));
            }
            None => {}
        }
    }

    /// Clears the bar.
    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn median(&self, i: usize) -> Option<f64> {
        stats::median(self.times.get(&i)?)
    }

    /// Median time of the same kernel at 1 worker over this point's median
    /// (scaled by the workers in weak mode), as the summary computes it;
    /// and whether either still has repetitions to come (so far).
    fn speedup(&self, id: &PointId) -> Option<(f64, bool)> {
        let base = *self.index.get(&id.own_baseline())?;
        let point = *self.index.get(id)?;
        let (t1, tp) = (self.median(base)?, self.median(point)?);
        let scale = match id.mode {
            Mode::Weak => id.workers as f64,
            Mode::Strong => 1.0,
        };
        let so_far = self.reps_left[base] > 0 || self.reps_left[point] > 0;
        (tp > 0.0).then(|| (scale * stats::speedup(t1, tp), so_far))
    }
}

/// `mc threads strong p=2`.
fn label(id: &PointId) -> String {
    format!("{} {} {} p={}", id.method, id.kernel, id.mode, id.workers)
}
