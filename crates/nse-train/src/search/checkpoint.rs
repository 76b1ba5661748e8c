//! Search checkpoints: a folder written atomically (built beside the final name, then
//! renamed), holding the supernet state, both optimizers' states and the search progress.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use nse_space::EvolutionState;
use nse_supernet::durable::move_dir;

use crate::search::error::{Result, SearchError};
use crate::search::report::FrontEntry;

/// The checkpoint folder's name inside a run directory.
pub const CHECKPOINT_DIR: &str = "checkpoint";
const STATE_FILE: &str = "state.json";
/// Written last: a folder without it is not a checkpoint.
const COMPLETE_MARKER: &str = "COMPLETE";

use crate::search::round::RoundIndex;
pub use crate::search::round::{Evaluated, Phase};

/// The JSON part of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchState {
    /// Sub-spaces, pending pools, kept sets, previous front, round counter.
    pub evolution: EvolutionState,
    /// Rounds completed (evaluated and evolved).
    pub rounds_done: usize,
    /// The current round's phase.
    pub phase: Phase,
    /// Weight steps over the whole run.
    pub total_steps: u64,
    /// Length of the run log at this checkpoint.
    pub log_len: u64,
    /// The front of every completed round.
    pub fronts: Vec<Vec<FrontEntry>>,
}

impl SearchState {
    /// The current round: the first not completed.
    pub fn round(&self) -> RoundIndex {
        RoundIndex::new(self.rounds_done)
    }
}

/// The checkpoint folder of `run_dir`.
pub fn checkpoint_dir(run_dir: &Path) -> PathBuf {
    run_dir.join(CHECKPOINT_DIR)
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    dir.with_file_name(name)
}

/// Writes a checkpoint: `write_files` fills a fresh folder, which is sealed (its `COMPLETE`
/// marker lists every file's size and CRC-32, [`nse_supernet::durable::seal`]) and then
/// replaces the previous checkpoint by renames. The previous one stays as `checkpoint.old`,
/// the fallback [`inspect`] offers when the newest is found damaged.
pub fn write(
    run_dir: &Path,
    progress: &SearchState,
    write_files: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let dir = checkpoint_dir(run_dir);
    let new = sibling(&dir, ".new");
    let old = sibling(&dir, ".old");
    if new.exists() {
        std::fs::remove_dir_all(&new).map_err(|e| SearchError::io(&new, e))?;
    }
    std::fs::create_dir_all(&new).map_err(|e| SearchError::io(&new, e))?;
    write_files(&new)?;
    let json = serde_json::to_vec_pretty(progress).expect("progress serialises");
    std::fs::write(new.join(STATE_FILE), json).map_err(|e| SearchError::io(&new, e))?;
    // The files reach the disk before the marker that declares them whole, and the folder
    // before it takes the checkpoint's name.
    nse_supernet::durable::seal(&new, COMPLETE_MARKER).map_err(|e| SearchError::io(&new, e))?;
    if dir.exists() {
        move_dir(&dir, &old).map_err(|e| SearchError::io(&old, e))?;
    }
    move_dir(&new, &dir).map_err(|e| SearchError::io(&dir, e))
}

/// The checkpoint folders of `run_dir` that claim to be complete (a `COMPLETE` marker and a
/// `state.json`), newest first: `checkpoint`, then `checkpoint.old`.
pub fn candidates(run_dir: &Path) -> Vec<PathBuf> {
    let dir = checkpoint_dir(run_dir);
    [dir.clone(), sibling(&dir, ".old")]
        .into_iter()
        .filter(|d| d.join(COMPLETE_MARKER).is_file() && d.join(STATE_FILE).is_file())
        .collect()
}

/// Checks a checkpoint folder's files against its marker's sizes and checksums, and that
/// its progress reads. The error says what is damaged, naming the file.
pub fn verify(dir: &Path) -> std::result::Result<SearchState, String> {
    nse_supernet::durable::verify(dir, COMPLETE_MARKER)?;
    read_progress(dir).map_err(|e| e.to_string())
}

/// The newest intact checkpoint of `run_dir` with its progress, and every newer one found
/// damaged, with what is wrong with it.
pub struct Inspection {
    /// The newest checkpoint that passed [`verify`].
    pub intact: Option<(PathBuf, SearchState)>,
    /// Newer checkpoints that did not, and why.
    pub damaged: Vec<(PathBuf, String)>,
}

/// Verifies the [`candidates`] of `run_dir` newest first, stopping at the first intact one.
pub fn inspect(run_dir: &Path) -> Inspection {
    let mut damaged = Vec::new();
    for dir in candidates(run_dir) {
        match verify(&dir) {
            Ok(progress) => {
                return Inspection {
                    intact: Some((dir, progress)),
                    damaged,
                };
            }
            Err(why) => damaged.push((dir, why)),
        }
    }
    Inspection {
        intact: None,
        damaged,
    }
}

/// Renames a damaged checkpoint folder to `<name>.damaged` (replacing an earlier one), out of
/// the way of [`candidates`] and of the next [`write()`]'s rotation, and returns the new path.
pub fn set_aside(dir: &Path) -> Result<PathBuf> {
    let aside = sibling(dir, ".damaged");
    move_dir(dir, &aside).map_err(|e| SearchError::io(&aside, e))?;
    Ok(aside)
}

/// The newest intact checkpoint folder of `run_dir`, if any ([`inspect`]).
pub fn find(run_dir: &Path) -> Option<PathBuf> {
    inspect(run_dir).intact.map(|(dir, _)| dir)
}

/// Replaces the progress of the checkpoint folder `dir` (evaluation results as they come; the
/// weights are unchanged) and its entry in the folder's seal.
pub fn update_progress(dir: &Path, progress: &SearchState) -> Result<()> {
    crate::run_dir::write_json(&dir.join(STATE_FILE), progress)?;
    nse_supernet::durable::reseal_file(dir, COMPLETE_MARKER, STATE_FILE)
        .map_err(|e| SearchError::io(dir, e))
}

/// Reads the progress of checkpoint folder `dir`.
pub fn read_progress(dir: &Path) -> Result<SearchState> {
    let path = dir.join(STATE_FILE);
    let bytes = std::fs::read(&path).map_err(|e| SearchError::io(&path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| SearchError::Checkpoint {
        path: dir.display().to_string(),
        message: format!("unreadable {STATE_FILE}: {e}"),
    })
}
