//! Weight and indicator steps over the ranks of a job (processes, on one machine or many;
//! `nse_cluster`), each rank spreading its part of the batch over its own devices as
//! [`crate::parallel`] does.
//!
//! Every rank holds the same supernet, the same optimizer state and the same global batch,
//! and draws the same paths from the same seed (checked: a hash of the path is
//! all-reduced with MIN and MAX, and the ranks refuse to step on different paths). The
//! global batch is split by rank ([`nse_cluster::rank_share`]), then over the rank's devices
//! ([`crate::parallel::shard_sizes`]); each shard's loss is weighted by its share of the
//! **global** batch. A rank sums its devices' gradients as on one process, flattens the
//! path's gradients in module-visit order into one `f32` buffer (parameter ids are random per
//! process, so tensors cannot be matched across ranks by id; the visiting order is the same
//! everywhere), and one all-reduce (sum) gives every rank the gradient of the global batch's
//! mean loss; every rank then takes the same optimizer step. A non-finite loss on any rank is
//! all-reduced with the losses, so that every rank skips the step together. Batch-norm
//! running statistics become the average over all replicas of all ranks.
//!
//! So `R` ranks with `D` devices each take the step of one process with `R × D` devices
//! (`tests`: 2 ranks × `cpu` against 1 rank × `cpu,cpu`, under `mpirun`), and one rank is
//! exactly [`crate::parallel`].

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use nse_cluster::{Collective, Solo, rank_share};
use nse_space::SubSpace;
use rand::Rng;

use crate::error::{Result, SupernetError};
use crate::indicators::{CostTable, Indicators};
use crate::parallel::{
    AccumulateGrads, BatchNorms, IndicatorShard, ParallelGradients, PathModules, ReplicaResult,
    SlotGrads, average_statistics, in_threads, path_replica, read_statistics, replica, run_replica,
    shard_sizes, shards, write_statistics,
};
use crate::recalibration::used_batch_norms;
use crate::supernet::Supernet;
use crate::training::{
    PathModuleFn, ResourcePenalty, WeightStepStats, coast_ops, for_each_path_module,
    indicator_loss, indicator_step, step_path, top_k_correct, weight_step_coasting,
};

/// One process alone: the ranks of [`Workers::local`].
static SOLO: Solo = Solo;

/// Who computes a step: this rank's devices and the job's ranks.
#[derive(Clone, Copy)]
pub struct Workers<'a> {
    /// This rank's devices (autodiff devices; the first is the main device, where the
    /// supernet, the optimizer and the batch live).
    pub devices: &'a [Device],
    /// The ranks of the job.
    pub ranks: &'a dyn Collective,
}

impl<'a> Workers<'a> {
    /// `devices` of a job of one process.
    pub fn local(devices: &'a [Device]) -> Self {
        Workers {
            devices,
            ranks: &SOLO,
        }
    }

    /// `devices` of this rank of `ranks`.
    pub fn new(devices: &'a [Device], ranks: &'a dyn Collective) -> Self {
        Workers { devices, ranks }
    }
}

impl std::fmt::Debug for Workers<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Workers(rank {} of {}, {} devices)",
            self.ranks.rank(),
            self.ranks.size(),
            self.devices.len()
        )
    }
}

/// A hash of `sets` (FNV-1a over the indices and the set boundaries), equal on every rank
/// that drew the same path.
pub fn path_hash<'a>(sets: impl IntoIterator<Item = &'a [usize]>) -> u64 {
    let mut bytes = Vec::new();
    for set in sets {
        for &op in set {
            bytes.extend((op as u64).to_le_bytes());
        }
        bytes.extend(u64::MAX.to_le_bytes());
    }
    nse_cluster::fnv1a(&bytes)
}

/// A hash of every float tensor `module` visits, its parameters and its batch norms' running
/// statistics (FNV-1a over their `f32` bytes in visiting order): equal on ranks whose
/// weights are equal bit for bit, as the ranks' steps keep them. Ranks on processors that
/// round differently would drift apart; comparing this hash now and then
/// ([`Collective::agree`]) tells.
pub fn parameter_hash<M: Module>(module: &M) -> u64 {
    tensor_hash(module, false)
}

