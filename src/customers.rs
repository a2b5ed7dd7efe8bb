//! The customers file: CSV of registered accounts, loaded into a [`CustomerIndex`].
//!
//! Owns reading and validating the customers CSV: a header row naming `account_id`,
//! `login` and `password_hash` in any order (other columns ignored, RFC 4180 quoting),
//! one account per row. Any problem stops the load with a [`CustomersError`] naming the
//! file, the line and what is wrong — never a hash value. A large file without quotes
//! or bare `\r` line ends is memory-mapped and parsed in parallel line-aligned chunks;
//! anything else is streamed through the `csv` reader. Neither reads the file whole
//! into the heap.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use thiserror::Error;

use crate::index::{BuildError, CustomerIndex, IndexBuilder};
use crate::parse::LineTracker;
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
    #[error(
        "{path}:{line}: header has no `{column}` column (need account_id, login, password_hash)"
    )]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// 1-based line of the header (the first line that is not empty).
        line: u64,
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
///
/// A large file without any `"` or bare `\r` is mapped and parsed in parallel chunks
/// (no quoting means a line is a record); anything else goes through the `csv`
/// reader. Both paths share the row validation, so they accept and refuse the same
/// rows with the same messages.
pub fn load(path: &Path) -> Result<CustomerIndex, CustomersError> {
    let io = |e: std::io::Error| CustomersError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() || meta.len() < PARALLEL_MIN_BYTES {
        return load_from(path, file);
    }
    // SAFETY: read-only map of a regular file we only read; the customers file is
    // not expected to change during the load (the same caveat as any mmap reader:
    // truncation by another process could fault).
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
    if needs_csv_reader(&map) {
        return load_from(path, &map[..]);
    }
    load_unquoted(path, &map)
}

/// Whether a file holds what only the `csv` reader handles: a quote, or a `\r` that
/// does not start a `\r\n` (a bare `\r` ends a record for the reader; the parallel
/// path splits lines at `\n` only, and would read a file of bare-`\r` lines as one
/// line).
fn needs_csv_reader(bytes: &[u8]) -> bool {
    memchr::memchr2_iter(b'"', b'\r', bytes)
        .any(|i| bytes[i] == b'"' || bytes.get(i + 1) != Some(&b'\n'))
}

/// Files smaller than this are read sequentially: parallelism would not pay.
const PARALLEL_MIN_BYTES: u64 = 1 << 20;

