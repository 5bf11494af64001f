//! The fixed set of validators a detector definition may name.
//!
//! A validator looks at one regex candidate (and, when it needs to, the
//! text around it) and either rejects it or accepts it with a confidence
//! adjustment. Validators never panic and never index out of bounds.

use std::net::Ipv6Addr;

/// Names of all validators, in the order `list` shows them.
pub const VALIDATOR_NAMES: &[&str] = &[
    "luhn",
    "credit_card",
    "iban_mod97",
    "us_ssn",
    "us_itin",
    "ca_sin",
    "uk_nino",
    "ipv4",
    "ipv6",
    "email",
    "domain",
    "url",
    "phone",
    "jwt",
    "entropy",
    "secret_value",
    "date",
    "has_digit",
    "icd10",
    "speaker",
    "timestamped_speaker",
    "natural_language",
];

/// A validator resolved from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    Luhn,
    CreditCard,
    IbanMod97,
    UsSsn,
    UsItin,
    CaSin,
    UkNino,
    Ipv4,
    Ipv6,
    Email,
    Domain,
    Url,
    Phone,
    Jwt,
    Entropy,
    SecretValue,
    Date,
    HasDigit,
    Icd10,
    Speaker,
    TimestampedSpeaker,
    NaturalLanguage,
}

impl Validator {
    pub fn from_name(name: &str) -> Option<Validator> {
        Some(match name {
            "luhn" => Validator::Luhn,
            "credit_card" => Validator::CreditCard,
            "iban_mod97" => Validator::IbanMod97,
            "us_ssn" => Validator::UsSsn,
            "us_itin" => Validator::UsItin,
            "ca_sin" => Validator::CaSin,
            "uk_nino" => Validator::UkNino,
            "ipv4" => Validator::Ipv4,
            "ipv6" => Validator::Ipv6,
            "email" => Validator::Email,
            "domain" => Validator::Domain,
            "url" => Validator::Url,
            "phone" => Validator::Phone,
            "jwt" => Validator::Jwt,
            "entropy" => Validator::Entropy,
            "secret_value" => Validator::SecretValue,
            "date" => Validator::Date,
            "has_digit" => Validator::HasDigit,
            "icd10" => Validator::Icd10,
            "speaker" => Validator::Speaker,
            "timestamped_speaker" => Validator::TimestampedSpeaker,
            "natural_language" => Validator::NaturalLanguage,
            _ => return None,
        })
    }

    /// `Some(adjustment)` to accept the candidate (adjustment is added to
    /// the detector's confidence), `None` to reject it.
    pub fn check(self, cand: &str) -> Option<f32> {
        let ok = |b: bool| if b { Some(0.0) } else { None };
        match self {
            Validator::Luhn => ok(luhn_digits(cand)),
            Validator::CreditCard => credit_card(cand),
            Validator::IbanMod97 => ok(iban(cand)),
            Validator::UsSsn => ok(us_ssn(cand)),
            Validator::UsItin => ok(us_itin(cand)),
            Validator::CaSin => ca_sin(cand),
            Validator::UkNino => ok(uk_nino(cand)),
            Validator::Ipv4 => ok(ipv4(cand)),
            Validator::Ipv6 => ok(ipv6(cand)),
            Validator::Email => ok(email(cand)),
            Validator::Domain => ok(domain(cand, true)),
            Validator::Url => ok(url(cand)),
            Validator::Phone => phone(cand),
            Validator::Jwt => ok(jwt(cand)),
            Validator::Entropy => entropy_check(cand),
            Validator::SecretValue => ok(secret_value(cand)),
            Validator::Date => ok(date(cand)),
            Validator::HasDigit => ok(cand.bytes().any(|b| b.is_ascii_digit())),
            Validator::Icd10 => ok(icd10(cand)),
            Validator::Speaker => ok(speaker(cand, false)),
            Validator::TimestampedSpeaker => ok(speaker(cand, true)),
            Validator::NaturalLanguage => natural_language(cand),
        }
    }
}

fn digits(s: &str) -> Vec<u8> {
    s.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect()
}

/// Luhn (mod 10) checksum over the digits of `s` (non-digits ignored).
pub fn luhn_digits(s: &str) -> bool {
    let d = digits(s);
    luhn(&d)
}

