//! `scopecheck diff`: drift between two releases of a declared scope.
//!
//! The two scopes are compared as compiled, never as text: key order, comments, quoting and
//! formatting are no drift. `collect` entries are matched by their field pattern, `never`
//! entries by what they cover, stores by id, access entries by role. Each change has a kind
//! ([`ChangeKind`]: a stable id, a severity, a title and help, all defined in [`ChangeKind::meta`]
//! and documented in `docs/diff.md`), a path (`collect[field=session.replay].encryption`), the
//! values before and after, and a location: in the new scope, or in the old one for what the new
//! scope no longer has at all.
//!
//! Widening disclosure (more fields, categories, purposes, people, readers, hours) and weakening
//! protection (encryption, retention, `never` promises) are what a reviewer must see first; they
//! are graded high or critical. Narrowing is info.

mod render;

pub use render::Format;

use crate::Source;
use crate::error::{Error, ErrorKind, Result, line_col};
use crate::pattern::FieldPattern;
use crate::report::InputLocation;
use crate::rules::Severity;
use crate::scope::{CompiledScope, EncryptionLevel, FieldEncryption, locate_from};
use crate::taxonomy::Taxonomy;
use crate::window::{LocalTime, Windows, local_in};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Version of the JSON drift format. Bumped on any incompatible change.
pub const DRIFT_FORMAT_VERSION: u32 = 1;

/// What changed, as a stable kind. Its id, severity, title and help come from [`ChangeKind::meta`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// The scopes name different programs (only with `allow_program_change`).
    ProgramRenamed,
    /// New kinds of people are captured.
    SubjectAdded,
    /// Kinds of people no longer captured.
    SubjectRemoved,
    /// A field is newly declared.
    FieldAdded,
    /// A field is no longer declared.
    FieldRemoved,
    /// A field's category is broader or more sensitive.
    CategoryWidened,
    /// A field's category is narrower or less sensitive.
    CategoryNarrowed,
    /// A field's category moved to another of the same sensitivity.
    CategoryChanged,
    /// Purposes added to a field or a role.
    PurposeAdded,
    /// Purposes removed from a field or a role.
    PurposeRemoved,
    /// Retention longer, or no longer limited.
    RetentionLengthened,
    /// Retention shorter, or newly limited.
    RetentionShortened,
    /// Encryption of a field or store weaker, or no longer required.
    EncryptionWeakened,
    /// Encryption of a field or store stronger.
    EncryptionStrengthened,
    /// A `never` promise dropped.
    NeverDropped,
    /// A `never` promise narrowed to part of what it covered.
    NeverNarrowed,
    /// A `never` promise added or broadened.
    NeverAdded,
    /// Capture allowed at more minutes of the week.
    WindowsWidened,
    /// Capture allowed at fewer minutes of the week.
    WindowsNarrowed,
    /// The windows' time zone changed.
    WindowsTimezoneChanged,
    /// A store newly declared.
    StoreAdded,
    /// A store no longer declared.
    StoreRemoved,
    /// A store's promised region changed or was dropped.
    RegionChanged,
    /// A store's region newly promised.
    RegionDeclared,
    /// A role newly allowed to read captures.
    RoleAdded,
    /// A role no longer allowed to read captures.
    RoleRemoved,
    /// The scope changed and its `version` did not.
    VersionNotBumped,
}

/// How a kind's severity is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grading {
    /// Always `severity`.
    Fixed,
    /// By what the field's category may hold (the most sensitive node under it in the
    /// taxonomy): 4 (special category) critical, 3 (sensitive) high, otherwise medium.
    BySensitivity,
}

/// A kind's metadata: its public id, severity, title and help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KindMeta {
    /// Stable id (a public contract).
    pub id: &'static str,
    /// Severity (the default one when graded by sensitivity).
    pub severity: Severity,
    /// How the severity is decided.
    pub grading: Grading,
    /// One line.
    pub title: &'static str,
    /// What a reviewer should check or do.
    pub help: &'static str,
}

impl ChangeKind {
    /// Every kind, in the order of the scope's sections.
    pub const ALL: [ChangeKind; 27] = [
        ChangeKind::ProgramRenamed,
        ChangeKind::VersionNotBumped,
        ChangeKind::SubjectAdded,
        ChangeKind::SubjectRemoved,
        ChangeKind::FieldAdded,
        ChangeKind::FieldRemoved,
        ChangeKind::CategoryWidened,
        ChangeKind::CategoryNarrowed,
        ChangeKind::CategoryChanged,
        ChangeKind::PurposeAdded,
        ChangeKind::PurposeRemoved,
        ChangeKind::RetentionLengthened,
        ChangeKind::RetentionShortened,
        ChangeKind::EncryptionWeakened,
        ChangeKind::EncryptionStrengthened,
        ChangeKind::NeverDropped,
        ChangeKind::NeverNarrowed,
        ChangeKind::NeverAdded,
        ChangeKind::WindowsWidened,
        ChangeKind::WindowsNarrowed,
        ChangeKind::WindowsTimezoneChanged,
        ChangeKind::StoreAdded,
        ChangeKind::StoreRemoved,
        ChangeKind::RegionChanged,
        ChangeKind::RegionDeclared,
        ChangeKind::RoleAdded,
        ChangeKind::RoleRemoved,
    ];

