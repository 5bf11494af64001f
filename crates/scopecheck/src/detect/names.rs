//! Splitting field paths into words for name classification.

/// Segments that only wrap the real field ("ssn.value", "body.raw"): the
/// segment before them names the field.
const WRAPPERS: &[&str] = &[
    "value",
    "val",
    "raw",
    "data",
    "original",
    "plain",
    "plaintext",
    "encrypted",
    "enc",
    "ciphertext",
    "hashed",
    "masked",
    "redacted",
    "items",
    "item",
    "entries",
    "entry",
    "elements",
    "list",
    "array",
];

/// Split one identifier into lowercase words across naming styles:
/// `cardNumber`, `card_number`, `card-number`, `CardNumber`, `CARD_NUMBER`,
/// `userSSNLast4` -> user ssn last4. Letters and digits stay together.
pub fn split_words(segment: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for chunk in segment.split(|c: char| !c.is_alphanumeric()) {
        if chunk.is_empty() {
            continue;
        }
        let chars: Vec<char> = chunk.chars().collect();
        let mut cur = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev = if i > 0 { chars.get(i - 1).copied() } else { None };
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if c.is_uppercase() => {
                    p.is_lowercase()
                        || (p.is_uppercase() && next.is_some_and(char::is_lowercase))
                        || (p.is_ascii_digit() && next.is_some_and(char::is_lowercase))
                }
                _ => false,
            };
            if boundary && !cur.is_empty() {
                words.push(std::mem::take(&mut cur).to_lowercase());
            }
            cur.push(c);
        }
        if !cur.is_empty() {
            words.push(cur.to_lowercase());
        }
    }
    words
}

/// Split a normalized path ("chat.messages[].body", "employee/ssn",
/// "items[3].cardNumber") into segments of words, dropping array markers
/// and purely numeric segments.
pub fn split_path(path: &str) -> Vec<Vec<String>> {
    let mut cleaned = String::with_capacity(path.len());
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '[' => {
                depth += 1;
                cleaned.push('.');
            }
            ']' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            '/' | ':' => cleaned.push('.'),
            c => cleaned.push(c),
        }
    }
    cleaned
        .split('.')
        .map(split_words)
        .filter(|w| !w.is_empty() && !w.iter().all(|x| x.chars().all(|c| c.is_ascii_digit())))
        .collect()
}

/// Leaf words and ancestor words (each joined with single spaces) for a
/// path, skipping wrapper segments at the end.
pub fn leaf_and_parents(path: &str) -> Option<(String, String)> {
    let mut segs = split_path(path);
    while segs.len() > 1
        && segs.last().is_some_and(|s| s.len() == 1 && s.first().is_some_and(|w| WRAPPERS.contains(&w.as_str())))
    {
        segs.pop();
    }
    let leaf = segs.pop()?;
    let parents: Vec<String> = segs.into_iter().flatten().collect();
    Some((leaf.join(" "), parents.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naming_styles() {
        assert_eq!(split_words("cardNumber"), ["card", "number"]);
        assert_eq!(split_words("card_number"), ["card", "number"]);
        assert_eq!(split_words("card-number"), ["card", "number"]);
        assert_eq!(split_words("CardNumber"), ["card", "number"]);
        assert_eq!(split_words("CARD_NUMBER"), ["card", "number"]);
        assert_eq!(split_words("userSSNLast4"), ["user", "ssn", "last4"]);
        assert_eq!(split_words("HTTPServer"), ["http", "server"]);
        assert_eq!(split_words("ipv4Address"), ["ipv4", "address"]);
    }

    #[test]
    fn paths() {
        assert_eq!(
            leaf_and_parents("chat.messages[].body").unwrap(),
            ("body".to_string(), "chat messages".to_string())
        );
        assert_eq!(leaf_and_parents("employee.ssn.value").unwrap(), ("ssn".to_string(), "employee".to_string()));
        assert_eq!(leaf_and_parents("items[3].cardNumber").unwrap(), ("card number".to_string(), "items".to_string()));
        assert_eq!(
            leaf_and_parents("input/keystrokes/0/interval_ms").unwrap(),
            ("interval ms".to_string(), "input keystrokes".to_string())
        );
        assert!(leaf_and_parents("").is_none());
    }
}
