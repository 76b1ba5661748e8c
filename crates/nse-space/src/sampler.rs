//! Samplers over a [`SubSpace`] (docs/method.md §6, §7), all driven by a random generator the
//! caller passes in, so that identical seeds give identical sequences:
//!
//! - [`SubSpace::sample_uniform`]: the weight step's multi-branch sampler, each sub-space op
//!   on with probability 0.5;
//! - [`SubSpace::sample_bernoulli`]: independent Bernoulli branches with
//!   `p_i = sigmoid(α_i) · 0.999 + 0.0005` ([`branch_probability`]);
//! - [`SubSpace::sample_two_paths`]: the indicator step's two distinct branch sets per cell
//!   with their joint probabilities ([`PathPair`]);
//! - [`WindowSampler`]: `n` distinct architectures inside a resource window plus `n_extra` in
//!   the band just below it (§7.1).
//!
//! # The distribution `D` of a cell
//!
//! With `S` the cell's sub-space and `p_i` the probability of op `i`, a branch set `A ⊆ S`
//! has the *joint probability*
//!
//! ```text
//! P(A) = Π_{i∈A} p_i · Π_{i∈S∖A} (1 − p_i)
//! ```
//!
//! (the empty product is 1). In a residual cell the samplers draw `A` with probability
//! `D(A) = P(A)`. A non-residual cell must not be empty, so there they draw from `D`
//! conditioned on `A ≠ ∅`: `D(A) = P(A) / (1 − P(∅))` for `A ≠ ∅`. This is exactly the
//! distribution of "resample the cell while it got nothing"; the samplers obtain it without
//! rejection by drawing the first switched-on op from its conditional distribution, then the
//! later ops independently. Ops outside the sub-space are never on, whatever their α.
//!
//! A space with `max_branches = m` ([`SpaceSpec::max_branches`](crate::SpaceSpec::max_branches))
//! conditions `D` further on `|A| ≤ m` in every sampler: `D(A) ∝ P(A)` over the allowed sets
//! (`m = 1`: a single-path space, one op per cell). The joint probabilities `P_s`, `P_u` of
//! the two-path estimator stay unconditioned, since the constant cancels in `q_s`.

use std::collections::HashSet;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::cost_model::CostTable;

use crate::architecture::Architecture;
use crate::error::{Result, SpaceError};
use crate::evolution::check_alphas;
use crate::space::SearchSpace;
use crate::subspace::SubSpace;

/// Scale of the sigmoid in [`branch_probability`].
pub const PROBABILITY_SCALE: f64 = 0.999;
/// Offset of [`branch_probability`]: every probability lies in `[0.0005, 0.9995]`.
pub const PROBABILITY_OFFSET: f64 = 0.0005;
/// [`SubSpace::sample_two_paths`] enumerates the branch sets of a cell with at most this many
/// sub-space ops (`2^10` sets) and uses rejection above.
pub const ENUMERATE_MAX_OPS: usize = 10;

/// The branch probability of an op with importance indicator `alpha`:
/// `sigmoid(α) · 0.999 + 0.0005` (docs/method.md §6), computed in `f64`.
///
/// ```
/// assert_eq!(nse_space::branch_probability(0.0), 0.5);
/// assert!((nse_space::branch_probability(-1e9) - 0.0005).abs() < 1e-12);
/// ```
pub fn branch_probability(alpha: f32) -> f64 {
    let sigmoid = 1.0 / (1.0 + (-f64::from(alpha)).exp());
    sigmoid * PROBABILITY_SCALE + PROBABILITY_OFFSET
}

/// Joint probability `P(A) = Π p_i^on (1 − p_i)^off` of the branch set `on` (a bit mask over
/// `probs`).
fn joint(probs: &[f64], on: impl Fn(usize) -> bool) -> f64 {
    probs
        .iter()
        .enumerate()
        .map(|(j, &p)| if on(j) { p } else { 1.0 - p })
        .product()
}

/// Index picked by `u ∈ [0, Σ weights)` walking the cumulative weights (last index on
/// rounding overflow).
fn pick(weights: impl Iterator<Item = f64>, u: f64) -> usize {
    let mut acc = 0.0;
    let mut last = 0;
    for (i, w) in weights.enumerate() {
        acc += w;
        last = i;
        if u < acc {
            return i;
        }
    }
    last
}

/// Draws one branch set of a cell as a mask over its sub-space ops from `D` (see the module
/// docs): independent Bernoulli, conditioned on non-empty when `nonempty` and on at most
/// `limit` ops on when a limit below the op count is given.
fn draw_mask<R: Rng + ?Sized>(
    probs: &[f64],
    nonempty: bool,
    limit: Option<usize>,
    rng: &mut R,
) -> Vec<bool> {
    match limit {
        Some(max) if max < probs.len() => draw_mask_limited(probs, nonempty, max, rng),
        _ => draw_mask_unlimited(probs, nonempty, rng),
    }
}

fn draw_mask_unlimited<R: Rng + ?Sized>(probs: &[f64], nonempty: bool, rng: &mut R) -> Vec<bool> {
    let mut on = vec![false; probs.len()];
    let mut start = 0;
    if nonempty && !probs.is_empty() {
        // P(first on = j) ∝ Π_{i<j} (1 − p_i) · p_j.
        let masses = probs.iter().scan(1.0, |prefix: &mut f64, &p| {
            let mass = *prefix * p;
            *prefix *= 1.0 - p;
            Some(mass)
        });
        let total: f64 = masses.clone().sum();
        let first = pick(masses, rng.random::<f64>() * total);
        on[first] = true;
        start = first + 1;
    }
    for j in start..probs.len() {
        on[j] = rng.random::<f64>() < probs[j];
    }
    on
}

/// [`draw_mask`] under a limit of `max` ops on: the independent-Bernoulli distribution
/// conditioned on `lo ≤ |A| ≤ max` (`lo` = 1 when `nonempty`), drawn exactly, op by op:
/// `W[j][c]`, the mass of the completions of ops `j..` from `c` ops on, gives
/// `Pr(op j on | the ops before) = p_j·W[j+1][c+1] / W[j][c]`.
fn draw_mask_limited<R: Rng + ?Sized>(
    probs: &[f64],
    nonempty: bool,
    max: usize,
    rng: &mut R,
) -> Vec<bool> {
    let n = probs.len();
    let lo = usize::from(nonempty);
    // completions[j][c] for j in 0..=n, c in 0..=max.
    let mut completions = vec![vec![0.0f64; max + 1]; n + 1];
    for (c, w) in completions[n].iter_mut().enumerate() {
        *w = if c >= lo { 1.0 } else { 0.0 };
    }
    for j in (0..n).rev() {
        for c in 0..=max {
            let on = if c < max {
                probs[j] * completions[j + 1][c + 1]
            } else {
                0.0
            };
            completions[j][c] = on + (1.0 - probs[j]) * completions[j + 1][c];
        }
    }
    let mut on = vec![false; n];
    let mut count = 0;
    for j in 0..n {
        let take = if count < max {
            probs[j] * completions[j + 1][count + 1]
        } else {
            0.0
        };
        let total = take + (1.0 - probs[j]) * completions[j + 1][count];
        if take > 0.0 && rng.random::<f64>() * total < take {
            on[j] = true;
            count += 1;
        }
    }
    on
}

fn mask_to_ops(ops: &[usize], on: &[bool]) -> Vec<usize> {
    ops.iter()
        .zip(on)
        .filter(|(_, on)| **on)
        .map(|(&i, _)| i)
        .collect()
}

/// The two branch sets of one cell for the indicator step (docs/method.md §6), as the
/// sampler draws them and the supernet's indicator forward takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellPaths {
    /// The cell's sub-space (sorted pool indices): the ops whose Bernoulli factors enter the
    /// joint probabilities `P(s)`, `P(u)`.
    pub subspace: Vec<usize>,
    /// The selected set `s` (sorted pool indices): the forward value of the cell is `y_s`.
    pub selected: Vec<usize>,
    /// The other set `u ≠ s`, or `None` for a deterministic cell (empty sub-space, or one op
    /// in a non-residual cell): it has a single possible branch set, runs `selected` plainly,
    /// without the two-path estimator, and its indicators get no gradient.
    pub unselected: Option<Vec<usize>>,
}

