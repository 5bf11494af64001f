//! The event reader's fast path: one loop over the line's bytes with an explicit stack of the
//! open objects and arrays, no serde visitors and no recursion.
//!
//! It fills the same [`Reader`] as the serde reader (`read_serde` in the parent module), so an
//! event read either way has the same paths, leaves and values. It handles what real pipelines
//! write: compact or spaced JSON, escapes (`\n`, `\"`, `\u00e9`, surrogate pairs), every JSON
//! number, ids given as numbers, keys the envelope does not know. Anything it would have to
//! decide differently from serde_json, or report, makes it give up (`None`) and the serde reader
//! reads the line instead:
//! - a syntax error, and anything the envelope rejects (a key given twice, a wrong type), so
//!   that every rejection keeps the serde reader's one wording;
//! - a lone surrogate in a `\u` escape;
//! - nesting deeper than [`MAX_DEPTH`];
//! - paths over the event's budget.
//!
//! Numbers are read as serde_json reads them: an integer up to 19 digits here (`u64`, or `i64`
//! below zero), anything else (fractions, exponents, longer integers, `-0`) by serde_json itself
//! from the number's text, since its rounding of decimals is its own. The readers are held to
//! the same result on every fixture, on generated events and on random and mutated lines
//! (`tests` in the parent module).

use super::{Envelope, ROOT, Reader, Scalar};
use crate::pattern::MAX_DEPTH;
use std::borrow::Cow;

