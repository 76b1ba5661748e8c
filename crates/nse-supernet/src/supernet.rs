//! The weight-sharing multi-branch supernet (docs/method.md §3, §6).

use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::tensor::{Device, Tensor};
use nse_modules::kernels::elementwise;
use nse_modules::{CandidateOp, CandidateOpConfig};
use nse_space::SearchSpace;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::cell::cell_output;
use crate::error::{Result, SupernetError};
use crate::indicators::{CellPaths, CostTable, Indicators, PathWeights};
use crate::stem_tail::{Stem, StemConfig, Tail, TailConfig};

/// A part of a network that draws its initial weights from its own RNG stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// The stem.
    Stem,
    /// Op `.1` of the pool in cell `.0`.
    Op(usize, usize),
    /// The tail.
    Tail,
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The RNG a component initialises from for `seed`: the same op in the same cell gets the
/// same weights in a supernet and in a freshly initialised child network.
pub fn component_rng(seed: u64, component: Component) -> ChaCha8Rng {
    let tag = match component {
        Component::Stem => 1,
        Component::Tail => 2,
        Component::Op(cell, op) => 3 + ((cell as u64) << 20) + op as u64,
    };
    ChaCha8Rng::seed_from_u64(splitmix64(seed ^ splitmix64(tag)))
}

/// Options of a [`Supernet`] beyond the method (docs/method.md §3 is the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SupernetOptions {
    /// **\[ours\]** MixPath's shadow batch norm: every cell normalises the mean of its `m`
    /// branches with a batch norm of its own for each branch count `m`, so that paths with
    /// different numbers of branches share no normalisation statistics or scale
    /// ([`SupernetCell::forward`]). Off by default (the method's cells have none); a
    /// supernet-only device: child networks have no such layer, and
    /// [`ChildNetwork::inherit`](crate::ChildNetwork::inherit) refuses such a supernet.
    pub shadow_batch_norm: bool,
}

/// One cell of the supernet: every pool op (one copy of each op's weights).
#[derive(Module, Debug)]
pub struct SupernetCell {
    /// The pool's ops in encoding order.
    pub ops: Vec<CandidateOp>,
    /// Residual cells compute `(x + Σ_S op(x)) / (|S| + 1)` and may be empty.
    pub residual: bool,
    /// Shadow batch norms, entry `m − 1` for `m` branches (empty: none, the method's cell;
    /// see [`SupernetOptions::shadow_batch_norm`]).
    pub shadow: Vec<BatchNorm>,
}

impl SupernetCell {
    /// Runs the branch set `set` (only those ops are executed).
    ///
    /// Residual: `(x + Σ_{p∈S} op_p(x)) / (|S| + 1)` (the identity when `S` is empty);
    /// otherwise `Σ_{p∈S} op_p(x) / |S|`. The caller guarantees valid, non-empty-when-needed
    /// sets.
    ///
    /// With shadow batch norms, the mean of the `m = |S|` branches goes through the cell's
    /// batch norm for `m` first: `z = BN_m(Σ op_p(x) / m)`, then residual `(x + m·z) / (m + 1)`,
    /// otherwise `z`.
    ///
    /// # Shapes
    /// - `x`: `[batch, cin, h, w]`
    /// - output: `[batch, cout, ceil(h / stride), ceil(w / stride)]`
    pub fn forward(&self, x: Tensor<4>, set: &[usize]) -> Tensor<4> {
        if self.shadow.is_empty() || set.is_empty() {
            return cell_output(x, set.iter().map(|&i| &self.ops[i]), self.residual);
        }
        let m = set.len();
        let mean = cell_output(x.clone(), set.iter().map(|&i| &self.ops[i]), false);
        let z = self.shadow[m - 1].forward(mean);
        if self.residual {
            let scale = m as f64;
            elementwise([x, z], |[x, z]| {
                (x + z.mul_scalar(scale)).div_scalar(scale + 1.0)
            })
        } else {
            z
        }
    }

    /// The shadow batch norm that branch set `set` runs through, if any.
    pub fn shadow_for(&self, set: &[usize]) -> Option<&BatchNorm> {
        set.len().checked_sub(1).and_then(|m| self.shadow.get(m))
    }

