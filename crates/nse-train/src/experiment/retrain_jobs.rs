//! Retraining the architectures of an experiment: one folder per architecture and seed,
//! finished runs reused, unfinished ones resumed.

use serde::{Deserialize, Serialize};

use nse_space::{Architecture, SearchSpace};

use super::error::{ExperimentError, Result};
use super::{Experiment, ExperimentEvent, farm, read_json};
use crate::plot::{PlotLabels, PlotPoint, plot_scatter};
use crate::progress::Reporter;
use crate::retrain::{REPORT_FILE, RetrainConfig, RetrainOptions, RetrainReport, retrain};
use crate::search::SearchConfig;
use crate::search::data::retrain_data;

/// An architecture of an experiment with its retrained accuracies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrainedArchitecture {
    /// Its folder name under `retrain/` (before `-s<seed>`).
    pub label: String,
    /// The architecture.
    pub architecture: Architecture,
    /// Its text form.
    pub text: String,
    /// Its cost in the unit of the search's metric (MMACs, M params, ms).
    pub cost: f64,
    /// Multiply-accumulates.
    pub macs: u64,
    /// Parameters.
    pub params: u64,
    /// Held-out top-1 with inherited weights, when it comes from a search.
    pub held_out: Option<f64>,
    /// Final test top-1 of each retraining seed, in percent.
    pub retrained: Vec<f64>,
    /// Their mean.
    pub retrained_mean: f64,
}

/// One architecture to retrain.
pub(crate) struct Job {
    pub label: String,
    pub architecture: Architecture,
    pub held_out: Option<f64>,
}

impl Experiment {
    /// Retrains every job with every seed on the data of `run_config` (its test split scores
    /// them) and
    /// returns them in order. Finished runs are read back, not retrained.
    pub(crate) fn retrain_jobs(
        &self,
        run_config: &SearchConfig,
        jobs: Vec<Job>,
        reporter: &mut dyn Reporter,
    ) -> Result<Vec<RetrainedArchitecture>> {
        let space: SearchSpace = run_config.space.check()?;
        let source = &run_config.data.source;
        let costs = crate::search::cost_table(run_config, &space)?;
        let seeds = self.config.seeds;
        let total = jobs.len() * seeds;
        let mut data = None;
        let networks = jobs
            .iter()
            .map(|job| space.child(&job.architecture))
            .collect::<nse_space::Result<Vec<_>>>()?;
        let recipe_of = |s: usize| {
            let mut recipe = self.config.recipe.clone();
            recipe.seed = self.config.recipe.seed + s as u64;
            recipe
        };
        let dir_of = |j: usize, recipe: &RetrainConfig| {
            self.out
                .join(super::RETRAIN_DIR)
                .join(format!("{}-s{}", jobs[j].label, recipe.seed))
        };
        let finished = |j: usize, recipe: &RetrainConfig| -> Result<Option<RetrainReport>> {
            let report_path = dir_of(j, recipe).join(REPORT_FILE);
            Ok(report_path
                .exists()
                .then(|| read_json::<RetrainReport>(&report_path))
                .transpose()?
                .filter(|r| r.finished && r.network == networks[j] && &r.config == recipe))
        };
        // Seed by seed, so that an interrupted experiment has every architecture's first
        // seed before any second one; finished runs are read back, not retrained.
        let mut top1 = vec![vec![None; seeds]; jobs.len()];
        let mut pending = Vec::new();
        for (s, j) in (0..seeds).flat_map(|s| (0..jobs.len()).map(move |j| (s, j))) {
            let recipe = recipe_of(s);
            match finished(j, &recipe)? {
                Some(report) => top1[j][s] = Some(last_top1(&report, &dir_of(j, &recipe))?),
                None => pending.push((s, j)),
            }
        }
        // One retraining per rank at a time (rank 0's own first; see `farm`).
        for group in pending.chunks(self.ranks.size()) {
            let (s, j) = group[0];
            let recipe = recipe_of(s);
            self.check_stop(&format!(
                "before retraining {} seed {} (every finished retraining is kept)",
                jobs[j].label, recipe.seed
            ))?;
            for &(s, j) in group {
                let event = ExperimentEvent::Retraining {
                    experiment: self.config.kind.name(),
                    index: s * jobs.len() + j + 1,
                    total,
                    label: jobs[j].label.clone(),
                    seed: recipe_of(s).seed,
                    cost: costs.architecture_cost(jobs[j].architecture.cells()),
                    unit: costs.unit.clone(),
                };
                self.emit(reporter, event);
            }
            if self.ranks.size() > 1 {
                let assignments = group[1..]
                    .iter()
                    .map(|&(s, j)| farm::Assignment {
                        network: networks[j].clone(),
                        source: source.clone(),
                        recipe: recipe_of(s),
                    })
                    .collect();
                farm::send_order(&*self.ranks, &farm::Order::Retrain(assignments));
            }
            let own = (|| -> Result<RetrainReport> {
                if data.is_none() {
                    data = Some(retrain_data(source, &space)?);
                }
                let data = data.clone().expect("opened above");
                Ok(retrain(
                    &networks[j],
                    data,
                    &recipe,
                    &self.device,
                    &dir_of(j, &recipe),
                    &RetrainOptions {
                        stop: self.stop.clone(),
                        ..RetrainOptions::default()
                    },
                    reporter,
                )?)
            })();
            // Every other rank's retraining comes back, also when this rank's failed, so
            // that the ranks stay in step.
            let received: Vec<Result<()>> = group
                .iter()
                .enumerate()
                .skip(1)
                .map(|(from, &(s, j))| farm::receive(&*self.ranks, from, &dir_of(j, &recipe_of(s))))
                .collect();
            let own = own?;
            received.into_iter().collect::<Result<Vec<()>>>()?;
            self.wall.record()?;
            top1[j][s] = Some(last_top1(&own, &dir_of(j, &recipe))?);
            for &(s, j) in &group[1..] {
                let recipe = recipe_of(s);
                let report = finished(j, &recipe)?.ok_or_else(|| {
                    ExperimentError::Config(format!(
                        "the retraining another rank sent for `{}` is not finished",
                        dir_of(j, &recipe).display()
                    ))
                })?;
                top1[j][s] = Some(last_top1(&report, &dir_of(j, &recipe))?);
            }
        }
        let top1: Vec<Vec<f64>> = top1
            .into_iter()
            .map(|seeds| {
                seeds
                    .into_iter()
                    .map(|t| t.expect("every seed retrained"))
                    .collect()
            })
            .collect();
        let mut out = Vec::with_capacity(jobs.len());
        for (job, retrained) in jobs.into_iter().zip(top1) {
            let cost = space.architecture_cost(&job.architecture)?.total;
            let retrained_mean = retrained.iter().sum::<f64>() / retrained.len() as f64;
            out.push(RetrainedArchitecture {
                text: job.architecture.to_string(),
                label: job.label,
                cost: costs.architecture_cost(job.architecture.cells()),
                architecture: job.architecture,
                macs: cost.macs,
                params: cost.params,
                held_out: job.held_out,
                retrained,
                retrained_mean,
            });
        }
        Ok(out)
    }
}

