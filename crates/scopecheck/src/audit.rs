//! The audit: streams observed input through the evaluator and aggregates hits into findings,
//! one per rule and target (field, store, role, source, subject kind).
//!
//! [`audit`] is the one entry point: it takes readers the caller opened (files, gzip, stdin,
//! a partition of a Spark job, test data) and returns the [`Report`]. [`Auditor`] is the same
//! thing a line at a time.
//!
//! Memory is bounded by the number of distinct findings and shapes, not by the number of
//! records or people: nothing per record is kept, and people are counted in bounded sketches
//! ([`crate::people`]).

use crate::error::{Error, ErrorKind, Location, Result};
use crate::eval::{Engine, EvalFailure, Evaluator, NO_STORE};
use crate::input::{DigestCell, DigestReader, Line, for_each_line};
use crate::observe::{Capture, parse_access, parse_capture};
use crate::people::{Concerned, People, Pseudonymizer, person_hash};
use crate::report::{
    Finding, FindingState, InputDigest, InputLocation, InputRole, MAX_EXAMPLES, PeopleMethod, Provenance, Rejected,
    Report, ScopeInfo, ScopeVersion, Stats, Summary, Timeline, ToolInfo, fingerprint,
};
use crate::rules::Fire;
use crate::target::{EvidenceKind, Target, TargetKind};
use chrono::{DateTime, FixedOffset};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::BufRead;
use std::sync::Arc;

pub use crate::report::MAX_LISTED_REJECTIONS;

mod parallel;
pub use parallel::{BATCH_BYTES, BATCH_LINES, Split, audit_parallel};

/// A file of input, by index.
pub type FileId = usize;

/// How an audit runs (beyond the engine's options).
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// Stop at the first malformed line instead of rejecting it and going on.
    pub strict: bool,
    /// Show keyed pseudonyms of the people each finding concerns.
    pub pseudonyms: Option<Pseudonymizer>,
}

/// What an input file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// Captured events (JSONL).
    Captures,
    /// An access log (JSONL).
    Access,
}

/// One input to [`audit`].
pub struct Input<'a> {
    /// Its name in messages and reports.
    pub name: String,
    /// What it holds.
    pub kind: InputKind,
    /// Its lines (already decompressed).
    pub reader: Box<dyn BufRead + 'a>,
    /// The digest of the file as stored, when the caller reads it through a [`DigestReader`]
    /// under a decompressor; without it, the bytes of `reader` are hashed.
    pub digest: Option<DigestCell>,
}

/// Audits `inputs` (captures and access logs, in order) with `engine`.
pub fn audit(engine: Arc<Engine>, inputs: Vec<Input<'_>>, options: AuditOptions) -> Result<Report> {
    let mut auditor = Auditor::new(engine, options)?;
    for input in inputs {
        auditor.read(input)?;
    }
    auditor.finish()
}

#[derive(Debug, Default)]
struct Acc {
    count: u64,
    categories: BTreeSet<String>,
    examples: BTreeSet<InputLocation>,
    state: FindingState,
    details: BTreeMap<String, BTreeSet<String>>,
    /// The scope versions whose events made it (indexes, oldest first).
    versions: BTreeSet<usize>,
}

impl Acc {
    fn example(&mut self, at: &InputLocation) {
        if self.examples.len() < MAX_EXAMPLES || self.examples.last().is_some_and(|l| at < l) {
            self.examples.insert(at.clone());
            if self.examples.len() > MAX_EXAMPLES {
                self.examples.pop_last();
            }
        }
    }
}

/// A person met in an event: counted by hash; named only when the report may show it.
struct Person<'a> {
    hash: u64,
    pseudonym: Option<String>,
    id: Option<&'a str>,
}

#[derive(Debug, Default)]
struct StoreAcc {
    events: u64,
    people: People,
}

