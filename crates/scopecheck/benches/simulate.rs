//! `generate` throughput, and `simulate` against two audits, on generated data, in one run.
//!
//! `cargo bench -p scopecheck --bench simulate [-- SCENARIO [DAYS]]`
//!
//! SCENARIO defaults to `fixtures/scenarios/workday.yaml`, DAYS to 2 (the scenario cut to its
//! first DAYS days). Passes, interleaved over 3 rounds, median reported:
//! - generate: every chunk (person-day) of the scenario produced in memory on one thread (the
//!   CLI adds writing and threads), in events/s and MB/s;
//! - value: every generated line into a `serde_json::Value` (the parse-only baseline);
//! - audit current: the generated scope with the built-in rules;
//! - audit candidate: the same plus `fixtures/simulate/forbid-pointer.cedar` (a new rule);
//! - simulate: both configurations over one reading of the lines (`scopecheck::simulate`).
//!
//! The goal: simulating costs less than the two audits it replaces (ratio < 1).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use scopecheck::audit::{AuditOptions, Auditor, InputKind};
use scopecheck::decide::DecideOptions;
use scopecheck::generate::Generator;
use scopecheck::simulate::{Side, Simulation};
use scopecheck::{Setup, Source};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let scenario = args.first().map_or_else(|| root.join("fixtures/scenarios/workday.yaml"), |s| s.into());
    let days: u32 = args.get(1).and_then(|d| d.parse().ok()).unwrap_or(2);
    let text = std::fs::read_to_string(&scenario).unwrap();
    let g = Generator::new(&text, &scenario.display().to_string(), None).unwrap().with_days(days).unwrap();

    let generate = || {
        let t = Instant::now();
        let mut out = String::new();
        let mut events = 0;
        for i in 0..g.chunks() {
            let c = g.chunk(i);
            events += c.lines;
            out.push_str(&c.text);
        }
        (t.elapsed().as_secs_f64(), out, events)
    };
    let (_, data, events) = generate();
    let lines: Vec<&str> = data.lines().collect();
    let mb = data.len() as f64 / 1e6;

    let forbid = std::fs::read_to_string(root.join("fixtures/simulate/forbid-pointer.cedar")).unwrap();
    let (stores, _) = g.stores_yaml();
    let current = Setup {
        scope: Some(Source::new("scope.yaml", g.scope_yaml())),
        stores: Some(Source::new("stores.yaml", stores)),
        ..Setup::default()
    };
    let mut candidate = current.clone();
    candidate.policies.push(Source::new("forbid-pointer.cedar", forbid));
    let cur_engine = Arc::new(current.build().unwrap());
    let cand_engine = Arc::new(candidate.build().unwrap());

    let value = || {
        let t = Instant::now();
        for l in &lines {
            black_box(serde_json::from_str::<serde_json::Value>(l).unwrap());
        }
        t.elapsed().as_secs_f64()
    };
    let audit = |engine: &Arc<scopecheck::eval::Engine>| {
        let t = Instant::now();
        let mut a = Auditor::new(Arc::clone(engine), AuditOptions::default()).unwrap();
        let f = a.add_file("captures.jsonl", InputKind::Captures);
        for (i, l) in lines.iter().enumerate() {
            a.capture_line(f, i as u64 + 1, l).unwrap();
        }
        let r = a.finish().unwrap();
        let secs = t.elapsed().as_secs_f64();
        (secs, r.findings.len())
    };
    let simulate = || {
        let t = Instant::now();
        let mut s = Simulation::new(
            Side { engines: vec![Arc::clone(&cur_engine)], decide: DecideOptions::default() },
            Side { engines: vec![Arc::clone(&cand_engine)], decide: DecideOptions::default() },
            AuditOptions::default(),
        )
        .unwrap();
        let f = s.add_file("captures.jsonl", InputKind::Captures);
        for (i, l) in lines.iter().enumerate() {
            s.capture_line(f, i as u64 + 1, l).unwrap();
        }
        let r = s.finish().unwrap();
        let secs = t.elapsed().as_secs_f64();
        (secs, r.summary.added)
    };

    let rounds = 3;
    let (mut gen_t, mut v, mut ac, mut ad, mut sim) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut added, mut cur_findings, mut cand_findings) = (0, 0, 0);
    for _ in 0..rounds {
        gen_t.push(generate().0);
        v.push(value());
        let (t, n) = audit(&cur_engine);
        ac.push(t);
        cur_findings = n;
        let (t, n) = audit(&cand_engine);
        ad.push(t);
        cand_findings = n;
        let (t, a) = simulate();
        sim.push(t);
        added = a;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|x, y| x.total_cmp(y));
        v[v.len() / 2]
    };
    let (gt, v, ac, ad, sim) = (median(&mut gen_t), median(&mut v), median(&mut ac), median(&mut ad), median(&mut sim));
    println!(
        "data: {} cut to {days} days: {events} events, {mb:.1} MB; {} people; median of {rounds} rounds",
        scenario.display(),
        g.people()
    );
    let row = |name: &str, secs: f64| {
        println!("{name:<28} {secs:>8.3} s {:>9.1} MB/s {:>11.0} events/s", mb / secs, events as f64 / secs);
    };
    row("generate (1 thread, memory)", gt);
    row("serde_json Value (parse)", v);
    row("audit current", ac);
    row("audit candidate", ad);
    row("simulate (both, one read)", sim);
    println!("findings: current {cur_findings}, candidate {cand_findings}, added by simulate {added}");
    println!("simulate / (audit current + audit candidate) = {:.2}  (goal < 1)", sim / (ac + ad));
    println!("simulate / slower audit = {:.2}", sim / ac.max(ad));
    println!("audit current speed / serde_json Value speed = {:.2}", v / ac);
}
