//! Reading one captured event: the envelope and the leaves of its `data`, in one pass.
//!
//! An event is read straight from its JSON text into what the evaluator needs: the envelope's
//! fields and, for `data`, every non-null scalar leaf with its normalized path (`a.b[].c`, as
//! [`crate::pattern::walk_leaves`] builds them), in document order. No JSON tree is built:
//! strings and keys without escapes are borrowed from the line, each distinct path is kept once in one
//! buffer (leaves refer to it by number), so an event costs a few allocations however many
//! fields it has, and its paths cannot take more memory than [`path_budget`] allows, however
//! long and repeated its keys.
//!
//! The envelope is strict where a lenient reading could be abused: a key of the envelope given
//! twice (`"store"` twice, say) rejects the event, since two JSON readers may keep different
//! copies. A key repeated inside `data` is not an error, and every copy is classified: whichever
//! one a later reader keeps has been checked.

use crate::observe::Rejection;
use crate::pattern::MAX_DEPTH;
use chrono::{DateTime, FixedOffset};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

mod fast;

/// Largest line scopecheck evaluates (bigger lines are rejected, not truncated).
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// A scalar leaf of an event's `data`.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    /// `true` or `false`.
    Bool(bool),
    /// A number, as serde_json reads it.
    Number(serde_json::Number),
    /// A string (borrowed from the line when it has no escapes).
    Str(Cow<'a, str>),
}

impl fmt::Display for Scalar<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Number(n) => write!(f, "{n}"),
            Scalar::Str(s) => f.write_str(s),
        }
    }
}

/// A parsed, checked event.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture<'a> {
    /// `ts` as written.
    pub ts_text: Cow<'a, str>,
    /// Its time.
    pub ts: DateTime<FixedOffset>,
    /// The program that captured it.
    pub program: Option<Cow<'a, str>>,
    /// The captured person's identifier (opaque, usually pseudonymous: `e-10428`). Never part of
    /// a decision: it is only counted (people affected) and, when asked, shown or pseudonymized.
    pub subject: Option<Cow<'a, str>>,
    /// The kind of person captured (`employee`, `contractor`, `visitor`...): what the scope's
    /// `subjects:` declares.
    pub subject_kind: Option<Cow<'a, str>>,
    /// The capturing component.
    pub source: Option<Cow<'a, str>>,
    /// Where it was written.
    pub store: Option<Cow<'a, str>>,
    /// The distinct leaf paths, one after the other.
    paths: String,
    /// Where each distinct path ends in `paths`.
    path_ends: Vec<u32>,
    /// Each leaf's path (an index into `path_ends`), in document order.
    leaves: Vec<u32>,
    /// Each leaf's value, in document order.
    values: Vec<Scalar<'a>>,
    complete: bool,
}

/// A node of the path tree: a key (or `[]`, for an array) under its parent.
#[derive(Debug, Clone, Copy)]
struct PathNode<'a> {
    parent: u32,
    key: Segment<'a>,
    /// The distinct path number, once a leaf is met at this node.
    path: Option<u32>,
}

/// A path tree node's own part of the path.
#[derive(Debug, Clone, Copy)]
enum Segment<'a> {
    /// `[]`: an array's elements.
    Array,
    /// A key as written in the line (no escapes): borrowed, not copied.
    Line(&'a str),
    /// A key with escapes, unescaped into `Reader::segments` (start, end).
    Kept(u32, u32),
}

impl<'a> Segment<'a> {
    /// The key's text; `None` for `[]`.
    fn key<'s>(self, segments: &'s str) -> Option<&'s str>
    where
        'a: 's,
    {
        match self {
            Segment::Array => None,
            Segment::Line(k) => Some(k),
            Segment::Kept(s, e) => Some(segments.get(s as usize..e as usize).unwrap_or("")),
        }
    }
}

const ROOT: PathNode<'static> = PathNode { parent: 0, key: Segment::Array, path: None };

