//! What an experiment reports as it runs: typed [`ExperimentEvent`]s handed to every
//! observer of the [`Experiment`](super::Experiment) ([`observe`](super::Experiment::observe))
//! and to the [`Reporter`] its run is given, whose lines and bars are one reading of the same
//! events ([`display`]). The searches and retrainings inside an experiment report to that
//! reporter as they do on their own.

use std::path::PathBuf;

use super::ExperimentReport;
use super::ground_truth::PilotReport;
use crate::observers::{Observer, Observers};
use crate::progress::Reporter;

/// One thing an experiment did.
#[derive(Debug, Clone, PartialEq)]
pub enum ExperimentEvent {
    /// A search of the experiment starts (or resumes) in `run`.
    Search {
        /// The experiment (`ranking`, …).
        experiment: &'static str,
        /// Its run folder.
        run: PathBuf,
    },
    /// A ground truth's pilot starts: `pilot` of its `architectures`, with `seeds` seeds.
    PilotStart {
        /// Architectures of the pilot.
        pilot: usize,
        /// Architectures of the ground truth.
        architectures: usize,
        /// Retraining seeds.
        seeds: usize,
    },
    /// The pilot's rule decided.
    PilotDecided(Box<PilotReport>),
    /// Supernet `member` (from 0) of `members` starts scoring `candidates` architectures,
    /// `done` of them scored before.
    ScoringStart {
        /// The supernet, from 0.
        member: usize,
        /// Supernets in all.
        members: usize,
        /// Architectures to score.
        candidates: usize,
        /// Architectures scored before (an interrupted scoring continued).
        done: usize,
    },
    /// One architecture was scored.
    Scored {
        /// Its held-out top-1 with inherited weights, percent.
        top1: f64,
        /// Its cost.
        cost: f64,
        /// The unit of the cost.
        unit: String,
    },
    /// The supernet scored every architecture.
    ScoringEnd,
    /// A retraining starts: the `index`-th (from 1) of `total`.
    Retraining {
        /// The experiment.
        experiment: &'static str,
        /// Which, from 1.
        index: usize,
        /// How many in all.
        total: usize,
        /// The architecture's label (`arch03`, `front0`, …).
        label: String,
        /// The retraining seed.
        seed: u64,
        /// The architecture's cost.
        cost: f64,
        /// The unit of the cost.
        unit: String,
    },
    /// Something went wrong that does not stop the experiment (a plot not drawn).
    Warning(String),
    /// The experiment ended with its report.
    Finished(Box<ExperimentReport>),
}

/// A function that receives every event of an experiment.
pub type ExperimentObserver = Observer<ExperimentEvent>;

/// The observers of an experiment.
pub type ExperimentObservers = Observers<ExperimentEvent>;

/// The terminal's reading of `event`.
pub fn display(reporter: &mut dyn Reporter, event: &ExperimentEvent) {
    match event {
        ExperimentEvent::Search { experiment, run } => {
            reporter.line(&format!("{experiment}: search in {}", run.display()))
        }
        ExperimentEvent::PilotStart {
            pilot,
            architectures,
            seeds,
        } => reporter.line(&format!(
            "ground-truth: the pilot first, {pilot} of {architectures} architectures x {seeds} \
             seeds"
        )),
        ExperimentEvent::PilotDecided(pilot) => reporter.line(&pilot.summary()),
        ExperimentEvent::ScoringStart {
            member,
            members,
            candidates,
            done,
        } => {
            let what = if *members > 1 {
                format!(
                    "ranking: scoring with inherited weights (supernet {}/{members})",
                    member + 1
                )
            } else {
                "ranking: scoring with inherited weights".into()
            };
            reporter.begin(&what, *candidates as u64);
            reporter.advance(*done as u64, "");
        }
        ExperimentEvent::Scored { top1, cost, unit } => {
            reporter.advance(1, &format!("{top1:.1}% at {cost:.3} {unit}"))
        }
        ExperimentEvent::ScoringEnd => reporter.finish(),
        ExperimentEvent::Retraining {
            experiment,
            index,
            total,
            label,
            seed,
            cost,
            unit,
        } => reporter.line(&format!(
            "{experiment}: retraining {index}/{total}: {label} seed {seed} ({cost:.3} {unit})"
        )),
        ExperimentEvent::Warning(message) => reporter.line(&format!("warning: {message}")),
        ExperimentEvent::Finished(report) => reporter.line(&report.summary()),
    }
}
