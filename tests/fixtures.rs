//! Data-driven checks of every fixture against its `expected.json`
//! (written from the fixture's story, not from scopecheck's output).
//!
//! - every `must` finding is reported, on exactly the capture lines it lists;
//! - every `must_not` is absent (by rule, subject and, where given, line);
//! - `outside-window` fires on exactly the union of the listed lines;
//! - the clean fixture has no finding at all.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use scopecheck::eval::{Evaluator, Hit};
use scopecheck::observe::parse_capture;
use scopecheck::report::{Finding, Report};
use scopecheck::{Setup, Source};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn setup(fx: &str) -> Setup {
    let dir = root().join("fixtures").join(fx);
    Setup {
        scope: Some(Source::new(format!("fixtures/{fx}/scope.yaml"), read(&dir.join("scope.yaml")))),
        stores: Some(Source::new(format!("fixtures/{fx}/stores.yaml"), read(&dir.join("stores.yaml")))),
        ..Setup::default()
    }
}

fn audit(fx: &str) -> Report {
    let dir = root().join("fixtures").join(fx);
    let mut a = setup(fx).auditor().unwrap();
    let f = a.add_file("captures.jsonl");
    for (i, line) in read(&dir.join("captures.jsonl")).lines().enumerate() {
        a.capture_line(f, i as u64 + 1, line).unwrap();
    }
    let f = a.add_file("access.jsonl");
    for (i, line) in read(&dir.join("access.jsonl")).lines().enumerate() {
        a.access_line(f, i as u64 + 1, line).unwrap();
    }
    a.finish().unwrap()
}

/// Hits of each capture line, evaluated one by one (1-based line numbers).
fn hits_per_line(fx: &str) -> BTreeMap<u64, Vec<Hit>> {
    let dir = root().join("fixtures").join(fx);
    let engine = Arc::new(setup(fx).build().unwrap());
    let mut ev = Evaluator::new(engine).unwrap();
    let mut out = BTreeMap::new();
    for (i, line) in read(&dir.join("captures.jsonl")).lines().enumerate() {
        let cap = parse_capture(line).unwrap();
        let outcome = ev.evaluate(&cap).unwrap_or_else(|_| panic!("line {} not evaluated", i + 1));
        out.insert(i as u64 + 1, outcome.hits);
    }
    out
}

fn expected(fx: &str) -> Value {
    serde_json::from_str(&read(&root().join("fixtures").join(fx).join("expected.json"))).unwrap()
}

fn lines(v: &Value, key: &str) -> Vec<u64> {
    v.get(key).and_then(Value::as_array).map(|a| a.iter().map(|x| x.as_u64().unwrap()).collect()).unwrap_or_default()
}

fn subject_of(v: &Value) -> Option<(&'static str, String)> {
    for (k, kind) in [("field", "field"), ("store", "store"), ("role", "role")] {
        if let Some(s) = v.get(k).and_then(Value::as_str) {
            return Some((kind, s.to_string()));
        }
    }
    None
}

fn finding_matches(f: &Finding, kind: &str, id: &str) -> bool {
    f.subject.kind() == kind && f.subject.id() == id
}

fn hit_matches(h: &Hit, rule: &str, subject: Option<&(&str, String)>) -> bool {
    (rule == "*" || h.rule_id == rule) && subject.is_none_or(|(k, id)| h.subject.kind() == *k && h.subject.id() == id)
}

