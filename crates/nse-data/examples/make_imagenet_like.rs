//! Builds an ImageNet-like image-folder tree from the CIFAR-10 JPEG archive: each image
//! upscaled to a random size (sides drawn independently, 300 to 500 pixels by default) and
//! saved as JPEG, under `OUT/train/<class>/` and `OUT/test/<class>/`. For the loader
//! benchmark and the ImageNet-preset runs on a machine without ImageNet; nothing of it is
//! committed.
//!
//! ```text
//! cargo run -p nse-data --example make_imagenet_like -- \
//!     --archive ../shared/data/cifar10/cifar10_jpg_q75.tar.gz --out /var/tmp/imagenet-like \
//!     --train-per-class 100 --test-per-class 20
//! ```
//!
//! Options: `--cache DIR` (where the archive is extracted once; default
//! `/var/tmp/nse-data/cifar10`), `--min N` and `--max N` (side range, default 300 and 500),
//! `--quality Q` (JPEG quality, default 90), `--seed S` (default 0). Deterministic for its
//! options; the images taken are the first of each class folder in name order.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use nse_data::rng::{below, derive_rng};

const USAGE: &str = "usage: make_imagenet_like --archive FILE --out DIR [--cache DIR] \
                     [--train-per-class N] [--test-per-class N] [--min N] [--max N] \
                     [--quality Q] [--seed S]";

struct Args {
    archive: PathBuf,
    cache: PathBuf,
    out: PathBuf,
    per_class: [usize; 2],
    sides: [usize; 2],
    quality: u8,
    seed: u64,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        archive: PathBuf::new(),
        cache: PathBuf::from("/var/tmp/nse-data/cifar10"),
        out: PathBuf::new(),
        per_class: [100, 20],
        sides: [300, 500],
        quality: 90,
        seed: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = |v: &str| -> Result<usize, String> {
            v.parse()
                .map_err(|_| format!("{flag}: `{v}` is not a number\n{USAGE}"))
        };
        match flag.as_str() {
            "--archive" => args.archive = value.into(),
            "--cache" => args.cache = value.into(),
            "--out" => args.out = value.into(),
            "--train-per-class" => args.per_class[0] = number(&value)?,
            "--test-per-class" => args.per_class[1] = number(&value)?,
            "--min" => args.sides[0] = number(&value)?,
            "--max" => args.sides[1] = number(&value)?,
            "--quality" => {
                args.quality = u8::try_from(number(&value)?)
                    .ok()
                    .filter(|q| (1..=100).contains(q))
                    .ok_or_else(|| format!("--quality: 1 to 100\n{USAGE}"))?;
            }
            "--seed" => args.seed = number(&value)? as u64,
            other => return Err(format!("unknown option `{other}`\n{USAGE}")),
        }
    }
    if args.archive.as_os_str().is_empty() || args.out.as_os_str().is_empty() {
        return Err(USAGE.into());
    }
    if args.sides[0] == 0 || args.sides[0] > args.sides[1] {
        return Err(format!("--min must be positive and at most --max\n{USAGE}"));
    }
    Ok(args)
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .map(|e| e.map(|e| e.path()).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    Ok(entries)
}

fn run(args: &Args) -> Result<usize, String> {
    let root =
        nse_data::extract_tar_gz_cached(&args.archive, &args.cache).map_err(|e| e.to_string())?;
    let mut written = 0;
    for (split, per_class) in ["train", "test"].into_iter().zip(args.per_class) {
        for class_dir in sorted_entries(&root.join(split))? {
            let class = class_dir.file_name().unwrap_or_default().to_owned();
            let out_dir = args.out.join(split).join(&class);
            std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
            for (i, file) in sorted_entries(&class_dir)?
                .into_iter()
                .take(per_class)
                .enumerate()
            {
                let image = image::open(&file).map_err(|e| format!("{}: {e}", file.display()))?;
                let mut rng = derive_rng(&[args.seed, written as u64]);
                let span = args.sides[1] - args.sides[0] + 1;
                let w = args.sides[0] + below(&mut rng, span);
                let h = args.sides[0] + below(&mut rng, span);
                let big = image.resize_exact(w as u32, h as u32, FilterType::Triangle);
                let path = out_dir.join(format!("{i:05}.jpg"));
                let mut out = std::io::BufWriter::new(
                    std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?,
                );
                JpegEncoder::new_with_quality(&mut out, args.quality)
                    .encode_image(&big.to_rgb8())
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                written += 1;
            }
        }
    }
    Ok(written)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(n) => {
            println!("{n} images written under {}", args.out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
