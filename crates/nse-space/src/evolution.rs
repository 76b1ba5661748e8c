//! The evolving search space of NSE: per-cell sub-spaces, pending pools, the kept set of the
//! previous Pareto front, dropping by importance indicator, and evolution between rounds
//! (docs/method.md §1, §6 "Dropping", §7 "Evolve").
//!
//! # Lifecycle
//!
//! ```text
//! state = EvolutionState::from_seed(&space, seed)        // round 1, K ops per cell
//! while !state.is_finished():
//!     train the supernet on state.subspace(); every iteration
//!         state.drop_below(&alphas, threshold)            // returns the ops dropped per cell
//!     sample + evaluate, Pareto front (crate::pareto)
//!     state.evolve(&front)                                // kept ∪ popped, round += 1
//! state.previous_front()                                  // the final front
//! ```
//!
//! # Initial sub-space \[ours\]
//!
//! Each cell's pool is shuffled once, cell 0 first, with the random generator given to
//! [`EvolutionState::new`]. The sub-space of round 1 is the **first K ops** of that cell's
//! permutation and the pending pool is the rest, in permutation order. The reference draws the
//! first K at random as well; taking them from the same permutation means one seed fixes the
//! whole order in which ops are introduced, and the state stores that order so that a resumed
//! search needs no generator.
//!
//! # Invariants
//!
//! Per cell, the sub-space, the pending pool and the retired ops (introduced earlier, then
//! dropped or left out of a front) partition the pool; the kept set is a subset of the
//! sub-space; the sub-space never exceeds K ops; a non-residual cell's sub-space is never
//! empty. A deserialized state is checked against all of them.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::architecture::Architecture;
use crate::error::{Result, SpaceError};
use crate::space::SearchSpace;
use crate::subspace::SubSpace;

/// The state of an NSE search between (and within) rounds; serde form for exact resume.
///
/// ```
/// use nse_space::{EvolutionState, SpaceSpec};
/// let space = SpaceSpec::preset("imagenet-mb27").unwrap().check().unwrap();
/// let state = EvolutionState::from_seed(&space, 7);
/// assert_eq!((state.round(), state.num_rounds()), (1, 6));
/// assert!(state.subspace().cells().iter().all(|ops| ops.len() == 5));
/// assert!(state.pending().iter().all(|p| p.len() == 22));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StateRepr")]
pub struct EvolutionState {
    round: usize,
    num_rounds: usize,
    subspace_size: usize,
    subspace: SubSpace,
    pending: Vec<Vec<usize>>,
    kept: Vec<Vec<usize>>,
    retired: Vec<Vec<usize>>,
    previous_front: Vec<Architecture>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateRepr {
    round: usize,
    num_rounds: usize,
    subspace_size: usize,
    subspace: SubSpace,
    pending: Vec<Vec<usize>>,
    kept: Vec<Vec<usize>>,
    retired: Vec<Vec<usize>>,
    previous_front: Vec<Architecture>,
}

impl TryFrom<StateRepr> for EvolutionState {
    type Error = SpaceError;
    fn try_from(r: StateRepr) -> Result<Self> {
        let state = EvolutionState {
            round: r.round,
            num_rounds: r.num_rounds,
            subspace_size: r.subspace_size,
            subspace: r.subspace,
            pending: r.pending,
            kept: r.kept,
            retired: r.retired,
            previous_front: r.previous_front,
        };
        state.validate()?;
        Ok(state)
    }
}

impl EvolutionState {
    /// The state of round 1: each cell's pool shuffled with `rng` (cell 0 first), its first K
    /// ops as the sub-space and the rest as the pending pool, no kept set, no front.
    pub fn new<R: Rng + ?Sized>(space: &SearchSpace, rng: &mut R) -> Self {
        // A checked space has 2 <= K <= pool, so every cell gets exactly K ops.
        let k = space.subspace_size();
        let n = space.num_cells();
        let mut subspace = SubSpace::full(space);
        let mut pending = Vec::with_capacity(n);
        for ops in &mut subspace.cells {
            ops.shuffle(rng);
            pending.push(ops.split_off(k));
            ops.sort_unstable();
        }
        EvolutionState {
            round: 1,
            num_rounds: space.num_rounds(),
            subspace_size: k,
            subspace,
            pending,
            kept: vec![Vec::new(); n],
            retired: vec![Vec::new(); n],
            previous_front: Vec::new(),
        }
    }

    /// [`EvolutionState::new`] with a `ChaCha8Rng` seeded from `seed`.
    pub fn from_seed(space: &SearchSpace, seed: u64) -> Self {
        Self::new(space, &mut ChaCha8Rng::seed_from_u64(seed))
    }

