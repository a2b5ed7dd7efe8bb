//! Customers: where the registered accounts come from, and what a valid row is.
//!
//! Owns reading customer rows from a source ([`CustomerSource`]; today a CSV file,
//! [`csv`]) and the rules every row must pass ([`validate`]): `account_id`, `login`
//! and `password_hash` present, UTF-8, not blank, no longer than [`MAX_FIELD`], a
//! hash the engine can verify, and `account_id` unique across the file ([`ids`]).
//! Any problem stops the load with a [`CustomersError`] naming the source, the line
//! and what is wrong — never a hash value.
//!
//! Rows are read in parallel and handed to [`RowSink`]s, one per worker; what is
//! built from them (an index, or only the customers a dump names) is
//! [`crate::index::build`](mod@crate::index::build)'s business. [`Digest`] identifies a customer set whatever
//! the order of its rows: `--state` keys on it.

pub mod csv;
pub mod ids;

pub use csv::{CsvFile, LineMap};

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::verify::{check_stored, parse_stored_into, HashFormatError, Scheme};

/// The required columns, by header name.
pub const COLUMNS: [&str; 3] = ["account_id", "login", "password_hash"];

/// Longest account_id, login or stored hash a customer row may hold, in bytes.
pub const MAX_FIELD: usize = u16::MAX as usize;

