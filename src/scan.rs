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
//! from bitmasks of 64-byte blocks ([`parse::Lines`]), take the common
//! `login:password` shape on a fast path or apply the full rules ([`crate::parse`]),
//! hash the login's normalised form straight from the dump's bytes
//! ([`login::hash_login`]), and probe the [`IndexView`]. Probes are pipelined over
//! three batches of [`BATCH`] lines (hash and prefetch the Bloom word; read it, and
//! prefetch the slot of the few survivors; read the slot), so the probes' cache
//! misses overlap. No heap allocation per line; only a login the index may hold
//! records its candidate password in the unit's [`Candidates`] (deduplicated per login
//! and password, with its sightings and first sighting). The loop is compiled twice:
//! for the x86_64 baseline, and with AVX2, BMI1 and BMI2 for the CPUs that have them
//! (chosen at run time; both give the same results).
//!
//! The scan reads only the index's Bloom filter and slot table, never its records:
//! it does not confirm logins or verify passwords ([`crate::check`] does both).

use std::borrow::Cow;
use std::io::{self, Read};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use memmap2::Mmap;
use rayon::prelude::*;

use crate::candidates::{Candidates, Sighting};
use crate::index::{Hint, IndexView};
use crate::login;
use crate::parse::{self, CsvColumns, Parsed, SkipReason};
use crate::source::{Counted, DumpFile, InputError, LineTracker, Shape};

/// Lines per lookup batch.
pub const BATCH: usize = 16;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Shared run control between the engine and whoever watches it: progress counters a
/// terminal can display, and a flag that stops the scan early (Ctrl-C).
#[derive(Debug, Default)]
pub struct Progress {
    /// On-disk bytes of input read so far.
    pub done: Arc<AtomicU64>,
    /// On-disk bytes of input in the run, set once the files are known.
    pub total: AtomicU64,
    /// Set to stop the scan at the next chunk or block; the run then reports that it
    /// was interrupted instead of producing results.
    pub cancel: AtomicBool,
}

impl Progress {
    /// Whether the run was asked to stop.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

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
    pub progress: Option<Arc<Progress>>,
    /// Classify lines with the baseline SSE2 code even where AVX2 is available (for
    /// tests and benchmarks of the fallback; results are identical).
    pub baseline_simd: bool,
}

impl ScanOptions {
    fn cancelled(&self) -> bool {
        self.progress.as_ref().is_some_and(|p| p.cancelled())
    }

