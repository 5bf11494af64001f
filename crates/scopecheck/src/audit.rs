//! The audit: streams observed input through the evaluator and aggregates hits
//! into findings, per rule and subject (field, store, role, source).
//!
//! Memory is bounded by the number of distinct findings and shapes, not by the
//! number of records: nothing per record is kept.

use crate::error::Result;
use crate::eval::{EvalFailure, Evaluator, NO_STORE, Subject};
use crate::observe::{parse_access, parse_capture};
use crate::report::{Finding, Rejected, Report, ScopeInfo, Stats, Summary, ToolInfo};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Rejected lines listed in a report; more are counted, not listed.
pub const MAX_LISTED_REJECTIONS: usize = 1000;
/// Example locations kept per finding.
pub const MAX_EXAMPLES: usize = 3;

/// A file of input, by index.
pub type FileId = usize;

#[derive(Debug, Default)]
struct Acc {
    count: u64,
    categories: BTreeSet<String>,
    first: Option<(chrono::DateTime<chrono::FixedOffset>, String)>,
    last: Option<(chrono::DateTime<chrono::FixedOffset>, String)>,
    examples: Vec<String>,
    evidence: Vec<String>,
    details: BTreeMap<String, BTreeSet<String>>,
}

impl Acc {
    fn seen(
        &mut self,
        ts: Option<(&chrono::DateTime<chrono::FixedOffset>, &str)>,
        example: Option<&str>,
        max_evidence: usize,
        evidence: &[String],
    ) {
        self.count += 1;
        if let Some((t, raw)) = ts {
            if self.first.as_ref().is_none_or(|(f, _)| t < f) {
                self.first = Some((*t, raw.to_string()));
            }
            if self.last.as_ref().is_none_or(|(l, _)| t > l) {
                self.last = Some((*t, raw.to_string()));
            }
        }
        if let Some(ex) = example
            && self.examples.len() < MAX_EXAMPLES
            && !self.examples.iter().any(|e| e == ex)
        {
            self.examples.push(ex.to_string());
        }
        for e in evidence {
            if self.evidence.len() < max_evidence && !self.evidence.contains(e) {
                self.evidence.push(e.clone());
            }
        }
    }
}

/// Streams captures and access entries, then builds the report.
#[derive(Debug)]
pub struct Auditor {
    eval: Evaluator,
    files: Vec<String>,
    acc: HashMap<(usize, Subject), Acc>,
    store_events: BTreeMap<String, u64>,
    summary: Summary,
    rejected: Vec<Rejected>,
}

impl Auditor {
    /// A new audit with this evaluator.
    pub fn new(eval: Evaluator) -> Self {
        Auditor {
            eval,
            files: Vec::new(),
            acc: HashMap::new(),
            store_events: BTreeMap::new(),
            summary: Summary::default(),
            rejected: Vec::new(),
        }
    }

    /// Registers an input file; lines are reported against its name.
    pub fn add_file(&mut self, name: &str) -> FileId {
        self.files.push(name.to_string());
        self.files.len() - 1
    }

    fn file(&self, id: FileId) -> &str {
        self.files.get(id).map_or("<input>", String::as_str)
    }

    /// A line of input that could not even be read as text (not UTF-8, too long):
    /// counted as read and rejected.
    pub fn reject(&mut self, file: FileId, line: u64, reason: String, access: bool) {
        if access {
            self.summary.access_read += 1;
        } else {
            self.summary.records_read += 1;
        }
        self.record_rejection(file, line, reason, access);
    }

    fn record_rejection(&mut self, file: FileId, line: u64, reason: String, access: bool) {
        if access {
            self.summary.access_rejected += 1;
        } else {
            self.summary.records_rejected += 1;
        }
        if self.rejected.len() < MAX_LISTED_REJECTIONS {
            self.rejected.push(Rejected { file: self.file(file).to_string(), line, reason });
        } else {
            self.summary.rejected_not_listed += 1;
        }
    }

