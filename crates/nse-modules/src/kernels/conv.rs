//! Dense (`groups = 1`) 2-D convolution on the CPU as one GEMM over the whole batch.
//!
//! Burn 0.22.1's CPU backend runs a convolution as one GEMM per image (and per tile of 512
//! output pixels), and its input gradient as a transposed convolution with one GEMM per image.
//! On the small feature maps of a supernet (1x1 to 16x16 pixels at CIFAR size) those GEMMs are
//! matrix-vector products and most of a supernet step (see `docs/performance.md`). Here the
//! forward pass and both gradients are single GEMMs over the batch: `im2col` lays the input
//! out as `[cin·kh·kw, batch·oh·ow]`, and `col2im` scatters the input gradient back. On other
//! devices [`conv2d`] is Burn's own `conv2d`.

use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::ops::{ConvOptions, FloatTensorOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, TensorMetadata, backend_extension};
use burn::tensor::{Shape, Tensor};
use rayon::prelude::*;

use crate::kernels::conv_autodiff::{ConvKernel, tracked_conv};
use crate::kernels::geometry::{
    Geometry, PlaneOrder, Planes, Tap, contiguous, copy_strided, f32s, from_planes, min_chunks,
    output_size, scatter_axpy_strided, to_flex,
};
use crate::kernels::{gemm, kernels_apply};

/// Dense convolution (`groups = 1`, no bias) with its two gradients.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait DenseConvBackend: Backend {
    /// `y = conv2d(x, weight)`; `weight` is `[cout, cin, kh, kw]`.
    fn dense_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    /// Gradient of the input from the output gradient.
    fn dense_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    /// Gradient of the weight from the output gradient.
    fn dense_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    /// Both gradients, `(input, weight)`, sharing the work on the output gradient.
    fn dense_conv2d_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
}

/// Output planes above this many pixels run the forward pass through Burn's own convolution,
/// which is as fast there (measured on the CIFAR-size presets, `docs/performance.md`); the
/// gradients always use the batched GEMMs below.
const LARGE_PLANE: usize = 256;

/// The taps that read at least one input pixel. On maps smaller than the kernel (a 1x5 conv
/// on a 1x1 map) the others read only padding: their im2col rows are zero and are left out of
/// the GEMMs, which is exact.
fn active_taps(geo: &Geometry) -> Vec<(usize, Tap)> {
    geo.all_taps()
        .into_iter()
        .enumerate()
        .filter(|(_, tap)| !tap.is_empty())
        .collect()
}

/// `[cin·A, batch·oh·ow]` for the `A` active taps: row `(ci, a)` holds, for every image and
/// output pixel, the input pixel that tap `a` of channel `ci` reads (0 in the padding). For a
/// pointwise convolution this is the input's channel matrix itself (no copy when the input is
/// channel-major, as this module's outputs are).
fn im2col(x: &Planes, geo: &Geometry, active: &[(usize, Tap)]) -> FloatTensor<Flex> {
    let (plane_out, taps) = (geo.plane_out(), active.len());
    let n = geo.batch * plane_out;
    if geo.is_pointwise() {
        return x.channel_matrix();
    }
    let sw = geo.stride[1];
    let x = x.view();
    let mut col = vec![0.0f32; geo.channels * taps * n];
    col.par_chunks_mut(n)
        .with_min_len(min_chunks(n))
        .enumerate()
        .for_each(|(r, row)| {
            let (ci, tap) = (r / taps, &active[r % taps].1);
            for b in 0..geo.batch {
                let plane = x.plane(b, ci);
                let dst = &mut row[b * plane_out..(b + 1) * plane_out];
                geo.rows(tap, |o, start| {
                    copy_strided(&mut dst[o], &plane[start..], sw)
                });
            }
        });
    to_flex(col, [geo.channels * taps, n])
}

/// The `[cout, cin·A]` weight matrix of the active taps.
fn active_weight(
    w: &FloatTensor<Flex>,
    w_dims: [usize; 4],
    active: &[(usize, Tap)],
) -> FloatTensor<Flex> {
    let [cout, cin, kh, kw] = w_dims;
    let taps = kh * kw;
    if active.len() == taps {
        return w.reshape(Shape::new([cout, cin * taps]));
    }
    let wv = f32s(w);
    let a = active.len();
    let mut out = vec![0.0f32; cout * cin * a];
    out.par_chunks_mut(cin * a)
        .zip(wv.par_chunks(cin * taps))
        .with_min_len(min_chunks(cin * a))
        .for_each(|(dst, src)| {
            for (dst, row) in dst.chunks_mut(a).zip(src.chunks(taps)) {
                for (d, (t, _)) in dst.iter_mut().zip(active) {
                    *d = row[*t];
                }
            }
        });
    to_flex(out, [cout, cin * a])
}

