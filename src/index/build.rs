//! Building an index from customer rows, in memory bounded by a setting.
//!
//! Two passes, the way a database builds a hash join that may not fit (DuckDB's
//! radix partitioning is the model):
//!
//! 1. The customers are read in parallel ([`CustomerSource`]), in ranges. Each row
//!    is validated, counted into the customers [`Digest`] (when one is wanted), its `account_id`
//!    recorded for the duplicate check ([`IdCheck`]), its login hashed, and its
//!    account entry written once, in file order, to the records region (each range
//!    into a buffer of its own, handed over in range order: an index file's records
//!    go straight to the file). Only a 16-byte pair — the login hash and where the
//!    entry is — goes to the partition of the hash's top bits ([`crate::spill`]):
//!    in memory while the budget allows, spilled to unlinked temporary files beyond
//!    it. A [`LoginFilter`] may keep only the rows whose login a dump names (the
//!    rest are still validated and counted, their hash digits checked, not decoded).
//! 2. The pairs' partitions are taken in hash order, sorted by hash (then file
//!    order) and swept once, the next one sorted while one is swept. Because the home slot and the Bloom word of
//!    a hash are monotonic in it ([`super::filter`]), the sweep writes the slot
//!    table (each account at the first free slot at or after its home: linear
//!    probing, laid out in order) and the Bloom filter front to back. A partition
//!    larger than its share of the budget is split again by the next bits.
//!
//! The same rows give the same bytes whatever the budget, the partition count or
//! the thread count. Peak memory is the budget plus a few fixed buffers (an index
//! kept in memory is, of course, in memory); the number of customers only changes
//! how much is spilled.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use super::file::{self, Header, MappedIndex, HEADER_LEN};
use super::filter::{bloom_mask, bloom_word, bloom_words, fastrange, fingerprint, home_slots};
use super::layout::{entry_at, put_entry, MAX_RECORDS, OFF_BITS};
use super::pieces::PieceHasher;
use super::CustomerIndex;
use crate::customers::ids::{IdCheck, IdWriter};
use crate::customers::{
    range_of, CustomerSource, CustomersError, Digest, Fields, RawRow, RowError, RowSink,
};
use crate::login;
use crate::spill::{partitions_for, Partitions, Writer};
use crate::verify::limits::{CostLimits, OverLimit};

/// How a build may use the machine.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Bytes of memory the build may hold: partitions, sorting, buffers.
    pub memory: usize,
    /// Where spill files go (they are unlinked at creation).
    pub tmp_dir: PathBuf,
    /// Whether to compute the customers' [`Digest`] (hashing every field of every
    /// row): an index file keeps it whatever this says, a scan needs it only for
    /// `--state`.
    pub digest: bool,
    /// The most one check may cost: rows whose hash asks for more are indexed but
    /// set aside (counted and named in [`BuildReport::set_aside`]).
    pub limits: CostLimits,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            memory: default_memory(),
            tmp_dir: std::env::temp_dir(),
            digest: true,
            limits: CostLimits::default(),
        }
    }
}

/// The default memory budget: a quarter of physical memory, at most 2 GiB, at
/// least 64 MiB. A 300M-customer build runs in it (spilling most of its pairs
/// through the page cache); more memory saves little.
pub fn default_memory() -> usize {
    let ram = physical_memory().unwrap_or(8 << 30);
    (ram / 4).clamp(64 << 20, 2 << 30) as usize
}

/// Physical memory in bytes, if the system says.
fn physical_memory() -> Option<u64> {
    #[cfg(unix)]
    {
        // SAFETY: sysconf only reads system configuration values.
        let (pages, size) = unsafe {
            (
                libc::sysconf(libc::_SC_PHYS_PAGES),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        if pages > 0 && size > 0 {
            return Some(pages as u64 * size as u64);
        }
    }
    None
}

/// Where the index goes.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// Kept in memory.
    Memory,
    /// An `.lmx` file at this path, written atomically; the result maps it.
    File(&'a Path),
    /// An unlinked temporary `.lmx` file in the build's temporary directory, mapped
    /// (an index too big for memory, for one run).
    TempFile,
}

/// Why an index could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The customers could not be read, or a row is bad.
    #[error(transparent)]
    Customers(#[from] CustomersError),
    /// A spill file or the index file could not be written or read.
    #[error("{path}: {cause}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause (not a `source`: the message already says it, once).
        cause: io::Error,
    },
    /// The written index could not be opened again.
    #[error(transparent)]
    Index(#[from] file::LmxError),
    /// More record bytes than a slot can address.
    #[error("too many customers for one index (over {MAX_RECORDS} bytes of records)")]
    TooLarge,
}

/// What a build did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BuildReport {
    /// Customer rows read and validated.
    pub rows: u64,
    /// Accounts in the index (fewer than `rows` behind a [`LoginFilter`]).
    pub accounts: u64,
    /// Distinct normalised logins in the index.
    pub groups: u64,
    /// Bytes of the index (its file, or its regions in memory).
    pub index_bytes: u64,
    /// Bytes written to spill files.
    pub spilled: u64,
    /// The customers' digest (all rows read, filtered or not), if computed
    /// ([`BuildOptions::digest`]).
    pub digest: Option<Digest>,
    /// Seconds reading and checking the rows (pass 1, the duplicate check included).
    pub read_seconds: f64,
    /// Seconds sorting and writing the index (pass 2).
    pub write_seconds: f64,
    /// Rows whose stored hash costs more to check than [`BuildOptions::limits`]
    /// allow: how many, and the first [`SET_ASIDE_NAMED`] by line.
    pub set_aside: SetAside,
}

/// Set-aside rows named by line in a [`BuildReport`]; the rest are counted.
pub const SET_ASIDE_NAMED: usize = 20;

/// Customer rows whose hash is over a cost limit: indexed (a dump naming one lists
/// it for review) but never checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SetAside {
    /// How many.
    pub count: u64,
    /// The first ones, by row key while reading and by line once read, in order.
    pub first: Vec<(u64, OverLimit)>,
}