/// Reads `line` into `reader`; `None` when the serde reader must read it.
pub(super) fn read<'a>(line: &'a str, reader: &mut Reader<'a>) -> Option<Envelope<'a>> {
    let mut p = Parser { line, b: line.as_bytes(), i: 0 };
    let mut env = Envelope::default();
    p.ws();
    p.eat(b'{')?;
    p.ws();
    if !p.eat_if(b'}') {
        loop {
            p.ws();
            p.eat(b'"')?;
            let key = p.string()?;
            p.ws();
            p.eat(b':')?;
            p.ws();
            let slot = match key.as_ref() {
                "ts" => Some(&mut env.ts),
                "program" => Some(&mut env.program),
                "subject" => Some(&mut env.subject),
                "subject_kind" => Some(&mut env.subject_kind),
                "source" => Some(&mut env.source),
                "store" => Some(&mut env.store),
                "data" => {
                    if env.has_data {
                        return None;
                    }
                    env.has_data = true;
                    p.data(reader)?;
                    None
                }
                _ => {
                    p.skip()?;
                    None
                }
            };
            if let Some(slot) = slot {
                if slot.is_some() {
                    return None;
                }
                let value = p.envelope_string(key == "subject")?;
                if value.is_none() && key == "ts" {
                    return None;
                }
                *slot = value;
            }
            p.ws();
            match p.next()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
    }
    p.ws();
    (p.i == p.b.len()).then_some(env)
}

/// An open object or array of `data`.
struct Open {
    /// Its node in the path tree (for an array, its `[]` node).
    node: u32,
    /// The length of the path being read before it.
    path_len: usize,
    object: bool,
}

/// What [`Parser::number_syntax`] read of a number.
struct NumberSyntax {
    negative: bool,
    /// Digits in the integer part.
    digits: usize,
    /// Their value (exact up to 19 digits).
    significand: u64,
    /// No fraction and no exponent.
    integer: bool,
}

struct Parser<'a> {
    line: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    #[inline]
    fn eat_if(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    /// Skips JSON whitespace.
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// `true`, `false` or `null`, whose first letter is next.
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i.checked_add(word.len())?;
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    /// A string whose opening quote has been read: borrowed from the line when it has no
    /// escapes (the common case, inline; escapes are read out of line).
    #[inline(always)]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let start = self.i;
        let stop = special(self.b, start);
        if self.b.get(stop) == Some(&b'"') {
            self.i = stop + 1;
            return self.line.get(start..stop).map(Cow::Borrowed);
        }
        self.escaped(start, stop)
    }

    /// The rest of a string from `start`, whose first special byte is at `stop`: unescaped into
    /// a copy when that is a backslash.
    #[cold]
    #[inline(never)]
    fn escaped(&mut self, start: usize, stop: usize) -> Option<Cow<'a, str>> {
        if self.b.get(stop) != Some(&b'\\') {
            return None;
        }
        let mut s = String::with_capacity(stop - start + 16);
        s.push_str(self.line.get(start..stop)?);
        self.i = stop;
        loop {
            match self.next()? {
                b'"' => return Some(Cow::Owned(s)),
                b'\\' => {
                    let c = match self.next()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    };
                    s.push(c);
                }
                _ => {
                    // Back on a plain run: copy it up to the next quote or backslash.
                    let from = self.i - 1;
                    let stop = special(self.b, from);
                    if !matches!(self.b.get(stop), Some(b'"' | b'\\')) {
                        return None;
                    }
                    s.push_str(self.line.get(from..stop)?);
                    self.i = stop;
                }
            }
        }
    }

    /// The character of a `\u` escape whose `u` has been read; a surrogate pair is one
    /// character, a lone surrogate gives up.
    fn unicode_escape(&mut self) -> Option<char> {
        let c = self.hex4()?;
        let code = match c {
            0xD800..=0xDBFF => {
                self.eat(b'\\')?;
                self.eat(b'u')?;
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return None;
                }
                0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => return None,
            c => c,
        };
        char::from_u32(code)
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = char::from(self.next()?).to_digit(16)?;
            v = v * 16 + d;
        }
        Some(v)
    }

    /// A number, as serde_json would read it in a value.
    #[inline]
    fn number(&mut self) -> Option<serde_json::Number> {
        let start = self.i;
        let n = self.number_syntax()?;
        // Up to nineteen digits, `digit_run`'s value is exact.
        if n.integer && n.digits <= 19 {
            if !n.negative {
                return Some(n.significand.into());
            }
            // serde_json's own rule: below zero as an i64, else (`-0`, under i64::MIN) a float.
            let v = (n.significand as i64).wrapping_neg();
            if v < 0 {
                return Some(v.into());
            }
        }
        number_text(self.line.get(start..self.i)?)
    }

    /// A number's syntax, read past: its sign, integer part and whether it has a fraction or an
    /// exponent. Only [`Parser::number`] values it (serde_json ignores the value of what it
    /// skips, so `1e999` is no error there).
    #[inline]
    fn number_syntax(&mut self) -> Option<NumberSyntax> {
        let mut i = self.i;
        let negative = self.b.get(i) == Some(&b'-');
        if negative {
            i += 1;
        }
        let (digits, significand) = match self.b.get(i)? {
            b'0' => (1, 0),
            b'1'..=b'9' => digit_run(self.b, i),
            _ => return None,
        };
        i += digits;
        let mut integer = true;
        if self.b.get(i) == Some(&b'.') {
            let (n, _) = digit_run(self.b, i + 1);
            if n == 0 {
                return None;
            }
            i += 1 + n;
            integer = false;
        }
        if let Some(b'e' | b'E') = self.b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = self.b.get(i) {
                i += 1;
            }
            let (n, _) = digit_run(self.b, i);
            if n == 0 {
                return None;
            }
            i += n;
            integer = false;
        }
        self.i = i;
        Some(NumberSyntax { negative, digits, significand, integer })
    }

    /// An envelope field's value: a string or null (`Some(None)`); for `subject`, also an
    /// integer, as text.
    fn envelope_string(&mut self, subject: bool) -> Option<Option<Cow<'a, str>>> {
        match self.peek()? {
            b'"' => {
                self.i += 1;
                self.string().map(Some)
            }
            b'n' => self.literal(b"null").map(|()| None),
            b'-' | b'0'..=b'9' if subject => {
                let n = self.number()?;
                let text = if let Some(u) = n.as_u64() { u.to_string() } else { n.as_i64()?.to_string() };
                Some(Some(Cow::Owned(text)))
            }
            _ => None,
        }
    }

    /// A key and its colon; the key is added to the path being read and its node returned.
    fn key(&mut self, reader: &mut Reader<'a>, parent: u32) -> Option<u32> {
        self.ws();
        self.eat(b'"')?;
        let start = self.i;
        let key = self.string()?;
        self.ws();
        self.eat(b':')?;
        Some(match key {
            Cow::Borrowed(k) => {
                reader.push_key_at(self.b, start, k.len());
                reader.child(parent, Some(k), Some(k))
            }
            Cow::Owned(k) => {
                reader.push_key(&k);
                reader.child(parent, Some(&k), None)
            }
        })
    }

    /// `data`, which must be an object: every scalar leaf, in document order.
    fn data(&mut self, reader: &mut Reader<'a>) -> Option<()> {
        self.eat(b'{')?;
        if reader.nodes.is_empty() {
            reader.nodes.push(ROOT);
        }
        self.ws();
        if self.eat_if(b'}') {
            return Some(());
        }
        let mut stack: Vec<Open> = Vec::with_capacity(8);
        stack.push(Open { node: 0, path_len: reader.path.len(), object: true });
        let mut node = self.key(reader, 0)?;
        loop {
            // A value at `node`, as deep as the containers open around it.
            if stack.len() > MAX_DEPTH {
                return None;
            }
            self.ws();
            match self.next()? {
                b'{' => {
                    let path_len = reader.path.len();
                    self.ws();
                    if !self.eat_if(b'}') {
                        stack.push(Open { node, path_len, object: true });
                        node = self.key(reader, node)?;
                        continue;
                    }
                }
                b'[' => {
                    let items = reader.child(node, None, None);
                    let path_len = reader.path.len();
                    self.ws();
                    if !self.eat_if(b']') {
                        reader.path.extend_from_slice(b"[]");
                        stack.push(Open { node: items, path_len, object: false });
                        node = items;
                        continue;
                    }
                }
                b'"' => {
                    let s = self.string()?;
                    reader.leaf::<serde_json::Error>(node, Scalar::Str(s)).ok()?;
                }
                b't' => {
                    self.i -= 1;
                    self.literal(b"true")?;
                    reader.leaf::<serde_json::Error>(node, Scalar::Bool(true)).ok()?;
                }
                b'f' => {
                    self.i -= 1;
                    self.literal(b"false")?;
                    reader.leaf::<serde_json::Error>(node, Scalar::Bool(false)).ok()?;
                }
                b'n' => {
                    self.i -= 1;
                    self.literal(b"null")?;
                }
                _ => {
                    self.i -= 1;
                    let n = self.number()?;
                    reader.leaf::<serde_json::Error>(node, Scalar::Number(n)).ok()?;
                }
            }
            // After a value: a comma and the next key or item, or the ends of containers.
            loop {
                let top = stack.last()?;
                self.ws();
                match self.next()? {
                    b',' => {
                        // An array's path keeps its `[]` from item to item.
                        if top.object {
                            reader.path.truncate(top.path_len);
                            node = self.key(reader, top.node)?;
                        } else {
                            node = top.node;
                        }
                        break;
                    }
                    b'}' if top.object => {
                        reader.path.truncate(top.path_len);
                        stack.pop();
                        if stack.is_empty() {
                            return Some(());
                        }
                    }
                    b']' if !top.object => {
                        reader.path.truncate(top.path_len);
                        stack.pop();
                    }
                    _ => return None,
                }
            }
        }
    }

    /// Skips a value (an envelope key scopecheck does not read), checking its syntax.
    fn skip(&mut self) -> Option<()> {
        // The closing bracket of each open container.
        let mut open: Vec<u8> = Vec::new();
        loop {
            self.ws();
            match self.next()? {
                b'{' => {
                    self.ws();
                    if !self.eat_if(b'}') {
                        open.push(b'}');
                        self.skip_key()?;
                        continue;
                    }
                }
                b'[' => {
                    self.ws();
                    if !self.eat_if(b']') {
                        open.push(b']');
                        continue;
                    }
                }
                b'"' => {
                    self.string()?;
                }
                b't' => {
                    self.i -= 1;
                    self.literal(b"true")?;
                }
                b'f' => {
                    self.i -= 1;
                    self.literal(b"false")?;
                }
                b'n' => {
                    self.i -= 1;
                    self.literal(b"null")?;
                }
                _ => {
                    self.i -= 1;
                    self.number_syntax()?;
                }
            }
            loop {
                let Some(&close) = open.last() else { return Some(()) };
                self.ws();
                match self.next()? {
                    b',' => {
                        if close == b'}' {
                            self.skip_key()?;
                        }
                        break;
                    }
                    c if c == close => {
                        open.pop();
                    }
                    _ => return None,
                }
            }
        }
    }

    fn skip_key(&mut self) -> Option<()> {
        self.ws();
        self.eat(b'"')?;
        self.string()?;
        self.ws();
        self.eat(b':')
    }
}

