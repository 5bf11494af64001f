//! The audit on one and on several deciders, over one generated capture file read from memory.
//!
//! `cargo bench -p scopecheck --bench threads [-- SCENARIO DAYS]` (default: the `mci` scenario's
//! first day). Passes, interleaved over 3 rounds, median reported: `serde_json::Value` parsing of
//! every line (the parse-only baseline), `audit` (one thread, no reader thread), and
//! `audit_parallel` with 1, 2 and (when there are more cores) all deciders, one reader each, each
//! run on an engine of its own whose lazy DFAs start cold, as in a run of the CLI.
//! Run it on a quiet machine: the ratio of 2 deciders to 1 is the figure (goal ≥ 1.8). Beside
//! it, the machine's own ceiling: the parse-only pass split into equal shares parsed on 1, 2
//! (and all) threads with nothing shared, which no work on these cores can beat; and the audit's
//! own ceiling: its work split the same way (an auditor per thread over its own share of the
//! lines, no reader, no hand-over, no merge), which says what the machine takes from this
//! workload on several cores, as against what the split and merge take.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use scopecheck::audit::{AuditOptions, Input, InputKind, Split, audit, audit_parallel};
use scopecheck::generate::Generator;
use scopecheck::{Setup, Source};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let scenario = args.first().map_or_else(|| root.join("fixtures/scenarios/mci.yaml"), |s| s.into());
    let days: u32 = args.get(1).and_then(|d| d.parse().ok()).unwrap_or(1);
    let text = std::fs::read_to_string(&scenario).unwrap();
    let g = Generator::new(&text, &scenario.display().to_string(), None).unwrap().with_days(days).unwrap();
    let mut data = String::new();
    let mut events = 0;
    for i in 0..g.chunks() {
        let c = g.chunk(i);
        events += c.lines;
        data.push_str(&c.text);
    }
    let (stores, _) = g.stores_yaml();
    let setup = Setup {
        scope: Some(Source::new("scope.yaml", g.scope_yaml())),
        stores: Some(Source::new("stores.yaml", stores)),
        ..Setup::default()
    };
    let engine = Arc::new(setup.build().unwrap());
    let mb = data.len() as f64 / 1e6;
    let input = || {
        vec![Input {
            name: "captures.jsonl".into(),
            kind: InputKind::Captures,
            reader: Box::new(std::io::Cursor::new(data.as_bytes())),
            digest: None,
        }]
    };
    let value = || {
        let t = Instant::now();
        for l in data.lines() {
            black_box(serde_json::from_str::<serde_json::Value>(l).unwrap());
        }
        t.elapsed().as_secs_f64()
    };
    let serial = || {
        let t = Instant::now();
        black_box(audit(Arc::clone(&engine), input(), AuditOptions::default()).unwrap());
        t.elapsed().as_secs_f64()
    };
    // Line by line from memory (no reader, no digest), with and without the value cache (without:
    // every value scanned by the detectors).
    let lines = |values: bool| {
        let t = Instant::now();
        let mut a = scopecheck::audit::Auditor::new(Arc::clone(&engine), AuditOptions::default()).unwrap();
        a.set_value_cache(values);
        let f = a.add_file("captures.jsonl", InputKind::Captures);
        for (i, l) in data.lines().enumerate() {
            a.capture_line(f, i as u64 + 1, l).unwrap();
        }
        black_box(a.finish().unwrap());
        t.elapsed().as_secs_f64()
    };
    // As a run of the CLI: every decider starts with cold lazy DFAs (an engine of its own).
    let parallel = |threads: usize| {
        let t = Instant::now();
        let split = Split::new(threads, scopecheck::input::MAX_LINE);
        let own = Arc::new(scopecheck::eval::Engine::clone(&engine));
        black_box(audit_parallel(vec![own], AuditOptions::default(), input(), split).unwrap());
        t.elapsed().as_secs_f64()
    };
    // The parse-only pass on `n` threads, each its own share of the lines, nothing shared.
    let all_lines: Vec<&str> = data.lines().collect();
    let value_on = |n: usize| {
        let share = all_lines.len().div_ceil(n.max(1)).max(1);
        let t = Instant::now();
        std::thread::scope(|sc| {
            for part in all_lines.chunks(share) {
                sc.spawn(move || {
                    for l in part {
                        black_box(serde_json::from_str::<serde_json::Value>(l).unwrap());
                    }
                });
            }
        });
        t.elapsed().as_secs_f64()
    };
    // The audit's own work on `n` threads, each an auditor of its own over its own share of the
    // lines from memory: no reader, no digest, no hand-over, no merge. What is lost here against
    // `n` is lost to the machine (shared caches and memory), not to how the audit splits.
    let lines_on = |n: usize| {
        let share = all_lines.len().div_ceil(n.max(1)).max(1);
        let t = Instant::now();
        std::thread::scope(|sc| {
            for part in all_lines.chunks(share) {
                let own = Arc::new(scopecheck::eval::Engine::clone(&engine));
                sc.spawn(move || {
                    let mut a = scopecheck::audit::Auditor::new(own, AuditOptions::default()).unwrap();
                    let f = a.add_file("captures.jsonl", InputKind::Captures);
                    for (i, l) in part.iter().enumerate() {
                        a.capture_line(f, i as u64 + 1, l).unwrap();
                    }
                    black_box(a.finish().unwrap());
                });
            }
        });
        t.elapsed().as_secs_f64()
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut counts = vec![1, 2];
    if cores > 2 {
        counts.push(cores);
    }
    let rounds = 3;
    let (mut v, mut s, mut c, mut u) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut p: Vec<Vec<f64>> = vec![Vec::new(); counts.len()];
    let mut q: Vec<Vec<f64>> = vec![Vec::new(); counts.len()];
    let mut h: Vec<Vec<f64>> = vec![Vec::new(); counts.len()];
    for _ in 0..rounds {
        for (i, &n) in counts.iter().enumerate() {
            q[i].push(value_on(n));
            h[i].push(lines_on(n));
        }
        v.push(value());
        s.push(serial());
        c.push(lines(true));
        u.push(lines(false));
        for (i, &n) in counts.iter().enumerate() {
            p[i].push(parallel(n));
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|x, y| x.total_cmp(y));
        v[v.len() / 2]
    };
    let (v, s, c, u) = (median(&mut v), median(&mut s), median(&mut c), median(&mut u));
    println!(
        "data: {} cut to {days} days: {events} events, {mb:.1} MB; {cores} cores; median of {rounds} rounds",
        scenario.display()
    );
    println!("{:<34} {v:>8.3} s {:>8.1} MB/s", "serde_json Value (parse)", mb / v);
    println!("{:<34} {s:>8.3} s {:>8.1} MB/s  {:.2} x parse speed", "audit (one thread)", mb / s, v / s);
    println!("{:<34} {c:>8.3} s {:>8.1} MB/s  {:.2} x parse speed", "audit, lines from memory", mb / c, v / c);
    println!(
        "{:<34} {u:>8.3} s {:>8.1} MB/s  {:.2} x parse speed; the value cache gives {:.2} x",
        "audit, lines, no value cache",
        mb / u,
        v / u,
        u / c
    );
    // Each count's median against the one-thread median of the same pass.
    let scaling = |times: &mut [Vec<f64>], what: &str, of_one: &str| {
        let mut one = 0.0;
        for (i, n) in counts.iter().enumerate() {
            let t = median(&mut times[i]);
            if *n == 1 {
                one = t;
            }
            println!("{:<34} {t:>8.3} s {:>8.1} MB/s  {:.2} x {of_one}", format!("{what}, {n}"), mb / t, one / t);
        }
    };
    scaling(&mut q, "serde_json Value, threads", "one thread (this machine's ceiling)");
    scaling(&mut h, "audit, own share per thread", "one thread (the audit's ceiling here)");
    scaling(&mut p, "audit_parallel, deciders", "one decider");
}
