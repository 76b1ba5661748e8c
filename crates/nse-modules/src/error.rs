//! Errors of the `nse-modules` crate.

use thiserror::Error;

/// Result alias of the `nse-modules` crate.
pub type Result<T> = std::result::Result<T, ModulesError>;

/// Errors of the `nse-modules` crate.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ModulesError {
    /// An op spec that does not fit its place (channels, stride, groups), or another error
    /// of the ops' data.
    #[error(transparent)]
    Ops(#[from] nse_ops::OpsError),
    /// `NSE_CPU_KERNELS` (or a kernel mode given as text) is not `off`, `dense` or `all`.
    #[error("unknown CPU kernel mode `{0}` (NSE_CPU_KERNELS): expected off, dense or all")]
    KernelMode(String),
    /// A layer could not be timed.
    #[error("cannot time layer {key}: {message}")]
    LatencyMeasure {
        /// The layer's key.
        key: String,
        /// Why.
        message: String,
    },
}

impl From<nse_ops::SpecError> for ModulesError {
    fn from(e: nse_ops::SpecError) -> Self {
        ModulesError::Ops(e.into())
    }
}