impl SetAside {
    fn note(&mut self, key: u64, over: OverLimit) {
        self.count += 1;
        if self.first.len() < SET_ASIDE_NAMED {
            self.first.push((key, over));
        }
    }

    fn merge(&mut self, o: SetAside) {
        self.count += o.count;
        self.first.extend(o.first);
        self.first.sort_unstable_by_key(|&(key, _)| key);
        self.first.truncate(SET_ASIDE_NAMED);
    }
}

/// The logins a dump names, as a Bloom filter of their hashes: rows whose login
/// it does not hold are read and checked but not indexed.
///
/// It also holds about one login in a thousand that it was not given (its false
/// positives): those customers are indexed too, which costs a few entries and
/// changes no result (a scan confirms every login match byte for byte). An exact
/// set behind the filter cost more than it saved: a cache miss for each false
/// positive, and its own build.
pub struct LoginFilter {
    /// In 2 MiB pages: every customer row probes it at random (with 4 KiB pages,
    /// most probes of a 1 MiB filter also missed the TLB).
    bloom: crate::mem::HugeBuf,
}

impl LoginFilter {
    /// The filter holding these login hashes ([`login::hash_login`]), given once
    /// each (duplicates only make it bigger).
    pub fn new(hashes: &[u64]) -> LoginFilter {
        // 32 bits a login, not the index's 8: a false positive is a customer
        // indexed for nothing, and at 32 bits about one row in 1,400 is one.
        let words = bloom_words(hashes.len() as u64 * 4);
        let mut bloom = crate::mem::HugeBuf::zeroed(words * 8).expect("memory for a login filter");
        let w = bloom.words_mut();
        for &h in hashes {
            w[bloom_word(h, words)] |= bloom_mask(h);
        }
        LoginFilter { bloom }
    }

    /// Starts loading the filter word [`LoginFilter::contains`] reads for `hash`.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        let bloom = self.bloom.words();
        if let Some(w) = bloom.get(bloom_word(hash, bloom.len())) {
            crate::mem::prefetch(w);
        }
    }

    /// Whether `hash` may be one of the logins (it is, if it was given).
    #[inline]
    pub fn contains(&self, hash: u64) -> bool {
        let m = bloom_mask(hash);
        let bloom = self.bloom.words();
        bloom[bloom_word(hash, bloom.len())] & m == m
    }
}

/// Largest partition of pairs the build aims for, whatever the budget: a
/// partition's sort scatters its pairs at random, and one that stays in the CPU
/// caches sorts several times faster (20M customers indexed in ~4 s with 16 MiB
/// partitions, ~7 s with 512 MiB ones; measured).
const PARTITION_MAX: u64 = 16 << 20;

/// Bytes of a pair: login hash and entry key.
const PAIR: usize = 16;

/// An entry's place before the ranges' offsets are known: its range, and its
/// offset within the range's records.
fn entry_key(range: usize, local: usize) -> u64 {
    (range as u64) << 40 | local as u64
}

/// Totals of pass 1, gathered from the workers.
#[derive(Default)]
struct Totals {
    rows: u64,
    digest: Digest,
    kept: u64,
    set_aside: SetAside,
    error: Option<io::Error>,
}

/// The records region being written: each range's entries handed over in range
/// order, whichever worker finishes first. A worker that runs far ahead waits, so
/// at most a few ranges' buffers are held.
struct Records {
    state: Mutex<RecordsState>,
    moved: Condvar,
    /// Ranges a worker may run ahead of the next one to write.
    window: usize,
}

struct RecordsState {
    out: RegionOut,
    next: usize,
    pending: BTreeMap<usize, Vec<u8>>,
    /// Buffers written out, to hand back: a fresh one for each range that had to
    /// wait was fresh memory, which this machine's kernel zeroes at under 1 GB/s
    /// (a tenth of loading 1M customers, profiled).
    free: Vec<Vec<u8>>,
    /// Offset of each range's first entry.
    bases: Vec<u64>,
    error: Option<io::Error>,
}

impl Records {
    /// Hands over range `range`'s entries; returns an empty buffer to reuse (one
    /// written out already, if any).
    fn commit(&self, range: usize, bytes: Vec<u8>) -> Vec<u8> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while range > st.next + self.window {
            st = self.moved.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        st.pending.insert(range, bytes);
        loop {
            let next = st.next;
            let Some(mut b) = st.pending.remove(&next) else {
                break;
            };
            let base = st.out.len();
            st.bases.push(base);
            if let Err(e) = st.out.put(&b) {
                st.error.get_or_insert(e);
            }
            st.next += 1;
            b.clear();
            st.free.push(b);
        }
        if st.next > range {
            self.moved.notify_all();
        }
        st.free.pop().unwrap_or_default()
    }
}

