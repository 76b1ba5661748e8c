//! Samplers over a [`SubSpace`] (docs/method.md §6, §7), all driven by a random generator the
//! caller passes in, so that identical seeds give identical sequences:
//!
//! The samplers are methods of [`SubSpace`] (in `subspace.rs`); this module holds what
//! they share and the types they return, one file each:
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

#[cfg(doc)]
use crate::subspace::SubSpace;

mod distribution;
#[cfg(test)]
pub(crate) mod test_support;
mod two_paths;
mod weight;
mod window;

pub(crate) use distribution::{draw_mask, joint, mask_to_ops, pick};
pub use two_paths::{CellPaths, PathPair};
pub use weight::WeightSampling;
pub use window::{
    ATTEMPTS_PER_ARCHITECTURE, EXTRA_BAND_PROBABILITIES, FEASIBILITY_PROBABILITIES, Feasibility,
    ResourceWindow, SampledArchitecture, WindowBatch, WindowSampler,
};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_probability_follows_the_spec() {
        assert_eq!(branch_probability(0.0), 0.5);
        let s2 = 1.0 / (1.0 + (-2.0f64).exp());
        assert!((branch_probability(2.0) - (s2 * 0.999 + 0.0005)).abs() < 1e-15);
        assert!((branch_probability(f32::INFINITY) - 0.9995).abs() < 1e-15);
        assert!((branch_probability(f32::NEG_INFINITY) - 0.0005).abs() < 1e-15);
    }
}
