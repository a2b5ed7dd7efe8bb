//! What the scan found: distinct (login, password) candidates with their sightings.
//!
//! Owns the one data structure between the scan and verification. Each scan unit
//! fills its own [`Candidates`], deduplicated with a hash table; the scan appends the
//! units' sets in unit order without hashing again, and [`Candidates::distinct`]
//! merges what several units saw with one parallel sort, which [`crate::check`] needs
//! anyway to take logins in index order. Keys are kept in one byte arena and entries in
//! one vector, so adding a candidate allocates nothing of its own, appending moves
//! bytes in bulk, and dropping a set of millions frees three buffers.
//!
//! A candidate's login is one the index *may* hold (its Bloom filter and a slot
//! fingerprint matched); [`crate::check`] confirms it against the index's records.
//! Passwords are held only here, never printed: `Debug` shows only a count.

use std::hash::{BuildHasher, Hasher};

use crate::index::Hint;

/// Where a line was seen: file number (position in the run's sorted file list) and
/// 1-based line. Ordered by file, then line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sighting {
    /// Index into [`crate::scan::ScanOutput::files`].
    pub file: u32,
    /// 1-based line (for CSV, the line the record starts on).
    pub line: u64,
}

/// What is known about one candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CandInfo {
    /// Lines carrying this login and password.
    pub sightings: u64,
    /// The earliest such line.
    pub first: Sighting,
}

impl CandInfo {
    /// Adds the sightings of the same candidate seen elsewhere.
    fn absorb(&mut self, other: CandInfo) {
        self.sightings += other.sightings;
        self.first = self.first.min(other.first);
    }
}

/// One candidate as [`Candidates::iter`] yields it.
#[derive(Clone, Copy)]
pub struct Candidate<'a> {
    /// [`crate::login::hash_normalized`] of `login`.
    pub hash: u64,
    /// Where the scan found the login's fingerprint in the index.
    pub hint: Hint,
    /// The normalised login.
    pub login: &'a [u8],
    /// The password as it appeared.
    pub password: &'a [u8],
    /// Its sightings.
    pub info: CandInfo,
}

/// A candidate's place in the arena.
#[derive(Clone, Copy)]
struct Entry {
    hash: u64,
    hint: Hint,
    at: usize,
    login_len: u32,
    password_len: u32,
    info: CandInfo,
}

impl Entry {
    fn login<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        &bytes[self.at..self.at + self.login_len as usize]
    }

    fn password<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        let start = self.at + self.login_len as usize;
        &bytes[start..start + self.password_len as usize]
    }
}

/// (login, password) candidates: distinct within what [`Candidates::add`] built; after
/// [`Candidates::append`] the same pair may have one entry per appended set, which
/// [`Candidates::distinct`] merges.
///
/// The lookup table's hasher is foldhash with a per-process random seed, so a dump
/// cannot choose passwords that collide in it; the order of [`Candidates::iter`]
/// does not depend on it.
#[derive(Default)]
pub struct Candidates {
    /// (key hash, entry number).
    table: hashbrown::HashTable<(u64, usize)>,
    entries: Vec<Entry>,
    /// Each entry's login then password.
    bytes: Vec<u8>,
    hasher: foldhash::fast::RandomState,
}

impl std::fmt::Debug for Candidates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Candidates({} entries)", self.entries.len())
    }
}

impl Candidates {
    /// Records `sightings` lines carrying `login` (normalised, with `hash` its
    /// [`crate::login::hash_normalized`] and `hint` what the index's
    /// [`IndexView::may_hold`](crate::index::IndexView::may_hold) said) and
    /// `password`, the first at `first`.
    pub fn add(
        &mut self,
        hash: u64,
        hint: Hint,
        login: &[u8],
        password: &[u8],
        sightings: u64,
        first: Sighting,
    ) {
        let info = CandInfo { sightings, first };
        let key = {
            let mut h = self.hasher.build_hasher();
            h.write_u64(hash);
            h.write(password);
            h.finish()
        };
        let (entries, bytes) = (&self.entries, &self.bytes);
        let found = self.table.find(key, |&(k, i)| {
            let e = &entries[i];
            k == key && e.hash == hash && e.login(bytes) == login && e.password(bytes) == password
        });
        if let Some(&(_, i)) = found {
            self.entries[i].info.absorb(info);
            return;
        }
        let i = self.entries.len();
        self.entries.push(Entry {
            hash,
            hint,
            at: self.bytes.len(),
            login_len: login.len() as u32,
            password_len: password.len() as u32,
            info,
        });
        self.bytes.extend_from_slice(login);
        self.bytes.extend_from_slice(password);
        self.table.insert_unique(key, (key, i), |&(k, _)| k);
    }