    /// The one place each kind's id, severity, title and help are defined.
    pub fn meta(self) -> KindMeta {
        use Severity::{Critical, High, Info, Low, Medium};
        let (id, severity, grading, title, help) = match self {
            ChangeKind::ProgramRenamed => (
                "program-renamed",
                Medium,
                Grading::Fixed,
                "The scope is for another program id",
                "Captures carry the program id: check that every capture source and the audit use the new id, and that people were told of the rename.",
            ),
            ChangeKind::VersionNotBumped => (
                "version-not-bumped",
                Low,
                Grading::Fixed,
                "The scope changed but its `version` did not",
                "Give the changed notice a new `version`, so that a report, a consent record or a complaint says which notice was in force.",
            ),
            ChangeKind::SubjectAdded => (
                "subject-added",
                High,
                Grading::Fixed,
                "New kinds of people are captured",
                "People of the new kinds must be shown the notice before they are captured; check that they were, and that the program may capture them at all.",
            ),
            ChangeKind::SubjectRemoved => (
                "subject-removed",
                Info,
                Grading::Fixed,
                "Fewer kinds of people are captured",
                "Stop capturing people of the removed kinds; captures of them become `undeclared-subject` findings.",
            ),
            ChangeKind::FieldAdded => (
                "field-added",
                High,
                Grading::BySensitivity,
                "A field is newly captured",
                "A new field widens what the notice discloses: check its category, purposes and retention, and that people are told before it is captured.",
            ),
            ChangeKind::FieldRemoved => (
                "field-removed",
                Info,
                Grading::Fixed,
                "A field is no longer declared",
                "Stop capturing it; captures of it become `undisclosed-field` findings. Purge what was kept if the notice says so.",
            ),
            ChangeKind::CategoryWidened => (
                "category-widened",
                High,
                Grading::BySensitivity,
                "A field's category is broader or more sensitive",
                "The field may now hold more sensitive data without a finding: check that the notice says so in plain words, and that this is intended.",
            ),
            ChangeKind::CategoryNarrowed => (
                "category-narrowed",
                Info,
                Grading::Fixed,
                "A field's category is narrower or less sensitive",
                "Values of the old, broader category become `undisclosed-category` findings.",
            ),
            ChangeKind::CategoryChanged => (
                "category-changed",
                Low,
                Grading::Fixed,
                "A field's category moved to another of the same sensitivity",
                "Check that the new category describes the field's values.",
            ),
            ChangeKind::PurposeAdded => (
                "purpose-added",
                High,
                Grading::Fixed,
                "Data may be used for new purposes",
                "A new purpose is a new use of data already captured (purpose limitation): check that it is compatible with the purposes people were told, or ask them.",
            ),
            ChangeKind::PurposeRemoved => (
                "purpose-removed",
                Info,
                Grading::Fixed,
                "Data may be used for fewer purposes",
                "Access for the removed purposes becomes `purpose-creep` findings.",
            ),
            ChangeKind::RetentionLengthened => (
                "retention-lengthened",
                Medium,
                Grading::Fixed,
                "Data is kept longer, or without a limit",
                "Check that the longer retention is needed for the purposes, and that stores purge what the old notice promised to delete.",
            ),
            ChangeKind::RetentionShortened => (
                "retention-shortened",
                Info,
                Grading::Fixed,
                "Data is kept for a shorter time",
                "Stores that keep data longer become `retention-exceeded` findings: shorten their retention.",
            ),
            ChangeKind::EncryptionWeakened => (
                "encryption-weakened",
                High,
                Grading::Fixed,
                "Encryption is weaker or no longer required",
                "Protection is weakened: keep the requirement unless the data no longer needs it, and say why in the pull request.",
            ),
            ChangeKind::EncryptionStrengthened => (
                "encryption-strengthened",
                Info,
                Grading::Fixed,
                "Encryption is stronger",
                "Data kept with the old, weaker encryption becomes `unencrypted-field` or `unencrypted-store` findings.",
            ),
            ChangeKind::NeverDropped => (
                "never-dropped",
                Critical,
                Grading::Fixed,
                "A `never` promise was dropped",
                "What people were promised would never be captured may now be: keep the promise, or tell people and obtain what the law requires before capturing it.",
            ),
            ChangeKind::NeverNarrowed => (
                "never-narrowed",
                High,
                Grading::Fixed,
                "A `never` promise covers less than before",
                "Part of what was promised never to be captured may now be: keep the broader promise unless people are told.",
            ),
            ChangeKind::NeverAdded => (
                "never-added",
                Info,
                Grading::Fixed,
                "A `never` promise was added or broadened",
                "Captures of what it covers become `never-collect` findings.",
            ),
            ChangeKind::WindowsWidened => (
                "windows-widened",
                High,
                Grading::Fixed,
                "Capture is allowed at more times of the week",
                "People are captured at times they were told they would not be (evenings, weekends, breaks): check that this is intended and announced.",
            ),
            ChangeKind::WindowsNarrowed => (
                "windows-narrowed",
                Info,
                Grading::Fixed,
                "Capture is allowed at fewer times of the week",
                "Captures at the removed times become `outside-window` findings.",
            ),
            ChangeKind::WindowsTimezoneChanged => (
                "windows-timezone-changed",
                Low,
                Grading::Fixed,
                "The capture windows are read in another time zone",
                "The same clock times are other instants now: check the people captured live in the new zone. Minutes newly allowed are reported as `windows-widened`.",
            ),
            ChangeKind::StoreAdded => (
                "store-added",
                Medium,
                Grading::Fixed,
                "Captures may be kept in a new store",
                "Check the new store's encryption, retention and region, and who can read it.",
            ),
            ChangeKind::StoreRemoved => (
                "store-removed",
                Info,
                Grading::Fixed,
                "A store is no longer declared",
                "Captures still written to it become `undeclared-store` findings: migrate or purge it.",
            ),
            ChangeKind::RegionChanged => (
                "region-changed",
                Medium,
                Grading::Fixed,
                "A store's region changed or is no longer promised",
                "Moving data to another region can be a transfer that needs safeguards: check the legal basis and tell people where their data is kept.",
            ),
            ChangeKind::RegionDeclared => (
                "region-declared",
                Info,
                Grading::Fixed,
                "A store's region is newly promised",
                "Check that the store is in the region now promised.",
            ),
            ChangeKind::RoleAdded => (
                "role-added",
                High,
                Grading::Fixed,
                "A new role may read captures",
                "More people can read what was captured: check that the role needs it for the declared purposes, and that people were told who reads their data.",
            ),
            ChangeKind::RoleRemoved => (
                "role-removed",
                Info,
                Grading::Fixed,
                "A role may no longer read captures",
                "Its access becomes `purpose-creep` findings: revoke it.",
            ),
        };
        KindMeta { id, severity, grading, title, help }
    }

    /// The kind with this id.
    pub fn from_id(id: &str) -> Option<ChangeKind> {
        ChangeKind::ALL.into_iter().find(|k| k.meta().id == id)
    }
}

