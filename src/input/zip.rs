//! Zip archives: every member is a dump file of its own, named
//! `archive.zip!inner/name.txt` (members sorted by name; a member may itself be
//! compressed, e.g. `x.csv.gz`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use ::zip::read::{read_zipfile_from_stream_with_compressed_size, ZipArchive, ZipArchiveMetadata};

use super::archive::zip_error;
use super::decode::{classify, decoder, Compression};
use super::{Counted, DumpFile, Input, InputError};

/// Whether a file name is a zip archive.
pub fn is_zip(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".zip")
}

/// A member of a zip archive.
pub struct ZipMember {
    /// The archive on disk.
    archive: PathBuf,
    /// Its central directory, read once for all members: re-reading it for each
    /// member made an archive of n members cost n^2 (32,000 members in a 4 MB zip:
    /// 13 minutes).
    directory: Arc<ZipArchiveMetadata>,
    /// Where its bytes are.
    at: Locate,
    compression: Compression,
}

impl std::fmt::Debug for ZipMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZipMember")
            .field("archive", &self.archive)
            .field("at", &self.at)
            .finish()
    }
}

/// The members of a zip archive as dump files, sorted by name (directories left out),
/// and the members that could not be listed. Members that share a name are all
/// read, the second and later (in the archive's order) named `name#2`, `name#3`,
/// ... A member that is itself an archive is listed leaf by leaf
/// ([`super::archive`]).
pub fn members(archive: &Path) -> io::Result<(Vec<DumpFile>, Vec<InputError>)> {
    let mut zip = ZipArchive::new(BufReader::new(File::open(archive)?)).map_err(zip_error)?;
    let directory = zip.metadata();
    // (name, order among equal names, where the member is)
    let mut found: Vec<(String, usize, Locate)> = Vec::with_capacity(zip.len());
    for index in 0..zip.len() {
        let Some(name) = zip.name_for_index(index) else {
            continue;
        };
        found.push((
            name.map_err(zip_error)?.into_owned(),
            1,
            Locate::Index(index),
        ));
    }
    // The zip crate keeps one entry per name: the others are found in the central
    // directory and read from their local headers.
    if let Some(entries) = central_directory(archive)?.filter(|e| e.len() > zip.len()) {
        let kept: Vec<u64> = (0..zip.len())
            .map(|i| zip.by_index_raw(i).map(|m| m.header_start()))
            .collect::<Result<_, _>>()
            .map_err(zip_error)?;
        let mut by_name: BTreeMap<&[u8], Vec<&CdEntry>> = BTreeMap::new();
        for e in &entries {
            by_name.entry(&e.name).or_default().push(e);
        }
        for (name, mut same) in by_name.into_iter().filter(|(_, v)| v.len() > 1) {
            same.sort_by_key(|e| e.local);
            let name = String::from_utf8_lossy(name).into_owned();
            for (k, e) in same.iter().enumerate() {
                if kept.contains(&e.local) {
                    if let Some(f) = found.iter_mut().find(|f| f.0 == name) {
                        f.1 = k + 1;
                    }
                } else {
                    let at = Locate::Local {
                        offset: e.local,
                        compressed: e.compressed,
                    };
                    found.push((name.clone(), k + 1, at));
                }
            }
        }
    }
    found.retain(|(name, _, _)| !name.ends_with('/'));
    found.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let shown = archive.to_string_lossy();
    let (mut files, mut errors) = (Vec::with_capacity(found.len()), Vec::new());
    for (name, k, at) in found {
        let (shape, compression) = classify(&name);
        let display = match k {
            1 => format!("{shown}!{name}"),
            k => format!("{shown}!{name}#{k}"),
        };
        let nested = super::archive::kind_of(&name);
        let member = Arc::new(ZipMember {
            archive: archive.to_path_buf(),
            directory: Arc::clone(&directory),
            at,
            compression: nested.map_or(compression, |(_, c)| c),
        });
        match nested {
            Some((kind, _)) => {
                let (leaves, mut bad) = super::archive::list(member, kind, &display);
                files.extend(leaves);
                errors.append(&mut bad);
            }
            None => files.push(DumpFile {
                display,
                shape,
                input: member,
            }),
        }
    }
    Ok((files, errors))
}

