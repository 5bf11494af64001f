//! scopecheck-bench: the benchmark comparison suite (issue 11).
//!
//! One data set (a folder written by `scopecheck generate`), several ways of doing the work on
//! it, each measured in a child process of its own so that its peak memory is its own:
//! parse-only baselines (`serde_json::Value`, sonic-rs), scopecheck's audit, the naive Cedar
//! loop ([`naive`]) and the same capture-event checks written in Rego and run by regorus
//! ([`rego`]). See docs/performance.md.
//!
//! This crate is a workspace member but not a default member: `cargo test` at the root never
//! compiles regorus or sonic-rs.

pub mod data;
pub mod modes;
pub mod naive;
pub mod rego;

use scopecheck::target::TargetKind;

/// A rule that fired, and what its finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pair {
    /// Rule id.
    pub rule: String,
    /// What kind of target.
    pub kind: TargetKind,
    /// The target (field path, source, subject kind, store).
    pub target: String,
}

impl std::fmt::Display for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?} {}", self.rule, self.kind, self.target)
    }
}

/// The rules the Rego policy implements (see rego/scopecheck.rego).
pub const REGO_RULES: &[&str] =
    &["undisclosed-field", "undisclosed-category", "never-collect", "undeclared-subject", "outside-window"];

/// scopecheck's own per-event decision, as (rule, target) pairs: the evaluator the audit runs.
pub struct Scopecheck {
    eval: scopecheck::eval::Evaluator,
}

impl Scopecheck {
    /// An evaluator over this engine.
    pub fn new(engine: std::sync::Arc<scopecheck::eval::Engine>) -> Result<Self, String> {
        Ok(Scopecheck { eval: scopecheck::eval::Evaluator::new(engine).map_err(|e| e.to_string())? })
    }

    /// The pairs one line fires.
    pub fn line(&mut self, line: &str) -> Result<std::collections::BTreeSet<Pair>, String> {
        let cap = scopecheck::observe::parse_capture(line).map_err(|r| r.reason)?;
        let out = self.eval.evaluate(&cap).map_err(|e| format!("{e:?}"))?;
        Ok(out.hits.into_iter().map(|h| Pair { rule: h.rule_id, kind: h.target.kind, target: h.target.id }).collect())
    }
}
