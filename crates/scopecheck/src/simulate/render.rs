//! The formats of a simulation: human (a terminal, a CI log: counts, the decision changes and a
//! unified diff of the two finding sets), json (the contract, `docs/simulate.md`) and sarif (the
//! findings the change brings, for code scanning).

use super::{Change, SimulationReport};
use crate::report::human::Paint;
use crate::report::{Finding, Printer, SarifPrinter};
use crate::rules::Severity;
use std::fmt::Write as _;

/// A simulation report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For a person.
    Human,
    /// The stable contract.
    Json,
    /// SARIF 2.1.0 of the added findings and of the changed ones that got worse.
    Sarif,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 3] = [Format::Human, Format::Json, Format::Sarif];

    /// Its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Sarif => "sarif",
        }
    }

    /// Renders a simulation report.
    pub fn render(self, r: &SimulationReport, color: bool) -> String {
        match self {
            Format::Human => human(r, color),
            Format::Json => {
                let mut s = serde_json::to_string_pretty(r).unwrap_or_default();
                s.push('\n');
                s
            }
            Format::Sarif => {
                let mut out = Vec::new();
                if let Some(report) = r.new_findings_report() {
                    let _ = SarifPrinter.print(&report, &mut out);
                }
                String::from_utf8(out).unwrap_or_default()
            }
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| {
            format!("`{s}` is not a format of `simulate`; use {}", Format::ALL.map(Format::as_str).join(", "))
        })
    }
}

/// A finding on one line, as the diff compares them.
fn line_of(f: &Finding) -> String {
    let cats = if f.categories.is_empty() { String::new() } else { format!(" [{}]", f.categories.join(", ")) };
    let people =
        f.people_affected.map_or(String::new(), |p| format!(", {p} {}", if p == 1 { "person" } else { "people" }));
    format!(
        "{:<8} {} {} {}{cats}: {} {}{people}",
        f.severity.as_str().to_ascii_uppercase(),
        f.rule,
        f.target.kind,
        f.target.id,
        f.count,
        if f.count == 1 { "time" } else { "times" }
    )
}

/// The finding sets as sorted lines (rule, then target), one per finding.
fn lines(findings: &[Finding]) -> String {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by(|a, b| a.rule.cmp(&b.rule).then_with(|| a.target.cmp(&b.target)));
    let mut s = String::new();
    for f in sorted {
        s.push_str(&line_of(f));
        s.push('\n');
    }
    s
}

fn side_line(label: &str, s: &super::SideInfo) -> String {
    let version = s.scope.version.as_deref().map(|v| format!(" (notice {v})")).unwrap_or_default();
    let history =
        if s.scope.history.len() > 1 { format!(", {} versions", s.scope.history.len()) } else { String::new() };
    format!(
        "  {label:<10} scope {}{version}{history}; rules {}; {} acting on {} and above; {} findings",
        s.scope.file,
        s.rules_sha256.get(..12).unwrap_or(&s.rules_sha256),
        s.mode.as_str(),
        s.act_on.as_str(),
        s.findings
    )
}

fn change_line(c: &Change) -> String {
    let (b, a) = (&c.before, &c.after);
    let mut parts = Vec::new();
    for what in &c.changes {
        match what.as_str() {
            "severity" => parts.push(format!("severity {} → {}", b.severity, a.severity)),
            "categories" => {
                parts.push(format!("categories [{}] → [{}]", b.categories.join(", "), a.categories.join(", ")))
            }
            "count" => parts.push(format!("count {} → {}", b.count, a.count)),
            "people" => parts.push(format!(
                "people {} → {}",
                b.people_affected.map_or("-".into(), |p| p.to_string()),
                a.people_affected.map_or("-".into(), |p| p.to_string())
            )),
            _ => {}
        }
    }
    format!("{} {} {}: {}", c.rule, c.target.kind, c.target.id, parts.join("; "))
}

