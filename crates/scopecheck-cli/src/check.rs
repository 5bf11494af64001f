//! `scopecheck check`: load the inputs (schema and strict Cedar validation) and lint them
//! (`scopecheck::lint`): rules that can never fire, declarations nothing could flag, windows
//! never open, purposes nobody may use. Human, JSON and SARIF output.

use crate::{Io, LoadArgs, OutputArgs, setup};
use clap::Args;
use scopecheck::lint::{Level, LintReport};
use scopecheck::{Error, ErrorKind, Location};
use std::sync::Arc;

/// Arguments of `scopecheck check`.
#[derive(Args, Debug)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub(crate) load: LoadArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Exit 1 when a lint is at or above this level (error, warning, info), or never.
    #[arg(long, value_name = "LEVEL|never", default_value = "error", value_parser = parse_fail_on)]
    fail_on: FailOn,
}

/// `--fail-on` of `check`: a lint level, or `never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FailOn(Option<Level>);

fn parse_fail_on(s: &str) -> Result<FailOn, String> {
    if s == "never" {
        Ok(FailOn(None))
    } else {
        s.parse::<Level>().map(|l| FailOn(Some(l))).map_err(|e| format!("{e}, or never"))
    }
}

/// The formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CheckFormat {
    Human,
    Json,
    Sarif,
}

impl std::str::FromStr for CheckFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "human" => Ok(CheckFormat::Human),
            "json" => Ok(CheckFormat::Json),
            "sarif" => Ok(CheckFormat::Sarif),
            _ => Err(format!("`{s}` is not a format of `check`; use human, json or sarif")),
        }
    }
}

fn render(report: &LintReport, format: CheckFormat, fail_on: Option<Level>) -> Result<String, Error> {
    let pretty = |v: &serde_json::Value| {
        serde_json::to_string_pretty(v).map(|mut s| {
            s.push('\n');
            s
        })
    };
    match format {
        CheckFormat::Human => Ok(report.human(fail_on)),
        CheckFormat::Json => pretty(&report.json()).map_err(|e| Error::internal(e.to_string())),
        CheckFormat::Sarif => pretty(&report.sarif()).map_err(|e| Error::internal(e.to_string())),
    }
}

pub(crate) fn check(a: CheckArgs, io: &mut Io<'_>) -> Result<u8, Error> {
    a.output.check_writable(CheckFormat::Human)?;
    let s = setup(&a.load)?;
    let text = s.scope.as_ref().map(|src| src.text.clone()).ok_or_else(|| {
        Error::new(ErrorKind::Scope, Location::file("--scope"), "no scope given")
            .with_help("pass the declared scope with `--scope scope.yaml`")
    })?;
    let engine = Arc::new(s.build()?);
    let report = scopecheck::lint::lint(engine, &text)?;
    let fail_on = a.fail_on.0;
    let mut rendered = Vec::new();
    for format in [CheckFormat::Human, CheckFormat::Json, CheckFormat::Sarif] {
        rendered.push((format, render(&report, format, fail_on)?));
    }
    a.output.write_each(CheckFormat::Human, io, |format, _color, w| {
        let text = rendered.iter().find(|(f, _)| *f == format).map_or("", |(_, t)| t.as_str());
        w.write_all(text.as_bytes())
    })?;
    let failing = fail_on.map_or(0, |l| report.count_at_or_above(l));
    Ok(if failing > 0 { 1 } else { 0 })
}
