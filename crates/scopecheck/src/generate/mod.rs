//! Synthetic workforce telemetry with ground truth (`scopecheck generate`).
//!
//! A scenario (YAML, [`Scenario`]) names the people and their kinds and time zones, the days,
//! how people work (start, lunch, overtime, weekends), what the collector really captures, the
//! rates at which it captures beyond its notice, who reads the data and why, and the notice
//! itself (a scope). The generator writes what a real deployment would hold: captures, a store
//! inventory, an access log and the scope, plus the ground truth of every violation it injected
//! ([`Label`]).
//!
//! Determinism: every (day, person) pair is a chunk drawn from a generator keyed by (seed, day,
//! person) and nothing else, and chunks are written in (day, person) order, so the same seed
//! gives the same bytes whatever the number of threads. Memory holds one batch of chunks, not the
//! data set: ten million events need no more than ten thousand.
//!
//! The labeler states what each injected value *is* (a chat message is `content.chat`, a W-2 on
//! screen is screen text holding a tax form and an SSN) and applies the notice's promises to it,
//! independently of the detectors, which are what an audit scored against the labels tests.

pub mod rng;
pub mod values;

use crate::error::{Error, ErrorKind, Location, Result};
use crate::scope::{CompiledScope, EncryptionLevel};
use crate::target::{Target, TargetKind};
use crate::taxonomy::Taxonomy;
use chrono::{Datelike, NaiveDate, NaiveTime, TimeZone, Timelike, Weekday};
use chrono_tz::Tz;
use rng::{Rng, stream};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A scenario: who works when, what the collector captures, and the notice it was given.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The scenario's name (written into the manifest).
    pub name: String,
    /// What it stands for.
    #[serde(default)]
    pub description: Option<String>,
    /// The seed: the same seed gives the same bytes (`--seed` overrides it).
    pub seed: u64,
    /// The first day (YYYY-MM-DD), in each person's own time zone.
    #[schemars(with = "String")]
    pub start: NaiveDate,
    /// How many days.
    pub days: u32,
    /// The capturing component, as written in each event's `source`.
    pub source: String,
    /// The store the collector writes to, as written in each event's `store`.
    pub store: String,
    /// The people captured, by kind.
    pub people: Vec<PeopleGroup>,
    /// How people work.
    #[serde(default)]
    pub work: Work,
    /// Relative weights of the telemetry the collector is meant to capture.
    pub telemetry: Telemetry,
    /// What the collector really does.
    #[serde(default)]
    pub collector: Collector,
    /// Rates (per captured event) at which the collector captures beyond its notice.
    #[serde(default)]
    pub beyond_notice: BeyondNotice,
    /// Who reads the captures, for what.
    #[serde(default)]
    pub access: Vec<AccessPattern>,
    /// The notice as a declared scope (written as `scope.yaml`; see docs/scope.md).
    #[schemars(with = "serde_json::Value")]
    pub notice: serde_yaml::Value,
}

/// A group of people of one kind.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PeopleGroup {
    /// Their kind, as written in `subject_kind` (`employee`, `contractor`, `visitor`…).
    pub kind: String,
    /// How many.
    pub count: u32,
    /// Their ids: a template where `{n}` is the person's number, `{n:05}` zero-padded
    /// (`e-{n:05}`). Exactly `{n}` with `numeric_ids` writes integers.
    pub id: String,
    /// The first person's number.
    #[serde(default = "one")]
    pub first: u64,
    /// Write `subject` as a JSON integer (the template must be `{n}`).
    #[serde(default)]
    pub numeric_ids: bool,
    /// IANA time zones, one drawn per person (default: the notice's).
    #[serde(default)]
    pub timezones: Vec<String>,
    /// Leave `subject_kind` out of this share of their events (0 to 1).
    #[serde(default)]
    pub without_kind: f64,
}

fn one() -> u64 {
    1
}

/// Working patterns, in each person's local time.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Work {
    /// Typical start of the day (HH:MM).
    pub start: String,
    /// Standard deviation of the start, in minutes.
    pub start_jitter_min: f64,
    /// Hours worked (lunch included).
    pub hours: f64,
    /// Typical start of lunch (HH:MM).
    pub lunch: String,
    /// Length of lunch, in minutes.
    pub lunch_min: f64,
    /// Activity during lunch relative to work (personal browsing, chat): 0 none, 1 as much.
    pub lunch_activity: f64,
    /// Captured events per hour of work.
    pub events_per_hour: f64,
    /// Share of working days with an evening session (overtime).
    pub overtime: f64,
    /// Share of weekend days a person works a few hours.
    pub weekend: f64,
    /// Share of working days a person is away.
    pub absence: f64,
}

