//! The subject access report (`audit --person ID`): one person's captures, with their own values,
//! and nothing of anyone else's (no other id, no other value, no count about another person).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{Out, audit_fixture, p, run, stable, tmp, tmp_dir};
use serde_json::Value;
use std::collections::BTreeSet;

/// The person followed in the mci fixture: a contractor with the most events, one of them a
/// meeting transcript written to an undeclared, unencrypted store.
const PERSON: &str = "c-22530";

/// Every string leaf of a JSON value.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// The events of a capture file, as JSON (unreadable lines left out).
fn events(file: &str) -> Vec<Value> {
    std::fs::read_to_string(file).unwrap().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn subject_of(e: &Value) -> Option<String> {
    match &e["subject"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// (other people's ids, other people's distinctive string values, this person's string values).
fn split_by_person(file: &str, person: &str) -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
    let (mut ids, mut theirs, mut mine) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for e in events(file) {
        let mut values = Vec::new();
        strings(&e["data"], &mut values);
        match subject_of(&e) {
            Some(s) if s == person => mine.extend(values),
            Some(s) => {
                ids.insert(s);
                theirs.extend(values);
            }
            None => theirs.extend(values),
        }
    }
    // Distinctive: not also a value of this person's, and long enough not to be an ordinary word
    // of the page (`click` is everyone's; `btn-refresh` is someone's).
    let distinctive = theirs.into_iter().filter(|v| v.chars().count() >= 6 && !mine.contains(v)).collect();
    (ids, distinctive, mine)
}

fn person_report(fx: &str, person: &str, format: &str) -> Out {
    audit_fixture(fx, &["--person", person, "--format", format])
}

#[test]
fn the_report_shows_one_person_and_nobody_else() {
    let (others, distinctive, mine) = split_by_person(&p("fixtures/mci/captures.jsonl"), PERSON);
    assert!(others.len() > 20, "the fixture has many people");
    assert!(distinctive.len() > 10, "other people have values of their own: {distinctive:?}");
    for format in ["json", "html", "human"] {
        let out = person_report("mci", PERSON, format);
        assert_eq!(out.code, 1, "{format}: findings at or above high concern this person: {}", out.stderr);
        let text = &out.stdout;
        assert!(text.contains(PERSON), "{format}: names the person");
        for id in &others {
            assert!(!text.contains(id.as_str()), "{format}: another person's id {id} is in the report");
        }
        for v in &distinctive {
            let short: String = v.chars().take(40).collect();
            assert!(!text.contains(short.as_str()), "{format}: another person's value {v:?} is in the report");
        }
    }
    // Their own values are shown (the JSON and the page).
    let json = person_report("mci", PERSON, "json").stdout;
    let html = person_report("mci", PERSON, "html").stdout;
    for own in ["btn-share", "nav-settings", "input-search"] {
        assert!(mine.contains(own), "{own} is a value of theirs");
        assert!(json.contains(&format!("\"{own}\"")), "the JSON shows their value {own}");
        assert!(html.contains(&format!("<code>{own}</code>")), "the page shows their value {own}");
    }
    // The transcript of their meeting, clipped.
    assert!(json.contains("[00:00:09] Sam: Thanks for making time."), "their transcript is shown");
    assert!(html.contains("[00:00:09] Sam: Thanks for making time."), "their transcript is shown");
    assert!(html.contains("id=\"one-person\""), "the page says it holds one person's data");
}

#[test]
fn counts_add_up_and_other_people_are_one_number() {
    let out = person_report("mci", PERSON, "json");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let s = &v["summary"];
    let theirs =
        events(&p("fixtures/mci/captures.jsonl")).iter().filter(|e| subject_of(e).as_deref() == Some(PERSON)).count()
            as u64;
    assert_eq!(s["events"], theirs);
    assert_eq!(v["found"], true);
    assert_eq!(v["report"], "subject_access");
    assert_eq!(v["banner"].as_str().unwrap(), scopecheck::person::BANNER);
    let n = |k: &str| s[k].as_u64().unwrap();
    assert_eq!(n("records_read"), n("records_evaluated") + n("records_rejected"), "nothing lost");
    assert_eq!(n("other_events"), n("records_evaluated") - n("events"));
    // Per-day counts add up to their events.
    let days: u64 = v["timeline"]["days"].as_object().unwrap().values().map(|d| d["captures"].as_u64().unwrap()).sum();
    assert_eq!(days, theirs);
    assert_eq!(n("days"), v["timeline"]["days"].as_object().unwrap().len() as u64);
    // No count about other people: no people_affected, no audit-wide timeline or findings.
    assert!(!out.stdout.contains("people_affected"));
    assert!(!out.stdout.contains("people_captured"));
    // Each finding counts their events only.
    for f in v["findings"].as_array().unwrap() {
        assert!(f["count"].as_u64().unwrap() <= theirs.max(n("access_entries")), "{f}");
    }
    // The transcript went to the undeclared, unencrypted scratch store: findings say so.
    let rules: BTreeSet<&str> = v["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert!(rules.contains("never-collect"), "{rules:?}");
    assert!(rules.contains("undeclared-store"), "{rules:?}");
    let stores: Vec<&str> = v["stores"].as_array().unwrap().iter().map(|s| s["store"].as_str().unwrap()).collect();
    assert_eq!(stores, ["mci-raw", "mci-scratch"]);
}

#[test]
fn json_snapshot_of_one_person() {
    let out = person_report("mci", PERSON, "json");
    insta::assert_snapshot!("person_mci_json", out.stdout);
}

#[test]
fn html_snapshot_of_one_person() {
    let out = person_report("mci", PERSON, "html");
    let lower = out.stdout.to_ascii_lowercase();
    for banned in ["<script", "<img", "<link", "<iframe", "src=", "@import"] {
        assert!(!lower.contains(banned), "the page holds {banned}");
    }
    assert!(out.stdout.contains("Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-"));
    insta::assert_snapshot!("person_mci_html", out.stdout);
}

#[test]
fn human_summary_of_one_person() {
    let out = person_report("mci", PERSON, "human");
    insta::assert_snapshot!("person_mci_human", out.stdout);
}

#[test]
fn an_unknown_person_gets_an_empty_report_and_exit_0() {
    let out = person_report("mci", "e-00000", "json");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["found"], false);
    assert_eq!(v["summary"]["events"], 0);
    assert_eq!(v["fields"].as_array().unwrap().len(), 0);
    assert_eq!(v["access"].as_array().unwrap().len(), 0);
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
    insta::assert_snapshot!("person_unknown_json", out.stdout);
    let html = person_report("mci", "e-00000", "html");
    assert_eq!(html.code, 0);
    assert!(html.stdout.contains("id=\"not-found\""));
    assert!(html.stdout.contains("No capture names <code>e-00000</code>"));
    let human = person_report("mci", "e-00000", "human");
    assert!(human.stdout.contains("No capture names this person"), "{}", human.stdout);
}

/// A small program: two stores, an integer subject, access entries before, after, elsewhere.
const SCOPE: &str = "program: tiny
subjects: [employee]
collect:
  - field: ui.label
    category: behavior.app_interaction
    purposes: [support]
stores:
  - id: main
    encryption: at_rest
    retention_days: 30
access:
  - role: support
    purposes: [support]
";

fn tiny_captures() -> String {
    [
        r#"{"ts":"2026-05-11T10:00:00Z","program":"tiny","subject":10428,"subject_kind":"employee","store":"main","data":{"ui":{"label":"Mine-first"}}}"#,
        r#"{"ts":"2026-05-12T10:00:00Z","program":"tiny","subject":"10428","subject_kind":"employee","store":"main","data":{"ui":{"label":"Mine-second"},"chat":{"text":"my own words here"}}}"#,
        r#"{"ts":"2026-05-12T11:00:00Z","program":"tiny","subject":"10429","subject_kind":"employee","store":"main","data":{"ui":{"label":"Neighbour-label"},"chat":{"text":"someone else's words"}}}"#,
        r#"{"ts":"2026-05-12T12:00:00Z","program":"tiny","subject":104280,"subject_kind":"employee","store":"other","data":{"ui":{"label":"Lookalike-label"}}}"#,
        r#"{"ts":"2026-05-12T12:30:00Z","program":"tiny","subject":"10428","subject_kind":"employee","store":"main","data":{"auth":{"password":"hunter2-Secret!"}}}"#,
        r#"{"ts":"not a time","program":"tiny","subject":"10428","data":{}}"#,
    ]
    .join("\n")
        + "\n"
}

fn tiny_access() -> String {
    [
        // Before their first capture: not about them.
        r#"{"ts":"2026-05-10T09:00:00Z","actor":"u-1","role":"support","store":"main","fields":["ui.label"],"purpose":"support"}"#,
        // After it, a field of theirs: about them.
        r#"{"ts":"2026-05-11T12:00:00Z","actor":"u-2","role":"support","store":"main","fields":["ui.label"],"purpose":"support"}"#,
        // Before their first chat capture (the 12th): the chat field is not theirs yet.
        r#"{"ts":"2026-05-11T13:00:00Z","actor":"u-3","role":"support","store":"main","fields":["chat.text"],"purpose":"support"}"#,
        // Another store: not about them.
        r#"{"ts":"2026-05-13T09:00:00Z","actor":"u-4","role":"support","store":"other","fields":["ui.label"],"purpose":"support"}"#,
        // A field they do not have: not about them.
        r#"{"ts":"2026-05-13T09:00:00Z","actor":"u-5","role":"support","store":"main","fields":["screen.ocr_text"],"purpose":"support"}"#,
        // The whole store, for another purpose: about them, and purpose creep.
        r#"{"ts":"2026-05-13T10:00:00Z","actor":"u-6","role":"support","store":"main","purpose":"marketing"}"#,
        // A pattern over their chat: about them.
        r#"{"ts":"2026-05-13T11:00:00Z","actor":"u-7","role":"support","store":"main","fields":["chat.*"],"purpose":"support"}"#,
    ]
    .join("\n")
        + "\n"
}

fn tiny(person: &str, format: &str, extra: &[&str]) -> Out {
    let scope = tmp("tiny-scope.yaml", SCOPE);
    let captures = tmp("tiny-captures.jsonl", &tiny_captures());
    let access = tmp("tiny-access.jsonl", &tiny_access());
    let mut args = vec!["audit", "--scope", &scope, "--access", &access, "--person", person, "--format", format];
    args.extend_from_slice(extra);
    args.push(&captures);
    run(&args)
}

#[test]
fn an_integer_subject_is_the_same_person_as_its_text() {
    let out = tiny("10428", "json", &[]);
    assert!(out.code <= 1, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["summary"]["events"], 3, "10428 and \"10428\", not 104280");
    assert_eq!(v["summary"]["records_rejected"], 1, "the bad line is counted, whoever's it is");
    let json = &out.stdout;
    for own in ["Mine-first", "Mine-second", "my own words here"] {
        assert!(json.contains(own), "{own}");
    }
    for other in ["Neighbour-label", "someone else's words", "Lookalike-label", "10429", "104280"] {
        assert!(!json.contains(other), "{other} is someone else's");
    }
    // A captured password is never shown, not even to its owner.
    assert!(!json.contains("hunter2"), "the password is withheld");
    let pw = v["fields"].as_array().unwrap().iter().find(|f| f["path"] == "auth.password").unwrap();
    assert!(pw["values_withheld"].is_string(), "{pw}");
    assert_eq!(pw["values"].as_array().unwrap().len(), 0);
    // The same person given as a number on the command line and in the other report.
    let html = tiny("10428", "html", &[]).stdout;
    assert!(html.contains("Mine-second") && !html.contains("Neighbour-label") && !html.contains("hunter2"));
}

#[test]
fn access_entries_that_concern_the_person() {
    let out = tiny("10428", "json", &[]);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let actors: Vec<&str> = v["access"].as_array().unwrap().iter().map(|a| a["actor"].as_str().unwrap()).collect();
    assert_eq!(actors, ["u-2", "u-6", "u-7"], "{}", out.stdout);
    assert_eq!(v["summary"]["access_entries"], 3);
    let creep = v["access"].as_array().unwrap().iter().find(|a| a["actor"] == "u-6").unwrap();
    assert_eq!(creep["findings"], serde_json::json!(["purpose-creep"]));
    assert_eq!(creep["fields"], serde_json::json!(["auth.password", "chat.text", "ui.label"]), "the whole store");
    let chat = v["access"].as_array().unwrap().iter().find(|a| a["actor"] == "u-7").unwrap();
    assert_eq!(chat["fields"], serde_json::json!(["chat.text"]));
    let f = v["findings"].as_array().unwrap().iter().find(|f| f["rule"] == "purpose-creep").unwrap();
    assert_eq!(f["count"], 1, "one entry about them: {f}");
    insta::assert_snapshot!("person_tiny_json", stable(&out.stdout));
}

#[test]
fn other_formats_and_evidence_in_clear_are_refused() {
    for (extra, what) in [
        (&["--format", "sarif"][..], "--person writes human, json or html, not sarif"),
        (&["--format", "json", "--format", "junit=x.xml"][..], "not junit"),
        (&["--format", "json", "--show-evidence"][..], "--show-evidence cannot be used with --person"),
    ] {
        let mut args = vec!["--person", PERSON];
        args.extend_from_slice(extra);
        let out = audit_fixture("mci", &args);
        assert_eq!(out.code, 2, "{extra:?}");
        assert!(out.stderr.contains(what), "{extra:?}: {}", out.stderr);
        assert!(out.stderr.contains("help: "), "{}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    let out = audit_fixture("mci", &["--person", " "]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--person: the person's id is empty"), "{}", out.stderr);
}

#[cfg(unix)]
#[test]
fn the_report_file_is_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(tmp_dir()).unwrap();
    for format in ["json", "html"] {
        let file = tmp_dir().join(format!("person.{format}"));
        let _ = std::fs::remove_file(&file);
        let spec = format!("{format}={}", file.display());
        let out = audit_fixture("mci", &["--person", PERSON, "--format", &spec]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{format}");
    }
}

#[test]
fn a_baseline_marks_the_persons_findings_as_accepted() {
    let baseline = tmp_dir().join("person-baseline.yaml");
    std::fs::create_dir_all(tmp_dir()).unwrap();
    let _ = std::fs::remove_file(&baseline);
    let b = baseline.display().to_string();
    let made =
        audit_fixture("mci", &["--baseline", &b, "--update-baseline", "--today", "2026-12-02", "--format", "json"]);
    assert!(made.code <= 1, "{}", made.stderr);
    let out =
        audit_fixture("mci", &["--person", PERSON, "--baseline", &b, "--today", "2026-12-03", "--format", "json"]);
    assert_eq!(out.code, 0, "every finding of theirs is accepted: {}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    for f in v["findings"].as_array().unwrap() {
        assert_eq!(f["baselined"], true, "{f}");
        assert_eq!(f["baseline"]["status"], "accepted");
    }
    let html =
        audit_fixture("mci", &["--person", PERSON, "--baseline", &b, "--today", "2026-12-03", "--format", "html"]);
    assert!(html.stdout.contains("accepted by the organisation until 2027-03-02"));
    // Expired: failing again.
    let late =
        audit_fixture("mci", &["--person", PERSON, "--baseline", &b, "--today", "2027-06-01", "--format", "json"]);
    assert_eq!(late.code, 1);
    assert!(late.stdout.contains("\"status\": \"expired\""));
    // --update-baseline is the organisation's, not a person report's.
    let refused = audit_fixture("mci", &["--person", PERSON, "--baseline", &b, "--update-baseline"]);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("--update-baseline cannot be used with --person"), "{}", refused.stderr);
}
