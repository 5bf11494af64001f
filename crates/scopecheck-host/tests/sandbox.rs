//! The plugin's sandbox. Hostile guests that speak the plugin ABI (`guests/hostile.wat`, and tiny
//! modules below) try, inside their decide call, to reach files, sockets, clocks, the environment
//! and arguments, and to exceed the host's limits (fuel, time, memory, stack, the cost of host
//! calls, the reply). The host gives them nothing of the outside world and stops every one of
//! them; after each, the same host process goes on: the hostile plugin starts afresh and answers,
//! and the real plugin decides the next good event exactly as the native engine does. The real
//! plugin's imports are listed here, so a new one fails this test and gets reviewed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use scopecheck::decide::{Decision, ErrorCode, Verdict};
use scopecheck_host::{HostConfig, HostError, Interrupt, Plugin, PluginModule, PluginPool};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const GOOD: &str = r#"{"ts":"2026-05-11T09:09:07-07:00","program":"mci","subject":"e-10428","subject_kind":"employee","source":"desktop-agent","store":"mci-raw","data":{"ui":{"action":"click","element_id":"btn-refresh","label":"Refresh"}}}"#;

/// Guest memory cap of the hostile modules.
const CAP: usize = 32 << 20;
/// Fuel per decision of the fuel-metered hostile module.
const FUEL: u64 = 5_000_000;
/// What the guest's out-parameter area holds before each try: a word the host did not write.
const SENTINEL: u32 = 0xAAAA_AAAA;
const EBADF: u32 = 8;
const EFAULT: u32 = 21;
const EINVAL: u32 = 28;

/// The WASI functions the real plugin imports, with their signatures: each is one the host
/// implements itself (`add_wasi_stubs`), with no capability behind it. A new import fails
/// `the_real_plugin_imports_only_what_the_host_stubs`: review what it would give the guest, stub
/// it in `scopecheck-host` (or keep it trapping) and add it here.
const PLUGIN_IMPORTS: [(&str, &str, &str); 5] = [
    ("wasi_snapshot_preview1", "random_get", "(i32 i32) -> (i32)"),
    ("wasi_snapshot_preview1", "environ_get", "(i32 i32) -> (i32)"),
    ("wasi_snapshot_preview1", "environ_sizes_get", "(i32 i32) -> (i32)"),
    ("wasi_snapshot_preview1", "fd_write", "(i32 i32 i32 i32) -> (i32)"),
    ("wasi_snapshot_preview1", "proc_exit", "(i32) -> ()"),
];

fn hostile_wasm() -> &'static [u8] {
    static W: OnceLock<Vec<u8>> = OnceLock::new();
    W.get_or_init(|| wat::parse_file(workspace().join("crates/scopecheck-host/tests/guests/hostile.wat")).unwrap())
}

fn hostile_config(interrupt: Interrupt) -> HostConfig {
    HostConfig {
        interrupt,
        max_memory_bytes: CAP,
        time_per_decision: Duration::from_secs(1),
        fuel_per_decision: FUEL,
        max_instances: 32,
        ..HostConfig::default()
    }
}

/// The hostile guest with epoch deadlines (no fuel metering at all), compiled once.
fn epoch_module() -> Arc<PluginModule> {
    static M: OnceLock<Arc<PluginModule>> = OnceLock::new();
    M.get_or_init(|| Arc::new(PluginModule::compile(hostile_wasm(), hostile_config(Interrupt::Epoch)).unwrap())).clone()
}

/// The hostile guest with fuel, compiled once.
fn fuel_module() -> Arc<PluginModule> {
    static M: OnceLock<Arc<PluginModule>> = OnceLock::new();
    M.get_or_init(|| Arc::new(PluginModule::compile(hostile_wasm(), hostile_config(Interrupt::Fuel)).unwrap())).clone()
}

fn hostile(module: Arc<PluginModule>) -> Plugin {
    Plugin::new(module, Arc::from(&b"{}"[..])).unwrap()
}

