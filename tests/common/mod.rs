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
/// A shipped scenario (`fixtures/scenarios/NAME.yaml`) cut to its first `days` days, written to
/// a temporary file whose path is returned (the CLI reads scenarios from files).
pub fn scenario_cut(name: &str, days: u32) -> String {
    let text = std::fs::read_to_string(p(&format!("fixtures/scenarios/{name}.yaml"))).unwrap();
    let line = text.lines().find(|l| l.starts_with("days:")).unwrap().to_string();
    tmp(&format!("{name}-{days}d.yaml"), &text.replacen(&line, &format!("days: {days}"), 1))
}

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

/// The SARIF multitool (`@microsoft/sarif-multitool`, installed by `.ci/run` under
/// `target/tools`), or `SARIF_MULTITOOL`.
pub fn sarif_multitool() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("SARIF_MULTITOOL")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("target/tools/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"));
    path.is_file().then_some(path)
}

/// Runs `validate --rule-kind Sarif;Gh` on `files`; the problems it reports (rule id, level,
/// file). The multitool exits 0 whatever it finds: its output log is what counts.
pub fn sarif_problems(tool: &std::path::Path, files: &[std::path::PathBuf]) -> Vec<(String, String, String)> {
    let out = tmp_dir().join("multitool-out.sarif");
    let _ = std::fs::remove_file(&out);
    let status = std::process::Command::new(tool)
        .args(["validate", "--rule-kind", "Sarif;Gh", "-o"])
        .arg(&out)
        .args(files)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the multitool failed: {status}");
    let log: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(log["runs"][0]["tool"]["driver"]["name"], "Sarif.Multitool");
    log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let level = r["level"].as_str().unwrap_or("warning").to_string();
            let file = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap_or("?");
            let text = r["message"]["text"].as_str().unwrap_or("").to_string();
            (r["ruleId"].as_str().unwrap().to_string(), level, format!("{file}: {text}"))
        })
        .filter(|(_, level, _)| level == "error" || level == "warning")
        .collect()
}

/// The test cases of a JUnit file as read back by `junitparser` (PyPI, installed by `.ci/run`):
/// `{suite, case, failed, type, text}` each; None where junitparser is missing outside CI.
pub fn junit_cases(file: &str) -> Option<Vec<serde_json::Value>> {
    let script = r#"
import json, sys
from junitparser import JUnitXml, Failure
xml = JUnitXml.fromfile(sys.argv[1])
out = []
for suite in xml:
    for case in suite:
        fails = [r for r in case.result if isinstance(r, Failure)]
        out.append({"suite": suite.name, "case": case.name, "failed": bool(fails),
                    "type": fails[0].type if fails else None, "text": fails[0].text if fails else None})
print(json.dumps(out))
"#;
    let run = std::process::Command::new("python3").args(["-c", script, file]).output().unwrap();
    if !run.status.success() && String::from_utf8_lossy(&run.stderr).contains("No module named 'junitparser'") {
        assert!(std::env::var_os("CI").is_none(), "CI must install junitparser (see .ci/run)");
        eprintln!("note: junitparser is not installed; JUnit not read back");
        return None;
    }
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    Some(serde_json::from_slice(&run.stdout).unwrap())
}
