//! Fuzz target functions: one per parser or loader. Each takes arbitrary bytes and must never
//! panic, hang or allocate without bound. The cargo-fuzz targets in `fuzz/` call these, and
//! `tests/corpus.rs` replays every committed corpus through them.
//!
//! Besides "does not crash", each target checks what it cheaply can, and panics (with `assert!`)
//! only when an invariant breaks, that is on a real bug:
//!
//! - an error names the file it was given, is of the kind of that file, has a message, points
//!   inside the text, and miette can draw it (as the CLI does);
//! - an audit counts every line it read as either evaluated or rejected, and its report prints in
//!   every format;
//! - a decision on an event that could not be decided is `deny`; a `redact` removes something, and
//!   the redacted event does not need redacting again at those paths;
//! - the capture reader's leaves are those of a plain JSON walk of the same data, and its fast
//!   path reads every line as its serde reader does;
//! - the wasm plugin decides exactly as the native library, and never traps.

use scopecheck::audit::{AuditOptions, Auditor, Input, InputKind};
use scopecheck::bundle::Bundle;
use scopecheck::decide::{Action, DecideOptions, Decider, Decision, ErrorCode, Mode, Verdict};
use scopecheck::detect::Detectors;
use scopecheck::eval::{Engine, Options};
use scopecheck::observe::{parse_access, parse_capture, parse_capture_reference, parse_inventory};
use scopecheck::report::{Format, Report};
use scopecheck::rules::RulePack;
use scopecheck::scope::CompiledScope;
use scopecheck::target::TargetKind;
use scopecheck::taxonomy::Taxonomy;
use scopecheck::{Error, ErrorKind, Setup, Source};
use scopecheck_host::{HostConfig, HostError, Plugin, PluginModule};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// The names the targets give their inputs; errors must carry them.
pub const SCOPE_FILE: &str = "fuzz-scope.yaml";
/// See [`SCOPE_FILE`].
pub const STORES_FILE: &str = "fuzz-stores.yaml";
/// See [`SCOPE_FILE`].
pub const ACCESS_FILE: &str = "fuzz-access.jsonl";
/// See [`SCOPE_FILE`].
pub const CAPTURES_FILE: &str = "fuzz-captures.jsonl";
/// See [`SCOPE_FILE`].
pub const BUNDLE_FILE: &str = "fuzz.bundle";
/// See [`SCOPE_FILE`].
pub const POLICY_FILE: &str = "fuzz.cedar";

/// The scope every target that needs one evaluates against.
pub const MCI_SCOPE: &str = include_str!("../../../fixtures/mci/scope.yaml");
/// Its observed store inventory.
pub const MCI_STORES: &str = include_str!("../../../fixtures/mci/stores.yaml");

/// A fuzz target.
pub type Target = fn(&[u8]);

/// The targets, by name: the folder names of `fuzz/corpus/` and `fuzz/regressions/`.
pub const TARGETS: [(&str, Target); 7] = [
    ("scope", scope),
    ("stores", stores),
    ("access", access),
    ("capture", capture),
    ("bundle", bundle),
    ("policies", policies),
    ("plugin_abi", plugin_abi),
];

