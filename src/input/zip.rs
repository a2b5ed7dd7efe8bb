//! Zip archives: every member is a dump file of its own, named
//! `archive.zip!inner/name.txt` (members sorted by name; a member may itself be
//! compressed, e.g. `x.csv.gz`).

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use super::decode::{classify, decoder, Compression};
use super::{Counted, DumpFile, Input};

/// Whether a file name is a zip archive.
pub fn is_zip(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".zip")
}

/// A member of a zip archive.
#[derive(Debug)]
pub struct ZipMember {
    /// The archive on disk.
    archive: PathBuf,
    /// The member's name inside it.
    name: String,
    compression: Compression,
}

fn zip_error(e: ::zip::result::ZipError) -> io::Error {
    match e {
        ::zip::result::ZipError::Io(io) => io,
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}

/// The members of a zip archive as dump files, sorted by name (directories left out).
pub fn members(archive: &Path) -> io::Result<Vec<DumpFile>> {
    let zip = ::zip::ZipArchive::new(BufReader::new(File::open(archive)?)).map_err(zip_error)?;
    let mut names = Vec::with_capacity(zip.len());
    for name in zip.file_names() {
        let name = name.map_err(zip_error)?;
        if !name.ends_with('/') {
            names.push(name.into_owned());
        }
    }
    names.sort();
    let shown = archive.to_string_lossy();
    Ok(names
        .into_iter()
        .map(|name| {
            let (shape, compression) = classify(&name);
            DumpFile {
                display: format!("{shown}!{name}"),
                shape,
                input: Arc::new(ZipMember {
                    archive: archive.to_path_buf(),
                    name,
                    compression,
                }),
            }
        })
        .collect())
}

impl Input for ZipMember {
    fn stream(
        &self,
        counter: Option<Arc<AtomicU64>>,
        f: &mut dyn FnMut(&mut dyn Read),
    ) -> io::Result<()> {
        let raw = Counted::new(BufReader::new(File::open(&self.archive)?), counter);
        let mut zip = ::zip::ZipArchive::new(raw).map_err(zip_error)?;
        let member = zip.by_name(&self.name).map_err(zip_error)?;
        f(&mut decoder(member, self.compression)?);
        Ok(())
    }

    fn on_disk(&self) -> Option<&Path> {
        Some(&self.archive)
    }
}
