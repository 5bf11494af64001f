//! The HTML report (`--format html`): a snapshot per fixture, escaping of what the captures say,
//! and the page as headless Chromium renders it (findings table, charts, no console message),
//! with a screenshot kept under `target/test-artifacts/html/`.
//!
//! Chromium is Debian's `chromium` package (`SCOPECHECK_CHROMIUM` names another binary). Without
//! it the rendering tests print a notice and pass, except under CI (`CI` set), where they fail:
//! CI must install it (see .ci/run).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{FIXTURES, audit_fixture, p, root, run, tmp, tmp_dir};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn html_snapshot_of_every_fixture() {
    for fx in FIXTURES {
        let out = audit_fixture(fx, &["--format", "html"]);
        assert!(out.code <= 1, "{fx}: {}", out.stderr);
        assert!(out.stdout.starts_with("<!doctype html>"), "{fx}");
        assert!(out.stdout.contains("<pre id=\"scope-text\">"), "{fx}: the scope text is shown");
        insta::assert_snapshot!(format!("html_{fx}"), out.stdout);
    }
}

#[test]
fn the_page_is_the_same_for_the_same_input_and_fetches_nothing() {
    let a = audit_fixture("mci", &["--format", "html"]).stdout;
    let b = audit_fixture("mci", &["--format", "html"]).stdout;
    assert_eq!(a, b);
    let lower = a.to_ascii_lowercase();
    for banned in
        ["<script", "<img", "<link", "<iframe", "<object", "<embed", "src=", "http-equiv=\"refresh\"", "@import"]
    {
        assert!(!lower.contains(banned), "the page holds {banned}");
    }
    assert!(a.contains("Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-"));
    // Redacted by default: no banner.
    assert!(!a.contains("id=\"evidence-shown\""));
}

/// A capture file whose field names, values, source, store and kinds are markup.
fn hostile_captures() -> String {
    let bad = "<script>alert(1)</script>";
    let attr = "\"><img src=x onerror=alert(1)>";
    let data = serde_json::json!({
        bad: attr,
        attr: bad,
        "note": format!("{bad} {attr}"),
        "chat": {"messages": [{"text": format!("call me at 555-0100 {bad}")}]},
    });
    let line = serde_json::json!({
        "ts": "2026-05-16T10:14:03-07:00",
        "program": "mci",
        "subject": attr,
        "subject_kind": bad,
        "source": attr,
        "store": bad,
        "data": data,
    });
    format!("{line}\n{{\"ts\": \"{bad}\", \"broken\n")
}

