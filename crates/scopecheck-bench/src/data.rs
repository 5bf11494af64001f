//! The data set every mode reads: a folder written by `scopecheck generate` (or by this crate's
//! [`generate`], which calls the same library generator).

use scopecheck::generate::{Generator, files};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A data set: the captures file and the texts the engines are built from.
#[derive(Debug, Clone)]
pub struct DataSet {
    /// The folder.
    pub dir: PathBuf,
    /// `captures.jsonl`.
    pub captures: PathBuf,
    /// `scope.yaml`.
    pub scope: String,
    /// `stores.yaml`, when present.
    pub stores: Option<String>,
    /// Size of the captures file in bytes.
    pub bytes: u64,
}

impl DataSet {
    /// Opens a folder written by `scopecheck generate` (plain `captures.jsonl`, not `.gz`).
    pub fn open(dir: &Path) -> Result<DataSet, String> {
        let captures = dir.join(files::CAPTURES);
        let bytes = std::fs::metadata(&captures)
            .map_err(|e| {
                format!("{}: {e} (generate it with `scopecheck generate SCENARIO -o DIR`)", captures.display())
            })?
            .len();
        let scope = std::fs::read_to_string(dir.join(files::SCOPE))
            .map_err(|e| format!("{}: {e}", dir.join(files::SCOPE).display()))?;
        let stores = std::fs::read_to_string(dir.join(files::STORES)).ok();
        Ok(DataSet { dir: dir.to_path_buf(), captures, scope, stores, bytes })
    }

    /// The scopecheck setup for this data set: its scope and store inventory, built-in rules.
    pub fn setup(&self) -> scopecheck::Setup {
        scopecheck::Setup {
            scope: Some(scopecheck::Source::new(files::SCOPE, self.scope.clone())),
            stores: self.stores.clone().map(|s| scopecheck::Source::new(files::STORES, s)),
            ..scopecheck::Setup::default()
        }
    }

    /// Calls `each` with every non-empty line of the captures file (without its newline), read
    /// through one reused buffer, the way a streaming reader would; returns the number of lines.
    /// Stops after `limit` lines when given.
    pub fn for_each_line(
        &self,
        limit: Option<u64>,
        mut each: impl FnMut(&str) -> Result<(), String>,
    ) -> Result<LinesRead, String> {
        let f = std::fs::File::open(&self.captures).map_err(|e| format!("{}: {e}", self.captures.display()))?;
        let mut r = BufReader::with_capacity(1 << 16, f);
        let mut line = String::new();
        let mut read = LinesRead::default();
        loop {
            if limit.is_some_and(|l| read.lines >= l) {
                break;
            }
            line.clear();
            let n = r.read_line(&mut line).map_err(|e| format!("{}: {e}", self.captures.display()))?;
            if n == 0 {
                break;
            }
            read.bytes += n as u64;
            let text = line.trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() {
                continue;
            }
            read.lines += 1;
            each(text)?;
        }
        Ok(read)
    }
}

/// What [`DataSet::for_each_line`] read.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinesRead {
    /// Non-empty lines.
    pub lines: u64,
    /// Bytes, newlines included.
    pub bytes: u64,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Events written.
    pub events: u64,
    /// Bytes of `captures.jsonl`.
    pub bytes: u64,
    /// People × days.
    pub people: usize,
    /// Days.
    pub days: u32,
    /// The seed used.
    pub seed: u64,
}

/// Writes `scope.yaml`, `stores.yaml` and `captures.jsonl` of a scenario into `out` (one thread;
/// the bytes are those `scopecheck generate SCENARIO --seed N` writes for the same days and seed).
/// `access.jsonl` and `labels.jsonl` are not written: no mode reads them.
pub fn generate(scenario: &Path, days: Option<u32>, seed: Option<u64>, out: &Path) -> Result<Generated, String> {
    let text = std::fs::read_to_string(scenario).map_err(|e| format!("{}: {e}", scenario.display()))?;
    let mut g = Generator::new(&text, &scenario.display().to_string(), seed).map_err(|e| e.to_string())?;
    if let Some(d) = days {
        g = g.with_days(d).map_err(|e| e.to_string())?;
    }
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let write = |name: &str, body: &str| {
        std::fs::write(out.join(name), body).map_err(|e| format!("{}: {e}", out.join(name).display()))
    };
    write(files::SCOPE, g.scope_yaml())?;
    write(files::STORES, &g.stores_yaml().0)?;
    let path = out.join(files::CAPTURES);
    let f = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = BufWriter::new(f);
    let (mut events, mut bytes) = (0u64, 0u64);
    for i in 0..g.chunks() {
        let c = g.chunk(i);
        w.write_all(c.text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
        events += c.lines;
        bytes += c.text.len() as u64;
    }
    w.flush().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Generated { events, bytes, people: g.people(), days: g.scenario().days, seed: g.seed() })
}
