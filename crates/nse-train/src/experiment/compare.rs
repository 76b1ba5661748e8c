//! `compare`: does a change to the supernet move τ, measured over several supernets per side?
//!
//! One supernet's τ varies with its training seed by about ±0.07 (`docs/experiments.md`
//! §8), so a change is measured as the difference of the **mean** τ of a variant's
//! supernets and the mean τ of the base supernets, every one of them scoring the same
//! architectures against the same ground truth (rankings made with `--candidates-from` one
//! ground truth). Its interval comes from a paired bootstrap: the architectures are
//! resampled, the same resample for every supernet of both sides.
//!
//! A column scores by held-out top-1 (the reference's score, the default) or, with the
//! suffix `@loss`, by the held-out loss (lower is better: the column holds its negation,
//! so that a positive τ means the same for both); so `--base runs/a#0 --variant runs/a#0@loss`
//! measures the loss against top-1 on the same supernet.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use nse_space::Architecture;

use super::error::{ExperimentError, Result};
use super::stats::{Interval, bootstrap_95_columns, kendall_tau};
use super::{STREAM_EXPERIMENT, read_json};
use crate::data::rng::derive_rng;

/// Which of a supernet's held-out numbers ranks the architectures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Score {
    /// Held-out top-1 after BN recalibration (the reference's score).
    #[default]
    Top1,
    /// Held-out cross-entropy loss (ranked lowest first).
    Loss,
}

impl Score {
    /// `top1` or `loss`: the suffix after `@` in a column's name.
    pub fn name(self) -> &'static str {
        match self {
            Score::Top1 => "top1",
            Score::Loss => "loss",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Score::Top1, Score::Loss]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// One supernet's scores of the architectures of a ranking: the ranking's `inherited`
/// column (the mean of its ensemble), or one ensemble member's, by top-1 or by loss.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreColumn {
    /// The ranking's folder.
    pub run: PathBuf,
    /// The ensemble member (from 0), or `None` for the ranking's own score.
    pub member: Option<usize>,
    /// What ranks: top-1, or the loss (the scores are then its negation).
    pub score: Score,
    architectures: Vec<Architecture>,
    scores: Vec<f64>,
    truth: Vec<f64>,
}

/// What [`ScoreColumn::read`] takes of a `ranking.json`.
#[derive(Deserialize)]
struct RankingFile {
    architectures: Vec<RankingEntry>,
}

#[derive(Deserialize)]
struct RankingEntry {
    architecture: Architecture,
    inherited: f64,
    #[serde(default)]
    inherited_loss: Option<f64>,
    #[serde(default)]
    member_inherited: Vec<f64>,
    retrained_mean: f64,
}

/// What [`ScoreColumn::read`] takes of a ranking's `candidates.json`: every supernet's
/// held-out numbers of each architecture.
#[derive(Deserialize)]
struct CandidateEntry {
    architecture: Architecture,
    scores: Vec<HeldOutScore>,
}

#[derive(Deserialize)]
struct HeldOutScore {
    loss: f64,
}

impl ScoreColumn {
    /// The column `spec` names: a ranking experiment's folder (`runs/a`, its `inherited`
    /// scores) or a folder and an ensemble member (`runs/a#2`, member 2's scores), either
    /// followed by `@loss` for the held-out loss (or `@top1`, the default).
    pub fn read(spec: &str) -> Result<Self> {
        let (spec_dir, score) = match spec.rsplit_once('@') {
            Some((rest, name)) => match Score::from_name(name) {
                Some(score) => (rest, score),
                None => {
                    return Err(ExperimentError::Config(format!(
                        "`{spec}`: the score after `@` must be `top1` or `loss`"
                    )));
                }
            },
            None => (spec, Score::Top1),
        };
        let (dir, member) = match spec_dir.rsplit_once('#') {
            Some((dir, k)) => {
                let k: usize = k.parse().map_err(|_| {
                    ExperimentError::Config(format!(
                        "`{spec}`: the member after `#` must be a number"
                    ))
                })?;
                (dir, Some(k))
            }
            None => (spec_dir, None),
        };
        let run = PathBuf::from(dir);
        let file: RankingFile = read_json(&run.join(super::ExperimentKind::Ranking.report_file()))?;
        let scores = match score {
            Score::Top1 => top1_scores(spec, &file, member)?,
            Score::Loss => negated_losses(spec, &run, &file, member)?,
        };
        Ok(ScoreColumn {
            member,
            score,
            architectures: file
                .architectures
                .iter()
                .map(|a| a.architecture.clone())
                .collect(),
            truth: file
                .architectures
                .iter()
                .map(|a| a.retrained_mean)
                .collect(),
            scores,
            run,
        })
    }

