//! TensorBoard event files: scalars of a search or a retraining that
//! `tensorboard --logdir runs/` shows as they are written, as the NSE reference logs.
//!
//! The format is TensorFlow's: a file `events.out.tfevents.<seconds>.<host>.<pid>.nse` of
//! TFRecord records (length, its masked CRC-32C, the bytes, their masked CRC-32C), each an
//! `Event` protocol buffer — first the file version, then one `Summary` of one `simple_value`
//! per scalar. Only the fields TensorBoard reads for scalars are written, by hand: the two
//! maintained Rust crates measured for this (2026-12-07) did not fit — `tboard` 0.1.1 runs
//! `protoc` at build time (a system tool every user would need), `tensorboard-rs` 0.5.9
//! pulls in `protobuf` 2 (unmaintained, with a security advisory) and a second `image`. A test
//! reads the files back with the `tensorboard` package from PyPI.
//!
//! [`SearchBoard`] and [`RetrainBoard`] turn a search's and a retraining's events into
//! scalars; [`EventWriter`] writes any.
//!
//! ```no_run
//! use nse_train::tensorboard::EventWriter;
//! let mut writer = EventWriter::create("runs/demo/tensorboard".as_ref())?;
//! writer.scalar("train/loss", 1, 2.30)?;
//! writer.flush()?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::retrain::RetrainEvent;
use crate::search::events::SearchEvent;

/// The CRC-32C (Castagnoli) table, reflected polynomial `0x82F63B78`.
const CRC32C_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// CRC-32C of `bytes`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
        CRC32C_TABLE[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8)
    })
}

/// TFRecord's masked CRC: rotated right by 15 bits plus a constant.
fn masked_crc(bytes: &[u8]) -> u32 {
    crc32c(bytes).rotate_right(15).wrapping_add(0xA282_EAD8)
}

