//! Opening the datasets of a search: train (weight steps), held-out (indicator steps and
//! architecture evaluation) and test (retraining).

use std::sync::Arc;

use crate::data::demo::load_fashion_mnist_demo;
use crate::data::rng::{derive_rng, permutation};
use crate::data::{
    Dataset, ImageFolder, ImageFolderOptions, MnistVariant, Normalize, Pipeline, Split, Subset,
    channel_stats, extract_tar_gz_cached, holdout_split, load_cifar10, load_mnist,
};
use crate::search::config::{
    DataConfig, DataSource, NormalizeChoice, PRELOAD_AUTO_MAX_BYTES, Preload,
};
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
    /// The weight steps' transforms.
    pub train_pipeline: Pipeline,
    /// The transforms of held-out, recalibration, scoring and probe batches.
    pub eval_pipeline: Pipeline,
    /// Image files left out because they could not be decoded (`data.skip_corrupt`).
    pub skipped_files: usize,
}

/// How image folders are opened: [`Preload`] and `skip_corrupt` of a [`DataConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FolderPolicy {
    /// Decode into memory, or stream.
    pub preload: Preload,
    /// Leave out unreadable files (decoding every file once when opening).
    pub skip_corrupt: bool,
}

impl FolderPolicy {
    /// The policy of `config`.
    pub fn of(config: &DataConfig) -> Self {
        FolderPolicy {
            preload: config.preload,
            skip_corrupt: config.skip_corrupt,
        }
    }
}

/// Bytes of memory the system has available (`MemAvailable` of `/proc/meminfo`), where known.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// Whether to preload `images` images of `per_image` decoded bytes each under `preload`,
/// with `available` bytes of memory (where known); an error for [`Preload::Always`] when
/// they do not fit, saying how much they would take.
pub fn preload_decision(
    preload: Preload,
    images: usize,
    per_image: u64,
    available: Option<u64>,
) -> std::result::Result<bool, String> {
    let estimate = per_image * images as u64;
    match preload {
        Preload::Never => Ok(false),
        Preload::Auto => {
            Ok(estimate <= PRELOAD_AUTO_MAX_BYTES && available.is_none_or(|a| estimate <= a / 2))
        }
        Preload::Always => match available {
            Some(a) if estimate > a => Err(format!(
                "decoding its {images} images would take about {} and {} of memory is \
                 available; use `data.preload = never` (or `auto`) to stream them",
                gib(estimate),
                gib(a)
            )),
            _ => Ok(true),
        },
    }
}

/// The image folder at `root`, preloaded or streamed as `policy` says.
fn image_folder(
    root: &std::path::Path,
    channels: usize,
    policy: FolderPolicy,
) -> Result<ImageFolder> {
    opened(root, channels, policy, |options| {
        ImageFolder::open(root, options)
    })
}

/// The images `list` names under `root` ([`ImageFolder::from_list`]), with at least
/// `min_classes` classes, preloaded or streamed as `policy` says.
fn listed(
    root: &std::path::Path,
    list: &std::path::Path,
    min_classes: usize,
    channels: usize,
    policy: FolderPolicy,
) -> Result<ImageFolder> {
    opened(list, channels, policy, |options| {
        ImageFolder::from_list(root, list, min_classes, options)
    })
}

/// Opens with `open` streamed, then again preloaded when `policy` says so; `root` (the
/// folder or the list) names the data in errors.
fn opened(
    root: &std::path::Path,
    channels: usize,
    policy: FolderPolicy,
    open: impl Fn(&ImageFolderOptions) -> crate::data::Result<ImageFolder>,
) -> Result<ImageFolder> {
    let options = ImageFolderOptions {
        channels,
        skip_corrupt: policy.skip_corrupt,
        ..ImageFolderOptions::default()
    };
    let streamed = open(&options)?;
    if policy.preload == Preload::Never || streamed.is_empty() {
        return Ok(streamed);
    }
    // The decoded size, estimated from the first image.
    let first = streamed.get(0)?.image;
    let per_image = (first.width() * first.height() * first.channels()) as u64;
    let preload = preload_decision(
        policy.preload,
        streamed.len(),
        per_image,
        available_memory(),
    )
    .map_err(|why| {
        SearchError::Config(format!(
            "`data.preload = always` for `{}`: {why}",
            root.display()
        ))
    })?;
    if !preload {
        return Ok(streamed);
    }
    let options = ImageFolderOptions {
        preload: true,
        ..options
    };
    Ok(open(&options)?)
}

