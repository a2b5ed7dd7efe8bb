//! Building an index from accounts: group by login, lay out records, fill the
//! filter and the slot table.

use rayon::prelude::*;

use super::filter::{bloom_key, bloom_words};
use super::layout::{entry_size, ENTRY_HEADER, GROUP_HEADER, MAX_FIELD, OFF_BITS, OFF_MASK};
use super::CustomerIndex;
use crate::login;
use crate::mem::{prefetch, HugeBuf};
use crate::verify::StoredHash;

/// Why an index could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    /// A field is over [`MAX_FIELD`].
    #[error("a field is longer than {MAX_FIELD} bytes")]
    FieldTooLong,
    /// More bytes than the format addresses.
    #[error("too many customers for one index")]
    TooLarge,
}

/// A byte range of one of the builder's heaps.
#[derive(Clone, Copy)]
struct Span {
    off: u64,
    len: u16,
}

/// One account added: its login hash and where its fields are.
struct Row {
    hash: u64,
    /// Which heap holds this row's bytes.
    heap: u32,
    norm: (u64, u32),
    id: Span,
    login: Span,
    data: Span,
    scheme: u8,
}

impl Row {
    /// Total length of the id, login and stored hash.
    fn fields_len(&self) -> usize {
        self.id.len as usize + self.login.len as usize + self.data.len as usize
    }
}

/// Collects accounts, then lays out the index.
///
/// Fields live in heaps: [`IndexBuilder::add`] appends to the last one, and
/// [`IndexBuilder::append`] takes over another builder's heaps as they are, so
/// builders filled in parallel join without copying their bytes.
pub struct IndexBuilder {
    heaps: Vec<Vec<u8>>,
    rows: Vec<Row>,
    norm: Vec<u8>,
}

impl Default for IndexBuilder {
    fn default() -> Self {
        IndexBuilder::with_capacity(0, 0)
    }
}

impl IndexBuilder {
    /// An empty builder.
    pub fn new() -> IndexBuilder {
        IndexBuilder::default()
    }

    /// An empty builder with room for `rows` accounts and `heap` bytes of fields.
    pub fn with_capacity(rows: usize, heap: usize) -> IndexBuilder {
        IndexBuilder {
            heaps: vec![Vec::with_capacity(heap)],
            rows: Vec::with_capacity(rows),
            norm: Vec::new(),
        }
    }

    /// The heap `add` writes to.
    fn heap(&mut self) -> &mut Vec<u8> {
        self.heaps.last_mut().expect("a builder always has a heap")
    }

    fn push_field(&mut self, b: &[u8]) -> Result<Span, BuildError> {
        let len = u16::try_from(b.len()).map_err(|_| BuildError::FieldTooLong)?;
        let heap = self.heap();
        let off = heap.len() as u64;
        heap.extend_from_slice(b);
        Ok(Span { off, len })
    }

    /// The bytes of a row's field.
    fn field(&self, row: &Row, s: Span) -> &[u8] {
        &self.heaps[row.heap as usize][s.off as usize..s.off as usize + s.len as usize]
    }

    /// A row's normalised login.
    fn norm(&self, row: &Row) -> &[u8] {
        let (off, len) = (row.norm.0 as usize, row.norm.1 as usize);
        &self.heaps[row.heap as usize][off..off + len]
    }

    /// Adds one account. Uniqueness of `id` is the caller's business
    /// ([`IndexBuilder::find_duplicate_id`]).
    pub fn add(&mut self, id: &str, login: &str, hash: &StoredHash) -> Result<(), BuildError> {
        let mut norm = std::mem::take(&mut self.norm);
        login::normalize(login.as_bytes(), &mut norm);
        let heap = (self.heaps.len() - 1) as u32;
        let row = Row {
            hash: login::hash_normalized(&norm),
            heap,
            norm: (self.heap().len() as u64, norm.len() as u32),
            id: Span { off: 0, len: 0 },
            login: Span { off: 0, len: 0 },
            data: Span { off: 0, len: 0 },
            scheme: hash.scheme as u8,
        };
        self.heap().extend_from_slice(&norm);
        self.norm = norm;
        let row = Row {
            id: self.push_field(id.as_bytes())?,
            login: self.push_field(login.as_bytes())?,
            data: self.push_field(&hash.data)?,
            ..row
        };
        self.rows.push(row);
        Ok(())
    }

    /// Number of accounts added so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Moves every account of `other` after this builder's own (for builders filled
    /// in parallel and joined in order). Its heaps are taken over, not copied.
    pub fn append(&mut self, other: IndexBuilder) {
        let shift = self.heaps.len() as u32;
        self.heaps.extend(other.heaps);
        // Later `add`s write to a heap of their own.
        self.heaps.push(Vec::new());
        self.rows.extend(other.rows.into_iter().map(|mut r| {
            r.heap += shift;
            r
        }));
    }