/// One change between the two scopes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The kind's stable id (`never-dropped`).
    pub id: &'static str,
    /// How much it matters.
    pub severity: Severity,
    /// The kind's title.
    pub title: &'static str,
    /// What changed, as a path into the scope: `collect[field=session.replay].encryption`.
    pub what: String,
    /// One sentence that says what changed.
    pub message: String,
    /// The old value (`null`: not declared).
    pub before: Value,
    /// The new value (`null`: not declared).
    pub after: Value,
    /// Where: in the new scope, or in the old one for what the new one no longer has.
    pub location: InputLocation,
    /// The kind's help.
    pub help: &'static str,
    /// Stable across runs and line moves: program, kind and path.
    pub fingerprint: String,
    #[serde(skip)]
    kind: ChangeKind,
}

impl Change {
    /// Its kind.
    pub fn kind(&self) -> ChangeKind {
        self.kind
    }
}

/// One side of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScopeRef {
    /// The file, as given.
    pub file: String,
    /// Its program id.
    pub program: String,
    /// Its notice version.
    pub version: Option<String>,
    /// sha256 of the file.
    pub sha256: String,
}

/// Counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftSummary {
    /// Number of changes.
    pub changes: usize,
    /// Changes per severity (only those present).
    pub by_severity: BTreeMap<Severity, usize>,
    /// The most severe change, if any.
    pub highest: Option<Severity>,
}

/// Which tool wrote it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftTool {
    /// `scopecheck`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
    /// [`DRIFT_FORMAT_VERSION`].
    pub format: u32,
}

/// The drift between two scopes: the JSON contract of `scopecheck diff --format json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    /// Which tool wrote it.
    pub tool: DriftTool,
    /// The older scope.
    pub old: ScopeRef,
    /// The newer scope.
    pub new: ScopeRef,
    /// Counts.
    pub summary: DriftSummary,
    /// Most severe first; within a severity, in the order of the scope's sections.
    pub changes: Vec<Change>,
}

impl Drift {
    /// Changes at or above a severity.
    pub fn count_at_or_above(&self, s: Severity) -> usize {
        self.changes.iter().filter(|c| c.severity >= s).count()
    }
}

/// Options of [`diff`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DiffOptions {
    /// Compare scopes of different programs (a rename), reporting `program-renamed`, instead of
    /// refusing.
    pub allow_program_change: bool,
}

/// Loads both scopes (errors name the file, line and column) and compares them.
pub fn diff(old: &Source, new: &Source, options: DiffOptions) -> Result<Drift> {
    let taxonomy = Taxonomy::builtin()?;
    let old_scope = CompiledScope::load(&old.text, &old.name, &taxonomy)?;
    let new_scope = CompiledScope::load(&new.text, &new.name, &taxonomy)?;
    let o = Side { s: &old_scope, text: &old.text };
    let n = Side { s: &new_scope, text: &new.text };
    if old_scope.raw.program != new_scope.raw.program && !options.allow_program_change {
        let msg = format!(
            "this scope is for program `{}`, the old one ({}) for `{}`",
            new_scope.raw.program, old.name, old_scope.raw.program
        );
        let e = match n.top_value("program", &new_scope.raw.program) {
            Some(off) => {
                Error::at_offset(ErrorKind::Scope, &new.name, &new.text, off, new_scope.raw.program.len(), msg)
            }
            None => Error::new(ErrorKind::Scope, crate::Location::file(&new.name), msg),
        };
        return Err(e.with_help(
            "`diff` compares two releases of one program's scope: check the files; if the program was renamed, pass --allow-program-change and the rename is reported as a change",
        ));
    }
    let mut d = Differ { o, n, taxonomy: &taxonomy, changes: Vec::new() };
    d.program();
    d.subjects();
    d.collect();
    d.never();
    d.windows();
    d.stores();
    d.access();
    d.version();
    let mut changes = d.changes;
    // Most severe first; the sort is stable, so each severity keeps the scope's order.
    changes.sort_by_key(|c| std::cmp::Reverse(c.severity));
    let mut by_severity = BTreeMap::new();
    for c in &changes {
        *by_severity.entry(c.severity).or_insert(0) += 1;
    }
    let side = |src: &Source, s: &CompiledScope| ScopeRef {
        file: src.name.clone(),
        program: s.raw.program.clone(),
        version: s.raw.version.clone(),
        sha256: crate::bundle::sha256_hex(src.text.as_bytes()),
    };
    Ok(Drift {
        tool: DriftTool { name: "scopecheck", version: env!("CARGO_PKG_VERSION"), format: DRIFT_FORMAT_VERSION },
        old: side(old, &old_scope),
        new: side(new, &new_scope),
        summary: DriftSummary { changes: changes.len(), highest: changes.first().map(|c| c.severity), by_severity },
        changes,
    })
}

/// A scope and its text, for locating entries.
struct Side<'a> {
    s: &'a CompiledScope,
    text: &'a str,
}

