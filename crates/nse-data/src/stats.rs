//! Per-channel pixel statistics of a dataset (for normalisation constants and data checks).

use super::dataset::Dataset;
use super::error::{DataError, Result};
use super::par::parallel_map;

/// Mean and standard deviation of every channel over all pixels of a dataset, in `[0, 1]`
/// units (pixel / 255).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChannelStats {
    /// Per-channel mean.
    pub mean: Vec<f64>,
    /// Per-channel (population) standard deviation.
    pub std: Vec<f64>,
    /// Number of pixels per channel that were summed.
    pub pixels: u64,
}

/// Exact integer sums of one slice of the dataset.
#[derive(Clone, Default)]
struct Sums {
    channels: usize,
    sum: Vec<u64>,
    sum_sq: Vec<u64>,
    pixels: u64,
}

/// Computes [`ChannelStats`] over every sample (decoding each one) on `threads` threads
/// (0 = one per core). Sums are exact integers, so the result does not depend on the
/// thread count. Fails on an empty dataset, on the first sample that cannot be read, or if
/// samples have different channel counts.
pub fn channel_stats<D: Dataset + ?Sized>(dataset: &D, threads: usize) -> Result<ChannelStats> {
    const CHUNK: usize = 256;
    let n = dataset.len();
    if n == 0 {
        return Err(DataError::param(
            "dataset",
            "empty",
            "statistics need at least one sample",
        ));
    }
    let parts = parallel_map(n.div_ceil(CHUNK), threads, |chunk| -> Result<Sums> {
        let mut s = Sums::default();
        for i in chunk * CHUNK..((chunk + 1) * CHUNK).min(n) {
            let image = dataset.get(i)?.image;
            let c = image.channels();
            if s.sum.is_empty() {
                s = Sums {
                    channels: c,
                    sum: vec![0; c],
                    sum_sq: vec![0; c],
                    pixels: 0,
                };
            } else if c != s.channels {
                return Err(DataError::param(
                    "channels",
                    c,
                    format!("sample {i}: other samples have {}", s.channels),
                ));
            }
            for px in image.data().chunks_exact(c) {
                for (k, &v) in px.iter().enumerate() {
                    s.sum[k] += u64::from(v);
                    s.sum_sq[k] += u64::from(v) * u64::from(v);
                }
            }
            s.pixels += (image.width() * image.height()) as u64;
        }
        Ok(s)
    });
    let mut total = Sums::default();
    for part in parts {
        let part = part?;
        if total.sum.is_empty() {
            total = part;
            continue;
        }
        if part.channels != total.channels {
            return Err(DataError::param(
                "channels",
                part.channels,
                format!("other samples have {}", total.channels),
            ));
        }
        for k in 0..total.channels {
            total.sum[k] += part.sum[k];
            total.sum_sq[k] += part.sum_sq[k];
        }
        total.pixels += part.pixels;
    }
    let count = total.pixels as f64;
    let mean: Vec<f64> = total
        .sum
        .iter()
        .map(|&s| s as f64 / count / 255.0)
        .collect();
    let std = total
        .sum_sq
        .iter()
        .zip(&mean)
        .map(|(&sq, &m)| {
            (sq as f64 / count / (255.0 * 255.0) - m * m)
                .max(0.0)
                .sqrt()
        })
        .collect();
    Ok(ChannelStats {
        mean,
        std,
        pixels: total.pixels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::InMemoryDataset;

    #[test]
    fn exact_mean_and_std() {
        // Two 1x2 RGB images: red = 0, 255, 0, 255 -> mean 0.5, std 0.5; green = 51 -> 0.2, 0;
        // blue = 0, 0, 0, 255 -> mean 0.25, std sqrt(0.1875).
        let pixels = vec![0, 51, 0, 255, 51, 0, 0, 51, 0, 255, 51, 255];
        let ds = InMemoryDataset::new(2, 1, 3, pixels, vec![0, 0], vec!["a".into()]).unwrap();
        for threads in [1, 2] {
            let s = channel_stats(&ds, threads).unwrap();
            assert_eq!(s.pixels, 4);
            let expect_mean = [0.5, 0.2, 0.25];
            let expect_std = [0.5, 0.0, 0.1875f64.sqrt()];
            for k in 0..3 {
                assert!((s.mean[k] - expect_mean[k]).abs() < 1e-12, "{s:?}");
                assert!((s.std[k] - expect_std[k]).abs() < 1e-9, "{s:?}");
            }
        }
    }
}
