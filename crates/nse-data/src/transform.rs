//! Seeded image transforms (augmentation and resizing) and per-channel normalisation.
//!
//! Transforms work on 8-bit [`Image`]s and take the random generator explicitly: the loader
//! gives every sample of every epoch its own stream (derived from the seed, the epoch and the
//! sample index), so an augmented batch is reproducible whatever the thread scheduling.
//!
//! Recipes:
//! - CIFAR: [`Pipeline::cifar_train`] = [`RandomCrop`] 32 with 4 pixels of zero padding +
//!   [`RandomHorizontalFlip`]; evaluation uses no transform.
//! - ImageNet: [`Pipeline::imagenet_train`] = [`RandomResizedCrop`] + flip + [`ColorJitter`];
//!   [`Pipeline::imagenet_eval`] = [`Resize`] of the short side + [`CenterCrop`].
//!
//! [`Normalize`] converts to `f32` in CHW order with `(x / 255 - mean[c]) / std[c]`.

use rand_chacha::rand_core::RngCore;
use serde::{Deserialize, Serialize};

use super::encoded::EncodedImage;
#[cfg(doc)]
use super::encoded::ScalableJpeg;
use super::error::{DataError, Result};
use super::rng::{below, shuffle, uniform, unit_f64};
use super::sample::Image;

/// An image-to-image transformation that may draw random numbers.
///
/// Implementations must be deterministic given the generator's state, and must draw the
/// same amount of randomness whatever the image content, so that the streams of later
/// transforms do not depend on pixel values.
pub trait Transform: Send + Sync {
    /// Transforms `image`.
    fn apply(&self, image: Image, rng: &mut dyn RngCore) -> Result<Image>;

    /// Decodes `source` and transforms it. The default decodes in full and calls
    /// [`apply`](Self::apply); transforms that shrink ([`RandomResizedCrop`], [`Resize`])
    /// ask for only the pixels they need ([`ScalableJpeg::decode_at_least`]), drawing the
    /// same random numbers and giving the same output size as `apply`.
    fn apply_encoded(&self, source: EncodedImage, rng: &mut dyn RngCore) -> Result<Image> {
        self.apply(source.decode()?, rng)
    }
}

/// The identity transform.
impl Transform for () {
    fn apply(&self, image: Image, _rng: &mut dyn RngCore) -> Result<Image> {
        Ok(image)
    }
}

fn transform_error(transform: &'static str, reason: String) -> DataError {
    DataError::Transform { transform, reason }
}

/// Copies the `w × h` window at `(x0, y0)` of `image` (the window must lie inside).
fn crop(image: &Image, x0: usize, y0: usize, w: usize, h: usize) -> Result<Image> {
    let c = image.channels();
    let row = image.width() * c;
    let mut out = Vec::with_capacity(w * h * c);
    for y in y0..y0 + h {
        let start = y * row + x0 * c;
        out.extend_from_slice(&image.data()[start..start + w * c]);
    }
    Image::new(w, h, c, out)
}

/// Resizes the `w × h` window at `(x0, y0)` of `image` to `out_w × out_h` with a bilinear
/// filter whose support widens when shrinking (antialiased, like PIL/torchvision), through
/// `fast_image_resize` (SIMD where the CPU has it).
fn resize_window(
    image: Image,
    (x0, y0, w, h): (usize, usize, usize, usize),
    out_w: usize,
    out_h: usize,
) -> Result<Image> {
    if (w, h) == (out_w, out_h) {
        return crop(&image, x0, y0, w, h);
    }
    resize_area(
        image,
        [x0 as f64, y0 as f64, w as f64, h as f64],
        out_w,
        out_h,
    )
}

/// Resizes the area `[x0, y0, w, h]` (fractional pixel coordinates) of `image` to
/// `out_w × out_h`, as [`resize_window`].
fn resize_area(image: Image, area: [f64; 4], out_w: usize, out_h: usize) -> Result<Image> {
    use fast_image_resize as fr;
    let c = image.channels();
    let pixel = match c {
        1 => fr::PixelType::U8,
        3 => fr::PixelType::U8x3,
        other => {
            return Err(transform_error(
                "resize",
                format!("{other}-channel images are not supported (1 or 3)"),
            ));
        }
    };
    let fail = |e: String| transform_error("resize", e);
    let (iw, ih) = (image.width() as u32, image.height() as u32);
    let src = fr::images::Image::from_vec_u8(iw, ih, image.into_data(), pixel)
        .map_err(|e| fail(e.to_string()))?;
    let mut dst = fr::images::Image::new(out_w as u32, out_h as u32, pixel);
    let options = fr::ResizeOptions::new()
        .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Bilinear))
        .crop(area[0], area[1], area[2], area[3]);
    fr::Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| fail(e.to_string()))?;
    Image::new(out_w, out_h, c, dst.into_vec())
}

/// Random `size × size` crop of the image padded with `padding` zero pixels on every side
/// (the CIFAR recipe: size 32, padding 4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RandomCrop {
    /// Output side length.
    pub size: usize,
    /// Zero padding added on each side before cropping.
    pub padding: usize,
}

