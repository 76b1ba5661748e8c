//! The search configuration: every hyper-parameter of an NSE search as serde data, with the
//! reference values of docs/method.md §6–§7 as documented defaults.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::data::Pipeline;

use nse_space::{
    Architecture, CostKind, CostModel, CostTable, LatencyRules, ResourceWindow, SearchSpace,
    SpaceSpec, WeightSampling,
};

use crate::optim::SgdSettings;
use crate::search::error::{Result, SearchError};

/// Where the images come from. The held-out part of the training set (for indicator steps
/// and architecture evaluation) is carved out by [`DataConfig::holdout_fraction`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataSource {
    /// The Fashion-MNIST subset that ships in the repository, embedded in the binary (crate
    /// `nse-demo-data`).
    FashionMnistDemo,
    /// MNIST or Fashion-MNIST idx files (plain or `.gz`) in `dir`.
    Mnist {
        /// Folder with `train-images-idx3-ubyte[.gz]` etc.
        dir: PathBuf,
        /// Fashion-MNIST (true) or MNIST digits (false) class names.
        #[serde(default)]
        fashion: bool,
    },
    /// CIFAR-10 binary batches (`data_batch_1..5.bin`, `test_batch.bin`) in `dir`.
    Cifar10Binary {
        /// Folder with the `.bin` files.
        dir: PathBuf,
    },
    /// An image-folder tree `root/train/<class>/<image>` (and `root/test/...`).
    ImageFolder {
        /// Root with `train/` (and optionally `test/`).
        root: PathBuf,
    },
    /// Images named by list files, as the NSE reference reads ImageNet: each line an image
    /// path relative to `root` and a class index (`n01440764/n01440764_10026.JPEG 0`).
    ImageList {
        /// The folder the listed paths are relative to.
        root: PathBuf,
        /// The training set (the reference's `train_meta`).
        train: PathBuf,
        /// The held-out set for indicator steps and evaluation (the reference's
        /// `arch_val_meta`); without it, `holdout_fraction` of `train` is held out.
        #[serde(default)]
        held_out: Option<PathBuf>,
        /// The test set, for retraining.
        #[serde(default)]
        test: Option<PathBuf>,
    },
    /// A `.tar.gz` of an image-folder tree with `train/` and `test/`, extracted once into
    /// `cache` (for example the CIFAR-10 JPEG archive).
    Archive {
        /// The archive.
        path: PathBuf,
        /// Folder to extract into (reused when already extracted).
        cache: PathBuf,
    },
    /// Datasets given from code ([`Search::with_datasets`](crate::search::Search::with_datasets));
    /// the name is only recorded.
    Custom {
        /// What the caller called them.
        name: String,
    },
}

impl std::str::FromStr for DataSource {
    type Err = SearchError;
    /// The command line's short form of a source: `demo`, `fashion-mnist:DIR`, `mnist:DIR`,
    /// `cifar10-bin:DIR`, `image-folder:ROOT` (`ROOT/train`, `ROOT/test`) or
    /// `archive:FILE.tar.gz` (extracted once under `/var/tmp/nse-data/<name>`).
    ///
    /// ```
    /// use nse_train::search::DataSource;
    /// let source: DataSource = "image-folder:/data/cifar10".parse().unwrap();
    /// assert_eq!(source, DataSource::ImageFolder { root: "/data/cifar10".into() });
    /// assert!("folder:/x".parse::<DataSource>().is_err());
    /// ```
    fn from_str(spec: &str) -> Result<Self> {
        let (kind, arg) = spec.split_once(':').unwrap_or((spec, ""));
        let path = || {
            if arg.is_empty() {
                Err(SearchError::Config(format!(
                    "data `{kind}`: give a path as `{kind}:PATH`"
                )))
            } else {
                Ok(PathBuf::from(arg))
            }
        };
        Ok(match kind {
            "demo" => DataSource::FashionMnistDemo,
            "fashion-mnist" => DataSource::Mnist {
                dir: path()?,
                fashion: true,
            },
            "mnist" => DataSource::Mnist {
                dir: path()?,
                fashion: false,
            },
            "cifar10-bin" => DataSource::Cifar10Binary { dir: path()? },
            "image-folder" => DataSource::ImageFolder { root: path()? },
            "archive" => {
                let file = path()?;
                let stem = file
                    .file_name()
                    .map(|n| n.to_string_lossy().replace(".tar.gz", ""))
                    .unwrap_or_default();
                DataSource::Archive {
                    cache: PathBuf::from("/var/tmp/nse-data").join(stem),
                    path: file,
                }
            }
            other => {
                return Err(SearchError::Config(format!(
                    "data `{other}`: expected demo, fashion-mnist:DIR, mnist:DIR, \
                     cifar10-bin:DIR, image-folder:ROOT or archive:FILE"
                )));
            }
        })
    }
}

