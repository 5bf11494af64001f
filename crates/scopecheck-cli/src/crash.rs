//! What the `scopecheck` binary does when something panics.
//!
//! The library denies panics by lints, but a bug in a dependency (a parser, a regex engine, Cedar)
//! may still panic, and a panic message may quote the input it choked on: a line of captures, a
//! detected value, a person's id. Rust's default hook prints that message in clear and the
//! process exits 101. The binary installs [`install_hook`] and runs under [`guard`] instead:
//!
//! - stderr gets a fixed text naming the place of the panic (source file, line and column: code,
//!   never data) and saying that the message is withheld, unless `SCOPECHECK_SHOW_PANIC=1` asks
//!   for it;
//! - the exit code is 2 ("could not run"), never 101, whether the panic unwound through `run` or
//!   happened on another thread and was swallowed there (fail closed: a run that panicked is not
//!   trusted to have reported everything).
//!
//! With `RUST_BACKTRACE=1` the backtrace (function names and source places, no data) is printed
//! too.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::io::Write;
use std::panic::{AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicBool, Ordering};

/// The environment variable that shows the panic message (`1`). Only for debugging on data that
/// may be shown: the message may quote captured data.
pub const SHOW_PANIC_VAR: &str = "SCOPECHECK_SHOW_PANIC";

/// The exit code of a run that panicked: could not run.
pub const PANIC_EXIT_CODE: u8 = 2;

/// Set by the hook on the first panic on any thread.
static PANICKED: AtomicBool = AtomicBool::new(false);

/// Whether `SCOPECHECK_SHOW_PANIC=1` is set.
pub fn show_requested() -> bool {
    std::env::var_os(SHOW_PANIC_VAR).is_some_and(|v| v == "1")
}

/// A source path as short as it is still clear: a dependency's path from its crate folder
/// (`serde_yaml-0.9.34/src/de.rs` rather than the whole registry path), the rest as they are.
pub fn short_path(file: &str) -> &str {
    const REGISTRY: &str = "/registry/src/";
    match file.find(REGISTRY) {
        // `…/registry/src/index.crates.io-HASH/CRATE-VERSION/src/x.rs` → `CRATE-VERSION/src/x.rs`.
        Some(at) => {
            let rest = file.get(at + REGISTRY.len()..).unwrap_or(file);
            rest.split_once('/').map_or(rest, |(_, crate_path)| crate_path)
        }
        None => file,
    }
}

/// The text printed for a panic at `location` (None where the runtime gave none) on the thread
/// named `thread`. `payload` (the panic message, where it is a string) is printed only when
/// `show` is true; otherwise the text says it is withheld and how to see it.
pub fn message(location: Option<&Location<'_>>, thread: Option<&str>, payload: Option<&str>, show: bool) -> String {
    let place = location.map_or_else(
        || "an unknown place".to_string(),
        |l| format!("{}:{}:{}", short_path(l.file()), l.line(), l.column()),
    );
    let thread = thread.map(|t| format!(" (thread '{t}')")).unwrap_or_default();
    let mut text = format!("error: internal error at {place}{thread}; this is a bug in scopecheck, please report it\n");
    if show {
        let payload = payload.unwrap_or("(the panic carried no text)");
        text.push_str(&format!("  panic message ({SHOW_PANIC_VAR}=1, it may quote captured data): {payload}\n"));
    } else {
        text.push_str(&format!(
            "  the panic message is withheld because it may quote captured data or a person's id; set \
             {SHOW_PANIC_VAR}=1 to see it (only where that data may be shown)\n"
        ));
    }
    text.push_str("  the run is not trusted to have checked everything: it fails with exit code 2 (could not run)\n");
    text
}

/// Installs the panic hook: [`message`] on stderr instead of the panic message, and the run
/// marked as failed (see [`guard`]). Replaces any hook installed before.
pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        PANICKED.store(true, Ordering::SeqCst);
        let thread = std::thread::current();
        let text = message(info.location(), thread.name(), info.payload_as_str(), show_requested());
        // A hook that panicked (on a closed stderr) would abort: errors writing are dropped.
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(text.as_bytes());
        let backtrace = Backtrace::capture();
        if backtrace.status() == BacktraceStatus::Captured {
            let _ = writeln!(stderr, "stack backtrace:\n{backtrace}");
        }
        let _ = stderr.flush();
    }));
}

/// Whether a panic was met by the hook (on any thread) since it was installed.
pub fn panicked() -> bool {
    PANICKED.load(Ordering::SeqCst)
}

/// Runs `f` (the command line) and returns its exit code, or [`PANIC_EXIT_CODE`] if it panicked
/// or any thread panicked while it ran (with [`install_hook`] installed).
pub fn guard(f: impl FnOnce() -> u8) -> u8 {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) if panicked() => PANIC_EXIT_CODE,
        Ok(code) => code,
        Err(_) => PANIC_EXIT_CODE,
    }
}
