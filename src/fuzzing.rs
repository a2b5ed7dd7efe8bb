//! Fuzz entry points: what `fuzz/` runs under libFuzzer and `tests/fuzz_corpora.rs`
//! replays on stable over the committed corpora.
//!
//! Owns one function per target; each takes arbitrary bytes, drives one reader of
//! hostile input end to end, and panics only if an invariant breaks (a crash, a
//! disagreement with the reference implementation). Not part of the engine's API.

use std::sync::{Arc, Mutex};

use crate::customers::csv::LineMap;
use crate::customers::{
    CsvFile, CustomerSource, CustomersError, RawRow, RowError, RowSink, SinkFactory,
};
use crate::index::{build, BuildOptions, Target};
use crate::parse::block::{self, Block, Step};
use crate::parse::{parse_line, parse_line_known, CsvRecord, CsvRecords, Lines, Parsed};

/// The line finder (SSE2, and AVX2 where the CPU has it) against a naive split on
/// `\n`, the line rules on every line (the same with and without the NUL hint),
/// and stealer-log blocks read from a cut (primed) against a read from the start.
pub fn lines(data: &[u8]) {
    let naive: Vec<(&[u8], Option<usize>, bool)> = naive_lines(data);
    let found: Vec<_> = Lines::new(data).map(|l| (l.bytes, l.sep, l.nul)).collect();
    assert_eq!(found, naive, "SSE2 lines");
    #[cfg(target_arch = "x86_64")]
    if let Some(avx2) = crate::parse::Avx2::detect() {
        let found: Vec<_> = Lines::with(avx2, data)
            .map(|l| (l.bytes, l.sep, l.nul))
            .collect();
        assert_eq!(found, naive, "AVX2 lines");
    }
    for &(line, _, nul) in &naive {
        let a = outcome(parse_line(line));
        let b = outcome(parse_line_known(line, nul));
        assert_eq!(a, b, "the NUL hint changes nothing");
    }
    // Stealer-log blocks: a read that starts at a cut, primed from the lines
    // before it, steps through the rest as a read from the start does.
    type Stepped<'a> = (Step<'a>, Option<Vec<u8>>);
    fn steps<'a>(block: &mut Block, lines: &[(&'a [u8], Option<usize>, bool)]) -> Vec<Stepped<'a>> {
        (lines.iter())
            .map(|&(l, sep, nul)| {
                let colon = if nul {
                    None
                } else {
                    block::may_be_field(l, sep)
                };
                let step = block.step(l, colon);
                (step, block.url().map(<[u8]>::to_vec))
            })
            .collect()
    }
    let whole = steps(&mut Block::default(), &naive);
    for cut in [naive.len() / 3, naive.len() / 2, naive.len() * 2 / 3] {
        let offset: usize = naive[..cut].iter().map(|(l, ..)| l.len() + 1).sum();
        let mut primed = Block::default();
        primed.prime(block::lookback(&data[..offset]));
        assert_eq!(
            steps(&mut primed, &naive[cut..]),
            whole[cut..],
            "cut at line {cut}"
        );
    }
}

fn naive_lines(data: &[u8]) -> Vec<(&[u8], Option<usize>, bool)> {
    if data.is_empty() {
        return Vec::new();
    }
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    body.split(|&b| b == b'\n')
        .map(|l| {
            let sep = l
                .iter()
                .position(|b| matches!(b, b':' | b';' | b'|' | b'\t'));
            (l, sep, l.contains(&0))
        })
        .collect()
}

fn outcome(p: Parsed<'_>) -> Result<(Vec<u8>, Vec<u8>), crate::parse::SkipReason> {
    match p {
        Parsed::Pair(c) => Ok((c.login.into_owned(), c.password.into_owned())),
        Parsed::Skip(r) => Err(r),
    }
}

