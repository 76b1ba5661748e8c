//! `ground-truth`: architectures spread over the cost window, each retrained with several
//! seeds, and how much of their spread is signal — measured on a pilot first, under a rule
//! fixed before the runs.
//!
//! Unless given ([`ExperimentConfig::architectures`](super::ExperimentConfig::architectures)),
//! the architectures come from the first sub-space of the search (the one every one-round
//! supernet of the same `seed` trains on), drawn at a sweep of branch probabilities so that
//! their branch counts differ, and picked evenly over the window's cost range: the i-th of n
//! is the drawn architecture nearest to cost `low + (i + ½)·(high − low)/n`. No supernet is
//! involved; `ranking --candidates-from` then scores exactly these architectures with any
//! supernet and takes their retrained accuracies as its ground truth.
//!
//! With a pilot ([`ExperimentConfig::pilot`](super::ExperimentConfig::pilot)), that many
//! architectures spread over the whole set are retrained first; their
//! [`SignalToNoise`] predicts the noise ceiling of the full ground truth, and the
//! [`PilotRule`] decides whether the experiment goes on to the others or stops.

use std::path::Path;

use serde::{Deserialize, Serialize};

use nse_space::{Architecture, CostTable, FEASIBILITY_PROBABILITIES, SearchSpace, SubSpace};

use super::error::{ExperimentError, Result};
use super::ranking::{POOL_FACTOR, STRATUM_SIZE, stratified};
use super::retrain_jobs::{Job, RetrainedArchitecture};
use super::stats::{
    SignalToNoise, kendall_tau, mean_pairwise_kendall_tau, nullable_f64, signal_to_noise,
};
use super::{
    CANDIDATES_FILE, Experiment, ExperimentEvent, ExperimentKind, ExperimentReport,
    STREAM_EXPERIMENT, read_json,
};
use crate::data::rng::derive_rng;
use crate::progress::Reporter;
use crate::run_dir::write_json;
use crate::search::SearchConfig;

/// The report's file in the experiment's folder.
pub const GROUND_TRUTH_FILE: &str = "ground-truth.json";

/// The decision rule of a pilot, written down before it runs: go on when the noise ceiling
/// predicted for a ground truth of [`seeds`](Self::seeds) seeds reaches
/// [`min_ceiling`](Self::min_ceiling) overall **and**
/// [`min_stratified_ceiling`](Self::min_stratified_ceiling) within cost strata.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PilotRule {
    /// Seeds of the ground truth the ceiling is predicted for.
    pub seeds: usize,
    /// Least predicted Kendall-τ ceiling over all architectures.
    pub min_ceiling: f64,
    /// Least predicted ceiling within cost strata.
    pub min_stratified_ceiling: f64,
}

impl Default for PilotRule {
    /// The rule of `docs/experiments.md` §11: a 2-seed ceiling of at least 0.65 overall and
    /// 0.5 within cost strata.
    fn default() -> Self {
        PilotRule {
            seeds: 2,
            min_ceiling: 0.65,
            min_stratified_ceiling: 0.5,
        }
    }
}

impl PilotRule {
    /// Checks the thresholds (in `[0, 1]`) and the seed count (at least 1).
    pub fn check(&self) -> Result<()> {
        if self.seeds == 0 {
            return Err(ExperimentError::Config(
                "`pilot_rule.seeds` must be at least 1".into(),
            ));
        }
        for (name, v) in [
            ("min_ceiling", self.min_ceiling),
            ("min_stratified_ceiling", self.min_stratified_ceiling),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(ExperimentError::Config(format!(
                    "`pilot_rule.{name}` must lie in [0, 1], got {v}"
                )));
            }
        }
        Ok(())
    }

    /// The rule applied to a pilot's overall and within-strata estimates. An estimate that
    /// cannot be made (`NaN`) does not meet its threshold.
    pub fn decide(&self, overall: &SignalToNoise, within: &SignalToNoise) -> PilotDecision {
        let meets = |s: &SignalToNoise, min: f64| s.ceiling_kendall_tau(self.seeds) >= min;
        if meets(overall, self.min_ceiling) && meets(within, self.min_stratified_ceiling) {
            PilotDecision::Continue
        } else {
            PilotDecision::Stop
        }
    }
}

