//! `scopecheck test`: policy unit tests as data (work in progress this session).

use crate::Io;
use clap::Args;
use scopecheck::{Error, ErrorKind, Location};
use std::path::PathBuf;

/// Arguments of `scopecheck test`.
#[derive(Args, Debug)]
pub(crate) struct TestArgs {
    /// Test suite files or folders.
    #[arg(value_name = "SUITE")]
    suites: Vec<PathBuf>,
}

pub(crate) fn test(_a: TestArgs, _io: &mut Io<'_>) -> Result<u8, Error> {
    Err(Error::new(ErrorKind::Input, Location::file("test"), "not built yet"))
}