impl CellPaths {
    /// Whether the cell has a single possible branch set (no `unselected`).
    pub fn is_deterministic(&self) -> bool {
        self.unselected.is_none()
    }

    /// The other set, or the selected one in a deterministic cell.
    pub fn other(&self) -> &[usize] {
        self.unselected.as_deref().unwrap_or(&self.selected)
    }

    /// `(P(s), P(u))` with `P(A) = Π p_i^on (1 − p_i)^off` over the cell's sub-space ops, for
    /// the cell's indicator row `alpha` (one value per pool op) — the *unconditioned* joint
    /// probabilities, also in non-residual cells (the conditioning constant cancels in
    /// `q_s = P_s / (P_s + P_u)`). Both are `P(s)` in a deterministic cell.
    pub fn probabilities(&self, alpha: &[f32]) -> (f64, f64) {
        let probs: Vec<f64> = self
            .subspace
            .iter()
            .map(|&i| branch_probability(alpha[i]))
            .collect();
        let of = |set: &[usize]| joint(&probs, |j| set.contains(&self.subspace[j]));
        (of(&self.selected), of(self.other()))
    }

    /// `q_s = P_s / (P_s + P_u)`; 1 in a deterministic cell.
    pub fn q_selected(&self, alpha: &[f32]) -> f64 {
        if self.is_deterministic() {
            return 1.0;
        }
        let (ps, pu) = self.probabilities(alpha);
        ps / (ps + pu)
    }
}

/// Per cell, two distinct branch sets and their joint probabilities; see
/// [`SubSpace::sample_two_paths`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathPair {
    /// One entry per cell.
    pub cells: Vec<CellPaths>,
}

impl PathPair {
    /// The selected sets as an architecture.
    pub fn selected(&self) -> Architecture {
        Architecture::from_sorted(self.cells.iter().map(|c| c.selected.clone()).collect())
    }

    /// The other sets as an architecture.
    pub fn other(&self) -> Architecture {
        Architecture::from_sorted(self.cells.iter().map(|c| c.other().to_vec()).collect())
    }
}

impl SubSpace {
    fn probs(&self, cell: usize, alphas: &[Vec<f32>]) -> Vec<f64> {
        self.cells[cell]
            .iter()
            .map(|&i| branch_probability(alphas[cell][i]))
            .collect()
    }

    fn sample_with<R: Rng + ?Sized>(
        &self,
        probs: impl Fn(usize) -> Vec<f64>,
        rng: &mut R,
    ) -> Architecture {
        let cells = (0..self.num_cells())
            .map(|cell| {
                let on = draw_mask(&probs(cell), !self.residual[cell], self.max_branches, rng);
                mask_to_ops(&self.cells[cell], &on)
            })
            .collect();
        Architecture::from_sorted(cells)
    }

    /// The weight step's sampler (docs/method.md §6): in every cell each sub-space op is on
    /// with probability 0.5, independently; a non-residual cell is conditioned on getting at
    /// least one op (the distribution of resampling it while empty). Cells are drawn in
    /// order, ops in ascending index order.
    pub fn sample_uniform<R: Rng + ?Sized>(&self, rng: &mut R) -> Architecture {
        self.sample_with(|cell| vec![0.5; self.cells[cell].len()], rng)
    }

    /// Independent Bernoulli branches with `p_i = branch_probability(alphas[cell][i])` over
    /// the sub-space ops, non-residual cells conditioned on non-empty (see the module docs).
    /// `alphas` is `[cell][pool op]`.
    pub fn sample_bernoulli<R: Rng + ?Sized>(
        &self,
        alphas: &[Vec<f32>],
        rng: &mut R,
    ) -> Result<Architecture> {
        check_alphas(alphas, self.num_cells(), self.pool_size)?;
        Ok(self.sample_with(|cell| self.probs(cell, alphas), rng))
    }

    /// The unconditioned joint probability `P(A) = Π p_i^on (1 − p_i)^off` of branch set
    /// `set` over the sub-space of `cell`, with `p_i = branch_probability(alphas[cell][i])`.
    /// A set with an op outside the cell's sub-space has probability 0.
    pub fn set_probability(&self, alphas: &[Vec<f32>], cell: usize, set: &[usize]) -> Result<f64> {
        check_alphas(alphas, self.num_cells(), self.pool_size)?;
        if cell >= self.num_cells() {
            return Err(SpaceError::WrongCellCount {
                expected: self.num_cells(),
                got: cell + 1,
            });
        }
        if set.iter().any(|&i| !self.contains(cell, i)) {
            return Ok(0.0);
        }
        let ops = &self.cells[cell];
        Ok(joint(&self.probs(cell, alphas), |j| set.contains(&ops[j])))
    }

    /// The indicator step's two paths (docs/method.md §6). Per cell:
    /// - `selected` is a draw `s` from the cell's distribution `D` (module docs:
    ///   non-residual cells conditioned on non-empty);
    /// - `other` is a draw `u` from `D` conditioned on `u ≠ s`, i.e. the first of further
    ///   draws that differs from `s`: `Pr(u = b | s = a) = D(b) / (1 − D(a))`.
    ///
    /// So `Pr(selected = a) = D(a)` exactly. With at most [`ENUMERATE_MAX_OPS`] sub-space ops
    /// the sets are enumerated and both draws are exact inversions; above, `s` is drawn
    /// directly and `u` by rejection (each try differs from `s` with probability at least
    /// `1 − 0.9995^11 ≈ 0.5%`). [`CellPaths::probabilities`] gives the unconditioned
    /// `P_s`, `P_u`; `q_s = P_s / (P_s + P_u)` is [`CellPaths::q_selected`].
    ///
    /// A deterministic cell ([`SubSpace::is_deterministic`]) draws nothing and reports its one
    /// set as `selected`, with no `unselected`. Every other cell has at least two
    /// possible sets and always gets two different ones.
    pub fn sample_two_paths<R: Rng + ?Sized>(
        &self,
        alphas: &[Vec<f32>],
        rng: &mut R,
    ) -> Result<PathPair> {
        check_alphas(alphas, self.num_cells(), self.pool_size)?;
        let cells = (0..self.num_cells())
            .map(|cell| {
                let ops = &self.cells[cell];
                let probs = self.probs(cell, alphas);
                let nonempty = !self.residual[cell];
                if self.is_deterministic(cell) {
                    return CellPaths {
                        subspace: ops.clone(),
                        selected: ops.clone(),
                        unselected: None,
                    };
                }
                let limit = self.max_branches.unwrap_or(ops.len());
                let (s, u) = if ops.len() <= ENUMERATE_MAX_OPS {
                    let first = usize::from(nonempty);
                    // Sets above the limit have no mass.
                    let weights: Vec<f64> = (first..1usize << ops.len())
                        .map(|mask| {
                            if (mask as u64).count_ones() as usize > limit {
                                0.0
                            } else {
                                joint(&probs, |j| mask >> j & 1 == 1)
                            }
                        })
                        .collect();
                    let total: f64 = weights.iter().sum();
                    let s = pick(weights.iter().copied(), rng.random::<f64>() * total);
                    let rest = weights
                        .iter()
                        .enumerate()
                        .map(|(i, &w)| if i == s { 0.0 } else { w });
                    let mut u = pick(rest, rng.random::<f64>() * (total - weights[s]));
                    if u == s || weights[u] == 0.0 {
                        // Only reachable through rounding at the very end of the range: the
                        // nearest other set with mass.
                        u = (0..weights.len())
                            .filter(|&i| i != s && weights[i] > 0.0)
                            .min_by_key(|&i| i.abs_diff(s))
                            .expect("a stochastic cell has two possible sets");
                    }
                    let to_mask = |k: usize| -> Vec<bool> {
                        (0..ops.len()).map(|j| (k + first) >> j & 1 == 1).collect()
                    };
                    (to_mask(s), to_mask(u))
                } else {
                    let s = draw_mask(&probs, nonempty, self.max_branches, rng);
                    let u = loop {
                        let u = draw_mask(&probs, nonempty, self.max_branches, rng);
                        if u != s {
                            break u;
                        }
                    };
                    (s, u)
                };
                CellPaths {
                    subspace: ops.clone(),
                    selected: mask_to_ops(ops, &s),
                    unselected: Some(mask_to_ops(ops, &u)),
                }
            })
            .collect();
        Ok(PathPair { cells })
    }
}