fn node_hash(parent: u32, key: Option<&str>) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write_u32(parent);
    match key {
        Some(k) => {
            h.write_u8(1);
            h.write(k.as_bytes());
        }
        None => h.write_u8(0),
    }
    h.finish()
}

/// The text of distinct path `id`.
fn distinct<'p>(paths: &'p str, ends: &[u32], id: u32) -> &'p str {
    let i = id as usize;
    let start = if i == 0 { 0 } else { ends.get(i - 1).map_or(0, |e| *e as usize) };
    let end = ends.get(i).map_or(0, |e| *e as usize);
    paths.get(start..end).unwrap_or("")
}

/// How many bytes the distinct field paths of one event may take: 1 MiB, or four times the
/// line, whichever is more. Real events stay far below (their paths are about as long as their
/// keys); only keys that are very long and repeated under many fields reach it.
pub fn path_budget(line_len: usize) -> usize {
    (1 << 20).max(line_len.saturating_mul(4))
}

impl<'a> Capture<'a> {
    /// The non-null scalar leaves of `data`, with their normalized paths, in document order.
    pub fn leaves(&self) -> impl Iterator<Item = (&str, &Scalar<'a>)> + '_ {
        self.leaves.iter().zip(&self.values).map(|(&id, value)| (distinct(&self.paths, &self.path_ends, id), value))
    }

    /// The distinct leaf paths, by number (two numbers may name the same text: `{"a.b": 1}`
    /// and `{"a": {"b": 1}}`).
    pub(crate) fn distinct_paths(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.path_ends.len()).map(|i| distinct(&self.paths, &self.path_ends, u32::try_from(i).unwrap_or(u32::MAX)))
    }

    /// Each leaf's distinct path number, in document order.
    pub(crate) fn leaf_paths(&self) -> &[u32] {
        &self.leaves
    }

    /// How many leaves `data` has.
    pub fn leaf_count(&self) -> usize {
        self.leaves.len()
    }

    /// The value of leaf `i` (document order).
    pub fn value(&self, i: usize) -> Option<&Scalar<'a>> {
        self.values.get(i)
    }

    /// A hash of what names the sequence of leaf paths exactly (not the values): the distinct
    /// paths' text and ends, then each leaf's path number ([`Capture::shape_parts`]).
    pub(crate) fn shape_hash(&self) -> u64 {
        use std::hash::Hasher;
        let mut h = rustc_hash::FxHasher::default();
        h.write(self.paths.as_bytes());
        h.write_usize(self.path_ends.len());
        for e in &self.path_ends {
            h.write_u32(*e);
        }
        h.write_usize(self.leaves.len());
        for l in &self.leaves {
            h.write_u32(*l);
        }
        h.finish()
    }

    /// The distinct paths one after the other, where each ends, and each leaf's path number:
    /// together they name the sequence of leaf paths exactly.
    pub(crate) fn shape_parts(&self) -> (&str, &[u32], &[u32]) {
        (&self.paths, &self.path_ends, &self.leaves)
    }

    /// False when `data` is nested deeper than [`MAX_DEPTH`]: the deeper parts were not read.
    pub fn complete(&self) -> bool {
        self.complete
    }
}

/// Parses one JSONL line into a checked capture.
pub fn parse_capture(line: &str) -> Result<Capture<'_>, Rejection> {
    parse(line, true)
}

/// [`parse_capture`] through the serde reader alone, never the fast path: the reference the
/// fast path is tested against (here and in `scopecheck-fuzz`). Not for general use.
#[doc(hidden)]
pub fn parse_capture_reference(line: &str) -> Result<Capture<'_>, Rejection> {
    parse(line, false)
}

/// Whether [`parse_capture`]'s fast path reads `line` itself (else the serde reader does). For
/// tests of the two readers. Not for general use.
#[doc(hidden)]
pub fn fast_path_reads(line: &str) -> bool {
    line.len() <= MAX_LINE_BYTES && fast::read(line, &mut Reader::for_line(line)).is_some()
}

