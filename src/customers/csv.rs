//! The customers CSV, read in parallel at the speed of the hardware.
//!
//! A header row names the columns (`account_id`, `login`, `password_hash`, in any
//! order, case-insensitive; other columns ignored); RFC 4180 quoting, multi-line
//! quoted fields, and `\n`, `\r\n` or bare `\r` line ends are read exactly as the
//! `csv` crate reads them (a property test holds the two together).
//!
//! A regular file is memory-mapped and cut into chunks of [`CHUNK`] bytes that end
//! just after a `\n`. Whether such a `\n` ends a record or sits inside a quoted field
//! depends on everything before it, so each chunk is first read twice over for its
//! quotes alone — once as if it started between records, once as if inside a quoted
//! field (`speculate`; a chunk without any `"` costs one `memchr`) — and a pass
//! over the chunks in order picks the right reading of each, which gives the true
//! record boundaries. Then the records between those boundaries are parsed in
//! parallel: a range without quotes or bare `\r` by splitting at `\n` and `,`, any
//! other with `csv-core`, the `csv` crate's own state machine. Nothing is allocated
//! per row, and the mapped pages of a large file are given back behind the parse.
//!
//! A file that cannot be mapped (a FIFO, a device) is read as a stream on one
//! thread through the `csv` crate.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use memmap2::Mmap;
use rayon::prelude::*;

use super::{
    is_blank, CustomerSource, CustomersError, RawRow, RowError, RowSink, SinkFactory, COLUMNS,
};
use crate::chunk::{chunk_count, chunk_range};
use crate::parse::LineTracker;

/// Bytes per chunk of a mapped customers file.
pub const CHUNK: usize = 4 << 20;

/// Files at least this large give their mapped pages back as they are read.
const RELEASE_MIN: usize = 64 << 20;

/// Bytes of a mapped file read for quotes and then parsed at a time: what the
/// CPU caches hold between the two passes.
const WINDOW: usize = 64 << 20;

/// A customers CSV file.
pub struct CsvFile {
    path: PathBuf,
    size: Option<u64>,
    /// Chunk size (a parameter for tests, which use tiny chunks).
    chunk: usize,
}

impl CsvFile {
    /// The customers CSV at `path` (opened when read).
    pub fn new(path: &Path) -> CsvFile {
        let size = std::fs::metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        CsvFile {
            path: path.to_path_buf(),
            size,
            chunk: CHUNK,
        }
    }

    /// The same file read in chunks of `chunk` bytes (tests).
    #[doc(hidden)]
    pub fn with_chunk(mut self, chunk: usize) -> CsvFile {
        self.chunk = chunk.max(1);
        self
    }

    fn io(&self, e: impl std::fmt::Display) -> CustomersError {
        CustomersError::Io {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }
}

impl CustomerSource for CsvFile {
    fn name(&self) -> &Path {
        &self.path
    }

    fn size_hint(&self) -> Option<u64> {
        self.size
    }

    fn rereadable(&self) -> bool {
        // A regular file (mapped); a FIFO or a device is read once.
        self.size.is_some()
    }

    fn read(
        &self,
        make: &SinkFactory<'_>,
        cancelled: &(dyn Fn() -> bool + Sync),
    ) -> Result<LineMap, CustomersError> {
        let file = File::open(&self.path).map_err(|e| self.io(e))?;
        let meta = file.metadata().map_err(|e| self.io(e))?;
        if !meta.is_file() {
            return read_stream(&self.path, file, make, cancelled);
        }
        if meta.len() == 0 {
            return Err(CustomersError::Empty(self.path.clone()));
        }
        // SAFETY: a read-only map of a regular file we only read as bytes. The
        // customers file is not expected to change during the load; like any mmap
        // reader, truncation by another process during the load could fault.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| self.io(e))?;
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Sequential);
        read_mapped(&self.path, &map, self.chunk, make, cancelled)
    }
}

/// Where a row starts, as an order key: the range it was parsed in and its line
/// within the range. Keys order rows as the file does; [`LineMap::line`] turns one
/// into the 1-based line number errors name.
pub fn row_key(range: usize, local_line: u64) -> u64 {
    (range as u64) << 40 | local_line
}

/// Turns row keys into line numbers, once the whole file was read.
#[derive(Debug, Default)]
pub struct LineMap {
    /// The line each range starts on.
    starts: Vec<u64>,
}

impl LineMap {
    /// The map of a source whose keys are line numbers already.
    pub fn identity() -> LineMap {
        LineMap { starts: vec![0] }
    }

    /// The 1-based line of the row with this key.
    pub fn line(&self, key: u64) -> u64 {
        let range = (key >> 40) as usize;
        self.starts.get(range).copied().unwrap_or(1) + (key & ((1 << 40) - 1))
    }
}

/// Parsing state just after a `\n`: between records, or inside a quoted field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    Between,
    InQuotes,
}

