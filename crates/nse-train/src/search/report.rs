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
        let text = std::fs::read_to_string(path).map_err(|e| SearchError::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| SearchError::Json {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Writes the file atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_json_atomic(path, self)
    }

    /// The network of entry `index`, to retrain or inspect.
    pub fn network(&self, index: usize) -> Result<NetworkSpec> {
        let entry = self.front.get(index).ok_or_else(|| {
            SearchError::Config(format!(
                "front index {index} is out of range: the front has {} architectures",
                self.front.len()
            ))
        })?;
        Ok(NetworkSpec {
            name: Some(format!("front-{index}")),
            space: self.space.clone(),
            architecture: entry.architecture.clone(),
        })
    }
}

/// Writes `value` as pretty JSON to `path` durably and atomically
/// ([`nse_supernet::durable`]).
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let json = serde_json::to_vec_pretty(value).expect("serialisable");
    // A file named on the command line may be in a folder that does not exist yet.
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| SearchError::io(parent, e))?;
    }
    nse_supernet::durable::write_bytes(path, &json).map_err(|e| SearchError::io(path, e))
}
