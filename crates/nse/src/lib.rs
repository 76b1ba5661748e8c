//! # nse — Neural Search-space Evolution on Burn
//!
//! A Rust implementation of *Evolving Search Space for Neural Architecture Search*
//! (Ci et al., ICCV 2021). This facade re-exports the workspace crates:
//!
//! - [`ops`] (`nse-ops`): candidate operations, reference pools and their cost model;
//! - [`space`] (`nse-space`): search spaces as data, architectures, published networks;
//! - [`supernet`] (`nse-supernet`): the weight-sharing supernet, importance indicators, BN
//!   recalibration, standalone child networks, and durable checkpoint files;
//! - [`train`] (`nse-train`): data, the search driver, retraining, latency tables,
//!   experiments and reports.
//!
//! The backend is chosen at run time by the [`Device`](burn::tensor::Device): the pure-Rust
//! CPU backend (`Device::flex()`) is always available; the `wgpu` and `cuda` features add
//! `Device::wgpu(..)` and `Device::cuda(..)`. The same code runs on each.
//!
//! ```
//! use nse::space::published;
//! let net = published("nsenet27").unwrap();
//! let (space, arch) = net.resolve().unwrap();
//! let cost = space.architecture_cost(&arch).unwrap();
//! assert!(cost.total.mmacs() > 100.0);
//! ```

pub mod device;
pub mod network;

pub use burn;
pub use nse_ops as ops;
pub use nse_space as space;
pub use nse_supernet as supernet;
pub use nse_train as train;
