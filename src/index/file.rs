//! The on-disk customer index (`.lmx`): write it once, memory-map it every night.
//!
//! Owns the file format and its validation. The body is the three regions of
//! [`crate::index`] byte for byte (little-endian; slots and Bloom words 8-byte
//! aligned), so opening a file is a map plus a header check, whatever its size: no
//! parsing, no plaintext.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "LMXINDEX"
//! 8       4     format version ([`VERSION`])
//! 12      4     header length (128)
//! 16      8     accounts
//! 24      8     groups (distinct logins)
//! 32      8     records length in bytes
//! 40      8     slots (home slots, then overflow and at least one empty slot)
//! 48      8     home slots
//! 56      8     Bloom filter words
//! 64      8     piece size in bytes (a power of two)
//! 72      16    customers digest: the wrapping sum of the rows' hashes
//! 88      8     xxh3-64 of the piece table
//! 96      24    reserved (zero)
//! 120     8     xxh3-64 of bytes 0..120
//! 128     ...   body: records, padded to 8 bytes | Bloom words (u64 each) | slots (u64 each)
//! ...     ...   piece table: xxh3-64 of each piece of the records, then of the
//!               Bloom words, then of the slots, u64 each
//! ```
//!
//! The builder writes the records front to back as it reads the customers, then
//! the Bloom filter and the slot table, each front to back in its place (the
//! filter's size is known from the customer count; the slot table, whose overflow
//! is not, comes last), then the piece table, then the header: a file is complete
//! only once renamed into place ([`mod@super::build`]).
//!
//! [`MappedIndex::open`] checks the magic, version, header checksum, the piece table
//! against its checksum, and that the file is exactly as long as the header says (a
//! truncated file is refused). The body is checked piece by piece, each piece the
//! first time the run needs it ([`super::pieces`]): the slot table and Bloom filter,
//! which every dump line probes, in the background while the scan runs; a piece of
//! records when verification first reads from it. A run that read a piece that fails
//! its checksum refuses to write results. Every lookup is bounds-checked, so even a
//! corrupt body cannot crash a scan.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use thiserror::Error;
use xxhash_rust::xxh3::xxh3_64;

use super::pieces::{pieces_in, PieceHasher, Pieces, Region, PIECE};
use super::{CustomerIndex, IndexView};
use crate::customers::Digest;

const MAGIC: &[u8; 8] = b"LMXINDEX";
/// The format version this build reads and writes (2: the Bloom filter; 3: the
/// word-at-a-time login hash of [`crate::login::hash_normalized`]; 4: per-piece
/// checksums; 5: the login hash folds case with one OR a word, and the Bloom bits
/// come from the hash without a remix; 6: records without padding or per-group
/// hashes, fastrange-sized filter and slot table, records first so the file is
/// written front to back, and the customers digest as the snapshot id).
pub const VERSION: u32 = 6;
/// Bytes of the header.
pub const HEADER_LEN: usize = 128;

/// Why an index file was refused.
#[derive(Debug, Error)]
pub enum LmxError {
    /// Could not open, map or write the file.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause (not a `source`: the message already says it, once).
        cause: io::Error,
    },
    /// The index file could not be written.
    #[error(transparent)]
    Output(#[from] crate::atomic::OutputError),
    /// Not an index file at all.
    #[error("{0}: not a leakmatch index (bad magic bytes)")]
    NotAnIndex(PathBuf),
    /// Written by another format version.
    #[error("{path}: index format version {found}, this leakmatch reads version {VERSION}; rebuild it with `leakmatch index`")]
    Version {
        /// The file.
        path: PathBuf,
        /// Version in the file.
        found: u32,
    },
    /// Shorter or longer than its header says, or a header that does not add up.
    #[error("{path}: index is truncated or damaged ({what})")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What did not add up.
        what: &'static str,
    },
}

fn damaged(path: &Path, what: &'static str) -> LmxError {
    LmxError::Damaged {
        path: path.to_path_buf(),
        what,
    }
}

/// What the header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Accounts (rows) indexed.
    pub accounts: u64,
    /// Distinct normalised logins.
    pub groups: u64,
    /// Bytes of records.
    pub records: u64,
    /// Slots in the table.
    pub slots: u64,
    /// Home slots.
    pub homes: u64,
    /// Bloom words.
    pub bloom: u64,
    /// Bytes per checksummed piece.
    pub piece: u64,
    /// The customers digest's sum (its row count is `accounts`).
    pub digest: u128,
    /// xxh3-64 of the piece table.
    pub table_sum: u64,
}

