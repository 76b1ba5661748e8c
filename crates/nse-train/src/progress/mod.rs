//! Progress reporting: the [`Reporter`] trait that long-running library code (the search,
//! retraining, evaluation) calls, and three implementations.
//!
//! - [`Terminal`] (feature `terminal`, on by default): a progress bar with position/total, rate and ETA on an interactive
//!   terminal (stderr), or — when stderr is not a terminal (a log file, a pipe, CI) — plain
//!   progress lines at most every few seconds, never control characters;
//! - [`Quiet`]: prints nothing (logs, tests, embedding);
//! - [`Collect`]: records every call as an [`Event`] (tests).
//!
//! Library code never prints on its own: it reports through a `&mut dyn Reporter`.
//!
//! ```
//! use nse_train::progress::{Collect, Event, Reporter};
//!
//! let mut progress = Collect::default();
//! progress.begin("epoch 1/3", 2);
//! progress.advance(1, "loss 2.30 acc 10.0%");
//! progress.advance(1, "loss 2.10 acc 21.5%");
//! progress.finish();
//! progress.line("epoch 1: test top-1 25.0%");
//! assert_eq!(progress.position(), 2);
//! assert_eq!(progress.events[4], Event::Line("epoch 1: test top-1 25.0%".into()));
//! ```

#[cfg(feature = "terminal")]
mod terminal;
#[cfg(feature = "terminal")]
pub use terminal::Terminal;

/// Receives the progress of a long-running task.
///
/// A task is `begin` → any number of `advance` → `finish`; `line` may be called at any time
/// and prints a persistent line (a summary, a warning) without disturbing a bar.
pub trait Reporter {
    /// Starts a task called `label` of `total` units (batches, architectures, ...).
    fn begin(&mut self, label: &str, total: u64);

    /// `n` more units are done; `message` describes the current state
    /// (`"loss 1.23 acc 45.6%"`), or is empty.
    fn advance(&mut self, n: u64, message: &str);

    /// The current task is done (also when it ended before reaching its total).
    fn finish(&mut self);

    /// Prints a persistent log line.
    fn line(&mut self, text: &str);
}

impl<R: Reporter + ?Sized> Reporter for &mut R {
    fn begin(&mut self, label: &str, total: u64) {
        (**self).begin(label, total)
    }
    fn advance(&mut self, n: u64, message: &str) {
        (**self).advance(n, message)
    }
    fn finish(&mut self) {
        (**self).finish()
    }
    fn line(&mut self, text: &str) {
        (**self).line(text)
    }
}

impl<R: Reporter + ?Sized> Reporter for Box<R> {
    fn begin(&mut self, label: &str, total: u64) {
        (**self).begin(label, total)
    }
    fn advance(&mut self, n: u64, message: &str) {
        (**self).advance(n, message)
    }
    fn finish(&mut self) {
        (**self).finish()
    }
    fn line(&mut self, text: &str) {
        (**self).line(text)
    }
}

/// A reporter that prints nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quiet;

impl Reporter for Quiet {
    fn begin(&mut self, _label: &str, _total: u64) {}
    fn advance(&mut self, _n: u64, _message: &str) {}
    fn finish(&mut self) {}
    fn line(&mut self, _text: &str) {}
}

/// One call received by a [`Collect`] reporter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// [`Reporter::begin`].
    Begin {
        /// The task's label.
        label: String,
        /// Its total.
        total: u64,
    },
    /// [`Reporter::advance`].
    Advance {
        /// Units done.
        n: u64,
        /// The message.
        message: String,
    },
    /// [`Reporter::finish`].
    Finish,
    /// [`Reporter::line`].
    Line(String),
}

/// A reporter that records every call (for tests).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Collect {
    /// The calls in order.
    pub events: Vec<Event>,
}

impl Collect {
    /// Units advanced since the last [`Event::Begin`] (0 if none).
    pub fn position(&self) -> u64 {
        self.events
            .iter()
            .rev()
            .take_while(|e| !matches!(e, Event::Begin { .. }))
            .map(|e| match e {
                Event::Advance { n, .. } => *n,
                _ => 0,
            })
            .sum()
    }

    /// The texts of all [`Event::Line`]s.
    pub fn lines(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Line(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The labels of all [`Event::Begin`]s.
    pub fn labels(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Begin { label, .. } => Some(label.as_str()),
                _ => None,
            })
            .collect()
    }
}

impl Reporter for Collect {
    fn begin(&mut self, label: &str, total: u64) {
        self.events.push(Event::Begin {
            label: label.to_string(),
            total,
        });
    }
    fn advance(&mut self, n: u64, message: &str) {
        self.events.push(Event::Advance {
            n,
            message: message.to_string(),
        });
    }
    fn finish(&mut self) {
        self.events.push(Event::Finish);
    }
    fn line(&mut self, text: &str) {
        self.events.push(Event::Line(text.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collect_records_calls_and_position() {
        let mut c = Collect::default();
        {
            let r: &mut dyn Reporter = &mut c;
            r.begin("a", 3);
            r.advance(2, "x");
            r.finish();
            r.begin("b", 5);
            r.advance(1, "");
        }
        assert_eq!(c.position(), 1);
        assert_eq!(c.labels(), vec!["a", "b"]);
        assert_eq!(c.events.len(), 5);
        assert_eq!(
            c.events[1],
            Event::Advance {
                n: 2,
                message: "x".into()
            }
        );
    }
}
