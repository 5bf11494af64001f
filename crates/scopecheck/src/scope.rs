//! The declared scope: what a program's notice says it captures, why, for how
//! long, when, where it keeps it and who may read it.
//!
//! The YAML format is documented in `docs/scope.md`; `scopecheck schema` prints
//! its JSON Schema.

use crate::error::{Error, ErrorKind, Location, Result, did_you_mean, line_col};
use crate::pattern::FieldPattern;
use crate::taxonomy::Taxonomy;
use crate::window::{Window, Windows};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// The declared scope, as written.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schemars(title = "scopecheck declared scope")]
pub struct Scope {
    /// The program's id, as it appears in each capture's `program`.
    pub program: String,
    /// The version of the notice.
    #[serde(default, deserialize_with = "string_or_number")]
    #[schemars(with = "Option<String>")]
    pub version: Option<String>,
    /// Where the notice is published.
    #[serde(default)]
    pub notice: Option<String>,
    /// When this version of the notice takes effect: an RFC 3339 time
    /// (`2026-03-01T00:00:00+01:00`) or a date (`2026-03-01`: midnight in the `windows` time zone,
    /// else UTC). Several versions of one program's scope, each with its own `effective_from`, are
    /// a history: each event is judged by the version in force at its `ts`, and an event from before
    /// the version that judges it took effect is a `before-notice` finding.
    #[serde(default)]
    pub effective_from: Option<String>,
    /// The kinds of people captured (`employee`, `contractor`...). Empty: any.
    #[serde(default)]
    pub subjects: Vec<String>,
    /// What is captured.
    #[serde(default)]
    pub collect: Vec<Collect>,
    /// What the notice promises is never captured.
    #[serde(default)]
    pub never: Vec<Never>,
    /// When capture is allowed.
    #[serde(default)]
    pub windows: Option<WindowsDecl>,
    /// Where captures are kept.
    #[serde(default)]
    pub stores: Vec<StoreDecl>,
    /// Who may read captures, and for what.
    #[serde(default)]
    pub access: Vec<AccessDecl>,
}

/// One declared field.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Collect {
    /// A path into the capture's `data`: `*` one key, `**` any depth, `[]` array items.
    pub field: String,
    /// A taxonomy node (any depth); values of a more sensitive category are findings.
    pub category: String,
    /// What it is used for.
    #[serde(default)]
    pub purposes: Vec<String>,
    /// How long it may be kept.
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// `required`: the value itself must be ciphertext.
    #[serde(default)]
    pub encryption: Option<FieldEncryption>,
    /// Free text for the report.
    #[serde(default)]
    pub description: Option<String>,
}

/// Field-level encryption.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FieldEncryption {
    /// The value must be ciphertext.
    Required,
    /// No requirement.
    None,
}

/// Something never captured: a field, or a whole category.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Never {
    /// A field pattern.
    #[serde(default)]
    pub field: Option<String>,
    /// A taxonomy node; its children are included.
    #[serde(default)]
    pub category: Option<String>,
    /// Why (for the report).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Capture windows in local time.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WindowsDecl {
    /// An IANA zone such as `America/Los_Angeles`.
    pub timezone: String,
    /// Capture is allowed inside any of these: `Mon-Fri 09:00-17:00`. Empty: always.
    #[serde(default)]
    pub allow: Vec<String>,
    /// ...and never inside these: `12:00-13:00`, `Sat,Sun`.
    #[serde(default)]
    pub deny: Vec<String>,
}

/// Encryption of a store, declared or observed, weakest first.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum EncryptionLevel {
    /// Plaintext at rest.
    None,
    /// Encrypted on the wire only.
    InTransit,
    /// Encrypted at rest (disk or service keys).
    AtRest,
    /// Encrypted by the client before upload.
    ClientSide,
    /// Only the endpoints hold keys.
    EndToEnd,
}

impl EncryptionLevel {
    /// As written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            EncryptionLevel::None => "none",
            EncryptionLevel::InTransit => "in_transit",
            EncryptionLevel::AtRest => "at_rest",
            EncryptionLevel::ClientSide => "client_side",
            EncryptionLevel::EndToEnd => "end_to_end",
        }
    }
}

/// A store's declared encryption: `required` (at rest or better) or a minimum level.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StoreEncryption {
    /// At rest or better.
    Required,
    /// No promise.
    None,
    /// At least at rest.
    AtRest,
    /// At least client side.
    ClientSide,
    /// End to end.
    EndToEnd,
}

