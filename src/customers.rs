//! The customers file: CSV of registered accounts, loaded into a [`CustomerIndex`].
//!
//! Owns reading and validating the customers CSV: a header row naming `account_id`,
//! `login` and `password_hash` in any order (other columns ignored, RFC 4180 quoting),
//! one account per row. Any problem stops the load with a [`CustomersError`] naming the
//! file, the line and what is wrong — never a hash value. The file is streamed through
//! the `csv` reader, never read whole.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::index::{BuildError, CustomerIndex, IndexBuilder};
use crate::verify::{parse_stored, HashFormatError};

/// The required columns, by header name.
pub const COLUMNS: [&str; 3] = ["account_id", "login", "password_hash"];

/// What is wrong with one row.
#[derive(Debug, Error)]
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
    /// The password hash is malformed or unsupported.
    #[error(transparent)]
    Hash(#[from] HashFormatError),
    /// The account id was already used on an earlier line.
    #[error("duplicate account_id (first used on line {0})")]
    DuplicateAccount(u64),
    /// The index cannot hold this row.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// Why a customers file could not be loaded.
#[derive(Debug, Error)]
pub enum CustomersError {
    /// The file could not be opened or read.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error, as text.
        message: String,
    },
    /// The header lacks a required column.
    #[error("{path}:1: header has no `{column}` column (need account_id, login, password_hash)")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The missing column.
        column: &'static str,
    },
    /// The file is empty: no header.
    #[error("{0}: empty file, expected a header row with account_id, login, password_hash")]
    Empty(PathBuf),
    /// A bad row.
    #[error("{path}:{line}: {error}")]
    Row {
        /// The file.
        path: PathBuf,
        /// 1-based line where the row starts.
        line: u64,
        /// What is wrong.
        error: RowError,
    },
}

/// Loads a customers CSV from `path` into an in-memory index.
pub fn load(path: &Path) -> Result<CustomerIndex, CustomersError> {
    let file = File::open(path).map_err(|e| CustomersError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    load_from(path, file)
}

/// Loads a customers CSV from any reader; `path` names it in errors.
pub fn load_from<R: Read>(path: &Path, reader: R) -> Result<CustomerIndex, CustomersError> {
    let p = || path.to_path_buf();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let io = |e: csv::Error| CustomersError::Io {
        path: p(),
        message: e.to_string(),
    };
    let mut record = csv::ByteRecord::new();
    if !rdr.read_byte_record(&mut record).map_err(io)? {
        return Err(CustomersError::Empty(p()));
    }
    let mut cols = [0usize; 3];
    for (slot, name) in cols.iter_mut().zip(COLUMNS) {
        *slot = record
            .iter()
            .position(|h| {
                let h = h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h);
                h.trim_ascii().eq_ignore_ascii_case(name.as_bytes())
            })
            .ok_or(CustomersError::MissingColumn {
                path: p(),
                column: name,
            })?;
    }

    let mut builder = IndexBuilder::new();
    let mut lines: Vec<u64> = Vec::new();
    while rdr.read_byte_record(&mut record).map_err(io)? {
        let line = record.position().map_or(0, |pos| pos.line());
        if record.len() == 1 && record[0].trim_ascii().is_empty() {
            continue; // a blank line
        }
        let row_err = |error| CustomersError::Row {
            path: p(),
            line,
            error,
        };
        let field = |i: usize| -> Result<&str, RowError> {
            let name = COLUMNS[i];
            let raw = record.get(cols[i]).ok_or(RowError::MissingField(name))?;
            let s = std::str::from_utf8(raw).map_err(|_| RowError::NotUtf8(name))?;
            if s.trim().is_empty() {
                return Err(RowError::EmptyField(name));
            }
            Ok(s)
        };
        let (id, login, hash) =
            (|| Ok::<_, RowError>((field(0)?, field(1)?, field(2)?)))().map_err(row_err)?;
        let stored = parse_stored(hash).map_err(|e| row_err(e.into()))?;
        builder
            .add(id.trim(), login, &stored)
            .map_err(|e| row_err(e.into()))?;
        lines.push(line);
    }
    if let Some((first, again)) = builder.find_duplicate_id() {
        return Err(CustomersError::Row {
            path: p(),
            line: lines[again],
            error: RowError::DuplicateAccount(lines[first]),
        });
    }
    builder.build().map_err(|e| CustomersError::Row {
        path: p(),
        line: lines.last().copied().unwrap_or(1),
        error: e.into(),
    })
}
