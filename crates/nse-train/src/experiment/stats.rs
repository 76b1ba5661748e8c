//! Rank correlations, bootstrap intervals and two-group comparisons for the experiments.
//!
//! Every function is plain arithmetic on `f64` slices; a statistic that is undefined on its
//! input (fewer than two values, a constant variable) is `NaN`, never a panic.

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Kendall's τ-b between `x` and `y` (equal lengths): `(concordant − discordant) /
/// sqrt((n0 − ties_x)(n0 − ties_y))` over all `n0 = n(n−1)/2` pairs; ties count in neither
/// the concordant nor the discordant pairs. `NaN` when either variable is constant or there
/// are fewer than two values.
///
/// ```
/// use nse_train::experiment::stats::kendall_tau;
/// assert_eq!(kendall_tau(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), 1.0);
/// assert_eq!(kendall_tau(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
/// ```
pub fn kendall_tau(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len(), "kendall_tau: lengths differ");
    let n = x.len();
    let (mut concordant, mut discordant, mut ties_x, mut ties_y) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..n {
        for j in i + 1..n {
            let dx = x[i] - x[j];
            let dy = y[i] - y[j];
            if dx == 0.0 {
                ties_x += 1;
            }
            if dy == 0.0 {
                ties_y += 1;
            }
            let s = dx * dy;
            if s > 0.0 {
                concordant += 1;
            } else if s < 0.0 {
                discordant += 1;
            }
        }
    }
    let n0 = (n * n.saturating_sub(1) / 2) as i64;
    let denominator = (((n0 - ties_x) * (n0 - ties_y)) as f64).sqrt();
    if denominator == 0.0 {
        return f64::NAN;
    }
    (concordant - discordant) as f64 / denominator
}

/// Ranks from 1, ties given their average rank.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let average = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = average;
        }
        i = j + 1;
    }
    r
}

/// Pearson's correlation; `NaN` when either variable is constant.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len(), "pearson: lengths differ");
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    sxy / (sxx * syy).sqrt()
}

/// Spearman's ρ: Pearson's correlation of the average ranks.
///
/// ```
/// use nse_train::experiment::stats::spearman_rho;
/// assert!((spearman_rho(&[1.0, 2.0, 3.0, 4.0], &[1.0, 4.0, 9.0, 16.0]) - 1.0).abs() < 1e-12);
/// ```
pub fn spearman_rho(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

/// Kendall's partial τ of `x` and `y` given `z`:
/// `(τ_xy − τ_xz τ_yz) / sqrt((1 − τ_xz²)(1 − τ_yz²))` — how far `x` ranks `y` beyond what
/// both share with `z` (here: the cost). `NaN` when `z` ranks either perfectly.
pub fn partial_kendall_tau(x: &[f64], y: &[f64], z: &[f64]) -> f64 {
    let (xy, xz, yz) = (kendall_tau(x, y), kendall_tau(x, z), kendall_tau(y, z));
    let denominator = ((1.0 - xz * xz) * (1.0 - yz * yz)).sqrt();
    if denominator == 0.0 {
        return f64::NAN;
    }
    (xy - xz * yz) / denominator
}

/// Kendall's τ within strata: the τ-b of each group of `strata` (labels, one per value) with
/// at least two members, averaged with weights equal to their numbers of pairs. `NaN` when no
/// stratum has a defined τ.
pub fn stratified_kendall_tau(x: &[f64], y: &[f64], strata: &[usize]) -> f64 {
    let mut labels: Vec<usize> = strata.to_vec();
    labels.sort_unstable();
    labels.dedup();
    let (mut sum, mut weight) = (0.0, 0.0);
    for label in labels {
        let members: Vec<usize> = (0..x.len()).filter(|&i| strata[i] == label).collect();
        let xs: Vec<f64> = members.iter().map(|&i| x[i]).collect();
        let ys: Vec<f64> = members.iter().map(|&i| y[i]).collect();
        let tau = kendall_tau(&xs, &ys);
        if tau.is_finite() {
            let pairs = (members.len() * (members.len() - 1) / 2) as f64;
            sum += tau * pairs;
            weight += pairs;
        }
    }
    if weight == 0.0 {
        f64::NAN
    } else {
        sum / weight
    }
}

/// `|top-k of x ∩ top-k of y| / k` (largest values; ties broken by position).
pub fn top_k_overlap(x: &[f64], y: &[f64], k: usize) -> f64 {
    let top = |v: &[f64]| {
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&a, &b| v[b].total_cmp(&v[a]).then(a.cmp(&b)));
        order.truncate(k);
        order
    };
    let (tx, ty) = (top(x), top(y));
    if tx.is_empty() {
        return f64::NAN;
    }
    tx.iter().filter(|i| ty.contains(i)).count() as f64 / tx.len() as f64
}

