//! `vs-random`: the final front against random architectures of the whole pool at matched
//! cost.

use std::path::PathBuf;

use rand::Rng;
use serde::{Deserialize, Serialize};

use nse_space::{Architecture, SearchSpace};

use super::error::{ExperimentError, Result};
use super::retrain_jobs::{Job, RetrainedArchitecture, architecture_means, plot_groups};
use super::stats::{Difference, StatisticalUnit, Summary, difference, summary};
use super::{
    CANDIDATES_FILE, Experiment, ExperimentEvent, ExperimentKind, ExperimentReport,
    STREAM_EXPERIMENT, read_json, run_config, run_front,
};
use crate::data::rng::derive_rng;
use crate::progress::Reporter;
use crate::run_dir::write_json;

/// Most ops a random cell gets (the "1–4 random ops of the whole pool").
pub const RANDOM_MAX_OPS: usize = 4;
/// Draws per random architecture before the cost match is declared impossible.
const MATCH_ATTEMPTS: usize = 2_000_000;

/// What `vs-random` measured (`vs-random.json`).
///
/// The statistical unit is the **architecture**: each architecture's seeds are averaged
/// first, and the groups' means, spreads and their difference are taken over those
/// architecture means ([`unit`](Self::unit)) — the seeds of one architecture are not
/// independent samples of its group. The front comes from one search, so the difference
/// speaks of that search's front; a claim about the method needs several searches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VsRandomReport {
    /// What one sample of [`front_summary`](Self::front_summary) and
    /// [`random_summary`](Self::random_summary) is: `architecture` (the mean of its seeds).
    pub unit: StatisticalUnit,
    /// Mean test top-1 of the front's architectures (each the mean of its seeds).
    pub front_mean: f64,
    /// Mean test top-1 of the random architectures.
    pub random_mean: f64,
    /// `front_mean − random_mean` with its Welch standard error and 95 % interval over
    /// architectures.
    pub difference: Difference,
    /// The front's architecture means: n (architectures), mean, sd, standard error.
    pub front_summary: Summary,
    /// The random architectures' means.
    pub random_summary: Summary,
    /// Relative cost tolerance of the matching.
    pub cost_tolerance: f64,
    /// Unit of the costs.
    pub cost_unit: String,
    /// Retraining seeds per architecture.
    pub seeds: usize,
    /// The search run.
    pub run: PathBuf,
    /// Wall time of this call, seconds.
    pub wall_seconds: f64,
    /// The front entries (labels `front<i>`).
    pub front: Vec<RetrainedArchitecture>,
    /// The random architectures (labels `random<j>`, matched to front entry `j % front`).
    pub random: Vec<RetrainedArchitecture>,
}

impl VsRandomReport {
    /// One line with the groups' means, sds and sizes and the difference with its interval.
    pub fn summary(&self) -> String {
        format!(
            "vs-random, by architecture (the mean of {} seeds each): front {:.2} ± {:.2} % \
             ({} architectures), random {:.2} ± {:.2} % ({} architectures); difference {:+.2} \
             (95 % CI {:+.2} to {:+.2}, {:.1} standard errors; one search's front)",
            self.seeds,
            self.front_summary.mean,
            self.front_summary.sd,
            self.front_summary.n,
            self.random_summary.mean,
            self.random_summary.sd,
            self.random_summary.n,
            self.difference.difference,
            self.difference.ci95[0],
            self.difference.ci95[1],
            self.difference.z
        )
    }
}

/// A random architecture of the whole pool: per cell 1 to [`RANDOM_MAX_OPS`] distinct ops
/// drawn uniformly (0 to 4 in a residual cell, which may be skipped), the count uniform too;
/// at most the space's `max_branches`.
pub fn random_architecture<R: Rng + ?Sized>(space: &SearchSpace, rng: &mut R) -> Architecture {
    let pool = space.pool().len();
    let most = space
        .spec()
        .max_branches
        .map_or(RANDOM_MAX_OPS, |m| m.min(RANDOM_MAX_OPS));
    let cells = space
        .cells()
        .iter()
        .map(|cell| {
            let low = usize::from(!cell.is_residual());
            let k = rng.random_range(low..=most.min(pool));
            let mut ops: Vec<usize> = (0..pool).collect();
            for i in 0..k {
                let j = rng.random_range(i..pool);
                ops.swap(i, j);
            }
            ops.truncate(k);
            ops
        })
        .collect();
    Architecture::new(cells).expect("distinct pool indices")
}

