//! The sub-space: per cell, the pool ops that may be sampled in the current round
//! (docs/method.md §1, §6).

use serde::{Deserialize, Serialize};

use crate::architecture::Architecture;
use crate::error::{Result, SpaceError};
use crate::space::SearchSpace;

/// Per cell, the sorted set of pool indices a sampler may switch on, with whether the cell is
/// residual (and may therefore be sampled empty).
///
/// Invariants (checked by [`SubSpace::new`] and on deserialization): one entry per cell of the
/// space, indices in range, no repeats, and every non-residual cell non-empty — so that every
/// sampler can always produce a valid architecture.
///
/// ```
/// use nse_space::{SpaceSpec, SubSpace};
/// let space = SpaceSpec::preset("cifar10-mb27").unwrap().check().unwrap();
/// let mut cells = vec![vec![0, 3]; space.num_cells()];
/// cells[0] = vec![]; // cell 0 is residual: it may have no op at all
/// let sub = SubSpace::new(&space, cells).unwrap();
/// assert!(sub.is_deterministic(0));
/// assert_eq!(sub.ops(1), &[0, 3]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SubSpaceRepr")]
pub struct SubSpace {
    pub(crate) pool_size: usize,
    pub(crate) residual: Vec<bool>,
    pub(crate) cells: Vec<Vec<usize>>,
    /// The space's `max_branches`: samplers never switch on more ops in a cell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_branches: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubSpaceRepr {
    pool_size: usize,
    residual: Vec<bool>,
    cells: Vec<Vec<usize>>,
    #[serde(default)]
    max_branches: Option<usize>,
}

impl TryFrom<SubSpaceRepr> for SubSpace {
    type Error = SpaceError;
    fn try_from(repr: SubSpaceRepr) -> Result<Self> {
        let sub = SubSpace {
            pool_size: repr.pool_size,
            residual: repr.residual,
            cells: repr.cells,
            max_branches: repr.max_branches,
        };
        sub.validate()?;
        Ok(sub)
    }
}

impl SubSpace {
    /// A sub-space of `space` from per-cell op lists (sorted here; repeats, out-of-range
    /// indices and empty non-residual cells are errors naming the cell).
    pub fn new(space: &SearchSpace, mut cells: Vec<Vec<usize>>) -> Result<Self> {
        if cells.len() != space.num_cells() {
            return Err(SpaceError::WrongCellCount {
                expected: space.num_cells(),
                got: cells.len(),
            });
        }
        for ops in &mut cells {
            ops.sort_unstable();
        }
        let sub = SubSpace {
            pool_size: space.pool().len(),
            residual: space.cells().iter().map(|c| c.is_residual()).collect(),
            cells,
            max_branches: space.spec().max_branches,
        };
        sub.validate_in(space)?;
        Ok(sub)
    }

    /// Every pool op in every cell.
    pub fn full(space: &SearchSpace) -> Self {
        SubSpace {
            pool_size: space.pool().len(),
            residual: space.cells().iter().map(|c| c.is_residual()).collect(),
            cells: vec![(0..space.pool().len()).collect(); space.num_cells()],
            max_branches: space.spec().max_branches,
        }
    }

    /// The per-cell sorted op sets.
    pub fn cells(&self) -> &[Vec<usize>] {
        &self.cells
    }

    /// The sorted ops of `cell` (panics if `cell` is out of range).
    pub fn ops(&self, cell: usize) -> &[usize] {
        &self.cells[cell]
    }

    /// Number of cells.
    pub fn num_cells(&self) -> usize {
        self.cells.len()
    }

    /// Size of the candidate pool the indices refer to.
    pub fn pool_size(&self) -> usize {
        self.pool_size
    }

    /// Most ops a sampler switches on in a cell (the space's `max_branches`; `None`: any).
    pub fn max_branches(&self) -> Option<usize> {
        self.max_branches
    }

