//! Opening the datasets of a search: train (weight steps), held-out (indicator steps and
//! architecture evaluation) and test (retraining).

use std::sync::Arc;

use crate::data::demo::load_fashion_mnist_demo;
use crate::data::{
    Dataset, ImageFolder, ImageFolderOptions, MnistVariant, Normalize, Split,
    extract_tar_gz_cached, holdout_split, load_cifar10, load_mnist,
};
use crate::search::config::{DataConfig, DataSource};
use crate::search::error::{Result, SearchError};

/// A shared dataset of any kind.
pub type SharedDataset = Arc<dyn Dataset>;

/// The datasets of a run.
pub struct RunData {
    /// Training images minus the held-out part.
    pub train: SharedDataset,
    /// The held-out part of the training set.
    pub held_out: SharedDataset,
    /// The test split, when the source has one.
    pub test: Option<SharedDataset>,
    /// Per-channel normalisation.
    pub normalize: Normalize,
}

fn image_folder(root: &std::path::Path, channels: usize) -> Result<SharedDataset> {
    let options = ImageFolderOptions {
        channels,
        preload: true,
        ..ImageFolderOptions::default()
    };
    Ok(Arc::new(ImageFolder::open(root, &options)?))
}

/// Opens the train and test splits of `source` as images of `channels` channels.
pub fn open_splits(
    source: &DataSource,
    channels: usize,
) -> Result<(SharedDataset, Option<SharedDataset>)> {
    Ok(match source {
        DataSource::FashionMnistDemo => (
            Arc::new(load_fashion_mnist_demo(Split::Train)?),
            Some(Arc::new(load_fashion_mnist_demo(Split::Test)?)),
        ),
        DataSource::Mnist { dir, fashion } => {
            let variant = if *fashion {
                MnistVariant::Fashion
            } else {
                MnistVariant::Digits
            };
            (
                Arc::new(load_mnist(dir, Split::Train, variant)?),
                Some(Arc::new(load_mnist(dir, Split::Test, variant)?)),
            )
        }
        DataSource::Cifar10Binary { dir } => (
            Arc::new(load_cifar10(dir, Split::Train)?),
            Some(Arc::new(load_cifar10(dir, Split::Test)?)),
        ),
        DataSource::ImageFolder { root } => tree(root, channels)?,
        DataSource::Archive { path, cache } => {
            let root = extract_tar_gz_cached(path, cache)?;
            tree(&root, channels)?
        }
    })
}

fn tree(root: &std::path::Path, channels: usize) -> Result<(SharedDataset, Option<SharedDataset>)> {
    let train_dir = root.join("train");
    if !train_dir.is_dir() {
        return Err(SearchError::Config(format!(
            "image-folder data: `{}` has no `train/` folder (expected root/train/<class>/<image>)",
            root.display()
        )));
    }
    let test_dir = root.join("test");
    let test = if test_dir.is_dir() {
        Some(image_folder(&test_dir, channels)?)
    } else {
        None
    };
    Ok((image_folder(&train_dir, channels)?, test))
}

/// Normalisation for a source: the dataset's published statistics where known (Fashion-MNIST,
/// CIFAR-10), ImageNet's otherwise.
pub fn normalization(source: &DataSource, channels: usize) -> Normalize {
    match (source, channels) {
        (_, 1) => Normalize::fashion_mnist(),
        (DataSource::Cifar10Binary { .. } | DataSource::Archive { .. }, _) => Normalize::cifar10(),
        (DataSource::ImageFolder { root }, _) if root.to_string_lossy().contains("cifar") => {
            Normalize::cifar10()
        }
        _ => Normalize::imagenet(),
    }
}

/// Opens the data of a search: the training split is cut into train and held-out parts by
/// `seed` (class-stratified, stable across runs).
pub fn open(config: &DataConfig, channels: usize, seed: u64) -> Result<RunData> {
    let (full, test) = open_splits(&config.source, channels)?;
    let split = holdout_split(&*full, config.holdout_fraction, seed)?;
    let (train, held_out) = split.into_subsets(Arc::new(full))?;
    Ok(RunData {
        train: Arc::new(train),
        held_out: Arc::new(held_out),
        test,
        normalize: normalization(&config.source, channels),
    })
}

/// The retraining data of `source` for networks of `space`: its train and test splits, the
/// source's [`normalization`] and, for 32×32 three-channel inputs, the CIFAR augmentation
/// ([`Pipeline::cifar_train`](crate::data::Pipeline::cifar_train)). Fails when the source has
/// no test split.
pub fn retrain_data(
    source: &DataSource,
    space: &nse_space::SearchSpace,
) -> Result<crate::retrain::RetrainData<SharedDataset, SharedDataset>> {
    let spec = space.spec();
    let channels = spec.input_channels;
    let (train, test) = open_splits(source, channels)?;
    let test = test.ok_or_else(|| {
        SearchError::Config(
            "the dataset has no test split to evaluate retrained networks on".into(),
        )
    })?;
    let mut data = crate::retrain::RetrainData::new(train, test)
        .with_normalize(normalization(source, channels));
    if channels == 3 && spec.input_size == 32 {
        data = data.with_train_transform(crate::data::Pipeline::cifar_train());
    }
    Ok(data)
}
