//! Incremental runs: which dump files were already scanned against which customers.
//!
//! Owns the `--state DIR` directory. It holds one JSON file, `scanned.json`, keyed by
//! each dump file's content hash (xxh3-128 of its bytes as stored on disk; an
//! archive's hash covers all its members) with the file's size, the time of the scan,
//! the customers snapshot it was scanned against ([`crate::index::file::snapshot_id`]) and the
//! path it had. A file whose content and snapshot are both already recorded is skipped.
//! The state never holds anything from inside a dump: no login, no password.
//!
//! The file is replaced atomically (temp file + rename) and only after the run's
//! outputs are in place, so a run killed at any moment leaves the previous state, and
//! the next run is correct — at worst it scans again what it had already scanned.
//!
//! Delivery: each run is numbered, and the resets it reported stay *pending* in the
//! same file (account id, login, scheme, sightings, first sighting: the reset
//! list's own fields, never a password) until `leakmatch ack` acknowledges the run
//! ([`State::ack`]). A later run reports every pending reset again, marked with the
//! run that first reported it, so a list lost between the scan and the password
//! resets is never lost for good, and nothing acknowledged comes back: not even
//! from a file the state cannot record (read with an error, so read again every
//! run), whose acknowledged resets are kept as [`Delivered`] until it is.
//!
//! One run at a time: [`State::open`] takes an exclusive lock on `DIR/lock` (an
//! advisory `flock`, held until the run ends; the kernel drops it when a process
//! dies, so a killed run's lock never blocks) and writes its pid there for the
//! message a second run gets.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use xxhash_rust::xxh3::Xxh3;

use crate::atomic::StagedFile;

/// The state file's name in its directory.
pub const FILE_NAME: &str = "scanned.json";
const LOCK_NAME: &str = "lock";
const FORMAT_VERSION: u32 = 1;

/// What the state records about one scanned file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// Size in bytes when it was scanned.
    pub size: u64,
    /// Seconds since the Unix epoch when it was scanned.
    pub scanned_at: u64,
    /// Customers snapshot it was scanned against (hex).
    pub snapshot: String,
    /// The path it was scanned under (informational).
    pub path: String,
    /// Where and when it was on disk: a file with the same device, inode, size,
    /// mtime and ctime is taken as unchanged without being read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<Stat>,
}

/// A file's identity on disk, as `stat(2)` gives it: what changes whenever its
/// bytes can have (ctime cannot be set back by a user; a rename may change it,
/// and then the content hash still recognises the file).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub struct Stat {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// Status-change time, nanoseconds since the epoch.
    pub ctime_ns: i128,
}

impl Stat {
    /// The identity of the regular file behind `meta`; `None` for anything else (a
    /// FIFO or device is never hashed: reading it would consume it).
    pub fn of(meta: &std::fs::Metadata) -> Option<Stat> {
        use std::os::unix::fs::MetadataExt;
        meta.is_file().then(|| Stat {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
        })
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    /// Content hash (32 hex digits) → entry.
    files: BTreeMap<String, Entry>,
    /// The number of the last run that recorded its resets (0: none yet).
    #[serde(default)]
    last_run: u64,
    /// Resets reported and not yet acknowledged, sorted by account_id.
    #[serde(default)]
    pending: Vec<PendingReset>,
    /// The customers snapshot the pending resets were last listed against (hex).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pending_snapshot: String,
    /// Acknowledged resets first seen in a file the state has not recorded (one
    /// read with an error, which every run reads again): a later run against the
    /// same customers that finds nothing more of them does not list them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    delivered: Vec<Delivered>,
}

/// An acknowledged reset whose first sighting is in a file not recorded.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Delivered {
    /// `account_id`.
    pub account_id: String,
    /// The first sighting's file, as the list named it.
    pub file: String,
    /// And its line.
    pub line: u64,
    /// Lines whose password verified, as delivered: a run that finds more lists
    /// the account again (a new sighting).
    pub sightings: u64,
    /// The customers snapshot it was found against (hex).
    pub snapshot: String,
}

