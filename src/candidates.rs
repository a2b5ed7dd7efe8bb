//! What the scan found: distinct (login, password) candidates with their sightings.
//!
//! Owns the one data structure between the scan and verification. Each scan unit
//! fills its own [`Candidates`], deduplicated with a hash table; the scan appends the
//! units' sets in unit order without hashing or copying them;
//! [`Candidates::sorted`] orders what several units saw with one parallel sort,
//! which [`crate::confirm`] needs anyway to take logins in index order; and
//! [`Logins::for_each`] merges the pairs several units saw as it walks them. A set
//! keeps its keys in one byte arena and its entries in one vector, so adding a
//! candidate allocates nothing of its own, and dropping a set of millions frees three
//! buffers.
//!
//! A candidate's login is one the index *may* hold (its Bloom filter and a slot
//! fingerprint matched); [`crate::confirm`] confirms it against the index's records.
//! Passwords are held only here, never printed: `Debug` shows only a count.

use std::hash::{BuildHasher, Hasher};

/// Most distinct passwords one login keeps in one scan unit. A login with more (a
/// hostile paste repeating one customer's login with millions of passwords) keeps
/// the most-sighted this many (earliest first among equals), the rule
/// `--max-checks` applies; the sightings of the rest are counted per login
/// ([`Candidates::overflow`]) and its account goes to review unless a kept one
/// verifies. Real dumps hold a login with a handful of passwords.
///
/// Counting every distinct password to find the most-sighted exactly is the
/// unbounded memory the cap exists to prevent, so a full login holds up to twice
/// this many while it is read and drops its least-sighted half whenever that
/// fills (lossy counting): a password that comes back keeps its count from when it
/// was last taken in, so one repeated throughout a flood stays kept, and one whose
/// sightings outnumber those of the flood's passwords is kept wherever it starts.
pub const MAX_CANDIDATES_PER_LOGIN: u32 = 1024;

/// Login hash → a count, hashed with a per-process seed.
pub type PerLogin<V> = hashbrown::HashMap<u64, V, foldhash::fast::RandomState>;

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
/// [`Logins::for_each`] merges.
///
/// Appending keeps each set as it is (its line offset beside it) instead of copying
/// it into one buffer: the scan appends hundreds of units' sets on one thread
/// (copying them was 30 ms of serial work for the 20M-line benchmark dump).
///
/// The lookup table's hasher is foldhash with a per-process random seed, so a dump
/// cannot choose passwords that collide in it; the order of [`Candidates::iter`]
/// does not depend on it.
#[derive(Default)]
pub struct Candidates {
    /// The set [`Candidates::add`] fills (line offset 0).
    own: Set,
    /// Sets appended, each with its line offset.
    appended: Vec<Set>,
    hasher: foldhash::fast::RandomState,
}

/// Distinct candidates in one byte arena.
#[derive(Default)]
struct Set {
    /// (key hash, entry number); emptied once the set is appended elsewhere.
    table: hashbrown::HashTable<(u64, u32)>,
    entries: Vec<Entry>,
    /// Each entry's login then password.
    bytes: Vec<u8>,
    /// Added to the line of every entry's first sighting.
    line_offset: u64,
    /// Distinct passwords kept per login hash; emptied with `table`.
    kept: PerLogin<u32>,
    /// Lines whose password was not kept, per login hash (see
    /// [`MAX_CANDIDATES_PER_LOGIN`]).
    overflow: PerLogin<u64>,
    /// For each login that reached the cap, its live entries; emptied with `table`.
    full: PerLogin<Vec<u32>>,
    /// Entries dropped from a full login (sightings 0), removed when the set is
    /// moved.
    dead: usize,
}

