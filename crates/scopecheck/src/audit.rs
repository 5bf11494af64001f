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
use crate::observe::{parse_access, parse_capture};
use crate::people::{Concerned, People, Pseudonymizer, person_hash};
use crate::report::{
    Finding, FindingState, InputDigest, InputLocation, InputRole, MAX_EXAMPLES, PeopleMethod, Provenance, Rejected,
    Report, ScopeInfo, Stats, Summary, Timeline, ToolInfo, fingerprint,
};
use crate::rules::Fire;
use crate::target::{EvidenceKind, Target, TargetKind};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::BufRead;
use std::sync::Arc;

pub use crate::report::MAX_LISTED_REJECTIONS;

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
#[derive(Debug)]
pub struct Auditor {
    eval: Evaluator,
    options: AuditOptions,
    files: Vec<(String, InputKind)>,
    digests: Vec<InputDigest>,
    acc: HashMap<(usize, Target), Acc>,
    stores: BTreeMap<String, StoreAcc>,
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
        let timeline = Timeline::new(engine.scope.windows.as_ref());
        Ok(Auditor {
            eval: Evaluator::new(engine)?,
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
        self.tracker = Some(crate::person::Tracker::new(id, self.eval.engine()));
    }

    /// The evaluator (to change its switches, or read its statistics).
    pub fn evaluator_mut(&mut self) -> &mut Evaluator {
        &mut self.eval
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

    fn acc(&mut self, rule: usize, target: Target) -> &mut Acc {
        let max_evidence = self.eval.engine().options.max_evidence;
        let acc = self.acc.entry((rule, target)).or_default();
        acc.state.max_evidence = max_evidence;
        acc
    }

    /// One line of a capture file (1-based `line`). Blank lines are not records.
    /// Errors only when scopecheck itself cannot go on (or, in strict mode, on a bad line).
    pub fn capture_line(&mut self, file: FileId, line: u64, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Ok(());
        }
        self.summary.records_read += 1;
        let cap = match parse_capture(text) {
            Ok(c) => c,
            Err(r) => return self.record_rejection(file, line, r.reason, false),
        };
        // The followed person's events are evaluated with their fields observed.
        let mine = self.tracker.as_ref().is_some_and(|t| t.is(cap.subject.as_deref()));
        if mine {
            self.eval.set_field_observations(true);
        }
        let outcome = self.eval.evaluate(&cap);
        if mine {
            self.eval.set_field_observations(false);
        }
        let outcome = match outcome {
            Ok(o) => o,
            Err(EvalFailure::Rejected(r)) => {
                if let (true, Some(t)) = (mine, &mut self.tracker) {
                    t.not_evaluated();
                }
                return self.record_rejection(file, line, r.reason, false);
            }
            Err(EvalFailure::Error(e)) => return Err(e),
        };
        self.summary.records_evaluated += 1;
        if let (true, Some(t)) = (mine, &mut self.tracker) {
            let at = InputLocation::line(self.files.get(file).map_or("<input>", |(n, _)| n.as_str()), line);
            t.capture(&cap, &outcome, &at);
        }
        self.timeline.record(&cap.ts, !outcome.hits.is_empty());
        let show = self.eval.engine().options.show_evidence;
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
        let store = self.stores.entry(outcome.store.clone()).or_default();
        store.events += 1;
        if let Some(p) = &person {
            store.people.insert(p.hash);
        }
        if let Some(scorer) = &mut self.scorer {
            let rules = &self.eval.engine().rules;
            let name = self.files.get(file).map_or("<input>", |(n, _)| n.as_str());
            scorer.line(
                name,
                line,
                outcome.hits.iter().filter_map(|h| Some((rules.rule(h.rule)?.id.as_str(), &h.target))),
            );
        }
        if outcome.hits.is_empty() {
            return Ok(());
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
            let acc = self.acc(hit.rule, hit.target);
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
        Ok(())
    }

    /// One line of an access log.
    pub fn access_line(&mut self, file: FileId, line: u64, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Ok(());
        }
        self.summary.access_read += 1;
        let access = match parse_access(text) {
            Ok(a) => a,
            Err(r) => return self.record_rejection(file, line, r.reason, true),
        };
        let hits = self.eval.evaluate_access(&access)?;
        self.summary.access_evaluated += 1;
        let at = InputLocation::line(self.file(file), line);
        let e = &access.entry;
        let mut by_fire: BTreeMap<(Fire, Target), Vec<String>> = BTreeMap::new();
        for (fire, path) in hits {
            let target = match fire.target {
                TargetKind::Policy => {
                    self.eval.failure_parts(&fire).map_or_else(|| Target::role(e.role.clone()), |p| p.0)
                }
                TargetKind::Field => Target::field(path.clone()),
                TargetKind::Store => Target::store(e.store.as_deref().unwrap_or(NO_STORE)),
                _ => Target::role(e.role.clone()),
            };
            by_fire.entry((fire, target)).or_default().push(path);
        }
        if let Some(scorer) = &mut self.scorer {
            let rules = &self.eval.engine().rules;
            let name = self.files.get(file).map_or("<input>", |(n, _)| n.as_str());
            scorer.line(name, line, by_fire.keys().filter_map(|(f, t)| Some((rules.rule(f.rule)?.id.as_str(), t))));
        }
        if let Some(t) = &mut self.tracker {
            t.access(&access, &at, &by_fire);
        }
        for ((fire, target), paths) in by_fire {
            let actor = e.actor.as_deref().unwrap_or("(unknown actor)");
            let evidence = match fire.evidence {
                EvidenceKind::PolicyError => self.eval.failure_parts(&fire).map(|p| p.1),
                EvidenceKind::Access => Some(format!("{actor} read {} for {}", paths.join(", "), e.purpose)),
                _ => None,
            };
            let acc = self.acc(fire.rule, target);
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

    /// The store as observed and as declared (evidence of store findings). Nothing in it
    /// depends on which part of the input was read, so partial reports merge.
    fn describe_store(&self, id: &str) -> String {
        let engine = self.eval.engine();
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
        // Retention of each field in each store that holds it (decided when first met).
        for kept in self.eval.kept_fields() {
            for fire in kept.fires.iter() {
                let engine = self.eval.engine();
                let failure = self.eval.failure_parts(fire);
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
                let acc = self.acc(fire.rule, target);
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
        // Each store as a whole.
        let mut stores = self.eval.known_stores();
        stores.extend(self.stores.keys().filter(|s| s.as_str() != NO_STORE).cloned());
        for store in stores {
            let (events, people) =
                self.stores.get(&store).map_or((0, People::default()), |s| (s.events, s.people.clone()));
            let fires = self.eval.evaluate_inventory(&store, events)?;
            for fire in fires.iter() {
                let (target, evidence) = match self.eval.failure_parts(fire) {
                    Some((t, e)) => (t, Some(e)),
                    None => (
                        Target::store(store.clone()),
                        (fire.evidence == EvidenceKind::StoreState).then(|| self.describe_store(&store)),
                    ),
                };
                // A finding on the store alone points at the store's declaration in the scope.
                let promise = (target.kind == TargetKind::Store)
                    .then(|| self.eval.engine().scope.lines.stores.get(&store).copied())
                    .flatten();
                let scope_file = self.eval.engine().scope.file.clone();
                if let Some(t) = &mut self.tracker {
                    t.store(fire.rule, &target, &store, evidence.as_deref());
                }
                let acc = self.acc(fire.rule, target);
                if let (Some((line, column)), true) = (promise, acc.examples.is_empty()) {
                    acc.example(&InputLocation { file: scope_file, line, column: Some(column) });
                }
                // A store rule that also fired on captures has counted their events already.
                if acc.state.concerned.is_none() {
                    acc.count += events;
                    acc.state.concerned = Some(Concerned { people: people.clone(), ..Concerned::default() });
                }
                if let Some(e) = evidence {
                    acc.state.evidence(None, &e);
                }
            }
        }
        self.summary.stores_observed = self.eval.engine().inventory.len() as u64;
        let engine = Arc::clone(self.eval.engine());
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

    fn build(self) -> Result<Report> {
        let engine = Arc::clone(self.eval.engine());
        let program = engine.scope.raw.program.clone();
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
            stats: Stats { cedar_calls: self.eval.cedar_calls() },
            rules: engine.rules.rules().to_vec(),
            scope_text: None,
            policy_sources: engine.rules.sources().to_vec(),
        };
        report.settle();
        Ok(report)
    }
}
