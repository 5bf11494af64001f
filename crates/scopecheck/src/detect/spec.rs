//! The YAML detector format (see the header of `policies/detectors.yaml`),
//! its compilation into matchers, and the errors it can produce.

use std::sync::{Arc, OnceLock};

use miette::{NamedSource, SourceSpan};
use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use super::lines::LineRegex;
use super::taxonomy;
use super::validators::{VALIDATOR_NAMES, Validator};

/// Largest compiled size allowed for one detector regex (bytes): the prefilter sets' limit, so
/// that a pattern which built inside its set also builds alone (see [`LazyRegex`]).
const REGEX_SIZE_LIMIT: usize = super::PREFILTER_SIZE_LIMIT;
/// Lazy-DFA cache limit for one detector regex (bytes).
const REGEX_DFA_LIMIT: usize = 4 << 20;
/// Longest regex that context words may make (bytes of pattern text), checked at load: far
/// below what would approach [`REGEX_SIZE_LIMIT`] once compiled.
const CONTEXT_PATTERN_LIMIT: usize = 64 << 10;

/// Where a definition problem is: origin file, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub origin: String,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.origin, self.line, self.column)
    }
}

/// Comma-separated list of validator names, for help texts.
pub const VALIDATOR_LIST: &str = "luhn, credit_card, iban_mod97, us_ssn, us_itin, ca_sin, uk_nino, ipv4, ipv6, \
    email, domain, url, phone, jwt, entropy, secret_value, date, has_digit, icd10, speaker, timestamped_speaker, \
    natural_language";

/// Errors from loading detector definitions. Every variant except
/// `Prefilter` names the origin file and `line:column` in its message and
/// carries the YAML as miette source code with a label at the problem.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DetectorError {
    /// The YAML does not parse or does not fit the schema (unknown key,
    /// wrong type, missing field).
    #[error("{at}: invalid detector definition: {message}")]
    #[diagnostic(code(scopecheck::detect::yaml))]
    Yaml {
        at: Box<Position>,
        message: String,
        #[source_code]
        src: Arc<NamedSource<String>>,
        #[label("here")]
        span: SourceSpan,
        #[help]
        help: Option<String>,
    },
    /// A detector's `pattern`, `parent`, `not_parent` or context words do not compile.
    #[error("{at}: detector `{id}`: invalid regex in `{field}`: {message}")]
    #[diagnostic(code(scopecheck::detect::regex))]
    Regex {
        at: Box<Position>,
        id: String,
        field: &'static str,
        message: String,
        #[source_code]
        src: Arc<NamedSource<String>>,
        #[label("this regex")]
        span: SourceSpan,
    },
    /// `validator:` names something that is not implemented.
    #[error("{at}: detector `{id}`: unknown validator `{name}`{}", suggest(.suggestion.as_deref()))]
    #[diagnostic(code(scopecheck::detect::unknown_validator), help("known validators: {known}"))]
    UnknownValidator {
        at: Box<Position>,
        id: String,
        name: String,
        suggestion: Option<String>,
        known: &'static str,
        #[source_code]
        src: Arc<NamedSource<String>>,
        #[label("unknown validator")]
        span: SourceSpan,
    },
    /// `category:` is not a taxonomy id.
    #[error("{at}: detector `{id}`: unknown category `{name}`{}", suggest(.suggestion.as_deref()))]
    #[diagnostic(
        code(scopecheck::detect::unknown_category),
        help("categories are taxonomy ids such as government_id.us_ssn or content.chat")
    )]
    UnknownCategory {
        at: Box<Position>,
        id: String,
        name: String,
        suggestion: Option<String>,
        #[source_code]
        src: Arc<NamedSource<String>>,
        #[label("unknown category")]
        span: SourceSpan,
    },
    /// Any other semantic problem (duplicate id, missing pattern, confidence
    /// out of range, ...).
    #[error("{at}: detector `{id}`: {message}")]
    #[diagnostic(code(scopecheck::detect::invalid))]
    Invalid {
        at: Box<Position>,
        id: String,
        message: String,
        #[source_code]
        src: Arc<NamedSource<String>>,
        #[label("here")]
        span: SourceSpan,
    },
    /// Building the combined prefilter failed (too many / too large patterns).
    #[error("cannot build the detector prefilter: {0}")]
    #[diagnostic(code(scopecheck::detect::prefilter))]
    Prefilter(String),
}

