//! The stem and the tail shared by the supernet and child networks (docs/method.md §3).

use burn::config::Config;
use burn::module::Initializer;
use burn::module::Module;
use burn::nn::Linear;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::{Device, Tensor};
use nse_modules::init::{kaiming_fan_out_std, normal_param, uniform_param};
use nse_modules::{ConvBn, ConvBnConfig};
use nse_ops::Activation;
use rand::Rng;

/// Configuration of the [`Stem`].
#[derive(Config, Debug)]
pub struct StemConfig {
    /// Image channels (3 for RGB).
    pub input_channels: usize,
    /// Output width `c[0]`.
    pub channels: usize,
    /// Stride (2 for ImageNet, 1 for small images).
    #[config(default = 2)]
    pub stride: usize,
}

impl StemConfig {
    /// Initialises the stem.
    pub fn init(&self, device: &Device) -> Stem {
        self.init_with(device, &mut rand::rng())
    }

    /// As [`init`](Self::init), drawing the weights from `rng` (reproducible).
    pub fn init_with(&self, device: &Device, rng: &mut impl Rng) -> Stem {
        Stem {
            conv: ConvBnConfig::new([self.input_channels, self.channels], [3, 3])
                .with_stride([self.stride; 2])
                .with_padding([1, 1])
                .with_activation(Some(Activation::Relu))
                .init_with(device, rng),
        }
    }
}

/// 3x3 conv with stride, BN, ReLU.
#[derive(Module, Debug)]
pub struct Stem {
    /// Conv, BN and ReLU.
    pub conv: ConvBn,
}

impl Stem {
    /// Forward pass.
    ///
    /// # Shapes
    /// - `x`: `[batch, input_channels, h, w]`
    /// - output: `[batch, c0, ceil(h / stride), ceil(w / stride)]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.conv.forward(x)
    }
}

/// Configuration of the [`Tail`].
#[derive(Config, Debug)]
pub struct TailConfig {
    /// Input width `c_last`.
    pub input_channels: usize,
    /// Width of the 1x1 conv (1024 in NSE).
    pub channels: usize,
    /// Number of classes.
    pub num_classes: usize,
}

impl TailConfig {
    /// Initialises the tail: Kaiming-normal (fan_out) 1x1 conv without bias, and a linear
    /// classifier initialised as PyTorch's default, `U(−1/√in, 1/√in)` for weight and bias.
    pub fn init(&self, device: &Device) -> Tail {
        self.init_with(device, &mut rand::rng())
    }

    /// As [`init`](Self::init), drawing the weights from `rng` (reproducible).
    pub fn init_with(&self, device: &Device, rng: &mut impl Rng) -> Tail {
        let (cin, c, k) = (self.input_channels, self.channels, self.num_classes);
        let conv = Conv2dConfig::new([cin, c], [1, 1])
            .with_bias(false)
            .with_initializer(Initializer::Zeros)
            .init(device);
        let conv = Conv2d {
            weight: normal_param([c, cin, 1, 1], kaiming_fan_out_std(c, [1, 1]), rng, device),
            ..conv
        };
        let bound = 1.0 / (c as f64).sqrt();
        let classifier = Linear {
            weight: uniform_param([c, k], bound, rng, device),
            bias: Some(uniform_param([k], bound, rng, device)),
        };
        Tail { conv, classifier }
    }
}

/// 1x1 conv (no BN), ReLU, global average pooling, fully connected layer.
#[derive(Module, Debug)]
pub struct Tail {
    /// 1x1 conv `c_last → channels`.
    pub conv: Conv2d,
    /// Classifier `channels → classes`.
    pub classifier: Linear,
}

impl Tail {
    /// Forward pass.
    ///
    /// # Shapes
    /// - `x`: `[batch, c_last, h, w]`
    /// - output: `[batch, num_classes]` (logits)
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let y = nse_modules::kernels::convolve(&self.conv, x);
        let y = nse_modules::kernels::elementwise([y], |[y]| burn::tensor::activation::relu(y));
        let [batch, channels, _, _] = y.dims();
        let pooled = y.mean_dim(2).mean_dim(3).reshape([batch, channels]);
        self.classifier.forward(pooled)
    }
}