impl Side<'_> {
    fn file(&self) -> &str {
        &self.s.file
    }

    /// A location at a byte offset, or the file's first line when the entry was not found.
    fn at(&self, off: Option<usize>) -> InputLocation {
        match off {
            Some(off) => {
                let (line, column) = line_col(self.text, off);
                InputLocation { file: self.file().to_string(), line: line as u64, column: Some(column as u64) }
            }
            None => InputLocation::line(self.file(), 1),
        }
    }

    /// The byte offset of a (line, column) from [`crate::scope::ScopeLines`].
    fn offset(&self, (line, column): (u64, u64)) -> Option<usize> {
        let mut start = 0usize;
        for _ in 1..line {
            start += self.text.get(start..)?.find('\n')? + 1;
        }
        let rest = self.text.get(start..)?;
        let skip: usize = rest.chars().take(usize::try_from(column).ok()?.saturating_sub(1)).map(char::len_utf8).sum();
        Some(start + skip)
    }

    /// The top-level key `key:` at the start of a line.
    fn section(&self, key: &str) -> Option<usize> {
        let head = format!("{key}:");
        let mut at = 0;
        while let Some(off) = locate_from(self.text, at, key) {
            let line_start = self.text.get(..off).map_or(0, |t| t.rfind('\n').map_or(0, |n| n + 1));
            if line_start == off && self.text.get(off..).is_some_and(|t| t.starts_with(&head)) {
                return Some(off);
            }
            at = off + key.len();
        }
        None
    }

    /// A value written in a top-level section (`program: mci`, `subjects: [a, b]`).
    fn top_value(&self, key: &str, value: &str) -> Option<usize> {
        let from = self.section(key)?;
        locate_from(self.text, from + key.len(), value)
    }

    /// A `collect` entry's field.
    fn collect_at(&self, i: usize) -> Option<usize> {
        self.s.lines.collect.get(i).copied().flatten().and_then(|p| self.offset(p))
    }

    /// A store's id.
    fn store_at(&self, id: &str) -> Option<usize> {
        self.s.lines.stores.get(id).and_then(|p| self.offset(*p))
    }

    /// A role.
    fn role_at(&self, role: &str) -> Option<usize> {
        self.s.lines.roles.get(role).and_then(|p| self.offset(*p))
    }

    /// The `windows:` key.
    fn windows_at(&self) -> Option<usize> {
        self.s.lines.windows.and_then(|p| self.offset(p))
    }

    /// A `never` entry's field or category.
    fn never_at(&self, value: &str) -> Option<usize> {
        locate_from(self.text, self.section("never")?, value)
    }

    /// The key `key:` of the list entry one of whose values is at `entry` (best effort: block
    /// mappings, and flow mappings on one line); the entry itself when the key is not written.
    fn key_of(&self, entry: Option<usize>, key: &str) -> Option<usize> {
        let entry = entry?;
        Some(entry_key(self.text, entry, key).unwrap_or(entry))
    }
}

/// Finds `key:` in the YAML list item that holds byte `entry`.
fn entry_key(text: &str, entry: usize, key: &str) -> Option<usize> {
    let line_start = text.get(..entry)?.rfind('\n').map_or(0, |i| i + 1);
    let indent_of = |line: &str| line.len() - line.trim_start_matches(' ').len();
    let head = format!("{key}:");
    let key_in = |line: &str, line_off: usize| -> Option<usize> {
        let mut at = 0;
        while let Some(i) = locate_from(line, at, key) {
            if line.get(i..).is_some_and(|t| t.starts_with(&head)) {
                return Some(line_off + i);
            }
            at = i + key.len();
        }
        None
    };
    // Lines of the item: back to its `- `, and on while indented deeper than the dash.
    let mut starts = vec![line_start];
    let mut dash = None;
    let mut cur = line_start;
    loop {
        let line = text.get(cur..)?.split('\n').next().unwrap_or("");
        let body = line.trim_start_matches(' ');
        if body.starts_with("- ") || body == "-" {
            dash = Some(indent_of(line));
            break;
        }
        if cur == 0 {
            break;
        }
        cur = text.get(..cur - 1)?.rfind('\n').map_or(0, |i| i + 1);
        starts.push(cur);
    }
    let dash = dash?;
    for &s in &starts {
        if let Some(hit) = key_in(text.get(s..)?.split('\n').next().unwrap_or(""), s) {
            return Some(hit);
        }
    }
    let mut next = text.get(line_start..)?.find('\n').map(|i| line_start + i + 1);
    while let Some(s) = next {
        let line = text.get(s..)?.split('\n').next().unwrap_or("");
        let body = line.trim_start_matches(' ');
        if !(body.is_empty() || body.starts_with('#')) {
            if indent_of(line) <= dash {
                return None;
            }
            if let Some(hit) = key_in(line, s) {
                return Some(hit);
            }
        }
        next = text.get(s..)?.find('\n').map(|i| s + i + 1);
    }
    None
}

/// A field pattern as a key: `[*]` is `[]`.
fn pattern_key(p: &FieldPattern) -> String {
    p.as_str().replace("[*]", "[]")
}

/// The most sensitive node at or under a category: what a field declared with it may hold
/// without a finding.
fn disclosure(taxonomy: &Taxonomy, category: &str) -> u8 {
    taxonomy
        .iter()
        .filter(|c| Taxonomy::is_within(&c.id, category))
        .map(|c| c.sensitivity)
        .max()
        .unwrap_or_else(|| taxonomy.sensitivity(category))
}

fn by_sensitivity(level: u8) -> Severity {
    match level {
        4.. => Severity::Critical,
        3 => Severity::High,
        _ => Severity::Medium,
    }
}

fn list(items: &[String]) -> String {
    items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
}

/// A retention as said in a sentence: `for 90 days`, `without a limit`.
fn kept(n: Option<u32>) -> String {
    n.map_or_else(|| "without a limit".to_string(), |d| format!("for {d} days"))
}

fn days(n: Option<u32>) -> String {
    n.map_or_else(|| "no limit".to_string(), |d| format!("{d} days"))
}

struct Differ<'a> {
    o: Side<'a>,
    n: Side<'a>,
    taxonomy: &'a Taxonomy,
    changes: Vec<Change>,
}

/// What a change is about, before it has a severity.
struct Draft {
    kind: ChangeKind,
    what: String,
    message: String,
    before: Value,
    after: Value,
    location: InputLocation,
    /// For kinds graded by sensitivity: the category's level.
    level: Option<u8>,
}

