//! The Cedar entities: the taxonomy and program (made once), and fields, stores and roles,
//! made when first met, with what the scope and the inventory say of them.

use super::probe::ObservedState;
use super::{Evaluator, NO_STORE, PathInfo, confidence_pct};
use crate::error::{Error, Result};
use crate::scope::EncryptionLevel;
use cedar_policy::{Entities, Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};
use std::collections::{HashMap as StdMap, HashSet as StdSet};
use std::str::FromStr;
use std::sync::Arc;

/// Type names used in requests.
#[derive(Debug, Clone)]
pub(super) struct Types {
    pub(super) program: EntityTypeName,
    pub(super) category: EntityTypeName,
    pub(super) field: EntityTypeName,
    pub(super) store: EntityTypeName,
    pub(super) role: EntityTypeName,
    pub(super) purpose: EntityTypeName,
    pub(super) action: EntityTypeName,
}

pub(super) fn type_name(s: &str) -> Result<EntityTypeName> {
    EntityTypeName::from_str(s).map_err(|e| Error::internal(format!("type name {s}: {e}")))
}

pub(super) fn uid(ty: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
}

pub(super) fn cedar_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("{what}: {e}"))
}

pub(super) fn rx_str(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_string())
}

pub(super) fn rx_long(n: i64) -> RestrictedExpression {
    RestrictedExpression::new_long(n)
}

impl Evaluator {
    fn add_entity(&mut self, e: Entity) -> Result<()> {
        let current = std::mem::replace(&mut self.entities, Entities::empty());
        self.entities =
            current.add_entities([e], Some(self.engine.rules.schema())).map_err(|e| cedar_err("adding entity", e))?;
        Ok(())
    }

    fn purposes_set(&self, purposes: &[String]) -> RestrictedExpression {
        RestrictedExpression::new_set(
            purposes.iter().map(|p| RestrictedExpression::new_entity_uid(uid(&self.types.purpose, p))),
        )
    }

    /// Makes sure the store entity exists; returns its uid.
    pub(super) fn ensure_store(&mut self, id: &str) -> Result<EntityUid> {
        let u = uid(&self.types.store, id);
        if self.store_entities.contains(id) {
            return Ok(u);
        }
        let observed = self.engine.inventory.get(id).map(|o| ObservedState {
            encryption: o.encryption,
            retention_days: o.retention_days,
            region: o.region.clone(),
        });
        let e = self.store_entity(id, observed.as_ref())?;
        self.add_entity(e)?;
        self.store_entities.insert(id.to_string());
        Ok(u)
    }

    /// The store entity `id`: what the scope declares of it and what an inventory observed
    /// (`None`: not in the inventory). One definition for audits and the linter's probes.
    pub(super) fn store_entity(&self, id: &str, observed: Option<&ObservedState>) -> Result<Entity> {
        let decl = self.engine.scope.store(id);
        let declared = decl.is_some() || id == NO_STORE;
        let level = observed.and_then(|o| o.encryption);
        let required = decl.and_then(|d| d.encryption).map(|e| e.minimum()).unwrap_or(EncryptionLevel::None);
        let mut attrs = StdMap::from([
            ("declared".to_string(), RestrictedExpression::new_bool(declared)),
            ("observed".to_string(), RestrictedExpression::new_bool(observed.is_some())),
            ("encryption_known".to_string(), RestrictedExpression::new_bool(level.is_some())),
            ("encryption".to_string(), rx_str(level.map_or("unknown", EncryptionLevel::as_str))),
            (
                "encrypted_at_rest".to_string(),
                RestrictedExpression::new_bool(level.is_some_and(|l| l >= EncryptionLevel::AtRest)),
            ),
            ("encryption_required".to_string(), RestrictedExpression::new_bool(required > EncryptionLevel::None)),
            (
                "meets_declared_encryption".to_string(),
                RestrictedExpression::new_bool(level.is_none_or(|l| l >= required)),
            ),
        ]);
        if let Some(d) = observed.and_then(|o| o.retention_days) {
            attrs.insert("retention_days".into(), rx_long(i64::from(d)));
        }
        if let Some(d) = decl.and_then(|o| o.retention_days) {
            attrs.insert("declared_retention_days".into(), rx_long(i64::from(d)));
        }
        if let Some(r) = observed.and_then(|o| o.region.as_deref()) {
            attrs.insert("region".into(), rx_str(r));
        }
        if let Some(r) = decl.and_then(|o| o.region.as_deref()) {
            attrs.insert("declared_region".into(), rx_str(r));
        }
        Entity::new(uid(&self.types.store, id), attrs, StdSet::new()).map_err(|e| cedar_err("store entity", e))
    }

