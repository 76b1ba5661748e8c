//! Applying an [`Activation`] to a tensor.

use burn::tensor::Tensor;
use burn::tensor::activation::{relu, silu};

use crate::spec::Activation;

impl Activation {
    /// Applies the activation element-wise. Shape: any, unchanged.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => relu(x),
            Activation::Swish => silu(x),
        }
    }
}
