//! Convolution geometry and CPU tensor access shared by the kernels.

use std::ops::Range;

use burn::backend::ops::ConvOptions;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Flex, TensorMetadata};
use burn::tensor::{Shape, TensorData};
use rayon::prelude::*;

/// A contiguous view of a CPU tensor (no copy when it already is) and its 4 dimensions.
pub(crate) fn contiguous(t: &FloatTensor<Flex>) -> (FloatTensor<Flex>, [usize; 4]) {
    (t.to_contiguous(), t.shape().dims())
}

/// The f32 values of a contiguous CPU tensor.
pub(crate) fn f32s(t: &FloatTensor<Flex>) -> &[f32] {
    t.as_slice::<f32>()
        .expect("conv kernels: the CPU kernels take contiguous f32 tensors")
}

/// A CPU tensor from values and a shape.
pub(crate) fn to_flex(values: Vec<f32>, shape: impl Into<Shape>) -> FloatTensor<Flex> {
    burn::backend::flex::FlexTensor::from_data(TensorData::new(values, shape))
}

/// How the `(image, channel)` planes of a `[batch, channels, ...]` CPU tensor lie in memory.
///
/// The kernels accept both orders without a copy. The convolution kernels write
/// [`PlaneOrder::ChannelMajor`] (except the dense forward pass of planes above 256 pixels, which
/// is Burn's and writes NCHW); the batch-norm kernel keeps its input's order. A convolution's
/// GEMM reads and writes `[channels, batch·pixels]` matrices, so keeping activations in that
/// order from one convolution to the next saves two layout copies per convolution
/// (`docs/performance.md`). The tensors stay logically `[batch, channels, ...]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlaneOrder {
    /// Contiguous `[batch, channels, ...]` (NCHW).
    ImageMajor,
    /// Contiguous as `[channels, batch, ...]`: each channel's planes form one block.
    ChannelMajor,
}

/// A `[batch, channels, ...]` CPU tensor read plane by plane, in either [`PlaneOrder`] (a
/// contiguous copy only when it is in neither).
pub(crate) struct Planes {
    data: FloatTensor<Flex>,
    /// Memory order of the planes.
    pub order: PlaneOrder,
    /// Images.
    pub n: usize,
    /// Channels.
    pub c: usize,
    /// Elements per plane.
    pub p: usize,
}

impl Planes {
    /// The planes of `t` in the order they already have.
    pub fn new(t: &FloatTensor<Flex>) -> Self {
        let order = if !t.is_contiguous() && t.transpose(0, 1).is_contiguous() {
            PlaneOrder::ChannelMajor
        } else {
            PlaneOrder::ImageMajor
        };
        Self::in_order(t, order)
    }

    /// The planes of `t` in `order` (one copy when `t` is not in it).
    pub fn in_order(t: &FloatTensor<Flex>, order: PlaneOrder) -> Self {
        let shape = t.shape();
        assert!(
            shape.len() >= 2,
            "kernels: tensors are [batch, channels, ...]"
        );
        let (n, c) = (shape[0], shape[1]);
        let p = shape.iter().skip(2).product();
        let data = match order {
            PlaneOrder::ImageMajor => t.to_contiguous(),
            PlaneOrder::ChannelMajor => t.transpose(0, 1).to_contiguous(),
        };
        Planes {
            data,
            order,
            n,
            c,
            p,
        }
    }

    /// Every value, planes in [`Self::order`].
    pub fn values(&self) -> &[f32] {
        f32s(&self.data)
    }

    /// Plane-by-plane access to the values (for inner loops: no layout checks per access).
    pub fn view(&self) -> PlaneView<'_> {
        PlaneView {
            values: self.values(),
            order: self.order,
            n: self.n,
            c: self.c,
            p: self.p,
        }
    }

    /// The `[channels, batch·pixels]` matrix: a view in channel-major order, a copy otherwise.
    pub fn channel_matrix(&self) -> FloatTensor<Flex> {
        let shape = Shape::new([self.c, self.n * self.p]);
        match self.order {
            PlaneOrder::ChannelMajor => self.data.reshape(shape),
            PlaneOrder::ImageMajor => self
                .data
                .reshape(Shape::new([self.n, self.c, self.p]))
                .permute(&[1, 0, 2])
                .to_contiguous()
                .reshape(shape),
        }
    }
}

/// The values of [`Planes`], read plane by plane.
#[derive(Clone, Copy)]
pub(crate) struct PlaneView<'a> {
    values: &'a [f32],
    order: PlaneOrder,
    n: usize,
    c: usize,
    p: usize,
}

