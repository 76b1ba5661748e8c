//! The indicator step's two paths per cell ([`SubSpace::sample_two_paths`]) and their joint
//! probabilities.

use serde::{Deserialize, Serialize};

use super::{branch_probability, joint};
use crate::architecture::Architecture;
#[cfg(doc)]
use crate::subspace::SubSpace;

/// The two branch sets of one cell for the indicator step (docs/method.md §6), as the
/// sampler draws them and the supernet's indicator forward takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellPaths {
    /// The cell's sub-space (sorted pool indices): the ops whose Bernoulli factors enter the
    /// joint probabilities `P(s)`, `P(u)`.
    pub subspace: Vec<usize>,
    /// The selected set `s` (sorted pool indices): the forward value of the cell is `y_s`.
    pub selected: Vec<usize>,
    /// The other set `u ≠ s`, or `None` for a deterministic cell (empty sub-space, or one op
    /// in a non-residual cell): it has a single possible branch set, runs `selected` plainly,
    /// without the two-path estimator, and its indicators get no gradient.
    pub unselected: Option<Vec<usize>>,
}

impl CellPaths {
    /// Whether the cell has a single possible branch set (no `unselected`).
    pub fn is_deterministic(&self) -> bool {
        self.unselected.is_none()
    }

    /// The other set, or the selected one in a deterministic cell.
    pub fn other(&self) -> &[usize] {
        self.unselected.as_deref().unwrap_or(&self.selected)
    }

    /// `(P(s), P(u))` with `P(A) = Π p_i^on (1 − p_i)^off` over the cell's sub-space ops, for
    /// the cell's indicator row `alpha` (one value per pool op) — the *unconditioned* joint
    /// probabilities, also in non-residual cells (the conditioning constant cancels in
    /// `q_s = P_s / (P_s + P_u)`). Both are `P(s)` in a deterministic cell.
    pub fn probabilities(&self, alpha: &[f32]) -> (f64, f64) {
        let probs: Vec<f64> = self
            .subspace
            .iter()
            .map(|&i| branch_probability(alpha[i]))
            .collect();
        let of = |set: &[usize]| joint(&probs, |j| set.contains(&self.subspace[j]));
        (of(&self.selected), of(self.other()))
    }

    /// `q_s = P_s / (P_s + P_u)`; 1 in a deterministic cell.
    pub fn q_selected(&self, alpha: &[f32]) -> f64 {
        if self.is_deterministic() {
            return 1.0;
        }
        let (ps, pu) = self.probabilities(alpha);
        ps / (ps + pu)
    }
}

/// Per cell, two distinct branch sets and their joint probabilities; see
/// [`SubSpace::sample_two_paths`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathPair {
    /// One entry per cell.
    pub cells: Vec<CellPaths>,
}

impl PathPair {
    /// The selected sets as an architecture.
    pub fn selected(&self) -> Architecture {
        Architecture::from_sorted(self.cells.iter().map(|c| c.selected.clone()).collect())
    }

    /// The other sets as an architecture.
    pub fn other(&self) -> Architecture {
        Architecture::from_sorted(self.cells.iter().map(|c| c.other().to_vec()).collect())
    }
}

#[cfg(test)]
mod tests {
    use nse_ops::CostMetric;

    use super::*;
    use crate::error::SpaceError;
    use crate::sampler::test_support::*;
    use crate::sampler::{ResourceWindow, WindowSampler};

