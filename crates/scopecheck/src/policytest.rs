//! `scopecheck test`: policy unit tests written as data, with rule coverage.
//!
//! A **suite** (YAML) names a declared scope (a file, or inline), optionally a store inventory,
//! rule files and detector files, and **cases**: one capture event, one access-log entry or one
//! store-inventory entry each, with what must come of it: the exact set of rule ids that fire
//! and, for events, what `enforce` would decide. Each case is run through the real audit
//! ([`crate::audit::Auditor`]) and, for events, the real runtime decision
//! ([`crate::decide::Decider`]): a passing case proves what an audit and `enforce` do with that
//! input, not what a second implementation thinks they do.
//!
//! Coverage is per rule in force (the engine's, the built-in and the user's): a rule is covered
//! when some case expects it and it fired. The library reads no file: the caller resolves the
//! paths a suite names ([`Suite::scope`], [`Suite::stores`], [`Suite::policies`],
//! [`Suite::detectors`], relative to the suite file) and passes their texts in a [`Setup`].
//!
//! The format is described in `docs/policy-tests.md`.

use crate::audit::{AuditOptions, Auditor, InputKind};
use crate::decide::{DecideOptions, Decider, ErrorCode, Mode, Verdict};
use crate::error::{Error, ErrorKind, Location, Result, did_you_mean, line_col, offset_of};
use crate::eval::{Engine, UNCLASSIFIED};
use crate::observe::{ObservedStore, parse_access, parse_capture};
use crate::rules::Severity;
use crate::scope::{locate_from, yaml_error};
use crate::{Setup, Source};
use miette::{NamedSource, SourceSpan};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;

/// Version of the JSON output of `scopecheck test` (`format_version`).
pub const FORMAT_VERSION: u32 = 1;

/// The top-level keys of a suite.
pub const SUITE_KEYS: &[&str] = &[
    "name",
    "scope",
    "stores",
    "policies",
    "no_builtin_rules",
    "disable",
    "detectors",
    "enforce",
    "defaults",
    "cases",
];

// ---------------------------------------------------------------------------------------------
// The suite file

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuite {
    #[serde(default)]
    name: Option<String>,
    scope: serde_yaml::Value,
    #[serde(default)]
    stores: Option<serde_yaml::Value>,
    #[serde(default)]
    policies: Vec<String>,
    #[serde(default)]
    no_builtin_rules: bool,
    #[serde(default)]
    disable: Vec<String>,
    #[serde(default)]
    detectors: Vec<String>,
    #[serde(default)]
    enforce: Option<EnforceSpec>,
    #[serde(default)]
    defaults: Option<Defaults>,
    cases: Vec<RawCase>,
}

/// How `enforce` decides in this suite (`enforce:`): its mode and threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnforceSpec {
    /// `enforce` (default) or `monitor`.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// Findings below this severity change nothing (default `info`: every finding counts).
    #[serde(default)]
    pub act_on: Option<Severity>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Defaults {
    #[serde(default)]
    event: Option<EventSpec>,
    #[serde(default)]
    access: Option<AccessSpec>,
}

/// A key given (`Some`), given as `null` (`Some(None)`: it removes the default), or absent.
type Given<T> = Option<Option<T>>;

/// Reads a key that is present, even as `null`.
fn given<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> std::result::Result<Given<T>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Puts the keys that have a value into a JSON object.
fn object(keys: Vec<(&str, Option<serde_json::Value>)>) -> String {
    let map: serde_json::Map<String, serde_json::Value> =
        keys.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_string(), v))).collect();
    serde_json::Value::Object(map).to_string()
}

fn string_value(v: Given<String>) -> Option<serde_json::Value> {
    v.flatten().map(serde_json::Value::String)
}

/// A capture event as a case writes it (the documented envelope). Every key may come from the
/// suite's `defaults: {event: ...}`; `null` removes a default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventSpec {
    #[serde(default, deserialize_with = "given")]
    ts: Given<String>,
    #[serde(default, deserialize_with = "given")]
    program: Given<String>,
    #[serde(default, deserialize_with = "given")]
    subject: Given<serde_json::Value>,
    #[serde(default, deserialize_with = "given")]
    subject_kind: Given<String>,
    #[serde(default, deserialize_with = "given")]
    source: Given<String>,
    #[serde(default, deserialize_with = "given")]
    store: Given<String>,
    #[serde(default, deserialize_with = "given")]
    data: Given<serde_json::Value>,
}

impl EventSpec {
    /// The event over the defaults, as a JSON line.
    fn line(self, d: &EventSpec) -> String {
        object(vec![
            ("ts", string_value(self.ts.or_else(|| d.ts.clone()))),
            ("program", string_value(self.program.or_else(|| d.program.clone()))),
            ("subject", self.subject.or_else(|| d.subject.clone()).flatten()),
            ("subject_kind", string_value(self.subject_kind.or_else(|| d.subject_kind.clone()))),
            ("source", string_value(self.source.or_else(|| d.source.clone()))),
            ("store", string_value(self.store.or_else(|| d.store.clone()))),
            ("data", self.data.or_else(|| d.data.clone()).flatten()),
        ])
    }
}

/// An access-log entry as a case writes it; keys may come from `defaults: {access: ...}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessSpec {
    #[serde(default, deserialize_with = "given")]
    ts: Given<String>,
    #[serde(default, deserialize_with = "given")]
    actor: Given<String>,
    #[serde(default, deserialize_with = "given")]
    role: Given<String>,
    #[serde(default, deserialize_with = "given")]
    store: Given<String>,
    #[serde(default, deserialize_with = "given")]
    fields: Given<Vec<String>>,
    #[serde(default, deserialize_with = "given")]
    purpose: Given<String>,
}

impl AccessSpec {
    /// The entry over the defaults, as a JSON line.
    fn line(self, d: &AccessSpec) -> String {
        let fields = self.fields.or_else(|| d.fields.clone()).flatten();
        object(vec![
            ("ts", string_value(self.ts.or_else(|| d.ts.clone()))),
            ("actor", string_value(self.actor.or_else(|| d.actor.clone()))),
            ("role", string_value(self.role.or_else(|| d.role.clone()))),
            ("store", string_value(self.store.or_else(|| d.store.clone()))),
            (
                "fields",
                fields.map(|f| serde_json::Value::Array(f.into_iter().map(serde_json::Value::String).collect())),
            ),
            ("purpose", string_value(self.purpose.or_else(|| d.purpose.clone()))),
        ])
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: String,
    #[serde(default)]
    event: Option<EventSpec>,
    #[serde(default)]
    access: Option<AccessSpec>,
    #[serde(default)]
    store: Option<ObservedStore>,
    #[serde(default)]
    stores: Option<Vec<ObservedStore>>,
    #[serde(default)]
    enforce: Option<EnforceSpec>,
    expect: Expect,
}

/// What a case expects.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The exact set of rule ids that fire (`[]`: clean).
    pub rules: Vec<String>,
    /// Events only: what `enforce` decides (in the suite's mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Verdict>,
    /// Events only: the exact set of field paths a `redact` removes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<Vec<String>>,
    /// The exact set of categories the findings are about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
}

