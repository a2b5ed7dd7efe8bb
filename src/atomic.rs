//! Output files written all or nothing, and where an output path leads.
//!
//! Owns how every file the engine writes (reset and review lists, `--stats`, the
//! `.lmx` index, the `--state` file) reaches its path. A path is first resolved to a
//! [`Destination`]:
//!
//! - a regular file, or none yet (a symlink counts as its final target), is
//!   **replaced**: written in full to a temporary file in the target's directory,
//!   synced, then renamed over it. Readers see the old file or the new one, never a
//!   partial one; a run that fails before the rename leaves the target as it was.
//! - anything else that exists (`/dev/null`, `/dev/stdout`, a terminal, a FIFO) is
//!   **written in place**, never replaced: the content is staged in an unlinked
//!   temporary file and copied there on commit.
//! - `-` is standard output, also written on commit.
//!
//! [`check_outputs`] resolves a run's outputs before any work starts: a directory
//! that does not exist or cannot be written, one file named for two roles, or an
//! output that is one of the run's inputs (or inside an input directory) is refused
//! then, not after an hour of scanning.

use std::fs::{self, File};
use std::io::{self, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Symbolic links followed to find an output's target before giving up (Linux's
/// own limit).
const MAX_LINKS: usize = 40;

/// An output path that cannot be written, or a set of paths that cannot be used
/// together. Each names its path once, with one cause.
#[derive(Debug, Error)]
pub enum OutputError {
    /// Reading or writing the output failed.
    #[error("cannot write {path}: {cause}")]
    Io {
        /// The output as the caller named it.
        path: PathBuf,
        /// The cause (not a `source`: it is already in this message).
        cause: io::Error,
    },
    /// The output's directory does not exist.
    #[error("cannot write {path}: directory {dir} does not exist")]
    NoDirectory {
        /// The output.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
    },
    /// The output is a directory.
    #[error("cannot write {0}: it is a directory")]
    IsDirectory(PathBuf),
    /// An index must be a regular file: it is mapped back after it is written.
    #[error("cannot write {0}: an index must be a regular file")]
    NotRegular(PathBuf),
    /// Two roles name the same file.
    #[error("{first} and {second} name the same file ({path}); give each its own")]
    SameFile {
        /// The first role (a flag).
        first: &'static str,
        /// The second role.
        second: &'static str,
        /// The path given for the second.
        path: PathBuf,
    },
    /// An output is one of the run's inputs.
    #[error("{role} {path} is an input of this run; write it somewhere else")]
    IsInput {
        /// The role (a flag).
        role: &'static str,
        /// The output.
        path: PathBuf,
    },
    /// An output would land inside an input directory, to be scanned next time.
    #[error("{role} {path} is inside the input directory {dir}, where the next run would scan it; write it somewhere else")]
    InsideInput {
        /// The role (a flag).
        role: &'static str,
        /// The output.
        path: PathBuf,
        /// The input directory.
        dir: PathBuf,
    },
}

impl OutputError {
    fn io(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
        move |cause| OutputError::Io {
            path: path.to_path_buf(),
            cause,
        }
    }
}

/// Where an output path leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A regular file or nothing yet (a symlink's final target): replaced atomically.
    Replace(PathBuf),
    /// Something that exists and is not a regular file or directory (a device, a
    /// terminal, a FIFO): written in place.
    Direct(PathBuf),
    /// `-`: standard output.
    Stdout,
}

impl Destination {
    /// Resolves `path`: `-` is standard output; symlinks are followed to their
    /// final target (which may not exist yet); a missing path needs an existing
    /// directory.
    pub fn of(path: &Path) -> Result<Destination, OutputError> {
        if path.as_os_str() == "-" {
            return Ok(Destination::Stdout);
        }
        let mut p = path.to_path_buf();
        for _ in 0..MAX_LINKS {
            match fs::symlink_metadata(&p) {
                Ok(m) if m.file_type().is_symlink() => {
                    let target = fs::read_link(&p).map_err(OutputError::io(path))?;
                    // A relative target is relative to the link's directory; an
                    // absolute one replaces it in `join`.
                    p = parent_or_dot(&p).join(target);
                }
                Ok(m) if m.is_file() => return Ok(Destination::Replace(p)),
                Ok(m) if m.is_dir() => return Err(OutputError::IsDirectory(path.into())),
                Ok(_) => return Ok(Destination::Direct(p)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    let dir = parent_or_dot(&p);
                    if !dir.is_dir() {
                        return Err(OutputError::NoDirectory {
                            path: path.into(),
                            dir: dir.to_path_buf(),
                        });
                    }
                    return Ok(Destination::Replace(p));
                }
                Err(e) => return Err(OutputError::io(path)(e)),
            }
        }
        Err(OutputError::io(path)(io::Error::other(
            "too many levels of symbolic links",
        )))
    }

