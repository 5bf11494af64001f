//! The linter behind `scopecheck check`: what a scope and its rules say that cannot be meant.
//!
//! Loading already refuses what cannot be used (unknown keys and categories, bad patterns and
//! windows, a notice that collects what it promises never to, windows that allow no time at all).
//! The linter reports what loads but is dead or contradictory: rules that no request this scope
//! makes possible can satisfy, declarations nothing could ever flag, windows that are never open,
//! purposes nobody may use. Lints are data: each has a stable id, a level, a title and help,
//! defined once in [`LINTS`], and a location (file, line, column) in the scope or the policy it
//! is about. `docs/lint.md` documents each one, and what "can never fire" means exactly.
//!
//! # Rules that can never fire
//!
//! Each rule is probed with the requests this scope makes possible, built by the evaluator's own
//! entity and context code ([`crate::eval::probe`]): for every action a rule's policies apply to,
//! every combination of the values the request's parts can take: each declared field (one path
//! per `collect` entry), a path no entry covers, each `never` field; every taxonomy category,
//! from the name or the values, at every confidence the detectors report; in and out of the
//! windows at every hour of the week; no subject kind, each declared one and another; each declared
//! store, one the scope does not declare and none, each in every state an inventory could report;
//! each declared role and another; every purpose the scope names and another. Free text (sources,
//! actors, regions) and numbers are taken from the empty value, one other value, and every string
//! and number literal written in the policies. A dimension a rule's policies never read (no
//! `context.x`, no `.x`) is held at one value, which cannot change its decision: that is what
//! keeps the search small. A rule no probe satisfies can never fire for this scope.

use crate::error::{Location, Result, line_col, offset_of};
use crate::eval::probe::{CollectProbe, ObservedState};
use crate::eval::{Engine, Evaluator, NO_STORE, UNCLASSIFIED};
use crate::rules::{BUILTIN_FILE, Fire};
use crate::scope::{EncryptionLevel, locate_from};
use crate::target::Act;
use crate::window::LocalTime;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// How much a lint matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Worth knowing; nothing is wrong.
    Info,
    /// Probably not what the author meant.
    Warning,
    /// The scope or a rule says something that cannot work as written.
    Error,
}

impl Level {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }

    /// SARIF's `level` for it.
    pub fn sarif(self) -> &'static str {
        match self {
            Level::Info => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Level::Info),
            "warning" => Ok(Level::Warning),
            "error" => Ok(Level::Error),
            _ => Err(format!("`{s}` is not a lint level; use error, warning or info")),
        }
    }
}

/// What a lint is: its stable id, level, title and how to fix what it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LintMeta {
    /// Stable id (a public contract, like rule ids).
    pub id: &'static str,
    /// Level.
    pub level: Level,
    /// One line.
    pub title: &'static str,
    /// How to fix it.
    pub help: &'static str,
}

/// Every lint, in the order `docs/lint.md` lists them.
pub const LINTS: &[LintMeta] = &[
    LintMeta {
        id: "rule-never-fires",
        level: Level::Warning,
        title: "A rule from a policy file can never fire for this scope",
        help: "No request this scope makes possible satisfies the rule, so it will never report anything. Check its conditions against `scopecheck schema --cedar` and the scope (a category, store, role or purpose the scope never names; a condition that contradicts another), or remove it.",
    },
    LintMeta {
        id: "builtin-rule-idle",
        level: Level::Info,
        title: "A built-in rule cannot fire for this scope",
        help: "The scope gives the rule nothing to check (no windows, no `subjects:`, no field with `encryption: required`...). Nothing is wrong if that is intended; declare what the rule needs if it is not.",
    },
    LintMeta {
        id: "rule-may-error",
        level: Level::Error,
        title: "A policy fails to evaluate on a request this scope makes possible",
        help: "Cedar skips a policy that errors, so scopecheck reports `policy-error` for every such request and `enforce` denies the event. Guard optional attributes with `has` and keep arithmetic in range.",
    },
    LintMeta {
        id: "rule-unchecked",
        level: Level::Info,
        title: "A rule reads too much of the request to be probed exhaustively",
        help: "The probe budget ran out before every request the rule could see was tried, so whether it can fire is not known. Nothing is wrong; split the rule into policies that each read fewer parts of the request to have it checked.",
    },
    LintMeta {
        id: "collect-covers-everything",
        level: Level::Warning,
        title: "A `collect` pattern covers every field, so no field is ever undisclosed",
        help: "A pattern such as `**` or `*` declares every path, with one category and purpose, so an undeclared field can never be found. Declare the fields the notice names instead.",
    },
    LintMeta {
        id: "declaration-shadowed",
        level: Level::Warning,
        title: "Every path a `collect` entry matches is claimed by a more specific entry",
        help: "The most specific entry covering a path decides, so this entry never applies. Remove it, or make the patterns disjoint.",
    },
    LintMeta {
        id: "vacuous-declaration",
        level: Level::Warning,
        title: "Nothing found in this field's values can ever be reported",
        help: "Whatever category the detectors find in the values, no rule decides differently than for the declared category: the declaration is so wide that it cannot be broken. Declare the narrowest category the field holds.",
    },
    LintMeta {
        id: "window-never-open",
        level: Level::Error,
        title: "An `allow` window is never open: `deny` takes back all of it",
        help: "Every minute this window allows is denied, so it allows nothing. Remove it, or narrow the `deny` windows.",
    },
    LintMeta {
        id: "window-redundant",
        level: Level::Info,
        title: "An `allow` window adds no time the other `allow` windows do not already give",
        help: "Every minute of it is inside another `allow` window. Remove it, or fix its days or hours.",
    },
    LintMeta {
        id: "deny-window-unused",
        level: Level::Info,
        title: "A `deny` window takes back no time that `allow` gives",
        help: "Every minute of it is already outside the `allow` windows, so it changes nothing. Remove it, or fix its days or hours.",
    },
    LintMeta {
        id: "purpose-unused",
        level: Level::Warning,
        title: "A purpose declared on fields that no access role may use",
        help: "Fields are captured for this purpose, yet no role under `access:` lists it, so every read for it is purpose creep. Add the purpose to the role that serves it, or drop it from the fields.",
    },
    LintMeta {
        id: "role-purpose-undeclared",
        level: Level::Warning,
        title: "A role's purpose that no declared field is captured for",
        help: "Reading a field for a purpose the field does not list is purpose creep, so this purpose only covers fields that list no purpose. Add it to the fields it is meant for, or remove it from the role.",
    },
    LintMeta {
        id: "role-without-purposes",
        level: Level::Warning,
        title: "An access role lists no purpose, so every read by it is purpose creep",
        help: "List the purposes this role may read for.",
    },
];

/// A lint's metadata by id.
pub fn meta(id: &str) -> Option<&'static LintMeta> {
    LINTS.iter().find(|l| l.id == id)
}

