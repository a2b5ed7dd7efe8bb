//! Dump sources: which files a run reads, in what order, and how their bytes arrive.
//!
//! Owns turning the command line's `PATH...` into an ordered list of [`DumpFile`]s
//! (directories walked recursively; the whole list sorted by path, component by
//! component, so the order never depends on the file system or thread timing; `-` is
//! stdin, read last), deciding each file's shape (CSV or line-based) and container
//! (plain or gzip) from its name, and opening it: regular plain files are
//! memory-mapped, everything else is streamed. No file is ever read whole into the
//! heap.
//!
//! It does not parse lines ([`crate::parse`]) or schedule work ([`crate::scan`]).

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

/// How a file's records are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One credential per line, shapes mixed freely.
    Lines,
    /// A CSV file with a header naming the columns.
    Csv,
}

/// The container a file's bytes come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip (multi-member streams included).
    Gzip,
}

/// Where a dump's bytes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A file on disk.
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

/// One input file of a run.
#[derive(Clone, Debug)]
pub struct DumpFile {
    /// The name reports use (`first_seen.file`): the path as reached from the command
    /// line, or `-` for stdin.
    pub display: String,
    /// Where to read it.
    pub location: Location,
    /// CSV or lines.
    pub shape: Shape,
    /// Container.
    pub compression: Compression,
}

/// An input that could not be read. The run goes on without it and exits 1.
#[derive(Clone, Debug)]
pub struct InputError {
    /// The input's name.
    pub display: String,
    /// What went wrong (an I/O message; never file content).
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.display, self.message)
    }
}

/// Decides shape and container from a file name (case-insensitive): `.gz` is gzip,
/// and the name inside it decides the shape (`x.csv.gz` is CSV).
pub fn classify(name: &str) -> (Shape, Compression) {
    let lower = name.to_ascii_lowercase();
    let (inner, compression) = match lower.strip_suffix(".gz") {
        Some(inner) => (inner, Compression::Gzip),
        None => (lower.as_str(), Compression::None),
    };
    let shape = if inner.ends_with(".csv") {
        Shape::Csv
    } else {
        Shape::Lines
    };
    (shape, compression)
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

    /// Opens the file as a stream of its (decompressed) bytes.
    pub fn open_stream(&self) -> io::Result<Box<dyn Read + Send>> {
        let raw: Box<dyn Read + Send> = match &self.location {
            Location::Path(p) => Box::new(File::open(p)?),
            Location::Stdin => Box::new(io::stdin()),
        };
        Ok(match self.compression {
            Compression::None => raw,
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
                io::BufReader::with_capacity(1 << 20, raw),
            )),
        })
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
    let mut out: Vec<DumpFile> = files.into_iter().map(DumpFile::from_path).collect();
    if stdin {
        out.push(DumpFile::stdin());
    }
    (out, errors)
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
        assert_eq!(classify("gz"), (Shape::Lines, Compression::None));
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