impl DetectorError {
    /// Origin file, line and column of the problem, when known.
    pub fn position(&self) -> Option<&Position> {
        match self {
            DetectorError::Yaml { at, .. }
            | DetectorError::Regex { at, .. }
            | DetectorError::UnknownValidator { at, .. }
            | DetectorError::UnknownCategory { at, .. }
            | DetectorError::Invalid { at, .. } => Some(at),
            DetectorError::Prefilter(_) => None,
        }
    }
}

fn suggest(s: Option<&str>) -> String {
    s.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default()
}

fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Value,
    Name,
}

/// What span a value detector reports.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum SpanMode {
    /// One detection per regex match (or its `v` group).
    #[default]
    Match,
    /// One detection from the first to the last match.
    Cover,
    /// One detection covering the whole scanned value.
    Value,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Boundary {
    /// Reject matches glued to a larger token (`-`, `.`, `_` followed by a
    /// letter or digit): UUID groups, version strings, identifiers.
    #[default]
    Strict,
    /// Accept wherever the regex matched.
    Loose,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    #[allow(dead_code)]
    version: Option<u32>,
    #[serde(default)]
    name_metadata: Option<NameMetaSpec>,
    #[serde(default)]
    detectors: Vec<DetectorSpec>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NameMetaSpec {
    #[serde(default)]
    suffixes: Vec<String>,
    #[serde(default)]
    prefixes: Vec<String>,
}

fn default_confidence() -> f32 {
    0.8
}
fn default_one() -> usize {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DetectorSpec {
    id: String,
    kind: Kind,
    #[serde(default)]
    entity: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    not_parent: Option<String>,
    #[serde(default)]
    validator: Option<String>,
    #[serde(default = "default_confidence")]
    confidence: f32,
    #[serde(default)]
    min_confidence: Option<f32>,
    #[serde(default)]
    context: Vec<String>,
    #[serde(default)]
    context_boost: Option<f32>,
    #[serde(default)]
    negative_context: Vec<String>,
    #[serde(default)]
    negative_penalty: Option<f32>,
    #[serde(default)]
    context_window: Option<usize>,
    #[serde(default)]
    require_context: bool,
    #[serde(default)]
    min_len: Option<usize>,
    #[serde(default)]
    max_len: Option<usize>,
    #[serde(default)]
    span: SpanMode,
    #[serde(default = "default_one")]
    min_matches: usize,
    #[serde(default = "default_one")]
    min_distinct: usize,
    #[serde(default)]
    per_match: f32,
    #[serde(default)]
    max_confidence: Option<f32>,
    #[serde(default)]
    supersedes: Vec<String>,
    #[serde(default)]
    boundary: Boundary,
    #[serde(default)]
    metadata_ok: bool,
    #[serde(default)]
    description: String,
}

/// A compiled value detector.
#[derive(Debug, Clone)]
pub struct ValueDetector {
    pub id: String,
    pub entity: String,
    pub category: Option<String>,
    pub pattern: Option<String>,
    pub regex: Option<LazyRegex>,
    pub validator: Option<Validator>,
    pub validator_name: Option<String>,
    pub confidence: f32,
    pub min_confidence: f32,
    pub context: Option<LazyRegex>,
    pub context_boost: f32,
    pub negative: Option<LazyRegex>,
    pub negative_penalty: f32,
    pub window: usize,
    pub require_context: bool,
    pub min_len: usize,
    pub max_len: usize,
    pub span: SpanMode,
    pub min_matches: usize,
    pub min_distinct: usize,
    pub per_match: f32,
    pub max_confidence: f32,
    pub supersedes: Vec<String>,
    pub boundary: Boundary,
    pub origin: String,
    pub description: String,
}

/// A compiled field-name rule.
#[derive(Debug, Clone)]
pub struct NameRule {
    pub id: String,
    pub entity: String,
    pub category: String,
    pub regex: LazyRegex,
    pub parent: Option<LazyRegex>,
    pub not_parent: Option<LazyRegex>,
    pub confidence: f32,
    pub metadata_ok: bool,
    pub origin: String,
    pub description: String,
}

/// Everything one YAML document contributes.
#[derive(Debug, Default)]
pub struct Loaded {
    pub values: Vec<ValueDetector>,
    pub names: Vec<NameRule>,
    pub suffixes: Vec<String>,
    pub prefixes: Vec<String>,
}

/// Where in the YAML a detector (or one of its keys) sits, for errors.
struct Locator<'a> {
    yaml: &'a str,
    origin: &'a str,
}

#[derive(Clone, Copy)]
struct Loc {
    line: usize,
    column: usize,
    offset: usize,
    len: usize,
}

impl Locator<'_> {
    fn src(&self) -> Arc<NamedSource<String>> {
        Arc::new(NamedSource::new(self.origin, self.yaml.to_string()))
    }

    fn at(&self, l: Loc) -> Box<Position> {
        Box::new(Position { origin: self.origin.to_string(), line: l.line, column: l.column })
    }

    /// Line of `id: <id>`, then optionally the first `key:` line after it
    /// (before the next list item).
    fn find(&self, id: &str, key: Option<&str>) -> Loc {
        let mut offset = 0usize;
        let mut found: Option<Loc> = None;
        for (i, line) in self.yaml.split_inclusive('\n').enumerate() {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            let body = trimmed.strip_prefix("- ").unwrap_or(trimmed);
            let body_col = line.len() - body.len();
            match found {
                None => {
                    if let Some(v) = body.strip_prefix("id:") {
                        let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
                        if v == id {
                            let loc = Loc {
                                line: i + 1,
                                column: body_col + 1,
                                offset: offset + body_col,
                                len: body.trim_end().len(),
                            };
                            if key.is_none() {
                                return loc;
                            }
                            found = Some(loc);
                        }
                    }
                }
                Some(idloc) => {
                    if trimmed.starts_with("- ") && indent + 2 <= idloc.column {
                        return idloc;
                    }
                    if let Some(k) = key
                        && body.starts_with(k)
                        && body.get(k.len()..).is_some_and(|r| r.starts_with(':'))
                    {
                        return Loc {
                            line: i + 1,
                            column: body_col + 1,
                            offset: offset + body_col,
                            len: body.trim_end().len(),
                        };
                    }
                }
            }
            offset += line.len();
        }
        found.unwrap_or(Loc { line: 1, column: 1, offset: 0, len: 0 })
    }

    fn invalid(&self, id: &str, key: Option<&str>, message: String) -> DetectorError {
        let l = self.find(id, key);
        DetectorError::Invalid {
            at: self.at(l),
            id: id.to_string(),
            message,
            src: self.src(),
            span: (l.offset, l.len).into(),
        }
    }

    fn regex(&self, id: &str, field: &'static str, err: &regex::Error) -> DetectorError {
        let l = self.find(id, Some(field));
        DetectorError::Regex {
            at: self.at(l),
            id: id.to_string(),
            field,
            message: err.to_string(),
            src: self.src(),
            span: (l.offset, l.len).into(),
        }
    }
}

fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).dfa_size_limit(REGEX_DFA_LIMIT).build()
}

/// A detector's own regex (pattern, context words, parent rule), compiled on its first use: a
/// decision needs few of them, and compiling them all was most of a bundle's load time, the wasm
/// plugin's cold start. Nothing can fail late that did not fail at load: the syntax is checked
/// when the detector loads (by the prefilter set that holds the pattern, or by
/// [`LazyRegex::checked`]), and the regex compiles with the sets' size limit, so a pattern that
/// built inside its set also builds alone. Should it still not compile, [`LazyRegex::get`]
/// returns `None` and each caller fails closed (it detects more, never less).
///
/// Clones share the compiled regex (the `regex` crate gives each thread its own scratch space).
#[derive(Clone)]
pub struct LazyRegex(Arc<(String, OnceLock<Option<Compiled>>)>);

/// A compiled [`LazyRegex`], with what the hot path asks of it.
struct Compiled {
    regex: Regex,
    /// The pattern names a group `v`.
    v_group: bool,
    /// When every match of the pattern starts at the start of a line (see
    /// [`super::lines::line_anchored`]): the same pattern, searched one line start at a time.
    lines: Option<LineRegex>,
}

impl LazyRegex {
    /// A pattern whose syntax the caller has checked (a prefilter set holds it).
    pub(super) fn unchecked(pattern: &str) -> LazyRegex {
        LazyRegex(Arc::new((pattern.to_string(), OnceLock::new())))
    }

    /// A pattern no prefilter set holds: its syntax is checked now, with the parser `regex` uses.
    fn checked(pattern: &str) -> Result<LazyRegex, regex::Error> {
        check_syntax(pattern)?;
        Ok(LazyRegex::unchecked(pattern))
    }

