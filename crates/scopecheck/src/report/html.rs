//! A self-contained HTML audit report: one file, no script, nothing fetched (its
//! Content-Security-Policy allows only its own inline style sheet, by hash), so it works from a
//! file or an email attachment, and prints.
//!
//! Sections: summary, findings by severity and category, captures over time (per day and per
//! hour of the week, with the scope's capture windows), people affected, findings, evidence
//! (exactly as the report holds it: redacted unless `--show-evidence`), rejected lines, the scope
//! as declared, the policies that decided, provenance. Every text that comes from input is
//! escaped: captures are written by the very program under audit. The same report gives the same
//! bytes (no time, no random ids).

use super::svg::{cell_bar, days_chart, hour_heatmap, severity_bars};
use super::{EvidenceMode, Finding, InputRole, Printer, Report};
use crate::baseline::AcceptanceStatus;
use crate::rules::Severity;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// HTML.
#[derive(Debug, Clone, Copy, Default)]
pub struct HtmlPrinter;

impl Printer for HtmlPrinter {
    fn print(&self, report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        out.write_all(render_html(report).as_bytes())
    }
}

/// Escapes text for HTML character data and quoted attributes; control characters (which HTML
/// does not allow) become U+FFFD.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            '\r' => out.push('\n'),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

pub(super) const STYLE: &str = "\
:root{--fg:#1b1b1b;--muted:#5c5c5c;--line:#d6d6d6;--bg2:#f5f6f8}
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);margin:0 auto;padding:1rem 1.5rem;max-width:72rem}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.2rem;margin:1.6rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
h3{font-size:1rem;margin:1rem 0 .3rem}
p.meta{color:var(--muted);margin:.2rem 0}
nav ul{list-style:none;padding:0;margin:.5rem 0;display:flex;flex-wrap:wrap;gap:.3rem 1rem}
table{border-collapse:collapse;margin:.4rem 0;font-size:13px}
th,td{border:1px solid var(--line);padding:.25rem .45rem;text-align:left;vertical-align:top}
thead th{background:var(--bg2)}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
code{background:var(--bg2);padding:0 .2em;border-radius:3px;overflow-wrap:break-word}
td.ts{white-space:nowrap;font-size:12px}td.rule code{white-space:nowrap}
#findings-table,#evidence-table{width:100%}
pre{background:var(--bg2);padding:.6rem;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere;border:1px solid var(--line)}
ul.plain{margin:0;padding-left:1.1rem}
.sev{display:inline-block;min-width:4.6em;padding:0 .35em;border-radius:3px;color:#fff;font-weight:600;font-size:12px;text-align:center}
.sev-critical{background:#8b0000}.sev-high{background:#d0461a}.sev-medium{background:#b07800}.sev-low{background:#2a6fa8}.sev-info{background:#6b6b6b}
.banner{border:3px solid #8b0000;background:#fdecea;color:#5a0000;padding:.6rem .9rem;font-weight:700;margin:.6rem 0}
.ok{border:2px solid #2e7d32;background:#edf7ee;padding:.5rem .8rem}
.bl{display:inline-block;padding:0 .35em;border-radius:3px;font-weight:600;font-size:12px;border:1px solid}
.bl-accepted{color:#1e5e22;background:#edf7ee;border-color:#2e7d32}.bl-failing{color:#5a0000;background:#fdecea;border-color:#8b0000}
tr.baselined td,tr.baselined th{color:var(--muted)}
td.values code{white-space:pre-wrap}
.cards{display:flex;flex-wrap:wrap;gap:.6rem;margin:.5rem 0}
.card{border:1px solid var(--line);border-radius:4px;padding:.4rem .7rem;min-width:9rem}
.card b{display:block;font-size:1.3rem}
svg.chart{max-width:100%;height:auto;font:11px system-ui,sans-serif;display:block;margin:.3rem 0}
svg.bar{vertical-align:middle;margin-left:.3rem}
details>summary{cursor:pointer;font-weight:600}
footer{margin-top:2rem;color:var(--muted);font-size:12px}
@media print{body{max-width:none;padding:0;font-size:11px}nav{display:none}h2{break-after:avoid}
tr,svg.chart,.card{break-inside:avoid}pre{white-space:pre-wrap;max-height:none}a{color:inherit;text-decoration:none}
.sev,.banner,.bl{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
";

/// `sha256-…` of the style sheet, for the Content-Security-Policy.
pub(super) fn style_hash() -> String {
    format!("sha256-{}", base64(&Sha256::digest(STYLE.as_bytes())))
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let idx = ((n >> (18 - 6 * i)) & 63) as usize;
                out.push(char::from(ABC.get(idx).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Escapes `text`, and shows its `code` spans (rule texts quote keys in backticks) as code.
pub(super) fn prose(text: &str) -> String {
    let escaped = esc(text);
    let parts: Vec<&str> = escaped.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return escaped;
    }
    let mut out = String::with_capacity(escaped.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(part);
            out.push_str("</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

pub(super) fn sev_badge(s: Severity) -> String {
    format!("<span class=\"sev sev-{0}\">{0}</span>", s.as_str())
}

fn people_text(f: &Finding) -> String {
    match (f.people_affected, f.people_affected_exact) {
        (Some(n), Some(false)) => format!("≈{n}"),
        (Some(n), _) => n.to_string(),
        (None, _) => "–".into(),
    }
}

fn approx(n: u64, exact: bool) -> String {
    if exact { n.to_string() } else { format!("≈{n}") }
}

fn render_html(report: &Report) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let program = esc(&report.scope.program);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src '{}'; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>scopecheck audit: {program}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        style_hash()
    );
    header(&mut out, report);
    summary(&mut out, report);
    baseline(&mut out, report);
    by_severity_and_category(&mut out, report);
    timeline(&mut out, report);
    people(&mut out, report);
    findings(&mut out, report);
    evidence(&mut out, report);
    rejected(&mut out, report);
    scope(&mut out, report);
    policies(&mut out, report);
    provenance(&mut out, report);
    let _ = writeln!(
        out,
        "<footer>Written by scopecheck {} (report format {}). No script; nothing in this page is fetched.</footer>\n</body>\n</html>",
        esc(&report.tool.version),
        report.tool.format
    );
    out
}

fn header(out: &mut String, report: &Report) {
    let sc = &report.scope;
    out.push_str("<header>\n");
    if report.tool.evidence == EvidenceMode::Shown {
        out.push_str(
            "<div class=\"banner\" role=\"alert\" id=\"evidence-shown\">EVIDENCE SHOWN IN CLEAR (--show-evidence): this report holds captured values and people's ids; handle it as the captures themselves.</div>\n",
        );
    }
    let _ = writeln!(out, "<h1>scopecheck audit: {}</h1>", esc(&sc.program));
    let mut meta = format!("Scope <code>{}</code>", esc(&sc.file));
    if let Some(v) = &sc.version {
        let _ = write!(meta, ", notice version <code>{}</code>", esc(v));
    }
    if let Some(n) = &sc.notice {
        let _ = write!(meta, ", notice <code>{}</code>", esc(n));
    }
    let _ = writeln!(
        out,
        "<p class=\"meta\">{meta}. Evidence {}.</p>",
        match report.tool.evidence {
            EvidenceMode::Redacted => "redacted",
            EvidenceMode::Shown => "<strong>shown in clear</strong>",
        }
    );
    let baseline_link = if report.baseline.is_some() { "<li><a href=\"#baseline\">Baseline</a></li>" } else { "" };
    let _ = write!(
        out,
        "<nav aria-label=\"Sections\"><ul><li><a href=\"#summary\">Summary</a></li>{baseline_link}<li><a href=\"#by-severity\">By severity and category</a></li>\
         <li><a href=\"#timeline\">Over time</a></li><li><a href=\"#people\">People affected</a></li><li><a href=\"#findings\">Findings</a></li>\
         <li><a href=\"#evidence\">Evidence</a></li><li><a href=\"#rejected\">Rejected lines</a></li><li><a href=\"#scope\">Scope</a></li>\
         <li><a href=\"#policies\">Policies</a></li><li><a href=\"#provenance\">Provenance</a></li></ul></nav>\n</header>\n",
    );
}

fn summary(out: &mut String, report: &Report) {
    let s = &report.summary;
    out.push_str("<section aria-labelledby=\"summary\">\n<h2 id=\"summary\">Summary</h2>\n");
    if report.findings.is_empty() {
        out.push_str("<p class=\"ok\">No findings: nothing captured goes beyond the declared scope.</p>\n");
    }
    out.push_str("<div class=\"cards\">\n");
    let mut card = |label: &str, value: String| {
        let _ = writeln!(out, "<div class=\"card\"><b>{value}</b>{label}</div>");
    };
    card("findings", s.findings.to_string());
    card("people affected", approx(s.people_affected, s.people_affected_exact));
    card("people captured", approx(s.people_captured, s.people_captured_exact));
    card("records evaluated", s.records_evaluated.to_string());
    card("records rejected", s.records_rejected.to_string());
    out.push_str("</div>\n");
    out.push_str("<table id=\"summary-table\">\n<caption>Counts</caption>\n<tbody>\n");
    let severities: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|sev| s.by_severity.get(sev).filter(|n| **n > 0).map(|n| format!("{} {n}", sev_badge(*sev))))
        .collect();
    let rows: [(&str, String); 11] = [
        ("program", format!("<code>{}</code>", esc(&report.scope.program))),
        (
            "notice version",
            if report.scope.history.is_empty() {
                report.scope.version.as_deref().map_or("–".into(), esc)
            } else {
                // A history: every version, and when it took effect.
                report
                    .scope
                    .history
                    .iter()
                    .map(|v| format!("{} from {}", esc(&v.version), esc(v.effective_from.as_deref().unwrap_or("?"))))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        ),
        ("capture files", s.files.iter().map(|f| format!("<code>{}</code>", esc(f))).collect::<Vec<_>>().join(" ")),
        (
            "capture records",
            format!("{} read, {} evaluated, {} rejected", s.records_read, s.records_evaluated, s.records_rejected),
        ),
        (
            "access entries",
            format!("{} read, {} evaluated, {} rejected", s.access_read, s.access_evaluated, s.access_rejected),
        ),
        (
            "records without a person",
            format!(
                "{} without <code>subject</code>, {} without <code>subject_kind</code>",
                s.records_without_subject, s.records_without_subject_kind
            ),
        ),
        ("stores in the inventory", s.stores_observed.to_string()),
        ("people captured", approx(s.people_captured, s.people_captured_exact)),
        ("people affected", approx(s.people_affected, s.people_affected_exact)),
        ("findings", s.findings.to_string()),
        ("by severity", if severities.is_empty() { "–".into() } else { severities.join(" ") }),
    ];
    for (k, v) in rows {
        let _ = writeln!(out, "<tr><th scope=\"row\">{k}</th><td>{v}</td></tr>");
    }
    out.push_str("</tbody>\n</table>\n");
    if !report.warnings.is_empty() {
        out.push_str("<h3>Warnings</h3>\n<ul>\n");
        for w in &report.warnings {
            let _ = writeln!(out, "<li>{}</li>", esc(w));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

/// How a finding stands against the baseline, for its table cell; `None` without a baseline.
fn baseline_status(report: &Report, f: &Finding) -> Option<String> {
    report.baseline.as_ref()?;
    let Some(b) = &f.baseline else {
        return Some("<span class=\"bl bl-failing\">new</span> no entry accepts it: fails the gate".into());
    };
    let (badge, what) = match b.status {
        AcceptanceStatus::Accepted => ("<span class=\"bl bl-accepted\">accepted</span>", "until".to_string()),
        AcceptanceStatus::Expired => {
            ("<span class=\"bl bl-failing\">expired</span>", "fails the gate: expired on".to_string())
        }
        AcceptanceStatus::NewCategories => (
            "<span class=\"bl bl-failing\">new categories</span>",
            format!(
                "fails the gate: the entry does not accept {}; accepted until",
                b.new_categories.iter().map(|c| format!("<code>{}</code>", esc(c))).collect::<Vec<_>>().join(" ")
            ),
        ),
    };
    Some(format!(
        "{badge} {what} <span class=\"ts\">{}</span><br>{}<br><small>owner {}</small>",
        esc(&b.expires),
        esc(&b.reason),
        esc(&b.owner)
    ))
}

/// The baseline: what it accepted, what fails, and its entries no finding used.
fn baseline(out: &mut String, report: &Report) {
    let Some(b) = &report.baseline else { return };
    out.push_str("<section aria-labelledby=\"baseline\">\n<h2 id=\"baseline\">Baseline</h2>\n");
    let _ = writeln!(
        out,
        "<p>Findings accepted for now in <code>{}</code>, each with a reason, an owner and an expiry date. Accepted findings stay listed, marked, and do not fail the gate; an expired acceptance, or a category the entry does not accept, fails it.</p>",
        esc(&b.file)
    );
    out.push_str("<div class=\"cards\">\n");
    let _ = writeln!(out, "<div class=\"card\" id=\"baseline-accepted\"><b>{}</b>accepted</div>", b.accepted);
    let _ = writeln!(out, "<div class=\"card\" id=\"baseline-expired\"><b>{}</b>expired (failing)</div>", b.expired);
    let _ = writeln!(out, "<div class=\"card\" id=\"baseline-new\"><b>{}</b>new (not accepted)</div>", b.new);
    let _ = writeln!(out, "<div class=\"card\" id=\"baseline-unused\"><b>{}</b>unused entries</div>", b.unused.len());
    out.push_str("</div>\n");
    let accepted: Vec<(usize, &Finding)> =
        report.findings.iter().enumerate().filter(|(_, f)| f.baseline.is_some()).collect();
    if !accepted.is_empty() {
        out.push_str("<table id=\"baseline-table\">\n<caption>Findings with an entry in the baseline</caption>\n<thead><tr><th scope=\"col\">finding</th><th scope=\"col\">rule</th><th scope=\"col\">target</th><th scope=\"col\">status</th><th scope=\"col\">reason</th><th scope=\"col\">owner</th><th scope=\"col\">expires</th></tr></thead>\n<tbody>\n");
        for (i, f) in accepted {
            let Some(a) = &f.baseline else { continue };
            let status = match a.status {
                AcceptanceStatus::Accepted => "<span class=\"bl bl-accepted\">accepted</span>",
                AcceptanceStatus::Expired => "<span class=\"bl bl-failing\">expired: failing</span>",
                AcceptanceStatus::NewCategories => "<span class=\"bl bl-failing\">new categories: failing</span>",
            };
            let _ = writeln!(
                out,
                "<tr><td><a href=\"#f{n}\">#{n}</a></td><td><code>{}</code></td><td>{} <code>{}</code></td><td>{status}</td><td>{}</td><td>{}</td><td class=\"ts\">{}</td></tr>",
                esc(&f.rule),
                f.target.kind,
                esc(&f.target.id),
                esc(&a.reason),
                esc(&a.owner),
                esc(&a.expires),
                n = i + 1
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    if b.unused.is_empty() {
        out.push_str("<p>Every entry of the baseline matched a finding.</p>\n");
    } else {
        out.push_str("<table id=\"baseline-unused-table\">\n<caption>Entries that match no finding: remove them, so the file does not rot</caption>\n<thead><tr><th scope=\"col\">fingerprint</th><th scope=\"col\">rule</th><th scope=\"col\">target</th><th scope=\"col\">owner</th></tr></thead>\n<tbody>\n");
        for u in &b.unused {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&u.fingerprint),
                u.rule.as_deref().map_or("–".into(), |r| format!("<code>{}</code>", esc(r))),
                u.target.as_deref().map_or("–".into(), |t| format!("<code>{}</code>", esc(t))),
                esc(&u.owner)
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn by_severity_and_category(out: &mut String, report: &Report) {
    out.push_str(
        "<section aria-labelledby=\"by-severity\">\n<h2 id=\"by-severity\">Findings by severity and category</h2>\n",
    );
    out.push_str(&severity_bars(report));
    if report.findings.is_empty() {
        out.push_str("</section>\n");
        return;
    }
    let mut by_cat: BTreeMap<&str, BTreeMap<Severity, u64>> = BTreeMap::new();
    for f in &report.findings {
        *by_cat.entry(f.category.as_deref().unwrap_or("(none)")).or_default().entry(f.severity).or_insert(0) += 1;
    }
    out.push_str("<table id=\"by-category\">\n<caption>Findings per category (the most sensitive category involved) and severity</caption>\n<thead><tr><th scope=\"col\">category</th>");
    for s in Severity::ALL {
        let _ = write!(out, "<th scope=\"col\" class=\"n\">{}</th>", s.as_str());
    }
    out.push_str("<th scope=\"col\" class=\"n\">total</th></tr></thead>\n<tbody>\n");
    for (cat, counts) in &by_cat {
        let _ = write!(out, "<tr><th scope=\"row\"><code>{}</code></th>", esc(cat));
        for s in Severity::ALL {
            match counts.get(&s) {
                Some(n) => {
                    let _ = write!(out, "<td class=\"n\">{n}</td>");
                }
                None => out.push_str("<td class=\"n\"></td>"),
            }
        }
        let _ = writeln!(out, "<td class=\"n\">{}</td></tr>", counts.values().sum::<u64>());
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn timeline(out: &mut String, report: &Report) {
    let t = &report.timeline;
    out.push_str("<section aria-labelledby=\"timeline\">\n<h2 id=\"timeline\">Captures over time</h2>\n");
    let _ = writeln!(
        out,
        "<p>Local time in <code>{}</code> (the scope's <code>windows.timezone</code>, or UTC). A capture is flagged when at least one finding concerns it.</p>",
        esc(&t.timezone)
    );
    out.push_str("<h3>Per day</h3>\n");
    out.push_str(&days_chart(t));
    out.push_str("<h3>Per hour of the week</h3>\n");
    out.push_str(&hour_heatmap(t));
    out.push_str("</section>\n");
}

fn people(out: &mut String, report: &Report) {
    let s = &report.summary;
    let m = &report.people;
    out.push_str("<section aria-labelledby=\"people\">\n<h2 id=\"people\">People affected</h2>\n");
    let _ = writeln!(
        out,
        "<p>{} of {} people captured are concerned by at least one finding. Counted: {}; exact up to {}, then {} (relative error {:.2}&nbsp;%).</p>",
        approx(s.people_affected, s.people_affected_exact),
        approx(s.people_captured, s.people_captured_exact),
        prose(&m.counts),
        m.exact_up_to,
        esc(&m.estimator),
        m.relative_error * 100.0
    );
    let mut rows: Vec<(usize, &Finding)> =
        report.findings.iter().enumerate().filter(|(_, f)| f.people_affected.is_some()).collect();
    if rows.is_empty() {
        out.push_str("<p>No finding concerns captured people.</p>\n</section>\n");
        return;
    }
    rows.sort_by(|(ia, a), (ib, b)| b.people_affected.cmp(&a.people_affected).then(ia.cmp(ib)));
    let max = rows.iter().filter_map(|(_, f)| f.people_affected).max().unwrap_or(0);
    out.push_str("<table id=\"people-table\">\n<caption>People concerned per finding, most first</caption>\n<thead><tr><th scope=\"col\">finding</th><th scope=\"col\">rule</th><th scope=\"col\">target</th><th scope=\"col\" class=\"n\">people</th></tr></thead>\n<tbody>\n");
    for (i, f) in rows {
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#f{n}\">#{n}</a></td><td><code>{}</code></td><td>{} <code>{}</code></td><td class=\"n\">{}{}</td></tr>",
            esc(&f.rule),
            f.target.kind,
            esc(&f.target.id),
            people_text(f),
            cell_bar(f.people_affected.unwrap_or(0), max),
            n = i + 1
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn findings(out: &mut String, report: &Report) {
    out.push_str("<section aria-labelledby=\"findings\">\n<h2 id=\"findings\">Findings</h2>\n");
    if report.findings.is_empty() {
        out.push_str("<p>No findings.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<table id=\"findings-table\">\n<caption>One finding per rule and target, most severe first</caption>\n<thead><tr>\
         <th scope=\"col\">#</th><th scope=\"col\">severity</th><th scope=\"col\">rule</th><th scope=\"col\">what</th>\
         <th scope=\"col\">target</th><th scope=\"col\">categories</th><th scope=\"col\" class=\"n\">count</th>\
         <th scope=\"col\" class=\"n\">people</th><th scope=\"col\">first seen</th><th scope=\"col\">last seen</th>",
    );
    if report.baseline.is_some() {
        out.push_str("<th scope=\"col\">baseline</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (i, f) in report.findings.iter().enumerate() {
        let cats: Vec<String> = f.categories.iter().map(|c| format!("<code>{}</code>", esc(c))).collect();
        let status = baseline_status(report, f).map(|s| format!("<td>{s}</td>")).unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr class=\"finding{}\" id=\"f{n}\" data-fingerprint=\"{fp}\"><th scope=\"row\">{n}</th><td>{}</td><td class=\"rule\"><code>{}</code></td><td>{}</td><td>{} <code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"ts\">{}</td><td class=\"ts\">{}</td>{status}</tr>",
            if f.baselined { " baselined" } else { "" },
            sev_badge(f.severity),
            esc(&f.rule),
            prose(&f.title),
            f.target.kind,
            esc(&f.target.id),
            cats.join(" "),
            f.count,
            people_text(f),
            f.first_seen.as_deref().map_or("–".into(), esc),
            f.last_seen.as_deref().map_or("–".into(), esc),
            n = i + 1,
            fp = esc(&f.fingerprint),
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn evidence(out: &mut String, report: &Report) {
    out.push_str("<section aria-labelledby=\"evidence\">\n<h2 id=\"evidence\">Evidence</h2>\n");
    let _ = writeln!(
        out,
        "<p>{}</p>",
        match report.tool.evidence {
            EvidenceMode::Redacted =>
                "Values are redacted (kind, length, last digits); run with <code>--show-evidence</code> to see them.",
            EvidenceMode::Shown => "<strong>Values and people's ids are shown in clear.</strong>",
        }
    );
    if report.findings.is_empty() {
        out.push_str("<p>No findings, no evidence.</p>\n</section>\n");
        return;
    }
    let shows_people = report.findings.iter().any(|f| !f.subjects.is_empty() || !f.pseudonyms.is_empty());
    out.push_str("<table id=\"evidence-table\">\n<caption>What each finding saw, and where</caption>\n<thead><tr><th scope=\"col\">#</th><th scope=\"col\">rule and target</th><th scope=\"col\">evidence</th><th scope=\"col\">where</th><th scope=\"col\">details</th>");
    if shows_people {
        out.push_str("<th scope=\"col\">people</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (i, f) in report.findings.iter().enumerate() {
        let list = |items: &mut dyn Iterator<Item = String>| {
            let items: Vec<String> = items.map(|t| format!("<li>{t}</li>")).collect();
            if items.is_empty() { "–".to_string() } else { format!("<ul class=\"plain\">{}</ul>", items.concat()) }
        };
        let ev = list(&mut f.evidence.iter().map(|e| format!("<code>{}</code>", esc(e))));
        let at = list(&mut f.examples.iter().map(|e| format!("<code>{}</code>", esc(&e.to_string()))));
        let details = list(&mut f.details.iter().map(|(k, v)| {
            let vs: Vec<String> = v.iter().map(|x| format!("<code>{}</code>", esc(x))).collect();
            format!("{}: {}", esc(k), vs.join(" "))
        }));
        let _ = write!(
            out,
            "<tr><th scope=\"row\"><a href=\"#f{n}\">{n}</a></th><td><code>{}</code><br>{} <code>{}</code></td><td>{ev}</td><td>{at}</td><td>{details}</td>",
            esc(&f.rule),
            f.target.kind,
            esc(&f.target.id),
            n = i + 1
        );
        if shows_people {
            let people = list(
                &mut f
                    .subjects
                    .iter()
                    .map(|s| format!("id <code>{}</code>", esc(s)))
                    .chain(f.pseudonyms.iter().map(|p| format!("pseudonym <code>{}</code>", esc(p)))),
            );
            let _ = write!(out, "<td>{people}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn rejected(out: &mut String, report: &Report) {
    let s = &report.summary;
    out.push_str("<section aria-labelledby=\"rejected\">\n<h2 id=\"rejected\">Rejected lines</h2>\n");
    if report.rejected.is_empty() && s.rejected_not_listed == 0 {
        out.push_str("<p>None: every line was evaluated.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(
        out,
        "<p>{} capture lines and {} access-log lines were not evaluated.</p>",
        s.records_rejected, s.access_rejected
    );
    out.push_str("<table id=\"rejected-table\">\n<thead><tr><th scope=\"col\">file</th><th scope=\"col\" class=\"n\">line</th><th scope=\"col\">reason</th></tr></thead>\n<tbody>\n");
    for r in &report.rejected {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&r.file),
            r.line,
            esc(&r.reason)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if s.rejected_not_listed > 0 {
        let _ = writeln!(out, "<p>And {} more, not listed.</p>", s.rejected_not_listed);
    }
    out.push_str("</section>\n");
}

fn scope(out: &mut String, report: &Report) {
    out.push_str("<section aria-labelledby=\"scope\">\n<h2 id=\"scope\">The scope as declared</h2>\n");
    let digest = report.provenance.inputs.iter().find(|i| i.role == InputRole::Scope);
    let _ = writeln!(
        out,
        "<p><code>{}</code>{}</p>",
        esc(&report.scope.file),
        digest.map(|d| format!(", sha256 <code>{}</code>", esc(&d.sha256))).unwrap_or_default()
    );
    match &report.scope_text {
        Some(text) => {
            let _ = writeln!(out, "<pre id=\"scope-text\"><code>{}</code></pre>", esc(text));
        }
        None => out.push_str("<p>The scope's text was not given to this report.</p>\n"),
    }
    out.push_str("</section>\n");
}

fn policies(out: &mut String, report: &Report) {
    out.push_str("<section aria-labelledby=\"policies\">\n<h2 id=\"policies\">The policies that decided</h2>\n");
    let _ = writeln!(
        out,
        "<p>Rules in force (sha256 of the Cedar schema, every rule file and the rules switched off: <code>{}</code>).</p>",
        esc(&report.provenance.rules_sha256)
    );
    let mut fired: BTreeMap<&str, u64> = BTreeMap::new();
    for f in &report.findings {
        *fired.entry(f.rule.as_str()).or_insert(0) += 1;
    }
    out.push_str("<table id=\"rules-table\">\n<thead><tr><th scope=\"col\">rule</th><th scope=\"col\">severity</th><th scope=\"col\">title</th><th scope=\"col\">origin</th><th scope=\"col\" class=\"n\">findings</th><th scope=\"col\">how to fix</th></tr></thead>\n<tbody>\n");
    for r in &report.rules {
        let reference = r.reference.as_deref().map(|x| format!("<br><small>{}</small>", esc(x))).unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td><td><code>{}</code></td><td class=\"n\">{}</td><td>{}{reference}</td></tr>",
            esc(&r.id),
            sev_badge(r.severity),
            prose(&r.title),
            esc(&r.origin),
            fired.get(r.id.as_str()).copied().unwrap_or(0),
            prose(&r.help),
        );
    }
    out.push_str("</tbody>\n</table>\n");
    for (i, (name, text)) in report.policy_sources.iter().enumerate() {
        let builtin = name.as_str() == crate::rules::BUILTIN_FILE;
        let _ = writeln!(
            out,
            "<details id=\"policy-{}\"{}><summary>{} <code>{}</code> ({} lines)</summary>\n<pre><code>{}</code></pre>\n</details>",
            i + 1,
            if builtin { "" } else { " open" },
            if builtin { "Built-in rules" } else { "Rule file" },
            esc(name),
            text.lines().count(),
            esc(text)
        );
    }
    out.push_str("</section>\n");
}

fn provenance(out: &mut String, report: &Report) {
    let p = &report.provenance;
    out.push_str("<section aria-labelledby=\"provenance\">\n<h2 id=\"provenance\">Provenance</h2>\n");
    let _ =
        writeln!(out, "<p>scopecheck {}; every input by digest, in the order read.</p>", esc(&p.scopecheck_version));
    out.push_str("<table id=\"inputs-table\">\n<thead><tr><th scope=\"col\">role</th><th scope=\"col\">file</th><th scope=\"col\">sha256</th><th scope=\"col\" class=\"n\">bytes</th></tr></thead>\n<tbody>\n");
    for i in &p.inputs {
        let role = serde_json::to_value(i.role).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td class=\"n\">{}</td></tr>",
            esc(&role),
            esc(&i.file),
            esc(&i.sha256),
            i.bytes
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(
            esc("<script>alert(1)</script>\"'&\u{0}\r"),
            "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;\u{FFFD}\n"
        );
    }

    #[test]
    fn prose_shows_code_spans_after_escaping() {
        assert_eq!(prose("set `a<b` here"), "set <code>a&lt;b</code> here");
        assert_eq!(prose("odd ` tick"), "odd ` tick");
    }

    #[test]
    fn base64_matches_known_values() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
