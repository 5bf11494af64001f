use super::ascii_shadow;
use super::*;
use std::sync::OnceLock;

fn det() -> &'static Detectors {
    static D: OnceLock<Detectors> = OnceLock::new();
    D.get_or_init(|| Detectors::builtin().unwrap())
}

fn entities(text: &str) -> Vec<(String, String)> {
    det().scan(text).into_iter().map(|d| (d.entity.clone(), text[d.start..d.end].to_string())).collect()
}

fn find<'a>(ds: &'a [Detection], entity: &str) -> Option<&'a Detection> {
    ds.iter().find(|d| d.entity == entity)
}

fn cats(path: &str) -> Vec<String> {
    det().classify_name(path).into_iter().map(|h| h.category).collect()
}

#[test]
fn builtin_loads_and_lists() {
    let d = det();
    let list = d.list();
    assert!(list.len() > 60);
    assert!(list.iter().any(|i| i.id == "us_ssn" && i.kind == "value"));
    assert!(list.iter().any(|i| i.id == "name_us_ssn" && i.kind == "name"));
    for i in &list {
        if let Some(c) = &i.category {
            assert!(category_ids().contains(c), "{c}");
        }
        assert_eq!(i.origin, "builtin");
        assert!(!i.description.is_empty(), "{} has no description", i.id);
    }
    fn assert_traits<T: Clone + Send + Sync + std::fmt::Debug>() {}
    assert_traits::<Detectors>();
}

#[test]
fn ssn_with_and_without_context() {
    let text = "Here's my SSN: 054-28-6917";
    let ds = det().scan(text);
    let d = find(&ds, "US_SSN").unwrap();
    assert_eq!(&text[d.start..d.end], "054-28-6917");
    assert_eq!(d.category.as_deref(), Some("government_id.us_ssn"));
    let with_ctx = d.confidence;

    let bare = det().scan("054-28-6917");
    let without = find(&bare, "US_SSN").unwrap().confidence;
    assert!(with_ctx > without, "{with_ctx} vs {without}");

    for bad in ["000-12-3456", "666-12-3456", "912-12-3456", "123-00-4567", "123-45-0000"] {
        let ds = det().scan(&format!("SSN: {bad}"));
        assert!(find(&ds, "US_SSN").is_none(), "{bad}");
    }
    // Bare 9 digits only with context.
    assert!(find(&det().scan("054286917"), "US_SSN").is_none());
    assert!(find(&det().scan("ssn 054286917"), "US_SSN").is_some());
}

#[test]
fn itin_not_ssn() {
    let ds = det().scan("ITIN 912-70-1234");
    assert!(find(&ds, "US_ITIN").is_some());
    assert!(find(&ds, "US_SSN").is_none());
}

#[test]
fn cards() {
    let ds = det().scan("My credit card 4111 1111 1111 1111 expires soon");
    let d = find(&ds, "CREDIT_CARD").unwrap();
    assert!(d.confidence >= 0.9);
    assert!(find(&det().scan("card 4111 1111 1111 1112"), "CREDIT_CARD").is_none());
    assert!(find(&det().scan("378282246310005"), "CREDIT_CARD").is_some());
    // Luhn-valid without an issuer.
    assert!(find(&det().scan("card 9111111111111110"), "CREDIT_CARD").is_none());
}

#[test]
fn iban_sin_nino() {
    assert!(find(&det().scan("My IBAN is GB82WEST12345698765432"), "IBAN_CODE").is_some());
    assert!(find(&det().scan("My IBAN is GB82WEST12345698765433"), "IBAN_CODE").is_none());
    assert!(find(&det().scan("my iban is gb42nawi04454264788619"), "IBAN_CODE").is_some());
    let ds = det().scan("SIN: 130-692-544");
    assert!(find(&ds, "CA_SIN").is_some());
    assert!(find(&det().scan("SIN: 130-692-545"), "CA_SIN").is_none());
    assert!(find(&det().scan("social insurance number 130 692 544"), "CA_SIN").is_some());
    // Spaced 3-3-3 without SIN words is not a SIN.
    assert!(find(&det().scan("130 692 544"), "CA_SIN").is_none());
    assert!(find(&det().scan("NI number AB 12 34 56 C"), "UK_NINO").is_some());
    assert!(find(&det().scan("NI number BG 12 34 56 C"), "UK_NINO").is_none());
}

#[test]
fn ip_addresses() {
    let ds = det().scan("client connected from 203.0.113.42 at noon");
    assert_eq!(find(&ds, "IP_ADDRESS").map(|d| d.end - d.start), Some(12));
    assert!(find(&det().scan("from 256.1.1.1"), "IP_ADDRESS").is_none());
    assert!(find(&det().scan("version 1.2.3.4.5"), "IP_ADDRESS").is_none());
    assert!(find(&det().scan("host 2001:db8::8a2e:370:7334"), "IP_ADDRESS").is_some());
    assert!(find(&det().scan("at 12:30:45"), "IP_ADDRESS").is_none());
}

#[test]
fn emails_urls_phones() {
    let e = entities("You said your email is EwanDawson@dayrep.com");
    assert_eq!(e, vec![("EMAIL_ADDRESS".to_string(), "EwanDawson@dayrep.com".to_string())]);
    let e = entities("My website is https://www.GyrateAtrophy.si/");
    assert_eq!(e, vec![("DOMAIN_NAME".to_string(), "https://www.GyrateAtrophy.si/".to_string())]);
    for (text, want) in [
        ("They're not answering at 780-999-2181", "780-999-2181"),
        ("Desk: +1-903-140-4508x769", "+1-903-140-4508x769"),
        ("Phone: 0490 75 40 81", "0490 75 40 81"),
        ("Can someone call me on 9472 7916", "9472 7916"),
        ("Fax: (898)666-3621x0135", "(898)666-3621x0135"),
        ("Phone:\n(08) 8747 6301", "(08) 8747 6301"),
        ("Desk: 5403926876\n", "5403926876"),
    ] {
        let e = entities(text);
        assert!(e.contains(&("PHONE_NUMBER".to_string(), want.to_string())), "{text}: {e:?}");
    }
}

