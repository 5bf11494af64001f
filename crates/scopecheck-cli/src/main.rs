//! The `scopecheck` binary: a thin shell over `scopecheck_cli::run`.
//!
//! A panic (a bug, most likely in a dependency) never prints its message, which may quote captured
//! data, and never exits 101: see `scopecheck_cli::crash`.

use scopecheck_cli::crash;
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    crash::install_hook();
    ExitCode::from(crash::guard(run))
}

fn run() -> u8 {
    #[cfg(debug_assertions)]
    test_panic();
    let stdin = std::io::stdin();
    let mut stdin = stdin.lock();
    let stdout = std::io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut stdout = std::io::BufWriter::new(stdout.lock());
    let mut stderr = std::io::stderr();
    let code = scopecheck_cli::run(
        std::env::args_os(),
        &mut scopecheck_cli::Io { stdin: &mut stdin, stdout: &mut stdout, stderr: &mut stderr, terminal: color },
    );
    drop(stdout);
    code
}

/// Debug builds only (`cargo build`, `cargo test`; compiled out of release builds): with
/// `SCOPECHECK_DEBUG_PANIC=TEXT` the binary panics with a message quoting `TEXT`, so that the
/// end-to-end tests (tests/leak.rs) can check on the real binary that no panic message leaks and
/// that a panic exits 2. `SCOPECHECK_DEBUG_PANIC=thread:TEXT` panics on another thread, whose
/// panic is swallowed, and then runs the command line as usual: the exit code must still be 2.
#[cfg(debug_assertions)]
#[expect(clippy::panic, reason = "the point: a panic quoting data, for the tests")]
fn test_panic() {
    let Some(text) = std::env::var_os("SCOPECHECK_DEBUG_PANIC") else { return };
    let text = text.to_string_lossy().into_owned();
    match text.strip_prefix("thread:") {
        Some(text) => {
            let text = text.to_string();
            let _ = std::thread::Builder::new()
                .name("scopecheck-test-panic".into())
                .spawn(move || panic!("test panic on a worker, quoting the input: {text}"))
                .map(std::thread::JoinHandle::join);
        }
        None => panic!("test panic quoting the input: {text}"),
    }
}
