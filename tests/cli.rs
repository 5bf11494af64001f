//! The command line as users see it: output snapshots (insta) and exit codes.
//! Runs `scopecheck_cli::run` in-process with paths relative to the repo root.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{FIXTURES, Out, audit_fixture, p, root, run, run_with_stdin, stable, tmp};
use std::io::Write as _;

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
    // roster: per-person ids and kinds, a compliant program.
    let out = audit_fixture("roster", &["--fail-on", "info"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("no findings"), "{}", out.stdout);
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
        r#"{"ts":"2026-03-02T09:00:00+11:00","program":"till-coach","subject":"c-0042","subject_kind":"cashier","source":"till","store":"coach-db","data":{"till":{"scans":[{"ms":420},{"ms":380}],"voids":1},"shift":{"badgeId":"B-1042"}}}"#,
        r#"{"ts":"2026-03-02T09:05:00+11:00","subject_kind":"cashier","subject":7731,"program":"till-coach","source":"till","store":"coach-db","data":{"camera":{"frame":"ffd8ffe000104a464946"},"customer":{"email":"pat@example.org"}}}"#,
        r#"{"ts":"2026-03-08T09:05:00+11:00","program":"till-coach","subject":"c-0042","source":"till","store":"coach-db","data":{"till":{"voids":0}}}"#,
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
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f["target"]["id"].as_str().unwrap().to_string()))
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
    // Two people (one id given as a number), one event without a kind (not checked).
    assert_eq!(v["summary"]["people_captured"], 2);
    assert_eq!(v["summary"]["records_without_subject_kind"], 1);
}

/// Every `subject` (person id) of a fixture's captures.
fn subject_ids(fx: &str) -> std::collections::BTreeSet<String> {
    std::fs::read_to_string(root().join(format!("fixtures/{fx}/captures.jsonl")))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["subject"].as_str().map(str::to_string))
        .collect()
}

/// The ids that occur in `text` as whole tokens (not inside a longer word or hash).
fn ids_in<'a>(text: &str, ids: &'a std::collections::BTreeSet<String>) -> Vec<&'a str> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    ids.iter()
        .filter(|id| {
            text.match_indices(id.as_str()).any(|(at, _)| {
                let before = text[..at].chars().next_back();
                let after = text[at + id.len()..].chars().next();
                !before.is_some_and(word) && !after.is_some_and(word)
            })
        })
        .map(String::as_str)
        .collect()
}

#[test]
fn no_subject_id_in_any_format_without_show_evidence() {
    for fx in ["mci", "workday", "clean", "helpdesk", "lobby", "roster"] {
        let ids = subject_ids(fx);
        assert!(ids.len() >= 20, "{fx}: {} people", ids.len());
        let files: Vec<(&str, String)> =
            ["json", "sarif", "junit", "markdown", "html"].map(|f| (f, tmp(&format!("{fx}-leak.{f}"), ""))).into();
        let file_args: Vec<String> = files.iter().map(|(f, path)| format!("{f}={path}")).collect();
        for extra in [&[][..], &["--pseudonym-key", "a secret key"][..]] {
            let mut args = vec!["--format", "human"];
            for a in &file_args {
                args.extend(["--format", a.as_str()]);
            }
            args.extend_from_slice(extra);
            let out = audit_fixture(fx, &args);
            assert!(out.code <= 1, "{fx}: {}", out.stderr);
            let mut texts = vec![("human", out.stdout.clone()), ("stderr", out.stderr.clone())];
            texts.extend(files.iter().map(|(f, path)| (*f, std::fs::read_to_string(path).unwrap())));
            for (what, text) in texts {
                assert!(!text.is_empty() || what == "stderr", "{fx}: {what} is empty");
                let leaked = ids_in(&text, &ids);
                assert!(leaked.is_empty(), "{fx} {what} {extra:?}: person ids printed: {leaked:?}");
            }
        }
        // With --show-evidence the report names (a few of) them: the only way to get ids out.
        let shown = audit_fixture(fx, &["--format", "json", "--show-evidence"]);
        let v: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
        let findings = v["findings"].as_array().unwrap();
        let listed = findings.iter().any(|f| f.get("subjects").is_some());
        assert_eq!(listed, !findings.is_empty(), "{fx}");
    }
}