/// A resource window (docs/method.md §7.1), in the unit of the [`CostTable`] it is used with
/// (MMACs, M params, ms): the window is the open interval `(target − drift, target + drift)`,
/// the extra band the half-open `(target − drift − extra_drift, target − drift]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ResourceWindow {
    /// Target cost.
    pub target: f64,
    /// Half-width of the window.
    pub drift: f64,
    /// Width of the extra band below the window.
    pub extra_drift: f64,
}

impl ResourceWindow {
    /// A window around `target`.
    pub fn new(target: f64, drift: f64, extra_drift: f64) -> Self {
        ResourceWindow {
            target,
            drift,
            extra_drift,
        }
    }

    /// Checks that the target is finite and positive, the drift finite and positive and the
    /// extra drift finite and non-negative.
    pub fn check(&self) -> Result<()> {
        let invalid = |field, reason: String| Err(SpaceError::InvalidWindow { field, reason });
        if !(self.target.is_finite() && self.target > 0.0) {
            return invalid(
                "target",
                format!("must be positive and finite, got {}", self.target),
            );
        }
        if !(self.drift.is_finite() && self.drift > 0.0) {
            return invalid(
                "drift",
                format!("must be positive and finite, got {}", self.drift),
            );
        }
        if !(self.extra_drift.is_finite() && self.extra_drift >= 0.0) {
            return invalid(
                "extra_drift",
                format!("must be non-negative and finite, got {}", self.extra_drift),
            );
        }
        Ok(())
    }

    /// Exclusive lower bound of the window, `target − drift` (inclusive upper bound of the
    /// extra band).
    pub fn low(&self) -> f64 {
        self.target - self.drift
    }

    /// Exclusive upper bound of the window, `target + drift`.
    pub fn high(&self) -> f64 {
        self.target + self.drift
    }

    /// Exclusive lower bound of the extra band, `target − drift − extra_drift`.
    pub fn extra_low(&self) -> f64 {
        self.low() - self.extra_drift
    }

    /// Whether `cost` lies in the window `(low, high)`.
    pub fn contains(&self, cost: f64) -> bool {
        self.low() < cost && cost < self.high()
    }

    /// Whether `cost` lies in the extra band `(extra_low, low]`.
    pub fn in_extra_band(&self, cost: f64) -> bool {
        self.extra_low() < cost && cost <= self.low()
    }
}

/// An architecture drawn by the [`WindowSampler`] with its cost (stem + cells + tail).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampledArchitecture {
    /// The architecture.
    pub architecture: Architecture,
    /// Its cost in the cost table's unit.
    pub cost: f64,
}

/// What a [`WindowSampler`] found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowBatch {
    /// `n` distinct architectures inside the window, in draw order.
    pub window: Vec<SampledArchitecture>,
    /// `n_extra` distinct architectures in the extra band, in draw order.
    pub extra: Vec<SampledArchitecture>,
    /// Architectures drawn in all.
    pub attempts: usize,
    /// How many of `extra` the sparse second pass found, after the learned distribution had
    /// spent `max_attempts` draws without filling the band (0 when it filled it).
    #[serde(default)]
    pub extra_from_sweep: usize,
}

/// Uniform branch probabilities of [`WindowSampler::sample`]'s second pass for the extra
/// band, from sparse to the uniform 0.5: the band lies below the window, and sparser
/// architectures are cheaper.
pub const EXTRA_BAND_PROBABILITIES: [f64; 6] = [0.02, 0.05, 0.1, 0.2, 0.3, 0.4];

/// Draws the evaluation batch of a round (docs/method.md §7.1): architectures from the
/// learned Bernoulli distribution ([`SubSpace::sample_bernoulli`]) until `n` distinct ones lie
/// in the window and `n_extra` distinct ones in the extra band, giving up after
/// `max_attempts` draws with [`SpaceError::WindowInfeasible`] (found counts and the cost range
/// seen) when the window is not filled. Costs come from the [`CostTable`] given, in its unit.
///
/// **\[ours\]** The extra band is filled as well as it can be, not at any price: when the
/// learned distribution fills the window but rarely reaches the cheaper band below it (as
/// under a measured latency table, whose per-layer overhead packs architectures together), a
/// second pass of up to `max_attempts` draws at the sparse branch probabilities of
/// [`EXTRA_BAND_PROBABILITIES`] tops the band up; what is still missing after it is reported
/// in the batch ([`WindowBatch::extra_from_sweep`], a short [`WindowBatch::extra`]) instead of
/// failing a round whose training is done. The reference draws until it finds them, without
/// a bound.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WindowSampler {
    /// The resource window.
    pub window: ResourceWindow,
    /// Architectures wanted inside the window (reference 2000).
    pub n: usize,
    /// Architectures wanted in the extra band (reference 100).
    pub n_extra: usize,
    /// Draws before giving up.
    pub max_attempts: usize,
}

/// Default attempt budget of [`WindowSampler::new`] per architecture wanted.
pub const ATTEMPTS_PER_ARCHITECTURE: usize = 200;

impl WindowSampler {
    /// A sampler with `max_attempts = 200 · (n + n_extra)` (see [`ATTEMPTS_PER_ARCHITECTURE`]).
    pub fn new(window: ResourceWindow, n: usize, n_extra: usize) -> Self {
        WindowSampler {
            window,
            n,
            n_extra,
            max_attempts: ATTEMPTS_PER_ARCHITECTURE.saturating_mul(n.saturating_add(n_extra)),
        }
    }

    /// Checks the window, `n ≥ 1`, `max_attempts ≥ n + n_extra` and a non-empty extra band
    /// when `n_extra > 0`.
    pub fn check(&self) -> Result<()> {
        self.window.check()?;
        let invalid = |field, reason: String| Err(SpaceError::InvalidWindow { field, reason });
        if self.n == 0 {
            return invalid("n", "must be at least 1".into());
        }
        if self.n_extra > 0 && self.window.extra_drift == 0.0 {
            return invalid(
                "extra_drift",
                format!(
                    "is 0, so the {} extra architectures cannot be found",
                    self.n_extra
                ),
            );
        }
        if self.max_attempts < self.n + self.n_extra {
            return invalid(
                "max_attempts",
                format!(
                    "{} is fewer than the {} architectures wanted",
                    self.max_attempts,
                    self.n + self.n_extra
                ),
            );
        }
        Ok(())
    }

    /// Draws the batch from `subspace` (a sub-space of `space`, whose costs are `costs`) with
    /// branch probabilities from `alphas` (`[cell][pool op]`; all zeros gives the uniform 0.5
    /// distribution).
    pub fn sample<R: Rng + ?Sized>(
        &self,
        space: &SearchSpace,
        costs: &CostTable,
        subspace: &SubSpace,
        alphas: &[Vec<f32>],
        rng: &mut R,
    ) -> Result<WindowBatch> {
        self.check()?;
        subspace.check_space(space)?;
        check_costs(space, costs)?;
        check_alphas(alphas, subspace.num_cells(), subspace.pool_size())?;
        let mut seen_archs = HashSet::new();
        let mut batch = WindowBatch {
            window: Vec::with_capacity(self.n),
            extra: Vec::with_capacity(self.n_extra),
            attempts: 0,
            extra_from_sweep: 0,
        };
        let mut seen: Option<(f64, f64)> = None;
        while batch.window.len() < self.n || batch.extra.len() < self.n_extra {
            if batch.attempts == self.max_attempts && batch.window.len() == self.n {
                self.top_up_extra_band(costs, subspace, &mut batch, &mut seen_archs, rng);
                break;
            }
            if batch.attempts == self.max_attempts {
                return Err(SpaceError::WindowInfeasible {
                    low: self.window.low(),
                    high: self.window.high(),
                    extra_low: self.window.extra_low(),
                    attempts: batch.attempts,
                    found: batch.window.len(),
                    wanted: self.n,
                    found_extra: batch.extra.len(),
                    wanted_extra: self.n_extra,
                    seen,
                });
            }
            batch.attempts += 1;
            let architecture = subspace.sample_bernoulli(alphas, rng)?;
            let cost = costs.architecture_cost(architecture.cells());
            let value = cost;
            seen = Some(seen.map_or((value, value), |(lo, hi)| (lo.min(value), hi.max(value))));
            let list = if self.window.contains(value) && batch.window.len() < self.n {
                &mut batch.window
            } else if self.window.in_extra_band(value) && batch.extra.len() < self.n_extra {
                &mut batch.extra
            } else {
                continue;
            };
            if seen_archs.insert(architecture.clone()) {
                list.push(SampledArchitecture { architecture, cost });
            }
        }
        Ok(batch)
    }

