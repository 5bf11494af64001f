//! Patterns whose every match starts at the start of a line, searched one line start at a time.
//!
//! The turn patterns of chats and transcripts (`(?m)^[ \t]*(?P<v>Name):[ \t]+\S`) open with a
//! multi-line `^`. A regex searching such a pattern over a text walks every byte of every turn
//! to find the next line start, then a second time backwards for the match's start, then once
//! more over the match for its groups. Searched here instead: at each line start from the
//! previous match's end on, an anchored search (the lazy DFA looks at a line's first bytes and
//! stops), and the groups of a match found
//!
//! * with a copy of the pattern whose classes are cut to ASCII ([`ascii_classes`]) when the
//!   match is ASCII: the same groups, from an automaton a fraction of the size (a `\p{L}` class
//!   is hundreds of states, and finding groups costs time in proportion to them);
//! * once per *shape* of match: when the pattern looks at nothing around a match but the line
//!   start, its groups depend only on which bytes the automaton tells apart (its byte classes:
//!   `Alice` and `Brian` are the same five classes), and a thread remembers, for the last
//!   [`SHAPES`] shapes, where the group `v` lay.
//!
//! The matches, groups and order are those `regex`'s `captures_iter` / `find_iter` give (tested
//! on the corpora, on generated chats and transcripts, and on arbitrary texts of turn-like
//! pieces).

use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::alphabet::ByteClasses;
use regex_automata::util::captures::Captures;
use regex_automata::util::pool::Pool;
use regex_automata::{Anchored, Input, Span, meta};
use regex_syntax::hir::{self, Hir, HirKind, Look};
use std::collections::HashMap;

/// Shapes a thread remembers per pattern before it starts over.
const SHAPES: usize = 1024;
/// Longest match (bytes) whose shape is remembered.
const SHAPE_BYTES: usize = 96;

/// Whether every match of the pattern starts at the start of a line, stays on that line, and none
/// is empty: it opens with a multi-line `^` (`(?m)^`, which holds at the start of the text and
/// after each `\n`), possibly inside groups, and cannot match a `\n`. The matches such a pattern
/// finds in a text, searched from left to right, are those an anchored search finds at each line
/// start at or after the previous match's end; and a search that fails at a line start reads no
/// further than that line (a pattern that could cross lines, `(?s)^BEGIN.*?END`, could read to
/// the end of the text from every line start: those are searched by `regex`).
pub(super) fn line_anchored(hir: &Hir) -> bool {
    fn opens_with_line_start(h: &Hir) -> bool {
        match h.kind() {
            HirKind::Look(Look::StartLF) => true,
            HirKind::Concat(all) => all.first().is_some_and(opens_with_line_start),
            HirKind::Capture(c) => opens_with_line_start(&c.sub),
            _ => false,
        }
    }
    hir.properties().minimum_len().is_some_and(|n| n > 0)
        && opens_with_line_start(hir)
        && super::blocks::no_newline(hir)
}

/// `hir` with every class cut to its ASCII part: on a text of ASCII bytes it matches what `hir`
/// matches, with the same groups.
pub(super) fn ascii_classes(hir: &Hir) -> Hir {
    use regex_syntax::hir::{Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange};
    match hir.kind() {
        HirKind::Class(Class::Unicode(c)) => {
            let mut c = c.clone();
            c.intersect(&ClassUnicode::new([ClassUnicodeRange::new('\0', '\x7f')]));
            Hir::class(Class::Unicode(c))
        }
        HirKind::Class(Class::Bytes(c)) => {
            let mut c = c.clone();
            c.intersect(&ClassBytes::new([ClassBytesRange::new(0, 0x7f)]));
            Hir::class(Class::Bytes(c))
        }
        HirKind::Repetition(r) => Hir::repetition(hir::Repetition {
            min: r.min,
            max: r.max,
            greedy: r.greedy,
            sub: Box::new(ascii_classes(&r.sub)),
        }),
        HirKind::Capture(c) => {
            Hir::capture(hir::Capture { index: c.index, name: c.name.clone(), sub: Box::new(ascii_classes(&c.sub)) })
        }
        HirKind::Concat(v) => Hir::concat(v.iter().map(ascii_classes).collect()),
        HirKind::Alternation(v) => Hir::alternation(v.iter().map(ascii_classes).collect()),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Look(_) => hir.clone(),
    }
}

/// One regex that finds the groups of a match, with its byte classes when shapes are
/// remembered.
struct Groups {
    /// `None`: the pattern's own regex ([`LineRegex::full`]).
    regex: Option<meta::Regex>,
    classes: Option<ByteClasses>,
}

/// Per-thread scratch space: capture slots and remembered shapes.
struct Scratch {
    full: Captures,
    ascii: Option<Captures>,
    /// Shape (which regex, then the class of each byte) -> the group `v`, relative to the match
    /// start (`None`: the group took no part, the match stands for it).
    shapes: HashMap<Vec<u8>, Option<(usize, usize)>>,
    key: Vec<u8>,
}

type MakeScratch = Box<dyn Fn() -> Scratch + Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>;