fn parse(line: &str, fast: bool) -> Result<Capture<'_>, Rejection> {
    if line.len() > MAX_LINE_BYTES {
        return Err(Rejection::new(format!(
            "the line is {} bytes, over the {} byte limit",
            line.len(),
            MAX_LINE_BYTES
        )));
    }
    let read = if fast {
        let mut reader = Reader::for_line(line);
        fast::read(line, &mut reader).map(|env| (env, reader))
    } else {
        None
    };
    let (env, reader) = match read {
        Some(read) => read,
        None => read_serde(line)?,
    };
    let (Some(ts_text), true) = (env.ts, env.has_data) else {
        let key = if env.has_data { "ts" } else { "data" };
        return Err(Rejection::new(format!(
            "missing `{key}`: every capture needs `ts` (RFC 3339) and `data` (an object)"
        )));
    };
    let ts = parse_ts(&ts_text)?;
    // Keys (text), `.` and `[]`: always UTF-8.
    let Ok(paths) = String::from_utf8(reader.paths) else {
        return Err(Rejection::new("a field path in `data` is not UTF-8"));
    };
    Ok(Capture {
        ts_text,
        ts,
        program: env.program,
        subject: env.subject,
        subject_kind: env.subject_kind,
        source: env.source,
        store: env.store,
        paths,
        path_ends: reader.path_ends,
        leaves: reader.leaves,
        values: reader.values,
        complete: !reader.too_deep,
    })
}

/// Reads a line with serde_json's deserializer: the reader of record, whose wording every
/// rejection uses.
fn read_serde(line: &str) -> Result<(Envelope<'_>, Reader<'_>), Rejection> {
    let mut reader = Reader::for_line(line);
    let mut de = serde_json::Deserializer::from_str(line);
    let envelope = EnvelopeSeed { reader: &mut reader }.deserialize(&mut de).and_then(|env| {
        de.end()?;
        Ok(env)
    });
    match envelope {
        Ok(env) => Ok((env, reader)),
        Err(e) => Err(Rejection::new(match reader.reason.take() {
            Some(reason) => reason,
            None => format!("not valid JSON: {e}"),
        })),
    }
}

/// Parses a record's `ts` as RFC 3339 with an offset. The rejection gives the text's length, never
/// the text: a collector under audit may put anything in `ts`, a secret included.
pub(crate) fn parse_ts(text: &str) -> std::result::Result<DateTime<FixedOffset>, Rejection> {
    DateTime::parse_from_rfc3339(text).map_err(|e| {
        Rejection::new(format!(
            "`ts` ({} characters, not shown) is not an RFC 3339 time with offset ({e}); write e.g. 2026-05-12T09:14:03-07:00",
            text.chars().count()
        ))
    })
}

/// What the walk over `data` collects.
#[derive(Default)]
struct Reader<'a> {
    /// The path being read (UTF-8: keys, `.` and `[]`; bytes, so that cutting it back costs no
    /// check of character boundaries).
    path: Vec<u8>,
    /// The distinct leaf paths, one after the other, and where each ends (UTF-8, checked once
    /// when the event is read, rather than path by path).
    paths: Vec<u8>,
    path_ends: Vec<u32>,
    /// The tree of paths met: node 0 is `data`; a node is a key or `[]` under its parent.
    nodes: Vec<PathNode<'a>>,
    /// The nodes' numbers, by the hash of (parent, segment).
    node_index: hashbrown::HashTable<u32>,
    /// The keys of the nodes that have escapes, unescaped, one after the other.
    segments: String,
    /// Most bytes `paths` may take.
    budget: usize,
    leaves: Vec<u32>,
    values: Vec<Scalar<'a>>,
    too_deep: bool,
    /// Why the event was rejected, when it is not a JSON syntax error.
    reason: Option<String>,
}

