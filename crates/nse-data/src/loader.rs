//! The batch loader: seeded shuffling, decoding and augmentation on worker threads ahead of
//! the consumer, and batches as Burn tensors.
//!
//! Everything random is a pure function of `(seed, epoch)` (the order) and
//! `(seed, epoch, sample index)` (the augmentation), so epoch `e` is the same every time, for
//! any number of workers, and a run can resume at any batch ([`Loader::epoch_from`]) and see
//! exactly the batches it would have seen without the interruption.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::dataset::Dataset;
use super::error::{DataError, Result};
use super::par::auto_threads;
use super::rng::{STREAM_AUGMENT, STREAM_ORDER, derive_rng, permutation};
use super::transform::{Normalize, PixelConverter, Transform};

/// How a [`Loader`] batches, shuffles and parallelises.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoaderConfig {
    /// Samples per batch (> 0).
    pub batch_size: usize,
    /// Shuffle the samples every epoch (by `seed` and the epoch number). Default `true`.
    pub shuffle: bool,
    /// Seed of the epoch orders and of the augmentation. Default 0.
    pub seed: u64,
    /// Drop the last batch of an epoch when it is smaller than `batch_size`. Default `false`.
    pub drop_last: bool,
    /// Worker threads that read, decode and transform; 0 builds every batch on the
    /// consumer's thread. Default: one per core.
    pub workers: usize,
    /// Batches built ahead of the consumer (at least 1 when `workers > 0`). Bounds the
    /// memory the loader holds. Default: twice the number of workers.
    pub prefetch: usize,
    /// Per-channel normalisation; `None` maps pixels to `x / 255`. Default `None`.
    pub normalize: Option<Normalize>,
}

impl LoaderConfig {
    /// Defaults with the given batch size.
    pub fn new(batch_size: usize) -> Self {
        let workers = auto_threads(0);
        Self {
            batch_size,
            shuffle: true,
            seed: 0,
            drop_last: false,
            workers,
            prefetch: 2 * workers,
            normalize: None,
        }
    }

    /// Sets [`LoaderConfig::seed`].
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets [`LoaderConfig::shuffle`].
    pub fn with_shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Sets [`LoaderConfig::drop_last`].
    pub fn with_drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Sets [`LoaderConfig::workers`] and [`LoaderConfig::prefetch`] (to twice the workers).
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self.prefetch = (2 * workers).max(1);
        self
    }

    /// Sets [`LoaderConfig::prefetch`].
    pub fn with_prefetch(mut self, prefetch: usize) -> Self {
        self.prefetch = prefetch;
        self
    }

    /// Sets [`LoaderConfig::normalize`].
    pub fn with_normalize(mut self, normalize: Normalize) -> Self {
        self.normalize = Some(normalize);
        self
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(DataError::param("batch_size", 0, "must be at least 1"));
        }
        if self.workers > 0 && self.prefetch == 0 {
            return Err(DataError::param(
                "prefetch",
                0,
                "must be at least 1 when workers > 0",
            ));
        }
        if let Some(n) = &self.normalize {
            Normalize::new(n.mean.clone(), n.std.clone())?;
        }
        Ok(())
    }
}

/// A batch's place in the training stream: epoch and batch index within the epoch.
///
/// Store the [`Loader::next_position`] of the last batch trained on in a checkpoint and pass
/// it to [`Loader::epoch_from`] to resume exactly.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Position {
    /// Epoch number (0-based).
    pub epoch: usize,
    /// Batch index within the epoch (0-based).
    pub batch: usize,
}

/// A batch in host memory: `f32` images in `[batch, channels, height, width]` order and
/// `i64` labels.
#[derive(Clone, Debug, PartialEq)]
pub struct HostBatch {
    /// The images, `shape[0] × shape[1] × shape[2] × shape[3]` values.
    pub images: Vec<f32>,
    /// `[batch, channels, height, width]`.
    pub shape: [usize; 4],
    /// One class index per image.
    pub labels: Vec<i64>,
    /// The dataset index of each image.
    pub sample_indices: Vec<usize>,
    /// Where the batch sits in the training stream.
    pub position: Position,
}

impl HostBatch {
    /// Uploads the batch to `device`.
    pub fn into_batch(self, device: &Device) -> Batch {
        let n = self.shape[0];
        Batch {
            images: Tensor::<4>::from_data(TensorData::new(self.images, self.shape), device),
            labels: Tensor::<1, Int>::from_data(TensorData::new(self.labels, [n]), device),
            sample_indices: self.sample_indices,
            position: self.position,
        }
    }
}

