//! Decision caching: the keys a decision is cached under (never the person's id), and the one
//! Cedar call everything goes through.

use super::Evaluator;
use super::PolicyFailure;
use super::entities::{cedar_err, uid};
use crate::error::Result;
use crate::rules::Fire;
use crate::target::{Act, EvidenceKind, TargetKind};
use cedar_policy::{AuthorizationError, Context, EntityUid, EvaluationError, Request, RestrictedExpression};
use miette::Diagnostic;
use std::sync::Arc;

/// Distinct policy failures kept with their own message; past this, failures of the same policy
/// and kind share the first one's entry (the finding is the same, only the evidence is shorter).
const MAX_FAILURES: usize = 1024;

/// What a field's `collect` decision depends on besides the field and its categories: the
/// event's context, as [`CollectKey`] has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct FieldContext {
    pub(super) in_window: bool,
    pub(super) kind: u32,
    pub(super) source: u32,
    pub(super) store: u32,
}

/// What the evaluator learned of one field of a shape, in one [`FieldContext`], when none of its
/// values added a category (numbers, booleans, text the detectors find nothing in; no
/// encryption required of it): its categories then come from its name and declaration alone,
/// so its decisions are the same in every such event.
#[derive(Debug, Clone)]
pub(super) enum FieldMemo {
    /// Not decided yet in this context.
    Unknown,
    /// No rule fired: these categories (interned, in name order) are all it gives.
    Quiet(Arc<[u32]>),
    /// Some rule fired: its findings need the event's values, so it is evaluated in full.
    Loud,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct CaptureKey {
    pub(super) store: u32,
    pub(super) in_window: bool,
    pub(super) weekday: u8,
    pub(super) hour: u8,
    /// The interned `subject_kind`, [`NO_KIND`] without one. Never the person's id.
    pub(super) kind: u32,
    pub(super) source: u32,
}

/// The interned-kind value of an event without `subject_kind`.
pub(super) const NO_KIND: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct CollectKey {
    pub(super) path: u32,
    pub(super) category: u32,
    pub(super) from_value: bool,
    pub(super) confidence: u8,
    pub(super) plaintext: bool,
    pub(super) in_window: bool,
    pub(super) kind: u32,
    pub(super) source: u32,
    pub(super) store: u32,
}

/// (role, field path, purpose, store, actor).
pub(super) type AccessKey = (String, String, String, String, String);

impl Evaluator {
    fn action(&self, act: Act) -> EntityUid {
        uid(&self.types.action, act.as_str())
    }

    /// One Cedar call; returns the rules whose policies were satisfied, with what their findings
    /// are about and show.
    pub(super) fn decide(
        &mut self,
        principal: EntityUid,
        act: Act,
        resource: EntityUid,
        context: Vec<(String, RestrictedExpression)>,
    ) -> Result<Arc<[Fire]>> {
        let ctx = Context::from_pairs(context).map_err(|e| cedar_err("context", e))?;
        let request = Request::new(principal, self.action(act), resource, ctx, Some(self.engine.rules.schema()))
            .map_err(|e| cedar_err("request", e))?;
        self.cedar_calls += 1;
        let response = self.authorizer.is_authorized(&request, self.engine.rules.policies(), &self.entities);
        let mut fires: Vec<Fire> =
            response.diagnostics().reason().filter_map(|p| self.engine.rules.fire_of(p, act)).collect();
        // Cedar skips a policy whose evaluation errors: a `forbid` that errors would allow. Each
        // error is a fire of the engine's own rule instead, cached with the decision, so every
        // request of this shape carries it, not only the first.
        for err in response.diagnostics().errors() {
            let failure = self.failure_of(err);
            fires.push(Fire {
                rule: self.engine.rules.policy_error_rule(),
                target: TargetKind::Policy,
                evidence: EvidenceKind::PolicyError,
                failure,
            });
        }
        fires.sort_unstable();
        fires.dedup();
        Ok(fires.into())
    }

    /// The index of a policy failure in [`Evaluator::policy_failure`], recorded at first sight.
    fn failure_of(&mut self, err: &AuthorizationError) -> u32 {
        let AuthorizationError::PolicyEvaluationError(pe) = err;
        let rules = &self.engine.rules;
        let meta = rules.policy_meta(pe.policy_id());
        let rule = meta.and_then(|m| rules.rule(m.rule)).map_or("(unknown rule)", |r| r.id.as_str()).to_string();
        let (file, text) = meta
            .and_then(|m| rules.sources().get(m.source))
            .map_or(("(unknown file)", ""), |(f, t)| (f.as_str(), t.as_str()));
        let (policy_line, policy_column) = meta.map_or((0, 0), |m| (m.line, m.column));
        let inner = pe.inner();
        // Where in the file the failing expression is, when Cedar says.
        let at = inner.labels().and_then(|mut l| l.next()).map(|l| l.offset());
        let (line, column) = match at {
            Some(offset) if offset < text.len() => crate::error::line_col(text, offset),
            _ => (policy_line, policy_column),
        };
        let kind = failure_kind(inner);
        let key = (rule.clone(), policy_line, kind, line, column);
        if let Some(i) = self.failure_ids.get(&key) {
            return *i;
        }
        if self.failures.len() >= MAX_FAILURES
            && let Some(i) = self.failures.iter().position(|f| f.rule == rule && f.kind == kind)
        {
            return u32::try_from(i).unwrap_or(Fire::NO_FAILURE);
        }
        let id = u32::try_from(self.failures.len()).unwrap_or(Fire::NO_FAILURE);
        self.failures.push(PolicyFailure {
            rule,
            file: file.to_string(),
            policy_line,
            policy_column,
            line,
            column,
            kind,
            message: inner.to_string(),
        });
        self.failure_ids.insert(key, id);
        id
    }
}

/// What went wrong, in words that never quote a value.
fn failure_kind(e: &EvaluationError) -> &'static str {
    match e {
        EvaluationError::EntityDoesNotExist(_) => "an entity it reads does not exist",
        EvaluationError::EntityAttrDoesNotExist(_) => "an entity attribute it reads does not exist",
        EvaluationError::RecordAttrDoesNotExist(_) => "a record attribute it reads does not exist",
        EvaluationError::FailedExtensionFunctionLookup(_) => "an extension function it calls does not exist",
        EvaluationError::TypeError(_) => "a type error",
        EvaluationError::WrongNumArguments(_) => "a call with the wrong number of arguments",
        EvaluationError::IntegerOverflow(_) => "an integer overflow",
        EvaluationError::UnlinkedSlot(_) => "an unlinked template slot",
        EvaluationError::FailedExtensionFunctionExecution(_) => "an extension function failed",
        EvaluationError::NonValue(_) => "an expression that is not a value",
        EvaluationError::RecursionLimit(_) => "expressions nested too deeply",
        #[allow(unreachable_patterns)]
        _ => "an evaluation error",
    }
}
