//! Data-driven checks of every fixture folder against its `expected.json` (written from the
//! fixture's story, not from scopecheck's output). A new folder under `fixtures/` with an
//! `expected.json` is checked without a new test.
//!
//! - every `must` finding is reported, on exactly the capture lines it lists;
//! - every `must_not` is absent (by rule, target and, where given, line);
//! - `outside-window` fires on exactly the union of the listed lines;
//! - every built-in rule fires in some fixture;
//! - reports merge: the merged report of any split of a fixture is the report of the whole;
//! - fingerprints do not move when records are reordered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use proptest::prelude::*;
use scopecheck::audit::InputKind;
use scopecheck::eval::{Evaluator, Hit};
use scopecheck::observe::parse_capture;
use scopecheck::report::Report;
use scopecheck::target::{Target, TargetKind};
use scopecheck::{Setup, Source};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `fixtures/*/expected.json`, by folder name.
fn fixtures() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join("fixtures"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("expected.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    assert!(out.len() >= 6, "fixtures: {out:?}");
    out
}

/// What a finding in `expected.json` names: one of these keys.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Expect {
    rule: String,
    field: Option<String>,
    store: Option<String>,
    role: Option<String>,
    subject_kind: Option<String>,
    #[allow(dead_code)]
    why: String,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    captures_lines: Vec<u64>,
    #[serde(default)]
    access_lines: Vec<u64>,
    purpose: Option<String>,
    /// People the finding concerns, when the fixture states it.
    people_affected: Option<u64>,
    // Explanations for readers (the README table), not checked.
    #[allow(dead_code)]
    declared: Option<Value>,
    #[allow(dead_code)]
    observed: Option<Value>,
    #[allow(dead_code)]
    window: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    never: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    fields: Vec<String>,
}

impl Expect {
    fn target(&self) -> Option<Target> {
        target_of(&self.field, &self.store, &self.role, &self.subject_kind)
    }
}

