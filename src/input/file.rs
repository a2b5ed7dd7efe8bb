//! A dump file on disk: memory-mapped when plain, streamed through its decoder when
//! compressed.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use memmap2::Mmap;

use super::decode::{classify, decoder, Compression};
use super::{Counted, DumpFile, Input};

/// A file on disk.
#[derive(Debug)]
pub struct FileInput {
    path: PathBuf,
    compression: Compression,
}

impl FileInput {
    /// The file at `path`, its bytes in `compression`.
    pub fn new(path: PathBuf, compression: Compression) -> FileInput {
        FileInput { path, compression }
    }
}

/// The dump file at `path`, its shape and compression from its name.
pub fn dump_file(path: PathBuf) -> DumpFile {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (shape, compression) = classify(&name);
    DumpFile {
        display: path.to_string_lossy().into_owned(),
        shape,
        input: Arc::new(FileInput { path, compression }),
    }
}

impl Input for FileInput {
    fn map(&self) -> io::Result<Option<Mmap>> {
        if self.compression != Compression::None {
            return Ok(None);
        }
        // Looked at before it is opened: opening a FIFO takes its writer, and
        // closing it again lost what the writer wrote (the stream then waited for
        // another writer, forever).
        let meta = std::fs::metadata(&self.path)?;
        if !meta.is_file() || meta.len() == 0 {
            return Ok(None);
        }
        let file = File::open(&self.path)?;
        // SAFETY: the map is read-only and we only ever read it as bytes. Dumps are
        // inputs we do not modify; if another process truncates a file while we scan
        // it, reads past its new end raise SIGBUS, which the scan survives: it guards
        // the map (`crate::shrink`), reads zeros there and reports the file.
        // Everything else about the bytes (any values at all) is handled by the
        // parser.
        let map = unsafe { Mmap::map(&file)? };
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(Some(map))
    }

    fn stream(
        &self,
        counter: Option<Arc<AtomicU64>>,
        f: &mut dyn FnMut(&mut dyn Read),
    ) -> io::Result<()> {
        let raw = Counted::new(File::open(&self.path)?, counter);
        f(&mut decoder(raw, self.compression)?);
        Ok(())
    }

    fn on_disk(&self) -> Option<&Path> {
        Some(&self.path)
    }
}
