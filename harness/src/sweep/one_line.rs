//! Sweeping your own program in one line: `piscale sweep --command CMD`
//! (hyperfine's way), and what a sweep of commands alone measures.
//!
//! A command given on the command line becomes a `[[command]]` like one in
//! a config file. When a sweep has commands and the user named no backends
//! (neither in a config file nor with `--backends`), it sweeps the commands
//! alone: beside them only piscale's `serial`, the absolute baseline, and
//! the capacity; only the commands' methods; and, unless `samples` was set,
//! N = [`COMMAND_SAMPLES`] — a number an interpreted script sweeps in
//! seconds, where the default study's 2^30 would take minutes a run.

use std::collections::BTreeSet;

use piscale_kernels::Method;

use super::config::SweepConfig;
use crate::error::UsageError;
use crate::measure::command::CommandKernel;
use crate::present::format::work;
use crate::results::Kernel;

/// N of a sweep of commands alone, unless set: 10^7 darts take Python's
/// `multiprocessing` about 2.5 s at one worker (scripts/pi1.py), a compiled
/// program milliseconds.
pub const COMMAND_SAMPLES: u64 = 10_000_000;

/// The settings the user set: top-level keys of the config file given
/// (not the embedded default's) and the flags given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Given(pub BTreeSet<String>);

impl Given {
    /// Whether the setting `key` (a TOML key, as `samples_per_worker`) was set.
    pub fn has(&self, key: &str) -> bool {
        self.0.contains(key)
    }

    /// The top-level keys of a TOML text (none when it does not parse:
    /// the config's own parsing reports that).
    pub fn keys_of(text: &str) -> BTreeSet<String> {
        text.parse::<toml::Table>()
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// Adds each `--command` (named by the `--name` at the same place, else
/// after its script or program) to `config`, computing `method`.
pub fn add_commands(
    config: &mut SweepConfig,
    commands: &[String],
    names: &[String],
    method: Method,
) -> Result<(), UsageError> {
    if names.len() > commands.len() {
        return Err(UsageError::flag(
            "--name",
            format!("{} names for {} --command", names.len(), commands.len()),
        ));
    }
    for (i, run) in commands.iter().enumerate() {
        let name = match names.get(i) {
            Some(name) => name.clone(),
            None => free_name(config, &name_from(run)),
        };
        let kernel = CommandKernel::new(name, run.clone(), method);
        kernel
            .check()
            .and_then(|()| kernel.check_runnable())
            .map_err(|e| UsageError::flag("--command", format!("`{run}`: {e}")))?;
        config.command.push(kernel);
    }
    Ok(())
}

/// A name for a command: the file name of its script or program — the
/// first word, past the program, that is a path or has an extension
/// (`python3 scripts/pi1.py …` → `pi1.py`, `mpirun -n 2 ./pi_mpi` →
/// `pi_mpi`), else the program's.
pub fn name_from(run: &str) -> String {
    let words = shell_words::split(run).unwrap_or_default();
    let file_name = |w: &str| w.rsplit('/').next().unwrap_or(w).to_owned();
    let looks_like_a_file = |w: &&String| {
        let code = w.contains(['{', '(', ' ', ';', '\'', '"']);
        !w.starts_with('-') && !code && (w.contains('/') || w.contains('.'))
    };
    words
        .iter()
        .skip(1)
        .find(looks_like_a_file)
        .or(words.first())
        .map(|w| file_name(w))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "command".into())
}

/// `name`, or `name-2`, `name-3`, … if a command or a built-in kernel has it.
fn free_name(config: &SweepConfig, name: &str) -> String {
    let taken =
        |n: &str| Kernel::from_name(n).is_builtin() || config.command.iter().any(|c| c.name == n);
    std::iter::once(name.to_owned())
        .chain((2..).map(|i| format!("{name}-{i}")))
        .find(|n| !taken(n))
        .expect("some suffix is free")
}

/// Makes a sweep with commands and no backend named a sweep of the
/// commands alone (see the module documentation); returns what to tell the
/// user, or `None` when it is not one.
pub fn commands_alone(config: &mut SweepConfig, given: &Given) -> Option<String> {
    if config.command.is_empty() || given.has("backends") {
        return None;
    }
    config.backends.clear();
    if !given.has("methods") {
        let mut methods: Vec<Method> = config.command.iter().map(|c| c.method).collect();
        methods.sort();
        methods.dedup();
        config.methods = methods;
    }
    if !given.has("samples") {
        config.samples = COMMAND_SAMPLES;
    }
    let names: Vec<&str> = config.command.iter().map(|c| c.name.as_str()).collect();
    Some(format!(
        "sweeping {} alone, beside piscale's serial kernel as the absolute baseline (N = {}); \
         --backends adds Rust backends to compare",
        names.join(", "),
        work(config.samples)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_named_after_their_script_or_program() {
        for (run, name) in [
            ("python3 scripts/pi1.py --workers {workers}", "pi1.py"),
            ("mpirun -n {workers} ./pi_mpi {samples}", "pi_mpi"),
            ("target/pi_omp {samples}", "pi_omp"),
            ("python3 -c 'print(3.14)'", "python3"),
            ("./a.out", "a.out"),
        ] {
            assert_eq!(name_from(run), name, "{run}");
        }
        let mut config = SweepConfig::default();
        let runs = [
            "python3 pi1.py".to_string(),
            "python3 x/pi1.py".to_string(),
            "true".to_string(),
        ];
        add_commands(&mut config, &runs, &["mine".into()], Method::Mc).unwrap();
        let names: Vec<&str> = config.command.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["mine", "pi1.py", "true"]);
        let err = add_commands(
            &mut config,
            &["nope-no-such {workers}".into()],
            &[],
            Method::Mc,
        )
        .unwrap_err();
        assert!(
            err.0.starts_with(
                "--command: `nope-no-such {workers}`: run: nope-no-such is not a program"
            ),
            "{}",
            err.0
        );
        let err = add_commands(&mut config, &[], &["x".into()], Method::Mc).unwrap_err();
        assert!(err.0.starts_with("--name: "), "{}", err.0);
    }

    #[test]
    fn commands_alone_sweep_beside_serial_at_a_size_a_script_can_do() {
        let mut config = SweepConfig::default();
        add_commands(
            &mut config,
            &["python3 pi2.py".into()],
            &[],
            Method::Midpoint,
        )
        .unwrap();
        let note = commands_alone(&mut config, &Given::default()).unwrap();
        assert!(config.backends.is_empty());
        assert_eq!(config.methods, [Method::Midpoint]);
        assert_eq!(config.samples, COMMAND_SAMPLES);
        assert!(
            note.starts_with("sweeping pi2.py alone, beside piscale's serial"),
            "{note}"
        );
        // Named backends, methods or samples are kept.
        let mut config = SweepConfig::default();
        add_commands(&mut config, &["python3 pi1.py".into()], &[], Method::Mc).unwrap();
        let given = Given(["samples".to_string(), "methods".to_string()].into());
        commands_alone(&mut config, &given).unwrap();
        assert_eq!((config.samples, config.methods.len()), (1 << 30, 2));
        let mut config = SweepConfig::default();
        add_commands(&mut config, &["python3 pi1.py".into()], &[], Method::Mc).unwrap();
        assert_eq!(
            commands_alone(&mut config, &Given(["backends".to_string()].into())),
            None
        );
        assert_eq!(config.backends.len(), SweepConfig::default().backends.len());
        assert_eq!(
            Given::keys_of("samples = 1\n[[command]]\nname = 'x'\nrun = 'y'\n"),
            ["command".to_string(), "samples".to_string()].into()
        );
    }
}
