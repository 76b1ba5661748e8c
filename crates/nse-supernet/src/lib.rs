//! # nse-supernet
//!
//! Networks of Neural Search-space Evolution on Burn:
//!
//! - [`Supernet`]: the weight-sharing multi-branch supernet — every cell holds every pool op
//!   once; [`Supernet::forward`] runs exactly the branch sets of an architecture and
//!   [`Supernet::forward_indicator`] the two-path estimator of the indicator step;
//! - [`Indicators`]: the importance indicators α, a module apart from the weights, with the
//!   branch probabilities, [`PathWeights`] and the differentiable expected cost over a
//!   [`CostTable`], and the [`resource_penalty`];
//! - [`recalibration`]: batch-norm recalibration of an architecture;
//! - [`ChildNetwork`]: the standalone network of an architecture, freshly initialised or
//!   inheriting the supernet's weights;
//! - [`stem_tail`]: the stem and tail shared by both;
//! - [`parallel`] and [`ranks`]: weight and indicator steps spread over the devices of a
//!   process, and over the ranks of a job (MPI, feature `mpi`);
//! - [`durable`]: the durable, atomic file writes every file of a run goes through.
//!
//! One code path for every device: the backend is chosen by the [`burn::tensor::Device`]
//! passed to the constructors (`Device::flex()` on the CPU, WGPU or CUDA with the facade's
//! features); training uses `device.autodiff()`.

pub mod cell;
pub mod child;
/// Durable, atomic writes (the `nse-durable` crate, shared with the data loaders).
pub use nse_durable as durable;
pub mod error;
pub mod indicators;
pub mod parallel;
pub mod pytorch;
pub mod ranks;
pub mod recalibration;
pub mod stem_tail;
pub mod store;
pub mod supernet;
pub mod training;

pub use child::{ChildCell, ChildNetwork};
pub use error::{Result, SupernetError};
pub use indicators::{CellPaths, CostTable, Indicators, PathWeights, resource_penalty};
pub use store::{SupernetState, export_safetensors};
pub use supernet::{
    Component, IndicatorOutput, Supernet, SupernetCell, SupernetOptions, component_rng,
};
