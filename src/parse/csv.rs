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
    pub fn from_header(header: &csv::ByteRecord) -> Option<CsvColumns> {
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
    pub fn parse<'r>(&self, record: &'r csv::ByteRecord) -> Parsed<'r> {
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

    #[test]
    fn csv_columns_by_name() {
        let header = csv::ByteRecord::from(vec!["id", " Email ", "Password", "username"]);
        let cols = CsvColumns::from_header(&header).unwrap();
        assert_eq!(
            cols,
            CsvColumns {
                login: 1,
                password: 2
            }
        );
        let rec = csv::ByteRecord::from(vec!["1", "x@y.z", "p,w", "u"]);
        match cols.parse(&rec) {
            Parsed::Pair(c) => assert_eq!(&*c.password, b"p,w"),
            other => panic!("{other:?}"),
        }
        let short = csv::ByteRecord::from(vec!["1"]);
        assert!(matches!(
            cols.parse(&short),
            Parsed::Skip(SkipReason::CsvBadRecord)
        ));
        let none = csv::ByteRecord::from(vec!["a", "b"]);
        assert_eq!(CsvColumns::from_header(&none), None);
    }
}
