//! The customer index: normalised login → accounts, with each account's stored hash.
//!
//! Owns the compact, plaintext-free structure the scan probes for every dump line.
//! It is four flat arrays of plain-old-data, so the same layout lives in memory after
//! loading a customers file or in a memory-mapped `.lmx` file ([`crate::lmx`]):
//!
//! * `slots`: an open-addressing table (linear probing, power-of-two size, load at
//!   most 0.8). A slot is `fingerprint << 32 | (group + 1)`, 0 when empty; the slot
//!   position comes from the low bits of the login's xxh3 hash, the fingerprint from
//!   its high 32 bits. 8 bytes a slot, so a miss usually costs one cache line.
//! * `groups`: one per distinct normalised login: full hash, the normalised login
//!   (compared on every fingerprint match, so a 64-bit hash collision can never route
//!   a password to the wrong account), and the range of its accounts.
//! * `accounts`: account id, login as registered, scheme and stored hash data, as spans
//!   of `heap`. Accounts sharing a login are contiguous.
//! * `heap`: the bytes the spans point into.
//!
//! It does not parse the customers file ([`crate::customers`]) or verify passwords
//! ([`crate::verify`]).

use std::ops::Range;

use bytemuck::{Pod, Zeroable};

use crate::login;
use crate::verify::{Scheme, StoredHash};

/// A byte range of the heap packed in a `u64`: offset in the high 40 bits, length in
/// the low 24.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[repr(transparent)]
pub struct Span(u64);

impl Span {
    /// Largest length a span can hold (16 MiB - 1).
    pub const MAX_LEN: usize = (1 << 24) - 1;
    /// Largest heap offset a span can hold (1 TiB - 1).
    pub const MAX_OFF: u64 = (1 << 40) - 1;

    fn new(off: u64, len: usize) -> Span {
        debug_assert!(len <= Self::MAX_LEN && off <= Self::MAX_OFF);
        Span(off << 24 | len as u64)
    }

    /// The range in the heap, or `None` if it falls outside a heap of `heap_len`
    /// bytes (only possible in a corrupt mapped index).
    #[inline]
    pub fn range(self, heap_len: usize) -> Option<Range<usize>> {
        let off = (self.0 >> 24) as usize;
        let len = (self.0 & 0xFF_FFFF) as usize;
        let end = off.checked_add(len)?;
        (end <= heap_len).then_some(off..end)
    }
}

/// One distinct normalised login.
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[repr(C)]
pub struct Group {
    /// xxh3-64 of the normalised login.
    pub hash: u64,
    /// The normalised login in the heap.
    pub norm: Span,
    /// First account of this login.
    pub first: u32,
    /// Number of accounts with this login.
    pub count: u32,
}

/// One registered account.
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[repr(C)]
pub struct AccountRec {
    /// `account_id` as in the customers file.
    pub id: Span,
    /// `login` as registered.
    pub login: Span,
    /// Stored hash data (see [`crate::verify`]).
    pub hash: Span,
    /// [`Scheme`] discriminant.
    pub scheme: u64,
}

/// Borrowed view of the four arrays; what the scan holds while probing.
#[derive(Clone, Copy)]
pub struct IndexView<'a> {
    /// The hash table.
    pub slots: &'a [u64],
    /// Distinct logins.
    pub groups: &'a [Group],
    /// Accounts, grouped by login.
    pub accounts: &'a [AccountRec],
    /// Bytes the spans point into.
    pub heap: &'a [u8],
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