impl Set {
    fn candidate(&self, i: u32) -> Candidate<'_> {
        let e = &self.entries[i as usize];
        let mut info = e.info;
        info.first.line += self.line_offset;
        Candidate {
            hash: e.hash,
            login: e.login(&self.bytes),
            password: e.password(&self.bytes),
            info,
        }
    }

    /// Moves the set into `to`, its lines `line_offset` further on, each full
    /// login cut to its [`MAX_CANDIDATES_PER_LOGIN`] most-sighted entries.
    fn move_into(mut self, to: &mut Vec<Set>, line_offset: u64) {
        let full: Vec<u64> = self.full.keys().copied().collect();
        for hash in full {
            self.drop_least_sighted(hash, None);
        }
        self.compact();
        if !self.entries.is_empty() || !self.overflow.is_empty() {
            self.table = hashbrown::HashTable::new();
            self.kept = PerLogin::default();
            self.full = PerLogin::default();
            self.line_offset += line_offset;
            to.push(self);
        }
    }

    /// Cuts full login `hash` to its [`MAX_CANDIDATES_PER_LOGIN`] most-sighted
    /// entries (earliest first among equals), adding the others' sightings to its
    /// overflow. With `hasher`, their keys also leave the lookup table, so the same
    /// pair seen again is taken in afresh.
    fn drop_least_sighted(&mut self, hash: u64, hasher: Option<&foldhash::fast::RandomState>) {
        let Some(members) = self.full.get_mut(&hash) else {
            return;
        };
        let cap = MAX_CANDIDATES_PER_LOGIN as usize;
        if members.len() <= cap {
            return;
        }
        let entries = &mut self.entries;
        members.sort_unstable_by_key(|&i| {
            let info = entries[i as usize].info;
            (std::cmp::Reverse(info.sightings), info.first, i)
        });
        let mut dropped = 0;
        for &i in &members[cap..] {
            let e = &mut entries[i as usize];
            dropped += e.info.sightings;
            e.info.sightings = 0;
            if let Some(hasher) = hasher {
                let key = key_of(hasher, e.hash, e.password(&self.bytes));
                if let Ok(found) = self.table.find_entry(key, |&(_, j)| j == i) {
                    found.remove();
                }
            }
        }
        self.dead += members.len() - cap;
        members.truncate(cap);
        *self.overflow.entry(hash).or_insert(0) += dropped;
        self.kept.insert(hash, MAX_CANDIDATES_PER_LOGIN);
    }

    /// Removes dropped entries, keeping the others in order.
    fn compact(&mut self) {
        if self.dead == 0 {
            return;
        }
        let live = self.entries.len() - self.dead;
        let mut entries = Vec::with_capacity(live);
        let mut bytes = Vec::new();
        for e in self.entries.iter().filter(|e| e.info.sightings > 0) {
            let (login, password) = (e.login(&self.bytes), e.password(&self.bytes));
            entries.push(Entry {
                at: bytes.len(),
                ..*e
            });
            bytes.extend_from_slice(login);
            bytes.extend_from_slice(password);
        }
        self.entries = entries;
        self.bytes = bytes;
        self.dead = 0;
    }

    /// Number of live entries.
    fn len(&self) -> usize {
        self.entries.len() - self.dead
    }
}

/// The lookup key of a (login hash, password) pair.
fn key_of(hasher: &foldhash::fast::RandomState, hash: u64, password: &[u8]) -> u64 {
    let mut h = hasher.build_hasher();
    h.write_u64(hash);
    h.write(password);
    h.finish()
}

impl std::fmt::Debug for Candidates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Candidates({} entries)", self.len())
    }
}

impl Candidates {
    /// Records `sightings` lines carrying `login` (normalised, with `hash` its
    /// [`crate::login::hash_normalized`]) and `password`, the first at `first`.
    pub fn add(
        &mut self,
        hash: u64,
        login: &[u8],
        password: &[u8],
        sightings: u64,
        first: Sighting,
    ) {
        let info = CandInfo { sightings, first };
        let key = key_of(&self.hasher, hash, password);
        let set = &mut self.own;
        let (entries, bytes) = (&set.entries, &set.bytes);
        let found = set.table.find(key, |&(k, i)| {
            let e = &entries[i as usize];
            k == key && e.hash == hash && e.login(bytes) == login && e.password(bytes) == password
        });
        if let Some(&(_, i)) = found {
            set.entries[i as usize].info.absorb(info);
            return;
        }
        let kept = set.kept.entry(hash).or_insert(0);
        *kept += 1;
        let kept = *kept;
        // Entries are numbered with 32 bits, up to u32::MAX exclusive (so `0..len`
        // fits too): a full set is put aside (the same pair may then have two
        // entries, which `Logins::for_each` merges).
        let i = set.entries.len();
        if i >= u32::MAX as usize {
            std::mem::take(&mut self.own).move_into(&mut self.appended, 0);
            return self.add(hash, login, password, sightings, first);
        }
        let i = i as u32;
        set.entries.push(Entry {
            hash,
            at: set.bytes.len(),
            login_len: login.len() as u32,
            password_len: password.len() as u32,
            info,
        });
        set.bytes.extend_from_slice(login);
        set.bytes.extend_from_slice(password);
        set.table.insert_unique(key, (key, i), |&(k, _)| k);
        if kept == MAX_CANDIDATES_PER_LOGIN {
            // Once per login and set: its entries so far.
            let members = (0..=i).filter(|&j| set.entries[j as usize].hash == hash);
            set.full.insert(hash, members.collect());
        } else if kept > MAX_CANDIDATES_PER_LOGIN {
            set.full.get_mut(&hash).expect("a full login").push(i);
            if kept == 2 * MAX_CANDIDATES_PER_LOGIN {
                set.drop_least_sighted(hash, Some(&self.hasher));
            }
        }
    }