/// A file the suite names, relative to the suite file, and where it names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRef {
    /// As written in the suite.
    pub path: String,
    /// Where it is written.
    pub at: Location,
}

/// The scope of a suite.
#[derive(Debug, Clone)]
pub enum ScopeRef {
    /// A file.
    File(PathRef),
    /// Written in the suite: its text (errors in it are mapped back onto the suite file).
    Inline(Source),
}

/// The store inventory every case of a suite sees (unless the case gives its own).
#[derive(Debug, Clone)]
pub enum StoresRef {
    /// A file (YAML or JSON, `stores: [...]`).
    File(PathRef),
    /// Written in the suite (a list of entries).
    Inline(Vec<ObservedStore>),
}

/// What a case feeds the audit.
#[derive(Debug, Clone)]
pub enum Input {
    /// A capture event, as its JSON line.
    Event(String),
    /// An access-log entry, as its JSON line.
    Access(String),
    /// A store-inventory entry.
    Store(ObservedStore),
}

impl Input {
    /// `event`, `access` or `store`.
    pub fn kind(&self) -> &'static str {
        match self {
            Input::Event(_) => "event",
            Input::Access(_) => "access",
            Input::Store(_) => "store",
        }
    }
}

/// One case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Its name (unique in its suite).
    pub name: String,
    /// Where it is written (its `- name:` line).
    pub at: Location,
    /// What it feeds the audit.
    pub input: Input,
    /// Its own store inventory (`stores:`), instead of the suite's.
    pub stores: Option<Vec<ObservedStore>>,
    /// Its own decision options (`enforce:`), over the command line's and the suite's.
    pub enforce: EnforceSpec,
    /// What must come of it.
    pub expect: Expect,
    /// Byte range of the case in the suite text (for locating its parts).
    span: (usize, usize),
}

/// A parsed suite file.
#[derive(Debug, Clone)]
pub struct Suite {
    /// Its name (`name:`, else the file's stem).
    pub name: String,
    /// The file, as the user gave it.
    pub file: String,
    /// The scope.
    pub scope: ScopeRef,
    /// The inventory every case sees.
    pub stores: Option<StoresRef>,
    /// Rule files or folders.
    pub policies: Vec<PathRef>,
    /// Detector files.
    pub detectors: Vec<PathRef>,
    /// Leave out the built-in rules.
    pub no_builtin_rules: bool,
    /// Rules switched off.
    pub disable: Vec<String>,
    /// How `enforce` decides.
    pub enforce: EnforceSpec,
    /// The cases, in file order.
    pub cases: Vec<Case>,
    text: String,
    /// Where the inline scope is written.
    inline_scope: Option<InlineAt>,
}

/// Where an inline scope is written in its suite.
#[derive(Debug, Clone, Copy)]
struct InlineAt {
    /// Its first line, 0-based (= the 1-based line of `scope:`, for a block).
    first: usize,
    /// The indentation its lines lost.
    indent: usize,
    /// Written as a flow mapping (`scope: {...}`) and written out again: errors point at `scope:`.
    flow: bool,
}

/// The name an inline scope is given before its errors are mapped back onto the suite file.
const INLINE_SCOPE: &str = "<inline scope>";

fn suite_error(file: &str, text: &str, offset: usize, msg: impl Into<String>, help: impl Into<String>) -> Error {
    Error::at_offset(ErrorKind::Input, file, text, offset.min(text.len()), 1, msg).with_help(help)
}

