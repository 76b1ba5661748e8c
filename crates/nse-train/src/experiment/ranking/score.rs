//! Scoring a ranking's candidates with inherited weights, by every supernet of the ensemble
//! (the search's own, then the same search trained again with the next training seeds).

use std::path::{Path, PathBuf};

use super::choose::Candidate;
use crate::experiment::error::Result;
use crate::experiment::{CANDIDATES_FILE, Experiment, ExperimentEvent};
use crate::progress::Reporter;
use crate::run_dir::write_json;
use crate::search::checkpoint::SearchState;
use crate::search::{Search, SearchConfig};
use nse_supernet::SupernetState;

/// The supernets that scored, and what their scoring saw.
pub(super) struct Scoring {
    /// Each supernet's run folder and training seed, the search's own first.
    pub(super) members: Vec<(PathBuf, u64)>,
    /// Candidates with an op outside a member's final sub-space (the most over members).
    pub(super) outside_final_subspace: usize,
    /// Held-out images each candidate was scored on.
    pub(super) held_out_images: usize,
}

impl Experiment {
    /// The supernets of the ensemble: `run` (trained with `config`), then the same search
    /// with the following training seeds, searched (or resumed) in `search-m<k>/`.
    pub(super) fn ensemble_members(
        &self,
        run: &Path,
        config: &SearchConfig,
        reporter: &mut dyn Reporter,
    ) -> Result<Vec<(PathBuf, u64)>> {
        let mut members = vec![(run.to_path_buf(), config.training_seed())];
        for k in 1..self.config.ensemble {
            let mut member = config.clone();
            let seed = config.training_seed() + k as u64;
            member.training_seed = Some(seed);
            let dir = self.finished_search(&format!("search-m{k}"), &member, reporter)?;
            members.push((dir, seed));
        }
        Ok(members)
    }

    /// Scores every candidate with every supernet of `members` (`opened`: member 0, loaded
    /// already), keeping each score in `candidates.json` as it comes, so that an interrupted
    /// scoring continues where it stopped.
    pub(super) fn score(
        &self,
        opened: (Search, SupernetState, SearchState),
        members: Vec<(PathBuf, u64)>,
        candidates: &mut [Candidate],
        reporter: &mut dyn Reporter,
    ) -> Result<Scoring> {
        let path = self.out.join(CANDIDATES_FILE);
        let mut opened = Some(opened);
        let mut outside_final_subspace = 0;
        let mut held_out_images = 0;
        for (k, (member_run, _)) in members.iter().enumerate() {
            let (search, mut state, progress) = match opened.take() {
                Some(member_0) => member_0,
                None => {
                    let search = Search::open(member_run, &self.device)?;
                    let (state, progress) = search.latest_state()?;
                    (search, state, progress)
                }
            };
            let round = progress.rounds_done.max(1) - 1;
            let subspace = progress.evolution.subspace();
            outside_final_subspace = outside_final_subspace.max(
                candidates
                    .iter()
                    .filter(|c| !subspace.contains_architecture(&c.architecture))
                    .count(),
            );
            let scorer = search.scorer(round)?;
            held_out_images = scorer.images();
            let pending = candidates.iter().filter(|c| c.scores.len() <= k).count();
            if pending == 0 {
                continue;
            }
            let event = ExperimentEvent::ScoringStart {
                member: k,
                members: members.len(),
                candidates: candidates.len(),
                done: candidates.len() - pending,
            };
            self.emit(reporter, event);
            for i in 0..candidates.len() {
                if candidates[i].scores.len() > k {
                    continue;
                }
                self.check_stop("while scoring (every score so far is kept)")?;
                let score =
                    scorer.score_detailed(&mut state.supernet, &candidates[i].architecture)?;
                candidates[i].scores.push(score);
                write_json(&path, &candidates)?;
                self.wall.record()?;
                let event = ExperimentEvent::Scored {
                    top1: score.top1,
                    cost: candidates[i].cost,
                    unit: search.costs().unit.clone(),
                };
                self.emit(reporter, event);
            }
            self.emit(reporter, ExperimentEvent::ScoringEnd);
        }
        Ok(Scoring {
            members,
            outside_final_subspace,
            held_out_images,
        })
    }
}
