//! Depthwise 2-D convolution with CPU backward kernels.
//!
//! Burn 0.22.1 computes a grouped convolution's weight gradient with one convolution per
//! group (`conv2d_weight_grad_groups`), and its input gradient with a transposed convolution
//! that runs one small GEMM per (image, group). For the depthwise convs of inverted
//! bottlenecks (hundreds to thousands of groups) that is most of a supernet step on the CPU
//! (see `docs/performance.md`). This module adds a backend extension whose `Flex` (CPU)
//! implementation computes both gradients with direct loops over each channel plane,
//! parallel over channels, and whose autodiff implementation wires them in as the backward
//! pass. On other devices [`depthwise_conv2d`] is Burn's own `conv2d`.

use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::ops::{ConvOptions, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, TensorMetadata, backend_extension};
use burn::tensor::{Shape, Tensor};
use rayon::prelude::*;
use std::ops::Range;

use crate::kernels::conv_autodiff::{ConvKernel, tracked_conv};
use crate::kernels::geometry::{
    Geometry, PlaneOrder, PlaneView, Planes, contiguous, dot_strided, f32s, from_planes,
    gather_axpy_strided, min_chunks, output_size, scatter_axpy_strided, to_flex, transpose,
};
use crate::kernels::kernels_apply;

/// Depthwise convolution (`groups == in == out channels`, no bias) with its two gradients.
#[backend_extension(Flex, Autodiff)]
pub(crate) trait DepthwiseConvBackend: Backend {
    /// `y = conv2d(x, weight)` with `groups = channels`; `weight` is `[c, 1, kh, kw]`.
    fn depthwise_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    /// Gradient of the input, `[n, c, h, w]`, from the output gradient.
    fn depthwise_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    /// Gradient of the weight, `[c, 1, kh, kw]`, from the output gradient.
    fn depthwise_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;
}

/// Output planes of at most this many pixels use the channels-last kernels below (forward and
/// both gradients): on the small late-stage maps of a supernet, a plane holds too few pixels
/// to vectorise over, while the channels (hundreds to thousands) vectorise well.
const SMALL_PLANE: usize = 64;

/// Channels-last (`[n, h, w, c]`) depthwise kernels for small planes.
mod channels_last {
    use super::*;

    /// The values of an `[n, c, h, w]` tensor in `[n, h, w, c]` order (one parallel
    /// transpose from either plane order).
    pub fn to_nhwc(t: &FloatTensor<Flex>) -> Vec<f32> {
        let planes = Planes::new(t);
        match planes.order {
            PlaneOrder::ChannelMajor => {
                transpose(planes.values(), 1, planes.c, planes.n * planes.p)
            }
            PlaneOrder::ImageMajor => transpose(planes.values(), planes.n, planes.c, planes.p),
        }
    }

    /// `[n, h, w, c]` values to an `[n, c, h, w]` tensor in channel-major order.
    pub fn from_nhwc(values: Vec<f32>, [n, h, w, c]: [usize; 4]) -> FloatTensor<Flex> {
        let values = transpose(&values, 1, n * h * w, c);
        from_planes(values, &[n, c, h, w], PlaneOrder::ChannelMajor)
    }

    /// A `[c, 1, kh, kw]` weight as `[kh·kw, c]`.
    pub fn taps_by_channel(w: &FloatTensor<Flex>) -> FloatTensor<Flex> {
        let [c, _, kh, kw]: [usize; 4] = w.shape().dims();
        w.reshape(Shape::new([c, kh * kw]))
            .transpose(0, 1)
            .to_contiguous()
    }

