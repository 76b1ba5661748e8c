//! A search over the ranks of a job (`nse_cluster`: processes on one machine or many, under
//! `mpirun` or Slurm): who writes the run folder, how the other ranks get a resumed run's
//! checkpoint, and the checks that the ranks agree.
//!
//! Rank 0 reads and writes the run folder. Every other rank runs the same search in a
//! private folder of its own under the temporary directory ([`RankFolder`], removed with
//! the search), so that nodes need no shared file system: on a resume, rank 0 broadcasts
//! the run's `config.json`, `log.jsonl` and checkpoint folders, and the others write them
//! into their folders before they open them. From there every rank takes the same steps
//! (`nse_supernet::ranks`), so every rank's folder holds the same checkpoints.

use std::path::{Path, PathBuf};

use nse_cluster::{Collective, SharedFile};

use super::*;

/// The ranks of a search, shared with the code that created them.
pub type SharedRanks = Arc<dyn Collective + Send + Sync>;

/// The run folder of this rank: the run's own on rank 0, a private one on the others
/// (removed when dropped).
pub(super) struct RankFolder {
    path: PathBuf,
    private: bool,
}

impl RankFolder {
    /// The folder this rank runs `run_dir`'s search in. On a `resume`, rank 0 broadcasts the
    /// files a search reopens from ([`shared_files`]) and the others write them into theirs.
    /// Collective: every rank calls it, and every rank fails when one does.
    pub(super) fn open(ranks: &dyn Collective, run_dir: &Path, resume: bool) -> Result<Self> {
        if ranks.size() == 1 {
            return Ok(RankFolder {
                path: run_dir.to_path_buf(),
                private: false,
            });
        }
        let files = match (resume, ranks.is_root()) {
            (true, true) => shared_files(run_dir).map(Some),
            _ => Ok(None),
        };
        let files = agree_on(ranks, files, "reading the run folder")?;
        // Every rank takes the same collectives below: a broadcast on a resume, then one
        // agreement that every private folder is ready.
        if ranks.is_root() {
            if let Some(files) = files {
                ranks.broadcast_files(0, files)?;
            }
            agree_on(ranks, Ok(()), "preparing a rank's private run folder")?;
            return Ok(RankFolder {
                path: run_dir.to_path_buf(),
                private: false,
            });
        }
        let path = std::env::temp_dir().join(format!(
            "nse-rank-{}-of-{}-{}",
            ranks.rank(),
            ranks.size(),
            std::process::id()
        ));
        let made = (|| -> Result<()> {
            if path.exists() {
                std::fs::remove_dir_all(&path).map_err(|e| SearchError::io(&path, e))?;
            }
            std::fs::create_dir_all(&path).map_err(|e| SearchError::io(&path, e))
        })();
        let received = if resume {
            Some(ranks.broadcast_files(0, Vec::new()))
        } else {
            None
        };
        let written = made.and_then(|()| match received {
            Some(files) => write_files(&path, &files?),
            None => Ok(()),
        });
        let folder = RankFolder {
            path,
            private: true,
        };
        agree_on(ranks, written, "preparing a rank's private run folder")?;
        Ok(folder)
    }

    /// Where this rank's search reads and writes.
    pub(super) fn path(&self) -> &Path {
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

/// The files a search reopens from: `config.json`, `log.jsonl` and every file of the
/// checkpoint folders that claim to be complete (damaged ones included: every rank then
/// finds the same damage and falls back alike).
pub(super) fn shared_files(run_dir: &Path) -> Result<Vec<SharedFile>> {
    let folder = RunDir::new(run_dir);
    let mut files = Vec::new();
    let mut add = |path: &Path| -> Result<()> {
        let name = path
            .strip_prefix(run_dir)
            .expect("under the run folder")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let bytes = std::fs::read(path).map_err(|e| SearchError::io(path, e))?;
        files.push(SharedFile { name, bytes });
        Ok(())
    };
    add(&folder.config_path())?;
    if folder.log_path().is_file() {
        add(&folder.log_path())?;
    }
    for dir in checkpoint::candidates(run_dir) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| SearchError::io(&dir, e))?
            .map(|e| e.map(|e| e.path()).map_err(|e| SearchError::io(&dir, e)))
            .collect::<Result<_>>()?;
        entries.sort();
        for path in entries.iter().filter(|p| p.is_file()) {
            add(path)?;
        }
    }
    Ok(files)
}