/// A varint (protocol buffers' base-128 encoding).
fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A length-delimited field (wire type 2).
fn bytes_field(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    varint(out, field << 3 | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// An `Event` with `wall_time` (field 1, double), `step` (2, int64) and either the file
/// version (3) or a summary of one scalar (5: `Summary { value: [Value { tag: 1,
/// simple_value: 2 }] }`).
fn event(wall_time: f64, step: u64, what: &EventBody<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    varint(&mut out, 1 << 3 | 1);
    out.extend_from_slice(&wall_time.to_le_bytes());
    varint(&mut out, 2 << 3);
    varint(&mut out, step);
    match what {
        EventBody::FileVersion(version) => bytes_field(&mut out, 3, version.as_bytes()),
        EventBody::Scalar(tag, value) => {
            let mut value_msg = Vec::with_capacity(tag.len() + 8);
            bytes_field(&mut value_msg, 1, tag.as_bytes());
            varint(&mut value_msg, 2 << 3 | 5);
            value_msg.extend_from_slice(&(*value as f32).to_le_bytes());
            let mut summary = Vec::with_capacity(value_msg.len() + 4);
            bytes_field(&mut summary, 1, &value_msg);
            bytes_field(&mut out, 5, &summary);
        }
    }
    out
}

enum EventBody<'a> {
    FileVersion(&'a str),
    Scalar(&'a str, f64),
}

/// Seconds since the Unix epoch, as TensorBoard's `wall_time`.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// One TensorBoard event file, appended to as scalars come.
pub struct EventWriter {
    path: PathBuf,
    file: BufWriter<File>,
}

impl EventWriter {
    /// Creates `dir` (if needed) and a new event file in it, starting with the file version.
    /// Each process writes a file of its own: a resumed run adds one beside the earlier ones,
    /// and TensorBoard reads them together.
    pub fn create(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty() && !h.contains('/'))
            .unwrap_or_else(|| "localhost".into());
        let seconds = now() as u64;
        let mut k = 0;
        let path = loop {
            let suffix = if k == 0 {
                String::new()
            } else {
                format!(".{k}")
            };
            let path = dir.join(format!(
                "events.out.tfevents.{seconds}.{host}.{}.nse{suffix}",
                std::process::id()
            ));
            if !path.exists() {
                break path;
            }
            k += 1;
        };
        let mut writer = EventWriter {
            file: BufWriter::new(File::create(&path)?),
            path,
        };
        writer.record(&event(now(), 0, &EventBody::FileVersion("brain.Event:2")))?;
        writer.flush()?;
        Ok(writer)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn record(&mut self, data: &[u8]) -> io::Result<()> {
        let length = (data.len() as u64).to_le_bytes();
        self.file.write_all(&length)?;
        self.file.write_all(&masked_crc(&length).to_le_bytes())?;
        self.file.write_all(data)?;
        self.file.write_all(&masked_crc(data).to_le_bytes())
    }

    /// Appends the scalar `value` of `tag` at `step` (stored as `f32`, as TensorBoard does).
    pub fn scalar(&mut self, tag: &str, step: u64, value: f64) -> io::Result<()> {
        self.record(&event(now(), step, &EventBody::Scalar(tag, value)))
    }

    /// Writes what is buffered to the file, so that TensorBoard shows it.
    pub fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The first error an observer met writing its event file, shared with whoever created it.
#[derive(Debug, Clone, Default)]
pub struct WriteError(Arc<Mutex<Option<String>>>);

impl WriteError {
    /// The first error, if writing failed (later scalars were dropped).
    pub fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|e| e.clone())
    }

    fn keep(&self, error: &io::Error) {
        if let Ok(mut slot) = self.0.lock()
            && slot.is_none()
        {
            *slot = Some(error.to_string());
        }
    }
}

/// An event file that stops writing at its first error and keeps that error for its owner.
struct Sink {
    writer: Option<EventWriter>,
    error: WriteError,
}

impl Sink {
    fn create(dir: &Path) -> io::Result<(Self, WriteError)> {
        let error = WriteError::default();
        let sink = Sink {
            writer: Some(EventWriter::create(dir)?),
            error: error.clone(),
        };
        Ok((sink, error))
    }

    fn write(&mut self, f: impl FnOnce(&mut EventWriter) -> io::Result<()>) {
        if let Some(writer) = &mut self.writer
            && let Err(e) = f(writer)
        {
            self.error.keep(&e);
            self.writer = None;
        }
    }
}

/// A search's events as TensorBoard scalars, for
/// [`Search::observe`](crate::search::Search::observe). Steps are weight steps over the whole
/// run. Written: `search/train_loss`, `search/train_accuracy` and `search/lr` at every
/// logged training line (`log_every` steps), `indicator/cell<c>/<op>` (α of every pool op of
/// every cell) after every epoch, `search/front_size`, `search/best_score` and
/// `search/evaluated` after every round; flushed after every epoch and round.
pub struct SearchBoard {
    sink: Sink,
    /// Weight steps so far (counted, from the resumed total after a resume).
    step: u64,
    ops: Vec<String>,
}

impl SearchBoard {
    /// A board writing into a new event file in `dir`; the handle reports a write error.
    pub fn create(dir: &Path) -> io::Result<(Self, WriteError)> {
        let (sink, error) = Sink::create(dir)?;
        let board = SearchBoard {
            sink,
            step: 0,
            ops: Vec::new(),
        };
        Ok((board, error))
    }

    fn scalar(&mut self, tag: &str, value: f64) {
        let step = self.step;
        self.sink.write(|w| w.scalar(tag, step, value));
    }

    /// Takes one event of the search.
    pub fn observe(&mut self, event: &SearchEvent) {
        match event {
            SearchEvent::Start { space, .. } => {
                self.ops = match space.check() {
                    Ok(space) => space.pool().ops().iter().map(|o| o.to_string()).collect(),
                    Err(_) => Vec::new(),
                };
            }
            SearchEvent::Resume { total_steps, .. } => self.step = *total_steps,
            SearchEvent::WeightStep { .. } => self.step += 1,
            SearchEvent::Train {
                loss, accuracy, lr, ..
            } => {
                self.scalar("search/train_loss", *loss);
                self.scalar("search/train_accuracy", *accuracy);
                self.scalar("search/lr", *lr);
            }
            SearchEvent::EpochEnd { alphas, .. } => {
                for (cell, row) in alphas.iter().enumerate() {
                    for (op, alpha) in row.iter().enumerate() {
                        let name = self.ops.get(op).cloned().unwrap_or_else(|| op.to_string());
                        self.scalar(&format!("indicator/cell{cell}/{name}"), f64::from(*alpha));
                    }
                }
                self.sink.write(EventWriter::flush);
            }
            SearchEvent::RoundEnd {
                front, evaluated, ..
            } => {
                self.scalar("search/front_size", front.len() as f64);
                if let Some(best) = front.iter().map(|e| e.accuracy).reduce(f64::max) {
                    self.scalar("search/best_score", best);
                }
                self.scalar("search/evaluated", *evaluated as f64);
                self.sink.write(EventWriter::flush);
            }
            SearchEvent::Stopped { .. } | SearchEvent::Finish { .. } => {
                self.sink.write(EventWriter::flush)
            }
            _ => {}
        }
    }
}

/// A retraining's events as TensorBoard scalars, for
/// [`RetrainOptions::observe`](crate::retrain::RetrainOptions::observe). Steps are training
/// steps over the whole run. Written: `retrain/loss` (the epoch's running mean) and
/// `retrain/lr` every [`RETRAIN_STEP_EVERY`] steps, `retrain/train_loss`,
/// `retrain/train_top1`, `retrain/test_loss`, `retrain/test_top1` and `retrain/test_top5`
/// after every epoch (then flushed).
pub struct RetrainBoard {
    sink: Sink,
}

/// Steps between two `retrain/loss` scalars of a [`RetrainBoard`].
pub const RETRAIN_STEP_EVERY: u64 = 20;

impl RetrainBoard {
    /// A board writing into a new event file in `dir`; the handle reports a write error.
    pub fn create(dir: &Path) -> io::Result<(Self, WriteError)> {
        let (sink, error) = Sink::create(dir)?;
        Ok((RetrainBoard { sink }, error))
    }

    /// Takes one event of the retraining.
    pub fn observe(&mut self, event: &RetrainEvent) {
        match event {
            RetrainEvent::Step {
                global_step,
                mean_loss,
                lr,
                ..
            } if global_step % RETRAIN_STEP_EVERY == 0 => self.sink.write(|w| {
                w.scalar("retrain/loss", *global_step, *mean_loss)?;
                w.scalar("retrain/lr", *global_step, *lr)
            }),
            RetrainEvent::EpochEnd {
                record,
                global_step,
                ..
            } => self.sink.write(|w| {
                let s = *global_step;
                w.scalar("retrain/train_loss", s, record.train_loss)?;
                w.scalar("retrain/train_top1", s, record.train_top1)?;
                w.scalar("retrain/test_loss", s, record.test.loss)?;
                w.scalar("retrain/test_top1", s, record.test.top1)?;
                w.scalar("retrain/test_top5", s, record.test.top5)?;
                w.flush()
            }),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    // The mask is checked against TensorFlow's own formula, shifts and all.
    #[allow(clippy::manual_rotate)]
    fn crc32c_and_its_mask_match_the_published_values() {
        // RFC 3720's check value and the CRC of 32 zero bytes (B.4).
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
        // The mask of TFRecord (tensorflow/core/lib/hash/crc32c.h).
        let crc = crc32c(b"abc");
        assert_eq!(
            masked_crc(b"abc"),
            ((crc >> 15) | (crc << 17)).wrapping_add(0xA282_EAD8)
        );
    }

    #[test]
    fn records_frame_their_bytes_with_checksums() {
        let dir = std::env::temp_dir().join(format!("nse-tb-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut w = EventWriter::create(&dir).unwrap();
        w.scalar("a/b", 7, 0.5).unwrap();
        w.flush().unwrap();
        let bytes = std::fs::read(w.path()).unwrap();
        let mut at = 0;
        let mut records = Vec::new();
        while at < bytes.len() {
            let len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
            let len_crc = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
            assert_eq!(len_crc, masked_crc(&bytes[at..at + 8]));
            let data = &bytes[at + 12..at + 12 + len];
            let data_crc =
                u32::from_le_bytes(bytes[at + 12 + len..at + 16 + len].try_into().unwrap());
            assert_eq!(data_crc, masked_crc(data));
            records.push(data.to_vec());
            at += 16 + len;
        }
        assert_eq!(records.len(), 2);
        assert!(records[0].ends_with(b"brain.Event:2"));
        // step 7 as a varint after the wall time, the tag and 0.5f32 inside the summary.
        assert_eq!(&records[1][9..11], &[0x10, 7]);
        let tail = &records[1][11..];
        assert!(tail.windows(3).any(|w| w == b"a/b"));
        assert!(tail.ends_with(&0.5f32.to_le_bytes()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
