#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;

const MCI: &str = include_str!("../../../../fixtures/mci/scope.yaml");
const MCI_07: &str = include_str!("../../../../fixtures/drift/mci-2026.07.yaml");
const REFORMATTED: &str = include_str!("../../../../fixtures/drift/mci-reformatted.yaml");
const NARROWED: &str = include_str!("../../../../fixtures/drift/mci-narrowed.yaml");
const WIDENED: &str = include_str!("../../../../fixtures/drift/mci-widened.yaml");
const DOCS: &str = include_str!("../../../../docs/diff.md");

fn run(old: &str, new: &str) -> Drift {
    diff(&Source::new("old.yaml", old), &Source::new("new.yaml", new), DiffOptions::default()).unwrap()
}

fn ids(d: &Drift) -> Vec<(&str, &str, Severity)> {
    d.changes.iter().map(|c| (c.id, c.what.as_str(), c.severity)).collect()
}

fn has(d: &Drift, id: &str, what: &str) -> Change {
    d.changes
        .iter()
        .find(|c| c.id == id && c.what == what)
        .cloned()
        .unwrap_or_else(|| panic!("no {id} {what}: {:#?}", ids(d)))
}

#[test]
fn kinds_have_unique_ids_and_are_documented_with_their_severity() {
    let mut seen = BTreeSet::new();
    for k in ChangeKind::ALL {
        let m = k.meta();
        assert!(seen.insert(m.id), "{} twice", m.id);
        assert_eq!(ChangeKind::from_id(m.id), Some(k));
        let severity = match m.grading {
            Grading::Fixed => m.severity.as_str().to_string(),
            Grading::BySensitivity => "by sensitivity".to_string(),
        };
        let row = format!("| `{}` | {severity} |", m.id);
        assert!(DOCS.contains(&row), "docs/diff.md lacks the row {row:?}");
        assert!(!m.title.ends_with('.') && m.help.ends_with('.'), "{}", m.id);
    }
}

#[test]
fn the_must_show_pair_reports_four_changes_at_high_or_above() {
    let d = run(MCI, MCI_07);
    assert_eq!(
        ids(&d),
        vec![
            ("never-dropped", "never[category=content]", Severity::Critical),
            ("never-dropped", "never[field=screen.ocr_text]", Severity::Critical),
            ("encryption-weakened", "collect[field=session.replay].encryption", Severity::High),
            ("field-added", "collect[field=screen.ocr_text]", Severity::High),
        ]
    );
    assert_eq!(d.count_at_or_above(Severity::High), 4);
    // Removals in the old scope, the rest in the new one, at the very line.
    let line = |text: &str, c: &Change| text.lines().nth(c.location.line as usize - 1).unwrap().to_string();
    let content = has(&d, "never-dropped", "never[category=content]");
    assert_eq!(content.location.file, "old.yaml");
    assert_eq!(line(MCI, &content), "  - category: content");
    assert_eq!(content.location.column, Some(15));
    let ocr = has(&d, "never-dropped", "never[field=screen.ocr_text]");
    assert_eq!(line(MCI, &ocr), "  - field: \"screen.ocr_text\"");
    let added = has(&d, "field-added", "collect[field=screen.ocr_text]");
    assert_eq!(
        (added.location.file.as_str(), line(MCI_07, &added).as_str()),
        ("new.yaml", "  - field: \"screen.ocr_text\"")
    );
    assert_eq!(added.after["category"], "content.screen_text");
    // The key is gone: the entry it was dropped from.
    let enc = has(&d, "encryption-weakened", "collect[field=session.replay].encryption");
    assert_eq!(line(MCI_07, &enc), "  - field: \"session.replay\"");
    assert_eq!((enc.before.as_str(), enc.after.as_str()), (Some("required"), Some("none")));
    assert_eq!(d.summary.highest, Some(Severity::Critical));
    assert_eq!(d.old.version.as_deref(), Some("2026.05"));
    assert_eq!(d.new.version.as_deref(), Some("2026.07"));
}

#[test]
fn a_scope_against_itself_or_reformatted_has_no_drift() {
    assert!(run(MCI, MCI).changes.is_empty());
    let d = run(MCI, REFORMATTED);
    assert!(d.changes.is_empty(), "{:#?}", ids(&d));
    assert!(run(REFORMATTED, MCI).changes.is_empty());
}

#[test]
fn narrowing_is_info_only() {
    let d = run(MCI, NARROWED);
    assert!(d.changes.iter().all(|c| c.severity == Severity::Info), "{:#?}", ids(&d));
    for (id, what) in [
        ("subject-removed", "subjects[contractor]"),
        ("field-removed", "collect[field=ui.*]"),
        ("retention-shortened", "collect[field=session.replay].retention_days"),
        ("retention-shortened", "stores[id=mci-raw].retention_days"),
        ("encryption-strengthened", "stores[id=mci-raw].encryption"),
        ("region-declared", "stores[id=mci-raw].region"),
        ("never-added", "never[category=biometric]"),
        ("never-added", "never[field=screen.**]"),
        ("windows-narrowed", "windows"),
    ] {
        has(&d, id, what);
    }
    // `screen.**` covers `screen.ocr_text`: that promise is kept, not dropped.
    assert!(!d.changes.iter().any(|c| c.id == "never-dropped"), "{:#?}", ids(&d));
    let w = has(&d, "windows-narrowed", "windows");
    assert!(
        w.message.contains("Mon-Thu 09:00-10:00, Mon-Thu 16:00-17:00, Fri 09:00-12:00, Fri 13:00-17:00"),
        "{}",
        w.message
    );
}