impl PlaneView<'_> {
    /// All planes of channel `ch` as one slice, when they are contiguous (channel-major order).
    #[inline]
    pub fn channel(&self, ch: usize) -> Option<&[f32]> {
        match self.order {
            PlaneOrder::ChannelMajor => {
                Some(&self.values[ch * self.n * self.p..][..self.n * self.p])
            }
            PlaneOrder::ImageMajor => None,
        }
    }

    /// The plane of image `b`, channel `ch`.
    #[inline]
    pub fn plane(&self, b: usize, ch: usize) -> &[f32] {
        &self.values[self.order.index(b, ch, self.n, self.c) * self.p..][..self.p]
    }
}

impl PlaneOrder {
    /// Position in memory (in planes) of image `b`'s channel `ch` among `n` images of `c`
    /// channels.
    #[inline]
    pub fn index(self, b: usize, ch: usize, n: usize, c: usize) -> usize {
        match self {
            PlaneOrder::ImageMajor => b * c + ch,
            PlaneOrder::ChannelMajor => ch * n + b,
        }
    }
}

/// The `[batch, channels, ...]` tensor of `shape` whose values are `values` in `order`
/// (channel-major values become a permuted view, no copy).
pub(crate) fn from_planes(
    values: Vec<f32>,
    shape: &[usize],
    order: PlaneOrder,
) -> FloatTensor<Flex> {
    match order {
        PlaneOrder::ImageMajor => to_flex(values, shape.to_vec()),
        PlaneOrder::ChannelMajor => {
            let mut swapped = shape.to_vec();
            swapped.swap(0, 1);
            to_flex(values, swapped).transpose(0, 1)
        }
    }
}

/// Values per rayon task at least, so that small tensors (the 1x1 to 4x4 maps of the late
/// stages) are not split into tasks that cost more to schedule than to run.
const MIN_TASK_ELEMENTS: usize = 16 * 1024;

/// The `with_min_len` for parallel chunks of `chunk` values: [`MIN_TASK_ELEMENTS`] per task.
pub(crate) fn min_chunks(chunk: usize) -> usize {
    MIN_TASK_ELEMENTS.div_ceil(chunk.max(1))
}

/// `[batch, rows, cols]` values as `[batch, cols, rows]` (a layout change between the
/// kernels' channel-major and channels-last orders): tiles of 32 source columns in parallel,
/// each copied in blocks of 8 source rows, so that every destination row is written 8
/// contiguous values at a time.
pub(crate) fn transpose(src: &[f32], batch: usize, rows: usize, cols: usize) -> Vec<f32> {
    const TILE: usize = 32;
    const BLOCK: usize = 8;
    assert_eq!(src.len(), batch * rows * cols, "transpose: wrong length");
    let mut out = vec![0.0f32; src.len()];
    if src.is_empty() {
        return out;
    }
    let full = rows / BLOCK * BLOCK;
    out.par_chunks_mut(rows * cols)
        .zip(src.par_chunks(rows * cols))
        .with_min_len(min_chunks(rows * cols))
        .for_each(|(dst, src)| {
            dst.par_chunks_mut(TILE * rows)
                .with_min_len(min_chunks(TILE * rows))
                .enumerate()
                .for_each(|(tile, dst)| {
                    let (j0, width) = (tile * TILE, dst.len() / rows);
                    for i0 in (0..full).step_by(BLOCK) {
                        let block: [&[f32]; BLOCK] =
                            std::array::from_fn(|k| &src[(i0 + k) * cols + j0..][..width]);
                        for (dj, d) in dst.chunks_exact_mut(rows).enumerate() {
                            for (d, row) in d[i0..i0 + BLOCK].iter_mut().zip(&block) {
                                *d = row[dj];
                            }
                        }
                    }
                    for i in full..rows {
                        let row = &src[i * cols + j0..][..width];
                        for (d, &v) in dst.chunks_exact_mut(rows).zip(row) {
                            d[i] = v;
                        }
                    }
                });
        });
    out
}

/// Output height and width of the convolution.
pub(crate) fn output_size(
    geo_in: [usize; 4],
    weight: [usize; 4],
    options: &ConvOptions<2>,
) -> [usize; 2] {
    let size = |axis: usize| {
        let (begin, end) = options.padding[axis];
        let span = options.dilation[axis] * (weight[2 + axis] - 1) + 1;
        (geo_in[2 + axis] + begin + end - span) / options.stride[axis] + 1
    };
    [size(0), size(1)]
}

/// Output positions `o` in `0..out` whose input index `o * stride + offset` lies in `0..size`.
#[inline]
pub(crate) fn valid_range(out: usize, stride: usize, offset: isize, size: usize) -> Range<usize> {
    let s = stride as isize;
    // smallest o with o*s + offset >= 0
    let lo = if offset >= 0 {
        0
    } else {
        (-offset + s - 1) / s
    };
    // largest o with o*s + offset <= size - 1
    let hi_incl = size as isize - 1 - offset;
    let hi = if hi_incl < 0 { 0 } else { hi_incl / s + 1 };
    let lo = lo.clamp(0, out as isize) as usize;
    let hi = hi.clamp(0, out as isize) as usize;
    lo..hi.max(lo)
}

