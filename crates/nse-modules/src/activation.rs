//! Applying an [`Activation`] to a tensor.

use burn::tensor::Tensor;
use burn::tensor::activation::{relu, silu};

use nse_ops::spec::Activation;

/// An [`Activation`] applied to tensors (the spec is data in `nse-ops`; this is its forward).
pub trait Activate {
    /// Applies the activation element-wise. Shape: any, unchanged.
    fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D>;
}

impl Activate for Activation {
    fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => relu(x),
            Activation::Swish => silu(x),
        }
    }
}
