//! Decision caching: the keys a decision is cached under (never the person's id), and the one
//! Cedar call everything goes through.

use super::Evaluator;
use super::entities::{cedar_err, uid};
use crate::error::Result;
use crate::rules::Fire;
use crate::target::Act;
use cedar_policy::{Context, EntityUid, Request, RestrictedExpression};
use std::sync::Arc;

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
        for err in response.diagnostics().errors() {
            *self.policy_errors.entry(err.to_string()).or_insert(0) += 1;
        }
        let mut fires: Vec<Fire> =
            response.diagnostics().reason().filter_map(|p| self.engine.rules.fire_of(p, act)).collect();
        fires.sort_unstable();
        fires.dedup();
        Ok(fires.into())
    }
}
