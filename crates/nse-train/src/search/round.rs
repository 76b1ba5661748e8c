//! A round of the search (docs/method.md §6–§7): its index, its phase, and the candidates
//! of its evaluation.
//!
//! One convention for the index: a [`RoundIndex`] counts from 0 in the code — the round's
//! seed streams, the checkpoint's `rounds_done` — and its [`number`](RoundIndex::number)
//! from 1 for people: events and the log, file names (`pareto_round1.png`), messages.

use std::fmt;

use serde::{Deserialize, Serialize};

use nse_space::{Architecture, Origin};

use crate::data::Position;

/// A round, from 0 (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RoundIndex(usize);

impl RoundIndex {
    /// The round with index `index` (from 0).
    pub fn new(index: usize) -> Self {
        RoundIndex(index)
    }

    /// Its index, from 0.
    pub fn index(self) -> usize {
        self.0
    }

    /// Its number, from 1: what events, the log, file names and messages show.
    pub fn number(self) -> usize {
        self.0 + 1
    }

    /// Its index as the component of a seed stream.
    pub fn stream(self) -> u64 {
        self.0 as u64
    }
}

impl fmt::Display for RoundIndex {
    /// `round N`, N from 1.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "round {}", self.number())
    }
}

/// One architecture waiting for or done with evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluated {
    /// The architecture.
    pub architecture: Architecture,
    /// Where it came from.
    pub origin: Origin,
    /// Its cost in the unit of the search's metric.
    pub cost: f64,
    /// MACs.
    pub macs: u64,
    /// Parameters.
    pub params: u64,
    /// Held-out top-1 accuracy (%), once evaluated.
    pub accuracy: Option<f64>,
}

/// Where a round stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// Supernet training; the next weight step is at `position`.
    Train {
        /// Next batch of the train loader (global epoch over rounds).
        position: Position,
        /// Weight steps done in this round.
        step: u64,
        /// Indicator steps done in this round.
        indicator_steps: u64,
    },
    /// End-of-round evaluation of `archs` (those with an accuracy are done).
    Evaluate {
        /// Sampled and previous-front architectures.
        archs: Vec<Evaluated>,
    },
}

impl Phase {
    /// The start of a round whose training begins at the first batch of `epoch`.
    pub fn start(epoch: usize) -> Self {
        Phase::Train {
            position: Position { epoch, batch: 0 },
            step: 0,
            indicator_steps: 0,
        }
    }

    /// Whether no weight step of the round has been taken.
    pub fn is_start(&self) -> bool {
        matches!(self, Phase::Train { step: 0, .. })
    }

    /// The round's candidates, when it is in its evaluation.
    pub fn candidates(&self) -> Option<&[Evaluated]> {
        match self {
            Phase::Evaluate { archs } => Some(archs),
            Phase::Train { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_count_from_zero_and_numbers_from_one() {
        let second = RoundIndex::new(1);
        assert_eq!(
            (second.index(), second.number(), second.stream()),
            (1, 2, 1)
        );
        assert_eq!(second.to_string(), "round 2");
        assert!(RoundIndex::default() < second);
        let start = Phase::start(4);
        assert!(start.is_start() && start.candidates().is_none());
        assert_eq!(
            serde_json::to_value(&start).unwrap()["position"]["epoch"],
            4
        );
        let evaluating = Phase::Evaluate { archs: Vec::new() };
        assert_eq!(evaluating.candidates(), Some(&[][..]));
        assert!(!evaluating.is_start());
    }
}