    /// Every (output pixel, tap, input pixel) of one image that reads inside the image.
    pub fn pairs(geo: &Geometry) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        for oh in 0..geo.oh {
            for ow in 0..geo.ow {
                for i in 0..geo.kh {
                    for j in 0..geo.kw {
                        let ih = (oh * geo.stride[0] + i * geo.dilation[0]) as isize
                            - geo.padding[0] as isize;
                        let iw = (ow * geo.stride[1] + j * geo.dilation[1]) as isize
                            - geo.padding[1] as isize;
                        if (0..geo.h as isize).contains(&ih) && (0..geo.w as isize).contains(&iw) {
                            out.push((
                                oh * geo.ow + ow,
                                i * geo.kw + j,
                                ih as usize * geo.w + iw as usize,
                            ));
                        }
                    }
                }
            }
        }
        out
    }

    /// Input gradient, `[n, c, h, w]`: for every (output pixel, tap, input pixel) of an
    /// image, `dx[i, :] += w[tap, :] · dy[o, :]` over the channels; parallel over images.
    pub fn x_backward(
        x_dims: [usize; 4],
        weight: &FloatTensor<Flex>,
        output_grad: &FloatTensor<Flex>,
        options: &ConvOptions<2>,
    ) -> FloatTensor<Flex> {
        let w_dims: [usize; 4] = weight.shape().dims();
        let g_dims: [usize; 4] = output_grad.shape().dims();
        let geo = Geometry::new(x_dims, w_dims, g_dims, options);
        let c = geo.channels;
        let (gt, wt) = (to_nhwc(output_grad), taps_by_channel(weight));
        let (gv, wv) = (&gt[..], f32s(&wt));
        let pairs = pairs(&geo);
        let (plane_in, plane_out) = (geo.plane_in(), geo.plane_out());
        let mut out = vec![0.0f32; geo.batch * plane_in * c];
        out.par_chunks_mut(plane_in * c)
            .with_min_len(min_chunks(c * pairs.len()))
            .enumerate()
            .for_each(|(b, dst)| {
                let gb = &gv[b * plane_out * c..][..plane_out * c];
                for &(o, t, i) in &pairs {
                    fma(&mut dst[i * c..][..c], &wv[t * c..][..c], &gb[o * c..][..c]);
                }
            });
        from_nhwc(out, [geo.batch, geo.h, geo.w, c])
    }

    /// Weight gradient, `[c, 1, kh, kw]`: `dw[tap, :] += dy[o, :] · x[i, :]` over every image
    /// and (output pixel, tap, input pixel). Parallel over blocks of channels, each summed in
    /// one fixed order, so the result does not depend on the number of threads.
    pub fn weight_backward(
        x: &FloatTensor<Flex>,
        w_dims: [usize; 4],
        output_grad: &FloatTensor<Flex>,
        options: &ConvOptions<2>,
    ) -> FloatTensor<Flex> {
        const BLOCK: usize = 64;
        let x_dims: [usize; 4] = x.shape().dims();
        let g_dims: [usize; 4] = output_grad.shape().dims();
        let geo = Geometry::new(x_dims, w_dims, g_dims, options);
        let (c, taps) = (geo.channels, geo.taps());
        let (xt, gt) = (to_nhwc(x), to_nhwc(output_grad));
        let (xv, gv) = (&xt[..], &gt[..]);
        let pairs = pairs(&geo);
        let (plane_in, plane_out) = (geo.plane_in(), geo.plane_out());
        let blocks: Vec<Vec<f32>> = (0..c.div_ceil(BLOCK))
            .into_par_iter()
            .map(|blk| {
                let (c0, width) = (blk * BLOCK, BLOCK.min(c - blk * BLOCK));
                let mut acc = vec![0.0f32; taps * width];
                for b in 0..geo.batch {
                    let xb = &xv[b * plane_in * c..][..plane_in * c];
                    let gb = &gv[b * plane_out * c..][..plane_out * c];
                    for &(o, t, i) in &pairs {
                        fma(
                            &mut acc[t * width..][..width],
                            &gb[o * c + c0..][..width],
                            &xb[i * c + c0..][..width],
                        );
                    }
                }
                acc
            })
            .collect();
        // [taps, c] in channel blocks to [c, 1, kh, kw].
        let mut out = vec![0.0f32; c * taps];
        for (blk, acc) in blocks.iter().enumerate() {
            let (c0, width) = (blk * BLOCK, BLOCK.min(c - blk * BLOCK));
            for t in 0..taps {
                for (dc, &v) in acc[t * width..][..width].iter().enumerate() {
                    out[(c0 + dc) * taps + t] = v;
                }
            }
        }
        to_flex(out, w_dims)
    }

    /// `dst += a * b`, elementwise.
    #[inline]
    pub fn fma(dst: &mut [f32], a: &[f32], b: &[f32]) {
        for ((d, a), b) in dst.iter_mut().zip(a).zip(b) {
            *d += a * b;
        }
    }
}

