//! The cell semantics shared by the supernet and child networks (docs/method.md §3).

use burn::tensor::Tensor;
use nse_modules::CandidateOp;
use nse_modules::kernels::elementwise;

/// Output of a cell running `ops` on `x`: `(x + Σ op(x)) / (|S| + 1)` for a residual cell
/// (the identity when `ops` is empty), `Σ op(x) / |S|` otherwise.
///
/// # Panics
/// If a non-residual cell is given no op (callers validate architectures first).
///
/// # Shapes
/// - `x`: `[batch, cin, h, w]`
/// - output: `[batch, cout, ceil(h / stride), ceil(w / stride)]`
pub fn cell_output<'a>(
    x: Tensor<4>,
    ops: impl IntoIterator<Item = &'a CandidateOp>,
    residual: bool,
) -> Tensor<4> {
    let (mut sum, mut terms) = if residual {
        (Some(x.clone()), 1)
    } else {
        (None, 0)
    };
    for op in ops {
        let y = op.forward(x.clone());
        sum = Some(match sum {
            Some(s) => elementwise([s, y], |[s, y]| s + y),
            None => y,
        });
        terms += 1;
    }
    let sum = sum.expect("a non-residual cell needs at least one op");
    if terms == 1 {
        sum
    } else {
        elementwise([sum], |[s]| s.div_scalar(terms as f64))
    }
}
