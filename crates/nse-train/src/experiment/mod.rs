//! Experiments that test whether the search works, on your own data and device:
//!
//! - [`ExperimentKind::Ranking`]: does the supernet rank architectures as retraining does?
//!   After a search (or from an existing run), `archs` architectures spread over the final
//!   round's cost window (stratified by cost) are scored as the search scores them (BN
//!   recalibration + held-out top-1 with inherited weights), then retrained from scratch;
//!   Kendall τ and Spearman ρ between the two accuracies with bootstrap 95 % intervals, top-k
//!   overlap, and beside them the same for ranking by cost alone, Kendall's partial τ given
//!   the cost and τ within cost strata — what the supernet adds beyond the cost.
//! - [`ExperimentKind::GroundTruth`]: the retrained accuracies a ranking is measured against,
//!   and how far they can rank at all: `archs` architectures of the first sub-space spread
//!   evenly over the cost window, each retrained with `seeds` seeds; the spread between
//!   architectures against the retraining noise ([`stats::SignalToNoise`]) and the noise
//!   ceiling of τ, overall and within cost strata. With a [`pilot`](ExperimentConfig::pilot)
//!   a few architectures go first and a [`PilotRule`] fixed beforehand decides whether the
//!   rest are retrained. `ranking --candidates-from` scores these architectures with a
//!   supernet.
//! - [`compare`]: whether a change to the supernet moves τ, as the difference of the mean τ
//!   of several supernets per side on the same ground truth, with a paired bootstrap.
//! - [`known_answer`]: on a pool with known strong ops, whether a search's front holds them
//!   (weak-only reduction cells, weak-op share) against anchors computed before the search.
//! - [`ExperimentKind::VsRandom`]: the final front against `archs` architectures drawn at
//!   random from the whole pool at matched cost (each within `cost_tolerance` of a front
//!   entry), all retrained with the same recipe over `seeds` seeds.
//! - [`ExperimentKind::VsFixed`]: the evolving space against the same supernet budget spent
//!   on a fixed space — one round on the first K ops of each cell's introduction order (the
//!   evolving search's first sub-space) for all the evolving search's epochs, no evolution —
//!   or, with [`Baseline::SingleBranch`], on the same search in a single-path space (at most
//!   one op per cell); comparing the retrained accuracy of each side's best front entries,
//!   paired by cost.
//!
//! # The output folder
//!
//! | path | content |
//! |---|---|
//! | `experiment.json` | the [`ExperimentConfig`]; rerunning with the same config continues, another one is refused |
//! | `search/` | the search run (unless [`ExperimentConfig::run`] names an existing one); `fixed-search/` or `single-branch-search/` for `vs-fixed`; `search-m1/`, … for the other supernets of an [`ensemble`](ExperimentConfig::ensemble) |
//! | `candidates.json` | the architectures chosen (with their held-out top-1 and loss per supernet for `ranking`), written as they are scored |
//! | `retrain/<label>-s<seed>/` | one retraining run per architecture and seed ([`crate::retrain`]'s folder) |
//! | `ranking.json`, `ground-truth.json`, `vs-random.json`, `vs-fixed.json` | the report (top-level numbers first, then one entry per architecture) |
//! | `ranking.png`, `ground-truth.png`, `vs-random.png`, `vs-fixed.png` | the scatter plot |
//! | `wall.json` | the wall-clock seconds of every session so far: the report's `wall_seconds` counts the sessions before a resume too |
//!
//! # Ranks
//!
//! Under an MPI launcher the retrainings, each independent of the others, are spread over
//! the ranks ([`Experiment::spread_over`] on rank 0, [`serve_retrainings`] on the others):
//! one architecture × seed per rank at a time, every result written into rank 0's folder.
//! The searches and the scoring run on rank 0 alone, so the report is the one of one
//! process.
//!
//! ```no_run
//! use std::sync::Arc;
//! use burn::tensor::Device;
//! use nse_cluster::{Collective, Ranks};
//! use nse_train::experiment::{Experiment, ExperimentConfig, serve_retrainings};
//! use nse_train::interrupt::StopFlag;
//! use nse_train::progress::{Quiet, Terminal};
//! use nse_train::ranks::SharedRanks;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ranks: SharedRanks = Arc::new(Ranks::from_launcher()?);
//! let device = Device::flex();
//! if ranks.is_root() {
//!     let config: ExperimentConfig =
//!         serde_json::from_str(&std::fs::read_to_string("experiment.json")?)?;
//!     let mut experiment = Experiment::new(config, "runs/vs-random".as_ref(), &device)?;
//!     experiment.spread_over(Arc::clone(&ranks))?;
//!     println!("{}", experiment.run(&mut Terminal::new())?.summary());
//! } else {
//!     serve_retrainings(&*ranks, &device, &StopFlag::new(), &mut Quiet)?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Every stage is resumable: an interrupted experiment run again with the same config
//! continues the search from its checkpoint, keeps the scored candidates and each finished
//! retraining, and resumes an unfinished retraining after its last epoch. Everything random
//! derives from the search seed and the recipe seed, so a rerun gives the same report on the
//! same machine.
//!
//! ```no_run
//! use burn::tensor::Device;
//! use nse_train::experiment::{Experiment, ExperimentConfig, ExperimentKind};
//! use nse_train::progress::Terminal;
//! use nse_train::retrain::RetrainConfig;
//! use nse_train::search::SearchConfig;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = ExperimentConfig::new(
//!     ExperimentKind::Ranking,
//!     SearchConfig::preset("demo")?,
//!     RetrainConfig::demo(),
//! );
//! config.archs = 10;
//! let experiment = Experiment::new(config, "runs/ranking".as_ref(), &Device::flex())?;
//! let report = experiment.ranking(&mut Terminal::new())?;
//! println!("Kendall tau {:.2} (cost alone {:.2})", report.kendall_tau, report.cost_kendall_tau);
//! # Ok(())
//! # }
//! ```