impl StoreEncryption {
    /// The weakest observed level that keeps the promise.
    pub fn minimum(self) -> EncryptionLevel {
        match self {
            StoreEncryption::None => EncryptionLevel::None,
            StoreEncryption::Required | StoreEncryption::AtRest => EncryptionLevel::AtRest,
            StoreEncryption::ClientSide => EncryptionLevel::ClientSide,
            StoreEncryption::EndToEnd => EncryptionLevel::EndToEnd,
        }
    }
}

/// A declared store.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoreDecl {
    /// As named in captures' `store` and in the inventory.
    pub id: String,
    /// Promised encryption.
    #[serde(default)]
    pub encryption: Option<StoreEncryption>,
    /// Longest promised retention.
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// Promised region.
    #[serde(default)]
    pub region: Option<String>,
}

/// Who may read, for what.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccessDecl {
    /// Role as written in the access log.
    pub role: String,
    /// Purposes this role may read for.
    #[serde(default)]
    pub purposes: Vec<String>,
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Sn {
        S(String),
        N(serde_yaml::Number),
    }
    Ok(match Option::<Sn>::deserialize(d)? {
        None => None,
        Some(Sn::S(s)) => Some(s),
        Some(Sn::N(n)) => Some(n.to_string()),
    })
}

/// JSON Schema of the scope format.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Scope)).unwrap_or(serde_json::Value::Null)
}

/// The top-level keys of a scope, in the order the format documents them.
pub(crate) const SCOPE_KEYS: &[&str] =
    &["program", "version", "notice", "effective_from", "subjects", "collect", "never", "windows", "stores", "access"];

/// Checks, after a file failed to load as `what`, whether it is another kind of file altogether: a
/// mapping none of whose top-level keys is one of `known`, like captures or an access log given
/// in the wrong place. Such a file is data, not configuration, so the error quotes none of it (no
/// line is drawn): it may hold the very values and person ids the audit keeps out of its output.
pub(crate) fn wrong_document(kind: ErrorKind, file: &str, text: &str, known: &[&str], what: &str) -> Option<Error> {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let yaml_keys = || -> Option<Vec<String>> {
        let map = serde_yaml::from_str::<serde_yaml::Mapping>(text).ok()?;
        Some(map.keys().filter_map(|k| k.as_str().map(str::to_string)).collect())
    };
    // JSON Lines: the first record says what the file is.
    let keys: Vec<String> = match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(first) {
        Ok(map) => map.keys().cloned().collect(),
        _ => yaml_keys()?,
    };
    let has = |k: &str| keys.iter().any(|x| x == k);
    // Records (captures, access entries) have a `ts`, which no configuration file has.
    let guess = if has("ts") && has("data") {
        Some("it looks like captures (records with `ts` and `data`): give capture files as the audit's inputs")
    } else if has("ts") && has("purpose") {
        Some("it looks like an access log (records with `ts` and `purpose`): give it with --access")
    } else {
        None
    };
    let known_key = keys.iter().any(|k| known.contains(&k.as_str()));
    let guess = match guess {
        Some(g) => g,
        None if keys.is_empty() || known_key => return None,
        None if has("stores") => "it looks like a store inventory: give it with --stores",
        None if has("collect") => "it looks like a declared scope: give it with --scope",
        None => "none of its top-level keys is one of its format's",
    };
    let list = known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
    Some(Error::new(kind, Location::file(file), format!("this is not {what}: {guess}")).with_help(format!(
        "{what} has the top-level keys {list}; no line of this file is shown, as it may hold captured values"
    )))
}

