//! Importance indicators α, branch probabilities, the two-path weights of the indicator step
//! and the differentiable expected cost (docs/method.md §6).

use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use nse_space::SearchSpace;

use crate::error::{Result, SupernetError};

pub use nse_space::sampler::{PROBABILITY_OFFSET, PROBABILITY_SCALE};

/// The importance indicators: one α per (cell, pool op), initialised to 0. A module of its own,
/// apart from the supernet weights, so that the weight optimizer and the indicator optimizer
/// step disjoint parameter sets.
#[derive(Module, Debug)]
pub struct Indicators {
    /// `[cells, pool]` indicator values.
    pub alpha: Param<Tensor<2>>,
}

impl Indicators {
    /// Zero indicators for `cells × pool`.
    pub fn new(cells: usize, pool: usize, device: &Device) -> Self {
        Indicators {
            alpha: Param::from_tensor(Tensor::zeros([cells, pool], device)),
        }
    }

    /// Zero indicators for every cell and op of `space`.
    pub fn for_space(space: &SearchSpace, device: &Device) -> Self {
        Self::new(space.num_cells(), space.pool().len(), device)
    }

    /// Indicators with the given values (`[cells][pool]`).
    pub fn from_values(values: &[Vec<f32>], device: &Device) -> Self {
        let cells = values.len();
        let pool = values.first().map_or(0, Vec::len);
        let flat: Vec<f32> = values.iter().flatten().copied().collect();
        Indicators {
            alpha: Param::from_tensor(Tensor::from_data(
                TensorData::new(flat, [cells, pool]),
                device,
            )),
        }
    }

    /// Branch probabilities `p = sigmoid(α) · 0.999 + 0.0005`, `[cells, pool]`.
    pub fn probabilities(&self) -> Tensor<2> {
        sigmoid(self.alpha.val())
            .mul_scalar(PROBABILITY_SCALE)
            .add_scalar(PROBABILITY_OFFSET)
    }

    /// The indicator values as `[cells][pool]` numbers (for samplers, dropping and logs).
    pub fn values(&self) -> Vec<Vec<f32>> {
        let [cells, pool] = self.alpha.dims();
        let flat: Vec<f32> = self
            .alpha
            .val()
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("indicators are f32 after conversion");
        (0..cells)
            .map(|c| flat[c * pool..(c + 1) * pool].to_vec())
            .collect()
    }
}

pub use nse_space::CellPaths;
pub use nse_space::CostTable;

/// The renormalised joint probabilities of the two paths of every cell, differentiable in α.
#[derive(Debug, Clone)]
pub struct PathWeights {
    /// `q_s = P_s / (P_s + P_u)`, `[cells, 1]` (1 for deterministic cells).
    pub selected: Tensor<2>,
    /// `q_u = P_u / (P_s + P_u)`, `[cells, 1]` (0 for deterministic cells).
    pub unselected: Tensor<2>,
    /// Whether each cell is stochastic (has an unselected path).
    pub stochastic: Vec<bool>,
}

impl PathWeights {
    /// Computes `q_s` and `q_u` for `paths` from the indicators. With
    /// `P = Π_{i ∈ sub-space} p_i^{on} (1 − p_i)^{off}`, `q_s = sigmoid(log P_s − log P_u)`,
    /// which equals `P_s / (P_s + P_u)` and stays finite for any α.
    pub fn new(indicators: &Indicators, paths: &[CellPaths]) -> Result<Self> {
        let [cells, pool] = indicators.alpha.dims();
        if paths.len() != cells {
            return Err(SupernetError::PathCount {
                expected: cells,
                got: paths.len(),
            });
        }
        let mut sub = vec![0f32; cells * pool];
        let mut sel = vec![0f32; cells * pool];
        let mut uns = vec![0f32; cells * pool];
        let mut stochastic = Vec::with_capacity(cells);
        for (c, path) in paths.iter().enumerate() {
            let sets = [
                (&mut sub, path.subspace.as_slice()),
                (&mut sel, path.selected.as_slice()),
                (
                    &mut uns,
                    path.unselected.as_deref().unwrap_or(&path.selected),
                ),
            ];
            for (mask, ops) in sets {
                for &i in ops {
                    if i >= pool {
                        return Err(SupernetError::OpIndex {
                            cell: c,
                            index: i,
                            pool,
                        });
                    }
                    mask[c * pool + i] = 1.0;
                }
            }
            stochastic.push(path.unselected.is_some());
        }
        let device = indicators.alpha.device();
        let mask = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [cells, pool]), &device);
        let (sub, sel, uns) = (mask(sub), mask(sel), mask(uns));
        let p = indicators.probabilities();
        let log_p = p.clone().log();
        let log_q = p.neg().add_scalar(1.0).log();
        let log_joint = |on: Tensor<2>| -> Tensor<2> {
            let off = on.clone().neg().add_scalar(1.0);
            (sub.clone() * (on * log_p.clone() + off * log_q.clone())).sum_dim(1)
        };
        let logit = log_joint(sel) - log_joint(uns);
        let stoch = Tensor::<2>::from_data(
            TensorData::new(
                stochastic
                    .iter()
                    .map(|&s| if s { 1.0f32 } else { 0.0 })
                    .collect(),
                [cells, 1],
            ),
            &device,
        );
        let q_s = sigmoid(logit);
        // Deterministic cells: q_s = 1, q_u = 0 (no gradient).
        let selected = q_s.clone() * stoch.clone() + stoch.clone().neg().add_scalar(1.0);
        let unselected = q_s.neg().add_scalar(1.0) * stoch;
        Ok(PathWeights {
            selected,
            unselected,
            stochastic,
        })
    }

    /// The expected cost `fixed + Σ_cells (q_s · c_s + q_u · c_u)` in the table's unit,
    /// `[1]`, differentiable in α (deterministic cells contribute their selected set's cost).
    pub fn expected_cost(&self, paths: &[CellPaths], costs: &CostTable) -> Tensor<1> {
        let device = self.selected.device();
        let cells = paths.len();
        let c_s: Vec<f32> = paths
            .iter()
            .enumerate()
            .map(|(c, p)| costs.set_cost(c, &p.selected) as f32)
            .collect();
        let c_u: Vec<f32> = paths
            .iter()
            .enumerate()
            .map(|(c, p)| costs.set_cost(c, p.unselected.as_deref().unwrap_or(&[])) as f32)
            .collect();
        let column = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [cells, 1]), &device);
        let per_cell = self.selected.clone() * column(c_s) + self.unselected.clone() * column(c_u);
        per_cell.sum().reshape([1]).add_scalar(costs.fixed)
    }
}

/// The resource penalty `a · |cost − target|^b` (the reference's `a · (cost − target)^b` for
/// its `b = 2`), `[1]`.
pub fn resource_penalty(expected_cost: Tensor<1>, target: f64, a: f64, b: f64) -> Tensor<1> {
    expected_cost
        .sub_scalar(target)
        .abs()
        .powf_scalar(b)
        .mul_scalar(a)
}
