//! The runtime decision for one event: `allow`, `redact` or `deny`.
//!
//! Shared by the native `scopecheck enforce` and the wasm plugin, so both decide alike. An event
//! (a capture envelope, one JSON object) is evaluated by [`Evaluator::evaluate`], the same code the
//! audit runs, so the findings are the audit's findings for that event. Then:
//!
//! - a finding about a **field** (target kind `field`: `undisclosed-field`, `never-collect`,
//!   `unencrypted-field`, `undisclosed-category`...) can be fixed by removing that field: every
//!   leaf at that path, and the containers left empty by the removal, go from `data`;
//! - a finding about the **event as a whole** (its store, source, subject kind: `outside-window`,
//!   `undeclared-store`, `sensitive-in-unencrypted-store`, `undeclared-subject`...) cannot: the
//!   event is denied;
//! - an event that cannot be evaluated (not JSON, not an envelope, too large, too deep, another
//!   program's) is denied, with the reason, in both modes;
//! - so is an event for which a policy could not be evaluated (a `policy-error` finding: Cedar
//!   skips a policy that errors, and a skipped `forbid` must not pass for an allow), whatever
//!   `act_on` says.
//!
//! The decision is `deny` if any acted-on finding is about the event, else `redact` if any is about
//! a field, else `allow`. Findings below [`DecideOptions::act_on`] (default: `info`, so every finding
//! counts) are reported with the action `report` and change nothing. In [`Mode::Monitor`] the
//! decision on every event that could be decided is `allow` (it passes unchanged) and `would` says
//! what `enforce` would have done.

use crate::bundle::Bundle;
use crate::error::Result;
use crate::eval::{Engine, EvalFailure, Evaluator};
use crate::observe::parse_capture;
use crate::rules::Severity;
use crate::target::{Target, TargetKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Largest event decided by default (bytes); larger events are denied unread.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

/// Enforce or only watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deny and redact.
    #[default]
    Enforce,
    /// Decide and report, never block: every decision is `allow`.
    Monitor,
}

impl Mode {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Monitor => "monitor",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "enforce" => Ok(Mode::Enforce),
            "monitor" => Ok(Mode::Monitor),
            _ => Err(format!("`{s}` is not a mode; use enforce or monitor")),
        }
    }
}

/// What happens to the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Send it unchanged.
    Allow,
    /// Send `event` instead: the out-of-scope fields are gone.
    Redact,
    /// Drop it.
    Deny,
}

impl Verdict {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Redact => "redact",
            Verdict::Deny => "deny",
        }
    }
}

/// What a finding did to the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The field is removed.
    Redact,
    /// The event is denied.
    Deny,
    /// Below `act_on`: reported only.
    Report,
}

/// Why an event was denied without being decided. Shared by the plugin and its hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, not a capture envelope, nested too deep, or another program's event.
    InvalidEvent,
    /// Over the size limit.
    TooLarge,
    /// No bundle loaded (plugin).
    NotLoaded,
    /// The bundle could not be loaded (plugin).
    BadBundle,
    /// A policy could not be evaluated for this event (its findings name it): what it would
    /// have decided is unknown, so the event is denied in both modes.
    PolicyError,
    /// scopecheck could not decide (a bug; please report it).
    Internal,
    /// The guest trapped (host).
    Trap,
    /// The guest ran out of fuel (host).
    OutOfFuel,
    /// The guest ran past its deadline (host).
    OutOfTime,
    /// The guest ran out of memory (host).
    OutOfMemory,
    /// The guest's reply was not a decision, or the ABI does not match (host).
    BadReply,
}

/// Why an event was denied without being decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecideError {
    /// Machine-readable.
    pub code: ErrorCode,
    /// What happened and how to fix it.
    pub message: String,
}

/// One finding on one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFinding {
    /// Rule id.
    pub rule: String,
    /// Its severity.
    pub severity: Severity,
    /// What it is about: `{"kind": "field"|"store"|"source"|"subject_kind", "id": …}`.
    pub target: Target,
    /// Categories involved.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Evidence (redacted unless the bundle asks otherwise).
    #[serde(default)]
    pub evidence: Vec<String>,
    /// What it did.
    pub action: Action,
}

