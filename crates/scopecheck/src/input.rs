//! Reading line-oriented input from any reader: lines with a length cap, UTF-8 checked, and
//! the digest of the bytes read. No file access here: callers open files (and gzip) and hand
//! over readers, so the CLI, the simulator, a Spark job and the tests read alike.

use crate::error::{Error, ErrorKind, Location};
use sha2::{Digest, Sha256};
use std::io::{BufRead, Read};
use std::sync::{Arc, Mutex};

/// Longest line read; longer lines are rejected (and skipped), not truncated.
pub const MAX_LINE: usize = crate::capture::MAX_LINE_BYTES;

/// The running sha256 and size of the bytes a [`DigestReader`] passed on.
#[derive(Debug, Clone, Default)]
pub struct DigestCell(Arc<Mutex<(Sha256, u64)>>);

impl DigestCell {
    /// Hex sha256 and size of what was read so far.
    pub fn finish(&self) -> (String, u64) {
        match self.0.lock() {
            Ok(g) => {
                let digest = g.0.clone().finalize();
                let mut hex = String::with_capacity(64);
                for b in digest {
                    hex.push_str(&format!("{b:02x}"));
                }
                (hex, g.1)
            }
            Err(_) => (String::new(), 0),
        }
    }

    fn add(&self, bytes: &[u8]) {
        if let Ok(mut g) = self.0.lock() {
            g.0.update(bytes);
            g.1 += bytes.len() as u64;
        }
    }
}

/// A reader that hashes what it passes on. Put it under a decompressor to hash a file as stored.
#[derive(Debug)]
pub struct DigestReader<R> {
    inner: R,
    cell: DigestCell,
}

impl<R> DigestReader<R> {
    /// Wraps `inner`; the digest is read from the returned cell.
    pub fn new(inner: R) -> (Self, DigestCell) {
        let cell = DigestCell::default();
        (DigestReader { inner, cell: cell.clone() }, cell)
    }
}

impl<R: Read> Read for DigestReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.cell.add(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

impl<R: BufRead> BufRead for DigestReader<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            self.cell.add(buf.get(..amt.min(buf.len())).unwrap_or_default());
        }
        self.inner.consume(amt);
    }
}

/// A line, or why it cannot be used.
pub enum Line<'a> {
    /// The text, without its line ending.
    Text(&'a str),
    /// Not UTF-8 or too long.
    Bad(String),
}

/// Calls `f` for each line (1-based numbers). Stops at the first error `f` returns, or when the
/// reader fails (a truncated gzip stream, say), naming `name` and the line.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_what_is_consumed() {
        let data = b"a\nbb\n".to_vec();
        let (mut r, cell) = DigestReader::new(std::io::BufReader::new(&data[..]));
        let mut lines = Vec::new();
        for_each_line("x", &mut r, |n, l| {
            if let Line::Text(t) = l {
                lines.push((n, t.to_string()));
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(lines, vec![(1, "a".to_string()), (2, "bb".to_string())]);
        let (hex, bytes) = cell.finish();
        assert_eq!(bytes, 5);
        assert_eq!(hex, crate::bundle::sha256_hex(&data));
    }
}