/// [`parameter_hash`] of the trainable parameters only (those that require gradients, on an
/// autodiff device), without the running statistics: a supernet's batch norms are
/// re-estimated before every evaluation, and each rank re-estimates those of the candidates
/// it scores, so their statistics differ between ranks until a step uses them again.
///
/// # Panics
/// When `module` has no trainable parameter (not on an autodiff device), which would make
/// every hash alike.
pub fn trainable_parameter_hash<M: Module>(module: &M) -> u64 {
    tensor_hash(module, true)
}

fn tensor_hash<M: Module>(module: &M, trainable_only: bool) -> u64 {
    struct Hash {
        hash: u64,
        trainable_only: bool,
        hashed: usize,
    }
    impl ModuleVisitor for Hash {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if self.trainable_only && !param.is_require_grad() {
                return;
            }
            let values = param
                .val()
                .into_data()
                .try_into_vec_as::<f32>()
                .expect("parameters convert to f32");
            for value in values {
                self.hash = nse_cluster::fnv1a_extend(self.hash, &value.to_le_bytes());
            }
            self.hashed += 1;
        }
    }
    let mut hash = Hash {
        hash: nse_cluster::FNV1A_START,
        trainable_only,
        hashed: 0,
    };
    module.visit(&mut hash);
    assert!(
        hash.hashed > 0,
        "no parameter to hash (a trainable hash needs a module on an autodiff device)"
    );
    hash.hash
}

/// Errors unless every rank holds the same `hash` of what it drew (`what`).
fn agree(ranks: &dyn Collective, hash: u64, what: &str) -> Result<()> {
    if ranks.agree(hash) {
        Ok(())
    } else {
        Err(SupernetError::RanksDisagree {
            what: what.to_string(),
            rank: ranks.rank(),
        })
    }
}

/// This rank's part of the global batch; an error when the batch has fewer images than the
/// job has ranks.
fn rank_part(
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    ranks: &dyn Collective,
) -> Result<(Tensor<4>, Tensor<1, Int>)> {
    let batch = images.dims()[0];
    if batch < ranks.size() {
        return Err(SupernetError::BatchSmallerThanRanks {
            batch,
            ranks: ranks.size(),
        });
    }
    let (offset, len) = rank_share(batch, ranks.rank(), ranks.size());
    Ok((images.narrow(0, offset, len), labels.narrow(0, offset, len)))
}

/// The element-wise mean of the statistics of every replica of every rank: `local` is the
/// mean over this rank's `replicas` replicas.
fn average_over_ranks(
    local: Vec<[Tensor<1>; 2]>,
    replicas: usize,
    ranks: &dyn Collective,
) -> Vec<[Tensor<1>; 2]> {
    if ranks.size() == 1 {
        return local;
    }
    let mut values = Vec::new();
    for t in local.iter().flatten() {
        let v = t
            .clone()
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("running statistics convert to f32");
        values.extend(v.into_iter().map(|x| x * replicas as f32));
    }
    let mut count = [replicas as f64];
    ranks.all_reduce_sum_f64(&mut count);
    ranks.all_reduce_sum(&mut values);
    let total = count[0] as f32;
    // Read back in the same order, each tensor its own length.
    let mut rest = values.as_slice();
    local
        .iter()
        .map(|pair| {
            pair.clone().map(|t| {
                let n = t.dims()[0];
                let (mine, after) = rest.split_at(n);
                rest = after;
                let mean: Vec<f32> = mine.iter().map(|x| x / total).collect();
                Tensor::from_data(TensorData::new(mean, [n]), &t.device())
            })
        })
        .collect()
}

/// Appends the gradients of `module`'s float parameters, in visiting order, to `values`
/// (zeros where a parameter has none) and one presence flag per parameter to `present`.
struct Flatten<'a> {
    grads: &'a GradientsParams,
    values: &'a mut Vec<f32>,
    present: &'a mut Vec<f32>,
}