/// The plane-by-plane loop of the forward pass and the input gradient, for planes larger than
/// [`SMALL_PLANE`]: for every output plane (channel `c`, image `b`, in channel-major order, of
/// `plane_len` values), `row(out_plane, src_plane, w, o, start)` runs for each tap `w` of channel
/// `c` and each of the tap's valid output rows (`o`: the row's output pixels, `start`: its first
/// input pixel; see [`Geometry::rows`]). Returns the output planes' values, channel-major.
fn channel_planes(
    src: PlaneView<'_>,
    weight: &FloatTensor<Flex>,
    geo: &Geometry,
    plane_len: usize,
    row: impl Fn(&mut [f32], &[f32], f32, Range<usize>, usize) + Sync,
) -> Vec<f32> {
    let (w, _) = contiguous(weight);
    let w = f32s(&w);
    let taps = geo.taps();
    let tap_list = geo.all_taps();
    let mut out = vec![0.0f32; geo.batch * geo.channels * plane_len];
    out.par_chunks_mut(plane_len)
        .with_min_len(min_chunks(plane_len * taps))
        .enumerate()
        .for_each(|(plane, dst)| {
            let (c, b) = (plane / geo.batch, plane % geo.batch);
            let src = src.plane(b, c);
            for (tap, &wv) in tap_list.iter().zip(&w[c * taps..(c + 1) * taps]) {
                geo.rows(tap, |o, start| row(dst, src, wv, o, start));
            }
        });
    out
}

impl DepthwiseConvBackend for Flex {
    fn depthwise_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let x_dims: [usize; 4] = x.shape().dims();
        let w_dims: [usize; 4] = weight.shape().dims();
        let [oh, ow] = output_size(x_dims, w_dims, &options);
        let geo = Geometry::new(x_dims, w_dims, [x_dims[0], x_dims[1], oh, ow], &options);
        if oh * ow > SMALL_PLANE {
            let sw = geo.stride[1];
            let x = Planes::new(&x);
            let out = channel_planes(x.view(), &weight, &geo, oh * ow, |y, x, w, o, start| {
                gather_axpy_strided(&mut y[o], w, &x[start..], sw)
            });
            return from_planes(
                out,
                &[geo.batch, geo.channels, oh, ow],
                PlaneOrder::ChannelMajor,
            );
        }
        let c = geo.channels;
        let xt = channels_last::to_nhwc(&x);
        let wt = channels_last::taps_by_channel(&weight);
        let (xv, wv) = (&xt[..], f32s(&wt));
        let pairs = channels_last::pairs(&geo);
        let (plane_in, plane_out) = (geo.plane_in(), geo.plane_out());
        let mut out = vec![0.0f32; geo.batch * plane_out * c];
        out.par_chunks_mut(plane_out * c)
            .with_min_len(min_chunks(c * pairs.len()))
            .enumerate()
            .for_each(|(b, dst)| {
                let xb = &xv[b * plane_in * c..][..plane_in * c];
                for &(o, t, i) in &pairs {
                    channels_last::fma(
                        &mut dst[o * c..][..c],
                        &wv[t * c..][..c],
                        &xb[i * c..][..c],
                    );
                }
            });
        channels_last::from_nhwc(out, [geo.batch, oh, ow, c])
    }

    fn depthwise_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let x_dims: [usize; 4] = x.shape().dims();
        if output_grad.shape().dims::<4>()[2..]
            .iter()
            .product::<usize>()
            <= SMALL_PLANE
        {
            return channels_last::x_backward(x_dims, &weight, &output_grad, &options);
        }
        let g = Planes::new(&output_grad);
        let geo = Geometry::new(
            x_dims,
            weight.shape().dims(),
            output_grad.shape().dims(),
            &options,
        );
        let sw = geo.stride[1];
        let out = channel_planes(
            g.view(),
            &weight,
            &geo,
            geo.plane_in(),
            |xg, g, w, o, start| scatter_axpy_strided(&mut xg[start..], w, &g[o], sw),
        );
        from_planes(out, &x_dims, PlaneOrder::ChannelMajor)
    }

    fn depthwise_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let w_dims: [usize; 4] = weight.shape().dims();
        if output_grad.shape().dims::<4>()[2..]
            .iter()
            .product::<usize>()
            <= SMALL_PLANE
        {
            return channels_last::weight_backward(&x, w_dims, &output_grad, &options);
        }
        let (xp, g) = (Planes::new(&x), Planes::new(&output_grad));
        let (xp, g) = (xp.view(), g.view());
        let geo = Geometry::new(
            x.shape().dims(),
            w_dims,
            output_grad.shape().dims(),
            &options,
        );
        let taps = geo.taps();
        let tap_list = geo.all_taps();
        let sw = geo.stride[1];
        let mut out = vec![0.0f32; geo.channels * taps];
        out.par_chunks_mut(taps)
            .with_min_len(min_chunks(geo.batch * geo.plane_out() * taps))
            .enumerate()
            .for_each(|(c, wg)| {
                for n in 0..geo.batch {
                    let (xi, go) = (xp.plane(n, c), g.plane(n, c));
                    for (tap, acc) in tap_list.iter().zip(wg.iter_mut()) {
                        geo.rows(tap, |o, start| {
                            *acc += dot_strided(&go[o], &xi[start..], sw)
                        });
                    }
                }
            });
        to_flex(out, w_dims)
    }
}

