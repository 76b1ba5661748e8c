//! Test-set evaluation of a standalone network: top-1, top-5 and cross-entropy.

use burn::module::Module;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::tensor::{Device, Int, Tensor};
use nse_cluster::Collective;
use nse_supernet::ChildNetwork;
use serde::{Deserialize, Serialize};

use super::error::{Result, RetrainError};
use crate::data::{Dataset, Loader, LoaderConfig, Normalize, Pipeline, Position, Transform};
use crate::metrics::top_k_correct;
use crate::progress::Reporter;
use crate::ranks::agree_on;

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
    check_classes(model, loader)?;
    let mut tally = Tally::new(model, loader);
    reporter.begin(label, loader.num_batches() as u64);
    for batch in loader.epoch(0) {
        let batch = batch?;
        tally.add(batch.images.inner(), batch.labels.inner())?;
        reporter.advance(1, "");
    }
    reporter.finish();
    tally.report()
}

/// [`evaluate_loader`] over the ranks of a job: rank `r` of `n` evaluates batches `r`,
/// `r + n`, … and the sums are all-reduced, so every rank gets the whole test set's report
/// (top-1 and top-5 exactly as on one rank; the loss summed in another order). Collective:
/// an error on one rank fails every rank.
pub(crate) fn evaluate_on_ranks<D: Dataset + 'static, T: Transform + 'static>(
    model: &ChildNetwork,
    loader: &Loader<D, T>,
    label: &str,
    reporter: &mut dyn Reporter,
    ranks: &dyn Collective,
) -> Result<EvalReport> {
    if ranks.size() == 1 {
        return evaluate_loader(model, loader, label, reporter);
    }
    let mut tally = Tally::new(model, loader);
    let mine: Vec<usize> = (ranks.rank()..loader.num_batches())
        .step_by(ranks.size())
        .collect();
    let evaluated = check_classes(model, loader).and_then(|()| {
        reporter.begin(label, mine.len() as u64);
        for &b in &mine {
            let batch = loader
                .host_batch(Position { epoch: 0, batch: b })?
                .into_batch(loader.device());
            tally.add(batch.images, batch.labels)?;
            reporter.advance(1, "");
        }
        reporter.finish();
        Ok(())
    });
    agree_on(ranks, evaluated, "evaluating the test set")?;
    let mut sums = [tally.top1, tally.top5, tally.loss, tally.images];
    ranks.all_reduce_sum_f64(&mut sums);
    [tally.top1, tally.top5, tally.loss, tally.images] = sums;
    tally.report()
}

fn check_classes<D: Dataset + 'static, T: Transform + 'static>(
    model: &ChildNetwork,
    loader: &Loader<D, T>,
) -> Result<()> {
    if loader.dataset().num_classes() != model.tail.classifier.weight.dims()[1] {
        return Err(RetrainError::Mismatch(format!(
            "the dataset has {} classes, the network {}",
            loader.dataset().num_classes(),
            model.tail.classifier.weight.dims()[1]
        )));
    }
    Ok(())
}

/// Correct predictions, summed loss and images so far (as `f64`, to be all-reduced).
struct Tally {
    model: ChildNetwork,
    ce: CrossEntropyLoss,
    classes: usize,
    top1: f64,
    top5: f64,
    loss: f64,
    images: f64,
}

impl Tally {
    fn new<D: Dataset + 'static, T: Transform + 'static>(
        model: &ChildNetwork,
        loader: &Loader<D, T>,
    ) -> Self {
        Tally {
            model: model.valid(),
            ce: CrossEntropyLossConfig::new().init(&loader.device().clone().inner()),
            classes: loader.dataset().num_classes(),
            top1: 0.0,
            top5: 0.0,
            loss: 0.0,
            images: 0.0,
        }
    }

    fn add(&mut self, images: Tensor<4>, labels: Tensor<1, Int>) -> Result<()> {
        let n = labels.dims()[0];
        let logits = self.model.try_forward(images)?;
        self.top1 += top_k_correct(logits.clone(), labels.clone(), 1) as f64;
        self.top5 += top_k_correct(logits.clone(), labels.clone(), 5.min(self.classes)) as f64;
        self.loss += f64::from(self.ce.forward(logits, labels).into_scalar::<f32>()) * n as f64;
        self.images += n as f64;
        Ok(())
    }

    fn report(&self) -> Result<EvalReport> {
        if self.images == 0.0 {
            return Err(RetrainError::Mismatch(
                "the evaluation dataset is empty".into(),
            ));
        }
        let n = self.images;
        Ok(EvalReport {
            top1: 100.0 * self.top1 / n,
            top5: 100.0 * self.top5 / n,
            loss: self.loss / n,
            images: n as usize,
        })
    }
}
