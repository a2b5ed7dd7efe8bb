//! Dump inputs: which files a run reads, in what order, and how their bytes arrive.
//!
//! Owns turning the command line's `PATH...` into an ordered list of [`DumpFile`]s
//! (directories walked recursively; the whole list sorted by path, component by
//! component, so the order never depends on the file system or thread timing; `-` is
//! stdin, read last), and opening each one. Every kind of input is one
//! implementation of the [`Input`] trait, in a file of its own:
//!
//! | file | input | how it is read |
//! |---|---|---|
//! | [`mod@file`] | a file on disk, plain or compressed (`.gz`, `.zst`, `.bz2`, `.xz`) | plain regular files memory-mapped, the rest streamed through a decoder |
//! | [`stdin`] | `-` | streamed |
//! | [`zip`] | each member of a `.zip` archive (`archive.zip!inner/name.txt`) | streamed |
//! | [`archive`] | each file in a tar (plain or compressed) and in an archive inside an archive (`a.tgz!d/b.zip!c.txt`) | the whole archive streamed by one scan unit |
//!
//! [`decode`] holds the decoders and the name rules (shape and compression from a
//! file name). A new kind of input is one new file here and one line in
//! [`discover`]. No input is ever read whole into the heap.
//!
//! It does not parse lines ([`crate::parse`]) or schedule work ([`crate::scan`]).

pub mod archive;
pub mod decode;
pub mod file;
pub mod stdin;
pub mod zip;

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use memmap2::Mmap;

pub use decode::{classify, Compression};

/// How a file's records are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One credential per line, shapes mixed freely.
    Lines,
    /// A CSV file with a header naming the columns.
    Csv,
}

/// One kind of input: where its bytes come from and how they are read.
pub trait Input: Send + Sync + std::fmt::Debug {
    /// The bytes as one read-only file mapping, if this input can be mapped (a
    /// plain, non-empty regular file); `Ok(None)` if it must be streamed.
    fn map(&self) -> io::Result<Option<Mmap>> {
        Ok(None)
    }

    /// Opens the input and calls `f` with a stream of its (decompressed) bytes;
    /// on-disk bytes read are added to `counter`.
    fn stream(
        &self,
        counter: Option<Arc<AtomicU64>>,
        f: &mut dyn FnMut(&mut dyn Read),
    ) -> io::Result<()>;

    /// The file on disk holding this input (the archive, for an archive member):
    /// what `--state` identifies it by and the progress bar counts. `None` for
    /// stdin.
    fn on_disk(&self) -> Option<&Path>;

    /// For a leaf of an archive read front to back: the archive and the leaf's
    /// position in it (the scan reads all its leaves in one unit).
    fn archive(&self) -> Option<(&Arc<archive::ArchiveStream>, usize)> {
        None
    }
}

/// One input file of a run.
#[derive(Clone, Debug)]
pub struct DumpFile {
    /// The name reports use (`first_seen.file`): the path as reached from the command
    /// line, `archive.zip!member` for archive members, or `-` for stdin.
    pub display: String,
    /// CSV or lines.
    pub shape: Shape,
    /// Where its bytes come from.
    pub input: Arc<dyn Input>,
}

impl DumpFile {
    /// The file on disk holding this dump (see [`Input::on_disk`]).
    pub fn physical_path(&self) -> Option<&Path> {
        self.input.on_disk()
    }

    /// Maps the file if it can be (see [`Input::map`]).
    pub fn map(&self) -> io::Result<Option<Mmap>> {
        self.input.map()
    }

    /// Opens the file and calls `f` with a stream of its decompressed bytes. On-disk
    /// bytes read are added to `counter`.
    pub fn with_stream<T>(
        &self,
        counter: Option<Arc<AtomicU64>>,
        f: impl FnOnce(&mut dyn Read) -> T,
    ) -> io::Result<T> {
        let mut f = Some(f);
        let mut out = None;
        self.input.stream(counter, &mut |r| {
            if let Some(f) = f.take() {
                out = Some(f(r));
            }
        })?;
        out.ok_or_else(|| io::Error::other("input was not opened"))
    }
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
        write!(
            f,
            "{}: {}",
            printable(&self.display),
            printable(&self.message)
        )
    }
}

/// `name` with every control character escaped (`\x1b`, `\n`, `\u{85}`): file
/// and archive member names come from the dumps, and one printed raw could move
/// the cursor, recolour or clear the terminal it reaches.
pub fn printable(name: &str) -> std::borrow::Cow<'_, str> {
    if !name.chars().any(char::is_control) {
        return name.into();
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.into()
}

/// A reader that counts the bytes it reads, and adds them to a shared counter too
/// if given one (progress of on-disk bytes).
pub struct Counted<R> {
    inner: R,
    count: u64,
    counter: Option<Arc<AtomicU64>>,
}