impl Default for Work {
    fn default() -> Self {
        Work {
            start: "09:00".into(),
            start_jitter_min: 25.0,
            hours: 8.5,
            lunch: "12:00".into(),
            lunch_min: 45.0,
            lunch_activity: 0.3,
            events_per_hour: 20.0,
            overtime: 0.1,
            weekend: 0.05,
            absence: 0.04,
        }
    }
}

/// Relative weights of the telemetry kinds (0: never).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Telemetry {
    /// `input.keystrokes[]` {interval_ms, dwell_ms}: typing bursts.
    pub keystrokes: f64,
    /// `input.pointer` {x, y, buttons, speed_px_s, path[]}.
    pub pointer: f64,
    /// `ui` {action, element_id, label}.
    pub ui: f64,
    /// `session.replay`: an encrypted replay blob.
    pub replay: f64,
    /// `app` {name, focus_s}.
    pub app: f64,
    /// `browser` {domain, active_s}.
    pub browsing: f64,
    /// `meeting` {id, duration_s, attendees, camera_on}.
    pub meeting: f64,
    /// `chat.stats` {messages_sent, active_s}.
    pub chat_stats: f64,
}

/// What the collector really does.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Collector {
    /// Pauses outside the notice's windows (false: captures whenever people are active).
    pub respects_windows: bool,
    /// Share of session replays sent without encryption.
    pub plaintext_replay: f64,
    /// The observed store inventory (written as `stores.yaml`).
    pub stores: Vec<InventoryStore>,
}

/// A store as observed.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InventoryStore {
    /// As named in captures.
    pub id: String,
    /// Observed encryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionLevel>,
    /// Observed retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// Observed region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// Rates, per captured event, of captures beyond the notice.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BeyondNotice {
    /// Private chat messages (`chat.messages[].text`).
    pub chat: f64,
    /// Meeting transcriptions with speaker turns (`meeting.transcript`).
    pub transcript: f64,
    /// A W-2 tax form read off the screen (`screen.ocr_text`).
    pub tax_page: f64,
    /// A patient portal's visit summary read off the screen (`screen.ocr_text`).
    pub medical_page: f64,
    /// A login form's username and password (`login.username`, `login.password`).
    pub credential: f64,
    /// A payment card number in a UI label (`ui.label`).
    pub card_in_label: f64,
}

/// Reads of the captures.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessPattern {
    /// The reader's role, as written in the access log.
    pub role: String,
    /// Why they read.
    pub purpose: String,
    /// Readers' ids: a template where `{n}` is 1..=actors.
    #[serde(default = "default_actor")]
    pub actor: String,
    /// How many distinct readers.
    #[serde(default = "one")]
    pub actors: u64,
    /// Mean reads per weekday.
    pub per_day: f64,
    /// The field paths each read names.
    pub fields: Vec<String>,
    /// The store read (default: the scenario's store).
    #[serde(default)]
    pub store: Option<String>,
}

fn default_actor() -> String {
    "reader-{n}".into()
}

/// One injected violation: what the audit should find, where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Label {
    /// The output file it is in (`captures.jsonl`, `access.jsonl`, `stores.yaml`).
    pub file: String,
    /// Its line (1-based).
    pub line: u64,
    /// The rule that must fire.
    pub rule: String,
    /// What its finding is about.
    pub target: Target,
    /// The person captured (events only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// What the generator did: `chat`, `transcript`, `tax_page`, `medical_page`, `credential`,
    /// `card_in_label`, `plaintext_replay`, `outside_window`, `undeclared_kind`, `store`, `access`.
    pub cause: String,
}

/// A chunk of captures: one person's events of one day, in time order.
#[derive(Debug, Clone, Default)]
pub struct Chunk {
    /// The JSONL lines, each ending in `\n`.
    pub text: String,
    /// How many lines.
    pub lines: u64,
    /// Labels, with `line` counted from 0 within the chunk.
    pub labels: Vec<Label>,
}

/// What an event's injected leaves truly are: (path, categories).
type Truth = Vec<(&'static str, Vec<&'static str>)>;

