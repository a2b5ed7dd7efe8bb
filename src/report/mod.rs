//! Reports: the reset list in its output formats, the review list, atomic files.
//!
//! Owns turning findings into bytes. One [`Format`] per output format, one file each
//! ([`ndjson`], [`csv`], [`ids`]); records are always sorted by `account_id` so output
//! is byte-identical from run to run at any thread count. Nothing here ever sees a
//! password. [`atomic_write`] gives every output file all-or-nothing semantics: a
//! temporary file in the target directory, fsync, then rename.

pub mod csv;
pub mod ids;
pub mod ndjson;

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use rayon::slice::ParallelSliceMut;
use serde::Serialize;

use crate::check::{Finding, Review};
use crate::index::{AccountId, IndexView};
use crate::verify::Scheme;

/// The output formats of the reset list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// One JSON object per line.
    #[default]
    Ndjson,
    /// CSV with a header row.
    Csv,
    /// One account_id per line.
    Ids,
}

/// Where an account was first seen.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FirstSeen<'a> {
    /// The dump file (as named on the command line / walk).
    pub file: &'a str,
    /// 1-based line.
    pub line: u64,
}

/// One account needing a forced reset. Field order is the NDJSON schema.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ResetRecord<'a> {
    /// `account_id` from the customers file.
    pub account_id: Cow<'a, str>,
    /// Login as registered.
    pub login: Cow<'a, str>,
    /// Always `password_match` in this version.
    pub reason: &'static str,
    /// Scheme name of the stored hash.
    pub scheme: &'static str,
    /// Lines whose password verified.
    pub sightings: u64,
    /// Earliest such line.
    pub first_seen: FirstSeen<'a>,
}

/// One account for manual review (not all candidates were checked).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ReviewRecord<'a> {
    /// `account_id`.
    pub account_id: Cow<'a, str>,
    /// Login as registered.
    pub login: Cow<'a, str>,
    /// Scheme name.
    pub scheme: &'static str,
    /// Distinct candidate passwords seen.
    pub candidates: u64,
    /// How many were verified.
    pub checked: u64,
    /// Lines carrying any candidate.
    pub sightings: u64,
}

/// The reset list, sorted by account_id: the accounts' ids and logins copied out of
/// the index into one buffer (a few bytes per reported account, so the index's pages
/// can be released before the list is sorted and written), each record built from it
/// as it is written.
pub struct Resets<'a> {
    copied: Copied,
    findings: Vec<Finding>,
    files: &'a [String],
}

impl<'a> Resets<'a> {
    /// Number of accounts to reset.
    pub fn len(&self) -> usize {
        self.copied.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.copied.rows.is_empty()
    }

    /// The records, in account_id order.
    pub fn iter(&self) -> impl Iterator<Item = ResetRecord<'_>> + '_ {
        self.copied.rows.iter().map(|row| {
            let f = &self.findings[row.src];
            ResetRecord {
                account_id: Cow::Borrowed(&self.copied.text[row.id.clone()]),
                login: Cow::Borrowed(&self.copied.text[row.login.clone()]),
                reason: "password_match",
                scheme: row.scheme.name(),
                sightings: f.sightings,
                first_seen: FirstSeen {
                    file: self
                        .files
                        .get(f.first_seen.file as usize)
                        .map_or("", String::as_str),
                    line: f.first_seen.line,
                },
            }
        })
    }
}

/// Builds the reset list (see [`Resets`]).
pub fn reset_records<'a>(
    index: IndexView<'_>,
    files: &'a [String],
    findings: &[Finding],
) -> Resets<'a> {
    Resets {
        copied: Copied::of(index, findings.iter().map(|f| f.account)).sorted(),
        findings: findings.to_vec(),
        files,
    }
}

/// Builds the review records, sorted by account_id.
pub fn review_records<'a>(index: IndexView<'_>, reviews: &[Review]) -> Vec<ReviewRecord<'a>> {
    let copied = Copied::of(index, reviews.iter().map(|r| r.account)).sorted();
    copied
        .rows
        .iter()
        .map(|row| {
            let r = &reviews[row.src];
            ReviewRecord {
                account_id: Cow::Owned(copied.text[row.id.clone()].to_owned()),
                login: Cow::Owned(copied.text[row.login.clone()].to_owned()),
                scheme: row.scheme.name(),
                candidates: r.candidates,
                checked: r.checked,
                sightings: r.sightings,
            }
        })
        .collect()
}

/// Accounts read from the index between two releases of its resident records.
const RELEASE_BATCH: usize = 16 * 1024;

/// The ids and logins of some accounts, copied out of the index into one buffer, and
/// an order by account_id.
struct Copied {
    text: String,
    rows: Vec<CopiedRow>,
}

struct CopiedRow {
    /// The id's first 16 bytes, big-endian and zero-padded: ordering by it agrees
    /// with ordering by the id, so the sort compares whole ids only on a tie.
    key: u128,
    id: Range<usize>,
    login: Range<usize>,
    scheme: Scheme,
    /// Position in the caller's list.
    src: usize,
}

