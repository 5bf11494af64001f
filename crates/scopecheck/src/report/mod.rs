//! The report, how reports merge, and the printers.
//!
//! The JSON form is a documented, stable contract (docs/report-format.md, and its JSON Schema
//! from [`json_schema`] / `scopecheck schema --report`); every other format is printed from the
//! same [`Report`] by one [`Printer`] each.
//!
//! Reports merge: auditing two parts of an input and merging the two reports gives the report of
//! the whole (counts, first and last seen, examples, evidence, people affected), so partitioned
//! and parallel audits add up. What depends on the split (Cedar calls made) is kept in
//! [`Stats`], apart from the findings.

mod html;
pub(crate) mod human;
mod junit;
mod markdown;
mod person_html;
pub(crate) mod sarif;
mod svg;
mod timeline;

use crate::people::{Concerned, People};
use crate::rules::{RuleMeta, Severity};
use crate::target::Target;
use chrono::{DateTime, FixedOffset};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::str::FromStr;

pub use html::HtmlPrinter;
pub use human::HumanPrinter;
pub use junit::JunitPrinter;
pub(crate) use junit::xml_escape;
pub use markdown::MarkdownPrinter;
pub use person_html::render_person_html;
pub use sarif::SarifPrinter;
pub use timeline::{HourOfWeek, MAX_TIMELINE_DAYS, Tally, Timeline};
// Shared with the drift report (`scopecheck diff`).
pub(crate) use markdown::{code as md_code, icon as severity_icon, md, prose as md_prose};
pub(crate) use sarif::{rule_name, sarif_level, security_severity, uri as sarif_uri};

/// Version of the JSON report format. Bumped on any incompatible change.
pub const REPORT_FORMAT_VERSION: u32 = 2;
/// The fingerprint scheme: its key in SARIF `partialFingerprints`, and the prefix hashed with it.
pub const FINGERPRINT_SCHEME: &str = "scopecheck/v2";
/// Rejected lines listed in a report; more are counted, not listed.
pub const MAX_LISTED_REJECTIONS: usize = 1000;
/// Example locations kept per finding.
pub const MAX_EXAMPLES: usize = 3;

/// Which tool wrote it.
#[derive(Debug, Clone, Serialize, PartialEq, JsonSchema)]
pub struct ToolInfo {
    /// `scopecheck`.
    pub name: String,
    /// Crate version.
    pub version: String,
    /// JSON report format version ([`REPORT_FORMAT_VERSION`]).
    pub format: u32,
    /// `redacted`, or `shown` when the report holds captured values in clear (`--show-evidence`):
    /// then it is as sensitive as the captures themselves.
    pub evidence: EvidenceMode,
}

/// Whether a report's evidence is redacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceMode {
    /// Values redacted (type, length, last digits).
    Redacted,
    /// Values and people's ids in clear (`--show-evidence`).
    Shown,
}

impl ToolInfo {
    /// This build.
    pub fn current(show_evidence: bool) -> Self {
        ToolInfo {
            name: "scopecheck".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            format: REPORT_FORMAT_VERSION,
            evidence: if show_evidence { EvidenceMode::Shown } else { EvidenceMode::Redacted },
        }
    }
}

/// Which scope was checked.
#[derive(Debug, Clone, Serialize, PartialEq, JsonSchema)]
pub struct ScopeInfo {
    /// Program id.
    pub program: String,
    /// Notice version.
    pub version: Option<String>,
    /// Notice address.
    pub notice: Option<String>,
    /// Scope file.
    pub file: String,
    /// Every version of the scope the audit judged by, oldest first, when it was given more
    /// than one (`--scope` repeated); `version`, `notice` and `file` are then the newest one's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<ScopeVersion>,
}

/// One version of a scope in a history.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, JsonSchema)]
pub struct ScopeVersion {
    /// Its label: the scope's `version`, else its file name. Findings name it in `scope_versions`.
    pub version: String,
    /// Its file.
    pub file: String,
    /// When it took effect (`effective_from`, as RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<String>,
}

/// What an input file was to the audit.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputRole {
    /// The declared scope.
    Scope,
    /// The observed store inventory.
    Stores,
    /// A Cedar rule file of the user's (the built-in rules are covered by `rules_sha256`).
    Policy,
    /// A detector file of the user's.
    Detectors,
    /// A capture file.
    Captures,
    /// An access log.
    Access,
}

/// One input, identified by its digest.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
pub struct InputDigest {
    /// What it was.
    pub role: InputRole,
    /// Its name as given (`<stdin>` for standard input).
    pub file: String,
    /// Hex sha256 of its bytes as stored (a gzip file's compressed bytes, as `sha256sum` shows).
    pub sha256: String,
    /// Its size in bytes, as stored.
    pub bytes: u64,
}

