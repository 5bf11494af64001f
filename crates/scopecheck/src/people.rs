//! People affected: how many distinct people (`subject`s) a finding concerns.
//!
//! A breach notification or a works council asks first "how many people?" (GDPR Art. 33(3)(a):
//! "the approximate number of data subjects concerned"). Each person's id is hashed to 64 bits
//! (xxh3, unkeyed, so counts are the same in every run and every partition); the hashes are
//! kept exactly up to [`EXACT_UP_TO`] distinct people, then folded into a HyperLogLog of
//! precision [`HLL_PRECISION`] (16 KiB, relative standard error [`relative_error`]). Memory per
//! counter is bounded however many people there are, and two counters merge into the counter
//! of the union, so partitioned audits add up.
//!
//! The hashes never leave the process: reports carry the count and whether it is exact.
//! Showing who is concerned takes `--show-evidence` (the ids) or a key (`--pseudonym-key`,
//! keyed pseudonyms, see [`Pseudonymizer`]).

use hmac::{Hmac, Mac};
use hyperloglockless::HyperLogLog;
use rustc_hash::FxHashSet;
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::BuildHasherDefault;

/// Distinct people counted exactly; past this, the count is a HyperLogLog estimate.
pub const EXACT_UP_TO: usize = 2048;
/// HyperLogLog precision: 2^14 one-byte registers.
pub const HLL_PRECISION: u8 = 14;
/// Pseudonyms (or ids, with `--show-evidence`) listed per finding.
pub const MAX_LISTED: usize = 5;

/// The relative standard error of an estimated count (1.04 / √2^precision ≈ 0.81 %).
pub fn relative_error() -> f64 {
    1.04 / f64::from(1u32 << HLL_PRECISION).sqrt()
}

/// The 64-bit hash a person is counted by.
pub fn person_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

type Hll = HyperLogLog<BuildHasherDefault<rustc_hash::FxHasher>>;

/// A count of distinct people: exact while small, an estimate past [`EXACT_UP_TO`].
#[derive(Clone, Default)]
pub struct People {
    exact: FxHashSet<u64>,
    sketch: Option<Box<Hll>>,
}

impl std::fmt::Debug for People {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "People({}{})", self.count(), if self.is_exact() { "" } else { ", estimated" })
    }
}

impl PartialEq for People {
    fn eq(&self, other: &Self) -> bool {
        match (&self.sketch, &other.sketch) {
            (None, None) => self.exact == other.exact,
            (Some(a), Some(b)) => a.iter().eq(b.iter()),
            _ => false,
        }
    }
}

impl People {
    /// Counts a person (by [`person_hash`]).
    pub fn insert(&mut self, hash: u64) {
        match &mut self.sketch {
            Some(s) => s.insert_hash(hash),
            None => {
                self.exact.insert(hash);
                if self.exact.len() > EXACT_UP_TO {
                    self.fold();
                }
            }
        }
    }

    /// From exact to estimated.
    fn fold(&mut self) {
        let mut s = Box::new(Hll::with_hasher(HLL_PRECISION, BuildHasherDefault::default()));
        for h in self.exact.drain() {
            s.insert_hash(h);
        }
        self.exact.shrink_to_fit();
        self.sketch = Some(s);
    }

    /// Adds everyone `other` counts.
    pub fn merge(&mut self, other: &People) {
        match &other.sketch {
            None => {
                for h in &other.exact {
                    self.insert(*h);
                }
            }
            Some(o) => {
                if self.sketch.is_none() {
                    self.fold();
                }
                if let Some(s) = &mut self.sketch {
                    // Same precision on both sides, so this cannot fail.
                    let _ = s.union(o);
                }
            }
        }
    }

    /// True while the count is exact.
    pub fn is_exact(&self) -> bool {
        self.sketch.is_none()
    }

    /// How many distinct people (estimated past [`EXACT_UP_TO`]). The estimate depends on the
    /// registers only, not on the order people were met or counters merged.
    pub fn count(&self) -> u64 {
        match &self.sketch {
            None => self.exact.len() as u64,
            Some(s) => {
                let registers: Box<[u8]> = s.iter().collect();
                let zeros = registers.iter().filter(|r| **r == 0).count();
                let sum: f64 = registers.iter().map(|r| (-f64::from(*r)).exp2()).sum();
                let canonical = Hll::from_parts(registers, BuildHasherDefault::default(), zeros, sum);
                // Never report fewer than the exact bound once past it.
                (canonical.count() as u64).max(EXACT_UP_TO as u64 + 1)
            }
        }
    }
}

/// Keyed pseudonyms: `p-` and 16 hex digits of HMAC-SHA256(key, id). The same person gets the
/// same pseudonym in every run and partition with the same key, and nobody without the key can
/// tell who it is or test a guess.
#[derive(Clone)]
pub struct Pseudonymizer {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer(<key>)")
    }
}

impl Pseudonymizer {
    /// A pseudonymizer with this key (any length; HMAC hashes long keys).
    pub fn new(key: &[u8]) -> Self {
        // HMAC takes keys of any length.
        let mac = match Hmac::<Sha256>::new_from_slice(key) {
            Ok(m) => m,
            Err(_) => Hmac::<Sha256>::new(&Default::default()),
        };
        Pseudonymizer { mac }
    }

