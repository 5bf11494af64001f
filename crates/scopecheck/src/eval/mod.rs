//! Evaluation: turns what was observed into Cedar requests and satisfied
//! policies into rule hits.
//!
//! Speed comes from deciding each distinct *shape* once: a field's path, one
//! category of its values, and the context that policies can see. Thousands of
//! records with the same shape cost one Cedar call. Value classification (the
//! detectors) runs on every value; that is the part that scales with input size.

use crate::detect::{CipherAssessment, Detection, Detectors, assess_ciphertext};
use crate::error::{Error, Result};
use crate::observe::{Capture, ObservedStore, Rejection, Scalar, clip};
use crate::rules::{Fire, RulePack};
use crate::scope::CompiledScope;
use crate::target::{Act, EvidenceKind, Target, TargetKind};
use crate::taxonomy::Taxonomy;
use crate::window::LocalTime;

mod cache;
mod entities;
mod hits;
pub mod probe;
mod shape;

use cache::{AccessKey, CaptureKey, CollectKey, FieldContext, FieldMemo, NO_KIND};
use cedar_policy::{Authorizer, Entities, Entity, EntityUid, RestrictedExpression};
use entities::{Types, cedar_err, rx_long, rx_str, type_name, uid};
use hits::{EventFacts, describe_value, evidence_of, merge_hits};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::Serialize;
use shape::ShapeEntry;
use std::collections::{BTreeMap, BTreeSet, HashMap as StdMap, HashSet as StdSet};
use std::sync::Arc;

/// The pseudo-category of a field nothing could classify.
pub const UNCLASSIFIED: &str = "unclassified";
/// The pseudo-store of events that name none.
pub const NO_STORE: &str = "-";

/// Options that change what is reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Detections and name hits below this confidence are ignored.
    pub min_confidence: f32,
    /// Put raw evidence in reports instead of redacted evidence.
    pub show_evidence: bool,
    /// Evidence samples kept per finding.
    pub max_evidence: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { min_confidence: 0.5, show_evidence: false, max_evidence: 3 }
    }
}

/// Everything a decision needs that does not change while running. A clone shares the compiled
/// patterns but has its own regex scratch space: give each thread its own clone (a regex's
/// scratch space is taken under a lock when several threads share it).
#[derive(Debug, Clone)]
pub struct Engine {
    /// The declared scope.
    pub scope: CompiledScope,
    /// The taxonomy.
    pub taxonomy: Taxonomy,
    /// Value and name detectors.
    pub detectors: Detectors,
    /// Rules in force.
    pub rules: RulePack,
    /// The observed store inventory, by id.
    pub inventory: BTreeMap<String, ObservedStore>,
    /// Options.
    pub options: Options,
    /// The digests of the files it was built from (scope, inventory, the user's rules and
    /// detectors), for reports' provenance.
    pub inputs: Vec<crate::report::InputDigest>,
    /// sha256 of the rules in force ([`RulePack::digest`]).
    pub rules_sha256: String,
    /// With a key (`--pseudonym-key`), redacted evidence carries a keyed tag of each value, so
    /// repeats of one value can be told apart from different values without showing either.
    pub value_tags: Option<crate::people::Pseudonymizer>,
}

impl Engine {
    /// Assembles an engine.
    pub fn new(
        scope: CompiledScope,
        taxonomy: Taxonomy,
        detectors: Detectors,
        rules: RulePack,
        inventory: Vec<ObservedStore>,
        options: Options,
    ) -> Self {
        Engine {
            scope,
            taxonomy,
            detectors,
            rules,
            inventory: inventory.into_iter().map(|s| (s.id.clone(), s)).collect(),
            options,
            inputs: Vec::new(),
            rules_sha256: String::new(),
            value_tags: None,
        }
    }
}

/// One rule satisfied by one event (or store, or access entry).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// Index into the rule pack.
    #[serde(skip)]
    pub rule: usize,
    /// Rule id.
    pub rule_id: String,
    /// What it is about.
    pub target: Target,
    /// Categories involved.
    pub categories: Vec<String>,
    /// Evidence (redacted unless asked otherwise).
    pub evidence: Vec<String>,
}

/// What one field of one event was found to hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldObservation {
    /// Normalized path.
    pub path: String,
    /// Covered by a `collect` entry.
    pub declared: bool,
    /// Categories (name, declaration and values).
    pub categories: Vec<String>,
}

/// The result of evaluating one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventOutcome {
    /// Rules satisfied.
    pub hits: Vec<Hit>,
    /// Fields seen (only with [`Evaluator::set_field_observations`]).
    pub fields: Vec<FieldObservation>,
    /// The store it went to.
    pub store: String,
    /// Inside the capture windows.
    pub in_window: bool,
    /// Local time in the windows' zone (or the event's own offset).
    #[serde(skip)]
    pub local: LocalTime,
}