impl Differ<'_> {
    fn push(&mut self, d: Draft) {
        let meta = d.kind.meta();
        let severity = match (meta.grading, d.level) {
            (Grading::BySensitivity, Some(level)) => by_sensitivity(level),
            _ => meta.severity,
        };
        let program = &self.n.s.raw.program;
        let fingerprint =
            crate::bundle::sha256_hex(format!("scopecheck-drift/v1\0{program}\0{}\0{}", meta.id, d.what).as_bytes())
                .chars()
                .take(32)
                .collect();
        self.changes.push(Change {
            id: meta.id,
            severity,
            title: meta.title,
            what: d.what,
            message: d.message,
            before: d.before,
            after: d.after,
            location: d.location,
            help: meta.help,
            fingerprint,
            kind: d.kind,
        });
    }

    fn add(
        &mut self,
        kind: ChangeKind,
        what: String,
        message: String,
        before: Value,
        after: Value,
        location: InputLocation,
    ) {
        self.push(Draft { kind, what, message, before, after, location, level: None });
    }

    fn program(&mut self) {
        let (os, ns) = (self.o.s, self.n.s);
        let (old, new) = (&os.raw.program, &ns.raw.program);
        if old != new {
            let location = self.n.at(self.n.top_value("program", new));
            let message = format!("the program id changes from `{old}` to `{new}`");
            self.add(ChangeKind::ProgramRenamed, "program".into(), message, json!(old), json!(new), location);
        }
    }

    fn version(&mut self) {
        if self.changes.is_empty() || self.o.s.raw.version != self.n.s.raw.version {
            return;
        }
        let v = self.n.s.raw.version.clone();
        let at = match &v {
            Some(v) => self.n.top_value("version", v).or_else(|| self.n.section("version")),
            None => self.n.section("program"),
        };
        let message = match &v {
            Some(v) => format!("the scope changed and is still version `{v}`"),
            None => "the scope changed and has no `version`".to_string(),
        };
        let location = self.n.at(at);
        self.add(ChangeKind::VersionNotBumped, "version".into(), message, json!(v), json!(v), location);
    }

    fn subjects(&mut self) {
        let (os, ns) = (self.o.s, self.n.s);
        let (old, new) = (&os.raw.subjects, &ns.raw.subjects);
        let any = |l: &Vec<String>| if l.is_empty() { json!("any") } else { json!(l) };
        if old.is_empty() && new.is_empty() {
            return;
        }
        if new.is_empty() {
            let location = self.n.at(self.n.section("subjects").or_else(|| self.n.section("program")));
            let message =
                format!("`subjects` is no longer listed: people of any kind may be captured, not only {}", list(old));
            self.add(ChangeKind::SubjectAdded, "subjects".into(), message, any(old), any(new), location);
            return;
        }
        if old.is_empty() {
            let location = self.n.at(self.n.section("subjects"));
            let message = format!("only {} may be captured now, not people of any kind", list(new));
            self.add(ChangeKind::SubjectRemoved, "subjects".into(), message, any(old), any(new), location);
            return;
        }
        for s in new.iter().filter(|s| !old.contains(s)) {
            let location = self.n.at(self.n.top_value("subjects", s));
            let message = format!("people of the kind `{s}` are captured too");
            self.add(ChangeKind::SubjectAdded, format!("subjects[{s}]"), message, Value::Null, json!(s), location);
        }
        for s in old.iter().filter(|s| !new.contains(s)) {
            let location = self.o.at(self.o.top_value("subjects", s));
            let message = format!("people of the kind `{s}` are no longer captured");
            self.add(ChangeKind::SubjectRemoved, format!("subjects[{s}]"), message, json!(s), Value::Null, location);
        }
    }

    fn collect(&mut self) {
        let (os, ns) = (self.o.s, self.n.s);
        let old: BTreeMap<String, usize> = os.collect.iter().enumerate().map(|(i, p)| (pattern_key(p), i)).collect();
        let new_keys: BTreeSet<String> = ns.collect.iter().map(pattern_key).collect();
        for (j, (pat, decl)) in ns.collect.iter().zip(&ns.raw.collect).enumerate() {
            let key = pattern_key(pat);
            let entry = self.n.collect_at(j);
            match old.get(&key).and_then(|&i| os.raw.collect.get(i)) {
                None => {
                    let level = disclosure(self.taxonomy, &decl.category);
                    let message = format!(
                        "`{}` is newly captured, as `{}` (up to sensitivity {level})",
                        decl.field, decl.category
                    );
                    let location = self.n.at(entry);
                    let after = serde_json::to_value(decl).unwrap_or(Value::Null);
                    self.push(Draft {
                        kind: ChangeKind::FieldAdded,
                        what: format!("collect[field={key}]"),
                        message,
                        before: Value::Null,
                        after,
                        location,
                        level: Some(level),
                    });
                }
                Some(was) => self.collect_entry(&key, was, decl, entry),
            }
        }
        for (i, decl) in os.raw.collect.iter().enumerate() {
            let Some(pat) = os.collect.get(i) else { continue };
            let key = pattern_key(pat);
            if new_keys.contains(&key) {
                continue;
            }
            let location = self.o.at(self.o.collect_at(i));
            let message = format!("`{}` (`{}`) is no longer declared", decl.field, decl.category);
            let before = serde_json::to_value(decl).unwrap_or(Value::Null);
            self.add(ChangeKind::FieldRemoved, format!("collect[field={key}]"), message, before, Value::Null, location);
        }
    }

    fn collect_entry(
        &mut self,
        key: &str,
        was: &crate::scope::Collect,
        now: &crate::scope::Collect,
        entry: Option<usize>,
    ) {
        let path = |k: &str| format!("collect[field={key}].{k}");
        // Category.
        if was.category != now.category {
            let (a, b) = (&was.category, &now.category);
            let (la, lb) = (disclosure(self.taxonomy, a), disclosure(self.taxonomy, b));
            let kind = if Taxonomy::is_within(a, b) || (!Taxonomy::is_within(b, a) && lb > la) {
                ChangeKind::CategoryWidened
            } else if Taxonomy::is_within(b, a) || lb < la {
                ChangeKind::CategoryNarrowed
            } else {
                ChangeKind::CategoryChanged
            };
            let how = match kind {
                ChangeKind::CategoryWidened if Taxonomy::is_within(a, b) => "broader",
                ChangeKind::CategoryWidened => "more sensitive",
                ChangeKind::CategoryNarrowed if Taxonomy::is_within(b, a) => "narrower",
                ChangeKind::CategoryNarrowed => "less sensitive",
                _ => "of the same sensitivity",
            };
            let message = format!(
                "`{}` is now declared as `{b}` (up to sensitivity {lb}), {how} than `{a}` (up to sensitivity {la})",
                now.field
            );
            let location = self.n.at(self.n.key_of(entry, "category"));
            self.push(Draft {
                kind,
                what: path("category"),
                message,
                before: json!(a),
                after: json!(b),
                location,
                level: Some(lb),
            });
        }
        // Purposes: none listed means any role's purpose may read the field.
        let location = self.n.at(self.n.key_of(entry, "purposes"));
        self.purposes(path("purposes"), &format!("`{}`", now.field), &was.purposes, &now.purposes, true, location);
        // Retention: none means no limit.
        if was.retention_days != now.retention_days {
            let longer = match (was.retention_days, now.retention_days) {
                (_, None) => true,
                (None, Some(_)) => false,
                (Some(a), Some(b)) => b > a,
            };
            let kind = if longer { ChangeKind::RetentionLengthened } else { ChangeKind::RetentionShortened };
            let message =
                format!("`{}` is kept {} (was: {})", now.field, kept(now.retention_days), kept(was.retention_days));
            let location = self.n.at(self.n.key_of(entry, "retention_days"));
            self.add(
                kind,
                path("retention_days"),
                message,
                json!(was.retention_days),
                json!(now.retention_days),
                location,
            );
        }
        // Field encryption: absent is `none`.
        let req = |e: Option<FieldEncryption>| e == Some(FieldEncryption::Required);
        if req(was.encryption) != req(now.encryption) {
            let (kind, message) = if req(was.encryption) {
                (ChangeKind::EncryptionWeakened, format!("`{}` no longer has to be ciphertext", now.field))
            } else {
                (ChangeKind::EncryptionStrengthened, format!("`{}` must now be ciphertext", now.field))
            };
            let name = |e: Option<FieldEncryption>| if req(e) { "required" } else { "none" };
            let location = self.n.at(self.n.key_of(entry, "encryption"));
            self.add(
                kind,
                path("encryption"),
                message,
                json!(name(was.encryption)),
                json!(name(now.encryption)),
                location,
            );
        }
    }

    /// Purposes of a field (`empty_is_any`: none listed allows any) or a role (none allows none).
    fn purposes(
        &mut self,
        what: String,
        whose: &str,
        was: &[String],
        now: &[String],
        empty_is_any: bool,
        location: InputLocation,
    ) {
        let value = |l: &[String]| if empty_is_any && l.is_empty() { json!("any") } else { json!(l) };
        if empty_is_any && now.is_empty() && !was.is_empty() {
            let message =
                format!("{whose} lists no `purposes` any more: it may be read for any purpose, not only {}", list(was));
            self.add(ChangeKind::PurposeAdded, what, message, value(was), value(now), location);
            return;
        }
        if empty_is_any && was.is_empty() && !now.is_empty() {
            let message = format!("{whose} may be read only for {} now, not for any purpose", list(now));
            self.add(ChangeKind::PurposeRemoved, what, message, value(was), value(now), location);
            return;
        }
        let added: Vec<String> = now.iter().filter(|p| !was.contains(p)).cloned().collect();
        let removed: Vec<String> = was.iter().filter(|p| !now.contains(p)).cloned().collect();
        // A field is used for purposes; a role reads captures for them.
        let (also, no_longer) = if empty_is_any {
            ("may also be used for", "may no longer be used for")
        } else {
            ("may also read captures for", "may no longer read captures for")
        };
        if !added.is_empty() {
            let message = format!("{whose} {also} {}", list(&added));
            self.add(ChangeKind::PurposeAdded, what.clone(), message, value(was), value(now), location.clone());
        }
        if !removed.is_empty() {
            let message = format!("{whose} {no_longer} {}", list(&removed));
            self.add(ChangeKind::PurposeRemoved, what, message, value(was), value(now), location);
        }
    }

    fn never(&mut self) {
        let (os, ns) = (self.o.s, self.n.s);
        // Categories: kept when a new `never` category covers the old one.
        for c in &os.never_categories {
            if ns.never_categories.iter().any(|n| Taxonomy::is_within(c, n)) {
                continue;
            }
            let narrower: Vec<String> =
                ns.never_categories.iter().filter(|n| Taxonomy::is_within(n, c)).cloned().collect();
            let what = format!("never[category={c}]");
            match narrower.first() {
                Some(first) => {
                    let location = self.n.at(self.n.never_at(first));
                    let message = format!("the promise never to capture `{c}` now covers only {}", list(&narrower));
                    self.add(ChangeKind::NeverNarrowed, what, message, json!(c), json!(narrower), location);
                }
                None => {
                    let location = self.o.at(self.o.never_at(c));
                    let message = format!(
                        "the promise never to capture `{c}` (up to sensitivity {}) is dropped",
                        disclosure(self.taxonomy, c)
                    );
                    self.add(ChangeKind::NeverDropped, what, message, json!(c), Value::Null, location);
                }
            }
        }
        for c in &ns.never_categories {
            if os.never_categories.iter().any(|o| Taxonomy::is_within(c, o)) {
                continue;
            }
            let location = self.n.at(self.n.never_at(c));
            let message = format!("`{c}` is promised never to be captured");
            self.add(ChangeKind::NeverAdded, format!("never[category={c}]"), message, Value::Null, json!(c), location);
        }
        // Field patterns: kept when a new `never` pattern covers the old one.
        for f in &os.never_fields {
            if ns.never_fields.iter().any(|n| n.covers(f.as_str())) {
                continue;
            }
            let key = pattern_key(f);
            let narrower: Vec<String> =
                ns.never_fields.iter().filter(|n| f.covers(n.as_str())).map(|n| n.as_str().to_string()).collect();
            let what = format!("never[field={key}]");
            match narrower.first() {
                Some(first) => {
                    let location = self.n.at(self.n.never_at(first));
                    let message = format!("the promise never to capture `{f}` now covers only {}", list(&narrower));
                    self.add(ChangeKind::NeverNarrowed, what, message, json!(f.as_str()), json!(narrower), location);
                }
                None => {
                    let location = self.o.at(self.o.never_at(f.as_str()));
                    let message = format!("the promise never to capture `{f}` is dropped");
                    self.add(ChangeKind::NeverDropped, what, message, json!(f.as_str()), Value::Null, location);
                }
            }
        }
        for f in &ns.never_fields {
            if os.never_fields.iter().any(|o| o.covers(f.as_str())) {
                continue;
            }
            let location = self.n.at(self.n.never_at(f.as_str()));
            let message = format!("`{f}` is promised never to be captured");
            let what = format!("never[field={}]", pattern_key(f));
            self.add(ChangeKind::NeverAdded, what, message, Value::Null, json!(f.as_str()), location);
        }
    }

    fn windows(&mut self) {
        let (os, ns) = (self.o.s, self.n.s);
        let (ow, nw) = (os.windows.as_ref(), ns.windows.as_ref());
        let (od, nd) = (os.raw.windows.as_ref(), ns.raw.windows.as_ref());
        if ow.is_none() && nw.is_none() {
            return;
        }
        let value = |d: Option<&crate::scope::WindowsDecl>| {
            d.map_or_else(|| json!("always"), |d| json!({"timezone": d.timezone, "allow": d.allow, "deny": d.deny}))
        };
        let (before, after) = (value(od), value(nd));
        // Where: the new `windows:`, or the old one when the new scope has none.
        let location = match self.n.windows_at() {
            Some(off) => self.n.at(Some(off)),
            None => self.o.at(self.o.windows_at()),
        };
        let (gained, lost, frame) = match (ow, nw) {
            (Some(a), Some(b)) if a.tz != b.tz => {
                let message = format!("the windows are read in `{}` instead of `{}`", b.tz.name(), a.tz.name());
                self.add(
                    ChangeKind::WindowsTimezoneChanged,
                    "windows.timezone".into(),
                    message,
                    json!(a.tz.name()),
                    json!(b.tz.name()),
                    location.clone(),
                );
                let (mut gained, mut lost) = (vec![false; WEEK], vec![false; WEEK]);
                for start in REFERENCE_WEEKS {
                    let (x, y) = (utc_week(Some(a), start), utc_week(Some(b), start));
                    for (m, (x, y)) in x.iter().zip(&y).enumerate() {
                        if let Some(g) = gained.get_mut(m) {
                            *g |= *y && !*x;
                        }
                        if let Some(l) = lost.get_mut(m) {
                            *l |= *x && !*y;
                        }
                    }
                }
                (gained, lost, "in UTC, over a week of January and one of July".to_string())
            }
            _ => {
                let (x, y) = (local_week(ow), local_week(nw));
                let gained = x.iter().zip(&y).map(|(x, y)| *y && !*x).collect();
                let lost = x.iter().zip(&y).map(|(x, y)| *x && !*y).collect();
                let zone = nw.or(ow).map_or("UTC", |w| w.tz.name());
                (gained, lost, format!("local time, {zone}"))
            }
        };
        let (g, l) = (count(&gained), count(&lost));
        if g > 0 {
            let message = if nw.is_none() {
                format!(
                    "`windows` is dropped: capture is allowed at any time, {g} more minutes a week ({frame}): {}",
                    runs(&gained)
                )
            } else {
                format!("capture is allowed {g} more minutes a week ({frame}): {}", runs(&gained))
            };
            self.add(
                ChangeKind::WindowsWidened,
                "windows".into(),
                message,
                before.clone(),
                after.clone(),
                location.clone(),
            );
        }
        if l > 0 {
            let message = format!("capture is allowed {l} fewer minutes a week ({frame}): {}", runs(&lost));
            self.add(ChangeKind::WindowsNarrowed, "windows".into(), message, before, after, location);
        }
    }

    fn stores(&mut self) {
        let (o_s, n_s) = (self.o.s, self.n.s);
        let (os, ns) = (&o_s.raw.stores, &n_s.raw.stores);
        for s in ns {
            let entry = self.n.store_at(&s.id);
            let Some(was) = os.iter().find(|o| o.id == s.id) else {
                let location = self.n.at(entry);
                let message = format!(
                    "captures may be kept in the new store `{}` (encryption {}, retention {}, region {})",
                    s.id,
                    s.encryption.map_or(EncryptionLevel::None, |e| e.minimum()).as_str(),
                    days(s.retention_days),
                    s.region.as_deref().unwrap_or("not promised")
                );
                let after = serde_json::to_value(s).unwrap_or(Value::Null);
                self.add(ChangeKind::StoreAdded, format!("stores[id={}]", s.id), message, Value::Null, after, location);
                continue;
            };
            let path = |k: &str| format!("stores[id={}].{k}", s.id);
            let level = |e: Option<crate::scope::StoreEncryption>| e.map_or(EncryptionLevel::None, |e| e.minimum());
            let (a, b) = (level(was.encryption), level(s.encryption));
            if a != b {
                let kind = if b < a { ChangeKind::EncryptionWeakened } else { ChangeKind::EncryptionStrengthened };
                let message =
                    format!("store `{}` promises encryption `{}` instead of `{}`", s.id, b.as_str(), a.as_str());
                let location = self.n.at(self.n.key_of(entry, "encryption"));
                self.add(kind, path("encryption"), message, json!(a.as_str()), json!(b.as_str()), location);
            }
            if was.retention_days != s.retention_days {
                let longer = match (was.retention_days, s.retention_days) {
                    (_, None) => true,
                    (None, Some(_)) => false,
                    (Some(x), Some(y)) => y > x,
                };
                let kind = if longer { ChangeKind::RetentionLengthened } else { ChangeKind::RetentionShortened };
                let message = format!(
                    "store `{}` keeps captures {} (was: {})",
                    s.id,
                    kept(s.retention_days),
                    kept(was.retention_days)
                );
                let location = self.n.at(self.n.key_of(entry, "retention_days"));
                self.add(
                    kind,
                    path("retention_days"),
                    message,
                    json!(was.retention_days),
                    json!(s.retention_days),
                    location,
                );
            }
            if was.region != s.region {
                let kind = if was.region.is_none() { ChangeKind::RegionDeclared } else { ChangeKind::RegionChanged };
                let message = match (&was.region, &s.region) {
                    (Some(x), Some(y)) => format!("store `{}` is in region `{y}` instead of `{x}`", s.id),
                    (Some(x), None) => format!("store `{}` no longer promises a region (was `{x}`)", s.id),
                    (None, y) => format!("store `{}` promises region `{}`", s.id, y.as_deref().unwrap_or("")),
                };
                let location = self.n.at(self.n.key_of(entry, "region"));
                self.add(kind, path("region"), message, json!(was.region), json!(s.region), location);
            }
        }
        for s in os.iter().filter(|o| !ns.iter().any(|n| n.id == o.id)) {
            let location = self.o.at(self.o.store_at(&s.id));
            let message = format!("store `{}` is no longer declared", s.id);
            let before = serde_json::to_value(s).unwrap_or(Value::Null);
            self.add(ChangeKind::StoreRemoved, format!("stores[id={}]", s.id), message, before, Value::Null, location);
        }
    }

    fn access(&mut self) {
        let (os, ns) = (self.o.s, self.n.s);
        let (oa, na) = (&os.raw.access, &ns.raw.access);
        for a in na {
            let entry = self.n.role_at(&a.role);
            match oa.iter().find(|o| o.role == a.role) {
                None => {
                    let location = self.n.at(entry);
                    let message = match a.purposes.as_slice() {
                        [] => format!("role `{}` is listed, with no purpose it may read captures for", a.role),
                        p => format!("role `{}` may read captures for {}", a.role, list(p)),
                    };
                    let after = serde_json::to_value(a).unwrap_or(Value::Null);
                    self.add(
                        ChangeKind::RoleAdded,
                        format!("access[role={}]", a.role),
                        message,
                        Value::Null,
                        after,
                        location,
                    );
                }
                Some(was) => {
                    let location = self.n.at(self.n.key_of(entry, "purposes"));
                    let what = format!("access[role={}].purposes", a.role);
                    self.purposes(what, &format!("role `{}`", a.role), &was.purposes, &a.purposes, false, location);
                }
            }
        }
        for a in oa.iter().filter(|o| !na.iter().any(|n| n.role == o.role)) {
            let location = self.o.at(self.o.role_at(&a.role));
            let message = format!("role `{}` may no longer read captures", a.role);
            let before = serde_json::to_value(a).unwrap_or(Value::Null);
            self.add(
                ChangeKind::RoleRemoved,
                format!("access[role={}]", a.role),
                message,
                before,
                Value::Null,
                location,
            );
        }
    }
}