/// Parses a suite file. Unknown keys are errors with the line, column and a did-you-mean; so are
/// cases with no input or two, events or access entries that are not valid, and names used twice.
pub fn parse_suite(text: &str, file: &str) -> Result<Suite> {
    if text.trim().is_empty() {
        return Err(Error::new(ErrorKind::Input, Location::file(file), "the test suite is empty")
            .with_help("a suite has `scope:` and `cases:`; see docs/policy-tests.md"));
    }
    let raw: RawSuite = serde_yaml::from_str(text).map_err(|e| {
        crate::scope::wrong_document(ErrorKind::Input, file, text, SUITE_KEYS, "a test suite").unwrap_or_else(|| {
            let mut err = yaml_error(ErrorKind::Input, file, text, &e);
            if err.help.as_deref().is_some_and(|h| h.starts_with("check the YAML syntax")) {
                err.help =
                    Some(format!("{}; a suite is described in docs/policy-tests.md", err.help.unwrap_or_default()));
            }
            err
        })
    })?;
    let top = |key: &str| top_key(text, key);
    let at = |offset: usize| {
        let (l, c) = line_col(text, offset);
        Location::at(file, l, c)
    };
    let value_at = |key: &str| top(key).map_or_else(|| Location::file(file), |(_, v)| at(v));
    let (scope, inline_scope) = match raw.scope {
        serde_yaml::Value::String(path) => (ScopeRef::File(PathRef { path, at: value_at("scope") }), None),
        serde_yaml::Value::Mapping(m) => match top("scope").and_then(|(k, _)| block_after(text, k)) {
            Some((block, first, indent)) => {
                (ScopeRef::Inline(Source::new(INLINE_SCOPE, block)), Some(InlineAt { first, indent, flow: false }))
            }
            None => {
                // A flow mapping (`scope: {...}`): written out again; errors point at `scope:`.
                let line = top("scope").map_or(0, |(k, _)| line_col(text, k).0.saturating_sub(1));
                let written = serde_yaml::to_string(&m).map_err(|e| Error::internal(e.to_string()))?;
                (
                    ScopeRef::Inline(Source::new(INLINE_SCOPE, written)),
                    Some(InlineAt { first: line, indent: 0, flow: true }),
                )
            }
        },
        _ => {
            let offset = top("scope").map_or(0, |(_, v)| v);
            return Err(suite_error(
                file,
                text,
                offset,
                "`scope` must be a file name or a mapping (the scope itself)",
                "write `scope: scope.yaml` (relative to this file), or the scope's keys indented under `scope:`",
            ));
        }
    };
    let stores = match raw.stores {
        None | Some(serde_yaml::Value::Null) => None,
        Some(serde_yaml::Value::String(path)) => Some(StoresRef::File(PathRef { path, at: value_at("stores") })),
        Some(v @ serde_yaml::Value::Sequence(_)) => {
            let list: Vec<ObservedStore> = serde_yaml::from_value(v).map_err(|e| {
                let offset = top("stores").map_or(0, |(_, v)| v);
                suite_error(
                    file,
                    text,
                    offset,
                    format!("`stores` is not a store inventory: {e}"),
                    "write a list of `{id, encryption, retention_days, region}` entries, or a file name",
                )
            })?;
            Some(StoresRef::Inline(list))
        }
        Some(_) => {
            let offset = top("stores").map_or(0, |(_, v)| v);
            return Err(suite_error(
                file,
                text,
                offset,
                "`stores` must be a file name or a list of store entries",
                "write `stores: stores.yaml`, or `stores: [{id: raw, encryption: at_rest, retention_days: 90}]`",
            ));
        }
    };
    let list_refs = |key: &str, items: Vec<String>| -> Vec<PathRef> {
        let from = top(key).map_or(0, |(k, _)| k);
        items
            .into_iter()
            .map(|path| {
                let at = locate_from(text, from, &path).map_or_else(|| value_at(key), at);
                PathRef { path, at }
            })
            .collect()
    };
    let policies = list_refs("policies", raw.policies);
    let detectors = list_refs("detectors", raw.detectors);
    let defaults = raw.defaults.unwrap_or_default();
    let items = sequence_items(text, "cases");
    if raw.cases.is_empty() {
        let offset = top("cases").map_or(0, |(k, _)| k);
        return Err(suite_error(
            file,
            text,
            offset,
            "the suite has no cases",
            "add cases under `cases:`, each with `name`, one of `event`, `access` or `store`, and `expect`",
        ));
    }
    let mut cases = Vec::with_capacity(raw.cases.len());
    let mut names: BTreeMap<String, Location> = BTreeMap::new();
    for (i, rc) in raw.cases.into_iter().enumerate() {
        let start = items.get(i).copied().unwrap_or(0);
        let end = items.get(i + 1).copied().unwrap_or(text.len());
        let span = (start, end);
        let key_at = |key: &str| key_in(text, span, key).unwrap_or(start);
        let case_at = at(key_at("name"));
        if let Some(first) = names.get(&rc.name) {
            return Err(suite_error(
                file,
                text,
                key_at("name"),
                format!("a case named `{}` is already at {first}", rc.name),
                "give every case of a suite its own name: reports and JUnit tell cases apart by it",
            ));
        }
        names.insert(rc.name.clone(), case_at.clone());
        let given: Vec<&str> =
            [("event", rc.event.is_some()), ("access", rc.access.is_some()), ("store", rc.store.is_some())]
                .into_iter()
                .filter_map(|(k, on)| on.then_some(k))
                .collect();
        let input = match (rc.event, rc.access, rc.store) {
            (Some(ev), None, None) => {
                let line = ev.line(defaults.event.as_ref().unwrap_or(&EventSpec::default()));
                if let Err(r) = parse_capture(&line) {
                    return Err(suite_error(
                        file,
                        text,
                        key_at("event"),
                        format!("the event of case `{}` is not a capture event: {}", rc.name, r.reason),
                        "an event is the capture envelope `{ts, program, subject, subject_kind, source, store, data}` with an RFC 3339 `ts` and a `data` mapping (keys may come from `defaults: {event: ...}`)",
                    ));
                }
                Input::Event(line)
            }
            (None, Some(ac), None) => {
                let line = ac.line(defaults.access.as_ref().unwrap_or(&AccessSpec::default()));
                if let Err(r) = parse_access(&line) {
                    return Err(suite_error(
                        file,
                        text,
                        key_at("access"),
                        format!("the access entry of case `{}` is not an access-log entry: {}", rc.name, r.reason),
                        "an access entry is `{ts, actor, role, store, fields: [...], purpose}` with an RFC 3339 `ts` (keys may come from `defaults: {access: ...}`)",
                    ));
                }
                Input::Access(line)
            }
            (None, None, Some(st)) => Input::Store(st),
            _ => {
                let msg = if given.is_empty() {
                    format!("case `{}` has no input", rc.name)
                } else {
                    format!("case `{}` has {}: a case has one input", rc.name, given.join(" and "))
                };
                return Err(suite_error(
                    file,
                    text,
                    key_at("name"),
                    msg,
                    "give exactly one of `event:` (a capture), `access:` (an access-log entry) or `store:` (an inventory entry); split it into several cases",
                ));
            }
        };
        if !matches!(input, Input::Event(_)) {
            for (key, set) in [("decision", rc.expect.decision.is_some()), ("removed", rc.expect.removed.is_some())] {
                if set {
                    return Err(suite_error(
                        file,
                        text,
                        key_at(key),
                        format!(
                            "`expect.{key}` is for events; case `{}` is a{} {} case",
                            rc.name,
                            if input.kind() == "access" { "n" } else { "" },
                            input.kind()
                        ),
                        "only an event is decided by `enforce`; remove the key",
                    ));
                }
            }
        }
        if rc.enforce.is_some() && !matches!(input, Input::Event(_)) {
            return Err(suite_error(
                file,
                text,
                key_at("enforce"),
                format!("`enforce` is for events; case `{}` is not an event case", rc.name),
                "only an event is decided by `enforce`; remove the key",
            ));
        }
        cases.push(Case {
            name: rc.name,
            at: case_at,
            input,
            stores: rc.stores,
            enforce: rc.enforce.unwrap_or_default(),
            expect: rc.expect,
            span,
        });
    }
    let name = raw.name.unwrap_or_else(|| {
        let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
        base.strip_suffix(".yaml").or_else(|| base.strip_suffix(".yml")).unwrap_or(base).to_string()
    });
    Ok(Suite {
        name,
        file: file.to_string(),
        scope,
        stores,
        policies,
        detectors,
        no_builtin_rules: raw.no_builtin_rules,
        disable: raw.disable,
        enforce: raw.enforce.unwrap_or_default(),
        cases,
        text: text.to_string(),
        inline_scope,
    })
}

