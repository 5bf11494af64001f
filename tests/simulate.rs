//! `scopecheck simulate` (what-if replay) and scope history (`--scope` repeated, each version with
//! its `effective_from`), end to end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{p, run, stable, tmp};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const MCI: &str = "fixtures/mci";
const FORBID: &str = "fixtures/simulate/forbid-pointer.cedar";
const DECLARES: &str = "fixtures/simulate/scope-declares-review.yaml";

/// `simulate` over a fixture's captures, stores and access log, with `extra` arguments.
fn simulate(fx: &str, extra: &[&str]) -> common::Out {
    let (scope, stores, access, captures) = (
        p(&format!("{fx}/scope.yaml")),
        p(&format!("{fx}/stores.yaml")),
        p(&format!("{fx}/access.jsonl")),
        p(&format!("{fx}/captures.jsonl")),
    );
    let mut args = vec!["simulate", "--scope", &scope, "--stores", &stores, "--access", &access];
    args.extend_from_slice(extra);
    args.push(&captures);
    run(&args)
}

fn json(out: &common::Out) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", out.stdout, out.stderr))
}

fn fingerprints(v: &Value) -> BTreeSet<String> {
    v.as_array().unwrap().iter().map(|f| f["fingerprint"].as_str().unwrap().to_string()).collect()
}

/// (rule, target id) of each finding in a list.
fn targets(v: &Value) -> BTreeSet<(String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f["target"]["id"].as_str().unwrap().to_string()))
        .collect()
}

/// The audit of a fixture with extra arguments, as JSON.
fn audit_json(fx: &str, scope: Option<&str>, extra: &[&str]) -> Value {
    let scope = p(scope.unwrap_or(&format!("{fx}/scope.yaml")));
    let (stores, access, captures) =
        (p(&format!("{fx}/stores.yaml")), p(&format!("{fx}/access.jsonl")), p(&format!("{fx}/captures.jsonl")));
    let mut args = vec!["audit", "--scope", &scope, "--stores", &stores, "--access", &access, "--format", "json"];
    args.extend_from_slice(extra);
    args.push(&captures);
    let out = run(&args);
    assert!(out.code < 2, "{}", out.stderr);
    json(&out)
}

#[test]
fn identical_configurations_change_nothing_and_exit_0() {
    for fx in common::FIXTURES {
        let out = simulate(&format!("fixtures/{fx}"), &["--format", "json"]);
        assert_eq!(out.code, 0, "{fx}: {}", out.stderr);
        let v = json(&out);
        let s = &v["summary"];
        assert_eq!((s["added"].as_u64(), s["removed"].as_u64(), s["changed"].as_u64()), (Some(0), Some(0), Some(0)));
        assert_eq!(s["decisions_changed"], 0, "{fx}");
        assert_eq!(s["unchanged"], v["current"]["findings"], "{fx}");
        assert!(v["added"].as_array().unwrap().is_empty() && v["decisions"].as_array().unwrap().is_empty());
    }
    let human = simulate(MCI, &[]);
    assert_eq!(human.code, 0);
    insta::assert_snapshot!("identical_human", human.stdout);
}

