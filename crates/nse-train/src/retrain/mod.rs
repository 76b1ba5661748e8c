//! Retraining a found architecture from scratch as a standalone network (docs/method.md §7
//! last line, §8 "retraining recipe"), and evaluating it.
//!
//! [`retrain`] builds the [`ChildNetwork`] of a [`NetworkSpec`] with fresh weights seeded by
//! [`RetrainConfig::seed`], trains it with the [`RetrainConfig`] recipe, evaluates top-1,
//! top-5 and loss on the test set after every epoch, checkpoints after every epoch (see
//! [`checkpoint`](self#checkpoints)) and finally writes into the output folder:
//!
//! | file | content |
//! |---|---|
//! | `model.bpk` | the evaluated weights (EMA when enabled) with batch-norm statistics, Burn burnpack ([`ChildNetwork::save`]; load with [`ChildNetwork::load`] after [`NetworkSpec::resolve`]) |
//! | `model.safetensors` | the same with PyTorch names ([`nse_supernet::export_safetensors`]) |
//! | `network.json` | the [`NetworkSpec`] |
//! | `report.json` | the [`RetrainReport`]: config, per-epoch train loss/accuracy and test top-1/top-5/loss, wall time, parameters, MACs (rewritten after every epoch) |
//!
//! # Checkpoints
//!
//! After every epoch `checkpoint/epoch-NNNN/` receives the model, the optimizer state
//! (momentum buffers), the EMA weights and the report so far, atomically (written to a
//! temporary folder, then renamed). Calling [`retrain`] again with the same network, data and
//! config (and [`RetrainOptions::resume`]) continues after the last completed epoch; on the
//! CPU the result equals an uninterrupted run's.
//!
//! # Ranks
//!
//! With [`RetrainOptions::ranks`] from an MPI launcher (`nse_cluster::Ranks::from_launcher`,
//! feature `mpi`), every rank of the job calls [`retrain`] with the same network, data and
//! recipe (checked at the start). Each global batch is split by rank, then over the rank's
//! [`RetrainOptions::devices`]; one all-reduce of the gradients gives every rank the same
//! step ([`nse_supernet::ranks::gradients_ranked`]), so `R` ranks with `D` devices each
//! train as one process with `R × D` devices. The test set is split by batch over the
//! ranks. Rank 0 writes `out_dir`; the others work in private temporary folders, and on a
//! resume rank 0 sends them its checkpoints, so nodes need no shared file system and a run
//! resumes on any number of ranks. A stop raised on any rank stops every rank at the same
//! batch. An error on one rank leaves the others waiting in their next collective: end the
//! job with [`Collective::abort`](nse_cluster::Collective::abort), as the `nse` binary does.
//!
//! ```no_run
//! use burn::tensor::Device;
//! use nse_space::{Architecture, SpaceSpec};
//! use nse_train::data::{Normalize, Split, demo::load_fashion_mnist_demo};
//! use nse_train::progress::Terminal;
//! use nse_train::retrain::{RetrainConfig, RetrainData, RetrainOptions, retrain};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let space = SpaceSpec::preset("fashion-mnist-mb27")?.check()?;
//! let arch = Architecture::new(vec![vec![3]; space.num_cells()])?;
//! let network = space.child(&arch)?;
//! let data = RetrainData::new(
//!     load_fashion_mnist_demo(Split::Train)?,
//!     load_fashion_mnist_demo(Split::Test)?,
//! )
//! .with_normalize(Normalize::fashion_mnist());
//! let report = retrain(
//!     &network,
//!     data,
//!     &RetrainConfig::demo(),
//!     &Device::flex(),
//!     "runs/retrain-demo".as_ref(),
//!     &RetrainOptions::default(),
//!     &mut Terminal::new(),
//! )?;
//! println!("test top-1 {:.2}%", report.last_test().unwrap().top1);
//! # Ok(())
//! # }
//! ```

mod checkpoint;
mod config;
mod error;
mod eval;
mod events;
mod report;

use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::Device;
use nse_modules::learnable_params;
use nse_space::{Architecture, NetworkSpec, SearchSpace};
use nse_supernet::parallel::set_statistics;
use nse_supernet::ranks::{Workers, gradients_ranked, parameter_hash};
use nse_supernet::{ChildNetwork, export_safetensors};

