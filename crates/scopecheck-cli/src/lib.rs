//! The scopecheck command line, as a library so tests can run it in-process.
//!
//! Exit codes: 0 nothing at or above `--fail-on`; 1 findings at or above it;
//! 2 could not run (bad scope, policy, store file, missing file, bad arguments).

mod check;
pub mod crash;
mod detectors;
mod drift;
mod enforce;
mod generate;
mod input;
mod output;
mod policytest;
mod simulate;

use clap::{Args, Parser, Subcommand, ValueEnum};
use scopecheck::audit::{AuditOptions, Input, InputKind};
use scopecheck::input::Line;
use scopecheck::report::Format;
use scopecheck::rules::{RulePack, Severity};
use scopecheck::{Error, ErrorKind, Location, Setup, Source};
use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::path::PathBuf;

/// Where the command line reads and writes.
pub struct Io<'a> {
    /// Standard input (captures from `-`).
    pub stdin: &'a mut dyn BufRead,
    /// Reports.
    pub stdout: &'a mut dyn Write,
    /// Errors and progress.
    pub stderr: &'a mut dyn Write,
    /// stdout is a terminal (for `--color auto`).
    pub terminal: bool,
}

#[derive(Parser, Debug)]
#[command(
    name = "scopecheck",
    version,
    about = "Prove that a data-collection program captures only what it disclosed.",
    long_about = "scopecheck holds a declared scope (YAML) against observed captures, store inventories and access logs, and reports every place the capture goes beyond the notice. Cedar policies decide.\n\nExit codes: 0 no finding at or above --fail-on; 1 findings at or above it; 2 could not run."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Audit captures (JSONL, `.gz`, `-` for stdin) against a declared scope.
    Audit(AuditArgs),
    /// Check a scope, store inventory, policies and detectors without auditing.
    Check(check::CheckArgs),
    /// Print the JSON Schema of the scope format (or of the JSON report, or the Cedar schema).
    Schema {
        /// Print the Cedar schema policies are validated against.
        #[arg(long, conflicts_with_all = ["report", "scenario", "simulation"])]
        cedar: bool,
        /// Print the JSON Schema of the JSON report (`audit --format json`).
        #[arg(long, conflicts_with_all = ["scenario", "simulation"])]
        report: bool,
        /// Print the JSON Schema of `scopecheck generate`'s scenario files.
        #[arg(long, conflicts_with = "simulation")]
        scenario: bool,
        /// Print the JSON Schema of `scopecheck simulate --format json`.
        #[arg(long)]
        simulation: bool,
    },
    /// List the rules in force, with their metadata.
    Rules {
        /// Extra rule files or folders of `.cedar` files.
        #[arg(long = "policies", value_name = "PATH")]
        policies: Vec<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List the category taxonomy.
    Taxonomy {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Pack a scope, rules, taxonomy and detectors into one bundle for the runtime plugin.
    Bundle(enforce::BundleArgs),
    /// Filter a JSONL event stream at runtime: allow, redact or deny each event.
    Enforce(enforce::EnforceArgs),
    /// Work with value and field-name detectors.
    #[command(subcommand)]
    Detectors(DetectorsCommand),
    /// Run policy unit tests written as data (YAML cases), with rule coverage.
    Test(policytest::TestArgs),
    /// Drift between two releases of a declared scope.
    Diff(drift::DiffArgs),
    /// Generate synthetic workforce telemetry with ground truth from a scenario.
    Generate(generate::GenerateArgs),
    /// What-if replay: judge recorded captures under the current configuration and a candidate
    /// one (scope, policies, detectors), read once, and show what the candidate adds, removes and
    /// changes.
    Simulate(simulate::SimulateArgs),
}

#[derive(Subcommand, Debug)]
enum DetectorsCommand {
    /// List active detectors.
    List {
        /// Extra detector definitions (YAML).
        #[arg(long = "detectors", value_name = "FILE")]
        detectors: Vec<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Run the value detectors over a corpus file; one JSON line of spans per text.
    Scan(detectors::ScanArgs),
    /// Score the detectors on a labelled corpus: precision, recall, F2 per entity type.
    Eval(detectors::EvalArgs),
}

#[derive(Args, Debug, Clone)]
pub(crate) struct LoadArgs {
    /// The declared scope (YAML). `audit` and `simulate` take it more than once: the versions of
    /// one program's notice, each with its `effective_from`, and judge each event by the version in
    /// force at its `ts`.
    #[arg(long, value_name = "FILE", required = true)]
    pub(crate) scope: Vec<PathBuf>,
    /// The observed store inventory (YAML or JSON).
    #[arg(long, value_name = "FILE")]
    pub(crate) stores: Option<PathBuf>,
    /// Extra Cedar rule files, or folders of `.cedar` files (repeatable).
    #[arg(long = "policies", value_name = "PATH")]
    pub(crate) policies: Vec<PathBuf>,
    /// Leave out the built-in rules (use only --policies).
    #[arg(long, alias = "no-baseline")]
    pub(crate) no_builtin_rules: bool,
    /// Switch off a rule by id (repeatable).
    #[arg(long = "disable", value_name = "RULE")]
    pub(crate) disable: Vec<String>,
    /// Extra detector definitions (YAML, repeatable).
    #[arg(long = "detectors", value_name = "FILE")]
    pub(crate) detectors: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct AuditArgs {
    #[command(flatten)]
    load: LoadArgs,
    /// Access log (JSONL, repeatable).
    #[arg(long = "access", value_name = "FILE")]
    access: Vec<String>,
    /// Capture files (JSONL, optionally gzip); `-` reads stdin.
    #[arg(value_name = "CAPTURES", required = true)]
    captures: Vec<String>,
    #[command(flatten)]
    output: OutputArgs,
    /// Show, per finding, keyed pseudonyms of a few of the people concerned (HMAC-SHA256 of each
    /// `subject` with this key): stable across runs and partitions with the same key.
    #[arg(long, value_name = "KEY", conflicts_with = "pseudonym_key_file")]
    pseudonym_key: Option<String>,
    /// As --pseudonym-key, with the key read from a file (kept out of the process list).
    #[arg(long, value_name = "FILE")]
    pseudonym_key_file: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_name = "SEVERITY|never", default_value = "high", value_parser = parse_fail_on)]
    fail_on: FailOn,
    #[command(flatten)]
    read: ReadArgs,
    /// Accepted findings (YAML): accepted ones stay listed, marked, and do not fail the gate; an
    /// expired acceptance fails it; a category the entry does not accept makes the finding new.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write --baseline anew: accept every finding of this audit, keeping the reasons, owners and
    /// dates already written; entries no finding uses are dropped.
    #[arg(long, requires = "baseline")]
    update_baseline: bool,
    /// With --update-baseline: the owner of newly accepted findings.
    #[arg(long, value_name = "WHO", requires = "update_baseline", default_value = "unassigned")]
    baseline_owner: String,
    /// With --update-baseline: why newly accepted findings are accepted.
    #[arg(
        long,
        value_name = "TEXT",
        requires = "update_baseline",
        default_value = "accepted by --update-baseline; say why"
    )]
    baseline_reason: String,
    /// With --update-baseline: the last day newly accepted findings are accepted (YYYY-MM-DD;
    /// default 90 days from today).
    #[arg(long, value_name = "DATE", requires = "update_baseline", value_parser = parse_date)]
    baseline_expires: Option<chrono::NaiveDate>,
    /// Ground truth (`labels.jsonl` from `scopecheck generate`): adds a score section with
    /// precision and recall per rule, event by event and finding by finding, and the labels missed.
    #[arg(long, value_name = "FILE")]
    labels: Option<PathBuf>,
    /// The date the baseline's expiry dates are held against (default: today, UTC).
    #[arg(long, value_name = "DATE", hide = true, value_parser = parse_date)]
    today: Option<chrono::NaiveDate>,
    /// Decide on this many threads (one more reads). Default: every core when the input files
    /// hold 8 MiB or more, else one. `--strict`, `--labels` and `--person` audit on one thread.
    /// The findings are the same, byte for byte, for any number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,
    /// Subject access report: what the captures hold about the one person whose `subject` is ID
    /// (fields, categories and their own values, when, where, who read them, what the notice did
    /// not cover), and nothing of anyone else. Formats human, json and html; written 0600.
    #[arg(long, value_name = "ID")]
    person: Option<String>,
}