#[test]
fn phone_needs_formatting_or_context() {
    for v in [
        "5403926876",
        "1712345678901",
        "2024-05-01",
        "2024-05-01T12:00:00Z",
        "0.4312",
        "120 95 143 88",
        "550e8400-e29b-41d4-a716-446655440000",
    ] {
        assert!(find(&det().scan(v), "PHONE_NUMBER").is_none(), "{v}: {:?}", det().scan(v));
    }
}

#[test]
fn telemetry_values_stay_clean() {
    let values = [
        "123",
        "0.43",
        "-17",
        "1e-3",
        "88",
        "512,384",
        "x=512 y=384",
        "[120, 95, 143, 88, 101]",
        "120 95 143 88 101",
        "1712345678",
        "1712345678901",
        "1712345678.123",
        "2024-05-01T12:34:56.789Z",
        "2024-05-01 12:34:56",
        "12:34:56",
        "Mon, 01 May 2024 12:34:56 GMT",
        "btn-submit-42",
        "ui.sidebar.nav.settings",
        "element#main > div.card:nth-child(3)",
        "550e8400-e29b-41d4-a716-446655440000",
        "a3f9c2e1",
        "keydown",
        "KeyA",
        "Shift",
        "mousemove",
        "true",
        "false",
        "null",
        "en-US",
        "America/New_York",
        "1920x1080",
        "10.0.19041",
        "v1.2.3",
        "chrome.exe",
        "com.apple.Safari",
        "{\"x\": 512, \"y\": 384, \"t\": 1712345678901}",
        "{\"interval_ms\": 143, \"key_down_ms\": 88}",
        "page_view",
        "session_7f3a9b2c",
        "42.3601,-71.0589",
        "0.5,0.25",
        "#3366ff",
        "rgb(51, 102, 255)",
        "100%",
        "3.14159265358979",
        "user_12345",
        "evt_01HZX3Y6P2K9",
        "window.location",
        "main.py",
        "README.md",
    ];
    for v in values {
        let ds = det().scan(v);
        assert!(ds.is_empty(), "{v:?} -> {ds:?}");
    }
}