/// What reading a chunk from one start state found: the state at its end, and
/// where its first record starts (`None` if none does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Spec {
    end: At,
    first: Option<usize>,
}

fn is_term(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

/// The first position at or after `at` that is not a line end.
fn skip_terms(b: &[u8], mut at: usize) -> usize {
    while at < b.len() && is_term(b[at]) {
        at += 1;
    }
    at
}

/// Reads `b` from `start` as `csv-core` does, tracking only what decides record
/// boundaries: quoted fields open at a `"` that starts a field (at a record's
/// start, or after `,` or a line end), close at a `"` not followed by another
/// (`""` is an escaped quote), and a line end outside quotes ends a record (a
/// `"` inside an unquoted field is a literal). Returns the state after the last
/// byte and the first record start.
fn speculate(b: &[u8], start: At) -> Spec {
    let mut quoted = start == At::InQuotes;
    let mut first = match start {
        At::Between => Some(skip_terms(b, 0)).filter(|&p| p < b.len()),
        At::InQuotes => None,
    };
    let mut i = 0;
    // A quote at `q` opens a field when a field starts there.
    let opens = |q: usize| q == 0 || matches!(b[q - 1], b',' | b'\r' | b'\n');
    loop {
        if quoted {
            let Some(j) = memchr::memchr(b'"', &b[i..]) else {
                return Spec {
                    end: At::InQuotes,
                    first,
                };
            };
            let q = i + j;
            if b.get(q + 1) == Some(&b'"') {
                i = q + 2; // an escaped quote
            } else {
                quoted = false;
                i = q + 1;
            }
        } else if first.is_none() {
            // After the quoted field this chunk started in: the first line end
            // outside quotes ends that record, and the next record starts after it.
            let Some(j) = memchr::memchr3(b'"', b'\r', b'\n', &b[i..]) else {
                return Spec {
                    end: At::Between,
                    first,
                };
            };
            let p = i + j;
            if b[p] == b'"' {
                quoted = opens(p);
                i = p + 1;
            } else {
                i = skip_terms(b, p);
                if i == b.len() {
                    return Spec {
                        end: At::Between,
                        first,
                    };
                }
                first = Some(i);
            }
        } else {
            let Some(j) = memchr::memchr(b'"', &b[i..]) else {
                return Spec {
                    end: At::Between,
                    first,
                };
            };
            let q = i + j;
            quoted = opens(q);
            i = q + 1;
        }
    }
}

/// Reads the header record at the start of `bytes` (skipping blank lines and a
/// UTF-8 BOM, as the `csv` crate does): the columns, the header's line, and where
/// the body starts.
fn header(path: &Path, bytes: &[u8]) -> Result<([usize; 3], u64, usize), CustomersError> {
    let mut rdr = csv_core::Reader::new();
    let (mut out, mut ends) = (vec![0u8; 1024], vec![0usize; 64]);
    // The BOM first, then blank lines: a file of only those is empty, as the
    // `csv` crate reads it (found by fuzzing: a lone BOM was "no account_id
    // column" here).
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    if skip_terms(bytes, bom) == bytes.len() {
        return Err(CustomersError::Empty(path.to_path_buf()));
    }
    // csv-core drops the BOM itself, and the line is counted as the `csv` crate
    // counts it (from the BOM: found by fuzzing, counting after it named a header
    // after `BOM\n` line 2 where the stream reader says 1).
    let start = skip_terms(bytes, 0);
    let line = 1 + memchr::memchr_iter(b'\n', &bytes[..start]).count() as u64;
    let (mut pos, mut o, mut e) = (start, 0, 0);
    loop {
        if e == ends.len() {
            ends.resize(ends.len() * 2, 0);
        }
        let (res, nin, nout, nend) = rdr.read_record(&bytes[pos..], &mut out[o..], &mut ends[e..]);
        pos += nin;
        o += nout;
        e += nend;
        match res {
            csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break,
            // At the end of the bytes the next call passes an empty input, which
            // csv-core reads as the end of the file (and may still need room for
            // the last field's end: found by fuzzing, a header of 65 fields and
            // no line end tripped an assertion here, and lost its last field
            // without one).
            csv_core::ReadRecordResult::InputEmpty => {}
            csv_core::ReadRecordResult::OutputFull => out.resize(out.len() * 2, 0),
            csv_core::ReadRecordResult::OutputEndsFull => ends.resize(ends.len() * 2, 0),
        }
    }
    let fields: Vec<&[u8]> = (0..e)
        .map(|i| &out[if i == 0 { 0 } else { ends[i - 1] }..ends[i]])
        .collect();
    let cols = columns(path, line, fields.iter().copied())?;
    Ok((cols, line, pos))
}

/// Finds the three columns among the header's fields.
fn columns<'h>(
    path: &Path,
    line: u64,
    header: impl Iterator<Item = &'h [u8]> + Clone,
) -> Result<[usize; 3], CustomersError> {
    let mut cols = [0usize; 3];
    for (slot, name) in cols.iter_mut().zip(COLUMNS) {
        *slot = header
            .clone()
            .position(|h| {
                let h = h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h);
                h.trim_ascii().eq_ignore_ascii_case(name.as_bytes())
            })
            .ok_or(CustomersError::MissingColumn {
                path: path.to_path_buf(),
                line,
                column: name,
            })?;
    }
    Ok(cols)
}

