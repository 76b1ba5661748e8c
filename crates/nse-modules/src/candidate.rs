//! Any candidate op: the module of one [`OpSpec`], built from its config.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use nse_ops::cost::OpGeometry;
use nse_ops::spec::{OpFamily, OpSpec};

use crate::{
    DualConv, DualConvConfig, FactorizedConv, FactorizedConvConfig, InvertedBottleneck,
    InvertedBottleneckConfig, PlainConv, PlainConvConfig,
};

/// Folds pending running-statistic updates of `bn` into its values (see
/// [`CandidateOp::sync_statistics`]).
pub fn sync_batch_norm(bn: &burn::nn::BatchNorm) {
    let _ = bn.running_mean.value_sync();
    let _ = bn.running_var.value_sync();
}

/// Drops the running-statistics update that the last train-mode forward of `bn` queued,
/// keeping the statistics as they were before it. The forward folds every earlier update in
/// (`value_sync`) before queueing its own (`update`), so the current value is the state
/// before it; a fresh state holding that value has nothing queued. For a batch whose loss
/// turned out NaN.
pub fn discard_batch_norm_update(bn: &mut burn::nn::BatchNorm) {
    bn.running_mean = burn::module::RunningState::new(bn.running_mean.value());
    bn.running_var = burn::module::RunningState::new(bn.running_var.value());
}

/// Checks `spec` against channels and stride (the spatial size is irrelevant to a module).
pub(crate) fn validated(
    spec: OpSpec,
    channels: [usize; 2],
    stride: usize,
) -> crate::Result<OpSpec> {
    spec.check_geometry(&OpGeometry::new(channels[0], channels[1], stride, 1))?;
    Ok(spec)
}

/// Configuration of a [`CandidateOp`]: an op spec placed between `cin` and `cout` channels
/// with a stride.
#[derive(Config, Debug)]
pub struct CandidateOpConfig {
    /// The op.
    pub spec: OpSpec,
    /// `[cin, cout]`.
    pub channels: [usize; 2],
    /// Stride (1 or 2 in NSE networks; any positive value works).
    #[config(default = 1)]
    pub stride: usize,
}

impl CandidateOpConfig {
    /// Initialises the module of the spec's family (Kaiming-normal fan_out conv weights,
    /// BN weight 1 and bias 0). Fails when channels, stride or groups do not fit the spec.
    pub fn init(&self, device: &Device) -> crate::Result<CandidateOp> {
        self.init_with(device, &mut rand::rng())
    }

    /// As [`init`](Self::init), drawing the weights from `rng` (reproducible).
    pub fn init_with(
        &self,
        device: &Device,
        rng: &mut impl rand::Rng,
    ) -> crate::Result<CandidateOp> {
        let s = &self.spec;
        let (k, t, stride, channels) = (s.kernel(), s.expansion(), self.stride, self.channels);
        Ok(match s.family() {
            OpFamily::InvertedBottleneck => CandidateOp::InvertedBottleneck(
                InvertedBottleneckConfig::new(channels, k, t)
                    .with_stride(stride)
                    .with_dilation(s.dilation())
                    .with_groups([s.groups().input, s.groups().output])
                    .with_se(s.se())
                    .with_activation(s.activation())
                    .init_with(device, rng)?,
            ),
            OpFamily::Plain => CandidateOp::Plain(
                PlainConvConfig::new(channels, k, t)
                    .with_stride(stride)
                    .with_se(s.se())
                    .with_activation(s.activation())
                    .init_with(device, rng)?,
            ),
            OpFamily::Dual => CandidateOp::Dual(
                DualConvConfig::new(channels, k, t)
                    .with_stride(stride)
                    .with_se(s.se())
                    .with_activation(s.activation())
                    .init_with(device, rng)?,
            ),
            OpFamily::Factorized => CandidateOp::Factorized(
                FactorizedConvConfig::new(channels, k, t)
                    .with_stride(stride)
                    .with_se(s.se())
                    .with_activation(s.activation())
                    .init_with(device, rng)?,
            ),
        })
    }
}

/// Any candidate op: the module of one [`OpSpec`].
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum CandidateOp {
    /// `IR(k, t, d, g)`.
    InvertedBottleneck(InvertedBottleneck),
    /// `Conv(k, t)`.
    Plain(PlainConv),
    /// `Dual(k, t)`.
    Dual(DualConv),
    /// `Rec(k, t)`.
    Factorized(FactorizedConv),
}

impl CandidateOp {
    /// Every batch norm of the op, in forward order.
    pub fn batch_norms(&self) -> Vec<&burn::nn::BatchNorm> {
        match self {
            CandidateOp::InvertedBottleneck(op) => op.batch_norms(),
            CandidateOp::Plain(op) => op.batch_norms(),
            CandidateOp::Dual(op) => op.batch_norms(),
            CandidateOp::Factorized(op) => op.batch_norms(),
        }
    }

    /// Folds pending running-statistic updates of every batch norm into their values (Burn
    /// keeps the latest train-mode update per thread until it is read with `value_sync`;
    /// records and clones read the folded value).
    pub fn sync_statistics(&self) {
        for bn in self.batch_norms() {
            sync_batch_norm(bn);
        }
    }

    /// Mutable access to every batch norm of the op, in forward order.
    pub fn batch_norms_mut(&mut self) -> Vec<&mut burn::nn::BatchNorm> {
        match self {
            CandidateOp::InvertedBottleneck(op) => op.batch_norms_mut(),
            CandidateOp::Plain(op) => op.batch_norms_mut(),
            CandidateOp::Dual(op) => op.batch_norms_mut(),
            CandidateOp::Factorized(op) => op.batch_norms_mut(),
        }
    }

    /// Forward pass.
    ///
    /// # Shapes
    /// - `x`: `[batch, cin, h, w]`
    /// - output: `[batch, cout, ceil(h / stride), ceil(w / stride)]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            CandidateOp::InvertedBottleneck(op) => op.forward(x),
            CandidateOp::Plain(op) => op.forward(x),
            CandidateOp::Dual(op) => op.forward(x),
            CandidateOp::Factorized(op) => op.forward(x),
        }
    }
}