/// Pass 1 of one worker: rows validated, counted, written, and paired.
///
/// Aligned to two cache lines, so that two workers' builders, allocated one
/// after the other, share none: their counters change every row (sharing a line
/// made reading 20M customers 25% slower, measured).
#[repr(align(128))]
struct RowBuilder<'b> {
    records: &'b Records,
    pairs: Writer<'b>,
    ids: IdWriter<'b>,
    shift: u32,
    filter: Option<&'b LoginFilter>,
    /// The current range's entries.
    buf: Vec<u8>,
    data: Vec<u8>,
    scratch: Vec<u8>,
    /// Whether rows go into `digest` (else they are only counted).
    digesting: bool,
    digest: Digest,
    rows: u64,
    kept: u64,
    limits: CostLimits,
    set_aside: SetAside,
    totals: &'b Mutex<Totals>,
}

/// Rows whose filter words are loaded ahead at once ([`RowSink::rows`]).
const AHEAD: usize = 16;

impl RowBuilder<'_> {
    /// One row, its login hashed already.
    #[inline]
    fn row_hashed(&mut self, row: RawRow<'_>, hash: u64) -> Result<(), RowError> {
        let fields = Fields::of(&row)?;
        self.rows += 1;
        // Behind a filter most rows are only checked: a hex digest is decoded for
        // the rows kept (and for the digest, which hashes what the index keeps).
        let keep = match self.filter {
            Some(f) => {
                let scheme = fields.check(&mut self.data)?;
                if let Some(over) = self.limits.exceeded(scheme, &self.data) {
                    self.set_aside.note(row.key, over);
                }
                f.contains(hash)
            }
            None => true,
        };
        if !keep && !self.digesting {
            self.ids.add(fields.id.as_bytes(), row.key);
            return Ok(());
        }
        let c = fields.parse(&mut self.data)?;
        if self.filter.is_none() {
            if let Some(over) = self.limits.exceeded(c.scheme, c.data) {
                self.set_aside.note(row.key, over);
            }
        }
        let id_hash = self.digesting.then(|| Digest::id_hash(c.id));
        if let Some(h) = id_hash {
            self.digest.add(&c, h);
        }
        self.ids.add_hashed(c.id.as_bytes(), id_hash, row.key);
        if !keep {
            return Ok(());
        }
        self.kept += 1;
        let key = entry_key(range_of(row.key), self.buf.len());
        put_entry(
            &mut self.buf,
            c.scheme as u8,
            c.id.as_bytes(),
            c.login.as_bytes(),
            c.data,
        );
        let p = if self.shift == 64 {
            0
        } else {
            (hash >> self.shift) as usize
        };
        self.pairs.push_with(p, |b| {
            b.extend_from_slice(&hash.to_le_bytes());
            b.extend_from_slice(&key.to_le_bytes());
        });
        Ok(())
    }
}

impl RowSink for RowBuilder<'_> {
    fn row(&mut self, row: RawRow<'_>) -> Result<(), RowError> {
        let hash = login::hash_login(row.cells[1].unwrap_or_default(), &mut self.scratch);
        self.row_hashed(row, hash)
    }

    fn rows(&mut self, rows: &[RawRow<'_>]) -> Result<(), (u64, RowError)> {
        // Behind a filter, the logins of a batch are hashed and their filter words
        // requested first, then the rows checked: the filter of a large dump is
        // bigger than the L2 cache, and a load started a row ahead still left a
        // sixth of reading 20M customers waiting on it (profiled).
        let Some(filter) = self.filter else {
            for r in rows {
                self.row(*r).map_err(|e| (r.key, e))?;
            }
            return Ok(());
        };
        let mut hashes = [0u64; AHEAD];
        for batch in rows.chunks(AHEAD) {
            for (h, r) in hashes.iter_mut().zip(batch) {
                *h = login::hash_login(r.cells[1].unwrap_or_default(), &mut self.scratch);
                filter.prefetch(*h);
            }
            for (&h, r) in hashes.iter().zip(batch) {
                self.row_hashed(*r, h).map_err(|e| (r.key, e))?;
            }
        }
        Ok(())
    }

    fn end_range(&mut self, range: usize) {
        self.ids.end_range(range);
        let bytes = std::mem::take(&mut self.buf);
        let capacity = bytes.capacity();
        self.buf = self.records.commit(range, bytes);
        if self.buf.capacity() == 0 {
            self.buf.reserve(capacity);
        }
    }

    fn finish(self: Box<Self>) {
        let this = *self;
        let mut t = this.totals.lock().unwrap_or_else(|p| p.into_inner());
        t.digest.merge(this.digest);
        t.rows += this.rows;
        t.kept += this.kept;
        t.set_aside.merge(this.set_aside);
        for r in [this.pairs.finish(), this.ids.finish()] {
            if let Err(e) = r {
                t.error.get_or_insert(e);
            }
        }
    }
}