impl ModuleVisitor for Flatten<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        match self.grads.get::<D>(param.id) {
            Some(grad) => {
                let v = grad
                    .into_data()
                    .try_into_vec_as::<f32>()
                    .expect("gradients convert to f32");
                self.values.extend(v);
                self.present.push(1.0);
            }
            None => {
                let n = param.shape().num_elements();
                self.values.extend(std::iter::repeat_n(0.0, n));
                self.present.push(0.0);
            }
        }
    }
}

/// Reads the all-reduced gradients back in the same order: a gradient for every parameter
/// that had one on some rank.
struct Unflatten<'a> {
    values: &'a [f32],
    present: &'a [f32],
    out: GradientsParams,
}

impl ModuleVisitor for Unflatten<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let shape = param.shape();
        let n = shape.num_elements();
        let (values, rest) = self.values.split_at(n);
        self.values = rest;
        let (present, rest) = self.present.split_at(1);
        self.present = rest;
        if present[0] > 0.0 {
            let device = param.val().inner().device();
            let grad = Tensor::<D>::from_data(TensorData::new(values.to_vec(), shape), &device);
            self.out.register(param.id, grad);
        }
    }
}

/// Flattens each path module's gradients (`slots`, in [`for_each_path_module`] order).
struct FlattenSlots<'a> {
    slots: &'a [GradientsParams],
    values: Vec<f32>,
    present: Vec<f32>,
}

impl PathModuleFn for FlattenSlots<'_> {
    fn call<M: Module>(&mut self, slot: usize, module: &M) {
        module.visit(&mut Flatten {
            grads: &self.slots[slot],
            values: &mut self.values,
            present: &mut self.present,
        });
    }
}

/// Reads the path modules' all-reduced gradients back, one [`GradientsParams`] per slot.
struct UnflattenSlots<'a> {
    values: &'a [f32],
    present: &'a [f32],
    out: Vec<GradientsParams>,
}

impl PathModuleFn for UnflattenSlots<'_> {
    fn call<M: Module>(&mut self, _slot: usize, module: &M) {
        let mut read = Unflatten {
            values: self.values,
            present: self.present,
            out: GradientsParams::new(),
        };
        module.visit(&mut read);
        self.values = read.values;
        self.present = read.present;
        self.out.push(read.out);
    }
}

/// `grads` of `module` summed over the ranks (an identity on one rank): flattened in
/// visiting order, one all-reduce for the values and one for the presence flags.
pub fn all_reduce_gradients<M: Module>(
    module: &M,
    grads: GradientsParams,
    ranks: &dyn Collective,
) -> GradientsParams {
    if ranks.size() == 1 {
        return grads;
    }
    let (mut values, mut present) = (Vec::new(), Vec::new());
    module.visit(&mut Flatten {
        grads: &grads,
        values: &mut values,
        present: &mut present,
    });
    ranks.all_reduce_sum(&mut values);
    ranks.all_reduce_sum(&mut present);
    let mut read = Unflatten {
        values: &values,
        present: &present,
        out: GradientsParams::new(),
    };
    module.visit(&mut read);
    read.out
}

