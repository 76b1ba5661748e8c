//! `Dual(k, t)`: 1x1, two full kxk convs (the second strided), 1x1.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand::Rng;

use crate::candidate::validated;
use crate::conv_bn::{ConvBn, ConvBnConfig};
use crate::squeeze_excite::{SqueezeExcite, SqueezeExciteConfig};
use nse_ops::spec::{Activation, OpSpec};

/// Configuration of a [`DualConv`].
#[derive(Config, Debug)]
pub struct DualConvConfig {
    /// `[cin, cout]`.
    pub channels: [usize; 2],
    /// Kernel size `k` of both full convs (odd).
    pub kernel: usize,
    /// Expansion ratio `t`: hidden width `cin * t`.
    pub expansion: usize,
    /// Stride of the second full conv.
    #[config(default = 1)]
    pub stride: usize,
    /// Squeeze-and-excitation after the full convs.
    #[config(default = false)]
    pub se: bool,
    /// Activation.
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
}

impl DualConvConfig {
    /// The op spec this configuration describes.
    pub fn spec(&self) -> crate::Result<OpSpec> {
        Ok(OpSpec::dual(self.kernel, self.expansion)?
            .with_se(self.se)
            .with_activation(self.activation))
    }

    /// Initialises the block after checking kernel, channels and stride.
    pub fn init(&self, device: &Device) -> crate::Result<DualConv> {
        self.init_with(device, &mut rand::rng())
    }

    /// As [`init`](Self::init), drawing the weights from `rng` in forward order (reproducible).
    pub fn init_with<R: Rng>(&self, device: &Device, rng: &mut R) -> crate::Result<DualConv> {
        let spec = validated(self.spec()?, self.channels, self.stride)?;
        let [cin, cout] = self.channels;
        let h = spec.hidden(cin);
        let (k, s, p, act) = (
            self.kernel,
            self.stride,
            spec.padding(),
            Some(self.activation),
        );
        let full = |stride: usize, rng: &mut R| {
            ConvBnConfig::new([h, h], [k, k])
                .with_stride([stride, stride])
                .with_padding([p, p])
                .with_activation(act)
                .init_with(device, rng)
        };
        Ok(DualConv {
            expand: ConvBnConfig::new([cin, h], [1, 1])
                .with_activation(act)
                .init_with(device, rng),
            conv1: full(1, rng),
            conv2: full(s, rng),
            se: self.se.then(|| {
                SqueezeExciteConfig::new(h)
                    .with_activation(self.activation)
                    .init_with(device, rng)
            }),
            project: ConvBnConfig::new([h, cout], [1, 1]).init_with(device, rng),
        })
    }
}

/// `project(se(conv2(conv1(expand(x)))))`: 1x1 `cin → h`, full kxk stride 1, full kxk with
/// the stride (each with BN and activation), optional SE, 1x1 `h → cout` with BN.
#[derive(Module, Debug)]
pub struct DualConv {
    /// 1x1 expansion.
    pub expand: ConvBn,
    /// First full kxk conv, stride 1.
    pub conv1: ConvBn,
    /// Second full kxk conv, with the op's stride.
    pub conv2: ConvBn,
    /// Optional squeeze-and-excitation.
    pub se: Option<SqueezeExcite>,
    /// 1x1 projection.
    pub project: ConvBn,
}

impl DualConv {
    /// Mutable access to every batch norm of the block, in forward order.
    pub fn batch_norms_mut(&mut self) -> Vec<&mut burn::nn::BatchNorm> {
        vec![
            &mut self.expand.bn,
            &mut self.conv1.bn,
            &mut self.conv2.bn,
            &mut self.project.bn,
        ]
    }

    /// Every batch norm of the block, in forward order.
    pub fn batch_norms(&self) -> Vec<&burn::nn::BatchNorm> {
        vec![
            &self.expand.bn,
            &self.conv1.bn,
            &self.conv2.bn,
            &self.project.bn,
        ]
    }

    /// Forward pass.
    ///
    /// # Shapes
    /// - `x`: `[batch, cin, h, w]`
    /// - output: `[batch, cout, ceil(h / stride), ceil(w / stride)]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut y = self
            .conv2
            .forward(self.conv1.forward(self.expand.forward(x)));
        if let Some(se) = &self.se {
            y = se.forward(y);
        }
        self.project.forward(y)
    }
}