/// One thing the linter found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lint {
    /// The lint's id ([`LINTS`]).
    pub id: &'static str,
    /// Its level.
    pub level: Level,
    /// What is wrong here, naming the entry.
    pub message: String,
    /// How to fix it.
    pub help: &'static str,
    /// Where: the scope entry or the policy it is about.
    pub file: String,
    /// 1-based line, if known.
    pub line: Option<usize>,
    /// 1-based column, if known.
    pub column: Option<usize>,
    /// The rule it is about, for rule lints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl Lint {
    fn new(id: &'static str, message: String, at: Location) -> Lint {
        let m = meta(id);
        Lint {
            id,
            level: m.map_or(Level::Warning, |m| m.level),
            message,
            help: m.map_or("", |m| m.help),
            file: at.file,
            line: at.line,
            column: at.column,
            rule: None,
        }
    }

    fn about_rule(mut self, rule: &str) -> Lint {
        self.rule = Some(rule.to_string());
        self
    }
}

/// What the linter found, and what it looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LintReport {
    /// The scope file.
    pub scope: String,
    /// Its program.
    pub program: String,
    /// Its version.
    pub version: Option<String>,
    /// `collect` entries.
    pub declared_fields: usize,
    /// `never` entries.
    pub never: usize,
    /// Declared stores.
    pub stores: usize,
    /// Declared access roles.
    pub roles: usize,
    /// Rules in force (with the engine's own).
    pub rules: usize,
    /// Stores in the inventory given.
    pub inventory_stores: usize,
    /// Cedar requests the probes made.
    pub probe_requests: u64,
    /// The lints, by file, line, column and id.
    pub lints: Vec<Lint>,
}

impl LintReport {
    /// Lints at this level or above.
    pub fn count_at_or_above(&self, level: Level) -> usize {
        self.lints.iter().filter(|l| l.level >= level).count()
    }

    fn count(&self, level: Level) -> usize {
        self.lints.iter().filter(|l| l.level == level).count()
    }

    /// `N errors, N warnings, N infos`.
    fn counts(&self) -> String {
        let n = |level: Level, one: &str, many: &str| {
            let c = self.count(level);
            format!("{c} {}", if c == 1 { one } else { many })
        };
        format!(
            "{}, {}, {}",
            n(Level::Error, "error", "errors"),
            n(Level::Warning, "warning", "warnings"),
            n(Level::Info, "info", "infos")
        )
    }

    /// The human format: one `file:line:col: level[id] message` per lint with its help, then a
    /// summary line that starts `ok:` when no lint is at or above `fail_on`.
    pub fn human(&self, fail_on: Option<Level>) -> String {
        let mut s = String::new();
        for l in &self.lints {
            let at = match (l.line, l.column) {
                (Some(line), Some(col)) => format!("{}:{line}:{col}", l.file),
                (Some(line), None) => format!("{}:{line}", l.file),
                _ => l.file.clone(),
            };
            s.push_str(&format!("{at}: {}[{}] {}\n  help: {}\n", l.level, l.id, l.message, l.help));
        }
        let failing = fail_on.map_or(0, |f| self.count_at_or_above(f));
        s.push_str(&format!(
            "{}: {} — program {}{}: {} declared fields, {} never entries, {} stores, {} roles; {} rules; {} stores in the inventory; {}\n",
            if failing > 0 { "failed" } else { "ok" },
            self.scope,
            self.program,
            self.version.as_deref().map(|v| format!(" {v}")).unwrap_or_default(),
            self.declared_fields,
            self.never,
            self.stores,
            self.roles,
            self.rules,
            self.inventory_stores,
            self.counts(),
        ));
        s
    }

    /// The JSON format (`docs/lint.md`): stable keys, lints in order.
    pub fn json(&self) -> Value {
        json!({
            "format": 1,
            "tool": {"name": "scopecheck", "version": env!("CARGO_PKG_VERSION")},
            "scope": {"file": self.scope, "program": self.program, "version": self.version},
            "checked": {
                "declared_fields": self.declared_fields,
                "never": self.never,
                "stores": self.stores,
                "roles": self.roles,
                "rules": self.rules,
                "inventory_stores": self.inventory_stores,
                "probe_requests": self.probe_requests,
            },
            "summary": {
                "error": self.count(Level::Error),
                "warning": self.count(Level::Warning),
                "info": self.count(Level::Info),
            },
            "lints": self.lints.iter().map(|l| {
                let mut v = json!({
                    "id": l.id,
                    "level": l.level,
                    "message": l.message,
                    "help": l.help,
                    "location": {"file": l.file, "line": l.line, "column": l.column},
                });
                if let (Some(r), Some(o)) = (&l.rule, v.as_object_mut()) {
                    o.insert("rule".into(), json!(r));
                }
                v
            }).collect::<Vec<_>>(),
        })
    }

    /// SARIF 2.1.0: one rule per lint id (all of [`LINTS`]), one result per lint, located in the
    /// scope or policy file it is about.
    pub fn sarif(&self) -> Value {
        use crate::report::sarif::{rule_name, uri};
        let rules: Vec<Value> = LINTS
            .iter()
            .map(|m| {
                json!({
                    "id": m.id,
                    "name": rule_name(m.id),
                    "shortDescription": {"text": format!("{}.", m.title.trim_end_matches('.'))},
                    "fullDescription": {"text": format!("{}.", m.title.trim_end_matches('.'))},
                    "help": {"text": m.help, "markdown": m.help},
                    "helpUri": "https://github.com/scopecheck/scopecheck/blob/main/docs/lint.md",
                    "defaultConfiguration": {"level": m.level.sarif()},
                    "properties": {"tags": ["privacy", "lint"], "precision": "very-high"},
                })
            })
            .collect();
        let results: Vec<Value> = self
            .lints
            .iter()
            .map(|l| {
                let index = LINTS.iter().position(|m| m.id == l.id).unwrap_or(0);
                let mut region = json!({"startLine": l.line.unwrap_or(1).max(1), "endLine": l.line.unwrap_or(1).max(1)});
                if let (Some(c), Some(o)) = (l.column, region.as_object_mut()) {
                    o.insert("startColumn".into(), json!(c.max(1)));
                }
                let message = format!("{}.", l.message.trim_end_matches('.'));
                json!({
                    "ruleId": l.id,
                    "ruleIndex": index,
                    "level": l.level.sarif(),
                    "message": {"text": message},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri(&l.file)}, "region": region}}],
                    "partialFingerprints": {"scopecheckLint/v1": crate::bundle::sha256_hex(format!("{}\u{0}{}\u{0}{}", l.id, l.file, l.message).as_bytes()).get(..32).unwrap_or("")},
                })
            })
            .collect();
        json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "scopecheck",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/scopecheck/scopecheck",
                    "rules": rules,
                }},
                "automationDetails": {"id": format!("scopecheck-lint/{}/", self.program)},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }],
        })
    }
}

/// Most Cedar requests spent on one rule before it is reported as `rule-unchecked`.
pub const RULE_BUDGET: u64 = 60_000;