/// The second pass over rows whose ids came out of order: each row's id into the
/// duplicate check (the rows were all checked by the first pass). Aligned as
/// [`RowBuilder`] is, for the same reason.
#[repr(align(128))]
struct IdsOnly<'b> {
    ids: IdWriter<'b>,
    errors: &'b Mutex<Option<io::Error>>,
}

impl RowSink for IdsOnly<'_> {
    fn row(&mut self, row: RawRow<'_>) -> Result<(), RowError> {
        let id = row.cells[0].unwrap_or_default();
        let id = std::str::from_utf8(id)
            .map(crate::verify::trim)
            .unwrap_or_default();
        self.ids.add(id.as_bytes(), row.key);
        Ok(())
    }

    fn end_range(&mut self, range: usize) {
        self.ids.end_range(range);
    }

    fn finish(self: Box<Self>) {
        if let Err(e) = self.ids.finish() {
            self.errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(e);
        }
    }
}

/// Builds an index from `source` into `target`, in the memory `opts` allows. With a
/// `filter`, only the rows whose login it holds are indexed; every row is still
/// validated, checked for a duplicate id, and counted in the digest.
pub fn build(
    source: &dyn CustomerSource,
    opts: &BuildOptions,
    filter: Option<&LoginFilter>,
    target: Target<'_>,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<(CustomerIndex, BuildReport), BuildError> {
    let started = std::time::Instant::now();
    // An index file keeps the digest in its header.
    let digesting = opts.digest || matches!(target, Target::File(_));
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BuildError::Io {
            path,
            cause: source,
        }
    };
    std::fs::create_dir_all(&opts.tmp_dir).map_err(io_err(&opts.tmp_dir))?;
    let budget = opts.memory.max(1 << 20);
    let size = source.size_hint().unwrap_or(1 << 30);
    // A customers row is rarely under 40 bytes.
    let rows_estimate = size / 40;
    let threads = rayon::current_num_threads().max(1);
    // Pairs in partitions of at most a quarter of the budget each (pass 2 holds
    // two: one swept while the next is sorted) and at most PARTITION_MAX. Behind
    // a filter few rows are kept.
    let pairs_estimate = if filter.is_some() {
        0
    } else {
        rows_estimate * PAIR as u64
    };
    let n = partitions_for(pairs_estimate, (budget as u64 / 4).min(PARTITION_MAX), 4096);
    let parts = Partitions::new(n, budget / 2, &opts.tmp_dir);
    let id_budget = (budget / 8).min(64 << 20);
    let ids = if source.rereadable() {
        IdCheck::speculative(rows_estimate, &opts.tmp_dir)
    } else {
        IdCheck::new(rows_estimate, id_budget, &opts.tmp_dir)
    };
    let block = (budget / (8 * threads * n)).clamp(16 << 10, 4 << 20) / PAIR * PAIR;
    let shift = 64 - n.trailing_zeros();
    let mut out = Out::new(target, opts, if filter.is_some() { 0 } else { size })?;
    let records = Records {
        state: Mutex::new(RecordsState {
            out: std::mem::replace(&mut out.records, RegionOut::Bytes(Vec::new())),
            next: 0,
            pending: BTreeMap::new(),
            free: Vec::new(),
            bases: Vec::new(),
            error: None,
        }),
        moved: Condvar::new(),
        window: 4 * threads,
    };
    let totals = Mutex::new(Totals::default());
    let make = || -> Box<dyn RowSink + '_> {
        Box::new(RowBuilder {
            records: &records,
            pairs: Writer::new(&parts, block),
            ids: ids.writer(),
            shift,
            filter,
            buf: Vec::with_capacity(1 << 16),
            data: Vec::with_capacity(256),
            scratch: Vec::new(),
            digesting,
            digest: Digest::default(),
            rows: 0,
            kept: 0,
            limits: opts.limits,
            set_aside: SetAside::default(),
            totals: &totals,
        })
    };
    let lines = source.read(&make, cancelled)?;
    let totals = totals.into_inner().unwrap_or_else(|p| p.into_inner());
    let records = records
        .state
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(e) = totals.error {
        return Err(io_err(&opts.tmp_dir)(e));
    }
    if let Some(e) = records.error {
        return Err(io_err(&out.path)(e));
    }
    out.records = records.out;
    if out.records.len() > MAX_RECORDS {
        return Err(BuildError::TooLarge);
    }
    if cancelled() {
        return Err(CustomersError::Interrupted.into());
    }
    // Ids out of order, read optimistically: read them again, into a real check.
    let ids = if ids.needs_second_pass() {
        let full = IdCheck::new(rows_estimate, id_budget, &opts.tmp_dir);
        let errors = Mutex::new(None);
        let make = || -> Box<dyn RowSink + '_> {
            Box::new(IdsOnly {
                ids: full.writer(),
                errors: &errors,
            })
        };
        source.read(&make, cancelled)?;
        if let Some(e) = errors.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(io_err(&opts.tmp_dir)(e));
        }
        full
    } else {
        ids
    };
    if let Some((first, again)) = ids.first_duplicate().map_err(io_err(&opts.tmp_dir))? {
        return Err(CustomersError::Row {
            path: source.name().to_path_buf(),
            line: lines.line(again),
            error: RowError::DuplicateAccount(lines.line(first)),
        }
        .into());
    }
    let read = started.elapsed().as_secs_f64();
    crate::control::stop_point("index-write", cancelled);
    // Pass 2.
    out.start_tables(totals.kept).map_err(io_err(&out.path))?;
    sweep_all(
        &|p| parts.take(p),
        parts.len(),
        64 - shift,
        budget / 4,
        opts,
        &records.bases,
        &mut out,
        cancelled,
    )?;
    if cancelled() {
        return Err(CustomersError::Interrupted.into());
    }
    let spilled = parts.spilled() + ids.spilled();
    let (index, index_bytes) = out.finish(totals.digest)?;
    let report = BuildReport {
        rows: totals.rows,
        accounts: index.header().accounts,
        groups: index.header().groups,
        index_bytes,
        spilled,
        digest: digesting.then_some(totals.digest),
        read_seconds: read,
        write_seconds: started.elapsed().as_secs_f64() - read,
        set_aside: SetAside {
            count: totals.set_aside.count,
            first: (totals.set_aside.first.iter())
                .map(|&(key, over)| (lines.line(key), over))
                .collect(),
        },
    };
    Ok((index, report))
}