/// Turns a serde_yaml error into ours: position, a cleaner message, a did-you-mean.
pub(crate) fn yaml_error(kind: ErrorKind, file: &str, text: &str, e: &serde_yaml::Error) -> Error {
    let raw = e.to_string();
    // serde_yaml appends " at line L column C"; we say it in front instead.
    let msg = match raw.find(" at line ") {
        Some(i) => raw.get(..i).unwrap_or(&raw).to_string(),
        None => raw.clone(),
    };
    // A key given twice: serde_yaml points at the mapping; point at the second copy.
    let duplicate = msg
        .rsplit_once("duplicate field `")
        .map(|(_, r)| r)
        .and_then(|r| r.split_once('`'))
        .and_then(|(key, _)| e.location().and_then(|loc| second_key(text, loc.index(), key)));
    let (msg, help) = explain_serde_message(&msg);
    let mut err = match (duplicate, e.location()) {
        (Some(offset), _) => Error::at_offset(kind, file, text, offset, 1, msg),
        (None, Some(loc)) => {
            let offset = loc.index().min(text.len());
            let mut err = Error::at_offset(kind, file, text, offset, 1, msg);
            // serde_yaml counts `\r` as a line end too, so its line is kept; but the end of a text
            // without a final newline is on its last line (serde_yaml says the line after).
            if offset < text.len() || text.ends_with(['\n', '\r']) {
                err.location = Location::at(file, loc.line(), loc.column());
            }
            err
        }
        (None, None) => Error::new(kind, Location::file(file), msg),
    };
    err.help = help.or_else(|| {
        Some("check the YAML syntax here and just above: indentation, a `key: value` per line, closed quotes and brackets".into())
    });
    err
}

/// Rewrites serde's "unknown field `x`, expected one of `a`, `b`" into a
/// message and a did-you-mean.
fn explain_serde_message(msg: &str) -> (String, Option<String>) {
    if let Some(explained) = explain_limits_and_types(msg) {
        return explained;
    }
    let (what, unknown_marker) = if msg.contains("unknown field `") {
        ("key", "unknown field `")
    } else if msg.contains("unknown variant `") {
        ("value", "unknown variant `")
    } else {
        return (msg.to_string(), None);
    };
    let Some(start) = msg.find(unknown_marker) else {
        return (msg.to_string(), None);
    };
    let prefix = msg.get(..start).unwrap_or("").trim_end_matches(": ").trim();
    let rest = msg.get(start + unknown_marker.len()..).unwrap_or("");
    let Some((word, tail)) = rest.split_once('`') else {
        return (msg.to_string(), None);
    };
    let expected: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
    let here = if prefix.is_empty() { String::new() } else { format!(" in `{prefix}`") };
    let message = format!("unknown {what} `{word}`{here}");
    let mut help = String::new();
    if let Some(s) = did_you_mean(word, expected.iter().copied()) {
        help.push_str(&format!("did you mean `{s}`? "));
    }
    if !expected.is_empty() {
        let list = expected.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ");
        help.push_str(&format!("the {what}s allowed here are {list}"));
    }
    (message, if help.is_empty() { None } else { Some(help) })
}

/// Messages of serde_yaml's own limits and of values of the wrong type, said plainly.
fn explain_limits_and_types(msg: &str) -> Option<(String, Option<String>)> {
    let with = |m: &str, h: &str| Some((m.to_string(), Some(h.to_string())));
    if msg.contains("repetition limit exceeded") {
        return with(
            "the YAML expands its aliases (`*name`) into too many values (an alias bomb?)",
            "write the values out instead of repeating aliases of aliases; a scope never needs more than a few",
        );
    }
    if msg.contains("recursion limit exceeded") {
        return with(
            "the YAML is nested too deeply",
            "a scope is a few levels deep (`collect:` > an entry > its keys); look for runaway brackets or indentation",
        );
    }
    if let Some((within, rest)) = msg.rsplit_once("duplicate field `")
        && let Some((key, _)) = rest.split_once('`')
    {
        let within = within.trim_end_matches(": ");
        let at = if within.is_empty() { String::new() } else { format!(" in `{within}`") };
        return Some((
            format!("`{key}` is given twice{at}"),
            Some(format!("a key may appear once in each mapping: keep one `{key}:` and remove the other")),
        ));
    }
    let (path, detail) = match msg.split_once(": invalid ") {
        Some((p, d)) if !p.contains(' ') => (Some(p), format!("invalid {d}")),
        _ => (None, msg.to_string()),
    };
    let (what, t) = match (detail.strip_prefix("invalid type: "), detail.strip_prefix("invalid value: ")) {
        (Some(t), _) => ("wrong type", Some(t)),
        (None, Some(t)) => ("invalid value", Some(t)),
        _ => ("", None),
    };
    if let Some((found, expected)) = t.and_then(|t| t.split_once(", expected ")) {
        // serde_yaml reads big integers as 128-bit ones, and says so.
        let found = found.trim_end_matches(" as u128").trim_end_matches(" as i128");
        let at = path.map_or(String::new(), |p| format!(" for `{p}`"));
        let expected = match expected {
            e if e.starts_with("struct ") || e == "a map" => "a mapping (`key: value` lines)",
            "a sequence" => "a list (`- item` lines, or `[a, b]`)",
            "u32" => "a whole number from 0 to 4294967295",
            e => e,
        };
        return Some((
            format!("{what}{at}: found {found}, expected {expected}"),
            Some("write a value of the expected type here; `scopecheck schema` gives the type of every key".into()),
        ));
    }
    if let Some(rest) = msg.rsplit_once("missing field `").map(|(_, r)| r)
        && let Some((key, _)) = rest.split_once('`')
    {
        let within = msg.split_once(": missing").map(|(p, _)| p).filter(|p| !p.contains(' '));
        let at = within.map_or(String::new(), |p| format!(" in `{p}`"));
        return Some((
            format!("`{key}` is missing{at}"),
            Some(format!("add `{key}:`; `scopecheck schema` describes it")),
        ));
    }
    None
}

