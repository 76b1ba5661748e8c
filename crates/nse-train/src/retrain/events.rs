//! What a retraining reports as it runs: typed [`RetrainEvent`]s handed to every observer of
//! [`RetrainOptions`](super::RetrainOptions) — a TensorBoard writer
//! ([`RetrainBoard`](crate::tensorboard::RetrainBoard)), your own code — and to the
//! [`Reporter`] given to [`retrain`](super::retrain), whose terminal progress is one reading
//! of the same events ([`display`]).

use std::path::PathBuf;

use super::report::EpochRecord;
use crate::observers::{Observer, Observers};
use crate::progress::Reporter;

/// One thing a retraining did.
#[derive(Debug, Clone, PartialEq)]
pub enum RetrainEvent {
    /// A newer checkpoint was damaged and set aside; the one before it is used.
    DamagedCheckpoint {
        /// Where the damaged checkpoint now is.
        set_aside: PathBuf,
        /// What was wrong with it.
        why: String,
    },
    /// The run continues from a checkpoint after `done` of its `epochs` epochs.
    Resumed {
        /// Epochs complete.
        done: usize,
        /// Epochs of the recipe.
        epochs: usize,
    },
    /// An epoch starts.
    EpochStart {
        /// The epoch, from 1.
        epoch: usize,
        /// Epochs of the recipe.
        epochs: usize,
        /// Training steps per epoch.
        steps: usize,
    },
    /// A training step was taken.
    Step {
        /// The epoch, from 1.
        epoch: usize,
        /// The step within the epoch, from 1.
        step: usize,
        /// Steps over the whole run, from 1.
        global_step: u64,
        /// This batch's loss.
        loss: f64,
        /// The step's learning rate.
        lr: f64,
        /// Mean loss per image over the epoch so far.
        mean_loss: f64,
        /// Top-1 accuracy (%) over the epoch's batches so far.
        mean_top1: f64,
    },
    /// A batch whose loss was not finite was skipped (`non_finite_loss = skip`).
    SkippedBatch {
        /// The epoch, from 1.
        epoch: usize,
        /// The batch, from 0.
        batch: usize,
        /// Its loss.
        loss: f64,
    },
    /// The epoch's training is done; its evaluation on the test set follows.
    Evaluating {
        /// The epoch, from 1.
        epoch: usize,
    },
    /// An epoch was trained and evaluated (and checkpointed).
    EpochEnd {
        /// What it measured.
        record: EpochRecord,
        /// Epochs of the recipe.
        epochs: usize,
        /// Steps over the whole run so far.
        global_step: u64,
    },
    /// The stop flag stopped the run inside epoch `epoch` (from 1); nothing of that epoch is
    /// kept.
    Interrupted {
        /// The epoch, from 1.
        epoch: usize,
    },
}

/// A function that receives every event of a retraining.
pub type RetrainObserver = Observer<RetrainEvent>;

/// The observers of a retraining, shared by the clones of its options.
pub type RetrainObservers = Observers<RetrainEvent>;

/// The terminal's reading of `event`: a bar per epoch, a line per epoch, resume and skip.
pub fn display(reporter: &mut dyn Reporter, event: &RetrainEvent) {
    match event {
        RetrainEvent::DamagedCheckpoint { set_aside, why } => reporter.line(&format!(
            "a newer checkpoint is damaged ({why}); falling back to the one before it (the \
             damaged one is now `{}`)",
            set_aside.display()
        )),
        RetrainEvent::Resumed { done, epochs } => {
            reporter.line(&format!("resuming after epoch {done}/{epochs}"))
        }
        RetrainEvent::EpochStart {
            epoch,
            epochs,
            steps,
        } => reporter.begin(&format!("epoch {epoch}/{epochs}"), *steps as u64),
        RetrainEvent::Step {
            lr,
            mean_loss,
            mean_top1,
            ..
        } => reporter.advance(
            1,
            &format!("loss {mean_loss:.3} acc {mean_top1:.1}% lr {lr:.4}"),
        ),
        RetrainEvent::SkippedBatch { epoch, batch, loss } => {
            reporter.line(&format!(
                "epoch {epoch} batch {batch}: the loss is {loss}; batch skipped \
                 (non_finite_loss = skip)"
            ));
            reporter.advance(1, "");
        }
        RetrainEvent::Evaluating { .. } | RetrainEvent::Interrupted { .. } => reporter.finish(),
        RetrainEvent::EpochEnd { record, epochs, .. } => reporter.line(&format!(
            "epoch {}/{epochs}: train loss {:.4} top-1 {:.2}% | test loss {:.4} top-1 {:.2}% \
             top-5 {:.2}% | {:.1} s",
            record.epoch,
            record.train_loss,
            record.train_top1,
            record.test.loss,
            record.test.top1,
            record.test.top5,
            record.seconds
        )),
    }
}
