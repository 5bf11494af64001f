//! The subject access report: what a program holds about one person (GDPR Art. 15).
//!
//! `scopecheck audit … --person ID` runs the normal audit and, beside it, follows the events whose
//! `subject` is `ID` (compared as text: the integer `10428` and the string `"10428"` are the same
//! person). The report says, for that person only: which fields and categories were captured,
//! with the person's own values (a few per field, clipped), when (first and last capture, per day
//! and hour of the week), in which stores, who read those stores for what purpose, and which of the
//! audit's findings concern the person's events (what the notice did not cover).
//!
//! Nothing of anyone else is kept: other people's events are counted as one number, never shown;
//! no other person's id or value reaches the report, and no count in it is about another person.
//! Findings are rebuilt from the person's own events (counts, times, example lines and evidence of
//! those events only), not copied from the audit's, whose evidence, lines and people counts come
//! from everyone.
//!
//! An access-log entry names no person. It concerns this person when it read a store that holds
//! their captures (an entry that names no store may have read any), at or after the person's first
//! capture of a field it read in that store, where the field patterns of the entry cover the
//! person's field as `field:` patterns do in the scope (an entry that names no field read the
//! whole store; a field that is not a valid pattern is taken to cover every field). When in doubt
//! an entry is listed: a subject access report that shows one read too many is better than one
//! that hides a read.
//!
//! Memory stays bounded: per field of the person at most [`MAX_VALUES_PER_FIELD`] distinct values
//! of at most [`MAX_VALUE_CHARS`] characters, at most [`MAX_ACCESS_GROUPS`] access groups (more
//! are counted), and a fixed-size timeline.

use crate::eval::{Engine, EventOutcome};
use crate::observe::{Access, Capture, Scalar, clip};
use crate::pattern::{FieldPattern, normalize_path};
use crate::report::{InputLocation, MAX_EXAMPLES, Provenance, Report, ScopeInfo, Timeline};
use crate::rules::{Fire, Severity};
use crate::target::Target;
use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

/// Version of the JSON person report. Bumped on any incompatible change.
pub const PERSON_REPORT_FORMAT_VERSION: u32 = 1;
/// Distinct values shown per field (the first ones captured, in input order).
pub const MAX_VALUES_PER_FIELD: usize = 5;
/// Characters of a value shown; longer values are clipped with `…`.
pub const MAX_VALUE_CHARS: usize = 200;
/// Access groups (actor, role, store, purpose) listed; the entries of further groups are counted.
pub const MAX_ACCESS_GROUPS: usize = 1000;

/// The banner every person report carries.
pub const BANNER: &str = "This report holds one person's data: what was captured about them, with their own values. \
Give it to that person only, and handle it as their personal data.";

/// The category prefix whose values are never shown, not even to their owner: a captured
/// password or token in a report file would be a live secret.
const CREDENTIALS: &str = "credentials";

/// First and last time, as (instant, text as written).
#[derive(Debug, Clone, Default, PartialEq)]
struct Seen {
    first: Option<(DateTime<FixedOffset>, String)>,
    last: Option<(DateTime<FixedOffset>, String)>,
}

impl Seen {
    fn see(&mut self, ts: &DateTime<FixedOffset>, raw: &str) {
        let here = (*ts, raw);
        if self.first.as_ref().is_none_or(|(t, r)| here < (*t, r.as_str())) {
            self.first = Some((*ts, raw.to_string()));
        }
        if self.last.as_ref().is_none_or(|(t, r)| here > (*t, r.as_str())) {
            self.last = Some((*ts, raw.to_string()));
        }
    }
    fn first_text(&self) -> Option<String> {
        self.first.as_ref().map(|(_, r)| r.clone())
    }
    fn last_text(&self) -> Option<String> {
        self.last.as_ref().map(|(_, r)| r.clone())
    }
}

#[derive(Debug, Default)]
struct FieldAcc {
    declared: bool,
    categories: BTreeSet<String>,
    events: u64,
    occurrences: u64,
    seen: Seen,
    stores: BTreeSet<String>,
    values: Vec<String>,
    more_values: bool,
}