impl Transform for RandomCrop {
    fn apply(&self, image: Image, rng: &mut dyn RngCore) -> Result<Image> {
        let (w, h, c, p, s) = (
            image.width(),
            image.height(),
            image.channels(),
            self.padding,
            self.size,
        );
        if s == 0 || s > w + 2 * p || s > h + 2 * p {
            return Err(transform_error(
                "RandomCrop",
                format!("crop {s}x{s} does not fit a {w}x{h} image padded by {p}"),
            ));
        }
        // Offsets in padded coordinates.
        let ox = below(rng, w + 2 * p - s + 1);
        let oy = below(rng, h + 2 * p - s + 1);
        let mut out = vec![0u8; s * s * c];
        // Source columns x - p for output x in [x_lo, x_hi) lie inside the image.
        let x_lo = p.saturating_sub(ox).min(s);
        let x_hi = (w + p).saturating_sub(ox).min(s);
        for y in 0..s {
            let sy = y + oy;
            if sy < p || sy >= h + p || x_lo >= x_hi {
                continue;
            }
            let src_row = (sy - p) * w;
            let src = (src_row + x_lo + ox - p) * c;
            let len = (x_hi - x_lo) * c;
            out[(y * s + x_lo) * c..][..len].copy_from_slice(&image.data()[src..src + len]);
        }
        Image::new(s, s, c, out)
    }
}

/// Mirrors the image left-right with probability `p`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomHorizontalFlip {
    /// Probability of flipping (0.5 in both recipes).
    pub p: f64,
}

impl Transform for RandomHorizontalFlip {
    fn apply(&self, mut image: Image, rng: &mut dyn RngCore) -> Result<Image> {
        if unit_f64(rng) < self.p {
            let (w, c) = (image.width(), image.channels());
            for row in image.data_mut().chunks_exact_mut(w * c) {
                for x in 0..w / 2 {
                    let (l, r) = (x * c, (w - 1 - x) * c);
                    for k in 0..c {
                        row.swap(l + k, r + k);
                    }
                }
            }
        }
        Ok(image)
    }
}

/// Crops a random region (area fraction drawn from `scale`, aspect ratio log-uniform in
/// `ratio`) and resizes it to `size × size`: the Inception/ImageNet training crop, with
/// torchvision's sampling procedure (10 attempts, then a centre crop).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomResizedCrop {
    /// Output side length.
    pub size: usize,
    /// Range of the crop's area as a fraction of the image's (default `[0.08, 1.0]`).
    pub scale: [f64; 2],
    /// Range of the crop's width/height ratio (default `[3/4, 4/3]`).
    pub ratio: [f64; 2],
}

impl RandomResizedCrop {
    /// The standard parameters: scale `[0.08, 1]`, ratio `[3/4, 4/3]`.
    pub fn new(size: usize) -> Self {
        Self {
            size,
            scale: [0.08, 1.0],
            ratio: [3.0 / 4.0, 4.0 / 3.0],
        }
    }

    /// The crop window `(x0, y0, w, h)` for a `width × height` image. Always draws 10
    /// attempts' worth of numbers so the stream consumed does not depend on the image.
    fn window(
        &self,
        width: usize,
        height: usize,
        rng: &mut dyn RngCore,
    ) -> (usize, usize, usize, usize) {
        let area = (width * height) as f64;
        let (log_lo, log_hi) = (self.ratio[0].ln(), self.ratio[1].ln());
        let mut found = None;
        for _ in 0..10 {
            let target = area * uniform(rng, self.scale[0], self.scale[1]);
            let aspect = uniform(rng, log_lo, log_hi).exp();
            let (u, v) = (unit_f64(rng), unit_f64(rng));
            let w = (target * aspect).sqrt().round() as usize;
            let h = (target / aspect).sqrt().round() as usize;
            if found.is_none() && w > 0 && h > 0 && w <= width && h <= height {
                let x0 = ((width - w + 1) as f64 * u) as usize;
                let y0 = ((height - h + 1) as f64 * v) as usize;
                found = Some((x0.min(width - w), y0.min(height - h), w, h));
            }
        }
        found.unwrap_or_else(|| {
            let in_ratio = width as f64 / height as f64;
            let (w, h) = if in_ratio < self.ratio[0] {
                (
                    width,
                    ((width as f64 / self.ratio[0]).round() as usize).clamp(1, height),
                )
            } else if in_ratio > self.ratio[1] {
                (
                    ((height as f64 * self.ratio[1]).round() as usize).clamp(1, width),
                    height,
                )
            } else {
                (width, height)
            };
            ((width - w) / 2, (height - h) / 2, w, h)
        })
    }
}

impl RandomResizedCrop {
    /// Fails unless the parameters describe a crop.
    fn check(&self) -> Result<()> {
        let valid = self.size > 0
            && 0.0 < self.scale[0]
            && self.scale[0] <= self.scale[1]
            && self.scale[1] <= 1.0
            && 0.0 < self.ratio[0]
            && self.ratio[0] <= self.ratio[1];
        if !valid {
            return Err(transform_error(
                "RandomResizedCrop",
                format!(
                    "invalid parameters size {}, scale {:?}, ratio {:?}",
                    self.size, self.scale, self.ratio
                ),
            ));
        }
        Ok(())
    }
}

