//! The on-disk customer index (`.lmx`): write it once, memory-map it every night.
//!
//! Owns the file format and its validation. The body is the four arrays of
//! [`crate::index`] byte for byte (little-endian, each section 8-byte aligned), so
//! opening a file is a map plus a header check, whatever its size: no parsing, no
//! plaintext.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "LMXINDEX"
//! 8       4     format version ([`VERSION`])
//! 12      4     header length (80)
//! 16      8     slot count (a power of two)
//! 24      8     records length in bytes (a multiple of 8)
//! 32      8     group count (distinct logins)
//! 40      8     account count
//! 48      8     Bloom filter words (a power of two)
//! 56      8     piece size in bytes (a power of two)
//! 64      8     xxh3-64 of the piece table: the snapshot id
//! 72      8     xxh3-64 of bytes 0..72
//! 80      ...   body: slots (u64 each) | Bloom words (u64 each) | records
//! ...     ...   piece table: xxh3-64 of each piece of the body, u64 each
//! ```
//!
//! [`MappedIndex::open`] checks the magic, version, header checksum, the piece table
//! against its checksum, and that the file is exactly as long as the header says (a
//! truncated file is refused). The body is checked piece by piece, each piece the
//! first time the run needs it ([`super::pieces`]): the slot table and Bloom filter, which
//! every dump line probes, in the background while the scan runs; a piece of records
//! when verification first reads from it. A run that read a piece that
//! fails its checksum refuses to write results. A nightly scan of a small dump against
//! a huge index so reads only the filter, the table and the few records it hits,
//! instead of hashing gigabytes every run. Every lookup is bounds-checked, so even a
//! corrupt body cannot crash a scan.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use thiserror::Error;
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use super::pieces::Pieces;
use super::{CustomerIndex, IndexView};

const MAGIC: &[u8; 8] = b"LMXINDEX";
/// The format version this build reads and writes (2: the Bloom filter; 3: the
/// word-at-a-time login hash of [`crate::login::hash_normalized`]; 4: per-piece
/// checksums; 5: the login hash folds case with one OR a word, and the Bloom bits
/// come from the hash without a remix).
pub const VERSION: u32 = 5;
const HEADER_LEN: usize = 80;
/// Body bytes per checksummed piece in the files this build writes.
pub const PIECE: usize = 1 << 20;

/// Why an index file was refused.
#[derive(Debug, Error)]
pub enum LmxError {
    /// Could not open, map or write the file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
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

struct Layout {
    slots: usize,
    bloom: usize,
    records: usize,
    groups: u64,
    accounts: u64,
    piece: usize,
}

impl Layout {
    /// Byte offsets of the Bloom words, the records and the end of the body.
    fn offsets(&self) -> Option<(usize, usize, usize)> {
        let bloom = HEADER_LEN.checked_add(self.slots.checked_mul(8)?)?;
        let records = bloom.checked_add(self.bloom.checked_mul(8)?)?;
        Some((bloom, records, records.checked_add(self.records)?))
    }

