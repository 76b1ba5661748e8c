//! Which path a weight step trains: the reference's independent coin per op, or **\[ours\]**
//! two alternatives that train the paths the evaluation scores more evenly.
//!
//! The reference switches every sub-space op of a cell on with probability 0.5
//! ([`SubSpace::sample_uniform`]): with K = 5 a cell trains 2.5 branches on average and
//! rarely one, while the architectures the evaluation scores hold any number. The
//! alternatives:
//!
//! - [`WeightSampling::UniformCount`]: the branch count uniform over what the cell allows
//!   (0 to m in a residual cell, 1 to m otherwise, m = K or the space's `max_branches`), then
//!   that many ops uniformly;
//! - [`WeightSampling::Fair`] (FairNAS-style strict fairness): steps come in blocks of n, the
//!   cell's sub-space size; each block draws a branch count c (1 to m) and an order of the
//!   cell's ops, and its step t trains the c ops at places t, t + 1, …, t + c − 1 of that
//!   order (cyclically) — so within every block each op of the cell is trained exactly c
//!   times.
//!
//! Every draw depends only on the seeds passed in and the step, so a resumed search draws the
//! same paths.

use serde::{Deserialize, Serialize};

use crate::error::{Result, SpaceError};
#[cfg(doc)]
use crate::subspace::SubSpace;

/// How a weight step draws its path: the reference's independent coin per op
/// ([`SubSpace::sample_uniform`]), a uniform branch count, or FairNAS-style fair blocks
/// ([`SubSpace::sample_weight_path`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightSampling {
    /// The reference: each sub-space op on with probability 0.5, independently
    /// ([`SubSpace::sample_uniform`]).
    #[default]
    Bernoulli,
    /// **\[ours\]** The branch count uniform over what the cell allows, then the ops
    /// uniformly.
    UniformCount,
    /// **\[ours\]** FairNAS-style: within each block of steps every op of a cell is trained
    /// equally often.
    Fair,
}

impl std::str::FromStr for WeightSampling {
    type Err = SpaceError;
    /// [`WeightSampling::from_name`].
    fn from_str(name: &str) -> Result<Self> {
        Self::from_name(name)
    }
}

impl WeightSampling {
    /// Every option, in the order of the docs.
    pub const ALL: [WeightSampling; 3] = [Self::Bernoulli, Self::UniformCount, Self::Fair];

