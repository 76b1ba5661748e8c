//! # nse-supernet
//!
//! Networks of Neural Search-space Evolution on Burn:
//!
//! - [`ChildNetwork`]: the standalone network of an architecture (stem, the chosen ops of the
//!   non-empty cells with the cell semantics of nse-method.md §3, tail), freshly initialised;
//! - [`stem_tail`]: the stem and tail shared with the supernet.
//!
//! Still to come in this crate (see the project's issues): the weight-sharing multi-branch
//! supernet, the importance indicators and their two-path gradient estimator, BN
//! recalibration, weight inheritance from the supernet, and save/load.
//!
//! One code path for every device: the backend is chosen by the [`burn::tensor::Device`]
//! passed to the constructors (`Device::flex()` on the CPU, WGPU or CUDA with the facade's
//! features).

pub mod child;
pub mod error;
pub mod stem_tail;

pub use child::{ChildCell, ChildNetwork};
pub use error::{Result, SupernetError};