/// The mean Kendall τ-b over every pair of `columns` (each a ranking of the same items):
/// how alike repeated measurements rank — e.g. retraining seeds, or supernets trained with
/// different seeds. `NaN` with fewer than two columns or no defined pair.
pub fn mean_pairwise_kendall_tau(columns: &[Vec<f64>]) -> f64 {
    mean_over_pairs(columns, kendall_tau)
}

/// The mean Pearson correlation over every pair of `columns`; `NaN` as
/// [`mean_pairwise_kendall_tau`].
pub fn mean_pairwise_pearson(columns: &[Vec<f64>]) -> f64 {
    mean_over_pairs(columns, pearson)
}

fn mean_over_pairs(columns: &[Vec<f64>], statistic: impl Fn(&[f64], &[f64]) -> f64) -> f64 {
    let (mut sum, mut pairs) = (0.0, 0usize);
    for i in 0..columns.len() {
        for j in i + 1..columns.len() {
            let v = statistic(&columns[i], &columns[j]);
            if v.is_finite() {
                sum += v;
                pairs += 1;
            }
        }
    }
    if pairs == 0 {
        f64::NAN
    } else {
        sum / pairs as f64
    }
}

/// The Spearman–Brown reliability of the mean of `k` repeated measurements whose pairs
/// correlate at `r` on average: `k·r / (1 + (k − 1)·r)` — the share of the mean's variance
/// across items that is signal rather than noise. A negative `r` (no shared signal) gives 0;
/// `NaN` stays `NaN`.
///
/// ```
/// use nse_train::experiment::stats::spearman_brown;
/// assert_eq!(spearman_brown(0.5, 1), 0.5);
/// assert!((spearman_brown(0.5, 3) - 0.75).abs() < 1e-12);
/// ```
pub fn spearman_brown(r: f64, k: usize) -> f64 {
    if r.is_nan() {
        return f64::NAN;
    }
    let r = r.clamp(0.0, 1.0);
    let k = k as f64;
    k * r / (1.0 + (k - 1.0) * r)
}

/// The Kendall τ that a noise-free predictor of the true values would reach against a
/// measurement of `reliability` (see [`spearman_brown`]), for bivariate-normal data: its
/// Pearson correlation with the measurement is `sqrt(reliability)`, and Greiner's relation
/// `τ = (2/π)·asin(r)` turns it into τ. The ceiling of any ranking scored against that
/// ground truth: a τ near it cannot be improved by a better supernet, only by a less noisy
/// ground truth.
///
/// ```
/// use nse_train::experiment::stats::noise_ceiling_kendall_tau;
/// assert_eq!(noise_ceiling_kendall_tau(1.0), 1.0);
/// assert_eq!(noise_ceiling_kendall_tau(0.0), 0.0);
/// ```
pub fn noise_ceiling_kendall_tau(reliability: f64) -> f64 {
    (2.0 / std::f64::consts::PI) * reliability.clamp(0.0, 1.0).sqrt().asin()
}

