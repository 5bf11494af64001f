//! Values that look like the real thing: timing distributions of typing and pointing, UI
//! controls, valid-checksum identifiers, speaker-turn transcripts, chats, OCR text of real form
//! layouts. Every person, number and document is invented; identifiers pass their checksums
//! (Luhn, the SSA's area/group/serial rules) so detectors are tested as on real data.

use super::rng::Rng;
use serde_json::{Value, json};

fn one<'a>(r: &mut Rng, items: &'a [&'a str]) -> &'a str {
    r.pick(items).copied().unwrap_or("")
}

/// A typing burst: inter-key intervals (log-normal, median 165 ms) and dwell times (normal,
/// 95 ± 25 ms), 5 to 60 keys, occasionally a pause.
pub fn keystrokes(r: &mut Rng) -> Value {
    let n = 5 + r.below(56);
    let items: Vec<Value> = (0..n)
        .map(|_| {
            let pause = r.chance(0.04);
            let interval =
                if pause { r.lognormal(900.0, 0.6, 300.0, 6000.0) } else { r.lognormal(165.0, 0.42, 28.0, 1200.0) };
            let dwell = r.gauss(95.0, 25.0, 28.0, 400.0);
            json!({"interval_ms": interval.round() as i64, "dwell_ms": dwell.round() as i64})
        })
        .collect();
    json!({"input": {"keystrokes": items}})
}

/// A pointer sample at the end of a movement: position on a 2560×1440 desk, buttons, speed.
pub fn pointer(r: &mut Rng) -> Value {
    let x = r.range(0, 2559);
    let y = r.range(0, 1439);
    let buttons = *r.pick(&[0, 0, 0, 1, 1, 2]).unwrap_or(&0);
    let speed = r.lognormal(420.0, 0.7, 0.0, 9000.0).round() as i64;
    let path: Vec<Value> = {
        // A short ballistic path towards (x, y): a few samples 8 ms apart.
        let steps = 3 + r.below(6);
        let (mut px, mut py) = (x - r.range(-300, 300), y - r.range(-200, 200));
        (0..steps)
            .map(|i| {
                px += (x - px) / 2;
                py += (y - py) / 2;
                json!({"dx": px.clamp(0, 2559), "dy": py.clamp(0, 1439), "t_ms": (i + 1) * 8})
            })
            .collect()
    };
    json!({"input": {"pointer": {"x": x, "y": y, "buttons": buttons, "speed_px_s": speed, "path": path}}})
}

const CONTROLS: &[(&str, &str, &str)] = &[
    ("click", "btn-save", "Save"),
    ("click", "btn-cancel", "Cancel"),
    ("click", "btn-refresh", "Refresh"),
    ("click", "btn-run-tests", "Run tests"),
    ("click", "tab-settings", "Settings"),
    ("click", "menu-file-open", "Open…"),
    ("click", "btn-submit", "Submit"),
    ("click", "btn-approve", "Approve"),
    ("click", "link-next-page", "Next page"),
    ("focus", "search-box", "Search"),
    ("focus", "editor-main", "Editor"),
    ("scroll", "list-results", "Results"),
    ("click", "btn-new-ticket", "New ticket"),
    ("click", "btn-export-csv", "Export CSV"),
    ("toggle", "chk-dark-mode", "Dark mode"),
    ("click", "btn-merge", "Merge pull request"),
    ("click", "btn-deploy", "Deploy to staging"),
    ("select", "dd-priority", "Priority"),
];

/// A UI interaction: the control's action, id and label.
pub fn ui(r: &mut Rng) -> Value {
    let (action, id, label) = r.pick(CONTROLS).copied().unwrap_or(("click", "btn-save", "Save"));
    json!({"ui": {"action": action, "element_id": id, "label": label}})
}

const STD_B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    let sym = |i: u32| char::from(*STD_B64.get((i & 63) as usize).unwrap_or(&b'A'));
    for chunk in bytes.chunks(3) {
        let b = [chunk.first().copied(), chunk.get(1).copied(), chunk.get(2).copied()];
        let n =
            (u32::from(b[0].unwrap_or(0)) << 16) | (u32::from(b[1].unwrap_or(0)) << 8) | u32::from(b[2].unwrap_or(0));
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if b[1].is_some() { sym(n >> 6) } else { '=' });
        out.push(if b[2].is_some() { sym(n) } else { '=' });
    }
    out
}

