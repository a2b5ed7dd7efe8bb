//! The byte layout of an index's `records` region, and bounds-checked reads of it.
//!
//! Per distinct normalised login, a group — `hash: u64`, `count: u32`, reserved
//! `u32` — followed by its `count` accounts, each `scheme: u8`, reserved `u8`,
//! `id_len`, `login_len`, `hash_len` (`u16` each), then the id, the login as
//! registered and the stored hash data, padded to 8 bytes. Everything a hit needs is
//! contiguous, so a hit touches one or two pages even when the index is far larger
//! than memory. The builder writes it ([`super::build`]); everything else reads it
//! through here.

use crate::verify::Scheme;

/// An account's identity: the byte offset of its entry in `records`.
pub type AccountId = u64;

/// Bits of a slot holding the group's offset (in 8-byte words, plus one).
pub(super) const OFF_BITS: u32 = 40;
pub(super) const OFF_MASK: u64 = (1 << OFF_BITS) - 1;
pub(super) const GROUP_HEADER: usize = 16;
pub(super) const ENTRY_HEADER: usize = 8;

/// Longest account_id, login or stored hash the index holds, in bytes.
pub const MAX_FIELD: usize = u16::MAX as usize;

#[inline]
pub(super) fn pad8(n: usize) -> usize {
    (n + 7) & !7
}

/// Bytes an account entry takes in `records`, given the total length of its fields:
/// the one place the entry layout's size is computed (written by the builder, read
/// back by [`entry_len`]).
#[inline]
pub(super) fn entry_size(fields: usize) -> usize {
    ENTRY_HEADER + pad8(fields)
}

#[inline]
pub(super) fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(o..o.checked_add(2)?)?.try_into().ok()?,
    ))
}

#[inline]
pub(super) fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(o..o.checked_add(4)?)?.try_into().ok()?,
    ))
}

#[inline]
pub(super) fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(o..o.checked_add(8)?)?.try_into().ok()?,
    ))
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

/// The accounts of one login, as returned by [`super::IndexView::lookup`].
#[derive(Clone, Copy, Debug)]
pub struct Group<'a> {
    pub(super) records: &'a [u8],
    pub(super) first: usize,
    pub(super) count: u32,
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

/// Total length of the account entry at `at`.
pub(super) fn entry_len(records: &[u8], at: usize) -> Option<usize> {
    let header = records.get(at..at.checked_add(ENTRY_HEADER)?)?;
    let field = |i: usize| u16::from_le_bytes([header[i], header[i + 1]]) as usize;
    let len = entry_size(field(2) + field(4) + field(6));
    (at.checked_add(len)? <= records.len()).then_some(len)
}
