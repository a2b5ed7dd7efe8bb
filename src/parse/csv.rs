//! CSV records: the columns that hold login and password, and the line a record
//! starts on.
//!
//! Owns [`CsvColumns`] (found by name from the header, with the JSON key rules) and
//! [`LineTracker`], which lets a `csv` reader name the line each record starts on.
//! The CSV dump scan and the customers loader both read through them.

use std::io::{self, Read};

use super::keys::{word_priority, LOGIN_WORDS, PASSWORD_WORDS};
use super::{pair, Parsed, SkipReason};

/// Column positions of login and password in a CSV dump, found from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsvColumns {
    /// Index of the login column.
    pub login: usize,
    /// Index of the password column.
    pub password: usize,
}

impl CsvColumns {
    /// Finds the columns by name (trimmed, ASCII case-insensitive), using the same key
    /// names and priorities as JSON lines. `None` if either is missing.
    pub fn from_header(header: &CsvFields<'_>) -> Option<CsvColumns> {
        let find = |keys: &[(usize, u64)]| {
            let mut best: Option<(usize, usize)> = None;
            for (col, name) in header.iter().enumerate() {
                let name = name.trim_ascii();
                let name = name.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(name);
                if let Some(p) = word_priority(keys, name) {
                    if best.is_none_or(|(bp, _)| p < bp) {
                        best = Some((p, col));
                    }
                }
            }
            best.map(|(_, col)| col)
        };
        Some(CsvColumns {
            login: find(&LOGIN_WORDS)?,
            password: find(&PASSWORD_WORDS)?,
        })
    }

    /// Takes the pair out of one CSV record.
    pub fn parse<'r>(&self, record: &CsvFields<'r>) -> Parsed<'r> {
        match (record.get(self.login), record.get(self.password)) {
            (Some(login), Some(password)) => {
                if memchr::memchr(0, login).is_some() || memchr::memchr(0, password).is_some() {
                    Parsed::Skip(SkipReason::Binary)
                } else {
                    pair(login, password)
                }
            }
            _ => Parsed::Skip(SkipReason::CsvBadRecord),
        }
    }
}

/// Fields of one CSV record, decoded (quotes removed).
#[derive(Clone, Copy, Debug)]
pub struct CsvFields<'a> {
    data: &'a [u8],
    ends: &'a [usize],
}

impl<'a> CsvFields<'a> {
    /// Field `i`.
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.data[start..end])
    }

    /// Every field, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.ends.len()).filter_map(|i| self.get(i))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the record has no field.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// Most fields a dump's CSV record may have; a record with more is skipped as
/// `too_long` (500 MB of commas took 4.7 GB when field ends were unbounded).
pub const MAX_CSV_FIELDS: usize = 4096;

/// What [`CsvRecords::next_record`] read.
#[derive(Debug)]
pub enum CsvRecord<'a> {
    /// A record starting on this 1-based line.
    Fields(CsvFields<'a>, u64),
    /// A record starting on this line whose decoded bytes exceed
    /// [`super::MAX_LINE`] or whose fields exceed [`MAX_CSV_FIELDS`]: read to its
    /// end and dropped, in bounded memory (an unclosed quote makes the rest of the
    /// file one such record).
    TooLong(u64),
}

/// A CSV dump's records in bounded memory, RFC 4180 as the `csv` crate reads it
/// (`csv-core` underneath, the same state machine), each with the line it starts on.
pub struct CsvRecords<R> {
    inner: R,
    core: csv_core::Reader,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
    out: Box<[u8]>,
    ends: Box<[usize]>,
    /// `\n`s before `buf[start]`.
    newlines: u64,
}

impl<R: Read> CsvRecords<R> {
    /// Reads CSV from `inner`.
    pub fn new(inner: R) -> Self {
        CsvRecords {
            inner,
            core: csv_core::Reader::new(),
            buf: vec![0; 64 << 10].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            out: vec![0; super::MAX_LINE].into_boxed_slice(),
            ends: vec![0; MAX_CSV_FIELDS].into_boxed_slice(),
            newlines: 0,
        }
    }