pub use config::RetrainConfig;
pub use error::{Result, RetrainError};
use eval::evaluate_on_ranks;
pub use eval::{EvalReport, EvalSettings, evaluate, evaluate_loader};
pub use events::{RetrainEvent, RetrainObserver, RetrainObservers, display};
pub use report::{EpochRecord, RetrainReport, Weights};

use crate::data::{Dataset, Loader, LoaderConfig, Normalize, Pipeline};
use crate::ema::Ema;
use crate::interrupt::StopFlag;
use crate::metrics::top_k_correct;
use crate::progress::Reporter;
use crate::ranks::{
    DRIFT, RankFolder, SAME_INPUTS, ShareFiles, SharedRanks, agree_fingerprint, agree_on,
};
use checkpoint::{CheckpointState, checkpoint_root, write_atomic};

/// The burnpack weights in the output folder.
pub const MODEL_FILE: &str = "model.bpk";
/// The safetensors export in the output folder.
pub const SAFETENSORS_FILE: &str = "model.safetensors";
/// The network spec in the output folder.
pub const NETWORK_FILE: &str = "network.json";
/// The report in the output folder.
pub const REPORT_FILE: &str = "report.json";
/// The data source the command line retrained on ([`DataSource`](crate::search::DataSource)
/// as JSON), so that `nse eval` evaluates on the same test split.
pub const DATA_FILE: &str = "data.json";

/// The data of a retraining run: training and test sets with their preprocessing.
#[derive(Debug, Clone)]
pub struct RetrainData<Tr, Te> {
    /// Training images.
    pub train: Tr,
    /// Test images (evaluated after every epoch).
    pub test: Te,
    /// Seeded training augmentation ([`Pipeline::cifar_train`] for CIFAR). Default: none.
    pub train_transform: Pipeline,
    /// Deterministic test preprocessing ([`Pipeline::imagenet_eval`] for ImageNet).
    /// Default: none.
    pub test_transform: Pipeline,
    /// Per-channel normalisation of both (`None`: pixels / 255). Default `None`.
    pub normalize: Option<Normalize>,
}

impl<Tr: Dataset, Te: Dataset> RetrainData<Tr, Te> {
    /// The two datasets without augmentation or normalisation.
    pub fn new(train: Tr, test: Te) -> Self {
        RetrainData {
            train,
            test,
            train_transform: Pipeline::new(),
            test_transform: Pipeline::new(),
            normalize: None,
        }
    }

    /// Sets [`RetrainData::train_transform`].
    pub fn with_train_transform(mut self, transform: Pipeline) -> Self {
        self.train_transform = transform;
        self
    }

    /// Sets [`RetrainData::test_transform`].
    pub fn with_test_transform(mut self, transform: Pipeline) -> Self {
        self.test_transform = transform;
        self
    }

    /// Sets [`RetrainData::normalize`].
    pub fn with_normalize(mut self, normalize: Normalize) -> Self {
        self.normalize = Some(normalize);
        self
    }
}

/// How [`retrain`] treats an existing checkpoint and when it stops, and who computes it.
#[derive(Clone)]
pub struct RetrainOptions {
    /// Continue from the output folder's checkpoint if there is one (it must come from the
    /// same network, data and config); `false` deletes it and starts over. Default `true`.
    pub resume: bool,
    /// Stop (after checkpointing) once this many epochs are complete, without writing the
    /// final model; a later call resumes. Default `None`: train all epochs.
    pub stop_after_epoch: Option<usize>,
    /// Stop at the next batch once this flag is raised (Ctrl-C): [`retrain`] then fails with
    /// [`RetrainError::Interrupted`], and a later call resumes from the last epoch's
    /// checkpoint (the interrupted epoch is trained again, exactly). Default: never raised.
    pub stop: StopFlag,
    /// A failure-testing hook: the training batches `(epoch from 1, batch from 0)` listed
    /// are multiplied by NaN before their step, so that their loss is NaN (what
    /// [`RetrainConfig::non_finite_loss`] is about). Default: none.
    pub inject_non_finite_batches: Vec<(usize, usize)>,
    /// Devices the training batches are split over (data parallelism,
    /// [`nse_supernet::parallel::gradients_on_devices`]): the first must be the device given
    /// to [`retrain`]; the same device may appear several times (CPU replicas in threads).
    /// Each replica normalises with its shard's batch statistics, and the running statistics
    /// become the replicas' average. Evaluation runs on the first device. Default: none
    /// (everything on the device given to [`retrain`]).
    pub devices: Vec<Device>,
    /// Receive every [`RetrainEvent`] as it happens ([`observe`](Self::observe)). Default:
    /// none (the [`Reporter`] given to [`retrain`] still shows the progress).
    pub observers: RetrainObservers,
    /// The ranks of the job this process belongs to (see [ranks](self#ranks)). Default:
    /// one process alone ([`solo`](crate::ranks::solo)).
    pub ranks: SharedRanks,
}

