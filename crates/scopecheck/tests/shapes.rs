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

/// The MCI fixture's scope with one user rule on the pointer, `when` the given condition holds.
fn pointer_rule_engine(id: &str, title: &str, when: &str) -> Arc<scopecheck::eval::Engine> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let scope = std::fs::read_to_string(root.join("fixtures/mci/scope.yaml")).unwrap();
    let policy = format!(
        "@id(\"{id}\")\n@severity(\"low\")\n@title(\"{title}\")\n@help(\"Test rule.\")\n\
         forbid (principal, action == Scopecheck::Action::\"collect\", resource)\n\
         when {{\n  context.category in Scopecheck::Category::\"behavior.input.pointer\" &&\n  ({when})\n}};\n"
    );
    let setup = Setup {
        scope: Some(Source::new("scope.yaml", scope)),
        policies: vec![Source::new(format!("{id}.cedar"), policy)],
        ..Setup::default()
    };
    Arc::new(setup.build().unwrap())
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

/// A label longer than the value cache keeps, with an email at its end.
const LONG_LABEL: &str = r#"{"input":{"pointer":{"x":1,"y":2,"pressed":false}},"ui":{"label":"Refresh the inbox and the calendar and the task list and the shared folders and the team channels now, then write to jane.doe@example.com"}}"#;

