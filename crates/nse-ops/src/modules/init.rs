//! Seeded weight initialisation.
//!
//! Burn's device RNG is global to a backend, so concurrent code (tests, data workers) makes
//! its draws order-dependent. Every module here can instead draw its weights from an RNG the
//! caller passes in (`init_with`), which makes supernets and child networks bit-reproducible
//! for a seed whatever else runs.

use burn::module::Param;
use burn::tensor::{Device, Shape, Tensor, TensorData};
use rand::Rng;

/// Standard deviation of Kaiming-normal initialisation in PyTorch's `fan_out` mode with the
/// ReLU gain: `sqrt(2 / (out_channels * kh * kw))` (PyTorch counts all output channels,
/// whatever the groups).
pub fn kaiming_fan_out_std(out_channels: usize, kernel: [usize; 2]) -> f64 {
    (2.0 / (out_channels * kernel[0] * kernel[1]) as f64).sqrt()
}

/// `n` draws from `N(0, std²)` (Box–Muller on the caller's RNG).
pub fn normal_values(n: usize, std: f64, rng: &mut impl Rng) -> Vec<f32> {
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
        let u2: f64 = rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt() * std;
        let theta = std::f64::consts::TAU * u2;
        out.push((r * theta.cos()) as f32);
        out.push((r * theta.sin()) as f32);
    }
    out.truncate(n);
    out
}

/// A parameter of `shape` drawn from `N(0, std²)`.
pub fn normal_param<const D: usize>(
    shape: [usize; D],
    std: f64,
    rng: &mut impl Rng,
    device: &Device,
) -> Param<Tensor<D>> {
    let n = Shape::new(shape).num_elements();
    let data = TensorData::new(normal_values(n, std, rng), shape);
    Param::from_tensor(Tensor::from_data(data, device))
}

/// A parameter of `shape` drawn from `U(−bound, bound)`.
pub fn uniform_param<const D: usize>(
    shape: [usize; D],
    bound: f64,
    rng: &mut impl Rng,
    device: &Device,
) -> Param<Tensor<D>> {
    let n = Shape::new(shape).num_elements();
    let values = (0..n)
        .map(|_| ((rng.random::<f64>() * 2.0 - 1.0) * bound) as f32)
        .collect();
    Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device))
}
