//! One event decided in a loop, natively or through the wasm plugin: for profilers that count
//! instructions (`valgrind --tool=callgrind`) or sample (`perf`), where the criterion bench's
//! timing machinery would be in the way.
//!
//!     cargo build --release -p scopecheck-host --example decide_loop
//!     target/release/examples/decide_loop MODE N [PLUGIN.wasm]
//!
//! MODE is `native`, `wasm` (the bench's 856-byte event) or `wasm-invalid` (an event that is not
//! JSON: the cost of a call itself). The wasm modes decide 1,000 events first, then N; native
//! decides N. Instructions per decision are the difference of two runs' totals (N = 100 and
//! N = 2100) over 2,000 (`wasm/README.md`, "Performance"). One pooled instance, so that valgrind
//! can map the pool; the precompiled module is cached in `target/scopecheck-loop-cache` (a run
//! under valgrind compiles its own once: the CPU it reports differs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use scopecheck::bundle::{Bundle, BundleOptions};
use scopecheck_host::{HostConfig, Plugin, PluginModule};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[path = "../../scopecheck/benches/common/mod.rs"]
mod common;

const EVENT: &str = include_str!("../../scopecheck/benches/event.json");

fn main() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut args = std::env::args().skip(1);
    let usage = "usage: decide_loop native|wasm|wasm-invalid N [PLUGIN.wasm]";
    let mode = args.next().expect(usage);
    let n: u32 = args.next().and_then(|s| s.parse().ok()).expect(usage);
    let plugin = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target/wasm32-wasip1/plugin/scopecheck_plugin.wasm"));
    let bundle = Bundle::from_setup(&common::mci_setup(), BundleOptions::default()).unwrap().to_bytes().unwrap();
    let event = EVENT.trim_ascii_end();
    let start;
    match mode.as_str() {
        "native" => {
            let mut d = scopecheck::decide::Decider::from_bundle(&Bundle::from_bytes(&bundle, "b").unwrap()).unwrap();
            start = Instant::now();
            for _ in 0..n {
                black_box(d.decide_line(black_box(event)));
            }
        }
        "wasm" | "wasm-invalid" => {
            let config = HostConfig { max_instances: 1, ..HostConfig::default() };
            let cache = workspace.join("target/scopecheck-loop-cache");
            let module = Arc::new(PluginModule::cached(&plugin, &cache, config).unwrap());
            let mut p = Plugin::new(module, bundle.into()).unwrap();
            let event: &[u8] = if mode == "wasm" { event.as_bytes() } else { b"x" };
            for _ in 0..1000 {
                black_box(p.decide(event));
            }
            start = Instant::now();
            for _ in 0..n {
                black_box(p.decide(black_box(event)));
            }
        }
        _ => panic!("{usage}"),
    }
    eprintln!("{mode}: {n} decisions, {:?} each", start.elapsed() / n.max(1));
}
