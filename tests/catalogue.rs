//! The bad-input catalogue: every case of tests/bad_inputs/cases.yaml (the format is described
//! at its top) run through the built binary, each in a folder of its own, with a timeout.
//! None may panic or hang; each exits as the table says, leaves no temporary file, loses no good
//! record around a bad one, and has a snapshot of its exit code and messages
//! (tests/snapshots/catalogue__<name>.snap). `CATALOGUE_CASE=name` runs one case.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A case that runs longer is killed and fails as "hangs".
const TIMEOUT: Duration = Duration::from_secs(60);
/// Lines of stdout or stderr kept in a snapshot.
const SNAPSHOT_LINES: usize = 40;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Kind {
    #[default]
    Captures,
    Access,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Rejected {
    All(AllWord),
    Lines(Vec<u64>),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum AllWord {
    All,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    covers: String,
    #[serde(default)]
    pending: Option<String>,
    // A line case.
    #[serde(default)]
    line: Option<Content>,
    #[serde(default)]
    kind: Kind,
    #[serde(default)]
    fixture: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    extra: Vec<String>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    gzip: bool,
    #[serde(default)]
    prefix: Option<Content>,
    #[serde(default)]
    crlf: bool,
    #[serde(default, rename = "stdin")]
    stdin_input: StdinSpec,
    #[serde(default)]
    evaluated: Option<u64>,
    #[serde(default)]
    rejected: Option<Rejected>,
    #[serde(default)]
    sarif_notifications: Option<usize>,
    // A command case.
    #[serde(default)]
    files: BTreeMap<String, Content>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    stdout_to: Option<String>,
    #[serde(default)]
    exit: Option<i32>,
    #[serde(default)]
    after: After,
}

/// `stdin:` is the text of a command case's standard input, or `true` for a line case read
/// from `-`.
#[derive(Debug, Deserialize, Default)]
#[serde(untagged)]
enum StdinSpec {
    #[default]
    None,
    Flag(bool),
    Text(Content),
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct After {
    #[serde(default)]
    absent: Vec<String>,
    #[serde(default)]
    devices: Vec<String>,
    #[serde(default)]
    same: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
enum Content {
    Text(String),
    Spec(Box<Spec>),
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[serde(default)]
    hex: Option<String>,
    #[serde(default)]
    copy: Option<String>,
    #[serde(default)]
    replace: Vec<(String, Content)>,
    #[serde(default)]
    dir: bool,
    #[serde(default, rename = "gen")]
    generator: Option<String>,
    #[serde(default)]
    bytes: Option<usize>,
    #[serde(default)]
    depth: Option<usize>,
    #[serde(default)]
    levels: Option<usize>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    times: Option<usize>,
    #[serde(default)]
    prefix: Option<Content>,
    #[serde(default)]
    append: Option<String>,
    #[serde(default)]
    gzip: bool,
    #[serde(default)]
    truncate: Option<usize>,
    #[serde(default)]
    flip: Option<usize>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn table() -> Vec<Case> {
    let text = std::fs::read_to_string(root().join("tests/bad_inputs/cases.yaml")).unwrap();
    let t: Table = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("tests/bad_inputs/cases.yaml: {e}"));
    t.cases
}

// ------------------------------------------------------------------------------------ contents

const TS: &str = "2026-05-11T08:10:53-04:00";
const ACCESS_TS: &str = "2026-05-11T09:35:03-04:00";

fn unhex(s: &str) -> Vec<u8> {
    s.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap_or_else(|e| panic!("hex `{b}`: {e}"))).collect()
}

/// A small deterministic generator (xorshift64*), so junk is the same on every run.
fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// The head and tail of a capture line of `n` bytes, around its run of `x`.
fn long_line_parts(n: usize) -> (String, String, usize) {
    let head = format!(r#"{{"ts":"{TS}","program":"ux-telemetry","data":{{"blob":""#);
    let tail = r#""}}"#.to_string();
    let body = n.checked_sub(head.len() + tail.len()).expect("long_line: too short");
    (head, tail, body)
}

fn policy(condition: &str) -> String {
    format!(
        "@id(\"mine\")\n@severity(\"low\")\n@title(\"t\")\n@help(\"h\")\nforbid (principal, action == Scopecheck::Action::\"collect\", resource)\nwhen {{ {condition} }};\n"
    )
}

/// A valid bundle of the clean fixture's scope, with `extra` as one more policy file (its digest
/// right), built through the library.
fn bundle_with_policy(extra: &str) -> Vec<u8> {
    let scope = std::fs::read_to_string(root().join("fixtures/clean/scope.yaml")).unwrap();
    let setup = scopecheck::Setup {
        scope: Some(scopecheck::Source::new("fixtures/clean/scope.yaml", scope)),
        ..scopecheck::Setup::default()
    };
    let b = scopecheck::bundle::Bundle::from_setup(&setup, scopecheck::bundle::BundleOptions::default()).unwrap();
    let mut payload = b.payload.clone();
    if !extra.is_empty() {
        payload.policies.push(scopecheck::bundle::Text { name: "deep.cedar".into(), text: extra.into() });
    }
    scopecheck::bundle::Bundle::from_payload(payload).unwrap().to_bytes().unwrap()
}

fn generate(spec: &Spec) -> Vec<u8> {
    let name = spec.generator.as_deref().unwrap_or_default();
    let depth = || spec.depth.unwrap_or_else(|| panic!("gen {name}: needs `depth`"));
    match name {
        "long_line" => {
            let (head, tail, body) = long_line_parts(spec.bytes.expect("long_line: needs `bytes`"));
            format!("{head}{}{tail}", "x".repeat(body)).into_bytes()
        }
        "deep_data" => {
            let d = depth();
            format!(r#"{{"ts":"{TS}","program":"ux-telemetry","data":{}1{}}}"#, r#"{"a":"#.repeat(d), "}".repeat(d))
                .into_bytes()
        }
        "deep_envelope" => {
            let d = depth();
            format!(
                r#"{{"ts":"{TS}","program":"ux-telemetry","subject_kind":"employee","store":"ux-events","x":{}{},"data":{{"ui":{{"action":"x"}}}}}}"#,
                "[".repeat(d),
                "]".repeat(d)
            )
            .into_bytes()
        }
        "deep_access_fields" => {
            let d = depth();
            format!(
                r#"{{"ts":"{ACCESS_TS}","role":"ux-research","purpose":"product_improvement","fields":{}{}}}"#,
                "[".repeat(d),
                "]".repeat(d)
            )
            .into_bytes()
        }
        "long_access_path" => {
            let path = vec!["a"; depth()].join(".");
            format!(
                r#"{{"ts":"{ACCESS_TS}","role":"ux-research","purpose":"product_improvement","fields":["{path}.zz"]}}"#
            )
            .into_bytes()
        }
        "deep_pattern_path" => {
            let d = depth();
            let keys: Vec<String> = (0..d).map(|i| format!("k{i}")).collect();
            let open: String = keys.iter().map(|k| format!(r#"{{"{k}":"#)).collect();
            format!(
                r#"{{"ts":"{TS}","program":"ux-telemetry","subject_kind":"employee","store":"ux-events","data":{open}1{}}}"#,
                "}".repeat(d)
            )
            .into_bytes()
        }
        "deep_yaml" => {
            let d = depth();
            format!("program: ux-telemetry\ncollect: {}{}\n", "[".repeat(d), "]".repeat(d)).into_bytes()
        }
        "deep_cedar" => {
            let d = depth();
            policy(&format!("{}context.in_window{}", "(".repeat(d), ")".repeat(d))).into_bytes()
        }
        "alias_bomb" => {
            let levels = spec.levels.expect("alias_bomb: needs `levels`");
            let names: Vec<String> = (0..=levels).map(|i| format!("l{i}")).collect();
            let mut items = vec![format!("&{} [x, x, x, x, x, x, x, x, x]", names[0])];
            for i in 1..=levels {
                items.push(format!("&{} [{}]", names[i], vec![format!("*{}", names[i - 1]); 9].join(", ")));
            }
            format!("program: ux-telemetry\nversion: [{}]\ncollect: []\n", items.join(", ")).into_bytes()
        }
        "random" => random_bytes(spec.bytes.expect("random: needs `bytes`"), spec.seed.unwrap_or(1)),
        "repeat" => {
            let text = spec.text.as_deref().expect("repeat: needs `text`");
            vec![text; spec.times.expect("repeat: needs `times`")].join("\n").into_bytes()
        }
        "enforce_events" => {
            let good = good_records(Kind::Captures, "clean");
            let mut out = Vec::new();
            out.extend_from_slice(good.0.as_bytes());
            out.extend_from_slice(b"\nnot json\n\xff\xfe{}\n");
            let mut long =
                generate(&Spec { generator: Some("long_line".into()), bytes: Some(2000), ..Spec::default() });
            out.append(&mut long);
            out.push(b'\n');
            out.extend_from_slice(good.1.as_bytes());
            out.push(b'\n');
            out
        }
        "bundle_with_policy" => {
            let extra = match (spec.depth, spec.text.as_deref()) {
                (Some(d), _) => policy(&format!("{}context.in_window{}", "(".repeat(d), ")".repeat(d))),
                (None, Some(t)) => t.to_string(),
                (None, None) => String::new(),
            };
            bundle_with_policy(&extra)
        }
        other => panic!("unknown generator `{other}`"),
    }
}

/// The bytes of a content (`None` for a folder).
fn bytes_of(c: &Content) -> Option<Vec<u8>> {
    let spec = match c {
        Content::Text(t) => return Some(t.clone().into_bytes()),
        Content::Spec(s) => s,
    };
    if spec.dir {
        return None;
    }
    let mut out = match (&spec.hex, &spec.copy, &spec.generator) {
        (Some(h), None, None) => unhex(h),
        (None, Some(f), None) => {
            let mut b = std::fs::read(root().join(f)).unwrap_or_else(|e| panic!("copy {f}: {e}"));
            for (from, to) in &spec.replace {
                let to = bytes_of(to).expect("replace: not a folder");
                let at = b
                    .windows(from.len())
                    .position(|w| w == from.as_bytes())
                    .unwrap_or_else(|| panic!("copy {f}: `{from}` is not in it"));
                b.splice(at..at + from.len(), to);
            }
            b
        }
        (None, None, Some(_)) => generate(spec),
        (None, None, None) => spec.text.clone().unwrap_or_default().into_bytes(),
        _ => panic!("a content is one of hex, copy, gen, text: {spec:?}"),
    };
    if let Some(p) = &spec.prefix {
        let mut b = bytes_of(p).expect("prefix: not a folder");
        b.append(&mut out);
        out = b;
    }
    if spec.gzip {
        out = gzip(&out);
    }
    if let Some(a) = &spec.append {
        out.extend_from_slice(a.as_bytes());
    }
    if let Some(n) = spec.truncate {
        out.truncate(n);
    }
    if let Some(i) = spec.flip {
        out[i] ^= 0xff;
    }
    Some(out)
}

/// The first two records of a fixture's captures (or access log).
fn good_records(kind: Kind, fixture: &str) -> (String, String) {
    let file = match kind {
        Kind::Captures => "captures.jsonl",
        Kind::Access => "access.jsonl",
    };
    let text = std::fs::read_to_string(root().join("fixtures").join(fixture).join(file)).unwrap();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    (lines.next().unwrap().to_string(), lines.next().unwrap().to_string())
}

/// Line numbers (from 2) of the non-blank lines of a bad block, as the reader splits them.
fn record_lines(block: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    for (i, seg) in block.split(|b| *b == b'\n').enumerate() {
        let mut seg = seg;
        while let Some(s) = seg.strip_suffix(b"\r") {
            seg = s;
        }
        let blank = std::str::from_utf8(seg).is_ok_and(|t| t.trim().is_empty());
        if !blank {
            out.push(i as u64 + 2);
        }
    }
    out
}

// ------------------------------------------------------------------------------------ running

struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    timed_out: bool,
    took: Duration,
}

fn run(dir: &Path, args: &[String], stdin: Option<Vec<u8>>, stdout_to: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scopecheck"));
    cmd.args(args).current_dir(dir).env("NO_COLOR", "1").env_remove("RUST_BACKTRACE").stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    match stdout_to {
        Some(path) => cmd.stdout(std::fs::OpenOptions::new().write(true).open(path).unwrap()),
        None => cmd.stdout(Stdio::piped()),
    };
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let feeder = match (stdin, child.stdin.take()) {
        (Some(data), Some(mut pipe)) => Some(std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        })),
        _ => None,
    };
    let reader = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = reader(child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let err = reader(child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > TIMEOUT {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = start.elapsed();
    if let Some(f) = feeder {
        let _ = f.join();
    }
    Run { code: status.code(), stdout: out.join().unwrap(), stderr: err.join().unwrap(), timed_out, took }
}

/// Files a run left behind that look like a half-written output.
fn temporaries(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in walk(dir) {
        let name = e.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.ends_with(".tmp") {
            out.push(e.display().to_string());
        }
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else { return out };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            out.extend(walk(&p));
        } else if !t.is_symlink() {
            out.push(p);
        }
    }
    out
}

/// A run's output with the case's folder and the repository cut out, at most `SNAPSHOT_LINES` lines.
fn shown(text: &str, dir: &Path) -> String {
    let text = text.replace(&dir.display().to_string(), "[case]").replace(&root().display().to_string(), "[root]");
    let lines: Vec<&str> = text.lines().collect();
    let mut out: String = lines.iter().take(SNAPSHOT_LINES).map(|l| format!("{l}\n")).collect();
    if lines.len() > SNAPSHOT_LINES {
        out.push_str(&format!("[… {} more lines]\n", lines.len() - SNAPSHOT_LINES));
    }
    out
}

/// The parts of a JSON or SARIF report a snapshot shows (the rest changes with the rules and version).
fn projection(format: &str, stdout: &str) -> String {
    let v: serde_json::Value = match serde_json::from_str(stdout) {
        Ok(v) => v,
        Err(e) => return format!("[not JSON: {e}]\n{stdout}"),
    };
    let p = match format {
        "json" => {
            let s = &v["summary"];
            let keys = [
                "records_read",
                "records_evaluated",
                "records_rejected",
                "access_read",
                "access_evaluated",
                "access_rejected",
                "rejected_not_listed",
            ];
            let summary: serde_json::Map<String, serde_json::Value> =
                keys.iter().map(|k| (k.to_string(), s[*k].clone())).collect();
            serde_json::json!({"summary": summary, "rejected": v["rejected"]})
        }
        _ => {
            let run = &v["runs"][0];
            serde_json::json!({
                "version": v["version"],
                "results": run["results"].as_array().map_or(0, Vec::len),
                "invocations": run["invocations"],
            })
        }
    };
    serde_json::to_string_pretty(&p).unwrap() + "\n"
}

struct Outcome {
    name: String,
    covers: String,
    snapshot: Option<String>,
    failures: Vec<String>,
    took: Duration,
}

fn case_dir(base: &Path, name: &str) -> PathBuf {
    let dir = base.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(root().join("fixtures"), dir.join("fixtures")).unwrap();
    dir
}

fn create_files(dir: &Path, files: &BTreeMap<String, Content>) {
    for (name, content) in files {
        let path = dir.join(name);
        match bytes_of(content) {
            None => std::fs::create_dir_all(&path).unwrap(),
            Some(b) => std::fs::write(&path, b).unwrap(),
        }
    }
}

/// Writes a line case's input: the first good record, the bad block, the other good record.
/// Returns the bad block's line numbers that are records (`None` when it is not kept in memory).
fn write_line_input(case: &Case, path: &Path, good: &(String, String)) -> Option<Vec<u64>> {
    let line = case.line.as_ref().unwrap();
    let nl: &[u8] = if case.crlf { b"\r\n" } else { b"\n" };
    let mut data = Vec::new();
    if let Some(p) = &case.prefix {
        data.extend(bytes_of(p).unwrap());
    }
    data.extend_from_slice(good.0.as_bytes());
    data.extend_from_slice(nl);
    // A long line is streamed to the file, never held whole.
    if let Content::Spec(s) = line
        && s.generator.as_deref() == Some("long_line")
        && !case.gzip
        && s.bytes.unwrap_or(0) > 1 << 20
    {
        let (head, tail, body) = long_line_parts(s.bytes.unwrap());
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        f.write_all(&data).unwrap();
        f.write_all(head.as_bytes()).unwrap();
        let chunk = vec![b'x'; 1 << 20];
        let mut left = body;
        while left > 0 {
            let n = left.min(chunk.len());
            f.write_all(&chunk[..n]).unwrap();
            left -= n;
        }
        f.write_all(tail.as_bytes()).unwrap();
        f.write_all(nl).unwrap();
        f.write_all(good.1.as_bytes()).unwrap();
        f.write_all(nl).unwrap();
        f.flush().unwrap();
        return None;
    }
    let mut block = bytes_of(line).unwrap();
    if case.crlf {
        block = block.split(|b| *b == b'\n').collect::<Vec<_>>().join(&b"\r\n"[..]);
    }
    let records = record_lines(&block);
    data.extend_from_slice(&block);
    data.extend_from_slice(nl);
    data.extend_from_slice(good.1.as_bytes());
    data.extend_from_slice(nl);
    if case.gzip {
        data = gzip(&data);
    }
    std::fs::write(path, data).unwrap();
    Some(records)
}

fn run_case(case: &Case, base: &Path) -> Outcome {
    let dir = case_dir(base, &case.name);
    let mut failures = Vec::new();
    create_files(&dir, &case.files);
    let is_line_case = case.line.is_some();
    let format = case.format.clone().unwrap_or_else(|| "human".into());
    // What the line case's report must show: (input name, bad record lines, last line).
    let mut line_check = None;
    let (args, stdin) = if is_line_case {
        let fixture = case.fixture.clone().unwrap_or_else(|| "clean".into());
        let good = good_records(case.kind, &fixture);
        let file = if case.gzip { "input.jsonl.gz" } else { "input.jsonl" };
        let records = write_line_input(case, &dir.join(file), &good);
        let scope = case.scope.clone().unwrap_or_else(|| format!("fixtures/{fixture}/scope.yaml"));
        let from_stdin = matches!(case.stdin_input, StdinSpec::Flag(true));
        let name = if from_stdin { "-" } else { file };
        let mut args: Vec<String> = vec!["audit".into(), "--scope".into(), scope];
        args.extend(case.extra.iter().cloned());
        args.extend(["--format".into(), format.clone(), "--format".into(), "json=report.json".into()]);
        match case.kind {
            Kind::Captures => args.push(name.into()),
            Kind::Access => {
                std::fs::write(dir.join("none.jsonl"), "").unwrap();
                args.extend(["--access".into(), name.into(), "none.jsonl".into()]);
            }
        }
        let stdin = from_stdin.then(|| std::fs::read(dir.join(file)).unwrap());
        line_check = Some((if from_stdin { "<stdin>".to_string() } else { file.to_string() }, records));
        (args, stdin)
    } else {
        let stdin = match &case.stdin_input {
            StdinSpec::Text(c) => Some(bytes_of(c).unwrap()),
            _ => None,
        };
        (case.args.clone(), stdin)
    };

    let r = run(&dir, &args, stdin, case.stdout_to.as_deref());
    let stdout = String::from_utf8_lossy(&r.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&r.stderr).into_owned();
    if r.timed_out {
        failures.push(format!("hangs: killed after {TIMEOUT:?}"));
    }
    for word in ["panicked", "stack overflow", "RUST_BACKTRACE", "fatal runtime error"] {
        if stderr.contains(word) {
            failures.push(format!("`{word}` in stderr:\n{stderr}"));
        }
    }
    let expected_exit = case.exit.unwrap_or(0);
    match r.code {
        None => failures.push(format!("killed by a signal (not an exit code); stderr:\n{stderr}")),
        Some(c) if c != expected_exit && !r.timed_out => {
            failures.push(format!("exit {c}, expected {expected_exit}; stderr:\n{}", shown(&stderr, &dir)))
        }
        _ => {}
    }
    let left = temporaries(&dir);
    if !left.is_empty() {
        failures.push(format!("temporary files left behind: {left:?}"));
    }
    for a in &case.after.absent {
        if dir.join(a).exists() {
            failures.push(format!("`{a}` exists after the run"));
        }
    }
    for d in &case.after.devices {
        use std::os::unix::fs::FileTypeExt;
        if !std::fs::metadata(d).is_ok_and(|m| m.file_type().is_char_device()) {
            failures.push(format!("`{d}` is no longer a character device: the run replaced it"));
        }
    }
    for (f, text) in &case.after.same {
        let now = std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        if &now != text {
            failures.push(format!("`{f}` changed: {now:?}"));
        }
    }

    if let Some((input, records)) = line_check
        && !r.timed_out
    {
        check_line_report(case, &dir, (&input, records), &stdout, &mut failures);
    }

    let mut snap = format!("exit: {}\n", r.code.map_or("signal".to_string(), |c| c.to_string()));
    if !stderr.is_empty() {
        snap.push_str("--- stderr\n");
        snap.push_str(&shown(&stderr, &dir));
    }
    if !stdout.is_empty() {
        snap.push_str("--- stdout\n");
        let body = if is_line_case && format != "human" { projection(&format, &stdout) } else { stdout };
        snap.push_str(&shown(&body, &dir));
    }
    // The 100 MiB input is not kept.
    let _ = std::fs::remove_dir_all(&dir);
    Outcome { name: case.name.clone(), covers: case.covers.clone(), snapshot: Some(snap), failures, took: r.took }
}

/// Nothing lost: read = evaluated + rejected, the bad lines listed with their numbers, the good
/// records evaluated.
fn check_line_report(
    case: &Case,
    dir: &Path,
    (input, records): (&str, Option<Vec<u64>>),
    stdout: &str,
    failures: &mut Vec<String>,
) {
    let text = match std::fs::read_to_string(dir.join("report.json")) {
        Ok(t) => t,
        Err(e) => return failures.push(format!("no report.json: {e}")),
    };
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let s = &v["summary"];
    let n = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("summary.{k} missing"));
    let (read, evaluated, rejected) = match case.kind {
        Kind::Captures => (n("records_read"), n("records_evaluated"), n("records_rejected")),
        Kind::Access => (n("access_read"), n("access_evaluated"), n("access_rejected")),
    };
    if read != evaluated + rejected {
        failures.push(format!("read {read} != evaluated {evaluated} + rejected {rejected}"));
    }
    let want_evaluated = case.evaluated.unwrap_or(2);
    if evaluated != want_evaluated {
        failures.push(format!("{evaluated} records evaluated, expected {want_evaluated}"));
    }
    let listed: Vec<&serde_json::Value> = v["rejected"].as_array().unwrap().iter().collect();
    let total = n("records_rejected") + n("access_rejected");
    if listed.len() as u64 + n("rejected_not_listed") != total {
        failures.push(format!(
            "{} rejections listed + {} not listed != {total} rejected",
            listed.len(),
            n("rejected_not_listed")
        ));
    }
    let mut lines = BTreeSet::new();
    for r in &listed {
        if r["reason"].as_str().is_none_or(str::is_empty) {
            failures.push(format!("a rejection without a reason: {r}"));
        }
        if r["file"] == input {
            lines.insert(r["line"].as_u64().unwrap());
        }
    }
    let want: Vec<u64> = match (&case.rejected, records) {
        (Some(Rejected::Lines(l)), _) => l.clone(),
        (None | Some(Rejected::All(AllWord::All)), Some(r)) => r,
        (None | Some(Rejected::All(_)), None) => vec![2],
    };
    let listed_lines: Vec<u64> = lines.iter().copied().collect();
    let want_listed: Vec<u64> = want.iter().copied().take(scopecheck::audit::MAX_LISTED_REJECTIONS).collect();
    if listed_lines != want_listed {
        failures.push(format!("rejected lines {listed_lines:?}, expected {want_listed:?}"));
    }
    if rejected != want.len() as u64 {
        failures.push(format!("{rejected} rejected, expected {}", want.len()));
    }
    if lines.contains(&1) {
        failures.push("the good record on line 1 was rejected".into());
    }
    if let Some(k) = case.sarif_notifications {
        let notes = serde_json::from_str::<serde_json::Value>(stdout)
            .ok()
            .and_then(|v| v["runs"][0]["invocations"][0]["toolExecutionNotifications"].as_array().map(Vec::len));
        if notes != Some(k) {
            failures.push(format!("{notes:?} SARIF tool execution notifications, expected {k}"));
        }
    }
}

#[test]
fn bad_input_catalogue() {
    let cases = table();
    let mut names = BTreeSet::new();
    for c in &cases {
        assert!(names.insert(c.name.clone()), "case `{}` is in the table twice", c.name);
        assert!(c.line.is_some() == c.args.is_empty(), "case `{}`: give `line:` or `args:`", c.name);
        assert!(!c.covers.trim().is_empty(), "case `{}` says nothing of what it covers", c.name);
    }
    assert!(cases.len() >= 40, "the catalogue has {} cases", cases.len());
    let only = std::env::var("CATALOGUE_CASE").ok();
    let base = std::env::temp_dir().join(format!("scopecheck-catalogue-{}", std::process::id()));
    std::fs::create_dir_all(&base).unwrap();

    let todo: Vec<&Case> = cases
        .iter()
        .filter(|c| only.as_deref().is_none_or(|o| o == c.name))
        .filter(|c| match &c.pending {
            Some(reason) => {
                eprintln!("catalogue: {} skipped (known failure): {reason}", c.name);
                false
            }
            None => true,
        })
        .collect();
    assert!(!todo.is_empty() || only.is_none(), "no case is named {only:?}");
    let queue = Mutex::new(todo.iter().enumerate());
    let done = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 2));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let Some((i, case)) = queue.lock().unwrap().next() else { break };
                    let outcome = run_case(case, &base);
                    done.lock().unwrap().push((i, outcome));
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&base);
    let mut done = done.into_inner().unwrap();
    done.sort_by_key(|(i, _)| *i);

    let mut slowest: Vec<(Duration, &str)> = done.iter().map(|(_, o)| (o.took, o.name.as_str())).collect();
    slowest.sort_by(|a, b| b.cmp(a));
    let total: Duration = slowest.iter().map(|(t, _)| *t).sum();
    eprintln!("catalogue: {} cases, {total:?} of runs; slowest: {:?}", done.len(), &slowest[..slowest.len().min(5)]);
    let mut failures = Vec::new();
    for (_, o) in &done {
        for f in &o.failures {
            failures.push(format!("{}: {f}", o.name));
        }
        if let Some(snap) = &o.snapshot {
            let mut settings = insta::Settings::clone_current();
            settings.set_description(o.covers.clone());
            settings.set_omit_expression(true);
            let name = o.name.clone();
            let snap = snap.clone();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                settings.bind(|| insta::assert_snapshot!(name, snap));
            }));
            if r.is_err() {
                failures.push(format!("{}: the snapshot differs (see above)", o.name));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} cases fail:\n{}", failures.len(), done.len(), failures.join("\n\n"));
}