/// Data settings of a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// The dataset.
    pub source: DataSource,
    /// Fraction of the training set held out for indicator steps and evaluation.
    #[serde(default = "default_holdout")]
    pub holdout_fraction: f64,
    /// Augment the weight steps' batches with the default training pipeline of the space's
    /// input size ([`Pipeline::train_for`]: the CIFAR recipe up to 64 pixels, the reference's
    /// ImageNet recipe above). Without it, weight steps see the evaluation pipeline.
    /// `train_pipeline` overrides both.
    #[serde(default)]
    pub augment: bool,
    /// The weight steps' transforms, as a list of steps (overrides `augment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_pipeline: Option<Pipeline>,
    /// The transforms of every other batch — the indicator steps' held-out batches, batch-norm
    /// recalibration, scoring and probes. Default [`Pipeline::eval_for`] the input size
    /// (none up to 64 pixels; above, resize to `size / 0.875` and centre-crop `size`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_pipeline: Option<Pipeline>,
    /// Loader worker threads (0: on the training thread; default: one per core).
    #[serde(default)]
    pub workers: Option<usize>,
    /// How images are normalised (default `auto`).
    #[serde(default)]
    pub normalize: NormalizeChoice,
    /// Whether image-folder data are decoded into memory once (default `auto`).
    #[serde(default)]
    pub preload: Preload,
    /// Image folders: decode every file once when the data are opened, and leave out (and
    /// count) those that cannot be read, instead of stopping at the first with its name.
    #[serde(default)]
    pub skip_corrupt: bool,
}

/// Whether an image-folder dataset is decoded into memory when opened, or streamed: decoded
/// by the loader's workers, batch by batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preload {
    /// Preload when the decoded images (estimated from the first one) take at most
    /// [`PRELOAD_AUTO_MAX_BYTES`] and half the memory available; stream otherwise.
    #[default]
    Auto,
    /// Preload; an error, saying how much it would take, when that exceeds the memory
    /// available.
    Always,
    /// Stream.
    Never,
}

/// The most decoded bytes [`Preload::Auto`] keeps in memory: 4 GiB.
pub const PRELOAD_AUTO_MAX_BYTES: u64 = 4 << 30;

/// How a search or retraining normalises its images, per channel.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormalizeChoice {
    /// The published statistics of a dataset the source names (Fashion-MNIST for the demo
    /// and `mnist` with `fashion`, CIFAR-10 for `cifar10_binary`); computed from the
    /// training split for every other source (image folders, archives, MNIST digits).
    /// Never guessed from a path.
    #[default]
    Auto,
    /// Computed from the training split (every image decoded once).
    Computed,
    /// Given: per-channel `mean` and `std` in `[0, 1]` units.
    Given {
        /// Means.
        mean: Vec<f32>,
        /// Standard deviations.
        std: Vec<f32>,
    },
}

fn default_holdout() -> f64 {
    0.1
}