fn parse_date(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|e| format!("`{s}` is not a date ({e}); write YYYY-MM-DD"))
}

/// Today, in UTC, or `--today` (hidden: for reproducible runs and tests).
fn today(given: Option<chrono::NaiveDate>) -> Result<chrono::NaiveDate, Error> {
    if let Some(d) = given {
        return Ok(d);
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.date_naive())
        .ok_or_else(|| Error::new(ErrorKind::Input, Location::file("<clock>"), "the system clock is out of range"))
}

/// `--max-line-bytes`: a number of bytes, with an optional K, M or G (binary) suffix.
pub(crate) fn parse_line_limit(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (t.get(..i).unwrap_or(""), t.get(i..).unwrap_or("")),
        None => (t, ""),
    };
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("`{s}` is not a size; write bytes, or a number with K, M or G (e.g. 1M)")),
    };
    let n: usize = digits.parse().map_err(|_| format!("`{s}` is not a size; write e.g. 1048576 or 1M"))?;
    let bytes = n.checked_mul(mult).ok_or_else(|| format!("`{s}` is too large"))?;
    let max = scopecheck::input::MAX_LINE;
    if bytes == 0 || bytes > max {
        return Err(format!("the line limit must be between 1 byte and {max} bytes (64M)"));
    }
    Ok(bytes)
}

