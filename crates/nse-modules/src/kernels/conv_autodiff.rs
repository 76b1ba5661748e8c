//! The autodiff wiring the convolution kernels share: a convolution whose backend computes
//! the forward pass and both gradients ([`ConvKernel`]) becomes one autodiff operation that
//! checkpoints its input and weight and calls the kernel's gradients in the backward pass
//! (the pattern of burn-autodiff's own `conv2d`).

use std::marker::PhantomData;

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::ConvOptions;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend};

/// A convolution on backend `B`: forward pass, input gradient and weight gradient.
pub(crate) trait ConvKernel<B: Backend>: core::fmt::Debug + Send + 'static {
    /// `y = conv(x, weight)`.
    fn forward(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        options: ConvOptions<2>,
    ) -> FloatTensor<B>;

    /// Gradient of the input from the output gradient.
    fn x_backward(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        output_grad: FloatTensor<B>,
        options: ConvOptions<2>,
    ) -> FloatTensor<B>;

    /// Gradient of the weight from the output gradient.
    fn weight_backward(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        output_grad: FloatTensor<B>,
        options: ConvOptions<2>,
    ) -> FloatTensor<B>;

    /// Both gradients, `(input, weight)`; kernels that can share work between them override
    /// this.
    fn backward(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        output_grad: FloatTensor<B>,
        options: ConvOptions<2>,
    ) -> (FloatTensor<B>, FloatTensor<B>) {
        let gx = Self::x_backward(
            x.clone(),
            weight.clone(),
            output_grad.clone(),
            options.clone(),
        );
        (gx, Self::weight_backward(x, weight, output_grad, options))
    }
}

/// The backward step of kernel `K`.
#[derive(Debug)]
struct ConvBackward<K>(PhantomData<K>);

impl<B: Backend, K: ConvKernel<B>> Backward<B, 2> for ConvBackward<K> {
    type State = (NodeId, NodeId, ConvOptions<2>);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, weight_state, options) = ops.state;
        let x: FloatTensor<B> = checkpointer.retrieve_node_output(x_state);
        let weight: FloatTensor<B> = checkpointer.retrieve_node_output(weight_state);
        match (node_x, node_weight) {
            (Some(nx), Some(nw)) => {
                let (gx, gw) = K::backward(x, weight, grad, options);
                grads.register::<B>(nx.id, gx);
                grads.register::<B>(nw.id, gw);
            }
            (Some(nx), None) => {
                grads.register::<B>(nx.id, K::x_backward(x, weight, grad, options));
            }
            (None, Some(nw)) => {
                grads.register::<B>(nw.id, K::weight_backward(x, weight, grad, options));
            }
            (None, None) => {}
        }
    }
}

/// Kernel `K`'s forward pass on an autodiff backend, recorded with `K`'s gradients as its
/// backward pass.
pub(crate) fn tracked_conv<B: Backend, C: CheckpointStrategy, K: ConvKernel<B>>(
    x: FloatTensor<Autodiff<B, C>>,
    weight: FloatTensor<Autodiff<B, C>>,
    options: ConvOptions<2>,
) -> FloatTensor<Autodiff<B, C>> {
    match ConvBackward::<K>(PhantomData)
        .prepare::<C>([x.node(), weight.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let x_state = prep.checkpoint(&x);
            let weight_state = prep.checkpoint(&weight);
            let y = K::forward(x.into_primitive(), weight.into_primitive(), options.clone());
            prep.finish((x_state, weight_state, options), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(K::forward(
            x.into_primitive(),
            weight.into_primitive(),
            options,
        )),
    }
}