/// Where a mapping key given twice is written the second time: the first two lines at or after
/// `from` that start (after their indentation and an optional `- `) with `key:`, at the indentation
/// of the first.
fn second_key(text: &str, from: usize, key: &str) -> Option<usize> {
    let start = text.get(..from)?.rfind('\n').map_or(0, |i| i + 1);
    let mut first_indent = None;
    let mut offset = start;
    for line in text.get(start..)?.split_inclusive('\n') {
        let body = line.trim_start_matches(' ');
        let mut indent = line.len() - body.len();
        let body = match body.strip_prefix("- ") {
            Some(b) => {
                indent += 2;
                b
            }
            None => body,
        };
        let quoted = [format!("{key}:"), format!("\"{key}\":"), format!("'{key}':")];
        if quoted.iter().any(|q| body.starts_with(q.as_str())) {
            match first_indent {
                None => first_indent = Some(indent),
                Some(i) if i == indent => return Some(offset + indent),
                Some(_) => {}
            }
        }
        offset += line.len();
    }
    None
}

/// Finds where a value is written in YAML source, for pointing at it (not in a comment).
pub(crate) fn locate(text: &str, needle: &str) -> Option<usize> {
    locate_from(text, 0, needle)
}

/// As [`locate`], from byte `from` on.
pub(crate) fn locate_from(text: &str, from: usize, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    let mut from = from;
    while let Some(i) = text.get(from..).and_then(|t| t.find(needle)) {
        let at = from + i;
        let before = text.get(..at).and_then(|t| t.chars().next_back());
        let after = text.get(at + needle.len()..).and_then(|t| t.chars().next());
        let delim = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.' || c == '-'));
        let line = text.get(..at).map_or("", |t| t.rfind('\n').map_or(t, |n| t.get(n + 1..).unwrap_or("")));
        let in_comment = line.trim_start().starts_with('#') || line.contains(" #");
        if delim(before) && delim(after) && !in_comment {
            return Some(at);
        }
        from = at + needle.len();
    }
    None
}

/// Most `**` in one field pattern. Matching takes time in proportion to pattern segments × path
/// parts whatever their number (`pattern::glob`); more than four `**` in one pattern says nothing
/// that fewer could not, and is refused as a likely mistake.
pub const MAX_DOUBLE_STARS: usize = 4;

/// `a.**.**.b` is `a.**.b`: consecutive `**` match nothing more than one.
fn collapse_double_stars(field: &str) -> String {
    let trimmed = field.trim();
    if !trimmed.contains("**.**") {
        return trimmed.to_string();
    }
    let mut out: Vec<&str> = Vec::new();
    for seg in trimmed.split('.') {
        if seg == "**" && out.last() == Some(&"**") {
            continue;
        }
        out.push(seg);
    }
    out.join(".")
}

/// A scope that has been checked and compiled.
#[derive(Debug, Clone)]
pub struct CompiledScope {
    /// As written.
    pub raw: Scope,
    /// File it came from.
    pub file: String,
    /// One per `collect`, same order.
    pub collect: Vec<FieldPattern>,
    /// Field patterns of `never`.
    pub never_fields: Vec<FieldPattern>,
    /// Categories of `never`.
    pub never_categories: Vec<String>,
    /// Windows, if any.
    pub windows: Option<Windows>,
    /// When this version takes effect (`effective_from`), if it says.
    pub effective_from: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Where its promises are written, for reports that point at a broken one.
    pub lines: ScopeLines,
}