/// Where a member's bytes are found.
#[derive(Clone, Copy, Debug)]
enum Locate {
    /// The zip crate's member of this index.
    Index(usize),
    /// A local header at this offset, `compressed` bytes of data after it (a
    /// member whose name the crate gave to another).
    Local { offset: u64, compressed: u64 },
}

/// One central directory entry.
struct CdEntry {
    name: Vec<u8>,
    local: u64,
    compressed: u64,
}

/// Every central directory entry, duplicates included; `None` when the archive
/// needs zip64 records for them (a duplicate name there is then read once).
fn central_directory(archive: &Path) -> io::Result<Option<Vec<CdEntry>>> {
    let mut f = File::open(archive)?;
    let len = f.metadata()?.len();
    // The end record is within the last 22 bytes plus a comment of up to 64 KiB.
    let tail_len = len.min(22 + 0xFFFF);
    let mut tail = vec![0u8; tail_len as usize];
    f.seek(SeekFrom::Start(len - tail_len))?;
    f.read_exact(&mut tail)?;
    let Some(eocd) = tail.windows(4).rposition(|w| w == b"PK\x05\x06") else {
        return Ok(None);
    };
    let e = &tail[eocd..];
    if e.len() < 22 {
        return Ok(None);
    }
    let u16_at = |b: &[u8], i: usize| u64::from(u16::from_le_bytes([b[i], b[i + 1]]));
    let u32_at =
        |b: &[u8], i: usize| u64::from(u32::from_le_bytes(b[i..i + 4].try_into().unwrap()));
    let (count, size, offset) = (u16_at(e, 10), u32_at(e, 12), u32_at(e, 16));
    if count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF || offset + size > len {
        return Ok(None);
    }
    let mut cd = vec![0u8; size as usize];
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(&mut cd)?;
    let mut entries = Vec::with_capacity(count as usize);
    let mut at = 0usize;
    while at + 46 <= cd.len() && &cd[at..at + 4] == b"PK\x01\x02" {
        let h = &cd[at..];
        let (name_len, extra, comment) = (u16_at(h, 28), u16_at(h, 30), u16_at(h, 32));
        let end = 46 + (name_len + extra + comment) as usize;
        if h.len() < end {
            break;
        }
        entries.push(CdEntry {
            name: h[46..46 + name_len as usize].to_vec(),
            local: u32_at(h, 42),
            compressed: u32_at(h, 20),
        });
        at += end;
    }
    Ok(Some(entries))
}

impl Input for ZipMember {
    fn stream(
        &self,
        counter: Option<Arc<AtomicU64>>,
        f: &mut dyn FnMut(&mut dyn Read),
    ) -> io::Result<()> {
        let mut raw = Counted::new(BufReader::new(File::open(&self.archive)?), counter);
        match self.at {
            Locate::Index(index) => {
                // SAFETY: not a memory-safety contract: the zip crate marks this
                // `unsafe` because the directory must describe the file read. It was
                // read from this path when the run listed the members; if the file
                // was replaced since, the member fails its checks (bad header or
                // CRC): an input error.
                let mut zip = unsafe {
                    ZipArchive::unsafe_new_with_metadata(raw, Arc::clone(&self.directory))
                };
                let member = zip.by_index(index).map_err(zip_error)?;
                f(&mut decoder(member, self.compression)?);
            }
            Locate::Local { offset, compressed } => {
                raw.seek(SeekFrom::Start(offset))?;
                let member = read_zipfile_from_stream_with_compressed_size(&mut raw, compressed)
                    .map_err(zip_error)?
                    .ok_or_else(|| {
                        io::Error::new(io::ErrorKind::InvalidData, "no member header")
                    })?;
                f(&mut decoder(member, self.compression)?);
            }
        }
        Ok(())
    }

    fn on_disk(&self) -> Option<&Path> {
        Some(&self.archive)
    }
}
