//! The search's result files: `front.json` (the final Pareto front, ready for retraining).

use std::path::Path;

use serde::{Deserialize, Serialize};

use nse_space::{Architecture, CostKind, NetworkSpec, SpaceSpec};

use crate::search::error::{Result, SearchError};

/// One architecture of a Pareto front.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrontEntry {
    /// Per-cell op sets (pool indices) in the searched space.
    pub architecture: Architecture,
    /// The same as text: `0 | 11+17 | -`.
    pub text: String,
    /// The ops by name.
    pub ops: String,
    /// Multiply-accumulates per image.
    pub macs: u64,
    /// Parameters.
    pub params: u64,
    /// Latency in the table's unit, when the search was constrained by latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<f64>,
    /// Held-out top-1 accuracy (%) with inherited weights after BN recalibration.
    pub accuracy: f64,
}

/// `front.json`: the space, the metric, and the final front (cost ascending).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrontFile {
    /// The searched space (architectures index into its pool).
    pub space: SpaceSpec,
    /// The metric the resource constraint used.
    pub metric: CostKind,
    /// Its unit (`MMACs`, `Mparams`, `ms`; absent in files of earlier versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Rounds completed.
    pub rounds: usize,
    /// The front.
    pub front: Vec<FrontEntry>,
}

impl FrontFile {
    /// Reads a `front.json`.
    pub fn read(path: &Path) -> Result<Self> {
        crate::run_dir::read_json(path)
    }

    /// Writes the file atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        crate::run_dir::write_json(path, self)
    }

    /// The network of entry `index`, to retrain or inspect.
    pub fn network(&self, index: usize) -> Result<NetworkSpec> {
        let entry = self.front.get(index).ok_or_else(|| {
            SearchError::Config(format!(
                "front index {index} is out of range: the front has {} architectures",
                self.front.len()
            ))
        })?;
        Ok(entry.network(&self.space, index))
    }
}

impl FrontEntry {
    /// The standalone network of this entry, entry `index` of a front in `space`
    /// (named `front-<index>`).
    pub fn network(&self, space: &SpaceSpec, index: usize) -> NetworkSpec {
        NetworkSpec {
            name: Some(format!("front-{index}")),
            space: space.clone(),
            architecture: self.architecture.clone(),
        }
    }
}
