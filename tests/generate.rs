//! `scopecheck generate`: fixed seeds give fixed bytes, whatever the thread count; memory does not
//! grow with the people; generated data audited finds exactly what was injected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{p, run, tmp_dir};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every shipped scenario (`assistant` is the long-free-text data set of docs/performance.md).
const SCENARIOS: [&str; 4] = ["mci", "workday", "compliant", "assistant"];

fn out_dir(name: &str) -> PathBuf {
    let d = tmp_dir().join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn generate(scenario: &str, dir: &Path, extra: &[&str]) {
    let d = dir.display().to_string();
    let mut args = vec!["generate", scenario, "-o", &d];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

/// A shipped scenario cut to its first two days (audits in debug builds stay quick).
fn short(s: &str) -> String {
    common::scenario_cut(s, 2)
}

fn digests(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        out.insert(name, format!("{:x} {}", Sha256::digest(&bytes), bytes.len()));
    }
    out
}

#[test]
fn fixed_seed_fixed_bytes_for_any_thread_count() {
    let mut all = BTreeMap::new();
    for s in SCENARIOS {
        let scenario = p(&format!("fixtures/scenarios/{s}.yaml"));
        let one = out_dir(&format!("{s}-1"));
        let three = out_dir(&format!("{s}-3"));
        generate(&scenario, &one, &["--threads", "1"]);
        generate(&scenario, &three, &["--threads", "3"]);
        let (a, b) = (digests(&one), digests(&three));
        assert_eq!(a, b, "{s}: 1 and 3 threads differ");
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            ["access.jsonl", "captures.jsonl", "labels.jsonl", "scope.yaml", "stores.yaml"],
            "{s}: no temporary file is left"
        );
        all.insert(s, a);
        std::fs::remove_dir_all(&three).unwrap();
        std::fs::remove_dir_all(&one).unwrap();
    }
    // The golden digests: a change here changes every data set generated from the scenarios;
    // review it as a change of the generator's output.
    insta::assert_yaml_snapshot!("digests", all);
}

