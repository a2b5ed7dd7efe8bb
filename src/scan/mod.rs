//! The parallel scan: dump bytes in, candidate (login, password) pairs out.
//!
//! Owns scheduling and the hot loop. The run's files are cut into work units —
//! memory-mapped files into chunks of [`ScanOptions::chunk_bytes`] ending at a line
//! boundary, streamed files (stdin, compressed files, zip members) and CSV files as
//! one unit each — and rayon scans the units in parallel, so one 50 GB file keeps every
//! core busy, and so do ten thousand small or compressed ones. Units are processed in
//! bounded waves and appended in unit order, so results never depend on thread timing.
//!
//! Per line the hot loop does: find the line end, first separator and any NUL byte
//! from bitmasks of 64-byte blocks ([`crate::parse::Lines`]), take the common
//! `login:password` shape on a fast path or apply the full rules ([`crate::parse`]),
//! hash the login's normalised form straight from the dump's bytes
//! ([`crate::login::hash_login`]), and probe the [`IndexView`]. Probes are pipelined over
//! three batches of [`BATCH`] lines (hash and prefetch the Bloom word; read it, and
//! prefetch the slot of the few survivors; read the slot), so the probes' cache
//! misses overlap. No heap allocation per line; only a login the index may hold
//! records its candidate password in the unit's [`crate::candidates::Candidates`] (deduplicated per login
//! and password, with its sightings and first sighting). The loop is compiled twice:
//! for the x86_64 baseline, and with AVX2, BMI1 and BMI2 for the CPUs that have them
//! (chosen at run time; both give the same results).
//!
//! The scan reads only the index's Bloom filter and slot table, never its records:
//! it does not confirm logins or verify passwords ([`crate::confirm`] does both).
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | work units, waves, and the merge of their results in unit order |
//! | [`lines`] | the hot loop over the lines of a buffer |
//! | [`stream`] | streamed inputs, block by block |
//! | [`csv`] | CSV dumps, record by record |

pub mod csv;
pub mod lines;
pub mod probe;
pub mod stream;

use std::io::{self, Read};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use memmap2::Mmap;
use rayon::prelude::*;

use crate::candidates::Candidates;
use crate::chunk::{chunk_count, chunk_range};
use crate::control::RunControl;
use crate::index::IndexView;
use crate::input::archive::ArchiveStream;
use crate::input::decode::{foreign_format, SNIFF_BYTES};
use crate::input::{Counted, DumpFile, InputError, Shape};
use crate::parse::url::UrlFilter;
use crate::parse::SkipReason;
use crate::shrink::ShrinkGuard;

use lines::LineScanner;
use probe::{LoginCollector, Probe};

pub use lines::BATCH;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Tuning knobs of the scan.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// Target size of a chunk of a mapped file.
    pub chunk_bytes: usize,
    /// Size of a read from a streamed file.
    pub stream_block: usize,
    /// Bytes of mapped input per wave (bounds memory held by unmerged results).
    pub wave_bytes: u64,
    /// Progress counters and the cancel flag, if anyone watches.
    pub control: Option<Arc<RunControl>>,
    /// Classify lines with the baseline SSE2 code even where AVX2 is available (for
    /// tests and benchmarks of the fallback; results are identical).
    pub baseline_simd: bool,
    /// `--url-filter`: credentials saved for other sites are skipped.
    pub url_filter: Option<Arc<UrlFilter>>,
}

impl ScanOptions {
    pub(crate) fn cancelled(&self) -> bool {
        self.control.as_ref().is_some_and(|p| p.cancelled())
    }

    pub(crate) fn advance(&self, bytes: usize) {
        if let Some(p) = &self.control {
            p.done.fetch_add(bytes as u64, Ordering::Relaxed);
        }
    }
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            chunk_bytes: 4 << 20,
            stream_block: 1 << 20,
            wave_bytes: 1 << 30,
            control: None,
            baseline_simd: false,
            url_filter: None,
        }
    }
}

