//! Search-space specs (serde data) and the checked [`SearchSpace`] with its cell geometry.

use serde::{Deserialize, Serialize};

use nse_ops::cost::{bn_cost, conv_cost, global_pool_cost, linear_cost, out_size};
use nse_ops::{CandidatePool, Cost, OpGeometry, OpSpec, PoolSpec};

use crate::error::{Result, SpaceError};
use crate::layout::{CellKind, LayoutPlan, PlanKind, make_divisible};

/// Names of the built-in presets, see [`SpaceSpec::preset`].
pub const PRESETS: [&str; 6] = [
    "imagenet-mb27",
    "imagenet-mb72",
    "imagenet-mb19-gpu",
    "cifar10-mb27",
    "cifar10-mb72",
    "fashion-mnist-mb27",
];

/// A search space as the user writes it (JSON); [`SpaceSpec::check`] validates it once into a
/// [`SearchSpace`].
///
/// ```
/// use nse_space::SpaceSpec;
/// let json = r#"{"pool": "mb27", "layout": "NER", "depths": [1,3,3,3,3,3],
///   "channels": [16,24,40,80,96,192,320], "input_size": 224, "num_classes": 1000}"#;
/// let space = serde_json::from_str::<SpaceSpec>(json).unwrap().check().unwrap();
/// assert_eq!(space.num_cells(), 22);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpaceSpec {
    /// Candidate pool: a reference name (`"mb27"`) or a list of ops (`["ir_k3_e6", ...]`).
    pub pool: PoolSpec,
    /// Layout: `"NR"`, `"NER"`, or `{"cells": "NRNE..."}`.
    pub layout: LayoutPlan,
    /// Number of normal cells per stage (5 for `NR`, 6 for `NER`; unused for explicit cells).
    #[serde(default)]
    pub depths: Vec<usize>,
    /// Stage widths `c[0..]`: one more than the stage-changing cells of the layout.
    pub channels: Vec<usize>,
    /// Width multiplier applied to `c[1..]` with `make_divisible(·, 8)`.
    #[serde(default = "default_width_scale")]
    pub width_scale: f64,
    /// Stride of the stem conv (2 for ImageNet, 1 for small images).
    #[serde(default = "default_stem_stride")]
    pub stem_stride: usize,
    /// Channels of the input images (3 for RGB, 1 for grayscale).
    #[serde(default = "default_input_channels")]
    pub input_channels: usize,
    /// Input height and width.
    pub input_size: usize,
    /// Number of classes.
    pub num_classes: usize,
    /// Width of the tail's 1x1 conv before pooling (1024 in NSE).
    #[serde(default = "default_tail_channels")]
    pub tail_channels: usize,
    /// Sub-space size K: ops searched per cell and round (5 for mb27/mb72, 6 for mb19).
    #[serde(default = "default_subspace_size")]
    pub subspace_size: usize,
    /// Most branches (ops) a cell may hold: `None` (the default) is NSE's multi-branch space,
    /// any subset of the pool; `Some(1)` a single-path space, one op per cell (none in a
    /// residual cell, which may be skipped). Samplers draw from their distribution
    /// conditioned on the limit, and architectures above it are refused.
    #[serde(default)]
    pub max_branches: Option<usize>,
}

fn default_width_scale() -> f64 {
    1.0
}
fn default_stem_stride() -> usize {
    2
}
fn default_input_channels() -> usize {
    3
}
fn default_tail_channels() -> usize {
    1024
}
fn default_subspace_size() -> usize {
    5
}

const IMAGENET_NER_CHANNELS: [usize; 7] = [16, 24, 40, 80, 96, 192, 320];

impl SpaceSpec {
    /// A spec with the given pool, plan, depths and channels, and defaults elsewhere
    /// (scale 1, stem stride 2, RGB, 1024 tail channels, K = 5).
    pub fn new(
        pool: &str,
        layout: PlanKind,
        depths: Vec<usize>,
        channels: Vec<usize>,
        input_size: usize,
        num_classes: usize,
    ) -> Self {
        SpaceSpec {
            pool: PoolSpec::Reference(pool.to_string()),
            layout: LayoutPlan::Plan(layout),
            depths,
            channels,
            width_scale: default_width_scale(),
            stem_stride: default_stem_stride(),
            input_channels: default_input_channels(),
            input_size,
            num_classes,
            tail_channels: default_tail_channels(),
            subspace_size: default_subspace_size(),
            max_branches: None,
        }
    }

