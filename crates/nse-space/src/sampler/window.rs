//! The resource window and the end-of-round sampler (docs/method.md §7.1): `n` distinct
//! architectures inside the window, `n_extra` in the band just below it, and the check
//! before training that the first sub-space can meet it.

use std::collections::HashSet;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::architecture::Architecture;
use crate::cost_model::CostTable;
use crate::error::{Result, SpaceError};
use crate::evolution::check_alphas;
use crate::space::SearchSpace;
use crate::subspace::SubSpace;
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
    use nse_ops::CostMetric;

    use super::*;
    use crate::sampler::test_support::*;
    use crate::space::SpaceSpec;

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