/// A [`line_anchored`] pattern, searched one line start at a time (see the module documentation).
pub(crate) struct LineRegex {
    full: meta::Regex,
    /// Present when the pattern names a group `v`.
    groups: Option<(Groups, Option<Groups>)>,
    scratch: Pool<Scratch, MakeScratch>,
}

impl LineRegex {
    /// `None` unless the pattern is [`line_anchored`] and compiles within the limits.
    pub(super) fn new(hir: &Hir, v_group: bool, size_limit: usize, dfa_limit: usize) -> Option<LineRegex> {
        if !line_anchored(hir) {
            return None;
        }
        let compile = |h: &Hir| {
            meta::Regex::builder()
                .configure(
                    meta::Config::new()
                        .nfa_size_limit(Some(size_limit))
                        .onepass_size_limit(Some(size_limit))
                        .hybrid_cache_capacity(dfa_limit)
                        .dfa_size_limit(Some(dfa_limit)),
                )
                .build_from_hir(h)
                .ok()
        };
        // The groups depend on the match's bytes alone when nothing but the line start is
        // looked at; then on the classes of those bytes only.
        let shapes = hir.properties().look_set().iter().all(|l| l == Look::StartLF);
        let classes = |h: &Hir| {
            let nfa = thompson::Compiler::new()
                // With every group, as the meta regex compiles it (groups add no byte classes).
                .configure(thompson::Config::new().which_captures(WhichCaptures::All).nfa_size_limit(Some(size_limit)))
                .build_from_hir(h)
                .ok()?;
            Some(*nfa.byte_classes())
        };
        let full = compile(hir)?;
        let groups = if v_group {
            let twin = ascii_classes(hir);
            let ascii = if twin == *hir {
                None
            } else {
                compile(&twin).map(|regex| Groups { classes: classes(&twin).filter(|_| shapes), regex: Some(regex) })
            };
            let whole = Groups { regex: None, classes: classes(hir).filter(|_| shapes) };
            Some((whole, ascii))
        } else {
            None
        };
        let (f, a) = (full.clone(), groups.as_ref().and_then(|g| g.1.as_ref()).and_then(|g| g.regex.clone()));
        let scratch: MakeScratch = Box::new(move || Scratch {
            full: f.create_captures(),
            ascii: a.as_ref().map(meta::Regex::create_captures),
            shapes: HashMap::new(),
            key: Vec::new(),
        });
        Some(LineRegex { full, groups, scratch: Pool::new(scratch) })
    }

    /// The matches in `hay` (the span of group `v` if the pattern names one, else of the match),
    /// left to right.
    pub(super) fn matches(&self, hay: &str) -> Vec<(usize, usize)> {
        let bytes = hay.as_bytes();
        // The first line start at or after `at`.
        let line_start = |at: usize| -> Option<usize> {
            if at == 0 || bytes.get(at - 1) == Some(&b'\n') {
                return Some(at);
            }
            let rest = bytes.get(at..)?;
            Some(at + rest.iter().position(|&b| b == b'\n')? + 1)
        };
        let mut out = Vec::new();
        let mut scratch = self.scratch.get();
        let mut at = line_start(0);
        while let Some(start) = at.filter(|&s| s < hay.len()) {
            // Where the match ends, by the lazy DFA alone.
            let input = Input::new(hay).span(start..hay.len()).anchored(Anchored::Yes);
            let Some(m) = self.full.search(&input) else {
                at = line_start(start + 1);
                continue;
            };
            // Matches are never empty (see `line_anchored`), so this moves on.
            at = line_start(m.end().max(start + 1));
            let v = match &self.groups {
                Some(groups) => self.group_v(groups, hay, m.span(), &mut scratch).unwrap_or(m.span()),
                None => m.span(),
            };
            out.push((v.start, v.end));
        }
        out
    }

    /// The group `v` of match `m` (`None`: it took no part).
    fn group_v(&self, groups: &(Groups, Option<Groups>), hay: &str, m: Span, s: &mut Scratch) -> Option<Span> {
        let span = hay.as_bytes().get(m.range())?;
        let (which, g, caps) = match (&groups.1, &mut s.ascii) {
            (Some(a), Some(c)) if span.is_ascii() => (1u8, a, c),
            _ => (0u8, &groups.0, &mut s.full),
        };
        let key = match &g.classes {
            Some(classes) if span.len() <= SHAPE_BYTES => {
                s.key.clear();
                s.key.push(which);
                s.key.extend(span.iter().map(|&b| classes.get(b)));
                if let Some(&known) = s.shapes.get(&s.key) {
                    return known.map(|(from, to)| Span { start: m.start + from, end: m.start + to });
                }
                true
            }
            _ => false,
        };
        let within = Input::new(hay).span(m.range()).anchored(Anchored::Yes);
        g.regex.as_ref().unwrap_or(&self.full).search_captures(&within, caps);
        let v = caps.get_group_by_name("v");
        if key {
            if s.shapes.len() >= SHAPES {
                s.shapes.clear();
            }
            let relative = v.map(|v| (v.start.saturating_sub(m.start), v.end.saturating_sub(m.start)));
            s.shapes.insert(s.key.clone(), relative);
        }
        v
    }
}

impl std::fmt::Debug for LineRegex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineRegex").field("groups", &self.groups.is_some()).finish()
    }
}