/// A policy that could not be evaluated, as an evaluator first met the error. Its findings are of
/// the engine's own rule `policy-error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFailure {
    /// The rule id of the failing policy.
    pub rule: String,
    /// The file it is written in.
    pub file: String,
    /// Line of its `forbid`.
    pub policy_line: usize,
    /// Column of its `forbid`.
    pub policy_column: usize,
    /// Line of the failing expression (else of the policy).
    pub line: usize,
    /// Column of the failing expression (else of the policy).
    pub column: usize,
    /// What went wrong, in words that quote no value.
    pub kind: &'static str,
    /// Cedar's message (may quote values of the request: shown only with `--show-evidence`).
    pub message: String,
}

impl PolicyFailure {
    /// What the finding is about: the policy, by rule id and place.
    pub fn target(&self) -> Target {
        Target::new(
            TargetKind::Policy,
            format!("{} ({}:{}:{})", self.rule, self.file, self.policy_line, self.policy_column),
        )
    }

    /// The evidence: what went wrong and where; Cedar's own words only when `show` is set.
    pub fn evidence(&self, show: bool) -> String {
        let mut e = format!(
            "{} at {}:{}:{}; the policy did not decide, so the request counts as a violation",
            self.kind, self.file, self.line, self.column
        );
        if show {
            e.push_str(": ");
            e.push_str(&clip(&self.message, 240));
        }
        e
    }
}

/// A field as events wrote it to a store: decided (`retain`) when first met.
#[derive(Debug, Clone)]
struct FieldStore {
    events: u64,
    fires: Arc<[Fire]>,
    /// The people of those events, counted only where a rule fired.
    people: Option<crate::people::People>,
}

/// A field kept in a store, with the rules its retention satisfies ([`Evaluator::kept_fields`]).
#[derive(Debug, Clone)]
pub struct KeptField {
    /// The field path.
    pub path: String,
    /// The store.
    pub store: String,
    /// Events that wrote it there.
    pub events: u64,
    /// Rules satisfied.
    pub fires: Arc<[Fire]>,
    /// The people of those events (when a rule fired).
    pub people: Option<crate::people::People>,
}

/// Interns strings to small ids.
#[derive(Debug, Default)]
struct Interner {
    /// The ids, by the hash of their text. Texts are compared inline ([`crate::bytes::eq`]):
    /// interning runs a few times per event.
    ids: hashbrown::HashTable<u32>,
    strs: Vec<Box<str>>,
}

fn text_hash(s: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(s)
}

impl Interner {
    fn intern(&mut self, s: &str) -> u32 {
        let Interner { ids, strs } = self;
        let hash = text_hash(s);
        let same = |id: &u32| strs.get(*id as usize).is_some_and(|t| crate::bytes::str_eq(t, s));
        if let Some(id) = ids.find(hash, same) {
            return *id;
        }
        let id = u32::try_from(strs.len()).unwrap_or(u32::MAX);
        strs.push(s.into());
        ids.insert_unique(hash, id, |id| text_hash(strs.get(*id as usize).map_or("", |t| t)));
        id
    }

    fn get(&self, id: u32) -> &str {
        self.strs.get(id as usize).map_or("", |s| s)
    }
}

/// Per-path facts derived from the scope and the name.
#[derive(Debug, Clone)]
struct PathInfo {
    decl: Option<usize>,
    encryption_required: bool,
    /// Categories from the field's name (undeclared fields) or its declaration.
    name_categories: Vec<(u32, u8)>,
}

/// Decides: holds the entity store and the decision caches. One per thread.
pub struct Evaluator {
    engine: Arc<Engine>,
    types: Types,
    authorizer: Authorizer,
    entities: Entities,
    program: EntityUid,
    strings: Interner,
    paths: HashMap<u32, Arc<PathInfo>>,
    field_entities: HashSet<u32>,
    store_entities: HashSet<String>,
    role_entities: HashSet<String>,
    capture_cache: HashMap<CaptureKey, Arc<[Fire]>>,
    collect_cache: HashMap<CollectKey, Arc<[Fire]>>,
    access_cache: HashMap<AccessKey, Arc<[Fire]>>,
    keep_cache: HashMap<(u32, u32), Arc<[Fire]>>,
    failures: Vec<PolicyFailure>,
    failure_ids: StdMap<(String, usize, &'static str, usize, usize), u32>,
    cedar_calls: u64,
    use_cache: bool,
    observe_fields: bool,
    count_field_stores: bool,
    field_stores: HashMap<(u32, u32), FieldStore>,
    /// Leaf-path sequences seen, by [`Capture::shape_hash`]: the interned paths and their order.
    shapes: hashbrown::HashTable<ShapeEntry>,
    shape_bytes: usize,
    next_shape_id: u64,
    /// Per (shape, context): what each field of the shape gave when no value added a category
    /// ([`FieldMemo`]). Emptied with the shapes, and past [`MAX_FIELD_MEMOS`] or
    /// [`MAX_MEMO_FIELDS`].
    field_memos: HashMap<(u64, FieldContext), Vec<FieldMemo>>,
    /// How many fields the memos hold in all.
    memo_fields: usize,
    scratch_cats: Vec<(u32, CatAgg)>,
    /// What the value detectors found in short values already seen (labels, titles, button
    /// names recur in event after event): each is classified once while it keeps recurring.
    values: HashMap<Box<str>, Arc<[Detection]>>,
    use_value_cache: bool,
}

/// Values up to this many bytes are remembered with what the detectors found in them.
pub const VALUE_CACHE_MAX_LEN: usize = 128;
/// The field memos (one per shape and context) are emptied past this many...
const MAX_FIELD_MEMOS: usize = 4096;
/// ...or past this many fields in all (a few tens of bytes each).
const MAX_MEMO_FIELDS: usize = 1 << 18;
/// At most this many values are remembered; when full, the cache starts again empty (the values
/// that keep recurring are back at once), so its memory stays under about a megabyte.
pub const VALUE_CACHE_ENTRIES: usize = 4096;

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator").field("cedar_calls", &self.cedar_calls).finish_non_exhaustive()
    }
}

