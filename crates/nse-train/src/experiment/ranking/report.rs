//! A ranking's report: the statistics of the scores against the retrained accuracies,
//! `ranking.json` and `ranking.png`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use nse_space::Architecture;

use super::choose::Candidate;
use super::score::Scoring;
use super::{STRATUM_SIZE, TOP_GAP_K, mean};
use crate::data::rng::derive_rng;
use crate::experiment::error::{ExperimentError, Result};
use crate::experiment::retrain_jobs::RetrainedArchitecture;
use crate::experiment::stats::{
    Difference, SignalToNoise, Summary, bootstrap_95, bootstrap_95_columns, difference,
    kendall_tau, mean_pairwise_kendall_tau, partial_kendall_tau, signal_to_noise, spearman_rho,
    stratified_kendall_tau, summary, top_k_overlap,
};
use crate::experiment::{Experiment, ExperimentEvent, ExperimentReport, STREAM_EXPERIMENT};
use crate::progress::Reporter;
use crate::search::SearchConfig;

/// One architecture of the ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedArchitecture {
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
    /// Its cost stratum (0 = cheapest).
    pub stratum: usize,
    /// `learned` (drawn from the final indicators' distribution) or `sweep` (from uniform
    /// branch probabilities over the final sub-space, when the learned distribution held too
    /// few distinct architectures in the window).
    pub drawn_from: String,
    /// Held-out top-1 with the supernet's weights after BN recalibration, percent (the mean
    /// over the ensemble's supernets when [`RankingReport::ensemble`] > 1).
    pub inherited: f64,
    /// Held-out cross-entropy with inherited weights, from the same forward passes (the
    /// ensemble's mean).
    pub inherited_loss: f64,
    /// Held-out top-1 by each supernet of the ensemble, in member order (empty without an
    /// ensemble).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub member_inherited: Vec<f64>,
    /// Test top-1 after retraining from scratch, per seed.
    pub retrained: Vec<f64>,
    /// Their mean (the ranking's ground truth).
    pub retrained_mean: f64,
}