/// [`gradients_on_devices`](crate::parallel::gradients_on_devices) over the ranks of
/// `workers` (the retraining of a whole network; see the [module docs](self)): `images` and
/// `labels` are the global batch, the same on every rank; each rank runs its part over its
/// devices, each shard's loss weighted by its share of the global batch, and the gradients
/// of every parameter are summed over all replicas of all ranks (one all-reduce in
/// visiting order). Every rank comes back with the same gradients, the global batch's mean
/// loss and top-1 count, and the running statistics averaged over every replica; no
/// gradients on any rank when some rank's loss was not finite. With one rank it is
/// `gradients_on_devices` on `workers.devices`.
///
/// # Errors
/// [`SupernetError::BatchSmallerThanRanks`], and the errors of a replica's forward pass.
pub fn gradients_ranked<M, F>(
    network: &M,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    workers: &Workers<'_>,
    loss: F,
) -> Result<ParallelGradients>
where
    M: BatchNorms + Send,
    F: Fn(&M, Tensor<4>, Tensor<1, Int>) -> Result<(Tensor<1>, Tensor<2>)> + Sync,
{
    let ranks = workers.ranks;
    let batch = images.dims()[0];
    let (images, labels) = rank_part(images, labels, ranks)?;
    let main = &workers.devices[0];
    let jobs: Vec<_> = shards(images, labels, workers.devices)
        .into_iter()
        .map(|(device, x, y, size)| (replica(network, device), x, y, size, device))
        .collect();
    let loss = &loss;
    type Shard = (f32, usize, Option<GradientsParams>, Vec<[Tensor<1>; 2]>);
    let results: Vec<Shard> = in_threads(
        "step",
        jobs.into_iter()
            .map(|(mut net, x, y, size, device)| {
                (device, move || -> Result<Shard> {
                    let (value, logits) = loss(&net, x, y.clone())?;
                    let shard_loss = value.clone().into_scalar::<f32>();
                    let statistics = read_statistics(net.batch_norms_mut(), main);
                    if !shard_loss.is_finite() {
                        return Ok((shard_loss, 0, None, statistics));
                    }
                    let weight = size as f64 / batch as f64;
                    let grads = value.mul_scalar(weight).backward();
                    let grads = GradientsParams::from_grads(grads, &net).to_device(main, &net);
                    let correct = top_k_correct(logits.detach(), y, 1);
                    Ok((shard_loss * size as f32, correct, Some(grads), statistics))
                })
            })
            .collect(),
    )?;
    let replicas = results.len();
    let local = average_statistics(results.iter().map(|r| &r.3));
    // The global loss sum, correct count and non-finite flag, in one all-reduce.
    let bad = results.iter().find(|r| !r.0.is_finite()).map(|r| r.0);
    let mut totals = [
        results.iter().map(|r| f64::from(r.0)).sum::<f64>(),
        results.iter().map(|r| r.1 as f64).sum(),
        f64::from(u8::from(bad.is_some())),
    ];
    ranks.all_reduce_sum_f64(&mut totals);
    let statistics = average_over_ranks(local, replicas, ranks);
    if totals[2] > 0.0 {
        // Some rank's loss was not finite: no rank steps.
        return Ok(ParallelGradients {
            grads: None,
            loss: bad.unwrap_or(f32::NAN),
            correct: 0,
            statistics,
        });
    }
    let mut sum = GradientsAccumulator::<M>::new();
    for (_, _, grads, _) in results {
        sum.accumulate(network, grads.expect("finite losses have gradients"));
    }
    Ok(ParallelGradients {
        grads: Some(all_reduce_gradients(network, sum.grads(), ranks)),
        loss: (totals[0] / batch as f64) as f32,
        correct: totals[1] as usize,
        statistics,
    })
}