    /// Whether no account was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The first repeated account id, as `(earlier row, later row)` in the order
    /// accounts were added (the smallest later row if there are several).
    pub fn find_duplicate_id(&self) -> Option<(usize, usize)> {
        let id = |row: usize| {
            let r = &self.rows[row];
            self.field(r, r.id)
        };
        let mut keyed: Vec<(u64, u32)> = (0..self.rows.len())
            .map(|row| (xxhash_rust::xxh3::xxh3_64(id(row)), row as u32))
            .collect();
        keyed.par_sort_unstable();
        let mut best: Option<(usize, usize)> = None;
        for run in keyed.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
            for (i, &(_, later)) in run.iter().enumerate().skip(1) {
                let later = later as usize;
                let earlier = run[..i].iter().find(|(_, r)| id(*r as usize) == id(later));
                if let Some(&(_, first)) = earlier {
                    if best.is_none_or(|(_, b)| later < b) {
                        best = Some((first as usize, later));
                    }
                }
            }
        }
        best
    }

    /// Bytes the group of `run` (the accounts of one login) takes in `records`.
    fn group_len(&self, run: &[&Row]) -> usize {
        GROUP_HEADER
            + run
                .iter()
                .map(|r| entry_size(r.fields_len()))
                .sum::<usize>()
    }

    /// Writes the groups `runs` as records into `out`, which is exactly their size.
    fn lay_out(&self, runs: &[&[&Row]], out: &mut [u8]) {
        let mut at = 0;
        let mut put = |b: &[u8]| {
            out[at..at + b.len()].copy_from_slice(b);
            at += b.len();
        };
        // Rows come in hash order, so each one's struct and heap bytes are a cache
        // miss: prefetch the struct a while ahead, then its bytes.
        for (k, run) in runs.iter().enumerate() {
            if let Some(ahead) = runs.get(k + 16) {
                prefetch(ahead[0]);
            }
            if let Some(ahead) = runs.get(k + 8) {
                let bytes = self.norm(ahead[0]);
                prefetch(bytes);
                if let Some(next_line) = bytes.get(64..) {
                    prefetch(next_line);
                }
            }
            put(&run[0].hash.to_le_bytes());
            put(&(run.len() as u32).to_le_bytes());
            put(&0u32.to_le_bytes());
            for r in run.iter() {
                put(&[r.scheme, 0]);
                for s in [r.id, r.login, r.data] {
                    put(&s.len.to_le_bytes());
                }
                for s in [r.id, r.login, r.data] {
                    put(self.field(r, s));
                }
                let fields = r.fields_len();
                put(&[0; 8][..entry_size(fields) - ENTRY_HEADER - fields]);
            }
        }
        debug_assert_eq!(at, out.len());
    }

    /// Lays out groups and the hash table. Deterministic: the same accounts in the
    /// same order give the same bytes.
    pub fn build(mut self) -> Result<CustomerIndex, BuildError> {
        let rows = std::mem::take(&mut self.rows);
        let norm_of = |r: &Row| self.norm(r);
        // Group accounts by login: sort compact (hash, row) keys, then order the rare
        // runs of one hash by normalised login; ties keep file order.
        let mut order: Vec<(u64, u32)> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.hash, i as u32))
            .collect();
        order.par_sort_unstable();
        for run in order
            .chunk_by_mut(|a, b| a.0 == b.0)
            .filter(|r| r.len() > 1)
        {
            run.sort_by(|a, b| {
                norm_of(&rows[a.1 as usize])
                    .cmp(norm_of(&rows[b.1 as usize]))
                    .then(a.1.cmp(&b.1))
            });
        }
        let rows: Vec<&Row> = order.iter().map(|&(_, i)| &rows[i as usize]).collect();
        let runs: Vec<&[&Row]> = rows
            .chunk_by(|a, b| a.hash == b.hash && norm_of(a) == norm_of(b))
            .collect();
        // Every group's offset first, then the groups laid out in parallel pieces
        // straight into their place (each reads its accounts' fields from the heaps,
        // in hash order: random access that parallelism hides).
        let mut groups: Vec<(u64, u64)> = Vec::with_capacity(runs.len()); // (hash, offset)
        let mut total = 0usize;
        for run in &runs {
            groups.push((run[0].hash, total as u64));
            total += self.group_len(run);
        }
        if (total as u64) / 8 + 1 > OFF_MASK {
            return Err(BuildError::TooLarge);
        }
        let mut records = HugeBuf::zeroed(total).map_err(|_| BuildError::TooLarge)?;
        let piece = runs
            .len()
            .div_ceil(4 * rayon::current_num_threads())
            .max(4096);
        let mut outs: Vec<(&[&[&Row]], &mut [u8])> = Vec::new();
        let mut rest = records.bytes_mut();
        for (i, part) in runs.chunks(piece).enumerate() {
            let end = groups.get((i + 1) * piece).map_or(total, |g| g.1 as usize);
            let start = groups[i * piece].1 as usize;
            let (here, tail) = rest.split_at_mut(end - start);
            outs.push((part, here));
            rest = tail;
        }
        outs.into_par_iter()
            .for_each(|(part, out)| self.lay_out(part, out));
        let mut bloom = vec![0u64; bloom_words(groups.len())];
        for &(hash, _) in &groups {
            let (word, mask) = bloom_key(hash, bloom.len());
            bloom[word] |= mask;
        }
        let cap = (groups.len() * 5 / 4 + 1).next_power_of_two().max(16);
        let mask = cap - 1;
        let mut table = HugeBuf::zeroed(cap * 8).map_err(|_| BuildError::TooLarge)?;
        let slots = table.words_mut();
        for &(hash, off) in &groups {
            let mut i = (hash as usize) & mask;
            while slots[i] != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = (hash >> OFF_BITS) << OFF_BITS | (off / 8 + 1);
        }
        Ok(CustomerIndex::owned(
            table,
            bloom,
            records,
            rows.len() as u64,
            groups.len() as u64,
        ))
    }
}
