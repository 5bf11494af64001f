//! Reading inputs: files, `-` for stdin, gzip by magic bytes, lines with a cap.

use scopecheck::audit::InputKind;
use scopecheck::input::{DigestCell, DigestReader};
use scopecheck::{Error, ErrorKind, Location};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Reads a whole small file (scope, stores, policies).
pub fn read_text(path: &Path, what: &str, kind: ErrorKind) -> Result<String, Error> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| open_error(&name, what, kind, &e))?;
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        // The line and column of the bad byte (columns in characters, as every other error).
        let before = bytes.get(..at).unwrap_or_default();
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let column =
            std::str::from_utf8(before.get(line_start..).unwrap_or_default()).map_or(1, |t| t.chars().count() + 1);
        let byte = bytes.get(at).copied().unwrap_or(0);
        Error::new(
            kind,
            Location::at(&name, line, column),
            format!("{what} is not UTF-8 text (byte 0x{byte:02x} at byte offset {at})"),
        )
        .with_help("save the file as UTF-8 (`iconv -f LATIN1 -t UTF-8` converts a Latin-1 file)")
    })
}

/// An error for a file that cannot be opened.
pub fn open_error(name: &str, what: &str, kind: ErrorKind, e: &std::io::Error) -> Error {
    let help = match e.kind() {
        std::io::ErrorKind::NotFound => "check the path; it is relative to the current directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "check the file's permissions".to_string(),
        std::io::ErrorKind::IsADirectory => format!("`{name}` is a folder: name the file in it"),
        std::io::ErrorKind::NotADirectory => {
            // Say which part of the path is a file.
            let file = Path::new(name).ancestors().skip(1).find(|a| a.is_file()).map(|a| a.display().to_string());
            match file {
                Some(f) => format!("`{f}` is a file, not a folder: check the path"),
                None => "a part of the path is a file, not a folder: check the path".to_string(),
            }
        }
        _ => "check that the path names a readable file".to_string(),
    };
    Error::new(kind, Location::file(name), format!("cannot read {what}: {e}")).with_help(help)
}

/// Opens a file (or stdin for `-`), decompressing gzip transparently. The digest is of the bytes
/// as stored (a gzip file's compressed bytes, as `sha256sum` shows them).
pub fn open<'a>(
    path: &str,
    stdin: &'a mut dyn BufRead,
    what: &str,
) -> Result<(Box<dyn BufRead + 'a>, DigestCell), Error> {
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
    let (mut raw, digest) = DigestReader::new(raw);
    let gz = raw.fill_buf().map(|b| b.starts_with(&[0x1f, 0x8b])).unwrap_or(false);
    if gz {
        Ok((Box::new(BufReader::with_capacity(256 * 1024, flate2::bufread::MultiGzDecoder::new(raw))), digest))
    } else {
        Ok((Box::new(raw), digest))
    }
}

/// The record inputs of an audit or a simulation in reading order, each capture file then each
/// access log: its path, its kind, and what messages call it.
pub fn records<'a>(
    captures: &'a [String],
    access: &'a [String],
) -> impl Iterator<Item = (&'a str, InputKind, &'static str)> {
    let captures = captures.iter().map(|p| (p.as_str(), InputKind::Captures, "the capture file"));
    captures.chain(access.iter().map(|p| (p.as_str(), InputKind::Access, "the access log")))
}

/// The name an input goes by in reports: its path, `<stdin>` for `-`.
pub fn display_name(path: &str) -> String {
    if path == "-" { "<stdin>".to_string() } else { path.to_string() }
}
