//! Acceptance test on the real datasets in `../shared/data/` (relative to the workspace root).
//!
//! Ignored by default (it decodes 60,000 JPEGs and reads 70,000 Fashion-MNIST images);
//! `.ci/run` runs it with
//!
//! ```text
//! cargo test -p nse-data --test data_acceptance -- --ignored
//! ```
//!
//! The CIFAR-10 archive is extracted once to `/var/tmp/nse-data/cifar10` (override the
//! parent folder with `NSE_DATA_CACHE`); `../shared` is never written to.

use std::path::PathBuf;
use std::sync::Arc;

use burn::tensor::Device;
use nse_data::demo::{
    DEMO_SEED, DEMO_TEST_PER_CLASS, DEMO_TRAIN_PER_CLASS, fashion_mnist_demo_dir,
    make_fashion_mnist_demo,
};
use nse_data::{
    CIFAR10_CLASSES, Dataset, ImageFolder, ImageFolderOptions, Loader, LoaderConfig, MnistVariant,
    Normalize, Pipeline, Split, channel_stats, extract_tar_gz_cached, holdout_split, load_mnist,
    read_class_index_json, read_idx_images, read_idx_labels, write_class_index_json,
};

fn shared_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

fn cache_root() -> PathBuf {
    std::env::var_os("NSE_DATA_CACHE")
        .map_or_else(|| PathBuf::from("/var/tmp/nse-data"), PathBuf::from)
}