/// Reads an `f64` that JSON may hold as `null`: serde_json writes `NaN` (an undefined
/// statistic) as `null`, and this reads it back as `NaN`.
pub(crate) fn nullable_f64<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// How much of a ground truth's spread between architectures is signal: the variance
/// components of a one-way layout (architectures × retraining seeds), estimated by the
/// method of moments.
///
/// With `m_i` the mean of architecture `i` over its `k` seeds, the retraining noise is the
/// pooled within-architecture variance `σ²_e` (`n·(k − 1)` degrees of freedom) and the true
/// spread between architectures `σ²_a = var(m) − σ²_e / k` (floored at 0), where `var(m)` is
/// the sample variance of the means — or, [within strata](signal_to_noise), their pooled
/// variance around their stratum's mean (`n − S` degrees of freedom), which leaves out what
/// the strata (cost) explain. `ρ = σ_a / σ_e` predicts the reliability of a mean of any
/// number of seeds ([`reliability`](Self::reliability)) and with it the noise ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SignalToNoise {
    /// Architectures.
    pub architectures: usize,
    /// Retraining seeds per architecture.
    pub seeds: usize,
    /// Strata the architectures' spread was measured within (1: none).
    pub strata: usize,
    /// `σ_e`: standard deviation of one retraining around its architecture's mean.
    #[serde(deserialize_with = "nullable_f64")]
    pub retraining_sd: f64,
    /// `σ_a`: standard deviation of the architectures' true means (within strata when
    /// `strata` > 1).
    #[serde(deserialize_with = "nullable_f64")]
    pub architecture_sd: f64,
    /// `ρ = σ_a / σ_e` (`NaN` without noise or without data).
    #[serde(deserialize_with = "nullable_f64")]
    pub ratio: f64,
}

impl SignalToNoise {
    /// Reliability of the mean of `k` seeds: `k·ρ² / (1 + k·ρ²)`, the share of the means'
    /// variance across architectures that is signal.
    pub fn reliability(&self, k: usize) -> f64 {
        let (a, e) = (self.architecture_sd.powi(2), self.retraining_sd.powi(2));
        if e == 0.0 && a > 0.0 {
            return 1.0;
        }
        a / (a + e / k as f64)
    }

    /// The noise ceiling of a ground truth that averages `k` seeds:
    /// [`noise_ceiling_kendall_tau`] of [`reliability`](Self::reliability).
    pub fn ceiling_kendall_tau(&self, k: usize) -> f64 {
        let r = self.reliability(k);
        if r.is_nan() {
            return f64::NAN;
        }
        noise_ceiling_kendall_tau(r)
    }
}

