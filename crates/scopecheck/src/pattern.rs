//! Field paths and the patterns a scope uses to name them.
//!
//! A *path* names a leaf of a capture's `data`: object keys joined with `.`,
//! array items written `[]` after their key (`input.keystrokes[].interval_ms`).
//!
//! A *pattern* is a path with wildcards: `*` is one key, `**` any number of keys
//! (zero or more), `[]` (or `[*]`) array items. A key written without `[]` also
//! matches that key's array items, so `chat.messages.text` covers
//! `chat.messages[].text`. A pattern covers the subtree under what it names:
//! declaring `session.replay` declares `session.replay.frames[].x`.

use serde_json::Value;
use std::fmt;

/// Deepest nesting scopecheck follows inside one capture's `data`.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    /// A literal key; `arrays` is `Some(n)` when the pattern wrote `[]` n times.
    Key { name: String, arrays: Option<u8> },
    /// `*`: any one key.
    Star { arrays: Option<u8> },
    /// `**`: any number of keys.
    DoubleStar,
}

/// A compiled field pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPattern {
    text: String,
    segs: Vec<Seg>,
}

/// Why a pattern could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for FieldPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Splits `name[][]` into (`name`, 2). Accepts `[*]` for `[]`.
fn split_arrays(raw: &str) -> Result<(&str, u8), PatternError> {
    let mut name = raw;
    let mut n: u8 = 0;
    loop {
        if let Some(rest) = name.strip_suffix("[]") {
            name = rest;
        } else if let Some(rest) = name.strip_suffix("[*]") {
            name = rest;
        } else {
            break;
        }
        n = n.saturating_add(1);
    }
    if name.contains('[') || name.contains(']') {
        return Err(PatternError { message: format!("`{raw}` has a bracket that is not `[]`") });
    }
    Ok((name, n))
}

impl FieldPattern {
    /// Compiles a pattern such as `input.keystrokes[].interval_ms` or `input.pointer.*`.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(PatternError { message: "the field pattern is empty".into() });
        }
        let mut segs = Vec::new();
        for raw in trimmed.split('.') {
            if raw.is_empty() {
                return Err(PatternError {
                    message: format!("`{trimmed}` has an empty segment (two dots, or a leading or trailing dot)"),
                });
            }
            let (name, arrays) = split_arrays(raw)?;
            let arrays_opt = if raw.ends_with(']') { Some(arrays) } else { None };
            let seg = match name {
                "**" => {
                    if arrays > 0 {
                        return Err(PatternError {
                            message: "`**[]` is not a pattern; `**` already covers array items".into(),
                        });
                    }
                    Seg::DoubleStar
                }
                "*" => Seg::Star { arrays: arrays_opt },
                "" => {
                    // `[]` alone after a dot: items of the previous key.
                    match segs.last_mut() {
                        Some(Seg::Key { arrays: a, .. }) | Some(Seg::Star { arrays: a }) => {
                            *a = Some(a.unwrap_or(0).saturating_add(arrays));
                            continue;
                        }
                        _ => {
                            return Err(PatternError { message: format!("`{trimmed}`: `[]` must follow a key") });
                        }
                    }
                }
                n if n.contains('*') => {
                    return Err(PatternError {
                        message: format!("`{raw}`: `*` must stand alone in a segment (`a.*.b`, `a.**`)"),
                    });
                }
                n => Seg::Key { name: n.to_string(), arrays: arrays_opt },
            };
            segs.push(seg);
        }
        Ok(FieldPattern { text: trimmed.to_string(), segs })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Does this pattern name `path` or a node above it?
    pub fn covers(&self, path: &str) -> bool {
        let parts: Vec<(&str, u8)> = path_segments(path).collect();
        match_segs(&self.segs, &parts)
    }

    /// Does this pattern name exactly `path` (no subtree coverage)? Used for the
    /// reverse question: does a declared field lie under a `never` pattern.
    pub fn matches_exactly(&self, path: &str) -> bool {
        let parts: Vec<(&str, u8)> = path_segments(path).collect();
        match_exact(&self.segs, &parts)
    }

    /// A score for choosing the most specific of several covering patterns.
    pub fn specificity(&self) -> u32 {
        self.segs
            .iter()
            .map(|s| match s {
                Seg::Key { arrays, .. } => 4 + u32::from(arrays.is_some()),
                Seg::Star { .. } => 2,
                Seg::DoubleStar => 0,
            })
            .sum()
    }
}

