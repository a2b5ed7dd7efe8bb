//! Probing the index: the scan's per-line questions and verification's confirm.
//!
//! Owns [`IndexView`], the borrowed regions of an index in memory or mapped, and
//! every read of them: the Bloom filter and slot table for each dump line
//! ([`IndexView::may_hold`], pipelined with prefetches), and the records for a hit
//! ([`IndexView::confirm`], [`IndexView::raw_account`]).

use super::filter::bloom_key;
use super::layout::{
    entry_len, u16_at, u32_at, u64_at, Account, AccountId, Group, RawAccount, ENTRY_HEADER,
    GROUP_HEADER, OFF_BITS, OFF_MASK,
};
use super::pieces::Pieces;
use crate::login;
use crate::mem::prefetch;
use crate::verify::Scheme;

/// Records regions smaller than this stay mapped ([`IndexView::release_records`]).
pub const RELEASE_MIN_RECORDS: usize = 512 << 20;

/// Borrowed view of the two regions; what the scan holds while probing.
#[derive(Clone, Copy)]
pub struct IndexView<'a> {
    /// The hash table.
    pub slots: &'a [u64],
    /// The Bloom filter (a power-of-two number of words, at least one).
    pub bloom: &'a [u64],
    /// Groups and their accounts.
    pub records: &'a [u8],
    /// Number of accounts.
    pub accounts: u64,
    /// For a mapped index: the file mapping and where `records` starts in it.
    pub backing: Option<Backing<'a>>,
}

/// Where [`IndexView::may_hold`] found a login's fingerprint: the offset of a group
/// in `records`, to be confirmed by [`IndexView::confirm`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hint(pub u64);

/// What a view of a mapped index needs besides the regions.
#[derive(Clone, Copy)]
pub struct Backing<'a> {
    /// The file mapping.
    pub map: &'a memmap2::Mmap,
    /// Where `records` starts in it.
    pub records: usize,
    /// The body's piece checksums: records are read only from checked pieces.
    pub pieces: &'a Pieces,
}

impl<'a> IndexView<'a> {
    /// Issues a prefetch for the Bloom word [`IndexView::may_contain`] will read for a
    /// login hash: the scan calls it as it hashes a login, a batch before the filter
    /// reads the word.
    #[inline]
    pub fn prefetch_filter(&self, hash: u64) {
        if let Some(word) = self.bloom.get(bloom_key(hash, self.bloom.len()).0) {
            prefetch(word);
        }
    }

    /// Issues a prefetch for the slot where the probe chain of a login hash starts:
    /// for a login that passed [`IndexView::may_contain`], before
    /// [`IndexView::slot_hint`] reads it.
    #[inline]
    pub fn prefetch_slot(&self, hash: u64) {
        if let Some(slot) = self
            .slots
            .get((hash as usize) & self.slots.len().wrapping_sub(1))
        {
            prefetch(slot);
        }
    }

    /// Whether a login with this hash may be in the index (false: certainly not).
    #[inline]
    pub fn may_contain(&self, hash: u64) -> bool {
        if !self.bloom.len().is_power_of_two() {
            return true; // only in a corrupt mapped index: fall back to the table
        }
        let (word, mask) = bloom_key(hash, self.bloom.len());
        self.bloom[word] & mask == mask
    }