/// Streams captures and access entries, then builds the report.
///
/// One auditor judges by one scope, or by a history of versions of one program's scope
/// ([`Auditor::with_history`]): each event and access entry by the version in force at its `ts`.
#[derive(Debug)]
pub struct Auditor {
    /// One evaluator per scope version before the newest, oldest first.
    older: Vec<Evaluator>,
    /// The newest scope version's evaluator (version `older.len()`).
    newest: Evaluator,
    /// When each version took effect.
    starts: Vec<Option<DateTime<FixedOffset>>>,
    options: AuditOptions,
    files: Vec<(String, InputKind)>,
    digests: Vec<InputDigest>,
    acc: HashMap<(usize, Target), Acc>,
    /// Events per (scope version, store).
    stores: BTreeMap<(usize, String), StoreAcc>,
    summary: Summary,
    rejected: BTreeSet<Rejected>,
    timeline: Timeline,
    /// Ground truth the audit is scored against (`--labels`).
    scorer: Option<crate::labels::Scorer>,
    /// The one person a subject access report follows (`--person`).
    tracker: Option<crate::person::Tracker>,
}

impl Auditor {
    /// A new audit over this engine.
    pub fn new(engine: Arc<Engine>, options: AuditOptions) -> Result<Self> {
        Self::with_history(vec![engine], options)
    }

    /// A new audit over several versions of one program's scope (engines alike in everything
    /// else: rules, detectors, store inventory, options). Each event and access entry is judged by
    /// the version in force at its `ts`: the latest whose `effective_from` is not after it, or the
    /// oldest, for an event older than every version (which that version reports as
    /// `before-notice`). Whole stores no event reached are judged by the newest version. With more
    /// than one version, each must have its own `effective_from`.
    pub fn with_history(engines: Vec<Arc<Engine>>, options: AuditOptions) -> Result<Self> {
        let mut engines = order_history(engines)?;
        let Some(newest) = engines.pop() else {
            return Err(Error::new(ErrorKind::Scope, Location::file("--scope"), "no scope given")
                .with_help("pass the declared scope with `--scope scope.yaml`"));
        };
        let timeline = Timeline::new(newest.scope.windows.as_ref());
        let starts = engines.iter().chain([&newest]).map(|e| e.scope.effective_from).collect();
        Ok(Auditor {
            older: engines.into_iter().map(Evaluator::new).collect::<Result<Vec<_>>>()?,
            newest: Evaluator::new(newest)?,
            starts,
            options,
            files: Vec::new(),
            digests: Vec::new(),
            acc: HashMap::new(),
            stores: BTreeMap::new(),
            summary: Summary::default(),
            rejected: BTreeSet::new(),
            timeline,
            scorer: None,
            tracker: None,
        })
    }

    /// Scores the audit, event by event and finding by finding, against these labels.
    pub fn score_against(&mut self, labels: crate::labels::Scorer) {
        self.scorer = Some(labels);
    }

    /// Also follows the person whose `subject` is `id`, for [`Auditor::finish_with_person`].
    pub fn track_person(&mut self, id: &str) {
        self.tracker = Some(crate::person::Tracker::new(id, self.newest.engine()));
    }

    /// The evaluator of the newest scope version (to read its statistics).
    pub fn evaluator_mut(&mut self) -> &mut Evaluator {
        &mut self.newest
    }

    /// Turns the evaluators' decision caches on or off (off: every request goes to Cedar; for
    /// benchmarks and the tests that hold the cached path to the uncached one).
    pub fn set_decision_cache(&mut self, on: bool) {
        for e in self.older.iter_mut().chain([&mut self.newest]) {
            e.set_decision_cache(on);
        }
    }

    /// Turns the evaluators' value caches on or off (off: every value is scanned; for benchmarks
    /// and the tests that hold the cached path to the uncached one).
    pub fn set_value_cache(&mut self, on: bool) {
        for e in self.older.iter_mut().chain([&mut self.newest]) {
            e.set_value_cache(on);
        }
    }

    /// The engine of the newest scope version.
    pub fn engine(&self) -> &Arc<Engine> {
        self.newest.engine()
    }

    /// The evaluator of scope version `v` (the newest for an index past the older ones).
    fn eval(&self, v: usize) -> &Evaluator {
        self.older.get(v).unwrap_or(&self.newest)
    }