/// One person.
#[derive(Debug, Clone)]
struct Person {
    id: String,
    numeric: bool,
    kind: String,
    tz: Tz,
    without_kind: f64,
}

/// The rule ids the labels name: the built-in rules' public ids (a test checks that each is a
/// rule of the built-in pack).
pub const LABEL_RULES: &[&str] = &[
    UNDISCLOSED_FIELD,
    UNDISCLOSED_CATEGORY,
    UNENCRYPTED_FIELD,
    NEVER_COLLECT,
    SENSITIVE_IN_UNENCRYPTED_STORE,
    UNENCRYPTED_STORE,
    OUTSIDE_WINDOW,
    UNDECLARED_SUBJECT,
    PURPOSE_CREEP,
    RETENTION_EXCEEDED,
];
const UNDISCLOSED_FIELD: &str = "undisclosed-field";
const UNDISCLOSED_CATEGORY: &str = "undisclosed-category";
const UNENCRYPTED_FIELD: &str = "unencrypted-field";
const NEVER_COLLECT: &str = "never-collect";
const SENSITIVE_IN_UNENCRYPTED_STORE: &str = "sensitive-in-unencrypted-store";
const UNENCRYPTED_STORE: &str = "unencrypted-store";
const OUTSIDE_WINDOW: &str = "outside-window";
const UNDECLARED_SUBJECT: &str = "undeclared-subject";
const PURPOSE_CREEP: &str = "purpose-creep";
const RETENTION_EXCEEDED: &str = "retention-exceeded";

/// The sensitivity at and above which data in a store not encrypted at rest is a finding (the
/// built-in rule `sensitive-in-unencrypted-store`).
const SENSITIVE: u8 = 3;

/// The names of the files a scenario is written to.
pub mod files {
    /// Captures.
    pub const CAPTURES: &str = "captures.jsonl";
    /// The store inventory.
    pub const STORES: &str = "stores.yaml";
    /// The access log.
    pub const ACCESS: &str = "access.jsonl";
    /// The notice.
    pub const SCOPE: &str = "scope.yaml";
    /// Ground truth.
    pub const LABELS: &str = "labels.jsonl";
}

/// A scenario ready to generate.
#[derive(Debug)]
pub struct Generator {
    sc: Scenario,
    seed: u64,
    scope: CompiledScope,
    scope_text: String,
    taxonomy: Taxonomy,
    people: Vec<Person>,
    start: NaiveTime,
    lunch: NaiveTime,
}

/// The JSON Schema of scenario files.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Scenario)).unwrap_or_default()
}

fn scenario_error(file: &str, msg: impl Into<String>, help: &str) -> Error {
    Error::new(ErrorKind::Input, Location::file(file), msg).with_help(help)
}

/// A scenario lasts 1 to 3660 days.
fn check_days(file: &str, days: u32) -> Result<()> {
    if days == 0 || days > 3660 {
        return Err(scenario_error(file, format!("`days` is {days}"), "write 1 to 3660 days"));
    }
    Ok(())
}

fn hhmm(file: &str, what: &str, s: &str) -> Result<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .map_err(|_| scenario_error(file, format!("`work.{what}` is `{s}`, not a time"), "write HH:MM, e.g. 09:00"))
}

fn rate(file: &str, what: &str, x: f64) -> Result<()> {
    if (0.0..=1.0).contains(&x) {
        Ok(())
    } else {
        Err(scenario_error(file, format!("`{what}` is {x}, not a rate"), "write a share between 0 and 1"))
    }
}

/// Expands an id template: `{n}` or `{n:0W}`.
fn expand(template: &str, n: u64) -> Option<String> {
    let open = template.find("{n")?;
    let close = open + template.get(open..)?.find('}')?;
    let spec = template.get(open + 2..close)?;
    let num = match spec.strip_prefix(":0") {
        Some(w) => format!("{n:0width$}", width = w.parse::<usize>().ok()?.min(32)),
        None if spec.is_empty() => n.to_string(),
        None => return None,
    };
    Some(format!("{}{num}{}", template.get(..open)?, template.get(close + 1..)?))
}