/// Runs one command of the hostile guest: its report (16 words), or what stopped it.
fn run(p: &mut Plugin, command: &str) -> Result<[u32; 16], HostError> {
    let d = p.try_decide(command.as_bytes())?;
    assert_eq!(d.decision, Verdict::Deny, "{command}");
    let hex = &d.removed[0];
    assert_eq!(hex.len(), 128, "{command}: {hex}");
    let mut words = [0u32; 16];
    for (i, w) in words.iter_mut().enumerate() {
        let bytes: Vec<u8> = (0..4).map(|b| u8::from_str_radix(&hex[i * 8 + b * 2..][..2], 16).unwrap()).collect();
        *w = u32::from_le_bytes(bytes.try_into().unwrap());
    }
    Ok(words)
}

/// The call gave the guest nothing: it trapped (the host does not provide that import), or it
/// returned an error and wrote nothing back.
fn gave_nothing(p: &mut Plugin, command: &str, import: &str) {
    match run(p, command) {
        Err(HostError::Trap(message)) => {
            assert!(message.contains(import), "{command}: {message}");
        }
        Ok(r) => {
            assert_ne!(r[0], 0, "{command}: {import} succeeded: {r:x?}");
            assert!(r[1..].iter().all(|w| *w == SENTINEL), "{command}: {import} wrote back {r:x?}");
        }
        Err(e) => panic!("{command}: {import}: {e}"),
    }
}

/// The real plugin, shared by the tests: a pool, as embedders use it.
fn real_pool() -> &'static PluginPool {
    static P: OnceLock<PluginPool> = OnceLock::new();
    P.get_or_init(|| PluginPool::new(module(), bundle_bytes("mci").into(), 2).unwrap())
}

fn expected_good() -> &'static Decision {
    static D: OnceLock<Decision> = OnceLock::new();
    D.get_or_init(|| native(&bundle_bytes("mci")).decide_line(GOOD))
}

/// The host is up: the hostile plugin answers again (a fresh instance after a trap), and the real
/// plugin decides the next good event exactly as the native engine does.
fn host_goes_on(p: &mut Plugin) {
    let r = run(p, ".").unwrap();
    assert_eq!(r[0], 0);
    assert!(r[1..].iter().all(|w| *w == SENTINEL));
    let got = real_pool().try_decide(GOOD.as_bytes()).unwrap();
    assert_eq!(&got, expected_good());
    assert!(got.error.is_none());
}

#[test]
fn no_files() {
    let mut p = hostile(epoch_module());
    // stdin, stdout, stderr, and where a WASI host puts its preopened folders (3, 4, 5...).
    for fd in ["0", "1", "2", "3", "4", "5", "9"] {
        gave_nothing(&mut p, &format!("o{fd}"), "path_open");
        gave_nothing(&mut p, &format!("O{fd}"), "path_open");
        gave_nothing(&mut p, &format!("p{fd}"), "fd_prestat_get");
        gave_nothing(&mut p, &format!("P{fd}"), "fd_prestat_dir_name");
        gave_nothing(&mut p, &format!("f{fd}"), "fd_fdstat_get");
        gave_nothing(&mut p, &format!("r{fd}"), "fd_read");
    }
    // `fd_write` exists (for panic messages) but only for fds 1 and 2.
    for fd in ["0", "3", "4", "9", "/"] {
        let r = run(&mut p, &format!("w{fd}")).unwrap();
        assert_eq!(r[0], EBADF, "w{fd}");
        assert_eq!(r[1], SENTINEL, "w{fd}: nothing written back");
    }
    for fd in ["1", "2"] {
        let r = run(&mut p, &format!("w{fd}")).unwrap();
        assert_eq!((r[0], r[1]), (0, 11), "w{fd}");
        // What fds 1 and 2 get is kept in the host, not written to its stdout or stderr: it is in
        // the error of the trap that follows.
        match run(&mut p, &format!("t{fd}")) {
            Err(HostError::Trap(message)) => assert!(message.contains("hello from the guest"), "{message}"),
            other => panic!("t{fd}: {other:?}"),
        }
    }
    assert!(p.restarts >= 2);
    host_goes_on(&mut p);
}

#[test]
fn no_network() {
    let mut p = hostile(epoch_module());
    for fd in ["0", "1", "3", "4", "9"] {
        gave_nothing(&mut p, &format!("a{fd}"), "sock_accept");
        gave_nothing(&mut p, &format!("R{fd}"), "sock_recv");
        gave_nothing(&mut p, &format!("S{fd}"), "sock_send");
    }
    host_goes_on(&mut p);
}

