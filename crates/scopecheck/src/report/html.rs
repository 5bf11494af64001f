//! A self-contained HTML audit report: no script or style is fetched, so it works from a file
//! or an email attachment.

use super::{Printer, Report};
use std::fmt::Write as _;

/// HTML.
#[derive(Debug, Clone, Copy, Default)]
pub struct HtmlPrinter;

impl Printer for HtmlPrinter {
    fn print(&self, report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        out.write_all(render_html(report).as_bytes())
    }
}

/// Escapes text for HTML character data and quoted attributes.
pub(crate) fn esc(text: &str) -> String {
    super::junit::xml_escape(text)
}

fn render_html(report: &Report) -> String {
    let s = &report.summary;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>scopecheck audit: {}</title></head><body>\n",
        esc(&report.scope.program)
    );
    let _ = writeln!(out, "<h1>scopecheck audit: {}</h1>", esc(&report.scope.program));
    let _ = writeln!(
        out,
        "<p>{} records read, {} evaluated, {} rejected; {} findings; {} people affected.</p>",
        s.records_read,
        s.records_evaluated,
        s.records_rejected,
        report.findings.len(),
        s.people_affected
    );
    let _ = writeln!(
        out,
        "<table id=\"findings\"><thead><tr><th>severity</th><th>rule</th><th>target</th><th>categories</th><th>count</th><th>evidence</th></tr></thead><tbody>"
    );
    for f in &report.findings {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            f.severity.as_str(),
            esc(&f.rule),
            f.target.kind,
            esc(&f.target.id),
            esc(&f.categories.join(", ")),
            f.count,
            esc(&f.evidence.join("; "))
        );
    }
    out.push_str("</tbody></table>\n</body></html>\n");
    out
}
