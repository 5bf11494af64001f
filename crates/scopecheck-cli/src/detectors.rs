//! `scopecheck detectors scan` and `scopecheck detectors eval`: run the
//! value detectors over a corpus (Presidio format or plain text lines) and
//! score them at the span level. Scoring itself lives in
//! `scopecheck::detect::score`.

use crate::{Io, load_sources};
use clap::{Args, ValueEnum};
use scopecheck::detect::Detectors;
use scopecheck::detect::score::{self, MatchRule, PATTERN_TYPES, Span, Tally};
use scopecheck::{Error, ErrorKind, Location};
use std::path::PathBuf;

/// The Presidio development corpus bundled with the repository
/// (`tests/corpus/presidio/`, MIT, Microsoft presidio-research).
const BUNDLED_CORPUS: &str = include_str!("../../../tests/corpus/presidio/synth_dataset_v2.dev.json");
const BUNDLED_NAME: &str = "bundled:presidio/synth_dataset_v2.dev.json";

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InFormat {
    /// JSON array of `{"full_text", "spans": [...]}` records.
    Presidio,
    /// One text per line.
    Text,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EvalFormat {
    Human,
    Json,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MatchArg {
    /// Same type and IoU >= 0.5 (any overlap for text-level types).
    Overlap,
    /// Same type, same start and end.
    Exact,
}

#[derive(Args, Debug)]
pub(crate) struct ScanArgs {
    /// Corpus file (Presidio JSON or text lines); `-` reads stdin.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Input format (default: Presidio if the file starts with `[`, else text lines).
    #[arg(long, value_enum)]
    format: Option<InFormat>,
    /// Extra detector definitions (YAML, repeatable).
    #[arg(long = "detectors", value_name = "FILE")]
    detectors: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct EvalArgs {
    /// Labelled corpus in Presidio format (repeatable; pooled). Default: the bundled Presidio dev corpus.
    #[arg(long = "corpus", value_name = "FILE")]
    corpus: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: EvalFormat,
    /// How predicted and labelled spans are matched.
    #[arg(long = "match", value_enum, default_value = "overlap")]
    match_rule: MatchArg,
    /// Extra detector definitions (YAML, repeatable).
    #[arg(long = "detectors", value_name = "FILE")]
    detectors: Vec<PathBuf>,
}

#[derive(serde::Deserialize)]
struct Record {
    full_text: String,
    #[serde(default)]
    spans: Vec<RecordSpan>,
}

#[derive(serde::Deserialize)]
struct RecordSpan {
    entity_type: String,
    start_position: usize,
    end_position: usize,
}

fn load_detectors(extra: &[PathBuf]) -> Result<Detectors, Error> {
    let mut d = Detectors::builtin().map_err(scopecheck::detector_error)?;
    for s in load_sources(extra, "the detector file", ErrorKind::Detectors)? {
        d.add_yaml(&s.text, &s.name).map_err(scopecheck::detector_error)?;
    }
    Ok(d)
}

fn parse_presidio(name: &str, text: &str) -> Result<Vec<Record>, Error> {
    serde_json::from_str(text).map_err(|e| {
        Error::new(
            ErrorKind::Input,
            Location::at(name, e.line(), e.column()),
            format!("not a Presidio-format corpus: {e}"),
        )
        .with_help(r#"expected a JSON array of {"full_text": "...", "spans": [{"entity_type", "start_position", "end_position"}]}"#)
    })
}

fn read_input(path: &PathBuf, io: &mut Io<'_>) -> Result<(String, String), Error> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        io.stdin
            .read_to_string(&mut s)
            .map_err(|e| Error::new(ErrorKind::Input, Location::file("-"), format!("cannot read stdin: {e}")))?;
        return Ok(("-".to_string(), s));
    }
    let src = load_sources(std::slice::from_ref(path), "the corpus file", ErrorKind::Input)?;
    Ok(src.into_iter().next().map(|s| (s.name.clone(), s.text.to_string())).unwrap_or_default())
}

/// `scopecheck detectors scan FILE`: one JSON line per text.
pub(crate) fn scan(a: ScanArgs, io: &mut Io<'_>) -> Result<u8, Error> {
    let d = load_detectors(&a.detectors)?;
    let (name, text) = read_input(&a.file, io)?;
    let format =
        a.format.unwrap_or(if text.trim_start().starts_with('[') { InFormat::Presidio } else { InFormat::Text });
    let texts: Vec<(&str, usize, String)> = match format {
        InFormat::Presidio => {
            parse_presidio(&name, &text)?.into_iter().enumerate().map(|(i, r)| ("index", i, r.full_text)).collect()
        }
        InFormat::Text => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| ("line", i + 1, l.to_string()))
            .collect(),
    };
    for (key, n, t) in texts {
        let spans: Vec<serde_json::Value> = d
            .scan(&t)
            .iter()
            .map(|x| {
                serde_json::json!({
                    "entity_type": x.entity,
                    "start_position": score::char_offset(&t, x.start),
                    "end_position": score::char_offset(&t, x.end),
                    "confidence": x.confidence,
                    "detector": x.detector,
                    "category": x.category,
                })
            })
            .collect();
        let line = serde_json::json!({ key: n, "full_text": t, "spans": spans });
        let _ = writeln!(io.stdout, "{line}");
    }
    Ok(0)
}

/// Score the detectors over Presidio-format corpora.
pub(crate) fn evaluate(d: &Detectors, corpora: &[(String, String)], rule: MatchRule) -> Result<Tally, Error> {
    let mut tally = Tally::default();
    for (name, text) in corpora {
        for r in parse_presidio(name, text)? {
            let gold: Vec<Span> = r
                .spans
                .iter()
                .map(|s| Span { entity: s.entity_type.clone(), start: s.start_position, end: s.end_position })
                .collect();
            let pred = score::char_spans(&r.full_text, &d.scan(&r.full_text));
            tally.add(&r.full_text, &gold, &pred, rule);
        }
    }
    Ok(tally)
}

fn metrics(c: &score::Counts, counts: bool) -> serde_json::Value {
    let mut v = serde_json::json!({ "precision": c.precision(), "recall": c.recall(), "f2": c.f2() });
    if counts && let Some(m) = v.as_object_mut() {
        m.insert("tp".into(), c.tp.into());
        m.insert("fp".into(), c.fp.into());
        m.insert("fn".into(), c.fn_.into());
    }
    v
}

fn fmt3(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"))
}

/// `scopecheck detectors eval`.
pub(crate) fn eval(a: EvalArgs, io: &mut Io<'_>) -> Result<u8, Error> {
    let d = load_detectors(&a.detectors)?;
    let corpora: Vec<(String, String)> = if a.corpus.is_empty() {
        vec![(BUNDLED_NAME.to_string(), BUNDLED_CORPUS.to_string())]
    } else {
        let mut v = Vec::new();
        for p in &a.corpus {
            v.push(read_input(p, io)?);
        }
        v
    };
    let rule = match a.match_rule {
        MatchArg::Overlap => MatchRule::Overlap,
        MatchArg::Exact => MatchRule::Exact,
    };
    let tally = evaluate(&d, &corpora, rule)?;
    let overall = tally.overall(&PATTERN_TYPES);
    let rule_name = match rule {
        MatchRule::Overlap => "overlap",
        MatchRule::Exact => "exact",
    };
    let names: Vec<&str> = corpora.iter().map(|(n, _)| n.as_str()).collect();
    match a.format {
        EvalFormat::Json => {
            let by_type: serde_json::Map<String, serde_json::Value> =
                tally.by_type.iter().map(|(t, c)| (t.clone(), metrics(c, true))).collect();
            let v = serde_json::json!({
                "overall": metrics(&overall, true),
                "by_type": by_type,
                "overall_types": PATTERN_TYPES,
                "match": rule_name,
                "texts": tally.texts,
                "corpus": names,
            });
            let s = serde_json::to_string_pretty(&v).map_err(|e| Error::internal(e.to_string()))?;
            let _ = writeln!(io.stdout, "{s}");
        }
        EvalFormat::Human => {
            let mut s = String::new();
            s.push_str(&format!("corpus:   {} ({} texts)\n", names.join(", "), tally.texts));
            s.push_str(&format!(
                "matching: {rule_name} ({})\n\n",
                match rule {
                    MatchRule::Overlap => "same type, IoU >= 0.5; any overlap for text-level types",
                    MatchRule::Exact => "same type, same start and end",
                }
            ));
            let row = |s: &mut String, t: &str, c: &score::Counts, note: &str| {
                s.push_str(&format!(
                    "{:<22} {:>9} {:>7} {:>6} {:>6} {:>6} {:>6}{note}\n",
                    t,
                    fmt3(c.precision()),
                    fmt3(c.recall()),
                    fmt3(c.f2()),
                    c.tp,
                    c.fp,
                    c.fn_
                ));
            };
            s.push_str(&format!(
                "{:<22} {:>9} {:>7} {:>6} {:>6} {:>6} {:>6}\n",
                "type", "precision", "recall", "f2", "tp", "fp", "fn"
            ));
            for t in PATTERN_TYPES {
                let c = tally.by_type.get(t).copied().unwrap_or_default();
                row(&mut s, t, &c, "");
            }
            row(&mut s, "overall (pattern)", &overall, "");
            s.push_str("\nother types\n");
            for (t, c) in &tally.by_type {
                if PATTERN_TYPES.contains(&t.as_str()) {
                    continue;
                }
                let note = if c.tp + c.fn_ == 0 { "  (not labelled in this corpus)" } else { "" };
                row(&mut s, t, c, note);
            }
            let _ = io.stdout.write_all(s.as_bytes());
        }
    }
    Ok(0)
}
