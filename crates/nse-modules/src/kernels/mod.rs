//! CPU compute kernels for the convolutions NSE's ops are made of, where Burn's CPU backend
//! is slow on a supernet's shapes (many small feature maps, thousands of depthwise groups).
//!
//! - [`conv`]: dense convolution as one GEMM over the batch, forward and both gradients;
//! - [`depthwise`]: depthwise convolution with direct gradient kernels;
//! - [`batch_norm`]: train-mode batch norm in two passes, forward and backward.
//!
//! On the CPU the kernels leave activations (and input gradients) in channel-major memory
//! order, `[channels, batch, h, w]`, while the tensors stay logically `[batch, channels, h, w]`:
//! the GEMM of the next convolution then reads its input without a layout copy. Element-wise
//! work between convolutions runs through [`elementwise`], which keeps that order.
//!
//! Each is a Burn backend extension: the CPU (`flex`) implementation is ours, autodiff wires
//! our gradients in as the backward pass, and every other device uses Burn's own op.
//! The environment variable `NSE_CPU_KERNELS` picks which ones the ops use ([`mode`]).

pub mod batch_norm;
pub mod conv;
mod conv_autodiff;
pub mod depthwise;
mod gemm;
mod geometry;

pub use batch_norm::{BatchNormTrainOutput, batch_norm_train};
pub use conv::conv2d;
pub use depthwise::depthwise_conv2d;

use burn::backend::DispatchDevice;
use burn::backend::ops::ConvOptions;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;

/// Whether `device` runs on Burn's CPU (`flex`) backend, with or without autodiff.
pub fn is_cpu(device: &burn::tensor::Device) -> bool {
    matches!(
        device.as_dispatch().clone().inner(),
        DispatchDevice::Flex(_)
    )
}

/// Whether the kernels of this module compute on tensors like `x`: on the CPU and in `f32`,
/// the only dtype they are written for. Other dtypes run through Burn's own ops.
pub(crate) fn kernels_apply<const D: usize>(x: &Tensor<D>) -> bool {
    is_cpu(&x.device()) && x.dtype() == burn::tensor::DType::F32
}

/// Applies the element-wise (broadcasting) `f` to `[batch, channels, h, w]` inputs so that the
/// result keeps the memory order the kernels leave activations in. On the CPU with the kernels
/// on, `f` runs on the inputs with the batch and channel axes swapped (a view; the
/// channel-major activations are then contiguous, which Burn's CPU ops write in place) and the
/// result is swapped back; elsewhere `f` runs on the inputs as they are. Because `f` only
/// combines elements at the same position, both give the same values.
pub fn elementwise<const N: usize>(
    inputs: [Tensor<4>; N],
    f: impl FnOnce([Tensor<4>; N]) -> Tensor<4>,
) -> Tensor<4> {
    let channel_major = inputs
        .first()
        .is_some_and(|x| mode() != KernelMode::Off && is_cpu(&x.device()));
    if !channel_major {
        return f(inputs);
    }
    f(inputs.map(|x| x.swap_dims(0, 1))).swap_dims(0, 1)
}

/// `conv.forward(x)` through these kernels where they apply: dense (`groups = 1`) and
/// depthwise convolutions without bias, with explicit or no (`Valid`) padding, as [`mode`]
/// allows; any other convolution through Burn's `Conv2d`. On devices other than the CPU the
/// kernels are Burn's own ops, so the result is the same everywhere.
pub fn convolve(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let channels = x.dims()[1];
    let [out, per_group, _, _] = conv.weight.dims();
    let groups = conv.groups;
    let depthwise = groups > 1 && per_group == 1 && out == channels;
    let padding = match conv.padding {
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        _ => return conv.forward(x),
    };
    let use_kernel = match mode() {
        KernelMode::Off => false,
        KernelMode::Dense => groups == 1,
        KernelMode::All => groups == 1 || depthwise,
    };
    if !use_kernel || conv.bias.is_some() {
        return conv.forward(x);
    }
    let options = ConvOptions::new_with_padding(conv.stride, padding, conv.dilation, groups);
    if depthwise {
        depthwise_conv2d(x, conv.weight.val(), options)
    } else {
        conv2d(x, conv.weight.val(), options)
    }
}

/// Which of these kernels the ops use on the CPU: set from code with [`set_mode`], else from
/// the environment variable `NSE_CPU_KERNELS` (read once): unset or `all` (every kernel),
/// `dense` (the dense convolution and batch-norm kernels; depthwise convolutions through
/// Burn), `off` (Burn's ops only). The switch exists for measurements
/// (`docs/performance.md`) and for ruling the kernels out when a result looks wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelMode {
    /// Burn's own convolutions and batch norm.
    Off,
    /// The dense convolution and batch-norm kernels; depthwise convolutions through Burn.
    Dense,
    /// Every kernel of this module (the default).
    All,
}

impl std::str::FromStr for KernelMode {
    type Err = crate::ModulesError;
    /// `off`, `dense` or `all`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(KernelMode::Off),
            "dense" => Ok(KernelMode::Dense),
            "all" => Ok(KernelMode::All),
            other => Err(crate::ModulesError::KernelMode(other.to_string())),
        }
    }
}

impl KernelMode {
    /// The mode `NSE_CPU_KERNELS` asks for: `None` when it is unset, an error naming the
    /// value when it is not `off`, `dense` or `all`. The `nse` binary refuses such a value
    /// at start; library code that wants the same calls this once.
    pub fn from_env() -> Result<Option<Self>, crate::ModulesError> {
        match std::env::var("NSE_CPU_KERNELS") {
            Ok(value) => value.parse().map(Some),
            Err(_) => Ok(None),
        }
    }
}

/// [`set_mode`]'s choice: 0 none, else 1 + the mode's index.
static CHOSEN: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Chooses the [`KernelMode`] of this process from code, over `NSE_CPU_KERNELS`. Ops built
/// before the call keep no state of it: every convolution asks [`mode`] when it runs.
pub fn set_mode(mode: KernelMode) {
    let code = match mode {
        KernelMode::Off => 1,
        KernelMode::Dense => 2,
        KernelMode::All => 3,
    };
    CHOSEN.store(code, std::sync::atomic::Ordering::SeqCst);
}

/// The [`KernelMode`] of this process: [`set_mode`]'s, else `NSE_CPU_KERNELS`'s, else
/// `all`. An unknown value of the variable counts as `all` here ([`KernelMode::from_env`]
/// reports it).
pub fn mode() -> KernelMode {
    match CHOSEN.load(std::sync::atomic::Ordering::SeqCst) {
        1 => return KernelMode::Off,
        2 => return KernelMode::Dense,
        3 => return KernelMode::All,
        _ => {}
    }
    static MODE: std::sync::OnceLock<KernelMode> = std::sync::OnceLock::new();
    *MODE.get_or_init(|| {
        KernelMode::from_env()
            .ok()
            .flatten()
            .unwrap_or(KernelMode::All)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_modes_parse_and_unknown_ones_are_errors() {
        assert_eq!("off".parse::<KernelMode>(), Ok(KernelMode::Off));
        assert_eq!("dense".parse::<KernelMode>(), Ok(KernelMode::Dense));
        assert_eq!("all".parse::<KernelMode>(), Ok(KernelMode::All));
        let err = "of".parse::<KernelMode>().unwrap_err().to_string();
        assert!(
            err.contains("`of`") && err.contains("off, dense or all"),
            "{err}"
        );
    }
}
