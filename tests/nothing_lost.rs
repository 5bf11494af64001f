//! Nothing lost.
//!
//! * For any input, records read = evaluated + rejected, and every rejection is listed (with its
//!   line number) or counted in `rejected_not_listed`: a property test over random corruptions of
//!   the fixtures' captures and access logs (byte flips, truncations, deleted, duplicated and
//!   swapped lines, junk and invalid UTF-8, CRLF, blank lines), run through the library. Every
//!   line that is still one of the fixture's good records is evaluated, and every touched line
//!   has the outcome it has on its own.
//! * Reports are written whole or not at all: a killed audit leaves no report (or the one that
//!   was there), never a truncated one; a write that fails (a full disk, `/dev/full`) leaves no
//!   file at the destination and the device a device.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use proptest::prelude::*;
use scopecheck::audit::{AuditOptions, Input, InputKind, MAX_LISTED_REJECTIONS};
use scopecheck::eval::Engine;
use scopecheck::report::Report;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const FIXTURES: [&str; 6] = ["mci", "workday", "clean", "helpdesk", "lobby", "roster"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fixture: its engine, its good records, and the texts of the lines evaluated on their own.
struct Fixture {
    engine: Arc<Engine>,
    captures: Vec<Vec<u8>>,
    access: Vec<Vec<u8>>,
    good_captures: HashSet<Vec<u8>>,
    good_access: HashSet<Vec<u8>>,
}

fn fixtures() -> &'static BTreeMap<&'static str, Fixture> {
    static F: OnceLock<BTreeMap<&'static str, Fixture>> = OnceLock::new();
    F.get_or_init(|| {
        FIXTURES
            .iter()
            .map(|fx| {
                let dir = root().join("fixtures").join(fx);
                let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
                let setup = scopecheck::Setup {
                    scope: Some(scopecheck::Source::new(format!("fixtures/{fx}/scope.yaml"), read("scope.yaml"))),
                    stores: Some(scopecheck::Source::new(format!("fixtures/{fx}/stores.yaml"), read("stores.yaml"))),
                    ..scopecheck::Setup::default()
                };
                let engine = Arc::new(setup.build().unwrap_or_else(|e| panic!("{fx}: {e}")));
                let lines = |f: &str| -> Vec<Vec<u8>> {
                    read(f).lines().filter(|l| !l.trim().is_empty()).map(|l| l.as_bytes().to_vec()).collect()
                };
                let (captures, access) = (lines("captures.jsonl"), lines("access.jsonl"));
                // The fixture's own lines are good records: none is rejected.
                let report = audit(&engine, &join(&captures, false), &join(&access, false));
                assert!(report.rejected.is_empty(), "{fx}: {:?}", report.rejected);
                let good_captures = captures.iter().cloned().collect();
                let good_access = access.iter().cloned().collect();
                (*fx, Fixture { engine, captures, access, good_captures, good_access })
            })
            .collect()
    })
}

fn join(lines: &[Vec<u8>], crlf: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    }
    out
}

const CAPTURES: &str = "captures.jsonl";
const ACCESS: &str = "access.jsonl";

fn audit(engine: &Arc<Engine>, captures: &[u8], access: &[u8]) -> Report {
    let inputs = vec![
        Input { name: CAPTURES.into(), kind: InputKind::Captures, reader: Box::new(captures), digest: None },
        Input { name: ACCESS.into(), kind: InputKind::Access, reader: Box::new(access), digest: None },
    ];
    scopecheck::audit::audit(Arc::clone(engine), inputs, AuditOptions::default()).unwrap()
}

