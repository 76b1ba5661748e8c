//! Exporting a child network to PyTorch: a self-contained `model.py` (plain `torch.nn`) that
//! builds the architecture, `model.safetensors` that loads into it with
//! `load_state_dict(strict=True)` ([`export_safetensors`]'s names), and `check.safetensors`,
//! a sample input with the logits this network gives it, which `python model.py` compares.
//!
//! ```no_run
//! # fn main() -> nse_supernet::Result<()> {
//! use burn::tensor::Device;
//! use nse_space::published::published;
//! use nse_supernet::ChildNetwork;
//! use nse_supernet::pytorch::{ExportInfo, export_pytorch};
//!
//! let network = published("nsenet-gpu")?;
//! let (space, arch) = network.resolve()?;
//! let device = Device::flex();
//! let child = ChildNetwork::from_space(&space, &arch, &device, 0)?;
//! let info = ExportInfo::named("nsenet-gpu");
//! let export = export_pytorch(&child, &space, &arch, &info, "export/nsenet-gpu".as_ref())?;
//! println!("{}", export.model_py.display());
//! # Ok(())
//! # }
//! ```

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use nse_space::{Architecture, SearchSpace};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::child::ChildNetwork;
use crate::error::{Result, SupernetError};
use crate::store::export_safetensors;

/// The generated PyTorch module's file name.
pub const MODEL_PY: &str = "model.py";
/// The weights' file name.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The sample input and nse's logits for it.
pub const CHECK_FILE: &str = "check.safetensors";
/// Images in the check sample.
pub const CHECK_BATCH: usize = 2;
/// Seed of the check sample's input.
pub const CHECK_SEED: u64 = 2021;

/// What an export says about the network besides its structure and weights.
#[derive(Clone, Debug, Default)]
pub struct ExportInfo {
    /// The network's name (in `model.py` and its messages).
    pub name: String,
    /// The per-channel `(mean, std)` the network's inputs were normalised with (pixels in
    /// `[0, 1]`), when known: `model.py`'s `normalize` applies it.
    pub normalize: Option<(Vec<f32>, Vec<f32>)>,
}

impl ExportInfo {
    /// An export named `name`, with no normalisation recorded.
    pub fn named(name: impl Into<String>) -> Self {
        ExportInfo {
            name: name.into(),
            normalize: None,
        }
    }
}

/// What [`export_pytorch`] wrote.
#[derive(Clone, Debug)]
pub struct PytorchExport {
    /// `model.py`.
    pub model_py: PathBuf,
    /// `model.safetensors`.
    pub weights: PathBuf,
    /// `check.safetensors` (`input`, `logits`).
    pub check: PathBuf,
    /// The largest absolute logit of the check sample (to judge the tolerance by).
    pub max_abs_logit: f32,
}

/// The architecture as `model.py` reads it: geometry of the stem, of every non-empty cell
/// and its ops, and of the tail. Fails when `child` is not the network of `arch` in `space`
/// (another number of cells or ops).
pub fn architecture_json(
    child: &ChildNetwork,
    space: &SearchSpace,
    arch: &Architecture,
    info: &ExportInfo,
) -> Result<Value> {
    let name = info.name.as_str();
    space.check_architecture(arch)?;
    let spec = space.spec();
    let mut cells = Vec::new();
    for (cell, set) in space.cells().iter().zip(arch.cells()) {
        if set.is_empty() {
            continue;
        }
        let g = cell.geometry;
        let ops = set
            .iter()
            .map(|&i| {
                let op = space.pool().op(i)?;
                let groups = op.groups();
                Ok(json!({
                    "name": op.to_string(),
                    "family": op.family().keyword(),
                    "kernel": op.kernel(),
                    "expansion": op.expansion(),
                    "dilation": op.dilation(),
                    "groups": [groups.input, groups.output],
                    "se": op.se(),
                    "activation": op.activation().keyword(),
                }))
            })
            .collect::<Result<Vec<_>>>()?;
        cells.push(json!({
            "index": cell.index,
            "cin": g.cin,
            "cout": g.cout,
            "stride": g.stride,
            "residual": cell.is_residual(),
            "ops": ops,
        }));
    }
    let matches = cells.len() == child.cells.len()
        && cells
            .iter()
            .zip(&child.cells)
            .all(|(c, child)| c["ops"].as_array().map(Vec::len) == Some(child.ops.len()));
    if !matches {
        return Err(SupernetError::Store {
            action: "export",
            path: name.to_string(),
            message:
                "the network is not the architecture's child network (its cells or ops differ)"
                    .into(),
        });
    }
    let normalize = info
        .normalize
        .as_ref()
        .map(|(mean, std)| json!({"mean": mean, "std": std}));
    Ok(json!({
        "name": name,
        "normalize": normalize,
        "input_channels": spec.input_channels,
        "input_size": spec.input_size,
        "num_classes": spec.num_classes,
        "stem": {"channels": space.widths()[0], "stride": spec.stem_stride},
        "cells": cells,
        "tail": {
            "input_channels": space.final_width(),
            "channels": spec.tail_channels,
            "classes": spec.num_classes,
        },
    }))
}