    /// The name in configs: `bernoulli`, `uniform_count` or `fair`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bernoulli => "bernoulli",
            Self::UniformCount => "uniform_count",
            Self::Fair => "fair",
        }
    }

    /// The option called `name`.
    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| SpaceError::UnknownName {
                what: "weight sampling",
                name: name.to_string(),
                known: "bernoulli, uniform_count, fair".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::subspace::SubSpace;
    use crate::{SearchSpace, SpaceSpec};

    fn space(max_branches: Option<usize>) -> SearchSpace {
        let mut spec = SpaceSpec::preset("fashion-mnist-mb27").unwrap();
        spec.max_branches = max_branches;
        spec.check().unwrap()
    }

    fn first_subspace(space: &SearchSpace) -> SubSpace {
        crate::EvolutionState::from_seed(space, 3)
            .subspace()
            .clone()
    }

    #[test]
    fn names_round_trip_and_bernoulli_is_the_reference_sampler() {
        for s in WeightSampling::ALL {
            assert_eq!(WeightSampling::from_name(s.name()).unwrap(), s);
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.name()));
        }
        assert!(WeightSampling::from_name("uniform").is_err());
        assert_eq!(WeightSampling::default(), WeightSampling::Bernoulli);
        let space = space(None);
        let sub = first_subspace(&space);
        let mut a = ChaCha8Rng::seed_from_u64(5);
        let mut b = ChaCha8Rng::seed_from_u64(5);
        for step in 0..20 {
            assert_eq!(
                sub.sample_weight_path(WeightSampling::Bernoulli, step, &mut a, |_, _| 0),
                sub.sample_uniform(&mut b)
            );
        }
    }

    #[test]
    fn uniform_count_draws_every_allowed_count_equally_often() {
        let space = space(None);
        let sub = first_subspace(&space);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let draws = 12_000;
        // counts[cell][branches]
        let mut counts = vec![vec![0usize; 6]; sub.num_cells()];
        for _ in 0..draws {
            let arch = sub.sample_uniform_count(&mut rng);
            space.check_architecture(&arch).unwrap();
            assert!(sub.contains_architecture(&arch));
            for (cell, ops) in arch.cells().iter().enumerate() {
                counts[cell][ops.len()] += 1;
            }
        }
        for (cell, by_count) in counts.iter().enumerate() {
            let allowed = if sub.is_residual(cell) { 0..=5 } else { 1..=5 };
            let expected = draws as f64 / allowed.clone().count() as f64;
            for (c, &seen) in by_count.iter().enumerate() {
                if allowed.contains(&c) {
                    // 5 standard deviations of a binomial count.
                    let sd = (expected * (1.0 - expected / draws as f64)).sqrt();
                    assert!(
                        (seen as f64 - expected).abs() < 5.0 * sd,
                        "cell {cell}, {c} branches: {seen} of {draws}, expected {expected:.0}"
                    );
                } else {
                    assert_eq!(seen, 0, "cell {cell} never has {c} branches");
                }
            }
        }
        // Bernoulli(0.5) draws one branch in 5/31 of a non-residual cell's paths, uniform
        // count in 1/5: the options differ where it matters.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let cell = (0..sub.num_cells()).find(|&c| !sub.is_residual(c)).unwrap();
        let singles = (0..draws)
            .filter(|_| sub.sample_uniform(&mut rng).cells()[cell].len() == 1)
            .count();
        assert!((singles as f64 / draws as f64 - 5.0 / 31.0).abs() < 0.02);
    }

    #[test]
    fn fair_trains_every_op_equally_often_within_each_block() {
        let space = space(None);
        let sub = first_subspace(&space);
        let seed = |cell: usize, block: u64| 1000 * cell as u64 + block;
        let k = 5u64;
        let mut counts_per_block = Vec::new();
        let mut branch_counts = std::collections::HashSet::new();
        for block in 0..40 {
            let mut counts =
                vec![std::collections::HashMap::<usize, usize>::new(); sub.num_cells()];
            for place in 0..k {
                let arch = sub.sample_fair(block * k + place, seed);
                space.check_architecture(&arch).unwrap();
                for (cell, ops) in arch.cells().iter().enumerate() {
                    for &op in ops {
                        *counts[cell].entry(op).or_default() += 1;
                    }
                }
            }
            for (cell, by_op) in counts.iter().enumerate() {
                assert_eq!(
                    by_op.len(),
                    sub.ops(cell).len(),
                    "every op of cell {cell} trains"
                );
                let times: std::collections::HashSet<usize> = by_op.values().copied().collect();
                assert_eq!(times.len(), 1, "block {block}, cell {cell}: {by_op:?}");
                branch_counts.insert(*times.iter().next().unwrap());
            }
            counts_per_block.push(counts);
        }
        assert_eq!(branch_counts.len(), 5, "blocks draw every count 1..=5");
        // Deterministic in the step and the seeds, whatever was drawn before.
        assert_eq!(sub.sample_fair(17, seed), sub.sample_fair(17, seed));
        assert_ne!(
            (0..10)
                .map(|s| sub.sample_fair(s, seed))
                .collect::<Vec<_>>(),
            (0..10)
                .map(|s| sub.sample_fair(s, |c, b| seed(c, b) + 1))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn both_options_respect_a_single_path_space() {
        let space = space(Some(1));
        let sub = first_subspace(&space);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for step in 0..200 {
            for sampling in [WeightSampling::UniformCount, WeightSampling::Fair] {
                let arch =
                    sub.sample_weight_path(sampling, step, &mut rng, |c, b| (c as u64) << 32 | b);
                space.check_architecture(&arch).unwrap();
                for (cell, ops) in arch.cells().iter().enumerate() {
                    assert!(ops.len() <= 1);
                    if sampling == WeightSampling::Fair || !sub.is_residual(cell) {
                        assert_eq!(ops.len(), 1, "{sampling:?} cell {cell}");
                    }
                }
            }
        }
    }
}