    /// The current round, from 1; `num_rounds() + 1` once the search is finished.
    pub fn round(&self) -> usize {
        self.round
    }

    /// Total rounds, `(pool − 1) / (K − 1)` (docs/method.md §7).
    pub fn num_rounds(&self) -> usize {
        self.num_rounds
    }

    /// Whether every round has been evolved: `previous_front()` is then the final front.
    pub fn is_finished(&self) -> bool {
        self.round > self.num_rounds
    }

    /// Sub-space size K.
    pub fn subspace_size(&self) -> usize {
        self.subspace_size
    }

    /// The current sub-space (what the samplers may switch on).
    pub fn subspace(&self) -> &SubSpace {
        &self.subspace
    }

    /// Per cell, the ops not introduced yet, next to be introduced first.
    pub fn pending(&self) -> &[Vec<usize>] {
        &self.pending
    }

    /// Per cell, the sorted union of the previous front's ops in that cell (empty in round 1).
    /// These ops are never dropped.
    pub fn kept(&self) -> &[Vec<usize>] {
        &self.kept
    }

    /// Per cell, the ops that were introduced and have left the sub-space for good (dropped
    /// by [`drop_below`](Self::drop_below), or absent from the front at
    /// [`evolve`](Self::evolve)), in the order they left.
    pub fn retired(&self) -> &[Vec<usize>] {
        &self.retired
    }

    /// The Pareto front that produced the current sub-space (empty in round 1); after the last
    /// round, the final front.
    pub fn previous_front(&self) -> &[Architecture] {
        &self.previous_front
    }

    /// Checks that this state belongs to `space` (cell count, pool size, residual cells, K,
    /// rounds): call it when resuming from a checkpoint.
    pub fn check_space(&self, space: &SearchSpace) -> Result<()> {
        self.subspace.check_space(space)?;
        if self.subspace_size != space.subspace_size() {
            return Err(SpaceError::SpaceMismatch {
                what: "sub-space size K",
                expected: space.subspace_size().to_string(),
                got: self.subspace_size.to_string(),
            });
        }
        if self.num_rounds != space.num_rounds() {
            return Err(SpaceError::SpaceMismatch {
                what: "number of rounds",
                expected: space.num_rounds().to_string(),
                got: self.num_rounds.to_string(),
            });
        }
        for arch in &self.previous_front {
            space.check_architecture(arch)?;
        }
        Ok(())
    }

    /// Removes from every cell's sub-space the ops with `α < threshold` (docs/method.md §6),
    /// except:
    /// 1. ops of the previous Pareto front (the kept set) are never dropped;
    /// 2. a non-residual cell with exactly two ops is never cut;
    /// 3. **\[ours\]** a non-residual cell never becomes empty: if every op left would be
    ///    dropped, the one with the highest α stays (the lowest index among equal α).
    ///
    /// Residual cells may become empty. A NaN α is never below the threshold. Dropped ops
    /// are retired: they never come back, neither in this round nor in a later one.
    ///
    /// `alphas` is indexed `[cell][pool op]`. Returns the ops dropped in each cell by this
    /// call (sorted), for logging.
    pub fn drop_below(&mut self, alphas: &[Vec<f32>], threshold: f32) -> Result<Vec<Vec<usize>>> {
        check_alphas(alphas, self.subspace.num_cells(), self.subspace.pool_size())?;
        let mut dropped_all = Vec::with_capacity(alphas.len());
        for (cell, alpha) in alphas.iter().enumerate() {
            let residual = self.subspace.residual[cell];
            let ops = &mut self.subspace.cells[cell];
            let kept = &self.kept[cell];
            if !residual && ops.len() == 2 {
                dropped_all.push(Vec::new());
                continue;
            }
            let mut dropped: Vec<usize> = ops
                .iter()
                .copied()
                .filter(|&i| alpha[i] < threshold && kept.binary_search(&i).is_err())
                .collect();
            if !residual && !dropped.is_empty() && dropped.len() == ops.len() {
                // [ours]: keep the highest-α op (first maximum, i.e. lowest index on ties).
                let best = dropped
                    .iter()
                    .copied()
                    .reduce(|a, b| if alpha[b] > alpha[a] { b } else { a })
                    .expect("non-empty");
                dropped.retain(|&i| i != best);
            }
            ops.retain(|i| dropped.binary_search(i).is_err());
            self.retired[cell].extend_from_slice(&dropped);
            dropped_all.push(dropped);
        }
        Ok(dropped_all)
    }