/// Counters of a scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Files opened and read (fully or until an error).
    pub files: u64,
    /// Bytes scanned (decompressed).
    pub bytes: u64,
    /// Lines (CSV: records, header included).
    pub lines: u64,
    /// Lines that gave a credential pair.
    pub pairs: u64,
    /// Skipped lines, by [`SkipReason::index`].
    pub skipped: [u64; SkipReason::COUNT],
    /// Files in a format that is not read as text (an archive or compressed data
    /// its name did not announce, 7z, RAR; see
    /// [`crate::input::decode::foreign_format`]): reported, not scanned.
    pub unsupported: u64,
    /// Pairs whose login the index may hold: kept as candidates, for
    /// [`crate::confirm`] to confirm.
    pub candidate_pairs: u64,
}

impl Counters {
    pub(crate) fn add(&mut self, o: &Counters) {
        self.files += o.files;
        self.bytes += o.bytes;
        self.lines += o.lines;
        self.pairs += o.pairs;
        self.unsupported += o.unsupported;
        self.candidate_pairs += o.candidate_pairs;
        for (a, b) in self.skipped.iter_mut().zip(o.skipped) {
            *a += b;
        }
    }

    /// Total skipped lines.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.iter().sum()
    }
}

/// The result of scanning every input.
#[derive(Debug, Default)]
pub struct ScanOutput {
    /// Display names of the files, indexed by [`crate::candidates::Sighting::file`].
    pub files: Vec<String>,
    /// Candidate passwords of customers' logins.
    pub candidates: Candidates,
    /// Counters.
    pub counters: Counters,
    /// The counters of each file, indexed like `files` (`files` is 1 for a file
    /// that was read).
    pub per_file: Vec<Counters>,
    /// Inputs that could not be (fully) read.
    pub errors: Vec<InputError>,
}

/// One piece of work.
enum Unit {
    /// Chunk `k` of a mapped line-based file (see [`chunk_range`]).
    Chunk {
        file: u32,
        map: Arc<Mapped>,
        k: usize,
    },
    /// A whole mapped CSV file.
    MappedCsv { file: u32, map: Arc<Mapped> },
    /// A file read as a stream (stdin, compressed, or not mappable).
    Stream { file: u32, dump: DumpFile },
    /// Every leaf of an archive read front to back, the first being file `file`.
    Archive {
        file: u32,
        archive: Arc<crate::input::archive::ArchiveStream>,
    },
}

/// A mapped dump, guarded against being truncated under the scan.
struct Mapped {
    // Declared first: unregistered before the map is unmapped.
    guard: ShrinkGuard,
    map: Mmap,
}

impl std::ops::Deref for Mapped {
    type Target = Mmap;
    fn deref(&self) -> &Mmap {
        &self.map
    }
}

/// What a unit reports when its file shrank under the map.
const SHRANK: &str = "the file shrank while it was read (truncated or rewritten); what was past its new end was not scanned";

impl Unit {
    fn file(&self) -> u32 {
        match self {
            Unit::Chunk { file, .. }
            | Unit::MappedCsv { file, .. }
            | Unit::Stream { file, .. }
            | Unit::Archive { file, .. } => *file,
        }
    }
}

/// What a unit produced; line numbers are relative to the unit's start.
#[derive(Default)]
pub(crate) struct UnitOut {
    counters: Counters,
    candidates: Candidates,
    error: Option<String>,
}

/// Scans `files` against `index`.
pub fn scan(files: &[DumpFile], index: IndexView<'_>, opts: &ScanOptions) -> ScanOutput {
    scan_with(files, || index, opts).0
}

/// Reads `files` with the scan's own rules and returns every login hash they hold
/// ([`crate::login::hash_login`], the hash the index keys on), sorted and
/// deduplicated. The counters and errors of this pass are dropped: the scan proper
/// reports them.
pub fn collect_logins(files: &[DumpFile], opts: &ScanOptions) -> Vec<u64> {
    let (_, collectors) = scan_with(files, LoginCollector::default, opts);
    let mut all: Vec<u64> = collectors.into_iter().flat_map(|c| c.hashes).collect();
    radsort::sort(&mut all);
    all.dedup();
    all
}

