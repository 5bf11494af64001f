//! Cedar errors fail closed: a policy whose evaluation errors is a `policy-error` finding in the
//! audit and a `deny` at runtime, for the first event of a shape and for every later one (whose
//! decision comes from the cache).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use scopecheck::audit::{AuditOptions, Input, InputKind, audit};
use scopecheck::decide::{Action, DecideOptions, Decider, ErrorCode, Mode, Verdict};
use scopecheck::rules::Severity;
use scopecheck::target::TargetKind;
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

/// Valid in strict mode, and errors at run time for every capture from 02:00 on: the hour times
/// i64::MAX overflows. At 00:00 and 01:00 it evaluates (to false) without error.
const OVERFLOWING: &str = r#"
@id("night-shift-weighting")
@severity("low")
@title("Weights captures by hour")
@help("A user rule that overflows.")
forbid (principal, action == Scopecheck::Action::"capture", resource)
when { context.local.hour * 9223372036854775807 < 0 };
"#;

/// Errors on every `collect` of `ui.label` (its declared category has sensitivity 1 or more).
const COLLECT_OVERFLOW: &str = r#"
@id("weighted-label")
@severity("info")
@title("Weights labels by sensitivity")
@help("A user rule that overflows.")
forbid (principal, action == Scopecheck::Action::"collect", resource)
when { context.category.sensitivity * 9223372036854775807 * 2 < 0 };
"#;

fn engine(policies: &[(&str, &str)]) -> Arc<scopecheck::eval::Engine> {
    let setup = Setup {
        scope: Some(Source::new("scope.yaml", SCOPE)),
        policies: policies.iter().map(|(n, t)| Source::new(*n, *t)).collect(),
        ..Setup::default()
    };
    Arc::new(setup.build().unwrap())
}

fn event(person: u32, hour: u32) -> String {
    format!(
        r#"{{"ts":"2026-05-12T{hour:02}:14:03Z","program":"demo","subject":"p-{person}","subject_kind":"employee","source":"agent","data":{{"ui":{{"label":"Save"}}}}}}"#
    )
}

#[test]
fn a_policy_that_errors_is_a_finding_on_every_event_of_its_shape() {
    // Lines 1-2 at 01:00 (no error), lines 3-7 at 09:00: the same shape, so lines 4-7 are
    // decided from the cache that line 3 filled.
    let mut lines: Vec<String> = (0..2).map(|p| event(p, 1)).collect();
    lines.extend((2..7).map(|p| event(p, 9)));
    let text = lines.join("\n") + "\n";
    let engine = engine(&[("rules/mine.cedar", OVERFLOWING)]);
    let input = Input {
        name: "captures.jsonl".into(),
        kind: InputKind::Captures,
        reader: Box::new(text.as_bytes()),
        digest: None,
    };
    let report = audit(Arc::clone(&engine), vec![input], AuditOptions::default()).unwrap();
    let errors: Vec<_> = report.findings.iter().filter(|f| f.rule == "policy-error").collect();
    assert_eq!(errors.len(), 1, "{:#?}", report.findings);
    let f = errors[0];
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.target.kind, TargetKind::Policy);
    // Names the policy and where it is written (the `forbid` on line 6 of the file).
    assert_eq!(f.target.id, "night-shift-weighting (rules/mine.cedar:6:1)");
    assert_eq!(f.count, 5, "every 09:00 event, not only the first");
    assert_eq!(f.people_affected, Some(5));
    let lines_seen: Vec<u64> = f.examples.iter().map(|e| e.line).collect();
    assert_eq!(lines_seen.first(), Some(&3));
    // The evidence says what went wrong and where, without Cedar's words (which quote values).
    assert_eq!(f.evidence.len(), 1, "{:?}", f.evidence);
    assert!(f.evidence[0].starts_with("an integer overflow at rules/mine.cedar:7:"), "{:?}", f.evidence);
    assert!(!f.evidence[0].contains("9223372036854775807"), "{:?}", f.evidence);
    // The rule is listed with the others, with its metadata.
    let meta = report.rules.iter().find(|r| r.id == "policy-error").unwrap();
    assert_eq!(meta.severity, Severity::High);
    assert_eq!(meta.origin, "<engine>");
    // No warning-only path is left.
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn with_show_evidence_cedar_says_why() {
    let setup = Setup {
        scope: Some(Source::new("scope.yaml", SCOPE)),
        policies: vec![Source::new("mine.cedar", OVERFLOWING)],
        options: scopecheck::eval::Options { show_evidence: true, ..Default::default() },
        ..Setup::default()
    };
    let engine = Arc::new(setup.build().unwrap());
    let text = event(1, 9);
    let input =
        Input { name: "c.jsonl".into(), kind: InputKind::Captures, reader: Box::new(text.as_bytes()), digest: None };
    let report = audit(engine, vec![input], AuditOptions::default()).unwrap();
    let f = report.findings.iter().find(|f| f.rule == "policy-error").unwrap();
    assert!(f.evidence[0].contains("overflow"), "{:?}", f.evidence);
    assert!(f.evidence[0].contains(": "), "{:?}", f.evidence);
}