    /// The regex, compiled now if this is its first use; `None` if it does not compile.
    pub fn get(&self) -> Option<&Regex> {
        self.compiled().map(|c| &c.regex)
    }

    fn compiled(&self) -> Option<&Compiled> {
        self.0
            .1
            .get_or_init(|| {
                let regex = compile(&self.0.0).ok()?;
                let v_group = regex.capture_names().flatten().any(|n| n == "v");
                // Only a pattern with a `^` can open at a line start (context words and name
                // rules, up to 64 KiB of pattern, are not parsed again).
                let lines = match self.0.0.contains('^') {
                    true => parse(&self.0.0).ok(),
                    false => None,
                }
                .and_then(|hir| LineRegex::new(&hir, v_group, REGEX_SIZE_LIMIT, REGEX_DFA_LIMIT));
                Some(Compiled { regex, v_group, lines })
            })
            .as_ref()
    }

    /// The pattern text.
    pub fn as_str(&self) -> &str {
        &self.0.0
    }

    /// Whether it has been compiled (tests of [`super::Detectors::prepare`]).
    #[cfg(test)]
    pub(super) fn is_compiled(&self) -> bool {
        self.0.1.get().is_some()
    }

    /// Whether the pattern names a group `v` (the part of a match that is the value); found once,
    /// when it compiles.
    pub fn has_v_group(&self) -> bool {
        self.compiled().is_some_and(|c| c.v_group)
    }

    /// For a pattern whose every match starts at the start of a line
    /// ([`super::lines::line_anchored`]), the same regex searched one line start at a time;
    /// `None` for other patterns (or should it not compile: the caller then searches with
    /// [`LazyRegex::get`]).
    pub fn lines(&self) -> Option<&LineRegex> {
        self.compiled().and_then(|c| c.lines.as_ref())
    }
}

impl std::fmt::Debug for LazyRegex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LazyRegex").field(&self.0.0).finish()
    }
}

/// The syntax check `regex` makes before compiling (same parser, same nesting limit), as
/// `regex`'s own error so that messages do not change.
pub(super) fn check_syntax(pattern: &str) -> Result<(), regex::Error> {
    parse(pattern).map(drop)
}

/// The pattern's syntax tree, parsed as `regex` parses it.
pub(super) fn parse(pattern: &str) -> Result<regex_syntax::hir::Hir, regex::Error> {
    regex_syntax::ParserBuilder::new()
        .nest_limit(250)
        .build()
        .parse(pattern)
        .map_err(|e| regex::Error::Syntax(e.to_string()))
}

/// Context words become one case-insensitive regex; spaces match any run of
/// whitespace, `_` or `-`; an apostrophe is optional. Word boundaries are
/// added where the phrase starts/ends with a word character.
pub fn context_regex(words: &[String]) -> Result<Option<LazyRegex>, String> {
    if words.is_empty() {
        return Ok(None);
    }
    let alts: Vec<String> = words
        .iter()
        .filter(|w| !w.trim().is_empty())
        .map(|w| {
            let w = w.trim().to_lowercase();
            let mut p = String::new();
            if w.chars().next().is_some_and(|c| c.is_alphanumeric()) {
                p.push_str(r"\b");
            }
            for c in w.chars() {
                match c {
                    ' ' | '_' | '-' => p.push_str(r"[\s_\-]*"),
                    '\'' | '’' => p.push_str("['’]?"),
                    c => p.push_str(&regex::escape(&c.to_string())),
                }
            }
            if w.chars().last().is_some_and(|c| c.is_alphanumeric()) {
                p.push_str(r"\b");
            }
            p
        })
        .collect();
    if alts.is_empty() {
        return Ok(None);
    }
    let pattern = format!("(?i)(?:{})", alts.join("|"));
    if pattern.len() > CONTEXT_PATTERN_LIMIT {
        return Err(format!(
            "these context words make a regex of {} KiB, more than the {} KiB allowed; keep the words that tell the entity apart, or split the detector",
            pattern.len() >> 10,
            CONTEXT_PATTERN_LIMIT >> 10
        ));
    }
    // Every word is escaped: the syntax is ours and valid.
    Ok(Some(LazyRegex::unchecked(&pattern)))
}

fn location_of(err: &serde_yaml::Error) -> (usize, usize, usize) {
    err.location().map(|l| (l.line(), l.column(), l.index())).unwrap_or((1, 1, 0))
}