    /// **\[ours\]** Replaces the sub-space of the round about to start with `cells` (research
    /// code intervening between rounds). Per cell the new set must hold the kept set (the
    /// previous front is evaluated again), at most K ops, at least one op in a non-residual
    /// cell, and no retired op. Ops it takes from the pending pool leave it; ops it leaves
    /// out go back to the front of the pending pool (in their index order), to be introduced
    /// again first. Returns the new sub-space; on error nothing changes.
    pub fn replace_subspace(&mut self, cells: Vec<Vec<usize>>) -> Result<&SubSpace> {
        let fail = |reason: String| SpaceError::InvalidState {
            what: "new sub-space",
            reason,
        };
        let n = self.subspace.num_cells();
        if cells.len() != n {
            return Err(SpaceError::WrongCellCount {
                expected: n,
                got: cells.len(),
            });
        }
        let mut next = self.clone();
        for (cell, mut ops) in cells.into_iter().enumerate() {
            ops.sort_unstable();
            ops.dedup();
            if ops.len() > self.subspace_size {
                return Err(fail(format!(
                    "cell {cell}: {} ops exceed K = {}",
                    ops.len(),
                    self.subspace_size
                )));
            }
            if ops.is_empty() && !self.subspace.residual[cell] {
                return Err(fail(format!("cell {cell} is not residual and needs an op")));
            }
            if let Some(op) = ops.iter().find(|op| self.retired[cell].contains(op)) {
                return Err(fail(format!("cell {cell}: op {op} was retired")));
            }
            if let Some(op) = self.kept[cell].iter().find(|op| !ops.contains(op)) {
                return Err(fail(format!(
                    "cell {cell}: op {op} belongs to the previous front and must stay"
                )));
            }
            if let Some(&op) = ops.iter().find(|&&op| op >= self.subspace.pool_size) {
                return Err(fail(format!("cell {cell}: op {op} is not in the pool")));
            }
            let left: Vec<usize> = self.subspace.cells[cell]
                .iter()
                .copied()
                .filter(|op| !ops.contains(op))
                .collect();
            let pending = &mut next.pending[cell];
            pending.retain(|op| !ops.contains(op));
            for (k, op) in left.into_iter().enumerate() {
                pending.insert(k, op);
            }
            next.subspace.cells[cell] = ops;
        }
        next.validate()?;
        *self = next;
        Ok(&self.subspace)
    }

    /// Ends the current round with its Pareto `front` (docs/method.md §7.4–5): the front
    /// becomes the previous front, its union of ops per cell the kept set; every other op of
    /// the sub-space is retired; the new sub-space is the kept set plus ops popped from the
    /// pending pool until it holds K (fewer once the pending pool runs out). The round counter
    /// advances; after the last round the state is finished.
    ///
    /// Every op of every front architecture must be in its cell's current sub-space (the
    /// front is sampled from it, and the previous front's ops are never dropped). Returns
    /// the ops introduced into each cell, in introduction order.
    pub fn evolve(&mut self, front: &[Architecture]) -> Result<Vec<Vec<usize>>> {
        if self.is_finished() {
            return Err(SpaceError::SearchFinished {
                rounds: self.num_rounds,
            });
        }
        if front.is_empty() {
            return Err(SpaceError::EmptyFront);
        }
        let n = self.subspace.num_cells();
        for (a, arch) in front.iter().enumerate() {
            if arch.num_cells() != n {
                return Err(SpaceError::WrongCellCount {
                    expected: n,
                    got: arch.num_cells(),
                });
            }
            for (cell, ops) in arch.cells().iter().enumerate() {
                if let Some(&index) = ops.iter().find(|&&i| !self.subspace.contains(cell, i)) {
                    return Err(SpaceError::NotInSubspace {
                        arch: a,
                        cell,
                        index,
                        subspace: self.subspace.cells[cell].clone(),
                    });
                }
            }
        }
        // Ops are in the sub-space, so a non-residual cell with no op in an architecture is
        // the only way the front can be invalid.
        for (a, arch) in front.iter().enumerate() {
            let empty = (0..n).find(|&c| !self.subspace.residual[c] && arch.cells()[c].is_empty());
            if let Some(cell) = empty {
                return Err(SpaceError::InvalidState {
                    what: "Pareto front",
                    reason: format!(
                        "architecture {a} leaves cell {cell} empty, but it is not residual"
                    ),
                });
            }
        }
        let mut introduced = Vec::with_capacity(n);
        for cell in 0..n {
            let mut kept: Vec<usize> = front
                .iter()
                .flat_map(|a| a.cells()[cell].iter().copied())
                .collect();
            kept.sort_unstable();
            kept.dedup();
            let ops = &mut self.subspace.cells[cell];
            let leaving = ops
                .iter()
                .copied()
                .filter(|i| kept.binary_search(i).is_err());
            self.retired[cell].extend(leaving);
            let take = self
                .subspace_size
                .saturating_sub(kept.len())
                .min(self.pending[cell].len());
            let new: Vec<usize> = self.pending[cell].drain(..take).collect();
            *ops = kept.iter().chain(&new).copied().collect();
            ops.sort_unstable();
            self.kept[cell] = kept;
            introduced.push(new);
        }
        self.previous_front = front.to_vec();
        self.round += 1;
        debug_assert!(self.validate().is_ok());
        Ok(introduced)
    }