/// Offsets of a top-level `key:` (at column 0) and of what follows it on its line (its value,
/// or the end of the line).
fn top_key(text: &str, key: &str) -> Option<(usize, usize)> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        for k in [format!("{key}:"), format!("\"{key}\":"), format!("'{key}':")] {
            if let Some(rest) = line.strip_prefix(k.as_str()) {
                let pad = rest.len() - rest.trim_start_matches([' ', '\t']).len();
                return Some((offset, offset + k.len() + pad));
            }
        }
        offset += line.len();
    }
    None
}

/// The block written under a top-level key whose value is on the following, indented lines:
/// its text dedented, its first line (0-based) in `text`, and the indentation removed. `None`
/// when the value is on the key's own line.
fn block_after(text: &str, key_offset: usize) -> Option<(String, usize, usize)> {
    let rest = text.get(key_offset..)?;
    let (key_line, after) = rest.split_once('\n')?;
    let value = key_line.split_once(':').map_or("", |(_, v)| v).trim();
    if !(value.is_empty() || value.starts_with('#')) {
        return None;
    }
    let first = line_col(text, key_offset).0; // 1-based key line = 0-based first block line
    let lines: Vec<&str> = after.split('\n').collect();
    let blank = |l: &str| l.trim().is_empty() || l.trim_start().starts_with('#');
    let indent_of = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let mut end = 0;
    for (i, l) in lines.iter().enumerate() {
        if blank(l) {
            continue;
        }
        if indent_of(l) == 0 {
            break;
        }
        end = i + 1;
    }
    let body = lines.get(..end)?;
    let indent = body.iter().filter(|l| !blank(l)).map(|l| indent_of(l)).min()?;
    let mut out = String::new();
    for l in body {
        let l = l.trim_end_matches('\r');
        out.push_str(if indent_of(l) >= indent { l.get(indent..).unwrap_or("") } else { "" });
        out.push('\n');
    }
    Some((out, first, indent))
}

/// Offsets of the items (`- ...` lines) of the block sequence under a top-level `key:`.
fn sequence_items(text: &str, key: &str) -> Vec<usize> {
    let Some((k, _)) = top_key(text, key) else { return Vec::new() };
    let Some(rest) = text.get(k..) else { return Vec::new() };
    let mut offset = k;
    let mut item_indent: Option<usize> = None;
    let mut out = Vec::new();
    for (n, line) in rest.split_inclusive('\n').enumerate() {
        let here = offset;
        offset += line.len();
        if n == 0 {
            continue;
        }
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        if body.trim().is_empty() || body.starts_with('#') {
            continue;
        }
        match item_indent {
            None if body.starts_with('-') => {
                item_indent = Some(indent);
                out.push(here + indent);
            }
            None => break,
            Some(i) if indent == i && body.starts_with('-') => out.push(here + indent),
            Some(i) if indent <= i => break,
            Some(_) => {}
        }
    }
    out
}

/// Offset of the least indented `key:` in a range of the text (a case's item).
fn key_in(text: &str, (start, end): (usize, usize), key: &str) -> Option<usize> {
    let region = text.get(start..end)?;
    let mut offset = start;
    let mut best: Option<(usize, usize)> = None;
    for line in region.split_inclusive('\n') {
        let body = line.trim_start_matches([' ', '-']);
        let indent = line.len() - body.len();
        let quoted = [format!("{key}:"), format!("\"{key}\":"), format!("'{key}':")];
        if quoted.iter().any(|q| body.starts_with(q.as_str())) && best.is_none_or(|(i, _)| indent < i) {
            best = Some((indent, offset + indent));
        }
        offset += line.len();
    }
    best.map(|(_, o)| o)
}

impl Suite {
    /// The suite's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// An error in an inline scope, moved onto the suite file's lines.
    pub fn remap(&self, mut e: Error) -> Error {
        if e.location.file != INLINE_SCOPE {
            return e;
        }
        let at = self.inline_scope.unwrap_or(InlineAt { first: 0, indent: 0, flow: true });
        e.location.file = self.file.clone();
        if let Some(l) = e.location.line {
            let (line, column) = if at.flow {
                (at.first + 1, Some(1))
            } else {
                (l + at.first, e.location.column.map(|c| c + at.indent))
            };
            e.location.line = Some(line);
            e.location.column = column;
            e.src = Some(NamedSource::new(&self.file, self.text.clone()));
            e.span = offset_of(&self.text, line, column.unwrap_or(1)).map(|o| SourceSpan::new(o.into(), 1));
        } else {
            e.src = None;
            e.span = None;
        }
        e
    }

    fn error_at(&self, offset: usize, msg: impl Into<String>, help: impl Into<String>) -> Error {
        suite_error(&self.file, &self.text, offset, msg, help)
    }
}

// ---------------------------------------------------------------------------------------------
// Running

/// A rule in force, and where it is written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleInfo {
    /// Its id.
    pub id: String,
    /// Its severity.
    pub severity: Severity,
    /// The file that defines it (`<engine>` for the engine's own rules).
    pub origin: String,
    /// Each of its policies, `file:line`.
    pub policies: Vec<String>,
    /// One of the engine's own rules (`policy-error`): no policy defines it.
    pub engine: bool,
}

/// A finding of a case (no evidence, no person: only what it is about).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CaseFinding {
    /// Rule id.
    pub rule: String,
    /// What it is about: `field chat.text`, `store scratch`...
    pub target: String,
}

/// What a case produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Actual {
    /// Rule ids that fired.
    pub rules: Vec<String>,
    /// The findings (rule and target).
    pub findings: Vec<CaseFinding>,
    /// Categories of the findings.
    pub categories: Vec<String>,
    /// Events: what `enforce` decided (in the suite's mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Verdict>,
    /// Events: what `enforce` mode would do (equals `decision` in `enforce` mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would: Option<Verdict>,
    /// Events: the field paths a `redact` removed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
}

/// One case's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseResult {
    /// Its name.
    pub name: String,
    /// `event`, `access` or `store`.
    pub kind: &'static str,
    /// `file:line:col` of the case.
    pub location: String,
    /// Its line.
    pub line: Option<usize>,
    /// Passed.
    pub passed: bool,
    /// What it expected.
    pub expected: Expect,
    /// What came of it.
    pub actual: Actual,
    /// Expected rules that did not fire.
    pub missing: Vec<String>,
    /// Rules that fired and were not expected.
    pub unexpected: Vec<String>,
    /// Every difference, one sentence each.
    pub problems: Vec<String>,
}

