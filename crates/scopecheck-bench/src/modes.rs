//! The modes: each does its work on the data set's captures and says how long it took.
//! Setup (building the engine, compiling the Rego policy) is not timed; reading the file is.

use crate::data::DataSet;
use serde_json::json;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

/// A way of doing the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Mode {
    /// Every line into a `serde_json::Value`, every leaf visited.
    SerdeJson,
    /// Every line into a `sonic_rs::Value`, every leaf visited.
    SonicRs,
    /// scopecheck's audit through the library, one thread.
    Audit,
    /// The same audit on every core (`audit_parallel`, what `scopecheck audit` does by default on
    /// a large file).
    AuditThreads,
    /// The same audit with its decision cache off (`Evaluator::set_decision_cache(false)`): one
    /// Cedar call per field path and category of every event, the entity store kept.
    AuditNoCache,
    /// One Cedar `is_authorized` per field occurrence and category, entities built per request.
    NaiveCedar,
    /// The capture-event checks in Rego, run by regorus, one evaluation per event.
    Regorus,
}

impl Mode {
    /// Every mode, in table order.
    pub const ALL: [Mode; 7] = [
        Mode::SerdeJson,
        Mode::SonicRs,
        Mode::Audit,
        Mode::AuditThreads,
        Mode::AuditNoCache,
        Mode::NaiveCedar,
        Mode::Regorus,
    ];

    /// Its name on the command line and in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Mode::SerdeJson => "serde_json",
            Mode::SonicRs => "sonic_rs",
            Mode::Audit => "audit",
            Mode::AuditThreads => "audit_threads",
            Mode::AuditNoCache => "audit_no_cache",
            Mode::NaiveCedar => "naive_cedar",
            Mode::Regorus => "regorus",
        }
    }

    /// Slow modes run on the first `--slow-limit` events only.
    pub fn is_slow(self) -> bool {
        matches!(self, Mode::NaiveCedar | Mode::Regorus)
    }
}

/// What one run of a mode measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    /// The mode.
    pub mode: String,
    /// Events (non-empty lines) processed.
    pub events: u64,
    /// Bytes of those lines, newlines included.
    pub bytes: u64,
    /// Wall time of the work, seconds.
    pub seconds: f64,
    /// Peak resident memory of the process (VmHWM), kB.
    pub peak_rss_kb: u64,
    /// What the work produced (leaves visited, findings, rule hits), so it cannot be skipped.
    pub output: u64,
    /// What `output` counts.
    pub output_is: String,
}

impl Measure {
    /// As JSON.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "mode": self.mode,
            "events": self.events,
            "bytes": self.bytes,
            "seconds": self.seconds,
            "peak_rss_kb": self.peak_rss_kb,
            "output": self.output,
            "output_is": self.output_is,
        })
    }

    /// From JSON (what a child printed).
    pub fn from_json(v: &serde_json::Value) -> Option<Measure> {
        Some(Measure {
            mode: v.get("mode")?.as_str()?.to_string(),
            events: v.get("events")?.as_u64()?,
            bytes: v.get("bytes")?.as_u64()?,
            seconds: v.get("seconds")?.as_f64()?,
            peak_rss_kb: v.get("peak_rss_kb")?.as_u64()?,
            output: v.get("output")?.as_u64()?,
            output_is: v.get("output_is")?.as_str()?.to_string(),
        })
    }
}

/// Peak resident memory of this process so far (VmHWM of /proc/self/status), kB; 0 if unknown.
pub fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn serde_leaves(v: &serde_json::Value) -> u64 {
    use serde_json::Value;
    match v {
        Value::Object(o) => o.values().map(serde_leaves).sum(),
        Value::Array(a) => a.iter().map(serde_leaves).sum(),
        Value::String(s) => 1 + u64::from(s.is_empty()),
        Value::Number(n) => 1 + u64::from(n.as_f64().is_some_and(|f| f == 0.0)),
        Value::Bool(b) => 1 + u64::from(*b),
        Value::Null => 1,
    }
}

fn sonic_leaves(v: &sonic_rs::Value) -> u64 {
    use sonic_rs::{JsonContainerTrait, JsonValueTrait};
    if let Some(o) = v.as_object() {
        o.iter().map(|(_, x)| sonic_leaves(x)).sum()
    } else if let Some(a) = v.as_array() {
        a.iter().map(sonic_leaves).sum()
    } else if let Some(s) = v.as_str() {
        1 + u64::from(s.is_empty())
    } else if let Some(f) = v.as_f64() {
        1 + u64::from(f == 0.0)
    } else if let Some(b) = v.as_bool() {
        1 + u64::from(b)
    } else {
        1
    }
}