/// Writes `files` under `dir`; a name that would leave `dir` is refused.
fn write_files(dir: &Path, files: &[SharedFile]) -> Result<()> {
    for file in files {
        let relative = Path::new(&file.name);
        let inside = relative
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !inside {
            return Err(SearchError::Ranks(format!(
                "rank 0 sent a file named `{}`, outside the run folder",
                file.name
            )));
        }
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| SearchError::io(parent, e))?;
        }
        std::fs::write(&path, &file.bytes).map_err(|e| SearchError::io(&path, e))?;
    }
    Ok(())
}

/// `result` on every rank when it is `Ok` on every rank; otherwise an error on every rank
/// (this rank's own, or one naming `what` another rank failed at). Collective.
pub(super) fn agree_on<T>(ranks: &dyn Collective, result: Result<T>, what: &str) -> Result<T> {
    let failed = ranks.any(result.is_err());
    match result {
        Err(e) => Err(e),
        Ok(_) if failed => Err(SearchError::Ranks(format!(
            "another rank failed at {what} (its own error is on its standard error)"
        ))),
        Ok(value) => Ok(value),
    }
}

/// Errors on every rank unless every rank holds the same `hash` of `what`.
pub(super) fn agree_hash(ranks: &dyn Collective, hash: u64, what: &str) -> Result<()> {
    if ranks.agree(hash) {
        Ok(())
    } else {
        Err(SearchError::Ranks(format!(
            "the ranks disagree on {what}: every node needs the same data, latency table and \
             nse version at the same paths"
        )))
    }
}

/// The scores of one round of evaluation gathered on every rank: `mine` holds this rank's
/// scores at its own positions (every other position is ignored), `owner[i]` the rank that
/// scored position `i`. One all-reduce of a vector that is zero except at each rank's own
/// positions, so every score arrives exactly as its rank computed it.
pub(super) fn gather_scores(ranks: &dyn Collective, mine: &[f64], owner: &[usize]) -> Vec<f64> {
    let mut values: Vec<f64> = mine
        .iter()
        .zip(owner)
        .map(|(&v, &o)| if o == ranks.rank() { v } else { 0.0 })
        .collect();
    ranks.all_reduce_sum_f64(&mut values);
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_files_are_the_config_log_and_complete_checkpoints_only() {
        let dir = std::env::temp_dir().join(format!("nse-shared-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("checkpoint")).unwrap();
        std::fs::create_dir_all(dir.join("checkpoint.new")).unwrap();
        std::fs::write(dir.join("config.json"), b"{}").unwrap();
        std::fs::write(dir.join("log.jsonl"), b"line\n").unwrap();
        std::fs::write(dir.join("front.json"), b"[]").unwrap();
        std::fs::write(dir.join("checkpoint/state.json"), b"{}").unwrap();
        std::fs::write(dir.join("checkpoint/COMPLETE"), b"x").unwrap();
        std::fs::write(dir.join("checkpoint/sgd.bin"), b"w").unwrap();
        std::fs::write(dir.join("checkpoint.new/state.json"), b"{}").unwrap();
        let names: Vec<String> = shared_files(&dir)
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(
            names,
            [
                "config.json",
                "log.jsonl",
                "checkpoint/COMPLETE",
                "checkpoint/sgd.bin",
                "checkpoint/state.json"
            ]
        );
        // Written back under another folder, they are the same files.
        let copy = dir.with_extension("copy");
        let _ = std::fs::remove_dir_all(&copy);
        write_files(&copy, &shared_files(&dir).unwrap()).unwrap();
        assert_eq!(
            std::fs::read(copy.join("checkpoint/sgd.bin")).unwrap(),
            b"w"
        );
        let escape = [SharedFile {
            name: "../outside".into(),
            bytes: Vec::new(),
        }];
        assert!(write_files(&copy, &escape).is_err());
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&copy);
    }

    #[test]
    fn one_rank_keeps_its_run_folder_and_its_scores() {
        let solo = nse_cluster::Solo;
        let folder = RankFolder::open(&solo, Path::new("/nonexistent/run"), true).unwrap();
        assert_eq!(folder.path(), Path::new("/nonexistent/run"));
        assert_eq!(gather_scores(&solo, &[1.5, -2.0], &[0, 0]), [1.5, -2.0]);
        assert!(agree_on(&solo, Err::<(), _>(SearchError::Config("x".into())), "t").is_err());
    }
}