    /// A built-in preset (see [`PRESETS`]):
    /// - `imagenet-mb27`: the NSE-27 search space (NER, depths `[1,3,3,3,3,3]`, channels
    ///   `[16,24,40,80,96,192,320]`, 224x224, 1000 classes, K = 5);
    /// - `imagenet-mb72`: the same with the 72-op pool;
    /// - `imagenet-mb19-gpu`: NR, depths `[1,3,3,7,3]`, channels `[16,32,64,128,256]`, K = 6;
    /// - `cifar10-mb27`, `cifar10-mb72`: 32x32 RGB, 10 classes, stem stride 1, a shallow
    ///   NER layout (depths `[1,1,1,1,1,1]`) with narrow stages, searchable on a CPU;
    /// - `fashion-mnist-mb27`: 28x28 grayscale, 10 classes, stem stride 2, NR depths
    ///   `[0,1,1,1,0]` (7 cells), channels `[16,24,32,48,64]`, 128 tail channels.
    pub fn preset(name: &str) -> Result<Self> {
        Ok(match name {
            "imagenet-mb27" | "imagenet-mb72" => SpaceSpec::new(
                &name["imagenet-".len()..],
                PlanKind::Ner,
                vec![1, 3, 3, 3, 3, 3],
                IMAGENET_NER_CHANNELS.to_vec(),
                224,
                1000,
            ),
            "imagenet-mb19-gpu" => SpaceSpec {
                subspace_size: 6,
                ..SpaceSpec::new(
                    "mb19",
                    PlanKind::Nr,
                    vec![1, 3, 3, 7, 3],
                    vec![16, 32, 64, 128, 256],
                    224,
                    1000,
                )
            },
            "cifar10-mb27" | "cifar10-mb72" => SpaceSpec {
                stem_stride: 1,
                tail_channels: 512,
                ..SpaceSpec::new(
                    &name["cifar10-".len()..],
                    PlanKind::Ner,
                    vec![1, 1, 1, 1, 1, 1],
                    vec![16, 24, 32, 64, 96, 128, 192],
                    32,
                    10,
                )
            },
            "fashion-mnist-mb27" => SpaceSpec {
                stem_stride: 2,
                input_channels: 1,
                tail_channels: 128,
                ..SpaceSpec::new(
                    "mb27",
                    PlanKind::Nr,
                    vec![0, 1, 1, 1, 0],
                    vec![16, 24, 32, 48, 64],
                    28,
                    10,
                )
            },
            other => {
                return Err(SpaceError::UnknownPreset {
                    name: other.to_string(),
                    known: &PRESETS,
                });
            }
        })
    }

