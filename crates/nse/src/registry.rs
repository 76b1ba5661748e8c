//! Every named thing of nse in one place — search presets, spaces, candidate pools, published
//! networks, retraining recipes, experiments, weight-sampling options and devices — as `nse
//! list` prints them, and the lookups the command line makes by name, so that a wrong name is
//! answered with the right list.
//!
//! ```
//! use nse::registry::{self, Kind};
//! let presets: Vec<&str> = registry::names(Kind::SearchPreset);
//! assert!(presets.contains(&"demo"));
//! let err = registry::search_preset("dmeo").unwrap_err().to_string();
//! assert!(err.contains("unknown search preset `dmeo`") && err.contains("demo"), "{err}");
//! ```

use std::fmt;

use crate::error::{Error, Result};
use crate::space::{PRESETS as SPACE_PRESETS, PUBLISHED, SpaceSpec, WeightSampling};
use crate::train::experiment::{Baseline, ExperimentKind};
use crate::train::retrain::RetrainConfig;
use crate::train::search::SearchConfig;

/// What kind of named thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `nse search --preset NAME`.
    SearchPreset,
    /// A space of `--set space=...` or `nse latency --space NAME`.
    SpacePreset,
    /// A reference candidate pool (`space.pool`).
    Pool,
    /// A published network (`nse stats NAME`, `nse retrain --arch NAME`).
    Network,
    /// A retraining recipe (`--recipe NAME`).
    Recipe,
    /// An experiment (`nse experiment NAME`).
    Experiment,
    /// What `vs-fixed` compares with (`--baseline NAME`).
    Baseline,
    /// How a weight step draws its path (`--set weight_sampling=NAME`).
    WeightSampling,
    /// A compute device (`--device NAME`) of this build.
    Device,
}

impl Kind {
    /// Every kind, in the order `nse list` prints them.
    pub const ALL: [Kind; 9] = [
        Kind::SearchPreset,
        Kind::SpacePreset,
        Kind::Pool,
        Kind::Network,
        Kind::Recipe,
        Kind::Experiment,
        Kind::Baseline,
        Kind::WeightSampling,
        Kind::Device,
    ];

    /// The kind's name on the command line (`nse list presets`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::SearchPreset => "presets",
            Kind::SpacePreset => "spaces",
            Kind::Pool => "pools",
            Kind::Network => "networks",
            Kind::Recipe => "recipes",
            Kind::Experiment => "experiments",
            Kind::Baseline => "baselines",
            Kind::WeightSampling => "weight-sampling",
            Kind::Device => "devices",
        }
    }

    /// The kind called `name` (as [`Kind::name`] writes it).
    pub fn from_name(name: &str) -> Result<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                Error::Usage(format!(
                    "unknown kind `{name}` (known: {})",
                    known.join(", ")
                ))
            })
    }

    /// What one of them is, in words (singular).
    fn noun(self) -> &'static str {
        match self {
            Kind::SearchPreset => "search preset",
            Kind::SpacePreset => "space",
            Kind::Pool => "candidate pool",
            Kind::Network => "published network",
            Kind::Recipe => "retraining recipe",
            Kind::Experiment => "experiment",
            Kind::Baseline => "baseline",
            Kind::WeightSampling => "weight sampling",
            Kind::Device => "device",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One named thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its kind.
    pub kind: Kind,
    /// Its name.
    pub name: &'static str,
    /// What it is, in a line.
    pub about: &'static str,
}

/// What a search preset, recipe or experiment is, in a line.
fn about(kind: Kind, name: &str) -> &'static str {
    match (kind, name) {
        (Kind::SearchPreset, "demo") => {
            "the embedded Fashion-MNIST subset, two short rounds: a whole search in minutes"
        }
        (Kind::SearchPreset, "demo-latency") => {
            "the demo under the latency measured on this machine (a relative window)"
        }
        (Kind::SearchPreset, "cifar10") => "cifar10-mb27 on a CIFAR-10 image-folder tree",
        (Kind::SearchPreset, "imagenet-mb27") => "the reference's hyper-parameters, 300 MMACs",
        (Kind::SearchPreset, "imagenet-mb19-gpu") => {
            "NSENet-GPU's search under the reference's latency table"
        }
        (Kind::SpacePreset, "fashion-mnist-mb27") => "28x28 grayscale, 7 cells, mb27 (the demo's)",
        (Kind::SpacePreset, n) if n.starts_with("cifar10") => "32x32 RGB, 12 cells, stem stride 1",
        (Kind::SpacePreset, "imagenet-mb19-gpu") => "224x224, NR layout, mb19, K = 6",
        (Kind::SpacePreset, _) => "224x224, NER layout, the reference's NSE space",
        (Kind::Pool, "mb19") => "19 ops (NSENet-GPU's pool)",
        (Kind::Pool, "mb27") => "27 ops: IR kernels 3/5/7, expansions 1/3/6, dilations, Rec",
        (Kind::Pool, "mb72") => "72 ops: mb27 and grouped IR convs",
        (Kind::Network, "nsenet27") => "NSENet-27 (mb27)",
        (Kind::Network, "nsenet") => "NSENet (mb72), 77.3% ImageNet top-1 at 333 MFLOPs",
        (Kind::Network, "nsenet-gpu") => "NSENet-GPU (mb19), latency-constrained",
        (Kind::Recipe, "demo") => "5 epochs, batch 64, Nesterov SGD, cosine with a warm-up epoch",
        (Kind::Recipe, "cifar10") => "the CIFAR-10 recipe, batch 128",
        (Kind::Experiment, "ranking") => "supernet scores against retrained accuracies",
        (Kind::Experiment, "ground-truth") => {
            "retrained accuracies with several seeds, and their noise ceiling"
        }
        (Kind::Experiment, "vs-random") => "the front against random architectures of its cost",
        (Kind::Experiment, "vs-fixed") => "the evolving space against a fixed one, same budget",
        (Kind::Experiment, "compare") => "the mean tau of two groups of rankings, paired",
        (Kind::Experiment, "known-answer") => "a front's weak ops on a pool with known strong ones",
        (Kind::Baseline, "fixed-space") => "one round on the first sub-space, all the epochs",
        (Kind::Baseline, "single-branch") => "the same search with one op per cell",
        (Kind::WeightSampling, "bernoulli") => {
            "each sub-space op on with probability 0.5 (reference)"
        }
        (Kind::WeightSampling, "uniform_count") => "the branch count uniform, then the ops",
        (Kind::WeightSampling, "fair") => "every op of a cell equally often per block of steps",
        (Kind::Device, "cpu") => "Burn's pure-Rust flex backend",
        (Kind::Device, "wgpu") => "the best WGPU adapter (feature wgpu)",
        (Kind::Device, _) => "an NVIDIA GPU through CUDA (feature cuda)",
        _ => "",
    }
}