/// The (hash, entry offset) pairs of `blocks`, entry keys turned into offsets.
fn pairs_of<'b>(blocks: &'b [Vec<u8>], bases: &'b [u64]) -> impl Iterator<Item = (u64, u64)> + 'b {
    blocks.iter().flat_map(move |b| {
        b.chunks_exact(PAIR).map(move |p| {
            let hash = u64::from_le_bytes(p[..8].try_into().unwrap());
            let key = u64::from_le_bytes(p[8..].try_into().unwrap());
            let base = bases.get((key >> 40) as usize).copied().unwrap_or(0);
            (hash, base + (key & ((1 << 40) - 1)))
        })
    })
}

/// A partition ready to sweep: its pairs sorted, or (too big for its share of the
/// budget) split again by the next four bits of the hash.
enum Prepared {
    Sorted(Vec<(u64, u64)>),
    Split(Partitions, u32),
}

/// Sorts the pairs of one partition (whose hashes share their top `bits` bits),
/// or splits it again if it is over `limit` bytes.
fn prepare(
    blocks: Vec<Vec<u8>>,
    bits: u32,
    limit: usize,
    opts: &BuildOptions,
    bases: &[u64],
) -> Result<Prepared, BuildError> {
    let bytes: usize = blocks.iter().map(Vec::len).sum();
    if bytes > limit && bits + 4 <= 60 {
        // Through partitions of their own (which may spill).
        let sub = Partitions::new(16, limit, &opts.tmp_dir);
        let mut w = Writer::new(&sub, 1 << 16);
        for b in &blocks {
            for pair in b.chunks_exact(PAIR) {
                let hash = u64::from_le_bytes(pair[..8].try_into().unwrap());
                w.push((hash >> (60 - bits)) as usize & 15, pair);
            }
        }
        w.finish().map_err(|source| BuildError::Io {
            path: opts.tmp_dir.clone(),
            cause: source,
        })?;
        return Ok(Prepared::Split(sub, bits + 4));
    }
    // By hash (within a partition the top bits are all equal), then the accounts of
    // one hash in file order; entry keys turned into offsets on the way.
    let n = blocks.iter().map(|b| b.len() / PAIR).sum();
    Ok(Prepared::Sorted(crate::sort::sorted_by_hash(
        n,
        || pairs_of(&blocks, bases),
        bits,
        |p| p.0,
        |a, b| a.cmp(b),
    )))
}

/// Sweeps `n` partitions (whose hashes share their top `bits` bits) in order, each
/// taken by `take`: partition `p + 1` is taken and sorted while `p` is swept.
#[allow(clippy::too_many_arguments)]
fn sweep_all(
    take: &(dyn Fn(usize) -> io::Result<Vec<Vec<u8>>> + Sync),
    n: usize,
    bits: u32,
    limit: usize,
    opts: &BuildOptions,
    bases: &[u64],
    out: &mut Out,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<(), BuildError> {
    let io_err = |source| BuildError::Io {
        path: opts.tmp_dir.clone(),
        cause: source,
    };
    let prepare_at = |p: usize| -> Result<Prepared, BuildError> {
        prepare(take(p).map_err(io_err)?, bits, limit, opts, bases)
    };
    let mut next = Some(prepare_at(0));
    for p in 0..n {
        if cancelled() {
            return Err(CustomersError::Interrupted.into());
        }
        let current = next.take().expect("the next partition was prepared")?;
        let (swept, prepared) = rayon::join(
            || match current {
                Prepared::Sorted(pairs) => {
                    let mut scratch = (Vec::new(), Vec::new());
                    pairs
                        .chunk_by(|a, b| a.0 == b.0)
                        .try_for_each(|run| out.accounts(run, &mut scratch))
                }
                Prepared::Split(sub, bits) => sweep_all(
                    &|p| sub.take(p),
                    16,
                    bits,
                    limit,
                    opts,
                    bases,
                    out,
                    cancelled,
                ),
            },
            || (p + 1 < n).then(|| prepare_at(p + 1)),
        );
        swept?;
        next = prepared;
    }
    Ok(())
}

/// One region of the index being written: in memory, or through a buffer to its
/// place in a file (positioned writes: the records, the Bloom filter and the slot
/// table each have theirs) while its pieces' checksums are computed.
enum RegionOut {
    Bytes(Vec<u8>),
    Words(Vec<u64>),
    File(Box<FileRegion>),
}

/// A region written to `file` from offset `at`.
struct FileRegion {
    file: File,
    at: u64,
    buf: Vec<u8>,
    hasher: PieceHasher,
    /// Bytes written or buffered.
    len: u64,
}

impl FileRegion {
    fn flush(&mut self) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let written = self.len - self.buf.len() as u64;
        self.file.write_all_at(&self.buf, self.at + written)?;
        self.buf.clear();
        Ok(())
    }
}