/// What a pilot's rule decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PilotDecision {
    /// The ceiling is high enough: retrain the other architectures.
    Continue,
    /// It is not: the experiment stops after the pilot (the plan's fallback applies).
    Stop,
}

/// What the pilot measured and decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PilotReport {
    /// Indices of the pilot's architectures in [`GroundTruthReport::architectures`].
    pub architectures: Vec<usize>,
    /// Their signal and noise over all of them.
    pub overall: SignalToNoise,
    /// Within the cost strata of the whole set (the pilot holds a few of each).
    pub within_strata: SignalToNoise,
    /// The noise ceiling predicted for a ground truth of `rule.seeds` seeds.
    #[serde(deserialize_with = "nullable_f64")]
    pub predicted_ceiling: f64,
    /// The same within cost strata.
    #[serde(deserialize_with = "nullable_f64")]
    pub predicted_stratified_ceiling: f64,
    /// Mean Kendall τ between the pilot's retraining seeds.
    #[serde(deserialize_with = "nullable_f64")]
    pub retraining_agreement_kendall_tau: f64,
    /// The rule applied.
    pub rule: PilotRule,
    /// Its decision.
    pub decision: PilotDecision,
}

impl PilotReport {
    /// One line: ρ, the predicted ceilings and the decision.
    pub fn summary(&self) -> String {
        format!(
            "ground-truth pilot of {} architectures x {} seeds: retraining sd {:.3}, \
             architecture sd {:.3} (rho {:.2}), predicted {}-seed ceiling tau {:.3}; within {} \
             cost strata: architecture sd {:.3} (rho {:.2}), ceiling tau {:.3}; seeds agree at \
             tau {:.3}; rule (ceiling >= {}, >= {} within strata): {}",
            self.architectures.len(),
            self.overall.seeds,
            self.overall.retraining_sd,
            self.overall.architecture_sd,
            self.overall.ratio,
            self.rule.seeds,
            self.predicted_ceiling,
            self.within_strata.strata,
            self.within_strata.architecture_sd,
            self.within_strata.ratio,
            self.predicted_stratified_ceiling,
            self.retraining_agreement_kendall_tau,
            self.rule.min_ceiling,
            self.rule.min_stratified_ceiling,
            match self.decision {
                PilotDecision::Continue => "continue",
                PilotDecision::Stop => "stop after the pilot",
            }
        )
    }
}

/// One architecture of the ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruthArchitecture {
    /// Its folder name under `retrain/` (before `-s<seed>`).
    pub label: String,
    /// The architecture.
    pub architecture: Architecture,
    /// Its text form.
    pub text: String,
    /// Cost in the unit of the search's metric.
    pub cost: f64,
    /// Multiply-accumulates.
    pub macs: u64,
    /// Parameters.
    pub params: u64,
    /// Ops over all cells.
    pub branches: usize,
    /// Its cost stratum (0 = cheapest).
    pub stratum: usize,
    /// Retrained in the pilot.
    pub pilot: bool,
    /// Test top-1 of each retraining seed, percent (empty when not retrained: after a
    /// pilot that stopped the experiment).
    pub retrained: Vec<f64>,
    /// Their mean (`NaN`, `null` in JSON, when not retrained).
    #[serde(deserialize_with = "nullable_f64")]
    pub retrained_mean: f64,
}

