//! Parity: every event of every fixture gets the same decision, findings and redacted output from
//! the native engine (as `scopecheck audit` builds it, and from the bundle) and from the wasm plugin
//! through the host crate; and the decisions agree with what `scopecheck audit` reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use scopecheck::decide::{Decision, Verdict};
use scopecheck_host::Plugin;
use std::collections::BTreeSet;
use std::sync::Arc;

#[test]
fn native_and_wasm_decide_alike_on_every_fixture_event() {
    let module = module();
    for fixture in FIXTURES {
        let bundle = bundle_bytes(fixture);
        let mut from_bundle = native(&bundle);
        let mut as_audit = native_audit_engine(fixture);
        let mut wasm = Plugin::new(Arc::clone(&module), bundle.clone().into()).unwrap();
        let events = events(fixture);
        assert!(!events.is_empty(), "{fixture} has events");
        let mut verdicts = [0usize; 3];
        for (i, line) in events.iter().enumerate() {
            let a = from_bundle.decide_line(line);
            let b = as_audit.decide_line(line);
            let c = wasm.try_decide(line.as_bytes()).unwrap_or_else(|e| panic!("{fixture} event {i}: {e}"));
            assert_eq!(a, b, "{fixture} event {i}: bundle engine vs audit engine");
            assert_eq!(
                serde_json::to_value(&a).unwrap(),
                serde_json::to_value(&c).unwrap(),
                "{fixture} event {i}: native vs wasm\n{line}"
            );
            verdicts[a.decision as usize] += 1;
        }
        eprintln!("{fixture}: {} events, allow/redact/deny = {verdicts:?}", events.len());
        assert_eq!(wasm.restarts, 0);
        // The compliant programs (roster: per-person ids and kinds): every event passes, native
        // and wasm alike (they were compared above).
        if ["clean", "roster"].contains(&fixture) {
            assert_eq!(verdicts, [events.len(), 0, 0], "{fixture}: a compliant event was not allowed");
        }
    }
}

#[test]
fn redacted_events_are_allowed_when_decided_again() {
    for fixture in FIXTURES {
        let mut d = native(&bundle_bytes(fixture));
        for line in events(fixture) {
            let first = d.decide_line(&line);
            if first.decision != Verdict::Redact {
                continue;
            }
            let event = first.event.clone().expect("a redaction carries the event");
            let again = d.decide_line(&serde_json::to_string(&event).unwrap());
            assert_eq!(again.decision, Verdict::Allow, "{fixture}: {line}\nredacted: {event}\nagain: {again:?}");
        }
    }
}

/// Each audit finding names up to three example lines; each of those lines' decision has that
/// finding (same rule, subject and severity), and every finding of a decision is in the audit.
#[test]
fn decisions_match_the_audit() {
    for fixture in FIXTURES {
        let dir = workspace().join("fixtures").join(fixture);
        let captures = dir.join("captures.jsonl");
        let text = read(&captures);
        let mut auditor = setup(fixture).auditor().unwrap();
        let file = auditor.add_file("captures.jsonl", scopecheck::audit::InputKind::Captures);
        for (n, line) in text.lines().enumerate() {
            auditor.capture_line(file, n as u64 + 1, line).unwrap();
        }
        let report = auditor.finish().unwrap();
        let mut d = native(&bundle_bytes(fixture));
        let decisions: Vec<Option<Decision>> =
            text.lines().map(|l| if l.trim().is_empty() { None } else { Some(d.decide_line(l)) }).collect();
        let audit_keys: BTreeSet<(String, scopecheck::target::Target, String)> =
            report.findings.iter().map(|f| (f.rule.clone(), f.target.clone(), f.severity.to_string())).collect();
        let mut checked = 0;
        for f in &report.findings {
            for ex in &f.examples {
                if ex.file != "captures.jsonl" {
                    continue;
                }
                let n = ex.line as usize;
                let dec = decisions[n - 1].as_ref().unwrap();
                assert!(
                    dec.findings.iter().any(|x| x.rule == f.rule && x.target == f.target && x.severity == f.severity),
                    "{fixture}: audit finding {} on {} at line {n} is not in its decision {dec:?}",
                    f.rule,
                    f.target
                );
                checked += 1;
            }
        }
        for dec in decisions.iter().flatten() {
            for x in &dec.findings {
                let key = (x.rule.clone(), x.target.clone(), x.severity.to_string());
                assert!(audit_keys.contains(&key), "{fixture}: decision finding {key:?} is not in the audit");
            }
        }
        eprintln!("{fixture}: {} audit findings, {checked} example lines checked", report.findings.len());
    }
}

/// A decision must not depend on the events decided before it (pools, restarts and hosts each
/// have their own history): `Evaluator::evaluate` walks fields and categories in name order, so
/// even the evidence samples kept are the same whatever was decided before.
#[test]
fn a_decision_does_not_depend_on_history() {
    for fixture in FIXTURES {
        let bundle = bundle_bytes(fixture);
        let mut sequential = native(&bundle);
        for (i, line) in events(fixture).iter().enumerate() {
            let in_sequence = sequential.decide_line(line);
            let alone = native(&bundle).decide_line(line);
            assert_eq!(in_sequence, alone, "{fixture} event {i}");
        }
    }
}
