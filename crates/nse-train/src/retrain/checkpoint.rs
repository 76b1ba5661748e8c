//! End-of-epoch checkpoints of a retraining run.
//!
//! `<out>/checkpoint/epoch-NNNN/` holds `model.bpk` (weights, batch-norm statistics and
//! parameter ids), `optimizer.bpk` (momentum buffers, keyed by parameter id), `ema.bpk` (the
//! averaged weights, when EMA is on), `state.json` (the report so far, which fixes the
//! epoch counter, and the EMA update count) and `COMPLETE`, the seal that lists every other
//! file's size and CRC-32 ([`nse_supernet::durable::seal`]). A checkpoint is written into a
//! temporary sibling folder, sealed and renamed into place, so a folder named `epoch-NNNN`
//! is always complete; the two newest are kept. Resuming verifies the newest against its
//! seal and loads it (weights with NaN or infinities are refused); a damaged one is set
//! aside as `.epoch-NNNN.damaged` and the one before it is used.

use std::path::{Path, PathBuf};

use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use nse_cluster::SharedFile;
use nse_space::{Architecture, SearchSpace};
use nse_supernet::ChildNetwork;
use serde::{Deserialize, Serialize};

use super::error::{Result, RetrainError};
use super::report::RetrainReport;
use crate::ema::Ema;

const MODEL: &str = "model.bpk";
const OPTIMIZER: &str = "optimizer.bpk";
const EMA: &str = "ema.bpk";
const STATE: &str = "state.json";
const COMPLETE: &str = "COMPLETE";
const PREFIX: &str = "epoch-";
/// Checkpoints kept: the newest and its fallback.
const KEEP: usize = 2;

/// The JSON part of a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CheckpointState {
    /// The report up to the checkpoint (its `epochs` are the completed epochs).
    pub report: RetrainReport,
    /// EMA updates done (`None` without EMA).
    pub ema_updates: Option<u64>,
}

/// A loaded checkpoint.
pub(crate) struct Checkpoint {
    pub state: CheckpointState,
    pub model: ChildNetwork,
    pub optimizer: ModuleOptimizer,
    pub ema: Option<Ema<ChildNetwork>>,
    /// Newer checkpoints found damaged and set aside: where they are now, and why.
    pub damaged: Vec<(PathBuf, String)>,
}

/// The checkpoint folder of an output folder.
pub(crate) fn checkpoint_root(out_dir: &Path) -> PathBuf {
    out_dir.join("checkpoint")
}

fn epoch_of(name: &str) -> Option<usize> {
    name.strip_prefix(PREFIX)?.parse().ok()
}

