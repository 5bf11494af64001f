//! Rules: Cedar `forbid` policies with their metadata as annotations.
//!
//! The built-in rules are `policies/builtin.cedar`; users add `.cedar` files,
//! validated in strict mode against the same schema (`policies/scopecheck.cedarschema`).

use crate::error::{Error, ErrorKind, Location, Result, line_col};
use crate::target::{Act, EvidenceKind, TargetKind};
use cedar_policy::{ActionConstraint, Effect, PolicyId, PolicySet, Schema, ValidationMode, Validator};
use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// The Cedar schema, as shipped.
pub const SCHEMA_SRC: &str = include_str!("../../../policies/scopecheck.cedarschema");
/// The built-in rules, as shipped.
pub const BUILTIN_SRC: &str = include_str!("../../../policies/builtin.cedar");
/// Where the built-in rules say they come from in messages.
pub const BUILTIN_FILE: &str = "<builtin>/policies/builtin.cedar";

/// How bad a finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For the record.
    Info,
    /// Worth fixing.
    Low,
    /// Fix soon.
    Medium,
    /// A broken promise to the people captured.
    High,
    /// Special-category data or a `never` promise broken.
    Critical,
}

impl Severity {
    /// All, most severe first.
    pub const ALL: [Severity; 5] =
        [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Info];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(format!("`{s}` is not a severity; use critical, high, medium, low or info")),
        }
    }
}

/// A rule's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleMeta {
    /// Stable id (a public contract).
    pub id: String,
    /// Severity.
    pub severity: Severity,
    /// One line.
    pub title: String,
    /// How to fix.
    pub help: String,
    /// Regulation reference, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// File that defined it.
    pub origin: String,
    /// What its findings can be about (from its policies' `@target`, or their actions' defaults).
    pub targets: Vec<TargetKind>,
}

/// The origin of the engine's own rules.
pub const ENGINE_ORIGIN: &str = "<engine>";

/// The engine's own rules: findings about the evaluation itself, which no policy can express.
/// Their metadata lives here and nowhere else (the CLI, SARIF and docs/rules.md read it from the
/// rule pack, like every other rule's). They cannot be switched off: a policy that errors must
/// never pass for a policy that found nothing.
fn engine_rules() -> Vec<RuleMeta> {
    vec![RuleMeta {
        id: "policy-error".into(),
        severity: Severity::High,
        title: "A policy could not be evaluated; the request is treated as a violation".into(),
        help: "Cedar skips a policy whose evaluation errors (an integer overflow, a missing entity or attribute, a failed extension call), so a `forbid` that errors would silently allow. scopecheck reports every such error as this finding, and the plugin denies the event. Fix the policy named in the target (guard arithmetic and optional attributes, check with `scopecheck check`), then audit again."
            .into(),
        reference: Some("GDPR Art. 5(2) and 24(1) (accountability); ISO/IEC 27001 A.8.29".into()),
        origin: ENGINE_ORIGIN.into(),
        targets: vec![TargetKind::Policy],
    }, RuleMeta {
        id: BEFORE_NOTICE.into(),
        severity: Severity::High,
        title: "Captured before the notice that covers it took effect".into(),
        help: "The event's `ts` is earlier than the `effective_from` of the earliest version of the scope given, so no notice covered it when it was captured. The finding is on the capturing component (`source`); its first and last times give the period. Delete what was captured before the notice, or give the audit the version of the scope that was in force then (`--scope OLD.yaml --scope NEW.yaml`)."
            .into(),
        reference: Some("GDPR Art. 13(1) (information at the time data are obtained); CCPA §1798.100(b) (notice at collection)".into()),
        origin: ENGINE_ORIGIN.into(),
        targets: vec![TargetKind::Source],
    }]
}

/// The id of the engine's rule for events captured before the scope version judging them took
/// effect.
pub const BEFORE_NOTICE: &str = "before-notice";

/// What one policy of a rule says of its findings (its `@target` and `@evidence`), and where it
/// is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyMeta {
    /// Index of its rule.
    pub rule: usize,
    /// `@target`, if given (else the action's default).
    pub target: Option<TargetKind>,
    /// `@evidence`, if given (else the action's default).
    pub evidence: Option<EvidenceKind>,
    /// Index of its file in [`RulePack::sources`].
    pub source: usize,
    /// Line (1-based) of its `forbid`.
    pub line: usize,
    /// Column (1-based) of its `forbid`.
    pub column: usize,
}