/// Learning-rate schedule of the weight steps, restarted every round.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrConfig {
    /// Peak learning rate (reference 0.4 at batch 1024).
    pub base: f64,
    /// Learning rate at the start of the warm-up (reference 0.1).
    pub warmup_from: f64,
    /// Warm-up epochs (reference 2).
    pub warmup_epochs: f64,
    /// Final learning rate of the cosine decay (reference 0).
    #[serde(default)]
    pub min: f64,
}

/// The indicator optimizer: Adam with β1 = 0 on α only.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorConfig {
    /// Learning rate (reference 0.005).
    pub lr: f64,
    /// Adam β2 (reference 0.999); β1 is 0.
    pub beta_2: f64,
    /// An indicator step every this many weight steps (reference 2).
    pub every: usize,
    /// Ops whose α falls below this leave the sub-space (reference −2).
    pub drop_threshold: f32,
}

/// The resource constraint: penalty `a · |cost − target|^b` in the indicator loss, and the
/// window `(target − drift, target + drift)` (plus the extra band
/// `(target − drift − extra_drift, target − drift]`) architectures are sampled from. Costs in
/// the metric's unit — MMACs, M params, or the latency table's unit (ms) — stem and tail
/// included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    /// `macs`, `params` or `latency` (the last needs [`latency_table`](Self::latency_table)).
    pub metric: CostKind,
    /// Target cost (reference 300 MMACs; 66 table units for NSENet-GPU's latency).
    pub target: f64,
    /// Penalty factor `a` (reference 1e-5).
    pub a: f64,
    /// Penalty exponent `b` (reference 2).
    pub b: f64,
    /// Half-width of the sampling window.
    pub drift: f64,
    /// Width of the extra band below the window.
    pub extra_drift: f64,
    /// The latency table of `metric = latency`: the NSE reference's CSV or a JSON table.
    #[serde(default)]
    pub latency_table: Option<PathBuf>,
    /// How a network's latency is summed from the table (default: the reference's rules).
    #[serde(default)]
    pub latency_rules: LatencyRules,
    /// **\[ours\]** `target`, `drift` and `extra_drift` are fractions of the space's cost
    /// range under the metric ([`CostTable::range`](nse_space::CostTable::range) with K ops
    /// per cell: 0 the cheapest architecture, 1 the dearest) and `a` is per that range
    /// (the penalty is `a · (|cost − target| / range)^b`), so one setting fits every
    /// machine's latency table. [`Search::new`](crate::search::Search::new) turns them into
    /// the metric's unit once, before training ([`ResourceConfig::resolve`]), and writes
    /// the resolved values to `config.json`. Default false.
    #[serde(default)]
    pub relative: bool,
}

impl ResourceConfig {
    /// The same setting in the metric's unit: unchanged when not
    /// [`relative`](Self::relative); otherwise, with `(low, high)` the space's cost range
    /// under `costs` ([`CostTable::range`](nse_space::CostTable::range), K ops per cell, or
    /// `max_branches` when fewer), `target = low + target · (high − low)`, the drifts times
    /// `high − low` and `a / (high − low)^b`.
    pub fn resolve(&self, space: &SearchSpace, costs: &CostTable) -> Result<ResourceConfig> {
        if !self.relative {
            return Ok(self.clone());
        }
        let spec = space.spec();
        let branches = spec
            .max_branches
            .map_or(spec.subspace_size, |m| m.min(spec.subspace_size));
        let (low, high) = costs.range(space, branches);
        let range = high - low;
        if !(range.is_finite() && range > 0.0) {
            return Err(SearchError::Config(format!(
                "`resource.relative`: the space's {} range is {low} to {high} {}, too narrow \
                 to place a target in",
                costs.name, costs.unit
            )));
        }
        Ok(ResourceConfig {
            target: low + self.target * range,
            drift: self.drift * range,
            extra_drift: self.extra_drift * range,
            a: self.a / range.powf(self.b),
            relative: false,
            ..self.clone()
        })
    }

