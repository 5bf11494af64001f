//! Value and field-name detectors.
//!
//! Detectors are data (`policies/detectors.yaml`, embedded at build time)
//! plus a fixed set of small validators implemented in Rust
//! ([`validators`]). A team adds its own detectors with
//! [`Detectors::add_yaml`] using the same format.
//!
//! * Value detectors ([`Detectors::scan`]) run over one text value. All
//!   patterns are tried in one pass with a prefilter set ([`set`]);
//!   only the detectors whose pattern matched run their own regex (compiled
//!   on first use, see [`spec::LazyRegex`]) and
//!   validator. At most [`MAX_SCAN_BYTES`] (64 KiB) of a value are scanned;
//!   anything after that is ignored (use [`Detectors::scan_with_limit`] to
//!   choose another cap).
//! * Name rules ([`Detectors::classify_name`]) classify a field path by the
//!   words of its name, across naming styles, with metadata suffixes
//!   (`_count`, `_ms`, `_id`, `is_`, ...) suppressing content categories.
//!
//! Offsets in [`Detection`] are byte offsets into the scanned text.

mod blocks;
mod cipher;
mod lines;
mod names;
mod redact;
pub mod score;
mod set;
mod spec;
mod taxonomy;
pub mod validators;

#[cfg(test)]
mod tests;

use set::PatternSet;

pub use cipher::{CipherAssessment, assess_ciphertext};
pub use redact::redact;
use spec::{Boundary, NameRule, SpanMode, ValueDetector};
pub use spec::{DetectorError, Position};
pub use taxonomy::category_ids;

/// The built-in detector definitions.
pub const BUILTIN_YAML: &str = include_str!("../../../../policies/detectors.yaml");
/// The name the built-in detector file goes by (in messages and bundles).
pub const BUILTIN_NAME: &str = "builtin";

/// Compiled-size limit of the combined prefilter.
const PREFILTER_SIZE_LIMIT: usize = 64 << 20;
/// Lazy-DFA cache for the combined prefilter. The default (2 MiB) is too
/// small for ~50 patterns and makes the set fall back to the slow NFA
/// simulation (100+ µs per short value instead of well under 1 µs).
const PREFILTER_DFA_LIMIT: usize = 16 << 20;

/// Default cap on how much of one value [`Detectors::scan`] looks at.
pub const MAX_SCAN_BYTES: usize = 64 * 1024;

/// One value-detector finding.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Detection {
    /// Detector id, e.g. "us_ssn".
    pub detector: String,
    /// Presidio-style entity type (CREDIT_CARD, US_SSN, ...) or one of ours
    /// (SECRET, CHAT, HEALTH, ...).
    pub entity: String,
    /// Taxonomy id; `None` for entities with no privacy category.
    pub category: Option<String>,
    /// Byte offset of the start of the evidence span.
    pub start: usize,
    /// Byte offset one past the end of the evidence span.
    pub end: usize,
    /// 0.0..=1.0
    pub confidence: f32,
}

/// One field-name classification.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NameHit {
    /// Name rule id.
    pub rule: String,
    /// Taxonomy id.
    pub category: String,
    pub confidence: f32,
}

/// Description of one loaded detector, for `scopecheck detectors list`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DetectorInfo {
    pub id: String,
    pub entity: String,
    pub category: Option<String>,
    /// "value" or "name".
    pub kind: String,
    pub validator: Option<String>,
    /// "builtin" or the file it came from.
    pub origin: String,
    pub description: String,
}

/// The loaded, compiled detector set. Cheap to clone (regexes are shared).
#[derive(Debug, Clone)]
pub struct Detectors {
    values: Vec<ValueDetector>,
    /// Prefilter over every value detector that has a pattern.
    set: PatternSet,
    /// Set pattern index -> index into `values`.
    set_index: Vec<usize>,
    /// Value detectors without a pattern (whole-value validators).
    whole: Vec<usize>,
    /// Value detectors whose pattern has non-ASCII literals: they bypass the
    /// prefilter (see [`ascii_shadow`]).
    always: Vec<usize>,
    /// The prefilters for long texts scanned by blocks of lines ([`blocks`]), built on the first
    /// long text (`None` inside: they did not build, and long texts are scanned whole).
    /// A clone takes a copy (the compiled sets are shared, each copy has its own scratch space,
    /// as each thread of a parallel audit has for the other regexes).
    blocked: std::sync::OnceLock<Option<blocks::Blocked>>,
    names: Vec<NameRule>,
    name_set: PatternSet,
    suffixes: Vec<String>,
    prefixes: Vec<String>,
    /// Ids of everything loaded so far (duplicate and `supersedes` checks).
    ids: Vec<String>,
}

