//! Hostile input: each gives a typed error and a `deny`, never a host crash, and the next event is
//! decided normally.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use scopecheck::decide::{ErrorCode, Verdict};
use scopecheck_host::{HostConfig, HostError, Interrupt, Plugin};
use std::sync::Arc;
use std::time::Duration;

const GOOD: &str = r#"{"ts":"2026-05-11T09:09:07-07:00","program":"mci","subject":"e-10428","subject_kind":"employee","source":"desktop-agent","store":"mci-raw","data":{"ui":{"action":"click","element_id":"btn-refresh","label":"Refresh"}}}"#;

fn plugin() -> Plugin {
    Plugin::new(module(), bundle_bytes("mci").into()).unwrap()
}

/// The next event is decided as the native engine decides it.
fn next_is_normal(p: &mut Plugin) {
    let expected = native(&bundle_bytes("mci")).decide_line(GOOD);
    let got = p.try_decide(GOOD.as_bytes()).unwrap();
    assert_eq!(got, expected);
    assert!(got.error.is_none());
}

#[test]
fn truncated_corrupt_older_and_newer_bundles_are_refused() {
    let good = bundle_bytes("mci");
    let text = String::from_utf8(good.clone()).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() / 3].to_vec()),
        ("empty", Vec::new()),
        ("corrupt", text.replacen("mci-raw", "mci-rAw", 1).into_bytes()),
        ("newer", text.replacen("\"format_version\":2", "\"format_version\":99", 1).into_bytes()),
        ("older", text.replacen("\"format_version\":2", "\"format_version\":1", 1).into_bytes()),
        ("not json", b"\x00\x01garbage".to_vec()),
    ];
    for (what, bytes) in cases {
        let err = Plugin::new(module(), bytes.into()).unwrap_err();
        assert!(matches!(err, HostError::Bundle(_)), "{what}: {err}");
        assert_eq!(err.to_decision().decision, Verdict::Deny);
        if what == "newer" {
            assert!(err.to_string().contains("format version 99"), "{err}");
        }
        if what == "older" {
            assert!(err.to_string().contains("format version 1") && err.to_string().contains("rebuild"), "{err}");
        }
        if what == "corrupt" {
            assert!(err.to_string().contains("corrupt"), "{err}");
        }
    }
    // A refused bundle does not poison the module.
    next_is_normal(&mut plugin());
}