/// The `[cout, batch·oh·ow]` result of a GEMM as the `[batch, cout, oh, ow]` tensor it is, in
/// channel-major order (a view).
fn from_channel_matrix(
    y: FloatTensor<Flex>,
    [batch, cout, oh, ow]: [usize; 4],
) -> FloatTensor<Flex> {
    y.reshape(Shape::new([cout, batch, oh, ow]))
        .permute(&[1, 0, 2, 3])
}

impl DenseConvBackend for Flex {
    fn dense_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let x_dims: [usize; 4] = x.shape().dims();
        let (w, w_dims) = contiguous(&weight);
        let [oh, ow] = output_size(x_dims, w_dims, &options);
        if oh * ow > LARGE_PLANE {
            // Burn's per-image GEMMs are efficient on large maps (and need no batch-wide im2col).
            return Self::conv2d(x, w, None, options);
        }
        let geo = Geometry::new(x_dims, w_dims, [x_dims[0], w_dims[0], oh, ow], &options);
        let active = active_taps(&geo);
        let col = im2col(&Planes::new(&x), &geo, &active);
        let y = gemm::matmul(&active_weight(&w, w_dims, &active), &col);
        from_channel_matrix(y, [geo.batch, w_dims[0], oh, ow])
    }

    fn dense_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let geo = backward_geometry(&x, &weight, &output_grad, &options);
        x_grad(&weight, &Planes::new(&output_grad).channel_matrix(), &geo)
    }

    fn dense_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let geo = backward_geometry(&x, &weight, &output_grad, &options);
        weight_grad(
            &x,
            weight.shape().dims(),
            &Planes::new(&output_grad).channel_matrix(),
            &geo,
        )
    }

    fn dense_conv2d_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let geo = backward_geometry(&x, &weight, &output_grad, &options);
        let g = Planes::new(&output_grad).channel_matrix();
        (
            x_grad(&weight, &g, &geo),
            weight_grad(&x, weight.shape().dims(), &g, &geo),
        )
    }
}

/// The geometry of a convolution from its input, weight and output gradient.
fn backward_geometry(
    x: &FloatTensor<Flex>,
    weight: &FloatTensor<Flex>,
    output_grad: &FloatTensor<Flex>,
    options: &ConvOptions<2>,
) -> Geometry {
    Geometry::new(
        x.shape().dims(),
        weight.shape().dims(),
        output_grad.shape().dims(),
        options,
    )
}

/// Input gradient `[batch, cin, h, w]` from the channel-major output gradient `g`
/// (`[cout, batch·oh·ow]`): one GEMM to `[cin·A, batch·oh·ow]`, then `col2im`.
fn x_grad(weight: &FloatTensor<Flex>, g: &FloatTensor<Flex>, geo: &Geometry) -> FloatTensor<Flex> {
    let (w, w_dims) = contiguous(weight);
    let (plane_in, plane_out) = (geo.plane_in(), geo.plane_out());
    let active = active_taps(geo);
    let taps = active.len();
    let n = geo.batch * plane_out;
    // A transposed view: the GEMM reads it through its strides.
    let w2 = active_weight(&w, w_dims, &active).transpose(0, 1);
    let colg = gemm::matmul(&w2, g);
    if geo.is_pointwise() {
        // The columns are the input pixels themselves.
        return from_channel_matrix(colg, [geo.batch, geo.channels, geo.h, geo.w]);
    }
    let colg = colg.to_contiguous();
    let colg = f32s(&colg);
    let sw = geo.stride[1];
    // col2im into [cin, batch, h, w], one channel per task.
    let mut xg = vec![0.0f32; geo.channels * geo.batch * plane_in];
    xg.par_chunks_mut(geo.batch * plane_in)
        .with_min_len(min_chunks(geo.batch * plane_in * taps))
        .enumerate()
        .for_each(|(ci, dst)| {
            for (a, (_, tap)) in active.iter().enumerate() {
                let row = &colg[(ci * taps + a) * n..][..n];
                for b in 0..geo.batch {
                    let plane = &mut dst[b * plane_in..(b + 1) * plane_in];
                    let src = &row[b * plane_out..(b + 1) * plane_out];
                    geo.rows(tap, |o, start| {
                        scatter_axpy_strided(&mut plane[start..], 1.0, &src[o], sw)
                    });
                }
            }
        });
    from_planes(
        xg,
        &[geo.batch, geo.channels, geo.h, geo.w],
        PlaneOrder::ChannelMajor,
    )
}

