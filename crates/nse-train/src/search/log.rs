//! The JSON-lines run log: one JSON object per line, flushed as written, truncated back to
//! the checkpoint's length on resume so that no event is logged twice.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::search::error::{Result, SearchError};

/// An append-only JSON-lines log.
pub struct RunLog {
    path: PathBuf,
    file: File,
    len: u64,
}

impl RunLog {
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

    /// Appends `{"event": event, ...fields}`.
    pub fn event(&mut self, event: &str, fields: Value) -> Result<()> {
        let mut object = json!({ "event": event });
        if let (Some(target), Value::Object(source)) = (object.as_object_mut(), fields) {
            target.extend(source);
        }
        let mut line = serde_json::to_string(&object).expect("JSON values serialise");
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|e| SearchError::io(&self.path, e))?;
        self.len += line.len() as u64;
        Ok(())
    }
}