    /// The indicator step's resource penalty `a · |cost − target|^b` (docs/method.md §6).
    pub fn penalty(&self) -> nse_supernet::training::ResourcePenalty {
        nse_supernet::training::ResourcePenalty {
            target: self.target,
            a: self.a,
            b: self.b,
        }
    }

    /// The sampling window, in the metric's unit.
    pub fn window(&self) -> ResourceWindow {
        ResourceWindow::new(self.target, self.drift, self.extra_drift)
    }

    /// The cost model of `metric` (reads the latency table).
    pub fn cost_model(&self) -> Result<Box<dyn CostModel>> {
        if self.metric == CostKind::Latency && self.latency_table.is_none() {
            return Err(SearchError::Config(
                "`resource.metric` is `latency` but no `resource.latency_table` is given (the \
                 NSE reference's CSV or a JSON table)"
                    .into(),
            ));
        }
        Ok(self
            .metric
            .model(self.latency_table.as_deref(), self.latency_rules)?)
    }
}

/// What the weight step does to the sub-space ops it did not sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnsampledOps {
    /// **\[ours\]** Untouched: only the sampled path's parameters are stepped, so an op's
    /// momentum and weight decay act only when it is sampled.
    #[default]
    Frozen,
    /// The reference's behaviour: PyTorch 1.5's `zero_grad()` leaves a zero gradient on every
    /// parameter that once had one, so SGD keeps applying momentum and weight decay to every
    /// sub-space op sampled earlier in the round, whether sampled now or not.
    Momentum,
}

pub use crate::divergence::{MAX_SKIPPED_IN_A_ROW, NonFiniteLoss};

/// End-of-round evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationConfig {
    /// Architectures sampled in the window (reference 2000).
    pub n: usize,
    /// Architectures sampled in the extra band (reference 100).
    pub n_extra: usize,
    /// Training batches for BN recalibration of each architecture (reference ~50).
    pub recalibration_batches: usize,
    /// Held-out batches each architecture is scored on (`None`: the whole held-out split):
    /// the first batches of the split shuffled once with the run's seed, the same for every
    /// architecture and round, so a random sample of every class even when the data are
    /// stored class by class.
    #[serde(default)]
    pub eval_batches: Option<usize>,
    /// Sampling attempts per wanted architecture before the window is declared infeasible.
    #[serde(default = "default_attempts")]
    pub attempts_per_architecture: usize,
    /// Architectures scored as the end-of-round evaluation scores (BN recalibration +
    /// held-out top-1) after every training epoch, logged as `probe` events: when the
    /// supernet's ranking forms. Not part of the method (default: none); the probe changes
    /// no weight and no front.
    #[serde(default)]
    pub probe: Vec<Architecture>,
}

fn default_attempts() -> usize {
    200
}

