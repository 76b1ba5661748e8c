//! # nse — Neural Search-space Evolution on Burn
//!
//! A Rust implementation of *Evolving Search Space for Neural Architecture Search*
//! (Ci et al., ICCV 2021). This facade re-exports the workspace crates:
//!
//! - [`ops`] (`nse-ops`): candidate operations as data — specs and their text form, reference
//!   pools, the cost model and latency tables (no Burn);
//! - [`modules`] (`nse-modules`): the ops as Burn modules, their CPU kernels, layer timing;
//! - [`space`] (`nse-space`): search spaces as data, architectures, published networks;
//! - [`supernet`] (`nse-supernet`): the weight-sharing supernet, importance indicators, BN
//!   recalibration, standalone child networks, and durable checkpoint files;
//! - [`data`] (`nse-data`): datasets, held-out splits, augmentation and the batch loader;
//! - [`train`] (`nse-train`): the search driver, retraining, latency tables, experiments and
//!   reports;
//! - [`cluster`] (`nse-cluster`): the ranks of a job across processes and machines, over MPI
//!   with the `mpi` feature (weight and indicator steps over ranks:
//!   [`supernet::ranks`]).
//!
//! The backend is chosen at run time by the [`Device`](burn::tensor::Device): the pure-Rust
//! CPU backend (`Device::flex()`) is always available; the `wgpu` and `cuda` features add
//! `Device::wgpu(..)` and `Device::cuda(..)`. The same code runs on each.
//!
//! A search driven from code: observed as it runs, paused before each round's evaluation to
//! add a candidate of your own, and scored by your own evaluator (`examples/` has complete
//! programs):
//!
//! ```no_run
//! use nse::burn::tensor::Device;
//! use nse::train::progress::Quiet;
//! use nse::train::search::events::SearchEvent;
//! use nse::train::search::{Pause, Search, SearchConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut search = Search::new(SearchConfig::preset("demo")?, "runs/x".as_ref(), &Device::flex())?;
//! search.observe(|event| {
//!     if let SearchEvent::RoundEnd { round, front, .. } = event {
//!         println!("round {round}: front of {}", front.len());
//!     }
//! });
//! // The default score, held-out top-1 after BN recalibration, minus a small size penalty.
//! search.evaluate_with(|_round, supernet: &mut nse::supernet::Supernet, arch: &nse::space::Architecture, scorer: &nse::train::search::Scorer| {
//!     let branches: usize = arch.cells().iter().map(Vec::len).sum();
//!     Ok(scorer.score(supernet, arch)? - 0.1 * branches as f64)
//! });
//! search.pause_at(&[Pause::BeforeEvaluation]);
//! while search.run(&mut Quiet)?.paused.is_some() {
//!     let first = search.candidates()?[0].architecture.clone();
//!     search.add_candidates(&[first])?; // already there: skipped
//! }
//! # Ok(())
//! # }
//! ```
//!
//! ```
//! use nse::space::published;
//! let net = published("nsenet27").unwrap();
//! let (space, arch) = net.resolve().unwrap();
//! let cost = space.architecture_cost(&arch).unwrap();
//! assert!(cost.total.mmacs() > 100.0);
//! ```

pub mod device;
pub mod error;
pub mod network;
pub mod registry;

pub use error::{Context, Error, Result};

pub use burn;
pub use nse_cluster as cluster;
pub use nse_data as data;
pub use nse_modules as modules;
pub use nse_ops as ops;
pub use nse_space as space;
pub use nse_supernet as supernet;
pub use nse_train as train;
