//! `--state` within a run: which of the run's files were scanned before against
//! these customers (dropped from the run), and what the run records once its
//! outputs are in place.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::atomic::StagedFile;
use crate::input::{DumpFile, InputError};
use crate::state::{FileId, Identified, PendingReset, Stat, State};

use super::JobError;

/// An incremental run in progress: the loaded state, the customers snapshot, and the
/// identity of every file on disk the run reads.
pub(super) struct Incremental {
    pub(super) state: State,
    pub(super) snapshot: u64,
    ids: HashMap<PathBuf, (FileId, Stat)>,
    pub(super) skipped: u64,
    /// The names of the files skipped as scanned before, in order.
    pub(super) seen: Vec<String>,
    /// Bytes read to hash files the state did not recognise by their `stat`.
    pub(super) bytes_hashed: u64,
}

impl Incremental {
    /// Loads the state and drops from `files` those already scanned against this
    /// customers snapshot (unless `rescan`). Files that cannot be read for hashing are
    /// reported and dropped.
    pub(super) fn prepare(
        state: State,
        snapshot: u64,
        files: &mut Vec<DumpFile>,
        errors: &mut Vec<InputError>,
        rescan: bool,
    ) -> Result<Incremental, JobError> {
        let physical: Vec<&Path> = files
            .iter()
            .filter_map(|f| f.physical_path())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut ids = HashMap::new();
        let mut unreadable = BTreeSet::new();
        let mut skip = BTreeSet::new();
        let mut bytes_hashed = 0;
        for (path, id) in physical
            .iter()
            .zip(crate::state::identify_all(&state, &physical))
        {
            match id {
                Ok(Identified::File { id, stat, hashed }) => {
                    if hashed {
                        bytes_hashed += id.size;
                    }
                    if !rescan && state.seen(&id, snapshot) {
                        skip.insert(path.to_path_buf());
                    }
                    ids.insert(path.to_path_buf(), (id, stat));
                }
                // A FIFO or device: read by the scan, never hashed or recorded.
                Ok(Identified::Other) => {}
                Err(e) => {
                    errors.push(InputError {
                        display: path.to_string_lossy().into_owned(),
                        message: e.to_string(),
                    });
                    unreadable.insert(path.to_path_buf());
                }
            }
        }
        let mut seen = Vec::new();
        files.retain(|f| {
            let Some(p) = f.physical_path() else {
                return true;
            };
            if skip.contains(p) {
                seen.push(f.display.clone());
            }
            !skip.contains(p) && !unreadable.contains(p)
        });
        Ok(Incremental {
            state,
            snapshot,
            ids,
            skipped: skip.len() as u64,
            seen,
            bytes_hashed,
        })
    }

    /// Records every file read without error and this run's reset list (`resets`,
    /// pending until acknowledged) and stages the new state.
    pub(super) fn stage(
        mut self,
        files: &[DumpFile],
        errors: &[InputError],
        resets: Vec<PendingReset>,
    ) -> Result<StagedFile, JobError> {
        self.state.record_run(resets, self.snapshot);
        let failed: BTreeSet<&str> = errors.iter().map(|e| e.display.as_str()).collect();
        // An error inside an archive (`a.tgz!b.zip!c`) keeps the archive on disk
        // (`a.tgz`) out of the state, as one on the archive itself does.
        let archives: BTreeSet<&str> = (errors.iter())
            .flat_map(|e| e.display.match_indices('!').map(|(i, _)| &e.display[..i]))
            .collect();
        let mut clean: BTreeMap<&Path, bool> = BTreeMap::new();
        for f in files {
            if let Some(p) = f.physical_path() {
                // An archive's own damage is named by its path, a member's by its
                // display name.
                let on_disk = p.to_string_lossy();
                let bad = failed.contains(f.display.as_str())
                    || failed.contains(&*on_disk)
                    || archives.contains(&*on_disk);
                *clean.entry(p).or_insert(true) &= !bad;
            }
        }
        for (path, ok) in clean {
            if let (true, Some((id, stat))) = (ok, self.ids.get(path)) {
                self.state.record(id, self.snapshot, path, Some(*stat));
            }
        }
        self.state.prune_delivered(self.snapshot);
        Ok(self.state.stage()?)
    }
}
