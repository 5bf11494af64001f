//! The event reader has a fast path (one loop over the bytes) and the serde reader it falls back
//! to for anything it does not handle itself. Both must give the same capture, or the same
//! rejection, for every line: the bundled fixtures, generated events, random events written in
//! the ways real pipelines write JSON, and random edits of them (most of which are not JSON).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use proptest::prelude::*;
use scopecheck::observe::{fast_path_reads, parse_capture, parse_capture_reference};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Checks one line; returns whether the fast path read it.
fn same(line: &str) -> bool {
    let fast = parse_capture(line);
    let reference = parse_capture_reference(line);
    assert_eq!(fast, reference, "the readers differ on {line:?}");
    // Also as text: `serde_json::Number` holds -0.0 equal to 0.0, which print (and are scanned)
    // differently.
    if let (Ok(f), Ok(r)) = (&fast, &reference) {
        let text = |c: &scopecheck::observe::Capture| c.leaves().map(|(p, v)| format!("{p}={v}")).collect::<Vec<_>>();
        assert_eq!(text(f), text(r), "the readers' values print differently for {line:?}");
    }
    // (A line the fast path reads may still be rejected after reading, for what both readers
    // check alike: `ts` missing or not a time, `data` missing.)
    fast_path_reads(line)
}

#[test]
fn every_fixture_line_reads_the_same() {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in std::fs::read_dir(root().join("fixtures")).unwrap() {
        let dir = dir.unwrap().path();
        if dir.is_dir() {
            for f in std::fs::read_dir(&dir).unwrap() {
                let f = f.unwrap().path();
                if f.file_name().unwrap().to_string_lossy().starts_with("captures") {
                    files.push(f);
                }
            }
        }
    }
    assert!(files.len() >= 8, "{files:?}");
    let (mut lines, mut accepted, mut fast) = (0, 0, 0);
    for f in &files {
        for line in std::fs::read_to_string(f).unwrap().lines() {
            lines += 1;
            let taken = same(line);
            if parse_capture_reference(line).is_ok() {
                accepted += 1;
                fast += usize::from(taken);
            }
        }
    }
    assert!(lines > 100, "{lines}");
    // Every well-formed fixture line is read by the fast path.
    assert_eq!(fast, accepted, "of {lines} lines");
}

#[test]
fn generated_events_read_the_same() {
    for scenario in ["mci", "workday", "assistant"] {
        let text = std::fs::read_to_string(root().join(format!("fixtures/scenarios/{scenario}.yaml"))).unwrap();
        let days = text.lines().find(|l| l.starts_with("days:")).unwrap().to_string();
        let g = scopecheck::generate::Generator::new(&text.replacen(&days, "days: 1", 1), "s.yaml", None).unwrap();
        let mut n = 0;
        for i in 0..g.chunks() {
            for line in g.chunk(i).text.lines() {
                assert!(same(line), "{scenario}: the fast path gave up on a generated event: {line}");
                n += 1;
            }
        }
        assert!(n > 1000, "{scenario}: {n}");
    }
}

