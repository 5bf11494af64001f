//! The scopecheck command line, as a library so tests can run it in-process.
//!
//! Exit codes: 0 nothing at or above `--fail-on`; 1 findings at or above it;
//! 2 could not run (bad scope, policy, store file, missing file, bad arguments).

mod detectors;
mod enforce;
mod input;

use clap::{Args, Parser, Subcommand, ValueEnum};
use scopecheck::report::{Format, render};
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
    Check(LoadArgs),
    /// Print the JSON Schema of the scope format (or the Cedar schema with --cedar).
    Schema {
        /// Print the Cedar schema policies are validated against.
        #[arg(long)]
        cedar: bool,
    },
    /// List the rules in force, with their metadata.
    Rules {
        /// Extra rule files or folders of `.cedar` files.
        #[arg(long = "policies", value_name = "PATH")]
        policies: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: ListFormat,
    },
    /// List the category taxonomy.
    Taxonomy {
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: ListFormat,
    },
    /// Pack a scope, rules, taxonomy and detectors into one bundle for the runtime plugin.
    Bundle(enforce::BundleArgs),
    /// Filter a JSONL event stream at runtime: allow, redact or deny each event.
    Enforce(enforce::EnforceArgs),
    /// Work with value and field-name detectors.
    #[command(subcommand)]
    Detectors(DetectorsCommand),
}

#[derive(Subcommand, Debug)]
enum DetectorsCommand {
    /// List active detectors.
    List {
        /// Extra detector definitions (YAML).
        #[arg(long = "detectors", value_name = "FILE")]
        detectors: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: ListFormat,
    },
    /// Run the value detectors over a corpus file; one JSON line of spans per text.
    Scan(detectors::ScanArgs),
    /// Score the detectors on a labelled corpus: precision, recall, F2 per entity type.
    Eval(detectors::EvalArgs),
}

