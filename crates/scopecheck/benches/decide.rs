//! One native decision on a typical 1 KB event with about 20 fields, broken down, with a
//! parse-only baseline (the event read into a `serde_json::Value`) in the same run.
//!
//! `cargo bench -p scopecheck --bench decide`
//!
//! Each figure is the median of 100,000 calls timed one by one (after a warm-up), printed with
//! its ratio to the baseline: the ratios matter more than the figures on a shared machine.
//! The wasm figures are in `cargo bench -p scopecheck-host --bench decide`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use scopecheck::bundle::{Bundle, BundleOptions};
use scopecheck::decide::{Decider, Verdict};
use scopecheck::eval::Evaluator;
use scopecheck::observe::parse_capture;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

mod common;

/// The same event as the host bench's.
pub const EVENT: &str = include_str!("event.json");

fn p50(f: impl FnMut(), n: usize) -> Duration {
    common::percentiles(f, n).0
}

fn main() {
    let setup = common::mci_setup();
    let event = EVENT.trim();
    let bundle = Bundle::from_setup(&setup, BundleOptions::default()).unwrap();
    let mut decider = Decider::from_bundle(&bundle).unwrap();
    assert_eq!(decider.decide_line(event).decision, Verdict::Allow);
    let mut eval = Evaluator::new(Arc::new(bundle.engine().unwrap())).unwrap();
    let cap = parse_capture(event).unwrap();
    let n = 100_000;
    let base = p50(|| drop(black_box(serde_json::from_str::<serde_json::Value>(black_box(event)).unwrap())), n);
    let rows = [
        ("decide_line (first)", p50(|| drop(black_box(decider.decide_line(black_box(event)))), n)),
        ("parse_capture (JSON + envelope)", p50(|| drop(black_box(parse_capture(black_box(event)).unwrap())), n)),
        ("evaluate (parsed event)", p50(|| drop(black_box(eval.evaluate(black_box(&cap)).unwrap())), n)),
        ("decide_line (all of it)", p50(|| drop(black_box(decider.decide_line(black_box(event)))), n)),
    ];
    println!("event: {} bytes; median of {n} calls each", event.len());
    println!("{:<34} {:>10?}  1.00x", "baseline: parse into a Value", base);
    for (name, t) in rows {
        println!("{name:<34} {t:>10?}  {:.2}x", t.as_secs_f64() / base.as_secs_f64());
    }
}