impl<'a> Reader<'a> {
    /// A reader sized for a typical event of `line` up front (a leaf costs at least six bytes
    /// of JSON, `"k":1,`), so that reading it does not grow these again and again.
    fn for_line(line: &str) -> Reader<'a> {
        Reader {
            path: Vec::with_capacity(128),
            paths: Vec::with_capacity((line.len() / 2).min(1 << 16)),
            path_ends: Vec::with_capacity((line.len() / 32).min(4096)),
            nodes: Vec::with_capacity((line.len() / 16).min(4096)),
            node_index: hashbrown::HashTable::with_capacity((line.len() / 16).min(4096)),
            leaves: Vec::with_capacity((line.len() / 16).min(4096)),
            values: Vec::with_capacity((line.len() / 16).min(4096)),
            budget: path_budget(line.len()),
            ..Reader::default()
        }
    }

    fn reject<E: de::Error>(&mut self, reason: impl Into<String>) -> E {
        let reason = reason.into();
        let e = E::custom(&reason);
        self.reason = Some(reason);
        e
    }

    /// The node for `key` (or `[]` when `None`) under `parent`, made if new. Costs the key's
    /// length, whatever the length of the path above it. `in_line` is the same key when it is
    /// borrowed from the line (no escapes): a new node then refers to it instead of a copy.
    fn child(&mut self, parent: u32, key: Option<&str>, in_line: Option<&'a str>) -> u32 {
        let Reader { nodes, node_index, segments, .. } = self;
        let hash = node_hash(parent, key);
        let found = node_index.find(hash, |&id| {
            nodes.get(id as usize).is_some_and(|n| {
                n.parent == parent
                    && match (n.key.key(segments), key) {
                        (Some(a), Some(b)) => crate::bytes::str_eq(a, b),
                        (a, b) => a.is_none() && b.is_none(),
                    }
            })
        });
        if let Some(&id) = found {
            return id;
        }
        let segment = match (key, in_line) {
            (None, _) => Segment::Array,
            (Some(_), Some(k)) => Segment::Line(k),
            (Some(k), None) => {
                let start = segments.len();
                segments.push_str(k);
                Segment::Kept(
                    u32::try_from(start).unwrap_or(u32::MAX),
                    u32::try_from(segments.len()).unwrap_or(u32::MAX),
                )
            }
        };
        let id = u32::try_from(nodes.len()).unwrap_or(u32::MAX);
        nodes.push(PathNode { parent, key: segment, path: None });
        node_index.insert_unique(hash, id, |&id| {
            let n = nodes.get(id as usize).copied().unwrap_or(ROOT);
            node_hash(n.parent, n.key.key(segments))
        });
        id
    }

    /// Appends a key to the path being read.
    fn push_key(&mut self, key: &str) {
        if !self.path.is_empty() {
            self.path.push(b'.');
        }
        self.path.extend_from_slice(key.as_bytes());
    }

    /// Appends the key of `len` bytes at `start` of `line` to the path being read. A short key is
    /// copied as sixteen bytes and cut back (a copy of a known size is a few moves, where one of
    /// any size is a `memcpy` call, in wasm a call out of the module).
    #[inline]
    fn push_key_at(&mut self, line: &[u8], start: usize, len: usize) {
        if !self.path.is_empty() {
            self.path.push(b'.');
        }
        let at = self.path.len();
        match start.checked_add(16).and_then(|end| line.get(start..end)).and_then(|w| <&[u8; 16]>::try_from(w).ok()) {
            Some(w) if len <= 16 => {
                self.path.extend_from_slice(w);
                self.path.truncate(at + len);
            }
            _ => self.path.extend_from_slice(line.get(start..start.saturating_add(len)).unwrap_or_default()),
        }
    }

    /// A scalar at `node`, whose path is `self.path`.
    fn leaf<E: de::Error>(&mut self, node: u32, value: Scalar<'a>) -> Result<(), E> {
        let known = self.nodes.get(node as usize).and_then(|n| n.path);
        let id = match known {
            Some(id) => id,
            None => {
                if self.paths.len().saturating_add(self.path.len()) > self.budget {
                    let budget = self.budget;
                    return Err(self.reject(format!(
                        "the field paths in `data` add up to more than {budget} bytes (very long keys repeated \
                         under many fields); shorten the keys or split the event"
                    )));
                }
                self.paths.extend_from_slice(&self.path);
                let (Ok(id), Ok(end)) = (u32::try_from(self.path_ends.len()), u32::try_from(self.paths.len())) else {
                    return Err(self.reject("`data` has too many distinct field paths"));
                };
                self.path_ends.push(end);
                if let Some(n) = self.nodes.get_mut(node as usize) {
                    n.path = Some(id);
                }
                id
            }
        };
        self.leaves.push(id);
        self.values.push(value);
        Ok(())
    }
}

