//! Data parallelism over several devices, through Burn's portable multi-device machinery
//! (the path burn-train takes on backends without collectives): a replica per device made
//! with [`Module::fork`], a shard of the batch on each, gradients brought to the main device
//! with [`GradientsParams::to_device`] and summed with [`GradientsAccumulator`], one
//! optimizer step on the main device's supernet. Replicas are forked again at every step, so
//! they are identical to the main supernet whenever a step starts.
//!
//! Burn 0.22.1's collectives (`all_reduce`, DDP's `set_distributed`) run only on CUDA through
//! NCCL and panic on flex and WGPU; this path runs on every backend, with the replicas in
//! threads of one process (`docs/scaling.md`).
//!
//! **Batch norm.** Each replica normalises with its own shard's statistics, as PyTorch DDP
//! does without `SyncBatchNorm`; the reference uses `SyncBatchNorm`, which needs a collective
//! inside the forward pass that Burn does not offer on these backends. The running statistics
//! after a step are the average of the replicas' updates (what Burn's `RunningState` does for
//! updates from several threads), not rank 0's as DDP's buffer broadcast makes them. So a
//! step on N shards equals N single-device forward/backward passes on the same shards with
//! the gradients summed (weighted by shard size), not one pass on the concatenated batch;
//! with one device it is exactly [`crate::training::weight_step_coasting`].

use burn::module::{Module, RunningState};
use burn::nn::BatchNorm;
use burn::optim::{GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::tensor::loss::cross_entropy_with_logits;
use burn::tensor::{Device, Int, Tensor};
use nse_space::SubSpace;
use rand::Rng;

use crate::child::ChildNetwork;
use crate::error::{Result, SupernetError};
use crate::indicators::{CellPaths, CostTable, Indicators};
use crate::ranks::Workers;
use crate::recalibration::used_batch_norms;
use crate::supernet::Supernet;
use crate::training::{
    GradSource, PathModuleFn, ResourcePenalty, WeightStepStats, for_each_path_module, top_k_correct,
};

/// The sizes of `n` shards of a batch of `batch` images: as equal as possible, the larger
/// ones first; fewer than `n` (one image each) when the batch is smaller than `n`.
pub fn shard_sizes(batch: usize, n: usize) -> Vec<usize> {
    let n = n.clamp(1, batch.max(1));
    (0..n)
        .map(|k| batch / n + usize::from(k < batch % n))
        .collect()
}

/// What one replica brings back from its shard.
pub(crate) struct ReplicaResult {
    pub(crate) loss: f32,
    pub(crate) correct: usize,
    pub(crate) images: usize,
    /// Per path module (in [`for_each_path_module`] order), on the main device; `None` when
    /// the loss was not finite.
    pub(crate) grads: Option<Vec<GradientsParams>>,
    /// Running mean and variance of each batch norm of the path after the shard, on the main
    /// device.
    pub(crate) statistics: Vec<[Tensor<1>; 2]>,
}

/// Collects, per path module, its gradients from `grads` moved to `device`.
struct CollectGrads<'a> {
    grads: &'a mut burn::tensor::Gradients,
    device: &'a Device,
    out: Vec<GradientsParams>,
}

impl PathModuleFn for CollectGrads<'_> {
    fn call<M: Module>(&mut self, _slot: usize, module: &M) {
        let params = GradientsParams::from_module(self.grads, module);
        self.out.push(params.to_device(self.device, module));
    }
}

/// Sums the replicas' gradients of each path module with Burn's accumulator.
pub(crate) struct AccumulateGrads {
    pub(crate) replicas: Vec<Vec<GradientsParams>>,
    pub(crate) out: Vec<GradientsParams>,
}

impl PathModuleFn for AccumulateGrads {
    fn call<M: Module>(&mut self, slot: usize, module: &M) {
        let mut sum = GradientsAccumulator::<M>::new();
        for replica in &mut self.replicas {
            sum.accumulate(module, std::mem::take(&mut replica[slot]));
        }
        self.out.push(sum.grads());
    }
}

/// Summed gradients, one entry per path module.
pub(crate) struct SlotGrads(pub(crate) Vec<GradientsParams>);

impl GradSource for SlotGrads {
    fn take<M: Module>(&mut self, slot: usize, _module: &M) -> GradientsParams {
        std::mem::take(&mut self.0[slot])
    }
}

/// A network whose batch norms a replica must give running statistics of their own.
pub trait BatchNorms: Module {
    /// Every batch norm, in a fixed order.
    fn batch_norms_mut(&mut self) -> Vec<&mut BatchNorm>;
}

