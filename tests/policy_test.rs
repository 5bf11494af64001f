//! `scopecheck test`: policy unit tests as data, with rule coverage (docs/policy-tests.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{Out, p, run, stable, tmp};

/// The shipped suite of the built-in rules, without the cases whose text contains `drop`.
fn builtin_without(drop: &str) -> String {
    let text = std::fs::read_to_string(p("policies/tests/builtin.yaml")).unwrap();
    let (head, cases) = text.split_once("\ncases:\n").unwrap();
    let kept: Vec<&str> = cases.split("\n  - name: ").filter(|c| !c.contains(drop)).collect();
    assert!(kept.len() < cases.split("\n  - name: ").count(), "no case mentions {drop}");
    format!("{head}\ncases:\n{}", kept.join("\n  - name: "))
}

/// A small suite with an inline scope, around `cases`.
fn small_suite(cases: &str) -> String {
    format!(
        "name: small\nscope:\n  program: demo\n  collect:\n    - field: \"ui.*\"\n      category: behavior.app_interaction\n      purposes: [analytics]\n  never:\n    - category: health\ndefaults:\n  event: {{ts: \"2026-05-12T10:00:00Z\", program: demo, subject: e-777, subject_kind: employee}}\ncases:\n{cases}"
    )
}

const WRONG: &str = "  - name: clicks are clean
    event:
      data: {ui: {action: click}}
    expect: {rules: [], decision: allow}
  - name: a chat message is only undisclosed
    event:
      data: {ui: {action: send}, chat: {text: \"diagnosed with type 2 diabetes, on metformin 500mg\"}}
    expect:
      rules: [undisclosed-field]
      decision: redact
      removed: [chat.text]
  - name: a click is expected to be denied
    event:
      data: {ui: {action: click}}
    expect: {rules: [outside-window], decision: deny}
";

fn test_run(args: &[&str]) -> Out {
    let mut full = vec!["test"];
    full.extend_from_slice(args);
    run(&full)
}

#[test]
fn the_shipped_suites_pass_with_full_coverage() {
    let out = test_run(&[&p("policies/tests"), "--min-coverage", "100"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("coverage 100.0% (minimum 100%)"), "{}", out.stdout);
    assert!(!out.stdout.contains("UNCOVERED"));
    insta::assert_snapshot!("shipped_builtin", out.stdout);
}

#[test]
fn the_example_user_policy_suite_passes_with_full_coverage() {
    let out = test_run(&[&p("policies/tests/examples"), "--min-coverage", "100"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    insta::assert_snapshot!("shipped_example", out.stdout);
}

#[test]
fn a_rule_without_a_case_fails_min_coverage_and_is_named() {
    let suite = tmp("no-purpose-creep.yaml", &builtin_without("purpose-creep"));
    // Coverage is reported, and alone it does not fail the run.
    let out = test_run(&[&suite]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("purpose-creep"), "{}", out.stdout);
    let line = out.stdout.lines().find(|l| l.trim_start().starts_with("purpose-creep")).unwrap();
    assert!(line.contains("UNCOVERED"), "{line}");
    // Under --min-coverage it does, naming the rule.
    let out = test_run(&[&suite, "--min-coverage", "100"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("coverage 90.9% is below the minimum 100%; no case covers: purpose-creep"),
        "{}",
        out.stdout
    );
    // 10 of the 11 built-in rules is 90.9 %, which meets 90.9 and not 91.
    assert_eq!(test_run(&[&suite, "--min-coverage", "90.9"]).code, 0);
    assert_eq!(test_run(&[&suite, "--min-coverage", "91"]).code, 1);
}

#[test]
fn a_wrong_expectation_fails_with_a_readable_diff() {
    let suite = tmp("wrong.yaml", &small_suite(WRONG));
    let out = test_run(&[&suite]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("e-777"), "the person's id is never printed");
    insta::assert_snapshot!("wrong_expectation", stable(&out.stdout));
}

#[test]
fn bad_suites_exit_2_naming_file_line_and_column() {
    let cases: [(&str, String); 6] = [
        (
            "unknown_key",
            small_suite("  - name: typo\n    event:\n      data: {ui: {action: click}}\n    expcet: {rules: []}\n"),
        ),
        (
            "unknown_envelope_key",
            small_suite("  - name: typo\n    event:\n      subjet_kind: employee\n      data: {ui: {action: click}}\n    expect: {rules: []}\n"),
        ),
        (
            "bad_event",
            small_suite("  - name: no time\n    event:\n      ts: last tuesday\n      data: {ui: {action: click}}\n    expect: {rules: []}\n"),
        ),
        (
            "unknown_rule",
            small_suite("  - name: typo\n    event:\n      data: {chat: {text: hi}}\n    expect: {rules: [undisclosed-feild]}\n"),
        ),
        (
            "two_inputs",
            small_suite("  - name: both\n    event:\n      data: {ui: {action: click}}\n    store: {id: raw}\n    expect: {rules: []}\n"),
        ),
        (
            "missing_scope_file",
            "name: lost\nscope: nowhere/scope.yaml\ncases:\n  - name: x\n    store: {id: raw}\n    expect: {rules: []}\n"
                .to_string(),
        ),
    ];
    for (name, text) in cases {
        let suite = tmp(&format!("bad-{name}.yaml"), &text);
        let out = test_run(&[&suite]);
        assert_eq!(out.code, 2, "{name}: {}\n{}", out.stdout, out.stderr);
        assert!(out.stdout.is_empty(), "{name}: {}", out.stdout);
        let first = out.stderr.lines().next().unwrap();
        let at = format!("error: {}:", suite);
        assert!(first.starts_with(&at), "{name}: {first}");
        let place: Vec<&str> = first.trim_start_matches(&at).splitn(3, ':').collect();
        assert!(place[0].parse::<usize>().is_ok() && place[1].parse::<usize>().is_ok(), "{name}: {first}");
        assert!(out.stderr.contains("help: "), "{name}: {}", out.stderr);
        insta::assert_snapshot!(format!("bad_{name}"), stable(&out.stderr));
    }
}

#[test]
fn an_error_in_an_inline_scope_points_into_the_suite() {
    let text = "scope:\n  program: demo\n  collect:\n    - field: ui.action\n      category: behaviour.app\n      purposes: [x]\ncases:\n  - name: x\n    store: {id: raw}\n    expect: {rules: []}\n";
    let suite = tmp("inline-scope.yaml", text);
    let out = test_run(&[&suite]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.starts_with(&format!("error: {suite}:5:17: ")), "{}", out.stderr);
}

#[test]
fn json_output_shape() {
    let suite = tmp("json.yaml", &small_suite(WRONG));
    let out = test_run(&[&suite, "--format", "json", "--min-coverage", "50"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stdout.contains("e-777"));
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["passed"], false);
    assert_eq!(v["totals"], serde_json::json!({"cases": 3, "passed": 1, "failed": 2}));
    let s = &v["suites"][0];
    assert_eq!(s["name"], "small");
    assert_eq!(s["mode"], "enforce");
    assert_eq!(s["act_on"], "info");
    let c = &s["cases"][1];
    assert_eq!(c["name"], "a chat message is only undisclosed");
    assert_eq!(c["kind"], "event");
    assert_eq!(c["passed"], false);
    assert!(c["location"].as_str().unwrap().ends_with("json.yaml:17:5"), "{}", c["location"]);
    assert_eq!(c["expected"]["rules"], serde_json::json!(["undisclosed-field"]));
    assert_eq!(c["actual"]["rules"], serde_json::json!(["never-collect", "undisclosed-field"]));
    assert_eq!(c["unexpected"], serde_json::json!(["never-collect"]));
    assert_eq!(c["missing"], serde_json::json!([]));
    assert_eq!(c["actual"]["decision"], "redact");
    assert!(
        c["actual"]["findings"].as_array().unwrap().iter().all(|f| f["rule"].is_string() && f["target"].is_string())
    );
    let cov = &v["coverage"];
    assert_eq!(cov["min"], 50.0);
    assert_eq!(cov["met"], false);
    let total = cov["total"].as_u64().unwrap();
    assert_eq!(total, 11, "every built-in rule, not the engine's policy-error");
    let covered: Vec<&str> = cov["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["covered"] == true)
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    // never-collect fired unexpected: a rule is covered only when a case expects it and it fires.
    assert_eq!(covered, ["undisclosed-field"]);
    assert_eq!(cov["covered"], 1);
    let engine = cov["rules"].as_array().unwrap().iter().find(|r| r["id"] == "policy-error").unwrap();
    assert_eq!(engine["counted"], false);
    assert_eq!(cov["files"][0]["file"], "<builtin>/policies/builtin.cedar");
    assert_eq!(cov["files"][0]["rules"], 11);
}

#[test]
fn junit_output_is_read_back() {
    let suite = tmp("junit.yaml", &small_suite(WRONG));
    let file = tmp("junit.xml", "");
    let out = test_run(&[&suite, "--format", "human", "--format", &format!("junit={file}"), "--min-coverage", "100"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let xml = std::fs::read_to_string(&file).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(!xml.contains("e-777"));
    let Some(cases) = common::junit_cases(&file) else { return };
    let summary: Vec<(String, String, bool)> = cases
        .iter()
        .map(|c| (c["suite"].as_str().unwrap().into(), c["case"].as_str().unwrap().into(), c["failed"] == true))
        .collect();
    assert_eq!(
        summary,
        [
            ("small".into(), "clicks are clean".into(), false),
            ("small".into(), "a chat message is only undisclosed".into(), true),
            ("small".into(), "a click is expected to be denied".into(), true),
            ("coverage".into(), "rule coverage at least 100%".into(), true),
        ]
    );
    let text = cases[1]["text"].as_str().unwrap();
    assert!(text.contains("rule `never-collect` fired, not expected (field chat.text)"), "{text}");
    assert_eq!(cases[1]["type"], "expectation");
    assert!(cases[3]["text"].as_str().unwrap().contains("no case covers: undisclosed-category"));
}

#[test]
fn command_line_options_apply_to_every_suite() {
    // In monitor mode every decision is `allow`: the cases that expect `deny` fail.
    let out = test_run(&[&p("policies/tests/examples"), "--mode", "monitor"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("expected decision `deny`, got `allow`"), "{}", out.stdout);
    // A rule switched off on the command line cannot be expected.
    let out = test_run(&[&p("policies/tests/examples"), "--disable", "outside-window"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("expects rule `outside-window`, which is not in force"), "{}", out.stderr);
    // An unknown format is refused before anything runs.
    let out = test_run(&[&p("policies/tests"), "--format", "sarif"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("use human, json or junit"), "{}", out.stderr);
}
