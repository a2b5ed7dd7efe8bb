//! Output files written all or nothing.
//!
//! Owns how every file the engine writes (reset and review lists, `--stats`, the
//! `.lmx` index, the `--state` file) reaches its path: in full to a temporary file in
//! the target's directory, synced, then renamed over the target. Readers see the old
//! file or the new one, never a partial one; a run that fails before the rename
//! leaves the target as it was.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

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
        let mut staged = StagedFile::create(path)?;
        write(staged.file())?;
        staged.tmp.as_file().sync_all()?;
        Ok(staged)
    }

    /// An empty temporary file beside `path`, for a writer that fills it over a
    /// while (the index build); [`StagedFile::commit`] syncs and renames it.
    pub fn create(path: &Path) -> io::Result<StagedFile> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".leakmatch-")
            .suffix(".tmp")
            .tempfile_in(dir)?;
        Ok(StagedFile {
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// The temporary file.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// Syncs the temporary file and renames it over the target: readers see the old
    /// file or the new one, never a partial one.
    pub fn commit(self) -> io::Result<()> {
        self.tmp.as_file().sync_all()?;
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
}
