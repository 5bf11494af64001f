//! Baselines: a committed file of accepted findings, so that a CI gate fails on what is new.
//!
//! ```yaml
//! # scopecheck baseline: findings accepted for now, each with why, who and until when.
//! version: 1
//! accepted:
//!   - fingerprint: 7df74c91cbd150979984424c87ae4092   # the finding's identity (what counts)
//!     rule: undisclosed-field                          # for the reader; checked against the finding
//!     target: field chat.messages[].text               # for the reader
//!     categories: [content.chat]                       # the categories accepted
//!     reason: Chat capture is being removed in agent 4.2 (TICKET-118)
//!     owner: privacy-office@example.com
//!     expires: 2027-03-31
//! ```
//!
//! A finding is accepted when an entry has its fingerprint, the entry has not expired, and every
//! category of the finding is among the entry's `categories`: health data newly seen in an
//! accepted field is a new finding. Accepted findings stay in the report, marked, and do not
//! fail the gate. An expired entry fails it, naming its owner. Entries no finding used are
//! reported so the file does not rot. [`update`] writes the file anew from a report, keeping
//! what people wrote (reasons, owners, dates) for entries still in use.

use crate::error::{Error, ErrorKind, Location, Result};
use crate::report::{Finding, Report};
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The baseline file format version.
pub const BASELINE_VERSION: u32 = 1;

/// A baseline file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Format version ([`BASELINE_VERSION`]).
    pub version: u32,
    /// The accepted findings.
    #[serde(default)]
    pub accepted: Vec<Entry>,
}

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The finding's fingerprint (`fingerprint` in the JSON report).
    pub fingerprint: String,
    /// Its rule id (for people reading the file; a mismatch is an error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Its target, as `kind id` (for people reading the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The categories accepted; a finding with another category is not accepted.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Why it is accepted.
    pub reason: String,
    /// Who answers for it.
    pub owner: String,
    /// The last day it is accepted (`YYYY-MM-DD`).
    #[schemars(with = "String")]
    pub expires: NaiveDate,
}

/// How a finding stands against the baseline (in the JSON report as `baseline`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Acceptance {
    /// Why it was accepted.
    pub reason: String,
    /// Who answers for it.
    pub owner: String,
    /// The last day it is accepted.
    pub expires: String,
    /// `accepted`, `expired`, or `new_categories` (the entry does not cover all its categories).
    pub status: AcceptanceStatus,
    /// Categories of the finding the entry does not accept (with `new_categories`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub new_categories: Vec<String>,
}

/// Whether an entry accepts its finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AcceptanceStatus {
    /// Accepted: does not fail the gate.
    Accepted,
    /// The acceptance expired: fails the gate.
    Expired,
    /// The finding has categories the entry does not accept: fails the gate.
    NewCategories,
}

/// What applying a baseline found (in the JSON report as `baseline`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct BaselineSummary {
    /// The baseline file.
    pub file: String,
    /// Findings accepted.
    pub accepted: u64,
    /// Findings whose acceptance expired.
    pub expired: u64,
    /// Findings no entry accepts (new, or with new categories).
    pub new: u64,
    /// Entries no finding used: fingerprint, rule, target, owner.
    pub unused: Vec<UnusedEntry>,
}

/// An entry of the baseline that matched no finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct UnusedEntry {
    /// Its fingerprint.
    pub fingerprint: String,
    /// Its rule, if written.
    pub rule: Option<String>,
    /// Its target, if written.
    pub target: Option<String>,
    /// Its owner.
    pub owner: String,
}

/// Reads a baseline file.
pub fn parse(text: &str, file: &str) -> Result<Baseline> {
    let help = "a baseline is `version: 1` and `accepted:` entries of {fingerprint, categories, reason, owner, expires: YYYY-MM-DD}; `scopecheck audit --baseline FILE --update-baseline` writes one";
    if text.trim().is_empty() {
        return Err(Error::new(ErrorKind::Input, Location::file(file), "the baseline file is empty").with_help(help));
    }
    let b: Baseline = serde_yaml::from_str(text).map_err(|e| {
        let mut err = crate::scope::yaml_error(ErrorKind::Input, file, text, &e);
        err.help = Some(help.into());
        err
    })?;
    let at = |needle: &str, msg: String| match crate::scope::locate(text, needle) {
        Some(off) => Error::at_offset(ErrorKind::Input, file, text, off, needle.len(), msg),
        None => Error::new(ErrorKind::Input, Location::file(file), msg),
    };
    if b.version != BASELINE_VERSION {
        return Err(at(
            "version",
            format!(
                "baseline version {} is not supported (this scopecheck reads version {BASELINE_VERSION})",
                b.version
            ),
        )
        .with_help("write it anew with `--update-baseline`"));
    }
    let mut seen = BTreeSet::new();
    for e in &b.accepted {
        if e.fingerprint.len() != 32 || !e.fingerprint.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(at(
                &e.fingerprint,
                format!("`{}` is not a finding fingerprint (32 hex digits)", e.fingerprint),
            )
            .with_help("copy `fingerprint` from the JSON report, or write the file with `--update-baseline`"));
        }
        if !seen.insert(e.fingerprint.as_str()) {
            let first = crate::scope::locate(text, &e.fingerprint).unwrap_or(0);
            let second = crate::scope::locate_from(text, first + 1, &e.fingerprint);
            let msg = format!("fingerprint {} is accepted twice", e.fingerprint);
            return Err(match second {
                Some(off) => Error::at_offset(ErrorKind::Input, file, text, off, e.fingerprint.len(), msg),
                None => at(&e.fingerprint, msg),
            }
            .with_help("keep one entry per finding"));
        }
        if e.reason.trim().is_empty() || e.owner.trim().is_empty() {
            return Err(at(&e.fingerprint, format!("the entry for {} needs a `reason` and an `owner`", e.fingerprint))
                .with_help("say why the finding is accepted and who answers for it"));
        }
    }
    Ok(b)
}