/// Kernel marker for [`tracked_conv`]: this module's backend methods.
#[derive(Debug)]
struct DepthwiseKernel;

impl<B: Backend + DepthwiseConvBackend> ConvKernel<B> for DepthwiseKernel {
    fn forward(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        options: ConvOptions<2>,
    ) -> FloatTensor<B> {
        B::depthwise_conv2d(x, weight, options)
    }

    fn x_backward(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        output_grad: FloatTensor<B>,
        options: ConvOptions<2>,
    ) -> FloatTensor<B> {
        B::depthwise_conv2d_x_backward(x, weight, output_grad, options)
    }

    fn weight_backward(
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        output_grad: FloatTensor<B>,
        options: ConvOptions<2>,
    ) -> FloatTensor<B> {
        B::depthwise_conv2d_weight_backward(x, weight, output_grad, options)
    }
}

impl<B: Backend + DepthwiseConvBackend, C: CheckpointStrategy> DepthwiseConvBackend
    for Autodiff<B, C>
{
    fn depthwise_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        tracked_conv::<B, C, DepthwiseKernel>(x, weight, options)
    }

    fn depthwise_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        // Differentiable composition of Burn's own ops (second-order use only).
        Self::conv2d_x_backward(x, weight, output_grad, options)
    }

    fn depthwise_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_weight_backward(x, weight, output_grad, options)
    }
}

/// Depthwise convolution: `weight` is `[c, 1, kh, kw]` for `x` of `[n, c, h, w]`, no bias.
/// On the CPU this uses the direct backward kernels of this module; on other devices it is
/// Burn's `conv2d` with `groups = c`.
pub fn depthwise_conv2d(x: Tensor<4>, weight: Tensor<4>, options: ConvOptions<2>) -> Tensor<4> {
    debug_assert_eq!(options.groups, x.dims()[1]);
    if kernels_apply(&x) && kernels_apply(&weight) {
        Tensor::from_dispatch(
            <burn::backend::Dispatch as DepthwiseConvBackend>::depthwise_conv2d(
                x.into_dispatch(),
                weight.into_dispatch(),
                options,
            ),
        )
    } else {
        burn::tensor::module::conv2d(x, weight, None, options)
    }
}
