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
//! 12      4     header length (64)
//! 16      8     slot count (a power of two)
//! 24      8     records length in bytes (a multiple of 8)
//! 32      8     group count (distinct logins)
//! 40      8     account count
//! 48      8     Bloom filter words (a power of two)
//! 56      8     xxh3-64 of the body (everything after the header)
//! 64      8     xxh3-64 of bytes 0..64
//! 72      ...   slots (u64 each) | Bloom words (u64 each) | records
//! ```
//!
//! [`MappedIndex::open`] checks the magic, version, header checksum and that the
//! file is exactly as long as the header says (a truncated file is refused). The body
//! checksum covers the rest; [`MappedIndex::verify_body`] reads every byte, so the scan
//! runs it in the background and refuses to write results if it fails. Every lookup
//! is bounds-checked, so even a corrupt body cannot crash a scan.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use thiserror::Error;
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use crate::index::{CustomerIndex, IndexView};

const MAGIC: &[u8; 8] = b"LMXINDEX";
/// The format version this build reads and writes (2: the Bloom filter; 3: the
/// word-at-a-time login hash of [`crate::login::hash_normalized`]).
pub const VERSION: u32 = 3;
const HEADER_LEN: usize = 72;

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
}

impl Layout {
    /// Byte offsets of the Bloom words, the records and the end of the file.
    fn offsets(&self) -> Option<(usize, usize, usize)> {
        let bloom = HEADER_LEN.checked_add(self.slots.checked_mul(8)?)?;
        let records = bloom.checked_add(self.bloom.checked_mul(8)?)?;
        Some((bloom, records, records.checked_add(self.records)?))
    }
}

/// A mapped, header-checked index file.
pub struct MappedIndex {
    map: Mmap,
    layout: Layout,
    body_checksum: u64,
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
        if xxh3_64(&map[..64]) != u64_at(64) || u32_at(12) as usize != HEADER_LEN {
            return Err(damaged(path, "header checksum mismatch"));
        }
        let to_usize = |v: u64| usize::try_from(v).map_err(|_| damaged(path, "counts overflow"));
        let layout = Layout {
            slots: to_usize(u64_at(16))?,
            records: to_usize(u64_at(24))?,
            groups: u64_at(32),
            accounts: u64_at(40),
            bloom: to_usize(u64_at(48))?,
        };
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
        let end = layout
            .offsets()
            .ok_or_else(|| damaged(path, "counts overflow"))?
            .2;
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
        Ok(MappedIndex {
            body_checksum: u64_at(56),
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
            // The map is page-aligned and the header is 72 bytes, so the slots and the
            // Bloom words are 8-byte aligned; `cast_slice` checks it anyway.
            slots: bytemuck::cast_slice(&m[HEADER_LEN..bloom]),
            bloom: bytemuck::cast_slice(&m[bloom..records]),
            records: &m[records..end],
            accounts: self.layout.accounts,
            backing: Some((&self.map, records)),
        }
    }

    /// Number of distinct logins.
    pub fn groups(&self) -> u64 {
        self.layout.groups
    }

    /// Reads the whole body and compares it with the header's checksum.
    ///
    /// The body is hashed in 64 MiB pieces, each released from this process's
    /// resident memory once hashed: the scan faults back in only the pages it probes,
    /// so checking a 4 GB index does not make the run 4 GB larger.
    pub fn verify_body(&self) -> Result<(), LmxError> {
        const PIECE: usize = 64 << 20;
        let mut h = Xxh3::new();
        let mut at = HEADER_LEN;
        while at < self.map.len() {
            let end = (at + PIECE).min(self.map.len());
            h.update(&self.map[at..end]);
            crate::mapped::release(&self.map, at..end);
            at = end;
        }
        if h.digest() == self.body_checksum {
            Ok(())
        } else {
            Err(damaged(&self.path, "body checksum mismatch"))
        }
    }

    /// The body checksum: identifies the customers snapshot the index was built from.
    pub fn body_checksum(&self) -> u64 {
        self.body_checksum
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

/// Checksum of an index's body as it would be written; identifies a customers
/// snapshot whether the index was built in memory or mapped.
pub fn snapshot_id(index: &CustomerIndex) -> u64 {
    if let Some(m) = index.mapped() {
        return m.body_checksum();
    }
    let mut h = Xxh3::new();
    for s in body_sections(&index.view()) {
        h.update(s);
    }
    h.digest()
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
    header[56..64].copy_from_slice(&snapshot_id(index).to_le_bytes());
    let hc = xxh3_64(&header[..64]);
    header[64..72].copy_from_slice(&hc.to_le_bytes());
    w.write_all(&header)?;
    for s in body_sections(&v) {
        w.write_all(s)?;
    }
    w.flush()
}

/// Writes `index` to `path` atomically (temp file in the same directory, then rename).
pub fn write(index: &CustomerIndex, path: &Path) -> Result<(), LmxError> {
    crate::report::atomic_write(path, |f| write_to(index, BufWriter::new(f))).map_err(|source| {
        LmxError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}