pub mod compare;
mod error;
mod events;
mod farm;
mod ground_truth;
pub mod known_answer;
mod ranking;
mod retrain_jobs;
pub mod stats;
mod vs_fixed;
mod vs_random;
mod wall;

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::interrupt::StopFlag;
use crate::progress::Reporter;
use crate::ranks::SharedRanks;
use crate::retrain::RetrainConfig;
use crate::run_dir::{RunDir, write_json};
use crate::search::{FrontFile, Search, SearchConfig};

pub use error::{ExperimentError, Result};
pub use events::{ExperimentEvent, ExperimentObserver, ExperimentObservers, display};
pub use farm::serve_retrainings;
pub use ground_truth::{
    Baselines, GROUND_TRUTH_FILE, GroundTruthArchitecture, GroundTruthReport, PilotDecision,
    PilotReport, PilotRule, spread_over_window,
};
pub use ranking::{
    EnsembleMember, ProbePoint, RankedArchitecture, RankingBaselines, RankingComparison,
    RankingReport, TopGap,
};
pub use retrain_jobs::RetrainedArchitecture;
pub use vs_fixed::{Baseline, CostPair, VsFixedReport, fixed_space_config, single_branch_config};
pub use vs_random::{RANDOM_MAX_OPS, VsRandomReport, random_architecture};
pub use wall::WALL_FILE;

/// The experiment's configuration in its output folder.
pub const CONFIG_FILE: &str = "experiment.json";
/// The candidates chosen (and scored) so far.
pub const CANDIDATES_FILE: &str = "candidates.json";
/// The folder of the retrainings, one `<label>-s<seed>/` each.
pub const RETRAIN_DIR: &str = "retrain";

/// Which experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExperimentKind {
    /// Supernet ranking against retrained accuracy.
    Ranking,
    /// The front against random architectures at matched cost.
    VsRandom,
    /// The evolving space against a fixed one at the same budget.
    VsFixed,
    /// Retrained accuracies to rank against, and their noise ceiling.
    GroundTruth,
}

impl ExperimentKind {
    /// Every kind.
    pub const ALL: [ExperimentKind; 4] = [
        Self::Ranking,
        Self::GroundTruth,
        Self::VsRandom,
        Self::VsFixed,
    ];

    /// `ranking`, `ground-truth`, `vs-random` or `vs-fixed`: the name on the command line and of the report.
    pub fn name(self) -> &'static str {
        match self {
            ExperimentKind::Ranking => "ranking",
            ExperimentKind::VsRandom => "vs-random",
            ExperimentKind::VsFixed => "vs-fixed",
            ExperimentKind::GroundTruth => "ground-truth",
        }
    }

    /// The kind called `name`.
    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                ExperimentError::Config(format!(
                    "unknown experiment `{name}` (known: ranking, ground-truth, vs-random, \
                     vs-fixed)"
                ))
            })
    }

    /// The report's file in the experiment's folder: `ranking.json`, `ground-truth.json`,
    /// `vs-random.json` or `vs-fixed.json`.
    pub fn report_file(self) -> String {
        format!("{}.json", self.name())
    }

    /// The default of [`ExperimentConfig::archs`]: 20 for `ranking`, 24 for
    /// `ground-truth`, 8 random architectures
    /// for `vs-random`, the best 3 front entries of each side for `vs-fixed`.
    pub fn default_archs(self) -> usize {
        match self {
            ExperimentKind::Ranking => 20,
            ExperimentKind::VsRandom => 8,
            ExperimentKind::VsFixed => 3,
            ExperimentKind::GroundTruth => 24,
        }
    }
}

