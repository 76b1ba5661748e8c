//! `known-answer`: does an evolving sub-space find strong ops that its first sub-space
//! lacks? Measured on a pool whose answer is known — a few **strong** ops and many weak ones
//! — from a search's `front.json` alone, against anchors computed before any search.
//!
//! A reduction cell (stride 2, never empty) that holds only weak ops is the failure the test
//! looks for; the measures are their number in the front's architectures and the share of
//! weak ops among all the front's ops. The anchors say what chance and perfect selectors
//! would give: a random architecture of the whole pool (`vs-random`'s draw: 1 to
//! [`RANDOM_MAX_OPS`] ops per cell), a perfect selector that can only choose within the
//! first sub-space (a cell whose first K ops hold no strong one stays weak), and a perfect
//! evolving selector (no weak-only reduction cell, no weak op).

use serde::{Deserialize, Serialize};

use nse_ops::OpSpec;
use nse_space::{Architecture, CostTable, SearchSpace, SubSpace};

use super::error::{ExperimentError, Result};
use super::vs_random::RANDOM_MAX_OPS;
use crate::search::FrontFile;

/// The known answer: which ops of the pool are strong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpLabels {
    /// Pool indices of the strong ops, ascending.
    pub strong: Vec<usize>,
    /// Ops in the pool.
    pub pool_size: usize,
}

impl OpLabels {
    /// The labels of `space`'s pool with the ops named in `strong` (text form, `ir_k3_e6`)
    /// strong and every other op weak. Fails on a name not in the pool, or when either group
    /// would be empty.
    pub fn new(space: &SearchSpace, strong: &[impl AsRef<str>]) -> Result<Self> {
        let pool = space.pool();
        let mut indices = Vec::with_capacity(strong.len());
        for name in strong {
            let name = name.as_ref();
            let spec: OpSpec = name
                .parse()
                .map_err(|e| ExperimentError::Config(format!("strong op `{name}`: {e}")))?;
            let index = pool.index_of(&spec).ok_or_else(|| {
                ExperimentError::Config(format!("strong op `{name}` is not in the space's pool"))
            })?;
            indices.push(index);
        }
        indices.sort_unstable();
        indices.dedup();
        if indices.is_empty() || indices.len() == pool.len() {
            return Err(ExperimentError::Config(format!(
                "the labels need strong and weak ops: {} of the {} ops are strong",
                indices.len(),
                pool.len()
            )));
        }
        Ok(OpLabels {
            strong: indices,
            pool_size: pool.len(),
        })
    }

    /// Whether pool op `op` is strong.
    pub fn is_strong(&self, op: usize) -> bool {
        self.strong.binary_search(&op).is_ok()
    }

    /// Whether in every cell some weak op costs less than every strong op and some costs
    /// more than every strong op under `costs`: then the cost alone cannot tell them apart.
    pub fn weak_costs_bracket_strong(&self, costs: &CostTable) -> bool {
        costs.ops.iter().all(|cell| {
            let strong = self.strong.iter().map(|&i| cell[i]);
            let (low, high) = strong.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), c| {
                (l.min(c), h.max(c))
            });
            let weak: Vec<f64> = (0..self.pool_size)
                .filter(|&i| !self.is_strong(i))
                .map(|i| cell[i])
                .collect();
            weak.iter().any(|&c| c < low) && weak.iter().any(|&c| c > high)
        })
    }
}

/// The two measures of the known-answer test for a set of architectures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KnownAnswerMeasures {
    /// Reduction cells holding only weak ops, per architecture (the mean over them).
    pub weak_only_reduction_cells: f64,
    /// Weak ops among all ops of the architectures (`NaN` when they hold no op).
    pub weak_share: f64,
}