/// How captures are read and what reports show: defined once, for `audit` and `simulate`.
#[derive(Args, Debug, Clone)]
pub(crate) struct ReadArgs {
    /// Show evidence as captured instead of redacted. The report then holds the sensitive data itself.
    #[arg(long)]
    pub(crate) show_evidence: bool,
    /// Stop with exit 2 at the first malformed line instead of rejecting it and going on.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Ignore detections below this confidence (0 to 1).
    #[arg(long, default_value_t = 0.5, value_name = "C")]
    pub(crate) min_confidence: f32,
    /// Longest input line read, in bytes (`K`, `M` and `G` suffixes: KiB, MiB, GiB; at most 64M).
    /// A longer line is rejected (counted and listed with its line number, never half-read) and
    /// reading goes on with the next one.
    #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = parse_line_limit)]
    pub(crate) max_line_bytes: usize,
}

impl ReadArgs {
    /// Checks what clap cannot, before anything is read.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if !(0.0..=1.0).contains(&self.min_confidence) {
            return Err(Error::new(
                ErrorKind::Input,
                Location::file("--min-confidence"),
                "the confidence must be between 0 and 1",
            ));
        }
        Ok(())
    }

    /// Sets the engine options these arguments choose.
    pub(crate) fn apply(&self, setups: &mut [Setup]) {
        for s in setups {
            s.options.show_evidence = self.show_evidence;
            s.options.min_confidence = self.min_confidence;
        }
    }
}

impl LoadArgs {
    /// Every file these arguments name.
    pub(crate) fn paths(&self) -> Vec<PathBuf> {
        self.scope.iter().chain(&self.stores).chain(&self.policies).chain(&self.detectors).cloned().collect()
    }
}

/// Where a command's output goes: defined once, for every command that prints a result.
#[derive(Args, Debug, Clone)]
pub(crate) struct OutputArgs {
    /// Output format. `NAME` writes to stdout (or to --output); `NAME=FILE` writes that format to
    /// FILE. Repeat it to write several formats in one run.
    #[arg(long = "format", value_name = "NAME[=FILE]")]
    format: Vec<String>,
    /// Write the output of the `--format NAME` given without a file here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Colour in the human format on a terminal.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
}

impl OutputArgs {
    /// Each format asked for and where it goes (`None`: stdout). Names are checked with `F`'s
    /// parser; at most one format goes to stdout or `--output`.
    fn targets<F: std::str::FromStr<Err = String>>(&self, default: F) -> Result<Vec<(F, Option<PathBuf>)>, Error> {
        let bad = |msg: String| {
            Error::new(ErrorKind::Input, Location::file("--format"), msg)
                .with_help("write `--format NAME` for stdout (or --output), `--format NAME=FILE` for a file")
        };
        let mut out = Vec::new();
        let mut unnamed = 0;
        for spec in &self.format {
            let (name, file) = match spec.split_once('=') {
                Some((n, f)) if !f.is_empty() => (n, Some(PathBuf::from(f))),
                Some((n, _)) => return Err(bad(format!("`--format {n}=` names no file"))),
                None => (spec.as_str(), None),
            };
            let format = name.parse::<F>().map_err(bad)?;
            let file = match file {
                Some(f) => Some(f),
                None => {
                    unnamed += 1;
                    self.output.clone()
                }
            };
            out.push((format, file));
        }
        if unnamed > 1 {
            return Err(bad("more than one `--format NAME` without a file: only one can go to stdout".into()));
        }
        let mut files: Vec<&PathBuf> = out.iter().filter_map(|(_, f)| f.as_ref()).collect();
        files.sort();
        if let Some(w) = files.windows(2).find(|w| w.first() == w.get(1)) {
            let twice = w.first().map_or(String::new(), |f| f.display().to_string());
            return Err(bad(format!("two formats would be written to `{twice}`")));
        }
        if out.is_empty() || (unnamed == 0 && self.output.is_some()) {
            out.push((default, self.output.clone()));
        }
        Ok(out)
    }

    /// Checks that every output file can be written, before any work is done.
    fn check_writable<F: std::str::FromStr<Err = String>>(&self, default: F) -> Result<(), Error> {
        for (_, file) in self.targets(default)? {
            if let Some(f) = file {
                output::check_writable(&f, "the output")?;
            }
        }
        Ok(())
    }

    /// The output files (for checking that none of them is an input).
    fn files<F: std::str::FromStr<Err = String>>(&self, default: F) -> Result<Vec<PathBuf>, Error> {
        Ok(self.targets(default)?.into_iter().filter_map(|(_, f)| f).collect())
    }

    /// Refuses, before any work, to write an output over one of `inputs` (`-` is stdin): it would
    /// destroy it. `whose` names the inputs in the message ("the audit's inputs").
    pub(crate) fn refuse_overwriting<F: std::str::FromStr<Err = String>>(
        &self,
        default: F,
        inputs: impl IntoIterator<Item = PathBuf>,
        whose: &str,
    ) -> Result<(), Error> {
        let inputs: Vec<PathBuf> =
            inputs.into_iter().filter(|p| p.as_os_str() != "-").filter_map(|p| std::fs::canonicalize(p).ok()).collect();
        for out in self.files(default)? {
            if std::fs::canonicalize(&out).is_ok_and(|real| real.is_file() && inputs.contains(&real)) {
                return Err(Error::new(
                    ErrorKind::Input,
                    Location::file(out.display().to_string()),
                    format!("the report would be written over one of {whose}"),
                )
                .with_help("write the report to another file"));
            }
        }
        Ok(())
    }

