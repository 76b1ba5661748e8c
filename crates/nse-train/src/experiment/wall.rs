//! An experiment's wall-clock time over all its sessions: an interrupted experiment that is
//! run again reports the time of every session, not only of the last one.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::Result;
use crate::run_dir::{read_json, write_json};

/// The file in the experiment's folder that keeps the seconds of the sessions so far.
pub const WALL_FILE: &str = "wall.json";

#[derive(Serialize, Deserialize)]
struct Ledger {
    /// Wall-clock seconds over every session, up to the last recorded step.
    seconds: f64,
}

/// Counts wall-clock seconds from the earlier sessions' [`WALL_FILE`] on.
pub(crate) struct WallClock {
    file: PathBuf,
    before: f64,
    session: Instant,
}

impl WallClock {
    /// Starts this session's count in `out`. Without a [`WALL_FILE`] (a new experiment, or
    /// one written by a version without it) the earlier time is the `wall_seconds` of the
    /// finished `report` there, if any.
    pub(crate) fn open(out: &Path, report: &Path) -> Result<Self> {
        let file = out.join(WALL_FILE);
        let before = if file.exists() {
            read_json::<Ledger>(&file)?.seconds
        } else if report.exists() {
            read_json::<serde_json::Value>(report)?
                .get("wall_seconds")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(0.0)
        } else {
            0.0
        };
        Ok(WallClock {
            file,
            before,
            session: Instant::now(),
        })
    }

    /// Seconds over every session, this one up to now.
    pub(crate) fn seconds(&self) -> f64 {
        self.before + self.session.elapsed().as_secs_f64()
    }

    /// Keeps [`seconds`](Self::seconds) for the next session: called after every step that
    /// a rerun would not repeat (a search, a scored candidate, a retraining, a report), so
    /// that an interruption loses at most the time of the unfinished step.
    pub(crate) fn record(&self) -> Result<()> {
        write_json(
            &self.file,
            &Ledger {
                seconds: self.seconds(),
            },
        )?;
        Ok(())
    }
}
