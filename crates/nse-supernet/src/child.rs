//! Standalone (child) networks: only the chosen ops, empty cells removed (docs/method.md §3, §5).

use burn::module::{Module, RunningState};
use burn::tensor::{Device, Tensor};
use nse_modules::CandidateOp;
use nse_modules::CandidateOpConfig;
use nse_space::{Architecture, NetworkSpec, SearchSpace};

use crate::cell::cell_output;
use crate::error::{Result, SupernetError};
use crate::stem_tail::{Stem, StemConfig, Tail, TailConfig};
use crate::supernet::{Component, Supernet, component_rng};

/// Gives a batch norm running statistics of its own (a clone shares them).
fn own_statistics(bn: &mut burn::nn::BatchNorm) {
    bn.running_mean = RunningState::new(bn.running_mean.value_sync());
    bn.running_var = RunningState::new(bn.running_var.value_sync());
}

/// One cell of a child network: its branches and whether it adds its input.
#[derive(Module, Debug)]
pub struct ChildCell {
    /// The branches (at least one).
    pub ops: Vec<CandidateOp>,
    /// Residual cells compute `(x + Σ op(x)) / (|S| + 1)`, others `Σ op(x) / |S|`.
    pub residual: bool,
}

impl ChildCell {
    /// Forward pass.
    ///
    /// # Shapes
    /// - `x`: `[batch, cin, h, w]`
    /// - output: `[batch, cout, ceil(h / stride), ceil(w / stride)]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        cell_output(x, &self.ops, self.residual)
    }
}

/// A standalone network: stem, the non-empty cells of an architecture, tail.
#[derive(Module, Debug)]
pub struct ChildNetwork {
    /// Stem.
    pub stem: Stem,
    /// Cells in order.
    pub cells: Vec<ChildCell>,
    /// Tail.
    pub tail: Tail,
    /// Expected input channels.
    pub input_channels: usize,
    /// Expected input height and width.
    pub input_size: usize,
}

impl ChildNetwork {
    /// Builds the child network of `network` with fresh weights (Kaiming-normal fan_out convs,
    /// unit batch norms), reproducible for `seed`: empty residual cells are dropped.
    pub fn new(network: &NetworkSpec, device: &Device, seed: u64) -> Result<Self> {
        let (space, arch) = network.resolve()?;
        Self::from_space(&space, &arch, device, seed)
    }

    /// Builds the network of `arch` in `space` with fresh weights reproducible for `seed`
    /// (op `i` of cell `c` draws from [`component_rng`]`(seed, Op(c, i))`, as in the
    /// supernet); empty cells are skipped.
    pub fn from_space(
        space: &SearchSpace,
        arch: &Architecture,
        device: &Device,
        seed: u64,
    ) -> Result<Self> {
        space.check_architecture(arch)?;
        let spec = space.spec();
        let stem = StemConfig::new(spec.input_channels, space.widths()[0])
            .with_stride(spec.stem_stride)
            .init_with(device, &mut component_rng(seed, Component::Stem));
        let mut cells = Vec::new();
        for (cell, ops) in space.cells().iter().zip(arch.cells()) {
            if ops.is_empty() {
                continue;
            }
            let g = cell.geometry;
            let ops = ops
                .iter()
                .map(|&i| {
                    CandidateOpConfig::new(*space.pool().op(i)?, [g.cin, g.cout])
                        .with_stride(g.stride)
                        .init_with(
                            device,
                            &mut component_rng(seed, Component::Op(cell.index, i)),
                        )
                })
                .collect::<nse_modules::Result<Vec<_>>>()?;
            cells.push(ChildCell {
                ops,
                residual: cell.is_residual(),
            });
        }
        let tail = TailConfig::new(space.final_width(), spec.tail_channels, spec.num_classes)
            .init_with(device, &mut component_rng(seed, Component::Tail));
        Ok(ChildNetwork {
            stem,
            cells,
            tail,
            input_channels: spec.input_channels,
            input_size: spec.input_size,
        })
    }

    /// The child network of `arch` with the supernet's weights: the stem, the chosen ops of
    /// every non-empty cell and the tail are copied from `supernet` (batch-norm statistics
    /// included, as independent copies: running the child does not move the supernet's).
    /// In eval mode, `child.forward(x)` equals `supernet.forward(x, arch)`. A supernet with
    /// shadow batch norms is refused ([`SupernetError::ShadowBatchNorm`]).
    pub fn inherit(supernet: &Supernet, space: &SearchSpace, arch: &Architecture) -> Result<Self> {
        if supernet.has_shadow_batch_norm() {
            return Err(SupernetError::ShadowBatchNorm);
        }
        space.check_architecture(arch)?;
        supernet.check_sets(arch.cells())?;
        let spec = space.spec();
        let mut stem = supernet.stem.clone();
        own_statistics(&mut stem.conv.bn);
        let mut cells = Vec::new();
        for ((cell, set), source) in space.cells().iter().zip(arch.cells()).zip(&supernet.cells) {
            if set.is_empty() {
                continue;
            }
            let ops = set
                .iter()
                .map(|&i| {
                    let mut op = source.ops[i].clone();
                    for bn in op.batch_norms_mut() {
                        own_statistics(bn);
                    }
                    op
                })
                .collect();
            cells.push(ChildCell {
                ops,
                residual: cell.is_residual(),
            });
        }
        Ok(ChildNetwork {
            stem,
            cells,
            tail: supernet.tail.clone(),
            input_channels: spec.input_channels,
            input_size: spec.input_size,
        })
    }

