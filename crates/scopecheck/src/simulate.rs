//! What-if replay: recorded captures (and access logs, and the store inventory) judged under the
//! current configuration and a candidate one, read once.
//!
//! Each line is parsed once and the same parsed event is handed to two [`Auditor`]s, one per
//! side, so a simulation costs one reading and two decisions, less than two audits. The two
//! reports are then compared finding by finding, matched by fingerprint (program, rule and
//! target): a finding only the candidate makes is *added*, one only the current configuration makes
//! is *removed*, and one both make is *changed* when its severity, categories, count or people
//! differ (shown as `before` and `after`). For runtime enforcement, each event's decision
//! (allow, redact, deny) under each side's mode and `act_on` is compared, as `enforce` and the plugin
//! would make it.

use crate::audit::{AuditOptions, Auditor, FileId, InputKind};
use crate::decide::{DecideOptions, Verdict, verdict};
use crate::error::Result;
use crate::eval::Engine;
use crate::input::{DigestCell, DigestReader, Line, for_each_line};
use crate::observe::{parse_access, parse_capture};
use crate::people::{People, person_hash};
use crate::report::{Finding, InputLocation, MAX_EXAMPLES, Report, ScopeInfo, ToolInfo};
use crate::rules::Severity;
use crate::target::TargetKind;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::sync::Arc;

/// One side of a simulation: its scope versions (with the rules, detectors and inventory built
/// in) and how it would decide at runtime.
pub struct Side {
    /// The engines, one per scope version.
    pub engines: Vec<Arc<Engine>>,
    /// Mode and `act_on`, as `enforce` would use them.
    pub decide: DecideOptions,
}

/// A what-if replay in progress.
pub struct Simulation {
    current: Auditor,
    candidate: Auditor,
    decide: (DecideOptions, DecideOptions),
    files: Vec<String>,
    events: u64,
    transitions: BTreeMap<(Verdict, Verdict), TransitionAcc>,
}

#[derive(Default)]
struct TransitionAcc {
    events: u64,
    people: People,
    examples: BTreeSet<InputLocation>,
}

/// How a finding changed between the two sides.
#[derive(Debug, Clone, Serialize, PartialEq, JsonSchema)]
pub struct Change {
    /// The fingerprint both share.
    pub fingerprint: String,
    /// Rule id.
    pub rule: String,
    /// What it is about.
    pub target: crate::target::Target,
    /// What differs: `severity`, `categories`, `count`, `people`.
    pub changes: Vec<String>,
    /// Got more severe, or gained a category (what `--fail-on-new` holds against).
    pub worse: bool,
    /// The finding under the current configuration.
    pub before: Finding,
    /// The finding under the candidate.
    pub after: Finding,
}

/// Events whose runtime decision changes from one verdict to another.
#[derive(Debug, Clone, Serialize, PartialEq, JsonSchema)]
pub struct DecisionChange {
    /// The decision under the current configuration.
    pub from: Verdict,
    /// The decision under the candidate.
    pub to: Verdict,
    /// Events.
    pub events: u64,
    /// Distinct people among them (exact up to a bound, then estimated).
    pub people: u64,
    /// The first few, in file and line order.
    pub examples: Vec<InputLocation>,
}

/// Counts of one group of findings (a rule, a target kind, a severity).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, JsonSchema)]
pub struct DiffCounts {
    /// Findings only the candidate makes.
    pub added: u64,
    /// Findings only the current configuration makes.
    pub removed: u64,
    /// Findings both make, differently.
    pub changed: u64,
}

/// One side, as the report describes it.
#[derive(Debug, Clone, Serialize, PartialEq, JsonSchema)]
pub struct SideInfo {
    /// Its scope (the newest version, and its history if several).
    pub scope: ScopeInfo,
    /// sha256 of its rules.
    pub rules_sha256: String,
    /// Its runtime mode.
    pub mode: crate::decide::Mode,
    /// Its `act_on` threshold.
    pub act_on: Severity,
    /// Findings it makes.
    pub findings: u64,
}