impl BatchNorms for Supernet {
    fn batch_norms_mut(&mut self) -> Vec<&mut BatchNorm> {
        let mut bns = vec![&mut self.stem.conv.bn];
        for cell in &mut self.cells {
            for op in &mut cell.ops {
                bns.extend(op.batch_norms_mut());
            }
            bns.extend(cell.shadow.iter_mut());
        }
        bns
    }
}

impl BatchNorms for ChildNetwork {
    fn batch_norms_mut(&mut self) -> Vec<&mut BatchNorm> {
        ChildNetwork::batch_norms_mut(self)
    }
}

/// Gives `bn` running states of its own, holding the values of the shared ones.
fn unshare(bn: &mut BatchNorm) {
    bn.running_mean = RunningState::new(bn.running_mean.value_sync());
    bn.running_var = RunningState::new(bn.running_var.value_sync());
}

/// A copy of `network` on `device` whose batch norms have running states of their own.
///
/// A clone shares them with the original (Burn's `RunningState` is shared between clones),
/// and forking a shared state would move the original's statistics to `device` as well;
/// the replica's updates must not reach the original either. Parameters are materialised
/// first (a clone shares lazy initialisation too).
pub fn replica<M: BatchNorms>(network: &M, device: &Device) -> M {
    nse_modules::materialize(network);
    let mut replica = network.clone();
    for bn in replica.batch_norms_mut() {
        unshare(bn);
    }
    replica.fork(device)
}

/// What [`gradients_on_devices`] measured.
pub struct ParallelGradients {
    /// The summed, share-weighted gradients of every parameter, on the main device; `None`
    /// when a shard's loss was not finite.
    pub grads: Option<GradientsParams>,
    /// The batch's mean loss (the first non-finite shard loss, if any).
    pub loss: f32,
    /// Top-1 correct predictions over the batch.
    pub correct: usize,
    /// Running mean and variance of every batch norm (in [`BatchNorms`] order) averaged over
    /// the replicas, on the main device.
    pub statistics: Vec<[Tensor<1>; 2]>,
}

/// The data-parallel forward and backward of any network with batch norms (the child
/// network's retraining): the batch split over `devices` ([`shard_sizes`]; the first is the
/// main device, where `network`, `images` and `labels` live), a [`replica`] of the whole
/// network per device, in threads; `loss` gives a replica's mean loss and logits on its
/// shard. The gradients are summed with Burn's [`GradientsAccumulator`], each shard's loss
/// weighted by its share of the batch. Apply them with one optimizer step and the statistics
/// with [`set_statistics`].
pub fn gradients_on_devices<M, F>(
    network: &M,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    devices: &[Device],
    loss: F,
) -> Result<ParallelGradients>
where
    M: BatchNorms + Send,
    F: Fn(&M, Tensor<4>, Tensor<1, Int>) -> Result<(Tensor<1>, Tensor<2>)> + Sync,
{
    crate::ranks::gradients_ranked(network, images, labels, &Workers::local(devices), loss)
}

/// The element-wise average of the replicas' statistics.
pub(crate) fn average_statistics<'a>(
    replicas: impl Iterator<Item = &'a Vec<[Tensor<1>; 2]>>,
) -> Vec<[Tensor<1>; 2]> {
    let replicas: Vec<_> = replicas.collect();
    let n = replicas.len() as f64;
    let Some(first) = replicas.first() else {
        return Vec::new();
    };
    (0..first.len())
        .map(|j| {
            let sum = |k: usize| {
                replicas
                    .iter()
                    .map(|r| r[j][k].clone())
                    .reduce(|a, b| a + b)
                    .expect("at least one replica")
                    .div_scalar(n)
            };
            [sum(0), sum(1)]
        })
        .collect()
}

/// Sets the running statistics of `network`'s batch norms (in [`BatchNorms`] order).
pub fn set_statistics<M: BatchNorms>(network: &mut M, statistics: Vec<[Tensor<1>; 2]>) {
    write_statistics(network.batch_norms_mut(), statistics);
}

/// The batch split into a shard per device ([`shard_sizes`]; fewer when the batch is
/// smaller than the device list), each moved to its device, with its size.
pub(crate) fn shards(
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    devices: &[Device],
) -> Vec<(&Device, Tensor<4>, Tensor<1, Int>, usize)> {
    let sizes = shard_sizes(images.dims()[0], devices.len());
    let mut start = 0;
    devices
        .iter()
        .zip(sizes)
        .map(|(device, size)| {
            let x = images.clone().narrow(0, start, size).to_device(device);
            let y = labels.clone().narrow(0, start, size).to_device(device);
            start += size;
            (device, x, y, size)
        })
        .collect()
}

/// The running mean and variance of `bns` (pending updates folded in), on `device`.
pub(crate) fn read_statistics(bns: Vec<&mut BatchNorm>, device: &Device) -> Vec<[Tensor<1>; 2]> {
    bns.into_iter()
        .map(|bn| {
            [
                bn.running_mean.value_sync().to_device(device),
                bn.running_var.value_sync().to_device(device),
            ]
        })
        .collect()
}

