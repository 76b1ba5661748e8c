//! `vs-fixed`: the evolving multi-branch search against the same supernet budget spent on a
//! baseline: a fixed space (no evolution), or a single-path space (at most one op per cell).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::error::{ExperimentError, Result};
use super::retrain_jobs::{Job, RetrainedArchitecture, architecture_means, plot_groups};
use super::stats::{Difference, StatisticalUnit, Summary, difference, summary};
use super::{Experiment, ExperimentEvent, ExperimentKind, ExperimentReport, run_config, run_front};
use crate::progress::Reporter;
use crate::search::{FrontFile, SearchConfig, checkpoint};

/// What `vs-fixed` compares the search with, at the same number of weight steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// One round on the search's first sub-space (its first K ops per cell) for all its
    /// epochs: the space never evolves ([`fixed_space_config`]).
    #[default]
    FixedSpace,
    /// The same evolving search in a single-path space, `max_branches = 1`: the
    /// multi-branch cells of NSE against one op per cell ([`single_branch_config`]).
    SingleBranch,
}

impl Baseline {
    /// Every baseline.
    pub const ALL: [Baseline; 2] = [Baseline::FixedSpace, Baseline::SingleBranch];

    /// `fixed-space` or `single-branch`.
    pub fn name(self) -> &'static str {
        match self {
            Baseline::FixedSpace => "fixed-space",
            Baseline::SingleBranch => "single-branch",
        }
    }

    /// The baseline called `name`.
    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|b| b.name() == name)
            .ok_or_else(|| {
                ExperimentError::Config(format!(
                    "unknown baseline `{name}` (known: fixed-space, single-branch)"
                ))
            })
    }

    /// The two sides' names in reports and plots.
    fn sides(self) -> [&'static str; 2] {
        match self {
            Baseline::FixedSpace => ["evolving space", "fixed space"],
            Baseline::SingleBranch => ["multi-branch", "single-branch"],
        }
    }
}

impl std::str::FromStr for Baseline {
    type Err = ExperimentError;
    /// [`Baseline::from_name`].
    fn from_str(name: &str) -> Result<Self> {
        Self::from_name(name)
    }
}

/// An evolving front entry and the baseline entry nearest to it in cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CostPair {
    /// Index into [`VsFixedReport::evolving`].
    pub evolving: usize,
    /// Index into [`VsFixedReport::fixed`].
    pub fixed: usize,
    /// `baseline cost / evolving cost`.
    pub cost_ratio: f64,
    /// Mean retrained top-1 of the evolving entry minus the baseline entry's.
    pub difference: f64,
}

/// What `vs-fixed` measured (`vs-fixed.json`).
///
/// The statistical unit of the summaries is the **architecture** (the mean of its seeds,
/// [`unit`](Self::unit)). Each side is one search, so nothing here measures how the method
/// varies between searches: a claim that one side's method is better needs several searches
/// per side, with the search as the unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VsFixedReport {
    /// What one sample of the summaries is: `architecture` (the mean of its seeds).
    pub unit: StatisticalUnit,
    /// What the search was compared with (the `fixed` fields are that side's).
    #[serde(default)]
    pub baseline: Baseline,
    /// Best mean retrained top-1 among the evolving search's retrained front entries.
    pub evolving_best: f64,
    /// The same for the baseline.
    pub fixed_best: f64,
    /// The evolving side's architecture means: n (architectures), mean, sd, standard error.
    pub evolving_summary: Summary,
    /// The fixed side's architecture means.
    pub fixed_summary: Summary,
    /// `evolving mean − fixed mean` with its Welch standard error over architectures.
    pub difference: Difference,
    /// Each evolving entry paired with the fixed entry nearest in cost.
    pub pairs: Vec<CostPair>,
    /// Mean of the pairs' differences (the matched-cost comparison).
    pub paired_difference: f64,
    /// Weight steps of each side (equal by construction).
    pub weight_steps: u64,
    /// Unit of the costs.
    pub cost_unit: String,
    /// Retraining seeds per architecture.
    pub seeds: usize,
    /// The evolving search run.
    pub evolving_run: PathBuf,
    /// The baseline's search run.
    pub fixed_run: PathBuf,
    /// Wall time of this call, seconds.
    pub wall_seconds: f64,
    /// The evolving side's retrained front entries (most accurate held-out first).
    pub evolving: Vec<RetrainedArchitecture>,
    /// The baseline side's.
    pub fixed: Vec<RetrainedArchitecture>,
}

impl VsFixedReport {
    /// One line with each side's best and mean and the paired difference.
    pub fn summary(&self) -> String {
        let [search, baseline] = self.baseline.sides();
        format!(
            "vs-fixed, {search} against {baseline} ({} weight steps each, one search per \
             side), by architecture (the mean of {} seeds each): {search} best {:.2} %, mean \
             {:.2} ({} architectures); {baseline} best {:.2} %, mean {:.2} ({} architectures); \
             difference {:+.2} (95 % CI {:+.2} to {:+.2}); paired difference at matched cost \
             {:+.2}",
            self.weight_steps,
            self.seeds,
            self.evolving_best,
            self.evolving_summary.mean,
            self.evolving_summary.n,
            self.fixed_best,
            self.fixed_summary.mean,
            self.fixed_summary.n,
            self.difference.difference,
            self.difference.ci95[0],
            self.difference.ci95[1],
            self.paired_difference
        )
    }
}