/// A candidate before overlap resolution.
struct Found {
    det: usize,
    start: usize,
    end: usize,
    confidence: f32,
}

impl Detectors {
    /// The built-in detectors from `policies/detectors.yaml`. Compiled once
    /// per process; later calls return a cheap clone.
    pub fn builtin() -> Result<Detectors, DetectorError> {
        static BUILTIN: std::sync::OnceLock<Option<Detectors>> = std::sync::OnceLock::new();
        if let Some(d) = BUILTIN.get_or_init(|| Detectors::compile_builtin().ok()) {
            return Ok(d.clone());
        }
        // Only reachable if the embedded YAML is broken: compile again to
        // return the error.
        Detectors::compile_builtin()
    }

    fn compile_builtin() -> Result<Detectors, DetectorError> {
        let mut d = Detectors::empty()?;
        d.add_yaml(BUILTIN_YAML, BUILTIN_NAME)?;
        Ok(d)
    }

    /// A detector set with nothing loaded.
    pub fn empty() -> Result<Detectors, DetectorError> {
        let empty: [&str; 0] = [];
        let set =
            PatternSet::new(&empty, PREFILTER_SIZE_LIMIT, PREFILTER_DFA_LIMIT).map_err(DetectorError::Prefilter)?;
        Ok(Detectors {
            values: Vec::new(),
            set: set.clone(),
            set_index: Vec::new(),
            whole: Vec::new(),
            always: Vec::new(),
            blocked: Default::default(),
            names: Vec::new(),
            name_set: set,
            suffixes: Vec::new(),
            prefixes: Vec::new(),
            ids: Vec::new(),
        })
    }

    /// Add a team's own detectors from YAML (same format as
    /// `policies/detectors.yaml`); `origin` is the file name used in errors.
    /// On error nothing is added.
    pub fn add_yaml(&mut self, yaml: &str, origin: &str) -> Result<(), DetectorError> {
        let loaded = spec::load(yaml, origin)?;
        let ids: Vec<&str> = self.ids.iter().map(String::as_str).collect();
        spec::check_references(&loaded, &ids, yaml, origin)?;

        let mut next = self.clone();
        let (old_values, old_names) = (next.values.len(), next.names.len());
        next.ids.extend(loaded.values.iter().map(|d| d.id.clone()));
        next.ids.extend(loaded.names.iter().map(|d| d.id.clone()));
        next.values.extend(loaded.values);
        next.names.extend(loaded.names);
        for s in loaded.suffixes {
            if !next.suffixes.contains(&s) {
                next.suffixes.push(s);
            }
        }
        for p in loaded.prefixes {
            if !next.prefixes.contains(&p) {
                next.prefixes.push(p);
            }
        }
        // The sets check the syntax of the patterns they hold; if one fails, name its detector.
        if let Err(e) = next.rebuild() {
            let values = next.values.get(old_values..).unwrap_or_default().iter();
            let added = values.filter_map(|d| Some((d.id.as_str(), d.regex.as_ref()?.as_str()))).chain(
                next.names.get(old_names..).unwrap_or_default().iter().map(|n| (n.id.as_str(), n.regex.as_str())),
            );
            return Err(spec::locate_bad_pattern(added, yaml, origin).unwrap_or(e));
        }
        *self = next;
        Ok(())
    }

    fn rebuild(&mut self) -> Result<(), DetectorError> {
        let mut patterns = Vec::new();
        self.set_index.clear();
        self.whole.clear();
        self.always.clear();
        for (i, d) in self.values.iter().enumerate() {
            match &d.pattern {
                Some(p) if !p.is_ascii() => self.always.push(i),
                Some(p) => {
                    patterns.push(p.as_str());
                    self.set_index.push(i);
                }
                None => self.whole.push(i),
            }
        }
        self.set = PatternSet::prefilter(&patterns, PREFILTER_SIZE_LIMIT, PREFILTER_DFA_LIMIT)
            .map_err(DetectorError::Prefilter)?;
        let names: Vec<&str> = self.names.iter().map(|n| n.regex.as_str()).collect();
        self.name_set = PatternSet::prefilter(&names, PREFILTER_SIZE_LIMIT, PREFILTER_DFA_LIMIT)
            .map_err(DetectorError::Prefilter)?;
        self.blocked = Default::default();
        Ok(())
    }