#[test]
fn no_clock() {
    let mut p = hostile(epoch_module());
    // realtime, monotonic, process and thread CPU time
    for clock in ["0", "1", "2", "3"] {
        gave_nothing(&mut p, &format!("c{clock}"), "clock_time_get");
        gave_nothing(&mut p, &format!("C{clock}"), "clock_res_get");
        gave_nothing(&mut p, &format!("q{clock}"), "poll_oneoff");
    }
    gave_nothing(&mut p, "y", "sched_yield");
    host_goes_on(&mut p);
}

#[test]
fn no_environment_and_no_arguments() {
    let mut p = hostile(epoch_module());
    let r = run(&mut p, "e").unwrap();
    assert_eq!((r[0], r[1], r[2]), (0, 0, 0), "environ_sizes_get: no variables, no bytes: {r:x?}");
    assert_eq!(r[13], 0, "environ_get succeeds");
    assert_eq!(&r[3..7], &[SENTINEL; 4], "environ_get writes nothing");
    gave_nothing(&mut p, "g", "args_sizes_get");
    gave_nothing(&mut p, "G", "args_get");
    host_goes_on(&mut p);
}

#[test]
fn other_calls_trap() {
    let mut p = hostile(epoch_module());
    match run(&mut p, "x") {
        Err(HostError::Trap(message)) => assert!(message.contains("proc_exit(7)"), "{message}"),
        other => panic!("proc_exit: {other:?}"),
    }
    host_goes_on(&mut p);
    gave_nothing(&mut p, "k", "proc_raise");
    // Not WASI at all.
    gave_nothing(&mut p, "z", "system");
    host_goes_on(&mut p);
}

#[test]
fn random_get_gives_bounded_randomness() {
    let mut p = hostile(epoch_module());
    let r = run(&mut p, "n").unwrap();
    assert_eq!(r[0], 0);
    assert_ne!(&r[1..5], &[SENTINEL; 4], "16 random bytes");
    assert_eq!(r[5], SENTINEL, "and no more");
    // Asking for 2 GiB is refused at once, not worked on by the host (a host call cannot be
    // interrupted by the deadline); so is a buffer past the end of memory.
    let started = Instant::now();
    assert_eq!(run(&mut p, "N0").unwrap()[0], EINVAL);
    assert!(started.elapsed() < Duration::from_millis(500), "{:?}", started.elapsed());
    assert_eq!(run(&mut p, "N2").unwrap()[0], 0, "64 KiB");
    assert_eq!(run(&mut p, "N3").unwrap()[0], EINVAL, "64 KiB + 1");
    assert_eq!(run(&mut p, "N4").unwrap()[0], EFAULT, "partly past the end of memory");
    assert_eq!(p.restarts, 0);
    host_goes_on(&mut p);
}

#[test]
fn a_loop_runs_out_of_fuel() {
    let mut p = hostile(fuel_module());
    let started = Instant::now();
    let err = run(&mut p, "L").unwrap_err();
    assert_eq!(err, HostError::OutOfFuel { fuel: FUEL });
    assert_eq!(err.to_decision().error.map(|e| e.code), Some(ErrorCode::OutOfFuel));
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(p.restarts, 1);
    host_goes_on(&mut p);
    // Stopped again, and again recovered.
    assert_eq!(p.decide(b"L").error.map(|e| e.code), Some(ErrorCode::OutOfFuel));
    host_goes_on(&mut p);
}

#[test]
fn a_loop_with_unlimited_fuel_runs_out_of_time() {
    let module = epoch_module();
    assert_eq!(module.config().interrupt, Interrupt::Epoch, "no fuel metering: only the deadline stops it");
    let mut p = hostile(module);
    p.set_time_per_decision(Duration::from_millis(100));
    let started = Instant::now();
    let err = run(&mut p, "L").unwrap_err();
    let took = started.elapsed();
    assert_eq!(err, HostError::OutOfTime { ms: 100 });
    assert_eq!(err.to_decision().error.map(|e| e.code), Some(ErrorCode::OutOfTime));
    assert!(took >= Duration::from_millis(95) && took < Duration::from_secs(5), "{took:?}");
    host_goes_on(&mut p);
}

