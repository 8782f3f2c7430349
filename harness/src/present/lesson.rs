//! `piscale lesson race`'s output: every trial of the bank account, each
//! way beside the course's Python, and what happened in plain words — as
//! text, or as one JSON object. Only formats what it is given.
//!
//! The JSON object has the keys of [`Race`] (`operations`, `repeat`,
//! `start_balance`, `usable_cpus`, `pinned`, `trials`: one object per
//! trial with `way`, `repetition`, `balance`, `deposits`, `withdrawals`,
//! `expected`, `lost`, `seconds`, `cpus`, `lock_recovered`) and
//! `explanation`, the paragraph of the text.

use std::io::{self, Write};

use serde::Serialize;

use super::format::{time, times};
use super::run::Format;
use super::table::columns;
use crate::analyse::stats::median;
use crate::lesson::race::{Race, Trial};
use piscale_kernels::Update;

/// The width the text's paragraphs are wrapped to.
const WIDTH: usize = 78;

/// Prints `race` in `format`.
pub fn race(out: &mut impl Write, format: Format, race: &Race) -> io::Result<()> {
    match format {
        Format::Text => write!(out, "{}", text(race)),
        Format::Json => {
            let doc = Json {
                race,
                explanation: explanation(race),
            };
            let line = serde_json::to_string(&doc).map_err(io::Error::other)?;
            writeln!(out, "{line}")
        }
    }
}

/// The JSON object (see the module documentation).
#[derive(Serialize)]
struct Json<'a> {
    #[serde(flatten)]
    race: &'a Race,
    explanation: String,
}

/// The course's Python for each way.
fn python(way: Update) -> &'static str {
    match way {
        Update::None => "balance.value = balance.value - 1",
        Update::Lock => "with lock: balance.value = balance.value - 1",
        Update::Atomic => "(no Python spelling; Rust: balance.fetch_add(-1, Relaxed))",
    }
}

/// The whole text: the setting, one row per trial, each way beside the
/// course's Python, and the explanation.
pub fn text(race: &Race) -> String {
    let ops = race.operations;
    let where_ = match race.pinned {
        Some([a, b]) => format!("pinned to CPUs {a} and {b}"),
        None => format!("{}, not pinned", plural(race.usable_cpus, "usable CPU")),
    };
    let mut s = wrap(&format!(
        "The course's bank account: a balance of {start} in memory two processes share; \
         one deposits 1, {ops} times, while the other withdraws 1, {ops} times, both at \
         once ({where_}). Each way {reps}; every balance should end at {start}.",
        start = race.start_balance,
        reps = plural(race.repeat as usize, "time"),
    ));
    s.push('\n');
    if race.usable_cpus < 2 {
        s.push_str(&wrap(
            "Only one CPU is usable: the two processes take turns on it, and one may do \
             all its updates within a time slice before the other starts — the race may \
             not show here.",
        ));
        s.push('\n');
    }

    let rows = race
        .trials
        .iter()
        .map(|t| {
            vec![
                t.way.to_string(),
                t.repetition.to_string(),
                t.balance.to_string(),
                t.expected.to_string(),
                format!("{} of {}", t.lost, t.updates()),
                time(t.seconds),
            ]
        })
        .collect();
    let header = ["way", "run", "balance", "expected", "lost", "time"];
    s.push_str(&table(&header, rows, &[0, 4]));
    s.push_str(&wrap(&format!(
        "expected: {} + deposits − withdrawals, as each process counted its own. lost: \
         how far the balance ended from it; a lost deposit and a lost withdrawal cancel \
         out there, so at least that many updates were lost.",
        race.start_balance
    )));
    s.push('\n');

    s.push_str("Each way beside the course's Python, and what it did:\n\n");
    for way in ways(race) {
        let name = way.to_string();
        s.push_str(&format!("  {name:<6}  {}\n", python(way)));
        s.push_str(&format!("  {:<6}  → {}\n", "", verdict(race, way)));
    }
    s.push('\n');
    s.push_str(&wrap(&explanation(race)));
    if let Some(t) = race.trials.iter().find(|t| t.lock_recovered > 0) {
        s.push('\n');
        s.push_str(&wrap(&format!(
            "In `{}` run {}, a process died holding the lock; the other found it \
             abandoned (EOWNERDEAD) and made it consistent.",
            t.way, t.repetition
        )));
    }
    s
}

/// The ways `race` ran, in their order.
fn ways(race: &Race) -> Vec<Update> {
    let mut ways: Vec<Update> = Vec::new();
    for t in &race.trials {
        if !ways.contains(&t.way) {
            ways.push(t.way);
        }
    }
    ways
}

/// `way`'s trials.
fn trials(race: &Race, way: Update) -> Vec<&Trial> {
    race.trials.iter().filter(|t| t.way == way).collect()
}

/// The median time of `way`'s trials.
fn median_time(race: &Race, way: Update) -> Option<f64> {
    let secs: Vec<f64> = trials(race, way).iter().map(|t| t.seconds).collect();
    median(&secs)
}

/// One way in a few words: what it lost and how long it took.
fn verdict(race: &Race, way: Update) -> String {
    let trials = trials(race, way);
    let losing = trials.iter().filter(|t| t.lost > 0).count();
    let most = trials.iter().map(|t| t.lost).max().unwrap_or(0);
    let took = median_time(race, way).map_or_else(String::new, |m| format!(", median {}", time(m)));
    if losing == 0 {
        format!("nothing lost{took}")
    } else {
        format!(
            "lost updates in {losing} of {} runs, up to {most}{took}",
            trials.len()
        )
    }
}

