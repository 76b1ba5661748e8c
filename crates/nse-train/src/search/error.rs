//! Errors of the search.

use thiserror::Error;

/// Result alias of the search.
pub type Result<T> = std::result::Result<T, SearchError>;

/// What can stop a search.
#[derive(Debug, Error)]
pub enum SearchError {
    /// An invalid configuration value.
    #[error("invalid search config: {0}")]
    Config(String),
    /// The space, an architecture, the evolution state or a sampler failed.
    #[error(transparent)]
    Space(#[from] nse_space::SpaceError),
    /// The supernet failed.
    #[error(transparent)]
    Supernet(#[from] nse_supernet::SupernetError),
    /// Loading data failed.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A JSON file could not be read.
    #[error("{path}: {message}")]
    Json {
        /// The file.
        path: String,
        /// The cause.
        message: String,
    },
    /// A checkpoint is missing, incomplete or does not match the run.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint folder.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The ranks of a job (`nse_cluster`) disagree, another rank failed, or files could not
    /// be passed between them.
    #[error(transparent)]
    Ranks(#[from] crate::ranks::RanksError),
    /// The resource window cannot be met by the space.
    #[error("infeasible resource window: {0}")]
    Infeasible(String),
    /// Training diverged: a non-finite loss or indicator. Nothing is saved after it, so the
    /// run's checkpoint is the last good state.
    #[error(
        "training diverged in round {round} at weight step {step}: {what}. Nothing was saved \
         after it; {last_good}. The run is deterministic, so resuming repeats the divergence: \
         start again with a lower `lr.base` or `indicator.lr`"
    )]
    Diverged {
        /// Round (1-based).
        round: usize,
        /// Weight step within the round (1-based).
        step: u64,
        /// What was not finite, with its value.
        what: String,
        /// Where the last good checkpoint is, in words.
        last_good: String,
    },
}

impl SearchError {
    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        SearchError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