    /// Appends another set whose line numbers are `line_offset` short, without
    /// looking for pairs both hold (see [`Logins::for_each`]) and without copying
    /// it. Later [`Candidates::add`]s deduplicate only among themselves.
    pub fn append(&mut self, other: Candidates, line_offset: u64) {
        for set in other.appended {
            set.move_into(&mut self.appended, line_offset);
        }
        other.own.move_into(&mut self.appended, line_offset);
    }

    /// Every set: those appended, then the own one.
    fn sets(&self) -> impl Iterator<Item = &Set> {
        self.appended.iter().chain(std::iter::once(&self.own))
    }

    /// Per login hash, the lines whose password was not kept (a new password
    /// beyond [`MAX_CANDIDATES_PER_LOGIN`] in a scan unit): empty for any ordinary
    /// dump.
    pub fn overflow(&self) -> PerLogin<u64> {
        let mut all = PerLogin::default();
        for set in self.sets() {
            for (&hash, &n) in &set.overflow {
                *all.entry(hash).or_insert(0) += n;
            }
        }
        all
    }

    /// Number of entries (distinct pairs until sets are appended).
    pub fn len(&self) -> usize {
        self.sets().map(Set::len).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The candidates sorted by login hash, to be walked login by login with
    /// [`Logins::for_each`] (see [`Sorted`]).
    ///
    /// One parallel sort of plain (hash, set, entry) integer keys puts each login's
    /// entries next to each other without reading them.
    pub fn sorted(&self) -> Sorted<'_> {
        use rayon::prelude::*;
        let sets: Vec<&Set> = self.sets().collect();
        let mut keys: Vec<Key> = crate::mem::with_capacity(self.len());
        for (n, set) in sets.iter().enumerate() {
            // One set per scan unit that found candidates: far fewer than 2^32.
            let n = n as u32;
            let live = set
                .entries
                .iter()
                .zip(0u32..)
                .filter(|(e, _)| e.info.sightings > 0);
            keys.extend(live.map(|(e, i)| (e.hash, n, i)));
        }
        keys.par_sort_unstable();
        Sorted { sets, keys }
    }

    /// Every login's distinct candidates, in [`Logins::for_each`] order, copied out
    /// (for tests; verification walks them in place).
    #[cfg(test)]
    pub(crate) fn distinct(&self) -> Vec<Vec<Candidate<'_>>> {
        let sorted = self.sorted();
        let mut out = Vec::new();
        sorted
            .logins()
            .for_each(&mut Vec::new(), |login| out.push(login.to_vec()));
        out
    }

    /// Every entry: the appended sets' in the order appended, then the own set's, in
    /// the order first added.
    pub fn iter(&self) -> impl Iterator<Item = Candidate<'_>> + '_ {
        self.sets().flat_map(|set| {
            (0..set.entries.len() as u32)
                .filter(|&i| set.entries[i as usize].info.sightings > 0)
                .map(move |i| set.candidate(i))
        })
    }
}

/// A sort key of [`Candidates::sorted`]: login hash, set, entry.
type Key = (u64, u32, u32);

/// The candidates sorted by login hash (the index's record order), before the
/// entries of one pair that several scan units saw are merged: [`Sorted::logins`]
/// walks them login by login, merging as it goes.
///
/// Nothing is gathered into one array: verification takes each login's candidates
/// from the units' sets while their entries are in cache (copying every candidate
/// out first cost 27 MB of fresh memory and its page faults for the 400k candidates
/// of the benchmark dump).
pub struct Sorted<'a> {
    sets: Vec<&'a Set>,
    keys: Vec<Key>,
}

impl<'a> Sorted<'a> {
    /// All the logins.
    pub fn logins(&self) -> Logins<'_, 'a> {
        Logins {
            sets: &self.sets,
            keys: &self.keys,
        }
    }
}

/// Consecutive logins of a [`Sorted`]: a piece of its keys that holds whole logins.
#[derive(Clone, Copy)]
pub struct Logins<'s, 'a> {
    sets: &'s [&'a Set],
    keys: &'s [Key],
}

impl<'s, 'a> Logins<'s, 'a> {
    /// Number of entries (a pair several scan units saw counts once per unit).
    pub fn entries(&self) -> usize {
        self.keys.len()
    }

