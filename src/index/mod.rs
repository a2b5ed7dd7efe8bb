//! The customer index: normalised login → accounts, with each account's stored hash.
//!
//! Owns the compact, plaintext-free structure the scan probes for every dump line.
//! It is three flat regions, so the same bytes live in memory after loading a
//! customers file or in a memory-mapped `.lmx` file ([`mod@file`]):
//!
//! * `slots`: an open-addressing table of `u64` (linear probing, power-of-two size,
//!   load at most 0.8). A slot is `fingerprint << 40 | (offset / 8 + 1)`, 0 when empty:
//!   the probe starts at the low bits of the login's hash
//!   ([`crate::login::hash_normalized`]), the fingerprint is its top 24 bits, the
//!   offset points at the login's group in `records`. 8 bytes a slot, so a miss (most
//!   dump lines) usually costs one cache line.
//! * `bloom`: a register-blocked Bloom filter over the login hashes ([`filter`]).
//! * `records`: per distinct normalised login, a group of accounts ([`layout`]).
//!
//! | file | what |
//! |---|---|
//! | [`layout`] | the byte layout of `records`: groups, accounts, bounds-checked reads |
//! | [`filter`] | the Bloom filter's hashing |
//! | [`view`] | [`IndexView`]: probing (scan) and confirming a hit (verification) |
//! | [`build`] | [`IndexBuilder`]: accounts in, the three regions out |
//! | [`pieces`] | per-piece checksums of a mapped index, checked as pieces are read |
//! | [`mod@file`] | the `.lmx` file: header, write, open and map |
//!
//! An account is named by its byte offset in `records` ([`AccountId`]). A hit is
//! confirmed by the full 64-bit hash and by normalising the group's registered login
//! again and comparing bytes, so a hash collision can never route a password to the
//! wrong account. Every read is bounds-checked: a corrupt mapped index can give no
//! answer, never a crash.
//!
//! It does not parse the customers file ([`crate::customers`]) or verify passwords
//! ([`crate::verify`]).

pub mod build;
pub mod file;
pub mod filter;
pub mod layout;
pub mod pieces;
pub mod view;

pub use build::{BuildError, IndexBuilder};
pub use layout::{Account, AccountId, Group, RawAccount, MAX_FIELD};
pub use view::{Backing, Hint, IndexView, RELEASE_MIN_RECORDS};

use crate::mem::HugeBuf;

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
    Mapped(file::MappedIndex),
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

    /// An index built in memory (see [`build`]).
    pub(super) fn owned(
        slots: HugeBuf,
        bloom: Vec<u64>,
        records: HugeBuf,
        accounts: u64,
        groups: u64,
    ) -> CustomerIndex {
        CustomerIndex {
            storage: Storage::Owned {
                slots,
                bloom,
                records,
                accounts,
                groups,
            },
        }
    }

    pub(crate) fn from_mapped(m: file::MappedIndex) -> CustomerIndex {
        CustomerIndex {
            storage: Storage::Mapped(m),
        }
    }

    /// The mapped file behind this index, if it was loaded from one.
    pub(crate) fn mapped(&self) -> Option<&file::MappedIndex> {
        match &self.storage {
            Storage::Mapped(m) => Some(m),
            Storage::Owned { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::layout::OFF_BITS;
    use super::*;
    use crate::login;
    use crate::verify::{parse_stored, Scheme, StoredHash};

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
