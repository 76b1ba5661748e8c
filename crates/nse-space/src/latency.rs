//! The latency of architectures of a space from a lookup table, summed as the NSE reference
//! sums a network (see `nse_ops::latency` for the keys).
//!
//! A cell costs the sum of its chosen branches (the outputs are averaged, the times summed);
//! a residual cell adds one element-wise add of its input per chosen branch; a cell that is
//! not residual and merges `b > 1` branches adds `b − 1` adds of its output (the reference's
//! indicator loss and Pareto evaluation count them, its window sampler does not:
//! [`LatencyRules::merge_adds`]). The fixed part is the tail's 1x1 conv, the global average
//! pool and the classifier, plus the stem by [`StemRule`]. Batch norm, activations and SE
//! are not timed.

use serde::{Deserialize, Serialize};

use nse_ops::cost::out_size;
use nse_ops::latency::{LatencyTable, LayerKey, op_layers};

use crate::architecture::Architecture;
use crate::error::Result;
use crate::space::SearchSpace;

/// When the stem conv counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StemRule {
    /// As the reference: only when the stem has 32 output channels (its GPU space, with 16,
    /// leaves the stem out).
    #[default]
    Reference,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl StemRule {
    /// Every rule.
    pub const ALL: [StemRule; 3] = [StemRule::Reference, StemRule::Always, StemRule::Never];

    /// `reference`, `always` or `never`.
    pub fn name(self) -> &'static str {
        match self {
            StemRule::Reference => "reference",
            StemRule::Always => "always",
            StemRule::Never => "never",
        }
    }
}

impl std::str::FromStr for StemRule {
    type Err = crate::error::SpaceError;
    /// The rule called `name` ([`StemRule::name`]).
    fn from_str(name: &str) -> crate::error::Result<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| crate::error::SpaceError::UnknownName {
                what: "latency stem rule",
                name: name.to_string(),
                known: "reference, always, never".into(),
            })
    }
}

/// How a network's latency is summed from the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LatencyRules {
    /// Count `b − 1` adds for a non-residual cell with `b > 1` branches (default: yes, as the
    /// reference's indicator loss and Pareto evaluation).
    pub merge_adds: bool,
    /// When the stem counts.
    pub stem: StemRule,
}

impl Default for LatencyRules {
    fn default() -> Self {
        LatencyRules {
            merge_adds: true,
            stem: StemRule::Reference,
        }
    }
}

/// The latency of one architecture, in the table's unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchitectureLatency {
    /// The stem (0 when [`StemRule`] leaves it out).
    pub stem: f64,
    /// Each cell: its branches, their residual adds and merge adds.
    pub cells: Vec<f64>,
    /// Tail conv, pooling and classifier.
    pub tail: f64,
    /// Everything.
    pub total: f64,
    /// The table's unit.
    pub unit: String,
}

impl SearchSpace {
    /// The layers of op `index` of the pool in cell `cell`, with the residual add when the
    /// cell is residual.
    pub fn op_latency_layers(&self, cell: usize, index: usize) -> Result<Vec<LayerKey>> {
        let (slot, op) = self.cell_op(cell, index)?;
        let g = slot.geometry;
        let mut layers = op_layers(op, &g);
        if slot.is_residual() {
            layers.push(LayerKey::add(g.input[0], g.cin));
        }
        Ok(layers)
    }

    /// The latency of op `index` in cell `cell` (with its residual add).
    pub fn op_latency(&self, table: &LatencyTable, cell: usize, index: usize) -> Result<f64> {
        Ok(table.sum(&self.op_latency_layers(cell, index)?)?)
    }

    /// The add that merges two branches of cell `cell` (at its output), or `None` for a
    /// residual cell, whose adds belong to the branches.
    pub fn merge_add_layer(&self, cell: usize) -> Result<Option<LayerKey>> {
        let slot = self.cell_slot(cell)?;
        let g = slot.geometry;
        Ok((!slot.is_residual()).then(|| LayerKey::add(out_size(g.input[0], g.stride), g.cout)))
    }

    /// The latency the merge of `branches` branches in cell `cell` adds (none for a residual
    /// cell, whose adds belong to the branches, or without [`LatencyRules::merge_adds`]).
    pub fn merge_latency(
        &self,
        table: &LatencyTable,
        rules: &LatencyRules,
        cell: usize,
        branches: usize,
    ) -> Result<f64> {
        match self.merge_add_layer(cell)? {
            Some(add) if rules.merge_adds && branches > 1 => {
                Ok((branches - 1) as f64 * table.time(&add)?)
            }
            _ => Ok(0.0),
        }
    }