#[derive(Debug, Default)]
struct StoreAcc {
    events: u64,
    seen: Seen,
    fields: BTreeSet<String>,
}

#[derive(Debug, Default)]
struct KeptAcc {
    events: u64,
    seen: Seen,
}

#[derive(Debug, Default)]
struct FindingAcc {
    count: u64,
    categories: BTreeSet<String>,
    seen: Seen,
    examples: BTreeSet<InputLocation>,
    evidence: Vec<String>,
    details: BTreeMap<String, BTreeSet<String>>,
}

impl FindingAcc {
    fn example(&mut self, at: &InputLocation) {
        self.examples.insert(at.clone());
        while self.examples.len() > MAX_EXAMPLES {
            self.examples.pop_last();
        }
    }
    fn evidence(&mut self, text: &str, max: usize) {
        if self.evidence.len() < max && !self.evidence.iter().any(|e| e == text) {
            self.evidence.push(text.to_string());
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct AccessKey {
    actor: Option<String>,
    role: String,
    store: Option<String>,
    purpose: String,
}

#[derive(Debug, Default)]
struct AccessAcc {
    entries: u64,
    seen: Seen,
    fields: BTreeSet<String>,
    examples: BTreeSet<InputLocation>,
    /// Rules (by index) these reads satisfied.
    flagged_by: BTreeSet<usize>,
}

/// Follows one person's events through an audit ([`crate::audit::Auditor::track_person`]).
#[derive(Debug)]
pub struct Tracker {
    subject: String,
    max_evidence: usize,
    kinds: BTreeSet<String>,
    events: u64,
    not_evaluated: u64,
    seen: Seen,
    fields: BTreeMap<String, FieldAcc>,
    stores: BTreeMap<String, StoreAcc>,
    /// (store, field) the person's events wrote.
    kept: BTreeMap<(String, String), KeptAcc>,
    findings: BTreeMap<(usize, Target), FindingAcc>,
    access: BTreeMap<AccessKey, AccessAcc>,
    access_entries: u64,
    access_not_listed: u64,
    timeline: Timeline,
}

/// Does a value of a field with these categories stay hidden even from its owner?
fn is_secret<'a>(mut categories: impl Iterator<Item = &'a String>) -> bool {
    categories.any(|c| c == CREDENTIALS || c.starts_with("credentials."))
}

impl Tracker {
    /// Follows the person `subject` (their `subject` id as text).
    pub fn new(subject: &str, engine: &Engine) -> Self {
        Tracker {
            subject: subject.to_string(),
            max_evidence: engine.options.max_evidence,
            kinds: BTreeSet::new(),
            events: 0,
            not_evaluated: 0,
            seen: Seen::default(),
            fields: BTreeMap::new(),
            stores: BTreeMap::new(),
            kept: BTreeMap::new(),
            findings: BTreeMap::new(),
            access: BTreeMap::new(),
            access_entries: 0,
            access_not_listed: 0,
            timeline: Timeline::new(engine.scope.windows.as_ref()),
        }
    }

    /// Is this event's `subject` the person followed?
    pub fn is(&self, subject: Option<&str>) -> bool {
        subject == Some(self.subject.as_str())
    }

    /// An event of the person's that was read but not evaluated (another program, too deep).
    pub(crate) fn not_evaluated(&mut self) {
        self.not_evaluated += 1;
    }

    /// One evaluated event of the person's, with what the evaluator found (fields observed).
    pub(crate) fn capture(&mut self, cap: &Capture<'_>, outcome: &EventOutcome, at: &InputLocation) {
        self.events += 1;
        self.seen.see(&cap.ts, &cap.ts_text);
        if let Some(k) = &cap.subject_kind {
            self.kinds.insert(k.to_string());
        }
        self.timeline.record(&cap.ts, !outcome.hits.is_empty());
        let store = self.stores.entry(outcome.store.clone()).or_default();
        store.events += 1;
        store.seen.see(&cap.ts, &cap.ts_text);
        for obs in &outcome.fields {
            store.fields.insert(obs.path.clone());
            let f = self.fields.entry(obs.path.clone()).or_default();
            f.declared |= obs.declared;
            f.categories.extend(obs.categories.iter().cloned());
            f.events += 1;
            f.seen.see(&cap.ts, &cap.ts_text);
            f.stores.insert(outcome.store.clone());
            let kept = self.kept.entry((outcome.store.clone(), obs.path.clone())).or_default();
            kept.events += 1;
            kept.seen.see(&cap.ts, &cap.ts_text);
        }
        for (path, value) in cap.leaves() {
            let Some(f) = self.fields.get_mut(path) else { continue };
            f.occurrences += 1;
            if is_secret(f.categories.iter()) {
                continue;
            }
            let text = match value {
                Scalar::Str(s) => clip(s, MAX_VALUE_CHARS),
                other => clip(&other.to_string(), MAX_VALUE_CHARS),
            };
            if f.values.contains(&text) {
                continue;
            }
            if f.values.len() < MAX_VALUES_PER_FIELD {
                f.values.push(text);
            } else {
                f.more_values = true;
            }
        }
        for hit in &outcome.hits {
            let acc = self.findings.entry((hit.rule, hit.target.clone())).or_default();
            acc.count += 1;
            acc.categories.extend(hit.categories.iter().cloned());
            acc.seen.see(&cap.ts, &cap.ts_text);
            acc.example(at);
            for e in &hit.evidence {
                acc.evidence(e, self.max_evidence);
            }
        }
    }

    /// One access-log entry, with the rules its fields satisfied (as the audit grouped them).
    pub(crate) fn access(
        &mut self,
        access: &Access,
        at: &InputLocation,
        fires: &BTreeMap<(Fire, Target), Vec<String>>,
    ) {
        let e = &access.entry;
        // The entry's fields as patterns; `None` for a field that is not one (it covers all).
        let patterns: Vec<(String, Option<FieldPattern>)> = e
            .fields
            .iter()
            .map(|f| {
                let norm = normalize_path(f);
                let pattern = FieldPattern::parse(&norm).ok();
                (norm, pattern)
            })
            .collect();
        let mut reached: BTreeSet<String> = BTreeSet::new();
        let mut matched: BTreeSet<&str> = BTreeSet::new();
        for ((store, path), kept) in &self.kept {
            if e.store.as_deref().is_some_and(|s| s != store) {
                continue;
            }
            if kept.seen.first.as_ref().is_none_or(|(first, _)| *first > access.ts) {
                continue;
            }
            if patterns.is_empty() {
                reached.insert(path.clone());
                continue;
            }
            for (norm, pattern) in &patterns {
                if pattern.as_ref().is_none_or(|p| p.covers(path)) {
                    reached.insert(path.clone());
                    matched.insert(norm.as_str());
                }
            }
        }
        if reached.is_empty() {
            return;
        }
        self.access_entries += 1;
        let mut flagged_by = BTreeSet::new();
        let actor = e.actor.as_deref().unwrap_or("(unknown actor)");
        for ((fire, target), paths) in fires {
            let mine: Vec<&String> =
                paths.iter().filter(|p| p.as_str() == "*" || matched.contains(p.as_str())).collect();
            if mine.is_empty() {
                continue;
            }
            let acc = self.findings.entry((fire.rule, target.clone())).or_default();
            acc.count += 1;
            acc.seen.see(&access.ts, &e.ts);
            acc.example(at);
            let read: Vec<&str> = mine.iter().map(|p| p.as_str()).collect();
            acc.evidence(&format!("{actor} read {} for {}", read.join(", "), e.purpose), self.max_evidence);
            acc.details.entry("purposes".into()).or_default().insert(e.purpose.clone());
            acc.details.entry("fields".into()).or_default().extend(mine.iter().map(|p| (*p).clone()));
            if let Some(s) = &e.store {
                acc.details.entry("stores".into()).or_default().insert(s.clone());
            }
            flagged_by.insert(fire.rule);
        }
        let key = AccessKey {
            actor: e.actor.clone(),
            role: e.role.clone(),
            store: e.store.clone(),
            purpose: e.purpose.clone(),
        };
        if !self.access.contains_key(&key) && self.access.len() >= MAX_ACCESS_GROUPS {
            self.access_not_listed += 1;
            return;
        }
        let group = self.access.entry(key).or_default();
        group.entries += 1;
        group.seen.see(&access.ts, &e.ts);
        group.fields.extend(reached);
        group.examples.insert(at.clone());
        while group.examples.len() > MAX_EXAMPLES {
            group.examples.pop_last();
        }
        group.flagged_by.extend(flagged_by);
    }

    /// A rule satisfied by a field kept in a store (retention), decided once for all events.
    pub(crate) fn kept(&mut self, rule: usize, target: &Target, path: &str, store: &str, evidence: Option<&str>) {
        let Some(kept) = self.kept.get(&(store.to_string(), path.to_string())) else { return };
        let (events, seen) = (kept.events, kept.seen.clone());
        self.whole(rule, target, events, &seen, store, evidence);
    }

    /// A rule satisfied by a store as a whole.
    pub(crate) fn store(&mut self, rule: usize, target: &Target, store: &str, evidence: Option<&str>) {
        let Some(s) = self.stores.get(store) else { return };
        let (events, seen) = (s.events, s.seen.clone());
        self.whole(rule, target, events, &seen, store, evidence);
    }

    fn whole(&mut self, rule: usize, target: &Target, events: u64, seen: &Seen, store: &str, evidence: Option<&str>) {
        let max = self.max_evidence;
        let acc = self.findings.entry((rule, target.clone())).or_default();
        // A rule that fired on the person's events already counted them.
        if acc.count == 0 {
            acc.count = events;
            if let Some((t, r)) = &seen.first {
                acc.seen.see(t, r);
            }
            if let Some((t, r)) = &seen.last {
                acc.seen.see(t, r);
            }
        }
        if let Some(e) = evidence {
            acc.evidence(e, max);
        }
        acc.details.entry("stores".into()).or_default().insert(store.to_string());
    }

    /// Builds the report, with the audit's `full` report for totals, rule metadata and the scope
    /// lines of findings (never its evidence, lines of captures or people counts).
    pub fn report(self, engine: &Engine, full: &Report) -> PersonReport {
        let program = engine.scope.raw.program.clone();
        let scope_file = engine.scope.file.clone();
        let rule_id = |r: usize| engine.rules.rule(r).map(|m| m.id.clone()).unwrap_or_default();
        let mut findings: Vec<PersonFinding> = Vec::new();
        for ((rule, target), acc) in self.findings {
            let Some(meta) = engine.rules.rule(rule) else { continue };
            let fp = crate::report::fingerprint(&program, &meta.id, &target);
            let mut examples: BTreeSet<InputLocation> = acc.examples;
            // The scope line of a broken promise (store, retention), from the audit's finding.
            if let Some(f) = full.findings.iter().find(|f| f.fingerprint == fp) {
                examples.extend(f.examples.iter().filter(|l| l.file == scope_file).cloned());
            }
            let category = acc
                .categories
                .iter()
                .max_by_key(|c| (engine.taxonomy.sensitivity(c), std::cmp::Reverse(c.as_str())))
                .cloned();
            findings.push(PersonFinding {
                fingerprint: fp,
                rule: meta.id.clone(),
                severity: meta.severity,
                title: meta.title.clone(),
                target,
                category,
                categories: acc.categories.into_iter().collect(),
                count: acc.count,
                first_seen: acc.seen.first_text(),
                last_seen: acc.seen.last_text(),
                examples: examples.into_iter().take(MAX_EXAMPLES).collect(),
                evidence: acc.evidence,
                details: acc.details.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect(),
                help: meta.help.clone(),
                reference: meta.reference.clone(),
                baseline: None,
                baselined: false,
            });
        }
        findings.sort_by(|a, b| {
            b.severity.cmp(&a.severity).then_with(|| a.rule.cmp(&b.rule)).then_with(|| a.target.cmp(&b.target))
        });
        let rules_on = |path: &str| -> Vec<String> {
            let set: BTreeSet<String> = findings
                .iter()
                .filter(|f| f.target.kind == crate::target::TargetKind::Field && f.target.id == path)
                .map(|f| f.rule.clone())
                .collect();
            set.into_iter().collect()
        };
        let mut categories: BTreeMap<String, PersonCategory> = BTreeMap::new();
        let fields: Vec<PersonField> = self
            .fields
            .into_iter()
            .map(|(path, f)| {
                let secret = is_secret(f.categories.iter());
                for c in &f.categories {
                    let cat = categories.entry(c.clone()).or_insert_with(|| PersonCategory {
                        category: c.clone(),
                        name: engine.taxonomy.get(c).map(|t| t.label.clone()),
                        fields: Vec::new(),
                    });
                    cat.fields.push(path.clone());
                }
                PersonField {
                    findings: rules_on(&path),
                    path,
                    declared: f.declared,
                    categories: f.categories.into_iter().collect(),
                    events: f.events,
                    values_captured: f.occurrences,
                    first_seen: f.seen.first_text(),
                    last_seen: f.seen.last_text(),
                    stores: f.stores.into_iter().collect(),
                    values: f.values,
                    more_values: f.more_values,
                    values_withheld: secret.then(|| {
                        "a credential: its values are not shown, not even here, as a report file holding a live secret would leak it; ask for it to be deleted and changed".to_string()
                    }),
                }
            })
            .collect();
        let stores: Vec<PersonStore> = self
            .stores
            .into_iter()
            .map(|(store, s)| PersonStore {
                declared: engine.scope.store(&store).is_some(),
                store,
                events: s.events,
                first_seen: s.seen.first_text(),
                last_seen: s.seen.last_text(),
                fields: s.fields.into_iter().collect(),
            })
            .collect();
        let access: Vec<PersonAccess> = self
            .access
            .into_iter()
            .map(|(k, a)| PersonAccess {
                actor: k.actor,
                role: k.role,
                store: k.store,
                purpose: k.purpose,
                entries: a.entries,
                first: a.seen.first_text(),
                last: a.seen.last_text(),
                fields: a.fields.into_iter().collect(),
                examples: a.examples.into_iter().collect(),
                findings: a.flagged_by.iter().map(|r| rule_id(*r)).collect::<BTreeSet<String>>().into_iter().collect(),
            })
            .collect();
        let mut by_severity: BTreeMap<Severity, u64> = BTreeMap::new();
        for f in &findings {
            *by_severity.entry(f.severity).or_insert(0) += 1;
        }
        let s = &full.summary;
        let summary = PersonSummary {
            events: self.events,
            events_not_evaluated: self.not_evaluated,
            first_capture: self.seen.first_text(),
            last_capture: self.seen.last_text(),
            days: self.timeline.days.len() as u64,
            fields: fields.len() as u64,
            categories: categories.len() as u64,
            stores: stores.len() as u64,
            findings: findings.len() as u64,
            by_severity,
            access_entries: self.access_entries,
            access_entries_not_listed: self.access_not_listed,
            other_events: s.records_evaluated.saturating_sub(self.events),
            records_read: s.records_read,
            records_evaluated: s.records_evaluated,
            records_rejected: s.records_rejected,
            access_read: s.access_read,
            access_evaluated: s.access_evaluated,
            access_rejected: s.access_rejected,
        };
        let found = self.events > 0 || self.not_evaluated > 0;
        PersonReport {
            report: "subject_access".into(),
            format: PERSON_REPORT_FORMAT_VERSION,
            tool: PersonTool { name: "scopecheck".into(), version: env!("CARGO_PKG_VERSION").into() },
            banner: BANNER.into(),
            scope: full.scope.clone(),
            person: PersonInfo {
                subject: self.subject,
                subject_kinds: self.kinds.into_iter().collect(),
                pseudonym: None,
            },
            found,
            summary,
            fields,
            categories: categories.into_values().collect(),
            stores,
            timeline: self.timeline,
            access,
            findings,
            method: method_notes(),
            provenance: full.provenance.clone(),
        }
    }
}

/// How the report was made, in words (in the JSON and on the page).
fn method_notes() -> Vec<String> {
    vec![
        "Your events are the captures whose `subject` is your id, compared as text (the number 10428 and the text \"10428\" are the same id).".into(),
        format!(
            "Values: up to {MAX_VALUES_PER_FIELD} distinct values per field, the first captured, each clipped to {MAX_VALUE_CHARS} characters. Values of credentials (passwords, tokens, keys) are never shown."
        ),
        "Access: an access-log entry names no person. It is listed when it read a store holding your captures (an entry naming no store may have read any), at or after your first capture there of a field it read, where its field patterns cover that field (no field named: the whole store).".into(),
        "Findings: the audit's rules, counted over your events and the access entries listed here only; a store or retention finding counts your events in that store.".into(),
        "Other people's events are counted as one number and never shown.".into(),
    ]
}

/// Which tool wrote the report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PersonTool {
    /// `scopecheck`.
    pub name: String,
    /// Crate version.
    pub version: String,
}

/// Who the report is about.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PersonInfo {
    /// The `subject` id asked for.
    pub subject: String,
    /// The kinds of person their events name (`employee`, `contractor`…).
    pub subject_kinds: Vec<String>,
    /// Their keyed pseudonym (with `--pseudonym-key`): the one the audit's findings list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pseudonym: Option<String>,
}

