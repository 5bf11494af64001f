//! The naive Cedar loop: what a user of Cedar would write first, with the same rule pack
//! (`policies/builtin.cedar` and its schema, from the scopecheck crate) and the same value
//! detectors, but no decision cache, no interning and no entity store kept between requests.
//!
//! Per event: one `capture` request; per field occurrence (every scalar leaf of `data`, so an
//! array of 40 keystroke intervals is 40 occurrences) and per category its name and its value
//! carry, one `collect` request; per distinct category the event wrote, one `keep` request. Each
//! request builds its entity set afresh (the taxonomy, the program, the field and the store) and
//! makes one `Authorizer::is_authorized` call.

use crate::Pair;
use cedar_policy::{
    Authorizer, Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, Request, RestrictedExpression,
};
use scopecheck::detect::{CipherAssessment, assess_ciphertext};
use scopecheck::eval::{Engine, NO_STORE, UNCLASSIFIED, confidence_pct, scannable};
use scopecheck::observe::{Capture, parse_capture};
use scopecheck::scope::{EncryptionLevel, FieldEncryption};
use scopecheck::target::{Act, TargetKind};
use scopecheck::taxonomy::Taxonomy;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

type Attrs = HashMap<String, RestrictedExpression>;

struct Types {
    program: EntityTypeName,
    category: EntityTypeName,
    field: EntityTypeName,
    store: EntityTypeName,
    action: EntityTypeName,
}

/// The naive evaluator. Holds only the engine (scope, taxonomy, detectors, rule pack).
pub struct Naive {
    engine: Arc<Engine>,
    types: Types,
    authorizer: Authorizer,
    /// Cedar calls made.
    pub calls: u64,
}

fn tn(s: &str) -> Result<EntityTypeName, String> {
    EntityTypeName::from_str(s).map_err(|e| format!("type name {s}: {e}"))
}

fn rx_str(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_string())
}

impl Naive {
    /// A naive evaluator over this engine.
    pub fn new(engine: Arc<Engine>) -> Result<Naive, String> {
        let types = Types {
            program: tn("Scopecheck::Program")?,
            category: tn("Scopecheck::Category")?,
            field: tn("Scopecheck::Field")?,
            store: tn("Scopecheck::Store")?,
            action: tn("Scopecheck::Action")?,
        };
        Ok(Naive { engine, types, authorizer: Authorizer::new(), calls: 0 })
    }

    fn uid(ty: &EntityTypeName, id: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
    }

    /// The taxonomy and the program, built anew for every request.
    fn base_entities(&self) -> Result<Vec<Entity>, String> {
        let t = &self.types;
        let mut ents = Vec::with_capacity(self.engine.taxonomy.len() + 4);
        for cat in self.engine.taxonomy.iter() {
            let parents: HashSet<EntityUid> =
                Taxonomy::parent(&cat.id).map(|p| Self::uid(&t.category, p)).into_iter().collect();
            let attrs = Attrs::from([
                ("label".to_string(), rx_str(&cat.label)),
                ("sensitivity".to_string(), RestrictedExpression::new_long(i64::from(cat.sensitivity))),
            ]);
            ents.push(Entity::new(Self::uid(&t.category, &cat.id), attrs, parents).map_err(|e| e.to_string())?);
        }
        ents.push(
            Entity::new(
                Self::uid(&t.category, UNCLASSIFIED),
                Attrs::from([
                    ("label".to_string(), rx_str("Unclassified")),
                    ("sensitivity".to_string(), RestrictedExpression::new_long(0)),
                ]),
                HashSet::new(),
            )
            .map_err(|e| e.to_string())?,
        );
        let scope = &self.engine.scope;
        let never = RestrictedExpression::new_set(
            scope.never_categories.iter().map(|c| RestrictedExpression::new_entity_uid(Self::uid(&t.category, c))),
        );
        ents.push(
            Entity::new(
                Self::uid(&t.program, &scope.raw.program),
                Attrs::from([
                    ("version".to_string(), rx_str(scope.raw.version.as_deref().unwrap_or(""))),
                    ("never_categories".to_string(), never),
                ]),
                HashSet::new(),
            )
            .map_err(|e| e.to_string())?,
        );
        Ok(ents)
    }