/// Opens the train and test splits of `source` as images of `channels` channels, image
/// folders with [`Preload::Auto`].
pub fn open_splits(
    source: &DataSource,
    channels: usize,
) -> Result<(SharedDataset, Option<SharedDataset>)> {
    let (train, test, _) = open_splits_with(source, channels, FolderPolicy::default())?;
    Ok((train, test))
}

/// [`open_splits`] with image folders opened as `policy` says; also the number of image
/// files left out as unreadable (`policy.skip_corrupt`).
pub fn open_splits_with(
    source: &DataSource,
    channels: usize,
    policy: FolderPolicy,
) -> Result<(SharedDataset, Option<SharedDataset>, usize)> {
    Ok(match source {
        DataSource::FashionMnistDemo => (
            Arc::new(load_fashion_mnist_demo(Split::Train)?),
            Some(Arc::new(load_fashion_mnist_demo(Split::Test)?)),
            0,
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
                0,
            )
        }
        DataSource::Cifar10Binary { dir } => (
            Arc::new(load_cifar10(dir, Split::Train)?),
            Some(Arc::new(load_cifar10(dir, Split::Test)?)),
            0,
        ),
        DataSource::ImageFolder { root } => tree(root, channels, policy)?,
        DataSource::ImageList {
            root, train, test, ..
        } => {
            let train = listed(root, train, 0, channels, policy)?;
            let classes = train.num_classes();
            let test = test
                .as_ref()
                .map(|list| listed(root, list, classes, channels, policy))
                .transpose()?;
            let skipped = train.skipped().len() + test.as_ref().map_or(0, |t| t.skipped().len());
            (
                Arc::new(train),
                test.map(|t| Arc::new(t) as SharedDataset),
                skipped,
            )
        }
        DataSource::Archive { path, cache } => {
            let root = extract_tar_gz_cached(path, cache)?;
            tree(&root, channels, policy)?
        }
        DataSource::Custom { name } => {
            return Err(SearchError::Config(format!(
                "the data `{name}` was given from code: continue the run with \
                 `Search::resume_with_datasets`"
            )));
        }
    })
}

fn tree(
    root: &std::path::Path,
    channels: usize,
    policy: FolderPolicy,
) -> Result<(SharedDataset, Option<SharedDataset>, usize)> {
    let train_dir = root.join("train");
    if !train_dir.is_dir() {
        return Err(SearchError::Config(format!(
            "image-folder data: `{}` has no `train/` folder (expected root/train/<class>/<image>)",
            root.display()
        )));
    }
    let test_dir = root.join("test");
    let test = if test_dir.is_dir() {
        Some(image_folder(&test_dir, channels, policy)?)
    } else {
        None
    };
    let train = image_folder(&train_dir, channels, policy)?;
    let skipped = train.skipped().len() + test.as_ref().map_or(0, |t| t.skipped().len());
    let test = test.map(|t| Arc::new(t) as SharedDataset);
    Ok((Arc::new(train), test, skipped))
}

/// Computed normalisation reads at most this many images (a seeded sample of larger sets).
pub const STATS_MAX_IMAGES: usize = 50_000;
const STATS_SAMPLE_SEED: u64 = 0x5747;

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
        let stats = if train.len() > STATS_MAX_IMAGES {
            // A seeded sample: ImageNet would otherwise be decoded in full once.
            let mut order = permutation(train.len(), &mut derive_rng(&[STATS_SAMPLE_SEED]));
            order.truncate(STATS_MAX_IMAGES);
            channel_stats(&Subset::new(Arc::new(train), order)?, 0)?
        } else {
            channel_stats(train, 0)?
        };
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

