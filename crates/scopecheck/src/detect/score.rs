//! Span-level scoring of detections against a labelled corpus.
//!
//! Pure functions, no file access (the CLI reads the corpus; the WASM build
//! stays clean). Positions are Unicode code points, as in the Presidio
//! corpus format.
//!
//! # Matching rule
//!
//! Per text and per entity type, each predicted span is matched one-to-one
//! with at most one labelled span of the **same type**:
//!
//! * [`MatchRule::Overlap`] (default): token-level types match when the
//!   character intersection over union (IoU) of the two spans is at least
//!   [`MIN_IOU`] (0.5). This forgives a trailing full stop or a missing
//!   `+1 ` prefix, as Presidio's own evaluator (token-level) does, but does
//!   not credit a three-character hit inside a forty-character address.
//!   Text-level types ([`TEXT_LEVEL_TYPES`]: CHAT, TRANSCRIPT, HEALTH, ...)
//!   classify a whole text, so any overlap counts, and further detections
//!   of the same type inside an already-matched label (a text with an ICD-10
//!   code, diagnosis words and a prescription gives three HEALTH
//!   detections) are neither true nor false positives.
//! * [`MatchRule::Exact`]: start and end must be equal (after trimming
//!   whitespace at both ends of each span).
//!
//! A matched prediction is a true positive, an unmatched prediction a false
//! positive, an unmatched label a false negative.

use std::collections::BTreeMap;

use super::Detection;

/// Entity types a pattern (plus validator) can decide; `overall` covers
/// these.
pub const PATTERN_TYPES: [&str; 8] = [
    "CREDIT_CARD",
    "US_SSN",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "IBAN_CODE",
    "IP_ADDRESS",
    "DOMAIN_NAME",
    "US_DRIVER_LICENSE",
];

/// Entity types that classify a whole text rather than a token; under
/// [`MatchRule::Overlap`] any overlap with a label of the same type counts.
pub const TEXT_LEVEL_TYPES: [&str; 6] = ["CHAT", "TRANSCRIPT", "HEALTH", "TAX_FORM", "PERFORMANCE_REVIEW", "FREE_TEXT"];

/// Minimum intersection over union for token-level types under
/// [`MatchRule::Overlap`].
pub const MIN_IOU: f64 = 0.5;

/// Label names other tools use for our entity types. Labels are mapped
/// through this table before scoring, so corpora written for Presidio's
/// analyzer (`URL`, `IP`, ...) score against our names.
pub const LABEL_ALIASES: [(&str, &str); 8] = [
    ("URL", "DOMAIN_NAME"),
    ("IP", "IP_ADDRESS"),
    ("EMAIL", "EMAIL_ADDRESS"),
    ("PHONE", "PHONE_NUMBER"),
    ("IBAN", "IBAN_CODE"),
    ("SSN", "US_SSN"),
    ("DRIVER_LICENSE", "US_DRIVER_LICENSE"),
    ("ADDRESS", "STREET_ADDRESS"),
];

/// Our name for a corpus label.
pub fn canonical_label(label: &str) -> &str {
    LABEL_ALIASES.iter().find(|(a, _)| *a == label).map_or(label, |(_, ours)| ours)
}

/// How predicted and labelled spans are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchRule {
    /// IoU >= [`MIN_IOU`] for token types, any overlap for text-level types.
    #[default]
    Overlap,
    /// Same start and end (whitespace-trimmed).
    Exact,
}

/// One span, in code points.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Span {
    pub entity: String,
    pub start: usize,
    pub end: usize,
}

/// Code-point offset of byte offset `byte` in `text` (clamped; a byte
/// inside a character counts as that character's start).
pub fn char_offset(text: &str, byte: usize) -> usize {
    let mut b = byte.min(text.len());
    while b > 0 && !text.is_char_boundary(b) {
        b -= 1;
    }
    text.get(..b).map_or(0, |h| h.chars().count())
}

/// Detections (byte offsets) as code-point spans.
pub fn char_spans(text: &str, dets: &[Detection]) -> Vec<Span> {
    dets.iter()
        .map(|d| Span { entity: d.entity.clone(), start: char_offset(text, d.start), end: char_offset(text, d.end) })
        .collect()
}

/// True/false positives and false negatives of one entity type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
}

impl Counts {
    /// tp / (tp + fp); `None` when nothing was predicted.
    pub fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }
    /// tp / (tp + fn); `None` when nothing is labelled.
    pub fn recall(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fn_)
    }
    /// F-beta with beta = 2 (recall weighs four times precision): a missed
    /// SSN is worse than a spurious one. 0 when either side is 0 or undefined.
    pub fn f2(&self) -> Option<f64> {
        let (p, r) = (self.precision().unwrap_or(0.0), self.recall().unwrap_or(0.0));
        if self.tp + self.fp + self.fn_ == 0 {
            return None;
        }
        Some(if p + r == 0.0 { 0.0 } else { 5.0 * p * r / (4.0 * p + r) })
    }
    fn add(&mut self, o: Counts) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
    }
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Counts per entity type, accumulated over texts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub by_type: BTreeMap<String, Counts>,
    /// Texts scored.
    pub texts: usize,
}

/// Trimmed (start, end) of a span in `chars`.
fn trimmed(chars: &[char], s: &Span) -> (usize, usize) {
    let (mut a, mut b) = (s.start.min(chars.len()), s.end.min(chars.len()));
    while a < b && chars.get(a).is_some_and(|c| c.is_whitespace()) {
        a += 1;
    }
    while b > a && chars.get(b - 1).is_some_and(|c| c.is_whitespace()) {
        b -= 1;
    }
    (a, b)
}