const SPEC_KEYS: &[&str] = &[
    "id",
    "kind",
    "entity",
    "category",
    "pattern",
    "parent",
    "not_parent",
    "validator",
    "confidence",
    "min_confidence",
    "context",
    "context_boost",
    "negative_context",
    "negative_penalty",
    "context_window",
    "require_context",
    "min_len",
    "max_len",
    "span",
    "min_matches",
    "min_distinct",
    "per_match",
    "max_confidence",
    "supersedes",
    "boundary",
    "metadata_ok",
    "description",
];

/// Parse and compile one YAML document.
pub fn load(yaml: &str, origin: &str) -> Result<Loaded, DetectorError> {
    let loc = Locator { yaml, origin };
    let file: FileSpec = serde_yaml::from_str(yaml).map_err(|e| {
        let (line, column, index) = location_of(&e);
        let message = e.to_string();
        let help = message
            .split("unknown field `")
            .nth(1)
            .and_then(|r| r.split('`').next())
            .and_then(|bad| did_you_mean(bad, SPEC_KEYS.iter().copied()))
            .map(|s| format!("did you mean `{s}`?"));
        DetectorError::Yaml {
            at: Box::new(Position { origin: origin.to_string(), line, column }),
            message,
            src: loc.src(),
            span: (index, 1).into(),
            help,
        }
    })?;

    let mut out = Loaded::default();
    if let Some(meta) = file.name_metadata {
        out.suffixes = meta.suffixes.iter().map(|s| s.to_lowercase()).collect();
        out.prefixes = meta.prefixes.iter().map(|s| s.to_lowercase()).collect();
    }
    for spec in file.detectors {
        let id = spec.id.clone();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(loc.invalid(&id, None, "ids use lowercase letters, digits and `_`".to_string()));
        }
        for (field, v) in [
            ("confidence", Some(spec.confidence)),
            ("min_confidence", spec.min_confidence),
            ("context_boost", spec.context_boost),
            ("negative_penalty", spec.negative_penalty),
            ("max_confidence", spec.max_confidence),
            ("per_match", Some(spec.per_match)),
        ] {
            if let Some(v) = v
                && !(0.0..=1.0).contains(&v)
            {
                return Err(loc.invalid(&id, Some(field), format!("`{field}` must be between 0 and 1, got {v}")));
            }
        }
        if let Some(cat) = &spec.category
            && !taxonomy::is_known(cat)
        {
            let l = loc.find(&id, Some("category"));
            return Err(DetectorError::UnknownCategory {
                at: loc.at(l),
                id,
                name: cat.clone(),
                suggestion: did_you_mean(cat, taxonomy::category_ids().iter().map(String::as_str)),
                src: loc.src(),
                span: (l.offset, l.len).into(),
            });
        }
        let validator = match &spec.validator {
            None => None,
            Some(name) => match Validator::from_name(name) {
                Some(v) => Some(v),
                None => {
                    let l = loc.find(&id, Some("validator"));
                    return Err(DetectorError::UnknownValidator {
                        at: loc.at(l),
                        id,
                        name: name.clone(),
                        suggestion: did_you_mean(name, VALIDATOR_NAMES.iter().copied()),
                        known: VALIDATOR_LIST,
                        src: loc.src(),
                        span: (l.offset, l.len).into(),
                    });
                }
            },
        };
        // A pattern with only ASCII text goes into a prefilter set, whose build checks its syntax
        // (and [`locate_bad_pattern`] points at it if that fails); any other is checked here.
        let regex = match &spec.pattern {
            Some(p) if p.is_ascii() => Some(LazyRegex::unchecked(p)),
            Some(p) => Some(LazyRegex::checked(p).map_err(|e| loc.regex(&id, "pattern", &e))?),
            None => None,
        };
        match spec.kind {
            Kind::Name => {
                let Some(regex) = regex else {
                    return Err(loc.invalid(&id, None, "name rules need a `pattern`".to_string()));
                };
                let Some(category) = spec.category.clone() else {
                    return Err(loc.invalid(&id, None, "name rules need a `category`".to_string()));
                };
                let parent = match &spec.parent {
                    Some(p) => Some(LazyRegex::checked(p).map_err(|e| loc.regex(&id, "parent", &e))?),
                    None => None,
                };
                let not_parent = match &spec.not_parent {
                    Some(p) => Some(LazyRegex::checked(p).map_err(|e| loc.regex(&id, "not_parent", &e))?),
                    None => None,
                };
                let entity = spec
                    .entity
                    .clone()
                    .unwrap_or_else(|| category.rsplit('.').next().unwrap_or(&category).to_uppercase());
                out.names.push(NameRule {
                    id,
                    entity,
                    category,
                    regex,
                    parent,
                    not_parent,
                    confidence: spec.confidence,
                    metadata_ok: spec.metadata_ok,
                    origin: origin.to_string(),
                    description: spec.description,
                });
            }
            Kind::Value => {
                let Some(entity) = spec.entity.clone() else {
                    return Err(loc.invalid(&id, None, "value detectors need an `entity`".to_string()));
                };
                if regex.is_none() && spec.span != SpanMode::Value {
                    return Err(loc.invalid(&id, None, "a `pattern` is required unless `span: value`".to_string()));
                }
                if regex.is_none() && validator.is_none() {
                    return Err(loc.invalid(&id, None, "a detector without `pattern` needs a `validator`".to_string()));
                }
                if spec.parent.is_some() || spec.not_parent.is_some() {
                    return Err(loc.invalid(&id, Some("parent"), "`parent` only applies to `kind: name`".to_string()));
                }
                let context = context_regex(&spec.context).map_err(|m| loc.invalid(&id, Some("context"), m))?;
                let negative =
                    context_regex(&spec.negative_context).map_err(|m| loc.invalid(&id, Some("negative_context"), m))?;
                if spec.require_context && context.is_none() {
                    return Err(loc.invalid(
                        &id,
                        Some("require_context"),
                        "`require_context: true` needs `context` words".to_string(),
                    ));
                }
                out.values.push(ValueDetector {
                    id,
                    entity,
                    category: spec.category,
                    pattern: spec.pattern,
                    regex,
                    validator,
                    validator_name: spec.validator,
                    confidence: spec.confidence,
                    min_confidence: spec.min_confidence.unwrap_or(0.5),
                    context,
                    context_boost: spec.context_boost.unwrap_or(0.25),
                    negative,
                    negative_penalty: spec.negative_penalty.unwrap_or(0.3),
                    window: spec.context_window.unwrap_or(40),
                    require_context: spec.require_context,
                    min_len: spec.min_len.unwrap_or(0),
                    max_len: spec.max_len.unwrap_or(usize::MAX),
                    span: spec.span,
                    min_matches: spec.min_matches.max(1),
                    min_distinct: spec.min_distinct.max(1),
                    per_match: spec.per_match,
                    max_confidence: spec.max_confidence.unwrap_or(0.95),
                    supersedes: spec.supersedes,
                    boundary: spec.boundary,
                    origin: origin.to_string(),
                    description: spec.description,
                });
            }
        }
    }
    Ok(out)
}