    /// Number of pieces of the body.
    fn pieces(&self) -> Option<usize> {
        Some(
            self.offsets()?
                .2
                .checked_sub(HEADER_LEN)?
                .div_ceil(self.piece),
        )
    }
}

/// A mapped, header-checked index file.
pub struct MappedIndex {
    map: Mmap,
    layout: Layout,
    root: u64,
    pieces: Pieces,
    path: PathBuf,
}

impl MappedIndex {
    /// Maps `path` and checks its header and length.
    pub fn open(path: &Path) -> Result<MappedIndex, LmxError> {
        let io_err = |source| LmxError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io_err)?;
        // SAFETY: the index is opened read-only and never written while mapped by us.
        // If another process truncates it underneath us, reads could fault (SIGBUS);
        // index files are written by rename (never in place) precisely so that the
        // file we mapped is never modified.
        let map = unsafe { Mmap::map(&file) }.map_err(io_err)?;
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
        if xxh3_64(&map[..72]) != u64_at(72) {
            return Err(damaged(path, "header checksum mismatch"));
        }
        let to_usize = |v: u64| usize::try_from(v).map_err(|_| damaged(path, "counts overflow"));
        let layout = Layout {
            slots: to_usize(u64_at(16))?,
            records: to_usize(u64_at(24))?,
            groups: u64_at(32),
            accounts: u64_at(40),
            bloom: to_usize(u64_at(48))?,
            piece: to_usize(u64_at(56))?,
        };
        if !layout.piece.is_power_of_two() || layout.piece < 4096 {
            return Err(damaged(
                path,
                "piece size is not a power of two of at least 4 KiB",
            ));
        }
        if layout.slots != 0 && !layout.slots.is_power_of_two() {
            return Err(damaged(path, "slot count is not a power of two"));
        }
        if !layout.bloom.is_power_of_two() {
            return Err(damaged(path, "Bloom filter size is not a power of two"));
        }
        if !layout.records.is_multiple_of(8) {
            return Err(damaged(path, "records length is not a multiple of 8"));
        }
        if cfg!(target_endian = "big") {
            return Err(damaged(
                path,
                "index files are little-endian; this machine is not",
            ));
        }
        let overflow = || damaged(path, "counts overflow");
        let body_end = layout.offsets().ok_or_else(overflow)?.2;
        let pieces = layout.pieces().ok_or_else(overflow)?;
        let end = pieces
            .checked_mul(8)
            .and_then(|t| body_end.checked_add(t))
            .ok_or_else(overflow)?;
        if end != map.len() {
            return Err(damaged(
                path,
                if map.len() < end {
                    "file is shorter than its header says"
                } else {
                    "file is longer than its header says"
                },
            ));
        }
        #[cfg(unix)]
        // Probes are random access: don't let the kernel read ahead on our behalf.
        let _ = map.advise(memmap2::Advice::Random);
        if xxh3_64(&map[body_end..end]) != u64_at(64) {
            return Err(damaged(path, "piece table checksum mismatch"));
        }
        Ok(MappedIndex {
            root: u64_at(64),
            pieces: Pieces {
                body: HEADER_LEN..body_end,
                piece: layout.piece,
                table: body_end,
                state: (0..pieces)
                    .map(|_| std::sync::atomic::AtomicU8::new(0))
                    .collect(),
            },
            map,
            layout,
            path: path.to_path_buf(),
        })
    }

    /// The regions, borrowed from the mapping.
    pub fn view(&self) -> IndexView<'_> {
        let (bloom, records, end) = self.layout.offsets().expect("checked at open");
        let m = &self.map[..];
        IndexView {
            // The map is page-aligned and the header is 80 bytes, so the slots and the
            // Bloom words are 8-byte aligned; `cast_slice` checks it anyway.
            slots: bytemuck::cast_slice(&m[HEADER_LEN..bloom]),
            bloom: bytemuck::cast_slice(&m[bloom..records]),
            records: &m[records..end],
            accounts: self.layout.accounts,
            backing: Some(super::Backing {
                map: &self.map,
                records,
                pieces: &self.pieces,
            }),
        }
    }

    /// Number of distinct logins.
    pub fn groups(&self) -> u64 {
        self.layout.groups
    }

    /// Checks the pieces of the slot table and Bloom filter, which the scan probes
    /// for every dump line (the scan runs this alongside; results are written only
    /// if it passes). Each piece is released from resident memory once hashed: the
    /// scan faults back in only the pages it probes.
    pub fn verify_tables(&self) -> Result<(), LmxError> {
        let (_, records, _) = self.layout.offsets().expect("checked at open");
        self.verified(self.pieces.ensure(&self.map, HEADER_LEN..records, true))
    }

    /// Checks the whole body.
    #[cfg(test)]
    fn verify_all(&self) -> Result<(), LmxError> {
        self.verified(self.pieces.ensure(&self.map, 0..self.map.len(), true))
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

    /// The checksum of the piece table: identifies the customers snapshot the index
    /// was built from.
    pub fn root(&self) -> u64 {
        self.root
    }
}

/// Opens an index file.
pub fn open(path: &Path) -> Result<CustomerIndex, LmxError> {
    MappedIndex::open(path).map(CustomerIndex::from_mapped)
}

fn body_sections<'a>(v: &IndexView<'a>) -> [&'a [u8]; 3] {
    [
        bytemuck::cast_slice(v.slots),
        bytemuck::cast_slice(v.bloom),
        v.records,
    ]
}

