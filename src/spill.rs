//! Partitioned scratch data that spills to disk: memory bounded by a setting, not
//! by the data.
//!
//! Owns how a stage that must see all of something before it can answer (the index
//! build sorting every customer by login, the duplicate `account_id` check) holds it
//! without holding it all in memory, the way DuckDB's operators spill radix
//! partitions: the data is cut into [`Partitions`] by the top bits of a hash; they
//! stay in memory while the run's budget allows, and beyond it each partition is
//! appended to a file of its own in a temporary directory; afterwards the
//! partitions are read back one at a time. Workers append through a [`Writer`]
//! holding one small block per partition, so the shared partitions are locked once
//! a block, not once a record.
//!
//! Spill files are created already unlinked (`O_TMPFILE`, or created and removed at
//! once), so nothing is left on disk however the run ends, a `kill -9` included.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// One partition: blocks in memory, then (once the budget is spent) a file.
#[derive(Default)]
struct Part {
    mem: Vec<Vec<u8>>,
    held: usize,
    file: Option<File>,
}

/// `n` partitions of appended bytes, in memory up to a budget, spilled to files in
/// `dir` beyond it.
pub struct Partitions {
    parts: Vec<Mutex<Part>>,
    budget: usize,
    in_memory: AtomicUsize,
    spilled: AtomicU64,
    dir: PathBuf,
}

impl Partitions {
    /// `n` empty partitions holding at most `budget` bytes in memory in all; spill
    /// files go to `dir`.
    pub fn new(n: usize, budget: usize, dir: &Path) -> Partitions {
        Partitions {
            parts: (0..n.max(1)).map(|_| Mutex::default()).collect(),
            budget,
            in_memory: AtomicUsize::new(0),
            spilled: AtomicU64::new(0),
            dir: dir.to_path_buf(),
        }
    }