/// Opens the data of a search for a space of `channels`-channel `input_size`-pixel images:
/// the training split is cut into train and held-out parts by `seed` (class-stratified,
/// stable across runs).
pub fn open(config: &DataConfig, channels: usize, input_size: usize, seed: u64) -> Result<RunData> {
    let policy = FolderPolicy::of(config);
    let (full, test, skipped) = open_splits_with(&config.source, channels, policy)?;
    let mut data = match &config.source {
        DataSource::ImageList {
            root,
            held_out: Some(list),
            ..
        } => {
            let held_out = listed(root, list, full.num_classes(), channels, policy)?;
            let skipped = held_out.skipped().len();
            let parts = (full.clone(), Arc::new(held_out) as SharedDataset, test);
            let mut data = assemble(config, &*full, parts, channels, input_size)?;
            data.skipped_files += skipped;
            data
        }
        _ => split(config, full, test, channels, input_size, seed)?,
    };
    data.skipped_files += skipped;
    Ok(data)
}

/// The data of a search from its `(train, held-out, test)` parts: checked against the
/// space's `channels` and `input_size`, and normalised as `config.normalize` says, with
/// statistics taken from `stats` (the whole training set).
fn assemble(
    config: &DataConfig,
    stats: &dyn Dataset,
    (train, held_out, test): (SharedDataset, SharedDataset, Option<SharedDataset>),
    channels: usize,
    input_size: usize,
) -> Result<RunData> {
    check_channels(&*train, channels)?;
    let (train_pipeline, eval_pipeline) = pipelines(config, input_size);
    check_pipeline("train_pipeline", &train_pipeline, &*train, input_size)?;
    check_pipeline("eval_pipeline", &eval_pipeline, &*held_out, input_size)?;
    let normalize = normalization(&config.source, &config.normalize, channels, stats)?;
    Ok(RunData {
        train,
        held_out,
        test,
        normalize,
        train_pipeline,
        eval_pipeline,
        skipped_files: 0,
    })
}

/// Fails unless the first image of `data` has `channels` channels.
fn check_channels(data: &dyn Dataset, channels: usize) -> Result<()> {
    if let Some(sample) = (!data.is_empty()).then(|| data.get(0)).transpose()? {
        let found = sample.image.channels();
        if found != channels {
            return Err(SearchError::Config(format!(
                "the training images have {found} channels, the space expects {channels}"
            )));
        }
    }
    Ok(())
}

/// The training and evaluation pipelines of `config` for `input_size`-pixel inputs
/// ([`Pipeline::train_for`], [`Pipeline::eval_for`] unless given).
pub fn pipelines(config: &DataConfig, input_size: usize) -> (Pipeline, Pipeline) {
    let eval = config
        .eval_pipeline
        .clone()
        .unwrap_or_else(|| Pipeline::eval_for(input_size));
    let train = match &config.train_pipeline {
        Some(p) => p.clone(),
        None if config.augment => Pipeline::train_for(input_size),
        None => eval.clone(),
    };
    (train, eval)
}

/// Checks that `pipeline` (called `name`) turns the images of `data` into the
/// `size × size` inputs of the space: by its last crop, or — without one — by the size of
/// the images themselves (the first is looked at).
pub fn check_pipeline(
    name: &str,
    pipeline: &Pipeline,
    data: &dyn Dataset,
    size: usize,
) -> Result<()> {
    match pipeline.output_side() {
        Some(side) if side != size => Err(SearchError::Config(format!(
            "`data.{name}` makes {side}x{side} images, the space takes {size}x{size}"
        ))),
        Some(_) => Ok(()),
        None if data.is_empty() => Ok(()),
        None => {
            let image = data.get(0)?.image;
            let (w, h) = (image.width(), image.height());
            if (w, h) == (size, size) {
                Ok(())
            } else {
                Err(SearchError::Config(format!(
                    "`data.{name}` keeps the images' size, and they are {w}x{h} (the first \
                     one), the space takes {size}x{size}: give a pipeline that ends with a \
                     crop to {size} (e.g. resize and centre crop, as the default for inputs \
                     above 64 pixels)"
                )))
            }
        }
    }
}