/// Every setting of an NSE search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchConfig {
    /// The search space.
    pub space: SpaceSpec,
    /// The data.
    pub data: DataConfig,
    /// Seed of everything random (initialisation, data order, sampling), unless
    /// [`training_seed`](Self::training_seed) is given.
    pub seed: u64,
    /// Seed of the supernet's training alone: weight and indicator initialisation, the order
    /// of training and held-out batches, and the paths weight and indicator steps sample
    /// (default: [`seed`](Self::seed)). The held-out split, the first sub-space, the
    /// architectures sampled for evaluation and the recalibration batches stay with `seed`,
    /// so changing only this replicates supernet training on the same sub-space and data —
    /// how much a supernet's ranking varies between training runs.
    #[serde(default)]
    pub training_seed: Option<u64>,
    /// Batch size of weight and indicator steps (reference 1024).
    pub batch_size: usize,
    /// Supernet training epochs per round (reference 100).
    pub epochs_per_round: usize,
    /// Weight-step learning rate.
    pub lr: LrConfig,
    /// Weight-step SGD (reference: Nesterov, momentum 0.9, weight decay 4e-5 except BN/bias).
    pub sgd: SgdSettings,
    /// Momentum and weight decay of the sub-space ops a weight step did not sample (default
    /// `frozen`; the reference's is `momentum`).
    #[serde(default)]
    pub unsampled_ops: UnsampledOps,
    /// Which path a weight step trains (default `bernoulli`, the reference: each sub-space
    /// op on with probability 0.5; **\[ours\]** `uniform_count` or `fair`, see
    /// [`WeightSampling`]).
    #[serde(default)]
    pub weight_sampling: WeightSampling,
    /// **\[ours\]** MixPath's shadow batch norm in the supernet: each cell normalises the
    /// mean of its branches with a batch norm of its own per branch count
    /// ([`SupernetOptions`](nse_supernet::SupernetOptions)), so that paths with different
    /// numbers of branches share no statistics or scale (default `false`, the method).
    #[serde(default)]
    pub shadow_batch_norm: bool,
    /// **\[ours\]** A weight step whose loss is NaN or infinite: `stop` (default) or
    /// `skip` the batch.
    #[serde(default)]
    pub non_finite_loss: NonFiniteLoss,
    /// The indicator step.
    pub indicator: IndicatorConfig,
    /// The resource constraint.
    pub resource: ResourceConfig,
    /// End-of-round evaluation.
    pub evaluation: EvaluationConfig,
    /// Use only the first this many batches of each (shuffled) epoch: shorter rounds on large
    /// datasets (default: the whole training split).
    #[serde(default)]
    pub epoch_batches: Option<usize>,
    /// Stop after this many rounds (default: all `(pool − 1) / (K − 1)`).
    #[serde(default)]
    pub max_rounds: Option<usize>,
    /// Stop (resumably) after this many weight steps in this process.
    #[serde(default)]
    pub max_steps: Option<u64>,
    /// Log a training line every this many weight steps.
    #[serde(default = "default_log_every")]
    pub log_every: usize,
}

fn default_log_every() -> usize {
    20
}

/// The `demo-latency` window and penalty as fractions of the space's cost range: the demo's
/// MAC setting (4 ± 1.5 MMACs, extra band 1, `a` 0.05) on the MAC range of
/// `fashion-mnist-mb27` with K = 5 (0.194 to 52.47 MMACs), a test checks that they agree.
/// The target lies near the cheap end of the range, whose top runs every cell's K most
/// expensive ops.
const DEMO_LATENCY_TARGET: f64 = 0.0728;
const DEMO_LATENCY_DRIFT: f64 = 0.02869;
const DEMO_LATENCY_EXTRA: f64 = 0.01913;
const DEMO_LATENCY_A: f64 = 136.6;

impl SearchConfig {
    /// Names accepted by [`SearchConfig::preset`].
    pub const PRESETS: [&'static str; 5] = [
        "demo",
        "demo-latency",
        "cifar10",
        "imagenet-mb27",
        "imagenet-mb19-gpu",
    ];

