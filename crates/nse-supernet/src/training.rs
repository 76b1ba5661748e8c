//! The two training steps of a search round (docs/method.md §6), beside the supernet and
//! the indicators they train: the weight step on a sampled path, and the indicator step with
//! the two-path estimator and the resource penalty. The search driver (`nse-train`) and the
//! benchmarks run exactly this code.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::loss::cross_entropy_with_logits;
use burn::tensor::{Gradients, Int, Tensor};
use rand::Rng;

use nse_space::{CellPaths, SubSpace};

use crate::error::Result;
use crate::indicators::{CostTable, Indicators, resource_penalty};
use crate::supernet::Supernet;

/// Number of rows of `logits` (`[batch, classes]`) whose label is among the `k` highest
/// logits.
pub fn top_k_correct(logits: Tensor<2>, labels: Tensor<1, Int>, k: usize) -> usize {
    let [batch, classes] = logits.dims();
    let k = k.min(classes);
    let top = logits.argsort_descending(1).narrow(1, 0, k);
    let hits = top
        .equal(labels.reshape([batch, 1]).expand([batch, k]))
        .int()
        .sum();
    hits.into_scalar::<i64>() as usize
}

/// What one weight step measured on its batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightStepStats {
    /// Mean cross-entropy over the batch. When it is not finite the step was not taken
    /// ([`weight_step`]).
    pub loss: f32,
    /// Top-1 correct predictions.
    pub correct: usize,
    /// Images in the batch.
    pub images: usize,
}

/// One weight step: forward of the multi-branch architecture `arch` (op sets per cell),
/// cross-entropy, backward, and an optimizer step on the supernet weights at rate `lr`.
/// Ops off the path are left alone (the search's `unsampled_ops = frozen`).
///
/// A batch whose loss is NaN or infinite takes no step: the supernet comes back as it was
/// — weights, optimizer state, and the running batch-norm statistics the forward would
/// have updated — and `stats.loss` says what the loss was, for the caller to stop or skip.
pub fn weight_step(
    supernet: Supernet,
    optim: &mut ModuleOptimizer,
    lr: f64,
    arch: &[Vec<usize>],
    images: Tensor<4>,
    labels: Tensor<1, Int>,
) -> Result<(Supernet, WeightStepStats)> {
    let none = vec![Vec::new(); arch.len()];
    weight_step_coasting(supernet, optim, lr, arch, &none, images, labels)
}

/// [`weight_step`], and besides an optimizer step with zero gradients on the ops `coast`
/// (per cell; ops off the path): their momentum and weight decay keep acting, as in the
/// reference, where PyTorch 1.5's `zero_grad()` leaves every parameter that once had a
/// gradient with a zero one (the search's `unsampled_ops = momentum`).
#[allow(clippy::too_many_arguments)]
pub fn weight_step_coasting(
    supernet: Supernet,
    optim: &mut ModuleOptimizer,
    lr: f64,
    arch: &[Vec<usize>],
    coast: &[Vec<usize>],
    images: Tensor<4>,
    labels: Tensor<1, Int>,
) -> Result<(Supernet, WeightStepStats)> {
    let mut supernet = supernet;
    let logits = supernet.forward(images, arch)?;
    let [n, classes] = logits.dims();
    let loss = cross_entropy_with_logits(logits.clone(), labels.clone().one_hot(classes).float());
    let loss_value = loss.clone().into_scalar::<f32>();
    if !loss_value.is_finite() {
        discard_statistics_update(&mut supernet, arch);
        let stats = WeightStepStats {
            loss: loss_value,
            correct: 0,
            images: n,
        };
        return Ok((supernet, stats));
    }
    let mut grads = loss.backward();
    let supernet = step_path(supernet, optim, lr, arch, &mut grads);
    let supernet = coast_ops(supernet, optim, lr, coast);
    let stats = WeightStepStats {
        loss: loss_value,
        correct: top_k_correct(logits.detach(), labels, 1),
        images: n,
    };
    Ok((supernet, stats))
}

/// An optimizer step with zero gradients on the ops `coast` (per cell).
pub(crate) fn coast_ops(
    mut supernet: Supernet,
    optim: &mut ModuleOptimizer,
    lr: f64,
    coast: &[Vec<usize>],
) -> Supernet {
    for (cell, ops) in supernet.cells.iter_mut().zip(coast) {
        for &op in ops {
            let module = cell.ops[op].clone();
            let mut zeros = ZeroGrads(GradientsParams::new());
            module.visit(&mut zeros);
            cell.ops[op] = optim.step(lr, module, zeros.0);
        }
    }
    supernet
}

/// Where [`step_path`] takes each path module's gradients from.
pub(crate) trait GradSource {
    /// The gradients of `module`'s parameters, the `slot`-th module of the path (in the
    /// order of [`for_each_path_module`]).
    fn take<M: Module>(&mut self, slot: usize, module: &M) -> GradientsParams;
}

impl GradSource for Gradients {
    fn take<M: Module>(&mut self, _slot: usize, module: &M) -> GradientsParams {
        GradientsParams::from_module(self, module)
    }
}

/// Something done to each module of a path, whatever its type.
pub(crate) trait PathModuleFn {
    /// Called with the `slot`-th module of the path.
    fn call<M: Module>(&mut self, slot: usize, module: &M);
}