    fn color(&self, io: &Io<'_>, file: &Option<PathBuf>) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => io.terminal && file.is_none(),
        }
    }

    /// Writes text outputs: `render(format)` for each target.
    fn write_each<F: std::str::FromStr<Err = String> + Copy>(
        &self,
        default: F,
        io: &mut Io<'_>,
        mut render: impl FnMut(F, bool, &mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        for (format, file) in self.targets(default)? {
            let color = self.color(io, &file);
            match &file {
                Some(p) => write_atomically(p, "the output", |w| render(format, color, w))?,
                None => {
                    render(format, color, io.stdout).map_err(|e| write_error("<stdout>", &e))?;
                    io.stdout.flush().map_err(|e| write_error("<stdout>", &e))?;
                }
            }
        }
        Ok(())
    }
}

fn write_error(name: &str, e: &std::io::Error) -> Error {
    output::write_error(name, "the output", e)
}

pub(crate) use output::write_atomically;

/// Formats of the list commands (`rules`, `taxonomy`, `detectors list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListFormat {
    Human,
    Json,
    Markdown,
}

impl std::str::FromStr for ListFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "human" => Ok(ListFormat::Human),
            "json" => Ok(ListFormat::Json),
            "markdown" => Ok(ListFormat::Markdown),
            _ => Err(format!("`{s}` is not a format here; use human, json or markdown")),
        }
    }
}

/// `--fail-on`: the library's severity, or `never` (none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FailOn(Option<Severity>);

fn parse_fail_on(s: &str) -> Result<FailOn, String> {
    if s == "never" {
        Ok(FailOn(None))
    } else {
        s.parse::<Severity>().map(|s| FailOn(Some(s))).map_err(|e| format!("{e}, or never"))
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Runs the command line; returns the exit code.
pub fn run<I, T>(args: I, io: &mut Io<'_>) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let text = e.render().to_string();
            return if e.use_stderr() {
                let _ = write!(io.stderr, "{text}");
                2
            } else {
                let _ = write!(io.stdout, "{text}");
                0
            };
        }
    };
    let result = match cli.command {
        Command::Audit(a) => audit(a, io),
        Command::Check(c) => check::check(c, io),
        Command::Schema { cedar, report, scenario, simulation } => schema(cedar, report, scenario, simulation, io),
        Command::Rules { policies, output } => rules(&policies, &output, io),
        Command::Taxonomy { output } => taxonomy(&output, io),
        Command::Bundle(b) => enforce::bundle(b, io),
        Command::Enforce(e) => enforce::enforce(e, io),
        Command::Detectors(DetectorsCommand::List { detectors, output }) => detectors_list(&detectors, &output, io),
        Command::Detectors(DetectorsCommand::Scan(a)) => detectors::scan(a, io),
        Command::Detectors(DetectorsCommand::Eval(a)) => detectors::eval(a, io),
        Command::Test(t) => policytest::test(t, io),
        Command::Diff(d) => drift::diff(d, io),
        Command::Generate(g) => generate::generate(g, io),
        Command::Simulate(s) => simulate::simulate(s, io),
    };
    // What was printed must have reached stdout: a full disk or a closed pipe is an error.
    let result = result.and_then(|code| io.stdout.flush().map(|()| code).map_err(|e| write_error("<stdout>", &e)));
    match result {
        Ok(code) => code,
        Err(e) => {
            print_error(&e, io.stderr);
            2
        }
    }
}

/// Prints an error: `error: file:line:col: message`, the line with a caret, and help.
pub fn print_error(e: &Error, w: &mut dyn Write) {
    let _ = writeln!(w, "error: {e}");
    // Errors that carry no source (a detector file's) are drawn from the file itself.
    let from_file = match (&e.src, e.location.line, e.location.column) {
        (None, Some(_), Some(_)) => std::fs::metadata(&e.location.file)
            .ok()
            .filter(|m| m.is_file() && m.len() < (16 << 20))
            .and_then(|_| std::fs::read_to_string(&e.location.file).ok()),
        _ => None,
    };
    let text = e.src.as_ref().map(|s| s.inner().as_str()).or(from_file.as_deref());
    if let (Some(text), Some(line), Some(col)) = (text, e.location.line, e.location.column)
        && let Some(l) = source_line(text, line)
    {
        let num = line.to_string();
        let pad = " ".repeat(num.len());
        // A long line is shown around the column only.
        let chars: Vec<char> = l.chars().collect();
        let col = col.saturating_sub(1).min(chars.len());
        let (from, to) = if chars.len() <= SHOWN {
            (0, chars.len())
        } else {
            let from = col.saturating_sub(SHOWN / 2).min(chars.len() - SHOWN);
            (from, from + SHOWN)
        };
        let shown: String = chars.get(from..to).unwrap_or_default().iter().collect();
        let (before, after) = (if from > 0 { "…" } else { "" }, if to < chars.len() { "…" } else { "" });
        let _ = writeln!(w, "{pad} |");
        let _ = writeln!(w, "{num} | {before}{shown}{after}");
        let caret_pad: String = chars
            .get(from..col)
            .unwrap_or_default()
            .iter()
            .map(|c| if *c == '\t' { '\t' } else { ' ' })
            .chain(before.chars().map(|_| ' '))
            .collect();
        let _ = writeln!(w, "{pad} | {caret_pad}^");
    }
    if let Some(h) = &e.help {
        let _ = writeln!(w, "help: {h}");
    }
}

