//! `scopecheck generate`: synthetic workforce telemetry with ground truth, from a scenario.

use crate::{Io, input, output::write_atomically};
use clap::Args;
use scopecheck::generate::{Chunk, Generator, Label, files};
use scopecheck::{Error, ErrorKind, Location};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Arguments of `scopecheck generate`.
#[derive(Args, Debug)]
pub(crate) struct GenerateArgs {
    /// The scenario (YAML; `scopecheck schema --scenario` prints its JSON Schema).
    #[arg(value_name = "SCENARIO")]
    scenario: PathBuf,
    /// The folder to write into (created if missing; files of the same names are replaced).
    #[arg(long, short, value_name = "DIR")]
    output: PathBuf,
    /// Worker threads (default: all cores). The bytes written are the same for any number.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Use this seed instead of the scenario's.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Write `captures.jsonl.gz` (gzip) instead of `captures.jsonl`.
    #[arg(long)]
    gzip: bool,
}

/// Chunks (person-days) computed per thread between two writes: bounds memory.
const BATCH_PER_THREAD: u64 = 32;

fn io_error(path: &Path, e: &std::io::Error) -> Error {
    Error::new(ErrorKind::Input, Location::file(path.display().to_string()), format!("cannot write: {e}"))
        .with_help("check that the folder exists and can be written, and that the disk has room")
}

pub(crate) fn generate(a: GenerateArgs, io: &mut Io<'_>) -> Result<u8, Error> {
    let text = input::read_text(&a.scenario, "the scenario", ErrorKind::Input)?;
    let g = Generator::new(&text, &a.scenario.display().to_string(), a.seed)?;
    let threads = a.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    std::fs::create_dir_all(&a.output).map_err(|e| io_error(&a.output, &e))?;
    let dir = &a.output;

    write_atomically(&dir.join(files::SCOPE), "the scope", |w| w.write_all(g.scope_yaml().as_bytes()))?;
    let (stores, store_labels) = g.stores_yaml();
    write_atomically(&dir.join(files::STORES), "the store inventory", |w| w.write_all(stores.as_bytes()))?;

    // Captures, with their labels streamed to a temporary file (they may be many).
    let part = dir.join(".labels-captures.part");
    let mut part_file = BufWriter::new(std::fs::File::create(&part).map_err(|e| io_error(&part, &e))?);
    let captures_name = if a.gzip { format!("{}.gz", files::CAPTURES) } else { files::CAPTURES.to_string() };
    let captures_path = dir.join(&captures_name);
    let mut counts = Counts::default();
    let mut part_error: Option<std::io::Error> = None;
    write_atomically(&captures_path, "the captures", |w| {
        let mut each = |sink: &mut dyn Write| {
            write_captures(&g, threads, sink, &mut counts, &mut |l| {
                if let Err(e) = write_label(&mut part_file, l) {
                    part_error.get_or_insert(e);
                }
            })
        };
        if a.gzip {
            let mut z = flate2::write::GzEncoder::new(w, flate2::Compression::default());
            each(&mut z)?;
            z.finish().map(drop)
        } else {
            each(&mut *w)?;
            w.flush()
        }
    })?;
    let Counts { events, mut labels, bytes } = counts;
    if let Some(e) = part_error.or_else(|| part_file.flush().err()) {
        let _ = std::fs::remove_file(&part);
        return Err(io_error(&part, &e));
    }
    drop(part_file);

    let mut access_lines = 0u64;
    let mut access_labels: Vec<Label> = Vec::new();
    write_atomically(&dir.join(files::ACCESS), "the access log", |w| {
        g.access_log(|line, l| {
            access_lines += 1;
            access_labels.extend(l);
            w.write_all(line.as_bytes())
        })
    })?;

    let result = write_atomically(&dir.join(files::LABELS), "the labels", |w| {
        let mut f = std::fs::File::open(&part)?;
        std::io::copy(&mut f, w)?;
        for l in access_labels.iter().chain(&store_labels) {
            write_label(w, l)?;
        }
        Ok(())
    });
    let _ = std::fs::remove_file(&part);
    result?;
    labels += (access_labels.len() + store_labels.len()) as u64;

    let _ = writeln!(
        io.stdout,
        "{}: {events} events ({} people × {} days, {:.1} MB), {access_lines} access-log entries, {labels} labels; seed {}",
        dir.display(),
        g.people(),
        g.scenario().days,
        bytes as f64 / 1e6,
        g.seed(),
    );
    let _ = writeln!(
        io.stdout,
        "audit it: scopecheck audit --scope {d}/{s} --stores {d}/{st} --access {d}/{ac} --labels {d}/{lb} {d}/{captures_name}",
        d = dir.display(),
        s = files::SCOPE,
        st = files::STORES,
        ac = files::ACCESS,
        lb = files::LABELS,
    );
    Ok(0)
}

#[derive(Default)]
struct Counts {
    events: u64,
    labels: u64,
    bytes: u64,
}

/// Writes every chunk in order; labels get their line numbers in the file.
fn write_captures(
    g: &Generator,
    threads: usize,
    sink: &mut dyn Write,
    counts: &mut Counts,
    label: &mut dyn FnMut(&Label),
) -> std::io::Result<()> {
    let total = g.chunks();
    let batch = BATCH_PER_THREAD * threads as u64;
    let mut from = 0u64;
    while from < total {
        let to = (from + batch).min(total);
        let chunks = compute(g, from, to, threads)
            .ok_or_else(|| std::io::Error::other("a generator thread failed (a bug: please report it)"))?;
        for chunk in chunks {
            sink.write_all(chunk.text.as_bytes())?;
            counts.bytes += chunk.text.len() as u64;
            for mut l in chunk.labels {
                l.line += counts.events + 1;
                counts.labels += 1;
                label(&l);
            }
            counts.events += chunk.lines;
        }
        from = to;
    }
    Ok(())
}

fn write_label(w: &mut dyn Write, l: &Label) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, l).map_err(std::io::Error::other)?;
    w.write_all(b"\n")
}

/// Chunks `from..to`, computed on `threads` threads, in order (None: a thread failed).
fn compute(g: &Generator, from: u64, to: u64, threads: usize) -> Option<Vec<Chunk>> {
    if threads <= 1 || to - from <= 1 {
        return Some((from..to).map(|i| g.chunk(i)).collect());
    }
    let t = threads as u64;
    let mut parts: Vec<Vec<(u64, Chunk)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..t)
            .map(|k| s.spawn(move || (from + k..to).step_by(threads).map(|i| (i, g.chunk(i))).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().map(|h| h.join().ok()).collect::<Option<Vec<_>>>()
    })?;
    let mut all: Vec<(u64, Chunk)> = parts.iter_mut().flat_map(std::mem::take).collect();
    all.sort_by_key(|(i, _)| *i);
    Some(all.into_iter().map(|(_, c)| c).collect())
}
