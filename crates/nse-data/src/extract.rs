//! One-time, atomic extraction of `.tar.gz` archives into a cache folder.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::error::{DataError, Result};

/// Name of the marker file written inside a completed extraction.
pub const EXTRACTION_MARKER: &str = ".nse-extracted.json";

/// What the marker records about the archive: enough to notice that it changed.
#[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Marker {
    archive: PathBuf,
    size: u64,
    modified_unix_ns: u64,
}

fn marker_for(archive: &Path) -> Result<Marker> {
    let meta = std::fs::metadata(archive).map_err(|e| DataError::io("cannot read", archive, e))?;
    let modified_unix_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let archive =
        std::fs::canonicalize(archive).map_err(|e| DataError::io("cannot resolve", archive, e))?;
    Ok(Marker {
        archive,
        size: meta.len(),
        modified_unix_ns,
    })
}

fn read_marker(dir: &Path) -> Option<Marker> {
    let text = std::fs::read_to_string(dir.join(EXTRACTION_MARKER)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Extracts the gzip-compressed tar `archive` into `cache_dir` once, and returns `cache_dir`.
///
/// The archive is unpacked into a temporary sibling folder, a marker file recording the
/// archive's path, size and modification time is written into it, everything is synced to
/// disk, and the folder is renamed to `cache_dir` in one step (and the parent synced;
/// [`nse_durable`]) — so `cache_dir` either does not exist or holds a complete extraction,
/// even if several processes race, one is killed midway or the power fails. Later calls find the
/// marker and return at once. If the archive changed (size or time differ), the old
/// extraction is replaced; a `cache_dir` without a marker is never touched (error).
///
/// Entries that would land outside the folder (absolute paths, `..`) are skipped by the
/// `tar` crate's `unpack`.
pub fn extract_tar_gz_cached(
    archive: impl AsRef<Path>,
    cache_dir: impl AsRef<Path>,
) -> Result<PathBuf> {
    let (archive, cache_dir) = (archive.as_ref(), cache_dir.as_ref());
    let wanted = marker_for(archive)?;
    let stale = if cache_dir.exists() {
        match read_marker(cache_dir) {
            Some(found) if found == wanted => return Ok(cache_dir.to_path_buf()),
            Some(_) => true,
            None => {
                return Err(DataError::Format {
                    path: cache_dir.to_path_buf(),
                    reason: format!(
                        "exists but holds no {EXTRACTION_MARKER} (not made by extract_tar_gz_cached, or interrupted \
                         by an older version); remove it or choose another cache folder"
                    ),
                });
            }
        }
    } else {
        false
    };
    if let Some(parent) = cache_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| DataError::io("cannot create", parent, e))?;
    }

    let tmp = nse_durable::temporary_sibling(cache_dir);
    let unpacked = (|| {
        std::fs::create_dir(&tmp).map_err(|e| DataError::io("cannot create", &tmp, e))?;
        let file = File::open(archive).map_err(|e| DataError::io("cannot open", archive, e))?;
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file)));
        tar.unpack(&tmp).map_err(|e| DataError::Format {
            path: archive.to_path_buf(),
            reason: format!("cannot extract the .tar.gz archive: {e}"),
        })?;
        let json = serde_json::to_string_pretty(&wanted).map_err(|e| DataError::Json {
            path: tmp.join(EXTRACTION_MARKER),
            source: e,
        })?;
        let marker = tmp.join(EXTRACTION_MARKER);
        nse_durable::write_bytes(&marker, json.as_bytes())
            .map_err(|e| DataError::io("cannot write", &marker, e))?;
        nse_durable::sync_tree(&tmp).map_err(|e| DataError::io("cannot sync", &tmp, e))
    })();
    if let Err(e) = unpacked {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }

    // Move a stale extraction aside (renames are atomic), then put the new one in place.
    let old = nse_durable::temporary_sibling(cache_dir);
    if stale
        && std::fs::rename(cache_dir, &old).is_err()
        && read_marker(cache_dir).as_ref() == Some(&wanted)
    {
        // Another process replaced it first.
        let _ = std::fs::remove_dir_all(&tmp);
        return Ok(cache_dir.to_path_buf());
    }
    let placed = std::fs::rename(&tmp, cache_dir)
        .and_then(|()| nse_durable::sync_dir(cache_dir.parent().unwrap_or(Path::new("."))));
    if stale {
        let _ = std::fs::remove_dir_all(&old);
    }
    match placed {
        Ok(()) => Ok(cache_dir.to_path_buf()),
        // Another process won the race with the same archive: use its copy.
        Err(_) if read_marker(cache_dir).as_ref() == Some(&wanted) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(cache_dir.to_path_buf())
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(DataError::io(
                "cannot move the extraction into",
                cache_dir,
                e,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;

    fn make_archive(path: &Path, files: &[(&str, &[u8])]) {
        let gz =
            flate2::write::GzEncoder::new(File::create(path).unwrap(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(gz);
        for (name, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
    }

    #[test]
    fn extracts_once_and_reuses() {
        let tmp = TempDir::new("extract");
        let archive = tmp.path().join("a.tar.gz");
        make_archive(
            &archive,
            &[("train/cat/1.txt", b"meow"), ("test/dog/2.txt", b"woof")],
        );
        let cache = tmp.path().join("cache/a");
        let out = extract_tar_gz_cached(&archive, &cache).unwrap();
        assert_eq!(out, cache);
        assert_eq!(
            std::fs::read(cache.join("train/cat/1.txt")).unwrap(),
            b"meow"
        );
        assert!(cache.join(EXTRACTION_MARKER).is_file());
        // Second call: no re-extraction (a file we add survives).
        std::fs::write(cache.join("sentinel"), b"x").unwrap();
        extract_tar_gz_cached(&archive, &cache).unwrap();
        assert!(cache.join("sentinel").exists());
        // No temporary folders left behind.
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("cache"))
            .unwrap()
            .collect();
        assert_eq!(leftovers.len(), 1);
    }

    #[test]
    fn extractions_racing_for_one_folder_all_succeed_and_leave_one_copy() {
        // What two MPI ranks on one host do with the `archive` data source.
        let tmp = TempDir::new("extract-race");
        let archive = tmp.path().join("a.tar.gz");
        let files: Vec<(String, Vec<u8>)> = (0..200)
            .map(|i| (format!("train/c{}/{i}.txt", i % 4), vec![b'x'; 2000 + i]))
            .collect();
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect();
        make_archive(&archive, &refs);
        let cache = tmp.path().join("cache/a");
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| extract_tar_gz_cached(&archive, &cache)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for result in results {
            assert_eq!(result.unwrap(), cache);
        }
        for (name, data) in &files {
            assert_eq!(&std::fs::read(cache.join(name)).unwrap(), data, "{name}");
        }
        let left: Vec<_> = std::fs::read_dir(tmp.path().join("cache"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["a"], "no temporary folder is left behind");
    }

    #[test]
    fn changed_archive_replaces_the_extraction() {
        let tmp = TempDir::new("extract-stale");
        let archive = tmp.path().join("a.tar.gz");
        make_archive(&archive, &[("x.txt", b"1")]);
        let cache = tmp.path().join("c");
        extract_tar_gz_cached(&archive, &cache).unwrap();
        make_archive(&archive, &[("y.txt", b"22222222")]);
        extract_tar_gz_cached(&archive, &cache).unwrap();
        assert!(!cache.join("x.txt").exists());
        assert_eq!(std::fs::read(cache.join("y.txt")).unwrap(), b"22222222");
    }

    #[test]
    fn refuses_foreign_folders_and_bad_archives() {
        let tmp = TempDir::new("extract-bad");
        let archive = tmp.path().join("a.tar.gz");
        make_archive(&archive, &[("x.txt", b"1")]);
        let foreign = tmp.path().join("mine");
        std::fs::create_dir(&foreign).unwrap();
        let err = extract_tar_gz_cached(&archive, &foreign).unwrap_err();
        assert!(
            matches!(&err, DataError::Format { path, .. } if path == &foreign),
            "{err}"
        );

        let broken = tmp.path().join("broken.tar.gz");
        std::fs::write(&broken, b"not a gzip file").unwrap();
        let target = tmp.path().join("out");
        let err = extract_tar_gz_cached(&broken, &target).unwrap_err();
        assert!(
            matches!(&err, DataError::Format { path, .. } if path == &broken),
            "{err}"
        );
        assert!(!target.exists());
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            3,
            "temporary folder left behind"
        );
        let err = extract_tar_gz_cached(tmp.path().join("missing.tar.gz"), &target).unwrap_err();
        assert!(matches!(err, DataError::Io { .. }), "{err}");
    }
}
