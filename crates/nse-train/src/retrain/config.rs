//! The retraining recipe ([`RetrainConfig`]).

use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::error::{Result, RetrainError};
use crate::divergence::NonFiniteLoss;
use crate::optim::{SgdSettings, sgd};
use crate::schedule::CosineWarmup;

/// How a found architecture is retrained from scratch (docs/method.md §8): Nesterov SGD
/// without weight decay on batch-norm parameters and biases ([`crate::optim::sgd`]), a
/// linear warm-up then cosine learning-rate schedule stepped every batch, label smoothing and
/// an optional exponential moving average of the weights.
///
/// Serde: every field may be left out and then takes the default given in its documentation
/// (the defaults are the [`RetrainConfig::cifar10`] recipe); unknown fields are an error.
///
/// ```
/// use nse_train::retrain::RetrainConfig;
/// let config: RetrainConfig = serde_json::from_str(r#"{"epochs": 50, "ema_decay": 0.999}"#).unwrap();
/// assert_eq!(config.batch_size, RetrainConfig::cifar10().batch_size);
/// config.check().unwrap();
/// assert!(serde_json::from_str::<RetrainConfig>(r#"{"epoch": 50}"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetrainConfig {
    /// Training epochs (at least 1). Default 200.
    pub epochs: usize,
    /// Images per training batch; the last, incomplete batch of an epoch is dropped.
    /// Default 128.
    pub batch_size: usize,
    /// Images per evaluation batch. Default 500.
    pub eval_batch_size: usize,
    /// Peak learning rate, reached at the end of the warm-up. Default 0.1.
    pub lr: f64,
    /// Epochs of linear warm-up from `warmup_lr` to `lr` (may be 0). Default 5.
    pub warmup_epochs: usize,
    /// Learning rate at the first step of the warm-up. Default 0.01.
    pub warmup_lr: f64,
    /// Learning rate the cosine decay ends at (after the last step). Default 0.
    pub min_lr: f64,
    /// SGD momentum, Nesterov and weight decay (the decay skips batch-norm parameters and
    /// biases). Default momentum 0.9, Nesterov, weight decay 5e-4.
    pub sgd: SgdSettings,
    /// Label smoothing ε of the training loss, in `[0, 1)`; 0 disables it (the test loss is
    /// always plain cross-entropy). Default 0.1.
    pub label_smoothing: f64,
    /// Decay of an exponential moving average of the weights (see [`crate::ema`]), in
    /// `[0, 1)`; when set, evaluation and the saved model use the averaged weights.
    /// Default `None` (off).
    pub ema_decay: Option<f64>,
    /// Seed of the initial weights, the epoch orders and the augmentation. Default 0.
    pub seed: u64,
    /// Loader worker threads (0: one per core). Does not change results. Default 0.
    pub workers: usize,
    /// **\[ours\]** A batch whose loss is NaN or infinite: `stop` (default) or `skip` it
    /// ([`NonFiniteLoss`]).
    pub non_finite_loss: NonFiniteLoss,
}

impl Default for RetrainConfig {
    fn default() -> Self {
        Self::cifar10()
    }
}

impl RetrainConfig {
    /// The CIFAR-10 recipe (the defaults): 200 epochs of batch 128, learning rate 0.1 after
    /// 5 warm-up epochs from 0.01, cosine to 0, Nesterov momentum 0.9, weight decay 5e-4,
    /// label smoothing 0.1, no EMA. Use it with [`Pipeline::cifar_train`] and
    /// [`Normalize::cifar10`].
    ///
    /// [`Pipeline::cifar_train`]: crate::data::Pipeline::cifar_train
    /// [`Normalize::cifar10`]: crate::data::Normalize::cifar10
    pub fn cifar10() -> Self {
        RetrainConfig {
            epochs: 200,
            batch_size: 128,
            eval_batch_size: 500,
            lr: 0.1,
            warmup_epochs: 5,
            warmup_lr: 0.01,
            min_lr: 0.0,
            sgd: SgdSettings {
                momentum: 0.9,
                nesterov: true,
                weight_decay: 5e-4,
            },
            label_smoothing: 0.1,
            ema_decay: None,
            seed: 0,
            workers: 0,
            non_finite_loss: NonFiniteLoss::Stop,
        }
    }

    /// A short recipe for the in-repository Fashion-MNIST demo subset (6,000 training and
    /// 1,000 test images, [`load_fashion_mnist_demo`]) and the `fashion-mnist-mb27` space,
    /// sized to finish in about two to three minutes on a two-core CPU: 5 epochs of batch 64,
    /// learning rate 0.1 after one warm-up epoch from 0.02, otherwise as
    /// [`cifar10`](Self::cifar10). Use it without augmentation and with
    /// [`Normalize::fashion_mnist`].
    ///
    /// [`load_fashion_mnist_demo`]: crate::data::demo::load_fashion_mnist_demo
    /// [`Normalize::fashion_mnist`]: crate::data::Normalize::fashion_mnist
    pub fn demo() -> Self {
        RetrainConfig {
            epochs: 5,
            batch_size: 64,
            warmup_epochs: 1,
            warmup_lr: 0.02,
            ..Self::cifar10()
        }
    }