/// The totals of a simulation.
#[derive(Debug, Clone, Default, Serialize, PartialEq, JsonSchema)]
pub struct SimSummary {
    /// Capture records read.
    pub records_read: u64,
    /// Records both sides evaluated or rejected alike (the parse is shared).
    pub records_evaluated: u64,
    /// Records rejected as unreadable (by both sides).
    pub records_rejected: u64,
    /// Access entries read.
    pub access_read: u64,
    /// Findings added.
    pub added: u64,
    /// Findings removed.
    pub removed: u64,
    /// Findings changed.
    pub changed: u64,
    /// Findings the same on both sides.
    pub unchanged: u64,
    /// Distinct people concerned by the added findings.
    pub people_added: u64,
    /// Distinct people concerned by the removed findings.
    pub people_removed: u64,
    /// Per rule id.
    pub by_rule: BTreeMap<String, DiffCounts>,
    /// Per target kind.
    pub by_target: BTreeMap<String, DiffCounts>,
    /// Per severity (the candidate's, for added and changed; the current one's for removed).
    pub by_severity: BTreeMap<Severity, DiffCounts>,
    /// Events decided at runtime (both sides).
    pub events_decided: u64,
    /// Events whose runtime decision changes.
    pub decisions_changed: u64,
}

/// What changes if the candidate ships.
#[derive(Debug, Clone, Serialize, PartialEq, JsonSchema)]
pub struct SimulationReport {
    /// Tool and evidence mode.
    pub tool: ToolInfo,
    /// The configuration in force.
    pub current: SideInfo,
    /// The configuration proposed.
    pub candidate: SideInfo,
    /// Totals.
    pub summary: SimSummary,
    /// Findings only the candidate makes, as in the audit report.
    pub added: Vec<Finding>,
    /// Findings only the current configuration makes.
    pub removed: Vec<Finding>,
    /// Findings both make, differently.
    pub changed: Vec<Change>,
    /// Runtime decisions that change, by transition (allow → redact, redact → deny, ...).
    pub decisions: Vec<DecisionChange>,
    /// The two audit reports (for printers that show one side; never serialized).
    #[serde(skip)]
    #[schemars(skip)]
    pub reports: Option<Box<(Report, Report)>>,
}

impl Simulation {
    /// A simulation of `candidate` against `current`.
    pub fn new(current: Side, candidate: Side, options: AuditOptions) -> Result<Simulation> {
        Ok(Simulation {
            current: Auditor::with_history(current.engines, options.clone())?,
            candidate: Auditor::with_history(candidate.engines, options)?,
            decide: (current.decide, candidate.decide),
            files: Vec::new(),
            events: 0,
            transitions: BTreeMap::new(),
        })
    }

    /// Registers an input file on both sides.
    pub fn add_file(&mut self, name: &str, kind: InputKind) -> FileId {
        self.current.add_file(name, kind);
        self.files.push(name.to_string());
        self.candidate.add_file(name, kind)
    }

    /// Records the digest of an input file.
    pub fn add_digest(&mut self, file: FileId, sha256: String, bytes: u64) {
        self.current.add_digest(file, sha256.clone(), bytes);
        self.candidate.add_digest(file, sha256, bytes);
    }

    /// Reads one whole input, line by line.
    pub fn read(
        &mut self,
        name: &str,
        kind: InputKind,
        reader: Box<dyn BufRead + '_>,
        digest: Option<DigestCell>,
    ) -> Result<()> {
        let file = self.add_file(name, kind);
        let (mut reader, cell): (Box<dyn BufRead + '_>, DigestCell) = match digest {
            Some(cell) => (reader, cell),
            None => {
                let (r, cell) = DigestReader::new(reader);
                (Box::new(r), cell)
            }
        };
        for_each_line(name, &mut reader, |n, line| self.line(file, kind, n, line))?;
        let (sha256, bytes) = cell.finish();
        self.add_digest(file, sha256, bytes);
        Ok(())
    }

    /// One line of input, as [`for_each_line`] gives it.
    pub fn line(&mut self, file: FileId, kind: InputKind, n: u64, line: Line<'_>) -> Result<()> {
        match (line, kind) {
            (Line::Text(t), InputKind::Captures) => self.capture_line(file, n, t),
            (Line::Text(t), InputKind::Access) => self.access_line(file, n, t),
            (Line::Bad(reason), kind) => {
                let access = kind == InputKind::Access;
                self.current.reject(file, n, reason.clone(), access)?;
                self.candidate.reject(file, n, reason, access)
            }
        }
    }