    /// [`shadow_for`](Self::shadow_for), mutable.
    pub fn shadow_for_mut(&mut self, set: &[usize]) -> Option<&mut BatchNorm> {
        set.len()
            .checked_sub(1)
            .and_then(|m| self.shadow.get_mut(m))
    }
}

/// The supernet: stem, one [`SupernetCell`] per layout position holding every pool op, tail.
///
/// Build it on `device.autodiff()` to train it; evaluate in eval mode with
/// [`Module::valid`].
#[derive(Module, Debug)]
pub struct Supernet {
    /// Stem.
    pub stem: Stem,
    /// Cells in order.
    pub cells: Vec<SupernetCell>,
    /// Tail.
    pub tail: Tail,
}

/// Output of an indicator-step forward.
#[derive(Debug, Clone)]
pub struct IndicatorOutput {
    /// `[batch, classes]` logits; their value is that of the selected architecture.
    pub logits: Tensor<2>,
    /// Expected cost in the cost table's unit, `[1]`, differentiable in α.
    pub expected_cost: Tensor<1>,
}

impl Supernet {
    /// A freshly initialised supernet for `space` (Kaiming-normal fan_out convs, unit BNs),
    /// bit-reproducible for a `seed`: each op draws from its own stream
    /// ([`component_rng`]`(seed, cell, op)`), so the weights of an op do not depend on the
    /// pool around it. Calling it again with a new seed is the re-initialisation of a new
    /// round (docs/method.md §7.6).
    pub fn new(space: &SearchSpace, device: &Device, seed: u64) -> Result<Self> {
        Self::with_options(space, device, seed, SupernetOptions::default())
    }