#[test]
fn secrets() {
    for (text, entity) in [
        ("aws key AKIAIOSFODNN7EXAMPLE", "SECRET"),
        ("token ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "SECRET"),
        ("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "SECRET"),
        ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "SECRET"),
        ("AIzaSyA-1234567890abcdefghijklmnopqrstu", "SECRET"),
        ("password=hunter2!", "PASSWORD"),
        ("postgres://admin:s3cr3tPass@db.internal:5432/app", "PASSWORD"),
        (
            "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
            "JWT",
        ),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", "PRIVATE_KEY"),
    ] {
        let ds = det().scan(text);
        assert!(find(&ds, entity).is_some(), "{text}: {ds:?}");
    }
    // Password span is the value only; placeholders are ignored.
    let text = "password: hunter2!";
    let ds = det().scan(text);
    let d = find(&ds, "PASSWORD").unwrap();
    assert_eq!(&text[d.start..d.end], "hunter2!");
    assert!(find(&det().scan("password: ********"), "PASSWORD").is_none());
    assert!(find(&det().scan("password=${DB_PASSWORD}"), "PASSWORD").is_none());
}

#[test]
fn conversations_and_transcripts() {
    let chat = "Alice: hey, are we still on for lunch?\nBob: yes, 12:30 works\nAlice: great, see you there";
    let ds = det().scan(chat);
    let d = find(&ds, "CHAT").unwrap();
    assert_eq!((d.start, d.end), (0, chat.len()));
    assert_eq!(d.category.as_deref(), Some("content.chat"));
    assert!(find(&ds, "FREE_TEXT").is_none());

    let tr = "[00:01:02] Bob: Let's get started.\n[00:01:09] Carol: Sure, I shared the deck.\n[00:01:15] Bob: Thanks.";
    let ds = det().scan(tr);
    assert!(find(&ds, "TRANSCRIPT").is_some(), "{ds:?}");
    assert!(find(&ds, "CHAT").is_none(), "transcript supersedes chat");

    let diar = "SPEAKER_00: hello there\nSPEAKER_01: hi\nSPEAKER_00: how are you";
    assert!(find(&det().scan(diar), "TRANSCRIPT").is_some());

    // A contact card is not a conversation.
    let form = "Name: Toshimi Arata\nPhone: 0490 75 40 81\nE-mail: x@example.com\nWebsite: https://example.com/";
    assert!(find(&det().scan(form), "CHAT").is_none());
    // One speaker line is not a conversation.
    assert!(find(&det().scan("Alice: hello"), "CHAT").is_none());
}

#[test]
fn long_free_text() {
    let text = "I have been thinking about the plan for next quarter and I am not sure that we \
                have the right people in the right places. The team is doing well, but there is \
                a lot of work to do and we should talk about it on Monday when everyone is back \
                from the offsite in the mountains.";
    let ds = det().scan(text);
    let d = find(&ds, "FREE_TEXT").unwrap();
    assert_eq!(d.category.as_deref(), Some("content.free_text"));
    // Short prose is not flagged.
    assert!(det().scan("see you on Monday").is_empty());
}

#[test]
fn health_tax_performance() {
    let text = "Patient was diagnosed with type 2 diabetes (ICD-10 E11.9) and hypertension.";
    let ds = det().scan(text);
    let h: Vec<_> = ds.iter().filter(|d| d.entity == "HEALTH").collect();
    assert!(!h.is_empty(), "{ds:?}");
    assert!(h.iter().any(|d| d.category.as_deref() == Some("health.diagnosis")));

    let rx = "Prescribed sertraline 50 mg once daily, refill in 30 days.";
    let ds = det().scan(rx);
    assert!(ds.iter().any(|d| d.category.as_deref() == Some("health.medication")), "{ds:?}");

    let tax = "Attached my Form 1040 and W-2; adjusted gross income was $84,000.";
    let ds = det().scan(tax);
    let d = find(&ds, "TAX_FORM").unwrap();
    assert_eq!(d.category.as_deref(), Some("financial.tax"));
    assert!(find(&det().scan("Let's schedule a meeting"), "TAX_FORM").is_none());

    let review = "Overall: meets expectations. Rating: 3/5. Areas for improvement: communication.";
    let ds = det().scan(review);
    let d = find(&ds, "PERFORMANCE_REVIEW").unwrap();
    assert_eq!(d.category.as_deref(), Some("employment.performance"));
    assert!(find(&det().scan("She was put on a performance improvement plan."), "PERFORMANCE_REVIEW").is_some());
    // One disease word in passing is not health content.
    assert!(find(&det().scan("The build was a disaster"), "HEALTH").is_none());
}

#[test]
fn dob_needs_context() {
    assert!(find(&det().scan("She was born on 7/30/1964"), "DATE_TIME").is_some());
    assert!(find(&det().scan("7/30/1964"), "DATE_TIME").is_none());
}

#[test]
fn overlap_keeps_best() {
    // The email's domain is not reported separately.
    let e = entities("contact jane.doe@example.com today");
    assert_eq!(e.len(), 1, "{e:?}");
    // Spans are sorted and disjoint among token-level detections.
    let ds = det().scan("SSN 054-28-6917, card 4111111111111111, ip 10.1.2.3");
    assert_eq!(ds.len(), 3, "{ds:?}");
    for w in ds.windows(2) {
        assert!(w[0].end <= w[1].start);
    }
}

#[test]
fn scan_cap() {
    let mut text = "a ".repeat(40_000);
    text.push_str("SSN: 054-28-6917");
    assert!(find(&det().scan(&text), "US_SSN").is_none(), "beyond 64 KiB");
    assert!(find(&det().scan_with_limit(&text, 200_000), "US_SSN").is_some());
    // Cap inside a multi-byte char does not panic.
    let s = "é".repeat(10);
    let _ = det().scan_with_limit(&s, 5);
}

#[test]
fn name_classification() {
    let cases: &[(&str, &str)] = &[
        ("employee.ssn", "government_id.us_ssn"),
        ("user.SSN", "government_id.us_ssn"),
        ("socialSecurityNumber", "government_id.us_ssn"),
        ("person.dob", "contact.date_of_birth"),
        ("birthDate", "contact.date_of_birth"),
        ("tax_id", "government_id.tax_id"),
        ("payment.cardNumber", "financial.payment_card"),
        ("card-number", "financial.payment_card"),
        ("meeting.transcript", "content.transcript"),
        ("chat.messages[].body", "content.chat"),
        ("chat.text", "content.chat"),
        ("message_body", "content.chat"),
        ("patient.diagnosis", "health.diagnosis"),
        ("auth.password", "credentials.password"),
        ("config.api_key", "credentials.api_key"),
        ("apiKey", "credentials.api_key"),
        ("capture.ocr_text", "content.screen_text"),
        ("frames[].screenshot", "content.screen_capture"),
        ("user.email", "contact.email"),
        ("contact.phoneNumber", "contact.phone"),
        ("employee.salary", "financial.payroll"),
        ("review.performance_rating", "employment.performance"),
        ("gps.lat", "location.precise"),
        ("input.keystrokes[].interval_ms", "behavior.input.keystroke_timing"),
        ("pointer.x", "behavior.input.pointer"),
        ("mouse_x", "behavior.input.pointer"),
        ("ui.element_id", "behavior.app_interaction"),
        ("active_window_title", "behavior.app_usage"),
        ("visited_urls[]", "behavior.browsing"),
        ("client_ip", "location.ip_address"),
        ("employee_id", "employment.employee_id"),
        ("user.first_name", "contact.name"),
        ("employee.name", "contact.name"),
        ("keystrokes[].key", "content.typed_text"),
        ("email.body", "content.email"),
        ("user.address.street", "contact.address"),
        ("iban", "financial.bank_account"),
        ("face_embedding", "biometric.face"),
        ("EMPLOYEE_SSN.value", "government_id.us_ssn"),
    ];
    for (path, want) in cases {
        let got = cats(path);
        assert!(got.iter().any(|c| c == want), "{path}: {got:?}");
    }
}

#[test]
fn name_false_friends() {
    let clean: &[&str] = &[
        "session_id",
        "sessionId",
        "chat.message_count",
        "chat_duration_ms",
        "chat.messages[].sent_at",
        "chat_id",
        "message_id",
        "is_email_verified",
        "email_verified",
        "passwordless_enabled",
        "has_password",
        "password_changed_at",
        "transcript_length",
        "ssn_verified",
        "app.name",
        "file_name",
        "event_name",
        "ip_address_count",
        "device.fingerprint",
        "browser_fingerprint",
        "angle.sin",
        "usage.prompt_tokens",
        "filter.condition",
        "event.type",
        "screen.width",
    ];
    for path in clean {
        let got = cats(path);
        let content: Vec<_> = got.iter().filter(|c| !c.starts_with("behavior.")).collect();
        assert!(content.is_empty(), "{path}: {got:?}");
    }
    // Keystroke interval and pointer x are telemetry, not content.
    for path in ["input.keystrokes[].interval_ms", "pointer.x", "pointer.y"] {
        let got = cats(path);
        assert!(got.iter().all(|c| c.starts_with("behavior.")), "{path}: {got:?}");
    }
    assert!(cats("ip_address").contains(&"location.ip_address".to_string()));
    assert!(!cats("ip_address").contains(&"contact.address".to_string()));
}

#[test]
fn redaction() {
    let d = |entity: &str, cat: Option<&str>, text: &str| Detection {
        detector: "t".into(),
        entity: entity.into(),
        category: cat.map(Into::into),
        start: 0,
        end: text.len(),
        confidence: 0.9,
    };
    let t = "123-45-3309";
    assert_eq!(redact(&d("US_SSN", None, t), t), "***-**-3309");
    let t = "4111111111111111";
    assert_eq!(redact(&d("CREDIT_CARD", None, t), t), "****-****-****-1111");
    let t = "jane.doe@example.com";
    assert_eq!(redact(&d("EMAIL_ADDRESS", None, t), t), "j***@example.com");
    let t = "(555) 123-4567";
    assert_eq!(redact(&d("PHONE_NUMBER", None, t), t), "(***) ***-**67");
    let t = "AKIAIOSFODNN7EXAMPLEAKIAIOSFODNN7EXAMPLE";
    assert_eq!(redact(&d("SECRET", Some("credentials.api_key"), t), t), "<api key, 40 chars>");
    let t = "x".repeat(412);
    assert_eq!(redact(&d("TRANSCRIPT", Some("content.transcript"), &t), &t), "<transcript, 412 chars>");
    // Ids never reveal more than the last 4 characters.
    for (entity, t) in [
        ("IBAN_CODE", "GB82WEST12345698765432"),
        ("UK_NINO", "AB 12 34 56 C"),
        ("CA_SIN", "130-692-544"),
        ("US_ITIN", "912-70-1234"),
        ("US_SSN", "054286917"),
        ("CREDIT_CARD", "378282246310005"),
        ("IP_ADDRESS", "203.0.113.42"),
        ("PHONE_NUMBER", "+1-984-182-0190"),
    ] {
        let r = redact(&d(entity, None, t), t);
        let revealed = r.chars().filter(|c| c.is_alphanumeric()).count();
        assert!(revealed <= 4, "{entity} {t} -> {r}");
        assert!(!r.contains(&t[..t.len() - 4]), "{entity} {t} -> {r}");
    }
    // Out-of-range spans do not panic.
    let bad = Detection { start: 5, end: 50, ..d("US_SSN", None, "x") };
    assert_eq!(redact(&bad, "short"), "<redacted>");
}

#[test]
fn custom_yaml() {
    let mut d = Detectors::builtin().unwrap();
    let yaml = "detectors:\n  - id: acme_badge\n    kind: value\n    entity: ACME_BADGE\n    category: employment.employee_id\n    pattern: '\\bACME-[0-9]{6}\\b'\n    confidence: 0.9\n    description: ACME badge number\n";
    d.add_yaml(yaml, "acme.yaml").unwrap();
    let ds = d.scan("badge ACME-123456 scanned");
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0].detector, "acme_badge");
    assert!(d.list().iter().any(|i| i.id == "acme_badge" && i.origin == "acme.yaml"));
    // Name rules too.
    let yaml = "detectors:\n  - id: acme_name_badge\n    kind: name\n    category: employment.employee_id\n    pattern: '\\bbadge ?code\\b'\n";
    d.add_yaml(yaml, "acme2.yaml").unwrap();
    assert!(d.classify_name("door.badgeCode").iter().any(|h| h.rule == "acme_name_badge"));
}