    fn advance(&self, bytes: usize) {
        if let Some(p) = &self.progress {
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
            progress: None,
            baseline_simd: false,
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
}

impl Counters {
    fn add(&mut self, o: &Counters) {
        self.files += o.files;
        self.bytes += o.bytes;
        self.lines += o.lines;
        self.pairs += o.pairs;
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
    /// Display names of the files, indexed by [`Sighting::file`].
    pub files: Vec<String>,
    /// Candidate passwords of customers' logins.
    pub candidates: Candidates,
    /// Counters.
    pub counters: Counters,
    /// Inputs that could not be (fully) read.
    pub errors: Vec<InputError>,
}

/// One piece of work.
enum Unit {
    /// Chunk `k` of a mapped line-based file (see [`chunk_range`]).
    Chunk { file: u32, map: Arc<Mmap>, k: usize },
    /// A whole mapped CSV file.
    MappedCsv { file: u32, map: Arc<Mmap> },
    /// A file read as a stream (stdin, compressed, or not mappable).
    Stream { file: u32, dump: DumpFile },
}

impl Unit {
    fn file(&self) -> u32 {
        match self {
            Unit::Chunk { file, .. } | Unit::MappedCsv { file, .. } | Unit::Stream { file, .. } => {
                *file
            }
        }
    }
}

/// What a unit produced; line numbers are relative to the unit's start.
#[derive(Default)]
struct UnitOut {
    counters: Counters,
    candidates: Candidates,
    error: Option<String>,
}

/// Scans `files` against `index`.
pub fn scan(files: &[DumpFile], index: IndexView<'_>, opts: &ScanOptions) -> ScanOutput {
    let mut out = ScanOutput {
        files: files.iter().map(|f| f.display.clone()).collect(),
        ..ScanOutput::default()
    };
    // Lines already seen per file, to turn unit-relative line numbers into real ones.
    let mut file_lines = vec![0u64; files.len()];
    let mut wave: Vec<Unit> = Vec::new();
    let mut wave_bytes = 0u64;
    let flush = |wave: &mut Vec<Unit>, out: &mut ScanOutput, file_lines: &mut Vec<u64>| {
        let results: Vec<(u32, UnitOut)> = std::mem::take(wave)
            .into_par_iter()
            .map(|u| (u.file(), run_unit(u, index, opts)))
            .collect();
        for (file, r) in results {
            let f = file as usize;
            out.candidates.append(r.candidates, file_lines[f]);
            file_lines[f] += r.counters.lines;
            out.counters.add(&r.counters);
            if let Some(message) = r.error {
                out.errors.push(InputError {
                    display: files[f].display.clone(),
                    message,
                });
            }
        }
    };
    for (i, dump) in files.iter().enumerate() {
        let file = i as u32;
        match dump.map() {
            Ok(Some(map)) => {
                let map = Arc::new(map);
                out.counters.files += 1;
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
            flush(&mut wave, &mut out, &mut file_lines);
            wave_bytes = 0;
        }
    }
    flush(&mut wave, &mut out, &mut file_lines);
    out
}

/// Chunk `k` of `bytes` cut every `target` bytes: from just past the first `\n` at or
/// after `k * target` (chunk 0: from the start) to just past the first `\n` at or
/// after `(k + 1) * target` (or the end). Empty inside a line longer than `target`.
/// The chunks `0..chunk_count(bytes.len(), target)` cover `bytes` exactly, each ends at a
/// line boundary, and each is found on its own, reading only from the start of its
/// own span and of the next.
///
/// Never reading before its span matters: where the page cache holds 2 MiB folios,
/// one byte read maps a whole folio, and reading the byte before the span (to ask
/// whether a line starts exactly there) mapped the previous chunk's last 2 MiB again
/// after that chunk had released it: half the dump stayed resident.
pub fn chunk_range(bytes: &[u8], k: usize, target: usize) -> Range<usize> {
    let target = target.max(1);
    // Just past the first `\n` at or after `at`.
    let line_start = |at: usize| {
        if at == 0 {
            0
        } else if at >= bytes.len() {
            bytes.len()
        } else {
            memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i + 1)
        }
    };
    let start = line_start(k.saturating_mul(target));
    let end = line_start(k.saturating_add(1).saturating_mul(target));
    start..end.max(start)
}

/// How many [`chunk_range`]s cover `len` bytes cut every `target` bytes.
pub fn chunk_count(len: usize, target: usize) -> usize {
    len.div_ceil(target.max(1))
}

/// Cuts `bytes` into ranges of about `target` bytes, each ending just after a `\n`
/// (or at the end): the non-empty [`chunk_range`]s.
pub fn split_chunks(bytes: &[u8], target: usize) -> Vec<Range<usize>> {
    (0..chunk_count(bytes.len(), target))
        .map(|k| chunk_range(bytes, k, target))
        .filter(|r| !r.is_empty())
        .collect()
}

fn run_unit(unit: Unit, index: IndexView<'_>, opts: &ScanOptions) -> UnitOut {
    let mut out = UnitOut::default();
    if opts.cancelled() {
        return out;
    }
    match unit {
        Unit::Chunk { file, map, k } => {
            let range = chunk_range(&map, k, opts.chunk_bytes);
            let mut bytes = &map[range.clone()];
            out.counters.bytes = bytes.len() as u64;
            if range.start == 0 {
                bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
            }
            LineScanner::new(index, file, opts).scan(bytes, &mut out);
            opts.advance(range.len());
            // A large dump must not pile up in resident memory (see `mapped`).
            crate::mapped::release(&map, range);
        }
        Unit::MappedCsv { file, map } => {
            out.counters.bytes = map.len() as u64;
            scan_csv(&map[..], index, file, opts, &mut out);
            opts.advance(map.len());
        }
        Unit::Stream { file, dump } => {
            let counter = opts.progress.as_ref().map(|p| Arc::clone(&p.done));
            let scanned = dump.with_stream(counter, |reader| {
                out.counters.files = 1;
                let mut reader = Counted::new(reader, None);
                match dump.shape {
                    Shape::Lines => scan_stream(&mut reader, index, file, opts, &mut out),
                    Shape::Csv => scan_csv(&mut reader, index, file, opts, &mut out),
                }
                out.counters.bytes = reader.count();
            });
            if let Err(e) = scanned {
                out.error = Some(e.to_string());
            }
        }
    }
    out
}

/// Reads a stream block by block, scanning the complete lines of each block. A line
/// longer than [`parse::MAX_LINE`] is dropped as it streams past (counted as
/// too long) so no input can make the buffer grow without bound.
fn scan_stream<R: Read>(
    reader: &mut Counted<R>,
    index: IndexView<'_>,
    file: u32,
    opts: &ScanOptions,
    out: &mut UnitOut,
) {
    let block = opts.stream_block.max(parse::MAX_LINE + 2);
    let mut buf: Vec<u8> = vec![0; block * 2];
    let mut lines = LineScanner::new(index, file, opts);
    // A BOM is dropped only at the very start of the stream.
    let mut filled = read_full(reader, &mut buf[..BOM.len()], out);
    if buf[..filled] == *BOM {
        filled = 0;
    }
    let mut discarding = false;
    while out.error.is_none() && !opts.cancelled() {
        let n = read_full(reader, &mut buf[filled..], out);
        if n == 0 {
            break;
        }
        filled += n;
        let mut start = 0;
        if discarding {
            // An overlong line is being dropped: it ends at the first newline.
            let Some(nl) = memchr::memchr(b'\n', &buf[..filled]) else {
                filled = 0;
                continue;
            };
            lines.count_skip(SkipReason::TooLong, &mut out.counters);
            discarding = false;
            start = nl + 1;
        }
        match memchr::memrchr(b'\n', &buf[start..filled]) {
            Some(i) => {
                let end = start + i + 1;
                lines.scan(&buf[start..end], out);
                buf.copy_within(end..filled, 0);
                filled -= end;
            }
            None => {
                buf.copy_within(start..filled, 0);
                filled -= start;
            }
        }
        // A partial line may be MAX_LINE bytes plus the `\r` of its `\r\n`.
        if filled > parse::MAX_LINE + 1 {
            discarding = true;
            filled = 0;
        }
    }
    if discarding {
        lines.count_skip(SkipReason::TooLong, &mut out.counters);
    } else if filled > 0 {
        lines.scan(&buf[..filled], out);
    }
}

/// Reads until `buf` is full or the stream ends; a read error is recorded in `out`
/// (what was read before it is kept).
fn read_full<R: Read>(reader: &mut Counted<R>, buf: &mut [u8], out: &mut UnitOut) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                out.error = Some(format!("read error after {} bytes: {e}", reader.count()));
                break;
            }
        }
    }
    n
}