    fn validate(&self) -> Result<()> {
        let fail = |reason: String| SpaceError::InvalidState {
            what: "evolution state",
            reason,
        };
        self.subspace.validate()?;
        let n = self.subspace.num_cells();
        let pool = self.subspace.pool_size;
        for (what, lists) in [
            ("pending", &self.pending),
            ("kept", &self.kept),
            ("retired", &self.retired),
        ] {
            if lists.len() != n {
                return Err(fail(format!(
                    "{what} has {} cells, the sub-space {n}",
                    lists.len()
                )));
            }
        }
        if self.subspace_size < 2 || self.subspace_size > pool {
            return Err(fail(format!(
                "K = {} is not in 2..={pool}",
                self.subspace_size
            )));
        }
        let rounds = (pool - 1) / (self.subspace_size - 1);
        if self.num_rounds != rounds {
            return Err(fail(format!(
                "{} rounds, expected (pool − 1) / (K − 1) = {rounds}",
                self.num_rounds
            )));
        }
        if self.round == 0 || self.round > rounds + 1 {
            return Err(fail(format!(
                "round {} is not in 1..={}",
                self.round,
                rounds + 1
            )));
        }
        for cell in 0..n {
            let sub = &self.subspace.cells[cell];
            if sub.len() > self.subspace_size {
                return Err(fail(format!(
                    "cell {cell}: {} ops exceed K = {}",
                    sub.len(),
                    self.subspace_size
                )));
            }
            let mut seen = vec![false; pool];
            for &i in sub
                .iter()
                .chain(&self.pending[cell])
                .chain(&self.retired[cell])
            {
                if i >= pool || std::mem::replace(&mut seen[i], true) {
                    return Err(fail(format!(
                        "cell {cell}: op {i} is out of range or in more than one of sub-space, pending and retired"
                    )));
                }
            }
            if let Some(i) = seen.iter().position(|s| !s) {
                return Err(fail(format!(
                    "cell {cell}: op {i} is in none of sub-space, pending and retired"
                )));
            }
            let kept = &self.kept[cell];
            if kept.windows(2).any(|w| w[0] >= w[1])
                || kept.iter().any(|i| sub.binary_search(i).is_err())
            {
                return Err(fail(format!(
                    "cell {cell}: kept set {kept:?} is not a sorted subset of the sub-space {sub:?}"
                )));
            }
        }
        if let Some(a) = self.previous_front.iter().position(|a| a.num_cells() != n) {
            return Err(fail(format!(
                "previous front architecture {a} does not have {n} cells"
            )));
        }
        for cell in 0..n {
            let mut union: Vec<usize> = self
                .previous_front
                .iter()
                .flat_map(|a| a.cells()[cell].iter().copied())
                .collect();
            union.sort_unstable();
            union.dedup();
            if union != self.kept[cell] {
                return Err(fail(format!(
                    "cell {cell}: kept set {:?} is not the previous front's ops {union:?}",
                    self.kept[cell]
                )));
            }
        }
        Ok(())
    }
}

/// Checks that `alphas` is `cells × pool`.
pub(crate) fn check_alphas(alphas: &[Vec<f32>], cells: usize, pool: usize) -> Result<()> {
    if alphas.len() != cells {
        return Err(SpaceError::AlphaShape {
            what: "cells".into(),
            expected: cells,
            got: alphas.len(),
        });
    }
    if let Some((cell, row)) = alphas.iter().enumerate().find(|(_, row)| row.len() != pool) {
        return Err(SpaceError::AlphaShape {
            what: format!("cell {cell}"),
            expected: pool,
            got: row.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::SpaceSpec;

    fn space(name: &str) -> SearchSpace {
        SpaceSpec::preset(name).unwrap().check().unwrap()
    }

    fn alphas(space: &SearchSpace, value: f32) -> Vec<Vec<f32>> {
        vec![vec![value; space.pool().len()]; space.num_cells()]
    }

    /// A front of one architecture: the lowest op of every cell's sub-space, or nothing in
    /// residual cells when `skip_residual`.
    fn lowest_front(state: &EvolutionState, skip_residual: bool) -> Vec<Architecture> {
        let sub = state.subspace();
        let cells = (0..sub.num_cells())
            .map(|c| {
                if skip_residual && sub.is_residual(c) {
                    vec![]
                } else {
                    sub.ops(c).iter().take(1).copied().collect()
                }
            })
            .collect();
        vec![Architecture::new(cells).unwrap()]
    }

    #[test]
    fn round_one_takes_the_first_k_of_a_seeded_permutation() {
        let space = space("imagenet-mb27");
        let state = EvolutionState::from_seed(&space, 3);
        assert_eq!(state, EvolutionState::from_seed(&space, 3));
        assert_ne!(
            state.subspace(),
            EvolutionState::from_seed(&space, 4).subspace()
        );
        assert_eq!(
            (state.round(), state.num_rounds(), state.subspace_size()),
            (1, 6, 5)
        );
        assert!(!state.is_finished());
        for cell in 0..22 {
            let sub = state.subspace().ops(cell);
            assert_eq!(sub.len(), 5);
            assert!(sub.windows(2).all(|w| w[0] < w[1]));
            let mut all: Vec<usize> = sub.iter().chain(&state.pending()[cell]).copied().collect();
            all.sort_unstable();
            assert_eq!(all, (0..27).collect::<Vec<_>>());
        }
        // Reproduce the documented rule by hand: shuffle 0..27 per cell, cell 0 first.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for cell in 0..22 {
            let mut perm: Vec<usize> = (0..27).collect();
            perm.shuffle(&mut rng);
            let mut first: Vec<usize> = perm[..5].to_vec();
            first.sort_unstable();
            assert_eq!(state.subspace().ops(cell), &first[..]);
            assert_eq!(state.pending()[cell], perm[5..]);
        }
        // Cells get different permutations.
        assert!(state.pending().windows(2).any(|w| w[0] != w[1]));
        assert!(state.kept().iter().all(Vec::is_empty) && state.previous_front().is_empty());
    }

    #[test]
    fn rounds_follow_pool_and_k() {
        for (name, rounds) in [
            ("imagenet-mb27", 6),
            ("imagenet-mb72", 17),
            ("imagenet-mb19-gpu", 3),
        ] {
            assert_eq!(
                EvolutionState::from_seed(&space(name), 0).num_rounds(),
                rounds,
                "{name}"
            );
        }
        let custom: SpaceSpec = serde_json::from_str(
            r#"{"pool": ["ir_k3_e1","ir_k3_e3","ir_k3_e6","ir_k5_e1","ir_k5_e3","ir_k5_e6","ir_k7_e1","ir_k7_e3","ir_k7_e6","rec_k5_e1"],
                "layout": {"cells": "NRN"}, "channels": [8, 16], "input_size": 8, "num_classes": 2, "subspace_size": 4}"#,
        )
        .unwrap();
        let state = EvolutionState::from_seed(&custom.check().unwrap(), 0);
        assert_eq!(state.num_rounds(), 3); // (10 - 1) / (4 - 1)
    }

    #[test]
    fn drop_below_applies_the_two_exceptions_and_ours() {
        let space = space("cifar10-mb27"); // cells N R N R N R N E N R N E
        let mut state = EvolutionState::from_seed(&space, 11);
        let original = state.subspace().clone();
        let mut a = alphas(&space, 0.0);
        // Cell 0 (residual): everything below -> emptied.
        a[0] = vec![-5.0; 27];
        // Cell 1 (non-residual, 5 ops): everything below -> only the highest α stays.
        let ops1 = original.ops(1).to_vec();
        a[1] = vec![-5.0; 27];
        a[1][ops1[3]] = -2.5;
        a[1][ops1[1]] = -3.0;
        // Cell 3 (non-residual, 5 ops): two below -> those two go.
        let ops3 = original.ops(3).to_vec();
        a[3][ops3[0]] = -2.1;
        a[3][ops3[4]] = -9.0;
        a[3][ops3[2]] = -2.0; // not strictly below the threshold
        // Cell 5: NaN is never below; -inf is.
        let ops5 = original.ops(5).to_vec();
        a[5][ops5[0]] = f32::NAN;
        a[5][ops5[1]] = f32::NEG_INFINITY;
        let dropped = state.drop_below(&a, -2.0).unwrap();

        assert_eq!(dropped[0], original.ops(0));
        assert!(state.subspace().ops(0).is_empty());
        assert_eq!(state.subspace().ops(1), &[ops1[3]]);
        let mut d1 = ops1.clone();
        d1.remove(3);
        assert_eq!(dropped[1], d1);
        let mut d3 = vec![ops3[0], ops3[4]];
        d3.sort_unstable();
        assert_eq!(dropped[3], d3);
        assert_eq!(state.subspace().ops(3), &[ops3[1], ops3[2], ops3[3]]);
        assert_eq!(dropped[5], vec![ops5[1]]);
        for cell in [2, 4, 6, 7, 8, 9, 10, 11] {
            assert!(dropped[cell].is_empty());
            assert_eq!(state.subspace().ops(cell), original.ops(cell));
        }

        // Cell 3 now has three ops: drop one more -> two left; a non-residual cell with exactly
        // two ops is then never cut, even when both are below the threshold.
        let ops3 = state.subspace().ops(3).to_vec();
        let mut a = alphas(&space, 0.0);
        a[3][ops3[2]] = -4.0;
        assert_eq!(state.drop_below(&a, -2.0).unwrap()[3], vec![ops3[2]]);
        assert_eq!(state.subspace().ops(3), &ops3[..2]);
        let a = alphas(&space, -3.0);
        let d = state.drop_below(&a, -2.0).unwrap();
        assert!(d[3].is_empty(), "two-op non-residual cell cut");
        assert_eq!(state.subspace().ops(3), &ops3[..2]);
        // With all α equal, [ours] keeps the lowest index of cell 7 (non-residual, 5 ops).
        let ops7 = original.ops(7);
        assert_eq!(state.subspace().ops(7), &ops7[..1]);
        assert_eq!(d[7], ops7[1..]);
        // Residual cells are emptied like any other.
        assert_eq!(d[2], original.ops(2));
        assert!(state.subspace().ops(2).is_empty());
        // A non-residual cell with one op is never emptied.
        assert_eq!(state.subspace().ops(1).len(), 1);
        assert!(state.drop_below(&alphas(&space, -100.0), -2.0).unwrap()[1].is_empty());
        assert!(
            state
                .subspace()
                .cells()
                .iter()
                .enumerate()
                .all(|(c, ops)| space.cells()[c].is_residual() || !ops.is_empty())
        );
        state.validate().unwrap();
    }

    #[test]
    fn dropped_ops_never_return() {
        let space = space("cifar10-mb27");
        let mut state = EvolutionState::from_seed(&space, 5);
        let mut a = alphas(&space, 0.0);
        let victims: Vec<usize> = (0..12).map(|c| state.subspace().ops(c)[2]).collect();
        for (c, &v) in victims.iter().enumerate() {
            a[c][v] = -10.0;
        }
        let dropped = state.drop_below(&a, -2.0).unwrap();
        assert!(dropped.iter().zip(&victims).all(|(d, v)| d == &vec![*v]));
        // More drops, with the victims' α now high: they stay out.
        let after = state.subspace().clone();
        assert!(
            state
                .drop_below(&alphas(&space, 5.0), -2.0)
                .unwrap()
                .iter()
                .all(Vec::is_empty)
        );
        assert_eq!(state.subspace(), &after);
        // And across evolution: never back in the sub-space, not in the pending pool.
        for _ in 0..state.num_rounds() {
            let front = lowest_front(&state, false);
            state.evolve(&front).unwrap();
            for (c, &v) in victims.iter().enumerate() {
                assert!(!state.subspace().contains(c, v));
                assert!(!state.pending()[c].contains(&v));
                assert!(state.retired()[c].contains(&v));
            }
        }
    }

    #[test]
    fn kept_ops_are_never_dropped() {
        let space = space("cifar10-mb27");
        let mut state = EvolutionState::from_seed(&space, 9);
        // A front of two architectures: the two lowest ops of each cell, one each.
        let sub = state.subspace().clone();
        let arch =
            |k: usize| Architecture::new((0..12).map(|c| vec![sub.ops(c)[k]]).collect()).unwrap();
        state.evolve(&[arch(0), arch(1)]).unwrap();
        for c in 0..12 {
            assert_eq!(state.kept()[c], vec![sub.ops(c)[0], sub.ops(c)[1]]);
        }
        let dropped = state.drop_below(&alphas(&space, -10.0), -2.0).unwrap();
        for (c, dropped) in dropped.iter().enumerate() {
            // Everything else goes, in residual and non-residual cells alike.
            assert_eq!(state.subspace().ops(c), &state.kept()[c][..], "cell {c}");
            assert_eq!(dropped.len(), 3, "cell {c}");
        }
    }

    #[test]
    fn evolve_keeps_the_front_and_pops_the_pending_pool() {
        let space = space("cifar10-mb27");
        let mut state = EvolutionState::from_seed(&space, 21);
        let rounds = state.num_rounds();
        assert_eq!(rounds, 6);
        for round in 1..=rounds {
            assert_eq!(state.round(), round);
            // A front that skips residual cells: their kept set is empty, so they get K new
            // ops while the pending pool lasts; non-residual cells keep one and get K - 1.
            let front = lowest_front(&state, true);
            let pending_before = state.pending().to_vec();
            let introduced = state.evolve(&front).unwrap();
            assert_eq!(state.previous_front(), &front[..]);
            for c in 0..12 {
                let kept: Vec<usize> = front[0].cells()[c].clone();
                assert_eq!(state.kept()[c], kept);
                let want = (5 - kept.len()).min(pending_before[c].len());
                assert_eq!(introduced[c], pending_before[c][..want]);
                assert_eq!(state.pending()[c], pending_before[c][want..]);
                let mut expect: Vec<usize> = kept.iter().chain(&introduced[c]).copied().collect();
                expect.sort_unstable();
                assert_eq!(state.subspace().ops(c), &expect[..]);
                if !pending_before[c].is_empty() && pending_before[c].len() >= want {
                    assert_eq!(state.subspace().ops(c).len(), kept.len() + want);
                }
                if pending_before[c].len() >= 5 - kept.len() {
                    assert_eq!(state.subspace().ops(c).len(), 5, "cell {c} round {round}");
                }
            }
            state.validate().unwrap();
        }
        assert!(state.is_finished());
        assert_eq!(state.round(), 7);
        // Non-residual cells saw 5 + 6 * 4 = 29 >= 27 ops: their pending pool is used up and
        // the last sub-space is the kept op plus the two last ones.
        assert!(state.pending()[1].is_empty());
        assert_eq!(state.subspace().ops(1).len(), 3);
        // Residual cells (kept nothing) ran out after 27 / 5 rounds and end up empty.
        assert!(state.subspace().ops(0).is_empty());
        let front = state.previous_front().to_vec();
        assert_eq!(
            state.evolve(&front),
            Err(SpaceError::SearchFinished { rounds: 6 })
        );
    }

    #[test]
    fn evolve_rejects_bad_fronts() {
        let space = space("cifar10-mb27");
        let mut state = EvolutionState::from_seed(&space, 1);
        let before = state.clone();
        assert_eq!(state.evolve(&[]), Err(SpaceError::EmptyFront));
        let good = lowest_front(&state, false).remove(0);
        let mut cells = good.cells().to_vec();
        let outside = state.pending()[4][0];
        cells[4] = vec![outside];
        let bad = Architecture::new(cells).unwrap();
        match state.evolve(&[good.clone(), bad]) {
            Err(SpaceError::NotInSubspace {
                arch: 1,
                cell: 4,
                index,
                ..
            }) => assert_eq!(index, outside),
            other => panic!("{other:?}"),
        }
        let short = Architecture::new(good.cells()[..11].to_vec()).unwrap();
        assert!(matches!(
            state.evolve(&[short]),
            Err(SpaceError::WrongCellCount {
                expected: 12,
                got: 11
            })
        ));
        let mut cells = good.cells().to_vec();
        cells[1] = vec![];
        let err = state
            .evolve(&[Architecture::new(cells).unwrap()])
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("architecture 0 leaves cell 1 empty"),
            "{err}"
        );
        assert_eq!(state, before, "a failed evolve must not change the state");
        // Wrong α shapes.
        assert!(matches!(
            state.drop_below(&alphas(&space, 0.0)[..11], -2.0),
            Err(SpaceError::AlphaShape {
                expected: 12,
                got: 11,
                ..
            })
        ));
        let mut a = alphas(&space, 0.0);
        a[7].pop();
        let err = state.drop_below(&a, -2.0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "importance indicators: cell 7 has 26 entries, expected 27"
        );
    }

    #[test]
    fn serde_resume_reproduces_the_search_exactly() {
        let space = space("cifar10-mb27");
        let mut state = EvolutionState::from_seed(&space, 42);
        let mut a = alphas(&space, 0.0);
        for c in 0..12 {
            a[c][state.subspace().ops(c)[0]] = -4.0;
        }
        state.drop_below(&a, -2.0).unwrap();
        state.evolve(&lowest_front(&state, true)).unwrap();
        state.drop_below(&a, -2.0).unwrap();

        let json = serde_json::to_string(&state).unwrap();
        let mut resumed: EvolutionState = serde_json::from_str(&json).unwrap();
        assert_eq!(resumed, state);
        resumed.check_space(&space).unwrap();

        // Identical subsequent behaviour: drops, samples and evolutions.
        let mut rng_a = ChaCha8Rng::seed_from_u64(7);
        let mut rng_b = ChaCha8Rng::seed_from_u64(7);
        while !state.is_finished() {
            let mut a = alphas(&space, 1.0);
            for (c, row) in a.iter_mut().enumerate() {
                if let Some(&op) = state.subspace().ops(c).last() {
                    row[op] = -3.0;
                }
            }
            assert_eq!(
                state.drop_below(&a, -2.0).unwrap(),
                resumed.drop_below(&a, -2.0).unwrap()
            );
            let x = state.subspace().sample_uniform(&mut rng_a);
            let y = resumed.subspace().sample_uniform(&mut rng_b);
            assert_eq!(x, y);
            assert_eq!(
                state.evolve(std::slice::from_ref(&x)).unwrap(),
                resumed.evolve(&[y]).unwrap()
            );
            assert_eq!(state, resumed);
        }
        assert!(resumed.is_finished());
    }

    #[test]
    fn corrupted_checkpoints_are_rejected() {
        let space = space("cifar10-mb27");
        let state = EvolutionState::from_seed(&space, 2);
        let value = serde_json::to_value(&state).unwrap();
        let corrupt = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = value.clone();
            f(&mut v);
            serde_json::from_value::<EvolutionState>(v)
                .unwrap_err()
                .to_string()
        };
        let op = state.subspace().ops(3)[0];
        let e = corrupt(&|v| v["pending"][3].as_array_mut().unwrap().push(op.into()));
        assert!(
            e.contains(&format!(
                "cell 3: op {op} is out of range or in more than one"
            )),
            "{e}"
        );
        let e = corrupt(&|v| {
            v["pending"][3].as_array_mut().unwrap().pop();
        });
        assert!(e.contains("cell 3: op") && e.contains("in none of"), "{e}");
        let e = corrupt(&|v| v["round"] = 0.into());
        assert!(e.contains("round 0"), "{e}");
        let e = corrupt(&|v| v["num_rounds"] = 5.into());
        assert!(e.contains("5 rounds"), "{e}");
        let e = corrupt(&|v| v["kept"][2] = serde_json::json!([op]));
        assert!(e.contains("cell 2: kept set"), "{e}");
        // A checkpoint of another space.
        let other = EvolutionState::from_seed(&self::space("imagenet-mb27"), 2);
        assert!(matches!(
            other.check_space(&space),
            Err(SpaceError::SpaceMismatch { what: "cells", .. })
        ));
        let k4 = SpaceSpec {
            subspace_size: 4,
            ..SpaceSpec::preset("cifar10-mb27").unwrap()
        }
        .check()
        .unwrap();
        assert!(matches!(
            state.check_space(&k4),
            Err(SpaceError::SpaceMismatch {
                what: "sub-space size K",
                ..
            })
        ));
    }

