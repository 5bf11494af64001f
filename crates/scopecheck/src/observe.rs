//! What was observed: captured events, the store inventory, the access log.

use crate::error::{ErrorKind, Result};
use crate::scope::{EncryptionLevel, yaml_error};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One captured event, as in a JSONL capture dump.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Envelope {
    /// RFC 3339 time with offset.
    pub ts: String,
    /// The program that captured it.
    #[serde(default)]
    pub program: Option<String>,
    /// The kind of person captured (`employee`...).
    #[serde(default)]
    pub subject: Option<String>,
    /// The capturing component.
    #[serde(default)]
    pub source: Option<String>,
    /// Where it was written.
    #[serde(default)]
    pub store: Option<String>,
    /// The payload.
    pub data: Value,
}

/// A parsed, checked event.
#[derive(Debug, Clone)]
pub struct Capture {
    /// The envelope.
    pub envelope: Envelope,
    /// Its time.
    pub ts: DateTime<FixedOffset>,
}

/// Why a line was not evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// What is wrong with the line, and how to fix it.
    pub reason: String,
}

impl Rejection {
    fn new(reason: impl Into<String>) -> Self {
        Rejection { reason: reason.into() }
    }
}

/// Largest line scopecheck evaluates (bigger lines are rejected, not truncated).
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// Parses one JSONL line into a checked capture.
pub fn parse_capture(line: &str) -> std::result::Result<Capture, Rejection> {
    if line.len() > MAX_LINE_BYTES {
        return Err(Rejection::new(format!(
            "the line is {} bytes, over the {} byte limit",
            line.len(),
            MAX_LINE_BYTES
        )));
    }
    let value: Value = serde_json::from_str(line).map_err(|e| Rejection::new(format!("not valid JSON: {e}")))?;
    capture_from_value(value)
}

/// Checks an already parsed event.
pub fn capture_from_value(value: Value) -> std::result::Result<Capture, Rejection> {
    let Value::Object(ref map) = value else {
        return Err(Rejection::new("a capture must be a JSON object with `ts` and `data`"));
    };
    for key in ["ts", "data"] {
        if !map.contains_key(key) {
            return Err(Rejection::new(format!(
                "missing `{key}`: every capture needs `ts` (RFC 3339) and `data` (an object)"
            )));
        }
    }
    let envelope: Envelope = serde_json::from_value(value).map_err(|e| Rejection::new(format!("bad envelope: {e}")))?;
    if !envelope.data.is_object() {
        return Err(Rejection::new("`data` must be a JSON object"));
    }
    let ts = DateTime::parse_from_rfc3339(&envelope.ts).map_err(|e| {
        Rejection::new(format!(
            "`ts` \"{}\" is not an RFC 3339 time with offset ({e}); write e.g. 2026-05-12T09:14:03-07:00",
            truncate(&envelope.ts, 40)
        ))
    })?;
    Ok(Capture { envelope, ts })
}

fn truncate(s: &str, n: usize) -> String {
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
    let inv: InventoryFile = serde_yaml::from_str(text).map_err(|e| {
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
    let ts = DateTime::parse_from_rfc3339(&entry.ts).map_err(|e| {
        Rejection::new(format!("`ts` \"{}\" is not an RFC 3339 time with offset ({e})", truncate(&entry.ts, 40)))
    })?;
    Ok(Access { entry, ts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_capture() {
        let c = parse_capture(r#"{"ts":"2026-05-12T09:14:03-07:00","program":"mci","data":{"a":1}}"#).unwrap();
        assert_eq!(c.envelope.program.as_deref(), Some("mci"));
    }

    #[test]
    fn rejections_say_why() {
        assert!(parse_capture("{\"ts\":").unwrap_err().reason.starts_with("not valid JSON"));
        assert!(parse_capture(r#"{"data":{}}"#).unwrap_err().reason.contains("missing `ts`"));
        assert!(parse_capture(r#"{"ts":"yesterday","data":{}}"#).unwrap_err().reason.contains("RFC 3339"));
        assert!(parse_capture(r#"{"ts":"2026-05-12T09:14:03Z","data":[1]}"#).unwrap_err().reason.contains("object"));
        assert!(parse_capture("[1,2]").unwrap_err().reason.contains("JSON object"));
    }

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