#[test]
fn edge_cases_read_the_same() {
    let ts = r#""ts":"2026-05-12T09:14:03Z""#;
    let data = [
        // Numbers serde_json reads its own way.
        r#"{"n":-0}"#,
        r#"{"n":-0.0}"#,
        r#"{"n":1E+2}"#,
        r#"{"n":0.1e-5}"#,
        r#"{"n":123456789012345678901234567890}"#,
        r#"{"n":-9223372036854775808}"#,
        r#"{"n":-9223372036854775809}"#,
        r#"{"n":9999999999999999999}"#,
        r#"{"n":18446744073709551615}"#,
        r#"{"n":18446744073709551616}"#,
        r#"{"n":1e999}"#,
        r#"{"n":-1e-999}"#,
        r#"{"n":2.2250738585072011e-308}"#,
        r#"{"n":0.30000000000000004}"#,
        r#"{"n":01}"#,
        r#"{"n":1.}"#,
        r#"{"n":.5}"#,
        r#"{"n":-}"#,
        r#"{"n":+1}"#,
        r#"{"n":1e}"#,
        r#"{"n":1-2}"#,
        // Strings and keys.
        r#"{"s":"caf\u00e9 \ud83d\ude00 \/ \b\f\n\r\t \" \\"}"#,
        r#"{"s":"\ud800"}"#,
        r#"{"s":"\udc00x"}"#,
        r#"{"s":"\ud800\u0041"}"#,
        r#"{"s":"\u12"}"#,
        r#"{"s":"\x"}"#,
        "{\"s\":\"tab\there\"}",
        r#"{"\u0061":1,"a":2,"a\"b":{"c\\d":3}}"#,
        r#"{"":1,"a..b":{"":[[]]},"[]":2}"#,
        // Shapes.
        r#"{"a":[],"b":{},"c":[{},[],null],"d":[[1,[2,[3]]],{"e":[4]}]}"#,
        r#"{ "a" : [ 1 , { "b" : true } ] , "c" : null }"#,
        r#"{"a":[ ],"b":{ },"c":[1 ,2 ],"d":{"e" :1 , "f":-0 }}"#,
        "{\"a\":[\n1,\t-0.0\r]}",
        r#"{"a":[1,]}"#,
        r#"{"a":{"b":1,}}"#,
        r#"{"a":1,}"#,
        r#"{"a" 1}"#,
        r#"{"a":tru}"#,
        r#"{"a":nul}"#,
        r#"{"a":[1 2]}"#,
        r#"{"a":{"b":1]}"#,
        r#"{"a":[1}"#,
        r#"["a"]"#,
        r#""a""#,
        "{}",
    ];
    for d in data {
        same(&format!(r#"{{{ts},"data":{d}}}"#));
        same(&format!(r#"{{"data":{d},{ts}}}"#));
    }
    let envelopes = [
        r#"{"ts":"2026-05-12T09:14:03Z","subject":12345,"data":{}}"#,
        r#"{"ts":"2026-05-12T09:14:03Z","subject":-12,"data":{}}"#,
        r#"{"ts":"2026-05-12T09:14:03Z","subject":1.5,"data":{}}"#,
        r#"{"ts":"2026-05-12T09:14:03Z","subject":-0,"data":{}}"#,
        r#"{"ts":"2026-05-12T09:14:03Z","subject":18446744073709551615,"data":{}}"#,
        r#"{"ts":"2026-05-12T09:14:03Z","subject":null,"subject":"e-1","data":{}}"#,
        r#"{"ts":"2026-05-12T09:14:03Z","subject":"e-1","subject":null,"data":{}}"#,
        r#"{"ts":"2026-05-12T09:14:03Z","store":7,"data":{}}"#,
        r#"{"ts":"2026-05-12T09:14:03Z","store":true,"data":{}}"#,
        r#"{"ts":"2026-05-12T09:14:03Z","store":{"a":1},"data":{}}"#,
        r#"{"ts":null,"data":{}}"#,
        r#"{"ts":"yesterday","data":{}}"#,
        r#"{"\u0074s":"2026-05-12T09:14:03Z","data":{}}"#,
        r#"{"ts":"2026-05-12T09:14:03Z","data":{},"data":{}}"#,
        r#"{"ts":"2026-05-12T09:14:03Z","data":[]}"#,
        r#"{"ts":"2026-05-12T09:14:03Z","data":null}"#,
        r#"{"ts":"2026-05-12T09:14:03Z"}"#,
        r#"{"data":{}}"#,
        r#"{"ts":"2026-05-12T09:14:03Z","extra":{"a":[1,{"b":"\ud800"}],"c":1e999},"data":{"x":1}}"#,
        r#"{"ts":"2026-05-12T09:14:03Z","extra":[1,2,],"data":{}}"#,
        r#"{"ts":"2026-05-12T09:14:03Z","data":{}} "#,
        r#" {"ts":"2026-05-12T09:14:03Z","data":{}}"#,
        r#"{"ts":"2026-05-12T09:14:03Z","data":{}} x"#,
        r#"{"ts":"2026-05-12T09:14:03Z","data":{}}}"#,
        "{\"ts\":\"2026-05-12T09:14:03Z\",\r\n\t\"data\":{}}",
        "\u{feff}{\"ts\":\"2026-05-12T09:14:03Z\",\"data\":{}}",
        "",
        "{",
        "{}",
        "null",
    ];
    for e in envelopes {
        same(e);
    }
    // Nesting at and past the depth the reader keeps.
    for depth in [63, 64, 65, 66, 200] {
        let d = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        same(&format!(r#"{{{ts},"data":{d}}}"#));
        let d = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        same(&format!(r#"{{{ts},"data":{{"a":{d}}}}}"#));
    }
    // Long strings (the eight-bytes-a-turn scan) with the special byte at every position.
    for n in 0..40 {
        for c in ['"', '\\', '\n', 'é'] {
            let mut s = "x".repeat(n);
            s.push(c);
            s.push_str("yz");
            let quoted = serde_json::to_string(&s).unwrap();
            same(&format!(r#"{{{ts},"data":{{"s":{quoted},{quoted}:1}}}}"#));
        }
    }
}

/// A JSON value as some pipeline might write it.
#[derive(Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    /// A number's text.
    Num(String),
    Str(String),
    Arr(Vec<J>),
    /// Keys may repeat.
    Obj(Vec<(String, J)>),
}

/// How strings are escaped: as serde_json does, every non-ASCII character as `\u` (Python's
/// default), or with `\/` and `\u` for control characters.
#[derive(Debug, Clone, Copy)]
enum Style {
    Serde,
    Ascii,
    Slashes,
}

fn quote(s: &str, style: Style) -> String {
    match style {
        Style::Serde => serde_json::to_string(s).unwrap(),
        Style::Ascii | Style::Slashes => {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '/' if matches!(style, Style::Slashes) => out.push_str("\\/"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c if c.is_ascii() || matches!(style, Style::Slashes) => out.push(c),
                    c => {
                        let mut units = [0u16; 2];
                        for u in c.encode_utf16(&mut units) {
                            out.push_str(&format!("\\u{u:04X}"));
                        }
                    }
                }
            }
            out.push('"');
            out
        }
    }
}

fn write(j: &J, style: Style, spaced: bool, out: &mut String) {
    let sep = if spaced { ", " } else { "," };
    let colon = if spaced { " : " } else { ":" };
    match j {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Num(n) => out.push_str(n),
        J::Str(s) => out.push_str(&quote(s, style)),
        J::Arr(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                write(v, style, spaced, out);
            }
            out.push(']');
        }
        J::Obj(entries) => {
            out.push('{');
            if spaced {
                out.push_str("\n  ");
            }
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                out.push_str(&quote(k, style));
                out.push_str(colon);
                write(v, style, spaced, out);
            }
            if spaced {
                out.push_str("\t\r\n");
            }
            out.push('}');
        }
    }
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        (0u32..1000).prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::Number::from_f64(f).unwrap().to_string()),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:e}")),
        (any::<i32>(), -400i32..400).prop_map(|(m, e)| format!("{m}E{e:+}")),
        "-?(0|[1-9][0-9]{0,30})(\\.[0-9]{1,25})?([eE][+-]?[0-9]{1,4})?",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{0,8}",
        "[a-z]{1,3}\\.[a-z]{1,3}",
        any::<String>(),
        "[ -~]{0,40}",
        "(caf\u{e9}|\u{1f600}|\"|\\\\|/|\n|\t|\u{0}|\u{1f}|x){0,12}",
    ]
}

fn value() -> impl Strategy<Value = J> {
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        number().prop_map(J::Num),
        text().prop_map(J::Str),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(J::Arr),
            prop::collection::vec((text(), inner), 0..6).prop_map(J::Obj),
        ]
    })
}