impl Header {
    /// The header's bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..8].copy_from_slice(MAGIC);
        h[8..12].copy_from_slice(&VERSION.to_le_bytes());
        h[12..16].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
        let words = [
            self.accounts,
            self.groups,
            self.records,
            self.slots,
            self.homes,
            self.bloom,
            self.piece,
        ];
        for (i, w) in words.iter().enumerate() {
            h[16 + 8 * i..24 + 8 * i].copy_from_slice(&w.to_le_bytes());
        }
        h[72..88].copy_from_slice(&self.digest.to_le_bytes());
        h[88..96].copy_from_slice(&self.table_sum.to_le_bytes());
        let sum = xxh3_64(&h[..120]);
        h[120..].copy_from_slice(&sum.to_le_bytes());
        h
    }

    /// The snapshot id of the customers this index holds.
    pub fn snapshot(&self) -> u64 {
        Digest {
            rows: self.accounts,
            sum: self.digest,
        }
        .snapshot()
    }

    /// The file offsets of the regions and of the piece table, and the file's
    /// length; `None` if they overflow.
    pub fn layout(&self) -> Option<Layout> {
        let records = HEADER_LEN..HEADER_LEN.checked_add(usize::try_from(self.records).ok()?)?;
        let bloom_at = records.end.checked_next_multiple_of(8)?;
        let bloom =
            bloom_at..bloom_at.checked_add(usize::try_from(self.bloom).ok()?.checked_mul(8)?)?;
        let slots = bloom.end
            ..bloom
                .end
                .checked_add(usize::try_from(self.slots).ok()?.checked_mul(8)?)?;
        let piece = usize::try_from(self.piece).ok()?;
        let pieces = [&records, &bloom, &slots]
            .iter()
            .map(|r| pieces_in(r.len(), piece))
            .sum::<usize>();
        let table = slots.end..slots.end.checked_add(pieces.checked_mul(8)?)?;
        Some(Layout {
            records,
            slots,
            bloom,
            table,
        })
    }
}

/// Where the regions of an index file are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Records.
    pub records: std::ops::Range<usize>,
    /// The slot table.
    pub slots: std::ops::Range<usize>,
    /// The Bloom filter.
    pub bloom: std::ops::Range<usize>,
    /// The piece table; its end is the file's length.
    pub table: std::ops::Range<usize>,
}

/// A mapped, header-checked index file.
pub struct MappedIndex {
    map: Mmap,
    header: Header,
    layout: Layout,
    pieces: Pieces,
    path: PathBuf,
    /// A large Bloom filter, copied into 2 MiB pages (see [`BLOOM_COPY_MIN`]).
    bloom: Option<crate::mem::HugeBuf>,
}

/// Bloom filters at least this large are read into anonymous 2 MiB pages when the
/// index is opened. Every dump line reads one word of the filter at random: in the
/// file's 4 KiB pages a 100 MB filter (100M customers) costs a TLB miss nearly
/// every line, in 2 MiB pages it fits the TLB. Copying it takes a few
/// milliseconds per 100 MB.
pub const BLOOM_COPY_MIN: usize = 16 << 20;

impl MappedIndex {
    /// Maps `path` and checks its header and length.
    pub fn open(path: &Path) -> Result<MappedIndex, LmxError> {
        let file = File::open(path).map_err(|cause| LmxError::Io {
            path: path.to_path_buf(),
            cause,
        })?;
        MappedIndex::from_file(&file, path)
    }

