//! The customer index: normalised login → accounts, with each account's stored hash.
//!
//! Owns the compact, plaintext-free structure the scan probes for every dump line.
//! It is three flat regions, so the same bytes live in memory after loading a
//! customers file or in a memory-mapped `.lmx` file ([`crate::lmx`]):
//!
//! * `slots`: an open-addressing table of `u64` (linear probing, power-of-two size,
//!   load at most 0.8). A slot is `fingerprint << 40 | (offset / 8 + 1)`, 0 when empty:
//!   the probe starts at the low bits of the login's hash ([`login::hash_normalized`]), the fingerprint is its
//!   top 24 bits, the offset points at the login's group in `records`. 8 bytes a
//!   slot, so a miss (most dump lines) usually costs one cache line.
//! * `bloom`: a register-blocked Bloom filter over the login hashes, 8 bits a login
//!   (one `u64` word per probe, 3 bits set in it). Nearly every dump line is a miss;
//!   the filter (1 MiB for 1M customers) answers most of them from cache, so only the
//!   few percent it lets through pay for a probe of the much larger slot table.
//! * `records`: per distinct normalised login, a group — `hash: u64`, `count: u32`,
//!   reserved `u32` — followed by its `count` accounts, each `scheme: u8`, reserved
//!   `u8`, `id_len`, `login_len`, `hash_len` (`u16` each), then the id, the login as
//!   registered and the stored hash data, padded to 8 bytes. Everything a hit needs
//!   is contiguous, so a hit touches one or two pages even when the index is far
//!   larger than memory.
//!
//! An account is named by its byte offset in `records` ([`AccountId`]). A hit is
//! confirmed by the full 64-bit hash and by normalising the group's registered login
//! again and comparing bytes, so a hash collision can never route a password to the
//! wrong account. Every read is bounds-checked: a corrupt mapped index can give no
//! answer, never a crash.
//!
//! It does not parse the customers file ([`crate::customers`]) or verify passwords
//! ([`crate::verify`]).

use rayon::prelude::*;

use crate::login;
use crate::mem::HugeBuf;
use crate::verify::{Scheme, StoredHash};

/// An account's identity: the byte offset of its entry in `records`.
pub type AccountId = u64;

const OFF_BITS: u32 = 40;
const OFF_MASK: u64 = (1 << OFF_BITS) - 1;
const GROUP_HEADER: usize = 16;
const ENTRY_HEADER: usize = 8;

/// Records regions smaller than this stay mapped ([`IndexView::release_records`]).
pub const RELEASE_MIN_RECORDS: usize = 512 << 20;

/// Longest account_id, login or stored hash the index holds, in bytes.
pub const MAX_FIELD: usize = u16::MAX as usize;

#[inline]
fn pad8(n: usize) -> usize {
    (n + 7) & !7
}

/// Bytes an account entry takes in `records`, given the total length of its fields:
/// the one place the entry layout's size is computed (written by the builder, read
/// back by [`entry_len`]).
#[inline]
fn entry_size(fields: usize) -> usize {
    ENTRY_HEADER + pad8(fields)
}

#[inline]
fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(o..o.checked_add(2)?)?.try_into().ok()?,
    ))
}

#[inline]
fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(o..o.checked_add(4)?)?.try_into().ok()?,
    ))
}

#[inline]
fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(o..o.checked_add(8)?)?.try_into().ok()?,
    ))
}

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
    pub pieces: &'a crate::lmx::Pieces,
}

/// An account as the rest of the engine sees it.
#[derive(Clone, Copy, Debug)]
pub struct Account<'a> {
    /// `account_id`.
    pub id: &'a str,
    /// Login as registered.
    pub login: &'a str,
    /// Hash scheme.
    pub scheme: Scheme,
    /// Stored hash data for [`crate::verify::verify`].
    pub hash: &'a [u8],
}

/// An account's fields as the index stores them: [`Account`] before its id and
/// login are checked to be UTF-8. Verification reads only the scheme and hash of most
/// accounts it looks at, so the text is checked only for those it reports.
#[derive(Clone, Copy, Debug)]
pub struct RawAccount<'a> {
    /// `account_id`, as stored.
    pub id: &'a [u8],
    /// Login as registered, as stored.
    pub login: &'a [u8],
    /// Hash scheme.
    pub scheme: Scheme,
    /// Stored hash data for [`crate::verify::verify`].
    pub hash: &'a [u8],
}