/// Where the report comes from: enough to reproduce it.
#[derive(Debug, Clone, Serialize, PartialEq, JsonSchema)]
pub struct Provenance {
    /// The scopecheck version that wrote it.
    pub scopecheck_version: String,
    /// sha256 of the rules in force: the Cedar schema, every rule file's name and text, the rules
    /// switched off.
    pub rules_sha256: String,
    /// Every input file, in the order read.
    pub inputs: Vec<InputDigest>,
}

/// How `people_affected` is counted.
#[derive(Debug, Clone, Serialize, PartialEq, JsonSchema)]
pub struct PeopleMethod {
    /// What the envelope key counted is.
    pub counts: String,
    /// Counts up to this many distinct people are exact.
    pub exact_up_to: u64,
    /// Above it, the estimator.
    pub estimator: String,
    /// Relative standard error of an estimated count.
    pub relative_error: f64,
}

impl PeopleMethod {
    /// The method this build uses.
    pub fn current() -> Self {
        PeopleMethod {
            counts: "distinct `subject` values of the events concerned".into(),
            exact_up_to: crate::people::EXACT_UP_TO as u64,
            estimator: format!("HyperLogLog, precision {}", crate::people::HLL_PRECISION),
            relative_error: (crate::people::relative_error() * 10_000.0).round() / 10_000.0,
        }
    }
}

/// Counts: every record is either evaluated or rejected.
#[derive(Debug, Clone, Default, Serialize, PartialEq, JsonSchema)]
pub struct Summary {
    /// Capture files read, in order.
    pub files: Vec<String>,
    /// Non-blank capture lines read.
    pub records_read: u64,
    /// Records decided.
    pub records_evaluated: u64,
    /// Records rejected (listed under `rejected`).
    pub records_rejected: u64,
    /// Evaluated records without a `subject` (no person to count).
    pub records_without_subject: u64,
    /// Evaluated records without a `subject_kind` (not checked against `subjects:`).
    pub records_without_subject_kind: u64,
    /// Access-log lines read.
    pub access_read: u64,
    /// Access entries decided.
    pub access_evaluated: u64,
    /// Access entries rejected.
    pub access_rejected: u64,
    /// Rejections counted but not listed (over the listing cap).
    pub rejected_not_listed: u64,
    /// Stores in the inventory.
    pub stores_observed: u64,
    /// Distinct people in the evaluated records.
    pub people_captured: u64,
    /// `people_captured` is exact (not estimated).
    pub people_captured_exact: bool,
    /// Distinct people concerned by at least one finding.
    pub people_affected: u64,
    /// `people_affected` is exact (not estimated).
    pub people_affected_exact: bool,
    /// Number of findings.
    pub findings: u64,
    /// Findings per severity.
    pub by_severity: BTreeMap<Severity, u64>,
    #[serde(skip)]
    #[schemars(skip)]
    pub(crate) captured: People,
}

/// A place in an input file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
pub struct InputLocation {
    /// The file, as named on the command line (`<stdin>` for standard input).
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column (characters), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
}

impl InputLocation {
    /// A line of a file.
    pub fn line(file: impl Into<String>, line: u64) -> Self {
        InputLocation { file: file.into(), line, column: None }
    }
}

impl fmt::Display for InputLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(c) = self.column {
            write!(f, ":{c}")?;
        }
        Ok(())
    }
}

/// A line that was not evaluated.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
pub struct Rejected {
    /// File.
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// Why, and how to fix it.
    pub reason: String,
}

/// What a finding keeps so that two reports merge exactly; not printed.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FindingState {
    pub first: Option<(DateTime<FixedOffset>, String)>,
    pub last: Option<(DateTime<FixedOffset>, String)>,
    /// Distinct evidence texts, each with the first place it was seen, by that place.
    pub evidence_at: Vec<(Option<InputLocation>, String)>,
    pub max_evidence: usize,
    /// Sensitivity of `category`.
    pub sensitivity: u8,
    /// Who it concerns (findings drawn from captures).
    pub concerned: Option<Concerned>,
}

impl FindingState {
    /// Notes evidence seen at `at`; keeps the `max_evidence` distinct texts seen first.
    pub(crate) fn evidence(&mut self, at: Option<&InputLocation>, text: &str) {
        if let Some(i) = self.evidence_at.iter().position(|(_, t)| t == text) {
            if let Some(entry) = self.evidence_at.get_mut(i)
                && at.cloned() < entry.0
            {
                entry.0 = at.cloned();
                self.evidence_at.sort();
            }
            return;
        }
        if self.evidence_at.len() >= self.max_evidence
            && self.evidence_at.last().is_some_and(|(l, _)| at.cloned() >= *l)
        {
            return;
        }
        self.evidence_at.push((at.cloned(), text.to_string()));
        self.evidence_at.sort();
        self.evidence_at.truncate(self.max_evidence);
    }

