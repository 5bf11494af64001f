//! Audit throughput against a parse-only baseline and a naive evaluator, in one run.
//!
//! `cargo bench -p scopecheck --bench audit [-- RECORDS]`
//!
//! Three passes over the same captures (the MCI fixture, repeated to RECORDS lines,
//! default 50,000), interleaved over several rounds; the median of each is reported
//! in MB/s, and the ratios matter more than the figures on a shared machine:
//! - parse: `parse_capture` on every line (scopecheck's one-pass reader: envelope checks and the
//!   leaves of `data`, no JSON tree) — the floor;
//! - value: every line read into a `serde_json::Value`, the usual way to read JSONL — the
//!   baseline the audit's ≥ 0.5 goal was set against before the one-pass reader;
//! - audit: the real audit (classification, Cedar decisions per distinct shape, aggregation);
//! - naive: the same audit with the decision cache off: one Cedar call per field per record.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use scopecheck::audit::{AuditOptions, Auditor, InputKind};
use scopecheck::eval::Evaluator;
use scopecheck::observe::parse_capture;
use scopecheck::{Setup, Source};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let records: usize =
        std::env::args().skip(1).find(|a| !a.starts_with('-')).and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let fixture = std::fs::read_to_string(root.join("fixtures/mci/captures.jsonl")).unwrap();
    let base: Vec<&str> = fixture.lines().collect();
    let lines: Vec<&str> = (0..records).map(|i| base[i % base.len()]).collect();
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let setup = Setup {
        scope: Some(Source::new("scope.yaml", std::fs::read_to_string(root.join("fixtures/mci/scope.yaml")).unwrap())),
        stores: Some(Source::new(
            "stores.yaml",
            std::fs::read_to_string(root.join("fixtures/mci/stores.yaml")).unwrap(),
        )),
        ..Setup::default()
    };
    let engine = Arc::new(setup.build().unwrap());

    let parse = || {
        let t = Instant::now();
        for l in &lines {
            black_box(parse_capture(l).unwrap());
        }
        t.elapsed().as_secs_f64()
    };
    let value = || {
        let t = Instant::now();
        for l in &lines {
            black_box(serde_json::from_str::<serde_json::Value>(l).unwrap());
        }
        t.elapsed().as_secs_f64()
    };
    let audit = |cache: bool| {
        let mut a = Auditor::new(Arc::clone(&engine), AuditOptions::default()).unwrap();
        a.evaluator_mut().set_decision_cache(cache);
        let f = a.add_file("captures.jsonl", InputKind::Captures);
        let t = Instant::now();
        for (i, l) in lines.iter().enumerate() {
            a.capture_line(f, i as u64 + 1, l).unwrap();
        }
        let r = a.finish().unwrap();
        let secs = t.elapsed().as_secs_f64();
        black_box(r);
        secs
    };
    // The naive pass is slow: run it on a tenth of the records and scale.
    let naive_lines = (records / 10).max(1);
    let naive = || {
        let mut ev = Evaluator::new(Arc::clone(&engine)).unwrap();
        ev.set_decision_cache(false);
        let t = Instant::now();
        for l in lines.iter().take(naive_lines) {
            black_box(ev.evaluate(&parse_capture(l).unwrap()).unwrap());
        }
        t.elapsed().as_secs_f64() * (records as f64 / naive_lines as f64)
    };
    let rounds = 5;
    let (mut p, mut v, mut a, mut n) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    audit(true); // warm up
    for _ in 0..rounds {
        p.push(parse());
        v.push(value());
        a.push(audit(true));
        n.push(naive());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|x, y| x.total_cmp(y));
        v[v.len() / 2]
    };
    let (p, v, a, n) = (median(&mut p), median(&mut v), median(&mut a), median(&mut n));
    let mb = bytes as f64 / 1e6;
    println!("records: {records} ({mb:.1} MB), median of {rounds} rounds");
    println!("parse only      {:>8.1} MB/s  {:>9.0} records/s", mb / p, records as f64 / p);
    println!("serde_json Value{:>8.1} MB/s  {:>9.0} records/s", mb / v, records as f64 / v);
    println!("audit           {:>8.1} MB/s  {:>9.0} records/s", mb / a, records as f64 / a);
    println!("naive (no cache){:>8.1} MB/s  {:>9.0} records/s", mb / n, records as f64 / n);
    println!("audit speed / parse_capture speed = {:.2}", p / a);
    println!("audit speed / serde_json Value speed = {:.2}  (goal >= 0.5)", v / a);
    println!("audit speed / naive speed = {:.1}x (goal >= 20)", n / a);
}
