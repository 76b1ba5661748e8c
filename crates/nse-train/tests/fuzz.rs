//! Every reader of outside input, fed random and mutated bytes, answers with a value or an
//! error and never panics: the op text parser, the architecture's text and JSON forms, the
//! search config JSON (parsed and checked), the idx readers (plain and gzip), the
//! CIFAR-binary reader and the JPEG/PNG decoder. The inputs come from a fixed seed, so a
//! failure reproduces; the test prints how many inputs each reader saw and refused.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use nse_space::Architecture;
use nse_train::data::{
    IdxImages, decode_image, load_cifar10_files, read_idx_images, read_idx_labels,
    write_idx_images, write_idx_labels,
};
use nse_train::search::SearchConfig;

/// Inputs per reader: half mutations of valid inputs, half random bytes.
const INPUTS: usize = 400;

/// A mutation of `valid`: bytes flipped, replaced, inserted, removed, or the input cut.
fn mutate(valid: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut bytes = valid.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let at = rng.random_range(0..=bytes.len());
        match rng.random_range(0..5) {
            0 if at < bytes.len() => bytes[at] ^= 1 << rng.random_range(0..8),
            1 if at < bytes.len() => bytes[at] = rng.random(),
            2 => bytes.insert(at, rng.random()),
            3 if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

fn random_bytes(rng: &mut ChaCha8Rng, max: usize) -> Vec<u8> {
    let n = rng.random_range(0..=max);
    (0..n).map(|_| rng.random()).collect()
}

/// Feeds `reader` INPUTS inputs derived from `valid`; panics (naming the input) if it
/// panics. Returns how many it refused.
fn fuzz(name: &str, valid: &[Vec<u8>], seed: u64, reader: impl Fn(&[u8]) -> bool) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for v in valid {
        assert!(reader(v), "{name}: the valid input is refused");
    }
    let mut refused = 0;
    for i in 0..INPUTS {
        let input = if i % 2 == 0 {
            mutate(&valid[i / 2 % valid.len()], &mut rng)
        } else {
            random_bytes(&mut rng, 2 * valid.iter().map(Vec::len).max().unwrap_or(64))
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| reader(&input)));
        match outcome {
            Ok(true) => {}
            Ok(false) => refused += 1,
            Err(_) => panic!("{name} panicked on input {i} (seed {seed}): {input:?}"),
        }
    }
    println!("fuzz {name}: {INPUTS} inputs, {refused} refused with an error, no panic");
    refused
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nse-fuzz-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `bytes` to `path` and runs `read` on it.
fn through_file(path: &Path, bytes: &[u8], read: impl Fn(&Path) -> bool) -> bool {
    std::fs::write(path, bytes).unwrap();
    read(path)
}

#[test]
fn text_and_json_parsers_refuse_bad_input_without_panicking() {
    let ops: Vec<Vec<u8>> = [
        "ir_k3_e6",
        "rec_k5_e2",
        "dual_k3_e1_se",
        "conv_k3_e1",
        "ir_k5_e3_d2",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    fuzz("op text", &ops, 1, |b| {
        text(b).parse::<nse_ops::OpSpec>().is_ok()
    });

    let arch = "16+24 | 1+2 | 18+21 | 13+15+22 | 6+10+14 | 17 | 0+9+13+16";
    fuzz("architecture text", &[arch.as_bytes().to_vec()], 2, |b| {
        text(b).parse::<Architecture>().is_ok()
    });
    let parsed: Architecture = arch.parse().unwrap();
    let json = serde_json::to_vec(&parsed).unwrap();
    fuzz("architecture JSON", &[json], 3, |b| {
        serde_json::from_slice::<Architecture>(b).is_ok()
    });

    let configs: Vec<Vec<u8>> = ["demo", "demo-latency", "cifar10"]
        .iter()
        .map(|p| serde_json::to_vec_pretty(&SearchConfig::preset(p).unwrap()).unwrap())
        .collect();
    fuzz("search config JSON", &configs, 4, |b| {
        // The whole plan (validation included) where it needs no file; validation alone
        // where the plan would read a latency table from disk.
        serde_json::from_slice::<SearchConfig>(b).is_ok_and(|c| match c.resource.latency_table {
            Some(_) => c.validate().is_ok(),
            None => c.check().is_ok(),
        })
    });
}

#[test]
fn data_readers_refuse_bad_files_without_panicking() {
    let dir = scratch("data");
    let images = IdxImages {
        count: 3,
        rows: 4,
        cols: 5,
        pixels: (0..60).map(|i| i as u8).collect(),
    };
    write_idx_images(dir.join("images.idx"), &images).unwrap();
    write_idx_labels(dir.join("labels.idx"), &[1, 7, 3]).unwrap();
    let valid_images = std::fs::read(dir.join("images.idx")).unwrap();
    let valid_labels = std::fs::read(dir.join("labels.idx")).unwrap();
    // The same files gzip-compressed (the readers un-gzip by their magic bytes).
    let gzip = |bytes: &[u8]| {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    };
    let path = dir.join("fuzz.idx");
    fuzz(
        "idx images",
        &[valid_images.clone(), gzip(&valid_images)],
        5,
        |b| through_file(&path, b, |p| read_idx_images(p).is_ok()),
    );
    fuzz(
        "idx labels",
        &[valid_labels.clone(), gzip(&valid_labels)],
        6,
        |b| through_file(&path, b, |p| read_idx_labels(p).is_ok()),
    );

    // Two CIFAR-10 binary records: a label byte and 3 × 32 × 32 pixels each.
    let record: Vec<u8> = std::iter::once(3u8)
        .chain((0..3072).map(|i| (i % 251) as u8))
        .collect();
    let cifar = [record.clone(), record].concat();
    let classes: Vec<String> = (0..10).map(|c| format!("class{c}")).collect();
    let path = dir.join("fuzz.bin");
    fuzz("CIFAR binary", &[cifar], 7, |b| {
        through_file(&path, b, |p| {
            load_cifar10_files(&[p.to_path_buf()], classes.clone()).is_ok()
        })
    });

    // A PNG and a JPEG of 8 x 6 pixels.
    let picture =
        image::RgbImage::from_fn(8, 6, |x, y| image::Rgb([x as u8 * 30, y as u8 * 40, 7]));
    let encoded = |format| {
        let mut out = Cursor::new(Vec::new());
        picture.write_to(&mut out, format).unwrap();
        out.into_inner()
    };
    let pictures = [
        encoded(image::ImageFormat::Png),
        encoded(image::ImageFormat::Jpeg),
    ];
    fuzz("JPEG/PNG decoder", &pictures, 8, |b| {
        decode_image(Path::new("fuzz.img"), b, 3).is_ok()
    });
    std::fs::remove_dir_all(&dir).unwrap();
}
