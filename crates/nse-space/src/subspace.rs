//! The sub-space: per cell, the pool ops that may be sampled in the current round
//! (docs/method.md §1, §6).

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::architecture::Architecture;
use crate::error::{Result, SpaceError};
use crate::evolution::check_alphas;
use crate::sampler::{
    CellPaths, ENUMERATE_MAX_OPS, PathPair, WeightSampling, branch_probability, draw_mask, joint,
    mask_to_ops, pick,
};
use crate::space::SearchSpace;

/// Per cell, the sorted set of pool indices a sampler may switch on, with whether the cell is
/// residual (and may therefore be sampled empty).
///
/// Invariants (checked by [`SubSpace::new`] and on deserialization): one entry per cell of the
/// space, indices in range, no repeats, and every non-residual cell non-empty — so that every
/// sampler can always produce a valid architecture.
///
/// ```
/// use nse_space::{SpaceSpec, SubSpace};
/// let space = SpaceSpec::preset("cifar10-mb27").unwrap().check().unwrap();
/// let mut cells = vec![vec![0, 3]; space.num_cells()];
/// cells[0] = vec![]; // cell 0 is residual: it may have no op at all
/// let sub = SubSpace::new(&space, cells).unwrap();
/// assert!(sub.is_deterministic(0));
/// assert_eq!(sub.ops(1), &[0, 3]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SubSpaceRepr")]
pub struct SubSpace {
    pub(crate) pool_size: usize,
    pub(crate) residual: Vec<bool>,
    pub(crate) cells: Vec<Vec<usize>>,
    /// The space's `max_branches`: samplers never switch on more ops in a cell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_branches: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubSpaceRepr {
    pool_size: usize,
    residual: Vec<bool>,
    cells: Vec<Vec<usize>>,
    #[serde(default)]
    max_branches: Option<usize>,
}

impl TryFrom<SubSpaceRepr> for SubSpace {
    type Error = SpaceError;
    fn try_from(repr: SubSpaceRepr) -> Result<Self> {
        let sub = SubSpace {
            pool_size: repr.pool_size,
            residual: repr.residual,
            cells: repr.cells,
            max_branches: repr.max_branches,
        };
        sub.validate()?;
        Ok(sub)
    }
}

impl SubSpace {
    /// A sub-space of `space` from per-cell op lists (sorted here; repeats, out-of-range
    /// indices and empty non-residual cells are errors naming the cell).
    pub fn new(space: &SearchSpace, mut cells: Vec<Vec<usize>>) -> Result<Self> {
        if cells.len() != space.num_cells() {
            return Err(SpaceError::WrongCellCount {
                expected: space.num_cells(),
                got: cells.len(),
            });
        }
        for ops in &mut cells {
            ops.sort_unstable();
        }
        let sub = SubSpace {
            pool_size: space.pool().len(),
            residual: space.cells().iter().map(|c| c.is_residual()).collect(),
            cells,
            max_branches: space.spec().max_branches,
        };
        sub.validate_in(space)?;
        Ok(sub)
    }

    /// Every pool op in every cell.
    pub fn full(space: &SearchSpace) -> Self {
        SubSpace {
            pool_size: space.pool().len(),
            residual: space.cells().iter().map(|c| c.is_residual()).collect(),
            cells: vec![(0..space.pool().len()).collect(); space.num_cells()],
            max_branches: space.spec().max_branches,
        }
    }

    /// The per-cell sorted op sets.
    pub fn cells(&self) -> &[Vec<usize>] {
        &self.cells
    }

    /// The sorted ops of `cell` (panics if `cell` is out of range).
    pub fn ops(&self, cell: usize) -> &[usize] {
        &self.cells[cell]
    }

    /// Number of cells.
    pub fn num_cells(&self) -> usize {
        self.cells.len()
    }

    /// Size of the candidate pool the indices refer to.
    pub fn pool_size(&self) -> usize {
        self.pool_size
    }