#[test]
fn custom_yaml_errors() {
    let mut d = Detectors::builtin().unwrap();
    // Typo'd key.
    let yaml = "detectors:\n  - id: acme\n    kind: value\n    entity: X\n    patern: 'abc'\n";
    let err = d.add_yaml(yaml, "team.yaml").unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("team.yaml:5:"), "{msg}");
    assert!(msg.contains("patern"), "{msg}");
    let pos = err.position().unwrap();
    assert_eq!((pos.origin.as_str(), pos.line), ("team.yaml", 5));
    assert!(matches!(&err, DetectorError::Yaml { help: Some(h), .. } if h.contains("pattern")));

    // Bad regex.
    let yaml = "detectors:\n  - id: acme\n    kind: value\n    entity: X\n    pattern: '(abc'\n";
    let msg = d.add_yaml(yaml, "team.yaml").unwrap_err().to_string();
    assert!(msg.starts_with("team.yaml:5:"), "{msg}");
    assert!(msg.contains("acme"), "{msg}");

    // Unknown validator with a suggestion.
    let yaml = "detectors:\n  - id: acme\n    kind: value\n    entity: X\n    pattern: 'abc'\n    validator: lunh\n";
    let msg = d.add_yaml(yaml, "team.yaml").unwrap_err().to_string();
    assert!(msg.starts_with("team.yaml:6:"), "{msg}");
    assert!(msg.contains("did you mean `luhn`"), "{msg}");

    // Unknown category.
    let yaml = "detectors:\n  - id: acme\n    kind: value\n    entity: X\n    category: governmentid.us_ssn\n    pattern: 'abc'\n";
    let msg = d.add_yaml(yaml, "team.yaml").unwrap_err().to_string();
    assert!(msg.contains("government_id.us_ssn"), "{msg}");

    // Duplicate id with a builtin.
    let yaml = "detectors:\n  - id: us_ssn\n    kind: value\n    entity: X\n    pattern: 'abc'\n";
    let msg = d.add_yaml(yaml, "team.yaml").unwrap_err().to_string();
    assert!(msg.contains("duplicate"), "{msg}");

    // Nothing was added by the failed loads.
    assert_eq!(d.list().len(), Detectors::builtin().unwrap().list().len());
}

#[test]
fn regex_errors_name_their_detector_and_line() {
    let mut d = Detectors::builtin().unwrap();
    let n = d.list().len();
    // The second detector's pattern, held by the prefilter set that checks it.
    let yaml = "detectors:\n  - id: fine\n    kind: value\n    entity: X\n    pattern: 'abc'\n  - id: broken\n    kind: value\n    entity: Y\n    pattern: '[a-'\n";
    let err = d.add_yaml(yaml, "team.yaml").unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("team.yaml:9:"), "{msg}");
    assert!(msg.contains("`broken`") && msg.contains("`pattern`") && msg.contains("unclosed character class"), "{msg}");
    // A name rule's pattern and its `parent`.
    let yaml = "detectors:\n  - id: rule\n    kind: name\n    category: health.medication\n    pattern: 'chart('\n";
    let msg = d.add_yaml(yaml, "n.yaml").unwrap_err().to_string();
    assert!(msg.starts_with("n.yaml:5:"), "{msg}");
    let yaml = "detectors:\n  - id: rule\n    kind: name\n    category: health.medication\n    pattern: 'chart'\n    parent: '(?P<'\n";
    let msg = d.add_yaml(yaml, "n.yaml").unwrap_err().to_string();
    assert!(msg.starts_with("n.yaml:6:") && msg.contains("`parent`"), "{msg}");
    // Valid syntax, too large once compiled: found by compiling the new patterns alone.
    let yaml = "detectors:\n  - id: huge\n    kind: value\n    entity: X\n    pattern: '(?:\\w{200}){200}'\n";
    let msg = d.add_yaml(yaml, "big.yaml").unwrap_err().to_string();
    assert!(msg.starts_with("big.yaml:5:") && msg.contains("`huge`") && msg.contains("size limit"), "{msg}");
    // Context words beyond what a regex may hold.
    let words: Vec<String> = (0..9000).map(|i| format!("      - word{i}\n")).collect();
    let yaml = format!(
        "detectors:\n  - id: chatty\n    kind: value\n    entity: X\n    pattern: 'abc'\n    context:\n{}",
        words.concat()
    );
    let msg = d.add_yaml(&yaml, "ctx.yaml").unwrap_err().to_string();
    assert!(msg.starts_with("ctx.yaml:6:") && msg.contains("more than the 64 KiB allowed"), "{msg}");
    assert_eq!(d.list().len(), n);
}

