//! The scan's hot loop: every line of a buffer parsed, its login hashed and probed.

use std::borrow::Cow;

use super::probe::Probe;
use super::{Counters, ScanOptions, UnitOut};
use crate::candidates::Sighting;
use crate::login;
use crate::parse::block::{self, Block, Step};
use crate::parse::url::{url_before, UrlFilter};
use crate::parse::{self, Parsed, SkipReason};

/// Lines per lookup batch.
pub const BATCH: usize = 16;

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
pub(super) struct LineScanner<P> {
    pub(super) probe: P,
    file: u32,
    /// Lines seen so far in this unit.
    line: u64,
    norm: Vec<u8>,
    /// A stealer-log block whose login waits for its password.
    pub(super) block: Block,
    /// `--url-filter`.
    url_filter: Option<std::sync::Arc<UrlFilter>>,
    /// The AVX2 line classifier, where the CPU has it.
    #[cfg(target_arch = "x86_64")]
    avx2: Option<parse::Avx2>,
}

impl<P: Probe> LineScanner<P> {
    pub(super) fn new(probe: P, file: u32, opts: &ScanOptions) -> Self {
        #[cfg(not(target_arch = "x86_64"))]
        let _ = opts.baseline_simd; // only x86_64 has another build
        LineScanner {
            probe,
            file,
            line: 0,
            norm: Vec::with_capacity(256),
            block: Block::default(),
            url_filter: opts.url_filter.clone(),
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
    pub(super) fn scan(&mut self, bytes: &[u8], out: &mut UnitOut) {
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
            // Stealer-log blocks: a label within the first ten bytes, or an open
            // block, is all that sends a line here.
            let colon = if nul {
                None
            } else {
                block::may_be_field(line, sep)
            };
            if colon.is_some() || self.block.is_open() {
                match self.block.step(line, colon) {
                    Step::Other => {}
                    Step::Field => {
                        out.counters.skipped[SkipReason::BlockField.index()] += 1;
                        continue;
                    }
                    Step::Pair(login, password) => {
                        if self.filtered(self.block.url()) {
                            out.counters.skipped[SkipReason::UrlFiltered.index()] += 1;
                            continue;
                        }
                        out.counters.pairs += 1;
                        self.lookup_now(&login, password, self.line, out);
                        continue;
                    }
                }
            }
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
                        // Decoded JSON escapes: rare, looked up at once (a JSON
                        // line names no URL for --url-filter).
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
            if self.url_filter.is_some() && self.filtered(url_before(line, login)) {
                out.counters.skipped[SkipReason::UrlFiltered.index()] += 1;
                continue;
            }
            out.counters.pairs += 1;
            let hash = login::hash_login(login, &mut self.norm);
            self.probe.hashed(hash);
            filling.push(Pending {
                hash,
                line: self.line,
                login,
                password,
            });
            if filling.len == BATCH {
                self.probe_slots(&mut probing, out);
                self.filter(waiting, &mut probing);
                std::mem::swap(&mut filling, &mut waiting);
            }
        }
        self.probe_slots(&mut probing, out);
        self.filter(waiting, &mut probing);
        self.probe_slots(&mut probing, out);
        self.filter(filling, &mut probing);
        self.probe_slots(&mut probing, out);
    }

    /// Reads the Bloom filter for every login of a batch and empties it, moving the
    /// logins it lets through to `probing` with their slot prefetched.
    fn filter<'b>(&self, batch: &mut Batch<'b>, probing: &mut Batch<'b>) {
        for &p in batch.take() {
            if self.probe.may_contain(p.hash) {
                self.probe.prefetch_slot(p.hash);
                probing.push(p);
            }
        }
    }

    /// Whether `--url-filter` drops a credential saved for `url` (one that names
    /// no URL is kept).
    #[cold]
    fn filtered(&self, url: Option<&[u8]>) -> bool {
        match (&self.url_filter, url) {
            (Some(filter), Some(url)) => !filter.allows(url),
            _ => false,
        }
    }

    pub(super) fn count_skip(&mut self, r: SkipReason, c: &mut Counters) {
        self.line += 1;
        c.lines += 1;
        c.skipped[r.index()] += 1;
    }

