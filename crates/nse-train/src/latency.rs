//! Latency tables measured on your own device: every layer a search space needs
//! ([`nse_space::latency_layers`]) timed with [`nse_modules::latency::measure_layer`], written as a
//! [`LatencyTable`] JSON file that the search reads (`resource.metric = latency`).
//!
//! The table records where it was measured (device, backend, dtype, batch, library version).
//! Building into an existing file of the same device and settings measures only the layers it
//! lacks (an interrupted build continues; a table can grow to cover another space); a file
//! measured elsewhere is refused rather than overwritten.
//!
//! ```no_run
//! use burn::tensor::Device;
//! use nse_modules::latency::MeasureSettings;
//! use nse_space::SpaceSpec;
//! use nse_train::latency::build_table;
//! use nse_train::progress::Terminal;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let space = SpaceSpec::preset("cifar10-mb27")?.check()?;
//! let table = build_table(
//!     &space,
//!     &Device::flex(),
//!     &MeasureSettings::default(),
//!     "runs/cifar10-cpu-latency.json".as_ref(),
//!     &mut Terminal::new(),
//! )?;
//! println!("{} layers, {}", table.entries.len(), table.unit);
//! # Ok(())
//! # }
//! ```

use std::path::Path;

use burn::tensor::Device;
use thiserror::Error;

use nse_modules::latency::{MeasureSettings, measure_layer};
use nse_ops::OpsError;
use nse_ops::latency::LatencyTable;
use nse_space::{SearchSpace, SpaceError, latency_layers};

use crate::progress::Reporter;
use crate::run_dir::write_json;

/// Result alias of [`build_table`].
pub type Result<T> = std::result::Result<T, LatencyError>;

/// Why a latency table could not be built.
#[derive(Debug, Error)]
pub enum LatencyError {
    /// A table file could not be read.
    #[error(transparent)]
    Ops(#[from] OpsError),
    /// A layer could not be timed.
    #[error(transparent)]
    Modules(#[from] nse_modules::ModulesError),
    /// The space is invalid.
    #[error(transparent)]
    Space(#[from] SpaceError),
    /// The table could not be written.
    #[error(transparent)]
    Write(#[from] crate::search::SearchError),
    /// A network could not be built or timed.
    #[error("latency validation: {0}")]
    Network(String),
    /// The output file holds a table measured elsewhere or with other settings.
    #[error(
        "`{path}` holds a table measured on {theirs}, not on {ours}: choose another --out or \
         remove it"
    )]
    OtherTable {
        /// The file.
        path: String,
        /// Where its table was measured.
        theirs: String,
        /// Where this build measures.
        ours: String,
    },
}

/// Layers timed between two writes of the table (what an interruption can lose).
const SAVE_EVERY: usize = 10;

/// Where a build with `settings` on `device` measures: the device and backend, dtype, batch,
/// warm-up and repeats, and this library's version.
pub fn measured_on(device: &Device, settings: &MeasureSettings) -> String {
    format!(
        "{device:?}, f32, batch {}, median of {} after {} warm-up, nse {}",
        settings.batch,
        settings.repeats,
        settings.warmup,
        env!("CARGO_PKG_VERSION")
    )
}

/// Times every layer `space` needs on `device` (in inference, `settings.batch` images) into
/// the table at `out`, reusing the entries of a table already there when it was measured the
/// same way, and writing the file as it goes. Progress goes to `reporter`.
pub fn build_table(
    space: &SearchSpace,
    device: &Device,
    settings: &MeasureSettings,
    out: &Path,
    reporter: &mut dyn Reporter,
) -> Result<LatencyTable> {
    let ours = measured_on(device, settings);
    let mut table = if out.exists() {
        let table = LatencyTable::read(out)?;
        let theirs = table
            .measured_on
            .clone()
            .unwrap_or_else(|| "an unknown device".into());
        if theirs != ours || table.batch != Some(settings.batch) || table.unit != "ms" {
            return Err(LatencyError::OtherTable {
                path: out.display().to_string(),
                theirs,
                ours,
            });
        }
        table
    } else {
        LatencyTable {
            batch: Some(settings.batch),
            measured_on: Some(ours),
            ..LatencyTable::new("ms")
        }
    };
    let keys = latency_layers(space)?;
    let missing: Vec<_> = keys
        .iter()
        .filter(|k| !table.entries.contains_key(k))
        .collect();
    if !missing.is_empty() {
        reporter.line(&format!(
            "latency: timing {} of the space's {} layers on {device:?} (batch {})",
            missing.len(),
            keys.len(),
            settings.batch
        ));
        reporter.begin("latency: timing layers", missing.len() as u64);
        for (i, key) in missing.iter().enumerate() {
            let ms = measure_layer(key, device, settings)?;
            table.entries.insert(**key, ms);
            reporter.advance(1, &format!("{key}: {ms:.3} ms"));
            if (i + 1) % SAVE_EVERY == 0 {
                write_json(out, &table)?;
            }
        }
        reporter.finish();
    }
    write_json(out, &table)?;
    Ok(table)
}

/// One architecture of a [`validate_table`] run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LatencyCheck {
    /// The architecture (text form).
    pub architecture: String,
    /// MACs of one image.
    pub macs: u64,
    /// Layers summed for the prediction.
    pub layers: usize,
    /// Millions of values the convs among them write for one image
    /// ([`LayerKey::output_elements`](nse_ops::latency::LayerKey::output_elements)).
    #[serde(default)]
    pub conv_output_millions: f64,
    /// The table's sum, ms.
    pub predicted: f64,
    /// The whole network's forward pass, timed as the layers were, ms.
    pub measured: f64,
}

/// Predicted (sum of table entries) against measured end-to-end latency.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LatencyValidation {
    /// Spearman ρ between predicted and measured.
    pub spearman_rho: f64,
    /// Mean absolute percentage error of the prediction.
    pub mape: f64,
    /// Mean of measured / predicted.
    pub mean_ratio: f64,
    /// The per-layer part of the overhead fitted by non-negative least squares
    /// (`measured ≈ predicted + overhead_per_layer × layers + overhead_per_output_million ×
    /// conv_output_millions`), ms: what running the layers as one network adds per layer
    /// (dispatch, the layout between kernels).
    pub overhead_per_layer: f64,
    /// The part per million values the convs write for one image, ms: the batch norm and
    /// activation passes over each conv's output, which the table does not time.
    #[serde(default)]
    pub overhead_per_output_million: f64,
    /// Spearman ρ after adding the fitted overhead.
    pub corrected_spearman_rho: f64,
    /// Mean absolute percentage error after adding it.
    pub corrected_mape: f64,
    /// Where the table was measured.
    pub measured_on: Option<String>,
    /// The rules the predictions were summed by.
    pub rules: nse_space::LatencyRules,
    /// The architectures.
    pub architectures: Vec<LatencyCheck>,
}

