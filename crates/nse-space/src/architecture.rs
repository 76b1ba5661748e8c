//! Architectures: per cell a set of pool indices (multi-branch), their validation against a
//! space, their cost, and the standalone child description (docs/method.md §1, §3, §5).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use nse_ops::Cost;

use crate::error::{Result, SpaceError};
use crate::layout::LayoutPlan;
use crate::space::{SearchSpace, SpaceSpec};

/// Per cell, the sorted set of pool indices it runs; an empty set skips a residual cell.
///
/// Text form: cells separated by `|`, branches by `+`, an empty cell as `-`
/// (`"0 | 6 | 11+17 | -"`). Serde form: a list of lists (`[[0],[6],[11,17],[]]`).
///
/// ```
/// use nse_space::Architecture;
/// let arch: Architecture = "0 | 17+11 | -".parse().unwrap();
/// assert_eq!(arch.cells(), &[vec![0], vec![11, 17], vec![]]);
/// assert_eq!(arch.to_string(), "0 | 11+17 | -");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "Vec<Vec<usize>>", into = "Vec<Vec<usize>>")]
pub struct Architecture {
    cells: Vec<Vec<usize>>,
}

impl Architecture {
    /// An architecture from per-cell index lists; each list is sorted, repeats are an error.
    pub fn new(mut cells: Vec<Vec<usize>>) -> Result<Self> {
        for (cell, ops) in cells.iter_mut().enumerate() {
            ops.sort_unstable();
            if let Some(w) = ops.windows(2).find(|w| w[0] == w[1]) {
                return Err(SpaceError::DuplicateOp { cell, index: w[0] });
            }
        }
        Ok(Architecture { cells })
    }

    /// An architecture from per-cell lists the caller guarantees sorted and repeat-free.
    pub(crate) fn from_sorted(cells: Vec<Vec<usize>>) -> Self {
        debug_assert!(cells.iter().all(|ops| ops.windows(2).all(|w| w[0] < w[1])));
        Architecture { cells }
    }

    /// The per-cell sorted index sets.
    pub fn cells(&self) -> &[Vec<usize>] {
        &self.cells
    }

    /// Number of cells.
    pub fn num_cells(&self) -> usize {
        self.cells.len()
    }

    /// Total number of branches over all cells.
    pub fn num_branches(&self) -> usize {
        self.cells.iter().map(Vec::len).sum()
    }

    /// The ops of each cell written with their text form, e.g. `ir_k3_e1 | ir_k5_e3+rec_k7_e1`.
    pub fn describe(&self, space: &SearchSpace) -> String {
        self.cells
            .iter()
            .map(|ops| {
                if ops.is_empty() {
                    "-".to_string()
                } else {
                    ops.iter()
                        .map(|&i| space.op_name(i))
                        .collect::<Vec<_>>()
                        .join("+")
                }
            })
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

impl TryFrom<Vec<Vec<usize>>> for Architecture {
    type Error = SpaceError;
    fn try_from(cells: Vec<Vec<usize>>) -> Result<Self> {
        Architecture::new(cells)
    }
}

impl From<Architecture> for Vec<Vec<usize>> {
    fn from(arch: Architecture) -> Self {
        arch.cells
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, ops) in self.cells.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            if ops.is_empty() {
                f.write_str("-")?;
            }
            for (j, op) in ops.iter().enumerate() {
                if j > 0 {
                    f.write_str("+")?;
                }
                write!(f, "{op}")?;
            }
        }
        Ok(())
    }
}

impl FromStr for Architecture {
    type Err = SpaceError;
    fn from_str(text: &str) -> Result<Self> {
        let fail = |reason: String| SpaceError::ParseArchitecture {
            text: text.to_string(),
            reason,
        };
        if text.trim().is_empty() {
            return Err(fail("no cell".into()));
        }
        let mut cells = Vec::new();
        for (cell, part) in text.split('|').enumerate() {
            let part = part.trim();
            if part == "-" {
                cells.push(Vec::new());
                continue;
            }
            let mut ops = Vec::new();
            for token in part.split('+') {
                let token = token.trim();
                ops.push(token.parse::<usize>().map_err(|_| {
                    fail(format!(
                        "cell {cell}: `{token}` is not an op index (use `-` for an empty cell)"
                    ))
                })?);
            }
            cells.push(ops);
        }
        Architecture::new(cells)
    }
}

