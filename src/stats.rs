//! Run statistics: the end-of-run summary on stderr and the `--stats` JSON object.
//!
//! Owns the names and meaning of every counter a run reports. Both renderings come
//! from the one [`Summary`] struct, so they can never disagree.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::input::InputError;
use crate::parse::SkipReason;
use crate::scan::Counters;

/// Everything a run reports about itself. Serialized as the `--stats` JSON object.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Summary {
    /// Dump files read.
    pub files: u64,
    /// Dump files skipped because an incremental state had already scanned them.
    pub files_skipped_seen: u64,
    /// Bytes read to hash dump files for the incremental state (files it already
    /// knew by device, inode, size and times are not read).
    pub state_bytes_hashed: u64,
    /// Bytes scanned (after decompression).
    pub bytes: u64,
    /// Lines (CSV records) read.
    pub lines: u64,
    /// Lines that gave a login and password.
    pub pairs: u64,
    /// Lines skipped, by reason (every reason listed, zeros included).
    pub skipped: BTreeMap<&'static str, u64>,
    /// Sum of `skipped`.
    pub skipped_total: u64,
    /// Pairs whose login belongs to a customer.
    pub login_hits: u64,
    /// Distinct (account, password) candidates.
    pub candidates: u64,
    /// Password verifications performed.
    pub verifications: u64,
    /// Accounts in the reset list.
    pub accounts_to_reset: u64,
    /// With `--state`: of those, resets an earlier run reported that were not
    /// acknowledged (`leakmatch ack`) since, reported again.
    pub accounts_unacknowledged: u64,
    /// With `--state`: accounts found again exactly as a run already delivered
    /// (acknowledged) them, in a file the state could not record: not listed
    /// again.
    pub accounts_delivered_before: u64,
    /// Of the accounts to reset, those whose password verified only once repaired
    /// from the dump's damage, by repair (`hex`, `cp1252`, `mojibake`,
    /// `trailing_space`; see [`crate::recover`]).
    pub accounts_via: BTreeMap<&'static str, u64>,
    /// Of the accounts to reset, those found by a variant of a leaked password
    /// (`--tweaks`; reason `password_variant`), by variant (only those found).
    pub accounts_variant: BTreeMap<String, u64>,
    /// With `--state`: this run's number, to acknowledge its list with
    /// `leakmatch ack --state DIR RUN` once delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<u64>,
    /// Accounts left for review (budget exhausted, or unverifiable; not confirmed).
    pub accounts_for_review: u64,
    /// Of those, accounts whose stored hash is over a cost limit (never checked).
    pub accounts_unverifiable: u64,
    /// Dump lines whose password was not kept as a candidate: its login came with
    /// more distinct passwords than are kept (the account goes to review).
    pub candidates_not_kept: u64,
    /// Customer rows whose stored hash is over a cost limit, set aside at load
    /// (named by line on stderr).
    pub customers_set_aside: u64,
    /// Inputs that could not be read (fully).
    pub unreadable_inputs: u64,
    /// Of those, inputs in a format that is not read (7z, RAR, or an archive or
    /// compressed data its name did not announce): reported, never scanned as
    /// text.
    pub unsupported_inputs: u64,
    /// Customer accounts (rows of the customers file, or accounts of the index).
    pub customers: u64,
    /// How the customers were loaded: `index` (a prebuilt `.lmx`), `customers`
    /// (an index of the whole customers file, built for the run) or `dumps` (an
    /// index of the customers the dumps name, built for the run).
    pub customers_from: &'static str,
    /// Bytes of the index the run used (its file, or its regions in memory).
    pub index_bytes: u64,
    /// `index_bytes` per indexed account.
    pub index_bytes_per_customer: f64,
    /// Bytes the index build spilled to temporary files.
    pub spilled_bytes: u64,
    /// Worker threads.
    pub threads: usize,
    /// Wall-clock seconds for the whole run.
    pub elapsed_seconds: f64,
    /// Wall-clock seconds per stage: where the time went.
    pub phases: Phases,
    /// Scanned megabytes (10^6 bytes) per second of wall-clock time.
    pub mb_per_s: f64,
    /// Every input the run met, one entry each: the run's files in order, then
    /// those `--state` skipped, then paths that could not be listed.
    pub per_file: Vec<FileStats>,
}