    /// A preset:
    /// - `demo`: the in-repo Fashion-MNIST subset on `fashion-mnist-mb27`, two short rounds —
    ///   a complete search in a few minutes on a 2-core CPU;
    /// - `demo-latency`: the demo under latency measured on your own machine — a JSON table at
    ///   `latency/fashion-mnist-mb27.json` (the `nse search` command builds it there when it
    ///   is missing) and a [`relative`](ResourceConfig::relative) target, so the same preset
    ///   fits every machine's table;
    /// - `cifar10`: `cifar10-mb27` on the CIFAR-10 image-folder tree (`data/cifar10` by
    ///   default; point `data.source` at your copy), scaled down for one machine;
    /// - `imagenet-mb27`: the reference hyper-parameters (batch 1024, 100 epochs per round,
    ///   300 MMACs) on an ImageNet image-folder tree at `data/imagenet`;
    /// - `imagenet-mb19-gpu`: the NSENet-GPU search — `imagenet-mb19-gpu` space (K = 6) under
    ///   latency from the reference's table (`data/reference-lut/reference_lut.csv`; point
    ///   `resource.latency_table` at your copy), target 66 table units, penalty
    ///   `2e-4 · (latency − 66)²`; window ±5 % (3.3), as the MAC preset's ±15 of 300 (the
    ///   reference's config does not give the latency window).
    pub fn preset(name: &str) -> Result<Self> {
        let reference = SearchConfig {
            space: SpaceSpec::preset("imagenet-mb27")?,
            data: DataConfig {
                source: DataSource::ImageFolder {
                    root: PathBuf::from("data/imagenet"),
                },
                holdout_fraction: 0.04,
                augment: true,
                train_pipeline: None,
                eval_pipeline: None,
                workers: None,
                normalize: NormalizeChoice::Auto,
                preload: Preload::Auto,
                skip_corrupt: false,
            },
            seed: 2021,
            training_seed: None,
            batch_size: 1024,
            epochs_per_round: 100,
            lr: LrConfig {
                base: 0.4,
                warmup_from: 0.1,
                warmup_epochs: 2.0,
                min: 0.0,
            },
            sgd: SgdSettings::default(),
            unsampled_ops: UnsampledOps::Frozen,
            weight_sampling: WeightSampling::Bernoulli,
            shadow_batch_norm: false,
            non_finite_loss: NonFiniteLoss::Stop,
            indicator: IndicatorConfig {
                lr: 0.005,
                beta_2: 0.999,
                every: 2,
                drop_threshold: -2.0,
            },
            resource: ResourceConfig {
                metric: CostKind::Macs,
                target: 300.0,
                a: 1e-5,
                b: 2.0,
                drift: 15.0,
                extra_drift: 15.0,
                latency_table: None,
                latency_rules: LatencyRules::default(),
                relative: false,
            },
            evaluation: EvaluationConfig {
                n: 2000,
                n_extra: 100,
                recalibration_batches: 50,
                eval_batches: None,
                attempts_per_architecture: default_attempts(),
                probe: Vec::new(),
            },
            epoch_batches: None,
            max_rounds: None,
            max_steps: None,
            log_every: default_log_every(),
        };
        Ok(match name {
            "imagenet-mb19-gpu" => SearchConfig {
                space: SpaceSpec::preset("imagenet-mb19-gpu")?,
                resource: ResourceConfig {
                    metric: CostKind::Latency,
                    target: 66.0,
                    a: 2e-4,
                    b: 2.0,
                    drift: 3.3,
                    extra_drift: 3.3,
                    latency_table: Some(PathBuf::from("data/reference-lut/reference_lut.csv")),
                    latency_rules: LatencyRules::default(),
                    relative: false,
                },
                ..reference
            },
            "imagenet-mb27" => reference,
            "demo" => SearchConfig {
                space: SpaceSpec::preset("fashion-mnist-mb27")?,
                data: DataConfig {
                    source: DataSource::FashionMnistDemo,
                    holdout_fraction: 0.2,
                    augment: false,
                    workers: None,
                    normalize: NormalizeChoice::Auto,
                    train_pipeline: None,
                    eval_pipeline: None,
                    preload: Default::default(),
                    skip_corrupt: false,
                },
                batch_size: 64,
                epochs_per_round: 2,
                lr: LrConfig {
                    base: 0.1,
                    warmup_from: 0.02,
                    warmup_epochs: 0.5,
                    min: 0.0,
                },
                indicator: IndicatorConfig {
                    lr: 0.05,
                    ..reference.indicator
                },
                resource: ResourceConfig {
                    metric: CostKind::Macs,
                    target: 4.0,
                    a: 0.05,
                    b: 2.0,
                    drift: 1.5,
                    extra_drift: 1.0,
                    latency_table: None,
                    latency_rules: LatencyRules::default(),
                    relative: false,
                },
                evaluation: EvaluationConfig {
                    n: 12,
                    n_extra: 3,
                    recalibration_batches: 4,
                    eval_batches: None,
                    attempts_per_architecture: default_attempts(),
                    probe: Vec::new(),
                },
                max_rounds: Some(2),
                log_every: 10,
                ..reference
            },
            "demo-latency" => {
                let demo = Self::preset("demo")?;
                SearchConfig {
                    resource: ResourceConfig {
                        metric: CostKind::Latency,
                        target: DEMO_LATENCY_TARGET,
                        drift: DEMO_LATENCY_DRIFT,
                        extra_drift: DEMO_LATENCY_EXTRA,
                        a: DEMO_LATENCY_A,
                        latency_table: Some(PathBuf::from("latency/fashion-mnist-mb27.json")),
                        relative: true,
                        ..demo.resource
                    },
                    ..demo
                }
            }
            "cifar10" => SearchConfig {
                space: SpaceSpec::preset("cifar10-mb27")?,
                data: DataConfig {
                    source: DataSource::ImageFolder {
                        root: PathBuf::from("data/cifar10"),
                    },
                    holdout_fraction: 0.1,
                    augment: true,
                    workers: None,
                    normalize: NormalizeChoice::Auto,
                    train_pipeline: None,
                    eval_pipeline: None,
                    preload: Default::default(),
                    skip_corrupt: false,
                },
                batch_size: 128,
                epochs_per_round: 10,
                lr: LrConfig {
                    base: 0.1,
                    warmup_from: 0.02,
                    warmup_epochs: 1.0,
                    min: 0.0,
                },
                indicator: IndicatorConfig {
                    lr: 0.05,
                    ..reference.indicator
                },
                resource: ResourceConfig {
                    metric: CostKind::Macs,
                    target: 20.0,
                    a: 0.005,
                    b: 2.0,
                    drift: 3.0,
                    extra_drift: 2.0,
                    latency_table: None,
                    latency_rules: LatencyRules::default(),
                    relative: false,
                },
                evaluation: EvaluationConfig {
                    n: 100,
                    n_extra: 10,
                    recalibration_batches: 10,
                    eval_batches: Some(20),
                    attempts_per_architecture: default_attempts(),
                    probe: Vec::new(),
                },
                ..reference
            },
            other => {
                return Err(SearchError::Config(format!(
                    "unknown search preset `{other}` (known: {})",
                    Self::PRESETS.join(", ")
                )));
            }
        })
    }