impl LatencyValidation {
    /// One line: ρ and the error, before and after the overhead correction.
    pub fn summary(&self) -> String {
        format!(
            "{} architectures: Spearman rho {:.3}, mean abs. error {:.1} % (measured / predicted \
             {:.2}); with {:.4} ms per layer and {:.4} ms per million conv outputs added: \
             rho {:.3}, error {:.1} %",
            self.architectures.len(),
            self.spearman_rho,
            100.0 * self.mape,
            self.mean_ratio,
            self.overhead_per_layer,
            self.overhead_per_output_million,
            self.corrected_spearman_rho,
            100.0 * self.corrected_mape
        )
    }
}

fn mape(predicted: &[f64], measured: &[f64]) -> f64 {
    predicted
        .iter()
        .zip(measured)
        .map(|(p, m)| ((p - m) / m).abs())
        .sum::<f64>()
        / measured.len() as f64
}

/// The non-negative `[a, b]` that minimise `Σ (y − a·x − b·z)²`: the joint solution when
/// both are non-negative, otherwise the better of the one-term fits (each clamped at 0).
pub fn non_negative_least_squares(x: &[f64], z: &[f64], y: &[f64]) -> [f64; 2] {
    let dot = |u: &[f64], v: &[f64]| u.iter().zip(v).map(|(a, b)| a * b).sum::<f64>();
    let (xx, zz, xz, xy, zy) = (dot(x, x), dot(z, z), dot(x, z), dot(x, y), dot(z, y));
    let sse = |a: f64, b: f64| {
        (0..y.len())
            .map(|i| (y[i] - a * x[i] - b * z[i]).powi(2))
            .sum::<f64>()
    };
    let det = xx * zz - xz * xz;
    if det > 1e-12 * xx * zz {
        let a = (xy * zz - zy * xz) / det;
        let b = (zy * xx - xy * xz) / det;
        if a >= 0.0 && b >= 0.0 {
            return [a, b];
        }
    }
    let only_x = [if xx > 0.0 { (xy / xx).max(0.0) } else { 0.0 }, 0.0];
    let only_z = [0.0, if zz > 0.0 { (zy / zz).max(0.0) } else { 0.0 }];
    if sse(only_x[0], only_x[1]) <= sse(only_z[0], only_z[1]) {
        only_x
    } else {
        only_z
    }
}

/// What [`validate_table`] times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidationSettings {
    /// How each network is timed (batch, warm-up, repeats: as the table's layers were).
    pub measure: MeasureSettings,
    /// Random architectures timed.
    pub archs: usize,
    /// Seed of their draw.
    pub seed: u64,
}

