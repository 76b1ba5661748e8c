//! `Rec(k, t)`: 1x1, a 1xk then a kx1 full conv (factorised kxk), 1x1.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand::Rng;

use crate::candidate::validated;
use crate::conv_bn::{ConvBn, ConvBnConfig};
use crate::squeeze_excite::{SqueezeExcite, SqueezeExciteConfig};
use nse_ops::spec::{Activation, OpSpec};

/// Configuration of a [`FactorizedConv`].
#[derive(Config, Debug)]
pub struct FactorizedConvConfig {
    /// `[cin, cout]`.
    pub channels: [usize; 2],
    /// Length `k` of the 1xk and kx1 kernels (odd).
    pub kernel: usize,
    /// Expansion ratio `t`: hidden width `cin * t`.
    pub expansion: usize,
    /// Stride: the 1xk conv strides the width, the kx1 conv the height.
    #[config(default = 1)]
    pub stride: usize,
    /// Squeeze-and-excitation after the factorised convs.
    #[config(default = false)]
    pub se: bool,
    /// Activation.
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
}

impl FactorizedConvConfig {
    /// The op spec this configuration describes.
    pub fn spec(&self) -> crate::Result<OpSpec> {
        Ok(OpSpec::rec(self.kernel, self.expansion)?
            .with_se(self.se)
            .with_activation(self.activation))
    }

    /// Initialises the block after checking kernel, channels and stride.
    pub fn init(&self, device: &Device) -> crate::Result<FactorizedConv> {
        self.init_with(device, &mut rand::rng())
    }

    /// As [`init`](Self::init), drawing the weights from `rng` in forward order (reproducible).
    pub fn init_with(&self, device: &Device, rng: &mut impl Rng) -> crate::Result<FactorizedConv> {
        let spec = validated(self.spec()?, self.channels, self.stride)?;
        let [cin, cout] = self.channels;
        let h = spec.hidden(cin);
        let (k, s, p, act) = (
            self.kernel,
            self.stride,
            spec.padding(),
            Some(self.activation),
        );
        Ok(FactorizedConv {
            expand: ConvBnConfig::new([cin, h], [1, 1])
                .with_activation(act)
                .init_with(device, rng),
            row: ConvBnConfig::new([h, h], [1, k])
                .with_stride([1, s])
                .with_padding([0, p])
                .with_activation(act)
                .init_with(device, rng),
            column: ConvBnConfig::new([h, h], [k, 1])
                .with_stride([s, 1])
                .with_padding([p, 0])
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

/// `project(se(column(row(expand(x)))))`: 1x1 `cin → h`; 1xk full conv with stride `(1, s)`
/// and padding `(0, k/2)`; kx1 full conv with stride `(s, 1)` and padding `(k/2, 0)` (each
/// with BN and activation); optional SE; 1x1 `h → cout` with BN.
#[derive(Module, Debug)]
pub struct FactorizedConv {
    /// 1x1 expansion.
    pub expand: ConvBn,
    /// 1xk conv.
    pub row: ConvBn,
    /// kx1 conv.
    pub column: ConvBn,
    /// Optional squeeze-and-excitation.
    pub se: Option<SqueezeExcite>,
    /// 1x1 projection.
    pub project: ConvBn,
}

impl FactorizedConv {
    /// Mutable access to every batch norm of the block, in forward order.
    pub fn batch_norms_mut(&mut self) -> Vec<&mut burn::nn::BatchNorm> {
        vec![
            &mut self.expand.bn,
            &mut self.row.bn,
            &mut self.column.bn,
            &mut self.project.bn,
        ]
    }

    /// Every batch norm of the block, in forward order.
    pub fn batch_norms(&self) -> Vec<&burn::nn::BatchNorm> {
        vec![
            &self.expand.bn,
            &self.row.bn,
            &self.column.bn,
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
            .column
            .forward(self.row.forward(self.expand.forward(x)));
        if let Some(se) = &self.se {
            y = se.forward(y);
        }
        self.project.forward(y)
    }
}
