//! Dump sources: which files a run reads, in what order, and how their bytes arrive.
//!
//! Owns turning the command line's `PATH...` into an ordered list of [`DumpFile`]s
//! (directories walked recursively; the whole list sorted by path, component by
//! component, so the order never depends on the file system or thread timing; `-` is
//! stdin, read last), deciding each file's shape (CSV or line-based) and container
//! from its name, and opening it: regular plain files are memory-mapped, everything
//! else is streamed through its decoder. No file is ever read whole into the heap.
//!
//! Containers: `.gz` (multi-member), `.zst`, `.bz2` (multi-stream), `.xz`
//! (multi-stream), and `.zip` archives, whose members each become a dump file named
//! `archive.zip!inner/name.txt` (members sorted by name; a member may itself be
//! compressed, e.g. `x.csv.gz`).
//!
//! It does not parse lines ([`crate::parse`]) or schedule work ([`crate::scan`]).

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::Mmap;

/// How a file's records are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One credential per line, shapes mixed freely.
    Lines,
    /// A CSV file with a header naming the columns.
    Csv,
}

/// The compression a file's bytes come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip (multi-member streams included).
    Gzip,
    /// Zstandard.
    Zstd,
    /// bzip2 (multi-stream files included).
    Bzip2,
    /// xz (multi-stream files included).
    Xz,
}

/// Where a dump's bytes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A file on disk.
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// A member of a zip archive.
    ZipMember {
        /// The archive on disk.
        archive: PathBuf,
        /// The member's name inside it.
        name: String,
    },
}

/// One input file of a run.
#[derive(Clone, Debug)]
pub struct DumpFile {
    /// The name reports use (`first_seen.file`): the path as reached from the command
    /// line, `archive.zip!member` for archive members, or `-` for stdin.
    pub display: String,
    /// Where to read it.
    pub location: Location,
    /// CSV or lines.
    pub shape: Shape,
    /// Compression (inside the archive, for a zip member).
    pub compression: Compression,
}

/// An input that could not be read. The run goes on without it and exits 1.
#[derive(Clone, Debug)]
pub struct InputError {
    /// The input's name.
    pub display: String,
    /// What went wrong (an I/O or format message; never file content).
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.display, self.message)
    }
}

/// Decides shape and compression from a file name (case-insensitive): a compression
/// suffix is stripped first and the name inside decides the shape (`x.csv.gz` is a
/// gzipped CSV).
pub fn classify(name: &str) -> (Shape, Compression) {
    let lower = name.to_ascii_lowercase();
    let mut inner = lower.as_str();
    let mut compression = Compression::None;
    for (suffix, c) in [
        (".gz", Compression::Gzip),
        (".zst", Compression::Zstd),
        (".bz2", Compression::Bzip2),
        (".xz", Compression::Xz),
    ] {
        if let Some(stripped) = lower.strip_suffix(suffix) {
            inner = stripped;
            compression = c;
            break;
        }
    }
    let shape = if inner.ends_with(".csv") {
        Shape::Csv
    } else {
        Shape::Lines
    };
    (shape, compression)
}

/// Whether a file name is a zip archive.
pub fn is_zip(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".zip")
}

/// A reader that counts the bytes it reads, and adds them to a shared counter too
/// if given one (progress of on-disk bytes).
pub struct Counted<R> {
    inner: R,
    count: u64,
    counter: Option<std::sync::Arc<AtomicU64>>,
}

impl<R> Counted<R> {
    /// Wraps `inner`; `counter` may be `None`.
    pub fn new(inner: R, counter: Option<std::sync::Arc<AtomicU64>>) -> Self {
        Counted {
            inner,
            count: 0,
            counter,
        }
    }

