//! The HTML page's charts, as inline SVG drawn here: no script, no fetch, the same bytes for the
//! same report. Every text in them is escaped ([`esc`]).

use super::Report;
use super::html::esc;
use super::timeline::{Tally, Timeline};
use crate::rules::Severity;
use chrono::{Datelike, NaiveDate};
use std::fmt::Write as _;

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/// Capture intensity, lightest first.
const BLUES: [&str; 5] = ["#deebf7", "#b6d4ea", "#84b6dc", "#4a8cc4", "#1f5f9e"];
const FLAG: &str = "#c0392b";
const CAPTURE: &str = "#7a9cc6";

/// A severity's colour (text labels always go with it).
fn severity_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#8b0000",
        Severity::High => "#d0461a",
        Severity::Medium => "#b07800",
        Severity::Low => "#2a6fa8",
        Severity::Info => "#6b6b6b",
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 { format!("{n} {one}") } else { format!("{n} {many}") }
}

/// `value / max` of `full`, one decimal (0 when `max` is 0).
fn scale(value: u64, max: u64, full: f64) -> f64 {
    if max == 0 { 0.0 } else { (value as f64 / max as f64 * full * 10.0).round() / 10.0 }
}

/// Findings per severity, as horizontal bars.
pub(super) fn severity_bars(report: &Report) -> String {
    let counts: Vec<(Severity, u64)> =
        Severity::ALL.iter().map(|s| (*s, report.summary.by_severity.get(s).copied().unwrap_or(0))).collect();
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let (label_w, bar_w, row_h) = (80.0, 300.0, 22.0);
    let height = row_h * counts.len() as f64 + 4.0;
    let described: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {}", s.as_str())).collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg id=\"chart-severity\" class=\"chart\" viewBox=\"0 0 {w} {height}\" width=\"{w}\" height=\"{height}\" role=\"img\" aria-labelledby=\"chart-severity-title\">\n<title id=\"chart-severity-title\">Findings by severity: {}</title>",
        esc(&described.join(", ")),
        w = label_w + bar_w + 50.0,
    );
    for (i, (s, n)) in counts.iter().enumerate() {
        let y = 2.0 + row_h * i as f64;
        let w = scale(*n, max, bar_w);
        let _ = writeln!(
            out,
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{name}</text>",
            lx = label_w - 6.0,
            ty = y + 15.0,
            name = s.as_str()
        );
        if *n > 0 {
            let _ = writeln!(
                out,
                "<rect x=\"{label_w}\" y=\"{ry}\" width=\"{w}\" height=\"16\" fill=\"{c}\"><title>{n} {name}</title></rect>",
                ry = y + 2.0,
                c = severity_color(*s),
                name = s.as_str()
            );
        }
        let _ = writeln!(out, "<text x=\"{tx}\" y=\"{ty}\">{n}</text>", tx = label_w + w + 5.0, ty = y + 15.0);
    }
    out.push_str("</svg>\n");
    out
}

/// One bar of the day chart.
struct Bar {
    label: String,
    title: String,
    weekend: bool,
    tally: Tally,
}

/// The days to draw: every day from the first to the last listed (gaps as empty days) when that
/// is not much more than the days listed, else the listed days alone; then the later days.
fn day_bars(t: &Timeline) -> Vec<Bar> {
    let parse = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
    let bar = |key: &str, date: Option<NaiveDate>, tally: Tally| {
        let day = date.map(|d| d.weekday().num_days_from_monday() as usize);
        let name = day.and_then(|d| DAY_NAMES.get(d)).copied().unwrap_or("");
        Bar {
            label: key.get(5..).unwrap_or(key).to_string(),
            title: format!(
                "{key} ({name}): {}, {} flagged",
                plural(tally.captures, "capture", "captures"),
                tally.flagged
            ),
            weekend: day.is_some_and(|d| d >= 5),
            tally,
        }
    };
    let first = t.days.keys().next().and_then(|k| parse(k));
    let last = t.days.keys().next_back().and_then(|k| parse(k));
    let mut bars = Vec::new();
    match (first, last) {
        (Some(a), Some(b)) if (b - a).num_days() <= 400 => {
            for d in a.iter_days().take_while(|d| *d <= b) {
                let key = d.format("%Y-%m-%d").to_string();
                let tally = t.days.get(&key).copied().unwrap_or_default();
                bars.push(bar(&key, Some(d), tally));
            }
        }
        _ => {
            for (k, tally) in &t.days {
                bars.push(bar(k, parse(k), *tally));
            }
        }
    }
    if t.later_days.captures > 0 {
        bars.push(Bar {
            label: "later".into(),
            title: format!(
                "days after the first {} listed: {}, {} flagged",
                t.days.len(),
                plural(t.later_days.captures, "capture", "captures"),
                t.later_days.flagged
            ),
            weekend: false,
            tally: t.later_days,
        });
    }
    bars
}