/// The first row error of a load (by file order) and the key it was found at.
struct FirstError {
    key: AtomicU64,
    error: Mutex<Option<(u64, RowError)>>,
}

impl FirstError {
    fn new() -> FirstError {
        FirstError {
            key: AtomicU64::new(u64::MAX),
            error: Mutex::new(None),
        }
    }

    fn record(&self, key: u64, error: RowError) {
        self.key.fetch_min(key, Ordering::Relaxed);
        let mut e = self.error.lock().unwrap_or_else(|p| p.into_inner());
        if e.as_ref().is_none_or(|(k, _)| key < *k) {
            *e = Some((key, error));
        }
    }

    /// Whether rows from `key` on can no longer change the outcome.
    fn past(&self, key: u64) -> bool {
        key > self.key.load(Ordering::Relaxed)
    }
}

fn read_mapped(
    path: &Path,
    map: &Mmap,
    chunk: usize,
    make: &SinkFactory<'_>,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<LineMap, CustomersError> {
    let bytes = &map[..];
    let (cols, _, body_start) = header(path, bytes)?;
    let body = &bytes[body_start..];
    let release = bytes.len() >= RELEASE_MIN;
    let threads = rayon::current_num_threads().max(1);
    let mut sinks: Vec<Box<dyn RowSink + '_>> = (0..threads).map(|_| make()).collect();
    let first_error = FirstError::new();
    // Record starts found so far (one a chunk at most), the reading state at the
    // next chunk, the ranges parsed so far and their line counts.
    let mut starts: Vec<usize> = Vec::new();
    let mut at = At::Between;
    let mut lines: Vec<u64> = Vec::new();
    // The file in windows of chunks, each read twice while it is in the cache: a
    // pass over the whole file for quotes and then one to parse it read every
    // byte from memory twice, and mapped every page twice (a sixth of reading
    // 20M customers; profiled).
    let total = chunk_count(body.len(), chunk);
    let per_window = (WINDOW / chunk).max(2 * threads);
    for first in (0..total).step_by(per_window) {
        let window = first..(first + per_window).min(total);
        let last = window.end == total;
        // 1. Each chunk read for its quotes, from both possible start states. Each
        // task finds its own chunk's bounds: finding them all first would touch
        // the file every `chunk` bytes, and where the page cache holds 2 MiB
        // folios each touch maps a whole folio.
        let specs: Vec<(std::ops::Range<usize>, Spec, Spec)> = window
            .into_par_iter()
            .map(|k| {
                let r = chunk_range(body, k, chunk);
                let b = &body[r.clone()];
                let specs = if memchr::memchr(b'"', b).is_none() {
                    let first = Some(skip_terms(b, 0)).filter(|&p| p < b.len());
                    (
                        Spec {
                            end: At::Between,
                            first,
                        },
                        Spec {
                            end: At::InQuotes,
                            first: None,
                        },
                    )
                } else {
                    (speculate(b, At::Between), speculate(b, At::InQuotes))
                };
                (r, specs.0, specs.1)
            })
            .filter(|(r, _, _)| !r.is_empty())
            .collect();
        // 2. In order, the right reading of each chunk: the record boundaries.
        for (r, between, inside) in &specs {
            let s = if at == At::Between { between } else { inside };
            if let Some(f) = s.first {
                starts.push(r.start + f);
            }
            at = s.end;
        }
        if cancelled() {
            return Err(CustomersError::Interrupted);
        }
        // 3. The ranges whose end is known parsed in parallel, handed out in
        // order, each worker (and sink) taking the next; each counts its own
        // line ends. A range ends where the next starts: the last one found
        // waits for the next window, unless this is the last.
        let done = lines.len();
        let ready = if last {
            starts.len()
        } else {
            starts.len().saturating_sub(1)
        };
        let ranges: Vec<std::ops::Range<usize>> = (done..ready)
            .map(|i| starts[i]..starts.get(i + 1).copied().unwrap_or(body.len()))
            .collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let counts: Vec<AtomicU64> = ranges.iter().map(|_| AtomicU64::new(0)).collect();
        sinks.par_iter_mut().for_each(|sink| loop {
            let j = next.fetch_add(1, Ordering::Relaxed);
            let Some(r) = ranges.get(j) else { break };
            let i = done + j;
            if !first_error.past(row_key(i, 0)) && !cancelled() {
                let n = parse_range(&body[r.clone()], i, &cols, &mut **sink, &first_error);
                counts[j].store(n, Ordering::Relaxed);
                if release {
                    // SAFETY: `map` is a read-only shared mapping of the customers
                    // file.
                    unsafe {
                        crate::mem::release_file_pages(
                            map,
                            body_start + r.start..body_start + r.end,
                        )
                    };
                }
            }
            sink.end_range(i);
        });
        lines.extend(counts.into_iter().map(AtomicU64::into_inner));
        if cancelled() {
            return Err(CustomersError::Interrupted);
        }
        if first_error.key.load(Ordering::Relaxed) != u64::MAX {
            // A bad row: nothing after this window can change the outcome.
            break;
        }
    }
    for sink in sinks {
        sink.finish();
    }
    if cancelled() {
        return Err(CustomersError::Interrupted);
    }
    // Line numbers: the line of the first record, then each range's count.
    let mut map_lines = LineMap::default();
    let first = body_start + starts.first().copied().unwrap_or(0);
    let mut line = 1 + memchr::memchr_iter(b'\n', &bytes[..first]).count() as u64;
    for n in &lines {
        map_lines.starts.push(line);
        line += n;
    }
    let e = first_error
        .error
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    match e {
        Some((key, error)) => Err(CustomersError::Row {
            path: path.to_path_buf(),
            line: map_lines.line(key),
            error,
        }),
        None => Ok(map_lines),
    }
}

