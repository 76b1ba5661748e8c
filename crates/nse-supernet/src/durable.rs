//! Durable, atomic file writes: the one way every file of a run is written.
//!
//! A file is written to a temporary sibling in its own folder (a name no other writer
//! shares: process id and a per-process counter), flushed to disk (`fsync`), renamed over
//! the target, and the folder is synced so that the rename itself survives a power loss. A
//! reader therefore sees the old file or the whole new one, never a truncated one, and a
//! marker written after other files (a checkpoint's `COMPLETE`) cannot reach the disk
//! before them. A failed write removes its temporary file and leaves the target as it was.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary name beside `path` that no other writer of this or another process uses:
/// `.<name>.tmp-<pid>-<n>`.
pub fn temporary_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

/// Whether `name` is a temporary name of [`temporary_sibling`] (a leftover of an
/// interrupted write, safe to remove).
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// Flushes the folder `dir` to disk (its entries: a rename or a new file in it). A no-op
/// where folders cannot be opened for syncing.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    match File::open(dir) {
        Ok(f) => f.sync_all().or_else(|e| {
            // Some file systems refuse fsync on folders; the data is still written.
            if e.kind() == io::ErrorKind::InvalidInput || e.kind() == io::ErrorKind::Unsupported {
                Ok(())
            } else {
                Err(e)
            }
        }),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes `path` durably and atomically: `write` fills a temporary sibling (given its
/// path; it may write it any way, e.g. through a library's `save_file`), which is then
/// synced, renamed over `path`, and the folder synced. On error the temporary file is
/// removed and `path` is untouched.
pub fn write_with(path: &Path, write: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
    let tmp = temporary_sibling(path);
    let result = write(&tmp)
        .and_then(|()| File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path))
        .and_then(|()| sync_dir(path.parent().unwrap_or(Path::new("."))));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `bytes` to `path` durably and atomically (see [`write_with`]).
///
/// ```
/// let dir = std::env::temp_dir().join(format!("nse-durable-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("state.json");
/// nse_supernet::durable::write_bytes(&path, b"{}").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"{}");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn write_bytes(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |tmp| {
        let mut file = File::create(tmp)?;
        file.write_all(bytes)?;
        file.flush()
    })
}

/// Syncs every file directly inside `dir`, then `dir` itself: call before renaming a folder
/// of files into place (a checkpoint built beside its final name).
pub fn sync_tree(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            File::open(entry.path())?.sync_all()?;
        }
    }
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("nse-durable-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn writes_replace_whole_files_and_failures_leave_the_target_alone() {
        let dir = scratch("replace");
        let path = dir.join("a.json");
        write_bytes(&path, b"first").unwrap();
        write_bytes(&path, b"second, longer").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second, longer");
        // A writer that fails half-way: the old file stays, no temporary file is left.
        let err = write_with(&path, |tmp| {
            std::fs::write(tmp, b"half")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(std::fs::read(&path).unwrap(), b"second, longer");
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.json"]);
        // Two temporary names are never the same, and both are recognised as temporary.
        let (a, b) = (temporary_sibling(&path), temporary_sibling(&path));
        assert_ne!(a, b);
        for t in [&a, &b] {
            assert!(is_temporary(&t.file_name().unwrap().to_string_lossy()));
        }
        assert!(!is_temporary("a.json"));
        // A folder that does not exist is an error, not a panic.
        assert!(write_bytes(&dir.join("missing/b.json"), b"x").is_err());
        sync_tree(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
