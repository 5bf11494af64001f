//! The prefilter sets: which of many patterns occur in a text.
//!
//! A `regex::RegexSet` answers the same question but builds, for each set, a reverse automaton
//! and literal prefilters that only finding match *positions* needs; building them was two thirds
//! of a set's build time (the largest part of loading a bundle once the detectors' own regexes
//! compile lazily). A [`PatternSet`] is the forward automaton alone: a lazy DFA (built as it
//! searches), with a PikeVM over the same NFA for the texts where the lazy DFA gives up (its cache
//! thrashes, or a Unicode word boundary meets a non-ASCII byte). Same syntax, same semantics,
//! same answers as `RegexSet::is_match` and `RegexSet::matches` (a test holds it to them).

use regex_automata::hybrid::dfa::{self, DFA};
use regex_automata::nfa::thompson::{self, NFA, WhichCaptures, pikevm::PikeVM};
use regex_automata::util::pool::Pool;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind};
use regex_syntax::hir::{Capture, Hir, HirKind, Repetition};

/// Scratch space for one search.
struct Caches {
    dfa: dfa::Cache,
    pikevm: thompson::pikevm::Cache,
}

type MakeCaches = Box<dyn Fn() -> Caches + Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>;

/// Patterns matched together; see the module documentation.
pub(super) struct PatternSet {
    dfa: DFA,
    pikevm: PikeVM,
    /// Scratch space per thread; a clone has a pool of its own.
    caches: Pool<Caches, MakeCaches>,
}

impl PatternSet {
    /// Builds the set; `size_limit` bounds the compiled NFA, `dfa_limit` the lazy DFA's cache.
    /// The error is the message a `RegexSet` would give.
    pub(super) fn new<S: AsRef<str>>(
        patterns: &[S],
        size_limit: usize,
        dfa_limit: usize,
    ) -> Result<PatternSet, String> {
        let nfa = PatternSet::compiler(size_limit)
            .syntax(syntax::Config::new().utf8(true).unicode(true))
            .build_many(patterns)
            .map_err(size_message)?;
        PatternSet::from_nfa(nfa, dfa_limit)
    }