/// Scans `files`, each unit with a probe from `make`; returns the results and each
/// unit's probe.
fn scan_with<P: Probe>(
    files: &[DumpFile],
    make: impl Fn() -> P + Sync,
    opts: &ScanOptions,
) -> (ScanOutput, Vec<P>) {
    let mut probes = Vec::new();
    let mut out = ScanOutput {
        files: files.iter().map(|f| f.display.clone()).collect(),
        per_file: vec![Counters::default(); files.len()],
        ..ScanOutput::default()
    };
    // Lines already seen per file, to turn unit-relative line numbers into real ones.
    let mut file_lines = vec![0u64; files.len()];
    let mut wave: Vec<Unit> = Vec::new();
    let mut wave_bytes = 0u64;
    let flush = |wave: &mut Vec<Unit>,
                 out: &mut ScanOutput,
                 file_lines: &mut Vec<u64>,
                 probes: &mut Vec<P>| {
        let results: Vec<(Vec<(u32, UnitOut)>, P)> = std::mem::take(wave)
            .into_par_iter()
            .map(|u| run_unit(u, make(), opts))
            .collect();
        for (outs, probe) in results {
            probes.push(probe);
            for (file, r) in outs {
                let f = file as usize;
                out.candidates.append(r.candidates, file_lines[f]);
                file_lines[f] += r.counters.lines;
                out.counters.add(&r.counters);
                out.per_file[f].add(&r.counters);
                if let Some(message) = r.error {
                    // A file's units are consecutive: one error said once per file.
                    let said = out
                        .errors
                        .last()
                        .is_some_and(|e| e.display == files[f].display && e.message == message);
                    if !said {
                        out.errors.push(InputError {
                            display: files[f].display.clone(),
                            message,
                        });
                    }
                }
            }
        }
    };
    for (i, dump) in files.iter().enumerate() {
        let file = i as u32;
        if let Some((archive, k)) = dump.input.archive() {
            // Its leaves are consecutive in the list: the first brings them all.
            if k == 0 {
                wave.push(Unit::Archive {
                    file,
                    archive: Arc::clone(archive),
                });
            }
            continue;
        }
        match dump.map() {
            Ok(Some(map)) => {
                if let Some(what) = foreign_format(&map[..map.len().min(SNIFF_BYTES)]) {
                    out.counters.unsupported += 1;
                    out.per_file[i].unsupported = 1;
                    out.errors.push(InputError {
                        display: dump.display.clone(),
                        message: what.to_string(),
                    });
                    continue;
                }
                let map = Arc::new(Mapped {
                    guard: ShrinkGuard::new(&map),
                    map,
                });
                out.counters.files += 1;
                out.per_file[i].files = 1;
                wave_bytes += map.len() as u64;
                match dump.shape {
                    Shape::Csv => wave.push(Unit::MappedCsv { file, map }),
                    Shape::Lines => {
                        // Each unit finds its own line boundaries when it runs, reading
                        // only forward from its own span (see `chunk_range`): finding
                        // them all here would touch the file every chunk_bytes, and
                        // where its page cache holds 2 MiB folios each touch maps a
                        // whole folio ahead of the scan.
                        for k in 0..chunk_count(map.len(), opts.chunk_bytes) {
                            wave.push(Unit::Chunk {
                                file,
                                map: Arc::clone(&map),
                                k,
                            });
                        }
                    }
                }
            }
            Ok(None) => {
                // Counted by the unit once the stream opens.
                wave.push(Unit::Stream {
                    file,
                    dump: dump.clone(),
                });
            }
            Err(e) => out.errors.push(InputError {
                display: dump.display.clone(),
                message: e.to_string(),
            }),
        }
        if wave_bytes >= opts.wave_bytes || wave.len() >= 4096 {
            flush(&mut wave, &mut out, &mut file_lines, &mut probes);
            wave_bytes = 0;
        }
    }
    flush(&mut wave, &mut out, &mut file_lines, &mut probes);
    (out, probes)
}