    pub(crate) fn seen(&mut self, ts: &DateTime<FixedOffset>, raw: &str) {
        let here = (*ts, raw);
        if self.first.as_ref().is_none_or(|(t, r)| here < (*t, r.as_str())) {
            self.first = Some((*ts, raw.to_string()));
        }
        if self.last.as_ref().is_none_or(|(t, r)| here > (*t, r.as_str())) {
            self.last = Some((*ts, raw.to_string()));
        }
    }
}

/// One finding: a rule satisfied for one target, aggregated over records.
#[derive(Debug, Clone, Serialize, PartialEq, JsonSchema)]
pub struct Finding {
    /// Stable identity of the finding: a hash of program, rule and target ([`fingerprint`]).
    pub fingerprint: String,
    /// Rule id.
    pub rule: String,
    /// Severity.
    pub severity: Severity,
    /// Rule title.
    pub title: String,
    /// What it is about.
    pub target: Target,
    /// The field, for field findings.
    pub field: Option<String>,
    /// The store, for store findings.
    pub store: Option<String>,
    /// The role, for access findings.
    pub role: Option<String>,
    /// The most sensitive category involved.
    pub category: Option<String>,
    /// All categories involved.
    pub categories: Vec<String>,
    /// Records (or entries) concerned.
    pub count: u64,
    /// Distinct people concerned (`subject`s of the events); null for access-log findings,
    /// which name no captured person.
    pub people_affected: Option<u64>,
    /// `people_affected` is exact, not estimated.
    pub people_affected_exact: Option<bool>,
    /// Keyed pseudonyms of a few of the people concerned (only with `--pseudonym-key`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pseudonyms: Vec<String>,
    /// The ids of a few of the people concerned (only with `--show-evidence`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    /// Earliest capture time concerned.
    pub first_seen: Option<String>,
    /// Latest capture time concerned.
    pub last_seen: Option<String>,
    /// A few places in the input that show it (the first ones, in file and line order).
    pub examples: Vec<InputLocation>,
    /// Evidence, redacted unless `--show-evidence`.
    pub evidence: Vec<String>,
    /// Extra facts (purposes, fields, stores).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, Vec<String>>,
    /// How to fix.
    pub help: String,
    /// Regulation reference.
    pub reference: Option<String>,
    /// The versions of the scope whose events made this finding (labels as in
    /// `scope.history`), when the audit judged by more than one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scope_versions: Vec<String>,
    /// The baseline entry for this finding (with `--baseline`): accepted, expired, or not
    /// covering all its categories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<crate::baseline::Acceptance>,
    /// Accepted by the baseline: listed, but does not fail the gate.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub baselined: bool,
    #[serde(skip)]
    #[schemars(skip)]
    pub(crate) state: FindingState,
}

/// A finding's fingerprint: the first 128 bits (hex) of sha256 over the scheme, the program, the
/// rule id and the target, separated by NUL bytes. Never of lines, counts or order, so it stays
/// the same when records are reordered, lines move or the finding grows.
pub fn fingerprint(program: &str, rule: &str, target: &Target) -> String {
    let text = [FINGERPRINT_SCHEME, program, rule, target.kind.as_str(), &target.id].join("\0");
    let mut hex = crate::bundle::sha256_hex(text.as_bytes());
    hex.truncate(32);
    hex
}

impl Finding {
    /// Fills the printed fields from the merge state.
    pub(crate) fn settle(&mut self) {
        let s = &self.state;
        self.first_seen = s.first.as_ref().map(|(_, r)| r.clone());
        self.last_seen = s.last.as_ref().map(|(_, r)| r.clone());
        self.evidence = s.evidence_at.iter().map(|(_, t)| t.clone()).collect();
        match &s.concerned {
            Some(c) => {
                self.people_affected = Some(c.people.count());
                self.people_affected_exact = Some(c.people.is_exact());
                self.pseudonyms = c.pseudonyms.iter().cloned().collect();
                self.subjects = c.ids.values().cloned().collect();
            }
            None => {
                self.people_affected = None;
                self.people_affected_exact = None;
                self.pseudonyms.clear();
                self.subjects.clear();
            }
        }
    }