/// Weight gradient `[cout, cin, kh, kw]` from the channel-major output gradient `g`: one GEMM
/// against the transposed `im2col` of the input.
fn weight_grad(
    x: &FloatTensor<Flex>,
    w_dims: [usize; 4],
    g: &FloatTensor<Flex>,
    geo: &Geometry,
) -> FloatTensor<Flex> {
    let active = active_taps(geo);
    let col = im2col(&Planes::new(x), geo, &active).transpose(0, 1);
    let grad = long_matmul(g, &col);
    let taps = geo.taps();
    if active.len() == taps {
        return grad.reshape(Shape::new(w_dims));
    }
    // Inactive taps only ever multiply padding: their gradient is 0.
    let grad = grad.to_contiguous();
    let gv = f32s(&grad);
    let mut out = vec![0.0f32; w_dims.iter().product()];
    for (dst, src) in out.chunks_mut(taps).zip(gv.chunks(active.len())) {
        for ((t, _), v) in active.iter().zip(src) {
            dst[*t] = *v;
        }
    }
    to_flex(out, w_dims)
}

/// Columns of the inner dimension per GEMM in [`long_matmul`].
const INNER_CHUNK: usize = 2048;

/// `a · b` for a GEMM whose inner dimension (the batch's pixels) is long and whose result (a
/// weight gradient) is small: the GEMM library parallelises over the result's blocks, of which
/// such a product has one or two, so the inner dimension is split into chunks of
/// [`INNER_CHUNK`] computed in parallel and summed in chunk order. The chunks depend on the
/// shape alone, so the result does not depend on the number of threads.
fn long_matmul(a: &FloatTensor<Flex>, b: &FloatTensor<Flex>) -> FloatTensor<Flex> {
    let k = a.shape()[1];
    let chunks = k.div_ceil(INNER_CHUNK);
    if chunks < 2 {
        return gemm::matmul(a, b);
    }
    let partials: Vec<FloatTensor<Flex>> = (0..chunks)
        .into_par_iter()
        .map(|i| {
            let (start, len) = (i * INNER_CHUNK, INNER_CHUNK.min(k - i * INNER_CHUNK));
            gemm::matmul(&a.narrow(1, start, len), &b.narrow(0, start, len))
        })
        .collect();
    partials
        .into_iter()
        .reduce(Flex::float_add)
        .expect("at least two chunks")
}

/// Kernel marker for [`tracked_conv`]: this module's backend methods.
#[derive(Debug)]
struct DenseKernel;

impl<B: Backend + DenseConvBackend> ConvKernel<B> for DenseKernel {
    fn forward(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        options: ConvOptions<2>,
    ) -> FloatTensor<B> {
        B::dense_conv2d(x, weight, options)
    }

    fn x_backward(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        output_grad: FloatTensor<B>,
        options: ConvOptions<2>,
    ) -> FloatTensor<B> {
        B::dense_conv2d_x_backward(x, weight, output_grad, options)
    }

    fn weight_backward(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        output_grad: FloatTensor<B>,
        options: ConvOptions<2>,
    ) -> FloatTensor<B> {
        B::dense_conv2d_weight_backward(x, weight, output_grad, options)
    }

    fn backward(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        output_grad: FloatTensor<B>,
        options: ConvOptions<2>,
    ) -> (FloatTensor<B>, FloatTensor<B>) {
        B::dense_conv2d_backward(x, weight, output_grad, options)
    }
}

impl<B: Backend + DenseConvBackend, C: CheckpointStrategy> DenseConvBackend for Autodiff<B, C> {
    fn dense_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        tracked_conv::<B, C, DenseKernel>(x, weight, options)
    }

    fn dense_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        // Differentiable composition of Burn's own ops (second-order use only).
        Self::conv2d_x_backward(x, weight, output_grad, options)
    }

    fn dense_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_weight_backward(x, weight, output_grad, options)
    }

    fn dense_conv2d_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let gx = Self::conv2d_x_backward(
            x.clone(),
            weight.clone(),
            output_grad.clone(),
            options.clone(),
        );
        (
            gx,
            Self::conv2d_weight_backward(x, weight, output_grad, options),
        )
    }
}

/// Dense convolution, `groups = 1`, no bias: `weight` is `[cout, cin, kh, kw]`. On the CPU
/// this is the batched-GEMM kernel of this module; on other devices Burn's `conv2d`.
pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, options: ConvOptions<2>) -> Tensor<4> {
    debug_assert_eq!(options.groups, 1);
    if kernels_apply(&x) && kernels_apply(&weight) {
        Tensor::from_dispatch(<burn::backend::Dispatch as DenseConvBackend>::dense_conv2d(
            x.into_dispatch(),
            weight.into_dispatch(),
            options,
        ))
    } else {
        burn::tensor::module::conv2d(x, weight, None, options)
    }
}