impl<R> Counted<R> {
    /// Wraps `inner`; `counter` may be `None`.
    pub fn new(inner: R, counter: Option<Arc<AtomicU64>>) -> Self {
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

impl<R: io::Seek> io::Seek for Counted<R> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Expands the command line's paths into the run's ordered file list, reporting the
/// paths that cannot be read (symbolic links under a directory not followed).
pub fn discover(paths: &[PathBuf]) -> (Vec<DumpFile>, Vec<InputError>) {
    let found = discover_with(paths, false);
    (found.files, found.errors)
}

/// What [`discover_with`] found.
#[derive(Debug, Default)]
pub struct Discovered {
    /// The run's files, in order.
    pub files: Vec<DumpFile>,
    /// Paths that cannot be read.
    pub errors: Vec<InputError>,
    /// Directories met again through a symbolic link (`follow` only): not entered
    /// twice, said once each.
    pub loops: Vec<String>,
    /// Paths met and passed over, and why: a symbolic link under a directory
    /// (without `follow`), a FIFO or device under a directory, a second name of a
    /// file already listed.
    pub passed_over: Vec<(String, String)>,
}

/// Expands the command line's paths into the run's ordered file list. Paths named
/// on the command line are followed if they are symbolic links; symbolic links met
/// while walking a directory are followed only when `follow` says (`-L`, as in rg
/// and fd), and a directory reached again through one is a loop, said once and not
/// entered. A file reached twice (two paths, a link and its target) is read once,
/// under the first of its names in the sorted list.
pub fn discover_with(paths: &[PathBuf], follow: bool) -> Discovered {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut found = Discovered::default();
    let mut stdin = false;
    for p in paths {
        if p.as_os_str() == "-" {
            stdin = true;
            continue;
        }
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, follow, &mut files, &mut found),
            Ok(_) => files.push(p.clone()),
            Err(e) => found.errors.push(InputError {
                display: p.to_string_lossy().into_owned(),
                message: e.to_string(),
            }),
        }
    }
    files.sort();
    files.dedup();
    // One read per file on disk, whatever the names it was reached by.
    let mut seen = std::collections::HashMap::new();
    files.retain(|p| {
        use std::os::unix::fs::MetadataExt;
        let Ok(m) = std::fs::metadata(p) else {
            return true;
        };
        if !m.is_file() {
            return true;
        }
        match seen.entry((m.dev(), m.ino())) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(p.clone());
                true
            }
            std::collections::hash_map::Entry::Occupied(first) => {
                let why = format!("the same file as {}", first.get().to_string_lossy());
                found
                    .passed_over
                    .push((p.to_string_lossy().into_owned(), why));
                false
            }
        }
    });
    let out = &mut found.files;
    out.reserve(files.len());
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match archive::kind_of(&name) {
            Some((archive::Kind::Zip, _)) => match zip::members(&path) {
                Ok((members, mut bad)) => {
                    out.extend(members);
                    found.errors.append(&mut bad);
                }
                Err(e) => found.errors.push(InputError {
                    display: path.to_string_lossy().into_owned(),
                    message: format!("not a readable zip archive: {e}"),
                }),
            },
            Some((kind, compression)) => {
                let display = path.to_string_lossy().into_owned();
                let source = Arc::new(file::FileInput::new(path, compression));
                let (leaves, mut bad) = archive::list(source, kind, &display);
                out.extend(leaves);
                found.errors.append(&mut bad);
            }
            None => out.push(file::dump_file(path)),
        }
    }
    if stdin {
        out.push(stdin::dump_file());
    }
    found
}

fn walk(dir: &Path, follow: bool, files: &mut Vec<PathBuf>, found: &mut Discovered) {
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(follow)
        .sort_by_file_name()
    {
        match entry {
            Ok(e) if e.file_type().is_file() => files.push(e.into_path()),
            Ok(e) if e.file_type().is_dir() => {}
            // A symbolic link not followed, a FIFO or device found by walking.
            Ok(e) => {
                let why = if e.path_is_symlink() {
                    "a symbolic link under a directory (-L follows it)"
                } else {
                    "not a regular file (only a FIFO or device named on the command line is read)"
                };
                let path = e.path().to_string_lossy().into_owned();
                found.passed_over.push((path, why.to_string()));
            }
            Err(e) if e.loop_ancestor().is_some() => {
                let at = e.path().unwrap_or(dir).to_string_lossy().into_owned();
                if !found.loops.contains(&at) {
                    found.loops.push(at);
                }
            }
            Err(e) => found.errors.push(InputError {
                display: e.path().unwrap_or(dir).to_string_lossy().into_owned(),
                message: e
                    .io_error()
                    .map_or_else(|| "cannot be read".to_string(), |io| io.to_string()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                let p = f.physical_path().unwrap();
                p.strip_prefix(d).unwrap().to_string_lossy().into_owned()
            })
            .collect();
        assert_eq!(names, ["a.txt", "b/x.txt", "b.txt", "c.txt"]);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].display.ends_with("nope"));
    }
}