/// A reset reported by a run and not yet acknowledged: the reset list's fields.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingReset {
    /// `account_id`.
    pub account_id: String,
    /// Login as registered.
    pub login: String,
    /// Scheme name of the stored hash.
    pub scheme: String,
    /// Lines whose password verified.
    pub sightings: u64,
    /// The earliest such line's file.
    pub first_seen_file: String,
    /// And its line.
    pub first_seen_line: u64,
    /// The repairs its password needed (`via`; see [`crate::recover`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
    /// For a `password_variant` reset, the variant's rules (`--tweaks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The run that first reported it.
    pub since: u64,
}

/// What [`State::ack`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acked {
    /// Resets acknowledged now (reported by the run or an earlier one).
    pub delivered: usize,
    /// Resets still pending (first reported after the run).
    pub pending: usize,
}

/// A state directory could not be used.
#[derive(Debug, Error)]
pub enum StateError {
    /// The directory or its file could not be read or written.
    #[error("state {path}: {cause}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause (not a `source`: the message already says it, once).
        cause: io::Error,
    },
    /// The state file could not be written.
    #[error(transparent)]
    Output(#[from] crate::atomic::OutputError),
    /// Another run holds the state directory.
    #[error("state {dir} is in use by another leakmatch run{holder}; wait for it to end, or pass --wait")]
    Locked {
        /// The directory.
        dir: PathBuf,
        /// ` (pid N)` when the holder wrote its pid.
        holder: String,
    },
    /// `leakmatch ack` named a run this state has not recorded.
    #[error("state {dir}: no run {run} (the last run recorded is {last})")]
    NoSuchRun {
        /// The directory.
        dir: PathBuf,
        /// The run asked for.
        run: u64,
        /// The last run recorded.
        last: u64,
    },
    /// The state file is not one this version wrote.
    #[error("state {path}: not a leakmatch state file ({what}); remove it or use another --state directory")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// The loaded state of a directory.
#[derive(Debug)]
pub struct State {
    dir: PathBuf,
    disk: OnDisk,
    /// Recorded files by where they were on disk: their content-hash keys.
    by_stat: std::collections::HashMap<Stat, String>,
    /// The open lock file: the lock lasts as long as the state (none when only
    /// read, [`State::read`]).
    _lock: Option<File>,
}

/// A dump file's identity: content hash and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileId {
    /// xxh3-128 of the file's bytes.
    pub hash: u128,
    /// Its size in bytes.
    pub size: u64,
}

impl FileId {
    fn key(&self) -> String {
        format!("{:032x}", self.hash)
    }
}