/// Captures and flagged captures per local day, weekends shaded.
pub(super) fn days_chart(t: &Timeline) -> String {
    let bars = day_bars(t);
    if bars.is_empty() {
        return "<p>No captures were evaluated.</p>\n".into();
    }
    let (left, top, plot_w, plot_h, bottom) = (44.0, 16.0, 700.0, 150.0, 58.0);
    let n = bars.len();
    let step = plot_w / n as f64;
    let bar_w = (step * 0.8 * 10.0).round() / 10.0;
    let max = bars.iter().map(|b| b.tally.captures).max().unwrap_or(0);
    let total: u64 = bars.iter().map(|b| b.tally.captures).sum();
    let flagged: u64 = bars.iter().map(|b| b.tally.flagged).sum();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg id=\"chart-days\" class=\"chart\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-labelledby=\"chart-days-title\">\n<title id=\"chart-days-title\">Captures per day ({tz}): {}, {} flagged, over {} days</title>",
        plural(total, "capture", "captures"),
        flagged,
        n,
        w = left + plot_w + 10.0,
        h = top + plot_h + bottom,
        tz = esc(&t.timezone),
    );
    let _ = writeln!(
        out,
        "<line x1=\"{left}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"#888\"/>\n<line x1=\"{left}\" y1=\"{top}\" x2=\"{x1}\" y2=\"{top}\" stroke=\"#ddd\"/>\n<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{max}</text>\n<text x=\"{lx}\" y=\"{y0}\" text-anchor=\"end\">0</text>",
        y0 = top + plot_h,
        x1 = left + plot_w,
        lx = left - 4.0,
        ty = top + 4.0,
    );
    let every = n.div_ceil(14).max(1);
    for (i, b) in bars.iter().enumerate() {
        let x = ((left + step * i as f64) * 10.0).round() / 10.0;
        let _ = write!(out, "<g><title>{}</title>", esc(&b.title));
        if b.weekend {
            let _ = write!(
                out,
                "<rect class=\"weekend\" x=\"{x}\" y=\"{top}\" width=\"{w}\" height=\"{plot_h}\" fill=\"#eeeeee\"/>",
                w = (step * 10.0).round() / 10.0
            );
        }
        if b.tally.captures > 0 {
            let h = scale(b.tally.captures, max, plot_h).max(1.0);
            let _ = write!(
                out,
                "<rect class=\"captures\" x=\"{bx}\" y=\"{y}\" width=\"{bar_w}\" height=\"{h}\" fill=\"{CAPTURE}\"/>",
                bx = x + (step * 0.1 * 10.0).round() / 10.0,
                y = ((top + plot_h - h) * 10.0).round() / 10.0,
            );
        }
        if b.tally.flagged > 0 {
            let h = scale(b.tally.flagged, max, plot_h).max(1.0);
            let _ = write!(
                out,
                "<rect class=\"flagged\" x=\"{bx}\" y=\"{y}\" width=\"{bar_w}\" height=\"{h}\" fill=\"{FLAG}\"/>",
                bx = x + (step * 0.1 * 10.0).round() / 10.0,
                y = ((top + plot_h - h) * 10.0).round() / 10.0,
            );
        }
        if n <= 10 && b.tally.captures > 0 {
            let cx = ((x + step / 2.0) * 10.0).round() / 10.0;
            let h = scale(b.tally.captures, max, plot_h).max(1.0);
            let y = ((top + plot_h - h - 3.0) * 10.0).round() / 10.0;
            let flagged = if b.tally.flagged > 0 {
                format!("<tspan fill=\"{FLAG}\"> ({} flagged)</tspan>", b.tally.flagged)
            } else {
                String::new()
            };
            let _ = write!(
                out,
                "<text class=\"count\" x=\"{cx}\" y=\"{y}\" text-anchor=\"middle\">{}{flagged}</text>",
                b.tally.captures
            );
        }
        out.push_str("</g>\n");
        if i % every == 0 {
            let cx = ((x + step / 2.0) * 10.0).round() / 10.0;
            let _ = writeln!(
                out,
                "<text x=\"{cx}\" y=\"{y}\" text-anchor=\"end\" transform=\"rotate(-45 {cx} {y})\">{}</text>",
                esc(&b.label),
                y = top + plot_h + 14.0,
            );
        }
    }
    let ly = top + plot_h + bottom - 8.0;
    let _ = writeln!(
        out,
        "<rect x=\"{left}\" y=\"{ry}\" width=\"10\" height=\"10\" fill=\"{CAPTURE}\"/><text x=\"{t1}\" y=\"{ly}\">captures</text>\
         <rect x=\"{r2}\" y=\"{ry}\" width=\"10\" height=\"10\" fill=\"{FLAG}\"/><text x=\"{t2}\" y=\"{ly}\">flagged (a finding concerns it)</text>\
         <rect x=\"{r3}\" y=\"{ry}\" width=\"10\" height=\"10\" fill=\"#eeeeee\" stroke=\"#bbb\"/><text x=\"{t3}\" y=\"{ly}\">weekend</text>",
        ry = ly - 9.0,
        t1 = left + 14.0,
        r2 = left + 90.0,
        t2 = left + 104.0,
        r3 = left + 300.0,
        t3 = left + 314.0,
    );
    out.push_str("</svg>\n");
    out
}

