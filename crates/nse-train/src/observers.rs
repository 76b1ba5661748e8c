//! Observers of typed events: the functions a retraining or an experiment hands each of its
//! events to, as it happens (the search keeps its own, shared with its log).

use std::fmt;
use std::sync::{Arc, Mutex};

/// A function that receives every event of type `E`.
pub type Observer<E> = Box<dyn FnMut(&E) + Send>;

/// The observers of a run, shared by the clones of its options.
pub struct Observers<E>(Arc<Mutex<Vec<Observer<E>>>>);

impl<E> Observers<E> {
    /// Adds `observer`.
    pub fn push(&self, observer: impl FnMut(&E) + Send + 'static) {
        if let Ok(mut list) = self.0.lock() {
            list.push(Box::new(observer));
        }
    }

    /// Hands `event` to every observer, in the order they were added.
    pub fn send(&self, event: &E) {
        if let Ok(mut list) = self.0.lock() {
            for observer in list.iter_mut() {
                observer(event);
            }
        }
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.lock().map_or(0, |l| l.len())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<E> Clone for Observers<E> {
    fn clone(&self) -> Self {
        Observers(Arc::clone(&self.0))
    }
}

impl<E> Default for Observers<E> {
    fn default() -> Self {
        Observers(Arc::default())
    }
}

impl<E> fmt::Debug for Observers<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Observers({})", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_observer_gets_every_event_in_order_and_clones_share_them() {
        let seen: Arc<Mutex<Vec<(u8, u32)>>> = Arc::default();
        let observers: Observers<u32> = Observers::default();
        for id in [1u8, 2] {
            let seen = Arc::clone(&seen);
            observers.push(move |e| seen.lock().unwrap().push((id, *e)));
        }
        let clone = observers.clone();
        clone.send(&7);
        observers.send(&8);
        assert_eq!(*seen.lock().unwrap(), [(1, 7), (2, 7), (1, 8), (2, 8)]);
        assert_eq!(
            (clone.len(), format!("{clone:?}")),
            (2, "Observers(2)".into())
        );
    }
}