pub fn luhn(d: &[u8]) -> bool {
    if d.len() < 2 {
        return false;
    }
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &n)| {
            let n = u32::from(n);
            if i % 2 == 1 {
                let x = n * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                n
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Issuer ranges: (prefix low, prefix high, number of prefix digits, allowed lengths).
const CARD_RANGES: &[(u32, u32, usize, &[usize])] = &[
    (4, 4, 1, &[13, 16, 19]),                       // Visa
    (51, 55, 2, &[16]),                             // Mastercard
    (2221, 2720, 4, &[16]),                         // Mastercard 2-series
    (34, 34, 2, &[15]),                             // Amex
    (37, 37, 2, &[15]),                             // Amex
    (6011, 6011, 4, &[16, 17, 18, 19]),             // Discover
    (644, 649, 3, &[16, 17, 18, 19]),               // Discover
    (65, 65, 2, &[16, 17, 18, 19]),                 // Discover
    (622_126, 622_925, 6, &[16, 17, 18, 19]),       // Discover / China UnionPay co-brand
    (62, 62, 2, &[16, 17, 18, 19]),                 // UnionPay
    (35, 35, 2, &[16, 17, 18, 19]),                 // JCB (3528-3589 plus legacy 35xx)
    (1800, 1800, 4, &[15]),                         // JCB legacy
    (2131, 2131, 4, &[15]),                         // JCB legacy
    (300, 305, 3, &[14, 15, 16, 17, 18, 19]),       // Diners Club
    (36, 36, 2, &[14, 15, 16, 17, 18, 19]),         // Diners Club
    (38, 39, 2, &[14, 15, 16, 17, 18, 19]),         // Diners Club
    (2200, 2204, 4, &[16, 17, 18, 19]),             // Mir
    (50, 50, 2, &[12, 13, 14, 15, 16, 17, 18, 19]), // Maestro
    (56, 69, 2, &[12, 13, 14, 15, 16, 17, 18, 19]), // Maestro
];

/// Known test / dummy numbers are still cards (they are what fixtures use),
/// but an all-same-digit number is not.
fn credit_card(cand: &str) -> Option<f32> {
    let d = digits(cand);
    if !(12..=19).contains(&d.len()) || !luhn(&d) {
        return None;
    }
    if d.iter().all(|&x| Some(&x) == d.first()) {
        return None;
    }
    let issuer_ok = CARD_RANGES.iter().any(|&(lo, hi, plen, lens)| {
        if !lens.contains(&d.len()) {
            return false;
        }
        let prefix = d.iter().take(plen).fold(0u32, |acc, &x| acc * 10 + u32::from(x));
        d.len() >= plen && (lo..=hi).contains(&prefix)
    });
    if !issuer_ok {
        return None;
    }
    // Grouped like a card (4-4-4-4, 4-6-5) is a stronger signal.
    let grouped = cand.contains([' ', '-']);
    Some(if grouped { 0.1 } else { 0.0 })
}

/// IBAN lengths per country (ISO 13616 registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HN", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

pub fn iban(cand: &str) -> bool {
    let s: Vec<u8> = cand.bytes().filter(|b| !matches!(b, b' ' | b'-')).map(|b| b.to_ascii_uppercase()).collect();
    if !s.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let Some(country) = s.get(..2).and_then(|c| std::str::from_utf8(c).ok()) else {
        return false;
    };
    let Some(&(_, want)) = IBAN_LENGTHS.iter().find(|(c, _)| *c == country) else {
        return false;
    };
    if s.len() != want || !s.get(2..4).is_some_and(|d| d.iter().all(u8::is_ascii_digit)) {
        return false;
    }
    let rearranged = s.iter().skip(4).chain(s.iter().take(4));
    let mut rem: u32 = 0;
    for &b in rearranged {
        let v = if b.is_ascii_digit() { u32::from(b - b'0') } else { u32::from(b - b'A') + 10 };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

fn nine_digits(cand: &str) -> Option<(u32, u32, u32)> {
    let d = digits(cand);
    if d.len() != 9 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| d.get(r).map(|x| x.iter().fold(0u32, |a, &b| a * 10 + u32::from(b)));
    Some((num(0..3)?, num(3..5)?, num(5..9)?))
}

/// US SSN: area 001-665, 667-899; group 01-99; serial 0001-9999.
pub fn us_ssn(cand: &str) -> bool {
    let Some((area, group, serial)) = nine_digits(cand) else {
        return false;
    };
    let d = digits(cand);
    if d.iter().all(|&x| Some(&x) == d.first()) {
        return false;
    }
    // Publicly burned numbers (Woolworth wallet card, 1962 ad).
    if (area, group, serial) == (78, 5, 1120) || (area, group, serial) == (219, 9, 9999) {
        return false;
    }
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// US ITIN: 9XX-GG-XXXX with group 50-65, 70-88, 90-92 or 94-99.
pub fn us_itin(cand: &str) -> bool {
    let Some((area, group, serial)) = nine_digits(cand) else {
        return false;
    };
    (900..=999).contains(&area) && matches!(group, 50..=65 | 70..=88 | 90..=92 | 94..=99) && serial != 0
}

/// Canadian SIN: 9 digits, Luhn, first digit not 0 or 8 (8 is unused).
/// Numbers starting with 9 (temporary residents) are valid but rarer.
fn ca_sin(cand: &str) -> Option<f32> {
    let d = digits(cand);
    if d.len() != 9 || !luhn(&d) {
        return None;
    }
    match d.first() {
        Some(0 | 8) | None => None,
        _ => {
            if d.iter().all(|&x| Some(&x) == d.first()) {
                return None;
            }
            // The dashed 3-3-3 layout is the usual SIN rendering.
            Some(if cand.contains('-') { 0.15 } else { 0.0 })
        }
    }
}

/// UK National Insurance number: two prefix letters (not D, F, I, Q, U, V;
/// second not O; not BG, GB, KN, NK, NT, TN, ZZ), six digits, suffix A-D.
pub fn uk_nino(cand: &str) -> bool {
    let s: Vec<u8> = cand.bytes().filter(|b| !b.is_ascii_whitespace()).map(|b| b.to_ascii_uppercase()).collect();
    if s.len() != 9 {
        return false;
    }
    let (Some(&a), Some(&b)) = (s.first(), s.get(1)) else {
        return false;
    };
    let bad_first = |c: u8| matches!(c, b'D' | b'F' | b'I' | b'Q' | b'U' | b'V');
    if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() || bad_first(a) || bad_first(b) {
        return false;
    }
    if b == b'O' {
        return false;
    }
    let prefix = [a, b];
    if matches!(&prefix, b"BG" | b"GB" | b"KN" | b"NK" | b"NT" | b"TN" | b"ZZ") {
        return false;
    }
    s.get(2..8).is_some_and(|d| d.iter().all(u8::is_ascii_digit)) && s.get(8).is_some_and(|c| matches!(c, b'A'..=b'D'))
}

/// Dotted-quad IPv4, each octet 0-255 without leading zeros. Unspecified,
/// broadcast and loopback addresses are rejected; version-like quads
/// (1.2.3.4) are accepted here and left to the detector's negative context.
pub fn ipv4(cand: &str) -> bool {
    let parts: Vec<&str> = cand.split('.').collect();
    if parts.len() != 4 {
        return false;
    }
    // Unspecified, broadcast and loopback addresses identify nobody.
    if cand == "0.0.0.0" || cand == "255.255.255.255" || parts.first() == Some(&"127") {
        return false;
    }
    parts.iter().all(|p| {
        !p.is_empty()
            && p.len() <= 3
            && p.bytes().all(|b| b.is_ascii_digit())
            && !(p.len() > 1 && p.starts_with('0'))
            && p.parse::<u16>().is_ok_and(|v| v <= 255)
    })
}

pub fn ipv6(cand: &str) -> bool {
    let core = cand.split('%').next().unwrap_or(cand);
    if core.matches(':').count() < 2 {
        return false;
    }
    // Require some hex content so "::" or "1::" style noise and times are out.
    let hex_digits = core.bytes().filter(u8::is_ascii_hexdigit).count();
    if hex_digits < 4 {
        return false;
    }
    core.parse::<Ipv6Addr>().is_ok()
}

pub fn email(cand: &str) -> bool {
    let Some((local, dom)) = cand.rsplit_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || dom.len() > 253 {
        return false;
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return false;
    }
    domain(dom, false)
}

/// Top-level domains accepted for bare domain names (no scheme). Two-letter
/// codes that are also common file extensions (py, md, rs, sh, pl, ...) and
/// English words (is, in, it, at, to, me, no, am, so, do) are left out.
const BARE_TLDS: &[&str] = &[
    "com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "io", "co", "ai", "app", "dev", "xyz", "online",
    "site", "tech", "cloud", "shop", "store", "blog", "news", "live", "us", "uk", "de", "fr", "nl", "be", "se", "dk",
    "fi", "es", "pt", "br", "au", "ca", "ch", "jp", "cn", "ru", "eu", "cz", "hu", "ee", "si", "sk", "ie", "nz", "za",
    "mx", "ar", "cl", "gr", "ro", "bg", "hr", "lt", "lv", "ua", "tr", "il", "kr", "tw", "hk", "sg", "my", "th", "vn",
    "ph", "pk", "bd", "eg", "ng", "ke", "fm", "tv", "ly", "gg", "li", "lu",
];

pub fn domain(dom: &str, bare: bool) -> bool {
    let dom = dom.trim_end_matches('.');
    let labels: Vec<&str> = dom.split('.').collect();
    if labels.len() < 2 || dom.len() > 253 {
        return false;
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if !labels.iter().all(label_ok) {
        return false;
    }
    let Some(tld) = labels.last() else {
        return false;
    };
    if tld.len() < 2 || !tld.bytes().all(|b| b.is_ascii_alphabetic()) {
        return false;
    }
    if bare {
        let lower = tld.to_ascii_lowercase();
        if !BARE_TLDS.contains(&lower.as_str()) {
            return false;
        }
        // The registrable label must look like a name, not "a.b" or "x1.io".
        let Some(name) = labels.iter().rev().nth(1) else {
            return false;
        };
        if name.len() < 2 || !name.bytes().any(|b| b.is_ascii_alphabetic()) {
            return false;
        }
    }
    true
}

pub fn url(cand: &str) -> bool {
    let rest = cand
        .strip_prefix("https://")
        .or_else(|| cand.strip_prefix("http://"))
        .or_else(|| cand.strip_prefix("HTTPS://"))
        .or_else(|| cand.strip_prefix("HTTP://"));
    let Some(rest) = rest else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default().rsplit('@').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    domain(host, false) || ipv4(host)
}

/// Phone numbers: 7-15 digits, not a date, not a decimal, not a single
/// repeated digit. International (+CC) and parenthesised area codes get a
/// bonus.
fn phone(cand: &str) -> Option<f32> {
    let main = cand.split(['x', 'X']).next().unwrap_or(cand).split("ext").next().unwrap_or(cand);
    let d = digits(main);
    if !(7..=15).contains(&d.len()) {
        return None;
    }
    if d.iter().all(|&x| Some(&x) == d.first()) {
        return None;
    }
    let groups: Vec<&str> = main.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).collect();
    // Dates: 2024-05-01, 01.02.2024, 2024 05 01.
    if groups.len() == 3 {
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        if lens == [4, 2, 2] || lens == [2, 2, 4] || lens == [1, 2, 4] || lens == [2, 1, 4] {
            return None;
        }
    }
    // Dotted quads are IP addresses.
    if groups.len() == 4 && main.contains('.') && groups.iter().all(|g| g.len() <= 3) {
        return None;
    }
    // A single dot between two groups is a decimal number.
    if groups.len() == 2 && main.contains('.') {
        return None;
    }
    let trimmed = main.trim();
    let mut adj: f32 = 0.0;
    if trimmed.starts_with('+') || trimmed.starts_with("00") {
        adj += 0.1;
    }
    if trimmed.contains('(') {
        adj += 0.05;
    }
    Some(adj)
}

fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    super::cipher::base64_decode(s)
}

/// Compact JWS/JWT: header and payload are base64url JSON objects and the
/// header names an algorithm.
pub fn jwt(cand: &str) -> bool {
    let mut parts = cand.split('.');
    let (Some(h), Some(p)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Some(header) = b64url_decode(h) else {
        return false;
    };
    let Ok(hv) = serde_json::from_slice::<serde_json::Value>(&header) else {
        return false;
    };
    if hv.get("alg").is_none() {
        return false;
    }
    b64url_decode(p).and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok()).is_some_and(|v| v.is_object())
}

/// Shannon entropy in bits per character.
pub fn shannon_entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        if let Some(c) = counts.get_mut(usize::from(b)) {
            *c += 1;
        }
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Random-looking token: mixed character classes and high entropy.
fn entropy_check(cand: &str) -> Option<f32> {
    let b = cand.as_bytes();
    if b.len() < 16 {
        return None;
    }
    let e = shannon_entropy(b);
    let classes =
        [b.iter().any(u8::is_ascii_lowercase), b.iter().any(u8::is_ascii_uppercase), b.iter().any(u8::is_ascii_digit)]
            .iter()
            .filter(|&&x| x)
            .count();
    if e < 3.5 || classes < 2 {
        return None;
    }
    Some(if e >= 4.5 { 0.1 } else { 0.0 })
}

/// A credential value that is not a placeholder or a redaction marker.
pub fn secret_value(cand: &str) -> bool {
    let v = cand.trim_matches(|c| c == '"' || c == '\'');
    if v.len() < 4 {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    const PLACEHOLDERS: &[&str] = &[
        "null",
        "none",
        "nil",
        "undefined",
        "true",
        "false",
        "redacted",
        "<redacted>",
        "[redacted]",
        "password",
        "changeme",
        "example",
        "xxxx",
        "****",
        "your_password",
        "<password>",
        "secret",
        "hidden",
        "masked",
        "required",
        "optional",
        "empty",
    ];
    if PLACEHOLDERS.contains(&lower.as_str()) {
        return false;
    }
    if v.bytes().all(|b| matches!(b, b'*' | b'x' | b'X' | b'#' | b'.' | b'-' | b'_')) {
        return false;
    }
    if v.starts_with("${") || v.starts_with("{{") || v.starts_with('<') || v.starts_with('%') {
        return false;
    }
    true
}

fn month_day_ok(m: u32, d: u32) -> bool {
    let max = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => 29,
        _ => return false,
    };
    (1..=max).contains(&d)
}

/// Calendar dates: YYYY-MM-DD, M/D/YYYY, D.M.YYYY, "12 March 1980", "March 12, 1980".
pub fn date(cand: &str) -> bool {
    let nums: Vec<u32> =
        cand.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).filter_map(|g| g.parse().ok()).collect();
    let year_ok = |y: u32| (1900..=2100).contains(&y) || y < 100;
    match nums.as_slice() {
        [y, m, d] if *y >= 1000 => year_ok(*y) && month_day_ok(*m, *d),
        [a, b, y] => year_ok(*y) && (month_day_ok(*a, *b) || month_day_ok(*b, *a)),
        // Month spelled out: day and year remain.
        [d, y] => year_ok(*y) && (1..=31).contains(d),
        _ => false,
    }
}

/// ICD-10-CM code: letter (not U), two digits or digit+A/B, optional
/// dotted extension. Bare "A10" style codes are ambiguous; the detector
/// requires context.
pub fn icd10(cand: &str) -> bool {
    let b = cand.as_bytes();
    let (Some(l), Some(d1), Some(c3)) = (b.first(), b.get(1), b.get(2)) else {
        return false;
    };
    l.is_ascii_uppercase() && *l != b'U' && d1.is_ascii_digit() && c3.is_ascii_alphanumeric()
}

/// Field labels that look like "Speaker:" but belong to forms and headers.
const NOT_SPEAKERS: &[&str] = &[
    "name",
    "first name",
    "last name",
    "full name",
    "phone",
    "mobile",
    "desk",
    "fax",
    "office",
    "tel",
    "email",
    "e-mail",
    "mail",
    "website",
    "web",
    "url",
    "address",
    "street",
    "city",
    "state",
    "zip",
    "country",
    "date",
    "time",
    "when",
    "where",
    "subject",
    "from",
    "to",
    "cc",
    "bcc",
    "re",
    "note",
    "notes",
    "title",
    "id",
    "status",
    "type",
    "summary",
    "description",
    "location",
    "company",
    "organization",
    "department",
    "position",
    "role",
    "job",
    "age",
    "gender",
    "dob",
    "ssn",
    // medical and review form labels (OCR of a form is "Label: value" lines)
    "date of birth",
    "diagnosis",
    "diagnoses",
    "symptoms",
    "symptoms reported",
    "prescription",
    "medication",
    "medications",
    "allergies",
    "rating",
    "overall rating",
    "amount",
    "total",
    "price",
    "quantity",
    "error",
    "warning",
    "info",
    "debug",
    "trace",
    "http",
    "https",
    "ftp",
    "step",
    "q",
    "a",
    "question",
    "answer",
    "example",
    "result",
    "output",
    "input",
    "source",
    "target",
    "version",
    "ps",
    "p.s",
    "nb",
    "tip",
    "update",
    "edit",
    "question",
    "response",
    "reason",
    "comment",
    "comments",
    "personal info",
    "contact",
    "website",
    "phone number",
    "reference",
    "ref",
    "invoice",
    "order",
    "account",
    "iban",
    "card",
    "user agent",
    "host",
    "path",
    "method",
    "status code",
    "key",
    "value",
    "accept",
    "accept-encoding",
    "accept-language",
    "content-type",
    "content-length",
    "content-encoding",
    "content-disposition",
    "content-transfer-encoding",
    "cookie",
    "set-cookie",
    "authorization",
    "connection",
    "referer",
    "referrer",
    "origin",
    "server",
    "cache-control",
    "pragma",
    "expires",
    "etag",
    "last-modified",
    "x-forwarded-for",
    "x-request-id",
    "x-api-key",
    "user-agent",
    "upgrade",
    "vary",
    "via",
    "reply-to",
    "message-id",
    "mime-version",
    "received",
    "return-path",
    "x-mailer",
    "in-reply-to",
    "references",
    "sender",
    "delivered-to",
    "dkim-signature",
    "thread-topic",
    "importance",
    "priority",
    "warn",
    "fatal",
    "critical",
    "notice",
    "err",
    "severity",
    "level",
    "message",
    "msg",
    "timestamp",
    "logger",
    "thread",
    "exception",
    "caused by",
    "stack",
    "stacktrace",
    "file",
    "line",
    "function",
    "module",
    "port",
    "user",
    "username",
    "password",
    "database",
    "region",
    "env",
    "environment",
    "image",
    "command",
    "args",
    "ports",
    "volumes",
    "services",
    "kind",
    "metadata",
    "spec",
    "labels",
    "replicas",
    "apiversion",
    "mobile phone",
    "home phone",
    "work phone",
    "birthday",
    "date of birth",
    "occupation",
    "employer",
    "nationality",
    "ingredients",
    "directions",
    "instructions",
    "caution",
    "hint",
    "tags",
    "category",
    "categories",
    "keywords",
    "author",
    "authors",
    "published",
    "updated",
    "created",
    "modified",
    "size",
    "format",
    "duration",
    "length",
    "width",
    "height",
    "weight",
    "color",
    "brand",
    "model",
    "serial",
    "sku",
    "isbn",
];

/// [`NOT_SPEAKERS`] sorted, for a binary search (one label is checked per turn of every chat
/// and transcript; a linear scan of the list was most of the cost of a turn).
static NOT_SPEAKERS_SORTED: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    let mut v = NOT_SPEAKERS.to_vec();
    v.sort_unstable();
    v
});

/// Whether `name` (at most 40 bytes), lowercased, is one of [`NOT_SPEAKERS`]. An ASCII name is
/// lowercased on the stack.
fn is_not_speaker(name: &str) -> bool {
    let mut buf = [0u8; 40];
    match buf.get_mut(..name.len()) {
        Some(lower) if name.is_ascii() => {
            lower.copy_from_slice(name.as_bytes());
            lower.make_ascii_lowercase();
            std::str::from_utf8(lower).is_ok_and(|l| NOT_SPEAKERS_SORTED.binary_search(&l).is_ok())
        }
        _ => NOT_SPEAKERS_SORTED.binary_search(&name.to_lowercase().as_str()).is_ok(),
    }
}

/// A plausible speaker label: one to four words, not a form field label.
/// With `timestamped`, the candidate is "[00:01:02] Bob" and only the
/// name part is checked.
fn speaker(cand: &str, timestamped: bool) -> bool {
    let name = if timestamped {
        cand.trim_start_matches(|c: char| {
            c.is_ascii_digit() || matches!(c, '[' | ']' | '(' | ')' | ':' | '.' | ',' | ' ' | '-')
        })
    } else {
        cand
    };
    let name = name.trim().trim_start_matches(['<', '*']).trim_end_matches(['>', '*']);
    if name.is_empty() || name.len() > 40 {
        return false;
    }
    if is_not_speaker(name) {
        return false;
    }
    let words = name.split_whitespace().count();
    (1..=4).contains(&words) && name.chars().next().is_some_and(char::is_alphabetic)
}

const STOPWORDS: &[&str] = &[
    "the", "and", "to", "of", "a", "in", "is", "it", "that", "for", "you", "i", "was", "on", "with", "as", "be",
    "this", "are", "have", "we", "not", "but", "at", "my", "your", "so", "me", "can", "will", "if", "they", "or", "an",
    "do", "what", "there", "just", "about", // a few common function words of other Latin-script languages
    "der", "die", "und", "das", "ist", "le", "la", "les", "et", "est", "el", "los", "que", "y", "en", "de", "het",
    "een", "och", "att", "il", "di", "che", "e",
];

/// Characters that mark code and markup rather than prose.
fn is_code_punct(c: char) -> bool {
    matches!(c, '{' | '}' | '[' | ']' | '<' | '>' | '=' | ';' | '"')
}

/// (words, words of letters only, stopwords, code punctuation, characters) of a text: words are
/// split at Unicode white space and trimmed of what is not alphanumeric.
fn prose_counts(cand: &str) -> (usize, usize, usize, usize, usize) {
    let (mut words, mut alpha_words, mut stop) = (0usize, 0usize, 0usize);
    for w in cand.split_whitespace() {
        words += 1;
        let t = w.trim_matches(|c: char| !c.is_alphanumeric());
        if !t.is_empty() && t.chars().all(char::is_alphabetic) {
            alpha_words += 1;
        }
        if is_stopword(t) {
            stop += 1;
        }
    }
    let punct = cand.chars().filter(|&c| is_code_punct(c)).count();
    (words, alpha_words, stop, punct, cand.chars().count())
}

/// [`prose_counts`] of ASCII text in one pass over its bytes (the same counts: for ASCII,
/// `char::is_whitespace` is these six bytes and `char::is_alphanumeric` is ASCII's).
fn prose_counts_ascii(b: &[u8]) -> (usize, usize, usize, usize, usize) {
    let space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let (mut words, mut alpha_words, mut stop, mut punct) = (0usize, 0usize, 0usize, 0usize);
    let mut i = 0;
    while i < b.len() {
        let Some(&c) = b.get(i) else { break };
        if space(c) {
            i += 1;
            continue;
        }
        let start = i;
        while b.get(i).is_some_and(|&c| !space(c)) {
            i += 1;
        }
        let word = b.get(start..i).unwrap_or_default();
        words += 1;
        punct += word.iter().filter(|&&c| is_code_punct(char::from(c))).count();
        let lead = word.iter().position(u8::is_ascii_alphanumeric);
        let trail = word.iter().rposition(u8::is_ascii_alphanumeric);
        if let (Some(l), Some(r)) = (lead, trail) {
            let t = word.get(l..=r).unwrap_or_default();
            if t.iter().all(u8::is_ascii_alphabetic) {
                alpha_words += 1;
            }
            if is_ascii_stopword(t) {
                stop += 1;
            }
        }
    }
    (words, alpha_words, stop, punct, b.len())
}

/// A word of at most 7 bytes as one integer: its bytes lowercased (ASCII), and its length in
/// the top byte.
#[allow(clippy::indexing_slicing)] // `i < b.len()`: const fns cannot call `get`
const fn word_key(b: &[u8]) -> u64 {
    let mut k = (b.len() as u64) << 56;
    let mut i = 0;
    while i < b.len() && i < 7 {
        k |= (b[i].to_ascii_lowercase() as u64) << (8 * i);
        i += 1;
    }
    k
}

/// [`STOPWORDS`] as [`word_key`]s (all are shorter than 8 bytes).
#[allow(clippy::indexing_slicing)] // evaluated at compile time: an index out of range fails the build
static STOPWORD_KEYS: [u64; STOPWORDS.len()] = {
    let mut keys = [0u64; STOPWORDS.len()];
    let mut i = 0;
    while i < STOPWORDS.len() {
        keys[i] = word_key(STOPWORDS[i].as_bytes());
        i += 1;
    }
    keys
};

/// Whether `t` is one of [`STOPWORDS`] once lowercased. ASCII words (nearly all) are compared
/// as integers, without allocating; others are lowercased as Unicode does it (the Kelvin sign
/// lowercases to `k`, so a non-ASCII word can still be a stopword).
fn is_stopword(t: &str) -> bool {
    if t.is_ascii() {
        return is_ascii_stopword(t.as_bytes());
    }
    STOPWORDS.contains(&t.to_lowercase().as_str())
}

/// [`is_stopword`] of an ASCII word.
fn is_ascii_stopword(t: &[u8]) -> bool {
    // Longer than any stopword: not one (and [`word_key`] only sees 7 bytes).
    t.len() <= 7 && STOPWORD_KEYS.contains(&word_key(t))
}

/// Natural-language prose: enough words, mostly letters, and common
/// function words. Rejects code, JSON, base64 and lists of numbers.
fn natural_language(cand: &str) -> Option<f32> {
    let (words, alpha_words, stop, punct, chars) =
        if cand.is_ascii() { prose_counts_ascii(cand.as_bytes()) } else { prose_counts(cand) };
    if words < 25 {
        return None;
    }
    let n = words as f32;
    let alpha_ratio = alpha_words as f32 / n;
    let stop_ratio = stop as f32 / n;
    let punct = punct as f32 / chars.max(1) as f32;
    if alpha_ratio < 0.7 || stop_ratio < 0.12 || punct > 0.03 {
        return None;
    }
    Some(if words >= 80 { 0.1 } else { 0.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validator_list_matches_names() {
        assert_eq!(crate::detect::spec::VALIDATOR_LIST.split(", ").collect::<Vec<_>>(), VALIDATOR_NAMES);
        for n in VALIDATOR_NAMES {
            assert!(Validator::from_name(n).is_some(), "{n}");
        }
    }

    #[test]
    fn luhn_cards() {
        assert!(credit_card("4111111111111111").is_some());
        assert!(credit_card("4111111111111112").is_none(), "off by one");
        assert!(credit_card("4111 1111 1111 1111").is_some());
        assert!(credit_card("378282246310005").is_some(), "amex");
        assert!(credit_card("5555555555554444").is_some(), "mastercard");
        assert!(credit_card("6011111111111117").is_some(), "discover");
        assert!(credit_card("3530111333300000").is_some(), "jcb");
        assert!(credit_card("30569309025904").is_some(), "diners");
        // Luhn-valid but no issuer (starts with 9 / 1 at 16 digits).
        assert!(credit_card("9111111111111110").is_none());
        assert!(luhn_digits("1234567812345670"));
        assert!(credit_card("1234567812345670").is_none());
        // Visa does not issue 15 digits.
        assert!(credit_card("411111111111116").is_none());
        assert!(credit_card("0000000000000000").is_none());
    }

    #[test]
    fn iban_checksum_and_length() {
        assert!(iban("GB82WEST12345698765432"));
        assert!(iban("GB82 WEST 1234 5698 7654 32"));
        assert!(iban("gb82west12345698765432"));
        assert!(iban("DE89370400440532013000"));
        assert!(iban("FR1420041010050500013M02606"));
        assert!(!iban("GB82WEST12345698765433"), "bad checksum");
        assert!(!iban("GB82WEST1234569876543"), "wrong length");
        assert!(!iban("XX82WEST12345698765432"), "unknown country");
    }

    #[test]
    fn ssn_rules() {
        assert!(us_ssn("123-45-3309"));
        assert!(us_ssn("853-37-1694"));
        assert!(!us_ssn("000-45-3309"), "area 000");
        assert!(!us_ssn("666-45-3309"), "area 666");
        assert!(!us_ssn("912-45-3309"), "area 9xx");
        assert!(!us_ssn("123-00-3309"), "group 00");
        assert!(!us_ssn("123-45-0000"), "serial 0000");
        assert!(!us_ssn("078-05-1120"), "woolworth");
        assert!(!us_ssn("111-11-1111"));
    }

    #[test]
    fn itin_rules() {
        assert!(us_itin("912-70-1234"));
        assert!(us_itin("900-94-0001"));
        assert!(!us_itin("912-93-1234"), "group 93 unused");
        assert!(!us_itin("812-70-1234"), "area must be 9xx");
        assert!(!us_itin("912-20-1234"));
    }

    #[test]
    fn sin_rules() {
        assert!(ca_sin("130 692 544").is_some());
        assert!(ca_sin("130-692-544").is_some());
        assert!(ca_sin("130-692-545").is_none(), "luhn");
        assert!(ca_sin("130692544").is_some());
        // Luhn-valid, but 0 and 8 are not assigned as first digits.
        assert!(ca_sin("046 454 286").is_none());
        // Luhn-valid but starts with 0? 000000000 excluded as repeated.
        assert!(ca_sin("000000000").is_none());
    }

    #[test]
    fn nino_rules() {
        assert!(uk_nino("AB123456C"));
        assert!(uk_nino("AB 12 34 56 C"));
        assert!(!uk_nino("BG123456C"), "BG prefix");
        assert!(!uk_nino("GB123456C"));
        assert!(!uk_nino("DA123456C"), "D first letter");
        assert!(!uk_nino("AO123456C"), "O second letter");
        assert!(!uk_nino("AB123456E"), "suffix E");
        assert!(!uk_nino("AB12345C"));
    }

    #[test]
    fn ip_rules() {
        assert!(ipv4("192.168.0.1"));
        assert!(ipv4("255.255.255.254"));
        assert!(!ipv4("255.255.255.255"), "broadcast");
        assert!(!ipv4("0.0.0.0"), "unspecified");
        assert!(!ipv4("127.0.0.1"), "loopback");
        assert!(!ipv4("256.1.1.1"));
        assert!(!ipv4("1.2.3"));
        assert!(!ipv4("01.2.3.4"), "leading zero");
        assert!(!ipv4("1.2.3.4.5"));
        assert!(ipv6("2001:db8::1"));
        assert!(ipv6("fe80::1ff:fe23:4567:890a%eth0"));
        assert!(ipv6("::ffff:192.0.2.128"));
        assert!(!ipv6("12:30:45"));
        assert!(!ipv6("00:1a:2b:3c:4d:5e"), "MAC address");
    }

    #[test]
    fn email_and_domain() {
        assert!(email("jane.doe@example.com"));
        assert!(email("UtaKortig@jourrapide.com"));
        assert!(!email("jane..doe@example.com"));
        assert!(!email("jane@localhost"));
        assert!(!email("jane@example.c0m"));
        assert!(domain("example.com", true));
        assert!(!domain("main.py", true));
        assert!(!domain("window.name", true));
        assert!(!domain("element.id", true));
        assert!(url("https://ClickPhobia.com.br/"));
        assert!(!url("https://nodot/"));
    }

    #[test]
    fn phone_rules() {
        assert!(phone("+1-984-182-0190").is_some());
        assert!(phone("(579)888-3058").is_some());
        assert!(phone("0490 75 40 81").is_some());
        assert!(phone("2024-05-01").is_none(), "date");
        assert!(phone("12.34").is_none(), "decimal");
        assert!(phone("10.0.0.1").is_none());
        assert!(phone("555-1234").is_some());
        assert!(phone("555-5555").is_none(), "repeated digit");
        assert!(phone("1234").is_none());
        assert!(phone("111-111-1111").is_none());
    }

    #[test]
    fn jwt_rules() {
        let t = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        assert!(jwt(t));
        assert!(!jwt("eyJhbGciOi.eyJzdWIi.abc"));
    }

    #[test]
    fn secret_and_entropy() {
        assert!(entropy_check("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY").is_some());
        assert!(entropy_check("aaaaaaaaaaaaaaaaaaaa").is_none());
        assert!(secret_value("hunter2!"));
        assert!(!secret_value("********"));
        assert!(!secret_value("${DB_PASSWORD}"));
        assert!(!secret_value("null"));
    }

    #[test]
    fn dates() {
        assert!(date("1980-02-29"));
        assert!(date("2/16/1942"));
        assert!(date("16.02.1942"));
        assert!(!date("1980-13-01"));
        assert!(!date("1980-02-31"));
    }

    #[test]
    fn prose_counts_of_ascii_text_are_those_of_the_unicode_path() {
        let texts = [
            "",
            "   ",
            "The quick brown fox, (jumps) over \"the\" lazy dog; x=1 {a} [b] <c>.",
            "a\x0bb\x0cc\rd\te\nf  --  ...  'it' THE And",
            "word123 123word 123 -- -a- a-b-c don't it's IT'S",
            "trailing space ",
        ];
        for t in texts {
            assert_eq!(prose_counts_ascii(t.as_bytes()), prose_counts(t), "{t:?}");
        }
    }

    #[test]
    fn stopwords_as_unicode_lowercases_them() {
        let words = [
            "the",
            "THE",
            "The",
            "tHe",
            "there",
            "There's",
            "about",
            "ABOUT",
            "abouts",
            "",
            "a",
            "A",
            "e",
            "É",
            "De",
            "\u{212A}",
            "İt",
            "ıt",
            "Und",
            "ÜND",
            "och",
            "OCH",
            "longerthaneight",
            "\u{212A}\u{212A}",
        ];
        for w in words {
            assert_eq!(is_stopword(w), STOPWORDS.contains(&w.to_lowercase().as_str()), "{w:?}");
        }
        assert!(STOPWORDS.iter().all(|w| w.len() < 8 && is_stopword(w)));
        assert!(!is_stopword("the\0") && !is_stopword("th") && !is_stopword("thee"));
    }

    #[test]
    fn speakers() {
        for label in NOT_SPEAKERS {
            assert_eq!(*label, label.to_lowercase(), "lower case");
            assert!(!speaker(label, false), "{label}");
            assert!(!speaker(&label.to_uppercase(), false), "{label}");
            assert!(!speaker(&format!("[00:01:02] {label}"), true), "{label}");
        }
        assert!(is_not_speaker("NAME") && is_not_speaker("First Name"));
        assert!(!is_not_speaker("Näme") && !is_not_speaker("Émile"));
        assert!(speaker("Alice", false));
        assert!(speaker("Dr. Bob Smith", false));
        assert!(!speaker("Phone", false));
        assert!(!speaker("Name", false));
        assert!(speaker("[00:01:02] Bob", true));
    }

    proptest::proptest! {
        /// Any ASCII text, white space of every kind, punctuation and word characters mixed.
        #[test]
        fn prose_counts_agree_on_any_ascii(t in "[ -~\t\n\r\x0b\x0c]{0,300}") {
            proptest::prop_assert_eq!(prose_counts_ascii(t.as_bytes()), prose_counts(&t));
            proptest::prop_assert_eq!(is_stopword(&t), STOPWORDS.contains(&t.to_lowercase().as_str()));
        }
    }
}
