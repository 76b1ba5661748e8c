//! The ranks of a job (`nse_cluster`: processes on one machine or many, under `mpirun` or
//! Slurm) as the search and the retraining meet them: who writes the output folder, how the
//! other ranks get what a resumed run reopens, and the checks that the ranks agree.
//!
//! Rank 0 reads and writes the output folder. Every other rank works in a private folder of
//! its own under the temporary directory (removed when the run ends), so that
//! nodes need no shared file system: on a resume, rank 0 broadcasts the files the run
//! reopens from, and the others write them into their folders before they open them. From
//! there every rank takes the same steps, so every rank's folder holds the same checkpoints.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use nse_cluster::{ClusterError, Collective, SharedFile, Solo};

/// The ranks of a job, shared with the code that created them
/// ([`nse_cluster::Ranks::from_launcher`] in an `Arc`).
pub type SharedRanks = Arc<dyn Collective + Send + Sync>;

/// One process alone: a job of one rank.
pub fn solo() -> SharedRanks {
    Arc::new(Solo)
}

/// What can go wrong between the ranks of a search or a retraining.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RanksError {
    /// The ranks disagree, or another rank failed.
    #[error("across ranks: {0}")]
    Failed(String),
    /// A file to pass between ranks could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Passing files between ranks failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// `Result` with [`RanksError`].
pub type Result<T> = std::result::Result<T, RanksError>;

