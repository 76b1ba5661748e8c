//! Classification metrics.

pub use nse_supernet::training::top_k_correct;

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Int, Tensor, TensorData};

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