/// A client-side encrypted session replay: base64 of random bytes (a nonce and a ciphertext).
pub fn replay_encrypted(r: &mut Rng) -> Value {
    let n = 48 + r.below(97) as usize;
    json!({"session": {"replay": base64(&r.bytes(n))}})
}

/// A session replay the collector forgot to encrypt: the UI event stream in clear.
pub fn replay_plaintext(r: &mut Rng) -> Value {
    let n = 3 + r.below(6);
    let steps: Vec<String> = (0..n)
        .map(|_| {
            let (action, id, _) = r.pick(CONTROLS).copied().unwrap_or(("click", "btn-save", "Save"));
            format!("{action} #{id} at +{}ms", r.range(40, 4000))
        })
        .collect();
    json!({"session": {"replay": format!("replay v2 | {}", steps.join(" | "))}})
}

const APPS: &[&str] =
    &["Chrome", "Excel", "Outlook", "Slack", "Teams", "Visual Studio Code", "Word", "Figma", "Zoom", "Terminal"];

/// Application focus time.
pub fn app(r: &mut Rng) -> Value {
    json!({"app": {"name": one(r, APPS), "focus_s": r.lognormal(240.0, 0.9, 5.0, 7200.0).round() as i64}})
}

const DOMAINS: &[&str] = &[
    "docs.example.com",
    "wiki.example.com",
    "mail.example.com",
    "crm.example.com",
    "intranet.example",
    "news.example.org",
    "jira.example.com",
    "calendar.example.com",
    "shop.example.net",
    "video.example.org",
];

/// Browsing: the active tab's domain and how long it was active.
pub fn browsing(r: &mut Rng) -> Value {
    json!({"browser": {"domain": one(r, DOMAINS), "active_s": r.lognormal(90.0, 1.0, 1.0, 3600.0).round() as i64}})
}

/// Meeting attendance: joins, durations, attendee counts.
pub fn meeting(r: &mut Rng) -> Value {
    let minutes = *r.pick(&[15, 25, 30, 45, 50, 60]).unwrap_or(&30);
    json!({"meeting": {"id": format!("mtg-{:06}", r.below(1_000_000)), "duration_s": minutes * 60 - r.range(0, 240),
        "attendees": r.range(2, 14), "camera_on": r.chance(0.4)}})
}

/// Chat activity counts (no content).
pub fn chat_stats(r: &mut Rng) -> Value {
    json!({"chat": {"stats": {"messages_sent": r.range(0, 40), "active_s": r.range(30, 1800)}}})
}

const FIRST: &[&str] = &[
    "Alex", "Sam", "Priya", "Jordan", "Mei", "Tomasz", "Aisha", "Lucas", "Fatima", "Kenji", "Olivia", "Diego", "Nora",
    "Ibrahim", "Chloe", "Ravi",
];
const LAST: &[&str] = &[
    "Morgan", "Okafor", "Nguyen", "Kowalski", "Haddad", "Silva", "Tanaka", "Berg", "Patel", "Rossi", "Fischer",
    "Dubois", "Kim", "Mensah",
];

fn person_name(r: &mut Rng) -> String {
    format!("{} {}", one(r, FIRST), one(r, LAST))
}

const CHAT_LINES: &[&str] = &[
    "can you cover my 3pm? I have a doctor's appointment",
    "honestly I'm thinking about leaving, please don't tell anyone",
    "did you see the reorg email? are we getting a new manager",
    "running late, kid is sick again",
    "lol that meeting could have been an email",
    "I'll push the fix after lunch",
    "my review is next week and I'm nervous about it",
    "can you send me the login for the staging box?",
    "sorry, rough night, I'll be on in 20",
    "are you going to the union meeting on thursday?",
    "thanks for covering for me yesterday",
    "the client called again about the invoice",
];

