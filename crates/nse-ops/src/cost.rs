//! The cost model: multiply-accumulates, parameters and output size of an op in place.
//!
//! Convention (docs/method.md §5, the paper's "FLOPs"): a conv costs
//! `out_h * out_w * out_c * (in_c / groups) * kh * kw` MACs, a linear layer `in * out`,
//! global pooling its output size; batch norm, activations, biases and the SE scaling cost
//! nothing. Parameters are every learnable scalar: conv weights, conv biases (SE only), and
//! the batch-norm weight and bias (running statistics are buffers, not parameters), as
//! PyTorch's `sum(p.numel() for p in model.parameters())` counts them.

use std::iter::Sum;
use std::ops::{Add, AddAssign};

use serde::{Deserialize, Serialize};

use crate::error::{OpsError, Result};
use crate::spec::{OpFamily, OpSpec};

/// Cost of a part of a network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    /// Multiply-accumulates of one forward pass on one image.
    pub macs: u64,
    /// Learnable parameters.
    pub params: u64,
}

impl Cost {
    /// MACs in millions.
    pub fn mmacs(&self) -> f64 {
        self.macs as f64 / 1e6
    }

    /// Parameters in millions.
    pub fn mparams(&self) -> f64 {
        self.params as f64 / 1e6
    }

    /// The value of one metric.
    pub fn get(&self, metric: CostMetric) -> f64 {
        match metric {
            CostMetric::Macs => self.macs as f64,
            CostMetric::Params => self.params as f64,
        }
    }
}

impl Add for Cost {
    type Output = Cost;
    fn add(self, rhs: Cost) -> Cost {
        Cost {
            macs: self.macs + rhs.macs,
            params: self.params + rhs.params,
        }
    }
}

impl AddAssign for Cost {
    fn add_assign(&mut self, rhs: Cost) {
        *self = *self + rhs;
    }
}

impl Sum for Cost {
    fn sum<I: Iterator<Item = Cost>>(iter: I) -> Cost {
        iter.fold(Cost::default(), Add::add)
    }
}

/// Which cost a resource constraint is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostMetric {
    /// Multiply-accumulates.
    #[default]
    Macs,
    /// Parameters.
    Params,
}

/// Where an op sits in a network: its channels, stride and input feature-map size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OpGeometry {
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Stride (1 keeps the size, 2 halves it, rounding up).
    pub stride: usize,
    /// Input `[height, width]`.
    pub input: [usize; 2],
}

impl OpGeometry {
    /// A geometry with a square input.
    pub fn new(cin: usize, cout: usize, stride: usize, size: usize) -> Self {
        OpGeometry {
            cin,
            cout,
            stride,
            input: [size, size],
        }
    }

    /// Output `[height, width]`: `(size − 1 + stride) / stride` per axis.
    pub fn output(&self) -> [usize; 2] {
        self.input.map(|s| out_size(s, self.stride))
    }
}

/// Spatial size after a layer of stride `stride` with "same" padding: `(size − 1 + stride) / stride`.
pub fn out_size(size: usize, stride: usize) -> usize {
    size.div_ceil(stride)
}

/// Cost of one conv producing an `out` map of `cout` channels.
pub fn conv_cost(
    cin: usize,
    cout: usize,
    kernel: [usize; 2],
    groups: usize,
    out: [usize; 2],
    bias: bool,
) -> Cost {
    let weights = (cout * (cin / groups) * kernel[0] * kernel[1]) as u64;
    Cost {
        macs: (out[0] * out[1]) as u64 * weights,
        params: weights + if bias { cout as u64 } else { 0 },
    }
}

/// Cost of a batch norm over `channels` (parameters only).
pub fn bn_cost(channels: usize) -> Cost {
    Cost {
        macs: 0,
        params: 2 * channels as u64,
    }
}

/// Cost of a fully connected layer.
pub fn linear_cost(inputs: usize, outputs: usize, bias: bool) -> Cost {
    Cost {
        macs: (inputs * outputs) as u64,
        params: (inputs * outputs + if bias { outputs } else { 0 }) as u64,
    }
}

/// Cost of global average pooling of `channels` maps: its output size.
pub fn global_pool_cost(channels: usize) -> Cost {
    Cost {
        macs: channels as u64,
        params: 0,
    }
}

/// Width of the squeeze in squeeze-and-excitation over `channels`: `channels / 4`, at least 1.
pub fn se_reduced(channels: usize) -> usize {
    (channels / 4).max(1)
}