    #[test]
    fn limited_two_paths_and_reach_respect_the_limit() {
        let (space, sub) = limited(1);
        let alphas = random_alphas(&space, 12);
        let mut r = rng(7);
        let n = 20_000;
        let mut selected = std::collections::HashMap::new();
        for _ in 0..n {
            let pair = sub.sample_two_paths(&alphas, &mut r).unwrap();
            for (c, paths) in pair.cells.iter().enumerate() {
                assert!(
                    paths.selected.len() <= 1 && paths.other().len() <= 1,
                    "cell {c}"
                );
                if !paths.is_deterministic() {
                    assert_ne!(paths.selected, paths.other(), "cell {c}");
                }
            }
            // The rejection path (12 ops) too.
            assert!(pair.cells[7].selected.len() == 1 && pair.cells[7].other().len() == 1);
            *selected
                .entry(pair.cells[1].selected.clone())
                .or_insert(0usize) += 1;
        }
        let expected = limited_distribution(sub.ops(1), &alphas[1], false, 1);
        let chi2 = chi_square(&selected, &expected, n);
        assert!(chi2 < 25.0, "chi-square {chi2} over 2 degrees of freedom");
        // The densest architecture holds each cell's most expensive op only.
        let costs = raw(&space, CostMetric::Macs);
        let sampler = WindowSampler::new(ResourceWindow::new(1.0, 0.5, 0.1), 1, 0);
        let (_, dearest) = sampler.reachable_range(&space, &costs, &sub).unwrap();
        let expected = costs.fixed
            + (0..12)
                .map(|c| {
                    sub.ops(c)
                        .iter()
                        .map(|&i| costs.ops[c][i])
                        .fold(0.0, f64::max)
                })
                .sum::<f64>();
        assert!((dearest - expected).abs() < 1e-9, "{dearest} vs {expected}");
        // Architectures above the limit are refused by the space.
        let mut cells = vec![vec![0]; 12];
        cells[1] = vec![2, 4];
        let err = space
            .check_architecture(&Architecture::new(cells).unwrap())
            .unwrap_err();
        assert!(
            matches!(
                err,
                SpaceError::TooManyBranches {
                    cell: 1,
                    ops: 2,
                    max: 1
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn two_path_sampler_gives_distinct_paths_with_the_documented_distribution() {
        let space = cifar();
        let sub = mixed_subspace(&space);
        let alphas = random_alphas(&space, 20);
        let draw = |seed| {
            let mut r = rng(seed);
            (0..20)
                .map(|_| sub.sample_two_paths(&alphas, &mut r).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(5), draw(5));
        assert_ne!(draw(5), draw(6));

        let n = 40_000;
        let mut r = rng(7);
        let mut selected: Vec<std::collections::HashMap<Vec<usize>, usize>> =
            vec![Default::default(); 12];
        let mut other: Vec<std::collections::HashMap<Vec<usize>, usize>> =
            vec![Default::default(); 12];
        let mut on_large = vec![0usize; 27];
        for _ in 0..n {
            let pair = sub.sample_two_paths(&alphas, &mut r).unwrap();
            space.check_architecture(&pair.selected()).unwrap();
            space.check_architecture(&pair.other()).unwrap();
            assert!(
                sub.contains_architecture(&pair.selected())
                    && sub.contains_architecture(&pair.other())
            );
            for (c, cell) in pair.cells.iter().enumerate() {
                assert_eq!(cell.is_deterministic(), sub.is_deterministic(c), "cell {c}");
                assert_eq!(cell.subspace, sub.ops(c));
                let (prob_selected, prob_other) = cell.probabilities(&alphas[c]);
                if cell.is_deterministic() {
                    assert_eq!(cell.selected, sub.ops(c));
                    assert_eq!(cell.q_selected(&alphas[c]), 1.0);
                    assert_eq!(prob_selected, prob_other);
                } else {
                    assert_ne!(cell.selected, cell.other(), "cell {c}: equal paths");
                    let q = prob_selected / (prob_selected + prob_other);
                    assert!((cell.q_selected(&alphas[c]) - q).abs() < 1e-15);
                }
                // The probabilities are the unconditioned joint products.
                let ps = raw_product(sub.ops(c), &alphas[c], &cell.selected);
                let pu = raw_product(sub.ops(c), &alphas[c], cell.other());
                assert_eq!(
                    sub.set_probability(&alphas, c, &cell.selected).unwrap(),
                    prob_selected
                );
                assert!((prob_selected - ps).abs() <= 1e-12 * ps, "cell {c}");
                assert!((prob_other - pu).abs() <= 1e-12 * pu, "cell {c}");
                *selected[c].entry(cell.selected.clone()).or_insert(0) += 1;
                *other[c].entry(cell.other().to_vec()).or_insert(0) += 1;
            }
            pair.cells[6]
                .selected
                .iter()
                .for_each(|&i| on_large[i] += 1);
        }
        // Enumerated cells: Pr(s = a) = D(a), Pr(u = b) = Σ_a D(a) D(b) / (1 − D(a)).
        for c in [0, 1, 2, 3] {
            let d = distribution(sub.ops(c), &alphas[c], sub.is_residual(c));
            let chi2 = chi_square(&selected[c], &d, n);
            assert!(
                chi2 < 30.0,
                "cell {c}: selected chi-square {chi2} over {} sets",
                d.len()
            );
            let d_other: Vec<(Vec<usize>, f64)> = d
                .iter()
                .map(|(b, db)| {
                    let p: f64 = d
                        .iter()
                        .filter(|(a, _)| a != b)
                        .map(|(_, da)| da * db / (1.0 - da))
                        .sum();
                    (b.clone(), p)
                })
                .collect();
            let chi2 = chi_square(&other[c], &d_other, n);
            assert!(chi2 < 30.0, "cell {c}: other chi-square {chi2}");
        }
        let outside = sub.set_probability(&alphas, 0, &[1]).unwrap();
        assert_eq!(outside, 0.0, "op 1 is not in cell 0's sub-space");
        assert!(sub.set_probability(&alphas, 12, &[]).is_err());
        // Residual cell with one op: the two paths are {} and {7}, in either order.
        assert_eq!(selected[2][&vec![]] + selected[2][&vec![7]], n);
        assert_eq!(selected[2][&vec![]], other[2][&vec![7]]);
        // Rejection path (12 ops, residual): the selected set's marginals are the p_i.
        for &i in sub.ops(6) {
            let p = branch_probability(alphas[6][i]);
            let rate = on_large[i] as f64 / n as f64;
            assert!(
                (rate - p).abs() <= 5.0 * (p * (1.0 - p) / n as f64).sqrt(),
                "op {i}: {rate} vs {p}"
            );
        }
    }

    #[test]
    fn two_path_sampler_handles_extreme_probabilities() {
        // All α very negative: the residual one-op cell must still give {} and {op}, and a
        // non-residual two-op cell two different non-empty sets, without long rejection.
        let space = cifar();
        let sub = mixed_subspace(&space);
        let alphas = vec![vec![-1e6f32; 27]; 12];
        let mut r = rng(0);
        for _ in 0..200 {
            let pair = sub.sample_two_paths(&alphas, &mut r).unwrap();
            let cell = &pair.cells[3];
            assert!(
                !cell.selected.is_empty()
                    && !cell.other().is_empty()
                    && cell.selected != cell.other()
            );
            let (ps, pu) = cell.probabilities(&alphas[3]);
            assert!(ps > 0.0 && pu > 0.0);
            assert_ne!(pair.cells[7].selected, pair.cells[7].other());
        }
    }
}
