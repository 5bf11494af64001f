//! Scoring an audit against ground truth (`scopecheck audit … --labels labels.jsonl`).
//!
//! Labels ([`crate::generate::Label`], one JSON object a line) say which rule must fire about
//! which target on which line of which file. Files are matched by base name, a `.gz` suffix
//! aside (`captures.jsonl` labels `/data/run-7/captures.jsonl.gz`). Every input the audit reads is
//! scored: a rule that fires on a line no label names is a false positive.
//!
//! Two levels: **events** (each line's set of (rule, target) against its labels; labels on the
//! store inventory are about stores, not events, and count at finding level only) and
//! **findings** (the report's (rule, target) pairs against the labels' pairs).

use crate::error::{Error, ErrorKind, Location, Result};
use crate::generate::Label;
use crate::report::Finding;
use crate::target::Target;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Labels and examples listed in the score (the counts cover all).
const LISTED: usize = 20;

#[derive(Debug, Clone)]
struct Entry {
    file: u32,
    line: u64,
    rule: u32,
    target: u32,
    matched: bool,
}

/// Precision and recall of one rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct RuleScore {
    /// The rule.
    pub rule: String,
    /// Labelled and found.
    pub true_positives: u64,
    /// Found, not labelled.
    pub false_positives: u64,
    /// Labelled, not found.
    pub false_negatives: u64,
    /// tp / (tp + fp); null when nothing was found.
    pub precision: Option<f64>,
    /// tp / (tp + fn); null when nothing was labelled.
    pub recall: Option<f64>,
}

impl RuleScore {
    fn settle(&mut self) {
        let (tp, fp, fn_) = (self.true_positives as f64, self.false_positives as f64, self.false_negatives as f64);
        self.precision = (tp + fp > 0.0).then(|| tp / (tp + fp));
        self.recall = (tp + fn_ > 0.0).then(|| tp / (tp + fn_));
    }
}

/// A label the audit did not match, or a flag no label explains.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
pub struct ScoredItem {
    /// The file (as the labels name it, or as the audit read it).
    pub file: String,
    /// The line (0 for a finding-level item).
    pub line: u64,
    /// The rule.
    pub rule: String,
    /// The target.
    pub target: Target,
}

/// The score section of a report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct Score {
    /// The labels file.
    pub labels: String,
    /// How many labels it holds.
    pub label_count: u64,
    /// Per rule, event by event.
    pub events: Vec<RuleScore>,
    /// Per rule, finding by finding.
    pub findings: Vec<RuleScore>,
    /// Every rule together, event by event.
    pub events_total: RuleScore,
    /// Every rule together, finding by finding.
    pub findings_total: RuleScore,
    /// The first labels the audit missed (events, then findings), in file and line order.
    pub missed: Vec<ScoredItem>,
    /// Flags and findings no label explains (the first ones).
    pub unexpected: Vec<ScoredItem>,
}

/// Labels read, being matched against an audit as it goes.
#[derive(Debug)]
pub struct Scorer {
    name: String,
    files: Vec<String>,
    rules: Vec<String>,
    targets: Vec<Target>,
    entries: Vec<Entry>,
    /// (file, line) → range of `entries`.
    index: HashMap<(u32, u64), (usize, usize)>,
    events: BTreeMap<String, RuleScore>,
    unexpected: BTreeSet<ScoredItem>,
    /// Input names already mapped to a label file.
    input_files: HashMap<String, Option<u32>>,
}

fn base_name(path: &str) -> &str {
    let base = path.rsplit(['/', '\\']).next().unwrap_or(path);
    base.strip_suffix(".gz").unwrap_or(base)
}

fn intern<T: Clone + Eq + std::hash::Hash>(v: &mut Vec<T>, map: &mut HashMap<T, u32>, x: &T) -> u32 {
    if let Some(i) = map.get(x) {
        return *i;
    }
    let i = u32::try_from(v.len()).unwrap_or(u32::MAX);
    v.push(x.clone());
    map.insert(x.clone(), i);
    i
}