#[derive(Default)]
struct Envelope<'a> {
    ts: Option<Cow<'a, str>>,
    program: Option<Cow<'a, str>>,
    subject: Option<Cow<'a, str>>,
    subject_kind: Option<Cow<'a, str>>,
    source: Option<Cow<'a, str>>,
    store: Option<Cow<'a, str>>,
    has_data: bool,
}

struct EnvelopeSeed<'r, 'a> {
    reader: &'r mut Reader<'a>,
}

const NOT_AN_OBJECT: &str = "a capture must be a JSON object with `ts` and `data`";

impl<'de, 'r> DeserializeSeed<'de> for EnvelopeSeed<'r, 'de> {
    type Value = Envelope<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Envelope<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'r> Visitor<'de> for EnvelopeSeed<'r, 'de> {
    type Value = Envelope<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a capture envelope")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope<'de>, A::Error> {
        let mut env = Envelope::default();
        while let Some(key) = map.next_key::<Text<'de>>()? {
            let slot = match key.0.as_ref() {
                "ts" => &mut env.ts,
                "program" => &mut env.program,
                "subject" => &mut env.subject,
                "subject_kind" => &mut env.subject_kind,
                "source" => &mut env.source,
                "store" => &mut env.store,
                "data" => {
                    if env.has_data {
                        return Err(self.reader.reject("`data` is given twice; an event has one `data` object"));
                    }
                    env.has_data = true;
                    map.next_value_seed(DataSeed { reader: &mut *self.reader })?;
                    continue;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if slot.is_some() {
                return Err(self.reader.reject(format!(
                    "`{}` is given twice; readers disagree on which one counts, so the event is not evaluated",
                    key.0
                )));
            }
            let value = map.next_value_seed(EnvString { reader: &mut *self.reader, key: &key.0 })?;
            if value.is_none() && key.0 == "ts" {
                return Err(self.reader.reject("`ts` must be a string: an RFC 3339 time with offset"));
            }
            *slot = value;
        }
        Ok(env)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Envelope<'de>, A::Error> {
        Err(self.reader.reject(NOT_AN_OBJECT))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Envelope<'de>, E> {
        Err(self.reader.reject(NOT_AN_OBJECT))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Envelope<'de>, E> {
        Err(self.reader.reject(NOT_AN_OBJECT))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Envelope<'de>, E> {
        Err(self.reader.reject(NOT_AN_OBJECT))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Envelope<'de>, E> {
        Err(self.reader.reject(NOT_AN_OBJECT))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Envelope<'de>, E> {
        Err(self.reader.reject(NOT_AN_OBJECT))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Envelope<'de>, E> {
        Err(self.reader.reject(NOT_AN_OBJECT))
    }
}

/// A string, borrowed from the input when it can be.
struct Text<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A string field of the envelope, or null.
struct EnvString<'r, 'a, 'k> {
    reader: &'r mut Reader<'a>,
    key: &'k str,
}