/// Lines (1-based) and columns of a scope's entries, found in its text. Best effort: an entry
/// written in a way the search misses (a flow mapping spread over lines, an anchor) has none,
/// and a report then points at the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScopeLines {
    /// Each `collect` entry's `field`, same order as `collect`.
    pub collect: Vec<Option<(u64, u64)>>,
    /// Each declared store's `id`.
    pub stores: BTreeMap<String, (u64, u64)>,
    /// Each declared access role.
    pub roles: BTreeMap<String, (u64, u64)>,
    /// The `windows:` key.
    pub windows: Option<(u64, u64)>,
    /// The `effective_from:` key.
    pub effective_from: Option<(u64, u64)>,
}

impl ScopeLines {
    fn find(scope: &Scope, text: &str) -> ScopeLines {
        let pos = |off: usize| {
            let (l, c) = line_col(text, off);
            (l as u64, c as u64)
        };
        // The top-level key `key:` (at the start of a line), else the start of the text.
        let section = |key: &str| {
            let head = format!("{key}:");
            let mut at = 0;
            while let Some(off) = locate_from(text, at, key) {
                let line_start = text.get(..off).map_or(0, |t| t.rfind('\n').map_or(0, |n| n + 1));
                if line_start == off && text.get(off..).is_some_and(|t| t.starts_with(&head)) {
                    return Some(off);
                }
                at = off + key.len();
            }
            None
        };
        let collect_at = section("collect").unwrap_or(0);
        let mut from = collect_at;
        let collect = scope
            .collect
            .iter()
            .map(|c| {
                let off = locate_from(text, from, &c.field)?;
                from = off + c.field.len();
                Some(pos(off))
            })
            .collect();
        let stores_at = section("stores").unwrap_or(0);
        let stores = scope
            .stores
            .iter()
            .filter_map(|st| Some((st.id.clone(), pos(locate_from(text, stores_at, &st.id)?))))
            .collect();
        let access_at = section("access").unwrap_or(0);
        let roles = scope
            .access
            .iter()
            .filter_map(|a| Some((a.role.clone(), pos(locate_from(text, access_at, &a.role)?))))
            .collect();
        ScopeLines {
            collect,
            stores,
            roles,
            windows: section("windows").map(pos),
            effective_from: section("effective_from").map(pos),
        }
    }
}

impl Scope {
    /// Parses YAML. Unknown keys are errors with a did-you-mean and a position.
    pub fn from_yaml(text: &str, file: &str) -> Result<Scope> {
        if text.trim().is_empty() {
            return Err(Error::new(ErrorKind::Scope, Location::file(file), "the scope file is empty")
                .with_help("a scope needs at least `program:` and a `collect:` list; see `scopecheck schema`"));
        }
        serde_yaml::from_str(text).map_err(|e| {
            wrong_document(ErrorKind::Scope, file, text, SCOPE_KEYS, "a declared scope")
                .unwrap_or_else(|| yaml_error(ErrorKind::Scope, file, text, &e))
        })
    }