impl<'a> RawAccount<'a> {
    /// The account with its id and login as text (`None` only in a corrupt index).
    pub fn text(self) -> Option<Account<'a>> {
        Some(Account {
            id: std::str::from_utf8(self.id).ok()?,
            login: std::str::from_utf8(self.login).ok()?,
            scheme: self.scheme,
            hash: self.hash,
        })
    }
}

/// The accounts of one login, as returned by [`IndexView::lookup`].
#[derive(Clone, Copy, Debug)]
pub struct Group<'a> {
    records: &'a [u8],
    first: usize,
    count: u32,
}

impl<'a> Group<'a> {
    /// The accounts sharing this login.
    pub fn accounts(self) -> impl Iterator<Item = AccountId> + 'a {
        let records = self.records;
        let mut at = self.first;
        (0..self.count).map_while(move |_| {
            let id = at;
            at = at.checked_add(entry_len(records, at)?)?;
            Some(id as AccountId)
        })
    }
}

/// Asks the CPU to start loading the cache line of `x`.
#[inline(always)]
pub(crate) fn prefetch<T: ?Sized>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of the x86_64 baseline; a prefetch of a valid reference's
    // address has no architectural effect beyond the cache and cannot fault.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch(x as *const T as *const i8, _MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Total length of the account entry at `at`.
fn entry_len(records: &[u8], at: usize) -> Option<usize> {
    let header = records.get(at..at.checked_add(ENTRY_HEADER)?)?;
    let field = |i: usize| u16::from_le_bytes([header[i], header[i + 1]]) as usize;
    let len = entry_size(field(2) + field(4) + field(6));
    (at.checked_add(len)? <= records.len()).then_some(len)
}

/// The Bloom word and bit mask for a login hash: three bit positions from its bits
/// 0–17, the word from the bits above. The hash's bits are well mixed, so these are
/// independent of each other and of the slot table's fingerprint (the top 24
/// bits); no remix on the scan's per-line path.
#[inline]
fn bloom_key(hash: u64, words: usize) -> (usize, u64) {
    // Wrapping: no overflow for a filter of no words (the word is then out of range,
    // which callers check).
    let word = (hash >> 18) as usize & words.wrapping_sub(1);
    let mask = 1u64 << (hash & 63) | 1u64 << ((hash >> 6) & 63) | 1u64 << ((hash >> 12) & 63);
    (word, mask)
}

/// Number of Bloom words for `groups` logins: 8 bits a login, a power of two.
fn bloom_words(groups: usize) -> usize {
    groups.div_ceil(8).next_power_of_two().max(1)
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
        let first = g.accounts().next().and_then(|a| self.raw_account(a));
        first.is_some_and(|a| same_login(a.login))
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
                crate::mapped::release(b.map, b.records..b.map.len());
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
        let at = usize::try_from(id).ok()?;
        let r = self.records;
        if !self.records_ok(at..at.checked_add(entry_len(r, at)?)?) {
            return None;
        }
        let scheme = Scheme::from_u8(*r.get(at)?)?;
        let id_len = u16_at(r, at + 2)? as usize;
        let login_len = u16_at(r, at + 4)? as usize;
        let hash_len = u16_at(r, at + 6)? as usize;
        let s = at + ENTRY_HEADER;
        let id = r.get(s..s + id_len)?;
        let login = r.get(s + id_len..s + id_len + login_len)?;
        let hash = r.get(s + id_len + login_len..s + id_len + login_len + hash_len)?;
        Some(RawAccount {
            id,
            login,
            scheme,
            hash,
        })
    }
}

/// The index, owned in memory (built from a customers file) or mapped from disk.
pub struct CustomerIndex {
    storage: Storage,
}

enum Storage {
    Owned {
        slots: HugeBuf,
        bloom: Vec<u64>,
        records: HugeBuf,
        accounts: u64,
        groups: u64,
    },
    Mapped(crate::lmx::MappedIndex),
}

