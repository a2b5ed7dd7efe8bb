//! Probing the index: the scan's per-line questions and verification's confirm.
//!
//! Owns [`IndexView`], the borrowed regions of an index in memory or mapped, and
//! every read of them: the Bloom filter and slot table for each dump line
//! ([`IndexView::may_hold`], pipelined with prefetches), and the records for a hit
//! ([`IndexView::accounts_of`], [`IndexView::raw_account`]).
//!
//! The slot table is linear-probing from each login's home slot
//! ([`super::filter`]); a slot is `fingerprint << 40 | (entry offset + 1)`, 0 when
//! empty, one slot per account; the table ends with at least one empty slot and
//! probing never wraps. The accounts of one login share a home, so they all lie on
//! its probe chain, in file order: [`IndexView::lookup`] collects those whose
//! registered login normalises to the one asked for.

use super::filter::{bloom_mask, bloom_word, fastrange, fingerprint};
use super::layout::{entry_at, Account, AccountId, Group, RawAccount, OFF_BITS, OFF_MASK};
use super::pieces::{Pieces, Region};
use crate::login;
use crate::mem::prefetch;
use crate::verify::Scheme;

/// Records regions smaller than this stay mapped ([`IndexView::release_records`]).
pub const RELEASE_MIN_RECORDS: usize = 512 << 20;

/// Borrowed view of the regions; what the scan holds while probing.
#[derive(Clone, Copy)]
pub struct IndexView<'a> {
    /// The slot table: home slots, then the overflow of the last homes and at
    /// least one empty slot.
    pub slots: &'a [u64],
    /// Number of home slots (`filter::fastrange` picks one).
    pub homes: usize,
    /// The Bloom filter (at least one word).
    pub bloom: &'a [u64],
    /// Groups and their accounts.
    pub records: &'a [u8],
    /// Number of accounts.
    pub accounts: u64,
    /// For a mapped index: the file mapping and its pieces' checksums.
    pub backing: Option<Backing<'a>>,
}

/// Where [`IndexView::may_hold`] found a login's fingerprint: the offset of an
/// account in `records` (what the scan knows of a login it let through).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hint(pub u64);

impl Hint {
    /// No slot known.
    pub const NONE: Hint = Hint(u64::MAX);
}

/// What a view of a mapped index needs besides the regions.
#[derive(Clone, Copy)]
pub struct Backing<'a> {
    /// The file mapping.
    pub map: &'a memmap2::Mmap,
    /// The body's piece checksums: records are read only from checked pieces.
    pub pieces: &'a Pieces,
}

impl<'a> IndexView<'a> {
    /// The home slot of a login hash.
    #[inline(always)]
    fn home(&self, hash: u64) -> usize {
        fastrange(hash, self.homes)
    }

    /// Issues a prefetch for the Bloom word [`IndexView::may_contain`] will read for a
    /// login hash: the scan calls it as it hashes a login, a batch before the filter
    /// reads the word.
    #[inline]
    pub fn prefetch_filter(&self, hash: u64) {
        if let Some(word) = self.bloom.get(bloom_word(hash, self.bloom.len())) {
            prefetch(word);
        }
    }

    /// Issues a prefetch for the slot where the probe chain of a login hash starts:
    /// for a login that passed [`IndexView::may_contain`], before
    /// [`IndexView::slot_hint`] reads it.
    #[inline]
    pub fn prefetch_slot(&self, hash: u64) {
        if let Some(slot) = self.slots.get(self.home(hash)) {
            prefetch(slot);
        }
    }

    /// Whether a login with this hash may be in the index (false: certainly not).
    #[inline]
    pub fn may_contain(&self, hash: u64) -> bool {
        let mask = bloom_mask(hash);
        match self.bloom.get(bloom_word(hash, self.bloom.len())) {
            Some(w) => w & mask == mask,
            None => true, // only in a corrupt mapped index: fall back to the table
        }
    }

    /// Whether a login with this hash may be in the index: its Bloom bits are set and
    /// a slot on its probe chain carries its fingerprint. Reads only the filter and
    /// the slot table, never the records, so the scan can call it for every line of a
    /// dump without faulting in a mapped index's records. A hit is confirmed later
    /// with [`IndexView::accounts_of`]. With a 24-bit fingerprint, a hit for a login
    /// the index does not hold is rare (about one in 10^7 lines that pass the
    /// filter).
    #[inline]
    pub fn may_hold(&self, hash: u64) -> Option<Hint> {
        if !self.may_contain(hash) {
            return None;
        }
        self.slot_hint(hash)
    }

    /// The slot-table half of [`IndexView::may_hold`], for a login that passed the
    /// Bloom filter.
    #[inline]
    pub fn slot_hint(&self, hash: u64) -> Option<Hint> {
        self.fingerprint_matches(hash)
            .next()
            .map(|off| Hint(off as u64))
    }