impl KnownAnswerMeasures {
    /// The measures of `architectures` in `space` under `labels`.
    pub fn of(space: &SearchSpace, labels: &OpLabels, architectures: &[Architecture]) -> Self {
        let reductions: Vec<usize> = reduction_cells(space);
        let (mut weak_only, mut weak, mut ops) = (0usize, 0usize, 0usize);
        for a in architectures {
            let cells = a.cells();
            weak_only += reductions
                .iter()
                .filter(|&&c| cells[c].iter().all(|&op| !labels.is_strong(op)))
                .count();
            for cell in cells {
                ops += cell.len();
                weak += cell.iter().filter(|&&op| !labels.is_strong(op)).count();
            }
        }
        KnownAnswerMeasures {
            weak_only_reduction_cells: weak_only as f64 / architectures.len() as f64,
            weak_share: weak as f64 / ops as f64,
        }
    }
}

/// The cells of `space` that reduce the resolution (stride 2): never residual, never empty.
fn reduction_cells(space: &SearchSpace) -> Vec<usize> {
    (0..space.num_cells())
        .filter(|&c| space.cells()[c].geometry.stride > 1)
        .collect()
}

/// What chance and perfect selectors give, computed before any search.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KnownAnswerAnchors {
    /// Reduction cells of the space.
    pub reduction_cells: usize,
    /// The expectation over random architectures of the whole pool (`vs-random`'s draw: a
    /// count of 1 to [`RANDOM_MAX_OPS`] ops per reduction cell, uniform, then the ops
    /// uniformly), exact.
    pub random: KnownAnswerMeasures,
    /// A perfect selector restricted to the first sub-space: in each cell the strong ops it
    /// holds, else one weak op (none in a residual cell).
    pub first_subspace_perfect: KnownAnswerMeasures,
    /// A perfect selector over the whole pool: strong ops only.
    pub perfect: KnownAnswerMeasures,
}

impl KnownAnswerAnchors {
    /// The anchors of `space` and its `first` sub-space under `labels`.
    pub fn new(space: &SearchSpace, labels: &OpLabels, first: &SubSpace) -> Self {
        let reductions = reduction_cells(space);
        let (n, s) = (labels.pool_size, labels.strong.len());
        let most = space
            .spec()
            .max_branches
            .map_or(RANDOM_MAX_OPS, |m| m.min(RANDOM_MAX_OPS))
            .min(n);
        // P(k ops drawn from n hold no strong one) = C(n − s, k) / C(n, k); the count k is
        // uniform over 1..=most in a reduction cell. The weak share of a random op is
        // (n − s) / n whatever the count.
        let no_strong = |k: usize| -> f64 {
            (0..k)
                .map(|i| (n - s).saturating_sub(i) as f64 / (n - i) as f64)
                .product()
        };
        let per_cell = (1..=most).map(no_strong).sum::<f64>() / most as f64;
        let random = KnownAnswerMeasures {
            weak_only_reduction_cells: reductions.len() as f64 * per_cell,
            weak_share: (n - s) as f64 / n as f64,
        };
        let perfect_in = |sub: &SubSpace| -> Architecture {
            let cells = (0..space.num_cells())
                .map(|c| {
                    let strong: Vec<usize> = sub
                        .ops(c)
                        .iter()
                        .copied()
                        .filter(|&op| labels.is_strong(op))
                        .collect();
                    if !strong.is_empty() || sub.is_residual(c) {
                        strong
                    } else {
                        vec![sub.ops(c)[0]]
                    }
                })
                .collect();
            Architecture::new(cells).expect("distinct sorted ops")
        };
        KnownAnswerAnchors {
            reduction_cells: reductions.len(),
            random,
            first_subspace_perfect: KnownAnswerMeasures::of(space, labels, &[perfect_in(first)]),
            perfect: KnownAnswerMeasures::of(space, labels, &[perfect_in(&SubSpace::full(space))]),
        }
    }
}

/// The known-answer measures of the finished search in `run` (its `config.json` and
/// `front.json`) under the strong ops `strong`.
pub fn known_answer(
    run: &std::path::Path,
    strong: &[impl AsRef<str>],
) -> Result<KnownAnswerReport> {
    let plan = super::run_config(run)?.check()?;
    let front = super::run_front(run)?;
    KnownAnswerReport::new(
        &front,
        plan.first_evolution().subspace(),
        plan.costs(),
        strong,
    )
}