/// The [`SignalToNoise`] of `results` (`[architecture][seed]`, every architecture with the
/// same number k ≥ 2 of seeds), overall (`strata` `None`) or within the strata labelled by
/// `strata` (one label per architecture). `NaN` components when there are too few
/// architectures or seeds to estimate them.
///
/// ```
/// use nse_train::experiment::stats::signal_to_noise;
/// // Seeds differ by ±0.5 around means 1, 3, 5: σ_e² = 0.5, var(m) = 4, σ_a² = 4 − 0.25.
/// let s = signal_to_noise(&[vec![0.5, 1.5], vec![2.5, 3.5], vec![4.5, 5.5]], None);
/// assert!((s.retraining_sd - 0.5f64.sqrt()).abs() < 1e-12);
/// assert!((s.architecture_sd - 3.75f64.sqrt()).abs() < 1e-12);
/// ```
pub fn signal_to_noise(results: &[Vec<f64>], strata: Option<&[usize]>) -> SignalToNoise {
    let n = results.len();
    let k = results.first().map_or(0, Vec::len);
    assert!(
        results.iter().all(|r| r.len() == k),
        "signal_to_noise: every architecture needs the same number of seeds"
    );
    let labels: Vec<usize> = match strata {
        Some(s) => {
            assert_eq!(
                s.len(),
                n,
                "signal_to_noise: one stratum label per architecture"
            );
            s.to_vec()
        }
        None => vec![0; n],
    };
    let mut distinct = labels.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let groups = distinct.len();
    let means: Vec<f64> = results
        .iter()
        .map(|r| r.iter().sum::<f64>() / k as f64)
        .collect();
    let retraining_var = if k < 2 || n == 0 {
        f64::NAN
    } else {
        results
            .iter()
            .zip(&means)
            .map(|(r, m)| r.iter().map(|v| (v - m).powi(2)).sum::<f64>())
            .sum::<f64>()
            / (n * (k - 1)) as f64
    };
    let between_var = if n <= groups {
        f64::NAN
    } else {
        let squares: f64 = distinct
            .iter()
            .map(|&g| {
                let members: Vec<f64> = (0..n)
                    .filter(|&i| labels[i] == g)
                    .map(|i| means[i])
                    .collect();
                let centre = members.iter().sum::<f64>() / members.len() as f64;
                members.iter().map(|m| (m - centre).powi(2)).sum::<f64>()
            })
            .sum();
        squares / (n - groups) as f64
    };
    let architecture_var = (between_var - retraining_var / k as f64).max(0.0);
    let (retraining_sd, architecture_sd) = (retraining_var.sqrt(), architecture_var.sqrt());
    let architecture_sd = if between_var.is_nan() || retraining_var.is_nan() {
        f64::NAN
    } else {
        architecture_sd
    };
    SignalToNoise {
        architectures: n,
        seeds: k,
        strata: groups,
        retraining_sd,
        architecture_sd,
        ratio: if retraining_sd > 0.0 {
            architecture_sd / retraining_sd
        } else {
            f64::NAN
        },
    }
}

/// A point estimate with a confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The estimate on the full sample.
    pub estimate: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// The percentile bootstrap 95 % interval of a paired statistic: `resamples` resamples of the
/// indices with replacement, the statistic recomputed on each (undefined ones skipped), the
/// 2.5th and 97.5th percentiles.
pub fn bootstrap_95<R: Rng + ?Sized>(
    x: &[f64],
    y: &[f64],
    statistic: impl Fn(&[f64], &[f64]) -> f64,
    resamples: usize,
    rng: &mut R,
) -> Interval {
    assert_eq!(x.len(), y.len(), "bootstrap_95: lengths differ");
    bootstrap_95_columns(&[x, y], |c| statistic(&c[0], &c[1]), resamples, rng)
}

/// [`bootstrap_95`] of a statistic of any number of equally long columns, whose rows are
/// resampled together — e.g. the difference of two supernets' τ against one ground truth,
/// with the architectures resampled once for both.
pub fn bootstrap_95_columns<R: Rng + ?Sized>(
    columns: &[&[f64]],
    statistic: impl Fn(&[Vec<f64>]) -> f64,
    resamples: usize,
    rng: &mut R,
) -> Interval {
    let n = columns.first().map_or(0, |c| c.len());
    assert!(
        columns.iter().all(|c| c.len() == n),
        "bootstrap_95_columns: lengths differ"
    );
    let full: Vec<Vec<f64>> = columns.iter().map(|c| c.to_vec()).collect();
    let estimate = statistic(&full);
    let mut values = Vec::with_capacity(resamples);
    let mut resampled = vec![vec![0.0; n]; columns.len()];
    if n > 0 {
        for _ in 0..resamples {
            for k in 0..n {
                let i = rng.random_range(0..n);
                for (column, out) in columns.iter().zip(resampled.iter_mut()) {
                    out[k] = column[i];
                }
            }
            let v = statistic(&resampled);
            if v.is_finite() {
                values.push(v);
            }
        }
    }
    if values.is_empty() {
        return Interval {
            estimate,
            low: f64::NAN,
            high: f64::NAN,
        };
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((q * (values.len() - 1) as f64).round()) as usize];
    Interval {
        estimate,
        low: at(0.025),
        high: at(0.975),
    }
}