    fn eval_mut(&mut self, v: usize) -> &mut Evaluator {
        match self.older.get_mut(v) {
            Some(e) => e,
            None => &mut self.newest,
        }
    }

    /// The scope version in force at `ts`.
    fn version_at(&self, ts: &DateTime<FixedOffset>) -> usize {
        self.starts.iter().rposition(|s| s.is_none_or(|s| s <= *ts)).unwrap_or(0)
    }

    /// Registers an input file; lines are reported against its name.
    pub fn add_file(&mut self, name: &str, kind: InputKind) -> FileId {
        self.files.push((name.to_string(), kind));
        self.files.len() - 1
    }

    /// Records the digest of an input file for the report's provenance.
    pub fn add_digest(&mut self, file: FileId, sha256: String, bytes: u64) {
        let Some((name, kind)) = self.files.get(file) else { return };
        let role = match kind {
            InputKind::Captures => InputRole::Captures,
            InputKind::Access => InputRole::Access,
        };
        self.digests.push(InputDigest { role, file: name.clone(), sha256, bytes });
    }

    fn file(&self, id: FileId) -> &str {
        self.files.get(id).map_or("<input>", |(n, _)| n.as_str())
    }

    /// Reads one whole input, line by line.
    pub fn read(&mut self, input: Input<'_>) -> Result<()> {
        let Input { name, kind, reader, digest } = input;
        let file = self.add_file(&name, kind);
        let (mut reader, cell): (Box<dyn BufRead + '_>, DigestCell) = match digest {
            Some(cell) => (reader, cell),
            None => {
                let (r, cell) = DigestReader::new(reader);
                (Box::new(r), cell)
            }
        };
        for_each_line(&name, &mut reader, |n, line| match line {
            Line::Text(t) => match kind {
                InputKind::Captures => self.capture_line(file, n, t),
                InputKind::Access => self.access_line(file, n, t),
            },
            Line::Bad(reason) => self.reject(file, n, reason, kind == InputKind::Access),
        })?;
        let (sha256, bytes) = cell.finish();
        self.add_digest(file, sha256, bytes);
        Ok(())
    }

    /// A line of input that could not even be read as text (not UTF-8, too long): counted as
    /// read and rejected. Errors only in strict mode.
    pub fn reject(&mut self, file: FileId, line: u64, reason: String, access: bool) -> Result<()> {
        if access {
            self.summary.access_read += 1;
        } else {
            self.summary.records_read += 1;
        }
        self.record_rejection(file, line, reason, access)
    }

    fn record_rejection(&mut self, file: FileId, line: u64, reason: String, access: bool) -> Result<()> {
        if self.options.strict {
            return Err(Error::new(
                ErrorKind::Input,
                Location { file: self.file(file).to_string(), line: usize::try_from(line).ok(), column: None },
                format!("malformed line: {reason}"),
            )
            .with_help("fix or remove the line, or run without --strict to reject it and go on"));
        }
        if access {
            self.summary.access_rejected += 1;
        } else {
            self.summary.records_rejected += 1;
        }
        // The first rejections in file and line order are listed, whatever order they came in.
        let r = Rejected { file: self.file(file).to_string(), line, reason };
        if self.rejected.len() < MAX_LISTED_REJECTIONS || self.rejected.last().is_some_and(|l| r < *l) {
            self.rejected.insert(r);
            if self.rejected.len() > MAX_LISTED_REJECTIONS {
                self.rejected.pop_last();
            }
        }
        Ok(())
    }

    /// The finding of `rule` on `target`, made (also) by scope version `version`'s input.
    fn acc(&mut self, rule: usize, target: Target, version: usize) -> &mut Acc {
        let max_evidence = self.newest.engine().options.max_evidence;
        let acc = self.acc.entry((rule, target)).or_default();
        acc.state.max_evidence = max_evidence;
        acc.versions.insert(version);
        acc
    }

