//! Reports: the reset list in its output formats, and the review list.
//!
//! Owns turning findings into bytes. One [`Format`] per output format, one file each
//! ([`ndjson`], [`csv`], [`ids`]), and one line in [`formatter`]; records are always
//! sorted by `account_id` so output is byte-identical from run to run at any thread
//! count. Nothing here ever sees a password. How the bytes reach a file is
//! [`crate::atomic`]'s business.

pub mod csv;
pub mod ids;
pub mod ndjson;

use std::borrow::Cow;
use std::io::{self, Write};
use std::ops::Range;

use rayon::prelude::*;
use serde::Serialize;

use crate::confirm::{Finding, Review};
use crate::recover::Via;
use crate::tweak::Tweak;

/// The output formats of the reset list (also the values of `--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
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
    /// `password_match` (a leaked password verified, as found or repaired) or
    /// `password_variant` (with `--tweaks`: a variant of one did).
    pub reason: &'static str,
    /// Scheme name of the stored hash.
    pub scheme: &'a str,
    /// Lines whose password verified.
    pub sightings: u64,
    /// Earliest such line.
    pub first_seen: FirstSeen<'a>,
    /// What the password on that line needed to verify ([`crate::recover`]:
    /// `hex`, `cp1252`, `mojibake`, `trailing_space`); absent for the exact bytes.
    #[serde(skip_serializing_if = "Via::is_empty")]
    pub via: Via,
    /// For `password_variant`: the rules that made the variant
    /// ([`crate::tweak`]: `upper_first`, `upper_first+add_symbol`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<Tweak>,
    /// With `--state`, for a reset an earlier run reported and that was not
    /// acknowledged since: that run's number (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_since: Option<u64>,
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
    /// Why it is listed: `budget` (the slow-hash budget ran out before a match),
    /// `unverifiable` (its stored hash costs more than the limits allow) or
    /// `too_many_candidates` (its login came with more distinct passwords than
    /// are kept, and none kept verified).
    pub reason: &'static str,
}

/// The reset list, sorted by account_id; each record is built from its finding as
/// the writer asks for it.
pub struct Resets<'a> {
    findings: &'a [Finding],
    order: Vec<usize>,
    files: &'a [String],
}

impl<'a> Resets<'a> {
    /// Number of accounts to reset.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The records, in account_id order.
    pub fn iter(&self) -> impl Iterator<Item = ResetRecord<'a>> + '_ {
        self.range(0..self.len())
    }

    /// The records at positions `range` of the list.
    pub fn range(&self, range: Range<usize>) -> impl Iterator<Item = ResetRecord<'a>> + '_ {
        const AHEAD: usize = 8;
        let start = range.start;
        self.order[range].iter().enumerate().map(move |(k, &i)| {
            let k = start + k;
            // In id order the findings are read at random: fetch a few ahead.
            if let Some(&ahead) = self.order.get(k + AHEAD) {
                crate::mem::prefetch(&self.findings[ahead]);
            }
            let f = &self.findings[i];
            ResetRecord {
                account_id: Cow::Borrowed(&f.name.id),
                login: Cow::Borrowed(&f.name.login),
                reason: reason(f.variant),
                scheme: f.name.scheme.name(),
                sightings: f.sightings,
                first_seen: FirstSeen {
                    file: self
                        .files
                        .get(f.first_seen.file as usize)
                        .map_or("", String::as_str),
                    line: f.first_seen.line,
                },
                via: f.via,
                variant: f.variant,
                pending_since: None,
            }
        })
    }
}

/// The `reason` of a reset: `password_variant` when a variant verified.
pub fn reason(variant: Option<Tweak>) -> &'static str {
    match variant {
        Some(_) => "password_variant",
        None => "password_match",
    }
}

/// Builds the reset list (see [`Resets`]).
pub fn reset_records<'a>(files: &'a [String], findings: &'a [Finding]) -> Resets<'a> {
    Resets {
        order: by_id(findings.iter().map(|f| &*f.name.id)),
        findings,
        files,
    }
}