/// What `ranking` measured (`ranking.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankingReport {
    /// Kendall τ-b between inherited and retrained accuracy.
    pub kendall_tau: f64,
    /// Spearman ρ between inherited and retrained accuracy.
    pub spearman_rho: f64,
    /// Bootstrap 95 % interval of [`kendall_tau`](Self::kendall_tau) (architectures resampled).
    pub kendall_tau_ci95: [f64; 2],
    /// Bootstrap 95 % interval of [`spearman_rho`](Self::spearman_rho).
    pub spearman_rho_ci95: [f64; 2],
    /// Kendall τ-b between the negated held-out cross-entropy with inherited weights and the
    /// retrained accuracy: the ranking by loss instead of top-1.
    pub loss_kendall_tau: f64,
    /// Its bootstrap 95 % interval.
    pub loss_kendall_tau_ci95: [f64; 2],
    /// Kendall τ-b between cost and retrained accuracy: the ranking by cost alone.
    pub cost_kendall_tau: f64,
    /// Its bootstrap 95 % interval.
    pub cost_kendall_tau_ci95: [f64; 2],
    /// Spearman ρ between cost and retrained accuracy.
    pub cost_spearman_rho: f64,
    /// Kendall τ between the inherited accuracy and the architecture's number of branches
    /// (ops over all cells): how much the supernet's score follows the branch count.
    pub branches_kendall_tau: f64,
    /// The same for the retrained accuracy: how much the branch count matters after
    /// retraining. A large gap between the two is the supernet's branch-count bias.
    pub retrained_branches_kendall_tau: f64,
    /// Kendall's partial τ of inherited and retrained accuracy given the cost: the
    /// supernet's contribution beyond the cost.
    pub partial_kendall_tau: f64,
    /// τ within cost strata of about five architectures, averaged by pairs.
    pub stratified_kendall_tau: f64,
    /// Strata used.
    pub strata: usize,
    /// k of the top-k overlaps (a quarter of the architectures, at least 1).
    pub top_k: usize,
    /// Share of the top-k by inherited accuracy among the top-k by retrained accuracy.
    pub top_k_overlap: f64,
    /// The same for the top-k by cost.
    pub cost_top_k_overlap: f64,
    /// The search run analysed.
    pub run: PathBuf,
    /// Its final round (from 1), whose supernet scored the architectures.
    pub round: usize,
    /// The cost window `(low, high)` in millions.
    pub window: [f64; 2],
    /// Unit of the costs (`MMACs`, `Mparams`).
    pub unit: String,
    /// Held-out images each architecture was scored on.
    pub held_out_images: usize,
    /// Retraining seeds per architecture.
    pub seeds: usize,
    /// With two or more seeds: the mean Kendall τ between the seeds' retrained accuracies —
    /// how alike two retrainings rank the architectures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retraining_agreement_kendall_tau: Option<f64>,
    /// With two or more seeds: the share of the ground truth's variance across
    /// architectures that is signal, for the mean of all seeds
    /// ([`SignalToNoise::reliability`] of the variance components).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ground_truth_reliability: Option<f64>,
    /// With two or more seeds: the τ a perfect predictor would reach against this ground
    /// truth ([`SignalToNoise::ceiling_kendall_tau`]); the measured τ is to be read against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_ceiling_kendall_tau: Option<f64>,
    /// With two or more seeds: the same within the cost strata, to read
    /// [`stratified_kendall_tau`](Self::stratified_kendall_tau) against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stratified_noise_ceiling_kendall_tau: Option<f64>,
    /// With two or more seeds: the ground truth's retraining noise and spread between
    /// architectures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ground_truth_noise: Option<SignalToNoise>,
    /// Kendall τ of the retrained accuracy against MACs, parameters and branch count: the
    /// baselines a supernet has to beat (the search's metric is
    /// [`cost_kendall_tau`](Self::cost_kendall_tau)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baselines: Option<RankingBaselines>,
    /// The retrained accuracy of the supernet's best [`TopGap::k`] against the rest, the
    /// architecture as the unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_gap: Option<TopGap>,
    /// Supernets whose scores were averaged
    /// ([`ExperimentConfig::ensemble`](crate::experiment::ExperimentConfig::ensemble)).
    pub ensemble: usize,
    /// Each supernet of the ensemble on its own (empty without an ensemble).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<EnsembleMember>,
    /// With an ensemble: the mean Kendall τ between its supernets' scores — how alike
    /// supernets trained with different seeds rank the architectures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_agreement_kendall_tau: Option<f64>,
    /// The earlier ranking whose architectures and retrained accuracies were reused
    /// ([`ExperimentConfig::candidates_from`](crate::experiment::ExperimentConfig::candidates_from)).
    pub candidates_from: Option<PathBuf>,
    /// Against the earlier ranking, when its architectures were reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_with_earlier: Option<RankingComparison>,
    /// τ after every supernet training epoch, when probed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probe: Vec<ProbePoint>,
    /// Architectures with an op outside this run's final sub-space (dropped or never
    /// introduced there: its weights were not trained in the final round, so its score is
    /// not the search's own).
    pub outside_final_subspace: usize,
    /// Wall time of this call, seconds (earlier sessions of a resumed experiment excluded).
    pub wall_seconds: f64,
    /// The architectures, by cost.
    pub architectures: Vec<RankedArchitecture>,
}

