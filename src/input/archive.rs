//! Archives read front to back: tar (plain, `.gz`/`.tgz`, `.zst`/`.tzst`,
//! `.xz`/`.txz`, `.bz2`/`.tbz2`), and any archive inside an archive (a zip or tar
//! in a tar or zip, to [`MAX_DEPTH`] levels), each leaf a dump file of its own named
//! `outer.tgz!dir/inner.zip!file.txt`.
//!
//! A compressed tar cannot be entered in the middle, so an archive stream is listed
//! once when the run's files are discovered (its leaves' names fix their place in
//! the run's order) and scanned once, front to back, by one scan unit
//! ([`ArchiveStream`], its leaves [`ArchiveLeaf`]). A tar's members come in the
//! archive's order; a nested zip's sorted by name. A zip inside a stream needs its
//! central directory, at its end: it is copied to an unlinked temporary file first
//! (at most [`MAX_SPOOL`] bytes). Leaves pass through the same decoders (and their
//! memory limits) as files on disk.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use super::decode::{classify, decoder, Compression};
use super::{DumpFile, Input, InputError, Shape};

/// A zip crate error as an I/O error (its own I/O errors kept as they are).
pub(super) fn zip_error(e: ::zip::result::ZipError) -> io::Error {
    match e {
        ::zip::result::ZipError::Io(io) => io,
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}

/// Archives inside archives are opened to this depth (the outermost is 1); one
/// deeper is reported as unreadable, not scanned as text.
pub const MAX_DEPTH: usize = 4;

/// The most a zip inside a stream may take on disk while it is read.
pub const MAX_SPOOL: u64 = 4 << 30;

/// An archive format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// POSIX tar (ustar, pax, GNU).
    Tar,
    /// Zip.
    Zip,
}

/// The archive a file name says, with the compression around it (`.tgz` is a
/// gzipped tar); `None` for anything else. Case-insensitive.
pub fn kind_of(name: &str) -> Option<(Kind, Compression)> {
    let lower = name.to_ascii_lowercase();
    for (suffix, kind, c) in [
        (".zip", Kind::Zip, Compression::None),
        (".tar", Kind::Tar, Compression::None),
        (".tar.gz", Kind::Tar, Compression::Gzip),
        (".tgz", Kind::Tar, Compression::Gzip),
        (".tar.zst", Kind::Tar, Compression::Zstd),
        (".tzst", Kind::Tar, Compression::Zstd),
        (".tar.xz", Kind::Tar, Compression::Xz),
        (".txz", Kind::Tar, Compression::Xz),
        (".tar.bz2", Kind::Tar, Compression::Bzip2),
        (".tbz2", Kind::Tar, Compression::Bzip2),
        (".tbz", Kind::Tar, Compression::Bzip2),
    ] {
        if lower.ends_with(suffix) {
            return Some((kind, c));
        }
    }
    None
}

/// What a walk meets.
pub trait Visitor {
    /// A leaf (a member that is not an archive), its bytes decompressed.
    fn leaf(&mut self, name: &str, shape: Shape, reader: &mut dyn Read);
    /// A member that could not be opened: a damaged nested archive, one nested too
    /// deep, or one too big to spool. The walk goes on with the next member.
    fn member_error(&mut self, name: &str, error: io::Error);
}

/// Walks the archive `kind` read from `raw` (its own compression already
/// removed), at nesting `depth` (1 for a file on disk), its members named
/// `prefix` + their path. An error here is the archive's own (a damaged tar
/// header, a truncated stream): members before it were visited.
pub fn walk(
    raw: &mut dyn Read,
    kind: Kind,
    depth: usize,
    prefix: &str,
    v: &mut dyn Visitor,
) -> io::Result<()> {
    match kind {
        Kind::Tar => {
            let mut tar = tar::Archive::new(raw);
            for entry in tar.entries()? {
                let mut entry = entry?;
                if !entry.header().entry_type().is_file() {
                    continue;
                }
                let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                member(&format!("{prefix}{path}"), &mut entry, depth, v);
            }
            Ok(())
        }
        Kind::Zip => {
            let spooled = spool(raw)?;
            walk_zip(spooled, depth, prefix, v)
        }
    }
}

/// A zip read from a seekable file: members sorted by name.
fn walk_zip(
    file: std::fs::File,
    depth: usize,
    prefix: &str,
    v: &mut dyn Visitor,
) -> io::Result<()> {
    let mut zip = ::zip::ZipArchive::new(io::BufReader::new(file)).map_err(zip_error)?;
    let mut names: Vec<(String, usize)> = (0..zip.len())
        .filter_map(|i| Some((zip.name_for_index(i)?.ok()?.into_owned(), i)))
        .filter(|(n, _)| !n.ends_with('/'))
        .collect();
    names.sort();
    for (name, i) in names {
        let full = format!("{prefix}{name}");
        match zip.by_index(i) {
            Ok(mut m) => member(&full, &mut m, depth, v),
            Err(e) => v.member_error(&full, zip_error(e)),
        }
    }
    Ok(())
}

/// One member named `name` (full display name): a leaf, or an archive walked in
/// place.
fn member(name: &str, reader: &mut dyn Read, depth: usize, v: &mut dyn Visitor) {
    let Some((kind, compression)) = kind_of(name) else {
        let (shape, compression) = classify(name);
        match decoder(reader, compression) {
            Ok(mut d) => v.leaf(name, shape, &mut d),
            Err(e) => v.member_error(name, e),
        }
        return;
    };
    if depth >= MAX_DEPTH {
        let e = format!("an archive nested more than {MAX_DEPTH} deep is not opened");
        v.member_error(name, io::Error::other(e));
        return;
    }
    let inner = decoder(reader, compression)
        .and_then(|mut d| walk(&mut d, kind, depth + 1, &format!("{name}!"), v));
    if let Err(e) = inner {
        v.member_error(name, e);
    }
}

