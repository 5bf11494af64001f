//! The audit on several threads: one reader, several deciders, one merge.
//!
//! The calling thread reads every input in order (plain files, gzip streams and stdin alike: no
//! seeking), cuts it into batches of whole lines, each tagged with its file and line numbers, and
//! hands each batch to a decider thread that is free, or, when none is, decides it itself: on
//! `threads` cores there are `threads - 1` decider threads and the reader, so no core idles while
//! the reader waits and none is taken from the deciders by a reader that only reads. Each decider
//! is an [`Auditor`] of its own (its own caches; the engine is shared); at the end their reports
//! are merged ([`Report::merge`]), which gives the report of the whole input whatever the split:
//! the same findings, byte for byte, for any thread count (`stats`, which count work per decider,
//! excepted). Memory is bounded: two batches wait for each decider thread at most.

use super::{AuditOptions, Auditor, FileId, Input, InputKind};
use crate::error::{Error, Result};
use crate::eval::Engine;
use crate::input::{DigestCell, DigestReader, Line, for_each_line_limited};
use crate::report::{InputDigest, InputRole, Report};
use std::io::BufRead;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

/// A batch is sent when it holds this many bytes of text, or [`BATCH_LINES`] lines.
pub const BATCH_BYTES: usize = 1 << 20;
/// A batch is sent when it holds this many lines.
pub const BATCH_LINES: usize = 4096;

/// Whole lines of one input.
struct Batch {
    file: FileId,
    kind: InputKind,
    text: String,
    items: Vec<Item>,
}

enum Item {
    /// Line `line`, at `text[start..end]`.
    Text { line: u64, start: usize, end: usize },
    /// Line `line`, unreadable (not UTF-8, too long).
    Bad { line: u64, reason: String },
}

/// How [`audit_parallel`] cuts its input (tests use small batches to force many splits).
#[derive(Debug, Clone, Copy)]
pub struct Split {
    /// Deciders, the reader among them (threads in all).
    pub threads: usize,
    /// Bytes of text per batch.
    pub batch_bytes: usize,
    /// Lines per batch.
    pub batch_lines: usize,
    /// Longest line read ([`crate::input::MAX_LINE`] at most).
    pub max_line: usize,
}

impl Split {
    /// `threads` deciders, default batches, lines up to `max_line` bytes.
    pub fn new(threads: usize, max_line: usize) -> Self {
        Split { threads, batch_bytes: BATCH_BYTES, batch_lines: BATCH_LINES, max_line }
    }
}