/// What is wrong with one row.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RowError {
    /// The row has fewer fields than the named column needs.
    #[error("missing {0} field")]
    MissingField(&'static str),
    /// The field is empty.
    #[error("{0} is empty")]
    EmptyField(&'static str),
    /// The field is not UTF-8.
    #[error("{0} is not valid UTF-8")]
    NotUtf8(&'static str),
    /// The field is longer than [`MAX_FIELD`].
    #[error("{0} is longer than {MAX_FIELD} bytes")]
    TooLong(&'static str),
    /// The field holds a line break or another control character: an id is printed
    /// one per line (`--format ids`) and on terminals.
    #[error("{0} contains a control character (a line break, tab, escape, ...)")]
    ControlCharacter(&'static str),
    /// The password hash is malformed or unsupported.
    #[error(transparent)]
    Hash(#[from] HashFormatError),
    /// The account id was already used on an earlier line.
    #[error("duplicate account_id (first used on line {0})")]
    DuplicateAccount(u64),
}

/// Why customers could not be loaded.
#[derive(Debug, Error)]
pub enum CustomersError {
    /// The source could not be opened or read.
    #[error("{path}: {message}")]
    Io {
        /// The source.
        path: PathBuf,
        /// The I/O error, as text.
        message: String,
    },
    /// The header lacks a required column.
    #[error(
        "{path}:{line}: header has no `{column}` column (need account_id, login, password_hash)"
    )]
    MissingColumn {
        /// The source.
        path: PathBuf,
        /// 1-based line of the header (the first line that is not empty).
        line: u64,
        /// The missing column.
        column: &'static str,
    },
    /// The source is empty: no header.
    #[error("{0}: empty file, expected a header row with account_id, login, password_hash")]
    Empty(PathBuf),
    /// A bad row.
    #[error("{path}:{line}: {error}")]
    Row {
        /// The source.
        path: PathBuf,
        /// 1-based line where the row starts.
        line: u64,
        /// What is wrong.
        error: RowError,
    },
    /// The load was cancelled (Ctrl-C).
    #[error("interrupted")]
    Interrupted,
}

/// One data row as read: where it starts and its `account_id`, `login` and
/// `password_hash` cells (`None` where the row is too short to have one).
#[derive(Clone, Copy, Debug)]
pub struct RawRow<'a> {
    /// Where the row starts, as a key that orders rows as the source does; the
    /// source's [`LineMap`] turns it into a line number.
    pub key: u64,
    /// The three cells, in [`COLUMNS`] order.
    pub cells: [Option<&'a [u8]>; 3],
    /// The source checked that every cell is ASCII (a row at a time is cheaper
    /// than a cell at a time).
    pub ascii: bool,
}

/// A valid customer row.
#[derive(Clone, Copy, Debug)]
pub struct Customer<'a> {
    /// `account_id`, trimmed.
    pub id: &'a str,
    /// The login as registered (untrimmed: the report shows it as it is).
    pub login: &'a str,
    /// The scheme of the stored hash.
    pub scheme: Scheme,
    /// The stored hash as the index keeps it (see [`crate::verify`]).
    pub data: &'a [u8],
}

/// Checks one row: every cell present, UTF-8, not blank, not over [`MAX_FIELD`],
/// and a password hash the engine verifies. `data` is a reused buffer that receives
/// the stored hash.
pub fn validate<'a>(row: &RawRow<'a>, data: &'a mut Vec<u8>) -> Result<Customer<'a>, RowError> {
    Fields::of(row)?.parse(data)
}

/// A row's cells, checked as text: present, UTF-8, not blank, not over
/// [`MAX_FIELD`]. The stored hash is checked by [`Fields::parse`] (which decodes
/// it) or [`Fields::check`] (which need not).
#[derive(Clone, Copy, Debug)]
pub struct Fields<'a> {
    /// `account_id`, trimmed.
    pub id: &'a str,
    /// The login as registered.
    pub login: &'a str,
    /// The `password_hash` cell.
    pub hash: &'a str,
}

impl<'a> Fields<'a> {
    /// The cells of `row`, or what is wrong with the first bad one.
    #[inline]
    pub fn of(row: &RawRow<'a>) -> Result<Fields<'a>, RowError> {
        let (id, login, hash) = (cell(row, 0)?, cell(row, 1)?, cell(row, 2)?);
        let id = crate::verify::trim(id);
        let control = id.bytes().any(|b| b < 0x20 || b == 0x7f)
            || (!id.is_ascii() && id.chars().any(char::is_control));
        if control {
            return Err(RowError::ControlCharacter(COLUMNS[0]));
        }
        Ok(Fields { id, login, hash })
    }

    /// The valid customer: the stored hash parsed into `data` (a reused buffer).
    #[inline]
    pub fn parse(self, data: &'a mut Vec<u8>) -> Result<Customer<'a>, RowError> {
        let scheme = parse_stored_into(self.hash, data)?;
        if data.len() > MAX_FIELD {
            return Err(RowError::TooLong(COLUMNS[2]));
        }
        Ok(Customer {
            id: self.id,
            login: self.login,
            scheme,
            data,
        })
    }

    /// Whether [`Fields::parse`] would succeed, and the scheme, at less cost (a hex
    /// digest's digits are checked, not decoded; a slow scheme's value is left in
    /// `scratch` as `parse` would store it): for the rows a build reads but does
    /// not keep.
    #[inline]
    pub fn check(self, scratch: &mut Vec<u8>) -> Result<Scheme, RowError> {
        let scheme = check_stored(self.hash, scratch)?;
        // Only a slow scheme keeps its value whole, and none of the fast ones
        // decodes to more bytes than its text.
        if scratch.len() > MAX_FIELD {
            return Err(RowError::TooLong(COLUMNS[2]));
        }
        Ok(scheme)
    }
}

/// Cell `i` of `row` as text, or what is wrong with it.
#[inline(always)]
fn cell<'a>(row: &RawRow<'a>, i: usize) -> Result<&'a str, RowError> {
    let name = COLUMNS[i];
    let raw = row.cells[i].ok_or(RowError::MissingField(name))?;
    let s = if row.ascii || raw.is_ascii() {
        // SAFETY: ASCII is valid UTF-8 (the row's source or this check says it
        // is ASCII). Checking for ASCII first, a word at a time, is what nearly
        // every cell needs, and cheaper than the general validation: profiled
        // at an eighth of reading 20M rows.
        unsafe { std::str::from_utf8_unchecked(raw) }
    } else {
        std::str::from_utf8(raw).map_err(|_| RowError::NotUtf8(name))?
    };
    if crate::verify::trim(s).is_empty() {
        return Err(RowError::EmptyField(name));
    }
    if s.len() > MAX_FIELD {
        return Err(RowError::TooLong(name));
    }
    Ok(s)
}

/// Whether a row is a blank line (one cell, only whitespace): skipped, as the CSV
/// readers always have.
pub fn is_blank(fields: usize, first: &[u8]) -> bool {
    fields == 1 && first.trim_ascii().is_empty()
}

/// Where a source hands its rows: one sink per worker. A source cuts its rows into
/// numbered ranges (in source order); each range goes to one sink, whole and in
/// order, followed by [`RowSink::end_range`]; a sink is given ranges in increasing
/// order, and every range is ended by some sink, even one without rows.
pub trait RowSink: Send {
    /// Takes one row of the current range (its key says which: [`range_of`]). An
    /// error stops the load; the source reports the error of the earliest line.
    fn row(&mut self, row: RawRow<'_>) -> Result<(), RowError>;

    /// Takes consecutive rows of the current range, in order, as
    /// [`RowSink::row`] would one by one (the error comes with its row's key). A
    /// source that parses many rows at once hands them over so, and a sink can
    /// start the memory loads of the next rows while it checks one.
    fn rows(&mut self, rows: &[RawRow<'_>]) -> Result<(), (u64, RowError)> {
        for r in rows {
            self.row(*r).map_err(|e| (r.key, e))?;
        }
        Ok(())
    }

    /// The range `range` is over.
    fn end_range(&mut self, range: usize);

    /// Called once when the worker is done, to hand its results over.
    fn finish(self: Box<Self>);
}

/// The range a row key belongs to ([`csv::row_key`]).
pub fn range_of(key: u64) -> usize {
    (key >> 40) as usize
}

/// Makes the sink of each worker.
pub type SinkFactory<'s> = dyn Fn() -> Box<dyn RowSink + 's> + Sync + 's;

/// A source of customer rows.
pub trait CustomerSource: Sync {
    /// The name errors use (a path).
    fn name(&self) -> &Path;

    /// Roughly how many bytes of rows the source holds, if it knows: how the
    /// build sizes its partitions and how a scan chooses its strategy.
    fn size_hint(&self) -> Option<u64>;

    /// Whether [`CustomerSource::read`] may be called again and gives the same
    /// rows with the same keys.
    fn rereadable(&self) -> bool;

    /// Reads every data row into sinks made by `make`, in parallel where the source
    /// allows. A row error is reported for the earliest bad line; `cancelled` is
    /// polled between pieces of work.
    fn read(
        &self,
        make: &SinkFactory<'_>,
        cancelled: &(dyn Fn() -> bool + Sync),
    ) -> Result<LineMap, CustomersError>;
}

/// The identity of a customer set: how many rows and the sum of each row's
/// 128-bit hash (of its id, login, scheme and stored hash). The same customers give
/// the same digest whatever the order of their rows; a changed, added or removed
/// row changes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Digest {
    /// Rows.
    pub rows: u64,
    /// Wrapping sum of the rows' hashes.
    pub sum: u128,
}

impl Digest {
    /// Adds one valid row, whose id hashes to `id_hash` ([`Digest::id_hash`]): a
    /// 128-bit hash of its fields chained through each other's seeds (so a login
    /// moved to another id changes it), each hashed in one shot (a streaming
    /// hasher's set-up was a tenth of a row's cost).
    #[inline]
    pub fn add(&mut self, c: &Customer<'_>, id_hash: u128) {
        use xxhash_rust::xxh3::{xxh3_128_with_seed, xxh3_64_with_seed};
        let seed = xxh3_64_with_seed(c.login.as_bytes(), id_hash as u64 ^ c.scheme as u64);
        let row = xxh3_128_with_seed(c.data, seed).wrapping_add(id_hash);
        self.rows += 1;
        self.sum = self.sum.wrapping_add(row);
    }

    /// The hash of an id, shared by the digest and the duplicate check.
    #[inline]
    pub fn id_hash(id: &str) -> u128 {
        xxhash_rust::xxh3::xxh3_128(id.as_bytes())
    }

    /// Merges another worker's digest.
    pub fn merge(&mut self, o: Digest) {
        self.rows += o.rows;
        self.sum = self.sum.wrapping_add(o.sum);
    }

    /// The 64-bit snapshot id `--state` records.
    pub fn snapshot(&self) -> u64 {
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&self.rows.to_le_bytes());
        b[8..].copy_from_slice(&self.sum.to_le_bytes());
        xxhash_rust::xxh3::xxh3_64(&b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(cells: [Option<&'a str>; 3]) -> RawRow<'a> {
        RawRow {
            ascii: false,
            key: 7,
            cells: cells.map(|c| c.map(str::as_bytes)),
        }
    }

    const SHA1: &str = "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8";

    #[test]
    fn validation_names_the_cell() {
        let mut buf = Vec::new();
        let ok = validate(&row([Some(" a1 "), Some(" Al@x "), Some(SHA1)]), &mut buf).unwrap();
        assert_eq!((ok.id, ok.login, ok.scheme), ("a1", " Al@x ", Scheme::Sha1));
        let err = |cells| validate(&row(cells), &mut Vec::new()).unwrap_err();
        assert_eq!(
            err([Some("a"), None, Some(SHA1)]),
            RowError::MissingField("login")
        );
        assert_eq!(
            err([Some("a"), Some("  "), Some(SHA1)]),
            RowError::EmptyField("login")
        );
        let long = "x".repeat(MAX_FIELD + 1);
        assert_eq!(
            err([Some(&long), Some("l"), Some(SHA1)]),
            RowError::TooLong("account_id")
        );
        assert!(matches!(
            err([Some("a"), Some("l"), Some("zz")]),
            RowError::Hash(_)
        ));
    }

    #[test]
    fn the_digest_ignores_row_order_and_sees_every_field() {
        let rows = [
            ["a1", "x@y", SHA1],
            ["a2", "z@y", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="],
        ];
        let digest = |order: &[usize]| {
            let mut d = Digest::default();
            for &i in order {
                let r = row(rows[i].map(Some));
                let mut data = Vec::new();
                let c = validate(&r, &mut data).unwrap();
                d.add(&c, Digest::id_hash(c.id));
            }
            d
        };
        assert_eq!(digest(&[0, 1]), digest(&[1, 0]));
        assert_ne!(digest(&[0, 1]), digest(&[0]));
        let mut other = Digest::default();
        let r = row([Some("a1"), Some("X@y"), Some(SHA1)]);
        let mut data = Vec::new();
        let c = validate(&r, &mut data).unwrap();
        other.add(&c, Digest::id_hash(c.id));
        assert_ne!(other, digest(&[0]));
    }
}