    /// One capture line: parsed once, judged by both sides.
    pub fn capture_line(&mut self, file: FileId, line: u64, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Ok(());
        }
        let cap = match parse_capture(text) {
            Ok(c) => c,
            Err(r) => {
                self.current.reject(file, line, r.reason.clone(), false)?;
                return self.candidate.reject(file, line, r.reason, false);
            }
        };
        let kinds = |hits: &[crate::eval::Hit], engine: &Engine| -> Vec<(TargetKind, Severity)> {
            hits.iter()
                .map(|h| (h.target.kind, engine.rules.rule(h.rule).map_or(Severity::Critical, |r| r.severity)))
                .collect()
        };
        let (cur_opts, cand_opts) = self.decide;
        // An event a side cannot evaluate (another program's, nested too deep) is denied there.
        let mut before = Verdict::Deny;
        self.current.capture(file, line, &cap, |hits, engine| before = verdict(kinds(hits, engine), &cur_opts))?;
        let mut after = Verdict::Deny;
        self.candidate.capture(file, line, &cap, |hits, engine| after = verdict(kinds(hits, engine), &cand_opts))?;
        self.events += 1;
        if before != after {
            let t = self.transitions.entry((before, after)).or_default();
            t.events += 1;
            if let Some(s) = cap.subject.as_deref() {
                t.people.insert(person_hash(s));
            }
            let at = InputLocation::line(self.files.get(file).map_or("<input>", String::as_str), line);
            if t.examples.len() < MAX_EXAMPLES || t.examples.last().is_some_and(|l| at < *l) {
                t.examples.insert(at);
                if t.examples.len() > MAX_EXAMPLES {
                    t.examples.pop_last();
                }
            }
        }
        Ok(())
    }

    /// One access-log line: parsed once, judged by both sides.
    pub fn access_line(&mut self, file: FileId, line: u64, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Ok(());
        }
        match parse_access(text) {
            Ok(a) => {
                self.current.access(file, line, &a)?;
                self.candidate.access(file, line, &a)
            }
            Err(r) => {
                self.current.reject(file, line, r.reason.clone(), true)?;
                self.candidate.reject(file, line, r.reason, true)
            }
        }
    }

    /// Decides the stores on both sides and compares.
    pub fn finish(self) -> Result<SimulationReport> {
        let (cur_opts, cand_opts) = self.decide;
        let before = self.current.finish()?;
        let after = self.candidate.finish()?;
        let decisions: Vec<DecisionChange> = self
            .transitions
            .into_iter()
            .map(|((from, to), t)| DecisionChange {
                from,
                to,
                events: t.events,
                people: t.people.count(),
                examples: t.examples.into_iter().collect(),
            })
            .collect();
        Ok(compare(before, after, (cur_opts, cand_opts), self.events, decisions))
    }
}

