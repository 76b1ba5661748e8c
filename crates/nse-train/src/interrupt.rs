//! Stopping long work at a safe point: a [`StopFlag`] that any code (a Ctrl-C handler, a
//! time limit, another thread) raises, and that a search checks between weight steps and
//! between evaluated architectures, and an experiment between its retrainings. What stops
//! there has just written a checkpoint, so it resumes exactly.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A shared request to stop at the next safe point. Clones share the flag.
///
/// ```
/// use nse_train::interrupt::StopFlag;
/// let flag = StopFlag::new();
/// let seen_by_the_search = flag.clone();
/// assert!(!seen_by_the_search.is_raised());
/// flag.raise();
/// assert!(seen_by_the_search.is_raised());
/// ```
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A flag not raised.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every holder to stop at its next safe point (async-signal-safe: one atomic
    /// store).
    pub fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Whether a stop was asked for, lowering the flag: for requests answered once (end
    /// this round's training), not for stopping a whole run.
    pub fn take(&self) -> bool {
        self.0.swap(false, Ordering::SeqCst)
    }
}