/// Splits a normalized path into (key, array depth) segments.
pub fn path_segments(path: &str) -> impl Iterator<Item = (&str, u8)> {
    path.split('.').map(|raw| {
        let mut name = raw;
        let mut n: u8 = 0;
        while let Some(rest) = name.strip_suffix("[]") {
            name = rest;
            n = n.saturating_add(1);
        }
        (name, n)
    })
}

fn seg_matches(seg: &Seg, part: &(&str, u8)) -> bool {
    match seg {
        Seg::Key { name, arrays } => name == part.0 && arrays.is_none_or(|a| a == part.1),
        Seg::Star { arrays } => arrays.is_none_or(|a| a == part.1),
        Seg::DoubleStar => true,
    }
}

/// Pattern fully consumed against a prefix of the path.
fn match_segs(segs: &[Seg], parts: &[(&str, u8)]) -> bool {
    glob(segs, parts, true)
}

/// Pattern and path both fully consumed.
fn match_exact(segs: &[Seg], parts: &[(&str, u8)]) -> bool {
    glob(segs, parts, false)
}

/// Matches in time `segs × parts`, whatever the number of `**` (a backtracking matcher takes
/// exponential time on `**.**.**.x` against a long path that does not end in `x`). `reach[j]`:
/// the segments so far can consume exactly the first `j` parts of the path.
fn glob(segs: &[Seg], parts: &[(&str, u8)], prefix: bool) -> bool {
    let mut reach = vec![false; parts.len() + 1];
    let mut next = vec![false; parts.len() + 1];
    if let Some(first) = reach.first_mut() {
        *first = true;
    }
    for seg in segs {
        match seg {
            // Any number of parts: reachable at j when reachable at some k <= j.
            Seg::DoubleStar => {
                let mut any = false;
                for (n, r) in next.iter_mut().zip(&reach) {
                    any |= *r;
                    *n = any;
                }
            }
            _ => {
                if let Some(first) = next.first_mut() {
                    *first = false;
                }
                for (j, part) in parts.iter().enumerate() {
                    let ok = reach.get(j).copied().unwrap_or(false) && seg_matches(seg, part);
                    if let Some(n) = next.get_mut(j + 1) {
                        *n = ok;
                    }
                }
            }
        }
        std::mem::swap(&mut reach, &mut next);
        if !reach.contains(&true) {
            return false;
        }
    }
    if prefix { reach.contains(&true) } else { reach.last().copied().unwrap_or(false) }
}

/// Normalizes a path as written by a user or an access log (`a.b[3].c`, `a.b[*].c`)
/// into scopecheck's form (`a.b[].c`).
pub fn normalize_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut chars = path.trim().chars().peekable();
    while let Some(c) = chars.next() {
        if c == '[' {
            // skip to the closing bracket, whatever the index
            for d in chars.by_ref() {
                if d == ']' {
                    break;
                }
            }
            out.push_str("[]");
        } else {
            out.push(c);
        }
    }
    out
}

/// A leaf met while walking a capture's data.
#[derive(Debug)]
pub struct Leaf<'p, 'v> {
    /// Normalized path.
    pub path: &'p str,
    /// The value (never an object or array).
    pub value: &'v Value,
}

/// Walks every non-null scalar leaf of `data`, giving its normalized path.
/// Returns false when the data is nested deeper than [`MAX_DEPTH`] (the rest is
/// still walked down to that depth; the deeper parts are reported by the caller).
pub fn walk_leaves<'v>(data: &'v Value, mut visit: impl FnMut(Leaf<'_, 'v>)) -> bool {
    let mut buf = String::with_capacity(64);
    walk(data, &mut buf, 0, &mut visit)
}