    pub(super) fn ensure_role(&mut self, role: &str) -> Result<EntityUid> {
        let u = uid(&self.types.role, role);
        if self.role_entities.contains(role) {
            return Ok(u);
        }
        let decl = self.engine.scope.role(role);
        let purposes = decl.map(|d| d.purposes.clone()).unwrap_or_default();
        let attrs = StdMap::from([
            ("declared".to_string(), RestrictedExpression::new_bool(decl.is_some())),
            ("purposes".to_string(), self.purposes_set(&purposes)),
        ]);
        let e = Entity::new(u.clone(), attrs, StdSet::new()).map_err(|e| cedar_err("role entity", e))?;
        self.add_entity(e)?;
        self.role_entities.insert(role.to_string());
        Ok(u)
    }

    pub(super) fn path_info(&mut self, path_id: u32) -> Arc<PathInfo> {
        if let Some(p) = self.paths.get(&path_id) {
            return Arc::clone(p);
        }
        let path = self.strings.get(path_id).to_string();
        let engine = Arc::clone(&self.engine);
        let decl = engine.scope.declaration_for(&path);
        let collect = decl.and_then(|i| engine.scope.raw.collect.get(i));
        let encryption_required =
            collect.is_some_and(|c| c.encryption == Some(crate::scope::FieldEncryption::Required));
        let name_categories = match collect {
            // A declared field's name is what the notice says it is.
            Some(c) => vec![(self.strings.intern(&c.category), 100)],
            None => {
                let mut v: Vec<(u32, u8)> = Vec::new();
                for hit in engine.detectors.classify_name(&path) {
                    if hit.confidence >= engine.options.min_confidence && engine.taxonomy.contains(&hit.category) {
                        let id = self.strings.intern(&hit.category);
                        if !v.iter().any(|(c, _)| *c == id) {
                            v.push((id, confidence_pct(hit.confidence)));
                        }
                    }
                }
                v
            }
        };
        let info = Arc::new(PathInfo { decl, encryption_required, name_categories });
        self.paths.insert(path_id, Arc::clone(&info));
        info
    }

    pub(super) fn ensure_field(&mut self, path_id: u32) -> Result<EntityUid> {
        let path = self.strings.get(path_id).to_string();
        let u = uid(&self.types.field, &path);
        if self.field_entities.contains(&path_id) {
            return Ok(u);
        }
        let info = self.path_info(path_id);
        let engine = Arc::clone(&self.engine);
        let collect = info.decl.and_then(|i| engine.scope.raw.collect.get(i));
        let purposes = collect.map(|c| c.purposes.clone()).unwrap_or_default();
        let mut attrs = StdMap::from([
            ("path".to_string(), rx_str(&path)),
            ("declared".to_string(), RestrictedExpression::new_bool(collect.is_some())),
            ("never".to_string(), RestrictedExpression::new_bool(engine.scope.never_field(&path))),
            ("encryption_required".to_string(), RestrictedExpression::new_bool(info.encryption_required)),
            ("has_purposes".to_string(), RestrictedExpression::new_bool(!purposes.is_empty())),
            ("purposes".to_string(), self.purposes_set(&purposes)),
        ]);
        if let Some(c) = collect {
            attrs.insert(
                "declared_category".into(),
                RestrictedExpression::new_entity_uid(uid(&self.types.category, &c.category)),
            );
            attrs.insert("declared_as".into(), rx_str(&c.field));
            if let Some(d) = c.retention_days {
                attrs.insert("retention_days".into(), rx_long(i64::from(d)));
            }
        }
        let e = Entity::new(u.clone(), attrs, StdSet::new()).map_err(|e| cedar_err("field entity", e))?;
        self.add_entity(e)?;
        self.field_entities.insert(path_id);
        Ok(u)
    }
}
