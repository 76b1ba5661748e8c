//! `Conv(k, t)`: 1x1, a full kxk conv, 1x1.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand::Rng;

use crate::candidate::validated;
use crate::conv_bn::{ConvBn, ConvBnConfig};
use crate::squeeze_excite::{SqueezeExcite, SqueezeExciteConfig};
use nse_ops::spec::{Activation, OpSpec};

/// Configuration of a [`PlainConv`].
#[derive(Config, Debug)]
pub struct PlainConvConfig {
    /// `[cin, cout]`.
    pub channels: [usize; 2],
    /// Kernel size `k` of the full conv (odd).
    pub kernel: usize,
    /// Expansion ratio `t`: hidden width `cin * t`.
    pub expansion: usize,
    /// Stride of the full conv.
    #[config(default = 1)]
    pub stride: usize,
    /// Squeeze-and-excitation after the full conv.
    #[config(default = false)]
    pub se: bool,
    /// Activation.
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
}

impl PlainConvConfig {
    /// The op spec this configuration describes.
    pub fn spec(&self) -> crate::Result<OpSpec> {
        Ok(OpSpec::conv(self.kernel, self.expansion)?
            .with_se(self.se)
            .with_activation(self.activation))
    }

    /// Initialises the block after checking kernel, channels and stride.
    pub fn init(&self, device: &Device) -> crate::Result<PlainConv> {
        self.init_with(device, &mut rand::rng())
    }

    /// As [`init`](Self::init), drawing the weights from `rng` in forward order (reproducible).
    pub fn init_with(&self, device: &Device, rng: &mut impl Rng) -> crate::Result<PlainConv> {
        let spec = validated(self.spec()?, self.channels, self.stride)?;
        let [cin, cout] = self.channels;
        let h = spec.hidden(cin);
        let (k, s, p, act) = (
            self.kernel,
            self.stride,
            spec.padding(),
            Some(self.activation),
        );
        Ok(PlainConv {
            expand: ConvBnConfig::new([cin, h], [1, 1])
                .with_activation(act)
                .init_with(device, rng),
            conv: ConvBnConfig::new([h, h], [k, k])
                .with_stride([s, s])
                .with_padding([p, p])
                .with_activation(act)
                .init_with(device, rng),
            se: self.se.then(|| {
                SqueezeExciteConfig::new(h)
                    .with_activation(self.activation)
                    .init_with(device, rng)
            }),
            project: ConvBnConfig::new([h, cout], [1, 1]).init_with(device, rng),
        })
    }
}

/// `project(se(conv(expand(x))))`: 1x1 `cin → h` with BN and activation, full kxk `h → h`
/// with stride, BN and activation, optional SE, 1x1 `h → cout` with BN.
#[derive(Module, Debug)]
pub struct PlainConv {
    /// 1x1 expansion.
    pub expand: ConvBn,
    /// Full kxk conv.
    pub conv: ConvBn,
    /// Optional squeeze-and-excitation.
    pub se: Option<SqueezeExcite>,
    /// 1x1 projection.
    pub project: ConvBn,
}

impl PlainConv {
    /// Mutable access to every batch norm of the block, in forward order.
    pub fn batch_norms_mut(&mut self) -> Vec<&mut burn::nn::BatchNorm> {
        vec![&mut self.expand.bn, &mut self.conv.bn, &mut self.project.bn]
    }

    /// Every batch norm of the block, in forward order.
    pub fn batch_norms(&self) -> Vec<&burn::nn::BatchNorm> {
        vec![&self.expand.bn, &self.conv.bn, &self.project.bn]
    }

    /// Forward pass.
    ///
    /// # Shapes
    /// - `x`: `[batch, cin, h, w]`
    /// - output: `[batch, cout, ceil(h / stride), ceil(w / stride)]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut y = self.conv.forward(self.expand.forward(x));
        if let Some(se) = &self.se {
            y = se.forward(y);
        }
        self.project.forward(y)
    }
}