/// Lints a loaded engine: its scope (`scope_text` is the scope file as read, for positions) and
/// its rules.
pub fn lint(engine: Arc<Engine>, scope_text: &str) -> Result<LintReport> {
    let scope = &engine.scope;
    let mut lints = Vec::new();
    let at = Locator { text: scope_text, file: &scope.file };
    lint_windows(&engine, &at, &mut lints);
    lint_purposes(&engine, &at, &mut lints);
    let fields = field_probes(&engine, &at, &mut lints);
    let mut prober = Prober::new(Arc::clone(&engine), fields)?;
    prober.vacuous_declarations(&at, &mut lints)?;
    prober.rules(&at, &mut lints)?;
    let probe_requests = prober.ev.cedar_calls();
    lints.sort_by(|a, b| {
        (a.file != scope.file, &a.file, a.line, a.column, a.id, &a.message).cmp(&(
            b.file != scope.file,
            &b.file,
            b.line,
            b.column,
            b.id,
            &b.message,
        ))
    });
    lints.dedup();
    Ok(LintReport {
        scope: scope.file.clone(),
        program: scope.raw.program.clone(),
        version: scope.raw.version.clone(),
        declared_fields: scope.raw.collect.len(),
        never: scope.raw.never.len(),
        stores: scope.raw.stores.len(),
        roles: scope.raw.access.len(),
        rules: engine.rules.rules().len(),
        inventory_stores: engine.inventory.len(),
        probe_requests,
        lints,
    })
}

/// Finds positions in the scope text.
struct Locator<'a> {
    text: &'a str,
    file: &'a str,
}

