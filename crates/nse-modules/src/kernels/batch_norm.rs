//! Train-mode batch normalisation on the CPU in two passes over the data, forward and backward.
//!
//! Burn 0.22.1 differentiates train-mode batch norm as one autodiff operation, but its CPU
//! backend computes both directions out of generic tensor ops: a channels-first copy of the input
//! for each reduction, then a dozen broadcast element-wise ops, each a pass over the activation
//! with a fresh allocation. After every convolution of an inverted bottleneck that was about a
//! fifth of a supernet weight step (`docs/performance.md`). Here each direction is one reduction
//! pass per channel (the shifted sums of `x` and `x²`, or of `dy` and `dy·(x − mean)`) and one
//! element-wise pass. On other devices [`batch_norm_train`] is Burn's own.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, TensorMetadata, backend_extension};
use burn::tensor::Tensor;
use rayon::prelude::*;

use crate::kernels::geometry::{PlaneOrder, Planes, f32s, from_planes, min_chunks, to_flex};
use crate::kernels::kernels_apply;

/// Train-mode batch norm (statistics of the batch itself) with its backward pass.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait BatchNormBackend: Backend {
    /// `(y, mean, variance)`: `y = (x − mean) / sqrt(variance + ε) · γ + β`, with the mean and
    /// the biased variance of each channel over the batch and the spatial positions. `x` is
    /// `[batch, channels, ...]`, `gamma`, `beta` and the statistics are `[channels]`.
    fn fused_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// `(dx, dγ, dβ)` from the output gradient and the statistics the forward pass returned.
    fn fused_batch_norm_train_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        output_grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// Values summed in `f32` lanes before a partial sum is carried into `f64`: short enough that
/// the `f32` rounding stays near the type's epsilon, long enough to run at `f32` vector speed.
const F32_BLOCK: usize = 1024;

/// `Σ (a − ka)` and `Σ (a − ka)·(b − kb)` of one run of values (a plane, or all of a
/// channel's planes when they are contiguous): blocks of [`F32_BLOCK`] values in
/// eight `f32` lanes (vectorised), the blocks added in `f64`. The shifts make the sums
/// well-conditioned: with `ka = kb` near the channel's mean, `Σ (x − k)²` does not cancel the
/// way `Σ x² − (Σ x)²/M` does when the mean is large against the spread.
#[inline]
fn plane_sums(a: &[f32], b: &[f32], ka: f32, kb: f32) -> (f64, f64) {
    const LANES: usize = 8;
    let (mut sum, mut sum_prod) = (0.0f64, 0.0f64);
    for (a, b) in a.chunks(F32_BLOCK).zip(b.chunks(F32_BLOCK)) {
        let (mut s, mut sp) = ([0.0f32; LANES], [0.0f32; LANES]);
        let (a8, b8) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        let (ar, br) = (a8.remainder(), b8.remainder());
        for (ca, cb) in a8.zip(b8) {
            for l in 0..LANES {
                let da = ca[l] - ka;
                s[l] += da;
                sp[l] += da * (cb[l] - kb);
            }
        }
        sum += s.iter().map(|&v| v as f64).sum::<f64>();
        sum_prod += sp.iter().map(|&v| v as f64).sum::<f64>();
        for (&va, &vb) in ar.iter().zip(br) {
            let da = (va - ka) as f64;
            sum += da;
            sum_prod += da * (vb - kb) as f64;
        }
    }
    (sum, sum_prod)
}

/// Per channel, `(Σ (a − ka), Σ (a − ka)·(b − kb))` over the batch and the planes of `a` and
/// `b` (in the same plane order), with the channel's shifts `(ka, kb)` from `shifts`. Each
/// channel is summed by one task in a fixed order: the result does not depend on the number
/// of threads.
fn channel_sums(
    a: &Planes,
    b: &Planes,
    shifts: impl Fn(usize) -> (f32, f32) + Sync,
) -> Vec<(f64, f64)> {
    let (n, c, channel_len) = (a.n, a.c, a.n * a.p);
    let (a, b) = (a.view(), b.view());
    (0..c)
        .into_par_iter()
        .with_min_len(min_chunks(channel_len))
        .map(|ch| {
            let (ka, kb) = shifts(ch);
            if let (Some(a), Some(b)) = (a.channel(ch), b.channel(ch)) {
                // Channel-major: the channel's planes are one run (small planes summed at
                // full vector width).
                return plane_sums(a, b, ka, kb);
            }
            (0..n).fold((0.0, 0.0), |(s, sp), b_i| {
                let (ds, dsp) = plane_sums(a.plane(b_i, ch), b.plane(b_i, ch), ka, kb);
                (s + ds, sp + dsp)
            })
        })
        .collect()
}

