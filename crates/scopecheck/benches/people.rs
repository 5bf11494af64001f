//! Does an audit's cost depend on how many people were captured? It must not.
//!
//! `cargo bench -p scopecheck --bench people [-- EVENTS]`
//!
//! Writes two capture files of EVENTS events (default 1,000,000) to a temporary folder: the same
//! events, cycling through the lines of `fixtures/mci/captures.jsonl` and `fixtures/lobby`, except
//! for `subject`, which names one of 100 people in the first file and a different person on every
//! line (EVENTS people) in the second. Each file is audited in a child process of its own (this
//! binary, run again), so each has its own peak resident memory (`VmHWM`); the parse-only
//! baseline (every line into a `serde_json::Value`) runs in its own child too. Rounds interleave
//! the files; the median is reported. The run fails when the two audits' findings differ, when
//! a `people_affected` is outside four standard errors of the truth, or when speed or peak memory
//! differ by more than 10 %.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use scopecheck::audit::{AuditOptions, Input, InputKind, audit};
use scopecheck::report::Report;
use scopecheck::{Setup, Source};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn setup() -> Setup {
    let fx = root().join("fixtures/mci");
    Setup {
        scope: Some(Source::new("scope.yaml", std::fs::read_to_string(fx.join("scope.yaml")).unwrap())),
        stores: Some(Source::new("stores.yaml", std::fs::read_to_string(fx.join("stores.yaml")).unwrap())),
        ..Setup::default()
    }
}

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Child: `people --child audit|parse FILE OUT.json`.
fn child(mode: &str, file: &str, out: &str) {
    let t = Instant::now();
    let mut summary = serde_json::json!({});
    match mode {
        "audit" => {
            let engine = Arc::new(setup().build().unwrap());
            let reader = BufReader::with_capacity(256 << 10, std::fs::File::open(file).unwrap());
            let input = Input {
                name: "captures.jsonl".into(),
                kind: InputKind::Captures,
                reader: Box::new(reader),
                digest: None,
            };
            let report = audit(engine, vec![input], AuditOptions::default()).unwrap();
            summary["findings"] = findings(&report);
            summary["people_affected"] = report.summary.people_affected.into();
            summary["people_captured"] = report.summary.people_captured.into();
        }
        _ => {
            let reader = BufReader::with_capacity(256 << 10, std::fs::File::open(file).unwrap());
            let mut fields = 0usize;
            for line in reader.lines() {
                let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
                fields += v.as_object().map_or(0, |o| o.len());
            }
            summary["fields"] = fields.into();
        }
    }
    summary["secs"] = t.elapsed().as_secs_f64().into();
    summary["peak_rss_kb"] = peak_rss_kb().into();
    std::fs::write(out, summary.to_string()).unwrap();
}

fn findings(r: &Report) -> serde_json::Value {
    r.findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "rule": f.rule, "target": f.target, "count": f.count,
                "people": f.people_affected, "exact": f.people_affected_exact,
            })
        })
        .collect()
}

