//! Every pipeline gives the configured shape whatever the file: grayscale, RGBA and 16-bit
//! PNG, grayscale and CMYK JPEG, images smaller than the crop, one pixel wide or high;
//! decoded to RGB or to one channel, first and then transformed or by the transform
//! ([`Transform::apply_encoded`], with libjpeg-turbo's scaled decoding when built in).

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, Rgb, Rgba};
use nse_data::rng::derive_rng;
use nse_data::{EncodedImage, Pipeline, Transform, decode_image};

fn ramp(w: u32, h: u32) -> ImageBuffer<Rgb<u8>, Vec<u8>> {
    ImageBuffer::from_fn(w, h, |x, y| {
        Rgb([(x * 7) as u8, (y * 5) as u8, ((x + y) * 3) as u8])
    })
}

/// A CMYK JPEG (Adobe's four-component kind, which some photo tools write).
fn cmyk_jpeg(w: u16, h: u16) -> Vec<u8> {
    let data: Vec<u8> = (0..usize::from(w) * usize::from(h))
        .flat_map(|i| [(i * 7) as u8, (i * 3) as u8, 40, (i % 50) as u8])
        .collect();
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&data, w, h, jpeg_encoder::ColorType::Cmyk)
        .unwrap();
    out
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

/// `(name, file bytes, file name)` of every kind of input tried.
fn inputs() -> Vec<(String, Vec<u8>, &'static str)> {
    let mut out = Vec::new();
    for (w, h) in [(300, 220), (20, 30), (1, 90), (90, 1), (1, 1)] {
        let rgb = ramp(w, h);
        let gray = DynamicImage::ImageLuma8(ImageBuffer::from_fn(w, h, |x, y| {
            Luma([rgb.get_pixel(x, y)[0]])
        }));
        let rgba = DynamicImage::ImageRgba8(ImageBuffer::from_fn(w, h, |x, y| {
            let p = rgb.get_pixel(x, y);
            Rgba([p[0], p[1], p[2], (x * 3) as u8])
        }));
        let deep = DynamicImage::ImageRgb16(ImageBuffer::from_fn(w, h, |x, y| {
            let p = rgb.get_pixel(x, y);
            Rgb([u16::from(p[0]) * 257, u16::from(p[1]) * 250, 65535])
        }));
        let rgb = DynamicImage::ImageRgb8(rgb);
        for (kind, image, format, file) in [
            ("rgb jpeg", &rgb, ImageFormat::Jpeg, "a.jpg"),
            ("gray jpeg", &gray, ImageFormat::Jpeg, "a.jpg"),
            ("gray png", &gray, ImageFormat::Png, "a.png"),
            ("rgba png", &rgba, ImageFormat::Png, "a.png"),
            ("16-bit png", &deep, ImageFormat::Png, "a.png"),
        ] {
            out.push((format!("{kind} {w}x{h}"), encode(image, format), file));
        }
        out.push((
            format!("cmyk jpeg {w}x{h}"),
            cmyk_jpeg(w as u16, h as u16),
            "a.jpg",
        ));
    }
    out
}

#[test]
fn every_pipeline_gives_its_shape_from_odd_inputs() {
    let pipelines = [
        ("imagenet train 64", Pipeline::imagenet_train(64), 64),
        ("imagenet eval 64", Pipeline::imagenet_eval(64), 64),
        ("default train 96", Pipeline::train_for(96), 96),
    ];
    for (name, bytes, file) in inputs() {
        for channels in [3, 1] {
            let image = decode_image(Path::new(file), &bytes, channels)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(image.channels(), channels, "{name}");
            for (label, pipeline, size) in &pipelines {
                for seed in 0..3 {
                    let out = pipeline
                        .apply(image.clone(), &mut derive_rng(&[seed]))
                        .unwrap_or_else(|e| panic!("{name}, {label}: {e}"));
                    assert_eq!(
                        out.shape_chw(),
                        [channels, *size, *size],
                        "{name}, {label}, {channels} channels"
                    );
                    for scaled in [false, true] {
                        let source = EncodedImage {
                            path: file.into(),
                            bytes: bytes.clone(),
                            channels,
                            scaled,
                        };
                        let decoding = pipeline
                            .apply_encoded(source, &mut derive_rng(&[seed]))
                            .unwrap_or_else(|e| panic!("{name}, {label}, encoded: {e}"));
                        assert_eq!(decoding.shape_chw(), out.shape_chw(), "{name}, {label}");
                        if !scaled {
                            assert_eq!(decoding, out, "{name}, {label}: same decode, same output");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn the_small_image_recipes_need_their_size_and_say_so() {
    // The CIFAR crop pads and crops at the input's own size: a 32x32 network needs 32x32
    // images, and a 20x30 one is an error naming the sizes, not a wrong shape later.
    let image = decode_image(
        Path::new("a.png"),
        &encode(&DynamicImage::ImageRgb8(ramp(20, 30)), ImageFormat::Png),
        3,
    )
    .unwrap();
    let err = Pipeline::train_for(32)
        .apply(image, &mut derive_rng(&[0]))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("crop 32x32 does not fit a 20x30 image padded by 4"),
        "{err}"
    );
}
