//! What was observed: captured events, the store inventory, the access log.

use crate::error::{Error, ErrorKind, Location, Result};
use crate::scope::{EncryptionLevel, yaml_error};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

pub use crate::capture::{Capture, MAX_LINE_BYTES, Scalar, fast_path_reads, parse_capture, parse_capture_reference};

/// Why a line was not evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// What is wrong with the line, and how to fix it.
    pub reason: String,
}

impl Rejection {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        Rejection { reason: reason.into() }
    }
}

/// At most `n` characters of `s`, with `…` when cut (for messages and raw evidence).
pub(crate) fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n).collect::<String>()) }
}

/// An observed store.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ObservedStore {
    /// As named in captures.
    pub id: String,
    /// Observed encryption.
    #[serde(default)]
    pub encryption: Option<EncryptionLevel>,
    /// Observed retention.
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// Observed region.
    #[serde(default)]
    pub region: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InventoryFile {
    stores: Vec<ObservedStore>,
}

/// Parses a store inventory (YAML or JSON): `stores: [{id, encryption, retention_days, region}]`.
pub fn parse_inventory(text: &str, file: &str) -> Result<Vec<ObservedStore>> {
    if text.trim().is_empty() {
        return Err(Error::new(ErrorKind::Stores, Location::file(file), "the store inventory is empty").with_help(
            "a store inventory is `stores: [{id, encryption, retention_days, region}]`; leave out --stores if there is none",
        ));
    }
    let inv: InventoryFile = serde_yaml::from_str(text).map_err(|e| {
        if let Some(wrong) = crate::scope::wrong_document(ErrorKind::Stores, file, text, &["stores"], "a store inventory")
        {
            return wrong;
        }
        let mut err = yaml_error(ErrorKind::Stores, file, text, &e);
        if err.help.is_none() {
            err.help = Some("a store inventory is `stores: [{id, encryption: none|in_transit|at_rest|client_side|end_to_end, retention_days, region}]`".into());
        }
        err
    })?;
    Ok(inv.stores)
}

/// One line of an access log.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccessEntry {
    /// When.
    pub ts: String,
    /// Who (an account id).
    #[serde(default)]
    pub actor: Option<String>,
    /// In what role.
    pub role: String,
    /// Which store.
    #[serde(default)]
    pub store: Option<String>,
    /// Which fields (paths into captures' `data`).
    #[serde(default)]
    pub fields: Vec<String>,
    /// For what.
    pub purpose: String,
}

/// A parsed access entry with its time.
#[derive(Debug, Clone)]
pub struct Access {
    /// The entry.
    pub entry: AccessEntry,
    /// Its time.
    pub ts: DateTime<FixedOffset>,
}

/// Parses one access-log line.
pub fn parse_access(line: &str) -> std::result::Result<Access, Rejection> {
    let entry: AccessEntry = serde_json::from_str(line).map_err(|e| {
        Rejection::new(format!(
            "not an access entry ({e}); write {{\"ts\", \"actor\", \"role\", \"store\", \"fields\": [...], \"purpose\"}}"
        ))
    })?;
    let ts = crate::capture::parse_ts(&entry.ts)?;
    // A field names a path into captures' `data`, which is never deeper than MAX_DEPTH: a deeper
    // one names nothing, and only costs time to match against the scope's patterns.
    if let Some(f) = entry.fields.iter().find(|f| f.split('.').count() > crate::pattern::MAX_DEPTH) {
        return Err(Rejection::new(format!(
            "field \"{}\" is {} levels deep; no capture path is deeper than {}",
            clip(f, 40),
            f.split('.').count(),
            crate::pattern::MAX_DEPTH
        )));
    }
    Ok(Access { entry, ts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_typos_are_errors() {
        let e = parse_inventory("stores:\n  - id: a\n    retension_days: 3\n", "st.yaml").unwrap_err();
        assert!(e.to_string().starts_with("st.yaml:3:"), "{e}");
        assert!(e.help.unwrap().contains("retention_days"));
        let e = parse_inventory("stores:\n  - id: a\n    encryption: plain\n", "st.yaml").unwrap_err();
        assert!(e.message.contains("unknown value `plain`"), "{e}");
    }

    #[test]
    fn inventory_reads_json_too() {
        let s = parse_inventory(r#"{"stores":[{"id":"a","encryption":"at_rest","retention_days":30}]}"#, "st.json")
            .unwrap();
        assert_eq!(s[0].encryption, Some(EncryptionLevel::AtRest));
    }
}