fn run_unit<P: Probe>(unit: Unit, probe: P, opts: &ScanOptions) -> (Vec<(u32, UnitOut)>, P) {
    if opts.cancelled() {
        return (Vec::new(), probe);
    }
    if let Unit::Archive { file, archive } = unit {
        return scan_archive(file, &archive, probe, opts);
    }
    let mut out = UnitOut::default();
    let file = unit.file();
    let mut scanner = LineScanner::new(probe, file, opts);
    match unit {
        Unit::Chunk { map, k, .. } => {
            let range = chunk_range(&map, k, opts.chunk_bytes);
            // A block open at the cut is the one the lines before it left.
            scanner
                .block
                .prime(crate::parse::block::lookback(&map[..range.start]));
            let mut bytes = &map[range.clone()];
            out.counters.bytes = bytes.len() as u64;
            if range.start == 0 {
                bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
            }
            scanner.scan(bytes, &mut out);
            opts.advance(range.len());
            // A large dump must not pile up in resident memory (see `mapped`).
            // SAFETY: `map` is a read-only shared mapping of a dump file (past a
            // new end, private zero pages: releasing them keeps them zeros).
            unsafe { crate::mem::release_file_pages(&map, range) };
            if map.guard.shrank() {
                out.error = Some(SHRANK.into());
            }
        }
        Unit::MappedCsv { map, .. } => {
            out.counters.bytes = map.len() as u64;
            csv::scan_csv(&map[..], &mut scanner, opts, &mut out);
            opts.advance(map.len());
            if map.guard.shrank() {
                out.error = Some(SHRANK.into());
            }
        }
        Unit::Stream { dump, .. } => {
            let counter = opts.control.as_ref().map(|p| Arc::clone(&p.done));
            let scanned = dump.with_stream(counter, |reader| {
                scan_reader(reader, dump.shape, &mut scanner, opts, &mut out);
            });
            if let Err(e) = scanned {
                out.error = Some(e.to_string());
            }
        }
        Unit::Archive { .. } => unreachable!("handled above"),
    }
    let mut probe = scanner.probe;
    probe.unit_done();
    (vec![(file, out)], probe)
}

/// Scans one streamed file's bytes, unless its first bytes say it is not text
/// ([`foreign_format`]: then it is reported and counted, not scanned).
fn scan_reader<P: Probe>(
    reader: &mut dyn Read,
    shape: Shape,
    scanner: &mut LineScanner<P>,
    opts: &ScanOptions,
    out: &mut UnitOut,
) {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    if let Err(e) = reader.take(SNIFF_BYTES as u64).read_to_end(&mut head) {
        out.error = Some(e.to_string());
        return;
    }
    if let Some(what) = foreign_format(&head) {
        out.counters.unsupported = 1;
        out.error = Some(what.to_string());
        return;
    }
    out.counters.files = 1;
    let mut reader = Counted::new(io::Cursor::new(head).chain(reader), None);
    match shape {
        Shape::Lines => stream::scan_stream(&mut reader, scanner, opts, out),
        Shape::Csv => csv::scan_csv(&mut reader, scanner, opts, out),
    }
    out.counters.bytes = reader.count();
}

/// Scans every leaf of an archive in one pass, leaf `k` as file `first + k`.
fn scan_archive<P: Probe>(
    first: u32,
    archive: &ArchiveStream,
    probe: P,
    opts: &ScanOptions,
) -> (Vec<(u32, UnitOut)>, P) {
    let counter = opts.control.as_ref().map(|p| Arc::clone(&p.done));
    let mut outs: Vec<(u32, UnitOut)> = Vec::new();
    let mut probe = Some(probe);
    let walked = archive.scan(counter, &mut |k, shape, reader| {
        if opts.cancelled() {
            return;
        }
        let file = first + k as u32;
        let mut out = UnitOut::default();
        let mut scanner = LineScanner::new(probe.take().expect("one leaf at a time"), file, opts);
        scan_reader(reader, shape, &mut scanner, opts, &mut out);
        probe = Some(scanner.probe);
        outs.push((file, out));
    });
    if let Err(e) = walked {
        // The archive's own damage: said on the last leaf reached (the listing
        // named the archive too), so `--state` does not record it as read.
        let last = first + outs.len().saturating_sub(1) as u32;
        match outs.last_mut() {
            Some((_, out)) if out.error.is_none() => out.error = Some(e.to_string()),
            Some(_) => {}
            None => outs.push((
                last,
                UnitOut {
                    error: Some(e.to_string()),
                    ..UnitOut::default()
                },
            )),
        }
    }
    let mut probe = probe.expect("returned by the last leaf");
    probe.unit_done();
    (outs, probe)
}
