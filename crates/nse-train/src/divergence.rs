//! A loss that is not finite: stop, or skip the batch ([`NonFiniteLoss`]).

use serde::{Deserialize, Serialize};

/// What training (a search's weight steps, a retraining) does when a batch's loss is NaN or
/// infinite. Either way that step changes nothing: no weight update, the optimizer's state
/// and the running batch-norm statistics as before it
/// ([`weight_step`](nse_supernet::training::weight_step),
/// [`ChildNetwork::discard_statistics_update`](nse_supernet::ChildNetwork::discard_statistics_update)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NonFiniteLoss {
    /// Stop with a `Diverged` error ([`SearchError`](crate::search::SearchError),
    /// [`RetrainError`](crate::retrain::RetrainError)) naming the step and the last good
    /// checkpoint.
    #[default]
    Stop,
    /// Skip the batch, report it (a search logs a `skipped_batch` event) and go on; stop as
    /// above once [`MAX_SKIPPED_IN_A_ROW`] batches in a row were skipped (the run has
    /// diverged).
    Skip,
}

/// Batches in a row training skips under [`NonFiniteLoss::Skip`] before it stops.
pub const MAX_SKIPPED_IN_A_ROW: u32 = 8;

impl NonFiniteLoss {
    /// Whether training stops at a non-finite loss, the `in_a_row`-th in a row (from 1).
    pub fn stops(self, in_a_row: u32) -> bool {
        self == NonFiniteLoss::Stop || in_a_row >= MAX_SKIPPED_IN_A_ROW
    }
}