impl std::str::FromStr for ExperimentKind {
    type Err = ExperimentError;
    /// [`ExperimentKind::from_name`].
    fn from_str(name: &str) -> Result<Self> {
        Self::from_name(name)
    }
}

/// Every setting of an experiment (serde data, checked once by [`Experiment::new`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Which experiment.
    pub kind: ExperimentKind,
    /// The search to run (ignored when [`run`](Self::run) is given: that run's own
    /// `config.json` is used).
    pub search: SearchConfig,
    /// An existing, finished search run directory to analyse instead of running a search.
    #[serde(default)]
    pub run: Option<PathBuf>,
    /// `ranking`: architectures to score and retrain; `vs-random`: random architectures;
    /// `vs-fixed`: front entries retrained per side (see [`ExperimentKind::default_archs`]).
    pub archs: usize,
    /// Retraining seeds per architecture (recipe seed, recipe seed + 1, ...).
    pub seeds: usize,
    /// The retraining recipe.
    pub recipe: RetrainConfig,
    /// `vs-random`: relative cost tolerance of a random architecture against its front
    /// entry (0.03: within ±3 %).
    pub cost_tolerance: f64,
    /// Bootstrap resamples for the intervals of `ranking`.
    pub bootstrap: usize,
    /// `ranking` only: score the architectures of this earlier ranking experiment's folder
    /// instead of drawing new ones, and take its retrained accuracies as the ground truth
    /// (same space, data, recipe and seeds, checked): a change to the supernet is then
    /// measured on identical architectures, at the cost of a search and no retraining.
    /// Best with one-round searches of one seed, whose sub-space is the same.
    #[serde(default)]
    pub candidates_from: Option<PathBuf>,
    /// `ranking` with [`candidates_from`](Self::candidates_from) and a search of its own:
    /// the search also scores those architectures after every training epoch
    /// ([`EvaluationConfig::probe`](crate::search::EvaluationConfig::probe)), and the report
    /// gives τ per epoch ([`RankingReport::probe`]).
    #[serde(default)]
    pub probe: bool,
    /// `ranking` only: score with this many supernets and rank by their mean score — the
    /// search's own (or [`run`](Self::run)) and the same search trained again with the next
    /// training seeds ([`SearchConfig::training_seed()`] + 1, + 2, …) in `search-m1/`,
    /// `search-m2/`, … Each member of a one-round search trains on the same sub-space; in a
    /// multi-round search the members' later sub-spaces differ. 1: no ensemble.
    #[serde(default = "one")]
    pub ensemble: usize,
    /// `vs-fixed` only: what the search is compared with (default: a fixed space).
    #[serde(default)]
    pub baseline: Baseline,
    /// `ground-truth` only: architectures of a pilot retrained first, spread over the whole
    /// set (0: no pilot); [`pilot_rule`](Self::pilot_rule) then decides whether the others
    /// are retrained.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pilot: usize,
    /// `ground-truth` only: the pilot's decision rule.
    #[serde(default)]
    pub pilot_rule: PilotRule,
    /// `ground-truth` only: retrain these architectures (any of the space, in cost order)
    /// instead of drawing [`archs`](Self::archs) from the first sub-space; `archs` must
    /// equal their number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<nse_space::Architecture>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn one() -> usize {
    1
}

impl ExperimentConfig {
    /// An experiment of `kind` on `search` with `recipe`, the kind's default number of
    /// architectures, one seed, ±3 % cost matching and 2000 bootstrap resamples.
    pub fn new(kind: ExperimentKind, search: SearchConfig, recipe: RetrainConfig) -> Self {
        ExperimentConfig {
            kind,
            search,
            run: None,
            archs: kind.default_archs(),
            seeds: 1,
            recipe,
            cost_tolerance: 0.03,
            bootstrap: 2000,
            candidates_from: None,
            probe: false,
            ensemble: 1,
            baseline: Baseline::FixedSpace,
            pilot: 0,
            pilot_rule: PilotRule::default(),
            architectures: Vec::new(),
        }
    }

