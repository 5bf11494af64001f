//! Probes: requests built without an event, for `scopecheck check` (the linter) to ask which
//! rules a scope makes reachable. Each probe builds the same Cedar request, with the same entities
//! and context, that [`Evaluator::evaluate`], [`Evaluator::evaluate_access`],
//! [`Evaluator::evaluate_retain`] and [`Evaluator::evaluate_inventory`] build for an observed
//! event; the tests below hold them to that.
//!
//! Stores can be given an observed state of the probe's choosing ([`Evaluator::probe_store`]), so
//! that rules about the inventory are probed whatever the inventory will say.

use super::entities::{cedar_err, rx_long, rx_str, uid};
use super::{Evaluator, capture_context};
use crate::error::Result;
use crate::rules::Fire;
use crate::scope::EncryptionLevel;
use crate::target::Act;
use crate::window::LocalTime;
use cedar_policy::RestrictedExpression;
use std::sync::Arc;

/// What an inventory could say of a store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObservedState {
    /// Observed encryption (`None`: the inventory does not say).
    pub encryption: Option<EncryptionLevel>,
    /// Observed retention.
    pub retention_days: Option<u32>,
    /// Observed region.
    pub region: Option<String>,
}

/// One `collect` request: a field, one category of its values, and the event's context.
#[derive(Debug, Clone)]
pub struct CollectProbe<'a> {
    /// The field path.
    pub path: &'a str,
    /// The category.
    pub category: &'a str,
    /// The category came from the values.
    pub from_value: bool,
    /// 0..=100, in tens.
    pub confidence: u8,
    /// A value reads as plaintext where encryption is required.
    pub plaintext: bool,
    /// Inside the capture windows.
    pub in_window: bool,
    /// The event's `subject_kind`.
    pub kind: Option<&'a str>,
    /// The event's `source`.
    pub source: &'a str,
    /// The store it went to.
    pub store: &'a str,
}

impl Evaluator {
    /// Sets the store `id` as probes see it: what the scope declares of it and, with `observed`,
    /// what an inventory says (`None`: not in the inventory). Replaces what was there.
    pub fn probe_store(&mut self, id: &str, observed: Option<&ObservedState>) -> Result<()> {
        let e = self.store_entity(id, observed)?;
        let current = std::mem::replace(&mut self.entities, cedar_policy::Entities::empty());
        self.entities =
            current.upsert_entities([e], Some(self.engine.rules.schema())).map_err(|e| cedar_err("store entity", e))?;
        self.store_entities.insert(id.to_string());
        Ok(())
    }

    /// The `capture` request of an event (as [`Evaluator::evaluate`] makes it).
    pub fn probe_capture(
        &mut self,
        store: &str,
        local: LocalTime,
        in_window: bool,
        kind: Option<&str>,
        source: &str,
    ) -> Result<Arc<[Fire]>> {
        let subject_declared = kind.is_none_or(|k| self.engine.scope.subject_declared(k));
        let store_uid = self.ensure_store(store)?;
        let context = capture_context(local, in_window, subject_declared, source, kind)?;
        self.decide(self.program.clone(), Act::Capture, store_uid, context)
    }

    /// The `collect` request of one field and category (as [`Evaluator::evaluate`] makes it).
    pub fn probe_collect(&mut self, p: &CollectProbe<'_>) -> Result<Arc<[Fire]>> {
        let subject_declared = p.kind.is_none_or(|k| self.engine.scope.subject_declared(k));
        let path_id = self.strings.intern(p.path);
        let field_uid = self.ensure_field(path_id)?;
        let store_uid = self.ensure_store(p.store)?;
        let mut context = vec![
            ("category".into(), RestrictedExpression::new_entity_uid(uid(&self.types.category, p.category))),
            ("from_value".into(), RestrictedExpression::new_bool(p.from_value)),
            ("confidence".into(), rx_long(i64::from(p.confidence))),
            ("value_plaintext".into(), RestrictedExpression::new_bool(p.plaintext)),
            ("in_window".into(), RestrictedExpression::new_bool(p.in_window)),
            ("subject_declared".into(), RestrictedExpression::new_bool(subject_declared)),
            ("source".into(), rx_str(p.source)),
            ("store".into(), RestrictedExpression::new_entity_uid(store_uid)),
        ];
        if let Some(k) = p.kind {
            context.push(("subject_kind".into(), rx_str(k)));
        }
        self.decide(self.program.clone(), Act::Collect, field_uid, context)
    }

    /// The `keep` request of a category written to a store.
    pub fn probe_keep(&mut self, store: &str, category: &str) -> Result<Arc<[Fire]>> {
        let store_uid = self.ensure_store(store)?;
        self.decide(
            self.program.clone(),
            Act::Keep,
            store_uid,
            vec![("category".into(), RestrictedExpression::new_entity_uid(uid(&self.types.category, category)))],
        )
    }