impl std::fmt::Debug for RetrainOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetrainOptions")
            .field("resume", &self.resume)
            .field("stop_after_epoch", &self.stop_after_epoch)
            .field("stop", &self.stop)
            .field("inject_non_finite_batches", &self.inject_non_finite_batches)
            .field("devices", &self.devices)
            .field("observers", &self.observers)
            .field(
                "ranks",
                &format_args!("rank {} of {}", self.ranks.rank(), self.ranks.size()),
            )
            .finish()
    }
}

impl RetrainOptions {
    /// Calls `observer` with every event of the retraining from now on (a TensorBoard
    /// writer: [`RetrainBoard`](crate::tensorboard::RetrainBoard)). It runs on the training
    /// thread: keep it short.
    pub fn observe(&self, observer: impl FnMut(&RetrainEvent) + Send + 'static) {
        self.observers.push(observer);
    }
}

impl Default for RetrainOptions {
    fn default() -> Self {
        RetrainOptions {
            resume: true,
            stop_after_epoch: None,
            stop: StopFlag::new(),
            inject_non_finite_batches: Vec::new(),
            devices: Vec::new(),
            observers: RetrainObservers::default(),
            ranks: crate::ranks::solo(),
        }
    }
}

/// Hands `event` to the observers of `options`, then to `reporter`'s progress.
fn emit(options: &RetrainOptions, reporter: &mut dyn Reporter, event: RetrainEvent) {
    options.observers.send(&event);
    events::display(reporter, &event);
}

/// Builds the network with fresh weights reproducible for `seed`.
fn init_network(
    space: &SearchSpace,
    arch: &Architecture,
    device: &Device,
    seed: u64,
) -> Result<ChildNetwork> {
    Ok(ChildNetwork::from_space(space, arch, device, seed)?)
}

fn to_json<T: serde::Serialize>(value: &T, path: &Path) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(|source| RetrainError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// What every rank of a retraining must hold alike: the network, the recipe's
/// result-relevant fields, the preprocessing and the dataset sizes.
fn fingerprint(fresh: &RetrainReport) -> Result<Vec<u8>> {
    let what = (
        &fresh.network,
        fresh.config.result_relevant(),
        &fresh.train_transform,
        &fresh.test_transform,
        &fresh.normalize,
        (fresh.train_images, fresh.test_images, fresh.steps_per_epoch),
    );
    serde_json::to_vec(&what).map_err(|source| RetrainError::Json {
        path: "(the retraining's fingerprint)".into(),
        source,
    })
}

/// Which part of a checkpoint's report differs from the current run, if any.
fn incompatibility(saved: &RetrainReport, fresh: &RetrainReport) -> Option<&'static str> {
    if saved.network != fresh.network {
        Some("network")
    } else if saved.config.result_relevant() != fresh.config.result_relevant() {
        Some("config")
    } else if saved.train_transform != fresh.train_transform
        || saved.test_transform != fresh.test_transform
        || saved.normalize != fresh.normalize
    {
        Some("preprocessing")
    } else if (saved.train_images, saved.test_images, saved.steps_per_epoch)
        != (fresh.train_images, fresh.test_images, fresh.steps_per_epoch)
    {
        Some("dataset sizes")
    } else {
        None
    }
}