impl Evaluator {
    /// Builds the entity store (taxonomy, program, declared and observed stores, roles).
    pub fn new(engine: Arc<Engine>) -> Result<Self> {
        let types = Types {
            program: type_name("Scopecheck::Program")?,
            category: type_name("Scopecheck::Category")?,
            field: type_name("Scopecheck::Field")?,
            store: type_name("Scopecheck::Store")?,
            role: type_name("Scopecheck::Role")?,
            purpose: type_name("Scopecheck::Purpose")?,
            action: type_name("Scopecheck::Action")?,
        };
        let mut ents = Vec::new();
        for cat in engine.taxonomy.iter() {
            let parents: StdSet<EntityUid> =
                Taxonomy::parent(&cat.id).map(|p| uid(&types.category, p)).into_iter().collect();
            let attrs = StdMap::from([
                ("label".to_string(), rx_str(&cat.label)),
                ("sensitivity".to_string(), rx_long(i64::from(cat.sensitivity))),
            ]);
            ents.push(
                Entity::new(uid(&types.category, &cat.id), attrs, parents)
                    .map_err(|e| cedar_err("category entity", e))?,
            );
        }
        ents.push(
            Entity::new(
                uid(&types.category, UNCLASSIFIED),
                StdMap::from([("label".to_string(), rx_str("Unclassified")), ("sensitivity".to_string(), rx_long(0))]),
                StdSet::new(),
            )
            .map_err(|e| cedar_err("category entity", e))?,
        );
        let scope = &engine.scope;
        let program = uid(&types.program, &scope.raw.program);
        let never = RestrictedExpression::new_set(
            scope.never_categories.iter().map(|c| RestrictedExpression::new_entity_uid(uid(&types.category, c))),
        );
        ents.push(
            Entity::new(
                program.clone(),
                StdMap::from([
                    ("version".to_string(), rx_str(scope.raw.version.as_deref().unwrap_or(""))),
                    ("never_categories".to_string(), never),
                ]),
                StdSet::new(),
            )
            .map_err(|e| cedar_err("program entity", e))?,
        );
        let entities =
            Entities::from_entities(ents, Some(engine.rules.schema())).map_err(|e| cedar_err("entities", e))?;
        let mut ev = Evaluator {
            engine,
            types,
            authorizer: Authorizer::new(),
            entities,
            program,
            strings: Interner::default(),
            paths: HashMap::default(),
            field_entities: HashSet::default(),
            store_entities: HashSet::default(),
            role_entities: HashSet::default(),
            capture_cache: HashMap::default(),
            collect_cache: HashMap::default(),
            access_cache: HashMap::default(),
            keep_cache: HashMap::default(),
            failures: Vec::new(),
            failure_ids: StdMap::new(),
            cedar_calls: 0,
            use_cache: true,
            values: HashMap::default(),
            use_value_cache: true,
            observe_fields: false,
            count_field_stores: true,
            field_stores: HashMap::default(),
            shapes: hashbrown::HashTable::new(),
            shape_bytes: 0,
            next_shape_id: 0,
            field_memos: HashMap::default(),
            memo_fields: 0,
            scratch_cats: Vec::new(),
        };
        let stores: BTreeSet<String> = ev
            .engine
            .scope
            .raw
            .stores
            .iter()
            .map(|s| s.id.clone())
            .chain(ev.engine.inventory.keys().cloned())
            .collect();
        for s in stores {
            ev.ensure_store(&s)?;
        }
        ev.ensure_store(NO_STORE)?;
        Ok(ev)
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Turns the per-shape decision cache off (one Cedar call per field and record).
    /// Decisions are the same either way; this exists to measure what the cache buys.
    pub fn set_decision_cache(&mut self, on: bool) {
        self.use_cache = on;
        self.clear_field_memos();
    }

    fn clear_field_memos(&mut self) {
        self.field_memos.clear();
        self.memo_fields = 0;
    }

    /// Also report, in each outcome, every field seen and its categories (off by default: it costs).
    pub fn set_field_observations(&mut self, on: bool) {
        self.observe_fields = on;
    }

    /// Counts, per (field, store), the events that wrote it, for [`Evaluator::field_stores`]
    /// (on by default; a runtime decider that never reads them turns them off).
    pub fn set_field_store_counts(&mut self, on: bool) {
        self.count_field_stores = on;
    }

    /// Each field each store holds, how many events wrote it, and what its retention satisfies,
    /// sorted by path and store.
    pub fn kept_fields(&self) -> Vec<KeptField> {
        let mut v: Vec<KeptField> = self
            .field_stores
            .iter()
            .map(|((p, s), f)| KeptField {
                path: self.strings.get(*p).to_string(),
                store: self.strings.get(*s).to_string(),
                events: f.events,
                fires: Arc::clone(&f.fires),
                people: f.people.clone(),
            })
            .collect();
        v.sort_by(|a, b| (&a.path, &a.store).cmp(&(&b.path, &b.store)));
        v
    }

    /// Cedar calls made so far (cache misses).
    pub fn cedar_calls(&self) -> u64 {
        self.cedar_calls
    }

    /// The policy failure a `policy-error` fire of this evaluator refers to ([`Fire::failure`]).
    pub fn policy_failure(&self, fire: &Fire) -> Option<&PolicyFailure> {
        if fire.target != TargetKind::Policy {
            return None;
        }
        self.failures.get(fire.failure as usize)
    }

    /// Every policy failure met so far, in the order met.
    pub fn policy_failures(&self) -> &[PolicyFailure] {
        &self.failures
    }

    /// The target and evidence of a `policy-error` fire (`None` for other fires). A fire whose
    /// failure is unknown still names the engine's doubt rather than vanish.
    pub fn failure_parts(&self, fire: &Fire) -> Option<(Target, String)> {
        if fire.target != TargetKind::Policy {
            return None;
        }
        Some(match self.policy_failure(fire) {
            Some(f) => (f.target(), f.evidence(self.engine.options.show_evidence)),
            None => (Target::new(TargetKind::Policy, "(unknown policy)"), "a policy could not be evaluated".into()),
        })
    }

    /// The local time and window verdict of an event.
    pub fn local_time(&self, cap: &Capture) -> (LocalTime, bool) {
        match &self.engine.scope.windows {
            Some(w) => {
                let local = w.local(&cap.ts);
                (local, w.allows(local))
            }
            None => (crate::window::local_in(&cap.ts), true),
        }
    }

    /// Turns the value cache on or off (off: every value is scanned by the detectors, as the
    /// tests that hold the two paths to the same result need).
    pub fn set_value_cache(&mut self, on: bool) {
        self.use_value_cache = on;
        self.values.clear();
    }

    /// Whether [`Evaluator::detect`] keeps what it finds in a value of `len` bytes.
    fn remembers_value(&self, len: usize) -> bool {
        self.use_value_cache && len <= VALUE_CACHE_MAX_LEN
    }

    /// What the value detectors find in `text`: from the cache for a short value seen before.
    fn detect(&mut self, engine: &Engine, text: &str) -> Arc<[Detection]> {
        if !self.remembers_value(text.len()) {
            return engine.detectors.scan(text).into();
        }
        if let Some(found) = self.values.get(text) {
            return Arc::clone(found);
        }
        let found: Arc<[Detection]> = engine.detectors.scan(text).into();
        if self.values.len() >= VALUE_CACHE_ENTRIES {
            self.values.clear();
        }
        self.values.insert(text.into(), Arc::clone(&found));
        found
    }

    /// Evaluates one event.
    pub fn evaluate(&mut self, cap: &Capture) -> std::result::Result<EventOutcome, EvalFailure> {
        let engine = Arc::clone(&self.engine);
        if let Some(p) = &cap.program
            && *p != engine.scope.raw.program.as_str()
        {
            return Err(EvalFailure::Rejected(Rejection {
                reason: format!(
                    "`program` is \"{p}\" but the scope is for \"{}\"; audit each program with its own scope",
                    engine.scope.raw.program
                ),
            }));
        }
        let (local, in_window) = self.local_time(cap);
        let kind = cap.subject_kind.as_deref();
        // Counted (never decided on) where retention findings need their people.
        let person =
            if self.count_field_stores { cap.subject.as_deref().map(crate::people::person_hash) } else { None };
        let source = cap.source.as_deref().unwrap_or("");
        let store = cap.store.as_deref().unwrap_or(NO_STORE);
        // The person (`cap.subject`) is deliberately not read here: decisions depend on the kind of
        // person, never on who it is, so the caches stay as small as the number of kinds.
        let kind_id = kind.map_or(NO_KIND, |k| self.strings.intern(k));
        let source_id = self.strings.intern(source);
        let store_id = self.strings.intern(store);
        let subject_declared = kind.is_none_or(|k| engine.scope.subject_declared(k));
        let facts = EventFacts { kind, source, store, local, subject_declared };
        let mut hits: Vec<Hit> = Vec::new();

        // The event as a whole.
        let ckey = CaptureKey {
            store: store_id,
            in_window,
            weekday: local.weekday,
            hour: local.hour,
            kind: kind_id,
            source: source_id,
        };
        let cached = if self.use_cache { self.capture_cache.get(&ckey).cloned() } else { None };
        let fires = match cached {
            Some(r) => r,
            None => {
                let store_uid = self.ensure_store(store)?;
                let context = capture_context(local, in_window, subject_declared, source, kind)?;
                let r = self.decide(self.program.clone(), Act::Capture, store_uid, context)?;
                self.capture_cache.insert(ckey, Arc::clone(&r));
                r
            }
        };
        for fire in fires.iter() {
            let (target, evidence) = match self.failure_parts(fire) {
                Some((t, e)) => (t, vec![e]),
                None => (facts.target(fire.target, None), facts.evidence(fire.evidence).into_iter().collect()),
            };
            hits.push(Hit {
                rule: fire.rule,
                rule_id: engine.rules.rule(fire.rule).map(|r| r.id.clone()).unwrap_or_default(),
                target,
                categories: Vec::new(),
                evidence,
            });
        }

        // Captured before this version of the notice took effect: no notice covered it.
        if let Some(from) = engine.scope.effective_from
            && cap.ts < from
        {
            hits.push(Hit {
                rule: engine.rules.before_notice_rule(),
                rule_id: crate::rules::BEFORE_NOTICE.to_string(),
                target: facts.target(TargetKind::Source, None),
                categories: Vec::new(),
                evidence: vec![format!(
                    "captured before version {} of the notice took effect ({})",
                    engine.scope.version_label(),
                    from.to_rfc3339()
                )],
            });
        }

        // Each field.
        if !cap.complete() {
            return Err(EvalFailure::Rejected(Rejection {
                reason: format!("`data` is nested deeper than {} levels", crate::pattern::MAX_DEPTH),
            }));
        }
        let shape = self.shape_of(cap);
        let mut observed: Vec<FieldObservation> = Vec::new();
        // (category, path) for each category a field was classified in, in visiting order.
        let mut kept: Vec<(u32, u32)> = Vec::new();
        let mut cats: Vec<(u32, CatAgg)> = std::mem::take(&mut self.scratch_cats);
        let unclassified = self.strings.intern(UNCLASSIFIED);
        // What this shape's fields gave in this context before (with the decision cache only:
        // without it, every field is evaluated in full, the reference the tests hold this to).
        let memo_key = (shape.id, FieldContext { in_window, kind: kind_id, source: source_id, store: store_id });
        let mut memo: Vec<FieldMemo> = Vec::new();
        if self.use_cache && shape.cached {
            memo = self.field_memos.remove(&memo_key).unwrap_or_default();
            self.memo_fields = self.memo_fields.saturating_sub(memo.len());
            memo.resize(shape.infos.len(), FieldMemo::Unknown);
        }
        // The leaves grouped by path, in path order (stable: values keep their order), so that
        // an event's outcome never depends on what this evaluator saw before.
        for (field, (group, info)) in shape.order.chunk_by(|a, b| a.0 == b.0).zip(shape.infos.iter()).enumerate() {
            let Some(&(path_id, first)) = group.first() else { continue };
            let Some(first_value) = cap.value(first as usize) else { continue };
            // When no value adds a category (and there is no encryption to check), the field's
            // categories are its name's and declaration's, the same in every such event: what
            // it gave before in this context holds. Values are checked from the value cache
            // only (a text it does not keep is evaluated in full, so that it is scanned once).
            // One pass over the values: `memo_field` (every text short enough to be remembered)
            // and `known`, the quiet memo's categories while no value adds a category now either.
            let mut memo_field = !memo.is_empty() && !info.encryption_required;
            let mut known = match memo.get(field) {
                Some(FieldMemo::Quiet(known)) if memo_field => Some(known),
                _ => None,
            };
            if memo_field {
                for &(_, i) in group {
                    let Some(text) = cap.value(i as usize).and_then(scannable) else { continue };
                    if !self.remembers_value(text.len()) {
                        memo_field = false;
                        known = None;
                        break;
                    }
                    if known.is_some()
                        && self.detect(&engine, &text).iter().any(|d| adds_category(&engine, d).is_some())
                    {
                        known = None;
                    }
                }
            }
            if let Some(known) = known {
                let known = Arc::clone(known);
                self.field_done(
                    path_id,
                    info,
                    known.iter().copied(),
                    unclassified,
                    (store, store_id),
                    person,
                    &mut kept,
                    &mut observed,
                )?;
                continue;
            }
            let mut value_categories = false;
            cats.clear();
            for &(c, conf) in &info.name_categories {
                if !cats.iter().any(|(x, _)| *x == c) {
                    cats.push((c, CatAgg { from_value: false, confidence: conf, evidence: None }));
                }
            }
            let mut plaintext: Option<String> = None;
            for value in group.iter().filter_map(|&(_, i)| cap.value(i as usize)) {
                let Some(text) = scannable(value) else {
                    if info.encryption_required && plaintext.is_none() {
                        plaintext = Some("<plaintext: a number or boolean, not ciphertext>".into());
                    }
                    continue;
                };
                for d in self.detect(&engine, &text).iter() {
                    let Some(cat) = adds_category(&engine, d) else { continue };
                    value_categories = true;
                    let cid = self.strings.intern(cat);
                    let at = match cats.iter().position(|(x, _)| *x == cid) {
                        Some(at) => at,
                        None => {
                            cats.push((cid, CatAgg { from_value: true, confidence: 0, evidence: None }));
                            cats.len() - 1
                        }
                    };
                    if let Some((_, entry)) = cats.get_mut(at) {
                        entry.from_value = true;
                        entry.confidence = entry.confidence.max(confidence_pct(d.confidence));
                        if entry.evidence.is_none() {
                            entry.evidence =
                                Some(evidence_of(d, &text, engine.options.show_evidence, engine.value_tags.as_ref()));
                        }
                    }
                }
                if info.encryption_required
                    && plaintext.is_none()
                    && let CipherAssessment::Plaintext { reason } = assess_ciphertext(&text)
                {
                    plaintext = Some(if engine.options.show_evidence {
                        format!("<plaintext: {reason}> {}", clip(&text, 120))
                    } else {
                        format!("<plaintext: {reason}, {} chars>", text.chars().count())
                    });
                }
            }
            if cats.is_empty() {
                cats.push((unclassified, CatAgg { from_value: false, confidence: 100, evidence: None }));
            }
            // Categories in name order, not intern order, for the same reason.
            if cats.len() > 1 {
                cats.sort_by(|a, b| self.strings.get(a.0).cmp(self.strings.get(b.0)));
            }
            // Made at the first fire: most fields fire nothing, and even an empty map's drop is a
            // call that walks its (absent) nodes.
            let mut per_rule: Option<BTreeMap<Fire, RuleHits>> = None;
            for (cid, cat) in &cats {
                let key = CollectKey {
                    path: path_id,
                    category: *cid,
                    from_value: cat.from_value,
                    confidence: cat.confidence / 10 * 10,
                    plaintext: plaintext.is_some(),
                    in_window,
                    kind: kind_id,
                    source: source_id,
                    store: store_id,
                };
                let cached = if self.use_cache { self.collect_cache.get(&key).cloned() } else { None };
                let fires = match cached {
                    Some(r) => r,
                    None => {
                        let category = self.strings.get(*cid).to_string();
                        let field_uid = self.ensure_field(path_id)?;
                        let store_uid = self.ensure_store(store)?;
                        let mut context = vec![
                            (
                                "category".into(),
                                RestrictedExpression::new_entity_uid(uid(&self.types.category, &category)),
                            ),
                            ("from_value".into(), RestrictedExpression::new_bool(cat.from_value)),
                            ("confidence".into(), rx_long(i64::from(key.confidence))),
                            ("value_plaintext".into(), RestrictedExpression::new_bool(key.plaintext)),
                            ("in_window".into(), RestrictedExpression::new_bool(in_window)),
                            ("subject_declared".into(), RestrictedExpression::new_bool(subject_declared)),
                            ("source".into(), rx_str(source)),
                            ("store".into(), RestrictedExpression::new_entity_uid(store_uid)),
                        ];
                        if let Some(k) = kind {
                            context.push(("subject_kind".into(), rx_str(k)));
                        }
                        let r = self.decide(self.program.clone(), Act::Collect, field_uid, context)?;
                        self.collect_cache.insert(key, Arc::clone(&r));
                        r
                    }
                };
                let cat_name = self.strings.get(*cid);
                for fire in fires.iter() {
                    let entry = per_rule.get_or_insert_with(BTreeMap::new).entry(*fire).or_default();
                    if *cid != unclassified {
                        entry.0.insert(cat_name.to_string());
                    }
                    let ev = match fire.evidence {
                        EvidenceKind::PolicyError => self.failure_parts(fire).map(|(_, e)| e),
                        EvidenceKind::Plaintext => plaintext.clone(),
                        EvidenceKind::Values => cat
                            .evidence
                            .clone()
                            .or_else(|| Some(describe_value(first_value, engine.options.show_evidence))),
                        other => facts.evidence(other),
                    };
                    if let Some(ev) = ev
                        && !entry.1.contains(&ev)
                        && entry.1.len() < engine.options.max_evidence
                    {
                        entry.1.push(ev);
                    }
                }
            }
            if memo_field
                && !value_categories
                && let Some(m) = memo.get_mut(field)
            {
                *m = if per_rule.is_none() {
                    FieldMemo::Quiet(cats.iter().map(|(c, _)| *c).collect())
                } else {
                    FieldMemo::Loud
                };
            }
            for (fire, (categories, evidence)) in per_rule.into_iter().flatten() {
                let target = match self.failure_parts(&fire) {
                    Some((t, _)) => t,
                    None => facts.target(fire.target, Some(self.strings.get(path_id))),
                };
                hits.push(Hit {
                    rule: fire.rule,
                    rule_id: engine.rules.rule(fire.rule).map(|r| r.id.clone()).unwrap_or_default(),
                    target,
                    categories: categories.into_iter().collect(),
                    evidence,
                });
            }
            let ids = cats.iter().map(|(c, _)| *c);
            self.field_done(path_id, info, ids, unclassified, (store, store_id), person, &mut kept, &mut observed)?;
        }
        self.scratch_cats = cats;
        if !memo.is_empty() {
            if self.field_memos.len() >= MAX_FIELD_MEMOS || self.memo_fields + memo.len() > MAX_MEMO_FIELDS {
                self.clear_field_memos();
            }
            self.memo_fields += memo.len();
            self.field_memos.insert(memo_key, memo);
        }
        // What the event wrote to its store, one decision per (store, category), in name order.
        // The categories (few) in name order; each one's paths in visiting order.
        let mut kept_cats: Vec<u32> = Vec::new();
        for &(c, _) in &kept {
            if !kept_cats.contains(&c) {
                kept_cats.push(c);
            }
        }
        kept_cats.sort_by(|a, b| self.strings.get(*a).cmp(self.strings.get(*b)));
        for cat_id in kept_cats {
            let key = (store_id, cat_id);
            let cached = if self.use_cache { self.keep_cache.get(&key).cloned() } else { None };
            let fires = match cached {
                Some(r) => r,
                None => {
                    let cat = self.strings.get(cat_id).to_string();
                    let store_uid = self.ensure_store(store)?;
                    let r = self.decide(
                        self.program.clone(),
                        Act::Keep,
                        store_uid.clone(),
                        vec![(
                            "category".into(),
                            RestrictedExpression::new_entity_uid(uid(&self.types.category, &cat)),
                        )],
                    )?;
                    self.keep_cache.insert(key, Arc::clone(&r));
                    r
                }
            };
            for fire in fires.iter() {
                let cat = self.strings.get(cat_id).to_string();
                let failure = self.failure_parts(fire);
                let evidence = match fire.evidence {
                    EvidenceKind::KeptCategories => {
                        let paths: Vec<&str> =
                            kept.iter().filter(|(c, _)| *c == cat_id).map(|&(_, p)| self.strings.get(p)).collect();
                        vec![format!("{cat} in {}", paths.join(", "))]
                    }
                    EvidenceKind::PolicyError => failure.iter().map(|(_, e)| e.clone()).collect(),
                    _ => Vec::new(),
                };
                hits.push(Hit {
                    rule: fire.rule,
                    rule_id: engine.rules.rule(fire.rule).map(|r| r.id.clone()).unwrap_or_default(),
                    target: failure.map_or_else(|| Target::store(store), |(t, _)| t),
                    categories: vec![cat],
                    evidence,
                });
            }
        }
        Ok(EventOutcome {
            hits: merge_hits(hits, engine.options.max_evidence),
            fields: observed,
            store: store.to_string(),
            in_window,
            local,
        })
    }
}

impl Evaluator {
    /// What every field gives whatever its findings: the categories its event wrote to its store
    /// (`kept`), its count per store, and its observation when asked.
    #[allow(clippy::too_many_arguments)]
    fn field_done(
        &mut self,
        path_id: u32,
        info: &PathInfo,
        cats: impl Iterator<Item = u32> + Clone,
        unclassified: u32,
        (store, store_id): (&str, u32),
        person: Option<u64>,
        kept: &mut Vec<(u32, u32)>,
        observed: &mut Vec<FieldObservation>,
    ) -> Result<()> {
        for c in cats.clone().filter(|c| *c != unclassified) {
            kept.push((c, path_id));
        }
        if store != NO_STORE && self.count_field_stores {
            let key = (path_id, store_id);
            if !self.field_stores.contains_key(&key) {
                // Retention depends on the field and the store only: decided once per pair.
                let fires = self.retain_fires(path_id, store)?;
                let people = if fires.is_empty() { None } else { Some(crate::people::People::default()) };
                self.field_stores.insert(key, FieldStore { events: 0, fires, people });
            }
            if let Some(fs) = self.field_stores.get_mut(&key) {
                fs.events += 1;
                if let (Some(p), Some(h)) = (&mut fs.people, person) {
                    p.insert(h);
                }
            }
        }
        if self.observe_fields {
            let categories = cats.filter(|c| *c != unclassified).map(|c| self.strings.get(c).to_string()).collect();
            observed.push(FieldObservation {
                path: self.strings.get(path_id).to_string(),
                declared: info.decl.is_some(),
                categories,
            });
        }
        Ok(())
    }