    /// The layers of the stem conv and of the tail (1x1 conv, global pool, classifier).
    pub fn fixed_latency_layers(&self) -> (LayerKey, Vec<LayerKey>) {
        let spec = self.spec();
        let stem = LayerKey::conv(
            spec.input_size,
            spec.input_channels,
            self.widths()[0],
            3,
            spec.stem_stride,
            1,
            1,
            1,
        );
        let s = self.final_size();
        let tail = vec![
            LayerKey::conv(s, self.final_width(), spec.tail_channels, 1, 1, 0, 1, 1),
            LayerKey::global_avg_pool(s, spec.tail_channels),
            LayerKey::linear(spec.tail_channels, spec.num_classes),
        ];
        (stem, tail)
    }

    /// Stem (by `rules`) and tail latency: what every architecture pays.
    pub fn fixed_latency(&self, table: &LatencyTable, rules: &LatencyRules) -> Result<[f64; 2]> {
        let (stem_key, tail) = self.fixed_latency_layers();
        let stem = if self.counts_stem(rules) {
            table.time(&stem_key)?
        } else {
            0.0
        };
        Ok([stem, table.sum(&tail)?])
    }

    /// Every layer `arch` runs as `rules` count them (with repeats: a merge of `b` branches
    /// appears `b − 1` times): what [`architecture_latency`](Self::architecture_latency) sums.
    pub fn architecture_latency_layers(
        &self,
        rules: &LatencyRules,
        arch: &Architecture,
    ) -> Result<Vec<LayerKey>> {
        self.check_architecture(arch)?;
        let (stem, tail) = self.fixed_latency_layers();
        let mut layers = Vec::new();
        if self.counts_stem(rules) {
            layers.push(stem);
        }
        for (cell, ops) in arch.cells().iter().enumerate() {
            for &op in ops {
                layers.extend(self.op_latency_layers(cell, op)?);
            }
            if let Some(add) = self.merge_add_layer(cell)?
                && rules.merge_adds
                && ops.len() > 1
            {
                layers.extend(std::iter::repeat_n(add, ops.len() - 1));
            }
        }
        layers.extend(tail);
        Ok(layers)
    }

    fn counts_stem(&self, rules: &LatencyRules) -> bool {
        match rules.stem {
            StemRule::Always => true,
            StemRule::Never => false,
            StemRule::Reference => self.widths()[0] == 32,
        }
    }

    /// The latency of `arch` from `table`, summed by `rules`; an error names the first layer
    /// the table lacks.
    pub fn architecture_latency(
        &self,
        table: &LatencyTable,
        rules: &LatencyRules,
        arch: &Architecture,
    ) -> Result<ArchitectureLatency> {
        self.check_architecture(arch)?;
        let cells = arch
            .cells()
            .iter()
            .enumerate()
            .map(|(cell, ops)| {
                let branches = ops
                    .iter()
                    .map(|&i| self.op_latency(table, cell, i))
                    .sum::<Result<f64>>()?;
                Ok(branches + self.merge_latency(table, rules, cell, ops.len())?)
            })
            .collect::<Result<Vec<f64>>>()?;
        let [stem, tail] = self.fixed_latency(table, rules)?;
        let total = stem + cells.iter().sum::<f64>() + tail;
        Ok(ArchitectureLatency {
            stem,
            cells,
            tail,
            total,
            unit: table.unit.clone(),
        })
    }
}

/// The layers a latency table must hold for `space`: every op at every cell (with residual
/// adds), the merge adds, stem and tail — what a table built for the space measures.
pub fn latency_layers(space: &SearchSpace) -> Result<Vec<LayerKey>> {
    let mut keys = std::collections::BTreeSet::new();
    for cell in 0..space.num_cells() {
        for op in 0..space.pool().len() {
            keys.extend(space.op_latency_layers(cell, op)?);
        }
        keys.extend(space.merge_add_layer(cell)?);
    }
    let (stem, tail) = space.fixed_latency_layers();
    keys.insert(stem);
    keys.extend(tail);
    Ok(keys.into_iter().collect())
}
