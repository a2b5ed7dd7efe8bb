//! A scan job, end to end: load customers, scan dumps, verify, write reports.
//!
//! Owns the order of the stages and what a run promises about its outputs: results
//! are written only after every stage succeeded (a damaged mapped index is detected
//! before anything is written), every output file is written atomically, and an
//! incremental state (`--state`) advances only after the outputs are in place. The
//! binary builds a [`ScanJob`] from its flags; nothing here knows about the command
//! line.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;

use thiserror::Error;

use crate::atomic::{self, OutputError, StagedFile};
use crate::confirm::{self, Budget};
use crate::customers::{CsvFile, CustomersError};
use crate::index::file::LmxError;
use crate::index::{BuildError, BuildOptions, BuildReport, SetAside, Target};
use crate::input::{self, DumpFile, InputError};
use crate::plan::{self, Customers, PlanError, PlanOptions};
use crate::recover::Via;
use crate::report::{self, OutputFormat, ResetRecord, Resets};
use crate::scan::{self, ScanOptions};
use crate::state::{PendingReset, State, StateError};
use crate::stats::{FileStats, Phases, Summary};
use crate::tweak::Tweak;

mod incremental;
pub mod list;

use incremental::Incremental;
pub use list::{list_inputs, Listed, Listing};

/// Everything a scan run needs.
#[derive(Clone, Debug)]
pub struct ScanJob {
    /// The customers.
    pub customers: Customers,
    /// How customers from a CSV are loaded (build side, memory, temporary files).
    pub plan: PlanOptions,
    /// Dump paths (files, directories, `-`).
    pub inputs: Vec<PathBuf>,
    /// Follow symbolic links met while walking directories (`-L`).
    pub follow: bool,
    /// Reset list format.
    pub format: OutputFormat,
    /// Reset list file (`None`: the writer given to [`run_scan`]).
    pub output: Option<PathBuf>,
    /// `--stats` file.
    pub stats: Option<PathBuf>,
    /// `--review` file.
    pub review: Option<PathBuf>,
    /// Verification budget.
    pub budget: Budget,
    /// Scan tuning, progress and cancellation.
    pub scan: ScanOptions,
    /// `--state DIR`: skip dump files already scanned against these customers.
    pub state: Option<PathBuf>,
    /// Scan everything even if the state says it was seen (the state is still
    /// updated).
    pub rescan: bool,
    /// Wait for another run that holds the state directory instead of failing.
    pub wait: bool,
}

