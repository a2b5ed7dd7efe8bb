//! Every `account_id` used once: the duplicate check, in bounded memory.
//!
//! Each row's id is hashed to 128 bits (xxh3-128) and recorded with the row's key
//! in partitions by the hash's top bits ([`crate::spill`]); at the end each
//! partition is sorted ([`crate::sort::by_hash`]) and two rows with the same hash
//! are the same id. A false duplicate would need two distinct ids among hundreds of
//! millions to collide in 128 bits (odds around 10^-20): this check never holds the
//! ids themselves, so it stays at 24 bytes a row however long the ids are, and
//! spills to disk past its budget.
//!
//! Exports from a database are usually ordered by their key. So each worker also
//! notes whether the ids of each range it reads strictly increase ([`id_order`]);
//! when every range's do and the ranges follow one another, the ids are all
//! distinct and the sort is skipped (it was a fifth of reading 20M customers). A
//! source that can be read twice is read once optimistically: the ids are neither
//! hashed nor spilled ([`IdCheck::speculative`]), and only ids found out of order
//! cost a second pass ([`IdCheck::needs_second_pass`]). At 100M customers that
//! spares writing 2.4 GB of hashes through a disk that takes 235 MB/s.

use std::cmp::Ordering;
use std::io;
use std::sync::Mutex;

use crate::spill::{Partitions, Writer};

/// Bytes a row takes: hash (16) and key (8).
const ENTRY: usize = 24;

/// The duplicate check of one load.
pub struct IdCheck {
    parts: Partitions,
    shift: u32,
    /// Bytes of a writer's block.
    block: usize,
    /// Per range read: its first and last id, if its ids strictly increase
    /// (`None`: they do not).
    ranges: Mutex<Vec<(usize, Option<Bounds>)>>,
    /// Only the order is noted; nothing is hashed or spilled.
    speculative: bool,
}

/// The first and last id of a range.
type Bounds = (Vec<u8>, Vec<u8>);

/// A total order of ids: all-digit ids before the others, by value (length, then
/// digits); the others byte by byte. Strictly increasing ids are distinct.
pub fn id_order(a: &[u8], b: &[u8]) -> Ordering {
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    match (digits(a), digits(b)) {
        (true, true) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

/// An id of 1 to 16 bytes held in registers, as its bytes zero-padded and read
/// big-end first: keys compare as [`id_order`] compares their ids (the variants'
/// order puts numbers first), and give them back ([`Key::id`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    /// All digits, as (length, bytes): by value.
    Number(usize, u128),
    /// Not all digits, as (bytes, length): byte-wise order, a prefix first.
    Short(u128, usize),
}

impl Key {
    /// The key of an id short enough to have one. Loaded as two overlapping
    /// words: a copy into a buffer and a load of it back stalled on
    /// store forwarding, a third of the order check (profiled).
    #[inline]
    fn of(id: &[u8]) -> Option<Key> {
        let len = id.len();
        let (bytes, digits) = match len {
            8..=16 => {
                let word = |at: usize| u64::from_be_bytes(id[at..at + 8].try_into().unwrap());
                let (hi, tail) = (word(0), word(len - 8));
                let lo = tail.checked_shl(8 * (16 - len) as u32).unwrap_or(0);
                (
                    u128::from(hi) << 64 | u128::from(lo),
                    digits8(hi) && digits8(tail),
                )
            }
            1..=7 => {
                let mut v = 0u64;
                for &c in id {
                    v = v << 8 | u64::from(c);
                }
                let digits = id.iter().all(u8::is_ascii_digit);
                (u128::from(v << (8 * (8 - len))) << 64, digits)
            }
            _ => return None,
        };
        Some(if digits {
            Key::Number(len, bytes)
        } else {
            Key::Short(bytes, len)
        })
    }

    /// The id, into `buf`.
    fn id(self, buf: &mut [u8; 16]) -> &[u8] {
        let (Key::Number(len, bytes) | Key::Short(bytes, len)) = self;
        *buf = bytes.to_be_bytes();
        &buf[..len]
    }
}

/// Whether the 8 bytes of `w` are all ASCII digits: high nibbles 3, and low
/// nibbles that do not carry when 6 is added.
#[inline(always)]
fn digits8(w: u64) -> bool {
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const THREES: u64 = 0x3030_3030_3030_3030;
    w & HIGH == THREES && w.wrapping_add(0x0606_0606_0606_0606) & HIGH == THREES
}

/// What a worker knows of the order of the range it is reading.
#[derive(Default)]
struct RangeOrder {
    first: Vec<u8>,
    /// The last id, as a [`Key`] if it has one (compared in registers: the copy
    /// and byte compare of each id were a tenth of reading 20M customers behind a
    /// dump's filter; profiled), else here.
    last: Vec<u8>,
    last_key: Option<Key>,
    rows: u64,
    increasing: bool,
}

impl RangeOrder {
    /// Whether `id` (whose [`Key`] is `k`) comes after the last id.
    #[inline]
    fn follows(&self, id: &[u8], k: Option<Key>) -> bool {
        match (self.last_key, k) {
            (Some(a), Some(b)) => a < b,
            _ => {
                let mut buf = [0u8; 16];
                let last = match self.last_key {
                    Some(a) => a.id(&mut buf),
                    None => &self.last,
                };
                id_order(last, id) == Ordering::Less
            }
        }
    }

    /// The last id's bytes.
    fn last_id(&self) -> Vec<u8> {
        match self.last_key {
            Some(k) => k.id(&mut [0u8; 16]).to_vec(),
            None => self.last.clone(),
        }
    }
}

/// A worker's way into an [`IdCheck`].
pub struct IdWriter<'c> {
    writer: Writer<'c>,
    shift: u32,
    check: &'c IdCheck,
    order: RangeOrder,
}