fn run_child(mode: &str, file: &Path, dir: &Path) -> serde_json::Value {
    let out = dir.join(format!("{mode}-{}.json", file.file_stem().unwrap().to_string_lossy()));
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--child", mode, &file.display().to_string(), &out.display().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "child {mode} {} failed", file.display());
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

/// Writes `events` events, the subject of line i being `person(i)`.
fn write_file(path: &Path, templates: &[serde_json::Value], events: usize, person: impl Fn(usize) -> String) -> u64 {
    let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
    let mut bytes = 0u64;
    for i in 0..events {
        let mut v = templates[i % templates.len()].clone();
        v["subject"] = serde_json::Value::String(person(i));
        let line = v.to_string();
        bytes += line.len() as u64 + 1;
        writeln!(w, "{line}").unwrap();
    }
    w.flush().unwrap();
    bytes
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(&args[i + 1], &args[i + 2], &args[i + 3]);
        return;
    }
    let events: usize = args.iter().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let text = std::fs::read_to_string(root().join("fixtures/mci/captures.jsonl")).unwrap();
    let templates: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let dir = std::env::temp_dir().join(format!("scopecheck-people-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let few = dir.join("people-100.jsonl");
    let many = dir.join(format!("people-{events}.jsonl"));
    let bytes = write_file(&few, &templates, events, |i| format!("e-{:05}", i % 100));
    let bytes_many = write_file(&many, &templates, events, |i| format!("e-{i:07}"));
    println!(
        "data: fixtures/mci/captures.jsonl cycled to {events} events; {:.1} MB and {:.1} MB",
        bytes as f64 / 1e6,
        bytes_many as f64 / 1e6
    );
    let rounds = 3;
    let mut runs: BTreeMap<&str, Vec<serde_json::Value>> = BTreeMap::new();
    for _ in 0..rounds {
        runs.entry("parse 100").or_default().push(run_child("parse", &few, &dir));
        runs.entry("audit 100").or_default().push(run_child("audit", &few, &dir));
        runs.entry("parse many").or_default().push(run_child("parse", &many, &dir));
        runs.entry("audit many").or_default().push(run_child("audit", &many, &dir));
    }
    let secs = |k: &str| median(runs[k].iter().map(|r| r["secs"].as_f64().unwrap()).collect());
    let rss = |k: &str| median(runs[k].iter().map(|r| r["peak_rss_kb"].as_f64().unwrap()).collect()) / 1024.0;
    println!("{:<34} {:>10} {:>12} {:>10} {:>14}", "pass", "seconds", "events/s", "MB/s", "peak RSS MB");
    for (k, label, b) in [
        ("parse 100", "serde_json::Value, 100 people", bytes),
        ("audit 100", "audit, 100 people", bytes),
        ("parse many", &*format!("serde_json::Value, {events} people"), bytes_many),
        ("audit many", &*format!("audit, {events} people"), bytes_many),
    ] {
        let s = secs(k);
        println!("{label:<34} {s:>10.2} {:>12.0} {:>10.1} {:>14.1}", events as f64 / s, b as f64 / 1e6 / s, rss(k));
    }
    let speed_ratio = (bytes_many as f64 / secs("audit many")) / (bytes as f64 / secs("audit 100"));
    let rss_ratio = rss("audit many") / rss("audit 100");
    println!("audit speed, {events} people / 100 people: {speed_ratio:.3} (goal 0.90..1.10)");
    println!("audit peak memory, {events} people / 100 people: {rss_ratio:.3} (goal 0.90..1.10)");
    println!(
        "audit speed / serde_json::Value speed: {:.2} (100 people), {:.2} ({events} people)",
        secs("parse 100") / secs("audit 100"),
        secs("parse many") / secs("audit many")
    );

    // Same findings; people counted right.
    let a = &runs["audit 100"][0];
    let b = &runs["audit many"][0];
    let (fa, fb) = (a["findings"].as_array().unwrap(), b["findings"].as_array().unwrap());
    assert_eq!(fa.len(), fb.len(), "the two audits found different things");
    let err = scopecheck::people::relative_error();
    let mut worst: f64 = 0.0;
    for (x, y) in fa.iter().zip(fb) {
        assert_eq!((&x["rule"], &x["target"], &x["count"]), (&y["rule"], &y["target"], &y["count"]));
        // 100 people: exact and at most 100. Every line its own person: the truth is the number
        // of events concerned (or, for a store finding, of the store's events).
        assert!(x["exact"] != false && x["people"].as_u64().unwrap_or(0) <= 100, "{x}");
        if let (Some(p), Some(n)) = (y["people"].as_u64(), y["count"].as_u64()) {
            let rel = (p as f64 - n as f64).abs() / n.max(1) as f64;
            worst = worst.max(rel);
            assert!(rel <= 4.0 * err, "{y}: estimate {p} for {n} people ({rel:.4})");
        }
    }
    println!(
        "findings: {} in both; people_affected with {events} people within {:.2}% of the truth (stated error {:.2}%)",
        fa.len(),
        worst * 100.0,
        err * 100.0
    );
    println!("people captured: {} and {}", a["people_captured"], b["people_captured"]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!((0.9..=1.1).contains(&rss_ratio), "peak memory differs by more than 10%");
    assert!((0.9..=1.1).contains(&speed_ratio), "speed differs by more than 10%");
}