/// After a prefilter set failed to build on `added` (the new detectors' ids and patterns): the
/// detector whose own pattern is at fault, with its place in the YAML (its syntax, else its size
/// on its own), if one is.
pub fn locate_bad_pattern<'a>(
    added: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    yaml: &str,
    origin: &str,
) -> Option<DetectorError> {
    let loc = Locator { yaml, origin };
    let bad = added
        .clone()
        .find_map(|(id, p)| check_syntax(p).err().map(|e| (id, e)))
        .or_else(|| added.clone().find_map(|(id, p)| compile(p).err().map(|e| (id, e))))?;
    Some(loc.regex(bad.0, "pattern", &bad.1))
}

/// Check cross-detector references once everything is loaded.
pub fn check_references(loaded: &Loaded, all_ids: &[&str], yaml: &str, origin: &str) -> Result<(), DetectorError> {
    let loc = Locator { yaml, origin };
    let mut seen: Vec<&str> = all_ids.to_vec();
    for id in loaded.values.iter().map(|d| d.id.as_str()).chain(loaded.names.iter().map(|n| n.id.as_str())) {
        if seen.contains(&id) {
            return Err(loc.invalid(id, None, "duplicate detector id".to_string()));
        }
        seen.push(id);
    }
    for d in &loaded.values {
        for s in &d.supersedes {
            if !seen.contains(&s.as_str()) {
                let hint = did_you_mean(s, seen.iter().copied())
                    .map(|h| format!(" (did you mean `{h}`?)"))
                    .unwrap_or_default();
                return Err(loc.invalid(
                    &d.id,
                    Some("supersedes"),
                    format!("`supersedes` names unknown detector `{s}`{hint}"),
                ));
            }
        }
    }
    Ok(())
}
