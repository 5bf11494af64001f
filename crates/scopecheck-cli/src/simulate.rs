//! `scopecheck simulate`: recorded captures replayed under the current configuration and a
//! candidate one, read once; what the candidate would add, remove and change.

use crate::{FailOn, Io, LoadArgs, OutputArgs, input, parse_fail_on, parse_line_limit};
use clap::Args;
use scopecheck::audit::{AuditOptions, InputKind};
use scopecheck::decide::{DecideOptions, Mode};
use scopecheck::input::Line;
use scopecheck::rules::Severity;
use scopecheck::simulate::{Format, Side, Simulation};
use scopecheck::{Error, ErrorKind, Location, Setup};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

/// Arguments of `scopecheck simulate`.
#[derive(Args, Debug)]
pub(crate) struct SimulateArgs {
    #[command(flatten)]
    load: LoadArgs,
    /// Access log (JSONL, repeatable).
    #[arg(long = "access", value_name = "FILE")]
    access: Vec<String>,
    /// The candidate's scope (repeatable, for a history of versions); replaces `--scope`.
    #[arg(long, value_name = "FILE")]
    candidate_scope: Vec<PathBuf>,
    /// The candidate's extra Cedar rule files or folders (repeatable); replaces `--policies`.
    #[arg(long, value_name = "PATH")]
    candidate_policies: Vec<PathBuf>,
    /// The candidate's extra detector definitions (repeatable); replaces `--detectors`.
    #[arg(long, value_name = "FILE")]
    candidate_detectors: Vec<PathBuf>,
    /// The candidate's rule ids switched off (repeatable); replaces `--disable`.
    #[arg(long, value_name = "RULE")]
    candidate_disable: Vec<String>,
    /// Runtime mode the decisions are compared under (as `enforce --mode`).
    #[arg(long, value_name = "enforce|monitor", default_value = "enforce", value_parser = Mode::from_str)]
    mode: Mode,
    /// Findings below this severity change no runtime decision (as `enforce --act-on`).
    #[arg(long, value_name = "SEVERITY", default_value = "info", value_parser = Severity::from_str)]
    act_on: Severity,
    /// The candidate's runtime mode; replaces `--mode`.
    #[arg(long, value_name = "enforce|monitor", value_parser = Mode::from_str)]
    candidate_mode: Option<Mode>,
    /// The candidate's `act_on`; replaces `--act-on`.
    #[arg(long, value_name = "SEVERITY", value_parser = Severity::from_str)]
    candidate_act_on: Option<Severity>,
    /// Capture files (JSONL, optionally gzip); `-` reads stdin.
    #[arg(value_name = "CAPTURES", required = true)]
    captures: Vec<String>,
    #[command(flatten)]
    output: OutputArgs,
    /// Exit 1 when the candidate adds a finding at or above this severity, or changes one that
    /// is at or above it to be more severe or of a category more.
    #[arg(long, value_name = "SEVERITY|never", default_value = "high", value_parser = parse_fail_on)]
    fail_on_new: FailOn,
    /// Show evidence as captured instead of redacted.
    #[arg(long)]
    show_evidence: bool,
    /// Stop with exit 2 at the first malformed line instead of rejecting it and going on.
    #[arg(long)]
    strict: bool,
    /// Ignore detections below this confidence (0 to 1), on both sides.
    #[arg(long, default_value_t = 0.5, value_name = "C")]
    min_confidence: f32,
    /// Longest input line read, in bytes (as `audit --max-line-bytes`).
    #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = parse_line_limit)]
    max_line_bytes: usize,
}

fn engines(setups: &[Setup]) -> Result<Vec<Arc<scopecheck::eval::Engine>>, Error> {
    setups.iter().map(|s| Ok(Arc::new(s.build()?))).collect()
}