/// The complete checkpoint folders under `root`, by epoch.
fn complete_checkpoints(root: &Path) -> Result<Vec<(usize, PathBuf)>> {
    if !root.exists() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(root).map_err(|e| RetrainError::io("cannot list", root, e))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| RetrainError::io("cannot list", root, e))?;
        if let Some(epoch) = entry.file_name().to_str().and_then(epoch_of) {
            found.push((epoch, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// The newest checkpoint folder under `out_dir` (not verified), if any.
pub(crate) fn latest_dir(out_dir: &Path) -> Result<Option<PathBuf>> {
    Ok(complete_checkpoints(&checkpoint_root(out_dir))?
        .pop()
        .map(|(_, dir)| dir))
}

fn write_json<T: Serialize>(value: &T, path: &Path) -> Result<()> {
    let json = serde_json::to_string_pretty(value).map_err(|source| RetrainError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    std::fs::write(path, json).map_err(|e| RetrainError::io("cannot write", path, e))
}

/// Writes `contents` to `path` durably and atomically ([`nse_supernet::durable`]).
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    nse_supernet::durable::write_bytes(path, contents)
        .map_err(|e| RetrainError::io("cannot write", path, e))
}

/// Writes the checkpoint after `state.report.epochs.len()` epochs and removes older ones.
pub(crate) fn save(
    out_dir: &Path,
    state: &CheckpointState,
    model: &ChildNetwork,
    optimizer: &ModuleOptimizer,
    ema: Option<&Ema<ChildNetwork>>,
) -> Result<PathBuf> {
    let root = checkpoint_root(out_dir);
    std::fs::create_dir_all(&root).map_err(|e| RetrainError::io("cannot create", &root, e))?;
    let epoch = state.report.epochs.len();
    let name = format!("{PREFIX}{epoch:04}");
    let tmp = root.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| RetrainError::io("cannot remove", &tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| RetrainError::io("cannot create", &tmp, e))?;
    model.save(&tmp.join(MODEL))?;
    optimizer
        .save(tmp.join(OPTIMIZER))
        .map_err(|e| RetrainError::checkpoint(tmp.join(OPTIMIZER), e))?;
    if let Some(ema) = ema {
        ema.module().save(&tmp.join(EMA))?;
    }
    write_json(state, &tmp.join(STATE))?;
    // Every file on disk, and listed with its checksum, before the folder takes its name.
    nse_supernet::durable::seal(&tmp, COMPLETE)
        .map_err(|e| RetrainError::io("cannot seal", &tmp, e))?;
    let dest = root.join(&name);
    nse_supernet::durable::move_dir(&tmp, &dest)
        .map_err(|e| RetrainError::io("cannot move into", &dest, e))?;
    // Checkpoints older than the fallback, and leftovers of interrupted saves.
    let kept: Vec<usize> = complete_checkpoints(&root)?
        .iter()
        .rev()
        .take(KEEP)
        .map(|(e, _)| *e)
        .collect();
    let entries =
        std::fs::read_dir(&root).map_err(|e| RetrainError::io("cannot list", &root, e))?;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(n) = file_name.to_str() else {
            continue;
        };
        let stale = epoch_of(n).is_some_and(|e| !kept.contains(&e) && e != epoch)
            || (n.starts_with('.') && n.contains(".tmp-"));
        if stale {
            let path = entry.path();
            std::fs::remove_dir_all(&path)
                .map_err(|e| RetrainError::io("cannot remove", &path, e))?;
        }
    }
    Ok(dest)
}

/// The files of every complete checkpoint under `out_dir`, named relative to it: what the
/// other ranks of a resumed retraining receive from rank 0 ([`crate::ranks`]). Damaged ones
/// are included, so that every rank finds the same damage and falls back alike.
pub(crate) fn shared_files(out_dir: &Path) -> crate::ranks::Result<Vec<SharedFile>> {
    let dirs = complete_checkpoints(&checkpoint_root(out_dir))
        .map_err(|e| crate::ranks::RanksError::Failed(e.to_string()))?;
    let mut paths = Vec::new();
    for (_, dir) in dirs {
        paths.extend(crate::ranks::files_in(&dir)?);
    }
    crate::ranks::read_files(out_dir, paths)
}

/// Loads the newest intact checkpoint under `out_dir`, if any: the model on `train_device`
/// (autodiff), the EMA on `eval_device`, the optimizer state into a clone of `optimizer`. A
/// newer checkpoint that fails its seal or does not load is set aside and listed in
/// [`Checkpoint::damaged`]; when every checkpoint is damaged the error names them all.
pub(crate) fn load_latest(
    out_dir: &Path,
    space: &SearchSpace,
    arch: &Architecture,
    train_device: &Device,
    eval_device: &Device,
    optimizer: ModuleOptimizer,
) -> Result<Option<Checkpoint>> {
    let root = checkpoint_root(out_dir);
    let mut damaged = Vec::new();
    for (epoch, dir) in complete_checkpoints(&root)?.into_iter().rev() {
        let loaded = load_one(
            epoch,
            &dir,
            space,
            arch,
            train_device,
            eval_device,
            optimizer.clone(),
        );
        match loaded {
            Ok(mut checkpoint) => {
                checkpoint.damaged = damaged;
                return Ok(Some(checkpoint));
            }
            Err(e) => {
                let name = dir.file_name().unwrap_or_default().to_string_lossy();
                let aside = root.join(format!(".{name}.damaged"));
                nse_supernet::durable::move_dir(&dir, &aside)
                    .map_err(|e| RetrainError::io("cannot move into", &aside, e))?;
                damaged.push((aside, e.to_string()));
            }
        }
    }
    if damaged.is_empty() {
        return Ok(None);
    }
    let list: Vec<String> = damaged
        .iter()
        .map(|(dir, why)| format!("`{}`: {why}", dir.display()))
        .collect();
    Err(RetrainError::checkpoint(
        &root,
        format!(
            "no intact checkpoint is left to resume from ({}); retrain without resuming",
            list.join("; ")
        ),
    ))
}

fn load_one(
    epoch: usize,
    dir: &Path,
    space: &SearchSpace,
    arch: &Architecture,
    train_device: &Device,
    eval_device: &Device,
    optimizer: ModuleOptimizer,
) -> Result<Checkpoint> {
    // Folders written before checkpoints were sealed have no marker: complete by their
    // atomic rename, unchecked.
    if dir.join(COMPLETE).exists() {
        nse_supernet::durable::verify(dir, COMPLETE)
            .map_err(|why| RetrainError::checkpoint(dir, why))?;
    }
    let state_path = dir.join(STATE);
    let text = std::fs::read_to_string(&state_path)
        .map_err(|e| RetrainError::io("cannot read", &state_path, e))?;
    let state: CheckpointState =
        serde_json::from_str(&text).map_err(|source| RetrainError::Json {
            path: state_path.clone(),
            source,
        })?;
    if state.report.epochs.len() != epoch {
        return Err(RetrainError::checkpoint(
            dir,
            format!(
                "holds {} epochs, its name says {epoch}",
                state.report.epochs.len()
            ),
        ));
    }
    let model = ChildNetwork::load(space, arch, train_device, &dir.join(MODEL))?;
    let optimizer = optimizer
        .load(dir.join(OPTIMIZER))
        .map_err(|e| RetrainError::checkpoint(dir.join(OPTIMIZER), e))?;
    let ema = match (state.report.config.ema_decay, state.ema_updates) {
        (Some(decay), Some(updates)) => {
            let module = ChildNetwork::load(space, arch, eval_device, &dir.join(EMA))?;
            Some(Ema::from_parts(module, decay, updates))
        }
        (None, None) => None,
        _ => {
            return Err(RetrainError::checkpoint(
                dir,
                "EMA settings and EMA state disagree",
            ));
        }
    };
    Ok(Checkpoint {
        state,
        model,
        optimizer,
        ema,
        damaged: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    /// A resumed run must equal an uninterrupted one bit for bit, so the report's `f64`s must
    /// survive the checkpoint's JSON exactly. serde_json's default parser is off by one ulp on
    /// some values (the first one here, a real epoch loss); its `float_roundtrip` feature, which
    /// the workspace enables, parses them exactly.
    #[test]
    fn report_floats_round_trip_exactly_through_json() {
        for x in [
            1.1791685670614243f64,
            0.1 + 0.2,
            1e-300,
            std::f64::consts::PI,
            2.0f64.powi(60) + 1.0,
        ] {
            let text = serde_json::to_string(&x).unwrap();
            let back: f64 = serde_json::from_str(&text).unwrap();
            assert_eq!(back.to_bits(), x.to_bits(), "{x:?} came back as {back:?}");
        }
    }
}
