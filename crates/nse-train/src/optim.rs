//! Optimizers as NSE trains with them: Nesterov SGD with weight decay on conv and linear
//! weights only (not on batch-norm parameters or biases), and Adam for the indicators.

use burn::module::ParamGroup;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig};
use serde::{Deserialize, Serialize};

/// SGD hyper-parameters (PyTorch semantics: dampening 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SgdSettings {
    /// Momentum factor.
    pub momentum: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// L2 weight decay, applied to conv and linear weights only.
    pub weight_decay: f64,
}

impl Default for SgdSettings {
    /// The reference: momentum 0.9, Nesterov, weight decay 4e-5.
    fn default() -> Self {
        SgdSettings {
            momentum: 0.9,
            nesterov: true,
            weight_decay: 4e-5,
        }
    }
}

/// Parameters that get no weight decay: batch-norm `gamma`/`beta` and every `bias`.
pub fn no_decay_group() -> ParamGroup {
    ParamGroup::from_regex(r"(^|\.)(gamma|beta|bias)$").expect("valid regex")
}

/// A module optimizer: SGD with `settings` for weights, the same without weight decay for
/// batch-norm parameters and biases. Burn's SGD dampening (default 0.1) is set to 0.
pub fn sgd(settings: &SgdSettings) -> ModuleOptimizer {
    let momentum = (settings.momentum > 0.0).then_some(MomentumConfig {
        momentum: settings.momentum,
        dampening: 0.0,
        nesterov: settings.nesterov,
    });
    let decayed = SgdConfig::new()
        .with_momentum(momentum.clone())
        .with_weight_decay((settings.weight_decay > 0.0).then_some(WeightDecayConfig {
            penalty: settings.weight_decay as f32,
        }));
    let plain = SgdConfig::new().with_momentum(momentum);
    decayed
        .init()
        .with_group(no_decay_group(), plain.build(), None)
}

/// Adam with `β1`, `β2` and PyTorch's epsilon 1e-8 (Burn's default is 1e-5).
pub fn adam(beta_1: f64, beta_2: f64) -> ModuleOptimizer {
    AdamConfig::new()
        .with_beta_1(beta_1 as f32)
        .with_beta_2(beta_2 as f32)
        .with_epsilon(1e-8)
        .init()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
    use burn::optim::GradientsParams;
    use burn::tensor::{Device, Tensor};

    #[derive(Module, Debug)]
    struct Tiny {
        linear: Linear,
        bn: BatchNorm,
    }

    #[test]
    fn weight_decay_skips_batch_norm_and_biases() {
        let device = Device::flex().autodiff();
        let tiny = Tiny {
            linear: LinearConfig::new(2, 2).init(&device),
            bn: BatchNormConfig::new(2).init(&device),
        };
        // A zero loss: only weight decay can move parameters.
        let x = Tensor::<2>::ones([3, 2], &device);
        let y = tiny.bn.forward(tiny.linear.forward(x));
        let grads = GradientsParams::from_grads(y.mul_scalar(0.0).sum().backward(), &tiny);
        let before_w: Vec<f32> = tiny.linear.weight.val().into_data().try_into_vec().unwrap();
        let before_b: Vec<f32> = tiny
            .linear
            .bias
            .as_ref()
            .unwrap()
            .val()
            .into_data()
            .try_into_vec()
            .unwrap();
        let mut optim = sgd(&SgdSettings {
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.5,
        });
        let tiny = optim.step(0.1, tiny, grads);
        let after_w: Vec<f32> = tiny.linear.weight.val().into_data().try_into_vec().unwrap();
        let after_b: Vec<f32> = tiny
            .linear
            .bias
            .as_ref()
            .unwrap()
            .val()
            .into_data()
            .try_into_vec()
            .unwrap();
        for (a, b) in after_w.iter().zip(&before_w) {
            assert!(
                (a - b * (1.0 - 0.05)).abs() < 1e-6,
                "weight decayed: {b} -> {a}"
            );
        }
        assert_eq!(after_b, before_b, "bias not decayed");
        let gamma: Vec<f32> = tiny.bn.gamma.val().into_data().try_into_vec().unwrap();
        assert_eq!(gamma, vec![1.0, 1.0], "BN weight not decayed");
    }
}