impl RankingReport {
    /// One line with τ (and its interval), ρ, the cost-only τ, the partial τ and top-k.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "ranking of {} architectures: Kendall tau {:.3} (95 % CI {:.3} to {:.3}), Spearman \
             rho {:.3}; by held-out loss: tau {:.3}; cost alone: tau {:.3}; partial tau given \
             cost {:.3}; top-{} overlap {:.2} (cost alone {:.2})",
            self.architectures.len(),
            self.kendall_tau,
            self.kendall_tau_ci95[0],
            self.kendall_tau_ci95[1],
            self.spearman_rho,
            self.loss_kendall_tau,
            self.cost_kendall_tau,
            self.partial_kendall_tau,
            self.top_k,
            self.top_k_overlap,
            self.cost_top_k_overlap
        );
        line += &format!(
            "; with the branch count: tau {:.3} (inherited) against {:.3} (retrained)",
            self.branches_kendall_tau, self.retrained_branches_kendall_tau
        );
        if let Some(agreement) = self.member_agreement_kendall_tau {
            let taus: Vec<String> = self
                .members
                .iter()
                .map(|m| format!("{:.2}", m.kendall_tau))
                .collect();
            line += &format!(
                "; ensemble of {} supernets (alone: tau {}; between them: tau {agreement:.3})",
                self.ensemble,
                taus.join(", ")
            );
        }
        if let (Some(agreement), Some(ceiling)) = (
            self.retraining_agreement_kendall_tau,
            self.noise_ceiling_kendall_tau,
        ) {
            line += &format!(
                "; {} retraining seeds agree at tau {agreement:.3}, noise ceiling tau {ceiling:.3}",
                self.seeds
            );
            if let Some(stratified) = self.stratified_noise_ceiling_kendall_tau {
                line += &format!(" ({stratified:.3} within strata)");
            }
        }
        if let Some(b) = &self.baselines {
            line += &format!(
                "; baselines: tau with MACs {:.3}, params {:.3}, branches {:.3}",
                b.macs, b.params, b.branches
            );
        }
        if let Some(g) = &self.top_gap {
            line += &format!(
                "; supernet's top {} retrain {:+.2} points above the rest (95 % CI {:+.2} to {:+.2})",
                g.k, g.difference.difference, g.difference.ci95[0], g.difference.ci95[1]
            );
        }
        if let Some(c) = &self.compared_with_earlier {
            line += &format!(
                "; against the earlier ranking: tau {:+.3} (95 % CI {:+.3} to {:+.3}), tau \
                 between the two supernets' scores {:.3}",
                c.kendall_tau_difference,
                c.kendall_tau_difference_ci95[0],
                c.kendall_tau_difference_ci95[1],
                c.scores_kendall_tau
            );
        }
        if !self.probe.is_empty() {
            let taus: Vec<String> = self
                .probe
                .iter()
                .map(|p| format!("{:.2}", p.kendall_tau))
                .collect();
            line += &format!("; tau after each epoch: {}", taus.join(", "));
        }
        line
    }
}

/// Kendall τ of the retrained accuracy against what needs no supernet.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RankingBaselines {
    /// Against the MACs.
    pub macs: f64,
    /// Against the parameter count.
    pub params: f64,
    /// Against the branch count (ops over all cells).
    pub branches: f64,
}

/// The retrained accuracy of the `k` architectures the supernet scores best against the
/// others': the difference of the two groups' means of architecture means, with its Welch
/// standard error over architectures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TopGap {
    /// Architectures in the top group.
    pub k: usize,
    /// The top group's architectures (their mean retrained accuracy).
    pub top: Summary,
    /// The others.
    pub rest: Summary,
    /// `top − rest`.
    pub difference: Difference,
}

/// The [`TopGap`] of the best `k` by `score` against the rest, on `truth` (one value per
/// architecture); `None` unless both groups have at least two architectures.
pub(crate) fn top_gap(score: &[f64], truth: &[f64], k: usize) -> Option<TopGap> {
    if k < 2 || truth.len() < k + 2 {
        return None;
    }
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    let top: Vec<f64> = order[..k].iter().map(|&i| truth[i]).collect();
    let rest: Vec<f64> = order[k..].iter().map(|&i| truth[i]).collect();
    let (top, rest) = (summary(&top), summary(&rest));
    Some(TopGap {
        k,
        top,
        rest,
        difference: difference(&top, &rest),
    })
}

/// One supernet of an ensemble and how it ranks on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleMember {
    /// Its search run.
    pub run: PathBuf,
    /// The seed of its training ([`SearchConfig::training_seed()`](crate::search::SearchConfig::training_seed())).
    pub training_seed: u64,
    /// Kendall τ of its held-out top-1 against the retrained accuracy.
    pub kendall_tau: f64,
    /// The same for its held-out loss.
    pub loss_kendall_tau: f64,
}