impl Transform for RandomResizedCrop {
    fn apply(&self, image: Image, rng: &mut dyn RngCore) -> Result<Image> {
        self.check()?;
        let window = self.window(image.width(), image.height(), rng);
        resize_window(image, window, self.size, self.size)
    }

    /// Draws the window on the full-size image, then decodes at the smallest scale that
    /// keeps at least `size` pixels across the window in each direction.
    fn apply_encoded(&self, source: EncodedImage, rng: &mut dyn RngCore) -> Result<Image> {
        let Some(jpeg) = source.scalable() else {
            return self.apply(source.decode()?, rng);
        };
        let (width, height) = jpeg.size;
        self.check()?;
        let (x0, y0, w, h) = self.window(width, height, rng);
        let image = jpeg.decode_at_least(
            (width * self.size).div_ceil(w),
            (height * self.size).div_ceil(h),
        )?;
        if (image.width(), image.height()) == (width, height) {
            return resize_window(image, (x0, y0, w, h), self.size, self.size);
        }
        let sx = image.width() as f64 / width as f64;
        let sy = image.height() as f64 / height as f64;
        let area = [x0 as f64 * sx, y0 as f64 * sy, w as f64 * sx, h as f64 * sy];
        resize_area(image, area, self.size, self.size)
    }
}

/// Resizes so that the shorter side becomes `size` (the longer side keeps the aspect ratio,
/// truncated to an integer, as torchvision does).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resize {
    /// Target length of the shorter side.
    pub size: usize,
}

impl Resize {
    /// The output size for a `w × h` image.
    fn output_size(&self, w: usize, h: usize) -> Result<(usize, usize)> {
        if self.size == 0 {
            return Err(transform_error("Resize", "size must be positive".into()));
        }
        Ok(if w <= h {
            (self.size, (self.size * h / w).max(1))
        } else {
            ((self.size * w / h).max(1), self.size)
        })
    }
}

impl Transform for Resize {
    fn apply(&self, image: Image, _rng: &mut dyn RngCore) -> Result<Image> {
        let (w, h) = (image.width(), image.height());
        let (out_w, out_h) = self.output_size(w, h)?;
        resize_window(image, (0, 0, w, h), out_w, out_h)
    }

    /// Decodes at the smallest scale that is still at least the output size.
    fn apply_encoded(&self, source: EncodedImage, rng: &mut dyn RngCore) -> Result<Image> {
        let Some(jpeg) = source.scalable() else {
            return self.apply(source.decode()?, rng);
        };
        let (out_w, out_h) = self.output_size(jpeg.size.0, jpeg.size.1)?;
        let image = jpeg.decode_at_least(out_w, out_h)?;
        let (iw, ih) = (image.width(), image.height());
        resize_window(image, (0, 0, iw, ih), out_w, out_h)
    }
}

/// Crops the central `size × size` window (offsets rounded down).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CenterCrop {
    /// Output side length.
    pub size: usize,
}

impl Transform for CenterCrop {
    fn apply(&self, image: Image, _rng: &mut dyn RngCore) -> Result<Image> {
        let (w, h, s) = (image.width(), image.height(), self.size);
        if s == 0 || s > w || s > h {
            return Err(transform_error(
                "CenterCrop",
                format!("crop {s}x{s} does not fit a {w}x{h} image"),
            ));
        }
        crop(&image, (w - s) / 2, (h - s) / 2, s, s)
    }
}

/// Random brightness, contrast, saturation and hue changes, applied in random order, as
/// torchvision's `ColorJitter`: the brightness, contrast and saturation factors are drawn
/// uniformly from `[max(0, 1 - x), 1 + x]`, the hue shift from `[-hue, hue]` (in turns,
/// `hue ≤ 0.5`).
///
/// Brightness scales the pixels, contrast blends with the image's mean luma, saturation
/// blends every pixel with its own luma (no effect on grayscale), hue rotates every pixel's
/// hue in HSV (no effect on grayscale). Luma is `0.299 R + 0.587 G + 0.114 B`. Values are
/// clamped to `[0, 255]` after each operation and rounded once at the end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColorJitter {
    /// Brightness strength (0 = off).
    pub brightness: f64,
    /// Contrast strength (0 = off).
    pub contrast: f64,
    /// Saturation strength (0 = off).
    pub saturation: f64,
    /// Hue strength in turns, `[0, 0.5]` (0 = off, the default).
    #[serde(default)]
    pub hue: f64,
}

/// Rotates the hue of the RGB pixel `p` (values in `[0, 255]`) by `shift` turns, through HSV.
fn rotate_hue(p: &mut [f32], shift: f32) {
    let (r, g, b) = (p[0], p[1], p[2]);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let chroma = max - min;
    if chroma <= 0.0 {
        return;
    }
    let h = if max == r {
        ((g - b) / chroma).rem_euclid(6.0)
    } else if max == g {
        (b - r) / chroma + 2.0
    } else {
        (r - g) / chroma + 4.0
    } / 6.0;
    let h = (h + shift).rem_euclid(1.0) * 6.0;
    let x = chroma * (1.0 - ((h % 2.0) - 1.0).abs());
    let (r1, g1, b1) = match h as u32 {
        0 => (chroma, x, 0.0),
        1 => (x, chroma, 0.0),
        2 => (0.0, chroma, x),
        3 => (0.0, x, chroma),
        4 => (x, 0.0, chroma),
        _ => (chroma, 0.0, x),
    };
    let m = max - chroma;
    p[0] = (r1 + m).clamp(0.0, 255.0);
    p[1] = (g1 + m).clamp(0.0, 255.0);
    p[2] = (b1 + m).clamp(0.0, 255.0);
}