    /// Number of partitions.
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// Whether there are none (never: there is always at least one).
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    fn lock(&self, p: usize) -> std::sync::MutexGuard<'_, Part> {
        self.parts[p].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends a block of whole records to partition `p`; the block is kept as it
    /// is while the budget allows (no copy), written out otherwise.
    pub fn append(&self, p: usize, block: Vec<u8>) -> io::Result<()> {
        let mut part = self.lock(p);
        let len = block.len();
        if part.file.is_none() {
            let held = self.in_memory.fetch_add(len, Ordering::Relaxed) + len;
            if held <= self.budget {
                part.held += len;
                part.mem.push(block);
                return Ok(());
            }
            self.in_memory.fetch_sub(len, Ordering::Relaxed);
            // Over the budget: this partition moves to a file, with what it held.
            let mut file = tempfile::tempfile_in(&self.dir)?;
            for b in std::mem::take(&mut part.mem) {
                file.write_all(&b)?;
            }
            self.in_memory.fetch_sub(part.held, Ordering::Relaxed);
            self.spilled.fetch_add(part.held as u64, Ordering::Relaxed);
            part.held = 0;
            part.file = Some(file);
        }
        let file = part
            .file
            .as_mut()
            .expect("a spilled partition has its file");
        file.write_all(&block)?;
        self.spilled.fetch_add(len as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Bytes written to spill files so far.
    pub fn spilled(&self) -> u64 {
        self.spilled.load(Ordering::Relaxed)
    }

    /// Bytes in partition `p`.
    pub fn size(&self, p: usize) -> io::Result<u64> {
        let mut part = self.lock(p);
        let on_disk = match part.file.as_mut() {
            Some(f) => f.stream_position()?,
            None => 0,
        };
        Ok(on_disk + part.held as u64)
    }

    /// Takes partition `p`'s blocks out, in the order they were appended (a
    /// spilled partition read back whole from its file as one block); the
    /// partition is empty afterwards and its file gone.
    pub fn take(&self, p: usize) -> io::Result<Vec<Vec<u8>>> {
        let mut part = self.lock(p);
        let mem = std::mem::take(&mut part.mem);
        self.in_memory.fetch_sub(part.held, Ordering::Relaxed);
        part.held = 0;
        let Some(mut file) = part.file.take() else {
            return Ok(mem);
        };
        let len = file.stream_position()?;
        file.seek(SeekFrom::Start(0))?;
        let mut out = Vec::with_capacity(len as usize);
        file.take(len).read_to_end(&mut out)?;
        Ok(vec![out])
    }

    /// [`Partitions::take`], the blocks joined.
    pub fn take_joined(&self, p: usize) -> io::Result<Vec<u8>> {
        let mut blocks = self.take(p)?;
        if blocks.len() == 1 {
            return Ok(blocks.pop().unwrap_or_default());
        }
        Ok(blocks.concat())
    }
}

/// A worker's way into [`Partitions`]: one block per partition, appended whole.
pub struct Writer<'p> {
    parts: &'p Partitions,
    blocks: Vec<Vec<u8>>,
    block: usize,
    error: Option<io::Error>,
}

impl<'p> Writer<'p> {
    /// A writer whose blocks are `block` bytes.
    pub fn new(parts: &'p Partitions, block: usize) -> Writer<'p> {
        Writer {
            parts,
            blocks: (0..parts.len()).map(|_| Vec::new()).collect(),
            block: block.max(64),
            error: None,
        }
    }

    /// Appends one record to partition `p` (it goes out with its block).
    #[inline]
    pub fn push(&mut self, p: usize, record: &[u8]) {
        self.push_with(p, |b| b.extend_from_slice(record));
    }

    /// Appends a record written in place by `f` to partition `p`. A block goes out
    /// once it is full, so a record never straddles two blocks.
    #[inline]
    pub fn push_with(&mut self, p: usize, f: impl FnOnce(&mut Vec<u8>)) {
        let b = &mut self.blocks[p];
        if b.capacity() == 0 {
            *b = crate::mem::with_capacity(self.block);
        }
        f(b);
        if b.len() >= self.block {
            self.flush_one(p);
        }
    }

    fn flush_one(&mut self, p: usize) {
        let b = &mut self.blocks[p];
        if !b.is_empty() {
            let full = std::mem::replace(b, crate::mem::with_capacity(self.block));
            if let Err(e) = self.parts.append(p, full) {
                self.error.get_or_insert(e);
            }
        }
    }

    /// Sends every block out; the first I/O error of this writer, if any.
    pub fn finish(mut self) -> io::Result<()> {
        for p in 0..self.blocks.len() {
            self.flush_one(p);
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// How many partitions keep each below `per_partition` bytes when `total` bytes
/// are expected: a power of two, between 1 and `max`.
pub fn partitions_for(total: u64, per_partition: u64, max: usize) -> usize {
    let want = total.div_ceil(per_partition.max(1)).max(1);
    (want.next_power_of_two() as usize).clamp(1, max.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_spill_past_the_budget_and_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let parts = Partitions::new(4, 100, dir.path());
        let mut w = Writer::new(&parts, 64);
        let mut want: Vec<Vec<u8>> = vec![Vec::new(); 4];
        for i in 0..1000u32 {
            let rec = i.to_le_bytes();
            w.push(i as usize % 4, &rec);
            want[i as usize % 4].extend_from_slice(&rec);
        }
        w.finish().unwrap();
        assert!(parts.spilled() > 0);
        for (p, want) in want.iter().enumerate() {
            assert_eq!(parts.size(p).unwrap(), want.len() as u64);
            assert_eq!(&parts.take_joined(p).unwrap(), want);
            assert!(parts.take_joined(p).unwrap().is_empty());
        }
        // Nothing named was left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn within_the_budget_nothing_spills() {
        let dir = tempfile::tempdir().unwrap();
        let parts = Partitions::new(2, 1 << 20, dir.path());
        let mut w = Writer::new(&parts, 64);
        for i in 0..100u8 {
            w.push(usize::from(i % 2), &[i]);
        }
        w.finish().unwrap();
        assert_eq!(parts.spilled(), 0);
        assert_eq!(parts.take_joined(1).unwrap().len(), 50);
    }

    #[test]
    fn partition_counts() {
        assert_eq!(partitions_for(0, 10, 64), 1);
        assert_eq!(partitions_for(100, 10, 64), 16);
        assert_eq!(partitions_for(1 << 40, 1, 64), 64);
    }
}