/// A batch on a device.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Images, `[batch, channels, height, width]`, `f32`.
    pub images: Tensor<4>,
    /// Class indices, `[batch]`.
    pub labels: Tensor<1, Int>,
    /// The dataset index of each image.
    pub sample_indices: Vec<usize>,
    /// Where the batch sits in the training stream.
    pub position: Position,
}

/// What the worker threads share.
struct Shared<D, T> {
    dataset: D,
    transform: T,
    config: LoaderConfig,
}

impl<D: Dataset, T: Transform> Shared<D, T> {
    fn num_batches(&self) -> usize {
        let (n, b) = (self.dataset.len(), self.config.batch_size);
        if self.config.drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    /// The sample order of `epoch`.
    fn order(&self, epoch: usize) -> Vec<usize> {
        let n = self.dataset.len();
        if self.config.shuffle {
            permutation(
                n,
                &mut derive_rng(&[STREAM_ORDER, self.config.seed, epoch as u64]),
            )
        } else {
            (0..n).collect()
        }
    }

    /// Reads, transforms and converts the samples of batch `index` of an epoch with sample
    /// order `order`.
    fn build(&self, order: &[usize], epoch: usize, index: usize) -> Result<HostBatch> {
        let b = self.config.batch_size;
        let samples = &order[index * b..((index + 1) * b).min(order.len())];
        let mut images = Vec::new();
        let mut labels = Vec::with_capacity(samples.len());
        let mut layout: Option<([usize; 3], PixelConverter)> = None;
        for (k, &i) in samples.iter().enumerate() {
            let mut rng = derive_rng(&[STREAM_AUGMENT, self.config.seed, epoch as u64, i as u64]);
            let (image, label) = match self.dataset.get_encoded(i)? {
                Some(sample) => (
                    self.transform.apply_encoded(sample.image, &mut rng)?,
                    sample.label,
                ),
                None => {
                    let sample = self.dataset.get(i)?;
                    (self.transform.apply(sample.image, &mut rng)?, sample.label)
                }
            };
            let shape = image.shape_chw();
            let (expected, converter) = match &layout {
                Some(l) => l,
                None => {
                    images = vec![0.0f32; samples.len() * shape.iter().product::<usize>()];
                    layout.insert((
                        shape,
                        PixelConverter::new(self.config.normalize.as_ref(), shape[0])?,
                    ))
                }
            };
            if *expected != shape {
                return Err(DataError::ShapeMismatch {
                    index: i,
                    expected: *expected,
                    found: shape,
                });
            }
            let len = shape.iter().product::<usize>();
            converter.write_chw(&image, &mut images[k * len..(k + 1) * len])?;
            labels.push(label as i64);
        }
        let [c, h, w] = layout.map_or([0; 3], |(s, _)| s);
        Ok(HostBatch {
            images,
            shape: [samples.len(), c, h, w],
            labels,
            sample_indices: samples.to_vec(),
            position: Position {
                epoch,
                batch: index,
            },
        })
    }
}

/// Loads batches of a [`Dataset`] through a [`Transform`] (see the module documentation).
pub struct Loader<D, T> {
    shared: Arc<Shared<D, T>>,
    device: Device,
}

impl<D: Dataset + 'static, T: Transform + 'static> Loader<D, T> {
    /// A loader producing batches on `device`. Fails if `config` is invalid.
    pub fn new(dataset: D, transform: T, config: LoaderConfig, device: Device) -> Result<Self> {
        config.check()?;
        Ok(Self {
            shared: Arc::new(Shared {
                dataset,
                transform,
                config,
            }),
            device,
        })
    }

    /// The dataset.
    pub fn dataset(&self) -> &D {
        &self.shared.dataset
    }

    /// The configuration.
    pub fn config(&self) -> &LoaderConfig {
        &self.shared.config
    }

    /// The device batches are created on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Batches per epoch.
    pub fn num_batches(&self) -> usize {
        self.shared.num_batches()
    }

    /// The order in which epoch `epoch` visits the dataset's samples (all of them, including
    /// those of a dropped last batch).
    pub fn epoch_order(&self, epoch: usize) -> Vec<usize> {
        self.shared.order(epoch)
    }

