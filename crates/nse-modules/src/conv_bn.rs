//! Convolution (no bias) followed by batch norm and an optional activation: the unit every
//! candidate op is made of (docs/method.md §2).

use burn::config::Config;
use burn::module::{Initializer, Module};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor};

use rand::Rng;

use crate::kernels::{self, KernelMode, batch_norm_train};

use crate::activation::Activate;
use crate::init::{kaiming_fan_out_std, normal_param};
use nse_ops::spec::Activation;

/// Kaiming-normal initialiser in PyTorch's `fan_out` mode with the ReLU gain:
/// `std = sqrt(2 / (out_channels * kh * kw))` (PyTorch counts all output channels, whatever
/// the groups; Burn's own `KaimingNormal` divides by the groups, so it is not used).
pub fn kaiming_normal_fan_out(out_channels: usize, kernel: [usize; 2]) -> Initializer {
    Initializer::Normal {
        mean: 0.0,
        std: kaiming_fan_out_std(out_channels, kernel),
    }
}

/// Configuration of a [`ConvBn`].
#[derive(Config, Debug)]
pub struct ConvBnConfig {
    /// `[in, out]` channels.
    pub channels: [usize; 2],
    /// `[kh, kw]` kernel size.
    pub kernel: [usize; 2],
    /// `[sh, sw]` stride.
    #[config(default = "[1, 1]")]
    pub stride: [usize; 2],
    /// `[ph, pw]` symmetric zero padding.
    #[config(default = "[0, 0]")]
    pub padding: [usize; 2],
    /// Dilation (both axes).
    #[config(default = 1)]
    pub dilation: usize,
    /// Groups; must divide both channel counts.
    #[config(default = 1)]
    pub groups: usize,
    /// Activation after the batch norm, if any.
    #[config(default = "None")]
    pub activation: Option<Activation>,
}

impl ConvBnConfig {
    /// Initialises the unit: conv weights Kaiming-normal (fan_out), BN weight 1 and bias 0.
    ///
    /// # Panics
    /// If `groups` does not divide the channels; callers check op geometry first
    /// ([`OpSpec::check_geometry`](nse_ops::OpSpec::check_geometry)).
    pub fn init(&self, device: &Device) -> ConvBn {
        self.init_with(device, &mut rand::rng())
    }

    /// As [`init`](Self::init), drawing the conv weights from `rng` (reproducible).
    ///
    /// # Panics
    /// If `groups` does not divide the channels.
    pub fn init_with(&self, device: &Device, rng: &mut impl Rng) -> ConvBn {
        let [ph, pw] = self.padding;
        let conv = Conv2dConfig::new(self.channels, self.kernel)
            .with_stride(self.stride)
            .with_dilation([self.dilation; 2])
            .with_groups(self.groups)
            .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
            .with_bias(false)
            .with_initializer(Initializer::Zeros)
            .init(device);
        let [cin, cout] = self.channels;
        let shape = [cout, cin / self.groups, self.kernel[0], self.kernel[1]];
        let std = kaiming_fan_out_std(cout, self.kernel);
        let conv = Conv2d {
            weight: normal_param(shape, std, rng, device),
            ..conv
        };
        ConvBn {
            conv,
            bn: BatchNormConfig::new(self.channels[1]).init(device),
            activation: self.activation,
        }
    }
}

/// `act(bn(conv(x)))`.
#[derive(Module, Debug)]
pub struct ConvBn {
    /// The convolution (no bias).
    pub conv: Conv2d,
    /// The batch norm after it.
    pub bn: BatchNorm,
    /// The activation after the batch norm, if any.
    #[module(skip)]
    pub activation: Option<Activation>,
}

impl ConvBn {
    /// Forward pass.
    ///
    /// # Shapes
    /// - `x`: `[batch, in, h, w]`
    /// - output: `[batch, out, (h + 2ph − d(kh − 1) − 1) / sh + 1, (w + 2pw − d(kw − 1) − 1) / sw + 1]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.normalize_activate(kernels::convolve(&self.conv, x))
    }

    /// The activation, if any, in the kernels' memory order.
    fn activate(&self, y: Tensor<4>) -> Tensor<4> {
        match self.activation {
            Some(act) => kernels::elementwise([y], |[y]| act.forward(y)),
            None => y,
        }
    }

    /// The batch norm, with the semantics of Burn's `BatchNorm::forward` (batch statistics and
    /// a running-statistics update on an autodiff device while the layer trains, the running
    /// statistics otherwise), then the activation.
    ///
    /// Train mode runs through [`kernels::batch_norm_train`] (a two-pass kernel on the CPU)
    /// unless `NSE_CPU_KERNELS=off`. Inference folds the statistics into one scale and one
    /// shift per channel and applies them and the activation in one element-wise step.
    fn normalize_activate(&self, x: Tensor<4>) -> Tensor<4> {
        let bn = &self.bn;
        let channels = x.dims()[1];
        let per_channel = [1, channels, 1, 1];
        if !(x.device().is_autodiff() && bn.training.is_enabled()) {
            let device = x.device();
            let mean = bn.running_mean.value().to_device(&device);
            let var = bn.running_var.value().to_device(&device);
            let scale = bn.gamma.val() / var.add_scalar(bn.epsilon).sqrt();
            let shift = bn.beta.val() - mean * scale.clone();
            let (scale, shift) = (scale.reshape(per_channel), shift.reshape(per_channel));
            let act = self.activation;
            return kernels::elementwise([x, scale, shift], |[x, scale, shift]| {
                let y = x * scale + shift;
                match act {
                    Some(act) => act.forward(y),
                    None => y,
                }
            });
        }
        if kernels::mode() == KernelMode::Off {
            return self.activate(bn.forward(x));
        }
        let device = x.device();
        let result = batch_norm_train(x, bn.gamma.val(), bn.beta.val(), bn.epsilon);
        let m = bn.momentum;
        let running_mean = bn
            .running_mean
            .value_sync()
            .to_device(&device)
            .mul_scalar(1.0 - m)
            + result.mean.detach().mul_scalar(m);
        let running_var = bn
            .running_var
            .value_sync()
            .to_device(&device)
            .mul_scalar(1.0 - m)
            + result.variance.detach().mul_scalar(m);
        bn.running_mean.update(running_mean.detach());
        bn.running_var.update(running_var.detach());
        self.activate(result.output)
    }
}
