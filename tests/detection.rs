//! Detection quality: span-level scores on the bundled Presidio corpus and
//! our monitoring corpus, clean telemetry, `detectors scan`/`eval` contracts,
//! the field-name table and custom detectors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{p, root, run, tmp};
// The types `overall` covers, as the library defines them.
use scopecheck::detect::score::PATTERN_TYPES;

fn eval_json(extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["detectors", "eval", "--format", "json"];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

fn assert_thresholds(v: &serde_json::Value, what: &str) {
    let check = |name: &str, m: &serde_json::Value| {
        let pr = m["precision"].as_f64().unwrap_or(0.0);
        let rc = m["recall"].as_f64().unwrap_or(0.0);
        assert!(pr >= 0.95, "{what}: {name} precision {pr} < 0.95 ({m})");
        assert!(rc >= 0.90, "{what}: {name} recall {rc} < 0.90 ({m})");
    };
    check("overall", &v["overall"]);
    for t in PATTERN_TYPES {
        let m = &v["by_type"][t];
        // A type the corpus does not label has nothing to score.
        if m.is_null() || m["tp"].as_u64().unwrap() + m["fn"].as_u64().unwrap() == 0 {
            assert!(m.is_null() || m["fp"].as_u64() == Some(0), "{what}: {t} false positives: {m}");
            continue;
        }
        check(t, m);
    }
}

#[test]
fn presidio_dev_corpus_meets_thresholds() {
    let v = eval_json(&[]);
    assert_eq!(v["texts"], 750);
    assert_thresholds(&v, "presidio");
    // Stricter matching must not collapse either.
    assert_thresholds(&eval_json(&["--match", "exact"]), "presidio exact");
}

#[test]
fn monitoring_corpus_meets_thresholds() {
    let v = eval_json(&["--corpus", &p("tests/corpus/monitoring.json")]);
    assert_thresholds(&v, "monitoring");
    for t in
        ["CHAT", "TRANSCRIPT", "HEALTH", "TAX_FORM", "PERFORMANCE_REVIEW", "SECRET", "PASSWORD", "JWT", "PRIVATE_KEY"]
    {
        let m = &v["by_type"][t];
        assert!(m["precision"].as_f64().unwrap() >= 0.9 && m["recall"].as_f64().unwrap() >= 0.9, "{t}: {m}");
    }
}

#[test]
fn monitoring_corpus_telemetry_and_negatives_stay_clean() {
    let corpus: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(p("tests/corpus/monitoring.json")).unwrap()).unwrap();
    let d = scopecheck::detect::Detectors::builtin().unwrap();
    let mut n = 0;
    for r in &corpus {
        let kind = r["metadata"]["kind"].as_str().unwrap();
        if kind == "telemetry" || kind == "negative" {
            n += 1;
            let text = r["full_text"].as_str().unwrap();
            assert!(d.scan(text).is_empty(), "{kind} {text:?}: {:?}", d.scan(text));
        }
    }
    assert!(n >= 50, "{n}");
}

#[test]
fn eval_json_has_the_contract_shape() {
    let v = eval_json(&[]);
    for k in ["precision", "recall", "f2"] {
        assert!(v["overall"][k].is_f64(), "overall.{k}: {}", v["overall"]);
    }
    let by_type = v["by_type"].as_object().unwrap();
    for t in PATTERN_TYPES.iter().chain(&["PERSON", "STREET_ADDRESS", "DATE_TIME", "ZIP_CODE"]) {
        let m = &by_type[*t];
        for k in ["precision", "recall", "f2", "tp", "fp", "fn"] {
            assert!(m.get(k).is_some(), "{t}.{k} missing: {m}");
        }
    }
    // overall is the sum over the pattern types.
    let tp: u64 = PATTERN_TYPES.iter().map(|t| by_type[*t]["tp"].as_u64().unwrap()).sum();
    assert_eq!(v["overall"]["tp"].as_u64().unwrap(), tp);
}