    /// Its name as [`read`](Self::read) takes it.
    pub fn name(&self) -> String {
        let member = self.member.map(|k| format!("#{k}")).unwrap_or_default();
        let score = match self.score {
            Score::Top1 => String::new(),
            other => format!("@{}", other.name()),
        };
        format!("{}{member}{score}", self.run.display())
    }

    /// Kendall τ of its scores against its ground truth.
    pub fn kendall_tau(&self) -> f64 {
        kendall_tau(&self.scores, &self.truth)
    }
}

/// The error of a column `spec` naming member `k` of a ranking of `members` supernets.
fn no_member(spec: &str, members: usize, k: usize) -> ExperimentError {
    ExperimentError::Config(format!(
        "`{spec}`: the ranking has {members} ensemble members, no member {k}"
    ))
}

/// The ranking's top-1 scores (`member`'s, or the ensemble's mean).
fn top1_scores(spec: &str, file: &RankingFile, member: Option<usize>) -> Result<Vec<f64>> {
    file.architectures
        .iter()
        .map(|a| match member {
            None => Ok(a.inherited),
            Some(k) => a
                .member_inherited
                .get(k)
                .copied()
                .ok_or_else(|| no_member(spec, a.member_inherited.len(), k)),
        })
        .collect()
}

/// The negated held-out losses of the ranking's architectures, in its order: the
/// ensemble's mean from `ranking.json`, a member's from `candidates.json`.
fn negated_losses(
    spec: &str,
    run: &Path,
    file: &RankingFile,
    member: Option<usize>,
) -> Result<Vec<f64>> {
    let no_loss = || {
        ExperimentError::Config(format!(
            "`{spec}`: the ranking holds no held-out loss (made by an older version)"
        ))
    };
    let Some(k) = member else {
        return file
            .architectures
            .iter()
            .map(|a| a.inherited_loss.map(|l| -l).ok_or_else(no_loss))
            .collect();
    };
    let candidates: Vec<CandidateEntry> = read_json(&run.join(super::CANDIDATES_FILE))?;
    file.architectures
        .iter()
        .map(|a| {
            let scores = &candidates
                .iter()
                .find(|c| c.architecture == a.architecture)
                .ok_or_else(no_loss)?
                .scores;
            let score = scores
                .get(k)
                .ok_or_else(|| no_member(spec, scores.len(), k))?;
            Ok(-score.loss)
        })
        .collect()
}

/// One supernet's τ in a [`RankingDifference`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnTau {
    /// The column ([`ScoreColumn::name`]).
    pub column: String,
    /// Its Kendall τ against the ground truth.
    pub kendall_tau: f64,
}

/// The mean τ of a variant's supernets against the base's, on the same architectures and
/// ground truth (`compare.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankingDifference {
    /// Architectures scored by every supernet.
    pub architectures: usize,
    /// Each base supernet's τ.
    pub base: Vec<ColumnTau>,
    /// Each variant supernet's τ.
    pub variant: Vec<ColumnTau>,
    /// Mean τ of the base.
    pub base_mean_kendall_tau: f64,
    /// Mean τ of the variant.
    pub variant_mean_kendall_tau: f64,
    /// Variant minus base, with its paired-bootstrap 95 % interval (the architectures
    /// resampled, the same resample for every supernet).
    pub difference: Interval,
    /// Bootstrap resamples.
    pub resamples: usize,
}

impl RankingDifference {
    /// One line: the two means and the difference with its interval.
    pub fn summary(&self) -> String {
        format!(
            "over {} architectures: variant mean tau {:.3} ({} supernets) against base {:.3} \
             ({} supernets): difference {:+.3} (paired 95 % CI {:+.3} to {:+.3})",
            self.architectures,
            self.variant_mean_kendall_tau,
            self.variant.len(),
            self.base_mean_kendall_tau,
            self.base.len(),
            self.difference.estimate,
            self.difference.low,
            self.difference.high
        )
    }
}