/// Audits `inputs` (captures and access logs, in order) over the scope versions `engines` on
/// `split.threads` deciders. `options.strict` is honoured per decider (the first malformed line
/// any of them meets stops the audit); the CLI reads strict audits on one thread, so that the
/// error is the first malformed line of the input.
pub fn audit_parallel(
    engines: Vec<Arc<Engine>>,
    options: AuditOptions,
    inputs: Vec<Input<'_>>,
    split: Split,
) -> Result<Report> {
    let helpers = split.threads.max(1) - 1;
    let names: Vec<(String, InputKind)> = inputs.iter().map(|i| (i.name.clone(), i.kind)).collect();
    let mut mine = new_auditor(engines.clone(), options.clone(), &names)?;
    // Two batches waiting per decider thread: the reader, which also reads every line, decides a
    // batch itself only when the others have a batch in hand and another waiting. With one
    // waiting it took every other batch, half the deciding on top of all the reading, and the
    // other deciders waited for it.
    let (tx, rx) = sync_channel::<Batch>(2 * helpers);
    let rx = Arc::new(Mutex::new(rx));
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..helpers)
            .map(|_| {
                // Each thread its own engines: shared patterns, its own regex scratch space.
                let own: Vec<Arc<Engine>> = engines.iter().map(|e| Arc::new(Engine::clone(e))).collect();
                let (rx, options, names) = (Arc::clone(&rx), options.clone(), &names);
                s.spawn(move || decide(own, options, names, &rx))
            })
            .collect();
        drop(rx);
        let read = read_all(inputs, &tx, split, &mut mine);
        // No more batches: the deciders finish what they hold and report.
        drop(tx);
        let mut reports = Vec::with_capacity(helpers + 1);
        // The first error met in reading (or deciding what the reader decided) comes first.
        let (digests, mut failed) = match read {
            Ok(d) => (d, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        match mine.finish() {
            Ok(r) => reports.push(r),
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
        for w in workers {
            match w.join() {
                Ok(Ok(r)) => reports.push(r),
                Ok(Err(e)) => {
                    failed.get_or_insert(e);
                }
                Err(_) => {
                    failed.get_or_insert(Error::internal("a decider thread panicked"));
                }
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        let mut all = reports.into_iter();
        let Some(mut report) = all.next() else { return Err(Error::internal("no decider reported")) };
        for r in all {
            report.merge(&r).map_err(|e| Error::internal(format!("the deciders' reports do not merge: {e}")))?;
        }
        report.provenance.inputs.extend(digests);
        Ok(report)
    })
}

/// An auditor with every input registered, so file ids agree between deciders.
fn new_auditor(engines: Vec<Arc<Engine>>, options: AuditOptions, names: &[(String, InputKind)]) -> Result<Auditor> {
    let mut a = Auditor::with_history(engines, options)?;
    for (name, kind) in names {
        a.add_file(name, *kind);
    }
    Ok(a)
}

/// Decides every line of a batch.
fn decide_batch(a: &mut Auditor, batch: Batch) -> Result<()> {
    let access = batch.kind == InputKind::Access;
    for item in batch.items {
        match item {
            Item::Text { line, start, end } => {
                let text = batch.text.get(start..end).unwrap_or_default();
                if access {
                    a.access_line(batch.file, line, text)?;
                } else {
                    a.capture_line(batch.file, line, text)?;
                }
            }
            Item::Bad { line, reason } => a.reject(batch.file, line, reason, access)?,
        }
    }
    Ok(())
}

/// One decider thread: batches until the reader is done, then its report.
fn decide(
    engines: Vec<Arc<Engine>>,
    options: AuditOptions,
    names: &[(String, InputKind)],
    rx: &Mutex<Receiver<Batch>>,
) -> Result<Report> {
    let mut a = new_auditor(engines, options, names)?;
    loop {
        let next = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return Err(Error::internal("a decider thread panicked")),
        };
        let Ok(batch) = next else { break };
        decide_batch(&mut a, batch)?;
    }
    a.finish()
}

/// Reads every input into batches, each for a free decider thread or, when none is free, for
/// `mine`; returns the inputs' digests, in order.
fn read_all(
    inputs: Vec<Input<'_>>,
    tx: &SyncSender<Batch>,
    split: Split,
    mine: &mut Auditor,
) -> Result<Vec<InputDigest>> {
    let mut digests = Vec::with_capacity(inputs.len());
    for (file, input) in inputs.into_iter().enumerate() {
        let Input { name, kind, reader, digest } = input;
        let (mut reader, cell): (Box<dyn BufRead + '_>, DigestCell) = match digest {
            Some(cell) => (reader, cell),
            None => {
                let (r, cell) = DigestReader::new(reader);
                (Box::new(r), cell)
            }
        };
        let fresh = || Batch { file, kind, text: String::new(), items: Vec::new() };
        let mut batch = fresh();
        // A decider thread that stopped (on an error, reported when it is joined) leaves its
        // share to the others and to the reader.
        let mut send = |b: Batch| match tx.try_send(b) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(b) | TrySendError::Disconnected(b)) => decide_batch(mine, b),
        };
        for_each_line_limited(&name, &mut reader, split.max_line, |line, l| {
            match l {
                Line::Text(t) => {
                    let start = batch.text.len();
                    batch.text.push_str(t);
                    batch.items.push(Item::Text { line, start, end: batch.text.len() });
                }
                Line::Bad(reason) => batch.items.push(Item::Bad { line, reason }),
            }
            if batch.text.len() >= split.batch_bytes || batch.items.len() >= split.batch_lines {
                send(std::mem::replace(&mut batch, fresh()))?;
            }
            Ok(())
        })?;
        if !batch.items.is_empty() {
            send(batch)?;
        }
        let (sha256, bytes) = cell.finish();
        let role = match kind {
            InputKind::Captures => InputRole::Captures,
            InputKind::Access => InputRole::Access,
        };
        digests.push(InputDigest { role, file: name, sha256, bytes });
    }
    Ok(digests)
}
