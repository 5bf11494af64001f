//! The Python host (wasmtime from PyPI) and the Node 20 host (node:wasi + WebAssembly) load the
//! same plugin and bundle, decide on every event of fixtures/mci, and print their decisions; they
//! must equal the native engine's. Missing python3/wasmtime or node skips locally but FAILS in CI
//! (CI=true), where `.ci/run` installs them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn expected(bundle: &[u8], events_file: &Path) -> Vec<Value> {
    let mut d = native(bundle);
    read(events_file)
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let mut v = serde_json::to_value(d.decide_line(l)).unwrap();
            let m = v.as_object_mut().unwrap();
            m.insert("input".into(), Value::String(events_file.display().to_string()));
            m.insert("line".into(), Value::from(i as u64 + 1));
            v
        })
        .collect()
}

fn available(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd).args(args).output().is_ok_and(|o| o.status.success())
}

/// Runs the host script on the mci events, plain and with `--prepare` (every regex compiled at
/// start): both decide as the native engine does.
fn run_host(what: &str, cmd: &str, script: &Path, check: &[&str]) {
    for extra in [&[][..], &["--prepare"][..]] {
        run_host_with(what, cmd, script, check, extra);
    }
}

fn run_host_with(what: &str, cmd: &str, script: &Path, check: &[&str], extra: &[&str]) {
    if !available(cmd, check) {
        assert!(!in_ci(), "{what}: `{cmd} {}` does not work, and CI=true: .ci/run must install it", check.join(" "));
        eprintln!("skipping the {what} host: `{cmd} {}` does not work (not in CI)", check.join(" "));
        return;
    }
    let bundle = bundle_bytes("mci");
    let dir = target_dir().join("scopecheck-test-hosts");
    std::fs::create_dir_all(&dir).unwrap();
    let bundle_file = dir.join(format!("mci-{what}.bundle"));
    std::fs::write(&bundle_file, &bundle).unwrap();
    let events_file = workspace().join("fixtures/mci/captures.jsonl");
    let out = Command::new(cmd)
        .arg(script)
        .arg("--plugin")
        .arg(plugin_path())
        .arg("--bundle")
        .arg(&bundle_file)
        .args(extra)
        .arg(&events_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{what} host failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let got: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let want = expected(&bundle, &events_file);
    assert_eq!(got.len(), want.len(), "{what}: number of decisions");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "{what} host vs native");
    }
    eprintln!("{what} host {extra:?}: {} decisions equal to the native engine's", got.len());
}

#[test]
fn python_host_decides_like_native() {
    let script = workspace().join("wasm/hosts/python/enforce.py");
    run_host("python", "python3", &script, &["-c", "import wasmtime"]);
}

#[test]
fn node_host_decides_like_native() {
    let script = workspace().join("wasm/hosts/node/enforce.mjs");
    run_host("node", "node", &script, &["-e", "if (+process.versions.node.split('.')[0] < 20) process.exit(1)"]);
}