/// The mean τ of `variant` minus that of `base` (see the [module docs](self)), with a paired
/// bootstrap of `resamples` resamples seeded by `seed`. Every column must score the same
/// architectures, in the same order, against the same ground truth.
pub fn compare_rankings(
    base: &[ScoreColumn],
    variant: &[ScoreColumn],
    resamples: usize,
    seed: u64,
) -> Result<RankingDifference> {
    let first = base.first().or(variant.first()).ok_or_else(|| {
        ExperimentError::Config("compare: give at least one base and one variant".into())
    })?;
    if base.is_empty() || variant.is_empty() {
        return Err(ExperimentError::Config(
            "compare: give at least one base and one variant ranking".into(),
        ));
    }
    if resamples == 0 {
        return Err(ExperimentError::Config(
            "compare: `bootstrap` must be at least 1".into(),
        ));
    }
    for column in base.iter().chain(variant) {
        if column.architectures != first.architectures {
            return Err(ExperimentError::Config(format!(
                "compare: `{}` scores other architectures than `{}` (rank them with \
                 --candidates-from the same ground truth)",
                column.name(),
                first.name()
            )));
        }
        if column.truth != first.truth {
            return Err(ExperimentError::Config(format!(
                "compare: `{}` has another ground truth than `{}`",
                column.name(),
                first.name()
            )));
        }
    }
    let mut columns: Vec<&[f64]> = vec![&first.truth];
    columns.extend(base.iter().map(|c| c.scores.as_slice()));
    columns.extend(variant.iter().map(|c| c.scores.as_slice()));
    let b = base.len();
    let mean_tau = |c: &[Vec<f64>], range: std::ops::Range<usize>| {
        let n = range.len() as f64;
        range.map(|i| kendall_tau(&c[i], &c[0])).sum::<f64>() / n
    };
    let difference = bootstrap_95_columns(
        &columns,
        |c| mean_tau(c, 1 + b..c.len()) - mean_tau(c, 1..1 + b),
        resamples,
        &mut derive_rng(&[seed, STREAM_EXPERIMENT, 30]),
    );
    let taus = |side: &[ScoreColumn]| -> Vec<ColumnTau> {
        side.iter()
            .map(|c| ColumnTau {
                column: c.name(),
                kendall_tau: c.kendall_tau(),
            })
            .collect()
    };
    let (base, variant) = (taus(base), taus(variant));
    let mean =
        |side: &[ColumnTau]| side.iter().map(|c| c.kendall_tau).sum::<f64>() / side.len() as f64;
    Ok(RankingDifference {
        architectures: first.architectures.len(),
        base_mean_kendall_tau: mean(&base),
        variant_mean_kendall_tau: mean(&variant),
        base,
        variant,
        difference,
        resamples,
    })
}

/// Reads the columns named by `specs` ([`ScoreColumn::read`]).
pub fn read_columns(specs: &[impl AsRef<str>]) -> Result<Vec<ScoreColumn>> {
    specs
        .iter()
        .map(|s| ScoreColumn::read(s.as_ref()))
        .collect()
}

