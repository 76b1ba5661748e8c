//! # nse-space
//!
//! The search-space logic of Neural Search-space Evolution, free of training code so that any
//! evaluator can drive it:
//!
//! - [`SpaceSpec`] / [`SearchSpace`]: a candidate pool, a layout plan (`NR`, `NER` or explicit
//!   cells), depths, stage widths with width scaling, stem stride, input size and classes —
//!   serde data validated once into the geometry of every cell;
//! - [`Architecture`]: per cell a set of pool indices, with text and JSON forms, validation,
//!   MACs/params, and the standalone child description ([`NetworkSpec`]);
//! - [`published`]: NSENet-27, NSENet and NSENet-GPU.

pub mod architecture;
pub mod error;
pub mod layout;
pub mod published;
pub mod space;

pub use architecture::{Architecture, ArchitectureCost, NetworkSpec};
pub use error::{Result, SpaceError};
pub use layout::{CellKind, LayoutPlan, PlanKind, make_divisible};
pub use published::{PUBLISHED, published};
pub use space::{Cell, PRESETS, SearchSpace, SpaceSpec};
