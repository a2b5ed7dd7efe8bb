//! What the hot loop asks of each login it hashes: an index, or a collector.
//!
//! [`Probe`] is the scan's side of the customer index. Against an [`IndexView`]
//! each login is looked up (Bloom word prefetched as it is hashed, filter, slot)
//! and the logins the index may hold become candidates. A [`LoginCollector`]
//! instead only notes every login hash and lets nothing through: the first pass of
//! a scan that builds its index from the customers the dumps name
//! ([`crate::plan`]). Both run the same parse, so they see the same logins.

use crate::index::{Hint, IndexView};

/// The scan's questions about one login hash.
pub trait Probe: Send {
    /// A login was hashed; its probes follow a batch later (an index prefetches
    /// the Bloom word here).
    fn hashed(&mut self, hash: u64);
    /// Whether the login may be a customer's (false: certainly not).
    fn may_contain(&self, hash: u64) -> bool;
    /// A login passed [`Probe::may_contain`]; its slot is read a batch later.
    fn prefetch_slot(&self, hash: u64);
    /// Where a login that passed the filter may be, if anywhere.
    fn slot_hint(&self, hash: u64) -> Option<Hint>;
    /// The unit of work this probe served is done.
    fn unit_done(&mut self) {}
    /// All of the above at once, for a login looked up on its own.
    fn may_hold(&mut self, hash: u64) -> Option<Hint> {
        self.hashed(hash);
        if self.may_contain(hash) {
            self.slot_hint(hash)
        } else {
            None
        }
    }
}

impl Probe for IndexView<'_> {
    #[inline(always)]
    fn hashed(&mut self, hash: u64) {
        self.prefetch_filter(hash);
    }

    #[inline(always)]
    fn may_contain(&self, hash: u64) -> bool {
        IndexView::may_contain(self, hash)
    }

    #[inline(always)]
    fn prefetch_slot(&self, hash: u64) {
        IndexView::prefetch_slot(self, hash)
    }

    #[inline(always)]
    fn slot_hint(&self, hash: u64) -> Option<Hint> {
        IndexView::slot_hint(self, hash)
    }
}

/// Notes every login hash a scan sees, and lets none through.
#[derive(Debug, Default)]
pub struct LoginCollector {
    /// The hashes, as seen (sorted and deduplicated at the end of each unit).
    pub hashes: Vec<u64>,
}

impl Probe for LoginCollector {
    /// Sorts and deduplicates what the unit collected.
    fn unit_done(&mut self) {
        radsort::sort(&mut self.hashes);
        self.hashes.dedup();
    }

    #[inline(always)]
    fn hashed(&mut self, hash: u64) {
        self.hashes.push(hash);
    }

    #[inline(always)]
    fn may_contain(&self, _hash: u64) -> bool {
        false
    }

    fn prefetch_slot(&self, _hash: u64) {}

    fn slot_hint(&self, _hash: u64) -> Option<Hint> {
        None
    }
}
