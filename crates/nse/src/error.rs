//! The one error of the `nse` facade and its command line: every crate's error, with the
//! context of what was being done.

use std::path::PathBuf;

use thiserror::Error;

/// Result alias of the facade.
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong in nse, from any of its crates.
#[derive(Debug, Error)]
pub enum Error {
    /// A search (configuration, data, checkpoints, the run folder).
    #[error(transparent)]
    Search(#[from] nse_train::search::SearchError),
    /// A retraining or an evaluation.
    #[error(transparent)]
    Retrain(#[from] nse_train::retrain::RetrainError),
    /// An experiment.
    #[error(transparent)]
    Experiment(#[from] nse_train::experiment::ExperimentError),
    /// A latency table or its measurement.
    #[error(transparent)]
    Latency(#[from] nse_train::latency::LatencyError),
    /// A space, an architecture or a network.
    #[error(transparent)]
    Space(#[from] nse_space::SpaceError),
    /// The ops' data (specs, pools, latency tables).
    #[error(transparent)]
    Ops(#[from] nse_ops::OpsError),
    /// A dataset.
    #[error(transparent)]
    Data(#[from] nse_data::DataError),
    /// A supernet or a child network.
    #[error(transparent)]
    Supernet(#[from] nse_supernet::SupernetError),
    /// A file that could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A JSON file or value that could not be read.
    #[error("{what}: {source}")]
    Json {
        /// The file or the value.
        what: String,
        /// What went wrong.
        source: serde_json::Error,
    },
    /// Input that makes no sense: an unknown name, a missing or conflicting option.
    #[error("{0}")]
    Usage(String),
    /// Another error, with what was being done when it happened.
    #[error("{context}: {source}")]
    Context {
        /// What was being done.
        context: String,
        /// The error.
        source: Box<Error>,
    },
}

impl Error {
    /// A failed read or write of `path`.
    pub fn file(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::File {
            path: path.into(),
            source,
        }
    }
}

impl From<String> for Error {
    /// A usage error with this message.
    fn from(message: String) -> Self {
        Error::Usage(message)
    }
}

impl From<&str> for Error {
    /// A usage error with this message.
    fn from(message: &str) -> Self {
        Error::Usage(message.to_string())
    }
}

/// Adds what was being done to an error.
pub trait Context<T> {
    /// The error, prefixed with `context` (`--run runs/x: …`).
    fn context(self, context: impl Into<String>) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: context.into(),
            source: Box::new(e.into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn errors_keep_their_source_and_gain_context() {
        let search: std::result::Result<(), _> = Err(nse_train::search::SearchError::Config(
            "`batch_size` must be at least 1".into(),
        ));
        let err = search.context("--config runs/x.json").unwrap_err();
        assert_eq!(
            err.to_string(),
            "--config runs/x.json: invalid search config: `batch_size` must be at least 1"
        );
        // The cause stays reachable, without the context.
        assert_eq!(
            err.source().map(|s| s.to_string()).as_deref(),
            Some("invalid search config: `batch_size` must be at least 1")
        );
        let missing = std::fs::read("/nonexistent/nse").unwrap_err();
        let err = Error::file("/nonexistent/nse", missing);
        assert!(err.to_string().starts_with("/nonexistent/nse: "), "{err}");
    }
}
