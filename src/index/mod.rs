//! The customer index: normalised login → accounts, with each account's stored hash.
//!
//! Owns the compact, plaintext-free structure the scan probes for every dump line.
//! It is three flat regions, so the same bytes live in memory after loading a
//! customers file or in a memory-mapped `.lmx` file ([`mod@file`]):
//!
//! * `records`: per distinct normalised login, a group of accounts ([`layout`]);
//! * `slots`: an open-addressing table of `u64` (linear probing, load at most 0.8).
//!   A slot is `fingerprint << 40 | (offset + 1)`, 0 when empty: the probe starts at
//!   the login hash's home slot ([`filter`]), the fingerprint is 24 other bits of
//!   the hash, the offset points at the login's group in `records`. 8 bytes a slot,
//!   so a miss (most dump lines) usually costs one cache line;
//! * `bloom`: a register-blocked Bloom filter over the login hashes ([`filter`]).
//!
//! | file | what |
//! |---|---|
//! | [`layout`] | the byte layout of `records`: groups, accounts, bounds-checked reads |
//! | [`filter`] | the Bloom filter's hashing |
//! | [`view`] | [`IndexView`]: probing (scan) and confirming a hit (verification) |
//! | [`mod@build`] | customer rows in, the three regions out, in bounded memory |
//! | [`pieces`] | per-piece checksums of a mapped index, checked as pieces are read |
//! | [`mod@file`] | the `.lmx` file: header, write, open and map |
//!
//! An account is named by its byte offset in `records` ([`AccountId`]). A hit is
//! confirmed by normalising the group's registered login again and comparing bytes,
//! so a hash collision can never route a password to the wrong account. Every read is bounds-checked: a corrupt mapped index can give no
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

pub use build::{
    build, BuildError, BuildOptions, BuildReport, IndexBuilder, LoginFilter, SetAside, Target,
};
pub use file::Header;
pub use layout::{Account, AccountId, Group, RawAccount};
pub use view::{Backing, Hint, IndexView, RELEASE_MIN_RECORDS};

/// The index, in memory (built for one run) or mapped from an `.lmx` file.
pub struct CustomerIndex {
    storage: Storage,
}

enum Storage {
    Owned {
        records: Vec<u8>,
        slots: Vec<u64>,
        bloom: Vec<u64>,
        header: Header,
    },
    Mapped(file::MappedIndex),
}

impl CustomerIndex {
    /// Borrows the regions for probing.
    pub fn view(&self) -> IndexView<'_> {
        match &self.storage {
            Storage::Owned {
                records,
                slots,
                bloom,
                header,
            } => IndexView {
                slots,
                homes: header.homes as usize,
                bloom,
                records,
                accounts: header.accounts,
                backing: None,
            },
            Storage::Mapped(m) => m.view(),
        }
    }

    /// What the index's header says (also of an index in memory: what its file
    /// would say, but for the piece table's checksum).
    pub fn header(&self) -> &Header {
        match &self.storage {
            Storage::Owned { header, .. } => header,
            Storage::Mapped(m) => m.header(),
        }
    }

    /// Number of distinct logins.
    pub fn groups(&self) -> u64 {
        self.header().groups
    }

    /// An index built in memory (see [`mod@build`]).
    pub(super) fn owned(
        records: Vec<u8>,
        slots: Vec<u64>,
        bloom: Vec<u64>,
        header: Header,
    ) -> CustomerIndex {
        CustomerIndex {
            storage: Storage::Owned {
                records,
                slots,
                bloom,
                header,
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
    use crate::verify::Scheme;

    fn sha1_of(pw: &str) -> String {
        crate::verify::fast::sha1(pw.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
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
        b.add("a1", "Alice@X.io", &sha1_of("one"));
        b.add("b1", "bob@x.io", &sha1_of("two"));
        b.add("a2", " alice@x.io", &sha1_of("three"));
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
        b.add("a1", "alice", &sha1_of("x"));
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
        b.add("at", "ann@x.io", &sha1_of("one"));
        b.add("tick", "ann`x.io", &sha1_of("two"));
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
            b.add(&format!("id{i}"), &format!("user{i}@x.io"), &sha1_of("p"));
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
            b.add(&format!("id{i}"), &format!("user{i}@x.io"), &sha1_of("p"));
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
            homes: 3,
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
        // The scan's per-line calls, on filters and tables of any length, and home
        // counts that do not fit the table.
        for (bloom, slots, homes) in [
            (&[][..], &[][..], 0),
            (&[u64::MAX, 0, 0][..], &slots[..3], 7),
            (&[u64::MAX][..], &slots[..], usize::MAX),
        ] {
            let v = IndexView {
                bloom,
                slots,
                homes,
                ..v
            };
            for h in [0u64, 1, u64::MAX] {
                v.prefetch_filter(h);
                v.prefetch_slot(h);
                let _ = v.may_contain(h);
                let _ = v.slot_hint(h);
                let _ = v.lookup(h, b"x", &mut Vec::new());
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
        let long = "x".repeat(crate::customers::MAX_FIELD + 1);
        b.add(&long, "l", &sha1_of("p"));
        let err = b.build().err().unwrap().to_string();
        assert!(err.contains("account_id is longer than"), "{err}");
    }

    /// The same rows give the same index bytes whatever the memory budget (here,
    /// budgets that force every partition to spill and to split again).
    #[test]
    fn spilling_and_row_order_do_not_change_the_bytes() {
        let rows_of = |ids: std::ops::Range<usize>| -> Vec<[String; 3]> {
            ids.map(|i| {
                [
                    format!("id{i}"),
                    format!("User{}@x.io", i % 20_000),
                    sha1_of(&i.to_string()),
                ]
            })
            .collect()
        };
        let rows = rows_of(0..30_000);
        let build = |memory: usize, rows: &[[String; 3]]| {
            let mut b = IndexBuilder::new();
            for [id, login, hash] in rows {
                b.add(id, login, hash);
            }
            let dir = tempfile::tempdir().unwrap();
            let opts = BuildOptions {
                memory,
                tmp_dir: dir.path().to_path_buf(),
                ..BuildOptions::default()
            };
            // A filter of every login: one partition expected, which must then
            // be split to fit a small budget.
            let logins: Vec<u64> = rows
                .iter()
                .map(|r| login::hash_login(r[1].as_bytes(), &mut Vec::new()))
                .collect();
            let filter = LoginFilter::new(&logins);
            let filter = (memory < 4 << 20).then_some(&filter);
            let (idx, report) = b.build_with(&opts, filter).unwrap();
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
            let mut bytes = Vec::new();
            file::write_to(&idx, &mut bytes).unwrap();
            (bytes, report)
        };
        let (roomy, r1) = build(256 << 20, &rows);
        let (tight, r2) = build(1 << 20, &rows);
        assert_eq!(r1.spilled, 0);
        assert!(r2.spilled > 0);
        assert!(roomy == tight, "spilling changed the index");
        assert_eq!((r1.accounts, r1.groups), (30_000, 20_000));
        // Rows split into more than the 16 partitions of 1M budget, then split
        // again: still the same bytes.
        let (tighter, _) = build(1 << 20, &[rows.clone(), rows_of(30_000..90_000)].concat());
        let (roomier, r3) = build(256 << 20, &[rows, rows_of(30_000..90_000)].concat());
        assert_eq!(r3.spilled, 0);
        assert!(tighter == roomier, "splitting changed the index");
    }
}