#[test]
fn regexes_compile_on_first_use_and_prepare_compiles_them_all() {
    let d = Detectors::empty().unwrap();
    let mut d = d;
    d.add_yaml(BUILTIN_YAML, BUILTIN_NAME).unwrap();
    let lazies = |d: &Detectors| -> Vec<(String, bool)> {
        let values = d.values.iter().flat_map(|v| [&v.regex, &v.context, &v.negative]).flatten();
        let names = d.names.iter().flat_map(|n| [Some(&n.regex), n.parent.as_ref(), n.not_parent.as_ref()]).flatten();
        values.chain(names).map(|r| (r.as_str().to_string(), r.is_compiled())).collect()
    };
    assert!(lazies(&d).iter().all(|(_, c)| !c), "nothing is compiled at load");
    let ssn = d.values.iter().find(|v| v.id == "us_ssn").unwrap();
    assert!(!ssn.regex.as_ref().unwrap().is_compiled());
    assert_eq!(d.scan("ssn 123-45-6789").first().map(|x| x.detector.as_str()), Some("us_ssn"));
    assert!(ssn.regex.as_ref().unwrap().is_compiled(), "a detector's regex compiles when its prefilter matches");
    let compiled = lazies(&d).iter().filter(|(_, c)| *c).count();
    assert!(compiled < lazies(&d).len() / 4, "one short text compiles a few regexes, not {compiled}");
    // Clones share what is compiled.
    let clone = d.clone();
    clone.prepare();
    assert!(lazies(&d).iter().all(|(_, c)| *c), "prepare compiles every regex");
    assert!(clone.blocked.get().is_some_and(Option::is_some), "and the block prefilters");
}

#[test]
fn a_regex_that_does_not_compile_fails_closed() {
    // Cannot happen through `add_yaml` (see `LazyRegex`): forced here by swapping in a pattern
    // that does not compile behind a prefilter that matches.
    let mut d = Detectors::empty().unwrap();
    let yaml = "detectors:\n  - id: badge\n    kind: value\n    entity: BADGE\n    pattern: 'B-[0-9]{4}'\n    confidence: 0.6\n    context: [badge]\n    negative_context: [test]\n    min_confidence: 0.7\n  - id: rule\n    kind: name\n    category: employment.employee_id\n    pattern: 'badge'\n    not_parent: 'test'\n";
    d.add_yaml(yaml, "t.yaml").unwrap();
    let text = "door B-1234 test";
    // Without context the score stays under min_confidence; the negative word would lower it.
    assert!(d.scan(text).is_empty());
    assert!(d.classify_name("test.badge").is_empty());
    let broken = spec::LazyRegex::unchecked("(");
    d.values[0].context = Some(broken.clone());
    d.values[0].negative = Some(broken.clone());
    let found = d.scan(text);
    assert_eq!(found.len(), 1, "context words count as present, negative ones as absent: {found:?}");
    assert_eq!(&text[found[0].start..found[0].end], "B-1234");
    d.values[0].regex = Some(broken.clone());
    let found = d.scan(text);
    assert_eq!((found.len(), found[0].start, found[0].end), (1, 0, text.len()), "the whole text is the detection");
    d.names[0].not_parent = Some(broken.clone());
    assert_eq!(d.classify_name("test.badge").len(), 1, "a broken `not_parent` excludes nothing");
    d.names[0].regex = broken;
    assert_eq!(d.classify_name("door.badge").len(), 1, "a broken name pattern matches the name");
}

#[test]
fn builtin_yaml_matches_presidio_style_samples() {
    // A few formats from the Presidio synthetic corpus templates.
    for (text, entity, value) in [
        ("My IBAN is GB31YGJR46272857822446", "IBAN_CODE", "GB31YGJR46272857822446"),
        ("His social security number is 853-37-1694", "US_SSN", "853-37-1694"),
        ("What is the limit for card 30436162440986", "CREDIT_CARD", "30436162440986"),
        ("card number 675984103431", "CREDIT_CARD", "675984103431"),
        ("keep getting address 41.173.96.26", "IP_ADDRESS", "41.173.96.26"),
        ("my driver's license number is 2270-66-1551", "US_DRIVER_LICENSE", "2270-66-1551"),
        ("My driver's license number is F162823540116", "US_DRIVER_LICENSE", "F162823540116"),
    ] {
        let e = entities(text);
        assert!(e.contains(&(entity.to_string(), value.to_string())), "{text}: {e:?}");
    }
}

#[test]
fn non_ascii_text() {
    // The prefilter runs on an ASCII shadow of non-ASCII text; detections
    // and offsets still refer to the real text.
    let text = "Éva: bonjour, ça va ?\nMégane: très bien, merci\nÉva: on se voit à 12h ?";
    let ds = det().scan(text);
    let d = find(&ds, "CHAT").unwrap();
    assert_eq!((d.start, d.end), (0, text.len()));
    let text = "Téléphone : +33 6 12 34 56 78, courriel é.dupont@exemple.fr — merci";
    let e = entities(text);
    assert!(e.contains(&("PHONE_NUMBER".to_string(), "+33 6 12 34 56 78".to_string())), "{e:?}");
    let text = "Номер карты 4111 1111 1111 1111, ИНН нет";
    let e = entities(text);
    assert!(e.contains(&("CREDIT_CARD".to_string(), "4111 1111 1111 1111".to_string())), "{e:?}");
    assert_eq!(ascii_shadow("Éa1 ٣—x"), "Aa1 0~x");
}