fn io(path: &Path, source: std::io::Error) -> RanksError {
    RanksError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What rank 0 of a resumed run sends the others: the files of the output folder (its
/// argument) that the run reopens from.
pub(crate) type ShareFiles = dyn Fn(&Path) -> Result<Vec<SharedFile>>;

/// Private folders made by this process so far: two in one process (a search, then its
/// retraining) never share one.
static FOLDERS: AtomicUsize = AtomicUsize::new(0);

/// The output folder of this rank: the run's own on rank 0, a private one on the others
/// (removed when dropped).
#[derive(Debug)]
pub(crate) struct RankFolder {
    path: PathBuf,
    private: bool,
}

impl RankFolder {
    /// The folder this rank works on `dir` in. With `share` (a resume), rank 0 broadcasts
    /// the files it returns (names relative to `dir`, read with [`read_files`]) and the
    /// others write them into theirs. Collective: every rank calls it with `share` given or
    /// not alike, and every rank fails when one does.
    pub(crate) fn open(
        ranks: &dyn Collective,
        dir: &Path,
        share: Option<&ShareFiles>,
    ) -> Result<Self> {
        if ranks.size() == 1 {
            return Ok(RankFolder {
                path: dir.to_path_buf(),
                private: false,
            });
        }
        let files = match (share, ranks.is_root()) {
            (Some(share), true) => share(dir).map(Some),
            _ => Ok(None),
        };
        let files = agree_on(ranks, files, "reading the output folder")?;
        // Every rank takes the same collectives below: a broadcast on a resume, then one
        // agreement that every private folder is ready.
        if ranks.is_root() {
            if let Some(files) = files {
                ranks.broadcast_files(0, files)?;
            }
            agree_on(
                ranks,
                Ok::<(), RanksError>(()),
                "preparing a rank's private folder",
            )?;
            return Ok(RankFolder {
                path: dir.to_path_buf(),
                private: false,
            });
        }
        let path = std::env::temp_dir().join(format!(
            "nse-rank-{}-of-{}-{}-{}",
            ranks.rank(),
            ranks.size(),
            std::process::id(),
            FOLDERS.fetch_add(1, Ordering::Relaxed)
        ));
        let made = (|| -> Result<()> {
            if path.exists() {
                std::fs::remove_dir_all(&path).map_err(|e| io(&path, e))?;
            }
            std::fs::create_dir_all(&path).map_err(|e| io(&path, e))
        })();
        let received = share.map(|_| ranks.broadcast_files(0, Vec::new()));
        let written = made.and_then(|()| match received {
            Some(files) => write_files(&path, &files?),
            None => Ok(()),
        });
        let folder = RankFolder {
            path,
            private: true,
        };
        agree_on(ranks, written, "preparing a rank's private folder")?;
        Ok(folder)
    }

    /// Where this rank reads and writes.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RankFolder {
    fn drop(&mut self) {
        if self.private {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The files at `paths` (under `dir`), named relative to `dir`.
pub(crate) fn read_files(
    dir: &Path,
    paths: impl IntoIterator<Item = PathBuf>,
) -> Result<Vec<SharedFile>> {
    paths
        .into_iter()
        .map(|path| {
            let name = path
                .strip_prefix(dir)
                .expect("under the folder")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
            Ok(SharedFile { name, bytes })
        })
        .collect()
}

/// The plain files directly inside `folder`, sorted.
pub(crate) fn files_in(folder: &Path) -> Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(|e| io(folder, e))?
        .map(|e| e.map(|e| e.path()).map_err(|e| io(folder, e)))
        .collect::<Result<_>>()?;
    entries.retain(|p| p.is_file());
    entries.sort();
    Ok(entries)
}

/// Writes `files` under `dir`; a name that would leave `dir` is refused.
pub(crate) fn write_files(dir: &Path, files: &[SharedFile]) -> Result<()> {
    for file in files {
        let relative = Path::new(&file.name);
        let inside = relative
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !inside {
            return Err(RanksError::Failed(format!(
                "rank 0 sent a file named `{}`, outside the output folder",
                file.name
            )));
        }
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::write(&path, &file.bytes).map_err(|e| io(&path, e))?;
    }
    Ok(())
}

/// `result` on every rank when it is `Ok` on every rank; otherwise an error on every rank
/// (this rank's own, or one naming `what` another rank failed at). Collective.
pub(crate) fn agree_on<T, E: From<RanksError>>(
    ranks: &dyn Collective,
    result: std::result::Result<T, E>,
    what: &str,
) -> std::result::Result<T, E> {
    let failed = ranks.any(result.is_err());
    match result {
        Err(e) => Err(e),
        Ok(_) if failed => Err(RanksError::Failed(format!(
            "another rank failed at {what} (its own error is on its standard error)"
        ))
        .into()),
        Ok(value) => Ok(value),
    }
}

/// The usual cause of ranks that planned different work.
pub(crate) const SAME_INPUTS: &str =
    "every node needs the same data, latency table and nse version at the same paths";

/// Why ranks that took the same steps can hold different weights.
pub(crate) const DRIFT: &str = "the ranks' steps keep them equal bit for bit unless their \
     processors round differently: run the job on nodes of one kind";

/// Errors on every rank unless every rank holds the same FNV-1a hash of `fingerprint`
/// (what `what` names; `hint` says what to do about it). Collective.
pub(crate) fn agree_fingerprint(
    ranks: &dyn Collective,
    fingerprint: &[u8],
    what: &str,
    hint: &str,
) -> Result<()> {
    if ranks.agree(nse_cluster::fnv1a(fingerprint)) {
        Ok(())
    } else {
        Err(RanksError::Failed(format!(
            "the ranks disagree on {what}: {hint}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_written_back_under_another_folder_are_the_same_and_none_escapes() {
        let dir = std::env::temp_dir().join(format!("nse-ranks-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
        std::fs::write(dir.join("sub/b.bin"), b"w").unwrap();
        std::fs::write(dir.join("sub/a.json"), b"{}").unwrap();
        let listed = files_in(&dir.join("sub")).unwrap();
        assert_eq!(listed, [dir.join("sub/a.json"), dir.join("sub/b.bin")]);
        let files = read_files(&dir, listed).unwrap();
        assert_eq!(files[1].name, "sub/b.bin");
        let copy = dir.with_extension("copy");
        let _ = std::fs::remove_dir_all(&copy);
        write_files(&copy, &files).unwrap();
        assert_eq!(std::fs::read(copy.join("sub/b.bin")).unwrap(), b"w");
        let escape = [SharedFile {
            name: "../outside".into(),
            bytes: Vec::new(),
        }];
        assert!(write_files(&copy, &escape).is_err());
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&copy);
    }

    #[test]
    fn one_rank_keeps_its_folder_and_its_own_errors() {
        let folder = RankFolder::open(&Solo, Path::new("/nonexistent/run"), None).unwrap();
        assert_eq!(folder.path(), Path::new("/nonexistent/run"));
        let failed: std::result::Result<(), RanksError> = Err(RanksError::Failed("mine".into()));
        let kept = agree_on(&Solo, failed, "t").unwrap_err();
        assert!(kept.to_string().contains("mine"), "{kept}");
        assert!(agree_fingerprint(&Solo, b"x", "t", SAME_INPUTS).is_ok());
    }
}