impl Generator {
    /// Reads and checks a scenario; `seed` overrides its own.
    pub fn new(text: &str, file: &str, seed: Option<u64>) -> Result<Self> {
        let sc: Scenario =
            serde_yaml::from_str(text).map_err(|e| crate::scope::yaml_error(ErrorKind::Input, file, text, &e))?;
        let taxonomy = Taxonomy::builtin()?;
        let mut scope_text = format!(
            "# The notice of scenario `{}`, written by `scopecheck generate`.\n",
            sc.name.replace(['\n', '\r'], " ")
        );
        scope_text.push_str(&serde_yaml::to_string(&sc.notice).map_err(|e| Error::internal(e.to_string()))?);
        let scope = CompiledScope::load(&scope_text, &format!("{file} (notice)"), &taxonomy)
            .map_err(|e| e.with_help("the scenario's `notice` must be a valid scope (docs/scope.md)"))?;
        let w = &sc.work;
        let start = hhmm(file, "start", &w.start)?;
        let lunch = hhmm(file, "lunch", &w.lunch)?;
        for (what, x) in [
            ("work.lunch_activity", w.lunch_activity),
            ("work.overtime", w.overtime),
            ("work.weekend", w.weekend),
            ("work.absence", w.absence),
            ("collector.plaintext_replay", sc.collector.plaintext_replay),
            ("beyond_notice.chat", sc.beyond_notice.chat),
            ("beyond_notice.transcript", sc.beyond_notice.transcript),
            ("beyond_notice.tax_page", sc.beyond_notice.tax_page),
            ("beyond_notice.medical_page", sc.beyond_notice.medical_page),
            ("beyond_notice.credential", sc.beyond_notice.credential),
            ("beyond_notice.card_in_label", sc.beyond_notice.card_in_label),
        ] {
            rate(file, what, x)?;
        }
        let finite_pos = |x: f64| x.is_finite() && x >= 0.0;
        let sane = finite_pos(w.events_per_hour)
            && w.events_per_hour <= 3600.0
            && finite_pos(w.hours)
            && w.hours <= 24.0
            && finite_pos(w.start_jitter_min)
            && finite_pos(w.lunch_min);
        if !sane {
            return Err(scenario_error(
                file,
                "`work` has a negative or impossible number",
                "events_per_hour 0–3600, hours 0–24, minutes ≥ 0",
            ));
        }
        check_days(file, sc.days)?;
        let default_tz = scope.windows.as_ref().map(|w| w.tz).unwrap_or(Tz::UTC);
        let mut people = Vec::new();
        let total: u64 = sc.people.iter().map(|g| u64::from(g.count)).sum();
        if total == 0 || total > 10_000_000 {
            return Err(scenario_error(
                file,
                format!("the scenario has {total} people"),
                "write 1 to 10,000,000 people",
            ));
        }
        for (gi, g) in sc.people.iter().enumerate() {
            rate(file, "people[].without_kind", g.without_kind)?;
            let zones: Vec<Tz> = if g.timezones.is_empty() {
                vec![default_tz]
            } else {
                g.timezones
                    .iter()
                    .map(|z| {
                        z.parse::<Tz>().map_err(|_| {
                            scenario_error(file, format!("`{z}` is not an IANA time zone"), "write e.g. Europe/London")
                        })
                    })
                    .collect::<Result<_>>()?
            };
            if expand(&g.id, 0).is_none() {
                return Err(scenario_error(
                    file,
                    format!("the id template `{}` has no `{{n}}`", g.id),
                    "write e.g. `e-{n:05}`",
                ));
            }
            if g.numeric_ids && g.id != "{n}" {
                return Err(scenario_error(file, "`numeric_ids` needs the id template `{n}`", "write `id: \"{n}\"`"));
            }
            for k in 0..u64::from(g.count) {
                let n = g.first.saturating_add(k);
                // Each person's zone is drawn from a stream of their own.
                let mut r = Rng::keyed(sc.seed, stream::PERSON, gi as u64, n);
                let tz = r.pick(&zones).copied().unwrap_or(default_tz);
                people.push(Person {
                    id: expand(&g.id, n).unwrap_or_default(),
                    numeric: g.numeric_ids,
                    kind: g.kind.clone(),
                    tz,
                    without_kind: g.without_kind,
                });
            }
        }
        let seed = seed.unwrap_or(sc.seed);
        Ok(Generator { sc, seed, scope, scope_text, taxonomy, people, start, lunch })
    }

    /// The same scenario over `days` days instead of its own `days:` (what benchmarks and tests
    /// use to cut a shipped scenario short): the bytes are those of the scenario with that
    /// `days:` line.
    pub fn with_days(mut self, days: u32) -> Result<Self> {
        check_days(&self.sc.name, days)?;
        self.sc.days = days;
        Ok(self)
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.sc
    }