/// What `ground-truth` measured (`ground-truth.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruthReport {
    /// Every architecture has all its seeds (false after a pilot that stopped).
    pub complete: bool,
    /// The cost window `(low, high)` the architectures span, in `unit`.
    pub window: [f64; 2],
    /// Unit of the costs.
    pub unit: String,
    /// Retraining seeds per architecture.
    pub seeds: usize,
    /// Cost strata (about five architectures each).
    pub strata: usize,
    /// The sub-space the architectures come from (`[cell][pool index]`).
    pub subspace: Vec<Vec<usize>>,
    /// The pilot, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pilot: Option<PilotReport>,
    /// Signal and noise over all architectures (when complete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overall: Option<SignalToNoise>,
    /// The same within cost strata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_strata: Option<SignalToNoise>,
    /// The noise ceiling of this ground truth (the mean of its seeds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceiling_kendall_tau: Option<f64>,
    /// The same within cost strata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stratified_ceiling_kendall_tau: Option<f64>,
    /// Mean Kendall τ between the retraining seeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retraining_agreement_kendall_tau: Option<f64>,
    /// Kendall τ of the mean retrained accuracy with the cost, the parameter count and the
    /// branch count: what the simplest predictors reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baselines: Option<Baselines>,
    /// Wall time of this call, seconds (earlier sessions of a resumed experiment excluded).
    pub wall_seconds: f64,
    /// The architectures, by cost.
    pub architectures: Vec<GroundTruthArchitecture>,
}

/// Kendall τ of a ground truth against the simplest predictors.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Baselines {
    /// Against the cost (the search's metric: MACs here).
    #[serde(deserialize_with = "nullable_f64")]
    pub cost: f64,
    /// Against the parameter count.
    #[serde(deserialize_with = "nullable_f64")]
    pub params: f64,
    /// Against the branch count (ops over all cells).
    #[serde(deserialize_with = "nullable_f64")]
    pub branches: f64,
}

/// A τ in a summary line: three decimals, or why there is none (τ is undefined when either
/// side has no spread, e.g. architectures that all have the same number of branches).
fn tau_text(tau: f64) -> String {
    if tau.is_finite() {
        format!("{tau:.3}")
    } else {
        "undefined (no spread)".into()
    }
}

impl Baselines {
    /// The τ of `truth` against the costs, parameters and branches of `architectures`.
    pub(crate) fn of(
        truth: &[f64],
        cost: impl Iterator<Item = f64>,
        params: impl Iterator<Item = f64>,
        branches: impl Iterator<Item = f64>,
    ) -> Self {
        let tau = |x: Vec<f64>| kendall_tau(&x, truth);
        Baselines {
            cost: tau(cost.collect()),
            params: tau(params.collect()),
            branches: tau(branches.collect()),
        }
    }
}

impl GroundTruthReport {
    /// One line: how many, the noise and signal, the ceiling and the baselines.
    pub fn summary(&self) -> String {
        let (Some(overall), Some(within), Some(ceiling), Some(stratified), Some(b)) = (
            &self.overall,
            &self.within_strata,
            self.ceiling_kendall_tau,
            self.stratified_ceiling_kendall_tau,
            &self.baselines,
        ) else {
            return match &self.pilot {
                Some(pilot) => format!(
                    "{}; the experiment stopped after the pilot ({} of {} architectures retrained)",
                    pilot.summary(),
                    pilot.architectures.len(),
                    self.architectures.len()
                ),
                None => "ground truth incomplete".into(),
            };
        };
        format!(
            "ground truth of {} architectures x {} seeds ({:.3} to {:.3} {}): retraining sd \
             {:.3}, architecture sd {:.3} (rho {:.2}), noise ceiling tau {:.3}; within {} cost \
             strata rho {:.2}, ceiling tau {:.3}; seeds agree at tau {}; tau of the mean \
             with {} {}, params {}, branches {}",
            self.architectures.len(),
            self.seeds,
            self.window[0],
            self.window[1],
            self.unit,
            overall.retraining_sd,
            overall.architecture_sd,
            overall.ratio,
            ceiling,
            within.strata,
            within.ratio,
            stratified,
            tau_text(self.retraining_agreement_kendall_tau.unwrap_or(f64::NAN)),
            self.unit,
            tau_text(b.cost),
            tau_text(b.params),
            tau_text(b.branches)
        )
    }

    /// Reads the report in the experiment folder `dir`.
    pub fn read(dir: &Path) -> Result<Self> {
        read_json(&dir.join(GROUND_TRUTH_FILE))
    }
}

