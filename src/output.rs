//! Atomic outputs: a failed, interrupted or killed run never leaves a half-written file, keeps
//! the previous output, and leaves no temporary file behind.
//!
//! Each file is staged as an unnamed `O_TMPFILE` inode in its destination directory; only on
//! commit does it get a name (linked as the destination when there is none yet, else linked
//! under a temporary name and renamed over the destination at once), so a process killed
//! while staging leaves nothing at all. Where the filesystem
//! has no `O_TMPFILE`, a named temporary sibling is used instead.
//!
//! A file that already holds the bytes to be written is left alone (no temporary, no rename,
//! its modification time and inode kept): a build that changes nothing writes nothing, and
//! whatever depends on the file's time (make, ninja, cargo) sees no change.
//!
//! A destination that exists and is not a regular file (`/dev/null`, `/dev/stdout`, a FIFO)
//! is written into, as clang and bpftool write `-o /dev/null`: renaming over it would replace
//! the device or pipe with a file (for root, `/dev/null` itself).

use crate::error::{Error, Result};
use rustix::fs::{AtFlags, CWD, Mode, OFlags};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One staged file.
enum Staged {
    /// An unnamed inode in the destination's directory.
    Unnamed(std::fs::File),
    /// A named temporary sibling (filesystems without `O_TMPFILE`).
    Named(tempfile::NamedTempFile),
    /// The bytes for a destination that is not a regular file, written into it on commit.
    Into(Vec<u8>),
}

/// A set of files written together: each is staged beside its destination, and only when all
/// are staged are they renamed into place.
#[derive(Default)]
pub struct OutputSet {
    staged: Vec<(Staged, PathBuf)>,
}

impl OutputSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stages `bytes` for `path`. Nothing is visible at `path` until [`OutputSet::commit`];
    /// a `path` that already holds exactly `bytes` is not staged, and stays as it is.
    pub fn stage(&mut self, path: &Path, bytes: &[u8]) -> Result<()> {
        if holds(path, bytes) {
            return Ok(());
        }
        if is_special(path) {
            self.staged
                .push((Staged::Into(bytes.to_vec()), path.to_path_buf()));
            return Ok(());
        }
        let dir = parent_dir(path);
        // Naming an unnamed inode goes through /proc/self/fd: without /proc, stage by name.
        let unnamed = Path::new("/proc/self/fd").is_dir().then(|| {
            rustix::fs::openat(
                CWD,
                dir,
                OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o666),
            )
        });
        let staged = match unnamed {
            Some(Ok(fd)) => {
                let mut file = std::fs::File::from(fd);
                file.write_all(bytes).map_err(|e| Error::io(path, &e))?;
                Staged::Unnamed(file)
            }
            _ => Staged::Named(named_temporary(dir, path, bytes)?),
        };
        self.staged.push((staged, path.to_path_buf()));
        Ok(())
    }

    /// Puts every staged file in place; returns the paths written (not those that already
    /// held their bytes).
    pub fn commit(self) -> Result<Vec<PathBuf>> {
        let mut written = Vec::with_capacity(self.staged.len());
        for (staged, path) in self.staged {
            match staged {
                Staged::Unnamed(file) => publish(&file, &path)?,
                Staged::Named(file) => {
                    file.persist(&path)
                        .map_err(|e| Error::io(&path, &e.error))?;
                }
                Staged::Into(bytes) => std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|mut file| file.write_all(&bytes))
                    .map_err(|e| Error::io(&path, &e))?,
            }
            written.push(path);
        }
        Ok(written)
    }
}

/// Whether `path` is a regular file whose contents are exactly `bytes` (compared only when
/// the sizes agree).
fn holds(path: &Path, bytes: &[u8]) -> bool {
    std::fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.len() == bytes.len() as u64)
        && std::fs::read(path).is_ok_and(|old| old == bytes)
}

/// Whether `path` exists and is neither a regular file nor a directory (following links):
/// a device, a pipe or a socket, which is written into rather than replaced.
fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|meta| !meta.is_file() && !meta.is_dir())
}