/// Counts: the person's, and the audit's totals (which single out no one).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PersonSummary {
    /// The person's events evaluated.
    pub events: u64,
    /// The person's events read but not evaluated (another program's, or nested too deep).
    pub events_not_evaluated: u64,
    /// Their first capture (as written).
    pub first_capture: Option<String>,
    /// Their last capture.
    pub last_capture: Option<String>,
    /// Days with captures of theirs.
    pub days: u64,
    /// Distinct fields captured about them.
    pub fields: u64,
    /// Distinct categories.
    pub categories: u64,
    /// Stores holding their captures.
    pub stores: u64,
    /// Findings that concern them.
    pub findings: u64,
    /// Those findings per severity.
    pub by_severity: BTreeMap<Severity, u64>,
    /// Access-log entries that concern them.
    pub access_entries: u64,
    /// Of those, entries of groups over the listing cap (counted, not listed).
    pub access_entries_not_listed: u64,
    /// Evaluated events of other people (and events naming no person): a number, never shown.
    pub other_events: u64,
    /// Capture lines read in all (= evaluated + rejected).
    pub records_read: u64,
    /// Capture records evaluated in all.
    pub records_evaluated: u64,
    /// Capture lines rejected in all (unreadable lines may be anyone's, this person's included).
    pub records_rejected: u64,
    /// Access-log lines read in all.
    pub access_read: u64,
    /// Access entries evaluated in all.
    pub access_evaluated: u64,
    /// Access entries rejected in all.
    pub access_rejected: u64,
}