/// A whole line: the envelope's fields in any order, sometimes repeated or of the wrong type.
fn line() -> impl Strategy<Value = (J, Style, bool)> {
    let ts = prop_oneof![
        4 => Just(J::Str("2026-05-12T09:14:03Z".into())),
        2 => Just(J::Str("2026-05-12T09:14:03-07:00".into())),
        1 => Just(J::Null),
        1 => Just(J::Str("yesterday".into())),
        1 => number().prop_map(J::Num),
    ];
    let id = prop_oneof![
        3 => "e-[0-9]{1,6}".prop_map(J::Str),
        2 => number().prop_map(J::Num),
        1 => Just(J::Null),
        1 => any::<bool>().prop_map(J::Bool),
    ];
    let word = prop_oneof![5 => "[a-z-]{1,12}".prop_map(J::Str), 1 => Just(J::Null), 1 => number().prop_map(J::Num)];
    let data = prop_oneof![
        8 => prop::collection::vec((text(), value()), 0..10).prop_map(J::Obj),
        1 => value(),
    ];
    let envelope = (
        ts,
        prop::option::of(id),
        prop::option::of(word.clone()),
        prop::option::of(word.clone()),
        prop::option::of(word),
        prop::option::of(value()),
        data,
        any::<u64>(),
        0u8..8,
    )
        .prop_map(|(ts, subject, kind, source, store, extra, data, order, dup)| {
            let mut entries = vec![("ts".to_string(), ts), ("data".to_string(), data)];
            for (k, v) in
                [("subject", subject), ("subject_kind", kind), ("source", source), ("store", store), ("extra", extra)]
            {
                if let Some(v) = v {
                    entries.push((k.to_string(), v));
                }
            }
            // Another order, and now and then a key twice.
            let n = entries.len();
            entries.rotate_left((order as usize) % n);
            if (order >> 8) % 2 == 1 {
                entries.swap(0, n - 1);
            }
            if dup == 0 {
                let again = entries[(order as usize >> 16) % n].clone();
                entries.push(again);
            }
            J::Obj(entries)
        });
    let style = prop_oneof![Just(Style::Serde), Just(Style::Ascii), Just(Style::Slashes)];
    (envelope, style, prop::bool::weighted(0.2))
}