/// The decision on one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// What happens: in `monitor` mode always `allow`.
    pub decision: Verdict,
    /// What `enforce` mode does (equals `decision` in `enforce` mode).
    pub would: Verdict,
    /// The mode it was decided in.
    pub mode: Mode,
    /// Findings, in evaluation order.
    pub findings: Vec<EventFinding>,
    /// For `redact`: the event without its out-of-scope fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Value>,
    /// For `redact`: the field paths removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
    /// Why the event was denied without being decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<DecideError>,
}

impl Decision {
    /// A `deny` for an event that could not be decided. Failures deny in both modes: `monitor`
    /// lets findings through, never what could not be checked.
    pub fn failure(mode: Mode, code: ErrorCode, message: impl Into<String>) -> Decision {
        Decision {
            decision: Verdict::Deny,
            would: Verdict::Deny,
            mode,
            findings: Vec::new(),
            event: None,
            removed: Vec::new(),
            error: Some(DecideError { code, message: message.into() }),
        }
    }

    /// A `deny` for hosts: a trap, a breached limit, a malformed reply.
    pub fn deny(code: ErrorCode, message: impl Into<String>) -> Decision {
        Decision::failure(Mode::Enforce, code, message)
    }

    /// The JSON text of a *plain* decision, one with nothing but its verdicts and mode (no
    /// findings, event, removed fields or error): most decisions of a program that keeps to its
    /// notice. The text is exactly what `serde_json` writes for it, so the WASM plugin replies
    /// with it without serializing, and [`Decision::from_plain_json`] reads it back without
    /// parsing. `None` for any other decision.
    pub fn plain_json(&self) -> Option<&'static str> {
        if !self.findings.is_empty() || self.event.is_some() || !self.removed.is_empty() || self.error.is_some() {
            return None;
        }
        PLAIN_JSON
            .get(verdict_index(self.decision))
            .and_then(|w| w.get(verdict_index(self.would)))
            .and_then(|m| m.get(usize::from(self.mode == Mode::Monitor)))
            .copied()
    }

    /// The plain decision whose JSON text ([`Decision::plain_json`]) is `text`; `None` for any
    /// other text, which a reader then parses as usual.
    pub fn from_plain_json(text: &[u8]) -> Option<Decision> {
        Decision::plain_decisions().find(|d| d.plain_json().is_some_and(|plain| plain.as_bytes() == text))
    }

    /// Every plain decision: each decision, would and mode, with nothing else.
    fn plain_decisions() -> impl Iterator<Item = Decision> {
        const VERDICTS: [Verdict; 3] = [Verdict::Allow, Verdict::Redact, Verdict::Deny];
        VERDICTS.into_iter().flat_map(|decision| {
            VERDICTS.into_iter().flat_map(move |would| {
                [Mode::Enforce, Mode::Monitor].into_iter().map(move |mode| Decision {
                    decision,
                    would,
                    mode,
                    findings: Vec::new(),
                    event: None,
                    removed: Vec::new(),
                    error: None,
                })
            })
        })
    }
}

fn verdict_index(v: Verdict) -> usize {
    match v {
        Verdict::Allow => 0,
        Verdict::Redact => 1,
        Verdict::Deny => 2,
    }
}

macro_rules! plain_json {
    ($d:literal, $w:literal, $m:literal) => {
        concat!(r#"{"decision":""#, $d, r#"","would":""#, $w, r#"","mode":""#, $m, r#"","findings":[]}"#)
    };
    ($d:literal, $w:literal) => {
        [plain_json!($d, $w, "enforce"), plain_json!($d, $w, "monitor")]
    };
    ($d:literal) => {
        [plain_json!($d, "allow"), plain_json!($d, "redact"), plain_json!($d, "deny")]
    };
}

/// [`Decision::plain_json`]'s texts, by decision, would and mode (enforce, monitor), in the
/// order of [`verdict_index`].
static PLAIN_JSON: [[[&str; 2]; 3]; 3] = [plain_json!("allow"), plain_json!("redact"), plain_json!("deny")];

/// How decisions are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecideOptions {
    /// Enforce or monitor.
    pub mode: Mode,
    /// Findings below this severity are reported only.
    pub act_on: Severity,
    /// Events larger than this (bytes) are denied unread.
    pub max_event_bytes: usize,
}

impl Default for DecideOptions {
    fn default() -> Self {
        DecideOptions { mode: Mode::Enforce, act_on: Severity::Info, max_event_bytes: DEFAULT_MAX_EVENT_BYTES }
    }
}

