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
//! 8       4     format version (1)
//! 12      4     header length (64)
//! 16      8     slot count (a power of two)
//! 24      8     group count
//! 32      8     account count
//! 40      8     heap length in bytes
//! 48      8     xxh3-64 of the body (everything after the header)
//! 56      8     xxh3-64 of bytes 0..56
//! 64      ...   slots (u64) | groups (24 B) | accounts (32 B) | heap, padded to 8
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

use crate::index::{AccountRec, CustomerIndex, Group, IndexView};

const MAGIC: &[u8; 8] = b"LMXINDEX";
/// The format version this build reads and writes.
pub const VERSION: u32 = 1;
const HEADER_LEN: usize = 64;

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
    groups: usize,
    accounts: usize,
    heap: usize,
}

fn pad8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

impl Layout {
    /// Section byte offsets (slots, groups, accounts, heap) and total file length.
    fn offsets(&self) -> Option<[usize; 5]> {
        let s = HEADER_LEN;
        let g = s.checked_add(self.slots.checked_mul(8)?)?;
        let a = g.checked_add(self.groups.checked_mul(size_of::<Group>())?)?;
        let h = a.checked_add(self.accounts.checked_mul(size_of::<AccountRec>())?)?;
        let end = h.checked_add(pad8(self.heap))?;
        Some([s, g, a, h, end])
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
        if xxh3_64(&map[..56]) != u64_at(56) || u32_at(12) as usize != HEADER_LEN {
            return Err(damaged(path, "header checksum mismatch"));
        }
        let to_usize = |v: u64| usize::try_from(v).map_err(|_| damaged(path, "counts overflow"));
        let layout = Layout {
            slots: to_usize(u64_at(16))?,
            groups: to_usize(u64_at(24))?,
            accounts: to_usize(u64_at(32))?,
            heap: to_usize(u64_at(40))?,
        };
        if layout.slots != 0 && !layout.slots.is_power_of_two() {
            return Err(damaged(path, "slot count is not a power of two"));
        }
        let end = layout
            .offsets()
            .ok_or_else(|| damaged(path, "counts overflow"))?[4];
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
            body_checksum: u64_at(48),
            map,
            layout,
            path: path.to_path_buf(),
        })
    }

    /// The arrays, borrowed from the mapping.
    pub fn view(&self) -> IndexView<'_> {
        let [s, g, a, h, _] = self.layout.offsets().expect("checked at open");
        let m = &self.map[..];
        IndexView {
            slots: bytemuck::cast_slice(&m[s..g]),
            groups: bytemuck::cast_slice(&m[g..a]),
            accounts: bytemuck::cast_slice(&m[a..h]),
            heap: &m[h..h + self.layout.heap],
        }
    }

    /// Reads the whole body and compares it with the header's checksum.
    pub fn verify_body(&self) -> Result<(), LmxError> {
        if xxh3_64(&self.map[HEADER_LEN..]) == self.body_checksum {
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

fn body_sections<'a>(v: &IndexView<'a>) -> [&'a [u8]; 4] {
    [
        bytemuck::cast_slice(v.slots),
        bytemuck::cast_slice(v.groups),
        bytemuck::cast_slice(v.accounts),
        v.heap,
    ]
}

/// Checksum of an index's body as it would be written; identifies a customers
/// snapshot whether the index was built in memory or mapped.
pub fn snapshot_id(index: &CustomerIndex) -> u64 {
    if let Some(m) = index.mapped() {
        return m.body_checksum();
    }
    let v = index.view();
    let mut h = Xxh3::new();
    for s in body_sections(&v) {
        h.update(s);
    }
    h.update(&[0u8; 8][..pad8(v.heap.len()) - v.heap.len()]);
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
        v.slots.len(),
        v.groups.len(),
        v.accounts.len(),
        v.heap.len(),
    ]
    .into_iter()
    .enumerate()
    {
        header[16 + 8 * i..24 + 8 * i].copy_from_slice(&(n as u64).to_le_bytes());
    }
    header[48..56].copy_from_slice(&snapshot_id(index).to_le_bytes());
    let hc = xxh3_64(&header[..56]);
    header[56..64].copy_from_slice(&hc.to_le_bytes());
    w.write_all(&header)?;
    for s in body_sections(&v) {
        w.write_all(s)?;
    }
    w.write_all(&[0u8; 8][..pad8(v.heap.len()) - v.heap.len()])?;
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