    /// Probes the slot table for every login of a batch (all passed the filter) and
    /// empties it.
    fn probe_slots(&mut self, batch: &mut Batch<'_>, out: &mut UnitOut) {
        for &p in batch.take() {
            if self.probe.slot_hint(p.hash).is_some() {
                self.candidate(p.hash, p.login, p.password, p.line, out);
            }
        }
    }

    /// Looks one login up at once (CSV records, whose bytes do not outlive the
    /// record buffer).
    pub(super) fn lookup_now(
        &mut self,
        login: &[u8],
        password: &[u8],
        line: u64,
        out: &mut UnitOut,
    ) {
        let hash = login::hash_login(login, &mut self.norm);
        if self.probe.may_hold(hash).is_some() {
            self.candidate(hash, login, password, line, out);
        }
    }

    /// Records a login the index may hold as a candidate. The login is normalised
    /// only now; [`crate::confirm`] confirms it.
    fn candidate(
        &mut self,
        hash: u64,
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
        out.candidates.add(hash, norm, password, 1, seen);
        out.counters.candidate_pairs += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidates::Candidates;
    use crate::chunk::split_chunks;

    mod props {
        use super::*;
        use crate::candidates::CandInfo;
        use crate::index::{IndexBuilder, IndexView};
        use proptest::prelude::*;

        fn scan_bytes(bytes: &[u8], index: IndexView<'_>) -> UnitOut {
            scan_bytes_with(bytes, index, &ScanOptions::default())
        }

        fn scan_bytes_with(bytes: &[u8], index: IndexView<'_>, opts: &ScanOptions) -> UnitOut {
            scan_part(bytes, &[], index, opts)
        }

        /// Scans `bytes` as a unit that starts after `before` (its block primed
        /// from the lines just before it, as the scan primes a chunk).
        fn scan_part(
            bytes: &[u8],
            before: &[u8],
            index: IndexView<'_>,
            opts: &ScanOptions,
        ) -> UnitOut {
            let mut out = UnitOut::default();
            let mut scanner = LineScanner::new(index, 0, opts);
            scanner.block.prime(block::lookback(before));
            scanner.scan(bytes, &mut out);
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
            /// chunks (as the parallel scan does) changes nothing: stealer-log blocks
            /// across a cut included.
            #[test]
            fn every_line_accounted_and_chunking_is_invisible(
                lines in proptest::collection::vec(
                    prop_oneof![
                        Just(b"alice@x.io:pw".to_vec()),
                        Just(b"ALICE@x.io;other".to_vec()),
                        Just(b"https://h.io:81/p:alice@x.io:pw".to_vec()),
                        Just(br#"{"email":"alice@x.io","password":"pw"}"#.to_vec()),
                        Just(b"URL: https://h.io/login".to_vec()),
                        Just(b"Host: other.example".to_vec()),
                        Just(b"https://other.example/:alice@x.io:pw".to_vec()),
                        Just(b"Username: alice@x.io".to_vec()),
                        Just(b"USER:ALICE@x.io\r".to_vec()),
                        Just(b"Password: pw".to_vec()),
                        Just(b"pass:other".to_vec()),
                        Just(b"".to_vec()),
                        Just(b"=====".to_vec()),
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
                b.add("a", "alice@x.io", &hex);
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

                // Cut into chunks, with and without --url-filter: the same.
                let filter = ScanOptions {
                    url_filter: Some(std::sync::Arc::new(UrlFilter::new(["other.example"]))),
                    ..ScanOptions::default()
                };
                for opts in [ScanOptions::default(), filter] {
                    let whole = scan_bytes_with(&bytes, v, &opts);
                    let c = &whole.counters;
                    prop_assert_eq!(c.lines, c.pairs + c.skipped_total());
                    let mut merged = Candidates::default();
                    let mut total = Counters::default();
                    let mut offset = 0;
                    for r in split_chunks(&bytes, chunk) {
                        let part = scan_part(&bytes[r.clone()], &bytes[..r.start], v, &opts);
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
}