impl Copied {
    /// Reads `accounts` (in index order, so a mapped index is read front to back),
    /// releasing the index's records every [`RELEASE_BATCH`] accounts. An account a
    /// corrupt index cannot give is left out.
    fn of(index: IndexView<'_>, accounts: impl ExactSizeIterator<Item = AccountId>) -> Copied {
        let n = accounts.len();
        let mut c = Copied {
            // About 40 bytes of id and login an account.
            text: String::with_capacity(n * 40),
            rows: Vec::with_capacity(n),
        };
        for (src, account) in accounts.enumerate() {
            if src > 0 && src % RELEASE_BATCH == 0 {
                index.release_records();
            }
            let Some(a) = index.account(account) else {
                continue;
            };
            let mut prefix = [0u8; 16];
            let n = a.id.len().min(16);
            prefix[..n].copy_from_slice(&a.id.as_bytes()[..n]);
            let id = c.text.len()..c.text.len() + a.id.len();
            c.text.push_str(a.id);
            let login = c.text.len()..c.text.len() + a.login.len();
            c.text.push_str(a.login);
            c.rows.push(CopiedRow {
                key: u128::from_be_bytes(prefix),
                id,
                login,
                scheme: a.scheme,
                src,
            });
        }
        index.release_records();
        c
    }

    /// The rows sorted by account_id. Ids are unique, so an unstable sort is still
    /// one order.
    fn sorted(mut self) -> Copied {
        let text = &self.text;
        self.rows.par_sort_unstable_by(|a, b| {
            a.key
                .cmp(&b.key)
                .then_with(|| text[a.id.clone()].cmp(&text[b.id.clone()]))
        });
        self
    }
}

/// An output format: optional header, then one record at a time.
pub trait Format {
    /// Written once before the records.
    fn header(&mut self, _w: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
    /// Writes one record.
    fn record(&mut self, w: &mut dyn Write, rec: &ResetRecord<'_>) -> io::Result<()>;
}

/// The writer for a format.
pub fn formatter(format: OutputFormat) -> Box<dyn Format> {
    match format {
        OutputFormat::Ndjson => Box::new(ndjson::Ndjson),
        OutputFormat::Csv => Box::new(csv::Csv),
        OutputFormat::Ids => Box::new(ids::Ids),
    }
}

/// Writes the whole reset list in `format`.
pub fn write_resets<'r>(
    w: &mut dyn Write,
    format: OutputFormat,
    records: impl IntoIterator<Item = ResetRecord<'r>>,
) -> io::Result<()> {
    let mut f = formatter(format);
    f.header(w)?;
    for r in records {
        f.record(w, &r)?;
    }
    w.flush()
}

/// Writes the review list as NDJSON.
pub fn write_reviews(w: &mut dyn Write, records: &[ReviewRecord<'_>]) -> io::Result<()> {
    for r in records {
        serde_json::to_writer(&mut *w, r)?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

/// An output file written in full to a temporary file beside its target, waiting to
/// be renamed over it by [`StagedFile::commit`]. Dropped without a commit, it vanishes
/// and the target is untouched.
pub struct StagedFile {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl StagedFile {
    /// Writes the whole content of `path` to a temporary file in the same directory
    /// and syncs it.
    pub fn stage(
        path: &Path,
        write: impl FnOnce(&mut File) -> io::Result<()>,
    ) -> io::Result<StagedFile> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".leakmatch-")
            .suffix(".tmp")
            .tempfile_in(dir)?;
        write(tmp.as_file_mut())?;
        tmp.as_file().sync_all()?;
        Ok(StagedFile {
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// Renames the temporary file over the target: readers see the old file or the
    /// new one, never a partial one.
    pub fn commit(self) -> io::Result<()> {
        self.tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Creates `path` all at once: [`StagedFile::stage`] then [`StagedFile::commit`].
pub fn atomic_write(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    StagedFile::stage(path, write)?.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Vec<ResetRecord<'static>> {
        vec![
            ResetRecord {
                account_id: "a-1".into(),
                login: "Alice@X.io".into(),
                reason: "password_match",
                scheme: "sha1",
                sightings: 2,
                first_seen: FirstSeen {
                    file: "d/x.txt",
                    line: 3,
                },
            },
            ResetRecord {
                account_id: "b,2".into(),
                login: "bob \"b\"".into(),
                reason: "password_match",
                scheme: "nt",
                sightings: 1,
                first_seen: FirstSeen {
                    file: "d/y.txt",
                    line: 1,
                },
            },
        ]
    }

    fn render(format: OutputFormat) -> String {
        let mut out = Vec::new();
        write_resets(&mut out, format, sample()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn all_formats() {
        assert_eq!(
            render(OutputFormat::Ndjson),
            "{\"account_id\":\"a-1\",\"login\":\"Alice@X.io\",\"reason\":\"password_match\",\"scheme\":\"sha1\",\"sightings\":2,\"first_seen\":{\"file\":\"d/x.txt\",\"line\":3}}\n\
             {\"account_id\":\"b,2\",\"login\":\"bob \\\"b\\\"\",\"reason\":\"password_match\",\"scheme\":\"nt\",\"sightings\":1,\"first_seen\":{\"file\":\"d/y.txt\",\"line\":1}}\n"
        );
        assert_eq!(
            render(OutputFormat::Csv),
            "account_id,login,reason,scheme,sightings,first_seen_file,first_seen_line\n\
             a-1,Alice@X.io,password_match,sha1,2,d/x.txt,3\n\
             \"b,2\",\"bob \"\"b\"\"\",password_match,nt,1,d/y.txt,1\n"
        );
        assert_eq!(render(OutputFormat::Ids), "a-1\nb,2\n");
    }

    #[test]
    fn atomic_write_replaces_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        std::fs::write(&p, "old").unwrap();
        let err = atomic_write(&p, |f| {
            f.write_all(b"partial")?;
            Err(io::Error::other("boom"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
        atomic_write(&p, |f| f.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        // No temporary files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