/// The known-answer measures of a finished search (`known-answer.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownAnswerReport {
    /// The labels.
    pub labels: OpLabels,
    /// The strong ops by name.
    pub strong_ops: Vec<String>,
    /// Whether the weak ops' costs bracket the strong ones' in every cell.
    pub costs_bracket: bool,
    /// Rounds the search completed.
    pub rounds: usize,
    /// Entries of its front.
    pub front_entries: usize,
    /// The front's measures (weak-only reduction cells: the mean over its entries).
    pub front: KnownAnswerMeasures,
    /// The measures of the front entry with the best held-out accuracy.
    pub best_entry: KnownAnswerMeasures,
    /// The anchors, for this search's first sub-space.
    pub anchors: KnownAnswerAnchors,
}

impl KnownAnswerReport {
    /// The measures of `front` (with `first`, the search's first sub-space, for the
    /// anchors) under the strong ops `strong`.
    pub fn new(
        front: &FrontFile,
        first: &SubSpace,
        costs: &CostTable,
        strong: &[impl AsRef<str>],
    ) -> Result<Self> {
        let space = front.space.check()?;
        let labels = OpLabels::new(&space, strong)?;
        if front.front.is_empty() {
            return Err(ExperimentError::Config("the front is empty".into()));
        }
        let architectures: Vec<Architecture> =
            front.front.iter().map(|e| e.architecture.clone()).collect();
        let best = front
            .front
            .iter()
            .max_by(|a, b| a.accuracy.total_cmp(&b.accuracy))
            .expect("non-empty");
        Ok(KnownAnswerReport {
            strong_ops: labels
                .strong
                .iter()
                .map(|&i| space.pool().ops()[i].to_string())
                .collect(),
            costs_bracket: labels.weak_costs_bracket_strong(costs),
            rounds: front.rounds,
            front_entries: front.front.len(),
            front: KnownAnswerMeasures::of(&space, &labels, &architectures),
            best_entry: KnownAnswerMeasures::of(
                &space,
                &labels,
                std::slice::from_ref(&best.architecture),
            ),
            anchors: KnownAnswerAnchors::new(&space, &labels, first),
            labels,
        })
    }