fn target_of(
    field: &Option<String>,
    store: &Option<String>,
    role: &Option<String>,
    kind: &Option<String>,
) -> Option<Target> {
    [(field, TargetKind::Field), (store, TargetKind::Store), (role, TargetKind::Role), (kind, TargetKind::SubjectKind)]
        .into_iter()
        .find_map(|(v, k)| v.as_ref().map(|id| Target::new(k, id.clone())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MustNot {
    what: String,
    rules: Vec<String>,
    field: Option<String>,
    store: Option<String>,
    role: Option<String>,
    subject_kind: Option<String>,
    #[serde(default)]
    fields: Vec<String>,
    #[serde(default)]
    captures_lines: Vec<u64>,
    purpose: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectedLine {
    line: u64,
    #[allow(dead_code)]
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Malformed {
    file: String,
    good_lines: Vec<u64>,
    rejected: Vec<RejectedLine>,
    findings_from_good_lines: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    fixture: String,
    program: String,
    #[allow(dead_code)]
    counting: String,
    must: Vec<Expect>,
    may: Vec<Expect>,
    must_not: Vec<MustNot>,
    captures_malformed: Option<Malformed>,
}

fn expected(fx: &str) -> Expected {
    let path = root().join("fixtures").join(fx).join("expected.json");
    serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn setup(fx: &str) -> Setup {
    let dir = root().join("fixtures").join(fx);
    let stores = dir.join("stores.yaml");
    Setup {
        scope: Some(Source::new(format!("fixtures/{fx}/scope.yaml"), read(&dir.join("scope.yaml")))),
        stores: stores.is_file().then(|| Source::new(format!("fixtures/{fx}/stores.yaml"), read(&stores))),
        ..Setup::default()
    }
}

fn capture_lines(fx: &str) -> Vec<String> {
    read(&root().join("fixtures").join(fx).join("captures.jsonl")).lines().map(str::to_string).collect()
}

fn access_lines(fx: &str) -> Vec<String> {
    let p = root().join("fixtures").join(fx).join("access.jsonl");
    if p.is_file() { read(&p).lines().map(str::to_string).collect() } else { Vec::new() }
}

/// Audits the given (1-based line number, text) pairs of captures and access log.
fn audit_lines(fx: &str, captures: &[(u64, String)], access: &[(u64, String)]) -> Report {
    let mut a = setup(fx).auditor().unwrap();
    let f = a.add_file("captures.jsonl", InputKind::Captures);
    for (n, line) in captures {
        a.capture_line(f, *n, line).unwrap();
    }
    let f = a.add_file("access.jsonl", InputKind::Access);
    for (n, line) in access {
        a.access_line(f, *n, line).unwrap();
    }
    a.finish().unwrap()
}

fn numbered(lines: &[String]) -> Vec<(u64, String)> {
    lines.iter().enumerate().map(|(i, l)| (i as u64 + 1, l.clone())).collect()
}

fn audit(fx: &str) -> Report {
    audit_lines(fx, &numbered(&capture_lines(fx)), &numbered(&access_lines(fx)))
}

/// Hits of each capture line, evaluated one by one (1-based line numbers).
fn hits_per_line(fx: &str) -> BTreeMap<u64, Vec<Hit>> {
    let engine = Arc::new(setup(fx).build().unwrap());
    let mut ev = Evaluator::new(engine).unwrap();
    let mut out = BTreeMap::new();
    for (i, line) in capture_lines(fx).iter().enumerate() {
        let cap = parse_capture(line).unwrap();
        let outcome = ev.evaluate(&cap).unwrap_or_else(|_| panic!("{fx}: line {} not evaluated", i + 1));
        out.insert(i as u64 + 1, outcome.hits);
    }
    out
}

fn hit_matches(h: &Hit, rule: &str, target: Option<&Target>) -> bool {
    (rule == "*" || h.rule_id == rule) && target.is_none_or(|t| h.target == *t)
}

/// What is wrong with a fixture's report, if anything.
fn check_fixture(fx: &str) -> Vec<String> {
    let exp = expected(fx);
    let report = audit(fx);
    let per_line = hits_per_line(fx);
    let mut problems = Vec::new();
    if exp.fixture != fx || exp.program != report.scope.program {
        problems.push(format!("expected.json names fixture {} / program {}", exp.fixture, exp.program));
    }
    let mut window_lines = BTreeSet::new();
    for m in &exp.must {
        let rule = m.rule.as_str();
        if rule == "outside-window" {
            window_lines.extend(m.captures_lines.iter().copied());
            continue;
        }
        let Some(target) = m.target() else {
            problems.push(format!("{rule}: the expectation names no field, store, role or subject_kind"));
            continue;
        };
        let Some(f) = report.findings.iter().find(|f| f.rule == rule && f.target == target) else {
            problems.push(format!("missing {rule} for {target}"));
            continue;
        };
        for c in &m.categories {
            if !f.categories.iter().any(|fc| fc == c || fc.starts_with(&format!("{c}."))) {
                problems.push(format!("{rule} {target}: category {c} not among {:?}", f.categories));
            }
        }
        if let Some(p) = &m.purpose
            && !f.details.get("purposes").is_some_and(|ps| ps.contains(p))
        {
            problems.push(format!("{rule} {target}: purpose {p} not reported"));
        }
        for l in &m.captures_lines {
            let on_line = per_line.get(l).map(Vec::as_slice).unwrap_or_default();
            let needs_hit = matches!(target.kind, TargetKind::Field | TargetKind::SubjectKind)
                || (target.kind == TargetKind::Store && rule == "undeclared-store");
            if needs_hit && !on_line.iter().any(|h| hit_matches(h, rule, Some(&target))) {
                problems.push(format!("{rule} {target}: line {l} has no such hit"));
            }
        }
        if target.kind == TargetKind::SubjectKind && f.count != m.captures_lines.len() as u64 {
            problems.push(format!("{rule} {target}: {} events, expected {}", f.count, m.captures_lines.len()));
        }
        if !m.access_lines.is_empty() && f.count != m.access_lines.len() as u64 {
            problems.push(format!("{rule} {target}: {} access entries, expected {}", f.count, m.access_lines.len()));
        }
        if let Some(n) = m.people_affected
            && f.people_affected != Some(n)
        {
            problems.push(format!("{rule} {target}: {:?} people affected, expected {n}", f.people_affected));
        }
    }
    // `may` findings are parsed (their shape is checked) but not required: see fixtures/README.md.
    let _ = &exp.may;

    let got_window: BTreeSet<u64> =
        per_line.iter().filter(|(_, hs)| hs.iter().any(|h| h.rule_id == "outside-window")).map(|(l, _)| *l).collect();
    if got_window != window_lines {
        problems.push(format!("outside-window lines: got {got_window:?}, expected {window_lines:?}"));
    }

    for n in &exp.must_not {
        let mut targets: Vec<Target> = target_of(&n.field, &n.store, &n.role, &n.subject_kind).into_iter().collect();
        targets.extend(n.fields.iter().map(|f| Target::field(f.clone())));
        for rule in &n.rules {
            if !n.captures_lines.is_empty() {
                for l in &n.captures_lines {
                    for h in per_line.get(l).map(Vec::as_slice).unwrap_or_default() {
                        if hit_matches(h, rule, None)
                            && (targets.is_empty() || targets.iter().any(|t| hit_matches(h, rule, Some(t))))
                        {
                            problems.push(format!("must not: {}: line {l} has {} on {}", n.what, h.rule_id, h.target));
                        }
                    }
                }
                continue;
            }
            for f in &report.findings {
                if rule != "*" && f.rule != *rule {
                    continue;
                }
                let target_hit = targets.is_empty() || targets.contains(&f.target);
                let purpose_hit =
                    n.purpose.as_ref().is_none_or(|p| f.details.get("purposes").is_some_and(|ps| ps.contains(p)));
                if target_hit && purpose_hit {
                    problems.push(format!("must not: {}: found {} on {}", n.what, f.rule, f.target));
                }
            }
        }
    }
    if report.summary.records_rejected != 0 {
        problems.push(format!("rejected lines: {:?}", report.rejected));
    }
    if report.summary.records_read != report.summary.records_evaluated {
        problems.push("not every record was evaluated".into());
    }
    problems.into_iter().map(|p| format!("{fx}: {p}")).collect()
}

#[test]
fn every_fixture_meets_its_expectations() {
    let problems: Vec<String> = fixtures().iter().flat_map(|fx| check_fixture(fx)).collect();
    assert!(problems.is_empty(), "\n  {}", problems.join("\n  "));
}

#[test]
fn compliant_fixtures_have_no_finding_of_any_severity() {
    for fx in ["clean", "roster"] {
        let r = audit(fx);
        assert!(r.findings.is_empty(), "{fx}: {:#?}", r.findings);
        assert!(r.summary.records_read >= 100);
    }
    // roster carries per-person ids and kinds, and some events without a kind.
    let r = audit("roster");
    assert!(r.summary.people_captured >= 100, "{:?}", r.summary);
    assert!(r.summary.people_captured_exact);
    assert!(r.summary.records_without_subject_kind > 0);
    assert_eq!(r.summary.people_affected, 0);
}

#[test]
fn every_builtin_rule_fires_in_some_fixture() {
    let mut fired: BTreeSet<String> = BTreeSet::new();
    for fx in fixtures() {
        fired.extend(audit(&fx).findings.into_iter().map(|f| f.rule));
    }
    let pack = scopecheck::rules::RulePack::builtin().unwrap();
    // The engine's own rules fire on broken user policies, which no fixture has; the library's
    // fail_closed test proves them.
    let missing: Vec<&str> = pack
        .rules()
        .iter()
        .filter(|r| r.origin != scopecheck::rules::ENGINE_ORIGIN)
        .map(|r| r.id.as_str())
        .filter(|id| !fired.contains(*id))
        .collect();
    assert!(missing.is_empty(), "never fired in a fixture: {missing:?}");
}

#[test]
fn undeclared_subject_fires_once_per_kind() {
    let r = audit("lobby");
    let kinds: Vec<&str> =
        r.findings.iter().filter(|f| f.rule == "undeclared-subject").map(|f| f.target.id.as_str()).collect();
    assert_eq!(kinds, vec!["contractor", "employee"]);
    for f in r.findings.iter().filter(|f| f.rule == "undeclared-subject") {
        assert_eq!(f.target.kind, TargetKind::SubjectKind);
        assert!(f.people_affected.unwrap() > 1, "{f:?}");
    }
}

#[test]
fn malformed_lines_are_rejected_with_their_line_and_the_rest_evaluated() {
    let m = expected("mci").captures_malformed.unwrap();
    let dir = root().join("fixtures/mci");
    // Captures only: the inventory's own findings are not about these lines.
    let mut a = Setup { stores: None, ..setup("mci") }.auditor().unwrap();
    let f = a.add_file(&m.file, InputKind::Captures);
    for (i, line) in read(&dir.join(&m.file)).lines().enumerate() {
        a.capture_line(f, i as u64 + 1, line).unwrap();
    }
    let r = a.finish().unwrap();
    let rejected: Vec<u64> = r.rejected.iter().map(|x| x.line).collect();
    let want: Vec<u64> = m.rejected.iter().map(|x| x.line).collect();
    assert_eq!(rejected, want);
    assert_eq!(r.summary.records_evaluated, m.good_lines.len() as u64);
    assert_eq!(r.summary.records_read, r.summary.records_evaluated + r.summary.records_rejected);
    assert_eq!(r.findings.len(), m.findings_from_good_lines.len(), "{:#?}", r.findings);
}

#[test]
fn evidence_is_redacted_by_default() {
    let r = audit("mci");
    let all: String = r.findings.iter().flat_map(|f| f.evidence.iter()).cloned().collect::<Vec<_>>().join("\n");
    for secret in ["4111 1111 1111 1111", "4111111111111111", "5555555555554444", "therapist", "Metformin", "GB82"] {
        assert!(!all.contains(secret), "{secret} leaked into evidence:\n{all}");
    }
}

/// The report without what depends on how the input was split (Cedar calls) or how it was
/// read (the digests of the parts).
fn comparable(r: &Report) -> Value {
    let mut v = serde_json::to_value(r).unwrap();
    v.as_object_mut().unwrap().remove("stats");
    v["provenance"].as_object_mut().unwrap().remove("inputs");
    v
}

fn split_at(lines: &[(u64, String)], cuts: &[usize]) -> Vec<Vec<(u64, String)>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (lines.len() + 1)).collect();
    cuts.sort_unstable();
    let mut parts = Vec::new();
    let mut start = 0;
    for c in cuts.into_iter().chain([lines.len()]) {
        parts.push(lines[start..c.max(start)].to_vec());
        start = c.max(start);
    }
    parts
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Auditing the parts of a fixture (captures and access log cut anywhere, the parts audited
    /// apart) and merging the reports gives the report of the whole.
    #[test]
    fn merged_reports_of_any_split_equal_the_whole(
        fx in prop::sample::select(vec!["mci", "workday", "helpdesk", "lobby", "roster"]),
        cuts in prop::collection::vec(0usize..1000, 1..4),
        access_cut in 0usize..100,
    ) {
        let captures = numbered(&capture_lines(fx));
        let access = numbered(&access_lines(fx));
        let whole = audit_lines(fx, &captures, &access);
        let parts = split_at(&captures, &cuts);
        let access_parts = split_at(&access, &[access_cut]);
        let mut merged: Option<Report> = None;
        for (i, part) in parts.iter().enumerate() {
            let acc: &[(u64, String)] = access_parts.get(i).map(Vec::as_slice).unwrap_or_default();
            let r = audit_lines(fx, part, acc);
            match &mut merged {
                None => merged = Some(r),
                Some(m) => m.merge(&r).unwrap(),
            }
        }
        // Access-log parts beyond the capture parts.
        for acc in access_parts.iter().skip(parts.len()) {
            merged.as_mut().unwrap().merge(&audit_lines(fx, &[], acc)).unwrap();
        }
        let merged = merged.unwrap();
        // The timeline too (per day and hour of the week): its cells add up across parts.
        prop_assert!(whole.timeline.captures() > 0);
        prop_assert_eq!(&merged.timeline, &whole.timeline);
        prop_assert_eq!(comparable(&merged), comparable(&whole));
    }
}

fn fingerprints(r: &Report) -> BTreeMap<(String, Target), String> {
    r.findings.iter().map(|f| ((f.rule.clone(), f.target.clone()), f.fingerprint.clone())).collect()
}

#[test]
fn fingerprints_survive_reordering_and_differ_by_rule_and_target() {
    for fx in ["mci", "workday", "lobby"] {
        let captures = numbered(&capture_lines(fx));
        let access = numbered(&access_lines(fx));
        let whole = audit_lines(fx, &captures, &access);
        // Reverse the records and renumber them: every line moves.
        let mut reversed: Vec<String> = capture_lines(fx);
        reversed.reverse();
        let mut blank_first = vec![String::new(); 7];
        blank_first.extend(reversed);
        let moved = audit_lines(fx, &numbered(&blank_first), &access);
        assert_eq!(fingerprints(&whole), fingerprints(&moved), "{fx}");
        let all: BTreeSet<&String> = whole.findings.iter().map(|f| &f.fingerprint).collect();
        assert_eq!(all.len(), whole.findings.len(), "{fx}: two findings share a fingerprint");
        for f in &whole.findings {
            assert_eq!(f.fingerprint.len(), 32);
            assert!(f.fingerprint.chars().all(|c| c.is_ascii_hexdigit()));
        }
    }
    let t = Target::field("a.b");
    let base = scopecheck::report::fingerprint("p", "r", &t);
    assert_ne!(base, scopecheck::report::fingerprint("p", "r2", &t));
    assert_ne!(base, scopecheck::report::fingerprint("p", "r", &Target::store("a.b")));
    assert_ne!(base, scopecheck::report::fingerprint("p", "r", &Target::field("a.c")));
    assert_ne!(base, scopecheck::report::fingerprint("q", "r", &t));
}

#[test]
fn person_ids_never_reach_decisions() {
    // The same events with every person renamed decide alike, and the decision caches do not
    // grow with the number of people.
    let lines = capture_lines("mci");
    let base = audit("mci");
    let renamed: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v["subject"] = Value::String(format!("someone-else-{i}"));
            v.to_string()
        })
        .collect();
    let other = audit_lines("mci", &numbered(&renamed), &numbered(&access_lines("mci")));
    let strip = |r: &Report| -> Vec<(String, Target, u64)> {
        r.findings.iter().map(|f| (f.rule.clone(), f.target.clone(), f.count)).collect()
    };
    assert_eq!(strip(&base), strip(&other));
    assert_eq!(base.stats.cedar_calls, other.stats.cedar_calls);
    // Every renamed event is one more person.
    let f = other.findings.iter().find(|f| f.rule == "never-collect").unwrap();
    assert_eq!(f.people_affected, Some(f.count));
}

/// The audit of a fixture read whole (`scopecheck::audit::audit`), or on `threads` deciders fed
/// batches of `batch_lines` lines (`audit_parallel`).
fn audit_split(fx: &str, threads: usize, batch_lines: usize) -> Report {
    use scopecheck::audit::{AuditOptions, Input, Split};
    let engine = Arc::new(setup(fx).build().unwrap());
    let dir = root().join("fixtures").join(fx);
    let inputs: Vec<Input<'static>> = [("captures.jsonl", InputKind::Captures), ("access.jsonl", InputKind::Access)]
        .into_iter()
        .map(|(name, kind)| Input {
            name: name.to_string(),
            kind,
            reader: Box::new(std::io::Cursor::new(std::fs::read(dir.join(name)).unwrap())),
            digest: None,
        })
        .collect();
    if threads == 0 {
        return scopecheck::audit::audit(engine, inputs, AuditOptions::default()).unwrap();
    }
    let split = Split { threads, batch_bytes: 1 << 20, batch_lines, max_line: scopecheck::input::MAX_LINE };
    scopecheck::audit::audit_parallel(vec![engine], AuditOptions::default(), inputs, split).unwrap()
}

/// The report as JSON without `stats` (work per decider, which depends on the split).
fn without_stats(r: &Report) -> String {
    let mut v = serde_json::to_value(r).unwrap();
    v.as_object_mut().unwrap().remove("stats");
    serde_json::to_string_pretty(&v).unwrap()
}

#[test]
fn any_thread_count_and_batch_size_gives_the_same_report_byte_for_byte() {
    for fx in ["mci", "workday", "helpdesk", "lobby", "roster", "clean"] {
        let whole = without_stats(&audit_split(fx, 0, 0));
        for (threads, batch) in [(1, 4096), (2, 1), (3, 7), (4, 50), (8, 3)] {
            let split = without_stats(&audit_split(fx, threads, batch));
            assert!(split == whole, "{fx}: {threads} threads, batches of {batch} lines differ from one reading");
        }
    }
}

/// A fixture's audit with the evaluator's caches (decisions, values) on or off.
fn audit_caches(fx: &str, decisions: bool, values: bool) -> String {
    let mut a = setup(fx).auditor().unwrap();
    a.set_decision_cache(decisions);
    a.set_value_cache(values);
    let f = a.add_file("captures.jsonl", InputKind::Captures);
    for (n, line) in numbered(&capture_lines(fx)) {
        a.capture_line(f, n, &line).unwrap();
    }
    let f = a.add_file("access.jsonl", InputKind::Access);
    for (n, line) in numbered(&access_lines(fx)) {
        a.access_line(f, n, &line).unwrap();
    }
    without_stats(&a.finish().unwrap())
}

#[test]
fn the_caches_change_nothing_but_speed() {
    for fx in ["mci", "workday", "helpdesk", "lobby", "roster", "clean"] {
        let plain = audit_caches(fx, false, false);
        assert!(audit_caches(fx, true, true) == plain, "{fx}: the cached audit differs from the uncached one");
        assert!(audit_caches(fx, true, false) == plain, "{fx}: the value cache changes the report");
    }
}

#[test]
fn the_caches_change_nothing_on_generated_data() {
    // Data the code was not shaped for: the generator's `mci` scenario, first day (labels,
    // titles and OCR pages recur across people, card numbers and SSNs do not).
    let text = read(&root().join("fixtures/scenarios/mci.yaml"));
    let days = text.lines().find(|l| l.starts_with("days:")).unwrap().to_string();
    let g = scopecheck::generate::Generator::new(&text.replacen(&days, "days: 1", 1), "mci.yaml", None).unwrap();
    let (stores, _) = g.stores_yaml();
    let setup = Setup {
        scope: Some(Source::new("scope.yaml", g.scope_yaml())),
        stores: Some(Source::new("stores.yaml", stores)),
        ..Setup::default()
    };
    let lines: Vec<String> =
        (0..g.chunks()).flat_map(|i| g.chunk(i).text.lines().map(String::from).collect::<Vec<_>>()).collect();
    assert!(lines.len() > 10_000);
    let run = |values: bool| {
        let mut a = setup.auditor().unwrap();
        a.set_value_cache(values);
        let f = a.add_file("captures.jsonl", InputKind::Captures);
        for (i, l) in lines.iter().enumerate() {
            a.capture_line(f, i as u64 + 1, l).unwrap();
        }
        without_stats(&a.finish().unwrap())
    };
    assert!(run(true) == run(false), "the value cache changes the report on generated data");
}
