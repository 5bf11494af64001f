//! `scopecheck check`: validate the inputs without auditing.

use crate::{Io, LoadArgs, setup};
use clap::Args;
use scopecheck::Error;

/// Arguments of `scopecheck check`.
#[derive(Args, Debug)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub(crate) load: LoadArgs,
}

pub(crate) fn check(a: CheckArgs, io: &mut Io<'_>) -> Result<u8, Error> {
    let engine = setup(&a.load)?.build()?;
    let s = &engine.scope;
    let _ = writeln!(
        io.stdout,
        "ok: {} — program {}{}: {} declared fields, {} never entries, {} stores, {} roles; {} rules; {} stores in the inventory",
        s.file,
        s.raw.program,
        s.raw.version.as_deref().map(|v| format!(" {v}")).unwrap_or_default(),
        s.raw.collect.len(),
        s.raw.never.len(),
        s.raw.stores.len(),
        s.raw.access.len(),
        engine.rules.rules().len(),
        engine.inventory.len(),
    );
    Ok(0)
}
