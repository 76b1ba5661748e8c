//! # nse-train
//!
//! Everything that turns the NSE search space and supernet into results: supernet training
//! rounds, architecture evaluation, the multi-round Neural Search-space Evolution driver,
//! retraining of found architectures, checkpoints, JSON-lines logs and reports. The data
//! (datasets, splits, augmentation, the loader) is the `nse-data` crate, re-exported as
//! [`data`].

pub use nse_data as data;
pub mod divergence;
pub mod ema;
pub mod experiment;
pub mod interrupt;
pub mod latency;
pub mod metrics;
pub mod observers;
pub mod optim;
pub mod plot;
pub mod progress;
pub mod ranks;
pub mod retrain;
pub mod run_dir;
pub mod schedule;
pub mod search;
pub mod tensorboard;