    /// Checks what YAML cannot: categories exist, patterns and windows parse, ids are unique.
    pub fn compile(self, text: &str, file: &str, taxonomy: &Taxonomy) -> Result<CompiledScope> {
        let err_at = |needle: &str, msg: String| match locate(text, needle) {
            Some(off) => Error::at_offset(ErrorKind::Scope, file, text, off, needle.len(), msg),
            None => Error::new(ErrorKind::Scope, Location::file(file), msg),
        };
        let check_category = |cat: &str| -> Result<()> {
            if taxonomy.contains(cat) {
                return Ok(());
            }
            let mut e = err_at(cat, format!("`{cat}` is not a category of the taxonomy"));
            e.help = Some(match taxonomy.suggest(cat) {
                Some(s) => format!("did you mean `{s}`? `scopecheck taxonomy` lists every category"),
                None => "`scopecheck taxonomy` lists every category".to_string(),
            });
            Err(e)
        };
        if self.program.trim().is_empty() {
            return Err(err_at("program", "`program` is empty".into()).with_help("name the program as its captures do"));
        }
        // The second place `needle` is written (for things declared twice), else the first.
        let err_at_second = |needle: &str, msg: String| {
            let second = locate(text, needle).and_then(|first| locate_from(text, first + needle.len(), needle));
            match second {
                Some(off) => Error::at_offset(ErrorKind::Scope, file, text, off, needle.len(), msg),
                None => err_at(needle, msg),
            }
        };
        let pattern = |written: &str, help: &str| -> Result<FieldPattern> {
            let field = collapse_double_stars(written);
            let stars = field.split('.').filter(|s| *s == "**").count();
            if stars > MAX_DOUBLE_STARS {
                return Err(err_at(
                    written,
                    format!("field pattern `{written}` has {stars} `**`; at most {MAX_DOUBLE_STARS} are allowed"),
                )
                .with_help(
                    "one `**` already spans any depth: write `a.**.b` rather than `a.**.x.**.b` where you can",
                ));
            }
            FieldPattern::parse(&field)
                .map_err(|e| err_at(written, format!("field pattern: {}", e.message)).with_help(help.to_string()))
        };
        let mut collect = Vec::with_capacity(self.collect.len());
        let mut fields = std::collections::BTreeSet::new();
        for c in &self.collect {
            let pat = pattern(
                &c.field,
                "write a path into `data`: keys joined with `.`, `*` for one key, `**` for any depth, `[]` for array items",
            )?;
            check_category(&c.category)?;
            if !fields.insert(pat.as_str().to_string()) {
                return Err(err_at_second(&c.field, format!("field `{}` is declared twice in `collect`", c.field))
                    .with_help("give each field one entry, with all its purposes"));
            }
            collect.push(pat);
        }
        let mut never_fields = Vec::new();
        let mut never_categories = Vec::new();
        for n in &self.never {
            match (&n.field, &n.category) {
                (Some(f), None) => never_fields.push(pattern(f, "write a path into `data` as in `collect`")?),
                (None, Some(c)) => {
                    check_category(c)?;
                    never_categories.push(c.clone());
                }
                _ => {
                    return Err(err_at(
                        "never",
                        "each `never` entry names exactly one of `field` or `category`".into(),
                    )
                    .with_help("split it into two entries: `- field: ...` and `- category: ...`"));
                }
            }
        }
        let windows = match &self.windows {
            None => None,
            Some(w) => {
                let tz = w.timezone.parse::<chrono_tz::Tz>().map_err(|_| {
                    let mut e = err_at(&w.timezone, format!("`{}` is not an IANA time zone", w.timezone));
                    let names = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name());
                    e.help = Some(match did_you_mean(&w.timezone, names) {
                        Some(z) => format!("did you mean `{z}`? Zone names are as in the IANA database (`America/Los_Angeles`, `Europe/London`, `UTC`)"),
                        None => "use a zone name such as `America/Los_Angeles`, `Europe/London` or `UTC`".into(),
                    });
                    e
                })?;
                let parse_all = |list: &[String]| -> Result<Vec<Window>> {
                    list.iter()
                        .map(|s| {
                            Window::parse(s).map_err(|m| {
                                err_at(s, format!("window `{s}`: {m}"))
                                    .with_help("write `[days] [HH:MM-HH:MM]`, e.g. `Mon-Fri 09:00-17:00`, `12:00-13:00` or `Sat,Sun`")
                            })
                        })
                        .collect()
                };
                let windows = Windows { tz, allow: parse_all(&w.allow)?, deny: parse_all(&w.deny)? };
                if !windows.allows_some_time() {
                    let needle = w.deny.first().map_or("windows", String::as_str);
                    return Err(err_at(
                        needle,
                        "the capture windows allow no time at all: `deny` takes back every time `allow` gives".into(),
                    )
                    .with_help("the notice would forbid all capture; narrow `deny` or widen `allow`"));
                }
                Some(windows)
            }
        };
        // A notice that says both "we collect this" and "we never collect this" cannot be held
        // against anything: say where it contradicts itself.
        for (c, pat) in self.collect.iter().zip(&collect) {
            if let Some(n) = never_categories.iter().find(|n| Taxonomy::is_within(&c.category, n)) {
                let at = locate(text, &c.field).unwrap_or(0);
                let off = locate_from(text, at, &c.category).or_else(|| locate(text, &c.category));
                let msg = format!(
                    "`collect` declares `{}` as `{}`, a category that `never` rules out (`{n}`)",
                    c.field, c.category
                );
                let e = match off {
                    Some(off) => Error::at_offset(ErrorKind::Scope, file, text, off, c.category.len(), msg),
                    None => Error::new(ErrorKind::Scope, Location::file(file), msg),
                };
                return Err(e.with_help(
                    "the notice cannot both collect it and promise never to: remove the `collect` entry, or the `never` entry",
                ));
            }
            let literal = !pat.as_str().split('.').any(|s| s == "**");
            if literal && let Some(n) = never_fields.iter().find(|n| n.covers(pat.as_str())) {
                return Err(err_at(
                    &c.field,
                    format!("`collect` declares `{}`, which the `never` field `{n}` rules out", c.field),
                )
                .with_help(
                    "the notice cannot both collect it and promise never to: remove the `collect` entry, or narrow the `never` field",
                ));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.stores {
            if !seen.insert(s.id.as_str()) {
                return Err(err_at_second(&s.id, format!("store `{}` is declared twice", s.id))
                    .with_help("give each store one entry"));
            }
        }
        let mut roles = std::collections::BTreeSet::new();
        for a in &self.access {
            if !roles.insert(a.role.as_str()) {
                return Err(err_at_second(&a.role, format!("role `{}` is declared twice", a.role))
                    .with_help("list all purposes of a role in one entry"));
            }
        }
        let effective_from = match &self.effective_from {
            None => None,
            Some(t) => Some(parse_effective_from(t, windows.as_ref().map(|w| w.tz)).map_err(|m| {
                err_at(t, format!("`effective_from: {t}` {m}")).with_help(
                    "write an RFC 3339 time (`2026-03-01T00:00:00+01:00`) or a date (`2026-03-01`, midnight in the windows' time zone, else UTC)",
                )
            })?),
        };
        let lines = ScopeLines::find(&self, text);
        Ok(CompiledScope {
            raw: self,
            file: file.to_string(),
            collect,
            never_fields,
            never_categories,
            windows,
            effective_from,
            lines,
        })
    }
}

/// `effective_from`: an RFC 3339 time, or a date meaning its midnight in `tz` (UTC without one).
fn parse_effective_from(
    text: &str,
    tz: Option<chrono_tz::Tz>,
) -> std::result::Result<chrono::DateTime<chrono::FixedOffset>, String> {
    use chrono::TimeZone;
    let t = text.trim();
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(at);
    }
    let day = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map_err(|_| "is neither an RFC 3339 time nor a date".to_string())?;
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    let tz = tz.unwrap_or(chrono_tz::UTC);
    // A midnight skipped by a clock change starts the day at its first existing instant.
    match tz.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(at) | chrono::LocalResult::Ambiguous(at, _) => Ok(at.fixed_offset()),
        chrono::LocalResult::None => (1..=180)
            .find_map(|m| tz.from_local_datetime(&(midnight + chrono::Duration::minutes(m))).earliest())
            .map(|at| at.fixed_offset())
            .ok_or_else(|| format!("has no midnight in {tz}")),
    }
}