    /// Folds pending batch-norm statistic updates into their values; call before saving or
    /// reading statistics (done by [`ChildNetwork::save`]).
    pub fn sync_statistics(&self) {
        nse_modules::sync_batch_norm(&self.stem.conv.bn);
        for cell in &self.cells {
            for op in &cell.ops {
                op.sync_statistics();
            }
        }
    }

    /// Drops the running-statistics update the last train-mode forward queued in every batch
    /// norm, keeping the statistics as before it: for a batch whose loss turned out NaN
    /// ([`nse_modules::discard_batch_norm_update`]).
    pub fn discard_statistics_update(&mut self) {
        for bn in self.batch_norms_mut() {
            nse_modules::discard_batch_norm_update(bn);
        }
    }

    /// Every batch norm: the stem's, then each op's, cell by cell.
    pub fn batch_norms_mut(&mut self) -> Vec<&mut burn::nn::BatchNorm> {
        let mut bns = vec![&mut self.stem.conv.bn];
        for cell in &mut self.cells {
            for op in &mut cell.ops {
                bns.extend(op.batch_norms_mut());
            }
        }
        bns
    }

    /// Forward pass, checking the input shape.
    ///
    /// # Shapes
    /// - `x`: `[batch, input_channels, input_size, input_size]`
    /// - output: `[batch, num_classes]` (logits)
    pub fn try_forward(&self, x: Tensor<4>) -> Result<Tensor<2>> {
        let dims = x.dims();
        if dims[1] != self.input_channels
            || dims[2] != self.input_size
            || dims[3] != self.input_size
        {
            return Err(SupernetError::InputShape {
                got: dims,
                channels: self.input_channels,
                size: self.input_size,
            });
        }
        Ok(self.forward(x))
    }

    /// Forward pass (any spatial size the convs accept).
    ///
    /// # Shapes
    /// - `x`: `[batch, input_channels, h, w]`
    /// - output: `[batch, num_classes]` (logits)
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut y = self.stem.forward(x);
        for cell in &self.cells {
            y = cell.forward(y);
        }
        self.tail.forward(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;
    use nse_modules::learnable_params;
    use nse_space::SpaceSpec;

    fn max_abs_diff(a: Tensor<4>, b: Tensor<4>) -> f32 {
        (a - b).abs().max().into_scalar()
    }

    #[test]
    fn residual_cell_averages_the_identity_in() {
        let device = Device::flex();
        let spec = "ir_k3_e3".parse().unwrap();
        let op = CandidateOpConfig::new(spec, [8, 8]).init(&device).unwrap();
        let x = Tensor::<4>::random([2, 8, 5, 5], Distribution::Normal(0.0, 1.0), &device);
        let expected = (x.clone() + op.forward(x.clone())).div_scalar(2.0);
        let cell = ChildCell {
            ops: vec![op],
            residual: true,
        };
        assert!(max_abs_diff(cell.forward(x), expected) < 1e-6);
    }

    #[test]
    fn multi_branch_cell_averages_its_branches() {
        let device = Device::flex();
        let a = CandidateOpConfig::new("ir_k3_e1".parse().unwrap(), [8, 16])
            .with_stride(2)
            .init(&device)
            .unwrap();
        let b = CandidateOpConfig::new("rec_k5_e2".parse().unwrap(), [8, 16])
            .with_stride(2)
            .init(&device)
            .unwrap();
        let x = Tensor::<4>::random([2, 8, 7, 7], Distribution::Normal(0.0, 1.0), &device);
        let expected = (a.forward(x.clone()) + b.forward(x.clone())).div_scalar(2.0);
        let cell = ChildCell {
            ops: vec![a, b],
            residual: false,
        };
        let y = cell.forward(x);
        assert_eq!(y.dims(), [2, 16, 4, 4]);
        assert!(max_abs_diff(y, expected) < 1e-6);
    }

    #[test]
    fn empty_cells_are_dropped_and_parameters_match_the_cost_model() {
        let device = Device::flex();
        let space = SpaceSpec::preset("cifar10-mb27").unwrap().check().unwrap();
        // Cells: N R N R N R N E N R N E; the N cells (0, 2, 4, ...) are residual.
        let mut cells: Vec<Vec<usize>> = vec![vec![3]; space.num_cells()];
        cells[0] = vec![];
        cells[2] = vec![];
        cells[1] = vec![0, 26];
        let arch = Architecture::new(cells).unwrap();
        let net = ChildNetwork::from_space(&space, &arch, &device, 0).unwrap();
        assert_eq!(net.cells.len(), space.num_cells() - 2);
        assert_eq!(net.cells[0].ops.len(), 2);
        let cost = space.architecture_cost(&arch).unwrap();
        assert_eq!(learnable_params(&net), cost.total.params);
        let x = Tensor::<4>::random([3, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
        assert_eq!(net.try_forward(x).unwrap().dims(), [3, 10]);
        let bad = Tensor::<4>::zeros([1, 1, 32, 32], &device);
        assert!(matches!(
            net.try_forward(bad),
            Err(SupernetError::InputShape {
                channels: 3,
                size: 32,
                ..
            })
        ));
    }
}