/// `out[i] = f(channel, i-th element of a, of b)`, in the plane order of `a` and `b`: in runs
/// of one channel (all its planes, when channel-major; one plane otherwise), in parallel.
fn per_channel_map(a: &Planes, b: &Planes, f: impl Fn(usize, f32, f32) -> f32 + Sync) -> Vec<f32> {
    debug_assert_eq!(a.order, b.order);
    let (n, c, p) = (a.n, a.c, a.p);
    let (av, bv) = (a.values(), b.values());
    let mut out = vec![0.0f32; n * c * p];
    let run = match a.order {
        PlaneOrder::ImageMajor => p,
        PlaneOrder::ChannelMajor => n * p,
    }
    .max(1);
    out.par_chunks_mut(run)
        .with_min_len(min_chunks(run))
        .enumerate()
        .for_each(|(i, dst)| {
            let ch = match a.order {
                PlaneOrder::ImageMajor => i % c,
                PlaneOrder::ChannelMajor => i,
            };
            let at = i * run;
            for ((d, &va), &vb) in dst.iter_mut().zip(&av[at..at + run]).zip(&bv[at..at + run]) {
                *d = f(ch, va, vb);
            }
        });
    out
}

impl BatchNormBackend for Flex {
    fn fused_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let shape = x.shape();
        let x = Planes::new(&x);
        let (c, count) = (x.c, (x.n * x.p) as f64);
        let (gamma, beta) = (gamma.to_contiguous(), beta.to_contiguous());
        // Shifted by the channel's first value: a sample of the channel, so near its mean.
        let first = x.view();
        let shift = |ch: usize| first.plane(0, ch).first().copied().unwrap_or(0.0);
        let sums = channel_sums(&x, &x, |ch| (shift(ch), shift(ch)));
        let stats: Vec<(f64, f64)> = sums
            .iter()
            .enumerate()
            .map(|(ch, &(s, sq))| {
                let d = s / count;
                (shift(ch) as f64 + d, (sq / count - d * d).max(0.0))
            })
            .collect();
        // y = (x − mean) · scale + β, per channel (centred first: no cancellation when the
        // mean is large against the spread).
        let (g, bt) = (f32s(&gamma), f32s(&beta));
        let affine: Vec<(f32, f32, f32)> = stats
            .iter()
            .zip(g.iter().zip(bt))
            .map(|(&(mean, var), (&g, &b))| {
                let scale = g as f64 / (var + epsilon).sqrt();
                (mean as f32, scale as f32, b)
            })
            .collect();
        let y = per_channel_map(&x, &x, |ch, v, _| {
            let (mean, scale, shift) = affine[ch];
            (v - mean) * scale + shift
        });
        let mean = stats.iter().map(|s| s.0 as f32).collect();
        let variance = stats.iter().map(|s| s.1 as f32).collect();
        (
            from_planes(y, &shape, x.order),
            to_flex(mean, [c]),
            to_flex(variance, [c]),
        )
    }

    fn fused_batch_norm_train_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        output_grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let shape = x.shape();
        let x = Planes::new(&x);
        let dy = Planes::in_order(&output_grad, x.order);
        let (c, count) = (x.c, (x.n * x.p) as f64);
        let (gamma, mean, variance) = (
            gamma.to_contiguous(),
            mean.to_contiguous(),
            variance.to_contiguous(),
        );
        let (g, m, v) = (f32s(&gamma), f32s(&mean), f32s(&variance));
        // Σ dy and Σ dy·(x − mean) per channel; Σ dy·x̂ = Σ dy·(x − mean) / σ.
        let sums = channel_sums(&dy, &x, |ch| (0.0, m[ch]));
        let mut beta_grad = Vec::with_capacity(c);
        let mut gamma_grad = Vec::with_capacity(c);
        // dx = γ/σ · (dy − Σdy/M − x̂·Σ(dy·x̂)/M) = a·dy + b·(x − mean) + k per channel.
        let coefficients: Vec<(f32, f32, f32, f32)> = (0..c)
            .map(|ch| {
                let (sum_dy, sum_dy_centred) = sums[ch];
                let inv_std = 1.0 / (v[ch] as f64 + epsilon).sqrt();
                let sum_dy_xhat = sum_dy_centred * inv_std;
                beta_grad.push(sum_dy as f32);
                gamma_grad.push(sum_dy_xhat as f32);
                let a = g[ch] as f64 * inv_std;
                let b = -a * sum_dy_xhat / count * inv_std;
                let k = -a * sum_dy / count;
                (a as f32, b as f32, m[ch], k as f32)
            })
            .collect();
        let dx = per_channel_map(&dy, &x, |ch, dy, x| {
            let (a, b, mean, k) = coefficients[ch];
            a * dy + b * (x - mean) + k
        });
        (
            from_planes(dx, &shape, x.order),
            to_flex(gamma_grad, [c]),
            to_flex(beta_grad, [c]),
        )
    }
}