    /// The store entity: what the scope declares and the inventory observed.
    fn store_entity(&self, id: &str) -> Result<Entity, String> {
        let decl = self.engine.scope.store(id);
        let observed = self.engine.inventory.get(id);
        let declared = decl.is_some() || id == NO_STORE;
        let level = observed.and_then(|o| o.encryption);
        let required = decl.and_then(|d| d.encryption).map(|e| e.minimum()).unwrap_or(EncryptionLevel::None);
        let b = RestrictedExpression::new_bool;
        let mut attrs = Attrs::from([
            ("declared".to_string(), b(declared)),
            ("observed".to_string(), b(observed.is_some())),
            ("encryption_known".to_string(), b(level.is_some())),
            ("encryption".to_string(), rx_str(level.map_or("unknown", EncryptionLevel::as_str))),
            ("encrypted_at_rest".to_string(), b(level.is_some_and(|l| l >= EncryptionLevel::AtRest))),
            ("encryption_required".to_string(), b(required > EncryptionLevel::None)),
            ("meets_declared_encryption".to_string(), b(level.is_none_or(|l| l >= required))),
        ]);
        if let Some(d) = observed.and_then(|o| o.retention_days) {
            attrs.insert("retention_days".into(), RestrictedExpression::new_long(i64::from(d)));
        }
        if let Some(d) = decl.and_then(|o| o.retention_days) {
            attrs.insert("declared_retention_days".into(), RestrictedExpression::new_long(i64::from(d)));
        }
        if let Some(r) = observed.and_then(|o| o.region.as_deref()) {
            attrs.insert("region".into(), rx_str(r));
        }
        if let Some(r) = decl.and_then(|o| o.region.as_deref()) {
            attrs.insert("declared_region".into(), rx_str(r));
        }
        Entity::new(Self::uid(&self.types.store, id), attrs, HashSet::new()).map_err(|e| e.to_string())
    }

    /// The field entity: what the scope says of the path.
    fn field_entity(&self, path: &str) -> Result<Entity, String> {
        let scope = &self.engine.scope;
        let collect = scope.declaration_for(path).and_then(|i| scope.raw.collect.get(i));
        let purposes: Vec<String> = collect.map(|c| c.purposes.clone()).unwrap_or_default();
        let b = RestrictedExpression::new_bool;
        let purpose_ty = tn("Scopecheck::Purpose")?;
        let mut attrs = Attrs::from([
            ("path".to_string(), rx_str(path)),
            ("declared".to_string(), b(collect.is_some())),
            ("never".to_string(), b(scope.never_field(path))),
            (
                "encryption_required".to_string(),
                b(collect.is_some_and(|c| c.encryption == Some(FieldEncryption::Required))),
            ),
            ("has_purposes".to_string(), b(!purposes.is_empty())),
            (
                "purposes".to_string(),
                RestrictedExpression::new_set(
                    purposes.iter().map(|p| RestrictedExpression::new_entity_uid(Self::uid(&purpose_ty, p))),
                ),
            ),
        ]);
        if let Some(c) = collect {
            attrs.insert(
                "declared_category".into(),
                RestrictedExpression::new_entity_uid(Self::uid(&self.types.category, &c.category)),
            );
            attrs.insert("declared_as".into(), rx_str(&c.field));
            if let Some(d) = c.retention_days {
                attrs.insert("retention_days".into(), RestrictedExpression::new_long(i64::from(d)));
            }
        }
        Entity::new(Self::uid(&self.types.field, path), attrs, HashSet::new()).map_err(|e| e.to_string())
    }

    /// One request with a fresh entity set: the rule ids (and their finding's target kind) satisfied.
    fn ask(
        &mut self,
        act: Act,
        resource: EntityUid,
        extra: Vec<Entity>,
        context: Vec<(String, RestrictedExpression)>,
    ) -> Result<Vec<(String, TargetKind)>, String> {
        let rules = &self.engine.rules;
        let mut ents = self.base_entities()?;
        ents.extend(extra);
        let entities = Entities::from_entities(ents, Some(rules.schema())).map_err(|e| e.to_string())?;
        let ctx = Context::from_pairs(context).map_err(|e| e.to_string())?;
        let principal = Self::uid(&self.types.program, &self.engine.scope.raw.program);
        let action = Self::uid(&self.types.action, act.as_str());
        let request =
            Request::new(principal, action, resource, ctx, Some(rules.schema())).map_err(|e| e.to_string())?;
        self.calls += 1;
        let response = self.authorizer.is_authorized(&request, rules.policies(), &entities);
        if let Some(e) = response.diagnostics().errors().next() {
            return Err(format!("policy error: {e}"));
        }
        Ok(response
            .diagnostics()
            .reason()
            .filter_map(|p| rules.fire_of(p, act))
            .filter_map(|f| Some((rules.rule(f.rule)?.id.clone(), f.target)))
            .collect())
    }

    /// Decides one line; returns the (rule, target) pairs that fired, deduplicated.
    pub fn line(&mut self, line: &str) -> Result<BTreeSet<Pair>, String> {
        let cap = parse_capture(line).map_err(|r| r.reason)?;
        self.event(&cap)
    }