fn matches(rule: MatchRule, entity: &str, g: (usize, usize), p: (usize, usize)) -> Option<f64> {
    let inter = g.1.min(p.1).saturating_sub(g.0.max(p.0));
    let union = g.1.max(p.1) - g.0.min(p.0);
    let iou = if union == 0 { 1.0 } else { inter as f64 / union as f64 };
    match rule {
        MatchRule::Exact => (g == p).then_some(1.0),
        MatchRule::Overlap if TEXT_LEVEL_TYPES.contains(&entity) => (inter > 0).then_some(iou),
        MatchRule::Overlap => (iou >= MIN_IOU).then_some(iou),
    }
}

impl Tally {
    /// Score one text: `gold` labels (any names; mapped with
    /// [`canonical_label`]) against `pred`, both in code points of `text`.
    pub fn add(&mut self, text: &str, gold: &[Span], pred: &[Span], rule: MatchRule) {
        self.texts += 1;
        let chars: Vec<char> = text.chars().collect();
        let mut types: Vec<&str> = gold.iter().map(|s| canonical_label(&s.entity)).collect();
        types.extend(pred.iter().map(|s| s.entity.as_str()));
        types.sort_unstable();
        types.dedup();
        for t in types {
            let g: Vec<(usize, usize)> =
                gold.iter().filter(|s| canonical_label(&s.entity) == t).map(|s| trimmed(&chars, s)).collect();
            let mut p: Vec<(usize, usize)> =
                pred.iter().filter(|s| s.entity == t).map(|s| trimmed(&chars, s)).collect();
            p.sort_unstable();
            let mut used = vec![false; g.len()];
            let mut c = Counts::default();
            for ps in p {
                let best = g
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !used.get(*i).copied().unwrap_or(true))
                    .filter_map(|(i, gs)| matches(rule, t, *gs, ps).map(|q| (i, q)))
                    .max_by(|a, b| a.1.total_cmp(&b.1));
                match best {
                    Some((i, _)) => {
                        if let Some(u) = used.get_mut(i) {
                            *u = true;
                        }
                        c.tp += 1;
                    }
                    // A second detection of a text-level type inside an
                    // already-matched label is more evidence for the same
                    // label, neither a hit nor a false alarm.
                    None if rule == MatchRule::Overlap
                        && TEXT_LEVEL_TYPES.contains(&t)
                        && g.iter().any(|gs| gs.0 < ps.1 && ps.0 < gs.1) => {}
                    None => c.fp += 1,
                }
            }
            c.fn_ = used.iter().filter(|u| !**u).count();
            self.by_type.entry(t.to_string()).or_default().add(c);
        }
    }

    /// Counts summed over `types`.
    pub fn overall(&self, types: &[&str]) -> Counts {
        let mut c = Counts::default();
        for (t, n) in &self.by_type {
            if types.contains(&t.as_str()) {
                c.add(*n);
            }
        }
        c
    }

    /// Merge another tally into this one.
    pub fn merge(&mut self, other: &Tally) {
        self.texts += other.texts;
        for (t, n) in &other.by_type {
            self.by_type.entry(t.clone()).or_default().add(*n);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn s(e: &str, a: usize, b: usize) -> Span {
        Span { entity: e.to_string(), start: a, end: b }
    }

    #[test]
    fn char_offsets_count_code_points() {
        let t = "é 😀 a@b.co";
        let b = t.find('a').unwrap();
        assert_eq!(char_offset(t, b), 4);
        assert_eq!(char_offset(t, t.len()), t.chars().count());
    }

    #[test]
    fn overlap_and_exact() {
        let text = "x".repeat(100);
        let gold = [s("PHONE_NUMBER", 10, 22), s("URL", 40, 50), s("HEALTH", 0, 100)];
        let pred = [
            s("PHONE_NUMBER", 12, 22),
            s("DOMAIN_NAME", 40, 50),
            s("HEALTH", 60, 70),
            s("HEALTH", 75, 80),
            s("US_SSN", 80, 91),
        ];
        let mut t = Tally::default();
        t.add(&text, &gold, &pred, MatchRule::Overlap);
        assert_eq!(t.by_type["PHONE_NUMBER"], Counts { tp: 1, fp: 0, fn_: 0 });
        assert_eq!(t.by_type["DOMAIN_NAME"], Counts { tp: 1, fp: 0, fn_: 0 });
        assert_eq!(t.by_type["HEALTH"], Counts { tp: 1, fp: 0, fn_: 0 });
        assert_eq!(t.by_type["US_SSN"], Counts { tp: 0, fp: 1, fn_: 0 });
        let mut e = Tally::default();
        e.add(&text, &gold, &pred, MatchRule::Exact);
        assert_eq!(e.by_type["PHONE_NUMBER"], Counts { tp: 0, fp: 1, fn_: 1 });
        assert_eq!(e.overall(&PATTERN_TYPES), Counts { tp: 1, fp: 2, fn_: 1 });
    }

    #[test]
    fn small_overlap_is_not_a_match_and_matching_is_one_to_one() {
        let text = "x".repeat(100);
        let gold = [s("STREET_ADDRESS", 0, 40)];
        let pred = [s("STREET_ADDRESS", 0, 5), s("STREET_ADDRESS", 0, 38), s("STREET_ADDRESS", 1, 39)];
        let mut t = Tally::default();
        t.add(&text, &gold, &pred, MatchRule::Overlap);
        assert_eq!(t.by_type["STREET_ADDRESS"], Counts { tp: 1, fp: 2, fn_: 0 });
    }

    #[test]
    fn f2_weighs_recall() {
        let c = Counts { tp: 8, fp: 0, fn_: 2 };
        let f2 = c.f2().unwrap();
        assert!((f2 - 5.0 * 0.8 / (4.0 + 0.8)).abs() < 1e-9);
        assert_eq!(Counts::default().precision(), None);
    }
}