    /// Compiles now what is otherwise compiled on first use: each detector's own regexes (a
    /// millisecond or so each) and the prefilters of block scanning (the first text of 1 KiB or
    /// more). For a runtime that must not pause in mid-stream, or a snapshot taken after loading
    /// (the wasm plugin's pre-initialization). Loading stays fast without it: a bundle's cold
    /// start compiles only the prefilter sets.
    pub fn prepare(&self) {
        let _ = self.blocked();
        let values = self.values.iter().flat_map(|d| [&d.regex, &d.context, &d.negative]).flatten();
        let names =
            self.names.iter().flat_map(|n| [Some(&n.regex), n.parent.as_ref(), n.not_parent.as_ref()]).flatten();
        for re in values.chain(names) {
            let _ = re.get();
        }
    }

    /// The prefilters for scanning by blocks, built once per detector set.
    fn blocked(&self) -> Option<&blocks::Blocked> {
        self.blocked
            .get_or_init(|| {
                let (mut line, mut text) = (Vec::new(), Vec::new());
                for &i in &self.set_index {
                    let p = self.values.get(i)?.pattern.as_deref()?;
                    if blocks::single_line(p) { line.push((i, p)) } else { text.push((i, p)) }
                }
                let set = |pats: &[(usize, &str)]| {
                    let pats: Vec<&str> = pats.iter().map(|x| x.1).collect();
                    PatternSet::prefilter(&pats, PREFILTER_SIZE_LIMIT, PREFILTER_DFA_LIMIT).ok()
                };
                Some(blocks::Blocked {
                    line_set: set(&line)?,
                    line_index: line.iter().map(|x| x.0).collect(),
                    text_set: set(&text)?,
                    text_index: text.iter().map(|x| x.0).collect(),
                })
            })
            .as_ref()
    }

    /// Value detectors over one text value (first [`MAX_SCAN_BYTES`] bytes).
    /// Overlapping spans are resolved, keeping the best per span.
    pub fn scan(&self, text: &str) -> Vec<Detection> {
        self.scan_with_limit(text, MAX_SCAN_BYTES)
    }

    /// Like [`Detectors::scan`] with an explicit cap in bytes (rounded down
    /// to a character boundary).
    pub fn scan_with_limit(&self, text: &str, limit: usize) -> Vec<Detection> {
        self.scan_inner(text, limit, true)
    }

    /// The scan. `fast` false is the reference the tests hold the fast path to: long texts
    /// whole instead of by blocks of lines, patterns that open at a line start searched by
    /// `regex` instead of line by line ([`lines`]), and every whole-text validator run even where
    /// a detection made already supersedes what it would find.
    fn scan_inner(&self, text: &str, limit: usize, fast: bool) -> Vec<Detection> {
        let mut cut = limit.min(text.len());
        while cut > 0 && !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let text = text.get(..cut).unwrap_or_default();
        if text.trim().is_empty() {
            return Vec::new();
        }
        let mut found = Vec::new();
        if text.len() >= blocks::BLOCKED_MIN_BYTES
            && fast
            && let Some(b) = self.blocked()
        {
            self.scan_blocked(b, text, &mut found);
            return self.resolve(found);
        }
        // The prefilter's lazy DFA gives up on non-ASCII input when patterns
        // use Unicode word boundaries; run it on an ASCII shadow of the text
        // instead (it only has to say *which* patterns may match). The
        // detectors' own regexes still run on the real text.
        let hay = prefilter_hay(text);
        let hay = hay.as_ref();
        // Most short values (telemetry, ids, labels) match no pattern: a plain search says so
        // sooner than the overlapping one that names every pattern. Long texts nearly always
        // match something, so they go straight to the overlapping search.
        if hay.len() > 256 || self.set.is_match(hay) {
            for set_idx in self.set.matches(hay).iter() {
                if let Some(&i) = self.set_index.get(set_idx) {
                    self.run(i, text, &[(0, text.len())], &mut found, fast);
                }
            }
        }
        self.run_unfiltered(text, &mut found, fast);
        self.resolve(found)
    }

