//! Redacted rendering of detections for reports.

use super::Detection;

/// Characters of an identifier a report may reveal.
const KEEP_LAST: usize = 4;

fn describe(d: &Detection) -> Option<&'static str> {
    Some(match d.entity.as_str() {
        "CHAT" => "chat",
        "TRANSCRIPT" => "transcript",
        "HEALTH" => "health text",
        "TAX_FORM" => "tax form",
        "PERFORMANCE_REVIEW" => "performance review",
        "FREE_TEXT" => "free text",
        "PRIVATE_KEY" => "private key",
        "JWT" => "jwt",
        "PASSWORD" => "password",
        "PERSON" => "person name",
        "STREET_ADDRESS" => "street address",
        "DATE_TIME" => "date",
        "DOMAIN_NAME" => "domain name",
        "US_DRIVER_LICENSE" => "driver's license",
        "US_PASSPORT" => "passport number",
        "SECRET" => match d.category.as_deref() {
            Some("credentials.token") => "token",
            Some("credentials.password") => "password",
            Some("credentials.private_key") => "private key",
            _ => "api key",
        },
        _ => match d.category.as_deref() {
            Some(c) if c.starts_with("credentials.") => "secret",
            Some(c) if c.starts_with("content.") => "text",
            Some(c) if c.starts_with("health.") => "health text",
            _ => return None,
        },
    })
}

/// Mask every alphanumeric character except the last `keep` of them,
/// keeping separators so the shape stays recognisable.
fn mask_keep_last(s: &str, keep: usize) -> String {
    let total = s.chars().filter(|c| c.is_alphanumeric()).count();
    let keep = keep.min(total.saturating_sub(1));
    let mut seen = 0usize;
    s.chars()
        .map(|c| {
            if c.is_alphanumeric() {
                seen += 1;
                if seen + keep > total { c } else { '*' }
            } else {
                c
            }
        })
        .collect()
}

fn card(s: &str) -> String {
    let digits: Vec<char> = s.chars().filter(char::is_ascii_digit).collect();
    let n = digits.len();
    let keep = KEEP_LAST.min(n.saturating_sub(1));
    let masked: Vec<char> = digits.iter().enumerate().map(|(i, &c)| if i + keep >= n { c } else { '*' }).collect();
    // Groups of four counted from the right: ****-****-****-1111.
    let mut groups: Vec<String> = masked.rchunks(4).map(|g| g.iter().collect::<String>()).collect();
    groups.reverse();
    groups.join("-")
}

fn email(s: &str) -> String {
    match s.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => mask_keep_last(s, 0),
    }
}

/// Redacted rendering of a detection: never more than a few revealing
/// characters (last 4 of an id, last 2 of a phone, first letter and domain
/// of an email). Out-of-range spans render as `<redacted>`.
pub fn redact(d: &Detection, text: &str) -> String {
    let Some(s) = text.get(d.start..d.end) else {
        return "<redacted>".to_string();
    };
    let chars = s.chars().count();
    if let Some(label) = describe(d) {
        return format!("<{label}, {chars} chars>");
    }
    match d.entity.as_str() {
        "CREDIT_CARD" => card(s),
        "EMAIL_ADDRESS" => email(s),
        "PHONE_NUMBER" => mask_keep_last(s, 2),
        "IP_ADDRESS" => {
            // Keep only the last group: ***.***.***.42 / ****:****::**7
            let sep = if s.contains(':') { ':' } else { '.' };
            let last = s.rsplit(sep).next().unwrap_or_default();
            let keep = last.chars().count().min(KEEP_LAST);
            mask_keep_last(s, keep)
        }
        _ => {
            if chars >= 8 {
                mask_keep_last(s, KEEP_LAST)
            } else if chars >= 5 {
                mask_keep_last(s, 1)
            } else {
                format!("<{}, {chars} chars>", d.entity.to_lowercase())
            }
        }
    }
}