    /// Checks every setting; the error names the first invalid one.
    pub fn check(&self) -> Result<()> {
        let fail = |why: String| Err(ExperimentError::Config(why));
        let min_archs = if self.kind == ExperimentKind::Ranking {
            3
        } else {
            1
        };
        if self.archs < min_archs {
            return fail(format!(
                "`archs` must be at least {min_archs} for {}, got {}",
                self.kind.name(),
                self.archs
            ));
        }
        if self.seeds == 0 {
            return fail("`seeds` must be at least 1".into());
        }
        if !(self.cost_tolerance > 0.0 && self.cost_tolerance < 1.0) {
            return fail(format!(
                "`cost_tolerance` must lie in (0, 1), got {}",
                self.cost_tolerance
            ));
        }
        if self.bootstrap == 0 {
            return fail("`bootstrap` must be at least 1".into());
        }
        if self.ensemble == 0 {
            return fail("`ensemble` must be at least 1".into());
        }
        if self.ensemble > 1 && self.kind != ExperimentKind::Ranking {
            return fail(format!(
                "`ensemble` is for ranking, not {}",
                self.kind.name()
            ));
        }
        if self.baseline != Baseline::FixedSpace && self.kind != ExperimentKind::VsFixed {
            return fail(format!(
                "`baseline` is for vs-fixed, not {}",
                self.kind.name()
            ));
        }
        if self.candidates_from.is_some() && self.kind != ExperimentKind::Ranking {
            return fail(format!(
                "`candidates_from` is for ranking, not {}",
                self.kind.name()
            ));
        }
        if self.probe && (self.candidates_from.is_none() || self.run.is_some()) {
            return fail(
                "`probe` needs `candidates_from` (the architectures to probe) and a search of \
                 the experiment's own (no `run`)"
                    .into(),
            );
        }
        if self.kind == ExperimentKind::GroundTruth {
            if self.seeds < 2 {
                return fail(format!(
                    "ground-truth measures the retraining noise: `seeds` must be at least 2, \
                     got {}",
                    self.seeds
                ));
            }
            if self.run.is_some() {
                return fail("ground-truth runs no search: leave out `run`".into());
            }
            if self.pilot > 0 && !(3..self.archs).contains(&self.pilot) {
                return fail(format!(
                    "`pilot` must be at least 3 and below `archs` ({}), got {}",
                    self.archs, self.pilot
                ));
            }
            self.pilot_rule.check()?;
            if !self.architectures.is_empty() {
                if self.architectures.len() != self.archs {
                    return fail(format!(
                        "`archs` ({}) must equal the number of given `architectures` ({})",
                        self.archs,
                        self.architectures.len()
                    ));
                }
                let distinct: std::collections::HashSet<_> = self.architectures.iter().collect();
                if distinct.len() != self.architectures.len() {
                    return fail("the given `architectures` repeat one".into());
                }
                let space = self.search.space.check()?;
                for a in &self.architectures {
                    space.check_architecture(a)?;
                }
            }
        } else if self.pilot > 0 {
            return fail(format!(
                "`pilot` is for ground-truth, not {}",
                self.kind.name()
            ));
        } else if !self.architectures.is_empty() {
            return fail(format!(
                "`architectures` are for ground-truth, not {}",
                self.kind.name()
            ));
        }
        self.recipe.check()?;
        if self.run.is_none() {
            self.search.clone().check()?;
        }
        Ok(())
    }
}

/// Any experiment's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ExperimentReport {
    /// [`ExperimentKind::Ranking`].
    Ranking(Box<RankingReport>),
    /// [`ExperimentKind::VsRandom`].
    VsRandom(VsRandomReport),
    /// [`ExperimentKind::VsFixed`].
    VsFixed(VsFixedReport),
    /// [`ExperimentKind::GroundTruth`].
    GroundTruth(GroundTruthReport),
}

impl ExperimentReport {
    /// The report's one-line summary.
    pub fn summary(&self) -> String {
        match self {
            ExperimentReport::Ranking(r) => r.summary(),
            ExperimentReport::VsRandom(r) => r.summary(),
            ExperimentReport::VsFixed(r) => r.summary(),
            ExperimentReport::GroundTruth(r) => r.summary(),
        }
    }
}