    /// One line of a capture file (1-based `line`). Blank lines are not records.
    /// Errors only when scopecheck itself cannot go on.
    pub fn capture_line(&mut self, file: FileId, line: u64, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Ok(());
        }
        self.summary.records_read += 1;
        let cap = match parse_capture(text) {
            Ok(c) => c,
            Err(r) => {
                self.record_rejection(file, line, r.reason, false);
                return Ok(());
            }
        };
        let outcome = match self.eval.evaluate(&cap) {
            Ok(o) => o,
            Err(EvalFailure::Rejected(r)) => {
                self.record_rejection(file, line, r.reason, false);
                return Ok(());
            }
            Err(EvalFailure::Error(e)) => return Err(e),
        };
        self.summary.records_evaluated += 1;
        if outcome.hits.is_empty() {
            *self.store_events.entry(outcome.store).or_insert(0) += 1;
            return Ok(());
        }
        let loc = format!("{}:{line}", self.file(file));
        let ts = Some((&cap.ts, cap.ts_text.as_ref()));
        let max_ev = self.eval.engine().options.max_evidence;
        for hit in outcome.hits {
            let acc = self.acc.entry((hit.rule, hit.subject)).or_default();
            acc.categories.extend(hit.categories);
            acc.seen(ts, Some(&loc), max_ev, &hit.evidence);
        }
        *self.store_events.entry(outcome.store.clone()).or_insert(0) += 1;

