//! Data-loader throughput on the shared CIFAR-10 JPEG tree (decode + augment + batch).
//!
//! Run from the workspace root:
//!
//! ```text
//! CARGO_TARGET_DIR=/var/tmp/nse-target cargo bench -p nse-data --bench loader
//! ```
//!
//! Reads `../shared/data/cifar10/cifar10_jpg_q75.tar.gz` (relative to the workspace root;
//! override with `NSE_CIFAR10_TGZ`), extracts it once to `/var/tmp/nse-data/cifar10`
//! (override the folder with `NSE_DATA_CACHE`), then times full epochs over the 50,000
//! training images with the CIFAR recipe (random crop 32 + padding 4, flip, normalisation),
//! batch 256, batches created as Burn tensors on `Device::flex()`:
//!
//! 1. JPEG decoding in the loader (every image read from disk and decoded every epoch), with
//!    0 (consumer thread only), 1 and one-per-core worker threads;
//! 2. images decoded once into memory (`preload`), augment + batch only.
//!
//! `NSE_BENCH_EPOCHS` sets the number of timed epochs per configuration (default 2; the
//! first of all is preceded by an untimed warm-up of 20 batches).
//!
//! With `NSE_IMAGENET_LIKE=DIR` (a tree made by the `make_imagenet_like` example) it times
//! the ImageNet pipelines at 224 instead, as `scripts/loader-vs-torchvision.sh` compares
//! with torchvision: the reference's training pipeline (RandomResizedCrop, flip,
//! ColorJitter 0.2/0.2/0.2/0.1) and the evaluation pipeline (resize 256, centre crop 224),
//! batch 64, every image decoded every epoch, with `NSE_BENCH_WORKERS` worker threads
//! (default: one per core); one JSON line per pipeline.

use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::Device;
use nse_data::{
    Dataset, ImageFolder, ImageFolderOptions, Loader, LoaderConfig, Normalize, Pipeline, Position,
    extract_tar_gz_cached,
};

fn env_path(var: &str, default: PathBuf) -> PathBuf {
    std::env::var_os(var).map_or(default, PathBuf::from)
}

/// Times `epochs` full epochs and returns images per second.
fn time_epochs<D: Dataset + 'static>(loader: &Loader<D, Pipeline>, epochs: usize) -> f64 {
    let start = Instant::now();
    let mut images = 0usize;
    for epoch in 0..epochs {
        for batch in loader.epoch(epoch) {
            let batch = batch.expect("batch");
            images += batch.images.dims()[0];
        }
    }
    loader.device().sync().expect("device sync");
    images as f64 / start.elapsed().as_secs_f64()
}

/// The ImageNet-like comparison (see the module docs).
fn imagenet_like(root: PathBuf, epochs: usize, workers: usize) {
    let device = Device::flex();
    let train = std::sync::Arc::new(
        ImageFolder::open(root.join("train"), &ImageFolderOptions::default()).expect("open tree"),
    );
    let decoder = if cfg!(feature = "libjpeg-turbo") {
        "libjpeg-turbo, DCT-scaled"
    } else {
        "image (zune-jpeg)"
    };
    for (name, pipeline) in [
        ("train", Pipeline::imagenet_train(224)),
        ("eval", Pipeline::imagenet_eval(224)),
    ] {
        let config = LoaderConfig::new(64)
            .with_seed(1)
            .with_workers(workers)
            .with_normalize(Normalize::imagenet());
        let loader = Loader::new(train.clone(), pipeline, config, device.clone()).unwrap();
        // Warm-up: page cache and allocator.
        for batch in loader.host_epoch_from(Position::default()).unwrap().take(4) {
            batch.unwrap();
        }
        let rate = time_epochs(&loader, epochs);
        println!(
            "{{\"impl\": \"nse\", \"decoder\": \"{decoder}\", \"pipeline\": \"{name}\", \
             \"workers\": {workers}, \"images\": {}, \"images_per_s\": {rate:.1}}}",
            train.len()
        );
    }
}

fn main() {
    let epochs_env: Option<usize> = std::env::var("NSE_BENCH_EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok());
    if let Some(root) = std::env::var_os("NSE_IMAGENET_LIKE") {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = std::env::var("NSE_BENCH_WORKERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cores);
        imagenet_like(PathBuf::from(root), epochs_env.unwrap_or(1), workers);
        return;
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let archive = env_path(
        "NSE_CIFAR10_TGZ",
        workspace.join("../shared/data/cifar10/cifar10_jpg_q75.tar.gz"),
    );
    let cache = env_path("NSE_DATA_CACHE", PathBuf::from("/var/tmp/nse-data")).join("cifar10");
    let epochs = epochs_env.unwrap_or(2);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let t = Instant::now();
    let root = extract_tar_gz_cached(&archive, &cache).expect("extract CIFAR-10");
    println!(
        "extract (cached after the first run): {:.2} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let lazy =
        ImageFolder::open(root.join("train"), &ImageFolderOptions::default()).expect("open train");
    println!(
        "scan {} images: {:.2} s",
        lazy.len(),
        t.elapsed().as_secs_f64()
    );
    let lazy = std::sync::Arc::new(lazy);

    let device = Device::flex();
    let config = |workers: usize| {
        LoaderConfig::new(256)
            .with_seed(1)
            .with_workers(workers)
            .with_normalize(Normalize::cifar10())
    };
    println!(
        "machine: {cores} cores; batch 256; {epochs} epoch(s) of 50,000 images per configuration"
    );

    // Warm-up: page cache and allocator.
    let warm = Loader::new(
        lazy.clone(),
        Pipeline::cifar_train(),
        config(cores),
        device.clone(),
    )
    .unwrap();
    for batch in warm.host_epoch_from(Position::default()).unwrap().take(20) {
        batch.unwrap();
    }

    let mut worker_counts = vec![0, 1, cores];
    worker_counts.dedup();
    for workers in worker_counts {
        let loader = Loader::new(
            lazy.clone(),
            Pipeline::cifar_train(),
            config(workers),
            device.clone(),
        )
        .unwrap();
        let rate = time_epochs(&loader, epochs);
        println!("decode JPEG + augment + batch, {workers} worker(s): {rate:>8.0} images/s");
    }

    let t = Instant::now();
    let options = ImageFolderOptions {
        preload: true,
        ..Default::default()
    };
    let pre = ImageFolder::open(root.join("train"), &options).expect("preload train");
    println!(
        "preload (scan + decode all {} images once, {cores} threads): {:.2} s",
        pre.len(),
        t.elapsed().as_secs_f64()
    );
    let loader = Loader::new(pre, Pipeline::cifar_train(), config(cores), device).unwrap();
    let rate = time_epochs(&loader, epochs);
    println!("preloaded, augment + batch, {cores} worker(s): {rate:>8.0} images/s");
}
