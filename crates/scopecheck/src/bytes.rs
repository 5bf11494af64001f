//! Byte-string equality without a call.
//!
//! `==` on strings calls the C library's `memcmp`. Natively that is a few instructions; in the
//! wasm plugin it is a call into the module's own `memcmp` (`wasm/plugin/src/mem.rs`), and under
//! wasmtime every wasm function entry pays a stack check and an epoch check, more than comparing a
//! short key costs. The hot lookups of the event reader and the evaluator (path keys, interned
//! names, the paths of cached shapes) compare with [`eq`] instead: the same answer, inline, a
//! word at a time.

/// The 8 bytes at `at` as a word (0 when out of range, which callers never ask for: both
/// sides would then compare equal, so debug builds check).
#[inline(always)]
fn word(s: &[u8], at: usize) -> u64 {
    debug_assert!(at.saturating_add(8) <= s.len());
    s.get(at..at.wrapping_add(8)).and_then(|w| <[u8; 8]>::try_from(w).ok()).map_or(0, u64::from_ne_bytes)
}

/// The 4 bytes at `at` as a word (0 when out of range).
#[inline(always)]
fn half(s: &[u8], at: usize) -> u32 {
    debug_assert!(at.saturating_add(4) <= s.len());
    s.get(at..at.wrapping_add(4)).and_then(|w| <[u8; 4]>::try_from(w).ok()).map_or(0, u32::from_ne_bytes)
}

/// Whether `a` and `b` are the same bytes: eight bytes a loop turn and one overlapping word for
/// the tail; under eight bytes, two overlapping half-words or single bytes.
#[inline]
pub(crate) fn eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 8 {
        let mut i = 0;
        while i + 8 <= n {
            if word(a, i) != word(b, i) {
                return false;
            }
            i += 8;
        }
        return i == n || word(a, n - 8) == word(b, n - 8);
    }
    if n >= 4 {
        return half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4);
    }
    // 0 to 3 bytes: positions 0, 1 and n - 1 cover them all.
    a.first() == b.first() && a.get(1) == b.get(1) && a.last() == b.last()
}

/// [`eq`] on strings.
#[inline]
pub(crate) fn str_eq(a: &str, b: &str) -> bool {
    eq(a.as_bytes(), b.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::eq;
    use proptest::prelude::*;

    #[test]
    fn every_length_and_position() {
        for n in 0..80usize {
            let a: Vec<u8> = (0..n).map(|x| (x as u8).wrapping_mul(31).wrapping_add(7)).collect();
            assert!(eq(&a, &a.clone()));
            for k in 0..n {
                for delta in [1u8, 0x80, 0xff] {
                    let mut b = a.clone();
                    b[k] = b[k].wrapping_add(delta);
                    assert!(!eq(&a, &b), "n {n} k {k}");
                    assert!(!eq(&b, &a), "n {n} k {k}");
                }
            }
            if n > 0 {
                assert!(!eq(&a, &a[..n - 1]));
            }
        }
    }

    proptest! {
        #[test]
        fn agrees_with_slice_equality(a in proptest::collection::vec(any::<u8>(), 0..60), at in any::<usize>(), to in any::<u8>(), cut in any::<usize>()) {
            // The same bytes, one byte set to anything (often the same), and a prefix.
            let mut b = a.clone();
            if !b.is_empty() {
                let k = at % b.len();
                b[k] = to;
            }
            prop_assert_eq!(eq(&a, &b), a == b);
            let c = &a[..cut % (a.len() + 1)];
            prop_assert_eq!(eq(&a, c), a.as_slice() == c);
        }
    }
}
