//! Durable, atomic file writes: the one way every file of a run is written.
//!
//! A file is written to a temporary sibling in its own folder (a name no other writer
//! shares: process id and a per-process counter), flushed to disk (`fsync`), renamed over
//! the target, and the folder is synced so that the rename itself survives a power loss. A
//! reader therefore sees the old file or the whole new one, never a truncated one, and a
//! marker written after other files (a checkpoint's `COMPLETE`) cannot reach the disk
//! before them. A failed write removes its temporary file and leaves the target as it was.
//!
//! A folder of files (a checkpoint) is [`seal`]ed last: its marker lists every file's size
//! and CRC-32, and [`verify`] checks them before the folder is trusted, so a file damaged
//! after it was written (a bad disk, a copy cut short, a stray write) is found by name
//! instead of being loaded as if valid.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

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

/// Durable writes left before injected failures start ([`inject_write_failures`]).
static WRITES_BEFORE_FAILURE: AtomicU64 = AtomicU64::new(u64::MAX);

/// A failure-testing hook: after the next `after` writes through this module, every write
/// fails with an I/O error (`injected write failure`), as on a full disk; `None` ends it.
/// Process-wide, so a test that uses it runs in a test binary of its own.
pub fn inject_write_failures(after: Option<u64>) {
    WRITES_BEFORE_FAILURE.store(after.unwrap_or(u64::MAX), Ordering::SeqCst);
}

fn injected_failure() -> io::Result<()> {
    let left = WRITES_BEFORE_FAILURE.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
        (n != u64::MAX && n > 0).then(|| n - 1)
    });
    match left {
        Ok(_) | Err(u64::MAX) => Ok(()),
        Err(_) => Err(io::Error::other("injected write failure")),
    }
}

/// Writes `path` durably and atomically: `write` fills a temporary sibling (given its
/// path; it may write it any way, e.g. through a library's `save_file`), which is then
/// synced, renamed over `path`, and the folder synced. On error the temporary file is
/// removed and `path` is untouched.
pub fn write_with(path: &Path, write: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
    injected_failure()?;
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
/// nse_durable::write_bytes(&path, b"{}").unwrap();
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

/// Writes `value` as pretty JSON to `path` durably and atomically (see [`write_with`]),
/// creating `path`'s folder when it does not exist (a file named on a command line may be in
/// a folder not made yet): how every JSON file of a run, a report or a table is written.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("nse-durable-json-{}", std::process::id()));
/// let path = dir.join("new/report.json");
/// nse_durable::write_json(&path, &vec![1, 2]).unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "[\n  1,\n  2\n]");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> io::Result<()> {
    let json = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    write_bytes(path, &json)
}

/// Moves the folder `from` to `to`, replacing a folder already there (removed first), and
/// syncs `to`'s parent so that the move survives a power loss: how a checkpoint is put in
/// place, rotated to its fallback name, or set aside when damaged.
pub fn move_dir(from: &Path, to: &Path) -> io::Result<()> {
    // Nothing to move is an error before anything is removed.
    std::fs::metadata(from)?;
    if to.exists() {
        std::fs::remove_dir_all(to)?;
    }
    std::fs::rename(from, to)?;
    sync_dir(to.parent().unwrap_or(Path::new(".")))
}

/// Syncs every file inside `dir` and its subfolders, then the folders themselves: call
/// before renaming a folder of files into place (a checkpoint built beside its final name,
/// an extracted archive).
pub fn sync_tree(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_file() {
            File::open(entry.path())?.sync_all()?;
        } else if kind.is_dir() {
            sync_tree(&entry.path())?;
        }
    }
    sync_dir(dir)
}

/// The size and CRC-32 of one file of a sealed folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSum {
    /// Length in bytes.
    pub bytes: u64,
    /// CRC-32 (IEEE) of the contents.
    pub crc32: u32,
}

/// What a sealed folder's marker holds: every other file's [`FileSum`], by name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// The files, by name.
    pub files: BTreeMap<String, FileSum>,
}

/// How [`verify`] found a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seal {
    /// Every file of the manifest is there with its size and checksum.
    Verified,
    /// An empty marker: a folder written before markers held checksums (complete by its
    /// atomic rename, its contents unchecked).
    Unchecked,
}

/// The [`FileSum`] of the file at `path`, read in 1 MiB pieces.
pub fn file_sum(path: &Path) -> io::Result<FileSum> {
    let mut file = File::open(path)?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
    }
    Ok(FileSum {
        bytes,
        crc32: hasher.finalize(),
    })
}

/// Seals the folder `dir`: syncs its files, then writes the marker `marker` (durably) with
/// the [`Manifest`] of every other file directly inside it (temporary files excepted). Call
/// it last, when the folder is whole; [`verify`] checks it.
pub fn seal(dir: &Path, marker: &str) -> io::Result<Manifest> {
    let mut manifest = Manifest::default();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_file() && name != marker && !is_temporary(&name) {
            manifest.files.insert(name, file_sum(&entry.path())?);
        }
    }
    sync_tree(dir)?;
    let json = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
    write_bytes(&dir.join(marker), &json)?;
    Ok(manifest)
}

