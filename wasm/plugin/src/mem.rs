//! `memcmp` and `bcmp` for the plugin, a word at a time.
//!
//! wasi-libc's `memcmp` (which its `bcmp` calls) compares one byte per loop turn, and under
//! wasmtime every turn also checks the epoch deadline: about 6 % of a decision in wasm (field keys
//! and values compared in hash tables, interning and sorting) against under 4 % for glibc's
//! natively. The plugin defines both symbols, so the linker takes these and not the C library's;
//! the module exports them too (hosts ignore them).

#[inline(always)]
unsafe fn load8(p: *const u8) -> u64 {
    // SAFETY: the caller's: 8 readable bytes at `p`.
    u64::from_le(unsafe { p.cast::<u64>().read_unaligned() })
}

#[inline(always)]
unsafe fn load4(p: *const u8) -> u32 {
    // SAFETY: the caller's: 4 readable bytes at `p`.
    u32::from_le(unsafe { p.cast::<u32>().read_unaligned() })
}

/// `memcmp`'s result for two little-endian words that differ: the difference of their lowest
/// differing bytes (the first in memory).
#[inline(always)]
fn first_difference(x: u64, y: u64) -> i32 {
    let shift = (x ^ y).trailing_zeros() & !7;
    ((x >> shift) & 0xff) as i32 - ((y >> shift) & 0xff) as i32
}

/// Compares `n` bytes at `a` and `b` as unsigned bytes: negative, zero or positive as `memcmp`
/// (the difference of the first differing bytes).
///
/// Sixteen bytes a loop turn, then one overlapping word for the tail: no byte loop but for
/// fewer than four bytes. Where the last word overlaps bytes already compared, those are equal
/// and do not change which byte differs first. LLVM could in principle turn a comparison loop
/// back into a call to `memcmp` (here: endless recursion); it does not here, since the loaded
/// words also make the result (checked with callgrind on the built module: neither `memcmp`
/// nor `bcmp` calls anything), and if it ever did every decision would trap on the stack limit and the host
/// tests would fail.
///
/// # Safety
/// `a` and `b` must be valid for reads of `n` bytes.
#[inline]
pub unsafe fn compare(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY (all loads below): every offset read is within `0..n`.
    unsafe {
        if n >= 8 {
            let mut i = 0;
            while n - i >= 16 {
                let (x0, y0) = (load8(a.add(i)), load8(b.add(i)));
                let (x1, y1) = (load8(a.add(i + 8)), load8(b.add(i + 8)));
                if ((x0 ^ y0) | (x1 ^ y1)) != 0 {
                    return if x0 ^ y0 != 0 { first_difference(x0, y0) } else { first_difference(x1, y1) };
                }
                i += 16;
            }
            if n - i >= 8 {
                let (x, y) = (load8(a.add(i)), load8(b.add(i)));
                if x ^ y != 0 {
                    return first_difference(x, y);
                }
                i += 8;
            }
            if i < n {
                let (x, y) = (load8(a.add(n - 8)), load8(b.add(n - 8)));
                if x ^ y != 0 {
                    return first_difference(x, y);
                }
            }
            return 0;
        }
        if n >= 4 {
            let (x, y) = (u64::from(load4(a)), u64::from(load4(b)));
            if x ^ y != 0 {
                return first_difference(x, y);
            }
            let (x, y) = (u64::from(load4(a.add(n - 4))), u64::from(load4(b.add(n - 4))));
            if x ^ y != 0 {
                return first_difference(x, y);
            }
            return 0;
        }
        let mut i = 0;
        while i < n {
            let (x, y) = (*a.add(i), *b.add(i));
            if x != y {
                return i32::from(x) - i32::from(y);
            }
            i += 1;
        }
        0
    }
}