    /// The seed in use.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The number of chunks: days × people.
    pub fn chunks(&self) -> u64 {
        u64::from(self.sc.days) * self.people.len() as u64
    }

    /// The number of people.
    pub fn people(&self) -> usize {
        self.people.len()
    }

    /// `scope.yaml`: the notice.
    pub fn scope_yaml(&self) -> &str {
        &self.scope_text
    }

    /// `stores.yaml` and the labels of the stores that break the notice's promises.
    pub fn stores_yaml(&self) -> (String, Vec<Label>) {
        let mut text = String::from("# The observed store inventory, written by `scopecheck generate`.\nstores:\n");
        let mut labels = Vec::new();
        let mut line = 2u64;
        for s in &self.sc.collector.stores {
            line += 1;
            text.push_str(&format!("  - id: {}\n", yaml_scalar(&s.id)));
            let entry_line = line;
            if let Some(e) = s.encryption {
                line += 1;
                text.push_str(&format!("    encryption: {}\n", e.as_str()));
            }
            if let Some(d) = s.retention_days {
                line += 1;
                text.push_str(&format!("    retention_days: {d}\n"));
            }
            if let Some(r) = &s.region {
                line += 1;
                text.push_str(&format!("    region: {}\n", yaml_scalar(r)));
            }
            let Some(decl) = self.scope.store(&s.id) else { continue };
            let mut label = |rule: &str| {
                labels.push(Label {
                    file: files::STORES.into(),
                    line: entry_line,
                    rule: rule.into(),
                    target: Target::new(TargetKind::Store, s.id.clone()),
                    person: None,
                    cause: "store".into(),
                });
            };
            if let (Some(have), Some(want)) = (s.encryption, decl.encryption)
                && have < want.minimum()
            {
                label(UNENCRYPTED_STORE);
            }
            if let (Some(have), Some(want)) = (s.retention_days, decl.retention_days)
                && have > want
            {
                label(RETENTION_EXCEEDED);
            }
        }
        (text, labels)
    }