impl<'a> IndexView<'a> {
    #[inline]
    fn bytes(&self, span: Span) -> &'a [u8] {
        span.range(self.heap.len())
            .map(|r| &self.heap[r])
            .unwrap_or(&[])
    }

    /// Issues a prefetch for the slot a login hash starts probing at, so a batch of
    /// lookups can overlap their cache misses.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        if self.slots.is_empty() {
            return;
        }
        let i = (hash as usize) & (self.slots.len() - 1);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `i` is in bounds of `slots`, and a prefetch has no architectural
        // effect beyond the cache; it cannot fault.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch(self.slots.as_ptr().add(i) as *const i8, _MM_HINT_T0);
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = i;
    }

    /// The accounts whose normalised login is `norm` (with `hash` its
    /// [`login::hash_normalized`]), as a range of account numbers.
    #[inline]
    pub fn lookup(&self, hash: u64, norm: &[u8]) -> Option<Range<u32>> {
        let n = self.slots.len();
        if n == 0 {
            return None;
        }
        let mask = n - 1;
        let fp = hash >> 32;
        let mut i = (hash as usize) & mask;
        // At most `n` probes even in a corrupt table with no empty slot.
        for _ in 0..n {
            let slot = self.slots[i];
            if slot == 0 {
                return None;
            }
            if slot >> 32 == fp {
                let g = self.groups.get((slot & 0xFFFF_FFFF) as usize - 1)?;
                if g.hash == hash && self.bytes(g.norm) == norm {
                    let end = g.first.checked_add(g.count)?;
                    return ((end as usize) <= self.accounts.len()).then_some(g.first..end);
                }
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether there are no accounts.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// Account number `i`.
    pub fn account(&self, i: u32) -> Account<'a> {
        let rec = self.accounts[i as usize];
        let text = |s| std::str::from_utf8(self.bytes(s)).unwrap_or("");
        Account {
            id: text(rec.id),
            login: text(rec.login),
            scheme: Scheme::from_u8(rec.scheme as u8).unwrap_or(Scheme::Sha1),
            hash: self.bytes(rec.hash),
        }
    }
}

/// The index, owned in memory (built from a customers file) or mapped from disk.
pub struct CustomerIndex {
    storage: Storage,
}

enum Storage {
    Owned {
        slots: Vec<u64>,
        groups: Vec<Group>,
        accounts: Vec<AccountRec>,
        heap: Vec<u8>,
    },
    Mapped(crate::lmx::MappedIndex),
}

impl CustomerIndex {
    /// Borrows the arrays for probing.
    pub fn view(&self) -> IndexView<'_> {
        match &self.storage {
            Storage::Owned {
                slots,
                groups,
                accounts,
                heap,
            } => IndexView {
                slots,
                groups,
                accounts,
                heap,
            },
            Storage::Mapped(m) => m.view(),
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
    /// A field is over the 16 MiB span limit.
    #[error("a field is longer than 16 MiB")]
    FieldTooLong,
    /// More accounts or bytes than the format addresses.
    #[error("too many customers for one index")]
    TooLarge,
}

/// Collects accounts, then lays out the index.
#[derive(Default)]
pub struct IndexBuilder {
    heap: Vec<u8>,
    /// (login hash, normalised login span, account record)
    rows: Vec<(u64, Span, AccountRec)>,
    norm: Vec<u8>,
}

impl IndexBuilder {
    /// An empty builder.
    pub fn new() -> IndexBuilder {
        IndexBuilder::default()
    }

    fn push_bytes(&mut self, b: &[u8]) -> Result<Span, BuildError> {
        if b.len() > Span::MAX_LEN {
            return Err(BuildError::FieldTooLong);
        }
        let off = self.heap.len() as u64;
        if off + b.len() as u64 > Span::MAX_OFF {
            return Err(BuildError::TooLarge);
        }
        self.heap.extend_from_slice(b);
        Ok(Span::new(off, b.len()))
    }

    /// Adds one account. Uniqueness of `id` is the caller's business.
    pub fn add(&mut self, id: &str, login: &str, hash: &StoredHash) -> Result<(), BuildError> {
        if self.rows.len() >= u32::MAX as usize - 1 {
            return Err(BuildError::TooLarge);
        }
        let mut norm = std::mem::take(&mut self.norm);
        login::normalize(login.as_bytes(), &mut norm);
        let h = login::hash_normalized(&norm);
        let rec = AccountRec {
            id: self.push_bytes(id.as_bytes())?,
            login: self.push_bytes(login.as_bytes())?,
            hash: self.push_bytes(&hash.data)?,
            scheme: hash.scheme as u64,
        };
        let norm_span = self.push_bytes(&norm)?;
        self.norm = norm;
        self.rows.push((h, norm_span, rec));
        Ok(())
    }

    /// Number of accounts added so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no account was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The first repeated account id, as `(earlier row, later row)` in the order
    /// accounts were added (the smallest later row if there are several).
    pub fn find_duplicate_id(&self) -> Option<(usize, usize)> {
        let id = |row: usize| {
            let span = self.rows[row].2.id;
            &self.heap[span
                .range(self.heap.len())
                .expect("builder spans are valid")]
        };
        let mut keyed: Vec<(u64, u32)> = (0..self.rows.len())
            .map(|row| (xxhash_rust::xxh3::xxh3_64(id(row)), row as u32))
            .collect();
        keyed.sort_unstable();
        let mut best: Option<(usize, usize)> = None;
        for run in keyed.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
            for (i, &(_, later)) in run.iter().enumerate().skip(1) {
                let later = later as usize;
                if let Some(&(_, first)) =
                    run[..i].iter().find(|(_, r)| id(*r as usize) == id(later))
                {
                    if best.is_none_or(|(_, b)| later < b) {
                        best = Some((first as usize, later));
                    }
                }
            }
        }
        best
    }

    /// Lays out groups and the hash table. Deterministic: the same accounts in the
    /// same order give the same bytes.
    pub fn build(self) -> CustomerIndex {
        let IndexBuilder { heap, mut rows, .. } = self;
        let norm_of = |s: Span| &heap[s.range(heap.len()).expect("builder spans are valid")];
        // Group accounts by login: sort by (hash, normalised login), stable so accounts
        // of one login keep file order.
        rows.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| norm_of(a.1).cmp(norm_of(b.1))));
        let mut groups: Vec<Group> = Vec::new();
        let mut accounts = Vec::with_capacity(rows.len());
        for (i, (h, norm, rec)) in rows.iter().enumerate() {
            match groups.last_mut() {
                Some(g) if g.hash == *h && norm_of(g.norm) == norm_of(*norm) => g.count += 1,
                _ => groups.push(Group {
                    hash: *h,
                    norm: *norm,
                    first: i as u32,
                    count: 1,
                }),
            }
            accounts.push(*rec);
        }
        let cap = (groups.len() * 5 / 4 + 1).next_power_of_two().max(16);
        let mask = cap - 1;
        let mut slots = vec![0u64; cap];
        for (gi, g) in groups.iter().enumerate() {
            let mut i = (g.hash as usize) & mask;
            while slots[i] != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = (g.hash >> 32) << 32 | (gi as u64 + 1);
        }
        CustomerIndex {
            storage: Storage::Owned {
                slots,
                groups,
                accounts,
                heap,
            },
        }
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

    #[test]
    fn lookup_finds_all_accounts_of_a_login() {
        let mut b = IndexBuilder::new();
        b.add("a1", "Alice@X.io", &sha1_of("one")).unwrap();
        b.add("b1", "bob@x.io", &sha1_of("two")).unwrap();
        b.add("a2", " alice@x.io", &sha1_of("three")).unwrap();
        let idx = b.build();
        let v = idx.view();
        let (norm, h) = login::normalize_and_hash(b"ALICE@x.io");
        let r = v.lookup(h, &norm).unwrap();
        let mut ids: Vec<&str> = r.map(|i| v.account(i).id).collect();
        ids.sort();
        assert_eq!(ids, ["a1", "a2"]);
        let (norm, h) = login::normalize_and_hash(b"carol@x.io");
        assert!(v.lookup(h, &norm).is_none());
    }

    #[test]
    fn same_hash_different_login_is_not_a_hit() {
        let mut b = IndexBuilder::new();
        b.add("a1", "alice", &sha1_of("x")).unwrap();
        let idx = b.build();
        let v = idx.view();
        let (_, h) = login::normalize_and_hash(b"alice");
        // The right hash with the wrong bytes must not match.
        assert!(v.lookup(h, b"mallory").is_none());
    }

    #[test]
    fn empty_index() {
        let idx = IndexBuilder::new().build();
        assert!(idx.view().lookup(1, b"x").is_none());
    }
}