/// Scans a CSV dump: header first, then one record at a time.
fn scan_csv<R: Read>(
    reader: R,
    index: IndexView<'_>,
    file: u32,
    opts: &ScanOptions,
    out: &mut UnitOut,
) {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(LineTracker::new(reader));
    let mut record = csv::ByteRecord::new();
    let mut columns: Option<Option<CsvColumns>> = None;
    let mut lines = LineScanner::new(index, file, opts);
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                out.error = Some(match e.position() {
                    Some(p) => format!("CSV error on line {}", p.line()),
                    None => "CSV read error".to_string(),
                });
                break;
            }
        }
        let line = rdr
            .get_ref()
            .line_of(record.position().map_or(0, |p| p.byte()));
        out.counters.lines += 1;
        if out.counters.lines.is_multiple_of(4096) && opts.cancelled() {
            break;
        }
        let reason = match columns {
            None => {
                columns = Some(CsvColumns::from_header(&record));
                SkipReason::CsvHeader
            }
            Some(None) => SkipReason::CsvNoColumns,
            Some(Some(cols)) => match cols.parse(&record) {
                Parsed::Pair(cred) => {
                    out.counters.pairs += 1;
                    lines.lookup_now(&cred.login, &cred.password, line, out);
                    continue;
                }
                Parsed::Skip(r) => r,
            },
        };
        out.counters.skipped[reason.index()] += 1;
    }
}

