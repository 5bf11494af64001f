//! Field-level encryption check: does a value look like ciphertext?

use super::validators::shannon_entropy;

/// Verdict of [`assess_ciphertext`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum CipherAssessment {
    /// The value is (very likely) encrypted; `kind` names the envelope or
    /// encoding: "jwe", "pgp", "age", "fernet", "vault", "kms", "base64", "hex".
    Ciphertext { kind: &'static str },
    /// The value is readable; `reason` says why: "natural language",
    /// "structured data", "low entropy", "numeric", "readable token",
    /// "base64-encoded text", "pem (not encrypted)".
    Plaintext { reason: &'static str },
    /// Too short or too ambiguous to tell.
    Inconclusive,
}

/// Decode standard or URL-safe base64, with or without padding.
/// Returns `None` on any character outside the alphabets.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4 + 1);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    // A single leftover sextet cannot encode a byte.
    if s.len() % 4 == 1 {
        return None;
    }
    Some(out)
}

fn is_b64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=')
}

/// Bytes look like the output of a cipher: high entropy for their length
/// and mostly not printable text.
fn looks_random(bytes: &[u8]) -> bool {
    if bytes.len() < 12 {
        return false;
    }
    let printable = bytes.iter().filter(|b| b.is_ascii_graphic() || **b == b' ' || **b == b'\n' || **b == b'\t').count()
        as f64
        / bytes.len() as f64;
    // Maximum achievable entropy is log2(min(n, 256)); ask for most of it.
    let max_e = (bytes.len().min(256) as f64).log2();
    let e = shannon_entropy(bytes);
    printable < 0.75 && e >= 0.8 * max_e
}

fn looks_like_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|s| {
        let n = s.chars().count().max(1) as f64;
        let printable = s.chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r')).count() as f64;
        printable / n > 0.95
    })
}

fn jwe(value: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    if parts.len() != 5 {
        return false;
    }
    let Some(header) = parts.first().and_then(|h| base64_decode(h)) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&header)
        .ok()
        .is_some_and(|h| h.get("enc").is_some() && h.get("alg").is_some())
}

/// One-way password hashes: not readable, so treated as protected.
const PASSWORD_HASHES: &[(&str, &str)] = &[
    ("$2a$", "bcrypt"),
    ("$2b$", "bcrypt"),
    ("$2y$", "bcrypt"),
    ("$argon2", "argon2"),
    ("$scrypt$", "scrypt"),
    ("$7$", "scrypt"),
    ("$6$", "sha-crypt"),
    ("$5$", "sha-crypt"),
    ("pbkdf2_sha256$", "pbkdf2"),
    ("pbkdf2:sha256:", "pbkdf2"),
];

/// JSON keys that mark an encryption envelope (`{"ciphertext": ..., "iv": ...}`).
const ENVELOPE_KEYS: &[&str] =
    &["ciphertext", "cipher_text", "cipherText", "ct", "encrypted", "encrypted_data", "encryptedData", "enc"];