/// Minutes in a week.
const WEEK: usize = 7 * 1440;

/// Mondays 00:00 UTC of two weeks without a daylight-saving change in either hemisphere's usual
/// rules: windows in different zones are compared on both.
const REFERENCE_WEEKS: [i64; 2] = [
    1_768_176_000, // 2026-01-12T00:00:00Z
    1_783_900_800, // 2026-07-13T00:00:00Z
];

fn local_time(minute_of_week: usize) -> LocalTime {
    LocalTime {
        weekday: (minute_of_week / 1440) as u8,
        hour: ((minute_of_week % 1440) / 60) as u8,
        minute: (minute_of_week % 60) as u8,
    }
}

/// Allowed minutes of the week, in the windows' own local time (no windows: all of them).
fn local_week(w: Option<&Windows>) -> Vec<bool> {
    (0..WEEK).map(|m| w.is_none_or(|w| w.allows(local_time(m)))).collect()
}

/// Allowed minutes of the UTC week starting at `start` (seconds since the epoch).
fn utc_week(w: Option<&Windows>, start: i64) -> Vec<bool> {
    (0..WEEK)
        .map(|m| {
            let Some(t) = chrono::DateTime::from_timestamp(start + 60 * m as i64, 0) else { return false };
            w.is_none_or(|w| w.allows(local_in(&t.with_timezone(&w.tz))))
        })
        .collect()
}