#[test]
fn headers_and_config_are_not_chat() {
    for text in [
        "Content-Type: text/html\nAccept: */*\nUser-Agent: curl/8.0\nCookie: a=b",
        "From: Jane <jane@example.com>\nTo: Bob <bob@example.com>\nSubject: Lunch\nDate: Mon, 1 May 2024",
        "ERROR: disk full\nWARN: retrying\nINFO: done",
    ] {
        let ds = det().scan(text);
        assert!(find(&ds, "CHAT").is_none(), "{text}: {ds:?}");
    }
}

/// Long texts made of the corpora's texts, one after another on lines of their own (and run
/// together on one line): the blocked scan finds exactly what the whole-text scan finds.
#[test]
fn blocks_find_what_the_whole_text_finds() {
    let d = det();
    let texts = corpus_texts();
    assert!(texts.len() > 1000, "{}", texts.len());
    let mut checked = 0;
    for (k, size) in [(1usize, 3usize), (7, 8), (3, 20), (11, 60)] {
        for group in texts.chunks(size).skip(k % 2) {
            for sep in ["\n", " ", "\r\n", "\n\n"] {
                let long = group.join(sep);
                if long.len() < blocks::BLOCKED_MIN_BYTES {
                    continue;
                }
                let whole = d.scan_inner(&long, MAX_SCAN_BYTES, false);
                let blocked = d.scan_inner(&long, MAX_SCAN_BYTES, true);
                assert_eq!(blocked, whole, "{long}");
                checked += 1;
            }
        }
    }
    assert!(checked > 200, "{checked}");
}

/// The same on generated data the detectors were not written against: the free text of one day
/// of the `assistant` scenario (transcripts, chats, W-2 and patient-portal OCR), its long strings
/// joined in runs of about 4 KiB.
#[test]
fn blocks_find_what_the_whole_text_finds_on_generated_text() {
    let d = det();
    let (mut long, mut checked) = (String::new(), 0);
    for v in &generated_strings() {
        long.push_str(v);
        long.push('\n');
        if long.len() >= 4096 {
            assert_eq!(d.scan_inner(&long, MAX_SCAN_BYTES, true), d.scan_inner(&long, MAX_SCAN_BYTES, false), "{long}");
            long.clear();
            checked += 1;
        }
    }
    assert!(checked >= 100, "{checked}");
}

#[test]
fn pattern_sets_answer_as_regex_sets_and_prefilters_miss_nothing() {
    let d = det();
    let mut texts = corpus_texts();
    // Non-ASCII text (where the lazy DFA gives up on Unicode word boundaries), names, and
    // fragments cut anywhere.
    texts.extend(
        ["Ünïcode naïve café — Dana García: 123-45-6789 ☎ +1 415 555 0132", "", " ", "émile.zola@exemple.fr"]
            .map(String::from),
    );
    let shadows: Vec<String> = texts.iter().filter(|t| !t.is_ascii()).map(|t| ascii_shadow(t)).collect();
    let cuts: Vec<String> = texts.iter().step_by(7).flat_map(|t| t.split(['.', ',', '\n']).map(String::from)).collect();
    let names: Vec<String> =
        ["ssn", "employee ssn", "chat messages body", "patient diagnosis code", "x", "tax return w2"]
            .map(String::from)
            .to_vec();
    let value_patterns: Vec<&str> = d.set_index.iter().map(|&i| d.values[i].regex.as_ref().unwrap().as_str()).collect();
    let name_patterns: Vec<&str> = d.names.iter().map(|n| n.regex.as_str()).collect();
    let b = d.blocked().unwrap();
    let line_patterns: Vec<&str> = b.line_index.iter().map(|&i| d.values[i].regex.as_ref().unwrap().as_str()).collect();
    let exact = |p: &[&str], dfa: usize| set::PatternSet::new(p, PREFILTER_SIZE_LIMIT, dfa).unwrap();
    let mut checked = 0;
    let mut widened = 0;
    for (prefilter, patterns) in
        [(&d.set, &value_patterns), (&d.name_set, &name_patterns), (&b.line_set, &line_patterns)]
    {
        let theirs = regex::RegexSetBuilder::new(patterns).size_limit(PREFILTER_SIZE_LIMIT).build().unwrap();
        // The exact set, also with a cache too small for any state (every search falls back to
        // the PikeVM).
        for ours in [exact(patterns, PREFILTER_DFA_LIMIT), exact(patterns, 1)] {
            assert_eq!((ours.len(), prefilter.len()), (theirs.len(), theirs.len()));
            for t in texts.iter().chain(&shadows).chain(&cuts).chain(&names) {
                assert_eq!(ours.is_match(t), theirs.is_match(t), "{t}");
                let a: Vec<usize> = ours.matches(t).iter().collect();
                assert_eq!(a, theirs.matches(t).iter().collect::<Vec<_>>(), "{t}");
                // The prefilter the detectors use answers at least as much.
                let p: Vec<usize> = prefilter.matches(t).iter().collect();
                assert!(a.iter().all(|k| p.contains(k)), "prefilter {p:?} misses some of {a:?}: {t}");
                assert!(prefilter.is_match(t) || !theirs.is_match(t), "{t}");
                checked += usize::from(!a.is_empty());
                widened += p.len() - a.len();
            }
        }
    }
    // Widening costs some extra detector runs, not a useless prefilter (about 0.28 extra patterns
    // flagged per text with a match, on these corpora).
    assert!(widened * 2 < checked, "{widened} extra of {checked}");
    assert!(checked > 2000, "{checked}");
}