#[test]
fn what_the_captures_say_is_escaped() {
    let captures = tmp("hostile.jsonl", &hostile_captures());
    let scope = p("fixtures/mci/scope.yaml");
    for extra in [&[][..], &["--show-evidence"][..]] {
        let mut args = vec!["audit", "--scope", &scope, "--format", "html"];
        args.extend_from_slice(extra);
        args.push(&captures);
        let out = run(&args);
        assert_eq!(out.code, 1, "{}", out.stderr);
        let html = out.stdout.to_ascii_lowercase();
        assert!(!html.contains("<script"), "unescaped <script with {extra:?}");
        assert!(!html.contains("<img"), "unescaped <img with {extra:?}");
        assert!(!html.contains("onerror=alert(1)>"), "unescaped attribute with {extra:?}");
        // Not vacuous: the hostile names are in the page, as text.
        assert!(out.stdout.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{extra:?}");
        assert!(out.stdout.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"), "{extra:?}");
        let shown = !extra.is_empty();
        assert_eq!(out.stdout.contains("id=\"evidence-shown\""), shown, "the banner goes with --show-evidence");
        // The person's id (markup too) is in the page only when the report holds it.
        assert_eq!(out.stdout.contains("id <code>&quot;&gt;&lt;img"), shown, "{extra:?}");
        if let Some(chromium) = chromium() {
            let page = tmp_dir().join(format!("hostile{}.html", extra.len()));
            std::fs::write(&page, out.stdout.as_bytes()).unwrap();
            let r = render(&chromium, &page, None);
            assert!(r.console.is_empty(), "console messages: {:#?}", r.console);
            let dom = r.dom.to_ascii_lowercase();
            assert!(!dom.contains("<script") && !dom.contains("<img"), "Chromium parsed markup from the captures");
        }
    }
}

#[test]
fn the_policies_that_decided_are_shown_with_the_users_own_text() {
    let policy = tmp(
        "lunch.cedar",
        "@id(\"no-browsing-at-lunch\")\n@severity(\"low\")\n@title(\"Browsing captured at lunch\")\n\
         @help(\"Pause the browser collector at lunch.\")\n\
         forbid (principal, action == Scopecheck::Action::\"collect\", resource)\n\
         when { context.category in Scopecheck::Category::\"behavior.browsing\" && !context.in_window };\n",
    );
    let out = audit_fixture("mci", &["--policies", &policy, "--format", "html"]);
    assert!(out.code <= 1, "{}", out.stderr);
    let html = common::stable(&out.stdout);
    assert!(html.contains("<tr><th scope=\"row\"><code>no-browsing-at-lunch</code></th>"), "the rule is listed");
    // The user's file is open, its text escaped; the built-in rules are collapsed.
    assert!(html.contains("<details id=\"policy-2\" open><summary>Rule file <code>[tmp]/lunch.cedar</code>"));
    assert!(html.contains("&amp;&amp; !context.in_window"));
    assert!(html.contains("<details id=\"policy-1\"><summary>Built-in rules"));
}

// ---- headless Chromium ----

/// The Chromium binary, if there is one. Under CI its absence is a failure.
fn chromium() -> Option<PathBuf> {
    let named = std::env::var_os("SCOPECHECK_CHROMIUM").map(PathBuf::from).filter(|p| p.is_file());
    let found = named.or_else(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
            .find(|c| c.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install Chromium (Debian's `chromium` package; see .ci/run)"
        );
        eprintln!("note: chromium is not installed; the HTML report is not rendered (apt-get install chromium)");
    }
    found
}

/// What Chromium made of a page.
struct Rendered {
    /// The DOM after loading (`--dump-dom`).
    dom: String,
    /// Console messages (script errors, CSP violations, `console.*`), from Chromium's log.
    console: Vec<String>,
}

/// Loads `page` in headless Chromium, killed after 60 s; keeps a screenshot at `screenshot`.
fn render(chromium: &Path, page: &Path, screenshot: Option<&Path>) -> Rendered {
    let profile = tmp_dir().join(format!("chromium-profile-{}", page.file_stem().unwrap().to_string_lossy()));
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,6000",
    ]);
    cmd.arg(format!("--user-data-dir={}", profile.display()));
    if let Some(s) = screenshot {
        cmd.arg(format!("--screenshot={}", s.display()));
    }
    cmd.arg("--dump-dom").arg(format!("file://{}", std::fs::canonicalize(page).unwrap().display()));
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // Read both pipes on threads so a full pipe never stalls Chromium; kill it after 60 s.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 60 s on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (dom, log) = (out.join().unwrap(), err.join().unwrap());
    assert!(status.success(), "chromium failed ({status}) on {}:\n{log}", page.display());
    let _ = std::fs::remove_dir_all(&profile);
    let console =
        log.lines().filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught")).map(str::to_string).collect();
    Rendered { dom, console }
}

/// The elements `<tag ...>` of `html` inside the element with `id`, as their opening tags.
fn elements_within<'a>(html: &'a str, id: &str, tag: &str) -> Vec<&'a str> {
    let start = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no element #{id}"));
    let rest = &html[start..];
    let end = rest.find("</svg>").or_else(|| rest.find("</table>")).unwrap_or(rest.len());
    let open = format!("<{tag} ");
    rest[..end].match_indices(&open).map(|(i, _)| &rest[i..i + rest[i..].find('>').unwrap()]).collect()
}