impl Scorer {
    /// Reads a labels file (JSONL of [`Label`]).
    pub fn parse(text: &str, name: &str) -> Result<Self> {
        let (mut files, mut rules, mut targets) = (Vec::new(), Vec::new(), Vec::new());
        let (mut fmap, mut rmap, mut tmap) = (HashMap::new(), HashMap::new(), HashMap::new());
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let l: Label = serde_json::from_str(line).map_err(|e| {
                Error::new(
                    ErrorKind::Input,
                    Location::at(name, i + 1, e.column()),
                    format!("not a label: {}", e.to_string().split(" at line").next().unwrap_or("bad JSON")),
                )
                .with_help("a label is {\"file\", \"line\", \"rule\", \"target\": {\"kind\", \"id\"}, \"cause\"}, as `scopecheck generate` writes them")
            })?;
            entries.push(Entry {
                file: intern(&mut files, &mut fmap, &base_name(&l.file).to_string()),
                line: l.line,
                rule: intern(&mut rules, &mut rmap, &l.rule),
                target: intern(&mut targets, &mut tmap, &l.target),
                matched: false,
            });
        }
        entries.sort_by_key(|e| (e.file, e.line, e.rule, e.target));
        entries.dedup_by_key(|e| (e.file, e.line, e.rule, e.target));
        let mut index = HashMap::new();
        let mut start = 0;
        while let Some(first) = entries.get(start) {
            let key = (first.file, first.line);
            let end =
                entries.iter().skip(start).position(|e| (e.file, e.line) != key).map_or(entries.len(), |n| start + n);
            index.insert(key, (start, end));
            start = end;
        }
        Ok(Scorer {
            name: name.to_string(),
            files,
            rules,
            targets,
            entries,
            index,
            events: BTreeMap::new(),
            unexpected: BTreeSet::new(),
            input_files: HashMap::new(),
        })
    }

    fn file_of(&mut self, input: &str) -> Option<u32> {
        if let Some(f) = self.input_files.get(input) {
            return *f;
        }
        let base = base_name(input);
        let f = self.files.iter().position(|x| x == base).and_then(|i| u32::try_from(i).ok());
        self.input_files.insert(input.to_string(), f);
        f
    }

    fn score(&mut self, rule: &str) -> &mut RuleScore {
        self.events
            .entry(rule.to_string())
            .or_insert_with(|| RuleScore { rule: rule.to_string(), ..RuleScore::default() })
    }

    /// One evaluated line of `input` and the (rule id, target) pairs that fired on it.
    pub fn line<'a>(&mut self, input: &str, line: u64, fired: impl IntoIterator<Item = (&'a str, &'a Target)>) {
        let file = self.file_of(input);
        let range = file.and_then(|f| self.index.get(&(f, line)).copied());
        let mut seen: BTreeSet<(&str, &Target)> = BTreeSet::new();
        for (rule, target) in fired {
            if !seen.insert((rule, target)) {
                continue;
            }
            let hit = range.and_then(|(a, b)| {
                (a..b).find(|&i| {
                    self.entries.get(i).is_some_and(|e| {
                        self.rules.get(e.rule as usize).is_some_and(|r| r == rule)
                            && self.targets.get(e.target as usize) == Some(target)
                    })
                })
            });
            match hit.and_then(|i| self.entries.get_mut(i)) {
                Some(e) => {
                    e.matched = true;
                    self.score(rule).true_positives += 1;
                }
                None => {
                    self.score(rule).false_positives += 1;
                    if self.unexpected.len() < LISTED {
                        self.unexpected.insert(ScoredItem {
                            file: input.to_string(),
                            line,
                            rule: rule.to_string(),
                            target: target.clone(),
                        });
                    }
                }
            }
        }
    }

    /// The score, with the report's findings for the finding level.
    pub fn finish(mut self, findings: &[Finding]) -> Score {
        let store_file =
            |s: &Self, e: &Entry| s.files.get(e.file as usize).is_some_and(|f| f == crate::generate::files::STORES);
        let mut missed = Vec::new();
        let mut misses: Vec<(String, u64)> = Vec::new();
        for e in &self.entries {
            if e.matched || store_file(&self, e) {
                continue;
            }
            let rule = self.rules.get(e.rule as usize).cloned().unwrap_or_default();
            misses.push((rule.clone(), 1));
            if missed.len() < LISTED {
                missed.push(ScoredItem {
                    file: self.files.get(e.file as usize).cloned().unwrap_or_default(),
                    line: e.line,
                    rule,
                    target: self.targets.get(e.target as usize).cloned().unwrap_or_else(|| Target::store("?")),
                });
            }
        }
        for (rule, n) in misses {
            self.score(&rule).false_negatives += n;
        }
        // Findings: (rule, target) pairs.
        let labelled: BTreeSet<(String, Target)> = self
            .entries
            .iter()
            .filter_map(|e| {
                Some((self.rules.get(e.rule as usize)?.clone(), self.targets.get(e.target as usize)?.clone()))
            })
            .collect();
        let found: BTreeSet<(String, Target)> = findings.iter().map(|f| (f.rule.clone(), f.target.clone())).collect();
        let mut by_rule: BTreeMap<String, RuleScore> = BTreeMap::new();
        let mut scored = Vec::new();
        for (rule, target) in labelled.union(&found) {
            let mut s =
                by_rule.remove(rule).unwrap_or_else(|| RuleScore { rule: rule.clone(), ..RuleScore::default() });
            match (labelled.contains(&(rule.clone(), target.clone())), found.contains(&(rule.clone(), target.clone())))
            {
                (true, true) => s.true_positives += 1,
                (true, false) => {
                    s.false_negatives += 1;
                    missed.push(ScoredItem {
                        file: self.name.clone(),
                        line: 0,
                        rule: rule.clone(),
                        target: target.clone(),
                    });
                }
                _ => {
                    s.false_positives += 1;
                    scored.push(ScoredItem {
                        file: "(findings)".into(),
                        line: 0,
                        rule: rule.clone(),
                        target: target.clone(),
                    });
                }
            }
            by_rule.insert(rule.clone(), s);
        }
        let total = |v: &[RuleScore]| {
            let mut t = RuleScore { rule: "(all)".into(), ..RuleScore::default() };
            for s in v {
                t.true_positives += s.true_positives;
                t.false_positives += s.false_positives;
                t.false_negatives += s.false_negatives;
            }
            t.settle();
            t
        };
        let mut events: Vec<RuleScore> = self.events.into_values().collect();
        events.iter_mut().for_each(RuleScore::settle);
        let mut findings: Vec<RuleScore> = by_rule.into_values().collect();
        findings.iter_mut().for_each(RuleScore::settle);
        let mut unexpected: Vec<ScoredItem> = self.unexpected.into_iter().collect();
        unexpected.extend(scored.into_iter().take(LISTED));
        Score {
            labels: self.name,
            label_count: self.entries.len() as u64,
            events_total: total(&events),
            findings_total: total(&findings),
            events,
            findings,
            missed,
            unexpected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: &str = r#"{"file":"captures.jsonl","line":2,"rule":"never-collect","target":{"kind":"field","id":"chat.text"},"cause":"chat"}
{"file":"captures.jsonl","line":2,"rule":"undisclosed-field","target":{"kind":"field","id":"chat.text"},"cause":"chat"}
{"file":"captures.jsonl","line":5,"rule":"outside-window","target":{"kind":"source","id":"agent"},"cause":"outside_window"}
{"file":"stores.yaml","line":3,"rule":"unencrypted-store","target":{"kind":"store","id":"raw"},"cause":"store"}
"#;

    #[test]
    fn events_and_findings_are_scored_apart() {
        let mut s = Scorer::parse(LABELS, "labels.jsonl").unwrap();
        let chat = Target::field("chat.text");
        let agent = Target::new(crate::target::TargetKind::Source, "agent");
        s.line("/x/captures.jsonl.gz", 1, []);
        s.line("/x/captures.jsonl.gz", 2, [("never-collect", &chat), ("undisclosed-field", &chat)]);
        // Line 5's label is missed; line 6 is flagged without a label.
        s.line("/x/captures.jsonl.gz", 6, [("outside-window", &agent)]);
        let score = s.finish(&[]);
        let ev: BTreeMap<_, _> = score.events.iter().map(|r| (r.rule.as_str(), r)).collect();
        assert_eq!(ev["never-collect"].recall, Some(1.0));
        assert_eq!(ev["outside-window"].true_positives, 0);
        assert_eq!(ev["outside-window"].false_positives, 1);
        assert_eq!(ev["outside-window"].false_negatives, 1);
        assert!(!ev.contains_key("unencrypted-store"), "store labels are not events");
        assert_eq!(score.missed.first().map(|m| m.line), Some(5));
        assert_eq!(score.unexpected.first().map(|m| m.line), Some(6));
        // No findings given: every labelled pair is missed at finding level.
        assert_eq!(score.findings_total.false_negatives, 4);
    }

    #[test]
    fn bad_labels_name_the_line() {
        let e = Scorer::parse("{\"file\":1}\n", "l.jsonl").unwrap_err();
        assert_eq!(e.location.line, Some(1));
    }
}