impl IdCheck {
    /// A check for about `rows_hint` rows, holding at most `budget` bytes in memory
    /// (beyond it, partitions spill to `dir`).
    pub fn new(rows_hint: u64, budget: usize, dir: &std::path::Path) -> IdCheck {
        let total = rows_hint.saturating_mul(ENTRY as u64);
        // Partitions small enough to sort in a fraction of the budget.
        let n = crate::spill::partitions_for(total, (budget as u64 / 4).max(1 << 20), 4096).max(16);
        // Each worker holds a block a partition: a sixteenth of the budget in all
        // for two workers, in blocks big enough for few allocations.
        let block = (budget / (32 * n)).clamp(16 << 10, 4 << 20) / ENTRY * ENTRY;
        IdCheck {
            parts: Partitions::new(n, budget, dir),
            shift: 64 - n.trailing_zeros(),
            block,
            ranges: Mutex::new(Vec::new()),
            speculative: false,
        }
    }

    /// A check that only notes whether the ids come in order: when they do not,
    /// [`IdCheck::needs_second_pass`] says so and the ids must be read again into
    /// a check that is not speculative.
    pub fn speculative(rows_hint: u64, dir: &std::path::Path) -> IdCheck {
        IdCheck {
            speculative: true,
            ..IdCheck::new(rows_hint, 1 << 20, dir)
        }
    }

    /// Whether this check was speculative and the ids were not all in order: its
    /// answer needs the ids read again.
    pub fn needs_second_pass(&self) -> bool {
        self.speculative && !self.all_increasing()
    }