/// The experiments `nse experiment` runs: the kinds of
/// [`ExperimentKind`](crate::train::experiment::ExperimentKind) and the two that read
/// finished runs.
const EXPERIMENTS_READING_RUNS: [&str; 2] = ["compare", "known-answer"];

/// The names of `kind`, in the order the crates define them.
pub fn names(kind: Kind) -> Vec<&'static str> {
    match kind {
        Kind::SearchPreset => SearchConfig::PRESETS.to_vec(),
        Kind::SpacePreset => SPACE_PRESETS.to_vec(),
        Kind::Pool => crate::ops::REFERENCE_POOLS.to_vec(),
        Kind::Network => PUBLISHED.to_vec(),
        Kind::Recipe => vec!["demo", "cifar10"],
        Kind::Experiment => ExperimentKind::ALL
            .iter()
            .map(|k| k.name())
            .chain(EXPERIMENTS_READING_RUNS)
            .collect(),
        Kind::Baseline => Baseline::ALL.iter().map(|b| b.name()).collect(),
        Kind::WeightSampling => WeightSampling::ALL.iter().map(|w| w.name()).collect(),
        Kind::Device => crate::device::available(),
    }
}

/// Every named thing, kind by kind.
pub fn entries() -> Vec<Entry> {
    Kind::ALL
        .into_iter()
        .flat_map(|kind| {
            names(kind).into_iter().map(move |name| Entry {
                kind,
                name,
                about: about(kind, name),
            })
        })
        .collect()
}

/// The error for `name`, not one of `kind`.
pub fn unknown(kind: Kind, name: &str) -> Error {
    Error::Usage(format!(
        "unknown {} `{name}` (known: {}; `nse list {}`)",
        kind.noun(),
        names(kind).join(", "),
        kind.name()
    ))
}

/// The search preset `name`.
pub fn search_preset(name: &str) -> Result<SearchConfig> {
    if !names(Kind::SearchPreset).contains(&name) {
        return Err(unknown(Kind::SearchPreset, name));
    }
    Ok(SearchConfig::preset(name)?)
}

/// The space preset `name`.
pub fn space_preset(name: &str) -> Result<SpaceSpec> {
    if !names(Kind::SpacePreset).contains(&name) {
        return Err(unknown(Kind::SpacePreset, name));
    }
    Ok(SpaceSpec::preset(name)?)
}

/// The retraining recipe `name`.
pub fn recipe(name: &str) -> Result<RetrainConfig> {
    match name {
        "demo" => Ok(RetrainConfig::demo()),
        "cifar10" => Ok(RetrainConfig::cifar10()),
        _ => Err(unknown(Kind::Recipe, name)),
    }
}

/// The experiment kind `name` (not `compare` or `known-answer`, which read finished runs).
pub fn experiment(name: &str) -> Result<ExperimentKind> {
    ExperimentKind::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| unknown(Kind::Experiment, name))
}

/// The `vs-fixed` baseline `name`.
pub fn baseline(name: &str) -> Result<Baseline> {
    Baseline::ALL
        .into_iter()
        .find(|b| b.name() == name)
        .ok_or_else(|| unknown(Kind::Baseline, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_found_by_its_lookup_and_nothing_else() {
        for name in names(Kind::SearchPreset) {
            search_preset(name).unwrap();
        }
        for name in names(Kind::SpacePreset) {
            space_preset(name).unwrap();
        }
        for name in names(Kind::Recipe) {
            recipe(name).unwrap();
        }
        for name in names(Kind::Experiment) {
            let kind = experiment(name);
            assert_eq!(
                kind.is_err(),
                EXPERIMENTS_READING_RUNS.contains(&name),
                "{name}"
            );
        }
        for name in names(Kind::Baseline) {
            baseline(name).unwrap();
        }
        for name in names(Kind::Pool) {
            crate::ops::CandidatePool::reference(name).unwrap();
        }
        for name in names(Kind::Network) {
            crate::space::published(name).unwrap();
        }
        for name in names(Kind::WeightSampling) {
            WeightSampling::from_name(name).unwrap();
        }
        // Every entry has a line of its own, every kind a name that reads back.
        for entry in entries() {
            assert!(!entry.about.is_empty(), "{entry:?}");
        }
        for kind in Kind::ALL {
            assert_eq!(Kind::from_name(kind.name()).unwrap(), kind);
        }
        let err = recipe("cifar").unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown retraining recipe `cifar` (known: demo, cifar10; `nse list recipes`)"
        );
        assert!(Kind::from_name("preset").is_err());
    }
}