    /// Whether `cell` is residual (may be sampled empty); panics if `cell` is out of range.
    pub fn is_residual(&self, cell: usize) -> bool {
        self.residual[cell]
    }

    /// Whether op `index` is in the sub-space of `cell`.
    pub fn contains(&self, cell: usize, index: usize) -> bool {
        self.cells
            .get(cell)
            .is_some_and(|ops| ops.binary_search(&index).is_ok())
    }

    /// Whether `cell` has a single possible branch set: an empty sub-space, or a single op in
    /// a non-residual cell. Samplers return that set for both paths (docs/method.md §6).
    pub fn is_deterministic(&self, cell: usize) -> bool {
        let n = self.cells[cell].len();
        n == 0 || (n == 1 && !self.residual[cell])
    }

    /// Whether every op of `arch` lies in this sub-space (and the cell counts agree).
    pub fn contains_architecture(&self, arch: &Architecture) -> bool {
        arch.num_cells() == self.num_cells()
            && arch
                .cells()
                .iter()
                .enumerate()
                .all(|(cell, ops)| ops.iter().all(|&i| self.contains(cell, i)))
    }

    /// Checks that this sub-space belongs to `space`: same cell count, pool size and
    /// residual cells.
    pub fn check_space(&self, space: &SearchSpace) -> Result<()> {
        if self.num_cells() != space.num_cells() {
            return Err(SpaceError::SpaceMismatch {
                what: "cells",
                expected: space.num_cells().to_string(),
                got: self.num_cells().to_string(),
            });
        }
        if self.pool_size != space.pool().len() {
            return Err(SpaceError::SpaceMismatch {
                what: "pool size",
                expected: space.pool().len().to_string(),
                got: self.pool_size.to_string(),
            });
        }
        let residual: Vec<bool> = space.cells().iter().map(|c| c.is_residual()).collect();
        if residual != self.residual {
            return Err(SpaceError::SpaceMismatch {
                what: "residual cells",
                expected: format!("{residual:?}"),
                got: format!("{:?}", self.residual),
            });
        }
        if space.spec().max_branches != self.max_branches {
            return Err(SpaceError::SpaceMismatch {
                what: "max_branches",
                expected: format!("{:?}", space.spec().max_branches),
                got: format!("{:?}", self.max_branches),
            });
        }
        Ok(())
    }

    fn validate_in(&self, space: &SearchSpace) -> Result<()> {
        for (cell, ops) in self.cells.iter().enumerate() {
            if let Some(w) = ops.windows(2).find(|w| w[0] == w[1]) {
                return Err(SpaceError::DuplicateOp { cell, index: w[0] });
            }
            if let Some(&index) = ops.iter().find(|&&i| i >= self.pool_size) {
                return Err(SpaceError::IndexOutOfRange {
                    cell,
                    index,
                    pool: space.pool().name().to_string(),
                    len: self.pool_size,
                });
            }
            if ops.is_empty() && !self.residual[cell] {
                let c = &space.cells()[cell];
                return Err(SpaceError::EmptyCell {
                    cell,
                    kind: c.kind.letter(),
                    cin: c.geometry.cin,
                    cout: c.geometry.cout,
                    stride: c.geometry.stride,
                });
            }
        }
        Ok(())
    }