/// One suite's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuiteResult {
    /// Its name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// How events were decided.
    pub mode: Mode,
    /// The threshold of `enforce`.
    pub act_on: Severity,
    /// The rules in force.
    pub rules: Vec<RuleInfo>,
    /// The cases.
    pub cases: Vec<CaseResult>,
}

/// Runs a suite with `setup` (its scope, inventory, rules and detectors, as the caller loaded
/// them) and `decide` (how `enforce` decides). Errors mean the suite could not run: a bad scope
/// or policy, an expected rule id that is not in force, an event the audit rejects.
pub fn run_suite(suite: &Suite, setup: &Setup, decide: DecideOptions) -> Result<SuiteResult> {
    let base = Arc::new(setup.build().map_err(|e| suite.remap(e))?);
    let rules = rules_in_force(&base);
    check_expectations(suite, &base, &rules, &setup.disable)?;
    let mut cases = Vec::with_capacity(suite.cases.len());
    for case in &suite.cases {
        let own: Option<Vec<ObservedStore>> = match (&case.input, &case.stores) {
            (Input::Store(s), list) => {
                let mut v = list.clone().unwrap_or_default();
                v.retain(|x| x.id != s.id);
                v.push(s.clone());
                Some(v)
            }
            (_, Some(list)) => Some(list.clone()),
            (_, None) => None,
        };
        let engine = match own {
            None => Arc::clone(&base),
            Some(list) => {
                let mut s = setup.clone();
                s.stores = None;
                let mut e = s.build().map_err(|e| suite.remap(e))?;
                e.inventory = list.into_iter().map(|s| (s.id.clone(), s)).collect();
                Arc::new(e)
            }
        };
        cases.push(run_case(suite, case, engine, decide)?);
    }
    Ok(SuiteResult {
        name: suite.name.clone(),
        file: suite.file.clone(),
        mode: decide.mode,
        act_on: decide.act_on,
        rules,
        cases,
    })
}

/// The rules in force in an engine, with where their policies are written: the engine's own,
/// and every rule with a policy left (`disable` removes a rule's policies).
fn rules_in_force(engine: &Engine) -> Vec<RuleInfo> {
    let pack = &engine.rules;
    let mut at: BTreeMap<usize, Vec<(usize, usize, String)>> = BTreeMap::new();
    for policy in pack.policies().policies() {
        if let Some(meta) = pack.policy_meta(policy.id()) {
            let file = pack.sources().get(meta.source).map_or("?", |(n, _)| n.as_str());
            at.entry(meta.rule).or_default().push((meta.source, meta.line, format!("{file}:{}", meta.line)));
        }
    }
    pack.rules()
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let mut places = at.remove(&i).unwrap_or_default();
            let engine = r.origin == crate::rules::ENGINE_ORIGIN;
            if places.is_empty() && !engine {
                return None;
            }
            places.sort();
            Some(RuleInfo {
                id: r.id.clone(),
                severity: r.severity,
                origin: r.origin.clone(),
                policies: places.into_iter().map(|(_, _, s)| s).collect(),
                engine,
            })
        })
        .collect()
}