#[derive(Debug)]
struct FusedBatchNormBackward;

impl<B: Backend + BatchNormBackend> Backward<B, 3> for FusedBatchNormBackward {
    // The input and γ are checkpointed; the batch statistics come along as computed.
    type State = (NodeId, NodeId, FloatTensor<B>, FloatTensor<B>, f64);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, gamma_state, mean, variance, epsilon) = ops.state;
        let x: FloatTensor<B> = checkpointer.retrieve_node_output(x_state);
        let gamma: FloatTensor<B> = checkpointer.retrieve_node_output(gamma_state);
        let (dx, dgamma, dbeta) =
            B::fused_batch_norm_train_backward(x, gamma, mean, variance, epsilon, grad);
        if let Some(node) = node_x {
            grads.register::<B>(node.id, dx);
        }
        if let Some(node) = node_gamma {
            grads.register::<B>(node.id, dgamma);
        }
        if let Some(node) = node_beta {
            grads.register::<B>(node.id, dbeta);
        }
    }
}

impl<B: Backend + BatchNormBackend, C: CheckpointStrategy> BatchNormBackend for Autodiff<B, C> {
    fn fused_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        match FusedBatchNormBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let gamma_state = prep.checkpoint(&gamma);
                let (y, mean, variance) = B::fused_batch_norm_train(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                let state = (
                    x_state,
                    gamma_state,
                    mean.clone(),
                    variance.clone(),
                    epsilon,
                );
                (
                    prep.finish(state, y),
                    FloatTensor::<Self>::new(mean),
                    FloatTensor::<Self>::new(variance),
                )
            }
            OpsKind::UnTracked(prep) => {
                let (y, mean, variance) = B::fused_batch_norm_train(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                (
                    prep.finish(y),
                    FloatTensor::<Self>::new(mean),
                    FloatTensor::<Self>::new(variance),
                )
            }
        }
    }

    fn fused_batch_norm_train_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        output_grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        // Burn's, which refuses second-order use just the same.
        let grads = Self::batch_norm_train_backward(x, gamma, mean, variance, epsilon, output_grad);
        (grads.x_grad, grads.gamma_grad, grads.beta_grad)
    }
}

/// The output of [`batch_norm_train`].
#[derive(Debug, Clone)]
pub struct BatchNormTrainOutput<const D: usize> {
    /// The normalised, scaled and shifted input.
    pub output: Tensor<D>,
    /// The mean of each channel over the batch (detached).
    pub mean: Tensor<1>,
    /// The biased variance of each channel over the batch (detached).
    pub variance: Tensor<1>,
}

/// Train-mode batch norm of `x` (`[batch, channels, ...]`) with the statistics of the batch
/// itself, differentiable in `x`, `gamma` and `beta`. On the CPU this is the two-pass kernel of
/// this module; on other devices Burn's `batch_norm_train`.
pub fn batch_norm_train<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
) -> BatchNormTrainOutput<D> {
    if kernels_apply(&x) && kernels_apply(&gamma) {
        let (output, mean, variance) =
            <burn::backend::Dispatch as BatchNormBackend>::fused_batch_norm_train(
                x.into_dispatch(),
                gamma.into_dispatch(),
                beta.into_dispatch(),
                epsilon,
            );
        BatchNormTrainOutput {
            output: Tensor::from_dispatch(output),
            mean: Tensor::from_dispatch(mean),
            variance: Tensor::from_dispatch(variance),
        }
    } else {
        let result = burn::tensor::module::batch_norm_train(x, gamma, beta, epsilon);
        BatchNormTrainOutput {
            output: result.output,
            mean: result.mean,
            variance: result.variance,
        }
    }
}
