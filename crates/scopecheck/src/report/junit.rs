//! JUnit XML, for CI systems' test reports.
//!
//! One `<testsuite>` per rule in force; one `<testcase>` per rule and target (a finding), failed,
//! with the finding's redacted evidence and locations in the failure text. A rule with no finding
//! is one passing test case (`name="no finding"`), so a dashboard shows which checks ran and held.
//! Severity below `error` is still a failure (every finding is a violation of the notice); the
//! `type` attribute carries the severity so a CI system can filter.

use super::{Finding, Printer, Report};
use std::fmt::Write as _;

/// JUnit XML.
#[derive(Debug, Clone, Copy, Default)]
pub struct JunitPrinter;

impl Printer for JunitPrinter {
    fn print(&self, report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        out.write_all(render_junit(report).as_bytes())
    }
}

/// Escapes text for XML attributes and character data; drops characters XML 1.0 cannot hold.
pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn failure_text(f: &Finding) -> String {
    let mut t = format!("{} {}: {}\n", f.target.kind, f.target.id, f.title);
    if !f.categories.is_empty() {
        let _ = writeln!(t, "categories: {}", f.categories.join(", "));
    }
    let people = match (f.people_affected, f.people_affected_exact) {
        (Some(n), Some(false)) => format!(", about {n} people"),
        (Some(n), _) => format!(", {n} people"),
        (None, _) => String::new(),
    };
    let _ = writeln!(t, "count: {}{people}", f.count);
    if let (Some(a), Some(b)) = (&f.first_seen, &f.last_seen) {
        let _ = writeln!(t, "seen: {a} .. {b}");
    }
    for ex in &f.examples {
        let _ = writeln!(t, "at: {ex}");
    }
    for e in &f.evidence {
        let _ = writeln!(t, "evidence: {e}");
    }
    let _ = writeln!(t, "fingerprint: {}", f.fingerprint);
    let _ = write!(t, "fix: {}", f.help);
    t
}

fn render_junit(report: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total_cases: usize =
        report.rules.iter().map(|r| report.findings.iter().filter(|f| f.rule == r.id).count().max(1)).sum();
    let name = format!("scopecheck audit of {}", report.scope.program);
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\">",
        xml_escape(&name),
        total_cases,
        report.findings.iter().filter(|f| !f.baselined).count()
    );
    for rule in &report.rules {
        let findings: Vec<&Finding> = report.findings.iter().filter(|f| f.rule == rule.id).collect();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">",
            xml_escape(&rule.id),
            findings.len().max(1),
            findings.iter().filter(|f| !f.baselined).count(),
            findings.iter().filter(|f| f.baselined).count()
        );
        let _ = writeln!(out, "    <properties>");
        let _ = writeln!(out, "      <property name=\"severity\" value=\"{}\"/>", rule.severity.as_str());
        let _ = writeln!(out, "      <property name=\"title\" value=\"{}\"/>", xml_escape(&rule.title));
        if let Some(r) = &rule.reference {
            let _ = writeln!(out, "      <property name=\"reference\" value=\"{}\"/>", xml_escape(r));
        }
        let _ = writeln!(out, "    </properties>");
        if findings.is_empty() {
            let _ =
                writeln!(out, "    <testcase classname=\"scopecheck.{}\" name=\"no finding\"/>", xml_escape(&rule.id));
        }
        for f in findings {
            let file = f.examples.first().map(|e| e.file.as_str()).unwrap_or(report.scope.file.as_str());
            let line = f.examples.first().map(|e| format!(" line=\"{}\"", e.line)).unwrap_or_default();
            let _ = writeln!(
                out,
                "    <testcase classname=\"scopecheck.{}\" name=\"{} {}\" file=\"{}\"{line}>",
                xml_escape(&rule.id),
                f.target.kind,
                xml_escape(&f.target.id),
                xml_escape(file)
            );
            match (&f.baseline, f.baselined) {
                // Accepted by a baseline: skipped, with who accepted it and until when.
                (Some(b), true) => {
                    let _ = writeln!(
                        out,
                        "      <skipped message=\"{}\"/>",
                        xml_escape(&format!(
                            "accepted by the baseline until {} (owner {}): {}",
                            b.expires, b.owner, b.reason
                        ))
                    );
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                        f.severity.as_str(),
                        xml_escape(&format!("{}: {} {}", f.severity.as_str(), f.target.kind, f.target.id)),
                        xml_escape(&failure_text(f))
                    );
                }
            }
            let _ = writeln!(out, "    </testcase>");
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(xml_escape("a<b>&\"'\u{1}c\n"), "a&lt;b&gt;&amp;&quot;&apos;\u{FFFD}c\n");
    }
}
