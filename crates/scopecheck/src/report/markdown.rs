//! Markdown, for a pull-request comment or `$GITHUB_STEP_SUMMARY`: short, severity first,
//! details collapsed (`<details>`), GitHub-flavoured tables.

use super::{EvidenceMode, Finding, Printer, Report};
use crate::rules::Severity;
use std::fmt::Write as _;

/// Markdown.
#[derive(Debug, Clone, Copy, Default)]
pub struct MarkdownPrinter;

impl Printer for MarkdownPrinter {
    fn print(&self, report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        out.write_all(render_markdown(report).as_bytes())
    }
}

/// Escapes text for a Markdown table cell or inline text: no markup, no HTML, no line breaks.
pub(crate) fn md(text: &str) -> String {
    escape(text, &['\\', '`', '*', '_', '[', ']', '<', '>', '|', '#', '~', '!', '&'])
}

/// Rule metadata (titles, help, references): written as Markdown on purpose (help quotes keys as
/// code), so only HTML and what would break a line or a table is escaped.
pub(crate) fn prose(text: &str) -> String {
    escape(text, &['<', '>', '|', '&'])
}

/// Backslash-escapes `special`; line breaks and tabs become spaces, control characters U+FFFD.
fn escape(text: &str, special: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            c if special.contains(&c) => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A code span: backslash escapes do not work inside one, so a backtick becomes `'`; a pipe is
/// escaped (GitHub splits table cells on it even inside code), line breaks become spaces.
pub(crate) fn code(text: &str) -> String {
    let inner: String = text
        .chars()
        .map(|c| match c {
            '`' => '\'',
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect();
    format!("`{}`", inner.replace('|', "\\|"))
}

pub(crate) fn icon(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "🟥",
        Severity::High => "🟧",
        Severity::Medium => "🟨",
        Severity::Low => "🟦",
        Severity::Info => "⬜",
    }
}

fn people(f: &Finding) -> String {
    match (f.people_affected, f.people_affected_exact) {
        (Some(n), Some(false)) => format!("≈{n}"),
        (Some(n), _) => n.to_string(),
        (None, _) => "–".into(),
    }
}

fn render_markdown(report: &Report) -> String {
    let s = &report.summary;
    let mut out = String::new();
    let version = report.scope.version.as_deref().map(|v| format!(" (notice {})", md(v))).unwrap_or_default();
    let _ = writeln!(out, "### scopecheck: {}{version}\n", md(&report.scope.program));
    if report.tool.evidence == EvidenceMode::Shown {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> Evidence shown in clear (`--show-evidence`): this report holds captured values and people's ids.\n"
        );
    }
    if report.findings.is_empty() {
        let _ = writeln!(out, "✅ **No findings.**");
    } else {
        let counts: Vec<String> = Severity::ALL
            .iter()
            .filter_map(|sev| {
                let n = s.by_severity.get(sev).copied().unwrap_or(0);
                (n > 0).then(|| format!("{} {n} {}", icon(*sev), sev.as_str()))
            })
            .collect();
        let _ = writeln!(
            out,
            "❌ **{} finding{}**: {}. People affected: {}{}.",
            report.findings.len(),
            if report.findings.len() == 1 { "" } else { "s" },
            counts.join(", "),
            if s.people_affected_exact { "" } else { "about " },
            s.people_affected
        );
    }
    let _ = writeln!(
        out,
        "\n{} records read, {} evaluated, {} rejected; {} access entries read, {} rejected.",
        s.records_read, s.records_evaluated, s.records_rejected, s.access_read, s.access_rejected
    );
    if !report.findings.is_empty() {
        let _ = writeln!(out, "\n| severity | rule | target | categories | count | people |");
        let _ = writeln!(out, "|---|---|---|---|---:|---:|");
        for f in &report.findings {
            let _ = writeln!(
                out,
                "| {} {}{} | {} | {} {} | {} | {} | {} |",
                icon(f.severity),
                f.severity.as_str(),
                if f.baselined { " (accepted)" } else { "" },
                code(&f.rule),
                f.target.kind,
                code(&f.target.id),
                md(&f.categories.join(", ")),
                f.count,
                people(f)
            );
        }
        let _ = writeln!(
            out,
            "\n<details><summary>Details: evidence (redacted unless shown), where, how to fix</summary>\n"
        );
        for f in &report.findings {
            let _ = writeln!(
                out,
                "#### {} {} on {} {}\n\n{}",
                icon(f.severity),
                code(&f.rule),
                f.target.kind,
                code(&f.target.id),
                prose(&f.title)
            );
            if !f.evidence.is_empty() {
                let ev: Vec<String> = f.evidence.iter().map(|e| code(e)).collect();
                let _ = writeln!(out, "\n- evidence: {}", ev.join(", "));
            }
            if !f.examples.is_empty() {
                let at: Vec<String> = f.examples.iter().map(|e| code(&e.to_string())).collect();
                let _ = writeln!(out, "- at: {}", at.join(", "));
            }
            if let (Some(a), Some(b)) = (&f.first_seen, &f.last_seen) {
                let _ = writeln!(out, "- seen: {} .. {}", md(a), md(b));
            }
            if let Some(r) = &f.reference {
                let _ = writeln!(out, "- reference: {}", prose(r));
            }
            let _ = writeln!(out, "- fix: {}\n", prose(&f.help));
        }
        let _ = writeln!(out, "</details>");
    }
    if s.records_rejected + s.access_rejected > 0 {
        let _ = writeln!(out, "\n<details><summary>Rejected lines (not evaluated)</summary>\n");
        for r in &report.rejected {
            let _ = writeln!(out, "- {}: {}", code(&format!("{}:{}", r.file, r.line)), md(&r.reason));
        }
        if s.rejected_not_listed > 0 {
            let _ = writeln!(out, "- and {} more, not listed", s.rejected_not_listed);
        }
        let _ = writeln!(out, "\n</details>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_carry_no_markup() {
        assert_eq!(md("a|b <script> `x`\n*y*"), "a\\|b \\<script\\> \\`x\\` \\*y\\*");
        assert_eq!(code("a|b`c\nd"), "`a\\|b'c d`");
    }
}