/// The geometry of a 2-D convolution: input `[batch, channels, h, w]`, kernel `kh x kw`,
/// output `oh x ow`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub batch: usize,
    pub channels: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub oh: usize,
    pub ow: usize,
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
}

/// One tap's valid output rectangle: rows and columns of the output that read inside the
/// image, and the input position of output `(0, 0)`.
#[derive(Debug, Clone)]
pub(crate) struct Tap {
    rows: Range<usize>,
    cols: Range<usize>,
    off_r: isize,
    off_c: isize,
}

impl Tap {
    /// Whether the tap reads no input pixel at all (only padding).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() || self.cols.is_empty()
    }
}

impl Geometry {
    /// From the input, weight and output dimensions.
    pub fn new(
        x: [usize; 4],
        weight: [usize; 4],
        out: [usize; 4],
        options: &ConvOptions<2>,
    ) -> Self {
        Geometry {
            batch: x[0],
            channels: x[1],
            h: x[2],
            w: x[3],
            kh: weight[2],
            kw: weight[3],
            oh: out[2],
            ow: out[3],
            stride: options.stride,
            padding: options.padding_begin(),
            dilation: options.dilation,
        }
    }

    /// Whether every output pixel reads exactly the input pixel at its own position (a 1x1
    /// kernel, stride 1, no padding): `im2col` is then a plain channel-major copy.
    pub fn is_pointwise(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.stride == [1, 1]
            && self.oh == self.h
            && self.ow == self.w
    }

    /// Pixels of an input plane.
    pub fn plane_in(&self) -> usize {
        self.h * self.w
    }

    /// Pixels of an output plane.
    pub fn plane_out(&self) -> usize {
        self.oh * self.ow
    }

    /// Taps of the kernel.
    pub fn taps(&self) -> usize {
        self.kh * self.kw
    }

    /// All taps, row-major.
    pub fn all_taps(&self) -> Vec<Tap> {
        (0..self.kh)
            .flat_map(|i| (0..self.kw).map(move |j| (i, j)))
            .map(|(i, j)| self.tap(i, j))
            .collect()
    }

    /// The valid output rectangle of tap `(i, j)`.
    #[inline]
    pub fn tap(&self, i: usize, j: usize) -> Tap {
        let off_r = (i * self.dilation[0]) as isize - self.padding[0] as isize;
        let off_c = (j * self.dilation[1]) as isize - self.padding[1] as isize;
        Tap {
            rows: valid_range(self.oh, self.stride[0], off_r, self.h),
            cols: valid_range(self.ow, self.stride[1], off_c, self.w),
            off_r,
            off_c,
        }
    }

    /// Calls `f(out, start)` for every valid output row of `tap`: the output positions `out`
    /// (within a plane) read the input positions `start + t * stride_w` (within a plane).
    /// When the rows are full-width runs of consecutive input rows (stride 1, output as wide as
    /// the input, no horizontal shift: a `kx1` tap, or a square kernel's centre column), they
    /// are one run in memory and `f` is called once for all of them.
    #[inline]
    pub fn rows(&self, tap: &Tap, mut f: impl FnMut(Range<usize>, usize)) {
        if tap.cols.is_empty() || tap.rows.is_empty() {
            return;
        }
        if self.stride == [1, 1] && self.ow == self.w && tap.off_c == 0 {
            // Every output row reads its whole input row: consecutive rows are contiguous.
            let ir0 = (tap.rows.start as isize + tap.off_r) as usize;
            f(
                tap.rows.start * self.ow..tap.rows.end * self.ow,
                ir0 * self.w,
            );
            return;
        }
        for r in tap.rows.clone() {
            let ir = ((r * self.stride[0]) as isize + tap.off_r) as usize;
            let ic0 = ((tap.cols.start * self.stride[1]) as isize + tap.off_c) as usize;
            let out = r * self.ow + tap.cols.start..r * self.ow + tap.cols.end;
            f(out, ir * self.w + ic0);
        }
    }
}

/// `dst[t * stride] += a * src[t]` for `t < src.len()`.
#[inline]
pub(crate) fn scatter_axpy_strided(dst: &mut [f32], a: f32, src: &[f32], stride: usize) {
    if stride == 1 {
        for (d, s) in dst.iter_mut().zip(src) {
            *d += a * s;
        }
    } else {
        for (t, s) in src.iter().enumerate() {
            dst[t * stride] += a * s;
        }
    }
}