    /// Bytes read so far.
    pub fn count(&self) -> u64 {
        self.count
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if let Some(c) = &self.counter {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

impl<R: Seek> Seek for Counted<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// A reader that notes where its `\r` and `\n` bytes are, so that a `csv` reader
/// wrapped around it can name the line a record starts on.
///
/// Why not the `csv` reader's own `Position::line`: it is taken before the newlines
/// the reader skips ahead of a record (the `\n` of a CRLF, blank lines), so it names
/// the line above (regression tests in `tests/cli`). Only the line-break bytes not yet
/// passed by [`LineTracker::line_of`] are kept: as many as the `csv` reader's buffer
/// and the current record hold.
pub struct LineTracker<R> {
    inner: R,
    offset: u64,
    /// (offset, byte) of each `\r` or `\n` not yet passed.
    breaks: std::cell::RefCell<std::collections::VecDeque<(u64, u8)>>,
    /// (position passed, `\n`s before it).
    passed: std::cell::Cell<(u64, u64)>,
}

impl<R> LineTracker<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        LineTracker {
            inner,
            offset: 0,
            breaks: Default::default(),
            passed: std::cell::Cell::new((0, 0)),
        }
    }

    /// The 1-based line of a record a `csv` reader says starts at byte `at`: line
    /// breaks right at `at` are skipped first, as the reader skipped them. Positions
    /// only move forward.
    pub fn line_of(&self, at: u64) -> u64 {
        let mut breaks = self.breaks.borrow_mut();
        let (mut cursor, mut newlines) = self.passed.get();
        cursor = cursor.max(at);
        while let Some(&(off, b)) = breaks.front() {
            if off > cursor {
                break;
            }
            if b == b'\n' {
                newlines += 1;
            }
            if off == cursor {
                cursor += 1; // a break right at the record's start: skipped
            }
            breaks.pop_front();
        }
        self.passed.set((cursor, newlines));
        newlines + 1
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let breaks = self.breaks.get_mut();
        for i in memchr::memchr2_iter(b'\r', b'\n', &buf[..n]) {
            breaks.push_back((self.offset + i as u64, buf[i]));
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Wraps `raw` in the decoder for `compression`.
fn decoder<'r>(raw: impl Read + 'r, compression: Compression) -> io::Result<Box<dyn Read + 'r>> {
    let buffered = BufReader::with_capacity(1 << 20, raw);
    Ok(match compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(buffered)),
        Compression::Xz => Box::new(lzma_rust2::XzReader::new(buffered, true)),
    })
}

fn zip_error(e: zip::result::ZipError) -> io::Error {
    match e {
        zip::result::ZipError::Io(io) => io,
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}

impl DumpFile {
    fn from_path(path: PathBuf) -> DumpFile {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (shape, compression) = classify(&name);
        DumpFile {
            display: path.to_string_lossy().into_owned(),
            location: Location::Path(path),
            shape,
            compression,
        }
    }

    fn stdin() -> DumpFile {
        DumpFile {
            display: "-".to_string(),
            location: Location::Stdin,
            shape: Shape::Lines,
            compression: Compression::None,
        }
    }

    /// The file on disk holding this dump (the archive, for a zip member).
    pub fn physical_path(&self) -> Option<&Path> {
        match &self.location {
            Location::Path(p) => Some(p),
            Location::ZipMember { archive, .. } => Some(archive),
            Location::Stdin => None,
        }
    }

    /// Maps the file if it is a regular, uncompressed file; `Ok(None)` if it must be
    /// streamed instead.
    pub fn map(&self) -> io::Result<Option<Mmap>> {
        let Location::Path(path) = &self.location else {
            return Ok(None);
        };
        if self.compression != Compression::None {
            return Ok(None);
        }
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() || meta.len() == 0 {
            return Ok(None);
        }
        // SAFETY: the map is read-only and we only ever read it as bytes. Dumps are
        // inputs we do not modify; if another process truncates a file while we scan
        // it, the kernel may raise SIGBUS, the documented caveat of mapping files that
        // ripgrep and others accept for the speed. Everything else about the bytes
        // (any values at all) is handled by the parser.
        let map = unsafe { Mmap::map(&file)? };
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(Some(map))
    }

    /// Opens the file and calls `f` with a stream of its decompressed bytes. On-disk
    /// bytes read are added to `counter`.
    pub fn with_stream<T>(
        &self,
        counter: Option<std::sync::Arc<AtomicU64>>,
        f: impl FnOnce(&mut dyn Read) -> T,
    ) -> io::Result<T> {
        match &self.location {
            Location::Path(p) => {
                let raw = Counted::new(File::open(p)?, counter);
                Ok(f(&mut decoder(raw, self.compression)?))
            }
            Location::Stdin => {
                let raw = Counted::new(io::stdin().lock(), counter);
                Ok(f(&mut decoder(raw, self.compression)?))
            }
            Location::ZipMember { archive, name } => {
                let raw = Counted::new(BufReader::new(File::open(archive)?), counter);
                let mut zip = zip::ZipArchive::new(raw).map_err(zip_error)?;
                let member = zip.by_name(name).map_err(zip_error)?;
                let mut reader = decoder(member, self.compression)?;
                Ok(f(&mut reader))
            }
        }
    }
}

/// Expands the command line's paths into the run's ordered file list, reporting the
/// paths that cannot be read.
pub fn discover(paths: &[PathBuf]) -> (Vec<DumpFile>, Vec<InputError>) {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut errors = Vec::new();
    let mut stdin = false;
    for p in paths {
        if p.as_os_str() == "-" {
            stdin = true;
            continue;
        }
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, &mut files, &mut errors),
            Ok(_) => files.push(p.clone()),
            Err(e) => errors.push(InputError {
                display: p.to_string_lossy().into_owned(),
                message: e.to_string(),
            }),
        }
    }
    files.sort();
    files.dedup();
    let mut out = Vec::with_capacity(files.len());
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if is_zip(&name) {
            match zip_members(&path) {
                Ok(members) => out.extend(members),
                Err(e) => errors.push(InputError {
                    display: path.to_string_lossy().into_owned(),
                    message: format!("not a readable zip archive: {e}"),
                }),
            }
        } else {
            out.push(DumpFile::from_path(path));
        }
    }
    if stdin {
        out.push(DumpFile::stdin());
    }
    (out, errors)
}