/// Finds the three columns in a header record, which starts on `line`.
fn columns(path: &Path, line: u64, header: &csv::ByteRecord) -> Result<[usize; 3], CustomersError> {
    let mut cols = [0usize; 3];
    for (slot, name) in cols.iter_mut().zip(COLUMNS) {
        *slot = header
            .iter()
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

/// Validates one data row and adds it. `fields` are the row's account_id, login
/// and password_hash cells (`None` where the row is too short).
fn add_record(builder: &mut IndexBuilder, fields: [Option<&[u8]>; 3]) -> Result<(), RowError> {
    let field = |i: usize| -> Result<&str, RowError> {
        let name = COLUMNS[i];
        let raw = fields[i].ok_or(RowError::MissingField(name))?;
        let s = std::str::from_utf8(raw).map_err(|_| RowError::NotUtf8(name))?;
        if s.trim().is_empty() {
            return Err(RowError::EmptyField(name));
        }
        Ok(s)
    };
    let (id, login, hash) = (field(0)?, field(1)?, field(2)?);
    let stored = parse_stored(hash)?;
    builder.add(id.trim(), login, &stored)?;
    Ok(())
}

/// Checks ids for duplicates and lays out the index. `lines[i]` is the line of the
/// i-th row added.
fn finish(
    path: &Path,
    builder: IndexBuilder,
    lines: &[u64],
) -> Result<CustomerIndex, CustomersError> {
    if let Some((first, again)) = builder.find_duplicate_id() {
        return Err(CustomersError::Row {
            path: path.to_path_buf(),
            line: lines[again],
            error: RowError::DuplicateAccount(lines[first]),
        });
    }
    builder.build().map_err(|e| CustomersError::Row {
        path: path.to_path_buf(),
        line: lines.last().copied().unwrap_or(1),
        error: e.into(),
    })
}

/// The parallel path: the file has no quotes, so every line is one record.
fn load_unquoted(path: &Path, bytes: &[u8]) -> Result<CustomerIndex, CustomersError> {
    // The header is the first line that is not empty, as the `csv` reader has it.
    let (mut header_start, mut header_line) = (0, 1u64);
    let header_end = loop {
        let end = memchr::memchr(b'\n', &bytes[header_start..])
            .map_or(bytes.len(), |i| header_start + i + 1);
        let line = &bytes[header_start..end];
        if !matches!(line, b"\n" | b"\r\n" | b"\r") {
            break end;
        }
        (header_start, header_line) = (end, header_line + 1);
    };
    if header_start == bytes.len() {
        return Err(CustomersError::Empty(path.to_path_buf()));
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&bytes[header_start..header_end]);
    let mut header = csv::ByteRecord::new();
    let _ = rdr.read_byte_record(&mut header);
    let cols = columns(path, header_line, &header)?;
    let body = &bytes[header_end..];
    let parts: Vec<_> = crate::chunk::split_chunks(body, 4 << 20)
        .into_par_iter()
        .map(|r| parse_unquoted_chunk(&body[r], &cols))
        .collect();
    let rows: usize = parts.iter().flatten().map(|(b, _, _)| b.len()).sum();
    // The parts' heaps are taken over as they are (`IndexBuilder::append`).
    let mut builder = IndexBuilder::with_capacity(rows, 0);
    let mut lines = Vec::with_capacity(rows);
    let mut base = header_line;
    for part in parts {
        match part {
            Ok((b, local, count)) => {
                builder.append(b);
                lines.extend(local.into_iter().map(|l| base + l));
                base += count;
            }
            Err((local, error)) => {
                return Err(CustomersError::Row {
                    path: path.to_path_buf(),
                    line: base + local,
                    error,
                })
            }
        }
    }
    finish(path, builder, &lines)
}

type ChunkRows = (IndexBuilder, Vec<u64>, u64);

/// Parses a chunk of unquoted lines: rows with their chunk-relative line numbers,
/// and the number of lines; or the first bad row's relative line and error.
fn parse_unquoted_chunk(chunk: &[u8], cols: &[usize; 3]) -> Result<ChunkRows, (u64, RowError)> {
    // About 75 bytes a row; reserving spares the regrowth copies.
    let mut builder = IndexBuilder::with_capacity(chunk.len() / 64, chunk.len());
    let mut lines = Vec::with_capacity(chunk.len() / 64);
    let mut n = 0u64;
    let last = cols.iter().copied().max().unwrap_or(0);
    let mut start = 0;
    while start < chunk.len() {
        let end = memchr::memchr(b'\n', &chunk[start..]).map_or(chunk.len(), |i| start + i);
        let line = &chunk[start..end];
        start = end + 1;
        n += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.trim_ascii().is_empty() {
            continue;
        }
        let mut fields = [None; 3];
        let mut cell_start = 0;
        let commas = memchr::memchr_iter(b',', line).chain([line.len()]);
        for (i, comma) in commas.enumerate().take(last + 1) {
            let cell = &line[cell_start..comma];
            cell_start = comma + 1;
            for (f, c) in fields.iter_mut().zip(cols) {
                if *c == i {
                    *f = Some(cell);
                }
            }
        }
        add_record(&mut builder, fields).map_err(|e| (n, e))?;
        lines.push(n);
    }
    Ok((builder, lines, n))
}

/// Loads a customers CSV from any reader; `path` names it in errors.
pub fn load_from<R: Read>(path: &Path, reader: R) -> Result<CustomerIndex, CustomersError> {
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
    if !rdr.read_byte_record(&mut record).map_err(io)? {
        return Err(CustomersError::Empty(p()));
    }
    let header_line = rdr
        .get_ref()
        .line_of(record.position().map_or(0, |pos| pos.byte()));
    let cols = columns(path, header_line, &record)?;
    let mut builder = IndexBuilder::new();
    let mut lines: Vec<u64> = Vec::new();
    while rdr.read_byte_record(&mut record).map_err(io)? {
        let at = record.position().map_or(0, |pos| pos.byte());
        let line = rdr.get_ref().line_of(at);
        if record.len() == 1 && record[0].trim_ascii().is_empty() {
            continue; // a blank line
        }
        let fields = cols.map(|c| record.get(c));
        add_record(&mut builder, fields).map_err(|error| CustomersError::Row {
            path: p(),
            line,
            error,
        })?;
        lines.push(line);
    }
    finish(path, builder, &lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One line of a customers file without quotes: a good row, or one of the ways
    /// a row goes wrong, or an empty or blank line.
    fn row() -> impl Strategy<Value = String> {
        let sha1 = "[0-9a-f]{40}";
        prop_oneof![
            4 => ("[a-c][0-9]", "[A-Za-z ]{0,3}@x\\.io", sha1)
                .prop_map(|(id, login, h)| format!("{id},{login},{h}")),
            1 => ("[a-c][0-9]", sha1).prop_map(|(id, h)| format!("{id},  ,{h}")),
            1 => Just(String::new()),
            1 => Just("   ".to_string()),
            1 => "[a-c][0-9],[a-z]@x\\.io".prop_map(String::from),
            1 => "[a-c][0-9],[a-z]@x\\.io,[0-9a-z]{0,41}".prop_map(String::from),
            1 => ("[a-c][0-9]", sha1).prop_map(|(id, h)| format!("{id},u@x.io,{h},extra")),
        ]
    }

    /// A whole file: empty lines, a header with the columns in some order (one
    /// perhaps missing), rows, LF or CRLF line ends, a last line with or without one.
    fn file() -> impl Strategy<Value = Vec<u8>> {
        let header = prop_oneof![
            Just("account_id,login,password_hash"),
            Just("password_hash,Account_ID, login ,extra"),
            Just("login,password_hash,account_id"),
            Just("account_id,login,hash"),
        ];
        (
            0..3usize,
            header,
            proptest::collection::vec((row(), any::<bool>()), 0..12),
            any::<bool>(),
        )
            .prop_map(|(empty, header, rows, last_ended)| {
                let mut text = "\n".repeat(empty);
                text.push_str(header);
                text.push('\n');
                let n = rows.len();
                for (i, (row, crlf)) in rows.into_iter().enumerate() {
                    text.push_str(&row);
                    if i + 1 < n || last_ended {
                        text.push_str(if crlf { "\r\n" } else { "\n" });
                    }
                }
                text.into_bytes()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// The parallel path (big unquoted files) builds exactly the index the `csv`
        /// reader builds, or fails with exactly its message.
        #[test]
        fn parallel_path_agrees_with_the_csv_reader(text in file()) {
            prop_assume!(!needs_csv_reader(&text));
            let path = Path::new("c.csv");
            match (load_unquoted(path, &text), load_from(path, &text[..])) {
                (Ok(a), Ok(b)) => {
                    let (a, b) = (a.view(), b.view());
                    prop_assert_eq!(a.accounts, b.accounts);
                    prop_assert!(a.records == b.records && a.slots == b.slots);
                    prop_assert!(a.bloom == b.bloom);
                }
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                (a, b) => prop_assert!(
                    false,
                    "parallel: {:?}, csv reader: {:?}",
                    a.err().map(|e| e.to_string()),
                    b.err().map(|e| e.to_string())
                ),
            }
        }
    }

    #[test]
    fn bare_cr_and_quotes_need_the_csv_reader() {
        assert!(!needs_csv_reader(b"a,b,c\r\nd,e,f\r\n"));
        assert!(!needs_csv_reader(b"a,b,c\nd,e,f"));
        assert!(needs_csv_reader(b"a,b,c\rd,e,f\r\n"));
        assert!(needs_csv_reader(b"a,b,c\r\nd,e,f\r"));
        assert!(needs_csv_reader(b"a,\"b\",c\n"));
    }
}