/// Rewrites the entry of `name` in the marker of a folder sealed by [`seal`], after that one
/// file was replaced (a checkpoint's progress updated in place); the other files are not read
/// again. A folder with an empty (older) marker is sealed whole.
pub fn reseal_file(dir: &Path, marker: &str, name: &str) -> io::Result<()> {
    let text = std::fs::read(dir.join(marker))?;
    if text.is_empty() {
        return seal(dir, marker).map(|_| ());
    }
    let mut manifest: Manifest = serde_json::from_slice(&text).map_err(io::Error::other)?;
    manifest
        .files
        .insert(name.to_string(), file_sum(&dir.join(name))?);
    let json = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
    write_bytes(&dir.join(marker), &json)
}

/// Checks a folder sealed by [`seal`]: the marker is there and every file it lists has its
/// size and checksum. The error says what is wrong, naming the file (`supernet.bpk: 4096
/// bytes, the manifest says 8192`; `state.json: checksum …`).
pub fn verify(dir: &Path, marker: &str) -> Result<Seal, String> {
    let text = std::fs::read(dir.join(marker)).map_err(|e| format!("no `{marker}`: {e}"))?;
    if text.is_empty() {
        return Ok(Seal::Unchecked);
    }
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|e| format!("`{marker}` is unreadable: {e}"))?;
    for (name, expected) in &manifest.files {
        let found = file_sum(&dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
        if found.bytes != expected.bytes {
            return Err(format!(
                "{name}: {} bytes, the manifest says {}",
                found.bytes, expected.bytes
            ));
        }
        if found.crc32 != expected.crc32 {
            return Err(format!(
                "{name}: checksum {:08x}, the manifest says {:08x} (the file is damaged)",
                found.crc32, expected.crc32
            ));
        }
    }
    Ok(Seal::Verified)
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
        // A folder moved over another replaces it whole.
        let (a, b) = (dir.join("a-dir"), dir.join("b-dir"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(a.join("new"), b"1").unwrap();
        std::fs::write(b.join("old"), b"0").unwrap();
        move_dir(&a, &b).unwrap();
        assert!(!a.exists() && b.join("new").is_file() && !b.join("old").exists());
        assert!(move_dir(&a, &b).is_err(), "nothing to move");
        assert!(
            b.join("new").is_file(),
            "a failed move leaves the target alone"
        );
        std::fs::remove_dir_all(&b).unwrap();
        // A folder that does not exist is an error, not a panic.
        assert!(write_bytes(&dir.join("missing/b.json"), b"x").is_err());
        sync_tree(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_sealed_folder_finds_truncation_and_flipped_bits_by_name() {
        let dir = scratch("seal");
        std::fs::write(dir.join("weights.bin"), vec![7u8; 10_000]).unwrap();
        std::fs::write(dir.join("state.json"), b"{\"step\": 3}").unwrap();
        let manifest = seal(&dir, "COMPLETE").unwrap();
        assert_eq!(manifest.files.len(), 2);
        assert_eq!(manifest.files["weights.bin"].bytes, 10_000);
        assert_eq!(verify(&dir, "COMPLETE"), Ok(Seal::Verified));
        // One flipped bit.
        let mut bytes = std::fs::read(dir.join("weights.bin")).unwrap();
        bytes[4096] ^= 1;
        std::fs::write(dir.join("weights.bin"), &bytes).unwrap();
        let err = verify(&dir, "COMPLETE").unwrap_err();
        assert!(err.starts_with("weights.bin: checksum"), "{err}");
        bytes[4096] ^= 1;
        std::fs::write(dir.join("weights.bin"), &bytes).unwrap();
        assert_eq!(verify(&dir, "COMPLETE"), Ok(Seal::Verified));
        // A file replaced on purpose is resealed alone.
        std::fs::write(dir.join("state.json"), b"{\"step\": 4}").unwrap();
        assert!(verify(&dir, "COMPLETE").is_err());
        reseal_file(&dir, "COMPLETE", "state.json").unwrap();
        assert_eq!(verify(&dir, "COMPLETE"), Ok(Seal::Verified));
        // Truncated, missing.
        std::fs::write(dir.join("state.json"), b"{").unwrap();
        let err = verify(&dir, "COMPLETE").unwrap_err();
        assert!(
            err.contains("state.json: 1 bytes, the manifest says 11"),
            "{err}"
        );
        std::fs::remove_file(dir.join("state.json")).unwrap();
        assert!(
            verify(&dir, "COMPLETE")
                .unwrap_err()
                .starts_with("state.json")
        );
        // A damaged marker, no marker, and an empty (older) marker.
        std::fs::write(dir.join("COMPLETE"), b"{\"files\": ").unwrap();
        assert!(verify(&dir, "COMPLETE").unwrap_err().contains("unreadable"));
        std::fs::write(dir.join("COMPLETE"), b"").unwrap();
        assert_eq!(verify(&dir, "COMPLETE"), Ok(Seal::Unchecked));
        std::fs::remove_file(dir.join("COMPLETE")).unwrap();
        assert!(
            verify(&dir, "COMPLETE")
                .unwrap_err()
                .starts_with("no `COMPLETE`")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
