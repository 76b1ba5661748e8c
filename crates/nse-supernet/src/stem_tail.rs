//! The stem and the tail shared by the supernet and child networks (nse-method.md §3).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use nse_ops::Activation;
use nse_ops::modules::conv_bn::kaiming_normal_fan_out;
use nse_ops::modules::{ConvBn, ConvBnConfig};

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
        Stem {
            conv: ConvBnConfig::new([self.input_channels, self.channels], [3, 3])
                .with_stride([self.stride; 2])
                .with_padding([1, 1])
                .with_activation(Some(Activation::Relu))
                .init(device),
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
    /// classifier with Burn's default (PyTorch-like) initialisation.
    pub fn init(&self, device: &Device) -> Tail {
        Tail {
            conv: Conv2dConfig::new([self.input_channels, self.channels], [1, 1])
                .with_bias(false)
                .with_initializer(kaiming_normal_fan_out(self.channels, [1, 1]))
                .init(device),
            classifier: LinearConfig::new(self.channels, self.num_classes).init(device),
        }
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
        let y = burn::tensor::activation::relu(self.conv.forward(x));
        let [batch, channels, _, _] = y.dims();
        let pooled = y.mean_dim(2).mean_dim(3).reshape([batch, channels]);
        self.classifier.forward(pooled)
    }
}