    /// Most ops a sampler switches on in a cell (the space's `max_branches`; `None`: any).
    pub fn max_branches(&self) -> Option<usize> {
        self.max_branches
    }

    /// Whether `cell` is residual (may be sampled empty); panics if `cell` is out of range.
    pub fn is_residual(&self, cell: usize) -> bool {
        self.residual[cell]
    }

    /// Whether op `index` is in the sub-space of `cell`.
    pub fn contains(&self, cell: usize, index: usize) -> bool {
        self.cells
            .get(cell)
            .is_some_and(|ops| ops.binary_search(&index).is_ok())
    }

    /// Whether `cell` has a single possible branch set: an empty sub-space, or a single op in
    /// a non-residual cell. Samplers return that set for both paths (docs/method.md §6).
    pub fn is_deterministic(&self, cell: usize) -> bool {
        let n = self.cells[cell].len();
        n == 0 || (n == 1 && !self.residual[cell])
    }

    /// Whether every op of `arch` lies in this sub-space (and the cell counts agree).
    pub fn contains_architecture(&self, arch: &Architecture) -> bool {
        arch.num_cells() == self.num_cells()
            && arch
                .cells()
                .iter()
                .enumerate()
                .all(|(cell, ops)| ops.iter().all(|&i| self.contains(cell, i)))
    }

    /// Checks that this sub-space belongs to `space`: same cell count, pool size and
    /// residual cells.
    pub fn check_space(&self, space: &SearchSpace) -> Result<()> {
        if self.num_cells() != space.num_cells() {
            return Err(SpaceError::SpaceMismatch {
                what: "cells",
                expected: space.num_cells().to_string(),
                got: self.num_cells().to_string(),
            });
        }
        if self.pool_size != space.pool().len() {
            return Err(SpaceError::SpaceMismatch {
                what: "pool size",
                expected: space.pool().len().to_string(),
                got: self.pool_size.to_string(),
            });
        }
        let residual: Vec<bool> = space.cells().iter().map(|c| c.is_residual()).collect();
        if residual != self.residual {
            return Err(SpaceError::SpaceMismatch {
                what: "residual cells",
                expected: format!("{residual:?}"),
                got: format!("{:?}", self.residual),
            });
        }
        if space.spec().max_branches != self.max_branches {
            return Err(SpaceError::SpaceMismatch {
                what: "max_branches",
                expected: format!("{:?}", space.spec().max_branches),
                got: format!("{:?}", self.max_branches),
            });
        }
        Ok(())
    }

    fn validate_in(&self, space: &SearchSpace) -> Result<()> {
        for (cell, ops) in self.cells.iter().enumerate() {
            if let Some(w) = ops.windows(2).find(|w| w[0] == w[1]) {
                return Err(SpaceError::DuplicateOp { cell, index: w[0] });
            }
            if let Some(&index) = ops.iter().find(|&&i| i >= self.pool_size) {
                return Err(SpaceError::IndexOutOfRange {
                    cell,
                    index,
                    pool: space.pool().name().to_string(),
                    len: self.pool_size,
                });
            }
            if ops.is_empty() && !self.residual[cell] {
                let c = &space.cells()[cell];
                return Err(SpaceError::EmptyCell {
                    cell,
                    kind: c.kind.letter(),
                    cin: c.geometry.cin,
                    cout: c.geometry.cout,
                    stride: c.geometry.stride,
                });
            }
        }
        Ok(())
    }

    /// Internal invariants, without a space at hand (deserialization).
    pub(crate) fn validate(&self) -> Result<()> {
        let fail = |reason: String| SpaceError::InvalidState {
            what: "sub-space",
            reason,
        };
        if self.max_branches == Some(0) {
            return Err(fail("max_branches is 0".into()));
        }
        if self.residual.len() != self.cells.len() {
            return Err(fail(format!(
                "{} residual flags for {} cells",
                self.residual.len(),
                self.cells.len()
            )));
        }
        for (cell, ops) in self.cells.iter().enumerate() {
            if ops.windows(2).any(|w| w[0] >= w[1]) {
                return Err(fail(format!(
                    "cell {cell}: ops {ops:?} are not sorted and distinct"
                )));
            }
            if let Some(&i) = ops.iter().find(|&&i| i >= self.pool_size) {
                return Err(fail(format!(
                    "cell {cell}: op {i} is out of range for a pool of {} ops",
                    self.pool_size
                )));
            }
            if ops.is_empty() && !self.residual[cell] {
                return Err(fail(format!("cell {cell} is not residual and has no op")));
            }
        }
        Ok(())
    }
}