#[test]
fn a_policy_that_errors_denies_the_event_first_and_from_cache() {
    for mode in [Mode::Enforce, Mode::Monitor] {
        // act_on critical: nothing the rules find is acted on, but an error still denies.
        let options = DecideOptions { mode, act_on: Severity::Critical, ..DecideOptions::default() };
        let mut d = Decider::new(engine(&[("mine.cedar", OVERFLOWING)]), options).unwrap();
        let quiet = d.decide_line(&event(1, 1));
        assert_eq!(quiet.decision, Verdict::Allow, "{quiet:?}");
        for person in 0..3 {
            let calls = d.evaluator().cedar_calls();
            let got = d.decide_line(&event(person, 9));
            assert_eq!((got.decision, got.would), (Verdict::Deny, Verdict::Deny), "{mode:?} {person}: {got:?}");
            assert_eq!(got.error.as_ref().map(|e| e.code), Some(ErrorCode::PolicyError), "{got:?}");
            let f = got.findings.iter().find(|f| f.rule == "policy-error").unwrap();
            assert_eq!(f.action, Action::Deny);
            assert_eq!(f.target.kind, TargetKind::Policy);
            if person > 0 {
                // Decided from the cache: the error came with it.
                assert_eq!(d.evaluator().cedar_calls(), calls, "{person}");
            }
        }
    }
}

#[test]
fn a_field_policy_that_errors_denies_rather_than_redacts() {
    let mut d = Decider::new(engine(&[("mine.cedar", COLLECT_OVERFLOW)]), DecideOptions::default()).unwrap();
    for person in 0..3 {
        let got = d.decide_line(&event(person, 9));
        assert_eq!(got.decision, Verdict::Deny, "{got:?}");
        assert_eq!(got.error.as_ref().map(|e| e.code), Some(ErrorCode::PolicyError));
        let f = got.findings.iter().find(|f| f.rule == "policy-error").unwrap();
        assert_eq!(f.target.id, "weighted-label (mine.cedar:6:1)");
    }
}

#[test]
fn the_engine_rule_cannot_be_switched_off_or_taken() {
    let setup = Setup {
        scope: Some(Source::new("scope.yaml", SCOPE)),
        disable: vec!["policy-error".into()],
        ..Setup::default()
    };
    let e = setup.build().unwrap_err();
    assert!(e.to_string().contains("engine's own rule"), "{e}");
    let mine = OVERFLOWING.replace("night-shift-weighting", "policy-error");
    let setup = Setup {
        scope: Some(Source::new("scope.yaml", SCOPE)),
        policies: vec![Source::new("mine.cedar", &*mine)],
        ..Setup::default()
    };
    let e = setup.build().unwrap_err();
    assert!(e.to_string().contains("the engine's own"), "{e}");
    assert_eq!(e.location.line, Some(6), "{e}");
}