/// Whether the `n` bytes at `a` and `b` are equal: [`compare`]'s walk without working out which
/// byte differs first. `bcmp` is this and not [`compare`], so that LLVM does not merge the two
/// symbols into one that calls the other: every `memcmp` then paid two function entries, each
/// with its stack and epoch checks.
///
/// # Safety
/// `a` and `b` must be valid for reads of `n` bytes.
#[inline]
pub unsafe fn equal(a: *const u8, b: *const u8, n: usize) -> bool {
    // SAFETY (all loads below): every offset read is within `0..n`.
    unsafe {
        if n >= 8 {
            let mut i = 0;
            while n - i >= 16 {
                let d = (load8(a.add(i)) ^ load8(b.add(i))) | (load8(a.add(i + 8)) ^ load8(b.add(i + 8)));
                if d != 0 {
                    return false;
                }
                i += 16;
            }
            let head = if n - i >= 8 { load8(a.add(i)) ^ load8(b.add(i)) } else { 0 };
            return (head | (load8(a.add(n - 8)) ^ load8(b.add(n - 8)))) == 0;
        }
        if n >= 4 {
            return ((load4(a) ^ load4(b)) | (load4(a.add(n - 4)) ^ load4(b.add(n - 4)))) == 0;
        }
        let mut d = 0;
        let mut i = 0;
        while i < n {
            d |= *a.add(i) ^ *b.add(i);
            i += 1;
        }
        d == 0
    }
}

#[cfg(target_arch = "wasm32")]
mod symbols {
    /// C's `memcmp`.
    ///
    /// # Safety
    /// As C's: `a` and `b` valid for reads of `n` bytes.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        // SAFETY: the caller's contract.
        unsafe { super::compare(a, b, n) }
    }

    /// C's `bcmp`: zero when the `n` bytes are equal.
    ///
    /// # Safety
    /// As C's: `a` and `b` valid for reads of `n` bytes.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        // SAFETY: the caller's contract.
        i32::from(!unsafe { super::equal(a, b, n) })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]
    use super::{compare, equal};
    use proptest::prelude::*;
    use std::cmp::Ordering;

    fn sign(x: i32) -> Ordering {
        x.cmp(&0)
    }

    fn check(a: &[u8], b: &[u8]) {
        let n = a.len().min(b.len());
        let got = unsafe { compare(a.as_ptr(), b.as_ptr(), n) };
        assert_eq!(sign(got), a[..n].cmp(&b[..n]), "{a:?} vs {b:?}");
        assert_eq!(unsafe { equal(a.as_ptr(), b.as_ptr(), n) }, a[..n] == b[..n], "{a:?} vs {b:?}");
        // As memcmp: the difference of the first differing bytes.
        if let Some(k) = (0..n).find(|&k| a[k] != b[k]) {
            assert_eq!(got, i32::from(a[k]) - i32::from(b[k]));
        }
    }

    #[test]
    fn every_position_and_length() {
        for n in 0..70 {
            let a: Vec<u8> = (0..n as u8).map(|x| x.wrapping_mul(37)).collect();
            check(&a, &a);
            for k in 0..n {
                for delta in [1u8, 0x80, 0xff] {
                    let mut b = a.clone();
                    b[k] = b[k].wrapping_add(delta);
                    check(&a, &b);
                    check(&b, &a);
                    // A later difference does not hide an earlier one.
                    if k + 1 < n {
                        let mut c = b.clone();
                        c[n - 1] = c[n - 1].wrapping_sub(delta);
                        check(&a, &c);
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn orders_as_slices_do(a in proptest::collection::vec(any::<u8>(), 0..80), b in proptest::collection::vec(any::<u8>(), 0..80)) {
            check(&a, &b);
        }

        #[test]
        fn finds_one_difference_anywhere(a in proptest::collection::vec(any::<u8>(), 1..80), at in any::<usize>(), to in any::<u8>()) {
            let mut b = a.clone();
            let k = at % a.len();
            b[k] = to;
            check(&a, &b);
            check(&b, &a);
        }
    }
}
