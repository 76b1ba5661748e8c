//! Opening the datasets of a search: train (weight steps), held-out (indicator steps and
//! architecture evaluation) and test (retraining).

use std::sync::Arc;

use crate::data::demo::load_fashion_mnist_demo;
use crate::data::{
    Dataset, ImageFolder, ImageFolderOptions, MnistVariant, Normalize, Split, channel_stats,
    extract_tar_gz_cached, holdout_split, load_cifar10, load_mnist,
};
use crate::search::config::{DataConfig, DataSource, NormalizeChoice};
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
        DataSource::Custom { name } => {
            return Err(SearchError::Config(format!(
                "the data `{name}` was given from code: continue the run with \
                 `Search::resume_with_datasets`"
            )));
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

/// The normalisation `choice` gives for `source` with `channels`-channel images, computing
/// statistics from `train` (its every image, once) where the choice or an unknown dataset
/// asks for it ([`NormalizeChoice`]).
pub fn normalization(
    source: &DataSource,
    choice: &NormalizeChoice,
    channels: usize,
    train: &dyn Dataset,
) -> Result<Normalize> {
    let computed = || -> Result<Normalize> {
        let stats = channel_stats(train, 0)?;
        // A channel without variation (a constant image set) keeps its values: std 1.
        let std = stats
            .std
            .iter()
            .map(|&s| if s > 0.0 { s as f32 } else { 1.0 })
            .collect();
        let mean = stats.mean.iter().map(|&m| m as f32).collect();
        Ok(Normalize::new(mean, std)?)
    };
    let normalize = match choice {
        NormalizeChoice::Given { mean, std } => Normalize::new(mean.clone(), std.clone())?,
        NormalizeChoice::Computed => computed()?,
        NormalizeChoice::Auto => match (source, channels) {
            (DataSource::FashionMnistDemo | DataSource::Mnist { fashion: true, .. }, 1) => {
                Normalize::fashion_mnist()
            }
            (DataSource::Cifar10Binary { .. }, 3) => Normalize::cifar10(),
            _ => computed()?,
        },
    };
    if normalize.mean.len() != channels {
        return Err(SearchError::Config(format!(
            "`data.normalize` has {} channels, the images {channels}",
            normalize.mean.len()
        )));
    }
    Ok(normalize)
}

/// Opens the data of a search: the training split is cut into train and held-out parts by
/// `seed` (class-stratified, stable across runs).
pub fn open(config: &DataConfig, channels: usize, seed: u64) -> Result<RunData> {
    let (full, test) = open_splits(&config.source, channels)?;
    split(config, full, test, channels, seed)
}

/// The data of a search from a training set `full` and a test set: `full` is cut into
/// train and held-out parts by `seed` (class-stratified), and normalised as
/// `config.normalize` says.
pub fn split(
    config: &DataConfig,
    full: SharedDataset,
    test: Option<SharedDataset>,
    channels: usize,
    seed: u64,
) -> Result<RunData> {
    if let Some(sample) = (!full.is_empty()).then(|| full.get(0)).transpose()? {
        let found = sample.image.channels();
        if found != channels {
            return Err(SearchError::Config(format!(
                "the training images have {found} channels, the space expects {channels}"
            )));
        }
    }
    let normalize = normalization(&config.source, &config.normalize, channels, &*full)?;
    let split = holdout_split(&*full, config.holdout_fraction, seed)?;
    let (train, held_out) = split.into_subsets(Arc::new(full))?;
    Ok(RunData {
        train: Arc::new(train),
        held_out: Arc::new(held_out),
        test,
        normalize,
    })
}

/// The retraining data of `source` for networks of `space`: its train and test splits, the
/// source's [`normalization`] (`auto`) and, for 32×32 three-channel inputs, the CIFAR augmentation
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
    let normalize = normalization(source, &NormalizeChoice::Auto, channels, &*train)?;
    let mut data = crate::retrain::RetrainData::new(train, test).with_normalize(normalize);
    if channels == 3 && spec.input_size == 32 {
        data = data.with_train_transform(crate::data::Pipeline::cifar_train());
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::InMemoryDataset;

    /// Two 2x2 RGB images with known per-channel statistics.
    fn images() -> InMemoryDataset {
        let pixels = [[0u8, 51, 255], [255, 51, 255]]
            .iter()
            .flat_map(|px| std::iter::repeat_n(*px, 4).flatten())
            .collect();
        InMemoryDataset::new(2, 2, 3, pixels, vec![0, 1], vec!["a".into(), "b".into()]).unwrap()
    }

    #[test]
    fn normalisation_is_published_computed_or_given_never_guessed_from_a_path() {
        let data = images();
        // An image folder under a path that says "cifar" is still measured, not guessed.
        let folder = DataSource::ImageFolder {
            root: "/data/cifar10-copy".into(),
        };
        let auto = normalization(&folder, &NormalizeChoice::Auto, 3, &data).unwrap();
        assert_eq!(auto.mean, vec![0.5, 0.2, 1.0]);
        // Channel 0 is 0 or 1 (std 0.5); channels 1 and 2 are constant: std 1 keeps them.
        assert_eq!(auto.std, vec![0.5, 1.0, 1.0]);
        let computed = normalization(&folder, &NormalizeChoice::Computed, 3, &data).unwrap();
        assert_eq!(computed, auto);
        // Known datasets keep their published statistics.
        let binary = DataSource::Cifar10Binary { dir: "/x".into() };
        let published = normalization(&binary, &NormalizeChoice::Auto, 3, &data).unwrap();
        assert_eq!(published, Normalize::cifar10());
        // Given values are used as they are, and must have one entry per channel.
        let given = NormalizeChoice::Given {
            mean: vec![0.1, 0.2, 0.3],
            std: vec![0.4, 0.5, 0.6],
        };
        let n = normalization(&folder, &given, 3, &data).unwrap();
        assert_eq!((n.mean, n.std), (vec![0.1, 0.2, 0.3], vec![0.4, 0.5, 0.6]));
        let err = normalization(&folder, &given, 1, &data).unwrap_err();
        assert!(
            err.to_string().contains("3 channels, the images 1"),
            "{err}"
        );
    }
}
