//! The `scopecheck` binary: a thin shell over `scopecheck_cli::run`.

use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
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
    ExitCode::from(code)
}
