//! Timing one layer of a latency table on a Burn device.
//!
//! A layer is built as the network runs it — convolutions through [`crate::kernels::convolve`]
//! (our CPU kernels on `flex`, Burn's op elsewhere), the global average pool as the tail's mean
//! over the spatial dimensions, the classifier as Burn's `Linear` — and its forward pass timed
//! in inference (no autodiff) on a batch of random inputs: `warmup` passes first, then
//! `repeats` passes, each stopped by [`Device::sync`] so that queued GPU work is counted; the
//! table keeps the median in milliseconds. Batch norm and activations are not timed, as in
//! the reference's table.

use std::time::Instant;

use burn::nn::conv::Conv2dConfig;
use burn::nn::{LinearConfig, PaddingConfig2d};
use burn::tensor::{Device, Distribution, Tensor};

use nse_ops::latency::{Extent, LayerKey, LayerKind};

use crate::error::{ModulesError, Result};

/// How a layer is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeasureSettings {
    /// Images per forward pass.
    pub batch: usize,
    /// Untimed passes before timing (kernel selection, caches, allocation).
    pub warmup: usize,
    /// Timed passes; their median is kept.
    pub repeats: usize,
}

impl Default for MeasureSettings {
    /// Batch 1, 3 warm-up passes, the median of 7.
    fn default() -> Self {
        MeasureSettings {
            batch: 1,
            warmup: 3,
            repeats: 7,
        }
    }
}

fn pair(e: Extent) -> [usize; 2] {
    e.sides()
}

/// The median forward time of the layer `key` on `device` with `settings`, in milliseconds.
/// Fails for a key that names no buildable layer (zero channels, groups that do not divide
/// them) or when the device reports an error.
pub fn measure_layer(key: &LayerKey, device: &Device, settings: &MeasureSettings) -> Result<f64> {
    let invalid = |why: &str| ModulesError::LatencyMeasure {
        key: key.to_string(),
        message: why.to_string(),
    };
    if settings.batch == 0 || settings.repeats == 0 {
        return Err(invalid("batch and repeats must be at least 1"));
    }
    if key.cin == 0 || key.cout == 0 {
        return Err(invalid("zero channels"));
    }
    let b = settings.batch;
    let [h, w] = pair(key.hw);
    let run: Box<dyn Fn()> = match key.kind {
        LayerKind::Conv => {
            let groups = key.groups.max(1);
            if !key.cin.is_multiple_of(groups) || !key.cout.is_multiple_of(groups) {
                return Err(invalid("the groups do not divide the channels"));
            }
            let [ph, pw] = pair(key.padding);
            let conv = Conv2dConfig::new([key.cin, key.cout], pair(key.kernel))
                .with_stride(pair(key.stride))
                .with_dilation([key.dilation.max(1); 2])
                .with_groups(groups)
                .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
                .with_bias(false)
                .init(device);
            let x = Tensor::<4>::random([b, key.cin, h, w], Distribution::Default, device);
            Box::new(move || drop(crate::kernels::convolve(&conv, x.clone())))
        }
        LayerKind::AvgPool => {
            let x = Tensor::<4>::random([b, key.cin, h, w], Distribution::Default, device);
            Box::new(move || drop(x.clone().mean_dim(2).mean_dim(3)))
        }
        LayerKind::Add => {
            let x = Tensor::<4>::random([b, key.cin, h, w], Distribution::Default, device);
            let y = Tensor::<4>::random([b, key.cin, h, w], Distribution::Default, device);
            Box::new(move || drop(x.clone() + y.clone()))
        }
        LayerKind::Linear => {
            let linear = LinearConfig::new(key.cin, key.cout).init(device);
            let x = Tensor::<2>::random([b, key.cin], Distribution::Default, device);
            Box::new(move || drop(linear.forward(x.clone())))
        }
    };
    time_median(device, settings, &*run).map_err(|e| invalid(&e))
}

/// The median time of `run` on `device` in milliseconds: `settings.warmup` untimed calls,
/// then `settings.repeats` timed ones, each stopped after [`Device::sync`] (so queued GPU
/// work counts). The error is the device's.
pub fn time_median(
    device: &Device,
    settings: &MeasureSettings,
    run: &dyn Fn(),
) -> std::result::Result<f64, String> {
    let sync = || {
        device
            .sync()
            .map_err(|e| format!("the device failed: {e:?}"))
    };
    sync()?;
    for _ in 0..settings.warmup {
        run();
        sync()?;
    }
    let mut times = Vec::with_capacity(settings.repeats.max(1));
    for _ in 0..settings.repeats.max(1) {
        let start = Instant::now();
        run();
        sync()?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layer_kind_is_timed_and_bad_keys_are_refused() {
        let device = Device::flex();
        let settings = MeasureSettings {
            batch: 2,
            warmup: 1,
            repeats: 3,
        };
        let rec = LayerKey {
            hw: Extent::Pair(8, 4),
            kernel: Extent::Pair(3, 1),
            stride: Extent::Pair(2, 1),
            padding: Extent::Pair(1, 0),
            ..LayerKey::conv(8, 8, 8, 3, 2, 1, 1, 1)
        };
        for key in [
            LayerKey::conv(8, 4, 12, 1, 1, 0, 1, 1),
            LayerKey::conv(8, 12, 12, 3, 2, 1, 1, 12),
            LayerKey::conv(8, 12, 12, 3, 1, 2, 2, 12),
            rec,
            LayerKey::add(8, 4),
            LayerKey::global_avg_pool(4, 16),
            LayerKey::linear(16, 10),
        ] {
            let t = measure_layer(&key, &device, &settings).unwrap();
            assert!(t.is_finite() && t >= 0.0, "{key}: {t}");
        }
        let bad = LayerKey::conv(8, 6, 12, 3, 1, 1, 1, 4);
        assert!(measure_layer(&bad, &device, &settings).is_err());
        let zero = LayerKey::conv(8, 0, 12, 3, 1, 1, 1, 1);
        assert!(measure_layer(&zero, &device, &settings).is_err());
    }
}
