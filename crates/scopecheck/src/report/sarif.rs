//! SARIF 2.1.0, for code-scanning tools (GitHub code scanning, the SARIF multitool's SARIF and
//! GitHub rule sets report no error and no warning on it).
//!
//! - Rules carry a readable `name` (the id in PascalCase, as SARIF1001 asks: `id` is the stable,
//!   opaque key), help as text and Markdown, `security-severity` (GitHub's 0.0–10.0 score:
//!   critical 9.5, high 8.0, medium 5.5, low 3.0, info 0.0) and tags.
//! - A result is located where it is explained: the capture line of a field finding, the
//!   access-log line of purpose creep, the scope line of the promise a store or retention finding
//!   breaks. Further examples are `relatedLocations`. Every region has a start and an end line.
//! - `partialFingerprints` carry the finding's fingerprint (`scopecheck/v2`), which does not
//!   change when lines move; `automationDetails.id` is `scopecheck/<program>/` so that audits of
//!   several programs upload side by side.
//! - Rejected lines are `invocations[0].toolExecutionNotifications` (level `warning`), with one
//!   more notification for those counted but not listed.
//! - No snippet and no file contents are embedded: they would copy capture text into the file.

use super::{FINGERPRINT_SCHEME, InputLocation, Printer, Report};
use crate::rules::{RuleMeta, Severity};
use serde_json::{Value, json};

pub(crate) fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity`: a CVSS-like score it buckets as critical (≥ 9.0), high
/// (7.0–8.9), medium (4.0–6.9) and low (0.1–3.9).
pub(crate) fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// A rule's readable name: its id in PascalCase (`undisclosed-field` → `UndisclosedField`).
pub(crate) fn rule_name(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    let mut upper = true;
    for c in id.chars() {
        if c.is_alphanumeric() {
            if upper {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    if out.is_empty() || out == id { format!("Rule{out}") } else { out }
}

/// A file name as a URI reference: relative paths stay relative (code scanning resolves them
/// from the repository root), absolute ones become `file://` URIs; everything outside RFC 3986's
/// unreserved characters and `/` is percent-encoded (`<stdin>` becomes `%3Cstdin%3E`).
pub(crate) fn uri(file: &str) -> String {
    let mut out = String::with_capacity(file.len() + 8);
    // A `file` URI must not hold `.` or `..` segments (SARIF1002): an absolute path is normalized
    // as text (`/a/b/../c` is `/a/c`), the way a consumer on another machine would read it.
    let normal;
    let file = if file.starts_with('/') {
        out.push_str("file://");
        let mut parts: Vec<&str> = Vec::new();
        for seg in file.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                s => parts.push(s),
            }
        }
        normal = format!("/{}", parts.join("/"));
        normal.as_str()
    } else {
        file
    };
    for b in file.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Sets a key of a JSON object (a no-op on anything else).
fn set(v: &mut Value, key: &str, value: Value) {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_string(), value);
    }
}

fn region(at: &InputLocation) -> Value {
    let line = at.line.max(1);
    match at.column {
        // A field's key at a column: the region is the rest of that line.
        Some(c) => json!({"startLine": line, "startColumn": c.max(1), "endLine": line}),
        None => json!({"startLine": line, "endLine": line}),
    }
}

fn physical(at: &InputLocation) -> Value {
    json!({"physicalLocation": {"artifactLocation": {"uri": uri(&at.file)}, "region": region(at)}})
}

fn tags(r: &RuleMeta) -> Vec<String> {
    let mut tags = vec!["privacy".to_string(), "compliance".to_string()];
    if let Some(reference) = &r.reference {
        for (needle, tag) in [("GDPR", "gdpr"), ("CPRA", "cpra"), ("HIPAA", "hipaa"), ("ISO/IEC 27001", "iso27001")] {
            if reference.contains(needle) {
                tags.push(tag.to_string());
            }
        }
    }
    tags.extend(r.targets.iter().map(|t| format!("target:{t}")));
    tags
}

fn rule_json(r: &RuleMeta) -> Value {
    let mut text = r.help.clone();
    let mut markdown = format!("**{}**\n\n{}", r.title, r.help);
    if let Some(reference) = &r.reference {
        text.push_str(&format!(" Reference: {reference}."));
        markdown.push_str(&format!("\n\nReference: {reference}."));
    }
    markdown.push_str(&format!(
        "\n\nSeverity: {}. Rule defined in `{}`; `scopecheck rules` lists every rule.",
        r.severity.as_str(),
        r.origin
    ));
    json!({
        "id": r.id,
        "name": rule_name(&r.id),
        "shortDescription": {"text": r.title},
        "fullDescription": {"text": format!("{} {}", r.title, r.help)},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": sarif_level(r.severity)},
        "properties": {
            "security-severity": security_severity(r.severity),
            "precision": "high",
            "problem.severity": sarif_level(r.severity),
            "tags": tags(r),
            "severity": r.severity,
            "reference": r.reference,
            "origin": r.origin,
        },
    })
}

