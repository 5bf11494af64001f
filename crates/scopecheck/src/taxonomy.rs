//! The category taxonomy: a tree of dotted ids (`behavior.input.keystroke_timing`),
//! shipped as data in `policies/taxonomy.yaml`. A scope naming a parent covers its children.

use crate::error::{Error, ErrorKind, Location, Result, did_you_mean};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The taxonomy shipped with scopecheck.
pub const BUILTIN_TAXONOMY: &str = include_str!("../../../policies/taxonomy.yaml");

/// The top-level nodes every taxonomy must have (a public contract).
pub const TOP_LEVEL: [&str; 10] = [
    "behavior",
    "content",
    "contact",
    "government_id",
    "financial",
    "health",
    "credentials",
    "biometric",
    "location",
    "employment",
];

/// Sensitivity at or above which a category counts as sensitive.
pub const SENSITIVE: u8 = 3;

/// One node of the taxonomy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Dotted id, e.g. `content.transcript`.
    pub id: String,
    /// Human label.
    pub label: String,
    /// 0 none, 1 low (telemetry), 2 personal, 3 sensitive, 4 special category.
    pub sensitivity: u8,
    /// Nearest fideslang data category key.
    #[serde(default)]
    pub fideslang: Option<String>,
    /// What belongs here.
    #[serde(default)]
    pub description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaxonomyFile {
    categories: Vec<Category>,
}

/// The whole tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Taxonomy {
    nodes: BTreeMap<String, Category>,
}

impl Taxonomy {
    /// The taxonomy shipped with scopecheck.
    pub fn builtin() -> Result<Self> {
        Self::from_yaml(BUILTIN_TAXONOMY, "<builtin>/policies/taxonomy.yaml")
    }

    /// Parse a taxonomy file.
    pub fn from_yaml(text: &str, file: &str) -> Result<Self> {
        let parsed: TaxonomyFile =
            serde_yaml::from_str(text).map_err(|e| crate::scope::yaml_error(ErrorKind::Taxonomy, file, text, &e))?;
        let mut nodes = BTreeMap::new();
        for cat in parsed.categories {
            if cat.sensitivity > 4 {
                return Err(Error::new(
                    ErrorKind::Taxonomy,
                    Location::file(file),
                    format!("category `{}` has sensitivity {}", cat.id, cat.sensitivity),
                )
                .with_help("sensitivity is 0 (none) to 4 (special category)"));
            }
            if nodes.insert(cat.id.clone(), cat).is_some() {
                return Err(Error::new(ErrorKind::Taxonomy, Location::file(file), "duplicate category id"));
            }
        }
        for id in nodes.keys() {
            if let Some((parent, _)) = id.rsplit_once('.')
                && !nodes.contains_key(parent)
            {
                return Err(Error::new(
                    ErrorKind::Taxonomy,
                    Location::file(file),
                    format!("category `{id}` has no parent `{parent}`"),
                )
                .with_help("list every parent node too"));
            }
        }
        for top in TOP_LEVEL {
            if !nodes.contains_key(top) {
                return Err(Error::new(
                    ErrorKind::Taxonomy,
                    Location::file(file),
                    format!("the top-level category `{top}` is missing"),
                ));
            }
        }
        Ok(Taxonomy { nodes })
    }

    /// A node by id.
    pub fn get(&self, id: &str) -> Option<&Category> {
        self.nodes.get(id)
    }

    /// Is `id` a node?
    pub fn contains(&self, id: &str) -> bool {
        self.nodes.contains_key(id)
    }

    /// All nodes, parents before children.
    pub fn iter(&self) -> impl Iterator<Item = &Category> {
        self.nodes.values()
    }

    /// The parent id of a node.
    pub fn parent(id: &str) -> Option<&str> {
        id.rsplit_once('.').map(|(p, _)| p)
    }

    /// Is `id` equal to or below `ancestor`?
    pub fn is_within(id: &str, ancestor: &str) -> bool {
        id == ancestor
            || (id.len() > ancestor.len()
                && id.starts_with(ancestor)
                && id.as_bytes().get(ancestor.len()) == Some(&b'.'))
    }

    /// Sensitivity of a node (0 for unknown ids).
    pub fn sensitivity(&self, id: &str) -> u8 {
        self.nodes.get(id).map_or(0, |c| c.sensitivity)
    }

    /// The closest id to a misspelt one.
    pub fn suggest(&self, id: &str) -> Option<&str> {
        did_you_mean(id, self.nodes.keys().map(String::as_str))
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Never true for a valid taxonomy.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_loads_and_has_the_contract_nodes() {
        let t = Taxonomy::builtin().unwrap();
        for top in TOP_LEVEL {
            assert!(t.contains(top), "{top}");
        }
        for id in [
            "behavior.input.keystroke_timing",
            "behavior.input.pointer",
            "behavior.app_interaction",
            "content.screen_text",
            "content.transcript",
            "content.chat",
            "content.email",
            "employment.performance",
        ] {
            assert!(t.contains(id), "{id}");
        }
    }

    #[test]
    fn every_node_maps_to_fideslang() {
        let t = Taxonomy::builtin().unwrap();
        for c in t.iter() {
            assert!(
                c.fideslang.as_deref().is_some_and(|k| k.starts_with("user") || k.starts_with("system")),
                "{}",
                c.id
            );
        }
    }

    #[test]
    fn within_respects_segments() {
        assert!(Taxonomy::is_within("content.chat", "content"));
        assert!(Taxonomy::is_within("content", "content"));
        assert!(!Taxonomy::is_within("contentx", "content"));
        assert!(!Taxonomy::is_within("content", "content.chat"));
    }
}
