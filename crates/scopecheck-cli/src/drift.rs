//! `scopecheck diff`: drift between two releases of a scope (work in progress this session).

use crate::Io;
use clap::Args;
use scopecheck::{Error, ErrorKind, Location};
use std::path::PathBuf;

/// Arguments of `scopecheck diff`.
#[derive(Args, Debug)]
pub(crate) struct DiffArgs {
    /// The older scope.
    old: PathBuf,
    /// The newer scope.
    new: PathBuf,
}

pub(crate) fn diff(_a: DiffArgs, _io: &mut Io<'_>) -> Result<u8, Error> {
    Err(Error::new(ErrorKind::Input, Location::file("diff"), "not built yet"))
}