fn count(bits: &[bool]) -> usize {
    bits.iter().filter(|b| **b).count()
}

fn clock(m: usize) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// A set of days as windows write it: `Mon-Fri`, `Sat,Sun`, `Mon,Wed-Fri`.
fn day_list(mask: u8) -> String {
    let mut parts = Vec::new();
    let mut d = 0usize;
    while d < 7 {
        if mask & (1 << d) == 0 {
            d += 1;
            continue;
        }
        let start = d;
        while d + 1 < 7 && mask & (1 << (d + 1)) != 0 {
            d += 1;
        }
        let name = |i: usize| DAY_NAMES.get(i).copied().unwrap_or("?");
        parts.push(match d - start {
            0 => name(start).to_string(),
            1 => format!("{},{}", name(start), name(d)),
            _ => format!("{}-{}", name(start), name(d)),
        });
        d += 1;
    }
    parts.join(",")
}

/// The minutes set in `bits`, written as windows (`Mon-Fri 12:00-13:00, Sat,Sun`), at most four.
fn runs(bits: &[bool]) -> String {
    // Runs within each day, then days grouped by identical runs.
    let mut groups: Vec<((usize, usize), u8)> = Vec::new();
    for day in 0..7 {
        let Some(minutes) = bits.get(day * 1440..(day + 1) * 1440) else { continue };
        let mut m = 0;
        while m < 1440 {
            if !minutes.get(m).copied().unwrap_or(false) {
                m += 1;
                continue;
            }
            let start = m;
            while minutes.get(m).copied().unwrap_or(false) {
                m += 1;
            }
            let span = (start, m);
            match groups.iter_mut().find(|(s, _)| *s == span) {
                Some((_, mask)) => *mask |= 1 << day,
                None => groups.push((span, 1 << day)),
            }
        }
    }
    let shown: Vec<String> = groups
        .iter()
        .take(4)
        .map(|((a, b), mask)| {
            let days = if *mask == 0x7f { String::new() } else { day_list(*mask) };
            let time = if (*a, *b) == (0, 1440) { String::new() } else { format!("{}-{}", clock(*a), clock(*b)) };
            [days, time].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
        })
        .map(|s| if s.is_empty() { "all week".to_string() } else { s })
        .collect();
    let mut out = shown.join(", ");
    if groups.len() > 4 {
        out.push_str(&format!(" and {} more", groups.len() - 4));
    }
    out
}

#[cfg(test)]
mod tests;