impl RegionOut {
    /// The region of `file` from offset `at`.
    fn file(file: File, at: u64) -> RegionOut {
        RegionOut::File(Box::new(FileRegion {
            file,
            at,
            buf: Vec::with_capacity(1 << 20),
            hasher: PieceHasher::default(),
            len: 0,
        }))
    }

    fn len(&self) -> u64 {
        match self {
            RegionOut::Bytes(v) => v.len() as u64,
            RegionOut::Words(v) => v.len() as u64 * 8,
            RegionOut::File(f) => f.len,
        }
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        match self {
            RegionOut::Bytes(v) => {
                v.extend_from_slice(b);
                Ok(())
            }
            RegionOut::Words(_) => Err(io::Error::other("bytes written to a word region")),
            RegionOut::File(f) => {
                f.hasher.update(b);
                f.len += b.len() as u64;
                f.buf.extend_from_slice(b);
                if f.buf.len() >= 1 << 20 {
                    f.flush()?;
                }
                Ok(())
            }
        }
    }

    fn put_words(&mut self, words: &[u64]) -> io::Result<()> {
        match self {
            RegionOut::Words(v) => {
                v.extend_from_slice(words);
                Ok(())
            }
            _ => self.put(bytemuck::cast_slice(words)),
        }
    }

    /// `n` zero words.
    fn zeros(&mut self, mut n: usize) -> io::Result<()> {
        if let RegionOut::Words(v) = self {
            v.resize(v.len() + n, 0);
            return Ok(());
        }
        const Z: [u64; 512] = [0; 512];
        while n > 0 {
            let k = n.min(Z.len());
            self.put_words(&Z[..k])?;
            n -= k;
        }
        Ok(())
    }

    /// Writes out what is buffered; the region's piece checksums.
    fn finish(self) -> io::Result<Vec<u64>> {
        match self {
            RegionOut::File(mut f) => {
                f.flush()?;
                Ok(f.hasher.finish())
            }
            _ => Ok(Vec::new()),
        }
    }

    /// The registered login of the entry at `off` (already written).
    fn login_at<'s>(&'s mut self, off: u64, buf: &'s mut Vec<u8>) -> io::Result<&'s [u8]> {
        match self {
            RegionOut::Bytes(v) => entry_at(v, off as usize)
                .map(|e| e.login)
                .ok_or_else(|| io::Error::other("an entry out of bounds")),
            RegionOut::Words(_) => Err(io::Error::other("no entries in a word region")),
            RegionOut::File(f) => {
                use std::os::unix::fs::FileExt;
                f.flush()?;
                // An entry is at most 1 + 3 * 3 + 3 * MAX_FIELD bytes.
                let mut want = 512;
                loop {
                    buf.resize(want, 0);
                    let n = f.file.read_at(buf, f.at + off)?;
                    buf.truncate(n);
                    if let Some(e) = entry_at(buf, 0) {
                        let (start, len) = (e.end - e.data.len() - e.login.len(), e.login.len());
                        return Ok(&buf[start..start + len]);
                    }
                    if n < want {
                        return Err(io::Error::other("an entry out of bounds"));
                    }
                    want *= 4;
                }
            }
        }
    }
}

/// The index being written: the records (filled by pass 1), then the slot table
/// and the Bloom filter, front to back.
struct Out {
    target: TargetOut,
    records: RegionOut,
    slots: RegionOut,
    bloom: RegionOut,
    /// Home slots and Bloom words, fixed by the number of accounts.
    homes: usize,
    words: usize,
    /// Slots written so far (the next free one).
    slots_written: usize,
    /// The Bloom word being filled, and its bits.
    word: usize,
    bits: u64,
    accounts: u64,
    groups: u64,
    path: PathBuf,
}

/// Where a finished index goes.
enum TargetOut {
    Memory,
    File(crate::atomic::StagedFile),
    TempFile(File),
}