/// What one sample of a group comparison is, named in every report that compares groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatisticalUnit {
    /// An architecture: the mean of its retraining seeds.
    Architecture,
    /// A search: one value per search run (its front's best, its τ, …).
    Search,
}

/// Mean, sample standard deviation and standard error of a group of results.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Values.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (`n − 1`; `NaN` for one value).
    pub sd: f64,
    /// Standard error of the mean, `sd / sqrt(n)`.
    pub sem: f64,
}

/// The [`Summary`] of `values`.
pub fn summary(values: &[f64]) -> Summary {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let sd = if n < 2 {
        f64::NAN
    } else {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    };
    Summary {
        n,
        mean,
        sd,
        sem: sd / (n as f64).sqrt(),
    }
}

/// The difference of two group means with its (Welch) standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// `mean(a) − mean(b)`.
    pub difference: f64,
    /// `sqrt(sem(a)² + sem(b)²)`.
    pub standard_error: f64,
    /// `difference / standard_error` (Welch's t statistic).
    pub z: f64,
    /// Welch–Satterthwaite degrees of freedom of that statistic.
    #[serde(default = "infinite", deserialize_with = "nullable_f64")]
    pub degrees_of_freedom: f64,
    /// 95 % interval `difference ± t · standard_error`, with `t` the 97.5 % quantile of
    /// Student's t with [`degrees_of_freedom`](Self::degrees_of_freedom) (1.96 for many
    /// samples, 2.78 for 4 degrees of freedom: small groups get honest intervals).
    pub ci95: [f64; 2],
}

fn infinite() -> f64 {
    f64::INFINITY
}

/// `mean(a) − mean(b)` with its Welch standard error and a Student-t 95 % interval on the
/// Welch–Satterthwaite degrees of freedom (each group needs two values).
pub fn difference(a: &Summary, b: &Summary) -> Difference {
    let (va, vb) = (a.sem * a.sem, b.sem * b.sem);
    let se = (va + vb).sqrt();
    let d = a.mean - b.mean;
    let df = (va + vb).powi(2) / (va * va / (a.n as f64 - 1.0) + vb * vb / (b.n as f64 - 1.0));
    let t = if df.is_finite() && df > 0.0 {
        student_t_quantile(0.975, df)
    } else {
        1.96
    };
    Difference {
        difference: d,
        standard_error: se,
        z: d / se,
        degrees_of_freedom: df,
        ci95: [d - t * se, d + t * se],
    }
}

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, 9 terms; relative error below 1e-13).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let sum = G[1..]
        .iter()
        .enumerate()
        .fold(G[0], |acc, (i, g)| acc + g / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularized incomplete beta function `I_x(a, b)` (continued fraction, Lentz).
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    // The continued fraction converges fast for x < (a + 1) / (a + b + 2).
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - incomplete_beta(b, a, 1.0 - x);
    }
    let tiny = 1e-300;
    let (mut c, mut d) = (1.0, 1.0 - (a + b) * x / (a + 1.0));
    d = if d.abs() < tiny { tiny } else { d };
    d = 1.0 / d;
    let mut f = d;
    for m in 1..300 {
        let m = f64::from(m);
        for numerator in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + numerator * d;
            d = if d.abs() < tiny { tiny } else { d };
            c = 1.0 + numerator / c;
            c = if c.abs() < tiny { tiny } else { c };
            d = 1.0 / d;
            f *= c * d;
        }
        if (c * d - 1.0).abs() < 1e-15 {
            break;
        }
    }
    front * f / a
}