impl State {
    /// Opens (creating the directory if needed) the state in `dir`, locked for this
    /// run: if another run holds it, waits for it when `wait` says, else fails
    /// with [`StateError::Locked`].
    pub fn open(dir: &Path, wait: bool) -> Result<State, StateError> {
        let io_err = |path: &Path, cause| StateError::Io {
            path: path.to_path_buf(),
            cause,
        };
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let lock_path = dir.join(LOCK_NAME);
        let mut lock = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| io_err(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) if wait => {
                lock.lock().map_err(|e| io_err(&lock_path, e))?;
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = lock.read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(StateError::Locked {
                    dir: dir.to_path_buf(),
                    holder: if pid.is_empty() {
                        String::new()
                    } else {
                        format!(" (pid {pid})")
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&lock_path, e)),
        }
        // Ours now: say who holds it.
        let _ = lock
            .set_len(0)
            .and_then(|()| writeln!(lock, "{}", std::process::id()));
        State::load(dir, Some(lock))
    }

    /// The state in `dir` as it is now, without taking the lock (it is replaced
    /// atomically, so it is never seen half written): for `--list`, which
    /// changes nothing. A directory without a state is an empty state.
    pub fn read(dir: &Path) -> Result<State, StateError> {
        State::load(dir, None)
    }

    fn load(dir: &Path, lock: Option<File>) -> Result<State, StateError> {
        let io_err = |path: &Path, cause| StateError::Io {
            path: path.to_path_buf(),
            cause,
        };
        let path = dir.join(FILE_NAME);
        let disk = match std::fs::read(&path) {
            Ok(bytes) => {
                let disk: OnDisk =
                    serde_json::from_slice(&bytes).map_err(|e| StateError::Invalid {
                        path: path.clone(),
                        what: format!("JSON error at line {}", e.line()),
                    })?;
                if disk.version != FORMAT_VERSION {
                    return Err(StateError::Invalid {
                        path,
                        what: format!("format version {}", disk.version),
                    });
                }
                disk
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => OnDisk {
                version: FORMAT_VERSION,
                ..OnDisk::default()
            },
            Err(e) => return Err(io_err(&path, e)),
        };
        let by_stat = (disk.files.iter())
            .filter_map(|(key, e)| Some((e.stat?, key.clone())))
            .collect();
        Ok(State {
            dir: dir.to_path_buf(),
            disk,
            by_stat,
            _lock: lock,
        })
    }

    /// Whether a file with this identity was scanned against `snapshot`.
    pub fn seen(&self, id: &FileId, snapshot: u64) -> bool {
        self.disk
            .files
            .get(&id.key())
            .is_some_and(|e| e.size == id.size && e.snapshot == snapshot_hex(snapshot))
    }

    /// The identity of a file recorded with exactly this `stat`, known without
    /// reading it.
    pub fn recognize(&self, stat: &Stat) -> Option<FileId> {
        let key = self.by_stat.get(stat)?;
        Some(FileId {
            hash: u128::from_str_radix(key, 16).ok()?,
            size: stat.size,
        })
    }

    /// Records a file as scanned against `snapshot` now (`stat`: where it is on
    /// disk, for the next run's [`State::recognize`]).
    pub fn record(&mut self, id: &FileId, snapshot: u64, path: &Path, stat: Option<Stat>) {
        let scanned_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.disk.files.insert(
            id.key(),
            Entry {
                size: id.size,
                scanned_at,
                snapshot: snapshot_hex(snapshot),
                path: path.to_string_lossy().into_owned(),
                stat,
            },
        );
    }

    /// The number this run gets when it records its resets.
    pub fn next_run(&self) -> u64 {
        self.disk.last_run + 1
    }

    /// Resets reported by earlier runs and not acknowledged, by account_id.
    pub fn pending(&self) -> &[PendingReset] {
        &self.disk.pending
    }

    /// Takes the pending resets out (the run reports them again, then records
    /// them with its own through [`State::record_run`]).
    pub fn take_pending(&mut self) -> Vec<PendingReset> {
        std::mem::take(&mut self.disk.pending)
    }

    /// Records this run ([`State::next_run`]) and its reset list, every reset
    /// pending until acknowledged: `resets` must already hold the earlier pending
    /// ones (the list reports them again).
    pub fn record_run(&mut self, mut resets: Vec<PendingReset>, snapshot: u64) {
        self.disk.last_run = self.next_run();
        resets.sort_unstable_by(|a, b| a.account_id.cmp(&b.account_id));
        self.disk.pending = resets;
        self.disk.pending_snapshot = snapshot_hex(snapshot);
    }

    /// The acknowledged resets a run against `snapshot` must not list again: by
    /// account_id, each (first-seen file, line, sightings) delivered.
    pub fn delivered(
        &self,
        snapshot: u64,
    ) -> std::collections::HashMap<String, Vec<(String, u64, u64)>> {
        let snapshot = snapshot_hex(snapshot);
        let mut by_account = std::collections::HashMap::<String, Vec<_>>::new();
        for d in self
            .disk
            .delivered
            .iter()
            .filter(|d| d.snapshot == snapshot)
        {
            by_account.entry(d.account_id.clone()).or_default().push((
                d.file.clone(),
                d.line,
                d.sightings,
            ));
        }
        by_account
    }

    /// Forgets delivered resets that no run can find again as they were: those
    /// against another customers snapshot, and those whose file is recorded now
    /// (a recorded file is not read again).
    pub fn prune_delivered(&mut self, snapshot: u64) {
        self.prune_delivered_hex(&snapshot_hex(snapshot));
    }

    fn prune_delivered_hex(&mut self, snapshot: &str) {
        let recorded: std::collections::HashSet<&str> =
            self.disk.files.values().map(|e| e.path.as_str()).collect();
        let keep: Vec<Delivered> = std::mem::take(&mut self.disk.delivered)
            .into_iter()
            .filter(|d| {
                let on_disk = d.file.split('!').next().unwrap_or_default();
                d.snapshot == snapshot && !recorded.contains(on_disk)
            })
            .collect();
        self.disk.delivered = keep;
    }

    /// Acknowledges run `run`: its list was delivered, so every reset it held (those
    /// first reported by it or an earlier run) is no longer pending. Acknowledging a
    /// run twice, or a run older than one acknowledged, changes nothing.
    pub fn ack(&mut self, run: u64) -> Result<Acked, StateError> {
        if run == 0 || run > self.disk.last_run {
            return Err(StateError::NoSuchRun {
                dir: self.dir.clone(),
                run,
                last: self.disk.last_run,
            });
        }
        let before = self.disk.pending.len();
        let (acked, pending): (Vec<_>, Vec<_>) = std::mem::take(&mut self.disk.pending)
            .into_iter()
            .partition(|p| p.since <= run);
        self.disk.pending = pending;
        // Kept until a run records their file (see `prune_delivered`).
        let snapshot = &self.disk.pending_snapshot;
        self.disk
            .delivered
            .extend(acked.into_iter().map(|p| Delivered {
                account_id: p.account_id,
                file: p.first_seen_file,
                line: p.first_seen_line,
                sightings: p.sightings,
                snapshot: snapshot.clone(),
            }));
        let snapshot = self.disk.pending_snapshot.clone();
        self.prune_delivered_hex(&snapshot);
        Ok(Acked {
            delivered: before - self.disk.pending.len(),
            pending: self.disk.pending.len(),
        })
    }

    /// The state file's path.
    pub fn file_path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// Number of files recorded.
    pub fn len(&self) -> usize {
        self.disk.files.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.disk.files.is_empty()
    }

    /// Writes the state to a temporary file in its directory, ready to be renamed
    /// into place by [`StagedFile::commit`].
    pub fn stage(&self) -> Result<StagedFile, StateError> {
        Ok(StagedFile::stage(&self.file_path(), |f| {
            let mut w = io::BufWriter::new(f);
            serde_json::to_writer_pretty(&mut w, &self.disk)?;
            w.write_all(b"\n")?;
            w.flush()
        })?)
    }
}

fn snapshot_hex(snapshot: u64) -> String {
    format!("{snapshot:016x}")
}

/// Content hash and size of a file, read in blocks (never whole into memory).
pub fn identify(path: &Path) -> io::Result<FileId> {
    let mut f = File::open(path)?;
    let mut h = Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                h.update(&buf[..n]);
                size += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(FileId {
        hash: h.digest128(),
        size,
    })
}

/// How a file was identified for the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identified {
    /// A regular file: its identity, where it is on disk, and whether its bytes
    /// were read for it (false: recognised by its `stat`).
    File {
        /// Content hash and size.
        id: FileId,
        /// Where it is on disk.
        stat: Stat,
        /// Whether it was hashed (read in full) for this.
        hashed: bool,
    },
    /// Not a regular file (a FIFO, a device): never hashed, never skipped, never
    /// recorded.
    Other,
}

/// Identifies many files in parallel, in the order given: by `stat` when `state`
/// recorded them so, else by reading and hashing them.
pub fn identify_all(state: &State, paths: &[&Path]) -> Vec<io::Result<Identified>> {
    paths
        .par_iter()
        .map(|p| {
            let Some(stat) = Stat::of(&std::fs::metadata(p)?) else {
                return Ok(Identified::Other);
            };
            if let Some(id) = state.recognize(&stat) {
                return Ok(Identified::File {
                    id,
                    stat,
                    hashed: false,
                });
            }
            Ok(Identified::File {
                id: identify(p)?,
                stat,
                hashed: true,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_snapshot_matters() {
        let dir = tempfile::tempdir().unwrap();
        let dump = dir.path().join("d.txt");
        std::fs::write(&dump, "a:b\n").unwrap();
        let id = identify(&dump).unwrap();
        let mut st = State::open(&dir.path().join("state"), false).unwrap();
        assert!(!st.seen(&id, 7));
        st.record(&id, 7, &dump, Stat::of(&std::fs::metadata(&dump).unwrap()));
        st.stage().unwrap().commit().unwrap();
        // One holder at a time, until it is dropped.
        let err = State::open(&dir.path().join("state"), false).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("(pid {})", std::process::id())),
            "{err}"
        );
        drop(st);
        let st = State::open(&dir.path().join("state"), false).unwrap();
        assert!(st.seen(&id, 7));
        assert!(!st.seen(&id, 8));
        std::fs::write(&dump, "a:c\n").unwrap();
        assert!(!st.seen(&identify(&dump).unwrap(), 7));
    }

    fn reset(id: &str, since: u64) -> PendingReset {
        PendingReset {
            account_id: id.into(),
            login: format!("{id}@x"),
            scheme: "sha1".into(),
            sightings: 1,
            first_seen_file: "d.txt".into(),
            first_seen_line: 1,
            via: Vec::new(),
            variant: None,
            since,
        }
    }

    /// Runs are numbered from 1; acknowledging run N clears what runs up to N
    /// reported, keeps what later runs first reported, and survives a reload.
    #[test]
    fn pending_resets_last_until_their_run_is_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let mut st = State::open(dir.path(), false).unwrap();
        assert_eq!(st.next_run(), 1);
        assert!(matches!(
            st.ack(1),
            Err(StateError::NoSuchRun {
                run: 1,
                last: 0,
                ..
            })
        ));
        st.record_run(vec![reset("b", 1), reset("a", 1)], 7);
        st.record_run(vec![reset("a", 1), reset("b", 1), reset("c", 2)], 7);
        st.stage().unwrap().commit().unwrap();
        drop(st);
        let mut st = State::open(dir.path(), false).unwrap();
        assert_eq!(st.next_run(), 3);
        assert_eq!(
            st.pending()
                .iter()
                .map(|p| &*p.account_id)
                .collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(
            st.ack(1).unwrap(),
            Acked {
                delivered: 2,
                pending: 1
            }
        );
        assert_eq!(
            st.ack(1).unwrap(),
            Acked {
                delivered: 0,
                pending: 1
            }
        );
        assert_eq!(
            st.ack(2).unwrap(),
            Acked {
                delivered: 1,
                pending: 0
            }
        );
        let err = st.ack(3).unwrap_err().to_string();
        assert!(
            err.contains("no run 3 (the last run recorded is 2)"),
            "{err}"
        );
    }

    /// An acknowledged reset is kept as delivered while its file is not
    /// recorded, for the customers it was found against only; recording its file
    /// forgets it.
    #[test]
    fn delivered_resets_last_while_their_file_is_unrecorded() {
        let dir = tempfile::tempdir().unwrap();
        let mut st = State::open(dir.path(), false).unwrap();
        st.record_run(vec![reset("a", 1)], 7);
        st.ack(1).unwrap();
        let want = vec![("d.txt".to_string(), 1, 1)];
        assert_eq!(st.delivered(7).get("a"), Some(&want));
        assert!(st.delivered(8).is_empty());
        let id = FileId { hash: 1, size: 1 };
        st.record(&id, 7, Path::new("d.txt"), None);
        st.prune_delivered(7);
        assert!(st.delivered(7).is_empty());
    }

    #[test]
    fn garbage_state_is_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "{not json").unwrap();
        let err = State::open(dir.path(), false).unwrap_err().to_string();
        assert!(err.contains("not a leakmatch state file"), "{err}");
    }
}