/// SARIF 2.1.0.
#[derive(Debug, Clone, Copy, Default)]
pub struct SarifPrinter;

impl Printer for SarifPrinter {
    fn print(&self, report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        out.write_all(render_sarif(report).as_bytes())
    }
}

fn render_sarif(report: &Report) -> String {
    let rules: Vec<Value> = report.rules.iter().map(rule_json).collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let rule_index = report.rules.iter().position(|r| r.id == f.rule);
            let mut examples = f.examples.iter();
            let location = match examples.next() {
                Some(at) => physical(at),
                // Nothing in the inputs shows it: the scope is what the finding is held against.
                None => physical(&InputLocation::line(report.scope.file.clone(), 1)),
            };
            let related: Vec<Value> = examples
                .enumerate()
                .map(|(i, at)| {
                    let mut l = physical(at);
                    set(&mut l, "id", json!(i + 1));
                    set(&mut l, "message", json!({"text": format!("also at {at}")}));
                    l
                })
                .collect();
            let mut msg = format!("{}: {} {}", f.title, f.target.kind, f.target.id);
            if !f.categories.is_empty() {
                msg.push_str(&format!(" [{}]", f.categories.join(", ")));
            }
            msg.push_str(&format!(" ({} times", f.count));
            if let Some(n) = f.people_affected {
                let about = if f.people_affected_exact == Some(false) { "about " } else { "" };
                msg.push_str(&format!(", {about}{n} people"));
            }
            msg.push_str(").");
            let mut result = json!({
                "ruleId": f.rule,
                "ruleIndex": rule_index,
                "level": sarif_level(f.severity),
                "message": {"text": msg},
                "locations": [location],
                "partialFingerprints": {(FINGERPRINT_SCHEME): f.fingerprint},
                "properties": {
                    "severity": f.severity,
                    "target": f.target,
                    "people_affected": f.people_affected,
                    "category": f.category,
                    "categories": f.categories,
                    "count": f.count,
                    "first_seen": f.first_seen,
                    "last_seen": f.last_seen,
                    "evidence": f.evidence,
                },
            });
            if !related.is_empty() {
                set(&mut result, "relatedLocations", json!(related));
            }
            if !f.scope_versions.is_empty()
                && let Some(props) = result.get_mut("properties").and_then(|p| p.as_object_mut())
            {
                props.insert("scope_versions".into(), json!(f.scope_versions));
            }
            // Accepted by a baseline: a suppression, which code scanning shows as dismissed.
            if let (true, Some(b)) = (f.baselined, &f.baseline) {
                set(
                    &mut result,
                    "suppressions",
                    json!([{
                        "kind": "external",
                        "status": "accepted",
                        "justification": format!("{} (owner {}, until {})", b.reason, b.owner, b.expires),
                    }]),
                );
            }
            result
        })
        .collect();
    let mut notifications: Vec<Value> = report
        .rejected
        .iter()
        .map(|r| {
            json!({
                "level": "warning",
                "descriptor": {"id": "rejected-line"},
                "message": {"text": format!("line not evaluated: {}", r.reason)},
                "locations": [physical(&InputLocation::line(r.file.clone(), r.line))],
            })
        })
        .collect();
    if report.summary.rejected_not_listed > 0 {
        notifications.push(json!({
            "level": "warning",
            "descriptor": {"id": "rejected-not-listed"},
            "message": {"text": format!(
                "{} more lines were not evaluated and are counted, not listed (records_rejected and access_rejected in the summary)",
                report.summary.rejected_not_listed
            )},
        }));
    }
    let mut invocation = json!({"executionSuccessful": true});
    if !notifications.is_empty() {
        set(&mut invocation, "toolExecutionNotifications", json!(notifications));
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "scopecheck",
                "version": report.tool.version,
                "semanticVersion": report.tool.version,
                "informationUri": "https://github.com/scopecheck/scopecheck",
                "rules": rules,
            }},
            "automationDetails": {"id": format!("scopecheck/{}/", report.scope.program)},
            "invocations": [invocation],
            "results": results,
            "properties": {"summary": report.summary, "evidence": report.tool.evidence},
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uris() {
        assert_eq!(rule_name("undisclosed-field"), "UndisclosedField");
        assert_eq!(rule_name("policy-error"), "PolicyError");
        assert_eq!(rule_name("x"), "X");
        assert_eq!(rule_name("X"), "RuleX");
        assert_eq!(uri("fixtures/mci/captures.jsonl"), "fixtures/mci/captures.jsonl");
        assert_eq!(uri("<stdin>"), "%3Cstdin%3E");
        assert_eq!(uri("/tmp/a b.jsonl"), "file:///tmp/a%20b.jsonl");
        assert_eq!(uri("/work/x/crates/cli/../../fixtures/./a.jsonl"), "file:///work/x/fixtures/a.jsonl");
        assert_eq!(uri("../data/a.jsonl"), "../data/a.jsonl");
    }
}
