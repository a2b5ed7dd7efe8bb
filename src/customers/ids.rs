//! Every `account_id` used once: the duplicate check, in bounded memory.
//!
//! Each row's id is hashed to 128 bits (xxh3-128) and recorded with the row's key
//! in partitions by the hash's top bits ([`crate::spill`]); at the end each
//! partition is sorted ([`crate::sort::by_hash`]) and two rows with the same hash
//! are the same id. A false duplicate
//! would need two distinct ids among hundreds of millions to collide in 128 bits
//! (odds around 10^-20): this check never holds the ids themselves, so it stays at
//! 24 bytes a row however long the ids are, and spills to disk past its budget.

use std::io;

use crate::spill::{Partitions, Writer};

/// Bytes a row takes: hash (16) and key (8).
const ENTRY: usize = 24;

/// The duplicate check of one load.
pub struct IdCheck {
    parts: Partitions,
    shift: u32,
    /// Bytes of a writer's block.
    block: usize,
}

/// A worker's way into an [`IdCheck`].
pub struct IdWriter<'c> {
    writer: Writer<'c>,
    shift: u32,
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
        }
    }

    /// A writer for one worker.
    pub fn writer(&self) -> IdWriter<'_> {
        IdWriter {
            writer: Writer::new(&self.parts, self.block),
            shift: self.shift,
        }
    }

    /// Bytes spilled to disk.
    pub fn spilled(&self) -> u64 {
        self.parts.spilled()
    }

    /// The first duplicate: `(first key, later key)` for the id whose repeat comes
    /// earliest (the smallest later key), keys as the rows gave them.
    pub fn first_duplicate(&self) -> io::Result<Option<(u64, u64)>> {
        let mut best: Option<(u64, u64)> = None;
        for p in 0..self.parts.len() {
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
        }
        Ok(best)
    }
}

impl IdWriter<'_> {
    /// Records a row's id.
    #[inline]
    pub fn add(&mut self, id: &[u8], key: u64) {
        let h = xxhash_rust::xxh3::xxh3_128(id);
        let (hi, lo) = ((h >> 64) as u64, h as u64);
        let p = (hi >> self.shift) as usize;
        self.writer.push_with(p, |b| {
            b.extend_from_slice(&hi.to_le_bytes());
            b.extend_from_slice(&lo.to_le_bytes());
            b.extend_from_slice(&key.to_le_bytes());
        });
    }

    /// Sends what this writer holds to the check.
    pub fn finish(self) -> io::Result<()> {
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
}