fn attr(tag: &str, name: &str) -> Option<f64> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    tag[i..i + tag[i..].find('"')?].parse().ok()
}

fn drawn(tags: &[&str]) -> usize {
    tags.iter().filter(|t| attr(t, "width").unwrap_or(0.0) > 0.0 && attr(t, "height").unwrap_or(0.0) > 0.0).count()
}

fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"));
    let dir = target.join("test-artifacts").join("html");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn mci_report_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else { return };
    let json: serde_json::Value = serde_json::from_str(&audit_fixture("mci", &["--format", "json"]).stdout).unwrap();
    let findings = json["findings"].as_array().unwrap().len();
    assert!(findings > 0);
    let html = audit_fixture("mci", &["--format", "html"]).stdout;
    let page = tmp_dir().join("mci.html");
    std::fs::create_dir_all(tmp_dir()).unwrap();
    std::fs::write(&page, &html).unwrap();
    let shot = artifacts().join("mci.png");
    let _ = std::fs::remove_file(&shot);
    let r = render(&chromium, &page, Some(&shot));
    assert!(r.console.is_empty(), "console messages:\n{}", r.console.join("\n"));
    let dom = &r.dom;
    // The findings table, one row per finding.
    assert!(dom.contains("<table id=\"findings-table\">"), "no findings table");
    assert_eq!(dom.matches("<tr class=\"finding\"").count(), findings, "one row per finding");
    assert_eq!(dom.matches("<tr class=\"finding\"").count(), html.matches("<tr class=\"finding\"").count());
    // The charts, drawn: bars of real size, every hour of the week, the flagged hours marked.
    let days = elements_within(dom, "chart-days", "rect");
    assert!(drawn(&days.iter().copied().filter(|t| t.contains("class=\"captures\"")).collect::<Vec<_>>()) >= 5);
    assert!(drawn(&days.iter().copied().filter(|t| t.contains("class=\"flagged\"")).collect::<Vec<_>>()) >= 5);
    assert!(days.iter().any(|t| t.contains("class=\"weekend\"")), "the weekend is shaded");
    let cells = elements_within(dom, "chart-hours", "rect");
    let busy_hours = json["timeline"]["captures_by_hour"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap())
        .filter(|c| c.as_u64().unwrap() > 0)
        .count();
    assert!(busy_hours > 20);
    let drawn_cells = drawn(&cells.iter().copied().filter(|t| t.contains("class=\"cell\"")).collect::<Vec<_>>());
    assert_eq!(drawn_cells, busy_hours, "one cell per hour of the week with captures");
    assert!(cells.iter().any(|t| t.contains("class=\"grid\"")), "the week's grid is drawn");
    assert!(cells.iter().any(|t| t.contains("class=\"outside\"")), "hours outside the windows are hatched");
    let dots = elements_within(dom, "chart-hours", "circle");
    assert!(dots.iter().filter(|t| attr(t, "r").unwrap_or(0.0) > 0.0).count() >= 10, "flagged hours are marked");
    assert!(drawn(&elements_within(dom, "chart-severity", "rect")) >= 3);
    assert!(dom.contains("<title id=\"chart-days-title\">") && dom.contains("aria-labelledby=\"chart-hours-title\""));
    // The screenshot is kept as an artefact.
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("{}: {e}", shot.display()));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "{} is not a screenshot", shot.display());
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn console_errors_are_caught() {
    let Some(chromium) = chromium() else { return };
    std::fs::create_dir_all(tmp_dir()).unwrap();
    // A script error, and a fetch the page's policy blocks: both must be seen.
    let broken = tmp_dir().join("broken.html");
    std::fs::write(
        &broken,
        "<!doctype html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'\"></head>\
         <body><p>x</p><script>no_such_function();</script></body></html>",
    )
    .unwrap();
    let r = render(&chromium, &broken, None);
    assert!(r.console.iter().any(|l| l.contains("no_such_function")), "a script error went unseen: {:?}", r.console);
    let blocked = tmp_dir().join("blocked.html");
    std::fs::write(
        &blocked,
        "<!doctype html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\"></head>\
         <body><p>x</p><div style=\"color:red\">styled</div></body></html>",
    )
    .unwrap();
    let r = render(&chromium, &blocked, None);
    assert!(
        r.console.iter().any(|l| l.contains("Content Security Policy")),
        "a CSP violation went unseen: {:?}",
        r.console
    );
    // And a clean page has none.
    let clean = tmp_dir().join("clean.html");
    std::fs::write(&clean, "<!doctype html><html><head><title>t</title></head><body><p>x</p></body></html>").unwrap();
    assert!(render(&chromium, &clean, None).console.is_empty());
}