impl CustomerIndex {
    /// Borrows the regions for probing.
    pub fn view(&self) -> IndexView<'_> {
        match &self.storage {
            Storage::Owned {
                slots,
                bloom,
                records,
                accounts,
                ..
            } => IndexView {
                slots: slots.words(),
                bloom,
                records: records.bytes(),
                accounts: *accounts,
                backing: None,
            },
            Storage::Mapped(m) => m.view(),
        }
    }

    /// Number of distinct logins.
    pub fn groups(&self) -> u64 {
        match &self.storage {
            Storage::Owned { groups, .. } => *groups,
            Storage::Mapped(m) => m.groups(),
        }
    }

    pub(crate) fn from_mapped(m: crate::lmx::MappedIndex) -> CustomerIndex {
        CustomerIndex {
            storage: Storage::Mapped(m),
        }
    }

    /// The mapped file behind this index, if it was loaded from one.
    pub(crate) fn mapped(&self) -> Option<&crate::lmx::MappedIndex> {
        match &self.storage {
            Storage::Mapped(m) => Some(m),
            Storage::Owned { .. } => None,
        }
    }
}

/// Why an index could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    /// A field is over [`MAX_FIELD`].
    #[error("a field is longer than {MAX_FIELD} bytes")]
    FieldTooLong,
    /// More bytes than the format addresses.
    #[error("too many customers for one index")]
    TooLarge,
}

/// A byte range of one of the builder's heaps.
#[derive(Clone, Copy)]
struct Span {
    off: u64,
    len: u16,
}

impl Row {
    /// Total length of the id, login and stored hash.
    fn fields_len(&self) -> usize {
        self.id.len as usize + self.login.len as usize + self.data.len as usize
    }
}

struct Row {
    hash: u64,
    /// Which heap holds this row's bytes.
    heap: u32,
    norm: (u64, u32),
    id: Span,
    login: Span,
    data: Span,
    scheme: u8,
}

/// Collects accounts, then lays out the index.
///
/// Fields live in heaps: [`IndexBuilder::add`] appends to the last one, and
/// [`IndexBuilder::append`] takes over another builder's heaps as they are, so
/// builders filled in parallel join without copying their bytes.
pub struct IndexBuilder {
    heaps: Vec<Vec<u8>>,
    rows: Vec<Row>,
    norm: Vec<u8>,
}

impl Default for IndexBuilder {
    fn default() -> Self {
        IndexBuilder::with_capacity(0, 0)
    }
}

impl IndexBuilder {
    /// An empty builder.
    pub fn new() -> IndexBuilder {
        IndexBuilder::default()
    }

    /// An empty builder with room for `rows` accounts and `heap` bytes of fields.
    pub fn with_capacity(rows: usize, heap: usize) -> IndexBuilder {
        IndexBuilder {
            heaps: vec![Vec::with_capacity(heap)],
            rows: Vec::with_capacity(rows),
            norm: Vec::new(),
        }
    }

    /// The heap `add` writes to.
    fn heap(&mut self) -> &mut Vec<u8> {
        self.heaps.last_mut().expect("a builder always has a heap")
    }

    fn push_field(&mut self, b: &[u8]) -> Result<Span, BuildError> {
        let len = u16::try_from(b.len()).map_err(|_| BuildError::FieldTooLong)?;
        let heap = self.heap();
        let off = heap.len() as u64;
        heap.extend_from_slice(b);
        Ok(Span { off, len })
    }

    /// The bytes of a row's field.
    fn field(&self, row: &Row, s: Span) -> &[u8] {
        &self.heaps[row.heap as usize][s.off as usize..s.off as usize + s.len as usize]
    }

    /// A row's normalised login.
    fn norm(&self, row: &Row) -> &[u8] {
        let (off, len) = (row.norm.0 as usize, row.norm.1 as usize);
        &self.heaps[row.heap as usize][off..off + len]
    }

    /// Adds one account. Uniqueness of `id` is the caller's business
    /// ([`IndexBuilder::find_duplicate_id`]).
    pub fn add(&mut self, id: &str, login: &str, hash: &StoredHash) -> Result<(), BuildError> {
        let mut norm = std::mem::take(&mut self.norm);
        login::normalize(login.as_bytes(), &mut norm);
        let heap = (self.heaps.len() - 1) as u32;
        let row = Row {
            hash: login::hash_normalized(&norm),
            heap,
            norm: (self.heap().len() as u64, norm.len() as u32),
            id: Span { off: 0, len: 0 },
            login: Span { off: 0, len: 0 },
            data: Span { off: 0, len: 0 },
            scheme: hash.scheme as u8,
        };
        self.heap().extend_from_slice(&norm);
        self.norm = norm;
        let row = Row {
            id: self.push_field(id.as_bytes())?,
            login: self.push_field(login.as_bytes())?,
            data: self.push_field(&hash.data)?,
            ..row
        };
        self.rows.push(row);
        Ok(())
    }