/// Private chat messages, as a chat client's sync would capture them.
pub fn chat_messages(r: &mut Rng) -> Value {
    let n = 1 + r.below(5);
    let msgs: Vec<Value> = (0..n).map(|_| json!({"text": one(r, CHAT_LINES)})).collect();
    json!({"chat": {"messages": msgs}})
}

const TURNS: &[&str] = &[
    "okay let's get started, can everyone see my screen?",
    "yes, I can see it",
    "so the numbers for the quarter are a bit below target",
    "I think we need to talk about the attrition on the team",
    "can we take the performance discussion offline?",
    "sure, I'll set up a one-on-one",
    "the migration is blocked on the security review",
    "I'm out on medical leave from the fifteenth",
    "let's circle back on that next week",
    "any other business? no? thanks everyone",
    "sorry, you were on mute",
    "I'll share the notes after the call",
];

/// A meeting transcription with timestamps and speaker turns.
pub fn transcript(r: &mut Rng) -> String {
    let speakers: Vec<String> = (0..2 + r.below(3)).map(|_| person_name(r)).collect();
    let turns = 4 + r.below(9);
    let mut t = r.range(0, 120);
    let mut out = Vec::new();
    for _ in 0..turns {
        t += r.range(4, 40);
        let who = r.pick(&speakers).cloned().unwrap_or_default();
        out.push(format!("[{:02}:{:02}:{:02}] {who}: {}", t / 3600, (t / 60) % 60, t % 60, one(r, TURNS)));
    }
    out.join("\n")
}

/// A US SSN that passes the SSA's rules (area 001–899 except 666, group 01–99, serial 0001–9999)
/// and avoids the advertised numbers.
pub fn ssn(r: &mut Rng) -> String {
    let mut area = r.range(1, 899);
    if area == 666 {
        area = 667;
    }
    format!("{area:03}-{:02}-{:04}", r.range(1, 99), r.range(1, 9999))
}

/// A payment card number that passes Luhn, with a real issuer prefix (Visa 4, Mastercard 51–55,
/// American Express 34/37), grouped as printed.
pub fn card(r: &mut Rng) -> String {
    let (prefix, len): (String, usize) = match r.below(3) {
        0 => ("4".into(), 16),
        1 => (format!("5{}", r.range(1, 5)), 16),
        _ => (if r.chance(0.5) { "34" } else { "37" }.into(), 15),
    };
    let mut digits: Vec<u32> = prefix.chars().filter_map(|c| c.to_digit(10)).collect();
    while digits.len() < len - 1 {
        digits.push(r.below(10) as u32);
    }
    // Luhn check digit: double every second digit from the right of the full number.
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    digits.push((10 - sum % 10) % 10);
    let s: String = digits.iter().filter_map(|d| char::from_digit(*d, 10)).collect();
    let groups: &[usize] = if len == 15 { &[4, 6, 5] } else { &[4, 4, 4, 4] };
    let mut out = Vec::new();
    let mut at = 0;
    for g in groups {
        out.push(s.get(at..at + g).unwrap_or("").to_string());
        at += g;
    }
    out.join(" ")
}

/// A UI label that shows a card number (a payment form's saved-card control).
pub fn card_label(r: &mut Rng) -> Value {
    let label = match r.below(3) {
        0 => format!("Pay with card {}", card(r)),
        1 => format!("Card number {}", card(r)),
        _ => format!("Use saved card {} (expires {:02}/{})", card(r), r.range(1, 12), r.range(27, 31)),
    };
    json!({"ui": {"action": "click", "element_id": "btn-pay", "label": label}})
}

