//! What a finding is about (its *target*), and what Cedar was asked (the *action*).
//!
//! A rule's policies say, in their own annotations, what their findings are about
//! (`@target`) and what evidence they show (`@evidence`); nothing in Rust names a rule id.
//! Each action has a default for both, so a plain `forbid` works without them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What Cedar is asked about (the actions of `policies/scopecheck.cedarschema`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Act {
    /// Once per captured event (resource: its store).
    Capture,
    /// Once per observed field of an event and category of its values.
    Collect,
    /// Once per store and category of what an event wrote there.
    Keep,
    /// Once per field and the store that holds it.
    Retain,
    /// Once per store known anywhere.
    Inventory,
    /// Once per field read in an access-log entry.
    Access,
}

impl Act {
    /// Every action.
    pub const ALL: [Act; 6] = [Act::Capture, Act::Collect, Act::Keep, Act::Retain, Act::Inventory, Act::Access];

    /// The action's id in the Cedar schema.
    pub fn as_str(self) -> &'static str {
        match self {
            Act::Capture => "capture",
            Act::Collect => "collect",
            Act::Keep => "keep",
            Act::Retain => "retain",
            Act::Inventory => "inventory",
            Act::Access => "access",
        }
    }

    /// The action named `s` (its Cedar id).
    pub fn from_id(s: &str) -> Option<Act> {
        Act::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// What a finding of this action is about when its policy does not say.
    pub fn default_target(self) -> TargetKind {
        match self {
            Act::Collect | Act::Retain => TargetKind::Field,
            Act::Capture | Act::Keep | Act::Inventory => TargetKind::Store,
            Act::Access => TargetKind::Role,
        }
    }

    /// The evidence a finding of this action shows when its policy does not say.
    pub fn default_evidence(self) -> EvidenceKind {
        match self {
            Act::Collect => EvidenceKind::Values,
            Act::Capture => EvidenceKind::None,
            Act::Keep => EvidenceKind::KeptCategories,
            Act::Retain => EvidenceKind::Retention,
            Act::Inventory => EvidenceKind::StoreState,
            Act::Access => EvidenceKind::Access,
        }
    }

    /// The targets a request of this action can name.
    pub fn targets(self) -> &'static [TargetKind] {
        use TargetKind as T;
        match self {
            Act::Capture => &[T::Store, T::Source, T::SubjectKind],
            Act::Collect => &[T::Field, T::Store, T::Source, T::SubjectKind],
            Act::Keep | Act::Inventory => &[T::Store],
            Act::Retain => &[T::Field, T::Store],
            Act::Access => &[T::Role, T::Field, T::Store],
        }
    }

    /// The evidence a request of this action can show.
    pub fn evidence(self) -> &'static [EvidenceKind] {
        use EvidenceKind as E;
        match self {
            Act::Capture => &[E::None, E::LocalTime, E::SubjectKind],
            Act::Collect => &[E::None, E::Values, E::Plaintext, E::LocalTime, E::SubjectKind],
            Act::Keep => &[E::None, E::KeptCategories],
            Act::Retain => &[E::None, E::Retention],
            Act::Inventory => &[E::None, E::StoreState],
            Act::Access => &[E::None, E::Access],
        }
    }
}

/// The kind of thing a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A field path of the captures' `data` (`chat.messages[].text`).
    Field,
    /// A store (declared, in the inventory, or named by events).
    Store,
    /// An access-log role.
    Role,
    /// The capturing component (`source` of the envelope).
    Source,
    /// A kind of person (`subject_kind` of the envelope).
    SubjectKind,
    /// A policy that could not be evaluated (the engine's own `policy-error` rule; no user
    /// policy can name it).
    Policy,
}

impl TargetKind {
    /// Every kind.
    pub const ALL: [TargetKind; 6] = [
        TargetKind::Field,
        TargetKind::Store,
        TargetKind::Role,
        TargetKind::Source,
        TargetKind::SubjectKind,
        TargetKind::Policy,
    ];

    /// `field`, `store`, `role`, `source`, `subject_kind`, `policy`.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Field => "field",
            TargetKind::Store => "store",
            TargetKind::Role => "role",
            TargetKind::Source => "source",
            TargetKind::SubjectKind => "subject_kind",
            TargetKind::Policy => "policy",
        }
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for TargetKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        TargetKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a target; use {}", TargetKind::ALL.map(TargetKind::as_str).join(", ")))
    }
}

/// The evidence a finding shows (always redacted unless `--show-evidence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// Nothing beyond the target.
    None,
    /// What the detectors found in the field's values (or a description of the value).
    Values,
    /// Why a value reads as plaintext, not ciphertext.
    Plaintext,
    /// The capture's local time in the scope's time zone.
    LocalTime,
    /// The event's `subject_kind`.
    SubjectKind,
    /// The categories an event wrote to the store, and the fields that held them.
    KeptCategories,
    /// The store as observed and as declared.
    StoreState,
    /// How long the store keeps the field, and how long the field promises.
    Retention,
    /// Who read which fields for what purpose.
    Access,
    /// Why a policy could not be evaluated (the engine's own `policy-error` rule).
    PolicyError,
}

impl EvidenceKind {
    /// Every kind.
    pub const ALL: [EvidenceKind; 10] = [
        EvidenceKind::None,
        EvidenceKind::Values,
        EvidenceKind::Plaintext,
        EvidenceKind::LocalTime,
        EvidenceKind::SubjectKind,
        EvidenceKind::KeptCategories,
        EvidenceKind::StoreState,
        EvidenceKind::Retention,
        EvidenceKind::Access,
        EvidenceKind::PolicyError,
    ];

    /// The annotation's value.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::None => "none",
            EvidenceKind::Values => "values",
            EvidenceKind::Plaintext => "plaintext",
            EvidenceKind::LocalTime => "local_time",
            EvidenceKind::SubjectKind => "subject_kind",
            EvidenceKind::KeptCategories => "kept_categories",
            EvidenceKind::StoreState => "store_state",
            EvidenceKind::Retention => "retention",
            EvidenceKind::Access => "access",
            EvidenceKind::PolicyError => "policy_error",
        }
    }
}

impl FromStr for EvidenceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        EvidenceKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            format!("`{s}` is not an evidence kind; use {}", EvidenceKind::ALL.map(EvidenceKind::as_str).join(", "))
        })
    }
}

/// What a finding is about: `{"kind": "field", "id": "chat.messages[].text"}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Target {
    /// What kind of thing.
    pub kind: TargetKind,
    /// Its id: the field path, store id, role, source or subject kind; for a policy, its rule id
    /// and where it is written (`my-rule (mine.cedar:7:1)`).
    pub id: String,
}

impl Target {
    /// A target.
    pub fn new(kind: TargetKind, id: impl Into<String>) -> Self {
        Target { kind, id: id.into() }
    }

    /// A field path.
    pub fn field(id: impl Into<String>) -> Self {
        Target::new(TargetKind::Field, id)
    }

    /// A store.
    pub fn store(id: impl Into<String>) -> Self {
        Target::new(TargetKind::Store, id)
    }

    /// A role.
    pub fn role(id: impl Into<String>) -> Self {
        Target::new(TargetKind::Role, id)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.id)
    }
}