pub(crate) fn simulate(a: SimulateArgs, io: &mut Io<'_>) -> Result<u8, Error> {
    if !(0.0..=1.0).contains(&a.min_confidence) {
        return Err(Error::new(
            ErrorKind::Input,
            Location::file("--min-confidence"),
            "the confidence must be between 0 and 1",
        ));
    }
    a.output.check_writable(Format::Human)?;
    refuse_overwriting_inputs(&a)?;
    let mut current = crate::setups(&a.load)?;
    for s in &mut current {
        s.options.show_evidence = a.show_evidence;
        s.options.min_confidence = a.min_confidence;
    }
    // A `--candidate-*` option replaces the current value of the same option; an absent one keeps it.
    let mut cand_load = a.load.clone();
    if !a.candidate_scope.is_empty() {
        cand_load.scope = a.candidate_scope.clone();
    }
    if !a.candidate_policies.is_empty() {
        cand_load.policies = a.candidate_policies.clone();
    }
    if !a.candidate_detectors.is_empty() {
        cand_load.detectors = a.candidate_detectors.clone();
    }
    if !a.candidate_disable.is_empty() {
        cand_load.disable = a.candidate_disable.clone();
    }
    let mut candidate = crate::setups(&cand_load)?;
    for s in &mut candidate {
        s.options.show_evidence = a.show_evidence;
        s.options.min_confidence = a.min_confidence;
    }
    let decide = DecideOptions { mode: a.mode, act_on: a.act_on, ..DecideOptions::default() };
    let cand_decide = DecideOptions {
        mode: a.candidate_mode.unwrap_or(a.mode),
        act_on: a.candidate_act_on.unwrap_or(a.act_on),
        ..DecideOptions::default()
    };
    let _sensitive = crate::output::sensitive(a.show_evidence);
    let mut sim = Simulation::new(
        Side { engines: engines(&current)?, decide },
        Side { engines: engines(&candidate)?, decide: cand_decide },
        AuditOptions { strict: a.strict, pseudonyms: None },
    )?;
    let named = |path: &String| if path == "-" { "<stdin>".to_string() } else { path.clone() };
    for (paths, kind, what) in
        [(&a.captures, InputKind::Captures, "the capture file"), (&a.access, InputKind::Access, "the access log")]
    {
        for path in paths {
            let (mut reader, digest) = input::open(path, io.stdin, what)?;
            let name = named(path);
            let file = sim.add_file(&name, kind);
            scopecheck::input::for_each_line_limited(&name, &mut reader, a.max_line_bytes, |n, line: Line<'_>| {
                sim.line(file, kind, n, line)
            })?;
            let (sha256, bytes) = digest.finish();
            sim.add_digest(file, sha256, bytes);
        }
    }
    let report = sim.finish()?;
    a.output.write_each(Format::Human, io, |format, color, w| w.write_all(format.render(&report, color).as_bytes()))?;
    if let Some(line) = scopecheck::simulate::gate_line(&report, a.fail_on_new.0) {
        let _ = writeln!(io.stderr, "{line}");
        return Ok(1);
    }
    Ok(0)
}

/// A report written over one of the inputs would destroy it: refused up front.
fn refuse_overwriting_inputs(a: &SimulateArgs) -> Result<(), Error> {
    let l = &a.load;
    let inputs: Vec<PathBuf> = l
        .scope
        .iter()
        .chain(&l.stores)
        .chain(&l.policies)
        .chain(&l.detectors)
        .chain(&a.candidate_scope)
        .chain(&a.candidate_policies)
        .chain(&a.candidate_detectors)
        .cloned()
        .chain(a.captures.iter().chain(&a.access).filter(|p| *p != "-").map(PathBuf::from))
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    for out in a.output.files(Format::Human)? {
        if std::fs::canonicalize(&out).is_ok_and(|real| real.is_file() && inputs.contains(&real)) {
            return Err(Error::new(
                ErrorKind::Input,
                Location::file(out.display().to_string()),
                "the report would be written over one of the simulation's inputs",
            )
            .with_help("write the report to another file"));
        }
    }
    Ok(())
}
