//! SARIF 2.1.0, for code-scanning tools.

use super::{FINGERPRINT_SCHEME, Printer, Report};
use crate::rules::Severity;

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
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
                    let region = match ex.column {
                        Some(c) => json!({"startLine": ex.line, "startColumn": c}),
                        None => json!({"startLine": ex.line}),
                    };
                    json!({"physicalLocation": {"artifactLocation": {"uri": ex.file}, "region": region}})
                })
                .collect();
            if locations.is_empty() {
                locations.push(json!({"physicalLocation": {"artifactLocation": {"uri": report.scope.file}}}));
            }
            let mut msg = format!("{}: {} {}", f.title, f.target.kind, f.target.id);
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
                "partialFingerprints": {(FINGERPRINT_SCHEME): f.fingerprint},
                "properties": {
                    "severity": f.severity,
                    "target": f.target,
                    "people_affected": f.people_affected,
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
            "properties": {"summary": report.summary, "evidence": report.tool.evidence},
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