/// Builds the review records, sorted by account_id.
pub fn review_records(reviews: &[Review]) -> Vec<ReviewRecord<'_>> {
    by_id(reviews.iter().map(|r| &*r.name.id))
        .into_iter()
        .map(|i| {
            let r = &reviews[i];
            ReviewRecord {
                account_id: Cow::Borrowed(&r.name.id),
                login: Cow::Borrowed(&r.name.login),
                scheme: r.name.scheme.name(),
                candidates: r.candidates,
                checked: r.checked,
                sightings: r.sightings,
                reason: if r.unverifiable {
                    "unverifiable"
                } else if r.not_kept > 0 {
                    "too_many_candidates"
                } else {
                    "budget"
                },
            }
        })
        .collect()
}

/// The positions of `ids` in account_id order. It sorts each id's first 16 bytes
/// (big-endian, zero-padded: ordering by them agrees with ordering by the ids) and
/// compares whole ids only on a tie, instead of chasing every id's pointer on
/// every comparison. Ids are unique, so an unstable sort is still one order.
fn by_id<'i>(ids: impl Iterator<Item = &'i str>) -> Vec<usize> {
    let ids: Vec<&str> = ids.collect();
    let mut keys: Vec<(u128, usize)> = crate::mem::with_capacity(ids.len());
    keys.extend(ids.iter().enumerate().map(|(i, id)| {
        let mut prefix = [0u8; 16];
        let n = id.len().min(16);
        prefix[..n].copy_from_slice(&id.as_bytes()[..n]);
        (u128::from_be_bytes(prefix), i)
    }));
    keys.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| ids[a.1].cmp(ids[b.1])));
    keys.into_iter().map(|(_, i)| i).collect()
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

/// The writer for a format; `pending_column`: the list comes from a `--state`
/// run, so CSV has a `pending_since` column (NDJSON has the key only where set).
pub fn formatter(format: OutputFormat, pending_column: bool) -> Box<dyn Format> {
    match format {
        OutputFormat::Ndjson => Box::new(ndjson::Ndjson::default()),
        OutputFormat::Csv => Box::new(csv::Csv::new(pending_column)),
        OutputFormat::Ids => Box::new(ids::Ids),
    }
}

/// A reset list that can be read in pieces from several threads.
pub trait RecordSource: Sync {
    /// Number of records.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The records at positions `range`, in list order.
    fn records(&self, range: Range<usize>) -> impl Iterator<Item = ResetRecord<'_>>;
}

impl RecordSource for Resets<'_> {
    fn len(&self) -> usize {
        Resets::len(self)
    }

    fn records(&self, range: Range<usize>) -> impl Iterator<Item = ResetRecord<'_>> {
        self.range(range)
    }
}

impl RecordSource for [ResetRecord<'_>] {
    fn len(&self) -> usize {
        <[ResetRecord<'_>]>::len(self)
    }

    fn records(&self, range: Range<usize>) -> impl Iterator<Item = ResetRecord<'_>> {
        self[range].iter().cloned()
    }
}

/// Records a thread formats at once.
const PIECE: usize = 4096;
/// Pieces formatted before they are written (bounds the memory held).
const WAVE: usize = 64;

