//! The plugin's memory allocator: size classes with free lists for small blocks, the C library's
//! `malloc` (wasi-libc's dlmalloc) for the rest.
//!
//! A decision allocates and frees many small blocks (field paths, values, findings, the reply):
//! under dlmalloc they cost about a tenth of a decision in wasm, three times their share natively.
//! Here a block of up to [`MAX_SMALL`] bytes (alignment up to [`ALIGN`]) is taken from, and given
//! back to, the free list of its size class: a few instructions each way. Lists are refilled from
//! 64 KiB regions of the backing allocator. Small blocks are never given back to it, so guest
//! memory is bounded by the most small blocks of each class ever live at once (flat over a million
//! decisions, `crates/scopecheck-host/benches/decide.rs`), plus the classes' rounding (at most
//! 25 % above 128 bytes, 15 bytes below).
//!
//! The allocator is single-threaded (`Sync` only on wasm32 without threads). It is generic over
//! its backing allocator so that the tests run it natively over `System`.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;

/// Alignment of every small block (and of every class size).
pub const ALIGN: usize = 16;
/// Largest small block.
pub const MAX_SMALL: usize = 4096;
/// Bytes asked of the backing allocator when the small blocks run out.
const REGION: usize = 64 << 10;

/// Class sizes: multiples of 16 up to 128, then four classes per doubling up to [`MAX_SMALL`].
const CLASSES: [usize; 28] = [
    16, 32, 48, 64, 80, 96, 112, 128, // step 16
    160, 192, 224, 256, // step 32
    320, 384, 448, 512, // step 64
    640, 768, 896, 1024, // step 128
    1280, 1536, 1792, 2048, // step 256
    2560, 3072, 3584, 4096, // step 512
];

/// Whether a block of `size` bytes at `align` is small: served by the size classes. `alloc`,
/// `dealloc` and `realloc` all route by this one rule, so a block goes back where it came from.
#[inline]
fn small(size: usize, align: usize) -> bool {
    size <= MAX_SMALL && align <= ALIGN
}

/// The class of a small block of `size` bytes (1..=MAX_SMALL): the smallest class that holds it.
#[inline]
fn class_of(size: usize) -> usize {
    if size <= 128 {
        return (size.saturating_sub(1)) >> 4;
    }
    // Above 128: four classes per power of two. `size - 1` has its top bit at `log` (7..=11);
    // the two bits below it pick the quarter.
    let s = size - 1;
    let log = (usize::BITS - 1 - s.leading_zeros()) as usize;
    let quarter = (s >> (log - 2)) & 3;
    8 + (log - 7) * 4 + quarter
}

struct State {
    /// Head of each class's free list (a free block's first word links to the next), or null.
    free: [*mut u8; CLASSES.len()],
    /// The unused rest of the current region: `[next, end)`.
    next: *mut u8,
    end: *mut u8,
}

/// Size-class allocator over `B`.
pub struct SmallAlloc<B> {
    backing: B,
    state: UnsafeCell<State>,
}

// SAFETY: the plugin runs on one thread: wasm32 without the `atomics` feature has no other.
// Elsewhere the allocator is not `Sync` (the tests use their own, from one thread).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
unsafe impl<B: Sync> Sync for SmallAlloc<B> {}

impl<B> SmallAlloc<B> {
    pub const fn new(backing: B) -> SmallAlloc<B> {
        SmallAlloc {
            backing,
            state: UnsafeCell::new(State {
                free: [std::ptr::null_mut(); CLASSES.len()],
                next: std::ptr::null_mut(),
                end: std::ptr::null_mut(),
            }),
        }
    }
}

impl<B: GlobalAlloc> SmallAlloc<B> {
    /// A block for a small layout: from its class's free list, else carved from the current
    /// region, else from a new region. Null when the backing allocator has no more memory.
    #[inline]
    unsafe fn alloc_small(&self, layout: Layout) -> *mut u8 {
        let c = class_of(layout.size());
        // SAFETY: single-threaded (see `Sync`), and no reference into the state outlives this call.
        let st = unsafe { &mut *self.state.get() };
        let (Some(head), Some(&size)) = (st.free.get_mut(c), CLASSES.get(c)) else {
            // SAFETY: as `GlobalAlloc::alloc` requires (not reached: every small size has a class).
            return unsafe { self.backing.alloc(layout) };
        };
        let block = *head;
        if !block.is_null() {
            // SAFETY: a free block's first word holds the next free block (written by `dealloc`).
            *head = unsafe { block.cast::<*mut u8>().read() };
            return block;
        }
        if (st.end as usize) - (st.next as usize) < size {
            // SAFETY: the layout has a non-zero size and a valid alignment.
            let region = unsafe { self.backing.alloc(Layout::from_size_align_unchecked(REGION, ALIGN)) };
            if region.is_null() {
                return region;
            }
            // The old region's tail (under one block) is left unused.
            st.next = region;
            // SAFETY: `region` holds REGION bytes.
            st.end = unsafe { region.add(REGION) };
        }
        let block = st.next;
        // SAFETY: at least `size` bytes are left in the region.
        st.next = unsafe { block.add(size) };
        block
    }
}

