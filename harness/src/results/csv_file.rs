//! Reading piscale's CSV files with errors that name the file, the line and
//! the column.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde::de::DeserializeOwned;

/// Reads a CSV file whose header must be `columns`, or its first `required`
/// or more of them (columns added later have serde defaults). `what` names
/// the kind of file in messages (`raw`, `summary`).
pub fn read_csv<T: DeserializeOwned>(
    path: &Path,
    columns: &[&str],
    required: usize,
    what: &str,
) -> Result<Vec<T>> {
    let mut reader = csv::Reader::from_path(path)
        .with_context(|| format!("cannot open the {what} results file {}", path.display()))?;
    let headers = reader
        .headers()
        .map_err(|e| anyhow!("{}: {}", path.display(), describe(&e, columns)))?
        .clone();
    if headers.is_empty() {
        bail!("{}: the file is empty (no header line)", path.display());
    }
    let known = headers.len() >= required
        && headers.len() <= columns.len()
        && headers.iter().eq(columns[..headers.len()].iter().copied());
    if !known {
        bail!(
            "{}: line 1: not a piscale {what} file of this version (expected the header {})",
            path.display(),
            columns.join(",")
        );
    }
    reader
        .deserialize()
        .map(|row| row.map_err(|e| anyhow!("{}: {}", path.display(), describe(&e, columns))))
        .collect()
}

/// A CSV error as "line N, column NAME: what is wrong".
fn describe(err: &csv::Error, columns: &[&str]) -> String {
    let line = |pos: &Option<csv::Position>| {
        pos.as_ref()
            .map_or_else(String::new, |p| format!("line {}", p.line()))
    };
    match err.kind() {
        csv::ErrorKind::Deserialize { pos, err } => {
            let column = err
                .field()
                .and_then(|f| columns.get(f as usize))
                .map_or_else(String::new, |c| format!(", column {c}"));
            format!("{}{column}: {}", line(pos), err.kind())
        }
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => format!(
            "{}: {len} fields where {expected_len} were expected (a line cut short?)",
            line(pos)
        ),
        _ => err.to_string(),
    }
}
