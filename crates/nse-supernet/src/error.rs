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
    /// An op could not be built.
    #[error(transparent)]
    Ops(#[from] nse_ops::OpsError),
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
}