/// Compares two audit reports of the same input, finding by finding.
pub fn compare(
    before: Report,
    after: Report,
    decide: (DecideOptions, DecideOptions),
    events: u64,
    decisions: Vec<DecisionChange>,
) -> SimulationReport {
    let old: BTreeMap<&str, &Finding> = before.findings.iter().map(|f| (f.fingerprint.as_str(), f)).collect();
    let new: BTreeMap<&str, &Finding> = after.findings.iter().map(|f| (f.fingerprint.as_str(), f)).collect();
    let mut summary = SimSummary {
        records_read: after.summary.records_read,
        records_evaluated: after.summary.records_evaluated.min(before.summary.records_evaluated),
        records_rejected: after.summary.records_rejected.max(before.summary.records_rejected),
        access_read: after.summary.access_read,
        events_decided: events,
        decisions_changed: decisions.iter().map(|d| d.events).sum(),
        ..SimSummary::default()
    };
    let mut added = Vec::new();
    let mut removed = Vec::new();
    let mut changed = Vec::new();
    let (mut people_added, mut people_removed) = (People::default(), People::default());
    let count = |s: &mut SimSummary, f: &Finding, sev: Severity, what: fn(&mut DiffCounts)| {
        what(s.by_rule.entry(f.rule.clone()).or_default());
        what(s.by_target.entry(f.target.kind.as_str().to_string()).or_default());
        what(s.by_severity.entry(sev).or_default());
    };
    for f in &after.findings {
        match old.get(f.fingerprint.as_str()) {
            None => {
                count(&mut summary, f, f.severity, |c| c.added += 1);
                if let Some(c) = &f.state.concerned {
                    people_added.merge(&c.people);
                }
                added.push(f.clone());
            }
            Some(b) => match differences(b, f) {
                d if d.is_empty() => summary.unchanged += 1,
                d => {
                    count(&mut summary, f, f.severity, |c| c.changed += 1);
                    let gained = f.categories.iter().any(|c| !b.categories.contains(c));
                    changed.push(Change {
                        fingerprint: f.fingerprint.clone(),
                        rule: f.rule.clone(),
                        target: f.target.clone(),
                        changes: d,
                        worse: f.severity > b.severity || gained,
                        before: (*b).clone(),
                        after: f.clone(),
                    });
                }
            },
        }
    }
    for f in &before.findings {
        if !new.contains_key(f.fingerprint.as_str()) {
            count(&mut summary, f, f.severity, |c| c.removed += 1);
            if let Some(c) = &f.state.concerned {
                people_removed.merge(&c.people);
            }
            removed.push(f.clone());
        }
    }
    summary.added = added.len() as u64;
    summary.removed = removed.len() as u64;
    summary.changed = changed.len() as u64;
    summary.people_added = people_added.count();
    summary.people_removed = people_removed.count();
    let side = |r: &Report, d: DecideOptions| SideInfo {
        scope: r.scope.clone(),
        rules_sha256: r.provenance.rules_sha256.clone(),
        mode: d.mode,
        act_on: d.act_on,
        findings: r.findings.len() as u64,
    };
    let mut tool = after.tool.clone();
    if before.tool.evidence == crate::report::EvidenceMode::Shown {
        tool.evidence = crate::report::EvidenceMode::Shown;
    }
    SimulationReport {
        tool,
        current: side(&before, decide.0),
        candidate: side(&after, decide.1),
        summary,
        added,
        removed,
        changed,
        decisions,
        reports: Some(Box::new((before, after))),
    }
}

/// What differs between two findings with one fingerprint.
fn differences(a: &Finding, b: &Finding) -> Vec<String> {
    let mut d = Vec::new();
    if a.severity != b.severity {
        d.push("severity".to_string());
    }
    if a.categories != b.categories {
        d.push("categories".to_string());
    }
    if a.count != b.count {
        d.push("count".to_string());
    }
    if a.people_affected != b.people_affected {
        d.push("people".to_string());
    }
    d
}

impl SimulationReport {
    /// Added findings at or above `s`, and changed ones that got more severe or gained a
    /// category and are at or above it (the `--fail-on-new` gate).
    pub fn new_at_or_above(&self, s: Severity) -> usize {
        self.added.iter().filter(|f| f.severity >= s).count()
            + self.changed.iter().filter(|c| c.worse && c.after.severity >= s).count()
    }

    /// The candidate's audit report holding only what the gate holds against: added findings and
    /// changed ones that got worse (for SARIF, so code scanning annotates what the change brings).
    pub fn new_findings_report(&self) -> Option<Report> {
        let (_, after) = self.reports.as_deref()?;
        let mut r = after.clone();
        let keep: BTreeSet<&str> = self
            .added
            .iter()
            .map(|f| f.fingerprint.as_str())
            .chain(self.changed.iter().filter(|c| c.worse).map(|c| c.fingerprint.as_str()))
            .collect();
        r.findings.retain(|f| keep.contains(f.fingerprint.as_str()));
        r.baseline = None;
        r.score = None;
        r.settle();
        Some(r)
    }

    /// JSON Schema of the JSON output (`scopecheck schema --simulation`).
    pub fn json_schema() -> schemars::Schema {
        schemars::schema_for!(SimulationReport)
    }
}

mod render;
pub use render::{Format, gate_line};