/// The text of the element `<tag ... id="ID"...>…</tag>` (the first one, not nested).
fn element(html: &str, tag: &str, id: &str) -> String {
    let open = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id}"));
    let start = html[..open].rfind(&format!("<{tag}")).unwrap();
    let end = html[open..].find(&format!("</{tag}>")).unwrap() + open + tag.len() + 3;
    html[start..end].to_string()
}

#[test]
fn baselined_findings_are_marked_with_reason_owner_expiry_and_status() {
    std::fs::create_dir_all(tmp_dir()).unwrap();
    let file = tmp_dir().join("html-baseline.yaml");
    let _ = std::fs::remove_file(&file);
    let b = file.display().to_string();
    let made = audit_fixture(
        "mci",
        &[
            "--baseline",
            &b,
            "--update-baseline",
            "--today",
            "2026-12-02",
            "--baseline-owner",
            "privacy@example.com",
            "--baseline-reason",
            "agent 4.2 removes it (TICKET-118)",
            "--format",
            "json",
        ],
    );
    assert!(made.code <= 1, "{}", made.stderr);
    // One acceptance expired, one entry that matches nothing.
    let text = std::fs::read_to_string(&file).unwrap();
    let text = text.replacen("expires: 2027-03-02", "expires: 2026-11-30", 1);
    let text = format!(
        "{text}- fingerprint: 00000000000000000000000000000000\n  rule: undisclosed-field\n  target: field gone.field\n  categories: []\n  reason: the field was removed\n  owner: old-team@example.com\n  expires: 2027-01-01\n"
    );
    std::fs::write(&file, text).unwrap();
    let out = audit_fixture("mci", &["--baseline", &b, "--today", "2026-12-02", "--format", "html"]);
    assert_eq!(out.code, 1, "the expired acceptance fails: {}", out.stderr);
    let html = &out.stdout;
    assert!(html.contains("<a href=\"#baseline\">Baseline</a>"), "the nav links the section");
    let section = element(html, "section", "baseline");
    assert!(section.contains("<b>1</b>expired (failing)"), "{section}");
    assert!(section.contains("<b>1</b>unused entries"), "{section}");
    assert!(section.contains("old-team@example.com") && section.contains("gone.field"), "unused entries listed");
    let findings = element(html, "table", "findings-table");
    assert!(findings.contains("<th scope=\"col\">baseline</th>"));
    assert!(findings.contains("<span class=\"bl bl-failing\">expired</span> fails the gate: expired on"));
    assert!(findings.contains("<span class=\"bl bl-accepted\">accepted</span> until"));
    assert!(findings.contains("agent 4.2 removes it (TICKET-118)"));
    assert!(findings.contains("owner privacy@example.com"));
    assert!(findings.contains("class=\"finding baselined\""));
    insta::assert_snapshot!("html_mci_baseline_section", common::stable(&section));
    insta::assert_snapshot!("html_mci_baseline_findings", common::stable(&findings));
    // Without a baseline there is no baseline column or section.
    let plain = audit_fixture("mci", &["--format", "html"]).stdout;
    assert!(!plain.contains("id=\"baseline\""));
    assert!(!plain.contains("<th scope=\"col\">baseline</th>"));
}