fn scratch(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("nse-train-acceptance-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
#[ignore = "reads the real CIFAR-10 tree (~1 min); run with --ignored"]
fn cifar10_jpeg_tree_matches_known_statistics() {
    let archive = shared_data().join("cifar10/cifar10_jpg_q75.tar.gz");
    let root = extract_tar_gz_cached(&archive, cache_root().join("cifar10")).unwrap();
    // A second call reuses the extraction.
    assert_eq!(
        extract_tar_gz_cached(&archive, cache_root().join("cifar10")).unwrap(),
        root
    );

    let options = ImageFolderOptions {
        preload: true,
        ..Default::default()
    };
    let train = ImageFolder::open(root.join("train"), &options).unwrap();
    let test = ImageFolder::open(root.join("test"), &ImageFolderOptions::default()).unwrap();
    assert_eq!(
        train.class_names(),
        CIFAR10_CLASSES.map(String::from).as_slice()
    );
    assert_eq!(test.class_names(), train.class_names());
    assert_eq!(train.len(), 50_000);
    assert_eq!(test.len(), 10_000);
    assert_eq!(train.class_counts().unwrap(), vec![5_000; 10]);
    assert_eq!(test.class_counts().unwrap(), vec![1_000; 10]);
    assert!(train.skipped().is_empty() && train.ignored().is_empty());
    let first = train.get(0).unwrap();
    assert_eq!(first.image.shape_chw(), [3, 32, 32]);

    // Known CIFAR-10 training statistics; JPEG q75 shifts them slightly.
    let stats = channel_stats(&train, 0).unwrap();
    println!(
        "CIFAR-10 JPEG q75 train: mean {:.4?}, std {:.4?}",
        stats.mean, stats.std
    );
    assert_eq!(stats.pixels, 50_000 * 32 * 32);
    for (k, (got, want)) in stats.mean.iter().zip([0.4914, 0.4822, 0.4465]).enumerate() {
        assert!(
            (got - want).abs() < 0.01,
            "channel {k}: mean {got:.4}, expected {want}"
        );
    }
    for (k, (got, want)) in stats.std.iter().zip([0.2470, 0.2435, 0.2616]).enumerate() {
        assert!(
            (got - want).abs() < 0.01,
            "channel {k}: std {got:.4}, expected {want}"
        );
    }

    // Class map written next to results and read back.
    let out = scratch("cifar");
    write_class_index_json(out.join("classes.json"), train.class_names()).unwrap();
    assert_eq!(
        read_class_index_json(out.join("classes.json")).unwrap(),
        train.class_names()
    );
    std::fs::remove_dir_all(&out).unwrap();

    // Held-out split through the lazy (decode-on-read) path. Without augmentation, the
    // normalised held-out images have per-channel means close to 0.
    let lazy =
        Arc::new(ImageFolder::open(root.join("train"), &ImageFolderOptions::default()).unwrap());
    let split = holdout_split(&*lazy, 0.1, 2021).unwrap();
    assert_eq!((split.train.len(), split.holdout.len()), (45_000, 5_000));
    let (train_part, held_out) = split.into_subsets(Arc::clone(&lazy)).unwrap();
    assert_eq!(held_out.class_counts().unwrap(), vec![500; 10]);
    let config = LoaderConfig::new(500)
        .with_seed(1)
        .with_normalize(Normalize::cifar10());
    let plain = Loader::new(held_out, Pipeline::new(), config.clone(), Device::flex()).unwrap();
    let mut channel_sums = [0.0f64; 3];
    for batch in plain.epoch(0) {
        let values = batch.unwrap().images.to_data().try_to_vec::<f32>().unwrap();
        for (i, v) in values.iter().enumerate() {
            channel_sums[(i / 1024) % 3] += f64::from(*v);
        }
    }
    for (k, sum) in channel_sums.iter().enumerate() {
        let mean = sum / (5_000.0 * 1024.0);
        assert!(
            mean.abs() < 0.06,
            "channel {k}: normalised held-out mean {mean}"
        );
    }

    // The CIFAR recipe on real images: pixels that come from the zero padding have the
    // normalised value of black in every channel. With padding 4 the crop offset is uniform
    // in 0..=8 per axis, so a row (column) is padding with probability 20/9/32, and a pixel
    // with probability 1 - (1 - 20/288)^2 = 0.134 (plus the rare truly black pixels).
    let augmented =
        Loader::new(train_part, Pipeline::cifar_train(), config, Device::flex()).unwrap();
    let norm = Normalize::cifar10();
    let black: Vec<f32> = (0..3)
        .map(|c| (0.0 / 255.0 - norm.mean[c]) / norm.std[c])
        .collect();
    let (mut padded, mut pixels) = (0usize, 0usize);
    for batch in augmented.epoch(0).take(10) {
        let batch = batch.unwrap();
        assert_eq!(batch.images.dims(), [500, 3, 32, 32]);
        let values = batch.images.to_data().try_to_vec::<f32>().unwrap();
        for image in values.chunks_exact(3 * 1024) {
            padded += (0..1024)
                .filter(|&p| (0..3).all(|c| image[c * 1024 + p] == black[c]))
                .count();
            pixels += 1024;
        }
    }
    let fraction = padded as f64 / pixels as f64;
    println!("CIFAR recipe: fraction of padding pixels {fraction:.4}");
    assert!(
        (0.125..0.15).contains(&fraction),
        "padding fraction {fraction}"
    );
}

#[test]
#[ignore = "reads the real Fashion-MNIST files; run with --ignored"]
fn fashion_mnist_matches_known_statistics() {
    let dir = shared_data().join("fashion-mnist");
    let train = load_mnist(&dir, Split::Train, MnistVariant::Fashion).unwrap();
    let test = load_mnist(&dir, Split::Test, MnistVariant::Fashion).unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!(
        (train.width(), train.height(), train.channels()),
        (28, 28, 1)
    );
    assert_eq!(train.class_counts().unwrap(), vec![6_000; 10]);
    assert_eq!(test.class_counts().unwrap(), vec![1_000; 10]);
    let stats = channel_stats(&train, 0).unwrap();
    println!(
        "Fashion-MNIST train: mean {:.4}, std {:.4}",
        stats.mean[0], stats.std[0]
    );
    assert!((stats.mean[0] - 0.2860).abs() < 0.0005, "{stats:?}");
    assert!((stats.std[0] - 0.3530).abs() < 0.0005, "{stats:?}");
}

#[test]
#[ignore = "reads the real Fashion-MNIST files; run with --ignored"]
fn committed_demo_dataset_is_reproducible() {
    // Re-derive the demo subset from the full dataset and compare the uncompressed contents
    // with the committed files (gzip bytes may differ across compressor versions).
    let out = scratch("demo");
    make_fashion_mnist_demo(
        shared_data().join("fashion-mnist"),
        &out,
        DEMO_TRAIN_PER_CLASS,
        DEMO_TEST_PER_CLASS,
        DEMO_SEED,
    )
    .unwrap();
    let committed = fashion_mnist_demo_dir();
    for name in ["train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"] {
        assert_eq!(
            read_idx_images(out.join(name)).unwrap(),
            read_idx_images(committed.join(name)).unwrap(),
            "{name}"
        );
    }
    for name in ["train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
        assert_eq!(
            read_idx_labels(out.join(name)).unwrap(),
            read_idx_labels(committed.join(name)).unwrap(),
            "{name}"
        );
    }
    std::fs::remove_dir_all(&out).unwrap();
}
