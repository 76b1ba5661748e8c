//! Helpers shared by the data-parallel tests and the `ranks_check` example (which includes
//! this file by path): the tiny space they step on and deterministic batches, the same in
//! every process.

use burn::tensor::{Device, Int, Tensor, TensorData};
use nse_space::{SearchSpace, SpaceSpec};

/// Three cells (N 8→8, R 8→16, N 16→16) over a 5-op pool, 8x8 RGB input, 4 classes.
pub fn tiny_space() -> SearchSpace {
    serde_json::from_str::<SpaceSpec>(
        r#"{"pool": ["ir_k3_e1", "ir_k5_e3", "ir_k3_e6_d2", "rec_k5_e2", "conv_k3_e1"],
            "layout": {"cells": "NRN"}, "channels": [8, 16], "stem_stride": 1,
            "input_size": 8, "num_classes": 4, "tail_channels": 16, "subspace_size": 3}"#,
    )
    .unwrap()
    .check()
    .unwrap()
}

/// A batch of `n` 8×8 RGB images and labels of 4 classes, a function of `seed` alone.
pub fn batch(device: &Device, n: usize, seed: usize) -> (Tensor<4>, Tensor<1, Int>) {
    let pixels: Vec<f32> = (0..n * 3 * 64)
        .map(|i| (((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0) - 1.0)
        .collect();
    let labels: Vec<i64> = (0..n).map(|i| ((i + seed) % 4) as i64).collect();
    (
        Tensor::from_data(TensorData::new(pixels, [n, 3, 8, 8]), device),
        Tensor::from_data(TensorData::new(labels, [n]), device),
    )
}