    /// Number of accounts added so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Moves every account of `other` after this builder's own (for builders filled
    /// in parallel and joined in order). Its heaps are taken over, not copied.
    pub fn append(&mut self, other: IndexBuilder) {
        let shift = self.heaps.len() as u32;
        self.heaps.extend(other.heaps);
        // Later `add`s write to a heap of their own.
        self.heaps.push(Vec::new());
        self.rows.extend(other.rows.into_iter().map(|mut r| {
            r.heap += shift;
            r
        }));
    }

    /// Whether no account was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The first repeated account id, as `(earlier row, later row)` in the order
    /// accounts were added (the smallest later row if there are several).
    pub fn find_duplicate_id(&self) -> Option<(usize, usize)> {
        let id = |row: usize| {
            let r = &self.rows[row];
            self.field(r, r.id)
        };
        let mut keyed: Vec<(u64, u32)> = (0..self.rows.len())
            .map(|row| (xxhash_rust::xxh3::xxh3_64(id(row)), row as u32))
            .collect();
        keyed.par_sort_unstable();
        let mut best: Option<(usize, usize)> = None;
        for run in keyed.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
            for (i, &(_, later)) in run.iter().enumerate().skip(1) {
                let later = later as usize;
                let earlier = run[..i].iter().find(|(_, r)| id(*r as usize) == id(later));
                if let Some(&(_, first)) = earlier {
                    if best.is_none_or(|(_, b)| later < b) {
                        best = Some((first as usize, later));
                    }
                }
            }
        }
        best
    }

    /// Bytes the group of `run` (the accounts of one login) takes in `records`.
    fn group_len(&self, run: &[&Row]) -> usize {
        GROUP_HEADER
            + run
                .iter()
                .map(|r| entry_size(r.fields_len()))
                .sum::<usize>()
    }

    /// Writes the groups `runs` as records into `out`, which is exactly their size.
    fn lay_out(&self, runs: &[&[&Row]], out: &mut [u8]) {
        let mut at = 0;
        let mut put = |b: &[u8]| {
            out[at..at + b.len()].copy_from_slice(b);
            at += b.len();
        };
        // Rows come in hash order, so each one's struct and heap bytes are a cache
        // miss: prefetch the struct a while ahead, then its bytes.
        for (k, run) in runs.iter().enumerate() {
            if let Some(ahead) = runs.get(k + 16) {
                prefetch(ahead[0]);
            }
            if let Some(ahead) = runs.get(k + 8) {
                let bytes = self.norm(ahead[0]);
                prefetch(bytes);
                if let Some(next_line) = bytes.get(64..) {
                    prefetch(next_line);
                }
            }
            put(&run[0].hash.to_le_bytes());
            put(&(run.len() as u32).to_le_bytes());
            put(&0u32.to_le_bytes());
            for r in run.iter() {
                put(&[r.scheme, 0]);
                for s in [r.id, r.login, r.data] {
                    put(&s.len.to_le_bytes());
                }
                for s in [r.id, r.login, r.data] {
                    put(self.field(r, s));
                }
                let fields = r.fields_len();
                put(&[0; 8][..entry_size(fields) - ENTRY_HEADER - fields]);
            }
        }
        debug_assert_eq!(at, out.len());
    }

    /// Lays out groups and the hash table. Deterministic: the same accounts in the
    /// same order give the same bytes.
    pub fn build(mut self) -> Result<CustomerIndex, BuildError> {
        let rows = std::mem::take(&mut self.rows);
        let norm_of = |r: &Row| self.norm(r);
        // Group accounts by login: sort compact (hash, row) keys, then order the rare
        // runs of one hash by normalised login; ties keep file order.
        let mut order: Vec<(u64, u32)> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.hash, i as u32))
            .collect();
        order.par_sort_unstable();
        for run in order
            .chunk_by_mut(|a, b| a.0 == b.0)
            .filter(|r| r.len() > 1)
        {
            run.sort_by(|a, b| {
                norm_of(&rows[a.1 as usize])
                    .cmp(norm_of(&rows[b.1 as usize]))
                    .then(a.1.cmp(&b.1))
            });
        }
        let rows: Vec<&Row> = order.iter().map(|&(_, i)| &rows[i as usize]).collect();
        let runs: Vec<&[&Row]> = rows
            .chunk_by(|a, b| a.hash == b.hash && norm_of(a) == norm_of(b))
            .collect();
        // Every group's offset first, then the groups laid out in parallel pieces
        // straight into their place (each reads its accounts' fields from the heaps,
        // in hash order: random access that parallelism hides).
        let mut groups: Vec<(u64, u64)> = Vec::with_capacity(runs.len()); // (hash, offset)
        let mut total = 0usize;
        for run in &runs {
            groups.push((run[0].hash, total as u64));
            total += self.group_len(run);
        }
        if (total as u64) / 8 + 1 > OFF_MASK {
            return Err(BuildError::TooLarge);
        }
        let mut records = HugeBuf::zeroed(total).map_err(|_| BuildError::TooLarge)?;
        let piece = runs
            .len()
            .div_ceil(4 * rayon::current_num_threads())
            .max(4096);
        let mut outs: Vec<(&[&[&Row]], &mut [u8])> = Vec::new();
        let mut rest = records.bytes_mut();
        for (i, part) in runs.chunks(piece).enumerate() {
            let end = groups.get((i + 1) * piece).map_or(total, |g| g.1 as usize);
            let start = groups[i * piece].1 as usize;
            let (here, tail) = rest.split_at_mut(end - start);
            outs.push((part, here));
            rest = tail;
        }
        outs.into_par_iter()
            .for_each(|(part, out)| self.lay_out(part, out));
        let mut bloom = vec![0u64; bloom_words(groups.len())];
        for &(hash, _) in &groups {
            let (word, mask) = bloom_key(hash, bloom.len());
            bloom[word] |= mask;
        }
        let cap = (groups.len() * 5 / 4 + 1).next_power_of_two().max(16);
        let mask = cap - 1;
        let mut table = HugeBuf::zeroed(cap * 8).map_err(|_| BuildError::TooLarge)?;
        let slots = table.words_mut();
        for &(hash, off) in &groups {
            let mut i = (hash as usize) & mask;
            while slots[i] != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = (hash >> OFF_BITS) << OFF_BITS | (off / 8 + 1);
        }
        Ok(CustomerIndex {
            storage: Storage::Owned {
                slots: table,
                bloom,
                records,
                accounts: rows.len() as u64,
                groups: groups.len() as u64,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::parse_stored;

    fn sha1_of(pw: &str) -> StoredHash {
        let hex: String = crate::verify::fast::sha1(pw.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        parse_stored(&hex).unwrap()
    }

    fn ids_of(v: IndexView<'_>, login: &[u8]) -> Vec<String> {
        let (norm, h) = login::normalize_and_hash(login);
        let mut ids: Vec<String> = match v.lookup(h, &norm, &mut Vec::new()) {
            Some(g) => g
                .accounts()
                .map(|a| v.account(a).unwrap().id.to_string())
                .collect(),
            None => vec![],
        };
        ids.sort();
        ids
    }

    #[test]
    fn lookup_finds_all_accounts_of_a_login() {
        let mut b = IndexBuilder::new();
        b.add("a1", "Alice@X.io", &sha1_of("one")).unwrap();
        b.add("b1", "bob@x.io", &sha1_of("two")).unwrap();
        b.add("a2", " alice@x.io", &sha1_of("three")).unwrap();
        let idx = b.build().unwrap();
        let v = idx.view();
        assert_eq!(v.len(), 3);
        assert_eq!(idx.groups(), 2);
        assert_eq!(ids_of(v, b"ALICE@x.io"), ["a1", "a2"]);
        assert_eq!(ids_of(v, b"bob@x.io"), ["b1"]);
        assert!(ids_of(v, b"carol@x.io").is_empty());
        let g = v.lookup(
            login::normalize_and_hash(b"bob@x.io").1,
            b"bob@x.io",
            &mut Vec::new(),
        );
        let a = v.account(g.unwrap().accounts().next().unwrap()).unwrap();
        assert_eq!((a.id, a.login, a.scheme), ("b1", "bob@x.io", Scheme::Sha1));
        assert!(crate::verify::verify(a.scheme, a.hash, b"two"));
    }

    #[test]
    fn same_hash_different_login_is_not_a_hit() {
        let mut b = IndexBuilder::new();
        b.add("a1", "alice", &sha1_of("x")).unwrap();
        let idx = b.build().unwrap();
        let (_, h) = login::normalize_and_hash(b"alice");
        // The right hash with the wrong bytes must not match.
        assert!(idx.view().lookup(h, b"mallory", &mut Vec::new()).is_none());
    }

    #[test]
    fn logins_that_share_a_hash_through_the_case_fold_stay_apart() {
        // `@` (0x40) and `` ` `` (0x60) differ only in bit 5, which the login hash
        // sets in every byte: the two logins share a hash and a slot fingerprint.
        let (_, h) = login::normalize_and_hash(b"ann@x.io");
        assert_eq!(h, login::normalize_and_hash(b"ann`x.io").1);
        let mut b = IndexBuilder::new();
        b.add("at", "ann@x.io", &sha1_of("one")).unwrap();
        b.add("tick", "ann`x.io", &sha1_of("two")).unwrap();
        let idx = b.build().unwrap();
        assert_eq!(idx.groups(), 2);
        let v = idx.view();
        assert_eq!(ids_of(v, b"ANN@x.io"), ["at"]);
        assert_eq!(ids_of(v, b"ann`X.IO"), ["tick"]);
        assert!(ids_of(v, b"ann\x00x.io").is_empty());
    }

    #[test]
    fn many_logins_all_found() {
        let mut b = IndexBuilder::new();
        for i in 0..5000 {
            b.add(&format!("id{i}"), &format!("user{i}@x.io"), &sha1_of("p"))
                .unwrap();
        }
        let idx = b.build().unwrap();
        for i in (0..5000).step_by(7) {
            assert_eq!(
                ids_of(idx.view(), format!("USER{i}@x.io").as_bytes()),
                [format!("id{i}")]
            );
        }
        assert!(ids_of(idx.view(), b"user5000@x.io").is_empty());
    }

    #[test]
    fn bloom_has_no_false_negatives_and_few_false_positives() {
        let mut b = IndexBuilder::new();
        for i in 0..20_000 {
            b.add(&format!("id{i}"), &format!("user{i}@x.io"), &sha1_of("p"))
                .unwrap();
        }
        let idx = b.build().unwrap();
        let v = idx.view();
        for i in 0..20_000 {
            let (_, h) = login::normalize_and_hash(format!("user{i}@x.io").as_bytes());
            assert!(v.may_contain(h));
        }
        let false_positives = (0..20_000)
            .filter(|i| {
                let (_, h) = login::normalize_and_hash(format!("other{i}@x.io").as_bytes());
                v.may_contain(h)
            })
            .count();
        // 8 bits and 3 hashes a login, blocked in 64-bit words: about 4-5%.
        assert!(false_positives < 20_000 / 12, "{false_positives}");
    }

    #[test]
    fn garbage_records_never_panic() {
        let slots = [1u64 << OFF_BITS | 1, 0, u64::MAX, 7];
        let records = [0xFFu8; 40];
        let v = IndexView {
            slots: &slots,
            bloom: &[u64::MAX],
            records: &records,
            accounts: 3,
            backing: None,
        };
        for h in [0u64, 1, 2, 3, u64::MAX, 1 << OFF_BITS] {
            let _ = v.lookup(h, b"x", &mut Vec::new());
        }
        assert!(v.account(0).is_none());
        assert!(v.account(u64::MAX).is_none());
        // The scan's per-line calls, on filters and tables of any length.
        for (bloom, slots) in [(&[][..], &[][..]), (&[0u64, 0, 0][..], &slots[..3])] {
            let v = IndexView { bloom, slots, ..v };
            for h in [0u64, 1, u64::MAX] {
                v.prefetch_filter(h);
                v.prefetch_slot(h);
                assert!(v.may_contain(h));
                let _ = v.slot_hint(h);
            }
        }
    }

    #[test]
    fn empty_index() {
        let idx = IndexBuilder::new().build().unwrap();
        assert!(idx.view().lookup(1, b"x", &mut Vec::new()).is_none());
    }

    #[test]
    fn oversized_field_is_refused() {
        let mut b = IndexBuilder::new();
        let long = "x".repeat(MAX_FIELD + 1);
        assert_eq!(
            b.add(&long, "l", &sha1_of("p")),
            Err(BuildError::FieldTooLong)
        );
    }
}