/// The ranking of the probed architectures after one supernet training epoch
/// ([`ExperimentConfig::probe`](crate::experiment::ExperimentConfig::probe)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbePoint {
    /// Round (from 1).
    pub round: usize,
    /// Epochs of the round done (from 1).
    pub epoch: usize,
    /// Weight steps of the round done.
    pub step: u64,
    /// Kendall τ-b between the probe's scores and the retrained accuracies.
    pub kendall_tau: f64,
    /// Spearman ρ between them.
    pub spearman_rho: f64,
    /// Mean probe score, percent.
    pub mean_score: f64,
}

/// This ranking against the earlier one whose architectures and ground truth it reused
/// ([`ExperimentConfig::candidates_from`](crate::experiment::ExperimentConfig::candidates_from)): the
/// same architectures scored by two supernets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankingComparison {
    /// The earlier ranking's Kendall τ (its supernet's scores against the same truth).
    pub earlier_kendall_tau: f64,
    /// This τ minus the earlier one.
    pub kendall_tau_difference: f64,
    /// Its paired bootstrap 95 % interval (the architectures resampled once for both).
    pub kendall_tau_difference_ci95: [f64; 2],
    /// Kendall τ between the two supernets' inherited scores: how alike they rank.
    pub scores_kendall_tau: f64,
}

/// τ and ρ of every `probe` event of the search logs at `paths` (one per ensemble member,
/// their scores averaged) against `truth` (the probed architectures' retrained accuracies,
/// in the probe's order).
fn probe_points(paths: &[PathBuf], truth: &[f64]) -> Result<Vec<ProbePoint>> {
    use crate::search::events::{SearchEvent, read_log};
    /// One probe of the log.
    struct ProbeEvent {
        round: usize,
        epoch: usize,
        step: u64,
        accuracies: Vec<f64>,
    }
    let mut runs = Vec::with_capacity(paths.len());
    for path in paths {
        let mut events = Vec::new();
        for event in read_log(path)? {
            let SearchEvent::Probe {
                round,
                epoch,
                step,
                accuracies,
            } = event
            else {
                continue;
            };
            if accuracies.len() != truth.len() {
                return Err(ExperimentError::Config(format!(
                    "`{}`: a probe scored {} architectures, the ranking has {}",
                    path.display(),
                    accuracies.len(),
                    truth.len()
                )));
            }
            events.push(ProbeEvent {
                round,
                epoch,
                step,
                accuracies,
            });
        }
        runs.push(events);
    }
    let Some(first) = runs.first() else {
        return Ok(Vec::new());
    };
    if let Some(k) = runs.iter().position(|r| r.len() != first.len()) {
        return Err(ExperimentError::Config(format!(
            "`{}` logged {} probes, `{}` {}",
            paths[k].display(),
            runs[k].len(),
            paths[0].display(),
            first.len()
        )));
    }
    Ok((0..first.len())
        .map(|i| {
            let scores: Vec<f64> = (0..truth.len())
                .map(|a| mean(runs.iter().map(|r| r[i].accuracies[a])))
                .collect();
            ProbePoint {
                round: first[i].round,
                epoch: first[i].epoch,
                step: first[i].step,
                kendall_tau: kendall_tau(&scores, truth),
                spearman_rho: spearman_rho(&scores, truth),
                mean_score: mean(scores.iter().copied()),
            }
        })
        .collect())
}

/// The search a ranking read: its folder, configuration and final round.
pub(super) struct RankedRun {
    /// The run folder.
    pub(super) run: PathBuf,
    /// Its configuration.
    pub(super) config: SearchConfig,
    /// Its final round (from 0).
    pub(super) round: usize,
    /// The unit of its costs.
    pub(super) unit: String,
}