    /// The detectors no prefilter covers.
    fn run_unfiltered(&self, text: &str, found: &mut Vec<Found>, fast: bool) {
        for &i in &self.always {
            self.run(i, text, &[(0, text.len())], found, fast);
        }
        for &i in &self.whole {
            self.run_whole(i, text, found, fast);
        }
    }

    /// A long text by blocks of lines ([`blocks`]): the same detections, in the same order, as
    /// the whole-text path.
    fn scan_blocked(&self, b: &blocks::Blocked, text: &str, found: &mut Vec<Found>) {
        // Per single-line detector, the runs of blocks where its pattern occurs.
        let mut ranges: Vec<Vec<(usize, usize)>> = vec![Vec::new(); b.line_index.len()];
        for (start, end) in blocks::blocks(text, blocks::BLOCK_BYTES) {
            let Some(block) = text.get(start..end) else {
                continue;
            };
            for k in b.line_set.matches(&prefilter_hay(block)).iter() {
                if let Some(r) = ranges.get_mut(k) {
                    match r.last_mut() {
                        Some(last) if last.1 == start => last.1 = end,
                        _ => r.push((start, end)),
                    }
                }
            }
        }
        let whole = b.text_set.matches(&prefilter_hay(text));
        // Detector order, as in the whole-text path (the ranking's last tie-break).
        let mut order: Vec<(usize, Option<usize>)> = ranges
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.is_empty())
            .filter_map(|(k, _)| Some((*b.line_index.get(k)?, Some(k))))
            .chain(whole.iter().filter_map(|k| Some((*b.text_index.get(k)?, None))))
            .collect();
        order.sort_unstable_by_key(|x| x.0);
        let all = [(0, text.len())];
        for (i, k) in order {
            let r = match k.and_then(|k| ranges.get(k)) {
                Some(r) => r.as_slice(),
                None => &all,
            };
            self.run(i, text, r, found, true);
        }
        self.run_unfiltered(text, found, true);
    }

    /// Detector `i` over `ranges` of `text` (runs of whole lines, or all of it).
    fn run(&self, i: usize, text: &str, ranges: &[(usize, usize)], found: &mut Vec<Found>, fast: bool) {
        let Some(det) = self.values.get(i) else {
            return;
        };
        let Some(lazy) = &det.regex else {
            return;
        };
        let Some(re) = lazy.get() else {
            // Cannot happen (see `LazyRegex`); if it did, the detector fails closed: the whole
            // range it was asked to search counts as one detection.
            for &(from, to) in ranges {
                found.push(Found { det: i, start: from, end: to, confidence: det.confidence.max(det.min_confidence) });
            }
            return;
        };
        let has_v_group = lazy.has_v_group();
        let mut cands: Vec<(usize, usize, f32)> = Vec::new();
        let mut consider = |start: usize, end: usize| {
            let Some(cand) = text.get(start..end) else {
                return;
            };
            let n = cand.chars().count();
            if n < det.min_len || n > det.max_len {
                return;
            }
            if det.boundary == Boundary::Strict && glued(text, start, end) {
                return;
            }
            let adj = match det.validator {
                Some(v) => match v.check(cand) {
                    Some(a) => a,
                    None => return,
                },
                None => 0.0,
            };
            cands.push((start, end, adj));
        };
        let lines = if fast { lazy.lines() } else { None };
        for &(from, to) in ranges {
            let Some(part) = text.get(from..to) else {
                continue;
            };
            if let Some(lines) = lines {
                for (start, end) in lines.matches(part) {
                    consider(from + start, from + end);
                }
            } else if has_v_group {
                for caps in re.captures_iter(part) {
                    if let Some(m) = caps.name("v").or_else(|| caps.get(0)) {
                        consider(from + m.start(), from + m.end());
                    }
                }
            } else {
                for m in re.find_iter(part) {
                    consider(from + m.start(), from + m.end());
                }
            }
        }
        match det.span {
            SpanMode::Match => {
                for (start, end, adj) in cands {
                    let before = window_before(text, start, det.window);
                    let after = window_after(text, end, det.window);
                    if let Some(c) = score(det, adj, &[before, after]) {
                        found.push(Found { det: i, start, end, confidence: c });
                    }
                }
            }
            SpanMode::Cover | SpanMode::Value => {
                if cands.len() < det.min_matches {
                    return;
                }
                // Distinct values, case aside: the same text recurs (a speaker's every turn), so
                // texts are deduplicated before any is lowercased.
                let mut texts: Vec<&str> =
                    cands.iter().filter_map(|(s, e, _)| text.get(*s..*e)).map(str::trim).collect();
                texts.sort_unstable();
                texts.dedup();
                let mut distinct: Vec<String> = texts.iter().map(|t| t.to_lowercase()).collect();
                distinct.sort_unstable();
                distinct.dedup();
                if distinct.len() < det.min_distinct {
                    return;
                }
                let (start, end) = if det.span == SpanMode::Value {
                    let lead = text.len() - text.trim_start().len();
                    (lead, text.trim_end().len())
                } else {
                    let s = cands.iter().map(|c| c.0).min().unwrap_or(0);
                    let e = cands.iter().map(|c| c.1).max().unwrap_or(0);
                    (s, e)
                };
                let adj = cands.iter().map(|c| c.2).fold(0.0f32, f32::max)
                    + det.per_match * (distinct.len().saturating_sub(1)) as f32;
                let region = text.get(start..end).unwrap_or_default();
                let before = window_before(text, start, det.window);
                let after = window_after(text, end, det.window);
                if let Some(c) = score(det, adj, &[before, region, after]) {
                    found.push(Found { det: i, start, end, confidence: c });
                }
            }
        }
    }

    fn run_whole(&self, i: usize, text: &str, found: &mut Vec<Found>, fast: bool) {
        let Some(det) = self.values.get(i) else {
            return;
        };
        let lead = text.len() - text.trim_start().len();
        let end = text.trim_end().len();
        let Some(cand) = text.get(lead..end) else {
            return;
        };
        let n = cand.chars().count();
        if n < det.min_len || n > det.max_len {
            return;
        }
        // A detection already made that supersedes this detector over the same span (a chat's
        // turns over the text `free_text` would call prose) would remove what it finds: the
        // validator, a pass over the whole text, is spared. The same detections either way, as
        // long as this detector supersedes nothing itself (what it would find could remove
        // others, even once removed itself).
        let superseded = fast
            && det.supersedes.is_empty()
            && found.iter().any(|f| {
                f.start < end && lead < f.end && self.values.get(f.det).is_some_and(|d| d.supersedes.contains(&det.id))
            });
        if superseded {
            return;
        }
        let adj = match det.validator {
            Some(v) => match v.check(cand) {
                Some(a) => a,
                None => return,
            },
            None => 0.0,
        };
        if let Some(c) = score(det, adj, &[cand]) {
            found.push(Found { det: i, start: lead, end, confidence: c });
        }
    }

    fn resolve(&self, mut found: Vec<Found>) -> Vec<Detection> {
        // 1. `supersedes`: a detection removes overlapping detections of the
        //    detectors it names.
        let sup: Vec<(usize, usize, &[String])> = found
            .iter()
            .filter_map(|f| {
                let d = self.values.get(f.det)?;
                (!d.supersedes.is_empty()).then_some((f.start, f.end, d.supersedes.as_slice()))
            })
            .collect();
        if !sup.is_empty() {
            found.retain(|f| {
                let id = self.values.get(f.det).map(|d| d.id.as_str()).unwrap_or("");
                !sup.iter().any(|(s, e, ids)| f.start < *e && *s < f.end && ids.iter().any(|x| x == id))
            });
        }
        // 2. Rank: confidence, then longer span, then detector order.
        found.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then((b.end - b.start).cmp(&(a.end - a.start)))
                .then(a.det.cmp(&b.det))
        });
        let mut kept_tokens: Vec<&Found> = Vec::new();
        // The kept token spans by (start, end): kept spans do not overlap, so the last one that
        // starts before a span ends is the only one that can overlap it.
        let mut kept_spans: std::collections::BTreeSet<(usize, usize)> = std::collections::BTreeSet::new();
        let mut kept_text: Vec<&Found> = Vec::new();
        for f in &found {
            let Some(d) = self.values.get(f.det) else {
                continue;
            };
            if d.span == SpanMode::Match {
                // Token-level: keep the best per overlapping span.
                let free = if f.start < f.end {
                    kept_spans.range(..(f.end, 0)).next_back().is_none_or(|&(ks, ke)| ke <= f.start || f.end <= ks)
                } else {
                    // An empty span (a pattern that can match nothing): checked against all.
                    kept_tokens.iter().all(|k| f.end <= k.start || k.end <= f.start)
                };
                if free {
                    kept_spans.insert((f.start, f.end));
                    kept_tokens.push(f);
                }
            } else {
                // Text-level: keep the best per entity.
                let dup = kept_text.iter().any(|k| {
                    self.values.get(k.det).map(|x| &x.entity) == Some(&d.entity) && f.start < k.end && k.start < f.end
                });
                if !dup {
                    kept_text.push(f);
                }
            }
        }
        let mut out: Vec<Detection> = kept_tokens
            .into_iter()
            .chain(kept_text)
            .filter_map(|f| {
                let d = self.values.get(f.det)?;
                Some(Detection {
                    detector: d.id.clone(),
                    entity: d.entity.clone(),
                    category: d.category.clone(),
                    start: f.start,
                    end: f.end,
                    confidence: f.confidence,
                })
            })
            .collect();
        out.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)).then(a.detector.cmp(&b.detector)));
        out
    }

    /// Classify a normalized field path ("chat.messages[].body",
    /// "employee.ssn", "input.keystrokes[].interval_ms") by its name.
    /// Returns at most one hit per category, best first.
    pub fn classify_name(&self, path: &str) -> Vec<NameHit> {
        let Some((leaf, parents)) = names::leaf_and_parents(path) else {
            return Vec::new();
        };
        let words: Vec<(usize, &str)> = leaf
            .split(' ')
            .scan(0usize, |pos, w| {
                let start = *pos;
                *pos += w.len() + 1;
                Some((start, w))
            })
            .collect();
        let mut hits: Vec<NameHit> = Vec::new();
        for idx in self.name_set.matches(&leaf).iter() {
            let Some(rule) = self.names.get(idx) else {
                continue;
            };
            // A rule regex that does not compile (see `LazyRegex`: cannot happen) fails closed:
            // the rule applies, on the whole name.
            if let Some(p) = rule.parent.as_ref().and_then(|p| p.get())
                && !p.is_match(&parents)
            {
                continue;
            }
            if rule.not_parent.as_ref().and_then(|p| p.get()).is_some_and(|p| p.is_match(&parents)) {
                continue;
            }
            let (start, end) = match rule.regex.get() {
                Some(re) => match re.find(&leaf) {
                    Some(m) => (m.start(), m.end()),
                    None => continue,
                },
                None => (0, leaf.len()),
            };
            if !rule.metadata_ok && self.is_metadata(&words, start, end) {
                continue;
            }
            match hits.iter_mut().find(|h| h.category == rule.category) {
                Some(h) if h.confidence >= rule.confidence => {}
                Some(h) => {
                    h.rule.clone_from(&rule.id);
                    h.confidence = rule.confidence;
                }
                None => hits.push(NameHit {
                    rule: rule.id.clone(),
                    category: rule.category.clone(),
                    confidence: rule.confidence,
                }),
            }
        }
        hits.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.category.cmp(&b.category)));
        hits
    }

    /// A metadata suffix (`count`, `ms`, `id`, ...) after the matched words,
    /// or a flag prefix (`is`, `has`, ...) before them, means the field is
    /// about the thing, not the thing itself.
    fn is_metadata(&self, words: &[(usize, &str)], m_start: usize, m_end: usize) -> bool {
        let suffix = words.last().is_some_and(|(s, w)| *s >= m_end && self.suffixes.iter().any(|x| x == w));
        let prefix = words.first().is_some_and(|(s, w)| s + w.len() <= m_start && self.prefixes.iter().any(|x| x == w));
        suffix || prefix
    }

    /// All loaded detectors and name rules, in load order.
    pub fn list(&self) -> Vec<DetectorInfo> {
        let values = self.values.iter().map(|d| DetectorInfo {
            id: d.id.clone(),
            entity: d.entity.clone(),
            category: d.category.clone(),
            kind: "value".to_string(),
            validator: d.validator_name.clone(),
            origin: d.origin.clone(),
            description: d.description.clone(),
        });
        let names = self.names.iter().map(|n| DetectorInfo {
            id: n.id.clone(),
            entity: n.entity.clone(),
            category: Some(n.category.clone()),
            kind: "name".to_string(),
            validator: None,
            origin: n.origin.clone(),
            description: n.description.clone(),
        });
        values.chain(names).collect()
    }
}