    /// A writer for one worker.
    pub fn writer(&self) -> IdWriter<'_> {
        IdWriter {
            writer: Writer::new(&self.parts, self.block),
            shift: self.shift,
            check: self,
            order: RangeOrder::default(),
        }
    }

    /// Whether every range's ids strictly increase and each range's come after the
    /// previous one's: then no id repeats.
    fn all_increasing(&self) -> bool {
        let mut ranges = self
            .ranges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        ranges.sort_unstable_by_key(|r| r.0);
        let mut last: Option<Vec<u8>> = None;
        for (_, order) in ranges {
            match order {
                None => return false,
                Some((first, end)) => {
                    if last
                        .as_ref()
                        .is_some_and(|l| id_order(l, &first) != Ordering::Less)
                    {
                        return false;
                    }
                    last = Some(end);
                }
            }
        }
        true
    }

    /// Bytes spilled to disk.
    pub fn spilled(&self) -> u64 {
        self.parts.spilled()
    }

    /// The first duplicate: `(first key, later key)` for the id whose repeat comes
    /// earliest (the smallest later key), keys as the rows gave them.
    pub fn first_duplicate(&self) -> io::Result<Option<(u64, u64)>> {
        use rayon::prelude::*;
        if self.all_increasing() {
            return Ok(None);
        }
        if self.speculative {
            return Err(io::Error::other(
                "a speculative id check cannot answer for ids out of order",
            ));
        }
        let found: Vec<io::Result<Option<(u64, u64)>>> = (0..self.parts.len())
            .into_par_iter()
            .map(|p| self.partition_duplicate(p))
            .collect();
        let mut best: Option<(u64, u64)> = None;
        for f in found {
            if let Some((first, again)) = f? {
                if best.is_none_or(|(_, b)| again < b) {
                    best = Some((first, again));
                }
            }
        }
        Ok(best)
    }

    /// [`IdCheck::first_duplicate`] within partition `p`.
    fn partition_duplicate(&self, p: usize) -> io::Result<Option<(u64, u64)>> {
        let mut best: Option<(u64, u64)> = None;
        let blocks = self.parts.take(p)?;
        let n = blocks.iter().map(|b| b.len() / ENTRY).sum();
        let entries = crate::sort::sorted_by_hash(
            n,
            || {
                blocks.iter().flat_map(|b| {
                    b.chunks_exact(ENTRY).map(|e| {
                        let w = |i: usize| u64::from_le_bytes(e[i..i + 8].try_into().unwrap());
                        (w(0), w(8), w(16))
                    })
                })
            },
            64 - self.shift,
            |e| e.0,
            |a, b| a.cmp(b),
        );
        drop(blocks);
        for same in entries
            .chunk_by(|a, b| (a.0, a.1) == (b.0, b.1))
            .filter(|s| s.len() > 1)
        {
            // Sorted by key within the same hash: the first use, then the
            // earliest repeat.
            let (first, again) = (same[0].2, same[1].2);
            if best.is_none_or(|(_, b)| again < b) {
                best = Some((first, again));
            }
        }
        Ok(best)
    }
}