/// The members of a zip archive as dump files, sorted by name (directories left out).
fn zip_members(archive: &Path) -> io::Result<Vec<DumpFile>> {
    let zip = zip::ZipArchive::new(BufReader::new(File::open(archive)?)).map_err(zip_error)?;
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
                location: Location::ZipMember {
                    archive: archive.to_path_buf(),
                    name,
                },
                shape,
                compression,
            }
        })
        .collect())
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<InputError>) {
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
    {
        match entry {
            Ok(e) if e.file_type().is_file() => files.push(e.into_path()),
            Ok(_) => {}
            Err(e) => errors.push(InputError {
                display: e.path().unwrap_or(dir).to_string_lossy().into_owned(),
                message: e
                    .io_error()
                    .map_or_else(|| "file system loop".to_string(), |io| io.to_string()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_by_name() {
        assert_eq!(classify("a.txt"), (Shape::Lines, Compression::None));
        assert_eq!(classify("A.CSV"), (Shape::Csv, Compression::None));
        assert_eq!(classify("a.csv.gz"), (Shape::Csv, Compression::Gzip));
        assert_eq!(classify("a.txt.gz"), (Shape::Lines, Compression::Gzip));
        assert_eq!(classify("a.csv.zst"), (Shape::Csv, Compression::Zstd));
        assert_eq!(classify("a.bz2"), (Shape::Lines, Compression::Bzip2));
        assert_eq!(classify("a.txt.XZ"), (Shape::Lines, Compression::Xz));
        assert_eq!(classify("gz"), (Shape::Lines, Compression::None));
        assert!(is_zip("dump.ZIP"));
    }

    #[test]
    fn discover_sorts_componentwise_and_reports_missing() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("b")).unwrap();
        for f in ["b/x.txt", "a.txt", "b.txt", "c.txt"] {
            std::fs::write(d.join(f), "").unwrap();
        }
        let (files, errors) = discover(&[d.join("c.txt"), d.to_path_buf(), d.join("nope")]);
        let names: Vec<String> = files
            .iter()
            .map(|f| {
                let Location::Path(p) = &f.location else {
                    panic!()
                };
                p.strip_prefix(d).unwrap().to_string_lossy().into_owned()
            })
            .collect();
        assert_eq!(names, ["a.txt", "b/x.txt", "b.txt", "c.txt"]);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].display.ends_with("nope"));
    }
}