impl Out {
    fn new(
        target: Target<'_>,
        opts: &BuildOptions,
        records_estimate: u64,
    ) -> Result<Out, BuildError> {
        let tmp = |path: &Path| {
            tempfile::tempfile_in(path).map_err(|source| BuildError::Io {
                path: path.to_path_buf(),
                cause: source,
            })
        };
        // A file's records start after its header; its Bloom filter and slot
        // table are placed once the records' length is known (`start_tables`).
        let (target, records, path) = match target {
            Target::Memory => (
                TargetOut::Memory,
                RegionOut::Bytes(crate::mem::with_capacity(records_estimate as usize)),
                PathBuf::from("<memory>"),
            ),
            Target::File(path) => {
                let io = |source| BuildError::Io {
                    path: path.to_path_buf(),
                    cause: source,
                };
                let mut staged = crate::atomic::StagedFile::create_regular(path)
                    .map_err(|e| BuildError::Index(e.into()))?;
                let f = staged.file().try_clone().map_err(io)?;
                (
                    TargetOut::File(staged),
                    RegionOut::file(f, HEADER_LEN as u64),
                    path.to_path_buf(),
                )
            }
            Target::TempFile => {
                let f = tmp(&opts.tmp_dir)?;
                let records = RegionOut::file(
                    f.try_clone().map_err(|source| BuildError::Io {
                        path: opts.tmp_dir.clone(),
                        cause: source,
                    })?,
                    HEADER_LEN as u64,
                );
                (
                    TargetOut::TempFile(f),
                    records,
                    opts.tmp_dir.join("<temporary index>"),
                )
            }
        };
        let (slots, bloom) = (RegionOut::Words(Vec::new()), RegionOut::Words(Vec::new()));
        Ok(Out {
            target,
            records,
            slots,
            bloom,
            homes: 0,
            words: 0,
            slots_written: 0,
            word: 0,
            bits: 0,
            accounts: 0,
            groups: 0,
            path,
        })
    }

    fn io(&self) -> impl Fn(io::Error) -> BuildError + '_ {
        |source| BuildError::Io {
            path: self.path.clone(),
            cause: source,
        }
    }

    /// Sizes the tables for `accounts` accounts, the records all written: in a
    /// file, the Bloom filter goes after the records (from the next multiple of 8)
    /// and the slot table after it.
    fn start_tables(&mut self, accounts: u64) -> io::Result<()> {
        self.homes = home_slots(accounts);
        self.words = bloom_words(accounts);
        match &self.records {
            RegionOut::File(f) => {
                let bloom_at = (f.at + f.len).next_multiple_of(8);
                let slots_at = bloom_at + 8 * self.words as u64;
                self.bloom = RegionOut::file(f.file.try_clone()?, bloom_at);
                self.slots = RegionOut::file(f.file.try_clone()?, slots_at);
            }
            _ => {
                self.slots = RegionOut::Words(crate::mem::with_capacity(self.homes + 64));
                self.bloom = RegionOut::Words(crate::mem::with_capacity(self.words));
            }
        }
        Ok(())
    }

    /// Writes the slots and Bloom bits of the accounts of one login hash, `(hash,
    /// entry offset)` in file order. Hashes come in increasing order.
    fn accounts(
        &mut self,
        run: &[(u64, u64)],
        scratch: &mut (Vec<u8>, Vec<u8>),
    ) -> Result<(), BuildError> {
        let hash = run[0].0;
        // The slots: the first free ones at or after the home.
        let home = fastrange(hash, self.homes);
        let at = home.max(self.slots_written);
        self.slots
            .zeros(at - self.slots_written)
            .map_err(self.io())?;
        for &(_, off) in run {
            self.slots
                .put_words(&[fingerprint(hash) << OFF_BITS | (off + 1)])
                .map_err(self.io())?;
        }
        self.slots_written = at + run.len();
        // The Bloom bits.
        let word = bloom_word(hash, self.words);
        if word != self.word {
            self.flush_word(word).map_err(self.io())?;
        }
        self.bits |= bloom_mask(hash);
        self.accounts += run.len() as u64;
        // Distinct logins: one, unless logins that share this hash differ (rare:
        // the same login's accounts usually; a collision or the hash's case fold
        // otherwise).
        self.groups += 1;
        if run.len() > 1 {
            let mut norms: Vec<Vec<u8>> = Vec::with_capacity(run.len());
            for &(_, off) in run {
                let (buf, norm) = (&mut scratch.0, &mut scratch.1);
                let login = self
                    .records
                    .login_at(off, buf)
                    .map_err(|source| BuildError::Io {
                        path: self.path.clone(),
                        cause: source,
                    })?;
                norms.push(login::normalize(login, norm).to_vec());
            }
            norms.sort_unstable();
            norms.dedup();
            self.groups += norms.len() as u64 - 1;
        }
        Ok(())
    }

    /// Writes the Bloom word being filled, and zeros up to `next`.
    fn flush_word(&mut self, next: usize) -> io::Result<()> {
        self.bloom.put_words(&[self.bits])?;
        self.bloom.zeros(next - self.word - 1)?;
        self.word = next;
        self.bits = 0;
        Ok(())
    }

    /// Ends the tables, writes the file (if any) and returns the index and its size.
    fn finish(mut self, digest: Digest) -> Result<(CustomerIndex, u64), BuildError> {
        // The Bloom filter's last words, and the slot table's: the homes, the last
        // homes' overflow, and one empty slot to end every probe chain.
        self.flush_word(self.words).map_err(self.io())?;
        let slots = self.slots_written.max(self.homes) + 1;
        self.slots
            .zeros(slots - self.slots_written)
            .map_err(self.io())?;
        let mut header = Header {
            accounts: self.accounts,
            groups: self.groups,
            records: self.records.len(),
            slots: slots as u64,
            homes: self.homes as u64,
            bloom: self.words as u64,
            piece: file::piece_size(),
            digest: digest.sum,
            table_sum: 0,
        };
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| BuildError::Io {
                path,
                cause: source,
            }
        };
        match self.target {
            TargetOut::Memory => {
                let (RegionOut::Bytes(records), RegionOut::Words(slots), RegionOut::Words(bloom)) =
                    (self.records, self.slots, self.bloom)
                else {
                    unreachable!("a memory target writes its regions to memory");
                };
                let bytes = records.len() + 8 * (slots.len() + bloom.len());
                let index = CustomerIndex::owned(records, slots, bloom, header);
                Ok((index, (HEADER_LEN + bytes) as u64))
            }
            TargetOut::File(mut staged) => {
                let path = self.path.clone();
                let f = staged.file();
                finish_file(f, self.records, self.slots, self.bloom, &mut header)
                    .map_err(io(&path))?;
                let len = f.metadata().map_err(io(&path))?.len();
                staged.commit().map_err(|e| BuildError::Index(e.into()))?;
                Ok((file::open(&path)?, len))
            }
            TargetOut::TempFile(mut f) => {
                let path = self.path.clone();
                finish_file(&mut f, self.records, self.slots, self.bloom, &mut header)
                    .map_err(io(&path))?;
                let len = f.metadata().map_err(io(&path))?.len();
                let mapped = MappedIndex::from_file(&f, &path)?;
                Ok((CustomerIndex::from_mapped(mapped), len))
            }
        }
    }
}

