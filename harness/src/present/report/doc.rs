//! The report as a small document tree, built once from the results and
//! rendered twice: [`super::markdown`] and [`super::html`]. Keeping content
//! and presentation apart is what makes the two files say the same thing.
//!
//! All text here is plain: each renderer escapes it for its own format.

/// A run of text within a paragraph or list item.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Inline {
    /// Plain text.
    Text(String),
    /// Bold text.
    Strong(String),
    /// Code (a command, a file name, a backend name).
    Code(String),
}

/// Plain text.
pub(crate) fn text(s: impl Into<String>) -> Inline {
    Inline::Text(s.into())
}

/// Bold text.
pub(crate) fn strong(s: impl Into<String>) -> Inline {
    Inline::Strong(s.into())
}

/// Code.
pub(crate) fn code(s: impl Into<String>) -> Inline {
    Inline::Code(s.into())
}

/// A table of plain-text cells.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Table {
    /// Column titles.
    pub header: Vec<String>,
    /// Whether each column holds numbers (right-aligned); missing = no.
    pub numeric: Vec<bool>,
    /// The rows; a short row is padded with empty cells.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table whose first column is text and the others numbers.
    pub fn labelled(header: Vec<String>) -> Table {
        let numeric = (0..header.len()).map(|c| c > 0).collect();
        Table {
            header,
            numeric,
            rows: Vec::new(),
        }
    }

    /// Whether column `c` is right-aligned.
    pub fn is_numeric(&self, c: usize) -> bool {
        self.numeric.get(c).copied().unwrap_or(false)
    }
}

/// A plot shown by the report.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figure {
    /// What it shows: `speed-up, mc`.
    pub title: String,
    /// Link to the SVG, relative to the report.
    pub svg_href: String,
    /// Link to the PNG twin, when there is one.
    pub png_href: Option<String>,
    /// The `<svg>…</svg>` element to inline in HTML; `None` when the file
    /// could not be read or is not a plain SVG (then HTML links to it).
    pub svg: Option<String>,
}

/// A block of the document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    /// A heading of level 1 to 4.
    Heading(u8, String),
    /// A paragraph.
    Para(Vec<Inline>),
    /// The paragraph that matters most (the answer): a quote in markdown,
    /// a highlighted box in HTML.
    Callout(Vec<Inline>),
    /// A bulleted list.
    List(Vec<Vec<Inline>>),
    /// A table.
    Table(Table),
    /// A collapsible section: collapsed in markdown (a CI job summary stays
    /// short), open in HTML.
    Details { summary: String, body: Vec<Block> },
    /// Plots: links in markdown, inline SVG in HTML.
    Figures(Vec<Figure>),
}

/// A whole report.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Document {
    /// The title (the level-1 heading).
    pub title: String,
    /// Everything under it.
    pub blocks: Vec<Block>,
    /// The whole of machine.json, pretty-printed, for an appendix of the
    /// HTML report (too long for a job summary, so not in markdown).
    pub machine_json: Option<String>,
}