/// Writes the whole reset list in `format` (`pending_column`: see [`formatter`]).
///
/// Records are formatted in parallel, 4096 to a buffer, a wave of 64 pieces at a
/// time, and the buffers written in list order: the bytes are the same at any
/// thread count. (Formatted on one thread, the NDJSON of 180k accounts took 0.2 s,
/// most of a run's report phase.)
pub fn write_resets(
    w: &mut dyn Write,
    format: OutputFormat,
    pending_column: bool,
    records: &(impl RecordSource + ?Sized),
) -> io::Result<()> {
    let mut head = Vec::new();
    formatter(format, pending_column).header(&mut head)?;
    w.write_all(&head)?;
    let n = records.len();
    for wave in (0..n).step_by(PIECE * WAVE) {
        let end = n.min(wave + PIECE * WAVE);
        let pieces: Vec<io::Result<Vec<u8>>> = (wave..end)
            .step_by(PIECE)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|start| {
                let mut f = formatter(format, pending_column);
                let mut out = Vec::new();
                for r in records.records(start..end.min(start + PIECE)) {
                    f.record(&mut out, &r)?;
                }
                Ok(out)
            })
            .collect();
        for piece in pieces {
            w.write_all(&piece?)?;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tweak::Rule;

    pub(crate) fn sample() -> Vec<ResetRecord<'static>> {
        vec![
            ResetRecord {
                account_id: "a-1".into(),
                login: "Alice@X.io".into(),
                reason: "password_variant",
                scheme: "sha1",
                sightings: 2,
                first_seen: FirstSeen {
                    file: "d/x.txt",
                    line: 3,
                },
                via: Via::NONE,
                variant: Some(Tweak(Rule::UpperFirst, Some(Rule::AddSymbol))),
                pending_since: None,
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
                via: Via::HEX.with(Via::CP1252),
                variant: None,
                pending_since: None,
            },
        ]
    }

    fn render(format: OutputFormat) -> String {
        let mut out = Vec::new();
        write_resets(&mut out, format, false, &sample()[..]).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lists_of_many_pieces_and_waves_come_out_in_order() {
        let base = sample();
        let n = PIECE * WAVE + PIECE + 7;
        let ids: Vec<String> = (0..n).map(|i| format!("id,{i:07}")).collect();
        let many: Vec<ResetRecord<'_>> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| ResetRecord {
                account_id: id.as_str().into(),
                sightings: i as u64,
                ..base[i % 2].clone()
            })
            .collect();
        for format in [OutputFormat::Ndjson, OutputFormat::Csv, OutputFormat::Ids] {
            let mut parallel = Vec::new();
            write_resets(&mut parallel, format, false, &many[..]).unwrap();
            // The same list through one formatter, record by record.
            let mut f = formatter(format, false);
            let mut serial = Vec::new();
            f.header(&mut serial).unwrap();
            for r in &many {
                f.record(&mut serial, r).unwrap();
            }
            assert!(parallel == serial, "{format:?}");
        }
    }

    #[test]
    fn all_formats() {
        assert_eq!(
            render(OutputFormat::Ndjson),
            "{\"account_id\":\"a-1\",\"login\":\"Alice@X.io\",\"reason\":\"password_variant\",\"scheme\":\"sha1\",\"sightings\":2,\"first_seen\":{\"file\":\"d/x.txt\",\"line\":3},\"variant\":\"upper_first+add_symbol\"}\n\
             {\"account_id\":\"b,2\",\"login\":\"bob \\\"b\\\"\",\"reason\":\"password_match\",\"scheme\":\"nt\",\"sightings\":1,\"first_seen\":{\"file\":\"d/y.txt\",\"line\":1},\"via\":[\"hex\",\"cp1252\"]}\n"
        );
        assert_eq!(
            render(OutputFormat::Csv),
            "account_id,login,reason,scheme,sightings,first_seen_file,first_seen_line,via,variant\n\
             a-1,Alice@X.io,password_variant,sha1,2,d/x.txt,3,,upper_first+add_symbol\n\
             \"b,2\",\"bob \"\"b\"\"\",password_match,nt,1,d/y.txt,1,hex;cp1252,\n"
        );
        assert_eq!(render(OutputFormat::Ids), "a-1\nb,2\n");
    }

    /// A `--state` run's list: NDJSON marks a re-reported reset with the run that
    /// first reported it, CSV has the column (empty for this run's own finds).
    #[test]
    fn a_state_run_marks_resets_reported_before() {
        let mut list = sample();
        list[1].pending_since = Some(4);
        let render = |format| {
            let mut out = Vec::new();
            write_resets(&mut out, format, true, &list[..]).unwrap();
            String::from_utf8(out).unwrap()
        };
        let ndjson = render(OutputFormat::Ndjson);
        let lines: Vec<&str> = ndjson.lines().collect();
        assert!(!lines[0].contains("pending_since"), "{ndjson}");
        assert!(lines[1].ends_with(",\"pending_since\":4}"), "{ndjson}");
        assert_eq!(
            render(OutputFormat::Csv),
            "account_id,login,reason,scheme,sightings,first_seen_file,first_seen_line,via,variant,pending_since\n\
             a-1,Alice@X.io,password_variant,sha1,2,d/x.txt,3,,upper_first+add_symbol,\n\
             \"b,2\",\"bob \"\"b\"\"\",password_match,nt,1,d/y.txt,1,hex;cp1252,,4\n"
        );
    }
}