/// A field captured about the person.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PersonField {
    /// Its path in `data`.
    pub path: String,
    /// Covered by a `collect` entry of the scope.
    pub declared: bool,
    /// Categories found (name, declaration and values).
    pub categories: Vec<String>,
    /// Events of theirs holding it.
    pub events: u64,
    /// Values of theirs captured in it (an array counts each item).
    pub values_captured: u64,
    /// First capture.
    pub first_seen: Option<String>,
    /// Last capture.
    pub last_seen: Option<String>,
    /// Stores it went to.
    pub stores: Vec<String>,
    /// Their values: the first distinct ones, clipped.
    pub values: Vec<String>,
    /// More distinct values were captured than shown.
    pub more_values: bool,
    /// Why no value is shown (credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_withheld: Option<String>,
    /// Rules with a finding on this field (see `findings`).
    pub findings: Vec<String>,
}

/// A category of data captured about the person.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PersonCategory {
    /// Its id in the taxonomy.
    pub category: String,
    /// Its name.
    pub name: Option<String>,
    /// Their fields holding it.
    pub fields: Vec<String>,
}

/// A store holding the person's captures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PersonStore {
    /// Its id.
    pub store: String,
    /// Declared in the scope.
    pub declared: bool,
    /// Their events written to it.
    pub events: u64,
    /// First.
    pub first_seen: Option<String>,
    /// Last.
    pub last_seen: Option<String>,
    /// Their fields in it.
    pub fields: Vec<String>,
}