    /// Cuts these logins into pieces of about `target` entries, never inside a
    /// login hash.
    pub fn cut(self, target: usize) -> Vec<Logins<'s, 'a>> {
        let pieces = self.keys.len().div_ceil(target.max(1));
        cut_at_hash_changes(self.keys, pieces)
            .into_iter()
            .map(|keys| Logins {
                sets: self.sets,
                keys,
            })
            .collect()
    }

    /// Calls `f` with each login's distinct candidates, grouped by login and sorted
    /// by login hash, login, then password; entries of the same pair are merged
    /// (sightings summed, earliest first sighting kept). The order does not depend on
    /// the order of the entries; `f` may reorder a login's slice. `buf` is reused
    /// scratch.
    ///
    /// Only a run of entries sharing one hash (a login seen with several passwords,
    /// or in several scan units) is sorted by its bytes. Entries are prefetched a
    /// few keys ahead, and their login bytes a few keys after that.
    pub fn for_each(self, buf: &mut Vec<Candidate<'a>>, mut f: impl FnMut(&mut [Candidate<'a>])) {
        const AHEAD: usize = 16;
        let (sets, keys) = (self.sets, self.keys);
        let entry = |&(_, s, e): &Key| &sets[s as usize].entries[e as usize];
        let mut k = 0;
        while k < keys.len() {
            let hash = keys[k].0;
            let run = keys[k..].iter().take_while(|key| key.0 == hash).count();
            buf.clear();
            for &(_, set, i) in &keys[k..k + run] {
                if let Some(ahead) = keys.get(k + AHEAD) {
                    crate::mem::prefetch(entry(ahead));
                }
                if let Some(ahead @ &(_, s, _)) = keys.get(k + AHEAD / 2) {
                    crate::mem::prefetch(&sets[s as usize].bytes[entry(ahead).at..]);
                }
                buf.push(sets[set as usize].candidate(i));
                k += 1;
            }
            if run == 1 {
                f(buf);
                continue;
            }
            buf.sort_unstable_by(|a, b| {
                a.login
                    .cmp(b.login)
                    .then_with(|| a.password.cmp(b.password))
            });
            let mut kept = 0;
            for r in 1..buf.len() {
                let c = buf[r];
                if c.login == buf[kept].login && c.password == buf[kept].password {
                    buf[kept].info.absorb(c.info);
                } else {
                    kept += 1;
                    buf[kept] = c;
                }
            }
            buf.truncate(kept + 1);
            for login in buf.chunk_by_mut(|a, b| a.login == b.login) {
                f(login);
            }
        }
    }
}