/// Characters of a source line shown under an error.
const SHOWN: usize = 100;

fn source_line(text: &str, line: usize) -> Option<&str> {
    text.lines().nth(line.checked_sub(1)?)
}

pub(crate) fn load_policies(paths: &[PathBuf]) -> Result<Vec<Source>, Error> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| input::open_error(&p.display().to_string(), "the policy folder", ErrorKind::Policy, &e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "cedar"))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(Error::new(
                    ErrorKind::Policy,
                    Location::file(p.display().to_string()),
                    "the folder holds no `.cedar` file",
                )
                .with_help("name a `.cedar` file, or a folder that holds some"));
            }
            for f in files {
                out.push(Source::new(
                    f.display().to_string(),
                    input::read_text(&f, "the policy file", ErrorKind::Policy)?,
                ));
            }
        } else {
            out.push(Source::new(p.display().to_string(), input::read_text(p, "the policy file", ErrorKind::Policy)?));
        }
    }
    Ok(out)
}

pub(crate) fn load_sources(paths: &[PathBuf], what: &str, kind: ErrorKind) -> Result<Vec<Source>, Error> {
    paths.iter().map(|p| Ok(Source::new(p.display().to_string(), input::read_text(p, what, kind)?))).collect()
}

/// The setup of a command that takes one scope.
pub(crate) fn setup(l: &LoadArgs) -> Result<Setup, Error> {
    if let [_, second, ..] = l.scope.as_slice() {
        return Err(Error::new(
            ErrorKind::Scope,
            Location::file(second.display().to_string()),
            "this command takes one scope, and `--scope` is given more than once",
        )
        .with_help("give one `--scope`; only `audit` and `simulate` judge by several versions of a scope"));
    }
    let mut all = setups(l)?;
    all.pop().ok_or_else(|| {
        Error::new(ErrorKind::Scope, Location::file("--scope"), "no scope given")
            .with_help("pass the declared scope with `--scope scope.yaml`")
    })
}

/// One setup per `--scope` (the versions of a scope), alike in everything else.
pub(crate) fn setups(l: &LoadArgs) -> Result<Vec<Setup>, Error> {
    let first = Setup {
        scope: None,
        stores: match &l.stores {
            Some(p) => Some(Source::new(
                p.display().to_string(),
                input::read_text(p, "the store inventory", ErrorKind::Stores)?,
            )),
            None => None,
        },
        policies: load_policies(&l.policies)?,
        no_builtin_rules: l.no_builtin_rules,
        disable: l.disable.clone(),
        detectors: load_sources(&l.detectors, "the detector file", ErrorKind::Detectors)?,
        options: scopecheck::eval::Options::default(),
    };
    l.scope
        .iter()
        .map(|p| {
            let text = input::read_text(p, "the scope", ErrorKind::Scope)?;
            Ok(Setup { scope: Some(Source::new(p.display().to_string(), text)), ..first.clone() })
        })
        .collect()
}