/// A field whose values the detectors do not scan (numbers, booleans) is decided once per shape
/// and context and then remembered. Its decisions differ with the context (inside the capture
/// window or not, the kind of person, the store, the source), and a number large enough to be an
/// id is scanned after all: a warm decider still decides each event as a fresh one.
#[test]
fn remembered_fields_follow_the_context() {
    // A rule of the user's whose `collect` decision on the pointer depends on each part of the
    // context: the window, the kind of person, the source and the store.
    let engine = pointer_rule_engine(
        "pointer-in-context",
        "Pointer captured in a context the team flagged",
        r#"!context.in_window || context.source == "other" ||
   (context has subject_kind && context.subject_kind == "contractor") ||
   context.store == Scopecheck::Store::"scratch""#,
    );
    let make = || Decider::new(Arc::clone(&engine), DecideOptions::default()).unwrap();
    let datas = [
        r#"{"input":{"pointer":{"x":1,"y":2,"pressed":true}}}"#,
        r#"{"input":{"pointer":{"x":1,"y":2,"pressed":false}},"perf":{"score":3}}"#,
        r#"{"input":{"pointer":{"x":1,"y":2,"pressed":false}},"perf":{"score":4111111111111111}}"#,
        r#"{"input":{"pointer":{"x":1,"y":2,"pressed":false}},"perf":{"score":"4111 1111 1111 1111"}}"#,
        r#"{"input":{"pointer":{"x":4111111111111111,"y":2,"pressed":false}},"perf":{"score":3}}"#,
        // Text in a declared field: remembered only while no value adds a category.
        r#"{"input":{"pointer":{"x":1,"y":2,"pressed":false}},"ui":{"label":"Refresh inbox"}}"#,
        r#"{"input":{"pointer":{"x":1,"y":2,"pressed":false}},"ui":{"label":"jane.doe@example.com"}}"#,
        LONG_LABEL,
    ];
    let contexts = [
        r#""ts":"2026-05-12T10:14:03-07:00","subject_kind":"employee","store":"mci-raw","source":"agent""#,
        r#""ts":"2026-05-12T12:30:00-07:00","subject_kind":"employee","store":"mci-raw","source":"agent""#,
        r#""ts":"2026-05-16T10:14:03-07:00","subject_kind":"employee","store":"mci-raw","source":"agent""#,
        r#""ts":"2026-05-12T10:14:03-07:00","subject_kind":"contractor","store":"mci-raw","source":"agent""#,
        r#""ts":"2026-05-12T10:14:03-07:00","subject_kind":"employee","store":"scratch","source":"agent""#,
        r#""ts":"2026-05-12T10:14:03-07:00","subject_kind":"employee","store":"mci-raw","source":"other""#,
        r#""ts":"2026-05-12T10:14:03-07:00","subject_kind":"employee""#,
        r#""ts":"2026-05-12T10:14:03-07:00","store":"mci-raw","source":"agent""#,
    ];
    let lines: Vec<String> = contexts
        .iter()
        .flat_map(|c| datas.iter().map(move |d| format!(r#"{{{c},"program":"mci","data":{d}}}"#)))
        .collect();
    let want: Vec<String> = lines.iter().map(|l| serde_json::to_string(&make().decide_line(l)).unwrap()).collect();
    let mut warm = make();
    let n = lines.len();
    assert_eq!(n, 64, "the stride below must visit every event");
    for _ in 0..3 {
        for i in (0..n).map(|i| (i * 11) % n).chain((0..n).rev()) {
            let got = serde_json::to_string(&warm.decide_line(&lines[i])).unwrap();
            assert_eq!(got, want[i], "{}", lines[i]);
        }
    }
    // The contexts and the scanned numbers do change the decisions of the same fields.
    let distinct: std::collections::BTreeSet<&String> = want.iter().collect();
    assert!(distinct.len() >= 8, "only {} distinct decisions", distinct.len());
    assert_ne!(want[1], want[2], "a card number is scanned");
    assert_ne!(want[1], want[4], "a card number in a declared field is scanned");
    assert_ne!(want[5], want[6], "an email in a label is found");
    assert_ne!(want[5], want[7], "an email at the end of a long label is found");
    // The pointer alone (the first data) is flagged in the contexts the rule names.
    let pointer: Vec<bool> =
        (0..contexts.len()).map(|c| want[c * datas.len()].contains("pointer-in-context")).collect();
    assert_eq!(pointer, [false, true, true, true, true, true, false, false], "{want:#?}");
}

/// The field memos are bounded twice (entries, and fields in all) and emptied past either bound;
/// shapes too large for the shape cache get no memo. A long stream that crosses both bounds, and
/// events with 70 KB of paths, are decided with one warm decider exactly as with no cache at all,
/// before and after the memos are emptied.
#[test]
fn memos_past_their_bounds_and_shapes_past_the_cache_change_no_decision() {
    // Decisions on the pointer depend on the source: a memo kept for the wrong source, or one
    // left half-emptied, shows as a wrong verdict.
    let engine = pointer_rule_engine(
        "pointer-from-odd-source",
        "Pointer captured by a source the team flagged",
        r#"context.source like "*1" || context.source like "*3" || context.source like "*7""#,
    );
    let make = |caches: bool| {
        let mut d = Decider::new(Arc::clone(&engine), DecideOptions::default()).unwrap();
        d.set_caches(caches);
        d
    };
    let event = |source: usize, data: String| {
        format!(
            r#"{{"ts":"2026-05-12T10:14:03-07:00","program":"mci","subject":"e-{source}","subject_kind":"employee","store":"mci-raw","source":"src-{source}","data":{data}}}"#
        )
    };
    let mut lines: Vec<String> = Vec::new();
    // Past the bound on entries (4,096): 48 shapes in 90 contexts, 4,320 memos.
    for s in 0..48 {
        for c in 0..90 {
            let extra = if (s + c) % 11 == 0 { r#""jane.doe@example.com""# } else { "7" };
            lines.push(event(c, format!(r#"{{"input":{{"pointer":{{"x":{c},"y":2}}}},"perf":{{"k{s}":{extra}}}}}"#)));
        }
    }
    // Past the bound on fields (262,144): 30 shapes of 300 fields in 32 contexts, 288,000 fields.
    for s in 0..30 {
        for c in 0..32 {
            let fields: Vec<String> = (0..300).map(|f| format!(r#""f{f}":{}"#, f + c)).collect();
            lines.push(event(
                c,
                format!(r#"{{"input":{{"pointer":{{"x":1,"y":2}}}},"perf":{{"s{s}":1,{}}}}}"#, fields.join(",")),
            ));
        }
    }
    // Shapes too large for the shape cache: 280 keys of 250 bytes (70 KB of paths), an email in
    // some of them.
    let long_key = "k".repeat(248);
    for c in 0..6 {
        let fields: Vec<String> = (0..280)
            .map(|f| {
                let v = if f == 100 + c { r#""jane.doe@example.com""#.to_string() } else { f.to_string() };
                format!(r#""{long_key}{f:03}":{v}"#)
            })
            .collect();
        lines.push(event(c, format!(r#"{{"input":{{"pointer":{{"x":1,"y":2}}}},"ui":{{{}}}}}"#, fields.join(","))));
    }
    let mut reference = make(false);
    let want: Vec<String> = lines.iter().map(|l| serde_json::to_string(&reference.decide_line(l)).unwrap()).collect();
    let mut warm = make(true);
    let n = lines.len();
    // In order, then again in a scattered order (every memo emptied at least once in between).
    for i in (0..n).chain((0..n).map(|i| (i * 7919) % n)) {
        let got = serde_json::to_string(&warm.decide_line(&lines[i])).unwrap();
        assert_eq!(got, want[i], "event {i}");
    }
    // The stream does exercise what it claims: flagged and quiet sources, emails found, and the
    // long events decided (not refused).
    assert!(want.iter().any(|w| w.contains("pointer-from-odd-source")));
    assert!(want.iter().any(|w| !w.contains("pointer-from-odd-source")));
    assert!(want.iter().filter(|w| w.contains("contact.email")).count() >= 300, "emails found");
    for w in &want[n - 6..] {
        assert!(w.contains("contact.email") && !w.contains("too_large") && !w.contains("invalid"), "{w}");
    }
}