    /// The second pass of [`sample`](Self::sample): up to `max_attempts` draws spread over
    /// [`EXTRA_BAND_PROBABILITIES`], keeping new architectures of the extra band until it
    /// holds `n_extra`.
    fn top_up_extra_band<R: Rng + ?Sized>(
        &self,
        costs: &CostTable,
        subspace: &SubSpace,
        batch: &mut WindowBatch,
        seen_archs: &mut HashSet<Architecture>,
        rng: &mut R,
    ) {
        let per_level = (self.max_attempts / EXTRA_BAND_PROBABILITIES.len()).max(1);
        for p in EXTRA_BAND_PROBABILITIES {
            for _ in 0..per_level {
                if batch.extra.len() >= self.n_extra {
                    return;
                }
                batch.attempts += 1;
                let architecture =
                    subspace.sample_with(|cell| vec![p; subspace.ops(cell).len()], rng);
                let cost = costs.architecture_cost(architecture.cells());
                if self.window.in_extra_band(cost) && seen_archs.insert(architecture.clone()) {
                    batch.extra.push(SampledArchitecture { architecture, cost });
                    batch.extra_from_sweep += 1;
                }
            }
        }
    }
}

/// Checks that `costs` has a row per cell of `space` and a cost per op of its pool.
fn check_costs(space: &SearchSpace, costs: &CostTable) -> Result<()> {
    if costs.ops.len() != space.num_cells()
        || costs.ops.iter().any(|row| row.len() != space.pool().len())
    {
        return Err(SpaceError::InvalidSpec {
            field: "cost table",
            reason: format!(
                "it is not this space's: {} cells of {} ops wanted",
                space.num_cells(),
                space.pool().len()
            ),
        });
    }
    Ok(())
}

/// Uniform branch probabilities swept by [`WindowSampler::check_feasible`]: from sparse to
/// dense networks, since the indicators may learn to switch most branches off or on.
pub const FEASIBILITY_PROBABILITIES: [f64; 11] =
    [0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// What [`WindowSampler::check_feasible`] established about a window before any training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Feasibility {
    /// Cost of the cheapest architecture of the sub-space (stem and tail included): residual
    /// cells empty, every other cell its cheapest op alone.
    pub cheapest: f64,
    /// Cost of the most expensive architecture: every sub-space op on in every cell (the
    /// `max_branches` most expensive ones under a limit).
    pub dearest: f64,
    /// Distinct architectures found in the window over the sweep (at least `n`).
    pub found: usize,
    /// Distinct architectures found in the extra band (at least `n_extra`).
    pub found_extra: usize,
    /// Architectures drawn.
    pub attempts: usize,
}

impl WindowSampler {
    /// The cheapest and the most expensive architecture cost of `subspace` in the unit of
    /// `costs`, stem and tail included (costs add up over a cell's branches and are never
    /// negative, so the extremes are the sparsest and the densest architecture).
    pub fn reachable_range(
        &self,
        space: &SearchSpace,
        costs: &CostTable,
        subspace: &SubSpace,
    ) -> Result<(f64, f64)> {
        subspace.check_space(space)?;
        check_costs(space, costs)?;
        let (mut cheapest, mut dearest) = (costs.fixed, costs.fixed);
        for (cell, row) in costs.ops.iter().enumerate() {
            let mut costs: Vec<f64> = subspace.ops(cell).iter().map(|&i| row[i]).collect();
            if !subspace.is_residual(cell) {
                cheapest += costs.iter().copied().fold(f64::INFINITY, f64::min);
            }
            match subspace.max_branches() {
                // The densest cell under the limit: its most expensive ops.
                Some(max) if max < costs.len() => {
                    costs.sort_by(|a, b| b.total_cmp(a));
                    dearest += costs[..max].iter().sum::<f64>();
                }
                _ => dearest += costs.iter().sum::<f64>(),
            }
        }
        Ok((cheapest, dearest))
    }