    /// [`new`](Self::new) with `options`: the same weights for the same seed, plus what the
    /// options add (shadow batch norms start as unit batch norms, one per possible branch
    /// count of a cell: up to the space's `max_branches`, else the pool size).
    pub fn with_options(
        space: &SearchSpace,
        device: &Device,
        seed: u64,
        options: SupernetOptions,
    ) -> Result<Self> {
        let spec = space.spec();
        let counts = spec
            .max_branches
            .unwrap_or(space.pool().len())
            .min(space.pool().len());
        let stem = StemConfig::new(spec.input_channels, space.widths()[0])
            .with_stride(spec.stem_stride)
            .init_with(device, &mut component_rng(seed, Component::Stem));
        let cells = space
            .cells()
            .iter()
            .map(|cell| {
                let g = cell.geometry;
                let ops = space
                    .pool()
                    .ops()
                    .iter()
                    .enumerate()
                    .map(|(i, op)| {
                        CandidateOpConfig::new(*op, [g.cin, g.cout])
                            .with_stride(g.stride)
                            .init_with(
                                device,
                                &mut component_rng(seed, Component::Op(cell.index, i)),
                            )
                    })
                    .collect::<nse_modules::Result<Vec<_>>>()?;
                let shadow = if options.shadow_batch_norm {
                    (0..counts)
                        .map(|_| BatchNormConfig::new(g.cout).init(device))
                        .collect()
                } else {
                    Vec::new()
                };
                Ok(SupernetCell {
                    ops,
                    residual: cell.is_residual(),
                    shadow,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let tail = TailConfig::new(space.final_width(), spec.tail_channels, spec.num_classes)
            .init_with(device, &mut component_rng(seed, Component::Tail));
        Ok(Supernet { stem, cells, tail })
    }

    /// Folds pending batch-norm statistic updates into their values; call before saving or
    /// reading statistics (done by [`SupernetState::save`](crate::SupernetState::save)).
    pub fn sync_statistics(&self) {
        nse_modules::sync_batch_norm(&self.stem.conv.bn);
        for cell in &self.cells {
            for op in &cell.ops {
                op.sync_statistics();
            }
            for bn in &cell.shadow {
                nse_modules::sync_batch_norm(bn);
            }
        }
    }

    /// Whether the cells have shadow batch norms ([`SupernetOptions::shadow_batch_norm`]).
    pub fn has_shadow_batch_norm(&self) -> bool {
        self.cells.iter().any(|c| !c.shadow.is_empty())
    }

    /// Number of cells.
    pub fn num_cells(&self) -> usize {
        self.cells.len()
    }

    /// Checks that `arch` fits the supernet: cell count, op indices, non-empty non-residual
    /// cells.
    pub fn check_sets(&self, arch: &[Vec<usize>]) -> Result<()> {
        if arch.len() != self.cells.len() {
            return Err(SupernetError::CellCount {
                expected: self.cells.len(),
                got: arch.len(),
            });
        }
        for (c, (cell, set)) in self.cells.iter().zip(arch).enumerate() {
            if set.is_empty() && !cell.residual {
                return Err(SupernetError::EmptyCell { cell: c });
            }
            if let Some(&index) = set.iter().find(|&&i| i >= cell.ops.len()) {
                return Err(SupernetError::OpIndex {
                    cell: c,
                    index,
                    pool: cell.ops.len(),
                });
            }
        }
        Ok(())
    }

    /// Runs exactly the branch sets of `arch` (per cell, sorted pool indices).
    ///
    /// # Shapes
    /// - `x`: `[batch, input_channels, input_size, input_size]`
    /// - output: `[batch, classes]` logits
    pub fn forward(&self, x: Tensor<4>, arch: &[Vec<usize>]) -> Result<Tensor<2>> {
        self.check_sets(arch)?;
        let mut y = self.stem.forward(x);
        for (cell, set) in self.cells.iter().zip(arch) {
            y = cell.forward(y, set);
        }
        Ok(self.tail.forward(y))
    }

    /// Indicator-step forward with the two-path estimator (docs/method.md §6): each stochastic
    /// cell outputs `y_s · (q_s + 1 − sg(q_s)) + sg(y_u) · (q_u − sg(q_u))`, where `y_u` is
    /// computed on a detached input and detached, so the forward value equals that of the
    /// selected architecture while α receives gradient through both `q`s. Also returns the
    /// differentiable expected cost.
    pub fn forward_indicator(
        &self,
        x: Tensor<4>,
        paths: &[CellPaths],
        indicators: &Indicators,
        costs: &CostTable,
    ) -> Result<IndicatorOutput> {
        let selected: Vec<Vec<usize>> = paths.iter().map(|p| p.selected.clone()).collect();
        self.check_sets(&selected)?;
        let unselected: Vec<Vec<usize>> = paths
            .iter()
            .map(|p| p.unselected.clone().unwrap_or_default())
            .collect();
        for (c, (path, set)) in paths.iter().zip(&unselected).enumerate() {
            if path.unselected.is_some() && set.is_empty() && !self.cells[c].residual {
                return Err(SupernetError::EmptyCell { cell: c });
            }
        }
        let weights = PathWeights::new(indicators, paths)?;
        let mut y = self.stem.forward(x);
        for (c, cell) in self.cells.iter().enumerate() {
            if !weights.stochastic[c] {
                y = cell.forward(y, &selected[c]);
                continue;
            }
            // The other path carries no gradient. (Running it on `cell.clone().no_grad()` would
            // spare autodiff its graph, but `no_grad` on a clone also flips the original's
            // still-lazy parameters, see `crate::training::indicator_step`.)
            let y_u = cell.forward(y.clone().detach(), &unselected[c]).detach();
            let y_s = cell.forward(y, &selected[c]);
            let q_s = weights
                .selected
                .clone()
                .slice([c..c + 1, 0..1])
                .reshape([1, 1, 1, 1]);
            let q_u = weights
                .unselected
                .clone()
                .slice([c..c + 1, 0..1])
                .reshape([1, 1, 1, 1]);
            let w_s = q_s.clone() - q_s.detach() + 1.0;
            let w_u = q_u.clone() - q_u.detach();
            y = elementwise([y_s, w_s, y_u, w_u], |[y_s, w_s, y_u, w_u]| {
                y_s * w_s + y_u * w_u
            });
        }
        let logits = self.tail.forward(y);
        let expected_cost = weights.expected_cost(paths, costs);
        Ok(IndicatorOutput {
            logits,
            expected_cost,
        })
    }
}