/// Reads of the person's data by one actor, role, store and purpose.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PersonAccess {
    /// Who read (an account id), if the log says.
    pub actor: Option<String>,
    /// In what role.
    pub role: String,
    /// Which store (none: the entry named no store).
    pub store: Option<String>,
    /// For what.
    pub purpose: String,
    /// Entries.
    pub entries: u64,
    /// First entry.
    pub first: Option<String>,
    /// Last entry.
    pub last: Option<String>,
    /// Their fields those entries read.
    pub fields: Vec<String>,
    /// The first access-log lines.
    pub examples: Vec<InputLocation>,
    /// Rules these reads broke (e.g. `purpose-creep`).
    pub findings: Vec<String>,
}

/// A finding, counted over the person's events only.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PersonFinding {
    /// The audit finding's fingerprint (the same finding in the organisation's report).
    pub fingerprint: String,
    /// Rule id.
    pub rule: String,
    /// Severity.
    pub severity: Severity,
    /// Rule title.
    pub title: String,
    /// What it is about.
    pub target: Target,
    /// The most sensitive category involved in their events.
    pub category: Option<String>,
    /// Categories involved in their events.
    pub categories: Vec<String>,
    /// Their events (or access entries about them) concerned.
    pub count: u64,
    /// First.
    pub first_seen: Option<String>,
    /// Last.
    pub last_seen: Option<String>,
    /// Lines of their events (or of the scope's broken promise).
    pub examples: Vec<InputLocation>,
    /// Evidence from their events (redacted; their values are under `fields`).
    pub evidence: Vec<String>,
    /// Purposes, fields and stores.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, Vec<String>>,
    /// How the organisation should fix it.
    pub help: String,
    /// Regulation reference.
    pub reference: Option<String>,
    /// The organisation's acceptance of the finding (with `--baseline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<crate::baseline::Acceptance>,
    /// Accepted by the organisation's baseline for now.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub baselined: bool,
}