#[derive(Args, Debug, Clone)]
pub(crate) struct LoadArgs {
    /// The declared scope (YAML).
    #[arg(long, value_name = "FILE")]
    scope: PathBuf,
    /// The observed store inventory (YAML or JSON).
    #[arg(long, value_name = "FILE")]
    stores: Option<PathBuf>,
    /// Extra Cedar rule files, or folders of `.cedar` files (repeatable).
    #[arg(long = "policies", value_name = "PATH")]
    policies: Vec<PathBuf>,
    /// Leave out the baseline rule pack (use only --policies).
    #[arg(long)]
    no_baseline: bool,
    /// Switch off a rule by id (repeatable).
    #[arg(long = "disable", value_name = "RULE")]
    disable: Vec<String>,
    /// Extra detector definitions (YAML, repeatable).
    #[arg(long = "detectors", value_name = "FILE")]
    detectors: Vec<PathBuf>,
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
    /// Report format.
    #[arg(long, value_enum, default_value = "human")]
    format: OutFormat,
    /// Write the report here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value = "high")]
    fail_on: FailOn,
    /// Show evidence as captured instead of redacted. The report then holds the sensitive data itself.
    #[arg(long)]
    show_evidence: bool,
    /// Stop with exit 2 at the first malformed line instead of rejecting it and going on.
    #[arg(long)]
    strict: bool,
    /// Ignore detections below this confidence (0 to 1).
    #[arg(long, default_value_t = 0.5, value_name = "C")]
    min_confidence: f32,
    /// Colour in the human format.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum OutFormat {
    Human,
    Json,
    Sarif,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum ListFormat {
    Human,
    Json,
    Markdown,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum FailOn {
    Critical,
    High,
    Medium,
    Low,
    Info,
    Never,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl FailOn {
    fn severity(self) -> Option<Severity> {
        match self {
            FailOn::Critical => Some(Severity::Critical),
            FailOn::High => Some(Severity::High),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::Low => Some(Severity::Low),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        }
    }
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
        Command::Check(l) => check(&l, io),
        Command::Schema { cedar } => schema(cedar, io),
        Command::Rules { policies, format } => rules(&policies, format, io),
        Command::Taxonomy { format } => taxonomy(format, io),
        Command::Bundle(b) => enforce::bundle(b, io),
        Command::Enforce(e) => enforce::enforce(e, io),
        Command::Detectors(DetectorsCommand::List { detectors, format }) => detectors_list(&detectors, format, io),
        Command::Detectors(DetectorsCommand::Scan(a)) => detectors::scan(a, io),
        Command::Detectors(DetectorsCommand::Eval(a)) => detectors::eval(a, io),
    };
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
    if let (Some(src), Some(line), Some(col)) = (&e.src, e.location.line, e.location.column)
        && let Some(l) = source_line(src.inner(), line)
    {
        let num = line.to_string();
        let pad = " ".repeat(num.len());
        let _ = writeln!(w, "{pad} |");
        let _ = writeln!(w, "{num} | {l}");
        let caret_pad: String =
            l.chars().take(col.saturating_sub(1)).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        let _ = writeln!(w, "{pad} | {caret_pad}^");
    }
    if let Some(h) = &e.help {
        let _ = writeln!(w, "help: {h}");
    }
}

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

pub(crate) fn setup(l: &LoadArgs) -> Result<Setup, Error> {
    Ok(Setup {
        scope: Some(Source::new(
            l.scope.display().to_string(),
            input::read_text(&l.scope, "the scope", ErrorKind::Scope)?,
        )),
        stores: match &l.stores {
            Some(p) => Some(Source::new(
                p.display().to_string(),
                input::read_text(p, "the store inventory", ErrorKind::Stores)?,
            )),
            None => None,
        },
        policies: load_policies(&l.policies)?,
        no_baseline: l.no_baseline,
        disable: l.disable.clone(),
        detectors: load_sources(&l.detectors, "the detector file", ErrorKind::Detectors)?,
        options: scopecheck::eval::Options::default(),
    })
}

fn audit(a: AuditArgs, io: &mut Io<'_>) -> Result<u8, Error> {
    if !(0.0..=1.0).contains(&a.min_confidence) {
        return Err(Error::new(
            ErrorKind::Input,
            Location::file("--min-confidence"),
            "the confidence must be between 0 and 1",
        ));
    }
    let mut s = setup(&a.load)?;
    s.options.show_evidence = a.show_evidence;
    s.options.min_confidence = a.min_confidence;
    let mut auditor = s.auditor()?;
    let strict = a.strict;
    for path in &a.captures {
        let name = if path == "-" { "<stdin>".to_string() } else { path.clone() };
        let file = auditor.add_file(&name);
        let mut reader = input::open(path, io.stdin, "the capture file")?;
        input::for_each_line(&name, &mut reader, |n, line| match line {
            input::Line::Text(t) => {
                if strict && let Err(r) = scopecheck::observe::parse_capture(t) {
                    return Err(strict_error(&name, n, &r.reason));
                }
                auditor.capture_line(file, n, t)
            }
            input::Line::Bad(reason) => {
                if strict {
                    return Err(strict_error(&name, n, &reason));
                }
                auditor.reject(file, n, reason, false);
                Ok(())
            }
        })?;
    }
    for path in &a.access {
        let name = if path == "-" { "<stdin>".to_string() } else { path.clone() };
        let file = auditor.add_file(&name);
        let mut reader = input::open(path, io.stdin, "the access log")?;
        input::for_each_line(&name, &mut reader, |n, line| match line {
            input::Line::Text(t) => {
                if strict && let Err(r) = scopecheck::observe::parse_access(t) {
                    return Err(strict_error(&name, n, &r.reason));
                }
                auditor.access_line(file, n, t)
            }
            input::Line::Bad(reason) => {
                if strict {
                    return Err(strict_error(&name, n, &reason));
                }
                auditor.reject(file, n, reason, true);
                Ok(())
            }
        })?;
    }
    let mut report = auditor.finish()?;
    // Access logs were registered as files too; the summary lists capture files only.
    report.summary.files.truncate(a.captures.len());
    if strict && let Some(r) = report.rejected.first() {
        return Err(strict_error(&r.file, r.line, &r.reason));
    }
    let color = match a.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => io.terminal && a.output.is_none(),
    };
    let format = match a.format {
        OutFormat::Human => Format::Human,
        OutFormat::Json => Format::Json,
        OutFormat::Sarif => Format::Sarif,
    };
    let text = render(&report, format, color);
    match &a.output {
        Some(p) => std::fs::write(p, &text).map_err(|e| {
            Error::new(
                ErrorKind::Input,
                Location::file(p.display().to_string()),
                format!("cannot write the report: {e}"),
            )
            .with_help("check that the folder exists and is writable")
        })?,
        None => {
            let _ = io.stdout.write_all(text.as_bytes());
        }
    }
    let _ = io.stdout.flush();
    let failing = a.fail_on.severity().map_or(0, |s| report.count_at_or_above(s));
    Ok(if failing > 0 { 1 } else { 0 })
}

fn strict_error(file: &str, line: u64, reason: &str) -> Error {
    Error::new(
        ErrorKind::Input,
        Location { file: file.to_string(), line: usize::try_from(line).ok(), column: None },
        format!("malformed line: {reason}"),
    )
    .with_help("fix or remove the line, or run without --strict to reject it and go on")
}

fn check(l: &LoadArgs, io: &mut Io<'_>) -> Result<u8, Error> {
    let engine = setup(l)?.build()?;
    let s = &engine.scope;
    let _ = writeln!(
        io.stdout,
        "ok: {} — program {}{}: {} declared fields, {} never entries, {} stores, {} roles; {} rules; {} stores in the inventory",
        s.file,
        s.raw.program,
        s.raw.version.as_deref().map(|v| format!(" {v}")).unwrap_or_default(),
        s.raw.collect.len(),
        s.raw.never.len(),
        s.raw.stores.len(),
        s.raw.access.len(),
        engine.rules.rules().len(),
        engine.inventory.len(),
    );
    Ok(0)
}

fn schema(cedar: bool, io: &mut Io<'_>) -> Result<u8, Error> {
    if cedar {
        let _ = io.stdout.write_all(scopecheck::rules::SCHEMA_SRC.as_bytes());
    } else {
        let s = serde_json::to_string_pretty(&scopecheck::scope::json_schema())
            .map_err(|e| Error::internal(e.to_string()))?;
        let _ = writeln!(io.stdout, "{s}");
    }
    Ok(0)
}

fn rules(policies: &[PathBuf], format: ListFormat, io: &mut Io<'_>) -> Result<u8, Error> {
    let mut pack = RulePack::builtin()?;
    for p in load_policies(policies)? {
        pack.add_source(&p.text, &p.name)?;
    }
    let text = match format {
        ListFormat::Json => {
            let mut s = serde_json::to_string_pretty(pack.rules()).map_err(|e| Error::internal(e.to_string()))?;
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
    };
    let _ = io.stdout.write_all(text.as_bytes());
    Ok(0)
}

fn taxonomy(format: ListFormat, io: &mut Io<'_>) -> Result<u8, Error> {
    let t = scopecheck::taxonomy::Taxonomy::builtin()?;
    let text = match format {
        ListFormat::Json => {
            let all: Vec<_> = t.iter().collect();
            let mut s = serde_json::to_string_pretty(&all).map_err(|e| Error::internal(e.to_string()))?;
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
    };
    let _ = io.stdout.write_all(text.as_bytes());
    Ok(0)
}

fn detectors_list(extra: &[PathBuf], format: ListFormat, io: &mut Io<'_>) -> Result<u8, Error> {
    let mut d = scopecheck::detect::Detectors::builtin().map_err(scopecheck::detector_error)?;
    for s in load_sources(extra, "the detector file", ErrorKind::Detectors)? {
        d.add_yaml(&s.text, &s.name).map_err(scopecheck::detector_error)?;
    }
    let list = d.list();
    let text = match format {
        ListFormat::Json => {
            let mut s = serde_json::to_string_pretty(&list).map_err(|e| Error::internal(e.to_string()))?;
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
    };
    let _ = io.stdout.write_all(text.as_bytes());
    Ok(0)
}