/// Parses the records of one range (which starts at a record's first byte and ends
/// where the next range's first record starts, or at the end of the file) into
/// `sink`; returns how many line ends it holds.
///
/// Records are split at `\n` and `,` until the first `"` or bare `\r` (nearly
/// always: never), and read by `csv-core` from the line that holds it (a line that
/// starts a range, or follows a plain line, starts a record). Looking for those
/// bytes in the same pass as the commas saves a pass over the file: a separate
/// search cost a twelfth of reading 20M customers (profiled).
fn parse_range(
    b: &[u8],
    range: usize,
    cols: &[usize; 3],
    sink: &mut dyn RowSink,
    first_error: &FirstError,
) -> u64 {
    // Which cell each of the first fields fills (`NONE`: none).
    const NONE: u8 = u8::MAX;
    let mut slot = [NONE; 64];
    for (i, &c) in cols.iter().enumerate() {
        if let Some(s) = slot.get_mut(c) {
            *s = i as u8;
        }
    }
    let far = cols.iter().any(|&c| c >= slot.len());
    let mut batch = Batch::new();
    let mut line = 0u64;
    let mut cells = [None; 3];
    let (mut line_start, mut cell_start, mut field) = (0usize, 0usize, 0usize);
    let mut stops = Stops::new(b);
    loop {
        let stop = stops.next();
        let at = stop.unwrap_or(b.len());
        if stop.is_none() && line_start >= b.len() {
            break;
        }
        let newline = stop.is_none() || b[at] == b'\n';
        if newline && stops.trouble < at {
            // This line has a quote or a bare `\r`: csv-core from here on.
            if !batch.flush(sink, first_error) {
                return line;
            }
            let rest = &b[line_start..];
            return line + parse_quoted(rest, range, line, cols, sink, first_error);
        }
        // A line's `\r\n` end belongs to no field.
        let end = if newline && at > cell_start && b[at - 1] == b'\r' {
            at - 1
        } else {
            at
        };
        match slot.get(field) {
            Some(&s) if s != NONE => cells[s as usize] = Some(&b[cell_start..end]),
            Some(_) => {}
            None if far => {
                for (c, &col) in cells.iter_mut().zip(cols) {
                    if col == field {
                        *c = Some(&b[cell_start..end]);
                    }
                }
            }
            None => {}
        }
        if !newline {
            field += 1;
            cell_start = at + 1;
            continue;
        }
        let here = line;
        line += u64::from(stop.is_some());
        let raw = &b[line_start..end];
        let blank = field == 0 && is_blank(1, raw);
        if !blank {
            let key = row_key(range, here);
            let ascii = stops.ascii(line_start, at);
            // `validate` trusts it to skip UTF-8 checks.
            debug_assert_eq!(ascii, b[line_start..at].is_ascii());
            // The range's line count is not needed past its first error.
            if !batch.push(RawRow { key, cells, ascii }, sink, first_error) {
                return line;
            }
        }
        cells = [None; 3];
        field = 0;
        line_start = at + 1;
        cell_start = at + 1;
        if stop.is_none() {
            break;
        }
    }
    batch.flush(sink, first_error);
    line
}

/// Rows parsed and not yet handed over ([`RowSink::rows`]).
struct Batch<'a> {
    rows: [RawRow<'a>; Batch::LEN],
    len: usize,
}

