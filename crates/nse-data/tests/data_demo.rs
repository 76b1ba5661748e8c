//! The committed offline demo dataset (`crates/nse-demo-data/data/`, embedded) loads and trains-ready:
//! counts, balance, pixel statistics, license beside it, and a full loader epoch.

use std::sync::Arc;

use burn::tensor::Device;
use nse_data::demo::{
    DEMO_TEST_PER_CLASS, DEMO_TRAIN_PER_CLASS, fashion_mnist_demo_dir, load_fashion_mnist_demo,
};
use nse_data::{
    Dataset, FASHION_MNIST_CLASSES, Loader, LoaderConfig, MnistVariant, Normalize, Pipeline, Split,
    channel_stats, holdout_split, load_mnist,
};

#[test]
fn demo_dataset_is_balanced_and_licensed() {
    let dir = fashion_mnist_demo_dir();
    let license =
        std::fs::read_to_string(dir.join("LICENSE")).expect("LICENSE beside the demo data");
    assert!(license.contains("Zalando SE") && license.contains("MIT License"));
    assert!(dir.join("README.md").is_file());

    let train = load_fashion_mnist_demo(Split::Train).unwrap();
    let test = load_fashion_mnist_demo(Split::Test).unwrap();
    assert_eq!(
        (train.width(), train.height(), train.channels()),
        (28, 28, 1)
    );
    assert_eq!(train.len(), 10 * DEMO_TRAIN_PER_CLASS);
    assert_eq!(test.len(), 10 * DEMO_TEST_PER_CLASS);
    assert_eq!(
        train.class_counts().unwrap(),
        vec![DEMO_TRAIN_PER_CLASS; 10]
    );
    assert_eq!(test.class_counts().unwrap(), vec![DEMO_TEST_PER_CLASS; 10]);
    assert_eq!(train.class_names()[9], FASHION_MNIST_CLASSES[9]);
    // The embedded bytes are the folder's files.
    for (split, embedded) in [(Split::Train, &train), (Split::Test, &test)] {
        let from_dir = load_mnist(&dir, split, MnistVariant::Fashion).unwrap();
        assert_eq!(from_dir.pixels(), embedded.pixels(), "{split:?}");
        assert_eq!(from_dir.labels(), embedded.labels(), "{split:?}");
    }

    // A random 10% subset of Fashion-MNIST has nearly the full set's statistics
    // (mean 0.2860, std 0.3530).
    let stats = channel_stats(&train, 0).unwrap();
    assert!((stats.mean[0] - 0.2860).abs() < 0.01, "{stats:?}");
    assert!((stats.std[0] - 0.3530).abs() < 0.01, "{stats:?}");
}

#[test]
fn demo_dataset_feeds_a_loader() {
    let train = Arc::new(load_fashion_mnist_demo(Split::Train).unwrap());
    let split = holdout_split(&*train, 0.1, 7).unwrap();
    assert_eq!(split.holdout.len(), 600);
    let (train_part, _held_out) = split.into_subsets(Arc::clone(&train)).unwrap();
    let config = LoaderConfig::new(512)
        .with_seed(3)
        .with_workers(2)
        .with_normalize(Normalize::fashion_mnist());
    let loader = Loader::new(train_part, Pipeline::new(), config, Device::flex()).unwrap();
    assert_eq!(loader.num_batches(), 11);
    let mut seen = 0;
    let mut label_sum = 0i64;
    for batch in loader.epoch(0) {
        let batch = batch.unwrap();
        assert_eq!(batch.images.dims()[1..], [1, 28, 28]);
        seen += batch.images.dims()[0];
        label_sum += batch.labels.sum().into_scalar::<i64>();
    }
    assert_eq!(seen, 5400);
    // 540 images of each class 0..9: sum of labels = 540 * 45.
    assert_eq!(label_sum, 540 * 45);
}