    /// Checks every parameter; the error names the first invalid one and says why.
    pub fn check(&self) -> Result<()> {
        let positive = |field: &'static str, v: usize| {
            if v == 0 {
                Err(RetrainError::config(field, v, "must be at least 1"))
            } else {
                Ok(())
            }
        };
        positive("epochs", self.epochs)?;
        positive("batch_size", self.batch_size)?;
        positive("eval_batch_size", self.eval_batch_size)?;
        if self.warmup_epochs > self.epochs {
            return Err(RetrainError::config(
                "warmup_epochs",
                self.warmup_epochs,
                format!("exceeds the {} training epochs", self.epochs),
            ));
        }
        for (field, v) in [
            ("lr", self.lr),
            ("warmup_lr", self.warmup_lr),
            ("min_lr", self.min_lr),
            ("sgd.weight_decay", self.sgd.weight_decay),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(RetrainError::config(
                    field,
                    v,
                    "must be finite and non-negative",
                ));
            }
        }
        if self.lr == 0.0 {
            return Err(RetrainError::config("lr", self.lr, "must be positive"));
        }
        if self.min_lr > self.lr {
            return Err(RetrainError::config(
                "min_lr",
                self.min_lr,
                format!("exceeds the peak learning rate {}", self.lr),
            ));
        }
        if !(0.0..1.0).contains(&self.sgd.momentum) {
            return Err(RetrainError::config(
                "sgd.momentum",
                self.sgd.momentum,
                "must lie in [0, 1)",
            ));
        }
        if self.sgd.nesterov && self.sgd.momentum == 0.0 {
            return Err(RetrainError::config(
                "sgd.nesterov",
                true,
                "Nesterov momentum needs a momentum above 0",
            ));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return Err(RetrainError::config(
                "label_smoothing",
                self.label_smoothing,
                "must lie in [0, 1)",
            ));
        }
        if let Some(d) = self.ema_decay
            && !(0.0..1.0).contains(&d)
        {
            return Err(RetrainError::config("ema_decay", d, "must lie in [0, 1)"));
        }
        Ok(())
    }

    /// The learning-rate schedule for `steps_per_epoch` optimizer steps per epoch.
    pub fn schedule(&self, steps_per_epoch: usize) -> CosineWarmup {
        CosineWarmup {
            base: self.lr,
            warmup_from: self.warmup_lr,
            min: self.min_lr,
            warmup_steps: self.warmup_epochs * steps_per_epoch,
            total_steps: self.epochs * steps_per_epoch,
        }
    }

    /// The optimizer: [`crate::optim::sgd`] with [`RetrainConfig::sgd`] (no weight decay on
    /// batch-norm parameters and biases).
    pub fn optimizer(&self) -> ModuleOptimizer {
        sgd(&self.sgd)
    }

    /// The training loss: cross-entropy on logits with label smoothing ε =
    /// [`RetrainConfig::label_smoothing`] (targets `(1 − ε) · onehot + ε / classes`).
    pub fn train_loss(&self, device: &Device) -> CrossEntropyLoss {
        let smoothing = (self.label_smoothing > 0.0).then_some(self.label_smoothing as f32);
        CrossEntropyLossConfig::new()
            .with_smoothing(smoothing)
            .init(device)
    }

    /// This config with the fields that cannot change results normalised (`workers`), to
    /// compare a checkpoint's config with a run's.
    pub(crate) fn result_relevant(&self) -> Self {
        RetrainConfig {
            workers: 0,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_errors_name_the_field() {
        RetrainConfig::cifar10().check().unwrap();
        RetrainConfig::demo().check().unwrap();
        let bad = |c: RetrainConfig| c.check().unwrap_err().to_string();
        let msg = bad(RetrainConfig {
            warmup_epochs: 4,
            epochs: 3,
            ..RetrainConfig::demo()
        });
        assert!(
            msg.contains("`warmup_epochs` = 4") && msg.contains("3 training epochs"),
            "{msg}"
        );
        let msg = bad(RetrainConfig {
            ema_decay: Some(1.0),
            ..RetrainConfig::demo()
        });
        assert!(msg.contains("`ema_decay` = 1"), "{msg}");
        let msg = bad(RetrainConfig {
            label_smoothing: -0.1,
            ..RetrainConfig::demo()
        });
        assert!(msg.contains("label_smoothing"), "{msg}");
        assert!(
            bad(RetrainConfig {
                batch_size: 0,
                ..RetrainConfig::demo()
            })
            .contains("batch_size")
        );
    }

    #[test]
    fn serde_round_trip_with_defaults() {
        let demo = RetrainConfig::demo();
        let json = serde_json::to_string(&demo).unwrap();
        assert_eq!(serde_json::from_str::<RetrainConfig>(&json).unwrap(), demo);
        let partial: RetrainConfig = serde_json::from_str(r#"{"epochs": 7}"#).unwrap();
        assert_eq!(
            partial,
            RetrainConfig {
                epochs: 7,
                ..RetrainConfig::default()
            }
        );
    }

    #[test]
    fn schedule_counts_epochs_in_steps() {
        let s = RetrainConfig::demo().schedule(10);
        assert_eq!((s.warmup_steps, s.total_steps), (10, 50));
        assert!((s.lr(0) - 0.02).abs() < 1e-12);
        assert!((s.lr(10) - 0.1).abs() < 1e-12);
        assert!(s.lr(50).abs() < 1e-12);
    }
}