/// OCR text of a W-2 (Wage and Tax Statement) as the screen reader would read it.
pub fn tax_page(r: &mut Rng) -> String {
    let name = person_name(r);
    let wages = r.range(38_000, 190_000);
    let cents = r.range(0, 99);
    let withheld = wages / 5;
    format!(
        "Form W-2 Wage and Tax Statement 2025\nDepartment of the Treasury - Internal Revenue Service\n\
         a Employee's social security number {ssn}\nb Employer identification number (EIN) {ein1:02}-{ein2:07}\n\
         c Employer's name, address, and ZIP code Example Corp, 100 Market St, San Francisco CA 94105\n\
         e Employee's first name and initial Last name {name}\n1 Wages, tips, other compensation {wages}.{cents:02}\n\
         2 Federal income tax withheld {withheld}.00\n3 Social security wages {wages}.{cents:02}\n\
         16 State wages, tips, etc. {wages}.{cents:02}  17 State income tax {state}.00",
        ssn = ssn(r),
        ein1 = r.range(10, 99),
        ein2 = r.range(1_000_000, 9_999_999),
        state = wages / 14,
    )
}

const DIAGNOSES: &[&str] = &[
    "Type 2 diabetes mellitus without complications (E11.9)",
    "Major depressive disorder, single episode, moderate (F32.1)",
    "Essential (primary) hypertension (I10)",
    "Generalized anxiety disorder (F41.1)",
    "Asthma, mild intermittent, uncomplicated (J45.20)",
    "Migraine without aura, not intractable (G43.009)",
];
const MEDS: &[&str] = &[
    "Metformin 500 mg tablet, take 1 tablet by mouth twice daily",
    "Sertraline 50 mg tablet, take 1 tablet daily",
    "Lisinopril 10 mg tablet, take 1 tablet once daily",
    "Albuterol 90 mcg inhaler, 2 puffs every 4 hours as needed",
    "Sumatriptan 50 mg tablet, 1 tablet at onset of migraine",
];

/// OCR text of a patient portal's visit summary.
pub fn medical_page(r: &mut Rng) -> String {
    format!(
        "MyHealth Patient Portal - Visit Summary\nPatient: {name}   DOB: {m:02}/{d:02}/{y}   MRN: {mrn}\n\
         Visit date: 05/{vd:02}/2026   Provider: Dr. {doc}\nDiagnosis: {dx}\nMedications: {med}\n\
         Follow-up in {w} weeks. Lab results: HbA1c 7.{a}%",
        name = person_name(r),
        m = r.range(1, 12),
        d = r.range(1, 28),
        y = r.range(1960, 2002),
        mrn = r.range(10_000_000, 99_999_999),
        vd = r.range(1, 28),
        doc = one(r, LAST),
        dx = one(r, DIAGNOSES),
        med = one(r, MEDS),
        w = r.range(2, 12),
        a = r.range(0, 9),
    )
}

/// A password typed into a login form, as a form-capturing collector keeps it.
pub fn credential(r: &mut Rng) -> Value {
    const WORDS: &[&str] = &["Summer", "Falcon", "Orchid", "Granite", "Harbor", "Tulip", "Copper", "Maple"];
    let pw = format!("{}{}{}!", one(r, WORDS), r.range(1970, 2026), one(r, &["x", "Q", "z9", "#a", "Lk"]));
    json!({"login": {"username": format!("{}@example.com", one(r, FIRST).to_lowercase()), "password": pw}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luhn_ok(s: &str) -> bool {
        let d: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
        let sum: u32 = d
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &x)| if i % 2 == 1 { if x * 2 > 9 { x * 2 - 9 } else { x * 2 } } else { x })
            .sum();
        sum.is_multiple_of(10)
    }

    #[test]
    fn cards_pass_luhn_and_ssns_the_ssa_rules() {
        let mut r = Rng::keyed(3, 0, 0, 0);
        for _ in 0..500 {
            let c = card(&mut r);
            assert!(luhn_ok(&c), "{c}");
            let s = ssn(&mut r);
            let area: u32 = s.get(..3).and_then(|a| a.parse().ok()).unwrap_or(0);
            assert!(area != 0 && area != 666 && area < 900, "{s}");
        }
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