impl<'a> Batch<'a> {
    const LEN: usize = 64;

    fn new() -> Batch<'a> {
        let empty = RawRow {
            key: 0,
            cells: [None; 3],
            ascii: true,
        };
        Batch {
            rows: [empty; Batch::LEN],
            len: 0,
        }
    }

    /// Adds a row, handing the batch over when full; `false` once a row was bad
    /// (the error is recorded).
    #[inline]
    fn push(&mut self, row: RawRow<'a>, sink: &mut dyn RowSink, first_error: &FirstError) -> bool {
        self.rows[self.len] = row;
        self.len += 1;
        self.len < Batch::LEN || self.flush(sink, first_error)
    }

    /// Hands the rows over; `false` if one was bad (the error is recorded).
    fn flush(&mut self, sink: &mut dyn RowSink, first_error: &FirstError) -> bool {
        let rows = &self.rows[..std::mem::take(&mut self.len)];
        if rows.is_empty() {
            return true;
        }
        match sink.rows(rows) {
            Ok(()) => true,
            Err((key, e)) => {
                first_error.record(key, e);
                false
            }
        }
    }
}

/// How far ahead of the block being classified [`Stops`] asks for the bytes.
const AHEAD: usize = 1024;

/// The positions of the commas and line feeds of a buffer, in order: each 64-byte
/// block classified at once into bitmasks (SSE2 compares), then its bits taken in
/// turn. The same compares find the first `"` or bare `\r` of the blocks read.
struct Stops<'a> {
    b: &'a [u8],
    /// Start of the block `mask` describes.
    base: usize,
    /// The block's stops not yet taken.
    mask: u64,
    /// The first `"`, or `\r` not followed by `\n`, of the blocks classified so
    /// far (`usize::MAX`: none).
    trouble: usize,
    /// The bytes of the current block above 0x7F.
    high: u64,
    /// One past the last byte above 0x7F of the blocks before it (0: none).
    high_before: usize,
}

impl<'a> Stops<'a> {
    fn new(b: &'a [u8]) -> Stops<'a> {
        let mut s = Stops {
            b,
            base: 0,
            mask: 0,
            trouble: usize::MAX,
            high: 0,
            high_before: 0,
        };
        if !b.is_empty() {
            s.classify();
        }
        s
    }

    /// Classifies the block at `base`.
    #[inline]
    fn classify(&mut self) {
        if let Some(ahead) = self.b.get(self.base + AHEAD) {
            crate::mem::prefetch(ahead);
        }
        let (stops, odd, high) = block_masks(self.b, self.base);
        self.mask = stops;
        self.high = high;
        if odd != 0 && self.trouble == usize::MAX {
            self.note_trouble(odd);
        }
    }

    /// Whether `b[start..end]` is ASCII, for an `end` in the current block or at
    /// the end of the buffer (where [`Stops::next`] says `None`): a row's check
    /// from the masks, not another pass over its bytes (a fifth of the plain
    /// parser's time, profiled).
    #[inline]
    fn ascii(&self, start: usize, end: usize) -> bool {
        if self.high_before > start {
            return false;
        }
        if self.high == 0 {
            return true;
        }
        let lo = start.saturating_sub(self.base);
        let hi = end - self.base;
        let within = (u64::MAX << lo) & !(u64::MAX.checked_shl(hi as u32).unwrap_or(0));
        self.high & within == 0
    }

    /// The first real trouble among the `"` and `\r` of the block at `base`.
    #[cold]
    fn note_trouble(&mut self, mut odd: u64) {
        while odd != 0 {
            let at = self.base + odd.trailing_zeros() as usize;
            odd &= odd - 1;
            if self.b[at] == b'"' || self.b.get(at + 1) != Some(&b'\n') {
                self.trouble = at;
                return;
            }
        }
    }
}

impl Iterator for Stops<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            if self.high != 0 {
                self.high_before = self.base + 64 - self.high.leading_zeros() as usize;
                self.high = 0;
            }
            self.base += 64;
            if self.base >= self.b.len() {
                return None;
            }
            self.classify();
        }
        let at = self.base + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(at)
    }
}

/// The stops (`,` and `\n`), the `"` and `\r`, and the bytes above 0x7F of the 64
/// bytes at `base` (zero past the end), as bitmasks.
#[inline]
fn block_masks(b: &[u8], base: usize) -> (u64, u64, u64) {
    match b.get(base..base + 64) {
        Some(block) => classify(block.try_into().expect("64 bytes")),
        None => {
            let rest = &b[base..];
            let mut block = [0u8; 64];
            block[..rest.len()].copy_from_slice(rest);
            classify(&block)
        }
    }
}

