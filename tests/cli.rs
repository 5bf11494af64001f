//! The command line as users see it: output snapshots (insta) and exit codes.
//! Runs `scopecheck_cli::run` in-process with paths relative to the repo root.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{Out, p, root, run, run_with_stdin, stable, tmp};
use std::io::Write as _;

fn audit_fixture(fx: &str, extra: &[&str]) -> Out {
    let scope = p(&format!("fixtures/{fx}/scope.yaml"));
    let stores = p(&format!("fixtures/{fx}/stores.yaml"));
    let access = p(&format!("fixtures/{fx}/access.jsonl"));
    let captures = p(&format!("fixtures/{fx}/captures.jsonl"));
    let mut args = vec!["audit", "--scope", &scope, "--stores", &stores, "--access", &access];
    args.extend_from_slice(extra);
    args.push(&captures);
    run(&args)
}

#[test]
fn mci_human_report() {
    let out = audit_fixture("mci", &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("465 records read from 1 file, 465 evaluated, 0 rejected"));
    insta::assert_snapshot!("mci_human", out.stdout);
}

#[test]
fn workday_and_helpdesk_human_reports() {
    for fx in ["workday", "helpdesk"] {
        let out = audit_fixture(fx, &[]);
        assert_eq!(out.code, 1, "{fx}: {}", out.stderr);
        insta::assert_snapshot!(format!("{fx}_human"), out.stdout);
    }
}