/// A rule satisfied by one request: which rule, what its finding is about, what evidence it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fire {
    /// Index of the rule.
    pub rule: usize,
    /// What the finding is about.
    pub target: TargetKind,
    /// What evidence it shows.
    pub evidence: EvidenceKind,
    /// For the engine's `policy-error`: which evaluation failed (an index the evaluator that
    /// made the decision resolves with `Evaluator::policy_failure`); [`Fire::NO_FAILURE`] for the
    /// rest.
    pub failure: u32,
}

impl Fire {
    /// The `failure` of a fire that is not a policy error.
    pub const NO_FAILURE: u32 = u32::MAX;
}

/// The rules in force: a validated Cedar policy set and the metadata of each rule.
#[derive(Debug, Clone)]
pub struct RulePack {
    schema: Schema,
    policies: PolicySet,
    rules: Vec<RuleMeta>,
    by_policy: HashMap<PolicyId, PolicyMeta>,
    sources: Vec<(String, String)>,
}

/// The actions a policy can apply to (its action constraint).
fn policy_actions(policy: &cedar_policy::Policy) -> Vec<Act> {
    let of = |uid: &cedar_policy::EntityUid| Act::from_id(uid.id().unescaped());
    match policy.action_constraint() {
        ActionConstraint::Any => Act::ALL.to_vec(),
        ActionConstraint::Eq(uid) => of(&uid).into_iter().collect(),
        ActionConstraint::In(uids) => uids.iter().filter_map(of).collect(),
    }
}

/// Turns a Cedar diagnostic into our error, pointing into `text`.
fn from_cedar(kind: ErrorKind, file: &str, text: &str, diag: &dyn Diagnostic, fallback_help: &str) -> Error {
    let label = diag.labels().and_then(|mut l| l.next());
    // Cedar names policies by internal ids (`policy0`); the file, line and column say more.
    let message = strip_policy_id(&diag.to_string());
    let mut err = match label {
        Some(l) => Error::at_offset(kind, file, text, l.offset(), l.len().max(1), message),
        None => Error::new(kind, Location::file(file), message),
    };
    err.help = Some(match diag.help() {
        Some(h) => h.to_string(),
        None => fallback_help.to_string(),
    });
    err
}

fn strip_policy_id(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("for policy `")
        && let Some((_, after)) = rest.split_once("`, ")
    {
        return after.to_string();
    }
    msg.to_string()
}