impl Transform for ColorJitter {
    fn apply(&self, image: Image, rng: &mut dyn RngCore) -> Result<Image> {
        let strengths = [self.brightness, self.contrast, self.saturation, self.hue];
        if strengths.iter().any(|&s| !(s >= 0.0 && s.is_finite())) || self.hue > 0.5 {
            return Err(transform_error(
                "ColorJitter",
                format!("strengths must be finite and >= 0 (hue <= 0.5), got {strengths:?}"),
            ));
        }
        let mut factors = [self.brightness, self.contrast, self.saturation]
            .map(|s| uniform(rng, (1.0 - s).max(0.0), 1.0 + s) as f32)
            .to_vec();
        let mut order = vec![0usize, 1, 2];
        if self.hue > 0.0 {
            // Drawn only with a hue strength, so that jitter without hue draws what it always
            // drew.
            factors.push(uniform(rng, -self.hue, self.hue) as f32);
            order.push(3);
        }
        shuffle(&mut order, rng);

        let (w, h, c) = (image.width(), image.height(), image.channels());
        let mut px: Vec<f32> = image.data().iter().map(|&v| f32::from(v)).collect();
        let luma = |p: &[f32]| {
            if c == 3 {
                0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
            } else {
                p[0]
            }
        };
        for op in order {
            let f = factors[op];
            if strengths[op] == 0.0 {
                continue;
            }
            match op {
                0 => px.iter_mut().for_each(|v| *v = (*v * f).clamp(0.0, 255.0)),
                1 => {
                    let mean = px.chunks_exact(c).map(luma).sum::<f32>() / (w * h) as f32;
                    px.iter_mut()
                        .for_each(|v| *v = (f * *v + (1.0 - f) * mean).clamp(0.0, 255.0));
                }
                2 if c == 3 => {
                    for p in px.chunks_exact_mut(3) {
                        let gray = luma(p);
                        p.iter_mut()
                            .for_each(|v| *v = (f * *v + (1.0 - f) * gray).clamp(0.0, 255.0));
                    }
                }
                3 if c == 3 => px.chunks_exact_mut(3).for_each(|p| rotate_hue(p, f)),
                _ => {}
            }
        }
        Image::new(w, h, c, px.into_iter().map(|v| v.round() as u8).collect())
    }
}

/// The largest input side for which [`Pipeline::train_for`] and [`Pipeline::eval_for`] use
/// the small-image (CIFAR, MNIST) recipes; larger inputs get the ImageNet ones.
pub const SMALL_INPUT_MAX: usize = 64;

/// One step of a [`Pipeline`] (the serialisable form of the transforms above).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Step {
    /// [`RandomCrop`].
    RandomCrop(RandomCrop),
    /// [`RandomHorizontalFlip`].
    HorizontalFlip(RandomHorizontalFlip),
    /// [`RandomResizedCrop`].
    RandomResizedCrop(RandomResizedCrop),
    /// [`ColorJitter`].
    ColorJitter(ColorJitter),
    /// [`Resize`].
    Resize(Resize),
    /// [`CenterCrop`].
    CenterCrop(CenterCrop),
}

impl Transform for Step {
    fn apply(&self, image: Image, rng: &mut dyn RngCore) -> Result<Image> {
        match self {
            Self::RandomCrop(t) => t.apply(image, rng),
            Self::HorizontalFlip(t) => t.apply(image, rng),
            Self::RandomResizedCrop(t) => t.apply(image, rng),
            Self::ColorJitter(t) => t.apply(image, rng),
            Self::Resize(t) => t.apply(image, rng),
            Self::CenterCrop(t) => t.apply(image, rng),
        }
    }

    fn apply_encoded(&self, source: EncodedImage, rng: &mut dyn RngCore) -> Result<Image> {
        match self {
            Self::RandomResizedCrop(t) => t.apply_encoded(source, rng),
            Self::Resize(t) => t.apply_encoded(source, rng),
            _ => self.apply(source.decode()?, rng),
        }
    }
}

macro_rules! step_from {
    ($($variant:ident($ty:ident)),*) => {$(
        impl From<$ty> for Step {
            fn from(t: $ty) -> Self {
                Self::$variant(t)
            }
        }
    )*};
}
step_from!(
    RandomCrop(RandomCrop),
    HorizontalFlip(RandomHorizontalFlip),
    RandomResizedCrop(RandomResizedCrop),
    ColorJitter(ColorJitter),
    Resize(Resize),
    CenterCrop(CenterCrop)
);

/// A sequence of [`Step`]s applied in order; serialisable, so a run's augmentation can be
/// logged next to its results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// The steps, first applied first.
    pub steps: Vec<Step>,
}

impl Pipeline {
    /// The empty pipeline (identity).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a step.
    pub fn then(mut self, step: impl Into<Step>) -> Self {
        self.steps.push(step.into());
        self
    }