/// A few events of different shapes and findings, without `program` (so any scope's program
/// takes them).
const SAMPLE_EVENTS: [&str; 7] = [
    r#"{"ts":"2026-05-11T09:09:07-07:00","subject":"e-1","subject_kind":"employee","source":"desktop-agent","store":"mci-raw","data":{"ui":{"action":"click","element_id":"btn-refresh","label":"Refresh"}}}"#,
    r#"{"ts":"2026-05-11T09:09:11-07:00","subject":"e-2","subject_kind":"employee","store":"mci-raw","data":{"input":{"keystrokes":[{"interval_ms":191,"dwell_ms":82},{"interval_ms":357,"dwell_ms":114}],"pointer":{"x":3,"y":-1.5}}}}"#,
    r#"{"ts":"2026-05-11T09:15:33-07:00","subject":"e-3","subject_kind":"employee","store":"mci-raw","data":{"session":{"replay":"4b9QIm3jTXcC6Nr9nam0q2p2cFM2dv54MnL8HiiEIGFjcdSPUAwHIf0/yn1Q0aYmKB5nqY/GgNuSdepspeuFQ2mDzOksIbZ/c/5hoeSulgl0YQ=="}}}"#,
    r#"{"ts":"2026-05-11T09:39:22-07:00","subject":"e-4","subject_kind":"employee","store":"mci-scratch","data":{"screen":{"ocr_text":"Name: Jordan Q. Sample    SSN 536-22-1847, card 4111 1111 1111 1111, jordan@example.com"}}}"#,
    r#"{"ts":"2026-05-11T12:03:15-07:00","subject":"e-5","subject_kind":"contractor","data":{"chat":{"messages":[{"text":"hey, can't make it, my therapist moved my appointment"},{"text":"call me at +1 415 555 0100"}]},"ui":{"action":"x"}}}"#,
    r#"{"ts":"2026-05-16T22:58:02Z","subject":12345,"subject_kind":"visitor","source":"hr-sync","store":"elsewhere","data":{"hr":{"review":{"rating":2,"text":"performance improvement plan"}},"input":{"pointer":{"x":1}}}}"#,
    r#"{"ts":"2026-05-12T10:58:02-07:00","data":{"ui":{"action":"open","password":"hunter2","api_key":"AKIAIOSFODNN7EXAMPLE"},"gps":{"lat":37.77,"lon":-122.41}}}"#,
];

/// Access entries against the sample scope.
const SAMPLE_ACCESS: [&str; 3] = [
    r#"{"ts":"2026-05-11T09:11:37-07:00","actor":"u-2210","role":"ml-research","store":"mci-raw","fields":["input.pointer.y","ui.action"],"purpose":"model_training"}"#,
    r#"{"ts":"2026-05-11T11:17:10-07:00","actor":"u-1077","role":"hr","store":"mci-scratch","fields":["chat.messages[3].text","hr.review.text"],"purpose":"performance_review"}"#,
    r#"{"ts":"2026-05-11T23:17:10Z","role":"ml-research","fields":[],"purpose":"model_training"}"#,
];

// ---------------------------------------------------------------------------------------------
// Shared, built once.

/// A failure of the fuzzing set-up itself (not of the input): there is nothing to fuzz.
#[track_caller]
fn setup_failed(what: &str, e: &dyn std::fmt::Display) -> ! {
    bug(format!("fuzz set-up: {what}: {e}"))
}

/// A broken invariant: the one way a target fails.
#[track_caller]
#[expect(clippy::panic, reason = "a fuzz target reports a bug by panicking")]
fn bug(message: String) -> ! {
    panic!("{message}")
}

fn taxonomy() -> &'static Taxonomy {
    static T: OnceLock<Taxonomy> = OnceLock::new();
    T.get_or_init(|| Taxonomy::builtin().unwrap_or_else(|e| setup_failed("taxonomy", &e)))
}

fn detectors() -> Detectors {
    Detectors::builtin().unwrap_or_else(|e| setup_failed("detectors", &e))
}

fn builtin_rules() -> &'static RulePack {
    static R: OnceLock<RulePack> = OnceLock::new();
    R.get_or_init(|| RulePack::builtin().unwrap_or_else(|e| setup_failed("rules", &e)))
}

fn mci_scope() -> &'static CompiledScope {
    static S: OnceLock<CompiledScope> = OnceLock::new();
    S.get_or_init(|| {
        CompiledScope::load(MCI_SCOPE, "mci/scope.yaml", taxonomy()).unwrap_or_else(|e| setup_failed("scope", &e))
    })
}

fn mci_setup() -> Setup {
    Setup {
        scope: Some(Source::new("mci/scope.yaml", MCI_SCOPE)),
        stores: Some(Source::new("mci/stores.yaml", MCI_STORES)),
        ..Setup::default()
    }
}