impl Experiment {
    /// Runs `vs-random` (see the [module docs](super)) and writes `vs-random.json` and
    /// `vs-random.png`.
    pub fn vs_random(&self, reporter: &mut dyn Reporter) -> Result<VsRandomReport> {
        self.require(ExperimentKind::VsRandom)?;
        let run = self.main_search(reporter)?;
        let config = run_config(&run)?;
        let front = run_front(&run)?;
        if front.front.is_empty() {
            return Err(ExperimentError::Config(format!(
                "the front of `{}` is empty",
                run.display()
            )));
        }
        let space = config.space.check()?;
        let costs = crate::search::cost_table(&config, &space)?;
        let path = self.out.join(CANDIDATES_FILE);
        let random: Vec<Architecture> = if path.exists() {
            read_json(&path)?
        } else {
            let mut rng = derive_rng(&[self.config.search.seed, STREAM_EXPERIMENT, 10]);
            let tolerance = self.config.cost_tolerance;
            let mut random = Vec::with_capacity(self.config.archs);
            for j in 0..self.config.archs {
                let entry = &front.front[j % front.front.len()];
                let target = costs.architecture_cost(entry.architecture.cells());
                let mut range = (f64::INFINITY, f64::NEG_INFINITY);
                let found = (0..MATCH_ATTEMPTS).find_map(|_| {
                    let a = random_architecture(&space, &mut rng);
                    space.check_architecture(&a).ok()?;
                    let cost = costs.architecture_cost(a.cells());
                    range = (range.0.min(cost), range.1.max(cost));
                    let taken =
                        random.contains(&a) || front.front.iter().any(|f| f.architecture == a);
                    ((cost - target).abs() <= tolerance * target && !taken).then_some(a)
                });
                let a = found.ok_or_else(|| {
                    ExperimentError::Config(format!(
                        "no random architecture within ±{:.0} % of front entry {} ({:.3} {unit}) \
                         after {MATCH_ATTEMPTS} draws (their costs: {:.3} to {:.3} {unit})",
                        100.0 * tolerance,
                        j % front.front.len(),
                        target,
                        range.0,
                        range.1,
                        unit = costs.unit
                    ))
                })?;
                random.push(a);
            }
            write_json(&path, &random)?;
            random
        };
        let jobs = front
            .front
            .iter()
            .enumerate()
            .map(|(i, e)| Job {
                label: format!("front{i}"),
                architecture: e.architecture.clone(),
                held_out: Some(e.accuracy),
            })
            .chain(random.into_iter().enumerate().map(|(j, a)| Job {
                label: format!("random{j}"),
                architecture: a,
                held_out: None,
            }))
            .collect();
        let mut all = self.retrain_jobs(&config, jobs, reporter)?;
        let random = all.split_off(front.front.len());
        let (front_summary, random_summary) = (
            summary(&architecture_means(&all)),
            summary(&architecture_means(&random)),
        );
        let report = VsRandomReport {
            unit: StatisticalUnit::Architecture,
            front_mean: front_summary.mean,
            random_mean: random_summary.mean,
            difference: difference(&front_summary, &random_summary),
            front_summary,
            random_summary,
            cost_tolerance: self.config.cost_tolerance,
            cost_unit: costs.unit.clone(),
            seeds: self.config.seeds,
            run,
            wall_seconds: self.wall.seconds(),
            front: all,
            random,
        };
        self.write_report(&report)?;
        let warning = plot_groups(
            &report.front,
            &report.random,
            ["NSE front", "random, matched cost"],
            "retrained top-1: the front vs random architectures",
            &report.cost_unit,
            &self.out.join("vs-random.png"),
        );
        if let Some(message) = warning {
            self.emit(reporter, ExperimentEvent::Warning(message));
        }
        let finished = ExperimentReport::VsRandom(report.clone());
        self.emit(reporter, ExperimentEvent::Finished(Box::new(finished)));
        Ok(report)
    }
}