/// Retrains `network` from scratch on `data.train` with `config`, evaluating on `data.test`
/// after every epoch, on `device` (training uses `device.autodiff()`), writing checkpoints
/// and results into `out_dir` (created if missing; see the [module docs](self)) and
/// reporting progress to `reporter` (a bar per epoch and per evaluation, a line per epoch).
///
/// Resumes from `out_dir`'s checkpoint per `options`. Returns the report, also written to
/// `out_dir/report.json`; it is [`finished`](RetrainReport::finished) unless
/// [`RetrainOptions::stop_after_epoch`] stopped the run early.
pub fn retrain<Tr: Dataset + 'static, Te: Dataset + 'static>(
    network: &NetworkSpec,
    data: RetrainData<Tr, Te>,
    config: &RetrainConfig,
    device: &Device,
    out_dir: &Path,
    options: &RetrainOptions,
    reporter: &mut dyn Reporter,
) -> Result<RetrainReport> {
    let session_start = Instant::now();
    config.check()?;
    let (space, arch) = network.resolve()?;
    let spec = space.spec();
    for (split, classes) in [
        ("training", data.train.num_classes()),
        ("test", data.test.num_classes()),
    ] {
        if classes != spec.num_classes {
            return Err(RetrainError::Mismatch(format!(
                "the {split} set has {classes} classes, the network {}",
                spec.num_classes
            )));
        }
    }
    let train_device = device.clone().autodiff();
    let eval_device = device.clone().inner();
    let mut devices: Vec<Device> = options
        .devices
        .iter()
        .map(|d| d.clone().autodiff())
        .collect();
    if devices.first().is_some_and(|first| *first != train_device) {
        return Err(RetrainError::Mismatch(format!(
            "the first of `devices` must be the device given to retrain, {device:?}, not {:?}",
            options.devices[0]
        )));
    }

    let mut train_config = LoaderConfig::new(config.batch_size)
        .with_seed(config.seed)
        .with_drop_last(true);
    if config.workers > 0 {
        train_config = train_config.with_workers(config.workers);
    }
    if let Some(n) = &data.normalize {
        train_config = train_config.with_normalize(n.clone());
    }
    let eval_settings = EvalSettings {
        batch_size: config.eval_batch_size,
        transform: data.test_transform.clone(),
        normalize: data.normalize.clone(),
        workers: config.workers,
    };
    let (train_images, test_images) = (data.train.len(), data.test.len());
    let train_loader = Loader::new(
        data.train,
        data.train_transform.clone(),
        train_config,
        train_device.clone(),
    )?;
    let test_loader = Loader::new(
        data.test,
        data.test_transform.clone(),
        eval_settings.loader_config(),
        eval_device.clone(),
    )?;
    if devices.is_empty() {
        devices.push(train_device.clone());
    }
    let steps = train_loader.num_batches();
    if steps == 0 {
        return Err(RetrainError::config(
            "batch_size",
            config.batch_size,
            format!("exceeds the {train_images} training images (incomplete batches are dropped)"),
        ));
    }

    let mut model = init_network(&space, &arch, &train_device, config.seed)?;
    let mut report = RetrainReport {
        network: network.clone(),
        config: config.clone(),
        train_transform: data.train_transform,
        test_transform: data.test_transform,
        normalize: data.normalize,
        params: learnable_params(&model),
        macs: space.architecture_cost(&arch)?.total.macs,
        train_images,
        test_images,
        steps_per_epoch: steps,
        weights: if config.ema_decay.is_some() {
            Weights::Ema
        } else {
            Weights::Trained
        },
        epochs: Vec::new(),
        finished: false,
        wall_seconds: 0.0,
        resumed_at: Vec::new(),
    };
    let mut optimizer = config.optimizer();
    let mut ema = config.ema_decay.map(|d| Ema::new(&model, d));

    // Every rank checks that the others retrain the same network on the same data, then
    // works in its folder (rank 0 in `out_dir`), which it prepares and resumes from.
    let ranks = &*options.ranks;
    if ranks.size() > 1 {
        agree_fingerprint(
            ranks,
            &fingerprint(&report)?,
            "the retraining's network, recipe and data",
            SAME_INPUTS,
        )?;
    }
    let share: &ShareFiles = &checkpoint::shared_files;
    let folder = RankFolder::open(ranks, out_dir, options.resume.then_some(share))?;
    let out_dir = folder.path();
    let root = checkpoint_root(out_dir);
    let loaded = (|| {
        std::fs::create_dir_all(out_dir)
            .map_err(|e| RetrainError::io("cannot create", out_dir, e))?;
        if !options.resume && root.exists() {
            std::fs::remove_dir_all(&root)
                .map_err(|e| RetrainError::io("cannot remove", &root, e))?;
        }
        let loaded = checkpoint::load_latest(
            out_dir,
            &space,
            &arch,
            &train_device,
            &eval_device,
            config.optimizer(),
        )?;
        if let Some(what) = loaded
            .as_ref()
            .and_then(|ckpt| incompatibility(&ckpt.state.report, &report))
        {
            return Err(RetrainError::checkpoint(
                &root,
                format!(
                    "its {what} differs from this run's: use another output folder, or do not resume"
                ),
            ));
        }
        Ok(loaded)
    })();
    let mut wall_before = 0.0;
    if let Some(ckpt) = agree_on(ranks, loaded, "opening the output folder")? {
        for (aside, why) in &ckpt.damaged {
            let event = RetrainEvent::DamagedCheckpoint {
                set_aside: aside.clone(),
                why: why.to_string(),
            };
            emit(options, reporter, event);
        }
        let done = ckpt.state.report.epochs.len();
        report.epochs = ckpt.state.report.epochs;
        report.resumed_at = ckpt.state.report.resumed_at;
        report.resumed_at.push(done);
        wall_before = ckpt.state.report.wall_seconds;
        model = ckpt.model;
        optimizer = ckpt.optimizer;
        ema = ckpt.ema;
        let event = RetrainEvent::Resumed {
            done,
            epochs: config.epochs,
        };
        emit(options, reporter, event);
    }
    // Every rank resumes after the same epoch (a rank that missed rank 0's checkpoints would
    // otherwise train epochs the others do not, and the job would hang).
    let done = report.epochs.len() as u64;
    if ranks.size() > 1 {
        agree_fingerprint(
            ranks,
            &done.to_le_bytes(),
            "the epoch the retraining resumes after",
            "a rank did not receive rank 0's checkpoints; start the job again",
        )?;
    }
    let network_path = out_dir.join(NETWORK_FILE);
    write_atomic(&network_path, &to_json(network, &network_path)?)?;
    let report_path = out_dir.join(REPORT_FILE);

    let schedule = config.schedule(steps);
    let ce = config.train_loss(&train_device);
    for epoch in report.epochs.len()..config.epochs {
        if options.stop_after_epoch.is_some_and(|k| epoch >= k) {
            break;
        }
        let epoch_start = Instant::now();
        let event = RetrainEvent::EpochStart {
            epoch: epoch + 1,
            epochs: config.epochs,
            steps,
        };
        emit(options, reporter, event);
        let (mut loss_sum, mut correct, mut seen, mut lr) = (0.0f64, 0usize, 0usize, 0.0f64);
        let (mut skipped, mut skipped_in_a_row) = (0usize, 0u32);
        for (b, batch) in train_loader.epoch(epoch).enumerate() {
            if ranks.any(options.stop.is_raised()) {
                options.stop.raise();
                emit(
                    options,
                    reporter,
                    RetrainEvent::Interrupted { epoch: epoch + 1 },
                );
                return Err(RetrainError::Interrupted {
                    epoch: epoch + 1,
                    kept: report.epochs.len(),
                });
            }
            let batch = batch?;
            lr = schedule.lr(epoch * steps + b);
            let n = batch.labels.dims()[0];
            let images = if options.inject_non_finite_batches.contains(&(epoch + 1, b)) {
                batch.images.mul_scalar(f32::NAN)
            } else {
                batch.images
            };
            // The step's loss, correct predictions and gradients; `None` gradients when the
            // loss is not finite (then nothing changes).
            let (loss_value, right, grads) = if devices.len() > 1 || ranks.size() > 1 {
                let shards = gradients_ranked(
                    &model,
                    images,
                    batch.labels.clone(),
                    &Workers::new(&devices, ranks),
                    |net, x, y| {
                        let logits = net.try_forward(x)?;
                        let loss = config
                            .train_loss(&logits.device())
                            .forward(logits.clone(), y);
                        Ok((loss, logits))
                    },
                )?;
                if shards.grads.is_some() {
                    set_statistics(&mut model, shards.statistics);
                }
                (f64::from(shards.loss), shards.correct, shards.grads)
            } else {
                let logits = model.try_forward(images)?;
                let loss = ce.forward(logits.clone(), batch.labels.clone());
                let loss_value = f64::from(loss.clone().inner().into_scalar::<f32>());
                if loss_value.is_finite() {
                    let right = top_k_correct(logits.inner(), batch.labels.inner(), 1);
                    let grads = GradientsParams::from_grads(loss.backward(), &model);
                    (loss_value, right, Some(grads))
                } else {
                    (loss_value, 0, None)
                }
            };
            let Some(grads) = grads else {
                // No step: the weights, the optimizer and the statistics stay as they were.
                model.discard_statistics_update();
                skipped_in_a_row += 1;
                if config.non_finite_loss.stops(skipped_in_a_row) {
                    return Err(RetrainError::Diverged {
                        epoch: epoch + 1,
                        batch: b,
                        lr,
                        loss: loss_value,
                        last_good: match checkpoint::latest_dir(out_dir)? {
                            Some(dir) => {
                                format!("the last good checkpoint is `{}`", dir.display())
                            }
                            None => "no checkpoint had been written yet".into(),
                        },
                    });
                }
                let event = RetrainEvent::SkippedBatch {
                    epoch: epoch + 1,
                    batch: b,
                    loss: loss_value,
                };
                emit(options, reporter, event);
                skipped += 1;
                continue;
            };
            skipped_in_a_row = 0;
            correct += right;
            model = optimizer.step(lr, model, grads);
            if let Some(ema) = &mut ema {
                model.sync_statistics();
                ema.update(&model);
            }
            loss_sum += loss_value * n as f64;
            seen += n;
            let event = RetrainEvent::Step {
                epoch: epoch + 1,
                step: b + 1,
                global_step: (epoch * steps + b + 1) as u64,
                loss: loss_value,
                lr,
                mean_loss: loss_sum / seen as f64,
                mean_top1: 100.0 * correct as f64 / seen as f64,
            };
            emit(options, reporter, event);
        }
        emit(
            options,
            reporter,
            RetrainEvent::Evaluating { epoch: epoch + 1 },
        );
        let evaluated = match &ema {
            Some(ema) => ema.module().clone(),
            None => model.valid(),
        };
        let test = evaluate_on_ranks(&evaluated, &test_loader, "test", reporter, ranks)?;
        let record = EpochRecord {
            epoch: epoch + 1,
            lr,
            train_loss: loss_sum / seen.max(1) as f64,
            train_top1: 100.0 * correct as f64 / seen.max(1) as f64,
            test,
            seconds: epoch_start.elapsed().as_secs_f64(),
            skipped_batches: skipped,
        };
        report.epochs.push(record.clone());
        report.wall_seconds = wall_before + session_start.elapsed().as_secs_f64();
        if ranks.size() > 1 {
            agree_fingerprint(
                ranks,
                &parameter_hash(&model).to_le_bytes(),
                &format!("the weights after epoch {}", epoch + 1),
                DRIFT,
            )?;
        }
        let state = CheckpointState {
            report: report.clone(),
            ema_updates: ema.as_ref().map(Ema::updates),
        };
        checkpoint::save(out_dir, &state, &model, &optimizer, ema.as_ref())?;
        write_atomic(&report_path, &to_json(&report, &report_path)?)?;
        let event = RetrainEvent::EpochEnd {
            record,
            epochs: config.epochs,
            global_step: ((epoch + 1) * steps) as u64,
        };
        emit(options, reporter, event);
    }

    if report.epochs.len() == config.epochs {
        let final_model = match &ema {
            Some(ema) => ema.module().clone(),
            None => model.valid(),
        };
        final_model.save(&out_dir.join(MODEL_FILE))?;
        export_safetensors(&final_model, &out_dir.join(SAFETENSORS_FILE))?;
        report.finished = true;
    }
    report.wall_seconds = wall_before + session_start.elapsed().as_secs_f64();
    write_atomic(&report_path, &to_json(&report, &report_path)?)?;
    Ok(report)
}
