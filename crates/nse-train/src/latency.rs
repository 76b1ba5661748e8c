//! Latency tables measured on your own device: every layer a search space needs
//! ([`nse_space::latency_layers`]) timed with [`nse_ops::latency::measure_layer`], written as a
//! [`LatencyTable`] JSON file that the search reads (`resource.metric = latency`).
//!
//! The table records where it was measured (device, backend, dtype, batch, library version).
//! Building into an existing file of the same device and settings measures only the layers it
//! lacks (an interrupted build continues; a table can grow to cover another space); a file
//! measured elsewhere is refused rather than overwritten.
//!
//! ```no_run
//! use burn::tensor::Device;
//! use nse_ops::latency::MeasureSettings;
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

use nse_ops::OpsError;
use nse_ops::latency::{LatencyTable, MeasureSettings, measure_layer};
use nse_space::{SearchSpace, SpaceError, latency_layers};

use crate::progress::Reporter;
use crate::search::report::write_json_atomic;

/// Result alias of [`build_table`].
pub type Result<T> = std::result::Result<T, LatencyError>;

/// Why a latency table could not be built.
#[derive(Debug, Error)]
pub enum LatencyError {
    /// A layer could not be timed, or a table file not read.
    #[error(transparent)]
    Ops(#[from] OpsError),
    /// The space is invalid.
    #[error(transparent)]
    Space(#[from] SpaceError),
    /// The table could not be written.
    #[error(transparent)]
    Write(#[from] crate::search::SearchError),
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
                write_json_atomic(out, &table)?;
            }
        }
        reporter.finish();
    }
    write_json_atomic(out, &table)?;
    Ok(table)
}