/// The fixed-space counterpart of an evolving search of `rounds` rounds: one round on the
/// first sub-space (the same seed gives the same first K ops per cell) with all the
/// evolving search's epochs, so that both spend the same weight steps.
pub fn fixed_space_config(evolving: &SearchConfig, rounds: usize) -> SearchConfig {
    let mut fixed = evolving.clone();
    fixed.epochs_per_round = evolving.epochs_per_round * rounds.max(1);
    fixed.max_rounds = Some(1);
    fixed.max_steps = None;
    fixed
}

/// The single-path counterpart of a search: the same search (rounds, epochs, seed) in its
/// space limited to one op per cell, so that both spend the same weight steps.
pub fn single_branch_config(search: &SearchConfig) -> SearchConfig {
    let mut single = search.clone();
    single.space.max_branches = Some(1);
    single.max_steps = None;
    single
}

fn best_entries(front: &FrontFile, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..front.front.len()).collect();
    order.sort_by(|&a, &b| front.front[b].accuracy.total_cmp(&front.front[a].accuracy));
    order.truncate(n);
    order
}

/// Weight steps of a finished search, from its latest checkpoint.
fn total_steps(run: &std::path::Path) -> Result<u64> {
    let (_, progress) = checkpoint::inspect(run).intact.ok_or_else(|| {
        ExperimentError::Config(format!("`{}` holds no search checkpoint", run.display()))
    })?;
    Ok(progress.total_steps)
}

impl Experiment {
    /// Runs `vs-fixed` (see the [module docs](super)) and writes `vs-fixed.json` and
    /// `vs-fixed.png`.
    pub fn vs_fixed(&self, reporter: &mut dyn Reporter) -> Result<VsFixedReport> {
        self.require(ExperimentKind::VsFixed)?;
        let evolving_run = self.main_search(reporter)?;
        let config = run_config(&evolving_run)?;
        let evolving_front = run_front(&evolving_run)?;
        let baseline = self.config.baseline;
        let (fixed_config, folder) = match baseline {
            Baseline::FixedSpace => (
                fixed_space_config(&config, evolving_front.rounds),
                "fixed-search",
            ),
            Baseline::SingleBranch => {
                if config.space.max_branches == Some(1) {
                    return Err(ExperimentError::Config(
                        "the search is single-branch already (`space.max_branches` is 1): \
                         there is no multi-branch side to compare"
                            .into(),
                    ));
                }
                (single_branch_config(&config), "single-branch-search")
            }
        };
        let fixed_run = self.finished_search(folder, &fixed_config, reporter)?;
        let fixed_front = run_front(&fixed_run)?;
        let (evolving_steps, fixed_steps) = (total_steps(&evolving_run)?, total_steps(&fixed_run)?);
        if evolving_steps != fixed_steps {
            return Err(ExperimentError::Config(format!(
                "the search took {evolving_steps} weight steps and the {} baseline \
                 {fixed_steps}: the budgets differ",
                baseline.name()
            )));
        }
        let pick = |front: &FrontFile, side: &str| -> Vec<Job> {
            best_entries(front, self.config.archs)
                .into_iter()
                .map(|i| Job {
                    label: format!("{side}{i}"),
                    architecture: front.front[i].architecture.clone(),
                    held_out: Some(front.front[i].accuracy),
                })
                .collect()
        };
        let evolving = self.retrain_jobs(&config, pick(&evolving_front, "evolving"), reporter)?;
        let label = match baseline {
            Baseline::FixedSpace => "fixed",
            Baseline::SingleBranch => "single",
        };
        let fixed = self.retrain_jobs(&fixed_config, pick(&fixed_front, label), reporter)?;
        let pairs: Vec<CostPair> = evolving
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let (j, f) = fixed
                    .iter()
                    .enumerate()
                    .min_by(|a, b| {
                        let d = |x: &RetrainedArchitecture| (x.cost / e.cost).ln().abs();
                        d(a.1).total_cmp(&d(b.1))
                    })
                    .expect("a front is never empty");
                CostPair {
                    evolving: i,
                    fixed: j,
                    cost_ratio: f.cost / e.cost,
                    difference: e.retrained_mean - f.retrained_mean,
                }
            })
            .collect();
        let best = |side: &[RetrainedArchitecture]| {
            side.iter()
                .map(|a| a.retrained_mean)
                .fold(f64::NEG_INFINITY, f64::max)
        };
        let (evolving_summary, fixed_summary) = (
            summary(&architecture_means(&evolving)),
            summary(&architecture_means(&fixed)),
        );
        let report = VsFixedReport {
            unit: StatisticalUnit::Architecture,
            baseline,
            evolving_best: best(&evolving),
            fixed_best: best(&fixed),
            difference: difference(&evolving_summary, &fixed_summary),
            evolving_summary,
            fixed_summary,
            paired_difference: pairs.iter().map(|p| p.difference).sum::<f64>() / pairs.len() as f64,
            pairs,
            weight_steps: evolving_steps,
            cost_unit: config.resource.cost_model()?.unit(),
            seeds: self.config.seeds,
            evolving_run,
            fixed_run,
            wall_seconds: self.wall.seconds(),
            evolving,
            fixed,
        };
        self.write_report(&report)?;
        let sides = baseline.sides();
        let warning = plot_groups(
            &report.evolving,
            &report.fixed,
            sides,
            &format!("retrained top-1: {} vs {}, same budget", sides[0], sides[1]),
            &report.cost_unit,
            &self.out.join("vs-fixed.png"),
        );
        if let Some(message) = warning {
            self.emit(reporter, ExperimentEvent::Warning(message));
        }
        let finished = ExperimentReport::VsFixed(report.clone());
        self.emit(reporter, ExperimentEvent::Finished(Box::new(finished)));
        Ok(report)
    }
}