    /// CIFAR training augmentation: random 32×32 crop with 4 pixels of zero padding, then a
    /// horizontal flip with probability 0.5.
    pub fn cifar_train() -> Self {
        Self::new()
            .then(RandomCrop {
                size: 32,
                padding: 4,
            })
            .then(RandomHorizontalFlip { p: 0.5 })
    }

    /// ImageNet training augmentation, the NSE reference's: random-resized crop to `size`
    /// (scale 0.08–1, ratio 3/4–4/3), horizontal flip (p = 0.5) and colour jitter
    /// (brightness, contrast and saturation 0.2, hue 0.1).
    pub fn imagenet_train(size: usize) -> Self {
        Self::new()
            .then(RandomResizedCrop::new(size))
            .then(RandomHorizontalFlip { p: 0.5 })
            .then(ColorJitter {
                brightness: 0.2,
                contrast: 0.2,
                saturation: 0.2,
                hue: 0.1,
            })
    }

    /// The default training augmentation of a network taking `size × size` inputs:
    /// [`imagenet_train`](Self::imagenet_train) above [`SMALL_INPUT_MAX`] pixels (images of
    /// any size); below, the CIFAR recipe scaled to the size (a random `size` crop with
    /// `size / 8` pixels of padding, then a flip), which expects images of that size.
    pub fn train_for(size: usize) -> Self {
        if size > SMALL_INPUT_MAX {
            Self::imagenet_train(size)
        } else {
            Self::new()
                .then(RandomCrop {
                    size,
                    padding: size / 8,
                })
                .then(RandomHorizontalFlip { p: 0.5 })
        }
    }

    /// The default evaluation transforms of a network taking `size × size` inputs:
    /// [`imagenet_eval`](Self::imagenet_eval) above [`SMALL_INPUT_MAX`] pixels; below,
    /// none (the images must have that size).
    pub fn eval_for(size: usize) -> Self {
        if size > SMALL_INPUT_MAX {
            Self::imagenet_eval(size)
        } else {
            Self::new()
        }
    }

    /// The side of the square images the pipeline always ends with, whatever its input:
    /// that of its last crop (random, random-resized or centre); `None` when no crop comes
    /// after the last resize (the output follows the input's size).
    pub fn output_side(&self) -> Option<usize> {
        self.steps.iter().fold(None, |side, step| match step {
            Step::RandomCrop(t) => Some(t.size),
            Step::RandomResizedCrop(t) => Some(t.size),
            Step::CenterCrop(t) => Some(t.size),
            Step::Resize(_) => None,
            Step::HorizontalFlip(_) | Step::ColorJitter(_) => side,
        })
    }

    /// ImageNet evaluation: resize the short side to `size / 0.875` (256 for 224), then
    /// centre-crop `size`.
    pub fn imagenet_eval(size: usize) -> Self {
        Self::new()
            .then(Resize {
                size: (size as f64 / 0.875).round() as usize,
            })
            .then(CenterCrop { size })
    }
}

impl Transform for Pipeline {
    fn apply(&self, image: Image, rng: &mut dyn RngCore) -> Result<Image> {
        self.steps
            .iter()
            .try_fold(image, |img, step| step.apply(img, rng))
    }

    /// The first step decodes (see [`Transform::apply_encoded`]); the others follow.
    fn apply_encoded(&self, source: EncodedImage, rng: &mut dyn RngCore) -> Result<Image> {
        let Some((first, rest)) = self.steps.split_first() else {
            return source.decode();
        };
        let image = first.apply_encoded(source, rng)?;
        rest.iter()
            .try_fold(image, |img, step| step.apply(img, rng))
    }
}

/// Per-channel normalisation to `f32`: `(x / 255 - mean[c]) / std[c]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalize {
    /// Per-channel means, in `[0, 1]` units.
    pub mean: Vec<f32>,
    /// Per-channel standard deviations, in `[0, 1]` units.
    pub std: Vec<f32>,
}

impl Normalize {
    /// Checked constructor: equal, non-zero lengths and positive, finite standard deviations.
    pub fn new(mean: Vec<f32>, std: Vec<f32>) -> Result<Self> {
        if mean.is_empty() || mean.len() != std.len() {
            return Err(DataError::param(
                "Normalize",
                format!("mean {mean:?}, std {std:?}"),
                "mean and std need one (equal) entry per channel",
            ));
        }
        if std.iter().any(|&s| !(s > 0.0 && s.is_finite())) || mean.iter().any(|m| !m.is_finite()) {
            return Err(DataError::param(
                "Normalize.std",
                format!("{std:?}"),
                "must be positive and finite",
            ));
        }
        Ok(Self { mean, std })
    }

    /// CIFAR-10 training-set statistics.
    pub fn cifar10() -> Self {
        Self {
            mean: vec![0.4914, 0.4822, 0.4465],
            std: vec![0.2470, 0.2435, 0.2616],
        }
    }

    /// ImageNet statistics.
    pub fn imagenet() -> Self {
        Self {
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
        }
    }

    /// Fashion-MNIST training-set statistics.
    pub fn fashion_mnist() -> Self {
        Self {
            mean: vec![0.2860],
            std: vec![0.3530],
        }
    }

