//! Choosing the architectures of a ranking: the search it reads, drawn from its final
//! round's distribution (stratified by cost), or reused from an earlier ranking or a ground
//! truth.

use std::collections::HashSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use nse_space::{Architecture, FEASIBILITY_PROBABILITIES, SubSpace};

use super::POOL_FACTOR;
use crate::data::rng::derive_rng;
use crate::experiment::error::{ExperimentError, Result};
use crate::experiment::ground_truth::GroundTruthReport;
use crate::experiment::retrain_jobs::RetrainedArchitecture;
use crate::experiment::{
    CANDIDATES_FILE, Experiment, ExperimentKind, STREAM_EXPERIMENT, read_json, run_config,
};
use crate::progress::Reporter;
use crate::run_dir::write_json;
use crate::search::checkpoint::SearchState;
use crate::search::{Score, Search, SearchPlan};
use nse_supernet::SupernetState;

/// A chosen architecture and its scores so far (`candidates.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Candidate {
    pub(super) architecture: Architecture,
    pub(super) cost: f64,
    pub(super) drawn_from: String,
    /// By ensemble member, in member order, filled as they are scored.
    #[serde(default)]
    pub(super) scores: Vec<Score>,
}

/// What [`Experiment::ranking`] reuses of an earlier `ranking.json` or `ground-truth.json`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct PreviousRanking {
    pub(super) architectures: Vec<PreviousArchitecture>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct PreviousArchitecture {
    pub(super) architecture: Architecture,
    /// Its supernet score (none from a ground truth).
    #[serde(default)]
    pub(super) inherited: Option<f64>,
    pub(super) retrained: Vec<f64>,
}

/// `n` architectures spread over `pool` (sorted by cost): one at the middle of each of `n`
/// equal-count cost quantiles.
pub(crate) fn stratified<T: Clone>(pool: &[T], n: usize) -> Vec<T> {
    (0..n)
        .map(|i| pool[((2 * i + 1) * pool.len()) / (2 * n)].clone())
        .collect()
}

impl Experiment {
    /// The finished search the ranking reads: with a probe, the experiment's own search
    /// probing the earlier ranking's architectures; otherwise the main search.
    pub(super) fn ranking_run(&self, reporter: &mut dyn Reporter) -> Result<PathBuf> {
        if !self.config.probe {
            return self.main_search(reporter);
        }
        // The architectures are known before the search: probe them during it.
        let dir = self.config.candidates_from.as_deref().expect("checked");
        let previous = self.previous_ranking(dir, &self.config.search)?;
        let mut probed = self.config.search.clone();
        probed.evaluation.probe = previous
            .architectures
            .iter()
            .map(|a| a.architecture.clone())
            .collect();
        self.finished_search("search", &probed, reporter)
    }