/// The final test top-1 of a retraining `report` (of `dir`).
fn last_top1(report: &RetrainReport, dir: &std::path::Path) -> Result<f64> {
    report
        .last_test()
        .map(|t| t.top1)
        .ok_or_else(|| ExperimentError::Config(format!("{} ran no epoch", dir.display())))
}

/// The mean retrained accuracy of each architecture of `group`: the samples of a
/// comparison between groups (the seeds of one architecture are not independent samples).
pub(crate) fn architecture_means(group: &[RetrainedArchitecture]) -> Vec<f64> {
    group.iter().map(|a| a.retrained_mean).collect()
}

/// Plots every retraining of two groups against cost (`first` as red dots, `second` as blue
/// dots, with the legend `names`) into `path`; a failure to draw is returned as a warning
/// to report, not an error.
pub(crate) fn plot_groups(
    first: &[RetrainedArchitecture],
    second: &[RetrainedArchitecture],
    names: [&str; 2],
    title: &str,
    unit: &str,
    path: &std::path::Path,
) -> Option<String> {
    let points: Vec<PlotPoint> = first
        .iter()
        .map(|a| (a, true))
        .chain(second.iter().map(|a| (a, false)))
        .flat_map(|(a, on_front)| {
            a.retrained.iter().map(move |&r| PlotPoint {
                cost: a.cost,
                accuracy: r,
                on_front,
                extra: false,
            })
        })
        .collect();
    let labels = PlotLabels {
        front: names[0],
        candidate: names[1],
        y_axis: "retrained test top-1 (%)",
        step_line: false,
        ..PlotLabels::PARETO
    };
    plot_scatter(&points, title, unit, &labels, path)
        .err()
        .map(|e| format!("could not draw {}: {e}", path.display()))
}