/// Bit `i` set where byte `i` of `block` is `,` or `\n`; where it is `"` or `\r`;
/// where it is above 0x7F.
#[inline]
fn classify(block: &[u8; 64]) -> (u64, u64, u64) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        let (mut stops, mut odd, mut high) = (0u64, 0u64, 0u64);
        for k in 0..4 {
            // SAFETY: SSE2 is part of the x86_64 baseline; the unaligned load
            // reads `block[16 * k..16 * k + 16]`, inside the 64-byte block.
            let (s, o, h) = unsafe {
                let v = _mm_loadu_si128(block.as_ptr().add(16 * k) as *const __m128i);
                let eq = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
                (
                    _mm_movemask_epi8(_mm_or_si128(eq(b','), eq(b'\n'))) as u16,
                    _mm_movemask_epi8(_mm_or_si128(eq(b'"'), eq(b'\r'))) as u16,
                    _mm_movemask_epi8(v) as u16,
                )
            };
            stops |= u64::from(s) << (16 * k);
            odd |= u64::from(o) << (16 * k);
            high |= u64::from(h) << (16 * k);
        }
        (stops, odd, high)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        block
            .iter()
            .enumerate()
            .fold((0, 0, 0), |(s, o, h), (i, &c)| {
                (
                    s | u64::from(c == b',' || c == b'\n') << i,
                    o | u64::from(c == b'"' || c == b'\r') << i,
                    h | u64::from(c > 0x7F) << i,
                )
            })
    }
}

/// Records from a record start in a range (whose `first_line` is `b`'s first),
/// with quotes or bare `\r`: read by `csv-core` with the `csv` crate's settings.
/// Returns the line ends `b` holds.
fn parse_quoted(
    b: &[u8],
    range: usize,
    first_line: u64,
    cols: &[usize; 3],
    sink: &mut dyn RowSink,
    first_error: &FirstError,
) -> u64 {
    use csv_core::ReadRecordResult as R;
    let mut rdr = csv_core::Reader::new();
    let (mut out, mut ends) = (vec![0u8; 4096], vec![0usize; 64]);
    // csv-core drops a UTF-8 BOM at the start of its first input; this range is
    // not the file's start, so a first call over a line end (skipped between
    // records) spends that rule.
    let _ = rdr.read_record(b"\n", &mut out, &mut ends);
    let mut line = 0u64;
    let mut pos = 0;
    loop {
        while pos < b.len() && is_term(b[pos]) {
            line += u64::from(b[pos] == b'\n');
            pos += 1;
        }
        if pos >= b.len() {
            break;
        }
        let here = line;
        let (mut o, mut e) = (0, 0);
        loop {
            if e == ends.len() {
                ends.resize(ends.len() * 2, 0);
            }
            if o == out.len() {
                out.resize(out.len() * 2, 0);
            }
            let (res, nin, nout, nend) = rdr.read_record(&b[pos..], &mut out[o..], &mut ends[e..]);
            line += memchr::memchr_iter(b'\n', &b[pos..pos + nin]).count() as u64;
            pos += nin;
            o += nout;
            e += nend;
            match res {
                R::Record | R::End => break,
                R::InputEmpty if pos >= b.len() => {
                    // The file's last record, without a line end.
                    let (_, _, _, nend) = rdr.read_record(&[], &mut out[o..], &mut ends[e..]);
                    e += nend;
                    break;
                }
                R::InputEmpty => {}
                R::OutputFull => out.resize(out.len() * 2, 0),
                R::OutputEndsFull => ends.resize(ends.len() * 2, 0),
            }
        }
        let field = |i: usize| -> Option<&[u8]> {
            (i < e).then(|| &out[if i == 0 { 0 } else { ends[i - 1] }..ends[i]])
        };
        if is_blank(e, field(0).unwrap_or_default()) {
            continue;
        }
        let cells = cols.map(field);
        let key = row_key(range, first_line + here);
        if let Err(err) = sink.row(RawRow {
            key,
            cells,
            ascii: false,
        }) {
            first_error.record(key, err);
            break;
        }
    }
    line
}