    /// Maps an open index file (`path` names it in errors) and checks its header
    /// and length.
    pub fn from_file(file: &File, path: &Path) -> Result<MappedIndex, LmxError> {
        // SAFETY: the index is opened read-only and never written while mapped by us.
        // If another process truncates it underneath us, reads could fault (SIGBUS);
        // index files are written by rename (never in place) precisely so that the
        // file we mapped is never modified.
        let map = unsafe { Mmap::map(file) }.map_err(|cause| LmxError::Io {
            path: path.to_path_buf(),
            cause,
        })?;
        if map.len() < HEADER_LEN {
            return if map.len() >= 8 && &map[..8] != MAGIC {
                Err(LmxError::NotAnIndex(path.to_path_buf()))
            } else {
                Err(damaged(path, "shorter than the header"))
            };
        }
        if &map[..8] != MAGIC {
            return Err(LmxError::NotAnIndex(path.to_path_buf()));
        }
        let u32_at = |o: usize| u32::from_le_bytes(map[o..o + 4].try_into().unwrap());
        let u64_at = |o: usize| u64::from_le_bytes(map[o..o + 8].try_into().unwrap());
        let version = u32_at(8);
        if version != VERSION {
            return Err(LmxError::Version {
                path: path.to_path_buf(),
                found: version,
            });
        }
        if u32_at(12) as usize != HEADER_LEN {
            return Err(damaged(path, "header length is not the format's"));
        }
        if xxh3_64(&map[..120]) != u64_at(120) {
            return Err(damaged(path, "header checksum mismatch"));
        }
        let header = Header {
            accounts: u64_at(16),
            groups: u64_at(24),
            records: u64_at(32),
            slots: u64_at(40),
            homes: u64_at(48),
            bloom: u64_at(56),
            piece: u64_at(64),
            digest: u128::from_le_bytes(map[72..88].try_into().unwrap()),
            table_sum: u64_at(88),
        };
        if !header.piece.is_power_of_two() || header.piece < 4096 {
            return Err(damaged(
                path,
                "piece size is not a power of two of at least 4 KiB",
            ));
        }
        if header.homes >= header.slots || header.bloom == 0 {
            return Err(damaged(path, "the slot table or Bloom filter is empty"));
        }
        if cfg!(target_endian = "big") {
            return Err(damaged(
                path,
                "index files are little-endian; this machine is not",
            ));
        }
        let layout = header
            .layout()
            .ok_or_else(|| damaged(path, "counts overflow"))?;
        if layout.table.end != map.len() {
            return Err(damaged(
                path,
                if map.len() < layout.table.end {
                    "file is shorter than its header says"
                } else {
                    "file is longer than its header says"
                },
            ));
        }
        #[cfg(unix)]
        // Probes are random access: don't let the kernel read ahead on our behalf.
        let _ = map.advise(memmap2::Advice::Random);
        #[cfg(target_os = "linux")]
        // Records are read at random, a few hundred bytes per hit. Where the page
        // cache holds the file in 2 MiB folios, a read maps its whole folio: 16k
        // hits of one verification batch then mapped 5 GB of a 100M-customer
        // index. Without huge mappings a read maps its page (and the kernel's
        // fault-around).
        let _ = map.advise_range(
            memmap2::Advice::NoHugePage,
            layout.records.start / 4096 * 4096,
            layout.records.len(),
        );
        if xxh3_64(&map[layout.table.clone()]) != header.table_sum {
            return Err(damaged(path, "piece table checksum mismatch"));
        }
        let pieces = Pieces::new(
            header.piece as usize,
            layout.table.start,
            [
                layout.records.clone(),
                layout.bloom.clone(),
                layout.slots.clone(),
            ],
        );
        let bloom = if layout.bloom.len() >= BLOOM_COPY_MIN {
            crate::mem::HugeBuf::zeroed(layout.bloom.len())
                .ok()
                .map(|mut b| {
                    b.bytes_mut().copy_from_slice(&map[layout.bloom.clone()]);
                    b
                })
        } else {
            None
        };
        Ok(MappedIndex {
            map,
            header,
            layout,
            pieces,
            path: path.to_path_buf(),
            bloom,
        })
    }

    /// The regions, borrowed from the mapping.
    pub fn view(&self) -> IndexView<'_> {
        let m = &self.map[..];
        IndexView {
            // The map is page-aligned and the regions 8-byte aligned within it;
            // `cast_slice` checks it anyway.
            slots: bytemuck::cast_slice(&m[self.layout.slots.clone()]),
            homes: self.header.homes as usize,
            bloom: match &self.bloom {
                Some(b) => b.words(),
                None => bytemuck::cast_slice(&m[self.layout.bloom.clone()]),
            },
            records: &m[self.layout.records.clone()],
            accounts: self.header.accounts,
            backing: Some(super::Backing {
                map: &self.map,
                pieces: &self.pieces,
            }),
        }
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Bytes of the file.
    pub fn file_len(&self) -> u64 {
        self.map.len() as u64
    }

    /// Checks the pieces of the slot table and Bloom filter, which the scan probes
    /// for every dump line (the scan runs this alongside; results are written only
    /// if it passes). Each piece is released from resident memory once hashed: the
    /// scan faults back in only the pages it probes.
    pub fn verify_tables(&self) -> Result<(), LmxError> {
        let good = [Region::Slots, Region::Bloom]
            .into_iter()
            .all(|r| self.pieces.ensure(&self.map, r, 0..usize::MAX, true));
        self.verified(good)
    }

    /// Checks the whole body.
    #[cfg(test)]
    fn verify_all(&self) -> Result<(), LmxError> {
        let good = [Region::Records, Region::Slots, Region::Bloom]
            .into_iter()
            .all(|r| self.pieces.ensure(&self.map, r, 0..usize::MAX, true));
        self.verified(good)
    }

    /// Whether every piece the run has read so far was good: called before any
    /// result is written.
    pub fn verify_read(&self) -> Result<(), LmxError> {
        self.verified(!self.pieces.any_bad())
    }

