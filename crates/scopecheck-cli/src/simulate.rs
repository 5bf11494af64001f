//! `scopecheck simulate`: recorded captures replayed under the current configuration and a
//! candidate one, read once; what the candidate would add, remove and change.

use crate::{FailOn, Io, LoadArgs, OutputArgs, ReadArgs, input, parse_fail_on};
use clap::Args;
use scopecheck::audit::AuditOptions;
use scopecheck::decide::{DecideOptions, Mode};
use scopecheck::input::Line;
use scopecheck::rules::Severity;
use scopecheck::simulate::{Format, Side, Simulation};
use scopecheck::{Error, Setup};
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
    #[command(flatten)]
    read: ReadArgs,
}

fn engines(setups: &[Setup]) -> Result<Vec<Arc<scopecheck::eval::Engine>>, Error> {
    setups.iter().map(|s| Ok(Arc::new(s.build()?))).collect()
}

pub(crate) fn simulate(a: SimulateArgs, io: &mut Io<'_>) -> Result<u8, Error> {
    a.read.check()?;
    a.output.check_writable(Format::Human)?;
    let inputs = a.load.paths().into_iter().chain(a.candidate_scope.iter().cloned());
    let inputs = inputs.chain(a.candidate_policies.iter().cloned()).chain(a.candidate_detectors.iter().cloned());
    let inputs = inputs.chain(a.captures.iter().chain(&a.access).map(PathBuf::from));
    a.output.refuse_overwriting(Format::Human, inputs, "the simulation's inputs")?;
    let mut current = crate::setups(&a.load)?;
    a.read.apply(&mut current);
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
    a.read.apply(&mut candidate);
    let decide = DecideOptions { mode: a.mode, act_on: a.act_on, ..DecideOptions::default() };
    let cand_decide = DecideOptions {
        mode: a.candidate_mode.unwrap_or(a.mode),
        act_on: a.candidate_act_on.unwrap_or(a.act_on),
        ..DecideOptions::default()
    };
    let _sensitive = crate::output::sensitive(a.read.show_evidence);
    let mut sim = Simulation::new(
        Side { engines: engines(&current)?, decide },
        Side { engines: engines(&candidate)?, decide: cand_decide },
        AuditOptions { strict: a.read.strict, pseudonyms: None },
    )?;
    for (path, kind, what) in input::records(&a.captures, &a.access) {
        let (mut reader, digest) = input::open(path, io.stdin, what)?;
        let name = input::display_name(path);
        let file = sim.add_file(&name, kind);
        scopecheck::input::for_each_line_limited(&name, &mut reader, a.read.max_line_bytes, |n, line: Line<'_>| {
            sim.line(file, kind, n, line)
        })?;
        let (sha256, bytes) = digest.finish();
        sim.add_digest(file, sha256, bytes);
    }
    let report = sim.finish()?;
    a.output.write_each(Format::Human, io, |format, color, w| w.write_all(format.render(&report, color).as_bytes()))?;
    if let Some(line) = scopecheck::simulate::gate_line(&report, a.fail_on_new.0) {
        let _ = writeln!(io.stderr, "{line}");
        return Ok(1);
    }
    Ok(0)
}