    /// Proves the destination can be written now: a temporary file is created and
    /// removed in a replaced file's directory. (A device or FIFO is opened only on
    /// commit: opening a FIFO waits for its reader.)
    fn probe(&self, path: &Path) -> Result<(), OutputError> {
        if let Destination::Replace(p) = self {
            temp_beside(p).map_err(OutputError::io(path))?;
        }
        Ok(())
    }

    /// What identifies the destination among others: the file (device and inode)
    /// when it exists, else its directory's canonical path and its name.
    fn identity(&self) -> Identity {
        match self {
            Destination::Stdout => Identity::Stdout,
            Destination::Direct(p) | Destination::Replace(p) => match fs::metadata(p) {
                Ok(m) => Identity::Inode(m.dev(), m.ino()),
                Err(_) => {
                    let dir = fs::canonicalize(parent_or_dot(p))
                        .unwrap_or_else(|_| parent_or_dot(p).to_path_buf());
                    Identity::Path(dir.join(p.file_name().unwrap_or_default()))
                }
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Identity {
    Stdout,
    Inode(u64, u64),
    Path(PathBuf),
}

/// Checks a run's outputs before it starts: each `(role, path)` resolves and can be
/// written, no file serves two roles (a device such as `/dev/null` may), and none
/// is one of `inputs` or inside an input directory. `stdout_taken` names the role
/// already writing to standard output, if any.
pub fn check_outputs(
    outputs: &[(&'static str, &Path)],
    inputs: &[&Path],
    stdout_taken: Option<&'static str>,
) -> Result<(), OutputError> {
    let mut seen: Vec<(&'static str, Identity)> = Vec::new();
    if let Some(role) = stdout_taken {
        seen.push((role, Identity::Stdout));
    }
    let input_ids: Vec<(u64, u64)> = inputs
        .iter()
        .filter_map(|p| fs::metadata(p).ok())
        .map(|m| (m.dev(), m.ino()))
        .collect();
    let input_dirs: Vec<(&Path, PathBuf)> = inputs
        .iter()
        .filter(|p| p.is_dir())
        .filter_map(|p| Some((*p, fs::canonicalize(p).ok()?)))
        .collect();
    for &(role, path) in outputs {
        let dest = Destination::of(path)?;
        dest.probe(path)?;
        let id = dest.identity();
        let shareable = matches!(dest, Destination::Direct(_));
        if !shareable {
            if let Some((first, _)) = seen.iter().find(|(_, s)| *s == id) {
                return Err(OutputError::SameFile {
                    first,
                    second: role,
                    path: path.into(),
                });
            }
        }
        if let Destination::Replace(p) = &dest {
            if let Identity::Inode(dev, ino) = id {
                if input_ids.contains(&(dev, ino)) {
                    return Err(OutputError::IsInput {
                        role,
                        path: path.into(),
                    });
                }
            }
            let canonical = fs::canonicalize(parent_or_dot(p))
                .map(|d| d.join(p.file_name().unwrap_or_default()))
                .unwrap_or_else(|_| p.clone());
            if let Some((dir, _)) = input_dirs.iter().find(|(_, c)| canonical.starts_with(c)) {
                return Err(OutputError::InsideInput {
                    role,
                    path: path.into(),
                    dir: dir.to_path_buf(),
                });
            }
        }
        seen.push((role, id));
    }
    Ok(())
}

/// `path`'s directory (`.` for a bare name).
fn parent_or_dot(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// A temporary file in `target`'s directory, removed when dropped.
fn temp_beside(target: &Path) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".leakmatch-")
        .suffix(".tmp")
        .tempfile_in(parent_or_dot(target))
}

/// An output's content, written in full and waiting for [`StagedFile::commit`].
/// Dropped without a commit, it vanishes and the destination is untouched.
pub struct StagedFile {
    tmp: Temp,
    path: PathBuf,
}

enum Temp {
    /// Beside the file it will replace.
    Beside(tempfile::NamedTempFile, PathBuf),
    /// Unlinked from the start; copied to a device, FIFO or stdout on commit.
    Anonymous(File, Destination),
}

impl StagedFile {
    /// Writes the whole content of the output `path` and syncs it.
    pub fn stage(
        path: &Path,
        write: impl FnOnce(&mut File) -> io::Result<()>,
    ) -> Result<StagedFile, OutputError> {
        let mut staged = StagedFile::create(path)?;
        write(staged.file()).map_err(OutputError::io(path))?;
        if let Temp::Beside(tmp, _) = &staged.tmp {
            tmp.as_file().sync_all().map_err(OutputError::io(path))?;
        }
        Ok(staged)
    }

    /// An empty staged output for `path`, for a writer that fills it over a while.
    pub fn create(path: &Path) -> Result<StagedFile, OutputError> {
        let tmp = match Destination::of(path)? {
            Destination::Replace(target) => {
                Temp::Beside(temp_beside(&target).map_err(OutputError::io(path))?, target)
            }
            dest => Temp::Anonymous(tempfile::tempfile().map_err(OutputError::io(path))?, dest),
        };
        Ok(StagedFile {
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// [`StagedFile::create`] for an output that must be a regular file (an index,
    /// which is mapped back once written).
    pub fn create_regular(path: &Path) -> Result<StagedFile, OutputError> {
        match Destination::of(path)? {
            Destination::Replace(_) => StagedFile::create(path),
            _ => Err(OutputError::NotRegular(path.into())),
        }
    }

    /// The temporary file.
    pub fn file(&mut self) -> &mut File {
        match &mut self.tmp {
            Temp::Beside(tmp, _) => tmp.as_file_mut(),
            Temp::Anonymous(f, _) => f,
        }
    }

    /// The output as its caller named it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Puts the content in place: a file is synced and renamed over its target
    /// (readers see the old file or the new one, never a partial one); a device,
    /// FIFO or standard output is written.
    pub fn commit(self) -> Result<(), OutputError> {
        let err = OutputError::io(&self.path);
        match self.tmp {
            Temp::Beside(tmp, target) => {
                let done = tmp
                    .as_file()
                    .sync_all()
                    .and_then(|()| tmp.persist(&target).map(drop).map_err(|e| e.error));
                done.map_err(err)
            }
            Temp::Anonymous(mut f, dest) => {
                let mut copy = |w: &mut dyn Write| -> io::Result<()> {
                    f.rewind()?;
                    io::copy(&mut f, w)?;
                    w.flush()
                };
                match dest {
                    Destination::Direct(p) => {
                        let mut w = fs::OpenOptions::new()
                            .write(true)
                            .open(p)
                            .map_err(OutputError::io(&self.path))?;
                        copy(&mut w).map_err(err)
                    }
                    _ => copy(&mut io::stdout().lock()).map_err(err),
                }
            }
        }
    }
}

/// Creates `path` all at once: [`StagedFile::stage`] then [`StagedFile::commit`].
pub fn atomic_write(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), OutputError> {
    StagedFile::stage(path, write)?.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

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

    #[test]
    fn a_symlink_to_a_file_has_its_target_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.txt");
        let link = dir.path().join("link.txt");
        std::fs::write(&target, "old").unwrap();
        std::os::unix::fs::symlink("real.txt", &link).unwrap();
        atomic_write(&link, |f| f.write_all(b"new")).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        // A dangling link gets its target created.
        std::fs::remove_file(&target).unwrap();
        atomic_write(&link, |f| f.write_all(b"newer")).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "newer");
    }

    #[test]
    fn a_device_is_a_direct_destination_never_an_index() {
        assert_eq!(
            Destination::of(Path::new("/dev/null")).unwrap(),
            Destination::Direct("/dev/null".into())
        );
        // (Not written here: a test must never risk the machine's device nodes.
        // The CLI tests write through a FIFO of their own.)
        assert!(matches!(
            StagedFile::create_regular(Path::new("/dev/null")),
            Err(OutputError::NotRegular(_))
        ));
    }

    #[test]
    fn outputs_are_checked_before_work_starts() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let input = d.join("customers.csv");
        std::fs::write(&input, "x").unwrap();
        let inbox = d.join("inbox");
        std::fs::create_dir(&inbox).unwrap();
        let (a, b) = (d.join("a.txt"), d.join("./a.txt"));
        let check = |outs: &[(&'static str, &Path)]| {
            check_outputs(outs, &[input.as_path(), inbox.as_path()], None)
        };
        check(&[("-o", &a), ("--stats", &d.join("s.json"))]).unwrap();
        let same = check(&[("-o", &a), ("--stats", &b)]).unwrap_err();
        assert!(matches!(
            same,
            OutputError::SameFile {
                first: "-o",
                second: "--stats",
                ..
            }
        ));
        assert!(matches!(
            check(&[("-o", &input)]),
            Err(OutputError::IsInput { .. })
        ));
        assert!(matches!(
            check(&[("-o", &inbox.join("resets.txt"))]),
            Err(OutputError::InsideInput { .. })
        ));
        assert!(matches!(
            check(&[("-o", &d.join("nope/x"))]),
            Err(OutputError::NoDirectory { .. })
        ));
        assert!(matches!(
            check(&[("-o", &inbox)]),
            Err(OutputError::IsDirectory(_))
        ));
        // Devices may serve several roles; standard output only one.
        let null = Path::new("/dev/null");
        check(&[("-o", null), ("--stats", null)]).unwrap();
        let dash = Path::new("-");
        assert!(check_outputs(&[("--stats", dash)], &[], Some("-o")).is_err());
        check_outputs(&[("--stats", dash)], &[], None).unwrap();
    }

    #[test]
    fn an_io_error_names_its_cause_once() {
        let e = OutputError::Io {
            path: "x".into(),
            cause: io::Error::other("disk full"),
        };
        assert_eq!(
            format!("{:#}", anyhow::Error::new(e)),
            "cannot write x: disk full"
        );
    }
}
