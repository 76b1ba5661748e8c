//! # nse-modules
//!
//! The candidate operations of Neural Search-space Evolution as Burn modules, the CPU kernels
//! they run on, and the timing of a layer for latency tables — everything of the ops that
//! needs Burn. The ops' specs, pools, cost model and latency tables are data, in `nse-ops`.
//!
//! - one module per op family ([`InvertedBottleneck`], [`PlainConv`], [`DualConv`],
//!   [`FactorizedConv`], with [`SqueezeExcite`] and [`ConvBn`]), built from an
//!   [`OpSpec`](nse_ops::OpSpec) through [`CandidateOpConfig`];
//! - [`kernels`]: the CPU convolution and batch-norm kernels (a Burn backend extension) and
//!   the switch between them and Burn's own ops (`NSE_CPU_KERNELS`);
//! - [`latency`]: one layer of a latency table timed on a device.
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use nse_modules::CandidateOpConfig;
//!
//! let device = Device::flex();
//! let op = CandidateOpConfig::new("ir_k3_e6".parse().unwrap(), [16, 24])
//!     .with_stride(2)
//!     .init(&device)
//!     .unwrap();
//! let y = op.forward(Tensor::zeros([2, 16, 8, 8], &device));
//! assert_eq!(y.dims(), [2, 24, 4, 4]);
//! ```

pub mod activation;
pub mod conv_bn;
pub mod dual_conv;
pub mod factorized_conv;
pub mod init;
pub mod inverted_bottleneck;
pub mod params;
pub mod plain_conv;
pub mod squeeze_excite;

mod candidate;
mod error;
pub mod kernels;
pub mod latency;

pub use activation::Activate;
pub use candidate::{CandidateOp, CandidateOpConfig, discard_batch_norm_update, sync_batch_norm};
pub use conv_bn::{ConvBn, ConvBnConfig};
pub use dual_conv::{DualConv, DualConvConfig};
pub use error::{ModulesError, Result};
pub use factorized_conv::{FactorizedConv, FactorizedConvConfig};
pub use inverted_bottleneck::{InvertedBottleneck, InvertedBottleneckConfig};
pub use params::{learnable_params, materialize};
pub use plain_conv::{PlainConv, PlainConvConfig};
pub use squeeze_excite::{SqueezeExcite, SqueezeExciteConfig};
