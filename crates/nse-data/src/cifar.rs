//! CIFAR-10 in its binary distribution format (`cifar-10-batches-bin`).
//!
//! Each file is a sequence of 3,073-byte records: one label byte (0–9) followed by the
//! 32×32 image as three 1,024-byte planes (red, green, blue; rows top to bottom). The training
//! set is `data_batch_1.bin` … `data_batch_5.bin` (10,000 records each), the test set
//! `test_batch.bin`.

use std::path::{Path, PathBuf};

use super::dataset::Split;
use super::error::{DataError, Result};
use super::memory::InMemoryDataset;

/// Side length of a CIFAR-10 image.
pub const CIFAR10_SIDE: usize = 32;
/// Bytes per record: 1 label byte + 3 × 32 × 32 pixel bytes.
pub const CIFAR10_RECORD_BYTES: usize = 1 + 3 * CIFAR10_SIDE * CIFAR10_SIDE;
/// The CIFAR-10 class names, by label (as in `batches.meta.txt`).
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// The file names making up a split, in reading order.
pub fn cifar10_file_names(split: Split) -> Vec<String> {
    match split {
        Split::Train => (1..=5).map(|i| format!("data_batch_{i}.bin")).collect(),
        Split::Test => vec!["test_batch.bin".to_string()],
    }
}

/// Loads one split of CIFAR-10 from `dir`, the folder holding the `.bin` files (or its parent,
/// if that contains `cifar-10-batches-bin/`).
///
/// Class names come from `batches.meta.txt` when present, otherwise [`CIFAR10_CLASSES`].
pub fn load_cifar10(dir: impl AsRef<Path>, split: Split) -> Result<InMemoryDataset> {
    let mut dir = dir.as_ref().to_path_buf();
    let nested = dir.join("cifar-10-batches-bin");
    if !dir.join(&cifar10_file_names(split)[0]).exists() && nested.is_dir() {
        dir = nested;
    }
    let files: Vec<PathBuf> = cifar10_file_names(split)
        .iter()
        .map(|f| dir.join(f))
        .collect();
    for f in &files {
        if !f.is_file() {
            return Err(DataError::NotFound {
                path: f.clone(),
                what: format!("CIFAR-10 {split:?} batch file"),
            });
        }
    }
    let meta = dir.join("batches.meta.txt");
    let class_names = if meta.is_file() {
        read_class_names(&meta)?
    } else {
        CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect()
    };
    load_cifar10_files(&files, class_names)
}

/// Reads `batches.meta.txt`: one class name per line, exactly ten.
fn read_class_names(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io("cannot read", path, e))?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() != CIFAR10_CLASSES.len() {
        return Err(DataError::Format {
            path: path.to_path_buf(),
            reason: format!(
                "expected {} class names, one per line, found {}",
                CIFAR10_CLASSES.len(),
                names.len()
            ),
        });
    }
    Ok(names)
}