impl CompiledScope {
    /// The label of this version in reports: its `version`, else its file name.
    pub fn version_label(&self) -> String {
        self.raw.version.clone().unwrap_or_else(|| self.file.clone())
    }

    /// Parses and compiles in one go.
    pub fn load(text: &str, file: &str, taxonomy: &Taxonomy) -> Result<CompiledScope> {
        Scope::from_yaml(text, file)?.compile(text, file, taxonomy)
    }

    /// The most specific `collect` entry covering `path`.
    pub fn declaration_for(&self, path: &str) -> Option<usize> {
        self.collect
            .iter()
            .enumerate()
            .filter(|(_, p)| p.covers(path))
            .max_by_key(|(i, p)| (p.specificity(), std::cmp::Reverse(*i)))
            .map(|(i, _)| i)
    }

    /// Is `path` named by a `never` field pattern?
    pub fn never_field(&self, path: &str) -> bool {
        self.never_fields.iter().any(|p| p.covers(path))
    }

    /// Is this subject kind declared (or are subjects unrestricted)?
    pub fn subject_declared(&self, subject: &str) -> bool {
        self.raw.subjects.is_empty() || self.raw.subjects.iter().any(|s| s == subject)
    }

    /// A declared store by id.
    pub fn store(&self, id: &str) -> Option<&StoreDecl> {
        self.raw.stores.iter().find(|s| s.id == id)
    }