    /// Refills the input buffer when it is used up; false at the end.
    fn fill(&mut self) -> io::Result<bool> {
        if self.start < self.end {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        let n = loop {
            match self.inner.read(&mut self.buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        self.start = 0;
        self.end = n;
        self.eof = n == 0;
        Ok(n > 0)
    }

    /// Consumes `n` input bytes, counting their line breaks.
    fn consume(&mut self, n: usize) {
        let taken = &self.buf[self.start..self.start + n];
        // Spans are a record long: a plain (vectorised) count beats memchr's setup.
        self.newlines += taken.iter().filter(|&&b| b == b'\n').count() as u64;
        self.start += n;
    }

    /// The next record, `None` at the end of the input.
    pub fn next_record(&mut self) -> io::Result<Option<CsvRecord<'_>>> {
        // Line breaks between records are skipped here, as the reader would skip
        // them, so the record's line is known before it is read.
        while self.fill()? {
            let rest = &self.buf[self.start..self.end];
            let skip = rest
                .iter()
                .position(|&b| b != b'\r' && b != b'\n')
                .unwrap_or(rest.len());
            self.consume(skip);
            if self.start < self.end {
                break;
            }
        }
        let line = self.newlines + 1;
        let (mut outlen, mut nends, mut too_long) = (0, 0, false);
        loop {
            self.fill()?;
            let input = &self.buf[self.start..self.end];
            let (res, nin, nout, nend) = if too_long {
                // Past the cap: the rest of the record is parsed into scratch and
                // dropped.
                let (out, ends) = (&mut self.out[..], &mut self.ends[..]);
                self.core.read_record(input, out, ends)
            } else {
                self.core
                    .read_record(input, &mut self.out[outlen..], &mut self.ends[nends..])
            };
            self.consume(nin);
            if !too_long {
                // (`csv-core` keeps field ends relative to the record's start
                // across calls.)
                outlen += nout;
                nends += nend;
            }
            match res {
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull
                | csv_core::ReadRecordResult::OutputEndsFull => too_long = true,
                csv_core::ReadRecordResult::Record => {
                    return Ok(Some(if too_long {
                        CsvRecord::TooLong(line)
                    } else {
                        CsvRecord::Fields(
                            CsvFields {
                                data: &self.out[..outlen],
                                ends: &self.ends[..nends],
                            },
                            line,
                        )
                    }));
                }
                csv_core::ReadRecordResult::End => return Ok(None),
            }
        }
    }
}

/// A reader that notes where its `\r` and `\n` bytes are, so that a `csv` reader
/// wrapped around it can name the line a record starts on.
///
/// Why not the `csv` reader's own `Position::line`: it is taken before the newlines
/// the reader skips ahead of a record (the `\n` of a CRLF, blank lines), so it names
/// the line above (regression tests in `tests/cli`). Only the line-break bytes not yet
/// passed by [`LineTracker::line_of`] are kept: as many as the `csv` reader's buffer
/// and the current record hold.
pub struct LineTracker<R> {
    inner: R,
    offset: u64,
    /// (offset, byte) of each `\r` or `\n` not yet passed.
    breaks: std::cell::RefCell<std::collections::VecDeque<(u64, u8)>>,
    /// (position passed, `\n`s before it).
    passed: std::cell::Cell<(u64, u64)>,
}

impl<R> LineTracker<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        LineTracker {
            inner,
            offset: 0,
            breaks: Default::default(),
            passed: std::cell::Cell::new((0, 0)),
        }
    }

