//! Renders a [`Document`] as one self-contained HTML file: plots inlined as
//! `<svg>` elements, a few lines of embedded CSS, no scripts, fonts or
//! anything else fetched — it opens from disk, offline, in any browser.

use super::doc::{Block, Document, Figure, Inline, Table};
use crate::present::text;

/// The embedded style sheet: system fonts only.
const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1b1f24;background:#fff;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:1.5rem 2rem 3rem}
h1{font-size:1.7rem;margin:.2rem 0 1rem}
h2{font-size:1.35rem;margin-top:2.2rem;border-bottom:1px solid #d0d7de;padding-bottom:.25rem}
h3{font-size:1.1rem;margin-top:1.6rem}
h4{font-size:1rem;margin-top:1.2rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;background:#f3f4f6;padding:.1em .3em;border-radius:3px}
pre{background:#f6f8fa;padding:.8rem;overflow:auto;font-size:.85em;border-radius:4px}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.92rem}
th,td{border:1px solid #d0d7de;padding:.3rem .6rem;vertical-align:top}
th{background:#f6f8fa;text-align:left}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td:first-child{white-space:nowrap}
.table{overflow-x:auto;max-width:100%}
tbody tr:nth-child(even){background:#fafbfc}
p.answer{font-size:1.2rem;background:#eef6ff;border-left:4px solid #0969da;padding:.6rem 1rem}
.figures{display:flex;flex-wrap:wrap;gap:1.2rem}
figure{margin:0;flex:1 1 520px;max-width:100%;border:1px solid #d0d7de;border-radius:4px;padding:.5rem;background:#fff}
figure svg{display:block;width:100%;height:auto}
figcaption{font-size:.9rem;color:#57606a;margin-top:.3rem}
details>summary{cursor:pointer;color:#0969da;margin:.4rem 0}
";

/// The document as an HTML file.
pub(crate) fn render(doc: &Document) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!("<title>{}</title>\n", escape(&doc.title)));
    out.push_str("<style>\n");
    out.push_str(CSS);
    out.push_str("</style>\n</head>\n<body>\n<main>\n");
    out.push_str(&format!("<h1>{}</h1>\n", escape(&doc.title)));
    blocks(&mut out, &doc.blocks, &mut Vec::new());
    if let Some(json) = &doc.machine_json {
        out.push_str("<details>\n<summary>machine.json</summary>\n<pre>");
        out.push_str(&escape(json));
        out.push_str("</pre>\n</details>\n");
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// `ids`: the heading anchors given so far, to keep each one unique.
fn blocks(out: &mut String, blocks: &[Block], ids: &mut Vec<String>) {
    for block in blocks {
        match block {
            Block::Heading(level, title) => {
                let level = (*level).clamp(1, 6);
                let id = anchor(title, ids);
                out.push_str(&format!(
                    "<h{level} id=\"{id}\">{}</h{level}>\n",
                    escape(title)
                ));
            }
            Block::Para(runs) => out.push_str(&format!("<p>{}</p>\n", inlines(runs))),
            Block::Callout(runs) => {
                out.push_str(&format!("<p class=\"answer\">{}</p>\n", inlines(runs)));
            }
            Block::List(items) => {
                out.push_str("<ul>\n");
                for item in items {
                    out.push_str(&format!("<li>{}</li>\n", inlines(item)));
                }
                out.push_str("</ul>\n");
            }
            Block::Table(table) => render_table(out, table),
            Block::Details { summary, body } => {
                out.push_str(&format!(
                    "<details open>\n<summary>{}</summary>\n",
                    escape(summary)
                ));
                self::blocks(out, body, ids);
                out.push_str("</details>\n");
            }
            Block::Figures(figures) => {
                out.push_str("<div class=\"figures\">\n");
                for figure in figures {
                    render_figure(out, figure);
                }
                out.push_str("</div>\n");
            }
        }
    }
}

fn render_figure(out: &mut String, figure: &Figure) {
    out.push_str("<figure>\n");
    if let Some(svg) = &figure.svg {
        out.push_str(svg);
        out.push('\n');
    }
    out.push_str(&format!(
        "<figcaption>{} — <a href=\"{}\">SVG</a>",
        escape(&figure.title),
        escape(&figure.svg_href)
    ));
    if let Some(png) = &figure.png_href {
        out.push_str(&format!(" · <a href=\"{}\">PNG</a>", escape(png)));
    }
    if figure.svg.is_none() {
        out.push_str(" (not inlined: not a plain SVG file)");
    }
    out.push_str("</figcaption>\n</figure>\n");
}

fn inlines(runs: &[Inline]) -> String {
    runs.iter()
        .map(|run| match run {
            Inline::Text(t) => escape(t),
            Inline::Strong(t) => format!("<strong>{}</strong>", escape(t)),
            Inline::Code(t) => format!("<code>{}</code>", escape(t)),
        })
        .collect()
}

fn render_table(out: &mut String, table: &Table) {
    let class = |c: usize| {
        if table.is_numeric(c) {
            " class=\"num\""
        } else {
            ""
        }
    };
    out.push_str("<div class=\"table\"><table>\n");
    // A key–value table has no column titles (markdown needs the row, HTML
    // does not).
    if table.header.iter().any(|h| !h.is_empty()) {
        out.push_str("<thead><tr>");
        for (c, title) in table.header.iter().enumerate() {
            out.push_str(&format!("<th{}>{}</th>", class(c), escape(title)));
        }
        out.push_str("</tr></thead>\n");
    }
    out.push_str("<tbody>\n");
    let columns = table.header.len();
    for row in &table.rows {
        out.push_str("<tr>");
        for c in 0..columns.max(row.len()) {
            let text = row.get(c).map_or("", String::as_str);
            out.push_str(&format!("<td{}>{}</td>", class(c), escape(text)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
}

/// A unique anchor for a heading: `mc-strong-scaling-n-2-24`, then `-2`,
/// `-3`… for repeats.
fn anchor(title: &str, ids: &mut Vec<String>) -> String {
    let mut slug = String::new();
    for ch in title.chars().flat_map(char::to_lowercase) {
        if ch.is_ascii_alphanumeric() {
            slug.push(ch);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let base = match slug.trim_end_matches('-') {
        "" => "section".to_string(),
        s => s.to_string(),
    };
    let mut id = base.clone();
    let mut n = 1;
    while ids.contains(&id) {
        n += 1;
        id = format!("{base}-{n}");
    }
    ids.push(id.clone());
    id
}

/// Escapes text for HTML element content and quoted attribute values.
/// Control characters and direction overrides are shown escaped
/// ([`text::escaped_lines`]; a character reference would not do: HTML maps
/// `&#x9b;` to another character, and a terminal showing the file would
/// still run a raw one); line breaks stay, for the `<pre>` of machine.json.
pub(crate) fn escape(s: &str) -> String {
    let s = text::escaped_lines(s);
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// The `<svg …>…</svg>` element of an SVG file's text, without the XML
/// declaration, doctype or comments before it. `None` when there is no
/// such element, or when it holds a script, an event handler or foreign
/// content: a report must not run code when opened.
pub(crate) fn inline_svg(text: &str) -> Option<String> {
    let start = find_svg_start(text)?;
    let end = text.rfind("</svg>")? + "</svg>".len();
    if end <= start {
        return None;
    }
    let svg = &text[start..end];
    let lower = svg.to_ascii_lowercase();
    let active = [
        "<script",
        "<foreignobject",
        "javascript:",
        " onload",
        " onclick",
    ]
    .iter()
    .any(|bad| lower.contains(bad));
    (!active).then(|| svg.to_string())
}

/// Where the `<svg` start tag begins (not `<svg:` or `<svgfoo`).
fn find_svg_start(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find("<svg") {
        let at = from + i;
        let next = text[at + 4..].chars().next();
        if matches!(next, Some(c) if c.is_whitespace() || c == '>' || c == '/') {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn control_characters_are_shown_escaped_and_line_breaks_kept() {
        assert_eq!(
            escape("o\u{1b}]0;pwned\u{7}<\u{9b}31m\u{202e}\r\n}"),
            "o\\u{1b}]0;pwned\\u{7}&lt;\\u{9b}31m\\u{202e}\\r\n}"
        );
    }

    #[test]
    fn headings_get_unique_anchors() {
        let mut ids = Vec::new();
        assert_eq!(
            anchor("mc, strong scaling, N = 2^24", &mut ids),
            "mc-strong-scaling-n-2-24"
        );
        assert_eq!(anchor("Models", &mut ids), "models");
        assert_eq!(anchor("Models", &mut ids), "models-2");
        assert_eq!(anchor("—", &mut ids), "section");
    }

    #[test]
    fn inline_svg_drops_the_prolog_and_refuses_scripts() {
        let file = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- made by plotters -->\n\
                    <svg width=\"10\" height=\"10\" xmlns=\"http://www.w3.org/2000/svg\">\n\
                    <rect x=\"0\" y=\"0\" width=\"5\" height=\"5\"/>\n</svg>\n";
        let svg = inline_svg(file).unwrap();
        assert!(svg.starts_with("<svg width"), "{svg}");
        assert!(svg.ends_with("</svg>"), "{svg}");
        assert_eq!(inline_svg("not an svg"), None);
        assert_eq!(inline_svg("<svgx></svgx>"), None);
        assert_eq!(
            inline_svg("<svg><script>alert(1)</script></svg>"),
            None,
            "scripts are not inlined"
        );
        assert_eq!(inline_svg("<svg onload=\"x()\"></svg>"), None);
    }
}
