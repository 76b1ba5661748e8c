//! What a search reports as it runs, as typed events: the lines of `log.jsonl` (one
//! [`SearchEvent`] per line, tagged by `"event"`), and what observers registered with
//! [`Search::observe`](crate::search::Search::observe) receive, step by step.
//!
//! Reading a run's log with the library's own types:
//!
//! ```no_run
//! use nse_train::search::events::{SearchEvent, read_log};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! for event in read_log("runs/demo/log.jsonl".as_ref())? {
//!     if let SearchEvent::RoundEnd { round, front, .. } = event {
//!         println!("round {round}: front of {}", front.len());
//!     }
//! }
//! # Ok(())
//! # }
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use nse_space::{Architecture, Origin, SpaceSpec};

use crate::search::error::{Result, SearchError};
use crate::search::report::FrontEntry;

/// One event of a search. Rounds are numbered from 1; `step` counts the weight steps of the
/// round (1 after the first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SearchEvent {
    /// A fresh search starts.
    Start {
        /// The space searched.
        space: SpaceSpec,
        /// The candidate pool's name.
        pool: String,
        /// Cells of the space.
        cells: usize,
        /// Rounds the search will run.
        rounds: usize,
        /// Images of the training part.
        train_images: usize,
        /// Images of the held-out part.
        held_out_images: usize,
        /// What every architecture costs (stem and tail), in the metric's unit.
        fixed_cost: f64,
        /// The unit of the resource metric (`MMACs`, `M params`, `ms`).
        #[serde(default)]
        unit: String,
        /// Image files left out as unreadable (`data.skip_corrupt`).
        #[serde(default)]
        skipped_files: usize,
    },
    /// A checkpoint was found damaged and set aside; the one before it resumes.
    DamagedCheckpoint {
        /// The checkpoint folder (its name before it was set aside).
        checkpoint: PathBuf,
        /// What is wrong with it.
        why: String,
        /// Where it was moved, kept for inspection.
        #[serde(default)]
        set_aside: Option<PathBuf>,
    },
    /// A search continues from a checkpoint.
    Resume {
        /// The round it continues.
        round: usize,
        /// Weight steps done over the whole run.
        total_steps: u64,
        /// Rounds the search will run.
        #[serde(default)]
        rounds: usize,
        /// The unit of the resource metric.
        #[serde(default)]
        unit: String,
        /// The checkpoint it continues from.
        #[serde(default)]
        checkpoint: Option<PathBuf>,
    },
    /// A round starts training.
    RoundStart {
        /// The round.
        round: usize,
        /// The sub-space: the ops of each cell searched this round.
        subspace: Vec<Vec<usize>>,
        /// Ops left in each cell's pending pool.
        pending: Vec<usize>,
    },
    /// A phase of a round starts or continues: training (counted in weight steps) or
    /// evaluation (counted in architectures). Observers only.
    PhaseStart {
        /// The round.
        round: usize,
        /// Which phase.
        phase: RoundPhase,
        /// Steps or architectures already done (after a resume).
        done: u64,
        /// Steps or architectures of the whole phase.
        total: u64,
    },
    /// The search stopped before its end and wrote a checkpoint to resume from. Observers
    /// only.
    Stopped {
        /// Why.
        reason: StopReason,
        /// The phase it stopped in.
        phase: RoundPhase,
        /// Weight steps done over the whole run.
        total_steps: u64,
    },
    /// Something went wrong that does not stop the search (a plot that could not be drawn).
    /// Observers only.
    Warning {
        /// What.
        message: String,
    },
    /// A weight step was taken (delivered to observers only, not written to the log, which
    /// gets a [`Train`](Self::Train) summary every `log_every` steps).
    WeightStep {
        /// The round.
        round: usize,
        /// The step.
        step: u64,
        /// The batch's cross-entropy.
        loss: f64,
        /// The learning rate of the step.
        lr: f64,
    },
    /// An indicator step was taken (observers only).
    IndicatorStep {
        /// The round.
        round: usize,
        /// The weight step it followed.
        step: u64,
        /// The indicators after it, `[cell][op]`.
        alphas: Vec<Vec<f32>>,
    },
    /// Ops fell below the drop threshold and left the sub-space.
    Dropped {
        /// The round.
        round: usize,
        /// The step (0-based, as logged).
        step: u64,
        /// The ops dropped from each cell.
        ops: Vec<Vec<usize>>,
    },
    /// A weight step's loss was NaN or infinite and the batch was skipped
    /// (`non_finite_loss = skip`): the step changed nothing.
    SkippedBatch {
        /// The round.
        round: usize,
        /// The weight step it stood for.
        step: u64,
        /// The loss as text (`NaN`, `inf`, `-inf`: JSON has no such numbers).
        loss: String,
    },
    /// The round's training was ended early on request
    /// ([`Search::end_training_when`](crate::search::Search::end_training_when)).
    TrainingEndedEarly {
        /// The round.
        round: usize,
        /// The last step taken.
        step: u64,
        /// The steps the round would have taken.
        planned: u64,
    },
    /// Training summary of the last `log_every` steps.
    Train {
        /// The round.
        round: usize,
        /// Epoch within the round (0-based).
        epoch: usize,
        /// The step.
        step: u64,
        /// Mean training loss over the steps summarised.
        loss: f64,
        /// Training top-1 (%) over them.
        accuracy: f64,
        /// Learning rate of the last of them.
        lr: f64,
        /// Seconds since the run (or resume) started.
        elapsed_s: f64,
    },
    /// The probe architectures were scored (`evaluation.probe`).
    Probe {
        /// The round.
        round: usize,
        /// Epoch within the round after which they were scored.
        epoch: usize,
        /// The step.
        step: u64,
        /// Held-out top-1 (%) of each probe architecture.
        accuracies: Vec<f64>,
    },
    /// An epoch of supernet training ended (a checkpoint follows).
    EpochEnd {
        /// The round.
        round: usize,
        /// Epoch within the round.
        epoch: usize,
        /// The step.
        step: u64,
        /// The indicators, `[cell][op]`.
        alphas: Vec<Vec<f32>>,
    },
    /// An architecture was scored at the end of a round.
    Evaluated {
        /// The round.
        round: usize,
        /// The architecture.
        architecture: Architecture,
        /// Where it came from (window, extra band, previous front).
        origin: Origin,
        /// Its cost in the metric's unit.
        cost: f64,
        /// MACs.
        macs: u64,
        /// Parameters.
        params: u64,
        /// Held-out top-1 (%) with inherited weights after BN recalibration.
        accuracy: f64,
        /// Seconds since the run (or resume) started.
        elapsed_s: f64,
    },
    /// A round ended: its front, and the sub-space's evolution.
    RoundEnd {
        /// The round.
        round: usize,
        /// The round's Pareto front.
        front: Vec<FrontEntry>,
        /// Ops introduced into each cell for the next round (empty after the last).
        introduced: Vec<Vec<usize>>,
        /// The kept sets: the front's ops per cell.
        kept: Vec<Vec<usize>>,
        /// Architectures scored in the round.
        #[serde(default)]
        evaluated: usize,
        /// The round's Pareto plot, when it could be drawn.
        #[serde(default)]
        plot: Option<PathBuf>,
    },
    /// The search finished.
    Finish {
        /// Rounds run.
        rounds: usize,
        /// Weight steps over the whole run.
        total_steps: u64,
        /// The final front.
        front: Vec<FrontEntry>,
    },
}