/// One corruption of a list of lines (indices are taken modulo the length).
#[derive(Debug, Clone)]
enum Op {
    FlipByte { line: usize, at: usize, mask: u8 },
    Truncate { line: usize, at: usize },
    Delete { line: usize },
    Duplicate { line: usize },
    Swap { a: usize, b: usize },
    Junk { line: usize, bytes: Vec<u8> },
    InvalidUtf8 { line: usize, at: usize },
    Crlf { line: usize },
    Blank { line: usize, text: &'static str },
    Join { line: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let i = || 0..10_000usize;
    prop_oneof![
        3 => (i(), i(), 1..=255u8).prop_map(|(line, at, mask)| Op::FlipByte { line, at, mask }),
        2 => (i(), i()).prop_map(|(line, at)| Op::Truncate { line, at }),
        2 => i().prop_map(|line| Op::Delete { line }),
        2 => i().prop_map(|line| Op::Duplicate { line }),
        2 => (i(), i()).prop_map(|(a, b)| Op::Swap { a, b }),
        2 => (i(), prop::collection::vec(any::<u8>(), 0..40)).prop_map(|(line, bytes)| Op::Junk { line, bytes }),
        1 => (i(), i()).prop_map(|(line, at)| Op::InvalidUtf8 { line, at }),
        1 => i().prop_map(|line| Op::Crlf { line }),
        1 => (i(), prop::sample::select(vec!["", "   ", "\t", "\r", " \r "])).prop_map(|(line, text)| Op::Blank { line, text }),
        1 => i().prop_map(|line| Op::Join { line }),
    ]
}

/// Applies the corruptions; returns the bytes of the file and whether it ends in a newline.
fn corrupt(lines: &[Vec<u8>], ops: &[Op], final_newline: bool, truncate_tail: Option<usize>) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = lines.to_vec();
    // Line endings are kept with each line, so a CRLF can be put on one line only.
    let mut ends: Vec<&'static [u8]> = vec![b"\n"; lines.len()];
    for op in ops {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match op.clone() {
            Op::FlipByte { line, at, mask } => {
                let l = &mut lines[line % n];
                if !l.is_empty() {
                    let i = at % l.len();
                    l[i] ^= mask;
                }
            }
            Op::Truncate { line, at } => {
                let l = &mut lines[line % n];
                let keep = at % (l.len() + 1);
                l.truncate(keep);
            }
            Op::Delete { line } => {
                lines.remove(line % n);
                ends.remove(line % n);
            }
            Op::Duplicate { line } => {
                let l = lines[line % n].clone();
                lines.insert(line % n, l);
                ends.insert(line % n, b"\n");
            }
            Op::Swap { a, b } => lines.swap(a % n, b % n),
            Op::Junk { line, bytes } => {
                lines.insert(line % (n + 1), bytes);
                ends.insert(line % (n + 1), b"\n");
            }
            Op::InvalidUtf8 { line, at } => {
                let l = &mut lines[line % n];
                let i = at % (l.len() + 1);
                l.splice(i..i, [0xff, 0xc3]);
            }
            Op::Crlf { line } => ends[line % n] = b"\r\n",
            Op::Blank { line, text } => {
                lines.insert(line % (n + 1), text.as_bytes().to_vec());
                ends.insert(line % (n + 1), b"\n");
            }
            Op::Join { line } => {
                // Two lines run together (a lost newline).
                if n > 1 {
                    let i = line % (n - 1);
                    let next = lines.remove(i + 1);
                    ends.remove(i + 1);
                    lines[i].extend(next);
                }
            }
        }
    }
    let mut out = Vec::new();
    for (i, (l, e)) in lines.iter().zip(&ends).enumerate() {
        out.extend_from_slice(l);
        if i + 1 < lines.len() || final_newline {
            out.extend_from_slice(e);
        }
    }
    if let Some(cut) = truncate_tail {
        out.truncate(out.len().saturating_sub(cut));
    }
    out
}

/// The lines the reader sees (1-based), as `for_each_line` splits them: `(number, text)`, text
/// without its line ending.
fn split(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut segs: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if segs.last().is_some_and(|s| s.is_empty()) {
        segs.pop();
    }
    for (i, seg) in segs.iter().enumerate() {
        let mut seg = *seg;
        while let Some(s) = seg.strip_suffix(b"\r") {
            seg = s;
        }
        if i == 0
            && let Some(s) = seg.strip_prefix(b"\xef\xbb\xbf")
        {
            seg = s;
        }
        out.push((i as u64 + 1, seg.to_vec()));
    }
    out
}

fn is_record(text: &[u8]) -> bool {
    std::str::from_utf8(text).map_or(true, |t| !t.trim().is_empty())
}

/// Checks one corrupted input against its report; returns the touched record lines to check
/// alone.
fn check_input(
    report: &Report,
    file: &str,
    bytes: &[u8],
    good: &HashSet<Vec<u8>>,
    (read, evaluated, rejected): (u64, u64, u64),
) -> Result<Vec<(u64, Vec<u8>, bool)>, TestCaseError> {
    let lines = split(bytes);
    let records: Vec<&(u64, Vec<u8>)> = lines.iter().filter(|(_, t)| is_record(t)).collect();
    prop_assert_eq!(read, records.len() as u64, "{}: records read", file);
    prop_assert_eq!(read, evaluated + rejected, "{}: read = evaluated + rejected", file);
    let listed: BTreeSet<u64> = report.rejected.iter().filter(|r| r.file == file).map(|r| r.line).collect();
    let numbers: BTreeSet<u64> = records.iter().map(|(n, _)| *n).collect();
    for l in &listed {
        prop_assert!(numbers.contains(l), "{}: line {} is listed as rejected but is not a record", file, l);
    }
    for (n, text) in &records {
        if good.contains(text) {
            prop_assert!(!listed.contains(n), "{}:{}: a good record was rejected", file, n);
        }
    }
    if report.summary.rejected_not_listed == 0 {
        prop_assert_eq!(listed.len() as u64, rejected, "{}: every rejection listed", file);
    }
    Ok(records.iter().filter(|(_, t)| !good.contains(t)).map(|(n, t)| (*n, t.clone(), listed.contains(n))).collect())
}

/// A touched line, audited on its own, has the outcome it had among the others.
fn check_alone(engine: &Arc<Engine>, kind: InputKind, touched: &[(u64, Vec<u8>, bool)]) -> Result<(), TestCaseError> {
    for (n, text, was_rejected) in touched.iter().take(8) {
        let mut line = text.clone();
        line.push(b'\n');
        let report = match kind {
            InputKind::Captures => audit(engine, &line, b""),
            InputKind::Access => audit(engine, b"", &line),
        };
        let alone = !report.rejected.is_empty();
        prop_assert_eq!(alone, *was_rejected, "line {}: {:?}", n, String::from_utf8_lossy(text));
    }
    Ok(())
}

fn corruption() -> impl Strategy<Value = (usize, Vec<Op>, Vec<Op>, bool, Option<usize>)> {
    (
        0..FIXTURES.len(),
        prop::collection::vec(op(), 0..12),
        prop::collection::vec(op(), 0..4),
        any::<bool>(),
        prop::option::weighted(0.2, 0..200usize),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_record_is_lost_whatever_the_corruption((fx, cap_ops, acc_ops, final_newline, tail) in corruption()) {
        let f = &fixtures()[FIXTURES[fx]];
        let captures = corrupt(&f.captures, &cap_ops, final_newline, tail);
        let access = corrupt(&f.access, &acc_ops, true, None);
        let report = audit(&f.engine, &captures, &access);
        let s = &report.summary;
        let listed = report.rejected.len() as u64;
        prop_assert_eq!(listed + s.rejected_not_listed, s.records_rejected + s.access_rejected);
        prop_assert!(listed <= MAX_LISTED_REJECTIONS as u64);
        for r in &report.rejected {
            prop_assert!(!r.reason.trim().is_empty(), "{:?}", r);
        }
        let touched = check_input(
            &report,
            CAPTURES,
            &captures,
            &f.good_captures,
            (s.records_read, s.records_evaluated, s.records_rejected),
        )?;
        check_alone(&f.engine, InputKind::Captures, &touched)?;
        let touched = check_input(
            &report,
            ACCESS,
            &access,
            &f.good_access,
            (s.access_read, s.access_evaluated, s.access_rejected),
        )?;
        check_alone(&f.engine, InputKind::Access, &touched)?;
    }
}

/// More rejections than are listed: the rest are counted.
#[test]
fn rejections_past_the_listing_cap_are_counted() {
    let f = &fixtures()["clean"];
    let mut captures = Vec::new();
    for i in 0..(MAX_LISTED_REJECTIONS + 250) {
        captures.extend_from_slice(&f.captures[i % f.captures.len()]);
        captures.extend_from_slice(b"\nnot json\n");
    }
    let report = audit(&f.engine, &captures, b"");
    let s = &report.summary;
    assert_eq!(s.records_read, s.records_evaluated + s.records_rejected);
    assert_eq!(s.records_rejected, (MAX_LISTED_REJECTIONS + 250) as u64);
    assert_eq!(report.rejected.len(), MAX_LISTED_REJECTIONS);
    assert_eq!(s.rejected_not_listed, 250);
    // The first ones in line order are listed.
    assert_eq!(report.rejected.first().map(|r| r.line), Some(2));
}

// ------------------------------------------------------------------------------------ atomic reports

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_scopecheck"));
    c.env("NO_COLOR", "1");
    c
}

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("scopecheck-nothing-lost-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn entries(d: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn scope_args() -> Vec<String> {
    let fx = root().join("fixtures/mci");
    vec![
        "audit".into(),
        "--scope".into(),
        fx.join("scope.yaml").display().to_string(),
        "--stores".into(),
        fx.join("stores.yaml").display().to_string(),
        "--fail-on".into(),
        "never".into(),
    ]
}

/// An audit killed while it reads leaves no report: neither `-o` nor `--format NAME=FILE`
/// appears, a report that was there before is untouched, and no temporary file is left.
#[test]
fn a_killed_audit_leaves_no_report() {
    let dir = tmp_dir("killed");
    std::fs::write(dir.join("old.json"), "the previous report\n").unwrap();
    let mut args = scope_args();
    args.extend(
        ["--format", "json", "-o", "out.json", "--format", "sarif=out.sarif", "--format", "json=old.json", "-"]
            .map(String::from),
    );
    let mut child = bin()
        .args(&args)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let text = std::fs::read(root().join("fixtures/mci/captures.jsonl")).unwrap();
    // Feed the audit for a while (it is still reading when it dies), then kill it.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(800) {
        if stdin.write_all(&text).is_err() {
            break;
        }
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(status.code().is_none(), "the audit ended before it was killed: {status}");
    drop(stdin);
    assert_eq!(entries(&dir), ["old.json"], "a killed audit left files");
    assert_eq!(std::fs::read_to_string(dir.join("old.json")).unwrap(), "the previous report\n");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Killed at any moment (reading, deciding, writing), an audit leaves either no report or a
/// whole one.
#[test]
fn a_report_is_never_half_written() {
    let dir = tmp_dir("any-moment");
    let text = std::fs::read(root().join("fixtures/mci/captures.jsonl")).unwrap();
    let copies = 15;
    let input: Vec<u8> = text.iter().copied().cycle().take(text.len() * copies).collect();
    let records = 465 * copies as u64;
    std::fs::write(dir.join("in.jsonl"), &input).unwrap();
    let mut args = scope_args();
    args.extend(["--format", "json=out.json", "in.jsonl"].map(String::from));
    // How long a whole run takes, to spread the kills over it.
    let start = Instant::now();
    let out = bin().args(&args).current_dir(&dir).output().unwrap();
    let whole = start.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_file(dir.join("out.json")).unwrap();
    let (mut absent, mut complete) = (0, 0);
    // Most kills near the end, where the report is written.
    let kills = [50u32, 85, 95, 100, 105];
    for percent in kills {
        let mut child =
            bin().args(&args).current_dir(&dir).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(whole * percent / 100);
        let _ = child.kill();
        let _ = child.wait();
        match std::fs::read_to_string(dir.join("out.json")) {
            Err(_) => absent += 1,
            Ok(t) => {
                let v: serde_json::Value = serde_json::from_str(&t)
                    .unwrap_or_else(|e| panic!("a half-written report ({e}): {} bytes", t.len()));
                assert_eq!(v["summary"]["records_read"], records);
                complete += 1;
                std::fs::remove_file(dir.join("out.json")).unwrap();
            }
        }
        // SIGKILL leaves no chance to clean up: a kill while the report is being written may
        // leave its temporary file (hidden, `.tmp`, never the report's name), nothing else.
        let left: Vec<String> = entries(&dir)
            .into_iter()
            .filter(|e| e != "in.jsonl")
            .filter(|e| !(e.starts_with(".out.json.") && e.ends_with(".tmp")))
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
        for e in entries(&dir).into_iter().filter(|e| e.ends_with(".tmp")) {
            std::fs::remove_file(dir.join(e)).unwrap();
        }
    }
    eprintln!("killed {} times over {whole:?}: {absent} without a report, {complete} with a whole one", kills.len());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A disk that fills up while the report is written (a file size limit, which binds root too):
/// exit 2 naming the file, the report that was there untouched, no temporary file; and with no
/// report before, no file at all.
#[test]
fn a_full_disk_leaves_no_half_report() {
    let dir = tmp_dir("full-disk");
    std::fs::write(dir.join("kept.json"), "the previous report\n").unwrap();
    let mut args = scope_args();
    args.extend([root().join("fixtures/mci/captures.jsonl").display().to_string()]);
    for (dest, before) in [("kept.json", Some("the previous report\n")), ("new.json", None)] {
        let mut a = args.clone();
        a.extend(["--format".to_string(), format!("json={dest}")]);
        // `ulimit -f` in 512- or 1024-byte blocks; SIGXFSZ ignored so that the write fails with EFBIG.
        let out = Command::new("sh")
            .arg("-c")
            .arg("trap '' XFSZ; ulimit -f 4; exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_scopecheck"))
            .args(&a)
            .current_dir(&dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.starts_with(&format!("error: {dest}: cannot write the output:")), "{stderr}");
        match before {
            Some(t) => assert_eq!(std::fs::read_to_string(dir.join(dest)).unwrap(), t),
            None => assert!(!dir.join(dest).exists(), "{dest} was written in part"),
        }
        assert_eq!(entries(&dir), ["kept.json"], "temporary files left behind");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `/dev/full` as `-o` or `--format NAME=FILE`: exit 2 with the path and "no space", and
/// `/dev/full` is still the device (a rename over it, as root, would have replaced it).
#[test]
fn dev_full_is_a_clear_error_and_stays_a_device() {
    use std::os::unix::fs::FileTypeExt;
    let mut args = scope_args();
    args.push(root().join("fixtures/mci/captures.jsonl").display().to_string());
    for extra in
        [&["-o", "/dev/full"][..], &["--format", "json=/dev/full"][..], &["--format", "sarif", "-o", "/dev/full"][..]]
    {
        let out = bin().args(&args).args(extra).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.starts_with("error: /dev/full: cannot write the output: No space left on device"), "{stderr}");
        assert!(std::fs::metadata("/dev/full").unwrap().file_type().is_char_device(), "/dev/full was replaced");
    }
}
