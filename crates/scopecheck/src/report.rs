//! The report and its printers. The JSON form is a documented, stable contract
//! (docs/report-format.md); the human and SARIF forms are rendered from it.

use crate::eval::Subject;
use crate::rules::{RuleMeta, Severity};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Version of the JSON report format. Bumped on any incompatible change.
pub const REPORT_FORMAT_VERSION: u32 = 1;

/// Which tool wrote it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ToolInfo {
    /// `scopecheck`.
    pub name: String,
    /// Crate version.
    pub version: String,
    /// JSON report format version.
    pub format: u32,
}

impl ToolInfo {
    /// This build.
    pub fn current() -> Self {
        ToolInfo { name: "scopecheck".into(), version: env!("CARGO_PKG_VERSION").into(), format: REPORT_FORMAT_VERSION }
    }
}

/// Which scope was checked.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScopeInfo {
    /// Program id.
    pub program: String,
    /// Notice version.
    pub version: Option<String>,
    /// Notice address.
    pub notice: Option<String>,
    /// Scope file.
    pub file: String,
}

/// Counts: every record is either evaluated or rejected.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Summary {
    /// Capture files read, in order.
    pub files: Vec<String>,
    /// Non-blank capture lines read.
    pub records_read: u64,
    /// Records decided.
    pub records_evaluated: u64,
    /// Records rejected (listed under `rejected`).
    pub records_rejected: u64,
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
    /// Number of findings.
    pub findings: u64,
    /// Findings per severity.
    pub by_severity: BTreeMap<Severity, u64>,
}

/// A line that was not evaluated.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rejected {
    /// File.
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// Why, and how to fix it.
    pub reason: String,
}

/// One finding: a rule satisfied for one subject, aggregated over records.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    /// Rule id.
    pub rule: String,
    /// Severity.
    pub severity: Severity,
    /// Rule title.
    pub title: String,
    /// What it is about.
    pub subject: Subject,
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
    /// Earliest capture time concerned.
    pub first_seen: Option<String>,
    /// Latest capture time concerned.
    pub last_seen: Option<String>,
    /// A few `file:line` locations.
    pub examples: Vec<String>,
    /// Evidence, redacted unless `--show-evidence`.
    pub evidence: Vec<String>,
    /// Extra facts (purposes, fields, stores).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, Vec<String>>,
    /// How to fix.
    pub help: String,
    /// Regulation reference.
    pub reference: Option<String>,
}

/// Performance counters.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Stats {
    /// Cedar authorizations made (distinct shapes decided).
    pub cedar_calls: u64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// Tool.
    pub tool: ToolInfo,
    /// Scope.
    pub scope: ScopeInfo,
    /// Counts.
    pub summary: Summary,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// Rejected lines.
    pub rejected: Vec<Rejected>,
    /// Things the user should know that are not findings.
    pub warnings: Vec<String>,
    /// Counters.
    pub stats: Stats,
    /// The rules in force (for SARIF).
    #[serde(skip)]
    pub rules: Vec<RuleMeta>,
}

impl Report {
    /// The most severe finding, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Findings at or above a severity.
    pub fn count_at_or_above(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity >= s).count()
    }
}

/// How to print a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Human,
    /// The stable JSON contract.
    Json,
    /// SARIF 2.1.0 for code-scanning tools.
    Sarif,
}

/// Renders a report.
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Human => render_human(report, color),
        Format::Json => render_json(report),
        Format::Sarif => render_sarif(report),
    }
}