/// A CSV dump's records ([`CsvRecords`], bounded) against the `csv` crate.
pub fn csv_records(data: &[u8]) {
    let mut ours = Vec::new();
    let mut r = CsvRecords::new(data);
    while let Some(rec) = r.next_record().expect("reading a slice") {
        ours.push(match rec {
            CsvRecord::Fields(f, line) => {
                Some((f.iter().map(<[u8]>::to_vec).collect::<Vec<_>>(), line))
            }
            CsvRecord::TooLong(_) => None,
        });
    }
    if ours.iter().any(Option::is_none) {
        return; // over the caps: the csv crate reads what we drop
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(crate::parse::LineTracker::new(data));
    let mut rec = csv::ByteRecord::new();
    let mut want = Vec::new();
    while rdr.read_byte_record(&mut rec).expect("reading a slice") {
        let line = rdr
            .get_ref()
            .line_of(rec.position().map_or(0, |p| p.byte()));
        want.push(Some((rec.iter().map(<[u8]>::to_vec).collect(), line)));
    }
    assert_eq!(ours, want);
}

/// Rows a customers reader gave, with their keys.
type Rows = Vec<(u64, [Option<Vec<u8>>; 3])>;

struct Collect {
    rows: Rows,
    all: Arc<Mutex<Rows>>,
}

impl RowSink for Collect {
    fn row(&mut self, row: RawRow<'_>) -> Result<(), RowError> {
        self.rows
            .push((row.key, row.cells.map(|c| c.map(<[u8]>::to_vec))));
        Ok(())
    }

    fn end_range(&mut self, _range: usize) {}

    fn finish(self: Box<Self>) {
        if let Ok(mut all) = self.all.lock() {
            all.extend(self.rows);
        }
    }
}

/// Every row one customers read gives, with its line, in file order; or the
/// error's text.
fn collect(
    read: impl FnOnce(&SinkFactory<'_>) -> Result<LineMap, CustomersError>,
) -> Result<Rows, String> {
    let all = Arc::new(Mutex::new(Vec::new()));
    let make = || -> Box<dyn RowSink> {
        Box::new(Collect {
            rows: Vec::new(),
            all: Arc::clone(&all),
        })
    };
    let r = read(&make).map_err(|e| e.to_string());
    let mut rows = std::mem::take(&mut *all.lock().expect("lock"));
    rows.sort_by_key(|r| r.0);
    r.map(|lines| rows.into_iter().map(|(k, c)| (lines.line(k), c)).collect())
}

/// The customers file's parallel mapped reader (small chunks, so every boundary
/// case comes up) against the `csv` crate's stream reader, then a whole index
/// build from it: the same rows on the same lines, or the same error.
pub fn customers(data: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("c.csv");
    std::fs::write(&path, data).expect("write");
    let mapped = collect(|make| CsvFile::new(&path).with_chunk(64).read(make, &|| false));
    let streamed = collect(|make| crate::customers::csv::read_stream(&path, data, make, &|| false));
    assert_eq!(mapped, streamed, "mapped and streamed readers");
    let _ = build(
        &CsvFile::new(&path),
        &BuildOptions {
            memory: 1 << 20,
            tmp_dir: dir.path().to_path_buf(),
            ..BuildOptions::default()
        },
        None,
        Target::Memory,
        &|| false,
    );
}

/// An `.lmx` file of these bytes: opened, checked and read, never a crash.
pub fn lmx(data: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("i.lmx");
    std::fs::write(&path, data).expect("write");
    let Ok(index) = crate::index::file::open(&path) else {
        return;
    };
    if let Some(m) = index.mapped() {
        let _ = m.verify_tables();
    }
    let view = index.view();
    let (mut scratch, mut out) = (Vec::new(), Vec::new());
    for login in [&b"alice@example.com"[..], b"", b"x"] {
        let hash = crate::login::hash_login(login, &mut scratch);
        let _ = view.may_hold(hash);
        view.accounts_of(hash, login, &mut scratch, &mut out);
        for &a in &out {
            let _ = view.account(a);
        }
    }
    if let Some(m) = index.mapped() {
        let _ = m.verify_read();
    }
}

/// These bytes as each container a dump comes in (`.gz`, `.zst`, `.bz2`, `.xz`,
/// `.zip`, `.tar`, `.tgz`, and as a plain file, whose first bytes are sniffed),
/// discovered and scanned against a one-customer index: never a crash.
pub fn containers(data: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let customers = dir.path().join("customers.csv");
    std::fs::write(
        &customers,
        "account_id,login,password_hash\n1,a@b.c,5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8\n",
    )
    .expect("write");
    let (index, _) = build(
        &CsvFile::new(&customers),
        &BuildOptions::default(),
        None,
        Target::Memory,
        &|| false,
    )
    .expect("index");
    let mut paths = Vec::new();
    for ext in [
        "gz", "zst", "bz2", "xz", "zip", "csv.gz", "tar", "tgz", "txt",
    ] {
        let p = dir.path().join(format!("dump.{ext}"));
        std::fs::write(&p, data).expect("write");
        paths.push(p);
    }
    let (files, _) = crate::input::discover(&paths);
    let _ = crate::scan::scan(&files, index.view(), &crate::scan::ScanOptions::default());
}