/// An experiment bound to its output folder and device.
pub struct Experiment {
    config: ExperimentConfig,
    out: PathBuf,
    device: Device,
    pub(crate) stop: StopFlag,
    observers: ExperimentObservers,
    wall: wall::WallClock,
    /// The ranks the retrainings are spread over ([`spread_over`](Self::spread_over)).
    ranks: SharedRanks,
}

impl Drop for Experiment {
    /// Releases the other ranks from [`serve_retrainings`].
    fn drop(&mut self) {
        if self.ranks.size() > 1 {
            farm::send_order(&*self.ranks, &farm::Order::Done);
        }
    }
}

impl Experiment {
    /// Checks `config` and binds it to `out` (created). When `out` already holds an
    /// experiment, its config must equal `config` (then the experiment continues where it
    /// stopped); otherwise this fails without touching the folder.
    pub fn new(config: ExperimentConfig, out: &Path, device: &Device) -> Result<Self> {
        config.check()?;
        let path = out.join(CONFIG_FILE);
        if path.exists() {
            let saved: ExperimentConfig = read_json(&path)?;
            if saved != config {
                return Err(ExperimentError::Config(format!(
                    "`{}` holds another experiment (its {CONFIG_FILE} differs from these \
                     settings): rerun it with the same settings to continue, or choose another --out",
                    out.display()
                )));
            }
        } else {
            std::fs::create_dir_all(out).map_err(|e| ExperimentError::file(out, e))?;
            write_json(&path, &config)?;
        }
        let wall = wall::WallClock::open(out, &out.join(config.kind.report_file()))?;
        Ok(Experiment {
            config,
            wall,
            out: out.to_path_buf(),
            device: device.clone(),
            stop: StopFlag::new(),
            observers: ExperimentObservers::default(),
            ranks: crate::ranks::solo(),
        })
    }

    /// Spreads the experiment's retrainings over `ranks`, of which this process must be
    /// rank 0: rank 0 runs the experiment (its searches, its scoring, its report), and each
    /// other rank, waiting in [`serve_retrainings`], retrains one architecture × seed at a
    /// time and sends its result back. The report is the one of one process. Dropping the
    /// experiment releases the other ranks.
    ///
    /// # Errors
    /// [`ExperimentError::Config`] when this process is not rank 0.
    pub fn spread_over(&mut self, ranks: SharedRanks) -> Result<()> {
        if !ranks.is_root() {
            return Err(ExperimentError::Config(format!(
                "rank {} must serve the retrainings (`serve_retrainings`); only rank 0 runs \
                 the experiment",
                ranks.rank()
            )));
        }
        self.ranks = ranks;
        Ok(())
    }

    /// Stops the experiment at its next safe point once `flag` is raised: its searches at
    /// their next weight step or evaluated architecture (with a checkpoint), otherwise
    /// before the next scoring or retraining; it then fails with
    /// [`ExperimentError::Interrupted`], and rerunning it continues.
    pub fn stop_when(&mut self, flag: StopFlag) {
        self.stop = flag;
    }

    /// Calls `observer` with every [`ExperimentEvent`] of the experiment from now on. It runs
    /// on the experiment's thread: keep it short.
    pub fn observe(&mut self, observer: impl FnMut(&ExperimentEvent) + Send + 'static) {
        self.observers.push(observer);
    }

    /// Hands `event` to the observers, then to `reporter`'s display.
    pub(crate) fn emit(&self, reporter: &mut dyn Reporter, event: ExperimentEvent) {
        self.observers.send(&event);
        display(reporter, &event);
    }

    /// Draws the retrained accuracies `points` (`(x, top-1)`, one dot each, legend `what`)
    /// into `file` of the output folder, titled `title` with `x_label` under the x axis; a
    /// failure to draw is a [`Warning`](ExperimentEvent::Warning), not an error.
    pub(crate) fn plot_retrained(
        &self,
        points: &[(f64, f64)],
        what: &str,
        (title, x_label): (&str, &str),
        file: &str,
        reporter: &mut dyn Reporter,
    ) {
        let points: Vec<crate::plot::PlotPoint> = points
            .iter()
            .map(|&(cost, accuracy)| crate::plot::PlotPoint {
                cost,
                accuracy,
                on_front: false,
                extra: false,
            })
            .collect();
        let labels = crate::plot::PlotLabels {
            candidate: what,
            y_axis: "retrained test top-1 (%)",
            step_line: false,
            ..crate::plot::PlotLabels::PARETO
        };
        let path = self.out.join(file);
        if let Err(e) = crate::plot::plot_scatter(&points, title, x_label, &labels, &path) {
            let warning = format!("could not draw {}: {e}", path.display());
            self.emit(reporter, ExperimentEvent::Warning(warning));
        }
    }

