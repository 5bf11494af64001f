//! Nothing leaked: known secrets and person ids go in through captures (good lines and malformed
//! ones, with `--strict` and without), and none comes out in clear through any output: every
//! report format, stderr (summaries, warnings, errors), `enforce`'s decisions and reports (native
//! and, where the plugin is built, wasm), and bundles, unless `--show-evidence` is given.
//! The events `enforce` lets through keep their envelope and declared fields by design, so the
//! secrets sit where the notice does not allow them (undeclared fields, a declared field holding
//! a card number, `never` fields).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{Out, run, run_with_stdin, tmp};

const SCOPE: &str = "\
program: leaktest
notice: https://example.invalid/notice
subjects: [employee]
collect:
  - field: \"ui.*\"
    category: behavior.app_interaction
    purposes: [analytics]
  - field: session.blob
    category: behavior.app_interaction
    purposes: [analytics]
    encryption: required
never:
  - category: content
  - field: screen.ocr_text
stores:
  - id: raw
    encryption: required
";

/// Each secret, as it appears in the captures. None may be printed in clear.
const SECRETS: &[&str] = &[
    "4111 1111 1111 1111",
    "4111111111111111",
    "078-05-1120",
    "jane.roe.leak@example.com",
    "AKIAIOSFODNN7EXAMPLE",
    "hunter2-Leak!",
    "diagnosed with type 2 diabetes",
    "Dear Sam, my divorce hearing",
    "plain session text not ciphertext",
];

/// The person ids of the captures: never printed without `--show-evidence`.
const PEOPLE: &[&str] = &["emp-LEAK-7731", "emp-LEAK-9902"];

fn captures() -> String {
    let lines = [
        // A declared field holding a card number; undeclared fields with an email, an API key
        // and a password; a `never` field with an SSN and a diagnosis; a message; plaintext where
        // ciphertext was promised.
        r#"{"ts":"2026-05-12T09:14:03Z","program":"leaktest","subject":"emp-LEAK-7731","subject_kind":"employee","source":"agent","store":"raw","data":{"ui":{"label":"Pay 4111 1111 1111 1111 now"},"contact":{"email":"jane.roe.leak@example.com"},"clipboard":{"text":"AKIAIOSFODNN7EXAMPLE"},"login":{"password":"hunter2-Leak!"}}}"#,
        r#"{"ts":"2026-05-12T09:15:03Z","program":"leaktest","subject":"emp-LEAK-9902","subject_kind":"employee","source":"agent","store":"raw","data":{"screen":{"ocr_text":"SSN 078-05-1120 - patient diagnosed with type 2 diabetes"},"chat":{"messages":[{"text":"Dear Sam, my divorce hearing is on Friday"}]},"session":{"blob":"plain session text not ciphertext"}}}"#,
        // Malformed lines that carry secrets: a truncated object, a wrong type, a bad timestamp,
        // a subject of the wrong type, a bare string, invalid JSON around a secret.
        r#"{"ts":"2026-05-12T09:16:03Z","program":"leaktest","subject":"emp-LEAK-7731","data":{"x":"078-05-1120""#,
        r#"{"ts":"2026-05-12T09:16:03Z","program":"leaktest","subject":"emp-LEAK-7731","data":"4111111111111111"}"#,
        r#"{"ts":"AKIAIOSFODNN7EXAMPLE","program":"leaktest","subject":"emp-LEAK-7731","data":{}}"#,
        r#"{"ts":"2026-05-12T09:16:03Z","program":"leaktest","subject":{"id":"emp-LEAK-9902"},"data":{}}"#,
        r#""jane.roe.leak@example.com""#,
        r#"{"ts":"2026-05-12T09:16:03Z", hunter2-Leak! }"#,
    ];
    lines.join("\n") + "\n"
}

fn leaks(text: &str, people: bool) -> Vec<&'static str> {
    let mut found: Vec<&'static str> = SECRETS.iter().copied().filter(|s| text.contains(s)).collect();
    if people {
        found.extend(PEOPLE.iter().copied().filter(|p| text.contains(p)));
    }
    found
}

fn assert_clean(what: &str, text: &str, people: bool) {
    let found = leaks(text, people);
    assert!(found.is_empty(), "{what} leaks {found:?}:\n{text}");
}

fn read(path: &str) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
}