/// Loads and concatenates CIFAR-10 binary batch files.
///
/// Fails, naming the file, if a file is empty or not a whole number of records, or if a
/// label is not below `class_names.len()`.
pub fn load_cifar10_files(files: &[PathBuf], class_names: Vec<String>) -> Result<InMemoryDataset> {
    const PLANE: usize = CIFAR10_SIDE * CIFAR10_SIDE;
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for path in files {
        let bytes = std::fs::read(path).map_err(|e| DataError::io("cannot read", path, e))?;
        if bytes.is_empty() {
            return Err(DataError::Format {
                path: path.clone(),
                reason: "empty file: no CIFAR-10 records".into(),
            });
        }
        if bytes.len() % CIFAR10_RECORD_BYTES != 0 {
            let whole = bytes.len() / CIFAR10_RECORD_BYTES;
            return Err(DataError::Truncated {
                path: path.clone(),
                what: format!("{} whole {CIFAR10_RECORD_BYTES}-byte records", whole + 1),
                expected: ((whole + 1) * CIFAR10_RECORD_BYTES) as u64,
                found: bytes.len() as u64,
            });
        }
        pixels.reserve(bytes.len());
        for (index, record) in bytes.chunks_exact(CIFAR10_RECORD_BYTES).enumerate() {
            let label = usize::from(record[0]);
            if label >= class_names.len() {
                return Err(DataError::LabelOutOfRange {
                    path: path.clone(),
                    index,
                    label,
                    num_classes: class_names.len(),
                });
            }
            labels.push(label);
            let (r, rest) = record[1..].split_at(PLANE);
            let (g, b) = rest.split_at(PLANE);
            // Planar CHW -> interleaved HWC.
            for p in 0..PLANE {
                pixels.extend_from_slice(&[r[p], g[p], b[p]]);
            }
        }
    }
    InMemoryDataset::new(CIFAR10_SIDE, CIFAR10_SIDE, 3, pixels, labels, class_names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Dataset;
    use crate::test_util::TempDir;

    /// A record with `label` whose R plane is `r`, G plane `g` and B plane `b` except pixel 0,
    /// which is (1, 2, 3).
    fn record(label: u8, r: u8, g: u8, b: u8) -> Vec<u8> {
        let mut rec = vec![label];
        for v in [r, g, b] {
            rec.extend(std::iter::repeat_n(v, 1024));
        }
        rec[1] = 1;
        rec[1 + 1024] = 2;
        rec[1 + 2048] = 3;
        rec
    }

    fn write_split(dir: &Path, records_per_file: &[Vec<u8>]) {
        for (i, name) in cifar10_file_names(Split::Train).iter().enumerate() {
            std::fs::write(
                dir.join(name),
                &records_per_file[i % records_per_file.len()],
            )
            .unwrap();
        }
    }

    #[test]
    fn parses_records_into_hwc() {
        let tmp = TempDir::new("cifar-ok");
        let file: Vec<u8> = [record(3, 10, 20, 30), record(9, 40, 50, 60)].concat();
        write_split(tmp.path(), &[file]);
        let ds = load_cifar10(tmp.path(), Split::Train).unwrap();
        assert_eq!(ds.len(), 10);
        assert_eq!(ds.class_names()[3], "cat");
        let s0 = ds.get(0).unwrap();
        assert_eq!(s0.label, 3);
        assert_eq!(s0.image.shape_chw(), [3, 32, 32]);
        assert_eq!(s0.image.pixel(0, 0), &[1, 2, 3]);
        assert_eq!(s0.image.pixel(5, 7), &[10, 20, 30]);
        let s1 = ds.get(1).unwrap();
        assert_eq!((s1.label, s1.image.pixel(31, 31)), (9, &[40u8, 50, 60][..]));
        assert_eq!(
            ds.class_counts().unwrap(),
            vec![0, 0, 0, 5, 0, 0, 0, 0, 0, 5]
        );
    }

    #[test]
    fn reads_class_names_from_meta() {
        let tmp = TempDir::new("cifar-meta");
        let sub = tmp.path().join("cifar-10-batches-bin");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("test_batch.bin"), record(0, 0, 0, 0)).unwrap();
        let names: String = (0..10).map(|i| format!("k{i}\n")).collect();
        std::fs::write(sub.join("batches.meta.txt"), names + "\n").unwrap();
        let ds = load_cifar10(tmp.path(), Split::Test).unwrap();
        assert_eq!(ds.class_names()[9], "k9");
        std::fs::write(sub.join("batches.meta.txt"), "a\nb\n").unwrap();
        let err = load_cifar10(tmp.path(), Split::Test).unwrap_err();
        assert!(err.to_string().contains("expected 10 class names"), "{err}");
    }

    #[test]
    fn truncated_file_is_reported_with_sizes() {
        let tmp = TempDir::new("cifar-trunc");
        let mut bad = [record(1, 0, 0, 0), record(2, 0, 0, 0)].concat();
        bad.truncate(CIFAR10_RECORD_BYTES + 100);
        std::fs::write(tmp.path().join("test_batch.bin"), &bad).unwrap();
        let err = load_cifar10(tmp.path(), Split::Test).unwrap_err();
        match err {
            DataError::Truncated {
                path,
                expected,
                found,
                ..
            } => {
                assert!(path.ends_with("test_batch.bin"));
                assert_eq!(expected, 2 * CIFAR10_RECORD_BYTES as u64);
                assert_eq!(found, CIFAR10_RECORD_BYTES as u64 + 100);
            }
            other => panic!("expected Truncated, got {other}"),
        }
    }

    #[test]
    fn label_out_of_range_names_file_and_record() {
        let tmp = TempDir::new("cifar-label");
        let file: Vec<u8> = [record(0, 0, 0, 0), record(0, 0, 0, 0), record(10, 0, 0, 0)].concat();
        std::fs::write(tmp.path().join("test_batch.bin"), file).unwrap();
        let err = load_cifar10(tmp.path(), Split::Test).unwrap_err();
        assert!(
            matches!(&err, DataError::LabelOutOfRange { index: 2, label: 10, num_classes: 10, path } if path.ends_with("test_batch.bin")),
            "{err}"
        );
    }

    #[test]
    fn missing_and_empty_files_are_errors() {
        let tmp = TempDir::new("cifar-missing");
        let err = load_cifar10(tmp.path(), Split::Train).unwrap_err();
        assert!(
            matches!(&err, DataError::NotFound { path, .. } if path.ends_with("data_batch_1.bin")),
            "{err}"
        );
        std::fs::write(tmp.path().join("test_batch.bin"), b"").unwrap();
        let err = load_cifar10(tmp.path(), Split::Test).unwrap_err();
        assert!(
            matches!(&err, DataError::Format { reason, .. } if reason.contains("empty")),
            "{err}"
        );
    }
}