/// The JSON form.
pub fn render_json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }
    fn sev(&self, s: Severity) -> String {
        let label = s.as_str().to_ascii_uppercase();
        let code = match s {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        self.wrap(code, &format!("{label:<8}"))
    }
    fn bold(&self, t: &str) -> String {
        self.wrap("1", t)
    }
    fn dim(&self, t: &str) -> String {
        self.wrap("2", t)
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 { format!("{n} {one}") } else { format!("{n} {many}") }
}

/// The human form: grouped by severity, then rule.
pub fn render_human(report: &Report, color: bool) -> String {
    let p = Paint { on: color };
    let mut out = String::new();
    let s = &report.summary;
    let version = report.scope.version.as_deref().map(|v| format!(" (notice {v})")).unwrap_or_default();
    let _ = writeln!(
        out,
        "{} program {}{version}, scope {}",
        p.bold("scopecheck audit:"),
        report.scope.program,
        report.scope.file
    );
    let _ = writeln!(
        out,
        "captures: {} read from {}, {} evaluated, {} rejected",
        plural(s.records_read, "record", "records"),
        plural(s.files.len() as u64, "file", "files"),
        s.records_evaluated,
        s.records_rejected
    );
    if s.access_read > 0 || s.access_rejected > 0 {
        let _ = writeln!(
            out,
            "access log: {} read, {} evaluated, {} rejected",
            plural(s.access_read, "entry", "entries"),
            s.access_evaluated,
            s.access_rejected
        );
    }
    if s.stores_observed > 0 {
        let _ = writeln!(out, "store inventory: {}", plural(s.stores_observed, "store", "stores"));
    }
    let mut last_rule: Option<&str> = None;
    for f in &report.findings {
        if last_rule != Some(f.rule.as_str()) {
            let _ = writeln!(out);
            let _ = writeln!(out, "{} {} {}", p.sev(f.severity), p.bold(&f.rule), f.title);
            let _ = writeln!(out, "         {}", p.dim(&format!("help: {}", f.help)));
            last_rule = Some(f.rule.as_str());
        }
        let cats = if f.categories.is_empty() { String::new() } else { format!("  [{}]", f.categories.join(", ")) };
        let when = match (&f.first_seen, &f.last_seen) {
            (Some(a), Some(b)) if a == b => format!(", at {a}"),
            (Some(a), Some(b)) => format!(", {a} .. {b}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  - {} {}{cats}  {}{when}",
            f.subject.kind(),
            p.bold(f.subject.id()),
            plural(f.count, "time", "times")
        );
        if !f.examples.is_empty() {
            let _ = writeln!(out, "      at {}", f.examples.join(", "));
        }
        for (k, v) in &f.details {
            if k != "fields" || f.field.is_none() {
                let _ = writeln!(out, "      {k}: {}", v.join(", "));
            }
        }
        for e in &f.evidence {
            let _ = writeln!(out, "      evidence: {e}");
        }
    }
    if !report.rejected.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", p.bold("rejected lines (not evaluated):"));
        for r in &report.rejected {
            let _ = writeln!(out, "  {}:{}: {}", r.file, r.line, r.reason);
        }
        if s.rejected_not_listed > 0 {
            let _ = writeln!(out, "  ... and {} more", s.rejected_not_listed);
        }
    }
    for w in &report.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    let _ = writeln!(out);
    if report.findings.is_empty() {
        let _ = writeln!(out, "no findings");
    } else {
        let parts: Vec<String> =
            Severity::ALL.iter().filter_map(|sev| s.by_severity.get(sev).map(|n| format!("{n} {sev}"))).collect();
        let _ = writeln!(out, "{}: {}", plural(s.findings, "finding", "findings"), parts.join(", "));
    }
    out
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// Splits `file:line` (the file may itself hold colons).
fn split_loc(loc: &str) -> (&str, Option<u64>) {
    match loc.rsplit_once(':') {
        Some((f, l)) => match l.parse() {
            Ok(n) => (f, Some(n)),
            Err(_) => (loc, None),
        },
        None => (loc, None),
    }
}

/// SARIF 2.1.0.
pub fn render_sarif(report: &Report) -> String {
    use serde_json::json;
    let rules: Vec<_> = report
        .rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": r.title},
                "help": {"text": r.help, "markdown": r.help},
                "defaultConfiguration": {"level": sarif_level(r.severity)},
                "properties": {"severity": r.severity, "reference": r.reference, "origin": r.origin},
            })
        })
        .collect();
    let results: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            let rule_index = report.rules.iter().position(|r| r.id == f.rule);
            let mut locations: Vec<_> = f
                .examples
                .iter()
                .map(|ex| {
                    let (file, line) = split_loc(ex);
                    let phys = match line {
                        Some(l) => json!({"artifactLocation": {"uri": file}, "region": {"startLine": l}}),
                        None => json!({"artifactLocation": {"uri": file}}),
                    };
                    json!({"physicalLocation": phys})
                })
                .collect();
            if locations.is_empty() {
                locations.push(json!({"physicalLocation": {"artifactLocation": {"uri": report.scope.file}}}));
            }
            let mut msg = format!("{}: {} {}", f.title, f.subject.kind(), f.subject.id());
            if !f.categories.is_empty() {
                msg.push_str(&format!(" [{}]", f.categories.join(", ")));
            }
            msg.push_str(&format!(" ({} times)", f.count));
            json!({
                "ruleId": f.rule,
                "ruleIndex": rule_index,
                "level": sarif_level(f.severity),
                "message": {"text": msg},
                "locations": locations,
                "partialFingerprints": {"scopecheck/v1": format!("{}|{}|{}", f.rule, f.subject.kind(), f.subject.id())},
                "properties": {
                    "severity": f.severity,
                    "subject": f.subject,
                    "category": f.category,
                    "categories": f.categories,
                    "count": f.count,
                    "evidence": f.evidence,
                },
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "scopecheck",
                "version": report.tool.version,
                "informationUri": "https://example.invalid/scopecheck",
                "rules": rules,
            }},
            "results": results,
            "properties": {"summary": report.summary},
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