/// Cuts sorted `keys` into about `pieces` slices, never inside a run of one hash.
fn cut_at_hash_changes(keys: &[Key], pieces: usize) -> Vec<&[Key]> {
    let target = keys.len().div_ceil(pieces.max(1)).max(1);
    let mut out = Vec::with_capacity(pieces + 1);
    let mut rest = keys;
    while !rest.is_empty() {
        let mut end = target.min(rest.len());
        while end < rest.len() && rest[end].0 == rest[end - 1].0 {
            end += 1;
        }
        let (piece, after) = rest.split_at(end);
        out.push(piece);
        rest = after;
    }
    out
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
        c.add(1, b"a@x", b"pw", 1, seen(5));
        c.add(1, b"a@x", b"pw", 1, seen(3));
        c.add(1, b"a@x", b"pw2", 1, seen(4));
        // Same login hash, different login (a collision) stays apart.
        c.add(1, b"b@x", b"pw", 1, seen(6));
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
        a.add(1, b"a@x", b"pw", 1, seen(5));
        let mut b = Candidates::default();
        b.add(2, b"c@x", b"p", 1, seen(2));
        b.add(1, b"a@x", b"pw", 2, seen(1));
        a.append(b, 10);
        assert_eq!(a.len(), 3);
        let d = a.distinct();
        let all: Vec<_> = d.iter().flatten().map(|c| (c.login, c.info)).collect();
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

    /// A login flooded with distinct passwords keeps the cap's worth, the
    /// most-sighted first and the earliest among equals, whichever set they land in;
    /// every line not kept is counted.
    #[test]
    fn a_full_login_keeps_its_most_sighted_passwords() {
        let cap = MAX_CANDIDATES_PER_LOGIN as u64;
        let mut c = Candidates::default();
        c.add(9, b"other@x", b"pw", 1, seen(1));
        let mut line = 1;
        let mut lines = 1;
        for i in 0..5 * cap {
            line += 1;
            lines += 1;
            c.add(1, b"a@x", format!("guess-{i}").as_bytes(), 1, seen(line));
            // The real password first comes after the cap, then again and again.
            if i > 2 * cap && i % 500 == 0 {
                line += 1;
                lines += 1;
                c.add(1, b"a@x", b"real", 1, seen(line));
            }
        }
        let mut all = Candidates::default();
        all.append(c, 0);
        let d = all.distinct();
        let flooded = d.iter().find(|l| l[0].login == b"a@x").unwrap();
        assert_eq!(flooded.len() as u64, cap);
        let real = flooded.iter().find(|c| c.password == b"real").unwrap();
        assert!(real.info.sightings >= 2, "{:?}", real.info);
        // Among the once-seen, the earliest are kept.
        assert!(flooded.iter().any(|c| c.password == b"guess-0"));
        assert!(!flooded
            .iter()
            .any(|c| c.password == format!("guess-{}", 5 * cap - 1).as_bytes()));
        let kept: u64 = d.iter().flatten().map(|c| c.info.sightings).sum();
        assert_eq!(kept + all.overflow()[&1], lines);
        assert_eq!(all.len() as u64, cap + 1);
        // The other login is untouched.
        assert_eq!(d.iter().filter(|l| l[0].login == b"other@x").count(), 1);
    }

    #[test]
    fn pieces_never_split_a_hash() {
        let keys: Vec<Key> = [1, 1, 1, 2, 3, 3, 3, 3, 4]
            .iter()
            .map(|&h| (h, 0, 0))
            .collect();
        for n in 1..12 {
            let pieces = cut_at_hash_changes(&keys, n);
            assert_eq!(pieces.concat(), keys);
            for w in pieces.windows(2) {
                assert_ne!(w[0].last().unwrap().0, w[1][0].0);
            }
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;
        use std::collections::BTreeMap;

        proptest! {
            /// `distinct` equals a plain map from (hash, login, password) to merged
            /// sightings, whatever the sets appended, and its login runs are exactly
            /// the (hash, login) groups, colliding hashes included.
            #[test]
            fn distinct_is_the_merged_map_grouped_by_login(
                sets in proptest::collection::vec(
                    proptest::collection::vec(
                        (0u64..4, 0u8..3, 0u8..3, 1u64..4, 1u64..50),
                        0..30,
                    ),
                    1..5,
                ),
            ) {
                let mut all = Candidates::default();
                let mut model: BTreeMap<(u64, Vec<u8>, Vec<u8>), CandInfo> = BTreeMap::new();
                for set in &sets {
                    let mut c = Candidates::default();
                    for &(hash, login, password, sightings, line) in set {
                        let (l, p) = (vec![b'a' + login], vec![b'0' + password]);
                        c.add(hash, &l, &p, sightings, seen(line));
                        let info = CandInfo { sightings, first: seen(line) };
                        model
                            .entry((hash, l, p))
                            .and_modify(|m| m.absorb(info))
                            .or_insert(info);
                    }
                    all.append(c, 0);
                }
                let d = all.distinct();
                let got: Vec<_> = d
                    .iter()
                    .flatten()
                    .map(|c| ((c.hash, c.login.to_vec(), c.password.to_vec()), c.info))
                    .collect();
                let want: Vec<_> = model.into_iter().collect();
                prop_assert_eq!(&got, &want);
                // Cut into pieces, the walk is the same.
                let sorted = all.sorted();
                for target in [1, 3, 1000] {
                    let mut pieced = Vec::new();
                    for piece in sorted.logins().cut(target) {
                        piece.for_each(&mut Vec::new(), |l| pieced.push(l.to_vec()));
                    }
                    prop_assert_eq!(pieced.len(), d.len());
                    for (a, b) in pieced.iter().zip(&d) {
                        prop_assert_eq!(
                            a.iter().map(|c| (c.login, c.password, c.info)).collect::<Vec<_>>(),
                            b.iter().map(|c| (c.login, c.password, c.info)).collect::<Vec<_>>()
                        );
                    }
                }
                let runs: Vec<Vec<u8>> = d.iter().map(|r| {
                    assert!(r.iter().all(|c| c.hash == r[0].hash && c.login == r[0].login));
                    r[0].login.to_vec()
                }).collect();
                let mut groups: Vec<(u64, Vec<u8>)> = want.iter().map(|((h, l, _), _)| (*h, l.clone())).collect();
                groups.dedup();
                prop_assert_eq!(runs.len(), groups.len());
            }
        }
    }
}
