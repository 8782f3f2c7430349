//! Reading piscale's CSV files with errors that name the file, the line and
//! the column, and rows checked for values no measurement can produce; and
//! the guard that keeps text cells from being read as spreadsheet formulas.

use std::borrow::Cow;
use std::fs;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde::de::DeserializeOwned;

/// Characters that make a spreadsheet read a cell as a formula when they
/// start it (after any blanks): `=1+1`, `+SUM(…)`, `-2+3`, `@cmd`.
pub const FORMULA_STARTS: [char; 4] = ['=', '+', '-', '@'];

/// Whether a spreadsheet would read `cell` as a formula.
pub fn starts_like_formula(cell: &str) -> bool {
    cell.trim_start().starts_with(FORMULA_STARTS)
}

/// `cell` as a CSV file may hold it: unchanged, unless a spreadsheet would
/// read it as a formula; then with a leading `'`, which makes a spreadsheet
/// show the rest as text (the usual guard: the text is all still there).
pub fn formula_safe(cell: &str) -> Cow<'_, str> {
    if starts_like_formula(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A row that can say what is impossible about it: `(column, why)`.
pub trait CheckedRow {
    /// `Err((column, why))` for a value no run can produce (a negative
    /// time, a time that is not a number).
    fn check(&self) -> Result<(), (&'static str, String)>;
}

/// `Err` naming `column` unless `value` is absent or a finite number of 0
/// or more (a time, a count).
pub fn non_negative(
    column: &'static str,
    value: Option<f64>,
) -> Result<(), (&'static str, String)> {
    match value {
        Some(v) if !(v.is_finite() && v >= 0.0) => Err((
            column,
            format!("must be a finite number of 0 or more, got {v}"),
        )),
        _ => Ok(()),
    }
}

/// Reads a CSV file whose header must be `columns`, or its first `required`
/// or more of them (columns added later have serde defaults). `what` names
/// the kind of file in messages (`raw`, `summary`). A last line cut short
/// (no newline and too few fields: a crash or a full disk mid-write) is left
/// out; every other line must be a whole, possible row.
pub fn read_csv<T: DeserializeOwned + CheckedRow>(
    path: &Path,
    columns: &[&str],
    required: usize,
    what: &str,
) -> Result<Vec<T>> {
    let text = fs::read(path)
        .with_context(|| format!("cannot open the {what} results file {}", path.display()))?;
    let text = without_cut_last_line(&text);
    let mut reader = csv::Reader::from_reader(text);
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
    let mut rows = Vec::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| anyhow!("{}: {}", path.display(), describe(&e, columns)))?;
        let line = record.position().map_or(0, csv::Position::line);
        let row: T = record
            .deserialize(Some(&headers))
            .map_err(|e| anyhow!("{}: {}", path.display(), describe(&e, columns)))?;
        row.check().map_err(|(column, why)| {
            anyhow!("{}: line {line}, column {column}: {why}", path.display())
        })?;
        rows.push(row);
    }
    Ok(rows)
}

/// `text` without its last line when that line has no newline and fewer
/// fields than the header: a row cut short.
fn without_cut_last_line(text: &[u8]) -> &[u8] {
    if text.ends_with(b"\n") {
        return text;
    }
    let start = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if start == 0 {
        return text; // only a header (or nothing): let the reader judge it
    }
    let mut last = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&text[start..]);
    let whole = last
        .records()
        .next()
        .and_then(|r| r.ok())
        .is_some_and(|r| r.len() >= header_fields(text));
    if whole {
        text
    } else {
        &text[..start]
    }
}

/// Fields of the header line of `text`.
fn header_fields(text: &[u8]) -> usize {
    let header = text.split(|&b| b == b'\n').next().unwrap_or_default();
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(header)
        .records()
        .next()
        .and_then(|r| r.ok())
        .map_or(usize::MAX, |r| r.len())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_run_get_a_leading_quote() {
        for formula in [
            "=cmd|' /C calc'!A0",
            "+SUM(1,2)",
            "-2+3",
            "@evil",
            " =1+1",
            "\t=1+1",
        ] {
            assert!(starts_like_formula(formula), "{formula}");
            assert_eq!(formula_safe(formula), format!("'{formula}"));
        }
        for text in ["2025-01-01-host-120000", "o\u{1b}]0;t\u{7}", "a=b", ""] {
            assert!(matches!(formula_safe(text), Cow::Borrowed(t) if t == text));
        }
    }
}