fn audit(a: AuditArgs, io: &mut Io<'_>) -> Result<u8, Error> {
    a.read.check()?;
    // Checked before anything is read, so a typo or an unwritable folder costs nothing.
    a.output.check_writable(Format::Human)?;
    let inputs = a.load.paths().into_iter().chain(a.captures.iter().chain(&a.access).map(PathBuf::from));
    let inputs = inputs.chain(a.pseudonym_key_file.iter().cloned()).chain(a.labels.iter().cloned());
    a.output.refuse_overwriting(Format::Human, inputs, "the audit's inputs")?;
    if let Some(id) = &a.person {
        check_person_args(&a, id)?;
    }
    let mut setups = setups(&a.load)?;
    a.read.apply(&mut setups);
    let key = match (&a.pseudonym_key, &a.pseudonym_key_file) {
        (Some(k), _) => Some(k.as_bytes().to_vec()),
        (None, Some(p)) => {
            let text = input::read_text(p, "the pseudonym key file", ErrorKind::Input)?;
            Some(text.trim_end_matches(['\n', '\r']).as_bytes().to_vec())
        }
        (None, None) => None,
    };
    if key.as_ref().is_some_and(Vec::is_empty) {
        let from = a.pseudonym_key_file.as_ref().filter(|_| a.pseudonym_key.is_none());
        let (at, what) = match from {
            Some(f) => (f.display().to_string(), "the pseudonym key file is empty"),
            None => ("--pseudonym-key".to_string(), "the pseudonym key is empty"),
        };
        return Err(Error::new(ErrorKind::Input, Location::file(at), what)
            .with_help("use a long random secret, the same for every run whose reports are to be linked"));
    }
    let pseudonyms = key.map(|k| scopecheck::people::Pseudonymizer::new(&k));
    let engines = setups
        .iter()
        .map(|s| {
            let mut engine = s.build()?;
            // The same key tags redacted values, so repeats of one value show without the value.
            engine.value_tags = pseudonyms.clone();
            Ok(std::sync::Arc::new(engine))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let options = AuditOptions { strict: a.read.strict, pseudonyms };
    // Reports holding evidence in clear, or one person's data, are their owner's alone (0600).
    let _sensitive = output::sensitive(a.read.show_evidence || a.person.is_some());
    let threads = audit_threads(&a);
    if threads > 1 {
        return audit_on_threads(&a, &setups, engines, options, threads, io);
    }
    let mut auditor = scopecheck::audit::Auditor::with_history(engines, options)?;
    if let Some(path) = &a.labels {
        let text = input::read_text(path, "the labels", ErrorKind::Input)?;
        auditor.score_against(scopecheck::labels::Scorer::parse(&text, &path.display().to_string())?);
    }
    if let Some(id) = &a.person {
        auditor.track_person(id);
    }
    for (path, kind, what) in input::records(&a.captures, &a.access) {
        let (mut reader, digest) = input::open(path, io.stdin, what)?;
        let name = input::display_name(path);
        if a.read.max_line_bytes == scopecheck::input::MAX_LINE {
            auditor.read(Input { name, kind, reader, digest: Some(digest) })?;
            continue;
        }
        // The same as `Auditor::read`, with the line limit asked for.
        let file = auditor.add_file(&name, kind);
        scopecheck::input::for_each_line_limited(&name, &mut reader, a.read.max_line_bytes, |n, line| match line {
            Line::Text(t) if kind == InputKind::Access => auditor.access_line(file, n, t),
            Line::Text(t) => auditor.capture_line(file, n, t),
            Line::Bad(reason) => auditor.reject(file, n, reason, kind == InputKind::Access),
        })?;
        let (sha256, bytes) = digest.finish();
        auditor.add_digest(file, sha256, bytes);
    }
    let (mut report, person) = auditor.finish_with_person()?;
    // The scope as declared (the newest version), for the HTML page (never in the JSON report).
    report.scope_text = setups
        .iter()
        .filter_map(|s| s.scope.as_ref())
        .find(|src| src.name == report.scope.file)
        .map(|src| src.text.clone());
    let expired = apply_baseline(&a, &mut report, io)?;
    if let Some(mut person) = person {
        person.take_baseline(&report);
        a.output.write_each(Format::Human, io, |format, _, w| match format {
            Format::Json => person.write_json(w),
            Format::Html => w.write_all(scopecheck::report::render_person_html(&person).as_bytes()),
            Format::Human => person.write_human(w),
            // Refused before reading (check_person_args).
            other => Err(std::io::Error::other(format!("--person does not write {}", other.as_str()))),
        })?;
        let expired: Vec<&scopecheck::person::PersonFinding> = person
            .findings
            .iter()
            .filter(|f| {
                f.baseline.as_ref().is_some_and(|b| b.status == scopecheck::baseline::AcceptanceStatus::Expired)
            })
            .collect();
        let failing = a.fail_on.0.map_or(0, |s| person.count_at_or_above(s));
        return Ok(if failing > 0 || !expired.is_empty() { 1 } else { 0 });
    }
    a.output.write_each(Format::Human, io, |format, color, w| format.printer(color).print(&report, w))?;
    for e in &expired {
        let _ = writeln!(io.stderr, "error: {e}");
    }
    let failing = a.fail_on.0.map_or(0, |s| report.count_at_or_above(s));
    Ok(if failing > 0 || !expired.is_empty() { 1 } else { 0 })
}

/// How many deciders: `--threads`, else every core for 8 MiB of input or more. Audits that must
/// see their input in order (`--strict`: the first bad line; `--labels`, `--person`) use one.
fn audit_threads(a: &AuditArgs) -> usize {
    if a.read.strict || a.labels.is_some() || a.person.is_some() {
        return 1;
    }
    if let Some(n) = a.threads {
        return usize::from(n);
    }
    let bytes: u64 = a
        .captures
        .iter()
        .chain(&a.access)
        .filter(|p| *p != "-")
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    if bytes >= 8 << 20 { std::thread::available_parallelism().map_or(1, usize::from) } else { 1 }
}

/// The audit on several deciders (`scopecheck::audit::audit_parallel`), then the outputs as
/// [`audit`] writes them.
fn audit_on_threads(
    a: &AuditArgs,
    setups: &[Setup],
    engines: Vec<std::sync::Arc<scopecheck::eval::Engine>>,
    options: AuditOptions,
    threads: usize,
    io: &mut Io<'_>,
) -> Result<u8, Error> {
    // Files are opened by name; they get an empty stand-in where `open` asks for stdin.
    let mut stand_ins: Vec<&[u8]> = vec![b""; a.captures.len() + a.access.len()];
    let mut stand_ins = stand_ins.iter_mut();
    // stdin is read once, whichever input names it first.
    let mut stdin = Some(&mut *io.stdin);
    let mut inputs = Vec::new();
    for (path, kind, what) in input::records(&a.captures, &a.access) {
        let stand_in = stand_ins.next().map(|s| s as &mut dyn BufRead);
        let source: &mut dyn BufRead = match (path == "-", stdin.take(), stand_in) {
            (true, Some(s), _) => s,
            (_, s, Some(e)) => {
                stdin = stdin.or(s);
                e
            }
            (_, _, None) => return Err(Error::internal("more inputs than were counted")),
        };
        let (reader, digest) = input::open(path, source, what)?;
        inputs.push(Input { name: input::display_name(path), kind, reader, digest: Some(digest) });
    }
    let split = scopecheck::audit::Split::new(threads, a.read.max_line_bytes);
    let mut report = scopecheck::audit::audit_parallel(engines, options, inputs, split)?;
    report.scope_text = setups
        .iter()
        .filter_map(|s| s.scope.as_ref())
        .find(|src| src.name == report.scope.file)
        .map(|src| src.text.clone());
    let expired = apply_baseline(a, &mut report, io)?;
    a.output.write_each(Format::Human, io, |format, color, w| format.printer(color).print(&report, w))?;
    for e in &expired {
        let _ = writeln!(io.stderr, "error: {e}");
    }
    let failing = a.fail_on.0.map_or(0, |s| report.count_at_or_above(s));
    Ok(if failing > 0 || !expired.is_empty() { 1 } else { 0 })
}

/// `--person`: the options that would show or change more than one person's report are refused,
/// before anything is read.
fn check_person_args(a: &AuditArgs, id: &str) -> Result<(), Error> {
    let refuse = |at: &str, msg: &str, help: &str| {
        Err(Error::new(ErrorKind::Input, Location::file(at), msg.to_string()).with_help(help.to_string()))
    };
    if id.trim().is_empty() {
        return refuse(
            "--person",
            "the person's id is empty",
            "give the `subject` id of the person, e.g. `--person e-10428`",
        );
    }
    if a.read.show_evidence {
        return refuse(
            "--show-evidence",
            "--show-evidence cannot be used with --person",
            "leave out --show-evidence: the person report already shows that person's own values, and must show no one else's",
        );
    }
    if a.update_baseline {
        return refuse(
            "--update-baseline",
            "--update-baseline cannot be used with --person",
            "update the baseline from the organisation's audit (without --person); --person only reads it",
        );
    }
    for (format, _) in a.output.targets(Format::Human)? {
        if !matches!(format, Format::Human | Format::Json | Format::Html) {
            return refuse(
                "--format",
                &format!("--person writes human, json or html, not {}", format.as_str()),
                "use --format json or --format html for the person's report; sarif, junit and markdown are for the organisation's audit (without --person)",
            );
        }
    }
    Ok(())
}

/// `--baseline` (and `--update-baseline`): marks the findings, warns of unused entries, and
/// returns the messages of expired acceptances (each fails the run).
fn apply_baseline(
    a: &AuditArgs,
    report: &mut scopecheck::report::Report,
    io: &mut Io<'_>,
) -> Result<Vec<String>, Error> {
    use scopecheck::baseline::{self, AcceptanceStatus};
    let Some(path) = &a.baseline else { return Ok(Vec::new()) };
    let name = path.display().to_string();
    let today = today(a.today)?;
    let old = match (a.update_baseline, std::fs::metadata(path).is_ok()) {
        // A first --update-baseline creates the file.
        (true, false) => None,
        _ => Some(baseline::parse(&input::read_text(path, "the baseline", ErrorKind::Input)?, &name)?),
    };
    if a.update_baseline {
        let expires = a.baseline_expires.unwrap_or(today + chrono::Days::new(90));
        let new = baseline::update(report, old.as_ref(), &a.baseline_reason, &a.baseline_owner, expires);
        let text = baseline::to_yaml(&new);
        output::write_atomically(path, "the baseline", |w| w.write_all(text.as_bytes()))?;
        baseline::apply(report, &new, &name, today)?;
        let _ = writeln!(io.stderr, "{name}: {} findings accepted", new.accepted.len());
    } else if let Some(b) = &old {
        let summary = baseline::apply(report, b, &name, today)?;
        for u in &summary.unused {
            let what = match (&u.rule, &u.target) {
                (Some(r), Some(t)) => format!(" ({r} on {t})"),
                _ => String::new(),
            };
            report.warnings.push(format!(
                "{name}: the entry {}{what} matches no finding; remove it (owner {})",
                u.fingerprint, u.owner
            ));
        }
    }
    Ok(report
        .findings
        .iter()
        .filter_map(|f| {
            let acc = f.baseline.as_ref().filter(|b| b.status == AcceptanceStatus::Expired)?;
            Some(format!(
                "{name}: the acceptance of {} on {} {} expired on {}; its owner {} must renew or drop it",
                f.rule, f.target.kind, f.target.id, acc.expires, acc.owner
            ))
        })
        .collect())
}

fn schema(cedar: bool, report: bool, scenario: bool, simulation: bool, io: &mut Io<'_>) -> Result<u8, Error> {
    if simulation {
        let s = serde_json::to_string_pretty(&scopecheck::simulate::SimulationReport::json_schema())
            .map_err(|e| Error::internal(e.to_string()))?;
        let _ = writeln!(io.stdout, "{s}");
    } else if scenario {
        let s = serde_json::to_string_pretty(&scopecheck::generate::json_schema())
            .map_err(|e| Error::internal(e.to_string()))?;
        let _ = writeln!(io.stdout, "{s}");
    } else if cedar {
        let _ = io.stdout.write_all(scopecheck::rules::SCHEMA_SRC.as_bytes());
    } else if report {
        let s = serde_json::to_string_pretty(&scopecheck::report::json_schema())
            .map_err(|e| Error::internal(e.to_string()))?;
        let _ = writeln!(io.stdout, "{s}");
    } else {
        let s = serde_json::to_string_pretty(&scopecheck::scope::json_schema())
            .map_err(|e| Error::internal(e.to_string()))?;
        let _ = writeln!(io.stdout, "{s}");
    }
    Ok(0)
}

fn rules(policies: &[PathBuf], output: &OutputArgs, io: &mut Io<'_>) -> Result<u8, Error> {
    let mut pack = RulePack::builtin()?;
    for p in load_policies(policies)? {
        pack.add_source(&p.text, &p.name)?;
    }
    let text_of = |format: ListFormat| -> String {
        match format {
            ListFormat::Json => {
                let mut s = serde_json::to_string_pretty(pack.rules()).unwrap_or_default();
                s.push('\n');
                s
            }
            ListFormat::Markdown => scopecheck::docs::rules_markdown(pack.rules()),
            ListFormat::Human => {
                let mut s = String::new();
                for r in pack.rules() {
                    s.push_str(&format!("{:<32} {:<8} {}\n", r.id, r.severity, r.title));
                }
                s
            }
        }
    };
    output.write_each(ListFormat::Human, io, |f, _, w| w.write_all(text_of(f).as_bytes()))?;
    Ok(0)
}

fn taxonomy(output: &OutputArgs, io: &mut Io<'_>) -> Result<u8, Error> {
    let t = scopecheck::taxonomy::Taxonomy::builtin()?;
    let text_of = |format: ListFormat| -> String {
        match format {
            ListFormat::Json => {
                let all: Vec<_> = t.iter().collect();
                let mut s = serde_json::to_string_pretty(&all).unwrap_or_default();
                s.push('\n');
                s
            }
            ListFormat::Markdown => scopecheck::docs::taxonomy_markdown(&t),
            ListFormat::Human => {
                let mut s = String::new();
                for c in t.iter() {
                    let depth = c.id.matches('.').count();
                    s.push_str(&format!(
                        "{}{:<w$} s{}  {:<48} {}\n",
                        "  ".repeat(depth),
                        c.id,
                        c.sensitivity,
                        c.fideslang.as_deref().unwrap_or("-"),
                        c.label,
                        w = 40usize.saturating_sub(depth * 2)
                    ));
                }
                s
            }
        }
    };
    output.write_each(ListFormat::Human, io, |f, _, w| w.write_all(text_of(f).as_bytes()))?;
    Ok(0)
}

fn detectors_list(extra: &[PathBuf], output: &OutputArgs, io: &mut Io<'_>) -> Result<u8, Error> {
    let mut d = scopecheck::detect::Detectors::builtin().map_err(scopecheck::detector_error)?;
    for s in load_sources(extra, "the detector file", ErrorKind::Detectors)? {
        d.add_yaml(&s.text, &s.name).map_err(scopecheck::detector_error)?;
    }
    let list = d.list();
    let text_of = |format: ListFormat| -> String {
        match format {
            ListFormat::Json => {
                let mut s = serde_json::to_string_pretty(&list).unwrap_or_default();
                s.push('\n');
                s
            }
            ListFormat::Human | ListFormat::Markdown => {
                let mut s = String::new();
                for i in &list {
                    s.push_str(&format!(
                        "{:<28} {:<6} {:<20} {:<34} {}\n",
                        i.id,
                        i.kind,
                        i.entity,
                        i.category.as_deref().unwrap_or("-"),
                        i.origin
                    ));
                }
                s
            }
        }
    };
    output.write_each(ListFormat::Human, io, |f, _, w| w.write_all(text_of(f).as_bytes()))?;
    Ok(0)
}
