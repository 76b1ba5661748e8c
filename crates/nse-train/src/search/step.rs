//! The two training steps of a search round (nse-method.md §6), as free functions so that the
//! search driver and the benchmarks run exactly the same code.

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::loss::cross_entropy_with_logits;
use burn::tensor::{Int, Tensor};
use rand::Rng;

use nse_space::SubSpace;
use nse_supernet::{CostTable, Indicators, Supernet, resource_penalty};

use crate::metrics::top_k_correct;
use crate::search::config::ResourceConfig;
use crate::search::driver::indicator_paths;
use crate::search::error::Result;

/// What one weight step measured on its batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightStepStats {
    /// Mean cross-entropy over the batch.
    pub loss: f32,
    /// Top-1 correct predictions.
    pub correct: usize,
    /// Images in the batch.
    pub images: usize,
}

/// One weight step: forward of the multi-branch architecture `arch` (op sets per cell),
/// cross-entropy, backward, and an optimizer step on the supernet weights at rate `lr`.
pub fn weight_step(
    supernet: Supernet,
    optim: &mut ModuleOptimizer,
    lr: f64,
    arch: &[Vec<usize>],
    images: Tensor<4>,
    labels: Tensor<1, Int>,
) -> Result<(Supernet, WeightStepStats)> {
    let logits = supernet.forward(images, arch)?;
    let [n, classes] = logits.dims();
    let loss = cross_entropy_with_logits(logits.clone(), labels.clone().one_hot(classes).float());
    let mut grads = loss.backward();
    let weight_grads = GradientsParams::from_module(&mut grads, &supernet);
    let supernet = optim.step(lr, supernet, weight_grads);
    let stats = WeightStepStats {
        loss: loss.into_scalar::<f32>(),
        correct: top_k_correct(logits.detach(), labels, 1),
        images: n,
    };
    Ok((supernet, stats))
}

/// One indicator step: two paths sampled from the indicators over `subspace` (§5), the
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
    resource: &ResourceConfig,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    rng: &mut R,
) -> Result<Indicators> {
    let alphas = indicators.values();
    let pair = subspace.sample_two_paths(&alphas, rng)?;
    let paths = indicator_paths(subspace, &pair.cells);
    // The weights stay tracked (their gradients are computed and dropped): `Module::no_grad`
    // on a clone also flips still-uninitialised (lazy) parameters of the original, such as
    // the BN affine parameters of ops not sampled yet, which would then never train.
    let out = supernet.forward_indicator(images, &paths, &indicators, costs)?;
    let classes = out.logits.dims()[1];
    let loss = cross_entropy_with_logits(out.logits, labels.one_hot(classes).float())
        + resource_penalty(out.expected_cost, resource.target, resource.a, resource.b);
    let mut grads = loss.backward();
    let alpha_grads = GradientsParams::from_module(&mut grads, &indicators);
    Ok(optim.step(lr, indicators, alpha_grads))
}
