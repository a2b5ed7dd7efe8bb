//! `scan --list`: what a scan would read, and what it would pass over and why,
//! without scanning.
//!
//! Owns the dry run. It takes the same path as a run up to the scan: the inputs
//! are discovered (directories walked, archives listed, duplicates and links
//! passed over), `--state` is consulted (read, not locked: a dry run changes
//! nothing), and each file's first bytes are sniffed as the scan would
//! ([`foreign_format`]). Nothing past the first bytes of a file is read, except
//! what listing an archive and recognising a file for `--state` read anyway.

use std::collections::BTreeMap;
use std::io::Read;

use crate::input::decode::{foreign_format, SNIFF_BYTES};
use crate::input::{self, DumpFile, InputError, Shape};
use crate::plan;
use crate::state::State;

use super::{Incremental, JobError, ScanJob};

/// What a scan would do with one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// It would be scanned.
    Scan,
    /// It would be passed over (scanned before, a link, a second name).
    Skip,
    /// It is in a format not read as text (7z, RAR, compressed data its name
    /// does not announce): the run would name it and exit 1.
    Unsupported,
    /// It cannot be read (the run would name it and exit 1).
    Error,
}

impl Action {
    /// The word `--list` prints.
    pub fn name(self) -> &'static str {
        match self {
            Action::Scan => "scan",
            Action::Skip => "skip",
            Action::Unsupported => "unsupported",
            Action::Error => "error",
        }
    }
}

/// One input and what would be done with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// Scan, skip or error.
    pub action: Action,
    /// The input's name as reports give it.
    pub file: String,
    /// How it would be read, or why not.
    pub why: String,
}

/// The dry run's answer: every input in the order the scan would meet it, then
/// the paths passed over while walking and those that could not be listed.
#[derive(Debug, Default)]
pub struct Listing {
    /// One entry per input.
    pub entries: Vec<Listed>,
}

impl Listing {
    /// Inputs that would be scanned.
    pub fn scanned(&self) -> usize {
        self.count(Action::Scan)
    }

    /// Inputs that cannot be read or are not text: the run would exit 1 (2 if
    /// nothing at all could be scanned).
    pub fn problems(&self) -> usize {
        self.count(Action::Error) + self.count(Action::Unsupported)
    }

    /// Inputs with this action.
    pub fn count(&self, action: Action) -> usize {
        self.entries.iter().filter(|e| e.action == action).count()
    }
}

/// Lists what `job` would scan or skip, and why, without scanning. With a
/// `--state`, the customers are loaded as the run would load them (their
/// snapshot decides which files were scanned before): instant with an index,
/// a full read of a customers CSV.
pub fn list_inputs(job: &ScanJob) -> Result<Listing, JobError> {
    let found = input::discover_with(&job.inputs, job.follow);
    let (mut files, mut errors) = (found.files, found.errors);
    let all: Vec<DumpFile> = files.clone();
    let mut seen: Vec<String> = Vec::new();
    if let Some(dir) = &job.state {
        let state = State::read(dir)?;
        let mut opts = job.plan.clone();
        opts.incremental = true;
        let loaded = plan::load(&job.customers, &files, &opts, &job.scan)?;
        if let Some(snapshot) = loaded.snapshot {
            let inc = Incremental::prepare(state, snapshot, &mut files, &mut errors, job.rescan)?;
            seen = inc.seen;
        }
    }
    let mut error_of: BTreeMap<&str, &str> = BTreeMap::new();
    for e in &errors {
        error_of.entry(&e.display).or_insert(&e.message);
    }
    let mut listing = Listing::default();
    let mut seen = seen.iter().peekable();
    for dump in &all {
        let on_disk = dump.physical_path().map(|p| p.to_string_lossy());
        let error = (error_of.remove(dump.display.as_str()))
            .or_else(|| on_disk.as_deref().and_then(|p| error_of.get(p).copied()));
        let (action, why) = if let Some(message) = error {
            (Action::Error, message.to_string())
        } else if seen.next_if(|s| **s == dump.display).is_some() {
            let why = "scanned before against these customers (--state; --rescan reads it again)";
            (Action::Skip, why.to_string())
        } else {
            sniff(dump)
        };
        listing.entries.push(Listed {
            action,
            file: dump.display.clone(),
            why,
        });
    }
    let passed = found.passed_over.into_iter().map(|(file, why)| Listed {
        action: Action::Skip,
        file,
        why,
    });
    let loops = found.loops.into_iter().map(|file| Listed {
        action: Action::Skip,
        file,
        why: "a link back to a directory already walked (a loop)".to_string(),
    });
    listing.entries.extend(passed.chain(loops));
    // Errors about paths that are not inputs of the list (a missing path).
    for InputError { display, message } in &errors {
        if error_of.remove(display.as_str()).is_some() {
            listing.entries.push(Listed {
                action: Action::Error,
                file: display.clone(),
                why: message.clone(),
            });
        }
    }
    Ok(listing)
}

/// How the scan would read `dump`, from its first bytes: scanned (as lines or
/// CSV, mapped or streamed), or a format that is not text.
fn sniff(dump: &DumpFile) -> (Action, String) {
    let shape = match dump.shape {
        Shape::Lines => "lines",
        Shape::Csv => "CSV",
    };
    if dump.input.archive().is_some() {
        return (Action::Scan, format!("{shape}, in an archive"));
    }
    let Some(path) = dump.physical_path() else {
        return (Action::Scan, format!("{shape}, standard input"));
    };
    // A FIFO or device is read by the scan only: reading its head here would
    // consume it (or wait for a writer).
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return (
            Action::Scan,
            format!("{shape}, not a regular file: read as a stream"),
        );
    }
    let head = match dump.map() {
        Ok(Some(map)) => Ok((map[..map.len().min(SNIFF_BYTES)].to_vec(), Some(map.len()))),
        Ok(None) => dump
            .with_stream(None, |r| {
                let mut head = Vec::with_capacity(SNIFF_BYTES);
                r.take(SNIFF_BYTES as u64)
                    .read_to_end(&mut head)
                    .map(|_| (head, None))
            })
            .and_then(|r| r),
        Err(e) => Err(e),
    };
    match head {
        Err(e) => (Action::Error, e.to_string()),
        Ok((head, size)) => match (foreign_format(&head), size) {
            (Some(what), _) => (Action::Unsupported, what.to_string()),
            (None, Some(bytes)) => (Action::Scan, format!("{shape}, {bytes} bytes")),
            (None, None) => (Action::Scan, format!("{shape}, decompressed as it is read")),
        },
    }
}
