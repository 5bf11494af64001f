//! One decision on a typical 1 KB event with about 20 fields, native and through wasm; instantiation
//! from a precompiled module; cold start with a cached module; and a million decisions in one
//! instance (guest memory after the first thousand and at the end). Cold starts are measured with
//! the bundle loaded at start and with a cached pre-initialized snapshot
//! ([`PluginModule::cached_with_bundle`]).
//!
//!     cargo build --profile plugin --target wasm32-wasip1 -p scopecheck-plugin
//!     cargo bench -p scopecheck-host --bench decide
//!
//! `SCOPECHECK_BENCH_MILLION=0` skips the million.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use criterion::{Criterion, criterion_group};
use scopecheck::bundle::{Bundle, BundleOptions};
use scopecheck::decide::{Decider, Verdict};
use scopecheck_host::{HostConfig, Plugin, PluginModule};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[path = "../../scopecheck/benches/common/mod.rs"]
mod common;
use common::{interleaved, percentiles};

const EVENT: &str = include_str!("../../scopecheck/benches/event.json").trim_ascii_end();

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn plugin_path() -> PathBuf {
    std::env::var_os("SCOPECHECK_PLUGIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/wasm32-wasip1/plugin/scopecheck_plugin.wasm"))
}

fn cache_dir() -> PathBuf {
    workspace().join("target/scopecheck-bench-cache")
}

fn bundle() -> Vec<u8> {
    Bundle::from_setup(&common::mci_setup(), BundleOptions::default()).unwrap().to_bytes().unwrap()
}