/// Copies a stream to an unlinked temporary file, at most [`MAX_SPOOL`] bytes.
fn spool(raw: &mut dyn Read) -> io::Result<std::fs::File> {
    let mut file = tempfile::tempfile()?;
    let copied = io::copy(&mut raw.take(MAX_SPOOL + 1), &mut file)?;
    if copied > MAX_SPOOL {
        return Err(io::Error::other(format!(
            "a zip inside an archive larger than {} GiB is not opened",
            MAX_SPOOL >> 30
        )));
    }
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

/// An archive read front to back by one scan unit: where its bytes come from and
/// the leaves its listing found, in walk order.
#[derive(Debug)]
pub struct ArchiveStream {
    /// Its bytes, outer compression removed (a file on disk, a zip member).
    source: Arc<dyn Input>,
    kind: Kind,
    /// Its display name and `!`.
    prefix: String,
    /// The leaves' display names, in walk order.
    leaves: Vec<String>,
}

impl ArchiveStream {
    /// Walks the archive once more, front to back; `f` gets each leaf listed
    /// before with its position in the listing. Leaves not listed (the archive
    /// changed since) are passed over; member errors were reported by the listing.
    pub fn scan(
        &self,
        counter: Option<Arc<AtomicU64>>,
        f: &mut dyn FnMut(usize, Shape, &mut dyn Read),
    ) -> io::Result<()> {
        struct Scan<'a> {
            leaves: &'a [String],
            next: usize,
            f: &'a mut dyn FnMut(usize, Shape, &mut dyn Read),
        }
        impl Visitor for Scan<'_> {
            fn leaf(&mut self, name: &str, shape: Shape, reader: &mut dyn Read) {
                if let Some(k) = self.leaves[self.next..].iter().position(|n| n == name) {
                    self.next += k + 1;
                    (self.f)(self.next - 1, shape, reader);
                }
            }
            fn member_error(&mut self, _: &str, _: io::Error) {}
        }
        let mut visitor = Scan {
            leaves: &self.leaves,
            next: 0,
            f,
        };
        let mut result = Ok(());
        self.source.stream(counter, &mut |raw| {
            result = walk(raw, self.kind, 1, &self.prefix, &mut visitor);
        })?;
        result
    }

    /// Number of leaves listed.
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }
}

/// Lists the archive `kind` whose bytes `source` gives (named `display`): its
/// leaves as dump files, in walk order, and the errors met (members that could not
/// be opened, and the archive's own if it is damaged: the leaves before it are
/// still listed).
pub fn list(source: Arc<dyn Input>, kind: Kind, display: &str) -> (Vec<DumpFile>, Vec<InputError>) {
    struct List {
        leaves: Vec<(String, Shape)>,
        errors: Vec<InputError>,
    }
    impl Visitor for List {
        fn leaf(&mut self, name: &str, shape: Shape, _: &mut dyn Read) {
            self.leaves.push((name.to_string(), shape));
        }
        fn member_error(&mut self, name: &str, error: io::Error) {
            self.errors.push(InputError {
                display: name.to_string(),
                message: error.to_string(),
            });
        }
    }
    let prefix = format!("{display}!");
    let mut found = List {
        leaves: Vec::new(),
        errors: Vec::new(),
    };
    let mut walked = Ok(());
    let opened = source.stream(None, &mut |raw| {
        walked = walk(raw, kind, 1, &prefix, &mut found);
    });
    if let Err(e) = opened.and(walked) {
        found.errors.push(InputError {
            display: display.to_string(),
            message: format!("damaged {} archive: {e}", kind_name(kind)),
        });
    }
    let stream = Arc::new(ArchiveStream {
        source,
        kind,
        prefix,
        leaves: found.leaves.iter().map(|(n, _)| n.clone()).collect(),
    });
    let files = (found.leaves.into_iter().enumerate())
        .map(|(k, (display, shape))| DumpFile {
            display,
            shape,
            input: Arc::new(ArchiveLeaf {
                archive: Arc::clone(&stream),
                k,
            }),
        })
        .collect();
    (files, found.errors)
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Tar => "tar",
        Kind::Zip => "zip",
    }
}

/// Leaf `k` of an [`ArchiveStream`].
#[derive(Debug)]
pub struct ArchiveLeaf {
    archive: Arc<ArchiveStream>,
    k: usize,
}

impl Input for ArchiveLeaf {
    /// Read on its own (the scan reads the whole archive in one unit instead):
    /// the archive is walked up to this leaf.
    fn stream(
        &self,
        counter: Option<Arc<AtomicU64>>,
        f: &mut dyn FnMut(&mut dyn Read),
    ) -> io::Result<()> {
        self.archive.scan(counter, &mut |k, _, r| {
            if k == self.k {
                f(r);
            }
        })
    }

    fn on_disk(&self) -> Option<&Path> {
        self.archive.source.on_disk()
    }

    fn archive(&self) -> Option<(&Arc<ArchiveStream>, usize)> {
        Some((&self.archive, self.k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names() {
        assert_eq!(kind_of("x.TGZ"), Some((Kind::Tar, Compression::Gzip)));
        assert_eq!(kind_of("x.tar.zst"), Some((Kind::Tar, Compression::Zstd)));
        assert_eq!(kind_of("x.tar"), Some((Kind::Tar, Compression::None)));
        assert_eq!(kind_of("x.zip"), Some((Kind::Zip, Compression::None)));
        assert_eq!(kind_of("x.txt.gz"), None);
        assert_eq!(kind_of("tar"), None);
    }
}