/// A run that produced nothing trustworthy (exit status 2).
#[derive(Debug, Error)]
pub enum JobError {
    /// Bad customers file.
    #[error(transparent)]
    Customers(CustomersError),
    /// Bad index file.
    #[error(transparent)]
    Index(#[from] LmxError),
    /// The index could not be built (a spill or index file could not be written).
    #[error(transparent)]
    Build(BuildError),
    /// `--join dumps` with an input that cannot be read twice.
    #[error(transparent)]
    Plan(PlanError),
    /// An output file cannot be written, or the outputs and inputs collide.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// Every output was written, but the state could not be saved after them.
    #[error("the outputs were written, but the state was not saved ({0}); the next run scans these files again")]
    StateNotSaved(OutputError),
    /// Writing the reset list to standard output failed.
    #[error("cannot write to standard output: {0}")]
    Stdout(io::Error),
    /// The `--state` directory could not be used.
    #[error(transparent)]
    State(#[from] StateError),
    /// Verification met account entries it could not read (an unknown scheme byte,
    /// fields out of bounds): the index is damaged.
    #[error("customer index is damaged: {0} account entries could not be read; rebuild it with `leakmatch index`")]
    DamagedIndex(u64),
    /// Not one input could be read (a mistyped path, a missing mount): no list
    /// was written, as if an empty one were a night with no leaks.
    #[error("no input could be read ({}); nothing was written", describe_inputs(.0))]
    NoInputRead(Vec<InputError>),
    /// The run was cancelled (Ctrl-C) before it finished; nothing was written.
    #[error("interrupted; no output was written")]
    Interrupted,
}

/// What a finished run reports.
#[derive(Debug)]
pub struct JobOutcome {
    /// The statistics.
    pub summary: Summary,
    /// Inputs that could not be (fully) read; the run went on without them.
    pub input_errors: Vec<InputError>,
    /// Customer rows over a cost limit, set aside (never checked).
    pub set_aside: SetAside,
    /// Directories reached again through a symbolic link (`-L`), not entered
    /// twice.
    pub loops: Vec<String>,
}

impl JobOutcome {
    /// Whether anything was left undone: an input not read, a customer row set
    /// aside or an account that could not be verified (exit status 1).
    pub fn incomplete(&self) -> bool {
        !self.input_errors.is_empty()
            || self.summary.customers_set_aside > 0
            || self.summary.accounts_unverifiable > 0
    }
}

impl From<BuildError> for JobError {
    fn from(e: BuildError) -> JobError {
        match e {
            BuildError::Customers(CustomersError::Interrupted) => JobError::Interrupted,
            BuildError::Customers(e) => JobError::Customers(e),
            BuildError::Index(e) => JobError::Index(e),
            e => JobError::Build(e),
        }
    }
}

impl From<PlanError> for JobError {
    fn from(e: PlanError) -> JobError {
        match e {
            PlanError::Index(e) => JobError::Index(e),
            PlanError::Build(e) => e.into(),
            e => JobError::Plan(e),
        }
    }
}

/// Runs the job; the reset list goes to `stdout` unless the job names a file.
pub fn run_scan(job: &ScanJob, stdout: &mut dyn Write) -> Result<JobOutcome, JobError> {
    let started = Instant::now();
    // Everything that will be written is checked before any work: a bad path
    // fails now, not after the scan.
    let state = (job.state.as_deref())
        .map(|dir| State::open(dir, job.wait))
        .transpose()?;
    check_paths(job, state.as_ref())?;
    let found = input::discover_with(&job.inputs, job.follow);
    let (mut files, mut errors, loops) = (found.files, found.errors, found.loops);
    let mut plan_opts = job.plan.clone();
    plan_opts.incremental = job.state.is_some();
    let loaded_customers = plan::load(&job.customers, &files, &plan_opts, &job.scan)?;
    let index = &loaded_customers.index;
    let loaded = Instant::now();
    // The plan knows the snapshot whenever a state is kept.
    let mut incremental = match (state, loaded_customers.snapshot) {
        (Some(state), Some(snapshot)) => Some(Incremental::prepare(
            state,
            snapshot,
            &mut files,
            &mut errors,
            job.rescan,
        )?),
        _ => None,
    };
    if let Some(p) = &job.scan.control {
        p.total.store(on_disk_bytes(&files), Ordering::Relaxed);
    }
    // A mapped index's slot table and Bloom filter are checked while the scan runs;
    // records pieces as verification and the reports first read them.
    let (mut scanned, body_check) = rayon::join(
        || scan::scan(&files, index.view(), &job.scan),
        || index.mapped().map(|m| m.verify_tables()),
    );
    if let Some(result) = body_check {
        result?;
    }
    let stopped = || job.scan.control.as_ref().is_some_and(|p| p.cancelled());
    if stopped() {
        return Err(JobError::Interrupted);
    }
    errors.append(&mut scanned.errors);
    scanned.errors = errors;
    let skipped = incremental.as_ref().map_or(0, |i| i.skipped);
    if scanned.counters.files == 0 && skipped == 0 && !scanned.errors.is_empty() {
        return Err(JobError::NoInputRead(scanned.errors));
    }
    let scanned_at = Instant::now();
    let view = index.view();
    let checked = confirm::confirm(view, &scanned.candidates, &job.budget);
    // Verification was the last reader of the index: nothing is written if any
    // piece of it that was read is damaged, or any account it read was unreadable.
    if let Some(m) = index.mapped() {
        m.verify_read()?;
    }
    if stopped() {
        return Err(JobError::Interrupted);
    }
    if checked.damaged_accounts > 0 {
        return Err(JobError::DamagedIndex(checked.damaged_accounts));
    }
    let verified = Instant::now();

    let resets = report::reset_records(&scanned.files, &checked.findings);
    let reviews = report::review_records(&checked.reviews);
    // A `--state` run reports again what earlier runs reported and nobody
    // acknowledged (see `crate::state`).
    let earlier = incremental
        .as_mut()
        .map_or_else(Vec::new, |i| i.state.take_pending());
    // And never again a reset acknowledged from a file it could not record, found
    // there again as it was delivered (the file is read every night).
    let delivered = (incremental.as_ref())
        .map(|i| i.state.delivered(i.snapshot))
        .unwrap_or_default();
    let mut already_delivered = 0u64;
    let merged = (!earlier.is_empty() || !delivered.is_empty()).then(|| {
        let mut list = with_pending(&resets, &earlier);
        list.retain(|r| {
            let seen = r.pending_since.is_none()
                && delivered.get(r.account_id.as_ref()).is_some_and(|d| {
                    d.iter().any(|(file, line, sightings)| {
                        (file.as_str(), *line, *sightings)
                            == (r.first_seen.file, r.first_seen.line, r.sightings)
                    })
                });
            already_delivered += u64::from(seen);
            !seen
        });
        list
    });
    let marked = incremental.is_some();
    let write_list = |w: &mut dyn Write| match &merged {
        Some(list) => report::write_resets(w, job.format, marked, &list[..]),
        None => report::write_resets(w, job.format, marked, &resets),
    };

    let mut summary = Summary::from_counters(&scanned.counters);
    summary.files_skipped_seen = incremental.as_ref().map_or(0, |i| i.skipped);
    summary.state_bytes_hashed = incremental.as_ref().map_or(0, |i| i.bytes_hashed);
    summary.login_hits = checked.login_hits;
    summary.candidates = checked.candidates;
    summary.verifications = checked.verifications;
    summary.accounts_to_reset = merged.as_ref().map_or(resets.len(), Vec::len) as u64;
    summary.accounts_unacknowledged = (merged.iter().flatten())
        .filter(|r| r.pending_since.is_some())
        .count() as u64;
    summary.run = incremental.as_ref().map(|i| i.state.next_run());
    summary.accounts_delivered_before = already_delivered;
    // Repairs and variants of the listed accounts, in one pass (over the
    // findings themselves when no pending reset joins them).
    let mut by_via = [0u64; Via::ALL.len()];
    let mut tally = |via: Via, variant: Option<Tweak>| {
        if !via.is_empty() {
            for (n, (v, _)) in by_via.iter_mut().zip(Via::ALL) {
                *n += u64::from(via.contains(v));
            }
        }
        if let Some(t) = variant {
            *summary.accounts_variant.entry(t.name()).or_default() += 1;
        }
    };
    match &merged {
        Some(list) => list.iter().for_each(|r| tally(r.via, r.variant)),
        None => (checked.findings.iter()).for_each(|f| tally(f.via, f.variant)),
    }
    for ((_, name), n) in Via::ALL.into_iter().zip(by_via) {
        summary.accounts_via.insert(name, n);
    }
    summary.accounts_for_review = reviews.len() as u64;
    summary.accounts_unverifiable =
        checked.reviews.iter().filter(|r| r.unverifiable).count() as u64;
    summary.customers_set_aside = loaded_customers.set_aside.count;
    summary.candidates_not_kept = checked.candidates_not_kept;
    summary.unreadable_inputs = scanned.errors.len() as u64;
    summary.customers = loaded_customers.customers;
    summary.customers_from = loaded_customers.strategy.name();
    summary.index_bytes = loaded_customers.index_bytes;
    summary.spilled_bytes = loaded_customers.spilled;
    let indexed = index.header().accounts;
    if indexed > 0 {
        summary.index_bytes_per_customer = loaded_customers.index_bytes as f64 / indexed as f64;
    }
    summary.threads = rayon::current_num_threads();
    // The listed accounts by the file they were first seen in.
    let mut resets_per_file = vec![0u64; scanned.files.len()];
    match &merged {
        Some(list) => {
            let index: HashMap<&str, usize> = (scanned.files.iter().enumerate())
                .map(|(i, f)| (f.as_str(), i))
                .collect();
            for r in list {
                if let Some(&i) = index.get(r.first_seen.file) {
                    resets_per_file[i] += 1;
                }
            }
        }
        None => {
            for f in &checked.findings {
                resets_per_file[f.first_seen.file as usize] += 1;
            }
        }
    }
    summary.per_file = FileStats::all(
        &scanned.files,
        &scanned.per_file,
        &scanned.errors,
        &resets_per_file,
        incremental.as_ref().map_or(&[][..], |i| &i.seen[..]),
    );

    // Every output file is staged in full before any is renamed into place, and the
    // reset list reaches stdout only after that: a run that fails (exit 2) leaves
    // every output as it was.
    crate::control::stop_point("report", &stopped);
    let mut staged = Vec::new();
    if let Some(path) = &job.review {
        staged.push(stage(path, |w| report::write_reviews(w, &reviews))?);
    }
    if let Some(path) = &job.output {
        staged.push(stage(path, write_list)?);
    }
    summary.set_elapsed(started.elapsed().as_secs_f64());
    summary.phases = Phases {
        load_customers: (loaded - started).as_secs_f64(),
        scan: (scanned_at - loaded).as_secs_f64(),
        verify: (verified - scanned_at).as_secs_f64(),
        report: verified.elapsed().as_secs_f64(),
    };
    if let Some(path) = &job.stats {
        staged.push(stage(path, |w| {
            serde_json::to_writer_pretty(&mut *w, &summary)?;
            w.write_all(b"\n")
        })?);
    }
    // The state is staged with the outputs, so only its rename can fail after
    // them; it goes last: killed before it, the next run scans these files again,
    // which is correct.
    let state = incremental
        .map(|inc| {
            let run = inc.state.next_run();
            let list = match &merged {
                Some(list) => list.iter().map(|r| pending_reset(r, run)).collect(),
                None => resets.iter().map(|r| pending_reset(&r, run)).collect(),
            };
            inc.stage(&files, &scanned.errors, list)
        })
        .transpose()?;
    // The last moment a stop request is honoured: after it, every output is put
    // in place.
    if stopped() {
        return Err(JobError::Interrupted);
    }
    crate::control::crash_point("outputs");
    for file in staged {
        file.commit()?;
    }
    if job.output.is_none() {
        write_list(stdout).map_err(JobError::Stdout)?;
    }
    crate::control::crash_point("state");
    if let Some(state) = state {
        state.commit().map_err(JobError::StateNotSaved)?;
    }
    Ok(JobOutcome {
        summary,
        input_errors: scanned.errors,
        set_aside: loaded_customers.set_aside,
        loops,
    })
}

/// The reset list of a `--state` run when earlier runs left resets pending: this
/// run's, and the pending ones it did not find again, one record per account in
/// account_id order. A pending reset keeps the run that first reported it
/// (`pending_since`) whether or not this run found it again.
fn with_pending<'a>(resets: &Resets<'a>, earlier: &'a [PendingReset]) -> Vec<ResetRecord<'a>> {
    use std::borrow::Cow;
    use std::cmp::Ordering::{Equal, Greater, Less};
    let old_record = |p: &'a PendingReset| ResetRecord {
        account_id: Cow::Borrowed(&p.account_id),
        login: Cow::Borrowed(&p.login),
        reason: report::reason(variant_of(p)),
        scheme: &p.scheme,
        sightings: p.sightings,
        first_seen: report::FirstSeen {
            file: &p.first_seen_file,
            line: p.first_seen_line,
        },
        via: Via::from_names(p.via.iter().map(String::as_str)),
        variant: variant_of(p),
        pending_since: Some(p.since),
    };
    let mut out = Vec::with_capacity(resets.len() + earlier.len());
    let mut new = resets.iter().peekable();
    let mut old = earlier.iter().peekable();
    loop {
        let order = match (new.peek(), old.peek()) {
            (Some(n), Some(o)) => n.account_id.as_ref().cmp(o.account_id.as_str()),
            (Some(_), None) => Less,
            (None, Some(_)) => Greater,
            (None, None) => break,
        };
        match order {
            Less => out.extend(new.next()),
            Greater => out.extend(old.next().map(old_record)),
            Equal => {
                let since = old.next().map(|p| p.since);
                out.extend(new.next().map(|r| ResetRecord {
                    pending_since: since,
                    ..r
                }));
            }
        }
    }
    out
}

/// The variant a pending reset was found by (a name this version does not know
/// is left out: the reset is still reported).
fn variant_of(p: &PendingReset) -> Option<Tweak> {
    p.variant.as_deref().and_then(Tweak::from_name)
}

/// What the state keeps of a reset the list reports (`run`: this run's number).
fn pending_reset(r: &ResetRecord<'_>, run: u64) -> PendingReset {
    PendingReset {
        account_id: r.account_id.to_string(),
        login: r.login.to_string(),
        scheme: r.scheme.to_string(),
        sightings: r.sightings,
        first_seen_file: r.first_seen.file.to_string(),
        first_seen_line: r.first_seen.line,
        via: r.via.names().map(str::to_string).collect(),
        variant: r.variant.map(Tweak::name),
        since: r.pending_since.unwrap_or(run),
    }
}

/// Acknowledges run `run` of the state in `dir` (see [`State::ack`]), waiting for
/// a run that holds it when `wait` says.
pub fn run_ack(dir: &Path, run: u64, wait: bool) -> Result<crate::state::Acked, JobError> {
    if !dir.join(crate::state::FILE_NAME).is_file() {
        return Err(StateError::Io {
            path: dir.to_path_buf(),
            cause: io::Error::new(io::ErrorKind::NotFound, "no leakmatch state here"),
        }
        .into());
    }
    let mut state = State::open(dir, wait)?;
    let acked = state.ack(run)?;
    let staged = state.stage()?;
    crate::control::crash_point("ack");
    staged.commit()?;
    Ok(acked)
}

/// `a: cause; b: cause`, the first few of them.
fn describe_inputs(errors: &[InputError]) -> String {
    const SHOWN: usize = 3;
    let mut s: Vec<String> = errors.iter().take(SHOWN).map(|e| e.to_string()).collect();
    if errors.len() > SHOWN {
        s.push(format!("and {} more", errors.len() - SHOWN));
    }
    s.join("; ")
}

/// Sum of the on-disk sizes of the run's files (an archive counted once).
fn on_disk_bytes(files: &[DumpFile]) -> u64 {
    let physical: BTreeSet<&Path> = files.iter().filter_map(|f| f.physical_path()).collect();
    physical
        .into_iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Checks the run's outputs (and the state file) against each other and its
/// inputs before any work starts.
fn check_paths(job: &ScanJob, state: Option<&State>) -> Result<(), JobError> {
    let state_file = state.map(State::file_path);
    let outputs: Vec<(&'static str, &Path)> = [
        ("-o", job.output.as_deref()),
        ("--review", job.review.as_deref()),
        ("--stats", job.stats.as_deref()),
        ("--state", state_file.as_deref()),
    ]
    .into_iter()
    .filter_map(|(role, p)| Some((role, p?)))
    .collect();
    let customers = match &job.customers {
        Customers::Csv(p) | Customers::Index(p) => p.as_path(),
    };
    let inputs: Vec<&Path> = std::iter::once(customers)
        .chain(job.inputs.iter().map(PathBuf::as_path))
        .collect();
    let stdout = job.output.is_none().then_some("the reset list (no -o)");
    Ok(atomic::check_outputs(&outputs, &inputs, stdout)?)
}

fn stage(
    path: &Path,
    body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<StagedFile, JobError> {
    Ok(StagedFile::stage(path, |f| {
        let mut w = io::BufWriter::new(f);
        body(&mut w)?;
        w.flush()
    })?)
}

/// Builds an index file from a customers CSV, in the memory `opts` allows.
pub fn build_index(
    customers_csv: &Path,
    output: &Path,
    opts: &BuildOptions,
    control: Option<&crate::control::RunControl>,
) -> Result<BuildReport, JobError> {
    atomic::check_outputs(&[("-o", output)], &[customers_csv], None)?;
    // The index is mapped back once written: a device or FIFO cannot hold it.
    if !matches!(
        atomic::Destination::of(output)?,
        atomic::Destination::Replace(_)
    ) {
        return Err(OutputError::NotRegular(output.into()).into());
    }
    let source = CsvFile::new(customers_csv);
    let cancelled = || control.is_some_and(|c| c.cancelled());
    let (_, report) = crate::index::build(&source, opts, None, Target::File(output), &cancelled)?;
    Ok(report)
}