    /// Is the store not encrypted at rest, as observed?
    fn store_unencrypted(&self, id: &str) -> bool {
        self.sc
            .collector
            .stores
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| s.encryption)
            .is_some_and(|e| e < EncryptionLevel::AtRest)
    }

    /// The date of day `d`.
    fn date(&self, d: u32) -> NaiveDate {
        self.sc.start.checked_add_days(chrono::Days::new(u64::from(d))).unwrap_or(self.sc.start)
    }

    /// Chunk `i`: day `i / people`, person `i % people`.
    pub fn chunk(&self, i: u64) -> Chunk {
        let n = self.people.len().max(1) as u64;
        let (day, who) = ((i / n) as u32, (i % n) as usize);
        let Some(person) = self.people.get(who) else { return Chunk::default() };
        let mut r = Rng::keyed(self.seed, stream::DAY, u64::from(day), who as u64);
        let date = self.date(day);
        let mut chunk = Chunk::default();
        for t in self.activity(&mut r, date) {
            let Some(local) = person.tz.from_local_datetime(&date.and_time(t)).earliest() else { continue };
            let ts = local.fixed_offset();
            if self.sc.collector.respects_windows
                && self.scope.windows.as_ref().is_some_and(|w| !w.allows(w.local(&ts)))
            {
                continue;
            }
            let (data, cause, truth) = self.event_data(&mut r);
            let with_kind = !r.chance(person.without_kind);
            self.write_event(&mut chunk, person, &ts, with_kind, &data, cause, &truth);
        }
        chunk
    }

    /// The local times of one person's captured activity on a day, in order.
    fn activity(&self, r: &mut Rng, date: NaiveDate) -> Vec<NaiveTime> {
        let w = &self.sc.work;
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        let minute = |t: NaiveTime| f64::from(t.num_seconds_from_midnight()) / 60.0;
        let mut sessions: Vec<(f64, f64, f64)> = Vec::new(); // (from, to, relative rate), minutes
        if weekend {
            if r.chance(w.weekend) {
                let from = r.gauss(600.0, 60.0, 420.0, 900.0);
                sessions.push((from, from + r.gauss(150.0, 45.0, 30.0, 300.0), 0.7));
            }
        } else if !r.chance(w.absence) {
            let from = r.gauss(minute(self.start), w.start_jitter_min, 0.0, 1380.0);
            let to = (from + w.hours * 60.0 + r.gauss(0.0, 20.0, -90.0, 90.0)).min(1439.0);
            let lunch_from = r.gauss(minute(self.lunch), 12.0, from, to);
            let lunch_to = (lunch_from + w.lunch_min).min(to);
            sessions.push((from, lunch_from, 1.0));
            sessions.push((lunch_from, lunch_to, w.lunch_activity));
            sessions.push((lunch_to, to, 1.0));
            if r.chance(w.overtime) {
                let ot = r.gauss(1170.0, 30.0, to.max(1080.0), 1350.0);
                sessions.push((ot, (ot + r.gauss(60.0, 20.0, 15.0, 120.0)).min(1439.0), 0.6));
            }
        }
        let mean_gap = if w.events_per_hour > 0.0 { 60.0 / w.events_per_hour } else { f64::INFINITY };
        let mut out = Vec::new();
        for (from, to, rel) in sessions {
            if rel.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) || !mean_gap.is_finite() {
                continue;
            }
            let mut t = from + r.exp(mean_gap / rel);
            while t < to {
                let secs = (t * 60.0) as u32;
                if let Some(time) = NaiveTime::from_num_seconds_from_midnight_opt(secs.min(86_399), 0) {
                    out.push(time);
                }
                t += r.exp(mean_gap / rel);
            }
        }
        out.sort();
        out
    }

    /// One event's data, what caused it (None: the telemetry the notice describes), and what its
    /// injected leaves truly are: (path, categories, plaintext where ciphertext was promised).
    fn event_data(&self, r: &mut Rng) -> (Value, Option<&'static str>, Truth) {
        let b = &self.sc.beyond_notice;
        let injections: [(f64, &'static str); 6] = [
            (b.chat, "chat"),
            (b.transcript, "transcript"),
            (b.tax_page, "tax_page"),
            (b.medical_page, "medical_page"),
            (b.credential, "credential"),
            (b.card_in_label, "card_in_label"),
        ];
        // One draw decides whether this event is an injection, and which.
        let u = r.unit();
        let mut acc = 0.0;
        for (p, cause) in injections {
            acc += p;
            if u < acc {
                return match cause {
                    "chat" => {
                        (values::chat_messages(r), Some(cause), vec![("chat.messages[].text", vec!["content.chat"])])
                    }
                    "transcript" => (
                        serde_json::json!({"meeting": {"transcript": values::transcript(r)}}),
                        Some(cause),
                        vec![("meeting.transcript", vec!["content.transcript"])],
                    ),
                    "tax_page" => (
                        serde_json::json!({"screen": {"ocr_text": values::tax_page(r)}}),
                        Some(cause),
                        vec![("screen.ocr_text", vec!["content.screen_text", "financial.tax", "government_id.us_ssn"])],
                    ),
                    "medical_page" => (
                        serde_json::json!({"screen": {"ocr_text": values::medical_page(r)}}),
                        Some(cause),
                        vec![("screen.ocr_text", vec!["content.screen_text", "health.diagnosis"])],
                    ),
                    "credential" => (
                        values::credential(r),
                        Some(cause),
                        vec![
                            ("login.username", vec!["contact.email"]),
                            ("login.password", vec!["credentials.password"]),
                        ],
                    ),
                    _ => (values::card_label(r), Some(cause), vec![("ui.label", vec!["financial.payment_card"])]),
                };
            }
        }
        let t = &self.sc.telemetry;
        let kinds = [t.keystrokes, t.pointer, t.ui, t.replay, t.app, t.browsing, t.meeting, t.chat_stats];
        let data = match r.weighted(&kinds) {
            Some(0) | None => values::keystrokes(r),
            Some(1) => values::pointer(r),
            Some(2) => values::ui(r),
            Some(3) if r.chance(self.sc.collector.plaintext_replay) => {
                return (values::replay_plaintext(r), Some("plaintext_replay"), vec![]);
            }
            Some(3) => values::replay_encrypted(r),
            Some(4) => values::app(r),
            Some(5) => values::browsing(r),
            Some(6) => values::meeting(r),
            _ => values::chat_stats(r),
        };
        (data, None, vec![])
    }

    #[allow(clippy::too_many_arguments)]
    fn write_event(
        &self,
        chunk: &mut Chunk,
        person: &Person,
        ts: &chrono::DateTime<chrono::FixedOffset>,
        with_kind: bool,
        data: &Value,
        cause: Option<&'static str>,
        truth: &[(&'static str, Vec<&'static str>)],
    ) {
        let subject = if person.numeric { person.id.clone() } else { json_string(&person.id) };
        let kind = if with_kind { format!(",\"subject_kind\":{}", json_string(&person.kind)) } else { String::new() };
        let line = format!(
            "{{\"ts\":\"{}\",\"program\":{},\"subject\":{subject}{kind},\"source\":{},\"store\":{},\"data\":{}}}\n",
            ts.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            json_string(&self.scope.raw.program),
            json_string(&self.sc.source),
            json_string(&self.sc.store),
            data,
        );
        let at = chunk.lines;
        chunk.text.push_str(&line);
        chunk.lines += 1;
        let mut labels: Vec<(String, TargetKind, String, String)> = Vec::new();
        let mut add = |rule: &str, kind: TargetKind, id: &str, why: &str| {
            let l = (rule.to_string(), kind, id.to_string(), why.to_string());
            if !labels.iter().any(|x| x.0 == l.0 && x.1 == l.1 && x.2 == l.2) {
                labels.push(l);
            }
        };
        let why = cause.unwrap_or("");
        let mut sensitive = false;
        for (path, cats) in truth {
            let decl = self.scope.declaration_for(path).and_then(|i| self.scope.raw.collect.get(i));
            let never = self.scope.never_field(path)
                || cats.iter().any(|c| self.scope.never_categories.iter().any(|n| Taxonomy::is_within(c, n)));
            if decl.is_none() {
                add(UNDISCLOSED_FIELD, TargetKind::Field, path, why);
            }
            if never {
                add(NEVER_COLLECT, TargetKind::Field, path, why);
            }
            if let Some(d) = decl {
                let declared = &d.category;
                let wider = cats.iter().any(|c| {
                    !Taxonomy::is_within(c, declared)
                        && self.taxonomy.sensitivity(c) > self.taxonomy.sensitivity(declared)
                });
                if wider && !cats.iter().any(|c| self.scope.never_categories.iter().any(|n| Taxonomy::is_within(c, n)))
                {
                    add(UNDISCLOSED_CATEGORY, TargetKind::Field, path, why);
                }
            }
            sensitive |= cats.iter().any(|c| self.taxonomy.sensitivity(c) >= SENSITIVE);
        }
        if cause == Some("plaintext_replay") {
            let path = "session.replay";
            let required = self
                .scope
                .declaration_for(path)
                .and_then(|i| self.scope.raw.collect.get(i))
                .is_some_and(|d| d.encryption == Some(crate::scope::FieldEncryption::Required));
            if required {
                add(UNENCRYPTED_FIELD, TargetKind::Field, path, why);
            }
        }
        if sensitive && self.store_unencrypted(&self.sc.store) {
            add(SENSITIVE_IN_UNENCRYPTED_STORE, TargetKind::Store, &self.sc.store, why);
        }
        if let Some(w) = &self.scope.windows
            && !w.allows(w.local(ts))
        {
            add(OUTSIDE_WINDOW, TargetKind::Source, &self.sc.source, "outside_window");
        }
        if with_kind && !self.scope.subject_declared(&person.kind) {
            add(UNDECLARED_SUBJECT, TargetKind::SubjectKind, &person.kind, "undeclared_kind");
        }
        for (rule, kind, id, why) in labels {
            chunk.labels.push(Label {
                file: files::CAPTURES.into(),
                line: at,
                rule,
                target: Target::new(kind, id),
                person: Some(person.id.clone()),
                cause: why,
            });
        }
    }

    /// The access log: every read of every day, in time order, with the labels of reads the
    /// notice does not allow (line counted from 1).
    pub fn access_log(&self, mut each: impl FnMut(&str, Vec<Label>) -> std::io::Result<()>) -> std::io::Result<()> {
        let mut line = 0u64;
        let zone = self.scope.windows.as_ref().map(|w| w.tz).unwrap_or(Tz::UTC);
        for d in 0..self.sc.days {
            let date = self.date(d);
            if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
                continue;
            }
            let mut r = Rng::keyed(self.seed, stream::ACCESS, u64::from(d), 0);
            let mut reads: Vec<(u32, usize, u64)> = Vec::new();
            for (pi, p) in self.sc.access.iter().enumerate() {
                // Poisson count via exponential gaps over the working day.
                let mut t = 0.0;
                loop {
                    t += r.exp(1.0 / p.per_day.max(1e-9));
                    if t >= 1.0 {
                        break;
                    }
                    let secs = 8 * 3600 + (t * 10.0 * 3600.0) as u32;
                    reads.push((secs, pi, 1 + r.below(p.actors.max(1))));
                }
            }
            reads.sort();
            for (secs, pi, actor) in reads {
                let Some(p) = self.sc.access.get(pi) else { continue };
                let Some(time) = NaiveTime::from_num_seconds_from_midnight_opt(secs.min(86_399), 0) else { continue };
                let Some(ts) = zone.from_local_datetime(&date.and_time(time)).earliest() else { continue };
                let store = p.store.as_deref().unwrap_or(&self.sc.store);
                let fields: Vec<String> = p.fields.iter().map(|f| json_string(f)).collect();
                let text = format!(
                    "{{\"ts\":\"{}\",\"actor\":{},\"role\":{},\"store\":{},\"fields\":[{}],\"purpose\":{}}}\n",
                    ts.fixed_offset().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                    json_string(&expand(&p.actor, actor).unwrap_or_else(|| p.actor.clone())),
                    json_string(&p.role),
                    json_string(store),
                    fields.join(","),
                    json_string(&p.purpose),
                );
                line += 1;
                let role_ok = self.scope.role(&p.role).is_some_and(|a| a.purposes.contains(&p.purpose));
                let fields_ok = p.fields.iter().all(|f| {
                    self.scope
                        .declaration_for(f)
                        .and_then(|i| self.scope.raw.collect.get(i))
                        .is_none_or(|c| c.purposes.is_empty() || c.purposes.contains(&p.purpose))
                });
                let labels = if role_ok && fields_ok {
                    Vec::new()
                } else {
                    vec![Label {
                        file: files::ACCESS.into(),
                        line,
                        rule: PURPOSE_CREEP.into(),
                        target: Target::new(TargetKind::Role, p.role.clone()),
                        person: None,
                        cause: "access".into(),
                    }]
                };
                each(&text, labels)?;
            }
        }
        Ok(())
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A YAML scalar: plain when safe, else double-quoted (JSON strings are valid YAML).
fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !s.starts_with(['-', '.'])
        && s.parse::<f64>().is_err()
        && !matches!(s, "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "~");
    if plain { s.to_string() } else { json_string(s) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_templates() {
        assert_eq!(expand("e-{n:05}", 42).as_deref(), Some("e-00042"));
        assert_eq!(expand("{n}", 7).as_deref(), Some("7"));
        assert_eq!(expand("u_{n}_x", 3).as_deref(), Some("u_3_x"));
        assert_eq!(expand("nothing", 3), None);
        assert_eq!(expand("bad {n:x}", 3), None);
    }

    #[test]
    fn label_rules_are_built_in_rules() {
        let pack = crate::rules::RulePack::builtin().unwrap_or_else(|e| panic!("{e}"));
        for id in LABEL_RULES {
            assert!(pack.rules().iter().any(|r| r.id == *id), "{id} is not a built-in rule");
        }
    }

    /// `with_days` gives the bytes the scenario gives with that `days:` line, and keeps the bound.
    #[test]
    fn with_days_is_the_days_line() {
        let all = |g: &Generator| {
            let mut text = String::new();
            for i in 0..g.chunks() {
                text.push_str(&g.chunk(i).text);
            }
            let mut access = String::new();
            let _ = g.access_log(|line, _| {
                access.push_str(line);
                Ok(())
            });
            (text, access, g.scope_yaml().to_string(), g.stores_yaml().0)
        };
        let text = include_str!("../../../../fixtures/scenarios/workday.yaml").replace("count: 300", "count: 6");
        let line = text.lines().find(|l| l.starts_with("days:")).unwrap_or_else(|| panic!("no days line"));
        let two = text.replacen(line, "days: 2", 1);
        let from_text = Generator::new(&two, "w", None).unwrap_or_else(|e| panic!("{e}"));
        let cut = Generator::new(&text, "w", None).and_then(|g| g.with_days(2)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cut.scenario().days, 2);
        assert_eq!(all(&cut), all(&from_text));
        assert!(Generator::new(&text, "w", None).and_then(|g| g.with_days(0)).is_err());
        assert!(Generator::new(&text, "w", None).and_then(|g| g.with_days(3661)).is_err());
    }
}