    /// The position following the batch at `position`: the next batch of the same epoch, or
    /// batch 0 of the next epoch after the last one.
    pub fn next_position(&self, position: Position) -> Position {
        if position.batch + 1 >= self.num_batches() {
            Position {
                epoch: position.epoch + 1,
                batch: 0,
            }
        } else {
            Position {
                epoch: position.epoch,
                batch: position.batch + 1,
            }
        }
    }

    /// Builds one batch synchronously on the calling thread (random access; the same
    /// values the iterators produce).
    pub fn host_batch(&self, position: Position) -> Result<HostBatch> {
        if position.batch >= self.num_batches() {
            return Err(DataError::param(
                "batch",
                position.batch,
                format!("an epoch has {} batches", self.num_batches()),
            ));
        }
        self.shared.build(
            &self.shared.order(position.epoch),
            position.epoch,
            position.batch,
        )
    }

    /// Iterates over all batches of `epoch` as tensors on the loader's device.
    pub fn epoch(&self, epoch: usize) -> Epoch<D, T> {
        Epoch {
            host: HostEpoch::start(Arc::clone(&self.shared), epoch, 0),
            device: self.device.clone(),
        }
    }

    /// Iterates over the batches of `start.epoch` from batch `start.batch` on (resuming a
    /// run). `start.batch == num_batches()` gives an empty iterator; beyond that is an error.
    pub fn epoch_from(&self, start: Position) -> Result<Epoch<D, T>> {
        Ok(Epoch {
            host: self.host_epoch_from(start)?,
            device: self.device.clone(),
        })
    }

    /// Like [`Loader::epoch_from`], yielding host-memory batches (no device upload).
    pub fn host_epoch_from(&self, start: Position) -> Result<HostEpoch<D, T>> {
        if start.batch > self.num_batches() {
            return Err(DataError::param(
                "start batch",
                start.batch,
                format!("an epoch has {} batches", self.num_batches()),
            ));
        }
        Ok(HostEpoch::start(
            Arc::clone(&self.shared),
            start.epoch,
            start.batch,
        ))
    }
}

/// The batches of one epoch as tensors; see [`Loader::epoch`]. Yields `Err` at most once,
/// then ends. Dropping it early stops the workers.
pub struct Epoch<D: Dataset + 'static, T: Transform + 'static> {
    host: HostEpoch<D, T>,
    device: Device,
}

impl<D: Dataset + 'static, T: Transform + 'static> Epoch<D, T> {
    /// The position of the batch the next call to `next` returns.
    pub fn position(&self) -> Position {
        self.host.position()
    }
}

impl<D: Dataset + 'static, T: Transform + 'static> Iterator for Epoch<D, T> {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.host
            .next()
            .map(|r| r.map(|b| b.into_batch(&self.device)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.host.size_hint()
    }
}

/// Claim window shared by the consumer and the workers.
struct Window {
    /// The next batch index a worker may claim.
    next_claim: usize,
    /// Batches before this index have been handed to the consumer.
    consumed: usize,
    /// Set when the iterator is dropped.
    stop: bool,
}

struct Coordination {
    window: Mutex<Window>,
    changed: Condvar,
}

impl Coordination {
    fn lock(&self) -> MutexGuard<'_, Window> {
        // A worker never panics while holding the lock (builds run outside it), so a
        // poisoned lock still holds a consistent window.
        self.window.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Threads and buffers of a multi-worker epoch.
struct Workers {
    coordination: Arc<Coordination>,
    results: Receiver<(usize, Result<HostBatch>)>,
    pending: HashMap<usize, Result<HostBatch>>,
    handles: Vec<JoinHandle<()>>,
}

/// The batches of one epoch in host memory; see [`Loader::host_epoch_from`].
pub struct HostEpoch<D: Dataset + 'static, T: Transform + 'static> {
    shared: Arc<Shared<D, T>>,
    order: Arc<Vec<usize>>,
    epoch: usize,
    next: usize,
    end: usize,
    failed: bool,
    workers: Option<Workers>,
}

impl<D: Dataset + 'static, T: Transform + 'static> HostEpoch<D, T> {
    fn start(shared: Arc<Shared<D, T>>, epoch: usize, start: usize) -> Self {
        let order = Arc::new(shared.order(epoch));
        let end = shared.num_batches();
        let n_workers = shared.config.workers.min(end.saturating_sub(start));
        let workers = (n_workers > 0).then(|| {
            let coordination = Arc::new(Coordination {
                window: Mutex::new(Window {
                    next_claim: start,
                    consumed: start,
                    stop: false,
                }),
                changed: Condvar::new(),
            });
            let (tx, results) = channel();
            let handles = (0..n_workers)
                .map(|_| {
                    let (shared, order, coordination, tx) = (
                        Arc::clone(&shared),
                        Arc::clone(&order),
                        Arc::clone(&coordination),
                        tx.clone(),
                    );
                    std::thread::spawn(move || {
                        worker(&shared, &order, epoch, end, &coordination, &tx)
                    })
                })
                .collect();
            Workers {
                coordination,
                results,
                pending: HashMap::new(),
                handles,
            }
        });
        Self {
            shared,
            order,
            epoch,
            next: start,
            end,
            failed: false,
            workers,
        }
    }