/// Byte offsets of each policy (`permit`/`forbid` at the start of a line, outside brackets,
/// strings and comments) in source order. Strings are skipped whole: an annotation such as
/// `@reference("Art. 5(1)(b); https://...")` holds brackets, `;` and `//` that are not code.
fn policy_offsets(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let (mut in_string, mut escaped, mut in_comment, mut line_start) = (false, false, false, true);
    for (i, ch) in text.char_indices() {
        if ch == '\n' {
            (in_comment, line_start) = (false, true);
            continue;
        }
        if in_comment {
            continue;
        }
        if in_string {
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if ch.is_whitespace() {
            continue;
        }
        let rest = text.get(i..).unwrap_or("");
        if std::mem::take(&mut line_start) && depth == 0 && (rest.starts_with("permit") || rest.starts_with("forbid")) {
            out.push(i);
        }
        match ch {
            '/' if rest.starts_with("//") => in_comment = true,
            '"' => in_string = true,
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth -= 1,
            ';' => depth = 0,
            _ => {}
        }
    }
    out
}

impl RulePack {
    /// The schema and the built-in rules.
    pub fn builtin() -> Result<Self> {
        let (schema, _warnings) = Schema::from_cedarschema_str(SCHEMA_SRC).map_err(|e| {
            from_cedar(
                ErrorKind::Policy,
                "<builtin>/policies/scopecheck.cedarschema",
                SCHEMA_SRC,
                &e,
                "the shipped schema is broken",
            )
        })?;
        let mut pack = RulePack {
            schema,
            policies: PolicySet::new(),
            rules: engine_rules(),
            by_policy: HashMap::new(),
            sources: Vec::new(),
        };
        pack.add_source(BUILTIN_SRC, BUILTIN_FILE)?;
        Ok(pack)
    }

    /// An empty pack (schema only), for users who replace the built-in rules.
    pub fn schema_only() -> Result<Self> {
        let mut p = Self::builtin()?;
        p.policies = PolicySet::new();
        p.rules = engine_rules();
        p.by_policy.clear();
        p.sources.clear();
        Ok(p)
    }

    /// Adds a file of rules. Errors point at the file, line and column.
    pub fn add_source(&mut self, text: &str, file: &str) -> Result<()> {
        check_policy_nesting(file, text)?;
        let parsed = PolicySet::from_str(text).map_err(|e| {
            from_cedar(
                ErrorKind::Policy,
                file,
                text,
                &e,
                "fix the Cedar syntax; a rule looks like `@id(\"my-rule\") @severity(\"high\") @title(\"...\") @help(\"...\") forbid (principal, action == Scopecheck::Action::\"collect\", resource) when { ... };`",
            )
        })?;
        let validation = Validator::new(self.schema.clone()).validate(&parsed, ValidationMode::Strict);
        // Cedar lists validation errors in no fixed order (one per action a policy applies to,
        // from hash maps): report the first in the text, then by message, so the same file always
        // gets the same message.
        let first = validation.validation_errors().min_by_key(|e| {
            let offset = miette::Diagnostic::labels(*e).and_then(|mut l| l.next()).map_or(usize::MAX, |l| l.offset());
            (offset, e.to_string())
        });
        if let Some(first) = first {
            return Err(from_cedar(
                ErrorKind::Policy,
                file,
                text,
                first,
                "check the entity, action and attribute names against `scopecheck schema --cedar`",
            ));
        }
        if parsed.templates().next().is_some() {
            return Err(Error::new(ErrorKind::Policy, Location::file(file), "templates are not supported")
                .with_help("write plain `forbid` policies"));
        }
        let offsets = policy_offsets(text);
        // Cedar numbers policies of one source policy0, policy1, ... in order.
        let mut policies: Vec<_> = parsed.policies().collect();
        policies
            .sort_by_key(|p| p.id().to_string().trim_start_matches("policy").parse::<usize>().unwrap_or(usize::MAX));
        let file_no = self.sources.len();
        for (n, policy) in policies.into_iter().enumerate() {
            let at = offsets.get(n).copied().unwrap_or(0);
            let here = |msg: String, help: &str| {
                let (line, col) = line_col(text, at);
                let mut e = Error::at_offset(ErrorKind::Policy, file, text, at, 6, msg).with_help(help.to_string());
                e.location = Location::at(file, line, col);
                e.src = Some(NamedSource::new(file, text.to_string()));
                e.span = Some(SourceSpan::new(at.into(), 6));
                e
            };
            if policy.effect() != Effect::Forbid {
                return Err(here(
                    "scopecheck rules are `forbid` policies; this one is `permit`".into(),
                    "a satisfied `forbid` is a finding; write the violation as `forbid ... when { ... }` and exceptions as `unless { ... }`",
                ));
            }
            let Some(id) = policy.annotation("id").map(str::to_string) else {
                return Err(here(
                    "this rule has no `@id` annotation".into(),
                    "add `@id(\"your-rule-id\")` (and @severity, @title, @help) above `forbid`",
                ));
            };
            if id.is_empty()
                || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' || c == '/')
            {
                return Err(here(
                    format!("rule id `{id}` is not a plain id"),
                    "use letters, digits and `-` (e.g. `no-browsing-at-lunch`)",
                ));
            }
            let severity = match policy.annotation("severity") {
                Some(s) => Some(
                    s.parse::<Severity>()
                        .map_err(|m| here(m, "set @severity(\"critical\"|\"high\"|\"medium\"|\"low\"|\"info\")"))?,
                ),
                None => None,
            };
            let rule_idx = match self.rules.iter().position(|r| r.id == id) {
                Some(i) if self.rules.get(i).is_some_and(|r| r.origin == ENGINE_ORIGIN) => {
                    return Err(here(
                        format!("rule id `{id}` is the engine's own"),
                        "choose another @id; `scopecheck rules` lists the ids in use",
                    ));
                }
                Some(i) => {
                    let existing = self.rules.get(i).map(|r| (r.severity, r.origin.clone()));
                    if let (Some(sev), Some((old, origin))) = (severity, existing)
                        && sev != old
                    {
                        return Err(here(
                            format!("rule `{id}` is already defined in {origin} with severity {old}, not {sev}"),
                            "a rule has one severity; drop @severity here, or choose a new @id",
                        ));
                    }
                    i
                }
                None => {
                    let title = policy.annotation("title").map(str::to_string);
                    let help = policy.annotation("help").map(str::to_string);
                    let (Some(severity), Some(title), Some(help)) = (severity, title, help) else {
                        return Err(here(
                            format!("rule `{id}` needs @severity, @title and @help where it is first defined"),
                            "add @severity(\"high\"), @title(\"one line\") and @help(\"how to fix\")",
                        ));
                    };
                    self.rules.push(RuleMeta {
                        id: id.clone(),
                        severity,
                        title,
                        help,
                        reference: policy.annotation("reference").map(str::to_string),
                        origin: file.to_string(),
                        targets: Vec::new(),
                    });
                    self.rules.len() - 1
                }
            };
            let actions = policy_actions(policy);
            let target = match policy.annotation("target") {
                Some(t) => {
                    let t = t.parse::<TargetKind>().map_err(|m| here(m, "see `@target` in docs/rules.md"))?;
                    if let Some(a) = actions.iter().find(|a| !a.targets().contains(&t)) {
                        return Err(here(
                            format!("@target(\"{t}\") does not apply to action `{}`", a.as_str()),
                            &format!(
                                "a `{}` finding can be about: {}; narrow the policy's action or choose another target",
                                a.as_str(),
                                a.targets().iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
                            ),
                        ));
                    }
                    Some(t)
                }
                None => None,
            };
            let evidence = match policy.annotation("evidence") {
                Some(v) => {
                    let v = v.parse::<EvidenceKind>().map_err(|m| here(m, "see `@evidence` in docs/rules.md"))?;
                    if let Some(a) = actions.iter().find(|a| !a.evidence().contains(&v)) {
                        return Err(here(
                            format!("@evidence(\"{}\") does not apply to action `{}`", v.as_str(), a.as_str()),
                            &format!(
                                "a `{}` finding can show: {}",
                                a.as_str(),
                                a.evidence().iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")
                            ),
                        ));
                    }
                    Some(v)
                }
                None => None,
            };
            let new_id = PolicyId::new(format!("f{file_no}.p{n}.{id}"));
            let renamed = policy.new_id(new_id.clone());
            self.policies.add(renamed).map_err(|e| Error::internal(format!("adding policy: {e}")))?;
            let (line, column) = line_col(text, at);
            self.by_policy
                .insert(new_id, PolicyMeta { rule: rule_idx, target, evidence, source: file_no, line, column });
            if let Some(r) = self.rules.get_mut(rule_idx) {
                for a in &actions {
                    let t = target.unwrap_or(a.default_target());
                    if !r.targets.contains(&t) {
                        r.targets.push(t);
                        r.targets.sort();
                    }
                }
            }
        }
        self.sources.push((file.to_string(), text.to_string()));
        Ok(())
    }

    /// Rule metadata, in definition order.
    pub fn rules(&self) -> &[RuleMeta] {
        &self.rules
    }

    /// A rule's metadata by index.
    pub fn rule(&self, idx: usize) -> Option<&RuleMeta> {
        self.rules.get(idx)
    }

    /// Index of a rule id.
    pub fn rule_index(&self, id: &str) -> Option<usize> {
        self.rules.iter().position(|r| r.id == id)
    }

    /// The rule a satisfied policy belongs to.
    pub fn rule_of(&self, policy: &PolicyId) -> Option<usize> {
        self.by_policy.get(policy).map(|m| m.rule)
    }

    /// What a satisfied policy says, for a request of action `act`.
    pub fn fire_of(&self, policy: &PolicyId, act: Act) -> Option<Fire> {
        self.by_policy.get(policy).map(|m| Fire {
            rule: m.rule,
            target: m.target.unwrap_or(act.default_target()),
            evidence: m.evidence.unwrap_or(act.default_evidence()),
            failure: Fire::NO_FAILURE,
        })
    }

    /// A policy's metadata and place.
    pub fn policy_meta(&self, policy: &PolicyId) -> Option<&PolicyMeta> {
        self.by_policy.get(policy)
    }

    /// The index of the engine's `policy-error` rule.
    pub fn policy_error_rule(&self) -> usize {
        self.rules.iter().position(|r| r.origin == ENGINE_ORIGIN && r.id == "policy-error").unwrap_or(0)
    }

    /// The index of the engine's `before-notice` rule.
    pub fn before_notice_rule(&self) -> usize {
        self.rules.iter().position(|r| r.origin == ENGINE_ORIGIN && r.id == BEFORE_NOTICE).unwrap_or(0)
    }

    /// sha256 of the rules in force: the schema, then each rule file's name and text, in load order,
    /// then the rules switched off. Identifies the rule pack in reports.
    pub fn digest(&self, disabled: &[String]) -> String {
        let mut text = String::new();
        for part in std::iter::once(SCHEMA_SRC)
            .chain(self.sources.iter().flat_map(|(n, t)| [n.as_str(), t.as_str()]))
            .chain(disabled.iter().map(String::as_str))
        {
            text.push_str(&part.len().to_string());
            text.push(':');
            text.push_str(part);
        }
        crate::bundle::sha256_hex(text.as_bytes())
    }

    /// The Cedar schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The validated policies.
    pub fn policies(&self) -> &PolicySet {
        &self.policies
    }

    /// Each file of rules as (name, text), in load order (for bundles).
    pub fn sources(&self) -> &[(String, String)] {
        &self.sources
    }

    /// Removes rules by id (from `--disable`). Unknown ids are an error with a suggestion.
    pub fn disable(&mut self, ids: &[String]) -> Result<()> {
        for id in ids {
            if self.rules.iter().any(|r| r.id == *id && r.origin == ENGINE_ORIGIN) {
                return Err(Error::new(
                    ErrorKind::Policy,
                    Location::file("--disable"),
                    format!("`{id}` is the engine's own rule and cannot be switched off"),
                )
                .with_help(
                    "a policy that cannot be evaluated must not pass for one that found nothing; fix the policy instead",
                ));
            }
            let Some(idx) = self.rule_index(id) else {
                let mut e =
                    Error::new(ErrorKind::Policy, Location::file("--disable"), format!("there is no rule `{id}`"));
                e.help = Some(match crate::error::did_you_mean(id, self.rules.iter().map(|r| r.id.as_str())) {
                    Some(s) => format!("did you mean `{s}`? `scopecheck rules` lists them"),
                    None => "`scopecheck rules` lists them".into(),
                });
                return Err(e);
            };
            let doomed: Vec<PolicyId> =
                self.by_policy.iter().filter(|(_, m)| m.rule == idx).map(|(p, _)| p.clone()).collect();
            for p in doomed {
                self.policies.remove_static(p.clone()).map_err(|e| Error::internal(format!("removing policy: {e}")))?;
                self.by_policy.remove(&p);
            }
        }
        Ok(())
    }
}

/// Deepest bracket nesting read in a policy file. Cedar's parser recurses on each bracket; a
/// policy nested a few hundred deep overflows its stack (an abort, not an error), so deeper
/// policies are refused before Cedar sees them. Real policies nest a handful of levels.
pub const MAX_POLICY_NESTING: usize = 64;

/// Refuses a policy text whose brackets (`(`, `[`, `{`, outside strings and comments) nest
/// deeper than [`MAX_POLICY_NESTING`], pointing at the first bracket too deep.
pub fn check_policy_nesting(name: &str, text: &str) -> Result<()> {
    let mut depth = 0usize;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '/' if chars.peek().is_some_and(|(_, c)| *c == '/') => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_POLICY_NESTING {
                    return Err(Error::at_offset(
                        ErrorKind::Policy,
                        name,
                        text,
                        i,
                        1,
                        format!("brackets nest more than {MAX_POLICY_NESTING} deep here"),
                    )
                    .with_help("split the condition into several policies, or name its parts with `&&` and `||`"));
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_have_the_contract_ids() {
        let p = RulePack::builtin().unwrap();
        for id in [
            "undisclosed-field",
            "undisclosed-category",
            "unencrypted-field",
            "never-collect",
            "sensitive-in-unencrypted-store",
            "outside-window",
            "purpose-creep",
            "retention-exceeded",
            "undeclared-store",
            "unencrypted-store",
            "undeclared-subject",
            "sensitive-in-unencrypted-store",
        ] {
            assert!(p.rule_index(id).is_some(), "{id}");
        }
    }

    #[test]
    fn targets_and_evidence_come_from_annotations() {
        let mut p = RulePack::builtin().unwrap();
        let rule = GOOD.replace("forbid (", "@target(\"subject_kind\")\n@evidence(\"subject_kind\")\nforbid (");
        p.add_source(&rule, "mine.cedar").unwrap();
        let r = &p.rules()[p.rule_index("no-browsing-at-lunch").unwrap()];
        assert_eq!(r.targets, vec![TargetKind::SubjectKind]);
        let w = &p.rules()[p.rule_index("outside-window").unwrap()];
        assert_eq!(w.targets, vec![TargetKind::Source]);
        let r = &p.rules()[p.rule_index("retention-exceeded").unwrap()];
        assert_eq!(r.targets, vec![TargetKind::Field, TargetKind::Store]);
        // A target the action cannot name is refused at load, with the line of the policy.
        let bad = GOOD.replace("forbid (", "@target(\"role\")\nforbid (");
        let e = RulePack::builtin().unwrap().add_source(&bad, "m.cedar").unwrap_err();
        assert!(e.message.contains("does not apply to action `collect`"), "{e}");
        assert!(e.help.unwrap().contains("field, store, source, subject_kind"));
        let bad = GOOD.replace("forbid (", "@target(\"person\")\nforbid (");
        let e = RulePack::builtin().unwrap().add_source(&bad, "m.cedar").unwrap_err();
        assert!(e.message.contains("`person` is not a target"), "{e}");
        let bad = GOOD.replace("forbid (", "@evidence(\"retention\")\nforbid (");
        let e = RulePack::builtin().unwrap().add_source(&bad, "m.cedar").unwrap_err();
        assert!(e.message.contains("@evidence(\"retention\") does not apply"), "{e}");
    }

    const GOOD: &str = r#"
@id("no-browsing-at-lunch")
@severity("low")
@title("Browsing captured at lunch")
@help("Pause the browser collector at lunch.")
forbid (principal, action == Scopecheck::Action::"collect", resource)
when { context.category in Scopecheck::Category::"behavior.browsing" && !context.in_window };
"#;

    #[test]
    fn user_rules_are_added() {
        let mut p = RulePack::builtin().unwrap();
        p.add_source(GOOD, "mine.cedar").unwrap();
        let r = &p.rules()[p.rule_index("no-browsing-at-lunch").unwrap()];
        assert_eq!(r.severity, Severity::Low);
        assert_eq!(r.origin, "mine.cedar");
    }

    #[test]
    fn typos_point_at_file_line_col() {
        let mut p = RulePack::builtin().unwrap();
        let e = p.add_source(&GOOD.replace("context.in_window", "context.in_windw"), "mine.cedar").unwrap_err();
        assert_eq!(e.location.file, "mine.cedar");
        assert_eq!((e.location.line, e.location.column), (Some(7), Some(74)), "{e}");
        let e = p.add_source(&GOOD.replace("forbid (", "forbd ("), "mine.cedar").unwrap_err();
        assert_eq!(e.location.line, Some(6), "{e}");
    }

    #[test]
    fn rules_need_metadata_and_forbid() {
        let mut p = RulePack::builtin().unwrap();
        let e = p.add_source(&GOOD.replace("@severity(\"low\")\n", ""), "m.cedar").unwrap_err();
        assert!(e.message.contains("needs @severity"), "{e}");
        assert_eq!(e.location.line, Some(5), "{e}");
        let e = p.add_source(&GOOD.replace("@severity(\"low\")", "@severity(\"urgent\")"), "m.cedar").unwrap_err();
        assert!(e.message.contains("not a severity"), "{e}");
        let e = p.add_source(&GOOD.replace("forbid", "permit"), "m.cedar").unwrap_err();
        assert!(e.message.contains("`forbid`"), "{e}");
        let e = p.add_source(&GOOD.replace("@id(\"no-browsing-at-lunch\")\n", ""), "m.cedar").unwrap_err();
        assert!(e.message.contains("no `@id`"), "{e}");
    }

    #[test]
    fn disable_removes_a_rule() {
        let mut p = RulePack::builtin().unwrap();
        p.disable(&["outside-window".into()]).unwrap();
        assert!(p.policies().policies().all(|x| x.annotation("id") != Some("outside-window")));
        assert!(p.disable(&["outside-windw".into()]).unwrap_err().help.unwrap().contains("outside-window"));
    }
}
