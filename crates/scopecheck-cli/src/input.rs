//! Reading inputs: files, `-` for stdin, gzip by magic bytes, lines with a cap.

use scopecheck::{Error, ErrorKind, Location};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Longest line read; longer lines are rejected (and skipped), not truncated.
pub const MAX_LINE: usize = scopecheck::observe::MAX_LINE_BYTES;

/// Reads a whole small file (scope, stores, policies).
pub fn read_text(path: &Path, what: &str, kind: ErrorKind) -> Result<String, Error> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| open_error(&name, what, kind, &e))?;
    String::from_utf8(bytes).map_err(|e| {
        Error::new(
            kind,
            Location::file(&name),
            format!("{what} is not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
        .with_help("save the file as UTF-8")
    })
}

/// An error for a file that cannot be opened.
pub fn open_error(name: &str, what: &str, kind: ErrorKind, e: &std::io::Error) -> Error {
    let help = match e.kind() {
        std::io::ErrorKind::NotFound => "check the path; it is relative to the current directory",
        std::io::ErrorKind::PermissionDenied => "check the file's permissions",
        _ => "check that the path names a readable file",
    };
    Error::new(kind, Location::file(name), format!("cannot read {what}: {e}")).with_help(help)
}

/// Opens a file (or stdin for `-`), decompressing gzip transparently.
pub fn open<'a>(path: &str, stdin: &'a mut dyn BufRead, what: &str) -> Result<Box<dyn BufRead + 'a>, Error> {
    let raw: Box<dyn BufRead + 'a> = if path == "-" {
        Box::new(stdin)
    } else {
        let f = File::open(path).map_err(|e| open_error(path, what, ErrorKind::Input, &e))?;
        if f.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(Error::new(ErrorKind::Input, Location::file(path), format!("{what} is a directory"))
                .with_help("name the JSONL files themselves, e.g. `dir/*.jsonl`"));
        }
        Box::new(BufReader::with_capacity(256 * 1024, f))
    };
    let mut raw = raw;
    let gz = raw.fill_buf().map(|b| b.starts_with(&[0x1f, 0x8b])).unwrap_or(false);
    if gz {
        Ok(Box::new(BufReader::with_capacity(256 * 1024, flate2::bufread::MultiGzDecoder::new(raw))))
    } else {
        Ok(raw)
    }
}

/// A line, or why it cannot be used.
pub enum Line<'a> {
    /// The text, without its line ending.
    Text(&'a str),
    /// Not UTF-8 or too long.
    Bad(String),
}

/// Calls `f` for each line (1-based numbers). Stops at the first error `f` returns.
pub fn for_each_line(
    name: &str,
    r: &mut dyn BufRead,
    mut f: impl FnMut(u64, Line<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut buf = Vec::with_capacity(4096);
    let mut n: u64 = 0;
    loop {
        buf.clear();
        let read =
            (&mut *r).take(MAX_LINE as u64 + 1).read_until(b'\n', &mut buf).map_err(|e| read_error(name, n + 1, &e))?;
        if read == 0 {
            return Ok(());
        }
        n += 1;
        if buf.len() > MAX_LINE && buf.last() != Some(&b'\n') {
            // Skip the rest of the over-long line.
            let mut sink = Vec::new();
            loop {
                sink.clear();
                let more = (&mut *r).take(1 << 20).read_until(b'\n', &mut sink).map_err(|e| read_error(name, n, &e))?;
                if more == 0 || sink.last() == Some(&b'\n') {
                    break;
                }
            }
            f(n, Line::Bad(format!("the line is longer than {MAX_LINE} bytes")))?;
            continue;
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        match std::str::from_utf8(&buf) {
            Ok(s) => f(n, Line::Text(s))?,
            Err(e) => f(n, Line::Bad(format!("not UTF-8 text (bad byte at column {})", e.valid_up_to() + 1)))?,
        }
    }
}

fn read_error(name: &str, line: u64, e: &std::io::Error) -> Error {
    Error::new(
        ErrorKind::Input,
        Location { file: name.to_string(), line: usize::try_from(line).ok(), column: None },
        format!("cannot read on: {e}"),
    )
    .with_help("the file may be truncated or a corrupt gzip stream; re-export it")
}
