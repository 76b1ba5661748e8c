//! `IR(k, t, d, g)`: the inverted bottleneck of MobileNetV2 with dilation and grouped 1x1s.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand::Rng;

use crate::candidate::validated;
use crate::conv_bn::{ConvBn, ConvBnConfig};
use crate::squeeze_excite::{SqueezeExcite, SqueezeExciteConfig};
use nse_ops::spec::{Activation, Groups, OpSpec};

/// Configuration of an [`InvertedBottleneck`].
#[derive(Config, Debug)]
pub struct InvertedBottleneckConfig {
    /// `[cin, cout]`.
    pub channels: [usize; 2],
    /// Depthwise kernel size `k` (odd).
    pub kernel: usize,
    /// Expansion ratio `t`: hidden width `cin * t`.
    pub expansion: usize,
    /// Stride of the depthwise conv.
    #[config(default = 1)]
    pub stride: usize,
    /// Dilation of the depthwise conv.
    #[config(default = 1)]
    pub dilation: usize,
    /// Groups `[g_in, g_out]` of the first and last 1x1 convs.
    #[config(default = "[1, 1]")]
    pub groups: [usize; 2],
    /// Squeeze-and-excitation after the depthwise conv.
    #[config(default = false)]
    pub se: bool,
    /// Activation.
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
}

impl InvertedBottleneckConfig {
    /// The op spec this configuration describes.
    pub fn spec(&self) -> crate::Result<OpSpec> {
        Ok(OpSpec::ir(self.kernel, self.expansion)?
            .with_dilation(self.dilation)?
            .with_groups(Groups::new(self.groups[0], self.groups[1]))?
            .with_se(self.se)
            .with_activation(self.activation))
    }

    /// Initialises the block after checking kernel, channels, stride and groups.
    pub fn init(&self, device: &Device) -> crate::Result<InvertedBottleneck> {
        self.init_with(device, &mut rand::rng())
    }

    /// As [`init`](Self::init), drawing the weights from `rng` in forward order (reproducible).
    pub fn init_with(
        &self,
        device: &Device,
        rng: &mut impl Rng,
    ) -> crate::Result<InvertedBottleneck> {
        let spec = validated(self.spec()?, self.channels, self.stride)?;
        let [cin, cout] = self.channels;
        let h = spec.hidden(cin);
        let (k, d, s, act) = (
            self.kernel,
            self.dilation,
            self.stride,
            Some(self.activation),
        );
        let pad = spec.padding();
        Ok(InvertedBottleneck {
            expand: ConvBnConfig::new([cin, h], [1, 1])
                .with_groups(self.groups[0])
                .with_activation(act)
                .init_with(device, rng),
            depthwise: ConvBnConfig::new([h, h], [k, k])
                .with_stride([s, s])
                .with_padding([pad, pad])
                .with_dilation(d)
                .with_groups(h)
                .with_activation(act)
                .init_with(device, rng),
            se: self.se.then(|| {
                SqueezeExciteConfig::new(h)
                    .with_activation(self.activation)
                    .init_with(device, rng)
            }),
            project: ConvBnConfig::new([h, cout], [1, 1])
                .with_groups(self.groups[1])
                .init_with(device, rng),
        })
    }
}

/// `project(se(depthwise(expand(x))))`, where `expand` is a (grouped) 1x1 `cin → cin·t` with
/// BN and activation, `depthwise` a kxk depthwise conv with stride, dilation, padding
/// `d(k − 1)/2`, BN and activation, `se` optional, and `project` a (grouped) 1x1 `cin·t → cout`
/// with BN and no activation.
#[derive(Module, Debug)]
pub struct InvertedBottleneck {
    /// 1x1 expansion.
    pub expand: ConvBn,
    /// kxk depthwise.
    pub depthwise: ConvBn,
    /// Optional squeeze-and-excitation.
    pub se: Option<SqueezeExcite>,
    /// 1x1 projection.
    pub project: ConvBn,
}

impl InvertedBottleneck {
    /// Mutable access to every batch norm of the block, in forward order.
    pub fn batch_norms_mut(&mut self) -> Vec<&mut burn::nn::BatchNorm> {
        vec![
            &mut self.expand.bn,
            &mut self.depthwise.bn,
            &mut self.project.bn,
        ]
    }

    /// Every batch norm of the block, in forward order.
    pub fn batch_norms(&self) -> Vec<&burn::nn::BatchNorm> {
        vec![&self.expand.bn, &self.depthwise.bn, &self.project.bn]
    }

    /// Forward pass.
    ///
    /// # Shapes
    /// - `x`: `[batch, cin, h, w]`
    /// - output: `[batch, cout, ceil(h / stride), ceil(w / stride)]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut y = self.depthwise.forward(self.expand.forward(x));
        if let Some(se) = &self.se {
            y = se.forward(y);
        }
        self.project.forward(y)
    }
}