    /// Validates the spec into a [`SearchSpace`].
    pub fn check(&self) -> Result<SearchSpace> {
        let invalid =
            |field: &'static str, reason: String| SpaceError::InvalidSpec { field, reason };
        let pool = CandidatePool::try_from(self.pool.clone())?;
        if let LayoutPlan::Cells { cells } = &self.layout
            && let Some((i, c)) = cells
                .char_indices()
                .find(|(_, c)| CellKind::from_letter(*c).is_none())
        {
            return Err(invalid(
                "layout",
                format!("has `{c}` at position {i}; cells are N, R or E"),
            ));
        }
        if let LayoutPlan::Plan(plan) = &self.layout
            && self.depths.len() != plan.num_depths()
        {
            return Err(invalid(
                "depths",
                format!(
                    "must have {} entries for layout {:?}, got {}",
                    plan.num_depths(),
                    plan,
                    self.depths.len()
                ),
            ));
        }
        if matches!(self.layout, LayoutPlan::Plan(_)) && self.depths.iter().all(|&d| d == 0) {
            return Err(invalid(
                "depths",
                "are all zero: the plan would have no normal cell to search".into(),
            ));
        }
        let kinds = self.layout.cells(&self.depths);
        if kinds.is_empty() {
            return Err(invalid("layout", "has no cell".into()));
        }
        let stages = 1 + kinds.iter().filter(|k| k.next_stage()).count();
        if self.channels.len() != stages {
            return Err(invalid(
                "channels",
                format!(
                    "must have {stages} entries (one per stage of the layout), got {}",
                    self.channels.len()
                ),
            ));
        }
        if let Some(i) = self.channels.iter().position(|&c| c == 0) {
            return Err(invalid(
                "channels",
                format!("entry {i} is 0; widths must be positive"),
            ));
        }
        if !(self.width_scale.is_finite() && self.width_scale > 0.0) {
            return Err(invalid(
                "width_scale",
                format!("must be positive and finite, got {}", self.width_scale),
            ));
        }
        for (field, value) in [
            ("stem_stride", self.stem_stride),
            ("input_channels", self.input_channels),
            ("input_size", self.input_size),
            ("num_classes", self.num_classes),
            ("tail_channels", self.tail_channels),
        ] {
            if value == 0 {
                return Err(invalid(field, "must be at least 1, got 0".into()));
            }
        }
        if self.subspace_size < 2 {
            return Err(invalid(
                "subspace_size",
                format!(
                    "K must be at least 2 (one new op per round needs K - 1 >= 1), got {}",
                    self.subspace_size
                ),
            ));
        }
        if self.max_branches == Some(0) {
            return Err(invalid(
                "max_branches",
                "must be at least 1 when given (a non-residual cell needs an op)".into(),
            ));
        }
        if self.subspace_size > pool.len() {
            return Err(invalid(
                "subspace_size",
                format!(
                    "K = {} exceeds the pool's {} ops",
                    self.subspace_size,
                    pool.len()
                ),
            ));
        }

        let widths: Vec<usize> = self
            .channels
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                if i == 0 {
                    c
                } else {
                    make_divisible(c as f64 * self.width_scale, 8)
                }
            })
            .collect();
        let stem_out = out_size(self.input_size, self.stem_stride);
        let mut size = stem_out;
        let mut stage = 0;
        let mut cells = Vec::with_capacity(kinds.len());
        for (index, kind) in kinds.into_iter().enumerate() {
            let cin = widths[stage];
            if kind.next_stage() {
                stage += 1;
            }
            let geometry = OpGeometry::new(cin, widths[stage], kind.stride(), size);
            size = out_size(size, kind.stride());
            cells.push(Cell {
                index,
                kind,
                geometry,
            });
        }
        let space = SearchSpace {
            spec: self.clone(),
            pool,
            widths,
            stem_output: stem_out,
            cells,
        };
        // Every op must fit every cell (groups dividing channels).
        for cell in &space.cells {
            for op in space.pool.ops() {
                op.check_geometry(&cell.geometry)
                    .map_err(|source| SpaceError::OpDoesNotFit {
                        cell: cell.index,
                        source,
                    })?;
            }
        }
        Ok(space)
    }
}

/// One cell position of a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// Position in the network (0-based).
    pub index: usize,
    /// `N`, `R` or `E`.
    pub kind: CellKind,
    /// Channels, stride and input size of every op in the cell.
    pub geometry: OpGeometry,
}

impl Cell {
    /// A residual cell (`cin == cout`, stride 1) adds its input and may be empty.
    pub fn is_residual(&self) -> bool {
        self.geometry.cin == self.geometry.cout && self.geometry.stride == 1
    }
}

/// A validated search space: pool, widths and the geometry of every cell.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchSpace {
    spec: SpaceSpec,
    pool: CandidatePool,
    widths: Vec<usize>,
    stem_output: usize,
    cells: Vec<Cell>,
}

