//! Criterion micro-benchmarks of the hot paths, each beside its parse-only baseline:
//!
//! * **read**: one typical 831-byte `mci` event into a `serde_json::Value` (the baseline), and
//!   through scopecheck's one-pass reader (`parse_capture`);
//! * **classify**: the value detectors on a UI label, a keystroke interval, a chat message and a
//!   60 KiB OCR page (tax form and visit summary);
//! * **decide**: the evaluation of the parsed event, and `decide_line` (read + evaluate + reply).
//!
//! `cargo bench -p scopecheck --bench hot [-- FILTER]` (criterion's own filter: `-- classify`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use scopecheck::bundle::{Bundle, BundleOptions};
use scopecheck::decide::Decider;
use scopecheck::detect::Detectors;
use scopecheck::eval::Evaluator;
use scopecheck::observe::parse_capture;
use std::hint::black_box;
use std::sync::Arc;

mod common;

const EVENT: &str = include_str!("event.json");

fn ocr_page() -> String {
    let page = "Form W-2 Wage and Tax Statement 2025\na Employee's social security number 123-45-6789\n\
        b Employer identification number 12-3456789\nc Employer's name, address, and ZIP code ACME Corp, \
        100 Main Street, Springfield IL 62701\nPATIENT VISIT SUMMARY Patient: Dana Garcia Date of birth: 04/23/1985\n\
        Diagnosis: type 2 diabetes (ICD-10 E11.9). Prescription: metformin 500 mg twice daily.\n";
    page.repeat(60 * 1024 / page.len())
}

fn benches(c: &mut Criterion) {
    let event = EVENT.trim();
    let setup = common::mci_setup();

    let mut g = c.benchmark_group("read");
    g.throughput(Throughput::Bytes(event.len() as u64));
    g.bench_function("serde_json_value (baseline)", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(black_box(event)).unwrap())
    });
    g.bench_function("parse_capture", |b| b.iter(|| parse_capture(black_box(event)).unwrap().ts));
    g.finish();

    let d = Detectors::builtin().unwrap();
    let mut g = c.benchmark_group("classify");
    let ocr = ocr_page();
    for (name, text) in [
        ("ui_label", "Run tests"),
        ("keystroke_interval", "187"),
        ("chat_message", "hey, can you send me the Q3 deck before standup? my cell is (415) 555-0132"),
        ("ocr_page_60k", ocr.as_str()),
    ] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::new("scan", name), text, |b, t| b.iter(|| d.scan(black_box(t))));
    }
    g.finish();

    let bundle = Bundle::from_setup(&setup, BundleOptions::default()).unwrap();
    let mut decider = Decider::from_bundle(&bundle).unwrap();
    let mut eval = Evaluator::new(Arc::new(bundle.engine().unwrap())).unwrap();
    let cap = parse_capture(event).unwrap();
    let mut g = c.benchmark_group("decide");
    g.throughput(Throughput::Bytes(event.len() as u64));
    g.bench_function("evaluate (parsed event)", |b| b.iter(|| eval.evaluate(black_box(&cap)).unwrap()));
    g.bench_function("decide_line", |b| b.iter(|| decider.decide_line(black_box(event))));
    g.finish();
}

criterion_group!(hot, benches);
criterion_main!(hot);
