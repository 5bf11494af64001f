//! Detector throughput in MB/s (`cargo bench -p scopecheck --bench detect`).
//!
//! Four inputs: the 750 texts of the bundled Presidio dev corpus (short
//! sentences and contact cards), long OCR-like text (a tax page and a
//! medical page repeated to ~60 KiB, under the 64 KiB scan cap), short
//! telemetry values (keystroke intervals, pointer coordinates, UI ids), and
//! the free text of a generated data set we did not write the detectors for:
//! every string value of 256 bytes or more in the first day of
//! `fixtures/scenarios/assistant.yaml` (transcripts, chat messages, OCR of
//! W-2 forms and patient-portal pages).
//!
//! `-- --once` scans each input once after a warm-up pass, untimed: run it under
//! `valgrind --tool=callgrind --toggle-collect='*counted_pass*'` to compare two builds by the
//! instructions they execute, which a shared machine's load does not change.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use scopecheck::detect::Detectors;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

fn measure(name: &str, d: &Detectors, texts: &[String]) {
    // `cargo bench -p scopecheck --bench detect -- WORD` measures only the inputs whose name holds WORD.
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    if !only.is_empty() && !only.iter().any(|w| name.contains(w.as_str())) {
        return;
    }
    let bytes: usize = texts.iter().map(String::len).sum();
    // Warm up (lazy DFA caches).
    for t in texts {
        black_box(d.scan(t));
    }
    if std::env::args().any(|a| a == "--once") {
        // One untimed pass in `counted_pass`: for counting the instructions it executes
        // (`valgrind --tool=callgrind --toggle-collect='*counted_pass*'`), which a shared
        // machine's noise does not move.
        let hits = counted_pass(d, texts);
        println!("{name:<28} one pass  ({} texts, {bytes} bytes, {hits} detections)", texts.len());
        return;
    }
    // Run for at least ~1 s.
    let start = Instant::now();
    let mut rounds = 0u32;
    let mut hits = 0usize;
    while rounds < 3 || start.elapsed().as_secs_f64() < 1.0 {
        for t in texts {
            hits += black_box(d.scan(t)).len();
        }
        rounds += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let mb = (bytes as f64 * f64::from(rounds)) / 1e6;
    println!(
        "{name:<28} {:>9.1} MB/s  {:>9.2} µs/text  ({} texts, {} bytes, {} detections/round)",
        mb / secs,
        secs * 1e6 / (f64::from(rounds) * texts.len() as f64),
        texts.len(),
        bytes,
        hits / rounds as usize
    );
}

#[inline(never)]
fn counted_pass(d: &Detectors, texts: &[String]) -> usize {
    texts.iter().map(|t| black_box(d.scan(t)).len()).sum()
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let d = Detectors::builtin().unwrap();

    let corpus: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(root.join("tests/corpus/presidio/synth_dataset_v2.dev.json")).unwrap(),
    )
    .unwrap();
    let presidio: Vec<String> = corpus.iter().map(|r| r["full_text"].as_str().unwrap().to_string()).collect();

    let page = "Form W-2 Wage and Tax Statement 2025\na Employee's social security number 123-45-6789\n\
        b Employer identification number 12-3456789\nc Employer's name, address, and ZIP code ACME Corp, \
        100 Main Street, Springfield IL 62701\n1 Wages, tips, other compensation 84,512.00 2 Federal income tax \
        withheld 11,204.33\nPATIENT VISIT SUMMARY Patient: Dana Garcia Date of birth: 04/23/1985\nDiagnosis: \
        type 2 diabetes (ICD-10 E11.9). Symptoms reported: fatigue, headaches. Lab results pending.\n\
        Prescription: metformin 500 mg twice daily, 30 tablets, 2 refills. Contact dana.garcia@example.com \
        or (415) 555-0132. Notes: the quick brown fox jumps over the lazy dog near the river bank.\n";
    let mut long = String::new();
    while long.len() + page.len() < 60 * 1024 {
        long.push_str(page);
    }
    let ocr = vec![long; 8];

    let mut telemetry = Vec::new();
    for i in 0..2000u32 {
        telemetry.push(match i % 6 {
            0 => (20 + i * 7 % 880).to_string(),
            1 => format!("{},{}", i * 13 % 3840, i * 7 % 2160),
            2 => "btn-refresh".to_string(),
            3 => format!("{}", 1_715_440_147_123u64 + u64::from(i)),
            4 => "keydown".to_string(),
            _ => format!("0.{:06}", i * 7919 % 1_000_000),
        });
    }

    let generated = generated_long_values(&root.join("fixtures/scenarios/assistant.yaml"));

    println!("scopecheck detectors: {} value detectors", d.list().iter().filter(|i| i.kind == "value").count());
    measure("presidio dev texts", &d, &presidio);
    measure("long OCR-like text (60 KiB)", &d, &ocr);
    measure("telemetry values", &d, &telemetry);
    measure("generated free text (assistant)", &d, &generated);
}

/// Every string value of 256 bytes or more in the scenario's first day.
fn generated_long_values(scenario: &Path) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) if s.len() >= 256 => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let text = std::fs::read_to_string(scenario).unwrap();
    let g = scopecheck::generate::Generator::new(&text, &scenario.display().to_string(), None)
        .unwrap()
        .with_days(1)
        .unwrap();
    let mut out = Vec::new();
    for i in 0..g.chunks() {
        for l in g.chunk(i).text.lines() {
            walk(&serde_json::from_str(l).unwrap(), &mut out);
        }
    }
    out
}
