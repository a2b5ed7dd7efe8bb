//! Per-piece checksums of a mapped index, checked the first time a run reads a
//! piece.
//!
//! Each region of an `.lmx` body (records, Bloom filter, slots) is cut into pieces
//! of [`PIECE`] bytes (the last one shorter), and each piece carries an xxh3-64
//! checksum in the file's piece table (8 bytes a page: 0.2% of the index). A run checks each piece before it trusts
//! what it read there: the slot table and Bloom filter in the background while the
//! scan runs, a piece of records when a hit first leads there. A nightly scan of a
//! small dump against a huge index so reads only what it needs instead of hashing
//! gigabytes. [`PieceHasher`] computes the table as a region is written.

use std::ops::Range;
use std::sync::atomic::{AtomicU8, Ordering};

use memmap2::Mmap;
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

/// Bytes per checksummed piece in the files this build writes: a page. A scan's
/// hits land at random in the records (they are in the customers file's order),
/// so a check of a bigger piece reads and maps bytes nobody asked for: with 1 MiB
/// pieces, 400k hits against a 100M-customer index read all 5.6 GB of records
/// (1.5 s, and 6.5 GB resident).
pub const PIECE: usize = 4096;

/// The regions of a body, in file and piece-table order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    /// The accounts' entries.
    Records = 0,
    /// The Bloom filter.
    Bloom = 1,
    /// The slot table.
    Slots = 2,
}

/// Pieces in a region of `len` bytes.
pub fn pieces_in(len: usize, piece: usize) -> usize {
    len.div_ceil(piece.max(1))
}

/// The checksums of a mapped body and which pieces have been checked: every read
/// of the body a run trusts goes through [`Pieces::ensure`] first.
pub struct Pieces {
    piece: usize,
    /// File offset of the piece table.
    table: usize,
    /// Per region: its file offsets and the index of its first piece.
    regions: [(Range<usize>, usize); 3],
    /// Per piece: 0 not checked yet, 1 good, 2 bad.
    state: Vec<AtomicU8>,
}

impl Pieces {
    /// The pieces of regions at `regions` (file offsets, in [`Region`] order),
    /// with their checksums in the table at `table`.
    pub(super) fn new(piece: usize, table: usize, regions: [Range<usize>; 3]) -> Pieces {
        let mut first = 0;
        let regions = regions.map(|r| {
            let f = first;
            first += pieces_in(r.len(), piece);
            (r, f)
        });
        Pieces {
            piece,
            table,
            regions,
            state: (0..first).map(|_| AtomicU8::new(0)).collect(),
        }
    }

    /// Total number of pieces.
    pub fn count(&self) -> usize {
        self.state.len()
    }

    /// Checks every piece of `region` overlapping `range` (offsets within the
    /// region) not checked yet, and says whether all of them are good. A piece
    /// hashed here is released from resident memory when `release` is set (a pass
    /// over a whole table).
    pub fn ensure(&self, map: &Mmap, region: Region, range: Range<usize>, release: bool) -> bool {
        let (span, first_piece) = &self.regions[region as usize];
        let end = range.end.min(span.len());
        if range.start >= end {
            return true;
        }
        let first = range.start / self.piece;
        let last = (end - 1) / self.piece;
        (first..=last).all(|i| {
            let slot = &self.state[first_piece + i];
            match slot.load(Ordering::Acquire) {
                1 => true,
                2 => false,
                _ => {
                    let at = span.start + i * self.piece;
                    let bytes = &map[at..(at + self.piece).min(span.end)];
                    let t = self.table + (first_piece + i) * 8;
                    let good = xxh3_64(bytes).to_le_bytes() == map[t..t + 8];
                    if release {
                        // SAFETY: `map` is the read-only shared mapping of the index.
                        unsafe { release_behind(map, at..at + bytes.len(), span.end) };
                    }
                    slot.store(if good { 1 } else { 2 }, Ordering::Release);
                    good
                }
            }
        })
    }

    /// Whether any piece checked so far was bad.
    pub fn any_bad(&self) -> bool {
        self.state.iter().any(|s| s.load(Ordering::Acquire) == 2)
    }
}

/// Computes the checksums of a region as its bytes go by, in [`PIECE`] pieces.
#[derive(Default)]
pub struct PieceHasher {
    h: Xxh3,
    filled: usize,
    table: Vec<u64>,
}

impl PieceHasher {
    /// Adds the region's next bytes.
    pub fn update(&mut self, mut b: &[u8]) {
        while !b.is_empty() {
            let take = b.len().min(PIECE - self.filled);
            self.h.update(&b[..take]);
            self.filled += take;
            b = &b[take..];
            if self.filled == PIECE {
                self.table.push(self.h.digest());
                self.h.reset();
                self.filled = 0;
            }
        }
    }

    /// The region's checksums, the last piece's included.
    pub fn finish(mut self) -> Vec<u64> {
        if self.filled > 0 {
            self.table.push(self.h.digest());
        }
        self.table
    }
}

/// Releases what a front-to-back pass over a table has hashed, once `piece` (the
/// piece just hashed) ends a 2 MiB block or the table (`table_end`): the whole
/// blocks behind it, from the start of the block the piece starts in.
///
/// Whole blocks, because this kernel maps a file read from disk in 2 MiB folios
/// with one page-table entry: releasing 4 KiB at a time split that entry and
/// flushed every CPU's TLB on each piece (262k times over a 100M-customer slot
/// table, a third of the scan's time). Pieces are not page-aligned (the regions
/// start anywhere), and the blocks may reach into a neighbouring region: releasing
/// only drops page-table entries, so a later read just faults the bytes back.
///
/// # Safety
///
/// `map` must be a read-only, shared mapping of a file (see
/// [`crate::mem::release_file_pages`]).
unsafe fn release_behind(map: &Mmap, piece: Range<usize>, table_end: usize) {
    use crate::mem::{release_file_pages, HUGE};
    let block = piece.start / HUGE * HUGE;
    let upto = if piece.end >= table_end {
        piece.end
    } else {
        piece.end / HUGE * HUGE
    };
    if upto > block {
        // SAFETY: forwarded from the caller.
        unsafe { release_file_pages(map, block..upto) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hasher_cuts_pieces_wherever_the_writes_end() {
        let data: Vec<u8> = (0..(2 * PIECE + 100)).map(|i| (i % 251) as u8).collect();
        let mut one = PieceHasher::default();
        one.update(&data);
        let mut many = PieceHasher::default();
        for part in data.chunks(77_777) {
            many.update(part);
        }
        let want: Vec<u64> = data.chunks(PIECE).map(xxh3_64).collect();
        assert_eq!(one.finish(), want);
        assert_eq!(many.finish(), want);
    }
}