/// The engine `scopecheck audit --scope fixtures/mci/scope.yaml --stores …` builds.
fn mci_engine() -> Arc<Engine> {
    static E: OnceLock<Arc<Engine>> = OnceLock::new();
    Arc::clone(E.get_or_init(|| Arc::new(mci_setup().build().unwrap_or_else(|e| setup_failed("engine", &e)))))
}

/// The bundle `scopecheck bundle --scope fixtures/mci/scope.yaml --stores …` writes.
pub fn mci_bundle() -> Arc<[u8]> {
    static B: OnceLock<Arc<[u8]>> = OnceLock::new();
    Arc::clone(B.get_or_init(|| {
        Bundle::from_setup(&mci_setup(), scopecheck::bundle::BundleOptions::default())
            .and_then(|b| b.to_bytes())
            .unwrap_or_else(|e| setup_failed("bundle", &e))
            .into()
    }))
}

/// An engine over these parts, the rest the built-in ones.
fn engine_with(scope: CompiledScope, rules: RulePack, inventory: Vec<scopecheck::observe::ObservedStore>) -> Engine {
    Engine::new(scope, taxonomy().clone(), detectors(), rules, inventory, Options::default())
}

// ---------------------------------------------------------------------------------------------
// Invariants.

/// Known bugs let through by [`tolerate`].
static TOLERATED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Lets the known bug `id` through: one whose fix is pending, whose reproducer is
/// `fuzz/regressions/<target>/pending-<id>…`. The replay test tolerates exactly the bugs that have a
/// pending reproducer, so the rest of the corpus (which may reach the same bug) still replays;
/// fuzzing tolerates those listed in `SCOPECHECK_FUZZ_PENDING` (comma-separated, or `all`), so
/// that it goes on past them.
pub fn tolerate(id: &str) {
    let mut list = TOLERATED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !list.iter().any(|s| s == id) {
        list.push(id.to_string());
    }
}

/// Is the known bug `id` let through? (No bug is pending now; the invariants call this for the
/// next one.)
#[allow(dead_code, reason = "used by an invariant while a bug's fix is pending")]
fn tolerated(id: &str) -> bool {
    static FROM_ENV: OnceLock<Vec<String>> = OnceLock::new();
    let env = FROM_ENV.get_or_init(|| {
        std::env::var("SCOPECHECK_FUZZ_PENDING")
            .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
            .unwrap_or_default()
    });
    let listed = TOLERATED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    env.iter().chain(listed.iter()).any(|s| s == id || s == "all")
}

/// An error about the input `text` given as `file`, of `kind`.
fn check_error(e: &Error, file: &str, text: &str, kind: ErrorKind) {
    assert_eq!(e.location.file, file, "the error names another file: {e}");
    assert_eq!(e.kind, kind, "the error is of another kind: {e}");
    check_error_shape(e, Some(text));
}

/// An error's position is inside its text (when known) and miette can draw it.
fn check_error_shape(e: &Error, text: Option<&str>) {
    assert!(!e.message.trim().is_empty(), "an error without a message: {e:?}");
    assert!(!e.location.file.is_empty(), "an error without a file: {e:?}");
    if let Some(text) = text {
        if let Some(line) = e.location.line {
            // As YAML counts them: `\r\n`, `\r` and `\n` each end a line.
            let lines = text.replace("\r\n", "\n").split(['\n', '\r']).count();
            assert!((1..=lines).contains(&line), "line {line} of a text of {lines} lines: {e}");
        }
        if let Some(span) = e.span {
            assert!(span.offset() <= text.len(), "a span at {} in a text of {} bytes: {e}", span.offset(), text.len());
        }
    }
    if let Some(col) = e.location.column {
        assert!(col >= 1, "column 0: {e}");
    }
    if e.location.column.is_some() {
        assert!(e.location.line.is_some(), "a column without a line: {e}");
    }
    let mut out = String::new();
    let drawn = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, e);
    assert!(drawn.is_ok(), "miette cannot draw the error: {e:?}");
}

