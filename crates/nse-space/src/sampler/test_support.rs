//! Helpers shared by the samplers' tests: spaces, sub-spaces, indicators, the documented
//! distribution by enumeration, and a chi-square statistic.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use nse_ops::CostMetric;

use crate::cost_model::{CostModel, CostTable};
use crate::error::Result;
use crate::evolution::EvolutionState;
use crate::space::{SearchSpace, SpaceSpec};
use crate::subspace::SubSpace;

/// MACs or parameters in raw units (not millions): a cost model of the tests' own.
#[derive(Debug)]
pub(crate) struct Raw(CostMetric);

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

pub(crate) fn raw(space: &SearchSpace, metric: CostMetric) -> CostTable {
    CostTable::new(space, &Raw(metric)).unwrap()
}

pub(crate) fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

pub(crate) fn cifar() -> SearchSpace {
    SpaceSpec::preset("cifar10-mb27").unwrap().check().unwrap()
}

/// cifar10-mb27 cells: N R N R N R N E N R N E (even cells residual).
pub(crate) fn mixed_subspace(space: &SearchSpace) -> SubSpace {
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

pub(crate) fn random_alphas(space: &SearchSpace, seed: u64) -> Vec<Vec<f32>> {
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
pub(crate) fn distribution(ops: &[usize], alpha: &[f32], residual: bool) -> Vec<(Vec<usize>, f64)> {
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
pub(crate) fn raw_product(ops: &[usize], alpha: &[f32], set: &[usize]) -> f64 {
    ops.iter()
        .map(|&i| {
            let p = 1.0 / (1.0 + (-f64::from(alpha[i])).exp()) * 0.999 + 0.0005;
            if set.contains(&i) { p } else { 1.0 - p }
        })
        .product()
}

pub(crate) fn chi_square(
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
pub(crate) fn limited(max: usize) -> (SearchSpace, SubSpace) {
    let mut spec = SpaceSpec::preset("cifar10-mb27").unwrap();
    spec.max_branches = Some(max);
    let space = spec.check().unwrap();
    let sub = SubSpace::new(&space, mixed_subspace(&cifar()).cells().to_vec()).unwrap();
    (space, sub)
}

/// The documented distribution conditioned on at most `max` ops.
pub(crate) fn limited_distribution(
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

pub(crate) fn imagenet_state() -> (SearchSpace, SubSpace) {
    let space = SpaceSpec::preset("imagenet-mb27").unwrap().check().unwrap();
    let sub = EvolutionState::from_seed(&space, 0).subspace().clone();
    (space, sub)
}
