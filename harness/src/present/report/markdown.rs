//! Renders a [`Document`] as GitHub-flavoured markdown, fit to be appended
//! to a CI job summary (`$GITHUB_STEP_SUMMARY`).

use super::doc::{Block, Document, Figure, Inline, Table};
use crate::present::text;

/// The document as markdown, ending with one newline.
pub(crate) fn render(doc: &Document) -> String {
    let mut out = String::new();
    out.push_str("# ");
    out.push_str(&escape(&doc.title));
    out.push('\n');
    blocks(&mut out, &doc.blocks);
    out
}

/// Blocks without a title, for text that joins another document (the
/// output of `piscale compare`).
pub(crate) fn render_blocks(list: &[Block]) -> String {
    let mut out = String::new();
    blocks(&mut out, list);
    out.trim_start().to_string()
}

fn blocks(out: &mut String, blocks: &[Block]) {
    for block in blocks {
        out.push('\n');
        match block {
            Block::Heading(level, title) => {
                let level = (*level).clamp(1, 6) as usize;
                out.push_str(&"#".repeat(level));
                out.push(' ');
                out.push_str(&escape(title));
                out.push('\n');
            }
            Block::Para(runs) => {
                out.push_str(&inlines(runs));
                out.push('\n');
            }
            Block::Callout(runs) => {
                out.push_str("> ");
                out.push_str(&inlines(runs));
                out.push('\n');
            }
            Block::List(items) => {
                for item in items {
                    out.push_str("- ");
                    out.push_str(&inlines(item));
                    out.push('\n');
                }
            }
            Block::Table(table) => render_table(out, table),
            Block::Details { summary, body } => {
                // GitHub renders markdown inside <details> when blank lines
                // separate it from the HTML tags.
                out.push_str("<details><summary>");
                out.push_str(&html_text(summary));
                out.push_str("</summary>\n");
                self::blocks(out, body);
                out.push_str("\n</details>\n");
            }
            Block::Figures(figures) => {
                for figure in figures {
                    out.push_str("- ");
                    out.push_str(&figure_links(figure));
                    out.push('\n');
                }
            }
        }
    }
}

/// `speed-up, mc: [SVG](plots/speedup-mc.svg) · [PNG](plots/speedup-mc.png)`.
fn figure_links(figure: &Figure) -> String {
    let mut s = format!(
        "{}: [SVG]({})",
        escape(&figure.title),
        href(&figure.svg_href)
    );
    if let Some(png) = &figure.png_href {
        s.push_str(&format!(" · [PNG]({})", href(png)));
    }
    s
}

fn inlines(runs: &[Inline]) -> String {
    runs.iter()
        .map(|run| match run {
            Inline::Text(t) => escape(t),
            Inline::Strong(t) => format!("**{}**", escape(t)),
            Inline::Code(t) => code_span(t),
        })
        .collect()
}

fn render_table(out: &mut String, table: &Table) {
    let columns = table
        .rows
        .iter()
        .map(Vec::len)
        .chain([table.header.len()])
        .max()
        .unwrap_or(0);
    let cell = |row: &[String], c: usize| row.get(c).map_or_else(String::new, |s| cell_text(s));
    let header: Vec<String> = (0..columns).map(|c| cell(&table.header, c)).collect();
    let rows: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| (0..columns).map(|c| cell(r, c)).collect())
        .collect();
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].chars().count(), 3])
                .max()
                .unwrap_or(3)
        })
        .collect();
    let line = |out: &mut String, cells: &[String]| {
        out.push('|');
        for (c, text) in cells.iter().enumerate() {
            let pad = widths[c] - text.chars().count();
            out.push(' ');
            if table.is_numeric(c) {
                out.push_str(&" ".repeat(pad));
                out.push_str(text);
            } else {
                out.push_str(text);
                out.push_str(&" ".repeat(pad));
            }
            out.push_str(" |");
        }
        out.push('\n');
    };
    line(out, &header);
    out.push('|');
    for (c, width) in widths.iter().enumerate() {
        out.push(' ');
        if table.is_numeric(c) {
            out.push_str(&"-".repeat(width - 1));
            out.push(':');
        } else {
            out.push_str(&"-".repeat(*width));
        }
        out.push_str(" |");
    }
    out.push('\n');
    for row in &rows {
        line(out, row);
    }
}

/// A table cell: escaped, on one line.
fn cell_text(s: &str) -> String {
    escape(&s.replace(['\n', '\r'], " "))
}

/// Escapes the characters markdown (or the HTML GitHub lets through) would
/// interpret in plain text; control characters and direction overrides (a
/// path, a host name) are shown escaped ([`text::escaped`]), so plain text
/// stays on its line and a terminal showing the file runs nothing.
pub(crate) fn escape(s: &str) -> String {
    let s = text::escaped(s);
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            '&' => out.push_str("&amp;"),
            _ => out.push(ch),
        }
    }
    out
}

/// A code span that survives backticks inside it; line breaks become
/// spaces, other hidden characters are shown escaped ([`text::escaped`]).
pub(crate) fn code_span(s: &str) -> String {
    let s = text::escaped(&s.replace(['\n', '\r'], " ")).into_owned();
    let mut run = 0;
    let mut longest = 0;
    for ch in s.chars() {
        if ch == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// A link target: spaces and parentheses encoded so the link holds together.
fn href(s: &str) -> String {
    s.replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
}

/// Text inside the raw HTML `<summary>` tag.
fn html_text(s: &str) -> String {
    text::escaped(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_markdown_would_interpret() {
        assert_eq!(escape("a|b *c* _d_ <e>"), r"a\|b \*c\* \_d\_ \<e\>");
        assert_eq!(escape("2^24 shm-reduce 1.88×"), "2^24 shm-reduce 1.88×");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("piscale sweep"), "`piscale sweep`");
        assert_eq!(href("plots/a b(1).svg"), "plots/a%20b%281%29.svg");
    }

    #[test]
    fn terminal_escapes_in_text_and_code_are_shown_not_kept() {
        // The `Command:` line of a sweep whose --out held an OSC and a CSI.
        let out = "o\u{1b}]0;pwned\u{7}\u{1b}[31m";
        assert_eq!(escape(out), r"o\\u{1b}\]0;pwned\\u{7}\\u{1b}\[31m");
        assert_eq!(
            code_span(&format!("piscale sweep --out '{out}'\n")),
            r"`piscale sweep --out 'o\u{1b}]0;pwned\u{7}\u{1b}[31m' `"
        );
        assert_eq!(
            escape("a\nb \u{9b}2J \u{202e}"),
            r"a\\nb \\u{9b}2J \\u{202e}"
        );
        assert_eq!(html_text("<\u{1b}>"), r"&lt;\u{1b}&gt;");
    }

    #[test]
    fn tables_align_numbers_right() {
        let mut t = Table::labelled(vec!["backend".into(), "p=1".into()]);
        t.rows.push(vec!["threads".into(), "1.00×".into()]);
        t.rows.push(vec!["a|b".into()]);
        let mut out = String::new();
        render_table(&mut out, &t);
        assert_eq!(
            out,
            "| backend |   p=1 |\n\
             | ------- | ----: |\n\
             | threads | 1.00× |\n\
             | a\\|b    |       |\n"
        );
    }
}
