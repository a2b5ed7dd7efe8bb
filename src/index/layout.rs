//! The byte layout of an index's `records` region, and bounds-checked reads of it.
//!
//! One entry per account, in the customers file's order: `scheme: u8`, the lengths
//! of its id, login and stored hash (LEB128 varints), then the id, the login as
//! registered and the stored hash data. No padding, no grouping: an SHA-1 account
//! costs its fields plus 24 bytes, less than its row in the customers CSV.
//! Accounts that share a login are found through the slot table, where they share
//! a home slot ([`super::view`]). Everything a hit needs is contiguous, so a hit
//! touches one page, however large the index. The builder writes it
//! ([`mod@super::build`]); everything else reads it through here.

use crate::verify::Scheme;

/// An account's identity: the byte offset of its entry in `records`.
pub type AccountId = u64;

/// Bits of a slot holding the group's offset in `records` (plus one).
pub(super) const OFF_BITS: u32 = 40;
pub(super) const OFF_MASK: u64 = (1 << OFF_BITS) - 1;

/// Largest `records` region a slot can point into.
pub const MAX_RECORDS: u64 = OFF_MASK - 1;

/// Appends `v` as a LEB128 varint.
#[inline]
pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The varint at `at` and the position after it (`None` if out of bounds or
/// longer than a `u32`).
#[inline]
pub(super) fn varint_at(b: &[u8], mut at: usize) -> Option<(u32, usize)> {
    let mut v = 0u32;
    for shift in (0..35).step_by(7) {
        let byte = *b.get(at)?;
        at += 1;
        v |= u32::from(byte & 0x7F).checked_shl(shift)?;
        if byte < 0x80 {
            return Some((v, at));
        }
    }
    None
}

/// Appends an account entry.
#[inline]
pub(super) fn put_entry(out: &mut Vec<u8>, scheme: u8, id: &[u8], login: &[u8], data: &[u8]) {
    out.push(scheme);
    for f in [id, login, data] {
        put_varint(out, f.len() as u32);
    }
    for f in [id, login, data] {
        out.extend_from_slice(f);
    }
}

/// An entry as stored: its scheme byte, fields, and where the next entry starts.
#[derive(Clone, Copy, Debug)]
pub(super) struct Entry<'a> {
    pub(super) scheme: u8,
    pub(super) id: &'a [u8],
    pub(super) login: &'a [u8],
    pub(super) data: &'a [u8],
    pub(super) end: usize,
}

/// The entry at `at` (`None` if it does not fit in `records`).
#[inline]
pub(super) fn entry_at(records: &[u8], at: usize) -> Option<Entry<'_>> {
    let scheme = *records.get(at)?;
    let (id_len, p) = varint_at(records, at + 1)?;
    let (login_len, p) = varint_at(records, p)?;
    let (data_len, p) = varint_at(records, p)?;
    let id_end = p.checked_add(id_len as usize)?;
    let login_end = id_end.checked_add(login_len as usize)?;
    let end = login_end.checked_add(data_len as usize)?;
    Some(Entry {
        scheme,
        id: records.get(p..id_end)?,
        login: records.get(id_end..login_end)?,
        data: records.get(login_end..end)?,
        end,
    })
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

/// The accounts of one login, in the customers file's order, as returned by
/// [`super::IndexView::lookup`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    pub(super) accounts: Vec<AccountId>,
}

impl Group {
    /// The accounts sharing this login.
    pub fn accounts(&self) -> impl Iterator<Item = AccountId> + '_ {
        self.accounts.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_roundtrip_and_refuse_garbage() {
        for (v, len) in [
            (0u32, 1),
            (1, 1),
            (127, 1),
            (128, 2),
            (300, 2),
            (16383, 2),
            (16384, 3),
            (65535, 3),
            (u32::MAX, 5),
        ] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(b.len(), len);
            assert_eq!(varint_at(&b, 0), Some((v, b.len())));
        }
        assert_eq!(varint_at(&[0x80], 0), None);
        assert_eq!(varint_at(&[0xFF; 6], 0), None);
    }

    #[test]
    fn entries_roundtrip() {
        let mut b = Vec::new();
        put_entry(&mut b, 1, b"id-1", b"Al@x", &[9; 20]);
        put_entry(&mut b, 16, b"id-2", &[b'l'; 200], b"$2b$...");
        // Scheme, three lengths (200 takes two bytes) and the fields.
        assert_eq!(b.len(), (1 + 3 + 4 + 4 + 20) + (1 + 4 + 4 + 200 + 7));
        let first = entry_at(&b, 0).unwrap();
        assert_eq!(
            (first.scheme, first.id, first.login),
            (1, &b"id-1"[..], &b"Al@x"[..])
        );
        let second = entry_at(&b, first.end).unwrap();
        assert_eq!(second.data, b"$2b$...");
        assert_eq!(second.end, b.len());
        // Cut short: no read goes out of bounds.
        assert!(entry_at(&b[..b.len() - 1], first.end).is_none());
        assert!(entry_at(&b, b.len()).is_none());
    }
}
