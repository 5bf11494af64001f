//! Hit building: naming a finding's target and writing its evidence (redacted unless asked).

use super::Hit;
use crate::detect::{Detection, redact};
use crate::observe::{Scalar, clip};
use crate::people::Pseudonymizer;
use crate::target::{EvidenceKind, Target, TargetKind};
use crate::window::LocalTime;

/// What an event says of itself, for naming targets and writing evidence.
pub(super) struct EventFacts<'e> {
    pub(super) kind: Option<&'e str>,
    pub(super) source: &'e str,
    pub(super) store: &'e str,
    pub(super) local: LocalTime,
    pub(super) subject_declared: bool,
}

impl EventFacts<'_> {
    /// The target of a finding on this event (`field`: the field's path, for `collect`).
    pub(super) fn target(&self, kind: TargetKind, field: Option<&str>) -> Target {
        let id = match kind {
            TargetKind::Field => field.unwrap_or("*").to_string(),
            TargetKind::Store => self.store.to_string(),
            TargetKind::Source if self.source.is_empty() => "(no source)".to_string(),
            TargetKind::Source => self.source.to_string(),
            TargetKind::SubjectKind => self.kind.unwrap_or("(no subject_kind)").to_string(),
            // Not a target of captures (rule loading refuses it).
            TargetKind::Role => "(no role)".to_string(),
            // Named by the evaluator from the failure itself (`Evaluator::failure_parts`).
            TargetKind::Policy => "(unknown policy)".to_string(),
        };
        Target::new(kind, id)
    }

    /// Evidence about the event as a whole.
    pub(super) fn evidence(&self, kind: EvidenceKind) -> Option<String> {
        match kind {
            EvidenceKind::LocalTime => Some(format!(
                "captured {} {:02}:{:02} local time",
                self.local.weekday_name(),
                self.local.hour,
                self.local.minute
            )),
            EvidenceKind::SubjectKind => Some(match self.kind {
                Some(k) if self.subject_declared => format!("subject kind \"{k}\""),
                Some(k) => format!("subject kind \"{k}\", not under `subjects:`"),
                None => "no subject_kind".to_string(),
            }),
            _ => None,
        }
    }
}

/// One hit per (rule, target): categories and evidence merged.
pub(super) fn merge_hits(hits: Vec<Hit>, max_evidence: usize) -> Vec<Hit> {
    let mut out: Vec<Hit> = Vec::with_capacity(hits.len());
    for h in hits {
        match out.iter_mut().find(|o| o.rule == h.rule && o.target == h.target) {
            Some(o) => {
                for c in h.categories {
                    if !o.categories.contains(&c) {
                        o.categories.push(c);
                    }
                }
                o.categories.sort();
                for e in h.evidence {
                    if o.evidence.len() < max_evidence && !o.evidence.contains(&e) {
                        o.evidence.push(e);
                    }
                }
            }
            None => out.push(h),
        }
    }
    out
}

pub(super) fn evidence_of(d: &Detection, text: &str, show: bool, tags: Option<&Pseudonymizer>) -> String {
    let raw = text.get(d.start..d.end).unwrap_or("");
    if show {
        format!("{}: {}", d.entity, clip(raw, 120))
    } else if let Some(t) = tags {
        format!("{} {}", redact(d, text), t.value_tag(raw))
    } else {
        redact(d, text)
    }
}

/// How a value is shown when nothing was detected in it.
pub(super) fn describe_value(v: &Scalar<'_>, show: bool) -> String {
    match v {
        Scalar::Str(s) if show => clip(s, 120),
        Scalar::Str(s) => format!("<text, {} chars>", s.chars().count()),
        Scalar::Number(n) if show => n.to_string(),
        Scalar::Number(_) => "<number>".into(),
        Scalar::Bool(b) if show => b.to_string(),
        Scalar::Bool(_) => "<boolean>".into(),
    }
}