fn walk<'v>(value: &'v Value, buf: &mut String, depth: usize, visit: &mut impl FnMut(Leaf<'_, 'v>)) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match value {
        Value::Object(map) => {
            let mut ok = true;
            for (k, v) in map {
                let len = buf.len();
                if !buf.is_empty() {
                    buf.push('.');
                }
                buf.push_str(k);
                ok &= walk(v, buf, depth + 1, visit);
                buf.truncate(len);
            }
            ok
        }
        Value::Array(items) => {
            let len = buf.len();
            buf.push_str("[]");
            let mut ok = true;
            for v in items {
                ok &= walk(v, buf, depth + 1, visit);
            }
            buf.truncate(len);
            ok
        }
        Value::Null => true,
        scalar => {
            visit(Leaf { path: buf.as_str(), value: scalar });
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> FieldPattern {
        FieldPattern::parse(s).unwrap()
    }

    #[test]
    fn literal_paths_and_subtrees() {
        assert!(p("input.keystrokes[].interval_ms").covers("input.keystrokes[].interval_ms"));
        assert!(!p("input.keystrokes[].interval_ms").covers("input.keystrokes[].key"));
        assert!(p("session.replay").covers("session.replay.frames[].x"));
        assert!(!p("session.replay").covers("session.replayed"));
        assert!(!p("session.replay.frames").covers("session.replay"));
    }

    #[test]
    fn arrays_optional_when_not_written() {
        assert!(p("chat.messages.text").covers("chat.messages[].text"));
        assert!(p("chat.messages[*].text").covers("chat.messages[].text"));
        assert!(!p("chat.messages[][].text").covers("chat.messages[].text"));
        assert!(p("a.[].b").covers("a[].b"));
    }

    #[test]
    fn wildcards() {
        assert!(p("input.pointer.*").covers("input.pointer.x"));
        assert!(p("input.pointer.*").covers("input.pointer.path[].x"));
        assert!(!p("input.pointer.*").covers("input.pointer"));
        assert!(p("**.ssn").covers("employee.profile.ssn"));
        assert!(p("**.ssn").covers("ssn"));
        assert!(p("ticket.**").covers("ticket.a.b.c"));
        assert!(p("**").covers("anything.at[].all"));
    }

    #[test]
    fn many_double_stars_match_in_polynomial_time() {
        // 4 `**` and a last key that never matches, against a 2,000-part path: a backtracking
        // matcher tries ~2000^4 splits (it would not finish); this one does 5 × 2,001 steps.
        let path = vec!["k"; 2000].join(".");
        let pat = p("**.**.**.**.nope");
        assert!(!pat.covers(&path) && !pat.matches_exactly(&path));
        assert!(p("**.k.**.k").matches_exactly(&path) && p("k.**").covers(&path));
        assert!(p("k.*.**").covers("k.a") && !p("k.*.**").covers("k"));
        assert!(p("a.**.b").matches_exactly("a.b") && p("a.**.b").matches_exactly("a.x.y.b"));
        assert!(!p("a.**.b").matches_exactly("a.b.c") && p("a.**.b").covers("a.b.c"));
    }

    #[test]
    fn exact_match_does_not_cover_subtrees() {
        assert!(p("screen.ocr_text").matches_exactly("screen.ocr_text"));
        assert!(!p("screen").matches_exactly("screen.ocr_text"));
        assert!(p("screen.**").matches_exactly("screen.ocr_text"));
    }

    #[test]
    fn bad_patterns_say_why() {
        assert!(FieldPattern::parse("").is_err());
        assert!(FieldPattern::parse("a..b").is_err());
        assert!(FieldPattern::parse("a[0]").is_err());
        assert!(FieldPattern::parse("a*b").is_err());
        assert!(FieldPattern::parse("[]").is_err());
    }

    #[test]
    fn specificity_prefers_literals() {
        assert!(p("input.pointer.x").specificity() > p("input.pointer.*").specificity());
        assert!(p("input.*").specificity() > p("**").specificity());
    }

    #[test]
    fn normalizes_indices() {
        assert_eq!(normalize_path("a.b[3].c"), "a.b[].c");
        assert_eq!(normalize_path("a[*][0]"), "a[][]");
    }

    #[test]
    fn walks_leaves_with_normalized_paths() {
        let data = json!({"input": {"keystrokes": [{"interval_ms": 5}, {"interval_ms": 7}], "pointer": {"x": 1}},
                          "tags": ["a", "b"], "nothing": null, "grid": [[1]]});
        let mut seen = Vec::new();
        assert!(walk_leaves(&data, |l| seen.push(l.path.to_string())));
        seen.sort();
        assert_eq!(
            seen,
            vec![
                "grid[][]",
                "input.keystrokes[].interval_ms",
                "input.keystrokes[].interval_ms",
                "input.pointer.x",
                "tags[]",
                "tags[]"
            ]
        );
    }
}