#[test]
fn prefilters_drop_the_upper_bounds_of_ranges_only() {
    const TEXTS: [&str; 7] = [
        "ab",
        "a",
        "aaaa",
        "aaaaaaaaaaaaaaaaaaaaaaaa",
        "b",
        "https://u:pwd1@h",
        "schemethatisverylongindeed://u:pwd1@h",
    ];
    // The texts the prefilter of `pattern` lets through that the pattern itself does not match.
    let widened = |pattern: &str| -> Vec<&str> {
        let set = set::PatternSet::prefilter(&[pattern], PREFILTER_SIZE_LIMIT, PREFILTER_DFA_LIMIT).unwrap();
        let exact = regex::Regex::new(pattern).unwrap();
        assert!(TEXTS.iter().all(|t| set.is_match(t) || !exact.is_match(t)), "{pattern} lost a match");
        TEXTS.into_iter().filter(|t| set.is_match(t) && !exact.is_match(t)).collect()
    };
    // `{1,3}` loses its bound: longer runs pass the prefilter (the detector's own regex decides).
    assert_eq!(widened(r"^a{1,3}$"), ["aaaa", "aaaaaaaaaaaaaaaaaaaaaaaa"]);
    // Exact counts, `?`, `*`, `+` and `{m,}` keep their meaning.
    for p in [r"^a{4}$", r"^ab?$", r"^a*$", r"^a+b$", r"^a{2,}$"] {
        assert!(widened(p).is_empty(), "{p}");
    }
    // The built-in detector whose range cost the most DFA states: its prefilter takes any scheme.
    let url = r"(?i)\b[a-z][a-z0-9+.\-]{1,15}://[^\s:/@]+:(?P<v>[^\s:/@]{3,})@";
    assert_eq!(widened(url), ["schemethatisverylongindeed://u:pwd1@h"]);
}

/// What `regex` finds for `re` in `hay`: the spans of group `v` (or of the match), left to right.
fn regex_spans(re: &regex::Regex, hay: &str) -> Vec<(usize, usize)> {
    if re.capture_names().flatten().any(|n| n == "v") {
        re.captures_iter(hay).filter_map(|c| c.name("v").or_else(|| c.get(0))).map(|m| (m.start(), m.end())).collect()
    } else {
        re.find_iter(hay).map(|m| (m.start(), m.end())).collect()
    }
}

fn line_spans(lazy: &spec::LazyRegex, hay: &str) -> Vec<(usize, usize)> {
    lazy.lines().unwrap().matches(hay)
}

#[test]
fn which_patterns_are_searched_line_by_line() {
    for p in [r"(?m)^a", r"(?m)^[ \t]*(?P<v>\p{Lu}\w*):", r"(?m)((?:^)x)", r"(?m)(?P<v>^a)"] {
        assert!(lines::line_anchored(&spec::parse(p).unwrap()), "{p}");
    }
    // Not at every match's start, empty matches, the text's start only, CRLF lines.
    for p in [
        r"(?m)a^",
        r"(?m)(^a|b)",
        r"(?ms)^a.*b",
        r"(?m)^a\s*b",
        r"(?m)^[^x]+y",
        r"(?m)^",
        r"(?m)^a*",
        r"^a",
        r"\Aa",
        r"(?mR)^a",
        r"a(?m)^b",
        r"(?m)\b^a",
    ] {
        assert!(!lines::line_anchored(&spec::parse(p).unwrap()), "{p}");
    }
    let twin = lines::ascii_classes(&spec::parse(r"(?m)^(?P<v>\p{Lu}[\p{L}0-9é]*)\s*.").unwrap());
    assert_eq!(twin, spec::parse(r"(?m)^(?P<v>[A-Z][0-9A-Za-z]*)[\t-\r ]*[\x00-\t\x0B-\x7F]").unwrap());
    let builtin: Vec<&str> = det()
        .values
        .iter()
        .filter(|d| d.regex.as_ref().is_some_and(|r| r.lines().is_some()))
        .map(|d| d.id.as_str())
        .collect();
    for id in ["chat_turns", "transcript_timestamped", "transcript_speaker_labels", "chat_irc"] {
        assert!(builtin.contains(&id), "{id} in {builtin:?}");
    }
}

/// Texts for holding the fast scan to the reference: the corpora, chats and transcripts made
/// of turn-like lines (CRLF and blank lines, indented turns, non-ASCII names, no final
/// newline), and the strings of 200 bytes or more of generated data (the `assistant`
/// scenario's first day: chats, transcripts, W-2 and patient-portal OCR).
fn scan_texts() -> &'static [String] {
    static TEXTS: OnceLock<Vec<String>> = OnceLock::new();
    TEXTS.get_or_init(|| {
        let mut texts = corpus_texts();
        let turns = [
            "Alice: hi there",
            "  [00:01:02] Bob Smith: sure",
            "(10:02 AM) Émile: d'accord",
            "<dana> ok",
            "SPEAKER 1: yes",
            "Name: Dana García",
            "bob: lower case",
            "Ünal Öz:  merhaba",
            "[00:00:05.120] - José María: hola",
            "",
            "   ",
            "Q: what? A: this",
            "Dr. Bob: x",
            "the quick brown fox jumps over the lazy dog and then it is not a turn at all, is it?",
        ];
        for (k, sep) in ["\n", "\r\n", "\n\n", " \n", "\n\t"].iter().enumerate() {
            for n in 1..turns.len() {
                let rotated: Vec<&str> = turns.iter().cycle().skip(k + n).take(n + 3).copied().collect();
                texts.push(rotated.join(sep));
                texts.push(format!("{sep}{}{sep}", rotated.join(sep)));
            }
        }
        texts.extend(generated_strings());
        texts
    })
}

/// The texts of both corpora (the Presidio dev split, our employee-monitoring corpus).
fn corpus_texts() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut texts: Vec<String> = Vec::new();
    for file in ["tests/corpus/presidio/synth_dataset_v2.dev.json", "tests/corpus/monitoring.json"] {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(root.join(file)).unwrap()).unwrap();
        texts.extend(v.as_array().unwrap().iter().filter_map(|r| r["full_text"].as_str().map(str::to_string)));
    }
    texts
}

/// Generated data the detectors were not written against: the strings of 200 bytes or more of
/// the `assistant` scenario's first day (transcripts, chats, W-2 and patient-portal OCR), from
/// its first events until there are 1,500 or more.
fn generated_strings() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let scenario = std::fs::read_to_string(root.join("fixtures/scenarios/assistant.yaml")).unwrap();
    let g = crate::generate::Generator::new(&scenario, "assistant.yaml", None).unwrap().with_days(1).unwrap();
    let mut out = Vec::new();
    for i in 0..g.chunks() {
        for line in g.chunk(i).text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            out.extend(json_strings(&v).into_iter().filter(|s| s.len() >= 200));
            if out.len() >= 1500 {
                return out;
            }
        }
    }
    out
}