/// What is held about one person.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PersonReport {
    /// `subject_access`.
    pub report: String,
    /// [`PERSON_REPORT_FORMAT_VERSION`].
    pub format: u32,
    /// The tool.
    pub tool: PersonTool,
    /// [`BANNER`].
    pub banner: String,
    /// The scope (the notice) held against.
    pub scope: ScopeInfo,
    /// Who.
    pub person: PersonInfo,
    /// Any event of theirs was read.
    pub found: bool,
    /// Counts.
    pub summary: PersonSummary,
    /// Fields captured about them, by path.
    pub fields: Vec<PersonField>,
    /// Categories, by id.
    pub categories: Vec<PersonCategory>,
    /// Stores holding their captures.
    pub stores: Vec<PersonStore>,
    /// Their captures over time (local days, hours of the week).
    pub timeline: Timeline,
    /// Who read their data, for what.
    pub access: Vec<PersonAccess>,
    /// What the notice did not cover, in their events.
    pub findings: Vec<PersonFinding>,
    /// How the report was made.
    pub method: Vec<String>,
    /// Inputs and rules, by digest.
    pub provenance: Provenance,
}

impl PersonReport {
    /// Marks findings the organisation's baseline accepts, from the audit's report after
    /// [`crate::baseline::apply`]: the acceptance as it stands for this person's categories.
    pub fn take_baseline(&mut self, full: &Report) {
        for f in &mut self.findings {
            let Some(acc) =
                full.findings.iter().find(|x| x.fingerprint == f.fingerprint).and_then(|x| x.baseline.clone())
            else {
                continue;
            };
            let mut acc = acc;
            acc.new_categories.retain(|c| f.categories.contains(c));
            if acc.status == crate::baseline::AcceptanceStatus::NewCategories && acc.new_categories.is_empty() {
                acc.status = crate::baseline::AcceptanceStatus::Accepted;
            }
            f.baselined = acc.status == crate::baseline::AcceptanceStatus::Accepted;
            f.baseline = Some(acc);
        }
    }

