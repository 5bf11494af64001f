//! Replays every committed fuzz input (`fuzz/corpus/<target>/` and `fuzz/regressions/<target>/`)
//! through the target functions, so a regression fails `cargo test` without a fuzzer.
//!
//! Every target must have its corpus folder, and every folder must name a target. Files named
//! `pending-<id>.*` reproduce bugs whose fix is not in yet: they are listed, not run, and that bug
//! (`<id>`) is let through in the rest of the corpora. The plugin target
//! needs the built plugin (`cargo build --locked --profile plugin --target wasm32-wasip1 -p
//! scopecheck-plugin`): without it the target is skipped with a notice, except under `CI=true`,
//! where that is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn target_fn(name: &str) -> fn(&[u8]) {
    scopecheck_fuzz::TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f).unwrap()
}

/// The files of one folder, sorted, without dot files.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    out.sort();
    out
}

/// The bugs whose fix is pending (a `pending-<id>.…` reproducer in any target's regressions) are
/// let through in the corpora: the same bug may be reached from several targets.
fn tolerate_pending() {
    for (t, _) in scopecheck_fuzz::TARGETS {
        let dir = fuzz_dir().join("regressions").join(t);
        if !dir.is_dir() {
            continue;
        }
        for path in files(&dir) {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if let Some(rest) = name.strip_prefix("pending-") {
                scopecheck_fuzz::tolerate(rest.split('.').next().unwrap());
            }
        }
    }
}

fn replay(target: &str) {
    if target == "plugin_abi" {
        let wasm = scopecheck_fuzz::plugin_wasm_path();
        if !wasm.is_file() {
            assert!(!in_ci(), "no plugin at {}: CI builds it before the tests", wasm.display());
            eprintln!(
                "notice: skipping the plugin_abi corpus: no plugin at {} (build it with `cargo build --locked \
                 --profile plugin --target wasm32-wasip1 -p scopecheck-plugin`)",
                wasm.display()
            );
            return;
        }
    }
    let f = target_fn(target);
    let corpus = fuzz_dir().join("corpus").join(target);
    assert!(corpus.is_dir(), "no corpus for target `{target}` at {}", corpus.display());
    let mut inputs = files(&corpus);
    assert!(!inputs.is_empty(), "the corpus of `{target}` is empty");
    let regressions = fuzz_dir().join("regressions").join(target);
    if regressions.is_dir() {
        inputs.extend(files(&regressions));
    }
    tolerate_pending();
    let mut failed = Vec::new();
    let started = std::time::Instant::now();
    let mut ran = 0;
    for path in &inputs {
        let name = path.file_name().unwrap().to_string_lossy();
        if name.starts_with("pending-") {
            eprintln!("notice: not replaying {} (its fix is pending)", path.display());
            continue;
        }
        let data = std::fs::read(path).unwrap();
        ran += 1;
        let t = std::time::Instant::now();
        if std::panic::catch_unwind(|| f(&data)).is_err() {
            failed.push(path.display().to_string());
        }
        if std::env::var_os("FUZZ_REPLAY_TIMES").is_some() {
            eprintln!("  {name}: {:.1?}", t.elapsed());
        }
    }
    eprintln!("{target}: {ran} inputs replayed in {:.1?}", started.elapsed());
    assert!(failed.is_empty(), "`{target}` fails on:\n{}", failed.join("\n"));
}

#[test]
fn every_folder_names_a_target() {
    for kind in ["corpus", "regressions"] {
        let dir = fuzz_dir().join(kind);
        assert!(dir.is_dir(), "no {}", dir.display());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with('.') || path.is_file() {
                continue;
            }
            assert!(
                scopecheck_fuzz::TARGETS.iter().any(|(t, _)| *t == name),
                "{} names no fuzz target (the targets: {:?})",
                path.display(),
                scopecheck_fuzz::TARGETS.map(|(t, _)| t)
            );
        }
    }
    for (t, _) in scopecheck_fuzz::TARGETS {
        assert!(fuzz_dir().join("corpus").join(t).is_dir(), "no corpus folder for target `{t}`");
        assert!(fuzz_dir().join("fuzz_targets").join(format!("{t}.rs")).is_file(), "no cargo-fuzz target `{t}`");
    }
}

macro_rules! replay_tests {
    ($($name:ident),*) => {$(
        #[test]
        fn $name() {
            replay(stringify!($name));
        }
    )*};
}

replay_tests!(scope, stores, access, capture, bundle, policies, plugin_abi);
