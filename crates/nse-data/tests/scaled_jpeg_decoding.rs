//! libjpeg-turbo decoding and DCT-scaled decoding (feature `libjpeg-turbo`): the scale is the
//! smallest that keeps the pixels a transform needs, the outputs keep their size, the random
//! streams are the same as with full decoding, and the pixels stay close to full decoding.
#![cfg(feature = "libjpeg-turbo")]

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use burn::tensor::Device;
use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};
use nse_data::rng::derive_rng;
use nse_data::transform::RandomResizedCrop;
use nse_data::{
    EncodedImage, Image, ImageFolder, ImageFolderOptions, Loader, LoaderConfig, Pipeline, Position,
    Transform, decode_image,
};
use rand_chacha::rand_core::RngCore;

/// A photo-like picture: smooth gradients and low-frequency waves, so that decoding at a
/// reduced scale and resizing agree closely with resizing the full image.
fn photo(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(w, h, |x, y| {
        let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
        let wave = ((u * 9.0).sin() * (v * 7.0).cos() * 60.0) as i32;
        Rgb([
            (40 + (u * 150.0) as i32 + wave).clamp(0, 255) as u8,
            (60 + (v * 120.0) as i32 - wave / 2).clamp(0, 255) as u8,
            (200 - (u * v * 150.0) as i32 + wave / 3).clamp(0, 255) as u8,
        ])
    }))
}

fn jpeg(image: &DynamicImage) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, ImageFormat::Jpeg).unwrap();
    bytes.into_inner()
}

fn source(bytes: &[u8], scaled: bool) -> EncodedImage {
    EncodedImage {
        path: "a.jpg".into(),
        bytes: bytes.to_vec(),
        channels: 3,
        scaled,
    }
}

fn mean_abs_diff(a: &Image, b: &Image) -> f64 {
    assert_eq!(a.shape_chw(), b.shape_chw());
    let sum: u64 = a
        .data()
        .iter()
        .zip(b.data())
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f64 / a.data().len() as f64
}

#[test]
fn libjpeg_turbo_decodes_as_the_image_crate_does() {
    let bytes = jpeg(&photo(640, 480));
    let turbo = decode_image(Path::new("a.jpg"), &bytes, 3).unwrap();
    let reference = image::load_from_memory(&bytes).unwrap().into_rgb8();
    let reference = Image::new(640, 480, 3, reference.into_raw()).unwrap();
    let diff = mean_abs_diff(&turbo, &reference);
    assert!(diff < 1.0, "mean |libjpeg-turbo - zune-jpeg| = {diff}");
    let gray = decode_image(Path::new("a.jpg"), &bytes, 1).unwrap();
    assert_eq!(gray.shape_chw(), [1, 480, 640]);
}

#[test]
fn the_smallest_scale_that_keeps_the_pixels_asked_for() {
    let bytes = jpeg(&photo(1600, 1200));
    let scaled = source(&bytes, true);
    assert_eq!(scaled.scalable_size(), Some((1600, 1200)));
    for (min, expected) in [
        ((200, 150), (200, 150)),
        ((256, 256), (400, 300)),
        ((401, 1), (800, 600)),
        ((1, 601), (1600, 1200)),
        ((1600, 1200), (1600, 1200)),
    ] {
        let image = scaled.decode_at_least(min.0, min.1).unwrap();
        assert_eq!(
            (image.width(), image.height()),
            expected,
            "at least {min:?}"
        );
    }
    let full = source(&bytes, false);
    assert_eq!(full.scalable_size(), None, "scaling turned off");
    let image = full.decode_at_least(200, 150).unwrap();
    assert_eq!((image.width(), image.height()), (1600, 1200));
    let png = {
        let mut bytes = Cursor::new(Vec::new());
        photo(64, 64)
            .write_to(&mut bytes, ImageFormat::Png)
            .unwrap();
        bytes.into_inner()
    };
    assert_eq!(source(&png, true).scalable_size(), None, "PNG");
}

#[test]
fn scaled_pipelines_draw_the_same_numbers_and_stay_close_to_full_decoding() {
    let bytes = jpeg(&photo(1600, 1200));
    let full = decode_image(Path::new("a.jpg"), &bytes, 3).unwrap();
    let pipelines = [
        (
            "random resized crop",
            Pipeline::new().then(RandomResizedCrop::new(224)),
        ),
        ("imagenet train", Pipeline::imagenet_train(224)),
        ("imagenet eval", Pipeline::imagenet_eval(224)),
    ];
    for (name, pipeline) in pipelines {
        let mut differing = 0;
        for seed in 0..12 {
            let (mut a, mut b) = (derive_rng(&[seed]), derive_rng(&[seed]));
            let reference = pipeline.apply(full.clone(), &mut a).unwrap();
            let scaled = pipeline
                .apply_encoded(source(&bytes, true), &mut b)
                .unwrap();
            assert_eq!(
                a.next_u64(),
                b.next_u64(),
                "{name}, seed {seed}: same stream"
            );
            let diff = mean_abs_diff(&reference, &scaled);
            assert!(diff < 2.0, "{name}, seed {seed}: mean difference {diff}");
            differing += usize::from(reference != scaled);
        }
        assert!(
            differing > 0,
            "{name}: no output was decoded at a reduced scale"
        );
    }
}

#[test]
fn the_loader_streams_scaled_and_preloads_in_full() {
    let dir = std::env::temp_dir().join(format!("nse-scaled-jpeg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (class, side) in [("a", 900), ("b", 1300)] {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        for i in 0..3 {
            let bytes = jpeg(&photo(side + 40 * i, side - 30 * i));
            std::fs::write(dir.join(class).join(format!("{i}.jpg")), bytes).unwrap();
        }
    }
    let open = |preload: bool, scaled_decoding: bool| {
        let options = ImageFolderOptions {
            preload,
            scaled_decoding,
            ..Default::default()
        };
        Arc::new(ImageFolder::open(&dir, &options).unwrap())
    };
    let batches = |data: Arc<ImageFolder>, pipeline: Pipeline| {
        let config = LoaderConfig::new(4).with_seed(3).with_workers(2);
        let loader = Loader::new(data, pipeline, config, Device::flex()).unwrap();
        loader
            .host_epoch_from(Position { epoch: 1, batch: 0 })
            .unwrap()
            .map(|b| b.unwrap())
            .collect::<Vec<_>>()
    };
    for pipeline in [Pipeline::imagenet_train(224), Pipeline::imagenet_eval(224)] {
        let preloaded = batches(open(true, true), pipeline.clone());
        let exact = batches(open(false, false), pipeline.clone());
        let scaled = batches(open(false, true), pipeline.clone());
        assert!(open(true, true).is_preloaded());
        assert_eq!(preloaded.len(), 2);
        for ((p, e), s) in preloaded.iter().zip(&exact).zip(&scaled) {
            assert_eq!(p.labels, e.labels);
            assert_eq!(p.labels, s.labels);
            assert_eq!(p.images, e.images, "streamed without scaling = preloaded");
            let diff = p
                .images
                .iter()
                .zip(&s.images)
                .map(|(x, y)| f64::from((x - y).abs()))
                .sum::<f64>()
                / p.images.len() as f64;
            assert!(diff < 2.0 / 255.0, "scaled streaming differs by {diff}");
            assert_ne!(p.images, s.images, "scaled decoding was used");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