    /// Judges before any training whether the window can be filled from `subspace` (docs/method.md
    /// §7.1; the reference samples its window only after the indicators have learned to meet
    /// the target, so the uniform distribution of the first round is the wrong test):
    ///
    /// 1. the window (and the extra band when `n_extra > 0`) must overlap the reachable cost
    ///    range ([`reachable_range`](Self::reachable_range)), else
    ///    [`SpaceError::WindowUnreachable`];
    /// 2. sampling with every branch probability set to each value of
    ///    [`FEASIBILITY_PROBABILITIES`] in turn (`max_attempts` draws in all, spread evenly),
    ///    at least `n` distinct architectures must fall in the window and `n_extra` in the
    ///    extra band, else [`SpaceError::WindowInfeasible`] with the counts over the sweep.
    ///
    /// Passing does not promise that the *learned* distribution of a later round fills the
    /// window: [`sample`](Self::sample) still fails, bounded, when it cannot.
    pub fn check_feasible<R: Rng + ?Sized>(
        &self,
        space: &SearchSpace,
        costs: &CostTable,
        subspace: &SubSpace,
        rng: &mut R,
    ) -> Result<Feasibility> {
        self.check()?;
        let (cheapest, dearest) = self.reachable_range(space, costs, subspace)?;
        let w = &self.window;
        let window_reachable = cheapest < w.high() && dearest > w.low();
        let band_reachable = self.n_extra == 0 || (cheapest <= w.low() && dearest > w.extra_low());
        if !window_reachable || !band_reachable {
            return Err(SpaceError::WindowUnreachable {
                low: w.low(),
                high: w.high(),
                extra_low: w.extra_low(),
                cheapest,
                dearest,
            });
        }
        let per_level = (self.max_attempts / FEASIBILITY_PROBABILITIES.len()).max(1);
        let mut window = HashSet::new();
        let mut extra = HashSet::new();
        let mut attempts = 0;
        let mut seen: Option<(f64, f64)> = None;
        let done = |window: &HashSet<_>, extra: &HashSet<_>| {
            window.len() >= self.n && extra.len() >= self.n_extra
        };
        'sweep: for p in FEASIBILITY_PROBABILITIES {
            for _ in 0..per_level {
                if done(&window, &extra) {
                    break 'sweep;
                }
                attempts += 1;
                let architecture =
                    subspace.sample_with(|cell| vec![p; subspace.ops(cell).len()], rng);
                let cost = costs.architecture_cost(architecture.cells());
                seen = Some(seen.map_or((cost, cost), |(lo, hi)| (lo.min(cost), hi.max(cost))));
                if w.contains(cost) && window.len() < self.n {
                    window.insert(architecture);
                } else if w.in_extra_band(cost) && extra.len() < self.n_extra {
                    extra.insert(architecture);
                }
            }
        }
        if !done(&window, &extra) {
            return Err(SpaceError::WindowInfeasible {
                low: w.low(),
                high: w.high(),
                extra_low: w.extra_low(),
                attempts,
                found: window.len(),
                wanted: self.n,
                found_extra: extra.len(),
                wanted_extra: self.n_extra,
                seen,
            });
        }
        Ok(Feasibility {
            cheapest,
            dearest,
            found: window.len(),
            found_extra: extra.len(),
            attempts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost_model::CostModel;
    use crate::evolution::EvolutionState;
    use nse_ops::CostMetric;

    /// MACs or parameters in raw units (not millions): a cost model of the tests' own.
    #[derive(Debug)]
    struct Raw(CostMetric);

    impl CostModel for Raw {
        fn name(&self) -> String {
            "raw".into()
        }
        fn unit(&self) -> String {
            "count".into()
        }
        fn op_cost(&self, space: &SearchSpace, cell: usize, op: usize) -> Result<f64> {
            Ok(space.op_cost(cell, op)?.get(self.0))
        }
        fn fixed_cost(&self, space: &SearchSpace) -> Result<f64> {
            Ok(space.fixed_cost().get(self.0))
        }
    }

    fn raw(space: &SearchSpace, metric: CostMetric) -> CostTable {
        CostTable::new(space, &Raw(metric)).unwrap()
    }
    use crate::space::SpaceSpec;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    fn cifar() -> SearchSpace {
        SpaceSpec::preset("cifar10-mb27").unwrap().check().unwrap()
    }

    /// cifar10-mb27 cells: N R N R N R N E N R N E (even cells residual).
    fn mixed_subspace(space: &SearchSpace) -> SubSpace {
        let mut cells = vec![vec![0, 1, 2, 3, 4]; 12];
        cells[0] = vec![0, 5, 9]; // residual, 8 sets
        cells[1] = vec![2, 4, 20]; // non-residual, 7 sets
        cells[2] = vec![7]; // residual, 2 sets
        cells[3] = vec![1, 26]; // non-residual, 3 sets
        cells[4] = vec![]; // residual, deterministic (empty)
        cells[5] = vec![3]; // non-residual, deterministic
        cells[6] = (0..12).collect(); // residual, rejection path
        cells[7] = (10..22).collect(); // non-residual, rejection path
        SubSpace::new(space, cells).unwrap()
    }

    fn random_alphas(space: &SearchSpace, seed: u64) -> Vec<Vec<f32>> {
        let mut r = rng(seed);
        (0..space.num_cells())
            .map(|_| {
                (0..space.pool().len())
                    .map(|_| r.random_range(-3.0f32..3.0))
                    .collect()
            })
            .collect()
    }

    /// The documented distribution D of a cell, by enumeration from the spec's formula.
    fn distribution(ops: &[usize], alpha: &[f32], residual: bool) -> Vec<(Vec<usize>, f64)> {
        let p: Vec<f64> = ops
            .iter()
            .map(|&i| 1.0 / (1.0 + (-f64::from(alpha[i])).exp()) * 0.999 + 0.0005)
            .collect();
        let mut sets: Vec<(Vec<usize>, f64)> = (0..1usize << ops.len())
            .map(|mask| {
                let set: Vec<usize> = (0..ops.len())
                    .filter(|j| mask >> j & 1 == 1)
                    .map(|j| ops[j])
                    .collect();
                let prob: f64 = (0..ops.len())
                    .map(|j| if mask >> j & 1 == 1 { p[j] } else { 1.0 - p[j] })
                    .product();
                (set, prob)
            })
            .collect();
        if !residual {
            let empty = sets.remove(0).1;
            sets.iter_mut().for_each(|(_, d)| *d /= 1.0 - empty);
        }
        sets
    }

    /// `Π p_i^on (1 − p_i)^off` over `ops`, from the spec's formula.
    fn raw_product(ops: &[usize], alpha: &[f32], set: &[usize]) -> f64 {
        ops.iter()
            .map(|&i| {
                let p = 1.0 / (1.0 + (-f64::from(alpha[i])).exp()) * 0.999 + 0.0005;
                if set.contains(&i) { p } else { 1.0 - p }
            })
            .product()
    }

    fn chi_square(
        counts: &std::collections::HashMap<Vec<usize>, usize>,
        expected: &[(Vec<usize>, f64)],
        n: usize,
    ) -> f64 {
        assert!(
            counts.keys().all(|k| expected.iter().any(|(s, _)| s == k)),
            "a set outside the support"
        );
        expected
            .iter()
            .map(|(set, d)| {
                let e = d * n as f64;
                let o = *counts.get(set).unwrap_or(&0) as f64;
                (o - e).powi(2) / e
            })
            .sum()
    }

    /// The cifar space limited to `max` branches per cell, with the mixed sub-space's cells.
    fn limited(max: usize) -> (SearchSpace, SubSpace) {
        let mut spec = SpaceSpec::preset("cifar10-mb27").unwrap();
        spec.max_branches = Some(max);
        let space = spec.check().unwrap();
        let sub = SubSpace::new(&space, mixed_subspace(&cifar()).cells().to_vec()).unwrap();
        (space, sub)
    }

    /// The documented distribution conditioned on at most `max` ops.
    fn limited_distribution(
        ops: &[usize],
        alpha: &[f32],
        residual: bool,
        max: usize,
    ) -> Vec<(Vec<usize>, f64)> {
        let mut sets = distribution(ops, alpha, residual);
        sets.retain(|(set, _)| set.len() <= max);
        let total: f64 = sets.iter().map(|(_, d)| d).sum();
        sets.iter_mut().for_each(|(_, d)| *d /= total);
        sets
    }

    #[test]
    fn limited_samplers_draw_the_conditioned_distribution() {
        let (space, sub) = limited(2);
        assert_eq!(sub.max_branches(), Some(2));
        let alphas = random_alphas(&space, 11);
        let n = 40_000;
        let mut r = rng(5);
        let mut counts = vec![std::collections::HashMap::new(); 12];
        for _ in 0..n {
            let arch = sub.sample_bernoulli(&alphas, &mut r).unwrap();
            space.check_architecture(&arch).unwrap();
            for (c, ops) in arch.cells().iter().enumerate() {
                assert!(ops.len() <= 2, "cell {c}: {ops:?}");
                *counts[c].entry(ops.clone()).or_insert(0usize) += 1;
            }
        }
        // Residual and non-residual cells of 3 and 5 ops (7, 6, 16 and 15 sets of at most 2),
        // each against the conditioned distribution.
        for (c, residual, sets) in [(0, true, 7), (1, false, 6), (8, true, 16), (9, false, 15)] {
            let expected = limited_distribution(sub.ops(c), &alphas[c], residual, 2);
            assert_eq!(expected.len(), sets, "cell {c}");
            let chi2 = chi_square(&counts[c], &expected, n);
            assert!(
                chi2 < 3.0 * sets as f64 + 20.0,
                "cell {c}: chi-square {chi2}"
            );
        }
        // The weight step's sampler in a single-path space: one op of five uniformly in a
        // non-residual cell; one of five or none in a residual one.
        let (space1, single) = limited(1);
        let mut r = rng(6);
        let mut cell8 = std::collections::HashMap::new();
        let mut cell9 = std::collections::HashMap::new();
        for _ in 0..12_000 {
            let arch = single.sample_uniform(&mut r);
            space1.check_architecture(&arch).unwrap();
            *cell8.entry(arch.cells()[8].clone()).or_insert(0usize) += 1;
            *cell9.entry(arch.cells()[9].clone()).or_insert(0usize) += 1;
        }
        assert!(single.is_residual(8) && !single.is_residual(9));
        assert_eq!(cell8.len(), 6, "{cell8:?}");
        assert_eq!(cell9.len(), 5, "{cell9:?}");
        for (set, &count) in cell8.iter() {
            assert!((count as f64 - 2000.0).abs() < 250.0, "{set:?}: {count}");
        }
        for (set, &count) in cell9.iter() {
            assert!((count as f64 - 2400.0).abs() < 250.0, "{set:?}: {count}");
        }
    }

    #[test]
    fn limited_two_paths_and_reach_respect_the_limit() {
        let (space, sub) = limited(1);
        let alphas = random_alphas(&space, 12);
        let mut r = rng(7);
        let n = 20_000;
        let mut selected = std::collections::HashMap::new();
        for _ in 0..n {
            let pair = sub.sample_two_paths(&alphas, &mut r).unwrap();
            for (c, paths) in pair.cells.iter().enumerate() {
                assert!(
                    paths.selected.len() <= 1 && paths.other().len() <= 1,
                    "cell {c}"
                );
                if !paths.is_deterministic() {
                    assert_ne!(paths.selected, paths.other(), "cell {c}");
                }
            }
            // The rejection path (12 ops) too.
            assert!(pair.cells[7].selected.len() == 1 && pair.cells[7].other().len() == 1);
            *selected
                .entry(pair.cells[1].selected.clone())
                .or_insert(0usize) += 1;
        }
        let expected = limited_distribution(sub.ops(1), &alphas[1], false, 1);
        let chi2 = chi_square(&selected, &expected, n);
        assert!(chi2 < 25.0, "chi-square {chi2} over 2 degrees of freedom");
        // The densest architecture holds each cell's most expensive op only.
        let costs = raw(&space, CostMetric::Macs);
        let sampler = WindowSampler::new(ResourceWindow::new(1.0, 0.5, 0.1), 1, 0);
        let (_, dearest) = sampler.reachable_range(&space, &costs, &sub).unwrap();
        let expected = costs.fixed
            + (0..12)
                .map(|c| {
                    sub.ops(c)
                        .iter()
                        .map(|&i| costs.ops[c][i])
                        .fold(0.0, f64::max)
                })
                .sum::<f64>();
        assert!((dearest - expected).abs() < 1e-9, "{dearest} vs {expected}");
        // Architectures above the limit are refused by the space.
        let mut cells = vec![vec![0]; 12];
        cells[1] = vec![2, 4];
        let err = space
            .check_architecture(&Architecture::new(cells).unwrap())
            .unwrap_err();
        assert!(
            matches!(
                err,
                SpaceError::TooManyBranches {
                    cell: 1,
                    ops: 2,
                    max: 1
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn branch_probability_follows_the_spec() {
        assert_eq!(branch_probability(0.0), 0.5);
        let s2 = 1.0 / (1.0 + (-2.0f64).exp());
        assert!((branch_probability(2.0) - (s2 * 0.999 + 0.0005)).abs() < 1e-15);
        assert!((branch_probability(f32::INFINITY) - 0.9995).abs() < 1e-15);
        assert!((branch_probability(f32::NEG_INFINITY) - 0.0005).abs() < 1e-15);
    }

    #[test]
    fn uniform_sampler_is_seeded_valid_and_half_on() {
        let space = cifar();
        let sub = mixed_subspace(&space);
        let draw = |seed| {
            let mut r = rng(seed);
            (0..50)
                .map(|_| sub.sample_uniform(&mut r))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));

        let n = 40_000;
        let mut r = rng(3);
        let mut on = vec![vec![0usize; 27]; 12];
        for _ in 0..n {
            let arch = sub.sample_uniform(&mut r);
            space.check_architecture(&arch).unwrap(); // never an empty non-residual cell
            assert!(sub.contains_architecture(&arch));
            for (c, ops) in arch.cells().iter().enumerate() {
                ops.iter().for_each(|&i| on[c][i] += 1);
            }
        }
        for (c, on) in on.iter().enumerate() {
            let k = sub.ops(c).len() as i32;
            // Residual: 0.5. Non-residual: conditioned on non-empty, 0.5 / (1 − 2^−k).
            let p = if sub.is_residual(c) {
                0.5
            } else {
                0.5 / (1.0 - 0.5f64.powi(k))
            };
            let tol = 5.0 * (p * (1.0 - p) / n as f64).sqrt() + 1e-9;
            for &i in sub.ops(c) {
                let rate = on[i] as f64 / n as f64;
                assert!(
                    (rate - p).abs() <= tol,
                    "cell {c} op {i}: on-rate {rate}, expected {p}"
                );
            }
        }
        assert_eq!(
            on[5][3], n,
            "a single op in a non-residual cell is always on"
        );
        assert!(on[4].iter().all(|&x| x == 0));
    }

    #[test]
    fn bernoulli_sampler_matches_its_probabilities() {
        let space = cifar();
        let sub = mixed_subspace(&space);
        let mut alphas = random_alphas(&space, 10);
        // Huge α outside the sub-space must not switch anything on.
        alphas[0][1] = 50.0;
        alphas[1][0] = 50.0;
        let draw = |seed| {
            let mut r = rng(seed);
            (0..50)
                .map(|_| sub.sample_bernoulli(&alphas, &mut r).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));

        let n = 40_000;
        let mut r = rng(4);
        let mut on = vec![vec![0usize; 27]; 12];
        let mut joint1 = std::collections::HashMap::new();
        for _ in 0..n {
            let arch = sub.sample_bernoulli(&alphas, &mut r).unwrap();
            space.check_architecture(&arch).unwrap();
            assert!(sub.contains_architecture(&arch));
            for (c, ops) in arch.cells().iter().enumerate() {
                ops.iter().for_each(|&i| on[c][i] += 1);
            }
            *joint1.entry(arch.cells()[1].clone()).or_insert(0) += 1;
        }
        // Residual cells: each op on with probability p_i, independently of the rest.
        for c in (0..12).step_by(2) {
            for &i in sub.ops(c) {
                let p = branch_probability(alphas[c][i]);
                let rate = on[c][i] as f64 / n as f64;
                let tol = 5.0 * (p * (1.0 - p) / n as f64).sqrt();
                assert!((rate - p).abs() <= tol, "cell {c} op {i}: {rate} vs {p}");
            }
        }
        // Non-residual cell 1: the 7 non-empty sets with D(A) = P(A) / (1 − P(∅)).
        let expected = distribution(sub.ops(1), &alphas[1], false);
        assert_eq!(expected.len(), 7);
        let chi2 = chi_square(&joint1, &expected, n);
        assert!(chi2 < 30.0, "chi-square {chi2} over 6 degrees of freedom");
        assert_eq!(on[1][0], 0);
        assert_eq!(on[0][1], 0);
        assert!(matches!(
            sub.sample_bernoulli(&alphas[..3], &mut r),
            Err(SpaceError::AlphaShape {
                expected: 12,
                got: 3,
                ..
            })
        ));
    }

    #[test]
    fn two_path_sampler_gives_distinct_paths_with_the_documented_distribution() {
        let space = cifar();
        let sub = mixed_subspace(&space);
        let alphas = random_alphas(&space, 20);
        let draw = |seed| {
            let mut r = rng(seed);
            (0..20)
                .map(|_| sub.sample_two_paths(&alphas, &mut r).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(5), draw(5));
        assert_ne!(draw(5), draw(6));

        let n = 40_000;
        let mut r = rng(7);
        let mut selected: Vec<std::collections::HashMap<Vec<usize>, usize>> =
            vec![Default::default(); 12];
        let mut other: Vec<std::collections::HashMap<Vec<usize>, usize>> =
            vec![Default::default(); 12];
        let mut on_large = vec![0usize; 27];
        for _ in 0..n {
            let pair = sub.sample_two_paths(&alphas, &mut r).unwrap();
            space.check_architecture(&pair.selected()).unwrap();
            space.check_architecture(&pair.other()).unwrap();
            assert!(
                sub.contains_architecture(&pair.selected())
                    && sub.contains_architecture(&pair.other())
            );
            for (c, cell) in pair.cells.iter().enumerate() {
                assert_eq!(cell.is_deterministic(), sub.is_deterministic(c), "cell {c}");
                assert_eq!(cell.subspace, sub.ops(c));
                let (prob_selected, prob_other) = cell.probabilities(&alphas[c]);
                if cell.is_deterministic() {
                    assert_eq!(cell.selected, sub.ops(c));
                    assert_eq!(cell.q_selected(&alphas[c]), 1.0);
                    assert_eq!(prob_selected, prob_other);
                } else {
                    assert_ne!(cell.selected, cell.other(), "cell {c}: equal paths");
                    let q = prob_selected / (prob_selected + prob_other);
                    assert!((cell.q_selected(&alphas[c]) - q).abs() < 1e-15);
                }
                // The probabilities are the unconditioned joint products.
                let ps = raw_product(sub.ops(c), &alphas[c], &cell.selected);
                let pu = raw_product(sub.ops(c), &alphas[c], cell.other());
                assert_eq!(
                    sub.set_probability(&alphas, c, &cell.selected).unwrap(),
                    prob_selected
                );
                assert!((prob_selected - ps).abs() <= 1e-12 * ps, "cell {c}");
                assert!((prob_other - pu).abs() <= 1e-12 * pu, "cell {c}");
                *selected[c].entry(cell.selected.clone()).or_insert(0) += 1;
                *other[c].entry(cell.other().to_vec()).or_insert(0) += 1;
            }
            pair.cells[6]
                .selected
                .iter()
                .for_each(|&i| on_large[i] += 1);
        }
        // Enumerated cells: Pr(s = a) = D(a), Pr(u = b) = Σ_a D(a) D(b) / (1 − D(a)).
        for c in [0, 1, 2, 3] {
            let d = distribution(sub.ops(c), &alphas[c], sub.is_residual(c));
            let chi2 = chi_square(&selected[c], &d, n);
            assert!(
                chi2 < 30.0,
                "cell {c}: selected chi-square {chi2} over {} sets",
                d.len()
            );
            let d_other: Vec<(Vec<usize>, f64)> = d
                .iter()
                .map(|(b, db)| {
                    let p: f64 = d
                        .iter()
                        .filter(|(a, _)| a != b)
                        .map(|(_, da)| da * db / (1.0 - da))
                        .sum();
                    (b.clone(), p)
                })
                .collect();
            let chi2 = chi_square(&other[c], &d_other, n);
            assert!(chi2 < 30.0, "cell {c}: other chi-square {chi2}");
        }
        let outside = sub.set_probability(&alphas, 0, &[1]).unwrap();
        assert_eq!(outside, 0.0, "op 1 is not in cell 0's sub-space");
        assert!(sub.set_probability(&alphas, 12, &[]).is_err());
        // Residual cell with one op: the two paths are {} and {7}, in either order.
        assert_eq!(selected[2][&vec![]] + selected[2][&vec![7]], n);
        assert_eq!(selected[2][&vec![]], other[2][&vec![7]]);
        // Rejection path (12 ops, residual): the selected set's marginals are the p_i.
        for &i in sub.ops(6) {
            let p = branch_probability(alphas[6][i]);
            let rate = on_large[i] as f64 / n as f64;
            assert!(
                (rate - p).abs() <= 5.0 * (p * (1.0 - p) / n as f64).sqrt(),
                "op {i}: {rate} vs {p}"
            );
        }
    }

    #[test]
    fn two_path_sampler_handles_extreme_probabilities() {
        // All α very negative: the residual one-op cell must still give {} and {op}, and a
        // non-residual two-op cell two different non-empty sets, without long rejection.
        let space = cifar();
        let sub = mixed_subspace(&space);
        let alphas = vec![vec![-1e6f32; 27]; 12];
        let mut r = rng(0);
        for _ in 0..200 {
            let pair = sub.sample_two_paths(&alphas, &mut r).unwrap();
            let cell = &pair.cells[3];
            assert!(
                !cell.selected.is_empty()
                    && !cell.other().is_empty()
                    && cell.selected != cell.other()
            );
            let (ps, pu) = cell.probabilities(&alphas[3]);
            assert!(ps > 0.0 && pu > 0.0);
            assert_ne!(pair.cells[7].selected, pair.cells[7].other());
        }
    }

    fn imagenet_state() -> (SearchSpace, SubSpace) {
        let space = SpaceSpec::preset("imagenet-mb27").unwrap().check().unwrap();
        let sub = EvolutionState::from_seed(&space, 0).subspace().clone();
        (space, sub)
    }

    #[test]
    fn feasibility_sweeps_probabilities_beyond_the_uniform_one() {
        // The imagenet-mb27 preset's window: at p = 0.5 every architecture costs far more
        // (the reference reaches it only once the indicators have learned the target).
        let (space, sub) = imagenet_state();
        let macs = raw(&space, CostMetric::Macs);
        let window = ResourceWindow::new(300e6, 15e6, 15e6);
        let zeros = vec![vec![0.0f32; 27]; 22];
        let mut sampler = WindowSampler::new(window, 50, 5);
        sampler.max_attempts = 20_000;
        let mut uniform_only = sampler;
        uniform_only.max_attempts = 2_000;
        assert!(matches!(
            uniform_only.sample(&space, &macs, &sub, &zeros, &mut rng(1)),
            Err(SpaceError::WindowInfeasible { found: 0, .. })
        ));
        let f = sampler
            .check_feasible(&space, &macs, &sub, &mut rng(1))
            .unwrap();
        assert!(f.found >= 50 && f.found_extra >= 5, "{f:?}");
        assert!(f.cheapest < 285e6 && f.dearest > 315e6, "{f:?}");
        // The extremes are the sparsest and the densest architecture of the sub-space.
        let cost = |a: &Architecture| space.architecture_cost(a).unwrap().total.macs as f64;
        let dense = Architecture::new(sub.cells().to_vec()).unwrap();
        assert_eq!(f.dearest, cost(&dense));
        let table = space.cost_table();
        let sparse = Architecture::new(
            (0..sub.num_cells())
                .map(|c| {
                    if sub.is_residual(c) {
                        vec![]
                    } else {
                        let ops = sub.ops(c);
                        let best = *ops.iter().min_by_key(|&&i| table[c][i].macs).unwrap();
                        vec![best]
                    }
                })
                .collect(),
        )
        .unwrap();
        assert_eq!(f.cheapest, cost(&sparse));
        // Every architecture drawn by the sweep lies between the two.
        for _ in 0..200 {
            let a = sub.sample_uniform(&mut rng(3));
            let c = cost(&a);
            assert!(f.cheapest <= c && c <= f.dearest);
        }
    }

    #[test]
    fn unreachable_and_too_small_windows_fail_the_feasibility_check() {
        let (space, sub) = imagenet_state();
        let macs = raw(&space, CostMetric::Macs);
        let sampler = WindowSampler::new(ResourceWindow::new(1e12, 1e6, 1e6), 5, 1);
        let err = sampler
            .check_feasible(&space, &macs, &sub, &mut rng(0))
            .unwrap_err();
        assert!(
            matches!(err, SpaceError::WindowUnreachable { dearest, .. } if dearest < 1e12),
            "{err}"
        );
        assert!(err.to_string().contains("out of reach"), "{err}");
        // Reachable window, but the extra band lies below the cheapest architecture.
        let (cheapest, _) = sampler.reachable_range(&space, &macs, &sub).unwrap();
        let low_band = WindowSampler::new(ResourceWindow::new(cheapest + 2e6, 2.5e6, 1e6), 5, 1);
        assert!(matches!(
            low_band.check_feasible(&space, &macs, &sub, &mut rng(0)),
            Err(SpaceError::WindowUnreachable { .. })
        ));
        // More distinct architectures wanted than a one-op-per-cell window can hold.
        let one = SubSpace::new(&space, vec![vec![3]; 22]).unwrap();
        let (c, _) = WindowSampler::new(ResourceWindow::new(1.0, 1.0, 0.0), 1, 0)
            .reachable_range(&space, &macs, &one)
            .unwrap();
        let mut tiny = WindowSampler::new(ResourceWindow::new(c, 1e9, 0.0), 5_000, 0);
        tiny.max_attempts = 5_000;
        let err = tiny
            .check_feasible(&space, &macs, &one, &mut rng(0))
            .unwrap_err();
        assert!(
            matches!(err, SpaceError::WindowInfeasible { found, attempts, .. } if found < 5_000 && attempts <= 5_000),
            "{err}"
        );
    }

    #[test]
    fn window_sampler_stays_in_its_windows() {
        let (space, sub) = imagenet_state();
        let macs = raw(&space, CostMetric::Macs);
        let zeros = vec![vec![0.0f32; 27]; 22];
        // Centre the window on the median cost of the distribution.
        let mut r = rng(1);
        let mut costs: Vec<f64> = (0..2000)
            .map(|_| {
                space
                    .architecture_cost(&sub.sample_uniform(&mut r))
                    .unwrap()
                    .total
                    .macs as f64
            })
            .collect();
        costs.sort_by(f64::total_cmp);
        let target = costs[1000];
        let window = ResourceWindow::new(target, 0.03 * target, 0.05 * target);
        let sampler = WindowSampler::new(window, 300, 30);
        let batch = sampler
            .sample(&space, &macs, &sub, &zeros, &mut rng(2))
            .unwrap();
        assert_eq!((batch.window.len(), batch.extra.len()), (300, 30));
        assert!(batch.attempts >= 330 && batch.attempts <= sampler.max_attempts);
        let mut distinct = HashSet::new();
        for (list, in_band) in [(&batch.window, true), (&batch.extra, false)] {
            for s in list {
                let cost = space.architecture_cost(&s.architecture).unwrap().total;
                assert_eq!(cost.macs as f64, s.cost);
                let m = s.cost;
                if in_band {
                    assert!(
                        window.low() < m && m < window.high(),
                        "{m} outside the window"
                    );
                } else {
                    assert!(
                        window.extra_low() < m && m <= window.low(),
                        "{m} outside the extra band"
                    );
                }
                assert!(sub.contains_architecture(&s.architecture));
                assert!(
                    distinct.insert(s.architecture.clone()),
                    "repeated architecture"
                );
            }
        }
        assert_eq!(
            sampler
                .sample(&space, &macs, &sub, &zeros, &mut rng(2))
                .unwrap(),
            batch
        );
        assert_ne!(
            sampler
                .sample(&space, &macs, &sub, &zeros, &mut rng(3))
                .unwrap(),
            batch
        );

        // A parameter window.
        let arch = sub.sample_uniform(&mut r);
        let params = space.architecture_cost(&arch).unwrap().total.params as f64;
        let window = ResourceWindow::new(params, 0.05 * params, 0.0);
        let params_table = raw(&space, CostMetric::Params);
        let batch = WindowSampler::new(window, 10, 0)
            .sample(&space, &params_table, &sub, &zeros, &mut r)
            .unwrap();
        assert!(batch.window.iter().all(|s| {
            window.contains(s.cost)
                && s.cost
                    == space
                        .architecture_cost(&s.architecture)
                        .unwrap()
                        .total
                        .params as f64
        }));
        // A table of another space is refused.
        let other = SpaceSpec::preset("cifar10-mb27").unwrap().check().unwrap();
        assert!(matches!(
            WindowSampler::new(window, 1, 0).sample(
                &space,
                &raw(&other, CostMetric::Macs),
                &sub,
                &zeros,
                &mut r
            ),
            Err(SpaceError::InvalidSpec {
                field: "cost table",
                ..
            })
        ));
    }

    #[test]
    fn sparse_draws_top_up_an_extra_band_the_learned_distribution_misses() {
        let (space, sub) = imagenet_state();
        let macs = raw(&space, CostMetric::Macs);
        let zeros = vec![vec![0.0f32; 27]; 22];
        let mut draws = rng(7);
        let uniform_min = (0..5_000)
            .map(|_| {
                let a = sub.sample_bernoulli(&zeros, &mut draws).unwrap();
                macs.architecture_cost(a.cells())
            })
            .fold(f64::INFINITY, f64::min);
        let sampler = WindowSampler::new(ResourceWindow::new(0.0, 0.0, 0.0), 1, 1);
        let (cheapest, _) = sampler.reachable_range(&space, &macs, &sub).unwrap();
        assert!(cheapest < 0.8 * uniform_min, "{cheapest} vs {uniform_min}");
        // The window starts just below the cheapest uniform draw, the band below it reaches
        // the sparsest architecture: only sparse draws land in the band.
        let low = 0.95 * uniform_min;
        let window = ResourceWindow::new(low + 1e9, 1e9, low - cheapest + 1.0);
        let draw = |window| {
            WindowSampler {
                max_attempts: 600,
                ..WindowSampler::new(window, 5, 3)
            }
            .sample(&space, &macs, &sub, &zeros, &mut rng(0))
            .unwrap()
        };
        let batch = draw(window);
        assert_eq!(batch.window.len(), 5);
        assert_eq!((batch.extra.len(), batch.extra_from_sweep), (3, 3));
        assert!(
            batch.attempts > 600 && batch.attempts <= 1_200,
            "{}",
            batch.attempts
        );
        for a in &batch.extra {
            assert!(window.in_extra_band(a.cost), "{} outside the band", a.cost);
            assert_eq!(a.cost, macs.architecture_cost(a.architecture.cells()));
            assert!(sub.contains_architecture(&a.architecture));
        }
        let distinct: HashSet<_> = batch.extra.iter().map(|a| &a.architecture).collect();
        assert_eq!(distinct.len(), 3);
        assert_eq!(draw(window), batch);

        // A band below every architecture: the window is still evaluated, the band reported
        // short after both passes instead of failing the round.
        let batch = draw(ResourceWindow::new(cheapest - 1.0 + 1e9, 1e9, 0.5));
        assert_eq!(batch.window.len(), 5);
        assert_eq!((batch.extra.len(), batch.extra_from_sweep), (0, 0));
        assert_eq!(batch.attempts, 1_200);
    }

    #[test]
    fn infeasible_windows_report_counts_and_seen_range() {
        let (space, sub) = imagenet_state();
        let macs = raw(&space, CostMetric::Macs);
        let zeros = vec![vec![0.0f32; 27]; 22];
        let fixed = space.fixed_cost().macs as f64;
        let window = ResourceWindow::new(1e6, 1e5, 1e5);
        let sampler = WindowSampler {
            max_attempts: 500,
            ..WindowSampler::new(window, 5, 1)
        };
        match sampler.sample(&space, &macs, &sub, &zeros, &mut rng(0)) {
            Err(SpaceError::WindowInfeasible {
                found: 0,
                wanted: 5,
                found_extra: 0,
                wanted_extra: 1,
                attempts: 500,
                seen: Some((lo, hi)),
                low,
                high,
                ..
            }) => {
                assert!(fixed < lo && lo < hi, "seen {lo}..{hi}, fixed {fixed}");
                assert_eq!((low, high), (9e5, 1.1e6));
            }
            other => panic!("{other:?}"),
        }
        // A sub-space with a single architecture: one found, the second never.
        let cells = (0..22)
            .map(|c| {
                if sub.is_residual(c) {
                    vec![]
                } else {
                    vec![sub.ops(c)[0]]
                }
            })
            .collect();
        let single = SubSpace::new(&space, cells).unwrap();
        let arch = single.sample_uniform(&mut rng(0));
        let cost = space.architecture_cost(&arch).unwrap().total.macs as f64;
        let window = ResourceWindow::new(cost, 1.0, 0.0);
        let err = WindowSampler {
            max_attempts: 50,
            ..WindowSampler::new(window, 2, 0)
        }
        .sample(&space, &macs, &single, &zeros, &mut rng(0))
        .unwrap_err();
        assert_eq!(
            err,
            SpaceError::WindowInfeasible {
                low: cost - 1.0,
                high: cost + 1.0,
                extra_low: cost - 1.0,
                attempts: 50,
                found: 1,
                wanted: 2,
                found_extra: 0,
                wanted_extra: 0,
                seen: Some((cost, cost)),
            }
        );
        assert!(err.to_string().contains("found 1 of 2"), "{err}");

        // Invalid settings.
        let ok = ResourceWindow::new(3e8, 1e7, 1e7);
        let bad = [
            (
                WindowSampler::new(ResourceWindow { drift: 0.0, ..ok }, 1, 0),
                "drift",
            ),
            (
                WindowSampler::new(
                    ResourceWindow {
                        target: f64::NAN,
                        ..ok
                    },
                    1,
                    0,
                ),
                "target",
            ),
            (
                WindowSampler::new(
                    ResourceWindow {
                        extra_drift: -1.0,
                        ..ok
                    },
                    1,
                    0,
                ),
                "extra_drift",
            ),
            (
                WindowSampler::new(
                    ResourceWindow {
                        extra_drift: 0.0,
                        ..ok
                    },
                    1,
                    1,
                ),
                "extra_drift",
            ),
            (WindowSampler::new(ok, 0, 0), "n"),
            (
                WindowSampler {
                    max_attempts: 3,
                    ..WindowSampler::new(ok, 2, 2)
                },
                "max_attempts",
            ),
        ];
        for (sampler, field) in bad {
            match sampler.sample(&space, &macs, &sub, &zeros, &mut rng(0)) {
                Err(SpaceError::InvalidWindow { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        let other = SpaceSpec::preset("cifar10-mb27").unwrap().check().unwrap();
        assert!(matches!(
            WindowSampler::new(ok, 1, 0).sample(&other, &macs, &sub, &zeros, &mut rng(0)),
            Err(SpaceError::SpaceMismatch { .. })
        ));
    }
}