#[test]
fn memory_cannot_grow_past_the_cap() {
    let mut p = hostile(epoch_module());
    // Growing 1 MiB at a time until refused: refused at the cap, not before, and the guest,
    // which handles the refusal, goes on within the cap.
    let r = run(&mut p, "M0").unwrap();
    assert_eq!(r[0], u32::MAX, "memory.grow returned -1");
    let reached = r[1] as usize * 65536;
    assert!(reached <= CAP && reached + (1 << 20) > CAP, "{reached}");
    assert!(p.instance().unwrap().memory_bytes() <= CAP);
    // One huge growth: refused, nothing changes.
    for huge in ["B0", "B1"] {
        let r = run(&mut p, huge).unwrap();
        assert_eq!(r[0], u32::MAX, "{huge}");
        assert_eq!(r[1] as usize * 65536, reached, "{huge}");
    }
    // A guest that traps when refused (as an allocator does) is out of memory.
    assert_eq!(run(&mut p, "M1").unwrap_err(), HostError::OutOfMemory { limit: CAP });
    host_goes_on(&mut p);
    assert!(p.instance().unwrap().memory_bytes() < CAP, "the fresh instance starts small");
}

#[test]
fn deep_recursion_exhausts_the_stack() {
    let mut p = hostile(epoch_module());
    match run(&mut p, "D") {
        Err(HostError::Trap(message)) => assert!(message.contains("stack"), "{message}"),
        other => panic!("{other:?}"),
    }
    host_goes_on(&mut p);
    let mut p = hostile(fuel_module());
    assert!(matches!(run(&mut p, "D"), Err(HostError::Trap(_))));
    host_goes_on(&mut p);
}

#[test]
fn fd_write_copies_at_most_the_kept_stderr() {
    let mut p = hostile(epoch_module());
    // 64 iovecs, each all 16 MiB of memory: 1 GiB claimed written, 4 KiB kept.
    let r = run(&mut p, "W0").unwrap();
    let claimed = 64 * ((16 << 20) - 0x400);
    assert_eq!((r[0], r[1]), (0, claimed), "{r:x?}");
    match run(&mut p, "W1") {
        Err(HostError::Trap(message)) => {
            assert!(message.contains("/etc/passwd"), "{message}");
            // 4 KiB of guest bytes kept (shown lossily: a byte that is not UTF-8 is one U+FFFD).
            assert!(message.chars().count() < 4096 + 256, "{} characters", message.chars().count());
        }
        other => panic!("{other:?}"),
    }
    host_goes_on(&mut p);
}

#[test]
fn lying_replies_are_refused() {
    let mut p = hostile(epoch_module());
    for (what, command) in [("outside memory", "X0"), ("4 GiB", "X1"), ("not JSON", "X2")] {
        match run(&mut p, command) {
            Err(HostError::BadReply(message)) => assert!(!message.is_empty(), "{what}"),
            other => panic!("{what}: {other:?}"),
        }
        host_goes_on(&mut p);
    }
    assert_eq!(p.restarts, 3);
}

/// A module speaking the ABI: `head` holds its memory (and imports, a start function...).
fn tiny(head: &str, abi: &str, load: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module {head}
          (func (export "scopecheck_abi_version") (result i32) {abi})
          (func (export "scopecheck_alloc") (param i32) (result i32) (i32.const 1024))
          (func (export "scopecheck_free") (param i32 i32))
          (func (export "scopecheck_load") (param i32 i32) (result i64) {load})
          (func (export "scopecheck_configure") (param i32 i32) (result i64) (i64.const 0))
          (func (export "scopecheck_decide") (param i32 i32) (result i64) (i64.const 0)))"#
    ))
    .unwrap()
}