/// Every format prints the report.
fn check_report(report: &Report) {
    for format in Format::ALL {
        let text = scopecheck::report::render(report, format, false);
        assert!(!text.is_empty(), "the {format} report is empty");
    }
    let s = &report.summary;
    assert_eq!(s.records_read, s.records_evaluated + s.records_rejected, "records lost: {s:?}");
    assert_eq!(s.access_read, s.access_evaluated + s.access_rejected, "access entries lost: {s:?}");
}

/// Checks one decision of the native decider on `line`.
fn check_decision(decider: &mut Decider, line: &str, d: &Decision) {
    if d.error.is_some() {
        assert_eq!((d.decision, d.would), (Verdict::Deny, Verdict::Deny), "an undecided event not denied: {d:?}");
        assert!(d.findings.is_empty() && d.event.is_none(), "an undecided event with findings: {d:?}");
        if let Some(e) = &d.error {
            assert!(
                !matches!(e.code, ErrorCode::Internal),
                "scopecheck could not decide (an internal error) on {line:?}: {}",
                e.message
            );
        }
        return;
    }
    if d.mode == Mode::Monitor {
        assert_eq!(d.decision, Verdict::Allow, "monitor blocked: {d:?}");
    } else {
        assert_eq!(d.decision, d.would, "enforce decided other than it would: {d:?}");
    }
    let denies = d.findings.iter().any(|f| f.action == Action::Deny);
    let redacts = d.findings.iter().any(|f| f.action == Action::Redact);
    let want = if denies {
        Verdict::Deny
    } else if redacts {
        Verdict::Redact
    } else {
        Verdict::Allow
    };
    assert_eq!(d.would, want, "the verdict does not follow the findings: {d:?}");
    for f in &d.findings {
        if f.action == Action::Redact {
            assert_eq!(f.target.kind, TargetKind::Field, "a redaction of something not a field: {f:?}");
        }
    }
    if d.decision != Verdict::Redact {
        assert!(d.event.is_none() && d.removed.is_empty(), "an event without a redaction: {d:?}");
        return;
    }
    assert!(!d.removed.is_empty(), "a redaction that removes nothing: {d:?}");
    let Some(event) = &d.event else { bug(format!("a redaction without its event: {d:?}")) };
    // The redacted event is decided again: what was removed is gone, so it cannot be removed again.
    let again = decider.decide_line(&event.to_string());
    assert!(again.error.is_none(), "the redacted event cannot be decided: {again:?}\nfrom {line:?}");
    for f in &again.findings {
        assert!(
            !(f.action == Action::Redact && d.removed.contains(&f.target.id)),
            "field `{}` is still there after its redaction:\n{line}\n{event}",
            f.target.id
        );
    }
}

/// The capture reader's fast path and its serde reader give the same capture, or the same
/// rejection.
fn check_readers(line: &str) {
    assert_eq!(parse_capture(line), parse_capture_reference(line), "the capture readers disagree on {line}");
}

/// The capture reader gives the leaves a plain walk of the same JSON gives.
fn check_leaves(line: &str) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else { return };
    let (Some(ts), Some(data)) = (value.get("ts"), value.get("data")) else { return };
    if !data.is_object() {
        return;
    }
    // Re-written without repeated keys, in the order serde_json keeps them.
    let canonical = serde_json::json!({"ts": ts, "data": data}).to_string();
    let Ok(cap) = parse_capture(&canonical) else { return };
    let mut want = Vec::new();
    let complete = scopecheck::pattern::walk_leaves(data, |l| {
        let v = match l.value {
            serde_json::Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        want.push((l.path.to_string(), v));
    });
    let got: Vec<(String, String)> = cap.leaves().map(|(p, v)| (p.to_string(), v.to_string())).collect();
    if complete && cap.complete() {
        assert_eq!(got, want, "the capture reader and the JSON walk disagree on {canonical}");
    }
    assert_eq!(complete, cap.complete(), "the capture reader and the JSON walk disagree on depth: {canonical}");
}