    /// The 1-based line of a record a `csv` reader says starts at byte `at`: line
    /// breaks right at `at` are skipped first, as the reader skipped them. Positions
    /// only move forward.
    pub fn line_of(&self, at: u64) -> u64 {
        let mut breaks = self.breaks.borrow_mut();
        let (mut cursor, mut newlines) = self.passed.get();
        cursor = cursor.max(at);
        while let Some(&(off, b)) = breaks.front() {
            if off > cursor {
                break;
            }
            if b == b'\n' {
                newlines += 1;
            }
            if off == cursor {
                cursor += 1; // a break right at the record's start: skipped
            }
            breaks.pop_front();
        }
        self.passed.set((cursor, newlines));
        newlines + 1
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let breaks = self.breaks.get_mut();
        for i in memchr::memchr2_iter(b'\r', b'\n', &buf[..n]) {
            breaks.push_back((self.offset + i as u64, buf[i]));
        }
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls `f` with `cells` as one record's fields.
    fn with_fields<T>(cells: &[&str], f: impl FnOnce(&CsvFields<'_>) -> T) -> T {
        let data = cells.concat().into_bytes();
        let ends: Vec<usize> = cells
            .iter()
            .scan(0, |at, c| {
                *at += c.len();
                Some(*at)
            })
            .collect();
        f(&CsvFields {
            data: &data,
            ends: &ends,
        })
    }

    #[test]
    fn csv_columns_by_name() {
        let cols = with_fields(&["id", " Email ", "Password", "username"], |h| {
            CsvColumns::from_header(h)
        })
        .unwrap();
        assert_eq!(
            cols,
            CsvColumns {
                login: 1,
                password: 2
            }
        );
        with_fields(&["1", "x@y.z", "p,w", "u"], |rec| match cols.parse(rec) {
            Parsed::Pair(c) => assert_eq!(&*c.password, b"p,w"),
            other => panic!("{other:?}"),
        });
        with_fields(&["1"], |short| {
            assert!(matches!(
                cols.parse(short),
                Parsed::Skip(SkipReason::CsvBadRecord)
            ))
        });
        assert_eq!(with_fields(&["a", "b"], CsvColumns::from_header), None);
    }

    /// A record's fields and line, or the line of a record over the caps.
    type Read = Result<(Vec<Vec<u8>>, u64), u64>;

    /// Every record [`CsvRecords`] reads, with the line it starts on, or the line
    /// of one over the caps.
    fn records(input: &[u8]) -> Vec<Read> {
        let mut r = CsvRecords::new(input);
        let mut v = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            v.push(match rec {
                CsvRecord::Fields(f, line) => Ok((f.iter().map(<[u8]>::to_vec).collect(), line)),
                CsvRecord::TooLong(line) => Err(line),
            });
        }
        v
    }

    /// What the `csv` crate reads from `input`, lines as [`LineTracker`] names them.
    fn csv_crate(input: &[u8]) -> Vec<Read> {
        let mut want = Vec::new();
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(LineTracker::new(input));
        let mut rec = csv::ByteRecord::new();
        while rdr.read_byte_record(&mut rec).unwrap() {
            let line = rdr.get_ref().line_of(rec.position().unwrap().byte());
            want.push(Ok((rec.iter().map(<[u8]>::to_vec).collect(), line)));
        }
        want
    }

    proptest::proptest! {
        /// The bounded reader is the `csv` crate, records and lines, on any input
        /// within the caps.
        #[test]
        fn records_are_the_csv_crates(input in proptest::collection::vec(
            proptest::sample::select(vec![b'a', b',', b'"', b'\r', b'\n', b' ']), 0..300)
        ) {
            proptest::prop_assert_eq!(records(&input), csv_crate(&input));
        }
    }

    #[test]
    fn records_match_the_csv_crate_with_lines() {
        let input = b"a,b\r\n\r\n\"x\ny\",\"q\"\"q\"\n\n\nlast,,\rz";
        let want = csv_crate(input);
        assert_eq!(records(input), want);
        assert_eq!(want.len(), 4);
    }

    #[test]
    fn an_unclosed_quote_or_a_flood_of_commas_is_one_too_long_record() {
        let mut open = b"u,p\nok,1\n\"never closed,".to_vec();
        open.extend(std::iter::repeat_n(b'x', 3 * super::super::MAX_LINE));
        open.extend(b"\nmore,2\n");
        let got = records(&open);
        assert_eq!(got.len(), 3);
        assert_eq!(got[2], Err(3));
        let mut commas = b"u,p\n".to_vec();
        commas.extend(std::iter::repeat_n(b',', 10 * MAX_CSV_FIELDS));
        commas.extend(b"\nok,1\n");
        let got = records(&commas);
        assert_eq!(got[1], Err(2));
        assert_eq!(got[2], Ok((vec![b"ok".to_vec(), b"1".to_vec()], 3)));
    }
}