/// What happened, in plain words, with this run's figures.
pub fn explanation(race: &Race) -> String {
    let ways = ways(race);
    let mut s = String::from(
        "What happened: `balance.value = balance.value - 1` looks like one step but is \
         three: read the balance, subtract 1, write the result back. ",
    );
    if ways.contains(&Update::None) {
        let none = trials(race, Update::None);
        let losing = none.iter().filter(|t| t.lost > 0).count();
        let most = none.iter().map(|t| t.lost).max().unwrap_or(0);
        s.push_str(
            "In `none` both processes take those steps at the same time; when both \
             read the same balance before either writes, each writes its own result and \
             the later write wipes out the earlier one: that update is lost. ",
        );
        if losing > 0 {
            s.push_str(&format!(
                "Here {losing} of {} runs lost updates, up to {most} of {}, a different \
                 number each time: it depends on exactly how the two processes' steps \
                 interleave. ",
                none.len(),
                2 * race.operations
            ));
        } else if race.usable_cpus < 2 {
            s.push_str(
                "Here no run lost one: on one CPU the processes rarely interleave \
                 mid-update. ",
            );
        } else {
            s.push_str(
                "Here no run lost one: the updates did not overlap enough this time \
                 (more --operations make them). ",
            );
        }
        s.push_str(
            "(multiprocessing.Value has a lock of its own, but it guards the read and \
             the write separately, not the pair.) ",
        );
    }
    if ways.contains(&Update::Lock) {
        s.push_str(
            "`with lock:` lets one process at a time read and write, so no update can \
             be lost; but each update waits its turn, and the lock moves between the \
             CPUs at every turn",
        );
        match (
            median_time(race, Update::Lock),
            median_time(race, Update::Atomic),
        ) {
            (Some(lock), Some(atomic)) if atomic > 0.0 => s.push_str(&format!(
                ": `lock` took {} a run, {} as long as `atomic`. ",
                time(lock),
                times(lock / atomic)
            )),
            _ => s.push_str(". "),
        }
    }
    if ways.contains(&Update::Atomic) {
        s.push_str(
            "`atomic` asks the CPU to read, add and write as one indivisible \
             instruction (an add with a lock prefix on x86-64): nothing is lost and nobody waits for a \
             lock, which is why an atomic counter (std::atomic in C++, AtomicI64 in \
             Rust) is the modern answer for one shared number. Python's multiprocessing \
             has no atomic add, so the course takes a lock.",
        );
    }
    s.trim_end().to_string()
}

/// `1 time`, `5 times`.
fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// `text` wrapped at [`WIDTH`] columns, words kept whole, ending in a
/// line break.
fn wrap(text: &str) -> String {
    let mut s = String::new();
    let mut line = 0;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if line > 0 && line + 1 + len > WIDTH {
            s.push('\n');
            line = 0;
        } else if line > 0 {
            s.push(' ');
            line += 1;
        }
        s.push_str(word);
        line += len;
    }
    s.push('\n');
    s
}

/// [`columns`], followed by an empty line.
fn table(header: &[&str], rows: Vec<Vec<String>>, left: &[usize]) -> String {
    let mut s = columns(header, rows, left);
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(way: Update, repetition: u32, balance: i64, seconds: f64) -> Trial {
        Trial {
            way,
            repetition,
            balance,
            deposits: 10_000,
            withdrawals: 10_000,
            expected: 100,
            lost: balance.abs_diff(100),
            seconds,
            cpus: [Some(0), Some(1)],
            lock_recovered: 0,
        }
    }

    fn race(pinned: Option<[usize; 2]>) -> Race {
        Race {
            operations: 10_000,
            repeat: 2,
            start_balance: 100,
            usable_cpus: if pinned.is_some() { 2 } else { 1 },
            pinned,
            trials: vec![
                trial(Update::None, 1, 37, 412e-6),
                trial(Update::None, 2, 100, 398e-6),
                trial(Update::Lock, 1, 100, 2.31e-3),
                trial(Update::Lock, 2, 100, 2.05e-3),
                trial(Update::Atomic, 1, 100, 350e-6),
                trial(Update::Atomic, 2, 100, 330e-6),
            ],
        }
    }

    #[test]
    fn text_snapshot() {
        insta::assert_snapshot!(text(&race(Some([0, 1]))));
    }

    #[test]
    fn one_cpu_says_the_race_may_not_show() {
        let mut r = race(None);
        for t in &mut r.trials {
            (t.balance, t.lost) = (100, 0);
        }
        let s = text(&r);
        let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
        for said in [
            "(1 usable CPU, not pinned)",
            "the race may not show here",
            "on one CPU the processes rarely interleave",
        ] {
            assert!(flat.contains(said), "no {said:?} in:\n{s}");
        }
    }

    #[test]
    fn lines_stay_within_the_width() {
        for line in text(&race(Some([0, 1]))).lines() {
            assert!(line.chars().count() <= WIDTH, "{line}");
        }
    }

    #[test]
    fn json_is_one_object_with_every_trial_and_the_explanation() {
        let mut out = Vec::new();
        super::race(&mut out, Format::Json, &race(Some([0, 1]))).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s.lines().count(), 1);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["trials"].as_array().unwrap().len(), 6);
        assert_eq!(v["trials"][0]["way"], "none");
        assert_eq!(v["trials"][0]["lost"], 63);
        assert_eq!(v["pinned"], serde_json::json!([0, 1]));
        assert!(v["explanation"]
            .as_str()
            .unwrap()
            .starts_with("What happened"));
    }
}