/// The samplers (docs/method.md §6, §7; the distribution `D` in [`crate::sampler`]).
impl SubSpace {
    fn probs(&self, cell: usize, alphas: &[Vec<f32>]) -> Vec<f64> {
        self.cells[cell]
            .iter()
            .map(|&i| branch_probability(alphas[cell][i]))
            .collect()
    }

    pub(crate) fn sample_with<R: Rng + ?Sized>(
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

/// The weight step's path ([`WeightSampling`]): the reference's coin per op, or
/// **\[ours\]** a uniform branch count, or FairNAS-style fair blocks (every op of a cell
/// trained equally often within each block of as many steps as the cell has ops; a resumed
/// search draws the same paths, every draw depending only on the seeds and the step).
impl SubSpace {
    /// The path of weight step `step` under `sampling`: [`Bernoulli`](WeightSampling::Bernoulli)
    /// and [`UniformCount`](WeightSampling::UniformCount) draw from `rng` (the step's own
    /// generator); [`Fair`](WeightSampling::Fair) draws each cell's block from a generator
    /// seeded with `block_seed(cell, block)` and places the step in it.
    pub fn sample_weight_path<R: Rng + ?Sized>(
        &self,
        sampling: WeightSampling,
        step: u64,
        rng: &mut R,
        block_seed: impl Fn(usize, u64) -> u64,
    ) -> Architecture {
        match sampling {
            WeightSampling::Bernoulli => self.sample_uniform(rng),
            WeightSampling::UniformCount => self.sample_uniform_count(rng),
            WeightSampling::Fair => self.sample_fair(step, block_seed),
        }
    }

    /// The most ops cell `cell` may switch on, and the fewest.
    fn branch_range(&self, cell: usize) -> (usize, usize) {
        let n = self.cells[cell].len();
        let most = self.max_branches.map_or(n, |m| m.min(n));
        (usize::from(!self.residual[cell]).min(most), most)
    }

    /// [`WeightSampling::UniformCount`]: per cell a branch count uniform over the allowed
    /// ones, then that many of the cell's ops uniformly. Cells in order.
    pub fn sample_uniform_count<R: Rng + ?Sized>(&self, rng: &mut R) -> Architecture {
        let cells = (0..self.num_cells())
            .map(|cell| {
                let (least, most) = self.branch_range(cell);
                let count = rng.random_range(least..=most);
                let mut ops = self.cells[cell].clone();
                let (chosen, _) = ops.partial_shuffle(rng, count);
                let mut chosen = chosen.to_vec();
                chosen.sort_unstable();
                chosen
            })
            .collect();
        Architecture::from_sorted(cells)
    }

    /// [`WeightSampling::Fair`] at weight step `step`. A cell
    /// with n ops is in block `step / n` at place `step % n`; the block's order and branch
    /// count come from `block_seed(cell, block)`.
    pub fn sample_fair(&self, step: u64, block_seed: impl Fn(usize, u64) -> u64) -> Architecture {
        let cells = (0..self.num_cells())
            .map(|cell| {
                let ops = &self.cells[cell];
                let n = ops.len() as u64;
                if n == 0 {
                    return Vec::new();
                }
                let (block, place) = (step / n, (step % n) as usize);
                let mut rng = ChaCha8Rng::seed_from_u64(block_seed(cell, block));
                let (_, most) = self.branch_range(cell);
                let count = rng.random_range(1..=most);
                let mut order = ops.clone();
                order.shuffle(&mut rng);
                let mut chosen: Vec<usize> = (0..count)
                    .map(|j| order[(place + j) % order.len()])
                    .collect();
                chosen.sort_unstable();
                chosen
            })
            .collect();
        Architecture::from_sorted(cells)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::SpaceSpec;

    fn space() -> SearchSpace {
        SpaceSpec::preset("cifar10-mb27").unwrap().check().unwrap()
    }

    #[test]
    fn construction_is_validated_with_the_cell_named() {
        let space = space();
        let n = space.num_cells();
        assert!(matches!(
            SubSpace::new(&space, vec![vec![0]; n - 1]),
            Err(SpaceError::WrongCellCount {
                expected: 12,
                got: 11
            })
        ));
        let mut cells = vec![vec![4, 1]; n];
        let sub = SubSpace::new(&space, cells.clone()).unwrap();
        assert_eq!(sub.ops(3), &[1, 4]);
        cells[2] = vec![1, 1];
        assert_eq!(
            SubSpace::new(&space, cells.clone()),
            Err(SpaceError::DuplicateOp { cell: 2, index: 1 })
        );
        cells[2] = vec![27];
        assert!(matches!(
            SubSpace::new(&space, cells.clone()),
            Err(SpaceError::IndexOutOfRange {
                cell: 2,
                index: 27,
                len: 27,
                ..
            })
        ));
        cells[2] = vec![];
        assert!(
            SubSpace::new(&space, cells.clone()).is_ok(),
            "cell 2 is N, residual"
        );
        cells[1] = vec![];
        assert!(matches!(
            SubSpace::new(&space, cells),
            Err(SpaceError::EmptyCell {
                cell: 1,
                kind: 'R',
                ..
            })
        ));
    }

    #[test]
    fn determinism_and_membership() {
        let space = space();
        let mut cells = vec![vec![0, 5]; space.num_cells()];
        cells[0] = vec![];
        cells[1] = vec![7];
        cells[2] = vec![7];
        let sub = SubSpace::new(&space, cells).unwrap();
        assert!(sub.is_deterministic(0)); // empty
        assert!(sub.is_deterministic(1)); // one op, non-residual
        assert!(!sub.is_deterministic(2)); // one op, residual: {} or {7}
        assert!(!sub.is_deterministic(3));
        assert!(sub.contains(3, 5) && !sub.contains(3, 4) && !sub.contains(99, 0));
        let mut arch = vec![vec![0]; 12];
        arch[0] = vec![];
        arch[1] = vec![7];
        arch[2] = vec![];
        assert!(sub.contains_architecture(&Architecture::new(arch.clone()).unwrap()));
        arch[4] = vec![0, 4];
        assert!(!sub.contains_architecture(&Architecture::new(arch).unwrap()));
    }

    #[test]
    fn serde_round_trip_and_invariants() {
        let space = space();
        let sub = SubSpace::full(&space);
        sub.check_space(&space).unwrap();
        let json = serde_json::to_string(&sub).unwrap();
        assert_eq!(serde_json::from_str::<SubSpace>(&json).unwrap(), sub);
        let bad = r#"{"pool_size": 3, "residual": [true, false], "cells": [[0], []]}"#;
        let err = serde_json::from_str::<SubSpace>(bad).unwrap_err();
        assert!(err.to_string().contains("cell 1 is not residual"), "{err}");
        let bad = r#"{"pool_size": 3, "residual": [true], "cells": [[2, 1]]}"#;
        assert!(serde_json::from_str::<SubSpace>(bad).is_err());
        let other = SpaceSpec::preset("cifar10-mb72").unwrap().check().unwrap();
        assert!(matches!(
            sub.check_space(&other),
            Err(SpaceError::SpaceMismatch {
                what: "pool size",
                ..
            })
        ));
    }

    mod samplers {
        use super::*;
        use crate::sampler::test_support::*;

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
            for (c, residual, sets) in [(0, true, 7), (1, false, 6), (8, true, 16), (9, false, 15)]
            {
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
    }
}
