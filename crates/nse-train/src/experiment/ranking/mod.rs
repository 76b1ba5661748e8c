//! `ranking`: the supernet's ranking (inherited weights) against retraining from scratch —
//! choosing the architectures ([`choose`](self::choose)), scoring them with every supernet
//! of the ensemble (`score`), retraining them (or reusing an earlier ground truth), and the
//! report (`report`).

mod choose;
mod report;
mod score;

pub(super) use choose::stratified;
pub use report::{
    EnsembleMember, ProbePoint, RankedArchitecture, RankingBaselines, RankingComparison,
    RankingReport, TopGap,
};

use super::error::Result;
use super::retrain_jobs::Job;
use super::{Experiment, ExperimentKind, run_config};
use crate::progress::Reporter;
use crate::search::Search;
use report::RankedRun;

/// Architectures drawn per architecture wanted, to choose the cost-stratified ones from.
pub(super) const POOL_FACTOR: usize = 8;
/// Architectures per cost stratum of [`RankingReport::stratified_kendall_tau`].
pub(super) const STRATUM_SIZE: usize = 5;
/// Architectures in the top group of [`RankingReport::top_gap`] (fewer when there are fewer
/// than 20 architectures: a quarter of them).
const TOP_GAP_K: usize = 5;

/// The mean of `values` (`NaN` when there are none).
fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    sum / n as f64
}

impl Experiment {
    /// Runs `ranking` (see the [module docs](super)) and writes `ranking.json` and
    /// `ranking.png`.
    pub fn ranking(&self, reporter: &mut dyn Reporter) -> Result<RankingReport> {
        self.require(ExperimentKind::Ranking)?;
        let run = self.ranking_run(reporter)?;
        let config = run_config(&run)?;
        let search = Search::open(&run, &self.device)?;
        let (state, progress) = search.latest_state()?;
        let round = progress.rounds_done.max(1) - 1;
        let previous = match &self.config.candidates_from {
            Some(dir) => Some(self.previous_ranking(dir, &config)?),
            None => None,
        };
        let mut candidates = self.candidates(&search, &state, &progress, previous.as_ref())?;
        let plan = search.plan().clone();
        let members = self.ensemble_members(&run, &config, reporter)?;
        // Member 0 is this search: its supernet is loaded once.
        let scoring = self.score(
            (search, state, progress),
            members,
            &mut candidates,
            reporter,
        )?;
        let earlier_scores: Option<Vec<f64>> = previous
            .as_ref()
            .and_then(|p| p.architectures.iter().map(|a| a.inherited).collect());
        let retrained = match previous {
            // The ground truth of the earlier experiment: same architectures, data and recipe.
            Some(previous) => self.reused_truth(previous, &plan)?,
            None => {
                let width = candidates.len().to_string().len();
                let jobs = candidates
                    .iter()
                    .enumerate()
                    .map(|(i, c)| Job {
                        label: format!("arch{i:0width$}"),
                        architecture: c.architecture.clone(),
                        held_out: Some(mean(c.scores.iter().map(|s| s.top1))),
                    })
                    .collect();
                self.retrain_jobs(&config, jobs, reporter)?
            }
        };
        let ranked = RankedRun {
            run,
            config,
            round,
            unit: plan.costs().unit.clone(),
        };
        let report = self.ranking_report(ranked, candidates, retrained, scoring, earlier_scores)?;
        self.write_ranking(&report, reporter)?;
        Ok(report)
    }
}
