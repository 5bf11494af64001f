//! Redacted evidence keeps enough to act on: the kind of value, its length or last digits, and,
//! with a key, a keyed tag that shows where one value recurs without showing it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use scopecheck::audit::{AuditOptions, Input, InputKind, audit};
use scopecheck::people::Pseudonymizer;
use scopecheck::{Setup, Source};
use std::sync::Arc;

const SCOPE: &str = "\
program: demo
notice: https://example.invalid/notice
collect:
  - field: ui.label
    category: behavior.app_interaction
    purposes: [analytics]
";

fn evidence(lines: &[&str], key: Option<&str>) -> Vec<String> {
    let setup = Setup { scope: Some(Source::new("scope.yaml", SCOPE)), ..Setup::default() };
    let mut engine = setup.build().unwrap();
    engine.value_tags = key.map(|k| Pseudonymizer::new(k.as_bytes()));
    let text: String = lines
        .iter()
        .map(|l| {
            format!(r#"{{"ts":"2026-05-12T09:14:03Z","program":"demo","data":{{"ui":{{"label":"{l}"}}}}}}"#) + "\n"
        })
        .collect();
    let input =
        Input { name: "c.jsonl".into(), kind: InputKind::Captures, reader: Box::new(text.as_bytes()), digest: None };
    let report = audit(Arc::new(engine), vec![input], AuditOptions::default()).unwrap();
    let f = report.findings.iter().find(|f| f.rule == "undisclosed-category").unwrap();
    f.evidence.clone()
}

#[test]
fn keyed_tags_tell_repeats_from_different_values() {
    let cards = ["Pay 4111 1111 1111 1111", "Pay 5500 0000 0000 0004", "Pay 4111 1111 1111 1111"];
    let plain = evidence(&cards, None);
    assert!(plain.iter().all(|e| !e.contains('#')), "{plain:?}");
    assert!(plain.iter().any(|e| e.ends_with("1111")), "{plain:?}");
    let tagged = evidence(&cards, Some("k1"));
    // Two distinct cards: two evidence entries, each with its last digits and a tag.
    assert_eq!(tagged.len(), 2, "{tagged:?}");
    let tag = |e: &String| e.rsplit_once(" #").map(|(_, t)| t.to_string()).unwrap();
    assert_ne!(tag(&tagged[0]), tag(&tagged[1]));
    assert_eq!(tag(&tagged[0]).len(), 8);
    // Stable for a key, different across keys, and the value is not in it.
    assert_eq!(evidence(&cards, Some("k1")), tagged);
    assert_ne!(evidence(&cards, Some("k2")), tagged);
    for e in &tagged {
        assert!(!e.contains("4111 1111 1111 1111") && !e.contains("5500 0000 0000 0004"), "{e}");
    }
}