/// A login waiting for its index probe: plain `Copy` data written straight into its
/// batch (profiling showed a `Cow`-holding struct built on the stack and copied into
/// a `Vec` stalling on store forwarding).
#[derive(Clone, Copy, Default)]
struct Pending<'a> {
    hash: u64,
    line: u64,
    login: &'a [u8],
    password: &'a [u8],
}

/// Up to [`BATCH`] pending logins at one stage of the probe pipeline.
struct Batch<'a> {
    items: [Pending<'a>; BATCH],
    len: usize,
}

impl<'a> Batch<'a> {
    fn new() -> Self {
        Batch {
            items: [Pending::default(); BATCH],
            len: 0,
        }
    }

    #[inline(always)]
    fn push(&mut self, p: Pending<'a>) {
        self.items[self.len] = p;
        self.len += 1;
    }

    /// The pending logins; the batch is empty afterwards.
    #[inline(always)]
    fn take(&mut self) -> &[Pending<'a>] {
        let n = std::mem::take(&mut self.len);
        &self.items[..n]
    }
}

/// The hot loop's state: the unit's line count and reused buffers.
struct LineScanner<'i> {
    index: IndexView<'i>,
    file: u32,
    /// Lines seen so far in this unit.
    line: u64,
    norm: Vec<u8>,
    /// The AVX2 line classifier, where the CPU has it.
    #[cfg(target_arch = "x86_64")]
    avx2: Option<parse::Avx2>,
}

impl<'i> LineScanner<'i> {
    fn new(index: IndexView<'i>, file: u32, opts: &ScanOptions) -> Self {
        #[cfg(not(target_arch = "x86_64"))]
        let _ = opts.baseline_simd; // only x86_64 has another build
        LineScanner {
            index,
            file,
            line: 0,
            norm: Vec::with_capacity(256),
            #[cfg(target_arch = "x86_64")]
            avx2: parse::Avx2::detect().filter(|_| !opts.baseline_simd),
        }
    }

    /// Scans every line of `bytes` (which ends at a line boundary or at the end of
    /// the input).
    ///
    /// Lookups are pipelined over batches of [`BATCH`] lines, so their cache misses
    /// overlap: a line's login is hashed and its Bloom word prefetched; one batch
    /// later the filter is read for the whole batch and, for the few logins it lets
    /// through, the slot is prefetched; one batch after that the slot is read.
    ///
    /// Without the Bloom prefetch the filter's 16 reads still overlap each other, but
    /// each waits on a miss of the 1 MiB filter (L2 holds half of it) right before
    /// the branch that needs it: a quarter of a one-thread run's samples sat on that
    /// load (BENCHMARKS.md).
    fn scan(&mut self, bytes: &[u8], out: &mut UnitOut) {
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = self.avx2 {
            // SAFETY: `Avx2::detect` found AVX2, BMI1 and BMI2.
            return unsafe { self.scan_avx2(avx2, bytes, out) };
        }
        self.scan_lines(parse::Lines::new(bytes), out)
    }

    /// [`LineScanner::scan`] compiled for AVX2: the block classifier's compares, the
    /// bit operations of the line loop (BMI1) and the login hash's multiplies (BMI2),
    /// all inlined.
    ///
    /// # Safety
    ///
    /// The CPU must have AVX2, BMI1 and BMI2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,bmi1,bmi2")]
    unsafe fn scan_avx2(&mut self, avx2: parse::Avx2, bytes: &[u8], out: &mut UnitOut) {
        self.scan_lines(parse::Lines::with(avx2, bytes), out)
    }

