//! The error type of the data module.

use std::path::PathBuf;

/// Everything that can go wrong while reading, splitting, transforming or loading data.
///
/// Variants that come from a file carry its `path`, so a message always says which file is
/// wrong and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The operating system refused an operation on a file or folder.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`"cannot read"`, `"cannot create"`, ...).
        action: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A file that a dataset needs is not there.
    #[error("{path}: not found ({what})")]
    NotFound {
        /// The path (or the folder) that was searched.
        path: PathBuf,
        /// What was expected there.
        what: String,
    },

    /// A binary file starts with the wrong magic number (for example a label file given as
    /// an image file).
    #[error("{path}: wrong magic number 0x{found:08x}, expected 0x{expected:08x} ({what})")]
    BadMagic {
        /// The offending file.
        path: PathBuf,
        /// The magic number the format requires.
        expected: u32,
        /// The magic number found in the file.
        found: u32,
        /// The kind of file that was expected.
        what: &'static str,
    },

    /// A file is shorter than its header (or the record size) says it must be.
    #[error("{path}: truncated: {what} needs {expected} bytes, the file has {found}")]
    Truncated {
        /// The offending file.
        path: PathBuf,
        /// What needed the bytes (`"header"`, `"3073-byte records"`, ...).
        what: String,
        /// The number of bytes required.
        expected: u64,
        /// The number of bytes present.
        found: u64,
    },

    /// A stored label is not a valid class index.
    #[error(
        "{path}: record {index}: label {label} out of range (the dataset has {num_classes} classes)"
    )]
    LabelOutOfRange {
        /// The file holding the label.
        path: PathBuf,
        /// The record number inside that file (0-based).
        index: usize,
        /// The label value found.
        label: usize,
        /// The number of classes of the dataset.
        num_classes: usize,
    },

    /// A file is structurally wrong in a way not covered by the variants above.
    #[error("{path}: {reason}")]
    Format {
        /// The offending file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// An image file could not be decoded (corrupt, empty, or an unsupported format).
    #[error("cannot decode image {path}: {reason}")]
    Decode {
        /// The image file.
        path: PathBuf,
        /// The decoder's explanation.
        reason: String,
    },

    /// A user-facing parameter is out of its valid range.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidParameter {
        /// The parameter's name, as spelled in the API.
        name: &'static str,
        /// The rejected value, formatted.
        value: String,
        /// Why it is rejected and what is accepted.
        reason: String,
    },

    /// A sample index past the end of a dataset.
    #[error("sample index {index} out of range for a dataset of {len} samples")]
    IndexOutOfRange {
        /// The requested index.
        index: usize,
        /// The dataset's length.
        len: usize,
    },

    /// A transform cannot be applied to an image (for example a crop larger than the image).
    #[error("{transform}: {reason}")]
    Transform {
        /// The transform's name.
        transform: &'static str,
        /// Why it failed.
        reason: String,
    },

    /// Samples of one batch ended up with different shapes after the transforms.
    #[error(
        "sample {index}: shape {found:?} (c, h, w) differs from the batch's {expected:?}; \
         add a resize/crop transform so every image has the same size"
    )]
    ShapeMismatch {
        /// The dataset index of the offending sample.
        index: usize,
        /// The shape of the batch's first sample.
        expected: [usize; 3],
        /// The offending sample's shape.
        found: [usize; 3],
    },

    /// A loader worker thread panicked (a bug in a dataset or transform implementation).
    #[error("data loader worker panicked while building batch {batch} of epoch {epoch}")]
    WorkerPanic {
        /// The epoch being loaded.
        epoch: usize,
        /// The batch being built.
        batch: usize,
    },

    /// A JSON file could not be written or parsed.
    #[error("{path}: JSON: {source}")]
    Json {
        /// The JSON file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
}

/// `Result` with [`DataError`] as the default error type.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

impl DataError {
    /// Shorthand for [`DataError::Io`].
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`DataError::InvalidParameter`].
    pub(crate) fn param(
        name: &'static str,
        value: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        Self::InvalidParameter {
            name,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_and_the_problem() {
        let e = DataError::BadMagic {
            path: "x/train-images-idx3-ubyte".into(),
            expected: 0x803,
            found: 0x801,
            what: "idx3 ubyte images",
        };
        assert_eq!(
            e.to_string(),
            "x/train-images-idx3-ubyte: wrong magic number 0x00000801, expected 0x00000803 (idx3 ubyte images)"
        );
        let e = DataError::LabelOutOfRange {
            path: "d/data_batch_1.bin".into(),
            index: 7,
            label: 12,
            num_classes: 10,
        };
        assert_eq!(
            e.to_string(),
            "d/data_batch_1.bin: record 7: label 12 out of range (the dataset has 10 classes)"
        );
    }
}
