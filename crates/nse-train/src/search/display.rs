//! A search's progress for people: [`SearchDisplay`] turns the search's
//! [events](crate::search::events::SearchEvent) into bars and lines on a [`Reporter`] (the
//! terminal, a collector in tests, nothing). It is one observer among others:
//! [`Search::run`](crate::search::Search::run) feeds the reporter it is given through one, and
//! research code can register its own beside it, or instead of it with
//! [`Quiet`](crate::progress::Quiet):
//!
//! ```no_run
//! use nse_train::progress::{Quiet, Terminal};
//! use nse_train::search::{SearchDisplay, Search, SearchConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let device = burn::tensor::Device::flex();
//! let mut search = Search::new(SearchConfig::preset("demo")?, "runs/demo".as_ref(), &device)?;
//! let mut terminal = SearchDisplay::new(Terminal::new());
//! search.observe(move |event| terminal.on_event(event));
//! search.observe(|event| {
//!     // … your own observer, e.g. a dashboard …
//!     let _ = event;
//! });
//! search.run(&mut Quiet)?;
//! # Ok(())
//! # }
//! ```

use crate::progress::Reporter;
use crate::search::events::{RoundPhase, SearchEvent, StopReason};

/// Shows a search's events on a [`Reporter`]: a bar per training and evaluation phase, with
/// the latest loss, accuracy and learning rate, or each architecture's score; a line when a
/// round starts and ends, on resume, on a damaged checkpoint, on a stop and on a warning.
#[derive(Debug)]
pub struct SearchDisplay<R> {
    reporter: R,
    rounds: usize,
    unit: String,
    message: String,
    bar_open: bool,
}

impl<R: Reporter> SearchDisplay<R> {
    /// Shows events on `reporter`.
    pub fn new(reporter: R) -> Self {
        SearchDisplay {
            reporter,
            rounds: 0,
            unit: String::new(),
            message: String::new(),
            bar_open: false,
        }
    }

    /// The reporter, to read back what it collected.
    pub fn into_inner(self) -> R {
        self.reporter
    }

    fn finish_bar(&mut self) {
        if std::mem::take(&mut self.bar_open) {
            self.reporter.finish();
        }
    }

    /// Shows one event.
    pub fn on_event(&mut self, event: &SearchEvent) {
        if matches!(
            event,
            SearchEvent::PhaseStart { .. }
                | SearchEvent::Stopped { .. }
                | SearchEvent::RoundEnd { .. }
                | SearchEvent::Finish { .. }
        ) {
            self.finish_bar();
        }
        let r = &mut self.reporter;
        match event {
            SearchEvent::Start {
                rounds,
                unit,
                skipped_files,
                ..
            } => {
                (self.rounds, self.unit) = (*rounds, unit.clone());
                if *skipped_files > 0 {
                    r.line(&format!(
                        "{skipped_files} unreadable image files left out (data.skip_corrupt)"
                    ));
                }
            }
            SearchEvent::DamagedCheckpoint {
                checkpoint,
                why,
                set_aside,
            } => {
                let aside = set_aside
                    .as_ref()
                    .map(|p| format!(" (the damaged one is now `{}`)", p.display()))
                    .unwrap_or_default();
                r.line(&format!(
                    "checkpoint `{}` is damaged ({why}); falling back to the one before it{aside}",
                    checkpoint.display()
                ));
            }
            SearchEvent::Resume {
                round,
                rounds,
                unit,
                checkpoint,
                ..
            } => {
                (self.rounds, self.unit) = (*rounds, unit.clone());
                let from = checkpoint
                    .as_ref()
                    .map(|p| format!(" from {}", p.display()))
                    .unwrap_or_default();
                r.line(&format!("resuming round {round}/{rounds}{from}"));
            }
            SearchEvent::RoundStart {
                round, subspace, ..
            } => {
                let ops = subspace.iter().map(Vec::len).max().unwrap_or(0);
                r.line(&format!(
                    "round {round}/{}: sub-space of up to {ops} ops per cell",
                    self.rounds
                ));
            }
            SearchEvent::PhaseStart {
                round,
                phase,
                done,
                total,
            } => {
                let what = match phase {
                    RoundPhase::Training => "training",
                    RoundPhase::Evaluation => "evaluation",
                };
                self.message.clear();
                self.bar_open = true;
                r.begin(&format!("round {round} {what}"), *total);
                r.advance(*done, "");
            }
            SearchEvent::Train {
                loss, accuracy, lr, ..
            } => {
                self.message = format!("loss {loss:.3} acc {accuracy:.1}% lr {lr:.4}");
            }
            // The bar moves after the step's summary (if any) is known: at the next step or
            // at the end of the epoch; a step's own event comes before its summary.
            SearchEvent::WeightStep { .. } => r.advance(1, &self.message),
            SearchEvent::SkippedBatch { round, step, loss } => {
                r.line(&format!(
                    "round {round} step {step}: the loss is {loss}; batch skipped \
                     (non_finite_loss = skip)"
                ));
                r.advance(1, &self.message);
            }
            SearchEvent::Evaluated { accuracy, cost, .. } => {
                r.advance(1, &format!("{accuracy:.1}% at {cost:.3} {}", self.unit));
            }
            SearchEvent::Stopped {
                reason,
                phase,
                total_steps,
            } => {
                r.line(&match (reason, phase) {
                    (StopReason::Asked, RoundPhase::Evaluation) => {
                        "stopped as asked during the evaluation: resume to continue".to_string()
                    }
                    (StopReason::Asked, RoundPhase::Training) => format!(
                        "stopped as asked after {total_steps} steps: checkpoint written, resume \
                         to continue"
                    ),
                    (StopReason::StepBudget, _) => format!(
                        "step budget reached after {total_steps} steps: checkpoint written, \
                         resume to continue"
                    ),
                });
            }
            SearchEvent::EpochEnd { .. } => {}
            SearchEvent::RoundEnd {
                round,
                front,
                evaluated,
                plot,
                ..
            } => {
                let best = front.iter().map(|f| f.accuracy).fold(0.0, f64::max);
                let plot = plot
                    .as_ref()
                    .map(|p| format!(", plot {}", p.display()))
                    .unwrap_or_default();
                r.line(&format!(
                    "round {round}: {evaluated} evaluated, front of {} (best {best:.1}%){plot}",
                    front.len()
                ));
            }
            SearchEvent::Warning { message } => r.line(&format!("warning: {message}")),
            SearchEvent::TrainingEndedEarly {
                round,
                step,
                planned,
            } => r.line(&format!(
                "round {round}: training ended as asked after {step} of {planned} steps"
            )),
            SearchEvent::IndicatorStep { .. }
            | SearchEvent::Dropped { .. }
            | SearchEvent::Probe { .. }
            | SearchEvent::Finish { .. } => {}
        }
    }
}