    /// Adds `other` (the same rule and target, from another part of the input).
    fn merge(&mut self, other: &Finding) {
        self.count += other.count;
        let cats: BTreeSet<String> = self.categories.iter().chain(&other.categories).cloned().collect();
        self.categories = cats.into_iter().collect();
        let better = |o: &Finding, s: &Finding| match (&o.category, &s.category) {
            (Some(oc), Some(sc)) => {
                (o.state.sensitivity, std::cmp::Reverse(oc)) > (s.state.sensitivity, std::cmp::Reverse(sc))
            }
            (Some(_), None) => true,
            _ => false,
        };
        if better(other, self) {
            self.category = other.category.clone();
            self.state.sensitivity = other.state.sensitivity;
        }
        if let Some((t, r)) = &other.state.first {
            self.state.seen(t, r);
        }
        if let Some((t, r)) = &other.state.last {
            self.state.seen(t, r);
        }
        let examples: BTreeSet<InputLocation> = self.examples.iter().chain(&other.examples).cloned().collect();
        self.examples = examples.into_iter().take(MAX_EXAMPLES).collect();
        for (at, text) in &other.state.evidence_at {
            self.state.evidence(at.as_ref(), text);
        }
        for (k, v) in &other.details {
            let mine = self.details.entry(k.clone()).or_default();
            let all: BTreeSet<String> = mine.iter().chain(v).cloned().collect();
            *mine = all.into_iter().collect();
        }
        for v in &other.scope_versions {
            if !self.scope_versions.contains(v) {
                self.scope_versions.push(v.clone());
            }
        }
        match (&mut self.state.concerned, &other.state.concerned) {
            (Some(a), Some(b)) => a.merge(b),
            (None, Some(b)) => self.state.concerned = Some(b.clone()),
            _ => {}
        }
        self.settle();
    }
}

/// Performance counters: they depend on how the input was split, so merged reports add them up
/// and comparisons leave them out.
#[derive(Debug, Clone, Default, Serialize, PartialEq, JsonSchema)]
pub struct Stats {
    /// Cedar authorizations made (distinct shapes decided).
    pub cedar_calls: u64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize, PartialEq, JsonSchema)]
pub struct Report {
    /// Tool.
    pub tool: ToolInfo,
    /// Scope.
    pub scope: ScopeInfo,
    /// Inputs and rules, by digest.
    pub provenance: Provenance,
    /// How people are counted.
    pub people: PeopleMethod,
    /// Counts.
    pub summary: Summary,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// Rejected lines (the first ones, in file and line order).
    pub rejected: Vec<Rejected>,
    /// Things the user should know that are not findings.
    pub warnings: Vec<String>,
    /// How the findings stand against a baseline (with `--baseline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<crate::baseline::BaselineSummary>,
    /// The audit scored against ground truth (with `--labels`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<crate::labels::Score>,
    /// Captures and flagged captures per local day and per hour of the week.
    pub timeline: Timeline,
    /// Counters.
    pub stats: Stats,
    /// The rules in force (for SARIF).
    #[serde(skip)]
    #[schemars(skip)]
    pub rules: Vec<RuleMeta>,
    /// The scope's text as declared (for the HTML page; set by the caller that read it).
    #[serde(skip)]
    #[schemars(skip)]
    pub scope_text: Option<String>,
    /// Every rule file in force as (name, Cedar text), in load order (for the HTML page).
    #[serde(skip)]
    #[schemars(skip)]
    pub policy_sources: Vec<(String, String)>,
}

/// Why two reports cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MergeError(String);

