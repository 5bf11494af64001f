//! Property: on generated events, the wasm plugin (through the host crate) decides exactly as the
//! native engine does: same decision, findings and redacted event.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use proptest::prelude::*;
use scopecheck_host::Plugin;
use serde_json::{Map, Value, json};
use std::cell::RefCell;

const KEYS: &[&str] = &[
    "ui",
    "action",
    "element_id",
    "label",
    "input",
    "keystrokes",
    "interval_ms",
    "dwell_ms",
    "key",
    "pointer",
    "x",
    "y",
    "screen",
    "ocr_text",
    "chat",
    "messages",
    "text",
    "email",
    "ssn",
    "phone",
    "name",
    "notes",
    "session",
    "replay",
    "url",
    "title",
    "health",
    "diagnosis",
    "password",
    "token",
    "card",
    "salary",
    "tax_id",
    "address",
];

const STRINGS: &[&str] = &[
    "click",
    "Refresh",
    "jane.doe@example.com",
    "123-45-6789",
    "4111 1111 1111 1111",
    "+1 415 555 0100",
    "Patient reports chest pain since Tuesday",
    "https://intranet.example.com/hr/salaries",
    "hello there, how are you?",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "Jane Doe",
    "221B Baker Street, London",
    "",
    "x",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(STRINGS).prop_map(|s| json!(s)),
        any::<i64>().prop_map(|n| json!(n)),
        (0u32..1000).prop_map(|n| json!(n)),
        any::<bool>().prop_map(|b| json!(b)),
        Just(Value::Null),
    ]
}

fn data() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(KEYS).prop_map(str::to_string), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn event() -> impl Strategy<Value = String> {
    (
        prop::sample::select(
            &[
                "2026-05-11T09:09:07-07:00",
                "2026-05-12T23:30:00-07:00",
                "2026-05-16T12:00:00Z",
                "2026-05-13T03:15:00+02:00",
                "not a time",
            ][..],
        ),
        prop::option::of(prop::sample::select(&["mci", "other"][..])),
        (
            prop::option::of(prop::sample::select(&["e-10428", "c-20007", "u_3f9a1c", "42"][..])),
            prop::option::of(prop::sample::select(&["employee", "contractor", "customer"][..])),
        ),
        prop::option::of(prop::sample::select(&["desktop-agent", "browser-ext", "mobile"][..])),
        prop::option::of(prop::sample::select(&["mci-raw", "mci-labelled", "s3-archive", "unknown-store"][..])),
        prop::collection::btree_map(prop::sample::select(KEYS).prop_map(str::to_string), data(), 0..5),
    )
        .prop_map(|(ts, program, (subject, kind), source, store, data)| {
            let mut m = Map::new();
            m.insert("ts".into(), json!(ts));
            for (k, v) in [
                ("program", program),
                ("subject", subject),
                ("subject_kind", kind),
                ("source", source),
                ("store", store),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), json!(v));
                }
            }
            m.insert("data".into(), Value::Object(data.into_iter().collect()));
            Value::Object(m).to_string()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn wasm_decides_like_native(events in prop::collection::vec(event(), 1..6)) {
        thread_local! {
            static ENGINES: RefCell<Option<(scopecheck::decide::Decider, Plugin)>> = const { RefCell::new(None) };
        }
        ENGINES.with(|cell| {
            let mut cell = cell.borrow_mut();
            let (native_d, wasm) = cell.get_or_insert_with(|| {
                let bundle = bundle_bytes("mci");
                (native(&bundle), Plugin::new(module(), bundle.into()).unwrap())
            });
            for e in &events {
                let a = native_d.decide_line(e);
                let b = wasm.try_decide(e.as_bytes()).unwrap();
                prop_assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::to_value(&b).unwrap(), "event {}", e);
            }
            Ok(())
        })?;
    }
}
