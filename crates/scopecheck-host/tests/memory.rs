//! No memory growth: many decisions in one instance leave guest memory where it was after the
//! first thousand (the benchmark measures a million).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use scopecheck_host::Plugin;

#[test]
fn guest_memory_is_flat_after_warm_up() {
    let events = events("mci");
    let mut p = Plugin::new(module(), bundle_bytes("mci").into()).unwrap();
    let total = 20_000;
    let mut after_warm_up = 0;
    for i in 0..total {
        let e = &events[i % events.len()];
        let _ = p.try_decide(e.as_bytes()).unwrap();
        if i + 1 == 1000 {
            after_warm_up = p.instance().unwrap().memory_bytes();
        }
    }
    let end = p.instance().unwrap().memory_bytes();
    eprintln!("guest memory: {after_warm_up} bytes after 1000 decisions, {end} after {total}");
    assert_eq!(end, after_warm_up, "guest memory grew");
    assert_eq!(p.restarts, 0);
}