/// Whether directory `dir` holds exactly `files` (relative paths and contents): the same
/// regular files with the same bytes, and nothing else.
fn dir_holds_exactly(dir: &Path, files: &[(&str, &[u8])]) -> bool {
    fn count_entries(dir: &Path) -> Option<usize> {
        let mut count = 0;
        for entry in std::fs::read_dir(dir).ok()? {
            let entry = entry.ok()?;
            let kind = entry.file_type().ok()?;
            count += if kind.is_dir() {
                count_entries(&entry.path())?
            } else {
                1
            };
        }
        Some(count)
    }
    count_entries(dir) == Some(files.len())
        && files
            .iter()
            .all(|(relative, bytes)| holds(&dir.join(relative), bytes))
}

/// Names an unnamed inode `path`: linked as `path` at once when nothing is there (the name
/// appears with the whole file behind it, one directory change, as a plain create would
/// make), else linked under a random temporary name (retried on a clash) and renamed over
/// `path`.
fn publish(file: &std::fs::File, path: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    if rustix::fs::linkat(CWD, proc_path.as_str(), CWD, path, AtFlags::SYMLINK_FOLLOW).is_ok() {
        return Ok(());
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let linked = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .make_in(parent_dir(path), |temporary| {
            rustix::fs::linkat(
                CWD,
                proc_path.as_str(),
                CWD,
                temporary,
                AtFlags::SYMLINK_FOLLOW,
            )
            .map_err(std::io::Error::from)
        })
        .map_err(|e| Error::io(path, &e))?;
    linked
        .into_temp_path()
        .persist(path)
        .map_err(|e| Error::io(path, &e.error))
}

fn named_temporary(dir: &Path, path: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut file = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, &e))?;
    // No fsync: atomicity comes from the rename; durability across power loss is not a build
    // output's job (make does not fsync either).
    file.write_all(bytes).map_err(|e| Error::io(path, &e))?;
    Ok(file)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes one file atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut set = OutputSet::new();
    set.stage(path, bytes)?;
    set.commit().map(drop)
}