fn check_fixture(fx: &str) {
    let exp = expected(fx);
    let report = audit(fx);
    let per_line = hits_per_line(fx);
    let mut problems = Vec::new();
    let mut window_lines = BTreeSet::new();

    for m in exp["must"].as_array().unwrap() {
        let rule = m["rule"].as_str().unwrap();
        let subject = subject_of(m);
        if rule == "outside-window" {
            window_lines.extend(lines(m, "captures_lines"));
            continue;
        }
        let (kind, id) = subject.clone().unwrap();
        let Some(f) = report.findings.iter().find(|f| f.rule == rule && finding_matches(f, kind, &id)) else {
            problems.push(format!("missing {rule} for {kind} {id}"));
            continue;
        };
        for c in m.get("categories").and_then(Value::as_array).into_iter().flatten() {
            let c = c.as_str().unwrap();
            if !f.categories.iter().any(|fc| fc == c || fc.starts_with(&format!("{c}."))) {
                problems.push(format!("{rule} {id}: category {c} not among {:?}", f.categories));
            }
        }
        if let Some(p) = m.get("purpose").and_then(Value::as_str)
            && !f.details.get("purposes").is_some_and(|ps| ps.iter().any(|x| x == p))
        {
            problems.push(format!("{rule} {id}: purpose {p} not reported"));
        }
        for l in lines(m, "captures_lines") {
            if kind == "field" && !per_line[&l].iter().any(|h| hit_matches(h, rule, subject.as_ref())) {
                problems.push(format!("{rule} {id}: line {l} has no such hit"));
            }
            if kind == "store" && !per_line[&l].iter().any(|h| h.rule_id == rule) && rule == "undeclared-store" {
                problems.push(format!("{rule} {id}: line {l} has no such hit"));
            }
        }
        if let Some(n) = m.get("access_lines").and_then(Value::as_array).map(Vec::len)
            && f.count != n as u64
        {
            problems.push(format!("{rule} {id}: {} access entries, expected {n}", f.count));
        }
    }

    let got_window: BTreeSet<u64> =
        per_line.iter().filter(|(_, hs)| hs.iter().any(|h| h.rule_id == "outside-window")).map(|(l, _)| *l).collect();
    if got_window != window_lines {
        problems.push(format!("outside-window lines: got {got_window:?}, expected {window_lines:?}"));
    }

    for n in exp["must_not"].as_array().unwrap() {
        let what = n["what"].as_str().unwrap();
        let rules: Vec<&str> = n["rules"]
            .as_array()
            .unwrap_or_else(|| panic!("must_not without rules: {what}"))
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let mut subjects: Vec<(&str, String)> = subject_of(n).into_iter().collect();
        for f in n.get("fields").and_then(Value::as_array).into_iter().flatten() {
            subjects.push(("field", f.as_str().unwrap().to_string()));
        }
        let ls = lines(n, "captures_lines");
        for rule in &rules {
            if !ls.is_empty() {
                for l in &ls {
                    for h in &per_line[l] {
                        if hit_matches(h, rule, None)
                            && (subjects.is_empty() || subjects.iter().any(|s| hit_matches(h, rule, Some(s))))
                        {
                            problems.push(format!("must not: {what}: line {l} has {} on {:?}", h.rule_id, h.subject));
                        }
                    }
                }
                continue;
            }
            for f in &report.findings {
                if *rule != "*" && f.rule != *rule {
                    continue;
                }
                let subject_hit = subjects.is_empty() || subjects.iter().any(|(k, id)| finding_matches(f, k, id));
                let purpose_hit = n
                    .get("purpose")
                    .and_then(Value::as_str)
                    .is_none_or(|p| f.details.get("purposes").is_some_and(|ps| ps.iter().any(|x| x == p)));
                if subject_hit && purpose_hit {
                    problems.push(format!("must not: {what}: found {} on {:?}", f.rule, f.subject));
                }
            }
        }
    }
    assert!(problems.is_empty(), "fixture {fx}:\n  {}", problems.join("\n  "));
    assert_eq!(report.summary.records_rejected, 0, "{fx}: {:?}", report.rejected);
    assert_eq!(report.summary.records_read, report.summary.records_evaluated);
}

#[test]
fn mci_meets_its_expectations() {
    check_fixture("mci");
}

#[test]
fn workday_meets_its_expectations() {
    check_fixture("workday");
}

#[test]
fn helpdesk_meets_its_expectations() {
    check_fixture("helpdesk");
}

#[test]
fn clean_has_no_finding_of_any_severity() {
    check_fixture("clean");
    let r = audit("clean");
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert!(r.summary.records_read >= 100);
}

#[test]
fn every_baseline_rule_is_exercised_by_mci() {
    let r = audit("mci");
    let fired: BTreeSet<&str> = r.findings.iter().map(|f| f.rule.as_str()).collect();
    for rule in [
        "undisclosed-field",
        "undisclosed-category",
        "unencrypted-field",
        "never-collect",
        "sensitive-in-unencrypted-store",
        "outside-window",
        "purpose-creep",
        "retention-exceeded",
        "undeclared-store",
    ] {
        assert!(fired.contains(rule), "{rule} not reported; got {fired:?}");
    }
}

#[test]
fn malformed_lines_are_rejected_with_their_line_and_the_rest_evaluated() {
    let exp = expected("mci");
    let m = &exp["captures_malformed"];
    let dir = root().join("fixtures/mci");
    // Captures only: the inventory's own findings are not about these lines.
    let mut a = Setup { stores: None, ..setup("mci") }.auditor().unwrap();
    let f = a.add_file("captures-malformed.jsonl");
    for (i, line) in read(&dir.join("captures-malformed.jsonl")).lines().enumerate() {
        a.capture_line(f, i as u64 + 1, line).unwrap();
    }
    let r = a.finish().unwrap();
    let rejected: Vec<u64> = r.rejected.iter().map(|x| x.line).collect();
    let want: Vec<u64> = m["rejected"].as_array().unwrap().iter().map(|x| x["line"].as_u64().unwrap()).collect();
    assert_eq!(rejected, want);
    assert_eq!(r.summary.records_evaluated, lines(m, "good_lines").len() as u64);
    assert_eq!(r.summary.records_read, r.summary.records_evaluated + r.summary.records_rejected);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn evidence_is_redacted_by_default() {
    let r = audit("mci");
    let all: String = r.findings.iter().flat_map(|f| f.evidence.iter()).cloned().collect::<Vec<_>>().join("\n");
    for secret in ["4111 1111 1111 1111", "4111111111111111", "5555555555554444", "therapist", "Metformin", "GB82"] {
        assert!(!all.contains(secret), "{secret} leaked into evidence:\n{all}");
    }
}