    /// The pseudonym of a person.
    pub fn pseudonym(&self, id: &str) -> String {
        self.tag("p-", b"", id, 8)
    }

    /// A short keyed tag of a detected value (`#` and 8 hex digits), so that redacted evidence
    /// shows where the same value recurs without showing it. Keyed, and in a domain of its own
    /// (a value never tags like a person's pseudonym): without the key a guess cannot be tested.
    pub fn value_tag(&self, value: &str) -> String {
        self.tag("#", b"scopecheck/value\0", value, 4)
    }

    /// `prefix` and the first `bytes` bytes, in hex, of HMAC-SHA256(key, `domain` then `text`).
    fn tag(&self, prefix: &str, domain: &[u8], text: &str, bytes: usize) -> String {
        let mut m = self.mac.clone();
        m.update(domain);
        m.update(text.as_bytes());
        let tag = m.finalize().into_bytes();
        let mut s = String::with_capacity(prefix.len() + 2 * bytes);
        s.push_str(prefix);
        for b in tag.iter().take(bytes) {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }
}

/// Who a finding concerns: the count, and (when asked) a few pseudonyms or ids. What is listed is
/// chosen by value (the smallest pseudonyms, the ids with the smallest hashes), so it does not
/// depend on the order of the input or on how it was split.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Concerned {
    /// Distinct people.
    pub people: People,
    /// The smallest few pseudonyms (with a key).
    pub pseudonyms: BTreeSet<String>,
    /// A few ids, by hash (with `--show-evidence`).
    pub ids: BTreeMap<u64, String>,
}

impl Concerned {
    /// Counts a person; `pseudonym` and `id` are given only when they are to be shown.
    pub fn add(&mut self, hash: u64, pseudonym: Option<&str>, id: Option<&str>) {
        self.people.insert(hash);
        if let Some(p) = pseudonym
            && !self.pseudonyms.contains(p)
            && (self.pseudonyms.len() < MAX_LISTED || self.pseudonyms.last().is_some_and(|l| p < l.as_str()))
        {
            self.pseudonyms.insert(p.to_string());
            if self.pseudonyms.len() > MAX_LISTED {
                self.pseudonyms.pop_last();
            }
        }
        if let Some(id) = id
            && (self.ids.len() < MAX_LISTED || self.ids.last_key_value().is_some_and(|(l, _)| hash < *l))
        {
            self.ids.insert(hash, id.to_string());
            if self.ids.len() > MAX_LISTED {
                self.ids.pop_last();
            }
        }
    }

    /// Adds everyone `other` concerns.
    pub fn merge(&mut self, other: &Concerned) {
        self.people.merge(&other.people);
        self.pseudonyms.extend(other.pseudonyms.iter().cloned());
        while self.pseudonyms.len() > MAX_LISTED {
            self.pseudonyms.pop_last();
        }
        self.ids.extend(other.ids.iter().map(|(h, s)| (*h, s.clone())));
        while self.ids.len() > MAX_LISTED {
            self.ids.pop_last();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_then_estimated_within_the_stated_error() {
        let mut p = People::default();
        for i in 0..EXACT_UP_TO {
            p.insert(person_hash(&format!("e-{i}")));
            p.insert(person_hash(&format!("e-{i}")));
        }
        assert!(p.is_exact());
        assert_eq!(p.count(), EXACT_UP_TO as u64);
        for n in [10_000u64, 200_000] {
            let mut p = People::default();
            for i in 0..n {
                p.insert(person_hash(&format!("person-{i}")));
            }
            assert!(!p.is_exact());
            let err = (p.count() as f64 - n as f64).abs() / n as f64;
            // Four standard errors.
            assert!(err < 4.0 * relative_error(), "{n}: {} ({err})", p.count());
        }
    }

    #[test]
    fn merging_counts_the_union_whatever_the_split() {
        let ids: Vec<u64> = (0..50_000).map(|i| person_hash(&format!("u{i}"))).collect();
        let mut whole = People::default();
        ids.iter().for_each(|h| whole.insert(*h));
        for cut in [0, 1, 100, 3000, 25_000, 49_999] {
            let (mut a, mut b) = (People::default(), People::default());
            ids[..cut].iter().for_each(|h| a.insert(*h));
            ids[cut..].iter().for_each(|h| b.insert(*h));
            // Overlap does not count twice.
            ids[..cut.min(500)].iter().for_each(|h| b.insert(*h));
            a.merge(&b);
            assert_eq!(a.count(), whole.count(), "cut at {cut}");
            assert_eq!(a, whole);
        }
    }

    #[test]
    fn pseudonyms_are_keyed_and_stable() {
        let a = Pseudonymizer::new(b"key one");
        let b = Pseudonymizer::new(b"key two");
        assert_eq!(a.pseudonym("e-100"), a.pseudonym("e-100"));
        assert_ne!(a.pseudonym("e-100"), b.pseudonym("e-100"));
        assert_ne!(a.pseudonym("e-100"), a.pseudonym("e-101"));
        assert!(!a.pseudonym("e-100").contains("100"));
        assert_eq!(a.pseudonym("x").len(), 18);
    }
}