/// Writes a directory of `files` (relative paths and contents) at `path` atomically: it is
/// built beside `path` and then put in place in one step (exchanged with the previous
/// directory, which is then removed), so a failed run leaves the previous directory whole.
/// A previous directory is replaced only when it holds `marker` (a file every such
/// directory has) or is empty: anything else at `path` is the user's and is left alone. A
/// previous directory that already holds exactly `files`, and nothing else, is not touched.
pub fn write_dir_atomic<'a>(
    path: &Path,
    files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    marker: &str,
) -> Result<()> {
    let files: Vec<(&str, &[u8])> = files.into_iter().collect();
    let previous = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            let empty = std::fs::read_dir(path)
                .map_err(|e| Error::io(path, &e))?
                .next()
                .is_none();
            if !empty && !path.join(marker).exists() {
                return Err(Error::environment(format!(
                    "exists and is not a directory bpfgen wrote (it has no {marker}); \
                     not replacing it"
                ))
                .in_file(path));
            }
            if dir_holds_exactly(path, &files) {
                return Ok(());
            }
            true
        }
        Ok(_) => {
            return Err(
                Error::environment("exists and is not a directory; not replacing it").in_file(path),
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(Error::io(path, &e)),
    };
    let parent = parent_dir(path);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    // Removed when dropped: the half-built directory on failure, the previous one on success.
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .tempdir_in(parent)
        .map_err(|e| Error::io(parent, &e))?;
    for (relative, bytes) in files {
        let file = staging.path().join(relative);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
        }
        std::fs::write(&file, bytes).map_err(|e| Error::io(&path.join(relative), &e))?;
    }
    let how = if previous {
        rustix::fs::RenameFlags::EXCHANGE
    } else {
        rustix::fs::RenameFlags::NOREPLACE
    };
    rustix::fs::renameat_with(CWD, staging.path(), CWD, path, how)
        .map_err(|e| Error::io(path, &std::io::Error::from(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipe_as_the_destination_is_written_into_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("out.fifo");
        rustix::fs::mknodat(
            CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_atomic(&fifo, b"through the pipe").unwrap();
        // Checked before joining: a reader of a replaced pipe would wait for ever.
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(
            std::os::unix::fs::FileTypeExt::is_fifo(&kind),
            "replaced by a file"
        );
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "a temporary remains"
        );
    }

    #[test]
    fn nothing_is_visible_before_commit_and_no_temp_remains() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.skel.h");
        std::fs::write(&target, "old").unwrap();
        let mut set = OutputSet::new();
        set.stage(&target, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "staging is unnamed"
        );
        set.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o644, 0o644, "outputs are readable ({mode:o})");
    }

    #[test]
    fn unchanged_files_are_not_rewritten() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.bpf.o");
        write_atomic(&target, b"same").unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000);
        std::fs::File::options()
            .write(true)
            .open(&target)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let before = std::fs::metadata(&target).unwrap();
        write_atomic(&target, b"same").unwrap();
        let after = std::fs::metadata(&target).unwrap();
        assert_eq!(after.modified().unwrap(), old);
        assert_eq!(after.ino(), before.ino());
        write_atomic(&target, b"diff").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"diff");
        assert_ne!(std::fs::metadata(&target).unwrap().ino(), before.ino());
    }

    #[test]
    fn a_directory_that_holds_its_files_is_not_rewritten() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("image");
        let files: [(&str, &[u8]); 2] = [("index.json", b"{}"), ("blobs/sha256/ab", b"blob")];
        write_dir_atomic(&target, files, "index.json").unwrap();
        let inode = |p: &Path| std::fs::metadata(p).unwrap().ino();
        let (dir_inode, blob_inode) = (inode(&target), inode(&target.join("blobs/sha256/ab")));
        write_dir_atomic(&target, files, "index.json").unwrap();
        assert_eq!(inode(&target), dir_inode, "an unchanged directory stays");
        assert_eq!(inode(&target.join("blobs/sha256/ab")), blob_inode);
        std::fs::write(target.join("stray"), "x").unwrap();
        write_dir_atomic(&target, files, "index.json").unwrap();
        assert_ne!(
            inode(&target),
            dir_inode,
            "an extra file makes it different"
        );
        assert!(!target.join("stray").exists());
        let changed: [(&str, &[u8]); 2] = [("index.json", b"{}"), ("blobs/sha256/ab", b"new")];
        let before = inode(&target);
        write_dir_atomic(&target, changed, "index.json").unwrap();
        assert_ne!(
            inode(&target),
            before,
            "a changed file replaces the directory"
        );
        assert_eq!(
            std::fs::read(target.join("blobs/sha256/ab")).unwrap(),
            b"new"
        );
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

    #[test]
    fn directories_are_replaced_whole_and_foreign_ones_never() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("p.oci");
        let files = |v: &'static [u8]| vec![("oci-layout", v), ("blobs/sha256/x", v)];
        write_dir_atomic(&target, files(b"1"), "oci-layout").unwrap();
        write_dir_atomic(&target, files(b"2"), "oci-layout").unwrap();
        assert_eq!(std::fs::read(target.join("blobs/sha256/x")).unwrap(), b"2");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no staging left"
        );
        let foreign = dir.path().join("mine");
        std::fs::create_dir(&foreign).unwrap();
        std::fs::write(foreign.join("notes.txt"), "keep").unwrap();
        let err = write_dir_atomic(&foreign, files(b"3"), "oci-layout").unwrap_err();
        assert!(err.to_string().contains("not replacing it"), "{err}");
        assert_eq!(std::fs::read(foreign.join("notes.txt")).unwrap(), b"keep");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no staging left"
        );
    }

    #[test]
    fn named_staging_works_too() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.h");
        let file = named_temporary(dir.path(), &target, b"data").unwrap();
        file.persist(&target).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"data");
    }
}
