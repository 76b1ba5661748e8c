//! Classification metrics.

use burn::tensor::{Int, Tensor};

/// Number of rows of `logits` (`[batch, classes]`) whose label is among the `k` highest
/// logits.
pub fn top_k_correct(logits: Tensor<2>, labels: Tensor<1, Int>, k: usize) -> usize {
    let [batch, classes] = logits.dims();
    let k = k.min(classes);
    let top = logits.argsort_descending(1).narrow(1, 0, k);
    let hits = top
        .equal(labels.reshape([batch, 1]).expand([batch, k]))
        .int()
        .sum();
    hits.into_scalar::<i64>() as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn top_k_counts_hits() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![0.1f32, 0.7, 0.2, 0.5, 0.3, 0.2, 0.1, 0.2, 0.7], [3, 3]),
            &device,
        );
        let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![2i64, 0, 0], [3]), &device);
        assert_eq!(top_k_correct(logits.clone(), labels.clone(), 1), 1); // row 1
        assert_eq!(top_k_correct(logits.clone(), labels.clone(), 2), 2); // + row 0 (0.2 second)
        assert_eq!(top_k_correct(logits, labels, 5), 3);
    }
}