impl IdWriter<'_> {
    /// Records a row's id.
    #[inline]
    pub fn add(&mut self, id: &[u8], key: u64) {
        self.add_hashed(id, None, key);
    }

    /// Records a row's id, maybe hashed already by
    /// [`crate::customers::Digest::id_hash`] (else hashed here if the check needs
    /// it: a speculative check does not).
    #[inline]
    pub fn add_hashed(&mut self, id: &[u8], hash: Option<u128>, key: u64) {
        let o = &mut self.order;
        let k = Key::of(id);
        if o.rows == 0 {
            o.first.clear();
            o.first.extend_from_slice(id);
            o.increasing = true;
        } else if o.increasing && !o.follows(id, k) {
            o.increasing = false;
        }
        o.rows += 1;
        if o.increasing {
            o.last_key = k;
            if k.is_none() {
                o.last.clear();
                o.last.extend_from_slice(id);
            }
        }
        if self.check.speculative {
            return;
        }
        let h = hash.unwrap_or_else(|| xxhash_rust::xxh3::xxh3_128(id));
        let (hi, lo) = ((h >> 64) as u64, h as u64);
        let p = (hi >> self.shift) as usize;
        self.writer.push_with(p, |b| {
            b.extend_from_slice(&hi.to_le_bytes());
            b.extend_from_slice(&lo.to_le_bytes());
            b.extend_from_slice(&key.to_le_bytes());
        });
    }

    /// The range being read is over (ranges without rows included).
    pub fn end_range(&mut self, range: usize) {
        let o = std::mem::take(&mut self.order);
        let entry = if o.rows == 0 {
            return;
        } else if o.increasing {
            let last = o.last_id();
            Some((o.first, last))
        } else {
            None
        };
        self.check
            .ranges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((range, entry));
    }

    /// Sends what this writer holds to the check.
    pub fn finish(self) -> io::Result<()> {
        if self.order.rows > 0 {
            // Rows outside an ended range: their order proves nothing.
            self.check
                .ranges
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((usize::MAX, None));
        }
        self.writer.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_dup(ids: &[&str], budget: usize) -> Option<(u64, u64)> {
        let dir = tempfile::tempdir().unwrap();
        let check = IdCheck::new(ids.len() as u64, budget, dir.path());
        // Two workers, rows interleaved: the answer must not depend on who saw what.
        let (mut a, mut b) = (check.writer(), check.writer());
        for (i, id) in ids.iter().enumerate() {
            let w = if i % 2 == 0 { &mut a } else { &mut b };
            w.add(id.as_bytes(), i as u64 + 1);
        }
        a.finish().unwrap();
        b.finish().unwrap();
        check.first_duplicate().unwrap()
    }

    /// Ranges of ids in order, as a sorted export gives them: no sort needed, and
    /// a repeat at a range boundary or within a range still found.
    #[test]
    fn ids_in_order_skip_the_sort_and_repeats_are_still_found() {
        let check_ranges = |ranges: &[&[&str]]| {
            let dir = tempfile::tempdir().unwrap();
            let check = IdCheck::new(100, 1 << 20, dir.path());
            let mut key = 0;
            let mut w = check.writer();
            for (r, ids) in ranges.iter().enumerate() {
                for id in ids.iter() {
                    key += 1;
                    w.add(id.as_bytes(), key);
                }
                w.end_range(r);
            }
            w.finish().unwrap();
            check.first_duplicate().unwrap()
        };
        assert_eq!(
            check_ranges(&[&["1", "2", "10"], &[], &["11", "a", "b"]]),
            None
        );
        assert_eq!(check_ranges(&[&["1", "2"], &["2", "3"]]), Some((2, 3)));
        assert_eq!(check_ranges(&[&["a", "b", "b"], &["c"]]), Some((2, 3)));
        assert_eq!(check_ranges(&[&["b", "a"], &["b"]]), Some((1, 3)));
        // Leading zeros: "7" and "007" are different ids.
        assert_eq!(check_ranges(&[&["7", "007"]]), None);
        assert_eq!(id_order(b"9", b"10"), Ordering::Less);
        assert_eq!(id_order(b"10", b"1a"), Ordering::Less);
        assert_eq!(id_order(b"1a", b"9"), Ordering::Greater);
    }

    #[test]
    fn finds_the_earliest_repeat() {
        assert_eq!(first_dup(&["a", "b", "c"], 1 << 20), None);
        assert_eq!(first_dup(&["a", "b", "a", "b"], 1 << 20), Some((1, 3)));
        assert_eq!(first_dup(&["x", "b", "c", "b", "x"], 1 << 20), Some((2, 4)));
        assert_eq!(first_dup(&["a", "a", "a"], 1 << 20), Some((1, 2)));
    }

    #[test]
    fn spilling_changes_nothing() {
        let ids: Vec<String> = (0..20_000).map(|i| format!("id-{}", i % 19_999)).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(first_dup(&refs, 256), Some((1, 20_000)));
        assert_eq!(first_dup(&refs, 1 << 24), Some((1, 20_000)));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn id() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                "0{0,2}[0-9]{1,19}",
                "[0-9]{18,22}",
                "[0-9a]{1,4}",
                "[a-z0-9-]{1,8}",
                "c[0-9]{9,16}",
                "[a\u{0}]{1,3}",
            ]
            .prop_map(String::into_bytes)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// Keys order ids as `id_order` does, and give them back.
            #[test]
            fn keys_order_as_id_order(a in id(), b in id()) {
                if let (Some(ka), Some(kb)) = (Key::of(&a), Key::of(&b)) {
                    prop_assert_eq!(ka.cmp(&kb), id_order(&a, &b));
                    let mut buf = [0; 16];
                    prop_assert_eq!(ka.id(&mut buf), &a[..]);
                }
            }

            /// A range's order, tracked with ids kept as keys, is what
            /// `id_order` says of the ids themselves; so are its bounds.
            #[test]
            fn range_order_agrees_with_id_order(
                mut ids in proptest::collection::vec(id(), 1..12),
                sorted in any::<bool>(),
            ) {
                if sorted {
                    ids.sort_by(|a, b| id_order(a, b));
                }
                let dir = tempfile::tempdir().unwrap();
                let check = IdCheck::speculative(100, dir.path());
                let mut w = check.writer();
                for (key, id) in ids.iter().enumerate() {
                    w.add(id, key as u64);
                }
                w.end_range(0);
                w.finish().unwrap();
                let ranges = check.ranges.into_inner().unwrap();
                let increasing = ids.windows(2).all(|w| id_order(&w[0], &w[1]) == Ordering::Less);
                let bounds = (ids[0].clone(), ids.last().unwrap().clone());
                prop_assert_eq!(ranges, vec![(0, increasing.then_some(bounds))]);
            }
        }
    }
}
