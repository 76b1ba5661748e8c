//! # nse-space
//!
//! The search-space logic of Neural Search-space Evolution (Ci et al., ICCV 2021), free of
//! training code so that any evaluator can drive it:
//!
//! - [`SpaceSpec`] / [`SearchSpace`]: a candidate pool, a layout plan (`NR`, `NER` or explicit
//!   cells), depths, stage widths with width scaling, stem stride, input size, classes and the
//!   sub-space size K — serde data validated once into the geometry of every cell;
//! - [`Architecture`]: per cell a set of pool indices, with text and JSON forms, validation,
//!   MACs/params, and the standalone child description ([`NetworkSpec`]);
//! - [`SubSpace`]: per cell the ops that may be sampled this round;
//! - [`EvolutionState`]: the evolving sub-space of NSE — seeded pending pools, the kept set of
//!   the previous Pareto front, [`drop_below`](EvolutionState::drop_below) and
//!   [`evolve`](EvolutionState::evolve), serde for exact resume ([`evolution`]);
//! - [`sampler`]: the uniform weight-step sampler, the Bernoulli sampler from importance
//!   indicators, the indicator step's two-path sampler, and the resource-window batch sampler
//!   ([`WindowSampler`]);
//!   and which path a weight step trains ([`WeightSampling`]: the reference's coin per op, a
//!   uniform branch count, or FairNAS-style fair blocks);
//! - [`pareto`]: the Pareto front over (cost ↓, accuracy ↑) with the extra-band exclusion;
//! - [`published()`](fn@published): NSENet-27, NSENet and NSENet-GPU as child networks.
//!
//! ```
//! use nse_space::{EvolutionState, SpaceSpec};
//! use rand::SeedableRng;
//!
//! let space = SpaceSpec::preset("cifar10-mb27").unwrap().check().unwrap();
//! let mut state = EvolutionState::from_seed(&space, 0);
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
//! // Weight step: a random multi-branch architecture of the sub-space.
//! let arch = state.subspace().sample_uniform(&mut rng);
//! space.check_architecture(&arch).unwrap();
//! // Indicator step: two distinct paths per cell (one path in a deterministic cell).
//! let alphas = vec![vec![0.0f32; space.pool().len()]; space.num_cells()];
//! let paths = state.subspace().sample_two_paths(&alphas, &mut rng).unwrap();
//! assert!(paths.cells.iter().all(|c| c.is_deterministic() || c.selected != c.other()));
//! // End of round: the front's ops are kept, new ones come from the pending pool.
//! state.evolve(&[paths.selected()]).unwrap();
//! assert_eq!(state.round(), 2);
//! ```

pub mod architecture;
pub mod cost_model;
pub mod error;
pub mod evolution;
pub mod latency;
pub mod layout;
pub mod pareto;
pub mod published;
pub mod sampler;
pub mod space;
pub mod subspace;

pub use architecture::{Architecture, ArchitectureCost, NetworkSpec};
pub use cost_model::{CostKind, CostModel, CostTable, CountCost, LatencyCost};
pub use error::{Result, SpaceError};
pub use evolution::EvolutionState;
pub use latency::{ArchitectureLatency, LatencyRules, StemRule, latency_layers};
pub use layout::{CellKind, LayoutPlan, PlanKind, make_divisible};
pub use pareto::{Candidate, Origin, dominates, pareto_front};
pub use published::{PUBLISHED, published};
pub use sampler::{
    CellPaths, ENUMERATE_MAX_OPS, EXTRA_BAND_PROBABILITIES, FEASIBILITY_PROBABILITIES, Feasibility,
    PROBABILITY_OFFSET, PROBABILITY_SCALE, PathPair, ResourceWindow, SampledArchitecture,
    WeightSampling, WindowBatch, WindowSampler, branch_probability,
};
pub use space::{Cell, PRESETS, SearchSpace, SpaceSpec};
pub use subspace::SubSpace;