#[test]
fn no_format_prints_a_secret_or_a_person_id() {
    let scope = tmp("leak-scope.yaml", SCOPE);
    let caps = tmp("leak-captures.jsonl", &captures());
    let json = tmp("leak.json", "");
    // Every file format (human goes to stdout).
    let files: Vec<(&str, String)> =
        ["json", "sarif", "junit", "markdown", "html"].map(|f| (f, tmp(&format!("leak.{f}"), ""))).into();
    let file_args: Vec<String> = files.iter().map(|(f, path)| format!("{f}={path}")).collect();
    for extra in [&[][..], &["--pseudonym-key", "k"][..]] {
        let mut args = vec!["audit", "--scope", &scope, "--format", "human"];
        for a in &file_args {
            args.extend(["--format", a.as_str()]);
        }
        args.extend_from_slice(extra);
        args.push(&caps);
        let out = run(&args);
        assert_eq!(out.code, 1, "{}", out.stderr);
        let report: serde_json::Value = serde_json::from_str(&read(&json)).unwrap();
        // The secrets were found (the test is not vacuous): findings on their fields, and every
        // malformed line rejected with its line number.
        let rules: Vec<&str> =
            report["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
        for r in ["never-collect", "undisclosed-field", "undisclosed-category", "unencrypted-field"] {
            assert!(rules.contains(&r), "{r} not in {rules:?}");
        }
        assert_eq!(report["summary"]["records_rejected"], 6, "{}", report["rejected"]);
        let mut texts = vec![("human", out.stdout), ("stderr", out.stderr)];
        texts.extend(files.iter().map(|(f, path)| (*f, read(path))));
        for (what, text) in texts {
            assert_clean(&format!("audit {extra:?} {what}"), &text, true);
        }
    }
    // `simulate`, every format: a candidate that declares nothing of what the secrets sit in
    // (one scope without `collect`) removes and changes findings that hold them as evidence.
    let bare = tmp("leak-bare.yaml", "program: leaktest\nsubjects: [employee]\n");
    let sim_files: Vec<(&str, String)> = ["json", "sarif"].map(|f| (f, tmp(&format!("leak-sim.{f}"), ""))).into();
    let mut args = vec!["simulate", "--scope", &scope, "--candidate-scope", &bare, "--format", "human"];
    let sim_args: Vec<String> = sim_files.iter().map(|(f, path)| format!("{f}={path}")).collect();
    for a in &sim_args {
        args.extend(["--format", a.as_str()]);
    }
    args.push(&caps);
    let out = run(&args);
    assert!(out.code < 2, "{}", out.stderr);
    let sim: serde_json::Value = serde_json::from_str(&read(&sim_files[0].1)).unwrap();
    let moved = sim["summary"]["added"].as_u64().unwrap()
        + sim["summary"]["removed"].as_u64().unwrap()
        + sim["summary"]["changed"].as_u64().unwrap();
    assert!(moved > 0, "the simulation changed nothing: the test would be vacuous");
    let mut texts = vec![("simulate human", out.stdout), ("simulate stderr", out.stderr)];
    texts.extend(sim_files.iter().map(|(f, path)| (*f, read(path))));
    for (what, text) in texts {
        assert_clean(&format!("simulate {what}"), &text, true);
    }
    // The first malformed line with --strict: an error, exit 2, and no secret in the message.
    let out = run(&["audit", "--scope", &scope, "--strict", &caps]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_clean("--strict error", &format!("{}{}", out.stdout, out.stderr), true);
    // Reading the captures as a scope or an inventory: errors quote no line of them either.
    for args in [vec!["check", "--scope", &caps], vec!["audit", "--scope", &scope, "--stores", &caps, &caps]] {
        let out = run(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert_clean(&format!("{args:?}"), &format!("{}{}", out.stdout, out.stderr), true);
    }
}

#[test]
fn show_evidence_is_the_only_way_out_and_says_so() {
    let scope = tmp("leak2-scope.yaml", SCOPE);
    let caps = tmp("leak2-captures.jsonl", &captures());
    let out = run(&["audit", "--scope", &scope, "--format", "json", "--show-evidence", &caps]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["tool"]["evidence"], "shown");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let file = tmp("leak2-shown.json", "");
        let arg = format!("json={file}");
        assert_eq!(run(&["audit", "--scope", &scope, "--format", &arg, "--show-evidence", &caps]).code, 1);
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }
    let human = run(&["audit", "--scope", &scope, "--show-evidence", &caps]);
    assert!(human.stdout.starts_with("EVIDENCE SHOWN IN CLEAR"), "{}", human.stdout);
    // The evidence is there now: the tool did see the secrets.
    assert!(!leaks(&out.stdout, false).is_empty(), "{}", out.stdout);
}

fn enforce(args: &[&str], stdin: &str) -> Out {
    run_with_stdin(args, stdin.as_bytes())
}

#[test]
fn enforce_lets_no_secret_through() {
    let scope = tmp("leak3-scope.yaml", SCOPE);
    let report = tmp("leak3-report.jsonl", "");
    let bundle = tmp("leak3.bundle", "");
    let out = run(&["bundle", "--scope", &scope, "-o", &bundle]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_clean("bundle", &read(&bundle), true);
    let mut engines = vec![vec!["--scope", &scope]];
    // The wasm plugin, where it is built (CI builds it first).
    let wasm = common::root().join("target/wasm32-wasip1/plugin/scopecheck_plugin.wasm");
    let wasm = wasm.display().to_string();
    if std::path::Path::new(&wasm).is_file() {
        engines.push(vec!["--bundle", &bundle, "--engine", "wasm", "--plugin", &wasm]);
    } else {
        assert!(std::env::var_os("CI").is_none(), "CI must build the plugin before the tests");
        eprintln!("note: the wasm plugin is not built; enforce --engine wasm not checked");
    }
    for engine in engines {
        for emit in ["events", "decisions"] {
            let mut args = vec!["enforce"];
            args.extend_from_slice(&engine);
            args.extend(["--emit", emit, "--report", &report]);
            let out = enforce(&args, &captures());
            assert_eq!(out.code, 0, "{engine:?} {emit}: {}", out.stderr);
            // Passed events keep their envelope (the person's id) by design: only secrets count.
            assert_clean(&format!("enforce {engine:?} {emit} stdout"), &out.stdout, emit == "decisions");
            assert_clean(&format!("enforce {engine:?} {emit} stderr"), &out.stderr, true);
            assert_clean(&format!("enforce {engine:?} {emit} report"), &read(&report), true);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Panic messages: a panic (a bug, say in a dependency) may quote the input; the binary prints a
// fixed text instead and exits 2.

#[test]
fn a_panic_message_is_withheld_unless_asked_for() {
    use scopecheck_cli::crash::{SHOW_PANIC_VAR, message};
    let payload = format!("invalid value {} for {} at line 3", SECRETS[0], PEOPLE[0]);
    let here = std::panic::Location::caller();
    let withheld = message(Some(here), Some("main"), Some(&payload), false);
    assert_clean("the panic text", &withheld, true);
    // It says where (code, not data), that it is a bug, why the message is not there and how to
    // see it.
    let place = format!("internal error at {}:{}:{} (thread 'main')", here.file(), here.line(), here.column());
    assert!(withheld.starts_with(&format!("error: {place}; this is a bug")), "{withheld}");
    assert!(withheld.contains("withheld because it may quote captured data"), "{withheld}");
    assert!(withheld.contains(&format!("set {SHOW_PANIC_VAR}=1 to see it")), "{withheld}");
    // Asked for, the message is there: the withheld text above did hold a secret back.
    let shown = message(Some(here), Some("main"), Some(&payload), true);
    assert!(shown.contains(&payload), "{shown}");
    // No place, no thread name, no text: still a whole message.
    let bare = message(None, None, None, false);
    assert!(bare.starts_with("error: internal error at an unknown place; this is a bug"), "{bare}");
}

#[test]
fn a_dependency_path_is_cut_to_its_crate() {
    use scopecheck_cli::crash::short_path;
    assert_eq!(
        short_path("/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/serde_yaml-0.9.34/src/de.rs"),
        "serde_yaml-0.9.34/src/de.rs"
    );
    assert_eq!(short_path("crates/scopecheck/src/scope.rs"), "crates/scopecheck/src/scope.rs");
}

/// Runs the real binary (a debug build: it panics on `SCOPECHECK_DEBUG_PANIC`, see main.rs).
#[cfg(debug_assertions)]
fn panicking_binary(panic: &str, show: bool, args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_scopecheck"));
    cmd.args(args).env("SCOPECHECK_DEBUG_PANIC", panic).env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE");
    if show {
        cmd.env(scopecheck_cli::crash::SHOW_PANIC_VAR, "1");
    } else {
        cmd.env_remove(scopecheck_cli::crash::SHOW_PANIC_VAR);
    }
    let out = cmd.stdin(std::process::Stdio::null()).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(debug_assertions)]
#[test]
fn the_binary_withholds_a_panic_message_and_exits_2() {
    let secret = format!("{} {}", SECRETS[2], PEOPLE[1]);
    let (code, stdout, stderr) = panicking_binary(&secret, false, &["--version"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_clean("panic stdout", &stdout, true);
    assert_clean("panic stderr", &stderr, true);
    assert!(
        stderr.starts_with("error: internal error at crates/scopecheck-cli/src/main.rs:"),
        "the place of the panic: {stderr}"
    );
    assert!(stderr.contains("withheld"), "{stderr}");
    assert!(!stderr.contains("panicked at"), "Rust's own hook ran: {stderr}");
    // The same panic with SCOPECHECK_SHOW_PANIC=1: the message really held the secret.
    let (code, _, shown) = panicking_binary(&secret, true, &["--version"]);
    assert_eq!(code, Some(2), "{shown}");
    assert!(shown.contains(&secret), "{shown}");
}

#[cfg(debug_assertions)]
#[test]
fn a_panic_on_another_thread_fails_the_run_too() {
    // The worker's panic is swallowed where it happened and the command runs to its end, with
    // exit code 0 had nothing panicked; a run that panicked anywhere is not trusted: exit 2.
    let secret = SECRETS[3];
    let scope = common::p("fixtures/mci/scope.yaml");
    let (code, _, stderr) = panicking_binary(&format!("thread:{secret}"), false, &["check", "--scope", &scope]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_clean("worker panic stderr", &stderr, true);
    assert!(stderr.contains("(thread 'scopecheck-test-panic')"), "{stderr}");
    let (code, _, _) = run_plain(&["check", "--scope", &scope]);
    assert_eq!(code, Some(0), "the same command without the panic passes");
}

#[cfg(debug_assertions)]
fn run_plain(args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scopecheck"))
        .args(args)
        .env_remove("SCOPECHECK_DEBUG_PANIC")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
