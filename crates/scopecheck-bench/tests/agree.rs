//! The comparison is of the same checks: on a small generated data set, the Rego policy (run by
//! regorus) and the naive Cedar loop fire the same (rule, target) pairs as scopecheck's own
//! evaluator, event by event.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use scopecheck_bench::data::{DataSet, generate};
use scopecheck_bench::naive::Naive;
use scopecheck_bench::rego::Rego;
use scopecheck_bench::{Pair, REGO_RULES, Scopecheck};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The mci scenario, one day, fewer people, contractors turned into visitors (a kind the notice
/// does not list), and violations injected more often, so that a small data set holds every
/// kind of them.
fn small_data_set(name: &str) -> DataSet {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("fixtures/scenarios/mci.yaml")).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let l = match line.trim_start() {
            "count: 180" => line.replace("180", "8"),
            "count: 20" => line.replace("20", "4"),
            // A kind of person the notice does not list (`undeclared-subject`).
            "- kind: contractor" => line.replace("contractor", "visitor"),
            t if t.starts_with("chat: ") => line.replace(t, "chat: 0.05"),
            t if t.starts_with("transcript: ") => line.replace(t, "transcript: 0.03"),
            t if t.starts_with("tax_page: ") => line.replace(t, "tax_page: 0.03"),
            t if t.starts_with("medical_page: ") => line.replace(t, "medical_page: 0.03"),
            t if t.starts_with("credential: ") => line.replace(t, "credential: 0.03"),
            t if t.starts_with("card_in_label: ") => line.replace(t, "card_in_label: 0.03"),
            _ => line.to_string(),
        };
        out.push_str(&l);
        out.push('\n');
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("scenario.yaml");
    std::fs::write(&scenario, out).unwrap();
    let g = generate(&scenario, Some(1), Some(11), &dir).unwrap();
    assert!(g.events > 500, "{} events", g.events);
    DataSet::open(&dir).unwrap()
}

fn lines(data: &DataSet) -> Vec<String> {
    let mut v = Vec::new();
    data.for_each_line(None, |l| {
        v.push(l.to_string());
        Ok(())
    })
    .unwrap();
    v
}

#[test]
fn rego_fires_what_scopecheck_fires() {
    let data = small_data_set("agree-rego");
    let engine = Arc::new(data.setup().build().unwrap());
    let mut sc = Scopecheck::new(Arc::clone(&engine)).unwrap();
    let mut rego = Rego::new(&engine).unwrap();
    let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
    let mut all: BTreeSet<Pair> = BTreeSet::new();
    let mut differ = Vec::new();
    let lines = lines(&data);
    for (i, line) in lines.iter().enumerate() {
        let want: BTreeSet<Pair> =
            sc.line(line).unwrap().into_iter().filter(|p| REGO_RULES.contains(&p.rule.as_str())).collect();
        let got = rego.line(line).unwrap();
        if want != got {
            differ.push(format!(
                "line {}: scopecheck only {:?}; rego only {:?}\n  {}",
                i + 1,
                want.difference(&got).map(ToString::to_string).collect::<Vec<_>>(),
                got.difference(&want).map(ToString::to_string).collect::<Vec<_>>(),
                line.chars().take(400).collect::<String>()
            ));
        }
        for p in &want {
            *per_rule.entry(p.rule.clone()).or_default() += 1;
        }
        all.extend(want);
    }
    assert!(differ.is_empty(), "{} of {} events differ:\n{}", differ.len(), lines.len(), differ.join("\n"));
    // Every rule the Rego covers fired somewhere, so the agreement is not vacuous.
    for rule in REGO_RULES {
        assert!(per_rule.get(*rule).is_some_and(|n| *n > 0), "{rule} never fired: {per_rule:?}");
    }
    eprintln!("{} events agree; events per rule: {per_rule:?}", lines.len());
    for p in &all {
        eprintln!("  {p}");
    }
}

#[test]
fn naive_cedar_fires_what_scopecheck_fires() {
    let data = small_data_set("agree-naive");
    let engine = Arc::new(data.setup().build().unwrap());
    let mut sc = Scopecheck::new(Arc::clone(&engine)).unwrap();
    let mut naive = Naive::new(engine).unwrap();
    let lines = lines(&data);
    let mut differ = Vec::new();
    // The naive loop is slow in a debug build: every fifth event.
    for (i, line) in lines.iter().enumerate().step_by(5) {
        let want = sc.line(line).unwrap();
        let got = naive.line(line).unwrap();
        if want != got {
            differ.push(format!(
                "line {}: scopecheck only {:?}; naive only {:?}",
                i + 1,
                want.difference(&got).map(ToString::to_string).collect::<Vec<_>>(),
                got.difference(&want).map(ToString::to_string).collect::<Vec<_>>(),
            ));
        }
    }
    assert!(differ.is_empty(), "{} events differ:\n{}", differ.len(), differ.join("\n"));
}
