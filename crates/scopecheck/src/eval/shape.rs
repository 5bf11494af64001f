//! Shape planning: an event's leaf paths, interned and put in visiting order once per distinct
//! sequence of paths, so repeated shapes cost a hash lookup.

use super::{Evaluator, PathInfo};
use crate::observe::Capture;
use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

/// An event's leaf paths, interned, and the order the evaluator visits them in.
#[derive(Debug)]
pub(super) struct Shape {
    /// Unique in its evaluator (the key of its field memos).
    pub(super) id: u64,
    /// Kept in the shape cache (a shape too large for it is planned again each time, and its
    /// fields are not remembered).
    pub(super) cached: bool,
    /// (path id, leaf index), sorted by path name, then document order.
    pub(super) order: Box<[(u32, u32)]>,
    /// What the scope and the names say of each path, in `order`'s group order.
    pub(super) infos: Box<[Arc<PathInfo>]>,
}

/// A planned shape with what it was planned for ([`Capture::shape_parts`]). Looked up by the
/// event's [`Capture::shape_hash`] and compared part by part: no key is built per event.
#[derive(Debug)]
pub(super) struct ShapeEntry {
    hash: u64,
    paths: Box<str>,
    ends: Box<[u32]>,
    leaves: Box<[u32]>,
    shape: Arc<Shape>,
}

impl ShapeEntry {
    fn matches(&self, cap: &Capture<'_>) -> bool {
        let (paths, ends, leaves) = cap.shape_parts();
        crate::bytes::str_eq(&self.paths, paths) && *self.ends == *ends && *self.leaves == *leaves
    }
}

/// The bytes a cache entry for these shape parts holds, for the cache's bound.
fn shape_bytes(paths: &str, ends: &[u32], leaves: &[u32]) -> usize {
    paths.len() + 4 * (ends.len() + leaves.len())
}

/// The shape cache is emptied when its entries' keys pass this size (bytes).
const MAX_SHAPE_BYTES: usize = 8 << 20;
/// Events whose paths are longer than this (bytes) are not cached.
const MAX_SHAPE_KEY: usize = 64 << 10;

impl Evaluator {
    /// The event's leaf paths, interned and in visiting order; planned once per distinct shape.
    pub(super) fn shape_of(&mut self, cap: &Capture<'_>) -> Arc<Shape> {
        let hash = cap.shape_hash();
        if let Some(e) = self.shapes.find(hash, |e| e.hash == hash && e.matches(cap)) {
            return Arc::clone(&e.shape);
        }
        // Each distinct path is interned and ranked by name once; leaves are then ordered by
        // (rank, document order) with integer comparisons, however long the paths.
        let ids: Vec<u32> = cap.distinct_paths().map(|p| self.strings.intern(p)).collect();
        let mut by_name: Vec<u32> = ids.clone();
        by_name.sort_by(|a, b| self.strings.get(*a).cmp(self.strings.get(*b)));
        by_name.dedup();
        let rank: HashMap<u32, u32> =
            by_name.iter().enumerate().map(|(r, id)| (*id, u32::try_from(r).unwrap_or(u32::MAX))).collect();
        let mut order: Vec<(u32, u32, u32)> = Vec::with_capacity(cap.leaf_count());
        for (i, d) in cap.leaf_paths().iter().enumerate() {
            let id = ids.get(*d as usize).copied().unwrap_or(u32::MAX);
            let r = rank.get(&id).copied().unwrap_or(u32::MAX);
            order.push((r, u32::try_from(i).unwrap_or(u32::MAX), id));
        }
        order.sort_unstable();
        let order: Vec<(u32, u32)> = order.into_iter().map(|(_, i, id)| (id, i)).collect();
        let mut infos = Vec::new();
        for group in order.chunk_by(|a, b| a.0 == b.0) {
            if let Some(&(path_id, _)) = group.first() {
                infos.push(self.path_info(path_id));
            }
        }
        let (paths, ends, leaves) = cap.shape_parts();
        let len = shape_bytes(paths, ends, leaves);
        let cached = self.use_cache && len <= MAX_SHAPE_KEY;
        self.next_shape_id += 1;
        let shape = Arc::new(Shape { id: self.next_shape_id, cached, order: order.into(), infos: infos.into() });
        let entry = ShapeEntry {
            hash,
            paths: paths.into(),
            ends: ends.into(),
            leaves: leaves.into(),
            shape: Arc::clone(&shape),
        };
        if cached {
            if self.shape_bytes + len > MAX_SHAPE_BYTES {
                self.shapes.clear();
                self.shape_bytes = 0;
                self.clear_field_memos();
            }
            self.shape_bytes += len;
            self.shapes.insert_unique(hash, entry, |e| e.hash);
        }
        shape
    }
}