    /// One access-log entry: which rules each field read satisfies.
    /// Returns (fire, field path) pairs; an entry naming no field is checked once, as `*`.
    pub fn evaluate_access(&mut self, a: &crate::observe::Access) -> Result<Vec<(Fire, String)>> {
        let e = &a.entry;
        let role_uid = self.ensure_role(&e.role)?;
        let store = e.store.as_deref().unwrap_or(NO_STORE);
        let store_uid = self.ensure_store(store)?;
        let paths: Vec<String> = if e.fields.is_empty() {
            vec!["*".to_string()]
        } else {
            e.fields.iter().map(|f| crate::pattern::normalize_path(f)).collect()
        };
        let mut out = Vec::new();
        for path in paths {
            let key = (
                e.role.clone(),
                path.clone(),
                e.purpose.clone(),
                store.to_string(),
                e.actor.clone().unwrap_or_default(),
            );
            let rules = match self.access_cache.get(&key) {
                Some(r) => Arc::clone(r),
                None => {
                    let path_id = self.strings.intern(&path);
                    let field_uid = self.ensure_field(path_id)?;
                    let r = self.decide(
                        role_uid.clone(),
                        Act::Access,
                        field_uid,
                        vec![
                            (
                                "purpose".into(),
                                RestrictedExpression::new_entity_uid(uid(&self.types.purpose, &e.purpose)),
                            ),
                            ("store".into(), RestrictedExpression::new_entity_uid(store_uid.clone())),
                            ("actor".into(), rx_str(e.actor.as_deref().unwrap_or(""))),
                        ],
                    )?;
                    self.access_cache.insert(key, Arc::clone(&r));
                    r
                }
            };
            out.extend(rules.iter().map(|r| (*r, path.clone())));
        }
        Ok(out)
    }