/// A number that is not a small integer, read by serde_json from its text (its rounding of
/// decimals is its own).
#[cold]
#[inline(never)]
fn number_text(text: &str) -> Option<serde_json::Number> {
    serde_json::from_str(text).ok()
}

/// The 8 bytes at `at` as a little-endian word, if the line has them.
#[inline(always)]
fn word(b: &[u8], at: usize) -> Option<u64> {
    let w = b.get(at..at.checked_add(8)?)?;
    <[u8; 8]>::try_from(w).ok().map(u64::from_le_bytes)
}

const POW10: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

/// The run of ASCII digits at `at`: how many, and their value (exact up to 19 digits, wrapping
/// beyond). Eight digits a loop turn, without a loop turn per digit.
#[inline]
fn digit_run(b: &[u8], at: usize) -> (usize, u64) {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    let mut i = at;
    let mut value: u64 = 0;
    while let Some(w) = word(b, i) {
        // Each byte minus '0': a digit's high bit stays clear and so does its sum with 0x76;
        // anything else sets one of them. Borrows and carries run upward only from a byte that
        // is not a digit, so the lowest flagged byte is exact.
        let d = w.wrapping_sub(ZEROS);
        let flagged = (d | d.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080;
        let n = if flagged == 0 { 8 } else { (flagged.trailing_zeros() / 8) as usize };
        if n > 0 {
            // The n digits moved to the top of the word, zeros before them.
            value =
                value.wrapping_mul(POW10.get(n).copied().unwrap_or(1)).wrapping_add(eight_digits(d << (8 * (8 - n))));
            i += n;
        }
        if n < 8 {
            return (i - at, value);
        }
    }
    while let Some(&c @ b'0'..=b'9') = b.get(i) {
        value = value.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
        i += 1;
    }
    (i - at, value)
}

/// The value of eight digits (0 to 9, one a byte, the first in the lowest byte).
#[inline(always)]
fn eight_digits(d: u64) -> u64 {
    let v = d.wrapping_mul(10).wrapping_add(d >> 8);
    let mask = 0x0000_00FF_0000_00FF;
    (v & mask).wrapping_mul(0x000F_4240_0000_0064).wrapping_add(((v >> 16) & mask).wrapping_mul(0x0000_2710_0000_0001))
        >> 32
}

/// Where the next `"`, `\` or control character is from `at` (the line's length if none):
/// eight bytes a loop turn.
#[inline]
fn special(b: &[u8], at: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = at;
    while let Some(w) = i.checked_add(8).and_then(|end| b.get(i..end)).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
        let x = u64::from_le_bytes(w);
        let quote = x ^ (ONES * u64::from(b'"'));
        let backslash = x ^ (ONES * u64::from(b'\\'));
        // A byte's high bit is set where it is zero (`quote`, `backslash`) or under 0x20; a
        // borrow only runs upward from a byte that matched, so the lowest set bit is exact.
        let hits = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (x.wrapping_sub(ONES * 0x20) & !x);
        let hits = hits & HIGH;
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::{digit_run, special};

    #[test]
    fn digit_runs_are_counted_and_valued_exactly() {
        let naive = |b: &[u8], at: usize| {
            let n = b[at..].iter().take_while(|c| c.is_ascii_digit()).count();
            let v = b[at..at + n].iter().fold(0u64, |v, c| v.wrapping_mul(10).wrapping_add(u64::from(c - b'0')));
            (n, v)
        };
        let mut texts: Vec<String> = Vec::new();
        for len in 0..=22 {
            let digits: String = (0..len).map(|k| char::from(b'0' + ((k * 7 + 3) % 10) as u8)).collect();
            for after in ["", ",", "}", "]", ".5", "e3", "/", ":", "\u{7f}", "\u{e9}", " 12345678"] {
                texts.push(format!("{digits}{after}"));
                texts.push(format!("-{digits}{after}xxxxxxxxxxxx"));
            }
        }
        texts.push("9".repeat(19));
        texts.push("18446744073709551615".into());
        for t in &texts {
            let b = t.as_bytes();
            for at in 0..b.len() {
                assert_eq!(digit_run(b, at), naive(b, at), "{t:?} at {at}");
            }
        }
    }

    #[test]
    fn special_finds_the_first_quote_backslash_or_control_character() {
        for n in 0..40 {
            for at in 0..n {
                for c in [b'"', b'\\', 0u8, 0x1f, b'\n'] {
                    let mut b = vec![b'a'; n];
                    // Bytes that look alike to a careless mask: 0x20, 0x7f, 0xa2, 0xdc.
                    for (k, x) in b.iter_mut().enumerate() {
                        *x = [b'a', 0x20, 0x7f, 0xa2, 0xdc, b'#', b']'][k % 7];
                    }
                    b[at] = c;
                    assert_eq!(special(&b, 0), at, "n {n} at {at} c {c:#x}");
                    if at > 0 {
                        b[at - 1] = c;
                        assert_eq!(special(&b, at), at, "n {n} at {at}");
                    }
                }
            }
            let plain: Vec<u8> = (0..n).map(|k| [b'a', 0x20, 0x7f, 0xa2, 0xdc][k % 5]).collect();
            assert_eq!(special(&plain, 0), n);
        }
    }
}
