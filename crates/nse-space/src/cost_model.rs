//! One cost interface for the whole search: what an architecture costs, per (cell, op) plus a
//! fixed part, in a unit carried with the model.
//!
//! The search uses a [`CostModel`] wherever it needs a cost — the indicator penalty's
//! expected cost, the resource window, Pareto fronts, reports — through the
//! [`CostTable`] it computes once per space. Built in: MACs and parameters
//! ([`CountCost`], in millions) and latency from a lookup table ([`LatencyCost`], in the
//! table's unit). Research code implements the trait for its own cost (an energy model, a
//! predictor) without touching the crates:
//!
//! ```
//! use nse_space::{CostModel, CostTable, SearchSpace, SpaceSpec};
//!
//! /// Counts branches: every op costs 1, the stem and tail nothing.
//! #[derive(Debug)]
//! struct Branches;
//!
//! impl CostModel for Branches {
//!     fn name(&self) -> String { "branches".into() }
//!     fn unit(&self) -> String { "branches".into() }
//!     fn op_cost(&self, _: &SearchSpace, _: usize, _: usize) -> nse_space::Result<f64> { Ok(1.0) }
//!     fn fixed_cost(&self, _: &SearchSpace) -> nse_space::Result<f64> { Ok(0.0) }
//! }
//!
//! let space = SpaceSpec::preset("fashion-mnist-mb27").unwrap().check().unwrap();
//! let table = CostTable::new(&space, &Branches).unwrap();
//! assert_eq!(table.architecture_cost(&[vec![0, 1], vec![2]]), 3.0);
//! ```
//!
//! Costs must add up over a cell's branches and never be negative: the window check and the
//! indicator penalty rely on it.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use nse_ops::CostMetric;
use nse_ops::latency::LatencyTable;

use crate::error::{Result, SpaceError};
use crate::latency::LatencyRules;
use crate::space::SearchSpace;

/// What an architecture of a space costs: per (cell, op), plus a fixed part every
/// architecture pays, in [`unit`](Self::unit). A cell's cost is the sum of its ops' costs.
pub trait CostModel: fmt::Debug + Send + Sync {
    /// A short name (`macs`, `params`, `latency`).
    fn name(&self) -> String;
    /// The unit of the costs (`MMACs`, `Mparams`, `ms`).
    fn unit(&self) -> String;
    /// The cost of op `op` of the pool in cell `cell` of `space`.
    fn op_cost(&self, space: &SearchSpace, cell: usize, op: usize) -> Result<f64>;
    /// The part every architecture of `space` pays (stem, tail).
    fn fixed_cost(&self, space: &SearchSpace) -> Result<f64>;
}

/// MACs or parameters, in millions (the cost model of docs/method.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountCost(pub CostMetric);

impl CostModel for CountCost {
    fn name(&self) -> String {
        match self.0 {
            CostMetric::Macs => "macs",
            CostMetric::Params => "params",
        }
        .into()
    }

    fn unit(&self) -> String {
        match self.0 {
            CostMetric::Macs => "MMACs",
            CostMetric::Params => "Mparams",
        }
        .into()
    }

    fn op_cost(&self, space: &SearchSpace, cell: usize, op: usize) -> Result<f64> {
        Ok(space.op_cost(cell, op)?.get(self.0) / 1e6)
    }

    fn fixed_cost(&self, space: &SearchSpace) -> Result<f64> {
        Ok(space.fixed_cost().get(self.0) / 1e6)
    }
}

/// Latency from a lookup table, summed as [`SearchSpace::architecture_latency`] sums it.
///
/// The adds that merge `b` branches of a non-residual cell (`b − 1` of them, with
/// [`LatencyRules::merge_adds`]) are not a per-op cost; since such a cell always has at least
/// one branch, each of its ops carries one add and the fixed part gives one back per
/// non-residual cell, which is exact for every valid architecture.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyCost {
    /// The table.
    pub table: LatencyTable,
    /// How a network is summed.
    pub rules: LatencyRules,
}