    /// The line loop of [`LineScanner::scan`].
    #[inline(always)]
    fn scan_lines<C: parse::Classify>(&mut self, lines: parse::Lines<'_, C>, out: &mut UnitOut) {
        // The two batches trade places by reference (swapping them copied 1.5 KB
        // every batch: 2% of the scan).
        let (mut a, mut b) = (Batch::new(), Batch::new());
        let (mut filling, mut waiting) = (&mut a, &mut b);
        let mut probing = Batch::new();
        for parse::Line {
            bytes: line,
            sep,
            nul,
        } in lines
        {
            self.line += 1;
            out.counters.lines += 1;
            let common = if nul {
                None
            } else {
                parse::parse_common(line, sep)
            };
            let (login, password) = match common {
                Some(pair) => pair,
                None => match parse::parse_line_known(line, nul) {
                    Parsed::Pair(c) => match (c.login, c.password) {
                        (Cow::Borrowed(l), Cow::Borrowed(p)) => (l, p),
                        // Decoded JSON escapes: rare, looked up at once.
                        (l, p) => {
                            out.counters.pairs += 1;
                            self.lookup_now(&l, &p, self.line, out);
                            continue;
                        }
                    },
                    Parsed::Skip(r) => {
                        out.counters.skipped[r.index()] += 1;
                        continue;
                    }
                },
            };
            out.counters.pairs += 1;
            let hash = login::hash_login(login, &mut self.norm);
            self.index.prefetch_filter(hash);
            filling.push(Pending {
                hash,
                line: self.line,
                login,
                password,
            });
            if filling.len == BATCH {
                self.probe(&mut probing, out);
                self.filter(waiting, &mut probing);
                std::mem::swap(&mut filling, &mut waiting);
            }
        }
        self.probe(&mut probing, out);
        self.filter(waiting, &mut probing);
        self.probe(&mut probing, out);
        self.filter(filling, &mut probing);
        self.probe(&mut probing, out);
    }