// SAFETY: every block returned holds `layout.size()` bytes at `layout.align()`: small blocks are
// class-sized (≥ the size) and 16-aligned (regions are 16-aligned and class sizes multiples of
// 16); a block is on at most one free list, and only once it was given back.
unsafe impl<B: GlobalAlloc> GlobalAlloc for SmallAlloc<B> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if small(layout.size(), layout.align()) {
            // SAFETY: as the trait requires.
            unsafe { self.alloc_small(layout) }
        } else {
            // SAFETY: as the trait requires.
            unsafe { self.backing.alloc(layout) }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if small(layout.size(), layout.align()) {
            // SAFETY: single-threaded, and no reference into the state outlives this call.
            let st = unsafe { &mut *self.state.get() };
            match st.free.get_mut(class_of(layout.size())) {
                Some(head) => {
                    // SAFETY: `ptr` is a live block of this class (the caller gives the layout it
                    // was allocated with), at least 16 bytes and 16-aligned: room for the link.
                    unsafe { ptr.cast::<*mut u8>().write(*head) };
                    *head = ptr;
                }
                // As `alloc_small` does for a size without a class (not reached).
                // SAFETY: such a block came from the backing allocator with this layout.
                None => unsafe { self.backing.dealloc(ptr, layout) },
            }
        } else {
            // SAFETY: a large block came from the backing allocator with this layout.
            unsafe { self.backing.dealloc(ptr, layout) }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if small(layout.size(), layout.align()) {
            // SAFETY: as the trait requires.
            let p = unsafe { self.alloc_small(layout) };
            if !p.is_null() {
                // SAFETY: the block holds `layout.size()` bytes.
                unsafe { p.write_bytes(0, layout.size()) };
            }
            p
        } else {
            // SAFETY: as the trait requires.
            unsafe { self.backing.alloc_zeroed(layout) }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old_small = small(layout.size(), layout.align());
        let new_small = small(new_size, layout.align());
        if old_small && new_small && class_of(layout.size()) == class_of(new_size) {
            return ptr;
        }
        if !old_small && !new_small {
            // SAFETY: both large: the backing allocator's own block and layout.
            return unsafe { self.backing.realloc(ptr, layout, new_size) };
        }
        // SAFETY: `new_size` is non-zero and, rounded to the alignment, fits `isize` (the
        // trait's contract).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as the trait requires.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks hold at least the smaller size and do not overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use proptest::prelude::*;
    use std::alloc::System;

    #[test]
    fn classes_hold_their_sizes_and_are_the_smallest_that_do() {
        for size in 1..=MAX_SMALL {
            let c = class_of(size);
            assert!(CLASSES[c] >= size, "size {size}: class {c} ({})", CLASSES[c]);
            if c > 0 {
                assert!(CLASSES[c - 1] < size, "size {size} fits class {} already", c - 1);
            }
            assert_eq!(CLASSES[c] % ALIGN, 0);
        }
        assert_eq!(class_of(MAX_SMALL), CLASSES.len() - 1);
        for w in CLASSES.windows(2) {
            assert!(w[0] < w[1]);
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Alloc(usize, usize),
        AllocZeroed(usize),
        Free(usize),
        Realloc(usize, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        let size = prop_oneof![1usize..=160, 1usize..=MAX_SMALL + 64, 1usize..=3 * REGION];
        prop_oneof![
            4 => (size.clone(), prop_oneof![Just(1usize), Just(8), Just(16), Just(64)]).prop_map(|(s, a)| Op::Alloc(s, a)),
            1 => size.clone().prop_map(Op::AllocZeroed),
            3 => any::<usize>().prop_map(Op::Free),
            2 => (any::<usize>(), size).prop_map(|(i, s)| Op::Realloc(i, s)),
        ]
    }

    /// Blocks keep their contents, are aligned, and never overlap, whatever the order of calls.
    fn run(ops: &[Op]) {
        let a = SmallAlloc::new(System);
        // (ptr, layout, fill byte)
        let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
        let check = |live: &[(*mut u8, Layout, u8)]| {
            for &(p, l, fill) in live {
                let bytes = unsafe { std::slice::from_raw_parts(p, l.size()) };
                assert!(bytes.iter().all(|&b| b == fill), "a block of {} bytes lost its contents", l.size());
                assert_eq!(p as usize % l.align(), 0);
            }
            let mut spans: Vec<(usize, usize)> =
                live.iter().map(|&(p, l, _)| (p as usize, p as usize + l.size())).collect();
            spans.sort_unstable();
            for w in spans.windows(2) {
                assert!(w[0].1 <= w[1].0, "blocks overlap");
            }
        };
        for (n, op) in ops.iter().enumerate() {
            let fill = (n % 251) as u8;
            match *op {
                Op::Alloc(size, align) => {
                    let l = Layout::from_size_align(size, align).unwrap();
                    let p = unsafe { a.alloc(l) };
                    assert!(!p.is_null());
                    unsafe { p.write_bytes(fill, size) };
                    live.push((p, l, fill));
                }
                Op::AllocZeroed(size) => {
                    // Reused blocks held data and a free-list link: all of it must be zeroed.
                    let l = Layout::from_size_align(size, 8).unwrap();
                    let p = unsafe { a.alloc_zeroed(l) };
                    assert!(!p.is_null());
                    assert!(unsafe { std::slice::from_raw_parts(p, size) }.iter().all(|&b| b == 0));
                    unsafe { p.write_bytes(fill, size) };
                    live.push((p, l, fill));
                }
                Op::Free(i) if !live.is_empty() => {
                    let (p, l, _) = live.swap_remove(i % live.len());
                    unsafe { a.dealloc(p, l) };
                }
                Op::Realloc(i, size) if !live.is_empty() => {
                    let k = i % live.len();
                    let (p, l, old) = live[k];
                    let q = unsafe { a.realloc(p, l, size) };
                    assert!(!q.is_null());
                    let kept = unsafe { std::slice::from_raw_parts(q, l.size().min(size)) };
                    assert!(kept.iter().all(|&b| b == old), "realloc lost contents");
                    unsafe { q.write_bytes(fill, size) };
                    live[k] = (q, Layout::from_size_align(size, l.align()).unwrap(), fill);
                }
                _ => {}
            }
            // Every block's contents every few calls (reading them all each call is slow).
            if n % 16 == 15 || n + 1 == ops.len() {
                check(&live);
            }
        }
        for (p, l, _) in live {
            unsafe { a.dealloc(p, l) };
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        #[test]
        fn blocks_keep_their_contents(ops in proptest::collection::vec(op(), 1..300)) {
            run(&ops);
        }
    }

    #[test]
    fn freed_blocks_are_reused() {
        let a = SmallAlloc::new(System);
        let l = Layout::from_size_align(40, 8).unwrap();
        let p = unsafe { a.alloc(l) };
        unsafe { a.dealloc(p, l) };
        // Another size of the same class gets the same block back.
        let q = unsafe { a.alloc(Layout::from_size_align(33, 1).unwrap()) };
        assert_eq!(p, q);
        // Growing within the class keeps the block; past it moves.
        let r = unsafe { a.realloc(q, Layout::from_size_align(33, 1).unwrap(), 48) };
        assert_eq!(r, q);
        let s = unsafe { a.realloc(r, Layout::from_size_align(48, 1).unwrap(), 49) };
        assert_ne!(s, r);
        unsafe { a.dealloc(s, Layout::from_size_align(49, 1).unwrap()) };
    }

    #[test]
    fn many_blocks_span_regions() {
        // 3072 does not divide a region: each region leaves a tail too short for a block.
        let a = SmallAlloc::new(System);
        let l = Layout::from_size_align(3000, 16).unwrap();
        let blocks: Vec<*mut u8> = (0..3 * REGION / 3072).map(|_| unsafe { a.alloc(l) }).collect();
        for (i, &p) in blocks.iter().enumerate() {
            assert_eq!(p as usize % ALIGN, 0);
            unsafe { p.write_bytes(i as u8, 3000) };
        }
        let mut spans: Vec<(usize, usize)> = blocks.iter().map(|&p| (p as usize, p as usize + 3072)).collect();
        spans.sort_unstable();
        for w in spans.windows(2) {
            assert!(w[0].1 <= w[1].0, "blocks overlap");
        }
        for (i, &p) in blocks.iter().enumerate() {
            assert!(unsafe { std::slice::from_raw_parts(p, 3000) }.iter().all(|&b| b == i as u8));
            unsafe { a.dealloc(p, l) };
        }
    }
}