/// Writes `difference` as JSON to `path`, whole or not at all.
pub fn write_difference(path: &Path, difference: &RankingDifference) -> Result<()> {
    Ok(crate::run_dir::write_json(path, difference)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, member: Option<usize>, scores: &[f64], truth: &[f64]) -> ScoreColumn {
        ScoreColumn {
            run: PathBuf::from(name),
            member,
            score: Score::Top1,
            architectures: (0..truth.len())
                .map(|i| Architecture::new(vec![vec![i]]).unwrap())
                .collect(),
            scores: scores.to_vec(),
            truth: truth.to_vec(),
        }
    }

    #[test]
    fn a_loss_column_is_the_negated_loss_in_the_rankings_order() {
        let dir = std::env::temp_dir().join(format!("nse-compare-loss-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let arch = |i: usize| serde_json::to_value(Architecture::new(vec![vec![i]]).unwrap());
        let ranking = serde_json::json!({ "architectures": [
            { "architecture": arch(0).unwrap(), "inherited": 50.0, "inherited_loss": 1.5,
              "member_inherited": [49.0, 51.0], "retrained_mean": 62.0 },
            { "architecture": arch(1).unwrap(), "inherited": 40.0, "inherited_loss": 2.5,
              "member_inherited": [41.0, 39.0], "retrained_mean": 61.0 },
        ]});
        // candidates.json in another order than ranking.json: matched by architecture.
        let candidates = serde_json::json!([
            { "architecture": arch(1).unwrap(), "scores": [
                { "top1": 41.0, "loss": 2.4 }, { "top1": 39.0, "loss": 2.6 } ] },
            { "architecture": arch(0).unwrap(), "scores": [
                { "top1": 49.0, "loss": 1.7 }, { "top1": 51.0, "loss": 1.3 } ] },
        ]);
        std::fs::write(dir.join("ranking.json"), ranking.to_string()).unwrap();
        std::fs::write(dir.join("candidates.json"), candidates.to_string()).unwrap();
        let spec = |suffix: &str| format!("{}{suffix}", dir.display());

        let top1 = ScoreColumn::read(&spec("#1")).unwrap();
        assert_eq!(
            (top1.scores.clone(), top1.score),
            (vec![51.0, 39.0], Score::Top1)
        );
        let mean = ScoreColumn::read(&spec("@loss")).unwrap();
        assert_eq!(mean.scores, vec![-1.5, -2.5]);
        let member = ScoreColumn::read(&spec("#1@loss")).unwrap();
        assert_eq!(member.scores, vec![-1.3, -2.6]);
        assert_eq!(member.name(), spec("#1@loss"), "the name reads back");
        assert_eq!(ScoreColumn::read(&member.name()).unwrap(), member);
        // The lower loss belongs to the better retrained architecture: τ is +1, not −1.
        assert_eq!((member.kendall_tau(), mean.kendall_tau()), (1.0, 1.0));

        let err = ScoreColumn::read(&spec("#2@loss")).unwrap_err();
        assert!(err.to_string().contains("no member 2"), "{err}");
        let err = ScoreColumn::read(&spec("@accuracy")).unwrap_err();
        assert!(err.to_string().contains("`top1` or `loss`"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_difference_of_mean_taus_with_a_paired_interval() {
        let truth: Vec<f64> = (0..20).map(f64::from).collect();
        // Base supernets: noisy; variants: the truth itself and a near copy.
        let noisy = |shift: usize| -> Vec<f64> {
            truth
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v + if (i + shift).is_multiple_of(3) {
                        9.0
                    } else {
                        -4.0
                    }
                })
                .collect()
        };
        let base = vec![
            column("b1", None, &noisy(0), &truth),
            column("b2", Some(1), &noisy(1), &truth),
        ];
        let variant = vec![column("v", None, &truth, &truth)];
        let d = compare_rankings(&base, &variant, 500, 3).unwrap();
        let expected = 1.0 - (base[0].kendall_tau() + base[1].kendall_tau()) / 2.0;
        assert!((d.difference.estimate - expected).abs() < 1e-12, "{d:?}");
        assert!(
            d.difference.low > 0.0,
            "a perfect ranker beats noise: {d:?}"
        );
        assert_eq!(d.variant_mean_kendall_tau, 1.0);
        assert_eq!(d.base[1].column, "b2#1");
        // A side against itself differs by 0 in every resample.
        let same = compare_rankings(&base, &base, 200, 3).unwrap();
        assert_eq!(
            (same.difference.low, same.difference.high),
            (0.0, 0.0),
            "paired"
        );
        // Other architectures or another truth are refused.
        let mut other = column("o", None, &truth, &truth);
        other.truth[0] = -1.0;
        let err = compare_rankings(&base, &[other], 10, 0).unwrap_err();
        assert!(err.to_string().contains("another ground truth"), "{err}");
        let short = column("s", None, &truth[..5], &truth[..5]);
        let err = compare_rankings(&base, &[short], 10, 0).unwrap_err();
        assert!(err.to_string().contains("other architectures"), "{err}");
        assert!(compare_rankings(&base, &[], 10, 0).is_err());
    }
}