/// The text of `model.py` for an architecture (from [`architecture_json`]).
pub fn model_py(architecture: &Value) -> String {
    let text = serde_json::to_string_pretty(architecture).expect("JSON values serialise");
    let size = architecture["input_size"].to_string();
    let name = architecture["name"].as_str().unwrap_or("network");
    include_str!("pytorch_model.py")
        .replace("{{NAME}}", name)
        .replace("{{CHANNELS}}", &architecture["input_channels"].to_string())
        .replace("{{SIZE}}", &size)
        .replace("{{ARCHITECTURE}}", &text)
}

/// Writes `model.py`, `model.safetensors` and `check.safetensors` for `child` (the network
/// of `arch` in `space`, on any device, in eval mode: batch norms use their running
/// statistics) into `dir`, created if missing; existing files are replaced.
pub fn export_pytorch(
    child: &ChildNetwork,
    space: &SearchSpace,
    arch: &Architecture,
    info: &ExportInfo,
    dir: &Path,
) -> Result<PytorchExport> {
    let architecture = architecture_json(child, space, arch, info)?;
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let model_py_path = dir.join(MODEL_PY);
    nse_durable::write_bytes(&model_py_path, model_py(&architecture).as_bytes())
        .map_err(|e| io_error(&model_py_path, e))?;
    let weights = dir.join(WEIGHTS_FILE);
    export_safetensors(child, &weights)?;

    let device = child.stem.conv.conv.weight.val().device();
    let input = check_input(child.input_channels, child.input_size, &device);
    let logits = child.forward(input.clone());
    let (input_shape, logits_shape) = (input.dims().to_vec(), logits.dims().to_vec());
    let input_data = input.into_data();
    let logits_data = logits.into_data();
    let logit_values = f32_values(&logits_data)?;
    let max_abs_logit = logit_values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let check = dir.join(CHECK_FILE);
    let bytes = safetensors_bytes(&[
        ("input", &input_shape, &f32_values(&input_data)?),
        ("logits", &logits_shape, &logit_values),
    ]);
    nse_durable::write_bytes(&check, &bytes).map_err(|e| io_error(&check, e))?;
    Ok(PytorchExport {
        model_py: model_py_path,
        weights,
        check,
        max_abs_logit,
    })
}

/// The check sample: `CHECK_BATCH` images of standard-normal pixels drawn from a ChaCha8
/// stream seeded with [`CHECK_SEED`] (the same on every machine).
fn check_input(channels: usize, size: usize, device: &Device) -> Tensor<4> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(CHECK_SEED);
    let n = CHECK_BATCH * channels * size * size;
    let values: Vec<f32> = (0..n).map(|_| standard_normal(&mut rng)).collect();
    Tensor::from_data(
        TensorData::new(values, [CHECK_BATCH, channels, size, size]),
        device,
    )
}

fn f32_values(data: &TensorData) -> Result<Vec<f32>> {
    data.clone()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| SupernetError::Store {
            action: "export",
            path: CHECK_FILE.into(),
            message: format!("{e:?}"),
        })
}

fn io_error(path: &Path, e: std::io::Error) -> SupernetError {
    SupernetError::Store {
        action: "export",
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// A safetensors file of little-endian f32 tensors: an 8-byte header length, the JSON
/// header (names, dtypes, shapes, byte ranges), the data.
fn safetensors_bytes(tensors: &[(&str, &[usize], &[f32])]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for (name, shape, values) in tensors {
        let end = offset + 4 * values.len();
        header.insert(
            (*name).to_string(),
            json!({"dtype": "F32", "shape": shape, "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut header = serde_json::to_vec(&Value::Object(header)).expect("JSON values serialise");
    // The data starts 8-byte aligned, as the format's writers do.
    while !(8 + header.len()).is_multiple_of(8) {
        header.push(b' ');
    }
    let mut bytes = Vec::with_capacity(8 + header.len() + offset);
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&header);
    for (_, _, values) in tensors {
        for v in *values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    bytes
}

/// A standard-normal draw by the Box–Muller transform (no distribution crate needed).
fn standard_normal(rng: &mut impl Rng) -> f32 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safetensors_layout() {
        let bytes = safetensors_bytes(&[("a", &[2], &[1.0, -2.0]), ("b", &[1, 1], &[3.5])]);
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert!((8 + n).is_multiple_of(8));
        let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        assert_eq!(header["a"]["data_offsets"], json!([0, 8]));
        assert_eq!(header["b"]["shape"], json!([1, 1]));
        let data = &bytes[8 + n..];
        assert_eq!(data.len(), 12);
        assert_eq!(f32::from_le_bytes(data[4..8].try_into().unwrap()), -2.0);
        assert_eq!(f32::from_le_bytes(data[8..12].try_into().unwrap()), 3.5);
    }
}