/// Gives `bns` running states of their own holding `statistics` (mean and variance each).
pub(crate) fn write_statistics(bns: Vec<&mut BatchNorm>, statistics: Vec<[Tensor<1>; 2]>) {
    for (bn, [mean, var]) in bns.into_iter().zip(statistics) {
        bn.running_mean = RunningState::new(mean);
        bn.running_var = RunningState::new(var);
    }
}

/// The modules a step runs besides the stem and the tail: per cell, the pool ops (sorted
/// indices) and the shadow batch norms (indices into the cell's `shadow`).
pub(crate) struct PathModules {
    ops: Vec<Vec<usize>>,
    shadows: Vec<Vec<usize>>,
}

impl PathModules {
    /// A weight step's: the branch set of each cell and the shadow batch norm of its size.
    pub(crate) fn of_arch(arch: &[Vec<usize>]) -> Self {
        PathModules {
            ops: arch.to_vec(),
            shadows: arch.iter().map(|set| shadow_indices(&[set])).collect(),
        }
    }

    /// An indicator step's: each cell's selected and unselected sets (both run forward) and
    /// the shadow batch norms of both sizes.
    pub(crate) fn of_indicator_paths(paths: &[CellPaths]) -> Self {
        let sets = |p: &CellPaths| -> Vec<Vec<usize>> {
            std::iter::once(p.selected.clone())
                .chain(p.unselected.clone())
                .collect()
        };
        PathModules {
            ops: paths
                .iter()
                .map(|p| {
                    let mut ops: Vec<usize> = sets(p).concat();
                    ops.sort_unstable();
                    ops.dedup();
                    ops
                })
                .collect(),
            shadows: paths
                .iter()
                .map(|p| {
                    let sets = sets(p);
                    shadow_indices(&sets.iter().map(Vec::as_slice).collect::<Vec<_>>())
                })
                .collect(),
        }
    }

    /// The batch norms of these modules: the stem's, then per cell those of its ops in pool
    /// order and its shadow batch norms (for a weight step, the order of `used_batch_norms`).
    pub(crate) fn batch_norms<'a>(&self, supernet: &'a mut Supernet) -> Vec<&'a mut BatchNorm> {
        let mut bns = vec![&mut supernet.stem.conv.bn];
        for ((cell, ops), shadows) in supernet.cells.iter_mut().zip(&self.ops).zip(&self.shadows) {
            for (i, op) in cell.ops.iter_mut().enumerate() {
                if ops.contains(&i) {
                    bns.extend(op.batch_norms_mut());
                }
            }
            for (k, bn) in cell.shadow.iter_mut().enumerate() {
                if shadows.contains(&k) {
                    bns.push(bn);
                }
            }
        }
        bns
    }
}

/// The shadow batch norm indices (branch count − 1, sorted, distinct) of `sets`; a cell
/// without shadow batch norms simply has none at those indices.
fn shadow_indices(sets: &[&[usize]]) -> Vec<usize> {
    let mut indices: Vec<usize> = sets
        .iter()
        .filter_map(|set| set.len().checked_sub(1))
        .collect();
    indices.sort_unstable();
    indices.dedup();
    indices
}

/// [`replica`] for `path`'s modules only (stem, ops, shadow batch norms, tail): a step
/// touches nothing else, and forking the whole supernet at every step would copy every op
/// of the pool to every device.
pub(crate) fn path_replica(supernet: &Supernet, path: &PathModules, device: &Device) -> Supernet {
    let mut replica = supernet.clone();
    for bn in path.batch_norms(&mut replica) {
        unshare(bn);
    }
    fn fork<M: Module>(m: &mut M, device: &Device) {
        nse_modules::materialize(m);
        *m = m.clone().fork(device);
    }
    fork(&mut replica.stem, device);
    for ((cell, ops), shadows) in replica.cells.iter_mut().zip(&path.ops).zip(&path.shadows) {
        for &op in ops {
            fork(&mut cell.ops[op], device);
        }
        for &k in shadows {
            if let Some(bn) = cell.shadow.get_mut(k) {
                fork(bn, device);
            }
        }
    }
    fork(&mut replica.tail, device);
    replica
}