/// Cost of an architecture, per part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchitectureCost {
    /// Stem conv and BN.
    pub stem: Cost,
    /// Each cell (the sum of its branches; zero for an empty cell).
    pub cells: Vec<Cost>,
    /// Tail conv, pooling and classifier.
    pub tail: Cost,
    /// Everything.
    pub total: Cost,
}

impl SearchSpace {
    /// Checks `arch` against this space: cell count, indices in range, no empty non-residual
    /// cell. Errors name the cell.
    pub fn check_architecture(&self, arch: &Architecture) -> Result<()> {
        if arch.num_cells() != self.num_cells() {
            return Err(SpaceError::WrongCellCount {
                expected: self.num_cells(),
                got: arch.num_cells(),
            });
        }
        for (cell, ops) in self.cells().iter().zip(arch.cells()) {
            if let Some(&index) = ops.iter().find(|&&i| i >= self.pool().len()) {
                return Err(SpaceError::IndexOutOfRange {
                    cell: cell.index,
                    index,
                    pool: self.pool().name().to_string(),
                    len: self.pool().len(),
                });
            }
            if let Some(max) = self.spec().max_branches
                && ops.len() > max
            {
                return Err(SpaceError::TooManyBranches {
                    cell: cell.index,
                    ops: ops.len(),
                    max,
                });
            }
            if ops.is_empty() && !cell.is_residual() {
                let g = cell.geometry;
                return Err(SpaceError::EmptyCell {
                    cell: cell.index,
                    kind: cell.kind.letter(),
                    cin: g.cin,
                    cout: g.cout,
                    stride: g.stride,
                });
            }
        }
        Ok(())
    }