/// [`weight_step_parallel`](crate::parallel::weight_step_parallel) over the ranks of `workers` (see the [module docs](self)):
/// `images` and `labels` are the global batch, the same on every rank; every rank comes
/// back with the same supernet and the global batch's stats. With one rank it is
/// `weight_step_parallel` on `workers.devices`.
///
/// # Errors
/// [`SupernetError::RanksDisagree`] when the ranks were given different paths,
/// [`SupernetError::BatchSmallerThanRanks`], and the errors of one process's step.
#[allow(clippy::too_many_arguments)]
pub fn weight_step_ranked(
    supernet: Supernet,
    optim: &mut ModuleOptimizer,
    lr: f64,
    arch: &[Vec<usize>],
    coast: &[Vec<usize>],
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    workers: &Workers<'_>,
) -> Result<(Supernet, WeightStepStats)> {
    let ranks = workers.ranks;
    let batch = images.dims()[0];
    if ranks.size() == 1 && shard_sizes(batch, workers.devices.len()).len() <= 1 {
        return weight_step_coasting(supernet, optim, lr, arch, coast, images, labels);
    }
    supernet.check_sets(arch)?;
    agree(
        ranks,
        path_hash(arch.iter().chain(coast).map(Vec::as_slice)),
        "the weight step's path",
    )?;
    let (images, labels) = rank_part(images, labels, ranks)?;
    let main = &workers.devices[0];
    let path = PathModules::of_arch(arch);
    let jobs: Vec<_> = shards(images, labels, workers.devices)
        .into_iter()
        .map(|(device, x, y, size)| {
            let replica = path_replica(&supernet, &path, device);
            let weight = size as f64 / batch as f64;
            (device, move || {
                run_replica(replica, arch, x, y, weight, main)
            })
        })
        .collect();
    let results: Vec<ReplicaResult> = in_threads("weight step", jobs)?;

    // The global loss sum, correct count and non-finite flag, in one all-reduce.
    let bad = results.iter().any(|r| !r.loss.is_finite());
    let mut totals = [
        results
            .iter()
            .map(|r| f64::from(r.loss) * r.images as f64)
            .sum::<f64>(),
        results.iter().map(|r| r.correct as f64).sum(),
        f64::from(u8::from(bad)),
    ];
    ranks.all_reduce_sum_f64(&mut totals);
    let loss = (totals[0] / batch as f64) as f32;
    if totals[2] > 0.0 {
        // Some rank's loss was not finite: no rank steps.
        let loss = if loss.is_finite() { f32::NAN } else { loss };
        let stats = WeightStepStats {
            loss,
            correct: 0,
            images: batch,
        };
        return Ok((supernet, stats));
    }

    let mut supernet = supernet;
    let replicas = results.len();
    let local = average_statistics(results.iter().map(|r| &r.statistics));
    let statistics = average_over_ranks(local, replicas, ranks);
    write_statistics(used_batch_norms(&mut supernet, arch), statistics);

    let mut accumulate = AccumulateGrads {
        replicas: results
            .into_iter()
            .map(|r| r.grads.expect("finite losses have gradients"))
            .collect(),
        out: Vec::new(),
    };
    for_each_path_module(&supernet, arch, &mut accumulate);
    let grads = all_reduce_path_gradients(&supernet, arch, accumulate.out, ranks);
    let supernet = step_path(supernet, optim, lr, arch, &mut SlotGrads(grads));
    let supernet = coast_ops(supernet, optim, lr, coast);
    let stats = WeightStepStats {
        loss,
        correct: totals[1] as usize,
        images: batch,
    };
    Ok((supernet, stats))
}

/// The path modules' gradients (`slots`, in [`for_each_path_module`] order) summed over the
/// ranks: flattened in that order, one all-reduce for the values and one for the presence
/// flags (an identity on one rank).
fn all_reduce_path_gradients(
    supernet: &Supernet,
    arch: &[Vec<usize>],
    slots: Vec<GradientsParams>,
    ranks: &dyn Collective,
) -> Vec<GradientsParams> {
    if ranks.size() == 1 {
        return slots;
    }
    let mut flatten = FlattenSlots {
        slots: &slots,
        values: Vec::new(),
        present: Vec::new(),
    };
    for_each_path_module(supernet, arch, &mut flatten);
    let (mut values, mut present) = (flatten.values, flatten.present);
    ranks.all_reduce_sum(&mut values);
    ranks.all_reduce_sum(&mut present);
    let mut unflatten = UnflattenSlots {
        values: &values,
        present: &present,
        out: Vec::new(),
    };
    for_each_path_module(supernet, arch, &mut unflatten);
    unflatten.out
}

