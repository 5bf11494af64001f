//! The plugin ABI's JSON types, shared by the plugin (`wasm/plugin`) and its hosts
//! (`crates/scopecheck-host`, the Python and Node hosts read the same JSON).

use crate::decide::{DecideError, DecideOptions, Mode};
use crate::rules::Severity;
use serde::{Deserialize, Serialize};

/// The ABI version. Bumped on any incompatible change to the exports or the JSON they exchange.
/// 2: findings name their `target` (`{"kind", "id"}`) instead of `subject_kind`/`subject`, and
/// events carry the person in `subject` and its kind in `subject_kind`.
pub const ABI_VERSION: u32 = 2;

/// What was loaded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadedInfo {
    /// The bundle's payload digest (sha256, hex).
    pub digest: String,
    /// The scopecheck version that wrote it.
    pub scopecheck_version: String,
    /// The program the scope is for.
    pub program: String,
}

/// Reply of `scopecheck_load` and `scopecheck_configure`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reply {
    /// It worked.
    pub ok: bool,
    /// The ABI version.
    pub abi: u32,
    /// The bundle in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<LoadedInfo>,
    /// The options in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<OptionsReply>,
    /// What went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<DecideError>,
}

/// Options, as exchanged by `scopecheck_configure`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionsReply {
    /// `enforce` or `monitor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// The least severity acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act_on: Option<Severity>,
    /// Largest event decided (bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_event_bytes: Option<usize>,
}

impl OptionsReply {
    /// The options in force.
    pub fn of(o: DecideOptions) -> Self {
        OptionsReply { mode: Some(o.mode), act_on: Some(o.act_on), max_event_bytes: Some(o.max_event_bytes) }
    }
}
