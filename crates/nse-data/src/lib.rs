//! Image datasets, held-out splits, seeded augmentation and a prefetching batch loader.
//!
//! - Datasets implement [`Dataset`]: [`ImageFolder`] (`root/<class>/<image>`, JPEG/PNG),
//!   CIFAR-10 binary batches ([`load_cifar10`]) and MNIST/Fashion-MNIST idx files
//!   ([`load_mnist`], plain or `.gz`) — the last two load into an [`InMemoryDataset`].
//! - [`holdout_split`] carves a deterministic, class-stratified held-out part out of a
//!   training set (NSE's indicator steps and architecture evaluation must see images the
//!   weights never trained on); [`Subset`] views either part.
//! - [`transform`] holds the augmentations (CIFAR and ImageNet recipes) and [`Normalize`].
//! - [`Loader`] shuffles by seed and epoch, decodes and augments on worker threads with
//!   bounded prefetch, and yields [`Batch`]es of Burn tensors
//!   (`[batch, channels, height, width]` `f32` images, `[batch]` `Int` labels); it can start
//!   at any [`Position`] to resume a run mid-epoch.
//! - [`hold_back_lists`] writes image lists that move part of a tree's training images into
//!   its test set, for a more precise evaluation.
//! - [`extract_tar_gz_cached`] unpacks a dataset archive once into a cache folder.
//! - [`write_class_index_json`] saves the class-to-index map next to results.
//!
//! Every random choice comes from explicitly seeded ChaCha8 streams (see [`rng`]); nothing
//! here uses a thread-local or OS-seeded generator.
//!
//! ```no_run
//! use std::sync::Arc;
//! use burn::tensor::Device;
//! use nse_data::{
//!     Dataset, Loader, LoaderConfig, MnistVariant, Normalize, Pipeline, Position, Split,
//!     demo::load_fashion_mnist_demo, holdout_split,
//! };
//!
//! # fn main() -> nse_data::Result<()> {
//! // The embedded demo subset; `load_mnist(dir, Split::Train, MnistVariant::Fashion)` reads
//! // the same files from a folder.
//! let train = Arc::new(load_fashion_mnist_demo(Split::Train)?);
//! let (train, held_out) = holdout_split(&*train, 0.1, 2021)?.into_subsets(Arc::clone(&train))?;
//! let config = LoaderConfig::new(128).with_seed(2021).with_normalize(Normalize::fashion_mnist());
//! let loader = Loader::new(train, Pipeline::new(), config, Device::flex())?;
//! for batch in loader.epoch_from(Position { epoch: 3, batch: 0 })? {
//!     let batch = batch?;
//!     assert_eq!(batch.images.dims()[1..], [1, 28, 28]);
//! }
//! # let _ = held_out.len();
//! # Ok(())
//! # }
//! ```

mod cifar;
mod classes;
mod dataset;
pub mod demo;
mod encoded;
mod error;
mod extract;
mod idx;
mod image_folder;
#[cfg(feature = "libjpeg-turbo")]
mod libjpeg_turbo;
mod lists;
mod loader;
mod memory;
mod par;
pub mod rng;
mod sample;
mod split;
mod stats;
#[cfg(test)]
mod test_util;
pub mod transform;

pub use cifar::{
    CIFAR10_CLASSES, CIFAR10_RECORD_BYTES, CIFAR10_SIDE, cifar10_file_names, load_cifar10,
    load_cifar10_files,
};
pub use classes::{ClassIndex, read_class_index_json, write_class_index_json};
pub use dataset::{Dataset, EncodedSample, Split};
pub use encoded::{EncodedImage, SCALE_DENOMINATORS, ScalableJpeg, scale_denominator};
pub use error::{DataError, Result};
pub use extract::{EXTRACTION_MARKER, extract_tar_gz_cached};
pub use idx::{
    FASHION_MNIST_CLASSES, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IdxImages, MnistVariant,
    idx_pair_from_bytes, load_idx_pair, load_mnist, mnist_file_names, read_idx_images,
    read_idx_labels, write_idx_images, write_idx_labels,
};
pub use image_folder::{
    IMAGE_EXTENSIONS, ImageFolder, ImageFolderOptions, SkippedImage, decode_image,
};
pub use lists::{HeldBackLists, TEST_LIST, TRAIN_LIST, hold_back_lists};
pub use loader::{Batch, Epoch, HostBatch, HostEpoch, Loader, LoaderConfig, Position};
pub use memory::InMemoryDataset;
pub use sample::{Image, Sample};
pub use split::{HoldoutSplit, Subset, balanced_subset, holdout_split};
pub use stats::{ChannelStats, channel_stats};
pub use transform::{
    CenterCrop, ColorJitter, Normalize, Pipeline, PixelConverter, RandomCrop, RandomHorizontalFlip,
    RandomResizedCrop, Resize, SMALL_INPUT_MAX, Step, Transform,
};
