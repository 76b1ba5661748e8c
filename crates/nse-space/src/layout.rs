//! Layout plans: the sequence of normal, reduction and expansion cells of a network, and the
//! stage widths (docs/method.md §3).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kind of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CellKind {
    /// `N`: stride 1, stays in the stage.
    #[serde(rename = "N")]
    Normal,
    /// `R`: stride 2, moves to the next stage.
    #[serde(rename = "R")]
    Reduction,
    /// `E`: stride 1, moves to the next stage.
    #[serde(rename = "E")]
    Expansion,
}

impl CellKind {
    /// The letter of the kind.
    pub fn letter(self) -> char {
        match self {
            CellKind::Normal => 'N',
            CellKind::Reduction => 'R',
            CellKind::Expansion => 'E',
        }
    }

    /// The kind of a letter.
    pub fn from_letter(c: char) -> Option<Self> {
        match c {
            'N' => Some(CellKind::Normal),
            'R' => Some(CellKind::Reduction),
            'E' => Some(CellKind::Expansion),
            _ => None,
        }
    }

    /// Stride of the cell.
    pub fn stride(self) -> usize {
        match self {
            CellKind::Reduction => 2,
            _ => 1,
        }
    }

    /// Whether the cell moves to the next stage.
    pub fn next_stage(self) -> bool {
        self != CellKind::Normal
    }
}

impl fmt::Display for CellKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

/// How the cells of a network are laid out.
///
/// Serde: `"NR"`, `"NER"` (with `depths`), or `{"cells": "NNRNE"}` for an explicit cell string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LayoutPlan {
    /// `NR` or `NER` plan expanded with per-stage depths.
    Plan(PlanKind),
    /// An explicit string of `N`, `R`, `E` letters (depths are ignored).
    Cells {
        /// The cell letters.
        cells: String,
    },
}

/// The two reference plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanKind {
    /// `N^x0 R N^x1 R N^x2 R N^x3 R N^x4` (5 depths, 5 stage widths).
    #[serde(rename = "NR")]
    Nr,
    /// `N^x0 R N^x1 R N^x2 R N^x3 E N^x4 R N^x5 E` (6 depths, 7 stage widths).
    #[serde(rename = "NER")]
    Ner,
}

impl PlanKind {
    /// The stage-changing cells that follow each depth group (`None` after the last one).
    pub fn transitions(self) -> &'static [Option<CellKind>] {
        use CellKind::{Expansion as E, Reduction as R};
        match self {
            PlanKind::Nr => &[Some(R), Some(R), Some(R), Some(R), None],
            PlanKind::Ner => &[Some(R), Some(R), Some(R), Some(E), Some(R), Some(E)],
        }
    }

    /// Number of depths the plan takes.
    pub fn num_depths(self) -> usize {
        self.transitions().len()
    }
}

impl LayoutPlan {
    /// The cell sequence for `depths` (ignored by explicit layouts). The caller has checked
    /// the number of depths.
    pub fn cells(&self, depths: &[usize]) -> Vec<CellKind> {
        match self {
            LayoutPlan::Plan(plan) => {
                let mut cells = Vec::new();
                for (&depth, transition) in depths.iter().zip(plan.transitions()) {
                    cells.extend(std::iter::repeat_n(CellKind::Normal, depth));
                    cells.extend(*transition);
                }
                cells
            }
            LayoutPlan::Cells { cells } => {
                cells.chars().filter_map(CellKind::from_letter).collect()
            }
        }
    }
}

/// `make_divisible(v, 8)`: round to the nearest multiple of `divisor`, never below `divisor`,
/// and never more than 10% below `v` (the MobileNet rule used for width scaling).
pub fn make_divisible(value: f64, divisor: usize) -> usize {
    let d = divisor as f64;
    let mut rounded = (((value + d / 2.0) / d).floor() * d).max(d);
    if rounded < 0.9 * value {
        rounded += d;
    }
    rounded as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_expand_as_specified() {
        let ner = LayoutPlan::Plan(PlanKind::Ner).cells(&[1, 2, 0, 1, 1, 1]);
        let text: String = ner.iter().map(|c| c.letter()).collect();
        assert_eq!(text, "NRNNRRNENRNE");
        let nr = LayoutPlan::Plan(PlanKind::Nr).cells(&[0, 1, 2, 1, 3]);
        let text: String = nr.iter().map(|c| c.letter()).collect();
        assert_eq!(text, "RNRNNRNRNNN");
    }

    #[test]
    fn make_divisible_matches_the_mobilenet_rule() {
        assert_eq!(make_divisible(24.0 * 1.04, 8), 24); // 24.96
        assert_eq!(make_divisible(40.0 * 1.04, 8), 40); // 41.6
        assert_eq!(make_divisible(80.0 * 1.04, 8), 80); // 83.2
        assert_eq!(make_divisible(96.0 * 1.045, 8), 104); // 100.32 -> 104
        assert_eq!(make_divisible(320.0 * 1.04, 8), 336); // 332.8
        assert_eq!(make_divisible(3.0, 8), 8);
        assert_eq!(make_divisible(12.0, 8), 16); // ties round up
        assert_eq!(make_divisible(91.0, 8), 88); // 88 >= 0.9 * 91
        assert_eq!(make_divisible(11.9, 8), 16); // rounds to 8 < 0.9 * 11.9, so bumped
    }
}