fn target_text(f: &Finding) -> String {
    format!("{} {}", f.target.kind, f.target.id)
}

/// Marks the report's findings against the baseline (as of `today`) and returns the summary,
/// which is also set in the report. An entry whose `rule` names another rule than its
/// fingerprint's finding is an error: the file was edited by hand and mixed up.
pub fn apply(report: &mut Report, baseline: &Baseline, file: &str, today: NaiveDate) -> Result<BaselineSummary> {
    let mut summary = BaselineSummary { file: file.to_string(), ..BaselineSummary::default() };
    let mut used = BTreeSet::new();
    for f in &mut report.findings {
        f.baseline = None;
        f.baselined = false;
        let Some(e) = baseline.accepted.iter().find(|e| e.fingerprint == f.fingerprint) else {
            summary.new += 1;
            continue;
        };
        if let Some(rule) = e.rule.as_deref().filter(|r| *r != f.rule) {
            return Err(Error::new(
                ErrorKind::Input,
                Location::file(file),
                format!("the entry for {} says rule `{rule}`, but that finding is of `{}`", e.fingerprint, f.rule),
            )
            .with_help("correct or remove the entry; `--update-baseline` writes rule and target as they are"));
        }
        used.insert(e.fingerprint.as_str());
        let new_categories: Vec<String> = f.categories.iter().filter(|c| !e.categories.contains(c)).cloned().collect();
        let status = if e.expires < today {
            summary.expired += 1;
            AcceptanceStatus::Expired
        } else if !new_categories.is_empty() {
            summary.new += 1;
            AcceptanceStatus::NewCategories
        } else {
            summary.accepted += 1;
            AcceptanceStatus::Accepted
        };
        f.baselined = status == AcceptanceStatus::Accepted;
        f.baseline = Some(Acceptance {
            reason: e.reason.clone(),
            owner: e.owner.clone(),
            expires: e.expires.to_string(),
            status,
            new_categories,
        });
    }
    summary.unused = baseline
        .accepted
        .iter()
        .filter(|e| !used.contains(e.fingerprint.as_str()))
        .map(|e| UnusedEntry {
            fingerprint: e.fingerprint.clone(),
            rule: e.rule.clone(),
            target: e.target.clone(),
            owner: e.owner.clone(),
        })
        .collect();
    report.baseline = Some(summary.clone());
    Ok(summary)
}

/// The baseline accepting every finding of `report`: entries already in `old` keep their
/// reason, owner and expiry (their categories grow to the finding's: updating accepts what is
/// there now); new ones get `reason`, `owner` and `expires`; unused entries are dropped.
pub fn update(report: &Report, old: Option<&Baseline>, reason: &str, owner: &str, expires: NaiveDate) -> Baseline {
    let accepted = report
        .findings
        .iter()
        .map(|f| {
            let kept = old.and_then(|b| b.accepted.iter().find(|e| e.fingerprint == f.fingerprint));
            let mut categories: Vec<String> = kept.map(|e| e.categories.clone()).unwrap_or_default();
            for c in &f.categories {
                if !categories.contains(c) {
                    categories.push(c.clone());
                }
            }
            categories.sort();
            Entry {
                fingerprint: f.fingerprint.clone(),
                rule: Some(f.rule.clone()),
                target: Some(target_text(f)),
                categories,
                reason: kept.map_or_else(|| reason.to_string(), |e| e.reason.clone()),
                owner: kept.map_or_else(|| owner.to_string(), |e| e.owner.clone()),
                expires: kept.map_or(expires, |e| e.expires),
            }
        })
        .collect();
    Baseline { version: BASELINE_VERSION, accepted }
}

/// The YAML text of a baseline, with a header saying what it is.
pub fn to_yaml(b: &Baseline) -> String {
    let body = serde_yaml::to_string(b).unwrap_or_default();
    format!(
        "# scopecheck baseline: findings accepted for now, each with why, who and until when.\n\
         # A finding is matched by fingerprint; one with a category not listed here is new.\n\
         # Written by `scopecheck audit --baseline FILE --update-baseline`; edit reasons, owners and dates.\n{body}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_point_at_the_entry() {
        let e = parse(
            "version: 1\naccepted:\n  - fingerprint: xyz\n    reason: r\n    owner: o\n    expires: 2027-01-01\n",
            "b.yaml",
        )
        .unwrap_err();
        assert_eq!(e.location.line, Some(3), "{e}");
        let e = parse("version: 1\naccepted:\n  - fingerprint: 7df74c91cbd150979984424c87ae4092\n    reason: r\n    owner: o\n    expires: next week\n", "b.yaml")
            .unwrap_err();
        assert!(e.location.line.is_some(), "{e}");
        let e = parse("version: 1\naccepted:\n  - fingerprint: 7df74c91cbd150979984424c87ae4092\n    reason: r\n    ownr: o\n    expires: 2027-01-01\n", "b.yaml")
            .unwrap_err();
        assert!(e.message.contains("ownr"), "{e}");
    }
}
