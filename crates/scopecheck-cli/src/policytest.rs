//! `scopecheck test`: policy unit tests written as data (YAML suites), with rule coverage.
//!
//! This layer reads files: the suites, and the scope, inventory, rules and detectors each suite
//! names (relative to the suite file). Parsing, running and coverage are the library's
//! ([`scopecheck::policytest`]).

use crate::{Io, OutputArgs, input};
use clap::Args;
use scopecheck::decide::{DecideOptions, Mode};
use scopecheck::policytest::{self, PathRef, ScopeRef, StoresRef, Suite, TestRun};
use scopecheck::rules::Severity;
use scopecheck::{Error, ErrorKind, Location, Setup, Source};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Arguments of `scopecheck test`.
#[derive(Args, Debug)]
pub(crate) struct TestArgs {
    /// Test suite files (YAML), or folders: every `*.yaml` and `*.yml` file directly in a folder
    /// is a suite.
    #[arg(value_name = "SUITE", required = true)]
    suites: Vec<PathBuf>,
    /// Extra Cedar rule files, or folders of `.cedar` files, for every suite (repeatable; added
    /// to the suite's own `policies:`).
    #[arg(long = "policies", value_name = "PATH")]
    policies: Vec<PathBuf>,
    /// Leave out the built-in rules in every suite.
    #[arg(long, alias = "no-baseline")]
    no_builtin_rules: bool,
    /// Switch off a rule by id in every suite (repeatable).
    #[arg(long = "disable", value_name = "RULE")]
    disable: Vec<String>,
    /// Extra detector definitions (YAML) for every suite (repeatable).
    #[arg(long = "detectors", value_name = "FILE")]
    detectors: Vec<PathBuf>,
    /// Decide events as `enforce` in this mode (overrides the suites' `enforce: {mode}`).
    #[arg(long, value_name = "enforce|monitor", value_parser = Mode::from_str)]
    mode: Option<Mode>,
    /// Findings below this severity change no decision (overrides the suites' `enforce: {act_on}`).
    #[arg(long, value_name = "SEVERITY", value_parser = Severity::from_str)]
    act_on: Option<Severity>,
    /// Exit 1 when fewer than this percentage of the rules in force are covered (a rule is
    /// covered when some case expects it and it fires).
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    min_coverage: Option<f64>,
    #[command(flatten)]
    output: OutputArgs,
}

fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim().trim_end_matches('%');
    match t.parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a percentage; write a number from 0 to 100")),
    }
}

/// Formats of `scopecheck test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TestFormat {
    Human,
    Json,
    Junit,
}

impl FromStr for TestFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "human" => Ok(TestFormat::Human),
            "json" => Ok(TestFormat::Json),
            "junit" => Ok(TestFormat::Junit),
            _ => Err(format!("`{s}` is not a format of `scopecheck test`; use human, json or junit")),
        }
    }
}

/// Runs `scopecheck test`: exit 0 every case passed (and coverage met `--min-coverage`), 1
/// otherwise, 2 when a suite could not run.
pub(crate) fn test(a: TestArgs, io: &mut Io<'_>) -> Result<u8, Error> {
    a.output.check_writable(TestFormat::Human)?;
    let mut results = Vec::new();
    for file in suite_files(&a.suites)? {
        let name = file.display().to_string();
        let text = input::read_text(&file, "the test suite", ErrorKind::Input)?;
        let suite = policytest::parse_suite(&text, &name)?;
        let setup = setup_for(&suite, &file, &a)?;
        let defaults = DecideOptions::default();
        let decide = DecideOptions {
            mode: a.mode.or(suite.enforce.mode).unwrap_or(defaults.mode),
            act_on: a.act_on.or(suite.enforce.act_on).unwrap_or(defaults.act_on),
            ..defaults
        };
        results.push(policytest::run_suite(&suite, &setup, decide)?);
    }
    let run = TestRun::new(results, a.min_coverage);
    let json = run.to_json()?;
    a.output.write_each(TestFormat::Human, io, |format, color, w| match format {
        TestFormat::Human => w.write_all(run.human(color).as_bytes()),
        TestFormat::Json => writeln!(w, "{json}"),
        TestFormat::Junit => w.write_all(run.junit().as_bytes()),
    })?;
    Ok(run.exit_code())
}