/// The data of a search from a training set `full` and a test set: `full` is cut into
/// train and held-out parts by `seed` (class-stratified), and normalised as
/// `config.normalize` says.
pub fn split(
    config: &DataConfig,
    full: SharedDataset,
    test: Option<SharedDataset>,
    channels: usize,
    input_size: usize,
    seed: u64,
) -> Result<RunData> {
    let split = holdout_split(&*full, config.holdout_fraction, seed)?;
    let (train, held_out) = split.into_subsets(Arc::new(full.clone()))?;
    let parts = (
        Arc::new(train) as SharedDataset,
        Arc::new(held_out) as SharedDataset,
        test,
    );
    assemble(config, &*full, parts, channels, input_size)
}

/// The retraining data of `source` for networks of `space`: its train and test splits, the
/// source's [`normalization`] (`auto`) and, for 32×32 three-channel inputs, the CIFAR
/// augmentation ([`Pipeline::cifar_train`]); above 64 pixels the ImageNet training and
/// evaluation pipelines. Fails when the source has no test split.
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
    let size = spec.input_size;
    if channels == 3 && size == 32 {
        data = data.with_train_transform(Pipeline::cifar_train());
    } else if size > crate::data::SMALL_INPUT_MAX {
        data = data
            .with_train_transform(Pipeline::imagenet_train(size))
            .with_test_transform(Pipeline::imagenet_eval(size));
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
    fn preload_takes_what_fits_and_says_what_does_not() {
        let gib = 1u64 << 30;
        // Auto: up to 4 GiB and half the memory available.
        assert_eq!(
            preload_decision(Preload::Auto, 1000, 1 << 20, Some(8 * gib)),
            Ok(true)
        );
        assert_eq!(
            preload_decision(Preload::Auto, 5000, 1 << 20, Some(64 * gib)),
            Ok(false)
        );
        assert_eq!(
            preload_decision(Preload::Auto, 3000, 1 << 20, Some(4 * gib)),
            Ok(false)
        );
        assert_eq!(
            preload_decision(Preload::Auto, 3000, 1 << 20, None),
            Ok(true)
        );
        assert_eq!(preload_decision(Preload::Never, 1, 1, Some(gib)), Ok(false));
        assert_eq!(
            preload_decision(Preload::Always, 5000, 1 << 20, Some(8 * gib)),
            Ok(true)
        );
        // ImageNet-size: 1.28 M images of 500x375x3 bytes.
        let err = preload_decision(Preload::Always, 1_281_167, 500 * 375 * 3, Some(64 * gib))
            .unwrap_err();
        assert!(
            err.contains("671.2 GiB") && err.contains("64.0 GiB"),
            "{err}"
        );
    }

    #[test]
    fn pipelines_follow_the_input_size_and_must_make_it() {
        let data = images(); // 2x2 images
        let config = |augment| DataConfig {
            source: DataSource::FashionMnistDemo,
            holdout_fraction: 0.5,
            augment,
            train_pipeline: None,
            eval_pipeline: None,
            workers: None,
            normalize: NormalizeChoice::Auto,
            preload: Preload::Auto,
            skip_corrupt: false,
        };
        let (train, eval) = pipelines(&config(true), 224);
        assert_eq!(
            (&train, &eval),
            (
                &Pipeline::imagenet_train(224),
                &Pipeline::imagenet_eval(224)
            )
        );
        let (train, eval) = pipelines(&config(false), 224);
        assert_eq!(
            train, eval,
            "no augmentation: the weight steps see the evaluation pipeline"
        );
        let (train, eval) = pipelines(&config(true), 32);
        assert_eq!((train, eval), (Pipeline::cifar_train(), Pipeline::new()));
        // Without a crop the images must have the size; a crop must make it.
        check_pipeline("eval_pipeline", &Pipeline::new(), &data, 2).unwrap();
        let err = check_pipeline("eval_pipeline", &Pipeline::new(), &data, 28).unwrap_err();
        assert!(err.to_string().contains("they are 2x2"), "{err}");
        check_pipeline("train_pipeline", &Pipeline::imagenet_train(28), &data, 28).unwrap();
        let err =
            check_pipeline("train_pipeline", &Pipeline::imagenet_eval(24), &data, 28).unwrap_err();
        assert!(
            err.to_string()
                .contains("`data.train_pipeline` makes 24x24 images, the space takes 28x28"),
            "{err}"
        );
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