fn benches(c: &mut Criterion) {
    let bundle = bundle();
    let fields = {
        let v: serde_json::Value = serde_json::from_str(EVENT).unwrap();
        let mut paths = std::collections::BTreeSet::new();
        scopecheck::pattern::walk_leaves(&v["data"], |l| {
            paths.insert(l.path.to_string());
        });
        paths.len()
    };
    eprintln!("event: {} bytes, {fields} fields", EVENT.len());
    let mut native = Decider::from_bundle(&Bundle::from_bytes(&bundle, "b").unwrap()).unwrap();
    assert_eq!(native.decide_line(EVENT).decision, Verdict::Allow);
    let module = Arc::new(PluginModule::cached(&plugin_path(), &cache_dir(), HostConfig::default()).unwrap());
    let mut wasm = Plugin::new(Arc::clone(&module), bundle.clone().into()).unwrap();
    assert_eq!(wasm.decide(EVENT.as_bytes()), native.decide_line(EVENT));

    let (p50, _) =
        percentiles(|| drop(black_box(serde_json::from_str::<serde_json::Value>(black_box(EVENT)))), 100_000);
    {
        let b = Bundle::from_bytes(&bundle, "b").unwrap();
        let p = &b.payload;
        let t = Instant::now();
        let tax = scopecheck::taxonomy::Taxonomy::from_yaml(&p.taxonomy.text, "t").unwrap();
        let t1 = t.elapsed();
        let _scope = scopecheck::scope::CompiledScope::load(&p.scope.text, "s", &tax).unwrap();
        let t2 = t.elapsed();
        let mut rules = scopecheck::rules::RulePack::schema_only().unwrap();
        let t3 = t.elapsed();
        for r in &p.policies {
            rules.add_source(&r.text, &r.name).unwrap();
        }
        let t4 = t.elapsed();
        let mut d = scopecheck::detect::Detectors::empty().unwrap();
        for x in &p.detectors {
            d.add_yaml(&x.text, &x.name).unwrap();
        }
        let t5 = t.elapsed();
        eprintln!(
            "native load breakdown: taxonomy {t1:?}, scope {:?}, Cedar schema {:?}, rules (parse + strict validation) {:?}, detectors {:?}",
            t2 - t1,
            t3 - t2,
            t4 - t3,
            t5 - t4
        );
    }
    let load = Instant::now();
    let b = Bundle::from_bytes(&bundle, "b").unwrap();
    let parsed = load.elapsed();
    let engine = b.engine().unwrap();
    let built = load.elapsed();
    let _ = Decider::new(Arc::new(engine), b.decide_options()).unwrap();
    eprintln!(
        "native load of the bundle: read and digest {parsed:?}, engine (scope, strict Cedar validation, detectors) {:?}, evaluator {:?}; parsing the event alone p50 {p50:?}",
        built - parsed,
        load.elapsed() - built
    );
    let [(n50, n99), (w50, w99)] = interleaved(
        || drop(black_box(native.decide_line(black_box(EVENT)))),
        || drop(black_box(wasm.decide(black_box(EVENT.as_bytes())))),
        200_000,
    );
    eprintln!(
        "one decision, 200000 of each timed one by one, in turn: native p50 {n50:?} p99 {n99:?}; wasm p50 {w50:?} p99 {w99:?}; wasm/native {:.2}x at p50",
        w50.as_secs_f64() / n50.as_secs_f64()
    );
    // The cost of a call itself: an event that is denied at its first byte.
    let (r50, _) = percentiles(|| drop(black_box(wasm.decide(black_box(b"x")))), 100_000);
    let (q50, _) = percentiles(|| drop(black_box(native.decide_line(black_box("x")))), 100_000);
    eprintln!("a call that denies a non-JSON event at once: native p50 {q50:?}; wasm p50 {r50:?}");

    c.bench_function("decide/native", |b| b.iter(|| native.decide_line(black_box(EVENT))));
    c.bench_function("decide/wasm", |b| b.iter(|| wasm.decide(black_box(EVENT.as_bytes()))));
    c.bench_function("instantiate (precompiled, pooled)", |b| b.iter(|| module.instantiate().unwrap()));
    let mut g = c.benchmark_group("start");
    g.sample_size(10);
    g.bench_function("instantiate + load bundle", |b| {
        b.iter(|| Plugin::new(Arc::clone(&module), bundle.clone().into()).unwrap())
    });
    g.bench_function("cold start (cached module) + load bundle + first decision", |b| {
        b.iter(|| {
            let m = Arc::new(PluginModule::cached(&plugin_path(), &cache_dir(), HostConfig::default()).unwrap());
            let mut p = Plugin::new(m, bundle.clone().into()).unwrap();
            p.decide(EVENT.as_bytes())
        })
    });
    // Pre-initialized: the cache holds a snapshot of an instance that has loaded the bundle.
    drop(PluginModule::cached_with_bundle(&plugin_path(), &bundle, &cache_dir(), HostConfig::default()).unwrap());
    g.bench_function("cold start (cached pre-initialized module) + first decision", |b| {
        b.iter(|| {
            let m = Arc::new(
                PluginModule::cached_with_bundle(&plugin_path(), &bundle, &cache_dir(), HostConfig::default()).unwrap(),
            );
            let mut p = Plugin::new(m, bundle.clone().into()).unwrap();
            p.decide(EVENT.as_bytes())
        })
    });
    g.bench_function("cold start (cached module), no bundle", |b| {
        b.iter(|| {
            let m = PluginModule::cached(&plugin_path(), &cache_dir(), HostConfig::default()).unwrap();
            m.instantiate().unwrap()
        })
    });
    g.finish();
}

fn million() {
    if std::env::var("SCOPECHECK_BENCH_MILLION").is_ok_and(|v| v == "0") {
        return;
    }
    let module = Arc::new(PluginModule::cached(&plugin_path(), &cache_dir(), HostConfig::default()).unwrap());
    let events: Vec<String> = std::fs::read_to_string(workspace().join("fixtures/mci/captures.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .chain(std::iter::once(EVENT.to_string()))
        .collect();
    let mut p = Plugin::new(module, bundle().into()).unwrap();
    let start = Instant::now();
    let mut after_1000 = 0;
    for i in 0..1_000_000 {
        black_box(p.decide(events[i % events.len()].as_bytes()));
        if i + 1 == 1000 {
            after_1000 = p.instance().unwrap().memory_bytes();
        }
    }
    let end = p.instance().unwrap().memory_bytes();
    eprintln!(
        "a million decisions (fixtures/mci events in turn) in one instance: {:?}; guest memory {after_1000} bytes after 1000, {end} after 1000000; restarts {}",
        start.elapsed(),
        p.restarts
    );
}

criterion_group!(group, benches);

fn main() {
    group();
    million();
    Criterion::default().configure_from_args().final_summary();
}