/// Runs `mode` over the data set (the first `limit` events when given).
pub fn run(mode: Mode, data: &DataSet, limit: Option<u64>) -> Result<Measure, String> {
    let measure = |events: u64, bytes: u64, seconds: f64, output: u64, output_is: &str| Measure {
        mode: mode.name().to_string(),
        events,
        bytes,
        seconds,
        peak_rss_kb: peak_rss_kb(),
        output,
        output_is: output_is.to_string(),
    };
    match mode {
        Mode::SerdeJson => {
            let mut leaves = 0u64;
            let t = Instant::now();
            let read = data.for_each_line(limit, |l| {
                let v: serde_json::Value = serde_json::from_str(l).map_err(|e| e.to_string())?;
                leaves += serde_leaves(black_box(&v));
                Ok(())
            })?;
            Ok(measure(read.lines, read.bytes, t.elapsed().as_secs_f64(), leaves, "leaves visited"))
        }
        Mode::SonicRs => {
            let mut leaves = 0u64;
            let t = Instant::now();
            let read = data.for_each_line(limit, |l| {
                let v: sonic_rs::Value = sonic_rs::from_str(l).map_err(|e| e.to_string())?;
                leaves += sonic_leaves(black_box(&v));
                Ok(())
            })?;
            Ok(measure(read.lines, read.bytes, t.elapsed().as_secs_f64(), leaves, "leaves visited"))
        }
        Mode::Audit | Mode::AuditThreads | Mode::AuditNoCache => {
            let engine = Arc::new(data.setup().build().map_err(|e| e.to_string())?);
            let t = Instant::now();
            let input = || -> Result<scopecheck::audit::Input<'static>, String> {
                let f = std::fs::File::open(&data.captures).map_err(|e| e.to_string())?;
                Ok(scopecheck::audit::Input {
                    name: "captures.jsonl".into(),
                    kind: scopecheck::audit::InputKind::Captures,
                    reader: Box::new(std::io::BufReader::with_capacity(1 << 16, f)),
                    digest: None,
                })
            };
            let report = match limit {
                None if mode == Mode::Audit => {
                    scopecheck::audit::audit(engine, vec![input()?], scopecheck::audit::AuditOptions::default())
                        .map_err(|e| e.to_string())?
                }
                None if mode == Mode::AuditThreads => {
                    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                    let split = scopecheck::audit::Split::new(cores, scopecheck::input::MAX_LINE);
                    let options = scopecheck::audit::AuditOptions::default();
                    scopecheck::audit::audit_parallel(vec![engine], options, vec![input()?], split)
                        .map_err(|e| e.to_string())?
                }
                _ => {
                    // Line by line through the same `Auditor` (`audit` is this loop over a reader).
                    let mut a = scopecheck::audit::Auditor::new(engine, scopecheck::audit::AuditOptions::default())
                        .map_err(|e| e.to_string())?;
                    a.evaluator_mut().set_decision_cache(mode == Mode::Audit);
                    let file = a.add_file("captures.jsonl", scopecheck::audit::InputKind::Captures);
                    let mut n = 0u64;
                    data.for_each_line(limit, |l| {
                        n += 1;
                        a.capture_line(file, n, l).map_err(|e| e.to_string())
                    })?;
                    a.finish().map_err(|e| e.to_string())?
                }
            };
            let secs = t.elapsed().as_secs_f64();
            let s = &report.summary;
            let bytes = match limit {
                None => data.bytes,
                Some(_) => count_bytes(data, limit)?,
            };
            let calls = report.stats.cedar_calls;
            let findings = report.findings.len() as u64;
            let mut m = measure(s.records_read, bytes, secs, findings, "");
            m.output_is = format!("findings; {calls} Cedar calls");
            Ok(m)
        }
        Mode::NaiveCedar => {
            let engine = Arc::new(data.setup().build().map_err(|e| e.to_string())?);
            let mut naive = crate::naive::Naive::new(engine)?;
            let mut hits = 0u64;
            let t = Instant::now();
            let read = data.for_each_line(limit, |l| {
                hits += naive.line(l)?.len() as u64;
                Ok(())
            })?;
            let secs = t.elapsed().as_secs_f64();
            let mut m = measure(read.lines, read.bytes, secs, hits, "");
            m.output_is = format!("(rule, target) hits per event, summed; {} Cedar calls", naive.calls);
            Ok(m)
        }
        Mode::Regorus => {
            let engine = data.setup().build().map_err(|e| e.to_string())?;
            let mut rego = crate::rego::Rego::new(&engine)?;
            let mut hits = 0u64;
            let t = Instant::now();
            let read = data.for_each_line(limit, |l| {
                hits += rego.line(l)?.len() as u64;
                Ok(())
            })?;
            Ok(measure(
                read.lines,
                read.bytes,
                t.elapsed().as_secs_f64(),
                hits,
                "(rule, target) hits per event, summed",
            ))
        }
    }
}

/// Bytes of the first `limit` events.
fn count_bytes(data: &DataSet, limit: Option<u64>) -> Result<u64, String> {
    Ok(data.for_each_line(limit, |_| Ok(()))?.bytes)
}