    /// The `inventory` request of a store, with the events counted and whether the inventory lists
    /// it.
    pub fn probe_inventory(&mut self, store: &str, events: i64, in_inventory: bool) -> Result<Arc<[Fire]>> {
        let store_uid = self.ensure_store(store)?;
        self.decide(
            self.program.clone(),
            Act::Inventory,
            store_uid,
            vec![
                ("events".into(), rx_long(events)),
                ("in_inventory".into(), RestrictedExpression::new_bool(in_inventory)),
            ],
        )
    }

    /// The `access` request of one field read (as [`Evaluator::evaluate_access`] makes it).
    pub fn probe_access(
        &mut self,
        role: &str,
        path: &str,
        purpose: &str,
        store: &str,
        actor: &str,
    ) -> Result<Arc<[Fire]>> {
        let role_uid = self.ensure_role(role)?;
        let store_uid = self.ensure_store(store)?;
        let path_id = self.strings.intern(path);
        let field_uid = self.ensure_field(path_id)?;
        self.decide(
            role_uid,
            Act::Access,
            field_uid,
            vec![
                ("purpose".into(), RestrictedExpression::new_entity_uid(uid(&self.types.purpose, purpose))),
                ("store".into(), RestrictedExpression::new_entity_uid(store_uid)),
                ("actor".into(), rx_str(actor)),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::Setup;
    use crate::Source;

    const SCOPE: &str = r#"program: p
subjects: [employee]
collect:
  - field: "ui.*"
    category: behavior.app_interaction
    purposes: [analytics]
    retention_days: 10
  - field: "secret"
    category: behavior
    encryption: required
never:
  - category: health
windows:
  timezone: UTC
  allow: ["Mon-Fri 09:00-17:00"]
stores:
  - id: raw
    encryption: required
    retention_days: 5
access:
  - role: analyst
    purposes: [analytics]
"#;

    const STORES: &str = "stores:\n  - id: raw\n    encryption: none\n    retention_days: 30\n";

    fn evaluator() -> Evaluator {
        let setup = Setup {
            scope: Some(Source::new("s.yaml", SCOPE)),
            stores: Some(Source::new("st.yaml", STORES)),
            ..Setup::default()
        };
        Evaluator::new(Arc::new(setup.build().unwrap())).unwrap()
    }

    fn ids(ev: &Evaluator, fires: &[Fire]) -> Vec<String> {
        fires.iter().map(|f| ev.engine().rules.rule(f.rule).unwrap().id.clone()).collect()
    }

    /// A probe decides what the evaluator decides for the event it stands for.
    #[test]
    fn probes_decide_as_events_do() {
        let line = r#"{"ts":"2026-05-16T10:00:00Z","program":"p","subject_kind":"visitor","source":"b","store":"raw","data":{"ui":{"x":"a"},"zz_other":"x1"}}"#;
        let mut ev = evaluator();
        let cap = crate::capture::parse_capture(line).unwrap();
        let out = ev.evaluate(&cap).unwrap();
        let mut want: Vec<String> = out.hits.iter().map(|h| h.rule_id.clone()).collect();
        want.sort();
        want.dedup();
        let mut probe = evaluator();
        let sat = LocalTime { weekday: 5, hour: 10, minute: 0 };
        let fires = probe.probe_capture("raw", sat, false, Some("visitor"), "b").unwrap();
        let mut got = ids(&probe, &fires);
        for (path, category) in [("ui.x", "behavior.app_interaction"), ("zz_other", "unclassified")] {
            let p = CollectProbe {
                path,
                category,
                from_value: false,
                confidence: 100,
                plaintext: false,
                in_window: false,
                kind: Some("visitor"),
                source: "b",
                store: "raw",
            };
            let fires = probe.probe_collect(&p).unwrap();
            got.extend(ids(&probe, &fires));
        }
        got.sort();
        got.dedup();
        assert_eq!(got, want);
        assert!(want.contains(&"outside-window".to_string()) && want.contains(&"undisclosed-field".to_string()));
    }

    #[test]
    fn a_probe_store_is_the_inventorys_store_when_given_the_same_state() {
        let mut ev = evaluator();
        let real = ev.evaluate_inventory("raw", 3).unwrap();
        let mut probe = evaluator();
        let state = ObservedState { encryption: Some(EncryptionLevel::None), retention_days: Some(30), region: None };
        probe.probe_store("raw", Some(&state)).unwrap();
        let got = probe.probe_inventory("raw", 3, true).unwrap();
        assert_eq!(ids(&ev, &real), ids(&probe, &got));
        assert!(ids(&probe, &got).contains(&"unencrypted-store".to_string()));
        // Another state of the same store changes the decision.
        let kept = ObservedState { encryption: Some(EncryptionLevel::AtRest), retention_days: Some(5), region: None };
        probe.probe_store("raw", Some(&kept)).unwrap();
        assert!(probe.probe_inventory("raw", 3, true).unwrap().is_empty());
        let access = probe.probe_access("analyst", "ui.x", "marketing", "raw", "").unwrap();
        assert_eq!(ids(&probe, &access), vec!["purpose-creep".to_string()]);
        let retain = probe.evaluate_retain("ui.x", "raw").unwrap();
        assert!(retain.is_empty());
    }
}