/// One ASCII byte per character, keeping what the prefilter patterns can
/// see: letters keep their case class (`A`/`a`), other word characters
/// become `0`, whitespace a space, everything else `~`. Any pattern with
/// only ASCII literals that matches `text` also matches the shadow.
fn ascii_shadow(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii() {
                c
            } else if c.is_uppercase() {
                'A'
            } else if c.is_alphabetic() {
                'a'
            } else if c.is_alphanumeric() {
                '0'
            } else if c.is_whitespace() {
                ' '
            } else {
                '~'
            }
        })
        .collect()
}

/// What the prefilter sets search: `text` itself when it is ASCII, else its [`ascii_shadow`].
fn prefilter_hay(text: &str) -> std::borrow::Cow<'_, str> {
    if text.is_ascii() { std::borrow::Cow::Borrowed(text) } else { std::borrow::Cow::Owned(ascii_shadow(text)) }
}

/// Up to `n` characters before byte offset `at`.
fn window_before(text: &str, at: usize, n: usize) -> &str {
    let head = text.get(..at).unwrap_or_default();
    // Where the last `n` bytes are ASCII, they are the last `n` characters.
    if let Some(w) = head.get(head.len().saturating_sub(n)..).filter(|w| n > 0 && w.is_ascii()) {
        return w;
    }
    let start = head.char_indices().rev().nth(n.saturating_sub(1)).map_or(0, |(i, _)| i);
    head.get(start..).unwrap_or_default()
}