    /// One line: the measures against the anchors.
    pub fn summary(&self) -> String {
        format!(
            "known answer ({} strong: {}), front of {} after {} rounds: weak-only reduction \
             cells {:.2} of {} (best entry {:.0}), weak-op share {:.2}; anchors: random {:.2} / \
             {:.2}, perfect in the first sub-space {:.2} / {:.2}, perfect {:.2} / {:.2}",
            self.labels.strong.len(),
            self.strong_ops.join(", "),
            self.front_entries,
            self.rounds,
            self.front.weak_only_reduction_cells,
            self.anchors.reduction_cells,
            self.best_entry.weak_only_reduction_cells,
            self.front.weak_share,
            self.anchors.random.weak_only_reduction_cells,
            self.anchors.random.weak_share,
            self.anchors
                .first_subspace_perfect
                .weak_only_reduction_cells,
            self.anchors.first_subspace_perfect.weak_share,
            self.anchors.perfect.weak_only_reduction_cells,
            self.anchors.perfect.weak_share,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nse_space::{EvolutionState, SpaceSpec};

    /// The demo's 7 cells (4 reduction) with a 13-op pool: 2 strong, 11 of kernel 1.
    pub(crate) fn known_answer_space() -> SearchSpace {
        let mut spec = SpaceSpec::preset("fashion-mnist-mb27").unwrap();
        spec.pool = serde_json::from_str(
            r#"["ir_k3_e6", "ir_k5_e3", "ir_k1_e2", "ir_k1_e3", "ir_k1_e4", "ir_k1_e6",
                "ir_k1_e8", "conv_k1_e1", "conv_k1_e2", "conv_k1_e3", "rec_k1_e1", "rec_k1_e2",
                "rec_k1_e3"]"#,
        )
        .unwrap();
        spec.input_channels = 3;
        spec.input_size = 32;
        spec.check().unwrap()
    }

    #[test]
    fn anchors_match_the_arithmetic_and_measures_count_cells() {
        let space = known_answer_space();
        let labels = OpLabels::new(&space, &["ir_k3_e6", "ir_k5_e3"]).unwrap();
        assert_eq!(labels.strong, [0, 1]);
        let first = EvolutionState::from_seed(&space, 1).subspace().clone();
        let anchors = KnownAnswerAnchors::new(&space, &labels, &first);
        assert_eq!(anchors.reduction_cells, 4);
        // (11/13 + 55/78 + 165/286 + 330/715) / 4 per reduction cell.
        let per_cell = (11.0 / 13.0 + 55.0 / 78.0 + 165.0 / 286.0 + 330.0 / 715.0) / 4.0;
        assert!((anchors.random.weak_only_reduction_cells - 4.0 * per_cell).abs() < 1e-12);
        assert!((anchors.random.weak_only_reduction_cells - 2.59).abs() < 0.01);
        assert_eq!(anchors.perfect.weak_only_reduction_cells, 0.0);
        assert_eq!(anchors.perfect.weak_share, 0.0);
        // The first-sub-space selector is weak exactly where the first 5 ops hold no strong.
        let lacking = (0..space.num_cells())
            .filter(|&c| space.cells()[c].geometry.stride > 1)
            .filter(|&c| first.ops(c).iter().all(|&op| op > 1))
            .count();
        assert_eq!(
            anchors.first_subspace_perfect.weak_only_reduction_cells,
            lacking as f64
        );
        // Averaged over many first sub-spaces it approaches 4 · C(11,5)/C(13,5) ≈ 1.44.
        let mean = (0..400)
            .map(|seed| {
                let first = EvolutionState::from_seed(&space, seed).subspace().clone();
                KnownAnswerAnchors::new(&space, &labels, &first)
                    .first_subspace_perfect
                    .weak_only_reduction_cells
            })
            .sum::<f64>()
            / 400.0;
        assert!((mean - 4.0 * 462.0 / 1287.0).abs() < 0.15, "{mean}");

        // Measures: an all-weak and an all-strong architecture.
        let n = space.num_cells();
        let weak = Architecture::new(vec![vec![2, 7]; n]).unwrap();
        let strong = Architecture::new(vec![vec![0]; n]).unwrap();
        let m = KnownAnswerMeasures::of(&space, &labels, std::slice::from_ref(&weak));
        assert_eq!((m.weak_only_reduction_cells, m.weak_share), (4.0, 1.0));
        let m = KnownAnswerMeasures::of(&space, &labels, &[weak, strong]);
        assert_eq!(
            (m.weak_only_reduction_cells, m.weak_share),
            (2.0, 14.0 / 21.0)
        );
        // A strong op in a cell makes it not weak-only.
        let mut mixed = vec![vec![3]; n];
        mixed[1] = vec![1, 3];
        let m = KnownAnswerMeasures::of(&space, &labels, &[Architecture::new(mixed).unwrap()]);
        let reductions = reduction_cells(&space);
        let expected = 4 - usize::from(reductions.contains(&1));
        assert_eq!(m.weak_only_reduction_cells, expected as f64);
    }

    #[test]
    fn labels_are_checked_and_the_costs_bracket() {
        let space = known_answer_space();
        let err = OpLabels::new(&space, &["ir_k7_e6"]).unwrap_err();
        assert!(err.to_string().contains("not in the space's pool"), "{err}");
        assert!(OpLabels::new(&space, &["ir_k3"]).is_err());
        assert!(OpLabels::new(&space, &[] as &[&str]).is_err());
        let labels = OpLabels::new(&space, &["ir_k3_e6", "ir_k5_e3"]).unwrap();
        let costs = CostTable::macs(&space);
        assert!(labels.weak_costs_bracket_strong(&costs));
        // Labelled the other way round (the expensive kernel-1 ops "strong"), no weak op
        // costs more than all of them: the cost would decide.
        let expensive = OpLabels::new(&space, &["ir_k1_e8", "conv_k1_e3", "rec_k1_e3"]).unwrap();
        assert!(!expensive.weak_costs_bracket_strong(&costs));
    }
}