    /// One line of a capture file (1-based `line`). Blank lines are not records.
    /// Errors only when scopecheck itself cannot go on (or, in strict mode, on a bad line).
    pub fn capture_line(&mut self, file: FileId, line: u64, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Ok(());
        }
        match parse_capture(text) {
            Ok(cap) => self.capture(file, line, &cap, |_, _| {}).map(|_| ()),
            Err(r) => {
                self.summary.records_read += 1;
                self.record_rejection(file, line, r.reason, false)
            }
        }
    }

    /// One event already parsed (line `line` of `file`), so that several auditors can judge one
    /// reading of the input (`simulate`). `on_hits` sees the event's findings and the engine of
    /// the scope version that judged it before they are added to the report. Returns false when
    /// the event was rejected (counted and listed) instead of evaluated.
    pub fn capture(
        &mut self,
        file: FileId,
        line: u64,
        cap: &Capture<'_>,
        on_hits: impl FnOnce(&[crate::eval::Hit], &Engine),
    ) -> Result<bool> {
        self.summary.records_read += 1;
        let v = self.version_at(&cap.ts);
        // The followed person's events are evaluated with their fields observed.
        let mine = self.tracker.as_ref().is_some_and(|t| t.is(cap.subject.as_deref()));
        let eval = self.eval_mut(v);
        if mine {
            eval.set_field_observations(true);
        }
        let outcome = eval.evaluate(cap);
        if mine {
            eval.set_field_observations(false);
        }
        let outcome = match outcome {
            Ok(o) => o,
            Err(EvalFailure::Rejected(r)) => {
                if let (true, Some(t)) = (mine, &mut self.tracker) {
                    t.not_evaluated();
                }
                self.record_rejection(file, line, r.reason, false)?;
                return Ok(false);
            }
            Err(EvalFailure::Error(e)) => return Err(e),
        };
        on_hits(&outcome.hits, self.eval(v).engine());
        self.summary.records_evaluated += 1;
        if let (true, Some(t)) = (mine, &mut self.tracker) {
            let at = InputLocation::line(self.files.get(file).map_or("<input>", |(n, _)| n.as_str()), line);
            t.capture(cap, &outcome, &at);
        }
        self.timeline.record(&cap.ts, !outcome.hits.is_empty());
        let show = self.newest.engine().options.show_evidence;
        let person = cap.subject.as_deref().map(|id| Person {
            hash: person_hash(id),
            pseudonym: None,
            id: if show { Some(id) } else { None },
        });
        match &person {
            Some(p) => self.summary.captured.insert(p.hash),
            None => self.summary.records_without_subject += 1,
        }
        if cap.subject_kind.is_none() {
            self.summary.records_without_subject_kind += 1;
        }
        let store = self.stores.entry((v, outcome.store.clone())).or_default();
        store.events += 1;
        if let Some(p) = &person {
            store.people.insert(p.hash);
        }
        if let Some(scorer) = &mut self.scorer {
            let rules = &self.newest.engine().rules;
            let name = self.files.get(file).map_or("<input>", |(n, _)| n.as_str());
            scorer.line(
                name,
                line,
                outcome.hits.iter().filter_map(|h| Some((rules.rule(h.rule)?.id.as_str(), &h.target))),
            );
        }
        if outcome.hits.is_empty() {
            return Ok(true);
        }
        // A keyed pseudonym costs an HMAC: only for events that concern a finding.
        let person = person.map(|mut p| {
            if let (Some(k), Some(id)) = (&self.options.pseudonyms, cap.subject.as_deref()) {
                p.pseudonym = Some(k.pseudonym(id));
            }
            p
        });
        let at = InputLocation::line(self.file(file), line);
        for hit in outcome.hits {
            let acc = self.acc(hit.rule, hit.target, v);
            acc.count += 1;
            acc.categories.extend(hit.categories);
            acc.state.seen(&cap.ts, &cap.ts_text);
            acc.example(&at);
            for e in &hit.evidence {
                acc.state.evidence(Some(&at), e);
            }
            let concerned = acc.state.concerned.get_or_insert_with(Concerned::default);
            if let Some(p) = &person {
                concerned.add(p.hash, p.pseudonym.as_deref(), p.id);
            }
        }
        Ok(true)
    }

    /// One line of an access log.
    pub fn access_line(&mut self, file: FileId, line: u64, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Ok(());
        }
        match parse_access(text) {
            Ok(a) => self.access(file, line, &a),
            Err(r) => {
                self.summary.access_read += 1;
                self.record_rejection(file, line, r.reason, true)
            }
        }
    }

    /// One access entry already parsed (line `line` of `file`).
    pub fn access(&mut self, file: FileId, line: u64, access: &crate::observe::Access) -> Result<()> {
        self.summary.access_read += 1;
        let v = self.version_at(&access.ts);
        let hits = self.eval_mut(v).evaluate_access(access)?;
        self.summary.access_evaluated += 1;
        let at = InputLocation::line(self.file(file), line);
        let e = &access.entry;
        let mut by_fire: BTreeMap<(Fire, Target), Vec<String>> = BTreeMap::new();
        for (fire, path) in hits {
            let target = match fire.target {
                TargetKind::Policy => {
                    self.eval(v).failure_parts(&fire).map_or_else(|| Target::role(e.role.clone()), |p| p.0)
                }
                TargetKind::Field => Target::field(path.clone()),
                TargetKind::Store => Target::store(e.store.as_deref().unwrap_or(NO_STORE)),
                _ => Target::role(e.role.clone()),
            };
            by_fire.entry((fire, target)).or_default().push(path);
        }
        if let Some(scorer) = &mut self.scorer {
            let rules = &self.newest.engine().rules;
            let name = self.files.get(file).map_or("<input>", |(n, _)| n.as_str());
            scorer.line(name, line, by_fire.keys().filter_map(|(f, t)| Some((rules.rule(f.rule)?.id.as_str(), t))));
        }
        if let Some(t) = &mut self.tracker {
            t.access(access, &at, &by_fire);
        }
        for ((fire, target), paths) in by_fire {
            let actor = e.actor.as_deref().unwrap_or("(unknown actor)");
            let evidence = match fire.evidence {
                EvidenceKind::PolicyError => self.eval(v).failure_parts(&fire).map(|p| p.1),
                EvidenceKind::Access => Some(format!("{actor} read {} for {}", paths.join(", "), e.purpose)),
                _ => None,
            };
            let acc = self.acc(fire.rule, target, v);
            acc.count += 1;
            acc.state.seen(&access.ts, &e.ts);
            acc.example(&at);
            if let Some(evidence) = evidence {
                acc.state.evidence(Some(&at), &evidence);
            }
            acc.details.entry("purposes".into()).or_default().insert(e.purpose.clone());
            acc.details.entry("fields".into()).or_default().extend(paths);
            if let Some(s) = &e.store {
                acc.details.entry("stores".into()).or_default().insert(s.clone());
            }
        }
        Ok(())
    }

    /// The store as observed and as declared by scope version `v` (evidence of store findings).
    /// Nothing in it depends on which part of the input was read, so partial reports merge.
    fn describe_store(&self, v: usize, id: &str) -> String {
        let engine = self.eval(v).engine();
        let decl = engine.scope.store(id);
        let obs = engine.inventory.get(id);
        let mut parts = Vec::new();
        match obs {
            Some(o) => parts.push(format!(
                "observed: encryption {}, retention {}",
                o.encryption.map_or("unknown", |e| e.as_str()),
                o.retention_days.map_or("unknown".to_string(), |d| format!("{d} days"))
            )),
            None => parts.push("not in the store inventory".to_string()),
        }
        match decl {
            Some(d) => parts.push(format!(
                "declared: encryption {}, retention {}",
                d.encryption.map_or("unspecified".to_string(), |e| format!("{:?}", e).to_lowercase()),
                d.retention_days.map_or("unspecified".to_string(), |d| format!("{d} days"))
            )),
            None => parts.push("not declared in the scope".to_string()),
        }
        parts.join("; ")
    }

    /// Decides stores and retention, and builds the report.
    pub fn finish(self) -> Result<Report> {
        self.finish_with_person().map(|(report, _)| report)
    }

    /// [`Auditor::finish`], and the subject access report of the person followed
    /// ([`Auditor::track_person`]), if any.
    pub fn finish_with_person(mut self) -> Result<(Report, Option<crate::person::PersonReport>)> {
        let versions = self.starts.len();
        // Retention of each field in each store that holds it, by the version its events were
        // judged by (decided when first met).
        for v in 0..versions {
            self.finish_kept(v);
        }
        // Each store as a whole: by every version whose events reached it, and, when no event
        // reached it (a store only declared or in the inventory), by the newest version.
        let newest = versions.saturating_sub(1);
        let mut judged: BTreeSet<(usize, String)> =
            self.stores.keys().filter(|(_, s)| s.as_str() != NO_STORE).cloned().collect();
        for store in self.newest.known_stores() {
            if !judged.iter().any(|(_, s)| *s == store) {
                judged.insert((newest, store));
            }
        }
        // A store rule that also fired on captures (or kept fields) has counted their events already.
        let from_events: HashSet<(usize, Target)> =
            self.acc.iter().filter(|(_, a)| a.state.concerned.is_some()).map(|(k, _)| k.clone()).collect();
        for (v, store) in judged {
            self.finish_store(v, &store, &from_events)?;
        }
        self.summary.stores_observed = self.newest.engine().inventory.len() as u64;
        let engine = Arc::clone(self.newest.engine());
        let tracker = self.tracker.take();
        let scorer = self.scorer.take();
        let pseudonyms = self.options.pseudonyms.clone();
        let mut report = self.build()?;
        report.score = scorer.map(|s| s.finish(&report.findings));
        let person = tracker.map(|t| {
            let mut p = t.report(&engine, &report);
            p.person.pseudonym = pseudonyms.map(|k| k.pseudonym(&p.person.subject));
            p
        });
        Ok((report, person))
    }

    /// Retention findings of the fields scope version `v`'s events kept.
    fn finish_kept(&mut self, v: usize) {
        for kept in self.eval(v).kept_fields() {
            for fire in kept.fires.iter() {
                let eval = self.eval(v);
                let engine = eval.engine();
                let failure = eval.failure_parts(fire);
                let evidence = (fire.evidence == EvidenceKind::Retention).then(|| {
                    let field_days = engine
                        .scope
                        .declaration_for(&kept.path)
                        .and_then(|i| engine.scope.raw.collect.get(i))
                        .and_then(|c| c.retention_days);
                    let store_days = engine.inventory.get(&kept.store).and_then(|s| s.retention_days);
                    format!(
                        "store {} keeps {} days; the field promises {} days",
                        kept.store,
                        store_days.map_or("?".into(), |d| d.to_string()),
                        field_days.map_or("?".into(), |d| d.to_string())
                    )
                });
                let (target, evidence) = match (fire.target, failure) {
                    (_, Some((t, e))) => (t, Some(e)),
                    (TargetKind::Store, None) => (Target::store(kept.store.clone()), evidence),
                    (_, None) => (Target::field(kept.path.clone()), evidence),
                };
                // Where the broken promise is written: the field's declaration (or the store's).
                let promise = match target.kind {
                    TargetKind::Field => engine
                        .scope
                        .declaration_for(&kept.path)
                        .and_then(|i| engine.scope.lines.collect.get(i).copied().flatten()),
                    TargetKind::Store => engine.scope.lines.stores.get(&kept.store).copied(),
                    _ => None,
                };
                let scope_file = engine.scope.file.clone();
                if let Some(t) = &mut self.tracker {
                    t.kept(fire.rule, &target, &kept.path, &kept.store, evidence.as_deref());
                }
                let acc = self.acc(fire.rule, target, v);
                if let Some((line, column)) = promise {
                    acc.example(&InputLocation { file: scope_file, line, column: Some(column) });
                }
                acc.count += kept.events;
                if let Some(e) = evidence {
                    acc.state.evidence(None, &e);
                }
                acc.details.entry("stores".into()).or_default().insert(kept.store.clone());
                if let Some(p) = &kept.people {
                    acc.state.concerned.get_or_insert_with(Concerned::default).people.merge(p);
                }
            }
        }
    }

    /// Findings on `store` as a whole, judged by scope version `v` over the events that version
    /// judged.
    fn finish_store(&mut self, v: usize, store: &str, from_events: &HashSet<(usize, Target)>) -> Result<()> {
        let (events, people) =
            self.stores.get(&(v, store.to_string())).map_or((0, People::default()), |s| (s.events, s.people.clone()));
        let fires = self.eval_mut(v).evaluate_inventory(store, events)?;
        for fire in fires.iter() {
            let (target, evidence) = match self.eval(v).failure_parts(fire) {
                Some((t, e)) => (t, Some(e)),
                None => (
                    Target::store(store),
                    (fire.evidence == EvidenceKind::StoreState).then(|| self.describe_store(v, store)),
                ),
            };
            // A finding on the store alone points at the store's declaration in the scope.
            let engine = Arc::clone(self.eval(v).engine());
            let promise =
                (target.kind == TargetKind::Store).then(|| engine.scope.lines.stores.get(store).copied()).flatten();
            if let Some(t) = &mut self.tracker {
                t.store(fire.rule, &target, store, evidence.as_deref());
            }
            let counted = from_events.contains(&(fire.rule, target.clone()));
            let acc = self.acc(fire.rule, target, v);
            if let (Some((line, column)), true) = (promise, acc.examples.is_empty()) {
                acc.example(&InputLocation { file: engine.scope.file.clone(), line, column: Some(column) });
            }
            if !counted {
                acc.count += events;
                acc.state.concerned.get_or_insert_with(Concerned::default).people.merge(&people);
            }
            if let Some(e) = evidence {
                acc.state.evidence(None, &e);
            }
        }
        Ok(())
    }

    fn build(self) -> Result<Report> {
        let engine = Arc::clone(self.newest.engine());
        let program = engine.scope.raw.program.clone();
        // With a history, each finding names the versions that made it.
        let labels: Vec<String> = if self.older.is_empty() {
            Vec::new()
        } else {
            self.older.iter().chain([&self.newest]).map(|e| e.engine().scope.version_label()).collect()
        };
        let history: Vec<ScopeVersion> = if self.older.is_empty() {
            Vec::new()
        } else {
            self.older
                .iter()
                .chain([&self.newest])
                .map(|e| ScopeVersion {
                    version: e.engine().scope.version_label(),
                    file: e.engine().scope.file.clone(),
                    effective_from: e.engine().scope.effective_from.map(|t| t.to_rfc3339()),
                })
                .collect()
        };
        let mut findings = Vec::with_capacity(self.acc.len());
        for ((rule, target), acc) in self.acc {
            let Some(meta) = engine.rules.rule(rule) else { continue };
            let category = acc
                .categories
                .iter()
                .max_by_key(|c| (engine.taxonomy.sensitivity(c), std::cmp::Reverse(c.as_str())))
                .cloned();
            let mut state = acc.state;
            state.sensitivity = category.as_deref().map_or(0, |c| engine.taxonomy.sensitivity(c));
            let (field, store, role) = match target.kind {
                TargetKind::Field => (Some(target.id.clone()), None, None),
                TargetKind::Store => (None, Some(target.id.clone()), None),
                TargetKind::Role => (None, None, Some(target.id.clone())),
                _ => (None, None, None),
            };
            let mut f = Finding {
                fingerprint: fingerprint(&program, &meta.id, &target),
                rule: meta.id.clone(),
                severity: meta.severity,
                title: meta.title.clone(),
                target,
                field,
                store,
                role,
                category,
                categories: acc.categories.into_iter().collect(),
                count: acc.count,
                people_affected: None,
                people_affected_exact: None,
                pseudonyms: Vec::new(),
                subjects: Vec::new(),
                first_seen: None,
                last_seen: None,
                examples: acc.examples.into_iter().collect(),
                evidence: Vec::new(),
                details: acc.details.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect(),
                help: meta.help.clone(),
                reference: meta.reference.clone(),
                scope_versions: acc.versions.iter().filter_map(|v| labels.get(*v).cloned()).collect(),
                baseline: None,
                baselined: false,
                state,
            };
            f.settle();
            findings.push(f);
        }
        let mut summary = self.summary;
        summary.files = self.files.iter().filter(|(_, k)| *k == InputKind::Captures).map(|(n, _)| n.clone()).collect();
        let mut inputs = engine.inputs.clone();
        inputs.extend(self.digests);
        let mut report = Report {
            tool: ToolInfo::current(engine.options.show_evidence),
            scope: ScopeInfo {
                program,
                version: engine.scope.raw.version.clone(),
                notice: engine.scope.raw.notice.clone(),
                file: engine.scope.file.clone(),
                history,
            },
            provenance: Provenance {
                scopecheck_version: env!("CARGO_PKG_VERSION").to_string(),
                rules_sha256: engine.rules_sha256.clone(),
                inputs,
            },
            people: PeopleMethod::current(),
            summary,
            findings,
            rejected: self.rejected.into_iter().collect(),
            warnings: Vec::new(),
            baseline: None,
            score: None,
            timeline: self.timeline,
            stats: Stats { cedar_calls: self.older.iter().chain([&self.newest]).map(Evaluator::cedar_calls).sum() },
            rules: engine.rules.rules().to_vec(),
            scope_text: None,
            policy_sources: engine.rules.sources().to_vec(),
        };
        report.settle();
        Ok(report)
    }
}