fn human(r: &SimulationReport, color: bool) -> String {
    let p = Paint { on: color };
    let mut out = String::new();
    let s = &r.summary;
    if r.tool.evidence == crate::report::EvidenceMode::Shown {
        let _ = writeln!(
            out,
            "{}",
            p.bold("EVIDENCE SHOWN IN CLEAR (--show-evidence): this report holds captured values; handle it as the captures themselves.")
        );
    }
    let _ = writeln!(out, "{} program {}", p.bold("scopecheck simulate:"), r.candidate.scope.program);
    let _ = writeln!(out, "{}", side_line("current:", &r.current));
    let _ = writeln!(out, "{}", side_line("candidate:", &r.candidate));
    let _ = writeln!(
        out,
        "captures: {} records read, {} evaluated, {} rejected; access entries: {} read",
        s.records_read, s.records_evaluated, s.records_rejected, s.access_read
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{} +{} added, -{} removed, ~{} changed, {} unchanged; people concerned by added findings: {}, by removed: {}",
        p.bold("findings:"),
        s.added,
        s.removed,
        s.changed,
        s.unchanged,
        s.people_added,
        s.people_removed
    );
    if !s.by_rule.is_empty() {
        let width = s.by_rule.keys().map(String::len).max().unwrap_or(0);
        for (rule, c) in &s.by_rule {
            let _ = writeln!(out, "  {rule:<width$}  +{} -{} ~{}", c.added, c.removed, c.changed);
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{} {} of {} events change ({} → {})",
        p.bold("runtime decisions:"),
        s.decisions_changed,
        s.events_decided,
        r.current.mode.as_str(),
        r.candidate.mode.as_str()
    );
    for d in &r.decisions {
        let at: Vec<String> = d.examples.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            out,
            "  {:<6} → {:<6} {} {}, {} {}; at {}",
            d.from.as_str(),
            d.to.as_str(),
            d.events,
            if d.events == 1 { "event" } else { "events" },
            d.people,
            if d.people == 1 { "person" } else { "people" },
            at.join(", ")
        );
    }
    if let Some((before, after)) = r.reports.as_deref() {
        let (old, new) = (lines(&before.findings), lines(&after.findings));
        if old != new {
            let _ = writeln!(out);
            let diff = similar::TextDiff::from_lines(&old, &new);
            let text = diff.unified_diff().context_radius(2).header("current", "candidate").to_string();
            for line in text.lines() {
                let painted = match line.chars().next() {
                    Some('+') if !line.starts_with("+++") => p.wrap("32", line),
                    Some('-') if !line.starts_with("---") => p.wrap("31", line),
                    Some('@') => p.dim(line),
                    _ => line.to_string(),
                };
                let _ = writeln!(out, "{painted}");
            }
        }
    }
    if !r.added.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", p.bold("added:"));
        for f in &r.added {
            finding_detail(&mut out, &p, f);
        }
    }
    if !r.changed.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", p.bold("changed:"));
        for c in &r.changed {
            let mark = if c.worse { " (worse)" } else { "" };
            let _ = writeln!(out, "  {} {}{mark}", p.sev(c.after.severity), change_line(c));
        }
    }
    if !r.removed.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", p.bold("removed:"));
        for f in &r.removed {
            finding_detail(&mut out, &p, f);
        }
    }
    if s.added == 0 && s.removed == 0 && s.changed == 0 && s.decisions_changed == 0 {
        let _ = writeln!(out, "\nno change: the candidate decides every record as the current configuration does");
    }
    out
}

fn finding_detail(out: &mut String, p: &Paint, f: &Finding) {
    let _ = writeln!(out, "  {} {}", p.sev(f.severity), line_of(f).get(9..).unwrap_or_default());
    if !f.examples.is_empty() {
        let at: Vec<String> = f.examples.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "      at {}", at.join(", "));
    }
    if !f.scope_versions.is_empty() {
        let _ = writeln!(out, "      decided by scope version {}", f.scope_versions.join(", "));
    }
    for e in &f.evidence {
        let _ = writeln!(out, "      evidence: {e}");
    }
}

/// Is `s` one of the severities the gate counts (for the summary line of the CLI).
pub fn gate_line(r: &SimulationReport, s: Option<Severity>) -> Option<String> {
    let s = s?;
    let n = r.new_at_or_above(s);
    (n > 0).then(|| format!("{n} new or worsened findings at or above {s} (--fail-on-new {s})"))
}