    /// MACs and parameters of `arch` as a network: stem, every branch of every cell, tail.
    pub fn architecture_cost(&self, arch: &Architecture) -> Result<ArchitectureCost> {
        self.check_architecture(arch)?;
        let cells = arch
            .cells()
            .iter()
            .enumerate()
            .map(|(cell, ops)| {
                ops.iter()
                    .map(|&i| self.op_cost(cell, i))
                    .sum::<Result<Cost>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let (stem, tail) = (self.stem_cost(), self.tail_cost());
        let total = stem + cells.iter().copied().sum::<Cost>() + tail;
        Ok(ArchitectureCost {
            stem,
            cells,
            tail,
            total,
        })
    }

    /// The standalone child network of `arch`: empty (skipped) cells removed, widths fixed
    /// (the child's spec has width scale 1 and the scaled widths as channels, an explicit
    /// cell layout, and stages merged where a skipped cell was a stage change).
    pub fn child(&self, arch: &Architecture) -> Result<NetworkSpec> {
        self.check_architecture(arch)?;
        let mut letters = String::new();
        let mut channels = vec![self.widths()[0]];
        let mut kept = Vec::new();
        for (cell, ops) in self.cells().iter().zip(arch.cells()) {
            if ops.is_empty() {
                continue;
            }
            letters.push(cell.kind.letter());
            if cell.kind.next_stage() {
                channels.push(cell.geometry.cout);
            }
            kept.push(ops.clone());
        }
        let spec = SpaceSpec {
            layout: LayoutPlan::Cells { cells: letters },
            depths: Vec::new(),
            channels,
            width_scale: 1.0,
            ..self.spec().clone()
        };
        Ok(NetworkSpec {
            name: None,
            space: spec,
            architecture: Architecture::new(kept)?,
        })
    }
}

/// A network to build: a space and an architecture in it (serde: `{"name": .., "space": {..},
/// "architecture": [[..], ..]}`). The architecture may contain empty residual cells; a
/// standalone network drops them (see [`NetworkSpec::resolve`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Optional name (`nsenet27`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The space the architecture indexes into.
    pub space: SpaceSpec,
    /// Per-cell op sets.
    pub architecture: Architecture,
}

impl NetworkSpec {
    /// Validates the space and the architecture and returns the child network's space (all
    /// cells non-empty) with its architecture.
    pub fn resolve(&self) -> Result<(SearchSpace, Architecture)> {
        let space = self.space.check()?;
        let child = space.child(&self.architecture)?;
        let child_space = child.space.check()?;
        Ok((child_space, child.architecture))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_serde_round_trip() {
        let arch: Architecture = "3 | - | 9+1 | 26".parse().unwrap();
        assert_eq!(arch.to_string(), "3 | - | 1+9 | 26");
        let json = serde_json::to_string(&arch).unwrap();
        assert_eq!(json, "[[3],[],[1,9],[26]]");
        assert_eq!(serde_json::from_str::<Architecture>(&json).unwrap(), arch);
        assert!(matches!(
            "1 | 2+2".parse::<Architecture>(),
            Err(SpaceError::DuplicateOp { cell: 1, index: 2 })
        ));
        assert!(matches!(
            "1 | x".parse::<Architecture>(),
            Err(SpaceError::ParseArchitecture { .. })
        ));
        assert!(matches!(
            "1 || 2".parse::<Architecture>(),
            Err(SpaceError::ParseArchitecture { .. })
        ));
        assert!(serde_json::from_str::<Architecture>("[[1,1]]").is_err());
    }

    #[test]
    fn validation_names_the_cell() {
        let space = SpaceSpec::preset("imagenet-mb27").unwrap().check().unwrap();
        let mut cells = vec![vec![0]; 22];
        let arch = Architecture::new(cells[..21].to_vec()).unwrap();
        assert_eq!(
            space.check_architecture(&arch),
            Err(SpaceError::WrongCellCount {
                expected: 22,
                got: 21
            })
        );
        cells[5] = vec![3, 27];
        let err = space
            .check_architecture(&Architecture::new(cells.clone()).unwrap())
            .unwrap_err();
        assert!(matches!(
            err,
            SpaceError::IndexOutOfRange {
                cell: 5,
                index: 27,
                len: 27,
                ..
            }
        ));
        cells[5] = vec![3];
        cells[3] = vec![];
        // cells 0 and 3 are N (residual) and may be empty; cell 1 is R and may not.
        assert!(
            space
                .check_architecture(&Architecture::new(cells.clone()).unwrap())
                .is_ok()
        );
        cells[1] = vec![];
        let err = space
            .check_architecture(&Architecture::new(cells.clone()).unwrap())
            .unwrap_err();
        assert!(
            matches!(
                err,
                SpaceError::EmptyCell {
                    cell: 1,
                    kind: 'R',
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("cell 1"));
    }

    #[test]
    fn child_drops_empty_cells_and_keeps_the_cost() {
        let space = SpaceSpec::preset("imagenet-mb27").unwrap().check().unwrap();
        let mut cells = vec![vec![3]; 22];
        cells[0] = vec![];
        cells[2] = vec![];
        cells[3] = vec![4, 21];
        let arch = Architecture::new(cells).unwrap();
        let cost = space.architecture_cost(&arch).unwrap();
        let child = space.child(&arch).unwrap();
        assert_eq!(child.architecture.num_cells(), 20);
        let (child_space, child_arch) = child.resolve().unwrap();
        let child_cost = child_space.architecture_cost(&child_arch).unwrap();
        assert_eq!(child_cost.total, cost.total);
        assert_eq!(child_space.widths(), space.widths());
        assert!(child_space.cells().iter().all(|c| {
            let original = space.cells().iter().find(|o| o.geometry == c.geometry);
            original.is_some()
        }));
    }
}