/// Decides events one at a time. Keeps the evaluator (and its per-shape caches) across calls.
#[derive(Debug)]
pub struct Decider {
    eval: Evaluator,
    options: DecideOptions,
}

impl Decider {
    /// A decider over an engine.
    pub fn new(engine: Arc<Engine>, options: DecideOptions) -> Result<Decider> {
        let mut eval = Evaluator::new(engine)?;
        // Per-store field counts are for audits' retention reports; a decider never reads them.
        eval.set_field_store_counts(false);
        Ok(Decider { eval, options })
    }

    /// A decider over a bundle, with the bundle's options.
    pub fn from_bundle(bundle: &Bundle) -> Result<Decider> {
        Decider::new(Arc::new(bundle.engine()?), bundle.decide_options())
    }

    /// The options in force.
    pub fn options(&self) -> DecideOptions {
        self.options
    }

    /// Changes the options (mode, threshold, size limit).
    pub fn set_options(&mut self, options: DecideOptions) {
        self.options = options;
    }

    /// The evaluator (for its statistics).
    pub fn evaluator(&self) -> &Evaluator {
        &self.eval
    }

    /// Turns the evaluator's caches (decisions per shape, remembered fields, values) on or off.
    /// Off is the reference the tests hold the cached path to; decisions are the same either way.
    #[doc(hidden)]
    pub fn set_caches(&mut self, on: bool) {
        self.eval.set_decision_cache(on);
        self.eval.set_value_cache(on);
    }

    /// Decides on one event, given as its JSON text (a JSONL line). Never fails: an event that
    /// cannot be decided is denied with the reason.
    pub fn decide_line(&mut self, line: &str) -> Decision {
        let mode = self.options.mode;
        if line.len() > self.options.max_event_bytes {
            return Decision::failure(
                mode,
                ErrorCode::TooLarge,
                format!("the event is {} bytes, over the {} byte limit", line.len(), self.options.max_event_bytes),
            );
        }
        let cap = match parse_capture(line) {
            Ok(c) => c,
            Err(r) => return Decision::failure(mode, ErrorCode::InvalidEvent, r.reason),
        };
        let outcome = match self.eval.evaluate(&cap) {
            Ok(o) => o,
            Err(EvalFailure::Rejected(r)) => return Decision::failure(mode, ErrorCode::InvalidEvent, r.reason),
            Err(EvalFailure::Error(e)) => {
                return Decision::failure(mode, ErrorCode::Internal, format!("scopecheck could not decide: {e}"));
            }
        };
        let engine = self.eval.engine();
        let mut findings = Vec::with_capacity(outcome.hits.len());
        let mut remove: BTreeSet<String> = BTreeSet::new();
        let mut deny = false;
        let mut undecided: Vec<String> = Vec::new();
        for hit in outcome.hits {
            let severity = engine.rules.rule(hit.rule).map_or(Severity::Critical, |r| r.severity);
            let action = action(hit.target.kind, severity, self.options.act_on);
            match (hit.target.kind, action) {
                (TargetKind::Policy, _) => undecided.push(hit.target.id.clone()),
                (_, Action::Redact) => {
                    remove.insert(hit.target.id.clone());
                }
                (_, Action::Deny) => deny = true,
                (_, Action::Report) => {}
            }
            findings.push(EventFinding {
                rule: hit.rule_id,
                severity,
                target: hit.target,
                categories: hit.categories,
                evidence: hit.evidence,
                action,
            });
        }
        if !undecided.is_empty() {
            let mut d = Decision::failure(
                mode,
                ErrorCode::PolicyError,
                format!(
                    "{} could not be evaluated for this event, so it is denied (see the `policy-error` findings)",
                    undecided.join(", ")
                ),
            );
            d.findings = findings;
            return d;
        }
        let would = if deny {
            Verdict::Deny
        } else if remove.is_empty() {
            Verdict::Allow
        } else {
            Verdict::Redact
        };
        let (decision, event, removed) = match (mode, would) {
            (Mode::Monitor, _) => (Verdict::Allow, None, Vec::new()),
            (Mode::Enforce, Verdict::Redact) => {
                // The event is read again, whole, only to redact it: every key it has, known or not, is kept.
                let Ok(mut event) = serde_json::from_str::<Value>(line) else {
                    return Decision::failure(
                        mode,
                        ErrorCode::Internal,
                        "the event could not be read again to redact it",
                    );
                };
                if let Some(data) = event.get_mut("data") {
                    prune(data, &remove);
                }
                (Verdict::Redact, Some(event), remove.into_iter().collect())
            }
            (Mode::Enforce, v) => (v, None, Vec::new()),
        };
        Decision { decision, would, mode, findings, event, removed, error: None }
    }
}

