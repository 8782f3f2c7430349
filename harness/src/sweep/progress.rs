//! How far a sweep got: a progress bar on a terminal, one line per finished
//! point otherwise, each with the point's live median and speed-up.

use std::collections::HashMap;
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::plan::Point;
use crate::analyse::stats;
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
    /// Progress over `todo`, the (point index, rep) pairs to measure.
    pub(super) fn new(points: &'a [Point], todo: &[(usize, u32)]) -> Progress<'a> {
        let mut reps_left = vec![0; points.len()];
        for (i, _) in todo {
            reps_left[*i] += 1;
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
            times: HashMap::new(),
            reps_left,
            index: points.iter().enumerate().map(|(i, p)| (&p.id, i)).collect(),
        }
    }

    /// Point `i` measured `row`.
    pub(super) fn step(&mut self, i: usize, row: &RawRow) {
        if let Some(t) = row.ok_wall_s() {
            self.times.entry(i).or_default().push(t);
        }
        self.reps_left[i] -= 1;
        let id = &self.points[i].id;
        let shown = self
            .speedup(id)
            .map_or_else(String::new, |s| format!(", speed-up {s:.2}×"));
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
    /// (scaled by the workers in weak mode), so far.
    fn speedup(&self, id: &PointId) -> Option<f64> {
        let t1 = self.median(*self.index.get(&id.own_baseline())?)?;
        let tp = self.median(*self.index.get(id)?)?;
        let scale = match id.mode {
            Mode::Weak => id.workers as f64,
            Mode::Strong => 1.0,
        };
        (tp > 0.0).then(|| scale * t1 / tp)
    }
}

/// `mc threads strong p=2`.
fn label(id: &PointId) -> String {
    format!("{} {} {} p={}", id.method, id.kernel, id.mode, id.workers)
}