/// Times random architectures of `space` (each cell 1–4 random ops of the pool, residual
/// cells 0–4) end to end on `device` and compares them with what `table` predicts under
/// `rules`. The table must cover the space.
pub fn validate_table(
    space: &SearchSpace,
    table: &LatencyTable,
    rules: &nse_space::LatencyRules,
    device: &Device,
    validation: &ValidationSettings,
    reporter: &mut dyn Reporter,
) -> Result<LatencyValidation> {
    let (settings, archs, seed) = (&validation.measure, validation.archs, validation.seed);
    use burn::tensor::{Distribution, Tensor};
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let spec = space.spec();
    let x = Tensor::<4>::random(
        [
            settings.batch,
            spec.input_channels,
            spec.input_size,
            spec.input_size,
        ],
        Distribution::Default,
        device,
    );
    let mut checks = Vec::with_capacity(archs);
    reporter.begin("latency: timing networks", archs as u64);
    for i in 0..archs {
        let arch = crate::experiment::random_architecture(space, &mut rng);
        let layers = space.architecture_latency_layers(rules, &arch)?;
        let predicted = table.sum(&layers)?;
        let network = nse_supernet::ChildNetwork::from_space(space, &arch, device, i as u64)
            .map_err(|e| LatencyError::Network(e.to_string()))?;
        let measured = nse_modules::latency::time_median(device, settings, &|| {
            drop(network.forward(x.clone()))
        })
        .map_err(LatencyError::Network)?;
        reporter.advance(
            1,
            &format!("{predicted:.3} predicted, {measured:.3} ms measured"),
        );
        let conv_output_millions = layers
            .iter()
            .filter(|k| k.kind == nse_ops::latency::LayerKind::Conv)
            .map(|k| k.output_elements() as f64 * 1e-6)
            .sum();
        checks.push(LatencyCheck {
            architecture: arch.to_string(),
            macs: space.architecture_cost(&arch)?.total.macs,
            layers: layers.len(),
            conv_output_millions,
            predicted,
            measured,
        });
    }
    reporter.finish();
    let predicted: Vec<f64> = checks.iter().map(|c| c.predicted).collect();
    let measured: Vec<f64> = checks.iter().map(|c| c.measured).collect();
    let counts: Vec<f64> = checks.iter().map(|c| c.layers as f64).collect();
    let outputs: Vec<f64> = checks.iter().map(|c| c.conv_output_millions).collect();
    let gap: Vec<f64> = measured
        .iter()
        .zip(&predicted)
        .map(|(m, p)| m - p)
        .collect();
    let [per_layer, per_output] = non_negative_least_squares(&counts, &outputs, &gap);
    let corrected: Vec<f64> = (0..checks.len())
        .map(|i| predicted[i] + per_layer * counts[i] + per_output * outputs[i])
        .collect();
    use crate::experiment::stats::spearman_rho;
    Ok(LatencyValidation {
        spearman_rho: spearman_rho(&predicted, &measured),
        mape: mape(&predicted, &measured),
        mean_ratio: measured
            .iter()
            .zip(&predicted)
            .map(|(m, p)| m / p)
            .sum::<f64>()
            / measured.len().max(1) as f64,
        overhead_per_layer: per_layer,
        overhead_per_output_million: per_output,
        corrected_spearman_rho: spearman_rho(&corrected, &measured),
        corrected_mape: mape(&corrected, &measured),
        measured_on: table.measured_on.clone(),
        rules: *rules,
        architectures: checks,
    })
}

#[cfg(test)]
mod tests {
    use super::non_negative_least_squares;

    #[test]
    fn the_overhead_fit_recovers_its_terms_and_never_goes_negative() {
        let x = [10.0, 20.0, 15.0, 30.0];
        let z = [1.0, 0.5, 3.0, 2.0];
        let y: Vec<f64> = (0..4).map(|i| 0.3 * x[i] + 2.0 * z[i]).collect();
        let [a, b] = non_negative_least_squares(&x, &z, &y);
        assert!((a - 0.3).abs() < 1e-9 && (b - 2.0).abs() < 1e-9, "{a} {b}");
        // y falls with z: the joint fit's b would be negative; b is 0 and a the one-term fit.
        let y: Vec<f64> = (0..4).map(|i| 0.3 * x[i] - 2.0 * z[i]).collect();
        let [a, b] = non_negative_least_squares(&x, &z, &y);
        let xy: f64 = (0..4).map(|i| x[i] * y[i]).sum();
        let xx: f64 = x.iter().map(|v| v * v).sum();
        assert_eq!(b, 0.0);
        assert!((a - xy / xx).abs() < 1e-12, "{a}");
        // Nothing to explain: both 0.
        assert_eq!(non_negative_least_squares(&x, &z, &[-1.0; 4]), [0.0, 0.0]);
    }
}