/// Forward, loss (weighted by `weight`, the shard's share of the batch) and backward of one
/// replica on its shard.
pub(crate) fn run_replica(
    mut replica: Supernet,
    arch: &[Vec<usize>],
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    weight: f64,
    main: &Device,
) -> Result<ReplicaResult> {
    let logits = replica.forward(images, arch)?;
    let [n, classes] = logits.dims();
    let loss = cross_entropy_with_logits(logits.clone(), labels.clone().one_hot(classes).float());
    let loss_value = loss.clone().into_scalar::<f32>();
    let statistics = read_statistics(used_batch_norms(&mut replica, arch), main);
    if !loss_value.is_finite() {
        return Ok(ReplicaResult {
            loss: loss_value,
            correct: 0,
            images: n,
            grads: None,
            statistics,
        });
    }
    let mut grads = loss.mul_scalar(weight).backward();
    let mut collect = CollectGrads {
        grads: &mut grads,
        device: main,
        out: Vec::new(),
    };
    for_each_path_module(&replica, arch, &mut collect);
    let grads = collect.out;
    Ok(ReplicaResult {
        loss: loss_value,
        correct: top_k_correct(logits.detach(), labels, 1),
        images: n,
        grads: Some(grads),
        statistics,
    })
}

/// Runs each job in a thread of its own (a replica's `what` on its device) and returns the
/// results in order: the first error, or a [`SupernetError::Replica`] naming the device of a
/// job that panicked.
pub(crate) fn in_threads<T, F>(what: &str, jobs: Vec<(&Device, F)>) -> Result<Vec<T>>
where
    T: Send,
    F: FnOnce() -> Result<T> + Send,
{
    std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|(device, job)| (scope.spawn(job), device))
            .collect();
        handles
            .into_iter()
            .map(|(handle, device)| {
                handle.join().unwrap_or_else(|panic| {
                    Err(SupernetError::Replica {
                        device: format!("{device:?}"),
                        what: format!("its {what} panicked: {}", panic_message(&panic)),
                    })
                })
            })
            .collect()
    })
}

/// The message of a panic payload.
fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// [`weight_step_coasting`](crate::training::weight_step_coasting) with the batch split over `devices` (autodiff devices; the first
/// is the main device, where `supernet`, `images` and `labels` live and the step is taken).
///
/// Each device gets a shard ([`shard_sizes`]) and a replica forked from `supernet`; the
/// replicas run in threads of their own. Each shard's loss is weighted by its share of the
/// batch, so the summed gradients are those of the batch's mean loss, and the reported loss
/// is that mean. If any shard's loss is not finite, no step is taken and the supernet comes
/// back as it was (running statistics included), with that loss in the stats. With one
/// device (or a batch of one image) this is
/// [`weight_step_coasting`](crate::training::weight_step_coasting).
#[allow(clippy::too_many_arguments)]
pub fn weight_step_parallel(
    supernet: Supernet,
    optim: &mut ModuleOptimizer,
    lr: f64,
    arch: &[Vec<usize>],
    coast: &[Vec<usize>],
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    devices: &[Device],
) -> Result<(Supernet, WeightStepStats)> {
    crate::ranks::weight_step_ranked(
        supernet,
        optim,
        lr,
        arch,
        coast,
        images,
        labels,
        &Workers::local(devices),
    )
}

/// What one replica brings back from its shard of an indicator step.
pub(crate) struct IndicatorShard {
    /// The indicators' gradients, on the main device.
    pub(crate) grads: GradientsParams,
    /// Running mean and variance of each batch norm the two paths ran, on the main device.
    pub(crate) statistics: Vec<[Tensor<1>; 2]>,
}

/// [`indicator_step`](crate::training::indicator_step) over several devices: the same two paths (drawn from `rng` as on one
/// device), the held-out batch split into one shard per device ([`shard_sizes`]), on each a
/// replica of the frozen modules the paths run and of the indicators; each shard's loss
/// (cross-entropy plus the resource penalty) is weighted by its share of the batch, the
/// indicators' gradients are summed on the main device (`devices[0]`, where `supernet`,
/// `indicators` and the batch live) and one optimizer step is taken there. The supernet's weights are not touched; the running statistics of the
/// batch norms the paths ran become the average of the replicas', as in
/// [`weight_step_parallel`]. With one device (or a batch of one image) it is exactly
/// `indicator_step`.
///
/// Batch norm normalises per shard, so the result equals the share-weighted shard losses'
/// gradients on one device, not one pass over the concatenated batch.
#[allow(clippy::too_many_arguments)]
pub fn indicator_step_parallel<R: Rng + ?Sized>(
    supernet: &mut Supernet,
    indicators: Indicators,
    optim: &mut ModuleOptimizer,
    lr: f64,
    subspace: &SubSpace,
    costs: &CostTable,
    penalty: &ResourcePenalty,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    rng: &mut R,
    devices: &[Device],
) -> Result<Indicators> {
    crate::ranks::indicator_step_ranked(
        supernet,
        indicators,
        optim,
        lr,
        subspace,
        costs,
        penalty,
        images,
        labels,
        rng,
        &Workers::local(devices),
    )
}