    /// Whether a login with this hash may be in the index: its Bloom bits are set and
    /// a slot on its probe chain carries its fingerprint. Reads only the filter and
    /// the slot table, never the records, so the scan can call it for every line of a
    /// dump without faulting in a mapped index's records. A hit is confirmed later
    /// with [`IndexView::confirm`], given the [`Hint`] returned here. With a 24-bit
    /// fingerprint, a hit for a login the index does not hold is rare (about one in
    /// 10^7 lines that pass the filter).
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
    /// carries its fingerprint, in probe order. The chain ends at an empty slot, or
    /// after `n` probes in a corrupt table with no empty slot.
    #[inline]
    fn fingerprint_matches(&self, hash: u64) -> impl Iterator<Item = usize> + 'a {
        let slots = self.slots;
        let mask = slots.len().wrapping_sub(1);
        let fp = hash >> OFF_BITS;
        let start = hash as usize;
        (0..slots.len())
            .map(move |k| slots[start.wrapping_add(k) & mask])
            .take_while(|&slot| slot != 0)
            .filter(move |&slot| slot >> OFF_BITS == fp)
            .map(|slot| ((slot & OFF_MASK) - 1) as usize * 8)
    }

    /// The accounts whose normalised login is `norm` (with `hash` its
    /// [`login::hash_normalized`]), for a login [`IndexView::may_hold`] let through
    /// with `hint`: the hinted group is checked first (full hash, then the login's
    /// bytes), so confirming a hit usually reads one record and neither the filter
    /// nor the slot table; on a mismatch the probe chain is walked as usual.
    pub fn confirm(
        &self,
        hash: u64,
        hint: Hint,
        norm: &[u8],
        scratch: &mut Vec<u8>,
    ) -> Option<Group<'a>> {
        let mut same = |registered: &[u8]| login::normalize(registered, scratch) == norm;
        if let Some((g, h)) = usize::try_from(hint.0).ok().and_then(|o| self.group_at(o)) {
            if h == hash && self.first_login_is(g, &mut same) {
                return Some(g);
            }
        }
        self.probe_chain(hash, same)
    }

    /// The accounts whose normalised login is `norm` (with `hash` its
    /// [`login::hash_normalized`]). `scratch` is a reused buffer for confirming the
    /// login.
    #[inline]
    pub fn lookup(&self, hash: u64, norm: &[u8], scratch: &mut Vec<u8>) -> Option<Group<'a>> {
        if !self.may_contain(hash) {
            return None;
        }
        self.probe_chain(hash, |registered| {
            login::normalize(registered, scratch) == norm
        })
    }

    /// Walks the probe chain of `hash` for the group whose registered login
    /// `same_login` accepts. The callback runs only on a full 64-bit hash match.
    #[inline]
    fn probe_chain(
        &self,
        hash: u64,
        mut same_login: impl FnMut(&'a [u8]) -> bool,
    ) -> Option<Group<'a>> {
        self.fingerprint_matches(hash).find_map(|off| {
            let (g, h) = self.group_at(off)?;
            (h == hash && self.first_login_is(g, &mut same_login)).then_some(g)
        })
    }

    /// Whether `same_login` accepts the registered login of the group's first account
    /// (every account of a group has the same normalised login).
    #[inline]
    fn first_login_is(&self, g: Group<'a>, same_login: &mut impl FnMut(&'a [u8]) -> bool) -> bool {
        let first = g.accounts().next().and_then(|a| self.entry(a));
        first.is_some_and(|(_, a)| same_login(a.login))
    }

    /// The group at `off`, with its login hash. In a mapped index, the bytes of the
    /// whole group (header and every entry) must lie in pieces that pass their
    /// checksum.
    fn group_at(&self, off: usize) -> Option<(Group<'a>, u64)> {
        let hash = u64_at(self.records, off)?;
        let count = u32_at(self.records, off.checked_add(8)?)?;
        let group = Group {
            records: self.records,
            first: off.checked_add(GROUP_HEADER)?,
            count,
        };
        if self.backing.is_some() {
            let mut end = group.first;
            for _ in 0..count {
                end = end.checked_add(entry_len(self.records, end)?)?;
            }
            if !self.records_ok(off..end) {
                return None;
            }
        }
        Some((group, hash))
    }

    /// Whether `range` of `records` lies in pieces that pass their checksum (always
    /// for an index in memory).
    fn records_ok(&self, range: std::ops::Range<usize>) -> bool {
        match self.backing {
            Some(b) => b.pieces.ensure(
                b.map,
                b.records.saturating_add(range.start)..b.records.saturating_add(range.end),
                false,
            ),
            None => true,
        }
    }

    /// Drops this process's page-table entries for the records of a large mapped
    /// index, so that what verification reads stops counting as resident
    /// memory; the pages stay in the page cache and fault back in when read again.
    /// A no-op for an index in memory, or one whose records are under
    /// [`RELEASE_MIN_RECORDS`] (keeping those mapped costs little and spares the
    /// faults of reading them again).
    ///
    /// Why: each page read in `records` is mapped together with up to 15 cached
    /// neighbours (the kernel's fault-around), so checking a few hundred thousand
    /// accounts of a 4 GB index would map nearly all of it, although it is shared,
    /// clean page cache. Verification releases after each batch of
    /// accounts; the scan never reads the records ([`IndexView::may_hold`]).
    pub fn release_records(&self) {
        if let Some(b) = self.backing {
            if b.map.len() - b.records >= RELEASE_MIN_RECORDS {
                // SAFETY: `b.map` is the read-only shared mapping of the index file.
                unsafe { crate::mem::release_file_pages(b.map, b.records..b.map.len()) };
            }
        }
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
    /// corrupt index).
    pub fn raw_account(&self, id: AccountId) -> Option<RawAccount<'a>> {
        let (scheme, raw) = self.entry(id)?;
        Some(RawAccount {
            scheme: Scheme::from_u8(scheme)?,
            ..raw
        })
    }

    /// The entry at `id`: its scheme byte as stored, and its fields (with a
    /// placeholder scheme). Finding a login's group needs only the login, so an
    /// entry whose scheme byte is unknown is still found, and then reported as
    /// damaged by [`IndexView::raw_account`]'s caller.
    fn entry(&self, id: AccountId) -> Option<(u8, RawAccount<'a>)> {
        let at = usize::try_from(id).ok()?;
        let r = self.records;
        if !self.records_ok(at..at.checked_add(entry_len(r, at)?)?) {
            return None;
        }
        let scheme = *r.get(at)?;
        let id_len = u16_at(r, at + 2)? as usize;
        let login_len = u16_at(r, at + 4)? as usize;
        let hash_len = u16_at(r, at + 6)? as usize;
        let s = at + ENTRY_HEADER;
        let id = r.get(s..s + id_len)?;
        let login = r.get(s + id_len..s + id_len + login_len)?;
        let hash = r.get(s + id_len + login_len..s + id_len + login_len + hash_len)?;
        Some((
            scheme,
            RawAccount {
                id,
                login,
                scheme: Scheme::Sha1,
                hash,
            },
        ))
    }
}
