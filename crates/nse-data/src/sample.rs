//! Decoded images and labelled samples.

use super::error::{DataError, Result};

/// A decoded image: 8-bit pixels in height-width-channel (HWC, row-major, interleaved)
/// order, the layout image decoders produce.
///
/// The number of channels is 1 (grayscale) or 3 (RGB) for every dataset in this module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    width: usize,
    height: usize,
    channels: usize,
    data: Vec<u8>,
}

impl Image {
    /// Wraps `data` (HWC order). Fails unless `data.len() == width * height * channels` and
    /// all three dimensions are positive.
    pub fn new(width: usize, height: usize, channels: usize, data: Vec<u8>) -> Result<Self> {
        if width == 0 || height == 0 || channels == 0 {
            return Err(DataError::param(
                "image dimensions",
                format!("{width}x{height}x{channels}"),
                "width, height and channels must be positive",
            ));
        }
        let expected = width
            .checked_mul(height)
            .and_then(|p| p.checked_mul(channels))
            .ok_or_else(|| {
                DataError::param(
                    "image dimensions",
                    format!("{width}x{height}x{channels}"),
                    "too large",
                )
            })?;
        if data.len() != expected {
            return Err(DataError::param(
                "image data length",
                data.len(),
                format!("a {width}x{height}x{channels} image needs {expected} bytes"),
            ));
        }
        Ok(Self {
            width,
            height,
            channels,
            data,
        })
    }

    /// An all-zero (black) image.
    pub fn zeros(width: usize, height: usize, channels: usize) -> Result<Self> {
        Self::new(width, height, channels, vec![0; width * height * channels])
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Number of channels (1 or 3).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The shape as `[channels, height, width]`, the order of a batch tensor's last three
    /// dimensions.
    pub fn shape_chw(&self) -> [usize; 3] {
        [self.channels, self.height, self.width]
    }

    /// The pixels, HWC order.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The pixels, HWC order, mutable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// Consumes the image, returning its pixel buffer (HWC order).
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// The channel values of pixel `(x, y)`.
    ///
    /// # Panics
    /// If `(x, y)` lies outside the image.
    pub fn pixel(&self, x: usize, y: usize) -> &[u8] {
        assert!(
            x < self.width && y < self.height,
            "pixel ({x}, {y}) outside a {}x{} image",
            self.width,
            self.height
        );
        let start = (y * self.width + x) * self.channels;
        &self.data[start..start + self.channels]
    }
}

/// One labelled example of a dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// The decoded image.
    pub image: Image,
    /// The class index, `0..num_classes`.
    pub label: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_the_buffer_length() {
        let img = Image::new(3, 2, 1, (0..6).collect()).unwrap();
        assert_eq!(img.shape_chw(), [1, 2, 3]);
        assert_eq!(img.pixel(2, 1), &[5]);
        let err = Image::new(3, 2, 3, vec![0; 6]).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::InvalidParameter {
                    name: "image data length",
                    ..
                }
            ),
            "{err}"
        );
        assert!(Image::new(0, 2, 3, vec![]).is_err());
    }

    #[test]
    fn pixel_reads_hwc_order() {
        // 2x1 RGB: pixel 0 = (1, 2, 3), pixel 1 = (4, 5, 6).
        let img = Image::new(2, 1, 3, vec![1, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(img.pixel(1, 0), &[4, 5, 6]);
    }
}
