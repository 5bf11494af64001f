//! The formats of a drift report: human (a terminal, a CI log), json (the contract), markdown (a
//! pull-request comment) and sarif (code scanning: each change at its line).

use super::{ChangeKind, Drift, Grading};
use crate::report::{md, md_code, md_prose, rule_name, sarif_level, sarif_uri, security_severity, severity_icon};
use crate::rules::Severity;
use serde_json::{Value, json};
use std::fmt::Write as _;

/// A drift report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For a person: most severe first, a summary line.
    Human,
    /// The stable contract (`docs/diff.md`).
    Json,
    /// A pull-request comment.
    Markdown,
    /// SARIF 2.1.0: each change located in the new scope (removals in the old one).
    Sarif,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 4] = [Format::Human, Format::Json, Format::Markdown, Format::Sarif];

    /// Its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Sarif => "sarif",
        }
    }

    /// Renders a drift report.
    pub fn render(self, drift: &Drift, color: bool) -> String {
        match self {
            Format::Human => human(drift, color),
            Format::Json => {
                let mut s = serde_json::to_string_pretty(drift).unwrap_or_default();
                s.push('\n');
                s
            }
            Format::Markdown => markdown(drift),
            Format::Sarif => sarif(drift),
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| {
            format!("`{s}` is not a format of `diff`; use {}", Format::ALL.map(Format::as_str).join(", "))
        })
    }
}

/// A short form of a before/after value.
fn short(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(short).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                // Free text (a field's description) is no part of what is compared.
                .filter(|(k, v)| *k != "description" && !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, v)| format!("{k}: {}", short(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        other => other.to_string(),
    }
}

fn counts(d: &Drift) -> String {
    Severity::ALL
        .iter()
        .filter_map(|s| d.summary.by_severity.get(s).map(|n| format!("{n} {}", s.as_str())))
        .collect::<Vec<_>>()
        .join(", ")
}

fn versions(d: &Drift) -> String {
    let v = |x: &Option<String>| x.clone().unwrap_or_else(|| "(no version)".into());
    if d.old.version == d.new.version {
        format!("notice {}", v(&d.new.version))
    } else {
        format!("notice {} → {}", v(&d.old.version), v(&d.new.version))
    }
}

fn program(d: &Drift) -> String {
    if d.old.program == d.new.program {
        d.new.program.clone()
    } else {
        format!("{} → {}", d.old.program, d.new.program)
    }
}

fn human(d: &Drift, color: bool) -> String {
    let paint = |code: &str, t: &str| if color { format!("\x1b[{code}m{t}\x1b[0m") } else { t.to_string() };
    let mut out = String::new();
    let _ = writeln!(out, "{} program {}, {}", paint("1", "scopecheck diff:"), program(d), versions(d));
    let _ = writeln!(out, "  old: {}\n  new: {}", d.old.file, d.new.file);
    if d.changes.is_empty() {
        let _ = writeln!(out, "\nno drift: the two scopes declare the same things");
        return out;
    }
    for c in &d.changes {
        let label = c.severity.as_str().to_ascii_uppercase();
        let code = match c.severity {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        let _ = writeln!(out, "\n{} {}  {}", paint(code, &format!("{label:<8}")), paint("1", c.id), c.what);
        let _ = writeln!(out, "         {}", c.message);
        let _ = writeln!(out, "         before: {}", short(&c.before));
        let _ = writeln!(out, "         after:  {}", short(&c.after));
        let _ = writeln!(out, "         at {}", c.location);
        if c.severity >= Severity::Medium {
            let _ = writeln!(out, "         {}", paint("2", &format!("review: {}", c.help)));
        }
    }
    let n = d.changes.len();
    let _ = writeln!(out, "\n{n} change{}: {}", if n == 1 { "" } else { "s" }, counts(d));
    out
}

fn markdown(d: &Drift) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### scopecheck diff: {} ({})\n", md(&program(d)), md(&versions(d)));
    let _ = writeln!(out, "{} → {}\n", md_code(&d.old.file), md_code(&d.new.file));
    if d.changes.is_empty() {
        let _ = writeln!(out, "✅ **No drift**: the two scopes declare the same things.");
        return out;
    }
    let n = d.changes.len();
    let by: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|s| d.summary.by_severity.get(s).map(|k| format!("{} {k} {}", severity_icon(*s), s.as_str())))
        .collect();
    let mark = if d.summary.highest.is_some_and(|h| h >= Severity::High) { "❌" } else { "⚠️" };
    let _ = writeln!(out, "{mark} **{n} change{}**: {}.\n", if n == 1 { "" } else { "s" }, by.join(", "));
    let _ = writeln!(out, "| severity | change | what | before | after | where |");
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for c in &d.changes {
        let _ = writeln!(
            out,
            "| {} {} | {} | {} | {} | {} | {} |",
            severity_icon(c.severity),
            c.severity.as_str(),
            md_code(c.id),
            md_code(&c.what),
            md(&short(&c.before)),
            md(&short(&c.after)),
            md_code(&c.location.to_string()),
        );
    }
    let _ = writeln!(out, "\n<details><summary>What changed and what to review</summary>\n");
    for c in &d.changes {
        let _ = writeln!(
            out,
            "- {} {}: {}. {}",
            severity_icon(c.severity),
            md_code(c.id),
            md_prose(&c.message),
            md_prose(c.help)
        );
    }
    let _ = writeln!(out, "\n</details>");
    out
}

