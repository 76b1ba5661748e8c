//! The distribution `D` of a cell's branch sets (see the [module docs](super)): independent
//! Bernoulli branches, conditioned on non-empty and on at most `max_branches` ops, drawn
//! without rejection.

use rand::Rng;

/// Joint probability `P(A) = Π p_i^on (1 − p_i)^off` of the branch set `on` (a bit mask over
/// `probs`).
pub(crate) fn joint(probs: &[f64], on: impl Fn(usize) -> bool) -> f64 {
    probs
        .iter()
        .enumerate()
        .map(|(j, &p)| if on(j) { p } else { 1.0 - p })
        .product()
}

/// Index picked by `u ∈ [0, Σ weights)` walking the cumulative weights (last index on
/// rounding overflow).
pub(crate) fn pick(weights: impl Iterator<Item = f64>, u: f64) -> usize {
    let mut acc = 0.0;
    let mut last = 0;
    for (i, w) in weights.enumerate() {
        acc += w;
        last = i;
        if u < acc {
            return i;
        }
    }
    last
}

/// Draws one branch set of a cell as a mask over its sub-space ops from `D` (see the module
/// docs): independent Bernoulli, conditioned on non-empty when `nonempty` and on at most
/// `limit` ops on when a limit below the op count is given.
pub(crate) fn draw_mask<R: Rng + ?Sized>(
    probs: &[f64],
    nonempty: bool,
    limit: Option<usize>,
    rng: &mut R,
) -> Vec<bool> {
    match limit {
        Some(max) if max < probs.len() => draw_mask_limited(probs, nonempty, max, rng),
        _ => draw_mask_unlimited(probs, nonempty, rng),
    }
}

fn draw_mask_unlimited<R: Rng + ?Sized>(probs: &[f64], nonempty: bool, rng: &mut R) -> Vec<bool> {
    let mut on = vec![false; probs.len()];
    let mut start = 0;
    if nonempty && !probs.is_empty() {
        // P(first on = j) ∝ Π_{i<j} (1 − p_i) · p_j.
        let masses = probs.iter().scan(1.0, |prefix: &mut f64, &p| {
            let mass = *prefix * p;
            *prefix *= 1.0 - p;
            Some(mass)
        });
        let total: f64 = masses.clone().sum();
        let first = pick(masses, rng.random::<f64>() * total);
        on[first] = true;
        start = first + 1;
    }
    for j in start..probs.len() {
        on[j] = rng.random::<f64>() < probs[j];
    }
    on
}

/// [`draw_mask`] under a limit of `max` ops on: the independent-Bernoulli distribution
/// conditioned on `lo ≤ |A| ≤ max` (`lo` = 1 when `nonempty`), drawn exactly, op by op:
/// `W[j][c]`, the mass of the completions of ops `j..` from `c` ops on, gives
/// `Pr(op j on | the ops before) = p_j·W[j+1][c+1] / W[j][c]`.
fn draw_mask_limited<R: Rng + ?Sized>(
    probs: &[f64],
    nonempty: bool,
    max: usize,
    rng: &mut R,
) -> Vec<bool> {
    let n = probs.len();
    let lo = usize::from(nonempty);
    // completions[j][c] for j in 0..=n, c in 0..=max.
    let mut completions = vec![vec![0.0f64; max + 1]; n + 1];
    for (c, w) in completions[n].iter_mut().enumerate() {
        *w = if c >= lo { 1.0 } else { 0.0 };
    }
    for j in (0..n).rev() {
        for c in 0..=max {
            let on = if c < max {
                probs[j] * completions[j + 1][c + 1]
            } else {
                0.0
            };
            completions[j][c] = on + (1.0 - probs[j]) * completions[j + 1][c];
        }
    }
    let mut on = vec![false; n];
    let mut count = 0;
    for j in 0..n {
        let take = if count < max {
            probs[j] * completions[j + 1][count + 1]
        } else {
            0.0
        };
        let total = take + (1.0 - probs[j]) * completions[j + 1][count];
        if take > 0.0 && rng.random::<f64>() * total < take {
            on[j] = true;
            count += 1;
        }
    }
    on
}

pub(crate) fn mask_to_ops(ops: &[usize], on: &[bool]) -> Vec<usize> {
    ops.iter()
        .zip(on)
        .filter(|(_, on)| **on)
        .map(|(&i, _)| i)
        .collect()
}