/// Orders scope versions by `effective_from` and checks they make one history: one program, the
/// same rules, each version (when there are several) with its own `effective_from`.
fn order_history(mut engines: Vec<Arc<Engine>>) -> Result<Vec<Arc<Engine>>> {
    if engines.len() < 2 {
        return Ok(engines);
    }
    // Errors point at the version's `effective_from:` where it has one.
    let scope_err = |e: &Engine, msg: String, help: &str| {
        let at = e.scope.lines.effective_from;
        let location = Location {
            file: e.scope.file.clone(),
            line: at.and_then(|(l, _)| usize::try_from(l).ok()),
            column: at.and_then(|(_, c)| usize::try_from(c).ok()),
        };
        Error::new(ErrorKind::Scope, location, msg).with_help(help.to_string())
    };
    if let Some(e) = engines.iter().find(|e| e.scope.effective_from.is_none()) {
        return Err(scope_err(
            e,
            format!("`--scope` is given {} times, and this version has no `effective_from`", engines.len()),
            "say when each version took effect (`effective_from: 2026-03-01`), or give one scope",
        ));
    }
    engines.sort_by_key(|e| e.scope.effective_from);
    for pair in engines.windows(2) {
        let (Some(a), Some(b)) = (pair.first(), pair.get(1)) else { continue };
        if a.scope.raw.program != b.scope.raw.program {
            return Err(Error::new(
                ErrorKind::Scope,
                Location::file(&b.scope.file),
                format!(
                    "this scope is for program \"{}\" but {} is for \"{}\"; the versions of a history are of one program",
                    b.scope.raw.program, a.scope.file, a.scope.raw.program
                ),
            )
            .with_help("audit each program with its own scopes"));
        }
        if a.scope.effective_from == b.scope.effective_from {
            return Err(scope_err(
                b,
                format!("this version takes effect at the same time as {}", a.scope.file),
                "give each version its own `effective_from`",
            ));
        }
        if a.rules_sha256 != b.rules_sha256 {
            return Err(Error::internal("the scope versions of a history were given different rules"));
        }
    }
    let mut labels: BTreeMap<String, &str> = BTreeMap::new();
    for e in &engines {
        if let Some(first) = labels.insert(e.scope.version_label(), &e.scope.file) {
            return Err(Error::new(
                ErrorKind::Scope,
                Location::file(&e.scope.file),
                format!("this version has the same `version` as {first} ({})", e.scope.version_label()),
            )
            .with_help("give each version its own `version`, so findings can say which one decided them"));
        }
    }
    Ok(engines)
}