#[test]
fn another_seed_other_bytes_and_gzip_holds_the_same_lines() {
    let scenario = p("fixtures/scenarios/workday.yaml");
    let plain = out_dir("workday-plain");
    let gz = out_dir("workday-gz");
    let seeded = out_dir("workday-seed");
    generate(&scenario, &plain, &[]);
    generate(&scenario, &gz, &["--gzip"]);
    generate(&scenario, &seeded, &["--seed", "99"]);
    let text = std::fs::read(plain.join("captures.jsonl")).unwrap();
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(gz.join("captures.jsonl.gz")).unwrap()),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(text, unzipped);
    assert_eq!(std::fs::read(plain.join("labels.jsonl")).unwrap(), std::fs::read(gz.join("labels.jsonl")).unwrap());
    assert_ne!(text, std::fs::read(seeded.join("captures.jsonl")).unwrap());
    for d in [plain, gz, seeded] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn values_look_like_the_real_thing() {
    let dir = out_dir("mci-values");
    generate(&short("mci"), &dir, &[]);
    let text = std::fs::read_to_string(dir.join("captures.jsonl")).unwrap();
    let mut intervals = Vec::new();
    let mut people = std::collections::BTreeSet::new();
    let mut last_by_person: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let who = v["subject"].as_str().unwrap().to_string();
        people.insert(who.clone());
        // Each person's events of a day are in time order.
        let ts = v["ts"].as_str().unwrap().to_string();
        if let Some(prev) = last_by_person.get(&who)
            && prev.get(..10) == ts.get(..10)
        {
            assert!(*prev <= ts, "{prev} then {ts}");
        }
        last_by_person.insert(who, ts);
        if let Some(ks) = v["data"]["input"]["keystrokes"].as_array() {
            intervals.extend(ks.iter().map(|k| k["interval_ms"].as_i64().unwrap()));
        }
    }
    assert_eq!(people.len(), 200);
    intervals.sort();
    let median = intervals[intervals.len() / 2];
    assert!((140..=190).contains(&median), "median inter-key interval {median} ms");
    assert!(intervals[0] >= 28 && *intervals.last().unwrap() <= 6000);
    // Transcripts have speaker turns, OCR pages the layout of their forms.
    assert!(text.contains("] Speaker") || text.contains(r"\n[00:"), "speaker-turn transcripts");
    assert!(text.contains("Form W-2 Wage and Tax Statement"));
    assert!(text.contains("MyHealth Patient Portal - Visit Summary"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// (rule, target kind, target id) → how many events, from the labels.
fn label_counts(dir: &Path) -> BTreeMap<(String, String, String), u64> {
    let mut out = BTreeMap::new();
    for l in std::fs::read_to_string(dir.join("labels.jsonl")).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let key = (
            v["rule"].as_str().unwrap().to_string(),
            v["target"]["kind"].as_str().unwrap().to_string(),
            v["target"]["id"].as_str().unwrap().to_string(),
        );
        // Store labels stand for the store's finding, whatever events it holds.
        let n = if v["file"] == "stores.yaml" { 0 } else { 1 };
        *out.entry(key).or_insert(0) += n;
    }
    out
}

#[test]
fn audits_of_generated_data_find_exactly_what_was_injected() {
    for s in SCENARIOS {
        let dir = out_dir(&format!("{s}-audit"));
        generate(&short(s), &dir, &[]);
        let f = |n: &str| dir.join(n).display().to_string();
        let (scope, stores, access, captures) =
            (f("scope.yaml"), f("stores.yaml"), f("access.jsonl"), f("captures.jsonl"));
        let out =
            run(&["audit", "--scope", &scope, "--stores", &stores, "--access", &access, "--format", "json", &captures]);
        let labels = label_counts(&dir);
        assert_eq!(out.code, if labels.is_empty() { 0 } else { 1 }, "{s}: {}", out.stderr);
        let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(report["summary"]["records_rejected"], 0, "{s}");
        let mut found = BTreeMap::new();
        for finding in report["findings"].as_array().unwrap() {
            let key = (
                finding["rule"].as_str().unwrap().to_string(),
                finding["target"]["kind"].as_str().unwrap().to_string(),
                finding["target"]["id"].as_str().unwrap().to_string(),
            );
            // Inventory findings count the events of the store; their label is the store's line.
            let n = if labels.get(&key) == Some(&0) { 0 } else { finding["count"].as_u64().unwrap() };
            found.insert(key, n);
        }
        assert_eq!(found, labels, "{s}: findings (left) against labels (right)");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Peak resident memory of `scopecheck generate` on a scenario, in KiB (GNU time).
fn peak_kib(scenario: &Path, dir: &Path) -> Option<u64> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        return None;
    }
    let out = std::process::Command::new(time)
        .args(["-f", "%M"])
        .arg(env!("CARGO_BIN_EXE_scopecheck"))
        .arg("generate")
        .arg(scenario)
        .arg("-o")
        .arg(dir)
        .args(["--threads", "2"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stderr).lines().last()?.trim().parse().ok()
}

#[test]
fn ten_times_the_people_not_ten_times_the_memory() {
    let base = std::fs::read_to_string(p("fixtures/scenarios/compliant.yaml")).unwrap();
    let one_day = base.replace("days: 7", "days: 1");
    let small = one_day.replace("count: 150", "count: 300");
    let large = one_day.replace("count: 150", "count: 3000");
    assert_ne!(small, large);
    let dir = tmp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let (s, l) = (dir.join("small.yaml"), dir.join("large.yaml"));
    std::fs::write(&s, small).unwrap();
    std::fs::write(&l, large).unwrap();
    let (Some(a), Some(b)) = (peak_kib(&s, &out_dir("mem-small")), peak_kib(&l, &out_dir("mem-large"))) else {
        assert!(std::env::var_os("CI").is_none(), "/usr/bin/time is missing (the Debian package `time`)");
        eprintln!("skipped: no /usr/bin/time");
        return;
    };
    let events = |d: &str| std::fs::read_to_string(out_dir_keep(d).join("captures.jsonl")).unwrap().lines().count();
    let (ea, eb) = (events("mem-small"), events("mem-large"));
    assert!(eb > 8 * ea, "{ea} and {eb} events");
    // People are a few bytes each; events are written as they are drawn.
    assert!(b < a * 3 / 2, "peak {a} KiB with 300 people, {b} KiB with 3,000");
    for d in ["mem-small", "mem-large"] {
        std::fs::remove_dir_all(out_dir_keep(d)).unwrap();
    }
}

fn out_dir_keep(name: &str) -> PathBuf {
    tmp_dir().join(name)
}

#[test]
fn scenario_errors_name_the_file_and_say_how_to_fix() {
    let bad = common::tmp(
        "bad-scenario.yaml",
        "name: x\nseed: 1\nstart: 2026-01-05\ndays: 1\nsource: s\nstore: s\npeople: []\ntelemetry: {}\nnotice: {program: x}\nbogus: 1\n",
    );
    let out = run(&["generate", &bad, "-o", &tmp_dir().join("never").display().to_string()]);
    assert_eq!(out.code, 2);
    let err = common::stable(&out.stderr);
    assert!(err.contains("[tmp]/bad-scenario.yaml:10:"), "{err}");
    let empty = common::tmp(
        "no-people.yaml",
        "name: x\nseed: 1\nstart: 2026-01-05\ndays: 1\nsource: s\nstore: s\npeople: []\ntelemetry: {}\nnotice: {program: x}\n",
    );
    let out = run(&["generate", &empty, "-o", &tmp_dir().join("never").display().to_string()]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("0 people"), "{}", out.stderr);
    assert!(out.stderr.contains("help:"), "{}", out.stderr);
}

#[test]
fn the_scenario_schema_is_published() {
    let out = run(&["schema", "--scenario"]);
    assert_eq!(out.code, 0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    for key in ["seed", "people", "work", "telemetry", "collector", "beyond_notice", "access", "notice"] {
        assert!(v["properties"][key].is_object(), "{key}");
    }
}

#[test]
fn labels_score_recall_one_and_no_clean_event_flagged() {
    for s in SCENARIOS {
        let dir = out_dir(&format!("{s}-score"));
        generate(&short(s), &dir, &["--gzip"]);
        let f = |n: &str| dir.join(n).display().to_string();
        let (scope, stores, access, labels, captures) =
            (f("scope.yaml"), f("stores.yaml"), f("access.jsonl"), f("labels.jsonl"), f("captures.jsonl.gz"));
        let args = ["audit", "--scope", &scope, "--stores", &stores, "--access", &access, "--labels", &labels];
        let mut json_args = args.to_vec();
        json_args.extend_from_slice(&["--format", "json", &captures]);
        let out = run(&json_args);
        assert!(out.code <= 1, "{s}: {}", out.stderr);
        let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let score = &report["score"];
        for level in ["events_total", "findings_total"] {
            assert_eq!(score[level]["false_negatives"], 0, "{s} {level}: missed {}", score["missed"]);
            assert_eq!(score[level]["false_positives"], 0, "{s} {level}: not labelled {}", score["unexpected"]);
            if s != "compliant" {
                assert_eq!(score[level]["recall"], 1.0, "{s} {level}");
                assert_eq!(score[level]["precision"], 1.0, "{s} {level}");
            }
        }
        assert_eq!(score["missed"], serde_json::json!([]));
        if s == "mci" {
            let mut human_args = args.to_vec();
            human_args.push(&captures);
            let human = run(&human_args).stdout;
            let section = human.split("score against").nth(1).unwrap();
            let section = common::stable(section).replace(&format!("{}/", dir.display()), "[dir]/");
            insta::assert_snapshot!("mci_score_human", section);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_missed_label_is_named() {
    let dir = out_dir("workday-missed");
    generate(&short("workday"), &dir, &[]);
    let f = |n: &str| dir.join(n).display().to_string();
    // A label for a line on which nothing fires: scored as missed, and listed.
    let mut labels = std::fs::read_to_string(dir.join("labels.jsonl")).unwrap();
    labels.push_str(r#"{"file":"captures.jsonl","line":1,"rule":"never-collect","target":{"kind":"field","id":"app.name"},"cause":"test"}"#);
    labels.push('\n');
    std::fs::write(dir.join("labels.jsonl"), labels).unwrap();
    let out = run(&[
        "audit",
        "--scope",
        &f("scope.yaml"),
        "--labels",
        &f("labels.jsonl"),
        "--format",
        "json",
        &f("captures.jsonl"),
    ]);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let missed = report["score"]["missed"].as_array().unwrap();
    assert!(missed.iter().any(|m| m["line"] == 1 && m["target"]["id"] == "app.name"), "{missed:?}");
    assert!(report["score"]["events_total"]["recall"].as_f64().unwrap() < 1.0);
}

#[test]
fn audits_of_generated_data_are_the_same_on_any_number_of_threads() {
    // Data the code was not shaped for, large enough for many batches (4,096 lines each), with
    // gzip for one run: one reader feeding the deciders either way.
    let dir = out_dir("threads-mci");
    generate(&short("mci"), &dir, &[]);
    let f = |n: &str| dir.join(n).display().to_string();
    let (scope, stores, access, captures) = (f("scope.yaml"), f("stores.yaml"), f("access.jsonl"), f("captures.jsonl"));
    let lines = std::fs::read_to_string(&captures).unwrap().lines().count();
    assert!(lines > 3 * 4096, "{lines} lines: too few for several batches");
    let gz = dir.join("captures.jsonl.gz");
    {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
        enc.write_all(&std::fs::read(&captures).unwrap()).unwrap();
        enc.finish().unwrap();
    }
    let gz = gz.display().to_string();
    let audit = |threads: &str, caps: &str, format: &str| {
        let out = run(&[
            "audit",
            "--scope",
            &scope,
            "--stores",
            &stores,
            "--access",
            &access,
            "--threads",
            threads,
            "--format",
            format,
            "--fail-on",
            "never",
            caps,
        ]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
    };
    let json = |threads: &str, caps: &str| {
        let mut v: serde_json::Value = serde_json::from_str(&audit(threads, caps, "json")).unwrap();
        v.as_object_mut().unwrap().remove("stats");
        v
    };
    let one = json("1", &captures);
    assert!(one["findings"].as_array().unwrap().len() > 5);
    for threads in ["2", "3", "7"] {
        assert!(json(threads, &captures) == one, "{threads} threads differ from one");
    }
    let one_gz = json("1", &gz);
    assert!(json("3", &gz) == one_gz, "gzip, 3 threads differ from one");
    // The same findings as the plain file, which the examples name by its own name.
    let gz_findings = one_gz["findings"].to_string().replace("captures.jsonl.gz", "captures.jsonl");
    let plain_findings = one["findings"].to_string();
    assert!(gz_findings == plain_findings, "gzip and plain input differ");
    // What a person and code scanning read: the same bytes.
    assert!(audit("3", &captures, "human") == audit("1", &captures, "human"), "human differs");
    assert!(audit("3", &captures, "sarif") == audit("1", &captures, "sarif"), "sarif differs");
    let _ = std::fs::remove_dir_all(&dir);
}