    /// Reads the Bloom filter for every login of a batch and empties it, moving the
    /// logins it lets through to `probing` with their slot prefetched.
    fn filter<'b>(&self, batch: &mut Batch<'b>, probing: &mut Batch<'b>) {
        for &p in batch.take() {
            if self.index.may_contain(p.hash) {
                self.index.prefetch_slot(p.hash);
                probing.push(p);
            }
        }
    }

    fn count_skip(&mut self, r: SkipReason, c: &mut Counters) {
        self.line += 1;
        c.lines += 1;
        c.skipped[r.index()] += 1;
    }

    /// Probes the slot table for every login of a batch (all passed the filter) and
    /// empties it.
    fn probe(&mut self, batch: &mut Batch<'_>, out: &mut UnitOut) {
        for &p in batch.take() {
            if let Some(hint) = self.index.slot_hint(p.hash) {
                self.candidate(p.hash, hint, p.login, p.password, p.line, out);
            }
        }
    }

    /// Looks one login up at once (CSV records, whose bytes do not outlive the
    /// record buffer).
    fn lookup_now(&mut self, login: &[u8], password: &[u8], line: u64, out: &mut UnitOut) {
        let hash = login::hash_login(login, &mut self.norm);
        if let Some(hint) = self.index.may_hold(hash) {
            self.candidate(hash, hint, login, password, line, out);
        }
    }

    /// Records a login the index may hold as a candidate. The login is normalised
    /// only now; [`crate::check`] confirms it.
    fn candidate(
        &mut self,
        hash: u64,
        hint: Hint,
        login: &[u8],
        password: &[u8],
        line: u64,
        out: &mut UnitOut,
    ) {
        let seen = Sighting {
            file: self.file,
            line,
        };
        let norm = login::normalize(login, &mut self.norm);
        out.candidates.add(hash, hint, norm, password, 1, seen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_end_at_line_boundaries_and_cover_everything() {
        let data = b"aaa\nbb\ncccccc\nd\n\nlast";
        for target in 1..data.len() + 2 {
            let chunks = split_chunks(data, target);
            assert_eq!(chunks.first().unwrap().start, 0);
            assert_eq!(chunks.last().unwrap().end, data.len());
            for w in chunks.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert_eq!(data[w[0].end - 1], b'\n');
            }
        }
        assert!(split_chunks(b"", 4).is_empty());
    }

    #[test]
    fn each_chunk_is_found_on_its_own() {
        // A line longer than several chunks leaves those chunks empty.
        let data = b"ab\ncdefghijklmnop\nq\n\nrs";
        let past_newline_from = |at: usize| {
            (at..data.len())
                .find(|&i| data[i] == b'\n')
                .map_or(data.len(), |i| i + 1)
        };
        for target in 1..data.len() + 2 {
            let mut at = 0;
            for k in 0..chunk_count(data.len(), target) {
                let r = chunk_range(data, k, target);
                assert_eq!(r.start, at, "chunk {k} of {target}");
                assert_eq!(r.end, past_newline_from((k + 1) * target).max(r.start));
                at = r.end;
            }
            assert_eq!(at, data.len());
        }
    }

    mod props {
        use super::*;
        use crate::candidates::CandInfo;
        use crate::index::IndexBuilder;
        use crate::verify::parse_stored;
        use proptest::prelude::*;

        fn scan_bytes(bytes: &[u8], index: IndexView<'_>) -> UnitOut {
            scan_bytes_with(bytes, index, &ScanOptions::default())
        }

        fn scan_bytes_with(bytes: &[u8], index: IndexView<'_>, opts: &ScanOptions) -> UnitOut {
            let mut out = UnitOut::default();
            LineScanner::new(index, 0, opts).scan(bytes, &mut out);
            out
        }

        fn expected_lines(bytes: &[u8]) -> u64 {
            let newlines = memchr::memchr_iter(b'\n', bytes).count() as u64;
            newlines + u64::from(!bytes.is_empty() && !bytes.ends_with(b"\n"))
        }

        /// The distinct candidates, in [`Candidates::distinct`]'s canonical order.
        fn candidates_sorted(c: &Candidates) -> Vec<(Vec<u8>, Vec<u8>, CandInfo)> {
            c.distinct()
                .iter()
                .flatten()
                .map(|c| (c.login.to_vec(), c.password.to_vec(), c.info))
                .collect()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]

            /// Every line is accounted for, parsed or skipped, and cutting the input into
            /// chunks (as the parallel scan does) changes nothing.
            #[test]
            fn every_line_accounted_and_chunking_is_invisible(
                lines in proptest::collection::vec(
                    prop_oneof![
                        Just(b"alice@x.io:pw".to_vec()),
                        Just(b"ALICE@x.io;other".to_vec()),
                        Just(b"https://h.io:81/p:alice@x.io:pw".to_vec()),
                        Just(br#"{"email":"alice@x.io","password":"pw"}"#.to_vec()),
                        proptest::collection::vec(any::<u8>(), 0..40),
                    ],
                    0..40,
                ),
                chunk in 1usize..64,
            ) {
                let bytes = lines.join(&b'\n');
                let mut b = IndexBuilder::new();
                let hash = crate::verify::fast::sha1(b"pw");
                let hex: String = hash.iter().map(|x| format!("{x:02x}")).collect();
                b.add("a", "alice@x.io", &parse_stored(&hex).unwrap()).unwrap();
                let index = b.build().unwrap();
                let v = index.view();

                let whole = scan_bytes(&bytes, v);
                let c = &whole.counters;
                // The baseline classifier finds exactly what the AVX2 one does.
                let baseline = ScanOptions { baseline_simd: true, ..ScanOptions::default() };
                let base = scan_bytes_with(&bytes, v, &baseline);
                prop_assert_eq!(&base.counters, c);
                prop_assert_eq!(candidates_sorted(&base.candidates), candidates_sorted(&whole.candidates));
                prop_assert_eq!(c.lines, expected_lines(&bytes));
                prop_assert_eq!(c.lines, c.pairs + c.skipped_total());

                let mut merged = Candidates::default();
                let mut total = Counters::default();
                let mut offset = 0;
                for r in split_chunks(&bytes, chunk) {
                    let part = scan_bytes(&bytes[r], v);
                    merged.append(part.candidates, offset);
                    offset += part.counters.lines;
                    total.add(&part.counters);
                }
                prop_assert_eq!(&total, c);
                prop_assert_eq!(candidates_sorted(&merged), candidates_sorted(&whole.candidates));
            }
        }
    }
}