/// [`indicator_step_parallel`](crate::parallel::indicator_step_parallel) over the ranks of `workers`: every rank draws the same two
/// paths from `rng` (checked), takes its part of the global held-out batch over its
/// devices, and the indicators' gradients are summed over all replicas of all ranks before
/// the same optimizer step on every rank. With one rank it is `indicator_step_parallel`.
///
/// # Errors
/// As [`weight_step_ranked`].
#[allow(clippy::too_many_arguments)]
pub fn indicator_step_ranked<R: Rng + ?Sized>(
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
    workers: &Workers<'_>,
) -> Result<Indicators> {
    let ranks = workers.ranks;
    let batch = images.dims()[0];
    if ranks.size() == 1 && shard_sizes(batch, workers.devices.len()).len() <= 1 {
        return indicator_step(
            supernet, indicators, optim, lr, subspace, costs, penalty, images, labels, rng,
        );
    }
    let alphas = indicators.values();
    let paths = subspace.sample_two_paths(&alphas, rng)?.cells;
    let hash = path_hash(paths.iter().flat_map(|p| {
        std::iter::once(p.selected.as_slice()).chain(p.unselected.iter().map(Vec::as_slice))
    }));
    agree(ranks, hash, "the indicator step's two paths")?;
    let selected: Vec<Vec<usize>> = paths.iter().map(|p| p.selected.clone()).collect();
    supernet.check_sets(&selected)?;
    let (images, labels) = rank_part(images, labels, ranks)?;
    let main = &workers.devices[0];
    let modules = PathModules::of_indicator_paths(&paths);
    nse_modules::materialize(supernet);
    let paths = &paths;
    let modules_ref = &modules;
    let jobs: Vec<_> = shards(images, labels, workers.devices)
        .into_iter()
        .map(|(device, x, y, size)| {
            let mut replica = path_replica(supernet, modules_ref, device).no_grad();
            let replica_indicators = indicators.clone().fork(device);
            let weight = size as f64 / batch as f64;
            (device, move || {
                let loss =
                    indicator_loss(&replica, x, y, paths, &replica_indicators, costs, penalty)?;
                let mut grads = loss.mul_scalar(weight).backward();
                let grads = GradientsParams::from_module(&mut grads, &replica_indicators)
                    .to_device(main, &replica_indicators);
                let statistics = read_statistics(modules_ref.batch_norms(&mut replica), main);
                Ok(IndicatorShard { grads, statistics })
            })
        })
        .collect();
    let results: Vec<IndicatorShard> = in_threads("indicator step", jobs)?;

    let replicas = results.len();
    let local = average_statistics(results.iter().map(|r| &r.statistics));
    let statistics = average_over_ranks(local, replicas, ranks);
    write_statistics(modules.batch_norms(supernet), statistics);
    let mut sum = GradientsAccumulator::<Indicators>::new();
    for shard in results {
        sum.accumulate(&indicators, shard.grads);
    }
    let grads = all_reduce_gradients(&indicators, sum.grads(), ranks);
    Ok(optim.step(lr, indicators, grads))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameter_hashes_see_a_changed_weight_and_only_one_sees_the_statistics() {
        let device = Device::flex().autodiff();
        let bn = burn::nn::BatchNormConfig::new(3).init(&device);
        let same = bn.clone();
        assert_eq!(parameter_hash(&bn), parameter_hash(&same));
        assert_eq!(
            trainable_parameter_hash(&bn),
            trainable_parameter_hash(&same)
        );
        let mut changed = bn.clone();
        changed.gamma = changed.gamma.map(|w| w.add_scalar(1e-6));
        assert_ne!(parameter_hash(&bn), parameter_hash(&changed));
        assert_ne!(
            trainable_parameter_hash(&bn),
            trainable_parameter_hash(&changed)
        );
        let mut recalibrated = bn.clone();
        recalibrated.running_mean = burn::module::RunningState::new(Tensor::ones([3], &device));
        assert_ne!(parameter_hash(&bn), parameter_hash(&recalibrated));
        assert_eq!(
            trainable_parameter_hash(&bn),
            trainable_parameter_hash(&recalibrated),
            "the running statistics are not trainable"
        );
    }

    #[test]
    fn the_path_hash_tells_paths_apart() {
        let a: [&[usize]; 2] = [&[0, 2], &[1]];
        let b: [&[usize]; 2] = [&[0], &[2, 1]];
        let c: [&[usize]; 2] = [&[0, 2], &[1]];
        assert_eq!(path_hash(a), path_hash(c));
        assert_ne!(path_hash(a), path_hash(b), "the set boundaries count");
    }
}
