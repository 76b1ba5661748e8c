//! Matrix products of CPU tensors, threaded whenever the product is large enough to split.
//!
//! Burn 0.22.1's CPU matmul calls the same GEMM library (`gemm`), but runs every product below
//! 192³ multiply-adds on one thread. Most of a supernet's convolutions are below that (a 1x1
//! conv from 40 to 120 channels over 64 images of 4x4 pixels is 5 M), so one of two cores idled
//! through nearly all of an evaluation (`docs/performance.md`, change 16). Here the library's
//! own threshold (48·48·256 multiply-adds per block of the result) decides.
//!
//! The library's entry point is an `unsafe fn` taking raw pointers and strides: this module is
//! the workspace's only `unsafe` code, and every pointer it passes is checked against the
//! bounds of its buffer first.

#![allow(unsafe_code)]

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Flex, TensorMetadata};
use burn::tensor::DType;

use crate::kernels::geometry::to_flex;

/// A 2-D f32 CPU tensor as a GEMM operand: its buffer, first element and strides.
struct Operand {
    /// The tensor, kept alive for `values`.
    tensor: FlexTensor,
    rows: usize,
    cols: usize,
    offset: usize,
    row_stride: isize,
    col_stride: isize,
}

impl Operand {
    /// `t` read through its own strides (a contiguous copy only if a stride is negative).
    fn new(t: &FloatTensor<Flex>) -> Self {
        let dims = t.shape();
        assert_eq!(dims.len(), 2, "gemm: operands are matrices, got {dims:?}");
        assert_eq!(t.dtype(), DType::F32, "gemm: operands are f32");
        let tensor = if t.layout().strides().iter().all(|&s| s >= 0) {
            t.clone()
        } else {
            t.to_contiguous()
        };
        let strides = tensor.layout().strides();
        Operand {
            rows: dims[0],
            cols: dims[1],
            offset: tensor.layout().start_offset(),
            row_stride: strides[0],
            col_stride: strides[1],
            tensor,
        }
    }

    /// The buffer from the first element on, checked to hold every element the strides reach.
    fn values(&self) -> &[f32] {
        let values = &self.tensor.storage::<f32>()[self.offset..];
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.row_stride.unsigned_abs()
                + (self.cols - 1) * self.col_stride.unsigned_abs();
            assert!(
                last < values.len(),
                "gemm: strides reach past the operand's buffer"
            );
        }
        values
    }
}

/// `lhs · rhs` for 2-D CPU tensors with any non-negative strides (views such as transposes
/// and column ranges are read in place), as a contiguous `[m, n]` tensor. Threaded through
/// rayon when the product is large enough; the threads split the result into blocks and
/// every element is summed in the same order either way.
pub(crate) fn matmul(lhs: &FloatTensor<Flex>, rhs: &FloatTensor<Flex>) -> FloatTensor<Flex> {
    let (a, b) = (Operand::new(lhs), Operand::new(rhs));
    assert_eq!(
        a.cols, b.rows,
        "gemm: inner dimensions differ ({} and {})",
        a.cols, b.rows
    );
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let mut out = vec![0.0f32; m * n];
    if m > 0 && n > 0 && k > 0 {
        let (av, bv) = (a.values(), b.values());
        // SAFETY: `out` holds the m·n elements of a row-major [m, n] matrix (column stride 1,
        // row stride n); `Operand::values` checked that every element of `lhs` ([m, k]) and
        // `rhs` ([k, n]) the strides reach lies inside its slice, and the strides are
        // non-negative. `read_dst` is false, so `out`'s zeros are only written over. The
        // slices outlive the call, and `out` is not aliased by them (a fresh allocation).
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                out.as_mut_ptr(),
                1,
                n as isize,
                false,
                av.as_ptr(),
                a.col_stride,
                a.row_stride,
                bv.as_ptr(),
                b.col_stride,
                b.row_stride,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(0),
            );
        }
    }
    to_flex(out, [m, n])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::ops::FloatTensorOps;

    fn ramp(len: usize, scale: f32) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 7 % 13) as f32 - 6.0) * scale)
            .collect()
    }

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
            }
        }
        out
    }

    fn assert_close(got: &FloatTensor<Flex>, want: &[f32]) {
        let got = got.to_contiguous();
        let got = got.as_slice::<f32>().unwrap();
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
                "element {i}: {g} vs {w}"
            );
        }
    }

    #[test]
    fn contiguous_products_match_a_naive_product_at_threaded_sizes() {
        // Small (one thread) and large (threaded: 96·80·300 > 48·48·256) products.
        for (m, k, n) in [(3, 5, 4), (96, 80, 300), (1, 7, 1), (130, 33, 257)] {
            let (a, b) = (ramp(m * k, 0.1), ramp(k * n, 0.05));
            let got = matmul(&to_flex(a.clone(), [m, k]), &to_flex(b.clone(), [k, n]));
            assert_eq!(got.shape().dims::<2>(), [m, n]);
            assert_close(&got, &naive(&a, &b, m, k, n));
        }
    }

    #[test]
    fn strided_views_are_read_in_place_and_correctly() {
        let (m, k, n) = (70, 90, 200);
        let (a, b) = (ramp(m * k, 0.1), ramp(k * n, 0.05));
        let want = naive(&a, &b, m, k, n);
        // lhs given as the transpose of a [k, m] matrix.
        let mut at = vec![0.0f32; m * k];
        for i in 0..m {
            for l in 0..k {
                at[l * m + i] = a[i * k + l];
            }
        }
        let lhs = to_flex(at, [k, m]).transpose(0, 1);
        assert!(!lhs.is_contiguous());
        assert_close(&matmul(&lhs, &to_flex(b.clone(), [k, n])), &want);
        // rhs as a column range of a wider matrix, lhs as a row range (offset into the buffer).
        let mut wide = vec![9.0f32; k * (n + 10)];
        for l in 0..k {
            wide[l * (n + 10) + 4..][..n].copy_from_slice(&b[l * n..][..n]);
        }
        let rhs = to_flex(wide, [k, n + 10]).narrow(1, 4, n);
        let mut tall = vec![5.0f32; (m + 3) * k];
        tall[3 * k..].copy_from_slice(&a);
        let lhs = to_flex(tall, [m + 3, k]).narrow(0, 3, m);
        assert_close(&matmul(&lhs, &rhs), &want);
        // Against Burn's own matmul on the same views.
        let burn = Flex::float_matmul(lhs.clone(), rhs.clone());
        assert_close(
            &matmul(&lhs, &rhs),
            burn.to_contiguous().as_slice::<f32>().unwrap(),
        );
    }

    #[test]
    fn empty_inner_dimension_gives_zeros() {
        let got = matmul(&to_flex(vec![], [3, 0]), &to_flex(vec![], [0, 2]));
        assert_close(&got, &[0.0; 6]);
    }

    #[test]
    #[should_panic(expected = "inner dimensions differ")]
    fn mismatched_shapes_are_refused() {
        matmul(
            &to_flex(vec![0.0; 6], [2, 3]),
            &to_flex(vec![0.0; 8], [4, 2]),
        );
    }
}
