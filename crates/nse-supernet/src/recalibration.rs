//! Batch-norm recalibration of one architecture (docs/method.md §7.2, **\[ours\]**: the
//! statistics are reset and replaced by their exact average over the batches).

use burn::module::{Module, RunningState};
use burn::nn::BatchNorm;
use burn::tensor::Tensor;

use crate::error::{Result, SupernetError};
use crate::supernet::Supernet;

fn reset(bn: &mut BatchNorm) {
    let device = bn.gamma.device();
    let [features] = bn.gamma.dims();
    bn.running_mean = RunningState::new(Tensor::zeros([features], &device));
    bn.running_var = RunningState::new(Tensor::ones([features], &device));
}

/// The batch norms an architecture uses: the stem's, then those of each chosen op and the
/// cell's shadow batch norm for its branch count, if any.
pub(crate) fn used_batch_norms<'a>(
    supernet: &'a mut Supernet,
    arch: &[Vec<usize>],
) -> Vec<&'a mut BatchNorm> {
    let mut bns = vec![&mut supernet.stem.conv.bn];
    for (cell, set) in supernet.cells.iter_mut().zip(arch) {
        let m = set.len();
        for (i, op) in cell.ops.iter_mut().enumerate() {
            if set.contains(&i) {
                bns.extend(op.batch_norms_mut());
            }
        }
        if let Some(bn) = m.checked_sub(1).and_then(|k| cell.shadow.get_mut(k)) {
            bns.push(bn);
        }
    }
    bns
}

/// Resets the running statistics of the batch norms used by `arch` (the stem's, the chosen
/// ops' and the shadow batch norms of their branch counts) and re-estimates them from `batches` in train mode without gradients: after batch
/// `k` (0-based) with momentum `1 / (k + 1)`, each running mean is the exact average of the
/// batch means and each running variance the average of the (biased) batch variances.
/// Evaluate afterwards in eval mode (`supernet.valid()`). Returns the number of batches used.
///
/// Train-mode batch norm needs the supernet and the batches on an autodiff device
/// (`device.autodiff()`); the forward passes run on a `no_grad` view, so no graph is kept.
pub fn recalibrate<I>(supernet: &mut Supernet, arch: &[Vec<usize>], batches: I) -> Result<usize>
where
    I: IntoIterator<Item = Tensor<4>>,
{
    supernet.check_sets(arch)?;
    let momenta: Vec<f64> = used_batch_norms(supernet, arch)
        .into_iter()
        .map(|bn| {
            let m = bn.momentum;
            reset(bn);
            m
        })
        .collect();
    let mut count = 0;
    for x in batches {
        if !x.device().is_autodiff() {
            return Err(SupernetError::NotAutodiff);
        }
        for bn in used_batch_norms(supernet, arch) {
            bn.momentum = 1.0 / (count as f64 + 1.0);
        }
        // The clone shares the running statistics, which the train-mode forward updates.
        let view = supernet.clone().no_grad();
        view.forward(x, arch)?;
        count += 1;
    }
    for (bn, m) in used_batch_norms(supernet, arch).into_iter().zip(momenta) {
        nse_modules::sync_batch_norm(bn);
        bn.momentum = m;
    }
    if count == 0 {
        return Err(SupernetError::NoBatches);
    }
    Ok(count)
}