/// An edit that usually breaks the JSON.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Insert(usize, char),
    Cut(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let c = prop::sample::select(vec!['{', '}', '[', ']', ',', ':', '"', '\\', '0', '-', 'e', '.', 'n', 'u', ' ', 'é']);
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), c).prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Cut),
    ]
}

fn apply(line: &str, e: &Edit) -> String {
    let chars: Vec<char> = line.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let mut out = chars.clone();
    match *e {
        Edit::Delete(i) => {
            out.remove(i % chars.len());
        }
        Edit::Insert(i, c) => out.insert(i % (chars.len() + 1), c),
        Edit::Cut(i) => out.truncate(i % chars.len()),
    }
    out.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_lines_read_the_same((j, style, spaced) in line()) {
        let mut text = String::new();
        write(&j, style, spaced, &mut text);
        let taken = same(&text);
        // Whatever the reference accepts, the fast path reads itself: these lines have no lone
        // surrogates and no nesting past the kept depth.
        if parse_capture_reference(&text).is_ok() {
            prop_assert!(taken, "the fast path gave up on {text:?}");
        }
    }

    #[test]
    fn edited_lines_read_the_same((j, style, spaced) in line(), edits in prop::collection::vec(edit(), 1..4)) {
        let mut text = String::new();
        write(&j, style, spaced, &mut text);
        for e in &edits {
            text = apply(&text, e);
        }
        same(&text);
    }
}
