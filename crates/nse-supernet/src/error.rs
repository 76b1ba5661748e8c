//! Errors of the `nse-supernet` crate.

use thiserror::Error;

/// Result alias of the `nse-supernet` crate.
pub type Result<T> = std::result::Result<T, SupernetError>;

/// Errors of the `nse-supernet` crate.
#[derive(Debug, Error)]
pub enum SupernetError {
    /// The space or the architecture is invalid.
    #[error(transparent)]
    Space(#[from] nse_space::SpaceError),
    /// An op's data is invalid.
    #[error(transparent)]
    Ops(#[from] nse_ops::OpsError),
    /// An op's module could not be built.
    #[error(transparent)]
    Modules(#[from] nse_modules::ModulesError),
    /// An input tensor does not match the network.
    #[error(
        "input of shape {got:?} does not match the network's expected [batch, {channels}, {size}, {size}]"
    )]
    InputShape {
        /// The shape given.
        got: [usize; 4],
        /// Expected channels.
        channels: usize,
        /// Expected height and width.
        size: usize,
    },
    /// The two-path description has the wrong number of cells.
    #[error("indicator step got paths for {got} cells, the supernet has {expected}")]
    PathCount {
        /// Cells of the supernet.
        expected: usize,
        /// Cells given.
        got: usize,
    },
    /// An op index is outside the pool.
    #[error("cell {cell}: op index {index} is outside the pool of {pool} ops")]
    OpIndex {
        /// The cell.
        cell: usize,
        /// The index.
        index: usize,
        /// Pool size.
        pool: usize,
    },
    /// An architecture has the wrong number of cells for the supernet.
    #[error("architecture has {got} cells, the supernet has {expected}")]
    CellCount {
        /// Cells of the supernet.
        expected: usize,
        /// Cells given.
        got: usize,
    },
    /// A non-residual cell was given no op.
    #[error("cell {cell} is not residual and needs at least one op")]
    EmptyCell {
        /// The cell.
        cell: usize,
    },
    /// A child network cannot inherit from a supernet with shadow batch norms.
    #[error(
        "the supernet has shadow batch norms, which a child network does not have: its weights cannot be inherited as they are"
    )]
    ShadowBatchNorm,
    /// BN recalibration needs train-mode batch norm, which Burn enables on autodiff devices.
    #[error("BN recalibration needs the supernet on an autodiff device (use `device.autodiff()`)")]
    NotAutodiff,
    /// A replica of data-parallel work failed without an error of its own (its thread
    /// panicked).
    #[error("the replica on device {device} failed: {what}")]
    Replica {
        /// The device, as Burn prints it.
        device: String,
        /// What it was doing and what happened.
        what: String,
    },
    /// The ranks of a job were about to step on different paths (their seeds or inputs
    /// differ).
    #[error(
        "rank {rank}: the ranks drew different paths for {what}; they must share seeds and state"
    )]
    RanksDisagree {
        /// What was drawn.
        what: String,
        /// This rank.
        rank: usize,
    },
    /// A global batch smaller than the number of ranks leaves a rank without images.
    #[error("a batch of {batch} images cannot be split over {ranks} ranks")]
    BatchSmallerThanRanks {
        /// Images in the batch.
        batch: usize,
        /// Ranks of the job.
        ranks: usize,
    },
    /// BN recalibration got no batch.
    #[error("BN recalibration needs at least one batch")]
    NoBatches,
    /// Saving or loading failed.
    #[error("{action} `{path}`: {message}")]
    Store {
        /// `save` or `load`.
        action: &'static str,
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}
