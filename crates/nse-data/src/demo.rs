//! The offline demo dataset: a class-balanced subset of Fashion-MNIST embedded in the crate
//! `nse-demo-data` (its files are under `crates/nse-demo-data/data/`, MIT license, Zalando
//! SE; see the README there), so examples, CI and an installed `nse` binary run without
//! downloading anything.
//!
//! [`make_fashion_mnist_demo`] is the code that produced it from the full dataset (Debian
//! package `dataset-fashion-mnist`); `cargo run --release -p nse-train --example
//! make_fashion_mnist_demo` runs it.

use std::path::{Path, PathBuf};

use super::dataset::{Dataset, Split};
use super::error::{DataError, Result};
use super::idx::{
    IdxImages, MnistVariant, idx_pair_from_bytes, load_mnist, mnist_file_names, write_idx_images,
    write_idx_labels,
};
use super::memory::InMemoryDataset;
use super::split::balanced_subset;

/// Seed of the subset selection.
pub const DEMO_SEED: u64 = 2021;
/// Training images per class (6,000 in all).
pub const DEMO_TRAIN_PER_CLASS: usize = 600;
/// Test images per class (1,000 in all).
pub const DEMO_TEST_PER_CLASS: usize = 100;

/// The folder holding the demo's files in the sources `nse-demo-data` was built from (a
/// checkout, or the registry's source cache): for tools that read or rewrite the files.
/// [`load_fashion_mnist_demo`] does not need it.
pub fn fashion_mnist_demo_dir() -> PathBuf {
    nse_demo_data::source_dir()
}

/// Loads one split of the demo dataset from the bytes embedded in the binary (the files of
/// [`fashion_mnist_demo_dir`]), so it works wherever the binary runs.
pub fn load_fashion_mnist_demo(split: Split) -> Result<InMemoryDataset> {
    let (images, labels) = match split {
        Split::Train => (nse_demo_data::TRAIN_IMAGES, nse_demo_data::TRAIN_LABELS),
        Split::Test => (nse_demo_data::TEST_IMAGES, nse_demo_data::TEST_LABELS),
    };
    let name = |file: nse_demo_data::EmbeddedFile| {
        Path::new("<embedded in nse-demo-data>").join(file.name)
    };
    idx_pair_from_bytes(
        (&name(images), images.bytes),
        (&name(labels), labels.bytes),
        MnistVariant::Fashion.class_names(),
    )
}

/// What [`make_fashion_mnist_demo`] wrote.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DemoSummary {
    /// Indices (into the full training set) of the demo's training images, ascending.
    pub train_indices: Vec<usize>,
    /// Indices (into the full test set) of the demo's test images, ascending.
    pub test_indices: Vec<usize>,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// Writes `dataset` (1-channel) as gzipped idx files with the standard names of `split`.
fn write_split(dataset: &InMemoryDataset, out_dir: &Path, split: Split) -> Result<Vec<PathBuf>> {
    if dataset.channels() != 1 {
        return Err(DataError::param(
            "channels",
            dataset.channels(),
            "idx files hold 1-channel images",
        ));
    }
    let (images_name, labels_name) = mnist_file_names(split);
    let images_path = out_dir.join(format!("{images_name}.gz"));
    let labels_path = out_dir.join(format!("{labels_name}.gz"));
    write_idx_images(
        &images_path,
        &IdxImages {
            count: dataset.len(),
            rows: dataset.height(),
            cols: dataset.width(),
            pixels: dataset.pixels().to_vec(),
        },
    )?;
    let labels: Vec<u8> = dataset
        .labels()
        .iter()
        .map(|&l| u8::try_from(l).map_err(|_| DataError::param("label", l, "idx labels are bytes")))
        .collect::<Result<_>>()?;
    write_idx_labels(&labels_path, &labels)?;
    Ok(vec![images_path, labels_path])
}

/// Builds the demo dataset: reads full Fashion-MNIST from `src_dir` (standard idx names,
/// plain or `.gz`), picks `train_per_class` training and `test_per_class` test images of
/// every class with [`balanced_subset`] and `seed`, and writes them in the original order as
/// gzipped idx files into `out_dir` (created if missing). Deterministic: the same inputs
/// give the same selection and byte-identical uncompressed contents.
pub fn make_fashion_mnist_demo(
    src_dir: impl AsRef<Path>,
    out_dir: impl AsRef<Path>,
    train_per_class: usize,
    test_per_class: usize,
    seed: u64,
) -> Result<DemoSummary> {
    let (src_dir, out_dir) = (src_dir.as_ref(), out_dir.as_ref());
    std::fs::create_dir_all(out_dir).map_err(|e| DataError::io("cannot create", out_dir, e))?;
    let mut summary = DemoSummary {
        train_indices: Vec::new(),
        test_indices: Vec::new(),
        files: Vec::new(),
    };
    for (split, per_class) in [
        (Split::Train, train_per_class),
        (Split::Test, test_per_class),
    ] {
        let full = load_mnist(src_dir, split, MnistVariant::Fashion)?;
        // Different streams for the two splits.
        let split_seed = seed.wrapping_add(u64::from(split == Split::Test));
        let indices = balanced_subset(&full, per_class, split_seed)?;
        let subset = full.select(&indices)?;
        summary.files.extend(write_split(&subset, out_dir, split)?);
        match split {
            Split::Train => summary.train_indices = indices,
            Split::Test => summary.test_indices = indices,
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idx::read_idx_images;
    use crate::test_util::TempDir;

    /// A fake full dataset: 40 train / 20 test 2x2 images, pixel = index, label = index % 10.
    fn write_fake_full(dir: &Path) {
        for (split, n) in [(Split::Train, 40usize), (Split::Test, 20)] {
            let (i, l) = mnist_file_names(split);
            let images = IdxImages {
                count: n,
                rows: 2,
                cols: 2,
                pixels: (0..n).flat_map(|k| [k as u8; 4]).collect(),
            };
            write_idx_images(dir.join(i), &images).unwrap();
            write_idx_labels(
                dir.join(format!("{l}.gz")),
                &(0..n).map(|k| (k % 10) as u8).collect::<Vec<_>>(),
            )
            .unwrap();
        }
    }

    #[test]
    fn builds_a_balanced_deterministic_subset() {
        let tmp = TempDir::new("demo");
        write_fake_full(tmp.path());
        let out = tmp.path().join("out");
        let s = make_fashion_mnist_demo(tmp.path(), &out, 2, 1, 5).unwrap();
        assert_eq!(
            (s.train_indices.len(), s.test_indices.len(), s.files.len()),
            (20, 10, 4)
        );
        let train = load_mnist(&out, Split::Train, MnistVariant::Fashion).unwrap();
        assert_eq!(train.class_counts().unwrap(), vec![2; 10]);
        // Pixels identify the original index: the written order is the ascending selection.
        let firsts: Vec<usize> = (0..train.len())
            .map(|i| usize::from(train.image_bytes(i)[0]))
            .collect();
        assert_eq!(firsts, s.train_indices);
        let test = load_mnist(&out, Split::Test, MnistVariant::Fashion).unwrap();
        assert_eq!(test.class_counts().unwrap(), vec![1; 10]);
        let before = read_idx_images(out.join("train-images-idx3-ubyte.gz")).unwrap();
        let again = make_fashion_mnist_demo(tmp.path(), &out, 2, 1, 5).unwrap();
        assert_eq!(again, s);
        assert_eq!(
            read_idx_images(out.join("train-images-idx3-ubyte.gz")).unwrap(),
            before
        );
        assert!(make_fashion_mnist_demo(tmp.path(), &out, 5, 1, 5).is_err());
    }
}