/// Calls `f` on the modules of `arch`'s path in a fixed order: stem, then per cell the chosen
/// ops (in the set's order) and the shadow batch norm of the set's size, if any; tail.
pub(crate) fn for_each_path_module(
    supernet: &Supernet,
    arch: &[Vec<usize>],
    f: &mut impl PathModuleFn,
) {
    let mut slot = 0;
    f.call(slot, &supernet.stem);
    for (cell, set) in supernet.cells.iter().zip(arch) {
        for &op in set {
            slot += 1;
            f.call(slot, &cell.ops[op]);
        }
        if let Some(bn) = cell.shadow_for(set) {
            slot += 1;
            f.call(slot, bn);
        }
    }
    f.call(slot + 1, &supernet.tail);
}

/// Drops the running-statistics update the last train-mode forward of `arch` queued in the
/// batch norms of its path ([`nse_modules::discard_batch_norm_update`]).
fn discard_statistics_update(supernet: &mut Supernet, arch: &[Vec<usize>]) {
    for bn in crate::recalibration::used_batch_norms(supernet, arch) {
        nse_modules::discard_batch_norm_update(bn);
    }
}

/// Registers a zero gradient for every trainable float parameter it visits.
struct ZeroGrads(GradientsParams);

impl ModuleVisitor for ZeroGrads {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if param.is_require_grad() {
            self.0.register(param.id, param.val().inner().zeros_like());
        }
    }
}

/// The optimizer step on the modules of `arch`'s path: stem, the sampled ops (and their
/// cells' shadow batch norms, if any), tail. Only they have gradients, and stepping them one by one spares the optimizer a walk over every
/// parameter of every pool op (thousands of parameters with `mb72`), which Burn's optimizer
/// makes, with a lookup and a parameter rebuild each, on the whole module it is given. The
/// result is that of stepping the whole supernet (test below); the optimizer's state is keyed
/// by parameter, whatever module it was reached through.
/// The gradients come from `grads`, module by module in the order of
/// [`for_each_path_module`].
pub(crate) fn step_path(
    supernet: Supernet,
    optim: &mut ModuleOptimizer,
    lr: f64,
    arch: &[Vec<usize>],
    grads: &mut impl GradSource,
) -> Supernet {
    fn step<M: Module, G: GradSource>(
        optim: &mut ModuleOptimizer,
        lr: f64,
        grads: &mut G,
        slot: &mut usize,
        m: M,
    ) -> M {
        let params = grads.take(*slot, &m);
        *slot += 1;
        optim.step(lr, m, params)
    }
    let slot = &mut 0;
    let Supernet {
        stem,
        mut cells,
        tail,
    } = supernet;
    let stem = step(optim, lr, grads, slot, stem);
    for (cell, set) in cells.iter_mut().zip(arch) {
        for &op in set {
            cell.ops[op] = step(optim, lr, grads, slot, cell.ops[op].clone());
        }
        if let Some(bn) = cell.shadow_for_mut(set) {
            *bn = step(optim, lr, grads, slot, bn.clone());
        }
    }
    let tail = step(optim, lr, grads, slot, tail);
    Supernet { stem, cells, tail }
}

/// The resource penalty `a · |expected cost − target|^b` of the indicator step, in the unit of
/// the cost table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResourcePenalty {
    /// The target cost.
    pub target: f64,
    /// The factor `a`.
    pub a: f64,
    /// The exponent `b`.
    pub b: f64,
}

/// One indicator step: two paths sampled from the indicators over `subspace` (§6), the
/// indicator forward, cross-entropy plus the resource penalty, backward, and an optimizer
/// step on the indicators only. The supernet weights are not updated.
#[allow(clippy::too_many_arguments)]
pub fn indicator_step<R: Rng + ?Sized>(
    supernet: &Supernet,
    indicators: Indicators,
    optim: &mut ModuleOptimizer,
    lr: f64,
    subspace: &SubSpace,
    costs: &CostTable,
    penalty: &ResourcePenalty,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    rng: &mut R,
) -> Result<Indicators> {
    let alphas = indicators.values();
    let paths = subspace.sample_two_paths(&alphas, rng)?.cells;
    // Only the indicators are updated: untracked weights spare the backward pass their
    // gradients (it still flows through the activations to every cell's indicators). Lazy
    // parameters are initialised first, or `no_grad` on the clone would reach the original's
    // (see `nse_modules::materialize`).
    nse_modules::materialize(supernet);
    let frozen = supernet.clone().no_grad();
    let loss = indicator_loss(&frozen, images, labels, &paths, &indicators, costs, penalty)?;
    let mut grads = loss.backward();
    let alpha_grads = GradientsParams::from_module(&mut grads, &indicators);
    Ok(optim.step(lr, indicators, alpha_grads))
}

/// The indicator step's loss on one batch: cross-entropy of the two-path forward plus the
/// resource penalty of the expected cost.
pub(crate) fn indicator_loss(
    frozen: &Supernet,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    paths: &[CellPaths],
    indicators: &Indicators,
    costs: &CostTable,
    penalty: &ResourcePenalty,
) -> Result<Tensor<1>> {
    let out = frozen.forward_indicator(images, paths, indicators, costs)?;
    let classes = out.logits.dims()[1];
    Ok(
        cross_entropy_with_logits(out.logits, labels.one_hot(classes).float())
            + resource_penalty(out.expected_cost, penalty.target, penalty.a, penalty.b),
    )
}