    /// The candidates: those chosen before (`candidates.json`), the earlier ranking's, or
    /// drawn from the final round's distribution of `search`.
    pub(super) fn candidates(
        &self,
        search: &Search,
        state: &SupernetState,
        progress: &SearchState,
        previous: Option<&PreviousRanking>,
    ) -> Result<Vec<Candidate>> {
        let path = self.out.join(CANDIDATES_FILE);
        if path.exists() {
            return read_json(&path);
        }
        let (space, costs) = (search.space(), search.costs());
        let chosen = match previous {
            Some(previous) => previous
                .architectures
                .iter()
                .map(|a| {
                    space.check_architecture(&a.architecture)?;
                    Ok(Candidate {
                        architecture: a.architecture.clone(),
                        cost: costs.architecture_cost(a.architecture.cells()),
                        drawn_from: "reused".into(),
                        scores: Vec::new(),
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            None => {
                let alphas = state.indicators.values();
                self.choose(search.plan(), progress.evolution.subspace(), &alphas)?
            }
        };
        write_json(&path, &chosen)?;
        Ok(chosen)
    }

    /// The earlier ranking's retrained accuracies as this ranking's ground truth, the
    /// architectures measured in `plan`'s space and metric.
    pub(super) fn reused_truth(
        &self,
        previous: PreviousRanking,
        plan: &SearchPlan,
    ) -> Result<Vec<RetrainedArchitecture>> {
        previous
            .architectures
            .into_iter()
            .map(|a| {
                let cost = plan.space().architecture_cost(&a.architecture)?.total;
                let retrained_mean = a.retrained.iter().sum::<f64>() / a.retrained.len() as f64;
                Ok(RetrainedArchitecture {
                    label: String::new(),
                    text: a.architecture.to_string(),
                    cost: plan.costs().architecture_cost(a.architecture.cells()),
                    architecture: a.architecture,
                    macs: cost.macs,
                    params: cost.params,
                    held_out: None,
                    retrained: a.retrained,
                    retrained_mean,
                })
            })
            .collect()
    }

    /// The architectures and retrained accuracies of the ranking in `dir`, checked to come
    /// from the same space, data and recipe as this experiment's run `config`.
    pub(super) fn previous_ranking(
        &self,
        dir: &std::path::Path,
        config: &crate::search::SearchConfig,
    ) -> Result<PreviousRanking> {
        let saved: crate::experiment::ExperimentConfig =
            read_json(&dir.join(crate::experiment::CONFIG_FILE))?;
        let saved_search = match &saved.run {
            Some(run) => run_config(run)?,
            None => saved.search.clone(),
        };
        let differs = if !matches!(
            saved.kind,
            ExperimentKind::Ranking | ExperimentKind::GroundTruth
        ) {
            Some("is neither a ranking nor a ground truth")
        } else if saved_search.space != config.space {
            Some("has another search space")
        } else if saved_search.data.source != config.data.source {
            Some("retrained on other data")
        } else if saved.recipe != self.config.recipe || saved.seeds != self.config.seeds {
            Some("retrained with another recipe or seed count")
        } else {
            None
        };
        if let Some(why) = differs {
            return Err(ExperimentError::Config(format!(
                "--candidates-from `{}` {why}: its retrained accuracies are not this \
                 experiment's ground truth",
                dir.display()
            )));
        }
        if saved.kind == ExperimentKind::GroundTruth {
            let truth = GroundTruthReport::read(dir)?;
            if !truth.complete {
                return Err(ExperimentError::Config(format!(
                    "--candidates-from `{}`: its ground truth is incomplete (its pilot stopped \
                     it, or it has not finished)",
                    dir.display()
                )));
            }
            return Ok(PreviousRanking {
                architectures: truth
                    .architectures
                    .into_iter()
                    .map(|a| PreviousArchitecture {
                        architecture: a.architecture,
                        inherited: None,
                        retrained: a.retrained,
                    })
                    .collect(),
            });
        }
        read_json(&dir.join(ExperimentKind::Ranking.report_file()))
    }

    /// Draws distinct architectures in the window from the final round's learned
    /// distribution (completed from a sweep of uniform probabilities over the final
    /// sub-space when it holds too few), then keeps `archs` of them stratified by cost.
    fn choose(
        &self,
        plan: &crate::search::SearchPlan,
        subspace: &SubSpace,
        alphas: &[Vec<f32>],
    ) -> Result<Vec<Candidate>> {
        let (space, costs, config) = (plan.space(), plan.costs(), plan.config());
        let n = self.config.archs;
        let wanted = n * POOL_FACTOR;
        let window = plan.window();
        let attempts = config.evaluation.attempts_per_architecture.max(1) * wanted;
        let mut rng = derive_rng(&[self.config.search.seed, STREAM_EXPERIMENT, 1]);
        let mut seen = HashSet::new();
        let mut pool: Vec<Candidate> = Vec::new();
        let mut consider = |a: Architecture, from: &str, pool: &mut Vec<Candidate>| -> Result<()> {
            space.check_architecture(&a)?;
            let cost = costs.architecture_cost(a.cells());
            if window.contains(cost) && seen.insert(a.clone()) {
                pool.push(Candidate {
                    architecture: a,
                    cost,
                    drawn_from: from.into(),
                    scores: Vec::new(),
                });
            }
            Ok(())
        };
        for _ in 0..attempts {
            if pool.len() >= wanted {
                break;
            }
            consider(
                subspace.sample_bernoulli(alphas, &mut rng)?,
                "learned",
                &mut pool,
            )?;
        }
        let per_level = attempts / FEASIBILITY_PROBABILITIES.len();
        'sweep: for p in FEASIBILITY_PROBABILITIES {
            let logit = (p / (1.0 - p)).ln() as f32;
            let uniform = vec![vec![logit; subspace.pool_size()]; subspace.num_cells()];
            for _ in 0..per_level {
                if pool.len() >= n {
                    break 'sweep;
                }
                consider(
                    subspace.sample_bernoulli(&uniform, &mut rng)?,
                    "sweep",
                    &mut pool,
                )?;
            }
        }
        if pool.len() < n {
            return Err(ExperimentError::Config(format!(
                "only {} distinct architectures of the final sub-space lie in the window \
                 ({:.3}, {:.3}) {}: ask for fewer with --archs",
                pool.len(),
                window.low(),
                window.high(),
                costs.unit
            )));
        }
        pool.sort_by(|a, b| a.cost.total_cmp(&b.cost));
        Ok(stratified(&pool, n))
    }
}

#[cfg(test)]
mod tests {
    use super::stratified;

    #[test]
    fn stratified_picks_one_per_quantile() {
        let pool: Vec<usize> = (0..40).collect();
        assert_eq!(stratified(&pool, 4), vec![5, 15, 25, 35]);
        assert_eq!(stratified(&pool[..3], 3), vec![0, 1, 2]);
        let picked = stratified(&pool, 40);
        assert_eq!(picked, pool, "all of them when n equals the pool");
    }
}