/// What a finding of this target kind and severity does to its event under `act_on`: a field is
/// removed, anything else about the event denies it, a finding below `act_on` is only reported, and
/// a policy that could not be evaluated denies whatever `act_on` says.
pub fn action(kind: TargetKind, severity: Severity, act_on: Severity) -> Action {
    match (kind, severity >= act_on) {
        (TargetKind::Policy, _) => Action::Deny,
        (_, false) => Action::Report,
        (TargetKind::Field, true) => Action::Redact,
        (_, true) => Action::Deny,
    }
}

/// The decision [`Decider::decide_line`] makes on an event with these findings (each as its
/// target kind and severity), without redacting anything: `deny` if a finding denies it (or a
/// policy could not be evaluated, in either mode), else `redact` if one removes a field, else
/// `allow`; in [`Mode::Monitor`] every event that could be decided is allowed.
pub fn verdict(hits: impl IntoIterator<Item = (TargetKind, Severity)>, options: &DecideOptions) -> Verdict {
    let mut would = Verdict::Allow;
    for (kind, severity) in hits {
        match action(kind, severity, options.act_on) {
            Action::Deny if kind == TargetKind::Policy => return Verdict::Deny,
            Action::Deny => would = Verdict::Deny,
            Action::Redact if would == Verdict::Allow => would = Verdict::Redact,
            _ => {}
        }
    }
    match options.mode {
        Mode::Monitor => Verdict::Allow,
        Mode::Enforce => would,
    }
}

/// Removes every scalar leaf whose normalized path is in `remove`, and the objects and arrays
/// that become empty because of it. Paths are matched as [`crate::pattern::walk_leaves`] builds
/// them (`a.b[].c`), without building them: each level keeps the rest of every path in `remove`
/// that the way down so far matches, so the cost is the size of the event, however long its keys,
/// and subtrees no removed path reaches are not walked. Returns true when `value` itself should go.
fn prune(value: &mut Value, remove: &BTreeSet<String>) -> bool {
    let alive: Vec<&str> = remove.iter().map(String::as_str).collect();
    prune_at(value, &alive, true, 0)
}

