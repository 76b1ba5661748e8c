//! Squeeze-and-excitation with reduction 4 (docs/method.md §2).

use burn::config::Config;
use burn::module::{Initializer, Module};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

use nse_ops::cost::se_reduced;
use rand::Rng;

use crate::activation::Activate;
use crate::init::{kaiming_fan_out_std, normal_param};
use nse_ops::spec::Activation;

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
        self.init_with(device, &mut rand::rng())
    }

    /// As [`init`](Self::init), drawing the weights from `rng` (reproducible).
    pub fn init_with(&self, device: &Device, rng: &mut impl Rng) -> SqueezeExcite {
        let c = self.channels;
        let r = se_reduced(c);
        let mut conv = |cin: usize, cout: usize| {
            let conv = Conv2dConfig::new([cin, cout], [1, 1])
                .with_initializer(Initializer::Zeros)
                .init(device);
            Conv2d {
                weight: normal_param(
                    [cout, cin, 1, 1],
                    kaiming_fan_out_std(cout, [1, 1]),
                    rng,
                    device,
                ),
                ..conv
            }
        };
        let reduce = conv(c, r);
        let expand = conv(r, c);
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
        crate::kernels::elementwise([x, scale], |[x, scale]| x * scale)
    }
}