/// One input's entry in `--stats`' `per_file`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FileStats {
    /// Its name as reports give it (`pack.tgz!logs/a.txt` for an archive's file).
    pub file: String,
    /// `scanned`; `seen` (`--state`: scanned before against these customers, not
    /// read); `unsupported` (a format not read as text); `error` (could not be
    /// read, or not to its end: what was read before the error is counted).
    pub status: &'static str,
    /// What went wrong (`error` and `unsupported`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Bytes scanned (decompressed).
    pub bytes: u64,
    /// Lines (CSV: records, header included).
    pub lines: u64,
    /// Lines that gave a credential pair.
    pub pairs: u64,
    /// Skipped lines by reason (only the reasons that occurred).
    pub skipped: BTreeMap<&'static str, u64>,
    /// Pairs whose login a customer may have: kept for confirmation.
    pub candidate_pairs: u64,
    /// Accounts on the reset list first seen in this file.
    pub resets: u64,
}

impl FileStats {
    /// The entry of a file the scan went through (`files`: the scan's names,
    /// `counters` its per-file counters, `errors` what could not be read, `resets`
    /// the reset count per file), then of `seen` files and of errors that name no
    /// file of the scan.
    pub fn all(
        files: &[String],
        counters: &[Counters],
        errors: &[InputError],
        resets: &[u64],
        seen: &[String],
    ) -> Vec<FileStats> {
        let mut error_of: BTreeMap<&str, &str> = BTreeMap::new();
        for e in errors {
            error_of.entry(&e.display).or_insert(&e.message);
        }
        let mut out = Vec::with_capacity(files.len() + seen.len());
        for (i, (file, c)) in files.iter().zip(counters).enumerate() {
            let error = error_of.remove(file.as_str());
            let status = match (c.unsupported, error) {
                (1.., _) => "unsupported",
                (_, Some(_)) => "error",
                _ => "scanned",
            };
            out.push(FileStats {
                file: file.clone(),
                status,
                error: error.map(str::to_string),
                bytes: c.bytes,
                lines: c.lines,
                pairs: c.pairs,
                skipped: skipped_by_reason(c).filter(|&(_, n)| n > 0).collect(),
                candidate_pairs: c.candidate_pairs,
                resets: resets.get(i).copied().unwrap_or(0),
            });
        }
        let other = |file: &str, status, error: Option<&str>| FileStats {
            file: file.to_string(),
            status,
            error: error.map(str::to_string),
            bytes: 0,
            lines: 0,
            pairs: 0,
            skipped: BTreeMap::new(),
            candidate_pairs: 0,
            resets: 0,
        };
        out.extend(seen.iter().map(|f| other(f, "seen", None)));
        // Errors about paths that are not files of the scan (a missing path, an
        // unreadable directory), in the order they were met.
        for e in errors {
            if error_of.remove(e.display.as_str()).is_some() {
                out.push(other(&e.display, "error", Some(&e.message)));
            }
        }
        out
    }
}