/// The suite files: files as given, folders' `*.yaml` and `*.yml` files in name order.
fn suite_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for p in paths {
        if !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let name = p.display().to_string();
        let mut files: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(|e| input::open_error(&name, "the suite folder", ErrorKind::Input, &e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::new(ErrorKind::Input, Location::file(name), "the folder holds no `.yaml` suite")
                .with_help("name a suite file, or a folder that holds some (`*.yaml`, `*.yml`)"));
        }
        out.extend(files);
    }
    Ok(out)
}

/// A path the suite names, relative to the suite file.
fn resolve(suite_file: &Path, r: &PathRef) -> PathBuf {
    let p = Path::new(&r.path);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    suite_file.parent().map_or_else(|| p.to_path_buf(), |d| d.join(p))
}

/// A file the suite names could not be read: said at the place the suite names it.
fn named_here(r: &PathRef, resolved: &Path, e: Error) -> Error {
    // The file exists and is read, but its content is wrong: that error is about the file itself.
    if e.location.line.is_some() {
        return e;
    }
    let mut err = Error::new(
        e.kind,
        r.at.clone(),
        format!("{} (`{}` is read from `{}`, relative to the suite file)", e.message, r.path, resolved.display()),
    );
    // Paths in a suite are relative to the suite file, not to the current directory.
    err.help = e.help.map(|h| {
        h.replace("it is relative to the current directory", "a path in a suite is relative to the suite file's folder")
    });
    err
}

fn setup_for(suite: &Suite, file: &Path, a: &TestArgs) -> Result<Setup, Error> {
    let scope = match &suite.scope {
        ScopeRef::Inline(src) => src.clone(),
        ScopeRef::File(r) => {
            let path = resolve(file, r);
            let text = input::read_text(&path, "the scope", ErrorKind::Scope).map_err(|e| named_here(r, &path, e))?;
            Source::new(path.display().to_string(), text)
        }
    };
    let stores = match &suite.stores {
        None => None,
        Some(StoresRef::File(r)) => {
            let path = resolve(file, r);
            let text = input::read_text(&path, "the store inventory", ErrorKind::Stores)
                .map_err(|e| named_here(r, &path, e))?;
            Some(Source::new(path.display().to_string(), text))
        }
        Some(StoresRef::Inline(list)) => {
            let text = serde_json::to_string(&serde_json::json!({ "stores": list }))
                .map_err(|e| Error::internal(format!("could not write the inline inventory: {e}")))?;
            Some(Source::new(format!("{} (stores)", suite.file), text))
        }
    };
    let mut policies = Vec::new();
    for r in &suite.policies {
        let path = resolve(file, r);
        policies.extend(crate::load_policies(std::slice::from_ref(&path)).map_err(|e| named_here(r, &path, e))?);
    }
    policies.extend(crate::load_policies(&a.policies)?);
    let mut detectors = Vec::new();
    for r in &suite.detectors {
        let path = resolve(file, r);
        detectors.extend(
            crate::load_sources(std::slice::from_ref(&path), "the detector file", ErrorKind::Detectors)
                .map_err(|e| named_here(r, &path, e))?,
        );
    }
    detectors.extend(crate::load_sources(&a.detectors, "the detector file", ErrorKind::Detectors)?);
    let mut disable = suite.disable.clone();
    disable.extend(a.disable.iter().cloned());
    Ok(Setup {
        scope: Some(scope),
        stores,
        policies,
        no_builtin_rules: suite.no_builtin_rules || a.no_builtin_rules,
        disable,
        detectors,
        options: scopecheck::eval::Options::default(),
    })
}