#[test]
fn a_candidate_forbid_rule_shows_exactly_its_new_findings() {
    let forbid = p(FORBID);
    let out = simulate(MCI, &["--candidate-policies", &forbid, "--format", "json"]);
    assert_eq!(out.code, 1, "a new high finding fails the default --fail-on-new high");
    assert!(out.stderr.contains("new or worsened findings at or above high"), "{}", out.stderr);
    let v = json(&out);
    // Exactly the findings of the new rule: what an audit with that rule finds of it, nothing else.
    let with_rule = audit_json(MCI, None, &["--policies", &forbid]);
    let of_rule: Vec<Value> = with_rule["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "no-pointer-capture")
        .cloned()
        .collect();
    assert_eq!(of_rule.len(), 4);
    assert_eq!(fingerprints(&v["added"]), fingerprints(&Value::Array(of_rule.clone())));
    assert!(v["removed"].as_array().unwrap().is_empty() && v["changed"].as_array().unwrap().is_empty());
    // Each added finding is the audit's finding, as the audit reports it.
    for f in v["added"].as_array().unwrap() {
        let a = of_rule.iter().find(|a| a["fingerprint"] == f["fingerprint"]).unwrap();
        assert_eq!(f, a);
    }
    assert_eq!(v["summary"]["by_rule"]["no-pointer-capture"]["added"], 4);
    // The rule redacts pointer fields: exactly the events holding one go from allow to redact
    // (no MCI event with a pointer field has another finding).
    let decisions = v["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert_eq!((decisions[0]["from"].as_str(), decisions[0]["to"].as_str()), (Some("allow"), Some("redact")));
    let captures = std::fs::read_to_string(p("fixtures/mci/captures.jsonl")).unwrap();
    let with_pointer = captures.lines().filter(|l| l.contains("\"pointer\"")).count() as u64;
    assert!(decisions[0]["events"].as_u64().unwrap() <= with_pointer);
    assert!(decisions[0]["events"].as_u64().unwrap() > 0);
    // A gate set above the rule's severity passes.
    let crit = simulate(MCI, &["--candidate-policies", &forbid, "--fail-on-new", "critical"]);
    assert_eq!(crit.code, 0, "{}", crit.stderr);
    // The candidate's rules digest covers the policy file's path, which differs between checkouts.
    let human: String = crit
        .stdout
        .lines()
        .map(|l| match (l.starts_with("  candidate:"), l.find("; rules ")) {
            (true, Some(i)) => format!("{}; rules [digest]{}", &l[..i], &l[i + 8 + 12..]),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("forbid_pointer_human", human);
}

#[test]
fn a_candidate_scope_that_declares_a_field_removes_exactly_its_findings() {
    let declares = p(DECLARES);
    let out = simulate(MCI, &["--candidate-scope", &declares, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = json(&out);
    assert!(v["added"].as_array().unwrap().is_empty(), "{}", v["added"]);
    assert!(v["changed"].as_array().unwrap().is_empty(), "{}", v["changed"]);
    let removed = targets(&v["removed"]);
    let want: BTreeSet<(String, String)> =
        [("undisclosed-field", "hr.review.rating"), ("undisclosed-field", "hr.review.text")]
            .iter()
            .map(|(r, t)| (r.to_string(), t.to_string()))
            .collect();
    assert_eq!(removed, want);
    assert_eq!(v["summary"]["people_removed"], 3);
    assert_eq!(v["candidate"]["scope"]["file"], p(DECLARES).replace(&format!("{}/", common::root().display()), ""));
}

#[test]
fn each_side_is_exactly_the_audit_of_its_configuration() {
    // The shared parse must not change what either side decides: `removed ∪ changed ∪ unchanged`
    // is the current audit, `added ∪ changed ∪ unchanged` the candidate's.
    let forbid = p(FORBID);
    let declares = p(DECLARES);
    let out = simulate(MCI, &["--candidate-scope", &declares, "--candidate-policies", &forbid, "--format", "json"]);
    let v = json(&out);
    let current = audit_json(MCI, None, &[]);
    let candidate = audit_json(MCI, Some(DECLARES), &["--policies", &forbid]);
    let changed =
        fingerprints(&Value::Array(v["changed"].as_array().unwrap().iter().map(|c| c["after"].clone()).collect()));
    let cur = fingerprints(&current["findings"]);
    let cand = fingerprints(&candidate["findings"]);
    let unchanged = v["summary"]["unchanged"].as_u64().unwrap() as usize;
    let removed = fingerprints(&v["removed"]);
    let added = fingerprints(&v["added"]);
    assert_eq!(cur.difference(&cand).cloned().collect::<BTreeSet<_>>(), removed);
    assert_eq!(cand.difference(&cur).cloned().collect::<BTreeSet<_>>(), added);
    assert_eq!(cur.intersection(&cand).count(), unchanged + changed.len());
}

/// Per line, the decision `enforce --emit decisions` makes.
fn enforce_decisions(fx: &str, scope: &str, extra: &[&str]) -> BTreeMap<u64, String> {
    let (scope, stores, captures) = (p(scope), p(&format!("{fx}/stores.yaml")), p(&format!("{fx}/captures.jsonl")));
    let mut args = vec!["enforce", "--scope", &scope, "--stores", &stores, "--emit", "decisions", "-q"];
    args.extend_from_slice(extra);
    args.push(&captures);
    let out = run(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
        .lines()
        .map(|l| {
            let d: Value = serde_json::from_str(l).unwrap();
            (d["line"].as_u64().unwrap(), d["decision"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn decision_changes_are_what_enforce_decides_under_each_side() {
    let forbid = p(FORBID);
    let declares = p(DECLARES);
    for (label, extra_sim, cand_scope, cand_enforce) in [
        (
            "forbid",
            vec!["--candidate-policies", forbid.as_str()],
            "fixtures/mci/scope.yaml",
            vec!["--policies", forbid.as_str()],
        ),
        ("declares", vec!["--candidate-scope", declares.as_str()], DECLARES, vec![]),
        ("act-on", vec!["--candidate-act-on", "critical"], "fixtures/mci/scope.yaml", vec!["--act-on", "critical"]),
        ("monitor", vec!["--candidate-mode", "monitor"], "fixtures/mci/scope.yaml", vec!["--mode", "monitor"]),
    ] {
        let mut args = extra_sim.clone();
        args.extend(["--format", "json", "--fail-on-new", "never"]);
        let v = json(&simulate(MCI, &args));
        let before = enforce_decisions(MCI, "fixtures/mci/scope.yaml", &[]);
        let after = enforce_decisions(MCI, cand_scope, &cand_enforce);
        let mut want: BTreeMap<(String, String), u64> = BTreeMap::new();
        for (line, b) in &before {
            let a = &after[line];
            if a != b {
                *want.entry((b.clone(), a.clone())).or_default() += 1;
            }
        }
        let got: BTreeMap<(String, String), u64> = v["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                ((d["from"].as_str().unwrap().into(), d["to"].as_str().unwrap().into()), d["events"].as_u64().unwrap())
            })
            .collect();
        assert_eq!(got, want, "{label}");
        assert_eq!(v["summary"]["events_decided"].as_u64().unwrap(), before.len() as u64, "{label}");
    }
}

#[test]
fn changed_findings_show_before_and_after_and_only_worse_ones_fail() {
    // Narrower windows: `outside-window` grows (count and people), same severity and categories.
    let scope = std::fs::read_to_string(p("fixtures/mci/scope.yaml")).unwrap();
    assert!(scope.contains("Mon-Fri 09:00-17:00"), "the MCI scope's window changed; update this test");
    let narrow = tmp("narrow.yaml", &scope.replace("Mon-Fri 09:00-17:00", "Mon-Fri 10:00-16:00"));
    let out = simulate(MCI, &["--candidate-scope", &narrow, "--format", "json"]);
    assert_eq!(out.code, 0, "a change that is not worse does not fail: {}", out.stderr);
    let v = json(&out);
    let changed = v["changed"].as_array().unwrap();
    let ow = changed.iter().find(|c| c["rule"] == "outside-window").expect("outside-window changed");
    assert_eq!(ow["worse"], false);
    assert!(ow["changes"].as_array().unwrap().contains(&Value::from("count")));
    assert!(ow["after"]["count"].as_u64().unwrap() > ow["before"]["count"].as_u64().unwrap());
    assert_eq!(ow["before"]["fingerprint"], ow["after"]["fingerprint"]);
    // A detector that finds a new category in a declared field: gained a category, so worse.
    let detectors = tmp(
        "refresh.yaml",
        "version: 1\ndetectors:\n  - id: refresh_word\n    kind: value\n    entity: refresh\n    category: employment.performance\n    pattern: '\\bRefresh\\b'\n    confidence: 0.9\n",
    );
    let out = simulate(MCI, &["--candidate-detectors", &detectors, "--format", "json"]);
    assert!(out.code < 2, "{}", out.stderr);
    let v = json(&out);
    let worse: Vec<&Value> = v["changed"].as_array().unwrap().iter().filter(|c| c["worse"] == true).collect();
    let added = v["added"].as_array().unwrap();
    assert!(!worse.is_empty() || !added.is_empty(), "the detector changed nothing: {}", out.stdout);
    assert_eq!(out.code, 1, "a gained category at high fails the gate");
}

#[test]
fn sarif_holds_what_the_change_brings_and_validates() {
    let forbid = p(FORBID);
    let dir = common::tmp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let sarif = dir.join("simulate.sarif");
    let spec = format!("sarif={}", sarif.display());
    let out = simulate(MCI, &["--candidate-policies", &forbid, "--format", &spec, "--fail-on-new", "never"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    assert!(results.iter().all(|r| r["ruleId"] == "no-pointer-capture"));
    if let Some(tool) = common::sarif_multitool() {
        assert_eq!(common::sarif_problems(&tool, std::slice::from_ref(&sarif)), vec![]);
    } else {
        assert!(std::env::var_os("CI").is_none(), "CI must install the SARIF multitool (see .ci/run)");
    }
}

#[test]
fn generated_data_simulates_as_two_audits() {
    // Data the code was not shaped for: the generator's `workday` scenario, cut to one day.
    let scenario = common::scenario_cut("workday", 1);
    let dir = common::tmp_dir().join("gen-workday");
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.display().to_string();
    assert_eq!(run(&["generate", &scenario, "-o", &d]).code, 0);
    let f = |n: &str| dir.join(n).display().to_string();
    let forbid = p(FORBID);
    let (scope, stores, access, captures) = (f("scope.yaml"), f("stores.yaml"), f("access.jsonl"), f("captures.jsonl"));
    let base = ["--scope", scope.as_str(), "--stores", stores.as_str(), "--access", access.as_str()];
    let mut sim = vec!["simulate"];
    sim.extend(base);
    sim.extend([
        "--candidate-policies",
        forbid.as_str(),
        "--format",
        "json",
        "--fail-on-new",
        "never",
        captures.as_str(),
    ]);
    let v = json(&run(&sim));
    let audit = |extra: &[&str]| {
        let mut a = vec!["audit"];
        a.extend(base);
        a.extend(extra);
        a.extend(["--format", "json", "--fail-on", "never", captures.as_str()]);
        json(&run(&a))
    };
    let cur = fingerprints(&audit(&[])["findings"]);
    let cand = fingerprints(&audit(&["--policies", forbid.as_str()])["findings"]);
    assert_eq!(fingerprints(&v["added"]), cand.difference(&cur).cloned().collect());
    assert_eq!(fingerprints(&v["removed"]), cur.difference(&cand).cloned().collect());
    assert!(v["summary"]["records_read"].as_u64().unwrap() > 1000);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn simulate_errors_name_the_file() {
    let missing = p("fixtures/simulate/nope.yaml");
    let out = simulate(MCI, &["--candidate-scope", &missing]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("nope.yaml"), "{}", out.stderr);
    let bad = tmp("bad.cedar", "forbid (principal, action, resource) when { context.nope };\n");
    let out = simulate(MCI, &["--candidate-policies", &bad]);
    assert_eq!(out.code, 2);
    insta::assert_snapshot!("bad_candidate_policy", stable(&out.stderr));
    let out = simulate(MCI, &["--fail-on-new", "severe"]);
    assert_eq!(out.code, 2);
}

// ---- Scope history ----

const V04: &str = "fixtures/history/scope-2026.04.yaml";
const V05: &str = "fixtures/history/scope-2026.05.yaml";

fn history(scopes: &[&str], extra: &[&str]) -> common::Out {
    let scopes: Vec<String> = scopes.iter().map(|s| p(s)).collect();
    let (stores, captures) = (p("fixtures/history/stores.yaml"), p("fixtures/history/captures.jsonl"));
    let mut args = vec!["audit"];
    for s in &scopes {
        args.extend(["--scope", s.as_str()]);
    }
    args.extend(["--stores", stores.as_str()]);
    args.extend_from_slice(extra);
    args.push(&captures);
    run(&args)
}

#[test]
fn each_event_is_judged_by_the_version_in_force_at_its_time() {
    let out = history(&[V04, V05], &["--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v = json(&out);
    // (rule, target) → (count, example lines, scope versions)
    type Seen = (u64, Vec<String>, Vec<String>);
    let by: BTreeMap<(String, String), Seen> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let lines: Vec<String> = f["examples"].as_array().unwrap().iter().map(|e| e["line"].to_string()).collect();
            let versions: Vec<String> =
                f["scope_versions"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
            (
                (f["rule"].as_str().unwrap().into(), f["target"]["id"].as_str().unwrap().into()),
                (f["count"].as_u64().unwrap(), lines, versions),
            )
        })
        .collect();
    let get = |r: &str, t: &str| by.get(&(r.to_string(), t.to_string())).cloned();
    // Line 1 (28 April) is older than every version: the oldest judges it, and says so.
    assert_eq!(get("before-notice", "desk-agent"), Some((1, vec!["1".into()], vec!["2026.04".into()])));
    // Pointer fields: undisclosed under 2026.04 (lines 3 and 4, up to 13 May 23:59:59 Los Angeles
    // time), disclosed under 2026.05 (lines 5 and 6, from 14 May 00:00 Los Angeles time).
    assert_eq!(
        get("undisclosed-field", "input.pointer.x"),
        Some((2, vec!["3".into(), "4".into()], vec!["2026.04".into()]))
    );
    // The chat line (15 May) is judged by 2026.05.
    assert_eq!(get("never-collect", "chat.text").map(|x| x.2), Some(vec!["2026.05".to_string()]));
    // Night-time events of both periods make one finding, decided by both versions.
    assert_eq!(
        get("outside-window", "desk-agent").map(|x| x.2),
        Some(vec!["2026.04".to_string(), "2026.05".to_string()])
    );
    let h = v["scope"]["history"].as_array().unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0]["version"], "2026.04");
    assert_eq!(h[0]["effective_from"], "2026-05-01T00:00:00-07:00");
    assert_eq!(h[1]["effective_from"], "2026-05-14T00:00:00-07:00");
    assert_eq!(v["scope"]["version"], "2026.05");
    // The order versions are given in does not matter.
    let swapped = json(&history(&[V05, V04], &["--format", "json"]));
    assert_eq!(swapped["findings"], v["findings"]);
    insta::assert_snapshot!("history_human", history(&[V04, V05], &[]).stdout);
}

#[test]
fn one_version_judges_everything_and_flags_what_predates_it() {
    // Judged by 2026.05 alone: lines 1–4 predate it.
    let v = json(&history(&[V05], &["--format", "json"]));
    let bn = v["findings"].as_array().unwrap().iter().find(|f| f["rule"] == "before-notice").unwrap();
    assert_eq!(bn["count"], 4);
    assert!(bn.get("scope_versions").is_none(), "one version: no history in the report");
    assert!(v["scope"].get("history").is_none());
    // And the runtime plugin's decision denies an event from before the notice.
    let (scope, stores, captures) = (p(V05), p("fixtures/history/stores.yaml"), p("fixtures/history/captures.jsonl"));
    let out = run(&["enforce", "--scope", &scope, "--stores", &stores, "--emit", "decisions", "-q", &captures]);
    let first: Value = serde_json::from_str(out.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["decision"], "deny", "{first}");
    assert!(first["findings"].as_array().unwrap().iter().any(|f| f["rule"] == "before-notice"));
}

#[test]
fn simulate_takes_histories_on_either_side() {
    // Current: 2026.04 alone; candidate: the history. The pointer findings of 14 May onwards go.
    let (v04, v05) = (p(V04), p(V05));
    let (stores, captures) = (p("fixtures/history/stores.yaml"), p("fixtures/history/captures.jsonl"));
    let out = run(&[
        "simulate",
        "--scope",
        &v04,
        "--stores",
        &stores,
        "--candidate-scope",
        &v04,
        "--candidate-scope",
        &v05,
        "--format",
        "json",
        &captures,
    ]);
    assert!(out.code < 2, "{}", out.stderr);
    let v = json(&out);
    let changed: BTreeSet<String> =
        v["changed"].as_array().unwrap().iter().map(|c| c["target"]["id"].as_str().unwrap().to_string()).collect();
    assert!(changed.contains("input.pointer.x"), "{}", v["changed"]);
    let c = v["changed"].as_array().unwrap().iter().find(|c| c["target"]["id"] == "input.pointer.x").unwrap();
    assert_eq!((c["before"]["count"].as_u64(), c["after"]["count"].as_u64()), (Some(4), Some(2)));
    assert_eq!(v["candidate"]["scope"]["history"].as_array().unwrap().len(), 2);
}

#[test]
fn history_errors_name_the_version_and_say_how_to_fix_it() {
    let text04 = std::fs::read_to_string(p(V04)).unwrap();
    let text05 = std::fs::read_to_string(p(V05)).unwrap();
    let no_from = tmp("no-from.yaml", &text05.replace("effective_from: 2026-05-14\n", ""));
    let same = tmp("same.yaml", &text05.replace("2026-05-14", "2026-05-01"));
    let other = tmp("other.yaml", &text05.replace("program: desk", "program: other"));
    let bad = tmp("bad-from.yaml", &text05.replace("2026-05-14", "14/05/2026"));
    let dup = tmp("dup.yaml", &text05.replace("\"2026.05\"", "\"2026.04\""));
    let mut msgs = String::new();
    for (name, scopes) in [
        ("no effective_from", vec![V04.to_string(), no_from]),
        ("same time", vec![V04.to_string(), same]),
        ("other program", vec![V04.to_string(), other]),
        ("not a time", vec![V04.to_string(), bad]),
        ("same version", vec![V04.to_string(), dup]),
    ] {
        let scopes: Vec<String> = scopes.iter().map(|s| if s.starts_with('/') { s.clone() } else { p(s) }).collect();
        let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let out = history(&refs, &[]);
        assert_eq!(out.code, 2, "{name}: {}", out.stdout);
        msgs.push_str(&format!("== {name}\n{}", stable(&out.stderr)));
    }
    assert!(text04.contains("effective_from"));
    insta::assert_snapshot!("history_errors", msgs);
    // Commands that take one scope say so.
    let (v04, v05) = (p(V04), p(V05));
    let out = run(&[
        "bundle",
        "--scope",
        &v04,
        "--scope",
        &v05,
        "-o",
        &common::tmp_dir().join("b.bundle").display().to_string(),
    ]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("this command takes one scope"), "{}", out.stderr);
}
