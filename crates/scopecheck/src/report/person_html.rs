//! The subject access report as one self-contained HTML page: no script, nothing fetched (the
//! same Content-Security-Policy as the audit page: only its own inline style sheet, by hash).
//!
//! Sections: a banner (the page holds one person's data), summary, what was captured (fields with
//! the person's own values, categories), when (per day and hour of the week), where (stores), who
//! read it and for what, what the notice did not cover (findings), how the report was made, and
//! provenance. Every text from input is escaped.

use super::html::{STYLE, esc, prose, sev_badge, style_hash};
use super::svg::{days_chart, hour_heatmap};
use crate::baseline::AcceptanceStatus;
use crate::person::PersonReport;
use std::fmt::Write as _;

/// Renders the page.
pub fn render_person_html(r: &PersonReport) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src '{}'; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>What {} holds about {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        style_hash(),
        esc(&r.scope.program),
        esc(&r.person.subject),
    );
    header(&mut out, r);
    summary(&mut out, r);
    if r.found {
        fields(&mut out, r);
        when(&mut out, r);
        stores(&mut out, r);
        access(&mut out, r);
        findings(&mut out, r);
    }
    method(&mut out, r);
    provenance(&mut out, r);
    let _ = writeln!(
        out,
        "<footer>Written by scopecheck {} (person report format {}). No script; nothing in this page is fetched.</footer>\n</body>\n</html>",
        esc(&r.tool.version),
        r.format
    );
    out
}

fn header(out: &mut String, r: &PersonReport) {
    let _ = writeln!(out, "<header>\n<div class=\"banner\" role=\"alert\" id=\"one-person\">{}</div>", esc(&r.banner));
    let _ = writeln!(
        out,
        "<h1>What <code>{}</code> holds about <code>{}</code></h1>",
        esc(&r.scope.program),
        esc(&r.person.subject)
    );
    let mut meta = format!("Subject access report. Scope <code>{}</code>", esc(&r.scope.file));
    if let Some(v) = &r.scope.version {
        let _ = write!(meta, ", notice version <code>{}</code>", esc(v));
    }
    if let Some(n) = &r.scope.notice {
        let _ = write!(meta, ", notice <code>{}</code>", esc(n));
    }
    if !r.person.subject_kinds.is_empty() {
        let kinds: Vec<String> = r.person.subject_kinds.iter().map(|k| format!("<code>{}</code>", esc(k))).collect();
        let _ = write!(meta, ". Captured as {}", kinds.join(", "));
    }
    if let Some(p) = &r.person.pseudonym {
        let _ = write!(meta, ". Pseudonym in the audit's reports: <code>{}</code>", esc(p));
    }
    let _ = writeln!(out, "<p class=\"meta\">{meta}.</p>");
    if r.found {
        out.push_str(
            "<nav aria-label=\"Sections\"><ul><li><a href=\"#summary\">Summary</a></li><li><a href=\"#captured\">What was captured</a></li>\
             <li><a href=\"#when\">When</a></li><li><a href=\"#stores\">Where it is kept</a></li><li><a href=\"#access\">Who read it</a></li>\
             <li><a href=\"#findings\">Not covered by the notice</a></li><li><a href=\"#method\">How this report was made</a></li>\
             <li><a href=\"#provenance\">Provenance</a></li></ul></nav>\n",
        );
    }
    out.push_str("</header>\n");
}

fn summary(out: &mut String, r: &PersonReport) {
    let s = &r.summary;
    out.push_str("<section aria-labelledby=\"summary\">\n<h2 id=\"summary\">Summary</h2>\n");
    if !r.found {
        let _ = writeln!(
            out,
            "<p class=\"ok\" id=\"not-found\">No capture names <code>{}</code>: nothing about this person was found in the {} records evaluated.</p>",
            esc(&r.person.subject),
            s.records_evaluated
        );
        out.push_str("</section>\n");
        return;
    }
    if r.findings.is_empty() {
        out.push_str("<p class=\"ok\">Everything captured about this person is within the declared scope.</p>\n");
    }
    out.push_str("<div class=\"cards\">\n");
    for (label, value) in [
        ("events captured", s.events),
        ("days", s.days),
        ("fields", s.fields),
        ("categories", s.categories),
        ("stores", s.stores),
        ("access entries", s.access_entries),
        ("findings", s.findings),
    ] {
        let _ = writeln!(out, "<div class=\"card\"><b>{value}</b>{label}</div>");
    }
    out.push_str("</div>\n");
    let _ = writeln!(
        out,
        "<p>First capture <code>{}</code>, last capture <code>{}</code>.{}</p>",
        esc(s.first_capture.as_deref().unwrap_or("–")),
        esc(s.last_capture.as_deref().unwrap_or("–")),
        if s.events_not_evaluated > 0 {
            format!(" {} more events of theirs were read but could not be evaluated.", s.events_not_evaluated)
        } else {
            String::new()
        }
    );
    out.push_str("</section>\n");
}

