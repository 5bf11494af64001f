//! `scopecheck-bench`: the benchmark comparison suite, one command (docs/performance.md).
//!
//! ```sh
//! cargo run --release -p scopecheck-bench -- --data DIR [--json FILE]
//! cargo run --release -p scopecheck-bench -- --generate fixtures/scenarios/mci.yaml --days 2 --seed 7 [--out DIR]
//! cargo run --release -p scopecheck-bench -- --generate fixtures/scenarios/mci.yaml --sizes 20,200,2000
//! ```
//!
//! Each mode runs in a child process of this binary (`--child MODE`), one after the other, so
//! that the peak memory each reports is its own.

use clap::Parser;
use scopecheck_bench::data::{DataSet, generate};
use scopecheck_bench::modes::{Measure, Mode, run};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Measures, side by side on one data set: parse-only baselines (serde_json, sonic-rs),
/// scopecheck's audit, the naive Cedar loop and the same checks in Rego (regorus).
#[derive(Parser, Debug)]
#[command(name = "scopecheck-bench", version)]
struct Args {
    /// A folder written by `scopecheck generate` (captures.jsonl, scope.yaml, stores.yaml).
    #[arg(long, value_name = "DIR", conflicts_with = "generate")]
    data: Option<PathBuf>,
    /// Generate the data set first from this scenario (into --out).
    #[arg(long, value_name = "SCENARIO")]
    generate: Option<PathBuf>,
    /// With --generate: the number of days (replaces the scenario's `days:`).
    #[arg(long, value_name = "N", requires = "generate")]
    days: Option<u32>,
    /// With --generate: the seed (else the scenario's).
    #[arg(long, value_name = "N", requires = "generate")]
    seed: Option<u64>,
    /// With --generate: where to write the data set.
    #[arg(long, value_name = "DIR", default_value = "target/bench-data", requires = "generate")]
    out: PathBuf,
    /// The modes to run, comma-separated (default: all).
    #[arg(long, value_delimiter = ',', value_name = "MODE")]
    modes: Vec<Mode>,
    /// The naive Cedar loop and regorus run on the first N events only (0: all of them).
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    slow_limit: u64,
    /// Runs of each mode; the median time is reported, and the largest peak memory.
    #[arg(long, value_name = "N", default_value_t = 1)]
    rounds: usize,
    /// Instead of one data set: generate the scenario at each of these sizes (MB, comma-separated;
    /// whole days, as many as a week's average day needs) into --out/SIZEmb and measure at each, by
    /// default, the parse-only baseline and the audit on one thread and on every core: time,
    /// MB/s, peak memory, and time per MB against the smallest size's (1.00: linear).
    #[arg(long, value_delimiter = ',', value_name = "MB", requires = "generate", conflicts_with = "days")]
    sizes: Vec<u64>,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Internal: run one mode in this process and print its measure as JSON.
    #[arg(long, value_name = "MODE", hide = true)]
    child: Option<Mode>,
    /// Internal: with --child, the events to process.
    #[arg(long, value_name = "N", hide = true)]
    limit: Option<u64>,
    /// Instead of measuring: check, event by event on the first N events, that regorus and the
    /// naive Cedar loop fire the (rule, target) pairs scopecheck fires (the Rego for its rules).
    #[arg(long, value_name = "N")]
    agree: Option<u64>,
}

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scopecheck-bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<(), String> {
    let a = Args::parse();
    if !a.sizes.is_empty() && a.child.is_none() {
        return sizes(&a);
    }
    let dir = match (&a.data, &a.generate) {
        (Some(d), _) => d.clone(),
        (None, Some(scenario)) => {
            if a.child.is_none() {
                eprintln!("generating {} into {} ...", scenario.display(), a.out.display());
            }
            let g = generate(scenario, a.days, a.seed, &a.out)?;
            eprintln!(
                "{}: {} events, {:.1} MB ({} people x {} days, seed {})",
                a.out.display(),
                g.events,
                g.bytes as f64 / 1e6,
                g.people,
                g.days,
                g.seed
            );
            a.out.clone()
        }
        (None, None) => return Err("give --data DIR or --generate SCENARIO (see --help)".into()),
    };
    let data = DataSet::open(&dir)?;
    if let Some(mode) = a.child {
        let m = run(mode, &data, a.limit)?;
        println!("{}", m.to_json());
        return Ok(());
    }
    if let Some(n) = a.agree {
        return agree(&data, n, &a.modes);
    }
    let modes = if a.modes.is_empty() { Mode::ALL.to_vec() } else { a.modes.clone() };
    let mut plan: Vec<(Mode, Option<u64>, String)> = Vec::new();
    // (mode, events limit, name in the table). When the slow modes run on a prefix, the audit
    // also runs on that same prefix, for a like-for-like ratio beside the whole-file one.
    let limited = a.slow_limit > 0 && modes.iter().any(|m| m.is_slow());
    for &mode in &modes {
        let limit = (mode.is_slow() && a.slow_limit > 0).then_some(a.slow_limit);
        plan.push((mode, limit, mode.name().to_string()));
        if mode == Mode::Audit && limited {
            plan.push((mode, Some(a.slow_limit), PREFIX_AUDIT.to_string()));
        }
    }
    let results = measure(&dir, &plan, a.rounds)?;
    let report = Report::new(&data, results, a.rounds.max(1), a.slow_limit);
    print!("{}", report.table());
    if let Some(path) = &a.json {
        let text = serde_json::to_string_pretty(&report.json()).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// Runs each (mode, limit, label) of `plan` `rounds` times on the data set in `dir`, each run in
/// a child process of this program; the median time of each, with the largest peak memory.
fn measure(dir: &Path, plan: &[(Mode, Option<u64>, String)], rounds: usize) -> Result<Vec<Measure>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut results: Vec<Measure> = Vec::new();
    for (mode, limit, label) in plan {
        let mut runs: Vec<Measure> = Vec::new();
        for round in 0..rounds.max(1) {
            eprint!("{label} (round {}/{}) ... ", round + 1, rounds.max(1));
            let _ = std::io::stderr().flush();
            let mut cmd = Command::new(&exe);
            cmd.arg("--data").arg(dir).arg("--child").arg(mode.name());
            if let Some(l) = limit {
                cmd.arg("--limit").arg(l.to_string());
            }
            let out = cmd.output().map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
            if !out.status.success() {
                return Err(format!("mode {} failed: {}", mode.name(), String::from_utf8_lossy(&out.stderr)));
            }
            let text = String::from_utf8_lossy(&out.stdout);
            let v: serde_json::Value = serde_json::from_str(text.trim())
                .map_err(|e| format!("mode {} printed no measure ({e}): {text}", mode.name()))?;
            let m =
                Measure::from_json(&v).ok_or_else(|| format!("mode {} printed a bad measure: {text}", mode.name()))?;
            eprintln!("{:.2} s", m.seconds);
            runs.push(m);
        }
        runs.sort_by(|x, y| x.seconds.total_cmp(&y.seconds));
        let peak = runs.iter().map(|m| m.peak_rss_kb).max().unwrap_or(0);
        if let Some(mut m) = runs.get(runs.len() / 2).cloned() {
            m.peak_rss_kb = peak;
            m.mode = label.clone();
            results.push(m);
        }
    }
    Ok(results)
}

/// `--sizes`: the scenario generated at each size, the modes measured at each.
fn sizes(a: &Args) -> Result<(), String> {
    let Some(scenario) = &a.generate else {
        return Err("--sizes needs --generate SCENARIO".into());
    };
    let mut want = a.sizes.clone();
    want.sort_unstable();
    want.dedup();
    // Bytes a day of this scenario, weekends included: one week generated first.
    let probe = a.out.join("probe-1week");
    let week = generate(scenario, Some(7), a.seed, &probe)?;
    let per_day = (week.bytes / 7).max(1);
    let _ = std::fs::remove_dir_all(&probe);
    let modes: Vec<Mode> =
        if a.modes.is_empty() { vec![Mode::SerdeJson, Mode::Audit, Mode::AuditThreads] } else { a.modes.clone() };
    let plan: Vec<(Mode, Option<u64>, String)> = modes.iter().map(|&m| (m, None, m.name().to_string())).collect();
    let mut rows: Vec<(u64, DataSet, Vec<Measure>)> = Vec::new();
    for &mb in &want {
        let days = u32::try_from((mb * 1_000_000).div_ceil(per_day).max(1)).map_err(|_| "too many days".to_string())?;
        let dir = a.out.join(format!("{mb}mb"));
        let params = format!("scenario={} days={days} seed={:?}\n", scenario.display(), a.seed);
        let marker = dir.join("bench-params.txt");
        let fresh = std::fs::read_to_string(&marker).is_ok_and(|p| p == params) && DataSet::open(&dir).is_ok();
        if fresh {
            eprintln!("{}: generated before ({params})", dir.display());
        } else {
            eprintln!("generating {mb} MB: {} days of {} into {} ...", days, scenario.display(), dir.display());
            let g = generate(scenario, Some(days), a.seed, &dir)?;
            eprintln!("{}: {} events, {:.1} MB", dir.display(), g.events, g.bytes as f64 / 1e6);
            std::fs::write(&marker, &params).map_err(|e| format!("{}: {e}", marker.display()))?;
        }
        let data = DataSet::open(&dir)?;
        let results = measure(&dir, &plan, a.rounds)?;
        rows.push((mb, data, results));
    }
    let table = sizes_table(&rows);
    print!("{table}");
    if let Some(path) = &a.json {
        let json = sizes_json(&rows, a.rounds.max(1));
        let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// `m` as JSON with its rates: events/s, MB/s, seconds per MB.
fn with_rates(m: &Measure) -> serde_json::Value {
    let (eps, mbps) = rate(m);
    let mut v = m.to_json();
    if let Some(o) = v.as_object_mut() {
        o.insert("events_per_s".into(), eps.into());
        o.insert("mb_per_s".into(), mbps.into());
        o.insert("seconds_per_mb".into(), s_per_mb(m).into());
    }
    v
}

/// Seconds per MB of `m`.
fn s_per_mb(m: &Measure) -> f64 {
    m.seconds / (m.bytes as f64 / 1e6).max(1e-9)
}

fn sizes_table(rows: &[(u64, DataSet, Vec<Measure>)]) -> String {
    let mut s = String::new();
    s += &format!(
        "{:<8} {:<14} {:>10} {:>9} {:>9} {:>8} {:>11} {:>13} {:>15}\n",
        "size", "mode", "events", "MB", "seconds", "MB/s", "peak RSS", "x serde_json", "s/MB vs first"
    );
    let first: Vec<Measure> = rows.first().map(|r| r.2.clone()).unwrap_or_default();
    for (mb, _, results) in rows {
        let base = results.iter().find(|m| m.mode == Mode::SerdeJson.name()).map(|m| rate(m).1);
        for m in results {
            let (_, mbps) = rate(m);
            let lin = first.iter().find(|f| f.mode == m.mode).map(|f| s_per_mb(m) / s_per_mb(f).max(1e-12));
            s += &format!(
                "{:<8} {:<14} {:>10} {:>9.1} {:>9.2} {:>8.1} {:>8.1} MB {:>13} {:>15}\n",
                format!("{mb} MB"),
                m.mode,
                m.events,
                m.bytes as f64 / 1e6,
                m.seconds,
                mbps,
                m.peak_rss_kb as f64 / 1024.0,
                base.map_or("-".to_string(), |b| significant(mbps / b)),
                lin.map_or("-".to_string(), |x| format!("{x:.2}")),
            );
        }
    }
    s
}

fn sizes_json(rows: &[(u64, DataSet, Vec<Measure>)], rounds: usize) -> serde_json::Value {
    let sizes: Vec<serde_json::Value> = rows
        .iter()
        .map(|(mb, data, results)| {
            let modes: Vec<serde_json::Value> = results.iter().map(with_rates).collect();
            serde_json::json!({
                "size_mb": mb,
                "data": { "dir": data.dir.display().to_string(), "bytes": data.bytes },
                "modes": modes,
            })
        })
        .collect();
    serde_json::json!({
        "rounds": rounds,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "sizes": sizes,
    })
}

/// The audit on the slow modes' prefix, in the table.
const PREFIX_AUDIT: &str = "audit_prefix";

/// `--agree N`: prints each event where the others differ from scopecheck; fails if any does.
fn agree(data: &DataSet, n: u64, modes: &[Mode]) -> Result<(), String> {
    use scopecheck_bench::{Pair, REGO_RULES, Scopecheck, naive::Naive, rego::Rego};
    use std::collections::BTreeSet;
    let engine = std::sync::Arc::new(data.setup().build().map_err(|e| e.to_string())?);
    let mut sc = Scopecheck::new(std::sync::Arc::clone(&engine))?;
    let mut rego = Rego::new(&engine)?;
    let with_naive = modes.contains(&Mode::NaiveCedar);
    let mut naive = Naive::new(std::sync::Arc::clone(&engine))?;
    let (mut line_no, mut differ) = (0u64, 0u64);
    let mut fired: BTreeSet<Pair> = BTreeSet::new();
    let show = |what: &str, line_no: u64, want: &BTreeSet<Pair>, got: &BTreeSet<Pair>, line: &str| {
        let only =
            |a: &BTreeSet<Pair>, b: &BTreeSet<Pair>| a.difference(b).map(ToString::to_string).collect::<Vec<_>>();
        println!(
            "line {line_no}: scopecheck only {:?}; {what} only {:?}\n  {}",
            only(want, got),
            only(got, want),
            line.chars().take(300).collect::<String>()
        );
    };
    data.for_each_line(Some(n), |line| {
        line_no += 1;
        let all = sc.line(line)?;
        let want: BTreeSet<Pair> = all.iter().filter(|p| REGO_RULES.contains(&p.rule.as_str())).cloned().collect();
        let got = rego.line(line)?;
        if want != got {
            differ += 1;
            show("regorus", line_no, &want, &got, line);
        }
        if with_naive {
            let got = naive.line(line)?;
            if all != got {
                differ += 1;
                show("naive", line_no, &all, &got, line);
            }
        }
        fired.extend(all);
        Ok(())
    })?;
    for p in &fired {
        println!("fired: {p}");
    }
    println!("{line_no} events, {differ} differences");
    if differ > 0 { Err(format!("{differ} differences")) } else { Ok(()) }
}

struct Report {
    data_dir: PathBuf,
    data_bytes: u64,
    rounds: usize,
    slow_limit: u64,
    results: Vec<Measure>,
}

/// Three significant digits (ratios span 0.0005 to 5).
fn significant(x: f64) -> String {
    let digits = if x <= 0.0 { 3 } else { (2 - x.log10().floor() as i64).clamp(0, 8) as usize };
    format!("{x:.digits$}")
}

fn rate(m: &Measure) -> (f64, f64) {
    let s = m.seconds.max(1e-9);
    (m.events as f64 / s, m.bytes as f64 / 1e6 / s)
}

impl Report {
    fn new(data: &DataSet, results: Vec<Measure>, rounds: usize, slow_limit: u64) -> Report {
        Report { data_dir: data.dir.clone(), data_bytes: data.bytes, rounds, slow_limit, results }
    }

    fn mb_per_s(&self, mode: Mode) -> Option<f64> {
        self.mb_per_s_of(mode.name())
    }

    fn mb_per_s_of(&self, name: &str) -> Option<f64> {
        self.results.iter().find(|m| m.mode == name).map(|m| rate(m).1)
    }

    /// Speed of `a` over speed of `b` (MB/s over MB/s).
    fn ratio(&self, a: Mode, b: Mode) -> Option<f64> {
        Some(self.mb_per_s(a)? / self.mb_per_s(b)?)
    }

    /// Speed of the audit on the slow modes' prefix over speed of `b`.
    fn prefix_ratio(&self, b: Mode) -> Option<f64> {
        Some(self.mb_per_s_of(PREFIX_AUDIT)? / self.mb_per_s(b)?)
    }

    fn table(&self) -> String {
        let mut s = String::new();
        s += &format!(
            "data: {} ({:.1} MB of captures); {} round(s), median time; slow modes on the first {} events\n\n",
            self.data_dir.display(),
            self.data_bytes as f64 / 1e6,
            self.rounds,
            self.slow_limit
        );
        s += &format!(
            "{:<15} {:>9} {:>8} {:>9} {:>12} {:>8} {:>10} {:>12}\n",
            "mode", "events", "MB", "seconds", "events/s", "MB/s", "peak RSS", "x serde_json"
        );
        let base = self.mb_per_s(Mode::SerdeJson);
        for m in &self.results {
            let (eps, mbps) = rate(m);
            let ratio = base.map_or("-".to_string(), |b| significant(mbps / b));
            s += &format!(
                "{:<15} {:>9} {:>8.1} {:>9.3} {:>12.0} {:>8.2} {:>7.1} MB {:>12}\n",
                m.mode,
                m.events,
                m.bytes as f64 / 1e6,
                m.seconds,
                eps,
                mbps,
                m.peak_rss_kb as f64 / 1024.0,
                ratio
            );
        }
        s += "\n";
        if let Some(r) = self.ratio(Mode::Audit, Mode::AuditNoCache) {
            s += &format!("scopecheck / its own decision cache off: {r:.1}x (speed ratio)\n");
        }
        for (mode, name) in [(Mode::NaiveCedar, "naive Cedar"), (Mode::Regorus, "regorus")] {
            if let Some(r) = self.ratio(Mode::Audit, mode) {
                s += &format!("scopecheck / {name}: {r:.1}x (speed ratio, audit on the whole file)");
                if let Some(p) = self.prefix_ratio(mode) {
                    s += &format!("; {p:.1}x (audit on the same {} events)", self.slow_limit);
                }
                s += "\n";
            }
        }
        if let Some(r) = self.ratio(Mode::Audit, Mode::SerdeJson) {
            s += &format!("scopecheck / serde_json parse-only: {r:.3}x\n");
        }
        if let Some(r) = self.ratio(Mode::AuditThreads, Mode::Audit) {
            let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
            s += &format!("scopecheck on {cores} cores / on one thread: {r:.2}x\n");
        }
        s
    }

    fn json(&self) -> serde_json::Value {
        let base = self.mb_per_s(Mode::SerdeJson);
        let modes: Vec<serde_json::Value> = self
            .results
            .iter()
            .map(|m| {
                let mut v = with_rates(m);
                if let Some(o) = v.as_object_mut() {
                    o.insert("ratio_to_serde_json".into(), base.map(|b| rate(m).1 / b).into());
                }
                v
            })
            .collect();
        serde_json::json!({
            "data": { "dir": self.data_dir.display().to_string(), "bytes": self.data_bytes },
            "rounds": self.rounds,
            "slow_limit": self.slow_limit,
            "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "modes": modes,
            "ratios": {
                "scopecheck_over_naive_cedar": self.ratio(Mode::Audit, Mode::NaiveCedar),
                "scopecheck_over_no_decision_cache": self.ratio(Mode::Audit, Mode::AuditNoCache),
                "scopecheck_over_regorus": self.ratio(Mode::Audit, Mode::Regorus),
                "scopecheck_prefix_over_naive_cedar": self.prefix_ratio(Mode::NaiveCedar),
                "scopecheck_prefix_over_regorus": self.prefix_ratio(Mode::Regorus),
                "scopecheck_over_serde_json": self.ratio(Mode::Audit, Mode::SerdeJson),
                "scopecheck_threads_over_one_thread": self.ratio(Mode::AuditThreads, Mode::Audit),
                "sonic_rs_over_serde_json": self.ratio(Mode::SonicRs, Mode::SerdeJson),
            },
        })
    }
}
