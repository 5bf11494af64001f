//! `scopecheck diff OLD NEW`: drift between two releases of a declared scope, end to end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{p, run, stable, tmp};

const MCI: &str = "fixtures/mci/scope.yaml";
const MCI_07: &str = "fixtures/drift/mci-2026.07.yaml";

fn diff(old: &str, new: &str, extra: &[&str]) -> common::Out {
    let (old, new) = (p(old), p(new));
    let mut args = vec!["diff", old.as_str(), new.as_str()];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn the_must_show_pair_exits_1_with_four_changes_at_high_or_above() {
    let out = diff(MCI, MCI_07, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    insta::assert_snapshot!("mci_2026_07_human", out.stdout);
    let json = diff(MCI, MCI_07, &["--format", "json"]);
    assert_eq!(json.code, 1);
    insta::assert_snapshot!("mci_2026_07_json", json.stdout);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let changes = v["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 4);
    let ids: Vec<&str> = changes.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["never-dropped", "never-dropped", "encryption-weakened", "field-added"]);
    for c in changes {
        assert!(["critical", "high"].contains(&c["severity"].as_str().unwrap()), "{c}");
    }
    let md = diff(MCI, MCI_07, &["--format", "markdown"]);
    assert_eq!(md.code, 1);
    insta::assert_snapshot!("mci_2026_07_markdown", md.stdout);
}

#[test]
fn fail_on_sets_the_exit_code() {
    assert_eq!(diff(MCI, MCI_07, &["--fail-on", "critical"]).code, 1);
    assert_eq!(diff(MCI, MCI_07, &["--fail-on", "never"]).code, 0);
    // The narrowing release has only info changes.
    assert_eq!(diff(MCI, "fixtures/drift/mci-narrowed.yaml", &["--fail-on", "low"]).code, 0);
    assert_eq!(diff(MCI, "fixtures/drift/mci-narrowed.yaml", &["--fail-on", "info"]).code, 1);
    let bad = diff(MCI, MCI_07, &["--fail-on", "severe"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("or never"), "{}", bad.stderr);
}

#[test]
fn a_scope_against_itself_or_reformatted_has_no_drift() {
    let out = diff(MCI, MCI, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("mci_itself_human", out.stdout);
    assert!(out.stdout.contains("no drift"));
    let out = diff(MCI, "fixtures/drift/mci-reformatted.yaml", &["--fail-on", "info"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("no drift: the two scopes declare the same things"), "{}", out.stdout);
    let json = diff(MCI, MCI, &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["summary"]["changes"], 0);
    assert_eq!(v["summary"]["highest"], serde_json::Value::Null);
    let md = diff(MCI, MCI, &["--format", "markdown"]);
    assert!(md.stdout.contains("✅ **No drift**"), "{}", md.stdout);
}

#[test]
fn a_narrowing_release_exits_0_with_info() {
    let out = diff(MCI, "fixtures/drift/mci-narrowed.yaml", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("mci_narrowed_human", out.stdout);
    assert!(out.stdout.lines().filter(|l| l.starts_with("INFO")).count() >= 9);
    assert!(!out.stdout.lines().any(|l| ["CRITICAL", "HIGH", "MEDIUM", "LOW "].iter().any(|s| l.starts_with(s))));
}

#[test]
fn a_widening_release_is_graded_section_by_section() {
    let out = diff(MCI, "fixtures/drift/mci-widened.yaml", &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!("mci_widened_human", out.stdout);
}

#[test]
fn different_programs_are_refused_unless_a_rename_is_allowed() {
    let out = diff(MCI, "fixtures/helpdesk/scope.yaml", &[]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    insta::assert_snapshot!("different_program_error", out.stderr);
    let text = std::fs::read_to_string(p(MCI)).unwrap().replace("program: mci", "program: mci-v2");
    let renamed = tmp("renamed.yaml", &text);
    let old = p(MCI);
    let out = run(&["diff", &old, &renamed, "--allow-program-change", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let ids: Vec<&str> = v["changes"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["program-renamed", "version-not-bumped"]);
    assert_eq!(v["changes"][0]["severity"], "medium");
}

#[test]
fn a_scope_that_does_not_load_is_an_error_at_its_line() {
    let text = std::fs::read_to_string(p(MCI_07)).unwrap().replace("category: health", "category: heath");
    let bad = tmp("bad-new.yaml", &text);
    let old = p(MCI);
    let out = run(&["diff", &old, &bad]);
    assert_eq!(out.code, 2);
    insta::assert_snapshot!("bad_new_scope_error", stable(&out.stderr));
    let out = run(&["diff", "no-such-old.yaml", &old]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.starts_with("error: no-such-old.yaml: cannot read the old scope"), "{}", out.stderr);
}

#[test]
fn formats_go_to_files_and_never_over_a_scope() {
    let json = common::tmp_dir().join("drift.json");
    let sarif = common::tmp_dir().join("drift.sarif");
    std::fs::create_dir_all(common::tmp_dir()).unwrap();
    let (j, s) = (format!("json={}", json.display()), format!("sarif={}", sarif.display()));
    let out = diff(MCI, MCI_07, &["--format", "human", "--format", &j, "--format", &s]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.starts_with("scopecheck diff: program mci"));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["summary"]["changes"], 4);
    assert!(std::fs::read_to_string(&sarif).unwrap().contains("\"2.1.0\""));
    // Written over the new scope: refused, the scope untouched.
    let copy = tmp("copy.yaml", &std::fs::read_to_string(p(MCI_07)).unwrap());
    let old = p(MCI);
    let out = run(&["diff", &old, &copy, "--format", "json", "-o", &copy]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("would be written over one of the scopes"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), std::fs::read_to_string(p(MCI_07)).unwrap());
    let out = diff(MCI, MCI_07, &["--format", "junit"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("use human, json, markdown, sarif"), "{}", out.stderr);
}

#[test]
fn sarif_locates_each_change_in_the_new_scope_or_the_old_one_for_removals() {
    let out = diff(MCI, MCI_07, &["--format", "sarif"]);
    assert_eq!(out.code, 1);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "scopecheck-diff/mci/");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    for r in results {
        let id = r["ruleId"].as_str().unwrap();
        assert_eq!(rules[r["ruleIndex"].as_u64().unwrap() as usize]["id"], id);
        assert_eq!(r["level"], "error");
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        let line = loc["region"]["startLine"].as_u64().unwrap() as usize;
        let file = if id == "never-dropped" { MCI } else { MCI_07 };
        assert_eq!(uri, file, "{r}");
        let text = std::fs::read_to_string(p(file)).unwrap();
        let at = text.lines().nth(line - 1).unwrap();
        let what = r["properties"]["what"].as_str().unwrap();
        let expect = if what.contains("content") {
            "content"
        } else if what.contains("ocr_text") {
            "screen.ocr_text"
        } else {
            "session.replay"
        };
        assert!(at.contains(expect), "{what}: line {line} is {at:?}");
        assert!(r["partialFingerprints"]["scopecheck-drift/v1"].as_str().unwrap().len() == 32);
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
    for (name, new) in [
        ("diff-mci-2026.07", MCI_07),
        ("diff-mci-widened", "fixtures/drift/mci-widened.yaml"),
        ("diff-mci-narrowed", "fixtures/drift/mci-narrowed.yaml"),
        ("diff-mci-itself", MCI),
    ] {
        let file = dir.join(format!("{name}.sarif"));
        let arg = format!("sarif={}", file.display());
        let out = diff(MCI, new, &["--format", &arg]);
        assert!(out.code <= 1, "{name}: {}", out.stderr);
        files.push(file);
    }
    let problems = common::sarif_problems(&tool, &files);
    assert!(problems.is_empty(), "the multitool reports: {problems:#?}");
}