#[test]
fn widening_in_every_section_is_graded() {
    let d = run(MCI, WIDENED);
    let expect = [
        ("subject-added", "subjects[visitor]", Severity::High),
        ("category-widened", "collect[field=input.pointer.*].category", Severity::Medium),
        ("purpose-added", "collect[field=input.keystrokes[].interval_ms].purposes", Severity::High),
        ("purpose-added", "collect[field=ui.*].purposes", Severity::High),
        ("retention-lengthened", "collect[field=input.keystrokes[].interval_ms].retention_days", Severity::Medium),
        ("retention-lengthened", "collect[field=session.replay].retention_days", Severity::Medium),
        ("never-narrowed", "never[category=content]", Severity::High),
        ("windows-timezone-changed", "windows.timezone", Severity::Low),
        ("windows-widened", "windows", Severity::High),
        ("encryption-weakened", "stores[id=mci-raw].encryption", Severity::High),
        ("store-added", "stores[id=mci-archive]", Severity::Medium),
        ("purpose-added", "access[role=ml-research].purposes", Severity::High),
        ("role-added", "access[role=people-analytics]", Severity::High),
        ("version-not-bumped", "version", Severity::Low),
    ];
    for (id, what, sev) in expect {
        assert_eq!(has(&d, id, what).severity, sev, "{id} {what}");
    }
    // Most severe first.
    assert!(d.changes.windows(2).all(|w| w[0].severity >= w[1].severity));
    let narrowed = has(&d, "never-narrowed", "never[category=content]");
    assert_eq!(narrowed.after, json!(["content.chat", "content.email"]));
    assert_eq!(narrowed.location.file, "new.yaml");
    let ui = has(&d, "purpose-added", "collect[field=ui.*].purposes");
    assert_eq!(ui.after, json!("any"));
    // The key's own line.
    let r = has(&d, "retention-lengthened", "collect[field=input.keystrokes[].interval_ms].retention_days");
    assert_eq!(WIDENED.lines().nth(r.location.line as usize - 1).unwrap(), "    retention_days: 365");
}

#[test]
fn windows_are_compared_minute_by_minute() {
    let base = "program: p\ncollect: []\nwindows:\n  timezone: UTC\n  allow: [\"Mon-Fri 09:00-17:00\"]\n  deny: [\"12:00-13:00\"]\n";
    // The same minutes written otherwise: no drift.
    let same = "program: p\ncollect: []\nwindows:\n  timezone: UTC\n  allow: [\"Mon-Fri 09:00-12:00\", \"monday-friday 13:00-17:00\"]\n";
    assert!(run(base, same).changes.is_empty(), "{:#?}", ids(&run(base, same)));
    // Lunch given back.
    let lunch = base.replace("  deny: [\"12:00-13:00\"]\n", "");
    let w = has(&run(base, &lunch), "windows-widened", "windows");
    assert!(w.message.contains("300 more minutes a week (local time, UTC): Mon-Fri 12:00-13:00"), "{}", w.message);
    // No windows at all: always.
    let always = "program: p\ncollect: []\n";
    let w = has(&run(base, always), "windows-widened", "windows");
    assert!(w.message.contains("any time") && w.after == json!("always"), "{}", w.message);
    assert_eq!(w.location.file, "old.yaml");
    assert_eq!(w.location.line, 3);
    // Another zone: the same clock times are other instants.
    let ny = base.replace("UTC", "America/New_York");
    let d = run(base, &ny);
    has(&d, "windows-timezone-changed", "windows.timezone");
    let w = has(&d, "windows-widened", "windows");
    assert!(w.message.contains("(in UTC, over a week of January and one of July): Mon-Fri"), "{}", w.message);
    has(&d, "windows-narrowed", "windows");
    // A zone alias of the same instants changes no minute.
    let etc = base.replace("UTC", "Etc/UTC");
    assert_eq!(
        ids(&run(base, &etc)),
        vec![
            ("windows-timezone-changed", "windows.timezone", Severity::Low),
            ("version-not-bumped", "version", Severity::Low)
        ]
    );
}