    /// The position of the batch the next call to `next` returns.
    pub fn position(&self) -> Position {
        Position {
            epoch: self.epoch,
            batch: self.next,
        }
    }
}

/// A worker: claims batch indices inside the prefetch window, builds them, sends them.
fn worker<D: Dataset, T: Transform>(
    shared: &Shared<D, T>,
    order: &[usize],
    epoch: usize,
    end: usize,
    coordination: &Coordination,
    results: &Sender<(usize, Result<HostBatch>)>,
) {
    let prefetch = shared.config.prefetch;
    loop {
        let index = {
            let mut w = coordination.lock();
            loop {
                if w.stop || w.next_claim >= end {
                    return;
                }
                if w.next_claim < w.consumed + prefetch {
                    break;
                }
                w = coordination
                    .changed
                    .wait(w)
                    .unwrap_or_else(|p| p.into_inner());
            }
            w.next_claim += 1;
            w.next_claim - 1
        };
        let result =
            std::panic::catch_unwind(AssertUnwindSafe(|| shared.build(order, epoch, index)))
                .unwrap_or(Err(DataError::WorkerPanic {
                    epoch,
                    batch: index,
                }));
        if results.send((index, result)).is_err() {
            return;
        }
    }
}

impl<D: Dataset + 'static, T: Transform + 'static> Iterator for HostEpoch<D, T> {
    type Item = Result<HostBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.next >= self.end {
            return None;
        }
        let index = self.next;
        let result = match &mut self.workers {
            None => self.shared.build(&self.order, self.epoch, index),
            Some(w) => {
                let result = loop {
                    if let Some(r) = w.pending.remove(&index) {
                        break r;
                    }
                    match w.results.recv() {
                        Ok((i, r)) if i == index => break r,
                        Ok((i, r)) => {
                            w.pending.insert(i, r);
                        }
                        // Every worker is gone without delivering `index`.
                        Err(_) => {
                            break Err(DataError::WorkerPanic {
                                epoch: self.epoch,
                                batch: index,
                            });
                        }
                    }
                };
                w.coordination.lock().consumed = index + 1;
                w.coordination.changed.notify_all();
                result
            }
        };
        self.next += 1;
        self.failed = result.is_err();
        Some(result)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = if self.failed { 0 } else { self.end - self.next };
        (0, Some(left))
    }
}

impl<D: Dataset + 'static, T: Transform + 'static> Drop for HostEpoch<D, T> {
    fn drop(&mut self) {
        if let Some(w) = self.workers.take() {
            w.coordination.lock().stop = true;
            w.coordination.changed.notify_all();
            drop(w.results);
            for handle in w.handles {
                // A worker that panicked outside `catch_unwind` has nothing left to clean up.
                let _ = handle.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::InMemoryDataset;
    use crate::sample::{Image, Sample};
    use crate::transform::{Pipeline, RandomHorizontalFlip};
    use rand_chacha::rand_core::RngCore;

    /// `n` 2x1 RGB images; image i has pixels (i, i, i) and (i + 1, 0, 255) (mod 256), label
    /// i % 3.
    fn toy(n: usize) -> InMemoryDataset {
        let pixels = (0..n)
            .flat_map(|i| [i as u8, i as u8, i as u8, (i as u8).wrapping_add(1), 0, 255])
            .collect();
        InMemoryDataset::new(
            2,
            1,
            3,
            pixels,
            (0..n).map(|i| i % 3).collect(),
            vec!["a".into(), "b".into(), "c".into()],
        )
        .unwrap()
    }

    fn loader(n: usize, config: LoaderConfig) -> Loader<InMemoryDataset, Pipeline> {
        let flip = Pipeline::new().then(RandomHorizontalFlip { p: 0.5 });
        Loader::new(toy(n), flip, config, Device::flex()).unwrap()
    }

    fn collect(l: &Loader<InMemoryDataset, Pipeline>, start: Position) -> Vec<HostBatch> {
        l.host_epoch_from(start)
            .unwrap()
            .map(|b| b.unwrap())
            .collect()
    }

    #[test]
    fn tensors_have_the_right_shapes_and_values() {
        let l = loader(10, LoaderConfig::new(4).with_shuffle(false).with_workers(0));
        let batches: Vec<Batch> = l.epoch(0).map(|b| b.unwrap()).collect();
        assert_eq!(batches.len(), 3);
        assert_eq!(batches[0].images.dims(), [4, 3, 1, 2]);
        assert_eq!(batches[2].images.dims(), [2, 3, 1, 2]);
        assert_eq!(
            batches[2]
                .labels
                .to_data()
                .convert::<i64>()
                .try_to_vec::<i64>()
                .unwrap(),
            vec![2, 0]
        );
        let x = batches[1].images.to_data().try_to_vec::<f32>().unwrap();
        // Sample 4 (first of batch 1), channel 2 (blue): pixels 4 and 255 in some order.
        let mut blue = [x[4], x[5]];
        blue.sort_by(f32::total_cmp);
        assert_eq!(blue, [4.0 / 255.0, 1.0]);
    }

    #[test]
    fn epochs_are_reproducible_and_differ() {
        let l = loader(50, LoaderConfig::new(8).with_seed(3).with_workers(0));
        let a = collect(&l, Position { epoch: 1, batch: 0 });
        let b = collect(&l, Position { epoch: 1, batch: 0 });
        assert_eq!(a, b);
        let c = collect(&l, Position { epoch: 2, batch: 0 });
        assert_ne!(a[0].sample_indices, c[0].sample_indices);
        let mut seen: Vec<usize> = a.iter().flat_map(|b| b.sample_indices.clone()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..50).collect::<Vec<_>>());
        assert_eq!(
            l.epoch_order(1),
            a.iter()
                .flat_map(|b| b.sample_indices.clone())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn workers_do_not_change_the_batches() {
        let sync = collect(
            &loader(37, LoaderConfig::new(5).with_seed(9).with_workers(0)),
            Position::default(),
        );
        for (workers, prefetch) in [(1, 1), (3, 2), (4, 8)] {
            let cfg = LoaderConfig::new(5)
                .with_seed(9)
                .with_workers(workers)
                .with_prefetch(prefetch);
            assert_eq!(
                collect(&loader(37, cfg), Position::default()),
                sync,
                "{workers} workers"
            );
        }
    }

    #[test]
    fn resume_mid_epoch_is_exact() {
        let l = loader(30, LoaderConfig::new(4).with_seed(5).with_workers(2));
        let full = collect(&l, Position { epoch: 4, batch: 0 });
        let tail = collect(&l, Position { epoch: 4, batch: 3 });
        assert_eq!(tail.as_slice(), &full[3..]);
        assert_eq!(tail[0].position, Position { epoch: 4, batch: 3 });
        assert_eq!(
            l.host_batch(Position { epoch: 4, batch: 5 }).unwrap(),
            full[5]
        );
        assert!(collect(&l, Position { epoch: 4, batch: 8 }).is_empty());
        assert!(l.host_epoch_from(Position { epoch: 4, batch: 9 }).is_err());
        assert_eq!(
            l.next_position(Position { epoch: 4, batch: 7 }),
            Position { epoch: 5, batch: 0 }
        );
        assert_eq!(
            l.next_position(Position { epoch: 4, batch: 2 }),
            Position { epoch: 4, batch: 3 }
        );
    }

    #[test]
    fn drop_last_and_no_shuffle() {
        let l = loader(
            10,
            LoaderConfig::new(4)
                .with_drop_last(true)
                .with_shuffle(false)
                .with_workers(2),
        );
        let b = collect(&l, Position::default());
        assert_eq!(l.num_batches(), 2);
        assert_eq!(
            b.iter()
                .map(|b| b.sample_indices.clone())
                .collect::<Vec<_>>(),
            [vec![0, 1, 2, 3], vec![4, 5, 6, 7]]
        );
    }

    #[test]
    fn normalisation_is_applied() {
        let n = Normalize::new(vec![0.0, 0.5, 1.0], vec![1.0, 0.5, 2.0]).unwrap();
        let l = loader(
            3,
            LoaderConfig::new(3)
                .with_shuffle(false)
                .with_workers(0)
                .with_normalize(n),
        );
        let b = l.host_batch(Position::default()).unwrap();
        // Sample 0, green channel: pixels 0 and 0 -> (0 - 0.5) / 0.5 = -1.
        assert_eq!(&b.images[2..4], &[-1.0, -1.0]);
        let bad = Normalize::new(vec![0.0], vec![1.0]).unwrap();
        let l = loader(3, LoaderConfig::new(3).with_workers(0).with_normalize(bad));
        assert!(matches!(
            l.host_batch(Position::default()),
            Err(DataError::Transform { .. })
        ));
    }

    /// A dataset whose sample 7 fails to decode, whose sample 5 has another size and whose
    /// sample 9 panics.
    struct Faulty;
    impl Dataset for Faulty {
        fn len(&self) -> usize {
            10
        }
        fn class_names(&self) -> &[String] {
            &[]
        }
        fn label(&self, _: usize) -> Result<usize> {
            Ok(0)
        }
        fn get(&self, index: usize) -> Result<Sample> {
            match index {
                7 => Err(DataError::Decode {
                    path: "bad.jpg".into(),
                    reason: "broken".into(),
                }),
                9 => panic!("sample 9 (this panic is expected by the test)"),
                _ => Ok(Sample {
                    image: Image::zeros(if index == 5 { 3 } else { 2 }, 2, 1).unwrap(),
                    label: 0,
                }),
            }
        }
    }

    fn faulty(batch_size: usize, workers: usize) -> Loader<Faulty, ()> {
        let cfg = LoaderConfig::new(batch_size)
            .with_shuffle(false)
            .with_workers(workers);
        Loader::new(Faulty, (), cfg, Device::flex()).unwrap()
    }

    #[test]
    fn errors_end_the_epoch() {
        let results: Vec<_> = faulty(1, 2)
            .host_epoch_from(Position::default())
            .unwrap()
            .collect();
        assert_eq!(results.len(), 8);
        assert!(results[..7].iter().all(|r| r.is_ok()));
        assert!(
            matches!(&results[7], Err(DataError::Decode { path, .. }) if path.ends_with("bad.jpg"))
        );
        let err = faulty(3, 0)
            .host_batch(Position { epoch: 0, batch: 1 })
            .unwrap_err();
        assert!(
            matches!(
                err,
                DataError::ShapeMismatch {
                    index: 5,
                    expected: [1, 2, 2],
                    found: [1, 2, 3]
                }
            ),
            "{err}"
        );
        let err = faulty(1, 1)
            .host_epoch_from(Position { epoch: 0, batch: 9 })
            .unwrap()
            .next()
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(err, DataError::WorkerPanic { epoch: 0, batch: 9 }),
            "{err}"
        );
    }

    #[test]
    fn dropping_early_stops_the_workers() {
        let l = loader(1000, LoaderConfig::new(2).with_workers(3).with_prefetch(2));
        let mut it = l.host_epoch_from(Position::default()).unwrap();
        assert!(it.next().unwrap().is_ok());
        drop(it); // joins the workers; hangs if the stop signal were lost
        assert!(Loader::new(toy(1), (), LoaderConfig::new(0), Device::flex()).is_err());
    }

    #[test]
    fn augmentation_stream_depends_on_seed_epoch_and_index_only() {
        // The same sample gets the same augmentation whatever its batch and batch size.
        struct Record;
        impl Transform for Record {
            fn apply(&self, _image: Image, rng: &mut dyn RngCore) -> Result<Image> {
                Image::new(1, 1, 1, vec![(rng.next_u32() % 251) as u8])
            }
        }
        let a = Loader::new(
            toy(20),
            Record,
            LoaderConfig::new(3).with_seed(1).with_workers(0),
            Device::flex(),
        )
        .unwrap();
        let b = Loader::new(
            toy(20),
            Record,
            LoaderConfig::new(7).with_seed(1).with_workers(2),
            Device::flex(),
        )
        .unwrap();
        let value_of = |l: &Loader<InMemoryDataset, Record>| {
            let mut v: Vec<(usize, f32)> = l
                .host_epoch_from(Position { epoch: 2, batch: 0 })
                .unwrap()
                .flat_map(|b| {
                    let b = b.unwrap();
                    b.sample_indices
                        .into_iter()
                        .zip(b.images)
                        .collect::<Vec<_>>()
                })
                .collect();
            v.sort_by_key(|p| p.0);
            v
        };
        assert_eq!(value_of(&a), value_of(&b));
    }
}