/// Cost of squeeze-and-excitation over `channels` maps.
pub fn se_cost(channels: usize) -> Cost {
    let r = se_reduced(channels);
    global_pool_cost(channels)
        + conv_cost(channels, r, [1, 1], 1, [1, 1], true)
        + conv_cost(r, channels, [1, 1], 1, [1, 1], true)
}

/// Cost and output size of an op in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpCost {
    /// MACs and parameters.
    pub cost: Cost,
    /// Output `[height, width]`.
    pub output: [usize; 2],
}

impl OpSpec {
    /// Checks that the op can be placed at `geometry`: non-zero channels, stride and input,
    /// and group counts that divide the channels of their convs.
    pub fn check_geometry(&self, geometry: &OpGeometry) -> Result<()> {
        let op = || self.to_string();
        if geometry.cin == 0 {
            return Err(OpsError::ZeroChannels {
                op: op(),
                which: "input",
            });
        }
        if geometry.cout == 0 {
            return Err(OpsError::ZeroChannels {
                op: op(),
                which: "output",
            });
        }
        if geometry.stride == 0 {
            return Err(OpsError::ZeroStride { op: op() });
        }
        let [height, width] = geometry.input;
        if height == 0 || width == 0 {
            return Err(OpsError::EmptyInput {
                op: op(),
                height,
                width,
            });
        }
        let groups = self.groups();
        let checks = [
            ("first 1x1", "input", groups.input, geometry.cin),
            ("last 1x1", "output", groups.output, geometry.cout),
        ];
        for (conv, side, groups, channels) in checks {
            if !channels.is_multiple_of(groups) {
                return Err(OpsError::GroupsDoNotDivide {
                    op: op(),
                    conv,
                    side,
                    groups,
                    channels,
                });
            }
        }
        // The hidden width is cin * t, so it is divisible whenever cin is by g_in; g_out must
        // divide it too.
        let hidden = self.hidden(geometry.cin);
        if !hidden.is_multiple_of(groups.output) {
            return Err(OpsError::GroupsDoNotDivide {
                op: op(),
                conv: "last 1x1",
                side: "input",
                groups: groups.output,
                channels: hidden,
            });
        }
        Ok(())
    }

