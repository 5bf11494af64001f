//! Reading inputs: files, `-` for stdin, gzip by magic bytes, lines with a cap.

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
