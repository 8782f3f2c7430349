//! Text piscale did not write itself — paths, command output, error strings
//! of programs, host names — shown so that it cannot act on whatever shows
//! it: a terminal runs escape sequences (set the title, clear the screen),
//! text-direction controls reorder what is around them, a line break can
//! fake a line of ours. Each such character is written as its Rust escape
//! (`\u{1b}`, `\n`, `\u{202e}`): visible, one line, and the same on a
//! terminal, in markdown and in HTML.

use std::borrow::Cow;

/// Whether `c` would act on the text around it rather than show as itself:
/// a control character (C0, DEL and C1 — U+009B is a terminal's CSI), a
/// Unicode line or paragraph separator, or a direction control (marks,
/// embeddings, overrides, isolates).
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every [hidden](is_hidden) character written as its escape:
/// the one rendering of untrusted text for a terminal or a report. Borrows
/// when there is nothing to escape; its output has nothing left to escape.
pub fn escaped(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hidden(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`escaped`] line by line: the line breaks (`\n`) stay, for a message of
/// several lines whose breaks are piscale's own (a command's stderr tail is
/// quoted a line at a time); anything else hidden is escaped, `\r` too.
pub fn escaped_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && is_hidden(c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.split('\n').map(escaped).collect::<Vec<_>>().join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls_c1_and_direction_overrides() {
        assert_eq!(
            escaped("o\u{1b}]0;pwned\u{7}\u{1b}[31mRED"),
            "o\\u{1b}]0;pwned\\u{7}\\u{1b}[31mRED"
        );
        assert_eq!(escaped("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escaped("abc\u{202e}def"), "abc\\u{202e}def");
        assert_eq!(escaped("a\u{2066}b\u{200f}"), "a\\u{2066}b\\u{200f}");
        assert_eq!(escaped("a\nb\r\tc\u{7f}"), "a\\nb\\r\\tc\\u{7f}");
        assert_eq!(escaped("a\u{2028}b"), "a\\u{2028}b");
    }

    #[test]
    fn leaves_ordinary_text_as_it_is() {
        for text in ["π ≈ 3.14 ×1.9", "results/2025-01-01-host", "a\\u{1b}b", ""] {
            assert!(matches!(escaped(text), Cow::Borrowed(t) if t == text));
        }
        // Escaping twice changes nothing more.
        let once = escaped("x\u{1b}[2J").into_owned();
        assert_eq!(escaped(&once), once);
    }

    #[test]
    fn line_by_line_keeps_only_the_line_breaks() {
        assert_eq!(
            escaped_lines("failed; stderr ends with:\n    \u{1b}[2Jboom\r\n    end"),
            "failed; stderr ends with:\n    \\u{1b}[2Jboom\\r\n    end"
        );
        assert!(matches!(escaped_lines("a\nb"), Cow::Borrowed("a\nb")));
    }
}
