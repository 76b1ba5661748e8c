//! Errors of the experiments.

use thiserror::Error;

/// Result alias of the experiments.
pub type Result<T> = std::result::Result<T, ExperimentError>;

/// What can stop an experiment.
#[derive(Debug, Error)]
pub enum ExperimentError {
    /// An invalid setting, or an output folder that holds another experiment.
    #[error("experiment: {0}")]
    Config(String),
    /// The search (or reading its run directory) failed.
    #[error(transparent)]
    Search(#[from] crate::search::SearchError),
    /// Retraining an architecture failed.
    #[error(transparent)]
    Retrain(#[from] crate::retrain::RetrainError),
    /// The space or an architecture is invalid.
    #[error(transparent)]
    Space(#[from] nse_space::SpaceError),
    /// A raised [`StopFlag`](crate::interrupt::StopFlag) stopped the experiment at a safe
    /// point (`what` says where); rerunning the same command continues it.
    #[error("experiment stopped as asked {what}: rerun the same command to continue")]
    Interrupted {
        /// Where it stopped.
        what: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl ExperimentError {
    /// A failed read or write of `path`.
    pub fn file(path: &std::path::Path, message: impl ToString) -> Self {
        ExperimentError::File {
            path: path.display().to_string(),
            message: message.to_string(),
        }
    }
}
