//! `scopecheck diff OLD.yaml NEW.yaml`: drift between two releases of a declared scope.

use crate::{FailOn, Io, OutputArgs, input, parse_fail_on};
use clap::Args;
use scopecheck::drift::{self, DiffOptions, Format};
use scopecheck::{Error, ErrorKind, Source};
use std::path::PathBuf;

/// Arguments of `scopecheck diff`.
#[derive(Args, Debug)]
pub(crate) struct DiffArgs {
    /// The older scope (the release in force).
    #[arg(value_name = "OLD.yaml")]
    old: PathBuf,
    /// The newer scope (the release proposed).
    #[arg(value_name = "NEW.yaml")]
    new: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
    /// Exit 1 when a change is at or above this severity.
    #[arg(long, value_name = "SEVERITY|never", default_value = "high", value_parser = parse_fail_on)]
    fail_on: FailOn,
    /// Compare scopes whose `program` differs (a rename, reported as `program-renamed`) instead
    /// of refusing them.
    #[arg(long)]
    allow_program_change: bool,
}

pub(crate) fn diff(a: DiffArgs, io: &mut Io<'_>) -> Result<u8, Error> {
    a.output.check_writable(Format::Human)?;
    a.output.refuse_overwriting(Format::Human, [a.old.clone(), a.new.clone()], "the scopes compared")?;
    let read = |p: &PathBuf, what: &str| -> Result<Source, Error> {
        Ok(Source::new(p.display().to_string(), input::read_text(p, what, ErrorKind::Scope)?))
    };
    let old = read(&a.old, "the old scope")?;
    let new = read(&a.new, "the new scope")?;
    let d = drift::diff(&old, &new, DiffOptions { allow_program_change: a.allow_program_change })?;
    a.output.write_each(Format::Human, io, |format, color, w| w.write_all(format.render(&d, color).as_bytes()))?;
    let failing = a.fail_on.0.map_or(0, |s| d.count_at_or_above(s));
    Ok(if failing > 0 { 1 } else { 0 })
}