    /// A declared role by name.
    pub fn role(&self, role: &str) -> Option<&AccessDecl> {
        self.raw.access.iter().find(|a| a.role == role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_keys_are_the_schemas() {
        let schema = json_schema();
        let mut props: Vec<&str> = schema["properties"].as_object().unwrap().keys().map(String::as_str).collect();
        let mut keys = SCOPE_KEYS.to_vec();
        props.sort_unstable();
        keys.sort_unstable();
        assert_eq!(props, keys);
    }

    #[test]
    fn captures_given_as_a_scope_are_named_and_not_quoted() {
        let caps = concat!(
            r#"{"ts":"2026-05-12T09:14:03Z","program":"mci","subject":"emp-7731","data":{"pw":"hunter2"}}"#,
            "\n",
            r#"{"ts":"2026-05-12T09:15:03Z","program":"mci","subject":"emp-7732","data":{}}"#,
            "\n"
        );
        let e = Scope::from_yaml(caps, "caps.jsonl").unwrap_err();
        assert!(e.message.contains("not a declared scope") && e.message.contains("looks like captures"), "{e}");
        assert!(e.src.is_none() && e.location.line.is_none(), "{e:?}");
        assert!(!format!("{e} {:?}", e.help).contains("emp-7731"));
        // A scope with one bad key is still pointed at, line and column.
        let e = Scope::from_yaml("program: mci\ncolect: []\n", "s.yaml").unwrap_err();
        assert_eq!((e.location.line, e.location.column), (Some(2), Some(1)), "{e}");
        // A YAML file that is no scope at all.
        let e = Scope::from_yaml("detectors:\n  - id: raw\n", "s.yaml").unwrap_err();
        assert!(e.message.contains("none of its top-level keys"), "{e}");
        // An access log given as a store inventory.
        let log = r#"{"ts":"2026-05-12T09:14:03Z","role":"manager","purpose":"performance_review"}"#;
        let e = crate::observe::parse_inventory(log, "access.jsonl").unwrap_err();
        assert!(e.message.contains("not a store inventory: it looks like an access log"), "{e}");
    }

    #[test]
    fn the_end_of_a_text_without_a_final_newline_is_on_its_last_line() {
        let e = Scope::from_yaml("# a comment, no final newline", "s.yaml").unwrap_err();
        assert_eq!(e.location.line, Some(1), "{e}");
    }

    const SCOPE: &str = r#"program: mci
version: 2026.05
subjects: [employee]
collect:
  - field: "input.keystrokes[].interval_ms"
    category: behavior.input.keystroke_timing
    purposes: [model_training]
  - field: "input.*"
    category: behavior
never:
  - category: content
windows:
  timezone: America/Los_Angeles
  allow: ["Mon-Fri 09:00-17:00"]
stores:
  - id: raw
    encryption: required
"#;

    #[test]
    fn parses_and_compiles() {
        let t = Taxonomy::builtin().unwrap();
        let s = CompiledScope::load(SCOPE, "s.yaml", &t).unwrap();
        assert_eq!(s.raw.version.as_deref(), Some("2026.05"));
        assert_eq!(s.declaration_for("input.keystrokes[].interval_ms"), Some(0));
        assert_eq!(s.declaration_for("input.pointer"), Some(1));
        assert_eq!(s.declaration_for("chat.text"), None);
    }

    #[test]
    fn unknown_key_has_position_and_suggestion() {
        let text = SCOPE.replace("    purposes: [model_training]", "    purpose: [model_training]");
        let e = Scope::from_yaml(&text, "s.yaml").unwrap_err();
        assert_eq!(e.location.line, Some(7), "{e}");
        assert!(e.message.contains("unknown key `purpose`"), "{e}");
        assert!(e.help.as_deref().unwrap().contains("did you mean `purposes`"), "{e:?}");
    }

    #[test]
    fn unknown_category_is_located() {
        let t = Taxonomy::builtin().unwrap();
        let text = SCOPE.replace("category: behavior\n", "category: behaviour\n");
        let e = CompiledScope::load(&text, "s.yaml", &t).unwrap_err();
        assert_eq!(e.location.line, Some(9), "{e}");
        assert!(e.help.as_deref().unwrap().contains("`behavior`"), "{e:?}");
    }

    #[test]
    fn bad_window_and_zone_are_located() {
        let t = Taxonomy::builtin().unwrap();
        let e = CompiledScope::load(&SCOPE.replace("Mon-Fri 09", "Mon-Fry 09"), "s.yaml", &t).unwrap_err();
        assert_eq!((e.location.line, e.location.column), (Some(14), Some(12)), "{e}");
        let e =
            CompiledScope::load(&SCOPE.replace("America/Los_Angeles", "America/Los_Angles"), "s.yaml", &t).unwrap_err();
        assert!(e.message.contains("time zone"), "{e}");
    }

    #[test]
    fn schema_is_published() {
        let s = json_schema();
        assert!(s.to_string().contains("retention_days"));
    }
}