    /// A field kept in a store.
    pub fn evaluate_retain(&mut self, path: &str, store: &str) -> Result<Arc<[Fire]>> {
        let path_id = self.strings.intern(path);
        self.retain_fires(path_id, store)
    }

    /// [`Evaluator::evaluate_retain`] for an interned path.
    fn retain_fires(&mut self, path_id: u32, store: &str) -> Result<Arc<[Fire]>> {
        let store_uid = self.ensure_store(store)?;
        let field_uid = self.ensure_field(path_id)?;
        self.decide(
            self.program.clone(),
            Act::Retain,
            field_uid,
            vec![("store".into(), RestrictedExpression::new_entity_uid(store_uid))],
        )
    }

    /// A store as a whole.
    pub fn evaluate_inventory(&mut self, store: &str, events: u64) -> Result<Arc<[Fire]>> {
        let store_uid = self.ensure_store(store)?;
        let in_inventory = self.engine.inventory.contains_key(store);
        self.decide(
            self.program.clone(),
            Act::Inventory,
            store_uid,
            vec![
                ("events".into(), rx_long(i64::try_from(events).unwrap_or(i64::MAX))),
                ("in_inventory".into(), RestrictedExpression::new_bool(in_inventory)),
            ],
        )
    }

    /// Every store known: declared, in the inventory, or met in events and access logs.
    pub fn known_stores(&self) -> BTreeSet<String> {
        self.store_entities.iter().filter(|s| s.as_str() != NO_STORE).cloned().collect()
    }
}

/// Why an event was not decided.
#[derive(Debug)]
pub enum EvalFailure {
    /// The event is not acceptable input (wrong program, too deep...).
    Rejected(Rejection),
    /// scopecheck could not run.
    Error(Error),
}

impl From<Error> for EvalFailure {
    fn from(e: Error) -> Self {
        EvalFailure::Error(e)
    }
}

/// The text detectors see for a value: strings, and integers long enough to be
/// ids, cards or phone numbers. Small numbers are telemetry and are not scanned.
pub fn scannable<'v>(v: &'v Scalar<'_>) -> Option<std::borrow::Cow<'v, str>> {
    match v {
        Scalar::Str(s) => Some(std::borrow::Cow::Borrowed(s.as_ref())),
        // Nine characters or more: at least 100,000,000, or -10,000,000 and below.
        Scalar::Number(n)
            if n.as_u64().is_some_and(|u| u >= 100_000_000) || n.as_i64().is_some_and(|i| i <= -10_000_000) =>
        {
            let s = n.to_string();
            if s.len() >= 9 { Some(std::borrow::Cow::Owned(s)) } else { None }
        }
        _ => None,
    }
}

/// The category a detection adds to its field, if it counts: confident enough, and of a
/// category the taxonomy knows.
fn adds_category<'d>(engine: &Engine, d: &'d Detection) -> Option<&'d str> {
    if d.confidence < engine.options.min_confidence {
        return None;
    }
    d.category.as_deref().filter(|c| engine.taxonomy.contains(c))
}