/// A file that cannot be mapped: read as one stream by the `csv` crate, on one
/// thread.
pub fn read_stream(
    path: &Path,
    reader: impl Read,
    make: &SinkFactory<'_>,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<LineMap, CustomersError> {
    let p = || path.to_path_buf();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(LineTracker::new(reader));
    let io = |e: csv::Error| CustomersError::Io {
        path: p(),
        message: e.to_string(),
    };
    let mut record = csv::ByteRecord::new();
    // A stream stopped by a signal ends wherever it was cut: that is the stop,
    // not a bad row.
    let stop = |e: CustomersError| {
        if cancelled() {
            CustomersError::Interrupted
        } else {
            e
        }
    };
    if !rdr
        .read_byte_record(&mut record)
        .map_err(io)
        .map_err(stop)?
    {
        return Err(stop(CustomersError::Empty(p())));
    }
    let header_line = rdr
        .get_ref()
        .line_of(record.position().map_or(0, |pos| pos.byte()));
    let cols = columns(path, header_line, record.iter())?;
    let mut sink = make();
    let mut result = Ok(());
    let mut n = 0u64;
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                result = Err(io(e));
                break;
            }
        }
        let at = record.position().map_or(0, |pos| pos.byte());
        let line = rdr.get_ref().line_of(at);
        n += 1;
        if n.is_multiple_of(65536) && cancelled() {
            result = Err(CustomersError::Interrupted);
            break;
        }
        if is_blank(record.len(), &record[0]) {
            continue;
        }
        let cells = cols.map(|c| record.get(c));
        // One range: the key is the line itself (range 0 starts on line 0).
        if let Err(error) = sink.row(RawRow {
            key: line,
            cells,
            ascii: false,
        }) {
            result = Err(CustomersError::Row {
                path: p(),
                line,
                error,
            });
            break;
        }
    }
    sink.end_range(0);
    sink.finish();
    result.map_err(stop).map(|()| LineMap::identity())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::Arc;

    type Rows = Vec<(u64, [Option<Vec<u8>>; 3])>;

    /// Collects rows (key, cells) as owned bytes.
    struct Collect {
        rows: Rows,
        all: Arc<Mutex<Rows>>,
    }

    impl RowSink for Collect {
        fn row(&mut self, row: RawRow<'_>) -> Result<(), RowError> {
            // What `validate` trusts to skip its UTF-8 checks.
            assert!(!row.ascii || row.cells.iter().flatten().all(|c| c.is_ascii()));
            if row.cells[0] == Some(b"bad") {
                return Err(RowError::EmptyField("account_id"));
            }
            self.rows
                .push((row.key, row.cells.map(|c| c.map(<[u8]>::to_vec))));
            Ok(())
        }

        fn end_range(&mut self, _range: usize) {}

        fn finish(self: Box<Self>) {
            self.all.lock().unwrap().extend(self.rows);
        }
    }

    /// Reads `text` with the mapped reader in `chunk`-byte chunks: rows with their
    /// lines, in file order, or the error's text.
    fn mapped(text: &[u8], chunk: usize) -> Result<Rows, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        std::fs::write(&path, text).unwrap();
        let all = Arc::new(Mutex::new(Vec::new()));
        let make = || -> Box<dyn RowSink> {
            Box::new(Collect {
                rows: Vec::new(),
                all: Arc::clone(&all),
            })
        };
        let src = CsvFile::new(&path).with_chunk(chunk);
        let r = src
            .read(&make, &|| false)
            .map_err(|e| e.to_string().replace(&*path.to_string_lossy(), "c.csv"));
        let mut rows = std::mem::take(&mut *all.lock().unwrap());
        rows.sort_by_key(|r| r.0);
        r.map(|lines| rows.into_iter().map(|(k, c)| (lines.line(k), c)).collect())
    }

    /// The same through the `csv` crate, the reference.
    fn streamed(text: &[u8]) -> Result<Rows, String> {
        let all = Arc::new(Mutex::new(Vec::new()));
        let make = || -> Box<dyn RowSink> {
            Box::new(Collect {
                rows: Vec::new(),
                all: Arc::clone(&all),
            })
        };
        let r = read_stream(Path::new("c.csv"), text, &make, &|| false);
        let rows = std::mem::take(&mut *all.lock().unwrap());
        r.map(|lines| rows.into_iter().map(|(k, c)| (lines.line(k), c)).collect())
            .map_err(|e| e.to_string())
    }

    /// Found by fuzzing: a lone BOM was an empty file to the stream reader but a
    /// header without columns to the mapped one.
    #[test]
    fn a_bom_and_blank_lines_alone_are_an_empty_file_to_both_readers() {
        for text in [
            &b"\xEF\xBB\xBF"[..],
            b"\xEF\xBB\xBF\n\r\n",
            b"\xEF\xBB\xBF\n\naccount_id,login,password_hash\n1,x\n",
            b"\xEF\xBB\xBF\n\0id,login,password_hash\r\n",
        ] {
            assert_eq!(mapped(text, 4), streamed(text), "{text:?}");
        }
        assert!(streamed(b"\xEF\xBB\xBF")
            .unwrap_err()
            .contains("empty file"));
    }

    /// Found by fuzzing: the header's last field, read at the end of the file
    /// once its field ends filled their buffer.
    #[test]
    fn a_wide_header_without_a_line_end_keeps_its_last_field() {
        for n in [63, 64, 65, 127, 128, 129] {
            let mut text: Vec<u8> = (0..n).flat_map(|i| format!("x{i},").into_bytes()).collect();
            text.extend(b"account_id,login,password_hash");
            assert_eq!(mapped(&text, 4), streamed(&text), "{n} fields before");
            assert!(mapped(&text, 4).is_ok(), "{n}");
        }
    }

    #[test]
    fn speculation_finds_boundaries() {
        let b = b"a,\"x\ny\",c\nd,e\n";
        assert_eq!(
            speculate(b, At::Between),
            Spec {
                end: At::Between,
                first: Some(0)
            }
        );
        // Started inside the quote: the record that ends at the second `\n` was
        // the quoted field's, the next starts at `d`.
        let inside = speculate(&b[5..], At::InQuotes);
        assert_eq!(inside.first.map(|f| f + 5), Some(10));
        assert_eq!(inside.end, At::Between);
        // A quote inside an unquoted field is a literal.
        assert_eq!(speculate(b"ab\"c\nd\n", At::Between).end, At::Between);
        assert_eq!(speculate(b"\"ab\nc\n", At::Between).end, At::InQuotes);
    }

    /// Plain rows, then a quoted field holding a comma and a line end, then plain
    /// rows again, all in one range: the plain parser hands the rest to csv-core
    /// at the quoted row's line.
    #[test]
    fn a_quote_after_plain_rows_is_read_by_csv_core_from_its_line() {
        let mut text = String::from("account_id,login,password_hash\n");
        for i in 0..40 {
            text.push_str(&format!("{i},user{i}@example.com,{i:040x}\r\n"));
        }
        text.push_str("q,\"a,b\nc\",h\n");
        for i in 40..50 {
            text.push_str(&format!("{i},user{i}@example.com,h\n"));
        }
        let want = streamed(text.as_bytes()).unwrap();
        assert_eq!(want.len(), 51);
        assert_eq!(want[40].1[1].as_deref(), Some(&b"a,b\nc"[..]));
        assert_eq!(mapped(text.as_bytes(), 1 << 20), Ok(want));
    }

    #[test]
    fn samples_read_alike() {
        let text = "\u{feff}account_id,login,password_hash\r\n\r\n1,a,h\r\n\"2\",\"b\nc\",\"h\"\"x\"\r\n  \n3,d\r4,e,f\n\"5\"x,y,z";
        let want = streamed(text.as_bytes()).unwrap();
        assert_eq!(want.len(), 5, "{want:?}");
        for chunk in 1..text.len() + 2 {
            assert_eq!(
                mapped(text.as_bytes(), chunk),
                Ok(want.clone()),
                "chunk {chunk}"
            );
        }
    }

    /// Bytes that exercise the CSV grammar: quotes, doubled quotes, commas, every
    /// line end, blank lines, the value that makes the test sink fail.
    fn csvish() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            4 => Just(b",".to_vec()),
            4 => Just(b"\"".to_vec()),
            3 => Just(b"\n".to_vec()),
            1 => Just(b"\r\n".to_vec()),
            1 => Just(b"\r".to_vec()),
            1 => Just(b"\"\"".to_vec()),
            3 => "[a-c ]{1,4}".prop_map(String::into_bytes),
            1 => Just(b"bad".to_vec()),
            1 => Just("\u{feff}".as_bytes().to_vec()),
        ];
        (
            prop_oneof![
                Just("account_id,login,password_hash\n"),
                Just("password_hash,\"login\",account_id\r\n"),
                Just("\n\naccount_id,login,password_hash"),
                Just("\u{feff}account_id,login,password_hash\n"),
            ],
            proptest::collection::vec(piece, 0..60),
        )
            .prop_map(|(h, body)| [h.as_bytes().to_vec(), body.concat()].concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// The parallel reader reads exactly what the `csv` crate reads: the same
        /// rows with the same lines, or the same error, however the file is cut.
        #[test]
        fn parallel_reader_equals_the_csv_crate(text in csvish(), chunk in 1usize..48) {
            prop_assert_eq!(mapped(&text, chunk), streamed(&text));
        }

        /// Long plain lines with a rare quote or `\r`: the plain parser's 64-byte
        /// blocks (a `\r\n` across two of them) and its hand-over to csv-core in
        /// the middle of a range.
        #[test]
        fn plain_lines_then_quotes_equal_the_csv_crate(
            text in (
                Just(b"account_id,login,password_hash\n".to_vec()),
                proptest::collection::vec(prop_oneof![
                    6 => "[a-z0-9@.]{1,90}".prop_map(String::into_bytes),
                    1 => "[a-zé€]{1,8}".prop_map(String::into_bytes),
                    1 => Just(vec![0xFF]),
                    4 => Just(b",".to_vec()),
                    3 => Just(b"\n".to_vec()),
                    2 => Just(b"\r\n".to_vec()),
                    1 => Just(b"\r".to_vec()),
                    1 => Just(b"\"".to_vec()),
                ], 0..80),
            ).prop_map(|(h, body)| [h, body.concat()].concat()),
            chunk in 1usize..600,
        ) {
            prop_assert_eq!(mapped(&text, chunk), streamed(&text));
        }
    }
}