impl LatencyCost {
    /// The merge add of cell `cell` (0 when the rules or the cell have none).
    fn merge_add(&self, space: &SearchSpace, cell: usize) -> Result<f64> {
        space.merge_latency(&self.table, &self.rules, cell, 2)
    }
}

impl CostModel for LatencyCost {
    fn name(&self) -> String {
        "latency".into()
    }

    fn unit(&self) -> String {
        self.table.unit.clone()
    }

    fn op_cost(&self, space: &SearchSpace, cell: usize, op: usize) -> Result<f64> {
        Ok(space.op_latency(&self.table, cell, op)? + self.merge_add(space, cell)?)
    }

    fn fixed_cost(&self, space: &SearchSpace) -> Result<f64> {
        let [stem, tail] = space.fixed_latency(&self.table, &self.rules)?;
        let merges = (0..space.num_cells())
            .map(|cell| self.merge_add(space, cell))
            .sum::<Result<f64>>()?;
        Ok(stem + tail - merges)
    }
}

/// The built-in cost models as configuration data (serde: `"macs"`, `"params"`,
/// `"latency"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostKind {
    /// Multiply-accumulates, millions.
    #[default]
    Macs,
    /// Parameters, millions.
    Params,
    /// Latency from a lookup table, in its unit.
    Latency,
}

impl CostKind {
    /// The model of this kind; latency reads `table` (the reference's CSV or our JSON).
    pub fn model(
        self,
        table: Option<&std::path::Path>,
        rules: LatencyRules,
    ) -> Result<Box<dyn CostModel>> {
        Ok(match self {
            CostKind::Macs => Box::new(CountCost(CostMetric::Macs)),
            CostKind::Params => Box::new(CountCost(CostMetric::Params)),
            CostKind::Latency => {
                let path: PathBuf = table
                    .ok_or_else(|| SpaceError::InvalidSpec {
                        field: "latency_table",
                        reason: "the latency metric needs a latency table file".into(),
                    })?
                    .to_path_buf();
                Box::new(LatencyCost {
                    table: LatencyTable::read(&path)?,
                    rules,
                })
            }
        })
    }
}

/// A cost model evaluated on one space: `[cell][op]` costs and the fixed part, in `unit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostTable {
    /// The model's name.
    pub name: String,
    /// Unit of every cost.
    pub unit: String,
    /// What every architecture pays.
    pub fixed: f64,
    /// `[cell][op]` cost.
    pub ops: Vec<Vec<f64>>,
}

