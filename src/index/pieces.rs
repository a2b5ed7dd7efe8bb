//! Per-piece checksums of a mapped index, checked the first time a run reads a
//! piece.
//!
//! The body of an `.lmx` file carries an xxh3-64 checksum per piece (1 MiB in the
//! files this build writes). A run checks each piece before it trusts what it read
//! there: the slot table and Bloom filter in the background while the scan runs, a
//! piece of records when a hit first leads there. A nightly scan of a small dump
//! against a huge index so reads only what it needs instead of hashing gigabytes.

use memmap2::Mmap;
use xxhash_rust::xxh3::xxh3_64;

/// The body's piece checksums and which pieces have been checked: every read of the
/// body a run trusts goes through [`Pieces::ensure`] first.
pub struct Pieces {
    /// File offsets of the body.
    pub(super) body: std::ops::Range<usize>,
    pub(super) piece: usize,
    /// File offset of the piece table.
    pub(super) table: usize,
    /// Per piece: 0 not checked yet, 1 good, 2 bad.
    pub(super) state: Vec<std::sync::atomic::AtomicU8>,
}

impl Pieces {
    /// Checks every piece overlapping `range` (file offsets) not checked yet, and
    /// says whether all of them are good. A piece hashed here is released from
    /// resident memory when `release` is set (a pass over the whole table).
    pub fn ensure(&self, map: &Mmap, range: std::ops::Range<usize>, release: bool) -> bool {
        use std::sync::atomic::Ordering;
        let start = range.start.max(self.body.start);
        let end = range.end.min(self.body.end);
        if start >= end {
            return true;
        }
        let first = (start - self.body.start) / self.piece;
        let last = (end - 1 - self.body.start) / self.piece;
        (first..=last).all(|i| match self.state[i].load(Ordering::Acquire) {
            1 => true,
            2 => false,
            _ => {
                let at = self.body.start + i * self.piece;
                let bytes = &map[at..(at + self.piece).min(self.body.end)];
                let want = &map[self.table + i * 8..self.table + i * 8 + 8];
                let good = xxh3_64(bytes).to_le_bytes() == want;
                if release {
                    // SAFETY: `map` is the read-only shared mapping of the index file.
                    unsafe { crate::mem::release_file_pages(map, at..at + bytes.len()) };
                }
                self.state[i].store(if good { 1 } else { 2 }, Ordering::Release);
                good
            }
        })
    }

    /// Whether any piece checked so far was bad.
    pub fn any_bad(&self) -> bool {
        self.state
            .iter()
            .any(|s| s.load(std::sync::atomic::Ordering::Acquire) == 2)
    }
}
