//! A search run's folder: the one place that knows its files.
//!
//! | file | content | written by |
//! |---|---|---|
//! | [`CONFIG_FILE`] `config.json` | the [`SearchConfig`] as resolved (relative resource and default pipelines made explicit) | [`Search::new`](crate::search::Search::new) |
//! | [`LOG_FILE`] `log.jsonl` | one [`SearchEvent`](crate::search::events::SearchEvent) per line | the search, as it runs |
//! | `checkpoint/`, `checkpoint.previous/` | the latest checkpoint and its fallback | [`crate::search::checkpoint`] |
//! | `pareto_round<N>.png` | the Pareto chart of round N (from 1) | the end of each round |
//! | [`FRONT_FILE`] `front.json` | the final front ([`FrontFile`]) | the end of the search |
//! | [`REPORT_FILE`] `report.html` | the self-contained report | `nse search`, `nse report` |
//! | [`RETRAIN_DIR`] `retrain/` | the retraining of a front entry | `nse search --retrain` |
//! | [`TENSORBOARD_DIR`] `tensorboard/` | TensorBoard event files | `nse search` (and `nse retrain` in its own folder) |
//!
//! Every JSON file is written whole or not at all ([`write_json`], through
//! [`nse_durable::write_json`]).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::search::error::{Result, SearchError};
use crate::search::{FrontFile, SearchConfig};

/// The search's configuration.
pub const CONFIG_FILE: &str = "config.json";
/// The final front.
pub const FRONT_FILE: &str = "front.json";
/// The event log.
pub const LOG_FILE: &str = "log.jsonl";
/// The HTML report.
pub const REPORT_FILE: &str = "report.html";
/// The retraining of `nse search --retrain`.
pub const RETRAIN_DIR: &str = "retrain";
/// TensorBoard event files ([`crate::tensorboard`]), in a run or a retraining folder.
pub const TENSORBOARD_DIR: &str = "tensorboard";

/// A search run's folder (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunDir(PathBuf);

impl RunDir {
    /// The run folder at `path` (nothing is read or created).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        RunDir(path.into())
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.0.join(CONFIG_FILE)
    }

    /// Whether the folder holds a `config.json`.
    pub fn has_config(&self) -> bool {
        self.config_path().is_file()
    }

    /// Reads `config.json` (not checked: see [`SearchConfig::check`]).
    pub fn read_config(&self) -> Result<SearchConfig> {
        read_json(&self.config_path())
    }

    /// Writes `config.json`.
    pub fn write_config(&self, config: &SearchConfig) -> Result<()> {
        write_json(&self.config_path(), config)
    }

    /// `front.json`.
    pub fn front_path(&self) -> PathBuf {
        self.0.join(FRONT_FILE)
    }

    /// Whether the search finished: the folder holds a `front.json`.
    pub fn has_front(&self) -> bool {
        self.front_path().is_file()
    }

    /// Reads `front.json`.
    pub fn read_front(&self) -> Result<FrontFile> {
        FrontFile::read(&self.front_path())
    }

    /// Writes `front.json`.
    pub fn write_front(&self, front: &FrontFile) -> Result<()> {
        front.write(&self.front_path())
    }

    /// `log.jsonl`.
    pub fn log_path(&self) -> PathBuf {
        self.0.join(LOG_FILE)
    }

    /// `report.html`.
    pub fn report_path(&self) -> PathBuf {
        self.0.join(REPORT_FILE)
    }

    /// The Pareto chart of `round` (from 1), `pareto_round<round>.png`.
    pub fn pareto_plot_path(&self, round: usize) -> PathBuf {
        self.0.join(format!("pareto_round{round}.png"))
    }

    /// The Pareto charts of every round, as a pattern for messages (`pareto_round*.png`).
    pub fn pareto_plots_pattern(&self) -> PathBuf {
        self.0.join("pareto_round*.png")
    }

    /// `retrain/`.
    pub fn retrain_dir(&self) -> PathBuf {
        self.0.join(RETRAIN_DIR)
    }

    /// `tensorboard/`.
    pub fn tensorboard_dir(&self) -> PathBuf {
        self.0.join(TENSORBOARD_DIR)
    }
}

impl AsRef<Path> for RunDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

/// Reads the JSON file at `path` into a `T`, naming the file in errors.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| SearchError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| SearchError::Json {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Writes `value` as pretty JSON to `path`, whole or not at all
/// ([`nse_durable::write_json`]), naming the file in errors.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    nse_durable::write_json(path, value).map_err(|e| SearchError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_names_every_file_and_round_trips_its_json() {
        let dir = std::env::temp_dir().join(format!("nse-run-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let run = RunDir::new(&dir);
        assert_eq!(run.config_path(), dir.join("config.json"));
        assert_eq!(run.front_path(), dir.join("front.json"));
        assert_eq!(run.log_path(), dir.join("log.jsonl"));
        assert_eq!(run.report_path(), dir.join("report.html"));
        assert_eq!(run.pareto_plot_path(2), dir.join("pareto_round2.png"));
        assert_eq!(run.retrain_dir(), dir.join("retrain"));
        assert!(!run.has_config() && !run.has_front());
        let err = run.read_config().unwrap_err();
        assert!(err.to_string().contains("config.json"), "{err}");
        let config = SearchConfig::preset("demo").unwrap();
        run.write_config(&config).unwrap();
        assert!(run.has_config());
        assert_eq!(run.read_config().unwrap(), config);
        std::fs::write(run.config_path(), "{").unwrap();
        let err = run.read_config().unwrap_err();
        assert!(err.to_string().contains("config.json"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
