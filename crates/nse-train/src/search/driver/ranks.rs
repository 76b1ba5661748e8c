//! A search over the ranks of a job (`nse_cluster`: processes on one machine or many, under
//! `mpirun` or Slurm): what a resumed search's other ranks receive, and how the scores of
//! the candidates each rank evaluated are gathered. Who writes the run folder and the
//! checks that the ranks agree are [`crate::ranks`]'.

use std::path::Path;

use nse_cluster::{Collective, SharedFile};

use super::*;
use crate::ranks::{files_in, read_files};

/// The files a search reopens from: `config.json`, `log.jsonl` and every file of the
/// checkpoint folders that claim to be complete (damaged ones included: every rank then
/// finds the same damage and falls back alike).
pub(super) fn shared_files(run_dir: &Path) -> crate::ranks::Result<Vec<SharedFile>> {
    let folder = RunDir::new(run_dir);
    let mut paths = vec![folder.config_path()];
    if folder.log_path().is_file() {
        paths.push(folder.log_path());
    }
    for dir in checkpoint::candidates(run_dir) {
        paths.extend(files_in(&dir)?);
    }
    read_files(run_dir, paths)
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
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn one_rank_keeps_its_scores() {
        let solo = nse_cluster::Solo;
        assert_eq!(gather_scores(&solo, &[1.5, -2.0], &[0, 0]), [1.5, -2.0]);
    }
}
