//! Errors of the `nse-space` crate.

use thiserror::Error;

/// Result alias of the `nse-space` crate.
pub type Result<T> = std::result::Result<T, SpaceError>;

/// Errors of the `nse-space` crate. Messages name the field or the cell at fault.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SpaceError {
    /// An error from the op layer (pool, op spec, op geometry).
    #[error(transparent)]
    Ops(#[from] nse_ops::OpsError),
    /// A field of a space spec has an invalid value.
    #[error("invalid search space: `{field}` {reason}")]
    InvalidSpec {
        /// The field.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// An unknown preset name.
    #[error("unknown search-space preset `{0}` (known: {known})", known = crate::space::PRESETS.join(", "))]
    UnknownPreset(String),
    /// An architecture has the wrong number of cells.
    #[error("architecture has {got} cells but the space has {expected}")]
    WrongCellCount {
        /// Cells in the space.
        expected: usize,
        /// Cells in the architecture.
        got: usize,
    },
    /// An op index in a cell is out of the pool's range.
    #[error("cell {cell}: op index {index} is out of range for pool `{pool}` of {len} ops")]
    IndexOutOfRange {
        /// The cell.
        cell: usize,
        /// The index.
        index: usize,
        /// Pool name.
        pool: String,
        /// Pool size.
        len: usize,
    },
    /// A non-residual cell has no op.
    #[error("cell {cell} ({kind}, {cin}->{cout} channels, stride {stride}) is not residual and needs at least one op")]
    EmptyCell {
        /// The cell.
        cell: usize,
        /// Its kind (`N`, `R`, `E`).
        kind: char,
        /// Input channels.
        cin: usize,
        /// Output channels.
        cout: usize,
        /// Stride.
        stride: usize,
    },
    /// A cell lists an op twice.
    #[error("cell {cell}: op index {index} is listed twice")]
    DuplicateOp {
        /// The cell.
        cell: usize,
        /// The index.
        index: usize,
    },
    /// An architecture's text form could not be parsed.
    #[error("invalid architecture text `{text}`: {reason}")]
    ParseArchitecture {
        /// The text.
        text: String,
        /// What is wrong.
        reason: String,
    },
    /// An op does not fit its cell (e.g. groups not dividing the cell's channels).
    #[error("cell {cell}: {source}")]
    OpDoesNotFit {
        /// The cell.
        cell: usize,
        /// The op-level error.
        source: nse_ops::OpsError,
    },
}
