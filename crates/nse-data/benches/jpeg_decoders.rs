//! JPEG decoders side by side, to choose the loader's decoder by measurement (issue 17).
//!
//! ```text
//! CARGO_TARGET_DIR=/var/tmp/nse-target cargo bench -p nse-data --bench jpeg_decoders \
//!     [--features libjpeg-turbo] -- DIR [DIR ...]
//! ```
//!
//! Every `.jpg`/`.jpeg` file under each `DIR` (trees made by the `make_imagenet_like`
//! example) is read into memory first, so only decoding is timed, on one thread, into RGB:
//!
//! - `image`: the `image` crate, which decodes with `zune-jpeg` (what the loader used before);
//! - `zune-jpeg`: the same decoder called directly;
//! - `jpeg-decoder`: at full size and DCT-scaled to 1/2, 1/4 and 1/8;
//! - `libjpeg-turbo` (feature `libjpeg-turbo`, needs Debian's `libturbojpeg0-dev`): the
//!   system library as the loader calls it ([`nse_data::EncodedImage`]), at full size and
//!   DCT-scaled.
//!
//! One line per decoder and scale: images/s and megapixels (of the source) per second, after
//! one untimed pass over the tree. `NSE_BENCH_PASSES` sets the timed passes (default 3).

use std::path::{Path, PathBuf};
use std::time::Instant;

fn jpeg_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            jpeg_files(&path, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg"))
        {
            out.push(path);
        }
    }
}

/// One decoder: a name and a function from JPEG bytes to (width, height, RGB pixels).
type Decode = Box<dyn Fn(&[u8]) -> (usize, usize, Vec<u8>)>;

fn decoders() -> Vec<(String, Decode)> {
    let mut list: Vec<(String, Decode)> = vec![
        (
            "image 0.25 (zune-jpeg)".into(),
            Box::new(|bytes: &[u8]| {
                let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg)
                    .expect("image")
                    .into_rgb8();
                (img.width() as usize, img.height() as usize, img.into_raw())
            }),
        ),
        (
            "zune-jpeg 0.5".into(),
            Box::new(|bytes: &[u8]| {
                let options = zune_core::options::DecoderOptions::default()
                    .jpeg_set_out_colorspace(zune_core::colorspace::ColorSpace::RGB);
                let mut d = zune_jpeg::JpegDecoder::new_with_options(
                    zune_core::bytestream::ZCursor::new(bytes),
                    options,
                );
                let data = d.decode().expect("zune-jpeg");
                let info = d.info().expect("info");
                (info.width as usize, info.height as usize, data)
            }),
        ),
    ];
    for denom in [1u16, 2, 4, 8] {
        list.push((
            format!("jpeg-decoder 0.3 at 1/{denom}"),
            Box::new(move |bytes: &[u8]| {
                let mut d = jpeg_decoder::Decoder::new(bytes);
                d.read_info().expect("jpeg-decoder header");
                let info = d.info().expect("info");
                let (w, h) = d
                    .scale(info.width.div_ceil(denom), info.height.div_ceil(denom))
                    .expect("scale");
                let data = d.decode().expect("jpeg-decoder");
                assert_eq!(data.len(), w as usize * h as usize * 3, "RGB output");
                (w as usize, h as usize, data)
            }),
        ));
    }
    #[cfg(feature = "libjpeg-turbo")]
    for denom in [1usize, 2, 4, 8] {
        list.push((
            format!("libjpeg-turbo at 1/{denom}"),
            Box::new(move |bytes: &[u8]| {
                let source = nse_data::EncodedImage {
                    path: "x.jpg".into(),
                    bytes: bytes.to_vec(),
                    channels: 3,
                    scaled: true,
                };
                let (w, h) = source.scalable_size().expect("a JPEG libjpeg-turbo scales");
                let img = source
                    .decode_at_least(w.div_ceil(denom), h.div_ceil(denom))
                    .expect("libjpeg-turbo");
                assert_eq!(img.width(), w.div_ceil(denom), "scale 1/{denom}");
                (img.width(), img.height(), img.into_data())
            }),
        ));
    }
    list
}

fn main() {
    let dirs: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    if dirs.is_empty() {
        eprintln!("usage: cargo bench -p nse-data --bench jpeg_decoders -- DIR [DIR ...]");
        return;
    }
    let passes: usize = std::env::var("NSE_BENCH_PASSES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    for dir in dirs {
        let mut files = Vec::new();
        jpeg_files(&dir, &mut files);
        let images: Vec<Vec<u8>> = files
            .iter()
            .map(|p| std::fs::read(p).expect("read"))
            .collect();
        let full = decoders();
        let sizes: Vec<(usize, usize)> = images
            .iter()
            .map(|b| {
                let (w, h, _) = (full[0].1)(b);
                (w, h)
            })
            .collect();
        let megapixels: f64 = sizes.iter().map(|&(w, h)| (w * h) as f64).sum::<f64>() / 1e6;
        let (min, max) = sizes.iter().fold((usize::MAX, 0), |(lo, hi), &(w, h)| {
            (lo.min(w.min(h)), hi.max(w.max(h)))
        });
        println!(
            "{}: {} JPEGs, sides {min}-{max} px, {:.1} MB; {passes} timed passes, 1 thread",
            dir.display(),
            images.len(),
            images.iter().map(Vec::len).sum::<usize>() as f64 / 1e6
        );
        for (name, decode) in &full {
            for b in &images {
                std::hint::black_box(decode(b));
            }
            let start = Instant::now();
            for _ in 0..passes {
                for b in &images {
                    std::hint::black_box(decode(b));
                }
            }
            let secs = start.elapsed().as_secs_f64();
            let n = (images.len() * passes) as f64;
            println!(
                "  {name:<28} {:>8.1} images/s {:>8.1} source MP/s",
                n / secs,
                megapixels * passes as f64 / secs
            );
        }
    }
}
