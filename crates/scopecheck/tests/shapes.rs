//! The evaluator plans each sequence of leaf paths (a shape) once and reuses the plan. Events
//! whose paths only look alike (the same text split differently, the same paths in another
//! order, a key repeated) must not share a plan: a decider that has seen every other shape first
//! decides each event as a fresh one does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use scopecheck::decide::{DecideOptions, Decider};
use scopecheck::{Setup, Source};
use std::sync::Arc;

const SCOPE: &str = "\
program: demo
notice: https://example.invalid/notice
collect:
  - field: ab
    category: behavior.app_interaction
    purposes: [analytics]
  - field: a.b
    category: behavior.app_interaction
    purposes: [analytics]
  - field: c
    category: behavior.app_interaction
    purposes: [analytics]
";

/// `data` objects whose paths are alike: `ab` / `a` + `b`, `ab` + `c` / `a` + `bc` (the same
/// text split otherwise, the second pair with as many leaves), `a.b`
/// nested and as one key (one path: they should share), arrays, repeats and other orders.
const DATA: &[&str] = &[
    r#"{"ab":"Save"}"#,
    r#"{"a":"Save","b":"Run"}"#,
    r#"{"ab":"Save","c":"Run"}"#,
    r#"{"a":"Save","bc":"Run"}"#,
    r#"{"b":"Run","a":"Save"}"#,
    r#"{"a":{"b":"Save"}}"#,
    r#"{"a.b":"Save"}"#,
    r#"{"ab":["Save","Run"]}"#,
    r#"{"ab":"Save","ab":"Run"}"#,
    r#"{"a":"x","a":"y","b":"z"}"#,
    r#"{"a":"x","b":"z","a":"y"}"#,
    r#"{"ab":"jane.doe@example.com"}"#,
    r#"{"a":{"b":"jane.doe@example.com"},"ab":1}"#,
    r#"{"ab":1,"a":{"b":"jane.doe@example.com"}}"#,
    r#"{}"#,
];

fn line(data: &str) -> String {
    format!(r#"{{"ts":"2026-05-12T09:14:03Z","program":"demo","data":{data}}}"#)
}

fn decider() -> Decider {
    let setup = Setup { scope: Some(Source::new("scope.yaml", SCOPE)), ..Setup::default() };
    Decider::new(Arc::new(setup.build().unwrap()), DecideOptions::default()).unwrap()
}

fn fresh(data: &str) -> String {
    serde_json::to_string(&decider().decide_line(&line(data))).unwrap()
}

#[test]
fn a_warm_decider_decides_each_shape_as_a_fresh_one() {
    let want: Vec<String> = DATA.iter().map(|d| fresh(d)).collect();
    // Forward, backward and interleaved, twice over: every shape is met after the others.
    let mut warm = decider();
    let n = DATA.len();
    assert_ne!(n % 7, 0, "the interleaved order below must visit every event");
    let order: Vec<usize> = (0..n).chain((0..n).rev()).chain((0..n).map(|i| (i * 7) % n)).collect();
    for _ in 0..2 {
        for &i in &order {
            let got = serde_json::to_string(&warm.decide_line(&line(DATA[i]))).unwrap();
            assert_eq!(got, want[i], "event {i} ({}) after other shapes", DATA[i]);
        }
    }
    // The alike shapes are decided differently where their paths differ.
    assert_ne!(want[0], want[1], "`ab` and `a` + `b` are different fields");
    assert_ne!(want[2], want[3], "`ab` + `c` and `a` + `bc` are different fields");
    assert_eq!(want[5], want[6], "`a.b` nested and as one key are one path");
}