    /// The seed of supernet training: [`training_seed`](Self::training_seed), else
    /// [`seed`](Self::seed).
    pub fn training_seed(&self) -> u64 {
        self.training_seed.unwrap_or(self.seed)
    }

    /// Checks every field on its own, without the space's costs (the first step of
    /// [`check`](Self::check), which gives the [`SearchPlan`](super::SearchPlan)).
    pub fn validate(&self) -> Result<()> {
        let fail = |field: &str, why: String| Err(SearchError::Config(format!("`{field}` {why}")));
        self.space.check()?;
        if !(self.data.holdout_fraction > 0.0 && self.data.holdout_fraction < 1.0) {
            return fail(
                "data.holdout_fraction",
                format!("must lie in (0, 1), got {}", self.data.holdout_fraction),
            );
        }
        for (field, v) in [
            ("batch_size", self.batch_size),
            ("epochs_per_round", self.epochs_per_round),
            ("indicator.every", self.indicator.every),
            ("evaluation.n", self.evaluation.n),
            (
                "evaluation.recalibration_batches",
                self.evaluation.recalibration_batches,
            ),
            (
                "evaluation.attempts_per_architecture",
                self.evaluation.attempts_per_architecture,
            ),
            ("log_every", self.log_every),
        ] {
            if v == 0 {
                return fail(field, "must be at least 1, got 0".into());
            }
        }
        if self.evaluation.eval_batches == Some(0) {
            return fail(
                "evaluation.eval_batches",
                "must be at least 1 when given".into(),
            );
        }
        if self.epoch_batches == Some(0) {
            return fail("epoch_batches", "must be at least 1 when given".into());
        }
        if self.max_rounds == Some(0) {
            return fail("max_rounds", "must be at least 1 when given".into());
        }
        let positive = [
            ("lr.base", self.lr.base),
            ("indicator.lr", self.indicator.lr),
            ("resource.target", self.resource.target),
            ("resource.drift", self.resource.drift),
            ("resource.b", self.resource.b),
        ];
        for (field, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return fail(field, format!("must be positive and finite, got {v}"));
            }
        }
        if self.resource.relative {
            let fractions = [
                ("resource.target", self.resource.target),
                ("resource.drift", self.resource.drift),
                ("resource.extra_drift", self.resource.extra_drift),
            ];
            for (field, v) in fractions {
                if v > 1.0 {
                    return fail(
                        field,
                        format!(
                            "is a fraction of the space's cost range with `resource.relative`: \
                             at most 1, got {v}"
                        ),
                    );
                }
            }
        }
        let non_negative = [
            ("lr.warmup_from", self.lr.warmup_from),
            ("lr.warmup_epochs", self.lr.warmup_epochs),
            ("lr.min", self.lr.min),
            ("resource.a", self.resource.a),
            ("resource.extra_drift", self.resource.extra_drift),
            ("sgd.momentum", self.sgd.momentum),
            ("sgd.weight_decay", self.sgd.weight_decay),
        ];
        for (field, v) in non_negative {
            if !(v.is_finite() && v >= 0.0) {
                return fail(field, format!("must be non-negative and finite, got {v}"));
            }
        }
        if !(self.indicator.beta_2 >= 0.0 && self.indicator.beta_2 < 1.0) {
            return fail(
                "indicator.beta_2",
                format!("must lie in [0, 1), got {}", self.indicator.beta_2),
            );
        }
        if !self.indicator.drop_threshold.is_finite() {
            return fail("indicator.drop_threshold", "must be finite".into());
        }
        self.resource.window().check()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `demo-latency` fractions are the demo's MAC window on the MAC range: resolved
    /// under MACs they give the demo's own setting back.
    #[test]
    fn a_relative_setting_resolves_into_the_metric_unit() {
        let demo = SearchConfig::preset("demo").unwrap();
        let mut relative = SearchConfig::preset("demo-latency").unwrap();
        assert!(relative.resource.relative);
        relative.validate().unwrap();
        relative.resource.metric = CostKind::Macs;
        let space = relative.space.check().unwrap();
        let costs = CostTable::macs(&space);
        let resolved = relative.resource.resolve(&space, &costs).unwrap();
        assert!(!resolved.relative);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-3 * b.abs();
        let r = &demo.resource;
        assert!(close(resolved.target, r.target), "{}", resolved.target);
        assert!(close(resolved.drift, r.drift), "{}", resolved.drift);
        assert!(close(resolved.extra_drift, r.extra_drift));
        assert!(close(resolved.a, r.a), "{}", resolved.a);
        // The arithmetic: target 0.5 is the middle of the range, the penalty per range.
        let (low, high) = costs.range(&space, space.spec().subspace_size);
        let half = ResourceConfig {
            target: 0.5,
            drift: 0.25,
            a: 1.0,
            ..relative.resource.clone()
        };
        let resolved = half.resolve(&space, &costs).unwrap();
        assert!(close(resolved.target, (low + high) / 2.0));
        assert!(close(resolved.drift, (high - low) / 4.0));
        assert!(close(resolved.a, 1.0 / (high - low).powf(half.b)));
        // An absolute setting is left alone.
        assert_eq!(
            demo.resource.resolve(&space, &costs).unwrap(),
            demo.resource
        );
        // Fractions above 1 are refused with the field's name.
        relative.resource.drift = 1.5;
        let err = relative.validate().unwrap_err().to_string();
        assert!(
            err.contains("resource.drift") && err.contains("fraction"),
            "{err}"
        );
    }
}
