//! Atomic outputs: every file is written to a temporary sibling and renamed into place, so a
//! failed or interrupted run never leaves a half-written file and keeps the previous output.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// A set of files written together: each is staged beside its destination, and only when all
/// are staged are they renamed into place.
#[derive(Default)]
pub struct OutputSet {
    staged: Vec<(NamedTempFile, PathBuf)>,
}

impl OutputSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stages `bytes` for `path`. Nothing is visible at `path` until [`OutputSet::commit`].
    pub fn stage(&mut self, path: &Path, bytes: &[u8]) -> Result<()> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let mut file = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, &e))?;
        // No fsync: atomicity (never a half-written file) comes from the rename; durability
        // across power loss is not a build output's job (make does not fsync either).
        file.write_all(bytes).map_err(|e| Error::io(path, &e))?;
        set_readable(file.path()).map_err(|e| Error::io(path, &e))?;
        self.staged.push((file, path.to_path_buf()));
        Ok(())
    }

    /// Renames every staged file into place.
    pub fn commit(self) -> Result<()> {
        for (file, path) in self.staged {
            file.persist(&path)
                .map_err(|e| Error::io(&path, &e.error))?;
        }
        Ok(())
    }
}

/// Writes one file atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut set = OutputSet::new();
    set.stage(path, bytes)?;
    set.commit()
}

/// Temporary files are created 0600; outputs get the usual 0644.
fn set_readable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_visible_before_commit_and_no_temp_remains() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.skel.h");
        std::fs::write(&target, "old").unwrap();
        let mut set = OutputSet::new();
        set.stage(&target, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        set.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn dropped_sets_leave_the_old_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.bpf.o");
        std::fs::write(&target, "old").unwrap();
        let mut set = OutputSet::new();
        set.stage(&target, b"new").unwrap();
        drop(set);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
