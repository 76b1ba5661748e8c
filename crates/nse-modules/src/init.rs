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

/// `n` draws from `N(0, std²)` on the caller's RNG, by Marsaglia's polar method: one
/// logarithm and no trigonometry per pair of draws, which matters at supernet size (tens of
/// millions of weights drawn on the host, so that every device gets the same ones).
pub fn normal_values(n: usize, std: f64, rng: &mut impl Rng) -> Vec<f32> {
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        let u = 2.0 * rng.random::<f64>() - 1.0;
        let v = 2.0 * rng.random::<f64>() - 1.0;
        let s = u * u + v * v;
        if s >= 1.0 || s == 0.0 {
            continue;
        }
        let factor = (-2.0 * s.ln() / s).sqrt() * std;
        out.push((u * factor) as f32);
        out.push((v * factor) as f32);
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

#[cfg(test)]
mod tests {
    use super::normal_values;
    use rand::SeedableRng;

    #[test]
    fn normal_values_have_the_moments_and_shape_of_a_normal() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let std = 0.5;
        let n = 200_001; // odd: the last pair is cut
        let xs = normal_values(n, std, &mut rng);
        assert_eq!(xs.len(), n);
        let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
        let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.005, "mean {mean}");
        assert!((var.sqrt() / std - 1.0).abs() < 0.01, "std {}", var.sqrt());
        // P(|z| < 1) = 0.6827 and P(|z| < 2) = 0.9545 for a normal (a uniform or a
        // mis-scaled draw with the right variance misses these).
        let within = |k: f64| xs.iter().filter(|&&x| (x as f64).abs() < k * std).count() as f64;
        assert!((within(1.0) / n as f64 - 0.6827).abs() < 0.005);
        assert!((within(2.0) / n as f64 - 0.9545).abs() < 0.003);
        // The same seed gives the same draws.
        let again = normal_values(n, std, &mut rand::rngs::StdRng::seed_from_u64(11));
        assert_eq!(xs, again);
    }
}