fn list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.map(|t| format!("<li>{t}</li>")).collect();
    if items.is_empty() { "–".to_string() } else { format!("<ul class=\"plain\">{}</ul>", items.concat()) }
}

fn codes(items: &[String]) -> String {
    if items.is_empty() {
        return "–".into();
    }
    items.iter().map(|c| format!("<code>{}</code>", esc(c))).collect::<Vec<_>>().join(" ")
}

fn fields(out: &mut String, r: &PersonReport) {
    out.push_str("<section aria-labelledby=\"captured\">\n<h2 id=\"captured\">What was captured</h2>\n");
    out.push_str("<p>Each field of the captured events, with its categories and the first distinct values captured (clipped).</p>\n");
    out.push_str(
        "<table id=\"fields-table\">\n<thead><tr><th scope=\"col\">field</th><th scope=\"col\">categories</th>\
         <th scope=\"col\">in the notice</th><th scope=\"col\" class=\"n\">events</th><th scope=\"col\">first</th>\
         <th scope=\"col\">last</th><th scope=\"col\">stores</th><th scope=\"col\">your values</th></tr></thead>\n<tbody>\n",
    );
    for f in &r.fields {
        let values = match &f.values_withheld {
            Some(why) => format!("<em>{}</em>", esc(why)),
            None => {
                let mut v = list(f.values.iter().map(|v| format!("<code>{}</code>", esc(v))));
                if f.more_values {
                    v.push_str("<small>and more, not shown</small>");
                }
                v
            }
        };
        let notice = match (f.declared, f.findings.is_empty()) {
            (true, true) => "yes".to_string(),
            (true, false) => format!("declared; findings: {}", codes(&f.findings)),
            (false, _) => format!(
                "<strong>no</strong>{}",
                if f.findings.is_empty() { String::new() } else { format!("; findings: {}", codes(&f.findings)) }
            ),
        };
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{notice}</td><td class=\"n\">{}</td><td class=\"ts\">{}</td><td class=\"ts\">{}</td><td>{}</td><td class=\"values\">{values}</td></tr>",
            esc(&f.path),
            codes(&f.categories),
            f.events,
            esc(f.first_seen.as_deref().unwrap_or("–")),
            esc(f.last_seen.as_deref().unwrap_or("–")),
            codes(&f.stores),
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out.push_str("<h3>Categories</h3>\n<table id=\"categories-table\">\n<thead><tr><th scope=\"col\">category</th><th scope=\"col\">what it is</th><th scope=\"col\">fields</th></tr></thead>\n<tbody>\n");
    for c in &r.categories {
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td></tr>",
            esc(&c.category),
            esc(c.name.as_deref().unwrap_or("")),
            codes(&c.fields)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn when(out: &mut String, r: &PersonReport) {
    let t = &r.timeline;
    out.push_str("<section aria-labelledby=\"when\">\n<h2 id=\"when\">When</h2>\n");
    let _ = writeln!(
        out,
        "<p>Local time in <code>{}</code>. A capture is flagged when a finding concerns it.</p>",
        esc(&t.timezone)
    );
    out.push_str("<h3>Per day</h3>\n");
    out.push_str(&days_chart(t));
    out.push_str("<table id=\"days-table\">\n<thead><tr><th scope=\"col\">day</th><th scope=\"col\" class=\"n\">captures</th><th scope=\"col\" class=\"n\">flagged</th></tr></thead>\n<tbody>\n");
    for (day, tally) in &t.days {
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(day),
            tally.captures,
            tally.flagged
        );
    }
    out.push_str("</tbody>\n</table>\n<h3>Per hour of the week</h3>\n");
    out.push_str(&hour_heatmap(t));
    out.push_str("</section>\n");
}

fn stores(out: &mut String, r: &PersonReport) {
    out.push_str("<section aria-labelledby=\"stores\">\n<h2 id=\"stores\">Where it is kept</h2>\n");
    out.push_str("<table id=\"stores-table\">\n<thead><tr><th scope=\"col\">store</th><th scope=\"col\">declared</th><th scope=\"col\" class=\"n\">events</th><th scope=\"col\">first</th><th scope=\"col\">last</th><th scope=\"col\">fields</th></tr></thead>\n<tbody>\n");
    for s in &r.stores {
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td class=\"n\">{}</td><td class=\"ts\">{}</td><td class=\"ts\">{}</td><td>{}</td></tr>",
            esc(&s.store),
            if s.declared { "yes" } else { "<strong>no</strong>" },
            s.events,
            esc(s.first_seen.as_deref().unwrap_or("–")),
            esc(s.last_seen.as_deref().unwrap_or("–")),
            codes(&s.fields)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn access(out: &mut String, r: &PersonReport) {
    out.push_str("<section aria-labelledby=\"access\">\n<h2 id=\"access\">Who read it, and for what</h2>\n");
    if r.access.is_empty() {
        out.push_str("<p>No access-log entry concerns this person's data.</p>\n</section>\n");
        return;
    }
    out.push_str("<table id=\"access-table\">\n<thead><tr><th scope=\"col\">actor</th><th scope=\"col\">role</th><th scope=\"col\">store</th><th scope=\"col\">purpose</th><th scope=\"col\" class=\"n\">entries</th><th scope=\"col\">first</th><th scope=\"col\">last</th><th scope=\"col\">fields read</th><th scope=\"col\">findings</th></tr></thead>\n<tbody>\n");
    for a in &r.access {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"ts\">{}</td><td class=\"ts\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(a.actor.as_deref().unwrap_or("(unknown)")),
            esc(&a.role),
            a.store.as_deref().map_or("(no store named)".to_string(), |s| format!("<code>{}</code>", esc(s))),
            esc(&a.purpose),
            a.entries,
            esc(a.first.as_deref().unwrap_or("–")),
            esc(a.last.as_deref().unwrap_or("–")),
            codes(&a.fields),
            codes(&a.findings),
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if r.summary.access_entries_not_listed > 0 {
        let _ = writeln!(out, "<p>And {} more entries, not listed.</p>", r.summary.access_entries_not_listed);
    }
    out.push_str("</section>\n");
}

fn findings(out: &mut String, r: &PersonReport) {
    out.push_str("<section aria-labelledby=\"findings\">\n<h2 id=\"findings\">Not covered by the notice</h2>\n");
    if r.findings.is_empty() {
        out.push_str("<p>Nothing: every capture of this person's is within the declared scope.</p>\n</section>\n");
        return;
    }
    out.push_str("<table id=\"findings-table\">\n<thead><tr><th scope=\"col\">severity</th><th scope=\"col\">rule</th><th scope=\"col\">what</th><th scope=\"col\">target</th><th scope=\"col\">categories</th><th scope=\"col\" class=\"n\">count</th><th scope=\"col\">first</th><th scope=\"col\">last</th><th scope=\"col\">evidence and where</th><th scope=\"col\">status</th></tr></thead>\n<tbody>\n");
    for f in &r.findings {
        let ev = list(
            f.evidence
                .iter()
                .map(|e| format!("<code>{}</code>", esc(e)))
                .chain(f.examples.iter().map(|l| format!("at <code>{}</code>", esc(&l.to_string())))),
        );
        let status = match &f.baseline {
            None => "open".to_string(),
            Some(b) => {
                let what = match b.status {
                    AcceptanceStatus::Accepted => "accepted by the organisation",
                    AcceptanceStatus::Expired => "<strong>acceptance expired</strong>",
                    AcceptanceStatus::NewCategories => "<strong>not accepted: new categories</strong>",
                };
                format!("{what} until {}: {}", esc(&b.expires), esc(&b.reason))
            }
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"rule\"><code>{}</code></td><td>{}<br><small>{}</small></td><td>{} <code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td class=\"ts\">{}</td><td class=\"ts\">{}</td><td>{ev}</td><td>{status}</td></tr>",
            sev_badge(f.severity),
            esc(&f.rule),
            prose(&f.title),
            prose(&f.help),
            f.target.kind,
            esc(&f.target.id),
            codes(&f.categories),
            f.count,
            esc(f.first_seen.as_deref().unwrap_or("–")),
            esc(f.last_seen.as_deref().unwrap_or("–")),
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn method(out: &mut String, r: &PersonReport) {
    let s = &r.summary;
    out.push_str("<section aria-labelledby=\"method\">\n<h2 id=\"method\">How this report was made</h2>\n<ul>\n");
    for m in &r.method {
        let _ = writeln!(out, "<li>{}</li>", prose(m));
    }
    out.push_str("</ul>\n");
    let _ = writeln!(
        out,
        "<p id=\"totals\">The audit read {} capture lines: {} evaluated, {} rejected (a rejected line may be anyone's, this person's included). {} evaluated events are other people's (or name no one): counted, never shown. Access log: {} lines read, {} evaluated, {} rejected.</p>",
        s.records_read,
        s.records_evaluated,
        s.records_rejected,
        s.other_events,
        s.access_read,
        s.access_evaluated,
        s.access_rejected
    );
    out.push_str("</section>\n");
}

fn provenance(out: &mut String, r: &PersonReport) {
    let p = &r.provenance;
    out.push_str("<section aria-labelledby=\"provenance\">\n<h2 id=\"provenance\">Provenance</h2>\n");
    let _ = writeln!(
        out,
        "<p>scopecheck {}; rules sha256 <code>{}</code>; every input by digest.</p>",
        esc(&p.scopecheck_version),
        esc(&p.rules_sha256)
    );
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