/// `n` distinct architectures of `subspace` whose costs spread evenly over `window`: a pool
/// of up to `8n` distinct architectures in the window is drawn at the
/// branch probabilities of [`FEASIBILITY_PROBABILITIES`] in turn (at most `attempts` draws),
/// then for each of `n` equal-width cost bins the unused one nearest to the bin's centre is
/// kept. In cost order. Fails when fewer than `n` distinct architectures were found.
pub fn spread_over_window<R: rand::Rng + ?Sized>(
    space: &SearchSpace,
    costs: &CostTable,
    subspace: &SubSpace,
    window: (f64, f64),
    n: usize,
    attempts: usize,
    rng: &mut R,
) -> Result<Vec<(Architecture, f64)>> {
    let (low, high) = window;
    let wanted = n * POOL_FACTOR;
    let levels: Vec<Vec<Vec<f32>>> = FEASIBILITY_PROBABILITIES
        .iter()
        .map(|p| {
            let logit = (p / (1.0 - p)).ln() as f32;
            vec![vec![logit; subspace.pool_size()]; subspace.num_cells()]
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut pool: Vec<(Architecture, f64)> = Vec::new();
    for attempt in 0..attempts {
        if pool.len() >= wanted {
            break;
        }
        let a = subspace.sample_bernoulli(&levels[attempt % levels.len()], rng)?;
        space.check_architecture(&a)?;
        let cost = costs.architecture_cost(a.cells());
        if cost > low && cost < high && seen.insert(a.clone()) {
            pool.push((a, cost));
        }
    }
    if pool.len() < n {
        return Err(ExperimentError::Config(format!(
            "only {} distinct architectures of the first sub-space lie in the window ({low:.3}, \
             {high:.3}) {} after {attempts} draws: ask for fewer with --archs or widen the window",
            pool.len(),
            costs.unit
        )));
    }
    pool.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut used = vec![false; pool.len()];
    let width = (high - low) / n as f64;
    let mut chosen: Vec<(Architecture, f64)> = (0..n)
        .map(|i| {
            let centre = low + (i as f64 + 0.5) * width;
            let best = (0..pool.len())
                .filter(|&j| !used[j])
                .min_by(|&a, &b| {
                    (pool[a].1 - centre)
                        .abs()
                        .total_cmp(&(pool[b].1 - centre).abs())
                })
                .expect("the pool holds at least n architectures");
            used[best] = true;
            pool[best].clone()
        })
        .collect();
    chosen.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(chosen)
}

/// The noise statistics of `results` (`[architecture][seed]`) with stratum `labels`.
fn noise(results: &[Vec<f64>], labels: &[usize]) -> (SignalToNoise, SignalToNoise, f64) {
    let by_seed: Vec<Vec<f64>> = (0..results.first().map_or(0, Vec::len))
        .map(|s| results.iter().map(|r| r[s]).collect())
        .collect();
    (
        signal_to_noise(results, None),
        signal_to_noise(results, Some(labels)),
        mean_pairwise_kendall_tau(&by_seed),
    )
}

impl Experiment {
    /// Runs `ground-truth` (see the [module docs](super)) and writes `ground-truth.json`
    /// and `ground-truth.png`; stops after the pilot when its rule says so (the report then
    /// says so, with `complete` false).
    pub fn ground_truth(&self, reporter: &mut dyn Reporter) -> Result<GroundTruthReport> {
        self.require(ExperimentKind::GroundTruth)?;
        let plan = self.config.search.clone().check()?;
        let config: &SearchConfig = plan.config();
        let (space, costs) = (plan.space(), plan.costs());
        let window = plan.window();
        let subspace = plan.first_evolution().subspace();
        let n = self.config.archs;
        let path = self.out.join(CANDIDATES_FILE);
        let chosen: Vec<Architecture> = if path.exists() {
            read_json(&path)?
        } else if !self.config.architectures.is_empty() {
            let mut given: Vec<(Architecture, f64)> = self
                .config
                .architectures
                .iter()
                .map(|a| (a.clone(), costs.architecture_cost(a.cells())))
                .collect();
            given.sort_by(|a, b| a.1.total_cmp(&b.1));
            let chosen: Vec<Architecture> = given.into_iter().map(|(a, _)| a).collect();
            write_json(&path, &chosen)?;
            chosen
        } else {
            let attempts = config.evaluation.attempts_per_architecture.max(1) * n * POOL_FACTOR;
            let mut rng = derive_rng(&[config.seed, STREAM_EXPERIMENT, 20]);
            let chosen: Vec<Architecture> = spread_over_window(
                space,
                costs,
                subspace,
                (window.low(), window.high()),
                n,
                attempts,
                &mut rng,
            )?
            .into_iter()
            .map(|(a, _)| a)
            .collect();
            write_json(&path, &chosen)?;
            chosen
        };
        let strata = (n / STRATUM_SIZE).max(1);
        let labels: Vec<usize> = (0..n).map(|i| i * strata / n).collect();
        let width = n.to_string().len();
        let job = |i: usize| Job {
            label: format!("arch{i:0width$}"),
            architecture: chosen[i].clone(),
            held_out: None,
        };
        let all: Vec<usize> = (0..n).collect();
        let pilot_indices = if self.config.pilot > 0 {
            stratified(&all, self.config.pilot)
        } else {
            Vec::new()
        };
        let mut architectures: Vec<GroundTruthArchitecture> = chosen
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let cost = space.architecture_cost(a)?.total;
                Ok(GroundTruthArchitecture {
                    label: job(i).label,
                    text: a.to_string(),
                    cost: costs.architecture_cost(a.cells()),
                    macs: cost.macs,
                    params: cost.params,
                    branches: a.cells().iter().map(Vec::len).sum(),
                    stratum: labels[i],
                    pilot: pilot_indices.contains(&i),
                    architecture: a.clone(),
                    retrained: Vec::new(),
                    retrained_mean: f64::NAN,
                })
            })
            .collect::<Result<_>>()?;
        let fill = |architectures: &mut [GroundTruthArchitecture],
                    indices: &[usize],
                    done: Vec<RetrainedArchitecture>| {
            for (&i, r) in indices.iter().zip(done) {
                architectures[i].retrained = r.retrained;
                architectures[i].retrained_mean = r.retrained_mean;
            }
        };
        let mut report = GroundTruthReport {
            complete: false,
            window: [window.low(), window.high()],
            unit: costs.unit.clone(),
            seeds: self.config.seeds,
            strata,
            subspace: subspace.cells().to_vec(),
            pilot: None,
            overall: None,
            within_strata: None,
            ceiling_kendall_tau: None,
            stratified_ceiling_kendall_tau: None,
            retraining_agreement_kendall_tau: None,
            baselines: None,
            wall_seconds: 0.0,
            architectures: Vec::new(),
        };
        if !pilot_indices.is_empty() {
            let event = ExperimentEvent::PilotStart {
                pilot: pilot_indices.len(),
                architectures: n,
                seeds: self.config.seeds,
            };
            self.emit(reporter, event);
            let jobs = pilot_indices.iter().map(|&i| job(i)).collect();
            let done = self.retrain_jobs(config, jobs, reporter)?;
            fill(&mut architectures, &pilot_indices, done);
            let results: Vec<Vec<f64>> = pilot_indices
                .iter()
                .map(|&i| architectures[i].retrained.clone())
                .collect();
            let pilot_labels: Vec<usize> = pilot_indices.iter().map(|&i| labels[i]).collect();
            let (overall, within, agreement) = noise(&results, &pilot_labels);
            let rule = self.config.pilot_rule;
            let pilot = PilotReport {
                architectures: pilot_indices.clone(),
                predicted_ceiling: overall.ceiling_kendall_tau(rule.seeds),
                predicted_stratified_ceiling: within.ceiling_kendall_tau(rule.seeds),
                decision: rule.decide(&overall, &within),
                overall,
                within_strata: within,
                retraining_agreement_kendall_tau: agreement,
                rule,
            };
            self.emit(
                reporter,
                ExperimentEvent::PilotDecided(Box::new(pilot.clone())),
            );
            let decision = pilot.decision;
            report.pilot = Some(pilot);
            if decision == PilotDecision::Stop {
                report.wall_seconds = self.wall.seconds();
                report.architectures = architectures;
                self.write_report(&report)?;
                let finished = ExperimentReport::GroundTruth(report.clone());
                self.emit(reporter, ExperimentEvent::Finished(Box::new(finished)));
                return Ok(report);
            }
        }
        let done = self.retrain_jobs(config, all.iter().map(|&i| job(i)).collect(), reporter)?;
        fill(&mut architectures, &all, done);
        let results: Vec<Vec<f64>> = architectures.iter().map(|a| a.retrained.clone()).collect();
        let (overall, within, agreement) = noise(&results, &labels);
        let truth: Vec<f64> = architectures.iter().map(|a| a.retrained_mean).collect();
        report.baselines = Some(Baselines::of(
            &truth,
            architectures.iter().map(|a| a.cost),
            architectures.iter().map(|a| a.params as f64),
            architectures.iter().map(|a| a.branches as f64),
        ));
        report.complete = true;
        report.ceiling_kendall_tau = Some(overall.ceiling_kendall_tau(self.config.seeds));
        report.stratified_ceiling_kendall_tau = Some(within.ceiling_kendall_tau(self.config.seeds));
        report.overall = Some(overall);
        report.within_strata = Some(within);
        report.retraining_agreement_kendall_tau = Some(agreement);
        report.wall_seconds = self.wall.seconds();
        report.architectures = architectures;
        self.write_report(&report)?;
        let points: Vec<(f64, f64)> = report
            .architectures
            .iter()
            .flat_map(|a| a.retrained.iter().map(|&r| (a.cost, r)))
            .collect();
        let title = format!(
            "ground truth: {} architectures x {} seeds (noise ceiling tau {:.2})",
            n,
            self.config.seeds,
            report.ceiling_kendall_tau.unwrap_or(f64::NAN)
        );
        let what = "retraining (one seed)";
        let text = (title.as_str(), report.unit.as_str());
        self.plot_retrained(&points, what, text, "ground-truth.png", reporter);
        let finished = ExperimentReport::GroundTruth(report.clone());
        self.emit(reporter, ExperimentEvent::Finished(Box::new(finished)));
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snr(architecture_sd: f64, retraining_sd: f64, strata: usize) -> SignalToNoise {
        SignalToNoise {
            architectures: 8,
            seeds: 2,
            strata,
            retraining_sd,
            architecture_sd,
            ratio: architecture_sd / retraining_sd,
        }
    }

    #[test]
    fn a_baseline_without_spread_is_said_to_be_undefined() {
        let truth = [70.0, 72.0, 71.0];
        let b = Baselines::of(
            &truth,
            [1.0, 3.0, 2.0].into_iter(),
            [3.0, 1.0, 2.0].into_iter(),
            [6.0, 6.0, 6.0].into_iter(),
        );
        assert_eq!(tau_text(b.cost), "1.000");
        assert_eq!(tau_text(b.params), "-1.000");
        assert_eq!(tau_text(b.branches), "undefined (no spread)");
    }

    #[test]
    fn the_rule_needs_both_ceilings() {
        let rule = PilotRule::default();
        // ρ = 2: R = 8/9, τ* = 0.78; ρ = 1: R = 2/3, τ* = 0.61; ρ = 0.5: τ* = 0.39.
        let (high, middle, low) = (snr(2.0, 1.0, 1), snr(1.0, 1.0, 4), snr(0.5, 1.0, 4));
        assert!(high.ceiling_kendall_tau(2) > 0.65 && middle.ceiling_kendall_tau(2) > 0.5);
        assert!(middle.ceiling_kendall_tau(2) < 0.65 && low.ceiling_kendall_tau(2) < 0.5);
        assert_eq!(rule.decide(&high, &middle), PilotDecision::Continue);
        assert_eq!(rule.decide(&high, &low), PilotDecision::Stop);
        assert_eq!(rule.decide(&middle, &middle), PilotDecision::Stop);
        let nan = snr(f64::NAN, 1.0, 4);
        assert_eq!(
            rule.decide(&high, &nan),
            PilotDecision::Stop,
            "no estimate, no pass"
        );
        assert!(
            PilotRule {
                min_ceiling: 1.5,
                ..rule
            }
            .check()
            .is_err()
        );
    }
}