    #[test]
    fn a_replaced_subspace_keeps_every_op_accounted_for() {
        let space = space("cifar10-mb27");
        let mut state = EvolutionState::from_seed(&space, 5);
        let before = state.clone();
        let n = state.subspace().num_cells();
        // Cell 0: swap its first sub-space op for the first pending op.
        let mut cells = state.subspace().cells().to_vec();
        let out = cells[0][0];
        let incoming = state.pending()[0][0];
        cells[0][0] = incoming;
        state.replace_subspace(cells.clone()).unwrap();
        let mut want = cells[0].clone();
        want.sort_unstable();
        assert_eq!(state.subspace().ops(0), want.as_slice());
        assert_eq!(
            state.pending()[0][0],
            out,
            "the op left out comes back first"
        );
        assert!(!state.pending()[0].contains(&incoming));
        for cell in 1..n {
            assert_eq!(state.subspace().ops(cell), before.subspace().ops(cell));
            assert_eq!(state.pending()[cell], before.pending()[cell]);
        }
        // Refused, and nothing changes: too many ops, a retired op.
        let snapshot = state.clone();
        let mut too_many = cells.clone();
        too_many[0] = (0..state.subspace_size() + 1).collect();
        assert!(state.replace_subspace(too_many).is_err());
        assert_eq!(state, snapshot);
        state.retired[1].push(state.pending[1].remove(0));
        let retired = *state.retired[1].last().unwrap();
        let mut with_retired = state.subspace().cells().to_vec();
        with_retired[1][0] = retired;
        let err = state.replace_subspace(with_retired).unwrap_err();
        assert!(err.to_string().contains("was retired"), "{err}");
    }
}