fn sarif(d: &Drift) -> String {
    let rules: Vec<Value> = ChangeKind::ALL
        .iter()
        .map(|k| {
            let m = k.meta();
            let graded = match m.grading {
                Grading::Fixed => format!("Severity: {}.", m.severity.as_str()),
                Grading::BySensitivity => "Severity: by the category's sensitivity (critical for special-category data, high for sensitive data, medium otherwise).".to_string(),
            };
            json!({
                "id": m.id,
                "name": rule_name(m.id),
                "shortDescription": {"text": m.title},
                "fullDescription": {"text": format!("{} {}", m.title, m.help)},
                "help": {
                    "text": m.help,
                    "markdown": format!("**{}**\n\n{}\n\n{graded} `docs/diff.md` lists every kind of change.", m.title, m.help),
                },
                "defaultConfiguration": {"level": sarif_level(m.severity)},
                "properties": {
                    "security-severity": security_severity(m.severity),
                    "precision": "very-high",
                    "problem.severity": sarif_level(m.severity),
                    "tags": ["privacy", "compliance", "scope-drift"],
                    "severity": m.severity,
                },
            })
        })
        .collect();
    let results: Vec<Value> = d
        .changes
        .iter()
        .map(|c| {
            let line = c.location.line.max(1);
            let mut region = json!({"startLine": line, "endLine": line});
            if let (Some(col), Some(r)) = (c.location.column, region.as_object_mut()) {
                r.insert("startColumn".into(), json!(col.max(1)));
            }
            json!({
                "ruleId": c.id,
                "ruleIndex": ChangeKind::ALL.iter().position(|k| k.meta().id == c.id),
                "level": sarif_level(c.severity),
                "message": {"text": format!("{}: {}.", c.title, c.message)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": sarif_uri(&c.location.file)},
                    "region": region,
                }}],
                "partialFingerprints": {"scopecheck-drift/v1": c.fingerprint},
                "properties": {
                    "severity": c.severity,
                    "security-severity": security_severity(c.severity),
                    "what": c.what,
                    "before": c.before,
                    "after": c.after,
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
                "version": d.tool.version,
                "semanticVersion": d.tool.version,
                "informationUri": "https://github.com/scopecheck/scopecheck",
                "rules": rules,
            }},
            "automationDetails": {"id": format!("scopecheck-diff/{}/", d.new.program)},
            "invocations": [{"executionSuccessful": true}],
            "results": results,
            "properties": {"summary": d.summary, "old": d.old, "new": d.new},
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