#[test]
fn categories_widen_narrow_or_move() {
    let scope = |cat: &str| format!("program: p\nversion: 1\ncollect:\n  - field: a\n    category: {cat}\n");
    let kind = |a: &str, b: &str| {
        let d = run(&scope(a), &scope(b).replace("version: 1", "version: 2"));
        d.changes.first().map(|c| (c.id, c.severity))
    };
    assert_eq!(kind("behavior.input", "behavior"), Some(("category-widened", Severity::Medium)));
    assert_eq!(kind("behavior", "behavior.input"), Some(("category-narrowed", Severity::Info)));
    assert_eq!(kind("behavior.app_usage", "content.chat"), Some(("category-widened", Severity::High)));
    assert_eq!(kind("contact.name", "health.record"), Some(("category-widened", Severity::Critical)));
    assert_eq!(kind("content.chat", "behavior"), Some(("category-narrowed", Severity::Info)));
    assert_eq!(kind("content.chat", "content.email"), Some(("category-changed", Severity::Low)));
    // A new field of special-category data is critical.
    let d = run(&scope("behavior"), &format!("{}  - field: b\n    category: health\n", scope("behavior")));
    assert_eq!(ids(&d)[0], ("field-added", "collect[field=b]", Severity::Critical));
}

#[test]
fn stores_roles_and_subjects() {
    let old = "program: p\nsubjects: [employee]\ncollect: []\nstores:\n  - id: s\n    encryption: end_to_end\n    region: us-west\naccess:\n  - role: r\n    purposes: [a]\n  - role: gone\n    purposes: [a]\n";
    let new = "program: p\ncollect: []\nstores:\n  - id: s\n    encryption: required\n    region: eu-west\naccess:\n  - role: r\n    purposes: []\n";
    let d = run(old, new);
    let enc = has(&d, "encryption-weakened", "stores[id=s].encryption");
    assert_eq!((enc.before.as_str(), enc.after.as_str()), (Some("end_to_end"), Some("at_rest")));
    assert_eq!(new.lines().nth(enc.location.line as usize - 1).unwrap(), "    encryption: required");
    assert_eq!(has(&d, "region-changed", "stores[id=s].region").severity, Severity::Medium);
    // A role's empty purposes allow nothing: narrowing.
    has(&d, "purpose-removed", "access[role=r].purposes");
    let gone = has(&d, "role-removed", "access[role=gone]");
    assert_eq!((gone.location.file.as_str(), gone.location.line), ("old.yaml", 11));
    // No `subjects`: any kind of person.
    let s = has(&d, "subject-added", "subjects");
    assert_eq!(s.after, json!("any"));
}

#[test]
fn different_programs_are_refused_unless_allowed() {
    let other = MCI.replace("program: mci", "program: helpdesk");
    let e = diff(&Source::new("old.yaml", MCI), &Source::new("new.yaml", &other), DiffOptions::default()).unwrap_err();
    assert_eq!((e.location.file.as_str(), e.location.line, e.location.column), ("new.yaml", Some(4), Some(10)));
    assert!(e.message.contains("`helpdesk`") && e.message.contains("`mci`"), "{e}");
    assert!(e.help.unwrap().contains("--allow-program-change"));
    let d = diff(
        &Source::new("old.yaml", MCI),
        &Source::new("new.yaml", &other),
        DiffOptions { allow_program_change: true },
    )
    .unwrap();
    assert_eq!(
        ids(&d),
        vec![("program-renamed", "program", Severity::Medium), ("version-not-bumped", "version", Severity::Low)]
    );
}

#[test]
fn a_bad_scope_is_an_error_at_its_line() {
    let bad = MCI.replace("category: health", "category: heath");
    let e = diff(&Source::new("old.yaml", MCI), &Source::new("new.yaml", &bad), DiffOptions::default()).unwrap_err();
    assert_eq!(e.location.file, "new.yaml");
    assert!(e.location.line.is_some() && e.location.column.is_some(), "{e}");
}

#[test]
fn fingerprints_do_not_move_with_lines() {
    let a = run(MCI, MCI_07);
    let b = run(MCI, &format!("# a comment\n\n{MCI_07}"));
    let fp = |d: &Drift| d.changes.iter().map(|c| c.fingerprint.clone()).collect::<Vec<_>>();
    assert_eq!(fp(&a), fp(&b));
    let added = |d: &Drift| has(d, "field-added", "collect[field=screen.ocr_text]").location.line;
    assert_eq!(added(&a) + 2, added(&b));
}

#[test]
fn formats_parse_and_render() {
    let d = run(MCI, MCI_07);
    for f in Format::ALL {
        assert_eq!(f.as_str().parse::<Format>(), Ok(f));
        assert!(!f.render(&d, false).is_empty());
    }
    assert!("junit".parse::<Format>().unwrap_err().contains("human, json, markdown, sarif"));
    let colored = Format::Human.render(&d, true);
    assert!(colored.contains("\x1b[1;31m"));
    assert!(!Format::Human.render(&d, false).contains('\x1b'));
}

#[test]
fn runs_are_written_as_windows() {
    let mut bits = vec![false; WEEK];
    for day in 0..5 {
        for m in 720..780 {
            bits[day * 1440 + m] = true;
        }
    }
    assert_eq!(runs(&bits), "Mon-Fri 12:00-13:00");
    for b in &mut bits[5 * 1440..7 * 1440] {
        *b = true;
    }
    assert_eq!(runs(&bits), "Mon-Fri 12:00-13:00, Sat,Sun");
    assert_eq!(runs(&vec![true; WEEK]), "all week");
    assert_eq!(day_list(0b101_0101), "Mon,Wed,Fri,Sun");
}
