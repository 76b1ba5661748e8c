//! [`EncodedImage`]: an image file's bytes, decoded by the transform that knows how many
//! pixels it needs.
//!
//! The decoder was chosen by measurement (`benches/jpeg_decoders.rs`, recorded in
//! `docs/performance.md`): at full size `zune-jpeg` (through the `image` crate) is the
//! fastest decoder written in Rust here (`jpeg-decoder` was slower at full size, and its DCT
//! scaling slower than libjpeg-turbo's); libjpeg-turbo is faster still, and its DCT-scaled
//! decoding (1/2, 1/4, 1/8 of the size, computed in the inverse DCT) makes large sources
//! cheaper. So:
//!
//! - by default every image goes through [`decode_image`] (the `image` crate) at full size;
//! - with the crate feature `libjpeg-turbo` (which links the system's libjpeg-turbo, Debian's
//!   `libturbojpeg0-dev`), JPEG files other than CMYK ones are decoded by libjpeg-turbo, in
//!   [`decode_image`] too, and streamed ones at the smallest DCT scale that still gives the
//!   transform at least the pixels it asked for ([`EncodedImage::decode_at_least`]). Pixels then differ slightly from a full decode
//!   followed by the same resize (the scaled inverse DCT filters differently), which
//!   [`EncodedImage::scaled`] turns off.

use std::path::PathBuf;

use super::error::Result;
use super::image_folder::decode_image;
use super::sample::Image;

/// The encoded bytes of one image file, not decoded yet.
#[derive(Clone, Debug)]
pub struct EncodedImage {
    /// The file the bytes were read from (named in errors; its extension is the fallback for
    /// recognising the format).
    pub path: PathBuf,
    /// The file's content.
    pub bytes: Vec<u8>,
    /// Channels to decode to: 3 (RGB) or 1 (grayscale).
    pub channels: usize,
    /// Whether [`decode_at_least`](Self::decode_at_least) may decode at a reduced DCT scale
    /// (only with the feature `libjpeg-turbo`).
    pub scaled: bool,
}

impl EncodedImage {
    /// Decodes at full size.
    pub fn decode(&self) -> Result<Image> {
        decode_image(&self.path, &self.bytes, self.channels)
    }

    /// The image as a JPEG that can be decoded at a reduced scale, its size read from the
    /// header once; `None` when scaled decoding is off, not built in, or the file is not such
    /// a JPEG (then transforms decode in full).
    pub fn scalable(&self) -> Option<ScalableJpeg<'_>> {
        if !self.scaled {
            return None;
        }
        scalable_size(&self.bytes).map(|size| ScalableJpeg { source: self, size })
    }

    /// The `(width, height)` of [`scalable`](Self::scalable).
    pub fn scalable_size(&self) -> Option<(usize, usize)> {
        self.scalable().map(|jpeg| jpeg.size)
    }

    /// [`ScalableJpeg::decode_at_least`] when the image is [`scalable`](Self::scalable),
    /// otherwise a full-size decode.
    pub fn decode_at_least(&self, min_width: usize, min_height: usize) -> Result<Image> {
        match self.scalable() {
            Some(jpeg) => jpeg.decode_at_least(min_width, min_height),
            None => self.decode(),
        }
    }
}

/// An [`EncodedImage`] that libjpeg-turbo decodes at a reduced scale, with its full size.
#[derive(Clone, Copy, Debug)]
pub struct ScalableJpeg<'a> {
    source: &'a EncodedImage,
    /// `(width, height)` at full size.
    pub size: (usize, usize),
}

impl ScalableJpeg<'_> {
    /// Decodes at the smallest size whose width is at least `min_width` and height at least
    /// `min_height`: a DCT scale of 1/2, 1/4 or 1/8, or the full size. A scaled side is the
    /// full side divided by the scale's denominator, rounded up.
    pub fn decode_at_least(&self, min_width: usize, min_height: usize) -> Result<Image> {
        let denominator = scale_denominator(self.size, (min_width, min_height));
        self.decode_scaled(denominator)
    }

    #[cfg(feature = "libjpeg-turbo")]
    fn decode_scaled(&self, denominator: usize) -> Result<Image> {
        let s = self.source;
        super::libjpeg_turbo::decode(&s.path, &s.bytes, s.channels, self.size, denominator)
    }

    /// Never reached: without the feature nothing is [`EncodedImage::scalable`].
    #[cfg(not(feature = "libjpeg-turbo"))]
    fn decode_scaled(&self, _denominator: usize) -> Result<Image> {
        self.source.decode()
    }
}

#[cfg(feature = "libjpeg-turbo")]
fn scalable_size(bytes: &[u8]) -> Option<(usize, usize)> {
    super::libjpeg_turbo::scalable_size(bytes)
}

#[cfg(not(feature = "libjpeg-turbo"))]
fn scalable_size(_bytes: &[u8]) -> Option<(usize, usize)> {
    None
}

/// The DCT scales libjpeg-turbo decodes at cheaply, as denominators, largest reduction first.
pub const SCALE_DENOMINATORS: [usize; 3] = [8, 4, 2];

/// The largest of [`SCALE_DENOMINATORS`] (or 1) that keeps a `size` image at least `min`
/// in both sides.
pub fn scale_denominator(size: (usize, usize), min: (usize, usize)) -> usize {
    SCALE_DENOMINATORS
        .into_iter()
        .find(|&d| size.0.div_ceil(d) >= min.0 && size.1.div_ceil(d) >= min.1)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_keeps_both_sides_at_least_the_minimum() {
        assert_eq!(scale_denominator((2000, 1500), (256, 256)), 4);
        assert_eq!(scale_denominator((2000, 1500), (250, 187)), 8);
        assert_eq!(scale_denominator((2000, 1500), (251, 100)), 4);
        assert_eq!(scale_denominator((500, 400), (256, 256)), 1);
        assert_eq!(scale_denominator((512, 512), (256, 256)), 2);
        assert_eq!(
            scale_denominator((511, 512), (256, 256)),
            2,
            "511/2 rounds up"
        );
        assert_eq!(scale_denominator((510, 512), (256, 256)), 1);
    }
}