        Ok(())
    }

    /// One line of an access log.
    pub fn access_line(&mut self, file: FileId, line: u64, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Ok(());
        }
        self.summary.access_read += 1;
        let access = match parse_access(text) {
            Ok(a) => a,
            Err(r) => {
                self.record_rejection(file, line, r.reason, true);
                return Ok(());
            }
        };
        let hits = self.eval.evaluate_access(&access)?;
        self.summary.access_evaluated += 1;
        let loc = format!("{}:{line}", self.file(file));
        let e = &access.entry;
        let mut by_rule: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (rule, path) in hits {
            by_rule.entry(rule).or_default().push(path);
        }
        let max_ev = self.eval.engine().options.max_evidence;
        for (rule, paths) in by_rule {
            let actor = e.actor.as_deref().unwrap_or("(unknown actor)");
            let evidence = format!("{actor} read {} for {}", paths.join(", "), e.purpose);
            let acc = self.acc.entry((rule, Subject::Role(e.role.clone()))).or_default();
            acc.seen(Some((&access.ts, e.ts.as_str())), Some(&loc), max_ev, &[evidence]);
            acc.details.entry("purposes".into()).or_default().insert(e.purpose.clone());
            acc.details.entry("fields".into()).or_default().extend(paths);
            if let Some(s) = &e.store {
                acc.details.entry("stores".into()).or_default().insert(s.clone());
            }
        }
        Ok(())
    }

    fn describe_store(&self, id: &str) -> String {
        let engine = self.eval.engine();
        let decl = engine.scope.store(id);
        let obs = engine.inventory.get(id);
        let mut parts = Vec::new();
        match obs {
            Some(o) => parts.push(format!(
                "observed: encryption {}, retention {}",
                o.encryption.map_or("unknown", |e| e.as_str()),
                o.retention_days.map_or("unknown".to_string(), |d| format!("{d} days"))
            )),
            None => parts.push("not in the store inventory".to_string()),
        }
        match decl {
            Some(d) => parts.push(format!(
                "declared: encryption {}, retention {}",
                d.encryption.map_or("unspecified".to_string(), |e| format!("{:?}", e).to_lowercase()),
                d.retention_days.map_or("unspecified".to_string(), |d| format!("{d} days"))
            )),
            None => parts.push("not declared in the scope".to_string()),
        }
        if let Some(n) = self.store_events.get(id) {
            parts.push(format!("{n} captured events"));
        }
        parts.join("; ")
    }

    /// Decides stores and retention, and builds the report.
    pub fn finish(mut self) -> Result<Report> {
        let max_ev = self.eval.engine().options.max_evidence;
        // Retention of each field in each store that holds it.
        let pairs = self.eval.field_stores();
        for (path, store, events) in pairs {
            let rules = self.eval.evaluate_retain(&path, &store)?;
            for &rule in rules.iter() {
                let engine = self.eval.engine();
                let field_days = engine
                    .scope
                    .declaration_for(&path)
                    .and_then(|i| engine.scope.raw.collect.get(i))
                    .and_then(|c| c.retention_days);
                let store_days = engine.inventory.get(&store).and_then(|s| s.retention_days);
                let evidence = format!(
                    "store {store} keeps {} days; the field promises {} days",
                    store_days.map_or("?".into(), |d| d.to_string()),
                    field_days.map_or("?".into(), |d| d.to_string())
                );
                let acc = self.acc.entry((rule, Subject::Field(path.clone()))).or_default();
                acc.seen(None, None, max_ev, &[evidence]);
                acc.count += events - 1;
                acc.details.entry("stores".into()).or_default().insert(store.clone());
            }
        }
        // Each store as a whole.
        let mut stores = self.eval.known_stores();
        stores.extend(self.store_events.keys().filter(|s| s.as_str() != NO_STORE).cloned());
        for store in stores {
            let events = self.store_events.get(&store).copied().unwrap_or(0);
            let rules = self.eval.evaluate_inventory(&store, events)?;
            for &rule in rules.iter() {
                let evidence = self.describe_store(&store);
                let acc = self.acc.entry((rule, Subject::Store(store.clone()))).or_default();
                if acc.count == 0 {
                    acc.count = events.max(1);
                }
                if !acc.evidence.contains(&evidence) && acc.evidence.len() < max_ev.max(1) {
                    acc.evidence.push(evidence);
                }
            }
        }
        self.summary.stores_observed = self.eval.engine().inventory.len() as u64;
        self.build()
    }

    fn build(self) -> Result<Report> {
        let engine = self.eval.engine();
        let mut findings = Vec::with_capacity(self.acc.len());
        for ((rule, subject), acc) in self.acc {
            let Some(meta) = engine.rules.rule(rule) else { continue };
            let category = acc
                .categories
                .iter()
                .max_by_key(|c| (engine.taxonomy.sensitivity(c), std::cmp::Reverse((*c).clone())))
                .cloned();
            let (field, store, role) = match &subject {
                Subject::Field(f) => (Some(f.clone()), None, None),
                Subject::Store(s) => (None, Some(s.clone()), None),
                Subject::Role(r) => (None, None, Some(r.clone())),
                _ => (None, None, None),
            };
            findings.push(Finding {
                rule: meta.id.clone(),
                severity: meta.severity,
                title: meta.title.clone(),
                subject,
                field,
                store,
                role,
                category,
                categories: acc.categories.into_iter().collect(),
                count: acc.count,
                first_seen: acc.first.map(|(_, s)| s),
                last_seen: acc.last.map(|(_, s)| s),
                examples: acc.examples,
                evidence: acc.evidence,
                details: acc.details.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect(),
                help: meta.help.clone(),
                reference: meta.reference.clone(),
            });
        }
        findings.sort_by(|a, b| {
            b.severity.cmp(&a.severity).then_with(|| a.rule.cmp(&b.rule)).then_with(|| a.subject.cmp(&b.subject))
        });
        let mut summary = self.summary;
        summary.files = self.files;
        summary.findings = findings.len() as u64;
        for f in &findings {
            *summary.by_severity.entry(f.severity).or_insert(0) += 1;
        }
        let warnings = self
            .eval
            .policy_errors()
            .iter()
            .map(|(m, n)| format!("a policy could not be evaluated {n} time(s) and did not fire: {m}"))
            .collect();
        Ok(Report {
            tool: ToolInfo::current(),
            scope: ScopeInfo {
                program: engine.scope.raw.program.clone(),
                version: engine.scope.raw.version.clone(),
                notice: engine.scope.raw.notice.clone(),
                file: engine.scope.file.clone(),
            },
            summary,
            findings,
            rejected: self.rejected,
            warnings,
            stats: Stats { cedar_calls: self.eval.cedar_calls() },
            rules: engine.rules.rules().to_vec(),
        })
    }
}