/// `P(T ≤ t)` for Student's t with `df` degrees of freedom (`df` > 0, not necessarily whole).
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// The `p` quantile of Student's t with `df` degrees of freedom, by bisection on
/// [`student_t_cdf`] (`p` in (0, 1)).
///
/// ```
/// use nse_train::experiment::stats::student_t_quantile;
/// assert!((student_t_quantile(0.975, 4.0) - 2.776).abs() < 1e-3);
/// assert!((student_t_quantile(0.975, 1e6) - 1.960).abs() < 1e-3);
/// ```
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -student_t_quantile(1.0 - p, df);
    }
    let (mut low, mut high) = (0.0f64, 1.0f64);
    while student_t_cdf(high, df) < p && high < 1e12 {
        high *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if student_t_cdf(mid, df) < p {
            low = mid;
        } else {
            high = mid;
        }
    }
    0.5 * (low + high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn kendall_tau_b_counts_pairs_and_ties() {
        // Hand count: x = 1 2 3 4, y = 1 3 2 4: 5 concordant, 1 discordant pair → 4/6.
        let t = kendall_tau(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 4.0]);
        assert!((t - 4.0 / 6.0).abs() < 1e-12, "{t}");
        // With a tie in x: pairs (1,2) tied; n0 = 3, ties_x = 1, ties_y = 0;
        // concordant: (1,3), (2,3) → 2/sqrt(2·3).
        let t = kendall_tau(&[1.0, 1.0, 2.0], &[1.0, 2.0, 3.0]);
        assert!((t - 2.0 / 6f64.sqrt()).abs() < 1e-12, "{t}");
        assert!(kendall_tau(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
        assert!(kendall_tau(&[1.0], &[1.0]).is_nan());
    }

    #[test]
    fn spearman_uses_average_ranks() {
        assert_eq!(ranks(&[10.0, 30.0, 20.0, 20.0]), vec![1.0, 4.0, 2.5, 2.5]);
        // 1 − 6 Σd² / (n(n²−1)) without ties: d = (0, 1, −1, 0) → 1 − 12/60 = 0.8.
        let r = spearman_rho(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 4.0]);
        assert!((r - 0.8).abs() < 1e-12, "{r}");
    }

    #[test]
    fn partial_tau_removes_what_the_cost_explains() {
        // y is the cost exactly; x follows the cost too: given the cost, nothing is left.
        let z = [1.0, 2.0, 3.0, 4.0, 5.0];
        let x = [1.0, 2.0, 3.0, 5.0, 4.0];
        let y = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!(
            partial_kendall_tau(&x, &y, &z).is_nan(),
            "z ranks y perfectly"
        );
        // x ranks y where z does not: partial τ stays close to τ.
        let x = [5.0, 1.0, 4.0, 2.0, 3.0];
        let y = [5.0, 1.0, 4.0, 2.0, 3.0];
        let z = [3.0, 5.0, 1.0, 2.0, 4.0];
        let p = partial_kendall_tau(&x, &y, &z);
        assert!((p - 1.0).abs() < 1e-12, "{p}");
    }

    #[test]
    fn strata_and_top_k() {
        // Within each stratum the order agrees; across strata it is reversed.
        let x = [1.0, 2.0, 10.0, 11.0];
        let y = [11.0, 12.0, 1.0, 2.0];
        assert!(kendall_tau(&x, &y) < 0.0);
        assert_eq!(stratified_kendall_tau(&x, &y, &[0, 0, 1, 1]), 1.0);
        assert_eq!(top_k_overlap(&x, &y, 2), 0.0);
        assert_eq!(top_k_overlap(&x, &x, 2), 1.0);
    }

    #[test]
    fn bootstrap_interval_brackets_the_estimate() {
        let x: Vec<f64> = (0..30).map(f64::from).collect();
        let y: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, v)| v + if i % 3 == 0 { 8.0 } else { 0.0 })
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let ci = bootstrap_95(&x, &y, kendall_tau, 500, &mut rng);
        assert!(ci.low <= ci.estimate && ci.estimate <= ci.high, "{ci:?}");
        assert!(ci.low > 0.3 && ci.high <= 1.0 && ci.high > ci.low, "{ci:?}");
    }

    #[test]
    fn paired_bootstrap_resamples_rows_together() {
        let truth: Vec<f64> = (0..25).map(f64::from).collect();
        let noisy: Vec<f64> = truth
            .iter()
            .enumerate()
            .map(|(i, v)| v + if i % 2 == 0 { 6.0 } else { -6.0 })
            .collect();
        let diff = |c: &[Vec<f64>]| kendall_tau(&c[0], &c[2]) - kendall_tau(&c[1], &c[2]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let ci = bootstrap_95_columns(&[&truth, &noisy, &truth], diff, 500, &mut rng);
        assert!(
            ci.estimate > 0.0 && ci.low > 0.0,
            "perfect beats noisy: {ci:?}"
        );
        // A column against itself differs by exactly 0 in every resample only when rows
        // move together.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let same = bootstrap_95_columns(&[&noisy, &noisy, &truth], diff, 200, &mut rng);
        assert_eq!((same.low, same.estimate, same.high), (0.0, 0.0, 0.0));
        // Two columns give what bootstrap_95 gives from the same generator.
        let mut a = ChaCha8Rng::seed_from_u64(2);
        let mut b = ChaCha8Rng::seed_from_u64(2);
        assert_eq!(
            bootstrap_95(&noisy, &truth, kendall_tau, 300, &mut a),
            bootstrap_95_columns(
                &[&noisy, &truth],
                |c| kendall_tau(&c[0], &c[1]),
                300,
                &mut b
            )
        );
    }

    #[test]
    fn pairwise_agreement_reliability_and_ceiling() {
        let a = vec![1.0, 2.0, 3.0, 4.0];
        let b = vec![1.0, 3.0, 2.0, 4.0];
        let c = vec![4.0, 3.0, 2.0, 1.0];
        // Pairs: τ(a,b) = 4/6, τ(a,c) = −1, τ(b,c) = −4/6 → mean −1/3.
        let t = mean_pairwise_kendall_tau(&[a.clone(), b.clone(), c.clone()]);
        assert!((t + 1.0 / 3.0).abs() < 1e-12, "{t}");
        assert!(mean_pairwise_kendall_tau(std::slice::from_ref(&a)).is_nan());
        assert!((mean_pairwise_pearson(&[a.clone(), c]) + 1.0).abs() < 1e-12);
        assert!((mean_pairwise_pearson(&[a.clone(), a]) - 1.0).abs() < 1e-12);
        // Averaging more seeds raises the reliability towards 1; no signal stays 0.
        assert!((spearman_brown(0.2, 4) - 0.8 / 1.6).abs() < 1e-12);
        assert_eq!(spearman_brown(-0.3, 5), 0.0);
        assert!(spearman_brown(f64::NAN, 2).is_nan());
        // A ground truth half signal, half noise: r = sqrt(0.5), τ = (2/π)·(π/4) = 0.5.
        assert!((noise_ceiling_kendall_tau(0.5) - 0.5).abs() < 1e-12);
        assert!(noise_ceiling_kendall_tau(0.3) < noise_ceiling_kendall_tau(0.6));
    }

    #[test]
    fn signal_to_noise_separates_spread_from_noise() {
        // Means 0, 2, 4, 6 with seeds ±1 around them: σ_e² = 2 (each pair's variance),
        // var(m) = 20/3, σ_a² = 20/3 − 1.
        let results = vec![
            vec![-1.0, 1.0],
            vec![1.0, 3.0],
            vec![3.0, 5.0],
            vec![5.0, 7.0],
        ];
        let s = signal_to_noise(&results, None);
        assert_eq!((s.architectures, s.seeds, s.strata), (4, 2, 1));
        assert!((s.retraining_sd - 2f64.sqrt()).abs() < 1e-12, "{s:?}");
        assert!((s.architecture_sd - (20.0f64 / 3.0 - 1.0).sqrt()).abs() < 1e-12);
        let rho2: f64 = (20.0 / 3.0 - 1.0) / 2.0;
        assert!((s.ratio - rho2.sqrt()).abs() < 1e-12);
        assert!((s.reliability(2) - 2.0 * rho2 / (1.0 + 2.0 * rho2)).abs() < 1e-12);
        assert!(s.reliability(4) > s.reliability(2) && s.reliability(2) > s.reliability(1));
        assert!(
            (s.ceiling_kendall_tau(2) - noise_ceiling_kendall_tau(s.reliability(2))).abs() < 1e-12
        );
        // Within strata {0, 2} and {4, 6}: the means spread by 1 around their centres,
        // var = 4 · 1 / (4 − 2) = 2, σ_a² = 2 − 1 = 1.
        let within = signal_to_noise(&results, Some(&[0, 0, 1, 1]));
        assert_eq!(within.strata, 2);
        assert!((within.architecture_sd - 1.0).abs() < 1e-12, "{within:?}");
        assert!(within.ceiling_kendall_tau(2) < s.ceiling_kendall_tau(2));
        // Means that spread less than their noise: no signal, ceiling 0.
        let noise = vec![vec![0.0, 2.0], vec![2.0, 0.0], vec![1.0, 1.2]];
        let s = signal_to_noise(&noise, None);
        assert_eq!(s.architecture_sd, 0.0);
        assert_eq!(s.ceiling_kendall_tau(2), 0.0);
        // One seed, or one architecture per stratum: nothing to estimate.
        assert!(
            signal_to_noise(&[vec![1.0], vec![2.0]], None)
                .retraining_sd
                .is_nan()
        );
        let one_each = signal_to_noise(&results, Some(&[0, 1, 2, 3]));
        assert!(one_each.architecture_sd.is_nan() && one_each.ceiling_kendall_tau(2).is_nan());
        // Identical seeds: all of the spread is signal.
        let exact = signal_to_noise(&[vec![1.0, 1.0], vec![2.0, 2.0]], None);
        assert_eq!(exact.reliability(2), 1.0);
    }

    #[test]
    fn student_t_quantiles_match_the_tables() {
        for (df, t) in [
            (1.0, 12.706),
            (2.0, 4.303),
            (3.0, 3.182),
            (5.0, 2.571),
            (10.0, 2.228),
            (30.0, 2.042),
            (1000.0, 1.962),
        ] {
            let q = student_t_quantile(0.975, df);
            assert!((q - t).abs() < 1e-3, "df {df}: {q} against {t}");
        }
        assert!((student_t_quantile(0.95, 7.0) - 1.895).abs() < 1e-3);
        assert!((student_t_quantile(0.025, 5.0) + 2.571).abs() < 1e-3);
        // Fractional degrees of freedom lie between their neighbours.
        let q = student_t_quantile(0.975, 4.5);
        assert!(q < student_t_quantile(0.975, 4.0) && q > student_t_quantile(0.975, 5.0));
        assert!((student_t_cdf(0.0, 3.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn welch_difference() {
        let a = summary(&[1.0, 2.0, 3.0]);
        assert_eq!((a.n, a.mean, a.sd), (3, 2.0, 1.0));
        let b = summary(&[0.0, 1.0, 2.0]);
        let d = difference(&a, &b);
        let se = (2.0f64 / 3.0).sqrt();
        assert!((d.difference - 1.0).abs() < 1e-12 && (d.standard_error - se).abs() < 1e-12);
        // Equal variances and sizes: Welch's df is 2(n − 1) = 4, t(0.975, 4) = 2.776.
        assert!((d.degrees_of_freedom - 4.0).abs() < 1e-12);
        let t = student_t_quantile(0.975, 4.0);
        assert!((d.ci95[0] - (1.0 - t * se)).abs() < 1e-12);
        assert!((t - 2.776).abs() < 1e-3);
    }
}
