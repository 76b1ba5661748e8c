//! Test-set evaluation of a standalone network: top-1, top-5 and cross-entropy.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::Device;
use nse_supernet::ChildNetwork;
use serde::{Deserialize, Serialize};

use super::error::{Result, RetrainError};
use crate::data::{Dataset, Loader, LoaderConfig, Normalize, Pipeline, Transform};
use crate::metrics::top_k_correct;
use crate::progress::Reporter;

/// Accuracy (in percent, as everywhere in NSE reports) and loss of a network on a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Top-1 accuracy in percent.
    pub top1: f64,
    /// Top-5 accuracy (top-k with k = min(5, classes)) in percent.
    pub top5: f64,
    /// Mean cross-entropy (no label smoothing) per image.
    pub loss: f64,
    /// Images evaluated.
    pub images: usize,
}

/// How [`evaluate`] reads the dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSettings {
    /// Images per batch.
    pub batch_size: usize,
    /// Deterministic preprocessing (for example [`Pipeline::imagenet_eval`]; empty for
    /// CIFAR and MNIST-style data).
    pub transform: Pipeline,
    /// Per-channel normalisation (`None`: pixels / 255); must match training.
    pub normalize: Option<Normalize>,
    /// Loader worker threads (0: one per core).
    pub workers: usize,
}

impl EvalSettings {
    /// Batches of `batch_size`, no transform, no normalisation, one worker per core.
    pub fn new(batch_size: usize) -> Self {
        EvalSettings {
            batch_size,
            transform: Pipeline::new(),
            normalize: None,
            workers: 0,
        }
    }

    /// Sets [`EvalSettings::normalize`].
    pub fn with_normalize(mut self, normalize: Normalize) -> Self {
        self.normalize = Some(normalize);
        self
    }

    /// Sets [`EvalSettings::transform`].
    pub fn with_transform(mut self, transform: Pipeline) -> Self {
        self.transform = transform;
        self
    }

    /// The loader configuration: every image once, in order.
    pub(crate) fn loader_config(&self) -> LoaderConfig {
        let mut config = LoaderConfig::new(self.batch_size)
            .with_shuffle(false)
            .with_drop_last(false);
        if self.workers > 0 {
            config = config.with_workers(self.workers);
        }
        if let Some(n) = &self.normalize {
            config = config.with_normalize(n.clone());
        }
        config
    }
}

/// Evaluates `model` in eval mode (batch-norm running statistics, no autodiff) on every
/// image of `dataset`, on `device` (its autodiff setting is ignored). Reports one unit per
/// batch to `reporter` under the label `"evaluate"`.
pub fn evaluate<D: Dataset + 'static>(
    model: &ChildNetwork,
    dataset: D,
    settings: &EvalSettings,
    device: &Device,
    reporter: &mut dyn Reporter,
) -> Result<EvalReport> {
    let loader = Loader::new(
        dataset,
        settings.transform.clone(),
        settings.loader_config(),
        device.clone().inner(),
    )?;
    evaluate_loader(model, &loader, "evaluate", reporter)
}

/// Evaluates `model` in eval mode on one pass of `loader` (epoch 0 of its order: build it
/// without shuffling to see every image). Reports one unit per batch under `label`.
pub fn evaluate_loader<D: Dataset + 'static, T: Transform + 'static>(
    model: &ChildNetwork,
    loader: &Loader<D, T>,
    label: &str,
    reporter: &mut dyn Reporter,
) -> Result<EvalReport> {
    if loader.dataset().num_classes() != model.tail.classifier.weight.dims()[1] {
        return Err(RetrainError::Mismatch(format!(
            "the dataset has {} classes, the network {}",
            loader.dataset().num_classes(),
            model.tail.classifier.weight.dims()[1]
        )));
    }
    let model = model.valid();
    let ce = CrossEntropyLossConfig::new().init(&loader.device().clone().inner());
    let classes = loader.dataset().num_classes();
    let (mut top1, mut top5, mut loss, mut images) = (0usize, 0usize, 0.0f64, 0usize);
    reporter.begin(label, loader.num_batches() as u64);
    for batch in loader.epoch(0) {
        let batch = batch?;
        let n = batch.labels.dims()[0];
        let logits = model.try_forward(batch.images.inner())?;
        let labels = batch.labels.inner();
        top1 += top_k_correct(logits.clone(), labels.clone(), 1);
        top5 += top_k_correct(logits.clone(), labels.clone(), 5.min(classes));
        loss += f64::from(ce.forward(logits, labels).into_scalar::<f32>()) * n as f64;
        images += n;
        reporter.advance(1, "");
    }
    reporter.finish();
    if images == 0 {
        return Err(RetrainError::Mismatch(
            "the evaluation dataset is empty".into(),
        ));
    }
    let n = images as f64;
    Ok(EvalReport {
        top1: 100.0 * top1 as f64 / n,
        top5: 100.0 * top5 as f64 / n,
        loss: loss / n,
        images,
    })
}