    /// Appends another set whose line numbers are `line_offset` short, without
    /// looking for pairs both hold (see [`Candidates::distinct`]). Later
    /// [`Candidates::add`]s deduplicate only among themselves.
    pub fn append(&mut self, other: Candidates, line_offset: u64) {
        if self.entries.is_empty() && line_offset == 0 {
            *self = other;
            self.table = hashbrown::HashTable::new();
            return;
        }
        self.table = hashbrown::HashTable::new();
        let shift = self.bytes.len();
        self.bytes.extend_from_slice(&other.bytes);
        self.entries.extend(other.entries.iter().map(|e| {
            let mut e = *e;
            e.at += shift;
            e.info.first.line += line_offset;
            e
        }));
    }

    /// Number of entries (distinct pairs until sets are appended).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The distinct candidates, sorted by login hash, login, then password: entries
    /// of the same pair are merged (sightings summed, earliest first sighting kept).
    /// The order is the index's record order, and does not depend on the order of
    /// the entries.
    ///
    /// It sorts compact (hash, entry) keys, comparing bytes only between entries of
    /// one hash, then gathers the entries in that order with a prefetch a few ahead.
    pub fn distinct(&self) -> Vec<Candidate<'_>> {
        use rayon::prelude::*;
        const AHEAD: usize = 8;
        let (entries, bytes) = (&self.entries, &self.bytes);
        let mut keys: Vec<(u64, usize)> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.hash, i))
            .collect();
        keys.par_sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| {
                let (x, y) = (&entries[a.1], &entries[b.1]);
                x.login(bytes)
                    .cmp(y.login(bytes))
                    .then_with(|| x.password(bytes).cmp(y.password(bytes)))
            })
        });
        let mut out: Vec<Candidate<'_>> = Vec::with_capacity(keys.len());
        for (k, &(hash, i)) in keys.iter().enumerate() {
            if let Some(&(_, ahead)) = keys.get(k + AHEAD) {
                crate::index::prefetch(&entries[ahead]);
            }
            let e = &entries[i];
            let c = Candidate {
                hash,
                hint: e.hint,
                login: e.login(bytes),
                password: e.password(bytes),
                info: e.info,
            };
            match out.last_mut() {
                Some(kept)
                    if kept.hash == hash
                        && kept.login == c.login
                        && kept.password == c.password =>
                {
                    kept.info.absorb(c.info)
                }
                _ => out.push(c),
            }
        }
        out
    }

    /// Every entry, in the order first added.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Candidate<'_>> + '_ {
        let bytes = &self.bytes;
        self.entries.iter().map(move |e| Candidate {
            hash: e.hash,
            hint: e.hint,
            login: e.login(bytes),
            password: e.password(bytes),
            info: e.info,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(line: u64) -> Sighting {
        Sighting { file: 0, line }
    }

    #[test]
    fn same_login_and_password_are_one_candidate() {
        let mut c = Candidates::default();
        c.add(1, Hint(0), b"a@x", b"pw", 1, seen(5));
        c.add(1, Hint(0), b"a@x", b"pw", 1, seen(3));
        c.add(1, Hint(0), b"a@x", b"pw2", 1, seen(4));
        // Same login hash, different login (a collision) stays apart.
        c.add(1, Hint(0), b"b@x", b"pw", 1, seen(6));
        let all: Vec<_> = c.iter().map(|c| (c.login, c.password, c.info)).collect();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].0, b"a@x");
        assert_eq!(
            all[0].2,
            CandInfo {
                sightings: 2,
                first: seen(3)
            }
        );
        assert_eq!(all[2].0, b"b@x");
    }

    #[test]
    fn append_offsets_lines_and_distinct_merges() {
        let mut a = Candidates::default();
        a.add(1, Hint(0), b"a@x", b"pw", 1, seen(5));
        let mut b = Candidates::default();
        b.add(2, Hint(0), b"c@x", b"p", 1, seen(2));
        b.add(1, Hint(0), b"a@x", b"pw", 2, seen(1));
        a.append(b, 10);
        assert_eq!(a.len(), 3);
        let all: Vec<_> = a.distinct().iter().map(|c| (c.login, c.info)).collect();
        assert_eq!(
            all[0],
            (
                &b"a@x"[..],
                CandInfo {
                    sightings: 3,
                    first: seen(5)
                }
            )
        );
        assert_eq!(
            all[1],
            (
                &b"c@x"[..],
                CandInfo {
                    sightings: 1,
                    first: seen(12)
                }
            )
        );
        assert_eq!(all.len(), 2);
        assert_eq!(format!("{a:?}"), "Candidates(3 entries)");
    }
}
