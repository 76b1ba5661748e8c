//! Saving and loading supernets (weights, indicators, BN statistics) and child networks in
//! Burn's native burnpack format, and exporting child networks as safetensors for PyTorch.
//!
//! Files are written durably and atomically ([`crate::durable`]): to a temporary sibling
//! first, synced, then renamed into place, so an interrupted save never leaves a truncated
//! file under the final name.
//!
//! # Safetensors naming
//!
//! [`export_safetensors`] writes the module paths of [`ChildNetwork`] with PyTorch's
//! conventions (batch-norm `gamma`/`beta` as `weight`/`bias`, linear weights as `[out, in]`):
//!
//! | tensor | name |
//! |---|---|
//! | stem conv / BN | `stem.conv.conv.weight`, `stem.conv.bn.{weight,bias,running_mean,running_var}` |
//! | op `j` of child cell `i` | `cells.{i}.ops.{j}.{part}.conv.weight`, `cells.{i}.ops.{j}.{part}.bn.*` |
//! | SE of an op | `cells.{i}.ops.{j}.se.{reduce,expand}.{weight,bias}` |
//! | tail | `tail.conv.weight`, `tail.classifier.{weight,bias}` |
//!
//! `{part}` is `expand`, `depthwise`, `project` (IR); `expand`, `conv`, `project` (Conv);
//! `expand`, `conv1`, `conv2`, `project` (Dual); `expand`, `row`, `column`, `project` (Rec).
//! Child cells are numbered after empty cells are dropped; ops within a cell follow the
//! architecture's sorted pool indices. Running variances are Burn's biased estimates.

use std::path::Path;

use burn::module::Module;
use burn::store::{BurnToPyTorchAdapter, ModuleStore, SafetensorsStore};
use burn::tensor::Device;
use nse_space::{Architecture, SearchSpace};

use crate::child::ChildNetwork;
use crate::error::{Result, SupernetError};
use crate::indicators::Indicators;
use crate::supernet::Supernet;

/// A supernet with its indicators: what a search checkpoint holds of the model.
#[derive(Module, Debug)]
pub struct SupernetState {
    /// Weights and BN statistics.
    pub supernet: Supernet,
    /// Importance indicators α.
    pub indicators: Indicators,
}

fn store_error(action: &'static str, path: &Path, message: impl ToString) -> SupernetError {
    SupernetError::Store {
        action,
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Writes `module` as burnpack to `path` durably and atomically ([`crate::durable`]).
pub fn save_module<M: Module + Clone>(module: &M, path: &Path) -> Result<()> {
    crate::durable::write_with(path, |tmp| {
        module.clone().save_file(tmp).map_err(std::io::Error::other)
    })
    .map_err(|e| store_error("save", path, e))
}

/// Loads burnpack weights from `path` into `module` (same architecture).
pub fn load_module<M: Module>(module: M, path: &Path) -> Result<M> {
    if !path.exists() {
        return Err(store_error("load", path, "no such file"));
    }
    module
        .try_load_file(path)
        .map_err(|e| store_error("load", path, e))
}

impl SupernetState {
    /// Saves weights, indicators and BN statistics to `path` (burnpack, atomic).
    pub fn save(&self, path: &Path) -> Result<()> {
        self.supernet.sync_statistics();
        save_module(self, path)
    }

    /// Loads a state saved for `space` onto `device`.
    pub fn load(space: &SearchSpace, device: &Device, path: &Path) -> Result<Self> {
        let empty = SupernetState {
            supernet: Supernet::new(space, device, 0)?,
            indicators: Indicators::for_space(space, device),
        };
        load_module(empty, path)
    }
}

impl ChildNetwork {
    /// Saves the network (weights and BN statistics) to `path` (burnpack, atomic).
    pub fn save(&self, path: &Path) -> Result<()> {
        self.sync_statistics();
        save_module(self, path)
    }

    /// Loads a network of `arch` in `space` saved with [`ChildNetwork::save`].
    pub fn load(
        space: &SearchSpace,
        arch: &Architecture,
        device: &Device,
        path: &Path,
    ) -> Result<Self> {
        load_module(ChildNetwork::from_space(space, arch, device, 0)?, path)
    }
}

/// Exports a child network's weights and BN statistics as safetensors with PyTorch names
/// (see the [module docs](self) for the naming); overwrites `path`.
pub fn export_safetensors(child: &ChildNetwork, path: &Path) -> Result<()> {
    child.sync_statistics();
    let mut store = SafetensorsStore::from_file(path)
        .with_to_adapter(BurnToPyTorchAdapter)
        .skip_enum_variants(true)
        .overwrite(true);
    store
        .collect_from(child)
        .map_err(|e| store_error("save", path, e))
}
