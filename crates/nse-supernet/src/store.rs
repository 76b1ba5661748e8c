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

use burn::module::{Module, ModuleVisitor, Param};
use burn::store::{BurnToPyTorchAdapter, ModuleStore, SafetensorsStore};
use burn::tensor::{Device, Tensor};
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

/// Loads burnpack weights from `path` into `module` (same architecture). A file whose
/// values include NaN or infinities is refused as damaged ([`non_finite_values`]): no
/// training writes them into a checkpoint it continues from.
pub fn load_module<M: Module>(module: M, path: &Path) -> Result<M> {
    if !path.exists() {
        return Err(store_error("load", path, "no such file"));
    }
    let module = module
        .try_load_file(path)
        .map_err(|e| store_error("load", path, e))?;
    if let Some((count, name)) = non_finite_values(&module) {
        return Err(store_error(
            "load",
            path,
            format!(
                "{count} non-finite values (NaN or infinite), first in `{name}`: the file is damaged"
            ),
        ));
    }
    Ok(module)
}

/// The number of NaN or infinite values among `module`'s float parameters and buffers (batch
/// norm statistics), with the path of the first tensor that holds one; `None` when every
/// value is finite.
pub fn non_finite_values<M: Module>(module: &M) -> Option<(u64, String)> {
    #[derive(Default)]
    struct Finite {
        path: Vec<String>,
        count: u64,
        first: Option<String>,
    }
    impl ModuleVisitor for Finite {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let bad: i64 = param.val().is_finite().bool_not().int().sum().into_scalar();
            if bad > 0 {
                self.count += bad as u64;
                self.first.get_or_insert_with(|| self.path.join("."));
            }
        }
    }
    let mut finite = Finite::default();
    module.visit(&mut finite);
    finite.first.map(|first| (finite.count, first))
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