/// Expected rule ids must be rules in force, and expected categories categories.
fn check_expectations(suite: &Suite, engine: &Engine, rules: &[RuleInfo], disabled: &[String]) -> Result<()> {
    let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    for case in &suite.cases {
        let expect_at = key_in(&suite.text, case.span, "expect").unwrap_or(case.span.0);
        let find =
            |word: &str| locate_from(&suite.text, expect_at, word).filter(|o| *o < case.span.1).unwrap_or(expect_at);
        for id in &case.expect.rules {
            if !ids.contains(&id.as_str()) {
                let disabled = disabled.iter().any(|d| d == id);
                let mut help = match did_you_mean(id, ids.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`? "),
                    None => String::new(),
                };
                help.push_str(if disabled {
                    "it is switched off (`disable:` or --disable); a disabled rule cannot fire"
                } else {
                    "`scopecheck rules` (with the suite's --policies) lists the rules in force"
                });
                return Err(suite.error_at(
                    find(id),
                    format!("case `{}` expects rule `{id}`, which is not in force", case.name),
                    help,
                ));
            }
        }
        for c in case.expect.categories.iter().flatten() {
            if !(engine.taxonomy.contains(c) || c == UNCLASSIFIED) {
                let help = match engine.taxonomy.suggest(c) {
                    Some(s) => format!("did you mean `{s}`? `scopecheck taxonomy` lists the categories"),
                    None => "`scopecheck taxonomy` lists the categories".to_string(),
                };
                return Err(suite.error_at(
                    find(c),
                    format!("case `{}` expects category `{c}`, which the taxonomy does not have", case.name),
                    help,
                ));
            }
        }
    }
    Ok(())
}

fn run_case(suite: &Suite, case: &Case, engine: Arc<Engine>, decide: DecideOptions) -> Result<CaseResult> {
    let mut auditor = Auditor::new(Arc::clone(&engine), AuditOptions::default())?;
    let line = case.at.line.map_or(1, |l| l as u64);
    let input_at = key_in(&suite.text, case.span, case.input.kind()).unwrap_or(case.span.0);
    let mut decision = None;
    match &case.input {
        Input::Event(json) => {
            let file = auditor.add_file(&suite.file, InputKind::Captures);
            auditor.capture_line(file, line, json)?;
            let options = DecideOptions {
                mode: case.enforce.mode.unwrap_or(decide.mode),
                act_on: case.enforce.act_on.unwrap_or(decide.act_on),
                ..decide
            };
            let mut decider = Decider::new(Arc::clone(&engine), options)?;
            let d = decider.decide_line(json);
            if let Some(err) = d.error.as_ref().filter(|e| e.code != ErrorCode::PolicyError) {
                return Err(suite.error_at(
                    input_at,
                    format!("the event of case `{}` could not be decided: {}", case.name, err.message),
                    "fix the event so that `enforce` can read it",
                ));
            }
            decision = Some(d);
        }
        Input::Access(json) => {
            let file = auditor.add_file(&suite.file, InputKind::Access);
            auditor.access_line(file, line, json)?;
        }
        Input::Store(_) => {}
    }
    let report = auditor.finish()?;
    if let Some(r) = report.rejected.first() {
        return Err(suite.error_at(
            input_at,
            format!("the audit rejects the {} of case `{}`: {}", case.input.kind(), case.name, r.reason),
            "a case's input must be one the audit reads (the scope's `program`, a valid envelope)",
        ));
    }
    let mut findings: Vec<CaseFinding> =
        report.findings.iter().map(|f| CaseFinding { rule: f.rule.clone(), target: f.target.to_string() }).collect();
    findings.sort();
    let rules: BTreeSet<String> = report.findings.iter().map(|f| f.rule.clone()).collect();
    let categories: BTreeSet<String> = report.findings.iter().flat_map(|f| f.categories.iter().cloned()).collect();
    let expected_rules: BTreeSet<String> = case.expect.rules.iter().cloned().collect();
    let missing: Vec<String> = expected_rules.difference(&rules).cloned().collect();
    let unexpected: Vec<String> = rules.difference(&expected_rules).cloned().collect();
    let mut problems = Vec::new();
    for r in &missing {
        problems.push(format!("expected rule `{r}` did not fire"));
    }
    for r in &unexpected {
        let about: Vec<&str> = findings.iter().filter(|f| &f.rule == r).map(|f| f.target.as_str()).collect();
        problems.push(format!("rule `{r}` fired, not expected ({})", about.join("; ")));
    }
    let actual = Actual {
        rules: rules.into_iter().collect(),
        findings,
        categories: categories.iter().cloned().collect(),
        decision: decision.as_ref().map(|d| d.decision),
        would: decision.as_ref().map(|d| d.would),
        removed: decision.as_ref().map(|d| d.removed.clone()).unwrap_or_default(),
    };
    if let (Some(want), Some(got)) = (case.expect.decision, actual.decision)
        && want != got
    {
        problems.push(format!("expected decision `{}`, got `{}`", want.as_str(), got.as_str()));
    }
    if let Some(want) = &case.expect.removed {
        let want: BTreeSet<&String> = want.iter().collect();
        let got: BTreeSet<&String> = actual.removed.iter().collect();
        if want != got {
            problems.push(format!("expected removed fields [{}], got [{}]", join(&want), join(&got)));
        }
    }
    if let Some(want) = &case.expect.categories {
        let want: BTreeSet<&String> = want.iter().collect();
        let got: BTreeSet<&String> = categories.iter().collect();
        if want != got {
            problems.push(format!("expected categories [{}], got [{}]", join(&want), join(&got)));
        }
    }
    Ok(CaseResult {
        name: case.name.clone(),
        kind: case.input.kind(),
        location: case.at.to_string(),
        line: case.at.line,
        passed: problems.is_empty(),
        expected: case.expect.clone(),
        actual,
        missing,
        unexpected,
        problems,
    })
}

fn join(set: &BTreeSet<&String>) -> String {
    set.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

// ---------------------------------------------------------------------------------------------
// Coverage

/// One rule's coverage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleCoverage {
    /// Rule id.
    pub id: String,
    /// Severity.
    pub severity: Severity,
    /// The file that defines it.
    pub origin: String,
    /// Where its policies are written.
    pub policies: Vec<String>,
    /// The cases that expected it and saw it fire (`suite: case`).
    pub cases: Vec<String>,
    /// Some case covers it.
    pub covered: bool,
    /// Counted in the coverage percentage: every rule a policy defines, built-in or user. The
    /// engine's own rules (`policy-error`) are listed but not counted: only a policy that fails
    /// can exercise them.
    pub counted: bool,
}

/// Coverage of one policy file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileCoverage {
    /// The file (`<engine>` for the engine's own rules).
    pub file: String,
    /// Rules it defines.
    pub rules: usize,
    /// Of which covered.
    pub covered: usize,
    /// The rules no case covers.
    pub uncovered: Vec<String>,
}

/// Coverage over every suite run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// Rules in force in some suite.
    pub total: usize,
    /// Rules covered.
    pub covered: usize,
    /// `covered / total`, in percent.
    pub percent: f64,
    /// The minimum asked for (`--min-coverage`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// `percent >= min` (true without a minimum).
    pub met: bool,
    /// Per rule, in the order rules are defined.
    pub rules: Vec<RuleCoverage>,
    /// Per policy file.
    pub files: Vec<FileCoverage>,
}

impl Coverage {
    /// Rules no case covers.
    pub fn uncovered(&self) -> Vec<&str> {
        self.rules.iter().filter(|r| r.counted && !r.covered).map(|r| r.id.as_str()).collect()
    }
}

/// Coverage of the rules in force in any of `suites`: a rule is covered when some case expects
/// it and it fired.
pub fn coverage(suites: &[SuiteResult], min: Option<f64>) -> Coverage {
    let mut rules: Vec<RuleCoverage> = Vec::new();
    for s in suites {
        for r in &s.rules {
            let idx = match rules.iter().position(|x| x.id == r.id) {
                Some(i) => i,
                None => {
                    rules.push(RuleCoverage {
                        id: r.id.clone(),
                        severity: r.severity,
                        origin: r.origin.clone(),
                        policies: Vec::new(),
                        cases: Vec::new(),
                        covered: false,
                        counted: !r.engine,
                    });
                    rules.len() - 1
                }
            };
            if let Some(rc) = rules.get_mut(idx) {
                for p in &r.policies {
                    if !rc.policies.contains(p) {
                        rc.policies.push(p.clone());
                    }
                }
                for c in &s.cases {
                    if c.expected.rules.contains(&r.id) && c.actual.rules.contains(&r.id) {
                        rc.cases.push(format!("{}: {}", s.name, c.name));
                    }
                }
            }
        }
    }
    for r in &mut rules {
        r.covered = !r.cases.is_empty();
    }
    let mut files: Vec<FileCoverage> = Vec::new();
    for r in rules.iter().filter(|r| r.counted) {
        let idx = match files.iter().position(|f| f.file == r.origin) {
            Some(i) => i,
            None => {
                files.push(FileCoverage { file: r.origin.clone(), rules: 0, covered: 0, uncovered: Vec::new() });
                files.len() - 1
            }
        };
        if let Some(f) = files.get_mut(idx) {
            f.rules += 1;
            if r.covered {
                f.covered += 1;
            } else {
                f.uncovered.push(r.id.clone());
            }
        }
    }
    let total = rules.iter().filter(|r| r.counted).count();
    let covered = rules.iter().filter(|r| r.counted && r.covered).count();
    let percent = if total == 0 { 100.0 } else { covered as f64 * 100.0 / total as f64 };
    // Percentages are compared as shown (one decimal), so `--min-coverage 90.9` passes at 10 of 11.
    let met = min.is_none_or(|m| (percent * 10.0).round() / 10.0 >= m);
    Coverage { total, covered, percent, min, met, rules, files }
}

// ---------------------------------------------------------------------------------------------
// The outcome and its formats

/// Counts of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Cases run.
    pub cases: usize,
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
}

/// Everything `scopecheck test` found: the suites' results and the coverage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestRun {
    /// Version of this JSON shape.
    pub format_version: u32,
    /// Counts.
    pub totals: Totals,
    /// Every case passed and coverage met its minimum.
    pub passed: bool,
    /// Per suite.
    pub suites: Vec<SuiteResult>,
    /// Per rule and per policy file.
    pub coverage: Coverage,
}

impl TestRun {
    /// Puts the results together.
    pub fn new(suites: Vec<SuiteResult>, min_coverage: Option<f64>) -> TestRun {
        let coverage = coverage(&suites, min_coverage);
        let cases = suites.iter().map(|s| s.cases.len()).sum();
        let passed = suites.iter().flat_map(|s| &s.cases).filter(|c| c.passed).count();
        let totals = Totals { cases, passed, failed: cases - passed };
        TestRun { format_version: FORMAT_VERSION, passed: totals.failed == 0 && coverage.met, totals, suites, coverage }
    }

    /// 0 when everything passed, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.passed { 0 } else { 1 }
    }

    /// The JSON report.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::internal(format!("could not write the JSON: {e}")))
    }

    /// The terminal report: a line per case, a diff per failure, then the coverage table.
    pub fn human(&self, color: bool) -> String {
        let paint = |code: &str, s: &str| if color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() };
        let mut o = String::new();
        for s in &self.suites {
            let failed = s.cases.iter().filter(|c| !c.passed).count();
            let mode = match s.mode {
                Mode::Enforce => "enforce",
                Mode::Monitor => "monitor",
            };
            let _ = writeln!(
                o,
                "suite {} ({}): {} cases, {} failed; decisions in {mode} mode, acting on {} and above",
                s.name,
                s.file,
                s.cases.len(),
                failed,
                s.act_on
            );
            for c in &s.cases {
                if c.passed {
                    let _ = writeln!(o, "  {}    {} [{}]", paint("32", "ok"), c.name, c.kind);
                    continue;
                }
                let _ = writeln!(o, "  {}  {} [{}] at {}", paint("31;1", "FAIL"), c.name, c.kind, c.location);
                if !c.missing.is_empty() || !c.unexpected.is_empty() {
                    let _ = writeln!(o, "        rules (-expected, did not fire; +fired, not expected):");
                    let mut all: BTreeSet<&String> = c.expected.rules.iter().collect();
                    all.extend(c.actual.rules.iter());
                    for r in all {
                        if c.missing.contains(r) {
                            let _ = writeln!(o, "{}", paint("31", &format!("        - {r}")));
                        } else if c.unexpected.contains(r) {
                            let about: Vec<&str> =
                                c.actual.findings.iter().filter(|f| &f.rule == r).map(|f| f.target.as_str()).collect();
                            let _ = writeln!(o, "{}", paint("32", &format!("        + {r}  ({})", about.join("; "))));
                        } else {
                            let _ = writeln!(o, "          {r}");
                        }
                    }
                }
                for p in c.problems.iter().filter(|p| !p.starts_with("expected rule") && !p.starts_with("rule `")) {
                    let _ = writeln!(o, "        {p}");
                }
            }
            let _ = writeln!(o);
        }
        let cov = &self.coverage;
        let _ = writeln!(o, "coverage: {} of {} rules covered ({:.1}%)", cov.covered, cov.total, cov.percent);
        let width = cov.rules.iter().map(|r| r.id.len()).max().unwrap_or(4).max(4);
        let _ = writeln!(o, "  {:<width$}  {:<8}  {:>5}  defined at", "rule", "severity", "cases");
        for r in &cov.rules {
            let at = if r.policies.is_empty() { r.origin.clone() } else { r.policies.join(", ") };
            let line = format!("  {:<width$}  {:<8}  {:>5}  {at}", r.id, r.severity.as_str(), r.cases.len());
            let line = match (r.counted, r.covered) {
                (false, _) => format!("{line}  (the engine's own rule: not counted)"),
                (true, true) => line,
                (true, false) => format!("{line}  {}", paint("31;1", "UNCOVERED")),
            };
            let _ = writeln!(o, "{line}");
        }
        let _ = writeln!(o, "by policy file:");
        for f in &cov.files {
            let rules = if f.rules == 1 { "rule" } else { "rules" };
            let _ = writeln!(o, "  {}: {} of {} {rules} covered", f.file, f.covered, f.rules);
        }
        let _ = writeln!(o);
        let t = &self.totals;
        let _ = write!(o, "{} cases: {} passed, {} failed; coverage {:.1}%", t.cases, t.passed, t.failed, cov.percent);
        match cov.min {
            Some(m) => {
                let _ = writeln!(o, " (minimum {m}%)");
            }
            None => {
                let _ = writeln!(o);
            }
        }
        if let (Some(m), false) = (cov.min, cov.met) {
            let _ = writeln!(
                o,
                "{}: coverage {:.1}% is below the minimum {m}%; no case covers: {}",
                paint("31;1", "FAIL"),
                cov.percent,
                cov.uncovered().join(", ")
            );
        }
        o
    }

    /// JUnit XML: a test suite per suite file, a test case per case; with a minimum coverage, a
    /// `coverage` suite whose one case fails below it.
    pub fn junit(&self) -> String {
        let x = crate::report::xml_escape;
        let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let cov_failed = usize::from(!self.coverage.met);
        let cov_tests = usize::from(self.coverage.min.is_some());
        let _ = writeln!(
            o,
            "<testsuites name=\"scopecheck test\" tests=\"{}\" failures=\"{}\" errors=\"0\">",
            self.totals.cases + cov_tests,
            self.totals.failed + cov_failed
        );
        for s in &self.suites {
            let failures = s.cases.iter().filter(|c| !c.passed).count();
            let _ = writeln!(
                o,
                "  <testsuite name=\"{}\" file=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
                x(&s.name),
                x(&s.file),
                s.cases.len()
            );
            for c in &s.cases {
                let line = c.line.map_or(String::new(), |l| format!(" line=\"{l}\""));
                let head = format!(
                    "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\"{line}",
                    x(&s.name),
                    x(&c.name),
                    x(&s.file)
                );
                if c.passed {
                    let _ = writeln!(o, "{head}/>");
                } else {
                    let mut text = format!("{}\n", c.location);
                    for p in &c.problems {
                        let _ = writeln!(text, "{p}");
                    }
                    let _ = writeln!(text, "expected rules: [{}]", c.expected.rules.join(", "));
                    let _ = writeln!(text, "fired rules: [{}]", c.actual.rules.join(", "));
                    let _ = writeln!(
                        o,
                        "{head}>\n      <failure type=\"expectation\" message=\"{}\">{}</failure>\n    </testcase>",
                        x(&c.problems.join("; ")),
                        x(&text)
                    );
                }
            }
            let _ = writeln!(o, "  </testsuite>");
        }
        if let Some(m) = self.coverage.min {
            let cov = &self.coverage;
            let _ = writeln!(
                o,
                "  <testsuite name=\"coverage\" tests=\"1\" failures=\"{cov_failed}\" errors=\"0\" skipped=\"0\">"
            );
            let head = format!("    <testcase classname=\"coverage\" name=\"rule coverage at least {m}%\"");
            if cov.met {
                let _ = writeln!(o, "{head}/>");
            } else {
                let msg = format!(
                    "coverage {:.1}% is below the minimum {m}%; no case covers: {}",
                    cov.percent,
                    cov.uncovered().join(", ")
                );
                let _ = writeln!(
                    o,
                    "{head}>\n      <failure type=\"coverage\" message=\"{}\">{}</failure>\n    </testcase>",
                    x(&msg),
                    x(&msg)
                );
            }
            let _ = writeln!(o, "  </testsuite>");
        }
        o.push_str("</testsuites>\n");
        o
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    const SCOPE: &str = "program: demo\nnotice: https://example.invalid/n\ncollect:\n  - field: ui.action\n    category: behavior.app_interaction\n    purposes: [analytics]\n";

    fn suite(cases: &str) -> String {
        let scope: String = SCOPE.lines().map(|l| format!("  {l}\n")).collect();
        format!(
            "name: demo\nscope:\n{scope}defaults:\n  event: {{ts: \"2026-05-12T09:14:03Z\", program: demo}}\ncases:\n{cases}"
        )
    }

    fn run(text: &str) -> SuiteResult {
        let s = parse_suite(text, "t.yaml").unwrap();
        let ScopeRef::Inline(src) = &s.scope else { panic!("inline") };
        let setup = Setup { scope: Some(src.clone()), ..Setup::default() };
        run_suite(&s, &setup, DecideOptions::default()).unwrap()
    }

    #[test]
    fn a_case_passes_and_a_wrong_one_fails_with_the_difference() {
        let text = suite(
            "  - name: declared\n    event: {data: {ui: {action: click}}}\n    expect: {rules: [], decision: allow}\n  - name: undeclared\n    event: {data: {chat: {text: hello there}}}\n    expect: {rules: [never-collect], decision: deny}\n",
        );
        let r = run(&text);
        assert!(r.cases[0].passed, "{:?}", r.cases[0]);
        let c = &r.cases[1];
        assert!(!c.passed);
        assert_eq!(c.missing, ["never-collect"]);
        assert_eq!(c.unexpected, ["undisclosed-field"]);
        assert_eq!(c.actual.decision, Some(Verdict::Redact));
        assert!(c.problems.iter().any(|p| p.contains("expected decision `deny`, got `redact`")), "{:?}", c.problems);
        assert_eq!(c.location, "t.yaml:15:5");
    }

    #[test]
    fn unknown_keys_and_bad_events_are_located() {
        let e = parse_suite(&suite("  - name: x\n    evnt: {data: {a: 1}}\n    expect: {rules: []}\n"), "t.yaml")
            .unwrap_err();
        assert!(e.to_string().starts_with("t.yaml:13:5: unknown key `evnt`"), "{e}");
        assert!(e.help.unwrap().contains("did you mean `event`?"));
        let e = parse_suite(
            &suite("  - name: x\n    event: {ts: yesterday, data: {a: 1}}\n    expect: {rules: []}\n"),
            "t.yaml",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("t.yaml:13:5: the event of case `x` is not a capture event"), "{e}");
        let e = parse_suite(&suite("  - name: x\n    expect: {rules: []}\n"), "t.yaml").unwrap_err();
        assert!(e.to_string().contains("case `x` has no input"), "{e}");
    }

    #[test]
    fn inline_scope_errors_point_into_the_suite() {
        let text = "scope:\n  program: demo\n  collect:\n    - field: a\n      category: behaviour\n      purposes: [x]\ncases:\n  - name: x\n    store: {id: s}\n    expect: {rules: []}\n";
        let s = parse_suite(text, "t.yaml").unwrap();
        let ScopeRef::Inline(src) = &s.scope else { panic!("inline") };
        let setup = Setup { scope: Some(src.clone()), ..Setup::default() };
        let e = run_suite(&s, &setup, DecideOptions::default()).unwrap_err();
        assert_eq!(e.location.file, "t.yaml");
        assert_eq!(e.location.line, Some(5), "{e}");
    }

    #[test]
    fn expected_ids_must_be_rules_in_force() {
        let text =
            suite("  - name: x\n    event: {data: {ui: {action: click}}}\n    expect: {rules: [undisclosed-feild]}\n");
        let s = parse_suite(&text, "t.yaml").unwrap();
        let ScopeRef::Inline(src) = &s.scope else { panic!("inline") };
        let setup = Setup { scope: Some(src.clone()), ..Setup::default() };
        let e = run_suite(&s, &setup, DecideOptions::default()).unwrap_err();
        assert!(e.to_string().contains("expects rule `undisclosed-feild`, which is not in force"), "{e}");
        assert_eq!(e.location.line, Some(14));
        assert!(e.help.unwrap().contains("did you mean `undisclosed-field`?"));
    }

    #[test]
    fn coverage_counts_expected_and_fired() {
        let text =
            suite("  - name: x\n    event: {data: {chat: {text: hi}}}\n    expect: {rules: [undisclosed-field]}\n");
        let r = run(&text);
        let run = TestRun::new(vec![r], Some(100.0));
        assert!(!run.passed);
        assert!(run.coverage.rules.iter().any(|r| r.id == "undisclosed-field" && r.covered));
        assert!(run.coverage.uncovered().contains(&"never-collect"));
        assert_eq!(run.exit_code(), 1);
    }
}