impl CostTable {
    /// Evaluates `model` for every (cell, op) of `space`; an error (a missing latency key,
    /// a negative or non-finite cost) names the cell and op.
    pub fn new(space: &SearchSpace, model: &dyn CostModel) -> Result<Self> {
        let check = |what: String, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(SpaceError::InvalidSpec {
                    field: "cost model",
                    reason: format!("{} gives {what} the cost {v}", model.name()),
                })
            }
        };
        let ops = (0..space.num_cells())
            .map(|cell| {
                (0..space.pool().len())
                    .map(|op| {
                        let v = model.op_cost(space, cell, op).map_err(|e| {
                            SpaceError::InvalidSpec {
                                field: "cost model",
                                reason: format!(
                                    "cell {cell}, op {op} (`{}`): {e}",
                                    space.pool().ops()[op]
                                ),
                            }
                        })?;
                        check(format!("cell {cell}, op {op}"), v)
                    })
                    .collect::<Result<Vec<f64>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        // The fixed part may be negative by itself (merge adds given back), not the cheapest
        // architecture; `reachable_range` reports the sum.
        let fixed = model.fixed_cost(space)?;
        if !fixed.is_finite() {
            check("the fixed part".into(), fixed)?;
        }
        Ok(CostTable {
            name: model.name(),
            unit: model.unit(),
            fixed,
            ops,
        })
    }

    /// MACs in millions: the default table.
    pub fn macs(space: &SearchSpace) -> Self {
        Self::new(space, &CountCost(CostMetric::Macs)).expect("MAC counts are always defined")
    }

    /// The cost range of `space`'s architectures with at most `branches` ops per cell:
    /// `(cheapest, dearest)`, fixed part included. The cheapest takes each non-residual cell's
    /// cheapest op and skips residual cells; the dearest takes each cell's `branches` most
    /// expensive ops of the whole pool. It depends on the space and the costs only (not on a
    /// sub-space or a seed), so a target given as a fraction of it
    /// (`resource.relative` in the search config) means the same on every machine's table.
    pub fn range(&self, space: &SearchSpace, branches: usize) -> (f64, f64) {
        let (mut cheapest, mut dearest) = (self.fixed, self.fixed);
        for (cell, row) in space.cells().iter().zip(&self.ops) {
            let mut row = row.clone();
            row.sort_by(|a, b| b.total_cmp(a));
            if !cell.is_residual() {
                cheapest += row.last().copied().unwrap_or(0.0);
            }
            dearest += row.iter().take(branches).sum::<f64>();
        }
        (cheapest, dearest)
    }

    /// Cost of running `ops` in `cell`.
    pub fn set_cost(&self, cell: usize, ops: &[usize]) -> f64 {
        ops.iter().map(|&i| self.ops[cell][i]).sum()
    }

    /// Cost of a whole architecture (per-cell op sets), fixed part included.
    pub fn architecture_cost(&self, cells: &[Vec<usize>]) -> f64 {
        self.fixed
            + cells
                .iter()
                .enumerate()
                .map(|(c, ops)| self.set_cost(c, ops))
                .sum::<f64>()
    }
}

#[cfg(test)]
mod range_tests {
    use super::*;
    use crate::SpaceSpec;
    use rand::{Rng, SeedableRng};

    #[test]
    fn the_range_holds_every_architecture_and_its_ends_are_architectures() {
        let space = SpaceSpec::preset("fashion-mnist-mb27")
            .unwrap()
            .check()
            .unwrap();
        let costs = CostTable::macs(&space);
        let k = 3;
        let (cheapest, dearest) = costs.range(&space, k);
        assert!(cheapest < dearest);
        // The ends, built independently: the cheapest op of each non-residual cell (residual
        // cells empty); the k dearest ops of every cell.
        let by_cost = |cell: usize| {
            let mut ops: Vec<usize> = (0..space.pool().len()).collect();
            ops.sort_by(|&a, &b| costs.ops[cell][b].total_cmp(&costs.ops[cell][a]));
            ops
        };
        let sparse: Vec<Vec<usize>> = (0..space.num_cells())
            .map(|c| match space.cells()[c].is_residual() {
                true => vec![],
                false => vec![*by_cost(c).last().unwrap()],
            })
            .collect();
        let dense: Vec<Vec<usize>> = (0..space.num_cells())
            .map(|c| by_cost(c)[..k].to_vec())
            .collect();
        assert!((costs.architecture_cost(&sparse) - cheapest).abs() < 1e-9);
        assert!((costs.architecture_cost(&dense) - dearest).abs() < 1e-9);
        // Random architectures of at most k ops per cell lie inside.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..500 {
            let cells: Vec<Vec<usize>> = (0..space.num_cells())
                .map(|c| {
                    let low = usize::from(!space.cells()[c].is_residual());
                    let n = rng.random_range(low..=k);
                    let mut ops: Vec<usize> = (0..space.pool().len()).collect();
                    for i in 0..n {
                        let j = rng.random_range(i..ops.len());
                        ops.swap(i, j);
                    }
                    ops.truncate(n);
                    ops
                })
                .collect();
            let cost = costs.architecture_cost(&cells);
            assert!(cheapest - 1e-9 <= cost && cost <= dearest + 1e-9, "{cost}");
        }
    }
}
