//! The human form of a report.

use super::{Printer, Report};
use crate::rules::Severity;
use std::fmt::Write as _;

pub(crate) struct Paint {
    pub(crate) on: bool,
}

impl Paint {
    pub(crate) fn wrap(&self, code: &str, text: &str) -> String {
        if self.on { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }
    pub(crate) fn sev(&self, s: Severity) -> String {
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
    pub(crate) fn bold(&self, t: &str) -> String {
        self.wrap("1", t)
    }
    pub(crate) fn dim(&self, t: &str) -> String {
        self.wrap("2", t)
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 { format!("{n} {one}") } else { format!("{n} {many}") }
}

/// The human form: grouped by severity, then rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct HumanPrinter {
    /// ANSI colours.
    pub color: bool,
}

impl Printer for HumanPrinter {
    fn print(&self, report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        out.write_all(render_human(report, self.color).as_bytes())
    }
}

fn render_human(report: &Report, color: bool) -> String {
    let p = Paint { on: color };
    let mut out = String::new();
    let s = &report.summary;
    let version = report.scope.version.as_deref().map(|v| format!(" (notice {v})")).unwrap_or_default();
    if report.tool.evidence == super::EvidenceMode::Shown {
        let _ = writeln!(
            out,
            "{}",
            p.bold("EVIDENCE SHOWN IN CLEAR (--show-evidence): this report holds captured values and people's ids; handle it as the captures themselves.")
        );
    }
    let _ = writeln!(
        out,
        "{} program {}{version}, scope {}",
        p.bold("scopecheck audit:"),
        report.scope.program,
        report.scope.file
    );
    if !report.scope.history.is_empty() {
        let versions: Vec<String> = report
            .scope
            .history
            .iter()
            .map(|v| format!("{} from {} ({})", v.version, v.effective_from.as_deref().unwrap_or("?"), v.file))
            .collect();
        let _ = writeln!(out, "scope versions, each event judged by the one in force: {}", versions.join("; "));
    }
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
    if s.records_evaluated > 0 {
        let about = if s.people_captured_exact { "" } else { "about " };
        let mut line = format!("people: {about}{} captured", s.people_captured);
        if s.records_without_subject > 0 {
            line.push_str(&format!(", {} without `subject`", plural(s.records_without_subject, "record", "records")));
        }
        if s.records_without_subject_kind > 0 {
            line.push_str(&format!(
                ", {} without `subject_kind` (not checked against `subjects:`)",
                plural(s.records_without_subject_kind, "record", "records")
            ));
        }
        let _ = writeln!(out, "{line}");
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
        let people = match (f.people_affected, f.people_affected_exact) {
            (Some(n), Some(false)) => format!(", about {}", plural(n, "person", "people")),
            (Some(n), _) => format!(", {}", plural(n, "person", "people")),
            (None, _) => String::new(),
        };
        let _ = writeln!(
            out,
            "  - {} {}{cats}  {}{people}{when}",
            f.target.kind,
            p.bold(&f.target.id),
            plural(f.count, "time", "times")
        );
        if let Some(b) = &f.baseline {
            let state = match b.status {
                crate::baseline::AcceptanceStatus::Accepted => format!("accepted until {}", b.expires),
                crate::baseline::AcceptanceStatus::Expired => format!("acceptance EXPIRED on {}", b.expires),
                crate::baseline::AcceptanceStatus::NewCategories => {
                    format!("NEW: the baseline does not accept {}", b.new_categories.join(", "))
                }
            };
            let _ = writeln!(out, "      baseline: {state} (owner {}: {})", b.owner, b.reason);
        }
        if !f.examples.is_empty() {
            let at: Vec<String> = f.examples.iter().map(ToString::to_string).collect();
            let _ = writeln!(out, "      at {}", at.join(", "));
        }
        if !f.scope_versions.is_empty() {
            let _ = writeln!(out, "      decided by scope version {}", f.scope_versions.join(", "));
        }
        if !f.pseudonyms.is_empty() {
            let _ = writeln!(out, "      people (pseudonyms): {}", f.pseudonyms.join(", "));
        }
        if !f.subjects.is_empty() {
            let _ = writeln!(out, "      people (ids): {}", f.subjects.join(", "));
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
    if let Some(score) = &report.score {
        score_section(&mut out, &p, score);
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
        let about = if s.people_affected_exact { "" } else { "about " };
        let _ = writeln!(
            out,
            "{}: {}; {about}{} affected",
            plural(s.findings, "finding", "findings"),
            parts.join(", "),
            plural(s.people_affected, "person", "people")
        );
    }
    if let Some(b) = &report.baseline {
        let _ = writeln!(
            out,
            "baseline {}: {} accepted, {} new, {} expired, {} unused {}",
            b.file,
            b.accepted,
            b.new,
            b.expired,
            b.unused.len(),
            if b.unused.len() == 1 { "entry" } else { "entries" }
        );
    }
    out
}

fn ratio(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"))
}

/// The score against labels: per rule, events then findings, and what was missed.
fn score_section(out: &mut String, p: &Paint, score: &crate::labels::Score) {
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", p.bold(&format!("score against {} ({} labels):", score.labels, score.label_count)));
    for (level, rows, total) in
        [("events", &score.events, &score.events_total), ("findings", &score.findings, &score.findings_total)]
    {
        let _ = writeln!(out, "  {level:<32} {:>9} {:>9} {:>9} {:>9} {:>9}", "tp", "fp", "fn", "precision", "recall");
        for r in rows.iter().chain(std::iter::once(total)) {
            let _ = writeln!(
                out,
                "    {:<30} {:>9} {:>9} {:>9} {:>9} {:>9}",
                r.rule,
                r.true_positives,
                r.false_positives,
                r.false_negatives,
                ratio(r.precision),
                ratio(r.recall)
            );
        }
    }
    for (what, items) in [("missed", &score.missed), ("not labelled", &score.unexpected)] {
        for m in items {
            let at = if m.line > 0 { format!("{}:{}", m.file, m.line) } else { m.file.clone() };
            let _ = writeln!(out, "  {what}: {at}: {} on {} {}", m.rule, m.target.kind, m.target.id);
        }
    }
}