/// `rest`: what is left to match of each path still possible here; `empty`: the path so far is
/// the empty text (no `.` before the next key).
fn prune_at(value: &mut Value, rest: &[&str], empty: bool, depth: usize) -> bool {
    if rest.is_empty() {
        return false;
    }
    if depth > crate::pattern::MAX_DEPTH {
        // Not reached: such events are rejected before. Drop rather than keep unseen data.
        return true;
    }
    match value {
        Value::Object(map) => {
            if map.is_empty() {
                return false;
            }
            let keys: Vec<String> = map.keys().cloned().collect();
            let mut next: Vec<&str> = Vec::with_capacity(rest.len());
            for k in keys {
                next.clear();
                for r in rest {
                    let r = if empty { Some(*r) } else { r.strip_prefix('.') };
                    if let Some(after) = r.and_then(|r| r.strip_prefix(k.as_str())) {
                        next.push(after);
                    }
                }
                let gone = map.get_mut(&k).is_some_and(|v| prune_at(v, &next, empty && k.is_empty(), depth + 1));
                if gone {
                    map.remove(&k);
                }
            }
            map.is_empty()
        }
        Value::Array(items) => {
            if items.is_empty() {
                return false;
            }
            let next: Vec<&str> = rest.iter().filter_map(|r| r.strip_prefix("[]")).collect();
            items.retain_mut(|v| !prune_at(v, &next, false, depth + 1));
            items.is_empty()
        }
        Value::Null => false,
        _ => rest.contains(&""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prune_removes_leaves_and_emptied_containers() {
        let mut v = json!({"a": {"b": 1, "c": [{"d": "x"}, {"d": "y", "e": 2}]}, "f": [], "g": {"h": null}});
        let remove: BTreeSet<String> = ["a.b".to_string(), "a.c[].d".to_string()].into_iter().collect();
        prune(&mut v, &remove);
        assert_eq!(v, json!({"a": {"c": [{"e": 2}]}, "f": [], "g": {"h": null}}));
        let remove: BTreeSet<String> = ["a.c[].e".to_string()].into_iter().collect();
        prune(&mut v, &remove);
        assert_eq!(v, json!({"f": [], "g": {"h": null}}));
        // Paths are texts: a key with a dot, and the empty key, match as `walk_leaves` writes them.
        let mut v = json!({"a.b": 1, "a": {"b": 2, "c": 3}, "": {"d": 4}, "e": 5});
        let remove: BTreeSet<String> = ["a.b".to_string(), "d".to_string()].into_iter().collect();
        prune(&mut v, &remove);
        assert_eq!(v, json!({"a": {"c": 3}, "e": 5}));
    }

    /// The plain texts are `serde_json`'s, byte for byte, for every verdict and mode, and read
    /// back to the same decision; a decision with anything more has none.
    #[test]
    fn plain_json_is_serde_json_s_text() {
        let mut seen = BTreeSet::new();
        for d in Decision::plain_decisions() {
            let text = d.plain_json().unwrap();
            assert_eq!(text, serde_json::to_string(&d).unwrap());
            assert_eq!(Decision::from_plain_json(text.as_bytes()), Some(d.clone()));
            assert!(seen.insert(text));
            let mut more = d.clone();
            more.removed.push("a".into());
            assert_eq!(more.plain_json(), None);
            let mut more = d.clone();
            more.event = Some(json!({}));
            assert_eq!(more.plain_json(), None);
            let mut more = d.clone();
            more.findings.push(EventFinding {
                rule: "undeclared-field".into(),
                severity: Severity::Low,
                target: Target { kind: TargetKind::Field, id: "a".into() },
                categories: Vec::new(),
                evidence: Vec::new(),
                action: Action::Report,
            });
            assert_eq!(more.plain_json(), None);
            let failed = Decision { error: Some(DecideError { code: ErrorCode::Internal, message: "x".into() }), ..d };
            assert_eq!(failed.plain_json(), None);
        }
        // Three decisions, three woulds, two modes: each its own text.
        assert_eq!(seen.len(), 18);
        for other in [&b""[..], b"{}", br#"{"decision":"allow","would":"allow","mode":"enforce","findings":[] }"#] {
            assert_eq!(Decision::from_plain_json(other), None);
        }
    }

    /// Long keys over many leaves cost linear time and memory (a quadratic reader or evaluator
    /// would not finish this test in any reasonable time).
    #[test]
    fn a_long_key_over_many_leaves_is_decided() {
        let scope = "program: demo\nnotice: https://example.invalid/n\ncollect:\n  - field: a\n    category: behavior.app_interaction\n    purposes: [analytics]\n";
        let setup = crate::Setup { scope: Some(crate::Source::new("s.yaml", scope)), ..crate::Setup::default() };
        let mut d = Decider::new(Arc::new(setup.build().unwrap()), DecideOptions::default()).unwrap();
        let key = "k".repeat(100 << 10);
        let items = vec![r#"{"b":1,"c":"x"}"#; 5_000].join(",");
        let line = format!(r#"{{"ts":"2026-05-12T09:14:03Z","data":{{"a":1,"{key}":[{items}]}}}}"#);
        let decision = d.decide_line(&line);
        assert_eq!(decision.error, None);
        assert_eq!(decision.decision, Verdict::Redact);
        assert_eq!(decision.removed.len(), 2);
        let event = decision.event.unwrap();
        assert_eq!(event["data"], json!({"a": 1}));
    }

    #[test]
    fn failures_deny_in_both_modes() {
        let d = Decision::failure(Mode::Enforce, ErrorCode::InvalidEvent, "x");
        assert_eq!((d.decision, d.would), (Verdict::Deny, Verdict::Deny));
        let d = Decision::failure(Mode::Monitor, ErrorCode::InvalidEvent, "x");
        assert_eq!((d.decision, d.would), (Verdict::Deny, Verdict::Deny));
        let s = serde_json::to_string(&Decision::deny(ErrorCode::OutOfFuel, "y")).unwrap();
        assert!(s.contains("\"code\":\"out_of_fuel\""), "{s}");
    }
}