#[test]
fn pseudonyms_are_stable_keyed_and_absent_without_a_key() {
    let pseudonyms = |key: Option<&str>| -> Vec<serde_json::Value> {
        let mut args = vec!["--format", "json"];
        if let Some(k) = key {
            args.extend(["--pseudonym-key", k]);
        }
        let out = audit_fixture("lobby", &args);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        v["findings"].as_array().unwrap().iter().map(|f| f["pseudonyms"].clone()).collect()
    };
    let a = pseudonyms(Some("k1"));
    assert_eq!(a, pseudonyms(Some("k1")));
    assert_ne!(a, pseudonyms(Some("k2")));
    assert!(a.iter().any(|p| p.as_array().is_some_and(|x| !x.is_empty())), "{a:?}");
    assert!(pseudonyms(None).iter().all(serde_json::Value::is_null));
    // Without a key, reports are byte for byte the same.
    assert_eq!(
        audit_fixture("lobby", &["--format", "json"]).stdout,
        audit_fixture("lobby", &["--format", "json"]).stdout
    );
    // The key can come from a file, out of the process list.
    let key_file = tmp("pseudonym.key", "k1\n");
    let out = audit_fixture("lobby", &["--format", "json", "--pseudonym-key-file", &key_file]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let from_file: Vec<serde_json::Value> =
        v["findings"].as_array().unwrap().iter().map(|f| f["pseudonyms"].clone()).collect();
    assert_eq!(from_file, a);
}

#[test]
fn several_formats_in_one_run() {
    let json = tmp("multi.json", "");
    let sarif = tmp("multi.sarif", "");
    let (j, s) = (format!("json={json}"), format!("sarif={sarif}"));
    let out = audit_fixture("mci", &["--format", &j, "--format", &s, "--format", "human"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("scopecheck audit:"), "{}", out.stdout);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["tool"]["format"], 2);
    let sv: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(sv["runs"][0]["results"].as_array().unwrap().len(), v["findings"].as_array().unwrap().len());
    for (r, f) in sv["runs"][0]["results"].as_array().unwrap().iter().zip(v["findings"].as_array().unwrap()) {
        assert_eq!(r["partialFingerprints"]["scopecheck/v2"], f["fingerprint"]);
    }
    // Only one format can go to stdout; unknown names are refused before anything is read.
    let out = audit_fixture("mci", &["--format", "human", "--format", "json"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("only one can go to stdout"), "{}", out.stderr);
    let out = audit_fixture("mci", &["--format", "yaml"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("`yaml` is not a report format"), "{}", out.stderr);
    // The same option on the list commands.
    let md = tmp("rules.md", "");
    let arg = format!("markdown={md}");
    assert_eq!(run(&["rules", "--format", &arg]).code, 0);
    assert!(std::fs::read_to_string(&md).unwrap().starts_with("# Rules"));
}

#[test]
fn provenance_names_every_input_by_digest() {
    let out = audit_fixture("mci", &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let inputs = v["provenance"]["inputs"].as_array().unwrap();
    let roles: Vec<&str> = inputs.iter().map(|i| i["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["scope", "stores", "captures", "access"]);
    let bytes = std::fs::read(root().join("fixtures/mci/captures.jsonl")).unwrap();
    let captures = &inputs[2];
    assert_eq!(captures["bytes"], bytes.len() as u64);
    assert_eq!(captures["sha256"].as_str().unwrap(), scopecheck::bundle::sha256_hex(&bytes));
    assert_eq!(v["provenance"]["rules_sha256"].as_str().unwrap().len(), 64);
    // A gzip file is identified by its bytes as stored.
    let gz = root().join("target").join("provenance-test.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&bytes).unwrap();
    let gz_bytes = enc.finish().unwrap();
    std::fs::write(&gz, &gz_bytes).unwrap();
    let scope = p("fixtures/mci/scope.yaml");
    let out = run(&["audit", "--scope", &scope, "--format", "json", &gz.display().to_string()]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["provenance"]["inputs"][1]["sha256"].as_str().unwrap(), scopecheck::bundle::sha256_hex(&gz_bytes));
    assert_eq!(v["summary"]["records_read"], 465);
}

#[test]
fn report_schema_is_published_and_describes_the_report() {
    let out = run(&["schema", "--report"]);
    assert_eq!(out.code, 0);
    let schema: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let text = schema.to_string();
    for key in ["fingerprint", "people_affected", "provenance", "target", "subject_kind", "examples"] {
        assert!(text.contains(key), "schema lacks {key}");
    }
    // Every top-level key of a real report is in the schema.
    let report: serde_json::Value = serde_json::from_str(&audit_fixture("mci", &["--format", "json"]).stdout).unwrap();
    for k in report.as_object().unwrap().keys() {
        assert!(schema["properties"].get(k).is_some(), "schema lacks top-level {k}");
    }
}

#[test]
fn every_fixture_in_every_format() {
    for fx in FIXTURES {
        // HTML has snapshots of its own (tests/html_render.rs).
        for format in ["human", "json", "sarif", "junit", "markdown"] {
            let out = audit_fixture(fx, &["--format", format]);
            assert!(out.code <= 1, "{fx} {format}: {}", out.stderr);
            assert!(!out.stdout.is_empty(), "{fx} {format}");
            // The human and JSON reports of some fixtures have snapshots of their own already.
            let named = format!("{fx}_{format}");
            if !["mci_human", "mci_json", "clean_human", "helpdesk_human", "workday_human"].contains(&named.as_str()) {
                insta::assert_snapshot!(format!("format_{named}"), out.stdout);
            }
        }
    }
}

#[test]
fn sarif_has_no_error_or_warning_from_the_multitool() {
    let Some(tool) = common::sarif_multitool() else {
        assert!(std::env::var_os("CI").is_none(), "CI must install @microsoft/sarif-multitool (see .ci/run)");
        eprintln!("note: the SARIF multitool is not installed; SARIF not validated");
        return;
    };
    let dir = common::root().join("target/test-artifacts/sarif");
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    let mut write = |name: &str, args: &[&str], fx: &str| {
        let file = dir.join(format!("{name}.sarif"));
        let arg = format!("sarif={}", file.display());
        let mut all = vec!["--format", arg.as_str()];
        all.extend_from_slice(args);
        let out = audit_fixture(fx, &all);
        assert!(out.code <= 1, "{name}: {}", out.stderr);
        files.push(file);
    };
    // Every fixture; with pseudonyms and shown evidence; with rejected lines (notifications).
    for fx in FIXTURES {
        write(fx, &[], fx);
    }
    write("mci-pseudonyms", &["--pseudonym-key", "k"], "mci");
    write("mci-shown", &["--show-evidence"], "mci");
    let malformed = p("fixtures/mci/captures-malformed.jsonl");
    write("mci-rejected", &[&malformed], "mci");
    // Findings accepted by a baseline (suppressions).
    let baseline = common::tmp_dir().join("sarif-baseline.yaml").display().to_string();
    let _ = std::fs::remove_file(&baseline);
    write("mci-baselined", &["--baseline", &baseline, "--update-baseline", "--today", "2026-12-02"], "mci");
    // Standard input, and a file name that needs percent-encoding.
    let odd = tmp("odd name ü#1.jsonl", &std::fs::read_to_string(p("fixtures/mci/captures.jsonl")).unwrap());
    write("mci-odd-name", &[&odd], "mci");
    let stdin_file = dir.join("mci-stdin.sarif");
    let stdin_arg = format!("sarif={}", stdin_file.display());
    let scope = p("fixtures/mci/scope.yaml");
    let caps = std::fs::read(p("fixtures/mci/captures.jsonl")).unwrap();
    let out = run_with_stdin(&["audit", "--scope", &scope, "--format", &stdin_arg, "-"], &caps);
    assert_eq!(out.code, 1, "{}", out.stderr);
    files.push(stdin_file);
    let problems = common::sarif_problems(&tool, &files);
    assert!(problems.is_empty(), "{} problems:\n{problems:#?}", problems.len());
    // The check is not vacuous: a SARIF file with the faults we fixed is reported.
    let bad = dir.join("known-bad.sarif.json");
    std::fs::write(
        &bad,
        r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x","rules":[{"id":"a-b","name":"a-b"}]}},
            "results":[{"ruleId":"a-b","message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"f"}}}]}]}]}"#,
    )
    .unwrap();
    let rules: Vec<String> = common::sarif_problems(&tool, &[bad]).into_iter().map(|(r, _, _)| r).collect();
    assert!(rules.contains(&"SARIF1001".to_string()) && rules.contains(&"SARIF2017".to_string()), "{rules:?}");
}

#[test]
fn sarif_locates_each_finding_where_it_is_explained() {
    let out = audit_fixture("mci", &["--format", "sarif", &p("fixtures/mci/captures-malformed.jsonl")]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let run = &v["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "scopecheck/mci/");
    let scope_text = std::fs::read_to_string(p("fixtures/mci/scope.yaml")).unwrap();
    for r in run["results"].as_array().unwrap() {
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        let line = loc["region"]["startLine"].as_u64().unwrap();
        assert_eq!(loc["region"]["endLine"].as_u64(), Some(line));
        let kind = r["properties"]["target"]["kind"].as_str().unwrap();
        let id = r["properties"]["target"]["id"].as_str().unwrap();
        match (r["ruleId"].as_str().unwrap(), kind) {
            ("purpose-creep", _) => assert!(uri.ends_with("access.jsonl"), "{r}"),
            // Broken promises of a declared store: the store's line in the scope.
            ("retention-exceeded" | "unencrypted-store", "store") => {
                assert!(uri.ends_with("scope.yaml"), "{r}");
                let text = scope_text.lines().nth(line as usize - 1).unwrap();
                assert!(text.contains(&format!("id: {id}")), "line {line} is {text:?}");
            }
            (_, "field") => assert!(uri.ends_with(".jsonl"), "{r}"),
            _ => {}
        }
        assert!(r["partialFingerprints"]["scopecheck/v2"].as_str().unwrap().len() == 32);
    }
    // Each rejected line is a tool execution notification at its line.
    let notes = run["invocations"][0]["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notes.len(), 3, "{notes:?}");
    let lines: Vec<u64> =
        notes.iter().map(|n| n["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64().unwrap()).collect();
    assert_eq!(lines, [3, 5, 6]);
    // Rules: a readable name unlike the id, help in text and Markdown, a security severity.
    for rule in run["tool"]["driver"]["rules"].as_array().unwrap() {
        assert_ne!(rule["name"], rule["id"]);
        assert!(
            rule["help"]["markdown"].as_str().unwrap().contains(rule["shortDescription"]["text"].as_str().unwrap())
        );
        let score: f64 = rule["properties"]["security-severity"].as_str().unwrap().parse().unwrap();
        assert!((0.0..=10.0).contains(&score));
    }
}

#[test]
fn junit_reads_back_with_a_junit_parser() {
    let file = tmp("mci.junit.xml", "");
    let arg = format!("junit={file}");
    let json = audit_fixture("mci", &["--format", "json"]);
    assert_eq!(audit_fixture("mci", &["--format", &arg]).code, 1);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let Some(cases) = common::junit_cases(&file) else { return };
    let failed: Vec<&serde_json::Value> = cases.iter().filter(|c| c["failed"] == true).collect();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(failed.len(), findings.len());
    for f in findings {
        let name = format!("{} {}", f["target"]["kind"].as_str().unwrap(), f["target"]["id"].as_str().unwrap());
        let case = failed.iter().find(|c| c["suite"] == f["rule"] && c["case"] == name.as_str());
        let case = case.unwrap_or_else(|| panic!("no failed case for {} {name}", f["rule"]));
        assert_eq!(case["type"], f["severity"]);
        let text = case["text"].as_str().unwrap();
        for e in f["evidence"].as_array().unwrap() {
            assert!(text.contains(e.as_str().unwrap()), "{text}");
        }
    }
    // Rules that found nothing are one passing case each.
    let passing: Vec<&str> =
        cases.iter().filter(|c| c["failed"] == false).map(|c| c["suite"].as_str().unwrap()).collect();
    assert!(passing.contains(&"policy-error") && passing.contains(&"undeclared-subject"), "{passing:?}");
}

/// `audit` of mci with `--baseline FILE` and more arguments, on these extra capture lines.
fn audit_with_baseline(baseline: &str, extra_lines: &[&str], args: &[&str]) -> Out {
    let mut caps = std::fs::read_to_string(p("fixtures/mci/captures.jsonl")).unwrap();
    for l in extra_lines {
        caps.push_str(l);
        caps.push('\n');
    }
    let file = tmp("baseline-captures.jsonl", &caps);
    let (scope, stores, access) =
        (p("fixtures/mci/scope.yaml"), p("fixtures/mci/stores.yaml"), p("fixtures/mci/access.jsonl"));
    // A fixed "today", so expiry dates (90 days from today) do not depend on when the test runs.
    let mut all = vec!["audit", "--scope", &scope, "--stores", &stores, "--access", &access, "--baseline", baseline];
    all.extend_from_slice(&["--today", "2026-12-02"]);
    all.extend_from_slice(args);
    all.push(&file);
    run(&all)
}

#[test]
fn baseline_round_trip() {
    let file = common::tmp_dir().join("mci-baseline.yaml");
    let _ = std::fs::remove_file(&file);
    let baseline = file.display().to_string();
    // Accept all of mci's findings.
    let out = audit_with_baseline(&baseline, &[], &["--update-baseline", "--baseline-owner", "privacy@example.com"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.matches("- fingerprint: ").count(), 17, "{text}");
    assert!(text.contains("expires: 2027-03-02"), "90 days from today: {text}");
    // Rerun: exit 0; every finding listed and marked.
    let out = audit_with_baseline(&baseline, &[], &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 17);
    for f in findings {
        assert_eq!(f["baselined"], true, "{f}");
        assert_eq!(f["baseline"]["owner"], "privacy@example.com");
        assert_eq!(f["baseline"]["expires"], "2027-03-02");
        assert!(f["baseline"]["reason"].is_string());
    }
    assert_eq!(v["baseline"]["accepted"], 17);
    // New violations: a password field; health data in ui.label (mci never collects health: a
    // never-collect finding no entry accepts); an SSN in ui.label, whose undisclosed-category
    // finding was accepted for contact.email and financial.payment_card only. Exit 1, naming
    // only these.
    let new_field = r#"{"ts":"2026-05-12T10:00:00-07:00","program":"mci","subject":"e-1","subject_kind":"employee","source":"desktop-agent","store":"mci-raw","data":{"login":{"password":"hunter2-Leak!"}}}"#;
    let health = r#"{"ts":"2026-05-12T10:01:00-07:00","program":"mci","subject":"e-2","subject_kind":"employee","source":"desktop-agent","store":"mci-raw","data":{"ui":{"action":"click","label":"Diagnosis: type 2 diabetes mellitus (E11.9)"}}}"#;
    let ssn = r#"{"ts":"2026-05-12T10:02:00-07:00","program":"mci","subject":"e-3","subject_kind":"employee","source":"desktop-agent","store":"mci-raw","data":{"ui":{"action":"click","label":"SSN 536-22-8748"}}}"#;
    let out = audit_with_baseline(&baseline, &[new_field, health, ssn], &["--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let failing: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["baselined"] != true)
        .map(|f| format!("{} {}", f["rule"].as_str().unwrap(), f["target"]["id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        failing,
        ["never-collect ui.label", "undisclosed-category ui.label", "undisclosed-field login.password"],
        "{failing:?}"
    );
    let label = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "undisclosed-category" && f["target"]["id"] == "ui.label")
        .unwrap();
    assert_eq!(label["baseline"]["status"], "new_categories");
    assert_eq!(label["baseline"]["new_categories"], serde_json::json!(["government_id.us_ssn"]), "{label}");
    let human = audit_with_baseline(&baseline, &[new_field, health, ssn], &[]);
    assert!(human.stdout.contains("NEW: the baseline does not accept government_id.us_ssn"), "{}", human.stdout);
    // One acceptance expired: exit 1, naming its owner.
    let expired = text.replacen("expires: 2027-03-02", "expires: 2026-11-30", 1);
    let expired_file = tmp("mci-baseline-expired.yaml", &expired.replacen("privacy@example.com", "dpo@example.com", 1));
    let out = audit_with_baseline(&expired_file, &[], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("expired on 2026-11-30; its owner dpo@example.com must renew"), "{}", out.stderr);
    assert!(out.stdout.contains("acceptance EXPIRED on 2026-11-30"), "{}", out.stdout);
    // An entry no finding uses is reported, so the file does not rot.
    let stale = format!(
        "{text}- fingerprint: 0123456789abcdef0123456789abcdef\n  rule: never-collect\n  target: field gone.field\n  categories: []\n  reason: fixed long ago\n  owner: someone@example.com\n  expires: 2027-01-01\n"
    );
    let stale_file = tmp("mci-baseline-stale.yaml", &stale);
    let out = audit_with_baseline(&stale_file, &[], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("0123456789abcdef0123456789abcdef (never-collect on field gone.field) matches no finding"),
        "{}",
        out.stdout
    );
    // Updating keeps what people wrote, accepts what is new and drops what is unused.
    let edited =
        stale.replacen("reason: accepted by --update-baseline; say why", "reason: chat capture goes in 4.2", 1);
    std::fs::write(&stale_file, edited).unwrap();
    let out =
        audit_with_baseline(&stale_file, &[new_field], &["--update-baseline", "--baseline-owner", "ci@example.com"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let updated = std::fs::read_to_string(&stale_file).unwrap();
    assert!(updated.contains("reason: chat capture goes in 4.2"), "{updated}");
    assert!(updated.contains("owner: ci@example.com"), "the new finding's owner: {updated}");
    assert!(!updated.contains("0123456789abcdef0123456789abcdef"), "{updated}");
    assert_eq!(updated.matches("- fingerprint: ").count(), 18);
    // A broken baseline: exit 2, file and line.
    let bad = tmp(
        "bad-baseline.yaml",
        "version: 1\naccepted:\n  - fingerprint: nothex\n    reason: r\n    owner: o\n    expires: 2027-01-01\n",
    );
    let out = audit_with_baseline(&bad, &[], &[]);
    assert_eq!(out.code, 2);
    assert!(stable(&out.stderr).contains("[tmp]/bad-baseline.yaml:3:"), "{}", out.stderr);
}