fn is_uuid(v: &str) -> bool {
    let groups: Vec<&str> = v.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_numeric(v: &str) -> bool {
    v.parse::<f64>().is_ok()
        || (v.bytes().filter(u8::is_ascii_digit).count() * 2 >= v.len()
            && v.bytes().all(|b| b.is_ascii_digit() || b"-./ ()+:,".contains(&b)))
}

/// Decide whether a field value is ciphertext. Works on the value alone:
/// armour and envelope markers (PGP, age, JWE, Vault, Fernet, KMS, JSON
/// envelopes), one-way password hashes, then the shape of the data (hex or
/// base64 decoding to random-looking bytes) against readable shapes
/// (prose, JSON/XML, numbers, identifiers, base64 of text).
pub fn assess_ciphertext(value: &str) -> CipherAssessment {
    let v = value.trim();
    if v.is_empty() {
        return CipherAssessment::Inconclusive;
    }
    // Envelopes and armour first: they are unambiguous.
    if v.starts_with("-----BEGIN PGP MESSAGE-----") {
        return CipherAssessment::Ciphertext { kind: "pgp" };
    }
    if v.starts_with("age-encryption.org/v1") || v.starts_with("-----BEGIN AGE ENCRYPTED FILE-----") {
        return CipherAssessment::Ciphertext { kind: "age" };
    }
    if v.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return CipherAssessment::Ciphertext { kind: "pem" };
    }
    if v.starts_with("-----BEGIN ") {
        return CipherAssessment::Plaintext { reason: "pem (not encrypted)" };
    }
    if v.starts_with("vault:v") && v.matches(':').count() >= 2 {
        return CipherAssessment::Ciphertext { kind: "vault" };
    }
    if let Some((_, kind)) = PASSWORD_HASHES.iter().find(|(p, _)| v.starts_with(p)) {
        return CipherAssessment::Ciphertext { kind };
    }
    if jwe(v) {
        return CipherAssessment::Ciphertext { kind: "jwe" };
    }
    if v.split('.').count() == 3 && super::validators::jwt(v) {
        return CipherAssessment::Plaintext { reason: "readable token" };
    }
    if is_numeric(v) {
        return CipherAssessment::Plaintext { reason: "numeric" };
    }
    if is_uuid(v) {
        return CipherAssessment::Plaintext { reason: "identifier" };
    }
    let bytes = v.as_bytes();
    let distinct = {
        let mut seen = [false; 256];
        for &b in bytes {
            if let Some(s) = seen.get_mut(usize::from(b)) {
                *s = true;
            }
        }
        seen.iter().filter(|&&s| s).count()
    };
    if bytes.len() >= 6 && (distinct <= 2 || shannon_entropy(bytes) < 2.0) {
        return CipherAssessment::Plaintext { reason: "low entropy" };
    }
    let first = v.chars().next().unwrap_or(' ');
    if (first == '{' || first == '[')
        && let Ok(json) = serde_json::from_str::<serde_json::Value>(v)
    {
        if json.as_object().is_some_and(|o| ENVELOPE_KEYS.iter().any(|k| o.contains_key(*k))) {
            return CipherAssessment::Ciphertext { kind: "envelope" };
        }
        return CipherAssessment::Plaintext { reason: "structured data" };
    }
    if first == '<' && v.ends_with('>') {
        return CipherAssessment::Plaintext { reason: "structured data" };
    }
    if v.contains(char::is_whitespace) {
        let words = v.split_whitespace().count();
        let alpha = v.chars().filter(|c| c.is_alphabetic()).count();
        if words >= 3 && alpha * 2 > v.chars().count() {
            return CipherAssessment::Plaintext { reason: "natural language" };
        }
        if v.contains('=') || v.contains(':') {
            return CipherAssessment::Plaintext { reason: "structured data" };
        }
        return CipherAssessment::Inconclusive;
    }
    // Hex: even length, at least 32 digits (128 bits), mixed digits/letters.
    if bytes.len() >= 32 && bytes.len().is_multiple_of(2) && bytes.iter().all(u8::is_ascii_hexdigit) {
        let has_alpha = bytes.iter().any(u8::is_ascii_alphabetic);
        let has_digit = bytes.iter().any(u8::is_ascii_digit);
        if has_alpha && has_digit {
            return CipherAssessment::Ciphertext { kind: "hex" };
        }
    }
    let b64_shaped = bytes.len() >= 16
        && bytes.iter().all(|&b| is_b64_char(b))
        && bytes.iter().any(u8::is_ascii_digit)
        && bytes.iter().any(u8::is_ascii_uppercase)
        && bytes.iter().any(u8::is_ascii_lowercase);
    if b64_shaped && let Some(decoded) = base64_decode(v) {
        if v.starts_with("gAAAAA") && decoded.first() == Some(&0x80) {
            return CipherAssessment::Ciphertext { kind: "fernet" };
        }
        if v.starts_with("AQICAH") || v.starts_with("AQEDAH") {
            return CipherAssessment::Ciphertext { kind: "kms" };
        }
        if looks_like_text(&decoded) {
            return CipherAssessment::Plaintext { reason: "base64-encoded text" };
        }
        if looks_random(&decoded) {
            return CipherAssessment::Ciphertext { kind: "base64" };
        }
        return CipherAssessment::Inconclusive;
    }
    if v.chars().all(|c| c.is_alphabetic()) && bytes.len() >= 3 {
        return CipherAssessment::Plaintext { reason: "natural language" };
    }
    if v.contains(['=', ':', '/', '@']) && v.chars().filter(|c| c.is_alphabetic()).count() >= 3 {
        return CipherAssessment::Plaintext { reason: "structured data" };
    }
    CipherAssessment::Inconclusive
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        while !out.len().is_multiple_of(4) {
            out.push('=');
        }
        out
    }

    fn pseudo_random(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn roundtrip_base64() {
        let data = pseudo_random(100, 7);
        assert_eq!(base64_decode(&b64(&data)).unwrap(), data);
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
    }

    #[test]
    fn ciphertexts() {
        let ct = b64(&pseudo_random(48, 42));
        assert_eq!(assess_ciphertext(&ct), CipherAssessment::Ciphertext { kind: "base64" });
        let hex: String = pseudo_random(32, 9).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(assess_ciphertext(&hex), CipherAssessment::Ciphertext { kind: "hex" });
        let jwe = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nfa6c9d-StnImGyFDbSv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_lDp5XnZAYpQdb76FdIKLaVmqgfwX7XWRxv2322i-vDxRfqNzo_tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0je81860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawVCWTIy3brGPi6UklfCpIMfIjf7iGdXKHzg.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ";
        assert_eq!(assess_ciphertext(jwe), CipherAssessment::Ciphertext { kind: "jwe" });
        let pgp = "-----BEGIN PGP MESSAGE-----\n\nhQEMA5qETcGag5oZAQf/YdVwHc4A\n-----END PGP MESSAGE-----";
        assert_eq!(assess_ciphertext(pgp), CipherAssessment::Ciphertext { kind: "pgp" });
        let age = "age-encryption.org/v1\n-> X25519 abc\nxyz\n--- def\n";
        assert_eq!(assess_ciphertext(age), CipherAssessment::Ciphertext { kind: "age" });
        assert_eq!(
            assess_ciphertext("vault:v1:8SDd3WHDOjf7mq69CyCqYjBXAiQQAVZRkFM13ok481zoCmHnSeDX9vyf7w=="),
            CipherAssessment::Ciphertext { kind: "vault" }
        );
    }

    #[test]
    fn hashes_and_envelopes() {
        assert_eq!(
            assess_ciphertext("$2b$12$KIXQJ4eW2gF8n5yJY6b8uO1p2WfJ3kzK3mG8bq5Y5u9sVv0xPZ5G2"),
            CipherAssessment::Ciphertext { kind: "bcrypt" }
        );
        let env = format!(r#"{{"ciphertext":"{}","iv":"abc"}}"#, b64(&pseudo_random(32, 3)));
        assert_eq!(assess_ciphertext(&env), CipherAssessment::Ciphertext { kind: "envelope" });
    }

    #[test]
    fn plaintexts() {
        assert!(matches!(
            assess_ciphertext("The quick brown fox jumps over the lazy dog."),
            CipherAssessment::Plaintext { reason: "natural language" }
        ));
        assert!(matches!(
            assess_ciphertext(r#"{"user":"jane","ssn":"123-45-6789"}"#),
            CipherAssessment::Plaintext { reason: "structured data" }
        ));
        assert!(matches!(assess_ciphertext("aaaaaaaa"), CipherAssessment::Plaintext { reason: "low entropy" }));
        assert!(matches!(
            assess_ciphertext(&b64(b"this is a perfectly readable sentence")),
            CipherAssessment::Plaintext { reason: "base64-encoded text" }
        ));
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        assert!(matches!(assess_ciphertext(jwt), CipherAssessment::Plaintext { .. }));
        assert_eq!(assess_ciphertext("ab"), CipherAssessment::Inconclusive);
        assert_eq!(
            assess_ciphertext("550e8400-e29b-41d4-a716-446655440000"),
            CipherAssessment::Plaintext { reason: "identifier" }
        );
        assert_eq!(assess_ciphertext("4111111111111111"), CipherAssessment::Plaintext { reason: "numeric" });
        assert_eq!(
            assess_ciphertext("SGVsbG8gV29ybGQ="),
            CipherAssessment::Plaintext { reason: "base64-encoded text" }
        );
        assert_eq!(assess_ciphertext("123-45-6789"), CipherAssessment::Plaintext { reason: "numeric" });
    }
}