/// The two phases of a round that take time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundPhase {
    /// Supernet training: weight and indicator steps (docs/method.md §6).
    Training,
    /// Scoring the round's architectures (docs/method.md §7.2).
    Evaluation,
}

/// Why a search stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Its [`StopFlag`](crate::interrupt::StopFlag) was raised (Ctrl-C, SIGTERM, user code).
    Asked,
    /// `max_steps` weight steps were taken.
    StepBudget,
}

impl SearchEvent {
    /// Whether the event is written to `log.jsonl`: every one but the per-step events and
    /// those that describe this process rather than the search (phase starts, stops,
    /// warnings), so that a resumed run's log reads like an uninterrupted one.
    pub fn is_logged(&self) -> bool {
        !matches!(
            self,
            SearchEvent::WeightStep { .. }
                | SearchEvent::IndicatorStep { .. }
                | SearchEvent::PhaseStart { .. }
                | SearchEvent::Stopped { .. }
                | SearchEvent::Warning { .. }
        )
    }
}

/// Reads a run's `log.jsonl` into events; an error names the line that does not read.
pub fn read_log(path: &Path) -> Result<Vec<SearchEvent>> {
    let text = std::fs::read_to_string(path).map_err(|e| SearchError::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| SearchError::Json {
                path: format!("{} line {}", path.display(), i + 1),
                message: e.to_string(),
            })
        })
        .collect()
}