// ---------------------------------------------------------------------------------------------
// The targets.

/// The scope manifest: parsed and compiled; a scope that compiles is then used to evaluate a
/// few events and access entries (its patterns, windows, stores and roles in real use).
pub fn scope(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let compiled = match CompiledScope::load(text, SCOPE_FILE, taxonomy()) {
        Ok(s) => s,
        Err(e) => return check_error(&e, SCOPE_FILE, text, ErrorKind::Scope),
    };
    let engine = Arc::new(engine_with(compiled, builtin_rules().clone(), Vec::new()));
    audit_samples(engine);
}

/// The store inventory: parsed; an inventory that parses is audited with the MCI scope.
pub fn stores(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let inventory = match parse_inventory(text, STORES_FILE) {
        Ok(i) => i,
        Err(e) => return check_error(&e, STORES_FILE, text, ErrorKind::Stores),
    };
    let engine = Arc::new(engine_with(mci_scope().clone(), builtin_rules().clone(), inventory));
    let mut auditor = match Auditor::new(engine, AuditOptions::default()) {
        Ok(a) => a,
        Err(e) => return check_error_shape(&e, None),
    };
    let captures = SAMPLE_EVENTS.iter().map(|e| e.replacen('{', r#"{"program":"mci","#, 1)).collect::<Vec<_>>();
    let captures = captures.join("\n");
    let input = Input {
        name: CAPTURES_FILE.into(),
        kind: InputKind::Captures,
        reader: Box::new(captures.as_bytes()),
        digest: None,
    };
    if let Err(e) = auditor.read(input) {
        return check_error_shape(&e, None);
    }
    match auditor.finish() {
        Ok(report) => check_report(&report),
        Err(e) => check_error_shape(&e, None),
    }
}

/// Audits `data` as one input of `kind` with the MCI engine.
fn audit_bytes(data: &[u8], name: &str, kind: InputKind) -> Report {
    let mut auditor =
        Auditor::new(mci_engine(), AuditOptions::default()).unwrap_or_else(|e| setup_failed("auditor", &e));
    let input = Input { name: name.into(), kind, reader: Box::new(data), digest: None };
    if let Err(e) = auditor.read(input) {
        // Only a reader that fails can stop an audit that is not strict; a slice does not fail.
        bug(format!("an audit of {name} stopped: {e}"));
    }
    let report = auditor.finish().unwrap_or_else(|e| bug(format!("an audit of {name} failed: {e}")));
    check_report(&report);
    let lines = data.split(|b| *b == b'\n').count() as u64;
    for r in &report.rejected {
        assert_eq!(r.file, name, "a rejection names another file: {r:?}");
        assert!((1..=lines).contains(&r.line), "a rejection at line {} of {lines}: {r:?}", r.line);
        assert!(!r.reason.is_empty(), "a rejection without a reason: {r:?}");
    }
    let digest = report.provenance.inputs.iter().find(|i| i.file == name);
    assert_eq!(digest.map(|d| d.bytes), Some(data.len() as u64), "the input's digest is not over its bytes");
    report
}

/// The access log: an audit of the bytes as an access log (line reading, UTF-8, parsing, Cedar).
pub fn access(data: &[u8]) {
    let report = audit_bytes(data, ACCESS_FILE, InputKind::Access);
    assert_eq!(report.summary.records_read, 0, "an access log read as captures");
    for line in data.split(|b| *b == b'\n') {
        if let Ok(line) = std::str::from_utf8(line)
            && let Ok(a) = parse_access(line.trim_end_matches('\r'))
        {
            // What was read writes back as an entry that reads the same.
            let again = serde_json::to_string(&a.entry)
                .map_err(|e| e.to_string())
                .and_then(|t| parse_access(&t).map_err(|r| r.reason));
            match again {
                Ok(b) => assert_eq!(b.entry, a.entry, "an access entry written and read again changed"),
                Err(e) => bug(format!("an access entry written back does not read: {e}")),
            }
        }
    }
}

/// The capture reader with classification: an audit of the bytes as a capture file with the MCI
/// engine; then each line decided (and its redaction decided again) and read against a plain
/// JSON walk.
pub fn capture(data: &[u8]) {
    let report = audit_bytes(data, CAPTURES_FILE, InputKind::Captures);
    assert_eq!(report.summary.access_read, 0, "captures read as an access log");
    let mut decider =
        Decider::new(mci_engine(), DecideOptions::default()).unwrap_or_else(|e| setup_failed("decider", &e));
    for line in data.split(|b| *b == b'\n') {
        let Ok(line) = std::str::from_utf8(line) else { continue };
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let d = decider.decide_line(line);
        check_decision(&mut decider, line, &d);
        if d.error.is_none() {
            // The same event in monitor mode: allowed, and it would be what enforce decided.
            let enforce = decider.options();
            decider.set_options(DecideOptions { mode: Mode::Monitor, ..enforce });
            let m = decider.decide_line(line);
            decider.set_options(enforce);
            assert_eq!((m.decision, m.would), (Verdict::Allow, d.would), "monitor and enforce disagree on {line}");
            assert_eq!(m.findings, d.findings, "monitor and enforce find differently on {line}");
        }
        check_leaves(line);
        check_readers(line);
    }
    // Classification of the raw text as one value: spans inside the text, on character boundaries.
    if let Ok(text) = std::str::from_utf8(data) {
        for d in mci_engine().detectors.scan(text) {
            assert!(d.start <= d.end && d.end <= text.len(), "a detection outside its text: {d:?}");
            assert!(
                text.is_char_boundary(d.start) && text.is_char_boundary(d.end),
                "a detection inside a character: {d:?}"
            );
            assert!((0.0..=1.0).contains(&d.confidence), "a confidence outside 0..=1: {d:?}");
        }
    }
}

/// The bundle loader: `data` as a bundle file, then as the payload of a well-formed container
/// (so the fuzzer reaches past the digest check); a payload that loads builds its engine and
/// decides the sample events.
pub fn bundle(data: &[u8]) {
    match Bundle::from_bytes(data, BUNDLE_FILE) {
        Ok(b) => load_engine(&b),
        Err(e) => {
            assert_eq!(e.location.file, BUNDLE_FILE, "the error names another file: {e}");
            assert_eq!(e.kind, ErrorKind::Bundle, "the error is of another kind: {e}");
            check_error_shape(&e, None);
        }
    }
    let Ok(payload) = std::str::from_utf8(data) else { return };
    let container = serde_json::json!({
        "format": scopecheck::bundle::FORMAT,
        "format_version": scopecheck::bundle::FORMAT_VERSION,
        "scopecheck_version": scopecheck::bundle::crate_version(),
        "sha256": scopecheck::bundle::sha256_hex(payload.as_bytes()),
        "payload": payload,
    });
    match Bundle::from_bytes(container.to_string().as_bytes(), BUNDLE_FILE) {
        Ok(b) => {
            assert_eq!(b.digest, scopecheck::bundle::sha256_hex(payload.as_bytes()), "the digest is not the payload's");
            // What loads writes back the same payload.
            let bytes = b.to_bytes().unwrap_or_else(|e| bug(format!("a loaded bundle cannot be written: {e}")));
            let back = Bundle::from_bytes(&bytes, BUNDLE_FILE)
                .unwrap_or_else(|e| bug(format!("a written bundle does not load: {e}")));
            assert_eq!(back.payload, b.payload, "a bundle written and read again changed");
            load_engine(&b);
        }
        Err(e) => {
            assert_eq!(e.location.file, BUNDLE_FILE, "the error names another file: {e}");
            check_error_shape(&e, None);
        }
    }
}

/// Builds a loaded bundle's engine and decides the sample events with it.
fn load_engine(b: &Bundle) {
    let mut decider = match Decider::from_bundle(b) {
        Ok(d) => d,
        Err(e) => {
            let p = &b.payload;
            let mut names = vec![p.scope.name.as_str(), p.taxonomy.name.as_str()];
            names.extend(p.stores.iter().map(|s| s.name.as_str()));
            names.extend(p.detectors.iter().map(|s| s.name.as_str()));
            names.extend(p.policies.iter().map(|s| s.name.as_str()));
            let text = [&p.scope, &p.taxonomy]
                .into_iter()
                .chain(&p.stores)
                .chain(&p.detectors)
                .chain(&p.policies)
                .find(|t| t.name == e.location.file)
                .map(|t| t.text.as_str());
            assert!(
                names.contains(&e.location.file.as_str())
                    || e.location.file.starts_with('<')
                    || e.location.file.starts_with("--"),
                "the error names a file the bundle does not hold: {e}"
            );
            check_error_shape(
                &e,
                if names.iter().filter(|n| **n == e.location.file).count() == 1 { text } else { None },
            );
            return;
        }
    };
    let program = decider.evaluator().engine().scope.raw.program.clone();
    for event in SAMPLE_EVENTS {
        let d = decider.decide_line(event);
        check_decision(&mut decider, event, &d);
        let mut with_program = serde_json::from_str::<serde_json::Value>(event).unwrap_or_default();
        if let Some(o) = with_program.as_object_mut() {
            o.insert("program".into(), program.clone().into());
        }
        let line = with_program.to_string();
        let d = decider.decide_line(&line);
        check_decision(&mut decider, &line, &d);
    }
}

/// User Cedar policies: loaded into the rule pack over the built-in rules; a pack that loads audits the
/// sample events and access entries with the MCI scope.
pub fn policies(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut rules = builtin_rules().clone();
    if let Err(e) = rules.add_source(text, POLICY_FILE) {
        return check_error(&e, POLICY_FILE, text, ErrorKind::Policy);
    }
    let engine = Arc::new(engine_with(mci_scope().clone(), rules, Vec::new()));
    audit_samples(engine);
}

/// Audits the sample events and access entries with `engine`, checking the report or the error.
fn audit_samples(engine: Arc<Engine>) {
    let mut auditor = match Auditor::new(engine, AuditOptions::default()) {
        Ok(a) => a,
        Err(e) => return check_error_shape(&e, None),
    };
    let captures = SAMPLE_EVENTS.join("\n");
    let access = SAMPLE_ACCESS.join("\n");
    for (name, kind, text) in
        [(CAPTURES_FILE, InputKind::Captures, captures.as_str()), (ACCESS_FILE, InputKind::Access, access.as_str())]
    {
        let input = Input { name: name.into(), kind, reader: Box::new(text.as_bytes()), digest: None };
        if let Err(e) = auditor.read(input) {
            return check_error_shape(&e, None);
        }
    }
    match auditor.finish() {
        Ok(report) => check_report(&report),
        Err(e) => check_error_shape(&e, None),
    }
}

// ---------------------------------------------------------------------------------------------
// The plugin ABI, through the host crate.

/// Where the built plugin is: `$SCOPECHECK_PLUGIN`, or `wasm32-wasip1/plugin/scopecheck_plugin.wasm`
/// under `$CARGO_TARGET_DIR` or the workspace's `target/`.
pub fn plugin_wasm_path() -> PathBuf {
    if let Some(p) = std::env::var_os("SCOPECHECK_PLUGIN") {
        return PathBuf::from(p);
    }
    target_dir().join("wasm32-wasip1/plugin/scopecheck_plugin.wasm")
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    }
}

/// The host's defaults, as in production (a second a decision, twenty seconds a bundle load).
fn host_config() -> HostConfig {
    HostConfig::default()
}

fn module() -> Arc<PluginModule> {
    static M: OnceLock<Arc<PluginModule>> = OnceLock::new();
    Arc::clone(M.get_or_init(|| {
        // The host crate's tests cache the same module there: one compilation for both.
        let cache = target_dir().join("scopecheck-test-cache");
        Arc::new(
            PluginModule::cached(&plugin_wasm_path(), &cache, host_config())
                .unwrap_or_else(|e| setup_failed("the wasm plugin", &e)),
        )
    }))
}

/// The plugin with the MCI bundle, and the native decider over the same bundle.
fn deciders() -> &'static Mutex<(Plugin, Decider)> {
    static D: OnceLock<Mutex<(Plugin, Decider)>> = OnceLock::new();
    D.get_or_init(|| {
        let bundle = mci_bundle();
        let plugin = Plugin::new(module(), Arc::clone(&bundle)).unwrap_or_else(|e| setup_failed("plugin", &e));
        let native = Bundle::from_bytes(&bundle, "mci.bundle")
            .and_then(|b| Decider::from_bundle(&b))
            .unwrap_or_else(|e| setup_failed("native decider", &e));
        Mutex::new((plugin, native))
    })
}

