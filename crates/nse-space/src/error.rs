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
    /// A name that is none of the known ones (a stem rule, a weight-sampling option).
    #[error("unknown {what} `{name}` (known: {known})")]
    UnknownName {
        /// What was named.
        what: &'static str,
        /// The name given.
        name: String,
        /// The known names.
        known: String,
    },
    /// A field of a space spec has an invalid value.
    #[error("invalid search space: `{field}` {reason}")]
    InvalidSpec {
        /// The field.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// An unknown preset name.
    #[error("unknown search-space preset `{name}` (known: {})", known.join(", "))]
    UnknownPreset {
        /// The name asked for.
        name: String,
        /// The presets there are.
        known: &'static [&'static str],
    },
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
    /// A cell holds more ops than the space's `max_branches`.
    #[error(
        "cell {cell} has {ops} ops, but the space allows at most {max} per cell (`max_branches`)"
    )]
    TooManyBranches {
        /// The cell.
        cell: usize,
        /// Ops it holds.
        ops: usize,
        /// The space's limit.
        max: usize,
    },
    /// A non-residual cell has no op.
    #[error(
        "cell {cell} ({kind}, {cin}->{cout} channels, stride {stride}) is not residual and needs at least one op"
    )]
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
    /// Importance indicators (α) do not have the shape cells × pool ops.
    #[error("importance indicators: {what} has {got} entries, expected {expected}")]
    AlphaShape {
        /// What has the wrong length: `cells`, or `cell <i>` for one cell's row.
        what: String,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// A sub-space or evolution state does not belong to the given space.
    #[error("{what} does not match the search space: {got} instead of {expected}")]
    SpaceMismatch {
        /// What differs (`cells`, `pool size`, `sub-space size K`, `residual cells`).
        what: &'static str,
        /// The space's value.
        expected: String,
        /// The value found.
        got: String,
    },
    /// A sub-space or a deserialized evolution state breaks an invariant.
    #[error("invalid {what}: {reason}")]
    InvalidState {
        /// `sub-space` or `evolution state`.
        what: &'static str,
        /// The broken invariant.
        reason: String,
    },
    /// A front architecture uses an op that is not in its cell's current sub-space.
    #[error(
        "front architecture {arch}, cell {cell}: op {index} is not in the cell's sub-space {subspace:?}"
    )]
    NotInSubspace {
        /// Position of the architecture in the front.
        arch: usize,
        /// The cell.
        cell: usize,
        /// The op index.
        index: usize,
        /// The cell's sub-space.
        subspace: Vec<usize>,
    },
    /// `evolve` was given an empty Pareto front.
    #[error("cannot evolve from an empty Pareto front")]
    EmptyFront,
    /// `evolve` was called after the last round.
    #[error("the search is finished: all {rounds} rounds have been evolved")]
    SearchFinished {
        /// Total rounds.
        rounds: usize,
    },
    /// A resource window or its sampler settings are invalid.
    #[error("invalid resource window: `{field}` {reason}")]
    InvalidWindow {
        /// The field.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// The resource-window sampler ran out of attempts before finding enough architectures.
    #[error(
        "resource window ({low}, {high}) is infeasible after {attempts} attempts: found {found} of {wanted} \
         architectures in the window and {found_extra} of {wanted_extra} in the extra band ({extra_low}, {low}]; \
         costs seen: {seen}",
        seen = match seen { Some((lo, hi)) => format!("{lo} to {hi}"), None => "none".to_string() }
    )]
    WindowInfeasible {
        /// Lower bound of the window (exclusive): `target − drift`.
        low: f64,
        /// Upper bound of the window (exclusive): `target + drift`.
        high: f64,
        /// Lower bound of the extra band (exclusive): `target − drift − extra_drift`.
        extra_low: f64,
        /// Architectures drawn.
        attempts: usize,
        /// Distinct architectures found in the window.
        found: usize,
        /// Architectures wanted in the window (`n`).
        wanted: usize,
        /// Distinct architectures found in the extra band.
        found_extra: usize,
        /// Architectures wanted in the extra band (`n_extra`).
        wanted_extra: usize,
        /// Smallest and largest cost of every architecture drawn (`None` when none was).
        seen: Option<(f64, f64)>,
    },
    /// No architecture of the sub-space can cost what the window (or the extra band) asks.
    #[error(
        "resource window ({low}, {high}) with extra band ({extra_low}, {low}] is out of reach: \
         the sub-space's architectures cost {cheapest} (cheapest) to {dearest} (every op on)"
    )]
    WindowUnreachable {
        /// Lower bound of the window (exclusive).
        low: f64,
        /// Upper bound of the window (exclusive).
        high: f64,
        /// Lower bound of the extra band (exclusive).
        extra_low: f64,
        /// Cost of the cheapest architecture.
        cheapest: f64,
        /// Cost of the most expensive architecture.
        dearest: f64,
    },
    /// A Pareto candidate has a cost or accuracy that is NaN or infinite.
    #[error("Pareto candidate {index}: {what} is {value}, expected a finite number")]
    NonFinite {
        /// Position of the candidate.
        index: usize,
        /// `cost` or `accuracy`.
        what: &'static str,
        /// The value.
        value: f64,
    },
}