/// Captures per hour of the week as a heat map, flagged captures as red dots, hours outside the
/// scope's capture windows hatched.
pub(super) fn hour_heatmap(t: &Timeline) -> String {
    let (left, top, cw, ch) = (40.0, 18.0, 26.0, 20.0);
    let max = t.captures_by_hour.iter().flatten().copied().max().unwrap_or(0);
    let max_flagged = t.flagged_by_hour.iter().flatten().copied().max().unwrap_or(0);
    let total: u64 = t.captures_by_hour.iter().flatten().sum();
    let flagged: u64 = t.flagged_by_hour.iter().flatten().sum();
    let outside: u64 = match &t.window_minutes {
        Some(m) => t
            .captures_by_hour
            .iter()
            .flatten()
            .zip(m.iter().flatten())
            .filter(|(_, minutes)| **minutes == 0)
            .map(|(c, _)| *c)
            .sum(),
        None => 0,
    };
    let grid_h = top + ch * 7.0;
    let h = grid_h + 44.0;
    let w = left + cw * 24.0 + 10.0;
    let mut out = String::new();
    let windows = if t.window_minutes.is_some() {
        format!("; {} in hours wholly outside the declared capture windows", plural(outside, "capture", "captures"))
    } else {
        "; the scope declares no capture windows".into()
    };
    let _ = writeln!(
        out,
        "<svg id=\"chart-hours\" class=\"chart\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-labelledby=\"chart-hours-title\">\n<title id=\"chart-hours-title\">Captures per hour of the week ({tz}): {}, {} flagged{}</title>",
        plural(total, "capture", "captures"),
        flagged,
        esc(&windows),
        tz = esc(&t.timezone),
    );
    out.push_str(
        "<defs><pattern id=\"hatch-out\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\"><path d=\"M0 6L6 0\" stroke=\"#8a8a8a\" stroke-width=\"1.2\"/></pattern>\
         <pattern id=\"hatch-part\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\"><path d=\"M0 8L8 0\" stroke=\"#bbbbbb\" stroke-width=\"0.8\"/></pattern>",
    );
    let _ = writeln!(
        out,
        "<pattern id=\"grid\" x=\"{left}\" y=\"{top}\" width=\"{cw}\" height=\"{ch}\" patternUnits=\"userSpaceOnUse\"><path d=\"M{cw} 0V{ch}H0\" fill=\"none\" stroke=\"#e4e4e4\"/></pattern></defs>"
    );
    for hour in (0..24).step_by(3) {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{hour:02}</text>",
            left + cw * f64::from(hour),
            top - 5.0
        );
    }
    out.push('\n');
    // The grid, then one cell per hour with captures, then the windows' hatching over both.
    let _ = writeln!(
        out,
        "<rect class=\"grid\" x=\"{left}\" y=\"{top}\" width=\"{gw}\" height=\"{gh}\" fill=\"url(#grid)\" stroke=\"#d8d8d8\"/>",
        gw = cw * 24.0,
        gh = ch * 7.0
    );
    let mut hatching = String::new();
    let rows = t.captures_by_hour.iter().zip(&t.flagged_by_hour).enumerate();
    for (d, (caps, flags)) in rows {
        let name = DAY_NAMES.get(d).copied().unwrap_or("");
        let y = top + ch * d as f64;
        let _ = writeln!(out, "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{name}</text>", left - 6.0, y + 14.0);
        let minutes_at = |hr: usize| t.window_minutes.as_ref().and_then(|m| m.get(d)).and_then(|r| r.get(hr)).copied();
        for (hr, (c, f)) in caps.iter().zip(flags).enumerate() {
            if *c == 0 {
                continue;
            }
            let x = left + cw * hr as f64;
            let level = ((*c as f64 / max.max(1) as f64) * 5.0).ceil() as usize;
            let fill = BLUES.get(level.clamp(1, 5) - 1).copied().unwrap_or("#1f5f9e");
            let window_text = match minutes_at(hr) {
                Some(0) => "; outside the declared windows".to_string(),
                Some(60) | None => String::new(),
                Some(m) => format!("; {m} of its 60 minutes inside the declared windows"),
            };
            let title = format!(
                "{name} {hr:02}:00-{:02}:00: {}, {f} flagged{window_text}",
                hr + 1,
                plural(*c, "capture", "captures")
            );
            let _ = write!(
                out,
                "<g><title>{}</title><rect class=\"cell\" x=\"{x}\" y=\"{y}\" width=\"{cw}\" height=\"{ch}\" fill=\"{fill}\" stroke=\"#d8d8d8\"/>",
                esc(&title)
            );
            if *f > 0 {
                let r = 2.5 + 5.0 * (*f as f64 / max_flagged.max(1) as f64).sqrt();
                let _ = write!(
                    out,
                    "<circle class=\"flagged\" cx=\"{}\" cy=\"{}\" r=\"{:.1}\" fill=\"{FLAG}\" stroke=\"#ffffff\"/>",
                    x + cw / 2.0,
                    y + ch / 2.0,
                    r
                );
            }
            out.push_str("</g>");
        }
        out.push('\n');
        // Runs of hours wholly, or partly, outside the windows: one rectangle each.
        let mut hr = 0;
        while hr < 24 {
            let kind = match minutes_at(hr) {
                Some(0) => Some(("outside", "hatch-out")),
                Some(m) if m < 60 => Some(("partly-outside", "hatch-part")),
                _ => None,
            };
            let run = (hr..24).take_while(|&h| {
                let k = match minutes_at(h) {
                    Some(0) => Some("outside"),
                    Some(m) if m < 60 => Some("partly-outside"),
                    _ => None,
                };
                k == kind.map(|(c, _)| c)
            });
            let len = run.count().max(1);
            if let Some((class, pattern)) = kind {
                let _ = write!(
                    hatching,
                    "<rect class=\"{class}\" x=\"{}\" y=\"{y}\" width=\"{}\" height=\"{ch}\" fill=\"url(#{pattern})\" pointer-events=\"none\"/>",
                    left + cw * hr as f64,
                    cw * len as f64
                );
            }
            hr += len;
        }
    }
    out.push_str(&hatching);
    out.push('\n');
    let ly = grid_h + 24.0;
    let _ = writeln!(
        out,
        "<rect x=\"{left}\" y=\"{ry}\" width=\"12\" height=\"12\" fill=\"{b1}\" stroke=\"#d8d8d8\"/><rect x=\"{l2}\" y=\"{ry}\" width=\"12\" height=\"12\" fill=\"{b5}\"/><text x=\"{t1}\" y=\"{ly}\">captures (darker: more, up to {max})</text>\
         <circle cx=\"{c2}\" cy=\"{cy}\" r=\"5\" fill=\"{FLAG}\"/><text x=\"{t2}\" y=\"{ly}\">flagged</text>\
         <rect x=\"{r3}\" y=\"{ry}\" width=\"12\" height=\"12\" fill=\"url(#hatch-out)\" stroke=\"#d8d8d8\"/><text x=\"{t3}\" y=\"{ly}\">outside the windows</text>\
         <rect x=\"{r4}\" y=\"{ry}\" width=\"12\" height=\"12\" fill=\"url(#hatch-part)\" stroke=\"#d8d8d8\"/><text x=\"{t4}\" y=\"{ly}\">partly outside</text>",
        ry = ly - 10.0,
        b1 = BLUES[0],
        b5 = BLUES[4],
        l2 = left + 14.0,
        t1 = left + 30.0,
        c2 = left + 262.0,
        cy = ly - 4.0,
        t2 = left + 270.0,
        r3 = left + 330.0,
        t3 = left + 346.0,
        r4 = left + 480.0,
        t4 = left + 496.0,
    );
    out.push_str("</svg>\n");
    out
}

/// A small bar for a table cell (decoration; the number is beside it).
pub(super) fn cell_bar(value: u64, max: u64) -> String {
    let w = scale(value, max, 120.0);
    if w <= 0.0 {
        return String::new();
    }
    format!(
        "<svg class=\"bar\" width=\"120\" height=\"10\" aria-hidden=\"true\"><rect width=\"{w}\" height=\"10\" fill=\"{CAPTURE}\"/></svg>"
    )
}