    /// Internal invariants, without a space at hand (deserialization).
    pub(crate) fn validate(&self) -> Result<()> {
        let fail = |reason: String| SpaceError::InvalidState {
            what: "sub-space",
            reason,
        };
        if self.max_branches == Some(0) {
            return Err(fail("max_branches is 0".into()));
        }
        if self.residual.len() != self.cells.len() {
            return Err(fail(format!(
                "{} residual flags for {} cells",
                self.residual.len(),
                self.cells.len()
            )));
        }
        for (cell, ops) in self.cells.iter().enumerate() {
            if ops.windows(2).any(|w| w[0] >= w[1]) {
                return Err(fail(format!(
                    "cell {cell}: ops {ops:?} are not sorted and distinct"
                )));
            }
            if let Some(&i) = ops.iter().find(|&&i| i >= self.pool_size) {
                return Err(fail(format!(
                    "cell {cell}: op {i} is out of range for a pool of {} ops",
                    self.pool_size
                )));
            }
            if ops.is_empty() && !self.residual[cell] {
                return Err(fail(format!("cell {cell} is not residual and has no op")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::SpaceSpec;

    fn space() -> SearchSpace {
        SpaceSpec::preset("cifar10-mb27").unwrap().check().unwrap()
    }

    #[test]
    fn construction_is_validated_with_the_cell_named() {
        let space = space();
        let n = space.num_cells();
        assert!(matches!(
            SubSpace::new(&space, vec![vec![0]; n - 1]),
            Err(SpaceError::WrongCellCount {
                expected: 12,
                got: 11
            })
        ));
        let mut cells = vec![vec![4, 1]; n];
        let sub = SubSpace::new(&space, cells.clone()).unwrap();
        assert_eq!(sub.ops(3), &[1, 4]);
        cells[2] = vec![1, 1];
        assert_eq!(
            SubSpace::new(&space, cells.clone()),
            Err(SpaceError::DuplicateOp { cell: 2, index: 1 })
        );
        cells[2] = vec![27];
        assert!(matches!(
            SubSpace::new(&space, cells.clone()),
            Err(SpaceError::IndexOutOfRange {
                cell: 2,
                index: 27,
                len: 27,
                ..
            })
        ));
        cells[2] = vec![];
        assert!(
            SubSpace::new(&space, cells.clone()).is_ok(),
            "cell 2 is N, residual"
        );
        cells[1] = vec![];
        assert!(matches!(
            SubSpace::new(&space, cells),
            Err(SpaceError::EmptyCell {
                cell: 1,
                kind: 'R',
                ..
            })
        ));
    }

    #[test]
    fn determinism_and_membership() {
        let space = space();
        let mut cells = vec![vec![0, 5]; space.num_cells()];
        cells[0] = vec![];
        cells[1] = vec![7];
        cells[2] = vec![7];
        let sub = SubSpace::new(&space, cells).unwrap();
        assert!(sub.is_deterministic(0)); // empty
        assert!(sub.is_deterministic(1)); // one op, non-residual
        assert!(!sub.is_deterministic(2)); // one op, residual: {} or {7}
        assert!(!sub.is_deterministic(3));
        assert!(sub.contains(3, 5) && !sub.contains(3, 4) && !sub.contains(99, 0));
        let mut arch = vec![vec![0]; 12];
        arch[0] = vec![];
        arch[1] = vec![7];
        arch[2] = vec![];
        assert!(sub.contains_architecture(&Architecture::new(arch.clone()).unwrap()));
        arch[4] = vec![0, 4];
        assert!(!sub.contains_architecture(&Architecture::new(arch).unwrap()));
    }

    #[test]
    fn serde_round_trip_and_invariants() {
        let space = space();
        let sub = SubSpace::full(&space);
        sub.check_space(&space).unwrap();
        let json = serde_json::to_string(&sub).unwrap();
        assert_eq!(serde_json::from_str::<SubSpace>(&json).unwrap(), sub);
        let bad = r#"{"pool_size": 3, "residual": [true, false], "cells": [[0], []]}"#;
        let err = serde_json::from_str::<SubSpace>(bad).unwrap_err();
        assert!(err.to_string().contains("cell 1 is not residual"), "{err}");
        let bad = r#"{"pool_size": 3, "residual": [true], "cells": [[2, 1]]}"#;
        assert!(serde_json::from_str::<SubSpace>(bad).is_err());
        let other = SpaceSpec::preset("cifar10-mb72").unwrap().check().unwrap();
        assert!(matches!(
            sub.check_space(&other),
            Err(SpaceError::SpaceMismatch {
                what: "pool size",
                ..
            })
        ));
    }
}