impl SearchSpace {
    /// The spec it was checked from.
    pub fn spec(&self) -> &SpaceSpec {
        &self.spec
    }
    /// The candidate pool.
    pub fn pool(&self) -> &CandidatePool {
        &self.pool
    }
    /// The text form of pool op `index` (`ir_k3_e6`), or `#index` when it is outside the pool.
    pub fn op_name(&self, index: usize) -> String {
        self.pool
            .op(index)
            .map(|op| op.to_string())
            .unwrap_or_else(|_| format!("#{index}"))
    }
    /// Stage widths after width scaling.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }
    /// All cells in order.
    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }
    /// Number of cells.
    pub fn num_cells(&self) -> usize {
        self.cells.len()
    }
    /// Sub-space size K.
    pub fn subspace_size(&self) -> usize {
        self.spec.subspace_size
    }
    /// Number of evolution rounds: `(pool − 1) / (K − 1)` (docs/method.md §7).
    pub fn num_rounds(&self) -> usize {
        (self.pool.len() - 1) / (self.spec.subspace_size - 1)
    }
    /// Output size of the stem (input of cell 0).
    pub fn stem_output(&self) -> usize {
        self.stem_output
    }
    /// Spatial size entering the tail.
    pub fn final_size(&self) -> usize {
        self.cells
            .last()
            .map(|c| out_size(c.geometry.input[0], c.geometry.stride))
            .unwrap_or(self.stem_output)
    }
    /// Width entering the tail.
    pub fn final_width(&self) -> usize {
        *self
            .widths
            .last()
            .expect("checked spaces have at least one stage")
    }

    /// Cost of the stem: 3x3 conv `input_channels → c[0]` with the stem stride, and its BN.
    pub fn stem_cost(&self) -> Cost {
        let s = self.stem_output;
        conv_cost(
            self.spec.input_channels,
            self.widths[0],
            [3, 3],
            1,
            [s, s],
            false,
        ) + bn_cost(self.widths[0])
    }

    /// Cost of the tail: 1x1 conv `c_last → tail` (no bias, no BN), global pooling, and the
    /// classifier `tail → classes` with bias.
    pub fn tail_cost(&self) -> Cost {
        let s = self.final_size();
        conv_cost(
            self.final_width(),
            self.spec.tail_channels,
            [1, 1],
            1,
            [s, s],
            false,
        ) + global_pool_cost(self.spec.tail_channels)
            + linear_cost(self.spec.tail_channels, self.spec.num_classes, true)
    }

    /// Stem plus tail: the cost every architecture of the space pays.
    pub fn fixed_cost(&self) -> Cost {
        self.stem_cost() + self.tail_cost()
    }

    /// Cost of op `index` of the pool in cell `cell`.
    pub fn op_cost(&self, cell: usize, index: usize) -> Result<Cost> {
        let (slot, op) = self.cell_op(cell, index)?;
        Ok(op
            .cost(&slot.geometry)
            .map_err(|source| SpaceError::OpDoesNotFit { cell, source })?
            .cost)
    }

    /// Cell `cell`; an error when out of range.
    pub(crate) fn cell_slot(&self, cell: usize) -> Result<&Cell> {
        self.cells.get(cell).ok_or(SpaceError::WrongCellCount {
            expected: self.cells.len(),
            got: cell + 1,
        })
    }

    /// Cell `cell` and op `index` of the pool; errors name what is out of range.
    pub(crate) fn cell_op(&self, cell: usize, index: usize) -> Result<(&Cell, &OpSpec)> {
        let slot = self.cell_slot(cell)?;
        let op = self
            .pool
            .op(index)
            .map_err(|_| SpaceError::IndexOutOfRange {
                cell,
                index,
                pool: self.pool.name().to_string(),
                len: self.pool.len(),
            })?;
        Ok((slot, op))
    }

    /// The cost table `[cell][op]` of every pool op in every cell.
    pub fn cost_table(&self) -> Vec<Vec<Cost>> {
        self.cells
            .iter()
            .map(|cell| {
                self.pool
                    .ops()
                    .iter()
                    .map(|op| {
                        op.cost(&cell.geometry)
                            .expect("checked at space construction")
                            .cost
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nse_ops::OpsError;

    fn base() -> SpaceSpec {
        SpaceSpec::preset("cifar10-mb27").unwrap()
    }

    fn json_spec(json: &str) -> SpaceSpec {
        serde_json::from_str(json).unwrap()
    }

    /// Every invalid spec gives its own error: the field at fault and why.
    #[test]
    fn invalid_specs_give_specific_errors() {
        let grouped = PoolSpec::Ops(vec![
            "ir_k3_e6".parse().unwrap(),
            "ir_k3_e3_g2x1".parse().unwrap(),
        ]);
        let with = |f: &dyn Fn(&mut SpaceSpec)| {
            let mut spec = base();
            f(&mut spec);
            spec
        };
        let explicit = |cells: &str| LayoutPlan::Cells {
            cells: cells.into(),
        };
        // (case, spec, field at fault, what the reason says)
        #[rustfmt::skip]
        let cases: Vec<(&str, SpaceSpec, &str, &str)> = vec![
            ("zero depth everywhere", with(&|s| s.depths = vec![0; 6]), "depths", "all zero"),
            ("too few depths", with(&|s| s.depths = vec![1; 5]), "depths", "must have 6 entries"),
            ("too many depths (NR)", SpaceSpec::new("mb19", PlanKind::Nr, vec![1; 6], vec![8; 5], 32, 10), "depths", "must have 5 entries"),
            ("too few channels", with(&|s| s.channels = vec![16; 6]), "channels", "must have 7 entries"),
            ("too many channels", with(&|s| s.channels = vec![16; 8]), "channels", "must have 7 entries"),
            ("channel zero", with(&|s| s.channels[2] = 0), "channels", "entry 2 is 0"),
            ("empty explicit layout", with(&|s| { s.layout = explicit(""); s.channels = vec![16] }), "layout", "has no cell"),
            ("bad layout letter", with(&|s| s.layout = explicit("NNXR")), "layout", "`X` at position 2"),
            ("K = 1", with(&|s| s.subspace_size = 1), "subspace_size", "at least 2"),
            ("K = 0", with(&|s| s.subspace_size = 0), "subspace_size", "at least 2"),
            ("K > pool", with(&|s| s.subspace_size = 28), "subspace_size", "exceeds the pool's 27 ops"),
            ("K > custom pool", with(&|s| { s.pool = grouped.clone(); s.subspace_size = 3 }), "subspace_size", "exceeds the pool's 2 ops"),
            ("negative width scale", with(&|s| s.width_scale = -1.0), "width_scale", "positive and finite"),
            ("NaN width scale", with(&|s| s.width_scale = f64::NAN), "width_scale", "positive and finite"),
            ("stem stride 0", with(&|s| s.stem_stride = 0), "stem_stride", "at least 1"),
            ("no input channel", with(&|s| s.input_channels = 0), "input_channels", "at least 1"),
            ("input size 0", with(&|s| s.input_size = 0), "input_size", "at least 1"),
            ("no class", with(&|s| s.num_classes = 0), "num_classes", "at least 1"),
            ("no tail channel", with(&|s| s.tail_channels = 0), "tail_channels", "at least 1"),
        ];
        for (name, spec, field, reason) in cases {
            match spec.check() {
                Err(SpaceError::InvalidSpec {
                    field: f,
                    reason: r,
                }) => {
                    assert_eq!(f, field, "{name}: {r}");
                    assert!(r.contains(reason), "{name}: `{r}` does not say `{reason}`");
                }
                other => panic!("{name}: expected InvalidSpec for `{field}`, got {other:?}"),
            }
        }

        // Pool errors come from nse-ops, wrapped.
        let empty = SpaceSpec {
            pool: PoolSpec::Ops(vec![]),
            ..base()
        };
        assert_eq!(
            empty.check().unwrap_err(),
            SpaceError::Ops(OpsError::EmptyPool)
        );
        let unknown = SpaceSpec {
            pool: PoolSpec::Reference("mb28".into()),
            ..base()
        };
        assert!(matches!(
            unknown.check(),
            Err(SpaceError::Ops(OpsError::UnknownPool(_)))
        ));
        let dup = SpaceSpec {
            pool: PoolSpec::Ops(vec!["ir_k3_e6".parse().unwrap(); 2]),
            ..base()
        };
        assert!(matches!(
            dup.check(),
            Err(SpaceError::Ops(OpsError::DuplicateOp {
                first: 0,
                second: 1,
                ..
            }))
        ));

        // Groups not dividing a cell's channels (custom pool), with the cell named: two input
        // groups need an even cin, so an odd stem width fails at cell 0...
        let odd = SpaceSpec {
            pool: grouped,
            subspace_size: 2,
            channels: vec![15, 24, 32, 64, 96, 128, 192],
            ..base()
        };
        match odd.check() {
            Err(SpaceError::OpDoesNotFit {
                cell: 0,
                source:
                    OpsError::GroupsDoNotDivide {
                        groups: 2,
                        channels: 15,
                        ..
                    },
            }) => {}
            other => panic!("expected a groups error at cell 0, got {other:?}"),
        }
        // ... and three input groups fit the 24-wide cells 0..=3 but not cell 4 (cin 32).
        let three = PoolSpec::Ops(vec![
            "ir_k3_e6".parse().unwrap(),
            "ir_k3_e3_g3x1".parse().unwrap(),
        ]);
        let spec = SpaceSpec {
            pool: three,
            subspace_size: 2,
            channels: vec![24, 24, 32, 64, 96, 128, 192],
            ..base()
        };
        let err = spec.check().unwrap_err();
        assert!(
            matches!(
                err,
                SpaceError::OpDoesNotFit {
                    cell: 4,
                    source: OpsError::GroupsDoNotDivide {
                        groups: 3,
                        channels: 32,
                        ..
                    }
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().starts_with("cell 4: op `ir_k3_e3_g3x1`"),
            "{err}"
        );

        // Unknown fields and bad plan names are rejected by serde.
        assert!(serde_json::from_str::<SpaceSpec>(r#"{"pool":"mb27","layout":"NER","depths":[1,1,1,1,1,1],"channels":[8,8,8,8,8,8,8],"input_size":32,"num_classes":10,"k":5}"#).is_err());
        assert!(serde_json::from_str::<SpaceSpec>(r#"{"pool":"mb27","layout":"NRE","depths":[1,1,1,1,1,1],"channels":[8,8,8,8,8,8,8],"input_size":32,"num_classes":10}"#).is_err());
        assert!(matches!(
            SpaceSpec::preset("imagenet-mb99"),
            Err(SpaceError::UnknownPreset { .. })
        ));
    }

    #[test]
    fn explicit_layouts_and_json_defaults() {
        let spec = json_spec(
            r#"{"pool": ["ir_k3_e6", "ir_k5_e3", "rec_k5_e2"], "layout": {"cells": "NRNE"},
                "channels": [8, 16, 24], "input_size": 16, "num_classes": 4, "subspace_size": 2}"#,
        );
        let space = spec.check().unwrap();
        let kinds: String = space.cells().iter().map(|c| c.kind.letter()).collect();
        assert_eq!(kinds, "NRNE");
        let residual: Vec<bool> = space.cells().iter().map(Cell::is_residual).collect();
        assert_eq!(residual, [true, false, true, false]);
        assert_eq!(space.widths(), &[8, 16, 24]);
        assert_eq!((space.stem_output(), space.final_size()), (8, 4));
        assert_eq!(space.num_rounds(), 2); // (3 - 1) / (2 - 1)
        assert_eq!(space.spec().tail_channels, 1024);
        let back: SpaceSpec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
        assert_eq!(back, spec);
    }

    /// The presets check and have the documented shapes.
    #[test]
    fn presets_have_the_documented_cells_and_rounds() {
        // (preset, cells, non-residual cells, pool, K, rounds, final size)
        let expected = [
            ("imagenet-mb27", 22, 6, 27, 5, 6, 7),
            ("imagenet-mb72", 22, 6, 72, 5, 17, 7),
            ("imagenet-mb19-gpu", 21, 4, 19, 6, 3, 7),
            ("cifar10-mb27", 12, 6, 27, 5, 6, 2),
            ("cifar10-mb72", 12, 6, 72, 5, 17, 2),
            ("fashion-mnist-mb27", 7, 4, 27, 5, 6, 1),
        ];
        assert_eq!(expected.map(|e| e.0), PRESETS);
        for (name, cells, fixed, pool, k, rounds, size) in expected {
            let space = SpaceSpec::preset(name).unwrap().check().unwrap();
            assert_eq!(space.num_cells(), cells, "{name}");
            assert_eq!(
                space.cells().iter().filter(|c| !c.is_residual()).count(),
                fixed,
                "{name}"
            );
            assert_eq!(space.pool().len(), pool, "{name}");
            assert_eq!(space.subspace_size(), k, "{name}");
            assert_eq!(space.num_rounds(), rounds, "{name}");
            assert_eq!(space.num_rounds(), (pool - 1) / (k - 1), "{name}");
            assert_eq!(space.final_size(), size, "{name}");
            let json = serde_json::to_string(space.spec()).unwrap();
            assert_eq!(
                serde_json::from_str::<SpaceSpec>(&json)
                    .unwrap()
                    .check()
                    .unwrap(),
                space
            );
        }
        let space = SpaceSpec::preset("imagenet-mb27").unwrap().check().unwrap();
        let kinds: String = space.cells().iter().map(|c| c.kind.letter()).collect();
        assert_eq!(kinds, "NRNNNRNNNRNNNENNNRNNNE");
        assert_eq!(space.stem_output(), 112);
        assert_eq!(space.cells()[21].geometry.cin, 192);
        assert_eq!(space.cells()[21].geometry.cout, 320);
    }
}