    /// The `records` offsets of the groups on the probe chain of `hash` whose slot
    /// carries its fingerprint, in probe order. The chain ends at an empty slot or
    /// at the end of the table.
    #[inline]
    fn fingerprint_matches(&self, hash: u64) -> impl Iterator<Item = usize> + 'a {
        let fp = fingerprint(hash);
        let from = self.home(hash).min(self.slots.len());
        self.slots[from..]
            .iter()
            .take_while(|&&slot| slot != 0)
            .filter(move |&&slot| slot >> OFF_BITS == fp)
            // A used slot stores offset + 1; a damaged table's 0 there (found by
            // fuzzing: an overflow in debug builds) points nowhere.
            .filter_map(|&slot| (slot & OFF_MASK).checked_sub(1))
            .map(|off| off as usize)
    }

    /// Collects into `out` (cleared first) the accounts whose normalised login is
    /// `norm` (with `hash` its [`login::hash_normalized`]), in file order: the
    /// entries on the probe chain whose slot carries the hash's fingerprint and
    /// whose registered login normalises to `norm`. `scratch` is a reused buffer.
    /// In a mapped index, an entry is read only from pieces that pass their
    /// checksum.
    pub fn accounts_of(
        &self,
        hash: u64,
        norm: &[u8],
        scratch: &mut Vec<u8>,
        out: &mut Vec<AccountId>,
    ) {
        out.clear();
        for off in self.fingerprint_matches(hash) {
            let Some(e) = entry_at(self.records, off) else {
                continue;
            };
            if !self.records_ok(off..e.end) {
                continue;
            }
            if login::normalize(e.login, scratch) == norm {
                out.push(off as AccountId);
            }
        }
    }

    /// The accounts whose normalised login is `norm` (with `hash` its
    /// [`login::hash_normalized`]); `None` if there are none.
    pub fn lookup(&self, hash: u64, norm: &[u8], scratch: &mut Vec<u8>) -> Option<Group> {
        if !self.may_contain(hash) {
            return None;
        }
        let mut accounts = Vec::new();
        self.accounts_of(hash, norm, scratch, &mut accounts);
        (!accounts.is_empty()).then_some(Group { accounts })
    }

    /// Whether `range` of `records` lies in pieces that pass their checksum (always
    /// for an index in memory).
    fn records_ok(&self, range: std::ops::Range<usize>) -> bool {
        match self.backing {
            Some(b) => b.pieces.ensure(b.map, Region::Records, range, false),
            None => true,
        }
    }

    /// Drops this process's page-table entries for the records from entry `from`
    /// to the end of entry `to` of a large mapped index, so that what verification
    /// read stops counting as resident memory; the pages stay in the page cache
    /// and fault back in when read again. A no-op for an index in memory, or one
    /// whose records are under [`RELEASE_MIN_RECORDS`] (keeping those mapped costs
    /// little and spares the faults of reading them again).
    ///
    /// Why: each page read in `records` is mapped together with up to 15 cached
    /// neighbours (the kernel's fault-around), so checking a few hundred thousand
    /// accounts of a 5 GB index would map nearly all of it, although it is shared,
    /// clean page cache. Verification releases after each batch of accounts; the
    /// scan never reads the records ([`IndexView::may_hold`]).
    pub fn release_records(&self, entries: std::ops::Range<AccountId>) {
        let Some(b) = self.backing else { return };
        if self.records.len() < RELEASE_MIN_RECORDS {
            return;
        }
        let (Ok(from), Ok(to)) = (usize::try_from(entries.start), usize::try_from(entries.end))
        else {
            return;
        };
        let end = entry_at(self.records, to).map_or(self.records.len(), |e| e.end);
        let base = self.records.as_ptr() as usize - b.map.as_ptr() as usize;
        let len = self.records.len();
        // Whole pages only (`release_file_pages` keeps partial ones): a page shared
        // with the next batch is released by a later one.
        // SAFETY: `b.map` is the read-only shared mapping of the index file, and
        // the range lies inside `records`, inside it.
        unsafe { crate::mem::release_file_pages(b.map, base + from.min(len)..base + end.min(len)) };
    }

    /// The entries on the probe chain of `hash` whose slot carries its
    /// fingerprint: the accounts a login with this hash may be (each confirmed by
    /// its login, [`IndexView::account_login`]).
    pub fn candidate_accounts(&self, hash: u64) -> impl Iterator<Item = AccountId> + 'a {
        self.fingerprint_matches(hash).map(|off| off as AccountId)
    }

    /// The login as registered of the account at `id` (`None` in a corrupt index or
    /// a piece that fails its checksum).
    pub fn account_login(&self, id: AccountId) -> Option<&'a [u8]> {
        let at = usize::try_from(id).ok()?;
        let e = entry_at(self.records, at)?;
        self.records_ok(at..e.end).then_some(e.login)
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.accounts as usize
    }

    /// Whether there are no accounts.
    pub fn is_empty(&self) -> bool {
        self.accounts == 0
    }

    /// The account at `id` (`None` only in a corrupt index).
    pub fn account(&self, id: AccountId) -> Option<Account<'a>> {
        self.raw_account(id)?.text()
    }

    /// The account at `id` with its id and login unchecked (`None` only in a
    /// corrupt index: fields out of bounds, a piece that failed its checksum, or a
    /// scheme byte no scheme has).
    pub fn raw_account(&self, id: AccountId) -> Option<RawAccount<'a>> {
        let at = usize::try_from(id).ok()?;
        let e = entry_at(self.records, at)?;
        if !self.records_ok(at..e.end) {
            return None;
        }
        Some(RawAccount {
            id: e.id,
            login: e.login,
            scheme: Scheme::from_u8(e.scheme)?,
            hash: e.data,
        })
    }
}