#[test]
fn hostile_modules_are_refused_or_stopped_at_start() {
    const MEMORY: &str = r#"(memory (export "memory") 1)"#;
    let spin = r#"(memory (export "memory") 1) (func $spin (loop $l (br $l))) (start $spin)"#;
    let quick = |interrupt| HostConfig {
        time_per_load: Duration::from_millis(100),
        fuel_per_load: FUEL,
        ..hostile_config(interrupt)
    };
    // A start function that never returns: stopped by the load deadline, or by fuel.
    for interrupt in [Interrupt::Epoch, Interrupt::Fuel] {
        let started = Instant::now();
        let err = PluginModule::compile(&tiny(spin, "(i32.const 2)", "(i64.const 0)"), quick(interrupt)).unwrap_err();
        assert!(matches!(err, HostError::Instantiate(_)), "{interrupt:?}: {err}");
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    }
    // A load that never returns.
    let looping = tiny(MEMORY, "(i32.const 2)", "(loop $l (br $l)) (i64.const 0)");
    for (interrupt, expected) in
        [(Interrupt::Epoch, HostError::OutOfTime { ms: 100 }), (Interrupt::Fuel, HostError::OutOfFuel { fuel: FUEL })]
    {
        let module = Arc::new(PluginModule::compile(&looping, quick(interrupt)).unwrap());
        assert_eq!(Plugin::new(module, Arc::from(&b"{}"[..])).unwrap_err(), expected);
    }
    // More memory than the cap, from the start.
    let big = tiny(r#"(memory (export "memory") 16384)"#, "(i32.const 2)", "(i64.const 0)");
    let err = PluginModule::compile(&big, hostile_config(Interrupt::Epoch)).unwrap_err();
    assert!(matches!(err, HostError::Module(_)) && err.to_string().contains("memory"), "{err}");
    // Imports the host has no such thing for: a memory, or a WASI function with another signature.
    for head in [
        r#"(import "env" "memory" (memory 1)) (export "memory" (memory 0))"#,
        r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i64) (result i64))) (memory (export "memory") 1)"#,
        r#"(import "wasi_snapshot_preview1" "clock_time_get" (global i64)) (memory (export "memory") 1)"#,
    ] {
        let err =
            PluginModule::compile(&tiny(head, "(i32.const 2)", "(i64.const 0)"), hostile_config(Interrupt::Epoch))
                .unwrap_err();
        assert!(matches!(err, HostError::Module(_)), "{head}: {err}");
    }
    // Another ABI.
    let err = PluginModule::compile(&tiny(MEMORY, "(i32.const 3)", "(i64.const 0)"), hostile_config(Interrupt::Epoch))
        .unwrap_err();
    assert_eq!(err, HostError::AbiMismatch { expected: 2, found: 3 });
    // A fresh real plugin decides as the native engine does.
    let mut fresh = Plugin::new(module(), bundle_bytes("mci").into()).unwrap();
    assert_eq!(&fresh.try_decide(GOOD.as_bytes()).unwrap(), expected_good());
    host_goes_on(&mut hostile(epoch_module()));
}

/// Every import of a wasm module: (module, name, signature).
fn imports(wasm: &[u8]) -> Vec<(String, String, String)> {
    use wasmparser::{Parser, Payload, TypeRef};
    let mut types = Vec::new();
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.unwrap() {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for ty in group.unwrap().into_types() {
                        let f = ty.unwrap_func();
                        let list =
                            |v: &[wasmparser::ValType]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ");
                        types.push(format!("({}) -> ({})", list(f.params()), list(f.results())));
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.unwrap();
                    let sig = match import.ty {
                        TypeRef::Func(i) => types[i as usize].clone(),
                        other => format!("{other:?}"),
                    };
                    out.push((import.module.to_string(), import.name.to_string(), sig));
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn the_real_plugin_imports_only_what_the_host_stubs() {
    let plugin = std::fs::read(plugin_path()).unwrap();
    let mut found = imports(&plugin);
    found.sort();
    let mut expected: Vec<_> =
        PLUGIN_IMPORTS.iter().map(|(m, n, s)| (m.to_string(), n.to_string(), s.to_string())).collect();
    expected.sort();
    assert_eq!(found, expected, "the plugin's imports changed: review them (see PLUGIN_IMPORTS)");
    // The hostile guest imports the same five, with the same signatures, and the tests above call
    // each of them through the host's stubs: `random_get` (bounded), `environ_sizes_get` and
    // `environ_get` (empty), `fd_write` (fds 1 and 2, kept in the host), `proc_exit` (a trap).
    let hostile = imports(hostile_wasm());
    for want in &expected {
        assert!(hostile.contains(want), "the hostile guest does not exercise {want:?}");
    }
}