    /// Findings at or above a severity that the baseline does not accept.
    pub fn count_at_or_above(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity >= s && !f.baselined).count()
    }

    /// The JSON form.
    pub fn write_json(&self, w: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *w, self).map_err(io::Error::other)?;
        writeln!(w)
    }

    /// A short text summary for the terminal.
    pub fn write_human(&self, w: &mut dyn Write) -> io::Result<()> {
        let s = &self.summary;
        writeln!(w, "{}", self.banner)?;
        writeln!(w, "Subject access report: {} in program {}", self.person.subject, self.scope.program)?;
        if !self.found {
            writeln!(
                w,
                "No capture names this person: nothing about them was found in the {} records evaluated.",
                s.records_evaluated
            )?;
            return Ok(());
        }
        writeln!(
            w,
            "{} events, {} to {}, on {} days; {} fields in {} categories, in {} stores.",
            s.events,
            s.first_capture.as_deref().unwrap_or("?"),
            s.last_capture.as_deref().unwrap_or("?"),
            s.days,
            s.fields,
            s.categories,
            s.stores
        )?;
        if s.events_not_evaluated > 0 {
            writeln!(w, "{} more events of theirs could not be evaluated.", s.events_not_evaluated)?;
        }
        writeln!(w, "\nFields:")?;
        for f in &self.fields {
            let cats = if f.categories.is_empty() { "unclassified".to_string() } else { f.categories.join(", ") };
            let notice = if f.declared { "in the notice" } else { "NOT in the notice" };
            let n = if f.events == 1 { "1 event".to_string() } else { format!("{} events", f.events) };
            writeln!(w, "  {} ({cats}; {notice}): {n}", f.path)?;
        }
        writeln!(w, "\nRead by:")?;
        if self.access.is_empty() {
            writeln!(w, "  no access-log entry concerns this person")?;
        }
        for a in &self.access {
            let flagged = if a.findings.is_empty() { String::new() } else { format!(" [{}]", a.findings.join(", ")) };
            writeln!(
                w,
                "  {} as {} in {} for {}: {} entries{flagged}",
                a.actor.as_deref().unwrap_or("(unknown actor)"),
                a.role,
                a.store.as_deref().unwrap_or("(no store named)"),
                a.purpose,
                a.entries
            )?;
        }
        writeln!(w, "\nNot covered by the notice:")?;
        if self.findings.is_empty() {
            writeln!(w, "  nothing: every capture of theirs is within the declared scope")?;
        }
        for f in &self.findings {
            let accepted = match &f.baseline {
                Some(b) => format!(" (accepted until {}: {})", b.expires, b.reason),
                None => String::new(),
            };
            writeln!(
                w,
                "  {} {} on {} {}: count {}{accepted}",
                f.severity.as_str(),
                f.rule,
                f.target.kind,
                f.target.id,
                f.count
            )?;
        }
        writeln!(
            w,
            "\n{} events of other people (or of no one) were evaluated and are not shown. Use --format json or html for the values.",
            s.other_events
        )?;
        Ok(())
    }
}
