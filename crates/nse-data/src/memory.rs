//! [`InMemoryDataset`]: fixed-size 8-bit images held in one contiguous buffer.

use super::dataset::{Dataset, check_index};
use super::error::{DataError, Result};
use super::sample::{Image, Sample};

/// Equally sized images kept in memory as `u8` (HWC order, one after the other) with their
/// labels. CIFAR-10 and MNIST-style datasets load into this type (CIFAR-10's training set is
/// 50,000 × 3,072 bytes ≈ 150 MB).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InMemoryDataset {
    width: usize,
    height: usize,
    channels: usize,
    pixels: Vec<u8>,
    labels: Vec<usize>,
    class_names: Vec<String>,
}

impl InMemoryDataset {
    /// Wraps `pixels` (the images one after the other, each `height × width × channels`
    /// bytes in HWC order) and one label per image.
    ///
    /// Fails if the buffer length does not match `labels.len()` images, if a dimension is
    /// zero, or if a label is not below `class_names.len()`.
    pub fn new(
        width: usize,
        height: usize,
        channels: usize,
        pixels: Vec<u8>,
        labels: Vec<usize>,
        class_names: Vec<String>,
    ) -> Result<Self> {
        if width == 0 || height == 0 || channels == 0 {
            return Err(DataError::param(
                "image dimensions",
                format!("{width}x{height}x{channels}"),
                "width, height and channels must be positive",
            ));
        }
        let image_len = width * height * channels;
        if pixels.len() != labels.len() * image_len {
            return Err(DataError::param(
                "pixel buffer length",
                pixels.len(),
                format!(
                    "{} images of {width}x{height}x{channels} need {} bytes",
                    labels.len(),
                    labels.len() * image_len
                ),
            ));
        }
        if let Some((i, &label)) = labels
            .iter()
            .enumerate()
            .find(|&(_, &l)| l >= class_names.len())
        {
            return Err(DataError::param(
                "label",
                label,
                format!("sample {i}: the dataset has {} classes", class_names.len()),
            ));
        }
        Ok(Self {
            width,
            height,
            channels,
            pixels,
            labels,
            class_names,
        })
    }

    /// Image width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Image height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Channels per pixel.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The pixels of sample `index` (HWC order).
    ///
    /// # Panics
    /// If `index >= len()`.
    pub fn image_bytes(&self, index: usize) -> &[u8] {
        let n = self.width * self.height * self.channels;
        &self.pixels[index * n..(index + 1) * n]
    }

    /// All pixels, image after image.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// All labels, in sample order.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// A new dataset with the samples at `indices`, in that order (duplicates allowed).
    pub fn select(&self, indices: &[usize]) -> Result<Self> {
        let mut pixels =
            Vec::with_capacity(indices.len() * self.width * self.height * self.channels);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            check_index(i, self.len())?;
            pixels.extend_from_slice(self.image_bytes(i));
            labels.push(self.labels[i]);
        }
        Self::new(
            self.width,
            self.height,
            self.channels,
            pixels,
            labels,
            self.class_names.clone(),
        )
    }
}

impl Dataset for InMemoryDataset {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn class_names(&self) -> &[String] {
        &self.class_names
    }

    fn label(&self, index: usize) -> Result<usize> {
        check_index(index, self.len())?;
        Ok(self.labels[index])
    }

    fn get(&self, index: usize) -> Result<Sample> {
        check_index(index, self.len())?;
        let image = Image::new(
            self.width,
            self.height,
            self.channels,
            self.image_bytes(index).to_vec(),
        )?;
        Ok(Sample {
            image,
            label: self.labels[index],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    #[test]
    fn get_returns_the_right_slice_and_label() {
        let ds =
            InMemoryDataset::new(2, 1, 1, vec![1, 2, 3, 4, 5, 6], vec![2, 0, 1], names(3)).unwrap();
        assert_eq!(ds.len(), 3);
        let s = ds.get(1).unwrap();
        assert_eq!(s.image.data(), &[3, 4]);
        assert_eq!(s.label, 0);
        assert_eq!(ds.class_counts().unwrap(), vec![1, 1, 1]);
        assert!(matches!(
            ds.get(3),
            Err(DataError::IndexOutOfRange { index: 3, len: 3 })
        ));
    }

    #[test]
    fn new_rejects_bad_labels_and_lengths() {
        let err = InMemoryDataset::new(1, 1, 1, vec![0, 0], vec![0, 5], names(3)).unwrap_err();
        assert!(err.to_string().contains("sample 1"), "{err}");
        assert!(InMemoryDataset::new(2, 2, 1, vec![0; 7], vec![0, 0], names(1)).is_err());
    }

    #[test]
    fn select_copies_in_order() {
        let ds = InMemoryDataset::new(
            1,
            1,
            2,
            vec![10, 11, 20, 21, 30, 31],
            vec![0, 1, 2],
            names(3),
        )
        .unwrap();
        let sub = ds.select(&[2, 0]).unwrap();
        assert_eq!(sub.pixels(), &[30, 31, 10, 11]);
        assert_eq!(sub.labels(), &[2, 0]);
        assert!(ds.select(&[3]).is_err());
    }
}