/// Completes an index file whose regions are in place: the padding after the
/// records, the piece table after the slot table, then the header.
fn finish_file(
    f: &mut File,
    records: RegionOut,
    slots: RegionOut,
    bloom: RegionOut,
    header: &mut Header,
) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut table = records.finish()?;
    table.extend(bloom.finish()?);
    table.extend(slots.finish()?);
    let layout = header
        .layout()
        .ok_or_else(|| io::Error::other("index regions overflow"))?;
    let pad = layout.bloom.start - layout.records.end;
    f.write_all_at(&[0u8; 8][..pad], layout.records.end as u64)?;
    let table: Vec<u8> = table.iter().flat_map(|t| t.to_le_bytes()).collect();
    f.write_all_at(&table, layout.table.start as u64)?;
    header.table_sum = xxhash_rust::xxh3::xxh3_64(&table);
    f.write_all_at(&header.encode(), 0)?;
    Ok(())
}

/// A customer source over rows held in memory (for [`IndexBuilder`]).
struct RowsInMemory<'r> {
    rows: &'r [[String; 3]],
}

impl CustomerSource for RowsInMemory<'_> {
    fn name(&self) -> &Path {
        Path::new("<memory>")
    }

    fn rereadable(&self) -> bool {
        true
    }

    fn size_hint(&self) -> Option<u64> {
        Some(
            self.rows
                .iter()
                .map(|r| (r.iter().map(String::len).sum::<usize>() + 3) as u64)
                .sum(),
        )
    }

    fn read(
        &self,
        make: &crate::customers::SinkFactory<'_>,
        _cancelled: &(dyn Fn() -> bool + Sync),
    ) -> Result<crate::customers::LineMap, CustomersError> {
        // The rows go through the same sink as a file's, keyed by position.
        let mut sink = make();
        for (i, row) in self.rows.iter().enumerate() {
            let raw = RawRow {
                ascii: false,
                key: i as u64 + 1,
                cells: [0, 1, 2].map(|c| Some(row[c].as_bytes())),
            };
            if let Err(error) = sink.row(raw) {
                sink.end_range(0);
                sink.finish();
                return Err(CustomersError::Row {
                    path: self.name().to_path_buf(),
                    line: i as u64 + 1,
                    error,
                });
            }
        }
        sink.end_range(0);
        sink.finish();
        Ok(crate::customers::LineMap::identity())
    }
}

/// Builds a small index from accounts added one by one, in memory (tests,
/// benchmarks, examples): the same index a customers file with these rows gives.
#[derive(Default)]
pub struct IndexBuilder {
    rows: Vec<[String; 3]>,
}

impl IndexBuilder {
    /// An empty builder.
    pub fn new() -> IndexBuilder {
        IndexBuilder::default()
    }

    /// Adds one account: its `account_id`, `login` and `password_hash` cells, as a
    /// customers file would hold them (checked when the index is built).
    pub fn add(&mut self, id: &str, login: &str, password_hash: &str) {
        self.rows
            .push([id.to_string(), login.to_string(), password_hash.to_string()]);
    }

    /// Number of accounts added.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether none was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The index, in memory.
    pub fn build(self) -> Result<CustomerIndex, BuildError> {
        let opts = BuildOptions {
            memory: 64 << 20,
            ..BuildOptions::default()
        };
        self.build_with(&opts, None).map(|(i, _)| i)
    }

    /// The index, in memory, built with `opts` (and `filter`).
    pub fn build_with(
        self,
        opts: &BuildOptions,
        filter: Option<&LoginFilter>,
    ) -> Result<(CustomerIndex, BuildReport), BuildError> {
        let source = RowsInMemory { rows: &self.rows };
        build(&source, opts, filter, Target::Memory, &|| false)
    }
}