    /// Writes `report` as the kind's report file ([`ExperimentKind::report_file`]) and
    /// records the wall time it counts ([`WALL_FILE`]).
    pub(crate) fn write_report<T: Serialize>(&self, report: &T) -> Result<()> {
        write_json(&self.out.join(self.config.kind.report_file()), report)?;
        self.wall.record()
    }

    /// [`ExperimentError::Interrupted`] when the stop flag is raised.
    pub(crate) fn check_stop(&self, what: &str) -> Result<()> {
        if self.stop.is_raised() {
            return Err(ExperimentError::Interrupted {
                what: what.to_string(),
            });
        }
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &ExperimentConfig {
        &self.config
    }

    /// The output folder.
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// Runs the configured experiment and writes its report.
    pub fn run(&self, reporter: &mut dyn Reporter) -> Result<ExperimentReport> {
        Ok(match self.config.kind {
            ExperimentKind::Ranking => ExperimentReport::Ranking(Box::new(self.ranking(reporter)?)),
            ExperimentKind::VsRandom => ExperimentReport::VsRandom(self.vs_random(reporter)?),
            ExperimentKind::VsFixed => ExperimentReport::VsFixed(self.vs_fixed(reporter)?),
            ExperimentKind::GroundTruth => {
                ExperimentReport::GroundTruth(self.ground_truth(reporter)?)
            }
        })
    }

    fn require(&self, kind: ExperimentKind) -> Result<()> {
        if self.config.kind != kind {
            return Err(ExperimentError::Config(format!(
                "this experiment is `{}`, not `{}`",
                self.config.kind.name(),
                kind.name()
            )));
        }
        Ok(())
    }

    /// The finished search the experiment analyses: [`ExperimentConfig::run`], or the search
    /// of `config` run (or resumed) in `out/name`.
    fn finished_search(
        &self,
        name: &str,
        config: &SearchConfig,
        reporter: &mut dyn Reporter,
    ) -> Result<PathBuf> {
        let dir = self.out.join(name);
        if RunDir::new(&dir).has_front() {
            return Ok(dir);
        }
        let event = ExperimentEvent::Search {
            experiment: self.config.kind.name(),
            run: dir.clone(),
        };
        self.emit(reporter, event);
        let mut search = if crate::search::checkpoint::find(&dir).is_some() {
            Search::resume(&dir, &self.device, None)?
        } else {
            let mut config = config.clone();
            config.max_steps = None;
            Search::new(config, &dir, &self.device)?
        };
        search.stop_when(self.stop.clone());
        let outcome = search.run(reporter)?;
        if outcome.interrupted {
            return Err(ExperimentError::Interrupted {
                what: format!("in the search `{}` (checkpoint written)", dir.display()),
            });
        }
        if !outcome.finished {
            return Err(ExperimentError::Config(format!(
                "the search in `{}` stopped before its end",
                dir.display()
            )));
        }
        self.wall.record()?;
        Ok(dir)
    }

    /// The run directory of the (evolving) search: the given run or `out/search`.
    fn main_search(&self, reporter: &mut dyn Reporter) -> Result<PathBuf> {
        match &self.config.run {
            Some(run) => {
                if !RunDir::new(run).has_front() {
                    return Err(ExperimentError::Config(format!(
                        "`{}` holds no finished search (no front.json): finish it with \
                         `nse search --resume`, or leave out --run",
                        run.display()
                    )));
                }
                Ok(run.clone())
            }
            None => self.finished_search("search", &self.config.search, reporter),
        }
    }
}

/// The search config saved in a run directory.
fn run_config(run: &Path) -> Result<SearchConfig> {
    Ok(RunDir::new(run).read_config()?)
}

/// The front of a finished run.
fn run_front(run: &Path) -> Result<FrontFile> {
    Ok(RunDir::new(run).read_front()?)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| ExperimentError::file(path, e))?;
    serde_json::from_str(&text).map_err(|e| ExperimentError::file(path, e))
}

/// Seed stream of the experiments' own random choices (see [`crate::data::rng::derive_rng`]).
const STREAM_EXPERIMENT: u64 = 201;