/// The line-by-line search finds what `regex` finds, for every built-in pattern it serves and
/// for patterns that cross lines or have no group `v`.
#[test]
fn line_searches_find_what_regex_finds() {
    let mut patterns: Vec<spec::LazyRegex> =
        det().values.iter().filter_map(|d| d.regex.clone()).filter(|r| r.lines().is_some()).collect();
    for p in [
        r"(?m)^(?P<v>\w+)[ \t]*:[ \t]*\S",
        r"(?m)^[A-Z]\w*:",
        r"(?m)^(?:[ \t]*\w)+",
        r"(?m)^(?P<v>\p{L}+)?\d",
        r"(?m)^(?P<v>\w+)\b.",
        r"(?m)^(?P<v>[^:\n]+):$",
    ] {
        patterns.push(spec::LazyRegex::unchecked(p));
    }
    let mut compared = 0;
    for lazy in &patterns {
        let re = lazy.get().unwrap();
        for t in scan_texts() {
            assert_eq!(line_spans(lazy, t), regex_spans(re, t), "{} on {t:?}", lazy.as_str());
            compared += 1;
        }
    }
    assert!(compared > 20_000, "{compared}");
}

/// The fast scan (blocks, line-by-line search, validators spared where a detection supersedes
/// theirs) finds what the reference scan finds, on texts of every length.
#[test]
fn fast_scan_finds_what_the_reference_finds() {
    let d = det();
    let mut superseding = 0;
    for t in scan_texts() {
        let fast = d.scan_inner(t, MAX_SCAN_BYTES, true);
        assert_eq!(fast, d.scan_inner(t, MAX_SCAN_BYTES, false), "{t:?}");
        superseding += usize::from(fast.iter().any(|x| x.entity == "CHAT" || x.entity == "TRANSCRIPT"));
    }
    assert!(superseding > 100, "{superseding}");
}

fn json_strings(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a.iter().flat_map(json_strings).collect(),
        serde_json::Value::Object(o) => o.values().flat_map(json_strings).collect(),
        _ => Vec::new(),
    }
}

proptest::proptest! {
    /// The same on any text made of turn-like pieces.
    #[test]
    fn line_searches_agree_on_any_text(
        parts in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just("\n"), proptest::strategy::Just("\r\n"), proptest::strategy::Just(" "),
                proptest::strategy::Just(":"), proptest::strategy::Just(": "), proptest::strategy::Just("["),
                proptest::strategy::Just("]"), proptest::strategy::Just("00:01:02"), proptest::strategy::Just("Bob"),
                proptest::strategy::Just("é"), proptest::strategy::Just("Émile"), proptest::strategy::Just("x"),
                proptest::strategy::Just("<a>"), proptest::strategy::Just("\t"), proptest::strategy::Just("9"),
            ],
            0..40,
        )
    ) {
        let t: String = parts.concat();
        for d in &det().values {
            if let Some(lazy) = d.regex.as_ref().filter(|r| r.lines().is_some()) {
                proptest::prop_assert_eq!(line_spans(lazy, &t), regex_spans(lazy.get().unwrap(), &t), "{}", d.id);
            }
        }
    }
}

proptest::proptest! {
    /// The context windows are the characters a char-by-char walk gives, on any text.
    #[test]
    fn windows_are_characters(t in "[a-c \n:0-9éÉ☎]{0,60}", at in 0usize..80, n in 0usize..12) {
        let mut at = at.min(t.len());
        while !t.is_char_boundary(at) {
            at -= 1;
        }
        let head = &t[..at];
        let start = head.char_indices().rev().nth(n.saturating_sub(1)).map_or(0, |(i, _)| i);
        proptest::prop_assert_eq!(window_before(&t, at, n), &head[start..]);
        let tail = &t[at..];
        let end = tail.char_indices().nth(n).map_or(tail.len(), |(i, _)| i);
        proptest::prop_assert_eq!(window_after(&t, at, n), &tail[..end]);
    }
}

/// A cache small enough to be cleared while a text is walked: the prefilter still names what a
/// `RegexSet` names (a cleared cache hands out the same state ids to other states).
#[test]
fn pattern_sets_answer_alike_when_their_cache_is_cleared() {
    let d = det();
    let patterns: Vec<&str> = d.set_index.iter().map(|&i| d.values[i].regex.as_ref().unwrap().as_str()).collect();
    let theirs = regex::RegexSetBuilder::new(&patterns).size_limit(PREFILTER_SIZE_LIMIT).build().unwrap();
    let mut cleared = false;
    for capacity in [64 << 10, 256 << 10, 1 << 20] {
        let ours = set::PatternSet::new(&patterns, PREFILTER_SIZE_LIMIT, capacity).unwrap();
        for t in scan_texts() {
            let hay = prefilter_hay(t);
            let a: Vec<usize> = ours.matches(&hay).iter().collect();
            assert_eq!(a, theirs.matches(&hay).iter().collect::<Vec<_>>(), "{capacity}: {t}");
        }
        cleared |= ours.dfa_clears() > 3;
    }
    assert!(cleared, "no capacity made the cache clear");
}

/// Whole-text detectors of a team's own that supersede each other: sparing one's validator
/// where the other's detection supersedes it must not change what is found.
#[test]
fn whole_text_detectors_that_supersede_each_other() {
    let mut d = Detectors::builtin().unwrap();
    d.add_yaml(
        r#"
detectors:
  - id: prose_a
    kind: value
    entity: FREE_TEXT
    category: content.free_text
    validator: natural_language
    span: value
    min_len: 100
    confidence: 0.6
    supersedes: [prose_b]
    description: A.
  - id: prose_b
    kind: value
    entity: CHAT
    category: content.chat
    validator: natural_language
    span: value
    min_len: 100
    confidence: 0.6
    supersedes: [prose_a]
    description: B.
"#,
        "team.yaml",
    )
    .unwrap();
    let prose = "The quick brown fox jumps over the lazy dog and then it is not a turn at all, is it? \
        We went to the market and they said that the shop was closed for the day, so we came back.";
    for t in [prose.to_string(), format!("Alice: hi\nBob: {prose}\nAlice: {prose}")] {
        assert_eq!(d.scan_inner(&t, MAX_SCAN_BYTES, true), d.scan_inner(&t, MAX_SCAN_BYTES, false), "{t}");
    }
}
