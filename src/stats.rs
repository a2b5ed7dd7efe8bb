//! Run statistics: the end-of-run summary on stderr and the `--stats` JSON object.
//!
//! Owns the names and meaning of every counter a run reports. Both renderings come
//! from the one [`Summary`] struct, so they can never disagree.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

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
            skipped: SkipReason::ALL
                .iter()
                .map(|r| (r.name(), c.skipped[r.index()]))
                .collect(),
            skipped_total: c.skipped_total(),
            login_hits: 0,
            candidates: 0,
            verifications: 0,
            accounts_to_reset: 0,
            accounts_unacknowledged: 0,
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