impl Report {
    /// The most severe finding a baseline does not accept, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().filter(|f| !f.baselined).map(|f| f.severity).max()
    }

    /// Findings at or above a severity that a baseline does not accept (the gate).
    pub fn count_at_or_above(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity >= s && !f.baselined).count()
    }

    /// Orders findings and fills what is derived from them (summary counts, warnings).
    pub(crate) fn settle(&mut self) {
        self.findings.sort_by(|a, b| {
            b.severity.cmp(&a.severity).then_with(|| a.rule.cmp(&b.rule)).then_with(|| a.target.cmp(&b.target))
        });
        let s = &mut self.summary;
        s.findings = self.findings.len() as u64;
        s.by_severity.clear();
        let mut affected = People::default();
        for f in &self.findings {
            *s.by_severity.entry(f.severity).or_insert(0) += 1;
            if let Some(c) = &f.state.concerned {
                affected.merge(&c.people);
            }
        }
        s.people_affected = affected.count();
        s.people_affected_exact = affected.is_exact();
        s.people_captured = s.captured.count();
        s.people_captured_exact = s.captured.is_exact();
        self.rejected.sort();
        let total = s.records_rejected + s.access_rejected;
        self.rejected.truncate(MAX_LISTED_REJECTIONS);
        s.rejected_not_listed = total.saturating_sub(self.rejected.len() as u64);
    }

    /// Adds the report of another part of the same input (same program and rules): the result is
    /// the report of both parts together. [`Stats`] add up; provenance lists both parts' inputs.
    pub fn merge(&mut self, other: &Report) -> Result<(), MergeError> {
        if self.scope != other.scope {
            return Err(MergeError(format!(
                "the reports are of different scopes ({} from {}, {} from {})",
                self.scope.program, self.scope.file, other.scope.program, other.scope.file
            )));
        }
        if self.provenance.rules_sha256 != other.provenance.rules_sha256 {
            return Err(MergeError("the reports were decided by different rules (rules_sha256 differs)".into()));
        }
        if self.timeline.timezone != other.timeline.timezone {
            return Err(MergeError(format!(
                "the reports count time in different zones ({} and {})",
                self.timeline.timezone, other.timeline.timezone
            )));
        }
        // A merge holds what either part holds: clear evidence in one makes the whole sensitive.
        if other.tool.evidence == EvidenceMode::Shown {
            self.tool.evidence = EvidenceMode::Shown;
        }
        for i in &other.provenance.inputs {
            if !self.provenance.inputs.contains(i) {
                self.provenance.inputs.push(i.clone());
            }
        }
        let (s, o) = (&mut self.summary, &other.summary);
        for f in &o.files {
            if !s.files.contains(f) {
                s.files.push(f.clone());
            }
        }
        s.records_read += o.records_read;
        s.records_evaluated += o.records_evaluated;
        s.records_rejected += o.records_rejected;
        s.records_without_subject += o.records_without_subject;
        s.records_without_subject_kind += o.records_without_subject_kind;
        s.access_read += o.access_read;
        s.access_evaluated += o.access_evaluated;
        s.access_rejected += o.access_rejected;
        s.stores_observed = s.stores_observed.max(o.stores_observed);
        s.captured.merge(&o.captured);
        for f in &other.findings {
            match self.findings.iter_mut().find(|x| x.rule == f.rule && x.target == f.target) {
                Some(mine) => mine.merge(f),
                None => self.findings.push(f.clone()),
            }
        }
        self.rejected.extend(other.rejected.iter().cloned());
        self.timeline.merge(&other.timeline);
        if self.scope_text.is_none() {
            self.scope_text.clone_from(&other.scope_text);
        }
        if self.policy_sources.is_empty() {
            self.policy_sources.clone_from(&other.policy_sources);
        }
        self.stats.cedar_calls += other.stats.cedar_calls;
        self.settle();
        Ok(())
    }
}

/// The JSON Schema of the JSON report (`scopecheck schema --report`).
pub fn json_schema() -> schemars::Schema {
    schemars::schema_for!(Report)
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Human,
    /// The stable JSON contract.
    Json,
    /// SARIF 2.1.0 for code-scanning tools.
    Sarif,
    /// JUnit XML for CI test reports: one test case per rule and target.
    Junit,
    /// Markdown for a pull-request comment or `$GITHUB_STEP_SUMMARY`.
    Markdown,
    /// A self-contained HTML audit report.
    Html,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 6] =
        [Format::Human, Format::Json, Format::Sarif, Format::Junit, Format::Markdown, Format::Html];

    /// Its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
            Format::Html => "html",
        }
    }

    /// The printer of this format.
    pub fn printer(self, color: bool) -> Box<dyn Printer> {
        match self {
            Format::Human => Box::new(HumanPrinter { color }),
            Format::Json => Box::new(JsonPrinter),
            Format::Sarif => Box::new(SarifPrinter),
            Format::Junit => Box::new(JunitPrinter),
            Format::Markdown => Box::new(MarkdownPrinter),
            Format::Html => Box::new(HtmlPrinter),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a report format; use {}", Format::ALL.map(Format::as_str).join(", ")))
    }
}

/// Writes a report in one format.
pub trait Printer {
    /// Prints `report` to `out`.
    fn print(&self, report: &Report, out: &mut dyn io::Write) -> io::Result<()>;
}

/// The JSON form ([`REPORT_FORMAT_VERSION`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonPrinter;

impl Printer for JsonPrinter {
    fn print(&self, report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
        out.write_all(b"\n")
    }
}

/// Renders a report to a string (for tests and small outputs).
pub fn render(report: &Report, format: Format, color: bool) -> String {
    let mut out = Vec::new();
    // Writing to a Vec does not fail.
    let _ = format.printer(color).print(report, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}