    /// One 256-entry lookup table per channel for `channels`-channel images.
    fn tables(&self, channels: usize) -> Result<Vec<[f32; 256]>> {
        if self.mean.len() != channels || self.std.len() != channels {
            return Err(transform_error(
                "Normalize",
                format!(
                    "{} means and {} stds for {channels}-channel images",
                    self.mean.len(),
                    self.std.len()
                ),
            ));
        }
        Ok((0..channels)
            .map(|c| std::array::from_fn(|v| (v as f32 / 255.0 - self.mean[c]) / self.std[c]))
            .collect())
    }
}

/// Converts 8-bit images to `f32` CHW, through [`Normalize`] or, without one, to `x / 255`.
/// Built once per channel count and reused for every image of a batch.
#[derive(Clone, Debug)]
pub struct PixelConverter {
    tables: Vec<[f32; 256]>,
}

impl PixelConverter {
    /// The converter for `channels`-channel images; fails if `normalize` has another
    /// number of channels.
    pub fn new(normalize: Option<&Normalize>, channels: usize) -> Result<Self> {
        let tables = match normalize {
            Some(n) => n.tables(channels)?,
            None => vec![std::array::from_fn(|v| v as f32 / 255.0); channels],
        };
        Ok(Self { tables })
    }

    /// Writes `image` into `out` (length `channels × height × width`) in CHW order.
    pub fn write_chw(&self, image: &Image, out: &mut [f32]) -> Result<()> {
        let [c, h, w] = image.shape_chw();
        if c != self.tables.len() || out.len() != c * h * w {
            return Err(transform_error(
                "PixelConverter",
                format!(
                    "{c}x{h}x{w} image into a buffer of {} for {} channels",
                    out.len(),
                    self.tables.len()
                ),
            ));
        }
        let plane = h * w;
        for (ch, table) in self.tables.iter().enumerate() {
            let dst = &mut out[ch * plane..(ch + 1) * plane];
            for (d, px) in dst.iter_mut().zip(image.data().chunks_exact(c)) {
                *d = table[usize::from(px[ch])];
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::derive_rng;

    /// A `w × h` image whose pixel (x, y) channel k is `10 * y + x + 100 * k` (mod 256).
    fn ramp(w: usize, h: usize, c: usize) -> Image {
        let data = (0..h)
            .flat_map(|y| {
                (0..w).flat_map(move |x| (0..c).map(move |k| ((10 * y + x + 100 * k) % 256) as u8))
            })
            .collect();
        Image::new(w, h, c, data).unwrap()
    }

    #[test]
    fn random_crop_pads_with_zeros_and_keeps_content() {
        let img = ramp(8, 6, 3);
        for seed in 0..50 {
            let out = RandomCrop {
                size: 8,
                padding: 2,
            }
            .apply(img.clone(), &mut derive_rng(&[seed]))
            .unwrap();
            assert_eq!(out.shape_chw(), [3, 8, 8]);
            // Recover the offset from the known ramp: every output pixel is either zero
            // padding or the source pixel at (x + dx, y + dy) for one common shift.
            let mut shift = None;
            for y in 0..8 {
                for x in 0..8 {
                    let p = out.pixel(x, y);
                    if p == [0, 0, 0] {
                        continue;
                    }
                    let (sx, sy) = (p[0] as usize % 10, p[0] as usize / 10);
                    let s = (sx as isize - x as isize, sy as isize - y as isize);
                    assert_eq!(*shift.get_or_insert(s), s, "seed {seed} at ({x},{y})");
                    assert_eq!(p, img.pixel(sx, sy));
                }
            }
            let (dx, dy) = shift.unwrap();
            assert!(
                (-2..=2).contains(&dx) && (-2..=2).contains(&dy),
                "{dx},{dy}"
            );
        }
    }

    #[test]
    fn random_crop_is_seeded() {
        let img = ramp(32, 32, 3);
        let t = RandomCrop {
            size: 32,
            padding: 4,
        };
        let a = t.apply(img.clone(), &mut derive_rng(&[5])).unwrap();
        let b = t.apply(img.clone(), &mut derive_rng(&[5])).unwrap();
        assert_eq!(a, b);
        let differ = (0..20).any(|s| t.apply(img.clone(), &mut derive_rng(&[s])).unwrap() != a);
        assert!(differ);
        assert!(
            RandomCrop {
                size: 41,
                padding: 4
            }
            .apply(img, &mut derive_rng(&[0]))
            .is_err()
        );
    }

    #[test]
    fn flip_mirrors_rows() {
        let img = Image::new(3, 2, 2, (0..12).collect()).unwrap();
        let flipped = RandomHorizontalFlip { p: 1.0 }
            .apply(img.clone(), &mut derive_rng(&[0]))
            .unwrap();
        assert_eq!(flipped.data(), &[4, 5, 2, 3, 0, 1, 10, 11, 8, 9, 6, 7]);
        let kept = RandomHorizontalFlip { p: 0.0 }
            .apply(img.clone(), &mut derive_rng(&[0]))
            .unwrap();
        assert_eq!(kept, img);
        let mut rng = derive_rng(&[1]);
        let flips = (0..1000)
            .filter(|_| {
                RandomHorizontalFlip { p: 0.5 }
                    .apply(img.clone(), &mut rng)
                    .unwrap()
                    != img
            })
            .count();
        assert!((430..=570).contains(&flips), "{flips}");
    }

    #[test]
    fn center_crop_and_resize() {
        let img = ramp(7, 5, 1);
        let c = CenterCrop { size: 3 }
            .apply(img.clone(), &mut derive_rng(&[0]))
            .unwrap();
        // Offsets (2, 1): first row is source row 1, columns 2..5.
        assert_eq!(&c.data()[..3], &[12, 13, 14]);
        assert!(
            CenterCrop { size: 6 }
                .apply(img.clone(), &mut derive_rng(&[0]))
                .is_err()
        );

        let r = Resize { size: 10 }
            .apply(ramp(20, 40, 3), &mut derive_rng(&[0]))
            .unwrap();
        assert_eq!(r.shape_chw(), [3, 20, 10]);
        let r = Resize { size: 4 }
            .apply(ramp(6, 4, 1), &mut derive_rng(&[0]))
            .unwrap();
        assert_eq!(r.shape_chw(), [1, 4, 6]);
        // Same size: exact copy.
        assert_eq!(r.data(), ramp(6, 4, 1).data());
        // A flat image stays flat under resampling.
        let flat = Image::new(9, 9, 3, vec![77; 243]).unwrap();
        let r = Resize { size: 4 }
            .apply(flat, &mut derive_rng(&[0]))
            .unwrap();
        assert!(r.data().iter().all(|&v| v == 77));
    }

    #[test]
    fn random_resized_crop_shapes_and_seeds() {
        let t = RandomResizedCrop::new(16);
        let img = ramp(40, 30, 3);
        let a = t.apply(img.clone(), &mut derive_rng(&[3])).unwrap();
        assert_eq!(a.shape_chw(), [3, 16, 16]);
        assert_eq!(a, t.apply(img.clone(), &mut derive_rng(&[3])).unwrap());
        for s in 0..200 {
            let (x0, y0, w, h) = t.window(40, 30, &mut derive_rng(&[s]));
            assert!(x0 + w <= 40 && y0 + h <= 30 && w > 0 && h > 0);
            let area = (w * h) as f64 / 1200.0;
            let ratio = w as f64 / h as f64;
            assert!((0.05..=1.0).contains(&area), "area {area}");
            assert!((0.7..=1.45).contains(&ratio), "ratio {ratio}");
        }
        // Extreme aspect image falls back to a centre crop with the ratio clamped.
        let narrow = RandomResizedCrop {
            size: 4,
            scale: [0.99, 1.0],
            ratio: [1.0, 1.0],
        };
        assert_eq!(
            narrow.window(100, 10, &mut derive_rng(&[0])),
            (45, 0, 10, 10)
        );
    }

    #[test]
    fn color_jitter_values() {
        // Brightness only, factor drawn in [0.5, 1.5]; the output must be round(x * f).
        let img = Image::new(2, 1, 3, vec![100, 50, 200, 10, 20, 30]).unwrap();
        let t = ColorJitter {
            brightness: 0.5,
            contrast: 0.0,
            saturation: 0.0,
            hue: 0.0,
        };
        let out = t.apply(img.clone(), &mut derive_rng(&[4])).unwrap();
        let f = out.data()[0] as f32 / 100.0;
        assert!((0.5..=1.5).contains(&f));
        for (o, i) in out.data().iter().zip(img.data()) {
            assert!(
                (f32::from(*o) - (f32::from(*i) * f).min(255.0)).abs() <= 1.0,
                "{o} vs {i}*{f}"
            );
        }
        // Saturation 0 factor range [0, 2]; a gray image is unchanged by saturation.
        let gray = Image::new(2, 2, 3, vec![90; 12]).unwrap();
        let t = ColorJitter {
            brightness: 0.0,
            contrast: 0.9,
            saturation: 1.0,
            hue: 0.4,
        };
        assert_eq!(t.apply(gray.clone(), &mut derive_rng(&[1])).unwrap(), gray);
        assert_eq!(
            t.apply(img.clone(), &mut derive_rng(&[2])).unwrap(),
            t.apply(img, &mut derive_rng(&[2])).unwrap()
        );
    }

    #[test]
    fn hue_rotates_through_hsv() {
        let rotated = |rgb: [f32; 3], shift: f32| {
            let mut p = rgb;
            rotate_hue(&mut p, shift);
            p.map(|v| v.round())
        };
        // A third of a turn takes the primaries to the next one.
        assert_eq!(rotated([255.0, 0.0, 0.0], 1.0 / 3.0), [0.0, 255.0, 0.0]);
        assert_eq!(rotated([0.0, 255.0, 0.0], 1.0 / 3.0), [0.0, 0.0, 255.0]);
        assert_eq!(rotated([0.0, 0.0, 255.0], -1.0 / 3.0), [0.0, 255.0, 0.0]);
        // Half a turn: the complement, same value and saturation.
        assert_eq!(rotated([200.0, 100.0, 50.0], 0.5), [50.0, 150.0, 200.0]);
        // Grays have no hue.
        assert_eq!(rotated([90.0, 90.0, 90.0], 0.3), [90.0, 90.0, 90.0]);
        // There and back.
        let mut p = [37.0f32, 180.0, 99.0];
        rotate_hue(&mut p, 0.137);
        rotate_hue(&mut p, -0.137);
        for (a, b) in p.iter().zip([37.0f32, 180.0, 99.0]) {
            assert!((a - b).abs() < 1e-3, "{p:?}");
        }
        let too_strong = ColorJitter {
            brightness: 0.0,
            contrast: 0.0,
            saturation: 0.0,
            hue: 0.6,
        };
        let img = Image::new(1, 1, 3, vec![1, 2, 3]).unwrap();
        assert!(too_strong.apply(img, &mut derive_rng(&[0])).is_err());
    }

    #[test]
    fn default_pipelines_follow_the_input_size() {
        assert_eq!(Pipeline::train_for(32), Pipeline::cifar_train());
        assert_eq!(Pipeline::train_for(224), Pipeline::imagenet_train(224));
        assert_eq!(Pipeline::eval_for(28), Pipeline::new());
        assert_eq!(Pipeline::eval_for(224), Pipeline::imagenet_eval(224));
        assert_eq!(Pipeline::train_for(28).output_side(), Some(28));
        assert_eq!(Pipeline::imagenet_train(224).output_side(), Some(224));
        assert_eq!(Pipeline::imagenet_eval(192).output_side(), Some(192));
        assert_eq!(Pipeline::new().output_side(), None);
        assert_eq!(
            Pipeline::new().then(Resize { size: 40 }).output_side(),
            None,
            "a resize alone keeps the aspect ratio"
        );
    }

    /// (sum of all bytes, first pixel, last pixel) of an image.
    fn fingerprint(img: &Image) -> (u64, [u8; 3], [u8; 3]) {
        let sum = img.data().iter().map(|&v| u64::from(v)).sum();
        let last = img.pixel(img.width() - 1, img.height() - 1);
        (
            sum,
            img.pixel(0, 0).try_into().unwrap(),
            last.try_into().unwrap(),
        )
    }

    #[test]
    fn recipes_are_pinned_for_a_fixed_seed() {
        // Exact outputs for seed 42, recorded when the transforms were written: a change here
        // means runs are no longer reproducible against earlier results.
        let cifar = Pipeline::cifar_train()
            .apply(ramp(32, 32, 3), &mut derive_rng(&[42]))
            .unwrap();
        assert_eq!(fingerprint(&cifar), PINNED_CIFAR);
        let imagenet = Pipeline::imagenet_train(16)
            .apply(ramp(48, 40, 3), &mut derive_rng(&[42]))
            .unwrap();
        assert_eq!(fingerprint(&imagenet), PINNED_IMAGENET);
    }

    const PINNED_CIFAR: (u64, [u8; 3], [u8; 3]) = (326_834, [14, 114, 214], [0, 0, 0]);
    // Re-pinned when the ImageNet recipe became the reference's (jitter 0.2 and hue 0.1
    // instead of 0.4 without hue), and again when resizing moved to `fast_image_resize`.
    const PINNED_IMAGENET: (u64, [u8; 3], [u8; 3]) = (108_326, [55, 163, 78], [185, 229, 61]);

    #[test]
    fn pipeline_serde_round_trip_and_presets() {
        let p = Pipeline::imagenet_train(224);
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"op\":\"random_resized_crop\""), "{json}");
        assert_eq!(serde_json::from_str::<Pipeline>(&json).unwrap(), p);
        let e = Pipeline::imagenet_eval(224);
        assert_eq!(e.steps[0], Step::Resize(Resize { size: 256 }));
        let out = e.apply(ramp(300, 400, 3), &mut derive_rng(&[0])).unwrap();
        assert_eq!(out.shape_chw(), [3, 224, 224]);
        let out = Pipeline::cifar_train()
            .apply(ramp(32, 32, 3), &mut derive_rng(&[0]))
            .unwrap();
        assert_eq!(out.shape_chw(), [3, 32, 32]);
    }

    #[test]
    fn normalize_writes_chw_values() {
        let img = Image::new(2, 1, 3, vec![0, 51, 255, 255, 102, 0]).unwrap();
        let n = Normalize::new(vec![0.0, 0.2, 0.5], vec![1.0, 0.5, 0.25]).unwrap();
        let conv = PixelConverter::new(Some(&n), 3).unwrap();
        let mut out = vec![0.0; 6];
        conv.write_chw(&img, &mut out).unwrap();
        let expected = [0.0, 1.0, 0.0, 0.4, 2.0, -2.0];
        for (o, e) in out.iter().zip(expected) {
            assert!((o - e).abs() < 1e-6, "{out:?}");
        }
        let plain = PixelConverter::new(None, 3).unwrap();
        plain.write_chw(&img, &mut out).unwrap();
        assert_eq!(out[..2], [0.0, 1.0]);
        assert!(PixelConverter::new(Some(&n), 1).is_err());
        assert!(Normalize::new(vec![0.5], vec![0.0]).is_err());
        assert!(Normalize::new(vec![0.5, 0.5], vec![1.0]).is_err());
    }
}