/// Up to `n` characters after byte offset `at`.
fn window_after(text: &str, at: usize, n: usize) -> &str {
    let tail = text.get(at..).unwrap_or_default();
    // Where the first `n` bytes are ASCII, they are the first `n` characters.
    if let Some(w) = tail.get(..n.min(tail.len())).filter(|w| w.is_ascii()) {
        return w;
    }
    let end = tail.char_indices().nth(n).map_or(tail.len(), |(i, _)| i);
    tail.get(..end).unwrap_or_default()
}

/// The match is part of a larger token: directly touching a letter/digit/`_`,
/// or joined to one by `-`, `.` or `_` (UUID groups, versions, identifiers).
fn glued(text: &str, start: usize, end: usize) -> bool {
    let head = text.get(..start).unwrap_or_default();
    let tail = text.get(end..).unwrap_or_default();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut back = head.chars().rev();
    let mut fwd = tail.chars();
    let glue_back = match back.next() {
        Some(c) if word(c) => true,
        Some('-' | '.' | '_') => back.next().is_some_and(|c| c.is_ascii_alphanumeric()),
        _ => false,
    };
    // Forward, only a digit after the joiner glues: "788-063-Office" is a
    // phone number followed by a label, "1.2.3.4.5" is a version.
    let glue_fwd = match fwd.next() {
        Some(c) if word(c) => true,
        Some('-' | '.') => fwd.next().is_some_and(|c| c.is_ascii_digit()),
        Some('_') => fwd.next().is_some_and(|c| c.is_ascii_alphanumeric()),
        _ => false,
    };
    glue_back || glue_fwd
}

/// Final confidence for a candidate, or `None` if it does not qualify.
fn score(det: &ValueDetector, adj: f32, around: &[&str]) -> Option<f32> {
    // A context regex that does not compile (see `LazyRegex`: cannot happen) fails closed: the
    // context words count as present, the negative ones as absent.
    let has = |re: &Option<spec::LazyRegex>, failed: bool| {
        re.as_ref().is_some_and(|r| r.get().map_or(failed, |r| around.iter().any(|s| r.is_match(s))))
    };
    let ctx = has(&det.context, true);
    if det.require_context && !ctx {
        return None;
    }
    let mut c = det.confidence + adj;
    if ctx {
        c += det.context_boost;
    }
    if has(&det.negative, false) {
        c -= det.negative_penalty;
    }
    // Two decimals: scores are heuristics, and 0.90000004 reads badly in reports.
    let c = (c.clamp(0.0, det.max_confidence.max(det.confidence)) * 100.0).round() / 100.0;
    (c >= det.min_confidence).then_some(c)
}