#[test]
fn clean_fixture_exits_zero_with_no_finding() {
    let out = audit_fixture("clean", &["--fail-on", "info"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    insta::assert_snapshot!("clean_human", out.stdout);
}

#[test]
fn json_report_has_the_documented_contract() {
    let out = audit_fixture("mci", &["--format", "json"]);
    assert_eq!(out.code, 1);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    for key in ["records_read", "records_evaluated", "records_rejected"] {
        assert!(v["summary"][key].is_u64(), "summary.{key}");
    }
    assert_eq!(v["summary"]["records_read"], 465);
    let findings = v["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for f in findings {
        for key in ["rule", "severity", "field", "category", "count"] {
            assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
        }
    }
    insta::assert_snapshot!("mci_json", out.stdout);
}

#[test]
fn sarif_report_is_sarif_2_1_0() {
    let out = audit_fixture("mci", &["--format", "sarif"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules: Vec<&str> =
        run["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    for r in run["results"].as_array().unwrap() {
        let id = r["ruleId"].as_str().unwrap();
        assert_eq!(rules[r["ruleIndex"].as_u64().unwrap() as usize], id);
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
        assert!(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].is_string());
    }
}

#[test]
fn fail_on_sets_the_exit_code() {
    assert_eq!(audit_fixture("mci", &["--fail-on", "never"]).code, 0);
    assert_eq!(audit_fixture("mci", &["--fail-on", "critical"]).code, 1);
    // helpdesk's worst finding is high
    assert_eq!(audit_fixture("helpdesk", &["--fail-on", "critical"]).code, 0);
}

#[test]
fn show_evidence_reveals_and_default_redacts() {
    let redacted = audit_fixture("helpdesk", &["--format", "json"]);
    assert!(redacted.stdout.contains("****-****-****-4444"));
    assert!(!redacted.stdout.contains("5555 5555 5555 4444") && !redacted.stdout.contains("5555-5555-5555-4444"));
    let shown = audit_fixture("helpdesk", &["--format", "json", "--show-evidence"]);
    assert!(shown.stdout.contains("5555"), "{}", shown.stdout);
}

#[test]
fn malformed_lines_are_listed_and_the_run_goes_on() {
    let scope = p("fixtures/mci/scope.yaml");
    let bad = p("fixtures/mci/captures-malformed.jsonl");
    let out = run(&["audit", "--scope", &scope, &bad]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("7 records read from 1 file, 4 evaluated, 3 rejected"), "{}", out.stdout);
    insta::assert_snapshot!("malformed_lines", out.stdout);
}

#[test]
fn strict_makes_a_malformed_line_fatal() {
    let scope = p("fixtures/mci/scope.yaml");
    let bad = p("fixtures/mci/captures-malformed.jsonl");
    let out = run(&["audit", "--strict", "--scope", &scope, &bad]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with("error: fixtures/mci/captures-malformed.jsonl:3: malformed line: not valid JSON"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn unknown_manifest_key_names_file_line_col_and_suggests() {
    let text = std::fs::read_to_string(root().join("fixtures/mci/scope.yaml")).unwrap().replacen(
        "retention_days:",
        "retension_days:",
        1,
    );
    let scope = tmp("typo-scope.yaml", &text);
    let out = run(&["audit", "--scope", &scope, &p("fixtures/mci/captures.jsonl")]);
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    insta::assert_snapshot!("unknown_manifest_key", stable(&out.stderr));
}

#[test]
fn invalid_yaml_names_file_line_col() {
    let scope = tmp("broken.yaml", "program: mci\ncollect:\n  - field: \"a\n    category: behavior\n");
    let out = run(&["check", "--scope", &scope]);
    assert_eq!(out.code, 2);
    insta::assert_snapshot!("invalid_yaml", stable(&out.stderr));
}

#[test]
fn unknown_category_is_pointed_at() {
    let text = std::fs::read_to_string(root().join("fixtures/mci/scope.yaml")).unwrap().replacen(
        "category: behavior.app_interaction",
        "category: behavior.app_interactions",
        1,
    );
    let scope = tmp("badcat.yaml", &text);
    let out = run(&["check", "--scope", &scope]);
    assert_eq!(out.code, 2);
    insta::assert_snapshot!("unknown_category", stable(&out.stderr));
}

#[test]
fn missing_files_exit_2_and_name_the_file() {
    let out = run(&["audit", "--scope", "no/such/scope.yaml", "x.jsonl"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.starts_with("error: no/such/scope.yaml: cannot read the scope:"), "{}", out.stderr);
    let out = run(&["audit", "--scope", &p("fixtures/mci/scope.yaml"), "no-such-captures.jsonl"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.starts_with("error: no-such-captures.jsonl: cannot read the capture file:"), "{}", out.stderr);
    let out = run(&["audit", "--scope", &p("fixtures/mci/scope.yaml"), "--stores", "nope.yaml", "-"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("nope.yaml: cannot read the store inventory"), "{}", out.stderr);
    let out = run(&["audit", "--scope", &p("fixtures/mci/scope.yaml"), "--policies", "nope.cedar", "-"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("nope.cedar: cannot read the policy file"), "{}", out.stderr);
}

#[test]
fn bad_store_inventory_stops_the_run() {
    let stores = tmp("stores.yaml", "stores:\n  - id: mci-raw\n    encryption: plain\n");
    let out = run(&[
        "audit",
        "--scope",
        &p("fixtures/mci/scope.yaml"),
        "--stores",
        &stores,
        &p("fixtures/mci/captures.jsonl"),
    ]);
    assert_eq!(out.code, 2);
    insta::assert_snapshot!("bad_store_inventory", stable(&out.stderr));
}

const USER_RULE: &str = r#"// A team's own rule: browsing captured outside the windows is worth a note.
@id("no-browsing-outside-hours")
@severity("low")
@title("Browsing captured outside working hours")
@help("Pause the browser collector outside the capture windows.")
forbid (principal, action == Scopecheck::Action::"collect", resource)
when {
  context.category in Scopecheck::Category::"behavior.browsing" &&
  !context.in_window
};
"#;

#[test]
fn user_policy_with_a_typo_is_rejected_with_file_line_col() {
    let policy = tmp("typo.cedar", &USER_RULE.replace("context.in_window", "context.in_windw"));
    let out = audit_fixture("workday", &["--policies", &policy]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.starts_with(&format!("error: {}:9:4:", policy)), "{}", out.stderr);
    insta::assert_snapshot!("policy_typo", stable(&out.stderr));
}

#[test]
fn correct_user_policy_adds_findings() {
    let policy = tmp("ok.cedar", USER_RULE);
    let before = audit_fixture("workday", &["--format", "json"]);
    assert!(!before.stdout.contains("no-browsing-outside-hours"));
    let out = audit_fixture("workday", &["--policies", &policy, "--format", "json", "--fail-on", "low"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let mine: Vec<&serde_json::Value> =
        v["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == "no-browsing-outside-hours").collect();
    assert!(!mine.is_empty(), "{}", out.stdout);
    assert_eq!(mine[0]["severity"], "low");
    // The rule shows up in `scopecheck rules` too.
    let rules = run(&["rules", "--policies", &policy]);
    assert!(rules.stdout.contains("no-browsing-outside-hours"));
}

#[test]
fn disable_switches_a_rule_off() {
    let out = audit_fixture("mci", &["--disable", "outside-window", "--format", "json"]);
    assert!(!out.stdout.contains("\"outside-window\""));
    let out = audit_fixture("mci", &["--disable", "outside-windw"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("did you mean `outside-window`"), "{}", out.stderr);
}

#[test]
fn stdin_and_gzip_are_read() {
    let captures = std::fs::read(root().join("fixtures/clean/captures.jsonl")).unwrap();
    let scope = p("fixtures/clean/scope.yaml");
    let out = run_with_stdin(&["audit", "--scope", &scope, "-"], &captures);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("200 records read from 1 file, 200 evaluated, 0 rejected"), "{}", out.stdout);

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&captures).unwrap();
    let gz = gz.finish().unwrap();
    let dir = common::tmp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let gz_path = dir.join("captures.jsonl.gz");
    std::fs::write(&gz_path, &gz).unwrap();
    let out = run(&["audit", "--scope", &scope, &gz_path.display().to_string()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("200 records read"), "{}", out.stdout);
    // gzip through stdin too
    let out = run_with_stdin(&["audit", "--scope", &scope, "-"], &gz);
    assert!(out.stdout.contains("200 records read"), "{}", out.stdout);
}

#[test]
fn invalid_utf8_and_blank_lines() {
    let scope = p("fixtures/clean/scope.yaml");
    let good = std::fs::read_to_string(root().join("fixtures/clean/captures.jsonl")).unwrap();
    let first = good.lines().next().unwrap();
    let mut input = Vec::new();
    input.extend_from_slice(first.as_bytes());
    input.extend_from_slice(b"\n\n   \n\xff\xfe{\n");
    input.extend_from_slice(first.as_bytes());
    let out = run_with_stdin(&["audit", "--scope", &scope, "-"], &input);
    assert!(out.stdout.contains("3 records read from 1 file, 2 evaluated, 1 rejected"), "{}", out.stdout);
    assert!(out.stdout.contains("<stdin>:4: not UTF-8 text"), "{}", out.stdout);
}

#[test]
fn other_programs_records_are_rejected_not_dropped() {
    let scope = p("fixtures/clean/scope.yaml");
    let line = r#"{"ts":"2026-05-12T10:00:00-07:00","program":"someone-else","data":{"a":1}}"#;
    let out = run_with_stdin(&["audit", "--scope", &scope, "-"], line.as_bytes());
    assert!(out.stdout.contains("1 rejected"), "{}", out.stdout);
    assert!(out.stdout.contains("`program` is \"someone-else\""), "{}", out.stdout);
}

#[test]
fn bad_arguments_exit_2() {
    let out = run(&["audit"]);
    assert_eq!(out.code, 2);
    let out = run(&["audit", "--scope", "x", "--fail-on", "urgent", "y"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("urgent"));
    let out = run(&["--help"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("audit"));
}

#[test]
fn schema_rules_taxonomy() {
    let out = run(&["schema"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(v["properties"]["collect"].is_object());
    assert!(run(&["schema", "--cedar"]).stdout.contains("namespace Scopecheck"));
    insta::assert_snapshot!("rules_human", run(&["rules"]).stdout);
    assert!(run(&["taxonomy"]).stdout.contains("content.transcript"));
}

#[test]
fn generated_docs_are_up_to_date() {
    let rules = run(&["rules", "--format", "markdown"]).stdout;
    let on_disk = std::fs::read_to_string(root().join("docs/rules.md")).unwrap_or_default();
    assert!(
        on_disk == rules,
        "docs/rules.md is stale: run `cargo run -p scopecheck-cli -- rules --format markdown > docs/rules.md`"
    );
    let tax = run(&["taxonomy", "--format", "markdown"]).stdout;
    let on_disk = std::fs::read_to_string(root().join("docs/taxonomy.md")).unwrap_or_default();
    assert!(
        on_disk == tax,
        "docs/taxonomy.md is stale: run `cargo run -p scopecheck-cli -- taxonomy --format markdown > docs/taxonomy.md`"
    );
}

#[test]
fn someone_elses_scope_works_unchanged() {
    // A scope written in the documented format with its own names, zone and patterns,
    // not one of the bundled fixtures.
    let scope = tmp(
        "retail-scope.yaml",
        r#"program: till-coach
version: 3
subjects: [cashier]
collect:
  - field: "till.**"
    category: behavior.app_interaction
    purposes: [coaching]
    retention_days: 30
  - field: "shift.badgeId"
    category: employment.employee_id
    purposes: [coaching]
never:
  - category: biometric
  - field: "camera.*"
windows:
  timezone: Australia/Sydney
  allow: ["Mon-Sat 07:00-22:00"]
stores:
  - id: coach-db
    encryption: at_rest
    retention_days: 30
access:
  - role: coach
    purposes: [coaching]
"#,
    );
    let captures = [
        r#"{"ts":"2026-03-02T09:00:00+11:00","program":"till-coach","subject":"cashier","source":"till","store":"coach-db","data":{"till":{"scans":[{"ms":420},{"ms":380}],"voids":1},"shift":{"badgeId":"B-1042"}}}"#,
        r#"{"ts":"2026-03-02T09:05:00+11:00","program":"till-coach","subject":"cashier","source":"till","store":"coach-db","data":{"camera":{"frame":"ffd8ffe000104a464946"},"customer":{"email":"pat@example.org"}}}"#,
        r#"{"ts":"2026-03-08T09:05:00+11:00","program":"till-coach","subject":"cashier","source":"till","store":"coach-db","data":{"till":{"voids":0}}}"#,
    ]
    .join("\n");
    let access = tmp(
        "retail-access.jsonl",
        r#"{"ts":"2026-03-03T10:00:00+11:00","actor":"a-7","role":"coach","store":"coach-db","fields":["till.scans[].ms"],"purpose":"discipline"}"#,
    );
    let out = run_with_stdin(
        &["audit", "--scope", &scope, "--access", &access, "--format", "json", "-"],
        captures.as_bytes(),
    );
    let v: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", out.stdout, out.stderr));
    let got: std::collections::BTreeSet<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f["subject"]["id"].as_str().unwrap().to_string()))
        .collect();
    let want: std::collections::BTreeSet<(String, String)> = [
        ("never-collect", "camera.frame"),
        ("undisclosed-field", "camera.frame"),
        ("undisclosed-field", "customer.email"),
        ("outside-window", "till"),
        ("purpose-creep", "coach"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want, "{}", out.stdout);
    assert_eq!(v["summary"]["records_evaluated"], 3);
}