/// One rule's categories and evidence on one field.
type RuleHits = (BTreeSet<String>, Vec<String>);

#[derive(Debug, Clone)]
struct CatAgg {
    from_value: bool,
    confidence: u8,
    evidence: Option<String>,
}

/// A detector's confidence as the whole percent Cedar sees (`context.confidence`).
pub fn confidence_pct(c: f32) -> u8 {
    let pct = (c.clamp(0.0, 1.0) * 100.0).round();
    if pct >= 100.0 {
        100
    } else if pct <= 0.0 {
        0
    } else {
        pct as u8
    }
}

/// The context of a `capture` request: one definition for events and the linter's probes.
pub(crate) fn capture_context(
    local: LocalTime,
    in_window: bool,
    subject_declared: bool,
    source: &str,
    kind: Option<&str>,
) -> Result<Vec<(String, RestrictedExpression)>> {
    let local_rec = RestrictedExpression::new_record([
        ("weekday".to_string(), rx_str(local.weekday_name())),
        ("hour".to_string(), rx_long(i64::from(local.hour))),
    ])
    .map_err(|e| cedar_err("record", e))?;
    let mut context = vec![
        ("in_window".into(), RestrictedExpression::new_bool(in_window)),
        ("local".into(), local_rec),
        ("subject_declared".into(), RestrictedExpression::new_bool(subject_declared)),
        ("source".into(), rx_str(source)),
    ];
    if let Some(k) = kind {
        context.push(("subject_kind".into(), rx_str(k)));
    }
    Ok(context)
}
