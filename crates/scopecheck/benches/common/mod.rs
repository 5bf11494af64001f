//! Timing helpers shared by the native and the host `decide` benches (the host bench includes
//! this file with `#[path]`).
#![allow(dead_code, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

/// (p50, p99) of `n` calls of `f`, each timed on its own, after `n / 10` warm-up calls.
pub fn percentiles(mut f: impl FnMut(), n: usize) -> (Duration, Duration) {
    for _ in 0..n / 10 {
        f();
    }
    let mut t = Vec::with_capacity(n);
    for _ in 0..n {
        let s = Instant::now();
        f();
        t.push(s.elapsed());
    }
    t.sort();
    (t[n / 2], t[n * 99 / 100])
}

/// Times `a` and `b` in turn, one call each, `n` times, so both see the same machine load:
/// [(p50, p99) of a, (p50, p99) of b].
pub fn interleaved(mut a: impl FnMut(), mut b: impl FnMut(), n: usize) -> [(Duration, Duration); 2] {
    let (mut ta, mut tb) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let s = Instant::now();
        a();
        ta.push(s.elapsed());
        let s = Instant::now();
        b();
        tb.push(s.elapsed());
    }
    ta.sort();
    tb.sort();
    [(ta[n / 2], ta[n * 99 / 100]), (tb[n / 2], tb[n * 99 / 100])]
}

/// The setup of the bundled MCI fixture (its scope and store inventory, built-in rules).
pub fn mci_setup() -> scopecheck::Setup {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let read = |f: &str| std::fs::read_to_string(root.join("fixtures/mci").join(f)).unwrap_or_default();
    scopecheck::Setup {
        scope: Some(scopecheck::Source::new("scope.yaml", read("scope.yaml"))),
        stores: Some(scopecheck::Source::new("stores.yaml", read("stores.yaml"))),
        ..scopecheck::Setup::default()
    }
}