/// Each skip reason's name and count.
fn skipped_by_reason(c: &Counters) -> impl Iterator<Item = (&'static str, u64)> + '_ {
    (SkipReason::ALL.iter()).map(|r| (r.name(), c.skipped[r.index()]))
}

/// `1 file`, `2 files`.
fn count(n: u64, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Wall-clock seconds of each stage of a run.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Phases {
    /// Loading the customers (CSV parse and index build, or mapping the index).
    pub load_customers: f64,
    /// Reading and scanning the dumps.
    pub scan: f64,
    /// Verifying candidate passwords.
    pub verify: f64,
    /// Building and writing the reports.
    pub report: f64,
}

impl Summary {
    /// Fills the scan counters; the rest (login hits included, which verification
    /// confirms) is set by the caller.
    pub fn from_counters(c: &Counters) -> Summary {
        Summary {
            files: c.files,
            files_skipped_seen: 0,
            state_bytes_hashed: 0,
            bytes: c.bytes,
            lines: c.lines,
            pairs: c.pairs,
            skipped: skipped_by_reason(c).collect(),
            skipped_total: c.skipped_total(),
            login_hits: 0,
            candidates: 0,
            verifications: 0,
            accounts_to_reset: 0,
            accounts_unacknowledged: 0,
            accounts_delivered_before: 0,
            accounts_via: BTreeMap::new(),
            accounts_variant: BTreeMap::new(),
            run: None,
            accounts_for_review: 0,
            accounts_unverifiable: 0,
            candidates_not_kept: 0,
            customers_set_aside: 0,
            unreadable_inputs: 0,
            unsupported_inputs: c.unsupported,
            customers: 0,
            customers_from: "",
            index_bytes: 0,
            index_bytes_per_customer: 0.0,
            spilled_bytes: 0,
            threads: 0,
            elapsed_seconds: 0.0,
            phases: Phases::default(),
            mb_per_s: 0.0,
            per_file: Vec::new(),
        }
    }

    /// Sets elapsed time and the derived rate.
    pub fn set_elapsed(&mut self, seconds: f64) {
        self.elapsed_seconds = seconds;
        self.mb_per_s = if seconds > 0.0 {
            self.bytes as f64 / 1e6 / seconds
        } else {
            0.0
        };
    }

    /// The human summary printed on stderr.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "leakmatch: {}, {} bytes, {} in {:.3} s ({:.1} MB/s, {}) against {}",
            count(self.files, "file"),
            self.bytes,
            count(self.lines, "line"),
            self.elapsed_seconds,
            self.mb_per_s,
            count(self.threads as u64, "thread"),
            count(self.customers, "customer"),
        );
        if self.files_skipped_seen > 0 {
            let _ = writeln!(
                s,
                "  files skipped          {} (already scanned against these customers)",
                self.files_skipped_seen
            );
        }
        let _ = writeln!(s, "  pairs parsed           {}", self.pairs);
        let reasons: Vec<String> = self
            .skipped
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        if reasons.is_empty() {
            let _ = writeln!(s, "  lines skipped          0");
        } else {
            let _ = writeln!(
                s,
                "  lines skipped          {} ({})",
                self.skipped_total,
                reasons.join(", ")
            );
        }
        let _ = writeln!(s, "  login hits             {}", self.login_hits);
        let _ = writeln!(s, "  verifications          {}", self.verifications);
        let _ = writeln!(s, "  accounts to reset      {}", self.accounts_to_reset);
        if self.accounts_unacknowledged > 0 {
            let _ = writeln!(
                s,
                "  ... reported before    {} (not acknowledged yet)",
                self.accounts_unacknowledged
            );
        }
        if self.accounts_delivered_before > 0 {
            let _ = writeln!(
                s,
                "  ... delivered before   {} (found again as acknowledged: not listed)",
                self.accounts_delivered_before
            );
        }
        let repaired: Vec<String> = (self.accounts_via.iter())
            .filter(|&(_, &n)| n > 0)
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        if !repaired.is_empty() {
            let _ = writeln!(s, "  ... via repairs        {}", repaired.join(", "));
        }
        let variants: u64 = self.accounts_variant.values().sum();
        if variants > 0 {
            let _ = writeln!(
                s,
                "  ... password variants  {variants} (reason password_variant, --tweaks)"
            );
        }
        if let Some(run) = self.run {
            let _ = writeln!(
                s,
                "  run                    {run} (its resets stay pending until `leakmatch ack` {run})"
            );
        }
        let p = &self.phases;
        let _ = writeln!(
            s,
            "  time                   load {:.3} s, scan {:.3} s, verify {:.3} s, report {:.3} s",
            p.load_customers, p.scan, p.verify, p.report
        );
        if self.accounts_for_review > 0 {
            let _ = writeln!(s, "  accounts for review    {}", self.accounts_for_review);
        }
        if self.accounts_unverifiable > 0 {
            let _ = writeln!(s, "  ... unverifiable       {}", self.accounts_unverifiable);
        }
        if self.candidates_not_kept > 0 {
            let _ = writeln!(s, "  candidates not kept    {}", self.candidates_not_kept);
        }
        if self.customers_set_aside > 0 {
            let _ = writeln!(s, "  customers set aside    {}", self.customers_set_aside);
        }
        if self.unreadable_inputs > 0 {
            let _ = writeln!(s, "  unreadable inputs      {}", self.unreadable_inputs);
        }
        if self.unsupported_inputs > 0 {
            let _ = writeln!(s, "  ... unsupported format {}", self.unsupported_inputs);
        }
        s
    }
}