#[test]
fn eval_human_snapshot() {
    let out = run(&["detectors", "eval"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("eval_presidio_human", out.stdout);
    let out = run(&["detectors", "eval", "--corpus", &p("tests/corpus/monitoring.json")]);
    insta::assert_snapshot!("eval_monitoring_human", out.stdout);
}

#[test]
fn scan_positions_are_code_points() {
    let text = "Grüße 😀 von José: jose.garcia@example.com";
    let file = tmp("nonascii.txt", &format!("{text}\n\nno pii here\n"));
    let out = run(&["detectors", "scan", &file]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<serde_json::Value> = out.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "blank lines are not texts: {}", out.stdout);
    assert_eq!(lines[0]["line"], 1);
    let span = &lines[0]["spans"][0];
    assert_eq!(span["entity_type"], "EMAIL_ADDRESS");
    let (s, e) = (span["start_position"].as_u64().unwrap() as usize, span["end_position"].as_u64().unwrap() as usize);
    let got: String = text.chars().skip(s).take(e - s).collect();
    assert_eq!(got, "jose.garcia@example.com");
    assert_eq!(s, 18);
    for k in ["confidence", "detector", "category"] {
        assert!(span.get(k).is_some(), "{k}: {span}");
    }
    assert_eq!(lines[1]["spans"].as_array().unwrap().len(), 0);

    // Presidio input: same positions as the labels.
    let rec = serde_json::json!([{"full_text": text, "spans": [
        {"entity_type": "EMAIL_ADDRESS", "start_position": 18, "end_position": 41}]}]);
    let out = run(&["detectors", "scan", &tmp("c.json", &rec.to_string()), "--format", "presidio"]);
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(v["index"], 0);
    assert_eq!(v["spans"][0]["start_position"], 18);
    assert_eq!(v["spans"][0]["end_position"], 41);
}

/// Zero detections on the keystroke, pointer and UI action/element values of
/// every fixture.
#[test]
fn fixture_telemetry_is_clean() {
    fn walk(v: &serde_json::Value, path: &str, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    walk(x, &format!("{path}.{k}"), out);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, &format!("{path}[]"), out)),
            serde_json::Value::String(s) => out.push((path.to_string(), s.clone())),
            other => out.push((path.to_string(), other.to_string())),
        }
    }
    let d = scopecheck::detect::Detectors::builtin().unwrap();
    let (mut scanned, mut planted) = (0, 0);
    for fx in std::fs::read_dir(root().join("fixtures")).unwrap() {
        let f = fx.unwrap().path().join("captures.jsonl");
        let Ok(text) = std::fs::read_to_string(&f) else { continue };
        for line in text.lines() {
            let Ok(ev) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            let mut vals = Vec::new();
            walk(&ev["data"], "", &mut vals);
            for (path, v) in vals {
                let telemetry = ["keystroke", "pointer", "mouse", "cursor", ".ui."].iter().any(|k| path.contains(k));
                if !telemetry {
                    continue;
                }
                let hits = d.scan(&v);
                // UI labels carry on-screen text, and fixtures/mci plants
                // leaks there on purpose (a card number, an email) that the
                // audit must report; they are checked to be found, not clean.
                if path == ".ui.label" {
                    planted += usize::from(!hits.is_empty());
                    continue;
                }
                scanned += 1;
                assert!(hits.is_empty(), "{}: {path} = {v:?}: {hits:?}", f.display());
            }
        }
    }
    assert!(scanned > 100, "only {scanned} telemetry values found");
    assert!(planted >= 1, "the leaks planted in fixtures/mci UI labels were not found");
}

#[test]
fn field_name_table() {
    let d = scopecheck::detect::Detectors::builtin().unwrap();
    let table = std::fs::read_to_string(p("tests/corpus/field_names.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut rows = 0;
    for line in table.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let (path, want) = line.split_once('\t').unwrap_or_else(|| panic!("bad row {line:?}"));
        rows += 1;
        let got: Vec<String> = d.classify_name(path).into_iter().map(|h| h.category).collect();
        let ok = if want == "-" { got.is_empty() } else { got.iter().any(|c| c == want) };
        if !ok {
            failures.push(format!("{path}: want {want}, got {got:?}"));
        }
    }
    assert!(rows >= 60, "{rows}");
    assert!(failures.is_empty(), "{} of {rows} rows fail:\n{}", failures.len(), failures.join("\n"));
}

const BADGE_YAML: &str = r#"version: 1
detectors:
  - id: employee_badge
    kind: value
    entity: EMPLOYEE_BADGE
    category: employment.employee_id
    pattern: '\bEMP-[0-9]{6}\b'
    confidence: 0.9
    context: [badge]
    description: Employee badge id (EMP-123456).
"#;

#[test]
fn custom_detector_is_listed_and_fires_in_scan_and_audit() {
    let yaml = tmp("badge.yaml", BADGE_YAML);
    let out = run(&["detectors", "list", "--detectors", &yaml]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.lines().any(|l| l.starts_with("employee_badge") && l.contains("EMPLOYEE_BADGE")),
        "{}",
        out.stdout
    );

    let file = tmp("badge.txt", "badge EMP-204518 swiped at door 3\nEMP-12 is not one\n");
    let out = run(&["detectors", "scan", &file, "--detectors", &yaml]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first: serde_json::Value = serde_json::from_str(out.stdout.lines().next().unwrap()).unwrap();
    let span = first["spans"].as_array().unwrap().iter().find(|s| s["entity_type"] == "EMPLOYEE_BADGE").unwrap();
    assert_eq!((span["start_position"].as_u64(), span["end_position"].as_u64()), (Some(6), Some(16)));
    assert_eq!(span["detector"], "employee_badge");
    assert!(!out.stdout.lines().nth(1).unwrap().contains("EMPLOYEE_BADGE"));
    // Without the file the badge is not found.
    let out = run(&["detectors", "scan", &file]);
    assert!(!out.stdout.contains("EMPLOYEE_BADGE"), "{}", out.stdout);

    // audit --detectors: a badge id in an undeclared free-text field is classified by the custom detector.
    let scope = p("fixtures/clean/scope.yaml");
    let captures = tmp(
        "badge-captures.jsonl",
        r#"{"ts":"2026-05-12T10:00:00-07:00","program":"ux-telemetry","subject":"u_3f9a1c","subject_kind":"employee","source":"web-sdk","store":"ux-events","data":{"door":{"log":"EMP-204518"}}}
"#,
    );
    let with =
        run(&["audit", "--scope", &scope, "--detectors", &yaml, "--format", "json", "--fail-on", "never", &captures]);
    let without = run(&["audit", "--scope", &scope, "--format", "json", "--fail-on", "never", &captures]);
    assert_eq!(with.code, 0, "{}", with.stderr);
    assert!(with.stdout.contains("employment.employee_id"), "{}", with.stdout);
    assert!(!without.stdout.contains("employment.employee_id"), "{}", without.stdout);
}
