//! The offline demo dataset of `nse`: a class-balanced subset of Fashion-MNIST (6,000
//! training and 1,000 test images, 28×28 grayscale), embedded in the crate so that a binary
//! installed from the registry (`cargo install nse`) runs `nse search --preset demo` without
//! a checkout and without a download.
//!
//! The files are the standard gzipped idx files, as committed under `data/` of this crate;
//! `data/README.md` says how they were made from the full dataset (reproducibly) and
//! `data/LICENSE` carries the dataset's MIT license (© 2017 Zalando SE). `nse_data::demo`
//! parses them; this crate only holds the bytes.

use std::path::{Path, PathBuf};

/// One embedded file: its standard name and its bytes.
#[derive(Clone, Copy, Debug)]
pub struct EmbeddedFile {
    /// The file's name in `data/` (the standard Fashion-MNIST name, `.gz`).
    pub name: &'static str,
    /// The gzipped idx bytes.
    pub bytes: &'static [u8],
}

/// The 6,000 training images (idx3, gzip).
pub const TRAIN_IMAGES: EmbeddedFile = EmbeddedFile {
    name: "train-images-idx3-ubyte.gz",
    bytes: include_bytes!("../data/train-images-idx3-ubyte.gz"),
};

/// Their labels (idx1, gzip).
pub const TRAIN_LABELS: EmbeddedFile = EmbeddedFile {
    name: "train-labels-idx1-ubyte.gz",
    bytes: include_bytes!("../data/train-labels-idx1-ubyte.gz"),
};

/// The 1,000 test images (idx3, gzip).
pub const TEST_IMAGES: EmbeddedFile = EmbeddedFile {
    name: "t10k-images-idx3-ubyte.gz",
    bytes: include_bytes!("../data/t10k-images-idx3-ubyte.gz"),
};

/// Their labels (idx1, gzip).
pub const TEST_LABELS: EmbeddedFile = EmbeddedFile {
    name: "t10k-labels-idx1-ubyte.gz",
    bytes: include_bytes!("../data/t10k-labels-idx1-ubyte.gz"),
};

/// The dataset's license (MIT, Zalando SE), as shipped with the data.
pub const LICENSE: &str = include_str!("../data/LICENSE");

/// The folder the embedded files were read from at build time (`data/` of this crate's
/// sources). It exists where the sources still are (a checkout, the registry's source
/// cache); code that must work anywhere uses the embedded bytes instead.
pub fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_bytes_are_the_files_in_data() {
        for file in [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS] {
            let on_disk = std::fs::read(source_dir().join(file.name)).unwrap();
            assert_eq!(on_disk, file.bytes, "{}", file.name);
            assert_eq!(&file.bytes[..2], &[0x1f, 0x8b], "{} is gzip", file.name);
        }
        assert!(LICENSE.contains("MIT License") && LICENSE.contains("Zalando"));
    }
}
