//! How a scan gets its customers: a prebuilt index, or one built for the run from
//! the side a query planner would pick.
//!
//! `--index` maps a prebuilt `.lmx` file: nothing to build. `--customers` builds an
//! index for the run, one of two ways ([`Join`]):
//!
//! * **customers**: the whole customers file into an index (in memory when it fits
//!   the memory budget, else an unlinked temporary file, built in bounded memory
//!   either way), then the dumps scanned against it. Right when the dumps are as
//!   big as the customers file or bigger.
//! * **dumps**: when the dumps are much smaller than the customers file (a small
//!   paste against 100M customers), the dumps are read first for their logins
//!   only (8 bytes a distinct login), the customers file is streamed once keeping
//!   only the customers those logins name, and the dumps are then scanned against
//!   that small index. Every customer row is still validated, checked for a
//!   duplicate id and counted, so errors and `--stats` are the same. Needs inputs
//!   that can be read twice (not stdin or a FIFO).
//!
//! Both give the same output, byte for byte (tests force each on the same inputs).
//! [`Join::Auto`] picks *dumps* when every input can be read twice, no `--state`
//! is kept (its snapshot must be known before the dumps are read), and the dumps'
//! on-disk size (compressed files counted at five times theirs) is at most half
//! the customers file's. (Measured against 1M customers, 73 MB: with a 42 MB dump
//! *dumps* took 0.16 s and *customers* 0.18-0.34 s; with 83 MB, 0.37-0.40 s and
//! 0.23-0.39 s; with 167 MB, 0.7 s and 0.3-0.36 s.)

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::customers::{CsvFile, CustomerSource, CustomersError};
use crate::index::file::{self, LmxError};
use crate::index::{build, BuildError, BuildOptions, CustomerIndex, LoginFilter, SetAside, Target};
use crate::input::DumpFile;
use crate::scan::{self, ScanOptions};

/// Where the customers come from.
#[derive(Clone, Debug)]
pub enum Customers {
    /// A customers CSV.
    Csv(PathBuf),
    /// A `.lmx` index written by `leakmatch index`, memory-mapped.
    Index(PathBuf),
}

/// Which side a scan with `--customers` builds its index from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Join {
    /// Chosen from the sizes of the inputs (see the module docs).
    #[default]
    Auto,
    /// The whole customers file.
    Customers,
    /// The customers the dumps' logins name.
    Dumps,
}

/// How the customers were loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// A prebuilt index.
    Index,
    /// An index of the whole customers file.
    Customers,
    /// An index of the customers the dumps name.
    Dumps,
}

impl Strategy {
    /// The name `--stats` uses.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Index => "index",
            Strategy::Customers => "customers",
            Strategy::Dumps => "dumps",
        }
    }
}

/// The customers of a run, ready to probe.
pub struct Loaded {
    /// The index.
    pub index: CustomerIndex,
    /// How it was made.
    pub strategy: Strategy,
    /// Customer accounts (all of the file's, whatever the index holds).
    pub customers: u64,
    /// The customers' snapshot id: for `--state`, so known when
    /// [`PlanOptions::incremental`] says (or an index is read).
    pub snapshot: Option<u64>,
    /// Bytes of the index (its file, or its regions in memory).
    pub index_bytes: u64,
    /// Bytes the build spilled to disk.
    pub spilled: u64,
    /// Rows over a cost limit (none known when an index is read: `index` named
    /// them when it built it).
    pub set_aside: SetAside,
}

/// Why the customers could not be loaded.
#[derive(Debug, Error)]
pub enum PlanError {
    /// A bad index file.
    #[error(transparent)]
    Index(#[from] LmxError),
    /// A bad customers file, or an index that could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// `--join dumps` with an input that cannot be read twice.
    #[error("--join dumps reads the dumps twice: {0} cannot be (stdin, a FIFO or a device)")]
    NotRereadable(String),
}

/// What the loading may use.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Which side to build from.
    pub join: Join,
    /// Memory budget and temporary directory of a build.
    pub build: BuildOptions,
    /// A `--state` is kept: its snapshot must be known before the dumps are read.
    pub incremental: bool,
}

/// Loads the customers for a scan of `files`.
pub fn load(
    customers: &Customers,
    files: &[DumpFile],
    opts: &PlanOptions,
    scan: &ScanOptions,
) -> Result<Loaded, PlanError> {
    let cancelled = || scan.control.as_ref().is_some_and(|c| c.cancelled());
    let path = match customers {
        Customers::Index(p) => {
            let index = file::open(p)?;
            let m = index.mapped().map(|m| m.file_len()).unwrap_or_default();
            return Ok(Loaded {
                customers: index.header().accounts,
                snapshot: Some(index.header().snapshot()),
                index_bytes: m,
                spilled: 0,
                set_aside: SetAside::default(),
                strategy: Strategy::Index,
                index,
            });
        }
        Customers::Csv(p) => p,
    };
    let source = CsvFile::new(path);
    // Hashing every field of every row for a snapshot nobody asked for was a tenth
    // of a load.
    let build_opts = BuildOptions {
        digest: opts.incremental,
        ..opts.build.clone()
    };
    let strategy = match opts.join {
        Join::Customers => Strategy::Customers,
        Join::Dumps => {
            if let Some(f) = files.iter().find(|f| !rereadable(f)) {
                return Err(PlanError::NotRereadable(f.display.clone()));
            }
            Strategy::Dumps
        }
        Join::Auto => auto(&source, files, opts.incremental),
    };
    let (index, report) = match strategy {
        Strategy::Dumps => {
            let filter = LoginFilter::new(&scan::collect_logins(files, scan));
            if cancelled() {
                return Err(BuildError::from(CustomersError::Interrupted).into());
            }
            build(
                &source,
                &build_opts,
                Some(&filter),
                Target::Memory,
                &cancelled,
            )?
        }
        _ => {
            let fits = source
                .size_hint()
                .is_some_and(|s| s <= opts.build.memory as u64 / 2);
            let target = if fits {
                Target::Memory
            } else {
                Target::TempFile
            };
            build(&source, &build_opts, None, target, &cancelled)?
        }
    };
    Ok(Loaded {
        customers: report.rows,
        snapshot: report.digest.map(|d| d.snapshot()),
        index_bytes: report.index_bytes,
        spilled: report.spilled,
        set_aside: report.set_aside,
        strategy,
        index,
    })
}

/// Whether an input can be read a second time.
fn rereadable(f: &DumpFile) -> bool {
    f.physical_path()
        .and_then(|p| std::fs::metadata(p).ok())
        .is_some_and(|m| m.is_file())
}

/// The strategy [`Join::Auto`] picks.
fn auto(source: &CsvFile, files: &[DumpFile], incremental: bool) -> Strategy {
    if incremental || !files.iter().all(rereadable) {
        return Strategy::Customers;
    }
    let Some(customers) = source.size_hint() else {
        return Strategy::Customers;
    };
    let mut seen = std::collections::BTreeSet::new();
    let dumps: u64 = files
        .iter()
        .filter_map(|f| f.physical_path())
        .filter(|p| seen.insert(p.to_path_buf()))
        .filter_map(|p| Some((p, std::fs::metadata(p).ok()?.len())))
        .map(|(p, len)| if plain(p) { len } else { len.saturating_mul(5) })
        .sum();
    if dumps.saturating_mul(2) <= customers {
        Strategy::Dumps
    } else {
        Strategy::Customers
    }
}

/// Whether a file's bytes on disk are its text (not compressed or archived).
fn plain(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    ![".gz", ".zst", ".bz2", ".xz", ".zip"]
        .iter()
        .any(|s| name.ends_with(s))
}
