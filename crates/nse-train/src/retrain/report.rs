//! What a retraining run reports (`report.json`).

use nse_space::NetworkSpec;
use serde::{Deserialize, Serialize};

use super::config::RetrainConfig;
use super::eval::EvalReport;
use crate::data::{Normalize, Pipeline};

/// Which weights were evaluated and saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weights {
    /// The trained weights.
    Trained,
    /// The exponential moving average of the trained weights.
    Ema,
}

/// One training epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// Mean training loss per image (with label smoothing, in train-mode batch norm).
    pub train_loss: f64,
    /// Top-1 accuracy in percent on the training batches as they were trained on.
    pub train_top1: f64,
    /// Test-set evaluation at the end of the epoch (of the EMA weights when enabled).
    pub test: EvalReport,
    /// Wall time of the epoch (training and evaluation), in seconds.
    pub seconds: f64,
    /// Batches skipped for a non-finite loss (`non_finite_loss = skip`).
    #[serde(default)]
    pub skipped_batches: usize,
}

/// The result of [`retrain`](super::retrain), written to `report.json` after every epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrainReport {
    /// The network retrained.
    pub network: NetworkSpec,
    /// The recipe.
    pub config: RetrainConfig,
    /// Training augmentation.
    pub train_transform: Pipeline,
    /// Test preprocessing.
    pub test_transform: Pipeline,
    /// Normalisation of both.
    pub normalize: Option<Normalize>,
    /// Learnable parameters of the network.
    pub params: u64,
    /// Multiply-accumulates of one forward pass on one image.
    pub macs: u64,
    /// Training images.
    pub train_images: usize,
    /// Test images.
    pub test_images: usize,
    /// Optimizer steps per epoch.
    pub steps_per_epoch: usize,
    /// Which weights the evaluations use and the saved model holds.
    pub weights: Weights,
    /// The completed epochs.
    pub epochs: Vec<EpochRecord>,
    /// Whether all epochs are done (and the model files written).
    pub finished: bool,
    /// Wall time of all sessions together, in seconds.
    pub wall_seconds: f64,
    /// Completed epochs at each resume (empty for an uninterrupted run).
    pub resumed_at: Vec<usize>,
}

impl RetrainReport {
    /// The last test evaluation (the final one once [`finished`](Self::finished)).
    pub fn last_test(&self) -> Option<&EvalReport> {
        self.epochs.last().map(|e| &e.test)
    }
}