impl Locator<'_> {
    fn pos(&self, off: usize) -> Location {
        let (l, c) = line_col(self.text, off);
        Location::at(self.file, l, c)
    }

    fn file(&self) -> Location {
        Location::file(self.file)
    }

    /// A (line, column) of [`crate::scope::ScopeLines`] as a location.
    fn lc(&self, lc: Option<(u64, u64)>) -> Location {
        match lc {
            Some((l, c)) => Location::at(self.file, l as usize, c as usize),
            None => self.file(),
        }
    }

    /// `needle` written at or after (line, column), else at (line, column).
    fn after(&self, lc: Option<(u64, u64)>, needle: &str) -> Location {
        let from = lc.and_then(|(l, c)| offset_of(self.text, l as usize, c as usize));
        match from.and_then(|f| locate_from(self.text, f, needle)) {
            Some(off) => self.pos(off),
            None => self.lc(lc),
        }
    }

    /// The top-level `key:`.
    fn section(&self, key: &str) -> Option<usize> {
        let head = format!("{key}:");
        let mut from = 0;
        while let Some(off) = locate_from(self.text, from, key) {
            let line_start = self.text.get(..off).map_or(0, |t| t.rfind('\n').map_or(0, |n| n + 1));
            if line_start == off && self.text.get(off..).is_some_and(|t| t.starts_with(&head)) {
                return Some(off);
            }
            from = off + key.len();
        }
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Windows

/// Minutes of a week (0 = Monday 00:00).
const WEEK: usize = 7 * 24 * 60;

fn minute_time(m: usize) -> LocalTime {
    LocalTime {
        weekday: u8::try_from(m / 1440).unwrap_or(0),
        hour: u8::try_from(m % 1440 / 60).unwrap_or(0),
        minute: u8::try_from(m % 60).unwrap_or(0),
    }
}

fn lint_windows(engine: &Engine, at: &Locator<'_>, lints: &mut Vec<Lint>) {
    let (Some(w), Some(decl)) = (&engine.scope.windows, &engine.scope.raw.windows) else { return };
    let section = at.section("windows").unwrap_or(0);
    let locate = |written: &str| match locate_from(at.text, section, written.trim()) {
        Some(off) => at.pos(off),
        None => at.lc(engine.scope.lines.windows),
    };
    let denied = |t: LocalTime| w.deny.iter().any(|d| d.contains(t));
    for (i, (win, written)) in w.allow.iter().zip(&decl.allow).enumerate() {
        let mut open = false;
        let mut alone = false;
        for m in 0..WEEK {
            let t = minute_time(m);
            if !win.contains(t) || denied(t) {
                continue;
            }
            open = true;
            let others = w.allow.iter().enumerate().any(|(j, o)| j != i && o.contains(t));
            if !others {
                alone = true;
                break;
            }
        }
        if !open {
            lints.push(Lint::new(
                "window-never-open",
                format!("the `allow` window `{written}` is never open: `deny` takes back every minute of it"),
                locate(written),
            ));
        } else if !alone {
            lints.push(Lint::new(
                "window-redundant",
                format!("the `allow` window `{written}` gives no minute another `allow` window does not"),
                locate(written),
            ));
        }
    }
    for written_deny in decl.deny.iter().zip(&w.deny).filter_map(|(written, d)| {
        let takes = (0..WEEK)
            .map(minute_time)
            .any(|t| d.contains(t) && (w.allow.is_empty() || w.allow.iter().any(|a| a.contains(t))));
        (!takes).then_some(written)
    }) {
        lints.push(Lint::new(
            "deny-window-unused",
            format!("the `deny` window `{written_deny}` takes back no minute that `allow` gives"),
            locate(written_deny),
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Purposes

fn lint_purposes(engine: &Engine, at: &Locator<'_>, lints: &mut Vec<Lint>) {
    let scope = &engine.scope;
    let role_purposes: BTreeSet<&str> =
        scope.raw.access.iter().flat_map(|a| a.purposes.iter().map(String::as_str)).collect();
    let mut field_purposes: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, c) in scope.raw.collect.iter().enumerate() {
        for p in &c.purposes {
            field_purposes.entry(p.as_str()).or_default().push(i);
        }
    }
    for (purpose, entries) in &field_purposes {
        if role_purposes.contains(purpose) {
            continue;
        }
        let Some(&first) = entries.first() else { continue };
        let field = scope.raw.collect.get(first).map_or("", |c| c.field.as_str());
        let lc = scope.lines.collect.get(first).copied().flatten();
        let others = match entries.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        let why = if scope.raw.access.is_empty() {
            "the scope declares no `access:` role"
        } else {
            "no role under `access:` lists it"
        };
        lints.push(Lint::new(
            "purpose-unused",
            format!("purpose `{purpose}` of field `{field}`{others} is one no role may read for: {why}"),
            at.after(lc, purpose),
        ));
    }
    // Only where fields declare purposes at all: a scope that gives purposes to roles alone
    // says nothing per field.
    if !field_purposes.is_empty() {
        for a in &scope.raw.access {
            let lc = scope.lines.roles.get(&a.role).copied();
            for p in &a.purposes {
                if !field_purposes.contains_key(p.as_str()) {
                    lints.push(Lint::new(
                        "role-purpose-undeclared",
                        format!("role `{}` may read for `{p}`, a purpose no `collect` entry lists", a.role),
                        at.after(lc, p),
                    ));
                }
            }
        }
    }
    for a in &scope.raw.access {
        if a.purposes.is_empty() {
            lints.push(Lint::new(
                "role-without-purposes",
                format!("role `{}` lists no purpose: every read by it is purpose creep", a.role),
                at.lc(scope.lines.roles.get(&a.role).copied()),
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Field probes

/// A field path the probes use, and the `collect` entry that declares it.
#[derive(Debug, Clone)]
struct FieldProbe {
    path: String,
    decl: Option<usize>,
}

/// Key names used to fill `*` and `**` in patterns: chosen to be in no real scope.
const PROBE_KEY: &str = "zz_scopecheck_probe";

/// Concrete paths a pattern matches, most obvious first: `*` filled with a probe key, `**` with
/// none, one and two keys, each also with a key below it (a pattern covers its subtree).
fn instances(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    for below in [false, true] {
        for fill_double in 0..3 {
            let mut segs: Vec<String> = Vec::new();
            for seg in pattern.split('.') {
                let seg = seg.replace("[*]", "[]");
                if seg == "**" {
                    segs.extend(std::iter::repeat_n(PROBE_KEY.to_string(), fill_double));
                    continue;
                }
                segs.push(seg.replace('*', PROBE_KEY));
            }
            if segs.is_empty() || below {
                segs.push(PROBE_KEY.to_string());
            }
            let path = crate::pattern::normalize_path(&segs.join("."));
            if !out.contains(&path) {
                out.push(path);
            }
        }
    }
    out
}

fn field_probes(engine: &Engine, at: &Locator<'_>, lints: &mut Vec<Lint>) -> Vec<FieldProbe> {
    let scope = &engine.scope;
    let mut out: Vec<FieldProbe> = Vec::new();
    for (i, pat) in scope.collect.iter().enumerate() {
        let candidates = instances(pat.as_str());
        let lc = scope.lines.collect.get(i).copied().flatten();
        match candidates.iter().find(|p| pat.covers(p) && scope.declaration_for(p) == Some(i)) {
            Some(p) => out.push(FieldProbe { path: p.clone(), decl: Some(i) }),
            None => {
                let by = candidates
                    .iter()
                    .filter_map(|p| scope.declaration_for(p))
                    .find(|j| *j != i)
                    .and_then(|j| scope.raw.collect.get(j))
                    .map_or(String::new(), |c| format!(" `{}`", c.field));
                let field = scope.raw.collect.get(i).map_or("", |c| c.field.as_str());
                lints.push(Lint::new(
                    "declaration-shadowed",
                    format!("`{field}` never applies: the more specific entry{by} claims every path it matches"),
                    at.lc(lc),
                ));
            }
        }
    }
    let undeclared = [PROBE_KEY.to_string(), format!("{PROBE_KEY}.{PROBE_KEY}"), format!("{PROBE_KEY}[].{PROBE_KEY}")];
    match undeclared.iter().find(|p| scope.declaration_for(p).is_none()) {
        Some(p) => out.push(FieldProbe { path: p.clone(), decl: None }),
        None => {
            if let Some(i) = undeclared.first().and_then(|p| scope.declaration_for(p)) {
                let field = scope.raw.collect.get(i).map_or("", |c| c.field.as_str());
                lints.push(Lint::new(
                    "collect-covers-everything",
                    format!("`{field}` covers every path: no captured field can be undisclosed"),
                    at.lc(scope.lines.collect.get(i).copied().flatten()),
                ));
            }
        }
    }
    for pat in &scope.never_fields {
        if let Some(p) = instances(pat.as_str()).into_iter().find(|p| pat.covers(p)) {
            let decl = scope.declaration_for(&p);
            if !out.iter().any(|f| f.path == p) {
                out.push(FieldProbe { path: p, decl });
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// What policies read

/// What a rule's policies read of a request, and the literals they name.
#[derive(Debug, Clone, Default)]
struct Reads {
    /// Attribute names read anywhere (`x.name`, `x has name`).
    attrs: BTreeSet<String>,
    /// `context` used other than by attribute (the whole record): every context part counts.
    whole_context: bool,
}

impl Reads {
    fn reads(&self, attr: &str) -> bool {
        self.attrs.contains(attr)
    }

    fn context(&self, attr: &str) -> bool {
        self.whole_context || self.attrs.contains(attr)
    }

    fn merge(&mut self, other: &Reads) {
        self.attrs.extend(other.attrs.iter().cloned());
        self.whole_context |= other.whole_context;
    }
}

/// Literals written in the policies: candidate values for free text and numbers.
#[derive(Debug, Clone, Default)]
struct Literals {
    strings: BTreeSet<String>,
    longs: BTreeSet<i64>,
    /// (entity type without namespace, id).
    entities: BTreeSet<(String, String)>,
}

impl Literals {
    fn of_type(&self, ty: &str) -> impl Iterator<Item = &str> {
        self.entities.iter().filter(move |(t, _)| t == ty).map(|(_, id)| id.as_str())
    }
}

fn is_context_var(v: &Value) -> bool {
    v.get("Var").and_then(Value::as_str) == Some("context")
}

/// Walks a policy's JSON form (Cedar's EST).
fn walk(v: &Value, reads: &mut Reads, lits: &mut Literals) {
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                match (k.as_str(), val) {
                    ("." | "has", Value::Object(inner)) if inner.contains_key("attr") => {
                        if let Some(a) = inner.get("attr").and_then(Value::as_str) {
                            reads.attrs.insert(a.to_string());
                        }
                        match inner.get("left") {
                            Some(left) if is_context_var(left) => {}
                            Some(left) => walk(left, reads, lits),
                            None => {}
                        }
                    }
                    ("Var", Value::String(s)) if s == "context" => reads.whole_context = true,
                    ("Value", Value::String(s)) => {
                        lits.strings.insert(s.clone());
                    }
                    ("Value", Value::Number(n)) => {
                        if let Some(i) = n.as_i64() {
                            lits.longs.insert(i);
                        }
                    }
                    ("__entity" | "entity", Value::Object(e)) => {
                        if let (Some(t), Some(id)) =
                            (e.get("type").and_then(Value::as_str), e.get("id").and_then(Value::as_str))
                        {
                            let short = t.rsplit("::").next().unwrap_or(t);
                            lits.entities.insert((short.to_string(), id.to_string()));
                        }
                    }
                    _ => walk(val, reads, lits),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, reads, lits)),
        _ => {}
    }
}

/// A rule's policies: where the first is written, and what they read per action.
#[derive(Debug, Clone, Default)]
struct RuleShape {
    /// (file, line, column) of its first policy.
    first: Option<(String, usize, usize)>,
    /// Per action (index in [`Act::ALL`]), what its policies for it read.
    acts: BTreeMap<usize, Reads>,
}

fn act_index(a: Act) -> usize {
    Act::ALL.iter().position(|x| *x == a).unwrap_or(0)
}

fn policy_acts(p: &cedar_policy::Policy) -> Vec<Act> {
    use cedar_policy::ActionConstraint;
    let of = |uid: &cedar_policy::EntityUid| Act::from_id(uid.id().unescaped());
    match p.action_constraint() {
        ActionConstraint::Any => Act::ALL.to_vec(),
        ActionConstraint::Eq(uid) => of(&uid).into_iter().collect(),
        ActionConstraint::In(uids) => uids.iter().filter_map(of).collect(),
    }
}

fn rule_shapes(engine: &Engine) -> (BTreeMap<usize, RuleShape>, Literals) {
    let rules = &engine.rules;
    let mut shapes: BTreeMap<usize, RuleShape> = BTreeMap::new();
    let mut lits = Literals::default();
    for p in rules.policies().policies() {
        let Some(meta) = rules.policy_meta(p.id()) else { continue };
        let mut reads = Reads::default();
        match p.to_json() {
            Ok(v) => walk(&v, &mut reads, &mut lits),
            // Unreadable: assume it reads everything.
            Err(_) => reads.whole_context = true,
        }
        if reads.whole_context {
            // Entity attributes are read by name; the whole context is every part of it.
            reads.attrs.insert("*".into());
        }
        let shape = shapes.entry(meta.rule).or_default();
        let file = rules.sources().get(meta.source).map_or("", |(f, _)| f.as_str()).to_string();
        let here = (file, meta.line, meta.column);
        if shape.first.as_ref().is_none_or(|f| (&f.0, f.1, f.2) > (&here.0, here.1, here.2)) {
            shape.first = Some(here);
        }
        for a in policy_acts(p) {
            shape.acts.entry(act_index(a)).or_default().merge(&reads);
        }
    }
    (shapes, lits)
}

// ---------------------------------------------------------------------------------------------
// Probing

const PROBE_STORE: &str = "(a store the scope does not declare)";
const PROBE_KIND: &str = "(another kind of person)";
const PROBE_TEXT: &str = "(another value)";
const PROBE_ROLE: &str = "(a role the scope does not declare)";
const PROBE_PURPOSE: &str = "(a purpose the scope does not name)";

/// Store attributes only an inventory gives.
const OBSERVED_ATTRS: &[&str] =
    &["observed", "encryption_known", "encryption", "encrypted_at_rest", "meets_declared_encryption"];

const LEVELS: [Option<EncryptionLevel>; 6] = [
    None,
    Some(EncryptionLevel::None),
    Some(EncryptionLevel::InTransit),
    Some(EncryptionLevel::AtRest),
    Some(EncryptionLevel::ClientSide),
    Some(EncryptionLevel::EndToEnd),
];

/// Why probing one rule stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Fired,
    Budget,
}

type Flow = std::result::Result<(), Stop>;

struct Prober {
    engine: Arc<Engine>,
    ev: Evaluator,
    fields: Vec<FieldProbe>,
    lits: Literals,
    shapes: BTreeMap<usize, RuleShape>,
    fired: BTreeSet<usize>,
    /// The rule being probed, and the request count its budget ends at.
    target: usize,
    budget_end: u64,
    /// (weekday, hour, in_window) reachable, in-window first.
    times: Vec<(LocalTime, bool)>,
    categories: Vec<String>,
}

impl Prober {
    fn new(engine: Arc<Engine>, fields: Vec<FieldProbe>) -> Result<Prober> {
        let mut ev = Evaluator::new(Arc::clone(&engine))?;
        ev.set_decision_cache(false);
        let (shapes, lits) = rule_shapes(&engine);
        let mut times = Vec::new();
        for weekday in 0..7u8 {
            for hour in 0..24u8 {
                let (mut inside, mut outside) = (false, false);
                for minute in 0..60u8 {
                    let t = LocalTime { weekday, hour, minute };
                    match &engine.scope.windows {
                        Some(w) if !w.allows(t) => outside = true,
                        _ => inside = true,
                    }
                }
                let t = LocalTime { weekday, hour, minute: 0 };
                if inside {
                    times.push((t, true));
                }
                if outside {
                    times.push((t, false));
                }
            }
        }
        times.sort_by_key(|(_, inside)| !inside);
        let mut categories: Vec<String> = engine.taxonomy.iter().map(|c| c.id.clone()).collect();
        categories.sort();
        Ok(Prober {
            engine,
            ev,
            fields,
            lits,
            shapes,
            fired: BTreeSet::new(),
            target: 0,
            budget_end: 0,
            times,
            categories,
        })
    }

    /// Records what a request fired; stops when the target rule fired or the budget is spent.
    fn note(&mut self, fires: &[Fire]) -> Flow {
        self.fired.extend(fires.iter().map(|f| f.rule));
        if self.fired.contains(&self.target) {
            return Err(Stop::Fired);
        }
        if self.ev.cedar_calls() >= self.budget_end {
            return Err(Stop::Budget);
        }
        Ok(())
    }

    fn scope(&self) -> &crate::scope::CompiledScope {
        &self.engine.scope
    }

    /// Store ids: declared, in the inventory, named in policies, and one the scope does not declare.
    fn store_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.scope().raw.stores.iter().map(|s| s.id.clone()).collect();
        for id in self.engine.inventory.keys().map(String::as_str).chain(self.lits.of_type("Store")) {
            if !ids.iter().any(|x| x == id) && id != NO_STORE {
                ids.push(id.to_string());
            }
        }
        ids.push(PROBE_STORE.to_string());
        ids
    }

    /// The states an inventory could report for a store, as far as `reads` can tell them apart.
    fn observed_states(&self, reads: &Reads) -> Vec<Option<ObservedState>> {
        let enc = OBSERVED_ATTRS.iter().any(|a| reads.reads(a)) || reads.reads("*");
        let ret = reads.reads("retention_days") || reads.reads("*");
        let reg = reads.reads("region") || reads.reads("*");
        if !(enc || ret || reg || reads.reads("in_inventory")) {
            return vec![None];
        }
        let mut retentions: Vec<Option<u32>> = vec![None];
        if ret {
            let mut r: BTreeSet<u32> = BTreeSet::from([1]);
            let declared = self
                .scope()
                .raw
                .stores
                .iter()
                .filter_map(|s| s.retention_days)
                .chain(self.scope().raw.collect.iter().filter_map(|c| c.retention_days));
            for d in declared {
                r.extend([d.saturating_sub(1), d, d.saturating_add(1)]);
            }
            r.extend(self.lits.longs.iter().filter_map(|n| u32::try_from(*n).ok()));
            retentions.extend(r.into_iter().map(Some));
        }
        let mut regions: Vec<Option<String>> = vec![None];
        if reg {
            let mut r: BTreeSet<String> = self.scope().raw.stores.iter().filter_map(|s| s.region.clone()).collect();
            r.insert(PROBE_TEXT.to_string());
            r.extend(self.lits.strings.iter().cloned());
            regions.extend(r.into_iter().map(Some));
        }
        let levels: &[Option<EncryptionLevel>] = if enc { &LEVELS } else { &[None] };
        let mut out = vec![None];
        for e in levels {
            for r in &retentions {
                for g in &regions {
                    out.push(Some(ObservedState { encryption: *e, retention_days: *r, region: g.clone() }));
                }
            }
        }
        out
    }

    fn texts(&self, read: bool) -> Vec<String> {
        let mut v = vec![String::new()];
        if read {
            v.push(PROBE_TEXT.to_string());
            v.extend(self.lits.strings.iter().filter(|s| !s.is_empty()).cloned());
        }
        v
    }

    fn kinds(&self, read: bool) -> Vec<Option<String>> {
        let mut v = vec![None];
        if read {
            let s = &self.scope().raw.subjects;
            v.extend(s.iter().cloned().map(Some));
            let extra = std::iter::once(PROBE_KIND.to_string()).chain(self.lits.strings.iter().cloned());
            for k in extra {
                if !v.iter().any(|x| x.as_deref() == Some(k.as_str())) {
                    v.push(Some(k));
                }
            }
        }
        v
    }

    fn time_options(&self, read: bool) -> Vec<(LocalTime, bool)> {
        if read { self.times.clone() } else { self.times.first().copied().into_iter().collect() }
    }

    fn default_store(&self) -> String {
        self.scope().raw.stores.first().map_or(NO_STORE.to_string(), |s| s.id.clone())
    }

    fn confidences(&self) -> Vec<u8> {
        let min = (self.engine.options.min_confidence.clamp(0.0, 1.0) * 10.0).floor() as u8 * 10;
        (min..=100).step_by(10).rev().collect()
    }

    /// Each (category, from_value, confidence) a field can be asked with.
    fn classifications(&self, f: &FieldProbe, reads: &Reads) -> Vec<(String, bool, u8)> {
        let declared = f.decl.and_then(|i| self.scope().raw.collect.get(i)).map(|c| c.category.clone());
        let first = match &declared {
            Some(c) => (c.clone(), false, 100),
            None => (UNCLASSIFIED.to_string(), false, 100),
        };
        let mut out = vec![first];
        let (cat, fv, conf) = (reads.context("category"), reads.context("from_value"), reads.context("confidence"));
        if !(cat || fv || conf) {
            return out;
        }
        let confs = if conf { self.confidences() } else { vec![100] };
        let sources: &[bool] = if declared.is_some() { &[true] } else { &[false, true] };
        for c in &self.categories {
            for from_value in sources {
                for k in &confs {
                    out.push((c.clone(), *from_value, *k));
                }
            }
        }
        out
    }

    /// One rule, one action: every request of the action's space that `reads` can tell apart.
    fn probe_act(&mut self, act: Act, reads: &Reads) -> Result<Flow> {
        match act {
            Act::Capture => self.probe_capture(reads),
            Act::Collect => self.probe_collect(reads),
            Act::Keep => self.probe_keep(reads),
            Act::Retain => self.probe_retain(reads),
            Act::Inventory => self.probe_inventory(reads),
            Act::Access => self.probe_access(reads),
        }
    }

    fn probe_capture(&mut self, reads: &Reads) -> Result<Flow> {
        let unobserved: [Option<ObservedState>; 1] = [None];
        let states = self.observed_states(reads);
        let mut stores = self.store_ids();
        stores.push(NO_STORE.to_string());
        let times = self.time_options(reads.context("in_window") || reads.context("local"));
        let kinds = self.kinds(reads.context("subject_kind") || reads.context("subject_declared"));
        let sources = self.texts(reads.context("source"));
        for store in &stores {
            let st: &[Option<ObservedState>] = if store == NO_STORE { &unobserved } else { &states };
            for state in st {
                self.ev.probe_store(store, state.as_ref())?;
                for (t, inside) in &times {
                    for k in &kinds {
                        for s in &sources {
                            let f = self.ev.probe_capture(store, *t, *inside, k.as_deref(), s)?;
                            if let Err(stop) = self.note(&f) {
                                return Ok(Err(stop));
                            }
                        }
                    }
                }
            }
        }
        Ok(Ok(()))
    }

    fn probe_collect(&mut self, reads: &Reads) -> Result<Flow> {
        let unobserved: [Option<ObservedState>; 1] = [None];
        let store_read = reads.context("store");
        let states = if store_read { self.observed_states(reads) } else { vec![None] };
        let stores = if store_read {
            let mut s = self.store_ids();
            s.push(NO_STORE.to_string());
            s
        } else {
            vec![self.default_store()]
        };
        let times = self.time_options(reads.context("in_window"));
        let kinds = self.kinds(reads.context("subject_kind") || reads.context("subject_declared"));
        let sources = self.texts(reads.context("source"));
        let plaintexts: &[bool] = if reads.context("value_plaintext") { &[false, true] } else { &[false] };
        let fields = self.fields.clone();
        for store in &stores {
            let st: &[Option<ObservedState>] = if store == NO_STORE { &unobserved } else { &states };
            for state in st {
                if store_read {
                    self.ev.probe_store(store, state.as_ref())?;
                }
                for field in &fields {
                    let required = field
                        .decl
                        .and_then(|i| self.scope().raw.collect.get(i))
                        .is_some_and(|c| c.encryption == Some(crate::scope::FieldEncryption::Required));
                    let classes = self.classifications(field, reads);
                    for (category, from_value, confidence) in &classes {
                        for plaintext in plaintexts.iter().filter(|p| required || !**p) {
                            for (_, inside) in &times {
                                for k in &kinds {
                                    for s in &sources {
                                        let p = CollectProbe {
                                            path: &field.path,
                                            category,
                                            from_value: *from_value,
                                            confidence: *confidence,
                                            plaintext: *plaintext,
                                            in_window: *inside,
                                            kind: k.as_deref(),
                                            source: s,
                                            store,
                                        };
                                        let f = self.ev.probe_collect(&p)?;
                                        if let Err(stop) = self.note(&f) {
                                            return Ok(Err(stop));
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(Ok(()))
    }

    fn probe_keep(&mut self, reads: &Reads) -> Result<Flow> {
        let states = self.observed_states(reads);
        let cats: Vec<String> = if reads.context("category") {
            self.categories.clone()
        } else {
            self.categories.first().cloned().into_iter().collect()
        };
        for store in &self.store_ids() {
            for state in &states {
                self.ev.probe_store(store, state.as_ref())?;
                for c in &cats {
                    let f = self.ev.probe_keep(store, c)?;
                    if let Err(stop) = self.note(&f) {
                        return Ok(Err(stop));
                    }
                }
            }
        }
        Ok(Ok(()))
    }

    fn probe_retain(&mut self, reads: &Reads) -> Result<Flow> {
        let states = self.observed_states(reads);
        let fields = self.fields.clone();
        for store in &self.store_ids() {
            for state in &states {
                self.ev.probe_store(store, state.as_ref())?;
                for field in &fields {
                    let f = self.ev.evaluate_retain(&field.path, store)?;
                    if let Err(stop) = self.note(&f) {
                        return Ok(Err(stop));
                    }
                }
            }
        }
        Ok(Ok(()))
    }

    fn probe_inventory(&mut self, reads: &Reads) -> Result<Flow> {
        let states = self.observed_states(reads);
        let mut events: BTreeSet<i64> = BTreeSet::from([1]);
        if reads.context("events") {
            events.insert(0);
            events.extend(self.lits.longs.iter().filter(|n| **n >= 0).flat_map(|n| [*n, n.saturating_add(1)]));
        }
        for store in &self.store_ids() {
            for state in &states {
                self.ev.probe_store(store, state.as_ref())?;
                for n in &events {
                    let f = self.ev.probe_inventory(store, *n, state.is_some())?;
                    if let Err(stop) = self.note(&f) {
                        return Ok(Err(stop));
                    }
                }
            }
        }
        Ok(Ok(()))
    }

    fn probe_access(&mut self, reads: &Reads) -> Result<Flow> {
        let unobserved: [Option<ObservedState>; 1] = [None];
        let scope = self.scope();
        let mut roles: Vec<String> = scope.raw.access.iter().map(|a| a.role.clone()).collect();
        for r in std::iter::once(PROBE_ROLE).chain(self.lits.of_type("Role")) {
            if !roles.iter().any(|x| x == r) {
                roles.push(r.to_string());
            }
        }
        let mut purposes: Vec<String> = Vec::new();
        let named = scope
            .raw
            .collect
            .iter()
            .flat_map(|c| c.purposes.iter().map(String::as_str))
            .chain(scope.raw.access.iter().flat_map(|a| a.purposes.iter().map(String::as_str)))
            .chain(std::iter::once(PROBE_PURPOSE))
            .chain(self.lits.of_type("Purpose"));
        for p in named {
            if !purposes.iter().any(|x| x == p) {
                purposes.push(p.to_string());
            }
        }
        if !reads.context("purpose") {
            purposes.truncate(1);
        }
        let store_read = reads.context("store");
        let states = if store_read { self.observed_states(reads) } else { vec![None] };
        let stores = if store_read {
            let mut s = self.store_ids();
            s.push(NO_STORE.to_string());
            s
        } else {
            vec![self.default_store()]
        };
        let actors = self.texts(reads.context("actor"));
        let mut paths: Vec<String> = self.fields.iter().map(|f| f.path.clone()).collect();
        paths.push("*".to_string());
        for store in &stores {
            let st: &[Option<ObservedState>] = if store == NO_STORE { &unobserved } else { &states };
            for state in st {
                if store_read {
                    self.ev.probe_store(store, state.as_ref())?;
                }
                for role in &roles {
                    for path in &paths {
                        for purpose in &purposes {
                            for actor in &actors {
                                let f = self.ev.probe_access(role, path, purpose, store, actor)?;
                                if let Err(stop) = self.note(&f) {
                                    return Ok(Err(stop));
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(Ok(()))
    }

    /// Probes every rule; lints those that cannot fire and policies that error.
    fn rules(&mut self, at: &Locator<'_>, lints: &mut Vec<Lint>) -> Result<()> {
        let shapes = self.shapes.clone();
        let mut unchecked: BTreeSet<usize> = BTreeSet::new();
        for (rule, shape) in &shapes {
            if self.fired.contains(rule) {
                continue;
            }
            self.target = *rule;
            self.budget_end = self.ev.cedar_calls().saturating_add(RULE_BUDGET);
            for (act, reads) in &shape.acts {
                let Some(act) = Act::ALL.get(*act).copied() else { continue };
                match self.probe_act(act, reads)? {
                    Ok(()) => {}
                    Err(Stop::Fired) => break,
                    Err(Stop::Budget) => {
                        unchecked.insert(*rule);
                        break;
                    }
                }
            }
        }
        let rules = &self.engine.rules;
        for (rule, shape) in &shapes {
            if self.fired.contains(rule) {
                continue;
            }
            let Some(meta) = rules.rule(*rule) else { continue };
            let builtin = meta.origin == BUILTIN_FILE;
            let policy_at = match &shape.first {
                Some((file, line, col)) if !builtin => Location::at(file.clone(), *line, *col),
                _ => why_location(&Reads::default(), self.scope(), at),
            };
            if unchecked.contains(rule) {
                lints.push(
                    Lint::new(
                        "rule-unchecked",
                        format!(
                            "rule `{}` was probed with {RULE_BUDGET} requests without firing; whether it can fire is not known",
                            meta.id
                        ),
                        policy_at,
                    )
                    .about_rule(&meta.id),
                );
                continue;
            }
            let reads = shape.acts.values().fold(Reads::default(), |mut acc, r| {
                acc.merge(r);
                acc
            });
            let applies_to_fields = shape.acts.keys().any(|i| matches!(Act::ALL.get(*i), Some(Act::Collect)));
            let why = self.why_idle(&reads, applies_to_fields);
            let acts: Vec<&str> = shape.acts.keys().filter_map(|i| Act::ALL.get(*i)).map(|a| a.as_str()).collect();
            let because = if why.is_empty() {
                format!("no `{}` request this scope makes possible satisfies it", acts.join("`, `"))
            } else {
                why.join("; ")
            };
            let (id, location) = if builtin {
                ("builtin-rule-idle", why_location(&reads, self.scope(), at))
            } else {
                ("rule-never-fires", policy_at)
            };
            lints.push(
                Lint::new(id, format!("rule `{}` can never fire: {because}", meta.id), location).about_rule(&meta.id),
            );
        }
        for f in self.ev.policy_failures() {
            let location =
                if f.file == BUILTIN_FILE { at.file() } else { Location::at(f.file.clone(), f.line, f.column) };
            lints.push(
                Lint::new(
                    "rule-may-error",
                    format!(
                        "a policy of rule `{}` ({}:{}:{}) cannot be evaluated on some request: {}",
                        f.rule, f.file, f.policy_line, f.policy_column, f.kind
                    ),
                    location,
                )
                .about_rule(&f.rule),
            );
        }
        Ok(())
    }

    /// What the scope lacks that a rule reading `reads` needs, in words.
    fn why_idle(&self, reads: &Reads, collect: bool) -> Vec<String> {
        let s = self.scope();
        let mut why = Vec::new();
        if reads.context("in_window") && s.windows.is_none() {
            why.push("the scope declares no `windows:`, so every capture is in window".to_string());
        }
        if reads.context("subject_declared") && s.raw.subjects.is_empty() {
            why.push("the scope has no `subjects:`, so every kind of person counts as declared".to_string());
        }
        let field_required =
            s.raw.collect.iter().any(|c| c.encryption == Some(crate::scope::FieldEncryption::Required));
        let store_required =
            s.raw.stores.iter().any(|st| st.encryption.is_some_and(|e| e.minimum() > EncryptionLevel::None));
        if reads.context("value_plaintext") && !field_required {
            why.push(
                "no `collect` entry says `encryption: required`, so no value is held to be ciphertext".to_string(),
            );
        } else if reads.reads("encryption_required") && !field_required && !store_required {
            why.push("no field or store of the scope requires encryption".to_string());
        }
        if reads.reads("meets_declared_encryption") && !store_required {
            why.push("no store of the scope promises encryption".to_string());
        }
        if (reads.reads("never") || reads.reads("never_categories")) && s.raw.never.is_empty() {
            why.push("the scope has no `never:` entries".to_string());
        }
        if reads.reads("declared_retention_days")
            && !s.raw.stores.iter().any(|st| st.retention_days.is_some())
            && !s.raw.collect.iter().any(|c| c.retention_days.is_some())
        {
            why.push("no store or field of the scope declares `retention_days`".to_string());
        }
        if collect && reads.reads("declared") && !self.fields.iter().any(|f| f.decl.is_none()) {
            why.push("a `collect` pattern covers every path, so no field is undeclared".to_string());
        }
        why
    }

    /// `vacuous-declaration`: a declared field whose values no detector finding could change a
    /// decision for.
    fn vacuous_declarations(&mut self, at: &Locator<'_>, lints: &mut Vec<Lint>) -> Result<()> {
        let store = self.default_store();
        let inside = self.times.first().is_none_or(|(_, i)| *i);
        let fields: Vec<FieldProbe> = self.fields.iter().filter(|f| f.decl.is_some()).cloned().collect();
        let confs = {
            let c = self.confidences();
            let mut v = vec![c.last().copied().unwrap_or(50), 100];
            v.dedup();
            v
        };
        for f in fields {
            let Some(i) = f.decl else { continue };
            let Some(decl) = self.scope().raw.collect.get(i).cloned() else { continue };
            let base = CollectProbe {
                path: &f.path,
                category: &decl.category,
                from_value: false,
                confidence: 100,
                plaintext: false,
                in_window: inside,
                kind: None,
                source: "",
                store: &store,
            };
            let rules_of = |fires: &[Fire]| fires.iter().map(|x| x.rule).collect::<BTreeSet<usize>>();
            let baseline = rules_of(&self.ev.probe_collect(&base)?);
            let mut changes = false;
            if decl.encryption == Some(crate::scope::FieldEncryption::Required) {
                let p = CollectProbe { plaintext: true, ..base.clone() };
                changes = rules_of(&self.ev.probe_collect(&p)?) != baseline;
            }
            let categories = self.categories.clone();
            'cats: for c in &categories {
                for conf in &confs {
                    if changes {
                        break 'cats;
                    }
                    let p = CollectProbe { category: c, from_value: true, confidence: *conf, ..base.clone() };
                    let fires = self.ev.probe_collect(&p)?;
                    self.fired.extend(fires.iter().map(|x| x.rule));
                    changes = rules_of(&fires) != baseline;
                }
            }
            if !changes {
                lints.push(Lint::new(
                    "vacuous-declaration",
                    format!(
                        "`{}` is declared `{}`: no category found in its values changes what any rule decides",
                        decl.field, decl.category
                    ),
                    at.after(self.scope().lines.collect.get(i).copied().flatten(), &decl.category),
                ));
            }
        }
        Ok(())
    }
}

/// Where in the scope a built-in rule's idleness shows: its `windows:` where the rule is about
/// windows and they exist, else its `program:` (the scope as a whole: what it lacks is nowhere).
fn why_location(reads: &Reads, scope: &crate::scope::CompiledScope, at: &Locator<'_>) -> Location {
    if reads.context("in_window") && scope.windows.is_some() {
        return at.lc(scope.lines.windows);
    }
    match at.section("program") {
        Some(off) => at.pos(off),
        None => at.file(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::{Setup, Source};

    fn lint_of(scope: &str, policies: &[&str], builtin: bool) -> LintReport {
        let setup = Setup {
            scope: Some(Source::new("s.yaml", scope)),
            policies: policies.iter().enumerate().map(|(i, p)| Source::new(format!("p{i}.cedar"), *p)).collect(),
            no_builtin_rules: !builtin,
            ..Setup::default()
        };
        lint(Arc::new(setup.build().unwrap()), scope).unwrap()
    }

    fn ids(r: &LintReport) -> Vec<&str> {
        r.lints.iter().map(|l| l.id).collect()
    }

    const BASE: &str = "program: p\ncollect:\n  - field: a\n    category: behavior\n";

    #[test]
    fn lint_ids_are_unique_and_plain() {
        let mut seen = BTreeSet::new();
        for l in LINTS {
            assert!(seen.insert(l.id), "{}", l.id);
            assert!(l.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{}", l.id);
            assert!(!l.title.ends_with('.') && l.help.ends_with('.'), "{}", l.id);
        }
    }

    #[test]
    fn instances_fill_stars() {
        assert_eq!(instances("a.*.b")[0], format!("a.{PROBE_KEY}.b"));
        let ssn = instances("**.ssn");
        assert_eq!(&ssn[..3], &["ssn".to_string(), format!("{PROBE_KEY}.ssn"), format!("{PROBE_KEY}.{PROBE_KEY}.ssn")]);
        assert_eq!(instances("a.list[*].x")[0], "a.list[].x");
    }

    #[test]
    fn a_user_rule_on_a_string_literal_fires_and_a_contradiction_does_not() {
        let ok = r#"@id("from-browser") @severity("low") @title("t") @help("h.")
forbid (principal, action == Scopecheck::Action::"capture", resource) when { context.source == "browser" && context.local.hour == 3 };"#;
        let never = r#"@id("never") @severity("low") @title("t") @help("h.")
forbid (principal, action == Scopecheck::Action::"collect", resource) when { context.confidence > 100 };"#;
        let r = lint_of(BASE, &[ok, never], false);
        let rule_lints: Vec<&Lint> = r.lints.iter().filter(|l| l.rule.is_some()).collect();
        assert_eq!(rule_lints.len(), 1, "{r:?}");
        let l = rule_lints[0];
        assert_eq!((l.id, l.rule.as_deref()), ("rule-never-fires", Some("never")));
        assert_eq!((l.file.as_str(), l.line, l.column), ("p1.cedar", Some(2), Some(1)));
        // With these rules alone, nothing in `a`'s values matters.
        assert!(ids(&r).contains(&"vacuous-declaration"), "{r:?}");
    }

    #[test]
    fn policies_that_error_are_found() {
        let bad = r#"@id("big") @severity("low") @title("t") @help("h.")
forbid (principal, action == Scopecheck::Action::"retain", resource) when { resource has retention_days && resource.retention_days * 9223372036854775807 > 0 };"#;
        let scope = "program: p\ncollect:\n  - field: a\n    category: behavior\n    retention_days: 5\n";
        let r = lint_of(scope, &[bad], false);
        assert!(ids(&r).contains(&"rule-may-error"), "{r:?}");
    }

    #[test]
    fn builtin_rules_idle_without_windows_subjects_or_encryption() {
        let r = lint_of(BASE, &[], true);
        let idle: Vec<&str> =
            r.lints.iter().filter(|l| l.id == "builtin-rule-idle").filter_map(|l| l.rule.as_deref()).collect();
        assert!(idle.contains(&"outside-window") && idle.contains(&"undeclared-subject"), "{idle:?}");
        assert!(idle.contains(&"unencrypted-field"), "{idle:?}");
        assert!(!idle.contains(&"undisclosed-field") && !idle.contains(&"purpose-creep"), "{idle:?}");
    }
}