    /// A prefilter: a set whose answers may include patterns that do not match, never leave out
    /// one that does. Each pattern's bounded repetitions lose their upper bound (`x{1,15}`
    /// becomes `x{1,}`; `x{4}` and `x?` stay): the language of each pattern only grows, and the
    /// lazy DFA no longer tracks every count of every repetition that may have started at every
    /// position at once. On the distinct values of a generated `mci` day that cuts the DFA states
    /// a search builds from 7.2 to 2.8 MB and the time to build them by half, a cost every thread
    /// of every audit pays anew. The error is the first pattern that does not parse.
    pub(super) fn prefilter<S: AsRef<str>>(
        patterns: &[S],
        size_limit: usize,
        dfa_limit: usize,
    ) -> Result<PatternSet, String> {
        let hirs = patterns
            .iter()
            .map(|p| super::spec::parse(p.as_ref()).map(|h| unbounded(&h)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let nfa = PatternSet::compiler(size_limit).build_many_from_hir(&hirs).map_err(size_message)?;
        PatternSet::from_nfa(nfa, dfa_limit)
    }

    fn compiler(size_limit: usize) -> thompson::Compiler {
        let mut c = thompson::Compiler::new();
        c.configure(
            thompson::Config::new()
                .utf8(true)
                .which_captures(WhichCaptures::None)
                .nfa_size_limit(Some(size_limit))
                .shrink(false),
        );
        c
    }

    fn from_nfa(nfa: NFA, dfa_limit: usize) -> Result<PatternSet, String> {
        let dfa = DFA::builder()
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .unicode_word_boundary(true)
                    .cache_capacity(dfa_limit)
                    // A cache too small for the NFA makes every search give up and fall back to
                    // the PikeVM, instead of failing the build.
                    .skip_cache_capacity_check(true)
                    .minimum_cache_clear_count(Some(3))
                    .minimum_bytes_per_state(Some(10)),
            )
            .build_from_nfa(nfa.clone())
            .map_err(|e| e.to_string())?;
        let pikevm = PikeVM::builder()
            .configure(PikeVM::config().match_kind(MatchKind::All))
            .build_from_nfa(nfa)
            .map_err(|e| e.to_string())?;
        let caches = PatternSet::pool(&dfa, &pikevm);
        Ok(PatternSet { dfa, pikevm, caches })
    }

    fn pool(dfa: &DFA, pikevm: &PikeVM) -> Pool<Caches, MakeCaches> {
        let (dfa, pikevm) = (dfa.clone(), pikevm.clone());
        Pool::new(Box::new(move || Caches { dfa: dfa.create_cache(), pikevm: pikevm.create_cache() }))
    }

    /// How many patterns the set holds.
    pub(super) fn len(&self) -> usize {
        self.dfa.pattern_len()
    }

    /// How often this thread's lazy-DFA cache has been cleared (tests).
    #[cfg(test)]
    pub(super) fn dfa_clears(&self) -> usize {
        self.caches.get().dfa.clear_count()
    }

    /// Whether any pattern matches `hay`.
    pub(super) fn is_match(&self, hay: &str) -> bool {
        let mut caches = self.caches.get();
        let input = Input::new(hay).earliest(true);
        match self.dfa.try_search_fwd(&mut caches.dfa, &input) {
            Ok(found) => found.is_some(),
            Err(_) => self.pikevm.is_match(&mut caches.pikevm, input),
        }
    }

    /// The patterns that match `hay`.
    pub(super) fn matches(&self, hay: &str) -> Matches {
        let mut set = regex_automata::PatternSet::new(self.len());
        let mut caches = self.caches.get();
        if self.walk(&mut caches.dfa, hay, &mut set).is_none() {
            set.clear();
            self.pikevm.which_overlapping_matches(&mut caches.pikevm, &Input::new(hay), &mut set);
        }
        Matches(set)
    }

    /// The patterns of every match state the lazy DFA passes through on `hay`: what
    /// `try_which_overlapping_matches` finds, without stopping at each match to report it (many
    /// patterns match at many places in a long text; the overlapping search returned to its
    /// caller for each). `None` where the lazy DFA gives up; the caller then asks the PikeVM.
    /// (One difference, on the safe side: the overlapping search leaves out empty matches inside
    /// a UTF-8 character, the walk does not; a prefilter may name a pattern that does not match,
    /// never leave out one that does.)
    fn walk(&self, cache: &mut dfa::Cache, hay: &str, set: &mut regex_automata::PatternSet) -> Option<()> {
        // The search's progress, which the lazy DFA weighs against its cache clears
        // (`minimum_bytes_per_state`) before it gives up.
        cache.search_start(0);
        let found = self.walk_states(cache, hay, set);
        cache.search_finish(hay.len());
        found
    }

    fn walk_states(&self, cache: &mut dfa::Cache, hay: &str, set: &mut regex_automata::PatternSet) -> Option<()> {
        let mut sid = self.dfa.start_state_forward(cache, &Input::new(hay)).ok()?;
        // The last match state recorded, and the cache's clear count then: a cleared cache
        // hands out the same ids to other states.
        let mut last_match = None;
        let mut record = |sid: regex_automata::hybrid::LazyStateID, cache: &dfa::Cache| {
            // The same match state again names the same patterns.
            if last_match != Some((sid, cache.clear_count())) {
                for i in 0..self.dfa.match_len(cache, sid) {
                    let _ = set.try_insert(self.dfa.match_pattern(cache, sid, i));
                }
                last_match = Some((sid, cache.clear_count()));
            }
        };
        for (at, &b) in hay.as_bytes().iter().enumerate() {
            // Every 64 bytes is close enough for that measure, and costs less than every byte.
            if at % 64 == 0 {
                cache.search_update(at);
            }
            sid = self.dfa.next_state(cache, sid, b).ok()?;
            if sid.is_tagged() {
                if sid.is_quit() || sid.is_unknown() {
                    return None;
                }
                if sid.is_dead() {
                    return Some(());
                }
                if sid.is_match() {
                    record(sid, cache);
                }
            }
        }
        cache.search_update(hay.len());
        sid = self.dfa.next_eoi_state(cache, sid).ok()?;
        if sid.is_quit() || sid.is_unknown() {
            return None;
        }
        if sid.is_match() {
            record(sid, cache);
        }
        Some(())
    }
}

/// The patterns of a [`PatternSet`] that matched a text.
pub(super) struct Matches(regex_automata::PatternSet);

impl Matches {
    /// Their indexes, in increasing order.
    pub(super) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().map(|p| p.as_usize())
    }
}

/// The message a `RegexSet` gives for the same failure.
fn size_message(e: thompson::BuildError) -> String {
    match e.size_limit() {
        Some(limit) => format!("Compiled regex exceeds size limit of {limit} bytes."),
        None => e.to_string(),
    }
}

/// `hir` with the upper bound of every repetition that has a range (`{m,n}`, `n > m`) dropped:
/// it matches everything `hir` matches, and more.
fn unbounded(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            min: r.min,
            max: r.max.filter(|&max| max <= r.min),
            greedy: r.greedy,
            sub: Box::new(unbounded(&r.sub)),
        }),
        HirKind::Capture(c) => {
            Hir::capture(Capture { index: c.index, name: c.name.clone(), sub: Box::new(unbounded(&c.sub)) })
        }
        HirKind::Concat(v) => Hir::concat(v.iter().map(unbounded).collect()),
        HirKind::Alternation(v) => Hir::alternation(v.iter().map(unbounded).collect()),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => hir.clone(),
    }
}

impl Clone for PatternSet {
    fn clone(&self) -> PatternSet {
        PatternSet {
            dfa: self.dfa.clone(),
            pikevm: self.pikevm.clone(),
            caches: PatternSet::pool(&self.dfa, &self.pikevm),
        }
    }
}

impl std::fmt::Debug for PatternSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatternSet").field("patterns", &self.len()).finish()
    }
}