/// The piece table of a body made of `sections`, in pieces of [`PIECE`] bytes.
fn piece_table(sections: [&[u8]; 3]) -> Vec<u8> {
    let mut table = Vec::new();
    let mut h = Xxh3::new();
    let mut filled = 0;
    for mut s in sections {
        while !s.is_empty() {
            let take = s.len().min(PIECE - filled);
            h.update(&s[..take]);
            filled += take;
            s = &s[take..];
            if filled == PIECE {
                table.extend_from_slice(&h.digest().to_le_bytes());
                h.reset();
                filled = 0;
            }
        }
    }
    if filled > 0 {
        table.extend_from_slice(&h.digest().to_le_bytes());
    }
    table
}

/// The snapshot id of an index as it would be written (the checksum of its piece
/// table); identifies a customers snapshot whether the index was built in memory or
/// mapped.
pub fn snapshot_id(index: &CustomerIndex) -> u64 {
    if let Some(m) = index.mapped() {
        return m.root();
    }
    xxh3_64(&piece_table(body_sections(&index.view())))
}

/// Writes `index` to `w` in the `.lmx` format.
pub fn write_to<W: Write>(index: &CustomerIndex, mut w: W) -> io::Result<()> {
    let v = index.view();
    let mut header = [0u8; HEADER_LEN];
    header[..8].copy_from_slice(MAGIC);
    header[8..12].copy_from_slice(&VERSION.to_le_bytes());
    header[12..16].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
    for (i, n) in [
        v.slots.len() as u64,
        v.records.len() as u64,
        index.groups(),
        v.accounts,
        v.bloom.len() as u64,
    ]
    .into_iter()
    .enumerate()
    {
        header[16 + 8 * i..24 + 8 * i].copy_from_slice(&n.to_le_bytes());
    }
    let table = piece_table(body_sections(&v));
    header[56..64].copy_from_slice(&(PIECE as u64).to_le_bytes());
    header[64..72].copy_from_slice(&xxh3_64(&table).to_le_bytes());
    let hc = xxh3_64(&header[..72]);
    header[72..80].copy_from_slice(&hc.to_le_bytes());
    w.write_all(&header)?;
    for s in body_sections(&v) {
        w.write_all(s)?;
    }
    w.write_all(&table)?;
    w.flush()
}

/// Writes `index` to `path` atomically (temp file in the same directory, then rename).
pub fn write(index: &CustomerIndex, path: &Path) -> Result<(), LmxError> {
    crate::atomic::atomic_write(path, |f| write_to(index, BufWriter::new(f))).map_err(|source| {
        LmxError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::IndexBuilder;
    use crate::login;
    use crate::verify::parse_stored;

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
        const N: usize = 30_000;
        let hash = parse_stored("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8").unwrap();
        let mut b = IndexBuilder::new();
        for i in 0..N {
            b.add(&format!("id{i}"), &format!("user{i}@x.io"), &hash)
                .unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.lmx");
        write(&b.build().unwrap(), &path).unwrap();
        let good = open(&path).unwrap();
        assert_eq!(ids_found(&good, N), N);
        good.mapped().unwrap().verify_all().unwrap();
        let root = good.mapped().unwrap().root();

        // Flip one byte in the last piece of the body (records).
        let mut bytes = std::fs::read(&path).unwrap();
        let pieces = (bytes.len() - HEADER_LEN) / (PIECE + 8) + 1;
        let body_end = bytes.len() - pieces * 8;
        assert!(pieces > 2, "the test needs several pieces");
        bytes[body_end - 100] ^= 0x55;
        std::fs::write(&path, &bytes).unwrap();
        let bad = open(&path).unwrap();
        let m = bad.mapped().unwrap();
        assert_eq!(m.root(), root, "the piece table itself is intact");
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
        let hash = parse_stored("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8").unwrap();
        b.add("id", "user@x.io", &hash).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.lmx");
        write(&b.build().unwrap(), &path).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[12..16].copy_from_slice(&96u32.to_le_bytes());
        let sum = xxh3_64(&bytes[..72]);
        bytes[72..80].copy_from_slice(&sum.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let err = open(&path).err().unwrap().to_string();
        assert!(err.contains("header length"), "{err}");
    }
}