impl<'de> DeserializeSeed<'de> for EnvString<'_, 'de, '_> {
    type Value = Option<Cow<'de, str>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> EnvString<'_, 'de, '_> {
    fn wrong<E: de::Error>(self) -> Result<Option<Cow<'de, str>>, E> {
        let what = if self.key == "subject" { "a string or an integer (the person's id)" } else { "a string" };
        Err(self.reader.reject(format!("bad envelope: `{}` must be {what}", self.key)))
    }

    /// `subject` is an id, and ids are often numbers: `12345` and `"12345"` are the same person.
    fn id_number<E: de::Error>(self, n: impl fmt::Display) -> Result<Option<Cow<'de, str>>, E> {
        if self.key == "subject" { Ok(Some(Cow::Owned(n.to_string()))) } else { self.wrong() }
    }
}

impl<'de> Visitor<'de> for EnvString<'_, 'de, '_> {
    type Value = Option<Cow<'de, str>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        self.wrong()
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        self.id_number(n)
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        self.id_number(n)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        self.wrong()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        self.wrong()
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        self.wrong()
    }
}

/// `data`: must be an object.
struct DataSeed<'r, 'a> {
    reader: &'r mut Reader<'a>,
}

impl<'de, 'r> DeserializeSeed<'de> for DataSeed<'r, 'de> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'r> Visitor<'de> for DataSeed<'r, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        if self.reader.nodes.is_empty() {
            self.reader.nodes.push(ROOT);
        }
        Node { reader: self.reader, depth: 0, node: 0 }.visit_map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.reader.reject("`data` must be a JSON object"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.reader.reject("`data` must be a JSON object"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(self.reader.reject("`data` must be a JSON object"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(self.reader.reject("`data` must be a JSON object"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(self.reader.reject("`data` must be a JSON object"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(self.reader.reject("`data` must be a JSON object"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(self.reader.reject("`data` must be a JSON object"))
    }
}

/// Any value inside `data`, at `depth` (`data` itself is 0).
struct Node<'r, 'a> {
    reader: &'r mut Reader<'a>,
    depth: usize,
    /// Its place in the path tree.
    node: u32,
}

impl<'de, 'r> DeserializeSeed<'de> for Node<'r, 'de> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.depth > MAX_DEPTH {
            self.reader.too_deep = true;
            IgnoredAny::deserialize(d)?;
            return Ok(());
        }
        d.deserialize_any(self)
    }
}

/// Appends a key to the path; its value is the key's node.
struct Key<'r, 'a> {
    reader: &'r mut Reader<'a>,
    parent: u32,
}

impl<'de> DeserializeSeed<'de> for Key<'_, 'de> {
    type Value = u32;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<u32, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_, 'de> {
    type Value = u32;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<u32, E> {
        self.reader.push_key(v);
        Ok(self.reader.child(self.parent, Some(v), Some(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<u32, E> {
        self.reader.push_key(v);
        Ok(self.reader.child(self.parent, Some(v), None))
    }
}

use serde::de::Deserialize as _;

impl<'de, 'r> Visitor<'de> for Node<'r, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (reader, depth, parent) = (self.reader, self.depth + 1, self.node);
        let len = reader.path.len();
        while let Some(node) = map.next_key_seed(Key { reader: &mut *reader, parent })? {
            map.next_value_seed(Node { reader: &mut *reader, depth, node })?;
            reader.path.truncate(len);
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (reader, depth) = (self.reader, self.depth + 1);
        let node = reader.child(self.node, None, None);
        let len = reader.path.len();
        reader.path.extend_from_slice(b"[]");
        while seq.next_element_seed(Node { reader: &mut *reader, depth, node })?.is_some() {}
        reader.path.truncate(len);
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.reader.leaf(self.node, Scalar::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.reader.leaf(self.node, Scalar::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.reader.leaf(self.node, Scalar::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        // JSON numbers are finite; serde_json reads an overflowing one as an error, not infinity.
        match serde_json::Number::from_f64(v) {
            Some(n) => self.reader.leaf(self.node, Scalar::Number(n)),
            None => Ok(()),
        }
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        self.reader.leaf(self.node, Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.reader.leaf(self.node, Scalar::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<(), E> {
        self.reader.leaf(self.node, Scalar::Str(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn leaves(line: &str) -> Vec<(String, String)> {
        let c = parse_capture(line).unwrap();
        c.leaves().map(|(p, v)| (p.to_string(), v.to_string())).collect()
    }

    #[test]
    fn good_capture() {
        let c =
            parse_capture(r#"{"ts":"2026-05-12T09:14:03-07:00","program":"mci","extra":[1,{"x":2}],"data":{"a":1}}"#)
                .unwrap();
        assert_eq!(c.program.as_deref(), Some("mci"));
        assert_eq!(c.store, None);
        assert_eq!(c.ts_text, "2026-05-12T09:14:03-07:00");
        assert!(c.complete());
    }

    #[test]
    fn leaves_match_the_value_walk() {
        let data = json!({"input": {"keystrokes": [{"interval_ms": 5}, {"interval_ms": 7.5}], "pointer": {"x": -1}},
                          "tags": ["a", "b\"q"], "nothing": null, "grid": [[1]], "e": {}, "f": [], "t": true,
                          "big": 18446744073709551615u64, "esc": "caf\u{e9} \n"});
        let line = json!({"ts": "2026-05-12T09:14:03Z", "data": data}).to_string();
        let mut want = Vec::new();
        crate::pattern::walk_leaves(&data, |l| {
            let v = match l.value {
                serde_json::Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            want.push((l.path.to_string(), v));
        });
        assert_eq!(leaves(&line), want);
    }

    /// A key written with escapes is the same key as written without: one node, one path (the
    /// escaped spelling is copied unescaped, the plain one borrowed from the line).
    #[test]
    fn escaped_and_plain_spellings_of_a_key_are_one_path() {
        let line = r#"{"ts":"2026-05-12T09:14:03Z","data":{"a\u0062":1,"ab":2,"x\"y":{"z":3},"p":{"q\n":[4]},"ab":5}}"#;
        let c = parse_capture(line).unwrap();
        let got: Vec<(String, String)> = c.leaves().map(|(p, v)| (p.to_string(), v.to_string())).collect();
        let want = [("ab", "1"), ("ab", "2"), ("x\"y.z", "3"), ("p.q\n[]", "4"), ("ab", "5")];
        assert_eq!(got, want.map(|(p, v)| (p.to_string(), v.to_string())));
        // Both spellings of `ab` are one distinct path.
        assert_eq!(c.leaf_paths(), [0, 0, 1, 2, 0]);
        assert_eq!(c.distinct_paths().collect::<Vec<_>>(), ["ab", "x\"y.z", "p.q\n[]"]);
    }

    #[test]
    fn repeated_keys_in_data_are_all_read() {
        let got = leaves(r#"{"ts":"2026-05-12T09:14:03Z","data":{"a":"x","a":"y"}}"#);
        assert_eq!(got, [("a".to_string(), "x".to_string()), ("a".to_string(), "y".to_string())]);
    }

    #[test]
    fn repeated_envelope_keys_are_rejected() {
        let r = parse_capture(r#"{"ts":"2026-05-12T09:14:03Z","store":"a","store":"b","data":{}}"#).unwrap_err();
        assert!(r.reason.contains("`store` is given twice"), "{}", r.reason);
        let r = parse_capture(r#"{"ts":"2026-05-12T09:14:03Z","data":{},"data":{}}"#).unwrap_err();
        assert!(r.reason.contains("`data` is given twice"), "{}", r.reason);
    }

    #[test]
    fn rejections_say_why() {
        let reason = |l: &str| parse_capture(l).unwrap_err().reason;
        assert!(reason("{\"ts\":").starts_with("not valid JSON"));
        assert!(reason(r#"{"ts":"2026-05-12T09:14:03Z","data":{}} x"#).starts_with("not valid JSON"));
        assert!(reason(r#"{"data":{}}"#).contains("missing `ts`"));
        assert!(reason(r#"{"ts":"2026-05-12T09:14:03Z"}"#).contains("missing `data`"));
        assert!(reason(r#"{"ts":"yesterday","data":{}}"#).contains("RFC 3339"));
        assert_eq!(reason(r#"{"ts":"2026-05-12T09:14:03Z","data":[1]}"#), "`data` must be a JSON object");
        assert_eq!(reason(r#"{"ts":"2026-05-12T09:14:03Z","data":null}"#), "`data` must be a JSON object");
        assert_eq!(reason("[1,2]"), NOT_AN_OBJECT);
        assert_eq!(reason("7"), NOT_AN_OBJECT);
        assert_eq!(
            reason(r#"{"ts":"2026-05-12T09:14:03Z","store":7,"data":{}}"#),
            "bad envelope: `store` must be a string"
        );
        assert!(reason(r#"{"ts":null,"data":{}}"#).contains("`ts` must be a string"));
    }

    #[test]
    fn long_keys_repeated_cannot_blow_up_memory() {
        // A 200 KiB key over 10,000 array elements: 2 GB of paths if each leaf kept its own.
        let key = "k".repeat(200 << 10);
        let line = format!(r#"{{"ts":"2026-05-12T09:14:03Z","data":{{"{key}":[{}1]}}}}"#, "1,".repeat(10_000));
        let c = parse_capture(&line).unwrap();
        assert_eq!(c.leaf_count(), 10_001);
        assert!(c.paths.len() < 300 << 10, "{}", c.paths.len());
        // The same over objects in an array: each leaf costs its own key, not the path above it.
        let items = vec![r#"{"b":1,"c":2}"#; 10_000].join(",");
        let line = format!(r#"{{"ts":"2026-05-12T09:14:03Z","data":{{"{key}":[{items}]}}}}"#);
        let c = parse_capture(&line).unwrap();
        assert_eq!(c.leaf_count(), 20_000);
        assert_eq!(c.leaves().filter(|(p, _)| p.ends_with("[].c")).count(), 10_000);
        assert!(c.paths.len() < 500 << 10, "{}", c.paths.len());
        // Many distinct fields under a long key: refused past the budget, with the reason.
        let fields: Vec<String> = (0..40).map(|i| format!(r#""f{i}":1"#)).collect();
        let line = format!(r#"{{"ts":"2026-05-12T09:14:03Z","data":{{"{key}":{{{}}}}}}}"#, fields.join(","));
        let r = parse_capture(&line).unwrap_err();
        assert!(r.reason.contains("field paths in `data` add up to more than"), "{}", r.reason);
    }

    #[test]
    fn null_envelope_fields_are_absent() {
        let c = parse_capture(r#"{"ts":"2026-05-12T09:14:03Z","store":null,"data":{}}"#).unwrap();
        assert_eq!(c.store, None);
    }

    #[test]
    fn depth_is_capped() {
        let mut deep = String::from("1");
        for _ in 0..MAX_DEPTH {
            deep = format!("{{\"a\":{deep}}}");
        }
        let ok = format!(r#"{{"ts":"2026-05-12T09:14:03Z","data":{deep}}}"#);
        assert!(parse_capture(&ok).unwrap().complete());
        let too = format!(r#"{{"ts":"2026-05-12T09:14:03Z","data":{{"b":{deep}}}}}"#);
        let c = parse_capture(&too).unwrap();
        assert!(!c.complete());
        // Far deeper: skipped without recursion, still marked.
        let way = format!(
            r#"{{"ts":"2026-05-12T09:14:03Z","data":{{"a":{}1{}}}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(!parse_capture(&way).unwrap().complete());
    }
}
