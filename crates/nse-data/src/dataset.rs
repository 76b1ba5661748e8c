//! The [`Dataset`] trait shared by every image dataset.

use std::sync::Arc;

use super::encoded::EncodedImage;
use super::error::{DataError, Result};
use super::sample::Sample;

/// Which part of a dataset with a predefined train/test partition to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// The training set (CIFAR-10 `data_batch_1..5.bin`, MNIST `train-*`).
    Train,
    /// The test set (CIFAR-10 `test_batch.bin`, MNIST `t10k-*`).
    Test,
}

/// A finite, indexable collection of labelled images.
///
/// Implementations must be cheap to share between threads: the loader calls [`Dataset::get`]
/// from its worker threads. `get` may do real work (read and decode a file); [`Dataset::label`]
/// must not (splits and class counts call it for every sample).
pub trait Dataset: Send + Sync {
    /// The number of samples.
    fn len(&self) -> usize;

    /// Whether the dataset has no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Class names, indexed by label.
    fn class_names(&self) -> &[String];

    /// The number of classes (labels lie in `0..num_classes()`).
    fn num_classes(&self) -> usize {
        self.class_names().len()
    }

    /// The label of sample `index`, without decoding its image.
    fn label(&self, index: usize) -> Result<usize>;

    /// Sample `index`: its decoded image and its label.
    fn get(&self, index: usize) -> Result<Sample>;

    /// Sample `index` still encoded, for datasets that read files: the loader then lets the
    /// transform decode it ([`Transform::apply_encoded`](crate::transform::Transform::apply_encoded)),
    /// at a reduced scale where that gives the same output size. `None` (the default) means
    /// the dataset holds decoded pixels, and [`get`](Self::get) is used.
    fn get_encoded(&self, index: usize) -> Result<Option<EncodedSample>> {
        check_index(index, self.len())?;
        Ok(None)
    }

    /// The number of samples of each class.
    fn class_counts(&self) -> Result<Vec<usize>> {
        let mut counts = vec![0; self.num_classes()];
        for i in 0..self.len() {
            let label = self.label(i)?;
            let slot = counts.get_mut(label).ok_or_else(|| {
                DataError::param(
                    "label",
                    label,
                    format!(
                        "sample {i}: dataset declares {} classes",
                        self.num_classes()
                    ),
                )
            })?;
            *slot += 1;
        }
        Ok(counts)
    }
}

/// A sample whose image is not decoded yet ([`Dataset::get_encoded`]).
#[derive(Clone, Debug)]
pub struct EncodedSample {
    /// The image file's bytes.
    pub image: EncodedImage,
    /// Class index.
    pub label: usize,
}

/// Fails with [`DataError::IndexOutOfRange`] unless `index < len`.
pub(crate) fn check_index(index: usize, len: usize) -> Result<()> {
    if index < len {
        Ok(())
    } else {
        Err(DataError::IndexOutOfRange { index, len })
    }
}

/// Forwards [`Dataset`] through a pointer type to the dataset it points to.
macro_rules! forward_dataset {
    ($($pointer:ty),*) => {$(
        impl<D: Dataset + ?Sized> Dataset for $pointer {
            fn len(&self) -> usize {
                (**self).len()
            }
            fn class_names(&self) -> &[String] {
                (**self).class_names()
            }
            fn label(&self, index: usize) -> Result<usize> {
                (**self).label(index)
            }
            fn get(&self, index: usize) -> Result<Sample> {
                (**self).get(index)
            }
            fn get_encoded(&self, index: usize) -> Result<Option<EncodedSample>> {
                (**self).get_encoded(index)
            }
        }
    )*};
}

forward_dataset!(Arc<D>, Box<D>, &D);