/// What the plugin does with bytes it is given, natively (`wasm/plugin`'s `Plugin::decide`).
fn native_decide(decider: &mut Decider, event: &[u8]) -> Decision {
    let max = decider.options().max_event_bytes;
    if event.len() > max {
        return Decision::failure(
            decider.options().mode,
            ErrorCode::TooLarge,
            format!("the event is {} bytes, over the {max} byte limit", event.len()),
        );
    }
    match std::str::from_utf8(event) {
        Ok(text) => decider.decide_line(text),
        Err(e) => Decision::failure(decider.options().mode, ErrorCode::InvalidEvent, format!("not UTF-8: {e}")),
    }
}

/// Asserts the plugin decided as the native library.
fn same_decision(wasm: Result<Decision, HostError>, native: &Decision, event: &[u8]) {
    let wasm = match wasm {
        Ok(d) => d,
        Err(e) => bug(format!("the plugin failed ({e}) on {:?}", String::from_utf8_lossy(event))),
    };
    assert_eq!(&wasm, native, "the plugin and the library decide differently on {:?}", String::from_utf8_lossy(event));
}

/// The plugin ABI: `data` is an event for the plugin with the MCI bundle, decided as the native
/// library decides it; or, when it starts with a zero byte, the rest is a bundle for a fresh
/// instance, which must refuse it as the library does (or, if it loads, decide as the library).
pub fn plugin_abi(data: &[u8]) {
    if let Some(bundle) = data.strip_prefix(&[0u8]) {
        let native = Bundle::from_bytes(bundle, "<bundle>").and_then(|b| Decider::from_bundle(&b));
        let plugin = Plugin::new(module(), bundle.into());
        match (plugin, native) {
            (Ok(mut p), Ok(mut n)) => {
                for event in SAMPLE_EVENTS {
                    let wasm = p.try_decide(event.as_bytes());
                    same_decision(wasm, &native_decide(&mut n, event.as_bytes()), event.as_bytes());
                }
            }
            (Err(HostError::Bundle(_)), Err(_)) => {}
            (Ok(_), Err(e)) => bug(format!("the plugin loads a bundle the library refuses: {e}")),
            (Err(e), Ok(_)) => bug(format!("the plugin refuses a bundle the library loads: {e}")),
            (Err(e), Err(n)) => bug(format!("the plugin failed ({e}) on a bundle the library refuses ({n})")),
        }
        return;
    }
    let mut guard = deciders().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (plugin, native) = &mut *guard;
    let wasm = plugin.try_decide(data);
    let want = native_decide(native, data);
    if want.error.is_some() {
        assert_eq!(want.decision, Verdict::Deny, "an undecided event not denied: {want:?}");
    }
    same_decision(wasm, &want, data);
}