    /// Decides one parsed event.
    pub fn event(&mut self, cap: &Capture<'_>) -> Result<BTreeSet<Pair>, String> {
        let engine = Arc::clone(&self.engine);
        let scope = &engine.scope;
        let (local, in_window) = match &scope.windows {
            Some(w) => {
                let l = w.local(&cap.ts);
                (l, w.allows(l))
            }
            None => (scopecheck::window::local_in(&cap.ts), true),
        };
        let kind = cap.subject_kind.as_deref();
        let source = cap.source.as_deref().unwrap_or("");
        let store = cap.store.as_deref().unwrap_or(NO_STORE);
        let subject_declared = kind.is_none_or(|k| scope.subject_declared(k));
        let store_uid = Self::uid(&self.types.store, store);
        let mut out = BTreeSet::new();
        let target_id = |t: TargetKind, path: Option<&str>| -> String {
            match t {
                TargetKind::Field => path.unwrap_or("").to_string(),
                TargetKind::Store => store.to_string(),
                TargetKind::Source => source.to_string(),
                TargetKind::SubjectKind => kind.unwrap_or("").to_string(),
                _ => String::new(),
            }
        };

        // The event as a whole.
        let local_rec = RestrictedExpression::new_record([
            ("weekday".to_string(), rx_str(local.weekday_name())),
            ("hour".to_string(), RestrictedExpression::new_long(i64::from(local.hour))),
        ])
        .map_err(|e| e.to_string())?;
        let mut context = vec![
            ("in_window".to_string(), RestrictedExpression::new_bool(in_window)),
            ("local".to_string(), local_rec),
            ("subject_declared".to_string(), RestrictedExpression::new_bool(subject_declared)),
            ("source".to_string(), rx_str(source)),
        ];
        if let Some(k) = kind {
            context.push(("subject_kind".to_string(), rx_str(k)));
        }
        let extra = vec![self.store_entity(store)?];
        for (rule, t) in self.ask(Act::Capture, store_uid.clone(), extra, context)? {
            out.insert(Pair { rule, kind: t, target: target_id(t, None) });
        }

        // Each field occurrence, each category.
        let mut kept: BTreeSet<String> = BTreeSet::new();
        for (path, value) in cap.leaves() {
            let collect = scope.declaration_for(path).and_then(|i| scope.raw.collect.get(i));
            let mut cats: Vec<(String, bool, u8)> = match collect {
                Some(c) => vec![(c.category.clone(), false, 100)],
                None => engine
                    .detectors
                    .classify_name(path)
                    .into_iter()
                    .filter(|h| h.confidence >= engine.options.min_confidence && engine.taxonomy.contains(&h.category))
                    .map(|h| (h.category, false, confidence_pct(h.confidence)))
                    .collect(),
            };
            let mut plaintext = false;
            let encryption_required = collect.is_some_and(|c| c.encryption == Some(FieldEncryption::Required));
            match scannable(value) {
                Some(text) => {
                    for d in engine.detectors.scan(&text) {
                        if d.confidence < engine.options.min_confidence {
                            continue;
                        }
                        let Some(cat) = d.category else { continue };
                        if !engine.taxonomy.contains(&cat) {
                            continue;
                        }
                        match cats.iter_mut().find(|(c, _, _)| *c == cat) {
                            Some(e) => {
                                e.1 = true;
                                e.2 = e.2.max(confidence_pct(d.confidence));
                            }
                            None => cats.push((cat, true, confidence_pct(d.confidence))),
                        }
                    }
                    if encryption_required && matches!(assess_ciphertext(&text), CipherAssessment::Plaintext { .. }) {
                        plaintext = true;
                    }
                }
                None => plaintext = encryption_required,
            }
            if cats.is_empty() {
                cats.push((UNCLASSIFIED.to_string(), false, 100));
            }
            for (cat, from_value, confidence) in cats {
                let field_uid = Self::uid(&self.types.field, path);
                let mut context = vec![
                    (
                        "category".to_string(),
                        RestrictedExpression::new_entity_uid(Self::uid(&self.types.category, &cat)),
                    ),
                    ("from_value".to_string(), RestrictedExpression::new_bool(from_value)),
                    ("confidence".to_string(), RestrictedExpression::new_long(i64::from(confidence / 10 * 10))),
                    ("value_plaintext".to_string(), RestrictedExpression::new_bool(plaintext)),
                    ("in_window".to_string(), RestrictedExpression::new_bool(in_window)),
                    ("subject_declared".to_string(), RestrictedExpression::new_bool(subject_declared)),
                    ("source".to_string(), rx_str(source)),
                    ("store".to_string(), RestrictedExpression::new_entity_uid(store_uid.clone())),
                ];
                if let Some(k) = kind {
                    context.push(("subject_kind".to_string(), rx_str(k)));
                }
                let extra = vec![self.field_entity(path)?, self.store_entity(store)?];
                for (rule, t) in self.ask(Act::Collect, field_uid, extra, context)? {
                    out.insert(Pair { rule, kind: t, target: target_id(t, Some(path)) });
                }
                if cat != UNCLASSIFIED {
                    kept.insert(cat);
                }
            }
        }

        // What the event wrote to its store, per category.
        for cat in kept {
            let context = vec![(
                "category".to_string(),
                RestrictedExpression::new_entity_uid(Self::uid(&self.types.category, &cat)),
            )];
            let extra = vec![self.store_entity(store)?];
            for (rule, t) in self.ask(Act::Keep, store_uid.clone(), extra, context)? {
                out.insert(Pair { rule, kind: t, target: target_id(t, None) });
            }
        }
        Ok(out)
    }
}
