//! Shared fixtures of the search, retraining and experiment tests: a tiny synthetic
//! Fashion-MNIST-format dataset and a search config over it that finishes in seconds; a
//! tiny in-memory dataset and network for retraining.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nse_space::{CostKind, LayoutPlan, NetworkSpec, SpaceSpec};
use nse_train::data::{
    IdxImages, InMemoryDataset, Split, mnist_file_names, write_idx_images, write_idx_labels,
};
use nse_train::search::{
    DataConfig, DataSource, EvaluationConfig, IndicatorConfig, LrConfig, ResourceConfig,
    SearchConfig,
};

/// A fresh folder for `name` under the temporary directory. Folders stay after a test, for
/// inspection; the first call of a test process removes those of processes that have ended.
pub fn scratch(name: &str) -> PathBuf {
    static CLEANED: std::sync::Once = std::sync::Once::new();
    CLEANED.call_once(|| remove_ended_scratch("nse-search-test-"));
    let dir = std::env::temp_dir().join(format!("nse-search-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Removes the `{prefix}{pid}-*` folders of the temporary directory whose process has ended
/// (where `/proc` tells; elsewhere nothing). A live process's folders, this one's included,
/// are left alone.
pub fn remove_ended_scratch(prefix: &str) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// 8x8 grayscale images; class `c` lights up a 2x2 block at a class-specific place, plus noise.
pub fn write_dataset(dir: &Path) {
    for (split, count) in [(Split::Train, 300), (Split::Test, 60)] {
        let mut pixels = Vec::with_capacity(count * 64);
        let mut labels = Vec::with_capacity(count);
        let mut state = 12345u32 + count as u32;
        for i in 0..count {
            let c = (i % 10) as u8;
            let (r0, c0) = ((c as usize / 5) * 4 + 1, (c as usize % 5) + 1);
            for r in 0..8 {
                for k in 0..8 {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    let noise = (state >> 24) as u8 / 4;
                    let on = (r0..r0 + 2).contains(&r) && (c0..c0 + 2).contains(&k);
                    pixels.push(if on { 200 + noise / 2 } else { noise });
                }
            }
            labels.push(c);
        }
        let (images, label_file) = mnist_file_names(split);
        let images_data = IdxImages {
            count,
            rows: 8,
            cols: 8,
            pixels,
        };
        write_idx_images(dir.join(images), &images_data).unwrap();
        write_idx_labels(dir.join(label_file), &labels).unwrap();
    }
}

pub fn config(data: &Path) -> SearchConfig {
    let space: SpaceSpec = serde_json::from_str(
        r#"{"pool": ["ir_k3_e1", "ir_k3_e3", "rec_k5_e1", "ir_k5_e1", "ir_k3_e1_d2"],
            "layout": {"cells": "NRN"}, "channels": [8, 16], "stem_stride": 1,
            "input_channels": 1, "input_size": 8, "num_classes": 10, "tail_channels": 16,
            "subspace_size": 3}"#,
    )
    .unwrap();
    SearchConfig {
        space,
        data: DataConfig {
            source: DataSource::Mnist {
                dir: data.to_path_buf(),
                fashion: true,
            },
            holdout_fraction: 0.2,
            augment: false,
            workers: Some(1),
            normalize: Default::default(),
            train_pipeline: None,
            eval_pipeline: None,
            preload: Default::default(),
            skip_corrupt: false,
        },
        seed: 7,
        training_seed: None,
        batch_size: 32,
        epochs_per_round: 2,
        lr: LrConfig {
            base: 0.1,
            warmup_from: 0.02,
            warmup_epochs: 0.5,
            min: 0.0,
        },
        sgd: Default::default(),
        unsampled_ops: Default::default(),
        weight_sampling: Default::default(),
        shadow_batch_norm: false,
        non_finite_loss: Default::default(),
        indicator: IndicatorConfig {
            lr: 0.05,
            beta_2: 0.999,
            every: 2,
            drop_threshold: -2.0,
        },
        resource: ResourceConfig {
            metric: CostKind::Macs,
            target: 0.5,
            a: 0.5,
            b: 2.0,
            drift: 0.5,
            extra_drift: 0.2,
            latency_table: None,
            latency_rules: Default::default(),
            relative: false,
        },
        evaluation: EvaluationConfig {
            n: 4,
            n_extra: 0,
            recalibration_batches: 2,
            eval_batches: None,
            attempts_per_architecture: 200,
            probe: Vec::new(),
        },
        epoch_batches: None,
        max_rounds: None,
        max_steps: None,
        log_every: 3,
    }
}

/// Collects the lines a run reports.
#[derive(Default)]
pub struct Lines(pub Vec<String>);

impl nse_train::progress::Reporter for Lines {
    fn begin(&mut self, _: &str, _: u64) {}
    fn advance(&mut self, _: u64, _: &str) {}
    fn finish(&mut self) {}
    fn line(&mut self, line: &str) {
        self.0.push(line.to_string());
    }
}

/// Flips one bit in each of four bytes every 4 KiB of `path`: the damage issue 19 found
/// loaded as valid weights before checkpoints carried checksums.
pub fn flip_bits(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    for block in (0..bytes.len()).step_by(4096) {
        for i in block..(block + 4).min(bytes.len()) {
            bytes[i] ^= 0x10;
        }
    }
    std::fs::write(path, bytes).unwrap();
}

/// 8×8 grayscale images of 4 classes: class k has a bright 4×4 quadrant k on a noisy dark
/// background (deterministic pseudo-random noise).
pub fn quadrants(per_class: usize, salt: u64) -> Arc<InMemoryDataset> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ salt;
    let mut noise = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as u8 % 70
    };
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for i in 0..4 * per_class {
        let class = i % 4;
        let (qx, qy) = (4 * (class % 2), 4 * (class / 2));
        for y in 0..8 {
            for x in 0..8 {
                let bright = (qx..qx + 4).contains(&x) && (qy..qy + 4).contains(&y);
                pixels.push(if bright { 150 + noise() } else { noise() });
            }
        }
        labels.push(class);
    }
    let names = (0..4).map(|c| format!("q{c}")).collect();
    Arc::new(InMemoryDataset::new(8, 8, 1, pixels, labels, names).unwrap())
}

/// A two-cell network for 8×8 grayscale images: `N` (4 → 4, residual) and `R` (4 → 8).
pub fn tiny_network() -> NetworkSpec {
    let mut spec = SpaceSpec::preset("fashion-mnist-mb27").unwrap();
    spec.layout = LayoutPlan::Cells { cells: "NR".into() };
    spec.depths = Vec::new();
    spec.channels = vec![4, 8];
    spec.input_size = 8;
    spec.num_classes = 4;
    spec.tail_channels = 16;
    let space = spec.check().unwrap();
    let arch = "0 | 3".parse().unwrap();
    space.child(&arch).unwrap()
}

/// The tensors of a safetensors file: name → raw bytes.
pub fn safetensors(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    header
        .into_iter()
        .filter(|(name, _)| name != "__metadata__")
        .map(|(name, info)| {
            let offsets = &info["data_offsets"];
            let (start, end) = (
                offsets[0].as_u64().unwrap() as usize,
                offsets[1].as_u64().unwrap() as usize,
            );
            (name, data[start..end].to_vec())
        })
        .collect()
}
