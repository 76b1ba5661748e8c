//! Squeeze-and-excitation with reduction 4 (nse-method.md §2).

use burn::config::Config;
use burn::module::{Initializer, Module};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

use crate::cost::se_reduced;
use crate::modules::conv_bn::kaiming_normal_fan_out;
use crate::spec::Activation;

/// Configuration of a [`SqueezeExcite`].
#[derive(Config, Debug)]
pub struct SqueezeExciteConfig {
    /// Channels of the feature map it rescales.
    pub channels: usize,
    /// Activation between the two 1x1 convs.
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
}

impl SqueezeExciteConfig {
    /// Initialises the block: 1x1 convs with bias, Kaiming-normal (fan_out) weights, zero biases.
    pub fn init(&self, device: &Device) -> SqueezeExcite {
        let c = self.channels;
        let r = se_reduced(c);
        let conv = |cin: usize, cout: usize| {
            Conv2dConfig::new([cin, cout], [1, 1])
                .with_initializer(kaiming_normal_fan_out(cout, [1, 1]))
                .init(device)
        };
        let mut reduce = conv(c, r);
        let mut expand = conv(r, c);
        reduce.bias = Some(Initializer::Zeros.init([r], device));
        expand.bias = Some(Initializer::Zeros.init([c], device));
        SqueezeExcite {
            reduce,
            expand,
            activation: self.activation,
        }
    }
}

/// `x * sigmoid(expand(act(reduce(avgpool(x)))))` with `reduce: c → max(1, c/4)`.
#[derive(Module, Debug)]
pub struct SqueezeExcite {
    /// 1x1 conv `c → c/4` with bias.
    pub reduce: Conv2d,
    /// 1x1 conv `c/4 → c` with bias.
    pub expand: Conv2d,
    /// Activation between them.
    #[module(skip)]
    pub activation: Activation,
}

impl SqueezeExcite {
    /// Forward pass.
    ///
    /// # Shapes
    /// - `x`: `[batch, c, h, w]`
    /// - output: `[batch, c, h, w]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let squeezed = x.clone().mean_dim(2).mean_dim(3);
        let scale = sigmoid(
            self.expand
                .forward(self.activation.forward(self.reduce.forward(squeezed))),
        );
        x * scale
    }
}