    /// MACs, parameters and output size of this op at `geometry` (docs/method.md §2, §5).
    pub fn cost(&self, geometry: &OpGeometry) -> Result<OpCost> {
        self.check_geometry(geometry)?;
        let OpGeometry {
            cin, cout, input, ..
        } = *geometry;
        let s = geometry.stride;
        let output = geometry.output();
        let h = self.hidden(cin);
        let k = self.kernel();
        let groups = self.groups();

        let expand = conv_cost(cin, h, [1, 1], groups.input, input, false) + bn_cost(h);
        let project = conv_cost(h, cout, [1, 1], groups.output, output, false) + bn_cost(cout);
        let spatial = match self.family() {
            OpFamily::InvertedBottleneck => conv_cost(h, h, [k, k], h, output, false) + bn_cost(h),
            OpFamily::Plain => conv_cost(h, h, [k, k], 1, output, false) + bn_cost(h),
            OpFamily::Dual => {
                conv_cost(h, h, [k, k], 1, input, false)
                    + bn_cost(h)
                    + conv_cost(h, h, [k, k], 1, output, false)
                    + bn_cost(h)
            }
            OpFamily::Factorized => {
                let after_row = [input[0], out_size(input[1], s)];
                conv_cost(h, h, [1, k], 1, after_row, false)
                    + bn_cost(h)
                    + conv_cost(h, h, [k, 1], 1, output, false)
                    + bn_cost(h)
            }
        };
        let se = if self.se() {
            se_cost(h)
        } else {
            Cost::default()
        };
        Ok(OpCost {
            cost: expand + spatial + se + project,
            output,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(text: &str, g: OpGeometry) -> OpCost {
        text.parse::<OpSpec>().unwrap().cost(&g).unwrap()
    }

    #[test]
    fn output_size_rounds_up() {
        assert_eq!(out_size(7, 2), 4);
        assert_eq!(out_size(8, 2), 4);
        assert_eq!(out_size(7, 1), 7);
        assert_eq!(
            OpGeometry {
                cin: 1,
                cout: 1,
                stride: 2,
                input: [15, 8]
            }
            .output(),
            [8, 4]
        );
    }

    // Hand computations: cin 16, cout 24, stride 2, input 32x32 -> 16x16.
    #[test]
    fn inverted_bottleneck_by_hand() {
        let c = cost("ir_k5_e6", OpGeometry::new(16, 24, 2, 32));
        // 1x1 16->96 at 32x32; dw 5x5 on 96 at 16x16; 1x1 96->24 at 16x16.
        let macs = 32 * 32 * 96 * 16 + 16 * 16 * 96 * 25 + 16 * 16 * 24 * 96;
        let params = 96 * 16 + 2 * 96 + 96 * 25 + 2 * 96 + 24 * 96 + 2 * 24;
        assert_eq!(c.cost, Cost { macs, params });
        assert_eq!(c.output, [16, 16]);
    }

    #[test]
    fn grouped_dilated_se_bottleneck_by_hand() {
        // cin 16 cout 16 stride 1, 8x8, t 3 -> h 48, groups (2,2), dilation 2, SE 48->12->48.
        let c = cost("ir_k3_e3_d2_g2x2_se", OpGeometry::new(16, 16, 1, 8));
        let macs = 64 * 48 * 8 + 64 * 48 * 9 + (48 + 12 * 48 + 48 * 12) + 64 * 16 * 24;
        let params = 48 * 8 + 96 + 48 * 9 + 96 + (12 * 48 + 12 + 48 * 12 + 48) + 16 * 24 + 32;
        assert_eq!(c.cost, Cost { macs, params });
    }

    #[test]
    fn plain_by_hand() {
        let c = cost("conv_k3_e2", OpGeometry::new(16, 24, 2, 32));
        let macs = 1024 * 32 * 16 + 256 * 32 * 32 * 9 + 256 * 24 * 32;
        let params = 32 * 16 + 64 + 32 * 32 * 9 + 64 + 24 * 32 + 48;
        assert_eq!(c.cost, Cost { macs, params });
    }

    #[test]
    fn dual_by_hand() {
        let c = cost("dual_k3_e1", OpGeometry::new(16, 24, 2, 32));
        let macs = 1024 * 16 * 16 + 1024 * 16 * 16 * 9 + 256 * 16 * 16 * 9 + 256 * 24 * 16;
        let params = 16 * 16 + 32 + 2 * (16 * 16 * 9 + 32) + 24 * 16 + 48;
        assert_eq!(c.cost, Cost { macs, params });
    }

    #[test]
    fn factorized_by_hand() {
        // Odd size: 15x15 stride 2 -> 1xk gives 15x8, kx1 gives 8x8.
        let c = cost("rec_k7_e2", OpGeometry::new(16, 24, 2, 15));
        let macs = 225 * 32 * 16 + 15 * 8 * 32 * 32 * 7 + 64 * 32 * 32 * 7 + 64 * 24 * 32;
        let params = 32 * 16 + 64 + 2 * (32 * 32 * 7 + 64) + 24 * 32 + 48;
        assert_eq!(c.cost, Cost { macs, params });
        assert_eq!(c.output, [8, 8]);
    }

    #[test]
    fn bad_geometry_is_reported() {
        let spec: OpSpec = "ir_k3_e1_g2x1".parse().unwrap();
        let e = spec.cost(&OpGeometry::new(15, 16, 1, 8)).unwrap_err();
        assert!(matches!(
            e,
            OpsError::GroupsDoNotDivide {
                groups: 2,
                channels: 15,
                side: "input",
                ..
            }
        ));
        let spec: OpSpec = "ir_k3_e1_g1x2".parse().unwrap();
        let e = spec.cost(&OpGeometry::new(16, 15, 1, 8)).unwrap_err();
        assert!(matches!(
            e,
            OpsError::GroupsDoNotDivide {
                groups: 2,
                channels: 15,
                side: "output",
                ..
            }
        ));
        // hidden = 16 * 1 not divisible by g_out 3 even though cout 3 is
        let spec: OpSpec = "ir_k3_e1_g1x3".parse().unwrap();
        let e = spec.cost(&OpGeometry::new(16, 3, 1, 8)).unwrap_err();
        assert!(
            matches!(e, OpsError::GroupsDoNotDivide { groups: 3, .. }),
            "{e}"
        );
        let spec: OpSpec = "ir_k3_e1_g1x3".parse().unwrap();
        assert!(spec.cost(&OpGeometry::new(15, 6, 1, 8)).is_ok());
        let spec: OpSpec = "ir_k3_e1".parse().unwrap();
        assert!(matches!(
            spec.cost(&OpGeometry::new(0, 6, 1, 8)),
            Err(OpsError::ZeroChannels { which: "input", .. })
        ));
        assert!(matches!(
            spec.cost(&OpGeometry::new(6, 6, 0, 8)),
            Err(OpsError::ZeroStride { .. })
        ));
        assert!(matches!(
            spec.cost(&OpGeometry::new(6, 6, 1, 0)),
            Err(OpsError::EmptyInput { .. })
        ));
    }
}
