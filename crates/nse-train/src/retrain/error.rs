//! Errors of retraining and evaluation.

use std::path::PathBuf;

/// Result alias of [`retrain`](super).
pub type Result<T> = std::result::Result<T, RetrainError>;

/// Everything that can go wrong while retraining or evaluating a network.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RetrainError {
    /// A configuration parameter is invalid.
    #[error("retraining config: `{field}` = {value}: {reason}")]
    Config {
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// Reading or loading data failed.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// The network spec is invalid.
    #[error(transparent)]
    Space(#[from] nse_space::SpaceError),
    /// Building, running, saving or loading the network failed.
    #[error(transparent)]
    Network(#[from] nse_supernet::SupernetError),
    /// The data do not fit the network.
    #[error("{0}")]
    Mismatch(String),
    /// The training loss became NaN or infinite.
    #[error(
        "training diverged: loss {loss} at epoch {epoch}, batch {batch} (lr {lr}); nothing was \
         saved after it, {last_good}; lower the learning rate"
    )]
    Diverged {
        /// Epoch, from 1.
        epoch: usize,
        /// Batch within the epoch, from 0.
        batch: usize,
        /// Learning rate of the step.
        lr: f64,
        /// The loss.
        loss: f64,
        /// Where the last good checkpoint is, in words.
        last_good: String,
    },
    /// A raised stop flag ([`RetrainOptions::stop`](crate::retrain::RetrainOptions::stop))
    /// stopped the run.
    #[error(
        "retraining stopped as asked in epoch {epoch}; the checkpoint after epoch {kept} is kept: run it again to continue from there"
    )]
    Interrupted {
        /// The epoch that was stopped, from 1.
        epoch: usize,
        /// Epochs complete in the checkpoint.
        kept: usize,
    },
    /// A checkpoint cannot be used.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint folder or file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The ranks of a job (`nse_cluster`) disagree, another rank failed, or files could not
    /// be passed between them.
    #[error(transparent)]
    Ranks(#[from] crate::ranks::RanksError),
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file could not be written or read.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
}

impl RetrainError {
    pub(crate) fn config(field: &'static str, value: impl ToString, reason: impl ToString) -> Self {
        RetrainError::Config {
            field,
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        RetrainError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn checkpoint(path: impl Into<PathBuf>, message: impl ToString) -> Self {
        RetrainError::Checkpoint {
            path: path.into(),
            message: message.to_string(),
        }
    }
}