    fn verified(&self, good: bool) -> Result<(), LmxError> {
        if good {
            Ok(())
        } else {
            Err(damaged(&self.path, "body checksum mismatch"))
        }
    }
}

/// Opens an index file.
pub fn open(path: &Path) -> Result<CustomerIndex, LmxError> {
    MappedIndex::open(path).map(CustomerIndex::from_mapped)
}

/// The snapshot id of the customers an index holds (whether built in memory or
/// mapped): what `--state` records.
pub fn snapshot_id(index: &CustomerIndex) -> u64 {
    index.header().snapshot()
}

/// Writes the regions of an index (in memory) to `w` in the `.lmx` format.
pub fn write_to<W: Write>(index: &CustomerIndex, mut w: W) -> io::Result<()> {
    let v = index.view();
    let pad = [0u8; 8];
    let regions: [&[u8]; 3] = [
        v.records,
        bytemuck::cast_slice(v.bloom),
        bytemuck::cast_slice(v.slots),
    ];
    let mut table = Vec::new();
    for r in regions {
        let mut h = PieceHasher::default();
        h.update(r);
        table.extend(h.finish());
    }
    let table: Vec<u8> = table.iter().flat_map(|t| t.to_le_bytes()).collect();
    let header = Header {
        table_sum: xxh3_64(&table),
        ..*index.header()
    };
    w.write_all(&header.encode())?;
    w.write_all(v.records)?;
    w.write_all(&pad[..v.records.len().next_multiple_of(8) - v.records.len()])?;
    w.write_all(regions[1])?;
    w.write_all(regions[2])?;
    w.write_all(&table)?;
    w.flush()
}

/// Writes `index` to `path` atomically (temp file in the same directory, then rename).
pub fn write(index: &CustomerIndex, path: &Path) -> Result<(), LmxError> {
    Ok(crate::atomic::atomic_write(path, |f| {
        write_to(index, BufWriter::new(f))
    })?)
}

/// The piece size of the files this build writes.
pub const fn piece_size() -> u64 {
    PIECE as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::IndexBuilder;
    use crate::login;

    fn ids_found(index: &CustomerIndex, n: usize) -> usize {
        let v = index.view();
        (0..n)
            .filter(|i| {
                let (norm, h) = login::normalize_and_hash(format!("user{i}@x.io").as_bytes());
                v.lookup(h, &norm, &mut Vec::new())
                    .and_then(|g| g.accounts().next())
                    .and_then(|a| v.account(a))
                    .is_some()
            })
            .count()
    }

    /// A damaged piece of records is caught when a lookup reads it, and only then:
    /// lookups elsewhere still answer, and the run learns it must not write results.
    #[test]
    fn a_damaged_records_piece_is_caught_when_read() {
        const N: usize = 80_000;
        let hash = "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8";
        let mut b = IndexBuilder::new();
        for i in 0..N {
            b.add(&format!("id{i}"), &format!("user{i}@x.io"), hash);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.lmx");
        let built = b.build().unwrap();
        write(&built, &path).unwrap();
        let good = open(&path).unwrap();
        assert_eq!(ids_found(&good, N), N);
        good.mapped().unwrap().verify_all().unwrap();
        assert_eq!(snapshot_id(&good), snapshot_id(&built));

        // Flip one byte in the last piece of the records.
        let mut bytes = std::fs::read(&path).unwrap();
        let layout = good.mapped().unwrap().header().layout().unwrap();
        assert!(
            layout.records.len() > 200 * PIECE,
            "the test needs several pieces"
        );
        bytes[layout.records.end - 100] ^= 0x55;
        std::fs::write(&path, &bytes).unwrap();
        let bad = open(&path).unwrap();
        let m = bad.mapped().unwrap();
        assert_eq!(
            snapshot_id(&bad),
            snapshot_id(&built),
            "the header is intact"
        );
        m.verify_tables().unwrap();
        m.verify_read().unwrap();
        let found = ids_found(&bad, N);
        assert!(found < N && found > N / 2, "{found}");
        assert!(m.verify_read().is_err());
        assert!(m.verify_all().is_err());
    }

    /// Regression (issue #13): a header whose length field is wrong was reported
    /// as a checksum mismatch.
    #[test]
    fn a_wrong_header_length_is_named_as_such() {
        let mut b = IndexBuilder::new();
        let hash = "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8";
        b.add("id", "user@x.io", hash);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.lmx");
        write(&b.build().unwrap(), &path).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[12..16].copy_from_slice(&96u32.to_le_bytes());
        let sum = xxh3_64(&bytes[..120]);
        bytes[120..128].copy_from_slice(&sum.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let err = open(&path).err().unwrap().to_string();
        assert!(err.contains("header length"), "{err}");
    }
}