/// `dst[t] += a * src[t * stride]` for `t < dst.len()`.
#[inline]
pub(crate) fn gather_axpy_strided(dst: &mut [f32], a: f32, src: &[f32], stride: usize) {
    if stride == 1 {
        let len = dst.len();
        for (d, s) in dst.iter_mut().zip(&src[..len]) {
            *d += a * s;
        }
    } else {
        for (t, d) in dst.iter_mut().enumerate() {
            *d += a * src[t * stride];
        }
    }
}

/// `sum_t a[t] * b[t * stride]` for `t < a.len()`.
#[inline]
pub(crate) fn dot_strided(a: &[f32], b: &[f32], stride: usize) -> f32 {
    if stride == 1 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    } else {
        a.iter().enumerate().map(|(t, x)| x * b[t * stride]).sum()
    }
}

/// `dst[t] = src[t * stride]` for `t < dst.len()`.
#[inline]
pub(crate) fn copy_strided(dst: &mut [f32], src: &[f32], stride: usize) {
    if stride == 1 {
        dst.copy_from_slice(&src[..dst.len()]);
    } else {
        for (t, d) in dst.iter_mut().enumerate() {
            *d = src[t * stride];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (output pixel, input pixel) pair of `tap (i, j)`, by brute force.
    fn pairs(geo: &Geometry, i: usize, j: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for oy in 0..geo.oh {
            for ox in 0..geo.ow {
                let iy =
                    (oy * geo.stride[0] + i * geo.dilation[0]) as isize - geo.padding[0] as isize;
                let ix =
                    (ox * geo.stride[1] + j * geo.dilation[1]) as isize - geo.padding[1] as isize;
                if (0..geo.h as isize).contains(&iy) && (0..geo.w as isize).contains(&ix) {
                    out.push((oy * geo.ow + ox, iy as usize * geo.w + ix as usize));
                }
            }
        }
        out
    }

    #[test]
    fn transpose_swaps_the_last_two_axes_of_every_matrix() {
        for (batch, rows, cols) in [(1, 3, 70), (3, 65, 33), (2, 1, 1), (1, 40, 1), (2, 16, 64)] {
            let src: Vec<f32> = (0..batch * rows * cols).map(|v| v as f32).collect();
            let out = transpose(&src, batch, rows, cols);
            for b in 0..batch {
                for i in 0..rows {
                    for j in 0..cols {
                        let (s, t) = ((b * rows + i) * cols + j, (b * cols + j) * rows + i);
                        assert_eq!(out[t], src[s], "{batch}x{rows}x{cols} at ({b}, {i}, {j})");
                    }
                }
            }
        }
    }

    #[test]
    fn rows_visit_exactly_the_pixels_each_tap_reads() {
        // (input h, w), kernel, stride, padding, dilation: kx1 and 1xk factorised taps, square
        // kernels (whose centre column merges rows), strided, dilated and tiny maps.
        let cases = [
            ([6, 5], [5, 1], [1, 1], [2, 0], [1, 1]),
            ([6, 5], [1, 5], [1, 1], [0, 2], [1, 1]),
            ([4, 4], [3, 3], [1, 1], [1, 1], [1, 1]),
            ([7, 6], [3, 3], [2, 2], [1, 1], [1, 1]),
            ([8, 8], [3, 3], [1, 1], [2, 2], [2, 2]),
            ([1, 1], [7, 1], [1, 1], [3, 0], [1, 1]),
            ([2, 3], [5, 5], [1, 1], [2, 2], [1, 1]),
            ([5, 4], [3, 1], [2, 1], [1, 0], [1, 1]),
        ];
        for (hw, k, stride, pad, dil) in cases {
            let options = ConvOptions::new(stride, pad, dil, 1);
            let oh = (hw[0] + 2 * pad[0] - dil[0] * (k[0] - 1) - 1) / stride[0] + 1;
            let ow = (hw[1] + 2 * pad[1] - dil[1] * (k[1] - 1) - 1) / stride[1] + 1;
            let geo = Geometry::new(
                [1, 1, hw[0], hw[1]],
                [1, 1, k[0], k[1]],
                [1, 1, oh, ow],
                &options,
            );
            for i in 0..k[0] {
                for j in 0..k[1] {
                    let mut got = Vec::new();
                    geo.rows(&geo.tap(i, j), |o, start| {
                        got.extend(o.enumerate().map(|(t, o)| (o, start + t * stride[1])));
                    });
                    assert_eq!(
                        got,
                        pairs(&geo, i, j),
                        "{hw:?} k{k:?} s{stride:?} tap ({i}, {j})"
                    );
                }
            }
        }
    }
}
