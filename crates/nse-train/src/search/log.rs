//! The JSON-lines run log: one [`SearchEvent`] per line, flushed as written, truncated back
//! to the checkpoint's length on resume so that no event is logged twice. Every event also
//! goes to the search's observers ([`Search::observe`](crate::search::Search::observe)).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::search::error::{Result, SearchError};
use crate::search::events::SearchEvent;

/// A function that receives every event of a search as it happens.
pub type Observer = Box<dyn FnMut(&SearchEvent) + Send>;

/// The observers of a search, shared with its log.
pub type Observers = Arc<Mutex<Vec<Observer>>>;

/// An append-only JSON-lines log, and the hand-over of every event to the observers.
pub struct RunLog<'r> {
    path: PathBuf,
    file: File,
    len: u64,
    observers: Observers,
    local: Option<&'r mut dyn FnMut(&SearchEvent)>,
}

impl<'r> RunLog<'r> {
    /// Opens `path` for appending after truncating it to `len` bytes (0 for a fresh run).
    pub fn open(path: &Path, len: u64) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| SearchError::io(path, e))?;
        file.set_len(len).map_err(|e| SearchError::io(path, e))?;
        let mut log = RunLog {
            path: path.to_path_buf(),
            file,
            len,
            observers: Observers::default(),
            local: None,
        };
        log.file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| SearchError::io(path, e))?;
        log.len = len;
        Ok(log)
    }

    /// Bytes written so far (what a checkpoint records).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Passes every event to `observers` from now on.
    pub fn with_observers(mut self, observers: Observers) -> Self {
        self.observers = observers;
        self
    }

    /// Passes every event also to `observer`, which lives only as long as the log (the
    /// progress shown for one [`Search::run`](crate::search::Search::run)), after the
    /// registered observers.
    pub fn with_local(mut self, observer: &'r mut dyn FnMut(&SearchEvent)) -> Self {
        self.local = Some(observer);
        self
    }

    /// Hands `event` to the observers and, when it [is logged](SearchEvent::is_logged),
    /// appends it as one line.
    pub fn write(&mut self, event: &SearchEvent) -> Result<()> {
        if let Ok(mut observers) = self.observers.lock() {
            for observe in observers.iter_mut() {
                observe(event);
            }
        }
        if let Some(observe) = self.local.as_mut() {
            observe(event);
        }
        if !event.is_logged() {
            return Ok(());
        }
        let mut line = serde_json::to_string(event).map_err(|e| SearchError::Json {
            path: self.path.display().to_string(),
            message: e.to_string(),
        })?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|e| SearchError::io(&self.path, e))?;
        self.len += line.len() as u64;
        Ok(())
    }
}
