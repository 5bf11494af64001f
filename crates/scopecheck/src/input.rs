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

/// Calls `f` for each line (1-based numbers), with lines up to [`MAX_LINE`] bytes. Stops at the
/// first error `f` returns, or when the reader fails (a truncated gzip stream, say), naming `name`
/// and the line.
pub fn for_each_line(
    name: &str,
    r: &mut dyn BufRead,
    f: impl FnMut(u64, Line<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    for_each_line_limited(name, r, MAX_LINE, f)
}

/// As [`for_each_line`], with lines of at most `max_line` bytes (not counting the line ending;
/// at least 1, at most [`MAX_LINE`]). A longer line is handed over as [`Line::Bad`] with its
/// number, without being kept in memory past the limit, and reading goes on with the next line.
/// A UTF-8 byte order mark at the start of the input is not part of the first line.
pub fn for_each_line_limited(
    name: &str,
    r: &mut dyn BufRead,
    max_line: usize,
    mut f: impl FnMut(u64, Line<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    let max_line = max_line.clamp(1, MAX_LINE);
    // Room for the line, a `\r` and the `\n`: a line of exactly `max_line` bytes ending in CRLF fits.
    let cap = max_line as u64 + 2;
    let mut buf = Vec::with_capacity(4096.min(max_line + 2));
    let mut n: u64 = 0;
    loop {
        buf.clear();
        let read = (&mut *r).take(cap).read_until(b'\n', &mut buf).map_err(|e| read_error(name, n + 1, &e))?;
        if read == 0 {
            return Ok(());
        }
        n += 1;
        if buf.len() as u64 == cap && buf.last() != Some(&b'\n') {
            // Skip the rest of the over-long line, a MiB at a time.
            let mut sink = Vec::new();
            loop {
                sink.clear();
                let more = (&mut *r).take(1 << 20).read_until(b'\n', &mut sink).map_err(|e| read_error(name, n, &e))?;
                if more == 0 || sink.last() == Some(&b'\n') {
                    break;
                }
            }
            f(n, Line::Bad(too_long(max_line)))?;
            continue;
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        let mut text: &[u8] = &buf;
        if n == 1
            && let Some(rest) = text.strip_prefix(b"\xef\xbb\xbf")
        {
            text = rest;
        }
        if text.len() > max_line {
            f(n, Line::Bad(too_long(max_line)))?;
            continue;
        }
        match std::str::from_utf8(text) {
            Ok(s) => f(n, Line::Text(s))?,
            Err(e) => f(
                n,
                Line::Bad(format!(
                    "not UTF-8 text (byte 0x{:02x} at column {}); save the file as UTF-8",
                    text.get(e.valid_up_to()).copied().unwrap_or(0),
                    e.valid_up_to() + 1
                )),
            )?,
        }
    }
}

fn too_long(max_line: usize) -> String {
    format!("the line is longer than {max_line} bytes, the longest line read; it was skipped")
}

fn read_error(name: &str, line: u64, e: &std::io::Error) -> Error {
    let lines_before = line.saturating_sub(1);
    Error::new(
        ErrorKind::Input,
        Location { file: name.to_string(), line: usize::try_from(line).ok(), column: None },
        format!("cannot read line {line} or anything after it ({lines_before} lines were read): {e}"),
    )
    .with_help(match e.kind() {
        std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof => {
            "the file is cut short or is not a valid gzip stream (`gzip -t FILE` checks it); export it again, \
             or audit the part that can be read (`zcat FILE > part.jsonl` keeps what decompresses)"
        }
        _ => "check that the file can be read to its end (`cat FILE > /dev/null` shows the same error)",
    })
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

    fn lines(data: &[u8], max: usize) -> Vec<(u64, Result<String, String>)> {
        let mut out = Vec::new();
        for_each_line_limited("x", &mut &data[..], max, |n, l| {
            out.push((
                n,
                match l {
                    Line::Text(t) => Ok(t.to_string()),
                    Line::Bad(r) => Err(r),
                },
            ));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn over_long_lines_are_rejected_with_their_number_and_reading_goes_on() {
        let got = lines(b"abcd\nabcde\r\nabcdefghij\nab\nabcde", 4);
        assert_eq!(got[0], (1, Ok("abcd".into())));
        assert!(got[1].1.as_ref().is_err_and(|r| r.contains("longer than 4 bytes")), "{got:?}");
        assert!(got[2].1.is_err() && got[2].0 == 3, "{got:?}");
        assert_eq!(got[3], (4, Ok("ab".into())));
        assert!(got[4].1.is_err() && got[4].0 == 5, "{got:?}");
        // A line of exactly the limit fits, with either line ending.
        assert_eq!(lines(b"abcd\r\nabcd", 4), vec![(1, Ok("abcd".into())), (2, Ok("abcd".into()))]);
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_line() {
        let got = lines(b"\xef\xbb\xbf{}\n\xef\xbb\xbf{}\n", 100);
        assert_eq!(got[0], (1, Ok("{}".into())));
        // Only at the start of the input.
        assert_eq!(got[1], (2, Ok("\u{feff}{}".into())));
    }

    #[test]
    fn invalid_utf8_names_the_byte_and_column() {
        let got = lines(b"ab\xffcd\n", 100);
        assert!(got[0].1.as_ref().is_err_and(|r| r.contains("0xff at column 3")), "{got:?}");
    }
}
