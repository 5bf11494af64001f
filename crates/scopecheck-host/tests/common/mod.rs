//! Shared by the host crate's tests: the plugin, bundles of the fixtures, the native engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic, dead_code)]

use scopecheck::bundle::{Bundle, BundleOptions};
use scopecheck::decide::{DecideOptions, Decider};
use scopecheck::{Setup, Source};
use scopecheck_host::{HostConfig, PluginModule};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

pub const FIXTURES: [&str; 6] = ["mci", "workday", "clean", "helpdesk", "lobby", "roster"];

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The cargo target folder this test runs from (target/debug/deps/<test> → target).
pub fn target_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(d);
    }
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).map(Path::to_path_buf).unwrap_or_else(|| workspace().join("target"))
}

/// The plugin: `$SCOPECHECK_PLUGIN`, or built now with the `plugin` profile (a no-op when fresh).
pub fn plugin_path() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(p) = std::env::var_os("SCOPECHECK_PLUGIN") {
            return PathBuf::from(p);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(workspace())
            .args(["build", "--profile", "plugin", "--target", "wasm32-wasip1", "-p", "scopecheck-plugin"])
            .arg("--target-dir")
            .arg(target_dir())
            .status()
            .expect("run cargo to build the plugin");
        assert!(status.success(), "building the wasm plugin failed");
        let p = target_dir().join("wasm32-wasip1/plugin/scopecheck_plugin.wasm");
        assert!(p.is_file(), "no plugin at {}", p.display());
        p
    })
    .clone()
}

pub fn cache_dir() -> PathBuf {
    target_dir().join("scopecheck-test-cache")
}

/// The module with the default limits, compiled once per test process (and cached on disk).
pub fn module() -> Arc<PluginModule> {
    static M: OnceLock<Arc<PluginModule>> = OnceLock::new();
    M.get_or_init(|| Arc::new(PluginModule::cached(&plugin_path(), &cache_dir(), HostConfig::default()).unwrap()))
        .clone()
}

pub fn module_with(config: HostConfig) -> Arc<PluginModule> {
    Arc::new(PluginModule::cached(&plugin_path(), &cache_dir(), config).unwrap())
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The fixture's setup, as `scopecheck audit --scope … --stores …` reads it.
pub fn setup(fixture: &str) -> Setup {
    let dir = workspace().join("fixtures").join(fixture);
    let scope = dir.join("scope.yaml");
    let stores = dir.join("stores.yaml");
    Setup {
        scope: Some(Source::new(scope.display().to_string(), read(&scope))),
        stores: stores.is_file().then(|| Source::new(stores.display().to_string(), read(&stores))),
        ..Setup::default()
    }
}

pub fn bundle_bytes(fixture: &str) -> Vec<u8> {
    Bundle::from_setup(&setup(fixture), BundleOptions::default()).unwrap().to_bytes().unwrap()
}

/// The native decider over the bundle.
pub fn native(bundle: &[u8]) -> Decider {
    Decider::from_bundle(&Bundle::from_bytes(bundle, "bundle").unwrap()).unwrap()
}

/// The native decider built the way `scopecheck audit` builds its engine.
pub fn native_audit_engine(fixture: &str) -> Decider {
    Decider::new(Arc::new(setup(fixture).build().unwrap()), DecideOptions::default()).unwrap()
}

/// Every non-blank line of the fixture's capture files.
pub fn events(fixture: &str) -> Vec<String> {
    let dir = workspace().join("fixtures").join(fixture);
    let mut out = Vec::new();
    for f in ["captures.jsonl", "captures-malformed.jsonl"] {
        let p = dir.join(f);
        if p.is_file() {
            out.extend(read(&p).lines().filter(|l| !l.trim().is_empty()).map(str::to_string));
        }
    }
    out
}

/// `true` when running in CI: missing tools are failures there, not skips.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}
