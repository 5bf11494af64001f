//! Helpers shared by the end-to-end tests: run the CLI in-process, paths, temp files.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::{Path, PathBuf};

/// What a run printed and returned.
pub struct Out {
    pub code: u8,
    pub stdout: String,
    pub stderr: String,
}

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A repo-relative path as an absolute string.
pub fn p(rel: &str) -> String {
    root().join(rel).display().to_string()
}

/// Runs `scopecheck ARGS` with `stdin`; the repo root is cut from what it prints.
pub fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Out {
    let mut input = stdin;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut full = vec!["scopecheck".to_string()];
    full.extend(args.iter().map(|a| a.to_string()));
    let code = scopecheck_cli::run(
        full,
        &mut scopecheck_cli::Io { stdin: &mut input, stdout: &mut stdout, stderr: &mut stderr, terminal: false },
    );
    let root = root().display().to_string();
    // SARIF writes absolute paths as `file://` URIs, without `..` segments.
    let canonical = std::fs::canonicalize(&root).unwrap().display().to_string();
    let clean = |b: Vec<u8>| {
        String::from_utf8(b).unwrap().replace(&format!("file://{canonical}/"), "").replace(&format!("{root}/"), "")
    };
    Out { code, stdout: clean(stdout), stderr: clean(stderr) }
}

/// Runs `scopecheck ARGS` with empty stdin.
pub fn run(args: &[&str]) -> Out {
    run_with_stdin(args, b"")
}

/// This test process's temporary folder.
pub fn tmp_dir() -> PathBuf {
    let exe = std::env::current_exe().ok().and_then(|e| e.file_stem().map(|s| s.to_string_lossy().into_owned()));
    std::env::temp_dir().join(format!("scopecheck-{}-{}", exe.unwrap_or_default(), std::process::id()))
}

/// Writes a temporary file and returns its path.
pub fn tmp(name: &str, contents: &str) -> String {
    let dir = tmp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}

/// Replaces the temporary folder in messages so snapshots are stable.
pub fn stable(s: &str) -> String {
    s.replace(&format!("{}/", tmp_dir().display()), "[tmp]/")
}

/// The fixtures with a capture file, a scope, stores and an access log.
pub const FIXTURES: [&str; 6] = ["clean", "helpdesk", "lobby", "mci", "roster", "workday"];

/// `scopecheck audit` of a fixture (scope, stores, access log, captures) with `extra` arguments.
pub fn audit_fixture(fx: &str, extra: &[&str]) -> Out {
    let scope = p(&format!("fixtures/{fx}/scope.yaml"));
    let stores = p(&format!("fixtures/{fx}/stores.yaml"));
    let access = p(&format!("fixtures/{fx}/access.jsonl"));
    let captures = p(&format!("fixtures/{fx}/captures.jsonl"));
    let mut args = vec!["audit", "--scope", &scope, "--stores", &stores, "--access", &access];
    args.extend_from_slice(extra);
    args.push(&captures);
    run(&args)
}