impl Experiment {
    /// The report of the scored `candidates` against their `retrained` accuracies (in the
    /// same order), beside the `earlier` ranking's scores when its architectures were reused.
    pub(super) fn ranking_report(
        &self,
        ranked: RankedRun,
        candidates: Vec<Candidate>,
        retrained: Vec<RetrainedArchitecture>,
        scoring: Scoring,
        earlier_scores: Option<Vec<f64>>,
    ) -> Result<RankingReport> {
        let RankedRun {
            run,
            config,
            round,
            unit,
        } = ranked;
        let Scoring {
            members,
            outside_final_subspace,
            held_out_images,
        } = scoring;
        let window = config.resource.window();
        let n = candidates.len();
        let strata = (n / STRATUM_SIZE).max(1);
        let ensemble = members.len();
        let by_member_top1: Vec<Vec<f64>> = (0..ensemble)
            .map(|k| candidates.iter().map(|c| c.scores[k].top1).collect())
            .collect();
        let by_member_loss: Vec<Vec<f64>> = (0..ensemble)
            .map(|k| candidates.iter().map(|c| -c.scores[k].loss).collect())
            .collect();
        let architectures: Vec<RankedArchitecture> = candidates
            .into_iter()
            .zip(retrained)
            .enumerate()
            .map(|(i, (c, r))| RankedArchitecture {
                text: r.text,
                architecture: c.architecture,
                cost: c.cost,
                macs: r.macs,
                params: r.params,
                stratum: i * strata / n,
                drawn_from: c.drawn_from,
                inherited: mean(c.scores.iter().map(|s| s.top1)),
                inherited_loss: mean(c.scores.iter().map(|s| s.loss)),
                member_inherited: if ensemble > 1 {
                    c.scores.iter().map(|s| s.top1).collect()
                } else {
                    Vec::new()
                },
                retrained: r.retrained,
                retrained_mean: r.retrained_mean,
            })
            .collect();
        let inherited: Vec<f64> = architectures.iter().map(|a| a.inherited).collect();
        let negated_loss: Vec<f64> = architectures.iter().map(|a| -a.inherited_loss).collect();
        let truth: Vec<f64> = architectures.iter().map(|a| a.retrained_mean).collect();
        let cost: Vec<f64> = architectures.iter().map(|a| a.cost).collect();
        let branches: Vec<f64> = architectures
            .iter()
            .map(|a| a.architecture.cells().iter().map(Vec::len).sum::<usize>() as f64)
            .collect();
        let labels: Vec<usize> = architectures.iter().map(|a| a.stratum).collect();
        let macs: Vec<f64> = architectures.iter().map(|a| a.macs as f64).collect();
        let params: Vec<f64> = architectures.iter().map(|a| a.params as f64).collect();
        let seed = self.config.search.seed;
        let b = self.config.bootstrap;
        let interval = |x: &[f64], statistic: fn(&[f64], &[f64]) -> f64, stream: u64| {
            bootstrap_95(
                x,
                &truth,
                statistic,
                b,
                &mut derive_rng(&[seed, STREAM_EXPERIMENT, stream]),
            )
        };
        let tau = interval(&inherited, kendall_tau, 2);
        let rho = interval(&inherited, spearman_rho, 3);
        let cost_tau = interval(&cost, kendall_tau, 4);
        let loss_tau = interval(&negated_loss, kendall_tau, 6);
        let compared_with_earlier = earlier_scores.map(|earlier| {
            let difference = bootstrap_95_columns(
                &[&inherited, &earlier, &truth],
                |c| kendall_tau(&c[0], &c[2]) - kendall_tau(&c[1], &c[2]),
                b,
                &mut derive_rng(&[seed, STREAM_EXPERIMENT, 5]),
            );
            RankingComparison {
                earlier_kendall_tau: kendall_tau(&earlier, &truth),
                kendall_tau_difference: difference.estimate,
                kendall_tau_difference_ci95: [difference.low, difference.high],
                scores_kendall_tau: kendall_tau(&inherited, &earlier),
            }
        });
        let by_seed: Vec<Vec<f64>> = (0..self.config.seeds)
            .map(|s| architectures.iter().map(|a| a.retrained[s]).collect())
            .collect();
        let results: Vec<Vec<f64>> = architectures.iter().map(|a| a.retrained.clone()).collect();
        let (retraining_agreement, noise, stratified_noise) = if by_seed.len() > 1 {
            (
                Some(mean_pairwise_kendall_tau(&by_seed)),
                Some(signal_to_noise(&results, None)),
                Some(signal_to_noise(&results, Some(&labels))),
            )
        } else {
            (None, None, None)
        };
        let seeds = self.config.seeds;
        let member_reports: Vec<EnsembleMember> = if ensemble > 1 {
            members
                .iter()
                .zip(by_member_top1.iter().zip(&by_member_loss))
                .map(|((run, training_seed), (top1, loss))| EnsembleMember {
                    run: run.clone(),
                    training_seed: *training_seed,
                    kendall_tau: kendall_tau(top1, &truth),
                    loss_kendall_tau: kendall_tau(loss, &truth),
                })
                .collect()
        } else {
            Vec::new()
        };
        let probe = if config.evaluation.probe.is_empty() {
            Vec::new()
        } else {
            let logs: Vec<PathBuf> = members
                .iter()
                .map(|(r, _)| crate::run_dir::RunDir::new(r).log_path())
                .collect();
            probe_points(&logs, &truth)?
        };
        let top_k = n.div_ceil(4).max(1);
        let report = RankingReport {
            kendall_tau: tau.estimate,
            spearman_rho: rho.estimate,
            kendall_tau_ci95: [tau.low, tau.high],
            spearman_rho_ci95: [rho.low, rho.high],
            loss_kendall_tau: loss_tau.estimate,
            loss_kendall_tau_ci95: [loss_tau.low, loss_tau.high],
            cost_kendall_tau: cost_tau.estimate,
            cost_kendall_tau_ci95: [cost_tau.low, cost_tau.high],
            cost_spearman_rho: spearman_rho(&cost, &truth),
            branches_kendall_tau: kendall_tau(&inherited, &branches),
            retrained_branches_kendall_tau: kendall_tau(&truth, &branches),
            partial_kendall_tau: partial_kendall_tau(&inherited, &truth, &cost),
            stratified_kendall_tau: stratified_kendall_tau(&inherited, &truth, &labels),
            strata,
            top_k,
            top_k_overlap: top_k_overlap(&inherited, &truth, top_k),
            cost_top_k_overlap: top_k_overlap(&cost, &truth, top_k),
            run,
            round: round + 1,
            window: [window.low(), window.high()],
            unit,
            held_out_images,
            candidates_from: self.config.candidates_from.clone(),
            compared_with_earlier,
            probe,
            outside_final_subspace,
            seeds: self.config.seeds,
            retraining_agreement_kendall_tau: retraining_agreement,
            ground_truth_reliability: noise.map(|n| n.reliability(seeds)),
            noise_ceiling_kendall_tau: noise.map(|n| n.ceiling_kendall_tau(seeds)),
            stratified_noise_ceiling_kendall_tau: stratified_noise
                .map(|n| n.ceiling_kendall_tau(seeds)),
            ground_truth_noise: noise,
            baselines: Some(RankingBaselines {
                macs: kendall_tau(&macs, &truth),
                params: kendall_tau(&params, &truth),
                branches: kendall_tau(&branches, &truth),
            }),
            top_gap: top_gap(&inherited, &truth, TOP_GAP_K.min(n / 4)),
            ensemble,
            member_agreement_kendall_tau: (ensemble > 1)
                .then(|| mean_pairwise_kendall_tau(&by_member_top1)),
            members: member_reports,
            wall_seconds: self.wall.seconds(),
            architectures,
        };
        Ok(report)
    }

    /// Writes `ranking.json` and `ranking.png` and reports the summary.
    pub(super) fn write_ranking(
        &self,
        report: &RankingReport,
        reporter: &mut dyn Reporter,
    ) -> Result<()> {
        self.write_report(report)?;
        let points: Vec<(f64, f64)> = report
            .architectures
            .iter()
            .map(|a| (a.inherited, a.retrained_mean))
            .collect();
        let title = format!(
            "retrained vs inherited top-1 (tau {:.2}, cost-only tau {:.2})",
            report.kendall_tau, report.cost_kendall_tau
        );
        let text = (title.as_str(), "held-out top-1 with inherited weights (%)");
        self.plot_retrained(&points, "architecture", text, "ranking.png", reporter);
        let finished = ExperimentReport::Ranking(Box::new(report.clone()));
        self.emit(reporter, ExperimentEvent::Finished(Box::new(finished)));
        Ok(())
    }
}
