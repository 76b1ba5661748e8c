//! Which held-out images the search scores candidates on: with `eval_batches` below the
//! whole held-out split, a random sample of it, not its first images. A dataset stored
//! class by class (an image folder, a list file, this idx file) would otherwise be scored on
//! its first classes only.

use burn::tensor::Device;
use nse_train::data::{IdxImages, Split, mnist_file_names, write_idx_images, write_idx_labels};
use nse_train::search::Search;

mod common;
use common::scratch;

/// 8x8 images of 10 classes stored class by class: 30 of class 0, then 30 of class 1, …
fn write_sorted_dataset(dir: &std::path::Path) {
    for (split, per_class) in [(Split::Train, 30), (Split::Test, 6)] {
        let count = per_class * 10;
        let labels: Vec<u8> = (0..count).map(|i| (i / per_class) as u8).collect();
        let pixels: Vec<u8> = (0..count * 64)
            .map(|i| ((i * 7919 + (i / 64 / per_class) * 31) % 256) as u8)
            .collect();
        let (images, label_file) = mnist_file_names(split);
        let data = IdxImages {
            count,
            rows: 8,
            cols: 8,
            pixels,
        };
        write_idx_images(dir.join(images), &data).unwrap();
        write_idx_labels(dir.join(label_file), &labels).unwrap();
    }
}

#[test]
fn eval_batches_score_a_random_sample_of_a_class_sorted_held_out_split() {
    let data = scratch("sorted-data");
    write_sorted_dataset(&data);
    let mut config = common::config(&data);
    config.batch_size = 8;
    config.evaluation.eval_batches = Some(2);
    let search = Search::new(config.clone(), &scratch("sorted-run"), &Device::flex()).unwrap();
    let scorer = search.scorer(0).unwrap();
    let counts = scorer.images_per_class();
    assert_eq!(scorer.images(), 16);
    let classes = counts.iter().filter(|&&n| n > 0).count();
    // The held-out split's first 16 images are 6 of class 0, 6 of class 1 and 4 of class 2.
    assert!(
        classes >= 6 && counts.iter().all(|&n| n <= 6),
        "16 held-out images of {classes} classes only: {counts:?}"
    );
    // The same sample in every round and on every rescoring.
    assert_eq!(search.scorer(2).unwrap().images_per_class(), counts);

    // The whole held-out split: every image once, whatever the order.
    config.evaluation.eval_batches = None;
    let whole = Search::new(config, &scratch("sorted-run-whole"), &Device::flex()).unwrap();
    let scorer = whole.scorer(0).unwrap();
    assert_eq!(scorer.images(), 60);
    assert_eq!(scorer.images_per_class(), vec![6; 10]);
}
