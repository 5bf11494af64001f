//! Long texts scanned a block of lines at a time.
//!
//! A value detector's pattern is *single-line* when no match of it can hold a newline, be empty,
//! or depend on where the whole text starts or ends (`\A`, `\z`, `^`/`$` without `(?m)`). Every
//! match of such a pattern lies inside one line, and searching each line (or any run of whole
//! lines) on its own finds exactly the matches, in the same order, that searching the whole text
//! finds: a block starts after a `\n` and ends after one, so word boundaries and `(?m)^`/`$` see
//! the same thing at a block's edge as in the whole text. Long texts are cut into blocks of whole
//! lines; the prefilter over the single-line patterns runs per block, and each single-line
//! detector then searches only the blocks where its pattern occurs. The other patterns (those
//! that can cross a line, e.g. `\s*` between a key and its value) keep one prefilter and one
//! search over the whole text. The detections are the same either way (tested on every corpus).

use super::set::PatternSet;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// Texts at least this long are scanned by blocks.
pub(super) const BLOCKED_MIN_BYTES: usize = 1024;
/// A block holds whole lines and, unless it is the last, at least this many bytes.
pub(super) const BLOCK_BYTES: usize = 32;

/// The prefilters for scanning by blocks.
#[derive(Debug, Clone)]
pub(super) struct Blocked {
    /// Single-line patterns, run per block.
    pub line_set: PatternSet,
    /// `line_set` index -> index into the detectors' values.
    pub line_index: Vec<usize>,
    /// The other prefiltered patterns, run over the whole text.
    pub text_set: PatternSet,
    /// `text_set` index -> index into the detectors' values.
    pub text_index: Vec<usize>,
}

/// Whether every match of `pattern` lies within one line (see the module documentation). A
/// pattern that does not parse is not.
pub(super) fn single_line(pattern: &str) -> bool {
    let Ok(hir) = regex_syntax::Parser::new().parse(pattern) else {
        return false;
    };
    hir.properties().minimum_len().is_some_and(|n| n > 0) && no_newline(&hir)
}

/// Whether no match of `h` can hold a `\n`, or look at the text's start or end.
pub(super) fn no_newline(h: &Hir) -> bool {
    match h.kind() {
        HirKind::Empty => true,
        HirKind::Literal(lit) => !lit.0.contains(&b'\n'),
        HirKind::Class(Class::Unicode(c)) => !c.ranges().iter().any(|r| r.start() <= '\n' && '\n' <= r.end()),
        HirKind::Class(Class::Bytes(c)) => !c.ranges().iter().any(|r| r.start() <= b'\n' && b'\n' <= r.end()),
        HirKind::Look(look) => !matches!(look, Look::Start | Look::End),
        HirKind::Repetition(rep) => no_newline(&rep.sub),
        HirKind::Capture(cap) => no_newline(&cap.sub),
        HirKind::Concat(all) | HirKind::Alternation(all) => all.iter().all(no_newline),
    }
}

/// `text` cut into blocks `(start, end)` of whole lines: each ends just after a `\n` (the last at
/// the end of the text) and holds at least `min` bytes unless it is the last.
pub(super) fn blocks(text: &str, min: usize) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(text.len() / min.max(1) + 1);
    let mut start = 0;
    while start < bytes.len() {
        let from = (start + min.max(1)).min(bytes.len());
        let end = match bytes.get(from - 1..).and_then(|rest| rest.iter().position(|&b| b == b'\n')) {
            Some(at) => from + at,
            None => bytes.len(),
        };
        out.push((start, end));
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_that_stay_on_one_line() {
        for p in [r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b", r"(?m)^[ \t]*(?P<v>[A-Z][a-z]+):[ \t]+\S", r"[^\s@]+@x", "a|b"] {
            assert!(single_line(p), "{p}");
        }
        for p in [
            r"key\s*[:=]\s*(?P<v>\w+)",
            r"[^:/@]+@",
            r"(?s)a.b",
            r"[\s\S]*?END",
            "^abc",
            "abc$",
            r"\Aabc",
            "a*",
            "a\nb",
            "(",
        ] {
            assert!(!single_line(p), "{p}");
        }
    }

    #[test]
    fn blocks_are_whole_lines_and_cover_the_text() {
        for text in ["", "one line, no newline", "a\nb\nc\n", "aaaa\n\n\nbbbbbbbb\ncc", "\n\n\n\n"] {
            for min in [1, 2, 3, 5, 100] {
                let b = blocks(text, min);
                let mut at = 0;
                for (i, &(s, e)) in b.iter().enumerate() {
                    assert_eq!(s, at, "{text:?} {min}");
                    assert!(e > s);
                    let last = i + 1 == b.len();
                    assert!(last || text.as_bytes()[e - 1] == b'\n', "{text:?} {min}: {b:?}");
                    assert!(last || e - s >= min, "{text:?} {min}: {b:?}");
                    at = e;
                }
                assert_eq!(at, text.len(), "{text:?} {min}");
            }
        }
    }
}
