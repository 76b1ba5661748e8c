//! An experiment's retrainings spread over the ranks of a job (`nse_cluster`).
//!
//! Rank 0 runs the experiment as one process would: its searches, its scoring and its
//! report. The retrainings are independent, so they are what the other ranks take: when
//! rank 0 reaches a batch of unfinished retrainings, it keeps the first and gives one to
//! each other rank ([`Order::Retrain`], broadcast), trains its own into its folder, then
//! receives each other rank's output folder (its `report.json`, `network.json` and final
//! weights) and writes it where it would have trained it itself. A retraining is
//! deterministic on a given machine, so the report is the one of one rank. The other ranks
//! wait in [`serve_retrainings`] until rank 0's experiment is dropped ([`Order::Done`]).
//!
//! A rank's retraining runs alone on that rank (its devices, no all-reduce), in a private
//! temporary folder removed once sent; one interrupted there restarts from its first epoch
//! when the experiment is run again (rank 0's own resumes from its checkpoint).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::tensor::Device;
use nse_cluster::{Collective, SharedFile};
use nse_space::NetworkSpec;
use serde::{Deserialize, Serialize};

use super::error::{ExperimentError, Result};
use crate::interrupt::StopFlag;
use crate::progress::Reporter;
use crate::ranks::{files_in, read_files, write_files};
use crate::retrain::{RetrainConfig, RetrainError, RetrainOptions, retrain};
use crate::search::DataSource;
use crate::search::data::retrain_data;

/// One retraining given to a rank.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Assignment {
    /// The network to retrain.
    pub network: NetworkSpec,
    /// Its data.
    pub source: DataSource,
    /// The recipe, its seed included.
    pub recipe: RetrainConfig,
}

/// What rank 0 tells the other ranks next.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Order {
    /// Rank `r` retrains entry `r - 1` (ranks beyond the list wait for the next order), then
    /// every rank that retrained sends its output folder, rank 1 first.
    Retrain(Vec<Assignment>),
    /// The experiment is over: return.
    Done,
}

/// The name of the file that carries a rank's error instead of its output folder.
const ERROR_FILE: &str = "!error";

/// Broadcasts `order` from rank 0.
pub(crate) fn send_order(ranks: &dyn Collective, order: &Order) {
    let mut bytes = serde_json::to_vec(order).expect("orders serialise");
    ranks.broadcast(0, &mut bytes);
}

/// Rank `from`'s output folder, written into `dir` on rank 0; the rank's error, when its
/// retraining failed. Collective (every rank calls it for each `from`).
pub(crate) fn receive(ranks: &dyn Collective, from: usize, dir: &Path) -> Result<()> {
    let files = ranks
        .broadcast_files(from, Vec::new())
        .map_err(|e| ExperimentError::Config(format!("rank {from}'s retraining: {e}")))?;
    if let Some(error) = files.iter().find(|f| f.name == ERROR_FILE) {
        let message = String::from_utf8_lossy(&error.bytes).into_owned();
        return Err(if message.starts_with("interrupted") {
            ExperimentError::Interrupted {
                what: format!("while rank {from} retrained `{}`", dir.display()),
            }
        } else {
            ExperimentError::Config(format!(
                "rank {from} failed to retrain `{}`: {message}",
                dir.display()
            ))
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| ExperimentError::file(dir, e))?;
    write_files(dir, &files).map_err(|e| ExperimentError::file(dir, e))
}

/// Private folders made by this process so far.
static JOBS: AtomicUsize = AtomicUsize::new(0);

/// On every rank but 0, for as long as rank 0's experiment lives: retrains what rank 0
/// assigns this rank on `device`, stopping at `stop`, reporting to `reporter`, and sends it
/// back. Returns when rank 0's experiment ends. An error of a retraining goes to rank 0,
/// which fails with it; this rank goes on waiting for orders.
///
/// # Errors
/// [`ExperimentError::Config`] when rank 0 sends what is not an order (ranks that run
/// different versions of `nse`).
pub fn serve_retrainings(
    ranks: &dyn Collective,
    device: &Device,
    stop: &StopFlag,
    reporter: &mut dyn Reporter,
) -> Result<()> {
    loop {
        let mut bytes = Vec::new();
        ranks.broadcast(0, &mut bytes);
        let order: Order = serde_json::from_slice(&bytes).map_err(|e| {
            ExperimentError::Config(format!("rank 0 sent what is not an order: {e}"))
        })?;
        let Order::Retrain(assignments) = order else {
            return Ok(());
        };
        let mine = ranks.rank().checked_sub(1).and_then(|k| assignments.get(k));
        let files = match mine {
            Some(assignment) => retrain_here(ranks.rank(), assignment, device, stop, reporter),
            None => Vec::new(),
        };
        for from in 1..=assignments.len() {
            let sent = if from == ranks.rank() {
                files.clone()
            } else {
                Vec::new()
            };
            ranks
                .broadcast_files(from, sent)
                .map_err(|e| ExperimentError::Config(format!("rank {from}'s retraining: {e}")))?;
        }
    }
}

/// Retrains `assignment` in a private folder and returns its top-level files, or the error
/// as an [`ERROR_FILE`].
fn retrain_here(
    rank: usize,
    assignment: &Assignment,
    device: &Device,
    stop: &StopFlag,
    reporter: &mut dyn Reporter,
) -> Vec<SharedFile> {
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "nse-rank-{rank}-retraining-{}-{}",
        std::process::id(),
        JOBS.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| -> std::result::Result<Vec<SharedFile>, String> {
        let (space, _) = assignment.network.resolve().map_err(|e| e.to_string())?;
        let data = retrain_data(&assignment.source, &space).map_err(|e| e.to_string())?;
        let options = RetrainOptions {
            resume: false,
            stop: stop.clone(),
            ..RetrainOptions::default()
        };
        retrain(
            &assignment.network,
            data,
            &assignment.recipe,
            device,
            &dir,
            &options,
            reporter,
        )
        .map_err(|e| match e {
            RetrainError::Interrupted { .. } => format!("interrupted: {e}"),
            e => e.to_string(),
        })?;
        let paths = files_in(&dir).map_err(|e| e.to_string())?;
        read_files(&dir, paths).map_err(|e| e.to_string())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result.unwrap_or_else(|message| {
        vec![SharedFile {
            name: ERROR_FILE.into(),
            bytes: message.into_bytes(),
        }]
    })
}
