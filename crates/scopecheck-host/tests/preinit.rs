//! Pre-initialized plugins: a snapshot of an instance that has loaded its bundle decides exactly
//! as a plugin that loads it at start, restarts from the snapshot after a trap, and still loads
//! another bundle when given one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use scopecheck::decide::ErrorCode;
use scopecheck_host::{HostConfig, HostError, Plugin, PluginModule};
use std::sync::Arc;
use std::time::Duration;

fn preinit(bundle: &[u8]) -> Arc<PluginModule> {
    Arc::new(PluginModule::cached_with_bundle(&plugin_path(), bundle, &cache_dir(), HostConfig::default()).unwrap())
}

#[test]
fn a_snapshot_decides_like_the_native_engine_on_every_event() {
    for fixture in ["mci", "helpdesk"] {
        let bundle = bundle_bytes(fixture);
        let module = preinit(&bundle);
        assert_eq!(module.preloaded_bundle(), Some(scopecheck::bundle::sha256_hex(&bundle).as_str()));
        let mut native = native(&bundle);
        let mut wasm = Plugin::new(Arc::clone(&module), bundle.clone().into()).unwrap();
        for (i, line) in events(fixture).iter().enumerate() {
            let a = native.decide_line(line);
            let b = wasm.try_decide(line.as_bytes()).unwrap_or_else(|e| panic!("{fixture} event {i}: {e}"));
            assert_eq!(
                serde_json::to_value(&a).unwrap(),
                serde_json::to_value(&b).unwrap(),
                "{fixture} event {i}: native vs snapshot\n{line}"
            );
        }
    }
}

#[test]
fn the_cache_is_hit_the_second_time() {
    let bundle = bundle_bytes("clean");
    let first = preinit(&bundle);
    let entries = || {
        std::fs::read_dir(cache_dir())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("scopecheck-preinit-"))
            .count()
    };
    let before = entries();
    let second = preinit(&bundle);
    assert_eq!(entries(), before, "no new cache entry");
    assert_eq!(first.preloaded_bundle(), second.preloaded_bundle());
}

#[test]
fn another_bundle_is_loaded_over_the_snapshot() {
    let module = preinit(&bundle_bytes("mci"));
    let workday = bundle_bytes("workday");
    let mut native = native(&workday);
    let mut wasm = Plugin::new(module, workday.into()).unwrap();
    for (i, line) in events("workday").iter().enumerate() {
        let a = native.decide_line(line);
        let b = wasm.try_decide(line.as_bytes()).unwrap();
        assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::to_value(&b).unwrap(), "workday event {i}");
    }
}

#[test]
fn a_refused_bundle_is_an_error_not_a_snapshot() {
    let mut bundle = bundle_bytes("clean");
    let n = bundle.len();
    bundle.truncate(n / 2);
    let e = PluginModule::cached_with_bundle(&plugin_path(), &bundle, &cache_dir(), HostConfig::default()).unwrap_err();
    assert!(matches!(e, HostError::Bundle(_)), "{e}");
}

#[test]
fn after_a_trap_the_next_instance_starts_from_the_snapshot() {
    let bundle = bundle_bytes("mci");
    let module = preinit(&bundle);
    let mut native = native(&bundle);
    let mut wasm = Plugin::new(module, bundle.into()).unwrap();
    let big = format!(
        r#"{{"ts":"2026-05-12T10:14:03-07:00","store":"mci-raw","data":{{"t":"{}"}}}}"#,
        "Patient diagnosed with chronic asthma. ".repeat(60_000)
    );
    wasm.set_time_per_decision(Duration::from_millis(1));
    let d = wasm.decide(big.as_bytes());
    assert_eq!(d.error.map(|e| e.code), Some(ErrorCode::OutOfTime));
    assert_eq!(wasm.restarts, 1);
    wasm.set_time_per_decision(Duration::from_secs(5));
    let line = &events("mci")[3];
    assert_eq!(
        serde_json::to_value(wasm.try_decide(line.as_bytes()).unwrap()).unwrap(),
        serde_json::to_value(native.decide_line(line)).unwrap()
    );
}