#[test]
fn malformed_events_are_denied_with_a_reason() {
    let mut p = plugin();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_data = format!(
        r#"{{"ts":"2026-05-11T09:09:07-07:00","program":"mci","data":{}1{}}}"#,
        "{\"a\":".repeat(120),
        "}".repeat(120)
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not json", b"this is not json".to_vec()),
        ("not utf-8", b"{\"ts\":\"\xff\xfe\"}".to_vec()),
        ("empty", Vec::new()),
        ("array", b"[1,2,3]".to_vec()),
        ("no data", br#"{"ts":"2026-05-11T09:09:07-07:00"}"#.to_vec()),
        ("deep json", deep.into_bytes()),
        ("deep data", deep_data.into_bytes()),
        ("other program", GOOD.replace("\"mci\"", "\"other\"").into_bytes()),
    ];
    for (what, bytes) in cases {
        let d = p.try_decide(&bytes).unwrap();
        assert_eq!(d.decision, Verdict::Deny, "{what}");
        assert_eq!(d.error.as_ref().map(|e| e.code), Some(ErrorCode::InvalidEvent), "{what}: {d:?}");
        next_is_normal(&mut p);
    }
    assert_eq!(p.restarts, 0, "no trap on malformed input");
}

#[test]
fn a_50_mb_event_is_denied_unread() {
    let mut p = plugin();
    let big =
        format!(r#"{{"ts":"2026-05-11T09:09:07-07:00","program":"mci","data":{{"blob":"{}"}}}}"#, "x".repeat(50 << 20));
    let err = p.try_decide(big.as_bytes()).unwrap_err();
    assert!(matches!(err, HostError::TooLarge { .. }), "{err}");
    assert_eq!(p.decide(big.as_bytes()).error.map(|e| e.code), Some(ErrorCode::TooLarge));
    next_is_normal(&mut p);
    // Even with the host's check lifted, the guest refuses it (its own limit), without trapping.
    p.set_limits(HostConfig::default().fuel_per_decision, usize::MAX);
    let d = p.try_decide(big.as_bytes()).unwrap();
    assert_eq!(d.decision, Verdict::Deny);
    assert_eq!(d.error.map(|e| e.code), Some(ErrorCode::TooLarge));
    next_is_normal(&mut p);
}

#[test]
fn running_out_of_fuel_denies_and_recovers() {
    let config = HostConfig { interrupt: Interrupt::Fuel, ..HostConfig::default() };
    let mut p = Plugin::new(module_with(config), bundle_bytes("mci").into()).unwrap();
    next_is_normal(&mut p);
    p.set_limits(10_000, config.max_event_bytes);
    let err = p.try_decide(GOOD.as_bytes()).unwrap_err();
    assert!(matches!(err, HostError::OutOfFuel { fuel: 10_000 }), "{err}");
    let d = p.decide(GOOD.as_bytes());
    assert_eq!((d.decision, d.error.map(|e| e.code)), (Verdict::Deny, Some(ErrorCode::OutOfFuel)));
    assert!(p.restarts >= 2);
    p.set_limits(config.fuel_per_decision, config.max_event_bytes);
    next_is_normal(&mut p);
}

#[test]
fn running_out_of_time_denies_and_recovers() {
    let mut p = plugin();
    // About 3 MB of many small values: well over a millisecond to decide.
    let items = vec!["{\"k\":\"some text here\"}"; 120_000].join(",");
    let event = format!(r#"{{"ts":"2026-05-11T09:09:07-07:00","program":"mci","data":{{"a":[{items}]}}}}"#);
    p.set_time_per_decision(Duration::from_millis(1));
    let err = p.try_decide(event.as_bytes()).unwrap_err();
    assert!(matches!(err, HostError::OutOfTime { .. }), "{err}");
    assert_eq!(err.to_decision().error.map(|e| e.code), Some(ErrorCode::OutOfTime));
    p.set_time_per_decision(Duration::from_secs(1));
    next_is_normal(&mut p);
}

#[test]
fn running_out_of_memory_denies_and_recovers() {
    let config = HostConfig { max_memory_bytes: 64 << 20, ..HostConfig::default() };
    let mut p = Plugin::new(module_with(config), bundle_bytes("mci").into()).unwrap();
    p.set_limits(config.fuel_per_decision, usize::MAX);
    // Small in text, large as parsed JSON values: about 16 bytes of text per 48 bytes of value.
    let items = vec!["[1,[2,[3]]]"; 350_000].join(",");
    let event = format!(r#"{{"ts":"2026-05-11T09:09:07-07:00","program":"mci","data":{{"a":[{items}]}}}}"#);
    p.configure(serde_json::json!({"max_event_bytes": 64 << 20})).unwrap();
    let err = p.try_decide(event.as_bytes()).unwrap_err();
    assert!(matches!(err, HostError::OutOfMemory { .. }), "{err}");
    assert_eq!(err.to_decision().decision, Verdict::Deny);
    next_is_normal(&mut p);
}

#[test]
fn no_bundle_no_decision() {
    let mut inst = module().instantiate().unwrap();
    assert!(!inst.prepare().unwrap(), "nothing to prepare without a bundle");
    let d = inst.try_decide(GOOD.as_bytes()).unwrap();
    assert_eq!(d.decision, Verdict::Deny);
    assert_eq!(d.error.map(|e| e.code), Some(ErrorCode::NotLoaded));
}

#[test]
fn prepare_compiles_ahead_and_changes_no_decision() {
    let bundle = bundle_bytes("mci");
    let mut lazy = module().instantiate().unwrap();
    lazy.load_bundle(&bundle).unwrap();
    let mut ready = module().instantiate().unwrap();
    ready.load_bundle(&bundle).unwrap();
    let before = ready.memory_bytes();
    assert!(ready.prepare().unwrap());
    assert!(ready.memory_bytes() > before, "the compiled regexes live in guest memory");
    for line in events("mci") {
        let (a, b) = (lazy.try_decide(line.as_bytes()).unwrap(), ready.try_decide(line.as_bytes()).unwrap());
        assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::to_value(&b).unwrap(), "{line}");
    }
}

/// What of a decision does not depend on the events an evaluator saw before: the verdicts, the
/// findings' rules, subjects, severities and actions, the redacted event. (Which evidence samples
/// are kept can depend on the order categories were first met; see the report.)
fn stable(d: &scopecheck::decide::Decision) -> serde_json::Value {
    let findings: Vec<_> = d
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.target.clone(), f.severity, f.action, f.categories.clone()))
        .collect();
    serde_json::json!({"decision": d.decision, "would": d.would, "findings": findings, "event": d.event, "error": d.error})
}

#[test]
fn many_threads_share_a_pool() {
    let pool = Arc::new(scopecheck_host::PluginPool::new(module(), bundle_bytes("mci").into(), 3).unwrap());
    let events = events("mci");
    let expected: Vec<_> = {
        let mut n = native(&bundle_bytes("mci"));
        events.iter().map(|e| n.decide_line(e)).collect()
    };
    let events = Arc::new(events);
    let expected = Arc::new(expected);
    let handles: Vec<_> = (0..6)
        .map(|t| {
            let pool = Arc::clone(&pool);
            let events = Arc::clone(&events);
            let expected = Arc::clone(&expected);
            std::thread::spawn(move || {
                for (i, e) in events.iter().enumerate().skip(t).step_by(6) {
                    assert_eq!(stable(&pool.decide(e.as_bytes())), stable(&expected[i]), "event {i}");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}
