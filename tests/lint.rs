//! `scopecheck check` as a linter: each lint on the small scope written for it
//! (fixtures/lint/<id>.yaml), the shipped fixtures, the JSON contract, SARIF, exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{FIXTURES, p, run, stable, tmp};
use scopecheck::lint::{LINTS, Level};

/// `check` of fixtures/lint/<id>.yaml, with <id>.cedar when there is one.
fn lint_fixture(id: &str, extra: &[&str]) -> common::Out {
    let scope = p(&format!("fixtures/lint/{id}.yaml"));
    let cedar = format!("fixtures/lint/{id}.cedar");
    let policies = p(&cedar);
    let mut args = vec!["check", "--scope", scope.as_str()];
    if common::root().join(&cedar).is_file() {
        args.extend(["--policies", policies.as_str()]);
    }
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn every_lint_fires_on_the_scope_written_for_it() {
    for m in LINTS {
        let out = lint_fixture(m.id, &["--fail-on", "never"]);
        assert_eq!(out.code, 0, "{}: {}", m.id, out.stderr);
        assert!(out.stderr.is_empty(), "{}: {}", m.id, out.stderr);
        let tag = format!(": {}[{}] ", m.level, m.id);
        assert!(out.stdout.contains(&tag), "{} does not fire on its fixture:\n{}", m.id, out.stdout);
        insta::assert_snapshot!(format!("fires_{}", m.id), out.stdout);
    }
}

#[test]
fn every_lint_is_documented() {
    let doc = std::fs::read_to_string(common::root().join("docs/lint.md")).unwrap();
    for m in LINTS {
        assert!(doc.contains(&format!("| `{}` | {} |", m.id, m.level)), "docs/lint.md lacks {} in its table", m.id);
        assert!(
            doc.contains(&format!("### `{}`", m.id))
                || doc.contains(&format!("`{}`:", m.id))
                || doc.contains(&format!(", `{}`", m.id)),
            "docs/lint.md has no section for {}",
            m.id
        );
    }
}

/// What the shipped fixtures produce, reviewed: no error and no warning, and the built-in rules
/// each scope leaves idle, with the reason.
#[test]
fn shipped_fixtures_lint_clean() {
    for fx in FIXTURES {
        let scope = p(&format!("fixtures/{fx}/scope.yaml"));
        let stores = p(&format!("fixtures/{fx}/stores.yaml"));
        let out = run(&["check", "--scope", &scope, "--stores", &stores, "--fail-on", "warning"]);
        assert_eq!(out.code, 0, "{fx}:\n{}{}", out.stdout, out.stderr);
        assert!(out.stdout.lines().last().unwrap().starts_with("ok: "), "{fx}: {}", out.stdout);
        insta::assert_snapshot!(format!("fixture_{fx}"), out.stdout);
    }
}

#[test]
fn a_user_rule_is_reported_at_its_policy_and_one_that_fires_is_not() {
    let out = lint_fixture("rule-never-fires", &["--fail-on", "warning"]);
    assert_eq!(out.code, 1);
    let lines: Vec<&str> = out.stdout.lines().filter(|l| l.contains("[rule-never-fires]")).collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert!(lines[0].starts_with(
        "fixtures/lint/rule-never-fires.cedar:14:1: warning[rule-never-fires] rule `impossible-confidence`"
    ));
    assert!(lines[1].starts_with(
        "fixtures/lint/rule-never-fires.cedar:22:1: warning[rule-never-fires] rule `undeclared-store-retention`"
    ));
    assert!(!out.stdout.contains("`browsing-from-extension` can never fire"), "{}", out.stdout);
    // The same rule, with the string it needs missing from the policies, would not fire: the
    // literal is what the probe uses.
    let cedar = std::fs::read_to_string(common::root().join("fixtures/lint/rule-never-fires.cedar")).unwrap();
    let only_first = cedar.split("// Never fires").next().unwrap();
    let file = tmp("fires.cedar", only_first);
    let out = run(&[
        "check",
        "--scope",
        &p("fixtures/lint/rule-never-fires.yaml"),
        "--policies",
        &file,
        "--fail-on",
        "warning",
    ]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    // Disabled rules are not linted.
    let out = lint_fixture(
        "rule-never-fires",
        &["--disable", "impossible-confidence", "--disable", "undeclared-store-retention", "--fail-on", "warning"],
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
}

#[test]
fn fail_on_sets_the_exit_code() {
    // An error fails by default.
    let out = lint_fixture("window-never-open", &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.lines().last().unwrap().starts_with("failed: "), "{}", out.stdout);
    assert_eq!(lint_fixture("window-never-open", &["--fail-on", "never"]).code, 0);
    // A warning does not, unless asked.
    assert_eq!(lint_fixture("purpose-unused", &[]).code, 0);
    assert_eq!(lint_fixture("purpose-unused", &["--fail-on", "warning"]).code, 1);
    // Infos only with --fail-on info.
    assert_eq!(lint_fixture("window-redundant", &["--fail-on", "warning"]).code, 0);
    assert_eq!(lint_fixture("window-redundant", &["--fail-on", "info"]).code, 1);
    let out = lint_fixture("window-redundant", &["--fail-on", "sometimes"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("not a lint level"), "{}", out.stderr);
}

#[test]
fn inputs_that_do_not_load_exit_2() {
    let scope = tmp("closed.yaml", "program: p\ncollect: []\nwindows:\n  timezone: UTC\n  deny: [\"Mon-Sun\"]\n");
    let out = run(&["check", "--scope", &scope]);
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    insta::assert_snapshot!("closed_windows", stable(&out.stderr));
    let out = run(&["check", "--scope", &p("fixtures/lint/purpose-unused.yaml"), "--format", "xml"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("use human, json or sarif"), "{}", out.stderr);
}

#[test]
fn json_has_the_documented_shape() {
    let out = lint_fixture("purpose-unused", &["--format", "json", "--fail-on", "never"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["format"], 1);
    assert_eq!(v["tool"]["name"], "scopecheck");
    assert_eq!(v["scope"]["file"], "fixtures/lint/purpose-unused.yaml");
    assert_eq!(v["scope"]["program"], "lint-demo");
    for key in ["declared_fields", "never", "stores", "roles", "rules", "inventory_stores", "probe_requests"] {
        assert!(v["checked"][key].is_u64(), "{key}");
    }
    let lints = v["lints"].as_array().unwrap();
    for level in ["error", "warning", "info"] {
        let n = lints.iter().filter(|l| l["level"] == level).count() as u64;
        assert_eq!(v["summary"][level], n, "{level}");
    }
    let unused = lints.iter().find(|l| l["id"] == "purpose-unused").unwrap();
    let keys: Vec<&str> = unused.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["id", "level", "message", "help", "location"]);
    assert_eq!(unused["location"]["file"], "fixtures/lint/purpose-unused.yaml");
    assert_eq!((unused["location"]["line"].as_u64(), unused["location"]["column"].as_u64()), (Some(7), Some(27)));
    assert!(unused["message"].as_str().unwrap().contains("`security`"));
    let idle = lints.iter().find(|l| l["id"] == "builtin-rule-idle");
    if let Some(idle) = idle {
        assert!(idle["rule"].is_string());
    }
}

#[test]
fn human_and_json_in_one_run() {
    let json = tmp("lint.json", "");
    let arg = format!("json={json}");
    let out = lint_fixture("window-never-open", &["--format", "human", "--format", &arg]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("error[window-never-open]"));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["summary"]["error"], 1);
    let l = v["lints"].as_array().unwrap().iter().find(|l| l["id"] == "window-never-open").unwrap();
    assert_eq!((l["location"]["line"].as_u64(), l["location"]["column"].as_u64()), (Some(12), Some(35)));
}

#[test]
fn sarif_is_2_1_0_located_in_the_scope_and_validates() {
    let dir = common::root().join("target/test-artifacts/lint-sarif");
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for m in LINTS {
        let file = dir.join(format!("{}.sarif", m.id));
        let arg = format!("sarif={}", file.display());
        let out = lint_fixture(m.id, &["--format", &arg, "--fail-on", "never"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), LINTS.len());
        let results = run["results"].as_array().unwrap();
        let mine: Vec<&serde_json::Value> = results.iter().filter(|r| r["ruleId"] == m.id).collect();
        assert!(!mine.is_empty(), "{}", m.id);
        for r in &mine {
            let index = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[index]["id"], m.id);
            let level = match m.level {
                Level::Error => "error",
                Level::Warning => "warning",
                Level::Info => "note",
            };
            assert_eq!(r["level"], level);
            let loc = &r["locations"][0]["physicalLocation"];
            let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
            assert!(uri.starts_with("file:///") && uri.contains("fixtures/lint/"), "{uri}");
            assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        }
        files.push(file);
    }
    let Some(tool) = common::sarif_multitool() else {
        assert!(std::env::var_os("CI").is_none(), "CI must install @microsoft/sarif-multitool (see .ci/run)");
        eprintln!("note: the SARIF multitool is not installed; SARIF not validated");
        return;
    };
    let problems = common::sarif_problems(&tool, &files);
    assert!(problems.is_empty(), "{problems:#?}");
}
